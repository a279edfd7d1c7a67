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
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from zoo.engine import graph as G
from zoo.engine.ops.base import Ctx, Op, register

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

#: Keras's `backend.epsilon()`: probabilities are clipped to [EPSILON, 1 - EPSILON].
EPSILON = 1e-7
_LOG2 = math.log(2.0)
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_REDUCTIONS = {"sum_over_batch_size": True, "mean": True, "sum": False}

#: every name and alias -> loss class
LOSSES: dict[str, type[Loss]] = {}


def _register(*aliases: str):
    """Class decorator: register an op type `loss_<name>` and the loss under its name and aliases."""

    def deco(cls):
        cls.type_name = f"loss_{cls.name}"
        register(cls)
        for key in (cls.name, cls.__name__, *aliases):
            if key in LOSSES and LOSSES[key] is not cls:
                raise TypeError(f"loss name {key!r} is registered twice")
            LOSSES[key] = cls
        return cls

    return deco


def _sw_shapes(ls: tuple) -> str:
    """The sample_weight shapes accepted for per-sample losses of shape `ls`."""
    return f"{tuple(ls[:1])}" if len(ls) <= 1 else f"{tuple(ls[:1])} or {tuple(ls)}"


def _shape_eq(a: tuple, b: tuple) -> bool:
    """Shapes equal where both are known (None matches anything)."""
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def _as_float(owner: str, what: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {what} must be a number, got {type(v).__name__}")
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{owner}: {what} must be finite, got {v}")
    return v


class Loss(Op):
    """Base of all losses; see the module docstring for the inputs and the reduction.

    Subclasses set `name`, `target_dtype` and implement `_forward(ctx, p, t) -> l` (the
    per-sample losses, shape `p.shape[:-1]`, or `p.shape` for a 1-D `p`) and
    `_backward(ctx, c) -> dp`, where `c` is dLoss/dl: a float, or an array that broadcasts
    against `l` (shape `l.shape` or (N, 1, ...)).
    """

    name: ClassVar[str] = ""
    #: dtype of y_true fed by the trainer (np.int64 for class labels)
    target_dtype: ClassVar[type] = np.float32
    nondiff_inputs = (1, 2)
    #: the last axis of y_pred holds classes (y_pred must have rank >= 2)
    _class_axis: ClassVar[bool] = False

    def __init__(self, reduction: str = "sum_over_batch_size"):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {sorted(_REDUCTIONS)}, "
                             f"got {reduction!r}")
        self.reduction = reduction
        self._average = _REDUCTIONS[reduction]

    def get_config(self) -> dict:
        return {"reduction": self.reduction}

    # ---- public interface ---------------------------------------------------------------

    def target_shape(self, pred_shape: tuple) -> tuple:
        """Shape of y_true for a y_pred of `pred_shape` (None = unknown size)."""
        return tuple(pred_shape)

    def op(self) -> Op:
        """The engine op computing this loss (the loss itself: it holds only static attributes)."""
        return self

    def build(self, y_pred: G.Tensor, y_true: G.Tensor, sample_weight: G.Tensor | None = None,
              name: str | None = None) -> G.Tensor:
        """Add the loss node to a graph; returns its scalar Tensor."""
        ins = [y_pred, y_true] if sample_weight is None else [y_pred, y_true, sample_weight]
        return G.apply(self.op(), ins, name=name)

    def __call__(self, y_pred, y_true, sample_weight=None) -> float:
        """The loss of numpy arrays (y_pred first, unlike Keras's `loss(y_true, y_pred)`)."""
        p = np.asarray(y_pred)
        if p.dtype not in _FLOATS:
            if p.dtype.kind not in "fiub":
                raise TypeError(f"{type(self).__name__}: y_pred must be numeric, got dtype {p.dtype}")
            p = p.astype(np.float32)
        t = np.asarray(y_true)
        sw = None if sample_weight is None else np.asarray(sample_weight)
        ctx = Ctx(self.name, n_inputs=2 if sw is None else 3)
        return float(self.forward(ctx, p, t, sw))

    # ---- op protocol --------------------------------------------------------------------

    def _check_pred_shape(self, pred: tuple) -> None:
        if len(pred) < (2 if self._class_axis else 1):
            raise ValueError(f"expected y_pred of rank >= {2 if self._class_axis else 1} "
                             f"({'(batch, ..., classes)' if self._class_axis else '(batch, ...)'}), "
                             f"got shape {tuple(pred)}")

    def _target_ok(self, pred: tuple, true: tuple) -> bool:
        """y_true's shape fits: equal to y_pred's, or differing by a trailing axis of 1."""
        pred, true = tuple(pred), tuple(true)
        return (_shape_eq(true, pred)
                or (len(pred) >= 2 and pred[-1] in (1, None) and _shape_eq(true, pred[:-1]))
                or (len(true) >= 2 and true[-1] in (1, None) and _shape_eq(true[:-1], pred)))

    def _loss_shape(self, pred: tuple) -> tuple:
        return tuple(pred[:-1]) if len(pred) >= 2 else tuple(pred)

    def infer_shape(self, pred, true, sample_weight=None):
        self._check_pred_shape(pred)
        if not self._target_ok(pred, true):
            raise ValueError(f"expected y_true of shape {self.target_shape(tuple(pred))} for y_pred of shape "
                             f"{tuple(pred)}, got {tuple(true)}")
        if sample_weight is not None:
            ls = self._loss_shape(pred)
            if not (_shape_eq(sample_weight, ls[:1]) or _shape_eq(sample_weight, ls)):
                raise ValueError(f"expected sample_weight of shape {_sw_shapes(ls)}, "
                                 f"got {tuple(sample_weight)}")
        return ()

    def forward(self, ctx: Ctx, p: np.ndarray, t: np.ndarray, sw: np.ndarray | None = None):
        if p.dtype not in _FLOATS:
            raise TypeError(f"{type(self).__name__}: y_pred must be float32 or float64, got {p.dtype}")
        if p.ndim < (2 if self._class_axis else 1):
            raise ValueError(f"{type(self).__name__}: expected y_pred of rank >= "
                             f"{2 if self._class_axis else 1}, got shape {p.shape}")
        t = self._target(ctx, p, t)
        l = self._forward(ctx, p, t)
        div = self._divisor(ctx, l) if self._average else 1.0
        if sw is None:
            total = l.sum()
            ctx.w = None
        else:
            w = self._weights(p, l, sw)
            if w.ndim == l.ndim:
                total = np.vdot(w, l)
            else:  # (N,) weights on (N, T, ...) losses
                total = np.dot(w, _rowsum(ctx, l.reshape(w.shape[0], -1), "wl"))
            ctx.w = w
        ctx.div = div
        value = total / div if div else total * 0
        if not math.isfinite(value):
            self._check_finite(p, t, sw)
        return np.asarray(value, dtype=p.dtype)

    def backward(self, ctx: Ctx, gy):
        if not ctx.needs_grad[0]:
            return (None,) * len(ctx.needs_grad)
        c = float(gy) / ctx.div if ctx.div else 0.0
        w = ctx.w
        if w is not None:
            c = w * c
            if c.ndim < ctx.lshape_ndim:
                c = c.reshape(c.shape + (1,) * (ctx.lshape_ndim - c.ndim))
        gx = self._backward(ctx, c)
        return (gx,) + (None,) * (len(ctx.needs_grad) - 1)

    # ---- pieces subclasses may override -------------------------------------------------

    def _target(self, ctx: Ctx, p: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Validate y_true and return it as an array of p's shape and dtype."""
        if not isinstance(t, np.ndarray):
            t = np.asarray(t)
        if t.shape != p.shape:
            if t.size != p.size or not self._target_ok(p.shape, t.shape):
                raise ValueError(f"{type(self).__name__}: expected y_true of shape "
                                 f"{self.target_shape(p.shape)} for y_pred of shape {p.shape}, got {t.shape}")
            t = t.reshape(p.shape)
        if t.dtype != p.dtype:
            if t.dtype.kind not in "fiub":
                raise TypeError(f"{type(self).__name__}: y_true must be numeric, got dtype {t.dtype}")
            t = t.astype(p.dtype)
        ctx.lshape_ndim = max(p.ndim - 1, 1)
        return t

    def _divisor(self, ctx: Ctx, l: np.ndarray) -> float:
        return l.size

    def _weights(self, p: np.ndarray, l: np.ndarray, sw: np.ndarray) -> np.ndarray:
        if sw.shape != l.shape[:1] and sw.shape != l.shape:
            raise ValueError(f"{type(self).__name__}: expected sample_weight of shape {_sw_shapes(l.shape)} "
                             f"for y_pred of shape {p.shape}, got {sw.shape}")
        if sw.dtype != p.dtype:
            if sw.dtype.kind not in "fiub":
                raise TypeError(f"{type(self).__name__}: sample_weight must be numeric, got dtype {sw.dtype}")
            sw = sw.astype(p.dtype)
        return sw

    def _check_finite(self, p, t, sw) -> None:
        """Raise if an input holds NaN or inf (called only when the loss is not finite)."""
        for what, a in (("y_pred", p), ("y_true", t), ("sample_weight", sw)):
            if a is None or a.dtype.kind != "f":
                continue
            n_nan = int(np.isnan(a).sum())
            n_inf = int(np.isinf(a).sum())
            if n_nan or n_inf:
                raise ValueError(f"{type(self).__name__}: {what} of shape {a.shape} holds {n_nan} NaN and "
                                 f"{n_inf} infinite values (y_pred shape {p.shape}, y_true shape {t.shape}); "
                                 f"check the model's inputs, learning rate and initialisation")

    def _forward(self, ctx: Ctx, p: np.ndarray, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, ctx: Ctx, c) -> np.ndarray:
        raise NotImplementedError


def _expand(c):
    """dLoss/dl broadcast over y_pred's last axis."""
    return c[..., None] if isinstance(c, np.ndarray) else c


def _rowsum(ctx: Ctx, a: np.ndarray, key: str) -> np.ndarray:
    """sum(a, axis=-1) into buffer `key`, as one BLAS matrix-vector product with ones.

    numpy's reductions over a short last axis cost microseconds of overhead each; the
    product is several times faster for (128, 10) and (64, 1000) and sums each row in a
    fixed order whatever the thread count.
    """
    C = a.shape[-1]
    a2 = a.reshape(-1, C)
    ones = ctx.__dict__.get("_ones")
    if ones is None or ones.shape[0] != C or ones.dtype != a.dtype:
        ones = ctx._ones = np.ones(C, dtype=a.dtype)
    out = ctx.buf(key, (a2.shape[0],), a.dtype)
    np.matmul(a2, ones, out=out)
    return out.reshape(a.shape[:-1])


def _rowmax(ctx: Ctx, x2: np.ndarray) -> np.ndarray:
    """max(x2, axis=1) of a 2-D array with at least one column (reduceat beats .max(axis=1))."""
    M, C = x2.shape
    if M == 0:
        return np.empty(0, x2.dtype)
    starts = ctx.__dict__.get("_starts")
    if starts is None or starts.shape[0] != M or getattr(ctx, "_starts_c", None) != C:
        starts = ctx._starts = np.arange(M, dtype=np.intp) * C
        ctx._starts_c = C
    return np.maximum.reduceat(x2.reshape(-1), starts)


# ---- elementwise losses: l = mean (or sum) over the last axis of f(y_pred, y_true) ----------


class _Elementwise(Loss):
    """l = mean_k f(p[..., k], t[..., k]) (sum if `_sum_last`); subclasses give f and df/dp."""

    _sum_last: ClassVar[bool] = False

    def _forward(self, ctx, p, t):
        ctx.p, ctx.t = p, t
        f = self._f(ctx, p, t)
        if p.ndim == 1:
            ctx.scale = 1.0
            return f
        l = _rowsum(ctx, f, "l")
        if self._sum_last:
            ctx.scale = 1.0
        else:
            ctx.scale = 1.0 / p.shape[-1]
            np.divide(l, p.shape[-1], out=l)
        return l

    def _backward(self, ctx, c):
        p = ctx.p
        gx = ctx.buf("gx", p.shape, p.dtype)
        self._df(ctx, p, ctx.t, gx)
        if isinstance(c, np.ndarray):
            if p.ndim > 1:
                c = c[..., None]
            if ctx.scale != 1.0:
                c = c * ctx.scale
        else:
            c = c * ctx.scale
        np.multiply(gx, c, out=gx)
        return gx

    def _f(self, ctx, p, t) -> np.ndarray:
        raise NotImplementedError

    def _df(self, ctx, p, t, out) -> None:
        raise NotImplementedError


@_register("mean_squared_error", "MSE", "MSECriterion")
class MeanSquaredError(_Elementwise):
    """l = mean((y_pred - y_true)^2, axis=-1); y_pred, y_true (N, ..., d) -> l (N, ...)."""

    name = "mse"

    def _f(self, ctx, p, t):
        d = ctx.buf("d", p.shape, p.dtype)
        np.subtract(p, t, out=d)
        f = ctx.buf("f", p.shape, p.dtype)
        return np.multiply(d, d, out=f)

    def _df(self, ctx, p, t, out):
        np.multiply(ctx.buf("d", p.shape, p.dtype), 2.0, out=out)


@_register("mean_absolute_error", "MAE", "AbsCriterion")
class MeanAbsoluteError(_Elementwise):
    """l = mean(|y_pred - y_true|, axis=-1); y_pred, y_true (N, ..., d) -> l (N, ...)."""

    name = "mae"

    def _f(self, ctx, p, t):
        d = ctx.buf("d", p.shape, p.dtype)
        np.subtract(p, t, out=d)
        return np.abs(d, out=ctx.buf("f", p.shape, p.dtype))

    def _df(self, ctx, p, t, out):
        np.sign(ctx.buf("d", p.shape, p.dtype), out=out)


@_register("mean_absolute_percentage_error", "MAPE", "MeanAbsolutePercentageCriterion")
class MeanAbsolutePercentageError(_Elementwise):
    """l = 100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7), axis=-1)."""

    name = "mape"

    def _f(self, ctx, p, t):
        den = ctx.buf("den", p.shape, p.dtype)
        np.abs(t, out=den)
        np.maximum(den, EPSILON, out=den)
        d = ctx.buf("d", p.shape, p.dtype)
        np.subtract(p, t, out=d)
        f = ctx.buf("f", p.shape, p.dtype)
        np.abs(d, out=f)
        np.divide(f, den, out=f)
        return np.multiply(f, 100.0, out=f)

    def _df(self, ctx, p, t, out):
        np.sign(ctx.buf("d", p.shape, p.dtype), out=out)
        np.divide(out, ctx.buf("den", p.shape, p.dtype), out=out)
        np.multiply(out, 100.0, out=out)


@_register("mean_squared_logarithmic_error", "MSLE", "MeanSquaredLogarithmicCriterion")
class MeanSquaredLogarithmicError(_Elementwise):
    """l = mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))^2, axis=-1)."""

    name = "msle"

    def _f(self, ctx, p, t):
        a = ctx.buf("a", p.shape, p.dtype)  # max(p, eps) + 1, kept for backward
        np.maximum(p, EPSILON, out=a)
        a += 1.0
        d = ctx.buf("d", p.shape, p.dtype)
        np.log(a, out=d)
        f = ctx.buf("f", p.shape, p.dtype)
        np.maximum(t, EPSILON, out=f)
        f += 1.0
        np.log(f, out=f)
        d -= f
        return np.multiply(d, d, out=f)

    def _df(self, ctx, p, t, out):
        # d/dp = 2 (log a - log b) / a where p >= eps (the max passes its gradient to p on ties)
        np.divide(ctx.buf("d", p.shape, p.dtype), ctx.buf("a", p.shape, p.dtype), out=out)
        out *= 2.0
        out *= p >= EPSILON


@_register("huber_loss")
class Huber(_Elementwise):
    """l = mean(h(y_pred - y_true), axis=-1), h(e) = e^2/2 if |e| <= delta else delta (|e| - delta/2).

    Args:
        delta: positive float, where the quadratic part turns linear.
    """

    name = "huber"

    def __init__(self, delta: float = 1.0, reduction: str = "sum_over_batch_size"):
        super().__init__(reduction)
        self.delta = _as_float(type(self).__name__, "delta", delta)
        if self.delta <= 0:
            raise ValueError(f"{type(self).__name__}: delta must be positive, got {delta!r}")
        self._scale = 1.0

    def get_config(self) -> dict:
        return {"delta": self.delta, **super().get_config()}

    def _f(self, ctx, p, t):
        d = ctx.buf("d", p.shape, p.dtype)
        np.subtract(p, t, out=d)
        a = ctx.buf("a", p.shape, p.dtype)
        np.abs(d, out=a)
        q = ctx.buf("f", p.shape, p.dtype)
        np.minimum(a, self.delta, out=q)  # h = q (|e| - q/2), q = min(|e|, delta)
        h = ctx.buf("h", p.shape, p.dtype)
        np.multiply(q, 0.5, out=h)
        a -= h
        np.multiply(q, a, out=q)
        if self._scale != 1.0:
            q *= self._scale
        return q

    def _df(self, ctx, p, t, out):
        np.clip(ctx.buf("d", p.shape, p.dtype), -self.delta, self.delta, out=out)
        if self._scale != 1.0:
            out *= self._scale


@_register("smooth_l1_loss", "SmoothL1Criterion")
class SmoothL1(Huber):
    """BigDL's SmoothL1Criterion: l = mean(s(y_pred - y_true), axis=-1) with
    s(e) = (sigma e)^2 / 2 if |e| < 1/sigma^2 else |e| - 1/(2 sigma^2), i.e. sigma^2 Huber(delta=1/sigma^2).

    sigma=1 (default) equals Huber(delta=1).
    """

    name = "smooth_l1"

    def __init__(self, sigma: float = 1.0, reduction: str = "sum_over_batch_size"):
        sigma = _as_float(type(self).__name__, "sigma", sigma)
        if sigma <= 0:
            raise ValueError(f"{type(self).__name__}: sigma must be positive, got {sigma!r}")
        super().__init__(1.0 / (sigma * sigma), reduction)
        self.sigma = sigma
        self._scale = sigma * sigma

    def get_config(self) -> dict:
        return {"sigma": self.sigma, "reduction": self.reduction}


@_register("log_cosh")
class LogCosh(_Elementwise):
    """l = mean(log(cosh(y_pred - y_true)), axis=-1), computed as |e| + log1p(exp(-2|e|)) - log 2."""

    name = "logcosh"

    def _f(self, ctx, p, t):
        d = ctx.buf("d", p.shape, p.dtype)
        np.subtract(p, t, out=d)
        f = ctx.buf("f", p.shape, p.dtype)
        a = ctx.buf("a", p.shape, p.dtype)
        np.abs(d, out=a)
        np.multiply(a, -2.0, out=f)
        np.exp(f, out=f)
        np.log1p(f, out=f)
        f += a
        f -= _LOG2
        return f

    def _df(self, ctx, p, t, out):
        np.tanh(ctx.buf("d", p.shape, p.dtype), out=out)


@_register()
class Hinge(_Elementwise):
    """l = mean(max(margin - y_true * y_pred, 0), axis=-1).

    Labels are -1/1; when every label of the batch is 0 or 1 they become -1/1 (as Keras does).

    Args:
        margin: the margin (Keras: 1).
    """

    name = "hinge"
    _power = 1

    def __init__(self, margin: float = 1.0, reduction: str = "sum_over_batch_size"):
        super().__init__(reduction)
        self.margin = _as_float(type(self).__name__, "margin", margin)

    def get_config(self) -> dict:
        return {"margin": self.margin, **super().get_config()}

    def _f(self, ctx, p, t):
        if np.all((t == 0) | (t == 1)):
            t = 2.0 * t - 1.0
        ctx.t = t
        m = ctx.buf("m", p.shape, p.dtype)
        np.multiply(t, p, out=m)
        np.subtract(self.margin, m, out=m)
        f = ctx.buf("f", p.shape, p.dtype)
        np.maximum(m, 0.0, out=f)
        if self._power == 2:
            np.multiply(f, f, out=f)
        return f

    def _df(self, ctx, p, t, out):
        m = ctx.buf("m", p.shape, p.dtype)
        if self._power == 2:  # d/dp max(m, 0)^2 = -2 t max(m, 0)
            np.maximum(m, 0.0, out=out)
            out *= -2.0
        else:  # -t where m >= 0 (the max passes its gradient to m on ties, as TF)
            np.heaviside(m, 1.0, out=out)
            np.negative(out, out=out)
        np.multiply(out, t, out=out)


@_register()
class SquaredHinge(Hinge):
    """l = mean(max(margin - y_true * y_pred, 0)^2, axis=-1); 0/1 labels become -1/1 as in Hinge."""

    name = "squared_hinge"
    _power = 2


@_register("bce", "BCECriterion", "BinaryCrossEntropy")
class BinaryCrossentropy(_Elementwise):
    """l = mean(-(t log q + (1 - t) log(1 - q)), axis=-1).

    From probabilities q = clip(y_pred, 1e-7, 1 - 1e-7); from logits (from_logits=True) the
    stable form max(x, 0) - x t + log1p(exp(-|x|)). Label smoothing s: t <- t (1 - s) + s/2.

    Args:
        from_logits: y_pred holds logits rather than probabilities.
        label_smoothing: float in [0, 1].
    """

    name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 reduction: str = "sum_over_batch_size"):
        super().__init__(reduction)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _smoothing(type(self).__name__, label_smoothing)

    def get_config(self) -> dict:
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                **super().get_config()}

    def _f(self, ctx, p, t):
        if self.label_smoothing:
            t = t * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
            ctx.t = t
        f = ctx.buf("f", p.shape, p.dtype)
        e = ctx.buf("e", p.shape, p.dtype)
        if self.from_logits:
            np.abs(p, out=e)
            np.negative(e, out=e)
            np.exp(e, out=e)  # exp(-|x|), kept for the sigmoid in backward
            np.log1p(e, out=f)
            a = ctx.buf("a", p.shape, p.dtype)
            np.maximum(p, 0.0, out=a)
            f += a
            np.multiply(p, t, out=a)
            f -= a
            return f
        q = e
        np.clip(p, EPSILON, 1.0 - EPSILON, out=q)
        a = ctx.buf("a", p.shape, p.dtype)
        np.log(q, out=a)
        np.multiply(a, t, out=f)
        np.subtract(1.0, q, out=a)
        np.log(a, out=a)
        b = ctx.buf("b", p.shape, p.dtype)
        np.subtract(1.0, t, out=b)
        np.multiply(a, b, out=a)
        f += a
        return np.negative(f, out=f)

    def _df(self, ctx, p, t, out):
        e = ctx.buf("e", p.shape, p.dtype)
        a = ctx.buf("a", p.shape, p.dtype)
        if self.from_logits:
            # sigmoid(x) - t, with sigmoid(x) = 1/(1+e) for x >= 0 and e/(1+e) for x < 0, e = exp(-|x|)
            np.add(e, 1.0, out=a)
            np.divide(e, a, out=out)
            np.reciprocal(a, out=a)
            np.copyto(out, a, where=p >= 0)
            out -= t
            return
        q = e  # (q - t) / (q (1 - q)) where the clip let y_pred through
        np.subtract(q, t, out=out)
        np.subtract(1.0, q, out=a)
        a *= q
        np.divide(out, a, out=out)
        out *= q == p


def _smoothing(owner: str, v) -> float:
    v = _as_float(owner, "label_smoothing", v)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{owner}: label_smoothing must be in [0, 1], got {v}")
    return v


@_register("kld", "kullback_leibler_divergence", "KLD", "KullbackLeiblerDivergence",
           "KullbackLeiblerDivergenceCriterion")
class KLDivergence(_Elementwise):
    """l = sum(t log(t / q), axis=-1) with t = clip(y_true, 1e-7, 1), q = clip(y_pred, 1e-7, 1)."""

    name = "kl_divergence"
    _sum_last = True

    def _f(self, ctx, p, t):
        tc = ctx.buf("tc", p.shape, p.dtype)
        np.clip(t, EPSILON, 1.0, out=tc)
        q = ctx.buf("q", p.shape, p.dtype)
        np.clip(p, EPSILON, 1.0, out=q)
        f = ctx.buf("f", p.shape, p.dtype)
        np.divide(tc, q, out=f)
        np.log(f, out=f)
        return np.multiply(f, tc, out=f)

    def _df(self, ctx, p, t, out):
        q = ctx.buf("q", p.shape, p.dtype)
        np.divide(ctx.buf("tc", p.shape, p.dtype), q, out=out)
        np.negative(out, out=out)
        out *= q == p


@_register("PoissonCriterion")
class Poisson(_Elementwise):
    """l = mean(y_pred - y_true log(y_pred + 1e-7), axis=-1)."""

    name = "poisson"

    def _f(self, ctx, p, t):
        a = ctx.buf("a", p.shape, p.dtype)
        np.add(p, EPSILON, out=a)
        f = ctx.buf("f", p.shape, p.dtype)
        np.log(a, out=f)
        f *= t
        return np.subtract(p, f, out=f)

    def _df(self, ctx, p, t, out):
        np.divide(t, ctx.buf("a", p.shape, p.dtype), out=out)
        np.subtract(1.0, out, out=out)


# ---- losses over the class axis: l (N, ...) from y_pred (N, ..., C) -------------------------


@_register("cosine_proximity", "cosine", "CosineProximity", "CosineProximityCriterion")
class CosineSimilarity(Loss):
    """l = -sum(y_true/|y_true| * y_pred/|y_pred|, axis=-1), with |v| = max(||v||_2, 1e-7) (Keras).

    A zero vector gives 0. Minimising it maximises the cosine similarity (Analytics Zoo's
    cosine_proximity is the same).
    """

    name = "cosine_similarity"
    _class_axis = True

    def _forward(self, ctx, p, t):
        tmp = ctx.buf("tmp", p.shape, p.dtype)
        np.multiply(p, p, out=tmp)
        sp = _rowsum(ctx, tmp, "sp")[..., None]
        np.multiply(t, t, out=tmp)
        st = _rowsum(ctx, tmp, "st")[..., None]
        ctx.clamped = sp < 1e-14
        ip = np.maximum(sp, 1e-14, out=sp)  # 1/|p| = min(rsqrt(sum p^2), 1e7)
        np.sqrt(ip, out=ip)
        np.reciprocal(ip, out=ip)
        it = np.maximum(st, 1e-14, out=st)
        np.sqrt(it, out=it)
        np.reciprocal(it, out=it)
        np.multiply(t, p, out=tmp)
        l = _rowsum(ctx, tmp, "l")[..., None]
        l *= ip
        l *= it
        np.negative(l, out=l)
        ctx.p, ctx.t, ctx.ip, ctx.it, ctx.l = p, t, ip, it, l
        return l[..., 0]

    def _backward(self, ctx, c):
        # dl/dp = -ip (t it + l p ip) for |p| above the clamp, -ip t it below it
        p = ctx.p
        gx = ctx.buf("gx", p.shape, p.dtype)
        np.multiply(ctx.t, ctx.it, out=gx)
        k = ctx.l * ctx.ip
        if ctx.clamped.any():
            k[ctx.clamped] = 0
        tmp = ctx.buf("tmp", p.shape, p.dtype)
        np.multiply(p, k, out=tmp)
        gx += tmp
        s = ctx.ip * _expand(c)
        np.negative(s, out=s)
        gx *= s
        return gx


@_register()
class CategoricalHinge(Loss):
    """l = max(max((1 - t) * y_pred, axis=-1) - sum(t * y_pred, axis=-1) + 1, 0), t one-hot."""

    name = "categorical_hinge"
    _class_axis = True

    def _forward(self, ctx, p, t):
        neg = ctx.buf("neg", p.shape, p.dtype)
        np.subtract(1.0, t, out=neg)
        neg *= p
        tmp = ctx.buf("tmp", p.shape, p.dtype)
        np.multiply(t, p, out=tmp)
        pos = _rowsum(ctx, tmp, "pos")
        nmax = neg.max(axis=-1)
        ctx.p, ctx.t, ctx.nmax = p, t, nmax
        l = nmax - pos
        l += 1.0
        ctx.active = l >= 0
        np.maximum(l, 0.0, out=l)
        return l

    def _backward(self, ctx, c):
        # d/dp_k = active * ((1 - t_k) [k attains the max, split among ties] - t_k)
        p, t = ctx.p, ctx.t
        neg = ctx.buf("neg", p.shape, p.dtype)
        gx = ctx.buf("gx", p.shape, p.dtype)
        np.copyto(gx, neg == ctx.nmax[..., None])
        gx /= gx.sum(axis=-1, keepdims=True)
        tmp = ctx.buf("tmp", p.shape, p.dtype)
        np.subtract(1.0, t, out=tmp)
        gx *= tmp
        gx -= t
        coef = ctx.active.astype(p.dtype) * c
        gx *= coef[..., None]
        return gx


@_register("CategoricalCrossEntropy")
class CategoricalCrossentropy(Loss):
    """l = -sum(t * log q, axis=-1) for one-hot (or soft) targets t of y_pred's shape.

    From probabilities (Keras): q = clip(y_pred / sum(y_pred, -1), 1e-7, 1 - 1e-7). From
    logits: q = softmax(y_pred) through a stable log-softmax. Label smoothing s:
    t <- t (1 - s) + s / C.

    Args:
        from_logits: y_pred holds logits rather than probabilities.
        label_smoothing: float in [0, 1].
    """

    name = "categorical_crossentropy"
    _class_axis = True

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 reduction: str = "sum_over_batch_size"):
        super().__init__(reduction)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _smoothing(type(self).__name__, label_smoothing)

    def get_config(self) -> dict:
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                **super().get_config()}

    def _forward(self, ctx, p, t):
        if self.label_smoothing:
            t = t * (1.0 - self.label_smoothing) + self.label_smoothing / p.shape[-1]
        ctx.p, ctx.t = p, t
        tmp = ctx.buf("tmp", p.shape, p.dtype)
        if self.from_logits:
            # l = sum(t) * log(sum(exp(z))) - sum(t z), z = x - max(x)
            e = ctx.buf("e", p.shape, p.dtype)
            x2 = p.reshape(-1, p.shape[-1])
            np.subtract(x2, _rowmax(ctx, x2)[:, None], out=e.reshape(x2.shape))
            np.multiply(t, e, out=tmp)
            tz = _rowsum(ctx, tmp, "tz")
            ctx.tsum = tsum = _rowsum(ctx, t, "tsum")
            np.exp(e, out=e)
            ctx.s = s = _rowsum(ctx, e, "s")
            l = np.log(s)
            l *= tsum
            l -= tz
            return l
        ctx.S = S = _rowsum(ctx, p, "S")[..., None]
        o = ctx.buf("o", p.shape, p.dtype)
        np.divide(p, S, out=o)
        q = ctx.buf("q", p.shape, p.dtype)
        np.clip(o, EPSILON, 1.0 - EPSILON, out=q)
        np.log(q, out=tmp)
        tmp *= t
        l = _rowsum(ctx, tmp, "l")
        return np.negative(l, out=l)

    def _backward(self, ctx, c):
        p, t = ctx.p, ctx.t
        gx = ctx.buf("gx", p.shape, p.dtype)
        if self.from_logits:  # c (sum(t) softmax - t)
            e = ctx.buf("e", p.shape, p.dtype)
            k = ctx.tsum / ctx.s
            k *= c
            np.multiply(e, k[..., None], out=gx)
            if isinstance(c, np.ndarray):
                tmp = ctx.buf("tmp", p.shape, p.dtype)
                np.multiply(t, c[..., None], out=tmp)
                gx -= tmp
            elif c == 1.0:
                gx -= t
            else:
                tmp = ctx.buf("tmp", p.shape, p.dtype)
                np.multiply(t, c, out=tmp)
                gx -= tmp
            return gx
        # a = t / q where the clip let o through; dl/dp = (sum(a o) - a) / S
        o, q = ctx.buf("o", p.shape, p.dtype), ctx.buf("q", p.shape, p.dtype)
        np.divide(t, q, out=gx)
        mask = ctx.buf("mask", p.shape, np.bool_)
        np.equal(q, o, out=mask)
        gx *= mask
        tmp = ctx.buf("tmp", p.shape, p.dtype)
        np.multiply(gx, o, out=tmp)
        d = _rowsum(ctx, tmp, "d")[..., None]
        np.subtract(d, gx, out=gx)
        s = _expand(c) / ctx.S
        gx *= s
        return gx


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
