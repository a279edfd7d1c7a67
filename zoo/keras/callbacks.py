"""Keras-style callbacks and the progress display.

Hooks: on_train_begin/end(logs), on_epoch_begin/end(epoch, logs),
on_train_batch_begin/end(batch, logs). `self.model` is the model being trained;
setting `model.stop_training = True` stops after the current batch.
"""

from __future__ import annotations

import sys
import time

__all__ = ["Callback", "History", "ProgbarLogger"]


class Callback:
    model = None
    params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...


class History(Callback):
    """Per-epoch logs: `history` maps each metric name to a list; `epoch` lists epoch indices."""

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
    except Exception:
        return False


class ProgbarLogger(Callback):
    """verbose=1: one updating line per epoch (loss, metrics, samples/s, ETA); verbose=2: one line per epoch."""

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
        metrics = logs if final else {k: v / max(self.seen, 1) for k, v in self.sums.items()}
        parts += [f"{k}: {v:.4f}" for k, v in metrics.items() if isinstance(v, float)]
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
        for k in ("loss",):
            if k in logs:
                self.sums[k] = self.sums.get(k, 0.0) + float(logs[k]) * n
        now = time.perf_counter()
        if self.verbose == 1 and (self._tty or _in_notebook()) and now - self.last >= self.interval:
            self.last = now
            self._show(self._line({}, False), False)

    def on_epoch_end(self, epoch, logs=None):
        self._show(self._line(dict(logs or {}), True), True)
