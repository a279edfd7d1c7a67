"""Convolutions: Conv2D and Conv1D (strided, dilated, grouped, asymmetric padding).

    y[n, o, oh, ow] = b[o] + sum_{c in group(o), i, j} w[o, c, i, j] * x[n, c, oh*sh - pt + i*dh, ow*sw - pl + j*dw]

with x (N, C, H, W), w (O, C/groups, KH, KW), b (O,), y (N, O, OH, OW) and zeros outside the
image. The work is im2col in C (csrc/conv.c) plus one BLAS GEMM per group over a chunk of
images whose column matrix fits in the cache; backward recomputes the column matrix per
chunk (the last chunk's is reused), gets dW with one GEMM and dx with a GEMM plus col2im.
1x1 stride-1 convolutions skip im2col, and depthwise ones (groups == C) use a direct C
stencil instead of tiny GEMMs.

Padding (TF semantics for 'same'): 'valid' (none); 'same' (output ceil(H / s); total pad
max((ceil(H/s) - 1)*s + (k-1)*d + 1 - H, 0), the odd pixel at the bottom/right); an int p
(p on every side); a pair (ph, pw); or explicit ((top, bottom), (left, right)).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from zoo.engine import threads
from zoo.engine.kernels import conv as K
from zoo.engine.ops.base import Ctx, Op, as_pair, register

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


def same_pads(size: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """TF 'SAME' padding (before, after) of one axis: output ceil(size / s), odd pixel after."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def conv_output_size(size: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    """floor((size + lo + hi - ((k - 1)*d + 1)) / s) + 1 (may be < 1 if the kernel does not fit)."""
    return (size + lo + hi - ((k - 1) * d + 1)) // s + 1


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def parse_padding_2d(padding, what: str):
    """'valid' | 'same' | ((top, bottom), (left, right)) from the accepted padding forms."""
    if isinstance(padding, str):
        p = padding.lower()
        if p in ("valid", "same"):
            return p
    elif _is_int(padding) and padding >= 0:
        return ((int(padding), int(padding)), (int(padding), int(padding)))
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        if all(_is_int(v) and v >= 0 for v in padding):
            return ((int(padding[0]), int(padding[0])), (int(padding[1]), int(padding[1])))
        if all(
            isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_int(u) and u >= 0 for u in v)
            for v in padding
        ):
            return tuple((int(v[0]), int(v[1])) for v in padding)
    raise ValueError(
        f"{what}: padding must be 'valid', 'same', a non-negative int, a pair (ph, pw) or "
        f"((top, bottom), (left, right)), got {padding!r}"
    )


def resolve_pads(padding, hw, kernel, strides, dilation) -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit ((top, bottom), (left, right)) pads of a parsed padding for input size hw = (H, W)."""
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding == "same":
        return tuple(same_pads(hw[a], kernel[a], strides[a], dilation[a]) for a in range(2))
    return padding


def _padding_config(padding):
    return padding if isinstance(padding, str) else [list(p) for p in padding]


class _Part:
    """One worker's share of a batch: its chunks (image ranges with buffer views), its own
    column and GEMM-output buffers, and its weight/bias gradient accumulators."""

    __slots__ = ("chunks", "col_chunk", "db", "dbtmp", "dw", "dwtmp", "hi", "lo")


class _Plan:
    """Everything a convolution needs for one (input shape, weight shape, dtype, threads):
    geometry, mode, the workers' parts and buffers. Built once, reused until those change."""

    __slots__ = ("db", "dw", "dx", "g", "has_b", "key", "mode", "nk", "parts", "x", "y")

    @property
    def n_chunks(self) -> int:
        """Image chunks of the im2col path (1 for the other modes)."""
        return sum(len(p.chunks) for p in self.parts) if self.mode == "gemm" else 1


_executor: ThreadPoolExecutor | None = None
_executor_size = 0


def _run_parts(parts: list, fn) -> None:
    """fn(part) for every part: part 0 on this thread, the others on worker threads.

    While several run, BLAS is set to one thread (each part runs its own single-threaded
    GEMMs on its own chunks, which keeps each core on data in its own cache) and the C
    kernels are called with one OpenMP thread.
    """
    global _executor, _executor_size
    if len(parts) == 1:
        fn(parts[0])
        return
    if _executor is None or _executor_size < len(parts) - 1:
        if _executor is not None:
            _executor.shutdown(wait=True)
        _executor = ThreadPoolExecutor(max_workers=len(parts) - 1, thread_name_prefix="zoo-conv")
        _executor_size = len(parts) - 1
    before = threads.get_num_threads()
    threads.set_num_threads(1)
    try:
        futures = [_executor.submit(fn, p) for p in parts[1:]]
        try:
            fn(parts[0])
        finally:
            errors = [f.exception() for f in futures]
        for e in errors:
            if e is not None:
                raise e
    finally:
        threads.set_num_threads(before)


def _split(n: int, parts: int) -> list[tuple[int, int]]:
    """[lo, hi) ranges cutting range(n) into `parts` nearly equal pieces (non-empty when n >= parts)."""
    return [(n * k // parts, n * (k + 1) // parts) for k in range(parts)]


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
        if not _is_int(groups) or groups < 1:
            raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
        self.groups = int(groups)

    def get_config(self) -> dict:
        return {
            "strides": list(self.strides),
            "padding": _padding_config(self.padding),
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
            try:
                self.infer_shape(x.shape, w.shape, None if b is None else b.shape)
            except ValueError as e:
                raise ValueError(f"{type(self).__name__}: {e}") from None
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

    def _plan(self, ctx: Ctx, x, w, b) -> _Plan:
        nthreads = threads.get_num_threads()
        key = (x.shape, x.dtype, w.shape, w.dtype, None if b is None else (b.shape, b.dtype), nthreads)
        plan = ctx.__dict__.get("conv_plan")
        if plan is not None and plan.key == key:
            return plan
        self._check_arrays(x, w, b)
        name = type(self).__name__
        try:
            self._infer(x.shape, w.shape, None if b is None else b.shape)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
        if x.shape[0] < 1:
            raise ValueError(f"{name}: expected a non-empty batch, got input shape {x.shape}")
        pads = resolve_pads(
            self._padding_for(w.shape[2:]), x.shape[2:], w.shape[2:], self.strides, self.dilation
        )
        g = K.ConvGeometry(
            x.shape, w.shape[2:], self.strides, self.dilation, pads, w.shape[0], self.groups, name
        )
        plan = _Plan()
        plan.key, plan.g, plan.has_b = key, g, b is not None
        plan.x = None
        dt = x.dtype
        plan.y = ctx.buf("y", g.out_shape, dt)
        plan.dx = None
        plan.dw = ctx.buf("dw", w.shape, dt)
        plan.db = ctx.buf("db", (g.O,), dt) if b is not None else None
        plan.parts = []
        if g.kh == g.kw == 1 and g.sh == g.sw == 1 and g.pt == g.pb == g.pl == g.pr == 0 and g.groups == 1:
            plan.mode = "1x1"
            self._plan_1x1(ctx, plan, dt, nthreads)
        elif g.groups == g.C and g.groups > 1:
            plan.mode = "depthwise"
        else:
            plan.mode = "gemm"
            self._plan_gemm(ctx, plan, dt, nthreads)
        plan.nk = 1 if len(plan.parts) > 1 else 0
        ctx.conv_plan = plan
        return plan

    def _new_part(self, ctx: Ctx, plan: _Plan, k: int, dw_shape, dt) -> _Part:
        part = _Part()
        part.chunks, part.col_chunk = [], -1
        # part 0 accumulates straight into the op's gradient buffers; the others into their own
        part.dw = plan.dw.reshape(dw_shape) if k == 0 else ctx.buf(("dw", k), dw_shape, dt)
        part.dwtmp = ctx.buf(("dwtmp", k), dw_shape, dt)
        part.db = None if not plan.has_b else plan.db if k == 0 else ctx.buf(("db", k), (plan.g.O,), dt)
        part.dbtmp = ctx.buf(("dbtmp", k), (plan.g.O,), dt) if plan.has_b else None
        return part

    def _plan_1x1(self, ctx: Ctx, plan: _Plan, dt, nthreads: int) -> None:
        g = plan.g
        for k, (lo, hi) in enumerate(_split(g.N, min(nthreads, g.N))):
            part = self._new_part(ctx, plan, k, (g.O, g.C), dt)
            part.lo, part.hi = lo, hi
            part.dwtmp = ctx.buf(("dwtmp", k), (hi - lo, g.O, g.C), dt)
            plan.parts.append(part)

    def _plan_gemm(self, ctx: Ctx, plan: _Plan, dt, nthreads: int) -> None:
        g = plan.g
        rows, per_image = g.col_rows(), g.col_rows() * g.P * dt.itemsize
        workers = min(nthreads, g.N)
        nb = max(1, min(-(-g.N // workers), COL_CHUNK_BYTES // max(per_image, 1)))
        n_chunks = -(-g.N // nb)
        n_chunks = -(-n_chunks // workers) * workers  # whole chunks per worker
        nb = -(-g.N // n_chunks)
        starts = list(range(0, g.N, nb))
        gr, kk, og = g.groups, rows // g.groups, g.O // g.groups
        dw_shape = (g.O, rows) if gr == 1 else (gr, og, kk)
        for k, (c0, c1) in enumerate(_split(len(starts), workers)):
            if c0 == c1:
                continue
            part = self._new_part(ctx, plan, k, dw_shape, dt)
            col = ctx.buf(("col", k), (rows * nb * g.P,), dt)
            y2 = ctx.buf(("y2", k), (g.O * nb * g.P,), dt)
            views = {}
            for n0 in starts[c0:c1]:
                n1 = min(n0 + nb, g.N)
                m = n1 - n0
                if m not in views:
                    c = col[: rows * m * g.P]
                    t = y2[: g.O * m * g.P]
                    if gr == 1:
                        c3, t3 = c.reshape(rows, m * g.P), t.reshape(g.O, m * g.P)
                        ct = c3.T
                    else:
                        c3, t3 = c.reshape(gr, kk, m * g.P), t.reshape(gr, og, m * g.P)
                        ct = c3.transpose(0, 2, 1)
                    views[m] = (c, c3, ct, t.reshape(g.O, m, g.P), t3, t.reshape(g.O, m * g.P))
                part.chunks.append((n0, n1, plan.y[n0:n1].reshape(m, g.O, g.P)) + views[m])
            plan.parts.append(part)

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
        g, y, nk = plan.g, plan.y, plan.nk
        if plan.mode == "gemm":
            w2 = w.reshape(g.O, -1) if g.groups == 1 else w.reshape(g.groups, g.O // g.groups, -1)

            def run(part: _Part) -> None:
                for n0, n1, ych, c, c3, _, t_onp, t3, _ in part.chunks:
                    K.im2col(x, c, g, n0, n1, nthreads=nk)
                    np.matmul(w2, c3, out=t3)
                    K.swap01(t_onp, ych, b, nthreads=nk)
                part.col_chunk = len(part.chunks) - 1

            _run_parts(plan.parts, run)
            plan.x = x
        elif plan.mode == "1x1":
            w2 = w.reshape(g.O, g.C)
            x3 = x.reshape(g.N, g.C, g.P)
            y3 = y.reshape(g.N, g.O, g.P)

            def run(part: _Part) -> None:
                np.matmul(w2, x3[part.lo : part.hi], out=y3[part.lo : part.hi])
                if b is not None:
                    K.bias_add(y3[part.lo : part.hi], b)

            _run_parts(plan.parts, run)
        else:
            K.depthwise_forward(x, w, b, y, g)
        return y

    # ---- backward -------------------------------------------------------------------------

    def backward(self, ctx: Ctx, gy):
        return self._backward4(ctx, gy)

    def _backward4(self, ctx: Ctx, gy):
        plan: _Plan = ctx.conv_plan
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
        if plan.mode == "gemm":
            self._backward_gemm(plan, x, w, gy, dx, need_w, need_b)
        elif plan.mode == "1x1":
            self._backward_1x1(plan, x, w, gy, dx, need_w, need_b)
        else:
            if need_x:
                dx.fill(0)
                K.depthwise_backward_x(gy, w, dx, g)
            if need_w:
                dw.fill(0)
                K.depthwise_backward_w(gy, x, dw, g)
            if need_b:
                np.sum(gy.reshape(g.N, g.O, g.P), axis=(0, 2), out=db)
        out = (dx, dw if need_w else None, db if need_b else None)
        return out[: len(flags)]

    @staticmethod
    def _reduce_parts(plan: _Plan, need_w: bool, need_b: bool) -> None:
        """Sum the workers' weight and bias gradients into part 0's (the op's buffers), in order."""
        p0 = plan.parts[0]
        for p in plan.parts[1:]:
            if need_w:
                p0.dw += p.dw
            if need_b:
                p0.db += p.db

    def _backward_1x1(self, plan: _Plan, x, w, gy, dx, need_w: bool, need_b: bool) -> None:
        g = plan.g
        gy3 = gy.reshape(g.N, g.O, g.P)
        x3 = x.reshape(g.N, g.C, g.P)
        wt = w.reshape(g.O, g.C).T
        dx3 = dx.reshape(g.N, g.C, g.P) if dx is not None else None

        def run(part: _Part) -> None:
            lo, hi = part.lo, part.hi
            if dx3 is not None:
                np.matmul(wt, gy3[lo:hi], out=dx3[lo:hi])
            if need_w:
                np.matmul(gy3[lo:hi], x3[lo:hi].transpose(0, 2, 1), out=part.dwtmp)
                np.sum(part.dwtmp, axis=0, out=part.dw)
            if need_b:
                np.sum(gy3[lo:hi], axis=(0, 2), out=part.db)

        _run_parts(plan.parts, run)
        self._reduce_parts(plan, need_w, need_b)

    def _backward_gemm(self, plan: _Plan, x, w, gy, dx, need_w: bool, need_b: bool) -> None:
        g, nk = plan.g, plan.nk
        if g.groups == 1:
            wt = w.reshape(g.O, -1).T
        else:
            wt = w.reshape(g.groups, g.O // g.groups, -1).transpose(0, 2, 1)
        reuse = plan.x is x
        need_col = need_w or dx is not None

        def run(part: _Part) -> None:
            first = True
            for ci in range(len(part.chunks) - 1, -1, -1):
                n0, n1, _, c, c3, ct, t_onp, t3, t2 = part.chunks[ci]
                K.swap01(gy[n0:n1].reshape(n1 - n0, g.O, g.P), t_onp, nthreads=nk)
                if need_b:
                    if first:
                        np.sum(t2, axis=1, out=part.db)
                    else:
                        np.sum(t2, axis=1, out=part.dbtmp)
                        part.db += part.dbtmp
                if need_col and not (reuse and part.col_chunk == ci):
                    K.im2col(x, c, g, n0, n1, nthreads=nk)
                part.col_chunk = ci
                if need_w:
                    if first:
                        np.matmul(t3, ct, out=part.dw)
                    else:
                        np.matmul(t3, ct, out=part.dwtmp)
                        part.dw += part.dwtmp
                if dx is not None:
                    np.matmul(wt, t3, out=c3)  # the column buffer now holds d(col)
                    part.col_chunk = -1
                    K.col2im(c, dx, g, n0, n1, overwrite=True, nthreads=nk)
                first = False

        _run_parts(plan.parts, run)
        self._reduce_parts(plan, need_w, need_b)


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
            if not _is_int(v) or v < 1:
                raise ValueError(f"Conv1D: {label} must be a positive int, got {v!r}")
        p = padding.lower() if isinstance(padding, str) else padding
        if p in ("valid", "same", "causal"):
            self.padding1 = p
        elif _is_int(p) and p >= 0:
            self.padding1 = (int(p), int(p))
        elif isinstance(p, (tuple, list)) and len(p) == 2 and all(_is_int(v) and v >= 0 for v in p):
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
            try:
                self.infer_shape(x.shape, w.shape, None if b is None else b.shape)
            except ValueError as e:
                raise ValueError(f"Conv1D: {e}") from None
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
