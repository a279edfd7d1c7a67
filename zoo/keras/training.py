"""The training side of a model: compile, fit, evaluate, predict and friends (`Training`).

`compile` picks the loss, optimizer and metrics; the first `fit`/`evaluate` compiles one
engine trainer (`LocalParallelTrainer`: K replicas on K cores when the batch is large
enough) that is reused by every later call, so the training loop holds no per-call graph
work. Arrays, lists and dicts keyed by input/output name are checked here, with errors
naming the input or output. Spark DataFrames go to `zoo.keras.distributed`.
"""

from __future__ import annotations

import numpy as np

from zoo.engine.trainer import Callback as EngineCallback
from zoo.engine.trainer import Trainer
from zoo.engine.triggers import MaxEpoch
from zoo.keras import callbacks as cbks
from zoo.keras import metrics as keras_metrics
from zoo.keras.data_checks import DataChecks

__all__ = ["Training"]

_COMPILE_IGNORED = {"weighted_metrics", "run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss",
                    "sample_weight_mode", "target_tensors"}



class _KerasHooks(EngineCallback):
    """Forwards the engine trainer's hooks to Keras-style callbacks (epochs renumbered from initial_epoch)."""

    def __init__(self, model, callbacks, start_epoch: int, initial_epoch: int):
        self.model, self.callbacks = model, callbacks
        self.offset = initial_epoch - start_epoch

    def on_train_begin(self, logs):
        for c in self.callbacks:
            c.on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs):
        for c in self.callbacks:
            c.on_epoch_begin(epoch + self.offset, logs)
        if self.model.stop_training:
            self.trainer.stop_training = True

    def on_batch_begin(self, batch, logs):
        for c in self.callbacks:
            c.on_train_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs):
        for c in self.callbacks:
            c.on_train_batch_end(batch, logs)
        if self.model.stop_training:
            self.trainer.stop_training = True

    def on_epoch_end(self, epoch, logs):
        for c in self.callbacks:
            c.on_epoch_end(epoch + self.offset, logs)
        if self.model.stop_training:
            self.trainer.stop_training = True

    def on_train_end(self, logs):
        for c in self.callbacks:
            c.on_train_end(logs)





def _as_list(v) -> list:
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _get_loss(identifier):
    from zoo.keras import losses, objectives

    try:
        return losses.get(identifier)
    except ValueError:
        if isinstance(identifier, str) and identifier.lower() in objectives._ALIASES:
            return objectives.get(identifier)
        raise


class _Predictor:
    def __init__(self, model):
        from zoo.engine.graph import Executor

        params = model.graph.parameters
        stores = {id(p.store) for p in params}
        store = params[0].store if params and len(stores) == 1 else None
        self.exe = Executor(model.graph, store=store)
        self.inputs = model.inputs

    def predict(self, xs, batch_size):
        xs = [np.ascontiguousarray(a, dtype=t.dtype) if t.dtype.kind == "f" else np.asarray(a)
              for a, t in zip(xs, self.inputs)]
        return self.exe.predict(xs, batch_size)



def _fit_sizes(who: str, batch_size, epochs) -> tuple[int, int]:
    """fit's batch_size (default 32) and epochs, checked."""
    batch_size = 32 if batch_size is None else batch_size
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"{who}: batch_size must be a positive int, got {batch_size!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"{who}: epochs must be a non-negative int, got {epochs!r}")
    return int(batch_size), int(epochs)


def _check_callbacks(who: str, callbacks) -> list:
    cb_list = list(callbacks or [])
    for c in cb_list:
        if not isinstance(c, cbks.Callback):
            raise TypeError(f"{who}: callbacks must be zoo.keras.callbacks.Callback instances, got "
                            f"{type(c).__name__}")
    return cb_list


class Training(DataChecks):
    """compile / fit / evaluate / predict for a `Network` (mixed into `Model`)."""

    # ---- training API -------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, **kwargs) -> None:
        """Choose the optimizer (name or object), the loss (one for all outputs, a list, or a dict by
        output name) and the metrics (a list applied to every output, a list of lists, or a dict by
        output name); names and objects are both accepted."""
        from zoo.engine import optim

        bad = set(kwargs) - _COMPILE_IGNORED
        if bad:
            raise TypeError(f"Model '{self.name}'.compile: unexpected argument(s) {sorted(bad)}")
        if not self.built and not (self._sequential and self._stack):
            self._ensure_built()
        if loss is None:
            raise ValueError(f"Model '{self.name}'.compile: give a loss (a name such as 'mse' or a loss object)")
        opt = optim.get(optimizer)
        names = self.output_names
        losses = [_get_loss(v) for v in self._per_output(loss, "loss", names, broadcast=True)]
        if loss_weights is not None:
            loss_weights = [float(w) for w in self._per_output(loss_weights, "loss_weights", names, broadcast=False,
                                                                    default=1.0)]
        if metrics is None:
            specs = [[] for _ in names]
        elif isinstance(metrics, dict):
            unknown = set(metrics) - set(names)
            if unknown:
                raise ValueError(f"Model '{self.name}'.compile: metrics for unknown outputs {sorted(unknown)}; "
                                 f"outputs are {names}")
            specs = [_as_list(metrics.get(n)) for n in names]
        elif isinstance(metrics, (list, tuple)) and metrics and all(isinstance(m, (list, tuple)) for m in metrics):
            if len(metrics) != len(names):
                raise ValueError(f"Model '{self.name}'.compile: expected {len(names)} metric lists (one per output "
                                 f"{names}), got {len(metrics)}")
            specs = [list(m) for m in metrics]
        else:
            specs = [_as_list(metrics) for _ in names]
        resolved = [[m for m in (keras_metrics.pick(s, lf) for s in ms) if m is not None]
                    for ms, lf in zip(specs, losses)]
        self.compiled = {"optimizer": opt, "loss": losses, "metrics": resolved, "metric_specs": specs,
                         "loss_weights": loss_weights}
        self._trainer = None

    def _per_output(self, value, what: str, names: list[str], broadcast: bool, default=None) -> list:
        """One entry per output from a dict by output name (missing names take `default` when
        one is given), a list, or one value broadcast to all outputs."""
        if isinstance(value, dict):
            if default is not None:
                value = {**dict.fromkeys(names, default), **value}
            missing = [n for n in names if n not in value]
            unknown = set(value) - set(names)
            if missing or unknown:
                raise ValueError(f"Model '{self.name}'.compile: {what} keys must be the output names {names}, got "
                                 f"{sorted(value)}")
            return [value[n] for n in names]
        if isinstance(value, (list, tuple)):
            if len(value) != len(names):
                raise ValueError(f"Model '{self.name}'.compile: expected {len(names)} entries in {what} (one per "
                                 f"output {names}), got {len(value)}")
            return list(value)
        if not broadcast and len(names) > 1:
            raise ValueError(f"Model '{self.name}'.compile: {what} needs one entry per output {names}")
        return [value] * len(names)

    def _ensure_built(self, x=None) -> None:
        if not self.built:
            raise ValueError(f"Model '{self.name}' is not built: give the first layer an input_shape")

    def _trainer_current(self) -> bool:
        t = self._trainer
        return t is not None and all(p.store is t.store for p in t.train_graph.parameters)

    def _get_trainer(self) -> Trainer:
        if self.compiled is None:
            raise ValueError(f"Model '{self.name}': call compile(optimizer, loss) before fit/evaluate")
        if not self._trainer_current():
            c = self.compiled
            old = self._trainer
            if old is not None:  # the weights were rebound to another model's store: rebuild
                c["optimizer"].reset_state()
            from zoo.engine.parallel import LocalParallelTrainer

            self._trainer = LocalParallelTrainer(self.graph, c["loss"], c["optimizer"], loss_weights=c["loss_weights"],
                                                 metrics=c["metrics"], seed=getattr(self, "_seed", 0),
                                                 regularizers=self.regularizers, output_names=self.output_names,
                                                 replicas=getattr(self, "_replicas", "auto"))
            if old is not None:
                self._trainer.state = old.state
                self._trainer.shuffle_rng = old.shuffle_rng
            self._trainer.clip_value = getattr(self, "_clip_value", None)
            self._trainer.clip_norm = getattr(self, "_clip_norm", None)
        return self._trainer

    # ---- fit / evaluate / predict ---------------------------------------------------------

    def fit(self, x=None, y=None, batch_size: int | None = None, epochs: int = 1, verbose="auto", callbacks=None,
            validation_split: float = 0.0, validation_data=None, shuffle: bool = True, class_weight=None,
            sample_weight=None, initial_epoch: int = 0, nb_epoch: int | None = None, **kwargs) -> cbks.History:
        """Train on numpy arrays (lists, or dicts keyed by input/output names, for several
        inputs/outputs) for epochs `initial_epoch` .. `epochs - 1`; returns a History.

        Keras 1 / Analytics Zoo spelling: `nb_epoch`. `validation_split` takes the last fraction
        of the samples (before shuffling). Training state (optimizer, epoch and iteration
        counters, shuffling RNG) carries over between calls, so fit(epochs=1) twice equals
        fit(epochs=2).

        Arrays train in this process on K replicas, one per core, each on its share of the
        batch, with a chunked reduce of the gradients (zoo.engine.parallel): K = threads when
        batch_size >= 16 K (32 K with batch norm), else 1; `set_replicas` or `ZOO_REPLICAS`
        fix K. The result equals one replica on the whole batch up to float rounding, except
        that batch norm normalises each share with its own statistics (as BigDL did); use
        `set_replicas(1)` for whole-batch statistics. A Spark DataFrame or RDD `x` trains on
        the cluster instead (zoo.keras.distributed: `feature_cols`, `label_cols`,
        `num_workers`).
        """
        from zoo.engine.distributed import is_spark_data

        if is_spark_data(x):
            return self._fit_spark(x, y, batch_size, nb_epoch if nb_epoch is not None else epochs, verbose,
                                   callbacks, validation_split, validation_data, class_weight, sample_weight,
                                   initial_epoch, kwargs)
        from zoo.keras.distributed import _SPARK_ONLY

        for k in _SPARK_ONLY:
            if kwargs.pop(k, None) is not None:
                raise ValueError(f"Model.fit: {k} is for a Spark DataFrame or RDD x; got {type(x).__name__}")
        # Analytics Zoo's `distributed`: arrays always train in this process, on local replicas
        kwargs.pop("distributed", None)
        kwargs.pop("validation_batch_size", None)
        if kwargs.pop("validation_freq", 1) != 1:
            raise ValueError("Model.fit: only validation_freq=1 (validate after every epoch) is supported")
        for k in ("steps_per_epoch", "validation_steps"):
            if kwargs.pop(k, None) is not None:
                raise ValueError(f"Model.fit: {k} is not supported for array input; give arrays and batch_size")
        if kwargs:
            raise TypeError(f"Model.fit: unexpected argument(s) {sorted(kwargs)}")
        who = "Model.fit"
        self._ensure_built(x)
        batch_size, epochs = _fit_sizes(who, batch_size, nb_epoch if nb_epoch is not None else epochs)
        if x is None or y is None:
            raise ValueError(f"{who}: give x and y (numpy arrays, lists or dicts of them)")
        self._get_trainer()  # not compiled: say so before checking the data
        xs, ys, sw, n = self._training_arrays(who, x, y, sample_weight, class_weight)
        vdata = None
        if validation_split and validation_data is None:
            if not 0 < validation_split < 1:
                raise ValueError(f"{who}: validation_split must be in (0, 1), got {validation_split}")
            cut = int(n * (1 - validation_split))
            if cut == 0 or cut == n:
                raise ValueError(f"{who}: validation_split={validation_split} of {n} samples leaves no training or "
                                 f"no validation samples")
            vdata = ([a[cut:] for a in xs], [a[cut:] for a in ys])
            xs, ys = [a[:cut] for a in xs], [a[:cut] for a in ys]
            if sw is not None:
                sw = [None if s is None else s[:cut] for s in sw] if isinstance(sw, list) else sw[:cut]
            n = cut
        elif validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
                raise ValueError(f"{who}: validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight), "
                                 f"got {type(validation_data).__name__}")
            vx, nv = self._check_x(validation_data[0], who, "validation_data x")
            vy = self._check_y(validation_data[1], nv, who, "validation_data y")
            vdata = (vx, vy)
            if len(validation_data) == 3 and validation_data[2] is not None:
                vdata = vdata + (self._check_sw(validation_data[2], nv, who),)
        if isinstance(sw, list):
            sw = [np.ones(n, np.float32) if s is None else s for s in sw]
        cb_list = _check_callbacks(who, callbacks)
        for c in cb_list:
            restored = c._restore_before_fit(self) if hasattr(c, "_restore_before_fit") else None
            if restored is not None:
                initial_epoch = max(initial_epoch, restored)
        verbose = 1 if verbose == "auto" else int(verbose)
        extra = [cbks.ProgbarLogger(verbose)] if verbose else []
        if getattr(self, "_checkpoint", None) is not None:
            extra.append(self._checkpoint)
        params = {"epochs": epochs, "samples": n, "batch_size": batch_size, "verbose": verbose,
                  "steps": -(-n // batch_size)}

        def train(trainer, end_trigger, engine_cbs):
            trainer.fit(xs, ys, batch_size=batch_size, end_trigger=end_trigger, shuffle=shuffle, sample_weight=sw,
                        validation_data=vdata, callbacks=engine_cbs)

        return self._run_fit(train, cb_list + extra, params, epochs, initial_epoch)

    def _run_fit(self, train, cb_list: list, params: dict, epochs: int, initial_epoch: int) -> cbks.History:
        """What every fit shares: callbacks get the model and params, a History records the
        epochs, the trainer's epoch counter starts at `initial_epoch`, TensorBoard summaries
        are written; `train(trainer, end_trigger, engine_callbacks)` runs the epochs."""
        trainer = self._get_trainer()
        history = cbks.History()
        cb_list = cb_list + [history]
        for c in cb_list:
            c.set_model(self)
            c.set_params(params)
        self.history = history
        self.stop_training = False
        remaining = epochs - initial_epoch
        if remaining <= 0:
            return history
        trainer.state.epoch = max(trainer.state.epoch, initial_epoch)
        start = trainer.state.epoch
        engine_cbs = [_KerasHooks(self, cb_list, start, initial_epoch)]
        if self._summaries is not None:
            engine_cbs.append(self._summaries.callback())
        train(trainer, MaxEpoch(start + remaining), engine_cbs)
        if self._summaries is not None:
            self._summaries.flush()
        return history

    def evaluate(self, x=None, y=None, batch_size: int | None = None, verbose=0, sample_weight=None,
                 return_dict: bool = False, **kwargs):
        """Loss and metrics in inference mode: a scalar (loss only), a list [loss, *metrics], or a dict."""
        kwargs.pop("callbacks", None)
        kwargs.pop("steps", None)
        if kwargs:
            raise TypeError(f"Model.evaluate: unexpected argument(s) {sorted(kwargs)}")
        who = "Model.evaluate"
        trainer = self._get_trainer()
        xs, n = self._check_x(x, who)
        ys = self._check_y(y, n, who)
        sw = self._check_sw(sample_weight, n, who)
        res = trainer.evaluate(xs, ys, batch_size=batch_size or 32, sample_weight=sw)
        if return_dict:
            return res
        vals = list(res.values())
        return vals[0] if len(vals) == 1 else vals

    def predict(self, x, batch_size: int | None = None, verbose=0, **kwargs):
        """Outputs for x in inference mode (a list for several outputs).

        With a Spark DataFrame `x`: the DataFrame with one array<float> column per output
        appended (`prediction_col`, default "prediction"; a list for several outputs), computed
        on the executors from `feature_cols` (default ["features"]). With an RDD of Samples:
        an RDD of predictions in the same order (an ndarray per record, a list for several
        outputs), as Analytics Zoo returned.
        """
        from zoo.engine.distributed import is_spark_data

        if is_spark_data(x):
            return self._predict_spark(x, batch_size, kwargs)
        kwargs.pop("steps", None)
        kwargs.pop("callbacks", None)
        kwargs.pop("batch_per_thread", None)
        kwargs.pop("distributed", None)
        if kwargs:
            raise TypeError(f"Model.predict: unexpected argument(s) {sorted(kwargs)}")
        self._ensure_built(x)
        xs, _ = self._check_x(x, "Model.predict")
        batch_size = batch_size or 32
        if self._trainer is not None and self._trainer_current():
            outs = self._trainer.predict(xs, batch_size=batch_size)
        else:
            if self._predictor is None:
                self._predictor = _Predictor(self)
            outs = self._predictor.predict(xs, batch_size)
        return outs if self._multi_out else outs[0]

    def predict_classes(self, x, batch_size: int = 32, zero_based_label: bool = True, **kwargs):
        """Argmax class ids (0-based; `zero_based_label=False` adds 1 for Analytics Zoo code)."""
        p = self.predict(x, batch_size=batch_size, **kwargs)
        if isinstance(p, list):
            p = p[0]
        classes = (p > 0.5).astype(np.int64).reshape(len(p)) if p.shape[-1] == 1 else np.argmax(p, axis=-1)
        return classes if zero_based_label else classes + 1

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict: bool = False):
        """One optimizer step on one batch; returns the loss (and the batch's metrics: a list or a dict)."""
        who = "Model.train_on_batch"
        trainer = self._get_trainer()
        xs, ys, sw, n = self._training_arrays(who, x, y, sample_weight, class_weight)
        if isinstance(sw, list):
            sw = [np.ones(n, np.float32) if s is None else s for s in sw]
        xs, ys, sws, _ = trainer._prepare(xs, ys, sw)
        loss, preds = trainer.train_step(xs, ys, sws)
        trainer.state.iteration += 1
        trainer.state.loss = loss
        res = {"loss": loss}
        for i, (ms, p, t, w) in enumerate(zip(trainer.metrics, preds, ys, sws)):
            for m in ms:
                m.reset()
                m.update(p, t, w)
                res[trainer._metric_key(m, i)] = m.result()
        if return_dict:
            return res
        vals = list(res.values())
        return vals[0] if len(vals) == 1 else vals

    def test_on_batch(self, x, y, sample_weight=None, return_dict: bool = False):
        """Loss (and metrics) of one batch in inference mode."""
        _, n = self._check_x(x, "Model.test_on_batch")
        return self.evaluate(x, y, batch_size=max(n, 1), sample_weight=sample_weight, return_dict=return_dict)

    def predict_on_batch(self, x):
        """Outputs of one batch in inference mode."""
        _, n = self._check_x(x, "Model.predict_on_batch")
        return self.predict(x, batch_size=max(n, 1))

    def reset_states(self) -> None:
        """Recurrent state is not carried between batches; kept for Keras code."""

    def set_gradient_clipping_by_l2_norm(self, clip_norm: float) -> None:
        self._clip_norm = float(clip_norm)
        if self._trainer is not None:
            self._trainer.clip_norm = self._clip_norm

    def set_constant_gradient_clipping(self, min_value: float, max_value: float) -> None:
        self._clip_value = (float(min_value), float(max_value))
        if self._trainer is not None:
            self._trainer.clip_value = self._clip_value

    def clear_gradient_clipping(self) -> None:
        self._clip_norm = self._clip_value = None
        if self._trainer is not None:
            self._trainer.clip_norm = self._trainer.clip_value = None

    def set_replicas(self, replicas: int | str = "auto") -> None:
        """Local replicas of later fits: a positive int, or "auto" (the default; see `fit`)."""
        if replicas != "auto" and (isinstance(replicas, bool) or not isinstance(replicas, (int, np.integer))
                                   or replicas < 1):
            raise ValueError(f"Model '{self.name}'.set_replicas: expected a positive int or 'auto', got {replicas!r}")
        self._replicas = replicas if replicas == "auto" else int(replicas)
        if self._trainer is not None:
            self._trainer.replicas = self._replicas
            self._trainer._k_for.clear()

    def set_seed(self, seed: int) -> None:
        """Seed shuffling and random layers of the next compiled trainer."""
        self._seed = int(seed)
        self._trainer = None

    def set_checkpoint(self, path: str, over_write: bool = True, trigger=None) -> None:
        """Analytics Zoo: checkpoint later fits into directory `path`.

        Arrays: the model (weights, optimizer and training state) after every epoch, to
        `path/model.zoo` (over_write) or `path/model.<iteration>.zoo`. Spark DataFrames: the
        workers write a training checkpoint whenever `trigger` fires (default every epoch; a
        local path or any Hadoop filesystem URI), and a failed task resumes from the latest
        one; `over_write=False` keeps every checkpoint.
        """
        import os

        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise ValueError(f"Model '{self.name}'.set_checkpoint: path must be a non-empty path, got {path!r}")
        path = os.fspath(path)
        self._checkpoint = cbks.ModelCheckpoint(os.path.join(path, "model.zoo" if over_write
                                                             else "model.{iteration}.zoo"))
        self._spark_checkpoint = (path, trigger, not over_write)

    # ---- TensorBoard ----------------------------------------------------------------------

    def set_tensorboard(self, log_dir: str, app_name: str) -> None:
        """Write TensorBoard summaries of later fits to log_dir/app_name/train (Loss, LearningRate,
        Throughput per iteration) and log_dir/app_name/validation (one tag per metric)."""
        from zoo.engine.summary import SummaryPair

        self._summaries = SummaryPair(log_dir, app_name)

    def get_train_summary(self, tag: str) -> list[tuple[int, float, float]]:
        """[(iteration, value, wall_time)] of a train tag: 'Loss', 'LearningRate' or 'Throughput'."""
        if self._summaries is None:
            raise ValueError(f"Model '{self.name}': call set_tensorboard(log_dir, app_name) before fit")
        return self._summaries.train.read_scalar(tag)

    def get_validation_summary(self, tag: str) -> list[tuple[int, float, float]]:
        """[(iteration, value, wall_time)] of a validation tag ('Loss', 'Top1Accuracy', 'AucScore', ...)."""
        if self._summaries is None:
            raise ValueError(f"Model '{self.name}': call set_tensorboard(log_dir, app_name) before fit")
        return self._summaries.validation.read_scalar(tag)

