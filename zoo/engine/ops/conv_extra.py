"""Transposed convolutions, locally connected products, nearest upsampling and bilinear resizing.

- ConvTranspose1D/2D/3D: the adjoint of a convolution (the gradient of Conv w.r.t. its input),
  x (N, Cin, *S) and w (Cin, O, *K) -> y (N, O, *OS):

      y[n, o, q] = b[o] + sum_{c, k, p : p*s - pad + k*d = q} w[c, o, k] * x[n, c, p]

  computed as col = w.reshape(Cin, O*K)^T @ x (one GEMM per chunk of images) and col2vol.
  Output size per axis (Keras): 'valid' size*s + max(k_eff - s, 0), 'same' size*s, or with
  output_padding op: (size - 1)*s + k_eff - 2*pad + op (pad = k_eff // 2 for 'same', else 0),
  k_eff = (k - 1)*d + 1. The padding is the forward convolution's on the output size (TF).
- LocallyConnected1D/2D: a convolution whose weights differ per output position,
  x (N, C, *S), w (P, C*K, O) with P output positions and rows ordered (c, kernel taps), b (O, *OS):

      y[n, o, p] = b[o, p] + sum_r w[p, r, o] * patch(x[n], p)[r]

  computed as one batched GEMM over positions on a (P, N, C*K) patch buffer.
- Upsample: nearest-neighbour repetition of chosen axes by integer factors.
- ResizeBilinear: bilinear resize of two spatial axes, channels first or last, following
  TensorFlow's resize_bilinear (align_corners, half_pixel_centers).
- BlockGradient: identity forward, no gradient to its input (Analytics Zoo's
  propagate_back=False).
"""

from __future__ import annotations

import numpy as np

from zoo.engine import threads
from zoo.engine.kernels import conv as K2
from zoo.engine.kernels import conv3d as K
from zoo.engine.ops.base import Ctx, Op, normalize_axis, register
from zoo.engine.ops.chunks import check_arrays, contiguous, plan_chunks, run_chunks, workers_for
from zoo.engine.ops.padding import as_tuple, is_int, out_sizes, padding_config, parse_padding, resolve_padding

__all__ = [
    "BlockGradient",
    "ConvTranspose1D",
    "ConvTranspose2D",
    "ConvTranspose3D",
    "LocallyConnected1D",
    "LocallyConnected2D",
    "ResizeBilinear",
    "Upsample",
    "transpose_output_size",
]


def transpose_output_size(size: int, k: int, s: int, d: int, padding: str, output_padding: int | None) -> int:
    """Output length of a transposed convolution along one axis (Keras's deconv_output_length)."""
    eff = (k - 1) * d + 1
    if output_padding is None:
        return size * s + max(eff - s, 0) if padding == "valid" else size * s
    pad = eff // 2 if padding == "same" else 0
    return (size - 1) * s + eff - 2 * pad + output_padding


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


# ---- transposed convolution ---------------------------------------------------------------------


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
        try:
            y_shape = self.infer_shape(x.shape, w.shape, None if b is None else b.shape)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
        if x.shape[0] < 1:
            raise ValueError(f"{name}: expected a non-empty batch, got input shape {x.shape}")
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
            try:
                self.infer_shape(x.shape, w.shape, None if b is None else b.shape)
            except ValueError as e:
                raise ValueError(f"{name}: {e}") from None
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


# ---- locally connected --------------------------------------------------------------------------


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
        try:
            y_shape = self.infer_shape(x.shape, w.shape, None if b is None else b.shape)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
        if x.shape[0] < 1:
            raise ValueError(f"{name}: expected a non-empty batch, got input shape {x.shape}")
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
            try:
                self.infer_shape(x.shape, w.shape, None if b is None else b.shape)
            except ValueError as e:
                raise ValueError(f"{name}: {e}") from None
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


# ---- upsampling and resizing --------------------------------------------------------------------


@register
class Upsample(Op):
    """Nearest-neighbour upsampling: y = x with each element of axis axes[i] repeated sizes[i] times.

        y[..., i, ...] = x[..., i // s, ...] on each chosen axis

    Shapes: (d_a) -> (d_a * s_a) on the chosen axes. Backward sums each s_a-block. Up to three
    consecutive axes (the spatial axes of NC... or N...C layouts) run in C (csrc/conv3d.c);
    other choices in numpy.

    Args:
        sizes: positive ints, one per axis. axes: distinct axes (the batch axis 0 excluded).

    Example:
        >>> Upsample((2, 3), (2, 3)).infer_shape((None, 4, 5, 6))
        (None, 4, 10, 18)
    """

    type_name = "upsample"

    def __init__(self, sizes, axes):
        try:
            sizes, axes = tuple(sizes), tuple(axes)
        except TypeError:
            raise TypeError(
                f"Upsample: sizes and axes must be sequences of ints, got {sizes!r}, {axes!r}"
            ) from None
        if len(sizes) != len(axes) or not sizes:
            raise ValueError(f"Upsample: expected one size per axis, got sizes {sizes} and axes {axes}")
        if not all(is_int(s) and s >= 1 for s in sizes):
            raise ValueError(f"Upsample: sizes must be positive ints, got {sizes}")
        if not all(is_int(a) for a in axes):
            raise TypeError(f"Upsample: axes must be ints, got {axes}")
        self.sizes = tuple(int(s) for s in sizes)
        self.axes = tuple(int(a) for a in axes)

    def get_config(self) -> dict:
        return {"sizes": list(self.sizes), "axes": list(self.axes)}

    def _axes(self, ndim: int) -> dict:
        axes = [normalize_axis(a, ndim, "Upsample: axis") for a in self.axes]
        if len(set(axes)) != len(axes) or 0 in axes:
            raise ValueError(
                f"Upsample: axes must be distinct and exclude the batch axis 0, got {self.axes} for "
                f"rank {ndim}"
            )
        return dict(zip(axes, self.sizes))

    def infer_shape(self, x):
        f = self._axes(len(x))
        return tuple(None if d is None else d * f.get(a, 1) for a, d in enumerate(x))

    def forward(self, ctx: Ctx, x):
        check_arrays("Upsample", x)
        x = contiguous(x)
        if getattr(ctx, "key", None) != (x.shape, x.dtype):
            self._plan(ctx, x)
        y = ctx.buf("y", ctx.yshape, x.dtype)
        if ctx.lay is not None:
            return K.upsample_forward(x, y, ctx.lay, ctx.factors)
        np.copyto(y.reshape(ctx.inter_y), x.reshape(ctx.inter_x))
        return y

    def _plan(self, ctx: Ctx, x) -> None:
        f = self._axes(x.ndim)
        ctx.yshape = tuple(d * f.get(a, 1) for a, d in enumerate(x.shape))
        axes = sorted(f)
        ctx.lay = ctx.factors = None
        if len(axes) <= 3 and axes == list(range(axes[0], axes[0] + len(axes))) and 0 not in x.shape:
            # consecutive axes: the C kernel on (outer, D, H, W, inner)
            pad = 3 - len(axes)
            spatial = (1,) * pad + tuple(x.shape[a] for a in axes)
            ctx.lay = (int(np.prod(x.shape[: axes[0]])), *spatial, int(np.prod(x.shape[axes[-1] + 1 :])))
            ctx.factors = (1,) * pad + tuple(f[a] for a in axes)
        inter_y, inter_x, red = [], [], []
        for a, d in enumerate(x.shape):
            inter_y.append(d)
            inter_x.append(d)
            if a in f:
                red.append(len(inter_y))
                inter_y.append(f[a])
                inter_x.append(1)
        ctx.inter_y, ctx.inter_x, ctx.red = tuple(inter_y), tuple(inter_x), tuple(red)
        ctx.key = (x.shape, x.dtype)

    def backward(self, ctx: Ctx, gy):
        xshape, dt = ctx.key
        gy = _check_gy("Upsample", gy, ctx.yshape, dt)
        gx = ctx.buf("gx", xshape, dt)
        if ctx.lay is not None:
            return (K.upsample_backward(gy, gx, ctx.lay, ctx.factors, overwrite=True),)
        np.sum(gy.reshape(ctx.inter_y), axis=ctx.red, out=gx)
        return (gx,)


@register
class ResizeBilinear(Op):
    """Bilinear resize of the two spatial axes of (N, C, H, W) or (N, H, W, C) input to (OH, OW).

    y = top + (bottom - top)*ly, top/bottom = left + (right - left)*lx over the four nearest
    source pixels; source coordinate of output index i: i*scale, or (i + 0.5)*scale - 0.5
    with half_pixel_centers; scale = in/out, or (in - 1)/(out - 1) with align_corners (as
    TensorFlow's resize_bilinear; tf.image.resize's bilinear is half_pixel_centers=True).

    Args:
        size: (OH, OW) positive ints.
        align_corners, half_pixel_centers: bools, not both True.
        data_format: 'channels_first' (NCHW) or 'channels_last' (NHWC).

    Example:
        >>> ResizeBilinear((8, 9)).infer_shape((None, 3, 4, 5))
        (None, 3, 8, 9)
    """

    type_name = "resize_bilinear"

    def __init__(
        self,
        size,
        align_corners: bool = False,
        half_pixel_centers: bool = False,
        data_format: str = "channels_first",
    ):
        self.size = as_tuple(size, 2, "ResizeBilinear: size")
        for label, v in (("align_corners", align_corners), ("half_pixel_centers", half_pixel_centers)):
            if not isinstance(v, (bool, np.bool_)):
                raise TypeError(f"ResizeBilinear: {label} must be a bool, got {v!r}")
        if align_corners and half_pixel_centers:
            raise ValueError("ResizeBilinear: align_corners and half_pixel_centers cannot both be True")
        if data_format not in ("channels_first", "channels_last"):
            raise ValueError(
                f"ResizeBilinear: data_format must be 'channels_first' or 'channels_last', "
                f"got {data_format!r}"
            )
        self.align_corners, self.half_pixel_centers = bool(align_corners), bool(half_pixel_centers)
        self.data_format = data_format

    def get_config(self) -> dict:
        return {
            "size": list(self.size),
            "align_corners": self.align_corners,
            "half_pixel_centers": self.half_pixel_centers,
            "data_format": self.data_format,
        }

    def infer_shape(self, x):
        x = tuple(x)
        if len(x) != 4:
            raise ValueError(f"expected a 4-D input, got shape {x}")
        if self.data_format == "channels_first":
            return (x[0], x[1], *self.size)
        return (x[0], *self.size, x[3])

    def forward(self, ctx: Ctx, x):
        check_arrays("ResizeBilinear", x)
        if x.ndim != 4:
            raise ValueError(f"ResizeBilinear: expected a 4-D input, got shape {x.shape}")
        x = contiguous(x)
        if x.shape[0] < 1 or 0 in x.shape:
            raise ValueError(f"ResizeBilinear: expected a non-empty input, got shape {x.shape}")
        if self.data_format == "channels_first":
            n, c, h, w = x.shape
            lay = (n * c, h, w, 1)
        else:
            n, h, w, c = x.shape
            lay = (n, h, w, c)
        ctx.lay, ctx.xshape = lay, x.shape
        y = ctx.buf("y", self.infer_shape(x.shape), x.dtype)
        return K.resize_bilinear_forward(x, y, lay, self.size, self.align_corners, self.half_pixel_centers)

    def backward(self, ctx: Ctx, gy):
        if not ctx.needs_grad[0]:
            return (None,)
        gy = _check_gy("ResizeBilinear", gy, self.infer_shape(ctx.xshape), gy.dtype)
        dx = ctx.buf("dx", ctx.xshape, gy.dtype)
        return (
            K.resize_bilinear_backward(
                gy, dx, ctx.lay, self.size, self.align_corners, self.half_pixel_centers, overwrite=True
            ),
        )


@register
class BlockGradient(Op):
    """y = x; backward passes no gradient to x (nothing before it is trained through it).

    Example:
        >>> BlockGradient().infer_shape((None, 3))
        (None, 3)
    """

    type_name = "block_gradient"

    def infer_shape(self, x):
        return tuple(x)

    def forward(self, ctx: Ctx, x):
        return x

    def backward(self, ctx: Ctx, gy):
        return (None,)
