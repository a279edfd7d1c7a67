"""NNImageReader against Spark's own image source, bad input, labels, and the seed's chain."""

from __future__ import annotations

import logging
import os
import shutil
import stat

import numpy as np
import pytest

from tests.feature.image.helpers import photo_paths, smooth_image, write_pngs

cv2 = pytest.importorskip("cv2")
pytestmark = pytest.mark.spark

# Java ImageIO and libjpeg-turbo (OpenCV) may round JPEG IDCT output differently; PNGs must match exactly.
JPEG_TOLERANCE = 2  # max |difference| per byte, in gray levels


@pytest.fixture(scope="module")
def image_dir(testdata, tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    for p in photo_paths(testdata):
        shutil.copy(p, d / os.path.basename(p))
    pngs = write_pngs(str(d))
    cv2.imwrite(str(d / "gray_q90.jpg"), smooth_image(33, 21, 1, 7)[:, :, 0], [cv2.IMWRITE_JPEG_QUALITY, 90])
    cv2.imwrite(str(d / "color name #1.jpg"), smooth_image(18, 26, 3, 8))
    return d, pngs


@pytest.fixture(scope="module")
def bad_dir(testdata, tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    cv2.imwrite(str(d / "good.png"), smooth_image(9, 11, 3, 1))
    with open(photo_paths(testdata)[0], "rb") as fh:
        data = fh.read()
    (d / "truncated.jpg").write_bytes(data[:len(data) // 2])
    (d / "text.png").write_text("this is not an image\n")
    (d / "zero.jpg").write_bytes(b"")
    locked = d / "locked.jpg"
    locked.write_bytes(b"garbage that is not a JPEG either")
    os.chmod(locked, 0)
    yield d
    os.chmod(locked, stat.S_IRUSR | stat.S_IWUSR)


def _by_origin(df):
    return {r.image.origin: r for r in df.collect()}


def test_schema_and_rows_match_spark_image_source(spark, image_dir):
    from zoo.nnframes import NNImageReader

    d, pngs = image_dir
    ours = NNImageReader.readImages(str(d), spark)
    ref = spark.read.format("image").load(str(d))
    assert ours.schema == ref.schema
    assert ours.schema.json() == ref.schema.json()
    a, b = _by_origin(ours), _by_origin(ref)
    assert set(a) == set(b) and len(a) == len(pngs) + 4
    assert any("%20" in o for o in a)  # origins are URIs, encoded like Spark's
    for origin, row in a.items():
        x, y = row.image, b[origin].image
        assert (x.height, x.width, x.nChannels, x.mode) == (y.height, y.width, y.nChannels, y.mode), origin
        assert x.height > 0 and len(x.data) == x.height * x.width * x.nChannels
        xd, yd = np.frombuffer(x.data, np.uint8), np.frombuffer(y.data, np.uint8)
        if origin.endswith(".png"):
            assert x.data == y.data, origin
        else:
            diff = np.abs(xd.astype(int) - yd.astype(int))
            assert diff.max() <= JPEG_TOLERANCE and diff.mean() < 0.5, (origin, diff.max())
    modes = {o.rsplit("/", 1)[-1]: r.image.mode for o, r in a.items()}
    assert modes["gray_19x41.png"] == 0 and modes["bgra_29x17.png"] == 24 and modes["cat.jpg"] == 16
    assert modes["gray_q90.jpg"] == 0
    # the PNG bytes are the BGR(A) row-major pixels the test wrote
    for name, img in pngs.items():
        row = a[next(o for o in a if o.endswith("/" + name))].image
        np.testing.assert_array_equal(np.frombuffer(row.data, np.uint8).reshape(img.shape), img)


def test_resize_codec_globs_lists_partitions(spark, image_dir):
    from zoo.nnframes import NNImageReader

    d, pngs = image_dir
    rows = NNImageReader.readImages(str(d / "*.png"), spark, resizeH=12, resizeW=7).collect()
    assert len(rows) == len(pngs)
    for r in rows:
        name = r.image.origin.rsplit("/", 1)[-1]
        img = pngs[name]
        ref = cv2.resize(img, (7, 12), interpolation=cv2.INTER_LINEAR)
        assert (r.image.height, r.image.width, r.image.nChannels) == (12, 7, img.shape[2])
        np.testing.assert_array_equal(np.frombuffer(r.image.data, np.uint8), ref.reshape(-1))
    paths = f"{d / 'cat.jpg'},{d / 'gray_19x41.png'}"
    df = NNImageReader.readImages(paths, spark, image_codec=1, min_partitions=3)
    rows = df.collect()
    assert {r.image.nChannels for r in rows} == {3} and {r.image.mode for r in rows} == {16}
    assert len(rows) == 2 and df.rdd.getNumPartitions() >= 3
    assert NNImageReader.readImages([str(d / "cat.jpg")], spark).count() == 1
    with pytest.raises(ValueError, match="give both resizeH and resizeW"):
        NNImageReader.readImages(str(d), spark, resizeH=10)


def test_bad_input_rows(spark, bad_dir, caplog):
    from zoo.nnframes import NNImageReader

    with caplog.at_level(logging.WARNING, logger="zoo.feature.image"):
        df = NNImageReader.readImages(str(bad_dir), spark)
        rows = _by_origin(df)
    assert "1 of 5 files are empty or unreadable" in caplog.text  # zero.jpg: Spark's scan skips empty files
    names = {o.rsplit("/", 1)[-1]: r.image for o, r in rows.items()}
    expected_invalid = {"truncated.jpg", "text.png", "zero.jpg", "locked.jpg"}
    if os.geteuid() != 0:  # a file this user cannot read is skipped by Spark's scan
        expected_invalid.discard("locked.jpg")
        names.pop("locked.jpg", None)
    assert set(names) == expected_invalid | {"good.png"}
    for n in expected_invalid:
        img = names[n]
        assert (img.height, img.width, img.nChannels, img.mode, bytes(img.data)) == (-1, -1, -1, -1, b""), n
    assert names["good.png"].height == 9
    kept = NNImageReader.readImages(str(bad_dir), spark, drop_invalid=True).collect()
    assert [r.image.origin.rsplit("/", 1)[-1] for r in kept] == ["good.png"]


def test_decoder_logs_invalid_count(caplog):
    import pyarrow as pa

    from zoo.feature.image.spark_io import _decoder

    ok = cv2.imencode(".png", smooth_image(4, 5, 3, 0))[1].tobytes()
    batch = pa.RecordBatch.from_arrays([pa.array(["a.png", "b.png", "c.jpg"]),
                                        pa.array([ok, b"text", b"\xff\xd8\xff"], pa.binary())],
                                       names=["origin", "content"])
    with caplog.at_level(logging.WARNING, logger="zoo.feature.image"):
        out = list(_decoder(-1, -1, -1, False, None)([batch]))
    assert "2 of 3 files could not be decoded (kept as invalid rows): b.png, c.jpg" in caplog.text
    assert out[0].column(0).field("height").to_pylist() == [4, -1, -1]
    out = list(_decoder(-1, -1, -1, True, None)([batch]))
    assert out[0].column(0).field("origin").to_pylist() == ["a.png"]


def test_nonexistent_path(spark, image_dir, tmp_path):
    from zoo.nnframes import NNImageReader

    missing = str(tmp_path / "no_such_folder")
    with pytest.raises(FileNotFoundError, match="path '.*no_such_folder' does not exist"):
        NNImageReader.readImages(missing, spark)
    with pytest.raises(FileNotFoundError, match="no_such_folder"):
        NNImageReader.readImages(f"{image_dir[0] / 'cat.jpg'},{missing}", spark)


def test_labels_from_folders(spark, tmp_path):
    from zoo.nnframes import NNImageReader

    for k, cls in enumerate(["dog", "cat", "zebra"]):
        (tmp_path / cls).mkdir()
        for i in range(k + 1):
            cv2.imwrite(str(tmp_path / cls / f"{i}.png"), smooth_image(5 + i, 6, 3, 10 * k + i))
    df = NNImageReader.readImages(str(tmp_path), spark, with_label=True)
    assert df.columns == ["image", "label"]
    assert NNImageReader.label_map(df) == {"cat": 0, "dog": 1, "zebra": 2}
    got = sorted((r.image.origin.split("/")[-2], r.label) for r in df.collect())
    assert got == [("cat", 0), ("cat", 0), ("dog", 1), ("zebra", 2), ("zebra", 2), ("zebra", 2)]


def test_seed_chain_on_reader_rows(spark, image_dir):
    """RowToImageFeature >> ImageResize >> ImageChannelNormalize >> ImageMatToTensor >> ImageFeatureToTensor."""
    from zoo.feature.image import (
        ImageChannelNormalize,
        ImageFeatureToTensor,
        ImageMatToTensor,
        ImageResize,
        RowToImageFeature,
    )
    from zoo.nnframes import NNImageReader

    d, _ = image_dir
    chain = (RowToImageFeature() >> ImageResize(64, 64) >> ImageChannelNormalize(123.0, 117.0, 104.0)
             >> ImageMatToTensor() >> ImageFeatureToTensor())
    df = NNImageReader.readImages(str(d / "*.jpg"), spark)
    rows = [r for r in df.collect() if r.image.nChannels == 3]
    assert len(rows) >= 3

    def direct(origin):
        path = origin.replace("file://", "").replace("%20", " ").replace("%23", "#")
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        img = cv2.resize(img, (64, 64), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        return (img - np.array([104.0, 117.0, 123.0], np.float32)).transpose(2, 0, 1)

    for r in rows:
        t = chain(r)
        assert t.dtype == np.float32 and t.shape == (3, 64, 64)
        np.testing.assert_array_equal(t, direct(r.image.origin))
    # the same chain in the executors, as an array<float> column
    out = NNImageReader.to_tensors(df.filter("image.nChannels = 3"), chain, keep_input=True).collect()
    assert len(out) == len(rows)
    for r in out:
        np.testing.assert_array_equal(np.asarray(r.features, np.float32).reshape(3, 64, 64),
                                      direct(r.image.origin))


def test_to_tensors_invalid_rows_and_seeded_random(spark, bad_dir, image_dir):
    from zoo.feature.image import ImageMatToTensor, ImageRandomCrop, ImageResize
    from zoo.nnframes import NNImageReader, with_origin_column

    df = with_origin_column(NNImageReader.readImages(str(bad_dir), spark))
    out = {r.origin.rsplit("/", 1)[-1]: r.features for r in
           NNImageReader.to_tensors(df, ImageResize(3, 2) >> ImageMatToTensor()).collect()}
    assert len(out["good.png"]) == 3 * 3 * 2 and out["text.png"] is None and out["zero.jpg"] is None
    d, _ = image_dir
    df = NNImageReader.readImages(str(d / "*.png"), spark, min_partitions=2)
    chain = ImageResize(16, 16) >> ImageRandomCrop(8, 8, seed=3) >> ImageMatToTensor()
    a = sorted(NNImageReader.to_tensors(df, chain, keep_input=True).collect(), key=lambda r: r.image.origin)
    b = sorted(NNImageReader.to_tensors(df, chain, keep_input=True).collect(), key=lambda r: r.image.origin)
    assert [r.features for r in a] == [r.features for r in b]


def test_to_tensors_fused_read_equals_two_passes(spark, bad_dir, image_dir):
    """to_tensors straight after readImages decodes and preprocesses in one pass; same rows as two passes."""
    from zoo.feature.image import ImageChannelNormalize, ImageMatToTensor, ImageResize
    from zoo.nnframes import NNImageReader

    chain = ImageResize(5, 4) >> ImageChannelNormalize(1.0, 2.0, 3.0) >> ImageMatToTensor()
    for folder in (bad_dir, image_dir[0] / "*.jpg"):
        df = NNImageReader.readImages(str(folder), spark, resizeH=9, resizeW=7, image_codec=1)
        assert hasattr(df, "_zoo_image_read") and not hasattr(df.select("*"), "_zoo_image_read")
        fused = NNImageReader.to_tensors(df, chain, keep_input=True).collect()
        two = NNImageReader.to_tensors(df.select("*"), chain, keep_input=True).collect()
        key = lambda r: r.image.origin
        fused, two = sorted(fused, key=key), sorted(two, key=key)
        assert [r.image for r in fused] == [r.image for r in two]
        assert [r.features for r in fused] == [r.features for r in two]
        assert any(r.features is not None for r in fused)
    assert any(r.features is None for r in sorted(NNImageReader.to_tensors(
        NNImageReader.readImages(str(bad_dir), spark), chain).collect(), key=lambda r: str(r.features)))


def test_executor_errors_name_the_image(spark, image_dir):
    from zoo.feature.image import ImageChannelNormalize
    from zoo.nnframes import NNImageReader

    d, _ = image_dir
    df = NNImageReader.readImages(str(d / "gray_19x41.png"), spark)
    with pytest.raises(Exception, match="image 'file:///.*gray_19x41.png': ImageChannelNormalize: expected an "
                                        "image with 3 channels"):
        NNImageReader.to_tensors(df, ImageChannelNormalize(1, 2, 3)).collect()
