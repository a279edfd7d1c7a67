"""Photometric transforms: brightness, contrast, saturation, hue, channel order, colour jitter.

All act on BGR images with 3 channels (brightness and contrast on any number). uint8
images saturate like OpenCV's ``convertTo`` (round half to even, clip to [0, 255]);
float32 images are not clipped.
"""

from __future__ import annotations

from zoo.feature.common import _child_seed
from zoo.feature.image._checks import channels, number, ordered, probability, saturate
from zoo.feature.image.base import ImageRandomPreprocessing, RandomImagePreprocessing
from zoo.feature.image.imagefeature import ImageFeature, _cv2

__all__ = [
    "ImageBrightness",
    "ImageChannelOrder",
    "ImageColorJitter",
    "ImageContrast",
    "ImageHue",
    "ImageSaturation",
]


def adjust_brightness(mat, delta: float):
    """``out = saturate(in + delta)``."""
    import numpy as np

    return saturate(mat.astype(np.float32) + np.float32(delta), mat.dtype)


def adjust_contrast(mat, alpha: float):
    """``out = saturate(alpha * in)``."""
    import numpy as np

    return saturate(mat.astype(np.float32) * np.float32(alpha), mat.dtype)


def _hsv(mat):
    cv2 = _cv2()
    return cv2.cvtColor(mat, cv2.COLOR_BGR2HSV)


def _bgr(hsv):
    cv2 = _cv2()
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def adjust_saturation(mat, alpha: float):
    """BGR -> HSV (OpenCV), ``S = saturate(alpha * S)``, HSV -> BGR."""
    import numpy as np

    hsv = _hsv(mat)
    s = hsv[:, :, 1].astype(np.float32) * np.float32(alpha)
    hsv[:, :, 1] = saturate(s, mat.dtype) if mat.dtype == np.uint8 else np.clip(s, 0.0, 1.0)
    return _bgr(hsv)


def adjust_hue(mat, delta: float):
    """BGR -> HSV (OpenCV), ``H = (H + delta) mod period``, HSV -> BGR.

    ``delta`` is in OpenCV's hue unit for the image's depth: half-degrees for uint8
    (period 180), degrees for float32 (period 360).
    """
    import numpy as np

    hsv = _hsv(mat)
    if mat.dtype == np.uint8:
        h = np.mod(np.rint(hsv[:, :, 0].astype(np.float32) + np.float32(delta)), 180.0)
        hsv[:, :, 0] = h.astype(np.uint8)
    else:
        hsv[:, :, 0] = np.mod(hsv[:, :, 0] + np.float32(delta), np.float32(360.0))
    return _bgr(hsv)


class _UniformDelta(RandomImagePreprocessing):
    _who = ""

    def __init__(self, delta_low: float, delta_high: float, seed: int | None = None):
        super().__init__(seed)
        self.delta_low, self.delta_high = ordered(self._who, "delta_low", delta_low, "delta_high", delta_high)

    def _draw(self) -> float:
        return float(self.rng.uniform(self.delta_low, self.delta_high))


class ImageBrightness(_UniformDelta):
    """Add ``delta ~ U(delta_low, delta_high)`` to every pixel: ``out = saturate(in + delta)``."""

    _who = "ImageBrightness"

    def transform_mat(self, mat, feature):
        delta = self._draw()
        return mat if delta == 0 else adjust_brightness(mat, delta)


class ImageContrast(_UniformDelta):
    """Scale every pixel by ``alpha ~ U(delta_low, delta_high)``: ``out = saturate(alpha * in)``."""

    _who = "ImageContrast"

    def transform_mat(self, mat, feature):
        alpha = self._draw()
        return mat if abs(alpha - 1.0) <= 1e-3 else adjust_contrast(mat, alpha)


class ImageSaturation(_UniformDelta):
    """Scale the HSV saturation by ``alpha ~ U(delta_low, delta_high)`` (3-channel BGR images)."""

    _who = "ImageSaturation"

    def transform_mat(self, mat, feature):
        channels(self._who, mat)
        alpha = self._draw()
        return mat if abs(alpha - 1.0) <= 1e-3 else adjust_saturation(mat, alpha)


class ImageHue(_UniformDelta):
    """Rotate the HSV hue by ``delta ~ U(delta_low, delta_high)`` (3-channel BGR images).

    ``delta`` is in OpenCV's hue unit: half-degrees for uint8 images (hue wraps at
    180), degrees for float32 images (wraps at 360).
    """

    _who = "ImageHue"

    def transform_mat(self, mat, feature):
        channels(self._who, mat)
        delta = self._draw()
        return mat if delta == 0 else adjust_hue(mat, delta)


class ImageChannelOrder(RandomImagePreprocessing):
    """Shuffle the channels with a random permutation: ``out[..., k] = in[..., perm[k]]``.

    The permutation used is stored under the feature key ``"channelOrder"``.
    """

    def transform_mat(self, mat, feature):
        perm = self.rng.permutation(mat.shape[2])
        feature["channelOrder"] = tuple(int(p) for p in perm)
        return mat[:, :, perm].copy()


class ImageColorJitter(RandomImagePreprocessing):
    """SSD-style photometric augmentation: random brightness, contrast, saturation, hue
    and channel order, each applied with its own probability.

    Without ``shuffle`` the order is brightness, contrast, saturation, hue, channel order,
    or (with probability 1/2) brightness, saturation, hue, contrast, channel order.
    With ``shuffle`` the five steps run in a random order.

    Args:
        brightness_prob, brightness_delta: delta ~ U(-brightness_delta, brightness_delta).
        contrast_prob, contrast_lower, contrast_upper: alpha ~ U(lower, upper).
        hue_prob, hue_delta: delta ~ U(-hue_delta, hue_delta) in OpenCV hue units.
        saturation_prob, saturation_lower, saturation_upper: alpha ~ U(lower, upper).
        random_order_prob: probability of a random channel permutation.
        shuffle: run the steps in a random order.
        seed: seed of every draw.
    """

    def __init__(self, brightness_prob: float = 0.5, brightness_delta: float = 32.0,
                 contrast_prob: float = 0.5, contrast_lower: float = 0.5, contrast_upper: float = 1.5,
                 hue_prob: float = 0.5, hue_delta: float = 18.0, saturation_prob: float = 0.5,
                 saturation_lower: float = 0.5, saturation_upper: float = 1.5,
                 random_order_prob: float = 0.0, shuffle: bool = False, seed: int | None = None):
        super().__init__(seed)
        who = "ImageColorJitter"
        self.brightness_prob = probability(who, "brightness_prob", brightness_prob)
        self.brightness_delta = number(who, "brightness_delta", brightness_delta)
        self.contrast_prob = probability(who, "contrast_prob", contrast_prob)
        self.contrast_lower, self.contrast_upper = ordered(who, "contrast_lower", contrast_lower,
                                                           "contrast_upper", contrast_upper)
        self.hue_prob = probability(who, "hue_prob", hue_prob)
        self.hue_delta = number(who, "hue_delta", hue_delta)
        self.saturation_prob = probability(who, "saturation_prob", saturation_prob)
        self.saturation_lower, self.saturation_upper = ordered(who, "saturation_lower", saturation_lower,
                                                               "saturation_upper", saturation_upper)
        self.random_order_prob = probability(who, "random_order_prob", random_order_prob)
        self.shuffle = bool(shuffle)
        self._build()

    def _build(self):
        s = self.seed
        sub = (lambda i: None if s is None else _child_seed(s, i))
        self._steps = [
            ImageRandomPreprocessing(ImageBrightness(-abs(self.brightness_delta), abs(self.brightness_delta),
                                                     seed=sub(10)), self.brightness_prob, seed=sub(0)),
            ImageRandomPreprocessing(ImageContrast(self.contrast_lower, self.contrast_upper, seed=sub(11)),
                                     self.contrast_prob, seed=sub(1)),
            ImageRandomPreprocessing(ImageSaturation(self.saturation_lower, self.saturation_upper,
                                                     seed=sub(12)), self.saturation_prob, seed=sub(2)),
            ImageRandomPreprocessing(ImageHue(-abs(self.hue_delta), abs(self.hue_delta), seed=sub(13)),
                                     self.hue_prob, seed=sub(3)),
            ImageRandomPreprocessing(ImageChannelOrder(seed=sub(14)), self.random_order_prob, seed=sub(4)),
        ]

    def set_seed(self, seed: int | None) -> ImageColorJitter:
        super().set_seed(seed)
        self._build()
        return self

    def fork(self, key: int) -> ImageColorJitter:
        out = super().fork(key)
        out._build()
        return out

    def transform_feature(self, feature: ImageFeature) -> ImageFeature:
        if feature.mat is None:
            return super().transform_feature(feature)
        channels("ImageColorJitter", feature.mat)
        b, c, s, h, o = self._steps
        if self.shuffle:
            order = [self._steps[i] for i in self.rng.permutation(5)]
        elif self.rng.uniform(0.0, 1.0) > 0.5:
            order = [b, c, s, h, o]
        else:
            order = [b, s, h, c, o]
        for step in order:
            step.apply(feature)
        return feature
