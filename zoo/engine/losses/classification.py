"""Classification losses on probabilities, logits or margins: Hinge, SquaredHinge,
BinaryCrossentropy and KLDivergence (elementwise over the last axis), CategoricalHinge and
CategoricalCrossentropy (over the class axis, l (N, ...) from y_pred (N, ..., C)).
"""

from __future__ import annotations

import numpy as np

from zoo.engine.losses.base import (
    EPSILON,
    Loss,
    _as_float,
    _Elementwise,
    _expand,
    _register,
    _rowmax,
    _rowsum,
)


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


def _smoothing(owner: str, v) -> float:
    v = _as_float(owner, "label_smoothing", v)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{owner}: label_smoothing must be in [0, 1], got {v}")
    return v


class _FromLogits:
    """The arguments of the cross-entropies: from_logits, label_smoothing and the reduction."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 reduction: str = "sum_over_batch_size"):
        super().__init__(reduction)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _smoothing(type(self).__name__, label_smoothing)

    def get_config(self) -> dict:
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                **super().get_config()}


@_register("bce", "BCECriterion", "BinaryCrossEntropy")
class BinaryCrossentropy(_FromLogits, _Elementwise):
    """l = mean(-(t log q + (1 - t) log(1 - q)), axis=-1).

    From probabilities q = clip(y_pred, 1e-7, 1 - 1e-7); from logits (from_logits=True) the
    stable form max(x, 0) - x t + log1p(exp(-|x|)). Label smoothing s: t <- t (1 - s) + s/2.

    Args:
        from_logits: y_pred holds logits rather than probabilities.
        label_smoothing: float in [0, 1].
    """

    name = "binary_crossentropy"

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
class CategoricalCrossentropy(_FromLogits, Loss):
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
