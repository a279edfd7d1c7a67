/* comm.c: kernels of the all-reduce wire: bfloat16 packing and the sums of received chunks.
 *
 * - bf16_pack:    dst[i] = bf16(src[i]), the top 16 bits of the float32 rounded to nearest even
 *                 (NaN stays a quiet NaN of the same sign; values that round past the largest
 *                 finite bf16 become inf, as in every bf16 conversion). src (n,) float32, dst (n,)
 *                 uint16.
 * - bf16_unpack:  dst[i] = float32(src[i]) (exact: the 16 bits become the top half). Overwrites dst.
 * - bf16_add:     dst[i] += float32(src[i]).
 * - add:          dst[i] += src[i] for float32 or float64 buffers (a received chunk into the
 *                 owner's partial sum).
 *
 * All loops are elementwise, split over what they write (no reductions), so results do not
 * depend on the thread count. `add` is built for float and double from one source (see zoo_template.h);
 * the bf16 kernels are float32 by definition.
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

/* elements per OpenMP block */
#define ZOO_COMM_BLOCK 16384

/* the thread count of a loop over n elements: one below two blocks */
#define COMM_THREADS(threads, n) ((n) < 2 * ZOO_COMM_BLOCK ? 1 : (threads))

#define ZOO_TEMPLATE "comm.c"
#include "zoo_template.h"

/* float32 -> bfloat16, round to nearest even; NaN -> quiet NaN. */
static inline uint16_t zoo_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t nan = (u & 0x7fffffffu) > 0x7f800000u;
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t quiet = (u >> 16) | 0x0040u;
    return (uint16_t)(nan ? quiet : rounded);
}

static inline float zoo_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

ZOO_MULTIVERSION static void bf16_pack_block(uint16_t *restrict dst, const float *restrict src, int64_t lo,
                                             int64_t hi) {
    for (int64_t i = lo; i < hi; i++) dst[i] = zoo_f32_to_bf16(src[i]);
}

ZOO_MULTIVERSION static void bf16_unpack_block(float *restrict dst, const uint16_t *restrict src, int64_t lo,
                                               int64_t hi) {
    for (int64_t i = lo; i < hi; i++) dst[i] = zoo_bf16_to_f32(src[i]);
}

ZOO_MULTIVERSION static void bf16_add_block(float *restrict dst, const uint16_t *restrict src, int64_t lo,
                                            int64_t hi) {
    for (int64_t i = lo; i < hi; i++) dst[i] += zoo_bf16_to_f32(src[i]);
}

/* kind 0: pack, 1: unpack, 2: add */
static int bf16_run(int kind, void *dst, const void *src, int64_t n, int threads) {
    ZOO_FOR_BLOCKS(0, n, ZOO_COMM_BLOCK, COMM_THREADS(threads, n), a, b, {
        if (kind == 0)
            bf16_pack_block((uint16_t *)dst, (const float *)src, a, b);
        else if (kind == 1)
            bf16_unpack_block((float *)dst, (const uint16_t *)src, a, b);
        else
            bf16_add_block((float *)dst, (const uint16_t *)src, a, b);
    });
    return ZOO_OK;
}

/* Take dst (writable) and src buffers of n elements of dst_size and src_size bytes. */
static int comm_buffers(PyObject *args, const char *kernel, Py_buffer *dst, Py_buffer *src, Py_ssize_t *n,
                        int *threads, Py_ssize_t dst_size, Py_ssize_t src_size, int *dtype) {
    if (dtype != NULL) {
        if (!PyArg_ParseTuple(args, "w*y*nii", dst, src, n, dtype, threads)) return -1;
        if (zoo_check_dtype(*dtype, kernel) < 0) goto fail;
        dst_size = src_size = *dtype == ZOO_F32 ? 4 : 8;
    } else if (!PyArg_ParseTuple(args, "w*y*ni", dst, src, n, threads)) {
        return -1;
    }
    if (*n < 0 || dst->len < *n * dst_size || src->len < *n * src_size) {
        PyErr_Format(PyExc_ValueError, "%s: buffers hold fewer than %zd elements", kernel, *n);
        goto fail;
    }
    if (zoo_ranges_overlap(dst->buf, dst->len, src->buf, src->len)) {
        PyErr_Format(PyExc_ValueError, "%s: dst and src overlap", kernel);
        goto fail;
    }
    return 0;
fail:
    PyBuffer_Release(dst);
    PyBuffer_Release(src);
    return -1;
}

/* The bf16 kernel `kind` (see bf16_run) on dst and src of dst_size and src_size bytes per element. */
static PyObject *bf16_wrapper(PyObject *args, int kind, const char *k, Py_ssize_t dst_size, Py_ssize_t src_size) {
    Py_buffer dst, src;
    Py_ssize_t n;
    int threads, st;
    if (comm_buffers(args, k, &dst, &src, &n, &threads, dst_size, src_size, NULL) < 0) return NULL;
    ZOO_CALL(st, bf16_run(kind, dst.buf, src.buf, n, threads));
    PyBuffer_Release(&dst);
    PyBuffer_Release(&src);
    return zoo_status_to_py(st, k);
}

/* bf16_pack(dst uint16 (n,), src float32 (n,), n, threads) */
static PyObject *py_bf16_pack(PyObject *self, PyObject *args) { return bf16_wrapper(args, 0, "bf16_pack", 2, 4); }

/* bf16_unpack(dst float32 (n,), src uint16 (n,), n, threads) */
static PyObject *py_bf16_unpack(PyObject *self, PyObject *args) { return bf16_wrapper(args, 1, "bf16_unpack", 4, 2); }

/* bf16_add(dst float32 (n,), src uint16 (n,), n, threads): dst += float32(src) */
static PyObject *py_bf16_add(PyObject *self, PyObject *args) { return bf16_wrapper(args, 2, "bf16_add", 4, 2); }

/* add(dst (n,), src (n,), n, dtype, threads): dst += src */
static PyObject *py_add(PyObject *self, PyObject *args) {
    Py_buffer dst, src;
    Py_ssize_t n;
    int threads, dtype, st;
    if (comm_buffers(args, "comm_add", &dst, &src, &n, &threads, 0, 0, &dtype) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, add, dst.buf, src.buf, n, threads);
    PyBuffer_Release(&dst);
    PyBuffer_Release(&src);
    return zoo_status_to_py(st, "comm_add");
}

PyMethodDef zoo_comm_methods[] = {
    {"bf16_pack", py_bf16_pack, METH_VARARGS, "bf16_pack(dst u16, src f32, n, threads): round to nearest even"},
    {"bf16_unpack", py_bf16_unpack, METH_VARARGS, "bf16_unpack(dst f32, src u16, n, threads)"},
    {"bf16_add", py_bf16_add, METH_VARARGS, "bf16_add(dst f32, src u16, n, threads): dst += float(src)"},
    {"comm_add", py_add, METH_VARARGS, "comm_add(dst, src, n, dtype, threads): dst += src"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------ */

ZOO_MULTIVERSION static void S(add_block)(T *restrict dst, const T *restrict src, int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) dst[i] += src[i];
}

/* dst[i] += src[i] over (n,) */
static int S(add)(T *dst, const T *src, int64_t n, int threads) {
    ZOO_FOR_BLOCKS(0, n, ZOO_COMM_BLOCK, COMM_THREADS(threads, n), a, b, S(add_block)(dst, src, a, b););
    return ZOO_OK;
}

#endif
