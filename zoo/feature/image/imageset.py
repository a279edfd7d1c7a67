"""ImageSet: a collection of ImageFeatures, local (a list) or distributed (a Spark DataFrame)."""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Sequence
from typing import Any

from zoo.feature.common import ChainedPreprocessing, Preprocessing
from zoo.feature.image.convert import decode_image
from zoo.feature.image.imagefeature import ImageFeature, _cv2

__all__ = ["DistributedImageSet", "ImageSet", "LocalImageSet", "list_image_files"]

_log = logging.getLogger("zoo.feature.image")


def list_image_files(path: str | Sequence[str]) -> list[str]:
    """Files named by ``path``: a file, a folder (recursively), a glob, or a comma list of them.

    Raises FileNotFoundError naming a part that matches nothing. Sorted within each part.
    """
    from zoo.feature.image.spark_io import _split_paths

    files: list[str] = []
    for part in _split_paths(path):
        local = part.removeprefix("file:")
        local = "/" + local.lstrip("/") if part.startswith("file:") else local
        matches = sorted(glob.glob(local)) if glob.has_magic(local) else ([local] if os.path.exists(local) else [])
        if not matches:
            raise FileNotFoundError(f"ImageSet.read: path {part!r} does not exist (nothing matches it)")
        for m in matches:
            if os.path.isdir(m):
                for root, dirs, names in os.walk(m):
                    dirs.sort()
                    files.extend(os.path.join(root, n) for n in sorted(names)
                                 if not n.startswith("."))
            else:
                files.append(m)
    return files


def _read_one(path: str, image_codec: int, resize_h: int, resize_w: int) -> ImageFeature:
    f = ImageFeature(uri=os.path.abspath(path))
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as e:
        _log.warning("ImageSet.read: cannot read %s: %s", path, e)
        data = b""
    mat = decode_image(data, image_codec)
    if mat is None:
        f[ImageFeature.IS_VALID] = False
        return f
    f[ImageFeature.ORIGINAL_SIZE] = tuple(mat.shape)
    if resize_h > 0 and resize_w > 0:
        cv2 = _cv2()
        mat = cv2.resize(mat, (resize_w, resize_h), interpolation=cv2.INTER_LINEAR)
    f.set_mat(mat)
    return f


class ImageSet:
    """A collection of ImageFeatures, transformed lazily or eagerly by image preprocessing.

    ``ImageSet.read(path)`` gives a :class:`LocalImageSet` (decoded in this process);
    ``ImageSet.read(path, spark)`` a :class:`DistributedImageSet` backed by a DataFrame
    whose images are decoded and transformed in the Spark executors.
    """

    @staticmethod
    def read(path: str | Sequence[str], spark=None, min_partitions: int = 1, resize_height: int = -1,
             resize_width: int = -1, image_codec: int = -1, with_label: bool = False,
             one_based_label: bool = False, drop_invalid: bool = False) -> ImageSet:
        """Read images from a file, folder (recursive), glob or comma list.

        Args:
            spark: None for a local ImageSet, a SparkSession/SparkContext for a distributed one.
            min_partitions: (distributed) at least this many partitions.
            resize_height, resize_width: resize on reading when both are > 0.
            image_codec: OpenCV imread flag (-1 keeps the file's channels).
            with_label: label each image with the index of its parent folder name among the
                sorted folder names (0-based; 1-based with ``one_based_label``).
            drop_invalid: drop undecodable files (otherwise they are invalid features).
        """
        if isinstance(min_partitions, bool) or not isinstance(min_partitions, int) or min_partitions < 1:
            raise ValueError(f"ImageSet.read: min_partitions must be a positive int, got {min_partitions!r}")
        if (resize_height > 0) != (resize_width > 0):
            raise ValueError(f"ImageSet.read: give both resize_height and resize_width (> 0) or neither, "
                             f"got {resize_height}, {resize_width}")
        if spark is not None:
            from zoo.feature.image.spark_io import read_image_dataframe

            df, label_map = read_image_dataframe(path, spark, min_partitions, resize_height, resize_width,
                                                 image_codec, drop_invalid, with_label)
            if with_label and one_based_label:
                from pyspark.sql import functions as F

                from zoo.feature.image.spark_io import LABEL_MAP_METADATA

                label_map = {k: v + 1 for k, v in label_map.items()}
                df = df.withColumn("label", (F.col("label") + 1).alias(
                    "label", metadata={LABEL_MAP_METADATA: label_map}))
            return DistributedImageSet(df, label_map=label_map)
        files = list_image_files(path)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) + 1)) as pool:
            feats = list(pool.map(lambda p: _read_one(p, image_codec, resize_height, resize_width), files))
        bad = [f.uri for f in feats if not f.is_valid]
        if bad:
            _log.warning("ImageSet.read: %d of %d files could not be decoded (%s): %s", len(bad), len(feats),
                         "dropped" if drop_invalid else "kept as invalid features",
                         ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else ""))
        if drop_invalid:
            feats = [f for f in feats if f.is_valid]
        label_map = None
        if with_label:
            names = sorted({os.path.basename(os.path.dirname(f.uri)) for f in feats})
            base = 1 if one_based_label else 0
            label_map = {n: i + base for i, n in enumerate(names)}
            for f in feats:
                f[ImageFeature.LABEL] = label_map[os.path.basename(os.path.dirname(f.uri))]
        return LocalImageSet(feats, label_map=label_map)

    @staticmethod
    def from_features(features: Sequence[ImageFeature]) -> LocalImageSet:
        return LocalImageSet(list(features))

    @staticmethod
    def from_arrays(images: Sequence[Any], labels: Sequence[Any] | None = None) -> LocalImageSet:
        """A local ImageSet of (H, W[, C]) BGR arrays, with optional labels."""
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"ImageSet.from_arrays: got {len(images)} images but {len(labels)} labels")
        return LocalImageSet([ImageFeature(img, None if labels is None else labels[i])
                              for i, img in enumerate(images)])

    def label_map(self) -> dict | None:
        """{folder name: label} of a set read with ``with_label=True``, else None."""
        return self._label_map

    def is_local(self) -> bool:
        return isinstance(self, LocalImageSet)

    def is_distributed(self) -> bool:
        return isinstance(self, DistributedImageSet)

    def transform(self, transformer: Preprocessing) -> ImageSet:
        raise NotImplementedError

    def get_features(self) -> list[ImageFeature]:
        raise NotImplementedError

    def get_image(self, key: str | None = None, to_chw: bool = True) -> list:
        """Images as float32 arrays (the tensor if made, else the mat); None for invalid ones."""
        return [f.get_image(key, to_chw) if f.is_valid else None for f in self.get_features()]

    def get_label(self) -> list:
        return [f.get_label() for f in self.get_features()]

    def get_predict(self, key: str = ImageFeature.PREDICT) -> list:
        return [(f.uri, f.get(key)) for f in self.get_features()]

    def get_uri(self) -> list:
        return [f.uri for f in self.get_features()]


def _check_transformer(t) -> Preprocessing:
    if not isinstance(t, Preprocessing):
        raise TypeError(f"ImageSet.transform: expected a Preprocessing, got {type(t).__name__}")
    return t


class LocalImageSet(ImageSet):
    """An ImageSet held in this process as a list of ImageFeatures; ``transform`` is eager."""

    def __init__(self, features: list[ImageFeature], label_map: dict | None = None):
        self.features = features
        self._label_map = label_map

    def transform(self, transformer: Preprocessing) -> LocalImageSet:
        t = _check_transformer(transformer)
        return LocalImageSet([t.apply(f) for f in self.features], self._label_map)

    def get_features(self) -> list[ImageFeature]:
        return self.features

    def __len__(self) -> int:
        return len(self.features)

    def __iter__(self):
        return iter(self.features)

    def __getitem__(self, i):
        return self.features[i]


class DistributedImageSet(ImageSet):
    """An ImageSet backed by an image-schema DataFrame; ``transform`` is lazy and runs in
    the executors when the images are fetched (``get_image``, ``get_features``, ``to_dataframe``).

    Args:
        df: a DataFrame with an ``image`` struct column (``NNImageReader`` schema) and
            optionally ``label``.
        transforms: the pending chain.
        label_map: the folder-name map of a labelled read.
    """

    def __init__(self, df, transforms: Preprocessing | None = None, label_map: dict | None = None,
                 image_col: str = "image"):
        self.df = df
        self.transforms = transforms
        self._label_map = label_map
        self.image_col = image_col

    def transform(self, transformer: Preprocessing) -> DistributedImageSet:
        t = _check_transformer(transformer)
        chain = t if self.transforms is None else ChainedPreprocessing([self.transforms, t])
        return DistributedImageSet(self.df, chain, self._label_map, self.image_col)

    def get_features(self) -> list[ImageFeature]:
        """Run the pending transforms in the executors and bring the features to the driver."""
        import pickle

        from pyspark.sql.types import BinaryType, StructField, StructType

        from zoo.feature.image.spark_io import _apply_named, _partition_id, _struct_to_features

        pre, col, has_label = self.transforms, self.image_col, "label" in self.df.columns

        def run(batches):
            import pyarrow as pa

            p = pre.fork(_partition_id()) if pre is not None else None
            for batch in batches:
                names = batch.schema.names
                labels = batch.column(names.index("label")).to_pylist() if has_label else None
                feats = _struct_to_features(batch.column(names.index(col)), labels)
                out = [pickle.dumps(_apply_named(p, f), protocol=5) for f in feats]
                yield pa.RecordBatch.from_arrays([pa.array(out, pa.binary())], names=["feature"])

        schema = StructType([StructField("feature", BinaryType(), True)])
        rows = self.df.mapInArrow(run, schema).collect()
        return [pickle.loads(r[0]) for r in rows]

    def to_local(self) -> LocalImageSet:
        return LocalImageSet(self.get_features(), self._label_map)

    def to_dataframe(self, output_col: str = "features", keep_input: bool = False):
        """The DataFrame with each transformed image as a flattened float32 array column."""
        from zoo.feature.image.spark_io import preprocess_image_dataframe

        return preprocess_image_dataframe(self.df, self.transforms, self.image_col, output_col, keep_input)

    def count(self) -> int:
        return self.df.count()
