/* norm.c: batch normalization, built for float and double through zoo_template.h (dropout: see
 * dropout.c).
 *
 * Batch norm views x as (outer, C, inner) with the channel axis in the middle: NCHW is
 * (N, C, H*W), (N, F) and NHWC are (N*..., C, 1). Per-channel sums are accumulated in double,
 * in blocks of the outer axis fixed by the shapes alone and added up in a fixed order, so the
 * results do not depend on the thread count. Statistics use the shifted-data method (sums of
 * x - x[first element of the channel]), which keeps the one-pass variance accurate.
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

ZOO_NO_TRAPPING_MATH

#include "zoo_math.h"

#define BN_BLOCK 16384 /* elements per block of a per-channel reduction */
#define BN_PAR 65536   /* below this many elements, run on one thread */

#define ZOO_TEMPLATE "norm.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------- */

/* bn_forward(y, save_mean, save_invstd, x, gamma, beta, running_mean, running_var, outer, C, inner,
 *            eps, momentum, training, update, relu, dtype) */
static PyObject *py_bn_forward(PyObject *self, PyObject *args) {
    PyObject *o[8];
    Py_ssize_t outer, C, inner;
    int64_t n;
    double eps, momentum;
    int training, update, relu, dtype, st;
    Py_buffer v[8];
    const char *k = "bn_forward";
    if (!PyArg_ParseTuple(args, "OOOOOOOOnnnddiiii", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &outer,
                          &C, &inner, &eps, &momentum, &training, &update, &relu, &dtype))
        return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || zoo_count3(outer, C, inner, &n) < 0) return NULL;
    if (!(eps >= 0) || !(momentum >= 0 && momentum <= 1)) {
        PyErr_Format(PyExc_ValueError, "%s: expected eps >= 0 and momentum in [0, 1], got %g and %g", k, eps, momentum);
        return NULL;
    }
    /* running_mean and running_var are written only when training with update */
    const int upd = training && update;
    const zoo_arg a[8] = {{o[0], n, 1, 0, "y"},   {o[1], C, 1, 0, "save_mean"},      {o[2], C, 1, 0, "save_invstd"},
                          {o[3], n, 0, 0, "x"},   {o[4], C, 0, 0, "gamma"},          {o[5], C, 0, 0, "beta"},
                          {o[6], C, upd, 0, "running_mean"}, {o[7], C, upd, 0, "running_var"}};
    if (zoo_take_args(a, v, 8, dtype, k) < 0) return NULL;
    if (zoo_outputs_overlap(v, 3, 8) ||
        (upd && (zoo_outputs_overlap(v + 6, 2, 2) || zoo_ranges_overlap(v[6].buf, v[6].len, v[3].buf, v[3].len) ||
                 zoo_ranges_overlap(v[7].buf, v[7].len, v[3].buf, v[3].len))))
        return zoo_overlap_error(v, 8, k);
    ZOO_DISPATCH(st, dtype, bn_forward, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, v[6].buf, v[7].buf,
                 outer, C, inner, eps, momentum, training, update, relu);
    zoo_release_buffers(v, 8);
    return zoo_status_to_py(st, k);
}

/* bn_backward(dx|None, dgamma|None, dbeta|None, dy, y|None, x, gamma, mean, invstd, outer, C, inner,
 *             training, accumulate, dtype); y is the output of a fused ReLU */
static PyObject *py_bn_backward(PyObject *self, PyObject *args) {
    PyObject *o[9];
    Py_ssize_t outer, C, inner;
    int64_t n;
    int training, acc, dtype, st;
    Py_buffer v[9];
    const char *k = "bn_backward";
    if (!PyArg_ParseTuple(args, "OOOOOOOOOnnniii", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8],
                          &outer, &C, &inner, &training, &acc, &dtype))
        return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || zoo_count3(outer, C, inner, &n) < 0) return NULL;
    const zoo_arg a[9] = {{o[0], n, 1, 1, "dx"}, {o[1], C, 1, 1, "dgamma"}, {o[2], C, 1, 1, "dbeta"},
                          {o[3], n, 0, 0, "dy"}, {o[4], n, 0, 1, "y"},      {o[5], n, 0, 0, "x"},
                          {o[6], C, 0, 0, "gamma"}, {o[7], C, 0, 0, "mean"}, {o[8], C, 0, 0, "invstd"}};
    if (zoo_take_all(a, v, 9, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, bn_backward, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, v[6].buf, v[7].buf,
                 v[8].buf, outer, C, inner, training, acc);
    zoo_release_buffers(v, 9);
    return zoo_status_to_py(st, k);
}

PyMethodDef zoo_norm_methods[] = {
    {"bn_forward", py_bn_forward, METH_VARARGS,
     "bn_forward(y, save_mean, save_invstd, x, gamma, beta, running_mean, running_var, outer, C, inner, eps, "
     "momentum, training, update, relu, dtype)"},
    {"bn_backward", py_bn_backward, METH_VARARGS,
     "bn_backward(dx, dgamma, dbeta, dy, y, x, gamma, mean, invstd, outer, C, inner, training, accumulate, dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------ */

/* a[j] += x[i] - k, b[j] += (x[i] - k) * q[i] over 16 lanes j = i mod 16; q = NULL means q = x - k;
 * with g (a ReLU output), q[i] counts only where g[i] > 0 */
ZOO_MULTIVERSION static void S(bn_sums16)(double *restrict a, double *restrict b, const T *restrict x,
                                          const T *restrict q, const T *restrict g, int64_t n, double k) {
    int64_t i = 0;
    if (q != NULL && g != NULL) {
        for (; i + 16 <= n; i += 16)
            for (int j = 0; j < 16; j++) {
                double d = (double)x[i + j] - k, v = g[i + j] > 0 ? (double)q[i + j] : 0.0;
                a[j] += v;
                b[j] += d * v;
            }
        for (int j = 0; i < n; i++, j++) {
            double d = (double)x[i] - k, v = g[i] > 0 ? (double)q[i] : 0.0;
            a[j] += v;
            b[j] += d * v;
        }
    } else if (q == NULL) {
        for (; i + 16 <= n; i += 16)
            for (int j = 0; j < 16; j++) {
                double d = (double)x[i + j] - k;
                a[j] += d;
                b[j] += d * d;
            }
        for (int j = 0; i < n; i++, j++) {
            double d = (double)x[i] - k;
            a[j] += d;
            b[j] += d * d;
        }
    } else {
        for (; i + 16 <= n; i += 16)
            for (int j = 0; j < 16; j++) {
                double d = (double)x[i + j] - k;
                a[j] += (double)q[i + j];
                b[j] += d * (double)q[i + j];
            }
        for (int j = 0; i < n; i++, j++) {
            double d = (double)x[i] - k;
            a[j] += (double)q[i];
            b[j] += d * (double)q[i];
        }
    }
}

/* column version: a[c] += x[c] - k[c], b[c] += (x[c] - k[c]) * (q ? q[c] : x[c] - k[c]), c < n,
 * q[c] counting only where g[c] > 0 when g is given */
ZOO_MULTIVERSION static void S(bn_colsums)(double *restrict a, double *restrict b, const T *restrict x,
                                           const T *restrict q, const T *restrict g, int64_t n,
                                           const double *restrict k) {
    if (q != NULL && g != NULL)
        for (int64_t c = 0; c < n; c++) {
            double d = (double)x[c] - k[c], v = g[c] > 0 ? (double)q[c] : 0.0;
            a[c] += v;
            b[c] += d * v;
        }
    else if (q == NULL)
        for (int64_t c = 0; c < n; c++) {
            double d = (double)x[c] - k[c];
            a[c] += d;
            b[c] += d * d;
        }
    else
        for (int64_t c = 0; c < n; c++) {
            double d = (double)x[c] - k[c];
            a[c] += (double)q[c];
            b[c] += d * (double)q[c];
        }
}

/* Per-channel sums over outer and inner: A[c] = sum (x - k_c) (or sum q), B[c] = sum (x - k_c) q
 * (q = x - k_c when q == NULL; q counted only where g > 0 when g is given). A, B (C,) doubles. */
static int S(bn_channel_sums)(double *A, double *B, const T *x, const T *q, const T *g, const double *k,
                              int64_t outer, int64_t C, int64_t inner) {
    const int64_t n = outer * C * inner;
    if (inner > 1) {
        int64_t rows = BN_BLOCK / inner;
        rows = rows < 1 ? 1 : rows;
        const int64_t blocks = (outer + rows - 1) / rows, tasks = blocks * C;
        double *part = (double *)malloc((size_t)(2 * tasks) * sizeof(double));
        if (part == NULL) return ZOO_ENOMEM;
        ZOO_PARFOR(n >= BN_PAR,
            for (int64_t t = 0; t < tasks; t++) {
                const int64_t blk = t / C, c = t % C;
                const int64_t o1 = (blk + 1) * rows < outer ? (blk + 1) * rows : outer;
                double a[16] = {0}, b[16] = {0};
                for (int64_t o = blk * rows; o < o1; o++) {
                    const int64_t off = (o * C + c) * inner;
                    S(bn_sums16)(a, b, x + off, q ? q + off : NULL, g ? g + off : NULL, inner, k[c]);
                }
                part[2 * t] = zoo_fold16(a);
                part[2 * t + 1] = zoo_fold16(b);
            });
        for (int64_t c = 0; c < C; c++) {
            double a = 0, b = 0;
            for (int64_t blk = 0; blk < blocks; blk++) {
                a += part[2 * (blk * C + c)];
                b += part[2 * (blk * C + c) + 1];
            }
            A[c] = a;
            B[c] = b;
        }
        free(part);
    } else {
        int64_t rows = BN_BLOCK / (C > 0 ? C : 1);
        rows = rows < 1 ? 1 : rows;
        const int64_t blocks = (outer + rows - 1) / rows;
        double *part = (double *)calloc((size_t)(2 * blocks * C), sizeof(double));
        if (part == NULL) return ZOO_ENOMEM;
        ZOO_PARFOR(n >= BN_PAR,
            for (int64_t blk = 0; blk < blocks; blk++) {
                const int64_t o1 = (blk + 1) * rows < outer ? (blk + 1) * rows : outer;
                double *a = part + 2 * blk * C, *b = a + C;
                for (int64_t o = blk * rows; o < o1; o++)
                    S(bn_colsums)(a, b, x + o * C, q ? q + o * C : NULL, g ? g + o * C : NULL, C, k);
            });
        for (int64_t c = 0; c < C; c++) {
            double a = 0, b = 0;
            for (int64_t blk = 0; blk < blocks; blk++) {
                a += part[2 * blk * C + c];
                b += part[2 * blk * C + C + c];
            }
            A[c] = a;
            B[c] = b;
        }
        free(part);
    }
    return ZOO_OK;
}

/* y[i] = (x[i] - m) * s + h (one channel segment; subtracting first keeps |mean| >> std exact),
 * then max(y, 0) if relu */
ZOO_MULTIVERSION static void S(bn_affine)(T *restrict y, const T *restrict x, int64_t n, T m, T s, T h, int relu) {
    if (relu)
        for (int64_t i = 0; i < n; i++) {
            const T v = (x[i] - m) * s + h;
            y[i] = v > 0 ? v : (T)0;
        }
    else
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) * s + h;
}

/* y[c] = (x[c] - m[c]) * s[c] + h[c] (one row of channels), then max(y, 0) if relu */
ZOO_MULTIVERSION static void S(bn_affine_row)(T *restrict y, const T *restrict x, const T *restrict m,
                                              const T *restrict s, const T *restrict h, int64_t n, int relu) {
    if (relu)
        for (int64_t c = 0; c < n; c++) {
            const T v = (x[c] - m[c]) * s[c] + h[c];
            y[c] = v > 0 ? v : (T)0;
        }
    else
        for (int64_t c = 0; c < n; c++) y[c] = (x[c] - m[c]) * s[c] + h[c];
}

/* batch norm forward over x, y (outer, C, inner), per-channel gamma, beta, running_mean,
 * running_var, save_mean, save_invstd (C,):
 *   training: mean, var = batch mean and biased variance of channel c over outer and inner;
 *             if update: running_mean = momentum running_mean + (1 - momentum) mean, and the same
 *             for running_var with the biased variance (Keras 3 convention);
 *   inference: mean, var = running_mean, running_var;
 *   invstd = 1 / sqrt(var + eps); y = (x - mean) s + beta with s = invstd gamma, computed as
 *   (x - m) s + h with m = mean rounded to T and h = beta - (mean - m) s; if relu, y = max(y, 0).
 * Overwrites y, save_mean (mean) and save_invstd (invstd). y must not overlap x. */
static int S(bn_forward)(T *y, T *save_mean, T *save_invstd, const T *x, const T *gamma, const T *beta, T *rmean,
                         T *rvar, int64_t outer, int64_t C, int64_t inner, double eps, double momentum, int training,
                         int update, int relu) {
    if (outer < 0 || C < 0 || inner < 0 || !(eps >= 0)) return ZOO_EINVAL;
    const int64_t n = outer * C * inner, M = outer * inner;
    if (C == 0) return ZOO_OK;
    T *sh = (T *)malloc((size_t)(3 * C) * sizeof(T));
    double *k = (double *)malloc((size_t)(3 * C) * sizeof(double));
    if (sh == NULL || k == NULL) {
        free(sh);
        free(k);
        return ZOO_ENOMEM;
    }
    double *A = k + C, *B = k + 2 * C;
    if (training && M > 0) {
        for (int64_t c = 0; c < C; c++) k[c] = (double)x[c * inner];
        int st = S(bn_channel_sums)(A, B, x, NULL, NULL, k, outer, C, inner);
        if (st != ZOO_OK) {
            free(sh);
            free(k);
            return st;
        }
        for (int64_t c = 0; c < C; c++) {
            const double d = A[c] / (double)M, mean = k[c] + d;
            double var = B[c] / (double)M - d * d;
            var = var > 0 ? var : 0;
            A[c] = mean;
            B[c] = var;
            if (update) {
                rmean[c] = (T)(momentum * (double)rmean[c] + (1 - momentum) * mean);
                rvar[c] = (T)(momentum * (double)rvar[c] + (1 - momentum) * var);
            }
        }
    } else {
        for (int64_t c = 0; c < C; c++) {
            A[c] = training ? 0 : (double)rmean[c];
            B[c] = training ? 0 : (double)rvar[c];
        }
    }
    T *s = sh, *h = sh + C, *m = sh + 2 * C;
    for (int64_t c = 0; c < C; c++) {
        const double inv = 1.0 / sqrt(B[c] + eps);
        const double sc = (double)gamma[c] * inv;
        save_mean[c] = m[c] = (T)A[c];
        save_invstd[c] = (T)inv;
        s[c] = (T)sc;
        h[c] = (T)((double)beta[c] - (A[c] - (double)m[c]) * sc); /* the part of the mean T cannot hold */
    }
    if (n > 0) {
        if (inner > 1) {
            const int64_t segs = outer * C;
            ZOO_PARFOR(n >= BN_PAR,
                for (int64_t sg = 0; sg < segs; sg++) {
                    const int64_t c = sg % C;
                    S(bn_affine)(y + sg * inner, x + sg * inner, inner, m[c], s[c], h[c], relu);
                });
        } else {
            ZOO_PARFOR(n >= BN_PAR,
                for (int64_t o = 0; o < outer; o++) S(bn_affine_row)(y + o * C, x + o * C, m, s, h, C, relu););
        }
    }
    free(sh);
    free(k);
    return ZOO_OK;
}

/* dx = a dz + b (x - m) + e over one channel segment, dz = dy (or dy where g > 0 when g is given) */
#define BN_DZ(i) (g ? (g[i] > 0 ? dy[i] : (T)0) : dy[i])
ZOO_MULTIVERSION static void S(bn_dx)(T *restrict dx, const T *restrict dy, const T *restrict g, const T *restrict x,
                                      int64_t n, T a, T b, T m, T e, int accumulate) {
    if (accumulate)
        for (int64_t i = 0; i < n; i++) dx[i] += a * BN_DZ(i) + b * (x[i] - m) + e;
    else
        for (int64_t i = 0; i < n; i++) dx[i] = a * BN_DZ(i) + b * (x[i] - m) + e;
}

ZOO_MULTIVERSION static void S(bn_dx_row)(T *restrict dx, const T *restrict dy, const T *restrict g,
                                          const T *restrict x, const T *restrict a, const T *restrict b,
                                          const T *restrict m, const T *restrict e, int64_t n, int accumulate) {
    if (accumulate)
        for (int64_t c = 0; c < n; c++) dx[c] += a[c] * BN_DZ(c) + b[c] * (x[c] - m[c]) + e[c];
    else
        for (int64_t c = 0; c < n; c++) dx[c] = a[c] * BN_DZ(c) + b[c] * (x[c] - m[c]) + e[c];
}
#undef BN_DZ

/* batch norm backward with mean, invstd (C,) as saved by bn_forward and M = outer * inner:
 *   dz = dy, or with a fused ReLU (y = its output, not NULL) dz = y > 0 ? dy : 0;
 *   dbeta_c = sum dz, dgamma_c = sum dz (x - mean) invstd,
 *   training:  dx = gamma invstd (dz - dbeta_c / M - (x - mean) invstd dgamma_c / M),
 *   inference: dx = gamma invstd dz.
 * dx, dgamma, dbeta may each be NULL (not wanted); they are overwritten when accumulate == 0
 * and added into otherwise. dx must not overlap the inputs. */
static int S(bn_backward)(T *dx, T *dgamma, T *dbeta, const T *dy, const T *y, const T *x, const T *gamma,
                          const T *mean, const T *invstd, int64_t outer, int64_t C, int64_t inner, int training,
                          int accumulate) {
    if (outer < 0 || C < 0 || inner < 0) return ZOO_EINVAL;
    const int64_t n = outer * C * inner, M = outer * inner;
    if (C == 0) return ZOO_OK;
    double *w = (double *)malloc((size_t)(3 * C) * sizeof(double));
    T *coef = (T *)malloc((size_t)(4 * C) * sizeof(T));
    if (w == NULL || coef == NULL) {
        free(w);
        free(coef);
        return ZOO_ENOMEM;
    }
    double *k = w, *Sdy = w + C, *Sdyx = w + 2 * C;
    for (int64_t c = 0; c < C; c++) {
        k[c] = (double)mean[c];
        Sdy[c] = Sdyx[c] = 0;
    }
    if (M > 0 && (dgamma || dbeta || (dx && training))) {
        int st = S(bn_channel_sums)(Sdy, Sdyx, x, dy, y, k, outer, C, inner);
        if (st != ZOO_OK) {
            free(w);
            free(coef);
            return st;
        }
    }
    for (int64_t c = 0; c < C; c++) {
        const double inv = (double)invstd[c], g = (double)gamma[c];
        if (dbeta) dbeta[c] = (T)(accumulate ? (double)dbeta[c] + Sdy[c] : Sdy[c]);
        if (dgamma) dgamma[c] = (T)(accumulate ? (double)dgamma[c] + Sdyx[c] * inv : Sdyx[c] * inv);
        const double a = g * inv;
        coef[c] = (T)a;
        coef[C + c] = (T)(training && M > 0 ? -a * inv * inv * Sdyx[c] / (double)M : 0);
        coef[2 * C + c] = mean[c];
        coef[3 * C + c] = (T)(training && M > 0 ? -a * Sdy[c] / (double)M : 0);
    }
    if (dx && n > 0) {
        const T *a = coef, *b = coef + C, *m = coef + 2 * C, *e = coef + 3 * C;
        if (inner > 1) {
            const int64_t segs = outer * C;
            ZOO_PARFOR(n >= BN_PAR,
                for (int64_t sg = 0; sg < segs; sg++) {
                    const int64_t c = sg % C, off = sg * inner;
                    S(bn_dx)(dx + off, dy + off, y ? y + off : NULL, x + off, inner, a[c], b[c], m[c], e[c],
                             accumulate);
                });
        } else {
            ZOO_PARFOR(n >= BN_PAR,
                for (int64_t o = 0; o < outer; o++)
                    S(bn_dx_row)(dx + o * C, dy + o * C, y ? y + o * C : NULL, x + o * C, a, b, m, e, C,
                                 accumulate););
        }
    }
    free(w);
    free(coef);
    return ZOO_OK;
}

#endif
