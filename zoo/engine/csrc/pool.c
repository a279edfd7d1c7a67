/* pool.c: max and average pooling over the last two axes of (NC, H, W) planes (1-D: H = 1).
 *
 * Window of output (i, j): rows i*sh - pt ... i*sh - pt + kh - 1 and columns
 * j*sw - pl ... j*sw - pl + kw - 1, clipped to the image. The padded image is
 * (H + pt + pb) x (W + pl + pr); OH, OW come from the caller (floor or ceil mode).
 * One OpenMP thread per plane: results do not depend on the number of threads.
 *
 * Built for float and double from one source (see zoo_template.h).
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

#define ZOO_TEMPLATE "pool.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------- */

/* maxpool2d_forward(out, argmax, x, NC, H, W, kh, kw, sh, sw, pt, pl, OH, OW, dtype) */
static PyObject *py_maxpool2d_forward(PyObject *self, PyObject *args) {
    Py_buffer out, arg, x;
    Py_ssize_t NC, H, W, OH, OW;
    int kh, kw, sh, sw, pt, pl, dtype, st;
    if (!PyArg_ParseTuple(args, "w*w*y*nnniiiiiinni", &out, &arg, &x, &NC, &H, &W, &kh, &kw, &sh, &sw, &pt, &pl,
                          &OH, &OW, &dtype))
        return NULL;
    ZOO_DISPATCH(st, dtype, maxpool2d_forward, out.buf, arg.buf, x.buf, NC, H, W, kh, kw, sh, sw, pt, pl, OH, OW);
    PyBuffer_Release(&out);
    PyBuffer_Release(&arg);
    PyBuffer_Release(&x);
    return zoo_status_to_py(st, "maxpool2d_forward");
}

/* maxpool2d_backward(dx, gy, argmax, NC, HW, OHOW, overwrite, dtype) */
static PyObject *py_maxpool2d_backward(PyObject *self, PyObject *args) {
    Py_buffer dx, gy, arg;
    Py_ssize_t NC, HW, OHOW;
    int overwrite, dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*y*nnnii", &dx, &gy, &arg, &NC, &HW, &OHOW, &overwrite, &dtype)) return NULL;
    ZOO_DISPATCH(st, dtype, maxpool2d_backward, dx.buf, gy.buf, arg.buf, NC, HW, OHOW, overwrite);
    PyBuffer_Release(&dx);
    PyBuffer_Release(&gy);
    PyBuffer_Release(&arg);
    return zoo_status_to_py(st, "maxpool2d_backward");
}

/* avgpool2d_forward(out, x, NC, H, W, kh, kw, sh, sw, pt, pl, pb, pr, OH, OW, count_include_pad, dtype) */
static PyObject *py_avgpool2d_forward(PyObject *self, PyObject *args) {
    Py_buffer out, x;
    Py_ssize_t NC, H, W, OH, OW;
    int kh, kw, sh, sw, pt, pl, pb, pr, cip, dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*nnniiiiiiiinnii", &out, &x, &NC, &H, &W, &kh, &kw, &sh, &sw, &pt, &pl, &pb,
                          &pr, &OH, &OW, &cip, &dtype))
        return NULL;
    ZOO_DISPATCH(st, dtype, avgpool2d_forward, out.buf, x.buf, NC, H, W, kh, kw, sh, sw, pt, pl, pb, pr, OH, OW, cip);
    PyBuffer_Release(&out);
    PyBuffer_Release(&x);
    return zoo_status_to_py(st, "avgpool2d_forward");
}

/* avgpool2d_backward(dx, gy, NC, H, W, kh, kw, sh, sw, pt, pl, pb, pr, OH, OW, count_include_pad, overwrite,
 *                    dtype) */
static PyObject *py_avgpool2d_backward(PyObject *self, PyObject *args) {
    Py_buffer dx, gy;
    Py_ssize_t NC, H, W, OH, OW;
    int kh, kw, sh, sw, pt, pl, pb, pr, cip, overwrite, dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*nnniiiiiiiinniii", &dx, &gy, &NC, &H, &W, &kh, &kw, &sh, &sw, &pt, &pl, &pb,
                          &pr, &OH, &OW, &cip, &overwrite, &dtype))
        return NULL;
    ZOO_DISPATCH(st, dtype, avgpool2d_backward, dx.buf, gy.buf, NC, H, W, kh, kw, sh, sw, pt, pl, pb, pr, OH, OW, cip,
                 overwrite);
    PyBuffer_Release(&dx);
    PyBuffer_Release(&gy);
    return zoo_status_to_py(st, "avgpool2d_backward");
}

PyMethodDef zoo_pool_methods[] = {
    {"maxpool2d_forward", py_maxpool2d_forward, METH_VARARGS,
     "maxpool2d_forward(out, argmax, x, NC, H, W, kh, kw, sh, sw, pt, pl, OH, OW, dtype)"},
    {"maxpool2d_backward", py_maxpool2d_backward, METH_VARARGS,
     "maxpool2d_backward(dx, gy, argmax, NC, HW, OHOW, overwrite, dtype)"},
    {"avgpool2d_forward", py_avgpool2d_forward, METH_VARARGS,
     "avgpool2d_forward(out, x, NC, H, W, kh, kw, sh, sw, pt, pl, pb, pr, OH, OW, count_include_pad, dtype)"},
    {"avgpool2d_backward", py_avgpool2d_backward, METH_VARARGS,
     "avgpool2d_backward(dx, gy, NC, H, W, kh, kw, sh, sw, pt, pl, pb, pr, OH, OW, count_include_pad, overwrite, "
     "dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------ */

#ifndef ZOO_POOL_HELPERS
#define ZOO_POOL_HELPERS
/* Window [s, e) of output index o along one axis, clipped to [0, size). */
static inline void zoo_pool_window(int64_t o, int s, int k, int pad, int64_t size, int64_t *lo, int64_t *hi) {
    int64_t a = o * s - pad, b = a + k;
    *lo = a < 0 ? 0 : a;
    *hi = b > size ? size : b;
}

/* Outputs [a, b) whose windows lie wholly inside along one axis: o*s - pad >= 0 and
 * o*s - pad + k <= size. */
static inline void zoo_pool_inside(int s, int k, int pad, int64_t size, int64_t n_out, int64_t *a, int64_t *b) {
    int64_t lo = (pad + s - 1) / s, hi = size + pad - k >= 0 ? (size + pad - k) / s + 1 : 0;
    if (hi > n_out) hi = n_out;
    if (lo > hi) lo = hi;
    *a = lo;
    *b = hi;
}

/* The pixel count of a window along one axis, or with cip its size clipped to the padded axis. */
static inline int64_t zoo_pool_count(int64_t o, int s, int k, int pad_lo, int pad_hi, int64_t size, int cip) {
    int64_t a = o * s - pad_lo, b = a + k;
    if (cip) return (b > size + pad_hi ? size + pad_hi : b) - a;
    return (b > size ? size : b) - (a < 0 ? 0 : a);
}
#endif

/* Max over the interior windows [ja, jb) of one output row (rows h0..h1-1 of the plane):
 * best[j], arg[j] start from the window's first pixel, then each later pixel in row-major
 * order replaces them if greater or NaN (so the first maximum wins and a NaN stays). */
ZOO_MULTIVERSION static void S(maxpool_row)(T *restrict best, int32_t *restrict arg, const T *restrict xp, int64_t W,
                                            int64_t h0, int64_t h1, int kw, int sw, int pl, int64_t ja, int64_t jb) {
    for (int64_t j = ja; j < jb; j++) {
        const int64_t w = j * sw - pl;
        best[j] = xp[h0 * W + w];
        arg[j] = (int32_t)(h0 * W + w);
    }
    for (int64_t h = h0; h < h1; h++)
        for (int b = h == h0 ? 1 : 0; b < kw; b++) {
            const T *xr = xp + h * W;
            const int64_t off = b - pl;
            const int32_t base = (int32_t)(h * W + off);
/* strides 1 and 2 spelled out: the vectoriser needs a constant stride */
#define ZOO_MAXPOOL_TAP(SW)                                   \
    for (int64_t j = ja; j < jb; j++) {                       \
        const T v = xr[j * (SW) + off];                       \
        const int c = (v > best[j]) | (v != v);               \
        best[j] = c ? v : best[j];                            \
        arg[j] = c ? base + (int32_t)(j * (SW)) : arg[j];     \
    }
            if (sw == 1) {
                ZOO_MAXPOOL_TAP(1)
            } else if (sw == 2) {
                ZOO_MAXPOOL_TAP(2)
            } else {
                ZOO_MAXPOOL_TAP(sw)
            }
#undef ZOO_MAXPOOL_TAP
        }
}

/* 2x2 windows with stride 2 and no padding, whole plane: the common case, spelled out. */
ZOO_MULTIVERSION static void S(maxpool_2x2)(T *restrict op, int32_t *restrict ap, const T *restrict xp, int64_t W,
                                            int64_t OH, int64_t OW) {
    for (int64_t i = 0; i < OH; i++) {
        const T *r0 = xp + 2 * i * W, *r1 = r0 + W;
        T *o = op + i * OW;
        int32_t *a = ap + i * OW;
        const int32_t base = (int32_t)(2 * i * W);
        for (int64_t j = 0; j < OW; j++) {
            T best = r0[2 * j];
            int32_t arg = base + (int32_t)(2 * j);
            T v = r0[2 * j + 1];
            int c = (v > best) | (v != v);
            best = c ? v : best;
            arg = c ? base + (int32_t)(2 * j + 1) : arg;
            v = r1[2 * j];
            c = (v > best) | (v != v);
            best = c ? v : best;
            arg = c ? base + (int32_t)(W + 2 * j) : arg;
            v = r1[2 * j + 1];
            c = (v > best) | (v != v);
            best = c ? v : best;
            arg = c ? base + (int32_t)(W + 2 * j + 1) : arg;
            o[j] = best;
            a[j] = arg;
        }
    }
}

/* maxpool2d forward: out[p, i, j] = max over the window of x[p], argmax[p, i, j] = its flat
 * index h*W + w in the plane (the first maximum; a NaN wins and stays), or -1 and -inf for a
 * window with no pixel. x (NC, H, W), out and argmax (NC, OH, OW). Overwrites out, argmax. */
static int S(maxpool2d_forward)(T *out, int32_t *argmax, const T *x, int64_t NC, int64_t H, int64_t W, int kh,
                                int kw, int sh, int sw, int pt, int pl, int64_t OH, int64_t OW) {
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || H * W > INT32_MAX) return ZOO_EINVAL;
    int64_t ja, jb;
    zoo_pool_inside(sw, kw, pl, W, OW, &ja, &jb);
    const int fast = kh == 2 && kw == 2 && sh == 2 && sw == 2 && pt == 0 && pl == 0 && 2 * OH <= H && 2 * OW <= W;
    #pragma omp parallel for schedule(static) if (NC * OH * OW * kh * kw > 32768)
    for (int64_t p = 0; p < NC; p++) {
        const T *xp = x + p * H * W;
        if (fast) {
            S(maxpool_2x2)(out + p * OH * OW, argmax + p * OH * OW, xp, W, OH, OW);
            continue;
        }
        for (int64_t i = 0; i < OH; i++) {
            T *orow = out + (p * OH + i) * OW;
            int32_t *arow = argmax + (p * OH + i) * OW;
            int64_t h0, h1;
            zoo_pool_window(i, sh, kh, pt, H, &h0, &h1);
            if (h0 < h1) S(maxpool_row)(orow, arow, xp, W, h0, h1, kw, sw, pl, ja, jb);
            for (int64_t j = 0; j < OW; j++) {
                if (j >= ja && j < jb && h0 < h1) continue;
                int64_t w0, w1;
                zoo_pool_window(j, sw, kw, pl, W, &w0, &w1);
                T best = -INFINITY;
                int64_t arg = -1;
                for (int64_t h = h0; h < h1; h++)
                    for (int64_t w = w0; w < w1; w++) {
                        const T v = xp[h * W + w];
                        if (arg < 0 || v > best || v != v) {
                            if (arg >= 0 && best != best) continue; /* a NaN stays */
                            best = v;
                            arg = h * W + w;
                        }
                    }
                orow[j] = best;
                arow[j] = (int32_t)arg;
            }
        }
    }
    return ZOO_OK;
}

/* maxpool2d backward: dx[p, argmax[p, k]] += gy[p, k] for argmax >= 0.
 * dx (NC, HW), gy and argmax (NC, OHOW). Adds into dx (zeroes each plane first if overwrite). */
static int S(maxpool2d_backward)(T *dx, const T *gy, const int32_t *argmax, int64_t NC, int64_t HW, int64_t OHOW,
                                 int overwrite) {
    #pragma omp parallel for schedule(static) if (NC * (OHOW + HW) > 65536)
    for (int64_t p = 0; p < NC; p++) {
        T *dp = dx + p * HW;
        if (overwrite) memset(dp, 0, (size_t)HW * sizeof(T));
        const T *gp = gy + p * OHOW;
        const int32_t *ap = argmax + p * OHOW;
        for (int64_t k = 0; k < OHOW; k++)
            if (ap[k] >= 0 && ap[k] < HW) dp[ap[k]] += gp[k];
    }
    return ZOO_OK;
}

/* Sum over the interior windows [ja, jb) of one output row into acc (rows h0..h1-1). */
ZOO_MULTIVERSION static void S(avgpool_row)(T *restrict acc, const T *restrict xp, int64_t W, int64_t h0, int64_t h1,
                                            int kw, int sw, int pl, int64_t ja, int64_t jb) {
    for (int64_t j = ja; j < jb; j++) acc[j] = 0;
    for (int64_t h = h0; h < h1; h++)
        for (int b = 0; b < kw; b++) {
            const T *xr = xp + h * W + b - pl;
            if (sw == 1)
                for (int64_t j = ja; j < jb; j++) acc[j] += xr[j];
            else if (sw == 2)
                for (int64_t j = ja; j < jb; j++) acc[j] += xr[2 * j];
            else
                for (int64_t j = ja; j < jb; j++) acc[j] += xr[j * sw];
        }
}

/* 2x2 windows with stride 2 and no padding, whole plane (divisor 4). */
ZOO_MULTIVERSION static void S(avgpool_2x2)(T *restrict op, const T *restrict xp, int64_t W, int64_t OH, int64_t OW) {
    for (int64_t i = 0; i < OH; i++) {
        const T *r0 = xp + 2 * i * W, *r1 = r0 + W;
        T *o = op + i * OW;
        for (int64_t j = 0; j < OW; j++) o[j] = (r0[2 * j] + r0[2 * j + 1] + r1[2 * j] + r1[2 * j + 1]) / (T)4;
    }
}

/* Its backward: every pixel of window (i, j) gets gy[i, j] / 4 (added). */
ZOO_MULTIVERSION static void S(avgpool_2x2_back)(T *restrict dp, const T *restrict gp, int64_t W, int64_t OH,
                                                 int64_t OW) {
    for (int64_t i = 0; i < OH; i++) {
        T *r0 = dp + 2 * i * W, *r1 = r0 + W;
        const T *g = gp + i * OW;
        for (int64_t j = 0; j < OW; j++) {
            const T v = g[j] / (T)4;
            r0[2 * j] += v;
            r0[2 * j + 1] += v;
            r1[2 * j] += v;
            r1[2 * j + 1] += v;
        }
    }
}

/* avgpool2d forward: out[p, i, j] = sum of the window of x[p] / divisor, the divisor being the
 * window's pixel count, or with count_include_pad its size clipped to the padded image (Caffe,
 * PyTorch); 0 for a window with no pixel. x (NC, H, W), out (NC, OH, OW). Overwrites out. */
static int S(avgpool2d_forward)(T *out, const T *x, int64_t NC, int64_t H, int64_t W, int kh, int kw, int sh, int sw,
                                int pt, int pl, int pb, int pr, int64_t OH, int64_t OW, int cip) {
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1) return ZOO_EINVAL;
    int64_t ja, jb;
    zoo_pool_inside(sw, kw, pl, W, OW, &ja, &jb);
    T *cc = malloc(sizeof(T) * (size_t)(OW > 0 ? OW : 1));
    if (!cc) return ZOO_ENOMEM;
    for (int64_t j = 0; j < OW; j++) cc[j] = (T)zoo_pool_count(j, sw, kw, pl, pr, W, cip);
    const int fast = kh == 2 && kw == 2 && sh == 2 && sw == 2 && pt == 0 && pl == 0 && 2 * OH <= H && 2 * OW <= W;
    #pragma omp parallel for schedule(static) if (NC * OH * OW * kh * kw > 32768)
    for (int64_t p = 0; p < NC; p++) {
        const T *xp = x + p * H * W;
        if (fast) {
            S(avgpool_2x2)(out + p * OH * OW, xp, W, OH, OW);
            continue;
        }
        for (int64_t i = 0; i < OH; i++) {
            T *orow = out + (p * OH + i) * OW;
            int64_t h0, h1;
            zoo_pool_window(i, sh, kh, pt, H, &h0, &h1);
            const T rc = (T)zoo_pool_count(i, sh, kh, pt, pb, H, cip);
            S(avgpool_row)(orow, xp, W, h0, h1, kw, sw, pl, ja, jb);
            for (int64_t j = 0; j < OW; j++) {
                if (j < ja || j >= jb) {
                    int64_t w0, w1;
                    zoo_pool_window(j, sw, kw, pl, W, &w0, &w1);
                    T acc = 0;
                    for (int64_t h = h0; h < h1; h++)
                        for (int64_t w = w0; w < w1; w++) acc += xp[h * W + w];
                    orow[j] = acc;
                }
                const T div = rc * cc[j];
                orow[j] = (h1 > h0 && div > 0) ? orow[j] / div : (T)0;
            }
        }
    }
    free(cc);
    return ZOO_OK;
}

/* dx row h += g[j] over the interior windows [ja, jb) for each column tap b. */
ZOO_MULTIVERSION static void S(avgpool_back_row)(T *restrict dr, const T *restrict g, int kw, int sw, int pl,
                                                 int64_t ja, int64_t jb) {
    for (int b = 0; b < kw; b++) {
        T *d = dr + b - pl;
        if (sw == 1)
            for (int64_t j = ja; j < jb; j++) d[j] += g[j];
        else if (sw == 2)
            for (int64_t j = ja; j < jb; j++) d[2 * j] += g[j];
        else
            for (int64_t j = ja; j < jb; j++) d[j * sw] += g[j];
    }
}

/* avgpool2d backward: dx[p, h, w] += gy[p, i, j] / divisor for every window (i, j) holding
 * (h, w). dx (NC, H, W), gy (NC, OH, OW). Adds into dx (zeroes each plane first if overwrite). */
static int S(avgpool2d_backward)(T *dx, const T *gy, int64_t NC, int64_t H, int64_t W, int kh, int kw, int sh, int sw,
                                 int pt, int pl, int pb, int pr, int64_t OH, int64_t OW, int cip, int overwrite) {
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1) return ZOO_EINVAL;
    int64_t ja, jb;
    zoo_pool_inside(sw, kw, pl, W, OW, &ja, &jb);
    const int team = zoo_team(0);
    T *cc = malloc(sizeof(T) * (size_t)(OW > 0 ? OW : 1) * (size_t)(team + 1));
    if (!cc) return ZOO_ENOMEM;
    for (int64_t j = 0; j < OW; j++) cc[j] = (T)zoo_pool_count(j, sw, kw, pl, pr, W, cip);
    const int fast = kh == 2 && kw == 2 && sh == 2 && sw == 2 && pt == 0 && pl == 0 && 2 * OH <= H && 2 * OW <= W;
    #pragma omp parallel for schedule(static) num_threads(team) if (NC * OH * OW * kh * kw > 32768)
    for (int64_t p = 0; p < NC; p++) {
        T *dp = dx + p * H * W;
        T *g = cc + OW * (1 + zoo_thread_id());
        const T *gp = gy + p * OH * OW;
        if (overwrite) memset(dp, 0, (size_t)(H * W) * sizeof(T));
        if (fast) {
            S(avgpool_2x2_back)(dp, gp, W, OH, OW);
            continue;
        }
        for (int64_t i = 0; i < OH; i++) {
            int64_t h0, h1;
            zoo_pool_window(i, sh, kh, pt, H, &h0, &h1);
            const T rc = (T)zoo_pool_count(i, sh, kh, pt, pb, H, cip);
            if (!(h1 > h0)) continue;
            for (int64_t j = 0; j < OW; j++) {
                const T div = rc * cc[j];
                g[j] = div > 0 ? gp[i * OW + j] / div : (T)0;
            }
            for (int64_t h = h0; h < h1; h++) {
                T *dr = dp + h * W;
                S(avgpool_back_row)(dr, g, kw, sw, pl, ja, jb);
                for (int64_t j = 0; j < OW; j++) {
                    if (j >= ja && j < jb) continue;
                    int64_t w0, w1;
                    zoo_pool_window(j, sw, kw, pl, W, &w0, &w1);
                    for (int64_t w = w0; w < w1; w++) dr[w] += g[j];
                }
            }
        }
    }
    free(cc);
    return ZOO_OK;
}

#endif
