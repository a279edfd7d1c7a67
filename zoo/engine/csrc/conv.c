/* conv.c: the loops around the convolution GEMMs (im2col, col2im, layout swaps, bias).
 *
 * Geometry (one 2-D convolution, images n0 <= n < n1 of a batch; 1-D uses H = 1):
 *   x (N, C, H, W), kernel KH x KW, strides sh, sw, dilations dh, dw, padding top pt and
 *   left pl (bottom/right padding only shows through OH and OW), output OH x OW.
 *   Output pixel (oh, ow) with kernel tap (i, j) reads x[n, c, oh*sh - pt + i*dh,
 *   ow*sw - pl + j*dw], or 0 outside the image.
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

/* ---- Winograd F(2x2, 3x3) wrappers (see the kernels' comment) ------------------------ */

/* wino_input(V, x, n0, n1, C, H, W, pt, pl, TH, TW, ks, nthreads, dtype); V holds 16 rows ks apart */
static PyObject *py_wino_input(PyObject *self, PyObject *args) {
    Py_buffer v, x;
    Py_ssize_t n0, n1, C, H, W, TH, TW, ks;
    int pt, pl, nthreads, dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*nnnnniinnnii", &v, &x, &n0, &n1, &C, &H, &W, &pt, &pl, &TH, &TW, &ks, &nthreads,
                          &dtype))
        return NULL;
    int team = zoo_team(nthreads);
    ZOO_DISPATCH(st, dtype, wino_input, v.buf, x.buf, n0, n1, C, H, W, pt, pl, TH, TW, ks, team);
    PyBuffer_Release(&v);
    PyBuffer_Release(&x);
    return zoo_status_to_py(st, "wino_input");
}

/* wino_input_adjoint(dx, dV, n0, n1, C, H, W, pt, pl, TH, TW, ks, overwrite, nthreads, dtype) */
static PyObject *py_wino_input_adjoint(PyObject *self, PyObject *args) {
    Py_buffer dx, v;
    Py_ssize_t n0, n1, C, H, W, TH, TW, ks;
    int pt, pl, overwrite, nthreads, dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*nnnnniinnniii", &dx, &v, &n0, &n1, &C, &H, &W, &pt, &pl, &TH, &TW, &ks,
                          &overwrite, &nthreads, &dtype))
        return NULL;
    int team = zoo_team(nthreads);
    ZOO_DISPATCH(st, dtype, wino_input_adjoint, dx.buf, v.buf, n0, n1, C, H, W, pt, pl, TH, TW, ks, overwrite, team);
    PyBuffer_Release(&dx);
    PyBuffer_Release(&v);
    return zoo_status_to_py(st, "wino_input_adjoint");
}

/* wino_output(y, M, bias, n0, n1, O, OH, OW, TH, TW, ks, has_bias, nthreads, dtype) */
static PyObject *py_wino_output(PyObject *self, PyObject *args) {
    Py_buffer y, m, bias;
    Py_ssize_t n0, n1, O, OH, OW, TH, TW, ks;
    int has_bias, nthreads, dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*y*nnnnnnnniii", &y, &m, &bias, &n0, &n1, &O, &OH, &OW, &TH, &TW, &ks, &has_bias,
                          &nthreads, &dtype))
        return NULL;
    int team = zoo_team(nthreads);
    ZOO_DISPATCH(st, dtype, wino_output, y.buf, m.buf, has_bias ? bias.buf : NULL, n0, n1, O, OH, OW, TH, TW, ks, team);
    PyBuffer_Release(&y);
    PyBuffer_Release(&m);
    PyBuffer_Release(&bias);
    return zoo_status_to_py(st, "wino_output");
}

/* wino_output_adjoint(dM, gy, n0, n1, O, OH, OW, TH, TW, ks, nthreads, dtype) */
static PyObject *py_wino_output_adjoint(PyObject *self, PyObject *args) {
    Py_buffer m, gy;
    Py_ssize_t n0, n1, O, OH, OW, TH, TW, ks;
    int nthreads, dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*nnnnnnnnii", &m, &gy, &n0, &n1, &O, &OH, &OW, &TH, &TW, &ks, &nthreads, &dtype))
        return NULL;
    int team = zoo_team(nthreads);
    ZOO_DISPATCH(st, dtype, wino_output_adjoint, m.buf, gy.buf, n0, n1, O, OH, OW, TH, TW, ks, team);
    PyBuffer_Release(&m);
    PyBuffer_Release(&gy);
    return zoo_status_to_py(st, "wino_output_adjoint");
}

PyMethodDef zoo_conv_methods[] = {
    {"im2col", py_im2col, METH_VARARGS,
     "im2col(col, x, n0, n1, C, H, W, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, rs, ns, nthreads, dtype)"},
    {"col2im", py_col2im, METH_VARARGS,
     "col2im(dx, col, n0, n1, C, H, W, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, rs, ns, overwrite, clobber, nthreads, "
     "dtype)"},
    {"swap01", py_swap01, METH_VARARGS, "swap01(out, inp, bias, A, B, P, has_bias, nthreads, dtype)"},
    {"bias_add", py_bias_add, METH_VARARGS, "bias_add(y, bias, N, O, P, dtype)"},
    {"depthwise_forward", py_depthwise_forward, METH_VARARGS,
     "depthwise_forward(y, x, w, bias, N, C, H, W, M, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, has_bias, dtype)"},
    {"depthwise_backward_x", py_depthwise_backward_x, METH_VARARGS,
     "depthwise_backward_x(dx, gy, w, N, C, H, W, M, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, dtype)"},
    {"depthwise_backward_w", py_depthwise_backward_w, METH_VARARGS,
     "depthwise_backward_w(dw, gy, x, N, C, H, W, M, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW, dtype)"},
    {"wino_input", py_wino_input, METH_VARARGS,
     "wino_input(V, x, n0, n1, C, H, W, pt, pl, TH, TW, ks, nthreads, dtype)"},
    {"wino_input_adjoint", py_wino_input_adjoint, METH_VARARGS,
     "wino_input_adjoint(dx, dV, n0, n1, C, H, W, pt, pl, TH, TW, ks, overwrite, nthreads, dtype)"},
    {"wino_output", py_wino_output, METH_VARARGS,
     "wino_output(y, M, bias, n0, n1, O, OH, OW, TH, TW, ks, has_bias, nthreads, dtype)"},
    {"wino_output_adjoint", py_wino_output_adjoint, METH_VARARGS,
     "wino_output_adjoint(dM, gy, n0, n1, O, OH, OW, TH, TW, ks, nthreads, dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------ */

#ifndef ZOO_CONV_HELPERS
#define ZOO_CONV_HELPERS
/* First output index o with o*s + off >= 0, and one past the last with o*s + off < size. */
static inline void zoo_valid_range(int64_t off, int64_t s, int64_t size, int64_t n_out, int64_t *lo, int64_t *hi) {
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = size - off <= 0 ? 0 : (size - off - 1) / s + 1;
    if (b > n_out) b = n_out;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

/* The valid output ranges of one kernel tap (i, j): output rows [r0, r1) read image rows
 * oh*sh + hoff inside the image, output columns [lo, hi) read columns ow*sw + woff inside. */
typedef struct {
    int64_t hoff, woff, r0, r1, lo, hi;
} zoo_tap;

/* taps[i*kw + j] for every tap; NULL if out of memory (free() it). */
static zoo_tap *zoo_taps(int64_t H, int64_t W, int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl,
                         int64_t OH, int64_t OW) {
    zoo_tap *taps = malloc(sizeof(zoo_tap) * (size_t)kh * (size_t)kw);
    if (!taps) return NULL;
    for (int i = 0; i < kh; i++)
        for (int j = 0; j < kw; j++) {
            zoo_tap *t = taps + i * kw + j;
            t->hoff = (int64_t)i * dh - pt;
            t->woff = (int64_t)j * dw - pl;
            zoo_valid_range(t->hoff, sh, H, OH, &t->r0, &t->r1);
            zoo_valid_range(t->woff, sw, W, OW, &t->lo, &t->hi);
        }
    return taps;
}
#endif

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

/* ---- depthwise convolution (groups == C): a stencil per channel, no GEMM ------------- */

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

/* ---- Winograd F(2x2, 3x3): 3x3 stride-1 convolutions with 16 GEMMs of K = C ------------
 *
 * Output tile (ty, tx) is y[2ty .. 2ty+1, 2tx .. 2tx+1] (ty < TH = ceil(OH/2), tx < TW =
 * ceil(OW/2); parts past OH, OW are dropped); it reads the 4x4 input patch d at rows
 * 2ty - pt .. +3 and columns 2tx - pl .. +3 (0 outside the image). With
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1],
 * V = B^T d B (per channel), U = G w G^T (per output/input channel pair), M[k] = U[k] @ V[k]
 * for the 16 entries k = 4a + b, and y_tile = A^T M A. V and M hold 16 (channels, nb, T)
 * blocks ks >= channels*nb*T elements apart (a stride off powers of two keeps the 16 streams
 * out of each other's cache sets), over images n0 .. n1-1 (nb of them), T = TH*TW per image.
 * The backward uses the adjoints: dM = A dy A^T, dV = U^T dM, dd = B dV B^T (added into dx,
 * tiles overlap), dU = dM V^T, dw = G^T dU G.
 */

/* Input transform of one image plane xp (H, W) into v[k*ks + t]. The plane is first split
 * into its even and odd columns with the padding made explicit: E[hp][kx] = x[hp - pt][2kx - pl],
 * Od[hp][kx] = x[hp - pt][2kx + 1 - pl] (0 outside), hp < 2*TH + 2, kx < TW + 1, in the scratch
 * c (2*(2*TH + 2)*(TW + 1) elements); patch entry d[r][j] of tile (ty, tx) is then
 * (j even ? E : Od)[2ty + r][tx + j/2], so each band of tiles is transformed with contiguous
 * loads. */
ZOO_MULTIVERSION static void S(wino_in_plane)(T *restrict v, int64_t ks, const T *restrict xp, int64_t H, int64_t W,
                                              int pt, int pl, int64_t TH, int64_t TW, T *restrict c) {
    const int64_t HP = 2 * TH + 2, WP = TW + 1;
    T *E = c, *Od = c + HP * WP;
    int64_t elo, ehi, olo, ohi;
    zoo_valid_range(-pl, 2, W, WP, &elo, &ehi);
    zoo_valid_range(1 - pl, 2, W, WP, &olo, &ohi);
    for (int64_t hp = 0; hp < HP; hp++) {
        const int64_t h = hp - pt;
        T *er = E + hp * WP, *orow = Od + hp * WP;
        if (h < 0 || h >= H) {
            for (int64_t k = 0; k < WP; k++) er[k] = orow[k] = 0;
            continue;
        }
        const T *row = xp + h * W;
        for (int64_t k = 0; k < elo; k++) er[k] = 0;
        for (int64_t k = elo; k < ehi; k++) er[k] = row[2 * k - pl];
        for (int64_t k = ehi; k < WP; k++) er[k] = 0;
        for (int64_t k = 0; k < olo; k++) orow[k] = 0;
        for (int64_t k = olo; k < ohi; k++) orow[k] = row[2 * k + 1 - pl];
        for (int64_t k = ohi; k < WP; k++) orow[k] = 0;
    }
    for (int64_t ty = 0; ty < TH; ty++) {
        const T *e0 = E + 2 * ty * WP, *e1 = e0 + WP, *e2 = e1 + WP, *e3 = e2 + WP;
        const T *o0 = Od + 2 * ty * WP, *o1 = o0 + WP, *o2 = o1 + WP, *o3 = o2 + WP;
        T *vt = v + ty * TW;
        /* the 16 output rows are ks >= TW apart: no dependences between iterations */
        #pragma GCC ivdep
        for (int64_t tx = 0; tx < TW; tx++) {
            /* rows of B^T d, column j: (d0 - d2, d1 + d2, d2 - d1, d1 - d3) */
            const T a0 = e0[tx] - e2[tx], a1 = o0[tx] - o2[tx], a2 = e0[tx + 1] - e2[tx + 1],
                    a3 = o0[tx + 1] - o2[tx + 1];
            const T b0 = e1[tx] + e2[tx], b1 = o1[tx] + o2[tx], b2 = e1[tx + 1] + e2[tx + 1],
                    b3 = o1[tx + 1] + o2[tx + 1];
            const T c0 = e2[tx] - e1[tx], c1 = o2[tx] - o1[tx], c2 = e2[tx + 1] - e1[tx + 1],
                    c3 = o2[tx + 1] - o1[tx + 1];
            const T d0 = e1[tx] - e3[tx], d1 = o1[tx] - o3[tx], d2 = e1[tx + 1] - e3[tx + 1],
                    d3 = o1[tx + 1] - o3[tx + 1];
            /* (.) B along each row: (r0 - r2, r1 + r2, r2 - r1, r1 - r3) */
            vt[0 * ks + tx] = a0 - a2;
            vt[1 * ks + tx] = a1 + a2;
            vt[2 * ks + tx] = a2 - a1;
            vt[3 * ks + tx] = a1 - a3;
            vt[4 * ks + tx] = b0 - b2;
            vt[5 * ks + tx] = b1 + b2;
            vt[6 * ks + tx] = b2 - b1;
            vt[7 * ks + tx] = b1 - b3;
            vt[8 * ks + tx] = c0 - c2;
            vt[9 * ks + tx] = c1 + c2;
            vt[10 * ks + tx] = c2 - c1;
            vt[11 * ks + tx] = c1 - c3;
            vt[12 * ks + tx] = d0 - d2;
            vt[13 * ks + tx] = d1 + d2;
            vt[14 * ks + tx] = d2 - d1;
            vt[15 * ks + tx] = d1 - d3;
        }
    }
}

/* wino_input: V[((k*C + c)*nb + n - n0)*T + t] = (B^T d B)[k] of tile t of x[n, c]. Overwrites V. */
static int S(wino_input)(T *v, const T *x, int64_t n0, int64_t n1, int64_t C, int64_t H, int64_t W, int pt, int pl,
                         int64_t TH, int64_t TW, int64_t ks, int team) {
    const int64_t nb = n1 - n0, T_ = TH * TW;
    if (n1 < n0 || TH < 1 || TW < 1 || team < 1 || ks < C * nb * T_) return ZOO_EINVAL;
    const int64_t per = 2 * (2 * TH + 2) * (TW + 1);
    T *scratch = malloc(sizeof(T) * (size_t)per * (size_t)team);
    if (!scratch) return ZOO_ENOMEM;
    #pragma omp parallel for schedule(static) num_threads(team) if (team > 1 && nb * C * T_ > 4096)
    for (int64_t p = 0; p < nb * C; p++) {
        const int64_t n = p / C, c = p % C;
        S(wino_in_plane)(v + (c * nb + n) * T_, ks, x + ((n0 + n) * C + c) * H * W, H, W, pt, pl, TH, TW,
                         scratch + per * zoo_thread_id());
    }
    free(scratch);
    return ZOO_OK;
}

/* Output transform of one plane: yp[2ty + i, 2tx + j] = (A^T m A)[i, j] + b, m[k] = mp[k*ks + t];
 * e holds 4*TW scratch (two interleaved output rows). */
ZOO_MULTIVERSION static void S(wino_out_plane)(T *restrict yp, const T *restrict mp, int64_t ks, T b, int64_t OH,
                                               int64_t OW, int64_t TH, int64_t TW, T *restrict e) {
    T *e0 = e, *e1 = e + 2 * TW;
    for (int64_t ty = 0; ty < TH; ty++) {
        const T *mt = mp + ty * TW;
        #pragma GCC ivdep
        for (int64_t tx = 0; tx < TW; tx++) {
            T s0[4], s1[4];
            for (int j = 0; j < 4; j++) {
                const T m0 = mt[j * ks + tx], m1 = mt[(4 + j) * ks + tx], m2 = mt[(8 + j) * ks + tx],
                        m3 = mt[(12 + j) * ks + tx];
                s0[j] = m0 + m1 + m2;
                s1[j] = m1 - m2 - m3;
            }
            e0[2 * tx] = s0[0] + s0[1] + s0[2] + b;
            e0[2 * tx + 1] = s0[1] - s0[2] - s0[3] + b;
            e1[2 * tx] = s1[0] + s1[1] + s1[2] + b;
            e1[2 * tx + 1] = s1[1] - s1[2] - s1[3] + b;
        }
        memcpy(yp + 2 * ty * OW, e0, (size_t)OW * sizeof(T));
        if (2 * ty + 1 < OH) memcpy(yp + (2 * ty + 1) * OW, e1, (size_t)OW * sizeof(T));
    }
}

/* wino_output: y[n, o] = output transform of M[:, o, n - n0] (+ bias[o]) for n0 <= n < n1.
 * y (N, O, OH, OW). Overwrites those images of y. */
static int S(wino_output)(T *y, const T *m, const T *bias, int64_t n0, int64_t n1, int64_t O, int64_t OH, int64_t OW,
                          int64_t TH, int64_t TW, int64_t ks, int team) {
    const int64_t nb = n1 - n0, T_ = TH * TW;
    if (n1 < n0 || TH < 1 || TW < 1 || team < 1 || 2 * TH < OH || 2 * TW < OW || ks < O * nb * T_) return ZOO_EINVAL;
    T *scratch = malloc(sizeof(T) * 4 * (size_t)TW * (size_t)team);
    if (!scratch) return ZOO_ENOMEM;
    #pragma omp parallel for schedule(static) num_threads(team) if (team > 1 && nb * O * T_ > 4096)
    for (int64_t p = 0; p < nb * O; p++) {
        const int64_t n = p / O, o = p % O;
        S(wino_out_plane)(y + ((n0 + n) * O + o) * OH * OW, m + (o * nb + n) * T_, ks, bias ? bias[o] : (T)0, OH, OW,
                          TH, TW, scratch + 4 * TW * zoo_thread_id());
    }
    free(scratch);
    return ZOO_OK;
}

/* Adjoint of the output transform for one plane: mp[k*ks + t] = (A dy A^T)[k], dy the 2x2
 * tile of gp (0 past OH, OW); e holds 4*TW scratch. */
ZOO_MULTIVERSION static void S(wino_outadj_plane)(T *restrict mp, int64_t ks, const T *restrict gp, int64_t OH,
                                                  int64_t OW, int64_t TH, int64_t TW, T *restrict e) {
    T *e0 = e, *e1 = e + 2 * TW;
    for (int64_t ty = 0; ty < TH; ty++) {
        memcpy(e0, gp + 2 * ty * OW, (size_t)OW * sizeof(T));
        for (int64_t k = OW; k < 2 * TW; k++) e0[k] = 0;
        if (2 * ty + 1 < OH) {
            memcpy(e1, gp + (2 * ty + 1) * OW, (size_t)OW * sizeof(T));
            for (int64_t k = OW; k < 2 * TW; k++) e1[k] = 0;
        } else {
            for (int64_t k = 0; k < 2 * TW; k++) e1[k] = 0;
        }
        T *mt = mp + ty * TW;
        #pragma GCC ivdep
        for (int64_t tx = 0; tx < TW; tx++) {
            const T a = e0[2 * tx], b = e0[2 * tx + 1], c = e1[2 * tx], d = e1[2 * tx + 1];
            /* A dy: rows (a, b), (a + c, b + d), (a - c, b - d), (-c, -d); then (.) A^T */
            const T q0[4] = {a, a + c, a - c, -c}, q1[4] = {b, b + d, b - d, -d};
            for (int i = 0; i < 4; i++) {
                mt[(4 * i + 0) * ks + tx] = q0[i];
                mt[(4 * i + 1) * ks + tx] = q0[i] + q1[i];
                mt[(4 * i + 2) * ks + tx] = q0[i] - q1[i];
                mt[(4 * i + 3) * ks + tx] = -q1[i];
            }
        }
    }
}

/* wino_output_adjoint: dM[:, o, n - n0] = A dy A^T per tile of gy[n, o]. gy (N, O, OH, OW).
 * Overwrites dM. */
static int S(wino_output_adjoint)(T *m, const T *gy, int64_t n0, int64_t n1, int64_t O, int64_t OH, int64_t OW,
                                  int64_t TH, int64_t TW, int64_t ks, int team) {
    const int64_t nb = n1 - n0, T_ = TH * TW;
    if (n1 < n0 || TH < 1 || TW < 1 || team < 1 || 2 * TH < OH || 2 * TW < OW || ks < O * nb * T_) return ZOO_EINVAL;
    T *scratch = malloc(sizeof(T) * 4 * (size_t)TW * (size_t)team);
    if (!scratch) return ZOO_ENOMEM;
    #pragma omp parallel for schedule(static) num_threads(team) if (team > 1 && nb * O * T_ > 4096)
    for (int64_t p = 0; p < nb * O; p++) {
        const int64_t n = p / O, o = p % O;
        S(wino_outadj_plane)(m + (o * nb + n) * T_, ks, gy + ((n0 + n) * O + o) * OH * OW, OH, OW, TH, TW,
                             scratch + 4 * TW * zoo_thread_id());
    }
    free(scratch);
    return ZOO_OK;
}

/* Adjoint of the input transform for one plane: dp[patch of tile t] += B dV B^T with
 * dV[k] = vp[k*ks + t]. Per band: dd of every tile into 16 rows D (16*TW scratch), then
 * per patch row the two overlapping tiles' columns are combined into one row S (2*TW + 2
 * scratch) added to the image row. */
ZOO_MULTIVERSION static void S(wino_inadj_plane)(T *restrict dp, const T *restrict vp, int64_t ks, int64_t H,
                                                 int64_t W, int pt, int pl, int64_t TH, int64_t TW, T *restrict D,
                                                 T *restrict S_) {
    int64_t u0 = pl, u1 = pl + W; /* row positions u = 2tx + j that land inside: 0 <= u - pl < W */
    if (u1 > 2 * TW + 2) u1 = 2 * TW + 2;
    for (int64_t ty = 0; ty < TH; ty++) {
        const T *vt = vp + ty * TW;
        #pragma GCC ivdep
        for (int64_t tx = 0; tx < TW; tx++) {
            T q[16];
            for (int j = 0; j < 4; j++) {
                const T g0 = vt[j * ks + tx], g1 = vt[(4 + j) * ks + tx], g2 = vt[(8 + j) * ks + tx],
                        g3 = vt[(12 + j) * ks + tx];
                /* B dV: rows g0, g1 - g2 + g3, -g0 + g1 + g2, -g3 */
                q[j] = g0;
                q[4 + j] = g1 - g2 + g3;
                q[8 + j] = -g0 + g1 + g2;
                q[12 + j] = -g3;
            }
            for (int i = 0; i < 4; i++) {
                const T r0 = q[4 * i], r1 = q[4 * i + 1], r2 = q[4 * i + 2], r3 = q[4 * i + 3];
                /* (.) B^T: r0, r1 - r2 + r3, -r0 + r1 + r2, -r3 */
                D[(4 * i + 0) * TW + tx] = r0;
                D[(4 * i + 1) * TW + tx] = r1 - r2 + r3;
                D[(4 * i + 2) * TW + tx] = -r0 + r1 + r2;
                D[(4 * i + 3) * TW + tx] = -r3;
            }
        }
        const int64_t h0 = 2 * ty - pt;
        for (int r = 0; r < 4; r++) {
            const int64_t h = h0 + r;
            if (h < 0 || h >= H) continue;
            const T *d0 = D + (4 * r) * TW, *d1 = d0 + TW, *d2 = d1 + TW, *d3 = d2 + TW;
            S_[0] = d0[0];
            S_[1] = d1[0];
            for (int64_t tx = 1; tx < TW; tx++) {
                S_[2 * tx] = d0[tx] + d2[tx - 1];
                S_[2 * tx + 1] = d1[tx] + d3[tx - 1];
            }
            S_[2 * TW] = d2[TW - 1];
            S_[2 * TW + 1] = d3[TW - 1];
            T *row = dp + h * W - pl;
            for (int64_t u = u0; u < u1; u++) row[u] += S_[u];
        }
    }
}

/* wino_input_adjoint: dx[n, c] += sum over tiles of B dV B^T placed at the tile's patch (inside
 * the image), dV = V[:, c, n - n0]. Zeroes the planes first if overwrite. One thread per
 * plane, tiles in a fixed order: sums do not depend on the threads. */
static int S(wino_input_adjoint)(T *dx, const T *v, int64_t n0, int64_t n1, int64_t C, int64_t H, int64_t W, int pt,
                                 int pl, int64_t TH, int64_t TW, int64_t ks, int overwrite, int team) {
    const int64_t nb = n1 - n0, T_ = TH * TW, per = 18 * TW + 2;
    if (n1 < n0 || TH < 1 || TW < 1 || team < 1 || ks < C * nb * T_) return ZOO_EINVAL;
    T *scratch = malloc(sizeof(T) * (size_t)per * (size_t)team);
    if (!scratch) return ZOO_ENOMEM;
    #pragma omp parallel for schedule(static) num_threads(team) if (team > 1 && nb * C * T_ > 4096)
    for (int64_t p = 0; p < nb * C; p++) {
        const int64_t n = p / C, c = p % C;
        T *dp = dx + ((n0 + n) * C + c) * H * W;
        T *mine = scratch + per * zoo_thread_id();
        if (overwrite) memset(dp, 0, (size_t)(H * W) * sizeof(T));
        S(wino_inadj_plane)(dp, v + (c * nb + n) * T_, ks, H, W, pt, pl, TH, TW, mine, mine + 16 * TW);
    }
    free(scratch);
    return ZOO_OK;
}

#endif
