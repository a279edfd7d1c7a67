"""Photometric transforms against direct OpenCV / numpy computations."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.feature.image import (
    ImageBrightness,
    ImageChannelOrder,
    ImageColorJitter,
    ImageContrast,
    ImageFeature,
    ImageHue,
    ImageRandomPreprocessing,
    ImageSaturation,
)

cv2 = pytest.importorskip("cv2")

COLOR = ["cat.jpg", "fish-bike.jpg", "color_37x23.png", "color_1x1.png"]


def run(t, img):
    f = t(ImageFeature(img.copy()))
    return f.mat, f


def _3d(x):
    return x[:, :, None] if x.ndim == 2 else x


@pytest.mark.parametrize("delta", [17.3, -40.0, 0.5])
def test_brightness_fixed_delta(images, delta):
    for name, img in images.items():
        out, _ = run(ImageBrightness(delta, delta), img)
        ref = _3d(cv2.addWeighted(img, 1.0, img, 0.0, delta))  # saturate(img + delta)
        np.testing.assert_array_equal(out, ref, err_msg=name)
    f = images["cat.jpg"].astype(np.float32)
    np.testing.assert_array_equal(run(ImageBrightness(delta, delta), f)[0], f + np.float32(delta))


def test_brightness_random_is_seeded_and_in_range(images):
    img = images["cat.jpg"].astype(np.float32)
    t1, t2, t3 = ImageBrightness(-32, 32, seed=4), ImageBrightness(-32, 32, seed=4), ImageBrightness(-32, 32, seed=5)
    d1 = [float((run(t1, img)[0] - img).mean()) for _ in range(8)]
    d2 = [float((run(t2, img)[0] - img).mean()) for _ in range(8)]
    d3 = [float((run(t3, img)[0] - img).mean()) for _ in range(8)]
    assert d1 == d2 and d1 != d3
    assert all(-32 <= d <= 32 for d in d1) and len(set(d1)) == 8


@pytest.mark.parametrize("alpha", [0.5, 1.37])
def test_contrast_fixed(images, alpha):
    for name, img in images.items():
        out, _ = run(ImageContrast(alpha, alpha), img)
        np.testing.assert_array_equal(out, _3d(cv2.addWeighted(img, alpha, img, 0.0, 0.0)), err_msg=name)


@pytest.mark.parametrize("alpha", [0.4, 1.6])
def test_saturation_fixed(images, alpha):
    for name in COLOR:
        img = images[name]
        out, _ = run(ImageSaturation(alpha, alpha), img)
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        hsv[:, :, 1] = cv2.addWeighted(hsv[:, :, 1], alpha, hsv[:, :, 1], 0.0, 0.0)
        np.testing.assert_array_equal(out, cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR), err_msg=name)
        if alpha < 1:
            s_in = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)[:, :, 1].astype(float).mean()
            assert cv2.cvtColor(out, cv2.COLOR_BGR2HSV)[:, :, 1].astype(float).mean() < s_in or s_in == 0


@pytest.mark.parametrize("delta", [25, -30, 170])
def test_hue_fixed_wraps(images, delta):
    for name in COLOR:
        img = images[name]
        out, _ = run(ImageHue(delta, delta), img)
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        hsv[:, :, 0] = ((hsv[:, :, 0].astype(np.int64) + delta) % 180).astype(np.uint8)
        np.testing.assert_array_equal(out, cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR), err_msg=name)


def test_hue_float_degrees(images):
    img = images["cat.jpg"].astype(np.float32) / 255.0
    out, _ = run(ImageHue(50.0, 50.0), img)
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    hsv[:, :, 0] = np.mod(hsv[:, :, 0] + 50.0, 360.0)
    np.testing.assert_allclose(out, cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR), atol=1e-6)


def test_color_ops_need_three_channels(images):
    with pytest.raises(ValueError, match="ImageHue: expected an image with 3 channels .* got shape \\(19, 41, 1\\)"):
        run(ImageHue(1, 2), images["gray_19x41.png"])
    with pytest.raises(ValueError, match="ImageSaturation: expected an image with 3 channels"):
        run(ImageSaturation(1, 2), images["bgra_29x17.png"])
    with pytest.raises(ValueError, match="ImageBrightness: expected delta_low <= delta_high"):
        ImageBrightness(3, 1)


def test_channel_order(images):
    for img in images.values():
        t = ImageChannelOrder(seed=9)
        perms = set()
        for _ in range(12):
            out, f = run(t, img)
            perm = f["channelOrder"]
            assert sorted(perm) == list(range(img.shape[2]))
            np.testing.assert_array_equal(out, img[:, :, list(perm)])
            perms.add(perm)
        if img.shape[2] == 3:
            assert len(perms) > 2


def test_color_jitter_off_is_identity(images):
    img = images["cat.jpg"]
    t = ImageColorJitter(brightness_prob=0, contrast_prob=0, hue_prob=0, saturation_prob=0, random_order_prob=0,
                         seed=1)
    np.testing.assert_array_equal(run(t, img)[0], img)


def test_color_jitter_orders(images):
    img = images["fish-bike.jpg"]
    t = ImageColorJitter(brightness_prob=1, brightness_delta=0, contrast_prob=1, contrast_lower=1.3,
                         contrast_upper=1.3, hue_prob=1, hue_delta=0, saturation_prob=1, saturation_lower=0.6,
                         saturation_upper=0.6, seed=2)
    contrast = lambda x: cv2.addWeighted(x, 1.3, x, 0.0, 0.0)

    def saturation(x):
        hsv = cv2.cvtColor(x, cv2.COLOR_BGR2HSV)
        hsv[:, :, 1] = cv2.addWeighted(hsv[:, :, 1], 0.6, hsv[:, :, 1], 0.0, 0.0)
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)

    order1, order2 = saturation(contrast(img)), contrast(saturation(img))
    assert not np.array_equal(order1, order2)
    seen = set()
    for _ in range(12):
        out, _ = run(t, img)
        if np.array_equal(out, order1):
            seen.add(1)
        elif np.array_equal(out, order2):
            seen.add(2)
        else:
            raise AssertionError("ColorJitter output is neither documented order")
    assert seen == {1, 2}


def test_color_jitter_seeded_and_shuffle(images):
    img = images["cat.jpg"]
    for shuffle in (False, True):
        a = ImageColorJitter(random_order_prob=0.5, shuffle=shuffle, seed=3)
        b = ImageColorJitter(random_order_prob=0.5, shuffle=shuffle, seed=3)
        c = ImageColorJitter(random_order_prob=0.5, shuffle=shuffle, seed=4)
        oa = [run(a, img)[0] for _ in range(4)]
        ob = [run(b, img)[0] for _ in range(4)]
        oc = [run(c, img)[0] for _ in range(4)]
        assert all(np.array_equal(x, y) for x, y in zip(oa, ob))
        assert not all(np.array_equal(x, y) for x, y in zip(oa, oc))
        assert all(o.shape == img.shape and o.dtype == np.uint8 for o in oa)


def test_random_preprocessing_prob(images):
    img = images["color_37x23.png"]
    t = ImageRandomPreprocessing(ImageBrightness(50, 50), 0.3, seed=0)
    hits = sum(not np.array_equal(run(t, img)[0], img) for _ in range(400))
    assert 80 <= hits <= 160  # ~ Binomial(400, 0.3): mean 120, sd 9.2
    assert all(np.array_equal(run(ImageRandomPreprocessing(ImageBrightness(50, 50), 0.0), img)[0], img)
               for _ in range(5))
    with pytest.raises(ValueError, match="prob must be in \\[0, 1\\], got 1.5"):
        ImageRandomPreprocessing(ImageBrightness(1, 1), 1.5)
