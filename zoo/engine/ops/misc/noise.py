"""Noise ops: GaussianNoise, GaussianDropout, AlphaDropout and GaussianSample. Random draws come
from `ctx.rng`, so a seeded executor repeats them.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine.ops.activation import SELU_ALPHA, SELU_SCALE
from zoo.engine.ops.base import Ctx, Op, register
from zoo.engine.ops.misc._common import _float, _is_int, _number


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
