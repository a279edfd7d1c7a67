"""Binary arithmetic with numpy broadcasting: Add, Sub, Mul, Div, Maximum, Minimum, Pow.
"""

from __future__ import annotations

import numpy as np

from zoo.engine.ops.base import Ctx, Op, broadcast_shapes, register
from zoo.engine.ops.elementwise._common import _fit, _out_shape


class _Binary(Op):
    """y = f(a, b) elementwise with numpy broadcasting in either direction.

    Example:
        >>> Add().infer_shape((None, 1, 5), (4, 1))
        (None, 4, 5)
    """

    ufunc = None

    def infer_shape(self, a, b):
        return broadcast_shapes(a, b)

    def forward(self, ctx: Ctx, a, b):
        shape, dt = _out_shape(self, ctx, a, b)
        y = ctx.buf("y", shape, dt)
        self.ufunc(a, b, out=y)
        ctx.a, ctx.b, ctx.y = a, b, y
        return y


@register
class Add(_Binary):
    """y = a + b (broadcasting). Gradients: ga = gy, gb = gy (summed to each input's shape)."""

    type_name = "add"
    ufunc = np.add

    def backward(self, ctx: Ctx, gy):
        na, nb = ctx.needs_grad
        return (_fit(gy, ctx.a) if na else None, _fit(gy, ctx.b) if nb else None)


@register
class Sub(_Binary):
    """y = a - b (broadcasting). Gradients: ga = gy, gb = -gy."""

    type_name = "sub"
    ufunc = np.subtract

    def backward(self, ctx: Ctx, gy):
        na, nb = ctx.needs_grad
        gb = None
        if nb:
            gb = _fit(np.negative(gy, out=ctx.buf("gb", gy.shape, gy.dtype)), ctx.b)
        return (_fit(gy, ctx.a) if na else None, gb)


@register
class Mul(_Binary):
    """y = a * b (broadcasting). Gradients: ga = gy * b, gb = gy * a."""

    type_name = "mul"
    ufunc = np.multiply

    def backward(self, ctx: Ctx, gy):
        na, nb = ctx.needs_grad
        ga = _fit(np.multiply(gy, ctx.b, out=ctx.buf("ga", gy.shape, gy.dtype)), ctx.a) if na else None
        gb = _fit(np.multiply(gy, ctx.a, out=ctx.buf("gb", gy.shape, gy.dtype)), ctx.b) if nb else None
        return ga, gb


@register
class Div(_Binary):
    """y = a / b (broadcasting). Gradients: ga = gy / b, gb = -gy * a / b^2 = -gy * y / b."""

    type_name = "div"
    ufunc = np.divide

    def backward(self, ctx: Ctx, gy):
        na, nb = ctx.needs_grad
        ga = gb = None
        if na:
            ga = _fit(np.divide(gy, ctx.b, out=ctx.buf("ga", gy.shape, gy.dtype)), ctx.a)
        if nb:
            t = np.multiply(gy, ctx.y, out=ctx.buf("gb", gy.shape, gy.dtype))
            np.divide(t, ctx.b, out=t)
            gb = _fit(np.negative(t, out=t), ctx.b)
        return ga, gb


class _Select(_Binary):
    """Maximum / Minimum: the gradient goes to a where `mask(a, b)`, else to b."""

    mask = None

    def backward(self, ctx: Ctx, gy):
        na, nb = ctx.needs_grad
        m = self.mask(ctx.a, ctx.b, out=ctx.buf("m", gy.shape, np.bool_))
        ga = gb = None
        if na:
            ga = ctx.zeros("ga", gy.shape, gy.dtype)
            np.copyto(ga, gy, where=m)
            ga = _fit(ga, ctx.a)
        if nb:
            gb = ctx.zeros("gb", gy.shape, gy.dtype)
            np.copyto(gb, gy, where=np.logical_not(m, out=m))
            gb = _fit(gb, ctx.b)
        return ga, gb


@register
class Maximum(_Select):
    """y = max(a, b) elementwise (broadcasting). On ties (a == b) the gradient goes to a alone."""

    type_name = "maximum"
    ufunc = np.maximum
    mask = np.greater_equal


@register
class Minimum(_Select):
    """y = min(a, b) elementwise (broadcasting). On ties (a == b) the gradient goes to a alone."""

    type_name = "minimum"
    ufunc = np.minimum
    mask = np.less_equal


@register
class Pow(_Binary):
    """y = a ** b elementwise (broadcasting).

    Gradients: ga = gy * b * a^(b-1); gb = gy * y * log(a) where a > 0, else 0 (as TensorFlow).
    """

    type_name = "pow"
    ufunc = np.power

    def backward(self, ctx: Ctx, gy):
        na, nb = ctx.needs_grad
        a, b = ctx.a, ctx.b
        ga = gb = None
        if na:
            t = ctx.buf("ga", gy.shape, gy.dtype)
            np.power(a, b - 1, out=t)
            t *= b
            ga = _fit(np.multiply(t, gy, out=t), a)
        if nb:
            pos = a > 0
            t = ctx.buf("gb", gy.shape, gy.dtype)
            np.log(np.where(pos, a, 1), out=t)
            t *= ctx.y
            t *= gy
            gb = _fit(t, b)
        return ga, gb
