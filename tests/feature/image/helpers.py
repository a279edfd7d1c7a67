"""Test images: the real photos of the shared test data and PNGs written by the tests."""

from __future__ import annotations

import glob
import os

import numpy as np


def photo_paths(testdata: str) -> list[str]:
    paths = sorted(glob.glob(os.path.join(testdata, "bvlc_caffe", "examples", "images", "*.jpg")))
    if not paths:
        import pytest

        pytest.skip(f"no photos under {testdata}/bvlc_caffe/examples/images")
    return paths


def load_photos(testdata: str) -> dict[str, np.ndarray]:
    import cv2

    return {os.path.basename(p): cv2.imread(p, cv2.IMREAD_UNCHANGED) for p in photo_paths(testdata)}


def smooth_image(h: int, w: int, c: int, seed: int) -> np.ndarray:
    """A smooth uint8 picture with noise (gradients, so colour transforms act on real hues)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    planes = [(xx * rng.uniform(0.5, 3) + yy * rng.uniform(0.5, 3) + rng.uniform(0, 255)) % 256
              for _ in range(c)]
    img = np.stack(planes, axis=2) + rng.normal(0, 8, (h, w, c))
    return np.clip(img, 0, 255).astype(np.uint8)


def make_pngs() -> dict[str, np.ndarray]:
    """Odd-sized colour, grayscale and 4-channel (BGRA) images, as the PNG files will hold them."""
    return {
        "color_37x23.png": smooth_image(37, 23, 3, 1),
        "gray_19x41.png": smooth_image(19, 41, 1, 2),
        "bgra_29x17.png": smooth_image(29, 17, 4, 3),
        "color_1x1.png": smooth_image(1, 1, 3, 4),
    }


def write_pngs(folder: str) -> dict[str, np.ndarray]:
    import cv2

    os.makedirs(folder, exist_ok=True)
    imgs = make_pngs()
    for name, img in imgs.items():
        if not cv2.imwrite(os.path.join(folder, name), img):
            raise RuntimeError(f"could not write {name}")
    return imgs


def all_images(testdata: str) -> dict[str, np.ndarray]:
    """Real photos plus the PNG variants, each (H, W, C) uint8 BGR."""
    out = {k: v for k, v in load_photos(testdata).items()}
    out.update(make_pngs())
    return {k: (v[:, :, None] if v.ndim == 2 else v) for k, v in out.items()}
