"""Convolutions: Conv2D and Conv1D (strided, dilated, grouped, asymmetric padding).

    y[n, o, oh, ow] = b[o] + sum_{c in group(o), i, j} w[o, c, i, j] * x[n, c, oh*sh - pt + i*dh, ow*sw - pl + j*dw]

with x (N, C, H, W), w (O, C/groups, KH, KW), b (O,), y (N, O, OH, OW) and zeros outside the
image. The work is im2col in C (csrc/conv.c) plus one BLAS GEMM per group over a chunk of
images whose column matrix fits in the cache; backward recomputes the column matrix per
chunk (each thread's last chunk is reused), gets dW with one GEMM and dx with a GEMM plus
col2im. 3x3 stride-1 convolutions with 16+ channels use Winograd F(2x2, 3x3) instead (C
transforms around 16 batched GEMMs, 2.25x fewer multiplications), 1x1 stride-1 ones on
images of 512+ pixels skip im2col (one GEMM per image), and depthwise ones (groups == C)
use a direct C stencil instead of tiny GEMMs. The threads share a batch chunk by chunk,
each running single-threaded GEMMs on data in its own cache; results do not depend on the
number of threads. Buffers (column matrices, transforms, gradient parts) live in the node's
Ctx and are reused across calls; the per-shape plan prepares the kernels' arguments, so a
call costs a few microseconds of Python per chunk.

Padding (TF semantics for 'same'): 'valid' (none); 'same' (output ceil(H / s); total pad
max((ceil(H/s) - 1)*s + (k-1)*d + 1 - H, 0), the odd pixel at the bottom/right); an int p
(p on every side); a pair (ph, pw); or explicit ((top, bottom), (left, right)).
"""

from __future__ import annotations

import numpy as np

from zoo.engine import _native, threads
from zoo.engine.kernels import conv as K
from zoo.engine.ops.base import Ctx, Op, as_pair, register
from zoo.engine.ops.chunks import checked_shape, plan_chunks
from zoo.engine.ops.conv_plan import Plan, Worker, kernel_args, make_buffers, run_workers
from zoo.engine.ops.window import (
    conv_output_size,
    is_int,
    padding_config,
    parse_padding_2d,
    resolve_pads,
    same_pads,
)

__all__ = [
    "COL_CHUNK_BYTES",
    "Conv1D",
    "Conv2D",
    "conv_output_size",
    "parse_padding_2d",
    "resolve_pads",
    "same_pads",
]

#: Target size of one chunk's column matrix: large enough for efficient GEMMs, small enough
#: to stay in the cache between im2col and the GEMM.
COL_CHUNK_BYTES = 4 << 20

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


#: 3x3 stride-1 convolutions (no dilation or groups) with at least this many input and
#: output channels and an output of at least 8x8 pixels use Winograd F(2x2, 3x3): 16 GEMMs
#: with 2.25x fewer multiplications (below that, im2col is as fast or faster).
WINOGRAD = True
WINOGRAD_MIN_CHANNELS = 16
#: Chunk size target of the Winograd input transform (its GEMMs have K = C only, so they
#: want their operands in the cache).
WINOGRAD_CHUNK_BYTES = 1 << 20

#: 1x1 stride-1 convolutions of at least this many pixels per image run one GEMM per image
#: on the input as it is; smaller images go through the column path (a transposing copy and
#: one GEMM over the whole chunk), whose wider GEMMs are faster.
ONE_BY_ONE_MIN_PIXELS = 512

#: A batch is cut into at least this many chunks (when it has the images), so that two to
#: four threads share it evenly, whatever the number of threads.
MIN_CHUNKS = 4


@register
class Conv2D(Op):
    """2-D convolution of NCHW input: inputs [x (N, C, H, W), w (O, C/groups, KH, KW)] or [x, w, b (O,)].

    Output (N, O, OH, OW) with OH = floor((H + top + bottom - ((KH-1)*dh + 1)) / sh) + 1 (same for OW);
    see the module docstring for the formula and the padding forms.

    Args:
        strides: positive int or pair (sh, sw).
        padding: 'valid', 'same', int, pair or ((top, bottom), (left, right)).
        dilation: positive int or pair (dh, dw).
        groups: positive int dividing C and O; groups == C is a depthwise convolution.

    Example:
        >>> Conv2D(strides=2, padding="same").infer_shape((None, 3, 7, 6), (8, 3, 3, 3))
        (None, 8, 4, 3)
    """

    type_name = "conv2d"

    def __init__(self, strides=1, padding="valid", dilation=1, groups: int = 1):
        name = type(self).__name__
        self.strides = as_pair(strides, f"{name}: strides")
        self.dilation = as_pair(dilation, f"{name}: dilation")
        self.padding = parse_padding_2d(padding, name)
        if not is_int(groups) or groups < 1:
            raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
        self.groups = int(groups)

    def get_config(self) -> dict:
        return {
            "strides": list(self.strides),
            "padding": padding_config(self.padding),
            "dilation": list(self.dilation),
            "groups": self.groups,
        }

    # ---- shapes ---------------------------------------------------------------------------

    def infer_shape(self, x, w, b=None):
        if len(x) != 4:
            raise ValueError(f"expected a 4-D input (N, C, H, W), got shape {tuple(x)}")
        if len(w) != 4:
            raise ValueError(f"expected a 4-D weight (O, C/groups, KH, KW), got shape {tuple(w)}")
        return self._infer(tuple(x), tuple(w), b)

    def _padding_for(self, kernel):
        """The 2-D padding ('valid', 'same' or explicit pairs) for a kernel size (KH, KW)."""
        return self.padding

    def _infer(self, x, w, b):
        g = self.groups
        o = w[0]
        if o is not None and o % g:
            raise ValueError(f"groups={g} must divide the output channels, got weight shape {w}")
        if x[1] is not None and w[1] is not None and x[1] != w[1] * g:
            raise ValueError(
                f"expected {w[1] * g} input channels (weight {w}, groups={g}), got input shape {x}"
            )
        if b is not None and (len(b) != 1 or (o is not None and b[0] is not None and b[0] != o)):
            raise ValueError(f"expected bias shape ({o},), got {tuple(b)}")
        kernel = w[2:]
        padding = self._padding_for(kernel)
        out = []
        for a, size in enumerate(x[2:]):
            if size is None or kernel[a] is None:
                out.append(None)
                continue
            s, d = self.strides[a], self.dilation[a]
            if padding == "same":
                out.append(-(-size // s))
                continue
            lo, hi = (0, 0) if padding == "valid" else padding[a]
            n = conv_output_size(size, kernel[a], s, d, lo, hi)
            if n < 1:
                raise ValueError(
                    f"kernel {tuple(kernel)} (dilation {self.dilation}) is larger than the padded "
                    f"input: input shape {x}, padding {padding!r}"
                )
            out.append(n)
        return (x[0], o, *out)

    # ---- forward --------------------------------------------------------------------------

    def forward(self, ctx: Ctx, x, w, b=None):
        if getattr(x, "ndim", 4) != 4 or getattr(w, "ndim", 4) != 4:
            self._check_arrays(x, w, b)
            checked_shape(type(self).__name__, self.infer_shape, x, w, b)
        return self._forward4(ctx, x, w, b)

    def _check_arrays(self, x, w, b):
        name = type(self).__name__
        for label, a in (("input", x), ("weight", w), ("bias", b)):
            if a is None:
                continue
            if not isinstance(a, np.ndarray):
                raise TypeError(f"{name}: expected a numpy array for the {label}, got {type(a).__name__}")
            if a.dtype not in _FLOATS:
                raise TypeError(f"{name}: expected a float32 or float64 {label}, got dtype {a.dtype}")
        if w.dtype != x.dtype or (b is not None and b.dtype != x.dtype):
            raise TypeError(
                f"{name}: input, weight and bias must share one dtype, got {x.dtype}, {w.dtype}"
                f"{'' if b is None else ', ' + str(b.dtype)}"
            )

    def _plan(self, ctx: Ctx, x, w, b) -> Plan:
        nthreads = threads.get_num_threads()
        key = (x.shape, x.dtype, w.shape, w.dtype, None if b is None else (b.shape, b.dtype), nthreads)
        plan = ctx.__dict__.get("conv_plan")
        if plan is not None and plan.key == key:
            return plan
        self._check_arrays(x, w, b)
        name = type(self).__name__
        checked_shape(name, self._infer, x, w, b, batch=True)
        pads = resolve_pads(
            self._padding_for(w.shape[2:]), x.shape[2:], w.shape[2:], self.strides, self.dilation
        )
        g = K.ConvGeometry(
            x.shape, w.shape[2:], self.strides, self.dilation, pads, w.shape[0], self.groups, name
        )
        dt = x.dtype
        plan = Plan()
        plan.key, plan.g, plan.has_b, plan.x = key, g, b is not None, None
        plan.y = ctx.buf("y", g.out_shape, dt)
        plan.dx = None
        plan.dw = ctx.buf("dw", w.shape, dt)
        plan.db = ctx.buf("db", (g.O,), dt) if b is not None else None
        plan.chunks, plan.workers, plan.nk, plan.u, plan.du, plan.u_of = [], [], 0, None, None, None
        plan.args = []
        plan.dw_parts = plan.db_parts = None
        th, tw = K.wino_tiles(g)
        if (
            g.kh == g.kw == 1
            and g.sh == g.sw == 1
            and g.pt == g.pb == g.pl == g.pr == 0
            and g.groups == 1
            and g.P >= ONE_BY_ONE_MIN_PIXELS
        ):
            plan.mode = "1x1"
            per_image = (g.C + g.O) * g.P * dt.itemsize
        elif WINOGRAD and K.wino_supported(g) and min(g.C, g.O) >= WINOGRAD_MIN_CHANNELS and g.P >= 64:
            plan.mode = "winograd"
            per_image = 16 * g.C * th * tw * dt.itemsize
        elif g.groups == g.C and g.groups > 1:
            plan.mode = "depthwise"
            ctx.conv_plan = plan
            return plan
        else:
            plan.mode = "gemm"
            per_image = g.col_rows() * g.P * dt.itemsize
        budget = WINOGRAD_CHUNK_BYTES if plan.mode == "winograd" else COL_CHUNK_BYTES
        ranges = plan_chunks(g.N, per_image, budget, MIN_CHUNKS)
        nb = ranges[0][1]
        plan.chunks = [(n0, n1, plan.y[n0:n1].reshape(n1 - n0, g.O, g.P)) for n0, n1 in ranges]
        n_workers = min(nthreads, len(plan.chunks))
        plan.nk = 1 if n_workers > 1 else 0
        make_buffers(plan, ctx, n_workers, nb, dt)
        plan.args = kernel_args(plan, dt)
        ctx.conv_plan = plan
        return plan

    def _forward4(self, ctx: Ctx, x, w, b):
        if not (
            isinstance(x, np.ndarray)
            and isinstance(w, np.ndarray)
            and (b is None or isinstance(b, np.ndarray))
        ):
            self._check_arrays(x, w, b)
        if not x.flags.c_contiguous:
            x = np.ascontiguousarray(x)
        if not w.flags.c_contiguous:
            w = np.ascontiguousarray(w)
        if b is not None and not b.flags.c_contiguous:
            b = np.ascontiguousarray(b)
        plan = self._plan(ctx, x, w, b)
        ctx.x, ctx.w = x, w
        g, y, chunks = plan.g, plan.y, plan.chunks
        if plan.mode == "gemm":
            w2 = w.reshape(g.O, -1) if g.groups == 1 else w.reshape(g.groups, g.O // g.groups, -1)

            bias = b if b is not None else y
            args = plan.args

            def run(wk: Worker, ci: int) -> None:
                n0, n1, ych = chunks[ci]
                c, c3, _, t_onp, t3, _ = wk.views[n1 - n0]
                a_im2col, _, a_swap, _ = args[ci]
                _native.im2col(c, x, *a_im2col)
                np.matmul(w2, c3, out=t3)
                _native.swap01(ych, t_onp, bias, *a_swap)
                wk.col_chunk = ci

            for wk in plan.workers:
                wk.col_chunk = -1
            run_workers(plan.workers, len(chunks), run)
            plan.x = x
        elif plan.mode == "winograd":
            u = K.wino_weights(w, plan.u)
            plan.u_of = w

            bias = b if b is not None else y
            args = plan.args

            def run(wk: Worker, ci: int) -> None:
                n0, n1, _ = chunks[ci]
                v, v3, _, mm, m3 = wk.views[n1 - n0]
                a_in, a_out, _, _ = args[ci]
                _native.wino_input(v, x, *a_in)
                np.matmul(u, v3, out=m3)
                _native.wino_output(y, mm, bias, *a_out)
                wk.col_chunk = ci

            for wk in plan.workers:
                wk.col_chunk = -1
            run_workers(plan.workers, len(chunks), run)
            plan.x = x
        elif plan.mode == "1x1":
            w2 = w.reshape(g.O, g.C)
            x3 = x.reshape(g.N, g.C, g.P)

            def run(wk: Worker, ci: int) -> None:
                n0, n1, ych = chunks[ci]
                np.matmul(w2, x3[n0:n1], out=ych)
                if b is not None:
                    K.bias_add(ych, b)

            run_workers(plan.workers, len(chunks), run)
        else:
            K.depthwise_forward(x, w, b, y, g)
        return y

    # ---- backward -------------------------------------------------------------------------

    def backward(self, ctx: Ctx, gy):
        return self._backward4(ctx, gy)

    def _backward4(self, ctx: Ctx, gy):
        plan: Plan = ctx.conv_plan
        g = plan.g
        x, w = ctx.x, ctx.w
        if not (isinstance(gy, np.ndarray) and gy.flags.c_contiguous and gy.dtype == x.dtype):
            gy = np.ascontiguousarray(gy, dtype=x.dtype)
        if gy.shape != g.out_shape:
            raise ValueError(
                f"{type(self).__name__}: expected an output gradient of shape {g.out_shape}, got {gy.shape}"
            )
        flags = ctx.needs_grad
        need_x = flags[0]
        need_w = len(flags) > 1 and flags[1]
        need_b = plan.has_b and len(flags) > 2 and flags[2]
        dx = None
        if need_x:
            dx = plan.dx
            if dx is None:
                dx = plan.dx = ctx.buf("dx", x.shape, x.dtype)
        dw, db = plan.dw, plan.db
        if plan.mode == "depthwise":
            if need_x:
                dx.fill(0)
                K.depthwise_backward_x(gy, w, dx, g)
            if need_w:
                dw.fill(0)
                K.depthwise_backward_w(gy, x, dw, g)
            if need_b:
                np.sum(gy.reshape(g.N, g.O, g.P), axis=(0, 2), out=db)
        else:
            if plan.mode == "gemm":
                self._backward_gemm(plan, x, w, gy, dx, need_w, need_b)
            elif plan.mode == "winograd":
                self._backward_winograd(plan, x, w, gy, dx, need_w, need_b)
            else:
                self._backward_1x1(plan, x, w, gy, dx, need_w, need_b)
            # the chunks' partial gradients, summed in chunk order
            if need_w and plan.mode == "winograd":
                du = np.sum(plan.dw_parts, axis=0, out=plan.du)
                K.wino_weights_adjoint(du, out=dw)
            elif need_w:
                np.sum(plan.dw_parts, axis=0, out=dw.reshape(plan.dw_parts.shape[1:]))
            if need_b:
                np.sum(plan.db_parts, axis=0, out=db)
        out = (dx, dw if need_w else None, db if need_b else None)
        return out[: len(flags)]

    def _backward_winograd(self, plan: Plan, x, w, gy, dx, need_w: bool, need_b: bool) -> None:
        chunks = plan.chunks
        ut = None
        if dx is not None:  # U of the forward (recomputed only if the weights are another array)
            ut = (plan.u if plan.u_of is w else K.wino_weights(w, plan.u)).transpose(0, 2, 1)
            plan.u_of = w
        if plan.x is not x:  # the buffers hold the transform of another input
            for wk in plan.workers:
                wk.col_chunk = -1
        dw_parts, db_parts, args = plan.dw_parts, plan.db_parts, plan.args

        def run(wk: Worker, ci: int) -> None:
            n0, n1, _ = chunks[ci]
            v, v3, v3t, mm, m3 = wk.views[n1 - n0]
            a_in, _, a_outadj, a_inadj = args[ci]
            _native.wino_output_adjoint(mm, gy, *a_outadj)
            if need_b:  # dM[5] = (A dy A^T)[1, 1] is the sum of each 2x2 tile of dy
                np.sum(m3[5], axis=1, out=db_parts[ci])
            if need_w:
                if wk.col_chunk != ci:
                    _native.wino_input(v, x, *a_in)
                wk.col_chunk = ci
                np.matmul(m3, v3t, out=dw_parts[ci])
            if dx is not None:
                np.matmul(ut, m3, out=v3)  # the V buffer now holds dV
                wk.col_chunk = -1
                _native.wino_input_adjoint(dx, v, *a_inadj)

        run_workers(plan.workers, len(chunks), run)

    def _backward_1x1(self, plan: Plan, x, w, gy, dx, need_w: bool, need_b: bool) -> None:
        g, chunks = plan.g, plan.chunks
        gy3 = gy.reshape(g.N, g.O, g.P)
        x3 = x.reshape(g.N, g.C, g.P)
        wt = w.reshape(g.O, g.C).T
        dx3 = dx.reshape(g.N, g.C, g.P) if dx is not None else None

        def run(wk: Worker, ci: int) -> None:
            n0, n1, _ = chunks[ci]
            if dx3 is not None:
                np.matmul(wt, gy3[n0:n1], out=dx3[n0:n1])
            if need_w:
                tmp = wk.views[0][: n1 - n0]
                np.matmul(gy3[n0:n1], x3[n0:n1].transpose(0, 2, 1), out=tmp)
                np.sum(tmp, axis=0, out=plan.dw_parts[ci])
            if need_b:
                np.sum(gy3[n0:n1], axis=(0, 2), out=plan.db_parts[ci])

        run_workers(plan.workers, len(chunks), run)

    def _backward_gemm(self, plan: Plan, x, w, gy, dx, need_w: bool, need_b: bool) -> None:
        g, chunks = plan.g, plan.chunks
        if g.groups == 1:
            wt = w.reshape(g.O, -1).T
        else:
            wt = w.reshape(g.groups, g.O // g.groups, -1).transpose(0, 2, 1)
        if plan.x is not x:  # the buffers hold columns of another input
            for wk in plan.workers:
                wk.col_chunk = -1
        need_col = need_w or dx is not None
        dw_parts, db_parts, args = plan.dw_parts, plan.db_parts, plan.args

        def run(wk: Worker, ci: int) -> None:
            n0, n1, _ = chunks[ci]
            c, c3, ct, t_onp, t3, t2 = wk.views[n1 - n0]
            a_im2col, a_col2im, _, a_swap_gy = args[ci]
            _native.swap01(t_onp, gy[n0:n1], t_onp, *a_swap_gy)
            if need_b:
                np.sum(t2, axis=1, out=db_parts[ci])
            if need_col and wk.col_chunk != ci:
                _native.im2col(c, x, *a_im2col)
            wk.col_chunk = ci
            if need_w:
                np.matmul(t3, ct, out=dw_parts[ci])
            if dx is not None:
                np.matmul(wt, t3, out=c3)  # the column buffer now holds d(col)
                wk.col_chunk = -1
                _native.col2im(dx, c, *a_col2im)

        run_workers(plan.workers, len(chunks), run)


@register
class Conv1D(Conv2D):
    """1-D convolution of NCL input: inputs [x (N, C, L), w (O, C/groups, K)] or [x, w, b (O,)].

        y[n, o, t] = b[o] + sum_{c in group(o), k} w[o, c, k] * x[n, c, t*s - pl + k*d]

    Output (N, O, OL) with OL = floor((L + left + right - ((K-1)*d + 1)) / s) + 1. Runs the
    2-D kernels with H = 1.

    Args:
        strides, dilation: positive ints.
        padding: 'valid', 'same' (TF rule), 'causal' (left pad (K-1)*d, OL = ceil(L / s)),
            an int, or a pair (left, right).
        groups: positive int dividing C and O.

    Example:
        >>> Conv1D(padding="causal", dilation=2).infer_shape((None, 4, 10), (6, 4, 3))
        (None, 6, 10)
    """

    type_name = "conv1d"

    def __init__(self, strides=1, padding="valid", dilation=1, groups: int = 1):
        for label, v in (("strides", strides), ("dilation", dilation)):
            if not is_int(v) or v < 1:
                raise ValueError(f"Conv1D: {label} must be a positive int, got {v!r}")
        p = padding.lower() if isinstance(padding, str) else padding
        if p in ("valid", "same", "causal"):
            self.padding1 = p
        elif is_int(p) and p >= 0:
            self.padding1 = (int(p), int(p))
        elif isinstance(p, (tuple, list)) and len(p) == 2 and all(is_int(v) and v >= 0 for v in p):
            self.padding1 = (int(p[0]), int(p[1]))
        else:
            raise ValueError(
                f"Conv1D: padding must be 'valid', 'same', 'causal', a non-negative int or a pair "
                f"(left, right), got {padding!r}"
            )
        pad2 = self.padding1 if self.padding1 in ("valid", "same") else ((0, 0), (0, 0))
        if isinstance(self.padding1, tuple):
            pad2 = ((0, 0), self.padding1)
        super().__init__(strides=(1, int(strides)), padding=pad2, dilation=(1, int(dilation)), groups=groups)

    def get_config(self) -> dict:
        p = self.padding1 if isinstance(self.padding1, str) else list(self.padding1)
        return {"strides": self.strides[1], "padding": p, "dilation": self.dilation[1], "groups": self.groups}

    def _padding_for(self, kernel):
        if self.padding1 == "causal":
            return ((0, 0), ((kernel[1] - 1) * self.dilation[1], 0)) if kernel[1] is not None else "valid"
        return self.padding

    def infer_shape(self, x, w, b=None):
        if len(x) != 3:
            raise ValueError(f"expected a 3-D input (N, C, L), got shape {tuple(x)}")
        if len(w) != 3:
            raise ValueError(f"expected a 3-D weight (O, C/groups, K), got shape {tuple(w)}")
        y = self._infer((x[0], x[1], 1, x[2]), (w[0], w[1], 1, w[2]), b)
        return (y[0], y[1], y[3])

    def forward(self, ctx: Ctx, x, w, b=None):
        self._check_arrays(x, w, b)
        if x.ndim != 3 or w.ndim != 3:
            checked_shape("Conv1D", self.infer_shape, x, w, b)
        if not x.flags.c_contiguous:
            x = np.ascontiguousarray(x)
        if not w.flags.c_contiguous:
            w = np.ascontiguousarray(w)
        n, c, length = x.shape
        y = self._forward4(
            ctx, x.reshape(n, c, 1, length), w.reshape(w.shape[0], w.shape[1], 1, w.shape[2]), b
        )
        return y.reshape(y.shape[0], y.shape[1], y.shape[3])

    def backward(self, ctx: Ctx, gy):
        g = ctx.conv_plan.g
        if not isinstance(gy, np.ndarray) or gy.shape != (g.N, g.O, g.OW):
            raise ValueError(
                f"Conv1D: expected an output gradient of shape {(g.N, g.O, g.OW)}, got "
                f"{getattr(gy, 'shape', type(gy).__name__)}"
            )
        grads = self._backward4(ctx, gy.reshape(g.out_shape))
        dx = grads[0].reshape(g.N, g.C, g.W) if grads[0] is not None else None
        dw = grads[1].reshape(g.O, g.C // g.groups, g.kw) if len(grads) > 1 and grads[1] is not None else None
        return ((dx, dw) + tuple(grads[2:]))[: len(grads)]
