/* pool.c: max and average pooling over the last two axes of (NC, H, W) planes (1-D: H = 1).
 *
 * Window of output (i, j): rows i*sh - pt ... i*sh - pt + kh - 1 and columns
 * j*sw - pl ... j*sw - pl + kw - 1, clipped to the image. The padded image is
 * (H + pt + pb) x (W + pl + pr); OH, OW come from the caller (floor or ceil mode).
 * One OpenMP thread per plane: results do not depend on the number of threads.
 *
 * Built for float and double from one source (see act.c for the template).
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

#define ZOO_TEMPLATE_PASS 1
#define T float
#define S(name) name##_f32
#include "pool.c"
#undef T
#undef S
#define T double
#define S(name) name##_f64
#include "pool.c"
#undef T
#undef S
#undef ZOO_TEMPLATE_PASS

/* ---- Python wrappers ---------------------------------------------------------------- */

/* maxpool2d_forward(out, argmax, x, NC, H, W, kh, kw, sh, sw, pt, pl, OH, OW, dtype) */
static PyObject *py_maxpool2d_forward(PyObject *self, PyObject *args) {
    Py_buffer out, arg, x;
    Py_ssize_t NC, H, W, OH, OW;
    int kh, kw, sh, sw, pt, pl, dtype, st;
    if (!PyArg_ParseTuple(args, "w*w*y*nnniiiiiinni", &out, &arg, &x, &NC, &H, &W, &kh, &kw, &sh, &sw, &pt, &pl,
                          &OH, &OW, &dtype))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    if (dtype == ZOO_F32)
        st = maxpool2d_forward_f32(out.buf, arg.buf, x.buf, NC, H, W, kh, kw, sh, sw, pt, pl, OH, OW);
    else
        st = maxpool2d_forward_f64(out.buf, arg.buf, x.buf, NC, H, W, kh, kw, sh, sw, pt, pl, OH, OW);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&out);
    PyBuffer_Release(&arg);
    PyBuffer_Release(&x);
    return zoo_status_to_py(st, "maxpool2d_forward");
}

/* maxpool2d_backward(dx, gy, argmax, NC, HW, OHOW, overwrite, dtype) */
static PyObject *py_maxpool2d_backward(PyObject *self, PyObject *args) {
    Py_buffer dx, gy, arg;
    Py_ssize_t NC, HW, OHOW;
    int overwrite, dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*y*nnnii", &dx, &gy, &arg, &NC, &HW, &OHOW, &overwrite, &dtype)) return NULL;
    Py_BEGIN_ALLOW_THREADS
    st = dtype == ZOO_F32 ? maxpool2d_backward_f32(dx.buf, gy.buf, arg.buf, NC, HW, OHOW, overwrite)
                          : maxpool2d_backward_f64(dx.buf, gy.buf, arg.buf, NC, HW, OHOW, overwrite);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&dx);
    PyBuffer_Release(&gy);
    PyBuffer_Release(&arg);
    return zoo_status_to_py(st, "maxpool2d_backward");
}

/* avgpool2d_forward(out, x, NC, H, W, kh, kw, sh, sw, pt, pl, pb, pr, OH, OW, count_include_pad, dtype) */
static PyObject *py_avgpool2d_forward(PyObject *self, PyObject *args) {
    Py_buffer out, x;
    Py_ssize_t NC, H, W, OH, OW;
    int kh, kw, sh, sw, pt, pl, pb, pr, cip, dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*nnniiiiiiiinnii", &out, &x, &NC, &H, &W, &kh, &kw, &sh, &sw, &pt, &pl, &pb,
                          &pr, &OH, &OW, &cip, &dtype))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    if (dtype == ZOO_F32)
        st = avgpool2d_forward_f32(out.buf, x.buf, NC, H, W, kh, kw, sh, sw, pt, pl, pb, pr, OH, OW, cip);
    else
        st = avgpool2d_forward_f64(out.buf, x.buf, NC, H, W, kh, kw, sh, sw, pt, pl, pb, pr, OH, OW, cip);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&out);
    PyBuffer_Release(&x);
    return zoo_status_to_py(st, "avgpool2d_forward");
}

/* avgpool2d_backward(dx, gy, NC, H, W, kh, kw, sh, sw, pt, pl, pb, pr, OH, OW, count_include_pad, overwrite,
 *                    dtype) */
static PyObject *py_avgpool2d_backward(PyObject *self, PyObject *args) {
    Py_buffer dx, gy;
    Py_ssize_t NC, H, W, OH, OW;
    int kh, kw, sh, sw, pt, pl, pb, pr, cip, overwrite, dtype, st;
    if (!PyArg_ParseTuple(args, "w*y*nnniiiiiiiinniii", &dx, &gy, &NC, &H, &W, &kh, &kw, &sh, &sw, &pt, &pl, &pb,
                          &pr, &OH, &OW, &cip, &overwrite, &dtype))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    if (dtype == ZOO_F32)
        st = avgpool2d_backward_f32(dx.buf, gy.buf, NC, H, W, kh, kw, sh, sw, pt, pl, pb, pr, OH, OW, cip, overwrite);
    else
        st = avgpool2d_backward_f64(dx.buf, gy.buf, NC, H, W, kh, kw, sh, sw, pt, pl, pb, pr, OH, OW, cip, overwrite);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&dx);
    PyBuffer_Release(&gy);
    return zoo_status_to_py(st, "avgpool2d_backward");
}

PyMethodDef zoo_pool_methods[] = {
    {"maxpool2d_forward", py_maxpool2d_forward, METH_VARARGS,
     "maxpool2d_forward(out, argmax, x, NC, H, W, kh, kw, sh, sw, pt, pl, OH, OW, dtype)"},
    {"maxpool2d_backward", py_maxpool2d_backward, METH_VARARGS,
     "maxpool2d_backward(dx, gy, argmax, NC, HW, OHOW, overwrite, dtype)"},
    {"avgpool2d_forward", py_avgpool2d_forward, METH_VARARGS,
     "avgpool2d_forward(out, x, NC, H, W, kh, kw, sh, sw, pt, pl, pb, pr, OH, OW, count_include_pad, dtype)"},
    {"avgpool2d_backward", py_avgpool2d_backward, METH_VARARGS,
     "avgpool2d_backward(dx, gy, NC, H, W, kh, kw, sh, sw, pt, pl, pb, pr, OH, OW, count_include_pad, overwrite, "
     "dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------ */

#ifndef ZOO_POOL_HELPERS
#define ZOO_POOL_HELPERS
/* Window [s, e) of output index o along one axis, clipped to [0, size). */
static inline void zoo_pool_window(int64_t o, int s, int k, int pad, int64_t size, int64_t *lo, int64_t *hi) {
    int64_t a = o * s - pad, b = a + k;
    *lo = a < 0 ? 0 : a;
    *hi = b > size ? size : b;
}
#endif

/* maxpool2d forward: out[p, i, j] = max over the window of x[p], argmax[p, i, j] = its flat
 * index h*W + w in the plane (the first maximum; a NaN wins and stays), or -1 and -inf for a
 * window with no pixel. x (NC, H, W), out and argmax (NC, OH, OW). Overwrites out, argmax. */
static int S(maxpool2d_forward)(T *out, int32_t *argmax, const T *x, int64_t NC, int64_t H, int64_t W, int kh,
                                int kw, int sh, int sw, int pt, int pl, int64_t OH, int64_t OW) {
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || H * W > INT32_MAX) return ZOO_EINVAL;
    #pragma omp parallel for schedule(static) if (NC * OH * OW * kh * kw > 32768)
    for (int64_t p = 0; p < NC; p++) {
        const T *xp = x + p * H * W;
        T *op = out + p * OH * OW;
        int32_t *ap = argmax + p * OH * OW;
        for (int64_t i = 0; i < OH; i++) {
            int64_t h0, h1;
            zoo_pool_window(i, sh, kh, pt, H, &h0, &h1);
            for (int64_t j = 0; j < OW; j++) {
                int64_t w0, w1;
                zoo_pool_window(j, sw, kw, pl, W, &w0, &w1);
                T best = -INFINITY;
                int64_t arg = -1;
                for (int64_t h = h0; h < h1; h++) {
                    const T *xr = xp + h * W;
                    for (int64_t w = w0; w < w1; w++) {
                        T v = xr[w];
                        if (arg < 0 || (!(v <= best) && best == best)) {
                            best = v;
                            arg = h * W + w;
                        }
                    }
                }
                op[i * OW + j] = best;
                ap[i * OW + j] = (int32_t)arg;
            }
        }
    }
    return ZOO_OK;
}

/* maxpool2d backward: dx[p, argmax[p, k]] += gy[p, k] for argmax >= 0.
 * dx (NC, HW), gy and argmax (NC, OHOW). Adds into dx (zeroes each plane first if overwrite). */
static int S(maxpool2d_backward)(T *dx, const T *gy, const int32_t *argmax, int64_t NC, int64_t HW, int64_t OHOW,
                                 int overwrite) {
    #pragma omp parallel for schedule(static) if (NC * (OHOW + HW) > 65536)
    for (int64_t p = 0; p < NC; p++) {
        T *dp = dx + p * HW;
        if (overwrite) memset(dp, 0, (size_t)HW * sizeof(T));
        const T *gp = gy + p * OHOW;
        const int32_t *ap = argmax + p * OHOW;
        for (int64_t k = 0; k < OHOW; k++)
            if (ap[k] >= 0 && ap[k] < HW) dp[ap[k]] += gp[k];
    }
    return ZOO_OK;
}

/* The divisor of window (i, j): its pixel count, or with count_include_pad its size clipped
 * to the padded image (Caffe / PyTorch). */
static inline T S(avg_div)(int64_t i, int64_t j, int64_t H, int64_t W, int kh, int kw, int sh, int sw, int pt,
                           int pl, int pb, int pr, int cip, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
    if (!cip) return (T)((h1 - h0) * (w1 - w0));
    int64_t a = i * sh - pt, b = a + kh, c = j * sw - pl, d = c + kw;
    if (b > H + pb) b = H + pb;
    if (d > W + pr) d = W + pr;
    return (T)((b - a) * (d - c));
}

/* avgpool2d forward: out[p, i, j] = sum of the window of x[p] / divisor (see avg_div);
 * 0 for a window with no pixel. x (NC, H, W), out (NC, OH, OW). Overwrites out. */
static int S(avgpool2d_forward)(T *out, const T *x, int64_t NC, int64_t H, int64_t W, int kh, int kw, int sh, int sw,
                                int pt, int pl, int pb, int pr, int64_t OH, int64_t OW, int cip) {
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1) return ZOO_EINVAL;
    #pragma omp parallel for schedule(static) if (NC * OH * OW * kh * kw > 32768)
    for (int64_t p = 0; p < NC; p++) {
        const T *xp = x + p * H * W;
        T *op = out + p * OH * OW;
        for (int64_t i = 0; i < OH; i++) {
            int64_t h0, h1;
            zoo_pool_window(i, sh, kh, pt, H, &h0, &h1);
            for (int64_t j = 0; j < OW; j++) {
                int64_t w0, w1;
                zoo_pool_window(j, sw, kw, pl, W, &w0, &w1);
                T acc = 0;
                for (int64_t h = h0; h < h1; h++)
                    for (int64_t w = w0; w < w1; w++) acc += xp[h * W + w];
                T div = S(avg_div)(i, j, H, W, kh, kw, sh, sw, pt, pl, pb, pr, cip, h0, h1, w0, w1);
                op[i * OW + j] = (h1 > h0 && w1 > w0 && div > 0) ? acc / div : (T)0;
            }
        }
    }
    return ZOO_OK;
}

/* avgpool2d backward: dx[p, h, w] += gy[p, i, j] / divisor for every window (i, j) holding
 * (h, w). dx (NC, H, W), gy (NC, OH, OW). Adds into dx (zeroes each plane first if overwrite). */
static int S(avgpool2d_backward)(T *dx, const T *gy, int64_t NC, int64_t H, int64_t W, int kh, int kw, int sh, int sw,
                                 int pt, int pl, int pb, int pr, int64_t OH, int64_t OW, int cip, int overwrite) {
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1) return ZOO_EINVAL;
    #pragma omp parallel for schedule(static) if (NC * OH * OW * kh * kw > 32768)
    for (int64_t p = 0; p < NC; p++) {
        T *dp = dx + p * H * W;
        if (overwrite) memset(dp, 0, (size_t)(H * W) * sizeof(T));
        const T *gp = gy + p * OH * OW;
        for (int64_t i = 0; i < OH; i++) {
            int64_t h0, h1;
            zoo_pool_window(i, sh, kh, pt, H, &h0, &h1);
            for (int64_t j = 0; j < OW; j++) {
                int64_t w0, w1;
                zoo_pool_window(j, sw, kw, pl, W, &w0, &w1);
                T div = S(avg_div)(i, j, H, W, kh, kw, sh, sw, pt, pl, pb, pr, cip, h0, h1, w0, w1);
                if (!(h1 > h0 && w1 > w0 && div > 0)) continue;
                T g = gp[i * OW + j] / div;
                for (int64_t h = h0; h < h1; h++)
                    for (int64_t w = w0; w < w1; w++) dp[h * W + w] += g;
            }
        }
    }
    return ZOO_OK;
}

#endif
