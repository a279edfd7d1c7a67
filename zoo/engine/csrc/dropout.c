/* dropout.c: dropout, built for float and double through zoo_template.h.
 *
 * Dropout draws its mask from a counter-based hash of (element index, 64-bit key): the mask
 * is a function of the key alone, whatever the threads, and the key comes from the op's
 * seeded generator.
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

ZOO_NO_TRAPPING_MATH

#define DROP_CHUNK 32768 /* elements per parallel work item */
#define DROP_PAR 65536   /* below this many elements, run on one thread */

/* lowbias32 (C. Wellons): a 32-bit bijective mixer */
static inline uint32_t zoo_mix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x7feb352dU;
    h ^= h >> 15;
    h *= 0x846ca68bU;
    h ^= h >> 16;
    return h;
}

/* the uniform 32-bit draw of element (hi << 32 | lo) under key (k0, k1) */
static inline uint32_t zoo_drop_hash(uint32_t lo, uint32_t hi, uint32_t k0, uint32_t k1) {
    return zoo_mix32(zoo_mix32(lo ^ k0) ^ (hi + k1));
}

#define ZOO_TEMPLATE "dropout.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------- */

/* the 64-bit key (an int in [0, 2^64)) and a 32-bit threshold; -1 with an exception otherwise */
static int drop_args(PyObject *ko, unsigned long long *key, Py_ssize_t thr, const char *kernel) {
    *key = PyLong_AsUnsignedLongLong(ko);
    if (*key == (unsigned long long)-1 && PyErr_Occurred()) return -1;
    if (thr < 0 || thr > (Py_ssize_t)0xFFFFFFFFLL) {
        PyErr_Format(PyExc_ValueError, "%s: threshold must be in [0, 2^32), got %zd", kernel, thr);
        return -1;
    }
    return 0;
}

/* dropout_forward(y, mask, x, n, key, threshold, scale, dtype) */
static PyObject *py_dropout_forward(PyObject *self, PyObject *args) {
    PyObject *o[3], *ko;
    Py_ssize_t n, thr;
    unsigned long long key;
    double scale;
    int dtype, st;
    Py_buffer v[3];
    const char *k = "dropout_forward";
    if (!PyArg_ParseTuple(args, "OOOnOndi", &o[0], &o[1], &o[2], &n, &ko, &thr, &scale, &dtype)) return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || drop_args(ko, &key, thr, k) < 0) return NULL;
    const zoo_arg a[3] = {{o[0], n, 1, 0, "y"}, {o[1], n, 1, 0, "mask", ZOO_ELEM_BYTES}, {o[2], n, 0, 0, "x"}};
    if (zoo_take_all(a, v, 3, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, dropout_forward, v[0].buf, v[1].buf, v[2].buf, n, key, (uint32_t)thr, scale);
    zoo_release_buffers(v, 3);
    return zoo_status_to_py(st, k);
}

/* dropout_mask(m, n, key, threshold, scale, dtype) */
static PyObject *py_dropout_mask(PyObject *self, PyObject *args) {
    PyObject *mo, *ko;
    Py_ssize_t n, thr;
    unsigned long long key;
    double scale;
    int dtype, st;
    Py_buffer v[1];
    const char *k = "dropout_mask";
    if (!PyArg_ParseTuple(args, "OnOndi", &mo, &n, &ko, &thr, &scale, &dtype)) return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || drop_args(ko, &key, thr, k) < 0 ||
        zoo_take_buffer(mo, &v[0], dtype, n, 1, 0, k, "m") < 0)
        return NULL;
    ZOO_DISPATCH(st, dtype, dropout_mask, v[0].buf, n, key, (uint32_t)thr, scale);
    zoo_release_buffers(v, 1);
    return zoo_status_to_py(st, k);
}

/* dropout_backward(dx, dy, mask, n, scale, accumulate, dtype) */
static PyObject *py_dropout_backward(PyObject *self, PyObject *args) {
    PyObject *o[3];
    Py_ssize_t n;
    double scale;
    int acc, dtype, st;
    Py_buffer v[3];
    const char *k = "dropout_backward";
    if (!PyArg_ParseTuple(args, "OOOndii", &o[0], &o[1], &o[2], &n, &scale, &acc, &dtype)) return NULL;
    if (zoo_check_dtype(dtype, k) < 0) return NULL;
    const zoo_arg a[3] = {{o[0], n, 1, 0, "dx"}, {o[1], n, 0, 0, "dy"}, {o[2], n, 0, 0, "mask", ZOO_ELEM_BYTES}};
    if (zoo_take_all(a, v, 3, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, dropout_backward, v[0].buf, v[1].buf, v[2].buf, n, scale, acc);
    zoo_release_buffers(v, 3);
    return zoo_status_to_py(st, k);
}

PyMethodDef zoo_dropout_methods[] = {
    {"dropout_forward", py_dropout_forward, METH_VARARGS, "dropout_forward(y, mask, x, n, key, threshold, scale, dtype)"},
    {"dropout_mask", py_dropout_mask, METH_VARARGS, "dropout_mask(m, n, key, threshold, scale, dtype)"},
    {"dropout_backward", py_dropout_backward, METH_VARARGS,
     "dropout_backward(dx, dy, mask, n, scale, accumulate, dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------ */

/* one chunk [lo, lo + n) that does not cross a multiple of 2^32 */
ZOO_MULTIVERSION static void S(drop_fwd_chunk)(T *restrict y, uint8_t *restrict mask, const T *restrict x,
                                               uint64_t lo, int64_t n, uint32_t k0, uint32_t k1, uint32_t thr,
                                               T scale) {
    const uint32_t base = (uint32_t)lo, hi = (uint32_t)(lo >> 32);
    for (int64_t i = 0; i < n; i++) {
        const uint32_t h = zoo_drop_hash(base + (uint32_t)i, hi, k0, k1);
        const int keep = h >= thr;
        mask[i] = (uint8_t)keep;
        y[i] = keep ? x[i] * scale : (T)0;
    }
}

ZOO_MULTIVERSION static void S(drop_mask_chunk)(T *restrict m, uint64_t lo, int64_t n, uint32_t k0, uint32_t k1,
                                                uint32_t thr, T scale) {
    const uint32_t base = (uint32_t)lo, hi = (uint32_t)(lo >> 32);
    for (int64_t i = 0; i < n; i++) m[i] = zoo_drop_hash(base + (uint32_t)i, hi, k0, k1) >= thr ? scale : (T)0;
}

ZOO_MULTIVERSION static void S(drop_bwd_chunk)(T *restrict dx, const T *restrict dy, const uint8_t *restrict mask,
                                               int64_t n, T scale, int accumulate) {
    if (accumulate)
        for (int64_t i = 0; i < n; i++) dx[i] += mask[i] ? dy[i] * scale : (T)0;
    else
        for (int64_t i = 0; i < n; i++) dx[i] = mask[i] ? dy[i] * scale : (T)0;
}

/* dropout forward: element i is kept iff hash(i, key) >= threshold (so P(keep) = 1 - thr/2^32);
 * y = kept ? x scale : 0, mask = kept (0/1). x, y (n,), mask (n,) bytes. Overwrites y and mask;
 * y must not overlap x. */
static int S(dropout_forward)(T *y, uint8_t *mask, const T *x, int64_t n, uint64_t key, uint32_t thr, T scale) {
    if (n < 0) return ZOO_EINVAL;
    const uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    const int64_t chunks = (n + DROP_CHUNK - 1) / DROP_CHUNK;
    ZOO_PARFOR(n >= DROP_PAR,
        for (int64_t c = 0; c < chunks; c++) {
            const int64_t lo = c * DROP_CHUNK, m = n - lo < DROP_CHUNK ? n - lo : DROP_CHUNK;
            S(drop_fwd_chunk)(y + lo, mask + lo, x + lo, (uint64_t)lo, m, k0, k1, thr, scale);
        });
    return ZOO_OK;
}

/* dropout mask: m[i] = hash(i, key) >= threshold ? scale : 0 (the same draws as dropout_forward). */
static int S(dropout_mask)(T *m, int64_t n, uint64_t key, uint32_t thr, T scale) {
    if (n < 0) return ZOO_EINVAL;
    const uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    const int64_t chunks = (n + DROP_CHUNK - 1) / DROP_CHUNK;
    ZOO_PARFOR(n >= DROP_PAR,
        for (int64_t c = 0; c < chunks; c++) {
            const int64_t lo = c * DROP_CHUNK, k = n - lo < DROP_CHUNK ? n - lo : DROP_CHUNK;
            S(drop_mask_chunk)(m + lo, (uint64_t)lo, k, k0, k1, thr, scale);
        });
    return ZOO_OK;
}

/* dropout backward: dx = mask ? dy scale : 0, overwritten (accumulate == 0) or added. */
static int S(dropout_backward)(T *dx, const T *dy, const uint8_t *mask, int64_t n, T scale, int accumulate) {
    if (n < 0) return ZOO_EINVAL;
    const int64_t chunks = (n + DROP_CHUNK - 1) / DROP_CHUNK;
    ZOO_PARFOR(n >= DROP_PAR,
        for (int64_t c = 0; c < chunks; c++) {
            const int64_t lo = c * DROP_CHUNK, m = n - lo < DROP_CHUNK ? n - lo : DROP_CHUNK;
            S(drop_bwd_chunk)(dx + lo, dy + lo, mask + lo, m, scale, accumulate);
        });
    return ZOO_OK;
}

#endif
