/* act.c: elementwise activations.
 *
 * This file is also the template for the other families: the kernels are written once
 * between `#else` and `#endif` with T (element type) and S(name) (name with dtype suffix),
 * and the file includes itself twice to build them for float and double.
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

#define ZOO_TEMPLATE_PASS 1
#define T float
#define S(name) name##_f32
#include "act.c"
#undef T
#undef S
#define T double
#define S(name) name##_f64
#include "act.c"
#undef T
#undef S
#undef ZOO_TEMPLATE_PASS

/* ---- Python wrappers ---------------------------------------------------------------- */

/* relu_forward(out, x, n, dtype): out[i] = max(x[i], 0) */
static PyObject *py_relu_forward(PyObject *self, PyObject *args) {
    Py_buffer out, x;
    Py_ssize_t n;
    int dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*ni", &out, &x, &n, &dtype)) return NULL;
    Py_BEGIN_ALLOW_THREADS
    st = dtype == ZOO_F32 ? relu_forward_f32(out.buf, x.buf, n) : relu_forward_f64(out.buf, x.buf, n);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&out);
    PyBuffer_Release(&x);
    return zoo_status_to_py(st, "relu_forward");
}

/* relu_backward(dx, dy, y, n, dtype): dx[i] += y[i] > 0 ? dy[i] : 0 */
static PyObject *py_relu_backward(PyObject *self, PyObject *args) {
    Py_buffer dx, dy, y;
    Py_ssize_t n;
    int dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*y*ni", &dx, &dy, &y, &n, &dtype)) return NULL;
    Py_BEGIN_ALLOW_THREADS
    st = dtype == ZOO_F32 ? relu_backward_f32(dx.buf, dy.buf, y.buf, n)
                          : relu_backward_f64(dx.buf, dy.buf, y.buf, n);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&dx);
    PyBuffer_Release(&dy);
    PyBuffer_Release(&y);
    return zoo_status_to_py(st, "relu_backward");
}

PyMethodDef zoo_act_methods[] = {
    {"relu_forward", py_relu_forward, METH_VARARGS, "relu_forward(out, x, n, dtype)"},
    {"relu_backward", py_relu_backward, METH_VARARGS, "relu_backward(dx, dy, y, n, dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------ */

/* Vectorisable inner loops carry ZOO_MULTIVERSION; the OpenMP loop around them cuts the
 * array into chunks, so each thread runs the best clone for the CPU. */
ZOO_MULTIVERSION static void S(relu_fwd_chunk)(T *out, const T *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : (T)0;
}

/* relu forward: out[i] = max(x[i], 0); x, out (n,). Overwrites out (may alias x). */
static int S(relu_forward)(T *out, const T *x, int64_t n) {
    int64_t chunks = (n + 16383) / 16384;
    #pragma omp parallel for if (chunks > 1)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t lo = c * 16384, hi = lo + 16384 < n ? lo + 16384 : n;
        S(relu_fwd_chunk)(out + lo, x + lo, hi - lo);
    }
    return ZOO_OK;
}

ZOO_MULTIVERSION static void S(relu_bwd_chunk)(T *restrict dx, const T *restrict dy, const T *restrict y,
                                               int64_t n) {
    for (int64_t i = 0; i < n; i++) dx[i] += y[i] > 0 ? dy[i] : (T)0;
}

/* relu backward: dx[i] += dy[i] where y[i] > 0; dx, dy, y (n,). Adds into dx. */
static int S(relu_backward)(T *dx, const T *dy, const T *y, int64_t n) {
    int64_t chunks = (n + 16383) / 16384;
    #pragma omp parallel for if (chunks > 1)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t lo = c * 16384, hi = lo + 16384 < n ? lo + 16384 : n;
        S(relu_bwd_chunk)(dx + lo, dy + lo, y + lo, hi - lo);
    }
    return ZOO_OK;
}

#endif
