/* reduce.c: reductions and elementwise passes over flat buffers (gradients, weights).
 *
 * - sumsq:     sum of x[i]^2 over [lo, hi) where mask[i] != 0 (mask may be NULL), float64
 *              accumulation. The range is cut into fixed blocks of ZOO_RED_BLOCK elements,
 *              each summed in a fixed lane order, and the block sums are added in order, so
 *              the result is the same for every thread count.
 * - abs_sumsq: (sum |x[i]|, sum x[i]^2) over (n,), float64 accumulation, same blocking.
 * - scale:     x[i] *= s over [lo, hi).
 * - clip:      x[i] = min(max(x[i], a), b) over [lo, hi).
 * - sum_into:  out[i] = bufs[0][i] + bufs[1][i] + ... + bufs[K-1][i] over [lo, hi), added in
 *              that order (out may be one of bufs).
 * - l1l2_grad: g[i] += l1 * sign(w[i]) + 2 * l2 * w[i] over (n,).
 *
 * Built for float and double from one source (see zoo_template.h).
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

#define ZOO_RED_BLOCK 8192
#define ZOO_RED_LANES 16
#define ZOO_RED_MAX_BUFS 1024

#define ZOO_TEMPLATE "reduce.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------- */

static int zoo_red_range(Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t n, const char *name) {
    if (lo < 0 || hi < lo || hi > n) {
        PyErr_Format(PyExc_ValueError, "%s: invalid range [%zd, %zd) of %zd elements", name, lo, hi, n);
        return -1;
    }
    return 0;
}

/* sumsq(x, mask | None, lo, hi, dtype, threads) -> float */
static PyObject *py_sumsq(PyObject *self, PyObject *args) {
    Py_buffer x, mk = {0};
    PyObject *mask_obj;
    Py_ssize_t lo, hi;
    int dtype, threads, st, have_mask = 0;
    double out = 0.0;
    if (!PyArg_ParseTuple(args, "y*Onnii", &x, &mask_obj, &lo, &hi, &dtype, &threads)) return NULL;
    Py_ssize_t n = x.len / (dtype == ZOO_F32 ? 4 : 8);
    PyObject *ret = NULL;
    if (zoo_red_range(lo, hi, n, "sumsq") < 0) goto done;
    if (mask_obj != Py_None) {
        if (PyObject_GetBuffer(mask_obj, &mk, PyBUF_C_CONTIGUOUS) < 0) goto done;
        have_mask = 1;
        if (mk.len != n) {
            PyErr_SetString(PyExc_ValueError, "sumsq: mask length differs from x");
            goto done;
        }
    }
    const uint8_t *m = have_mask ? (const uint8_t *)mk.buf : NULL;
    ZOO_DISPATCH(st, dtype, sumsq, &out, x.buf, m, lo, hi, threads);
    if (st != ZOO_OK) {
        zoo_status_to_py(st, "sumsq");
        goto done;
    }
    ret = PyFloat_FromDouble(out);
done:
    if (have_mask) PyBuffer_Release(&mk);
    PyBuffer_Release(&x);
    return ret;
}

/* abs_sumsq(x, n, dtype, threads) -> (sum |x|, sum x^2) */
static PyObject *py_abs_sumsq(PyObject *self, PyObject *args) {
    Py_buffer x;
    Py_ssize_t n;
    int dtype, threads, st;
    double a = 0.0, s = 0.0;
    if (!PyArg_ParseTuple(args, "y*nii", &x, &n, &dtype, &threads)) return NULL;
    if (n < 0 || n * (dtype == ZOO_F32 ? 4 : 8) > x.len) {
        PyBuffer_Release(&x);
        PyErr_SetString(PyExc_ValueError, "abs_sumsq: invalid length");
        return NULL;
    }
    ZOO_DISPATCH(st, dtype, abs_sumsq, &a, &s, x.buf, n, threads);
    PyBuffer_Release(&x);
    if (st != ZOO_OK) return zoo_status_to_py(st, "abs_sumsq");
    return Py_BuildValue("(dd)", a, s);
}

/* scale(x, s, lo, hi, dtype, threads): x[lo:hi] *= s */
static PyObject *py_scale(PyObject *self, PyObject *args) {
    Py_buffer x;
    double s;
    Py_ssize_t lo, hi;
    int dtype, threads, st;
    if (!PyArg_ParseTuple(args, "w*dnnii", &x, &s, &lo, &hi, &dtype, &threads)) return NULL;
    if (zoo_red_range(lo, hi, x.len / (dtype == ZOO_F32 ? 4 : 8), "scale") < 0) {
        PyBuffer_Release(&x);
        return NULL;
    }
    ZOO_DISPATCH(st, dtype, scale, x.buf, s, lo, hi, threads);
    PyBuffer_Release(&x);
    return zoo_status_to_py(st, "scale");
}

/* clip(x, a, b, lo, hi, dtype, threads): x[lo:hi] = min(max(x, a), b) */
static PyObject *py_clip(PyObject *self, PyObject *args) {
    Py_buffer x;
    double a, b;
    Py_ssize_t lo, hi;
    int dtype, threads, st;
    if (!PyArg_ParseTuple(args, "w*ddnnii", &x, &a, &b, &lo, &hi, &dtype, &threads)) return NULL;
    if (zoo_red_range(lo, hi, x.len / (dtype == ZOO_F32 ? 4 : 8), "clip") < 0) {
        PyBuffer_Release(&x);
        return NULL;
    }
    ZOO_DISPATCH(st, dtype, clip, x.buf, a, b, lo, hi, threads);
    PyBuffer_Release(&x);
    return zoo_status_to_py(st, "clip");
}

/* sum_into(out, bufs (sequence of buffers), lo, hi, dtype, threads):
 * out[lo:hi] = bufs[0][lo:hi] + ... + bufs[K-1][lo:hi], added in order. */
static PyObject *py_sum_into(PyObject *self, PyObject *args) {
    Py_buffer out;
    PyObject *seq_obj, *seq = NULL, *ret = NULL;
    Py_ssize_t lo, hi, k = 0, got = 0;
    int dtype, threads, st;
    Py_buffer *bufs = NULL;
    const void **ptrs = NULL;
    if (!PyArg_ParseTuple(args, "w*Onnii", &out, &seq_obj, &lo, &hi, &dtype, &threads)) return NULL;
    seq = PySequence_Fast(seq_obj, "sum_into: bufs must be a sequence of buffers");
    if (seq == NULL) goto done;
    k = PySequence_Fast_GET_SIZE(seq);
    if (k < 1 || k > ZOO_RED_MAX_BUFS) {
        PyErr_Format(PyExc_ValueError, "sum_into: expected 1 to %d buffers, got %zd", ZOO_RED_MAX_BUFS, k);
        goto done;
    }
    if (zoo_red_range(lo, hi, out.len / (dtype == ZOO_F32 ? 4 : 8), "sum_into") < 0) goto done;
    bufs = PyMem_Calloc(k, sizeof(Py_buffer));
    ptrs = PyMem_Calloc(k, sizeof(void *));
    if (bufs == NULL || ptrs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (got = 0; got < k; got++) {
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, got), &bufs[got], PyBUF_C_CONTIGUOUS) < 0) goto done;
        if (bufs[got].len != out.len) {
            got++;
            PyErr_SetString(PyExc_ValueError, "sum_into: buffer length differs from out");
            goto done;
        }
        ptrs[got] = bufs[got].buf;
    }
    ZOO_DISPATCH(st, dtype, sum_into, out.buf, ptrs, (int)k, lo, hi, threads);
    ret = zoo_status_to_py(st, "sum_into");
done:
    for (Py_ssize_t j = 0; j < got; j++) PyBuffer_Release(&bufs[j]);
    PyMem_Free(bufs);
    PyMem_Free(ptrs);
    Py_XDECREF(seq);
    PyBuffer_Release(&out);
    return ret;
}

/* l1l2_grad(g, w, l1, l2, n, dtype, threads): g += l1 * sign(w) + 2 * l2 * w */
static PyObject *py_l1l2_grad(PyObject *self, PyObject *args) {
    Py_buffer g, w;
    double l1, l2;
    Py_ssize_t n;
    int dtype, threads, st;
    if (!PyArg_ParseTuple(args, "w*y*ddnii", &g, &w, &l1, &l2, &n, &dtype, &threads)) return NULL;
    Py_ssize_t bytes = n * (dtype == ZOO_F32 ? 4 : 8);
    if (n < 0 || bytes > g.len || bytes > w.len) {
        PyBuffer_Release(&g);
        PyBuffer_Release(&w);
        PyErr_SetString(PyExc_ValueError, "l1l2_grad: invalid length");
        return NULL;
    }
    ZOO_DISPATCH(st, dtype, l1l2_grad, g.buf, w.buf, l1, l2, n, threads);
    PyBuffer_Release(&g);
    PyBuffer_Release(&w);
    return zoo_status_to_py(st, "l1l2_grad");
}

PyMethodDef zoo_reduce_methods[] = {
    {"sumsq", py_sumsq, METH_VARARGS, "sumsq(x, mask, lo, hi, dtype, threads) -> float64 sum of squares"},
    {"abs_sumsq", py_abs_sumsq, METH_VARARGS, "abs_sumsq(x, n, dtype, threads) -> (sum |x|, sum x^2)"},
    {"scale", py_scale, METH_VARARGS, "scale(x, s, lo, hi, dtype, threads): x[lo:hi] *= s"},
    {"clip", py_clip, METH_VARARGS, "clip(x, a, b, lo, hi, dtype, threads): x[lo:hi] = clip(x, a, b)"},
    {"sum_into", py_sum_into, METH_VARARGS, "sum_into(out, bufs, lo, hi, dtype, threads): out = sum of bufs"},
    {"l1l2_grad", py_l1l2_grad, METH_VARARGS, "l1l2_grad(g, w, l1, l2, n, dtype, threads)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------ */

/* Sum of squares of x[lo:hi) (masked) in ZOO_RED_LANES fixed lanes; lanes added in order. */
ZOO_MULTIVERSION static double S(sumsq_block)(const T *restrict x, const uint8_t *restrict mk, int64_t lo,
                                              int64_t hi) {
    double acc[ZOO_RED_LANES] = {0};
    int64_t i = lo, body = lo + (hi - lo) / ZOO_RED_LANES * ZOO_RED_LANES;
    if (mk == NULL) {
        for (; i < body; i += ZOO_RED_LANES)
            for (int j = 0; j < ZOO_RED_LANES; j++) {
                double v = (double)x[i + j];
                acc[j] += v * v;
            }
        for (int j = 0; i < hi; i++, j++) {
            double v = (double)x[i];
            acc[j] += v * v;
        }
    } else {
        for (; i < body; i += ZOO_RED_LANES)
            for (int j = 0; j < ZOO_RED_LANES; j++) {
                double v = mk[i + j] ? (double)x[i + j] : 0.0;
                acc[j] += v * v;
            }
        for (int j = 0; i < hi; i++, j++) {
            double v = mk[i] ? (double)x[i] : 0.0;
            acc[j] += v * v;
        }
    }
    double s = 0.0;
    for (int j = 0; j < ZOO_RED_LANES; j++) s += acc[j];
    return s;
}

/* *out = sum over [lo, hi) of x[i]^2 where mask[i] != 0; independent of the thread count. */
static int S(sumsq)(double *out, const T *x, const uint8_t *mk, int64_t lo, int64_t hi, int threads) {
    int64_t blocks = (hi - lo + ZOO_RED_BLOCK - 1) / ZOO_RED_BLOCK;
    if (blocks <= 1) {
        *out = blocks ? S(sumsq_block)(x, mk, lo, hi) : 0.0;
        return ZOO_OK;
    }
    double *part = malloc((size_t)blocks * sizeof(double));
    if (part == NULL) return ZOO_ENOMEM;
    ZOO_FOR_BLOCKS(lo, hi, ZOO_RED_BLOCK, threads, a, b, part[(a - lo) / ZOO_RED_BLOCK] = S(sumsq_block)(x, mk, a, b););
    double s = 0.0;
    for (int64_t c = 0; c < blocks; c++) s += part[c];
    free(part);
    *out = s;
    return ZOO_OK;
}

ZOO_MULTIVERSION static void S(abs_sumsq_block)(double *ra, double *rs, const T *restrict x, int64_t lo,
                                                int64_t hi) {
    double aa[ZOO_RED_LANES] = {0}, ss[ZOO_RED_LANES] = {0};
    int64_t i = lo, body = lo + (hi - lo) / ZOO_RED_LANES * ZOO_RED_LANES;
    for (; i < body; i += ZOO_RED_LANES)
        for (int j = 0; j < ZOO_RED_LANES; j++) {
            double v = (double)x[i + j];
            aa[j] += fabs(v);
            ss[j] += v * v;
        }
    for (int j = 0; i < hi; i++, j++) {
        double v = (double)x[i];
        aa[j] += fabs(v);
        ss[j] += v * v;
    }
    double a = 0.0, s = 0.0;
    for (int j = 0; j < ZOO_RED_LANES; j++) {
        a += aa[j];
        s += ss[j];
    }
    *ra = a;
    *rs = s;
}

/* (*ra, *rs) = (sum |x|, sum x^2) over (n,); independent of the thread count. */
static int S(abs_sumsq)(double *ra, double *rs, const T *x, int64_t n, int threads) {
    int64_t blocks = (n + ZOO_RED_BLOCK - 1) / ZOO_RED_BLOCK;
    if (blocks <= 1) {
        *ra = *rs = 0.0;
        if (blocks) S(abs_sumsq_block)(ra, rs, x, 0, n);
        return ZOO_OK;
    }
    double *part = malloc((size_t)blocks * 2 * sizeof(double));
    if (part == NULL) return ZOO_ENOMEM;
    ZOO_FOR_BLOCKS(0, n, ZOO_RED_BLOCK, threads, s0, s1, {
        const int64_t c = s0 / ZOO_RED_BLOCK;
        S(abs_sumsq_block)(&part[2 * c], &part[2 * c + 1], x, s0, s1);
    });
    double a = 0.0, s = 0.0;
    for (int64_t c = 0; c < blocks; c++) {
        a += part[2 * c];
        s += part[2 * c + 1];
    }
    free(part);
    *ra = a;
    *rs = s;
    return ZOO_OK;
}

ZOO_MULTIVERSION static void S(scale_block)(T *restrict x, T s, int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) x[i] *= s;
}

/* x[lo:hi] *= s */
static int S(scale)(T *x, double s, int64_t lo, int64_t hi, int threads) {
    ZOO_FOR_BLOCKS(lo, hi, ZOO_RED_BLOCK, threads, a, b, S(scale_block)(x, (T)s, a, b););
    return ZOO_OK;
}

ZOO_MULTIVERSION static void S(clip_block)(T *restrict x, T lo_v, T hi_v, int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) {
        T v = x[i] < lo_v ? lo_v : x[i];
        x[i] = v > hi_v ? hi_v : v;
    }
}

/* x[lo:hi] = min(max(x, a), b) (NaN stays NaN) */
static int S(clip)(T *x, double a, double b, int64_t lo, int64_t hi, int threads) {
    ZOO_FOR_BLOCKS(lo, hi, ZOO_RED_BLOCK, threads, s, e, S(clip_block)(x, (T)a, (T)b, s, e););
    return ZOO_OK;
}

static void S(copy_block)(T *out, const T *x, int64_t lo, int64_t hi) {
    if (out != x) memmove(out + lo, x + lo, (size_t)(hi - lo) * sizeof(T));
}

ZOO_MULTIVERSION static void S(add_block)(T *restrict out, const T *restrict x, int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) out[i] += x[i];
}

ZOO_MULTIVERSION static void S(add2_block)(T *restrict out, const T *restrict x, const T *restrict y, int64_t lo,
                                           int64_t hi) {
    for (int64_t i = lo; i < hi; i++) out[i] = x[i] + y[i];
}

/* out[lo:hi] = ((bufs[0] + bufs[1]) + bufs[2]) + ... over [lo, hi), per block of
 * ZOO_RED_BLOCK elements; out may be any of bufs (its old value is read before written). */
static int S(sum_into)(T *out, const void **bufs, int k, int64_t lo, int64_t hi, int threads) {
    const T **b = (const T **)bufs;
    ZOO_FOR_BLOCKS(lo, hi, ZOO_RED_BLOCK, threads, s, e, {
        if (k == 1) {
            S(copy_block)(out, b[0], s, e);
            continue;
        }
        int alias = 0; /* out is one of bufs[2..]: add element by element, in the same order */
        for (int j = 2; j < k; j++) alias |= (const T *)out == b[j];
        if (alias) {
            for (int64_t i = s; i < e; i++) {
                T acc = b[0][i] + b[1][i];
                for (int j = 2; j < k; j++) acc += b[j][i];
                out[i] = acc;
            }
            continue;
        }
        if ((const T *)out == b[0] || (const T *)out == b[1]) {
            for (int64_t i = s; i < e; i++) out[i] = b[0][i] + b[1][i];
        } else {
            S(add2_block)(out, b[0], b[1], s, e);
        }
        for (int j = 2; j < k; j++) S(add_block)(out, b[j], s, e);
    });
    return ZOO_OK;
}

ZOO_MULTIVERSION static void S(l1l2_block)(T *restrict g, const T *restrict w, T l1, T l2x2, int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) {
        T sg = w[i] > 0 ? (T)1 : (w[i] < 0 ? (T)-1 : (T)0);
        g[i] += l1 * sg + l2x2 * w[i];
    }
}

/* g += l1 * sign(w) + 2 * l2 * w over (n,) */
static int S(l1l2_grad)(T *g, const T *w, double l1, double l2, int64_t n, int threads) {
    ZOO_FOR_BLOCKS(0, n, ZOO_RED_BLOCK, threads, s, e, S(l1l2_block)(g, w, (T)l1, (T)(2.0 * l2), s, e););
    return ZOO_OK;
}

#endif
