"""Driver side of data-parallel training on Spark: `DistributedTrainer`.

    tr = DistributedTrainer(Trainer(graph, "sparse_categorical_crossentropy", SGD(0.1, momentum=0.9)))
    history = tr.fit(df, batch_size=128, epochs=2, feature_cols=["features"], label_cols=["label"],
                     validation_data=val_df)

`fit` runs ONE Spark job whose barrier stage holds one long-lived task per worker
(`DataFrame.mapInArrow(..., barrier=True)`, or `RDD.barrier().mapPartitions` for an RDD of
Samples); the tasks train together over their own TCP ring (zoo.engine.distributed.worker)
and rank 0 sends back per-iteration loss and timings, epoch logs and the final checkpoint,
which is loaded into the wrapped `Trainer` (so the model's parameters hold the trained
weights, the optimizer its state, and `trainer.state` the iteration/epoch counters).

The barrier stage is followed by a shuffle, which makes it a map stage that Spark retries as
a whole when a task dies (up to `spark.stage.maxConsecutiveAttempts`, default 4; a local
master needs task retries too, e.g. `local[2,4]`, which `init_nncontext` sets). With a
checkpoint path set, the retried tasks resume from the job's latest checkpoint, and the
result equals an uninterrupted run that restarted from that checkpoint.

Callbacks (`trainer.Callback`) get every iteration's and epoch's logs after the job, on the
driver (TensorBoard summaries and progress displays are written there, once); they cannot
stop the job early: use an end trigger (`MinLoss`, `MaxScore`, ...), which the workers
evaluate.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import threading
import time
import uuid

from zoo.engine.trainer import Trainer
from zoo.engine.triggers import EveryEpoch, MaxEpoch, Trigger

__all__ = ["DistributedTrainer", "default_num_workers", "default_threads_per_worker"]


# ---- shipping the trainer ---------------------------------------------------------------------

def _rebuild_optimizer(cls, state: dict):
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    obj._lock = threading.Lock()
    return obj


class _PortableOptimizer:
    """Pickles an optimizer (with its state) without its lock."""

    def __init__(self, opt):
        self.opt = opt

    def __reduce__(self):
        return _rebuild_optimizer, (type(self.opt), {k: v for k, v in self.opt.__dict__.items() if k != "_lock"})


@contextlib.contextmanager
def detached(nodes, params):
    """Graph nodes without their tags (e.g. Keras layers) and parameters without their store
    while pickling, so that only the graph and the parameter values travel."""
    tags = [n.tag for n in nodes]
    stores = [p.store for p in params]
    try:
        for n in nodes:
            n.tag = None
        for p in params:
            p.store = None
        yield
    finally:
        for n, t in zip(nodes, tags):
            n.tag = t
        for p, s in zip(params, stores):
            p.store = s


def trainer_spec(trainer: Trainer) -> bytes:
    """The trainer's model, losses, optimizer (with state), metrics and settings, pickled for the workers."""
    from pyspark import cloudpickle

    st = trainer.state
    spec = {"model": trainer.model, "losses": trainer.losses, "loss_weights": trainer.loss_weights,
            "optimizer": _PortableOptimizer(trainer.optimizer), "metrics": trainer.metrics, "seed": trainer.seed,
            "clip_value": trainer.clip_value, "clip_norm": trainer.clip_norm,
            "regularizers": trainer.regularizers,
            "store_order": list(trainer.store.params) + list(trainer.store.states),
            "state": (st.epoch, st.iteration, st.loss, st.score)}
    with detached(trainer.model.nodes, spec["store_order"]):
        return cloudpickle.dumps(spec)


# ---- cluster shape ------------------------------------------------------------------------------

def _master(spark) -> str:
    try:
        return spark.conf.get("spark.master")
    except Exception:  # noqa: BLE001 - Spark Connect may hide it
        return ""


def _local_cores(spec: str) -> int:
    return os.cpu_count() or 1 if spec.strip() == "*" else int(spec)


def default_num_workers(spark) -> int:
    """One worker per executor: `local[...]` -> 1, `local-cluster[n, c, m]` -> n, else the
    registered executors (classic sessions) or `spark.executor.instances`."""
    master = _master(spark)
    m = re.match(r"local-cluster\[\s*(\d+)\s*,", master)
    if m:
        return int(m.group(1))
    if master.startswith("local"):
        return 1
    try:
        infos = spark.sparkContext.statusTracker().getExecutorInfos()
        if len(infos) > 1:
            return len(infos) - 1  # minus the driver
    except Exception:  # noqa: BLE001, S110 - Spark Connect has no SparkContext
        pass
    try:
        return max(1, int(spark.conf.get("spark.executor.instances")))
    except Exception:  # noqa: BLE001
        return 1


def default_threads_per_worker(spark, num_workers: int) -> int:
    """Cores per worker: those of `local[n]`, `c` of `local-cluster[n, c, m]`, else
    `spark.executor.cores` (1 if unknown)."""
    master = _master(spark)
    m = re.match(r"local-cluster\[\s*\d+\s*,\s*(\d+)\s*,", master)
    if m:
        return int(m.group(1))
    m = re.match(r"local\[\s*([0-9*]+)\s*(?:,\s*\d+\s*)?\]", master)
    if m:
        return max(1, _local_cores(m.group(1)) // max(num_workers, 1))
    if master == "local":
        return 1
    try:
        return max(1, int(spark.conf.get("spark.executor.cores")))
    except Exception:  # noqa: BLE001
        return 1


def _task_slots(spark) -> int | None:
    """Concurrent task slots of a classic session (default parallelism / task cpus), None if unknown."""
    try:
        sc = spark.sparkContext
        cpus = int(sc.getConf().get("spark.task.cpus", "1"))
        return max(1, sc.defaultParallelism // max(cpus, 1))
    except Exception:  # noqa: BLE001 - Spark Connect has no SparkContext
        return None


def _check_int(who: str, name: str, v, lo: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ValueError(f"{who}: {name} must be an int >= {lo}, got {v!r}")
    return v


# ---- the trainer ----------------------------------------------------------------------------------

class DistributedTrainer:
    """Trains a `Trainer`'s model on Spark workers (see the module docstring).

    Args:
        trainer: the `Trainer` (or `LocalParallelTrainer`) to train; its parameters receive
            the trained weights. Alternatively a Graph plus `loss`, `optimizer` and Trainer
            keyword arguments.
    Attributes after `fit`: `history` (epoch logs), `iterations` (per-iteration dicts with
    loss, throughput and the time split), `info` (rank 0's setup/loop/communication summary,
    `resumed` when a retried task resumed from a checkpoint), `job_seconds`.
    """

    def __init__(self, trainer, loss=None, optimizer="sgd", **kwargs):
        if isinstance(trainer, Trainer):
            if loss is not None or kwargs:
                raise ValueError("DistributedTrainer: give a Trainer, or a Graph with loss= and options, not both")
            self.trainer = trainer
        else:
            if loss is None:
                raise ValueError("DistributedTrainer: a Graph needs loss=")
            self.trainer = Trainer(trainer, loss, optimizer, **kwargs)
        self.checkpoint_path: str | None = None
        self.checkpoint_trigger: Trigger | None = None
        self.checkpoint_keep_all = False
        self.history: dict = {}
        self.iterations: list[dict] = []
        self.info: dict = {}
        self.job_seconds = 0.0

    def set_checkpoint(self, path: str, trigger: Trigger | None = None, keep_all: bool = False) -> None:
        """Checkpoint into directory `path` (local, shared, or a filesystem URI) whenever
        `trigger` fires (default every epoch); `keep_all` keeps one file per iteration."""
        if not isinstance(path, str) or not path:
            raise ValueError(f"DistributedTrainer.set_checkpoint: path must be a non-empty string, got {path!r}")
        self.checkpoint_path = path
        self.checkpoint_trigger = trigger or EveryEpoch()
        self.checkpoint_keep_all = bool(keep_all)

    # -- fit -------------------------------------------------------------------------------------
    def fit(self, data, batch_size: int = 32, epochs: int | None = None, end_trigger: Trigger | None = None,
            feature_cols=("features",), label_cols=("label",), validation_data=None,
            validation_trigger: Trigger | None = None, num_workers: int | None = None,
            threads_per_worker: int | None = None, replicas="auto", compress: bool = False, callbacks=None,
            val_batch_size: int | None = None, comm_timeout: float = 300.0, pin_cores: bool = True,
            fault_injection: dict | None = None, address_file: str | None = None) -> dict:
        """Train on a Spark DataFrame (or RDD of Samples) until `end_trigger` (default
        MaxEpoch(current + (epochs or 1))); returns the history of epoch logs.

        Args:
            data: DataFrame with feature/label columns (arrays, ML Vectors or numbers), or an
                RDD of Samples / (features, label) tuples.
            batch_size: the global batch, any size: each worker computes its share.
            feature_cols, label_cols: DataFrame columns for the model inputs and targets (one
                per input, or several concatenated into a single input).
            validation_data: a DataFrame (RDD) like `data`, evaluated by the workers when
                `validation_trigger` (default every epoch) fires.
            num_workers: workers (barrier tasks); default one per executor.
            threads_per_worker: threads of each worker (default the executor's cores);
                `replicas` of LocalParallelTrainer run on them ("auto" or an int).
            compress: send bfloat16 over the wire (workers keep float32 masters).
            callbacks: `trainer.Callback`s, called on the driver after the job.
            comm_timeout: seconds a worker waits for its ring neighbours.
            pin_cores: workers sharing a machine each pin their threads to their own
                `threads_per_worker` cores when all of them fit (threads that migrate between
                cores lose their caches); their previous masks come back after the job.
            fault_injection: test hook, {"rank", "iteration", "marker"}: that worker's Python
                process kills itself (SIGKILL) at the start of that iteration if the file
                `marker` does not exist yet (and creates it, so it happens once).
            address_file: test hook, each worker writes its ring address to `<file>.<rank>`.
        """
        who = "DistributedTrainer.fit"
        batch_size = _check_int(who, "batch_size", batch_size)
        tr = self.trainer
        is_df = hasattr(data, "mapInArrow")
        is_rdd = not is_df and hasattr(data, "barrier")
        if not (is_df or is_rdd):
            raise TypeError(f"{who}: data must be a Spark DataFrame or RDD, got {type(data).__name__}")
        if end_trigger is None:
            end_trigger = MaxEpoch(tr.state.epoch + (epochs or 1))
        spark = data.sparkSession if is_df else None
        if num_workers is None:
            num_workers = default_num_workers(spark if is_df else _rdd_session(data))
        num_workers = _check_int(who, "num_workers", num_workers)
        slots = _task_slots(spark if is_df else _rdd_session(data))
        if slots is not None and num_workers > slots:
            raise ValueError(f"{who}: num_workers={num_workers} needs {num_workers} concurrent tasks (a barrier stage "
                             f"runs all of them at once), but the cluster has {slots} task slots; use "
                             f"num_workers <= {slots} or more executors/cores")
        if threads_per_worker is None:
            threads_per_worker = default_threads_per_worker(spark if is_df else _rdd_session(data), num_workers)
        threads_per_worker = _check_int(who, "threads_per_worker", threads_per_worker)
        if replicas != "auto":
            _check_int(who, "replicas", replicas)
        if fault_injection is not None and not {"rank", "iteration", "marker"} <= set(fault_injection):
            raise ValueError(f"{who}: fault_injection needs keys rank, iteration, marker; got {sorted(fault_injection)}")
        job = {"spec": trainer_spec(tr), "job_id": uuid.uuid4().hex, "secret": secrets.token_bytes(32),
               "batch_size": batch_size, "threads": threads_per_worker, "replicas": replicas,
               "compress": bool(compress), "end_trigger": end_trigger,
               "validation_trigger": validation_trigger or EveryEpoch(),
               "checkpoint_trigger": self.checkpoint_trigger, "checkpoint_path": self.checkpoint_path,
               "keep_all": self.checkpoint_keep_all, "validate": validation_data is not None,
               "val_batch_size": val_batch_size or max(batch_size, 256), "comm_timeout": float(comm_timeout),
               "pin_cores": bool(pin_cores),
               "fault": fault_injection, "address_file": address_file}
        t0 = time.perf_counter()
        rows = self._run_df(job, data, feature_cols, label_cols, validation_data, num_workers) if is_df else \
            self._run_rdd(job, data, validation_data, num_workers)
        self.job_seconds = time.perf_counter() - t0
        return self._finish(rows, callbacks)

    def _run_df(self, job, df, feature_cols, label_cols, validation, num_workers) -> list:
        from zoo.engine.distributed.data import _names, arrow_to_numpy, training_frame
        from zoo.engine.distributed.worker import OUTPUT_SCHEMA, rows_to_arrow, run_task

        nf, nl = len(_names(feature_cols, "feature_cols")), len(_names(label_cols, "label_cols"))
        frame, head = training_frame(df, feature_cols, label_cols, num_workers, validation, head=4)
        self._check_head(head, nf, nl)

        def task(batches):
            from pyspark import BarrierTaskContext

            rows = run_task(job, lambda: arrow_to_numpy(batches, nf, nl), BarrierTaskContext.get())
            yield from rows_to_arrow(rows)

        out = frame.mapInArrow(task, OUTPUT_SCHEMA, barrier=True).repartition(1)
        return [tuple(r) for r in out.collect()]

    def _check_head(self, head, nf: int, nl: int) -> None:
        """Convert the first rows on the driver: wrong sizes or types fail here, once, with the
        trainer's message, instead of in every attempt of the barrier stage."""
        from zoo.engine.distributed.data import arrow_to_numpy, assemble

        if head.num_rows == 0:
            raise ValueError("DistributedTrainer.fit: the training DataFrame is empty")
        tr = self.trainer
        _, feats, labels = arrow_to_numpy(head.to_batches(), nf, nl)["train"]
        xs = assemble(feats, [t.shape for t in tr.model.inputs], "features")
        ys = assemble(labels, [lf.target_shape(o.shape) for lf, o in zip(tr.losses, tr.model.outputs)], "labels")
        tr._prepare(xs, ys)

    def _run_rdd(self, job, rdd, validation, num_workers) -> list:
        from zoo.engine.distributed.data import rdd_frame, records_to_numpy
        from zoo.engine.distributed.worker import run_task

        def task(it):
            from pyspark import BarrierTaskContext

            return iter(run_task(job, lambda: records_to_numpy(it), BarrierTaskContext.get()))

        return rdd_frame(rdd, num_workers, validation).barrier().mapPartitions(task).repartition(1).collect()

    def _finish(self, rows: list, callbacks) -> dict:
        from zoo.engine.distributed.worker import load_blob

        tr = self.trainer
        blobs = sorted((r for r in rows if r[1] == "blob"), key=lambda r: r[2])
        if not blobs:
            raise RuntimeError("DistributedTrainer.fit: the job returned no weights (rank 0 sent nothing)")
        blob = b"".join(bytes(r[5]) for r in blobs)
        if len(blob) != int(blobs[0][3]):
            raise RuntimeError(f"DistributedTrainer.fit: received {len(blob)} bytes of weights, expected "
                               f"{int(blobs[0][3])}")
        load_blob(tr, blob)
        self.iterations = []
        for r in sorted((r for r in rows if r[1] == "iter"), key=lambda r: r[2]):
            d = json.loads(r[4])
            d.update({"iteration": r[2], "loss": r[3]})
            self.iterations.append(d)
        epochs = {r[2]: json.loads(r[4]) for r in rows if r[1] == "epoch"}
        info = [json.loads(r[4]) for r in rows if r[1] == "info"]
        self.info = info[0] if info else {}
        self.info["job_seconds"] = self.job_seconds
        history: dict = {}
        for e in sorted(epochs):
            for k, v in epochs[e].items():
                history.setdefault(k, []).append(v)
        self.history = history
        self._callbacks(callbacks, epochs)
        return history

    def _callbacks(self, callbacks, epochs: dict[int, dict]) -> None:
        cbs = list(callbacks or [])
        if not cbs:
            return
        st = self.trainer.state
        final = (st.epoch, st.iteration, st.loss)
        for cb in cbs:
            cb.trainer = self.trainer
            cb.on_train_begin({})
        by_epoch: dict[int, list] = {}
        for it in self.iterations:
            by_epoch.setdefault(it["epoch"], []).append(it)
        try:  # the trainer's state walks through the job's iterations, as callbacks saw it live
            for e in sorted(set(by_epoch) | set(epochs)):
                st.epoch = e
                for cb in cbs:
                    cb.on_epoch_begin(e, {})
                for b, it in enumerate(by_epoch.get(e, [])):
                    logs = {"loss": it["loss"], "size": it["size"], "lr": it["lr"], "throughput": it["throughput"],
                            "batch_throughput": it["throughput"], "iteration": it["iteration"]}
                    st.iteration, st.loss = it["iteration"], it["loss"]
                    for cb in cbs:
                        cb.on_batch_begin(b, {})
                        cb.on_batch_end(b, logs)
                if e in epochs:
                    for cb in cbs:
                        cb.on_epoch_end(e, epochs[e])
        finally:
            st.epoch, st.iteration, st.loss = final
        for cb in cbs:
            cb.on_train_end({})


def _rdd_session(rdd):
    """A SparkSession-like object for an RDD's SparkContext (only `.conf.get` is used)."""

    class _Conf:
        def __init__(self, sc):
            self.sc = sc

        def get(self, key):
            if key == "spark.master":
                return self.sc.master
            v = self.sc.getConf().get(key)
            if v is None:
                raise KeyError(key)
            return v

    class _Session:
        def __init__(self, sc):
            self.conf = _Conf(sc)
            self.sparkContext = sc

    return _Session(rdd.context)
