"""Locally connected products: LocallyConnected1D/2D, a convolution whose weights differ per
output position (see the package docstring).
"""

from __future__ import annotations

import numpy as np

from zoo.engine import threads
from zoo.engine.kernels import conv3d as K
from zoo.engine.ops.base import Ctx, Op, register
from zoo.engine.ops.chunks import check_arrays, checked_shape, contiguous, run_chunks
from zoo.engine.ops.conv_extra._common import _check_gy, _chunking, _finish_backward, _spatial3, _to3
from zoo.engine.ops.window import as_tuple, out_sizes, padding_config, parse_padding, resolve_padding


class _LocalPlan:
    __slots__ = ("chunks", "db_parts", "dw_parts", "g", "key", "n_workers", "nk", "views", "y")


class _LocallyConnected(Op):
    rank = 2

    def __init__(self, kernel_size, strides=1, padding="valid"):
        name, n = type(self).__name__, self.rank
        self.kernel_size = as_tuple(kernel_size, n, f"{name}: kernel_size")
        self.strides = as_tuple(strides, n, f"{name}: strides")
        self.padding = parse_padding(padding, n, name)

    def get_config(self) -> dict:
        return {
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": padding_config(self.padding),
        }

    def output_spatial(self, spatial) -> tuple:
        """Output spatial sizes for input spatial sizes (None where unknown)."""
        return out_sizes(self.padding, tuple(spatial), self.kernel_size, self.strides, (1,) * self.rank)

    def infer_shape(self, x, w, b=None):
        n = self.rank
        x, w = tuple(x), tuple(w)
        if len(x) != n + 2:
            raise ValueError(f"expected a {n + 2}-D input (N, C, *spatial), got shape {x}")
        if len(w) != 3:
            raise ValueError(
                f"expected a 3-D weight (positions, C*{'*'.join(map(str, self.kernel_size))}, O), "
                f"got shape {w}"
            )
        out = self.output_spatial(x[2:])
        if x[1] is not None and None not in out:
            p, r = int(np.prod(out)), x[1] * int(np.prod(self.kernel_size))
            if w[0] != p or w[1] != r:
                raise ValueError(
                    f"expected a weight of shape ({p}, {r}, O) for input shape {x} (kernel "
                    f"{self.kernel_size}, output {out}), got {w}"
                )
        if b is not None and tuple(b) != (w[2], *out):
            raise ValueError(f"expected bias shape {(w[2], *out)}, got {tuple(b)}")
        return (x[0], w[2], *out)

    def _plan(self, ctx: Ctx, x, w, b) -> _LocalPlan:
        nthreads = threads.get_num_threads()
        key = (x.shape, w.shape, x.dtype, b is None, nthreads)
        plan = ctx.__dict__.get("local_plan")
        if plan is not None and plan.key == key:
            return plan
        name, n = type(self).__name__, self.rank
        y_shape = checked_shape(name, self.infer_shape, x, w, b, batch=True)
        pads = resolve_padding(self.padding, x.shape[2:], self.kernel_size, self.strides, (1,) * n)
        o = w.shape[2]
        g = K.Geometry3D(
            _to3(x.shape, n),
            _spatial3(self.kernel_size, n),
            _spatial3(self.strides, n),
            (1, 1, 1),
            ((0, 0),) * (3 - n) + tuple(pads),
            o,
            1,
            name,
        )
        dt = x.dtype
        plan = _LocalPlan()
        plan.key, plan.g = key, g
        plan.y = ctx.buf("y", y_shape, dt)
        _chunking(ctx, plan, g.N, g.R * g.P, o * g.P, w.shape, y_shape[1:], dt, nthreads)
        ctx.local_plan = plan
        return plan

    def forward(self, ctx: Ctx, x, w, b=None):
        name = type(self).__name__
        check_arrays(name, x, w, b)
        if x.ndim != self.rank + 2 or w.ndim != 3:
            checked_shape(name, self.infer_shape, x, w, b)
        x, w, b = contiguous(x), contiguous(w), contiguous(b)
        plan = self._plan(ctx, x, w, b)
        g, y, nk, chunks = plan.g, plan.y, plan.nk, plan.chunks
        o, p = w.shape[2], g.P
        x5 = x.reshape(g.x_shape)
        y3 = y.reshape(g.N, o, p)
        b2 = None if b is None else b.reshape(o, p)

        def run(k: int, ci: int) -> None:
            n0, n1 = chunks[ci]
            nb = n1 - n0
            col = plan.views[k][0][: p * nb * g.R].reshape(p, nb, g.R)
            t = plan.views[k][1][: p * nb * o].reshape(p, nb, o)
            K.im2col3d(x5, col, g, n0, n1, layout="positions", nthreads=nk)
            np.matmul(col, w, out=t)
            if b2 is None:
                np.copyto(y3[n0:n1], t.transpose(1, 2, 0))
            else:
                np.add(t.transpose(1, 2, 0), b2, out=y3[n0:n1])

        run_chunks(plan.n_workers, len(chunks), run)
        ctx.x, ctx.w = x, w
        return y

    def backward(self, ctx: Ctx, gy):
        plan: _LocalPlan = ctx.local_plan
        g, x, w = plan.g, ctx.x, ctx.w
        name = type(self).__name__
        gy = _check_gy(name, gy, plan.y.shape, x.dtype)
        flags = ctx.needs_grad
        need_x, need_w = flags[0], len(flags) > 1 and flags[1]
        need_b = len(flags) > 2 and flags[2]
        dt = x.dtype
        o, p, nk, chunks = w.shape[2], g.P, plan.nk, plan.chunks
        gy3 = gy.reshape(g.N, o, p)
        db = ctx.buf("db", gy.shape[1:], dt) if need_b else None
        dx = ctx.buf("dx", x.shape, dt) if need_x else None
        dw = ctx.buf("dw", w.shape, dt) if need_w else None
        x5 = x.reshape(g.x_shape)
        dx5 = dx.reshape(g.x_shape) if need_x else None
        wt = w.transpose(0, 2, 1)
        dw_parts, db_parts = plan.dw_parts, plan.db_parts

        def run(k: int, ci: int) -> None:
            n0, n1 = chunks[ci]
            nb = n1 - n0
            if need_b:
                np.sum(gy[n0:n1], axis=0, out=db_parts[ci])
            if not (need_w or need_x):
                return
            col = plan.views[k][0][: p * nb * g.R].reshape(p, nb, g.R)
            t = plan.views[k][1][: p * nb * o].reshape(p, nb, o)
            np.copyto(t, gy3[n0:n1].transpose(2, 0, 1))
            if need_w:
                K.im2col3d(x5, col, g, n0, n1, layout="positions", nthreads=nk)
                np.matmul(col.transpose(0, 2, 1), t, out=dw_parts[ci])
            if need_x:
                np.matmul(t, wt, out=col)
                K.col2im3d(col, dx5, g, n0, n1, overwrite=True, layout="positions", nthreads=nk)

        _finish_backward(plan, run, dw, db, need_x or need_w or need_b)
        return (dx, dw, db)[: len(flags)]


@register
class LocallyConnected2D(_LocallyConnected):
    """Locally connected 2-D layer: inputs [x (N, C, H, W), w (OH*OW, C*KH*KW, O)] or [x, w, b (O, OH, OW)].

    Output (N, O, OH, OW); weight rows are ordered (c, i, j) (c slowest), positions
    row-major (oh*OW + ow). See the module docstring.

    Args:
        kernel_size, strides: positive int or pair.
        padding: 'valid', 'same' or explicit pads.

    Example:
        >>> LocallyConnected2D(3).infer_shape((None, 2, 5, 6), (12, 18, 4))
        (None, 4, 3, 4)
    """

    type_name = "locally_connected2d"
    rank = 2


@register
class LocallyConnected1D(_LocallyConnected):
    """Locally connected 1-D layer: x (N, C, L), w (OL, C*K, O), b (O, OL) -> (N, O, OL).

    Example:
        >>> LocallyConnected1D(3, strides=2).infer_shape((None, 2, 9), (4, 6, 5))
        (None, 5, 4)
    """

    type_name = "locally_connected1d"
    rank = 1
