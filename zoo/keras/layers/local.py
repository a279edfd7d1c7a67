"""Locally connected layers: convolutions whose weights are not shared between output positions.

    y[n, p, o] = activation(bias[p, o] + sum_r kernel[p, r, o] * patch_p(x[n])[r])

for each output position p (row-major). Weights follow Keras 2's layout (implementation=1),
in both data formats: kernel (positions, kernel taps * channels, filters), with the patch
flattened as (taps, channels) for channels-last and (channels, taps) for channels-first;
bias (positions..., filters) for channels-last and LocallyConnected1D, (filters, rows, cols)
for channels-first LocallyConnected2D. The engine computes one batched GEMM over positions.
"""

from __future__ import annotations

import numpy as np

from zoo.engine import functional as F
from zoo.engine.ops import conv_extra as CX
from zoo.keras import activations
from zoo.keras.layers.base import Layer, check_positive_int, to_channels_first, to_channels_last, to_tuple
from zoo.keras.layers.base import first_given as _first
from zoo.keras.layers.convolutional.conv import conv_config

__all__ = ["LocallyConnected1D", "LocallyConnected2D"]


class _LocallyConnected(Layer):
    rank = 2
    default_format = None

    def __init__(self, filters, kernel_size, strides, padding, data_format, activation, use_bias, kernel_initializer,
                 bias_initializer, kernel_regularizer, bias_regularizer, implementation, **kwargs):
        super().__init__(**kwargs)
        n = self.rank
        self.filters = check_positive_int(self, "filters", filters)
        if kernel_size is None:
            raise self.error("kernel_size is required")
        self.kernel_size = to_tuple(self, "kernel_size", kernel_size, n)
        self.strides = to_tuple(self, "strides", strides, n)
        if not (isinstance(padding, str) and padding.lower() == "valid"):
            raise self.error(f"padding must be 'valid', got {padding!r}")
        self.padding = "valid"
        if implementation not in (1, 2, 3):
            raise self.error(f"implementation must be 1, 2 or 3, got {implementation!r}")
        self.data_format = self._data_format(data_format, self.default_format)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer

    def _split(self, shape):
        """(channels, spatial sizes) of an input shape."""
        if len(shape) != self.rank + 2:
            raise self.error(f"expected input of rank {self.rank + 2}, got shape {tuple(shape)}")
        if self.data_format == "channels_first":
            return shape[1], tuple(shape[2:])
        return shape[-1], tuple(shape[1:-1])

    def build(self, input_shape):
        c, spatial = self._split(input_shape)
        if c is None or None in spatial:
            raise self.error(f"the channel and spatial axes must be known, got shape {tuple(input_shape)}")
        out = []
        for a, size in enumerate(spatial):
            if size < self.kernel_size[a]:
                raise self.error(
                    f"kernel_size {self.kernel_size} is larger than the input's spatial sizes "
                    f"{spatial} (input shape {tuple(input_shape)})"
                )
            out.append((size - self.kernel_size[a]) // self.strides[a] + 1)
        self._in_channels, self._spatial, self._out = c, spatial, tuple(out)
        p, taps = int(np.prod(out)), int(np.prod(self.kernel_size))
        self.kernel = self.add_weight(
            "kernel",
            (p, c * taps, self.filters),
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = (
            self.add_weight(
                "bias", (self.filters,) + self._out, self.bias_initializer, regularizer=self.bias_regularizer
            )
            if self.use_bias
            else None
        )

    # ---- weight layouts: engine kernel (P, (c, taps), O), bias (O, *out) ----------------------------

    def _keras_bias_first(self) -> bool:
        return self.data_format == "channels_first" and self.rank == 2

    def keras_weight_shape(self, name, shape):
        if name == "bias" and not self._keras_bias_first():
            return tuple(shape[1:]) + (shape[0],)
        return shape

    def to_keras_weight(self, name, value):
        if name == "bias":
            if self._keras_bias_first():
                return value
            return np.ascontiguousarray(np.moveaxis(value, 0, -1))
        if self.data_format == "channels_first":
            return value
        p, r, o = value.shape
        c = self._in_channels
        return np.ascontiguousarray(value.reshape(p, c, r // c, o).transpose(0, 2, 1, 3).reshape(p, r, o))

    def from_keras_weight(self, name, value):
        value = np.asarray(value, dtype=np.float32)
        if name == "bias":
            if self._keras_bias_first():
                return value
            return np.ascontiguousarray(np.moveaxis(value, -1, 0))
        if self.data_format == "channels_first":
            return value
        p, r, o = value.shape
        c = self._in_channels
        return np.ascontiguousarray(value.reshape(p, r // c, c, o).transpose(0, 2, 1, 3).reshape(p, r, o))

    def call(self, x):
        c, spatial = self._split(x.shape)
        if c != self._in_channels or spatial != self._spatial:
            raise self.error(
                f"expected input spatial sizes {self._spatial} and {self._in_channels} channels, "
                f"got shape {x.shape}"
            )
        n = self.rank
        last = self.data_format == "channels_last"
        if last:
            x = to_channels_first(x, n)
        op = (CX.LocallyConnected1D if n == 1 else CX.LocallyConnected2D)(self.kernel_size, self.strides, "valid")
        y = self.activation(F.apply_op(op, [x, self.kernel] if self.bias is None else [x, self.kernel, self.bias]))
        return to_channels_last(y, n) if last else y

    def get_config(self):
        return {
            **super().get_config(),
            **conv_config(self),
            "activation": activations.name(self.activation),
            "use_bias": self.use_bias,
        }


class LocallyConnected2D(_LocallyConnected):
    """2-D locally connected layer: a 'valid' convolution with different weights at each output pixel.

    Args:
        filters (Keras 1: nb_filter), kernel_size (nb_row, nb_col), strides (subsample),
        padding (border_mode): 'valid' only, data_format (dim_ordering), activation, use_bias (bias),
        kernel/bias initializer (init) and regularizer (W_regularizer, b_regularizer).
    Weights: kernel (OH*OW, KH*KW*C, filters), bias (OH, OW, filters) channels-last or
        (filters, OH, OW) channels-first (Keras 2's layouts).
    Input (batch, C, H, W) or (batch, H, W, C); output (batch, filters, OH, OW) or channels-last.
    """

    rank = 2

    def __init__(self, filters=None, kernel_size=None, strides=(1, 1), padding="valid", data_format=None,
                 activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, implementation: int = 1, nb_filter=None, nb_row=None,
                 nb_col=None, subsample=None, border_mode=None, dim_ordering=None, init=None, W_regularizer=None,
                 b_regularizer=None, bias=None, **kwargs):
        if kernel_size is None and nb_row is not None:
            kernel_size = (nb_row, nb_col)
        super().__init__(_first(filters, nb_filter), kernel_size, _first(subsample, strides),
                         _first(border_mode, padding), _first(dim_ordering, data_format), activation,
                         _first(bias, use_bias), _first(init, kernel_initializer), bias_initializer,
                         _first(W_regularizer, kernel_regularizer), _first(b_regularizer, bias_regularizer),
                         implementation, **kwargs)


class LocallyConnected1D(_LocallyConnected):
    """1-D locally connected layer over (batch, steps, channels) (channels-last by default).

    Args:
        filters (Keras 1: nb_filter), kernel_size (filter_length), strides (subsample_length),
        padding (border_mode): 'valid' only, data_format, activation, use_bias (bias),
        kernel/bias initializer (init) and regularizer (W_regularizer, b_regularizer).
    Weights: kernel (OL, K*C, filters), bias (OL, filters) (Keras 2's layouts).
    """

    rank = 1
    default_format = "channels_last"

    def __init__(self, filters=None, kernel_size=None, strides=1, padding="valid", data_format=None, activation=None,
                 use_bias: bool = True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, implementation: int = 1, nb_filter=None,
                 filter_length=None, subsample_length=None, border_mode=None, init=None, W_regularizer=None,
                 b_regularizer=None, bias=None, **kwargs):
        super().__init__(_first(filters, nb_filter), _first(kernel_size, filter_length),
                         _first(subsample_length, strides), _first(border_mode, padding), data_format, activation,
                         _first(bias, use_bias), _first(init, kernel_initializer), bias_initializer,
                         _first(W_regularizer, kernel_regularizer), _first(b_regularizer, bias_regularizer),
                         implementation, **kwargs)
