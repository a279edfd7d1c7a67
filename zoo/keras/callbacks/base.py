"""The Callback base class, History, LambdaCallback, and what callbacks share: the running metrics
of the epoch and the monitoring of a log key (mode, improvement, missing keys)."""

from __future__ import annotations

import warnings

__all__ = ["Callback", "History", "LambdaCallback"]


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



def running_metrics(model) -> dict[str, float]:
    """The compiled metrics' values so far in this epoch, by log key."""
    trainer = getattr(model, "_trainer", None)
    out = {}
    if trainer is not None:
        for i, ms in enumerate(trainer.metrics):
            for m in ms:
                out[trainer._metric_key(m, i)] = m.result()
    return out


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
