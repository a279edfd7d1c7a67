"""Fixtures of the image tests: real photos and generated PNG variants."""

from __future__ import annotations

import pytest

from tests.feature.image import helpers


@pytest.fixture(scope="session")
def images(testdata):
    """{name: (H, W, C) uint8 BGR}: the Caffe example photos and odd/gray/BGRA PNG images."""
    pytest.importorskip("cv2")
    return helpers.all_images(testdata)


@pytest.fixture(scope="session")
def photos(testdata):
    pytest.importorskip("cv2")
    return helpers.load_photos(testdata)
