"""Validation methods: streaming metrics over batches of predictions.

Each has `reset()`, `update(y_pred, y_true, sample_weight=None)` and `result() -> float`;
`name` is the key in logs, `summary_tag` the TensorBoard tag Analytics Zoo used for it
(Top1Accuracy, Top5Accuracy, AucScore, MAE, ...), and `higher_is_better` tells
MaxScore-style triggers and checkpointing which way is good. Results are exact over
everything seen since the last `reset()` (AUC keeps the scores it has seen).

    >>> import numpy as np
    >>> m = get("accuracy")
    >>> m.update(np.array([[0.1, 0.9], [0.8, 0.2]], np.float32), np.array([1, 1]))
    >>> m.result()
    0.5
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "AUC",
    "METRICS",
    "Accuracy",
    "BinaryAccuracy",
    "Loss",
    "MeanAbsoluteError",
    "MeanMetric",
    "MeanSquaredError",
    "Metric",
    "Precision",
    "Recall",
    "SparseAccuracy",
    "TopKAccuracy",
    "get",
    "serialize",
]


class Metric:
    """Base of the streaming metrics: a weighted mean of per-sample values by default."""

    name = "metric"
    summary_tag = ""
    higher_is_better = True

    def __init__(self, name: str | None = None):
        if name is not None:
            if not isinstance(name, str) or not name:
                raise TypeError(f"{type(self).__name__}: name must be a non-empty string, got {name!r}")
            self.name = name
        self.reset()

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        raise NotImplementedError

    def result(self) -> float:
        return float(self.total / self.count) if self.count else float("nan")

    @property
    def tag(self) -> str:
        """The TensorBoard tag: Analytics Zoo's name where it had one, else `name`."""
        return self.summary_tag or self.name

    def _add(self, values: np.ndarray, sample_weight) -> None:
        values = values.reshape(values.shape[0], -1).mean(axis=1) if values.ndim > 1 else values
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += values.shape[0]
        else:
            w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            if w.shape[0] != values.shape[0]:
                raise ValueError(f"{type(self).__name__} '{self.name}': expected {values.shape[0]} sample weights, "
                                 f"got {w.shape[0]}")
            self.total += float((values * w).sum())
            self.count += float(w.sum())

    def get_config(self) -> dict:
        return {"name": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def _labels(owner: Metric, y_true, y_pred: np.ndarray, offset: int = 0) -> np.ndarray:
    """0-based integer labels of shape y_pred.shape[:-1] from sparse labels (optionally (..., 1))."""
    y = np.asarray(y_true)
    want = y_pred.shape[:-1]
    if y.shape != want:
        if y.shape == want + (1,):
            y = y.reshape(want)
        else:
            raise ValueError(f"{type(owner).__name__} '{owner.name}': expected labels of shape {want} for "
                             f"predictions of shape {y_pred.shape}, got {y.shape}")
    y = y.astype(np.int64)
    return y - offset if offset else y


def _same_shape(owner: Metric, y_true, y_pred: np.ndarray) -> np.ndarray:
    y = np.asarray(y_true)
    if y.shape != y_pred.shape:
        if y.size != y_pred.size:
            raise ValueError(f"{type(owner).__name__} '{owner.name}': expected targets of shape {y_pred.shape}, "
                             f"got {y.shape}")
        y = y.reshape(y_pred.shape)
    return y


def _binary(owner: Metric, y_true, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores, 0/1-able targets) of one shape for the binary metrics (AUC, precision, recall).

    Targets of y_pred's shape (or size) are used as they are. Sparse labels (N, ...) for scores
    (N, ..., C): with C == 2 the scores of class 1 against the labels; with C > 2 every class
    against the one-hot labels.
    """
    y = np.asarray(y_true)
    if y.size != y_pred.size and y_pred.ndim >= 2 and y_pred.shape[-1] > 1 and \
            y.shape in (y_pred.shape[:-1], y_pred.shape[:-1] + (1,)):
        labels = _labels(owner, y, y_pred)
        C = y_pred.shape[-1]
        if C == 2:
            return y_pred[..., 1], labels.astype(np.float64)
        if labels.size and (labels.min() < 0 or labels.max() >= C):
            raise ValueError(f"{type(owner).__name__} '{owner.name}': labels must be in [0, {C}), got values "
                             f"from {labels.min()} to {labels.max()}")
        return y_pred, (labels[..., None] == np.arange(C)).astype(np.float64)
    return y_pred, _same_shape(owner, y, y_pred)


class SparseAccuracy(Metric):
    """Fraction of samples whose argmax prediction equals the integer label.

    Args:
        zero_based_label: labels are 0-based (default); False takes 1-based labels
            (Analytics Zoo / BigDL code) and subtracts 1.
    """

    name = "accuracy"
    summary_tag = "Top1Accuracy"

    def __init__(self, name: str | None = None, zero_based_label: bool = True):
        self.zero_based_label = bool(zero_based_label)
        super().__init__(name)

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        y_pred = np.asarray(y_pred)
        pred = np.argmax(y_pred, axis=-1)
        labels = _labels(self, y_true, y_pred, 0 if self.zero_based_label else 1)
        self._add((pred == labels).astype(np.float64), sample_weight)

    def get_config(self) -> dict:
        return {**super().get_config(), "zero_based_label": self.zero_based_label}


class Accuracy(Metric):
    """Categorical accuracy: argmax of prediction equals argmax of the one-hot target."""

    name = "accuracy"
    summary_tag = "Top1Accuracy"

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        y_pred = np.asarray(y_pred)
        y_true = _same_shape(self, y_true, y_pred)
        self._add((np.argmax(y_pred, -1) == np.argmax(y_true, -1)).astype(np.float64), sample_weight)


class BinaryAccuracy(Metric):
    """Fraction of elements where (y_pred > threshold) equals the 0/1 target (> 0.5)."""

    name = "accuracy"
    summary_tag = "Top1Accuracy"

    def __init__(self, threshold: float = 0.5, name: str | None = None):
        self.threshold = float(threshold)
        super().__init__(name)

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        y_pred = np.asarray(y_pred)
        y_true = _same_shape(self, y_true, y_pred)
        self._add(((y_pred > self.threshold) == (y_true > 0.5)).astype(np.float64), sample_weight)

    def get_config(self) -> dict:
        return {**super().get_config(), "threshold": self.threshold}


class TopKAccuracy(Metric):
    """Fraction of samples whose label is among the k highest predictions.

    Labels are sparse integers (N, ...) or one-hot targets of y_pred's shape (their argmax
    is the label). A prediction tied with the label's counts in its favour only if fewer
    than k others are strictly higher.

    Args:
        k: how many top predictions count.
        zero_based_label: False takes 1-based sparse labels (Analytics Zoo).
    """

    def __init__(self, k: int = 5, name: str | None = None, zero_based_label: bool = True):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"TopKAccuracy: k must be a positive int, got {k!r}")
        self.k = int(k)
        self.zero_based_label = bool(zero_based_label)
        self.summary_tag = f"Top{self.k}Accuracy"
        super().__init__(name or f"top{self.k}_accuracy")

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        y_pred = np.asarray(y_pred)
        y = np.asarray(y_true)
        if y.shape == y_pred.shape and y_pred.shape[-1] > 1:
            labels = np.argmax(y, axis=-1).reshape(-1)
        else:
            labels = _labels(self, y, y_pred, 0 if self.zero_based_label else 1).reshape(-1)
        p = y_pred.reshape(-1, y_pred.shape[-1])
        target = p[np.arange(p.shape[0]), labels]
        better = (p > target[:, None]).sum(axis=1)
        hits = (better < self.k).astype(np.float64).reshape(y_pred.shape[:-1])
        self._add(hits, sample_weight)

    def get_config(self) -> dict:
        return {**super().get_config(), "k": self.k, "zero_based_label": self.zero_based_label}


class MeanAbsoluteError(Metric):
    """mean |y_pred - y_true| (per sample over the non-batch axes, then weighted over samples)."""

    name = "mae"
    summary_tag = "MAE"
    higher_is_better = False

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        y_pred = np.asarray(y_pred, dtype=np.float64)
        y_true = _same_shape(self, y_true, y_pred)
        self._add(np.abs(y_pred - y_true), sample_weight)


class MeanSquaredError(Metric):
    """mean (y_pred - y_true)^2 (per sample over the non-batch axes, then weighted over samples)."""

    name = "mse"
    summary_tag = "MSE"
    higher_is_better = False

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        y_pred = np.asarray(y_pred, dtype=np.float64)
        y_true = _same_shape(self, y_true, y_pred)
        d = y_pred - y_true
        self._add(d * d, sample_weight)


class AUC(Metric):
    """Exact area under the ROC curve of scores y_pred against 0/1 targets (> 0.5 is positive).

    Sparse labels for (N, 2) class scores use the scores of class 1 (a two-class softmax);
    for (N, C > 2) scores they are one-hot encoded. Every element counts as one binary decision (Keras's default `multi_label=False`), with
    its sample's weight. Tied scores count half (trapezoid over distinct thresholds), which
    equals the Mann-Whitney statistic. The scores seen since `reset()` are kept; `result()` is
    nan until both classes have been seen. `threshold_num` is accepted for Analytics Zoo code
    (whose AUC approximated the curve with that many thresholds) and ignored.
    """

    name = "auc"
    summary_tag = "AucScore"

    def __init__(self, threshold_num: int = 200, name: str | None = None):
        self.threshold_num = int(threshold_num)
        super().__init__(name)

    def reset(self) -> None:
        self._scores: list[np.ndarray] = []
        self._labels: list[np.ndarray] = []
        self._weights: list[np.ndarray] = []

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        y_pred, y_true = _binary(self, y_true, np.asarray(y_pred))
        n = y_pred.shape[0] if y_pred.ndim else 1
        per = y_pred.size // max(n, 1)
        if sample_weight is None:
            w = np.ones(y_pred.size)
        else:
            w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            if w.shape[0] != n:
                raise ValueError(f"AUC '{self.name}': expected {n} sample weights, got {w.shape[0]}")
            w = np.repeat(w, per)
        self._scores.append(y_pred.astype(np.float64).reshape(-1))
        self._labels.append(y_true.reshape(-1) > 0.5)
        self._weights.append(w)

    def result(self) -> float:
        if not self._scores:
            return float("nan")
        s = np.concatenate(self._scores)
        y = np.concatenate(self._labels)
        w = np.concatenate(self._weights)
        order = np.argsort(-s, kind="mergesort")
        s, y, w = s[order], y[order], w[order]
        tp = np.cumsum(w * y)
        fp = np.cumsum(w * ~y)
        last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # end of each group of tied scores
        tp, fp = np.r_[0.0, tp[last]], np.r_[0.0, fp[last]]
        if tp[-1] <= 0 or fp[-1] <= 0:
            return float("nan")
        tpr, fpr = tp / tp[-1], fp / fp[-1]
        return float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) * 0.5))

    def get_config(self) -> dict:
        return {**super().get_config(), "threshold_num": self.threshold_num}


class _Confusion(Metric):
    """tp / fp / fn counts of thresholded predictions (optionally one class column)."""

    def __init__(self, thresholds: float = 0.5, class_id: int | None = None, name: str | None = None):
        self.thresholds = float(thresholds)
        self.class_id = None if class_id is None else int(class_id)
        super().__init__(name)

    def reset(self) -> None:
        self.tp = self.fp = self.fn = 0.0

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        y_pred = np.asarray(y_pred)
        if self.class_id is None:
            y_pred, y_true = _binary(self, y_true, y_pred)
        else:
            y_true = _same_shape(self, y_true, y_pred)
        n = y_pred.shape[0] if y_pred.ndim else 1
        pred = (y_pred > self.thresholds).reshape(n, -1)
        true = (y_true > 0.5).reshape(n, -1)
        if self.class_id is not None:
            if not 0 <= self.class_id < y_pred.shape[-1]:
                raise ValueError(f"{type(self).__name__} '{self.name}': class_id {self.class_id} is out of range "
                                 f"for predictions of shape {y_pred.shape}")
            pred = pred.reshape(y_pred.shape)[..., self.class_id].reshape(n, -1)
            true = true.reshape(y_pred.shape)[..., self.class_id].reshape(n, -1)
        w = np.ones((n, 1)) if sample_weight is None else np.asarray(sample_weight, np.float64).reshape(n, 1)
        self.tp += float((w * (pred & true)).sum())
        self.fp += float((w * (pred & ~true)).sum())
        self.fn += float((w * (~pred & true)).sum())

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.thresholds, "class_id": self.class_id}


class Precision(_Confusion):
    """tp / (tp + fp) of (y_pred > thresholds) against 0/1 targets (0 when nothing is predicted positive)."""

    name = "precision"
    summary_tag = "Precision"

    def result(self) -> float:
        d = self.tp + self.fp
        return float(self.tp / d) if d else 0.0


class Recall(_Confusion):
    """tp / (tp + fn) of (y_pred > thresholds) against 0/1 targets (0 when there are no positives)."""

    name = "recall"
    summary_tag = "Recall"

    def result(self) -> float:
        d = self.tp + self.fn
        return float(self.tp / d) if d else 0.0


class Loss(Metric):
    """A loss as a validation method (BigDL's `Loss(criterion)`): its batch values averaged over samples.

    Args:
        criterion: a loss name or `zoo.engine.losses.Loss` (default: class NLL of log-probabilities
            in BigDL; here categorical cross-entropy of probabilities, 'sparse_categorical_crossentropy').
    """

    name = "Loss"
    summary_tag = "Loss"
    higher_is_better = False

    def __init__(self, criterion="sparse_categorical_crossentropy", name: str | None = None):
        from zoo.engine import losses

        self.criterion = losses.get(criterion)
        super().__init__(name)

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        y_pred = np.asarray(y_pred)
        n = y_pred.shape[0] if y_pred.ndim else 1
        value = self.criterion(y_pred, y_true, sample_weight)
        w = float(n) if sample_weight is None else float(np.sum(sample_weight))
        self.total += value * w
        self.count += w

    def get_config(self) -> dict:
        from zoo.engine import losses

        return {**super().get_config(), "criterion": losses.serialize(self.criterion)}


class MeanMetric(Metric):
    """Mean of per-batch values (e.g. the loss), weighted by batch size."""

    higher_is_better = False

    def update_value(self, value: float, n: int) -> None:
        self.total += float(value) * n
        self.count += n


def _top5():
    return TopKAccuracy(5)


#: metric names (lower case; Keras 2/3 and Analytics Zoo spellings) -> factory
_BY_NAME = {"accuracy": SparseAccuracy, "acc": SparseAccuracy, "sparse_categorical_accuracy": SparseAccuracy,
            "top1accuracy": SparseAccuracy, "categorical_accuracy": Accuracy, "binary_accuracy": BinaryAccuracy,
            "top5acc": _top5, "top5_accuracy": _top5, "top5accuracy": _top5, "top_k_categorical_accuracy": _top5,
            "sparse_top_k_categorical_accuracy": _top5, "mae": MeanAbsoluteError,
            "mean_absolute_error": MeanAbsoluteError, "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
            "auc": AUC, "aucscore": AUC, "precision": Precision, "recall": Recall}

#: metric classes by class name (for configs)
METRICS: dict[str, type[Metric]] = {c.__name__: c for c in (
    Accuracy, SparseAccuracy, BinaryAccuracy, TopKAccuracy, MeanAbsoluteError, MeanSquaredError, AUC, Precision,
    Recall, Loss, MeanMetric)}


def get(identifier) -> Metric:
    """A metric from an instance (returned as is), a name (case-insensitive; the metric is keyed
    in logs by the name as given) or a config `{"class_name": ..., "config": {...}}`."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        factory = _BY_NAME.get(identifier.lower())
        if factory is None:
            raise ValueError(f"unknown metric {identifier!r}; known: {sorted(_BY_NAME)}")
        m = factory()
        m.name = identifier
        return m
    if isinstance(identifier, dict):
        cls = METRICS.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"unknown metric class {identifier.get('class_name')!r}; known: {sorted(METRICS)}")
        config = dict(identifier.get("config") or {})
        if cls is Loss and isinstance(config.get("criterion"), dict):
            from zoo.engine import losses

            config["criterion"] = losses.get(config["criterion"])
        return cls(**config)
    raise TypeError(f"expected a Metric, a metric name or a config dict, got {type(identifier).__name__}")


def serialize(metric: Metric) -> dict:
    """{"class_name", "config"} that `get` turns back into an equal metric."""
    if not isinstance(metric, Metric):
        raise TypeError(f"metrics.serialize: expected a Metric, got {type(metric).__name__}")
    return {"class_name": type(metric).__name__, "config": metric.get_config()}
