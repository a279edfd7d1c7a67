"""Comparisons (Greater, ..., NotEqual, as 0/1 floats), selection (Where) and sums (AddN).
"""

from __future__ import annotations

import numpy as np

from zoo.engine.ops.base import Ctx, Op, broadcast_shapes, register
from zoo.engine.ops.elementwise._common import _fit, _number, _out_shape
from zoo.engine.ops.shape._common import common_shape


def _mask_dtype(*xs) -> type:
    return np.float64 if any(x.dtype == np.float64 for x in xs) else np.float32


class _Compare(Op):
    """y = 1.0 where the comparison holds, else 0.0 (float32; float64 if an input is float64).

    Compares two inputs (broadcasting) or, with `scalar=`, one input with a constant.
    Not differentiable: no gradient flows to the inputs.
    """

    nondiff_inputs = (0, 1)
    ufunc = None

    def __init__(self, scalar: float | None = None):
        self.scalar = None if scalar is None else _number(type(self).__name__, "scalar", scalar)

    def get_config(self) -> dict:
        return {"scalar": self.scalar}

    def infer_shape(self, a, b=None):
        if (self.scalar is None) == (b is None):
            raise ValueError(
                f"expected {'one input (scalar= is set)' if self.scalar is not None else 'two inputs'}"
                f", got {1 if b is None else 2}"
            )
        return tuple(a) if b is None else broadcast_shapes(a, b)

    def forward(self, ctx: Ctx, a, b=None):
        if b is None:
            if self.scalar is None:
                raise ValueError(f"{type(self).__name__}: expected two inputs (no scalar= set), got one")
            y = ctx.buf("y", a.shape, _mask_dtype(a))
            return self.ufunc(a, self.scalar, out=y)
        shape, _ = _out_shape(self, ctx, a, b)
        return self.ufunc(a, b, out=ctx.buf("y", shape, _mask_dtype(a, b)))

    def backward(self, ctx: Ctx, gy):
        return (None,) * len(ctx.needs_grad)


def _comparison(name: str, type_name: str, ufunc, symbol: str) -> type[_Compare]:
    """A registered _Compare op class: y = (a <symbol> b) as 0/1 floats."""
    doc = f"y = (a {symbol} b) as 0/1 floats; see _Compare."
    cls = type(name, (_Compare,), {"__doc__": doc, "__module__": __name__, "type_name": type_name, "ufunc": ufunc})
    return register(cls)


Greater = _comparison("Greater", "greater", np.greater, ">")
GreaterEqual = _comparison("GreaterEqual", "greater_equal", np.greater_equal, ">=")
Less = _comparison("Less", "less", np.less, "<")
LessEqual = _comparison("LessEqual", "less_equal", np.less_equal, "<=")
Equal = _comparison("Equal", "equal", np.equal, "==")
NotEqual = _comparison("NotEqual", "not_equal", np.not_equal, "!=")


@register
class Where(Op):
    """y = a where cond else b, elementwise, all three broadcasting together.

    cond is a boolean array or floats (non-zero = true) and gets no gradient.
    Gradients: ga = gy where cond, gb = gy where not cond (summed to each input's shape).
    """

    type_name = "where"
    nondiff_inputs = (0,)

    def infer_shape(self, cond, a, b):
        return broadcast_shapes(broadcast_shapes(cond, a), b)

    def forward(self, ctx: Ctx, cond, a, b):
        shape, dt = _out_shape(self, ctx, a, b)
        if cond.shape != shape:
            try:
                shape = np.broadcast_shapes(cond.shape, shape)
            except ValueError:
                raise ValueError(f"Where: cond shape {cond.shape} does not broadcast with {shape}") from None
        if cond.dtype != np.bool_:
            cond = np.not_equal(cond, 0, out=ctx.buf("c", cond.shape, np.bool_))
        y = ctx.buf("y", shape, dt)
        np.copyto(y, b)
        np.copyto(y, a, where=cond)
        ctx.cond, ctx.a, ctx.b = cond, a, b
        return y

    def backward(self, ctx: Ctx, gy):
        _, na, nb = ctx.needs_grad
        ga = gb = None
        if na:
            ga = ctx.zeros("ga", gy.shape, gy.dtype)
            np.copyto(ga, gy, where=ctx.cond)
            ga = _fit(ga, ctx.a)
        if nb:
            gb = ctx.buf("gb", gy.shape, gy.dtype)
            np.copyto(gb, gy)
            np.copyto(gb, 0, where=ctx.cond)
            gb = _fit(gb, ctx.b)
        return None, ga, gb


@register
class AddN(Op):
    """y = x_1 + ... + x_n for inputs of one shape (n >= 1). Gradients: gx_i = gy."""

    type_name = "add_n"

    def infer_shape(self, *shapes):
        return common_shape(shapes)

    def forward(self, ctx: Ctx, *xs):
        ctx.dtypes = [x.dtype for x in xs]
        if len(xs) == 1:
            return xs[0]
        x0 = xs[0]
        for x in xs[1:]:
            if x.shape != x0.shape:
                raise ValueError(f"AddN: inputs must have one shape, got {x0.shape} and {x.shape}")
        y = ctx.buf("y", x0.shape, np.result_type(*xs))
        np.add(xs[0], xs[1], out=y)
        for x in xs[2:]:
            y += x
        return y

    def backward(self, ctx: Ctx, gy):
        return tuple(
            (gy if gy.dtype == d else gy.astype(d)) if need else None
            for need, d in zip(ctx.needs_grad, ctx.dtypes)
        )
