"""Similarity losses between embeddings, over the last axis: CosineSimilarity.
"""

from __future__ import annotations

import numpy as np

from zoo.engine.losses.base import Loss, _expand, _register, _rowsum


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
