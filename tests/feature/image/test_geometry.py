"""Geometric transforms against direct OpenCV / numpy computations."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from zoo.feature.image import (
    ImageAspectScale,
    ImageCenterCrop,
    ImageExpand,
    ImageFeature,
    ImageFiller,
    ImageFixedCrop,
    ImageHFlip,
    ImageMirror,
    ImageRandomAspectScale,
    ImageRandomCrop,
    ImageResize,
)
from zoo.feature.image.geometry import aspect_scale_size

cv2 = pytest.importorskip("cv2")


def _3d(x):
    return x[:, :, None] if x.ndim == 2 else x


def run(t, img):
    f = t(ImageFeature(img.copy()))
    return f.mat, f


@pytest.mark.parametrize("mode", [0, 1, 2, 3, 4])
def test_resize_matches_cv2(images, mode):
    for name, img in images.items():
        for h, w in [(64, 64), (31, 17), (1, 5)]:
            out, f = run(ImageResize(h, w, resize_mode=mode), img)
            ref = _3d(cv2.resize(img, (w, h), interpolation=mode))
            assert out.shape == (h, w, img.shape[2]), name
            assert out.dtype == np.uint8
            np.testing.assert_array_equal(out, ref, err_msg=name)
            assert f.size == (h, w, img.shape[2]) and f.original_size == img.shape


def test_resize_float32_and_bare_array(images):
    img = images["cat.jpg"].astype(np.float32) / 3.0
    out = ImageResize(50, 70)(img)
    np.testing.assert_array_equal(out, cv2.resize(img, (70, 50), interpolation=cv2.INTER_LINEAR))
    assert out.dtype == np.float32


def test_resize_random_mode_is_seeded(images):
    img = images["fish-bike.jpg"]
    a = [ImageResize(40, 30, resize_mode=-1, seed=7)] * 1
    outs1 = [run(a[0], img)[0] for _ in range(6)]
    b = ImageResize(40, 30, resize_mode=-1, seed=7)
    outs2 = [run(b, img)[0] for _ in range(6)]
    for x, y in zip(outs1, outs2):
        np.testing.assert_array_equal(x, y)
    refs = [cv2.resize(img, (30, 40), interpolation=m) for m in range(5)]
    for x in outs1:
        assert any(np.array_equal(x, r) for r in refs)
    assert len({x.tobytes() for x in outs1}) > 1  # different interpolations drawn


def test_aspect_scale_size_rule():
    # short edge 360 -> 100: scale 0.2778, long 480 -> round(133.3) = 133
    assert aspect_scale_size(360, 480, 100, 1000, 1) == (100, 133)
    # cap: 600 short edge on 360x480 -> long 800 > 700 = max_size, scale = 700/480
    assert aspect_scale_size(360, 480, 600, 700, 1) == (525, 700)
    # multiple of 32: floor(360*s/32)*32 and floor(480*s/32)*32 with s = 300/360
    assert aspect_scale_size(360, 480, 300, 1000, 32) == (288, 384)
    assert aspect_scale_size(323, 481, 224, 1000, 1, min_scale=1.0) == (323, 481)


def test_aspect_scale_pixels(images):
    for name, img in images.items():
        h, w = aspect_scale_size(img.shape[0], img.shape[1], 20, 60, 1)
        out, _ = run(ImageAspectScale(20, max_size=60), img)
        np.testing.assert_array_equal(out, _3d(cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)),
                                      err_msg=name)
        assert min(out.shape[:2]) == 20 or max(out.shape[:2]) <= 60


def test_random_aspect_scale(images):
    img = images["cat.jpg"]
    t = ImageRandomAspectScale([50, 80, 100], seed=3)
    shorts = {min(run(t, img)[0].shape[:2]) for _ in range(20)}
    assert shorts == {50, 80, 100}
    t1, t2 = ImageRandomAspectScale([50, 80, 100], seed=3), ImageRandomAspectScale([50, 80, 100], seed=3)
    assert [run(t1, img)[0].shape for _ in range(5)] == [run(t2, img)[0].shape for _ in range(5)]


@pytest.mark.parametrize("cw,ch", [(10, 7), (1, 1), (23, 19)])
def test_center_crop(images, cw, ch):
    for name, img in images.items():
        h, w = img.shape[:2]
        if cw > w or ch > h:
            continue
        out, f = run(ImageCenterCrop(cw, ch), img)
        x1, y1 = (w - cw) // 2, (h - ch) // 2
        np.testing.assert_array_equal(out, img[y1:y1 + ch, x1:x1 + cw], err_msg=name)
        assert f[ImageFeature.CROP_BBOX] == (x1, y1, x1 + cw, y1 + ch)


def test_center_crop_larger_than_image(images):
    img = images["gray_19x41.png"]
    out, _ = run(ImageCenterCrop(50, 10), img)  # clipped to the full width
    np.testing.assert_array_equal(out, img[4:14, :])
    with pytest.raises(ValueError, match="does not fit.*is_clip=True"):
        run(ImageCenterCrop(50, 10, is_clip=False), img)


def test_random_crop(images):
    img = images["cat.jpg"]
    t = ImageRandomCrop(100, 80, seed=11)
    starts = set()
    for _ in range(30):
        out, f = run(t, img)
        x1, y1, x2, y2 = f[ImageFeature.CROP_BBOX]
        assert (x2 - x1, y2 - y1) == (100, 80) and 0 <= x1 <= 380 and 0 <= y1 <= 280
        np.testing.assert_array_equal(out, img[y1:y2, x1:x2])
        starts.add((x1, y1))
    assert len(starts) > 20
    a, b = ImageRandomCrop(5, 5, seed=1), ImageRandomCrop(5, 5, seed=1)
    assert ([run(a, img)[1][ImageFeature.CROP_BBOX] for _ in range(5)]
            == [run(b, img)[1][ImageFeature.CROP_BBOX] for _ in range(5)])
    c = ImageRandomCrop(5, 5, seed=2)
    assert [run(c, img)[1][ImageFeature.CROP_BBOX] for _ in range(5)] != \
        [run(ImageRandomCrop(5, 5, seed=1), img)[1][ImageFeature.CROP_BBOX] for _ in range(5)]


def test_fixed_crop(images):
    img = images["color_37x23.png"]  # h=37, w=23
    out, _ = run(ImageFixedCrop(0.1, 0.2, 0.6, 0.9), img)
    x1, y1 = int(0.1 * 23), int(0.2 * 37)
    cw, ch = int(0.6 * 23 - 0.1 * 23), int(0.9 * 37 - 0.2 * 37)
    np.testing.assert_array_equal(out, img[y1:y1 + ch, x1:x1 + cw])
    out, _ = run(ImageFixedCrop(3, 4, 13, 30, normalized=False), img)
    np.testing.assert_array_equal(out, img[4:30, 3:13])
    out, _ = run(ImageFixedCrop(-5, -5, 10, 10, normalized=False), img)
    np.testing.assert_array_equal(out, img[0:10, 0:10])
    with pytest.raises(ValueError, match="ImageFixedCrop: crop region .* does not fit"):
        run(ImageFixedCrop(-5, -5, 10, 10, normalized=False, is_clip=False), img)
    with pytest.raises(ValueError, match="expected x1 <= x2"):
        ImageFixedCrop(0.5, 0, 0.2, 1)


def test_flips(images):
    for name, img in images.items():
        np.testing.assert_array_equal(run(ImageHFlip(), img)[0], img[:, ::-1], err_msg=name)
        np.testing.assert_array_equal(run(ImageHFlip(), img)[0], _3d(cv2.flip(img, 1)))
        np.testing.assert_array_equal(run(ImageMirror(), img)[0], img[::-1, ::-1], err_msg=name)


def test_expand(images):
    for name in ["cat.jpg", "color_37x23.png", "bgra_29x17.png", "gray_19x41.png"]:
        img = images[name]
        t = ImageExpand(means_r=10, means_g=20, means_b=30, min_expand_ratio=1.5, max_expand_ratio=3.0, seed=5)
        out, f = run(t, img)
        h, w, c = img.shape
        x1, y1, x2, y2 = f[ImageFeature.EXPAND_BBOX]
        assert int(1.5 * h) <= out.shape[0] <= int(3.0 * h) and int(1.5 * w) <= out.shape[1] <= int(3 * w)
        np.testing.assert_array_equal(out[y1:y2, x1:x2], img)
        mask = np.ones(out.shape[:2], bool)
        mask[y1:y2, x1:x2] = False
        expect = {1: [30], 3: [30, 20, 10], 4: [30, 20, 10, 0]}[c]
        np.testing.assert_array_equal(out[mask], np.broadcast_to(np.array(expect, np.uint8), (mask.sum(), c)))


def test_filler(images):
    for name, img in images.items():
        out, _ = run(ImageFiller(0.25, 0.1, 0.5, 0.75, value=7), img)
        h, w = img.shape[:2]
        x1, x2, y1, y2 = int(np.ceil(0.25 * w)), int(np.ceil(0.5 * w)), int(np.ceil(0.1 * h)), int(np.ceil(0.75 * h))
        ref = img.copy()
        ref[y1:y2, x1:x2] = 7
        np.testing.assert_array_equal(out, ref, err_msg=name)
    with pytest.raises(ValueError, match="ImageFiller: end_x must be in \\[0, 1\\]"):
        ImageFiller(0, 0, 2, 1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="ImageResize: resize_h must be a positive int, got 0"):
        ImageResize(0, 4)
    with pytest.raises(TypeError, match="ImageResize: resize_w must be a positive int"):
        ImageResize(4, 2.5)
    with pytest.raises(ValueError, match="resize_mode must be -1 or an OpenCV interpolation"):
        ImageResize(4, 4, resize_mode=9)
    with pytest.raises(ValueError, match="ImageExpand: min_expand_ratio must be >= 1"):
        ImageExpand(min_expand_ratio=0.5)
    with pytest.raises(ValueError, match="scales must be a non-empty list"):
        ImageRandomAspectScale([])
    with pytest.raises(TypeError, match="seed must be an int or None"):
        ImageRandomCrop(3, 3, seed="x")
    with pytest.raises(TypeError, match="expected an ImageFeature, an ImageSet or an image array"):
        ImageHFlip()("not an image")
    with pytest.raises(ValueError, match="has no 'mat'"):
        ImageHFlip()(ImageFeature(uri="x"))


def test_pickle_keeps_behaviour(images):
    img = images["cat.jpg"]
    for t in [ImageResize(30, 20, resize_mode=-1, seed=1), ImageRandomCrop(40, 40, seed=2),
              ImageExpand(seed=3), ImageCenterCrop(10, 10), ImageFiller(0, 0, 0.5, 0.5)]:
        t2 = pickle.loads(pickle.dumps(t))
        np.testing.assert_array_equal(run(t, img)[0], run(t2, img)[0])
