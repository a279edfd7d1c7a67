"""Depthwise and depthwise separable convolutions 1-D/2-D.

Weights in Keras's layout: a depthwise kernel is (kh, kw, in, depth_multiplier), a pointwise
kernel (1, 1, in * depth_multiplier, filters). The engine's depthwise kernel is (in * M, 1, k...).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from zoo.engine import functional as F
from zoo.keras.layers.base import check_positive_int
from zoo.keras.layers.convolutional.conv import _Conv

__all__ = ["DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"]


class _Depthwise(_Conv):
    """The depthwise part of DepthwiseConv and SeparableConv: depth_multiplier, the depthwise
    kernel (engine (C*M, 1, k...) <-> Keras (k..., C, M)) and the grouped convolution."""

    _config_names: ClassVar[dict] = {"kernel_initializer": "depthwise_initializer",
                                     "kernel_regularizer": "depthwise_regularizer"}

    def __init__(self, filters, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                 activation, use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer,
                 bias_regularizer, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=depthwise_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer, **kwargs)
        self.depth_multiplier = check_positive_int(self, "depth_multiplier", depth_multiplier)

    def _build_depthwise(self, input_shape) -> int:
        """Create the depthwise kernel; returns its output channels C*M."""
        c = self._channels(input_shape)
        self._in_channels = c
        m = self.depth_multiplier
        self.kernel = self.add_weight("depthwise_kernel", (c * m, 1) + self.kernel_size, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        return c * m

    def keras_weight_shape(self, name, shape):
        if name == "depthwise_kernel":
            c, m = self._in_channels, shape[0] // self._in_channels
            return tuple(shape[2:]) + (c, m)
        return super().keras_weight_shape("kernel" if name == "pointwise_kernel" else name, shape)

    def to_keras_weight(self, name, value):
        if name == "depthwise_kernel":
            n = value.ndim - 2
            c = self._in_channels
            v = value.reshape((c, value.shape[0] // c) + value.shape[2:])
            return np.ascontiguousarray(np.transpose(v, tuple(range(2, n + 2)) + (0, 1)))
        return super().to_keras_weight("kernel" if name == "pointwise_kernel" else name, value)

    def from_keras_weight(self, name, value):
        if name == "depthwise_kernel":
            value = np.asarray(value, dtype=np.float32)
            n = value.ndim - 2
            c, m = value.shape[-2], value.shape[-1]
            v = np.transpose(value, (n, n + 1) + tuple(range(n)))
            return np.ascontiguousarray(v.reshape((c * m, 1) + value.shape[:n]))
        return super().from_keras_weight("kernel" if name == "pointwise_kernel" else name, value)

    def _depthwise(self, x, bias):
        c, p = self._in_channels, self.padding
        if self.rank == 1:
            return F.conv1d(x, self.kernel, bias, strides=self.strides[0], padding=p if isinstance(p, str) else p[0],
                            dilation=self.dilation_rate[0], groups=c)
        return F.conv2d(x, self.kernel, bias, strides=self.strides, padding=p, dilation=self.dilation_rate, groups=c)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("groups")
        cfg["depth_multiplier"] = self.depth_multiplier
        return cfg


class DepthwiseConv2D(_Depthwise):
    """Depthwise 2-D convolution: each input channel convolved with its own depth_multiplier filters.

        y[:, c*M + m] = conv(x[:, c], kernel[..., c, m]) + bias[c*M + m]

    Args:
        kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias: as Conv2D.
        depth_multiplier: M, output channels per input channel.
        depthwise_initializer / depthwise_regularizer, bias_initializer / bias_regularizer.
    Weights: depthwise_kernel (kh, kw, in, M) as Keras, bias (in*M,).
    """

    rank = 2

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier: int = 1, data_format=None,
                 dilation_rate=1, activation=None, use_bias: bool = True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(None, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                         activation, use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer,
                         bias_regularizer, **kwargs)

    def build(self, input_shape):
        self._build_bias(self._build_depthwise(input_shape))

    def _conv(self, x, bias):
        return self._depthwise(x, bias)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("filters")
        return cfg


class DepthwiseConv1D(DepthwiseConv2D):
    """Depthwise 1-D convolution over (batch, steps, channels) (channels-last by default).
    Weights: depthwise_kernel (k, in, M), bias (in*M,)."""

    rank = 1
    default_format = "channels_last"


class SeparableConv2D(_Depthwise):
    """Depthwise separable 2-D convolution: a depthwise convolution (depth_multiplier filters per
    input channel) followed by a 1x1 pointwise convolution to `filters` channels, then bias and
    activation.

    Args:
        filters, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias: as Conv2D.
        depth_multiplier: M. depthwise/pointwise/bias initializer and regularizer.
    Weights: depthwise_kernel (kh, kw, in, M), pointwise_kernel (1, 1, in*M, filters), bias (filters,).
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier: int = 1, activation=None, use_bias: bool = True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                         activation, use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer,
                         bias_regularizer, **kwargs)
        self.pointwise_initializer = pointwise_initializer
        self.pointwise_regularizer = pointwise_regularizer

    def build(self, input_shape):
        cm = self._build_depthwise(input_shape)
        self.pointwise = self.add_weight("pointwise_kernel", (self.filters, cm) + (1,) * self.rank,
                                         self.pointwise_initializer, regularizer=self.pointwise_regularizer)
        self._build_bias(self.filters)

    def _conv(self, x, bias):
        y = self._depthwise(x, None)
        if self.rank == 1:
            return F.conv1d(y, self.pointwise, bias)
        return F.conv2d(y, self.pointwise, bias)


class SeparableConv1D(SeparableConv2D):
    """Depthwise separable 1-D convolution over (batch, steps, channels) (channels-last by default).
    Weights: depthwise_kernel (k, in, M), pointwise_kernel (1, in*M, filters), bias (filters,)."""

    rank = 1
    default_format = "channels_last"
