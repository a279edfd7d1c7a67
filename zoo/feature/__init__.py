"""zoo.feature: data preparation (images, composable preprocessing)."""

from zoo.feature.common import ChainedPreprocessing, Preprocessing, Sample

__all__ = ["ChainedPreprocessing", "Preprocessing", "Sample"]
