"""Convolution layers (channels-first by default, as Analytics Zoo; channels-last as Keras)."""

from __future__ import annotations

import numpy as np

from zoo.engine import functional as F
from zoo.keras import activations, backend
from zoo.keras.layers.base import Layer, check_positive_int, to_tuple

__all__ = ["Conv2D", "Convolution2D", "Conv1D", "Convolution1D"]


def _padding(layer, padding) -> str:
    p = str(padding).lower()
    if p not in ("valid", "same"):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': padding must be 'valid' or 'same', got {padding!r}")
    return p


class Conv2D(Layer):
    """2-D convolution: `y = activation(conv(x, kernel) + bias)`.

    Args:
        filters: number of output channels. kernel_size: int or (kh, kw).
        strides, dilation_rate: int or pair. padding: 'valid' or 'same'. groups: divides channels.
        data_format: 'channels_first' ('th', default unless changed by
            `backend.set_image_data_format`) or 'channels_last' ('tf').
    Weights (get_weights): kernel (kh, kw, in/groups, filters), bias (filters,), as Keras.
    Input shape: (batch, C, H, W) or (batch, H, W, C).
    """

    rank = 2

    def __init__(self, filters: int, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups: int = 1, activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        n = self.rank
        self.filters = check_positive_int(self, "filters", filters)
        self.kernel_size = to_tuple(self, "kernel_size", kernel_size, n)
        self.strides = to_tuple(self, "strides", strides, n)
        self.dilation_rate = to_tuple(self, "dilation_rate", dilation_rate, n)
        self.padding = _padding(self, padding)
        self.groups = check_positive_int(self, "groups", groups)
        if self.filters % self.groups:
            raise ValueError(f"{type(self).__name__} '{self.name}': groups={self.groups} does not divide "
                             f"filters={self.filters}")
        self.data_format = backend.normalize_data_format(data_format, f"{type(self).__name__} '{self.name}'")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer

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
        self.kernel = self.add_weight("kernel", (self.filters, c // self.groups) + self.kernel_size,
                                      self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer, regularizer=self.bias_regularizer)
                     if self.use_bias else None)

    # engine kernel (O, I, k...) <-> Keras kernel (k..., I, O)
    def keras_weight_shape(self, name, shape):
        return tuple(shape[2:]) + (shape[1], shape[0]) if name == "kernel" else shape

    def to_keras_weight(self, name, value):
        if name != "kernel":
            return value
        return np.ascontiguousarray(np.transpose(value, tuple(range(2, value.ndim)) + (1, 0)))

    def from_keras_weight(self, name, value):
        value = np.asarray(value, dtype=np.float32)
        if name != "kernel":
            return value
        n = value.ndim
        return np.ascontiguousarray(np.transpose(value, (n - 1, n - 2) + tuple(range(n - 2))))

    def _conv(self, x, bias):
        return F.conv2d(x, self.kernel, bias, strides=self.strides, padding=self.padding,
                        dilation=self.dilation_rate, groups=self.groups)

    def call(self, x):
        self._channels(x.shape)
        last = self.data_format == "channels_last"
        if last:
            x = F.transpose(x, (0, self.rank + 1) + tuple(range(1, self.rank + 1)))
        kind = self.activation.fusable_kind
        if self.bias is not None and kind is not None and kind != "linear":
            y = F.bias_act(self._conv(x, None), self.bias, kind, axis=1)
        else:
            y = self.activation(self._conv(x, self.bias))
        if last:
            y = F.transpose(y, (0,) + tuple(range(2, self.rank + 2)) + (1,))
        return y

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate), "groups": self.groups,
                "activation": activations.name(self.activation), "use_bias": self.use_bias}


class Conv1D(Conv2D):
    """1-D (temporal) convolution over (batch, steps, channels) (Keras) — channels-last by default."""

    rank = 1

    def __init__(self, filters: int, kernel_size, strides=1, padding="valid", data_format="channels_last", **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format, **kwargs)

    def _conv(self, x, bias):
        return F.conv1d(x, self.kernel, bias, strides=self.strides[0], padding=self.padding,
                        dilation=self.dilation_rate[0], groups=self.groups)


def Convolution2D(nb_filter: int, nb_row: int, nb_col: int, init="glorot_uniform", activation=None,
                  border_mode="valid", subsample=(1, 1), dim_ordering="th", W_regularizer=None, b_regularizer=None,
                  bias: bool = True, **kwargs) -> Conv2D:
    """Analytics Zoo / Keras 1 spelling of Conv2D (defaults to channels-first, 'th')."""
    return Conv2D(nb_filter, (nb_row, nb_col), strides=subsample, padding=border_mode, data_format=dim_ordering,
                  activation=activation, use_bias=bias, kernel_initializer=init, kernel_regularizer=W_regularizer,
                  bias_regularizer=b_regularizer, **kwargs)


def Convolution1D(nb_filter: int, filter_length: int, init="glorot_uniform", activation=None, border_mode="valid",
                  subsample_length: int = 1, W_regularizer=None, b_regularizer=None, bias: bool = True,
                  **kwargs) -> Conv1D:
    """Analytics Zoo / Keras 1 spelling of Conv1D."""
    return Conv1D(nb_filter, filter_length, strides=subsample_length, padding=border_mode, activation=activation,
                  use_bias=bias, kernel_initializer=init, kernel_regularizer=W_regularizer,
                  bias_regularizer=b_regularizer, **kwargs)
