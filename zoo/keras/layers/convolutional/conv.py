"""Convolutions 1-D/2-D/3-D (strided, dilated, grouped, explicit padding): the shared `_Conv`
base of the convolution family and Conv1D, Conv2D, Conv3D.

The engine is channels-first; a channels-last layer transposes at its edges. Weights move in
Keras's layout (get_weights/set_weights): a Conv2D kernel is (kh, kw, in/groups, filters).
"""

from __future__ import annotations

import numpy as np

from zoo.engine import functional as F
from zoo.engine.ops import conv3d as C3
from zoo.engine.ops import conv_extra as CX
from zoo.keras import activations
from zoo.keras.layers.base import (
    Layer,
    check_positive_int,
    kernel_from_keras,
    kernel_keras_shape,
    kernel_to_keras,
    to_channels_first,
    to_channels_last,
    to_tuple,
)

__all__ = ["Conv1D", "Conv2D", "Conv3D"]


def _padding(layer, padding, rank: int, explicit: bool = True):
    """'valid' | 'same' (| 'causal' for 1-D) or, when `explicit`, rank (before, after) pairs."""
    allowed = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
    if isinstance(padding, str) and padding.lower() in allowed:
        return padding.lower()
    if explicit and not isinstance(padding, str):
        try:
            return C3.parse_padding(padding, rank, "")
        except ValueError:
            pass
    extra = f", a non-negative int, {rank} of them or {rank} (before, after) pairs" if explicit else ""
    raise layer.error(f"padding must be one of {allowed}{extra}, got {padding!r}")


def _padding_config(p):
    return p if isinstance(p, str) else [list(v) for v in p]


def conv_config(layer: Layer) -> dict:
    """The config entries every convolution-like layer has: filters, kernel_size, strides, padding, data_format."""
    return {"filters": layer.filters, "kernel_size": list(layer.kernel_size), "strides": list(layer.strides),
            "padding": _padding_config(layer.padding), "data_format": layer.data_format}


class _Conv(Layer):
    """Shared parts of the convolution layers: arguments, channel checks, data format edges,
    the fused bias + activation, and the engine (O, I, k...) <-> Keras (k..., I, O) kernel layout."""

    rank = 2
    default_format = None  # None: the global image_data_format

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups: int = 1, activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 propagate_back: bool = True, **kwargs):
        super().__init__(**kwargs)
        n = self.rank
        if not isinstance(propagate_back, (bool, np.bool_)):
            raise TypeError(
                f"{type(self).__name__} '{self.name}': propagate_back must be a bool, got {propagate_back!r}"
            )
        self.propagate_back = bool(propagate_back)
        self.filters = None if filters is None else check_positive_int(self, "filters", filters)
        self.kernel_size = to_tuple(self, "kernel_size", kernel_size, n)
        self.strides = to_tuple(self, "strides", strides, n)
        self.dilation_rate = to_tuple(self, "dilation_rate", dilation_rate, n)
        self.padding = _padding(self, padding, n)
        self.groups = check_positive_int(self, "groups", groups)
        if self.filters is not None and self.filters % self.groups:
            raise self.error(f"groups={self.groups} does not divide filters={self.filters}")
        self.data_format = self._data_format(data_format, self.default_format)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer

    def _channels(self, input_shape) -> int:
        if len(input_shape) != self.rank + 2:
            raise self.error(f"expected input of rank {self.rank + 2}, got shape {tuple(input_shape)}")
        c = input_shape[1] if self.data_format == "channels_first" else input_shape[-1]
        if c is None:
            raise self.error(f"the channel axis must be known, got shape {tuple(input_shape)}")
        if c % self.groups:
            raise self.error(f"groups={self.groups} does not divide {c} input channels")
        return c

    def build(self, input_shape):
        c = self._channels(input_shape)
        self.kernel = self.add_weight(
            "kernel",
            (self.filters, c // self.groups) + self.kernel_size,
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self._build_bias(self.filters)

    def _build_bias(self, n: int) -> None:
        self.bias = (
            self.add_weight("bias", (n,), self.bias_initializer, regularizer=self.bias_regularizer)
            if self.use_bias
            else None
        )

    # engine kernel (O, I, k...) <-> Keras kernel (k..., I, O)
    def keras_weight_shape(self, name, shape):
        return kernel_keras_shape(shape) if name == "kernel" else shape

    def to_keras_weight(self, name, value):
        return kernel_to_keras(value) if name == "kernel" else value

    def from_keras_weight(self, name, value):
        return kernel_from_keras(value) if name == "kernel" else np.asarray(value, dtype=np.float32)

    def _conv(self, x, bias):
        raise NotImplementedError

    def call(self, x):
        self._channels(x.shape)
        if not self.propagate_back:
            x = F.apply_op(CX.BlockGradient(), [x])
        last = self.data_format == "channels_last"
        if last:
            x = to_channels_first(x, self.rank)
        kind = self.activation.fusable_kind
        if self.bias is not None and kind is not None and kind != "linear":
            y = F.bias_act(self._conv(x, None), self.bias, kind, axis=1)
        else:
            y = self.activation(self._conv(x, self.bias))
        if last:
            y = to_channels_last(y, self.rank)
        return y

    def get_config(self):
        return {
            **super().get_config(),
            **conv_config(self),
            "dilation_rate": list(self.dilation_rate),
            "groups": self.groups,
            "activation": activations.name(self.activation),
            "use_bias": self.use_bias,
            **({} if self.propagate_back else {"propagate_back": False}),
        }


class Conv2D(_Conv):
    """2-D convolution: `y = activation(conv(x, kernel) + bias)`.

    Args:
        filters: number of output channels. kernel_size: int or (kh, kw).
        strides, dilation_rate: int or pair. groups: divides the input channels and filters.
        padding: 'valid', 'same' (TF rule: output ceil(size / stride)), or explicit pads:
            an int, (ph, pw) or ((top, bottom), (left, right)).
        data_format: 'channels_first' ('th', default unless changed by
            `backend.set_image_data_format`) or 'channels_last' ('tf').
        activation, use_bias, kernel/bias initializer and regularizer: as Keras.
    Weights (get_weights): kernel (kh, kw, in/groups, filters), bias (filters,), as Keras.
    Input shape: (batch, C, H, W) or (batch, H, W, C).

    Example:
        >>> from zoo.keras.models import Sequential
        >>> Sequential([Conv2D(4, 3, padding="same", input_shape=(3, 8, 8))]).output_shape
        (None, 4, 8, 8)
    """

    rank = 2

    def _conv(self, x, bias):
        return F.conv2d(
            x,
            self.kernel,
            bias,
            strides=self.strides,
            padding=self.padding,
            dilation=self.dilation_rate,
            groups=self.groups,
        )


class Conv1D(_Conv):
    """1-D (temporal) convolution over (batch, steps, channels) (Keras) — channels-last by default.

    Args as Conv2D with ints for kernel_size, strides and dilation_rate; padding also
    'causal' (left pad (kernel_size - 1) * dilation_rate) or an explicit (left, right).
    Weights: kernel (kernel_size, in/groups, filters), bias (filters,).
    """

    rank = 1
    default_format = "channels_last"

    def _conv(self, x, bias):
        p = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(
            x,
            self.kernel,
            bias,
            strides=self.strides[0],
            padding=p,
            dilation=self.dilation_rate[0],
            groups=self.groups,
        )


class Conv3D(_Conv):
    """3-D convolution over (batch, C, D, H, W) (or (batch, D, H, W, C) channels-last).

    Args as Conv2D with triples; explicit padding is ((front, back), (top, bottom), (left, right)).
    Weights: kernel (kd, kh, kw, in/groups, filters), bias (filters,).

    Example:
        >>> from zoo.keras.models import Sequential
        >>> Sequential([Conv3D(4, 3, input_shape=(2, 5, 6, 7))]).output_shape
        (None, 4, 3, 4, 5)
    """

    rank = 3

    def _conv(self, x, bias):
        op = C3.Conv3D(self.strides, self.padding, self.dilation_rate, self.groups)
        return F.apply_op(op, [x, self.kernel] if bias is None else [x, self.kernel, bias])
