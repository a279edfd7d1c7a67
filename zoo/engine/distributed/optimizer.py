"""BigDL-style training front: `Optimizer(model, training_set, criterion, optim_method, end_trigger, batch_size)`.

    opt = Optimizer(model, train_df, "sparse_categorical_crossentropy", SGD(0.01, momentum=0.9),
                    MaxEpoch(5), batch_size=128)
    opt.set_validation(256, val_df, EveryEpoch(), ["Top1Accuracy"])
    opt.set_checkpoint(EveryEpoch(), "/tmp/ckpt")
    opt.set_gradclip_l2norm(5.0)
    trained = opt.optimize()

A Spark DataFrame or RDD training set trains on the Spark workers (`DistributedTrainer`,
BigDL's DistriOptimizer); an `(x, y)` pair of numpy arrays trains in this process with local
replicas (`LocalParallelTrainer`, BigDL's LocalOptimizer). `optimize()` returns the model,
whose parameters hold the trained weights; calling it again continues training.

`model` is an engine `Graph`, or any object with a `.graph` (a Keras-style model); the
criterion a loss name or `losses.Loss`; `optim_method` an `optim.Optimizer` or its name.
Summaries are objects with `add_scalar(tag, value, step)` (a TensorBoard writer): the train
summary gets "Loss", "Throughput" and "LearningRate" per iteration, the validation summary
one scalar per validation metric ("Loss", "Top1Accuracy", ...) at the iteration it ran.
"""

from __future__ import annotations

import os

from zoo.engine import metrics as M
from zoo.engine.trainer import Callback
from zoo.engine.triggers import EveryEpoch, MaxEpoch, Trigger

__all__ = ["Optimizer"]

#: BigDL validation method names -> zoo metric names
VAL_METHODS = {"top1accuracy": "accuracy", "accuracy": "accuracy", "top5accuracy": "top5_accuracy",
               "treennaccuracy": "accuracy"}
#: zoo metric names -> the tag BigDL wrote for them
_TAGS = {"accuracy": "Top1Accuracy", "top5_accuracy": "Top5Accuracy", "loss": "Loss"}


class _SummaryWriter(Callback):
    """Writes per-iteration scalars into a train summary (distributed logs carry "iteration")."""

    def __init__(self, summary):
        self.summary = summary

    def on_batch_end(self, batch, logs):
        step = logs.get("iteration", self.trainer.state.iteration)
        self.summary.add_scalar("Loss", float(logs["loss"]), step)
        self.summary.add_scalar("Throughput", float(logs["throughput"]), step)
        self.summary.add_scalar("LearningRate", float(logs["lr"]), step)


class _ValWriter(Callback):
    """Writes the validation metrics of each epoch end into a validation summary."""

    def __init__(self, summary):
        self.summary = summary
        self.last = None

    def on_batch_end(self, batch, logs):
        self.last = logs.get("iteration")

    def on_epoch_end(self, epoch, logs):
        step = self.last if self.last is not None else self.trainer.state.iteration
        for k, v in logs.items():
            if k.startswith("val_"):
                self.summary.add_scalar(_TAGS.get(k[4:], k[4:]), float(v), step)


def _metric(v):
    if isinstance(v, M.Metric):
        return v
    if isinstance(v, str):
        key = v.replace(" ", "").lower()
        if key == "loss":
            return None  # the loss is always reported
        return M.get(VAL_METHODS.get(key, v))
    raise TypeError(f"Optimizer.set_validation: val_method entries must be names or Metrics, got {type(v).__name__}")


class Optimizer:
    """See the module docstring.

    Args:
        model: a Graph or an object with `.graph`.
        training_set: Spark DataFrame, RDD of Samples, or (x, y) numpy arrays.
        criterion: loss name or `losses.Loss`.
        optim_method: `optim.Optimizer` or name (default SGD).
        end_trigger: when to stop (default MaxEpoch(1)).
        batch_size: the global batch size.
        feature_cols, label_cols: DataFrame columns (DataFrame training sets).
        num_workers: Spark workers (default one per executor).
    """

    def __init__(self, model, training_set, criterion, optim_method=None, end_trigger: Trigger | None = None,
                 batch_size: int = 32, feature_cols=("features",), label_cols=("label",),
                 num_workers: int | None = None):
        self.model = model
        self.set_traindata(training_set, batch_size)
        self.criterion = criterion
        self.optim_method = optim_method if optim_method is not None else "sgd"
        self.end_trigger = end_trigger or MaxEpoch(1)
        self.feature_cols, self.label_cols = feature_cols, label_cols
        self.num_workers = num_workers
        self.val = None
        self.checkpoint: tuple | None = None
        self.train_summary = self.val_summary = None
        self.clip_value: tuple | None = None
        self.clip_norm: float | None = None
        self._trainer = None
        self._key = None

    @classmethod
    def create(cls, model, training_set, criterion, end_trigger=None, batch_size: int = 32, optim_method=None,
               cores: int | None = None, **kwargs) -> Optimizer:
        """BigDL's factory (the kind of optimizer follows from the training set); `cores` sets
        the worker threads of local training."""
        opt = cls(model, training_set, criterion, optim_method, end_trigger, batch_size, **kwargs)
        opt.cores = cores
        return opt

    # -- setters ----------------------------------------------------------------------------
    def set_traindata(self, training_set, batch_size: int) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"Optimizer: batch_size must be a positive int, got {batch_size!r}")
        self.training_set, self.batch_size = training_set, batch_size

    def set_model(self, model) -> None:
        self.model, self._trainer = model, None

    def set_criterion(self, criterion) -> None:
        self.criterion, self._trainer = criterion, None

    def set_end_when(self, end_trigger: Trigger) -> None:
        self.end_trigger = end_trigger

    def set_validation(self, batch_size: int, val_rdd, trigger: Trigger | None = None, val_method=None) -> None:
        """Validate on `val_rdd` (same kind as the training set) when `trigger` fires (default
        every epoch) with `val_method` (names such as "Top1Accuracy", "Loss", or Metrics)."""
        methods = val_method if isinstance(val_method, (list, tuple)) else ([val_method] if val_method else [])
        metrics = [m for m in (_metric(v) for v in methods) if m is not None]
        self.val = (batch_size, val_rdd, trigger or EveryEpoch(), metrics)
        self._trainer = None

    def set_checkpoint(self, checkpoint_trigger: Trigger, checkpoint_path: str, isOverWrite: bool = True) -> None:
        """Checkpoint into directory `checkpoint_path` when the trigger fires; with
        isOverWrite=False one file per iteration is kept."""
        self.checkpoint = (checkpoint_path, checkpoint_trigger, not isOverWrite)

    def set_train_summary(self, summary) -> None:
        self.train_summary = summary

    def set_val_summary(self, summary) -> None:
        self.val_summary = summary

    def set_gradclip_const(self, min_value: float, max_value: float) -> None:
        if not min_value <= max_value:
            raise ValueError(f"Optimizer.set_gradclip_const: min_value must be <= max_value, got {min_value} > "
                             f"{max_value}")
        self.clip_value = (float(min_value), float(max_value))

    def set_gradclip_l2norm(self, clip_norm: float) -> None:
        if not clip_norm > 0:
            raise ValueError(f"Optimizer.set_gradclip_l2norm: clip_norm must be positive, got {clip_norm}")
        self.clip_norm = float(clip_norm)

    def disable_gradclip(self) -> None:
        self.clip_value = self.clip_norm = None

    # -- optimize ----------------------------------------------------------------------------
    def _graph(self):
        g = getattr(self.model, "graph", self.model)
        from zoo.engine.graph import Graph

        if not isinstance(g, Graph):
            raise TypeError(f"Optimizer: model must be a Graph or have a .graph, got {type(self.model).__name__}")
        return g

    def _get_trainer(self, local: bool):
        from zoo.engine.parallel import LocalParallelTrainer

        metrics = self.val[3] if self.val else []
        key = (id(self.model), repr(self.criterion), id(self.optim_method), tuple(map(id, metrics)))
        if self._trainer is None or self._key != key:
            self._trainer = LocalParallelTrainer(self._graph(), self.criterion, self.optim_method, metrics=metrics)
            self._key = key
        tr = self._trainer
        tr.clip_value, tr.clip_norm = self.clip_value, self.clip_norm
        return tr

    def optimize(self):
        """Train until the end trigger; returns the model (its parameters hold the weights)."""
        data = self.training_set
        distributed = hasattr(data, "mapInArrow") or hasattr(data, "barrier")
        tr = self._get_trainer(not distributed)
        callbacks = []
        if self.train_summary is not None:
            callbacks.append(_SummaryWriter(self.train_summary))
        if self.val_summary is not None:
            callbacks.append(_ValWriter(self.val_summary))
        val_data = self.val[1] if self.val else None
        val_trigger = self.val[2] if self.val else None
        if distributed:
            from zoo.engine.distributed.trainer import DistributedTrainer

            dt = DistributedTrainer(tr)
            if self.checkpoint:
                dt.set_checkpoint(self.checkpoint[0], self.checkpoint[1], keep_all=self.checkpoint[2])
            dt.fit(data, batch_size=self.batch_size, end_trigger=self.end_trigger, feature_cols=self.feature_cols,
                   label_cols=self.label_cols, validation_data=val_data, validation_trigger=val_trigger,
                   num_workers=self.num_workers, callbacks=callbacks,
                   val_batch_size=self.val[0] if self.val else None)
            self.history = dt.history
            return self.model
        if not (isinstance(data, (tuple, list)) and len(data) == 2):
            raise TypeError(f"Optimizer: training_set must be a Spark DataFrame, an RDD or an (x, y) pair of arrays, "
                            f"got {type(data).__name__}")
        cores = getattr(self, "cores", None)
        from zoo.engine import threads as T

        before = T.get_num_threads()
        if cores:
            T.set_num_threads(int(cores))
        try:
            if self.checkpoint:
                path, trig, _ = self.checkpoint
                os.makedirs(path, exist_ok=True)
                tr.set_checkpoint(os.path.join(path, "checkpoint.zip"), trig)
            self.history = tr.fit(data[0], data[1], batch_size=self.batch_size, end_trigger=self.end_trigger,
                                  validation_data=tuple(val_data) if val_data is not None else None,
                                  validation_trigger=val_trigger, callbacks=callbacks)
        finally:
            if cores:
                T.set_num_threads(before)
        return self.model
