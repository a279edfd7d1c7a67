/* rnn.c: SimpleRNN and LSTM cells, one time step at a time (layout, equations, masking and the
 * backward pass of the recurrent kernels: see rnn.h; GRU cells: gru.c).
 *
 * The kernels are written once between `#else` and `#endif` with T and S(name), and built for
 * float and double through zoo_template.h.
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

ZOO_NO_TRAPPING_MATH

#include "rnn.h"

#define ZOO_TEMPLATE "rnn.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------------- */

static int check_act(int kind, const char *k, const char *what) {
    if (kind >= 0 && kind < RA_COUNT) return 0;
    PyErr_Format(PyExc_ValueError, "%s: %s code must be in [0, %d), got %d", k, what, RA_COUNT, kind);
    return -1;
}

/* B, T, U >= 1, 0 <= s < T, 0 <= b0 < b1 <= B, and B T U G fits */
static int check_dims(int64_t B, int64_t Tn, int64_t U, int64_t s, int64_t b0, int64_t b1, int64_t G,
                      const char *k) {
    int64_t n;
    if (B < 1 || Tn < 1 || U < 1 || s < 0 || s >= Tn || b0 < 0 || b1 <= b0 || b1 > B) {
        PyErr_Format(PyExc_ValueError,
                     "%s: expected B, T, U >= 1, 0 <= step < T and 0 <= b0 < b1 <= B, got B=%lld T=%lld U=%lld "
                     "step=%lld rows [%lld, %lld)",
                     k, (long long)B, (long long)Tn, (long long)U, (long long)s, (long long)b0, (long long)b1);
        return -1;
    }
    return zoo_count3(B, Tn, U * G, &n);
}

/* declared in rnn.h */
int zoo_rnn_check_step(int dtype, int64_t B, int64_t Tn, int64_t U, int64_t s, int64_t b0, int64_t b1, int64_t G,
                       const int *act, const int *ract, const char *k) {
    if (zoo_check_dtype(dtype, k) < 0 || check_dims(B, Tn, U, s, b0, b1, G, k) < 0) return -1;
    if (act && check_act(*act, k, "activation") < 0) return -1;
    if (ract && check_act(*ract, k, "recurrent activation") < 0) return -1;
    return 0;
}

/* simple_rnn_forward_step(hs, xp, g|None, bias|None, mask|None, h0|None, B, T, U, s, b0, b1, act, p0, p1,
 *                         dtype) */
static PyObject *py_simple_rnn_forward_step(PyObject *self, PyObject *args) {
    PyObject *o[6];
    Py_ssize_t B, Tn, U, s, b0, b1;
    int act, dtype, st;
    double p0, p1;
    Py_buffer v[6];
    const char *k = "simple_rnn_forward_step";
    if (!PyArg_ParseTuple(args, "OOOOOOnnnnnniddi", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &B, &Tn, &U, &s, &b0,
                          &b1, &act, &p0, &p1, &dtype))
        return NULL;
    if (zoo_rnn_check_step(dtype, B, Tn, U, s, b0, b1, 1, &act, NULL, k) < 0) return NULL;
    const int64_t BTU = B * Tn * U;
    const zoo_arg a[6] = {{o[0], BTU, 1, 0, "hs"}, {o[1], BTU, 0, 0, "xp"}, {o[2], B * U, 0, 1, "g"},
                          {o[3], U, 0, 1, "bias"}, {o[4], B * Tn, 0, 1, "mask"}, {o[5], B * U, 0, 1, "h0"}};
    if (zoo_take_all(a, v, 6, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, simple_rnn_forward_step, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, B,
                 Tn, U, s, b0, b1, act, p0, p1);
    zoo_release_buffers(v, 6);
    return zoo_status_to_py(st, k);
}

/* simple_rnn_backward_step(dxp, dcarry, dbp|None, dhr|None, dseq|None, hs, mask|None, B, T, U, s, b0, b1, act,
 *                          p0, dtype)   dbp: (ceil(B / 16), U) bias-gradient partial sums per 16-row group */
static PyObject *py_simple_rnn_backward_step(PyObject *self, PyObject *args) {
    PyObject *o[7];
    Py_ssize_t B, Tn, U, s, b0, b1;
    int act, dtype, st;
    double p0;
    Py_buffer v[7];
    const char *k = "simple_rnn_backward_step";
    if (!PyArg_ParseTuple(args, "OOOOOOOnnnnnnidi", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &B, &Tn, &U,
                          &s, &b0, &b1, &act, &p0, &dtype))
        return NULL;
    if (zoo_rnn_check_step(dtype, B, Tn, U, s, b0, b1, 1, &act, NULL, k) < 0) return NULL;
    const int64_t BTU = B * Tn * U;
    const zoo_arg a[7] = {{o[0], BTU, 1, 0, "dxp"},    {o[1], B * U, 1, 0, "dcarry"},
                          {o[2], rnn_groups(B) * U, 1, 1, "dbp"},
                          {o[3], B * U, 0, 1, "dhr"}, {o[4], BTU, 0, 1, "dseq"}, {o[5], BTU, 0, 0, "hs"},
                          {o[6], B * Tn, 0, 1, "mask"}};
    if (zoo_take_all(a, v, 7, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, simple_rnn_backward_step, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf,
                 v[6].buf, B, Tn, U, s, b0, b1, act, p0);
    zoo_release_buffers(v, 7);
    return zoo_status_to_py(st, k);
}

/* lstm_forward_step(gates, hs, cs, tc, xp, g|None, bias|None, mask|None, h0|None, c0|None, B, T, U, s, b0, b1,
 *                   act, ap0, ap1, ract, rp0, rp1, dtype) */
static PyObject *py_lstm_forward_step(PyObject *self, PyObject *args) {
    PyObject *o[10];
    Py_ssize_t B, Tn, U, s, b0, b1;
    int act, ract, dtype, st;
    double ap0, ap1, rp0, rp1;
    Py_buffer v[10];
    const char *k = "lstm_forward_step";
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOnnnnnniddiddi", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7],
                          &o[8], &o[9], &B, &Tn, &U, &s, &b0, &b1, RNN_PARSE_ACT2, &dtype))
        return NULL;
    if (zoo_rnn_check_step(dtype, B, Tn, U, s, b0, b1, 4, &act, &ract, k) < 0) return NULL;
    const int64_t BTU = B * Tn * U;
    const zoo_arg a[10] = {{o[0], 4 * BTU, 1, 0, "gates"}, {o[1], BTU, 1, 0, "hs"},      {o[2], BTU, 1, 0, "cs"},
                           {o[3], BTU, 1, 0, "tc"},        {o[4], 4 * BTU, 0, 0, "xp"},  {o[5], 4 * B * U, 0, 1, "g"},
                           {o[6], 4 * U, 0, 1, "bias"},    {o[7], B * Tn, 0, 1, "mask"}, {o[8], B * U, 0, 1, "h0"},
                           {o[9], B * U, 0, 1, "c0"}};
    if (zoo_take_all(a, v, 10, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, lstm_forward_step, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, v[6].buf,
                 v[7].buf, v[8].buf, v[9].buf, B, Tn, U, s, b0, b1, act, ap0, ap1, ract, rp0, rp1);
    zoo_release_buffers(v, 10);
    return zoo_status_to_py(st, k);
}

/* lstm_backward_step(dgates, dc, dcarry, dbp|None, dhr|None, dseq|None, gates, cs, tc, c0|None, mask|None,
 *                    B, T, U, s, b0, b1, act, ap0, ract, rp0, dtype) */
static PyObject *py_lstm_backward_step(PyObject *self, PyObject *args) {
    PyObject *o[11];
    Py_ssize_t B, Tn, U, s, b0, b1;
    int act, ract, dtype, st;
    double ap0, rp0;
    Py_buffer v[11];
    const char *k = "lstm_backward_step";
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOnnnnnnididi", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7],
                          &o[8], &o[9], &o[10], &B, &Tn, &U, &s, &b0, &b1, &act, &ap0, &ract, &rp0, &dtype))
        return NULL;
    if (zoo_rnn_check_step(dtype, B, Tn, U, s, b0, b1, 4, &act, &ract, k) < 0) return NULL;
    const int64_t BTU = B * Tn * U;
    const zoo_arg a[11] = {{o[0], 4 * BTU, 1, 0, "dgates"},
                           {o[1], B * U, 1, 0, "dc"},
                           {o[2], B * U, 1, 0, "dcarry"},
                           {o[3], rnn_groups(B) * 4 * U, 1, 1, "dbp"},
                           {o[4], B * U, 0, 1, "dhr"},
                           {o[5], BTU, 0, 1, "dseq"},
                           {o[6], 4 * BTU, 0, 0, "gates"},
                           {o[7], BTU, 0, 0, "cs"},
                           {o[8], BTU, 0, 0, "tc"},
                           {o[9], B * U, 0, 1, "c0"},
                           {o[10], B * Tn, 0, 1, "mask"}};
    if (zoo_take_all(a, v, 11, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, lstm_backward_step, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, v[6].buf,
                 v[7].buf, v[8].buf, v[9].buf, v[10].buf, B, Tn, U, s, b0, b1, act, ap0, ract, rp0);
    zoo_release_buffers(v, 11);
    return zoo_status_to_py(st, k);
}

PyMethodDef zoo_rnn_methods[] = {
    {"simple_rnn_forward_step", py_simple_rnn_forward_step, METH_VARARGS,
     "simple_rnn_forward_step(hs, xp, g, bias, mask, h0, B, T, U, s, act, p0, p1, dtype)"},
    {"simple_rnn_backward_step", py_simple_rnn_backward_step, METH_VARARGS,
     "simple_rnn_backward_step(dxp, dcarry, db, dhr, dseq, hs, mask, B, T, U, s, act, p0, dtype)"},
    {"lstm_forward_step", py_lstm_forward_step, METH_VARARGS,
     "lstm_forward_step(gates, hs, cs, tc, xp, g, bias, mask, h0, c0, B, T, U, s, act, ap0, ap1, ract, rp0, rp1, "
     "dtype)"},
    {"lstm_backward_step", py_lstm_backward_step, METH_VARARGS,
     "lstm_backward_step(dgates, dc, dcarry, db, dhr, dseq, gates, cs, tc, c0, mask, B, T, U, s, act, ap0, ract, "
     "rp0, dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------------ */

#include "rnn.h"

/* ---- SimpleRNN ---------------------------------------------------------------------------- */

static int S(simple_rnn_forward_step)(T *hs, const T *xp, const T *g, const T *bias, const T *mask, const T *h0,
                                      int64_t B, int64_t Tn, int64_t U, int64_t s, int64_t b0, int64_t b1, int act,
                                      T p0, T p1) {
    RNN_FOR_BLOCKS(b1 - b0, U, {
        for (int64_t b = b0; b < b1; b++) {
            const int64_t row = b * Tn + s;
            T *hr = hs + row * U + u0;
            if (mask && mask[row] == 0) {
                S(copy_or_zero)(hr, S(prev_row)(hs, h0, b, Tn, U, s, u0), n);
                continue;
            }
            S(rnn_sum3)(hr, xp + row * U + u0, g ? g + b * U + u0 : NULL, bias ? bias + u0 : NULL, n);
            S(rnn_act)(hr, n, act, p0, p1);
        }
    });
    return ZOO_OK;
}

static int S(simple_rnn_backward_step)(T *dxp, T *dcarry, T *dbp, const T *dhr, const T *dseq, const T *hs,
                                       const T *mask, int64_t B, int64_t Tn, int64_t U, int64_t s, int64_t b0,
                                       int64_t b1, int act, T p0) {
    RNN_FOR_BLOCKS(b1 - b0, U, {
        for (int64_t b = b0; b < b1; b++) {
            const int64_t row = b * Tn + s;
            T *d = dxp + row * U + u0, *dca = dcarry + b * U + u0;
            S(rnn_sum3)(d, dca, dhr ? dhr + b * U + u0 : NULL, dseq ? dseq + row * U + u0 : NULL, n);
            if (mask && mask[row] == 0) {
                memcpy(dca, d, (size_t)n * sizeof(T));
                memset(d, 0, (size_t)n * sizeof(T));
                continue;
            }
            memset(dca, 0, (size_t)n * sizeof(T));
            S(rnn_dact)(d, hs + row * U + u0, n, act, p0);
            if (dbp) S(rnn_colacc)(S(dbp_row)(dbp, b, U) + u0, d, n);
        }
    });
    return ZOO_OK;
}

/* ---- LSTM --------------------------------------------------------------------------------- */

/* c = f cp + i g (cp NULL: 0), and a copy of c in tcv (the caller applies act to it) */
ZOO_MULTIVERSION static void S(lstm_cell)(T *restrict c, T *restrict tcv, const T *restrict gi, const T *restrict gf,
                                          const T *restrict gg, const T *restrict cp, int64_t n) {
    if (cp)
        for (int64_t u = 0; u < n; u++) c[u] = gf[u] * cp[u] + gi[u] * gg[u];
    else
        for (int64_t u = 0; u < n; u++) c[u] = gi[u] * gg[u];
    memcpy(tcv, c, (size_t)n * sizeof(T));
}

static int S(lstm_forward_step)(T *gates, T *hs, T *cs, T *tc, const T *xp, const T *g, const T *bias,
                                const T *mask, const T *h0, const T *c0, int64_t B, int64_t Tn, int64_t U, int64_t s,
                                int64_t b0, int64_t b1, int act, T ap0, T ap1, int ract, T rp0, T rp1) {
    const int64_t G = 4 * U;
    RNN_FOR_BLOCKS(b1 - b0, U, {
        for (int64_t b = b0; b < b1; b++) {
            const int64_t row = b * Tn + s;
            T *gt = gates + row * G, *hr = hs + row * U + u0, *cr = cs + row * U + u0, *tr = tc + row * U + u0;
            const T *cp = S(prev_row)(cs, c0, b, Tn, U, s, u0);
            if (mask && mask[row] == 0) {
                S(copy_or_zero)(hr, S(prev_row)(hs, h0, b, Tn, U, s, u0), n);
                S(copy_or_zero)(cr, cp, n);
                memcpy(tr, cr, (size_t)n * sizeof(T));
                S(rnn_act)(tr, n, act, ap0, ap1);
                for (int k = 0; k < 4; k++) memset(gt + k * U + u0, 0, (size_t)n * sizeof(T));
                continue;
            }
            for (int k = 0; k < 4; k++) {
                const int64_t o = k * U + u0;
                S(rnn_sum3)(gt + o, xp + row * G + o, g ? g + b * G + o : NULL, bias ? bias + o : NULL, n);
            }
            T *gi = gt + u0, *gf = gt + U + u0, *gg = gt + 2 * U + u0, *go = gt + 3 * U + u0;
            S(rnn_act)(gi, n, ract, rp0, rp1);
            S(rnn_act)(gf, n, ract, rp0, rp1);
            S(rnn_act)(gg, n, act, ap0, ap1);
            S(rnn_act)(go, n, ract, rp0, rp1);
            S(lstm_cell)(cr, tr, gi, gf, gg, cp, n);
            S(rnn_act)(tr, n, act, ap0, ap1);
            S(vmul)(hr, go, tr, n);
        }
    });
    return ZOO_OK;
}

/* dct = dc + dh o act'(tc) ; di = dct g ; df = dct cp ; dg = dct i ; do = dh tc ; dc = dct f */
ZOO_MULTIVERSION static void S(lstm_cell_back)(T *restrict di, T *restrict df, T *restrict dg, T *restrict dO,
                                               T *restrict dc, const T *restrict dh, const T *restrict dtc,
                                               const T *restrict gi, const T *restrict gf, const T *restrict gg,
                                               const T *restrict go, const T *restrict tcv, const T *restrict cp,
                                               int64_t n) {
    if (cp)
        for (int64_t u = 0; u < n; u++) {
            const T dct = dc[u] + dh[u] * go[u] * dtc[u];
            di[u] = dct * gg[u];
            df[u] = dct * cp[u];
            dg[u] = dct * gi[u];
            dO[u] = dh[u] * tcv[u];
            dc[u] = dct * gf[u];
        }
    else
        for (int64_t u = 0; u < n; u++) {
            const T dct = dc[u] + dh[u] * go[u] * dtc[u];
            di[u] = dct * gg[u];
            df[u] = 0;
            dg[u] = dct * gi[u];
            dO[u] = dh[u] * tcv[u];
            dc[u] = dct * gf[u];
        }
}

static int S(lstm_backward_step)(T *dgates, T *dc, T *dcarry, T *dbp, const T *dhr, const T *dseq, const T *gates,
                                 const T *cs, const T *tc, const T *c0, const T *mask, int64_t B, int64_t Tn,
                                 int64_t U, int64_t s, int64_t b0, int64_t b1, int act, T ap0, int ract, T rp0) {
    const int64_t G = 4 * U;
    RNN_FOR_BLOCKS(b1 - b0, U, {
        T dh[RNN_UBMAX], dtc[RNN_UBMAX];
        for (int64_t b = b0; b < b1; b++) {
            const int64_t row = b * Tn + s;
            T *dca = dcarry + b * U + u0, *dg = dgates + row * G;
            S(rnn_sum3)(dh, dca, dhr ? dhr + b * U + u0 : NULL, dseq ? dseq + row * U + u0 : NULL, n);
            if (mask && mask[row] == 0) {
                memcpy(dca, dh, (size_t)n * sizeof(T));
                for (int k = 0; k < 4; k++) memset(dg + k * U + u0, 0, (size_t)n * sizeof(T));
                continue;
            }
            memset(dca, 0, (size_t)n * sizeof(T));
            const T *gt = gates + row * G, *tr = tc + row * U + u0;
            for (int64_t u = 0; u < n; u++) dtc[u] = 1;
            S(rnn_dact)(dtc, tr, n, act, ap0);
            S(lstm_cell_back)(dg + u0, dg + U + u0, dg + 2 * U + u0, dg + 3 * U + u0, dc + b * U + u0, dh, dtc,
                              gt + u0, gt + U + u0, gt + 2 * U + u0, gt + 3 * U + u0, tr,
                              S(prev_row)(cs, c0, b, Tn, U, s, u0), n);
            S(rnn_dact)(dg + u0, gt + u0, n, ract, rp0);
            S(rnn_dact)(dg + U + u0, gt + U + u0, n, ract, rp0);
            S(rnn_dact)(dg + 2 * U + u0, gt + 2 * U + u0, n, act, ap0);
            S(rnn_dact)(dg + 3 * U + u0, gt + 3 * U + u0, n, ract, rp0);
            if (dbp) {
                T *acc = S(dbp_row)(dbp, b, G);
                for (int k = 0; k < 4; k++) S(rnn_colacc)(acc + k * U + u0, dg + k * U + u0, n);
            }
        }
    });
    return ZOO_OK;
}

#endif
