"""Keras 1 / Analytics Zoo spellings of the convolutions: factory functions taking Keras 1's
arguments (nb_filter, nb_row, nb_col, init, border_mode, subsample, dim_ordering, W_regularizer,
b_regularizer, bias) and returning the Keras 2 classes (Conv2D, Conv2DTranspose, ...)."""

from __future__ import annotations

import numpy as np

from zoo.keras.layers.convolutional.conv import Conv1D, Conv2D, Conv3D
from zoo.keras.layers.convolutional.separable import SeparableConv2D
from zoo.keras.layers.convolutional.transposed import Conv2DTranspose

__all__ = [
    "AtrousConvolution1D",
    "AtrousConvolution2D",
    "Convolution1D",
    "Convolution2D",
    "Convolution3D",
    "Deconvolution2D",
    "SeparableConvolution2D",
    "ShareConvolution2D",
]


def _keras1(cls, nb_filter, kernel_size, init, activation, border_mode, subsample, W_regularizer, b_regularizer,
            bias, **kwargs):
    """`cls` from the Keras 1 arguments every convolution shares; kwargs in Keras 2 names."""
    return cls(nb_filter, kernel_size, strides=subsample, padding=border_mode, activation=activation, use_bias=bias,
               kernel_initializer=init, kernel_regularizer=W_regularizer, bias_regularizer=b_regularizer, **kwargs)


def _az_pads(pads):
    t = tuple(pads) if isinstance(pads, (list, tuple)) else pads
    if isinstance(t, tuple) and len(t) == 4 and all(isinstance(v, (int, np.integer)) for v in t):
        return ((t[0], t[1]), (t[2], t[3]))
    return t


def Convolution2D(nb_filter: int, nb_row: int, nb_col: int, init="glorot_uniform", activation=None,
                  border_mode="valid", subsample=(1, 1), dim_ordering=None, W_regularizer=None, b_regularizer=None,
                  bias: bool = True, pads=None, **kwargs) -> Conv2D:
    """Analytics Zoo / Keras 1 spelling of Conv2D (dim_ordering default: the global one, 'th').

    pads: explicit padding (an int, (ph, pw), (top, bottom, left, right) or
    ((top, bottom), (left, right))) that replaces border_mode.
    """
    padding = border_mode if pads is None else _az_pads(pads)
    return _keras1(Conv2D, nb_filter, (nb_row, nb_col), init, activation, padding, subsample, W_regularizer,
                   b_regularizer, bias, data_format=dim_ordering, **kwargs)


def AtrousConvolution2D(nb_filter: int, nb_row: int, nb_col: int, init="glorot_uniform", activation=None,
                        border_mode="valid", subsample=(1, 1), atrous_rate=(1, 1), dim_ordering=None,
                        W_regularizer=None, b_regularizer=None, bias: bool = True, **kwargs) -> Conv2D:
    """Analytics Zoo / Keras 1 dilated 2-D convolution: Conv2D with dilation_rate=atrous_rate."""
    return _keras1(Conv2D, nb_filter, (nb_row, nb_col), init, activation, border_mode, subsample, W_regularizer,
                   b_regularizer, bias, data_format=dim_ordering, dilation_rate=atrous_rate, **kwargs)


def Convolution1D(nb_filter: int, filter_length: int, init="glorot_uniform", activation=None, border_mode="valid",
                  subsample_length: int = 1, W_regularizer=None, b_regularizer=None, bias: bool = True,
                  **kwargs) -> Conv1D:
    """Analytics Zoo / Keras 1 spelling of Conv1D over (batch, steps, dim)."""
    return _keras1(Conv1D, nb_filter, filter_length, init, activation, border_mode, subsample_length, W_regularizer,
                   b_regularizer, bias, **kwargs)


def AtrousConvolution1D(nb_filter: int, filter_length: int, init="glorot_uniform", activation=None,
                        border_mode="valid", subsample_length: int = 1, atrous_rate: int = 1, W_regularizer=None,
                        b_regularizer=None, bias: bool = True, **kwargs) -> Conv1D:
    """Analytics Zoo / Keras 1 dilated 1-D convolution: Conv1D with dilation_rate=atrous_rate."""
    return _keras1(Conv1D, nb_filter, filter_length, init, activation, border_mode, subsample_length, W_regularizer,
                   b_regularizer, bias, dilation_rate=atrous_rate, **kwargs)


def Convolution3D(nb_filter: int, kernel_dim1: int, kernel_dim2: int, kernel_dim3: int, init="glorot_uniform",
                  activation=None, border_mode="valid", subsample=(1, 1, 1), dim_ordering=None, W_regularizer=None,
                  b_regularizer=None, bias: bool = True, **kwargs) -> Conv3D:
    """Analytics Zoo / Keras 1 spelling of Conv3D (dim_ordering default: the global one, 'th')."""
    return _keras1(Conv3D, nb_filter, (kernel_dim1, kernel_dim2, kernel_dim3), init, activation, border_mode,
                   subsample, W_regularizer, b_regularizer, bias, data_format=dim_ordering, **kwargs)


def Deconvolution2D(nb_filter: int, nb_row: int, nb_col: int, output_shape=None, init="glorot_uniform",
                    activation=None, border_mode="valid", subsample=(1, 1), dim_ordering=None, W_regularizer=None,
                    b_regularizer=None, bias: bool = True, **kwargs) -> Conv2DTranspose:
    """Analytics Zoo / Keras 1 transposed 2-D convolution. output_shape (optional, batch axis
    optional) is checked against the input and selects output_padding."""
    return _keras1(Conv2DTranspose, nb_filter, (nb_row, nb_col), init, activation, border_mode, subsample,
                   W_regularizer, b_regularizer, bias, data_format=dim_ordering, output_shape=output_shape, **kwargs)


def SeparableConvolution2D(nb_filter: int, nb_row: int, nb_col: int, init="glorot_uniform", activation=None,
                           border_mode="valid", subsample=(1, 1), depth_multiplier: int = 1, dim_ordering=None,
                           depthwise_regularizer=None, pointwise_regularizer=None, b_regularizer=None,
                           bias: bool = True, **kwargs) -> SeparableConv2D:
    """Analytics Zoo / Keras 1 spelling of SeparableConv2D (init applies to both kernels)."""
    return SeparableConv2D(nb_filter, (nb_row, nb_col), strides=subsample, padding=border_mode,
                           data_format=dim_ordering, depth_multiplier=depth_multiplier, activation=activation,
                           use_bias=bias, depthwise_initializer=init, pointwise_initializer=init,
                           depthwise_regularizer=depthwise_regularizer, pointwise_regularizer=pointwise_regularizer,
                           bias_regularizer=b_regularizer, **kwargs)


def ShareConvolution2D(nb_filter: int, nb_row: int, nb_col: int, init="glorot_uniform", activation=None,
                       subsample=(1, 1), pad_h: int = 0, pad_w: int = 0, propagate_back: bool = True,
                       dim_ordering=None, W_regularizer=None, b_regularizer=None, bias: bool = True,
                       **kwargs) -> Conv2D:
    """Analytics Zoo's ShareConvolution2D: a Conv2D with explicit padding (pad_h, pad_w).

    Analytics Zoo shared its im2col buffers between layers; zoo's convolutions reuse their
    buffers anyway. propagate_back=False stops the gradient at the layer's input (the layers
    before it are not trained through it).
    """
    return _keras1(Conv2D, nb_filter, (nb_row, nb_col), init, activation, (pad_h, pad_w), subsample, W_regularizer,
                   b_regularizer, bias, data_format=dim_ordering, propagate_back=propagate_back, **kwargs)
