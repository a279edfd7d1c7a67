"""Helpers shared by the transposed and locally connected ops: rank padding of shapes, output
gradient checks, chunk plans and the weight-gradient reduction over chunks.
"""

from __future__ import annotations

import numpy as np

from zoo.engine.ops.base import Ctx
from zoo.engine.ops.chunks import plan_chunks, run_chunks, workers_for


def _to3(shape: tuple, rank: int) -> tuple:
    """(N, C, *spatial) of rank 1..3 as (N, C, D, H, W) with unit leading spatial axes."""
    return tuple(shape[:2]) + (1,) * (3 - rank) + tuple(shape[2:])


def _spatial3(t: tuple, rank: int, fill: int = 1) -> tuple:
    return (fill,) * (3 - rank) + tuple(t)


def _check_gy(name: str, gy, shape: tuple, dt) -> np.ndarray:
    if not (isinstance(gy, np.ndarray) and gy.flags.c_contiguous and gy.dtype == dt):
        gy = np.ascontiguousarray(gy, dtype=dt)
    if gy.shape != shape:
        raise ValueError(f"{name}: expected an output gradient of shape {shape}, got {gy.shape}")
    return gy


def _chunking(
    ctx: Ctx,
    plan,
    n: int,
    col_per_image: int,
    t_per_image: int,
    dw_shape: tuple,
    db_shape: tuple,
    dt,
    nthreads: int,
) -> None:
    """Image chunks, workers, per-worker (col, t) buffers and per-chunk gradient slots of a plan."""
    plan.chunks = plan_chunks(n, (col_per_image + t_per_image) * dt.itemsize)
    plan.n_workers, plan.nk = workers_for(len(plan.chunks), nthreads)
    nb = max(n1 - n0 for n0, n1 in plan.chunks)
    plan.views = [
        (ctx.buf(("col", k), (col_per_image * nb,), dt), ctx.buf(("t", k), (t_per_image * nb,), dt))
        for k in range(plan.n_workers)
    ]
    plan.dw_parts = ctx.buf("dw_parts", (len(plan.chunks), *dw_shape), dt)
    plan.db_parts = ctx.buf("db_parts", (len(plan.chunks), *db_shape), dt)


def _finish_backward(plan, run, dw, db, any_grad: bool) -> None:
    """Run the chunks, then sum the chunks' partial weight and bias gradients in chunk order."""
    if any_grad:
        run_chunks(plan.n_workers, len(plan.chunks), run)
    if dw is not None:
        np.sum(plan.dw_parts, axis=0, out=dw.reshape(plan.dw_parts.shape[1:]))
    if db is not None:
        np.sum(plan.db_parts, axis=0, out=db)
