"""Metrics under Keras's and Analytics Zoo's names, backed by the engine's streaming metrics.

Strings passed to `compile(metrics=[...])`: "accuracy"/"acc" (picked from the loss: sparse,
categorical or binary accuracy), "top5acc"/"top_k_categorical_accuracy", "mae", "mse",
"auc", "precision", "recall", and "loss" (the loss, always reported). Each metric is keyed
in logs by the string given, or by the instance's `name`.

Keras classes: SparseCategoricalAccuracy, CategoricalAccuracy, BinaryAccuracy,
TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanAbsoluteError,
MeanSquaredError, AUC, Precision, Recall. Analytics Zoo / BigDL classes: Accuracy
(zero_based_label), Top1Accuracy, Top5Accuracy, AUC(threshold_num), MAE, MSE, Loss.

    >>> import numpy as np
    >>> m = Top5Accuracy()
    >>> scores = np.array([[6, 5, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5, 6]], np.float32)
    >>> m.update(scores, np.array([6, 6]))  # class 6 is last in the first row, first in the second
    >>> m.result()
    0.5
"""

from __future__ import annotations

from zoo.engine import metrics as _M

__all__ = [
    "AUC",
    "MAE",
    "MSE",
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "Loss",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "Metric",
    "Precision",
    "Recall",
    "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "Top1Accuracy",
    "Top5Accuracy",
    "TopKCategoricalAccuracy",
    "get",
    "pick",
    "serialize",
]

Metric = _M.Metric
AUC = _M.AUC
Precision = _M.Precision
Recall = _M.Recall
MeanAbsoluteError = MAE = _M.MeanAbsoluteError
MeanSquaredError = MSE = _M.MeanSquaredError
BinaryAccuracy = _M.BinaryAccuracy
CategoricalAccuracy = _M.Accuracy
Loss = _M.Loss


class SparseCategoricalAccuracy(_M.SparseAccuracy):
    """Keras's SparseCategoricalAccuracy(name='sparse_categorical_accuracy'): argmax equals the 0-based label."""

    def __init__(self, name: str = "sparse_categorical_accuracy", zero_based_label: bool = True):
        super().__init__(name, zero_based_label)


class Accuracy(_M.SparseAccuracy):
    """Analytics Zoo's Accuracy(zero_based_label=True): top-1 accuracy of integer labels.

    `zero_based_label=False` takes 1-based labels (Analytics Zoo / BigDL code).
    """

    def __init__(self, zero_based_label: bool = True, name: str = "accuracy"):
        super().__init__(name, zero_based_label)


class Top1Accuracy(Accuracy):
    """BigDL's Top1Accuracy: argmax equals the 0-based label (summary tag Top1Accuracy)."""

    def __init__(self, zero_based_label: bool = True, name: str = "top1_accuracy"):
        super().__init__(zero_based_label, name)


class TopKCategoricalAccuracy(_M.TopKAccuracy):
    """Keras's TopKCategoricalAccuracy(k=5): the one-hot target's class is among the k highest scores."""

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", zero_based_label: bool = True):
        super().__init__(k, name, zero_based_label)


class SparseTopKCategoricalAccuracy(_M.TopKAccuracy):
    """Keras's SparseTopKCategoricalAccuracy(k=5): the 0-based label is among the k highest scores."""

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", zero_based_label: bool = True):
        super().__init__(k, name, zero_based_label)


class Top5Accuracy(_M.TopKAccuracy):
    """Analytics Zoo's Top5Accuracy(zero_based_label=True) (summary tag Top5Accuracy)."""

    def __init__(self, zero_based_label: bool = True, name: str = "top5_accuracy"):
        super().__init__(5, name, zero_based_label)

    def get_config(self) -> dict:
        return {"name": self.name, "zero_based_label": self.zero_based_label}


_CLASSES = {c.__name__: c for c in (SparseCategoricalAccuracy, Accuracy, Top1Accuracy, TopKCategoricalAccuracy,
                                    SparseTopKCategoricalAccuracy, Top5Accuracy)}


def get(identifier) -> _M.Metric:
    """A metric from an instance, a name, a class or a config dict (see the module docstring)."""
    if isinstance(identifier, type) and issubclass(identifier, _M.Metric):
        return identifier()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = _CLASSES.get(name)
        if cls is None:
            from zoo.keras import saving

            cls = saving.get_registered_object(name)
        if cls is not None:
            return cls(**(identifier.get("config") or {}))
    return _M.get(identifier)


def pick(identifier, loss) -> _M.Metric | None:
    """The metric for `identifier` given the compiled `loss` (accuracy follows the loss; "loss" gives None)."""
    if isinstance(identifier, str):
        key = identifier.lower()
        if key == "loss":
            return None
        if key in ("accuracy", "acc"):
            lname = getattr(loss, "name", "")
            if "binary" in lname:
                m = _M.BinaryAccuracy()
            elif lname.startswith("categorical") or lname in ("kl_divergence",):
                m = _M.Accuracy()
            else:
                m = _M.SparseAccuracy(zero_based_label=getattr(loss, "zero_based_label", True))
            m.name = identifier
            return m
        if key in ("top5acc", "top5_accuracy", "top5accuracy"):
            m = _M.TopKAccuracy(5, identifier, zero_based_label=getattr(loss, "zero_based_label", True))
            return m
    return get(identifier)


def serialize(metric) -> dict | str:
    """A string stays as it is; a metric becomes {"class_name", "config"}."""
    if isinstance(metric, str):
        return metric
    return {"class_name": type(metric).__name__, "config": metric.get_config()}
