/* core.c: threads and build facts. */
#include "zoo.h"

static PyObject *py_set_num_threads(PyObject *self, PyObject *args) {
    int n;
    if (!PyArg_ParseTuple(args, "i", &n)) return NULL;
#ifdef _OPENMP
    if (n > 0) omp_set_num_threads(n);
#endif
    Py_RETURN_NONE;
}

static PyObject *py_get_num_threads(PyObject *self, PyObject *noargs) {
#ifdef _OPENMP
    return PyLong_FromLong(omp_get_max_threads());
#else
    return PyLong_FromLong(1);
#endif
}

static PyObject *py_has_openmp(PyObject *self, PyObject *noargs) {
#ifdef _OPENMP
    Py_RETURN_TRUE;
#else
    Py_RETURN_FALSE;
#endif
}

/* Which instruction set the multiversioned kernels run with on this CPU. */
static PyObject *py_cpu_isa(PyObject *self, PyObject *noargs) {
#if defined(ZOO_X86_64) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return PyUnicode_FromString("avx512");
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return PyUnicode_FromString("avx2");
    return PyUnicode_FromString("x86-64");
#else
    return PyUnicode_FromString("generic");
#endif
}

PyMethodDef zoo_core_methods[] = {
    {"set_num_threads", py_set_num_threads, METH_VARARGS, "set_num_threads(n): OpenMP threads of zoo's kernels."},
    {"get_num_threads", py_get_num_threads, METH_NOARGS, "get_num_threads() -> OpenMP threads of zoo's kernels."},
    {"has_openmp", py_has_openmp, METH_NOARGS, "has_openmp() -> whether the extension was built with OpenMP."},
    {"cpu_isa", py_cpu_isa, METH_NOARGS, "cpu_isa() -> instruction set the kernels dispatch to."},
    {NULL, NULL, 0, NULL}};
