/* conv3d.c: the loops around 3-D convolution GEMMs (vol2col / col2vol); the geometry g[19] is
 * described in conv3d.h (3-D pooling: pool3d.c; resizing and upsampling: resize.c).
 *
 * Column buffer of images n0 <= n < n1 (nb = n1 - n0): row r = c*KD*KH*KW + t; element
 * (r, n - n0, p) lives at r*rs + (n - n0)*ns + p*ps, so one kernel fills the "rows" layout
 * (R, nb, P) used by one GEMM per chunk, the "images" layout (nb, R, P), and the
 * "positions" layout (P, nb, R) used by locally connected layers (one GEMM per position).
 *
 * Built for float and double from one source (see zoo_template.h).
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

#include "conv.h"
#include "conv3d.h"

#define ZOO_TEMPLATE "conv3d.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------- */

/* declared in conv3d.h */
int zoo_c3_ints(PyObject *o, int64_t *g, int n, const char *kernel) {
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

int zoo_c3_geometry(PyObject *o, int64_t *g, const char *kernel) {
    if (zoo_c3_ints(o, g, 19, kernel) < 0) return -1;
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
    if (zoo_check_dtype(dtype, k) < 0 || zoo_c3_geometry(geo, g, k) < 0 ||
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
    if (zoo_check_dtype(dtype, k) < 0 || zoo_c3_geometry(geo, g, k) < 0 ||
        c3_col_args(g, N, n0, n1, rs, ns, ps, &xc, &cc, k) < 0)
        return NULL;
    if (c3_take_pair(o, v, dtype, xc, cc, k, "dx", "col") < 0) return NULL;
    int team = zoo_team(nthreads);
    ZOO_DISPATCH(st, dtype, col2im3d, v[0].buf, v[1].buf, n0, n1, g, rs, ns, ps, overwrite, team);
    zoo_release_buffers(v, 2);
    return zoo_status_to_py(st, k);
}

PyMethodDef zoo_conv3d_methods[] = {
    {"im2col3d", py_im2col3d, METH_VARARGS, "im2col3d(col, x, N, n0, n1, geometry, rs, ns, ps, nthreads, dtype)"},
    {"col2im3d", py_col2im3d, METH_VARARGS,
     "col2im3d(dx, col, N, n0, n1, geometry, rs, ns, ps, overwrite, nthreads, dtype)"},
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
        zoo_valid_range(offw, sw, W, OW, &lo, &hi);
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
            zoo_valid_range(offw, sw, W, OW, &lo, &hi);
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

#endif
