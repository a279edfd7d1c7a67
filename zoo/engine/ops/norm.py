"""Normalization and dropout: BatchNorm and Dropout (C kernels, csrc/norm.c and csrc/dropout.c) and LRN (numpy).

All ops accept float32 and float64 inputs of any rank; the channel axis is an attribute
(1 for NCHW, -1 for (N, F) or NHWC).
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine.kernels import act as KA
from zoo.engine.kernels import norm as K
from zoo.engine.ops.base import Ctx, Op, register

__all__ = ["LRN", "BatchNorm", "Dropout"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _float_input(who: str, x, name: str = "input") -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{who}: expected a numpy array as {name}, got {type(x).__name__}")
    if x.dtype not in _FLOATS:
        raise TypeError(f"{who}: expected a float32 or float64 {name}, got dtype {x.dtype}")
    return x if x.flags.c_contiguous else np.ascontiguousarray(x)


def _grad_like(gy, ref: np.ndarray) -> np.ndarray:
    if isinstance(gy, np.ndarray) and gy.dtype == ref.dtype and gy.flags.c_contiguous:
        return gy
    return np.ascontiguousarray(gy, dtype=ref.dtype)


def _int_axis(who: str, axis) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{who}: axis must be an int, got {axis!r}")
    return int(axis)


def _number(
    who: str,
    name: str,
    v,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    if (
        isinstance(v, bool)
        or not isinstance(v, (int, float, np.integer, np.floating))
        or not math.isfinite(v)
    ):
        raise ValueError(f"{who}: {name} must be a finite number, got {v!r}")
    v = float(v)
    bad = (low is not None and (v < low or (low_open and v == low))) or (
        high is not None and (v > high or (high_open and v == high))
    )
    if bad:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(f"{who}: {name} must be in {lo}{low}, {high}{hi}, got {v!r}")
    return v


class _AxisOp(Op):
    """An op with a channel `axis` attribute, resolved per input rank and cached."""

    def _set_axis(self, axis) -> None:
        self._who = type(self).__name__
        self.axis = _int_axis(self._who, axis)
        self._ndim = -1
        self._ax = 0

    def _axis(self, ndim: int) -> int:
        if ndim != self._ndim:
            if not -ndim <= self.axis < ndim:
                raise ValueError(f"{self._who}: axis {self.axis} is out of range for an input of rank {ndim}")
            self._ax, self._ndim = self.axis % ndim, ndim
        return self._ax


@register
class BatchNorm(_AxisOp):
    """Batch normalization over all axes but the channel `axis`.

    y = (x - mean) / sqrt(var + epsilon) * gamma + beta, per channel c.

    Inputs: x (..., C, ...) with C at `axis`; gamma, beta, running_mean, running_var (C,).
    Output: the shape of x.

    Training mode (ctx.training) uses the batch mean and biased (population) variance and
    updates the running statistics IN PLACE, as tf.keras (Keras 3) does:
    running_mean = momentum * running_mean + (1 - momentum) * mean, and the same for
    running_var with the biased variance. Inference mode uses the running statistics and
    changes nothing. The running statistics get no gradient (nondiff_inputs = (3, 4)); to
    update them they must have x's dtype. Defaults follow Keras: epsilon=1e-3, momentum=0.99.
    `activation="relu"` applies max(y, 0) in the same pass (and its gradient in backward).
    """

    type_name = "batch_norm"
    nondiff_inputs = (3, 4)

    def __init__(
        self, axis: int = 1, epsilon: float = 1e-3, momentum: float = 0.99, activation: str | None = None
    ):
        self._set_axis(axis)
        self.epsilon = _number(self._who, "epsilon", epsilon, 0.0, None)
        self.momentum = _number(self._who, "momentum", momentum, 0.0, 1.0)
        if activation not in (None, "linear", "relu"):
            raise ValueError(f"{self._who}: activation must be None, 'linear' or 'relu', got {activation!r}")
        self.activation = None if activation == "linear" else activation
        self._relu = activation == "relu"

    def get_config(self) -> dict:
        return {
            "axis": self.axis,
            "epsilon": self.epsilon,
            "momentum": self.momentum,
            "activation": self.activation,
        }

    def infer_shape(self, x, gamma, beta, mean, var):
        ax = self._axis(len(x))
        c = x[ax]
        for name, s in (("gamma", gamma), ("beta", beta), ("running_mean", mean), ("running_var", var)):
            if len(s) != 1 or (c is not None and s[0] is not None and s[0] != c):
                raise ValueError(
                    f"expected {name} of shape ({c},) for input shape {tuple(x)} and axis {self.axis}, "
                    f"got {tuple(s)}"
                )
        return tuple(x)

    def forward(self, ctx: Ctx, x, gamma, beta, running_mean, running_var):
        who = self._who
        x = _float_input(who, x)
        st = getattr(ctx, "bn_state", None)  # (shape, dtype, layout, y, mean, invstd) of the last call
        if st is None or st[0] != x.shape or st[1] is not x.dtype:
            ax = self._axis(x.ndim)
            c, dt = x.shape[ax], x.dtype
            st = (x.shape, dt, KA.layout(x.shape, ax), ctx.buf("y", x.shape, dt), ctx.buf("mean", (c,), dt),
                  ctx.buf("invstd", (c,), dt))  # fmt: skip
            ctx.bn_state = st
        _, _, lay, y, sm, si = st
        params = (gamma, beta, running_mean, running_var)
        try:  # the kernel refuses parameters of another dtype or size; then check and cast them
            K.bn_forward(x, *params, lay, self.epsilon, self.momentum, ctx.training, y, sm, si, relu=self._relu,
                         who=who)
        except KA.REFUSED:
            params = self._fix_params(ctx, x, self._axis(x.ndim), params)
            K.bn_forward(x, *params, lay, self.epsilon, self.momentum, ctx.training, y, sm, si, relu=self._relu,
                         who=who)
        ctx.x, ctx.gamma, ctx.mean, ctx.invstd = x, params[0], sm, si
        ctx.lay, ctx.trained = lay, bool(ctx.training)
        return y

    def _fix_params(self, ctx: Ctx, x: np.ndarray, ax: int, params: tuple) -> tuple:
        """Check gamma, beta and the running statistics; cast gamma/beta (and read-only stats) to x's dtype."""
        who, c, dt = self._who, x.shape[ax], x.dtype
        out = []
        for name, v in zip(("gamma", "beta", "running_mean", "running_var"), params):
            if (
                ctx.training
                and name.startswith("running")
                and isinstance(v, np.ndarray)
                and not (v.flags.c_contiguous and v.flags.writeable)
            ):
                raise ValueError(
                    f"{who}: {name} must be a writable C-contiguous array to be updated in place"
                )
            v = _float_input(who, v, name)
            if v.shape != (c,):
                raise ValueError(
                    f"{who}: expected {name} of shape ({c},) for input shape {x.shape} and axis "
                    f"{self.axis}, got {v.shape}"
                )
            if v.dtype != dt:
                if ctx.training and name.startswith("running"):
                    raise TypeError(
                        f"{who}: {name} must have the input's dtype {dt} to be updated in place, "
                        f"got {v.dtype}"
                    )
                v = v.astype(dt)
            out.append(v)
        return tuple(out)

    def backward(self, ctx: Ctx, gy):
        flags = ctx.needs_grad
        if not (flags[0] or flags[1] or flags[2]):
            return None, None, None, None, None
        x = ctx.x
        gy = _grad_like(gy, x)
        c = ctx.lay[1]
        dx = ctx.buf("dx", x.shape, x.dtype) if flags[0] else None
        dg = ctx.buf("dgamma", (c,), x.dtype) if flags[1] else None
        db = ctx.buf("dbeta", (c,), x.dtype) if flags[2] else None
        y = ctx.bn_state[3] if self._relu else None
        K.bn_backward(
            gy, x, ctx.gamma, ctx.mean, ctx.invstd, ctx.lay, ctx.trained, dx, dg, db, y=y, who=self._who
        )
        return dx, dg, db, None, None


@register
class Dropout(Op):
    """Inverted dropout: in training y = x * m / (1 - rate), m ~ Bernoulli(1 - rate); else y = x.

    Input and output: the same shape (...). `noise_shape` (None for x's shape) draws one mask
    value per position of a smaller shape broadcast over x: entries are ints (1 to share the
    draw along that axis) or None (x's size), e.g. (None, None, 1, 1) drops whole channels of
    NCHW maps (SpatialDropout2D). The mask comes from ctx.rng: the same seed gives the same
    masks. Backward multiplies by the saved mask.
    """

    type_name = "dropout"

    def __init__(self, rate: float, noise_shape=None):
        who = type(self).__name__
        if (
            isinstance(rate, bool)
            or not isinstance(rate, (int, float, np.integer, np.floating))
            or not 0 <= rate < 1
        ):
            raise ValueError(f"{who}: rate must be a number in [0, 1), got {rate!r}")
        self.rate = float(rate)
        if noise_shape is not None:
            ns = tuple(noise_shape)
            for s in ns:
                if s is not None and (isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1):
                    raise ValueError(
                        f"{who}: noise_shape must hold positive ints or None, got {noise_shape!r}"
                    )
            noise_shape = tuple(None if s is None else int(s) for s in ns)
        self.noise_shape = noise_shape
        self._who = who

    def get_config(self) -> dict:
        return {
            "rate": self.rate,
            "noise_shape": None if self.noise_shape is None else list(self.noise_shape),
        }

    def _resolve_noise(self, shape: tuple) -> tuple:
        ns = self.noise_shape
        if len(ns) != len(shape):
            raise ValueError(
                f"{self._who}: noise_shape {ns} has rank {len(ns)}, expected the input's rank "
                f"{len(shape)} (input shape {tuple(shape)})"
            )
        out = []
        for s, d in zip(ns, shape):
            if s is None:
                out.append(d)
            elif s == 1 or d is None or s == d:
                out.append(s)
            else:
                raise ValueError(
                    f"{self._who}: noise_shape {ns} does not broadcast to input shape {tuple(shape)}; "
                    f"each entry must be None, 1 or the input's size"
                )
        return tuple(out)

    def infer_shape(self, x):
        if self.noise_shape is not None:
            self._resolve_noise(tuple(x))
        return tuple(x)

    def forward(self, ctx: Ctx, x):
        x = _float_input(self._who, x)
        if not ctx.training or self.rate == 0.0:
            ctx.mode = 0
            return x
        key = ctx.rng.bit_generator.random_raw()
        y = ctx.buf("y", x.shape, x.dtype)
        if self.noise_shape is None:
            mask = ctx.buf("mask", x.shape, np.uint8)
            K.dropout_forward(x, self.rate, key, y, mask, who=self._who)
            ctx.mode = 1
        else:
            m = ctx.buf("m", self._resolve_noise(x.shape), x.dtype)
            K.dropout_mask(m, self.rate, key, who=self._who)
            np.multiply(x, m, out=y)
            ctx.mode = 2
        ctx.shape, ctx.dtype = x.shape, x.dtype
        return y

    def backward(self, ctx: Ctx, gy):
        if not ctx.needs_grad[0]:
            return (None,)
        if ctx.mode == 0:
            return (gy,)
        dx = ctx.buf("dx", ctx.shape, ctx.dtype)
        if ctx.mode == 1:
            gy = _grad_like(gy, dx)
            K.dropout_backward(gy, ctx.buf("mask", ctx.shape, np.uint8), self.rate, dx, who=self._who)
        else:
            np.multiply(gy, ctx.buf("m", self._resolve_noise(ctx.shape), ctx.dtype), out=dx)
        return (dx,)


@register
class LRN(_AxisOp):
    """Local response normalization across channels (Caffe / BigDL SpatialCrossMapLRN):

    y = x / (k + alpha / size * sum_{c' in W(c)} x[c']^2) ^ beta,
    W(c) = [c - (size - 1) // 2, c - (size - 1) // 2 + size - 1] clipped to the channels.

    Input and output: (N, C, ...) with the channels at `axis` (default 1). tf.nn.
    local_response_normalization(depth_radius=r, bias=k, alpha=a, beta=b) equals size = 2r + 1,
    alpha = a * size.
    """

    type_name = "lrn"

    def __init__(self, size: int = 5, alpha: float = 1.0, beta: float = 0.75, k: float = 1.0, axis: int = 1):
        self._set_axis(axis)
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"{self._who}: size must be a positive int, got {size!r}")
        self.size = int(size)
        self.alpha = _number(self._who, "alpha", alpha)
        self.beta = _number(self._who, "beta", beta)
        self.k = _number(self._who, "k", k)

    def get_config(self) -> dict:
        return {"size": self.size, "alpha": self.alpha, "beta": self.beta, "k": self.k, "axis": self.axis}

    def infer_shape(self, x):
        self._axis(len(x))
        return tuple(x)

    def _window_sum(self, ctx: Ctx, key: str, a: np.ndarray, before: int) -> np.ndarray:
        """out[:, c] = sum of a[:, c - before + j], j < size, zero outside the channels."""
        o, c, i = a.shape
        pad = ctx.zeros(key + "_pad", (o, c + self.size - 1, i), a.dtype)
        pad[:, before : before + c] = a
        out = ctx.buf(key, a.shape, a.dtype)
        np.copyto(out, pad[:, :c])
        for j in range(1, self.size):
            out += pad[:, j : j + c]
        return out

    def forward(self, ctx: Ctx, x):
        x = _float_input(self._who, x)
        lay = KA.layout(x.shape, self._axis(x.ndim))
        x3 = x.reshape(lay)
        pre = (self.size - 1) // 2
        sq = ctx.buf("sq", lay, x.dtype)
        np.multiply(x3, x3, out=sq)
        scale = self._window_sum(ctx, "scale", sq, pre)
        scale *= self.alpha / self.size
        scale += self.k
        y = ctx.buf("y", lay, x.dtype)
        np.power(scale, -self.beta, out=y)
        y *= x3
        ctx.x3, ctx.shape = x3, x.shape
        return y.reshape(x.shape)

    def backward(self, ctx: Ctx, gy):
        if not ctx.needs_grad[0]:
            return (None,)
        x3 = ctx.x3
        lay = x3.shape
        gy = _grad_like(gy, x3).reshape(lay)
        scale, y = ctx.buf("scale", lay, x3.dtype), ctx.buf("y", lay, x3.dtype)
        pre = (self.size - 1) // 2
        # dx = dy scale^-beta - 2 alpha beta / size * x * sum_{c': c in W(c')} dy[c'] y[c'] / scale[c']
        t = ctx.buf("t", lay, x3.dtype)
        np.multiply(gy, y, out=t)
        t /= scale
        acc = self._window_sum(ctx, "acc", t, self.size - 1 - pre)
        acc *= x3
        acc *= -2.0 * self.alpha * self.beta / self.size
        dx = ctx.buf("dx", lay, x3.dtype)
        np.power(scale, -self.beta, out=dx)
        dx *= gy
        dx += acc
        return (dx.reshape(ctx.shape),)
