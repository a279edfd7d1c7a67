"""Unary math: Neg, Abs, Square, Sqrt, Exp, Log, Erf (and the float `erf`), Clip, Sign.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine.ops.base import Ctx, Op, register
from zoo.engine.ops.elementwise._common import _number


class _Unary(Op):
    """y = f(x) elementwise; shape and dtype of x."""

    def infer_shape(self, x):
        return tuple(x)

    def forward(self, ctx: Ctx, x):
        ctx.x = x
        ctx.y = self.f(x, ctx.buf("y", x.shape, x.dtype))
        return ctx.y

    def backward(self, ctx: Ctx, gy):
        return (self.df(ctx, gy, ctx.buf("gx", gy.shape, gy.dtype)),)

    def f(self, x, out):
        raise NotImplementedError

    def df(self, ctx: Ctx, gy, out):
        raise NotImplementedError


@register
class Neg(_Unary):
    """y = -x. Gradient: gx = -gy."""

    type_name = "neg"

    def f(self, x, out):
        return np.negative(x, out=out)

    def df(self, ctx, gy, out):
        return np.negative(gy, out=out)


@register
class Abs(_Unary):
    """y = |x|. Gradient: gx = gy * sign(x), so 0 at x = 0."""

    type_name = "abs"

    def f(self, x, out):
        return np.abs(x, out=out)

    def df(self, ctx, gy, out):
        np.sign(ctx.x, out=out)
        return np.multiply(out, gy, out=out)


@register
class Square(_Unary):
    """y = x^2. Gradient: gx = 2 x gy."""

    type_name = "square"

    def f(self, x, out):
        return np.multiply(x, x, out=out)

    def df(self, ctx, gy, out):
        np.multiply(ctx.x, 2.0, out=out)
        return np.multiply(out, gy, out=out)


@register
class Sqrt(_Unary):
    """y = sqrt(x). Gradient: gx = gy / (2 y) (inf at x = 0)."""

    type_name = "sqrt"

    def f(self, x, out):
        return np.sqrt(x, out=out)

    def df(self, ctx, gy, out):
        np.divide(gy, ctx.y, out=out)
        return np.multiply(out, 0.5, out=out)


@register
class Exp(_Unary):
    """y = e^x. Gradient: gx = gy * y."""

    type_name = "exp"

    def f(self, x, out):
        return np.exp(x, out=out)

    def df(self, ctx, gy, out):
        return np.multiply(gy, ctx.y, out=out)


@register
class Log(_Unary):
    """y = ln(x). Gradient: gx = gy / x."""

    type_name = "log"

    def f(self, x, out):
        return np.log(x, out=out)

    def df(self, ctx, gy, out):
        return np.divide(gy, ctx.x, out=out)


# Cephes (ndtr.c) rational approximations: erf(x) = x T(x^2) / U(x^2) for |x| < 1, and
# erfc(x) = exp(-x^2) P(x) / Q(x) for 1 <= x < 8 (relative error ~1e-16 and ~6e-14).
_ERF_T = (
    9.60497373987051638749e0,
    9.00260197203842689217e1,
    2.23200534594684319226e3,
    7.00332514112805075473e3,
    5.55923013010394962768e4,
)
_ERF_U = (
    1.0,
    3.35617141647503099647e1,
    5.21357949780152679795e2,
    4.59432382970980127987e3,
    2.26290000613890934246e4,
    4.92673942608635921086e4,
)
_ERFC_P = (
    2.46196981473530512524e-10,
    5.64189564831068821977e-1,
    7.46321056442269912687e0,
    4.86371970985681366614e1,
    1.96520832956077098242e2,
    5.26445194995477358631e2,
    9.34528527171957607540e2,
    1.02755188689515710272e3,
    5.57535335369399327526e2,
)
_ERFC_Q = (
    1.0,
    1.32281951154744992508e1,
    8.67072140885989742329e1,
    3.54937778887819891062e2,
    9.75708501743205489753e2,
    1.82390916687909736289e3,
    2.24633760818710981792e3,
    1.65666309194161350182e3,
    5.57535340817727675546e2,
)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _horner(coefs, t: np.ndarray) -> np.ndarray:
    acc = np.full_like(t, coefs[0])
    for c in coefs[1:]:
        acc *= t
        acc += c
    return acc


def erf(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The error function erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt, elementwise, in x's dtype.

    numpy has no erf; this evaluates Cephes' rational approximations (float64 error ~1e-15).
    For |x| >= 6, erf(x) = sign(x) to double precision.
    """
    x = np.asarray(x)
    if out is None:
        out = np.empty_like(x, dtype=x.dtype if x.dtype.kind == "f" else np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        xs = np.clip(x, -1.0, 1.0)  # small branch, |x| < 1
        z = xs * xs
        small = xs * _horner(_ERF_T, z)
        small /= _horner(_ERF_U, z)
        t = np.minimum(np.abs(x), 6.0)  # large branch, 1 <= |x|
        large = _horner(_ERFC_P, t)
        large /= _horner(_ERFC_Q, t)
        np.multiply(t, t, out=t)
        np.negative(t, out=t)
        np.exp(t, out=t)
        large *= t
        np.subtract(1.0, large, out=large)
        large *= np.sign(x)
        np.copyto(out, np.where(np.abs(x) < 1.0, small, large))
    return out


@register
class Erf(_Unary):
    """y = erf(x). Gradient: gx = gy * 2/sqrt(pi) * exp(-x^2)."""

    type_name = "erf"

    def f(self, x, out):
        return erf(x, out=out)

    def df(self, ctx, gy, out):
        np.multiply(ctx.x, ctx.x, out=out)
        np.negative(out, out=out)
        np.exp(out, out=out)
        out *= _TWO_OVER_SQRT_PI
        return np.multiply(out, gy, out=out)


@register
class Clip(_Unary):
    """y = min(max(x, min_value), max_value); either bound may be None (unbounded).

    Gradient: gy where min_value <= x <= max_value, else 0.
    """

    type_name = "clip"

    def __init__(self, min_value: float | None = None, max_value: float | None = None):
        if min_value is None and max_value is None:
            raise ValueError("Clip: give min_value, max_value or both, got neither")
        self.min_value = None if min_value is None else _number("Clip", "min_value", min_value)
        self.max_value = None if max_value is None else _number("Clip", "max_value", max_value)
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            raise ValueError(
                f"Clip: min_value must not exceed max_value, got {self.min_value} > {self.max_value}"
            )

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value}

    def f(self, x, out):
        lo, hi = self.min_value, self.max_value
        if lo is None:
            return np.minimum(x, hi, out=out)
        if hi is None:
            return np.maximum(x, lo, out=out)
        return np.clip(x, lo, hi, out=out)

    def df(self, ctx, gy, out):
        x, lo, hi = ctx.x, self.min_value, self.max_value
        m = ctx.buf("m", x.shape, np.bool_)
        if lo is not None:
            np.greater_equal(x, lo, out=m)
        if hi is not None:
            if lo is None:
                np.less_equal(x, hi, out=m)
            else:
                m &= x <= hi
        out.fill(0)
        np.copyto(out, gy, where=m)
        return out


@register
class Sign(_Unary):
    """y = sign(x) in {-1, 0, 1}; not differentiable (no gradient flows through it)."""

    type_name = "sign"
    nondiff_inputs = (0,)

    def f(self, x, out):
        return np.sign(x, out=out)

    def backward(self, ctx: Ctx, gy):
        return (None,)
