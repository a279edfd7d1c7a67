"""Wrappers of the 3-D kernels (csrc/conv3d.c, pool3d.c, resize.c): vol2col / col2vol, 3-D pooling, nearest upsampling,
bilinear resize.

Every function checks dtypes, shapes, contiguity and the geometry before calling C, so no
Python input can crash the process (the C side checks buffer sizes again).

A `Geometry3D` is one validated window walk over x (N, C, D, H, W); 2-D and 1-D users set
D = 1 (and H = 1). Column buffer of images n0 <= n < n1 (nb = n1 - n0), with
R = C*KD*KH*KW rows r = c*KD*KH*KW + (a*KH + b)*KW + e and P = OD*OH*OW positions
p = (od*OH + oh)*OW + ow, where element (r, n, p) is
x[n0 + n, c, od*sd - pf + a*dd, oh*sh - pt + b*dh, ow*sw - pl + e*dw] (0 in the padding):

    layout "rows"       (R, nb, P)   one GEMM w (O, R) @ col (R, nb*P) per chunk
    layout "images"     (nb, R, P)   one (R, P) matrix per image
    layout "positions"  (P, nb, R)   one (nb, R) matrix per output position (locally connected)
"""

from __future__ import annotations

import numpy as np

from zoo.engine import _native
from zoo.engine.kernels._common import (
    INT32_MAX,
    chunk,
    dtype_code,
    instance,
    nonneg_int,
    pos_int,
    require,
    shape_is,
    team,
    writable,
)

__all__ = ["LAYOUTS", "Geometry3D", "avgpool3d_backward", "avgpool3d_forward", "col2im3d", "im2col3d",
           "maxpool3d_backward", "maxpool3d_forward", "resize_bilinear_backward", "resize_bilinear_forward",
           "upsample_backward", "upsample_forward"]

LAYOUTS = ("rows", "images", "positions")


class Geometry3D:
    """The validated geometry of one 3-D convolution or pooling window walk.

    Args:
        x_shape: (N, C, D, H, W) input shape (positive ints).
        kernel, strides, dilation: triples of positive ints (KD, KH, KW), (sd, sh, sw), (dd, dh, dw).
        pads: ((front, back), (top, bottom), (left, right)), non-negative ints.
        out_channels: O of a convolution (groups must divide C and O); pooling passes C.
        groups: positive int.
    Output size per axis: (size + before + after - ((k - 1)*d + 1)) // s + 1, at least 1.

    Example:
        >>> Geometry3D((2, 3, 5, 7, 6), (3, 3, 3), (1, 2, 2), (1, 1, 1), ((1, 1),) * 3, 4).out_shape
        (2, 4, 5, 4, 3)
    """

    __slots__ = ("C", "D", "H", "N", "O", "OD", "OH", "OW", "P", "R", "W", "dilation", "groups", "kernel",
                 "pads", "strides", "taps")

    def __init__(self, x_shape, kernel, strides, dilation, pads, out_channels: int, groups: int = 1,
                 what: str = "conv3d"):
        x_shape = tuple(x_shape)
        if len(x_shape) != 5 or not all(pos_int(s) for s in x_shape):
            raise ValueError(
                f"{what}: expected an input shape (N, C, D, H, W) of positive ints, got {x_shape}"
            )
        triples = {}
        for name, t in (("kernel", kernel), ("strides", strides), ("dilation", dilation)):
            t = tuple(t)
            if len(t) != 3 or not all(pos_int(v) and v <= INT32_MAX for v in t):
                raise ValueError(f"{what}: {name} must be 3 positive ints, got {t!r}")
            triples[name] = tuple(int(v) for v in t)
        try:
            pads = (
                tuple((int(a), int(b)) for a, b in pads)
                if all(nonneg_int(a) and nonneg_int(b) and max(a, b) <= INT32_MAX for a, b in pads)
                else None
            )
        except (TypeError, ValueError):
            pads = None
        if pads is None or len(pads) != 3:
            raise ValueError(f"{what}: pads must be 3 (before, after) pairs of non-negative ints")
        if not pos_int(out_channels) or not pos_int(groups):
            raise ValueError(
                f"{what}: expected out_channels >= 1 and groups >= 1, got {out_channels}, {groups}"
            )
        self.N, self.C, self.D, self.H, self.W = (int(s) for s in x_shape)
        self.kernel, self.strides, self.dilation = triples["kernel"], triples["strides"], triples["dilation"]
        self.pads = pads
        self.O, self.groups = int(out_channels), int(groups)
        if self.C % self.groups or self.O % self.groups:
            raise ValueError(
                f"{what}: groups={self.groups} must divide the input channels ({self.C}) and the "
                f"output channels ({self.O})"
            )
        out = []
        for ax, size in enumerate((self.D, self.H, self.W)):
            k, s, d = self.kernel[ax], self.strides[ax], self.dilation[ax]
            lo, hi = pads[ax]
            eff = (k - 1) * d + 1
            if eff > size + lo + hi:
                raise ValueError(
                    f"{what}: kernel {self.kernel} (dilation {self.dilation}) is larger than the padded "
                    f"input {(self.D, self.H, self.W)} with pads {pads}"
                )
            out.append((size + lo + hi - eff) // s + 1)
        self.OD, self.OH, self.OW = out
        self.P = self.OD * self.OH * self.OW
        self.taps = self.kernel[0] * self.kernel[1] * self.kernel[2]
        self.R = self.C * self.taps
        if self.D * self.H * self.W > INT32_MAX or self.P > INT32_MAX:
            raise ValueError(
                f"{what}: a plane of {self.D * self.H * self.W} voxels or {self.P} outputs exceeds 2^31"
            )

    @property
    def x_shape(self) -> tuple[int, int, int, int, int]:
        return (self.N, self.C, self.D, self.H, self.W)

    @property
    def out_shape(self) -> tuple[int, int, int, int, int]:
        return (self.N, self.O, self.OD, self.OH, self.OW)

    def args(self) -> tuple:
        """The C geometry tuple (C, D, H, W, KD, KH, KW, sd, sh, sw, dd, dh, dw, pf, pt, pl, OD, OH, OW)."""
        return (self.C, self.D, self.H, self.W, *self.kernel, *self.strides, *self.dilation, self.pads[0][0],
                self.pads[1][0], self.pads[2][0], self.OD, self.OH, self.OW)

    def strides_of(self, layout: str, nb: int) -> tuple[int, int, int]:
        """(rs, ns, ps) of a column buffer in `layout` for nb images."""
        if layout == "rows":
            return nb * self.P, self.P, 1
        if layout == "images":
            return self.P, self.R * self.P, 1
        if layout == "positions":
            return 1, self.R, nb * self.R
        raise ValueError(f"expected layout in {LAYOUTS}, got {layout!r}")

    def __repr__(self) -> str:
        return (
            f"Geometry3D(x={self.x_shape}, O={self.O}, k={self.kernel}, s={self.strides}, d={self.dilation}, "
            f"pads={self.pads}, groups={self.groups}, out={(self.OD, self.OH, self.OW)})"
        )


def _check_geometry(kernel: str, g) -> None:
    instance(kernel, g, Geometry3D)


def _chunk(kernel: str, g: Geometry3D, n0, n1) -> int:
    return chunk(kernel, g.N, n0, n1)


def _col_checks(kernel: str, g: Geometry3D, vol: np.ndarray, col: np.ndarray, n0, n1, layout: str):
    _check_geometry(kernel, g)
    n1 = g.N if n1 is None else n1
    require(kernel, vol.shape == g.x_shape, f"expected a volume of shape {g.x_shape}, got {vol.shape}")
    nb = _chunk(kernel, g, n0, n1)
    require(
        kernel,
        col.size == g.R * nb * g.P,
        f"expected col of {g.R * nb * g.P} elements ({g.R} rows, {nb} images, {g.P} positions), "
        f"got shape {col.shape}",
    )
    require(kernel, layout in LAYOUTS, f"layout must be one of {LAYOUTS}, got {layout!r}")
    require(kernel, not np.may_share_memory(col, vol), "col must not overlap the volume")
    return int(n1), g.strides_of(layout, nb)


def im2col3d(x: np.ndarray, col: np.ndarray, g: Geometry3D, n0: int = 0, n1: int | None = None,
             layout: str = "rows", nthreads: int = 0) -> np.ndarray:
    """Fill `col` with the column buffer of images n0..n1-1 of x (see the module docstring).

    x (N, C, D, H, W); col: R*(n1-n0)*P elements, C-contiguous. nthreads: OpenMP threads
    (0: the current setting). Overwrites and returns col.
    """
    code = dtype_code("im2col3d", x, col)
    writable("im2col3d", col)
    n1, (rs, ns, ps) = _col_checks("im2col3d", g, x, col, n0, n1, layout)
    _native.im2col3d(col, x, g.N, int(n0), n1, g.args(), rs, ns, ps, team("im2col3d", nthreads), code)
    return col


def col2im3d(col: np.ndarray, dx: np.ndarray, g: Geometry3D, n0: int = 0, n1: int | None = None,
             overwrite: bool = False, layout: str = "rows", nthreads: int = 0) -> np.ndarray:
    """dx[n0:n1] += the adjoint of im2col3d applied to `col` (those images zeroed first if
    `overwrite`). Returns dx."""
    code = dtype_code("col2im3d", dx, col)
    writable("col2im3d", dx)
    n1, (rs, ns, ps) = _col_checks("col2im3d", g, dx, col, n0, n1, layout)
    _native.col2im3d(dx, col, g.N, int(n0), n1, g.args(), rs, ns, ps, int(bool(overwrite)),
                     team("col2im3d", nthreads), code)
    return dx


def _pool_checks(kernel: str, g: Geometry3D, x: np.ndarray, y: np.ndarray) -> None:
    _check_geometry(kernel, g)
    require(
        kernel,
        g.O == g.C and g.groups == 1 and g.dilation == (1, 1, 1),
        f"expected a pooling geometry (O == C, no groups or dilation), got {g!r}",
    )
    require(kernel, x.shape == g.x_shape, f"expected an input of shape {g.x_shape}, got {x.shape}")
    require(kernel, y.shape == g.out_shape, f"expected an output of shape {g.out_shape}, got {y.shape}")
    require(kernel, not np.may_share_memory(x, y), "the output must not overlap the input")


def _argmax_check(kernel: str, g: Geometry3D, argmax: np.ndarray, out: bool) -> None:
    if not isinstance(argmax, np.ndarray) or argmax.dtype != np.int32:
        raise TypeError(
            f"{kernel}: argmax must be an int32 array, got {getattr(argmax, 'dtype', type(argmax).__name__)}"
        )
    require(kernel, argmax.flags.c_contiguous, "argmax must be C-contiguous")
    shape_is(kernel, "argmax", argmax, g.out_shape)
    if out:
        writable(kernel, argmax)


def maxpool3d_forward(x: np.ndarray, y: np.ndarray, argmax: np.ndarray, g: Geometry3D) -> np.ndarray:
    """y[n, c, o] = max over window o of x[n, c]; argmax its flat index into D*H*W (-1: empty).

    x (N, C, D, H, W), y and argmax (int32) (N, C, OD, OH, OW). Overwrites and returns y.
    """
    code = dtype_code("maxpool3d_forward", x, y)
    writable("maxpool3d_forward", y)
    _pool_checks("maxpool3d_forward", g, x, y)
    _argmax_check("maxpool3d_forward", g, argmax, True)
    _native.maxpool3d_forward(y, argmax, x, g.N, g.args(), code)
    return y


def maxpool3d_backward(
    gy: np.ndarray, argmax: np.ndarray, dx: np.ndarray, g: Geometry3D, overwrite: bool = False
) -> np.ndarray:
    """dx[n, c, argmax[n, c, o]] += gy[n, c, o] (dx zeroed first if `overwrite`). Returns dx."""
    code = dtype_code("maxpool3d_backward", dx, gy)
    writable("maxpool3d_backward", dx)
    _pool_checks("maxpool3d_backward", g, dx, gy)
    _argmax_check("maxpool3d_backward", g, argmax, False)
    _native.maxpool3d_backward(dx, gy, argmax, g.N, g.args(), int(bool(overwrite)), code)
    return dx


def _after(g: Geometry3D) -> tuple[int, int, int]:
    return tuple(p[1] for p in g.pads)


def avgpool3d_forward(
    x: np.ndarray, y: np.ndarray, g: Geometry3D, count_include_pad: bool = False
) -> np.ndarray:
    """y[n, c, o] = mean over window o of x[n, c]: divided by the voxel count, or with
    count_include_pad by the window clipped to the padded volume. Overwrites and returns y."""
    code = dtype_code("avgpool3d_forward", x, y)
    writable("avgpool3d_forward", y)
    _pool_checks("avgpool3d_forward", g, x, y)
    _native.avgpool3d_forward(y, x, g.N, g.args(), _after(g), int(bool(count_include_pad)), code)
    return y


def avgpool3d_backward(
    gy: np.ndarray, dx: np.ndarray, g: Geometry3D, count_include_pad: bool = False, overwrite: bool = False
) -> np.ndarray:
    """dx += the adjoint of avgpool3d_forward applied to gy (zeroed first if `overwrite`). Returns dx."""
    code = dtype_code("avgpool3d_backward", dx, gy)
    writable("avgpool3d_backward", dx)
    _pool_checks("avgpool3d_backward", g, dx, gy)
    _native.avgpool3d_backward(
        dx, gy, g.N, g.args(), _after(g), int(bool(count_include_pad)), int(bool(overwrite)), code
    )
    return dx


def _resize_checks(kernel: str, lay, out_hw, big: np.ndarray, small_name: str, small: np.ndarray) -> tuple:
    try:
        lay = tuple(int(v) for v in lay)
        out_hw = tuple(int(v) for v in out_hw)
    except (TypeError, ValueError):
        raise ValueError(
            f"{kernel}: expected layout (outer, H, W, inner) and output size (OH, OW) of ints, "
            f"got {lay!r}, {out_hw!r}"
        ) from None
    require(
        kernel,
        len(lay) == 4 and len(out_hw) == 2 and all(v >= 1 for v in lay + out_hw),
        f"expected layout (outer, H, W, inner) and output size (OH, OW) of positive ints, got {lay}, {out_hw}",
    )
    outer, h, w, inner = lay
    sizes = lay + out_hw
    require(
        kernel,
        big.size == outer * h * w * inner,
        f"expected an input of {outer * h * w * inner} elements {lay}, got shape {big.shape}",
    )
    want = outer * out_hw[0] * out_hw[1] * inner
    require(
        kernel,
        small.size == want,
        f"expected {small_name} of {want} elements {(outer, *out_hw, inner)}, got shape {small.shape}",
    )
    require(kernel, not np.may_share_memory(big, small), "the output must not overlap the input")
    return sizes


def resize_bilinear_forward(x: np.ndarray, y: np.ndarray, lay, out_hw, align_corners: bool = False,
                            half_pixel_centers: bool = False, nthreads: int = 0) -> np.ndarray:
    """Bilinear resize of x viewed as (outer, H, W, inner) into y (outer, OH, OW, inner).

    Source coordinate of output index i (TensorFlow's resize_bilinear, float arithmetic):
    i*scale, or (i + 0.5)*scale - 0.5 with half_pixel_centers; scale = in/out, or
    (in - 1)/(out - 1) with align_corners. Overwrites and returns y.
    """
    code = dtype_code("resize_bilinear_forward", x, y)
    writable("resize_bilinear_forward", y)
    sizes = _resize_checks("resize_bilinear_forward", lay, out_hw, x, "y", y)
    _native.resize_bilinear_forward(y, x, sizes, int(bool(align_corners)), int(bool(half_pixel_centers)),
                                    team("resize_bilinear_forward", nthreads), code)
    return y


def resize_bilinear_backward(gy: np.ndarray, dx: np.ndarray, lay, out_hw, align_corners: bool = False,
                             half_pixel_centers: bool = False, overwrite: bool = False, nthreads: int = 0
                             ) -> np.ndarray:
    """dx += the adjoint of resize_bilinear_forward applied to gy (zeroed first if `overwrite`). Returns dx."""
    code = dtype_code("resize_bilinear_backward", dx, gy)
    writable("resize_bilinear_backward", dx)
    sizes = _resize_checks("resize_bilinear_backward", lay, out_hw, dx, "gy", gy)
    _native.resize_bilinear_backward(dx, gy, sizes, int(bool(align_corners)), int(bool(half_pixel_centers)),
                                     int(bool(overwrite)), team("resize_bilinear_backward", nthreads), code)
    return dx


def _upsample_checks(kernel: str, lay, sizes, small: np.ndarray, big: np.ndarray) -> tuple:
    try:
        lay = tuple(int(v) for v in lay)
        sizes = tuple(int(v) for v in sizes)
    except (TypeError, ValueError):
        raise ValueError(
            f"{kernel}: expected layout (outer, D, H, W, inner) and sizes (sd, sh, sw) of ints, "
            f"got {lay!r}, {sizes!r}"
        ) from None
    require(
        kernel,
        len(lay) == 5 and len(sizes) == 3 and all(v >= 1 for v in lay + sizes),
        f"expected layout (outer, D, H, W, inner) and sizes (sd, sh, sw) of positive ints, got {lay}, {sizes}",
    )
    n = int(np.prod(lay))
    require(kernel, small.size == n, f"expected an input of {n} elements {lay}, got shape {small.shape}")
    want = n * int(np.prod(sizes))
    require(kernel, big.size == want, f"expected an output of {want} elements, got shape {big.shape}")
    require(kernel, not np.may_share_memory(small, big), "the output must not overlap the input")
    return lay + sizes


def upsample_forward(x: np.ndarray, y: np.ndarray, lay, sizes, nthreads: int = 0) -> np.ndarray:
    """Nearest upsampling: x viewed as (outer, D, H, W, inner), y as (outer, D*sd, H*sh, W*sw, inner),
    y[o, d, h, w] = x[o, d // sd, h // sh, w // sw]. Overwrites and returns y."""
    code = dtype_code("upsample_forward", x, y)
    writable("upsample_forward", y)
    u = _upsample_checks("upsample_forward", lay, sizes, x, y)
    _native.upsample_forward(y, x, u, team("upsample_forward", nthreads), code)
    return y


def upsample_backward(
    gy: np.ndarray, dx: np.ndarray, lay, sizes, overwrite: bool = False, nthreads: int = 0
) -> np.ndarray:
    """dx += the sum of gy over each sd x sh x sw block (zeroed first if `overwrite`). Returns dx."""
    code = dtype_code("upsample_backward", dx, gy)
    writable("upsample_backward", dx)
    u = _upsample_checks("upsample_backward", lay, sizes, dx, gy)
    _native.upsample_backward(dx, gy, u, int(bool(overwrite)), team("upsample_backward", nthreads), code)
    return dx
