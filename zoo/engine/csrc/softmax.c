/* softmax.c: softmax and log-softmax along one axis.
 *
 * Softmax views x as (outer, L, inner) and normalises along L: rows of L contiguous elements
 * when inner == 1, else blocks of SMAX_BLOCK inner positions at stride `inner`.
 *
 * Float exp comes from zoo_math.h (it vectorises without fast-math); double uses libm. Row sums
 * run in 16 lanes folded in a fixed order, column sums in row order, so results do not depend
 * on the thread count. Built for float and double through zoo_template.h.
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

ZOO_NO_TRAPPING_MATH

#include "zoo_math.h"

#define SMAX_TILE 1024 /* elements per L1-resident tile                   */
#define SMAX_PAR 16384 /* below this many elements, run on one thread     */
#define SMAX_BLOCK 64  /* inner positions per work item of strided softmax */

#define ZEXP ZOO_BY_TYPE(zoo_expf, exp)
#define ZLOG ZOO_BY_TYPE(logf, log)
#define ZOO_TEMPLATE "softmax.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------- */

/* softmax_forward(out, x, outer, L, inner, log, dtype); out may be x */
static PyObject *py_softmax_forward(PyObject *self, PyObject *args) {
    PyObject *o[2];
    Py_ssize_t outer, L, inner;
    int64_t n;
    int lg, dtype, st;
    Py_buffer v[2];
    const char *k = "softmax_forward";
    if (!PyArg_ParseTuple(args, "OOnnnii", &o[0], &o[1], &outer, &L, &inner, &lg, &dtype)) return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || zoo_count3(outer, L, inner, &n) < 0) return NULL;
    const zoo_arg a[2] = {{o[0], n, 1, 0, "out"}, {o[1], n, 0, 0, "x"}};
    if (zoo_take_args(a, v, 2, dtype, k) < 0) return NULL;
    if (v[0].buf != v[1].buf && zoo_ranges_overlap(v[0].buf, v[0].len, v[1].buf, v[1].len))
        return zoo_overlap_error(v, 2, k);
    ZOO_DISPATCH(st, dtype, softmax_forward, v[0].buf, v[1].buf, outer, L, inner, lg);
    zoo_release_buffers(v, 2);
    return zoo_status_to_py(st, k);
}

/* softmax_backward(dx, dy, y, outer, L, inner, log, accumulate, dtype) */
static PyObject *py_softmax_backward(PyObject *self, PyObject *args) {
    PyObject *o[3];
    Py_ssize_t outer, L, inner;
    int64_t n;
    int lg, acc, dtype, st;
    Py_buffer v[3];
    const char *k = "softmax_backward";
    if (!PyArg_ParseTuple(args, "OOOnnniii", &o[0], &o[1], &o[2], &outer, &L, &inner, &lg, &acc, &dtype))
        return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || zoo_count3(outer, L, inner, &n) < 0) return NULL;
    const zoo_arg a[3] = {{o[0], n, 1, 0, "dx"}, {o[1], n, 0, 0, "dy"}, {o[2], n, 0, 0, "y"}};
    if (zoo_take_all(a, v, 3, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, softmax_backward, v[0].buf, v[1].buf, v[2].buf, outer, L, inner, lg, acc);
    zoo_release_buffers(v, 3);
    return zoo_status_to_py(st, k);
}

PyMethodDef zoo_softmax_methods[] = {
    {"softmax_forward", py_softmax_forward, METH_VARARGS, "softmax_forward(out, x, outer, L, inner, log, dtype)"},
    {"softmax_backward", py_softmax_backward, METH_VARARGS,
     "softmax_backward(dx, dy, y, outer, L, inner, log, accumulate, dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------ */

#include "zoo_math.h"

ZOO_MULTIVERSION static T S(rowmax)(const T *restrict x, int64_t n) {
    T m[16];
    for (int j = 0; j < 16; j++) m[j] = -INFINITY;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
    for (int j = 0; i < n; i++, j++) m[j] = x[i] > m[j] ? x[i] : m[j];
    T r = m[0];
    for (int j = 1; j < 16; j++) r = m[j] > r ? m[j] : r;
    return r;
}

ZOO_MULTIVERSION static void S(exp_shift)(T *restrict out, const T *restrict x, int64_t n, T shift) {
    for (int64_t i = 0; i < n; i++) out[i] = ZEXP(x[i] - shift);
}

ZOO_MULTIVERSION static void S(vdiv)(T *restrict out, int64_t n, T d) {
    for (int64_t i = 0; i < n; i++) out[i] = out[i] / d;
}

ZOO_MULTIVERSION static void S(log_out)(T *restrict out, const T *restrict x, int64_t n, T m, T ls) {
    for (int64_t i = 0; i < n; i++) out[i] = (x[i] - m) - ls;
}

/* acc[j] += a[i] * b[i] over 16 lanes, as in sum16. */
ZOO_MULTIVERSION static void S(dot16)(double *restrict acc, const T *restrict a, const T *restrict b, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += (double)a[i + j] * (double)b[i + j];
    for (int j = 0; i < n; i++, j++) acc[j] += (double)a[i] * (double)b[i];
}

/* one softmax row of L contiguous elements */
static void S(softmax_row)(T *out, const T *x, int64_t L, int lg) {
    const T m = S(rowmax)(x, L);
    double acc[16] = {0};
    if (out == x) { /* in place: sum exp without storing it */
        T tile[SMAX_TILE];
        for (int64_t lo = 0; lo < L; lo += SMAX_TILE) {
            int64_t k = L - lo < SMAX_TILE ? L - lo : SMAX_TILE;
            S(exp_shift)(tile, x + lo, k, m);
            S(sum16)(acc, tile, k);
        }
        const T s = (T)zoo_fold16(acc);
        if (lg)
            S(log_out)(out, x, L, m, ZLOG(s));
        else {
            for (int64_t lo = 0; lo < L; lo += SMAX_TILE) {
                int64_t k = L - lo < SMAX_TILE ? L - lo : SMAX_TILE;
                memcpy(tile, x + lo, (size_t)k * sizeof(T));
                S(exp_shift)(out + lo, tile, k, m);
            }
            S(vdiv)(out, L, s);
        }
        return;
    }
    S(exp_shift)(out, x, L, m);
    S(sum16)(acc, out, L);
    const T s = (T)zoo_fold16(acc);
    if (lg)
        S(log_out)(out, x, L, m, ZLOG(s));
    else
        S(vdiv)(out, L, s);
}

/* softmax over L of a block of w <= SMAX_BLOCK inner positions: x, out at stride `inner` */
static void S(softmax_cols)(T *out, const T *x, int64_t L, int64_t inner, int64_t w, int lg) {
    T m[SMAX_BLOCK];
    double s[SMAX_BLOCK];
    for (int64_t j = 0; j < w; j++) {
        m[j] = -INFINITY;
        s[j] = 0;
    }
    for (int64_t l = 0; l < L; l++) {
        const T *xl = x + l * inner;
        for (int64_t j = 0; j < w; j++) m[j] = xl[j] > m[j] ? xl[j] : m[j];
    }
    T e[SMAX_BLOCK];
    for (int64_t l = 0; l < L; l++) {
        const T *xl = x + l * inner;
        for (int64_t j = 0; j < w; j++) e[j] = ZEXP(xl[j] - m[j]);
        for (int64_t j = 0; j < w; j++) s[j] += (double)e[j];
        if (!lg) memcpy(out + l * inner, e, (size_t)w * sizeof(T));
    }
    T f[SMAX_BLOCK];
    for (int64_t j = 0; j < w; j++) f[j] = lg ? (T)ZLOG((T)s[j]) : (T)s[j];
    for (int64_t l = 0; l < L; l++) {
        T *ol = out + l * inner;
        const T *xl = x + l * inner;
        if (lg)
            for (int64_t j = 0; j < w; j++) ol[j] = (xl[j] - m[j]) - f[j];
        else
            for (int64_t j = 0; j < w; j++) ol[j] = ol[j] / f[j];
    }
}

/* softmax forward along L of x (outer, L, inner): out = exp(x - max) / sum exp(x - max), or
 * for log: out = (x - max) - log(sum exp(x - max)). Overwrites out (which may be x). */
static int S(softmax_forward)(T *out, const T *x, int64_t outer, int64_t L, int64_t inner, int lg) {
    if (outer < 0 || L < 0 || inner < 0) return ZOO_EINVAL;
    const int64_t n = outer * L * inner;
    if (n == 0) return ZOO_OK;
    if (inner == 1) {
        ZOO_PARFOR(n >= SMAX_PAR && outer > 1,
            for (int64_t r = 0; r < outer; r++) S(softmax_row)(out + r * L, x + r * L, L, lg););
    } else {
        const int64_t nb = (inner + SMAX_BLOCK - 1) / SMAX_BLOCK, items = outer * nb;
        ZOO_PARFOR(n >= SMAX_PAR && items > 1,
            for (int64_t it = 0; it < items; it++) {
                const int64_t o = it / nb, j0 = (it % nb) * SMAX_BLOCK;
                const int64_t w = inner - j0 < SMAX_BLOCK ? inner - j0 : SMAX_BLOCK;
                S(softmax_cols)(out + o * L * inner + j0, x + o * L * inner + j0, L, inner, w, lg);
            });
    }
    return ZOO_OK;
}

/* dx of one row: softmax dx = y (dy - sum(dy y)); log-softmax dx = dy - exp(y) sum(dy). */
ZOO_MULTIVERSION static void S(smax_bwd_row)(T *restrict dx, const T *restrict dy, const T *restrict y, int64_t L,
                                             int lg, int accumulate) {
    double acc[16] = {0};
    if (lg)
        S(sum16)(acc, dy, L);
    else
        S(dot16)(acc, dy, y, L);
    const T s = (T)zoo_fold16(acc);
    if (lg) {
        if (accumulate)
            for (int64_t i = 0; i < L; i++) dx[i] += dy[i] - ZEXP(y[i]) * s;
        else
            for (int64_t i = 0; i < L; i++) dx[i] = dy[i] - ZEXP(y[i]) * s;
    } else {
        if (accumulate)
            for (int64_t i = 0; i < L; i++) dx[i] += y[i] * (dy[i] - s);
        else
            for (int64_t i = 0; i < L; i++) dx[i] = y[i] * (dy[i] - s);
    }
}

static void S(smax_bwd_cols)(T *dx, const T *dy, const T *y, int64_t L, int64_t inner, int64_t w, int lg,
                             int accumulate) {
    double s[SMAX_BLOCK];
    for (int64_t j = 0; j < w; j++) s[j] = 0;
    for (int64_t l = 0; l < L; l++) {
        const T *a = dy + l * inner, *b = y + l * inner;
        if (lg)
            for (int64_t j = 0; j < w; j++) s[j] += (double)a[j];
        else
            for (int64_t j = 0; j < w; j++) s[j] += (double)a[j] * (double)b[j];
    }
    T st[SMAX_BLOCK];
    for (int64_t j = 0; j < w; j++) st[j] = (T)s[j];
    for (int64_t l = 0; l < L; l++) {
        const T *a = dy + l * inner, *b = y + l * inner;
        T *d = dx + l * inner;
        for (int64_t j = 0; j < w; j++) {
            T v = lg ? a[j] - ZEXP(b[j]) * st[j] : b[j] * (a[j] - st[j]);
            d[j] = accumulate ? d[j] + v : v;
        }
    }
}

/* softmax backward: dx (outer, L, inner) from dy and the forward output y (see smax_bwd_row).
 * Overwrites dx when accumulate == 0, adds into it otherwise. dx must not overlap dy or y. */
static int S(softmax_backward)(T *dx, const T *dy, const T *y, int64_t outer, int64_t L, int64_t inner, int lg,
                               int accumulate) {
    if (outer < 0 || L < 0 || inner < 0) return ZOO_EINVAL;
    const int64_t n = outer * L * inner;
    if (n == 0) return ZOO_OK;
    if (inner == 1) {
        ZOO_PARFOR(n >= SMAX_PAR && outer > 1,
            for (int64_t r = 0; r < outer; r++) S(smax_bwd_row)(dx + r * L, dy + r * L, y + r * L, L, lg, accumulate););
    } else {
        const int64_t nb = (inner + SMAX_BLOCK - 1) / SMAX_BLOCK, items = outer * nb;
        ZOO_PARFOR(n >= SMAX_PAR && items > 1,
            for (int64_t it = 0; it < items; it++) {
                const int64_t o = it / nb, j0 = (it % nb) * SMAX_BLOCK, off = o * L * inner + j0;
                const int64_t w = inner - j0 < SMAX_BLOCK ? inner - j0 : SMAX_BLOCK;
                S(smax_bwd_cols)(dx + off, dy + off, y + off, L, inner, w, lg, accumulate);
            });
    }
    return ZOO_OK;
}

#endif
