"""Resizing: Upsample (nearest-neighbour repetition) and ResizeBilinear (TensorFlow's
resize_bilinear, align_corners, half_pixel_centers).
"""

from __future__ import annotations

import numpy as np

from zoo.engine.kernels import conv3d as K
from zoo.engine.ops.base import Ctx, Op, normalize_axis, register
from zoo.engine.ops.chunks import check_arrays, contiguous
from zoo.engine.ops.conv_extra._common import _check_gy
from zoo.engine.ops.window import as_tuple, is_int


@register
class Upsample(Op):
    """Nearest-neighbour upsampling: y = x with each element of axis axes[i] repeated sizes[i] times.

        y[..., i, ...] = x[..., i // s, ...] on each chosen axis

    Shapes: (d_a) -> (d_a * s_a) on the chosen axes. Backward sums each s_a-block. Up to three
    consecutive axes (the spatial axes of NC... or N...C layouts) run in C (csrc/resize.c);
    other choices in numpy.

    Args:
        sizes: positive ints, one per axis. axes: distinct axes (the batch axis 0 excluded).

    Example:
        >>> Upsample((2, 3), (2, 3)).infer_shape((None, 4, 5, 6))
        (None, 4, 10, 18)
    """

    type_name = "upsample"

    def __init__(self, sizes, axes):
        try:
            sizes, axes = tuple(sizes), tuple(axes)
        except TypeError:
            raise TypeError(
                f"Upsample: sizes and axes must be sequences of ints, got {sizes!r}, {axes!r}"
            ) from None
        if len(sizes) != len(axes) or not sizes:
            raise ValueError(f"Upsample: expected one size per axis, got sizes {sizes} and axes {axes}")
        if not all(is_int(s) and s >= 1 for s in sizes):
            raise ValueError(f"Upsample: sizes must be positive ints, got {sizes}")
        if not all(is_int(a) for a in axes):
            raise TypeError(f"Upsample: axes must be ints, got {axes}")
        self.sizes = tuple(int(s) for s in sizes)
        self.axes = tuple(int(a) for a in axes)

    def get_config(self) -> dict:
        return {"sizes": list(self.sizes), "axes": list(self.axes)}

    def _axes(self, ndim: int) -> dict:
        axes = [normalize_axis(a, ndim, "Upsample: axis") for a in self.axes]
        if len(set(axes)) != len(axes) or 0 in axes:
            raise ValueError(
                f"Upsample: axes must be distinct and exclude the batch axis 0, got {self.axes} for "
                f"rank {ndim}"
            )
        return dict(zip(axes, self.sizes))

    def infer_shape(self, x):
        f = self._axes(len(x))
        return tuple(None if d is None else d * f.get(a, 1) for a, d in enumerate(x))

    def forward(self, ctx: Ctx, x):
        check_arrays("Upsample", x)
        x = contiguous(x)
        if getattr(ctx, "key", None) != (x.shape, x.dtype):
            self._plan(ctx, x)
        y = ctx.buf("y", ctx.yshape, x.dtype)
        if ctx.lay is not None:
            return K.upsample_forward(x, y, ctx.lay, ctx.factors)
        np.copyto(y.reshape(ctx.inter_y), x.reshape(ctx.inter_x))
        return y

    def _plan(self, ctx: Ctx, x) -> None:
        f = self._axes(x.ndim)
        ctx.yshape = tuple(d * f.get(a, 1) for a, d in enumerate(x.shape))
        axes = sorted(f)
        ctx.lay = ctx.factors = None
        if len(axes) <= 3 and axes == list(range(axes[0], axes[0] + len(axes))) and 0 not in x.shape:
            # consecutive axes: the C kernel on (outer, D, H, W, inner)
            pad = 3 - len(axes)
            spatial = (1,) * pad + tuple(x.shape[a] for a in axes)
            ctx.lay = (int(np.prod(x.shape[: axes[0]])), *spatial, int(np.prod(x.shape[axes[-1] + 1 :])))
            ctx.factors = (1,) * pad + tuple(f[a] for a in axes)
        inter_y, inter_x, red = [], [], []
        for a, d in enumerate(x.shape):
            inter_y.append(d)
            inter_x.append(d)
            if a in f:
                red.append(len(inter_y))
                inter_y.append(f[a])
                inter_x.append(1)
        ctx.inter_y, ctx.inter_x, ctx.red = tuple(inter_y), tuple(inter_x), tuple(red)
        ctx.key = (x.shape, x.dtype)

    def backward(self, ctx: Ctx, gy):
        xshape, dt = ctx.key
        gy = _check_gy("Upsample", gy, ctx.yshape, dt)
        gx = ctx.buf("gx", xshape, dt)
        if ctx.lay is not None:
            return (K.upsample_backward(gy, gx, ctx.lay, ctx.factors, overwrite=True),)
        np.sum(gy.reshape(ctx.inter_y), axis=ctx.red, out=gx)
        return (gx,)


@register
class ResizeBilinear(Op):
    """Bilinear resize of the two spatial axes of (N, C, H, W) or (N, H, W, C) input to (OH, OW).

    y = top + (bottom - top)*ly, top/bottom = left + (right - left)*lx over the four nearest
    source pixels; source coordinate of output index i: i*scale, or (i + 0.5)*scale - 0.5
    with half_pixel_centers; scale = in/out, or (in - 1)/(out - 1) with align_corners (as
    TensorFlow's resize_bilinear; tf.image.resize's bilinear is half_pixel_centers=True).

    Args:
        size: (OH, OW) positive ints.
        align_corners, half_pixel_centers: bools, not both True.
        data_format: 'channels_first' (NCHW) or 'channels_last' (NHWC).

    Example:
        >>> ResizeBilinear((8, 9)).infer_shape((None, 3, 4, 5))
        (None, 3, 8, 9)
    """

    type_name = "resize_bilinear"

    def __init__(
        self,
        size,
        align_corners: bool = False,
        half_pixel_centers: bool = False,
        data_format: str = "channels_first",
    ):
        self.size = as_tuple(size, 2, "ResizeBilinear: size")
        for label, v in (("align_corners", align_corners), ("half_pixel_centers", half_pixel_centers)):
            if not isinstance(v, (bool, np.bool_)):
                raise TypeError(f"ResizeBilinear: {label} must be a bool, got {v!r}")
        if align_corners and half_pixel_centers:
            raise ValueError("ResizeBilinear: align_corners and half_pixel_centers cannot both be True")
        if data_format not in ("channels_first", "channels_last"):
            raise ValueError(
                f"ResizeBilinear: data_format must be 'channels_first' or 'channels_last', "
                f"got {data_format!r}"
            )
        self.align_corners, self.half_pixel_centers = bool(align_corners), bool(half_pixel_centers)
        self.data_format = data_format

    def get_config(self) -> dict:
        return {
            "size": list(self.size),
            "align_corners": self.align_corners,
            "half_pixel_centers": self.half_pixel_centers,
            "data_format": self.data_format,
        }

    def infer_shape(self, x):
        x = tuple(x)
        if len(x) != 4:
            raise ValueError(f"expected a 4-D input, got shape {x}")
        if self.data_format == "channels_first":
            return (x[0], x[1], *self.size)
        return (x[0], *self.size, x[3])

    def forward(self, ctx: Ctx, x):
        check_arrays("ResizeBilinear", x)
        if x.ndim != 4:
            raise ValueError(f"ResizeBilinear: expected a 4-D input, got shape {x.shape}")
        x = contiguous(x)
        if x.shape[0] < 1 or 0 in x.shape:
            raise ValueError(f"ResizeBilinear: expected a non-empty input, got shape {x.shape}")
        if self.data_format == "channels_first":
            n, c, h, w = x.shape
            lay = (n * c, h, w, 1)
        else:
            n, h, w, c = x.shape
            lay = (n, h, w, c)
        ctx.lay, ctx.xshape = lay, x.shape
        y = ctx.buf("y", self.infer_shape(x.shape), x.dtype)
        return K.resize_bilinear_forward(x, y, lay, self.size, self.align_corners, self.half_pixel_centers)

    def backward(self, ctx: Ctx, gy):
        if not ctx.needs_grad[0]:
            return (None,)
        gy = _check_gy("ResizeBilinear", gy, self.infer_shape(ctx.xshape), gy.dtype)
        dx = ctx.buf("dx", ctx.xshape, gy.dtype)
        return (
            K.resize_bilinear_backward(
                gy, dx, ctx.lay, self.size, self.align_corners, self.half_pixel_centers, overwrite=True
            ),
        )
