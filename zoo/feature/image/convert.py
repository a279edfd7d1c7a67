"""Conversions: encoded bytes / raw pixels / Spark image rows -> mats -> tensors and Samples."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from zoo.feature.common import Preprocessing, Sample
from zoo.feature.image.base import ImagePreprocessing
from zoo.feature.image.imagefeature import ImageFeature, _as_mat, _cv2

__all__ = [
    "OCV_TYPES",
    "ImageBytesToMat",
    "ImageFeatureToSample",
    "ImageFeatureToTensor",
    "ImageMatToTensor",
    "ImagePixelBytesToMat",
    "ImageSetToSample",
    "RowToImageFeature",
    "decode_image",
    "mode_of",
]

_log = logging.getLogger("zoo.feature.image")

#: OpenCV type codes used in Spark's image schema ``mode`` field.
OCV_TYPES = {"Undefined": -1, "CV_8U": 0, "CV_8UC1": 0, "CV_8UC3": 16, "CV_8UC4": 24,
             "CV_32F": 5, "CV_32FC1": 5, "CV_32FC3": 21, "CV_32FC4": 29}


def mode_of(dtype, n_channels: int) -> int:
    """OpenCV type code of an image: ``depth + 8 * (channels - 1)`` (CV_8U=0, CV_32F=5)."""
    import numpy as np

    depth = 0 if np.dtype(dtype) == np.uint8 else 5
    return depth + 8 * (int(n_channels) - 1)


def _png_color_type(data) -> int | None:
    if len(data) > 25 and bytes(data[:8]) == b"\x89PNG\r\n\x1a\n":
        return data[25]
    return None


def decode_image(data, image_codec: int = -1):
    """Decode an encoded image file to an (H, W, C) uint8 BGR array, or None if it cannot be.

    ``image_codec`` is an OpenCV ``imread`` flag; -1 (IMREAD_UNCHANGED) keeps the file's
    channels the way Spark's image source does: grayscale stays 1 channel, alpha stays
    a 4th channel (BGRA), gray+alpha PNGs become 1 channel, 16-bit images become 8-bit
    (high byte). EXIF orientation is ignored, as in Spark.
    """
    import numpy as np

    cv2 = _cv2()
    if data is None or len(data) == 0:
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        mat = cv2.imdecode(buf, int(image_codec))
    except cv2.error:
        return None
    if mat is None or mat.size == 0:
        return None
    if mat.dtype == np.uint16:
        mat = (mat >> 8).astype(np.uint8)
    elif mat.dtype != np.uint8:
        mat = np.clip(mat, 0, 255).astype(np.uint8)
    if mat.ndim == 2:
        mat = mat[:, :, None]
    if image_codec == -1 and mat.shape[2] == 4 and _png_color_type(data) == 4:
        mat = np.ascontiguousarray(mat[:, :, :1])  # gray + alpha: Spark keeps the gray plane
    return mat


class ImageBytesToMat(ImagePreprocessing):
    """Decode the encoded file under ``byte_key`` into the ``mat`` (OpenCV ``imdecode``).

    Args:
        byte_key: key of the encoded bytes (default ``"bytes"``).
        image_codec: OpenCV imread flag; -1 keeps the file's channels (see :func:`decode_image`),
            1 forces 3-channel BGR, 0 grayscale.
    Undecodable bytes mark the feature invalid (``isValid`` False) and log a warning.
    """

    def __init__(self, byte_key: str = ImageFeature.BYTES, image_codec: int = -1):
        self.byte_key = byte_key
        self.image_codec = int(image_codec)

    def transform_feature(self, feature: ImageFeature) -> ImageFeature:
        data = feature.get(self.byte_key)
        mat = decode_image(data, self.image_codec) if data is not None else None
        if mat is None:
            _log.warning("ImageBytesToMat: cannot decode %s (%d bytes); marking it invalid",
                         feature.uri or "<image>", 0 if data is None else len(data))
            feature[ImageFeature.IS_VALID] = False
            return feature
        feature[ImageFeature.ORIGINAL_SIZE] = tuple(mat.shape)
        feature.set_mat(mat)
        return feature


class ImagePixelBytesToMat(ImagePreprocessing):
    """Turn raw row-major pixel bytes under ``byte_key`` into the ``mat``.

    The shape comes from the feature's ``originalSize`` (H, W, C); the bytes are uint8
    (H*W*C of them) or float32 (4*H*W*C of them).
    """

    def __init__(self, byte_key: str = ImageFeature.BYTES):
        self.byte_key = byte_key

    def transform_feature(self, feature: ImageFeature) -> ImageFeature:
        import numpy as np

        data = feature.get(self.byte_key)
        size = feature.get(ImageFeature.ORIGINAL_SIZE)
        if data is None or size is None:
            raise ValueError(f"ImagePixelBytesToMat: the feature {feature.uri!r} needs '{self.byte_key}' "
                             f"and 'originalSize' (H, W, C); it has keys {sorted(feature.keys())}")
        h, w, c = (int(v) for v in size)
        n = h * w * c
        if len(data) == n:
            mat = np.frombuffer(data, np.uint8).reshape(h, w, c)
        elif len(data) == 4 * n:
            mat = np.frombuffer(data, np.float32).reshape(h, w, c)
        else:
            raise ValueError(f"ImagePixelBytesToMat: originalSize {(h, w, c)} needs {n} uint8 or {4 * n} "
                             f"float32 bytes, got {len(data)} bytes")
        feature.set_mat(mat.copy())
        return feature


class ImageMatToTensor(ImagePreprocessing):
    """Convert the mat to a float32 tensor stored under ``tensor_key``.

    Args:
        to_RGB: reverse the colour channels (BGR -> RGB, BGRA -> RGBA).
        tensor_key: key of the tensor (default ``"imageTensor"``).
        share_buffer: kept for Analytics Zoo compatibility (no effect).
        format: ``"NCHW"`` (default; channels first, the engine's layout) or ``"NHWC"``.
    Shape: (H, W, C) -> (C, H, W) or (H, W, C), float32.
    """

    def __init__(self, to_RGB: bool = False, tensor_key: str = ImageFeature.IMAGE_TENSOR,
                 share_buffer: bool = True, format: str = "NCHW"):
        if format not in ("NCHW", "NHWC"):
            raise ValueError(f"ImageMatToTensor: format must be 'NCHW' or 'NHWC', got {format!r}")
        self.to_RGB = bool(to_RGB)
        self.tensor_key = tensor_key
        self.share_buffer = bool(share_buffer)
        self.format = format

    def transform_feature(self, feature: ImageFeature) -> ImageFeature:
        import numpy as np

        mat = feature.mat
        if mat is None:
            raise ValueError(f"ImageMatToTensor: the feature {feature.uri!r} has no 'mat'")
        if self.to_RGB and mat.shape[2] >= 3:
            order = [2, 1, 0] + list(range(3, mat.shape[2]))
            mat = mat[:, :, order]
        if self.format == "NCHW":
            t = np.ascontiguousarray(mat.transpose(2, 0, 1), dtype=np.float32)
        else:
            t = np.ascontiguousarray(mat, dtype=np.float32)
        feature[self.tensor_key] = t
        if self.tensor_key == ImageFeature.IMAGE_TENSOR:
            feature[ImageFeature.TENSOR_FORMAT] = self.format
        return feature


class ImageSetToSample(ImagePreprocessing):
    """Build a :class:`~zoo.feature.common.Sample` from feature keys and store it under ``sample_key``.

    Args:
        input_keys: keys of the feature arrays (default ``["imageTensor"]``).
        target_keys: keys of the labels (default ``["label"]``); missing keys are skipped.
        sample_key: where to store the Sample (default ``"sample"``).
    """

    def __init__(self, input_keys: Sequence[str] = (ImageFeature.IMAGE_TENSOR,),
                 target_keys: Sequence[str] | None = (ImageFeature.LABEL,),
                 sample_key: str = ImageFeature.SAMPLE):
        self.input_keys = [input_keys] if isinstance(input_keys, str) else list(input_keys)
        self.target_keys = ([] if target_keys is None else
                            [target_keys] if isinstance(target_keys, str) else list(target_keys))
        self.sample_key = sample_key

    def transform_feature(self, feature: ImageFeature) -> ImageFeature:
        import numpy as np

        missing = [k for k in self.input_keys if k not in feature]
        if missing:
            raise ValueError(f"ImageSetToSample: the feature {feature.uri!r} lacks input keys {missing}; "
                             f"it has {sorted(feature.keys())} (add ImageMatToTensor first?)")
        feats = [np.asarray(feature[k], dtype=np.float32) for k in self.input_keys]
        labels = [np.asarray(feature[k], dtype=np.float32) for k in self.target_keys if k in feature]
        feature[self.sample_key] = Sample(feats, labels or None)
        return feature


def _row_fields(row: Any) -> dict:
    """The image struct of a Spark Row / dict / the struct itself, as a dict."""
    if hasattr(row, "asDict"):
        d = row.asDict()
    elif isinstance(row, dict):
        d = row
    else:
        raise TypeError(f"RowToImageFeature: expected a Spark Row or a dict with the image schema "
                        f"(origin, height, width, nChannels, mode, data), got {type(row).__name__}")
    if "data" not in d:
        inner = d.get("image")
        if inner is None:
            structs = [v for v in d.values() if hasattr(v, "asDict") or isinstance(v, dict)]
            if len(structs) != 1:
                raise ValueError(f"RowToImageFeature: cannot find the image struct in a row with fields "
                                 f"{sorted(d)}; expected a field 'image' or the struct itself")
            inner = structs[0]
        d2 = inner.asDict() if hasattr(inner, "asDict") else dict(inner)
        if "label" in d and "label" not in d2:
            d2["label"] = d["label"]
        d = d2
    return d


def row_to_mat(d: dict):
    """(H, W, C) array of an image-schema struct given as a dict, or None if it is invalid."""
    import numpy as np

    h, w, c, mode, data = d.get("height"), d.get("width"), d.get("nChannels"), d.get("mode"), d.get("data")
    if h is None or w is None or h <= 0 or w <= 0 or data is None or len(data) == 0:
        return None
    if c is None or c <= 0:
        c = mode // 8 + 1 if mode is not None and mode >= 0 else 3
    depth = 0 if mode is None or mode < 0 else mode % 8
    if isinstance(data, (list, tuple)) or (hasattr(data, "dtype") and data.dtype != np.uint8):
        arr = np.asarray(data, dtype=np.float32)  # the float variant: data array<float>
    elif depth == 5:
        arr = np.frombuffer(data, dtype=np.float32)
    else:
        arr = np.frombuffer(data, dtype=np.uint8)
    if arr.size != h * w * c:
        raise ValueError(f"RowToImageFeature: image {d.get('origin')!r} declares {h}x{w}x{c} but holds "
                         f"{arr.size} values")
    return arr.reshape(h, w, c)


class RowToImageFeature(Preprocessing):
    """Turn a row of an image DataFrame (``NNImageReader`` / ``spark.read.format("image")``
    schema) into an ImageFeature with ``mat``, ``uri``, ``originalSize`` and, when the
    row has one, ``label``. Rows of undecodable files (height -1) give invalid features.

    Accepts the whole Row (with an ``image`` field), the image struct itself, or a dict.
    """

    def apply(self, row: Any) -> ImageFeature:
        if isinstance(row, ImageFeature):
            return row
        d = _row_fields(row)
        f = ImageFeature(uri=d.get("origin"), label=d.get("label"))
        mat = row_to_mat(d)
        if mat is None:
            f[ImageFeature.IS_VALID] = False
            return f
        mat = _as_mat(mat, "RowToImageFeature")
        f[ImageFeature.ORIGINAL_SIZE] = tuple(mat.shape)
        f.set_mat(mat)
        return f


class ImageFeatureToTensor(Preprocessing):
    """Return the feature's tensor (``imageTensor``; else the mat as float32 CHW).

    Invalid features raise a ValueError naming the image.
    """

    def __init__(self, tensor_key: str = ImageFeature.IMAGE_TENSOR):
        self.tensor_key = tensor_key

    def apply(self, feature: ImageFeature):
        import numpy as np

        if not isinstance(feature, ImageFeature):
            raise TypeError(f"ImageFeatureToTensor: expected an ImageFeature, got {type(feature).__name__}")
        if not feature.is_valid:
            raise ValueError(f"ImageFeatureToTensor: image {feature.uri!r} is invalid (it could not be "
                             "decoded); drop invalid images first (drop_invalid=True)")
        t = feature.get(self.tensor_key)
        if t is None:
            t = feature.get_image(ImageFeature.MAT, to_chw=True)
        return np.asarray(t, dtype=np.float32)


class ImageFeatureToSample(Preprocessing):
    """Return ``Sample(tensor, label)`` of a feature (the label is omitted when absent)."""

    def apply(self, feature: ImageFeature) -> Sample:
        tensor = ImageFeatureToTensor().apply(feature)
        return Sample(tensor, feature.get(ImageFeature.LABEL))
