"""Keras-style callbacks and the progress display.

Hooks: on_train_begin/end(logs), on_epoch_begin/end(epoch, logs),
on_train_batch_begin/end(batch, logs) (also reachable as on_batch_begin/end), and the
test/predict batch hooks Keras has. `self.model` is the model being trained; setting
`model.stop_training = True` stops after the current batch. Epoch logs hold "loss", the
metrics and, with validation, "val_" + each of them; batch logs hold "loss", "size" (the
batch's samples), "lr" and "throughput".

Built-ins: History, ProgbarLogger, EarlyStopping, ModelCheckpoint, LearningRateScheduler,
ReduceLROnPlateau, TerminateOnNaN, CSVLogger, LambdaCallback, BackupAndRestore, TensorBoard.
"""

from __future__ import annotations

import csv
import inspect
import math
import os
import sys
import time
import warnings

import numpy as np

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
]


class Callback:
    """Base class: override the hooks you need."""

    model = None
    params: dict = {}  # noqa: RUF012 (set per fit by set_params)

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...

    # helpers ---------------------------------------------------------------------------------

    def _optimizer(self):
        opt = getattr(self.model, "optimizer", None)
        if opt is None:
            raise ValueError(f"{type(self).__name__}: the model has no compiled optimizer")
        return opt


class History(Callback):
    """Per-epoch logs: `history` maps each metric name to a list; `epoch` lists epoch indices; `params`."""

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython

        shell = get_ipython()
        return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
    except Exception:  # noqa: BLE001 (no IPython, or an unusual shell)
        return False


class ProgbarLogger(Callback):
    """verbose=1: one updating line per epoch (samples, bar, loss and metrics so far, samples/s, ETA);
    verbose=2: one line per epoch. In Jupyter the line updates in place (one display handle)."""

    def __init__(self, verbose: int = 1, stream=None, interval: float = 0.1):
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.interval = interval
        self._handle = None
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.seen = 0
        self.start = time.perf_counter()
        self.last = 0.0
        self.sums: dict[str, float] = {}
        self.total = self.params.get("samples")
        self.epochs = self.params.get("epochs")

    def _running_metrics(self) -> dict[str, float]:
        trainer = getattr(self.model, "_trainer", None)
        out = {}
        if trainer is not None:
            for i, ms in enumerate(trainer.metrics):
                for m in ms:
                    out[trainer._metric_key(m, i)] = m.result()
        return out

    def _line(self, logs: dict, final: bool) -> str:
        elapsed = time.perf_counter() - self.start
        rate = self.seen / elapsed if elapsed > 0 else 0.0
        parts = [f"Epoch {self.epoch + 1}/{self.epochs}" if self.epochs else f"Epoch {self.epoch + 1}"]
        if self.total:
            width = 24
            done = min(width, int(width * self.seen / self.total))
            parts.append(f"{self.seen}/{self.total} [" + "=" * done + "." * (width - done) + "]")
        if final:
            metrics = logs
        else:
            metrics = {k: v / max(self.seen, 1) for k, v in self.sums.items()}
            metrics.update(self._running_metrics())
        parts += [f"{k}: {v:.4f}" for k, v in metrics.items() if isinstance(v, (float, np.floating))]
        parts.append(f"{rate:,.0f} samples/s")
        if not final and self.total and rate > 0:
            parts.append(f"ETA {max(self.total - self.seen, 0) / rate:.1f}s")
        elif final:
            parts.append(f"{elapsed:.1f}s")
        return " - ".join(parts)

    def _show(self, text: str, final: bool) -> None:
        if _in_notebook():
            from IPython.display import display

            if self._handle is None:
                self._handle = display(text, display_id=True)
            else:
                self._handle.update(text)
            if final:
                self._handle = None
            return
        if self.verbose == 1 and self._tty:
            self.stream.write("\r" + text + "\x1b[K" + ("\n" if final else ""))
        elif final:
            self.stream.write(text + "\n")
        self.stream.flush()

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        n = logs.get("size", 1)
        self.seen += n
        if "loss" in logs:
            self.sums["loss"] = self.sums.get("loss", 0.0) + float(logs["loss"]) * n
        now = time.perf_counter()
        if self.verbose == 1 and (self._tty or _in_notebook()) and now - self.last >= self.interval:
            self.last = now
            self._show(self._line({}, False), False)

    def on_epoch_end(self, epoch, logs=None):
        self._show(self._line(dict(logs or {}), True), True)


# ---- monitoring helpers --------------------------------------------------------------------------

_MAX_WORDS = ("acc", "auc", "precision", "recall", "top", "score", "f1")


def _monitor_op(owner: str, monitor: str, mode: str):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        base = monitor.removeprefix("val_")
        mode = "max" if any(w in base.lower() for w in _MAX_WORDS) else "min"
    return mode


def _better(mode: str, current: float, best: float, min_delta: float) -> bool:
    if mode == "max":
        return current > best + min_delta
    return current < best - min_delta


def _get_monitor(owner: Callback, monitor: str, logs: dict):
    value = (logs or {}).get(monitor)
    if value is None:
        warnings.warn(f"{type(owner).__name__}: metric {monitor!r} is not in the logs (available: "
                      f"{sorted(logs or {})}); skipping", stacklevel=3)
        return None
    return float(value)


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    Args:
        monitor: log key (default "val_loss"). mode: "auto" (max for accuracy/auc/precision/recall-like
        names, else min), "min" or "max". baseline: stop unless the value beats it. restore_best_weights:
        on stopping, restore the weights of the best epoch. start_from_epoch: epochs to wait first.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0):
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = _monitor_op("EarlyStopping", monitor, mode)
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = _get_monitor(self, self.monitor, logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if _better(self.mode, current, self.best, self.min_delta):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or _better(self.mode, current, self.baseline, 0.0):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) after each epoch, or every `save_freq` batches.

    `filepath` may hold `str.format` fields: `{epoch}` (1-based), `{batch}`, `{iteration}` (optimizer
    steps so far) and any log key, e.g.
    "ckpt-{epoch:02d}-{val_loss:.3f}.zip". With save_best_only, only an improvement of `monitor`
    (mode as EarlyStopping) is saved. Weights go to a `.npz` when filepath ends in ".npz", else
    to a zoo zip (`Model.save` / `Model.save_weights`).
    """

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", save_freq="epoch",
                 initial_value_threshold: float | None = None):
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = _monitor_op("ModelCheckpoint", monitor, mode)
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive int, got {save_freq!r}")
        self.save_freq = save_freq
        self.best = (initial_value_threshold if initial_value_threshold is not None
                     else math.inf if self.mode == "min" else -math.inf)
        self._batches = 0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches % self.save_freq == 0:
            self._save(self._epoch, dict(logs or {}), batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, dict(logs or {}), None)

    def _save(self, epoch: int, logs: dict, batch):
        try:
            trainer = getattr(self.model, "_trainer", None)
            iteration = trainer.state.iteration if trainer is not None else 0
            path = self.filepath.format(epoch=epoch + 1, batch=(batch or 0) + 1, iteration=iteration, **logs)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"ModelCheckpoint: cannot fill filepath {self.filepath!r} from epoch/batch and the logs "
                             f"{sorted(logs)}: {e}") from None
        if self.save_best_only:
            current = _get_monitor(self, self.monitor, logs)
            if current is None or not _better(self.mode, current, self.best, 0.0):
                return
            self.best = current
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


def _call_schedule(schedule, epoch: int, lr: float) -> float:
    try:
        n = len(inspect.signature(schedule).parameters)
    except (TypeError, ValueError):
        n = 2
    return schedule(epoch, lr) if n >= 2 else schedule(epoch)


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate to `schedule(epoch, lr)` (or `schedule(epoch)`) before each epoch."""

    def __init__(self, schedule, verbose: int = 0):
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        opt = self._optimizer()
        lr = _call_schedule(self.schedule, epoch, float(opt.learning_rate))
        if not isinstance(lr, (int, float, np.floating, np.integer)) or not math.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateScheduler: schedule returned {lr!r} at epoch {epoch}; expected a finite "
                             f"number >= 0")
        opt.learning_rate = float(lr)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self._optimizer().learning_rate)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` when `monitor` stalls for `patience` epochs (not below min_lr)."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0, **kwargs):
        if "epsilon" in kwargs:  # Keras 1 name
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected argument(s) {sorted(kwargs)}")
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor!r}")
        self.monitor, self.factor, self.patience = monitor, float(factor), int(patience)
        self.verbose, self.min_delta, self.cooldown, self.min_lr = verbose, float(min_delta), int(cooldown), min_lr
        self.mode = _monitor_op("ReduceLROnPlateau", monitor, mode)
        self._reset()

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        opt = self._optimizer()
        if logs is not None:
            logs["learning_rate"] = float(opt.learning_rate)
        current = _get_monitor(self, self.monitor, logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if _better(self.mode, current, self.best, self.min_delta):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(opt.learning_rate)
                if old > self.min_lr:
                    opt.learning_rate = max(old * self.factor, self.min_lr)
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True


class CSVLogger(Callback):
    """Append one row per epoch (epoch and every log key, sorted) to a CSV file."""

    def __init__(self, filename: str, separator: str = ",", append: bool = False):
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self._file = None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._writer = None
        self.keys = None
        if exists:
            with open(self.filename, newline="") as f:
                first = f.readline().strip()
            self.keys = first.split(self.sep)[1:] if first else None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            self._writer = csv.writer(self._file, delimiter=self.sep)
            self._writer.writerow(["epoch"] + self.keys)
        if self._writer is None:
            self._writer = csv.writer(self._file, delimiter=self.sep)
        self._writer.writerow([epoch] + [logs.get(k, "NA") for k in self.keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class LambdaCallback(Callback):
    """A callback from functions: on_epoch_begin(epoch, logs), on_epoch_end(epoch, logs),
    on_train_begin(logs), on_train_end(logs), on_train_batch_begin/end(batch, logs) (also
    spelled on_batch_begin/end)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, on_batch_begin=None, on_batch_end=None,
                 **kwargs):
        for k in kwargs:
            if not k.startswith("on_"):
                raise TypeError(f"LambdaCallback: unexpected argument {k!r}")
        fns = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
               "on_train_end": on_train_end, "on_train_batch_begin": on_train_batch_begin or on_batch_begin,
               "on_train_batch_end": on_train_batch_end or on_batch_end, **kwargs}
        for k, fn in fns.items():
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"LambdaCallback: {k} must be callable, got {type(fn).__name__}")
                setattr(self, k, fn)


class BackupAndRestore(Callback):
    """Fault-tolerant training: back up the model, optimizer and training state after every epoch,
    and on the next `fit` with the same backup_dir resume after the last backed-up epoch.

    The backup is one zoo model zip (`backup_dir/backup.zip`, written atomically); it is deleted when
    training ends normally (unless delete_checkpoint=False). `fit` must be given the same data and
    arguments; the resumed run equals an uninterrupted one (same shuffling and random state).
    """

    FILE = "backup.zip"

    def __init__(self, backup_dir: str, save_freq="epoch", delete_checkpoint: bool = True):
        if save_freq != "epoch":
            raise ValueError(f"BackupAndRestore: only save_freq='epoch' is supported, got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = bool(delete_checkpoint)

    @property
    def path(self) -> str:
        return os.path.join(self.backup_dir, self.FILE)

    def _restore_before_fit(self, model) -> int | None:
        """Called by fit before training: restore the backup if there is one; returns the epoch to start at."""
        if not os.path.exists(self.path):
            return None
        from zoo.keras import saving

        extra = saving.restore_training_state(model, self.path)
        epoch = extra.get("backup_epoch")
        if not isinstance(epoch, int):
            raise ValueError(f"BackupAndRestore: {self.path!r} is not a backup (no epoch recorded)")  # noqa: TRY004
        return epoch + 1

    def on_epoch_end(self, epoch, logs=None):
        from zoo.keras import saving

        os.makedirs(self.backup_dir, exist_ok=True)
        saving.save_model(self.model, self.path, extra={"backup_epoch": int(epoch)})

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.path):
            os.remove(self.path)
            try:
                os.rmdir(self.backup_dir)
            except OSError:
                pass


class TensorBoard(Callback):
    """Write TensorBoard event files: log_dir/train and log_dir/validation, tags "epoch_<key>" per
    epoch (loss, metrics, learning_rate) and, with update_freq "batch" or N, "batch_<key>" every
    N batches (at the global iteration). Weight histograms (histogram_freq) are not written."""

    def __init__(self, log_dir: str = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False, update_freq="epoch",
                 profile_batch=0, embeddings_freq: int = 0, embeddings_metadata=None):
        self.log_dir = os.fspath(log_dir)
        if histogram_freq:
            warnings.warn("TensorBoard: histogram_freq is not supported; only scalars are written", stacklevel=2)
        if update_freq not in ("epoch", "batch") and (isinstance(update_freq, bool)
                                                      or not isinstance(update_freq, int) or update_freq < 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive int, got "
                             f"{update_freq!r}")
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.write_steps_per_second = write_steps_per_second
        self._train = self._val = None

    def _writer(self, kind: str):
        from zoo.engine.summary import EventFileWriter

        attr = "_train" if kind == "train" else "_val"
        if getattr(self, attr) is None:
            setattr(self, attr, EventFileWriter(os.path.join(self.log_dir, kind), ".v2"))
        return getattr(self, attr)

    def on_train_begin(self, logs=None):
        self._batches = 0
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch":
            return
        self._batches += 1
        if self._batches % self.update_freq == 0:
            logs = logs or {}
            trainer = self.model._trainer
            step = trainer.state.iteration if trainer is not None else self._batches
            values = [(f"batch_{k}", v) for k, v in logs.items() if k in ("loss",)]
            values += [(f"batch_{k}", v) for k, v in self._running().items()]
            self._writer("train").add_scalars(values, step)

    def _running(self) -> dict:
        trainer = getattr(self.model, "_trainer", None)
        out = {}
        if trainer is not None:
            for i, ms in enumerate(trainer.metrics):
                for m in ms:
                    out[trainer._metric_key(m, i)] = m.result()
        return out

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train = [(f"epoch_{k}", v) for k, v in logs.items()
                 if not k.startswith("val_") and isinstance(v, (int, float, np.floating))]
        if "learning_rate" not in logs and getattr(self.model, "optimizer", None) is not None:
            train.append(("epoch_learning_rate", float(self.model.optimizer.learning_rate)))
        if self.write_steps_per_second:
            steps = self.params.get("steps") or 0
            train.append(("epoch_steps_per_second", steps / max(time.perf_counter() - self._epoch_start, 1e-9)))
        self._writer("train").add_scalars(train, epoch)
        val = [(f"epoch_{k[4:]}", v) for k, v in logs.items()
               if k.startswith("val_") and isinstance(v, (int, float, np.floating))]
        if val:
            self._writer("validation").add_scalars(val, epoch)
        for w in (self._train, self._val):
            if w is not None:
                w.flush()

    def on_train_end(self, logs=None):
        for attr in ("_train", "_val"):
            w = getattr(self, attr)
            if w is not None:
                w.close()
                setattr(self, attr, None)
