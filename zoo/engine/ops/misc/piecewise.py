"""Parametric and piecewise activations: PRelu, SRelu, RRelu, ReluGeneral, Threshold,
HardShrink, SoftShrink and BinaryThreshold.
"""

from __future__ import annotations

import numpy as np

from zoo.engine.ops.base import Ctx, Op, register
from zoo.engine.ops.misc._common import _check_param, _float, _like, _number


@register
class PRelu(Op):
    """Parametric ReLU: y = x for x > 0, alpha * x otherwise (Keras's relu(x) - alpha * relu(-x)).

    Inputs: x (...), alpha broadcastable to x without growing it (e.g. (C, 1, 1) per channel of
    NCHW, (1,) shared). Gradients (TensorFlow's at x = 0, i.e. 0):
    gx = gy * ((x > 0) + alpha * (x < 0)), galpha = sum over broadcast axes of gy * min(x, 0).
    """

    type_name = "prelu"

    def infer_shape(self, x, alpha):
        _check_param("PRelu", "alpha", x, alpha)
        return tuple(x)

    def forward(self, ctx: Ctx, x, alpha):
        x = _float("PRelu", x)
        alpha = _float("PRelu", alpha, "alpha")
        neg = ctx.buf("neg", x.shape, x.dtype)
        np.minimum(x, 0.0, out=neg)
        y = ctx.buf("y", x.shape, x.dtype)
        np.multiply(neg, alpha - 1.0, out=y, casting="unsafe")  # y = x + (alpha - 1) min(x, 0)
        y += x
        ctx.x, ctx.alpha, ctx.neg = x, alpha, neg
        return y

    def backward(self, ctx: Ctx, gy):
        x, alpha, neg = ctx.x, ctx.alpha, ctx.neg
        gx = ga = None
        if ctx.needs_grad[0]:
            m = ctx.buf("m", x.shape, np.bool_)
            gx = ctx.buf("gx", x.shape, x.dtype)
            np.less(x, 0.0, out=m)
            np.multiply(m, alpha, out=gx, casting="unsafe")
            np.greater(x, 0.0, out=m)
            gx += m
            gx *= gy
        if ctx.needs_grad[1]:
            t = ctx.buf("t", x.shape, x.dtype)
            np.multiply(gy, neg, out=t)
            ga = _like(t, alpha)
        return gx, ga


@register
class SRelu(Op):
    """S-shaped ReLU (Jin et al. 2015), as Keras-contrib: with t_r = t_left + |t_right|,

        y = t_r + a_right (x - t_r)          for x > t_r
        y = x                                for t_left <= x <= t_r
        y = t_left + a_left (x - t_left)     for x < t_left

    Inputs: x (...), t_left, a_left, t_right, a_right, each broadcastable to x without growing it.
    Writing t_right as an offset from t_left keeps the right knee right of the left one.
    Gradients: gx = gy * slope; g t_left = sum gy (1 - a) over both outer pieces; g t_right =
    sum gy (1 - a_right) sign(t_right) over the right piece; g a_left = sum gy (x - t_left) over
    the left piece, g a_right = sum gy (x - t_r) over the right piece.
    """

    type_name = "srelu"

    def infer_shape(self, x, tl, al, tr, ar):
        for name, p in (("t_left", tl), ("a_left", al), ("t_right", tr), ("a_right", ar)):
            _check_param("SRelu", name, x, p)
        return tuple(x)

    def forward(self, ctx: Ctx, x, tl, al, tr, ar):
        who = "SRelu"
        x = _float(who, x)
        ps = [
            _float(who, p, n) for p, n in ((tl, "t_left"), (al, "a_left"), (tr, "t_right"), (ar, "a_right"))
        ]
        tl, al, tr, ar = ps
        trr = tl + np.abs(tr)
        right = np.greater(x, trr, out=ctx.buf("right", x.shape, np.bool_))
        left = np.less(x, tl, out=ctx.buf("left", x.shape, np.bool_))
        y = ctx.buf("y", x.shape, x.dtype)
        d = ctx.buf("d", x.shape, x.dtype)
        np.copyto(y, x)
        np.subtract(x, trr, out=d, casting="unsafe")  # x - t_r
        np.multiply(d, ar, out=d, casting="unsafe")
        d += trr
        np.copyto(y, d, where=right)
        np.subtract(x, tl, out=d, casting="unsafe")  # x - t_left
        np.multiply(d, al, out=d, casting="unsafe")
        d += tl
        np.copyto(y, d, where=left)
        ctx.x, ctx.ps, ctx.trr = x, ps, trr
        return y

    def backward(self, ctx: Ctx, gy):
        x, (tl, al, tr, ar), trr = ctx.x, ctx.ps, ctx.trr
        right, left = ctx.buf("right", x.shape, np.bool_), ctx.buf("left", x.shape, np.bool_)
        flags = ctx.needs_grad
        out = [None] * 5
        t = ctx.buf("t", x.shape, x.dtype)
        if flags[0]:
            gx = ctx.buf("gx", x.shape, x.dtype)
            np.copyto(gx, gy)
            np.multiply(gy, ar, out=t, casting="unsafe")
            np.copyto(gx, t, where=right)
            np.multiply(gy, al, out=t, casting="unsafe")
            np.copyto(gx, t, where=left)
            out[0] = gx
        if flags[1] or flags[3]:  # gy (1 - a) on the outer pieces
            u = ctx.buf("u", x.shape, x.dtype)
            np.multiply(gy, 1.0 - ar, out=t, casting="unsafe")
            t *= right
            if flags[3]:
                out[3] = _like(t * np.sign(tr), tr)
            if flags[1]:
                np.multiply(gy, 1.0 - al, out=u, casting="unsafe")
                u *= left
                u += t
                out[1] = _like(u, tl)
        if flags[2]:
            np.subtract(x, tl, out=t, casting="unsafe")
            t *= gy
            t *= left
            out[2] = _like(t, al)
        if flags[4]:
            np.subtract(x, trr, out=t, casting="unsafe")
            t *= gy
            t *= right
            out[4] = _like(t, ar)
        return tuple(out)


@register
class RRelu(Op):
    """Randomized leaky ReLU (Xu et al. 2015): y = x for x >= 0, a * x otherwise.

    Training: a ~ U(lower, upper) drawn per element from ctx.rng; inference: a = (lower + upper) / 2.
    Gradient: gx = gy * slope (the slopes drawn in the forward pass). Shapes: unchanged.
    """

    type_name = "rrelu"

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3):
        self.lower = _number("RRelu", "lower", lower)
        self.upper = _number("RRelu", "upper", upper)
        if self.upper < self.lower:
            raise ValueError(f"RRelu: expected lower <= upper, got lower={lower!r}, upper={upper!r}")

    def get_config(self) -> dict:
        return {"lower": self.lower, "upper": self.upper}

    def infer_shape(self, x):
        return tuple(x)

    def forward(self, ctx: Ctx, x):
        x = _float("RRelu", x)
        slope = ctx.buf("slope", x.shape, x.dtype)
        if ctx.training and self.upper > self.lower:
            if slope.size:
                ctx.rng.random(out=slope.reshape(-1), dtype=slope.dtype)
            slope *= self.upper - self.lower
            slope += self.lower
        else:
            slope.fill(0.5 * (self.lower + self.upper))
        np.copyto(slope, 1.0, where=x >= 0)
        y = ctx.buf("y", x.shape, x.dtype)
        np.multiply(x, slope, out=y)
        ctx.slope = slope
        return y

    def backward(self, ctx: Ctx, gy):
        slope = ctx.slope
        gx = ctx.buf("gx", slope.shape, slope.dtype)
        np.multiply(gy, slope, out=gx, casting="unsafe")
        return (gx,)


@register
class ReluGeneral(Op):
    """Keras's relu(x, negative_slope, max_value, threshold) (the ReLU layer):

        y = min(x, max_value)                     for x > threshold (and x >= 0 if max_value is set)
        y = negative_slope * (x - threshold)      for x <= threshold

    i.e. pos = x * (x > threshold), clipped to [0, max_value] when max_value is given, minus
    negative_slope * relu(threshold - x). Gradient: gy * ((x > threshold) [* (0 <= x <= max_value)]
    + negative_slope * (x < threshold)). Shapes: unchanged.
    """

    type_name = "relu_general"

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0):
        who = "ReluGeneral"
        self.max_value = None if max_value is None else _number(who, "max_value", max_value, 0.0)
        self.negative_slope = _number(who, "negative_slope", negative_slope, 0.0)
        self.threshold = _number(who, "threshold", threshold, 0.0)

    def get_config(self) -> dict:
        return {
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }

    def infer_shape(self, x):
        return tuple(x)

    def forward(self, ctx: Ctx, x):
        x = _float("ReluGeneral", x)
        th, mv, ns = self.threshold, self.max_value, self.negative_slope
        m = ctx.buf("m", x.shape, np.bool_)
        np.greater(x, th, out=m)
        if mv is not None:
            m &= x <= mv  # x > th >= 0 already
        y = ctx.buf("y", x.shape, x.dtype)
        if mv is None:
            np.multiply(x, m, out=y)
        else:
            np.copyto(y, mv)
            y *= x > mv
            np.copyto(y, x, where=m)
        if ns:
            t = ctx.buf("t", x.shape, x.dtype)
            np.subtract(x, th, out=t)
            np.minimum(t, 0.0, out=t)
            t *= ns
            y += t
        ctx.x = x
        return y

    def backward(self, ctx: Ctx, gy):
        x = ctx.x
        gx = ctx.buf("gx", x.shape, x.dtype)
        np.multiply(gy, ctx.buf("m", x.shape, np.bool_), out=gx, casting="unsafe")
        if self.negative_slope:
            t = ctx.buf("t", x.shape, x.dtype)
            np.multiply(gy, x < self.threshold, out=t, casting="unsafe")
            t *= self.negative_slope
            gx += t
        return (gx,)


class _Masked(Op):
    """y = f(x) with gradient gy * mask(x); subclasses fill y and the mask."""

    def infer_shape(self, x):
        return tuple(x)

    def backward(self, ctx: Ctx, gy):
        m = ctx.buf("m", gy.shape, np.bool_)
        gx = ctx.buf("gx", gy.shape, ctx.dtype)
        np.multiply(gy, m, out=gx, casting="unsafe")
        return (gx,)


@register
class Threshold(_Masked):
    """y = x where x > threshold, else value (Torch/BigDL Threshold; ThresholdedReLU is value=0).

    Gradient: gy where x > threshold, else 0. Shapes: unchanged.
    """

    type_name = "threshold"

    def __init__(self, threshold: float = 1e-6, value: float = 0.0):
        self.threshold = _number("Threshold", "threshold", threshold)
        self.value = _number("Threshold", "value", value)

    def get_config(self) -> dict:
        return {"threshold": self.threshold, "value": self.value}

    def forward(self, ctx: Ctx, x):
        x = _float("Threshold", x)
        m = np.greater(x, self.threshold, out=ctx.buf("m", x.shape, np.bool_))
        y = ctx.buf("y", x.shape, x.dtype)
        if self.value == 0.0:
            np.multiply(x, m, out=y)
        else:
            y.fill(self.value)
            np.copyto(y, x, where=m)
        ctx.dtype = x.dtype
        return y


@register
class HardShrink(_Masked):
    """y = x where |x| > lambd, else 0. Gradient: gy where |x| > lambd. Shapes: unchanged."""

    type_name = "hard_shrink"

    def __init__(self, lambd: float = 0.5):
        self.lambd = _number("HardShrink", "lambd", lambd, 0.0)

    def get_config(self) -> dict:
        return {"lambd": self.lambd}

    def forward(self, ctx: Ctx, x):
        x = _float("HardShrink", x)
        y = ctx.buf("y", x.shape, x.dtype)
        np.abs(x, out=y)
        m = np.greater(y, self.lambd, out=ctx.buf("m", x.shape, np.bool_))
        np.multiply(x, m, out=y)
        ctx.dtype = x.dtype
        return y


@register
class SoftShrink(_Masked):
    """y = x - lambd for x > lambd, x + lambd for x < -lambd, else 0, i.e. x - clip(x, -lambd, lambd).

    Gradient: gy where |x| > lambd. Shapes: unchanged.
    """

    type_name = "soft_shrink"

    def __init__(self, lambd: float = 0.5):
        self.lambd = _number("SoftShrink", "lambd", lambd, 0.0)

    def get_config(self) -> dict:
        return {"lambd": self.lambd}

    def forward(self, ctx: Ctx, x):
        x = _float("SoftShrink", x)
        y = ctx.buf("y", x.shape, x.dtype)
        np.clip(x, -self.lambd, self.lambd, out=y)
        np.not_equal(x, y, out=ctx.buf("m", x.shape, np.bool_))
        np.subtract(x, y, out=y)
        ctx.dtype = x.dtype
        return y


@register
class BinaryThreshold(Op):
    """y = 1 where x > threshold, else 0 (BigDL BinaryThreshold). Not differentiable (no gradient)."""

    type_name = "binary_threshold"
    nondiff_inputs = (0,)

    def __init__(self, threshold: float = 1e-6):
        self.threshold = _number("BinaryThreshold", "threshold", threshold)

    def get_config(self) -> dict:
        return {"threshold": self.threshold}

    def infer_shape(self, x):
        return tuple(x)

    def forward(self, ctx: Ctx, x):
        x = _float("BinaryThreshold", x)
        y = ctx.buf("y", x.shape, x.dtype)
        np.greater(x, self.threshold, out=y, casting="unsafe")
        return y

    def backward(self, ctx: Ctx, gy):
        return (None,)
