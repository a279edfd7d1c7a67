"""Convolution layers (channels-first by default, as Analytics Zoo; channels-last as Keras).

Convolutions 1-D/2-D/3-D (strided, dilated, grouped, explicit padding), transposed
convolutions, depthwise and separable convolutions, with their Keras 1 / Analytics Zoo
spellings (Convolution1D/2D/3D, AtrousConvolution1D/2D, Deconvolution2D,
SeparableConvolution2D, ShareConvolution2D) as factory functions returning the Keras 2
classes; and the shape layers of the family: UpSampling, ZeroPadding, Cropping (1-D/2-D/3-D)
and ResizeBilinear.

Whatever the data format, weights move in Keras's layouts (get_weights/set_weights): a
Conv2D kernel is (kh, kw, in/groups, filters), a Conv2DTranspose kernel (kh, kw, filters, in),
a depthwise kernel (kh, kw, in, depth_multiplier). The engine is channels-first; a
channels-last layer transposes at its edges.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from zoo.engine import functional as F
from zoo.engine.ops import conv3d as C3
from zoo.engine.ops import conv_extra as CX
from zoo.engine.ops import shape as S
from zoo.keras import activations, backend
from zoo.keras.layers.base import Layer, check_positive_int, to_tuple

__all__ = [
    "AtrousConvolution1D",
    "AtrousConvolution2D",
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
    "Convolution1D",
    "Convolution2D",
    "Convolution3D",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "Deconvolution2D",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "ResizeBilinear",
    "SeparableConv1D",
    "SeparableConv2D",
    "SeparableConvolution2D",
    "ShareConvolution2D",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
]


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


def to_channels_first(x, rank: int):
    return F.transpose(x, (0, rank + 1) + tuple(range(1, rank + 1)))


def to_channels_last(y, rank: int):
    return F.transpose(y, (0,) + tuple(range(2, rank + 2)) + (1,))


class _Conv(Layer):
    """Shared parts of the convolution layers: arguments, channel checks, data format edges,
    the fused bias + activation, and the engine (O, I, k...) <-> Keras (k..., I, O) kernel layout."""

    rank = 2
    default_format = None  # None: the global image_data_format

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups: int = 1,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        propagate_back: bool = True,
        **kwargs,
    ):
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
        fmt = self.default_format if data_format is None else data_format
        self.data_format = backend.normalize_data_format(fmt, f"{type(self).__name__} '{self.name}'")
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
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": _padding_config(self.padding),
            "data_format": self.data_format,
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


# ---- transposed convolutions ----------------------------------------------------------------------


class _ConvTranspose(_Conv):
    """Transposed convolution (the adjoint of a convolution, 'deconvolution').

    Output size per axis: 'valid' size*stride + max(k_eff - stride, 0), 'same' size*stride, or
    with output_padding (size - 1)*stride + k_eff - 2*pad + output_padding (as Keras).
    Engine kernel (in, filters, k...); Keras kernel (k..., filters, in).
    """

    _ops: ClassVar[dict] = {1: CX.ConvTranspose1D, 2: CX.ConvTranspose2D, 3: CX.ConvTranspose3D}

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        output_shape=None,
        **kwargs,
    ):
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            **kwargs,
        )
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


# ---- depthwise and separable ------------------------------------------------------------------------


class _DepthwiseKernel:
    """Engine depthwise kernel (C*M, 1, k...) <-> Keras (k..., C, M) for the weight `name`."""

    def _dw_to_keras_shape(self, shape):
        c, m = self._in_channels, shape[0] // self._in_channels
        return tuple(shape[2:]) + (c, m)

    def _dw_to_keras(self, value):
        n = value.ndim - 2
        c = self._in_channels
        v = value.reshape((c, value.shape[0] // c) + value.shape[2:])
        return np.ascontiguousarray(np.transpose(v, tuple(range(2, n + 2)) + (0, 1)))

    def _dw_from_keras(self, value):
        value = np.asarray(value, dtype=np.float32)
        n = value.ndim - 2
        c, m = value.shape[-2], value.shape[-1]
        v = np.transpose(value, (n, n + 1) + tuple(range(n)))
        return np.ascontiguousarray(v.reshape((c * m, 1) + value.shape[:n]))


class DepthwiseConv2D(_DepthwiseKernel, _Conv):
    """Depthwise 2-D convolution: each input channel convolved with its own depth_multiplier filters.

        y[:, c*M + m] = conv(x[:, c], kernel[..., c, m]) + bias[c*M + m]

    Args:
        kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias: as Conv2D.
        depth_multiplier: M, output channels per input channel.
        depthwise_initializer / depthwise_regularizer, bias_initializer / bias_regularizer.
    Weights: depthwise_kernel (kh, kw, in, M) as Keras, bias (in*M,).
    """

    rank = 2
    _config_names: ClassVar[dict] = {"kernel_initializer": "depthwise_initializer",
                                     "kernel_regularizer": "depthwise_regularizer"}

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier: int = 1,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias: bool = True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(
            None,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer,
            **kwargs,
        )
        self.depth_multiplier = check_positive_int(self, "depth_multiplier", depth_multiplier)

    def build(self, input_shape):
        c = self._channels(input_shape)
        self._in_channels = c
        m = self.depth_multiplier
        self.kernel = self.add_weight(
            "depthwise_kernel",
            (c * m, 1) + self.kernel_size,
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self._build_bias(c * m)

    def keras_weight_shape(self, name, shape):
        return self._dw_to_keras_shape(shape) if name == "depthwise_kernel" else shape

    def to_keras_weight(self, name, value):
        return self._dw_to_keras(value) if name == "depthwise_kernel" else value

    def from_keras_weight(self, name, value):
        return (
            self._dw_from_keras(value) if name == "depthwise_kernel" else np.asarray(value, dtype=np.float32)
        )

    def _conv(self, x, bias):
        return _depthwise(self, x, self.kernel, bias)

    def get_config(self):
        cfg = super().get_config()
        for k in ("filters", "groups"):
            cfg.pop(k)
        cfg["depth_multiplier"] = self.depth_multiplier
        return cfg


class DepthwiseConv1D(DepthwiseConv2D):
    """Depthwise 1-D convolution over (batch, steps, channels) (channels-last by default).
    Weights: depthwise_kernel (k, in, M), bias (in*M,)."""

    rank = 1
    default_format = "channels_last"


def _depthwise(layer, x, kernel, bias):
    c = layer._in_channels
    p = layer.padding
    if layer.rank == 1:
        return F.conv1d(
            x,
            kernel,
            bias,
            strides=layer.strides[0],
            padding=p if isinstance(p, str) else p[0],
            dilation=layer.dilation_rate[0],
            groups=c,
        )
    return F.conv2d(x, kernel, bias, strides=layer.strides, padding=p, dilation=layer.dilation_rate, groups=c)


class SeparableConv2D(_DepthwiseKernel, _Conv):
    """Depthwise separable 2-D convolution: a depthwise convolution (depth_multiplier filters per
    input channel) followed by a 1x1 pointwise convolution to `filters` channels, then bias and
    activation.

    Args:
        filters, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias: as Conv2D.
        depth_multiplier: M. depthwise/pointwise/bias initializer and regularizer.
    Weights: depthwise_kernel (kh, kw, in, M), pointwise_kernel (1, 1, in*M, filters), bias (filters,).
    """

    rank = 2
    _config_names = DepthwiseConv2D._config_names

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        depth_multiplier: int = 1,
        activation=None,
        use_bias: bool = True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer,
            **kwargs,
        )
        self.depth_multiplier = check_positive_int(self, "depth_multiplier", depth_multiplier)
        self.pointwise_initializer = pointwise_initializer
        self.pointwise_regularizer = pointwise_regularizer

    def build(self, input_shape):
        c = self._channels(input_shape)
        self._in_channels = c
        m = self.depth_multiplier
        self.kernel = self.add_weight(
            "depthwise_kernel",
            (c * m, 1) + self.kernel_size,
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.pointwise = self.add_weight(
            "pointwise_kernel",
            (self.filters, c * m) + (1,) * self.rank,
            self.pointwise_initializer,
            regularizer=self.pointwise_regularizer,
        )
        self._build_bias(self.filters)

    def keras_weight_shape(self, name, shape):
        if name == "depthwise_kernel":
            return self._dw_to_keras_shape(shape)
        return super().keras_weight_shape("kernel" if name == "pointwise_kernel" else name, shape)

    def to_keras_weight(self, name, value):
        if name == "depthwise_kernel":
            return self._dw_to_keras(value)
        return super().to_keras_weight("kernel" if name == "pointwise_kernel" else name, value)

    def from_keras_weight(self, name, value):
        if name == "depthwise_kernel":
            return self._dw_from_keras(value)
        return super().from_keras_weight("kernel" if name == "pointwise_kernel" else name, value)

    def _conv(self, x, bias):
        y = _depthwise(self, x, self.kernel, None)
        if self.rank == 1:
            return F.conv1d(y, self.pointwise, bias)
        return F.conv2d(y, self.pointwise, bias)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("groups")
        cfg["depth_multiplier"] = self.depth_multiplier
        return cfg


class SeparableConv1D(SeparableConv2D):
    """Depthwise separable 1-D convolution over (batch, steps, channels) (channels-last by default).
    Weights: depthwise_kernel (k, in, M), pointwise_kernel (1, in*M, filters), bias (filters,)."""

    rank = 1
    default_format = "channels_last"


# ---- Keras 1 / Analytics Zoo spellings ---------------------------------------------------------------


def Convolution2D(
    nb_filter: int,
    nb_row: int,
    nb_col: int,
    init="glorot_uniform",
    activation=None,
    border_mode="valid",
    subsample=(1, 1),
    dim_ordering=None,
    W_regularizer=None,
    b_regularizer=None,
    bias: bool = True,
    pads=None,
    **kwargs,
) -> Conv2D:
    """Analytics Zoo / Keras 1 spelling of Conv2D (dim_ordering default: the global one, 'th').

    pads: explicit padding (an int, (ph, pw), (top, bottom, left, right) or
    ((top, bottom), (left, right))) that replaces border_mode.
    """
    padding = border_mode if pads is None else _az_pads(pads)
    return Conv2D(
        nb_filter,
        (nb_row, nb_col),
        strides=subsample,
        padding=padding,
        data_format=dim_ordering,
        activation=activation,
        use_bias=bias,
        kernel_initializer=init,
        kernel_regularizer=W_regularizer,
        bias_regularizer=b_regularizer,
        **kwargs,
    )


def _az_pads(pads):
    t = tuple(pads) if isinstance(pads, (list, tuple)) else pads
    if isinstance(t, tuple) and len(t) == 4 and all(isinstance(v, (int, np.integer)) for v in t):
        return ((t[0], t[1]), (t[2], t[3]))
    return t


def AtrousConvolution2D(
    nb_filter: int,
    nb_row: int,
    nb_col: int,
    init="glorot_uniform",
    activation=None,
    border_mode="valid",
    subsample=(1, 1),
    atrous_rate=(1, 1),
    dim_ordering=None,
    W_regularizer=None,
    b_regularizer=None,
    bias: bool = True,
    **kwargs,
) -> Conv2D:
    """Analytics Zoo / Keras 1 dilated 2-D convolution: Conv2D with dilation_rate=atrous_rate."""
    return Conv2D(
        nb_filter,
        (nb_row, nb_col),
        strides=subsample,
        padding=border_mode,
        data_format=dim_ordering,
        dilation_rate=atrous_rate,
        activation=activation,
        use_bias=bias,
        kernel_initializer=init,
        kernel_regularizer=W_regularizer,
        bias_regularizer=b_regularizer,
        **kwargs,
    )


def Convolution1D(
    nb_filter: int,
    filter_length: int,
    init="glorot_uniform",
    activation=None,
    border_mode="valid",
    subsample_length: int = 1,
    W_regularizer=None,
    b_regularizer=None,
    bias: bool = True,
    **kwargs,
) -> Conv1D:
    """Analytics Zoo / Keras 1 spelling of Conv1D over (batch, steps, dim)."""
    return Conv1D(
        nb_filter,
        filter_length,
        strides=subsample_length,
        padding=border_mode,
        activation=activation,
        use_bias=bias,
        kernel_initializer=init,
        kernel_regularizer=W_regularizer,
        bias_regularizer=b_regularizer,
        **kwargs,
    )


def AtrousConvolution1D(
    nb_filter: int,
    filter_length: int,
    init="glorot_uniform",
    activation=None,
    border_mode="valid",
    subsample_length: int = 1,
    atrous_rate: int = 1,
    W_regularizer=None,
    b_regularizer=None,
    bias: bool = True,
    **kwargs,
) -> Conv1D:
    """Analytics Zoo / Keras 1 dilated 1-D convolution: Conv1D with dilation_rate=atrous_rate."""
    return Conv1D(
        nb_filter,
        filter_length,
        strides=subsample_length,
        padding=border_mode,
        dilation_rate=atrous_rate,
        activation=activation,
        use_bias=bias,
        kernel_initializer=init,
        kernel_regularizer=W_regularizer,
        bias_regularizer=b_regularizer,
        **kwargs,
    )


def Convolution3D(
    nb_filter: int,
    kernel_dim1: int,
    kernel_dim2: int,
    kernel_dim3: int,
    init="glorot_uniform",
    activation=None,
    border_mode="valid",
    subsample=(1, 1, 1),
    dim_ordering=None,
    W_regularizer=None,
    b_regularizer=None,
    bias: bool = True,
    **kwargs,
) -> Conv3D:
    """Analytics Zoo / Keras 1 spelling of Conv3D (dim_ordering default: the global one, 'th')."""
    return Conv3D(
        nb_filter,
        (kernel_dim1, kernel_dim2, kernel_dim3),
        strides=subsample,
        padding=border_mode,
        data_format=dim_ordering,
        activation=activation,
        use_bias=bias,
        kernel_initializer=init,
        kernel_regularizer=W_regularizer,
        bias_regularizer=b_regularizer,
        **kwargs,
    )


def Deconvolution2D(
    nb_filter: int,
    nb_row: int,
    nb_col: int,
    output_shape=None,
    init="glorot_uniform",
    activation=None,
    border_mode="valid",
    subsample=(1, 1),
    dim_ordering=None,
    W_regularizer=None,
    b_regularizer=None,
    bias: bool = True,
    **kwargs,
) -> Conv2DTranspose:
    """Analytics Zoo / Keras 1 transposed 2-D convolution. output_shape (optional, batch axis
    optional) is checked against the input and selects output_padding."""
    return Conv2DTranspose(
        nb_filter,
        (nb_row, nb_col),
        strides=subsample,
        padding=border_mode,
        data_format=dim_ordering,
        activation=activation,
        use_bias=bias,
        kernel_initializer=init,
        kernel_regularizer=W_regularizer,
        bias_regularizer=b_regularizer,
        output_shape=output_shape,
        **kwargs,
    )


def SeparableConvolution2D(
    nb_filter: int,
    nb_row: int,
    nb_col: int,
    init="glorot_uniform",
    activation=None,
    border_mode="valid",
    subsample=(1, 1),
    depth_multiplier: int = 1,
    dim_ordering=None,
    depthwise_regularizer=None,
    pointwise_regularizer=None,
    b_regularizer=None,
    bias: bool = True,
    **kwargs,
) -> SeparableConv2D:
    """Analytics Zoo / Keras 1 spelling of SeparableConv2D (init applies to both kernels)."""
    return SeparableConv2D(
        nb_filter,
        (nb_row, nb_col),
        strides=subsample,
        padding=border_mode,
        data_format=dim_ordering,
        depth_multiplier=depth_multiplier,
        activation=activation,
        use_bias=bias,
        depthwise_initializer=init,
        pointwise_initializer=init,
        depthwise_regularizer=depthwise_regularizer,
        pointwise_regularizer=pointwise_regularizer,
        bias_regularizer=b_regularizer,
        **kwargs,
    )


def ShareConvolution2D(
    nb_filter: int,
    nb_row: int,
    nb_col: int,
    init="glorot_uniform",
    activation=None,
    subsample=(1, 1),
    pad_h: int = 0,
    pad_w: int = 0,
    propagate_back: bool = True,
    dim_ordering=None,
    W_regularizer=None,
    b_regularizer=None,
    bias: bool = True,
    **kwargs,
) -> Conv2D:
    """Analytics Zoo's ShareConvolution2D: a Conv2D with explicit padding (pad_h, pad_w).

    Analytics Zoo shared its im2col buffers between layers; zoo's convolutions reuse their
    buffers anyway. propagate_back=False stops the gradient at the layer's input (the layers
    before it are not trained through it).
    """
    return Conv2D(
        nb_filter,
        (nb_row, nb_col),
        strides=subsample,
        padding=(pad_h, pad_w),
        data_format=dim_ordering,
        activation=activation,
        use_bias=bias,
        kernel_initializer=init,
        kernel_regularizer=W_regularizer,
        bias_regularizer=b_regularizer,
        propagate_back=propagate_back,
        **kwargs,
    )


# ---- shape layers: upsampling, zero padding, cropping, bilinear resize -----------------------------


class _Spatial(Layer):
    """A layer acting on the `rank` spatial axes of (batch, C, *spatial) or (batch, *spatial, C)."""

    rank = 2
    default_format = None

    def __init__(self, data_format=None, dim_ordering=None, **kwargs):
        super().__init__(**kwargs)
        fmt = dim_ordering if dim_ordering is not None else data_format
        fmt = self.default_format if fmt is None else fmt
        self.data_format = backend.normalize_data_format(fmt, f"{type(self).__name__} '{self.name}'")

    def _axes(self, shape) -> tuple:
        if len(shape) != self.rank + 2:
            raise self.error(f"expected input of rank {self.rank + 2}, got shape {tuple(shape)}")
        first = 2 if self.data_format == "channels_first" else 1
        return tuple(range(first, first + self.rank))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


def _pairs(layer, what: str, value, rank: int) -> tuple:
    """Keras's padding/cropping forms as rank (before, after) pairs: an int, rank ints (symmetric),
    rank pairs, or (2-D, Keras 1) four ints (top, bottom, left, right)."""

    def ok(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0

    if ok(value):
        return ((int(value), int(value)),) * rank
    try:
        t = tuple(value)
    except TypeError:
        t = ()
    if rank == 1 and len(t) == 2 and all(ok(v) for v in t):
        return ((int(t[0]), int(t[1])),)
    if len(t) == rank and all(ok(v) for v in t):
        return tuple((int(v), int(v)) for v in t)
    if len(t) == 2 * rank and rank == 2 and all(ok(v) for v in t):
        return ((int(t[0]), int(t[1])), (int(t[2]), int(t[3])))
    if len(t) == rank and all(
        isinstance(v, (tuple, list)) and len(v) == 2 and all(ok(u) for u in v) for v in t
    ):
        return tuple((int(v[0]), int(v[1])) for v in t)
    forms = (
        "an int or (before, after)" if rank == 1 else f"an int, {rank} ints or {rank} (before, after) pairs"
    )
    raise layer.error(f"{what} must be {forms} of non-negative ints, got {value!r}")


class UpSampling2D(_Spatial):
    """Repeats rows and columns: (batch, C, H, W) -> (batch, C, H*sh, W*sw) (or channels-last).

    Args:
        size: int or (sh, sw). data_format (Keras 1: dim_ordering).
        interpolation: 'nearest' (repeat) or 'bilinear' (tf.image.resize's half-pixel bilinear).
    """

    rank = 2

    def __init__(self, size=2, data_format=None, interpolation: str = "nearest", dim_ordering=None, **kwargs):
        super().__init__(data_format, dim_ordering, **kwargs)
        self.size = to_tuple(self, "size", size, self.rank)
        if interpolation not in ("nearest", "bilinear") or (interpolation == "bilinear" and self.rank != 2):
            allowed = "'nearest' or 'bilinear'" if self.rank == 2 else "'nearest'"
            raise self.error(f"interpolation must be {allowed}, got {interpolation!r}")
        self.interpolation = interpolation

    def call(self, x):
        axes = self._axes(x.shape)
        if self.interpolation == "bilinear":
            h, w = (x.shape[a] for a in axes)
            if h is None or w is None:
                raise self.error(f"bilinear upsampling needs known spatial sizes, got shape {x.shape}")
            op = CX.ResizeBilinear(
                (h * self.size[0], w * self.size[1]), half_pixel_centers=True, data_format=self.data_format
            )
            return F.apply_op(op, [x])
        return F.apply_op(CX.Upsample(self.size, axes), [x])

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "interpolation": self.interpolation}


class UpSampling3D(UpSampling2D):
    """Repeats the three spatial axes: (batch, C, D, H, W) -> (batch, C, D*s1, H*s2, W*s3) (or channels-last)."""

    rank = 3

    def __init__(self, size=2, data_format=None, dim_ordering=None, **kwargs):
        super().__init__(size, data_format, "nearest", dim_ordering, **kwargs)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("interpolation")
        return cfg


class UpSampling1D(_Spatial):
    """Repeats each step `size` times: (batch, steps, features) -> (batch, steps*size, features).

    Args: size (Keras 1 / Analytics Zoo: length).
    """

    rank = 1
    default_format = "channels_last"

    def __init__(self, size: int = 2, length: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.size = check_positive_int(self, "size", size if length is None else length)

    def call(self, x):
        return F.apply_op(CX.Upsample((self.size,), self._axes(x.shape)), [x])

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("data_format")
        return {**cfg, "size": self.size}


class ZeroPadding2D(_Spatial):
    """Adds rows and columns of zeros around each image.

    Args:
        padding: an int, (sym_h, sym_w), ((top, bottom), (left, right)) or (Keras 1)
            (top, bottom, left, right). data_format (Keras 1: dim_ordering).
    """

    rank = 2
    default_padding = 1

    def __init__(self, padding=None, data_format=None, dim_ordering=None, **kwargs):
        super().__init__(data_format, dim_ordering, **kwargs)
        padding = self.default_padding if padding is None else padding
        self.padding = _pairs(self, "padding", padding, self.rank)

    def call(self, x):
        axes = self._axes(x.shape)
        pads = [(0, 0)] * len(x.shape)
        for a, p in zip(axes, self.padding):
            pads[a] = p
        return F.apply_op(S.Pad(pads), [x])

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding]}


class ZeroPadding3D(ZeroPadding2D):
    """Adds zeros around each volume. padding: an int, 3 ints, or 3 (before, after) pairs."""

    rank = 3


class ZeroPadding1D(ZeroPadding2D):
    """Adds zeros at the start and end of the steps of (batch, steps, features). padding: int or (left, right)."""

    rank = 1
    default_format = "channels_last"

    def __init__(self, padding=1, **kwargs):
        super().__init__(padding, **kwargs)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("data_format")
        return cfg


class Cropping2D(_Spatial):
    """Removes rows and columns at the borders of each image.

    Args:
        cropping: an int, (sym_h, sym_w) or ((top, bottom), (left, right)). data_format (Keras 1: dim_ordering).
    """

    rank = 2
    default_cropping = 0

    def __init__(self, cropping=None, data_format=None, dim_ordering=None, **kwargs):
        super().__init__(data_format, dim_ordering, **kwargs)
        cropping = self.default_cropping if cropping is None else cropping
        self.cropping = _pairs(self, "cropping", cropping, self.rank)

    def call(self, x):
        axes = self._axes(x.shape)
        index = [slice(None)] * len(x.shape)
        for i, (a, (lo, hi)) in enumerate(zip(axes, self.cropping)):
            size = x.shape[a]
            if size is not None and lo + hi >= size:
                raise self.error(
                    f"cropping {self.cropping} leaves nothing of spatial axis {i} (size {size}), "
                    f"input shape {x.shape}"
                )
            index[a] = slice(lo, -hi if hi else None)
        return F.getitem(x, tuple(index))

    def get_config(self):
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping]}


class Cropping3D(Cropping2D):
    """Removes voxels at the borders of each volume. cropping: an int, 3 ints or 3 (before, after) pairs."""

    rank = 3
    default_cropping = 1


class Cropping1D(Cropping2D):
    """Removes steps at the start and end of (batch, steps, features). cropping: int or (start, end)."""

    rank = 1
    default_format = "channels_last"
    default_cropping = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, **kwargs)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("data_format")
        return cfg


class ResizeBilinear(_Spatial):
    """Bilinear resize of each image to (output_height, output_width) (Analytics Zoo's ResizeBilinear).

    Source coordinate of output row i: i*scale with scale = H/OH, or (H-1)/(OH-1) with
    align_corners (TensorFlow's resize_bilinear, as BigDL); with half_pixel_centers
    (i + 0.5)*scale - 0.5 (tf.image.resize's bilinear). Same for columns.

    Args:
        output_height, output_width: positive ints.
        align_corners (Analytics Zoo: align_corner), half_pixel_centers: bools, not both.
        data_format (Analytics Zoo: dim_ordering).
    """

    rank = 2

    def __init__(
        self,
        output_height: int,
        output_width: int,
        align_corners: bool = False,
        data_format=None,
        half_pixel_centers: bool = False,
        dim_ordering=None,
        align_corner=None,
        **kwargs,
    ):
        super().__init__(data_format, dim_ordering, **kwargs)
        self.output_height = check_positive_int(self, "output_height", output_height)
        self.output_width = check_positive_int(self, "output_width", output_width)
        self.align_corners = bool(align_corners if align_corner is None else align_corner)
        self.half_pixel_centers = bool(half_pixel_centers)
        if self.align_corners and self.half_pixel_centers:
            raise self.error("align_corners and half_pixel_centers cannot both be True")

    def call(self, x):
        self._axes(x.shape)
        op = CX.ResizeBilinear(
            (self.output_height, self.output_width),
            self.align_corners,
            self.half_pixel_centers,
            self.data_format,
        )
        return F.apply_op(op, [x])

    def get_config(self):
        return {
            **super().get_config(),
            "output_height": self.output_height,
            "output_width": self.output_width,
            "align_corners": self.align_corners,
            "half_pixel_centers": self.half_pixel_centers,
        }
