"""Multi-head scaled dot-product attention as one op: scores, masking, softmax, dropout, weighted sum.

Heads live in the last axis of the projections, (batch, time, heads * dim), as a Dense layer
makes them; the op views them as (batch, heads, time, dim) without copying, so there is no
Reshape/Transpose node around it. Matrix products go to BLAS (np.matmul on strided views),
the row softmax and the dropout to the C kernels of csrc/softmax.c and csrc/dropout.c.

The per-head products are small (T x D by D x S): a threaded GEMM gains little on them and
loses badly when the cores are busy (its threads wait for each other on every product). So
they run with BLAS single-threaded, the batch split across zoo's threads instead (`_bmm`).

    scores = scale * q_h @ k_h^T                    (B, H, T, S), scale default 1/sqrt(Dk)
    scores += -1e30 where masked                    mask == 0, or j > i when causal
    p = softmax(scores) over S, rows with every key masked set to 0 (as Keras)
    out_h = dropout(p) @ v_h                        (B, H, T, Dv) -> (B, T, H * Dv)

Masks (a float or bool array, 0 = masked) broadcast against the scores (B, H, T, S):
(B|1, S) masks keys (padding, BERT), (B|1, T|1, S) is Keras's attention_mask, and
(B|1, H|1, T|1, S) gives a mask per head.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine import threads as TH
from zoo.engine.kernels import act as KA
from zoo.engine.kernels import norm as KN
from zoo.engine.ops.base import Ctx, Op, register

__all__ = ["DotProductAttention", "DotProductAttentionScores"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: added to masked scores: exp(score + _NEG - max) is exactly 0 in float32 and float64
_NEG = -1e30


def _check_int(who: str, what: str, v, low: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
        raise ValueError(f"{who}: {what} must be an int >= {low}, got {v!r}")
    return int(v)


def _same(a, b) -> bool:
    return a is None or b is None or a == b


#: below this many multiply-adds a stacked product runs inline
_SPLIT_WORK = 1 << 21


def _bmm(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out = a @ b over stacks (B, H, m, k) @ (B, H, k, n): single-threaded BLAS per product, the
    batch axis split across zoo's threads (threads.run_blocks; the calling thread takes the first part)."""
    n = min(TH.get_num_threads(), a.shape[0])
    if n <= 1 or a.shape[0] * a.shape[1] * a.shape[2] * a.shape[3] * b.shape[3] < _SPLIT_WORK:
        np.matmul(a, b, out=out)
        return
    TH.run_blocks(a.shape[0], lambda lo, hi: np.matmul(a[lo:hi], b[lo:hi], out=out[lo:hi]), align=1)


def _mask4(shape: tuple) -> tuple:
    """A mask shape of rank 2, 3 or 4 as the rank-4 (B, H, T, S) shape it broadcasts as."""
    if len(shape) == 2:
        return (shape[0], 1, 1, shape[1])
    if len(shape) == 3:
        return (shape[0], 1, shape[1], shape[2])
    return tuple(shape)


@register
class DotProductAttention(Op):
    """Multi-head scaled dot-product attention (see the module docstring for the formula).

    Args:
        num_heads: H; the projections' last axes must be multiples of it.
        scale: factor of the scores; None for 1/sqrt(Dk).
        causal: query i attends to keys j <= i only (GPT-style decoders).
        dropout: rate of inverted dropout on the attention probabilities (training only).
        packed: one input (B, T, 3 * H * D) holding [q | k | v] on its last axis (self-attention
            through one fused projection) instead of three inputs.
    Inputs: q (B, T, H*Dk), k (B, S, H*Dk), v (B, S, H*Dv) (or qkv when packed), then an
        optional mask (see the module docstring; no gradient). Output: (B, T, H*Dv).
    Backward: with dp = dO_h @ v_h^T (through the dropout mask), ds = p * (dp - sum_S(dp * p)):
        dq_h = scale * ds @ k_h, dk_h = scale * ds^T @ q_h, dv_h = dropout(p)^T @ dO_h.
    """

    type_name = "dot_product_attention"
    _scores_output = False

    def __init__(self, num_heads: int, scale: float | None = None, causal: bool = False, dropout: float = 0.0,
                 packed: bool = False):
        who = type(self).__name__
        self.num_heads = _check_int(who, "num_heads", num_heads)
        if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float, np.floating))
                                  or not math.isfinite(scale)):
            raise ValueError(f"{who}: scale must be a finite number or None, got {scale!r}")
        self.scale = None if scale is None else float(scale)
        if (isinstance(dropout, bool) or not isinstance(dropout, (int, float, np.floating))
                or not 0 <= dropout < 1):
            raise ValueError(f"{who}: dropout must be a number in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        self.causal = bool(causal)
        self.packed = bool(packed)
        self.nondiff_inputs = (1,) if self.packed else (3,)
        self._who = who

    def get_config(self) -> dict:
        return {"num_heads": self.num_heads, "scale": self.scale, "causal": self.causal, "dropout": self.dropout,
                "packed": self.packed}

    # ---- shapes -------------------------------------------------------------------------------

    def _split_shapes(self, shapes):
        n = 1 if self.packed else 3
        if len(shapes) not in (n, n + 1):
            what = "qkv" if self.packed else "q, k, v"
            raise ValueError(f"expected inputs {what} and an optional mask ({n} or {n + 1} inputs), "
                             f"got {len(shapes)}")
        return [tuple(s) for s in shapes[:n]], (tuple(shapes[n]) if len(shapes) > n else None)

    def infer_shape(self, *shapes):
        H = self.num_heads
        ins, mask = self._split_shapes(shapes)
        for s in ins:
            if len(s) != 3:
                raise ValueError(f"expected inputs of rank 3 (batch, time, heads * dim), got shapes "
                                 f"{[tuple(s) for s in ins]}")
        if self.packed:
            (B, T, C), = ins
            if C is not None and C % (3 * H):
                raise ValueError(f"expected a packed last axis divisible by 3 * num_heads = {3 * H}, "
                                 f"got shape {ins[0]}")
            S, ck, cv = T, None if C is None else C // 3, None if C is None else C // 3
        else:
            (B, T, cq), (Bk, S, ck), (Bv, Sv, cv) = ins
            if not (_same(cq, ck) and _same(S, Sv) and _same(B, Bk) and _same(B, Bv)):
                raise ValueError(f"expected q (B, T, C), k (B, S, C) and v (B, S, C'), got shapes {ins}")
            for what, c in (("q/k", cq), ("v", cv)):
                if c is not None and c % H:
                    raise ValueError(f"expected the {what} last axis divisible by num_heads = {H}, "
                                     f"got shapes {ins}")
            S = S if S is not None else Sv
        if mask is not None:
            if len(mask) not in (2, 3, 4):
                raise ValueError(f"expected a mask of rank 2 (B, S), 3 (B, T, S) or 4 (B, H, T, S), got shape "
                                 f"{mask}")
            full = (B, H, T, S)
            for m, d in zip(_mask4(mask), full):
                if not (m == 1 or _same(m, d)):
                    raise ValueError(f"expected a mask that broadcasts to the scores {full}, got shape {mask}")
        out = (B, T, cv)
        if self._scores_output:
            return out, (B, H, T, S)
        return out

    # ---- forward ------------------------------------------------------------------------------

    def _views(self, xs):
        """(q_h, k_h, v_h) as (B, H, T|S, D) views, and the mask (or None)."""
        who, H = self._who, self.num_heads
        n = 1 if self.packed else 3
        arrs, mask = xs[:n], (xs[n] if len(xs) > n else None)
        for a in arrs:
            if not isinstance(a, np.ndarray) or a.dtype not in _FLOATS or a.ndim != 3:
                raise TypeError(f"{who}: expected float32/float64 inputs of rank 3, got "
                                f"{[(getattr(a, 'dtype', type(a).__name__), getattr(a, 'shape', None)) for a in arrs]}")
        dt = arrs[0].dtype
        if any(a.dtype != dt for a in arrs):
            raise TypeError(f"{who}: expected inputs of one dtype, got {[a.dtype.name for a in arrs]}")
        if self.packed:
            qkv = np.ascontiguousarray(arrs[0])
            B, T, C = qkv.shape
            if C % (3 * H):
                raise ValueError(f"{who}: expected a packed last axis divisible by {3 * H}, got shape {qkv.shape}")
            v5 = qkv.reshape(B, T, 3, H, C // (3 * H))
            qh, kh, vh = (v5[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
        else:
            q, k, v = (np.ascontiguousarray(a) for a in arrs)
            B, T, cq = q.shape
            S = k.shape[1]
            if k.shape[0] != B or v.shape[:2] != k.shape[:2] or k.shape[2] != cq or cq % H or v.shape[2] % H:
                raise ValueError(f"{who}: expected q (B, T, C), k (B, S, C), v (B, S, C') with C, C' divisible by "
                                 f"{H}, got shapes {q.shape}, {k.shape}, {v.shape}")
            qh = q.reshape(B, T, H, cq // H).transpose(0, 2, 1, 3)
            kh = k.reshape(B, S, H, cq // H).transpose(0, 2, 1, 3)
            vh = v.reshape(B, S, H, v.shape[2] // H).transpose(0, 2, 1, 3)
        return qh, kh, vh, mask

    def _bias(self, ctx: Ctx, mask, B: int, T: int, S: int, dt):
        """(bias, empty): an additive bias (0 or _NEG, broadcasting to (B, H, T, S)) or None, and a bool
        (..., T, 1) array of the query rows with every key masked (None when there are none)."""
        bias = None
        if self.causal:
            key = (T, S, dt)
            if getattr(ctx, "tri_key", None) != key:
                ctx.tri = np.triu(np.ones((T, S), dtype=bool), 1)
                ctx.tri_bias = np.where(ctx.tri, dt.type(_NEG), dt.type(0))
                ctx.tri_key = key
            bias = ctx.tri_bias
        if mask is None:
            return bias, None  # a causal row always keeps key 0
        if not isinstance(mask, np.ndarray) or mask.ndim not in (2, 3, 4):
            raise ValueError(f"{self._who}: expected a mask of rank 2, 3 or 4, got "
                             f"{getattr(mask, 'shape', type(mask).__name__)}")
        m4 = mask.reshape(_mask4(mask.shape))
        full = (B, self.num_heads, T, S)
        if any(m != 1 and m != d for m, d in zip(m4.shape, full)):
            raise ValueError(f"{self._who}: expected a mask that broadcasts to the scores {full}, got shape "
                             f"{mask.shape}")
        off = m4 == 0
        if self.causal:
            off = off | ctx.tri
        rows = off.all(axis=-1, keepdims=True)
        return np.where(off, dt.type(_NEG), dt.type(0)), (rows if rows.any() else None)

    def forward(self, ctx: Ctx, *xs):
        qh, kh, vh, mask = self._views(xs)
        B, H, T, Dk = qh.shape
        S, Dv = kh.shape[2], vh.shape[3]
        dt = qh.dtype
        scale = self.scale if self.scale is not None else 1.0 / math.sqrt(Dk) if Dk else 1.0
        p = ctx.buf("p", (B, H, T, S), dt)
        _bmm(qh, kh.swapaxes(-1, -2), p)
        p *= scale
        bias, empty = self._bias(ctx, mask, B, T, S, dt)
        if bias is not None:
            np.add(p, bias, out=p)
        lay = (B * H * T, S, 1)
        if p.size:
            KA.softmax_forward(p, p, lay, who=self._who)
        if empty is not None:
            np.copyto(p, 0, where=empty)
        pd = p
        ctx.drop_mask = None
        if ctx.training and self.dropout > 0 and p.size:
            pd = ctx.buf("pd", p.shape, dt)
            dm = ctx.buf("drop_mask", p.shape, np.uint8)
            KN.dropout_forward(p, self.dropout, ctx.rng.bit_generator.random_raw(), pd, dm, who=self._who)
            ctx.drop_mask = dm
        o = ctx.buf("o", (B, T, H, Dv), dt)
        _bmm(pd, vh, o.transpose(0, 2, 1, 3))
        ctx.qh, ctx.kh, ctx.vh, ctx.p, ctx.pd, ctx.empty, ctx.scale, ctx.lay = qh, kh, vh, p, pd, empty, scale, lay
        out = o.reshape(B, T, H * Dv)
        if self._scores_output:
            return out, p
        return out

    # ---- backward -----------------------------------------------------------------------------

    def backward(self, ctx: Ctx, gy):
        n = 1 if self.packed else 3
        flags = ctx.needs_grad
        nin = len(flags)
        if not any(flags[:n]):
            return (None,) * nin
        qh, kh, vh, p, pd = ctx.qh, ctx.kh, ctx.vh, ctx.p, ctx.pd
        B, H, T, Dk = qh.shape
        S, Dv = kh.shape[2], vh.shape[3]
        dt = p.dtype
        go, gp = (gy if self._scores_output else (gy, None))
        if go is None:
            go = np.zeros((B, T, H * Dv), dt)
        go_h = np.ascontiguousarray(go, dtype=dt).reshape(B, T, H, Dv).transpose(0, 2, 1, 3)
        if self.packed:
            dqkv = ctx.buf("dqkv", (B, T, 3 * H * Dk), dt)
            g5 = dqkv.reshape(B, T, 3, H, Dk)
            dq_h, dk_h, dv_h = (g5[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
            want_q = want_k = want_v = True
        else:
            want_q, want_k, want_v = flags[0], flags[1], flags[2]
            dq = ctx.buf("dq", (B, T, H, Dk), dt) if want_q else None
            dk = ctx.buf("dk", (B, S, H, Dk), dt) if want_k else None
            dv = ctx.buf("dv", (B, S, H, Dv), dt) if want_v else None
            dq_h = dq.transpose(0, 2, 1, 3) if want_q else None
            dk_h = dk.transpose(0, 2, 1, 3) if want_k else None
            dv_h = dv.transpose(0, 2, 1, 3) if want_v else None
        if want_v:
            _bmm(pd.swapaxes(-1, -2), go_h, dv_h)
        if want_q or want_k:
            dpd = ctx.buf("dpd", p.shape, dt)
            _bmm(go_h, vh.swapaxes(-1, -2), dpd)
            if ctx.drop_mask is not None:
                dp = ctx.buf("dp", p.shape, dt)
                KN.dropout_backward(dpd, ctx.drop_mask, self.dropout, dp, who=self._who)
            else:
                dp = dpd
            if gp is not None:
                dp += gp
            if ctx.empty is not None:
                np.copyto(dp, 0, where=ctx.empty)
            ds = ctx.buf("ds", p.shape, dt)
            if p.size:
                KA.softmax_backward(dp, p, ds, ctx.lay, who=self._who)
            if want_q:
                _bmm(ds, kh, dq_h)
                dq_h *= ctx.scale
            if want_k:
                _bmm(ds.swapaxes(-1, -2), qh, dk_h)
                dk_h *= ctx.scale
        elif self.packed:
            dq_h.fill(0)
            dk_h.fill(0)
        if self.packed:
            return (dqkv,) + (None,) * (nin - 1)
        grads = [dq.reshape(B, T, H * Dk) if want_q else None, dk.reshape(B, S, H * Dk) if want_k else None,
                 dv.reshape(B, S, H * Dv) if want_v else None]
        return tuple(grads) + (None,) * (nin - 3)


@register
class DotProductAttentionScores(DotProductAttention):
    """DotProductAttention that also outputs the attention probabilities p (B, H, T, S) (before dropout,
    as Keras's return_attention_scores); gradients flow back through both outputs."""

    type_name = "dot_product_attention_scores"
    n_outputs = 2
    _scores_output = True

