/* rnn.c: recurrent cells (SimpleRNN, LSTM, GRU) one time step at a time, and embedding
 * gather / scatter-add.
 *
 * The kernels are written once between `#else` and `#endif` with T and S(name), and built for
 * float and double through zoo_template.h.
 *
 * Recurrent layout. The op (zoo/engine/ops/recurrent/) runs the time loop: one GEMM for the
 * input projection of every step, xp = x @ W (B, T, G), then per step s one GEMM for the
 * recurrent part g = h_{s-1} @ R (B, G) and one of these step kernels, which add the parts and
 * the bias, apply the gate nonlinearities and update the state. Every per-step array is
 * batch-major (B, T, ...) and row (b, s) starts at (b T + s) times its width; h_{-1} is h0 (or
 * zeros when h0 is NULL), and the state of step s is read back from step s - 1's row.
 *
 *   SimpleRNN   G = U:   h = act(xp + b + g)
 *   LSTM        G = 4U:  [i f c o] = [ract ract act ract](xp + b + g),
 *                        c_s = f c_{s-1} + i c,  h_s = o act(c_s)             (Keras gate order)
 *   GRU (reset_after, Keras 3):  [z r] = ract(xp + bi + g + br) for the first 2U columns,
 *                        gh = g_h + br_h,  hh = act(xp_h + bi_h + r gh),  h = z h_{s-1} + (1 - z) hh
 *   GRU (reset_before, Keras 1):  [z r] = ract(xp + b + h_{s-1} @ R_zr), rh = r h_{s-1},
 *                        hh = act(xp_h + b_h + rh @ R_h),  h = z h_{s-1} + (1 - z) hh
 *                        (two kernels per step, around the second GEMM)
 *
 * Masking: where mask[b, s] == 0 the step is skipped for that row: the state (h, and c for
 * LSTM) is copied from step s - 1 and the saved gates are zero.
 *
 * Backward, step s from T - 1 down to 0: dh = dcarry + dhr + dseq[:, s], where dhr is the
 * recurrent gradient dG_{s+1} @ R^T from the later step (NULL at the last one), dseq the
 * gradient of the output sequence (NULL when only the last state is an output) and dcarry a
 * (B, U) buffer holding what reaches h_{s-1} directly (the last output's gradient at the start,
 * dh itself through a masked step, z dh through a GRU's update gate). The kernels write the
 * pre-activation gradients of step s (dG, zero for masked rows), keep the LSTM cell gradient dc
 * in place, set dcarry for step s - 1 and add the bias gradients of step s into dbp.
 *
 * Rows: a step kernel runs the batch rows [b0, b1) only, so that the op can hand disjoint row
 * ranges to threads that each run the whole time loop on their rows (per-step GEMMs of their rows,
 * one BLAS thread each). Large steps also split the units into blocks of RNN_UB for the OpenMP
 * team. Bias gradients are summed per group of RNN_RB rows into dbp (groups, G), each column in
 * row order and step order, and the op adds the groups in order: results do not depend on the
 * thread count or on how the rows were split (ranges start at multiples of RNN_RB).
 *
 * Embedding: gather rows of W (V, D) by ids (int64) and scatter-add the output gradient into
 * dW. The scatter groups the positions by row (a counting sort, stable in position order), then
 * threads take whole rows, so every row of dW is a sum in position order: deterministic, no
 * atomics.
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

ZOO_NO_TRAPPING_MATH

/* activation codes of the recurrent kernels; keep in sync with zoo/engine/kernels/rnn.py */
enum {
    RA_LINEAR = 0,   /* f = v                     f' = 1                  */
    RA_TANH,         /* f = tanh(v)               from y: 1 - y^2         */
    RA_SIGMOID,      /* f = 1 / (1 + exp(-v))     from y: y (1 - y)       */
    RA_HARD_SIGMOID, /* f = clip(p0 v + p1, 0, 1) from y: 0 < y < 1 ? p0 */
    RA_RELU,         /* f = max(v, 0)             from y: y > 0           */
    RA_COUNT
};

#define RNN_UB 64       /* units per block when a step runs on the OpenMP team       */
#define RNN_UBMAX 256   /* units per block otherwise                                 */
#define RNN_RB 16       /* batch rows per bias-gradient partial sum (see kernels/rnn.py) */
#define RNN_PAR 32768   /* run a step on the OpenMP team from (rows * U) elements    */
#define EMB_PAR 4194304 /* gather/scatter on the team from n * D elements (memory-bound: rarely worth it) */

/* Run the block (which sees u0 and n) for each block of units [u0, u0 + n); the blocks go to the
 * OpenMP team when the step has at least RNN_PAR elements. */
#define RNN_FOR_BLOCKS(ROWS, U_, ...)                                                        \
    do {                                                                                     \
        const int rnn_par = (ROWS) * (U_) >= RNN_PAR && (U_) > RNN_UB;                        \
        const int64_t rnn_ub = rnn_par ? RNN_UB : RNN_UBMAX;                                  \
        const int64_t rnn_nblk = ((U_) + rnn_ub - 1) / rnn_ub;                                \
        ZOO_PARFOR(rnn_par, for (int64_t blk = 0; blk < rnn_nblk; blk++) {                   \
            const int64_t u0 = blk * rnn_ub, n = (U_) - u0 < rnn_ub ? (U_) - u0 : rnn_ub;    \
            __VA_ARGS__                                                                       \
        });                                                                                  \
    } while (0)

/* ---- float math that vectorises (as in zoo_math.h) --------------------------------------- */

/* tanh(x) as a rational function: x P(x^2) / Q(x^2) with x clamped to +-7.9053 (where float tanh
 * is 1), the minimax fit Eigen uses for float; within 6 ulp (relative error below 3.5e-7) over
 * the whole line, and x itself for |x| < 0.0004. One division, no exp. */
static inline float rnn_tanhf(float x) {
    const float c = 7.90531110763549805f;
    const float xc = x > c ? c : (x < -c ? -c : x);
    const float x2 = xc * xc;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * xc;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    const float a = x < 0 ? -x : x;
    return a < 0.0004f ? x : p / q;
}

/* sigmoid(x) = (1 + tanh(x / 2)) / 2 with the rational tanh: absolute error below 2e-7, one
 * division (saturates to 0 below x = -15.8, where the true value is under 1.4e-7). */
static inline float rnn_sigmf(float x) { return 0.5f + 0.5f * rnn_tanhf(0.5f * x); }

/* double: 1 / (1 + exp(-x)) through exp(-|x|), which never overflows */
static inline double rnn_sigm_d(double x) {
    const double e = exp(x < 0 ? x : -x), r = 1.0 / (1.0 + e);
    return x >= 0 ? r : e * r;
}

/* ---- kernels for float and double ------------------------------------------------------- */

#define RNN_SIGM ZOO_BY_TYPE(rnn_sigmf, rnn_sigm_d)
#define RNN_TANH ZOO_BY_TYPE(rnn_tanhf, tanh)
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

/* A step kernel's dtype code, sizes (check_dims) and activation codes (NULL: the kernel has none). */
static int check_step(int dtype, int64_t B, int64_t Tn, int64_t U, int64_t s, int64_t b0, int64_t b1, int64_t G,
                      const int *act, const int *ract, const char *k) {
    if (zoo_check_dtype(dtype, k) < 0 || check_dims(B, Tn, U, s, b0, b1, G, k) < 0) return -1;
    if (act && check_act(*act, k, "activation") < 0) return -1;
    if (ract && check_act(*ract, k, "recurrent activation") < 0) return -1;
    return 0;
}

/* number of bias-gradient row groups of a batch of B rows */
static inline int64_t rnn_groups(int64_t B) { return (B + RNN_RB - 1) / RNN_RB; }

#define RNN_PARSE_ACT2 &act, &ap0, &ap1, &ract, &rp0, &rp1

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
    if (check_step(dtype, B, Tn, U, s, b0, b1, 1, &act, NULL, k) < 0) return NULL;
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
    if (check_step(dtype, B, Tn, U, s, b0, b1, 1, &act, NULL, k) < 0) return NULL;
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
    if (check_step(dtype, B, Tn, U, s, b0, b1, 4, &act, &ract, k) < 0) return NULL;
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
    if (check_step(dtype, B, Tn, U, s, b0, b1, 4, &act, &ract, k) < 0) return NULL;
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
    if (check_step(dtype, B, Tn, U, s, b0, b1, 4, &act, &ract, k) < 0) return NULL;
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
    if (check_step(dtype, B, Tn, U, s, b0, b1, 4, &act, &ract, k) < 0) return NULL;
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
    if (check_step(dtype, B, Tn, U, s, b0, b1, 3, NULL, &ract, k) < 0) return NULL;
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
    if (check_step(dtype, B, Tn, U, s, b0, b1, 3, &act, NULL, k) < 0) return NULL;
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
    if (check_step(dtype, B, Tn, U, s, b0, b1, 3, &act, &ract, k) < 0) return NULL;
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
    if (check_step(dtype, B, Tn, U, s, b0, b1, 3, NULL, &ract, k) < 0) return NULL;
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

/* ---- embedding ---------------------------------------------------------------------------- */

/* First position whose id is out of range, or -1. Valid: 0 <= id - base < V; with skip_neg,
 * ids < 0 are also valid (skipped); with has_pad, id == pad is valid (zero row, no gradient). */
static int64_t emb_first_bad(const int64_t *ids, int64_t n, int64_t V, int64_t base, int skip_neg, int has_pad,
                             int64_t pad) {
    for (int64_t p = 0; p < n; p++) {
        const int64_t id = ids[p];
        if ((skip_neg && id < 0) || (has_pad && id == pad)) continue;
        if (id - base < 0 || id - base >= V) return p;
    }
    return -1;
}

static PyObject *bad_id_error(const char *k, const int64_t *ids, int64_t p, int64_t V, int64_t base) {
    PyErr_Format(PyExc_ValueError, "%s: id %lld at flat position %lld is out of range [%lld, %lld)", k,
                 (long long)ids[p], (long long)p, (long long)base, (long long)(V + base));
    return NULL;
}

/* embedding_gather(out, W, ids, n, D, V, base, skip_neg, has_pad, pad, dtype):
 * out[p] = W[ids[p] - base], zero where the id is skipped (< 0 with skip_neg) or == pad */
static PyObject *py_embedding_gather(PyObject *self, PyObject *args) {
    PyObject *o[3];
    Py_ssize_t n, D, V, base, pad;
    int skip_neg, has_pad, dtype, st;
    Py_buffer v[3], idv;
    const char *k = "embedding_gather";
    if (!PyArg_ParseTuple(args, "OOOnnnniini", &o[0], &o[1], &o[2], &n, &D, &V, &base, &skip_neg, &has_pad, &pad,
                          &dtype))
        return NULL;
    int64_t cnt;
    if (zoo_check_dtype(dtype, k) < 0 || zoo_count3(n, D, 1, &cnt) < 0 || zoo_count3(V, D, 1, &cnt) < 0) return NULL;
    const zoo_arg a[2] = {{o[0], n * D, 1, 0, "out"}, {o[1], V * D, 0, 0, "W"}};
    if (zoo_take_all(a, v, 2, dtype, k) < 0) return NULL;
    if (zoo_take_index(o[2], &idv, 64, n, 0, k, "ids") < 0) {
        zoo_release_buffers(v, 2);
        return NULL;
    }
    const int64_t *ids = idv.buf;
    const int64_t bad = emb_first_bad(ids, n, V, base, skip_neg, has_pad, pad);
    if (bad >= 0) {
        PyObject *r = bad_id_error(k, ids, bad, V, base);
        zoo_release_buffers(v, 2);
        PyBuffer_Release(&idv);
        return r;
    }
    ZOO_DISPATCH(st, dtype, embedding_gather, v[0].buf, v[1].buf, ids, n, D, base, skip_neg, has_pad, pad);
    zoo_release_buffers(v, 2);
    PyBuffer_Release(&idv);
    return zoo_status_to_py(st, k);
}

/* embedding_scatter(dW, ids, dy, w|None, n, D, V, base, group, skip_neg, has_pad, pad, dtype):
 * dW[ids[p] - base] += w[p] dy[p / group] over valid, unskipped positions p < n (dy has n / group rows) */
static PyObject *py_embedding_scatter(PyObject *self, PyObject *args) {
    PyObject *o[4];
    Py_ssize_t n, D, V, base, group, pad;
    int skip_neg, has_pad, dtype, st;
    Py_buffer v[3], idv;
    const char *k = "embedding_scatter";
    if (!PyArg_ParseTuple(args, "OOOOnnnnniini", &o[0], &o[1], &o[2], &o[3], &n, &D, &V, &base, &group, &skip_neg,
                          &has_pad, &pad, &dtype))
        return NULL;
    int64_t cnt;
    if (zoo_check_dtype(dtype, k) < 0 || zoo_count3(n, D, 1, &cnt) < 0 || zoo_count3(V, D, 1, &cnt) < 0) return NULL;
    if (group < 1 || n % group != 0) {
        PyErr_Format(PyExc_ValueError, "%s: group must be a positive divisor of n=%lld, got %lld", k, (long long)n,
                     (long long)group);
        return NULL;
    }
    const zoo_arg a[3] = {{o[0], V * D, 1, 0, "dW"}, {o[2], (n / group) * D, 0, 0, "dy"}, {o[3], n, 0, 1, "w"}};
    if (zoo_take_all(a, v, 3, dtype, k) < 0) return NULL;
    if (zoo_take_index(o[1], &idv, 64, n, 0, k, "ids") < 0) {
        zoo_release_buffers(v, 3);
        return NULL;
    }
    const int64_t *ids = idv.buf;
    const int64_t bad = emb_first_bad(ids, n, V, base, skip_neg, has_pad, pad);
    if (bad >= 0) {
        PyObject *r = bad_id_error(k, ids, bad, V, base);
        zoo_release_buffers(v, 3);
        PyBuffer_Release(&idv);
        return r;
    }
    ZOO_DISPATCH(st, dtype, embedding_scatter, v[0].buf, ids, v[1].buf, v[2].buf, n, D, V, base, group, skip_neg,
                 has_pad, pad);
    zoo_release_buffers(v, 3);
    PyBuffer_Release(&idv);
    return zoo_status_to_py(st, k);
}

/* embedding_bag(out, W, ids, w|None, B, L, D, V, base, dtype):
 * out[b] = sum over l with ids[b, l] >= 0 of w[b, l] W[ids[b, l] - base] (w = 1 without w) */
static PyObject *py_embedding_bag(PyObject *self, PyObject *args) {
    PyObject *o[4];
    Py_ssize_t B, L, D, V, base;
    int dtype, st;
    Py_buffer v[3], idv;
    const char *k = "embedding_bag";
    if (!PyArg_ParseTuple(args, "OOOOnnnnni", &o[0], &o[1], &o[2], &o[3], &B, &L, &D, &V, &base, &dtype)) return NULL;
    int64_t cnt;
    if (zoo_check_dtype(dtype, k) < 0 || zoo_count3(B, L, D, &cnt) < 0 || zoo_count3(V, D, 1, &cnt) < 0) return NULL;
    const zoo_arg a[3] = {{o[0], B * D, 1, 0, "out"}, {o[1], V * D, 0, 0, "W"}, {o[3], B * L, 0, 1, "w"}};
    if (zoo_take_all(a, v, 3, dtype, k) < 0) return NULL;
    if (zoo_take_index(o[2], &idv, 64, B * L, 0, k, "ids") < 0) {
        zoo_release_buffers(v, 3);
        return NULL;
    }
    const int64_t *ids = idv.buf;
    const int64_t bad = emb_first_bad(ids, B * L, V, base, 1, 0, 0);
    if (bad >= 0) {
        PyObject *r = bad_id_error(k, ids, bad, V, base);
        zoo_release_buffers(v, 3);
        PyBuffer_Release(&idv);
        return r;
    }
    ZOO_DISPATCH(st, dtype, embedding_bag, v[0].buf, v[1].buf, ids, v[2].buf, B, L, D, base);
    zoo_release_buffers(v, 3);
    PyBuffer_Release(&idv);
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
    {"embedding_gather", py_embedding_gather, METH_VARARGS,
     "embedding_gather(out, W, ids, n, D, V, base, skip_neg, has_pad, pad, dtype)"},
    {"embedding_scatter", py_embedding_scatter, METH_VARARGS,
     "embedding_scatter(dW, ids, dy, w, n, D, V, base, group, skip_neg, has_pad, pad, dtype)"},
    {"embedding_bag", py_embedding_bag, METH_VARARGS, "embedding_bag(out, W, ids, w, B, L, D, V, base, dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------------ */

/* v = f(v) in place */
ZOO_MULTIVERSION static void S(rnn_act)(T *restrict v, int64_t n, int kind, T p0, T p1) {
    switch (kind) {
    case RA_TANH:
        for (int64_t i = 0; i < n; i++) v[i] = RNN_TANH(v[i]);
        break;
    case RA_SIGMOID:
        for (int64_t i = 0; i < n; i++) v[i] = RNN_SIGM(v[i]);
        break;
    case RA_HARD_SIGMOID:
        for (int64_t i = 0; i < n; i++) {
            const T u = p0 * v[i] + p1;
            v[i] = u < 0 ? (T)0 : (u > 1 ? (T)1 : u);
        }
        break;
    case RA_RELU:
        for (int64_t i = 0; i < n; i++) v[i] = v[i] > 0 ? v[i] : (T)0;
        break;
    default: break;
    }
}

/* d = d * f'(v) with the derivative read from y = f(v) */
ZOO_MULTIVERSION static void S(rnn_dact)(T *restrict d, const T *restrict y, int64_t n, int kind, T p0) {
    switch (kind) {
    case RA_TANH:
        for (int64_t i = 0; i < n; i++) d[i] *= (T)1 - y[i] * y[i];
        break;
    case RA_SIGMOID:
        for (int64_t i = 0; i < n; i++) d[i] *= y[i] * ((T)1 - y[i]);
        break;
    case RA_HARD_SIGMOID:
        for (int64_t i = 0; i < n; i++) d[i] = (y[i] > 0 && y[i] < 1) ? d[i] * p0 : (T)0;
        break;
    case RA_RELU:
        for (int64_t i = 0; i < n; i++) d[i] = y[i] > 0 ? d[i] : (T)0;
        break;
    default: break;
    }
}

/* out = a + b + c, with b and/or c possibly NULL */
ZOO_MULTIVERSION static void S(rnn_sum3)(T *restrict out, const T *restrict a, const T *restrict b,
                                         const T *restrict c, int64_t n) {
    if (b && c)
        for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i] + c[i];
    else if (b)
        for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
    else if (c)
        for (int64_t i = 0; i < n; i++) out[i] = a[i] + c[i];
    else
        for (int64_t i = 0; i < n; i++) out[i] = a[i];
}

static inline void S(copy_or_zero)(T *out, const T *src, int64_t n) {
    if (src)
        memcpy(out, src, (size_t)n * sizeof(T));
    else
        memset(out, 0, (size_t)n * sizeof(T));
}

ZOO_MULTIVERSION static void S(rnn_colacc)(T *restrict acc, const T *restrict g, int64_t n) {
    for (int64_t i = 0; i < n; i++) acc[i] += g[i];
}

ZOO_MULTIVERSION static void S(vmul)(T *restrict out, const T *restrict a, const T *restrict b, int64_t n) {
    for (int64_t u = 0; u < n; u++) out[u] = a[u] * b[u];
}

/* out += a b */
ZOO_MULTIVERSION static void S(vfma)(T *restrict out, const T *restrict a, const T *restrict b, int64_t n) {
    for (int64_t u = 0; u < n; u++) out[u] += a[u] * b[u];
}

/* pointer to row (b, s - 1)'s state, or to the initial state, or NULL (zeros) */
static inline const T *S(prev_row)(const T *seq, const T *init, int64_t b, int64_t Tn, int64_t U, int64_t s,
                                   int64_t u0) {
    if (s > 0) return seq + (b * Tn + s - 1) * U + u0;
    return init ? init + b * U + u0 : NULL;
}

/* the bias-gradient partial-sum row of batch row b (NULL without dbp) */
static inline T *S(dbp_row)(T *dbp, int64_t b, int64_t G) { return dbp ? dbp + (b / RNN_RB) * G : NULL; }

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

/* ---- embedding ---------------------------------------------------------------------------- */

static int S(embedding_gather)(T *out, const T *W, const int64_t *ids, int64_t n, int64_t D, int64_t base,
                               int skip_neg, int has_pad, int64_t pad) {
    ZOO_PARFOR(n * D >= EMB_PAR,
    for (int64_t p = 0; p < n; p++) {
        const int64_t id = ids[p];
        if ((skip_neg && id < 0) || (has_pad && id == pad))
            memset(out + p * D, 0, (size_t)D * sizeof(T));
        else
            memcpy(out + p * D, W + (id - base) * D, (size_t)D * sizeof(T));
    });
    return ZOO_OK;
}

ZOO_MULTIVERSION static void S(axpy)(T *restrict y, const T *restrict x, T a, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

static int S(embedding_scatter)(T *dW, const int64_t *ids, const T *dy, const T *w, int64_t n, int64_t D, int64_t V,
                                int64_t base, int64_t group, int skip_neg, int has_pad, int64_t pad) {
    /* counting sort of the positions by row: start[r] .. start[r + 1] in `order`, ascending p */
    int64_t *start = calloc((size_t)V + 1, sizeof(int64_t));
    int64_t *order = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    int64_t *rows = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    if (!start || !order || !rows) {
        free(start);
        free(order);
        free(rows);
        return ZOO_ENOMEM;
    }
    for (int64_t p = 0; p < n; p++) {
        const int64_t id = ids[p];
        if ((skip_neg && id < 0) || (has_pad && id == pad)) continue;
        start[id - base + 1]++;
    }
    int64_t nrows = 0;
    for (int64_t r = 0; r < V; r++) {
        if (start[r + 1] > 0) rows[nrows++] = r;
        start[r + 1] += start[r];
    }
    /* fill: `start` moves forward while filling, then is shifted back */
    for (int64_t p = 0; p < n; p++) {
        const int64_t id = ids[p];
        if ((skip_neg && id < 0) || (has_pad && id == pad)) continue;
        order[start[id - base]++] = p;
    }
    for (int64_t r = V; r > 0; r--) start[r] = start[r - 1];
    start[0] = 0;
    ZOO_PARFOR(n * D >= EMB_PAR,
    for (int64_t k = 0; k < nrows; k++) {
        const int64_t r = rows[k];
        T *dst = dW + r * D;
        for (int64_t j = start[r]; j < start[r + 1]; j++) {
            const int64_t p = order[j];
            S(axpy)(dst, dy + (p / group) * D, w ? w[p] : (T)1, D);
        }
    });
    free(start);
    free(order);
    free(rows);
    return ZOO_OK;
}

static int S(embedding_bag)(T *out, const T *W, const int64_t *ids, const T *w, int64_t B, int64_t L, int64_t D,
                            int64_t base) {
    ZOO_PARFOR(B * L * D >= EMB_PAR,
    for (int64_t b = 0; b < B; b++) {
        T *o = out + b * D;
        memset(o, 0, (size_t)D * sizeof(T));
        for (int64_t l = 0; l < L; l++) {
            const int64_t id = ids[b * L + l];
            if (id < 0) continue;
            S(axpy)(o, W + (id - base) * D, w ? w[b * L + l] : (T)1, D);
        }
    });
    return ZOO_OK;
}

#endif
