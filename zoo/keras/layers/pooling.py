"""Pooling layers: max/average 1-D, 2-D and 3-D, and global pooling.

Keras 2/3 arguments (pool_size, strides, padding, data_format) and Analytics Zoo / Keras 1
ones (pool_length, stride, border_mode, dim_ordering, pads, count_include_pad). Windows that
overhang the input under 'same' padding ignore the padding (max) or do not count it (average),
as Keras; explicit pads (Analytics Zoo) are each smaller than the pool size.
"""

from __future__ import annotations

import numpy as np

from zoo.engine import functional as F
from zoo.engine.ops import conv3d as C3
from zoo.engine.ops import pool as P
from zoo.keras.layers.base import Layer, first_given, to_channels_first, to_channels_last, to_tuple

__all__ = [
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
]


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


class _Pool(Layer):
    rank = 2
    kind = "max"
    default_format = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, border_mode=None,
                 dim_ordering=None, pads=None, count_include_pad: bool = False, **kwargs):
        super().__init__(**kwargs)
        n = self.rank
        self.pool_size = to_tuple(self, "pool_size", pool_size, n)
        self.strides = self.pool_size if strides is None else to_tuple(self, "strides", strides, n)
        padding = border_mode if border_mode is not None else padding
        if pads is not None:
            padding = self._explicit(pads)
        elif not (isinstance(padding, str) and padding.lower() in ("valid", "same")):
            padding = self._explicit(padding)
        self.padding = padding.lower() if isinstance(padding, str) else padding
        self.data_format = self._data_format(first_given(dim_ordering, data_format), self.default_format)
        if not isinstance(count_include_pad, (bool, np.bool_)):
            raise TypeError(
                f"{type(self).__name__} '{self.name}': count_include_pad must be a bool, "
                f"got {count_include_pad!r}"
            )
        if count_include_pad and self.kind != "avg":
            raise TypeError(
                f"{type(self).__name__} '{self.name}': unexpected argument(s) ['count_include_pad']"
            )
        self.count_include_pad = bool(count_include_pad)

    def _explicit(self, pads) -> tuple:
        """Explicit pads: an int, rank ints, rank (before, after) pairs, or (2-D) (top, bottom, left, right)."""
        n = self.rank
        t = tuple(pads) if isinstance(pads, (list, tuple)) else pads
        if n == 2 and isinstance(t, tuple) and len(t) == 4 and all(_is_int(v) for v in t):
            t = ((t[0], t[1]), (t[2], t[3]))
        try:
            out = C3.parse_padding(t, n, "", allow=())
        except ValueError:
            raise self.error(
                f"padding must be 'valid', 'same' or explicit pads (an int, {n} ints or {n} (before, "
                f"after) pairs), got {pads!r}"
            ) from None
        if any(max(p) >= k for p, k in zip(out, self.pool_size)):
            raise self.error(f"pads must be smaller than the pool size {self.pool_size}, got {pads!r}")
        return out

    def _op(self):
        n, p = self.rank, self.padding
        if n == 3:
            if self.kind == "max":
                return C3.MaxPool3D(self.pool_size, self.strides, p)
            return C3.AvgPool3D(self.pool_size, self.strides, p, count_include_pad=self.count_include_pad)
        if n == 2:
            if self.kind == "max":
                return P.MaxPool2D(self.pool_size, self.strides, p)
            return P.AvgPool2D(self.pool_size, self.strides, p, count_include_pad=self.count_include_pad)
        p1 = p if isinstance(p, str) else p[0]
        if self.kind == "max":
            return P.MaxPool1D(self.pool_size[0], self.strides[0], p1)
        return P.AvgPool1D(self.pool_size[0], self.strides[0], p1, count_include_pad=self.count_include_pad)

    def call(self, x):
        n = self.rank
        if len(x.shape) != n + 2:
            raise self.error(f"expected input of rank {n + 2}, got shape {x.shape}")
        last = self.data_format == "channels_last"
        y = F.apply_op(self._op(), [to_channels_first(x, n) if last else x])
        return to_channels_last(y, n) if last else y

    def get_config(self):
        cfg = {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding if isinstance(self.padding, str) else [list(v) for v in self.padding],
            "data_format": self.data_format,
        }
        if self.kind == "avg":
            cfg["count_include_pad"] = self.count_include_pad
        return cfg


class MaxPooling2D(_Pool):
    """Max over pool_size windows moved by strides (default pool_size).

    Args:
        pool_size: int or pair. strides: int, pair or None (= pool_size).
        padding (Keras 1: border_mode): 'valid' or 'same'; pads: explicit padding (an int, a
            pair, (top, bottom, left, right) or pairs), each side smaller than the pool size.
        data_format (Keras 1: dim_ordering): 'channels_first' (default unless changed
            globally) or 'channels_last'.
    Input (batch, C, H, W) or (batch, H, W, C).
    """


class AveragePooling2D(_Pool):
    """Average over pool_size windows moved by strides; padding not counted (as Keras) unless
    count_include_pad (Analytics Zoo / Caffe). Args as MaxPooling2D."""

    kind = "avg"


class MaxPooling3D(_Pool):
    """Max over pool_size windows of (batch, C, D, H, W) (or channels-last) volumes. Args as MaxPooling2D
    with triples."""

    rank = 3


class AveragePooling3D(_Pool):
    """Average over pool_size windows of volumes (padding not counted unless count_include_pad)."""

    rank = 3
    kind = "avg"


class MaxPooling1D(_Pool):
    """Temporal max pooling over (batch, steps, channels) (channels-last by default).

    Keras 1 / Analytics Zoo: pool_length, stride, border_mode, pad (explicit padding on both ends).
    """

    rank = 1
    default_format = "channels_last"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, pool_length=None, stride=None,
                 pad=None, **kwargs):
        super().__init__(pool_length or pool_size, stride if stride is not None else strides, padding, data_format,
                         pads=pad if pad else None, **kwargs)


class AveragePooling1D(MaxPooling1D):
    """Temporal average pooling."""

    kind = "avg"


class _GlobalPool(Layer):
    rank = 2
    kind = "avg"

    def __init__(self, data_format=None, keepdims: bool = False, dim_ordering=None, **kwargs):
        super().__init__(**kwargs)
        default = "channels_last" if self.rank == 1 else None
        self.data_format = self._data_format(first_given(dim_ordering, data_format), default)
        self.keepdims = bool(keepdims)

    def call(self, x):
        if len(x.shape) != self.rank + 2:
            raise self.error(f"expected input of rank {self.rank + 2}, got shape {x.shape}")
        axes = (
            tuple(range(2, self.rank + 2))
            if self.data_format == "channels_first"
            else tuple(range(1, self.rank + 1))
        )
        return F.reduce(x, "mean" if self.kind == "avg" else "max", axes, self.keepdims)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPool):
    """Mean over the spatial axes: (batch, C, H, W) -> (batch, C) (keepdims: (batch, C, 1, 1))."""


class GlobalMaxPooling2D(_GlobalPool):
    """Max over the spatial axes."""

    kind = "max"


class GlobalAveragePooling3D(_GlobalPool):
    """Mean over the three spatial axes: (batch, C, D, H, W) -> (batch, C)."""

    rank = 3


class GlobalMaxPooling3D(_GlobalPool):
    """Max over the three spatial axes."""

    rank = 3
    kind = "max"


class GlobalAveragePooling1D(_GlobalPool):
    """Mean over the steps of (batch, steps, channels)."""

    rank = 1


class GlobalMaxPooling1D(_GlobalPool):
    """Max over the steps of (batch, steps, channels)."""

    rank = 1
    kind = "max"
