/* rnn.h: what the recurrent step kernels share (rnn.c: SimpleRNN and LSTM; gru.c: GRU).
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
 * Like zoo_math.h this header has two parts: the type-free part (first include, after
 * ZOO_NO_TRAPPING_MATH) and the step helpers for the element type T (include it again inside
 * the family file's kernel part, see zoo_template.h).
 */
#ifndef ZOO_TEMPLATE_PASS
#ifndef ZOO_RNN_H
#define ZOO_RNN_H

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

/* ---- float math that vectorises (as in zoo_math.h) ---------------------------------------- */

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

#define RNN_SIGM ZOO_BY_TYPE(rnn_sigmf, rnn_sigm_d)
#define RNN_TANH ZOO_BY_TYPE(rnn_tanhf, tanh)

/* ---- Python wrappers ---------------------------------------------------------------------- */

/* number of bias-gradient row groups of a batch of B rows */
static inline int64_t rnn_groups(int64_t B) { return (B + RNN_RB - 1) / RNN_RB; }

/* A step kernel's dtype code, sizes and activation codes (act, ract NULL: the kernel has none; G: gate
 * columns per unit); -1 with an exception otherwise (rnn.c). */
int zoo_rnn_check_step(int dtype, int64_t B, int64_t Tn, int64_t U, int64_t s, int64_t b0, int64_t b1, int64_t G,
                       const int *act, const int *ract, const char *k);

#define RNN_PARSE_ACT2 &act, &ap0, &ap1, &ract, &rp0, &rp1

#endif
#else /* ---- step helpers for the element type T ---------------------------------------------- */

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

#endif
