"""Convolutional LSTMs: ConvLSTM2D and ConvLSTM3D (an LSTM whose products are convolutions).

Weights in Keras's layout (get_weights/set_weights): kernel (k..., channels, 4 filters),
recurrent_kernel (k..., filters, 4 filters), bias (4 filters,).
"""

from __future__ import annotations

import numpy as np

from zoo.engine import functional as F
from zoo.engine import graph as G
from zoo.engine.ops import recurrent as R
from zoo.keras.layers.base import (
    check_positive_int,
    kernel_from_keras,
    kernel_keras_shape,
    kernel_to_keras,
    to_tuple,
)
from zoo.keras.layers.base import first_given as _first
from zoo.keras.layers.convolutional.conv import conv_config
from zoo.keras.layers.recurrent.rnn import _Recurrent

__all__ = ["ConvLSTM2D", "ConvLSTM3D"]


class _ConvLSTM(_Recurrent):
    """Shared constructor, weights and call of ConvLSTM2D and ConvLSTM3D."""

    rank = 2
    gates = 4

    def __init__(self, filters=None, kernel_size=None, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias: bool = True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, return_sequences: bool = False, go_backwards: bool = False,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, nb_filter=None, nb_row=None, nb_col=None,
                 nb_kernel=None, subsample=None, border_mode=None, dim_ordering=None, inner_activation=None,
                 W_regularizer=None, U_regularizer=None, b_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        n = self.rank
        keras1 = filters is None and nb_filter is not None or inner_activation is not None
        self.keras1 = keras1
        self.filters = check_positive_int(self, "filters", filters if filters is not None else nb_filter)
        if kernel_size is None:
            if nb_kernel is not None:
                kernel_size = nb_kernel
            elif n == 2 and nb_row is not None:
                kernel_size = (nb_row, nb_col if nb_col is not None else nb_row)
        self.kernel_size = to_tuple(self, "kernel_size", kernel_size, n)
        self.strides = to_tuple(self, "strides", subsample if subsample is not None else strides, n)
        self.dilation_rate = to_tuple(self, "dilation_rate", dilation_rate, n)
        p = str(border_mode if border_mode is not None else padding).lower()
        if p not in ("valid", "same"):
            raise self.error(f"padding must be 'valid' or 'same', got {padding!r}")
        self.padding = p
        self.data_format = self._data_format(_first(dim_ordering, data_format))
        self._set_activations(activation, recurrent_activation, inner_activation, keras1)
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = bool(unit_forget_bias)
        self._set_weight_args(kernel_initializer, recurrent_initializer, bias_initializer,
                              _first(W_regularizer, kernel_regularizer), _first(U_regularizer, recurrent_regularizer),
                              _first(b_regularizer, bias_regularizer))
        if dropout or recurrent_dropout:
            raise NotImplementedError(
                f"{type(self).__name__} '{self.name}': dropout and recurrent_dropout are not supported"
            )
        self.return_sequences = bool(return_sequences)
        self.go_backwards = bool(go_backwards)

    def _channels(self, input_shape) -> int:
        n = self.rank
        if len(input_shape) != n + 3:
            raise self.error(
                f"expected input of rank {n + 3} (batch, time, ...image axes), got shape {tuple(input_shape)}"
            )
        c = input_shape[2] if self.data_format == "channels_first" else input_shape[-1]
        if c is None:
            raise self.error(f"the channel axis must be known, got shape {tuple(input_shape)}")
        return c

    def build(self, input_shape):
        c, f = self._channels(input_shape), self.filters
        self.kernel = self.add_weight(
            "kernel",
            (4 * f, c) + self.kernel_size,
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel",
            (4 * f, f) + self.kernel_size,
            self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
        )
        self.bias = (self.add_weight("bias", (4 * f,), self._bias_init(f), regularizer=self.bias_regularizer)
                     if self.use_bias else None)

    # engine (4F, C, k...) <-> Keras (k..., C, 4F)
    def keras_weight_shape(self, name, shape):
        return kernel_keras_shape(shape) if name != "bias" else shape

    def to_keras_weight(self, name, value):
        return kernel_to_keras(value) if name != "bias" else value

    def from_keras_weight(self, name, value):
        return kernel_from_keras(value) if name != "bias" else np.asarray(value, dtype=np.float32)

    def call(self, x):
        c = self._channels(x.shape)
        if c != self.kernel.shape[1]:
            raise self.error(f"expected {self.kernel.shape[1]} input channels, got input shape {x.shape}")
        n = self.rank
        last = self.data_format == "channels_last"
        if last:
            x = F.transpose(x, (0, 1, n + 2) + tuple(range(2, n + 2)))
        op_cls = R.ConvLSTM2D if n == 2 else R.ConvLSTM3D
        op = op_cls(
            self.filters,
            self.strides,
            self.padding,
            self.dilation_rate,
            self.activation,
            self.recurrent_activation,
            self.use_bias,
            self.return_sequences,
            self.go_backwards,
        )
        y = G.apply(op, [x, *self._weight_inputs()])
        if last:
            lead = (0, 1) if self.return_sequences else (0,)
            k = len(lead)
            y = F.transpose(y, lead + tuple(range(k + 1, k + 1 + n)) + (k,))
        return y

    def get_config(self):
        return {
            **super().get_config(),
            **conv_config(self),
            "dilation_rate": list(self.dilation_rate),
            "activation": self.activation,
            "recurrent_activation": self.recurrent_activation,
            "use_bias": self.use_bias,
            "unit_forget_bias": self.unit_forget_bias,
            "return_sequences": self.return_sequences,
            "go_backwards": self.go_backwards,
        }


class ConvLSTM2D(_ConvLSTM):
    """Convolutional LSTM (Shi 2015): an LSTM whose products are 2-D convolutions.

    Gates `[i, f, c~, o] = [ract, ract, act, ract](conv(x_t, kernel) + conv(h_{t-1},
    recurrent_kernel) + bias)` (the recurrent convolution pads 'same'), `c_t = f c_{t-1} + i c~`,
    `h_t = o act(c_t)`.

    Args:
        filters (Keras 1: nb_filter), kernel_size (int or pair; Keras 1: nb_row, nb_col or
        Analytics Zoo's nb_kernel), strides (subsample), padding ('valid'/'same'; border_mode),
        data_format ('channels_first'/'th', the default unless changed by
        backend.set_image_data_format, or 'channels_last'/'tf'; dim_ordering), dilation_rate,
        activation, recurrent_activation (inner_activation), use_bias, unit_forget_bias,
        initializers, regularizers (W_/U_/b_regularizer), return_sequences, go_backwards.
    Input shape: (batch, time, channels, rows, cols) channels first, (batch, time, rows, cols,
    channels) channels last. Output: (batch, time, filters, rows', cols') with return_sequences
    (channels last: filters at the end), else without the time axis.
    Weights (get_weights, as Keras): kernel (kh, kw, channels, 4 filters), recurrent_kernel
    (kh, kw, filters, 4 filters), bias (4 filters,).
    Example:
        >>> from zoo.keras.models import Sequential
        >>> Sequential([ConvLSTM2D(4, 3, padding="same", input_shape=(5, 2, 8, 8))]).output_shape
        (None, 4, 8, 8)
    """

    rank = 2


class ConvLSTM3D(_ConvLSTM):
    """Convolutional LSTM with 3-D convolutions (see ConvLSTM2D; Analytics Zoo: nb_filter, nb_kernel).

    Input shape: (batch, time, channels, depth, rows, cols) channels first, or channels last.
    Weights (as Keras): kernel (kd, kh, kw, channels, 4 filters), recurrent_kernel
    (kd, kh, kw, filters, 4 filters), bias (4 filters,).
    Example:
        >>> from zoo.keras.models import Sequential
        >>> Sequential([ConvLSTM3D(2, 3, padding="same", return_sequences=True,
        ...                        input_shape=(4, 1, 5, 5, 5))]).output_shape
        (None, 4, 2, 5, 5, 5)
    """

    rank = 3
