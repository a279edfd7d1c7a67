"""Elementwise ops: binary arithmetic with numpy broadcasting, scalar variants, unary math,
comparisons, Where and AddN.

Everything is one numpy ufunc call (or a few) writing into buffers reused across calls; the
memory traffic is the limit, so C would not beat numpy here. Outputs keep the inputs' float
dtype (float32 stays float32: scalars are stored as Python floats, which numpy treats as
"weak" and does not promote). Gradients of broadcast inputs are summed back to the input's
shape (`unbroadcast`) and given the input's dtype.

Conventions at kinks: Abs'(0) = 0 (the subgradient sign(0)); Maximum gives the gradient to
its first input on ties (a >= b), Minimum likewise (a <= b); Clip passes the gradient where
min <= x <= max (bounds included, as tf.clip_by_value).
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine.ops.base import Ctx, Op, broadcast_shapes, register, unbroadcast
from zoo.engine.ops.shape._common import common_shape

__all__ = [
    "Abs",
    "Add",
    "AddN",
    "AddScalar",
    "Clip",
    "Div",
    "DivScalar",
    "Equal",
    "Erf",
    "Exp",
    "Greater",
    "GreaterEqual",
    "Less",
    "LessEqual",
    "Log",
    "Maximum",
    "Minimum",
    "Mul",
    "MulScalar",
    "Neg",
    "NotEqual",
    "Pow",
    "PowScalar",
    "RDivScalar",
    "RPowScalar",
    "RSubScalar",
    "Sign",
    "Sqrt",
    "Square",
    "Sub",
    "Where",
    "erf",
]


def _fit(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    """`g` summed over the axes broadcasting stretched to reach x's shape, in x's dtype."""
    g = unbroadcast(g, x.shape)
    return g if g.dtype == x.dtype else g.astype(x.dtype)


def _number(op: str, what: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {what} must be a real number, got {v!r}")
    return float(v)


def _out_shape(op: Op, ctx: Ctx, a: np.ndarray, b: np.ndarray) -> tuple[tuple, np.dtype]:
    """Broadcast shape and result dtype of a binary op's inputs (cached per pair of shapes)."""
    dt = a.dtype if a.dtype == b.dtype else np.result_type(a, b)
    if a.shape == b.shape:
        return a.shape, dt
    key = (a.shape, b.shape)
    if getattr(ctx, "bcast_key", None) != key:
        try:
            ctx.bcast_shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(
                f"{type(op).__name__}: input shapes {a.shape} and {b.shape} do not broadcast"
            ) from None
        ctx.bcast_key = key
    return ctx.bcast_shape, dt


# ---- binary ---------------------------------------------------------------------------------


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


# ---- tensor op scalar -----------------------------------------------------------------------


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


# ---- unary ----------------------------------------------------------------------------------


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


# ---- comparisons, selection, sums -----------------------------------------------------------


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
