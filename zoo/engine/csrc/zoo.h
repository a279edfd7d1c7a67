/* zoo.h: shared declarations of zoo's C kernels.
 *
 * Conventions (see STYLE.md):
 * - every kernel returns ZOO_OK or a negative status; none prints or exits;
 * - forward kernels overwrite their output, backward kernels add into dx/dw/db;
 * - float and double versions come from one source: a family file includes itself twice
 *   with T/S() defined, through zoo_template.h (see there); the Python wrappers pick one by
 *   dtype code (ZOO_DISPATCH);
 * - the Python wrappers take buffers (PEP 3118) and plain integers; zoo/engine/kernels/
 *   checks every shape, dtype and contiguity before calling, so C trusts its arguments;
 * - the GIL is released around every kernel.
 */
#ifndef ZOO_H
#define ZOO_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define ZOO_OK 0
#define ZOO_EINVAL (-1)
#define ZOO_ENOMEM (-2)

/* dtype codes shared with kernels/_common.py; ZOO_BYTES takes a buffer of raw bytes (format 'B') */
#define ZOO_F32 0
#define ZOO_F64 1
#define ZOO_BYTES (-1)

/* Function multiversioning: the loader picks the best clone for the CPU at run time. */
#if defined(ZOO_X86_64) && defined(__GNUC__) && !defined(__clang__)
#define ZOO_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ZOO_MULTIVERSION
#endif

/* Floating-point exceptions are masked (Python never enables traps), so a family file may let GCC
 * assume that no operation traps (put this after the includes): it can then turn the selects of
 * its loops into blends and vectorise them. Results are unchanged (this is not fast-math). */
#define ZOO_NO_TRAPPING_MATH _Pragma("GCC optimize(\"no-trapping-math\")")

#include "zoo_parallel.h"

/* ---- Python wrappers ------------------------------------------------------------------------- */

/* Status from a kernel -> Python exception (NULL) or None. */
static inline PyObject *zoo_status_to_py(int status, const char *kernel) {
    if (status == ZOO_OK) Py_RETURN_NONE;
    if (status == ZOO_ENOMEM) return PyErr_NoMemory();
    PyErr_Format(PyExc_ValueError, "zoo kernel %s: invalid arguments (status %d)", kernel, status);
    return NULL;
}

/* st = the kernel call in the arguments, without the GIL */
#define ZOO_CALL(st, ...)      \
    do {                       \
        Py_BEGIN_ALLOW_THREADS \
        st = __VA_ARGS__;      \
        Py_END_ALLOW_THREADS   \
    } while (0)

/* st = the float kernel name_f32 or the double kernel name_f64 (any dtype code other than ZOO_F32)
 * called without the GIL; the arguments convert to each kernel's types. */
#define ZOO_DISPATCH(st, dtype, name, ...)            \
    do {                                              \
        if ((dtype) == ZOO_F32)                       \
            ZOO_CALL(st, name##_f32(__VA_ARGS__));    \
        else                                          \
            ZOO_CALL(st, name##_f64(__VA_ARGS__));    \
    } while (0)

/* Argument checks shared by the wrappers (args.c). Each returns < 0 / NULL with a Python error set
 * and nothing held.
 * zoo_take_buffer: acquire `o` into *v as a C-contiguous buffer of `count` elements of dtype `type`
 *   (ZOO_F32, ZOO_F64 or ZOO_BYTES), writable if asked; None leaves v->buf NULL when `optional`.
 * zoo_take_index: the same for an integer index buffer of `bits` (32 or 64) bits.
 * zoo_release_buffers: release those of v[0..n) that are held.
 * zoo_ranges_overlap: whether two byte ranges overlap (NULL or empty never does).
 * zoo_outputs_overlap: whether one of v[0..nout) overlaps another of v[0..n).
 * zoo_count3 / zoo_count: the product of non-negative sizes, without overflow.
 * zoo_check_dtype: a valid dtype code.
 * zoo_overlap_error: release v[0..n) and raise the error for overlapping outputs. */
int zoo_take_buffer(PyObject *o, Py_buffer *v, int type, int64_t count, int writable, int optional, const char *kernel,
                    const char *name);
int zoo_take_index(PyObject *o, Py_buffer *v, int bits, int64_t count, int writable, const char *kernel,
                   const char *name);
void zoo_release_buffers(Py_buffer *v, int n);
int zoo_ranges_overlap(const void *a, int64_t na, const void *b, int64_t nb);
int zoo_outputs_overlap(const Py_buffer *v, int nout, int n);
int zoo_count(const int64_t *sizes, int n, int64_t *count);
int zoo_count3(int64_t a, int64_t b, int64_t c, int64_t *n);
int zoo_check_dtype(int dtype, const char *kernel);
PyObject *zoo_overlap_error(Py_buffer *v, int n, const char *kernel);

/* One buffer argument of a wrapper: object, element count, writable, optional (None allowed), name,
 * and element type: the call's dtype (ZOO_ELEM_DTYPE, 0, the default), bytes, or int32 / int64
 * indices (never optional). */
enum { ZOO_ELEM_DTYPE = 0, ZOO_ELEM_BYTES, ZOO_ELEM_I32, ZOO_ELEM_I64 };
typedef struct {
    PyObject *o;
    int64_t count;
    int writable, optional;
    const char *name;
    int elem;
} zoo_arg;

/* zoo_take_args: take the n buffers a[i] (of dtype `type` unless a[i].elem says otherwise) into v, in order.
 * zoo_take_all: the same, then check that no writable one overlaps another; the writable
 * arguments come first. */
int zoo_take_args(const zoo_arg *a, Py_buffer *v, int n, int type, const char *kernel);
int zoo_take_all(const zoo_arg *a, Py_buffer *v, int n, int type, const char *kernel);

/* Method tables of the kernel families; each family file defines one (NULL-terminated) and module.c
 * lists them. */
extern PyMethodDef zoo_core_methods[];
extern PyMethodDef zoo_act_methods[];
extern PyMethodDef zoo_softmax_methods[];
extern PyMethodDef zoo_conv_methods[];
extern PyMethodDef zoo_depthwise_methods[];
extern PyMethodDef zoo_winograd_methods[];
extern PyMethodDef zoo_pool_methods[];
extern PyMethodDef zoo_norm_methods[];
extern PyMethodDef zoo_dropout_methods[];
extern PyMethodDef zoo_optim_methods[];
extern PyMethodDef zoo_reduce_methods[];
extern PyMethodDef zoo_rnn_methods[];
extern PyMethodDef zoo_gru_methods[];
extern PyMethodDef zoo_embedding_methods[];
extern PyMethodDef zoo_conv3d_methods[];
extern PyMethodDef zoo_pool3d_methods[];
extern PyMethodDef zoo_resize_methods[];
extern PyMethodDef zoo_comm_methods[];
extern PyMethodDef zoo_quant_methods[];

#endif
