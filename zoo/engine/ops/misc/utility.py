"""Utility ops: BackwardSlice, ShapeOf, PickInput and BlockGradient.
"""

from __future__ import annotations

import numpy as np

from zoo.engine.ops.base import Ctx, Op, register
from zoo.engine.ops.misc._common import _is_int


@register
class BackwardSlice(Op):
    """Identity forward; backward passes the gradient only on x[..., start:start+length] (last
    axis) and zeros elsewhere, or no gradient at all when `start` is None (SparseDense's
    backward_start / backward_length)."""

    type_name = "backward_slice"

    def __init__(self, start: int | None = None, length: int | None = None):
        if start is not None and (not _is_int(start) or start < 0):
            raise ValueError(f"BackwardSlice: start must be a non-negative int or None, got {start!r}")
        if length is not None and (not _is_int(length) or length < 1):
            raise ValueError(f"BackwardSlice: length must be a positive int or None, got {length!r}")
        self.start = None if start is None else int(start)
        self.length = None if length is None else int(length)

    def get_config(self) -> dict:
        return {"start": self.start, "length": self.length}

    def infer_shape(self, x):
        if self.start is not None and x and x[-1] is not None and self.start >= x[-1]:
            raise ValueError(f"expected start < the last axis size {x[-1]}, got start={self.start}")
        return tuple(x)

    def forward(self, ctx: Ctx, x):
        ctx.shape, ctx.dtype = x.shape, x.dtype
        return x

    def backward(self, ctx: Ctx, gy):
        if self.start is None:
            return (None,)
        gx = ctx.zeros("gx", ctx.shape, ctx.dtype)
        stop = None if self.length is None else self.start + self.length
        gx[..., self.start : stop] = gy[..., self.start : stop]
        return (gx,)


@register
class ShapeOf(Op):
    """y = x.shape as a float32 vector (rank,) (Analytics Zoo GetShape). Not differentiable."""

    type_name = "shape_of"
    nondiff_inputs = (0,)

    def infer_shape(self, x):
        return (len(x),)

    def forward(self, ctx: Ctx, x):
        y = ctx.buf("y", (x.ndim,), np.float32)
        y[:] = x.shape
        return y

    def backward(self, ctx: Ctx, gy):
        return (None,)


@register
class PickInput(Op):
    """y = the input at `index` of any number of inputs (negatives count from the end); the
    gradient goes to that input only (Analytics Zoo SelectTable)."""

    type_name = "pick_input"

    def __init__(self, index: int = 0):
        if not _is_int(index):
            raise TypeError(f"PickInput: index must be an int, got {index!r}")
        self.index = int(index)

    def get_config(self) -> dict:
        return {"index": self.index}

    def infer_shape(self, *xs):
        if not -len(xs) <= self.index < len(xs):
            raise ValueError(f"index {self.index} is out of range for {len(xs)} inputs")
        return tuple(xs[self.index])

    def forward(self, ctx: Ctx, *xs):
        ctx.n = len(xs)
        return xs[self.index]

    def backward(self, ctx: Ctx, gy):
        out = [None] * ctx.n
        out[self.index % ctx.n] = gy
        return tuple(out)


@register
class BlockGradient(Op):
    """y = x; backward passes no gradient to x (nothing before it is trained through it).

    Example:
        >>> BlockGradient().infer_shape((None, 3))
        (None, 3)
    """

    type_name = "block_gradient"

    def infer_shape(self, x):
        return tuple(x)

    def forward(self, ctx: Ctx, x):
        return x

    def backward(self, ctx: Ctx, gy):
        return (None,)
