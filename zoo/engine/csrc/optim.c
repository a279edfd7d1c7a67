/* optim.c: fused optimizer updates on flat parameter buffers.
 *
 * One kernel per optimizer updates w[lo:hi] and its state slots from g[lo:hi] in one pass.
 * Buffers: w, g and every slot are (n,) of one element type; mask is (n,) uint8 or NULL.
 * Where mask[i] == 0 neither w[i] nor any slot[i] changes: the kernels run over runs of
 * mask != 0 (frozen weights come in whole parameters, so runs are long). Per-step scalars (learning
 * rate, bias corrections, ...) are computed in Python (zoo/engine/optim/) and passed in
 * `p`. The update is elementwise, so results do not depend on the thread count or on how
 * [lo, hi) is cut between calls, and calls on disjoint ranges may run concurrently.
 *
 * Decoupled weight decay (Keras `weight_decay`): w <- w - decay * w before the update,
 * with decay = weight_decay * lr (p slot named `decay`; 0 disables it).
 *
 * Built for float and double from one source (see zoo_template.h).
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

/* Optimizer kinds shared with zoo/engine/kernels/optim.py. */
#define ZOO_OPT_SGD 0
#define ZOO_OPT_ADAM 1
#define ZOO_OPT_ADAGRAD 2
#define ZOO_OPT_ADADELTA 3
#define ZOO_OPT_ADAMAX 4
#define ZOO_OPT_RMSPROP 5
#define ZOO_OPT_FTRL 6
#define ZOO_OPT_KINDS 7
#define ZOO_OPT_MAX_SLOTS 3
#define ZOO_OPT_MAX_PARAMS 8
#define ZOO_OPT_CHUNK 8192

/* Slots each kind takes, and a bit mask of those that may not be None. */
static const int zoo_opt_slots[ZOO_OPT_KINDS] = {1, 3, 1, 2, 2, 3, 2};
static const int zoo_opt_required[ZOO_OPT_KINDS] = {0x0, 0x3, 0x1, 0x3, 0x3, 0x1, 0x3};

/* Next run of mask != 0 in [*a, hi): sets [*a, *b); returns 0 when there is none. */
static inline int zoo_mask_run(const uint8_t *mk, int64_t *a, int64_t *b, int64_t hi) {
    int64_t i = *a;
    while (i < hi && !mk[i]) i++;
    if (i >= hi) return 0;
    const uint8_t *z = memchr(mk + i, 0, (size_t)(hi - i)); /* end of the run: the next 0 */
    *a = i;
    *b = z == NULL ? hi : (int64_t)(z - mk);
    return 1;
}

#define SQRT ZOO_BY_TYPE(sqrtf, sqrt)
#define POW ZOO_BY_TYPE(powf, pow)
#define ZOO_TEMPLATE "optim.c"
#include "zoo_template.h"

/* ---- Python wrapper ------------------------------------------------------------------ */

/* optim_step(kind, w, g, mask | None, slots (tuple of buffers | None), lo, hi,
 *            params (tuple of floats), dtype, threads)
 * Updates w[lo:hi] and slots[k][lo:hi] in place. zoo/engine/kernels/optim.py checks
 * every argument; the checks here only keep a wrong call from touching bad memory. */
static PyObject *py_optim_step(PyObject *self, PyObject *args) {
    int kind, dtype, threads, st = ZOO_OK;
    Py_buffer w, g, mk = {0};
    PyObject *mask_obj, *slots_obj, *params_obj;
    Py_buffer sb[ZOO_OPT_MAX_SLOTS];
    void *slots[ZOO_OPT_MAX_SLOTS] = {NULL, NULL, NULL};
    int have[ZOO_OPT_MAX_SLOTS] = {0, 0, 0};
    double p[ZOO_OPT_MAX_PARAMS] = {0};
    Py_ssize_t lo, hi;
    int have_mask = 0;
    if (!PyArg_ParseTuple(args, "iw*y*OOnnOii", &kind, &w, &g, &mask_obj, &slots_obj, &lo, &hi, &params_obj, &dtype,
                          &threads))
        return NULL;
    Py_ssize_t esize = dtype == ZOO_F32 ? 4 : 8;
    Py_ssize_t n = w.len / esize;
    PyObject *ret = NULL;
    if (kind < 0 || kind >= ZOO_OPT_KINDS || (dtype != ZOO_F32 && dtype != ZOO_F64) || w.len != g.len ||
        w.len % esize != 0 || lo < 0 || hi < lo || hi > n || !PyTuple_Check(slots_obj) ||
        PyTuple_GET_SIZE(slots_obj) != zoo_opt_slots[kind] || !PyTuple_Check(params_obj) ||
        PyTuple_GET_SIZE(params_obj) > ZOO_OPT_MAX_PARAMS) {
        PyErr_SetString(PyExc_ValueError, "optim_step: invalid arguments");
        goto done;
    }
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(params_obj); k++) {
        p[k] = PyFloat_AsDouble(PyTuple_GET_ITEM(params_obj, k));
        if (p[k] == -1.0 && PyErr_Occurred()) goto done;
    }
    if (mask_obj != Py_None) {
        if (PyObject_GetBuffer(mask_obj, &mk, PyBUF_C_CONTIGUOUS) < 0) goto done;
        have_mask = 1;
        if (mk.len != n) {
            PyErr_SetString(PyExc_ValueError, "optim_step: mask length differs from w");
            goto done;
        }
    }
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(slots_obj); k++) {
        PyObject *s = PyTuple_GET_ITEM(slots_obj, k);
        if (s == Py_None) {
            if (zoo_opt_required[kind] & (1 << k)) {
                PyErr_Format(PyExc_ValueError, "optim_step: slot %zd is required", k);
                goto done;
            }
            continue;
        }
        if (PyObject_GetBuffer(s, &sb[k], PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) goto done;
        have[k] = 1;
        if (sb[k].len != w.len) {
            PyErr_SetString(PyExc_ValueError, "optim_step: slot length differs from w");
            goto done;
        }
        slots[k] = sb[k].buf;
    }
    const uint8_t *m = have_mask ? (const uint8_t *)mk.buf : NULL;
    ZOO_DISPATCH(st, dtype, opt_run, kind, w.buf, g.buf, m, slots, lo, hi, p, threads);
    ret = zoo_status_to_py(st, "optim_step");
done:
    for (int k = 0; k < ZOO_OPT_MAX_SLOTS; k++)
        if (have[k]) PyBuffer_Release(&sb[k]);
    if (have_mask) PyBuffer_Release(&mk);
    PyBuffer_Release(&w);
    PyBuffer_Release(&g);
    return ret;
}

PyMethodDef zoo_optim_methods[] = {
    {"optim_step", py_optim_step, METH_VARARGS,
     "optim_step(kind, w, g, mask, slots, lo, hi, params, dtype, threads): fused optimizer update of w[lo:hi]"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------ */

/* SGD, Keras form with PyTorch dampening and (coupled) weight decay.
 * p = [lr, momentum, gscale, wd, nesterov]; slot 0: velocity v (NULL when momentum == 0).
 *   g' = g + wd * w
 *   momentum == 0:  w -= lr * g'
 *   else:           v = momentum * v - gscale * g'        (gscale = lr * (1 - dampening),
 *                                                          lr on the first step)
 *                   w += v                 (nesterov: w += momentum * v - lr * g')
 * With a constant lr this is PyTorch's buf = m*buf + (1-d)*g; w -= lr*buf (v = -lr*buf). */
ZOO_MULTIVERSION static void S(sgd_chunk)(T *restrict w, const T *restrict g, T **slots, int64_t lo, int64_t hi,
                                          const double *p) {
    const T lr = (T)p[0], mom = (T)p[1], gs = (T)p[2], wd = (T)p[3];
    T *restrict v = slots[0];
    if (v == NULL && wd == 0) {
        for (int64_t i = lo; i < hi; i++) w[i] = w[i] - g[i] * lr;
    } else if (v == NULL) {
        for (int64_t i = lo; i < hi; i++) w[i] = w[i] - (g[i] + wd * w[i]) * lr;
    } else if (p[4] != 0.0) {
        for (int64_t i = lo; i < hi; i++) {
            T gi = g[i] + wd * w[i];
            T vi = v[i] * mom - gi * gs;
            v[i] = vi;
            w[i] = w[i] + (vi * mom - gi * lr);
        }
    } else {
        for (int64_t i = lo; i < hi; i++) {
            T gi = g[i] + wd * w[i];
            T vi = v[i] * mom - gi * gs;
            v[i] = vi;
            w[i] = w[i] + vi;
        }
    }
}

/* Adam (Keras 3). p = [alpha, 1-beta_1, 1-beta_2, epsilon, decay]; slots: m, v, vhat (vhat
 * NULL unless amsgrad). alpha = lr * sqrt(1-beta_2^t) / (1-beta_1^t).
 *   w -= decay * w;  m += (g - m)(1-beta_1);  v += (g^2 - v)(1-beta_2);  vhat = max(vhat, v)
 *   w -= m * alpha / (sqrt(v or vhat) + epsilon) */
ZOO_MULTIVERSION static void S(adam_chunk)(T *restrict w, const T *restrict g, T **slots, int64_t lo, int64_t hi,
                                           const double *p) {
    const T alpha = (T)p[0], c1 = (T)p[1], c2 = (T)p[2], eps = (T)p[3], dec = (T)p[4];
    T *restrict m = slots[0], *restrict v = slots[1], *restrict vh = slots[2];
    if (vh == NULL) {
        for (int64_t i = lo; i < hi; i++) {
            T gi = g[i];
            T mi = m[i] + (gi - m[i]) * c1, vi = v[i] + (gi * gi - v[i]) * c2;
            m[i] = mi;
            v[i] = vi;
            w[i] = (w[i] - w[i] * dec) - (mi * alpha) / (SQRT(vi) + eps);
        }
    } else {
        for (int64_t i = lo; i < hi; i++) {
            T gi = g[i];
            T mi = m[i] + (gi - m[i]) * c1, vi = v[i] + (gi * gi - v[i]) * c2;
            T hv = vh[i] > vi ? vh[i] : vi;
            m[i] = mi;
            v[i] = vi;
            vh[i] = hv;
            w[i] = (w[i] - w[i] * dec) - (mi * alpha) / (SQRT(hv) + eps);
        }
    }
}

/* Adagrad (Keras 3). p = [lr, epsilon, decay]; slot: accumulator a (starts at
 * initial_accumulator_value).   a += g^2;  w -= lr * g / sqrt(a + epsilon) */
ZOO_MULTIVERSION static void S(adagrad_chunk)(T *restrict w, const T *restrict g, T **slots, int64_t lo,
                                              int64_t hi, const double *p) {
    const T lr = (T)p[0], eps = (T)p[1], dec = (T)p[2];
    T *restrict a = slots[0];
    for (int64_t i = lo; i < hi; i++) {
        T gi = g[i], ai = a[i] + gi * gi;
        a[i] = ai;
        w[i] = (w[i] - w[i] * dec) - (lr * gi) / SQRT(ai + eps);
    }
}

/* Adadelta (Keras 3). p = [lr, rho, epsilon, decay]; slots: accumulated g^2 (ag), accumulated
 * delta^2 (ad).  ag = rho ag + (1-rho) g^2;  d = -sqrt(ad + eps) g / sqrt(ag + eps);
 * ad = rho ad + (1-rho) d^2;  w += lr d */
ZOO_MULTIVERSION static void S(adadelta_chunk)(T *restrict w, const T *restrict g, T **slots, int64_t lo,
                                               int64_t hi, const double *p) {
    const T lr = (T)p[0], rho = (T)p[1], eps = (T)p[2], dec = (T)p[3], c = (T)(1.0 - p[1]);
    T *restrict ag = slots[0], *restrict ad = slots[1];
    for (int64_t i = lo; i < hi; i++) {
        T gi = g[i];
        T agi = rho * ag[i] + c * (gi * gi);
        T d = -((SQRT(ad[i] + eps) * gi) / SQRT(agi + eps));
        ag[i] = agi;
        ad[i] = rho * ad[i] + c * (d * d);
        w[i] = (w[i] - w[i] * dec) + lr * d;
    }
}

/* Adamax (Keras 3). p = [lr, 1-beta_1, beta_2, epsilon, 1-beta_1^t, decay]; slots: m, u.
 *   m += (g - m)(1-beta_1);  u = max(beta_2 u, |g|);  w -= lr m / ((1-beta_1^t)(u + epsilon)) */
ZOO_MULTIVERSION static void S(adamax_chunk)(T *restrict w, const T *restrict g, T **slots, int64_t lo,
                                             int64_t hi, const double *p) {
    const T lr = (T)p[0], c1 = (T)p[1], b2 = (T)p[2], eps = (T)p[3], bc = (T)p[4], dec = (T)p[5];
    T *restrict m = slots[0], *restrict u = slots[1];
    for (int64_t i = lo; i < hi; i++) {
        T gi = g[i], mi = m[i] + (gi - m[i]) * c1;
        T ag = gi < 0 ? -gi : gi, bu = b2 * u[i];
        T ui = bu > ag ? bu : ag;
        m[i] = mi;
        u[i] = ui;
        w[i] = (w[i] - w[i] * dec) - (lr * mi) / (bc * (ui + eps));
    }
}

/* RMSprop (Keras 3). p = [lr, rho, epsilon, momentum, decay]; slots: v, momentum buffer
 * (NULL when momentum == 0), mean gradient (NULL unless centered).
 *   v = rho v + (1-rho) g^2;  centered: a = rho a + (1-rho) g, den = v - a^2 + eps, else v + eps
 *   inc = lr g / sqrt(den);  momentum: mo = momentum mo + inc, w -= mo;  else w -= inc */
ZOO_MULTIVERSION static void S(rmsprop_chunk)(T *restrict w, const T *restrict g, T **slots, int64_t lo,
                                              int64_t hi, const double *p) {
    const T lr = (T)p[0], rho = (T)p[1], eps = (T)p[2], mom = (T)p[3], dec = (T)p[4], c = (T)(1.0 - p[1]);
    T *restrict v = slots[0], *restrict mo = slots[1], *restrict a = slots[2];
    if (mo == NULL && a == NULL) {
        for (int64_t i = lo; i < hi; i++) {
            T gi = g[i], vi = rho * v[i] + c * (gi * gi);
            v[i] = vi;
            w[i] = (w[i] - w[i] * dec) - (lr * gi) / SQRT(vi + eps);
        }
    } else if (a == NULL) {
        for (int64_t i = lo; i < hi; i++) {
            T gi = g[i], vi = rho * v[i] + c * (gi * gi);
            T moi = mom * mo[i] + (lr * gi) / SQRT(vi + eps);
            v[i] = vi;
            mo[i] = moi;
            w[i] = (w[i] - w[i] * dec) - moi;
        }
    } else if (mo == NULL) {
        for (int64_t i = lo; i < hi; i++) {
            T gi = g[i], vi = rho * v[i] + c * (gi * gi), ai = rho * a[i] + c * gi;
            v[i] = vi;
            a[i] = ai;
            w[i] = (w[i] - w[i] * dec) - (lr * gi) / SQRT(vi - ai * ai + eps);
        }
    } else {
        for (int64_t i = lo; i < hi; i++) {
            T gi = g[i], vi = rho * v[i] + c * (gi * gi), ai = rho * a[i] + c * gi;
            T moi = mom * mo[i] + (lr * gi) / SQRT(vi - ai * ai + eps);
            v[i] = vi;
            a[i] = ai;
            mo[i] = moi;
            w[i] = (w[i] - w[i] * dec) - moi;
        }
    }
}

/* FTRL-proximal (Keras 3). p = [lr, learning_rate_power, l1, l2 + beta/(2 lr), l2_shrinkage,
 * decay]; slots: accumulator n (starts at initial_accumulator_value), linear z.
 *   w -= decay * w;  g' = g + 2 l2_shrinkage w;  n' = n + g^2
 *   z += g' - (n'^-power - n^-power) / lr * w
 *   w = (clip(z, -l1, l1) - z) / (n'^-power / lr + 2 l2);  n = n'
 * power = -0.5 uses sqrt. */
ZOO_MULTIVERSION static void S(ftrl_chunk)(T *restrict w, const T *restrict g, T **slots, int64_t lo, int64_t hi,
                                           const double *p) {
    const T lr = (T)p[0], lp = (T)p[1], l1 = (T)p[2], l2 = (T)p[3], l2s = (T)p[4], dec = (T)p[5];
    T *restrict n = slots[0], *restrict z = slots[1];
    if (p[1] == -0.5) {
        for (int64_t i = lo; i < hi; i++) {
            T wi = w[i] - w[i] * dec, gi = g[i];
            T gu = gi + (2 * l2s) * wi, ni = n[i] + gi * gi;
            T pn = SQRT(ni), po = SQRT(n[i]);
            T zi = z[i] + (gu - ((pn - po) / lr) * wi);
            T zc = zi < -l1 ? -l1 : (zi > l1 ? l1 : zi);
            n[i] = ni;
            z[i] = zi;
            w[i] = (zc - zi) / (pn / lr + 2 * l2);
        }
    } else {
        for (int64_t i = lo; i < hi; i++) {
            T wi = w[i] - w[i] * dec, gi = g[i];
            T gu = gi + (2 * l2s) * wi, ni = n[i] + gi * gi;
            T pn = POW(ni, -lp), po = POW(n[i], -lp);
            T zi = z[i] + (gu - ((pn - po) / lr) * wi);
            T zc = zi < -l1 ? -l1 : (zi > l1 ? l1 : zi);
            n[i] = ni;
            z[i] = zi;
            w[i] = (zc - zi) / (pn / lr + 2 * l2);
        }
    }
}

/* Run optimizer `kind` over [lo, hi), cut into chunks of ZOO_OPT_CHUNK elements spread over
 * `threads` OpenMP threads (0: the default team size); within a chunk, over the runs of mask != 0. */
typedef void (*S(opt_chunk_fn))(T *, const T *, T **, int64_t, int64_t, const double *);

static const S(opt_chunk_fn) S(opt_chunks)[ZOO_OPT_KINDS] = {S(sgd_chunk),      S(adam_chunk),   S(adagrad_chunk),
                                                           S(adadelta_chunk), S(adamax_chunk), S(rmsprop_chunk),
                                                           S(ftrl_chunk)};

static int S(opt_run)(int kind, T *w, const T *g, const uint8_t *mk, void **slots, int64_t lo, int64_t hi,
                      const double *p, int threads) {
    const S(opt_chunk_fn) fn = S(opt_chunks)[kind];
    T **s = (T **)slots;
    ZOO_FOR_BLOCKS(lo, hi, ZOO_OPT_CHUNK, threads, a, b, {
        if (mk == NULL) {
            fn(w, g, s, a, b, p);
        } else {
            for (int64_t r0 = a, r1; zoo_mask_run(mk, &r0, &r1, b); r0 = r1) fn(w, g, s, r0, r1, p);
        }
    });
    return ZOO_OK;
}

#endif
