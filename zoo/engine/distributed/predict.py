"""Batched inference over a Spark DataFrame: `predict_frame`.

The model (graph + weights) is pickled once into the task closure; each task converts its
Arrow batches to numpy, runs the graph in inference mode in batches and appends one
`array<float>` column per model output. DataFrame APIs only (`mapInArrow`), so it also runs
under Spark Connect.
"""

from __future__ import annotations

__all__ = ["predict_frame", "predict_rdd"]


def _pack(graph) -> bytes:
    """The graph and its weight values, pickled for the tasks."""
    from pyspark import cloudpickle

    from zoo.engine.distributed.trainer import detached

    params = list({id(p): p for p in graph.parameters}.values())
    with detached(graph.nodes, params):
        return cloudpickle.dumps((graph, [p.value.copy() for p in params]))


def _unpack(payload: bytes, threads: int):
    """(graph, inference executor) in a task, from `_pack`'s bytes."""
    import pickle

    from zoo.engine import threads as T
    from zoo.engine.graph import Executor
    from zoo.engine.params import ParamStore

    T.set_num_threads(threads)
    g, values = pickle.loads(payload)
    ps = list({id(p): p for p in g.parameters}.values())
    for p, v in zip(ps, values):
        p._value = v
    ParamStore(ps)
    return g, Executor(g)


def predict_rdd(model, rdd, batch_size: int = 256, threads: int = 1):
    """An RDD with the model's output for each record of `rdd`, in order: an ndarray per record
    (a list of them for several outputs).

    Records are Samples (objects with `.features`), (features, label) tuples, dicts with
    "features", or plain feature arrays; one feature array per model input (or several
    concatenated into a single input). Each partition runs in batches of `batch_size`.
    """
    from zoo.engine.trainer import Trainer

    graph = model.model if isinstance(model, Trainer) else model
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"predict_rdd: batch_size must be a positive int, got {batch_size!r}")
    payload = _pack(graph)
    multi = len(graph.outputs) > 1

    def task(records):
        import numpy as np

        from zoo.engine.distributed.data import _record, assemble

        g, exe = _unpack(payload, threads)
        shapes = [t.shape for t in g.inputs]

        def run(feats):
            cols = [np.stack([f[i] for f in feats]) for i in range(len(feats[0]))]
            xs = assemble(cols, shapes, "features")
            xs = [np.ascontiguousarray(a, dtype=t.dtype) if t.dtype.kind == "f" else a for a, t in zip(xs, g.inputs)]
            ys = [np.array(y, copy=True) for y in exe.forward(xs, training=False)]
            for i in range(len(feats)):
                yield [y[i] for y in ys] if multi else ys[0][i]

        buf = []
        for rec in records:
            buf.append([np.asarray(rec, np.float32)] if isinstance(rec, np.ndarray) else _record(rec)[0])
            if len(buf) == batch_size:
                yield from run(buf)
                buf = []
        if buf:
            yield from run(buf)

    return rdd.mapPartitions(task)


def predict_frame(model, df, feature_cols=("features",), prediction_col="prediction", batch_size: int = 256,
                  threads: int = 1):
    """`df` with the model's outputs appended (one array<float> column per output).

    Args:
        model: a `Graph` (inputs -> outputs) or a `Trainer` (its model and weights).
        df: a Spark DataFrame holding the feature columns (arrays, ML Vectors or numbers).
        feature_cols: one column per model input, or several concatenated into one input.
        prediction_col: the output column name (a list of names for several outputs).
        batch_size: rows per forward pass.
        threads: zoo threads per task.
    """
    import pyarrow as pa
    from pyspark.sql import functions as SF

    from zoo.engine.distributed.data import _names
    from zoo.engine.trainer import Trainer

    graph = model.model if isinstance(model, Trainer) else model
    feature_cols = _names(feature_cols, "feature_cols")
    outs = [prediction_col] if isinstance(prediction_col, str) else list(prediction_col)
    if len(outs) != len(graph.outputs):
        raise ValueError(f"predict_frame: the model has {len(graph.outputs)} outputs, got prediction_col={outs}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"predict_frame: batch_size must be a positive int, got {batch_size!r}")
    clash = [c for c in outs if c in df.columns]
    if clash:
        raise ValueError(f"predict_frame: output column(s) {clash} already in the DataFrame; set prediction_col=")
    missing = [c for c in feature_cols if c not in df.columns]
    if missing:
        raise ValueError(f"predict_frame: columns {missing} not in the DataFrame's columns {df.columns}; "
                         f"set feature_cols=")
    payload = _pack(graph)
    types = {f.name: f.dataType for f in df.schema.fields}
    feats = []
    for i, c in enumerate(feature_cols):
        col = SF.col(f"`{c}`")
        if type(types[c]).__name__ == "VectorUDT":
            from pyspark.ml.functions import vector_to_array

            col = vector_to_array(col, "float32")
        feats.append(col.alias(f"_zoo_f{i}"))
    wide = df.select("*", *feats)
    out_schema = wide.schema
    from pyspark.sql.types import ArrayType, FloatType, StructField, StructType

    schema = StructType([f for f in out_schema.fields if not f.name.startswith("_zoo_f")]
                        + [StructField(c, ArrayType(FloatType()), True) for c in outs])
    nf = len(feature_cols)

    def task(batches):
        import numpy as np

        from zoo.engine.distributed.data import _array_to_numpy, assemble

        g, exe = _unpack(payload, threads)
        shapes = [t.shape for t in g.inputs]
        for rb in batches:
            cols = [_array_to_numpy(rb.column(rb.schema.get_field_index(f"_zoo_f{i}")), feature_cols[i])
                    for i in range(nf)]
            xs = assemble(cols, shapes, "features")
            xs = [np.ascontiguousarray(a, dtype=t.dtype) if t.dtype.kind == "f" else a for a, t in zip(xs, g.inputs)]
            n = rb.num_rows
            results = [[] for _ in outs]
            for s in range(0, n, batch_size):
                ys = exe.forward([a[s:s + batch_size] for a in xs], training=False)
                for acc, y in zip(results, ys):
                    acc.append(np.array(y, dtype=np.float32, copy=True).reshape(y.shape[0], -1))
            keep = [rb.column(i) for i, f in enumerate(rb.schema) if not f.name.startswith("_zoo_f")]
            names = [f.name for f in rb.schema if not f.name.startswith("_zoo_f")]
            for name, acc in zip(outs, results):
                flat = np.concatenate(acc) if acc else np.zeros((0, 1), np.float32)
                offsets = pa.array(np.arange(0, flat.size + 1, max(flat.shape[1], 1), dtype=np.int32)[:n + 1])
                keep.append(pa.ListArray.from_arrays(offsets, pa.array(flat.reshape(-1))))
                names.append(name)
            yield pa.RecordBatch.from_arrays(keep, names=names)

    return wide.mapInArrow(task, schema)
