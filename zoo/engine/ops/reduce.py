"""Reductions: Sum, Mean, Max, Min over axes (with keepdims), ArgMax, ArgMin, and L2Normalize.

numpy's reductions are vectorised and (for sums) pairwise, so there is nothing for C to win;
backward passes write into buffers reused across calls.

Max/Min gradient: the output gradient is split evenly among the elements that tie for the
extreme (as TensorFlow's reduce_max): with k tied maxima each gets gy / k.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine.ops.base import Ctx, Op, normalize_axis, register
from zoo.engine.ops.window import is_int as _is_int

__all__ = ["ArgMax", "ArgMin", "L2Normalize", "Max", "Mean", "Min", "Sum"]


def _axis_arg(op: str, axis) -> int | tuple[int, ...] | None:
    """Validate an `axis` argument: None (all axes), an int, or a non-empty sequence of ints."""
    if axis is None:
        return None
    if _is_int(axis):
        return int(axis)
    try:
        t = tuple(axis)
    except TypeError:
        raise TypeError(f"{op}: axis must be None, an int or a sequence of ints, got {axis!r}") from None
    if not t or not all(_is_int(a) for a in t):
        raise TypeError(f"{op}: axis must be None, an int or a non-empty sequence of ints, got {axis!r}")
    return tuple(int(a) for a in t)


def _axes(axis, ndim: int) -> tuple[int, ...]:
    """Normalized, sorted axes of a validated `axis` argument for rank `ndim`."""
    if axis is None:
        return tuple(range(ndim))
    raw = (axis,) if isinstance(axis, int) else axis
    axes = tuple(sorted(normalize_axis(a, ndim) for a in raw))
    if len(set(axes)) != len(axes):
        raise ValueError(f"axis {axis} names an axis twice (rank {ndim})")
    return axes


class _Reduce(Op):
    """y = reduce(x) over `axis` (None: all axes; ints may be negative), keepdims as numpy.

    Shapes: x (d...) -> d with the reduced axes removed (or kept as 1 with keepdims).
    Example:
        >>> Sum((1, -1), keepdims=True).infer_shape((None, 4, 5))
        (None, 1, 1)
    """

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis = _axis_arg(type(self).__name__, axis)
        self.keepdims = bool(keepdims)

    def get_config(self) -> dict:
        return {
            "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis,
            "keepdims": self.keepdims,
        }

    def infer_shape(self, x):
        axes = _axes(self.axis, len(x))
        if self.keepdims:
            return tuple(1 if i in axes else s for i, s in enumerate(x))
        return tuple(s for i, s in enumerate(x) if i not in axes)

    def _prepare(self, ctx: Ctx, x) -> tuple[int, ...]:
        """Axes for this input (cached per shape); records what backward needs."""
        if getattr(ctx, "key", None) != x.shape:
            try:
                ctx.axes = _axes(self.axis, x.ndim)
            except ValueError as e:
                raise ValueError(f"{type(self).__name__}: {e}") from None
            ctx.kshape = tuple(1 if i in ctx.axes else s for i, s in enumerate(x.shape))
            ctx.count = math.prod(x.shape[a] for a in ctx.axes)
            ctx.key = x.shape
        ctx.xshape, ctx.dtype = x.shape, x.dtype
        return ctx.axes


@register
class Sum(_Reduce):
    """y = sum of x over `axis`. Gradient: gx = gy broadcast back over the reduced axes."""

    type_name = "sum"

    def forward(self, ctx: Ctx, x):
        return np.asarray(np.add.reduce(x, axis=self._prepare(ctx, x), keepdims=self.keepdims))

    def backward(self, ctx: Ctx, gy):
        gx = ctx.buf("gx", ctx.xshape, ctx.dtype)
        np.copyto(gx, np.reshape(gy, ctx.kshape))
        return (gx,)


@register
class Mean(_Reduce):
    """y = mean of x over `axis`. Gradient: gx = gy / n broadcast back (n = reduced element count)."""

    type_name = "mean"

    def forward(self, ctx: Ctx, x):
        # as numpy.mean: the sum (pairwise, in x's dtype) divided by the count
        y = np.asarray(np.add.reduce(x, axis=self._prepare(ctx, x), keepdims=self.keepdims))
        return np.divide(y, ctx.count, out=y)

    def backward(self, ctx: Ctx, gy):
        gx = ctx.buf("gx", ctx.xshape, ctx.dtype)
        np.multiply(np.reshape(gy, ctx.kshape), 1.0 / ctx.count if ctx.count else math.nan, out=gx)
        return (gx,)


class _Extreme(_Reduce):
    """Max / Min: the gradient is split evenly among the tied extreme elements."""

    ufunc = None

    def forward(self, ctx: Ctx, x):
        axes = self._prepare(ctx, x)
        y = self.ufunc.reduce(x, axis=axes, keepdims=True)
        ctx.x, ctx.yk = x, y
        return y if self.keepdims else y.reshape(tuple(s for i, s in enumerate(x.shape) if i not in axes))

    def backward(self, ctx: Ctx, gy):
        m = np.equal(ctx.x, ctx.yk, out=ctx.buf("m", ctx.xshape, np.bool_))
        k = np.sum(m, axis=ctx.axes, keepdims=True, dtype=ctx.dtype)
        np.divide(np.reshape(gy, ctx.kshape), k, out=k)
        return (np.multiply(m, k, out=ctx.buf("gx", ctx.xshape, ctx.dtype)),)


@register
class Max(_Extreme):
    """y = max of x over `axis`. Gradient: gy / k to each of the k elements equal to the max."""

    type_name = "max"
    ufunc = np.maximum


@register
class Min(_Extreme):
    """y = min of x over `axis`. Gradient: gy / k to each of the k elements equal to the min."""

    type_name = "min"
    ufunc = np.minimum


class _Arg(Op):
    """Index of the extreme along one axis (the first on ties), as float32 (exact below 2^24).

    Not differentiable. Shapes: x (..., d, ...) -> (...) without the axis (kept as 1 with keepdims).
    """

    nondiff_inputs = (0,)
    func = None

    def __init__(self, axis: int = -1, keepdims: bool = False):
        if not _is_int(axis):
            raise TypeError(f"{type(self).__name__}: axis must be an int, got {axis!r}")
        self.axis = int(axis)
        self.keepdims = bool(keepdims)

    def get_config(self) -> dict:
        return {"axis": self.axis, "keepdims": self.keepdims}

    def infer_shape(self, x):
        a = normalize_axis(self.axis, len(x))
        return tuple(x[:a]) + ((1,) if self.keepdims else ()) + tuple(x[a + 1 :])

    def forward(self, ctx: Ctx, x):
        idx = self.func(x, axis=self.axis, keepdims=self.keepdims)
        y = ctx.buf("y", idx.shape, np.float32)
        np.copyto(y, idx, casting="unsafe")
        return y

    def backward(self, ctx: Ctx, gy):
        return (None,)


@register
class ArgMax(_Arg):
    """y = argmax of x along `axis` (first index on ties), float32; see _Arg."""

    type_name = "argmax"
    func = staticmethod(np.argmax)


@register
class ArgMin(_Arg):
    """y = argmin of x along `axis` (first index on ties), float32; see _Arg."""

    type_name = "argmin"
    func = staticmethod(np.argmin)


@register
class L2Normalize(_Reduce):
    """y = x / sqrt(max(sum(x^2, axis), eps)), as tf.math.l2_normalize; axis an int or a tuple.

    Gradient, with r = 1/sqrt(max(s, eps)) and s = sum(x^2):
        gx = r * (gy - y * sum(gy * y, axis))  where s > eps,   gx = r * gy  elsewhere.
    Shapes: unchanged.
    """

    type_name = "l2_normalize"

    def __init__(self, axis=-1, eps: float = 1e-12):
        if axis is None:
            raise TypeError("L2Normalize: axis must be an int or a sequence of ints, got None")
        super().__init__(axis, keepdims=True)
        if (
            isinstance(eps, bool)
            or not isinstance(eps, (int, float, np.integer, np.floating))
            or not eps >= 0
        ):
            raise ValueError(f"L2Normalize: eps must be a non-negative number, got {eps!r}")
        self.eps = float(eps)

    def get_config(self) -> dict:
        return {"axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis, "eps": self.eps}

    def infer_shape(self, x):
        _axes(self.axis, len(x))
        return tuple(x)

    def forward(self, ctx: Ctx, x):
        axes = self._prepare(ctx, x)
        y = ctx.buf("y", x.shape, x.dtype)
        np.multiply(x, x, out=y)
        s = np.sum(y, axis=axes, keepdims=True)
        ctx.active = s > self.eps
        np.maximum(s, self.eps, out=s)
        np.sqrt(s, out=s)
        np.divide(1.0, s, out=s)
        np.multiply(x, s, out=y)
        ctx.r, ctx.y = s, y
        return y

    def backward(self, ctx: Ctx, gy):
        gx = ctx.buf("gx", ctx.xshape, gy.dtype)
        np.multiply(gy, ctx.y, out=gx)
        d = np.sum(gx, axis=ctx.axes, keepdims=True)
        d *= ctx.active
        np.multiply(ctx.y, d, out=gx)
        np.subtract(gy, gx, out=gx)
        gx *= ctx.r
        return (gx,)
