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

Families: `binary` (broadcasting arithmetic), `scalar` (tensor op constant), `unary` (math
functions, Clip, Sign) and `select` (comparisons, Where, AddN).
"""

from __future__ import annotations

from zoo.engine.ops.elementwise.binary import Add, Div, Maximum, Minimum, Mul, Pow, Sub
from zoo.engine.ops.elementwise.scalar import (
    AddScalar,
    DivScalar,
    MulScalar,
    PowScalar,
    RDivScalar,
    RPowScalar,
    RSubScalar,
)
from zoo.engine.ops.elementwise.select import (
    AddN,
    Equal,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
    NotEqual,
    Where,
)
from zoo.engine.ops.elementwise.unary import Abs, Clip, Erf, Exp, Log, Neg, Sign, Sqrt, Square, erf

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
