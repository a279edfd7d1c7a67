/* conv.h: the geometry of a convolution's kernel taps, shared by the convolution families
 * (conv.c, depthwise.c, winograd.c, conv3d.c).
 *
 * Geometry (one 2-D convolution, images n0 <= n < n1 of a batch; 1-D uses H = 1):
 *   x (N, C, H, W), kernel KH x KW, strides sh, sw, dilations dh, dw, padding top pt and
 *   left pl (bottom/right padding only shows through OH and OW), output OH x OW.
 *   Output pixel (oh, ow) with kernel tap (i, j) reads x[n, c, oh*sh - pt + i*dh,
 *   ow*sw - pl + j*dw], or 0 outside the image.
 */
#ifndef ZOO_CONV_H
#define ZOO_CONV_H

/* The outputs o < n_out whose tap o*s + off falls inside [0, size): [*lo, *hi) (lo == hi when there are none). */
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
static inline zoo_tap *zoo_taps(int64_t H, int64_t W, int kh, int kw, int sh, int sw, int dh, int dw, int pt,
                                int pl, int64_t OH, int64_t OW) {
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
