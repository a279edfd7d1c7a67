"""3-D convolution and pooling: Conv3D, MaxPool3D, AvgPool3D.

    conv: y[n, o, od, oh, ow] = b[o] + sum_{c in group(o), a, b, e} w[o, c, a, b, e]
                                * x[n, c, od*sd - pf + a*dd, oh*sh - pt + b*dh, ow*sw - pl + e*dw]
    max:  y[n, c, od, oh, ow] = max over the window of x[n, c] (the window clipped to the volume)
    avg:  y[n, c, od, oh, ow] = sum over the window of x[n, c] / divisor

with x (N, C, D, H, W), w (O, C/groups, KD, KH, KW), b (O,), zeros outside the volume. The
convolution is vol2col in C (csrc/conv3d.c) plus one BLAS GEMM per group over a chunk of
images whose column matrix fits in the cache; backward recomputes the columns per chunk,
gets dW with one GEMM and dx with a GEMM plus col2vol. 1x1x1 stride-1 unpadded convolutions
skip vol2col. With several threads, the chunks go to one worker per thread, each running
single-threaded kernels and GEMMs on its chunk (no OpenMP and BLAS thread pools at once);
each chunk's weight gradient has its own slot, summed in chunk order, so results do not
depend on the number of threads.

Padding: 'valid'; 'same' (TF rule per axis: output ceil(size / s), the odd voxel after);
an int; a triple; or explicit ((front, back), (top, bottom), (left, right)). Pooling pads
must be smaller than the pool size; the average divisor is the voxel count, or with
count_include_pad the window clipped to the padded volume.
"""

from __future__ import annotations

import numpy as np

from zoo.engine import threads
from zoo.engine.kernels import conv as K2
from zoo.engine.kernels import conv3d as K
from zoo.engine.ops.base import Ctx, Op, register
from zoo.engine.ops.chunks import (
    check_arrays,
    checked_shape,
    contiguous,
    plan_chunks,
    run_chunks,
    workers_for,
)
from zoo.engine.ops.window import (  # noqa: F401
    as_tuple,
    is_int,
    out_sizes,
    padding_config,
    parse_padding,
    resolve_padding,
    same_pads,
)

__all__ = [
    "AvgPool3D",
    "Conv3D",
    "MaxPool3D",
    "as_tuple",
    "parse_padding",
    "plan_chunks",
    "resolve_padding",
    "run_chunks",
    "workers_for",
]

class _ConvPlan:
    __slots__ = ("chunks", "db_parts", "dw_parts", "g", "key", "mode", "n_workers", "nk", "views", "y")


@register
class Conv3D(Op):
    """3-D convolution of NCDHW input: inputs [x (N, C, D, H, W), w (O, C/groups, KD, KH, KW)] or [x, w, b (O,)].

    Output (N, O, OD, OH, OW), each size floor((size + before + after - ((k-1)*d + 1)) / s) + 1
    (ceil(size / s) for 'same'); see the module docstring.

    Args:
        strides, dilation: positive int or triple.
        padding: 'valid', 'same', int, triple or ((front, back), (top, bottom), (left, right)).
        groups: positive int dividing C and O.

    Example:
        >>> Conv3D(strides=2, padding="same").infer_shape((None, 3, 5, 7, 6), (8, 3, 3, 3, 3))
        (None, 8, 3, 4, 3)
    """

    type_name = "conv3d"

    def __init__(self, strides=1, padding="valid", dilation=1, groups: int = 1):
        self.strides = as_tuple(strides, 3, "Conv3D: strides")
        self.dilation = as_tuple(dilation, 3, "Conv3D: dilation")
        self.padding = parse_padding(padding, 3, "Conv3D")
        if not is_int(groups) or groups < 1:
            raise ValueError(f"Conv3D: groups must be a positive int, got {groups!r}")
        self.groups = int(groups)

    def get_config(self) -> dict:
        return {
            "strides": list(self.strides),
            "padding": padding_config(self.padding),
            "dilation": list(self.dilation),
            "groups": self.groups,
        }

    def infer_shape(self, x, w, b=None):
        x, w = tuple(x), tuple(w)
        if len(x) != 5:
            raise ValueError(f"expected a 5-D input (N, C, D, H, W), got shape {x}")
        if len(w) != 5:
            raise ValueError(f"expected a 5-D weight (O, C/groups, KD, KH, KW), got shape {w}")
        g, o = self.groups, w[0]
        if o is not None and o % g:
            raise ValueError(f"groups={g} must divide the output channels, got weight shape {w}")
        if x[1] is not None and w[1] is not None and x[1] != w[1] * g:
            raise ValueError(
                f"expected {w[1] * g} input channels (weight {w}, groups={g}), got input shape {x}"
            )
        if b is not None and (len(b) != 1 or (o is not None and b[0] is not None and b[0] != o)):
            raise ValueError(f"expected bias shape ({o},), got {tuple(b)}")
        return (x[0], o, *out_sizes(self.padding, x[2:], w[2:], self.strides, self.dilation))

    def _plan(self, ctx: Ctx, x, w, b) -> _ConvPlan:
        nthreads = threads.get_num_threads()
        key = (x.shape, w.shape, x.dtype, b is None, nthreads)
        plan = ctx.__dict__.get("conv3d_plan")
        if plan is not None and plan.key == key:
            return plan
        checked_shape("Conv3D", self.infer_shape, x, w, b, batch=True)
        pads = resolve_padding(self.padding, x.shape[2:], w.shape[2:], self.strides, self.dilation)
        g = K.Geometry3D(
            x.shape, w.shape[2:], self.strides, self.dilation, pads, w.shape[0], self.groups, "Conv3D"
        )
        dt = x.dtype
        plan = _ConvPlan()
        plan.key, plan.g = key, g
        plan.y = ctx.buf("y", g.out_shape, dt)
        one = g.taps == 1 and g.strides == (1, 1, 1) and pads == ((0, 0),) * 3 and g.groups == 1
        plan.mode = "1x1" if one else "gemm"
        per_image = (g.C + g.O) * g.P if one else (g.R + g.O) * g.P
        plan.chunks = plan_chunks(g.N, per_image * dt.itemsize)
        plan.n_workers, plan.nk = workers_for(len(plan.chunks), nthreads)
        nb = max(n1 - n0 for n0, n1 in plan.chunks)
        plan.views = []
        for k in range(plan.n_workers):
            if one:
                plan.views.append(ctx.buf(("dw_images", k), (nb, g.O, g.C), dt))
            else:
                plan.views.append(
                    (ctx.buf(("col", k), (g.R * nb * g.P,), dt), ctx.buf(("t", k), (g.O * nb * g.P,), dt))
                )
        wshape = (g.O, g.C) if one else self._w2(w, g).shape
        plan.dw_parts = ctx.buf("dw_parts", (len(plan.chunks), *wshape), dt)
        plan.db_parts = ctx.buf("db_parts", (len(plan.chunks), g.O), dt)
        ctx.conv3d_plan = plan
        return plan

    def _views(self, plan: _ConvPlan, k: int, nb: int):
        """(col (R, nb*P) or grouped, t (O, nb*P) or grouped, t as (O, nb, P)) of worker k for nb images."""
        g = plan.g
        col = plan.views[k][0][: g.R * nb * g.P]
        t = plan.views[k][1][: g.O * nb * g.P]
        if g.groups == 1:
            return col.reshape(g.R, nb * g.P), t.reshape(g.O, nb * g.P), t.reshape(g.O, nb, g.P)
        gr = g.groups
        return (
            col.reshape(gr, g.R // gr, nb * g.P),
            t.reshape(gr, g.O // gr, nb * g.P),
            t.reshape(g.O, nb, g.P),
        )

    def _w2(self, w, g):
        return w.reshape(g.O, g.R // g.groups) if g.groups == 1 else w.reshape(g.groups, g.O // g.groups, -1)

    def forward(self, ctx: Ctx, x, w, b=None):
        check_arrays("Conv3D", x, w, b)
        if x.ndim != 5 or w.ndim != 5:
            checked_shape("Conv3D", self.infer_shape, x, w, b)
        x, w, b = contiguous(x), contiguous(w), contiguous(b)
        plan = self._plan(ctx, x, w, b)
        g, y, nk, chunks = plan.g, plan.y, plan.nk, plan.chunks
        ctx.x, ctx.w = x, w
        y3 = y.reshape(g.N, g.O, g.P)
        if plan.mode == "1x1":
            w2, x3 = w.reshape(g.O, g.C), x.reshape(g.N, g.C, g.P)

            def run(k: int, ci: int) -> None:
                n0, n1 = chunks[ci]
                np.matmul(w2, x3[n0:n1], out=y3[n0:n1])
                if b is not None:
                    K2.bias_add(y3[n0:n1], b)

        else:
            w2 = self._w2(w, g)

            def run(k: int, ci: int) -> None:
                n0, n1 = chunks[ci]
                col, t, t3 = self._views(plan, k, n1 - n0)
                K.im2col3d(x, col, g, n0, n1, nthreads=nk)
                np.matmul(w2, col, out=t)
                K2.swap01(t3, y3[n0:n1], b, nthreads=nk)

        run_chunks(plan.n_workers, len(chunks), run)
        return y

    def backward(self, ctx: Ctx, gy):
        plan: _ConvPlan = ctx.conv3d_plan
        g, x, w, nk, chunks = plan.g, ctx.x, ctx.w, plan.nk, plan.chunks
        if not (isinstance(gy, np.ndarray) and gy.flags.c_contiguous and gy.dtype == x.dtype):
            gy = np.ascontiguousarray(gy, dtype=x.dtype)
        if gy.shape != g.out_shape:
            raise ValueError(f"Conv3D: expected an output gradient of shape {g.out_shape}, got {gy.shape}")
        flags = ctx.needs_grad
        need_x, need_w = flags[0], len(flags) > 1 and flags[1]
        need_b = len(flags) > 2 and flags[2]
        dt = x.dtype
        gy3 = gy.reshape(g.N, g.O, g.P)
        dx = ctx.buf("dx", x.shape, dt) if need_x else None
        dw = ctx.buf("dw", w.shape, dt) if need_w else None
        db = ctx.buf("db", (g.O,), dt) if need_b else None
        dw_parts, db_parts = plan.dw_parts, plan.db_parts
        if plan.mode == "1x1":
            w2t, x3 = w.reshape(g.O, g.C).T, x.reshape(g.N, g.C, g.P)
            dx3 = dx.reshape(g.N, g.C, g.P) if need_x else None

            def run(k: int, ci: int) -> None:
                n0, n1 = chunks[ci]
                if need_b:
                    np.sum(gy3[n0:n1], axis=(0, 2), out=db_parts[ci])
                if need_x:
                    np.matmul(w2t, gy3[n0:n1], out=dx3[n0:n1])
                if need_w:
                    tmp = plan.views[k][: n1 - n0]
                    np.matmul(gy3[n0:n1], x3[n0:n1].transpose(0, 2, 1), out=tmp)
                    np.sum(tmp, axis=0, out=dw_parts[ci])

        else:
            w2 = self._w2(w, g)
            w2t = w2.T if g.groups == 1 else w2.transpose(0, 2, 1)

            def run(k: int, ci: int) -> None:
                n0, n1 = chunks[ci]
                col, t, t3 = self._views(plan, k, n1 - n0)
                K2.swap01(gy3[n0:n1], t3, nthreads=nk)
                if need_b:
                    np.sum(t3, axis=(1, 2), out=db_parts[ci])
                if need_w:
                    K.im2col3d(x, col, g, n0, n1, nthreads=nk)
                    np.matmul(t, col.T if g.groups == 1 else col.transpose(0, 2, 1), out=dw_parts[ci])
                if need_x:
                    np.matmul(w2t, t, out=col)
                    K.col2im3d(col, dx, g, n0, n1, overwrite=True, nthreads=nk)

        if need_x or need_w or need_b:
            run_chunks(plan.n_workers, len(chunks), run)
        if need_w:  # the chunks' partial gradients, summed in chunk order
            np.sum(dw_parts, axis=0, out=dw.reshape(dw_parts.shape[1:]))
        if need_b:
            np.sum(db_parts, axis=0, out=db)
        return (dx, dw, db)[: len(flags)]


# ---- pooling ------------------------------------------------------------------------------------


class _PoolPlan:
    __slots__ = ("argmax", "g", "key", "y")


class _Pool3D(Op):
    def __init__(self, pool_size=2, strides=None, padding="valid"):
        name = type(self).__name__
        self.pool_size = as_tuple(pool_size, 3, f"{name}: pool_size")
        self.strides = self.pool_size if strides is None else as_tuple(strides, 3, f"{name}: strides")
        self.padding = parse_padding(padding, 3, name)
        if isinstance(self.padding, tuple) and any(max(p) >= k for p, k in zip(self.padding, self.pool_size)):
            raise ValueError(
                f"{name}: padding must be smaller than the pool size {self.pool_size} on each side, "
                f"got {padding!r}"
            )

    def get_config(self) -> dict:
        return {
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": padding_config(self.padding),
        }

    def infer_shape(self, x):
        x = tuple(x)
        if len(x) != 5:
            raise ValueError(f"expected a 5-D input (N, C, D, H, W), got shape {x}")
        return (x[0], x[1], *out_sizes(self.padding, x[2:], self.pool_size, self.strides, (1, 1, 1)))

    def _plan(self, ctx: Ctx, x) -> _PoolPlan:
        key = (x.shape, x.dtype)
        plan = ctx.__dict__.get("pool3d_plan")
        if plan is not None and plan.key == key:
            return plan
        name = type(self).__name__
        check_arrays(name, x)
        try:
            self.infer_shape(x.shape)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
        pads = resolve_padding(self.padding, x.shape[2:], self.pool_size, self.strides, (1, 1, 1))
        plan = _PoolPlan()
        plan.key = key
        plan.g = K.Geometry3D(x.shape, self.pool_size, self.strides, (1, 1, 1), pads, x.shape[1], 1, name)
        plan.y = ctx.buf("y", plan.g.out_shape, x.dtype)
        plan.argmax = None
        ctx.pool3d_plan = plan
        return plan

    def _gy(self, plan: _PoolPlan, gy):
        if not (isinstance(gy, np.ndarray) and gy.flags.c_contiguous and gy.dtype == plan.y.dtype):
            gy = np.ascontiguousarray(gy, dtype=plan.y.dtype)
        if gy.shape != plan.g.out_shape:
            raise ValueError(
                f"{type(self).__name__}: expected an output gradient of shape {plan.g.out_shape}, "
                f"got {gy.shape}"
            )
        return gy


@register
class MaxPool3D(_Pool3D):
    """Max pooling of NCDHW input (N, C, D, H, W) -> (N, C, OD, OH, OW); see the module docstring.

    Args:
        pool_size: int or triple. strides: int, triple or None (= pool_size).
        padding: 'valid', 'same', int, triple or explicit pairs (each smaller than the pool size).

    Example:
        >>> MaxPool3D(2).infer_shape((None, 3, 5, 7, 6))
        (None, 3, 2, 3, 3)
    """

    type_name = "maxpool3d"

    def forward(self, ctx: Ctx, x):
        check_arrays("MaxPool3D", x)
        x = contiguous(x)
        plan = self._plan(ctx, x)
        if plan.argmax is None:
            plan.argmax = ctx.buf("argmax", plan.g.out_shape, np.int32)
        return K.maxpool3d_forward(x, plan.y, plan.argmax, plan.g)

    def backward(self, ctx: Ctx, gy):
        if not ctx.needs_grad[0]:
            return (None,)
        plan = ctx.pool3d_plan
        gy = self._gy(plan, gy)
        dx = ctx.buf("dx", plan.g.x_shape, plan.y.dtype)
        return (K.maxpool3d_backward(gy, plan.argmax, dx, plan.g, overwrite=True),)


@register
class AvgPool3D(_Pool3D):
    """Average pooling of NCDHW input (N, C, D, H, W) -> (N, C, OD, OH, OW); see the module docstring.

    Args:
        pool_size, strides, padding: as MaxPool3D.
        count_include_pad: divide by the window clipped to the padded volume instead of the
            voxel count (False, the TF / Keras rule).

    Example:
        >>> AvgPool3D(3, strides=2, padding="same").infer_shape((None, 3, 5, 7, 6))
        (None, 3, 3, 4, 3)
    """

    type_name = "avgpool3d"

    def __init__(self, pool_size=2, strides=None, padding="valid", count_include_pad: bool = False):
        super().__init__(pool_size, strides, padding)
        if not isinstance(count_include_pad, (bool, np.bool_)):
            raise TypeError(f"AvgPool3D: count_include_pad must be a bool, got {count_include_pad!r}")
        self.count_include_pad = bool(count_include_pad)

    def get_config(self) -> dict:
        return {**super().get_config(), "count_include_pad": self.count_include_pad}

    def forward(self, ctx: Ctx, x):
        check_arrays("AvgPool3D", x)
        x = contiguous(x)
        plan = self._plan(ctx, x)
        return K.avgpool3d_forward(x, plan.y, plan.g, self.count_include_pad)

    def backward(self, ctx: Ctx, gy):
        if not ctx.needs_grad[0]:
            return (None,)
        plan = ctx.pool3d_plan
        gy = self._gy(plan, gy)
        dx = ctx.buf("dx", plan.g.x_shape, plan.y.dtype)
        return (K.avgpool3d_backward(gy, dx, plan.g, self.count_include_pad, overwrite=True),)
