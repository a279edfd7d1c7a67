/* conv.c: the loops around the convolution GEMMs (im2col, col2im, layout swaps, bias); the
 * geometry is described in conv.h.
 *
 * The column matrix of images n0..n1 has C*KH*KW rows r = (c*KH + i)*KW + j; the tap row
 * of image n (counted from n0) starts at col + r*rs + n*ns and holds OH*OW values. With
 * rs = nb*OH*OW and ns = OH*OW the chunk is one (C*KH*KW, nb*OH*OW) matrix (so one GEMM
 * serves the whole chunk); with rs = OH*OW and ns = C*KH*KW*OH*OW it is nb stacked
 * (C*KH*KW, OH*OW) matrices.
 *
 * Built for float and double from one source (see zoo_template.h).
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

#include "conv.h"

#define ZOO_TEMPLATE "conv.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------- */

/* im2col(col, x, n0, n1, C, H, W, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, rs, ns, nthreads, dtype) */
static PyObject *py_im2col(PyObject *self, PyObject *args) {
    Py_buffer col, x;
    Py_ssize_t n0, n1, C, H, W, OH, OW, rs, ns;
    int kh, kw, sh, sw, dh, dw, pt, pl, nthreads, dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*nnnnniiiiiiiinnnnii", &col, &x, &n0, &n1, &C, &H, &W, &kh, &kw, &sh, &sw,
                          &dh, &dw, &pt, &pl, &OH, &OW, &rs, &ns, &nthreads, &dtype))
        return NULL;
    int team = zoo_team(nthreads);
    ZOO_DISPATCH(st, dtype, im2col, col.buf, x.buf, n0, n1, C, H, W, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, rs, ns,
                 team);
    PyBuffer_Release(&col);
    PyBuffer_Release(&x);
    return zoo_status_to_py(st, "im2col");
}

/* col2im(dx, col, n0, n1, C, H, W, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, rs, ns, overwrite, clobber, nthreads,
 *        dtype); col must be writable when clobber != 0 */
static PyObject *py_col2im(PyObject *self, PyObject *args) {
    Py_buffer dx, col;
    Py_ssize_t n0, n1, C, H, W, OH, OW, rs, ns;
    int kh, kw, sh, sw, dh, dw, pt, pl, overwrite, clobber, nthreads, dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*nnnnniiiiiiiinnnniiii", &dx, &col, &n0, &n1, &C, &H, &W, &kh, &kw, &sh, &sw,
                          &dh, &dw, &pt, &pl, &OH, &OW, &rs, &ns, &overwrite, &clobber, &nthreads, &dtype))
        return NULL;
    if (clobber && col.readonly) {
        PyBuffer_Release(&dx);
        PyBuffer_Release(&col);
        PyErr_SetString(PyExc_ValueError, "zoo kernel col2im: clobber needs a writable col");
        return NULL;
    }
    int team = zoo_team(nthreads);
    ZOO_DISPATCH(st, dtype, col2im, dx.buf, col.buf, n0, n1, C, H, W, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, rs, ns,
                 overwrite, clobber, team);
    PyBuffer_Release(&dx);
    PyBuffer_Release(&col);
    return zoo_status_to_py(st, "col2im");
}

/* swap01(out, inp, bias, A, B, P, has_bias, nthreads, dtype): out[b, a, :] = inp[a, b, :] (+ bias[a]) */
static PyObject *py_swap01(PyObject *self, PyObject *args) {
    Py_buffer out, inp, bias;
    Py_ssize_t A, B, P;
    int has_bias, nthreads, dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*y*nnniii", &out, &inp, &bias, &A, &B, &P, &has_bias, &nthreads, &dtype))
        return NULL;
    int team = zoo_team(nthreads);
    ZOO_DISPATCH(st, dtype, swap01, out.buf, inp.buf, has_bias ? bias.buf : NULL, A, B, P, team);
    PyBuffer_Release(&out);
    PyBuffer_Release(&inp);
    PyBuffer_Release(&bias);
    return zoo_status_to_py(st, "swap01");
}

/* bias_add(y, bias, N, O, P, dtype): y[n, o, :] += bias[o] */
static PyObject *py_bias_add(PyObject *self, PyObject *args) {
    Py_buffer y, bias;
    Py_ssize_t N, O, P;
    int dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*nnni", &y, &bias, &N, &O, &P, &dtype)) return NULL;
    ZOO_DISPATCH(st, dtype, bias_add, y.buf, bias.buf, N, O, P);
    PyBuffer_Release(&y);
    PyBuffer_Release(&bias);
    return zoo_status_to_py(st, "bias_add");
}

PyMethodDef zoo_conv_methods[] = {
    {"im2col", py_im2col, METH_VARARGS,
     "im2col(col, x, n0, n1, C, H, W, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, rs, ns, nthreads, dtype)"},
    {"col2im", py_col2im, METH_VARARGS,
     "col2im(dx, col, n0, n1, C, H, W, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, rs, ns, overwrite, clobber, nthreads, "
     "dtype)"},
    {"swap01", py_swap01, METH_VARARGS, "swap01(out, inp, bias, A, B, P, has_bias, nthreads, dtype)"},
    {"bias_add", py_bias_add, METH_VARARGS, "bias_add(y, bias, N, O, P, dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------ */

/* One tap row of one image: d[oh*OW + ow] = xp[(oh*sh + hoff)*W + ow*sw + woff], 0 outside.
 * Stride 1 with OW == W (a 'same' convolution) is one shifted block copy plus zeroed edge
 * columns; otherwise row by row with inline (vectorised) copies. */
ZOO_MULTIVERSION static void S(im2col_row)(T *restrict d, const T *restrict xp, const zoo_tap *tp, int64_t H,
                                           int64_t W, int sh, int sw, int64_t OH, int64_t OW) {
    const int64_t lo = tp->lo, hi = tp->hi, r0 = tp->r0, r1 = tp->r1, hoff = tp->hoff, woff = tp->woff;
    for (int64_t k = 0; k < r0 * OW; k++) d[k] = 0;
    for (int64_t k = r1 * OW; k < OH * OW; k++) d[k] = 0;
    if (r0 >= r1) return;
    if (sw == 1 && sh == 1 && OW == W) {
        /* d[k] = xp[k + hoff*W + woff] for k in the valid rows; the columns that wrapped around
         * into the neighbouring image row are zeroed after. */
        const int64_t shift = hoff * W + woff;
        int64_t k0 = r0 * OW, k1 = r1 * OW;
        if (k0 + shift < 0) k0 = -shift;
        if (k1 + shift > H * W) k1 = H * W - shift;
        for (int64_t k = r0 * OW; k < k0; k++) d[k] = 0;
        for (int64_t k = k0; k < k1; k++) d[k] = xp[k + shift];
        for (int64_t k = k1; k < r1 * OW; k++) d[k] = 0;
        if (lo > 0 || hi < OW)
            for (int64_t oh = r0; oh < r1; oh++) {
                T *dr = d + oh * OW;
                for (int64_t ow = 0; ow < lo; ow++) dr[ow] = 0;
                for (int64_t ow = hi; ow < OW; ow++) dr[ow] = 0;
            }
        return;
    }
    for (int64_t oh = r0; oh < r1; oh++) {
        T *dr = d + oh * OW;
        const T *xr = xp + (oh * sh + hoff) * W;
        for (int64_t ow = 0; ow < lo; ow++) dr[ow] = 0;
        if (sw == 1)
            for (int64_t ow = lo; ow < hi; ow++) dr[ow] = xr[ow + woff];
        else if (sw == 2)
            for (int64_t ow = lo; ow < hi; ow++) dr[ow] = xr[2 * ow + woff];
        else
            for (int64_t ow = lo; ow < hi; ow++) dr[ow] = xr[ow * sw + woff];
        for (int64_t ow = hi; ow < OW; ow++) dr[ow] = 0;
    }
}

/* im2col: col[r*rs + (n-n0)*ns + oh*OW + ow] = x[n, c, oh*sh - pt + i*dh, ow*sw - pl + j*dw]
 * for n0 <= n < n1, r = (c*KH + i)*KW + j; 0 where the tap falls in the padding.
 * x (N, C, H, W); col see the file comment. Overwrites its part of col. */
static int S(im2col)(T *col, const T *x, int64_t n0, int64_t n1, int64_t C, int64_t H, int64_t W, int kh, int kw,
                     int sh, int sw, int dh, int dw, int pt, int pl, int64_t OH, int64_t OW, int64_t rs, int64_t ns,
                     int team) {
    if (n1 < n0 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1) return ZOO_EINVAL;
    const int64_t nb = n1 - n0, taps = (int64_t)kh * kw, tasks = nb * C;
    zoo_tap *tp = zoo_taps(H, W, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW);
    if (!tp) return ZOO_ENOMEM;
    #pragma omp parallel for schedule(static) num_threads(team) if (team > 1 && tasks * taps * OH * OW > 32768)
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t n = t / C, c = t % C;
        const T *xp = x + ((n0 + n) * C + c) * H * W;
        for (int64_t ij = 0; ij < taps; ij++)
            S(im2col_row)(col + (c * taps + ij) * rs + n * ns, xp, tp + ij, H, W, sh, sw, OH, OW);
    }
    free(tp);
    return ZOO_OK;
}

/* One tap row back into one image plane: dp[(oh*sh + hoff)*W + ow*sw + woff] += s[oh*OW + ow].
 * With clobber, stride 1 and OW == W (a 'same' convolution), the entries of s that fall in
 * the padding are zeroed and the row is added as one shifted block (the zeros land on the
 * neighbouring image row and change nothing). */
ZOO_MULTIVERSION static void S(col2im_row)(T *restrict dp, T *restrict s, const zoo_tap *tp, int64_t H, int64_t W,
                                           int sh, int sw, int64_t OH, int64_t OW, int clobber) {
    const int64_t lo = tp->lo, hi = tp->hi, r0 = tp->r0, r1 = tp->r1, hoff = tp->hoff, woff = tp->woff;
    if (r0 >= r1) return;
    if (clobber && sw == 1 && sh == 1 && OW == W) {
        if (lo > 0 || hi < OW)
            for (int64_t oh = r0; oh < r1; oh++) {
                T *sr = s + oh * OW;
                for (int64_t ow = 0; ow < lo; ow++) sr[ow] = 0;
                for (int64_t ow = hi; ow < OW; ow++) sr[ow] = 0;
            }
        const int64_t shift = hoff * W + woff;
        int64_t k0 = r0 * OW, k1 = r1 * OW;
        if (k0 + shift < 0) k0 = -shift;
        if (k1 + shift > H * W) k1 = H * W - shift;
        T *d = dp + shift;
        for (int64_t k = k0; k < k1; k++) d[k] += s[k];
        return;
    }
    for (int64_t oh = r0; oh < r1; oh++) {
        T *dr = dp + (oh * sh + hoff) * W;
        const T *sr = s + oh * OW;
        if (sw == 1)
            for (int64_t ow = lo; ow < hi; ow++) dr[ow + woff] += sr[ow];
        else
            for (int64_t ow = lo; ow < hi; ow++) dr[ow * sw + woff] += sr[ow];
    }
}

/* col2im: dx[n, c, h, w] += sum of the col entries im2col would copy from (n, c, h, w), for
 * n0 <= n < n1. With overwrite != 0 those planes of dx are zeroed first (by the thread that
 * sums into them). With clobber != 0 the entries of col that im2col would have set to 0
 * (taps in the padding) may be overwritten with 0. One thread per (n, c) plane, taps in a
 * fixed order: the sums do not depend on the number of threads. */
static int S(col2im)(T *dx, T *col, int64_t n0, int64_t n1, int64_t C, int64_t H, int64_t W, int kh, int kw, int sh,
                     int sw, int dh, int dw, int pt, int pl, int64_t OH, int64_t OW, int64_t rs, int64_t ns,
                     int overwrite, int clobber, int team) {
    if (n1 < n0 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1) return ZOO_EINVAL;
    const int64_t nb = n1 - n0, taps = (int64_t)kh * kw, tasks = nb * C;
    zoo_tap *tp = zoo_taps(H, W, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW);
    if (!tp) return ZOO_ENOMEM;
    #pragma omp parallel for schedule(static) num_threads(team) if (team > 1 && tasks * taps * OH * OW > 32768)
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t n = t / C, c = t % C;
        T *dp = dx + ((n0 + n) * C + c) * H * W;
        if (overwrite) memset(dp, 0, (size_t)(H * W) * sizeof(T));
        for (int64_t ij = 0; ij < taps; ij++)
            S(col2im_row)(dp, col + (c * taps + ij) * rs + n * ns, tp + ij, H, W, sh, sw, OH, OW, clobber);
    }
    free(tp);
    return ZOO_OK;
}

ZOO_MULTIVERSION static void S(copy_add)(T *restrict d, const T *restrict s, T b, int64_t n) {
    for (int64_t k = 0; k < n; k++) d[k] = s[k] + b;
}

/* swap01: out[b, a, p] = inp[a, b, p] + (bias ? bias[a] : 0); inp (A, B, P), out (B, A, P),
 * bias (A,) or NULL. Overwrites out. */
static int S(swap01)(T *out, const T *inp, const T *bias, int64_t A, int64_t B, int64_t P, int team) {
    #pragma omp parallel for schedule(static) num_threads(team) if (team > 1 && A * B * P > 65536)
    for (int64_t t = 0; t < A * B; t++) {
        const int64_t b = t / A, a = t % A;
        const T *s = inp + (a * B + b) * P;
        T *d = out + (b * A + a) * P;
        if (bias)
            S(copy_add)(d, s, bias[a], P);
        else
            memcpy(d, s, (size_t)P * sizeof(T));
    }
    return ZOO_OK;
}

ZOO_MULTIVERSION static void S(add_scalar)(T *restrict d, T b, int64_t n) {
    for (int64_t k = 0; k < n; k++) d[k] += b;
}

/* bias_add: y[n, o, p] += bias[o]; y (N, O, P), bias (O,). */
static int S(bias_add)(T *y, const T *bias, int64_t N, int64_t O, int64_t P) {
    #pragma omp parallel for schedule(static) if (N * O * P > 65536)
    for (int64_t t = 0; t < N * O; t++) S(add_scalar)(y + t * P, bias[t % O], P);
    return ZOO_OK;
}

#endif
