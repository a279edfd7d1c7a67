"""Normalizations: per channel, per pixel, per image. They output float32 images."""

from __future__ import annotations

from collections.abc import Sequence

from zoo.feature.image._checks import channels, number
from zoo.feature.image.base import ImagePreprocessing
from zoo.feature.image.imagefeature import _cv2

__all__ = ["ImageChannelNormalize", "ImagePixelNormalize", "PerImageNormalize"]


class ImageChannelNormalize(ImagePreprocessing):
    """Per-channel normalization ``out[..., c] = (in[..., c] - mean[c]) / std[c]`` in float32.

    The image is BGR, so channel 0 uses ``mean_b``/``std_b`` and channel 2 ``mean_r``/``std_r``.

    Args:
        mean_r, mean_g, mean_b: channel means.
        std_r, std_g, std_b: non-zero channel scales (default 1).
    Shape: (H, W, 3) -> (H, W, 3) float32.
    Example:
        >>> import numpy as np
        >>> ImageChannelNormalize(1.0, 2.0, 3.0)(np.full((1, 1, 3), 10, np.uint8))[0, 0].tolist()
        [7.0, 8.0, 9.0]
    """

    def __init__(self, mean_r: float, mean_g: float, mean_b: float, std_r: float = 1.0, std_g: float = 1.0,
                 std_b: float = 1.0):
        who = "ImageChannelNormalize"
        self.mean_r, self.mean_g, self.mean_b = (number(who, n, v) for n, v in
                                                 (("mean_r", mean_r), ("mean_g", mean_g), ("mean_b", mean_b)))
        self.std_r, self.std_g, self.std_b = (number(who, n, v) for n, v in
                                              (("std_r", std_r), ("std_g", std_g), ("std_b", std_b)))
        for n in ("std_r", "std_g", "std_b"):
            if getattr(self, n) == 0.0:
                raise ValueError(f"{who}: {n} must be non-zero, got 0")

    def transform_mat(self, mat, feature):
        import numpy as np

        channels("ImageChannelNormalize", mat)
        mean = np.array([self.mean_b, self.mean_g, self.mean_r], np.float32)
        out = mat.astype(np.float32)
        out -= mean
        if (self.std_r, self.std_g, self.std_b) != (1.0, 1.0, 1.0):
            out *= np.array([1.0 / self.std_b, 1.0 / self.std_g, 1.0 / self.std_r], np.float32)
        return out


class ImagePixelNormalize(ImagePreprocessing):
    """Per-pixel mean subtraction ``out = in - means`` in float32.

    Args:
        means: H*W*C numbers in the image's (H, W, C) BGR layout (or an array of that shape).
    Shape: (H, W, C) -> (H, W, C) float32; the image must have exactly H*W*C elements.
    """

    def __init__(self, means: Sequence[float]):
        import numpy as np

        arr = np.asarray(means, dtype=np.float32)
        if arr.size == 0:
            raise ValueError("ImagePixelNormalize: means must be non-empty")
        self.means = arr

    def transform_mat(self, mat, feature):
        import numpy as np

        if mat.size != self.means.size:
            raise ValueError(f"ImagePixelNormalize: expected an image with {self.means.size} elements "
                             f"(H*W*C of the means), got shape {tuple(mat.shape)}")
        return mat.astype(np.float32) - self.means.reshape(mat.shape)

    def __repr__(self) -> str:
        return f"ImagePixelNormalize(means=<{self.means.size} values>)"


_NORMS = {1: "NORM_INF", 2: "NORM_L1", 4: "NORM_L2", 32: "NORM_MINMAX"}


class PerImageNormalize(ImagePreprocessing):
    """OpenCV ``normalize`` of the whole image in float32.

    ``norm_type=NORM_MINMAX`` (32, default) maps the image's range linearly to
    [min, max]; NORM_INF (1), NORM_L1 (2) and NORM_L2 (4) scale the image to that norm
    equal to ``min`` (``cv2.normalize(x, None, min, max, norm_type)``).
    """

    def __init__(self, min: float, max: float, norm_type: int = 32):
        self.min = number("PerImageNormalize", "min", min)
        self.max = number("PerImageNormalize", "max", max)
        if norm_type not in _NORMS:
            raise ValueError(f"PerImageNormalize: norm_type must be one of {sorted(_NORMS)} "
                             f"({', '.join(_NORMS.values())}), got {norm_type!r}")
        self.norm_type = int(norm_type)

    def transform_mat(self, mat, feature):
        import numpy as np

        cv2 = _cv2()
        src = np.ascontiguousarray(mat, dtype=np.float32)
        out = cv2.normalize(src, None, self.min, self.max, self.norm_type, dtype=cv2.CV_32F)
        return out.reshape(mat.shape)
