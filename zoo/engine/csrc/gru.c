/* gru.c: GRU cells, reset_after (Keras 3) and reset_before (Keras 1), one time step at a time
 * (layout, equations, masking and the backward pass of the recurrent kernels: see rnn.h).
 *
 * Built for float and double through zoo_template.h.
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

ZOO_NO_TRAPPING_MATH

#include "rnn.h"

#define ZOO_TEMPLATE "gru.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------------- */

/* gru_forward_step(gates, hs, xp, g|None, bi|None, br|None, mask|None, h0|None, B, T, U, s, b0, b1, act, ap0,
 *                  ap1, ract, rp0, rp1, dtype)   (reset_after: gates (B, T, 4U) = [z r hh gh]) */
static PyObject *py_gru_forward_step(PyObject *self, PyObject *args) {
    PyObject *o[8];
    Py_ssize_t B, Tn, U, s, b0, b1;
    int act, ract, dtype, st;
    double ap0, ap1, rp0, rp1;
    Py_buffer v[8];
    const char *k = "gru_forward_step";
    if (!PyArg_ParseTuple(args, "OOOOOOOOnnnnnniddiddi", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &B,
                          &Tn, &U, &s, &b0, &b1, RNN_PARSE_ACT2, &dtype))
        return NULL;
    if (zoo_rnn_check_step(dtype, B, Tn, U, s, b0, b1, 4, &act, &ract, k) < 0) return NULL;
    const int64_t BTU = B * Tn * U;
    const zoo_arg a[8] = {{o[0], 4 * BTU, 1, 0, "gates"}, {o[1], BTU, 1, 0, "hs"},       {o[2], 3 * BTU, 0, 0, "xp"},
                          {o[3], 3 * B * U, 0, 1, "g"},   {o[4], 3 * U, 0, 1, "bi"},     {o[5], 3 * U, 0, 1, "br"},
                          {o[6], B * Tn, 0, 1, "mask"},   {o[7], B * U, 0, 1, "h0"}};
    if (zoo_take_all(a, v, 8, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, gru_forward_step, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, v[6].buf,
                 v[7].buf, B, Tn, U, s, b0, b1, act, ap0, ap1, ract, rp0, rp1);
    zoo_release_buffers(v, 8);
    return zoo_status_to_py(st, k);
}

/* gru_backward_step(dxp, dgr, dcarry, dbpi|None, dbpr|None, dhr|None, dseq|None, gates, hs, h0|None,
 *                   mask|None, B, T, U, s, b0, b1, act, ap0, ract, rp0, dtype) */
static PyObject *py_gru_backward_step(PyObject *self, PyObject *args) {
    PyObject *o[11];
    Py_ssize_t B, Tn, U, s, b0, b1;
    int act, ract, dtype, st;
    double ap0, rp0;
    Py_buffer v[11];
    const char *k = "gru_backward_step";
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOnnnnnnididi", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7],
                          &o[8], &o[9], &o[10], &B, &Tn, &U, &s, &b0, &b1, &act, &ap0, &ract, &rp0, &dtype))
        return NULL;
    if (zoo_rnn_check_step(dtype, B, Tn, U, s, b0, b1, 4, &act, &ract, k) < 0) return NULL;
    const int64_t BTU = B * Tn * U, nb = rnn_groups(B) * 3 * U;
    const zoo_arg a[11] = {{o[0], 3 * BTU, 1, 0, "dxp"}, {o[1], 3 * BTU, 1, 0, "dgr"},   {o[2], B * U, 1, 0, "dcarry"},
                           {o[3], nb, 1, 1, "dbpi"},     {o[4], nb, 1, 1, "dbpr"},        {o[5], B * U, 0, 1, "dhr"},
                           {o[6], BTU, 0, 1, "dseq"},    {o[7], 4 * BTU, 0, 0, "gates"}, {o[8], BTU, 0, 0, "hs"},
                           {o[9], B * U, 0, 1, "h0"},    {o[10], B * Tn, 0, 1, "mask"}};
    if (zoo_take_all(a, v, 11, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, gru_backward_step, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, v[6].buf,
                 v[7].buf, v[8].buf, v[9].buf, v[10].buf, B, Tn, U, s, b0, b1, act, ap0, ract, rp0);
    zoo_release_buffers(v, 11);
    return zoo_status_to_py(st, k);
}

/* gru1_forward_gates(gates, rh, hs, xp, g1|None, bias|None, mask|None, h0|None, B, T, U, s, b0, b1, ract, rp0,
 *                    rp1, dtype)   (reset_before, first half: gates (B, T, 3U) = [z r hh], rh (B, T, U)) */
static PyObject *py_gru1_forward_gates(PyObject *self, PyObject *args) {
    PyObject *o[8];
    Py_ssize_t B, Tn, U, s, b0, b1;
    int ract, dtype, st;
    double rp0, rp1;
    Py_buffer v[8];
    const char *k = "gru1_forward_gates";
    if (!PyArg_ParseTuple(args, "OOOOOOOOnnnnnniddi", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &B,
                          &Tn, &U, &s, &b0, &b1, &ract, &rp0, &rp1, &dtype))
        return NULL;
    if (zoo_rnn_check_step(dtype, B, Tn, U, s, b0, b1, 3, NULL, &ract, k) < 0) return NULL;
    const int64_t BTU = B * Tn * U;
    /* hs is only read here (h_{s-1}) */
    const zoo_arg a[8] = {{o[0], 3 * BTU, 1, 0, "gates"}, {o[1], BTU, 1, 0, "rh"},       {o[2], BTU, 0, 0, "hs"},
                          {o[3], 3 * BTU, 0, 0, "xp"},    {o[4], 2 * B * U, 0, 1, "g1"}, {o[5], 3 * U, 0, 1, "bias"},
                          {o[6], B * Tn, 0, 1, "mask"},   {o[7], B * U, 0, 1, "h0"}};
    if (zoo_take_all(a, v, 8, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, gru1_forward_gates, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, v[6].buf,
                 v[7].buf, B, Tn, U, s, b0, b1, ract, rp0, rp1);
    zoo_release_buffers(v, 8);
    return zoo_status_to_py(st, k);
}

/* gru1_forward_state(gates, hs, xp, g2|None, bias|None, mask|None, h0|None, B, T, U, s, b0, b1, act, ap0, ap1,
 *                    dtype)   (reset_before, second half: hh and h) */
static PyObject *py_gru1_forward_state(PyObject *self, PyObject *args) {
    PyObject *o[7];
    Py_ssize_t B, Tn, U, s, b0, b1;
    int act, dtype, st;
    double ap0, ap1;
    Py_buffer v[7];
    const char *k = "gru1_forward_state";
    if (!PyArg_ParseTuple(args, "OOOOOOOnnnnnniddi", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &B, &Tn, &U,
                          &s, &b0, &b1, &act, &ap0, &ap1, &dtype))
        return NULL;
    if (zoo_rnn_check_step(dtype, B, Tn, U, s, b0, b1, 3, &act, NULL, k) < 0) return NULL;
    const int64_t BTU = B * Tn * U;
    const zoo_arg a[7] = {{o[0], 3 * BTU, 1, 0, "gates"}, {o[1], BTU, 1, 0, "hs"},    {o[2], 3 * BTU, 0, 0, "xp"},
                          {o[3], B * U, 0, 1, "g2"},      {o[4], 3 * U, 0, 1, "bias"}, {o[5], B * Tn, 0, 1, "mask"},
                          {o[6], B * U, 0, 1, "h0"}};
    if (zoo_take_all(a, v, 7, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, gru1_forward_state, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, v[6].buf,
                 B, Tn, U, s, b0, b1, act, ap0, ap1);
    zoo_release_buffers(v, 7);
    return zoo_status_to_py(st, k);
}

/* gru1_backward_state(dxp, dcarry, dhr|None, dseq|None, gates, hs, h0|None, mask|None, B, T, U, s, b0, b1, act,
 *                     ap0, ract, rp0, dtype)   (reset_before, first half of backward: dz, dhh, dcarry = z dh) */
static PyObject *py_gru1_backward_state(PyObject *self, PyObject *args) {
    PyObject *o[8];
    Py_ssize_t B, Tn, U, s, b0, b1;
    int act, ract, dtype, st;
    double ap0, rp0;
    Py_buffer v[8];
    const char *k = "gru1_backward_state";
    if (!PyArg_ParseTuple(args, "OOOOOOOOnnnnnnididi", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &B,
                          &Tn, &U, &s, &b0, &b1, &act, &ap0, &ract, &rp0, &dtype))
        return NULL;
    if (zoo_rnn_check_step(dtype, B, Tn, U, s, b0, b1, 3, &act, &ract, k) < 0) return NULL;
    const int64_t BTU = B * Tn * U;
    const zoo_arg a[8] = {{o[0], 3 * BTU, 1, 0, "dxp"},   {o[1], B * U, 1, 0, "dcarry"}, {o[2], B * U, 0, 1, "dhr"},
                          {o[3], BTU, 0, 1, "dseq"},      {o[4], 3 * BTU, 0, 0, "gates"}, {o[5], BTU, 0, 0, "hs"},
                          {o[6], B * U, 0, 1, "h0"},      {o[7], B * Tn, 0, 1, "mask"}};
    if (zoo_take_all(a, v, 8, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, gru1_backward_state, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, v[6].buf,
                 v[7].buf, B, Tn, U, s, b0, b1, act, ap0, ract, rp0);
    zoo_release_buffers(v, 8);
    return zoo_status_to_py(st, k);
}

/* gru1_backward_gates(dxp, dcarry, dbp|None, drh, gates, hs, h0|None, mask|None, B, T, U, s, b0, b1, ract, rp0,
 *                     dtype)   (reset_before, second half: dr from drh = dhh @ R_h^T, dcarry += r drh, bias) */
static PyObject *py_gru1_backward_gates(PyObject *self, PyObject *args) {
    PyObject *o[8];
    Py_ssize_t B, Tn, U, s, b0, b1;
    int ract, dtype, st;
    double rp0;
    Py_buffer v[8];
    const char *k = "gru1_backward_gates";
    if (!PyArg_ParseTuple(args, "OOOOOOOOnnnnnnidi", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &B,
                          &Tn, &U, &s, &b0, &b1, &ract, &rp0, &dtype))
        return NULL;
    if (zoo_rnn_check_step(dtype, B, Tn, U, s, b0, b1, 3, NULL, &ract, k) < 0) return NULL;
    const int64_t BTU = B * Tn * U;
    const zoo_arg a[8] = {{o[0], 3 * BTU, 1, 0, "dxp"},   {o[1], B * U, 1, 0, "dcarry"},
                          {o[2], rnn_groups(B) * 3 * U, 1, 1, "dbp"},
                          {o[3], B * U, 0, 0, "drh"},     {o[4], 3 * BTU, 0, 0, "gates"}, {o[5], BTU, 0, 0, "hs"},
                          {o[6], B * U, 0, 1, "h0"},      {o[7], B * Tn, 0, 1, "mask"}};
    if (zoo_take_all(a, v, 8, dtype, k) < 0) return NULL;
    ZOO_DISPATCH(st, dtype, gru1_backward_gates, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, v[6].buf,
                 v[7].buf, B, Tn, U, s, b0, b1, ract, rp0);
    zoo_release_buffers(v, 8);
    return zoo_status_to_py(st, k);
}

PyMethodDef zoo_gru_methods[] = {
    {"gru_forward_step", py_gru_forward_step, METH_VARARGS,
     "gru_forward_step(gates, hs, xp, g, bi, br, mask, h0, B, T, U, s, act, ap0, ap1, ract, rp0, rp1, dtype)"},
    {"gru_backward_step", py_gru_backward_step, METH_VARARGS,
     "gru_backward_step(dxp, dgr, dcarry, dbi, dbr, dhr, dseq, gates, hs, h0, mask, B, T, U, s, act, ap0, ract, "
     "rp0, dtype)"},
    {"gru1_forward_gates", py_gru1_forward_gates, METH_VARARGS,
     "gru1_forward_gates(gates, rh, hs, xp, g1, bias, mask, h0, B, T, U, s, ract, rp0, rp1, dtype)"},
    {"gru1_forward_state", py_gru1_forward_state, METH_VARARGS,
     "gru1_forward_state(gates, hs, xp, g2, bias, mask, h0, B, T, U, s, act, ap0, ap1, dtype)"},
    {"gru1_backward_state", py_gru1_backward_state, METH_VARARGS,
     "gru1_backward_state(dxp, dcarry, dhr, dseq, gates, hs, h0, mask, B, T, U, s, act, ap0, ract, rp0, dtype)"},
    {"gru1_backward_gates", py_gru1_backward_gates, METH_VARARGS,
     "gru1_backward_gates(dxp, dcarry, db, drh, gates, hs, h0, mask, B, T, U, s, ract, rp0, dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------------ */

#include "rnn.h"

/* ---- GRU, reset_after (Keras 3) ----------------------------------------------------------- */

/* h = z hp + (1 - z) hh (hp NULL: 0) */
ZOO_MULTIVERSION static void S(gru_mix)(T *restrict h, const T *restrict z, const T *restrict hh,
                                        const T *restrict hp, int64_t n) {
    if (hp)
        for (int64_t u = 0; u < n; u++) h[u] = z[u] * hp[u] + ((T)1 - z[u]) * hh[u];
    else
        for (int64_t u = 0; u < n; u++) h[u] = ((T)1 - z[u]) * hh[u];
}

static int S(gru_forward_step)(T *gates, T *hs, const T *xp, const T *g, const T *bi, const T *br, const T *mask,
                               const T *h0, int64_t B, int64_t Tn, int64_t U, int64_t s, int64_t b0, int64_t b1,
                               int act, T ap0, T ap1, int ract, T rp0, T rp1) {
    RNN_FOR_BLOCKS(b1 - b0, U, {
        for (int64_t b = b0; b < b1; b++) {
            const int64_t row = b * Tn + s;
            T *gt = gates + row * 4 * U, *hr = hs + row * U + u0;
            const T *hp = S(prev_row)(hs, h0, b, Tn, U, s, u0), *xr = xp + row * 3 * U;
            const T *gr = g ? g + b * 3 * U : NULL;
            if (mask && mask[row] == 0) {
                S(copy_or_zero)(hr, hp, n);
                for (int k = 0; k < 4; k++) memset(gt + k * U + u0, 0, (size_t)n * sizeof(T));
                continue;
            }
            T *z = gt + u0, *r = gt + U + u0, *hh = gt + 2 * U + u0, *gh = gt + 3 * U + u0;
            for (int k = 0; k < 2; k++) {
                const int64_t o = k * U + u0;
                S(rnn_sum3)(gt + o, xr + o, gr ? gr + o : NULL, bi ? bi + o : NULL, n);
                if (br) S(rnn_colacc)(gt + o, br + o, n);
                S(rnn_act)(gt + o, n, ract, rp0, rp1);
            }
            /* gh = g_h + br_h */
            if (gr)
                S(rnn_sum3)(gh, gr + 2 * U + u0, br ? br + 2 * U + u0 : NULL, NULL, n);
            else
                S(copy_or_zero)(gh, br ? br + 2 * U + u0 : NULL, n);
            S(rnn_sum3)(hh, xr + 2 * U + u0, bi ? bi + 2 * U + u0 : NULL, NULL, n);
            S(vfma)(hh, r, gh, n);
            S(rnn_act)(hh, n, act, ap0, ap1);
            S(gru_mix)(hr, z, hh, hp, n);
        }
    });
    return ZOO_OK;
}

/* dz = dh (hp - hh); dhh = dh (1 - z); dcarry = dh z  (before the activation derivatives) */
ZOO_MULTIVERSION static void S(gru_back_mix)(T *restrict dz, T *restrict dhh, T *restrict dca, const T *restrict dh,
                                             const T *restrict z, const T *restrict hh, const T *restrict hp,
                                             int64_t n) {
    if (hp)
        for (int64_t u = 0; u < n; u++) {
            dz[u] = dh[u] * (hp[u] - hh[u]);
            dhh[u] = dh[u] * ((T)1 - z[u]);
            dca[u] = dh[u] * z[u];
        }
    else
        for (int64_t u = 0; u < n; u++) {
            dz[u] = -dh[u] * hh[u];
            dhh[u] = dh[u] * ((T)1 - z[u]);
            dca[u] = dh[u] * z[u];
        }
}

static int S(gru_backward_step)(T *dxp, T *dgr, T *dcarry, T *dbpi, T *dbpr, const T *dhr, const T *dseq,
                                const T *gates, const T *hs, const T *h0, const T *mask, int64_t B, int64_t Tn,
                                int64_t U, int64_t s, int64_t b0, int64_t b1, int act, T ap0, int ract, T rp0) {
    RNN_FOR_BLOCKS(b1 - b0, U, {
        T dh[RNN_UBMAX];
        for (int64_t b = b0; b < b1; b++) {
            const int64_t row = b * Tn + s;
            T *dca = dcarry + b * U + u0, *dx = dxp + row * 3 * U, *dr = dgr + row * 3 * U;
            S(rnn_sum3)(dh, dca, dhr ? dhr + b * U + u0 : NULL, dseq ? dseq + row * U + u0 : NULL, n);
            if (mask && mask[row] == 0) {
                memcpy(dca, dh, (size_t)n * sizeof(T));
                for (int k = 0; k < 3; k++) {
                    memset(dx + k * U + u0, 0, (size_t)n * sizeof(T));
                    memset(dr + k * U + u0, 0, (size_t)n * sizeof(T));
                }
                continue;
            }
            const T *gt = gates + row * 4 * U;
            const T *z = gt + u0, *r = gt + U + u0, *hh = gt + 2 * U + u0, *gh = gt + 3 * U + u0;
            T *dz = dx + u0, *dR = dx + U + u0, *dhh = dx + 2 * U + u0;
            S(gru_back_mix)(dz, dhh, dca, dh, z, hh, S(prev_row)(hs, h0, b, Tn, U, s, u0), n);
            S(rnn_dact)(dz, z, n, ract, rp0);
            S(rnn_dact)(dhh, hh, n, act, ap0);
            S(vmul)(dR, dhh, gh, n);
            S(rnn_dact)(dR, r, n, ract, rp0);
            memcpy(dr + u0, dz, (size_t)n * sizeof(T));
            memcpy(dr + U + u0, dR, (size_t)n * sizeof(T));
            S(vmul)(dr + 2 * U + u0, dhh, r, n);
            if (dbpi) {
                T *acc = S(dbp_row)(dbpi, b, 3 * U);
                for (int k = 0; k < 3; k++) S(rnn_colacc)(acc + k * U + u0, dx + k * U + u0, n);
            }
            if (dbpr) {
                T *acc = S(dbp_row)(dbpr, b, 3 * U);
                for (int k = 0; k < 3; k++) S(rnn_colacc)(acc + k * U + u0, dr + k * U + u0, n);
            }
        }
    });
    return ZOO_OK;
}

/* ---- GRU, reset_before (Keras 1 / Analytics Zoo) ----------------------------------------- */

static int S(gru1_forward_gates)(T *gates, T *rh, const T *hs, const T *xp, const T *g1, const T *bias,
                                 const T *mask, const T *h0, int64_t B, int64_t Tn, int64_t U, int64_t s, int64_t b0,
                                 int64_t b1, int ract, T rp0, T rp1) {
    RNN_FOR_BLOCKS(b1 - b0, U, {
        for (int64_t b = b0; b < b1; b++) {
            const int64_t row = b * Tn + s;
            T *gt = gates + row * 3 * U, *rr = rh + row * U + u0;
            const T *hp = S(prev_row)(hs, h0, b, Tn, U, s, u0), *xr = xp + row * 3 * U;
            if (mask && mask[row] == 0) {
                for (int k = 0; k < 3; k++) memset(gt + k * U + u0, 0, (size_t)n * sizeof(T));
                memset(rr, 0, (size_t)n * sizeof(T));
                continue;
            }
            for (int k = 0; k < 2; k++) {
                const int64_t o = k * U + u0;
                S(rnn_sum3)(gt + o, xr + o, g1 ? g1 + b * 2 * U + o : NULL, bias ? bias + o : NULL, n);
                S(rnn_act)(gt + o, n, ract, rp0, rp1);
            }
            if (hp)
                S(vmul)(rr, gt + U + u0, hp, n);
            else
                memset(rr, 0, (size_t)n * sizeof(T));
        }
    });
    return ZOO_OK;
}

static int S(gru1_forward_state)(T *gates, T *hs, const T *xp, const T *g2, const T *bias, const T *mask,
                                 const T *h0, int64_t B, int64_t Tn, int64_t U, int64_t s, int64_t b0, int64_t b1,
                                 int act, T ap0, T ap1) {
    RNN_FOR_BLOCKS(b1 - b0, U, {
        for (int64_t b = b0; b < b1; b++) {
            const int64_t row = b * Tn + s;
            T *gt = gates + row * 3 * U, *hr = hs + row * U + u0;
            const T *hp = S(prev_row)(hs, h0, b, Tn, U, s, u0);
            if (mask && mask[row] == 0) {
                S(copy_or_zero)(hr, hp, n);
                continue;
            }
            T *hh = gt + 2 * U + u0;
            S(rnn_sum3)(hh, xp + row * 3 * U + 2 * U + u0, g2 ? g2 + b * U + u0 : NULL,
                        bias ? bias + 2 * U + u0 : NULL, n);
            S(rnn_act)(hh, n, act, ap0, ap1);
            S(gru_mix)(hr, gt + u0, hh, hp, n);
        }
    });
    return ZOO_OK;
}

static int S(gru1_backward_state)(T *dxp, T *dcarry, const T *dhr, const T *dseq, const T *gates, const T *hs,
                                  const T *h0, const T *mask, int64_t B, int64_t Tn, int64_t U, int64_t s, int64_t b0,
                                  int64_t b1, int act, T ap0, int ract, T rp0) {
    RNN_FOR_BLOCKS(b1 - b0, U, {
        T dh[RNN_UBMAX];
        for (int64_t b = b0; b < b1; b++) {
            const int64_t row = b * Tn + s;
            T *dca = dcarry + b * U + u0, *dx = dxp + row * 3 * U;
            S(rnn_sum3)(dh, dca, dhr ? dhr + b * U + u0 : NULL, dseq ? dseq + row * U + u0 : NULL, n);
            if (mask && mask[row] == 0) {
                memcpy(dca, dh, (size_t)n * sizeof(T));
                for (int k = 0; k < 3; k++) memset(dx + k * U + u0, 0, (size_t)n * sizeof(T));
                continue;
            }
            const T *gt = gates + row * 3 * U;
            T *dz = dx + u0, *dhh = dx + 2 * U + u0;
            S(gru_back_mix)(dz, dhh, dca, dh, gt + u0, gt + 2 * U + u0, S(prev_row)(hs, h0, b, Tn, U, s, u0), n);
            S(rnn_dact)(dz, gt + u0, n, ract, rp0);
            S(rnn_dact)(dhh, gt + 2 * U + u0, n, act, ap0);
            memset(dx + U + u0, 0, (size_t)n * sizeof(T));
        }
    });
    return ZOO_OK;
}

/* dr = drh hp ract'(r); dcarry += drh r; the row's three gradients into the bias partial sums */
static int S(gru1_backward_gates)(T *dxp, T *dcarry, T *dbp, const T *drh, const T *gates, const T *hs, const T *h0,
                                  const T *mask, int64_t B, int64_t Tn, int64_t U, int64_t s, int64_t b0, int64_t b1,
                                  int ract, T rp0) {
    RNN_FOR_BLOCKS(b1 - b0, U, {
        for (int64_t b = b0; b < b1; b++) {
            const int64_t row = b * Tn + s;
            if (mask && mask[row] == 0) continue;
            T *dx = dxp + row * 3 * U, *dca = dcarry + b * U + u0;
            const T *gt = gates + row * 3 * U, *r = gt + U + u0, *d = drh + b * U + u0;
            const T *hp = S(prev_row)(hs, h0, b, Tn, U, s, u0);
            T *dr = dx + U + u0;
            if (hp)
                S(vmul)(dr, d, hp, n);
            else
                memset(dr, 0, (size_t)n * sizeof(T));
            S(rnn_dact)(dr, r, n, ract, rp0);
            S(vfma)(dca, d, r, n);
            if (dbp) {
                T *acc = S(dbp_row)(dbp, b, 3 * U);
                for (int k = 0; k < 3; k++) S(rnn_colacc)(acc + k * U + u0, dx + k * U + u0, n);
            }
        }
    });
    return ZOO_OK;
}

#endif
