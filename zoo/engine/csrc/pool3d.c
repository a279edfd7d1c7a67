/* pool3d.c: 3-D max and average pooling over (N*C, D, H, W) volumes; the window geometry g[19]
 * is described in conv3d.h. One thread per (image, channel) volume, so results do not depend on
 * the number of threads.
 *
 * Built for float and double from one source (see zoo_template.h).
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

#include "conv3d.h"

#define ZOO_TEMPLATE "pool3d.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------- */

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
    if (zoo_check_dtype(dtype, k) < 0 || zoo_c3_geometry(geo, g, k) < 0 || c3_pool_counts(g, N, &xc, &yc) < 0)
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
    if (zoo_check_dtype(dtype, k) < 0 || zoo_c3_geometry(geo, g, k) < 0 || c3_pool_counts(g, N, &xc, &yc) < 0)
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
    if (zoo_check_dtype(dtype, k) < 0 || zoo_c3_geometry(geo, g, k) < 0 || zoo_c3_ints(after, pa, 3, k) < 0 ||
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
    if (zoo_check_dtype(dtype, k) < 0 || zoo_c3_geometry(geo, g, k) < 0 || zoo_c3_ints(after, pa, 3, k) < 0 ||
        c3_pool_counts(g, N, &xc, &yc) < 0)
        return NULL;
    if (c3_take_pair(o, v, dtype, xc, yc, k, "dx", "gy") < 0) return NULL;
    ZOO_DISPATCH(st, dtype, avgpool3d_backward, v[0].buf, v[1].buf, N * g[0], g, pa, cip, overwrite);
    zoo_release_buffers(v, 2);
    return zoo_status_to_py(st, k);
}

PyMethodDef zoo_pool3d_methods[] = {
    {"maxpool3d_forward", py_maxpool3d_forward, METH_VARARGS, "maxpool3d_forward(y, argmax, x, N, geometry, dtype)"},
    {"maxpool3d_backward", py_maxpool3d_backward, METH_VARARGS,
     "maxpool3d_backward(dx, gy, argmax, N, geometry, overwrite, dtype)"},
    {"avgpool3d_forward", py_avgpool3d_forward, METH_VARARGS,
     "avgpool3d_forward(y, x, N, geometry, (pk, pb, pr), count_include_pad, dtype)"},
    {"avgpool3d_backward", py_avgpool3d_backward, METH_VARARGS,
     "avgpool3d_backward(dx, gy, N, geometry, (pk, pb, pr), count_include_pad, overwrite, dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------ */

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

#endif
