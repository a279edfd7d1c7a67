"""A tensor and a constant: AddScalar, MulScalar, DivScalar, RSubScalar, RDivScalar, PowScalar,
RPowScalar.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine.ops.base import Ctx, Op, register
from zoo.engine.ops.elementwise._common import _number


class _Scalar(Op):
    """y = f(x, c) for a fixed real number c; shape and dtype of x."""

    what = "c"

    def __init__(self, c: float):
        self.c = _number(type(self).__name__, self.what, c)

    def get_config(self) -> dict:
        return {self.what: self.c}

    def infer_shape(self, x):
        return tuple(x)

    def _y(self, ctx: Ctx, x) -> np.ndarray:
        ctx.x = x
        return ctx.buf("y", x.shape, x.dtype)

    def _g(self, ctx: Ctx, gy) -> np.ndarray:
        return ctx.buf("gx", gy.shape, gy.dtype)


@register
class AddScalar(_Scalar):
    """y = x + c (also x - c as AddScalar(-c), which is exact)."""

    type_name = "add_scalar"

    def forward(self, ctx: Ctx, x):
        return np.add(x, self.c, out=self._y(ctx, x))

    def backward(self, ctx: Ctx, gy):
        return (gy,)


@register
class MulScalar(_Scalar):
    """y = x * c. Gradient: gx = gy * c."""

    type_name = "mul_scalar"

    def forward(self, ctx: Ctx, x):
        return np.multiply(x, self.c, out=self._y(ctx, x))

    def backward(self, ctx: Ctx, gy):
        return (np.multiply(gy, self.c, out=self._g(ctx, gy)),)


@register
class DivScalar(_Scalar):
    """y = x / c (a true division, rounding like TensorFlow's x / c). Gradient: gx = gy / c."""

    type_name = "div_scalar"

    def forward(self, ctx: Ctx, x):
        return np.divide(x, self.c, out=self._y(ctx, x))

    def backward(self, ctx: Ctx, gy):
        return (np.divide(gy, self.c, out=self._g(ctx, gy)),)


@register
class RSubScalar(_Scalar):
    """y = c - x. Gradient: gx = -gy."""

    type_name = "rsub_scalar"

    def forward(self, ctx: Ctx, x):
        return np.subtract(self.c, x, out=self._y(ctx, x))

    def backward(self, ctx: Ctx, gy):
        return (np.negative(gy, out=self._g(ctx, gy)),)


@register
class RDivScalar(_Scalar):
    """y = c / x. Gradient: gx = -gy * c / x^2 = -gy * y / x."""

    type_name = "rdiv_scalar"

    def forward(self, ctx: Ctx, x):
        ctx.y = np.divide(self.c, x, out=self._y(ctx, x))
        return ctx.y

    def backward(self, ctx: Ctx, gy):
        g = np.multiply(gy, ctx.y, out=self._g(ctx, gy))
        np.divide(g, ctx.x, out=g)
        return (np.negative(g, out=g),)


@register
class PowScalar(_Scalar):
    """y = x ** p for a fixed exponent p. Gradient: gx = gy * p * x^(p-1) (gy * 2x for p = 2)."""

    type_name = "pow_scalar"
    what = "p"

    def __init__(self, p: float):
        super().__init__(p)
        self.p = self.c

    def forward(self, ctx: Ctx, x):
        y = self._y(ctx, x)
        if self.p == 2.0:
            return np.multiply(x, x, out=y)
        return np.power(x, self.p, out=y)

    def backward(self, ctx: Ctx, gy):
        g = self._g(ctx, gy)
        p = self.p
        if p == 2.0:
            np.multiply(ctx.x, 2.0, out=g)
        elif p == 1.0:
            g.fill(1.0)
        else:
            np.power(ctx.x, p - 1.0, out=g)
            g *= p
        return (np.multiply(g, gy, out=g),)


@register
class RPowScalar(_Scalar):
    """y = c ** x for a fixed base c. Gradient: gx = gy * y * ln(c) (NaN for c < 0, as TensorFlow)."""

    type_name = "rpow_scalar"

    def forward(self, ctx: Ctx, x):
        ctx.y = np.power(self.c, x, out=self._y(ctx, x))
        return ctx.y

    def backward(self, ctx: Ctx, gy):
        c = self.c
        lnc = math.log(c) if c > 0 else (-math.inf if c == 0 else math.nan)
        g = np.multiply(gy, ctx.y, out=self._g(ctx, gy))
        return (np.multiply(g, lnc, out=g),)
