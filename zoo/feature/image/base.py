"""Image preprocessing base classes: deterministic, random, and random application."""

from __future__ import annotations

import copy
from typing import Any

from zoo.feature.common import Preprocessing, _child_seed
from zoo.feature.image.imagefeature import ImageFeature

__all__ = ["ImagePreprocessing", "ImageRandomPreprocessing", "RandomImagePreprocessing"]


class ImagePreprocessing(Preprocessing):
    """A transform of one ImageFeature.

    ``apply`` accepts an ImageFeature (transformed in place and returned), an
    ImageSet (``image_set.transform(self)``), or a bare (H, W[, C]) array (wrapped
    in an ImageFeature; the resulting tensor, or mat, is returned). Invalid
    features (failed decoding) pass through unchanged.

    Subclasses that only change the picture implement ``transform_mat(mat, feature)``;
    others override ``transform_feature(feature)``.
    """

    def apply(self, x: Any) -> Any:
        if isinstance(x, ImageFeature):
            if x.is_valid:
                self.transform_feature(x)
            return x
        from zoo.feature.image.imageset import ImageSet

        if isinstance(x, ImageSet):
            return x.transform(self)
        import numpy as np

        if isinstance(x, np.ndarray):
            f = self.transform_feature(ImageFeature(x))
            if ImageFeature.IMAGE_TENSOR in f:
                return f[ImageFeature.IMAGE_TENSOR]
            return f.mat
        raise TypeError(f"{type(self).__name__}: expected an ImageFeature, an ImageSet or an image "
                        f"array, got {type(x).__name__}")

    def transform_feature(self, feature: ImageFeature) -> ImageFeature:
        mat = feature.mat
        if mat is None:
            raise ValueError(f"{type(self).__name__}: the ImageFeature {feature.uri!r} has no 'mat'; "
                             "decode it first with ImageBytesToMat or ImagePixelBytesToMat")
        feature.set_mat(self.transform_mat(mat, feature))
        return feature

    def transform_mat(self, mat, feature: ImageFeature):
        raise NotImplementedError(f"{type(self).__name__}.transform_mat is not implemented")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class RandomImagePreprocessing(ImagePreprocessing):
    """An ImagePreprocessing that draws random numbers from its own seeded generator.

    The same seed and the same sequence of inputs give the same outputs.
    ``seed=None`` draws fresh entropy.
    """

    def __init__(self, seed: int | None = None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"{type(self).__name__}: seed must be an int or None, got {seed!r}")
        self.seed = seed
        self._rng = None

    @property
    def rng(self):
        if self._rng is None:
            import numpy as np

            self._rng = np.random.default_rng(self.seed)
        return self._rng

    def set_seed(self, seed: int | None) -> RandomImagePreprocessing:
        self.seed = seed
        self._rng = None
        return self

    def fork(self, key: int) -> RandomImagePreprocessing:
        out = copy.copy(self)
        out._rng = None
        if self.seed is not None:
            out.seed = _child_seed(self.seed, key)
        return out

    def __getstate__(self):
        return self.__dict__.copy()


class ImageRandomPreprocessing(RandomImagePreprocessing):
    """Apply ``preprocessing`` with probability ``prob``, else leave the feature unchanged.

    Args:
        preprocessing: a Preprocessing of ImageFeatures.
        prob: probability in [0, 1].
        seed: seed of the coin flips (the inner transform keeps its own seed).
    """

    def __init__(self, preprocessing: Preprocessing, prob: float, seed: int | None = None):
        super().__init__(seed)
        if not isinstance(preprocessing, Preprocessing):
            raise TypeError("ImageRandomPreprocessing: preprocessing must be a Preprocessing, "
                            f"got {type(preprocessing).__name__}")
        if not 0.0 <= float(prob) <= 1.0:
            raise ValueError(f"ImageRandomPreprocessing: prob must be in [0, 1], got {prob}")
        self.preprocessing = preprocessing
        self.prob = float(prob)

    def transform_feature(self, feature: ImageFeature) -> ImageFeature:
        if self.rng.uniform(0.0, 1.0) < self.prob:
            return self.preprocessing.apply(feature)
        return feature

    def set_seed(self, seed: int | None) -> ImageRandomPreprocessing:
        super().set_seed(seed)
        self.preprocessing.set_seed(None if seed is None else _child_seed(seed, 1))
        return self

    def fork(self, key: int) -> ImageRandomPreprocessing:
        out = super().fork(key)
        out.preprocessing = self.preprocessing.fork(key)
        return out
