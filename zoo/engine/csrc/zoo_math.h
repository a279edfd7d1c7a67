/* zoo_math.h: math that vectorises without fast-math, shared by the kernel families.
 *
 * Float exp, expm1, tanh, the normal distribution (exact GELU) and log1p (softplus) are computed
 * inline (zoo_expf & co.) so that the loops vectorise without fast-math; they are within a few ulp
 * of the correctly rounded result. Double uses libm.
 *
 * 16-lane sums: a reduction adds element i into lane i mod 16 (in double), and the lanes are folded
 * in a fixed order (zoo_fold16), so a sum does not depend on how its loop was vectorised or cut
 * between threads.
 *
 * Include after ZOO_NO_TRAPPING_MATH. Like a family file, this header has two parts: the type-free
 * helpers (first include), and S(sum16) & co. for the element type T (include it again inside the
 * file's kernel part, see zoo_template.h).
 */
#ifndef ZOO_TEMPLATE_PASS
#ifndef ZOO_MATH_H
#define ZOO_MATH_H

typedef union {
    float f;
    uint32_t u;
} zoo_bits32;

static inline float zoo_f32_from_bits(uint32_t u) {
    zoo_bits32 b;
    b.u = u;
    return b.f;
}

/* exp(x) in two steps: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite; x clamped to [-104, 89]), then
 * exp(r) by the Cephes minimax polynomial, times 2^n applied as two normal factors, so the result
 * is right from the denormal range (x > -104) up to overflow (inf above 88.72). NaN propagates. */
static inline float zoo_exp_reduce(float x, float *n) {
    float xc = x < -104.0f ? -104.0f : x;
    xc = xc > 89.0f ? 89.0f : xc;
    *n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
    float r = xc - *n * 0.693359375f;
    return r + *n * 2.12194440e-4f;
}

static inline float zoo_exp_poly(float r, float n) {
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t ni = (int32_t)n;
    int32_t h = ni / 2;
    float s1 = zoo_f32_from_bits((uint32_t)(h + 127) << 23);
    float s2 = zoo_f32_from_bits((uint32_t)(ni - h + 127) << 23);
    return p * s1 * s2;
}

static inline float zoo_expf(float x) {
    float n, r = zoo_exp_reduce(x, &n);
    return zoo_exp_poly(r, n);
}

/* expm1(x): Taylor polynomial (to x^9) for |x| < 0.5, exp(x) - 1 elsewhere. */
static inline float zoo_expm1f(float x) {
    float e = zoo_expf(x) - 1.0f;
    float p = 2.7557319224e-6f;
    p = p * x + 2.4801587302e-5f;
    p = p * x + 1.9841269841e-4f;
    p = p * x + 1.3888888889e-3f;
    p = p * x + 8.3333333333e-3f;
    p = p * x + 4.1666666667e-2f;
    p = p * x + 1.6666666667e-1f;
    p = p * x + 0.5f;
    p = p * (x * x) + x;
    return (x > -0.5f && x < 0.5f) ? p : e;
}

/* tanh(x): odd Taylor polynomial (to x^15) for |x| < 0.4, (1 - e)/(1 + e) with e = exp(-2|x|)
 * elsewhere. */
static inline float zoo_tanhf(float x) {
    float a = x < 0 ? -x : x;
    float e = zoo_expf(-2.0f * a);
    float t = (1.0f - e) / (1.0f + e);
    t = x < 0 ? -t : t;
    float x2 = x * x;
    float p = -1.4558343870e-3f;
    p = p * x2 + 3.5921280366e-3f;
    p = p * x2 + -8.8632355299e-3f;
    p = p * x2 + 2.1869488536e-2f;
    p = p * x2 + -5.3968253968e-2f;
    p = p * x2 + 1.3333333333e-1f;
    p = p * x2 + -3.3333333333e-1f;
    p = p * (x2 * x) + x;
    return a < 0.4f ? p : t;
}

/* exp(xh + xl) for a small correction xl: the same reduction as zoo_expf with xl added to r. */
static inline float zoo_expf_hl(float xh, float xl) {
    float n, r = zoo_exp_reduce(xh, &n);
    return zoo_exp_poly(r + xl, n);
}

/* The standard normal density and distribution at v: returns exp(-v^2/2) (the density times
 * sqrt(2 pi)) and stores Phi(v) = erfc(-v/sqrt2)/2 in *cdf. v^2/2 is formed exactly from a 12-bit
 * split of v, so the tails keep their relative accuracy. erfc(t), t = |v|/sqrt2: below 0.6,
 * 1 - t P1(t^2); above, exp(-t^2) P2(w)/(t sqrt(pi)) with w = 1.2809/t - 1.1348 (least-squares
 * Chebyshev fits of erf(t)/t and erfcx(t) t sqrt(pi) on [0, 0.6] and [0.6, 9.5]); 0 above 9.5. */
static inline float zoo_gauss_f(float v, float *cdf) {
    zoo_bits32 b;
    b.f = v;
    b.u &= 0xFFFFF000u;
    const float vh = b.f, vl = v - vh;
    const float e = zoo_expf_hl(-0.5f * (vh * vh), -0.5f * (vl * (v + vh)));
    const float t = (v < 0 ? -v : v) * 0.70710678118654752f;
    const float s = t * t;
    float p = -7.3499635501e-04f;
    p = p * s + 5.1768011195e-03f;
    p = p * s + -2.6857488919e-02f;
    p = p * s + 1.1283719045e-01f;
    p = p * s + -3.7612636675e-01f;
    p = p * s + 1.1283791670e+00f;
    const float small = 1.0f - t * p;
    const float tc = t < 0.6f ? 0.6f : (t > 9.5f ? 9.5f : t);
    const float u = 1.0f / tc, w = u * 1.28089887640449438f - 1.13483146067415730f;
    float q = -1.4902150342e-04f;
    q = q * w + -3.1964535932e-04f;
    q = q * w + 1.5781657848e-03f;
    q = q * w + -1.2460558691e-03f;
    q = q * w + -6.0502774675e-04f;
    q = q * w + 2.1824811025e-03f;
    q = q * w + -5.4718973782e-03f;
    q = q * w + 1.2257172857e-02f;
    q = q * w + -1.9558738343e-02f;
    q = q * w + 1.5988828421e-02f;
    q = q * w + 3.3538177943e-02f;
    q = q * w + -2.2421530335e-01f;
    q = q * w + 7.8986540730e-01f;
    float large = e * q * u * 0.56418958354775628f;
    large = t > 9.5f ? 0.0f : large;
    const float half = 0.5f * (t < 0.6f ? small : large);
    *cdf = v >= 0 ? 1.0f - half : half;
    return e;
}

static inline double zoo_gauss_d(double v, double *cdf) {
    *cdf = 0.5 * erfc(-v * 0.70710678118654752);
    return exp(-0.5 * v * v);
}

/* log(1 + e) for 0 <= e <= 1: 2 atanh(s) with s = e / (2 + e) <= 1/3, odd series to s^15. */
static inline float zoo_log1pf_01(float e) {
    const float s = e / (2.0f + e), s2 = s * s;
    float p = 1.0f / 15;
    p = p * s2 + 1.0f / 13;
    p = p * s2 + 1.0f / 11;
    p = p * s2 + 1.0f / 9;
    p = p * s2 + 1.0f / 7;
    p = p * s2 + 1.0f / 5;
    p = p * s2 + 1.0f / 3;
    p = p * s2 + 1.0f;
    return 2.0f * s * p;
}

/* the sum of the 16 lanes, in a fixed order */
static inline double zoo_fold16(const double *a) {
    double s[8];
    for (int j = 0; j < 8; j++) s[j] = a[j] + a[j + 8];
    for (int j = 0; j < 4; j++) s[j] += s[j + 4];
    return (s[0] + s[2]) + (s[1] + s[3]);
}

#endif
#else /* ---- for the element type T ---------------------------------------------------------- */

/* acc[j] += g[i] for the 16 lanes j = i mod 16 (a fixed order: the same on every thread count). */
ZOO_MULTIVERSION static void S(sum16)(double *restrict acc, const T *restrict g, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += (double)g[i + j];
    for (int j = 0; i < n; i++, j++) acc[j] += (double)g[i];
}

#endif
