"""Embedding ops: table lookup (a gather) with a deterministic scatter-add gradient, the bag
(sum/mean/sqrtn of several rows per sample) and the id mask for Keras's mask_zero.

Ids may come as any integer or float array (floats are truncated, as Keras casts them);
they are converted once per call to int64. Out-of-range ids raise ValueError naming the id.
The weight gradient is dense (V, D), zero outside the rows the batch used; the scatter-add runs
in C (csrc/embedding.c), threads owning whole rows and each row summed in position order, so the
result does not depend on the thread count.
"""

from __future__ import annotations

import numpy as np

from zoo.engine.kernels import rnn as K
from zoo.engine.ops.base import Ctx, Op, register

__all__ = ["Embedding", "EmbeddingBag", "NotEqualMask"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_COMBINERS = ("sum", "mean", "sqrtn")


def _ids64(ctx: Ctx, ids, who: str) -> np.ndarray:
    """ids as a C-contiguous int64 array (a reused buffer when a conversion is needed)."""
    if not isinstance(ids, np.ndarray) or ids.dtype.kind not in "iuf":
        raise TypeError(
            f"{who}: expected integer (or float) ids, got {getattr(ids, 'dtype', type(ids).__name__)}"
        )
    if ids.dtype == np.int64 and ids.flags.c_contiguous:
        return ids
    out = ctx.buf("ids64", ids.shape, np.int64)
    if ids.dtype.kind == "f" and not np.isfinite(ids).all():
        raise ValueError(f"{who}: ids hold NaN or infinite values")
    np.copyto(out, ids, casting="unsafe")
    return out


def _who(kind: str, ctx: Ctx) -> str:
    """'Embedding' or "Embedding 'node name'" for messages."""
    return kind if not ctx.name or ctx.name == kind else f"{kind} '{ctx.name}'"


def _clean_grad(ctx: Ctx, shape, dtype) -> np.ndarray:
    """The (V, D) gradient buffer, all zeros: only the rows the last backward wrote are cleared
    when they are few (a batch usually touches a small part of the table)."""
    prev = ctx.__dict__.get("dw_rows")
    dw = ctx._bufs.get("dw")
    if (
        prev is not None
        and dw is not None
        and dw.shape == tuple(shape)
        and dw.dtype == dtype
        and prev[0] is dw
    ):
        dw[prev[1]] = 0
        return dw
    return ctx.zeros("dw", tuple(shape), dtype)


def _remember_rows(ctx: Ctx, dw: np.ndarray, ids: np.ndarray, base: int, pad) -> None:
    """Note which rows of dw are non-zero now (for _clean_grad), or None to clear it all next time."""
    if 4 * ids.size >= dw.shape[0]:
        ctx.dw_rows = None
        return
    rows = ids - base
    keep = (rows >= 0) & (rows < dw.shape[0])
    if pad is not None:
        keep &= ids != pad
    ctx.dw_rows = (dw, rows[keep])


def _check_table(w, who: str) -> np.ndarray:
    if not isinstance(w, np.ndarray) or w.dtype not in _FLOATS or w.ndim != 2:
        raise TypeError(
            f"{who}: expected a 2-D float32/float64 table (V, D), got "
            f"{getattr(w, 'dtype', type(w).__name__)} {getattr(w, 'shape', '')}"
        )
    return np.ascontiguousarray(w)


def _check_int(v, what: str, who: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{who}: {what} must be an int, got {v!r}")
    return int(v)


@register
class Embedding(Op):
    """y[...] = W[ids[...] - base]: ids (...) and W (V, D) -> (..., D).

    Args:
        zero_based: ids count from 0 (base 0, Keras); False for 1-based ids (base 1, BigDL).
        padding_id: an id whose rows are zero vectors and get no gradient (Analytics Zoo's
            padding_value); it may lie outside [base, V + base), e.g. -1. None: no such id.
    Backward: dW[r] = sum of dy over the positions whose id is r (dense (V, D)); ids get none.
    """

    type_name = "embedding"
    nondiff_inputs = (0,)

    def __init__(self, zero_based: bool = True, padding_id: int | None = None):
        self.zero_based = bool(zero_based)
        self.padding_id = None if padding_id is None else _check_int(padding_id, "padding_id", "Embedding")

    def get_config(self) -> dict:
        return {"zero_based": self.zero_based, "padding_id": self.padding_id}

    def infer_shape(self, ids, w):
        if len(w) != 2:
            raise ValueError(f"expected a 2-D table (input_dim, output_dim), got shape {tuple(w)}")
        return tuple(ids) + (w[1],)

    def forward(self, ctx: Ctx, ids, w):
        who = _who("Embedding", ctx)
        w = _check_table(w, who)
        idx = _ids64(ctx, ids, who)
        D = w.shape[1]
        out = ctx.buf("y", (idx.size, D), w.dtype)
        K.embedding_gather(out, w, idx.reshape(-1), 0 if self.zero_based else 1, pad=self.padding_id, who=who)
        ctx.ids, ctx.wshape, ctx.dtype = idx, w.shape, w.dtype
        return out.reshape(idx.shape + (D,))

    def backward(self, ctx: Ctx, gy):
        if not ctx.needs_grad[1]:
            return None, None
        dw = _clean_grad(ctx, ctx.wshape, ctx.dtype)
        g = np.ascontiguousarray(gy, dtype=ctx.dtype).reshape(-1, ctx.wshape[1])
        ids = ctx.ids.reshape(-1)
        K.embedding_scatter(
            dw, ids, g, None, 0 if self.zero_based else 1, pad=self.padding_id, who=_who("Embedding", ctx)
        )
        _remember_rows(ctx, dw, ids, 0 if self.zero_based else 1, self.padding_id)
        return None, dw


@register
class EmbeddingBag(Op):
    """y[b] = combine over l of W[ids[b, l] - base], skipping ids < 0 (padding): ids (B, L), W (V, D) -> (B, D).

    combiner: 'sum' (weights 1), 'mean' (1/n_b) or 'sqrtn' (1/sqrt(n_b)), n_b = the sample's
    number of ids >= 0 (a sample without any gives zeros). max_norm: rows whose L2 norm exceeds
    it are scaled to it before combining (as TensorFlow's embedding_lookup_sparse), with the
    gradient through that scaling.
    """

    type_name = "embedding_bag"
    nondiff_inputs = (0,)

    def __init__(self, combiner: str = "sum", zero_based: bool = True, max_norm: float | None = None):
        if combiner not in _COMBINERS:
            raise ValueError(f"EmbeddingBag: combiner must be one of {list(_COMBINERS)}, got {combiner!r}")
        if max_norm is not None and (
            isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or not max_norm > 0
        ):
            raise ValueError(f"EmbeddingBag: max_norm must be a positive number or None, got {max_norm!r}")
        self.combiner = combiner
        self.zero_based = bool(zero_based)
        self.max_norm = None if max_norm is None else float(max_norm)

    def get_config(self) -> dict:
        return {"combiner": self.combiner, "zero_based": self.zero_based, "max_norm": self.max_norm}

    def infer_shape(self, ids, w):
        if len(ids) != 2:
            raise ValueError(f"expected ids of shape (batch, ids per sample), got {tuple(ids)}")
        if len(w) != 2:
            raise ValueError(f"expected a 2-D table (input_dim, output_dim), got shape {tuple(w)}")
        return (ids[0], w[1])

    def forward(self, ctx: Ctx, ids, w):
        who = _who("EmbeddingBag", ctx)
        w = _check_table(w, who)
        idx = _ids64(ctx, ids, who)
        if idx.ndim != 2:
            raise ValueError(f"{who}: expected ids of shape (batch, ids per sample), got {idx.shape}")
        B, L = idx.shape
        dt, base = w.dtype, 0 if self.zero_based else 1
        valid = idx >= 0
        wts = ctx.buf("wts", (B, L), dt)
        np.copyto(wts, valid)
        if self.combiner != "sum":
            n = np.maximum(valid.sum(axis=1, keepdims=True), 1).astype(dt)
            wts /= n if self.combiner == "mean" else np.sqrt(n)
        ctx.scale = None
        if self.max_norm is not None and B * L:
            rows = np.where(valid, idx - base, 0)
            if (rows < 0).any() or (rows >= w.shape[0]).any():
                bad = idx[valid & ((idx - base < 0) | (idx - base >= w.shape[0]))][0]
                raise ValueError(f"{who}: id {bad} is out of range [{base}, {w.shape[0] + base})")
            norms = np.sqrt(np.einsum("bld,bld->bl", w[rows], w[rows]))
            clipped = valid & (norms > self.max_norm)
            scale = np.where(clipped, self.max_norm / np.where(clipped, norms, 1), 1).astype(dt)
            ctx.scale, ctx.clipped, ctx.norms, ctx.rows, ctx.w_in = scale, clipped, norms, rows, w
            wts_eff = ctx.buf("wts_eff", (B, L), dt)
            np.multiply(wts, scale, out=wts_eff)
        else:
            wts_eff = wts
        out = ctx.buf("y", (B, w.shape[1]), dt)
        K.embedding_bag(out, w, idx, wts_eff, base, who=who)
        ctx.ids, ctx.wts, ctx.wts_eff, ctx.wshape, ctx.dtype = idx, wts, wts_eff, w.shape, dt
        return out

    def backward(self, ctx: Ctx, gy):
        if not ctx.needs_grad[1]:
            return None, None
        B, L = ctx.ids.shape
        dw = ctx.buf("dw", ctx.wshape, ctx.dtype)
        dw.fill(0)
        g = np.ascontiguousarray(gy, dtype=ctx.dtype)
        base = 0 if self.zero_based else 1
        if B * L:
            K.embedding_scatter(
                dw,
                ctx.ids.reshape(-1),
                g,
                ctx.wts_eff.reshape(-1),
                base,
                group=L,
                skip_neg=True,
                who="EmbeddingBag",
            )
        if ctx.scale is not None and ctx.clipped.any():
            # d(M e / |e|) = (M / |e|) (g - (e.g) e / |e|^2): the first part is in the scatter above
            b_idx, l_idx = np.nonzero(ctx.clipped)
            r = ctx.rows[b_idx, l_idx]
            e = ctx.w_in[r]
            n = ctx.norms[b_idx, l_idx]
            coef = -ctx.wts[b_idx, l_idx] * self.max_norm / n**3 * np.einsum("kd,kd->k", e, g[b_idx])
            np.add.at(dw, r, coef[:, None] * e)
        return None, dw


@register
class NotEqualMask(Op):
    """mask = (x != value) as float32 0/1: the step mask of Embedding(mask_zero=True). No gradient."""

    type_name = "not_equal_mask"
    nondiff_inputs = (0,)

    def __init__(self, value: float = 0):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"NotEqualMask: value must be a number, got {value!r}")
        self.value = value

    def get_config(self) -> dict:
        return {"value": self.value}

    def infer_shape(self, x):
        return tuple(x)

    def forward(self, ctx: Ctx, x):
        m = ctx.buf("mask", x.shape, np.float32)
        np.not_equal(x, self.value, out=m, casting="unsafe")
        return m

    def backward(self, ctx: Ctx, gy):
        return (None,)
