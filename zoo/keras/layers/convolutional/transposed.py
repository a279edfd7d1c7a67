"""Transposed convolutions 1-D/2-D/3-D ('deconvolution', Keras 1's Deconvolution2D).

Weights in Keras's layout: a Conv2DTranspose kernel is (kh, kw, filters, in), bias (filters,).
"""

from __future__ import annotations

from typing import ClassVar

from zoo.engine import functional as F
from zoo.engine.ops import conv_extra as CX
from zoo.keras.layers.base import to_tuple
from zoo.keras.layers.convolutional.conv import _Conv

__all__ = ["Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"]


class _ConvTranspose(_Conv):
    """Transposed convolution (the adjoint of a convolution, 'deconvolution').

    Output size per axis: 'valid' size*stride + max(k_eff - stride, 0), 'same' size*stride, or
    with output_padding (size - 1)*stride + k_eff - 2*pad + output_padding (as Keras).
    Engine kernel (in, filters, k...); Keras kernel (k..., filters, in).
    """

    _ops: ClassVar[dict] = {1: CX.ConvTranspose1D, 2: CX.ConvTranspose2D, 3: CX.ConvTranspose3D}

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, output_shape=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer, **kwargs)
        if not isinstance(self.padding, str) or self.padding == "causal":
            raise self.error(f"padding must be 'valid' or 'same', got {padding!r}")
        n = self.rank
        self.output_padding = (
            None if output_padding is None else to_tuple(self, "output_padding", output_padding, n, minimum=0)
        )
        if self.output_padding is not None:
            for op, s, d in zip(self.output_padding, self.strides, self.dilation_rate):
                if op >= s and op >= d:
                    raise self.error(
                        f"output_padding {self.output_padding} must be smaller than the strides "
                        f"{self.strides}"
                    )
        self.output_shape_hint = None
        if output_shape is not None:
            t = tuple(output_shape)
            t = t[1:] if len(t) == n + 2 else t
            if len(t) != n + 1:
                raise self.error(
                    f"output_shape must hold {n + 1} sizes (channels and spatial, batch optional), "
                    f"got {output_shape!r}"
                )
            self.output_shape_hint = tuple(None if v is None else int(v) for v in t)

    def build(self, input_shape):
        c = self._channels(input_shape)
        if self.output_shape_hint is not None:
            self._fit_output_shape(input_shape)
        self.kernel = self.add_weight(
            "kernel",
            (c, self.filters) + self.kernel_size,
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self._build_bias(self.filters)

    def _fit_output_shape(self, input_shape) -> None:
        """Keras 1's output_shape: check the channels and pick output_padding for the spatial sizes."""
        hint = self.output_shape_hint
        first = self.data_format == "channels_first"
        chan, spatial = (hint[0], hint[1:]) if first else (hint[-1], hint[:-1])
        if chan is not None and chan != self.filters:
            raise self.error(f"output_shape {hint} has {chan} channels, expected filters={self.filters}")
        sizes = input_shape[2:] if first else input_shape[1:-1]
        pads = []
        for a, (size, want) in enumerate(zip(sizes, spatial)):
            k, s, d = self.kernel_size[a], self.strides[a], self.dilation_rate[a]
            if size is None or want is None:
                pads.append(0)
                continue
            base = CX.transpose_output_size(size, k, s, d, self.padding, 0)
            if not 0 <= want - base < max(s, d):
                lo, hi = base, base + max(s, d) - 1
                raise self.error(
                    f"output_shape {hint} is not reachable from input shape {tuple(input_shape)}: "
                    f"spatial axis {a} can be {lo}..{hi}, got {want}"
                )
            pads.append(want - base)
        if any(pads) or self.output_padding is not None:
            self.output_padding = tuple(pads)

    def _conv(self, x, bias):
        op = self._ops[self.rank](self.strides, self.padding, self.output_padding, self.dilation_rate)
        return F.apply_op(op, [x, self.kernel] if bias is None else [x, self.kernel, bias])

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("groups")
        cfg["output_padding"] = None if self.output_padding is None else list(self.output_padding)
        return cfg


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution (Keras Conv2DTranspose; Keras 1 Deconvolution2D).

    Args:
        filters, kernel_size, strides, dilation_rate, data_format, activation, use_bias,
        initializers, regularizers: as Conv2D. padding: 'valid' or 'same'.
        output_padding: None or int / pair below the strides (extra rows/columns at the end).
        output_shape: Keras 1's expected output shape (channels and spatial, batch optional):
            checked, and selects output_padding.
    Weights: kernel (kh, kw, filters, in) as Keras, bias (filters,).

    Example:
        >>> from zoo.keras.models import Sequential
        >>> Sequential([Conv2DTranspose(2, 3, strides=2, input_shape=(4, 5, 5))]).output_shape
        (None, 2, 11, 11)
    """

    rank = 2


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution over (batch, steps, channels) (channels-last by default).
    Weights: kernel (k, filters, in), bias (filters,)."""

    rank = 1
    default_format = "channels_last"


class Conv3DTranspose(_ConvTranspose):
    """Transposed 3-D convolution. Weights: kernel (kd, kh, kw, filters, in), bias (filters,)."""

    rank = 3
