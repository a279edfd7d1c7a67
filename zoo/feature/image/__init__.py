"""Images and their transforms (OpenCV), ImageSet, and Spark image DataFrames.

Images inside an :class:`ImageFeature` are OpenCV-style arrays (H, W, C), BGR, uint8 or
float32, until ``ImageMatToTensor`` makes a float32 tensor (CHW by default). OpenCV,
pyspark and pyarrow are imported only when a transform or a Spark function runs, so
``import zoo.feature.image`` needs numpy alone.

Example:
    >>> import numpy as np
    >>> chain = ImageResize(4, 6) >> ImageChannelNormalize(123.0, 117.0, 104.0) >> ImageMatToTensor()
    >>> chain(np.zeros((8, 8, 3), np.uint8)).shape
    (3, 4, 6)
"""

from zoo.feature.common import ChainedPreprocessing, Preprocessing, Sample
from zoo.feature.image.base import ImagePreprocessing, ImageRandomPreprocessing, RandomImagePreprocessing
from zoo.feature.image.color import (
                                     ImageBrightness,
                                     ImageChannelOrder,
                                     ImageColorJitter,
                                     ImageContrast,
                                     ImageHue,
                                     ImageSaturation,
)
from zoo.feature.image.convert import (
                                     ImageBytesToMat,
                                     ImageFeatureToSample,
                                     ImageFeatureToTensor,
                                     ImageMatToTensor,
                                     ImagePixelBytesToMat,
                                     ImageSetToSample,
                                     RowToImageFeature,
                                     decode_image,
)
from zoo.feature.image.geometry import (
                                     ImageAspectScale,
                                     ImageCenterCrop,
                                     ImageExpand,
                                     ImageFiller,
                                     ImageFixedCrop,
                                     ImageHFlip,
                                     ImageMirror,
                                     ImageRandomAspectScale,
                                     ImageRandomCrop,
                                     ImageResize,
)
from zoo.feature.image.imagefeature import ImageFeature
from zoo.feature.image.imageset import DistributedImageSet, ImageSet, LocalImageSet
from zoo.feature.image.normalize import ImageChannelNormalize, ImagePixelNormalize, PerImageNormalize
from zoo.feature.image.spark_io import (
                                     image_schema,
                                     label_map_of,
                                     preprocess_image_dataframe,
                                     read_image_dataframe,
)

__all__ = [
                                     "ChainedPreprocessing",
                                     "DistributedImageSet",
                                     "ImageAspectScale",
                                     "ImageBrightness",
                                     "ImageBytesToMat",
                                     "ImageCenterCrop",
                                     "ImageChannelNormalize",
                                     "ImageChannelOrder",
                                     "ImageColorJitter",
                                     "ImageContrast",
                                     "ImageExpand",
                                     "ImageFeature",
                                     "ImageFeatureToSample",
                                     "ImageFeatureToTensor",
                                     "ImageFiller",
                                     "ImageFixedCrop",
                                     "ImageHFlip",
                                     "ImageHue",
                                     "ImageMatToTensor",
                                     "ImageMirror",
                                     "ImagePixelBytesToMat",
                                     "ImagePixelNormalize",
                                     "ImagePreprocessing",
                                     "ImageRandomAspectScale",
                                     "ImageRandomCrop",
                                     "ImageRandomPreprocessing",
                                     "ImageResize",
                                     "ImageSaturation",
                                     "ImageSet",
                                     "ImageSetToSample",
                                     "LocalImageSet",
                                     "PerImageNormalize",
                                     "Preprocessing",
                                     "RandomImagePreprocessing",
                                     "RowToImageFeature",
                                     "Sample",
                                     "decode_image",
                                     "image_schema",
                                     "label_map_of",
                                     "preprocess_image_dataframe",
                                     "read_image_dataframe",
]
