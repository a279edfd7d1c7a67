"""Losses under Analytics Zoo's names and constructor signatures (`zoo.pipeline.api.keras.objectives`).

Backed by the engine's losses; the class-label losses take 0-based labels by default.
`SparseCategoricalCrossEntropy(zero_based_label=False)` is the compatibility path for
Analytics Zoo / BigDL code with 1-based labels: 1 is subtracted from every label.

| Analytics Zoo name | string alias | engine loss |
|---|---|---|
| SparseCategoricalCrossEntropy(log_prob_as_input, zero_based_label, weights, size_average, padding_value) | sparse_categorical_crossentropy | class NLL |
| CategoricalCrossEntropy() | categorical_crossentropy | categorical cross-entropy |
| BinaryCrossEntropy(weights, size_average) | binary_crossentropy | BCE |
| MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError | mse, mae, mape, msle | |
| Hinge(margin), SquaredHinge(margin), RankHinge(margin) | hinge, squared_hinge, rank_hinge | |
| KullbackLeiblerDivergence, Poisson, CosineProximity | kld, poisson, cosine_proximity | |

    >>> import numpy as np
    >>> loss = SparseCategoricalCrossEntropy(zero_based_label=False)
    >>> round(loss(np.array([[0.25, 0.75]], np.float32), np.array([2])), 4)  # label 2 is class index 1
    0.2877
"""

from __future__ import annotations

from zoo.engine import losses as _L
from zoo.engine.ops import az_losses as _Z
from zoo.keras.losses import (
    binary_crossentropy,
    categorical_crossentropy,
    cosine_similarity,
    hinge,
    kl_divergence,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)

__all__ = [
    "OBJECTIVES",
    "BinaryCrossEntropy",
    "CategoricalCrossEntropy",
    "CosineProximity",
    "Hinge",
    "KullbackLeiblerDivergence",
    "LossFunction",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "RankHinge",
    "SparseCategoricalCrossEntropy",
    "SquaredHinge",
    "binary_crossentropy",
    "categorical_crossentropy",
    "cosine_proximity",
    "get",
    "hinge",
    "kld",
    "kullback_leibler_divergence",
    "mae",
    "mape",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "mse",
    "msle",
    "poisson",
    "sparse_categorical_crossentropy",
    "squared_hinge",
]

LossFunction = _L.Loss
SparseCategoricalCrossEntropy = _Z.ZooSparseCategoricalCrossEntropy
BinaryCrossEntropy = _Z.WeightedBinaryCrossEntropy
RankHinge = _Z.RankHinge
CategoricalCrossEntropy = _L.CategoricalCrossentropy
MeanSquaredError = _L.MeanSquaredError
MeanAbsoluteError = _L.MeanAbsoluteError
MeanAbsolutePercentageError = _L.MeanAbsolutePercentageError
MeanSquaredLogarithmicError = _L.MeanSquaredLogarithmicError
Hinge = _L.Hinge
SquaredHinge = _L.SquaredHinge
KullbackLeiblerDivergence = _L.KLDivergence
Poisson = _L.Poisson
CosineProximity = _L.CosineSimilarity

mse = mean_squared_error
mae = mean_absolute_error
mape = mean_absolute_percentage_error
msle = mean_squared_logarithmic_error
kullback_leibler_divergence = kld = kl_divergence
cosine_proximity = cosine_similarity

#: Analytics Zoo class names -> classes
OBJECTIVES = {"SparseCategoricalCrossEntropy": SparseCategoricalCrossEntropy,
              "CategoricalCrossEntropy": CategoricalCrossEntropy, "BinaryCrossEntropy": BinaryCrossEntropy,
              "MeanSquaredError": MeanSquaredError, "MeanAbsoluteError": MeanAbsoluteError,
              "MeanAbsolutePercentageError": MeanAbsolutePercentageError,
              "MeanSquaredLogarithmicError": MeanSquaredLogarithmicError, "Hinge": Hinge, "SquaredHinge": SquaredHinge,
              "RankHinge": RankHinge, "KullbackLeiblerDivergence": KullbackLeiblerDivergence, "Poisson": Poisson,
              "CosineProximity": CosineProximity}

#: Analytics Zoo string aliases -> classes
_ALIASES = {"sparse_categorical_crossentropy": SparseCategoricalCrossEntropy,
            "categorical_crossentropy": CategoricalCrossEntropy, "binary_crossentropy": BinaryCrossEntropy,
            "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError, "mae": MeanAbsoluteError,
            "mean_absolute_error": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
            "mean_absolute_percentage_error": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
            "mean_squared_logarithmic_error": MeanSquaredLogarithmicError, "hinge": Hinge,
            "squared_hinge": SquaredHinge, "rank_hinge": RankHinge, "kld": KullbackLeiblerDivergence,
            "kullback_leibler_divergence": KullbackLeiblerDivergence, "poisson": Poisson,
            "cosine_proximity": CosineProximity}


def get(identifier) -> _L.Loss:
    """A loss from an Analytics Zoo class name or string alias (else as `zoo.keras.losses.get`)."""
    if isinstance(identifier, str):
        cls = OBJECTIVES.get(identifier) or _ALIASES.get(identifier.lower())
        if cls is not None:
            return cls()
    from zoo.keras import losses

    return losses.get(identifier)
