"""Wrappers of the pooling kernels (csrc/pool.c): max and average pooling over the last two axes.

A `PoolGeometry` holds the validated window walk; the wrappers check dtypes, shapes and
contiguity against it before calling C, so no Python input can crash the process.
Window (i, j) covers rows i*sh - top ... i*sh - top + kh - 1 and columns
j*sw - left ... j*sw - left + kw - 1, clipped to the image.
"""

from __future__ import annotations

import numpy as np

from zoo.engine import _native
from zoo.engine.kernels._common import INT32_MAX, dtype_code, instance, require, shape_is, writable

__all__ = ["PoolGeometry", "avgpool2d_backward", "avgpool2d_forward", "maxpool2d_backward",
           "maxpool2d_forward", "pool_output_size"]


def pool_output_size(size: int, k: int, s: int, lo: int, hi: int, ceil_mode: bool = False) -> int:
    """Windows along one axis: floor((size + lo + hi - k) / s) + 1, or with ceil_mode the
    Caffe / PyTorch rule ceil(...) + 1, minus one if the last window would start past
    size + lo (in the bottom/right padding)."""
    span = size + lo + hi - k
    if span < 0:
        return 0
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= size + lo:
        out -= 1
    return out


def _ints(v, n: int, low: int) -> bool:
    return len(v) == n and all(
        isinstance(i, (int, np.integer)) and not isinstance(i, bool) and i >= low for i in v
    )


class PoolGeometry:
    """The validated geometry of a 2-D pooling over the last two axes of x_shape (..., H, W).

    Args:
        x_shape: input shape, at least (H, W); leading axes are planes.
        kernel, strides: (kh, kw), (sh, sw) positive ints.
        pads: ((top, bottom), (left, right)), each smaller than the kernel along its axis.
        ceil_mode: output size rule (see pool_output_size).

    Example:
        >>> PoolGeometry((2, 3, 7, 6), (2, 2), (2, 2), ((0, 0), (0, 0)), ceil_mode=True).out_shape
        (2, 3, 4, 3)
    """

    __slots__ = ("H", "NC", "OH", "OW", "W", "kh", "kw", "out_shape", "pb", "pl", "pr", "pt", "sh", "sw",
                 "x_shape")

    def __init__(self, x_shape, kernel, strides, pads, ceil_mode: bool = False, what: str = "pool2d"):
        x_shape = tuple(int(s) if isinstance(s, (int, np.integer)) else s for s in x_shape)
        if len(x_shape) < 2 or not _ints(x_shape, len(x_shape), 1):
            raise ValueError(f"{what}: expected an input shape (..., H, W) of positive ints, got {x_shape}")
        kernel, strides = tuple(kernel), tuple(strides)
        if not _ints(kernel, 2, 1) or not _ints(strides, 2, 1):
            raise ValueError(
                f"{what}: pool size and strides must be pairs of positive ints, got {kernel!r}, {strides!r}"
            )
        try:
            (pt, pb), (pl, pr) = pads
        except (TypeError, ValueError):
            raise ValueError(f"{what}: pads must be ((top, bottom), (left, right)), got {pads!r}") from None
        if not _ints((pt, pb, pl, pr), 4, 0):
            raise ValueError(f"{what}: pads must be non-negative ints, got {pads!r}")
        self.x_shape = x_shape
        self.H, self.W = x_shape[-2:]
        self.NC = int(np.prod(x_shape[:-2], dtype=np.int64))
        self.kh, self.kw = (int(v) for v in kernel)
        self.sh, self.sw = (int(v) for v in strides)
        self.pt, self.pb, self.pl, self.pr = (int(v) for v in (pt, pb, pl, pr))
        if max(self.pt, self.pb) >= self.kh or max(self.pl, self.pr) >= self.kw:
            raise ValueError(
                f"{what}: padding must be smaller than the pool size {kernel} on each side, got {pads!r}"
            )
        if self.H * self.W > INT32_MAX or max(self.kh, self.kw, self.sh, self.sw) > INT32_MAX:
            raise ValueError(f"{what}: a plane of {self.H}x{self.W} is too large (limit 2**31 - 1 elements)")
        self.OH = pool_output_size(self.H, self.kh, self.sh, self.pt, self.pb, ceil_mode)
        self.OW = pool_output_size(self.W, self.kw, self.sw, self.pl, self.pr, ceil_mode)
        if self.OH < 1 or self.OW < 1:
            raise ValueError(
                f"{what}: pool size {kernel} is larger than the padded input "
                f"{self.H + self.pt + self.pb}x{self.W + self.pl + self.pr}"
            )
        self.out_shape = x_shape[:-2] + (self.OH, self.OW)

    def _walk(self) -> tuple:
        return (self.kh, self.kw, self.sh, self.sw, self.pt, self.pl)

    def _avg_args(self) -> tuple:
        """The geometry arguments of the average-pooling kernels."""
        return (self.NC, self.H, self.W, self.kh, self.kw, self.sh, self.sw, self.pt, self.pl, self.pb, self.pr,
                self.OH, self.OW)

    def __repr__(self) -> str:
        return (
            f"PoolGeometry(x={self.x_shape}, k=({self.kh}, {self.kw}), s=({self.sh}, {self.sw}), "
            f"pads=(({self.pt}, {self.pb}), ({self.pl}, {self.pr})), out=({self.OH}, {self.OW}))"
        )


def _geometry(kernel: str, g) -> None:
    instance(kernel, g, PoolGeometry)


def _argmax_ok(kernel: str, argmax: np.ndarray, g: PoolGeometry) -> None:
    if not isinstance(argmax, np.ndarray) or argmax.dtype != np.int32:
        raise TypeError(
            f"{kernel}: argmax must be an int32 array, got {getattr(argmax, 'dtype', type(argmax).__name__)}"
        )
    require(kernel, argmax.flags.c_contiguous, "argmax must be C-contiguous")
    shape_is(kernel, "argmax", argmax, g.out_shape)


def maxpool2d_forward(x: np.ndarray, out: np.ndarray, argmax: np.ndarray, g: PoolGeometry) -> np.ndarray:
    """out = max over each window of x; argmax = the flat index h*W + w of that maximum in its
    plane (the first one; a NaN wins). x g.x_shape, out and argmax (int32) g.out_shape. Returns out."""
    _geometry("maxpool2d_forward", g)
    code = dtype_code("maxpool2d_forward", out, x)
    writable("maxpool2d_forward", out, argmax)
    shape_is("maxpool2d_forward", "x", x, g.x_shape)
    shape_is("maxpool2d_forward", "out", out, g.out_shape)
    _argmax_ok("maxpool2d_forward", argmax, g)
    _native.maxpool2d_forward(out, argmax, x, g.NC, g.H, g.W, *g._walk(), g.OH, g.OW, code)
    return out


def maxpool2d_backward(
    gy: np.ndarray, argmax: np.ndarray, dx: np.ndarray, g: PoolGeometry, overwrite: bool = False
) -> np.ndarray:
    """dx[plane, argmax] += gy (dx zeroed first if `overwrite`). Returns dx."""
    _geometry("maxpool2d_backward", g)
    code = dtype_code("maxpool2d_backward", dx, gy)
    writable("maxpool2d_backward", dx)
    shape_is("maxpool2d_backward", "dx", dx, g.x_shape)
    shape_is("maxpool2d_backward", "gy", gy, g.out_shape)
    _argmax_ok("maxpool2d_backward", argmax, g)
    _native.maxpool2d_backward(dx, gy, argmax, g.NC, g.H * g.W, g.OH * g.OW, int(bool(overwrite)), code)
    return dx


def avgpool2d_forward(
    x: np.ndarray, out: np.ndarray, g: PoolGeometry, count_include_pad: bool = False
) -> np.ndarray:
    """out = mean over each window of x: the sum over its pixels divided by their count, or with
    count_include_pad by the window size clipped to the padded image. Returns out."""
    _geometry("avgpool2d_forward", g)
    code = dtype_code("avgpool2d_forward", out, x)
    writable("avgpool2d_forward", out)
    shape_is("avgpool2d_forward", "x", x, g.x_shape)
    shape_is("avgpool2d_forward", "out", out, g.out_shape)
    _native.avgpool2d_forward(out, x, *g._avg_args(), int(bool(count_include_pad)), code)
    return out


def avgpool2d_backward(
    gy: np.ndarray, dx: np.ndarray, g: PoolGeometry, count_include_pad: bool = False, overwrite: bool = False
) -> np.ndarray:
    """dx += the input gradient of avgpool2d_forward (dx zeroed first if `overwrite`). Returns dx."""
    _geometry("avgpool2d_backward", g)
    code = dtype_code("avgpool2d_backward", dx, gy)
    writable("avgpool2d_backward", dx)
    shape_is("avgpool2d_backward", "dx", dx, g.x_shape)
    shape_is("avgpool2d_backward", "gy", gy, g.out_shape)
    _native.avgpool2d_backward(dx, gy, *g._avg_args(), int(bool(count_include_pad)), int(bool(overwrite)), code)
    return dx
