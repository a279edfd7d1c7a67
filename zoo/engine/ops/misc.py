"""Ops behind the remaining Keras layers: parametric and piecewise activations (PRelu, SRelu,
RRelu, ReluGeneral, Threshold, BinaryThreshold, HardShrink, SoftShrink), noise (GaussianNoise,
GaussianDropout, AlphaDropout, GaussianSample), normalization (LayerNorm, WithinChannelLRN)
and two utilities (BackwardSlice, ShapeOf).

Every op is a few fused numpy passes writing into `ctx.buf` buffers reused across calls; the
loops are memory bound, so C would not beat them. Float32 stays float32 (scalars are Python
floats, which numpy does not promote) and float64 works for gradient checks. Random ops draw
from `ctx.rng`, so a seeded executor repeats its draws.

    >>> import numpy as np
    >>> from zoo.engine.ops.base import Ctx
    >>> SoftShrink(0.5).forward(Ctx(), np.array([-2.0, 0.2, 1.0])).tolist()
    [-1.5, 0.0, 0.5]
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine.ops.base import Ctx, Op, register, unbroadcast

__all__ = [
    "AlphaDropout",
    "BackwardSlice",
    "BinaryThreshold",
    "GaussianDropout",
    "GaussianNoise",
    "GaussianSample",
    "HardShrink",
    "LayerNorm",
    "PRelu",
    "PickInput",
    "RRelu",
    "ReluGeneral",
    "SRelu",
    "ShapeOf",
    "SoftShrink",
    "Threshold",
    "WithinChannelLRN",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _float(who: str, x, name: str = "input") -> np.ndarray:
    """x as a float32/float64 numpy array; TypeError naming `who` otherwise."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{who}: expected a numpy array as {name}, got {type(x).__name__}")
    if x.dtype not in _FLOATS:
        raise TypeError(f"{who}: expected a float32 or float64 {name}, got dtype {x.dtype}")
    return x


def _number(
    who: str,
    name: str,
    v,
    low: float | None = None,
    low_open: bool = False,
    high: float | None = None,
    high_open: bool = False,
) -> float:
    if (
        isinstance(v, bool)
        or not isinstance(v, (int, float, np.integer, np.floating))
        or not math.isfinite(v)
    ):
        raise ValueError(f"{who}: {name} must be a finite number, got {v!r}")
    v = float(v)
    if (low is not None and (v < low or (low_open and v == low))) or (
        high is not None and (v > high or (high_open and v == high))
    ):
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        hi = ")" if high is None else hi
        raise ValueError(
            f"{who}: {name} must be in {lo}{low}, {'inf' if high is None else high}{hi}, got {v!r}"
        )
    return v


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _axes_arg(who: str, what: str, axis) -> tuple[int, ...]:
    if _is_int(axis):
        return (int(axis),)
    try:
        t = tuple(axis)
    except TypeError:
        raise TypeError(f"{who}: {what} must be an int or a sequence of ints, got {axis!r}") from None
    if not t or not all(_is_int(a) for a in t):
        raise TypeError(f"{who}: {what} must be an int or a non-empty sequence of ints, got {axis!r}")
    return tuple(int(a) for a in t)


def _resolve_axes(who: str, what: str, axes: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{what} {a} is out of range for an input of rank {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{what} {axes} names an axis twice (rank {ndim})")
    return tuple(sorted(out))


def _like(g: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """A gradient summed to ref's shape (broadcast axes) in ref's dtype."""
    g = unbroadcast(g, ref.shape)
    return g if g.dtype == ref.dtype else g.astype(ref.dtype)


def _check_param(who: str, name: str, x: tuple, p: tuple) -> None:
    """p must broadcast to x without growing it: right-aligned, each size 1 or x's (1 on unknown sizes)."""
    ok = len(p) <= len(x) and all(
        b == 1 or (a is not None and b == a) for a, b in zip(reversed(x), reversed(p))
    )
    if not ok:
        raise ValueError(
            f"expected {name} broadcastable to the input shape {tuple(x)} without growing it, "
            f"got shape {tuple(p)}"
        )


# ---- parametric and piecewise activations -----------------------------------------------------


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


# ---- noise --------------------------------------------------------------------------------------


def _rate(who: str, rate) -> float:
    return _number(who, "rate", rate, 0.0, high=1.0, high_open=True)


def _normal(ctx: Ctx, key: str, shape: tuple, dtype) -> np.ndarray:
    """A ctx buffer filled with standard normal draws from ctx.rng."""
    b = ctx.buf(key, shape, dtype)
    if b.size:
        ctx.rng.standard_normal(out=b.reshape(-1), dtype=b.dtype)
    return b


@register
class GaussianNoise(Op):
    """Training: y = x + stddev * n, n ~ N(0, 1) per element; inference: y = x. Gradient: gy."""

    type_name = "gaussian_noise"

    def __init__(self, stddev: float):
        self.stddev = _number("GaussianNoise", "stddev", stddev, 0.0)

    def get_config(self) -> dict:
        return {"stddev": self.stddev}

    def infer_shape(self, x):
        return tuple(x)

    def forward(self, ctx: Ctx, x):
        x = _float("GaussianNoise", x)
        if not ctx.training or self.stddev == 0.0:
            return x
        y = _normal(ctx, "y", x.shape, x.dtype)
        y *= self.stddev
        y += x
        return y

    def backward(self, ctx: Ctx, gy):
        return (gy,)


@register
class GaussianDropout(Op):
    """Training: y = x * m, m ~ N(1, rate / (1 - rate)) per element (Keras); inference: y = x.

    Gradient: gy * m. Shapes: unchanged.
    """

    type_name = "gaussian_dropout"

    def __init__(self, rate: float):
        self.rate = _rate("GaussianDropout", rate)

    def get_config(self) -> dict:
        return {"rate": self.rate}

    def infer_shape(self, x):
        return tuple(x)

    def forward(self, ctx: Ctx, x):
        x = _float("GaussianDropout", x)
        ctx.active = bool(ctx.training) and self.rate > 0.0
        if not ctx.active:
            return x
        m = _normal(ctx, "m", x.shape, x.dtype)
        m *= math.sqrt(self.rate / (1.0 - self.rate))
        m += 1.0
        y = ctx.buf("y", x.shape, x.dtype)
        np.multiply(x, m, out=y)
        ctx.m = m
        return y

    def backward(self, ctx: Ctx, gy):
        if not ctx.active:
            return (gy,)
        m = ctx.m
        gx = ctx.buf("gx", m.shape, m.dtype)
        np.multiply(gy, m, out=gx, casting="unsafe")
        return (gx,)


@register
class AlphaDropout(Op):
    """Dropout that keeps SELU's self-normalisation (Keras AlphaDropout). Training, with
    alpha' = -SELU_ALPHA * SELU_SCALE, keep ~ Bernoulli(1 - rate) (shape `noise_shape`, None
    entries meaning the input's size, broadcast over x),
    a = ((1 - rate) (1 + rate alpha'^2))^-1/2, b = -a alpha' rate:

        y = a * (x * keep + alpha' * (1 - keep)) + b

    Inference: y = x. Gradient: gy * a * keep.
    """

    type_name = "alpha_dropout"

    def __init__(self, rate: float, noise_shape=None):
        self.rate = _rate("AlphaDropout", rate)
        if noise_shape is not None:
            ns = tuple(noise_shape)
            if not all(s is None or (_is_int(s) and s >= 1) for s in ns):
                raise ValueError(
                    f"AlphaDropout: noise_shape must hold positive ints or None, got {noise_shape!r}"
                )
            noise_shape = tuple(None if s is None else int(s) for s in ns)
        self.noise_shape = noise_shape

    def get_config(self) -> dict:
        return {
            "rate": self.rate,
            "noise_shape": None if self.noise_shape is None else list(self.noise_shape),
        }

    def _noise(self, shape: tuple) -> tuple:
        if self.noise_shape is None:
            return tuple(shape)
        ns = self.noise_shape
        if len(ns) != len(shape) or any(
            s is not None and s != 1 and d is not None and s != d for s, d in zip(ns, shape)
        ):
            raise ValueError(
                f"AlphaDropout: noise_shape {ns} does not broadcast to input shape {tuple(shape)}; "
                f"each entry must be None, 1 or the input's size"
            )
        return tuple(d if s is None else s for s, d in zip(ns, shape))

    def infer_shape(self, x):
        self._noise(tuple(x))
        return tuple(x)

    def forward(self, ctx: Ctx, x):
        x = _float("AlphaDropout", x)
        ctx.active = bool(ctx.training) and self.rate > 0.0
        if not ctx.active:
            return x
        rate = self.rate
        ap = -SELU_ALPHA * SELU_SCALE
        a = ((1.0 - rate) * (1.0 + rate * ap * ap)) ** -0.5
        b = -a * ap * rate
        u = ctx.buf("u", self._noise(x.shape), x.dtype)
        if u.size:
            ctx.rng.random(out=u.reshape(-1), dtype=u.dtype)
        keep = ctx.buf("keep", u.shape, x.dtype)
        np.greater_equal(u, rate, out=keep, casting="unsafe")  # 1.0 kept, 0.0 dropped
        # y = a x keep + (a alpha' + b) - a alpha' keep
        y = ctx.buf("y", x.shape, x.dtype)
        np.multiply(x, keep, out=y)
        y *= a
        np.multiply(keep, -a * ap, out=u)
        u += a * ap + b
        y += u
        ctx.a, ctx.xshape, ctx.keep = a, x.shape, keep
        return y

    def backward(self, ctx: Ctx, gy):
        if not ctx.active:
            return (gy,)
        keep = ctx.keep
        gx = ctx.buf("gx", ctx.xshape, keep.dtype)
        np.multiply(gy, keep, out=gx, casting="unsafe")
        gx *= ctx.a
        return (gx,)


@register
class GaussianSample(Op):
    """Reparameterised Gaussian sample (VAE; BigDL GaussianSampler): inputs mean, log_var (same shape),

        y = mean + exp(log_var / 2) * e,  e ~ N(0, 1) from ctx.rng,

    drawn in training and in inference alike (as BigDL). Gradients: g mean = gy,
    g log_var = gy * (y - mean) / 2.
    """

    type_name = "gaussian_sample"

    def infer_shape(self, mean, log_var):
        if len(mean) != len(log_var) or any(
            a is not None and b is not None and a != b for a, b in zip(mean, log_var)
        ):
            raise ValueError(
                f"expected mean and log_var of the same shape, got {tuple(mean)} and {tuple(log_var)}"
            )
        return tuple(mean)

    def forward(self, ctx: Ctx, mean, log_var):
        mean = _float("GaussianSample", mean, "mean")
        log_var = _float("GaussianSample", log_var, "log_var")
        if mean.shape != log_var.shape:
            raise ValueError(
                f"GaussianSample: expected mean and log_var of the same shape, got {mean.shape} and "
                f"{log_var.shape}"
            )
        dt = np.result_type(mean, log_var)
        se = _normal(ctx, "se", mean.shape, dt)  # becomes exp(log_var / 2) * e
        s = ctx.buf("s", mean.shape, dt)
        np.multiply(log_var, 0.5, out=s)
        np.exp(s, out=s)
        se *= s
        y = ctx.buf("y", mean.shape, dt)
        np.add(mean, se, out=y)
        ctx.dtypes, ctx.se = (mean.dtype, log_var.dtype), se
        return y

    def backward(self, ctx: Ctx, gy):
        gm = gl = None
        if ctx.needs_grad[0]:
            gm = gy if gy.dtype == ctx.dtypes[0] else gy.astype(ctx.dtypes[0])
        if ctx.needs_grad[1]:
            se = ctx.se
            gl = ctx.buf("gl", se.shape, ctx.dtypes[1])
            np.multiply(gy, se, out=gl, casting="unsafe")
            gl *= 0.5
        return gm, gl


# ---- normalization --------------------------------------------------------------------------


@register
class LayerNorm(Op):
    """Normalization over `axis` (layer normalization by default), affine along `param_axis`:

        y = (x - mean) / sqrt(var + epsilon) * gamma + beta,

    mean and (biased) var taken over the axes `axis` of each position of the others. Inputs: x,
    then gamma if `scale`, then beta if `center`; each has the shape of x on `param_axis`
    (default: `axis`), e.g. (d,) for Keras LayerNormalization over the last axis, or (C,) with
    axis = all but C and param_axis = C for per-batch feature-wise normalization.
    Gradients, with xh the normalized input, g = gy * gamma, R the reduced axes:
    gx = (g - mean_R(g) - xh * mean_R(g * xh)) / sqrt(var + epsilon),
    g gamma = sum of gy * xh over the non-parameter axes, g beta = sum of gy likewise.
    """

    type_name = "layer_norm"

    def __init__(
        self, axis=-1, epsilon: float = 1e-3, center: bool = True, scale: bool = True, param_axis=None
    ):
        who = "LayerNorm"
        self.axis = _axes_arg(who, "axis", axis)
        self.param_axis = self.axis if param_axis is None else _axes_arg(who, "param_axis", param_axis)
        self.epsilon = _number(who, "epsilon", epsilon, 0.0, low_open=True)
        self.center, self.scale = bool(center), bool(scale)
        self._plans: dict = {}

    def get_config(self) -> dict:
        return {
            "axis": list(self.axis),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "param_axis": list(self.param_axis),
        }

    def _plan(self, shape: tuple):
        """Per input shape: (reduced axes, parameter axes, 2-D view or None, reduce axes in the
        view, parameter shape broadcast in the view, axes summed for the parameter gradients)."""
        plan = self._plans.get(shape)
        if plan is None:
            nd = len(shape)
            r = _resolve_axes("LayerNorm", "axis", self.axis, nd)
            p = _resolve_axes("LayerNorm", "param_axis", self.param_axis, nd)
            if r == p and r == tuple(range(nd - len(r), nd)) and None not in shape:
                d = math.prod(shape[a] for a in r)  # trailing axes: one (rows, d) view
                plan = (r, p, (math.prod(shape[: nd - len(r)]), d), (1,), (d,), (0,))
            else:
                pview = tuple(shape[a] if a in p else 1 for a in range(nd))
                plan = (r, p, None, r, pview, tuple(a for a in range(nd) if a not in p))
            if None not in shape:
                self._plans[shape] = plan
        return plan

    def infer_shape(self, x, *params):
        n = int(self.scale) + int(self.center)
        if len(params) != n:
            raise ValueError(
                f"expected {n} parameter input(s) (scale={self.scale}, center={self.center}), "
                f"got {len(params)}"
            )
        p = self._plan(tuple(x))[1]
        want = tuple(x[a] for a in p)
        names = (["gamma"] if self.scale else []) + (["beta"] if self.center else [])
        for name, s in zip(names, params):
            if len(s) != len(want) or any(
                a is not None and b is not None and a != b for a, b in zip(want, s)
            ):
                raise ValueError(
                    f"expected {name} of shape {want} for input shape {tuple(x)} and axis "
                    f"{list(self.param_axis)}, got {tuple(s)}"
                )
        return tuple(x)

    def forward(self, ctx: Ctx, x, *params):
        who = "LayerNorm"
        x = _float(who, x)
        r, p, view, red, pview, _ = plan = self._plan(x.shape)
        xv = x.reshape(view) if view is not None else x
        n = max(math.prod(x.shape[a] for a in r), 1)
        ps = [_float(who, v, name) for v, name in zip(params, (["gamma"] if self.scale else []) + ["beta"])]
        for v in ps:
            if v.size != math.prod(pview):
                raise ValueError(
                    f"{who}: expected parameters of shape {tuple(x.shape[a] for a in p)} for input "
                    f"shape {x.shape}, got {v.shape}"
                )
        gamma = ps[0].reshape(pview) if self.scale else None
        beta = ps[-1].reshape(pview) if self.center else None
        dt = x.dtype
        xh = ctx.buf("xh", xv.shape, dt)
        mean = np.add.reduce(xv, axis=red, keepdims=True)
        mean *= 1.0 / n
        np.subtract(xv, mean, out=xh)
        if view is not None:  # rows: fused multiply-sum
            inv = np.einsum("ij,ij->i", xh, xh)[:, None]
        else:
            t = ctx.buf("t", xv.shape, dt)
            np.multiply(xh, xh, out=t)
            inv = np.add.reduce(t, axis=red, keepdims=True)
        inv *= 1.0 / n
        inv += self.epsilon
        np.sqrt(inv, out=inv)
        np.divide(1.0, inv, out=inv)
        xh *= inv
        if gamma is None and beta is None:
            y = xh
        else:
            y = ctx.buf("y", xv.shape, dt)
            if gamma is not None:
                np.multiply(xh, gamma, out=y, casting="unsafe")
            else:
                np.copyto(y, xh)
            if beta is not None:
                np.add(y, beta, out=y, casting="unsafe")
        ctx.xh, ctx.inv, ctx.gamma, ctx.n, ctx.plan = xh, inv, gamma, n, plan
        ctx.shape, ctx.pdt = x.shape, [v.dtype for v in ps]
        return y.reshape(x.shape)

    def backward(self, ctx: Ctx, gy):
        xh, inv, gamma, n = ctx.xh, ctx.inv, ctx.gamma, ctx.n
        _, p, view, red, _, paxes = ctx.plan
        pshape = tuple(ctx.shape[a] for a in p)
        gyv = gy.reshape(xh.shape)
        flags = ctx.needs_grad
        out = [None] * len(flags)
        t = ctx.buf("t", xh.shape, xh.dtype)
        for k in range(1, len(flags)):
            if not flags[k]:
                continue
            if self.scale and k == 1:
                if view is not None:
                    g = np.einsum("ij,ij->j", gyv, xh)
                else:
                    np.multiply(gyv, xh, out=t, casting="unsafe")
                    g = np.add.reduce(t, axis=paxes)
            else:
                g = np.add.reduce(gyv, axis=paxes)
            out[k] = g.reshape(pshape).astype(ctx.pdt[k - 1], copy=False)
        if flags[0]:
            g = ctx.buf("g", xh.shape, xh.dtype)
            if gamma is not None:
                np.multiply(gyv, gamma, out=g, casting="unsafe")
            else:
                np.copyto(g, gyv, casting="unsafe")
            m1 = np.add.reduce(g, axis=red, keepdims=True)
            m1 *= 1.0 / n
            np.multiply(g, xh, out=t)
            m2 = np.add.reduce(t, axis=red, keepdims=True)
            m2 *= 1.0 / n
            dx = ctx.buf("dx", xh.shape, xh.dtype)
            np.multiply(xh, m2, out=dx)
            np.subtract(g, dx, out=dx)
            dx -= m1
            dx *= inv
            out[0] = dx.reshape(ctx.shape)
        return tuple(out)


@register
class WithinChannelLRN(Op):
    """Local response normalization within each channel (Caffe WITHIN_CHANNEL, BigDL
    SpatialWithinChannelLRN): over the two spatial `axes`,

        y = x * (k + alpha / size^2 * S)^-beta,  S = sum of x^2 over the size x size window

    at offsets -(size-1)//2 .. size-1-(size-1)//2 on each axis (zero outside). Shapes: unchanged
    (N, C, H, W with axes (2, 3), or N, H, W, C with axes (1, 2)). Gradient:
    gx = gy s^-beta - 2 alpha beta / size^2 * x * S'(gy y / s), S' the mirrored window sum.
    """

    type_name = "within_channel_lrn"

    def __init__(self, size: int = 5, alpha: float = 1.0, beta: float = 0.75, k: float = 1.0, axes=(2, 3)):
        who = "WithinChannelLRN"
        if not _is_int(size) or size < 1:
            raise ValueError(f"{who}: size must be a positive int, got {size!r}")
        self.size = int(size)
        self.alpha = _number(who, "alpha", alpha)
        self.beta = _number(who, "beta", beta)
        self.k = _number(who, "k", k)
        self.axes = _axes_arg(who, "axes", axes)
        if len(self.axes) != 2:
            raise ValueError(f"{who}: axes must name the 2 spatial axes, got {axes!r}")

    def get_config(self) -> dict:
        return {
            "size": self.size,
            "alpha": self.alpha,
            "beta": self.beta,
            "k": self.k,
            "axes": list(self.axes),
        }

    def infer_shape(self, x):
        _resolve_axes("WithinChannelLRN", "axes", self.axes, len(x))
        return tuple(x)

    def _box(self, ctx: Ctx, key: str, a: np.ndarray, axis: int, before: int) -> np.ndarray:
        """out[.., i, ..] = sum_{j < size} a[.., i - before + j, ..] along `axis` (zeros outside)."""
        n = a.shape[axis]
        sz = self.size
        pshape = a.shape[:axis] + (n + sz - 1,) + a.shape[axis + 1 :]
        pad = ctx.zeros(key + "_pad", pshape, a.dtype)
        idx = [slice(None)] * a.ndim

        def sl(s, e):
            idx[axis] = slice(s, e)
            return tuple(idx)

        pad[sl(before, before + n)] = a
        out = ctx.buf(key, a.shape, a.dtype)
        np.copyto(out, pad[sl(0, n)])
        for j in range(1, sz):
            out += pad[sl(j, j + n)]
        return out

    def _window(self, ctx: Ctx, key: str, a: np.ndarray, mirrored: bool) -> np.ndarray:
        ax = _resolve_axes("WithinChannelLRN", "axes", self.axes, a.ndim)
        pre = (self.size - 1) // 2
        before = self.size - 1 - pre if mirrored else pre
        s = self._box(ctx, key + "0", a, ax[0], before)
        return self._box(ctx, key + "1", s, ax[1], before)

    def forward(self, ctx: Ctx, x):
        x = _float("WithinChannelLRN", x)
        sq = ctx.buf("sq", x.shape, x.dtype)
        np.multiply(x, x, out=sq)
        s = self._window(ctx, "S", sq, False)
        s *= self.alpha / (self.size * self.size)
        s += self.k
        y = ctx.buf("y", x.shape, x.dtype)
        np.power(s, -self.beta, out=y)
        y *= x
        ctx.x, ctx.s = x, s
        return y

    def backward(self, ctx: Ctx, gy):
        x, s = ctx.x, ctx.s
        y = ctx.buf("y", x.shape, x.dtype)
        t = ctx.buf("t", x.shape, x.dtype)
        np.multiply(gy, y, out=t, casting="unsafe")
        t /= s
        acc = self._window(ctx, "A", t, True)
        acc *= x
        acc *= -2.0 * self.alpha * self.beta / (self.size * self.size)
        dx = ctx.buf("dx", x.shape, x.dtype)
        np.power(s, -self.beta, out=dx)
        dx *= gy
        dx += acc
        return (dx,)


# ---- utilities ------------------------------------------------------------------------------


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
