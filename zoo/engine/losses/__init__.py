"""Losses: one op per loss, from predictions and targets to a scalar, with Keras's reduction.

A loss is an engine op with inputs `(y_pred, y_true)` or `(y_pred, y_true, sample_weight)`
and a scalar output. `y_true` and `sample_weight` never get gradients (`nondiff_inputs =
(1, 2)`); backward returns the gradient w.r.t. `y_pred` in its dtype (float32 or float64).

Every loss first computes a per-sample loss `l` (shape `y_pred.shape[:-1]`: the last axis is
reduced the way tf.keras reduces it, a mean for elementwise losses, a sum for
cross-entropies), then reduces like Keras's default `"sum_over_batch_size"`:

    loss = sum_i w_i * l_i / l.size,    w_i = sample_weight (shape (N,) or l.shape), else 1

`reduction="sum"` drops the division. A 1-D `y_pred` (N,) counts each element as a sample.
The class-label losses (`ClassNLL`, `CrossEntropy`, `SparseCategoricalCrossentropy`) take
0-based integer labels (integral floats are accepted) of shape `y_pred.shape[:-1]` (or
with a trailing axis of 1), check them before any arithmetic, and divide by the summed
class weights of the labels they count (see `ClassNLL`).

    >>> import numpy as np
    >>> from zoo.engine import losses
    >>> mse = losses.get("mse")
    >>> round(mse(np.array([[1.0, 2.0]], np.float32), np.array([[1.0, 0.0]], np.float32)), 4)
    2.0
    >>> losses.get("sparse_categorical_crossentropy").target_shape((None, 7, 10))
    (None, 7)

Forward keeps what backward needs in the node's `Ctx` and reuses its buffers, so a
training step allocates little beyond per-sample vectors; row sums go to BLAS (`_rowsum`).
A non-finite loss triggers a scan of the inputs, and NaN or inf in them raises ValueError
naming the loss, the input and its shape.

The losses live in families: `base` (the protocol and the registry), `regression`,
`classification`, `similarity` and `labels` (class-label losses).
"""

from __future__ import annotations

from typing import Any

from zoo.engine.losses.base import EPSILON, LOSSES, Loss, _as_float  # noqa: F401  (_as_float: ops.az_losses)
from zoo.engine.losses.classification import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    Hinge,
    KLDivergence,
    SquaredHinge,
)
from zoo.engine.losses.labels import ClassNLL, CrossEntropy, SparseCategoricalCrossentropy, _LabelLoss  # noqa: F401
from zoo.engine.losses.regression import (
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    SmoothL1,
)
from zoo.engine.losses.similarity import CosineSimilarity

__all__ = ["EPSILON", "KLD", "LOSSES", "MAE", "MAPE", "MSE", "MSLE", "AbsCriterion", "BCECriterion",
           "BinaryCrossEntropy", "BinaryCrossentropy", "CategoricalCrossEntropy",
           "CategoricalCrossentropy", "CategoricalHinge", "ClassNLL", "ClassNLLCriterion",
           "CosineProximity", "CosineProximityCriterion", "CosineSimilarity", "CrossEntropy",
           "CrossEntropyCriterion", "Hinge", "Huber", "KLDivergence", "KullbackLeiblerDivergence",
           "KullbackLeiblerDivergenceCriterion", "LogCosh", "Loss", "MSECriterion", "MeanAbsoluteError",
           "MeanAbsolutePercentageCriterion", "MeanAbsolutePercentageError", "MeanSquaredError",
           "MeanSquaredLogarithmicCriterion", "MeanSquaredLogarithmicError", "Poisson", "PoissonCriterion",
           "SmoothL1", "SmoothL1Criterion", "SparseCategoricalCrossEntropy",
           "SparseCategoricalCrossentropy", "SquaredHinge", "get", "serialize"]


# ---- Keras short names and Analytics Zoo / BigDL class names --------------------------------

MSE = MSECriterion = MeanSquaredError
MAE = AbsCriterion = MeanAbsoluteError
MAPE = MeanAbsolutePercentageCriterion = MeanAbsolutePercentageError
MSLE = MeanSquaredLogarithmicCriterion = MeanSquaredLogarithmicError
KLD = KullbackLeiblerDivergence = KullbackLeiblerDivergenceCriterion = KLDivergence
BCECriterion = BinaryCrossEntropy = BinaryCrossentropy
CategoricalCrossEntropy = CategoricalCrossentropy
SparseCategoricalCrossEntropy = SparseCategoricalCrossentropy
ClassNLLCriterion = ClassNLL
CrossEntropyCriterion = CrossEntropy
SmoothL1Criterion = SmoothL1
CosineProximity = CosineProximityCriterion = CosineSimilarity
PoissonCriterion = Poisson


def _known() -> str:
    return ", ".join(sorted(k for k in LOSSES if k == k.lower()))


def get(identifier: Any) -> Loss:
    """A Loss from a Loss (returned as is; so is any object with build/target_shape/target_dtype,
    such as autograd's CustomLoss), a Loss class, a name or alias ('mse',
    'sparse_categorical_crossentropy', 'CrossEntropyCriterion', ...; case-insensitive when
    unambiguous) or a dict {"class_name": name, "config": {...}} as made by `serialize`.
    """
    if isinstance(identifier, Loss):
        return identifier
    if not isinstance(identifier, type) and all(hasattr(identifier, a) for a in ("build", "target_shape",
                                                                                  "target_dtype")):
        return identifier  # a loss that builds its own subgraph (autograd's CustomLoss)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, dict):
        name = identifier.get("class_name", identifier.get("name"))
        if name is None:
            raise ValueError(f"losses.get: a loss config dict needs a 'class_name', got {identifier!r}")
        if not isinstance(name, str):
            raise TypeError(f"losses.get: 'class_name' must be a string, got {name!r}")
        cls = _lookup(name)
        config = identifier.get("config") or {}
        try:
            return cls(**config)
        except TypeError as e:
            raise ValueError(f"losses.get: bad config {config!r} for {cls.__name__}: {e}") from None
    if isinstance(identifier, str):
        return _lookup(identifier)()
    raise TypeError(f"losses.get: expected a Loss, a loss name or a config dict, got "
                    f"{type(identifier).__name__} {identifier!r}; known names: {_known()}")


def _lookup(name: str) -> type[Loss]:
    cls = LOSSES.get(name)
    if cls is None:
        low = {k.lower(): v for k, v in LOSSES.items()}
        cls = low.get(name.lower())
    if cls is None:
        raise ValueError(f"unknown loss {name!r}; known names: {_known()} (or their class names, e.g. "
                         f"'MeanSquaredError')")
    return cls


def serialize(loss: Loss) -> dict:
    """{"class_name": loss.name, "config": loss.get_config()}, which `get` turns back into the loss."""
    if not isinstance(loss, Loss):
        raise TypeError(f"losses.serialize: expected a Loss, got {type(loss).__name__}")
    return {"class_name": loss.name, "config": loss.get_config()}


# Saved configs and the Keras serializer name a loss's module: the classes keep this package's name.
for _cls in set(LOSSES.values()):
    if _cls.__module__.startswith(__name__ + "."):
        _cls.__module__ = __name__
del _cls
