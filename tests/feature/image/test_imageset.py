"""ImageSet: local and distributed reading, labels, transforms, and their agreement."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from tests.feature.image.helpers import smooth_image
from zoo.feature.image import (
    DistributedImageSet,
    ImageCenterCrop,
    ImageFeature,
    ImageMatToTensor,
    ImageRandomCrop,
    ImageResize,
    ImageSet,
    ImageSetToSample,
    LocalImageSet,
)

cv2 = pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    root = tmp_path_factory.mktemp("labelled")
    imgs = {}
    for k, cls in enumerate(["b_dogs", "a_cats"]):
        (root / cls).mkdir()
        for i in range(3):
            img = smooth_image(20 + i, 30 - i, 3 if i else 1, 10 * k + i)
            cv2.imwrite(str(root / cls / f"img{i}.png"), img)
            imgs[f"{cls}/img{i}.png"] = img
    (root / "a_cats" / "broken.png").write_bytes(b"not a png")
    return root, imgs


def test_local_read_labels_and_images(labelled, caplog):
    root, imgs = labelled
    with caplog.at_level(logging.WARNING, logger="zoo.feature.image"):
        s = ImageSet.read(str(root), with_label=True)
    assert "1 of 7 files could not be decoded" in caplog.text
    assert isinstance(s, LocalImageSet) and s.is_local() and not s.is_distributed()
    assert s.label_map() == {"a_cats": 0, "b_dogs": 1}
    assert len(s) == 7
    valid = [f for f in s if f.is_valid]
    assert len(valid) == 6
    for f in valid:
        key = "/".join(f.uri.split("/")[-2:])
        np.testing.assert_array_equal(f.mat, imgs[key])
        assert f.get_label() == (0 if key.startswith("a_") else 1)
    s2 = ImageSet.read(str(root), with_label=True, one_based_label=True, drop_invalid=True)
    assert len(s2) == 6 and sorted(set(s2.get_label())) == [1, 2]


def test_local_transform_get_image(labelled):
    root, imgs = labelled
    s = ImageSet.read(str(root / "b_dogs" / "*.png"), resize_height=10, resize_width=8)
    assert len(s) == 3
    for f in s:
        img = imgs["b_dogs/" + f.uri.rsplit("/", 1)[-1]]
        np.testing.assert_array_equal(f.mat[:, :, :], cv2.resize(img, (8, 10)).reshape(10, 8, -1))
        assert f.original_size == (img.shape[0], img.shape[1], 1 if img.ndim == 2 else img.shape[2])
    t = s.transform(ImageCenterCrop(6, 4) >> ImageMatToTensor() >> ImageSetToSample())
    chw = t.get_image()
    assert [x.shape[1:] for x in chw] == [(4, 6)] * 3
    hwc = t.get_image(to_chw=False)
    np.testing.assert_array_equal(hwc[0], chw[0].transpose(1, 2, 0))
    assert all(f[ImageFeature.SAMPLE].feature.shape == x.shape for f, x in zip(t, chw))
    assert t.get_label() == [None] * 3 and len(t.get_predict()) == 3


def test_local_paths_and_errors(labelled, tmp_path):
    root, _ = labelled
    s = ImageSet.read(f"{root / 'a_cats' / 'img0.png'},{root / 'b_dogs'}")
    assert len(s) == 4
    with pytest.raises(FileNotFoundError, match="ImageSet.read: path '.*missing' does not exist"):
        ImageSet.read(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="give both resize_height and resize_width"):
        ImageSet.read(str(root), resize_height=3)
    with pytest.raises(TypeError, match="ImageSet.transform: expected a Preprocessing, got str"):
        ImageSet.read(str(root)).transform("resize")
    arr = ImageSet.from_arrays([np.zeros((3, 4, 3), np.uint8)] * 2, labels=[0, 1])
    assert arr.transform(ImageResize(2, 2)).get_image()[0].shape == (3, 2, 2)
    with pytest.raises(ValueError, match="got 1 images but 2 labels"):
        ImageSet.from_arrays([np.zeros((3, 4, 3), np.uint8)], labels=[0, 1])


@pytest.mark.spark
def test_distributed_matches_local(spark, labelled):
    root, _ = labelled
    chain = ImageResize(12, 12) >> ImageCenterCrop(8, 8) >> ImageMatToTensor(to_RGB=True)
    dist = ImageSet.read(str(root), spark, with_label=True, drop_invalid=True)
    assert isinstance(dist, DistributedImageSet) and dist.is_distributed()
    assert dist.label_map() == {"a_cats": 0, "b_dogs": 1} and dist.count() == 6
    local = ImageSet.read(str(root), with_label=True, drop_invalid=True).transform(chain)
    dt = dist.transform(chain)
    feats = {f.uri.split("/", 3)[-1].lstrip("/"): f for f in dt.get_features()}
    ref = {f.uri.lstrip("/"): f for f in local}
    assert set(feats) == set(ref)
    for k, f in feats.items():
        np.testing.assert_array_equal(f.get_image(), ref[k].get_image())
        assert f.get_label() == ref[k].get_label()
    df = dt.to_dataframe()
    rows = df.collect()
    assert df.columns == ["label", "features"] and len(rows) == 6
    assert sorted(len(r.features) for r in rows) == [64, 64] + [192] * 4  # 1-channel img0 of each class
    one = ImageSet.read(str(root), spark, with_label=True, one_based_label=True)
    assert sorted(set(one.get_label())) == [1, 2] and one.label_map() == {"a_cats": 1, "b_dogs": 2}


@pytest.mark.spark
def test_distributed_random_transform_reproducible(spark, labelled):
    root, _ = labelled
    s = ImageSet.read(str(root), spark, drop_invalid=True, min_partitions=2)
    t = ImageRandomCrop(5, 5, seed=42)
    a = sorted((f.uri, f[ImageFeature.CROP_BBOX]) for f in s.transform(t).get_features())
    b = sorted((f.uri, f[ImageFeature.CROP_BBOX]) for f in s.transform(t).get_features())
    assert a == b and len({box for _, box in a}) > 1
