"""Normalizations and conversions against direct numpy / OpenCV computations."""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest

from zoo.feature.common import ChainedPreprocessing, Preprocessing, Sample
from zoo.feature.image import (
    ImageBytesToMat,
    ImageChannelNormalize,
    ImageFeature,
    ImageFeatureToSample,
    ImageFeatureToTensor,
    ImageMatToTensor,
    ImagePixelBytesToMat,
    ImagePixelNormalize,
    ImageResize,
    ImageSetToSample,
    PerImageNormalize,
    RowToImageFeature,
    decode_image,
)

cv2 = pytest.importorskip("cv2")


def run(t, img):
    f = t(ImageFeature(img.copy()))
    return f.mat, f


def test_channel_normalize(images):
    for name, img in images.items():
        if img.shape[2] != 3:
            continue
        out, _ = run(ImageChannelNormalize(123.0, 117.0, 104.0, 58.4, 57.1, 57.4), img)
        ref = (img.astype(np.float32) - np.array([104.0, 117.0, 123.0], np.float32)) / \
            np.array([57.4, 57.1, 58.4], np.float32)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-5, err_msg=name)
        out, _ = run(ImageChannelNormalize(1.0, 2.0, 3.0), img)
        np.testing.assert_array_equal(out, img.astype(np.float32) - np.array([3.0, 2.0, 1.0], np.float32))
    with pytest.raises(ValueError, match="ImageChannelNormalize: expected an image with 3 channels"):
        run(ImageChannelNormalize(1, 2, 3), images["gray_19x41.png"])
    with pytest.raises(ValueError, match="std_g must be non-zero"):
        ImageChannelNormalize(1, 2, 3, 1, 0, 1)


def test_pixel_normalize(images, rng):
    for name, img in images.items():
        means = rng.uniform(0, 255, img.size).astype(np.float32)
        out, _ = run(ImagePixelNormalize(means.tolist()), img)
        np.testing.assert_array_equal(out, img.astype(np.float32) - means.reshape(img.shape), err_msg=name)
    with pytest.raises(ValueError, match="ImagePixelNormalize: expected an image with 6 elements"):
        run(ImagePixelNormalize([1.0] * 6), images["color_37x23.png"])


def test_per_image_normalize(images):
    for name, img in images.items():
        x = img.astype(np.float64)
        out, _ = run(PerImageNormalize(-1.0, 1.0), img)
        rng_ = x.max() - x.min()
        ref = (x - x.min()) / rng_ * 2.0 - 1.0 if rng_ > 0 else np.full_like(x, -1.0)
        if rng_ > 0:
            np.testing.assert_allclose(out, ref, atol=1e-5, err_msg=name)
        assert out.dtype == np.float32 and out.shape == img.shape
        out, _ = run(PerImageNormalize(3.0, 0.0, norm_type=4), img)  # NORM_L2: ||out|| = 3
        np.testing.assert_allclose(out, x * 3.0 / np.sqrt((x * x).sum()), rtol=1e-5, err_msg=name)
    with pytest.raises(ValueError, match="norm_type must be one of"):
        PerImageNormalize(0, 1, norm_type=7)


def test_bytes_to_mat(testdata, images, tmp_path):
    from tests.feature.image.helpers import photo_paths, write_pngs

    for p in photo_paths(testdata):
        with open(p, "rb") as fh:
            data = fh.read()
        f = ImageBytesToMat()(ImageFeature(bytes=data, uri=p))
        np.testing.assert_array_equal(f.mat, cv2.imread(p, cv2.IMREAD_UNCHANGED))
        assert f.original_size == f.mat.shape
        f = ImageBytesToMat(image_codec=0)(ImageFeature(bytes=data))
        np.testing.assert_array_equal(f.mat[:, :, 0], cv2.imread(p, cv2.IMREAD_GRAYSCALE))
    pngs = write_pngs(str(tmp_path))
    for name, img in pngs.items():
        data = (tmp_path / name).read_bytes()
        f = ImageBytesToMat()(ImageFeature(bytes=data))
        np.testing.assert_array_equal(f.mat, img if img.ndim == 3 else img[:, :, None], err_msg=name)
        assert f.mat.shape[2] == img.shape[2]  # gray stays 1 channel, BGRA stays 4
        f = ImageBytesToMat(image_codec=1)(ImageFeature(bytes=data))
        assert f.mat.shape[2] == 3


def test_bytes_to_mat_invalid_marks_feature(caplog):
    with caplog.at_level(logging.WARNING, logger="zoo.feature.image"):
        f = ImageBytesToMat()(ImageFeature(bytes=b"this is text", uri="bad.png"))
    assert not f.is_valid and f.mat is None
    assert "cannot decode bad.png" in caplog.text
    # later transforms skip it; the tensor step names it
    assert (ImageResize(4, 4) >> ImageMatToTensor())(f) is f
    with pytest.raises(ValueError, match="ImageFeatureToTensor: image 'bad.png' is invalid"):
        ImageFeatureToTensor()(f)
    assert decode_image(b"") is None and decode_image(None) is None


def test_gray_alpha_png_keeps_gray_plane(tmp_path):
    # 2-channel (gray + alpha) PNG: Spark's image source reads it as 1 channel
    import struct
    import zlib

    h, w = 3, 5
    rows = b"".join(b"\x00" + b"".join(bytes([(10 * (i + j)) % 256, 200]) for j in range(w)) for i in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 4, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    mat = decode_image(png)
    assert mat.shape == (3, 5, 1)
    np.testing.assert_array_equal(mat[:, :, 0], (10 * (np.arange(3)[:, None] + np.arange(5)[None])) % 256)


def test_pixel_bytes_to_mat(images):
    img = images["bgra_29x17.png"]
    f = ImageFeature(bytes=img.tobytes())
    f[ImageFeature.ORIGINAL_SIZE] = img.shape
    np.testing.assert_array_equal(ImagePixelBytesToMat()(f).mat, img)
    fl = images["cat.jpg"].astype(np.float32) / 7
    f = ImageFeature(bytes=fl.tobytes())
    f[ImageFeature.ORIGINAL_SIZE] = fl.shape
    np.testing.assert_array_equal(ImagePixelBytesToMat()(f).mat, fl)
    f = ImageFeature(bytes=b"123")
    f[ImageFeature.ORIGINAL_SIZE] = (2, 2, 1)
    with pytest.raises(ValueError, match="needs 4 uint8 or 16 float32 bytes, got 3 bytes"):
        ImagePixelBytesToMat()(f)


def test_mat_to_tensor(images):
    for name, img in images.items():
        f = ImageMatToTensor()(ImageFeature(img))
        t = f[ImageFeature.IMAGE_TENSOR]
        assert t.dtype == np.float32 and t.flags.c_contiguous
        np.testing.assert_array_equal(t, img.transpose(2, 0, 1).astype(np.float32), err_msg=name)
        t = ImageMatToTensor(format="NHWC")(ImageFeature(img))[ImageFeature.IMAGE_TENSOR]
        np.testing.assert_array_equal(t, img.astype(np.float32))
        t = ImageMatToTensor(to_RGB=True)(ImageFeature(img))[ImageFeature.IMAGE_TENSOR]
        if img.shape[2] == 3:
            np.testing.assert_array_equal(t, cv2.cvtColor(img, cv2.COLOR_BGR2RGB).transpose(2, 0, 1))
        elif img.shape[2] == 4:
            np.testing.assert_array_equal(t, cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA).transpose(2, 0, 1))
        else:
            np.testing.assert_array_equal(t, img.transpose(2, 0, 1))
    with pytest.raises(ValueError, match="format must be 'NCHW' or 'NHWC', got 'CHW'"):
        ImageMatToTensor(format="CHW")


def test_get_image_layouts(images):
    img = images["color_37x23.png"]
    f = ImageFeature(img)
    assert f.get_image().shape == (3, 37, 23) and f.get_image(to_chw=False).shape == (37, 23, 3)
    ImageMatToTensor(format="NHWC")(f)
    np.testing.assert_array_equal(f.get_image(), img.transpose(2, 0, 1))
    np.testing.assert_array_equal(f.get_image(to_chw=False), img)


def test_sample_and_tensor_adapters(images):
    img = images["cat.jpg"]
    f = ImageFeature(img, label=2)
    (ImageMatToTensor() >> ImageSetToSample())(f)
    s = f[ImageFeature.SAMPLE]
    assert isinstance(s, Sample)
    np.testing.assert_array_equal(s.feature, img.transpose(2, 0, 1))
    assert s.label.tolist() == 2.0
    s2 = ImageFeatureToSample()(f)
    np.testing.assert_array_equal(s2.feature, s.feature)
    assert pickle.loads(pickle.dumps(s2)).label == 2
    np.testing.assert_array_equal(ImageFeatureToTensor()(f), img.transpose(2, 0, 1))
    with pytest.raises(ValueError, match="lacks input keys \\['imageTensor'\\]"):
        ImageSetToSample()(ImageFeature(img))


def test_row_to_image_feature(images):
    from pyspark.sql import Row

    img = images["bgra_29x17.png"]
    struct = {"origin": "file:///x.png", "height": 29, "width": 17, "nChannels": 4, "mode": 24, "data": img.tobytes()}
    for row in [struct, Row(**struct), Row(image=Row(**struct), label=3), {"image": struct, "label": 3}]:
        f = RowToImageFeature()(row)
        np.testing.assert_array_equal(f.mat, img)
        assert f.uri == "file:///x.png" and f.original_size == (29, 17, 4)
    assert RowToImageFeature()(Row(image=Row(**struct), label=3)).get_label() == 3
    bad = {"origin": "b", "height": -1, "width": -1, "nChannels": -1, "mode": -1, "data": b""}
    assert not RowToImageFeature()(bad).is_valid
    fl = {"origin": "f", "height": 2, "width": 2, "nChannels": 1, "mode": 5, "data": [0.5, 1.5, 2.5, 3.5]}
    np.testing.assert_array_equal(RowToImageFeature()(fl).mat[:, :, 0], [[0.5, 1.5], [2.5, 3.5]])
    with pytest.raises(ValueError, match="declares 2x2x3 but holds 4 values"):
        RowToImageFeature()(dict(fl, nChannels=3))
    with pytest.raises(TypeError, match="expected a Spark Row or a dict"):
        RowToImageFeature()(42)


def test_chaining_and_pickling(images):
    img = images["fish-bike.jpg"]
    chain = ImageResize(16, 12) >> ImageChannelNormalize(1.0, 2.0, 3.0) >> ImageMatToTensor()
    assert isinstance(chain, ChainedPreprocessing) and len(chain) == 3
    same = ChainedPreprocessing([ImageResize(16, 12), ChainedPreprocessing([ImageChannelNormalize(1.0, 2.0, 3.0),
                                                                             ImageMatToTensor()])])
    assert len(same) == 3
    ref = (cv2.resize(img, (12, 16)).astype(np.float32) - np.array([3, 2, 1], np.float32)).transpose(2, 0, 1)
    np.testing.assert_array_equal(chain(img), ref)
    np.testing.assert_array_equal(same(img), ref)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(chain))(img), ref)
    with pytest.raises(TypeError, match="expected a Preprocessing on the right, got int"):
        ImageResize(2, 2) >> 3
    with pytest.raises(TypeError, match="element 1 is str"):
        ChainedPreprocessing([ImageResize(2, 2), "x"])
    with pytest.raises(ValueError, match="expected at least one Preprocessing"):
        ChainedPreprocessing([])
    with pytest.raises(NotImplementedError):
        Preprocessing()(1)


def test_fork_and_set_seed(images):
    from zoo.feature.image import ImageRandomCrop

    img = images["cat.jpg"]
    chain = ImageResize(100, 100) >> ImageRandomCrop(20, 20, seed=1)

    def boxes(c, n=4):
        return [c(ImageFeature(img))[ImageFeature.CROP_BBOX] for _ in range(n)]

    a, b = boxes(chain.fork(0)), boxes(chain.fork(0))
    c = boxes(chain.fork(1))
    assert a == b and a != c
    assert boxes(chain.set_seed(5)) == boxes(
        (ImageResize(100, 100) >> ImageRandomCrop(20, 20)).set_seed(5))
