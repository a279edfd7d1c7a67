/* depthwise.c: depthwise convolution (groups == C): a stencil per channel, no GEMM (geometry:
 * conv.h). Built for float and double from one source (see zoo_template.h).
 *
 * Each loop splits over what it writes (output planes, input planes, output channels) and sums
 * in a fixed order, so results do not depend on the number of threads.
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

#include "conv.h"

#define ZOO_TEMPLATE "depthwise.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------- */

/* depthwise_forward(y, x, w, bias, N, C, H, W, M, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, has_bias, dtype) */
static PyObject *py_depthwise_forward(PyObject *self, PyObject *args) {
    Py_buffer y, x, w, bias;
    Py_ssize_t N, C, H, W, M, OH, OW;
    int kh, kw, sh, sw, dh, dw, pt, pl, has_bias, dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*y*y*nnnnniiiiiiiinnii", &y, &x, &w, &bias, &N, &C, &H, &W, &M, &kh, &kw, &sh,
                          &sw, &dh, &dw, &pt, &pl, &OH, &OW, &has_bias, &dtype))
        return NULL;
    ZOO_DISPATCH(st, dtype, depthwise_forward, y.buf, x.buf, w.buf, has_bias ? bias.buf : NULL, N, C, H, W, M, kh, kw,
                 sh, sw, dh, dw, pt, pl, OH, OW);
    PyBuffer_Release(&y);
    PyBuffer_Release(&x);
    PyBuffer_Release(&w);
    PyBuffer_Release(&bias);
    return zoo_status_to_py(st, "depthwise_forward");
}

/* depthwise_backward_x / _w: same arguments as depthwise_forward, (dx, gy, w) / (dw, gy, x). */
static PyObject *py_depthwise_backward(PyObject *self, PyObject *args, int which) {
    Py_buffer d, gy, other;
    Py_ssize_t N, C, H, W, M, OH, OW;
    int kh, kw, sh, sw, dh, dw, pt, pl, dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*y*nnnnniiiiiiiinni", &d, &gy, &other, &N, &C, &H, &W, &M, &kh, &kw, &sh, &sw,
                          &dh, &dw, &pt, &pl, &OH, &OW, &dtype))
        return NULL;
    if (which == 0)
        ZOO_DISPATCH(st, dtype, depthwise_backward_x, d.buf, gy.buf, other.buf, N, C, H, W, M, kh, kw, sh, sw, dh, dw,
                     pt, pl, OH, OW);
    else
        ZOO_DISPATCH(st, dtype, depthwise_backward_w, d.buf, gy.buf, other.buf, N, C, H, W, M, kh, kw, sh, sw, dh, dw,
                     pt, pl, OH, OW);
    PyBuffer_Release(&d);
    PyBuffer_Release(&gy);
    PyBuffer_Release(&other);
    return zoo_status_to_py(st, which == 0 ? "depthwise_backward_x" : "depthwise_backward_w");
}

static PyObject *py_depthwise_backward_x(PyObject *self, PyObject *args) {
    return py_depthwise_backward(self, args, 0);
}

static PyObject *py_depthwise_backward_w(PyObject *self, PyObject *args) {
    return py_depthwise_backward(self, args, 1);
}

PyMethodDef zoo_depthwise_methods[] = {
    {"depthwise_forward", py_depthwise_forward, METH_VARARGS,
     "depthwise_forward(y, x, w, bias, N, C, H, W, M, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, has_bias, dtype)"},
    {"depthwise_backward_x", py_depthwise_backward_x, METH_VARARGS,
     "depthwise_backward_x(dx, gy, w, N, C, H, W, M, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, dtype)"},
    {"depthwise_backward_w", py_depthwise_backward_w, METH_VARARGS,
     "depthwise_backward_w(dw, gy, x, N, C, H, W, M, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------ */

/* One output plane: yp[oh, ow] = b + sum_{i,j} wp[i, j] * xp[oh*sh - pt + i*dh, ow*sw - pl + j*dw]. */
ZOO_MULTIVERSION static void S(dw_plane)(T *restrict yp, const T *restrict xp, const T *restrict wp, T b,
                                         const zoo_tap *tp, int taps, int64_t W, int sh, int sw, int64_t OH,
                                         int64_t OW) {
    for (int64_t k = 0; k < OH * OW; k++) yp[k] = b;
    for (int t = 0; t < taps; t++) {
        const T wv = wp[t];
        const int64_t lo = tp[t].lo, hi = tp[t].hi, woff = tp[t].woff;
        for (int64_t oh = tp[t].r0; oh < tp[t].r1; oh++) {
            const T *xr = xp + (oh * sh + tp[t].hoff) * W;
            T *yr = yp + oh * OW;
            if (sw == 1)
                for (int64_t ow = lo; ow < hi; ow++) yr[ow] += wv * xr[ow + woff];
            else
                for (int64_t ow = lo; ow < hi; ow++) yr[ow] += wv * xr[ow * sw + woff];
        }
    }
}

/* depthwise forward: y[n, c*M + m] = depthwise stencil of x[n, c] with w[c*M + m, 0] (+ bias).
 * x (N, C, H, W), w (C*M, 1, KH, KW), bias (C*M,) or NULL, y (N, C*M, OH, OW). Overwrites y. */
static int S(depthwise_forward)(T *y, const T *x, const T *w, const T *bias, int64_t N, int64_t C, int64_t H,
                                int64_t W, int64_t M, int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl,
                                int64_t OH, int64_t OW) {
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1 || M < 1) return ZOO_EINVAL;
    const int64_t O = C * M;
    zoo_tap *tp = zoo_taps(H, W, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW);
    if (!tp) return ZOO_ENOMEM;
    #pragma omp parallel for schedule(static) if (N * O * OH * OW * kh * kw > 32768)
    for (int64_t t = 0; t < N * O; t++) {
        const int64_t n = t / O, o = t % O, c = o / M;
        S(dw_plane)(y + t * OH * OW, x + (n * C + c) * H * W, w + o * kh * kw, bias ? bias[o] : (T)0, tp, kh * kw, W,
                    sh, sw, OH, OW);
    }
    free(tp);
    return ZOO_OK;
}

/* One input plane's gradient from one output plane: dp[...] += wp[i, j] * g[oh, ow] per tap. */
ZOO_MULTIVERSION static void S(dwx_plane)(T *restrict dp, const T *restrict g, const T *restrict wp,
                                          const zoo_tap *tp, int taps, int64_t W, int sh, int sw, int64_t OW) {
    for (int t = 0; t < taps; t++) {
        const T wv = wp[t];
        const int64_t lo = tp[t].lo, hi = tp[t].hi, woff = tp[t].woff;
        for (int64_t oh = tp[t].r0; oh < tp[t].r1; oh++) {
            T *dr = dp + (oh * sh + tp[t].hoff) * W;
            const T *gr = g + oh * OW;
            if (sw == 1)
                for (int64_t ow = lo; ow < hi; ow++) dr[ow + woff] += wv * gr[ow];
            else
                for (int64_t ow = lo; ow < hi; ow++) dr[ow * sw + woff] += wv * gr[ow];
        }
    }
}

/* depthwise backward to x: dx[n, c, h, w] += sum_{m, i, j, oh, ow} w[c*M+m, 0, i, j] * gy[n, c*M+m, oh, ow]
 * over the taps that read (h, w). One thread per (n, c) plane. Adds into dx. */
static int S(depthwise_backward_x)(T *dx, const T *gy, const T *w, int64_t N, int64_t C, int64_t H, int64_t W,
                                   int64_t M, int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl,
                                   int64_t OH, int64_t OW) {
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1 || M < 1) return ZOO_EINVAL;
    const int64_t O = C * M;
    zoo_tap *tp = zoo_taps(H, W, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW);
    if (!tp) return ZOO_ENOMEM;
    #pragma omp parallel for schedule(static) if (N * O * OH * OW * kh * kw > 32768)
    for (int64_t t = 0; t < N * C; t++) {
        const int64_t n = t / C, c = t % C;
        for (int64_t m = 0; m < M; m++) {
            const int64_t o = c * M + m;
            S(dwx_plane)(dx + t * H * W, gy + (n * O + o) * OH * OW, w + o * kh * kw, tp, kh * kw, W, sh, sw, OW);
        }
    }
    free(tp);
    return ZOO_OK;
}

/* One tap of the weight gradient over one plane: sum_{oh, ow} gy[oh, ow] * x[oh*sh + hoff, ow*sw + woff],
 * summed in 16 lanes (vectorisable, fixed order) and then across them. */
ZOO_MULTIVERSION static T S(dw_tap)(const T *restrict g, const T *restrict xp, const zoo_tap *tp, int64_t W, int sh,
                                    int sw, int64_t OW) {
    T lanes[16] = {0};
    const int64_t lo = tp->lo, hi = tp->hi, woff = tp->woff;
    for (int64_t oh = tp->r0; oh < tp->r1; oh++) {
        const T *xr = xp + (oh * sh + tp->hoff) * W, *gr = g + oh * OW;
        for (int64_t ow = lo; ow < hi; ow += 16) {
            const int n = hi - ow < 16 ? (int)(hi - ow) : 16;
            if (sw == 1)
                for (int l = 0; l < n; l++) lanes[l] += gr[ow + l] * xr[ow + l + woff];
            else
                for (int l = 0; l < n; l++) lanes[l] += gr[ow + l] * xr[(ow + l) * sw + woff];
        }
    }
    T acc = 0;
    for (int l = 0; l < 16; l++) acc += lanes[l];
    return acc;
}

/* depthwise backward to w: dw[o, 0, i, j] += sum_{n, oh, ow} gy[n, o, oh, ow] * x[n, o/M, ...].
 * One thread per output channel o; images summed in order. Adds into dw. */
static int S(depthwise_backward_w)(T *dwt, const T *gy, const T *x, int64_t N, int64_t C, int64_t H, int64_t W,
                                   int64_t M, int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl,
                                   int64_t OH, int64_t OW) {
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1 || M < 1) return ZOO_EINVAL;
    const int64_t O = C * M;
    zoo_tap *tp = zoo_taps(H, W, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW);
    if (!tp) return ZOO_ENOMEM;
    #pragma omp parallel for schedule(static) if (N * O * OH * OW * kh * kw > 32768)
    for (int64_t o = 0; o < O; o++) {
        const int64_t c = o / M;
        for (int t = 0; t < kh * kw; t++) {
            T acc = 0;
            for (int64_t n = 0; n < N; n++)
                acc += S(dw_tap)(gy + (n * O + o) * OH * OW, x + (n * C + c) * H * W, tp + t, W, sh, sw, OW);
            dwt[o * kh * kw + t] += acc;
        }
    }
    free(tp);
    return ZOO_OK;
}

#endif
