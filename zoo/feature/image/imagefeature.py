"""ImageFeature: one image and everything known about it, as a key -> value map."""

from __future__ import annotations

from typing import Any

__all__ = ["ImageFeature"]


def _cv2():
    """Import OpenCV lazily, with an install hint when it is missing."""
    try:
        import cv2
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("zoo.feature.image: this needs OpenCV; install it with "
                          "`pip install opencv-python-headless`") from e
    return cv2


def _as_mat(image: Any, who: str):
    """Validate an image array and return it as an (H, W, C) uint8/float32 array."""
    import numpy as np

    if not isinstance(image, np.ndarray):
        raise TypeError(f"{who}: expected an image as a numpy array (H, W[, C]), got {type(image).__name__}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[0] < 1 or image.shape[1] < 1 or image.shape[2] < 1:
        raise ValueError(f"{who}: expected an image of shape (H, W) or (H, W, C), got {image.shape}")
    if image.dtype not in (np.uint8, np.float32):
        if image.dtype == np.uint16:
            image = (image >> 8).astype(np.uint8)
        elif np.issubdtype(image.dtype, np.floating):
            image = image.astype(np.float32)
        else:
            raise TypeError(f"{who}: expected a uint8 or float32 image, got dtype {image.dtype}")
    return image


class ImageFeature(dict):
    """One image with its keys (BigDL's ImageFeature).

    The image itself lives under ``"mat"`` as an OpenCV-style array of shape
    (H, W, C), channels in BGR order, dtype uint8 or float32, until
    ``ImageMatToTensor`` stores a float32 tensor under ``"imageTensor"``
    (layout CHW or HWC, recorded under ``"tensorFormat"``).

    Keys (class attributes name them): ``uri``, ``bytes`` (the encoded file),
    ``mat``, ``floats``, ``size`` (current (H, W, C)), ``originalSize``,
    ``label``, ``predict``, ``boundingBox``, ``sample``, ``imageTensor``,
    ``cropBbox``, ``expandBbox``, ``isValid``.

    Args:
        image: optional (H, W) or (H, W, C) uint8/float32 array (BGR).
        label: optional label (0-based class index, or an array).
        uri: optional origin of the image.
        bytes: optional encoded image file content (decode with ImageBytesToMat).

    Example:
        >>> import numpy as np
        >>> f = ImageFeature(np.zeros((4, 6, 3), np.uint8), label=1, uri="a.png")
        >>> f.size, f.get_label(), f.get_image().shape
        ((4, 6, 3), 1, (3, 4, 6))
    """

    URI = "uri"
    BYTES = "bytes"
    MAT = "mat"
    FLOATS = "floats"
    SIZE = "size"
    ORIGINAL_SIZE = "originalSize"
    LABEL = "label"
    PREDICT = "predict"
    BOUNDING_BOX = "boundingBox"
    SAMPLE = "sample"
    IMAGE_TENSOR = "imageTensor"
    TENSOR_FORMAT = "tensorFormat"
    CROP_BBOX = "cropBbox"
    EXPAND_BBOX = "expandBbox"
    IS_VALID = "isValid"

    def __init__(self, image: Any = None, label: Any = None, uri: str | None = None,
                 bytes: Any = None):
        super().__init__()
        self[self.IS_VALID] = True
        if uri is not None:
            self[self.URI] = uri
        if bytes is not None:
            self[self.BYTES] = bytes
        if label is not None:
            self[self.LABEL] = label
        if image is not None:
            mat = _as_mat(image, "ImageFeature")
            self[self.ORIGINAL_SIZE] = tuple(mat.shape)
            self.set_mat(mat)

    # -- the image -----------------------------------------------------------------------------
    @property
    def mat(self):
        """The (H, W, C) BGR image array, or None."""
        return self.get(self.MAT)

    def set_mat(self, mat: Any) -> None:
        """Store ``mat`` (made 3-D) and update ``size``."""
        mat = _as_mat(mat, "ImageFeature.set_mat")
        self[self.MAT] = mat
        self[self.SIZE] = tuple(mat.shape)

    @property
    def size(self) -> tuple | None:
        """Current (height, width, channels)."""
        return self.get(self.SIZE)

    @property
    def original_size(self) -> tuple | None:
        """(height, width, channels) as decoded."""
        return self.get(self.ORIGINAL_SIZE)

    @property
    def uri(self) -> str | None:
        return self.get(self.URI)

    @property
    def is_valid(self) -> bool:
        """False once decoding failed; transforms then pass the feature through unchanged."""
        return bool(self.get(self.IS_VALID, True))

    def get_image(self, key: str | None = None, to_chw: bool = True):
        """The image as float32: the tensor if one was made, else the mat.

        Args:
            key: read this key instead (``"imageTensor"``, ``"mat"``, ``"floats"``).
            to_chw: return (C, H, W) if True, (H, W, C) otherwise.
        Returns:
            a float32 array, or None if the feature has no image.
        """
        import numpy as np

        if key is None:
            key = self.IMAGE_TENSOR if self.IMAGE_TENSOR in self else self.MAT
        img = self.get(key)
        if img is None:
            return None
        img = np.asarray(img, dtype=np.float32)
        if img.ndim == 2:
            img = img[:, :, None] if key != self.IMAGE_TENSOR else img[None]
        if img.ndim != 3:
            return img
        is_chw = key == self.IMAGE_TENSOR and self.get(self.TENSOR_FORMAT, "NCHW") == "NCHW"
        if is_chw != to_chw:
            img = np.ascontiguousarray(img.transpose((1, 2, 0)) if is_chw else img.transpose((2, 0, 1)))
        return img

    def get_label(self):
        return self.get(self.LABEL)

    def get_predict(self, key: str = PREDICT):
        return self.get(key)

    def get_uri(self):
        return self.get(self.URI)

    def copy(self) -> ImageFeature:
        out = ImageFeature()
        out.update(self)
        return out

    def __repr__(self) -> str:
        return (f"ImageFeature(uri={self.get(self.URI)!r}, size={self.get(self.SIZE)}, "
                f"label={self.get(self.LABEL)!r}, valid={self.is_valid}, keys={sorted(self.keys())})")
