"""The spatial shape layers of the convolution family: UpSampling, ZeroPadding and Cropping
(1-D/2-D/3-D) and ResizeBilinear, channels-first by default (channels-last as Keras)."""

from __future__ import annotations

import numpy as np

from zoo.engine import functional as F
from zoo.engine.ops import conv_extra as CX
from zoo.engine.ops import shape as S
from zoo.keras.layers.base import Layer, check_positive_int, to_tuple

__all__ = [
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "ResizeBilinear",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
]


class _Spatial(Layer):
    """A layer acting on the `rank` spatial axes of (batch, C, *spatial) or (batch, *spatial, C)."""

    rank = 2
    default_format = None

    def __init__(self, data_format=None, dim_ordering=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = self._data_format(dim_ordering if dim_ordering is not None else data_format,
                                             self.default_format)

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
