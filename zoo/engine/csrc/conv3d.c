/* conv3d.c: the loops around 3-D convolution GEMMs (vol2col / col2vol), 3-D max and average
 * pooling, nearest upsampling and bilinear resizing.
 *
 * Geometry g[19] of one 3-D convolution or pooling window walk over x (N, C, D, H, W):
 *   g = {C, D, H, W, KD, KH, KW, sd, sh, sw, dd, dh, dw, pf, pt, pl, OD, OH, OW}
 * (pf, pt, pl: front, top and left padding; back/bottom/right padding shows through OD, OH,
 * OW only). Output position p = (od*OH + oh)*OW + ow with kernel tap t = (a*KH + b)*KW + e
 * reads the voxel (od*sd - pf + a*dd, oh*sh - pt + b*dh, ow*sw - pl + e*dw), 0 outside the
 * volume. 2-D and 1-D layers use D = 1 (and H = 1).
 *
 * Column buffer of images n0 <= n < n1 (nb = n1 - n0): row r = c*KD*KH*KW + t; element
 * (r, n - n0, p) lives at r*rs + (n - n0)*ns + p*ps, so one kernel fills the "rows" layout
 * (R, nb, P) used by one GEMM per chunk, the "images" layout (nb, R, P), and the
 * "positions" layout (P, nb, R) used by locally connected layers (one GEMM per position).
 *
 * Parallel loops split over what they write: vol2col over (image, row) pairs, col2vol and
 * pooling backward over (image, channel) planes, so sums run in a fixed order and results
 * do not depend on the number of threads.
 *
 * Nearest upsampling views x as (outer, D, H, W, inner) and repeats D, H, W by (sd, sh, sw).
 *
 * Bilinear resize views x as (outer, H, W, inner): NCHW is (N*C, H, W, 1), NHWC is
 * (N, H, W, C). Source coordinates follow TensorFlow's resize_bilinear (float arithmetic):
 * scale = in/out, or (in - 1)/(out - 1) with align_corners; src = dst*scale, or
 * (dst + 0.5)*scale - 0.5 with half-pixel centers; lower = max(floor(src), 0),
 * upper = min(ceil(src), in - 1), lerp = src - floor(src).
 *
 * Built for float and double from one source (see zoo_template.h).
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

/* window [lo, hi) of outputs along one axis whose tap stays inside [0, size):
 * o*s + off in [0, size) */
static inline void c3_valid(int64_t off, int64_t s, int64_t size, int64_t n_out, int64_t *lo, int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = size - 1 - off < 0 ? 0 : (size - 1 - off) / s + 1;
    if (l > n_out) l = n_out;
    if (h > n_out) h = n_out;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

/* resize tables for out positions of an axis of size in (see the file comment) */
static void c3_resize_table(int64_t out, int64_t in, int align, int half, int64_t *lower, int64_t *upper,
                            float *lerp) {
    const float scale = (align && out > 1) ? (float)(in - 1) / (float)(out - 1) : (float)in / (float)out;
    for (int64_t i = 0; i < out; i++) {
        const float v = half ? ((float)i + 0.5f) * scale - 0.5f : (float)i * scale;
        const float fl = floorf(v);
        int64_t lo = (int64_t)fl, up = (int64_t)ceilf(v);
        if (lo < 0) lo = 0;
        if (lo > in - 1) lo = in - 1;
        if (up > in - 1) up = in - 1;
        if (up < 0) up = 0;
        lower[i] = lo;
        upper[i] = up;
        lerp[i] = v - fl;
    }
}

#define C3_PAR 32768 /* below this much work, run on one thread */

#define ZOO_TEMPLATE "conv3d.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------- */

/* a tuple of n ints into g; -1 with an exception otherwise */
static int c3_ints(PyObject *o, int64_t *g, int n, const char *kernel) {
    if (!PyTuple_Check(o) || PyTuple_GET_SIZE(o) != n) {
        PyErr_Format(PyExc_ValueError, "%s: geometry must be a tuple of %d ints", kernel, n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        g[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(o, i));
        if (g[i] == -1 && PyErr_Occurred()) return -1;
    }
    return 0;
}

/* geometry checks: positive sizes, kernel, strides, dilations and outputs; non-negative pads;
 * everything below 2^31 so index arithmetic never overflows */
static int c3_geometry(PyObject *o, int64_t *g, const char *kernel) {
    if (c3_ints(o, g, 19, kernel) < 0) return -1;
    for (int i = 0; i < 19; i++) {
        const int64_t low = (i >= 13 && i <= 15) ? 0 : 1;
        if (g[i] < low || g[i] > INT32_MAX) {
            PyErr_Format(PyExc_ValueError, "%s: geometry entry %d must lie in [%lld, 2^31), got %lld", kernel, i,
                         (long long)low, (long long)g[i]);
            return -1;
        }
    }
    int64_t plane, out;
    if (zoo_count(g + 1, 3, &plane) < 0 || zoo_count(g + 16, 3, &out) < 0) return -1;
    if (plane > INT32_MAX || out > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "%s: a plane of %lld voxels or %lld outputs exceeds 2^31", kernel,
                     (long long)plane, (long long)out);
        return -1;
    }
    return 0;
}

/* the shared part of im2col3d / col2im3d: sizes, the chunk range and the column strides */
static int c3_col_args(const int64_t *g, int64_t N, int64_t n0, int64_t n1, int64_t rs, int64_t ns, int64_t ps,
                       int64_t *xcount, int64_t *ccount, const char *kernel) {
    if (N < 1 || n0 < 0 || n1 <= n0 || n1 > N) {
        PyErr_Format(PyExc_ValueError, "%s: expected 0 <= n0 < n1 <= N, got n0=%lld, n1=%lld, N=%lld", kernel,
                     (long long)n0, (long long)n1, (long long)N);
        return -1;
    }
    int64_t xs[5] = {N, g[0], g[1], g[2], g[3]};
    int64_t cs[6] = {g[0], g[4] * g[5], g[6], n1 - n0, g[16] * g[17], g[18]};
    if (zoo_count(xs, 5, xcount) < 0 || zoo_count(cs, 6, ccount) < 0) return -1;
    const int64_t R = g[0] * g[4] * g[5] * g[6], P = g[16] * g[17] * g[18], nb = n1 - n0;
    int64_t last, t;
    if (rs < 1 || ns < 1 || ps < 1 || __builtin_mul_overflow(R - 1, rs, &last) ||
        __builtin_mul_overflow(nb - 1, ns, &t) || __builtin_add_overflow(last, t, &last) ||
        __builtin_mul_overflow(P - 1, ps, &t) || __builtin_add_overflow(last, t, &last) || last >= *ccount) {
        PyErr_Format(PyExc_ValueError, "%s: column strides (%lld, %lld, %lld) do not fit a (%lld, %lld, %lld) buffer",
                     kernel, (long long)rs, (long long)ns, (long long)ps, (long long)R, (long long)nb, (long long)P);
        return -1;
    }
    return 0;
}

/* n sizes from a Python sequence, each in [1, 2^31), into s */
static int c3_sizes(PyObject *o, int64_t *s, int n, const char *kernel) {
    if (c3_ints(o, s, n, kernel) < 0) return -1;
    for (int i = 0; i < n; i++)
        if (s[i] < 1 || s[i] > INT32_MAX) {
            PyErr_Format(PyExc_ValueError, "%s: sizes must lie in [1, 2^31), got entry %d = %lld", kernel, i,
                         (long long)s[i]);
            return -1;
        }
    return 0;
}

/* The output buffer o[0] (writable, oc elements) into v[0] and the input o[1] (ic elements) into v[1];
 * they must not overlap. Returns 0, or -1 with an exception set and nothing held. */
static int c3_take_pair(PyObject **o, Py_buffer *v, int dtype, int64_t oc, int64_t ic, const char *k,
                        const char *oname, const char *iname) {
    const zoo_arg a[2] = {{o[0], oc, 1, 0, oname}, {o[1], ic, 0, 0, iname}};
    return zoo_take_all(a, v, 2, dtype, k);
}

/* im2col3d(col, x, N, n0, n1, geometry, rs, ns, ps, nthreads, dtype) */
static PyObject *py_im2col3d(PyObject *self, PyObject *args) {
    PyObject *o[2], *geo;
    Py_ssize_t N, n0, n1, rs, ns, ps;
    int nthreads, dtype, st;
    int64_t g[19], xc, cc;
    Py_buffer v[2];
    const char *k = "im2col3d";
    if (!PyArg_ParseTuple(args, "OOnnnOnnnii", &o[0], &o[1], &N, &n0, &n1, &geo, &rs, &ns, &ps, &nthreads, &dtype))
        return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || c3_geometry(geo, g, k) < 0 ||
        c3_col_args(g, N, n0, n1, rs, ns, ps, &xc, &cc, k) < 0)
        return NULL;
    if (c3_take_pair(o, v, dtype, cc, xc, k, "col", "x") < 0) return NULL;
    int team = zoo_team(nthreads);
    ZOO_DISPATCH(st, dtype, im2col3d, v[0].buf, v[1].buf, n0, n1, g, rs, ns, ps, team);
    zoo_release_buffers(v, 2);
    return zoo_status_to_py(st, k);
}

/* col2im3d(dx, col, N, n0, n1, geometry, rs, ns, ps, overwrite, nthreads, dtype) */
static PyObject *py_col2im3d(PyObject *self, PyObject *args) {
    PyObject *o[2], *geo;
    Py_ssize_t N, n0, n1, rs, ns, ps;
    int overwrite, nthreads, dtype, st;
    int64_t g[19], xc, cc;
    Py_buffer v[2];
    const char *k = "col2im3d";
    if (!PyArg_ParseTuple(args, "OOnnnOnnniii", &o[0], &o[1], &N, &n0, &n1, &geo, &rs, &ns, &ps, &overwrite,
                          &nthreads, &dtype))
        return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || c3_geometry(geo, g, k) < 0 ||
        c3_col_args(g, N, n0, n1, rs, ns, ps, &xc, &cc, k) < 0)
        return NULL;
    if (c3_take_pair(o, v, dtype, xc, cc, k, "dx", "col") < 0) return NULL;
    int team = zoo_team(nthreads);
    ZOO_DISPATCH(st, dtype, col2im3d, v[0].buf, v[1].buf, n0, n1, g, rs, ns, ps, overwrite, team);
    zoo_release_buffers(v, 2);
    return zoo_status_to_py(st, k);
}

/* pooling sizes: planes NC, x count, y count */
static int c3_pool_counts(const int64_t *g, int64_t N, int64_t *xc, int64_t *yc) {
    int64_t xs[5] = {N, g[0], g[1], g[2], g[3]}, ys[5] = {N, g[0], g[16], g[17], g[18]};
    return (zoo_count(xs, 5, xc) < 0 || zoo_count(ys, 5, yc) < 0) ? -1 : 0;
}

/* maxpool3d_forward(y, argmax, x, N, geometry, dtype) */
static PyObject *py_maxpool3d_forward(PyObject *self, PyObject *args) {
    PyObject *o[3], *geo;
    Py_ssize_t N;
    int dtype, st;
    int64_t g[19], xc, yc;
    Py_buffer v[3];
    const char *k = "maxpool3d_forward";
    if (!PyArg_ParseTuple(args, "OOOnOi", &o[0], &o[1], &o[2], &N, &geo, &dtype)) return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || c3_geometry(geo, g, k) < 0 || c3_pool_counts(g, N, &xc, &yc) < 0)
        return NULL;
    const zoo_arg a[3] = {{o[0], yc, 1, 0, "y"}, {o[1], yc, 1, 0, "argmax", ZOO_ELEM_I32}, {o[2], xc, 0, 0, "x"}};
    if (zoo_take_all(a, v, 3, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, maxpool3d_forward, v[0].buf, v[1].buf, v[2].buf, N * g[0], g);
    zoo_release_buffers(v, 3);
    return zoo_status_to_py(st, k);
}

/* maxpool3d_backward(dx, gy, argmax, N, geometry, overwrite, dtype) */
static PyObject *py_maxpool3d_backward(PyObject *self, PyObject *args) {
    PyObject *o[3], *geo;
    Py_ssize_t N;
    int overwrite, dtype, st;
    int64_t g[19], xc, yc;
    Py_buffer v[3];
    const char *k = "maxpool3d_backward";
    if (!PyArg_ParseTuple(args, "OOOnOii", &o[0], &o[1], &o[2], &N, &geo, &overwrite, &dtype)) return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || c3_geometry(geo, g, k) < 0 || c3_pool_counts(g, N, &xc, &yc) < 0)
        return NULL;
    const zoo_arg a[3] = {{o[0], xc, 1, 0, "dx"}, {o[1], yc, 0, 0, "gy"}, {o[2], yc, 0, 0, "argmax", ZOO_ELEM_I32}};
    if (zoo_take_all(a, v, 3, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, maxpool3d_backward, v[0].buf, v[1].buf, v[2].buf, N * g[0], g, overwrite);
    zoo_release_buffers(v, 3);
    return zoo_status_to_py(st, k);
}

/* avgpool3d_forward(y, x, N, geometry, (pk, pb, pr), count_include_pad, dtype) */
static PyObject *py_avgpool3d_forward(PyObject *self, PyObject *args) {
    PyObject *o[2], *geo, *after;
    Py_ssize_t N;
    int cip, dtype, st;
    int64_t g[19], pa[3], xc, yc;
    Py_buffer v[2];
    const char *k = "avgpool3d_forward";
    if (!PyArg_ParseTuple(args, "OOnOOii", &o[0], &o[1], &N, &geo, &after, &cip, &dtype)) return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || c3_geometry(geo, g, k) < 0 || c3_ints(after, pa, 3, k) < 0 ||
        c3_pool_counts(g, N, &xc, &yc) < 0)
        return NULL;
    if (c3_take_pair(o, v, dtype, yc, xc, k, "y", "x") < 0) return NULL;
    ZOO_DISPATCH(st, dtype, avgpool3d_forward, v[0].buf, v[1].buf, N * g[0], g, pa, cip);
    zoo_release_buffers(v, 2);
    return zoo_status_to_py(st, k);
}

/* avgpool3d_backward(dx, gy, N, geometry, (pk, pb, pr), count_include_pad, overwrite, dtype) */
static PyObject *py_avgpool3d_backward(PyObject *self, PyObject *args) {
    PyObject *o[2], *geo, *after;
    Py_ssize_t N;
    int cip, overwrite, dtype, st;
    int64_t g[19], pa[3], xc, yc;
    Py_buffer v[2];
    const char *k = "avgpool3d_backward";
    if (!PyArg_ParseTuple(args, "OOnOOiii", &o[0], &o[1], &N, &geo, &after, &cip, &overwrite, &dtype)) return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || c3_geometry(geo, g, k) < 0 || c3_ints(after, pa, 3, k) < 0 ||
        c3_pool_counts(g, N, &xc, &yc) < 0)
        return NULL;
    if (c3_take_pair(o, v, dtype, xc, yc, k, "dx", "gy") < 0) return NULL;
    ZOO_DISPATCH(st, dtype, avgpool3d_backward, v[0].buf, v[1].buf, N * g[0], g, pa, cip, overwrite);
    zoo_release_buffers(v, 2);
    return zoo_status_to_py(st, k);
}

/* resize sizes (outer, H, W, inner, OH, OW), all positive, into s; x and y counts */
static int c3_resize_args(PyObject *o, int64_t *s, int64_t *xc, int64_t *yc, const char *kernel) {
    if (c3_sizes(o, s, 6, kernel) < 0) return -1;
    int64_t xs[4] = {s[0], s[1], s[2], s[3]}, ys[4] = {s[0], s[4], s[5], s[3]};
    return (zoo_count(xs, 4, xc) < 0 || zoo_count(ys, 4, yc) < 0) ? -1 : 0;
}

/* resize_bilinear_forward(y, x, (outer, H, W, inner, OH, OW), align_corners, half_pixel, nthreads, dtype) */
static PyObject *py_resize_bilinear_forward(PyObject *self, PyObject *args) {
    PyObject *o[2], *sizes;
    int align, half, nthreads, dtype, st;
    int64_t s[6], xc, yc;
    Py_buffer v[2];
    const char *k = "resize_bilinear_forward";
    if (!PyArg_ParseTuple(args, "OOOiiii", &o[0], &o[1], &sizes, &align, &half, &nthreads, &dtype)) return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || c3_resize_args(sizes, s, &xc, &yc, k) < 0) return NULL;
    if (c3_take_pair(o, v, dtype, yc, xc, k, "y", "x") < 0) return NULL;
    int team = zoo_team(nthreads);
    ZOO_DISPATCH(st, dtype, resize_bilinear_forward, v[0].buf, v[1].buf, s, align, half, team);
    zoo_release_buffers(v, 2);
    return zoo_status_to_py(st, k);
}

/* resize_bilinear_backward(dx, gy, (outer, H, W, inner, OH, OW), align_corners, half_pixel, overwrite, nthreads,
 *                          dtype) */
static PyObject *py_resize_bilinear_backward(PyObject *self, PyObject *args) {
    PyObject *o[2], *sizes;
    int align, half, overwrite, nthreads, dtype, st;
    int64_t s[6], xc, yc;
    Py_buffer v[2];
    const char *k = "resize_bilinear_backward";
    if (!PyArg_ParseTuple(args, "OOOiiiii", &o[0], &o[1], &sizes, &align, &half, &overwrite, &nthreads, &dtype))
        return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || c3_resize_args(sizes, s, &xc, &yc, k) < 0) return NULL;
    if (c3_take_pair(o, v, dtype, xc, yc, k, "dx", "gy") < 0) return NULL;
    int team = zoo_team(nthreads);
    ZOO_DISPATCH(st, dtype, resize_bilinear_backward, v[0].buf, v[1].buf, s, align, half, overwrite, team);
    zoo_release_buffers(v, 2);
    return zoo_status_to_py(st, k);
}

/* upsampling sizes u = (outer, D, H, W, inner, sd, sh, sw), all positive; x and y counts */
static int c3_upsample_args(PyObject *o, int64_t *u, int64_t *xc, int64_t *yc, const char *kernel) {
    if (c3_sizes(o, u, 8, kernel) < 0) return -1;
    int64_t ys[8] = {u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7]};
    return (zoo_count(u, 5, xc) < 0 || zoo_count(ys, 8, yc) < 0) ? -1 : 0;
}

/* upsample_forward(y, x, (outer, D, H, W, inner, sd, sh, sw), nthreads, dtype) */
static PyObject *py_upsample_forward(PyObject *self, PyObject *args) {
    PyObject *o[2], *sizes;
    int nthreads, dtype, st;
    int64_t u[8], xc, yc;
    Py_buffer v[2];
    const char *k = "upsample_forward";
    if (!PyArg_ParseTuple(args, "OOOii", &o[0], &o[1], &sizes, &nthreads, &dtype)) return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || c3_upsample_args(sizes, u, &xc, &yc, k) < 0) return NULL;
    if (c3_take_pair(o, v, dtype, yc, xc, k, "y", "x") < 0) return NULL;
    int team = zoo_team(nthreads);
    ZOO_DISPATCH(st, dtype, upsample_forward, v[0].buf, v[1].buf, u, team);
    zoo_release_buffers(v, 2);
    return zoo_status_to_py(st, k);
}

/* upsample_backward(dx, gy, (outer, D, H, W, inner, sd, sh, sw), overwrite, nthreads, dtype) */
static PyObject *py_upsample_backward(PyObject *self, PyObject *args) {
    PyObject *o[2], *sizes;
    int overwrite, nthreads, dtype, st;
    int64_t u[8], xc, yc;
    Py_buffer v[2];
    const char *k = "upsample_backward";
    if (!PyArg_ParseTuple(args, "OOOiii", &o[0], &o[1], &sizes, &overwrite, &nthreads, &dtype)) return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || c3_upsample_args(sizes, u, &xc, &yc, k) < 0) return NULL;
    if (c3_take_pair(o, v, dtype, xc, yc, k, "dx", "gy") < 0) return NULL;
    int team = zoo_team(nthreads);
    ZOO_DISPATCH(st, dtype, upsample_backward, v[0].buf, v[1].buf, u, overwrite, team);
    zoo_release_buffers(v, 2);
    return zoo_status_to_py(st, k);
}

PyMethodDef zoo_conv3d_methods[] = {
    {"im2col3d", py_im2col3d, METH_VARARGS, "im2col3d(col, x, N, n0, n1, geometry, rs, ns, ps, nthreads, dtype)"},
    {"col2im3d", py_col2im3d, METH_VARARGS,
     "col2im3d(dx, col, N, n0, n1, geometry, rs, ns, ps, overwrite, nthreads, dtype)"},
    {"maxpool3d_forward", py_maxpool3d_forward, METH_VARARGS, "maxpool3d_forward(y, argmax, x, N, geometry, dtype)"},
    {"maxpool3d_backward", py_maxpool3d_backward, METH_VARARGS,
     "maxpool3d_backward(dx, gy, argmax, N, geometry, overwrite, dtype)"},
    {"avgpool3d_forward", py_avgpool3d_forward, METH_VARARGS,
     "avgpool3d_forward(y, x, N, geometry, (pk, pb, pr), count_include_pad, dtype)"},
    {"avgpool3d_backward", py_avgpool3d_backward, METH_VARARGS,
     "avgpool3d_backward(dx, gy, N, geometry, (pk, pb, pr), count_include_pad, overwrite, dtype)"},
    {"resize_bilinear_forward", py_resize_bilinear_forward, METH_VARARGS,
     "resize_bilinear_forward(y, x, (outer, H, W, inner, OH, OW), align_corners, half_pixel, nthreads, dtype)"},
    {"resize_bilinear_backward", py_resize_bilinear_backward, METH_VARARGS,
     "resize_bilinear_backward(dx, gy, (outer, H, W, inner, OH, OW), align_corners, half_pixel, overwrite, "
     "nthreads, dtype)"},
    {"upsample_forward", py_upsample_forward, METH_VARARGS,
     "upsample_forward(y, x, (outer, D, H, W, inner, sd, sh, sw), nthreads, dtype)"},
    {"upsample_backward", py_upsample_backward, METH_VARARGS,
     "upsample_backward(dx, gy, (outer, D, H, W, inner, sd, sh, sw), overwrite, nthreads, dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------ */

/* dst[ow*ps] for ow < OW: src[base + ow*sw] on [lo, hi), 0 elsewhere */
static inline void S(c3_gather_row)(T *restrict dst, const T *restrict src, int64_t base, int64_t lo, int64_t hi,
                                    int64_t OW, int64_t sw, int64_t ps) {
    if (ps == 1) {
        for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0;
        if (sw == 1)
            memcpy(dst + lo, src + base + lo, (size_t)(hi - lo) * sizeof(T));
        else
            for (int64_t ow = lo; ow < hi; ow++) dst[ow] = src[base + ow * sw];
        for (int64_t ow = hi; ow < OW; ow++) dst[ow] = 0;
    } else {
        for (int64_t ow = 0; ow < lo; ow++) dst[ow * ps] = 0;
        for (int64_t ow = lo; ow < hi; ow++) dst[ow * ps] = src[base + ow * sw];
        for (int64_t ow = hi; ow < OW; ow++) dst[ow * ps] = 0;
    }
}

/* dst[base + ow*sw] += src[ow*ps] for ow in [lo, hi) */
ZOO_MULTIVERSION static void S(c3_scatter_row)(T *restrict dst, const T *restrict src, int64_t base, int64_t lo,
                                               int64_t hi, int64_t sw, int64_t ps) {
    if (ps == 1 && sw == 1) {
        T *d = dst + base;
        for (int64_t ow = lo; ow < hi; ow++) d[ow] += src[ow];
    } else {
        for (int64_t ow = lo; ow < hi; ow++) dst[base + ow * sw] += src[ow * ps];
    }
}

/* im2col3d: col[r*rs + (n - n0)*ns + p*ps] = tap r of output p of image n (0 in the padding).
 * x (N, C, D, H, W); col as described at the top. Overwrites col. */
static int S(im2col3d)(T *col, const T *x, int64_t n0, int64_t n1, const int64_t *g, int64_t rs, int64_t ns,
                       int64_t ps, int team) {
    const int64_t C = g[0], D = g[1], H = g[2], W = g[3], kd = g[4], kh = g[5], kw = g[6];
    const int64_t sd = g[7], sh = g[8], sw = g[9], dd = g[10], dh = g[11], dw = g[12];
    const int64_t pf = g[13], pt = g[14], pl = g[15], OD = g[16], OH = g[17], OW = g[18];
    const int64_t taps = kd * kh * kw, R = C * taps, nb = n1 - n0, tasks = nb * R, plane = D * H * W;
    if (nb < 1) return ZOO_EINVAL;
    #pragma omp parallel for schedule(static) num_threads(team) if (team > 1 && tasks * OD * OH * OW > C3_PAR)
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t n = t / R, r = t % R, c = r / taps, tap = r % taps;
        const int64_t a = tap / (kh * kw), b = (tap / kw) % kh, e = tap % kw;
        const T *xp = x + ((n0 + n) * C + c) * plane;
        T *cp = col + r * rs + n * ns;
        const int64_t offw = e * dw - pl;
        int64_t lo, hi;
        c3_valid(offw, sw, W, OW, &lo, &hi);
        for (int64_t od = 0; od < OD; od++) {
            const int64_t id = od * sd - pf + a * dd;
            for (int64_t oh = 0; oh < OH; oh++) {
                const int64_t ih = oh * sh - pt + b * dh;
                T *dst = cp + (od * OH + oh) * OW * ps;
                if (id < 0 || id >= D || ih < 0 || ih >= H)
                    S(c3_gather_row)(dst, xp, 0, 0, 0, OW, sw, ps);
                else
                    S(c3_gather_row)(dst, xp, (id * H + ih) * W + offw, lo, hi, OW, sw, ps);
            }
        }
    }
    return ZOO_OK;
}

/* col2im3d: the adjoint of im2col3d, dx[n] += sum over taps and outputs of col (zeroed
 * first if overwrite). One thread per (image, channel) plane. */
static int S(col2im3d)(T *dx, const T *col, int64_t n0, int64_t n1, const int64_t *g, int64_t rs, int64_t ns,
                       int64_t ps, int overwrite, int team) {
    const int64_t C = g[0], D = g[1], H = g[2], W = g[3], kd = g[4], kh = g[5], kw = g[6];
    const int64_t sd = g[7], sh = g[8], sw = g[9], dd = g[10], dh = g[11], dw = g[12];
    const int64_t pf = g[13], pt = g[14], pl = g[15], OD = g[16], OH = g[17], OW = g[18];
    const int64_t taps = kd * kh * kw, nb = n1 - n0, tasks = nb * C, plane = D * H * W;
    if (nb < 1) return ZOO_EINVAL;
    #pragma omp parallel for schedule(static) num_threads(team) \
        if (team > 1 && tasks * taps * OD * OH * OW > C3_PAR)
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t n = t / C, c = t % C;
        T *dp = dx + ((n0 + n) * C + c) * plane;
        if (overwrite) memset(dp, 0, (size_t)plane * sizeof(T));
        for (int64_t tap = 0; tap < taps; tap++) {
            const int64_t a = tap / (kh * kw), b = (tap / kw) % kh, e = tap % kw;
            const T *cp = col + (c * taps + tap) * rs + n * ns;
            const int64_t offw = e * dw - pl;
            int64_t lo, hi;
            c3_valid(offw, sw, W, OW, &lo, &hi);
            if (lo >= hi) continue;
            for (int64_t od = 0; od < OD; od++) {
                const int64_t id = od * sd - pf + a * dd;
                if (id < 0 || id >= D) continue;
                for (int64_t oh = 0; oh < OH; oh++) {
                    const int64_t ih = oh * sh - pt + b * dh;
                    if (ih < 0 || ih >= H) continue;
                    S(c3_scatter_row)(dp, cp + (od * OH + oh) * OW * ps, (id * H + ih) * W + offw, lo, hi, sw, ps);
                }
            }
        }
    }
    return ZOO_OK;
}

/* maxpool3d forward: y[p, o] = max over the window of output o in plane p of x, argmax[p, o]
 * its flat index (d*H + h)*W + w (the first maximum; a NaN wins), or -inf and -1 for a window
 * with no voxel. x (NC, D, H, W), y and argmax (NC, OD, OH, OW). Overwrites y and argmax. */
static int S(maxpool3d_forward)(T *y, int32_t *argmax, const T *x, int64_t NC, const int64_t *g) {
    const int64_t D = g[1], H = g[2], W = g[3], kd = g[4], kh = g[5], kw = g[6];
    const int64_t sd = g[7], sh = g[8], sw = g[9], pf = g[13], pt = g[14], pl = g[15];
    const int64_t OD = g[16], OH = g[17], OW = g[18], plane = D * H * W, P = OD * OH * OW;
    #pragma omp parallel for schedule(static) if (NC * P * kd * kh * kw > C3_PAR)
    for (int64_t p = 0; p < NC; p++) {
        const T *xp = x + p * plane;
        T *yp = y + p * P;
        int32_t *ap = argmax + p * P;
        for (int64_t od = 0; od < OD; od++) {
            int64_t d0 = od * sd - pf, d1 = d0 + kd;
            d0 = d0 < 0 ? 0 : d0;
            d1 = d1 > D ? D : d1;
            for (int64_t oh = 0; oh < OH; oh++) {
                int64_t h0 = oh * sh - pt, h1 = h0 + kh;
                h0 = h0 < 0 ? 0 : h0;
                h1 = h1 > H ? H : h1;
                for (int64_t ow = 0; ow < OW; ow++) {
                    int64_t w0 = ow * sw - pl, w1 = w0 + kw;
                    w0 = w0 < 0 ? 0 : w0;
                    w1 = w1 > W ? W : w1;
                    T best = -INFINITY;
                    int64_t arg = -1;
                    for (int64_t d = d0; d < d1; d++)
                        for (int64_t h = h0; h < h1; h++) {
                            const T *xr = xp + (d * H + h) * W;
                            for (int64_t w = w0; w < w1; w++) {
                                const T v = xr[w];
                                if (arg < 0 || (!(v <= best) && best == best)) {
                                    best = v;
                                    arg = (d * H + h) * W + w;
                                }
                            }
                        }
                    const int64_t o = (od * OH + oh) * OW + ow;
                    yp[o] = best;
                    ap[o] = (int32_t)arg;
                }
            }
        }
    }
    return ZOO_OK;
}

/* maxpool3d backward: dx[p, argmax[p, o]] += gy[p, o] for argmax >= 0. dx (NC, D, H, W), gy and
 * argmax (NC, OD, OH, OW). Adds into dx (each plane zeroed first if overwrite). */
static int S(maxpool3d_backward)(T *dx, const T *gy, const int32_t *argmax, int64_t NC, const int64_t *g,
                                 int overwrite) {
    const int64_t plane = g[1] * g[2] * g[3], P = g[16] * g[17] * g[18];
    #pragma omp parallel for schedule(static) if (NC * (P + plane) > 2 * C3_PAR)
    for (int64_t p = 0; p < NC; p++) {
        T *dp = dx + p * plane;
        if (overwrite) memset(dp, 0, (size_t)plane * sizeof(T));
        const T *gp = gy + p * P;
        const int32_t *ap = argmax + p * P;
        for (int64_t o = 0; o < P; o++)
            if (ap[o] >= 0 && ap[o] < plane) dp[ap[o]] += gp[o];
    }
    return ZOO_OK;
}

/* window of output (od, oh, ow) clipped to the volume, and its divisor: the voxel count, or
 * with count_include_pad the window clipped to the padded volume (Caffe / PyTorch) */
static inline T S(avg3d_window)(const int64_t *g, const int64_t *pa, int cip, int64_t od, int64_t oh, int64_t ow,
                                int64_t *lo, int64_t *hi) {
    const int64_t o[3] = {od, oh, ow};
    int64_t cnt = 1, pcnt = 1;
    for (int ax = 0; ax < 3; ax++) {
        const int64_t size = g[1 + ax], k = g[4 + ax], s = g[7 + ax], pad = g[13 + ax];
        int64_t a = o[ax] * s - pad, b = a + k;
        int64_t pb = b > size + pa[ax] ? size + pa[ax] : b;
        pcnt *= pb - a;
        lo[ax] = a < 0 ? 0 : a;
        hi[ax] = b > size ? size : b;
        cnt *= hi[ax] > lo[ax] ? hi[ax] - lo[ax] : 0;
    }
    return (T)(cip ? pcnt : cnt);
}

/* avgpool3d forward: y[p, o] = sum of the window of x[p] / divisor (0 for an empty window).
 * x (NC, D, H, W), y (NC, OD, OH, OW); pa = back, bottom, right padding. Overwrites y. */
static int S(avgpool3d_forward)(T *y, const T *x, int64_t NC, const int64_t *g, const int64_t *pa, int cip) {
    const int64_t H = g[2], W = g[3], plane = g[1] * H * W;
    const int64_t OD = g[16], OH = g[17], OW = g[18], P = OD * OH * OW;
    #pragma omp parallel for schedule(static) if (NC * P * g[4] * g[5] * g[6] > C3_PAR)
    for (int64_t p = 0; p < NC; p++) {
        const T *xp = x + p * plane;
        T *yp = y + p * P;
        for (int64_t od = 0; od < OD; od++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    int64_t lo[3], hi[3];
                    const T div = S(avg3d_window)(g, pa, cip, od, oh, ow, lo, hi);
                    T sum = 0;
                    for (int64_t d = lo[0]; d < hi[0]; d++)
                        for (int64_t h = lo[1]; h < hi[1]; h++) {
                            const T *xr = xp + (d * H + h) * W;
                            for (int64_t w = lo[2]; w < hi[2]; w++) sum += xr[w];
                        }
                    yp[(od * OH + oh) * OW + ow] = div > 0 ? sum / div : 0;
                }
    }
    return ZOO_OK;
}

/* avgpool3d backward: dx[p, window(o)] += gy[p, o] / divisor(o). Adds into dx (each plane
 * zeroed first if overwrite). */
static int S(avgpool3d_backward)(T *dx, const T *gy, int64_t NC, const int64_t *g, const int64_t *pa, int cip,
                                 int overwrite) {
    const int64_t H = g[2], W = g[3], plane = g[1] * H * W;
    const int64_t OD = g[16], OH = g[17], OW = g[18], P = OD * OH * OW;
    #pragma omp parallel for schedule(static) if (NC * P * g[4] * g[5] * g[6] > C3_PAR)
    for (int64_t p = 0; p < NC; p++) {
        T *dp = dx + p * plane;
        if (overwrite) memset(dp, 0, (size_t)plane * sizeof(T));
        const T *gp = gy + p * P;
        for (int64_t od = 0; od < OD; od++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    int64_t lo[3], hi[3];
                    const T div = S(avg3d_window)(g, pa, cip, od, oh, ow, lo, hi);
                    if (!(div > 0)) continue;
                    const T v = gp[(od * OH + oh) * OW + ow] / div;
                    for (int64_t d = lo[0]; d < hi[0]; d++)
                        for (int64_t h = lo[1]; h < hi[1]; h++) {
                            T *dr = dp + (d * H + h) * W;
                            for (int64_t w = lo[2]; w < hi[2]; w++) dr[w] += v;
                        }
                }
    }
    return ZOO_OK;
}

/* y[i] = top + (bottom - top)*ly with top/bottom the lx-interpolations of the rows (TF's order) */
ZOO_MULTIVERSION static void S(c3_lerp)(T *restrict y, const T *restrict tl, const T *restrict tr,
                                        const T *restrict bl, const T *restrict br, T lx, T ly, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const T top = tl[i] + (tr[i] - tl[i]) * lx;
        const T bot = bl[i] + (br[i] - bl[i]) * lx;
        y[i] = top + (bot - top) * ly;
    }
}

/* the four tap tables of a resize (NULL on allocation failure; free with free()) */
static void *S(c3_tables)(const int64_t *s, int align, int half, int64_t **hl, int64_t **hu, int64_t **wl,
                          int64_t **wu, float **fh, float **fw) {
    const int64_t OH = s[4], OW = s[5];
    char *mem = malloc((size_t)(OH + OW) * (2 * sizeof(int64_t) + sizeof(float)));
    if (!mem) return NULL;
    *hl = (int64_t *)mem;
    *hu = *hl + OH;
    *wl = *hu + OH;
    *wu = *wl + OW;
    *fh = (float *)(*wu + OW);
    *fw = *fh + OH;
    c3_resize_table(OH, s[1], align, half, *hl, *hu, *fh);
    c3_resize_table(OW, s[2], align, half, *wl, *wu, *fw);
    return mem;
}

/* y[i] = a[i] + (b[i] - a[i])*l: the vertical step of an NCHW resize (rows interpolated along W) */
ZOO_MULTIVERSION static void S(c3_lerp_rows)(T *restrict y, const T *restrict a, const T *restrict b, T l, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + (b[i] - a[i]) * l;
}

/* row h of a plane interpolated along W: r[ow] = x[h, wl] + (x[h, wu] - x[h, wl])*lx */
static inline void S(c3_hrow)(T *restrict r, const T *restrict xr, const int64_t *wl, const int64_t *wu,
                              const float *fw, int64_t OW) {
    for (int64_t ow = 0; ow < OW; ow++) {
        const T a = xr[wl[ow]];
        r[ow] = a + (xr[wu[ow]] - a) * (T)fw[ow];
    }
}

/* bilinear resize forward: x (outer, H, W, inner) -> y (outer, OH, OW, inner). Overwrites y.
 * inner > 1: one task per output row, the inner vectors interpolated together. inner == 1
 * (NCHW): one task per plane; source rows are interpolated along W once (a two-row cache,
 * rows come in order) and output rows are lerps of two of them (the same arithmetic). */
static int S(resize_bilinear_forward)(T *y, const T *x, const int64_t *s, int align, int half, int team) {
    const int64_t outer = s[0], H = s[1], W = s[2], inner = s[3], OH = s[4], OW = s[5];
    int64_t *hl, *hu, *wl, *wu;
    float *fh, *fw;
    void *mem = S(c3_tables)(s, align, half, &hl, &hu, &wl, &wu, &fh, &fw);
    if (!mem) return ZOO_ENOMEM;
    int status = ZOO_OK;
    if (inner == 1) {
        #pragma omp parallel num_threads(team) if (team > 1 && outer * OH * OW > C3_PAR)
        {
            T *buf = malloc((size_t)(2 * OW) * sizeof(T));
            if (!buf) {
                #pragma omp atomic write
                status = ZOO_ENOMEM;
            }
            #pragma omp for schedule(static)
            for (int64_t o = 0; o < outer; o++) {
                if (!buf) continue;
                T *slot[2] = {buf, buf + OW};
                int64_t held[2] = {-1, -1};
                const T *xp = x + o * H * W;
                for (int64_t oh = 0; oh < OH; oh++) {
                    const int64_t want[2] = {hl[oh], hu[oh]};
                    T *row[2];
                    for (int k = 0; k < 2; k++) {
                        int at = held[0] == want[k] ? 0 : held[1] == want[k] ? 1 : -1;
                        if (at < 0) { /* refill a slot that neither keeps the top row nor the bottom one */
                            if (k == 0)
                                at = held[0] == want[1] ? 1 : 0;
                            else
                                at = row[0] == slot[0] ? 1 : 0;
                            S(c3_hrow)(slot[at], xp + want[k] * W, wl, wu, fw, OW);
                            held[at] = want[k];
                        }
                        row[k] = slot[at];
                    }
                    S(c3_lerp_rows)(y + (o * OH + oh) * OW, row[0], row[1], (T)fh[oh], OW);
                }
            }
            free(buf);
        }
        free(mem);
        return status;
    }
    const int64_t rows = outer * OH;
    #pragma omp parallel for schedule(static) num_threads(team) if (team > 1 && rows * OW * inner > C3_PAR)
    for (int64_t t = 0; t < rows; t++) {
        const int64_t o = t / OH, oh = t % OH;
        const T *top = x + (o * H + hl[oh]) * W * inner, *bot = x + (o * H + hu[oh]) * W * inner;
        T *yr = y + t * OW * inner;
        const T ly = (T)fh[oh];
        for (int64_t ow = 0; ow < OW; ow++)
            S(c3_lerp)(yr + ow * inner, top + wl[ow] * inner, top + wu[ow] * inner, bot + wl[ow] * inner,
                       bot + wu[ow] * inner, (T)fw[ow], ly, inner);
    }
    free(mem);
    return status;
}

#define C3_BLOCK 64 /* inner elements per task of the resize backward */

/* y[i] += a*x[i] */
ZOO_MULTIVERSION static void S(c3_axpy)(T *restrict y, const T *restrict x, T a, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

/* bilinear resize backward: dx += the adjoint of the forward applied to gy (zeroed first if
 * overwrite). One task per (outer index, block of inner elements). */
static int S(resize_bilinear_backward)(T *dx, const T *gy, const int64_t *s, int align, int half, int overwrite,
                                       int team) {
    const int64_t outer = s[0], H = s[1], W = s[2], inner = s[3], OH = s[4], OW = s[5];
    int64_t *hl, *hu, *wl, *wu;
    float *fh, *fw;
    void *mem = S(c3_tables)(s, align, half, &hl, &hu, &wl, &wu, &fh, &fw);
    if (!mem) return ZOO_ENOMEM;
    if (inner == 1) { /* per plane: the vertical adjoint into rows along W, then the horizontal one */
        int status = ZOO_OK;
        #pragma omp parallel num_threads(team) if (team > 1 && outer * OH * OW > C3_PAR)
        {
            T *drow = malloc((size_t)(H * OW) * sizeof(T));
            if (!drow) {
                #pragma omp atomic write
                status = ZOO_ENOMEM;
            }
            #pragma omp for schedule(static)
            for (int64_t o = 0; o < outer; o++) {
                if (!drow) continue;
                T *dp = dx + o * H * W;
                const T *gp = gy + o * OH * OW;
                if (overwrite) memset(dp, 0, (size_t)(H * W) * sizeof(T));
                memset(drow, 0, (size_t)(H * OW) * sizeof(T));
                for (int64_t oh = 0; oh < OH; oh++) {
                    const T ly = (T)fh[oh];
                    S(c3_axpy)(drow + hl[oh] * OW, gp + oh * OW, 1 - ly, OW);
                    S(c3_axpy)(drow + hu[oh] * OW, gp + oh * OW, ly, OW);
                }
                for (int64_t h = 0; h < H; h++) {
                    const T *r = drow + h * OW;
                    T *dr = dp + h * W;
                    for (int64_t ow = 0; ow < OW; ow++) {
                        const T lx = (T)fw[ow];
                        dr[wl[ow]] += r[ow] * (1 - lx);
                        dr[wu[ow]] += r[ow] * lx;
                    }
                }
            }
            free(drow);
        }
        free(mem);
        return status;
    }
    const int64_t blocks = (inner + C3_BLOCK - 1) / C3_BLOCK, tasks = outer * blocks;
    #pragma omp parallel for schedule(static) num_threads(team) if (team > 1 && outer * OH * OW * inner > C3_PAR)
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t o = t / blocks, i0 = (t % blocks) * C3_BLOCK;
        const int64_t i1 = i0 + C3_BLOCK < inner ? i0 + C3_BLOCK : inner;
        T *dp = dx + o * H * W * inner;
        const T *gp = gy + o * OH * OW * inner;
        if (overwrite)
            for (int64_t hw = 0; hw < H * W; hw++)
                for (int64_t i = i0; i < i1; i++) dp[hw * inner + i] = 0;
        for (int64_t oh = 0; oh < OH; oh++) {
            const T ly = (T)fh[oh];
            T *top = dp + hl[oh] * W * inner, *bot = dp + hu[oh] * W * inner;
            for (int64_t ow = 0; ow < OW; ow++) {
                const T lx = (T)fw[ow];
                const T *g = gp + (oh * OW + ow) * inner;
                T *tl = top + wl[ow] * inner, *tr = top + wu[ow] * inner;
                T *bl = bot + wl[ow] * inner, *br = bot + wu[ow] * inner;
                for (int64_t i = i0; i < i1; i++) {
                    const T dtop = (1 - ly) * g[i], dbot = ly * g[i];
                    tl[i] += dtop * (1 - lx);
                    tr[i] += dtop * lx;
                    bl[i] += dbot * (1 - lx);
                    br[i] += dbot * lx;
                }
            }
        }
    }
    free(mem);
    return ZOO_OK;
}

/* nearest upsampling forward: y (outer, D*sd, H*sh, W*sw, inner) repeats x (outer, D, H, W, inner).
 * u = {outer, D, H, W, inner, sd, sh, sw}. One task per input row (o, d, h): it builds output row
 * (d*sd, h*sh) and copies it to the other sd*sh - 1 rows of its block. Overwrites y. */
static int S(upsample_forward)(T *y, const T *x, const int64_t *u, int team) {
    const int64_t outer = u[0], D = u[1], H = u[2], W = u[3], inner = u[4], sd = u[5], sh = u[6], sw = u[7];
    const int64_t rows = outer * D * H, OH = H * sh, orow = W * sw * inner;
    #pragma omp parallel for schedule(static) num_threads(team) if (team > 1 && rows * orow * sd * sh > C3_PAR)
    for (int64_t t = 0; t < rows; t++) {
        const int64_t o = t / (D * H), d = (t / H) % D, h = t % H;
        const T *src = x + t * W * inner;
        T *first = y + ((o * D * sd + d * sd) * OH + h * sh) * orow;
        if (inner == 1) {
            for (int64_t w = 0; w < W; w++)
                for (int64_t k = 0; k < sw; k++) first[w * sw + k] = src[w];
        } else {
            for (int64_t w = 0; w < W; w++)
                for (int64_t k = 0; k < sw; k++) memcpy(first + (w * sw + k) * inner, src + w * inner,
                     inner * sizeof(T));
        }
        for (int64_t a = 0; a < sd; a++)
            for (int64_t b = 0; b < sh; b++)
                if (a || b) memcpy(first + (a * OH + b) * orow, first, (size_t)orow * sizeof(T));
    }
    return ZOO_OK;
}

/* dx[i] += sum_k g[i*s + k] (inner == 1) */
ZOO_MULTIVERSION static void S(c3_sum_groups)(T *restrict dx, const T *restrict g, int64_t W, int64_t s) {
    if (s == 2) {
        for (int64_t w = 0; w < W; w++) dx[w] += g[2 * w] + g[2 * w + 1];
        return;
    }
    for (int64_t w = 0; w < W; w++) {
        T acc = 0;
        for (int64_t k = 0; k < s; k++) acc += g[w * s + k];
        dx[w] += acc;
    }
}

/* nearest upsampling backward: dx[o, d, h, w, :] += sum of gy over its sd x sh x sw block (dx
 * zeroed first if overwrite). One task per input row; blocks summed in a fixed order. */
static int S(upsample_backward)(T *dx, const T *gy, const int64_t *u, int overwrite, int team) {
    const int64_t outer = u[0], D = u[1], H = u[2], W = u[3], inner = u[4], sd = u[5], sh = u[6], sw = u[7];
    const int64_t rows = outer * D * H, OH = H * sh, orow = W * sw * inner;
    #pragma omp parallel for schedule(static) num_threads(team) if (team > 1 && rows * orow * sd * sh > C3_PAR)
    for (int64_t t = 0; t < rows; t++) {
        const int64_t o = t / (D * H), d = (t / H) % D, h = t % H;
        T *dst = dx + t * W * inner;
        if (overwrite) memset(dst, 0, (size_t)(W * inner) * sizeof(T));
        const T *first = gy + ((o * D * sd + d * sd) * OH + h * sh) * orow;
        for (int64_t a = 0; a < sd; a++)
            for (int64_t b = 0; b < sh; b++) {
                const T *g = first + (a * OH + b) * orow;
                if (inner == 1)
                    S(c3_sum_groups)(dst, g, W, sw);
                else
                    for (int64_t w = 0; w < W; w++)
                        for (int64_t k = 0; k < sw; k++) S(c3_axpy)(dst + w * inner, g + (w * sw + k) * inner, 1,
                             inner);
            }
    }
    return ZOO_OK;
}

#endif
