/* act.c: elementwise activations, optionally fused with a bias add (softmax is in softmax.c).
 *
 * The kernels are written once between `#else` and `#endif` with T (element type) and S(name)
 * (name with dtype suffix), and built for float and double through zoo_template.h.
 *
 * Layouts. The fused bias kernels view x as (outer, C, inner) and broadcast the bias b (C,)
 * along the middle axis: channel axis 1 of NCHW is (N, C, H*W, ), the last axis of (N, F)
 * is (N, F, 1).
 *
 * Float exp & co. come from zoo_math.h (they vectorise without fast-math); double uses libm.
 *
 * Determinism: the bias gradient is cut into pieces fixed by the shapes alone and summed in a
 * fixed order, so results do not depend on the thread count.
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

ZOO_NO_TRAPPING_MATH

#include "zoo_math.h"

/* activation codes; keep in sync with zoo/engine/kernels/act.py */
enum {
    ACT_IDENTITY = 0,  /* f = v                                   f' = 1                         */
    ACT_RELU,          /* f = max(v, 0)                           from y: y > 0                  */
    ACT_LEAKY,         /* f = v > 0 ? v : a v  (a = p0 > 0)       from y: y > 0 ? 1 : a          */
    ACT_LEAKY_X,       /* same, any a                             from x                         */
    ACT_ELU,           /* f = v > 0 ? v : a expm1(v)  (a > 0)     from y: y > 0 ? 1 : y + a      */
    ACT_ELU_X,         /* same, any a                             from x: v > 0 ? 1 : a exp(v)   */
    ACT_SELU,          /* f = s (v > 0 ? v : a expm1(v)), a = p0, s = p1; from y                 */
    ACT_GELU,          /* f = v/2 erfc(-v/sqrt2)                  from x                         */
    ACT_GELU_TANH,     /* f = v/2 (1 + tanh(u)) = v sigmoid(2u), u = c (v + 0.044715 v^3); from x */
    ACT_SIGMOID,       /* f = 1 / (1 + exp(-v))                   from y: y (1 - y)              */
    ACT_HARD_SIGMOID,  /* f = clip(p0 v + p1, 0, 1)               from y: 0 < y < 1 ? p0 : 0     */
    ACT_TANH,          /* f = tanh(v)                             from y: 1 - y^2                */
    ACT_SOFTPLUS,      /* f = log(1 + exp(v))                     from y: 1 - exp(-y)            */
    ACT_SOFTSIGN,      /* f = v / (1 + |v|)                       from x                         */
    ACT_SWISH,         /* f = v sigmoid(v)                        from x                         */
    ACT_RELU6,         /* f = min(max(v, 0), 6)                   from y: 0 < y < 6              */
    ACT_HARD_SWISH,    /* f = v clip(p0 v + p1, 0, 1)             from x                         */
    ACT_EXP,           /* f = exp(v)                              from y: y                      */
    ACT_COUNT
};

/* what each kind's derivative reads: 0 nothing, 1 the output y, 2 the input x */
static const signed char act_src[ACT_COUNT] = {0, 1, 1, 2, 1, 2, 1, 2, 2, 1, 1, 1, 1, 2, 2, 1, 2, 1};

#define ACT_TILE 1024     /* elements per L1-resident tile                                      */
#define ACT_CHUNK 32768   /* elements per parallel work item of plain elementwise loops        */
#define ACT_PAR 65536     /* below this many elements, run on one thread                        */

/* ---- kernels for float and double ------------------------------------------------------- */

#define ZEXP ZOO_BY_TYPE(zoo_expf, exp)
#define ZEXPM1 ZOO_BY_TYPE(zoo_expm1f, expm1)
#define ZTANH ZOO_BY_TYPE(zoo_tanhf, tanh)
#define ZGAUSS ZOO_BY_TYPE(zoo_gauss_f, zoo_gauss_d)
#define ZLOG1P01 ZOO_BY_TYPE(zoo_log1pf_01, log1p)
#define ZOO_TEMPLATE "act.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------- */

static int check_kind(int kind, const char *kernel) {
    if (kind >= 0 && kind < ACT_COUNT) return 0;
    PyErr_Format(PyExc_ValueError, "%s: activation code must be in [0, %d), got %d", kernel, ACT_COUNT, kind);
    return -1;
}

/* relu_forward(out, x, n, dtype): out[i] = max(x[i], 0); out may be x */
static PyObject *py_relu_forward(PyObject *self, PyObject *args) {
    PyObject *o[2];
    Py_ssize_t n;
    int dtype, st;
    Py_buffer v[2];
    const char *k = "relu_forward";
    if (!PyArg_ParseTuple(args, "OOni", &o[0], &o[1], &n, &dtype)) return NULL;
    if (zoo_check_dtype(dtype, k) < 0) return NULL;
    const zoo_arg a[2] = {{o[0], n, 1, 0, "out"}, {o[1], n, 0, 0, "x"}};
    if (zoo_take_args(a, v, 2, dtype, k) < 0) return NULL;
    void *out = v[0].buf, *x = v[1].buf;
    if (out != x && zoo_ranges_overlap(out, v[0].len, x, v[1].len)) return zoo_overlap_error(v, 2, k);
    ZOO_DISPATCH(st, dtype, act_forward, out, x, NULL, n, 1, 1, ACT_RELU, 0, 0);
    zoo_release_buffers(v, 2);
    return zoo_status_to_py(st, k);
}

/* relu_backward(dx, dy, y, n, dtype): dx[i] += y[i] > 0 ? dy[i] : 0 */
static PyObject *py_relu_backward(PyObject *self, PyObject *args) {
    PyObject *o[3];
    Py_ssize_t n;
    int dtype, st;
    Py_buffer v[3];
    const char *k = "relu_backward";
    if (!PyArg_ParseTuple(args, "OOOni", &o[0], &o[1], &o[2], &n, &dtype)) return NULL;
    if (zoo_check_dtype(dtype, k) < 0) return NULL;
    const zoo_arg a[3] = {{o[0], n, 1, 0, "dx"}, {o[1], n, 0, 0, "dy"}, {o[2], n, 0, 0, "y"}};
    if (zoo_take_all(a, v, 3, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, act_backward, v[0].buf, NULL, v[1].buf, NULL, NULL, v[2].buf, n, 1, 1, ACT_RELU, 0, 0, 1);
    zoo_release_buffers(v, 3);
    return zoo_status_to_py(st, k);
}

/* act_forward(out, x, b|None, outer, C, inner, kind, p0, p1, dtype); out may be x */
static PyObject *py_act_forward(PyObject *self, PyObject *args) {
    PyObject *o[3];
    Py_ssize_t outer, C, inner;
    int64_t n;
    int kind, dtype, st;
    double p0, p1;
    Py_buffer v[3];
    const char *k = "act_forward";
    if (!PyArg_ParseTuple(args, "OOOnnniddi", &o[0], &o[1], &o[2], &outer, &C, &inner, &kind, &p0, &p1, &dtype))
        return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || zoo_count3(outer, C, inner, &n) < 0 || check_kind(kind, k) < 0) return NULL;
    const zoo_arg a[3] = {{o[0], n, 1, 0, "out"}, {o[1], n, 0, 0, "x"}, {o[2], C, 0, 1, "b"}};
    if (zoo_take_args(a, v, 3, dtype, k) < 0) return NULL;
    void *out = v[0].buf, *x = v[1].buf, *b = v[2].buf;
    if ((out != x && zoo_ranges_overlap(out, v[0].len, x, v[1].len)) || zoo_ranges_overlap(out, v[0].len, b, v[2].len))
        return zoo_overlap_error(v, 3, k);
    ZOO_DISPATCH(st, dtype, act_forward, out, x, b, outer, C, inner, kind, p0, p1);
    zoo_release_buffers(v, 3);
    return zoo_status_to_py(st, k);
}

/* act_backward(dx|None, db|None, dy, x|None, b|None, y|None, outer, C, inner, kind, p0, p1,
 *              accumulate, dtype) */
static PyObject *py_act_backward(PyObject *self, PyObject *args) {
    PyObject *o[6];
    Py_ssize_t outer, C, inner;
    int64_t n;
    int kind, acc, dtype, st;
    double p0, p1;
    Py_buffer v[6];
    const char *k = "act_backward";
    if (!PyArg_ParseTuple(args, "OOOOOOnnniddii", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &outer, &C, &inner, &kind,
                          &p0, &p1, &acc, &dtype))
        return NULL;
    if (zoo_check_dtype(dtype, k) < 0 || zoo_count3(outer, C, inner, &n) < 0 || check_kind(kind, k) < 0) return NULL;
    const zoo_arg a[6] = {{o[0], n, 1, 1, "dx"}, {o[1], C, 1, 1, "db"}, {o[2], n, 0, 0, "dy"},
                          {o[3], n, 0, 1, "x"},  {o[4], C, 0, 1, "b"},  {o[5], n, 0, 1, "y"}};
    if (zoo_take_args(a, v, 6, dtype, k) < 0) return NULL;
    const int src = act_src[kind];
    if ((src == 1 && v[5].buf == NULL) || (src == 2 && v[3].buf == NULL) ||
        (src == 2 && v[1].buf != NULL && v[4].buf == NULL)) {
        zoo_release_buffers(v, 6);
        PyErr_Format(PyExc_ValueError, "%s: activation %d needs %s", k, kind,
                     src == 1 ? "the output y" : (v[3].buf == NULL ? "the input x" : "the bias b for db"));
        return NULL;
    }
    if (zoo_outputs_overlap(v, 2, 6)) return zoo_overlap_error(v, 6, k);
    ZOO_DISPATCH(st, dtype, act_backward, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, outer, C, inner,
                 kind, p0, p1, acc);
    zoo_release_buffers(v, 6);
    return zoo_status_to_py(st, k);
}

PyMethodDef zoo_act_methods[] = {
    {"relu_forward", py_relu_forward, METH_VARARGS, "relu_forward(out, x, n, dtype)"},
    {"relu_backward", py_relu_backward, METH_VARARGS, "relu_backward(dx, dy, y, n, dtype)"},
    {"act_forward", py_act_forward, METH_VARARGS, "act_forward(out, x, b, outer, C, inner, kind, p0, p1, dtype)"},
    {"act_backward", py_act_backward, METH_VARARGS,
     "act_backward(dx, db, dy, x, b, y, outer, C, inner, kind, p0, p1, accumulate, dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------ */

#include "zoo_math.h"

static inline T S(sigm)(T v) {
    T e = ZEXP(v < 0 ? v : -v); /* exp(-|v|) never overflows */
    T r = (T)1 / ((T)1 + e);
    return v >= 0 ? r : e * r;
}

static inline T S(clip01)(T v) { return v < 0 ? (T)0 : (v > 1 ? (T)1 : v); }

/* One elementwise pass: `EXPR` of v = x[i] + bias (forward) or of v and/or w = y[i] (backward). */
#define ACT_FWD(EXPR)                        \
    for (int64_t i = 0; i < n; i++) {        \
        const T v = x[i] + bias;             \
        out[i] = (EXPR);                     \
    }                                        \
    break
#define ACT_BWD_Y(EXPR)                      \
    for (int64_t i = 0; i < n; i++) {        \
        const T w = y[i];                    \
        g[i] = dy[i] * (EXPR);               \
    }                                        \
    break
#define ACT_BWD_X(EXPR)                      \
    for (int64_t i = 0; i < n; i++) {        \
        const T v = x[i] + bias;             \
        g[i] = dy[i] * (EXPR);               \
    }                                        \
    break

/* out[i] = f(x[i] + bias), i < n; out and x do not overlap. */
ZOO_MULTIVERSION static void S(act_fwd_tile)(T *restrict out, const T *restrict x, int64_t n, T bias, int kind, T p0,
                                             T p1) {
    const T c = (T)0.7978845608028654, k = (T)0.044715;
    switch (kind) {
    case ACT_IDENTITY: ACT_FWD(v);
    case ACT_RELU: ACT_FWD(v > 0 ? v : (T)0);
    case ACT_LEAKY:
    case ACT_LEAKY_X: ACT_FWD(v > 0 ? v : p0 * v);
    case ACT_ELU:
    case ACT_ELU_X: ACT_FWD(v > 0 ? v : p0 * ZEXPM1(v));
    case ACT_SELU: ACT_FWD(v > 0 ? p1 * v : (p1 * p0) * ZEXPM1(v));
    case ACT_GELU:
        for (int64_t i = 0; i < n; i++) {
            const T v = x[i] + bias;
            T cdf;
            (void)ZGAUSS(v, &cdf);
            out[i] = v * cdf;
        }
        break;
    case ACT_GELU_TANH: ACT_FWD(v * S(sigm)((T)2 * c * (v + k * v * v * v))); /* (1 + tanh u)/2 = sigmoid(2u) */
    case ACT_SIGMOID: ACT_FWD(S(sigm)(v));
    case ACT_HARD_SIGMOID: ACT_FWD(S(clip01)(p0 * v + p1));
    case ACT_TANH: ACT_FWD(ZTANH(v));
    case ACT_SOFTPLUS: ACT_FWD((v > 0 ? v : (T)0) + ZLOG1P01(ZEXP(v < 0 ? v : -v)));
    case ACT_SOFTSIGN: ACT_FWD(v / ((T)1 + (v < 0 ? -v : v)));
    case ACT_SWISH: ACT_FWD(v * S(sigm)(v));
    case ACT_RELU6: ACT_FWD(v > 0 ? (v < 6 ? v : (T)6) : (T)0);
    case ACT_HARD_SWISH: ACT_FWD(v * S(clip01)(p0 * v + p1));
    case ACT_EXP: ACT_FWD(ZEXP(v));
    default: break;
    }
}

/* g[i] = dy[i] * f'(x[i] + bias), from the input x or the output y as the kind says. */
ZOO_MULTIVERSION static void S(act_bwd_tile)(T *restrict g, const T *restrict dy, const T *restrict x,
                                             const T *restrict y, int64_t n, T bias, int kind, T p0, T p1) {
    const T c = (T)0.7978845608028654, k = (T)0.044715;
    const T rpi = (T)0.3989422804014327; /* 1/sqrt(2 pi) */
    switch (kind) {
    case ACT_IDENTITY:
        for (int64_t i = 0; i < n; i++) g[i] = dy[i];
        break;
    case ACT_RELU: ACT_BWD_Y(w > 0 ? (T)1 : (T)0);
    case ACT_LEAKY: ACT_BWD_Y(w > 0 ? (T)1 : p0);
    case ACT_LEAKY_X: ACT_BWD_X(v > 0 ? (T)1 : p0);
    case ACT_ELU: ACT_BWD_Y(w > 0 ? (T)1 : w + p0);
    case ACT_ELU_X: ACT_BWD_X(v > 0 ? (T)1 : p0 * ZEXP(v));
    case ACT_SELU: ACT_BWD_Y(w > 0 ? p1 : w + p1 * p0);
    case ACT_GELU:
        for (int64_t i = 0; i < n; i++) {
            const T v = x[i] + bias;
            T cdf;
            const T e = ZGAUSS(v, &cdf);
            g[i] = dy[i] * (cdf + v * rpi * e);
        }
        break;
    case ACT_GELU_TANH:
        for (int64_t i = 0; i < n; i++) {
            const T v = x[i] + bias, s = S(sigm)((T)2 * c * (v + k * v * v * v));
            g[i] = dy[i] * (s + v * (T)2 * s * ((T)1 - s) * c * ((T)1 + (T)3 * k * v * v));
        }
        break;
    case ACT_SIGMOID: ACT_BWD_Y(w * ((T)1 - w));
    case ACT_HARD_SIGMOID: ACT_BWD_Y(w > 0 && w < 1 ? p0 : (T)0);
    case ACT_TANH: ACT_BWD_Y((T)1 - w * w);
    case ACT_SOFTPLUS: ACT_BWD_Y(-ZEXPM1(-w));
    case ACT_SOFTSIGN:
        for (int64_t i = 0; i < n; i++) {
            const T v = x[i] + bias, d = (T)1 + (v < 0 ? -v : v);
            g[i] = dy[i] / (d * d);
        }
        break;
    case ACT_SWISH:
        for (int64_t i = 0; i < n; i++) {
            const T v = x[i] + bias, s = S(sigm)(v);
            g[i] = dy[i] * (s * ((T)1 + v * ((T)1 - s)));
        }
        break;
    case ACT_RELU6: ACT_BWD_Y(w > 0 && w < 6 ? (T)1 : (T)0);
    case ACT_HARD_SWISH:
        for (int64_t i = 0; i < n; i++) {
            const T v = x[i] + bias, u = p0 * v + p1;
            g[i] = dy[i] * (S(clip01)(u) + (u > 0 && u < 1 ? p0 * v : (T)0));
        }
        break;
    case ACT_EXP: ACT_BWD_Y(w);
    default: break;
    }
}

ZOO_MULTIVERSION static void S(vadd)(T *restrict out, const T *restrict a, const T *restrict b, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

ZOO_MULTIVERSION static void S(vacc)(T *restrict out, const T *restrict a, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] += a[i];
}

/* acc[c] += g[c], c < n, into double accumulators (a column sum over rows). */
ZOO_MULTIVERSION static void S(colacc)(double *restrict acc, const T *restrict g, int64_t n) {
    for (int64_t i = 0; i < n; i++) acc[i] += (double)g[i];
}

/* out = f(x + bias) over n elements; out may be x itself (then it goes through a tile copy). */
static void S(act_fwd_span)(T *out, const T *x, int64_t n, T bias, int kind, T p0, T p1) {
    if (out != x) {
        S(act_fwd_tile)(out, x, n, bias, kind, p0, p1);
        return;
    }
    T tile[ACT_TILE];
    for (int64_t lo = 0; lo < n; lo += ACT_TILE) {
        int64_t m = n - lo < ACT_TILE ? n - lo : ACT_TILE;
        memcpy(tile, x + lo, (size_t)m * sizeof(T));
        S(act_fwd_tile)(out + lo, tile, m, bias, kind, p0, p1);
    }
}

/* act forward: out = f(x + b) with x, out (outer, C, inner) and b (C,) broadcast along C
 * (b may be NULL: no bias). Overwrites out, which may be x itself but must not overlap it
 * otherwise. */
static int S(act_forward)(T *out, const T *x, const T *b, int64_t outer, int64_t C, int64_t inner, int kind, T p0,
                          T p1) {
    if (kind < 0 || kind >= ACT_COUNT || outer < 0 || C < 0 || inner < 0) return ZOO_EINVAL;
    const int64_t n = outer * C * inner;
    if (n == 0) return ZOO_OK;
    if (b == NULL) {
        const int64_t chunks = (n + ACT_CHUNK - 1) / ACT_CHUNK;
        ZOO_PARFOR(n >= ACT_PAR,
            for (int64_t k = 0; k < chunks; k++) {
                int64_t lo = k * ACT_CHUNK, m = n - lo < ACT_CHUNK ? n - lo : ACT_CHUNK;
                S(act_fwd_span)(out + lo, x + lo, m, (T)0, kind, p0, p1);
            });
    } else if (inner > 1) { /* one bias value per contiguous segment of `inner` */
        const int64_t segs = outer * C;
        ZOO_PARFOR(n >= ACT_PAR,
            for (int64_t s = 0; s < segs; s++)
                S(act_fwd_span)(out + s * inner, x + s * inner, inner, b[s % C], kind, p0, p1););
    } else { /* rows of C with the bias vector: z = x + b in an L1 tile, then f(z) */
        ZOO_PARFOR(n >= ACT_PAR,
            for (int64_t r = 0; r < outer; r++) {
                T tile[ACT_TILE];
                for (int64_t lo = 0; lo < C; lo += ACT_TILE) {
                    int64_t m = C - lo < ACT_TILE ? C - lo : ACT_TILE;
                    S(vadd)(tile, x + r * C + lo, b + lo, m);
                    S(act_fwd_tile)(out + r * C + lo, tile, m, (T)0, kind, p0, p1);
                }
            });
    }
    return ZOO_OK;
}

/* dz = dy f'(x + bias) over a span of n elements, in tiles: written (accumulate == 0) or added
 * (accumulate != 0) into dx when dx is not NULL, and summed into the 16 lanes acc when acc is
 * not NULL. `ztile` non-NULL means x is a row of C to which the bias vector b is added. */
static void S(act_bwd_span)(T *dx, double *acc, const T *dy, const T *x, const T *bvec, const T *y, int64_t n,
                            T bias, int kind, T p0, T p1, int accumulate) {
    T tile[ACT_TILE], ztile[ACT_TILE];
    for (int64_t lo = 0; lo < n; lo += ACT_TILE) {
        const int64_t m = n - lo < ACT_TILE ? n - lo : ACT_TILE;
        const T *xs = x ? x + lo : NULL;
        if (x && bvec) {
            S(vadd)(ztile, x + lo, bvec + lo, m);
            xs = ztile;
        }
        T *g = (dx && !accumulate) ? dx + lo : tile;
        S(act_bwd_tile)(g, dy + lo, xs, y ? y + lo : NULL, m, bias, kind, p0, p1);
        if (dx && accumulate) S(vacc)(dx + lo, tile, m);
        if (acc) S(sum16)(acc, g, m);
    }
}

/* act backward: dz = dy * f'(x + b) with dy, x, y, dx (outer, C, inner) and b, db (C,).
 * x (and b) are read by the kinds whose derivative needs the input, y by those that use the
 * output; the others may be NULL. dx (if not NULL) gets dz, db (if not NULL) the sums of dz
 * over outer and inner; both are overwritten when accumulate == 0 and added into otherwise. */
static int S(act_backward)(T *dx, T *db, const T *dy, const T *x, const T *b, const T *y, int64_t outer, int64_t C,
                           int64_t inner, int kind, T p0, T p1, int accumulate) {
    if (kind < 0 || kind >= ACT_COUNT || outer < 0 || C < 0 || inner < 0) return ZOO_EINVAL;
    if ((act_src[kind] == 1 && y == NULL) || (act_src[kind] == 2 && x == NULL) || (x != NULL && db != NULL && b == NULL))
        return ZOO_EINVAL;
    if (act_src[kind] != 2) x = NULL; /* the bias only matters where the input is read */
    const int64_t n = outer * C * inner;
    if (db != NULL && !accumulate)
        for (int64_t c = 0; c < C; c++) db[c] = 0;
    if (n == 0) return ZOO_OK;
    if (db == NULL && (b == NULL || x == NULL || inner == 1)) {
        if (b != NULL && x != NULL) { /* rows with the bias vector (inner == 1) */
            ZOO_PARFOR(n >= ACT_PAR,
                for (int64_t r = 0; r < outer; r++)
                    S(act_bwd_span)(dx ? dx + r * C : NULL, NULL, dy + r * C, x + r * C, b, y ? y + r * C : NULL, C,
                                    (T)0, kind, p0, p1, accumulate););
        } else {
            const int64_t chunks = (n + ACT_CHUNK - 1) / ACT_CHUNK;
            ZOO_PARFOR(n >= ACT_PAR,
                for (int64_t k = 0; k < chunks; k++) {
                    int64_t lo = k * ACT_CHUNK, m = n - lo < ACT_CHUNK ? n - lo : ACT_CHUNK;
                    S(act_bwd_span)(dx ? dx + lo : NULL, NULL, dy + lo, x ? x + lo : NULL, NULL, y ? y + lo : NULL, m,
                                    (T)0, kind, p0, p1, accumulate);
                });
        }
        return ZOO_OK;
    }
    if (inner > 1) { /* segments (o, c); db[c] = sum over o of the segment sums */
        const int64_t segs = outer * C;
        double *part = (double *)malloc((size_t)(db ? segs : 1) * sizeof(double));
        if (part == NULL) return ZOO_ENOMEM;
        ZOO_PARFOR(n >= ACT_PAR,
            for (int64_t s = 0; s < segs; s++) {
                double acc[16] = {0};
                const int64_t off = s * inner;
                S(act_bwd_span)(dx ? dx + off : NULL, db ? acc : NULL, dy + off, x ? x + off : NULL, NULL,
                                y ? y + off : NULL, inner, b ? b[s % C] : (T)0, kind, p0, p1, accumulate);
                if (db) part[s] = zoo_fold16(acc);
            });
        if (db)
            for (int64_t c = 0; c < C; c++) {
                double t = 0;
                for (int64_t o = 0; o < outer; o++) t += part[o * C + c];
                db[c] += (T)t;
            }
        free(part);
        return ZOO_OK;
    }
    /* inner == 1, db wanted: blocks of rows (fixed by the shape) keep column sums, then added up */
    int64_t rows = ACT_CHUNK / (C > 0 ? C : 1);
    rows = rows < 1 ? 1 : rows;
    const int64_t blocks = (outer + rows - 1) / rows;
    double *part = (double *)calloc((size_t)(blocks * C), sizeof(double));
    if (part == NULL) return ZOO_ENOMEM;
    ZOO_PARFOR(n >= ACT_PAR,
        for (int64_t k = 0; k < blocks; k++) {
            T tile[ACT_TILE];
            const int64_t r1 = (k + 1) * rows < outer ? (k + 1) * rows : outer;
            for (int64_t r = k * rows; r < r1; r++)
                for (int64_t lo = 0; lo < C; lo += ACT_TILE) {
                    const int64_t m = C - lo < ACT_TILE ? C - lo : ACT_TILE, off = r * C + lo;
                    T *g = (dx && !accumulate) ? dx + off : tile;
                    const T *xs = NULL;
                    T ztile[ACT_TILE];
                    if (x) {
                        S(vadd)(ztile, x + off, b + lo, m);
                        xs = ztile;
                    }
                    S(act_bwd_tile)(g, dy + off, xs, y ? y + off : NULL, m, (T)0, kind, p0, p1);
                    if (dx && accumulate) S(vacc)(dx + off, tile, m);
                    S(colacc)(part + k * C + lo, g, m);
                }
        });
    ZOO_PARFOR(C >= 4096 && blocks > 1,
        for (int64_t c = 0; c < C; c++) {
            double t = 0;
            for (int64_t k = 0; k < blocks; k++) t += part[k * C + c];
            db[c] += (T)t;
        });
    free(part);
    return ZOO_OK;
}

#undef ACT_FWD
#undef ACT_BWD_Y
#undef ACT_BWD_X

#endif
