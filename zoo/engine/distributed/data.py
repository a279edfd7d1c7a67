"""Training data for the Spark workers: DataFrame columns on the driver, numpy arrays in the tasks.

Driver side, `training_frame` selects the feature and label columns (ML `Vector` columns
become `array<float>` through `vector_to_array`), tags each row with a stable id (taken
before any repartitioning, so the global order of the data does not depend on the number
of workers) and a split flag (0 training, 1 validation), appends the validation rows and
repartitions into one partition per worker. Only DataFrame APIs are used.

Task side, `arrow_to_numpy` turns the task's Arrow record batches into numpy arrays once:
list columns of fixed length become (n, k) (nested lists (n, a, b, ...)), numeric columns
(n,). `assemble` maps the columns onto the model's inputs (or the losses' targets): one
column per input, or all columns concatenated into a single input, reshaped to its shape.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ID", "SPLIT", "arrow_to_numpy", "assemble", "rdd_frame", "records_to_numpy", "training_frame"]

ID, SPLIT = "_zoo_id", "_zoo_split"


def _names(cols, what: str) -> list[str]:
    if cols is None:
        return []
    cols = [cols] if isinstance(cols, str) else list(cols)
    for c in cols:
        if not isinstance(c, str):
            raise TypeError(f"{what} must be column names (str), got {type(c).__name__}")
    return cols


def _select(df, feature_cols: list[str], label_cols: list[str], what: str):
    from pyspark.sql import functions as SF

    missing = [c for c in feature_cols + label_cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: columns {missing} not in the DataFrame's columns {df.columns}; "
                         f"set feature_cols= / label_cols=")
    types = {f.name: f.dataType for f in df.schema.fields}
    exprs = []
    for prefix, cols in (("f", feature_cols), ("l", label_cols)):
        for i, c in enumerate(cols):
            col = SF.col(f"`{c}`")
            if type(types[c]).__name__ == "VectorUDT":
                from pyspark.ml.functions import vector_to_array

                col = vector_to_array(col, "float32")
            exprs.append(col.alias(f"{prefix}{i}"))
    return df.select(*exprs)


def training_frame(df, feature_cols, label_cols, num_workers: int, validation=None, head: int = 0):
    """One DataFrame of training (and validation) rows in `num_workers` partitions.

    Columns: f0..f{F-1} (features), l0..l{L-1} (labels), `_zoo_id` (long, a stable id in
    the input's order) and `_zoo_split` (0 training, 1 validation). With `head` > 0, returns
    (frame, first `head` training rows as an Arrow table) for checks on the driver.
    """
    from pyspark.sql import functions as SF

    feature_cols, label_cols = _names(feature_cols, "feature_cols"), _names(label_cols, "label_cols")
    if not feature_cols:
        raise ValueError("fit: feature_cols is empty; name the column(s) holding the features")
    train = _select(df, feature_cols, label_cols, "fit")
    train = train.withColumn(ID, SF.monotonically_increasing_id()).withColumn(SPLIT, SF.lit(0).cast("byte"))
    if validation is not None:
        val = _select(validation, feature_cols, label_cols, "fit validation_data")
        val = val.withColumn(ID, SF.monotonically_increasing_id()).withColumn(SPLIT, SF.lit(1).cast("byte"))
    first = train.limit(head).toArrow() if head else None
    if validation is not None:
        train = train.unionByName(val)
    frame = train.repartition(num_workers)
    return (frame, first) if head else frame


def _record(rec):
    """(features, labels) lists of arrays from a Sample-like object, a tuple or a dict."""
    if hasattr(rec, "features"):
        feats, labels = rec.features, getattr(rec, "labels", [])
    elif isinstance(rec, dict):
        feats, labels = rec["features"], rec.get("label", rec.get("labels"))
    else:
        feats, labels = rec[0], rec[1] if len(rec) > 1 else None
    feats = [np.asarray(f, np.float32) for f in (feats if isinstance(feats, (list, tuple)) else [feats])]
    if labels is None:
        labels = []
    labels = [np.asarray(v) for v in (labels if isinstance(labels, (list, tuple)) else [labels])]
    return feats, labels


def rdd_frame(rdd, num_workers: int, validation=None):
    """An RDD of Samples (objects with `.features` and `.labels`), (features, label) tuples or
    dicts with 'features'/'label', as (id, split, features, labels) records in `num_workers`
    partitions (ids from `zipWithIndex` before repartitioning; split 0 training, 1 validation)."""
    out = rdd.zipWithIndex().map(lambda t: (t[1], 0) + _record(t[0]))
    if validation is not None:
        out = out.union(validation.zipWithIndex().map(lambda t: (t[1], 1) + _record(t[0])))
    return out.repartition(num_workers)


def records_to_numpy(records) -> dict:
    """{"train": (ids, features, labels), "val": (...)} stacked from (id, split, features, labels) records."""
    acc: dict = {0: ([], None, None), 1: ([], None, None)}
    for rid, split, fs, ls in records:
        ids, feats, labels = acc[split]
        if feats is None:
            feats, labels = [[] for _ in fs], [[] for _ in ls]
            acc[split] = (ids, feats, labels)
        if len(fs) != len(feats) or len(ls) != len(labels):
            raise ValueError(f"RDD records must all have {len(feats)} features and {len(labels)} labels, "
                             f"got {len(fs)} and {len(ls)}")
        ids.append(rid)
        for a, v in zip(feats, fs):
            a.append(v)
        for a, v in zip(labels, ls):
            a.append(v)
    out = {}
    for key, split in (("train", 0), ("val", 1)):
        ids, feats, labels = acc[split]
        if feats is None:
            out[key] = (np.zeros(0, np.int64), None, None)
        else:
            out[key] = (np.asarray(ids, np.int64), [np.stack(a) for a in feats], [np.stack(a) for a in labels])
    return out


# ---- task side ------------------------------------------------------------------------------------

def _array_to_numpy(arr, name: str) -> np.ndarray:
    import pyarrow as pa

    if arr.null_count:
        raise ValueError(f"column {name!r}: {arr.null_count} null values; drop or fill them before training")
    t = arr.type
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        n = len(arr)
        if pa.types.is_fixed_size_list(t):
            width = t.list_size
        else:
            offsets = np.asarray(arr.offsets)
            lengths = np.diff(offsets)
            if n and not np.all(lengths == lengths[0]):
                raise ValueError(f"column {name!r}: rows hold arrays of different lengths "
                                 f"({int(lengths.min())} to {int(lengths.max())}); every row needs the same size")
            width = int(lengths[0]) if n else 0
        inner = _array_to_numpy(arr.flatten(), name)
        return inner.reshape((n, width) + inner.shape[1:])
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        return arr.to_numpy(zero_copy_only=False)
    raise TypeError(f"column {name!r}: expected numbers or arrays of numbers, got Arrow type {t}")


def arrow_to_numpy(batches, n_features: int, n_labels: int) -> dict:
    """The task's record batches as {"train": (ids, features, labels), "val": (...)} numpy arrays."""
    import pyarrow as pa

    batches = list(batches)
    out = {}
    if not batches:
        empty = (np.zeros(0, np.int64), None, None)
        return {"train": empty, "val": empty}
    table = pa.Table.from_batches(batches).combine_chunks()
    split = table.column(SPLIT).to_numpy()
    for key, flag in (("train", 0), ("val", 1)):
        sel = np.flatnonzero(split == flag)
        part = table.take(pa.array(sel)) if len(sel) != table.num_rows else table
        ids = part.column(ID).to_numpy().astype(np.int64)
        cols = [_array_to_numpy(part.column(f"f{i}").combine_chunks(), f"features[{i}]") for i in range(n_features)]
        labs = [_array_to_numpy(part.column(f"l{i}").combine_chunks(), f"labels[{i}]") for i in range(n_labels)]
        out[key] = (ids, cols, labs)
    return out


def assemble(cols: list[np.ndarray], shapes: list[tuple], what: str) -> list[np.ndarray]:
    """Map data columns onto arrays of the given shapes (None = any size, the batch axis first).

    One column per shape, each reshaped to the shape; or several columns for one shape,
    each flattened to (n, k) and concatenated along axis 1 before the reshape.
    """
    if not cols:
        return []
    n = cols[0].shape[0]
    if len(shapes) == 1 and len(cols) > 1:
        cols = [np.concatenate([c.reshape(n, -1) for c in cols], axis=1)]
    if len(cols) != len(shapes):
        raise ValueError(f"{what}: the model expects {len(shapes)} arrays, got {len(cols)} columns; give one column "
                         f"per model input (or several columns for a single input)")
    out = []
    for i, (c, shape) in enumerate(zip(cols, shapes)):
        rest = tuple(shape[1:])
        if all(s is not None for s in rest) and c.shape[1:] != rest:
            size = math.prod(c.shape[1:])
            if size != math.prod(rest):
                raise ValueError(f"{what} {i}: rows hold {size} values, the model expects shape {tuple(shape)} "
                                 f"({math.prod(rest)} values per row)")
            c = c.reshape((n,) + rest)
        out.append(c)
    return out
