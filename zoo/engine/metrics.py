"""Validation methods: streaming metrics over batches of predictions.

Each has `reset()`, `update(y_pred, y_true, sample_weight=None)` and `result() -> float`;
`name` is the key in logs and `higher_is_better` tells MaxScore-style triggers and
checkpointing which way is good.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Metric", "Accuracy", "SparseAccuracy", "BinaryAccuracy", "TopKAccuracy", "MeanMetric", "get"]


class Metric:
    name = "metric"
    higher_is_better = True

    def __init__(self, name: str | None = None):
        if name is not None:
            self.name = name
        self.reset()

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def result(self) -> float:
        return float(self.total / self.count) if self.count else float("nan")

    def _add(self, values: np.ndarray, sample_weight) -> None:
        values = values.reshape(values.shape[0], -1).mean(axis=1) if values.ndim > 1 else values
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += values.shape[0]
        else:
            w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            self.total += float((values * w).sum())
            self.count += float(w.sum())

    def get_config(self) -> dict:
        return {"name": self.name}


def _labels(y_true: np.ndarray, n_classes: int) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim >= 1 and y.shape[-1:] == (1,) and n_classes > 1:
        y = y[..., 0]
    return y.astype(np.int64)


class SparseAccuracy(Metric):
    """Fraction of samples whose argmax prediction equals the 0-based integer label."""

    name = "accuracy"

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        pred = np.argmax(y_pred, axis=-1)
        self._add((pred == _labels(y_true, y_pred.shape[-1]).reshape(pred.shape)).astype(np.float64), sample_weight)


class Accuracy(Metric):
    """Categorical accuracy: argmax of prediction equals argmax of the one-hot target."""

    name = "accuracy"

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        self._add((np.argmax(y_pred, -1) == np.argmax(y_true, -1)).astype(np.float64), sample_weight)


class BinaryAccuracy(Metric):
    """Fraction of elements where (y_pred > threshold) equals the 0/1 target."""

    name = "accuracy"

    def __init__(self, threshold: float = 0.5, name: str | None = None):
        self.threshold = threshold
        super().__init__(name)

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        y_true = np.asarray(y_true).reshape(y_pred.shape)
        self._add(((y_pred > self.threshold) == (y_true > 0.5)).astype(np.float64), sample_weight)


class TopKAccuracy(Metric):
    """Fraction of samples whose 0-based label is among the k highest predictions."""

    def __init__(self, k: int = 5, name: str | None = None):
        self.k = int(k)
        self.name = name or f"top{self.k}_accuracy"
        super().__init__(self.name)

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        labels = _labels(y_true, y_pred.shape[-1]).reshape(-1)
        p = y_pred.reshape(-1, y_pred.shape[-1])
        target = p[np.arange(p.shape[0]), labels]
        better = (p > target[:, None]).sum(axis=1)
        self._add((better < self.k).astype(np.float64), sample_weight)


class MeanMetric(Metric):
    """Mean of per-batch values (e.g. the loss), weighted by batch size."""

    higher_is_better = False

    def update_value(self, value: float, n: int) -> None:
        self.total += float(value) * n
        self.count += n


_BY_NAME = {"accuracy": SparseAccuracy, "acc": SparseAccuracy, "sparse_categorical_accuracy": SparseAccuracy,
            "categorical_accuracy": Accuracy, "binary_accuracy": BinaryAccuracy,
            "top5acc": lambda: TopKAccuracy(5), "top5_accuracy": lambda: TopKAccuracy(5)}


def get(identifier) -> Metric:
    """A metric instance from a name or an instance."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"unknown metric {identifier!r}; known: {sorted(_BY_NAME)}")
