"""Spark side of zoo.feature.image: read image files into a DataFrame with the schema of
``spark.read.format("image")``, and run image preprocessing over such a DataFrame.

Files are listed and read by Spark (``binaryFile`` source) and decoded with OpenCV in the
executors, one Arrow batch at a time (``mapInArrow``); nothing is decoded on the driver.
pyspark and pyarrow are imported inside the functions.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import unquote

from zoo.feature.common import Preprocessing
from zoo.feature.image.convert import decode_image, mode_of
from zoo.feature.image.imagefeature import ImageFeature, _cv2

__all__ = [
    "LABEL_MAP_METADATA",
    "image_schema",
    "label_map_of",
    "preprocess_image_dataframe",
    "read_image_dataframe",
]

_log = logging.getLogger("zoo.feature.image")

#: metadata key of the label column that holds the {folder name: label} map.
LABEL_MAP_METADATA = "zoo.label_map"

# Output batches hold at most this many bytes of pixels (input batches are bounded by Spark's
# file partitioning: spark.sql.files.maxPartitionBytes).
_MAX_BATCH_BYTES = 64 << 20


def image_schema():
    """The StructType of ``spark.read.format("image")``: one nullable ``image`` struct of
    origin string, height int, width int, nChannels int, mode int, data binary."""
    from pyspark.sql.types import BinaryType, IntegerType, StringType, StructField, StructType

    image = StructType([StructField("origin", StringType(), True),
                        StructField("height", IntegerType(), True),
                        StructField("width", IntegerType(), True),
                        StructField("nChannels", IntegerType(), True),
                        StructField("mode", IntegerType(), True),
                        StructField("data", BinaryType(), True)])
    return StructType([StructField("image", image, True)])


def _split_paths(path: str | Sequence[str]) -> list[str]:
    if isinstance(path, (list, tuple)):
        parts = [str(p) for p in path]
    elif isinstance(path, (str, os.PathLike)):
        parts = str(path).split(",")
    else:
        raise TypeError(f"read images: path must be a string (folder, glob or comma list) or a list of them, "
                        f"got {type(path).__name__}")
    parts = [p.strip() for p in parts if p.strip()]
    if not parts:
        raise ValueError(f"read images: no path given (got {path!r})")
    return parts


def _folder_label(uri: str) -> str:
    parts = uri.rstrip("/").split("/")
    return unquote(parts[-2]) if len(parts) >= 2 else ""


def _binary_arrays(arr):
    """(offsets, values) numpy views of an Arrow binary / large_binary array (zero copy)."""
    import numpy as np
    import pyarrow as pa

    off_type = np.int64 if pa.types.is_large_binary(arr.type) else np.int32
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=off_type)[arr.offset:arr.offset + len(arr) + 1]
    values = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offsets, values


def _struct_batch(origins, mats, labels):
    """A RecordBatch with the image struct (and the label) from decoded mats (None = invalid)."""
    import numpy as np
    import pyarrow as pa

    n = len(mats)
    heights = np.full(n, -1, np.int32)
    widths = np.full(n, -1, np.int32)
    chans = np.full(n, -1, np.int32)
    modes = np.full(n, -1, np.int32)
    sizes = np.zeros(n, np.int64)
    for i, m in enumerate(mats):
        if m is not None:
            heights[i], widths[i], chans[i] = m.shape
            modes[i] = mode_of(m.dtype, m.shape[2])
            sizes[i] = m.nbytes
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    data = np.empty(int(offsets[-1]), np.uint8)
    for i, m in enumerate(mats):
        if m is not None:
            data[offsets[i]:offsets[i + 1]] = m.reshape(-1).view(np.uint8)
    if offsets[-1] < 2 ** 31:
        binary = pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets.astype(np.int32)),
                                                        pa.py_buffer(data)])
    else:  # pragma: no cover - batches are capped well below 2 GiB
        binary = pa.Array.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(offsets),
                                                              pa.py_buffer(data)]).cast(pa.binary())
    struct = pa.StructArray.from_arrays(
        [pa.array(origins, pa.string()), pa.array(heights), pa.array(widths), pa.array(chans),
         pa.array(modes), binary],
        names=["origin", "height", "width", "nChannels", "mode", "data"])
    cols, names = [struct], ["image"]
    if labels is not None:
        cols.append(pa.array(labels, pa.int32()))
        names.append("label")
    return pa.RecordBatch.from_arrays(cols, names=names)


def _decoder(resize_h: int, resize_w: int, image_codec: int, drop_invalid: bool,
             label_of: dict | None):
    """The executor function of ``mapInArrow``: (origin, content) batches -> image batches."""

    def decode(batches: Iterator[Any]) -> Iterator[Any]:
        cv2 = _cv2()
        cv2.setNumThreads(1)  # one Spark task per core already
        for batch in batches:
            origins = batch.column(0).to_pylist()
            offsets, values = _binary_arrays(batch.column(1))
            out_o, out_m, out_l, nbytes, bad = [], [], [], 0, []
            for i, origin in enumerate(origins):
                mat = decode_image(values[offsets[i]:offsets[i + 1]], image_codec)
                if mat is None:
                    bad.append(origin)
                    if drop_invalid:
                        continue
                elif resize_h > 0 and resize_w > 0:
                    mat = cv2.resize(mat, (resize_w, resize_h), interpolation=cv2.INTER_LINEAR)
                    if mat.ndim == 2:
                        mat = mat[:, :, None]
                out_o.append(origin)
                out_m.append(mat)
                if label_of is not None:
                    out_l.append(label_of.get(_folder_label(origin), -1))
                nbytes += 0 if mat is None else mat.nbytes
                if nbytes >= _MAX_BATCH_BYTES:
                    yield _struct_batch(out_o, out_m, out_l if label_of is not None else None)
                    out_o, out_m, out_l, nbytes = [], [], [], 0
            if bad:
                _log.warning("read images: %d of %d files could not be decoded (%s): %s",
                             len(bad), len(origins), "dropped" if drop_invalid else "kept as invalid rows",
                             ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else ""))
            if out_o:
                yield _struct_batch(out_o, out_m, out_l if label_of is not None else None)

    return decode


def _session(spark):
    if spark is None:
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        return active if active is not None else SparkSession.builder.getOrCreate()
    if hasattr(spark, "read") and hasattr(spark, "createDataFrame"):
        return spark
    if type(spark).__name__ == "SparkContext":
        from pyspark.sql import SparkSession

        return SparkSession.builder.getOrCreate()
    raise TypeError(f"read images: spark must be a SparkSession, a SparkContext or None, "
                    f"got {type(spark).__name__}")


def _load_binary(spark, paths: list[str]):
    reader = (spark.read.format("binaryFile").option("recursiveFileLookup", "true")
              .option("ignoreCorruptFiles", "true").option("ignoreMissingFiles", "true"))
    try:
        return reader.load(paths if len(paths) > 1 else paths[0])
    except Exception as e:  # AnalysisException: PATH_NOT_FOUND (classic and Connect)
        msg = str(e)
        if "PATH_NOT_FOUND" in msg or "does not exist" in msg.lower():
            missing = [p for p in paths if p in msg] or paths
            raise FileNotFoundError(f"read images: path {', '.join(repr(p) for p in missing)} does not exist "
                                    f"(nothing matches it)") from None
        raise


def _partition(spark, binary, min_partitions: int, total_bytes: int):
    """At least ``min_partitions`` partitions; and no more than needed.

    Spark packs small files into many tiny partitions (each file costs
    spark.sql.files.openCostInBytes, 4 MiB by default), and every partition is a task with
    its own Python round trip. Coalesce (no shuffle) to about 8 tasks per core, while keeping
    partitions under ~64 MiB of encoded bytes so the Arrow batches stay small.
    """
    try:
        current = binary.rdd.getNumPartitions()
        cores = spark.sparkContext.defaultParallelism
    except Exception:  # noqa: BLE001 - Spark Connect has no RDDs: keep Spark's partitioning
        return binary.repartition(min_partitions) if min_partitions > 1 else binary
    if current < min_partitions:
        return binary.repartition(min_partitions)
    target = max(min_partitions, 8 * cores, -(-total_bytes // _MAX_BATCH_BYTES))
    return binary.coalesce(target) if current > target else binary


def read_image_dataframe(path: str | Sequence[str], spark=None, min_partitions: int = 1, resize_h: int = -1,
                         resize_w: int = -1, image_codec: int = -1, drop_invalid: bool = False,
                         with_label: bool = False):
    """Read image files into a DataFrame with the schema of ``spark.read.format("image")``.

    Args:
        path: a folder (read recursively), a glob, a comma-separated list or a list of them.
        spark: a SparkSession (or SparkContext); None uses the active session.
        min_partitions: repartition the files to at least this many partitions.
        resize_h, resize_w: if both > 0, resize every image (OpenCV INTER_LINEAR).
        image_codec: OpenCV imread flag (-1 keeps the file's channels, as Spark does).
        drop_invalid: drop files that cannot be decoded instead of keeping rows with
            height = width = nChannels = mode = -1 and empty data.
        with_label: add ``label`` (int, 0-based): the index of the file's parent folder
            name among the sorted folder names; the map is in the column metadata
            (:func:`label_map_of`).
    Returns:
        (DataFrame, label_map or None).
    Raises:
        FileNotFoundError: a path that matches nothing.
    """
    from pyspark.sql import functions as F

    if isinstance(min_partitions, bool) or not isinstance(min_partitions, int) or min_partitions < 1:
        raise ValueError(f"read images: min_partitions must be a positive int, got {min_partitions!r}")
    for n, v in (("resizeH", resize_h), ("resizeW", resize_w), ("image_codec", image_codec)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"read images: {n} must be an int, got {v!r}")
    if (resize_h > 0) != (resize_w > 0):
        raise ValueError(f"read images: give both resizeH and resizeW (> 0) or neither, got "
                         f"resizeH={resize_h}, resizeW={resize_w}")
    spark = _session(spark)
    paths = _split_paths(path)
    loaded = _load_binary(spark, paths)
    all_files = list(loaded.inputFiles())  # the driver's listing, no job

    label_map = None
    if with_label:
        names = sorted({_folder_label(u) for u in all_files})
        label_map = {name: i for i, name in enumerate(names)}

    # One light job (file statuses only, no content): how many files the scan yields and their bytes.
    n_scanned, total_bytes = 0, 0
    if all_files:
        stats = loaded.agg(F.count(F.lit(1)).alias("n"), F.sum("length").alias("bytes")).first()
        n_scanned, total_bytes = int(stats["n"]), int(stats["bytes"] or 0)
    binary = _partition(spark, loaded.select(F.input_file_name().alias("origin"), "content"),
                        min_partitions, total_bytes)

    schema = image_schema()
    if with_label:
        from pyspark.sql.types import IntegerType, StructField, StructType

        schema = StructType(list(schema.fields) + [StructField("label", IntegerType(), True)])
    decode = _decoder(resize_h, resize_w, image_codec, drop_invalid, label_map)
    df = binary.mapInArrow(decode, schema)
    invalid_df = None

    n_skipped = len(all_files) - n_scanned
    if n_skipped > 0 and drop_invalid:
        _log.warning("read images: %d of %d files are empty or unreadable; dropped", n_skipped, len(all_files))
    elif n_skipped > 0:
        # Spark's file scan skips empty files (and, with ignoreCorruptFiles, unreadable ones):
        # give them invalid rows too.
        scanned = {r[0] for r in loaded.select(F.input_file_name()).collect()}
        skipped = sorted(set(all_files) - scanned)
        _log.warning("read images: %d of %d files are empty or unreadable and get invalid rows: %s",
                     len(skipped), len(all_files), ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""))
        rows = [((u, -1, -1, -1, -1, bytearray()),) + ((label_map.get(_folder_label(u), -1),)
                                                        if with_label else ())
                for u in skipped]
        invalid_df = spark.createDataFrame(rows, schema)
        df = df.unionByName(invalid_df)

    if with_label:
        cols = [c for c in df.columns if c != "label"]
        df = df.select(*cols, F.col("label").alias("label", metadata={LABEL_MAP_METADATA: label_map}))
    # lets preprocess_image_dataframe decode and preprocess in one Python pass over this read
    df._zoo_image_read = (binary, decode, invalid_df)
    return df, label_map


def label_map_of(df, label_col: str = "label") -> dict | None:
    """The {folder name: label} map stored in the label column's metadata, or None."""
    if label_col not in df.columns:
        return None
    meta = df.schema[label_col].metadata or {}
    m = meta.get(LABEL_MAP_METADATA)
    return dict(m) if m is not None else None


def _struct_to_features(struct, labels=None) -> list[ImageFeature]:
    """ImageFeatures of an Arrow image-struct array (mats are views of the Arrow buffers, copied)."""
    import numpy as np

    origins = struct.field("origin").to_pylist()
    hs = struct.field("height").to_numpy(zero_copy_only=False)
    ws = struct.field("width").to_numpy(zero_copy_only=False)
    cs = struct.field("nChannels").to_numpy(zero_copy_only=False)
    modes = struct.field("mode").to_numpy(zero_copy_only=False)
    data = struct.field("data")
    if hasattr(struct, "is_null") and struct.null_count:
        valid_struct = ~struct.is_null().to_numpy(zero_copy_only=False)
    else:
        valid_struct = np.ones(len(struct), bool)
    offsets, values = _binary_arrays(data)
    feats = []
    for i in range(len(struct)):
        f = ImageFeature(uri=origins[i], label=None if labels is None else labels[i])
        h, w, c, mode = hs[i], ws[i], cs[i], modes[i]
        n = int(offsets[i + 1] - offsets[i])
        ok = valid_struct[i] and h is not None and w is not None and h > 0 and w > 0 and n > 0
        if not ok:
            f[ImageFeature.IS_VALID] = False
            feats.append(f)
            continue
        h, w, c = int(h), int(w), int(c) if c and c > 0 else int(mode) // 8 + 1
        dtype = np.float32 if mode is not None and mode >= 0 and mode % 8 == 5 else np.uint8
        mat = values[offsets[i]:offsets[i + 1]].view(dtype)
        if mat.size != h * w * c:
            raise ValueError(f"image {origins[i]!r} declares {h}x{w}x{c} but holds {mat.size} values")
        mat = mat.reshape(h, w, c).copy()
        f[ImageFeature.ORIGINAL_SIZE] = (h, w, c)
        f.set_mat(mat)
        feats.append(f)
    return feats


def _partition_id() -> int:
    try:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        return ctx.partitionId() if ctx is not None else 0
    except Exception:  # noqa: BLE001  # pragma: no cover - outside a Spark task
        return 0


def _apply_named(pre: Preprocessing | None, feature: ImageFeature):
    """``pre(feature)``; a ValueError/TypeError is re-raised with the image's origin."""
    if pre is None:
        return feature
    try:
        return pre.apply(feature)
    except (ValueError, TypeError) as e:
        raise type(e)(f"image {feature.uri!r}: {e}") from e


def _tensor_mapper(preprocessing: Preprocessing | None, input_col: str, output_col: str,
                   keep_input: bool, label_col: str | None):
    def run(batches):
        import numpy as np
        import pyarrow as pa

        from zoo.feature.image.convert import ImageFeatureToTensor

        cv2 = _cv2()
        cv2.setNumThreads(1)
        pre = preprocessing.fork(_partition_id()) if preprocessing is not None else None
        to_tensor = ImageFeatureToTensor()
        for batch in batches:
            names = batch.schema.names
            idx = names.index(input_col)
            labels = (batch.column(names.index(label_col)).to_pylist()
                      if label_col is not None and label_col in names else None)
            feats = _struct_to_features(batch.column(idx), labels)
            start = 0
            while start < len(feats):
                tensors, nbytes, stop = [], 0, start
                while stop < len(feats) and nbytes < _MAX_BATCH_BYTES:
                    f = feats[stop]
                    t = None
                    if f.is_valid:
                        out = _apply_named(pre, f)
                        if isinstance(out, ImageFeature):
                            out = to_tensor.apply(out) if out.is_valid else None
                        t = None if out is None else np.asarray(out, np.float32).reshape(-1)
                    tensors.append(t)
                    feats[stop] = None
                    nbytes += 0 if t is None else t.nbytes
                    stop += 1
                lengths = np.array([0 if t is None else t.size for t in tensors], np.int64)
                offsets = np.zeros(len(tensors) + 1, np.int32)
                np.cumsum(lengths, out=offsets[1:])
                flat = (np.concatenate([t for t in tensors if t is not None]) if lengths.sum()
                        else np.zeros(0, np.float32))
                mask = pa.array(np.array([t is None for t in tensors]))
                col = pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, pa.float32()), mask=mask)
                sl = batch.slice(start, stop - start)
                cols = [sl.column(j) for j, n in enumerate(names) if keep_input or j != idx]
                out_names = [n for j, n in enumerate(names) if keep_input or j != idx]
                yield pa.RecordBatch.from_arrays(cols + [col], names=out_names + [output_col])
                start = stop

    return run


def preprocess_image_dataframe(df, preprocessing: Preprocessing | None = None, input_col: str = "image",
                               output_col: str = "features", keep_input: bool = False,
                               label_col: str | None = "label"):
    """Run ``preprocessing`` on every image of ``df[input_col]`` in the executors and store
    the resulting float32 tensor, flattened, in ``output_col`` (array<float>).

    Each row becomes an ImageFeature (mat, uri, and ``label`` from ``label_col`` when the
    column exists) that goes through ``preprocessing``; its result, an array or an
    ImageFeature (whose ``imageTensor`` is taken), is flattened row-major. Invalid images
    (undecodable files) give a null. Random transforms are re-seeded per partition
    (``fork(partition_id)``), so a seeded chain gives the same result for the same
    partitioning.

    Args:
        df: a DataFrame with an image-schema struct column.
        preprocessing: e.g. ``ImageResize(224, 224) >> ImageMatToTensor()``; None keeps the
            image and returns it as CHW float32.
        input_col, output_col: column names.
        keep_input: keep the image column (default: drop it).
        label_col: column copied into the features' ``label`` key, if present.
    """
    from pyspark.sql.types import ArrayType, FloatType, StructField, StructType

    if input_col not in df.columns:
        raise ValueError(f"preprocess images: input_col '{input_col}' not in columns {df.columns}")
    if preprocessing is not None and not isinstance(preprocessing, Preprocessing):
        raise TypeError(f"preprocess images: preprocessing must be a Preprocessing, "
                        f"got {type(preprocessing).__name__}")
    fields = [f for f in df.schema.fields if keep_input or f.name != input_col]
    schema = StructType(fields + [StructField(output_col, ArrayType(FloatType(), True), True)])
    mapper = _tensor_mapper(preprocessing, input_col, output_col, keep_input, label_col)
    source = getattr(df, "_zoo_image_read", None)
    if source is not None and input_col == "image":
        # straight from read_image_dataframe: decode and preprocess in the same Python pass
        # (the same functions, composed), which saves a JVM <-> Python round trip of the pixels
        binary, decode, invalid_df = source
        out = binary.mapInArrow(lambda batches: mapper(decode(batches)), schema)
        if invalid_df is not None:
            out = out.unionByName(invalid_df.mapInArrow(mapper, schema))
        return out
    return df.mapInArrow(mapper, schema)
