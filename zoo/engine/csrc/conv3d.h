/* conv3d.h: what the 3-D window families share (conv3d.c: vol2col; pool3d.c: pooling; resize.c).
 *
 * Geometry g[19] of one 3-D convolution or pooling window walk over x (N, C, D, H, W):
 *   g = {C, D, H, W, KD, KH, KW, sd, sh, sw, dd, dh, dw, pf, pt, pl, OD, OH, OW}
 * (pf, pt, pl: front, top and left padding; back/bottom/right padding shows through OD, OH,
 * OW only). Output position p = (od*OH + oh)*OW + ow with kernel tap t = (a*KH + b)*KW + e
 * reads the voxel (od*sd - pf + a*dd, oh*sh - pt + b*dh, ow*sw - pl + e*dw), 0 outside the
 * volume. 2-D and 1-D layers use D = 1 (and H = 1).
 *
 * Parallel loops split over what they write: vol2col over (image, row) pairs, col2vol and
 * pooling backward over (image, channel) planes, so sums run in a fixed order and results
 * do not depend on the number of threads.
 */
#ifndef ZOO_CONV3D_H
#define ZOO_CONV3D_H

#define C3_PAR 32768 /* below this much work, run on one thread */

/* zoo_c3_ints: a tuple of n ints into g. zoo_c3_geometry: the 19 geometry entries into g, checked:
 * positive sizes, kernel, strides, dilations and outputs; non-negative pads; everything below 2^31
 * so index arithmetic never overflows. Each returns 0, or -1 with an exception (conv3d.c). */
int zoo_c3_ints(PyObject *o, int64_t *g, int n, const char *kernel);
int zoo_c3_geometry(PyObject *o, int64_t *g, const char *kernel);

/* The output buffer o[0] (writable, oc elements) into v[0] and the input o[1] (ic elements) into v[1];
 * they must not overlap. Returns 0, or -1 with an exception set and nothing held. */
static inline int c3_take_pair(PyObject **o, Py_buffer *v, int dtype, int64_t oc, int64_t ic, const char *k,
                               const char *oname, const char *iname) {
    const zoo_arg a[2] = {{o[0], oc, 1, 0, oname}, {o[1], ic, 0, 0, iname}};
    return zoo_take_all(a, v, 2, dtype, k);
}

#endif
