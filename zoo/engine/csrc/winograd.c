/* winograd.c: Winograd F(2x2, 3x3): 3x3 stride-1 convolutions with 16 GEMMs of K = C.
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
 *
 * Built for float and double from one source (see zoo_template.h).
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

#include "conv.h"

#define ZOO_TEMPLATE "winograd.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------- */

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

PyMethodDef zoo_winograd_methods[] = {
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
