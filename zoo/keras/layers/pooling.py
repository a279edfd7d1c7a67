"""Pooling layers: max/average 1-D and 2-D, and global pooling."""

from __future__ import annotations

from zoo.engine import functional as F
from zoo.keras import backend
from zoo.keras.layers.base import Layer, to_tuple

__all__ = ["MaxPooling2D", "AveragePooling2D", "MaxPooling1D", "AveragePooling1D", "GlobalAveragePooling2D",
           "GlobalMaxPooling2D", "GlobalAveragePooling1D", "GlobalMaxPooling1D"]


class _Pool(Layer):
    rank = 2
    kind = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, border_mode=None, **kwargs):
        super().__init__(**kwargs)
        n = self.rank
        self.pool_size = to_tuple(self, "pool_size", pool_size, n)
        self.strides = self.pool_size if strides is None else to_tuple(self, "strides", strides, n)
        padding = border_mode if border_mode is not None else padding
        if str(padding).lower() not in ("valid", "same"):
            raise ValueError(f"{type(self).__name__} '{self.name}': padding must be 'valid' or 'same', got {padding!r}")
        self.padding = str(padding).lower()
        default = "channels_last" if self.rank == 1 and data_format is None else data_format
        self.data_format = backend.normalize_data_format(default, f"{type(self).__name__} '{self.name}'")

    def call(self, x):
        if len(x.shape) != self.rank + 2:
            raise self.error(f"expected input of rank {self.rank + 2}, got shape {x.shape}")
        last = self.data_format == "channels_last"
        if last:
            x = F.transpose(x, (0, self.rank + 1) + tuple(range(1, self.rank + 1)))
        fn = F.max_pool if self.kind == "max" else F.avg_pool
        y = fn(x, self.pool_size, self.strides, self.padding)
        if last:
            y = F.transpose(y, (0,) + tuple(range(2, self.rank + 2)) + (1,))
        return y

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling2D(_Pool):
    """Max over pool_size windows moved by strides (default pool_size)."""


class AveragePooling2D(_Pool):
    """Average over pool_size windows moved by strides (padding not counted, as Keras)."""

    kind = "avg"


class MaxPooling1D(_Pool):
    """Temporal max pooling over (batch, steps, channels) (Keras 1: pool_length, stride)."""

    rank = 1

    def __init__(self, pool_size=2, strides=None, padding="valid", pool_length=None, stride=None, **kwargs):
        super().__init__(pool_length or pool_size, stride if stride is not None else strides, padding, **kwargs)


class AveragePooling1D(MaxPooling1D):
    """Temporal average pooling."""

    kind = "avg"


class _GlobalPool(Layer):
    rank = 2
    kind = "avg"

    def __init__(self, data_format=None, keepdims: bool = False, dim_ordering=None, **kwargs):
        super().__init__(**kwargs)
        fmt = dim_ordering if dim_ordering is not None else data_format
        if fmt is None and self.rank == 1:
            fmt = "channels_last"
        self.data_format = backend.normalize_data_format(fmt, f"{type(self).__name__} '{self.name}'")
        self.keepdims = bool(keepdims)

    def call(self, x):
        if len(x.shape) != self.rank + 2:
            raise self.error(f"expected input of rank {self.rank + 2}, got shape {x.shape}")
        axes = tuple(range(2, self.rank + 2)) if self.data_format == "channels_first" else tuple(range(1, self.rank + 1))
        return F.reduce(x, "mean" if self.kind == "avg" else "max", axes, self.keepdims)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPool):
    """Mean over the spatial axes: (batch, C, H, W) -> (batch, C)."""


class GlobalMaxPooling2D(_GlobalPool):
    """Max over the spatial axes."""

    kind = "max"


class GlobalAveragePooling1D(_GlobalPool):
    """Mean over the steps of (batch, steps, channels)."""

    rank = 1


class GlobalMaxPooling1D(_GlobalPool):
    """Max over the steps of (batch, steps, channels)."""

    rank = 1
    kind = "max"
