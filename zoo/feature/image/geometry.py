"""Geometric transforms: resize, aspect scale, crops, flips, expand, fill."""

from __future__ import annotations

import math
from collections.abc import Sequence

from zoo.feature.image._checks import number, ordered, positive_int, saturate
from zoo.feature.image.base import ImagePreprocessing, RandomImagePreprocessing
from zoo.feature.image.imagefeature import ImageFeature, _cv2

__all__ = [
    "ImageAspectScale",
    "ImageCenterCrop",
    "ImageExpand",
    "ImageFiller",
    "ImageFixedCrop",
    "ImageHFlip",
    "ImageMirror",
    "ImageRandomAspectScale",
    "ImageRandomCrop",
    "ImageResize",
]

# OpenCV interpolation codes: INTER_NEAREST=0, INTER_LINEAR=1, INTER_CUBIC=2, INTER_AREA=3, INTER_LANCZOS4=4
_INTERPOLATIONS = (1, 2, 3, 0, 4)


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _resize(mat, h: int, w: int, mode: int):
    if mat.shape[0] == h and mat.shape[1] == w:
        return mat
    return _cv2().resize(mat, (w, h), interpolation=mode)


class ImageResize(RandomImagePreprocessing):
    """Resize to (resize_h, resize_w) with OpenCV: ``cv2.resize(mat, (w, h), interpolation=mode)``.

    Args:
        resize_h, resize_w: positive ints, the output height and width.
        resize_mode: OpenCV interpolation (0 nearest, 1 linear (default), 2 cubic,
            3 area, 4 Lanczos), or -1 to draw one of them at random per image.
        use_scale_factor: kept for Analytics Zoo compatibility (no effect).
        seed: seed of the random interpolation choice (resize_mode=-1).
    Shape: (H, W, C) -> (resize_h, resize_w, C), dtype kept.
    """

    def __init__(self, resize_h: int, resize_w: int, resize_mode: int = 1, use_scale_factor: bool = True,
                 seed: int | None = None):
        super().__init__(seed)
        self.resize_h = positive_int("ImageResize", "resize_h", resize_h)
        self.resize_w = positive_int("ImageResize", "resize_w", resize_w)
        if resize_mode not in (-1,) + _INTERPOLATIONS:
            raise ValueError(f"ImageResize: resize_mode must be -1 or an OpenCV interpolation in "
                             f"{sorted(_INTERPOLATIONS)}, got {resize_mode!r}")
        self.resize_mode = resize_mode
        self.use_scale_factor = bool(use_scale_factor)

    def transform_mat(self, mat, feature):
        mode = self.resize_mode
        if mode == -1:
            mode = _INTERPOLATIONS[int(self.rng.integers(len(_INTERPOLATIONS)))]
        return _resize(mat, self.resize_h, self.resize_w, mode)


def aspect_scale_size(height: int, width: int, scale_to: float, max_size: int, scale_multiple_of: int,
                      min_scale: float | None = None) -> tuple[int, int]:
    """Output (height, width) of a short-edge resize to ``scale_to``, long edge at most ``max_size``.

    ``s = scale_to / min(H, W)``, reduced to ``max_size / max(H, W)`` when
    ``round(s * max(H, W)) > max_size``, raised to ``min_scale`` if given; with
    ``scale_multiple_of = m > 1`` each side is floored to a multiple of m.
    """
    lo, hi = min(height, width), max(height, width)
    scale = float(scale_to) / lo
    if _round_half_up(scale * hi) > max_size:
        scale = float(max_size) / hi
    if min_scale is not None:
        scale = max(float(min_scale), scale)
    if scale_multiple_of > 1:
        sh = math.floor(height * scale / scale_multiple_of) * scale_multiple_of / height
        sw = math.floor(width * scale / scale_multiple_of) * scale_multiple_of / width
    else:
        sh = sw = scale
    return max(1, _round_half_up(sh * height)), max(1, _round_half_up(sw * width))


class ImageAspectScale(ImagePreprocessing):
    """Resize so that the short edge is ``min_size`` and the long edge at most ``max_size``.

    See :func:`aspect_scale_size` for the exact size rule (BigDL's AspectScale).

    Args:
        min_size: positive int, target of the short edge.
        scale_multiple_of: positive int; each output side is a multiple of it.
        max_size: positive int, cap of the long edge.
        resize_mode: OpenCV interpolation code.
        use_scale_factor: kept for compatibility (no effect).
        min_scale: optional lower bound of the scale factor.
    Shape: (H, W, C) -> (H', W', C).
    """

    def __init__(self, min_size: int, scale_multiple_of: int = 1, max_size: int = 1000,
                 resize_mode: int = 1, use_scale_factor: bool = True, min_scale: float | None = None):
        self.min_size = positive_int("ImageAspectScale", "min_size", min_size)
        self.scale_multiple_of = positive_int("ImageAspectScale", "scale_multiple_of", scale_multiple_of)
        self.max_size = positive_int("ImageAspectScale", "max_size", max_size)
        if resize_mode not in _INTERPOLATIONS:
            raise ValueError(f"ImageAspectScale: resize_mode must be an OpenCV interpolation in "
                             f"{sorted(_INTERPOLATIONS)}, got {resize_mode!r}")
        self.resize_mode = resize_mode
        self.use_scale_factor = bool(use_scale_factor)
        self.min_scale = None if min_scale is None else number("ImageAspectScale", "min_scale", min_scale)

    def transform_mat(self, mat, feature):
        h, w = aspect_scale_size(mat.shape[0], mat.shape[1], self.min_size, self.max_size,
                                 self.scale_multiple_of, self.min_scale)
        return _resize(mat, h, w, self.resize_mode)


class ImageRandomAspectScale(RandomImagePreprocessing):
    """ImageAspectScale with the short-edge target drawn at random from ``scales``.

    Args:
        scales: non-empty list of positive ints.
        scale_multiple_of, max_size: as in ImageAspectScale.
        seed: seed of the draws.
    """

    def __init__(self, scales: Sequence[int], scale_multiple_of: int = 1, max_size: int = 1000,
                 seed: int | None = None):
        super().__init__(seed)
        if isinstance(scales, (int, float)) or len(scales) == 0:
            raise ValueError(f"ImageRandomAspectScale: scales must be a non-empty list of positive ints, "
                             f"got {scales!r}")
        self.scales = [positive_int("ImageRandomAspectScale", "scales[i]", s) for s in scales]
        self.scale_multiple_of = positive_int("ImageRandomAspectScale", "scale_multiple_of",
                                              scale_multiple_of)
        self.max_size = positive_int("ImageRandomAspectScale", "max_size", max_size)

    def transform_mat(self, mat, feature):
        scale = self.scales[int(self.rng.integers(len(self.scales)))]
        h, w = aspect_scale_size(mat.shape[0], mat.shape[1], scale, self.max_size, self.scale_multiple_of)
        return _resize(mat, h, w, 1)


def _crop(who: str, mat, feature: ImageFeature, x1: float, y1: float, x2: float, y2: float,
          is_clip: bool):
    h, w = mat.shape[:2]
    if is_clip:
        x1, x2 = min(max(x1, 0.0), w), min(max(x2, 0.0), w)
        y1, y2 = min(max(y1, 0.0), h), min(max(y2, 0.0), h)
    ix1, iy1 = int(x1), int(y1)
    cw, ch = int(x2 - x1), int(y2 - y1)
    if cw <= 0 or ch <= 0 or ix1 < 0 or iy1 < 0 or ix1 + cw > w or iy1 + ch > h:
        raise ValueError(f"{who}: crop region (x1={x1:g}, y1={y1:g}, x2={x2:g}, y2={y2:g}) does not fit "
                         f"in the image of size {w}x{h} (width x height)"
                         + ("" if is_clip else "; pass is_clip=True to clip it"))
    feature[ImageFeature.CROP_BBOX] = (ix1, iy1, ix1 + cw, iy1 + ch)
    return mat[iy1:iy1 + ch, ix1:ix1 + cw].copy()


class ImageCenterCrop(ImagePreprocessing):
    """Crop a ``crop_width`` x ``crop_height`` region from the centre.

    The region starts at ``(int((W - cw) / 2), int((H - ch) / 2))`` (clipped to the
    image when ``is_clip``); its pixel box (x1, y1, x2, y2) is stored under ``cropBbox``.
    Shape: (H, W, C) -> (crop_height, crop_width, C).
    """

    def __init__(self, crop_width: int, crop_height: int, is_clip: bool = True):
        self.crop_width = positive_int("ImageCenterCrop", "crop_width", crop_width)
        self.crop_height = positive_int("ImageCenterCrop", "crop_height", crop_height)
        self.is_clip = bool(is_clip)

    def transform_mat(self, mat, feature):
        h, w = mat.shape[:2]
        x1, y1 = (w - self.crop_width) / 2.0, (h - self.crop_height) / 2.0
        return _crop("ImageCenterCrop", mat, feature, x1, y1, x1 + self.crop_width, y1 + self.crop_height,
                     self.is_clip)


class ImageRandomCrop(RandomImagePreprocessing):
    """Crop a ``crop_width`` x ``crop_height`` region at a uniformly random position.

    ``x1 ~ U{0, ..., W - cw}``, ``y1 ~ U{0, ..., H - ch}``; the box is stored under
    ``cropBbox``. When the crop is larger than the image, ``is_clip`` clips it to the image.
    """

    def __init__(self, crop_width: int, crop_height: int, is_clip: bool = True, seed: int | None = None):
        super().__init__(seed)
        self.crop_width = positive_int("ImageRandomCrop", "crop_width", crop_width)
        self.crop_height = positive_int("ImageRandomCrop", "crop_height", crop_height)
        self.is_clip = bool(is_clip)

    def transform_mat(self, mat, feature):
        h, w = mat.shape[:2]
        x1 = int(self.rng.integers(0, max(w - self.crop_width, 0) + 1))
        y1 = int(self.rng.integers(0, max(h - self.crop_height, 0) + 1))
        return _crop("ImageRandomCrop", mat, feature, x1, y1, x1 + self.crop_width, y1 + self.crop_height,
                     self.is_clip)


class ImageFixedCrop(ImagePreprocessing):
    """Crop the box (x1, y1, x2, y2), in pixels or normalized to [0, 1] when ``normalized``.

    Normalized coordinates are multiplied by W (x) and H (y); the box starts at
    ``(int(x1), int(y1))`` and spans ``int(x2 - x1)`` x ``int(y2 - y1)`` pixels.
    """

    def __init__(self, x1: float, y1: float, x2: float, y2: float, normalized: bool = True,
                 is_clip: bool = True):
        self.x1, self.x2 = ordered("ImageFixedCrop", "x1", x1, "x2", x2)
        self.y1, self.y2 = ordered("ImageFixedCrop", "y1", y1, "y2", y2)
        self.normalized = bool(normalized)
        self.is_clip = bool(is_clip)

    def transform_mat(self, mat, feature):
        h, w = mat.shape[:2]
        sx, sy = (w, h) if self.normalized else (1, 1)
        return _crop("ImageFixedCrop", mat, feature, self.x1 * sx, self.y1 * sy, self.x2 * sx, self.y2 * sy,
                     self.is_clip)


class ImageHFlip(ImagePreprocessing):
    """Flip left-right: ``out[i, j] = in[i, W - 1 - j]`` (``cv2.flip(mat, 1)``)."""

    def transform_mat(self, mat, feature):
        return _cv2().flip(mat, 1)


class ImageMirror(ImagePreprocessing):
    """Flip both axes: ``out[i, j] = in[H - 1 - i, W - 1 - j]`` (``cv2.flip(mat, -1)``)."""

    def transform_mat(self, mat, feature):
        return _cv2().flip(mat, -1)


class ImageExpand(RandomImagePreprocessing):
    """Zoom out: place the image at a random offset on a larger canvas filled with the means.

    ``r ~ U(min_expand_ratio, max_expand_ratio)``, canvas ``(int(H r), int(W r))``,
    offsets ``floor(U(0, H' - H))``, ``floor(U(0, W' - W))``. The canvas is filled
    with (means_b, means_g, means_r) (BGR). The image box on the canvas,
    (x1, y1, x2, y2) in pixels, is stored under ``expandBbox``.
    """

    def __init__(self, means_r: float = 123, means_g: float = 117, means_b: float = 104,
                 min_expand_ratio: float = 1.0, max_expand_ratio: float = 4.0, seed: int | None = None):
        super().__init__(seed)
        self.means_r = number("ImageExpand", "means_r", means_r)
        self.means_g = number("ImageExpand", "means_g", means_g)
        self.means_b = number("ImageExpand", "means_b", means_b)
        self.min_expand_ratio, self.max_expand_ratio = ordered(
            "ImageExpand", "min_expand_ratio", min_expand_ratio, "max_expand_ratio", max_expand_ratio)
        if self.min_expand_ratio < 1.0:
            raise ValueError(f"ImageExpand: min_expand_ratio must be >= 1, got {self.min_expand_ratio}")

    def transform_mat(self, mat, feature):
        import numpy as np

        ratio = float(self.rng.uniform(self.min_expand_ratio, self.max_expand_ratio))
        h, w, c = mat.shape
        eh, ew = max(int(h * ratio), h), max(int(w * ratio), w)
        h_off = math.floor(self.rng.uniform(0, eh - h))
        w_off = math.floor(self.rng.uniform(0, ew - w))
        fill = [self.means_b, self.means_g, self.means_r, 0.0][:c] if c >= 3 else [self.means_b] * c
        out = np.empty((eh, ew, c), mat.dtype)
        out[...] = saturate(np.asarray(fill, np.float32), mat.dtype)
        out[h_off:h_off + h, w_off:w_off + w] = mat
        feature[ImageFeature.EXPAND_BBOX] = (w_off, h_off, w_off + w, h_off + h)
        return out


class ImageFiller(ImagePreprocessing):
    """Fill the normalized region [start_x, end_x] x [start_y, end_y] with ``value``.

    Pixel bounds are ``ceil(start_x W)``, ``ceil(end_x W)`` (same for y); every channel
    of the region becomes ``value``.
    """

    def __init__(self, start_x: float, start_y: float, end_x: float, end_y: float, value: int = 255):
        self.start_x, self.end_x = ordered("ImageFiller", "start_x", start_x, "end_x", end_x)
        self.start_y, self.end_y = ordered("ImageFiller", "start_y", start_y, "end_y", end_y)
        for name in ("start_x", "start_y", "end_x", "end_y"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"ImageFiller: {name} must be in [0, 1] (normalized), got {v}")
        self.value = number("ImageFiller", "value", value)

    def transform_mat(self, mat, feature):
        import numpy as np

        h, w = mat.shape[:2]
        x1, x2 = math.ceil(self.start_x * w), math.ceil(self.end_x * w)
        y1, y2 = math.ceil(self.start_y * h), math.ceil(self.end_y * h)
        out = mat.copy()
        out[y1:y2, x1:x2] = saturate(np.float32(self.value), mat.dtype)
        return out
