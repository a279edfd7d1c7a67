"""The per-shape plan of a 2-D convolution (zoo.engine.ops.conv): its image chunks, one worker per
thread with private buffers (column matrices, Winograd transforms, GEMM outputs) and views of
them per chunk size, the per-chunk gradient slots and the C kernels' prepared arguments. Conv2D
builds a plan once per (input shape, weight shape, dtype, threads) and reuses it; workers take
the chunks through `run_workers`.
"""

from __future__ import annotations

import numpy as np

from zoo.engine import threads
from zoo.engine.kernels import conv as K

__all__ = ["Plan", "Worker", "kernel_args", "make_buffers", "run_workers"]


class Worker:
    """One thread's private buffers: the column matrix and GEMM output of one chunk (views
    per chunk size) and which chunk's columns its buffer holds (-1: none)."""

    __slots__ = ("col_chunk", "ks", "views")


class Plan:
    """Everything a convolution needs for one (input shape, weight shape, dtype, threads):
    geometry, mode, image chunks, workers and buffers. Built once, reused until those change.

    Chunks do not depend on the number of threads, and each chunk's weight and bias
    gradients go to their own slot, summed in chunk order: results are the same for any
    number of threads (each GEMM runs single-threaded whenever several threads share a batch).
    """

    __slots__ = (
        "args",
        "chunks",
        "db",
        "db_parts",
        "du",
        "dw",
        "dw_parts",
        "dx",
        "g",
        "has_b",
        "key",
        "mode",
        "nk",
        "u",
        "u_of",
        "workers",
        "x",
        "y",
    )

    @property
    def n_chunks(self) -> int:
        """Image chunks the batch is cut into (1 for the depthwise mode)."""
        return len(self.chunks) if self.mode != "depthwise" else 1


def run_workers(workers: list, n_chunks: int, fn) -> None:
    """fn(worker, chunk) for every chunk, the chunks handed out dynamically to the workers:
    worker 0 is this thread, the others run on zoo's thread pool (threads.run_queue). A worker
    whose buffer still holds a chunk's columns (worker.col_chunk) takes that chunk first.

    While several workers run, BLAS is set to one thread (each worker runs single-threaded
    GEMMs on its own chunk, which stays in its core's cache) and the C kernels are called
    with one OpenMP thread.
    """
    held = {w.col_chunk for w in workers if 0 <= w.col_chunk < n_chunks}
    rest = [c for c in range(n_chunks - 1, -1, -1) if c not in held]
    first = [w.col_chunk if w.col_chunk in held else None for w in workers]
    threads.run_queue(len(workers), rest, lambda k, c: fn(workers[k], c), first)


def make_buffers(plan: Plan, ctx, n_workers: int, nb: int, dt) -> None:
    """The plan's per-chunk gradient slots (dw_parts, db_parts), its Winograd weight buffers and
    `n_workers` workers, each with private buffers for chunks of up to nb images and their views
    per chunk size (plan.mode, plan.g and plan.chunks are set)."""
    g = plan.g
    th, tw = K.wino_tiles(g)
    rows = g.col_rows()
    gr, kk, og = g.groups, rows // g.groups, g.O // g.groups
    if plan.mode == "1x1":
        dw_shape = (g.O, g.C)
    elif plan.mode == "winograd":
        dw_shape = (16, g.O, g.C)
        plan.u = ctx.buf("wino_u", dw_shape, dt)
        plan.du = ctx.buf("wino_du", dw_shape, dt)
    else:
        dw_shape = (g.O, rows) if gr == 1 else (gr, og, kk)
    plan.dw_parts = ctx.buf("dw_parts", (len(plan.chunks), *dw_shape), dt)
    plan.db_parts = ctx.buf("db_parts", (len(plan.chunks), g.O), dt) if plan.has_b else None
    for k in range(n_workers):
        wk = Worker()
        wk.col_chunk, wk.views, wk.ks = -1, {}, None
        if plan.mode == "1x1":
            wk.views[0] = ctx.buf(("dwtmp", k), (nb, g.O, g.C), dt)
        elif plan.mode == "winograd":
            t = th * tw
            ksv, ksm = K.wino_stride(g.C, nb, g), K.wino_stride(g.O, nb, g)
            vbuf = ctx.buf(("wino_v", k), (16 * ksv,), dt)
            mbuf = ctx.buf(("wino_m", k), (16 * ksm,), dt)
            wk.ks = (ksv, ksm)
            for m in {n1 - n0 for n0, n1, _ in plan.chunks}:
                v3 = vbuf.reshape(16, ksv)[:, : g.C * m * t].reshape(16, g.C, m * t)
                m3 = mbuf.reshape(16, ksm)[:, : g.O * m * t].reshape(16, g.O, m * t)
                wk.views[m] = (vbuf, v3, v3.transpose(0, 2, 1), mbuf, m3)
        else:
            rs = K.col_stride(nb, g)
            wk.ks = rs
            col = ctx.buf(("col", k), (rows * rs,), dt)
            y2 = ctx.buf(("y2", k), (g.O * nb * g.P,), dt)
            for m in {n1 - n0 for n0, n1, _ in plan.chunks}:
                t = y2[: g.O * m * g.P]
                if gr == 1:
                    c3, t3 = col.reshape(rows, rs)[:, : m * g.P], t.reshape(g.O, m * g.P)
                    ct = c3.T
                else:
                    c3, t3 = col.reshape(gr, kk, rs)[:, :, : m * g.P], t.reshape(gr, og, m * g.P)
                    ct = c3.transpose(0, 2, 1)
                wk.views[m] = (col, c3, ct, t.reshape(g.O, m, g.P), t3, t.reshape(g.O, m * g.P))
        plan.workers.append(wk)


def kernel_args(plan: Plan, dt) -> list:
    """Per chunk, the C kernels' trailing arguments. The plan checked every shape and dtype,
    and owns the buffers, so the hot loops call the kernels directly."""
    g, nk = plan.g, plan.nk
    code = K.dtype_code("conv", np.empty(0, dt))
    hb = int(plan.has_b)
    out = []
    for n0, n1, _ in plan.chunks:
        m = n1 - n0
        if plan.mode == "gemm":
            rs = plan.workers[0].ks
            out.append(
                (
                    (n0, n1, *g._args(), rs, g.P, nk, code),  # im2col
                    (n0, n1, *g._args(), rs, g.P, 1, 1, nk, code),  # col2im, overwrite + clobber
                    (g.O, m, g.P, hb, nk, code),  # swap01 to y (+ bias)
                    (m, g.O, g.P, 0, nk, code),  # swap01 of gy
                )
            )
        elif plan.mode == "winograd":
            th, tw = K.wino_tiles(g)
            ksv, ksm = plan.workers[0].ks
            out.append(
                (
                    (n0, n1, g.C, g.H, g.W, g.pt, g.pl, th, tw, ksv, nk, code),  # wino_input
                    (n0, n1, g.O, g.OH, g.OW, th, tw, ksm, hb, nk, code),  # wino_output
                    (n0, n1, g.O, g.OH, g.OW, th, tw, ksm, nk, code),  # wino_output_adjoint
                    (n0, n1, g.C, g.H, g.W, g.pt, g.pl, th, tw, ksv, 1, nk, code),  # wino_input_adjoint
                )
            )
        else:
            out.append(None)
    return out
