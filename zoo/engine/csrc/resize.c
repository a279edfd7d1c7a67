/* resize.c: nearest upsampling and bilinear resizing.
 *
 * Nearest upsampling views x as (outer, D, H, W, inner) and repeats D, H, W by (sd, sh, sw).
 *
 * Bilinear resize views x as (outer, H, W, inner): NCHW is (N*C, H, W, 1), NHWC is
 * (N, H, W, C). Source coordinates follow TensorFlow's resize_bilinear (float arithmetic):
 * scale = in/out, or (in - 1)/(out - 1) with align_corners; src = dst*scale, or
 * (dst + 0.5)*scale - 0.5 with half-pixel centers; lower = max(floor(src), 0),
 * upper = min(ceil(src), in - 1), lerp = src - floor(src).
 *
 * Each loop splits over what it writes, so results do not depend on the number of threads.
 * Built for float and double from one source (see zoo_template.h).
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

#include "conv3d.h"

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

#define ZOO_TEMPLATE "resize.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------- */

/* n sizes from a Python sequence, each in [1, 2^31), into s */
static int c3_sizes(PyObject *o, int64_t *s, int n, const char *kernel) {
    if (zoo_c3_ints(o, s, n, kernel) < 0) return -1;
    for (int i = 0; i < n; i++)
        if (s[i] < 1 || s[i] > INT32_MAX) {
            PyErr_Format(PyExc_ValueError, "%s: sizes must lie in [1, 2^31), got entry %d = %lld", kernel, i,
                         (long long)s[i]);
            return -1;
        }
    return 0;
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

PyMethodDef zoo_resize_methods[] = {
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
