"""Core layers: Dense, Activation, Dropout, Flatten, Reshape."""

from __future__ import annotations

import numpy as np

from zoo.engine import functional as F
from zoo.keras import activations
from zoo.keras.layers.base import Layer, check_positive_int

__all__ = ["Dense", "Activation", "Dropout", "Flatten", "Reshape"]


class Dense(Layer):
    """Fully connected layer: `y = activation(x @ kernel + bias)` over the last axis.

    Args:
        units: positive int, size of the output's last axis (Keras 1: `output_dim`).
        activation: name or callable (None: linear).
        use_bias: add a bias (Keras 1: `bias`).
        kernel_initializer / bias_initializer (Keras 1: `init`), kernel_regularizer / bias_regularizer
        (Keras 1: `W_regularizer` / `b_regularizer`).
    Input shape: (batch, ..., d). Output shape: (batch, ..., units).
    Example:
        >>> from zoo.keras.models import Sequential
        >>> Sequential([Dense(4, input_shape=(8,))]).output_shape
        (None, 4)
    """

    def __init__(self, units: int | None = None, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, output_dim: int | None = None, init=None, W_regularizer=None,
                 b_regularizer=None, bias: bool | None = None, **kwargs):
        super().__init__(**kwargs)
        units = units if units is not None else output_dim
        self.units = check_positive_int(self, "units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias if bias is None else bias)
        self.kernel_initializer = init if init is not None else kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = W_regularizer if W_regularizer is not None else kernel_regularizer
        self.bias_regularizer = b_regularizer if b_regularizer is not None else bias_regularizer

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise self.error(f"expected input of rank >= 2 with a known last axis, got shape {input_shape}")
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.units,), self.bias_initializer, regularizer=self.bias_regularizer)
                     if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def call(self, x):
        if x.shape[-1] != self.kernel.shape[0]:
            raise self.error(f"expected last input axis {self.kernel.shape[0]}, got input shape {x.shape}")
        kind = self.activation.fusable_kind
        if self.bias is not None and kind is not None:
            return F.bias_act(F.linear(x, self.kernel), self.bias, kind, axis=-1)
        return self.activation(F.linear(x, self.kernel, self.bias))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.name(self.activation),
                "use_bias": self.use_bias}


class Activation(Layer):
    """Applies an activation by name (e.g. 'relu', 'softmax') or a callable."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, x):
        return self.activation(x)

    def get_config(self):
        return {**super().get_config(), "activation": activations.name(self.activation)}


class Dropout(Layer):
    """Inverted dropout: in training, zero each element with probability `rate`, scale the rest by 1/(1-rate).

    Keras 1 / Analytics Zoo spell `rate` as `p`. Identity in inference.
    """

    def __init__(self, rate: float | None = None, noise_shape=None, seed: int | None = None, p: float | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        rate = rate if rate is not None else p
        if rate is None or not (isinstance(rate, (int, float)) and 0 <= rate < 1):
            raise ValueError(f"Dropout '{self.name}': rate must be a float in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed

    def call(self, x):
        return F.dropout(x, self.rate, self.noise_shape) if self.rate > 0 else x

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape)}


class Flatten(Layer):
    """Flattens all axes but the batch axis: (batch, d1, d2, ...) -> (batch, d1*d2*...)."""

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if any(d is None for d in rest) else int(np.prod(rest)))

    def call(self, x):
        return F.flatten(x)


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (batch axis excluded; one -1 allowed)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(v) for v in target_shape)
        if sum(1 for v in self.target_shape if v == -1) > 1:
            raise ValueError(f"Reshape '{self.name}': at most one -1 in target_shape, got {self.target_shape}")

    def call(self, x):
        return F.reshape(x, (0,) + self.target_shape)  # 0: keep the batch axis

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}

