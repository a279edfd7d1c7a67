"""Callbacks that report: the progress display (ProgbarLogger), CSVLogger and TensorBoard."""

from __future__ import annotations

import csv
import os
import sys
import time
import warnings

import numpy as np

from zoo.keras.callbacks.base import Callback, running_metrics

__all__ = ["CSVLogger", "ProgbarLogger", "TensorBoard"]


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
            metrics.update(running_metrics(self.model))
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
            values += [(f"batch_{k}", v) for k, v in running_metrics(self.model).items()]
            self._writer("train").add_scalars(values, step)

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
