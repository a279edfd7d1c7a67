"""Joining and splitting: Concat, Stack, Split.
"""

from __future__ import annotations

import numpy as np

from zoo.engine.ops.base import Ctx, Op, normalize_axis, register
from zoo.engine.ops.shape._common import _axis, _contig, _fmt, _ints, _is_int, common_shape


def _dtype(xs) -> np.dtype:
    d = xs[0].dtype
    for x in xs[1:]:
        if x.dtype != d:
            return np.result_type(*xs)
    return d


@register
class Concat(Op):
    """y = the inputs joined along `axis`; all other axes must match. Any number of inputs.

    Shapes: (..., a_i, ...) for each input i -> (..., sum_i a_i, ...).
    Backward returns views of the output gradient where they are C-contiguous (axis 0,
    or only size-1 axes before `axis`), else contiguous copies.
    """

    type_name = "concat"

    def __init__(self, axis: int = -1):
        self.axis = _axis("Concat", axis)

    def get_config(self) -> dict:
        return {"axis": self.axis}

    def infer_shape(self, *shapes):
        if not shapes:
            raise ValueError("expected at least one input, got none")
        first = shapes[0]
        for s in shapes[1:]:
            if len(s) != len(first):
                raise ValueError(f"inputs must have one rank, got {_fmt(first)} and {_fmt(s)}")
        ax = normalize_axis(self.axis, len(first))
        out = list(first)
        for s in shapes[1:]:
            for i, (a, b) in enumerate(zip(out, s)):
                if i == ax:
                    continue
                if a is not None and b is not None and a != b:
                    raise ValueError(
                        f"inputs must match on all axes but {ax}, got {_fmt(first)} and {_fmt(s)}"
                    )
                if a is None:
                    out[i] = b
        sizes = [s[ax] for s in shapes]
        out[ax] = None if any(d is None for d in sizes) else sum(sizes)
        return tuple(out)

    def forward(self, ctx: Ctx, *xs):
        x0 = xs[0]
        ax = normalize_axis(self.axis, x0.ndim)
        shape = list(x0.shape)
        bounds = [0]
        for x in xs:
            bounds.append(bounds[-1] + x.shape[ax])
        shape[ax] = bounds[-1]
        y = ctx.buf("y", tuple(shape), _dtype(xs))
        try:
            np.concatenate(xs, axis=ax, out=y)
        except ValueError:
            raise ValueError(
                f"Concat: inputs must match on all axes but {ax}, got shapes {[_fmt(x.shape) for x in xs]}"
            ) from None
        ctx.ax, ctx.bounds, ctx.dtypes = ax, bounds, [x.dtype for x in xs]
        return y

    def backward(self, ctx: Ctx, gy):
        head = (slice(None),) * ctx.ax
        b = ctx.bounds
        out = []
        for i, need in enumerate(ctx.needs_grad):
            if not need:
                out.append(None)
                continue
            g = _contig(ctx, ("g", i), gy[head + (slice(b[i], b[i + 1]),)])
            out.append(g if g.dtype == ctx.dtypes[i] else g.astype(ctx.dtypes[i]))
        return tuple(out)


@register
class Stack(Op):
    """y = the inputs (all of one shape) stacked on a new axis `axis`: n x (d...) -> (..., n, ...)."""

    type_name = "stack"

    def __init__(self, axis: int = 0):
        self.axis = _axis("Stack", axis)

    def get_config(self) -> dict:
        return {"axis": self.axis}

    def infer_shape(self, *shapes):
        out = common_shape(shapes)
        ax = normalize_axis(self.axis, len(out) + 1)
        return tuple(out[:ax]) + (len(shapes),) + tuple(out[ax:])

    def forward(self, ctx: Ctx, *xs):
        x0 = xs[0]
        ax = normalize_axis(self.axis, x0.ndim + 1)
        y = ctx.buf("y", x0.shape[:ax] + (len(xs),) + x0.shape[ax:], _dtype(xs))
        try:
            np.stack(xs, axis=ax, out=y)
        except ValueError:
            raise ValueError(
                f"Stack: inputs must have one shape, got {[_fmt(x.shape) for x in xs]}"
            ) from None
        ctx.ax, ctx.dtypes = ax, [x.dtype for x in xs]
        return y

    def backward(self, ctx: Ctx, gy):
        head = (slice(None),) * ctx.ax
        out = []
        for i, need in enumerate(ctx.needs_grad):
            g = _contig(ctx, ("g", i), gy[head + (i,)]) if need else None
            out.append(g if g is None or g.dtype == ctx.dtypes[i] else g.astype(ctx.dtypes[i]))
        return tuple(out)


@register
class Split(Op):
    """Outputs = x cut along `axis` into parts of `sizes` (one may be -1: the rest) or into `n` equal parts.

    Shapes: x (..., d, ...) -> (..., s_i, ...) for each part i. Backward writes zeros for the
    parts whose gradient is None (outputs nobody used).
    """

    type_name = "split"

    def __init__(self, axis: int = -1, sizes=None, n: int | None = None):
        self.axis = _axis("Split", axis)
        if (sizes is None) == (n is None):
            raise ValueError(
                f"Split: give exactly one of sizes (the part sizes) and n (a number of equal parts), "
                f"got sizes={sizes!r}, n={n!r}"
            )
        if sizes is not None:
            s = _ints("Split", "sizes", sizes, low=-1)
            if not s or s.count(-1) > 1:
                raise ValueError(f"Split: sizes must be non-empty with at most one -1, got {s}")
            self.sizes, self.n = s, None
        else:
            if not _is_int(n) or n < 1:
                raise ValueError(f"Split: n must be a positive int, got {n!r}")
            self.sizes, self.n = None, int(n)
        self.n_outputs = len(self.sizes) if self.sizes is not None else self.n

    def get_config(self) -> dict:
        return {"axis": self.axis, "sizes": None if self.sizes is None else list(self.sizes), "n": self.n}

    def _parts(self, d: int | None, ax: int, shape) -> list[int | None]:
        if self.n is not None:
            if d is None:
                return [None] * self.n
            if d % self.n:
                raise ValueError(
                    f"expected axis {ax} of size divisible by n={self.n}, got input shape {_fmt(shape)}"
                )
            return [d // self.n] * self.n
        sizes = list(self.sizes)
        if d is None:
            return [None if s == -1 else s for s in sizes]
        rest = d - sum(s for s in sizes if s != -1)
        if (-1 in sizes and rest < 0) or (-1 not in sizes and rest != 0):
            raise ValueError(
                f"sizes {self.sizes} do not fit axis {ax} of size {d} (input shape {_fmt(shape)})"
            )
        return [rest if s == -1 else s for s in sizes]

    def infer_shape(self, x):
        ax = normalize_axis(self.axis, len(x))
        return tuple(tuple(x[:ax]) + (p,) + tuple(x[ax + 1 :]) for p in self._parts(x[ax], ax, x))

    def forward(self, ctx: Ctx, x):
        ax = normalize_axis(self.axis, x.ndim)
        if getattr(ctx, "key", None) != (x.shape, ax):
            try:
                parts = self._parts(x.shape[ax], ax, x.shape)
            except ValueError as e:
                raise ValueError(f"Split: {e}") from None
            head = (slice(None),) * ax
            bounds = np.concatenate([[0], np.cumsum(parts)]).tolist()
            ctx.index = [head + (slice(bounds[i], bounds[i + 1]),) for i in range(len(parts))]
            ctx.key = (x.shape, ax)
        ctx.xshape, ctx.dtype = x.shape, x.dtype
        return tuple(_contig(ctx, ("y", i), x[idx]) for i, idx in enumerate(ctx.index))

    def backward(self, ctx: Ctx, gy):
        gx = ctx.buf("gx", ctx.xshape, ctx.dtype)
        for idx, g in zip(ctx.index, gy):
            if g is None:
                gx[idx] = 0
            else:
                gx[idx] = g
        return (gx,)
