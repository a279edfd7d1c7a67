"""Matrix products: MatMul (batched, numpy broadcasting) and Linear (x @ W + b), through BLAS."""

from __future__ import annotations

import numpy as np

from zoo.engine.ops.base import Ctx, Op, broadcast_shapes, register, unbroadcast


@register
class MatMul(Op):
    """y = a @ b with numpy's matmul rules (1-D operands are not supported: use Reshape)."""

    type_name = "matmul"

    def __init__(self, transpose_a: bool = False, transpose_b: bool = False):
        self.transpose_a = bool(transpose_a)
        self.transpose_b = bool(transpose_b)

    def get_config(self) -> dict:
        return {"transpose_a": self.transpose_a, "transpose_b": self.transpose_b}

    def infer_shape(self, a, b):
        if len(a) < 2 or len(b) < 2:
            raise ValueError(f"expected operands of rank >= 2, got shapes {a} and {b}")
        m, k = (a[-1], a[-2]) if self.transpose_a else (a[-2], a[-1])
        k2, n = (b[-1], b[-2]) if self.transpose_b else (b[-2], b[-1])
        if k is not None and k2 is not None and k != k2:
            raise ValueError(f"expected contracted sizes to match, got shapes {a} and {b} ({k} vs {k2})")
        return broadcast_shapes(a[:-2], b[:-2]) + (m, n)

    def forward(self, ctx: Ctx, a, b):
        ctx.a, ctx.b = a, b
        at = np.swapaxes(a, -1, -2) if self.transpose_a else a
        bt = np.swapaxes(b, -1, -2) if self.transpose_b else b
        return np.matmul(at, bt)

    def backward(self, ctx: Ctx, gy):
        # y = A' @ B' with A' = op(a), B' = op(b): dA' = gy @ B'^T, dB' = A'^T @ gy
        a, b = ctx.a, ctx.b
        t = lambda m: np.swapaxes(m, -1, -2)  # noqa: E731
        at = t(a) if self.transpose_a else a
        bt = t(b) if self.transpose_b else b
        ga = gb = None
        if ctx.needs_grad[0]:
            da = np.matmul(gy, t(bt))
            ga = _sum_to(t(da) if self.transpose_a else da, a.shape)
        if ctx.needs_grad[1]:
            db = np.matmul(t(at), gy)
            gb = _sum_to(t(db) if self.transpose_b else db, b.shape)
        return ga, gb


def _sum_to(g: np.ndarray, shape) -> np.ndarray:
    """Reduce leading broadcast axes of a matmul gradient (e.g. a (N, k, n) weight grad to (k, n))."""
    if g.shape == tuple(shape):
        return g
    if len(shape) == 2 and g.ndim > 2:
        return g.reshape(-1, *g.shape[-2:]).sum(axis=0)
    return unbroadcast(g, shape)


@register
class Linear(Op):
    """y = x @ w (+ b) over the last axis of x: x (..., i), w (i, o), b (o,) -> (..., o).

    Inputs: [x, w] or [x, w, b]. A rank > 2 x is folded to 2-D for one BLAS call.
    """

    type_name = "linear"

    def infer_shape(self, x, w, b=None):
        if len(w) != 2:
            raise ValueError(f"expected a 2-D weight (in, out), got shape {w}")
        if len(x) < 1 or (x[-1] is not None and x[-1] != w[0]):
            raise ValueError(f"expected last input axis {w[0]}, got input shape {x}")
        if b is not None and tuple(b) != (w[1],):
            raise ValueError(f"expected bias shape ({w[1]},), got {b}")
        return tuple(x[:-1]) + (w[1],)

    def forward(self, ctx: Ctx, x, w, b=None):
        x2 = x.reshape(-1, x.shape[-1])
        ctx.x2, ctx.w, ctx.xshape = x2, w, x.shape
        y = ctx.buf("y", (x2.shape[0], w.shape[1]), x.dtype)
        _matmul(x2, w, y, split="rows")
        if b is not None:
            y += b
        return y.reshape(*x.shape[:-1], w.shape[1])

    def backward(self, ctx: Ctx, gy):
        x2, w = ctx.x2, ctx.w
        g2 = gy.reshape(-1, w.shape[1])
        gx = gw = gb = None
        flags = ctx.needs_grad
        if flags[0]:
            gx = _matmul(g2, w.T, ctx.buf("gx", (g2.shape[0], w.shape[0]), g2.dtype), split="rows")
            gx = gx.reshape(ctx.xshape)
        if flags[1]:
            gw = _matmul(x2.T, g2, ctx.buf("gw", w.shape, g2.dtype), split="cols")
        if len(flags) > 2 and flags[2]:
            gb = g2.sum(axis=0)
        return (gx, gw, gb)[: len(flags)]


#: GEMMs with fewer FLOPs run as one BLAS call; larger ones are cut into one block per thread
SPLIT_FLOPS = 4e6


def _matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray, split: str) -> np.ndarray:
    """out = a @ b, cut by rows of a (or columns of b) into one block per zoo thread, each block
    one single-threaded BLAS call. Fork-join BLAS teams stall whenever another process holds a
    core; whole blocks per thread synchronise once per product. Each element's summation order
    is BLAS's for its block, so results do not depend on the thread count beyond BLAS's own
    blocking."""
    from zoo.engine import threads

    m, n = out.shape
    k = a.shape[1]
    nt = threads.get_num_threads()
    if nt == 1 or 2.0 * m * n * k < SPLIT_FLOPS:
        return np.matmul(a, b, out=out)
    size = m if split == "rows" else n
    if size < 2 * 16:
        return np.matmul(a, b, out=out)
    if split == "rows":
        threads.run_blocks(size, lambda lo, hi: np.matmul(a[lo:hi], b, out=out[lo:hi]))
    else:
        threads.run_blocks(size, lambda lo, hi: np.matmul(a, b[:, lo:hi], out=out[:, lo:hi]))
    return out
