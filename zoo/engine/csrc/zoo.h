/* zoo.h: shared declarations of zoo's C kernels.
 *
 * Conventions (see STYLE.md):
 * - every kernel returns ZOO_OK or a negative status; none prints or exits;
 * - forward kernels overwrite their output, backward kernels add into dx/dw/db;
 * - float and double versions come from one source: a family file includes itself
 *   twice with T/S() defined (see act.c), the Python wrappers pick one by dtype code;
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
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define ZOO_OK 0
#define ZOO_EINVAL (-1)
#define ZOO_ENOMEM (-2)

/* dtype codes shared with kernels/_common.py */
#define ZOO_F32 0
#define ZOO_F64 1

/* Function multiversioning: the loader picks the best clone for the CPU at run time. */
#if defined(ZOO_X86_64) && defined(__GNUC__) && !defined(__clang__)
#define ZOO_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ZOO_MULTIVERSION
#endif

/* Status from a kernel -> Python exception (NULL) or None. */
static inline PyObject *zoo_status_to_py(int status, const char *kernel) {
    if (status == ZOO_OK) Py_RETURN_NONE;
    if (status == ZOO_ENOMEM) return PyErr_NoMemory();
    PyErr_Format(PyExc_ValueError, "zoo kernel %s: invalid arguments (status %d)", kernel, status);
    return NULL;
}

/* Argument checks shared by the wrappers (defined in act.c): take a buffer of `count` elements of
 * dtype `type` (C-contiguous, writable if asked; `optional` accepts None), release several, tell
 * whether two byte ranges overlap, multiply three counts without overflow, check a dtype code,
 * and raise the error for overlapping outputs. Each returns < 0 / NULL with a Python error set. */
int zoo_take_buffer(PyObject *o, Py_buffer *v, int type, int64_t count, int writable, int optional, const char *kernel,
                    const char *name);
void zoo_release_buffers(Py_buffer *v, int n);
int zoo_ranges_overlap(const void *a, int64_t na, const void *b, int64_t nb);
int zoo_count3(int64_t a, int64_t b, int64_t c, int64_t *n);
int zoo_check_dtype(int dtype, const char *kernel);
PyObject *zoo_overlap_error(Py_buffer *v, int n, const char *kernel);

/* Method tables of the kernel families; each family file defines one (NULL-terminated). */
extern PyMethodDef zoo_core_methods[];
extern PyMethodDef zoo_act_methods[];
extern PyMethodDef zoo_conv_methods[];
extern PyMethodDef zoo_pool_methods[];
extern PyMethodDef zoo_norm_methods[];
extern PyMethodDef zoo_optim_methods[];
extern PyMethodDef zoo_reduce_methods[];
extern PyMethodDef zoo_rnn_methods[];
extern PyMethodDef zoo_conv3d_methods[];
extern PyMethodDef zoo_comm_methods[];
extern PyMethodDef zoo_quant_methods[];

#endif
