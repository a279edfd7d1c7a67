"""Helpers shared by the elementwise op families: gradient fitting, scalar checks, output shapes.
"""

from __future__ import annotations

import numpy as np

from zoo.engine.ops.base import Ctx, Op, unbroadcast


def _fit(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    """`g` summed over the axes broadcasting stretched to reach x's shape, in x's dtype."""
    g = unbroadcast(g, x.shape)
    return g if g.dtype == x.dtype else g.astype(x.dtype)


def _number(op: str, what: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {what} must be a real number, got {v!r}")
    return float(v)


def _out_shape(op: Op, ctx: Ctx, a: np.ndarray, b: np.ndarray) -> tuple[tuple, np.dtype]:
    """Broadcast shape and result dtype of a binary op's inputs (cached per pair of shapes)."""
    dt = a.dtype if a.dtype == b.dtype else np.result_type(a, b)
    if a.shape == b.shape:
        return a.shape, dt
    key = (a.shape, b.shape)
    if getattr(ctx, "bcast_key", None) != key:
        try:
            ctx.bcast_shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(
                f"{type(op).__name__}: input shapes {a.shape} and {b.shape} do not broadcast"
            ) from None
        ctx.bcast_key = key
    return ctx.bcast_shape, dt
