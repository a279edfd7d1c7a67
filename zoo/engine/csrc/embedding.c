/* embedding.c: embedding lookups: gather, scatter-add and bags (built for float and double
 * through zoo_template.h).
 *
 * Gather rows of W (V, D) by ids (int64) and scatter-add the output gradient into
 * dW. The scatter groups the positions by row (a counting sort, stable in position order), then
 * threads take whole rows, so every row of dW is a sum in position order: deterministic, no
 * atomics.
 */
#ifndef ZOO_TEMPLATE_PASS
#include "zoo.h"

ZOO_NO_TRAPPING_MATH

#define EMB_PAR 4194304 /* gather/scatter on the team from n * D elements (memory-bound: rarely worth it) */

#define ZOO_TEMPLATE "embedding.c"
#include "zoo_template.h"

/* ---- Python wrappers ---------------------------------------------------------------------- */

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

/* Take the n ids (int64) into *idv and check their range (emb_first_bad); on a refusal release the
 * buffers v[0..nv) as well. Returns 0, or -1 with an exception set. */
static int emb_take_ids(PyObject *o, Py_buffer *idv, int64_t n, int64_t V, int64_t base, int skip_neg, int has_pad,
                        int64_t pad, Py_buffer *v, int nv, const char *k) {
    if (zoo_take_index(o, idv, 64, n, 0, k, "ids") < 0) {
        zoo_release_buffers(v, nv);
        return -1;
    }
    const int64_t *ids = idv->buf;
    const int64_t p = emb_first_bad(ids, n, V, base, skip_neg, has_pad, pad);
    if (p < 0) return 0;
    PyErr_Format(PyExc_ValueError, "%s: id %lld at flat position %lld is out of range [%lld, %lld)", k,
                 (long long)ids[p], (long long)p, (long long)base, (long long)(V + base));
    zoo_release_buffers(v, nv);
    PyBuffer_Release(idv);
    return -1;
}

/* embedding_gather(out, W, ids, n, D, V, base, skip_neg, has_pad, pad, dtype):
 * out[p] = W[ids[p] - base], zero where the id is skipped (< 0 with skip_neg) or == pad */
static PyObject *py_embedding_gather(PyObject *self, PyObject *args) {
    PyObject *o[3];
    Py_ssize_t n, D, V, base, pad;
    int skip_neg, has_pad, dtype, st;
    Py_buffer v[2], idv;
    const char *k = "embedding_gather";
    if (!PyArg_ParseTuple(args, "OOOnnnniini", &o[0], &o[1], &o[2], &n, &D, &V, &base, &skip_neg, &has_pad, &pad,
                          &dtype))
        return NULL;
    int64_t cnt;
    if (zoo_check_dtype(dtype, k) < 0 || zoo_count3(n, D, 1, &cnt) < 0 || zoo_count3(V, D, 1, &cnt) < 0) return NULL;
    const zoo_arg a[2] = {{o[0], n * D, 1, 0, "out"}, {o[1], V * D, 0, 0, "W"}};
    if (zoo_take_all(a, v, 2, dtype, k) < 0) return NULL;
    if (emb_take_ids(o[2], &idv, n, V, base, skip_neg, has_pad, pad, v, 2, k) < 0) return NULL;
    const int64_t *ids = idv.buf;
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
    if (emb_take_ids(o[1], &idv, n, V, base, skip_neg, has_pad, pad, v, 3, k) < 0) return NULL;
    const int64_t *ids = idv.buf;
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
    if (emb_take_ids(o[2], &idv, B * L, V, base, 1, 0, 0, v, 3, k) < 0) return NULL;
    const int64_t *ids = idv.buf;
    ZOO_DISPATCH(st, dtype, embedding_bag, v[0].buf, v[1].buf, ids, v[2].buf, B, L, D, base);
    zoo_release_buffers(v, 3);
    PyBuffer_Release(&idv);
    return zoo_status_to_py(st, k);
}

PyMethodDef zoo_embedding_methods[] = {
    {"embedding_gather", py_embedding_gather, METH_VARARGS,
     "embedding_gather(out, W, ids, n, D, V, base, skip_neg, has_pad, pad, dtype)"},
    {"embedding_scatter", py_embedding_scatter, METH_VARARGS,
     "embedding_scatter(dW, ids, dy, w, n, D, V, base, group, skip_neg, has_pad, pad, dtype)"},
    {"embedding_bag", py_embedding_bag, METH_VARARGS, "embedding_bag(out, W, ids, w, B, L, D, V, base, dtype)"},
    {NULL, NULL, 0, NULL}};

#else /* ---- kernels, built once per element type ------------------------------------------ */

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
