"""Regression losses: elementwise, l = mean over the last axis of f(y_pred, y_true).

MSE, MAE, MAPE, MSLE, Huber, SmoothL1, LogCosh and Poisson.
"""

from __future__ import annotations

import numpy as np

from zoo.engine.losses.base import _LOG2, EPSILON, _as_float, _Elementwise, _register


@_register("mean_squared_error", "MSE", "MSECriterion")
class MeanSquaredError(_Elementwise):
    """l = mean((y_pred - y_true)^2, axis=-1); y_pred, y_true (N, ..., d) -> l (N, ...)."""

    name = "mse"

    def _f(self, ctx, p, t):
        d = ctx.buf("d", p.shape, p.dtype)
        np.subtract(p, t, out=d)
        f = ctx.buf("f", p.shape, p.dtype)
        return np.multiply(d, d, out=f)

    def _df(self, ctx, p, t, out):
        np.multiply(ctx.buf("d", p.shape, p.dtype), 2.0, out=out)


@_register("mean_absolute_error", "MAE", "AbsCriterion")
class MeanAbsoluteError(_Elementwise):
    """l = mean(|y_pred - y_true|, axis=-1); y_pred, y_true (N, ..., d) -> l (N, ...)."""

    name = "mae"

    def _f(self, ctx, p, t):
        d = ctx.buf("d", p.shape, p.dtype)
        np.subtract(p, t, out=d)
        return np.abs(d, out=ctx.buf("f", p.shape, p.dtype))

    def _df(self, ctx, p, t, out):
        np.sign(ctx.buf("d", p.shape, p.dtype), out=out)


@_register("mean_absolute_percentage_error", "MAPE", "MeanAbsolutePercentageCriterion")
class MeanAbsolutePercentageError(_Elementwise):
    """l = 100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7), axis=-1)."""

    name = "mape"

    def _f(self, ctx, p, t):
        den = ctx.buf("den", p.shape, p.dtype)
        np.abs(t, out=den)
        np.maximum(den, EPSILON, out=den)
        d = ctx.buf("d", p.shape, p.dtype)
        np.subtract(p, t, out=d)
        f = ctx.buf("f", p.shape, p.dtype)
        np.abs(d, out=f)
        np.divide(f, den, out=f)
        return np.multiply(f, 100.0, out=f)

    def _df(self, ctx, p, t, out):
        np.sign(ctx.buf("d", p.shape, p.dtype), out=out)
        np.divide(out, ctx.buf("den", p.shape, p.dtype), out=out)
        np.multiply(out, 100.0, out=out)


@_register("mean_squared_logarithmic_error", "MSLE", "MeanSquaredLogarithmicCriterion")
class MeanSquaredLogarithmicError(_Elementwise):
    """l = mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))^2, axis=-1)."""

    name = "msle"

    def _f(self, ctx, p, t):
        a = ctx.buf("a", p.shape, p.dtype)  # max(p, eps) + 1, kept for backward
        np.maximum(p, EPSILON, out=a)
        a += 1.0
        d = ctx.buf("d", p.shape, p.dtype)
        np.log(a, out=d)
        f = ctx.buf("f", p.shape, p.dtype)
        np.maximum(t, EPSILON, out=f)
        f += 1.0
        np.log(f, out=f)
        d -= f
        return np.multiply(d, d, out=f)

    def _df(self, ctx, p, t, out):
        # d/dp = 2 (log a - log b) / a where p >= eps (the max passes its gradient to p on ties)
        np.divide(ctx.buf("d", p.shape, p.dtype), ctx.buf("a", p.shape, p.dtype), out=out)
        out *= 2.0
        out *= p >= EPSILON


@_register("huber_loss")
class Huber(_Elementwise):
    """l = mean(h(y_pred - y_true), axis=-1), h(e) = e^2/2 if |e| <= delta else delta (|e| - delta/2).

    Args:
        delta: positive float, where the quadratic part turns linear.
    """

    name = "huber"

    def __init__(self, delta: float = 1.0, reduction: str = "sum_over_batch_size"):
        super().__init__(reduction)
        self.delta = _as_float(type(self).__name__, "delta", delta)
        if self.delta <= 0:
            raise ValueError(f"{type(self).__name__}: delta must be positive, got {delta!r}")
        self._scale = 1.0

    def get_config(self) -> dict:
        return {"delta": self.delta, **super().get_config()}

    def _f(self, ctx, p, t):
        d = ctx.buf("d", p.shape, p.dtype)
        np.subtract(p, t, out=d)
        a = ctx.buf("a", p.shape, p.dtype)
        np.abs(d, out=a)
        q = ctx.buf("f", p.shape, p.dtype)
        np.minimum(a, self.delta, out=q)  # h = q (|e| - q/2), q = min(|e|, delta)
        h = ctx.buf("h", p.shape, p.dtype)
        np.multiply(q, 0.5, out=h)
        a -= h
        np.multiply(q, a, out=q)
        if self._scale != 1.0:
            q *= self._scale
        return q

    def _df(self, ctx, p, t, out):
        np.clip(ctx.buf("d", p.shape, p.dtype), -self.delta, self.delta, out=out)
        if self._scale != 1.0:
            out *= self._scale


@_register("smooth_l1_loss", "SmoothL1Criterion")
class SmoothL1(Huber):
    """BigDL's SmoothL1Criterion: l = mean(s(y_pred - y_true), axis=-1) with
    s(e) = (sigma e)^2 / 2 if |e| < 1/sigma^2 else |e| - 1/(2 sigma^2), i.e. sigma^2 Huber(delta=1/sigma^2).

    sigma=1 (default) equals Huber(delta=1).
    """

    name = "smooth_l1"

    def __init__(self, sigma: float = 1.0, reduction: str = "sum_over_batch_size"):
        sigma = _as_float(type(self).__name__, "sigma", sigma)
        if sigma <= 0:
            raise ValueError(f"{type(self).__name__}: sigma must be positive, got {sigma!r}")
        super().__init__(1.0 / (sigma * sigma), reduction)
        self.sigma = sigma
        self._scale = sigma * sigma

    def get_config(self) -> dict:
        return {"sigma": self.sigma, "reduction": self.reduction}


@_register("log_cosh")
class LogCosh(_Elementwise):
    """l = mean(log(cosh(y_pred - y_true)), axis=-1), computed as |e| + log1p(exp(-2|e|)) - log 2."""

    name = "logcosh"

    def _f(self, ctx, p, t):
        d = ctx.buf("d", p.shape, p.dtype)
        np.subtract(p, t, out=d)
        f = ctx.buf("f", p.shape, p.dtype)
        a = ctx.buf("a", p.shape, p.dtype)
        np.abs(d, out=a)
        np.multiply(a, -2.0, out=f)
        np.exp(f, out=f)
        np.log1p(f, out=f)
        f += a
        f -= _LOG2
        return f

    def _df(self, ctx, p, t, out):
        np.tanh(ctx.buf("d", p.shape, p.dtype), out=out)


@_register("PoissonCriterion")
class Poisson(_Elementwise):
    """l = mean(y_pred - y_true log(y_pred + 1e-7), axis=-1)."""

    name = "poisson"

    def _f(self, ctx, p, t):
        a = ctx.buf("a", p.shape, p.dtype)
        np.add(p, EPSILON, out=a)
        f = ctx.buf("f", p.shape, p.dtype)
        np.log(a, out=f)
        f *= t
        return np.subtract(p, f, out=f)

    def _df(self, ctx, p, t, out):
        np.divide(t, ctx.buf("a", p.shape, p.dtype), out=out)
        np.subtract(1.0, out, out=out)
