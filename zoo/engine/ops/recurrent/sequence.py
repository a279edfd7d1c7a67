"""Sequence helpers around the recurrent ops: ReverseSequence, TimeFold, TimeUnfold, Masking.
"""

from __future__ import annotations

import numpy as np

from zoo.engine.ops.base import Ctx, Op, register


@register
class ReverseSequence(Op):
    """y = x reversed along `axis` (default 1, time): y[:, t] = x[:, T-1-t]. Backward reverses back."""

    type_name = "reverse_sequence"

    def __init__(self, axis: int = 1):
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"ReverseSequence: axis must be an int, got {axis!r}")
        self.axis = int(axis)

    def get_config(self) -> dict:
        return {"axis": self.axis}

    def infer_shape(self, x):
        if not -len(x) <= self.axis < len(x):
            raise ValueError(f"axis {self.axis} is out of range for input shape {tuple(x)}")
        return tuple(x)

    def _rev(self, ctx: Ctx, key, a):
        idx = [slice(None)] * a.ndim
        idx[self.axis] = slice(None, None, -1)
        out = ctx.buf(key, a.shape, a.dtype)
        np.copyto(out, a[tuple(idx)])
        return out

    def forward(self, ctx: Ctx, x):
        return self._rev(ctx, "y", x)

    def backward(self, ctx: Ctx, gy):
        return (self._rev(ctx, "dx", gy) if ctx.needs_grad[0] else None,)


@register
class TimeFold(Op):
    """(B, T, ...) -> (B*T, ...): time folded into the batch (TimeDistributed). Backward unfolds."""

    type_name = "time_fold"

    def infer_shape(self, x):
        if len(x) < 3:
            raise ValueError(f"expected input of rank >= 3 (batch, time, ...), got shape {tuple(x)}")
        n = None if x[0] is None or x[1] is None else x[0] * x[1]
        return (n,) + tuple(x[2:])

    def forward(self, ctx: Ctx, x):
        ctx.shape = x.shape
        return x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:])

    def backward(self, ctx: Ctx, gy):
        return (gy.reshape(ctx.shape) if ctx.needs_grad[0] else None,)


@register
class TimeUnfold(Op):
    """(y (B*T, ...), like (B, T, ...)) -> (B, T, ...) with B, T from `like` (TimeDistributed)."""

    type_name = "time_unfold"
    nondiff_inputs = (1,)

    def infer_shape(self, y, like):
        if len(like) < 2 or len(y) < 1:
            raise ValueError(
                f"expected y of rank >= 1 and a reference of rank >= 2, got {tuple(y)} and {tuple(like)}"
            )
        if None not in (y[0], like[0], like[1]) and y[0] != like[0] * like[1]:
            raise ValueError(
                f"expected {like[0] * like[1]} rows (batch {like[0]} x time {like[1]}), got shape {tuple(y)}"
            )
        return (like[0], like[1]) + tuple(y[1:])

    def forward(self, ctx: Ctx, y, like):
        B, T = like.shape[:2]
        if y.shape[0] != B * T:
            raise ValueError(f"TimeUnfold: expected {B * T} rows (batch {B} x time {T}), got shape {y.shape}")
        ctx.shape = y.shape
        return y.reshape((B, T) + y.shape[1:])

    def backward(self, ctx: Ctx, gy):
        return (gy.reshape(ctx.shape) if ctx.needs_grad[0] else None, None)


@register
class Masking(Op):
    """Masks timesteps whose features all equal `mask_value`: outputs (y, mask).

    x (B, T, ...) -> mask (B, T) = any(x[b, t] != mask_value) as 0/1 in x's dtype, and
    y = x * mask (zeros at masked steps). Backward: dx = dy * mask (the mask has no gradient).
    """

    type_name = "masking"
    n_outputs = 2

    def __init__(self, mask_value: float = 0.0):
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.integer, np.floating)):
            raise TypeError(f"Masking: mask_value must be a number, got {mask_value!r}")
        self.mask_value = float(mask_value)

    def get_config(self) -> dict:
        return {"mask_value": self.mask_value}

    def infer_shape(self, x):
        if len(x) < 2:
            raise ValueError(f"expected input of rank >= 2 (batch, time, ...), got shape {tuple(x)}")
        return tuple(x), tuple(x[:2])

    def forward(self, ctx: Ctx, x):
        B, T = x.shape[:2]
        m = ctx.buf("mask", (B, T), x.dtype)
        np.copyto(m, np.any(x.reshape(B, T, -1) != self.mask_value, axis=2))
        y = ctx.buf("y", x.shape, x.dtype)
        np.multiply(x, m.reshape((B, T) + (1,) * (x.ndim - 2)), out=y)
        ctx.m = m
        return y, m

    def backward(self, ctx: Ctx, gy):
        g = gy[0]
        if g is None or not ctx.needs_grad[0]:
            return (None,)
        m = ctx.m
        dx = ctx.buf("dx", g.shape, g.dtype)
        np.multiply(g, m.reshape(m.shape + (1,) * (g.ndim - 2)), out=dx)
        return (dx,)
