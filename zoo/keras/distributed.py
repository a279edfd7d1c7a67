"""Keras models on Spark: `Model.fit(df, ...)` and `Model.predict(df)` (`SparkTraining`).

`fit` on a Spark DataFrame (or an RDD of Samples) runs one barrier-stage job through
`zoo.engine.distributed.DistributedTrainer`: one worker per executor by default, the global
batch split over the workers, a chunked ring all-reduce per iteration. The model then holds
the trained weights and optimizer state, so `fit`, `evaluate`, `save` carry on locally.
Keras callbacks see every batch's and epoch's logs after the job, on the driver; those that
must act during training are refused with what to use instead. `predict` appends one
array<float> column per output, computed on the executors.
"""

from __future__ import annotations

import numpy as np

from zoo.keras import callbacks as cbks
from zoo.keras.training import _check_callbacks, _fit_sizes

__all__ = ["SparkTraining"]


class _EpochLines(cbks.Callback):
    """Spark fits: one line per epoch (the job's logs arrive after it): loss, metrics, samples/s."""

    def on_epoch_begin(self, epoch, logs=None):
        self.rates: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        if logs and logs.get("throughput"):
            self.rates.append(float(logs["throughput"]))

    def on_epoch_end(self, epoch, logs=None):
        parts = [f"Epoch {epoch + 1}/{self.params.get('epochs')}"]
        parts += [f"{k}: {v:.4f}" for k, v in (logs or {}).items() if isinstance(v, (int, float))]
        if self.rates:
            parts.append(f"{float(np.median(self.rates)):,.0f} samples/s")
        print(" - ".join(parts), flush=True)


#: Model.fit arguments for Spark input only
_SPARK_ONLY = ("feature_cols", "label_cols", "num_workers")
#: further DistributedTrainer options Model.fit passes through for Spark input
_SPARK_OPTIONS = ("threads_per_worker", "compress", "validation_trigger", "val_batch_size", "comm_timeout",
                  "end_trigger", "pin_cores")
#: callbacks that must act during training, with what to use on Spark instead
_DRIVER_ONLY_CALLBACKS = {
    cbks.EarlyStopping: "pass an end trigger, e.g. fit(..., end_trigger=MinLoss(0.1)) (zoo.engine.triggers)",
    cbks.ModelCheckpoint: "use model.set_checkpoint(path, trigger=...)",
    cbks.ReduceLROnPlateau: "use the Plateau learning-rate schedule of the optimizer",
    cbks.LearningRateScheduler: "use a learning-rate schedule of the optimizer",
    cbks.BackupAndRestore: "use model.set_checkpoint(path); a failed task resumes from it",
    cbks.TerminateOnNaN: "check history.history['loss'] after fit",
}



class SparkTraining:
    """`fit`/`predict` on Spark data for a model (mixed into `Model`)."""

    def _fit_spark(self, data, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                   class_weight, sample_weight, initial_epoch, kwargs) -> cbks.History:
        """`fit` on a Spark DataFrame (or RDD of Samples): one barrier-stage job trains on
        `num_workers` workers (zoo.engine.distributed.DistributedTrainer); the model then holds
        the trained weights and optimizer state. Callbacks see every batch's and epoch's logs
        after the job, on the driver."""
        from zoo.engine.distributed import DistributedTrainer, is_spark_data

        who = "Model.fit"
        opts = {k: kwargs.pop(k) for k in list(kwargs) if k in _SPARK_ONLY or k in _SPARK_OPTIONS}
        kwargs.pop("distributed", None)
        if kwargs:
            raise TypeError(f"{who}: unexpected argument(s) {sorted(kwargs)}")
        if y is not None:
            raise ValueError(f"{who}: with a Spark DataFrame the labels are columns: give label_cols=[...], not y")
        for name, v in (("validation_split", validation_split), ("class_weight", class_weight),
                        ("sample_weight", sample_weight)):
            if v:
                raise ValueError(f"{who}: {name} is not supported for a Spark DataFrame; give validation_data= "
                                 f"as a DataFrame, or weight the samples in the data")
        if validation_data is not None and not is_spark_data(validation_data):
            raise TypeError(f"{who}: validation_data must be a Spark DataFrame (or RDD) like x, got "
                            f"{type(validation_data).__name__}")
        batch_size, epochs = _fit_sizes(who, batch_size, epochs)
        cb_list = _check_callbacks(who, callbacks)
        for c in cb_list:
            instead = next((v for k, v in _DRIVER_ONLY_CALLBACKS.items() if isinstance(c, k)), None)
            if instead is not None:
                raise ValueError(f"{who}: {type(c).__name__} cannot act during a Spark job (callbacks see the logs "
                                 f"after it); {instead}")
        self._ensure_built()
        verbose = 1 if verbose == "auto" else int(verbose)
        params = {"epochs": epochs, "samples": None, "batch_size": batch_size, "verbose": verbose, "steps": None}
        opts.setdefault("feature_cols", ["features"])
        opts.setdefault("label_cols", ["label"])
        stop = opts.pop("end_trigger", None)
        dt = None

        def train(trainer, end_trigger, engine_cbs):
            nonlocal dt
            dt = DistributedTrainer(trainer)
            ckpt = getattr(self, "_spark_checkpoint", None)
            if ckpt is not None:
                dt.set_checkpoint(*ckpt)
            dt.fit(data, batch_size=batch_size, end_trigger=end_trigger if stop is None else end_trigger | stop,
                   validation_data=validation_data, callbacks=engine_cbs,
                   replicas=getattr(self, "_replicas", "auto"), **opts)

        history = self._run_fit(train, cb_list + ([_EpochLines()] if verbose else []), params, epochs, initial_epoch)
        if dt is None:
            return history
        self.distributed_info = dict(dt.info, iterations=dt.iterations)
        return history

    def _predict_spark(self, data, batch_size, kwargs):
        from zoo.engine.distributed import predict_frame, predict_rdd

        frame = hasattr(data, "mapInArrow")  # else an RDD of Samples: an RDD of predictions (Analytics Zoo)
        opts = {k: kwargs.pop(k) for k in (("feature_cols", "prediction_col", "threads") if frame else ("threads",))
                if k in kwargs}
        for k in ("steps", "callbacks", "batch_per_thread", "distributed"):
            kwargs.pop(k, None)
        if kwargs:
            raise TypeError(f"Model.predict: unexpected argument(s) {sorted(kwargs)}" + ("" if frame else " for an RDD"))
        self._ensure_built()
        batch_size = int(batch_size or 256)
        if not frame:
            return predict_rdd(self.graph, data, batch_size=batch_size, **opts)
        if "prediction_col" not in opts and len(self.outputs) > 1:
            opts["prediction_col"] = [f"prediction_{n}" for n in self.output_names]
        return predict_frame(self.graph, data, batch_size=batch_size, **opts)

