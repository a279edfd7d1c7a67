"""Analytics Zoo objectives that the engine's Keras losses do not cover as parameterised.

- `ZooSparseCategoricalCrossEntropy`: class NLL of probabilities or log-probabilities with
  class weights, a padding label and 1-based labels (`zero_based_label=False`).
- `WeightedBinaryCrossEntropy`: BigDL's BCECriterion with per-element rescaling weights and
  `size_average`.
- `RankHinge`: pairwise ranking hinge over (positive, negative) score pairs.

Each is a `zoo.engine.losses.Loss` (an op with a scalar output) registered under its own
op type name, with the shared reduction and sample-weight rules of that module.
"""

from __future__ import annotations

import numpy as np

from zoo.engine import losses as L
from zoo.engine.ops.base import register

__all__ = ["RankHinge", "WeightedBinaryCrossEntropy", "ZooSparseCategoricalCrossEntropy"]


@register
class ZooSparseCategoricalCrossEntropy(L._LabelLoss):
    """Analytics Zoo's SparseCategoricalCrossEntropy: l_i = -weights[y_i] * log q_i[y_i].

    y_pred (N, ..., C): probabilities (q = clip(y_pred, 1e-7, 1 - 1e-7), normalised by its row
    sum as Keras does) or, with `log_prob_as_input=True`, log-probabilities. Labels (N, ...) are
    0-based, or 1-based with `zero_based_label=False` (1 is subtracted: the Analytics Zoo /
    BigDL compatibility path; zoo itself is 0-based). Labels equal to `padding_value` (as
    given, before any shift) count neither in the sum nor in the divisor. Reduction as
    `ClassNLL`: sum_i s_i l_i / sum_i weights[y_i] when size_average, else the sum.

    Args:
        log_prob_as_input: y_pred holds log-probabilities.
        zero_based_label: labels start at 0 (True) or 1 (False).
        weights: optional 1-D class weights (C,).
        size_average: average (True) or sum (False).
        padding_value: label value to ignore (default -1).
    """

    name = "sparse_categorical_crossentropy"
    type_name = "loss_zoo_sparse_categorical_crossentropy"

    def __init__(self, log_prob_as_input: bool = False, zero_based_label: bool = True, weights=None,
                 size_average: bool = True, padding_value: int | None = -1):
        self.offset = 0 if zero_based_label else 1
        super().__init__(weights, size_average, None if padding_value is None else int(padding_value) - self.offset)
        self.log_prob_as_input = bool(log_prob_as_input)
        self.zero_based_label = bool(zero_based_label)
        self.padding_value = None if padding_value is None else int(padding_value)
        self._mode = "logprob" if self.log_prob_as_input else "probs"

    def get_config(self) -> dict:
        return {"log_prob_as_input": self.log_prob_as_input, "zero_based_label": self.zero_based_label,
                "weights": None if self.weights is None else self.weights.tolist(),
                "size_average": self.size_average, "padding_value": self.padding_value}

    def _target(self, ctx, p, t):
        if self.offset:
            t = np.asarray(t)
            if t.dtype.kind not in "fiub":
                raise TypeError(f"{type(self).__name__}: labels must be integers (1-based class ids), got dtype "
                                f"{t.dtype}")
            t = t - self.offset
        return super()._target(ctx, p, t)


@register
class WeightedBinaryCrossEntropy(L.BinaryCrossentropy):
    """BigDL's BCECriterion: l = -w (t log q + (1 - t) log(1 - q)), q = clip(y_pred, 1e-7, 1 - 1e-7).

    `weights` (broadcast against y_pred's trailing axes, e.g. (d,) for (N, d)) rescale each
    element. size_average=True averages over all elements (as Keras's binary_crossentropy);
    False sums them.

    Args:
        weights: optional array of element weights, broadcastable to y_pred's shape without the batch axis.
        size_average: average (True) or sum (False) over all elements.
    """

    type_name = "loss_zoo_weighted_binary_crossentropy"

    def __init__(self, weights=None, size_average: bool = True):
        super().__init__(from_logits=False, label_smoothing=0.0,
                         reduction="sum_over_batch_size" if size_average else "sum")
        if weights is not None:
            w = np.asarray(weights, dtype=np.float64)
            if w.size == 0 or not np.isfinite(w).all() or (w < 0).any():
                raise ValueError(f"{type(self).__name__}: weights must be a non-empty array of finite non-negative "
                                 f"values, got shape {w.shape}")
            self.weights: np.ndarray | None = w
        else:
            self.weights = None
        self.size_average = bool(size_average)
        self._sum_last = not self.size_average

    def get_config(self) -> dict:
        return {"weights": None if self.weights is None else self.weights.tolist(), "size_average": self.size_average}

    def _w(self, p):
        w = self.weights.astype(p.dtype)
        try:
            return np.broadcast_to(w, p.shape)
        except ValueError:
            raise ValueError(f"{type(self).__name__}: weights of shape {w.shape} do not broadcast to y_pred of "
                             f"shape {p.shape}") from None

    def _f(self, ctx, p, t):
        f = super()._f(ctx, p, t)
        if self.weights is not None:
            f *= self._w(p)
        return f

    def _df(self, ctx, p, t, out):
        super()._df(ctx, p, t, out)
        if self.weights is not None:
            out *= self._w(p)


@register
class RankHinge(L.Loss):
    """Pairwise ranking hinge: l_i = max(margin - y_pred[i, 0] + y_pred[i, 1], 0).

    y_pred (N, 2) or (N, 2, 1) holds each pair's (positive score, negative score); y_true
    (any values, y_pred's shape) is ignored. The loss averages l over the N pairs.

    Args:
        margin: the margin (default 1).
    """

    name = "rank_hinge"
    type_name = "loss_rank_hinge"

    def __init__(self, margin: float = 1.0, reduction: str = "sum_over_batch_size"):
        super().__init__(reduction)
        self.margin = L._as_float("RankHinge", "margin", margin)

    def get_config(self) -> dict:
        return {"margin": self.margin, **super().get_config()}

    def _check_pred_shape(self, pred):
        pred = tuple(pred)
        if len(pred) not in (2, 3) or pred[1] not in (2, None) or (len(pred) == 3 and pred[2] not in (1, None)):
            raise ValueError(f"expected y_pred of shape (batch, 2) or (batch, 2, 1) holding (positive, negative) "
                             f"scores, got {pred}")

    def _loss_shape(self, pred):
        return tuple(pred[:1])

    def _target(self, ctx, p, t):
        self._check_pred_shape(p.shape)
        t = np.asarray(t)
        if t.shape[:1] != p.shape[:1]:
            raise ValueError(f"RankHinge: expected y_true with {p.shape[0]} rows for y_pred of shape {p.shape}, "
                             f"got {t.shape}")
        ctx.lshape_ndim = 1
        return t

    def _forward(self, ctx, p, t):
        p2 = p.reshape(p.shape[0], 2)
        m = self.margin - p2[:, 0] + p2[:, 1]
        ctx.active = m > 0
        ctx.pshape, ctx.dtype = p.shape, p.dtype
        return np.maximum(m, 0.0)

    def _backward(self, ctx, c):
        g = np.empty((ctx.active.shape[0], 2), dtype=ctx.dtype)
        a = ctx.active * (c.reshape(-1) if isinstance(c, np.ndarray) else float(c))
        np.negative(a, out=g[:, 0])
        g[:, 1] = a
        return g.reshape(ctx.pshape)
