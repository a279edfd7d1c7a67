"""Transposed convolutions: ConvTranspose1D/2D/3D, the adjoint of a convolution (see the package
docstring), and `transpose_output_size`.
"""

from __future__ import annotations

import numpy as np

from zoo.engine import threads
from zoo.engine.kernels import conv as K2
from zoo.engine.kernels import conv3d as K
from zoo.engine.ops.base import Ctx, Op, register
from zoo.engine.ops.chunks import check_arrays, checked_shape, contiguous, run_chunks
from zoo.engine.ops.conv_extra._common import _check_gy, _chunking, _finish_backward, _spatial3, _to3
from zoo.engine.ops.window import as_tuple, out_sizes, resolve_padding


def transpose_output_size(size: int, k: int, s: int, d: int, padding: str, output_padding: int | None) -> int:
    """Output length of a transposed convolution along one axis (Keras's deconv_output_length)."""
    eff = (k - 1) * d + 1
    if output_padding is None:
        return size * s + max(eff - s, 0) if padding == "valid" else size * s
    pad = eff // 2 if padding == "same" else 0
    return (size - 1) * s + eff - 2 * pad + output_padding


class _TransposePlan:
    __slots__ = ("chunks", "db_parts", "dw_parts", "g", "key", "n_workers", "nk", "views", "y")


class _ConvTranspose(Op):
    rank = 2

    def __init__(self, strides=1, padding="valid", output_padding=None, dilation=1):
        name, n = type(self).__name__, self.rank
        self.strides = as_tuple(strides, n, f"{name}: strides")
        self.dilation = as_tuple(dilation, n, f"{name}: dilation")
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError(f"{name}: padding must be 'valid' or 'same', got {padding!r}")
        self.padding = padding.lower()
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = as_tuple(output_padding, n, f"{name}: output_padding", low=0)
            for a in range(n):
                if self.output_padding[a] >= self.strides[a] and self.output_padding[a] >= self.dilation[a]:
                    raise ValueError(
                        f"{name}: output_padding {self.output_padding} must be smaller than the strides "
                        f"{self.strides} or the dilation {self.dilation}"
                    )

    def get_config(self) -> dict:
        return {
            "strides": list(self.strides),
            "padding": self.padding,
            "output_padding": None if self.output_padding is None else list(self.output_padding),
            "dilation": list(self.dilation),
        }

    def infer_shape(self, x, w, b=None):
        n = self.rank
        x, w = tuple(x), tuple(w)
        if len(x) != n + 2:
            raise ValueError(f"expected a {n + 2}-D input (N, C, *spatial), got shape {x}")
        if len(w) != n + 2:
            raise ValueError(f"expected a {n + 2}-D weight (Cin, O, *kernel), got shape {w}")
        if x[1] is not None and w[0] is not None and x[1] != w[0]:
            raise ValueError(f"expected {w[0]} input channels (weight {w}), got input shape {x}")
        o = w[1]
        if b is not None and (len(b) != 1 or (o is not None and b[0] is not None and b[0] != o)):
            raise ValueError(f"expected bias shape ({o},), got {tuple(b)}")
        out = []
        for a in range(n):
            size, k = x[2 + a], w[2 + a]
            if size is None or k is None:
                out.append(None)
                continue
            op = None if self.output_padding is None else self.output_padding[a]
            q = transpose_output_size(size, k, self.strides[a], self.dilation[a], self.padding, op)
            if q < 1:
                raise ValueError(
                    f"the output size along spatial axis {a} would be {q} (input shape {x}, kernel {w[2:]})"
                )
            out.append(q)
        return (x[0], o, *out)

    def _plan(self, ctx: Ctx, x, w, b) -> _TransposePlan:
        nthreads = threads.get_num_threads()
        key = (x.shape, w.shape, x.dtype, b is None, nthreads)
        plan = ctx.__dict__.get("tconv_plan")
        if plan is not None and plan.key == key:
            return plan
        name, n = type(self).__name__, self.rank
        y_shape = checked_shape(name, self.infer_shape, x, w, b, batch=True)
        pads = resolve_padding(self.padding, y_shape[2:], w.shape[2:], self.strides, self.dilation)
        fwd = out_sizes(pads, y_shape[2:], w.shape[2:], self.strides, self.dilation)
        if fwd != x.shape[2:]:
            raise ValueError(
                f"{name}: output_padding {self.output_padding} gives an output {y_shape[2:]} whose "
                f"convolution has size {fwd}, not the input's {x.shape[2:]}"
            )
        g = K.Geometry3D(
            _to3(y_shape, n),
            _spatial3(w.shape[2:], n),
            _spatial3(self.strides, n),
            _spatial3(self.dilation, n),
            ((0, 0),) * (3 - n) + tuple(pads),
            w.shape[0],
            1,
            name,
        )
        dt = x.dtype
        plan = _TransposePlan()
        plan.key, plan.g = key, g
        plan.y = ctx.buf("y", y_shape, dt)
        _chunking(ctx, plan, g.N, g.R * g.P, g.O * g.P, (g.O, g.R), (g.C,), dt, nthreads)
        ctx.tconv_plan = plan
        return plan

    def forward(self, ctx: Ctx, x, w, b=None):
        name = type(self).__name__
        check_arrays(name, x, w, b)
        if x.ndim != self.rank + 2 or w.ndim != self.rank + 2:
            checked_shape(name, self.infer_shape, x, w, b)
        x, w, b = contiguous(x), contiguous(w), contiguous(b)
        plan = self._plan(ctx, x, w, b)
        g, y, nk, chunks = plan.g, plan.y, plan.nk, plan.chunks
        ctx.x, ctx.w = x, w
        # geometry: the conv from y (C = O channels) to x (O = Cin channels)
        cin, p = g.O, g.P
        w2t = w.reshape(cin, g.R).T
        x3 = x.reshape(g.N, cin, p)
        y5 = y.reshape(g.x_shape)

        def run(k: int, ci: int) -> None:
            n0, n1 = chunks[ci]
            nb = n1 - n0
            col, xs = plan.views[k][0][: g.R * nb * p], plan.views[k][1][: cin * nb * p]
            K2.swap01(x3[n0:n1], xs.reshape(cin, nb, p), nthreads=nk)
            np.matmul(w2t, xs.reshape(cin, nb * p), out=col.reshape(g.R, nb * p))
            K.col2im3d(col, y5, g, n0, n1, overwrite=True, nthreads=nk)
            if b is not None:
                K2.bias_add(y[n0:n1], b)

        run_chunks(plan.n_workers, len(chunks), run)
        return y

    def backward(self, ctx: Ctx, gy):
        plan: _TransposePlan = ctx.tconv_plan
        g, x, w = plan.g, ctx.x, ctx.w
        name = type(self).__name__
        gy = _check_gy(name, gy, plan.y.shape, x.dtype)
        flags = ctx.needs_grad
        need_x, need_w = flags[0], len(flags) > 1 and flags[1]
        need_b = len(flags) > 2 and flags[2]
        dt = x.dtype
        cin, p, nk, chunks = g.O, g.P, plan.nk, plan.chunks
        gy5 = gy.reshape(g.x_shape)
        gy3 = gy.reshape(g.N, g.C, -1)
        dx = ctx.buf("dx", x.shape, dt) if need_x else None
        dw = ctx.buf("dw", w.shape, dt) if need_w else None
        db = ctx.buf("db", (g.C,), dt) if need_b else None
        w2 = w.reshape(cin, g.R)
        x3 = x.reshape(g.N, cin, p)
        dw_parts, db_parts = plan.dw_parts, plan.db_parts

        def run(k: int, ci: int) -> None:
            n0, n1 = chunks[ci]
            nb = n1 - n0
            col = plan.views[k][0][: g.R * nb * p].reshape(g.R, nb * p)
            xs = plan.views[k][1][: cin * nb * p].reshape(cin, nb * p)
            if need_b:
                np.sum(gy3[n0:n1], axis=(0, 2), out=db_parts[ci])
            if not (need_w or need_x):
                return
            K.im2col3d(gy5, col, g, n0, n1, nthreads=nk)
            if need_w:
                K2.swap01(x3[n0:n1], xs.reshape(cin, nb, p), nthreads=nk)
                np.matmul(xs, col.T, out=dw_parts[ci])
            if need_x:
                np.matmul(w2, col, out=xs)
                K2.swap01(xs.reshape(cin, nb, p), dx[n0:n1].reshape(nb, cin, p), nthreads=nk)

        _finish_backward(plan, run, dw, db, need_x or need_w or need_b)
        return (dx, dw, db)[: len(flags)]


@register
class ConvTranspose2D(_ConvTranspose):
    """Transposed 2-D convolution: inputs [x (N, Cin, H, W), w (Cin, O, KH, KW)] or [x, w, b (O,)].

    Output (N, O, OH, OW) with sizes as in the module docstring.

    Args:
        strides, dilation: positive int or pair. padding: 'valid' or 'same'.
        output_padding: None or non-negative int / pair, each below the stride.

    Example:
        >>> ConvTranspose2D(strides=2, padding="same").infer_shape((None, 4, 5, 6), (4, 3, 3, 3))
        (None, 3, 10, 12)
    """

    type_name = "conv_transpose2d"
    rank = 2


@register
class ConvTranspose1D(_ConvTranspose):
    """Transposed 1-D convolution: x (N, Cin, L), w (Cin, O, K), b (O,) -> (N, O, OL).

    Example:
        >>> ConvTranspose1D(strides=3).infer_shape((None, 4, 5), (4, 2, 2))
        (None, 2, 15)
    """

    type_name = "conv_transpose1d"
    rank = 1


@register
class ConvTranspose3D(_ConvTranspose):
    """Transposed 3-D convolution: x (N, Cin, D, H, W), w (Cin, O, KD, KH, KW), b (O,) -> (N, O, OD, OH, OW).

    Example:
        >>> ConvTranspose3D(strides=2).infer_shape((None, 4, 2, 3, 4), (4, 2, 3, 3, 3))
        (None, 2, 5, 7, 9)
    """

    type_name = "conv_transpose3d"
    rank = 3
