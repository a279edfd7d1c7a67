/* args.c: argument checks shared by the Python wrappers (declared in zoo.h).
 *
 * The wrappers check their buffers themselves (element type, count, C order, writability,
 * overlap) before any work, so a call either runs on valid memory or raises without side
 * effects; zoo/engine/kernels/ then explains a refusal in the caller's words. */
#include "zoo.h"

/* Strip a byte-order prefix from a buffer's format ("B" when it has none). */
static const char *zoo_format(const Py_buffer *v) {
    const char *f = v->format ? v->format : "B";
    if (*f == '<' || *f == '=' || *f == '@') f++;
    return f;
}

/* Give up a buffer taken by PyObject_GetBuffer (after an exception was set). */
static int zoo_drop(Py_buffer *v) {
    PyBuffer_Release(v);
    v->obj = NULL;
    v->buf = NULL;
    return -1;
}

/* Acquire `o` into *v as a C-contiguous buffer of `count` elements of `type` (ZOO_F32, ZOO_F64,
 * or ZOO_BYTES), writable if `writable`; None leaves v->buf NULL when `optional`. Returns 0,
 * or -1 with an exception set and nothing held. */
int zoo_take_buffer(PyObject *o, Py_buffer *v, int type, int64_t count, int writable, int optional, const char *kernel,
                    const char *name) {
    v->obj = NULL;
    v->buf = NULL;
    if (o == Py_None) {
        if (optional) return 0;
        PyErr_Format(PyExc_ValueError, "%s: %s is required", kernel, name);
        return -1;
    }
    if (PyObject_GetBuffer(o, v, PyBUF_FORMAT | PyBUF_ND | (writable ? PyBUF_WRITABLE : 0)) < 0) {
        v->obj = NULL;
        return -1;
    }
    const char *f = zoo_format(v);
    const char want = type == ZOO_F32 ? 'f' : type == ZOO_F64 ? 'd' : 'B';
    const Py_ssize_t size = type == ZOO_F32 ? 4 : type == ZOO_F64 ? 8 : 1;
    if (!PyBuffer_IsContiguous(v, 'C'))
        PyErr_Format(PyExc_ValueError, "%s: %s must be C-contiguous", kernel, name);
    else if (f[0] != want || f[1] != '\0' || v->itemsize != size)
        PyErr_Format(PyExc_TypeError, "%s: %s has element format '%s', expected '%c'", kernel, name,
                     v->format ? v->format : "B", want);
    else if (count < 0 || v->len != count * size)
        PyErr_Format(PyExc_ValueError, "%s: %s has %zd elements, expected %lld", kernel, name, v->len / size,
                     (long long)count);
    else
        return 0;
    return zoo_drop(v);
}

/* An index buffer of `count` C-contiguous integers of `bits` bits: int32 (format 'i') or int64
 * ('q' or 'l'), writable if asked. Returns 0, or -1 with an exception set and nothing held. */
int zoo_take_index(PyObject *o, Py_buffer *v, int bits, int64_t count, int writable, const char *kernel,
                   const char *name) {
    v->obj = NULL;
    v->buf = NULL;
    if (PyObject_GetBuffer(o, v, PyBUF_FORMAT | PyBUF_ND | (writable ? PyBUF_WRITABLE : 0)) < 0) {
        v->obj = NULL;
        return -1;
    }
    const char *f = zoo_format(v);
    const Py_ssize_t size = bits / 8;
    const int format_ok = bits == 32 ? f[0] == 'i' : (f[0] == 'q' || f[0] == 'l');
    if (!PyBuffer_IsContiguous(v, 'C'))
        PyErr_Format(PyExc_ValueError, "%s: %s must be C-contiguous", kernel, name);
    else if (!format_ok || f[1] != '\0' || v->itemsize != size)
        PyErr_Format(PyExc_TypeError,
                     bits == 32 ? "%s: %s must hold int32, got format '%s'"
                                : "%s: %s must be int64, got element format '%s'",
                     kernel, name, v->format ? v->format : "B");
    else if (v->len != count * size)
        PyErr_Format(PyExc_ValueError, "%s: %s has %zd elements, expected %lld", kernel, name, v->len / size,
                     (long long)count);
    else
        return 0;
    return zoo_drop(v);
}

void zoo_release_buffers(Py_buffer *v, int n) {
    for (int i = 0; i < n; i++)
        if (v[i].obj != NULL) {
            PyBuffer_Release(&v[i]);
            v[i].obj = NULL;
        }
}

/* Whether two byte ranges overlap (NULL or empty never does). */
int zoo_ranges_overlap(const void *a, int64_t na, const void *b, int64_t nb) {
    if (a == NULL || b == NULL || na == 0 || nb == 0) return 0;
    const char *pa = (const char *)a, *pb = (const char *)b;
    return pa < pb + nb && pb < pa + na;
}

/* Whether any of the outputs v[0..nout) overlaps another of v[0..n). */
int zoo_outputs_overlap(const Py_buffer *v, int nout, int n) {
    for (int i = 0; i < nout; i++)
        for (int j = i + 1; j < n; j++)
            if (zoo_ranges_overlap(v[i].buf, v[i].len, v[j].buf, v[j].len)) return 1;
    return 0;
}

/* *count = the product of the n sizes, each non-negative, if it fits; else -1 with an exception. */
int zoo_count(const int64_t *sizes, int n, int64_t *count) {
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        if (sizes[i] < 0 || __builtin_mul_overflow(p, sizes[i], &p)) {
            PyErr_SetString(PyExc_ValueError, "zoo kernel: sizes must be non-negative and their product must fit");
            return -1;
        }
    *count = p;
    return 0;
}

/* n = a * b * c for non-negative sizes that do not overflow; else -1 with an exception. */
int zoo_count3(int64_t a, int64_t b, int64_t c, int64_t *n) {
    const int64_t sizes[3] = {a, b, c};
    return zoo_count(sizes, 3, n);
}

/* 0 for a valid dtype code, else -1 with an exception */
int zoo_check_dtype(int dtype, const char *kernel) {
    if (dtype == ZOO_F32 || dtype == ZOO_F64) return 0;
    PyErr_Format(PyExc_ValueError, "%s: dtype code must be %d (float32) or %d (float64), got %d", kernel, ZOO_F32,
                 ZOO_F64, dtype);
    return -1;
}

/* release the buffers and raise the overlap error */
PyObject *zoo_overlap_error(Py_buffer *v, int n, const char *kernel) {
    zoo_release_buffers(v, n);
    PyErr_Format(PyExc_ValueError, "%s: an output overlaps another argument", kernel);
    return NULL;
}

/* Take the n buffers a[i] into v[i], in order; on a refusal release those taken. */
int zoo_take_args(const zoo_arg *a, Py_buffer *v, int n, int type, const char *kernel) {
    for (int i = 0; i < n; i++) v[i].obj = NULL, v[i].buf = NULL;
    for (int i = 0; i < n; i++)
        if ((a[i].elem == ZOO_ELEM_I32 || a[i].elem == ZOO_ELEM_I64
                 ? zoo_take_index(a[i].o, &v[i], a[i].elem == ZOO_ELEM_I32 ? 32 : 64, a[i].count, a[i].writable,
                                  kernel, a[i].name)
                 : zoo_take_buffer(a[i].o, &v[i], a[i].elem == ZOO_ELEM_BYTES ? ZOO_BYTES : type, a[i].count,
                                   a[i].writable, a[i].optional, kernel, a[i].name)) < 0) {
            zoo_release_buffers(v, n);
            return -1;
        }
    return 0;
}

/* Take the n buffers and check that no writable one (they come first) overlaps another. */
int zoo_take_all(const zoo_arg *a, Py_buffer *v, int n, int type, const char *kernel) {
    int nout = 0;
    while (nout < n && a[nout].writable) nout++;
    for (int i = nout; i < n; i++)
        if (a[i].writable) {
            PyErr_Format(PyExc_SystemError, "%s: writable argument %s must come first", kernel, a[i].name);
            return -1;
        }
    if (zoo_take_args(a, v, n, type, kernel) < 0) return -1;
    if (zoo_outputs_overlap(v, nout, n)) {
        zoo_overlap_error(v, n, kernel);
        return -1;
    }
    return 0;
}
