"""Elementwise layers (Analytics Zoo / Torch style): fixed math (Exp, Log, Sqrt, Square, Identity,
Power, AddConstant, MulConstant), learned per-element terms (CAdd, CMul, Scale, Mul) and the VAE
GaussianSampler. Shapes are unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine import functional as F
from zoo.engine.ops import elementwise as E
from zoo.engine.ops import misc as M
from zoo.keras import backend
from zoo.keras.initializers import Initializer
from zoo.keras.layers.base import Layer

__all__ = [
    "AddConstant",
    "CAdd",
    "CMul",
    "Exp",
    "GaussianSampler",
    "Identity",
    "Log",
    "Mul",
    "MulConstant",
    "Power",
    "Scale",
    "Sqrt",
    "Square",
]


def _num(layer: Layer, what: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
        raise layer.error(f"{what} must be a finite number, got {v!r}")
    return float(v)


class _FanUniform(Initializer):
    """U(-1/sqrt(n), 1/sqrt(n)) with n the number of elements (BigDL's CAdd/CMul/Mul reset)."""

    name = "fan_uniform"

    def __call__(self, shape):
        lim = 1.0 / math.sqrt(max(1, int(np.prod(shape))))
        return backend.rng().uniform(-lim, lim, shape).astype(np.float32)


class _Unary(Layer):
    op = None

    def call(self, x):
        return F.apply_op(self.op(), [x])


class Exp(_Unary):
    """y = exp(x)."""

    op = E.Exp


class Log(_Unary):
    """y = log(x)."""

    op = E.Log


class Sqrt(_Unary):
    """y = sqrt(x)."""

    op = E.Sqrt


class Square(_Unary):
    """y = x^2."""

    op = E.Square


class Identity(Layer):
    """y = x."""

    def call(self, x):
        return F.activation(x, "linear")


class Power(Layer):
    """y = (shift + scale * x) ^ power."""

    def __init__(self, power: float, scale: float = 1.0, shift: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.power = _num(self, "power", power)
        self.scale = _num(self, "scale", scale)
        self.shift = _num(self, "shift", shift)

    def call(self, x):
        if self.scale != 1.0:
            x = F.mul(x, self.scale)
        if self.shift != 0.0:
            x = F.add(x, self.shift)
        if self.power != 1.0:
            x = F.pow(x, self.power)
        elif self.scale == 1.0 and self.shift == 0.0:
            x = F.activation(x, "linear")
        return x

    def get_config(self):
        return {**super().get_config(), "power": self.power, "scale": self.scale, "shift": self.shift}


class AddConstant(Layer):
    """y = x + constant."""

    def __init__(self, constant: float, **kwargs):
        super().__init__(**kwargs)
        self.constant = _num(self, "constant", constant)

    def call(self, x):
        return F.add(x, self.constant)

    def get_config(self):
        return {**super().get_config(), "constant": self.constant}


class MulConstant(Layer):
    """y = x * constant."""

    def __init__(self, constant: float, **kwargs):
        super().__init__(**kwargs)
        self.constant = _num(self, "constant", constant)

    def call(self, x):
        return F.mul(x, self.constant)

    def get_config(self):
        return {**super().get_config(), "constant": self.constant}


class _Sized(Layer):
    """A layer with learned terms of shape `size`, broadcast over the input (numpy rules, right-aligned:
    a size of the input's per-sample rank is per sample; a size of the full rank must have 1 first)."""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        t = (size,) if isinstance(size, (int, np.integer)) else size
        try:
            t = tuple(t)
        except TypeError:
            t = None
        if not t or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in t):
            raise self.error(f"size must be a positive int or a tuple of them, got {size!r}")
        self.size = tuple(int(v) for v in t)

    def _check_size(self, input_shape) -> None:
        s, x = self.size, tuple(input_shape)
        ok = len(s) <= len(x) and (len(s) < len(x) or s[0] == 1)
        if ok:
            for a, b in zip(reversed(s), reversed(x)):
                if a != 1 and a != b:
                    ok = False
        if not ok:
            raise self.error(f"size {s} does not broadcast to the input shape {x} without changing it "
                             f"(each size entry must be 1 or the input's; the batch axis must be 1)")

    def get_config(self):
        return {**super().get_config(), "size": list(self.size)}


class CAdd(_Sized):
    """y = x + bias, bias of shape `size` broadcast over the input. Weights (get_weights): bias."""

    def __init__(self, size, b_regularizer=None, bias_initializer=None, **kwargs):
        super().__init__(size, **kwargs)
        self.b_regularizer = b_regularizer
        self.bias_initializer = bias_initializer

    def build(self, input_shape):
        self._check_size(input_shape)
        self.bias = self.add_weight("bias", self.size, self.bias_initializer or _FanUniform(),
                                    regularizer=self.b_regularizer)

    def call(self, x):
        return F.add(x, self.bias)


class CMul(_Sized):
    """y = x * weight, weight of shape `size` broadcast over the input. Weights (get_weights): weight."""

    def __init__(self, size, W_regularizer=None, kernel_initializer=None, **kwargs):
        super().__init__(size, **kwargs)
        self.W_regularizer = W_regularizer
        self.kernel_initializer = kernel_initializer

    def build(self, input_shape):
        self._check_size(input_shape)
        self.weight = self.add_weight("weight", self.size, self.kernel_initializer or _FanUniform(),
                                      regularizer=self.W_regularizer)

    def call(self, x):
        return F.mul(x, self.weight)


class Scale(_Sized):
    """y = x * weight + bias, both of shape `size` broadcast over the input (CMul then CAdd).
    Weights (get_weights): weight, bias."""

    def build(self, input_shape):
        self._check_size(input_shape)
        self.weight = self.add_weight("weight", self.size, _FanUniform())
        self.bias = self.add_weight("bias", self.size, _FanUniform())

    def call(self, x):
        return F.add(F.mul(x, self.weight), self.bias)


class Mul(Layer):
    """y = x * w with one learned scalar w (shape (1,)), initialised U(-1, 1)."""

    def build(self, input_shape):
        self.weight = self.add_weight("weight", (1,), _FanUniform())

    def call(self, x):
        return F.mul(x, self.weight)


class GaussianSampler(Layer):
    """Input [mean, log_var] of the same shape; y = mean + exp(log_var / 2) * e with e ~ N(0, 1),
    drawn in training and inference alike (the VAE reparameterisation; seeded by the model's seed)."""

    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) != 2:
            raise self.error(f"expected a list of 2 inputs [mean, log_var], got {input_shape!r}")
        if tuple(input_shape[0]) != tuple(input_shape[1]):
            raise self.error(f"expected mean and log_var of the same shape, got {tuple(input_shape[0])} and "
                             f"{tuple(input_shape[1])}")

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def call(self, xs):
        if not isinstance(xs, list) or len(xs) != 2:
            raise self.error(f"expected a list of 2 inputs [mean, log_var], got {xs!r}")
        return F.apply_op(M.GaussianSample(), xs)
