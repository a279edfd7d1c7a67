"""Class-label losses: 0-based integer labels (N, ...) for y_pred (N, ..., C): ClassNLL,
CrossEntropy and SparseCategoricalCrossentropy.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from zoo.engine.losses.base import _REDUCTIONS, EPSILON, Loss, _register, _rowmax, _rowsum, _shape_eq

# ---- class-label losses: 0-based integer labels (N, ...) for y_pred (N, ..., C) -------------


def _out_of_range(y: np.ndarray, C: int) -> bool:
    """Any label outside [0, C)? One reduction: negatives wrap to huge unsigned values."""
    if y.dtype == np.int64:
        return int(y.view(np.uint64).max()) >= C
    if y.dtype == np.int32:
        return int(y.view(np.uint32).max()) >= C
    return int(y.min()) < 0 or int(y.max()) >= C


class _LabelLoss(Loss):
    """Shared label handling of ClassNLL, CrossEntropy and SparseCategoricalCrossentropy.

    Per element i with label y_i and class weight r_i = weights[y_i] (1 without weights;
    0 where y_i == ignore_index): l_i = r_i * nll_i; the divisor is sum_i r_i when averaging.
    `_mode` is "logprob" (y_pred holds log-probabilities), "logits" or "probs".
    """

    target_dtype = np.int64
    _class_axis = True
    _mode: ClassVar[str] = "logprob"

    def __init__(self, weights=None, size_average: bool = True, ignore_index: int | None = None):
        super().__init__("sum_over_batch_size" if size_average else "sum")
        owner = type(self).__name__
        if weights is not None:
            w = np.asarray(weights, dtype=np.float64)
            if w.ndim != 1 or w.size == 0 or not np.isfinite(w).all() or (w < 0).any():
                raise ValueError(f"{owner}: weights must be a non-empty 1-D array of finite non-negative "
                                 f"class weights, got shape {w.shape}")
            self.weights: np.ndarray | None = w
            self._w = {np.dtype(np.float32): w.astype(np.float32), np.dtype(np.float64): w}
        else:
            self.weights = None
        if ignore_index is not None and (isinstance(ignore_index, bool)
                                         or not isinstance(ignore_index, (int, np.integer))):
            raise TypeError(f"{owner}: ignore_index must be an int or None, got {ignore_index!r}")
        self.ignore_index = None if ignore_index is None else int(ignore_index)
        self.size_average = bool(size_average)

    def get_config(self) -> dict:
        return {"weights": None if self.weights is None else self.weights.tolist(),
                "size_average": self.size_average, "ignore_index": self.ignore_index}

    def target_shape(self, pred_shape: tuple) -> tuple:
        return tuple(pred_shape[:-1])

    def _target_ok(self, pred, true) -> bool:
        pred, true = tuple(pred), tuple(true)
        return _shape_eq(true, pred[:-1]) or (len(true) == len(pred) and true[-1] in (1, None)
                                              and _shape_eq(true[:-1], pred[:-1]))

    def infer_shape(self, pred, true, sample_weight=None):
        n = None if self.weights is None else len(self.weights)
        if n is not None and len(pred) >= 2 and pred[-1] is not None and pred[-1] != n:
            raise ValueError(f"expected {n} classes (the length of weights) on y_pred's last axis, "
                             f"got shape {tuple(pred)}")
        return super().infer_shape(pred, true, sample_weight)

    def _target(self, ctx, p, t):
        """Check the labels (shape, integrality, range) and prepare indices; returns the labels (M,)."""
        owner = type(self).__name__
        if not isinstance(t, np.ndarray):
            t = np.asarray(t)
        ls = p.shape[:-1]
        C = p.shape[-1]
        if t.shape != ls:
            if t.shape != ls + (1,):
                raise ValueError(f"{owner}: expected labels of shape {ls} (0-based class ids) for y_pred of "
                                 f"shape {p.shape}, got {t.shape}")
            t = t.reshape(ls)
        if self.weights is not None and len(self.weights) != C:
            raise ValueError(f"{owner}: expected {len(self.weights)} classes (the length of weights), "
                             f"got y_pred of shape {p.shape}")
        kind = t.dtype.kind
        if kind == "f":
            with np.errstate(invalid="ignore"):
                y = t.astype(np.int64)
            if not np.array_equal(y, t):
                bad = t.reshape(-1)[np.flatnonzero(y.reshape(-1) != t.reshape(-1))[0]]
                raise ValueError(f"{owner}: labels must be integral class ids (0-based), got {bad} "
                                 f"(labels of shape {t.shape}, dtype {t.dtype})")
        elif kind in "iu":
            y = t
        else:
            raise TypeError(f"{owner}: labels must be integers (0-based class ids), got dtype {t.dtype}")
        y = y.reshape(-1)
        valid = None
        if self.ignore_index is not None:
            mask = y == self.ignore_index
            if mask.any():
                valid = ~mask
                y = np.where(mask, 0, y)
        if y.size and _out_of_range(y, C):
            lo = int(y.min())
            bad = lo if lo < 0 else int(y.max())
            extra = "" if self.ignore_index is None else f" or ignore_index={self.ignore_index}"
            raise ValueError(f"{owner}: label {bad} is out of range for {C} classes (expected 0 <= label < "
                             f"{C}{extra}; labels are 0-based), labels of shape {t.shape}")
        M = y.size
        key = (M, C)
        if getattr(ctx, "_idx_key", None) != key:
            ctx._rowbase = np.arange(M, dtype=np.int64) * C
            ctx._idx_key = key
        ctx.idx = ctx._rowbase + y
        # per-element factor r: class weight of the label, 0 where ignored
        if self.weights is not None:
            r = self._w[p.dtype][y]
            if valid is not None:
                r *= valid
        elif valid is not None:
            r = valid.astype(p.dtype)
        else:
            r = None
        ctx.r = r
        ctx.lshape_ndim = len(ls)
        ctx.dtype = p.dtype
        return t

    def _divisor(self, ctx, l):
        return l.size if ctx.r is None else float(ctx.r.sum())

    def _forward(self, ctx, p, t):
        ls = p.shape[:-1]
        C = p.shape[-1]
        x2 = p.reshape(-1, C)
        idx = ctx.idx
        ctx.shape = p.shape
        if self._mode == "logprob":  # nll = -x[y]
            l = np.negative(x2.reshape(-1)[idx])
        elif self._mode == "logits":  # nll = log(sum(exp(z))) - z[y], z = x - max(x)
            e = ctx.buf("e", x2.shape, p.dtype)
            np.subtract(x2, _rowmax(ctx, x2)[:, None], out=e)
            zy = e.reshape(-1)[idx]
            np.exp(e, out=e)
            ctx.s = s = _rowsum(ctx, e, "s")
            l = np.log(s)
            l -= zy
        else:  # probs (Keras): nll = log(sum(q)) - log(q[y]), q = clip(p, eps, 1 - eps)
            q = ctx.buf("q", x2.shape, p.dtype)
            np.clip(x2, EPSILON, 1.0 - EPSILON, out=q)
            ctx.x2 = x2
            ctx.s = s = _rowsum(ctx, q, "s")
            ctx.qy = qy = q.reshape(-1)[idx]
            l = np.log(s)
            l -= np.log(qy)
        if ctx.r is not None:
            l *= ctx.r
        return l.reshape(ls)

    def _backward(self, ctx, c):
        shape = ctx.shape
        M, C = ctx.idx.size, shape[-1]
        dtype = ctx.dtype
        if isinstance(c, np.ndarray):
            c = np.broadcast_to(c, shape[:-1]).reshape(-1)
        if ctx.r is not None:
            c = ctx.r * c
        if self._mode == "logprob":
            gx = ctx.buf("gx", (M, C), dtype)
            gx.fill(0)
            gx.reshape(-1)[ctx.idx] = -c
            return gx.reshape(shape)
        gx = ctx.buf("gx", (M, C), dtype)
        if self._mode == "logits":  # c (softmax - onehot)
            k = c / ctx.s
            np.multiply(ctx.buf("e", (M, C), dtype), k[:, None] if isinstance(k, np.ndarray) else k, out=gx)
            gx.reshape(-1)[ctx.idx] -= c
            return gx.reshape(shape)
        # probs: c (1/S - [k == y] / q_y) where the clip let p through
        q = ctx.buf("q", (M, C), dtype)
        k = c / ctx.s
        mask = ctx.buf("mask", (M, C), np.bool_)
        np.equal(q, ctx.x2, out=mask)
        np.multiply(mask, k[:, None] if isinstance(k, np.ndarray) else k, out=gx)
        flat = gx.reshape(-1)
        flat[ctx.idx] -= (c / ctx.qy) * mask.reshape(-1)[ctx.idx]
        return gx.reshape(shape)


@_register("nll", "ClassNLLCriterion")
class ClassNLL(_LabelLoss):
    """Negative log-likelihood of 0-based labels from log-probabilities (BigDL's ClassNLLCriterion).

    y_pred (N, ..., C) log-probabilities (e.g. a LogSoftMax output), labels (N, ...) ints in
    [0, C). Per element: l_i = -weights[y_i] * y_pred[i, y_i] (0 where y_i == ignore_index).

    Reduction (size_average=True, as BigDL's sizeAverage and PyTorch's "mean"):
    sum_i s_i l_i / sum_i weights[y_i], the sum running over the elements not ignored and
    s_i the sample weights (1 by default; they scale the numerator only). Without class
    weights this is the mean over the counted elements. If every element is ignored, the
    loss and its gradient are 0. size_average=False gives the plain sum.

    Args:
        weights: optional 1-D class weights (C,).
        size_average: average as above (True) or sum (False).
        ignore_index: a label value that contributes nothing (e.g. -1 for padding).
    """

    name = "class_nll"
    _mode = "logprob"


@_register("CrossEntropyCriterion")
class CrossEntropy(_LabelLoss):
    """Softmax cross-entropy of 0-based labels from logits: ClassNLL(log_softmax(y_pred)).

    y_pred (N, ..., C) logits, labels (N, ...). l_i = weights[y_i] (logsumexp(x_i) - x_i[y_i]),
    with ClassNLL's weights, ignore_index and size_average. Forward keeps exp(x - max x)
    and its row sums, so backward is one multiply and a scatter: c (softmax - onehot).
    """

    name = "cross_entropy"
    _mode = "logits"


@_register("SparseCategoricalCrossEntropy")
class SparseCategoricalCrossentropy(_LabelLoss):
    """Keras's sparse categorical cross-entropy: 0-based labels (N, ...), y_pred (N, ..., C).

    From logits: as CrossEntropy. From probabilities (Keras): q = clip(y_pred, 1e-7, 1 - 1e-7),
    l = log(sum(q, -1)) - log(q[y]). With ignore_class, elements with that label count
    neither in the sum nor in the divisor (as Keras).

    Args:
        from_logits: y_pred holds logits rather than probabilities.
        ignore_class: optional label value to ignore.
    """

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str = "sum_over_batch_size"):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {sorted(_REDUCTIONS)}, "
                             f"got {reduction!r}")
        super().__init__(None, _REDUCTIONS[reduction], ignore_class)
        self.reduction = reduction
        self.from_logits = bool(from_logits)
        self._mode = "logits" if self.from_logits else "probs"

    def get_config(self) -> dict:
        return {"from_logits": self.from_logits, "ignore_class": self.ignore_index,
                "reduction": self.reduction}
