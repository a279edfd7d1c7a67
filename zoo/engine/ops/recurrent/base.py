"""What the recurrent cells share: argument handling, input projection, the forward and backward
time loops over batch rows split between the threads, and the weight gradients.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from zoo.engine import threads
from zoo.engine.kernels import rnn as K
from zoo.engine.ops.base import Ctx, Op

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _flag(v) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"expected a bool, got {v!r}")
    return bool(v)


def recurrent_weight_grad(
    hs: np.ndarray, dg: np.ndarray, h0: np.ndarray | None, out: np.ndarray
) -> np.ndarray:
    """out = sum over b, s of h_{s-1}[b]^T dg[b, s], with h_{-1} = h0 (zeros if None).

    hs (B, T, U) holds h_s; dg (B, T, G) may be a column slice. Flattened to rows r = b T + s,
    pairing row r of hs with row r + 1 of dg gives every (h_{s-1}, dg_s) pair in one GEMM, plus
    B - 1 spurious pairs (h[b, T-1], dg[b+1, 0]) that one small GEMM takes back out. The
    columns of out are split between the threads (single-threaded GEMMs, threads.run_blocks).
    """
    B, T, U = hs.shape
    hs2 = hs.reshape(B * T, U)
    dg2 = dg.reshape(B * T, dg.shape[-1])

    def cols(c0, c1):
        o = out[:, c0:c1]
        np.matmul(hs2[:-1].T, dg2[1:, c0:c1], out=o)
        if B > 1:
            o -= np.matmul(hs[:-1, T - 1].T, dg[1:, 0, c0:c1])
        if h0 is not None:
            o += np.matmul(h0.T, dg[:, 0, c0:c1])

    threads.run_blocks(out.shape[1], cols, min_size=64)
    return out


#: a recurrent step whose GEMM has fewer FLOPs runs its time loop on one thread
SMALL_STEP_FLOPS = 8e6


def row_ranges(B: int) -> list[tuple[int, int]]:
    """Batch rows per worker: one contiguous range per thread (at most one per RB-row group),
    each starting at a multiple of RB, so the bias-gradient groups never straddle two workers.

    The ranges run at once through threads.run_parts (serially for small per-step GEMMs, where
    a BLAS thread team costs more than it saves). The recurrences of different samples are
    independent, so a worker never waits for another until its whole share is done: one
    synchronisation per sequence instead of one per step, which keeps a loaded machine's stalls
    out of every step. Splitting rows does not change any element's summation order, so the
    results do not depend on the thread count."""
    groups = K.groups(B)
    k = max(1, min(threads.get_num_threads(), groups))
    cuts = [K.RB * (groups * i // k) for i in range(k)] + [B]
    return [(cuts[i], min(cuts[i + 1], B)) for i in range(k)]


def par_matmul_cols(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = a @ b with the columns of b and out split between the threads (blocks multiples
    of 16 wide, at least 64)."""

    def cols(c0, c1):
        np.matmul(a, b[:, c0:c1], out=out[:, c0:c1])

    threads.run_blocks(out.shape[1], cols, min_size=64)
    return out


class _Recurrent(Op):
    """Shared argument handling, input projection and weight gradients of the recurrent ops."""

    gates: ClassVar[int] = 1  # G / U
    n_states: ClassVar[int] = 1

    def __init__(self, units: int, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 use_bias: bool = True, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, masked: bool = False, initial_state: bool = False,
                 zero_output_for_mask: bool = False):
        name = type(self).__name__
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"{name}: units must be a positive int, got {units!r}")
        self.units = int(units)
        self.activation = str(activation)
        self.recurrent_activation = str(recurrent_activation)
        self._act = K.act_code(activation, f"{name}: activation")
        self._ract = K.act_code(recurrent_activation, f"{name}: recurrent_activation")
        try:
            self.use_bias = _flag(use_bias)
            self.return_sequences = _flag(return_sequences)
            self.return_state = _flag(return_state)
            self.go_backwards = _flag(go_backwards)
            self.masked = _flag(masked)
            self.initial_state = _flag(initial_state)
            self.zero_output_for_mask = _flag(zero_output_for_mask)
        except TypeError as e:
            raise TypeError(f"{name}: flags {e}") from None
        i = 3
        self._ib = i if self.use_bias else None
        i += self.use_bias
        self._im = i if self.masked else None
        i += self.masked
        self._ih = i if self.initial_state else None
        i += self.n_states if self.initial_state else 0
        self.n_inputs = i
        self.nondiff_inputs = (self._im,) if self.masked else ()
        self.n_outputs = 1 + (self.n_states if self.return_state else 0)

    def get_config(self) -> dict:
        return {"units": self.units, "activation": self.activation,
                "recurrent_activation": self.recurrent_activation, "use_bias": self.use_bias,
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "masked": self.masked, "initial_state": self.initial_state,
                "zero_output_for_mask": self.zero_output_for_mask}

    def bias_shape(self) -> tuple:
        return (self.gates * self.units,)

    # ---- shapes -------------------------------------------------------------------------

    def infer_shape(self, *shapes):
        if len(shapes) != self.n_inputs:
            raise ValueError(
                f"expected {self.n_inputs} inputs (x, W, R{', b' if self.use_bias else ''}"
                f"{', mask' if self.masked else ''}{', initial states' if self.initial_state else ''}),"
                f" got {len(shapes)}"
            )
        x, w, r = shapes[:3]
        u, gu = self.units, self.gates * self.units
        if len(x) != 3:
            raise ValueError(f"expected input of rank 3 (batch, time, features), got shape {tuple(x)}")
        if tuple(w) != (x[2], gu) and not (x[2] is None and len(w) == 2 and w[1] == gu):
            raise ValueError(f"expected kernel shape {(x[2], gu)}, got {tuple(w)}")
        if tuple(r) != (u, gu):
            raise ValueError(f"expected recurrent kernel shape {(u, gu)}, got {tuple(r)}")
        if self.use_bias and tuple(shapes[self._ib]) != self.bias_shape():
            raise ValueError(f"expected bias shape {self.bias_shape()}, got {tuple(shapes[self._ib])}")
        if self.masked:
            m = tuple(shapes[self._im])
            if len(m) != 2 or any(a is not None and b is not None and a != b for a, b in zip(m, x[:2])):
                raise ValueError(f"expected a mask of shape {tuple(x[:2])}, got {m}")
        if self.initial_state:
            for k in range(self.n_states):
                h = tuple(shapes[self._ih + k])
                if len(h) != 2 or h[1] != u or (h[0] is not None and x[0] is not None and h[0] != x[0]):
                    raise ValueError(f"expected initial state {k} of shape {(x[0], u)}, got {h}")
        y = (x[0], x[1], u) if self.return_sequences else (x[0], u)
        if self.n_outputs == 1:
            return y
        return (y,) + ((x[0], u),) * self.n_states

    # ---- helpers ------------------------------------------------------------------------

    def _unpack(self, xs):
        x, w, r = xs[:3]
        b = xs[self._ib] if self.use_bias else None
        m = xs[self._im] if self.masked else None
        states = (
            tuple(xs[self._ih + k] for k in range(self.n_states))
            if self.initial_state
            else (None,) * self.n_states
        )
        return x, w, r, b, m, states

    def _prepare(self, ctx: Ctx, x, w, r, b, m, states):
        """Checks, reversal, input projection; stores what backward needs on ctx."""
        name = type(self).__name__
        if not isinstance(x, np.ndarray) or x.dtype not in _FLOATS:
            raise TypeError(
                f"{name}: expected a float32 or float64 input, got {getattr(x, 'dtype', type(x).__name__)}"
            )
        dt = x.dtype
        for label, a in (("kernel", w), ("recurrent kernel", r), ("bias", b)):
            if a is not None and (not isinstance(a, np.ndarray) or a.dtype != dt):
                raise TypeError(
                    f"{name}: the {label} must be a {dt} array like the input, got "
                    f"{getattr(a, 'dtype', type(a).__name__)}"
                )
        if x.ndim != 3:
            raise ValueError(f"{name}: expected input of rank 3 (batch, time, features), got shape {x.shape}")
        B, T, I = x.shape
        U, GU = self.units, self.gates * self.units
        if B < 1 or T < 1:
            raise ValueError(
                f"{name}: expected at least one sample and one time step, got input shape {x.shape}"
            )
        if w.shape != (I, GU) or r.shape != (U, GU) or (b is not None and b.shape != self.bias_shape()):
            raise ValueError(
                f"{name}: expected kernel {(I, GU)}, recurrent kernel {(U, GU)}"
                f"{'' if b is None else f', bias {self.bias_shape()}'}, got {w.shape}, {r.shape}"
                f"{'' if b is None else f', {b.shape}'}"
            )
        code = K.dtype_of(x, name)
        if self.go_backwards:
            xc = ctx.buf("xrev", x.shape, dt)
            np.copyto(xc, x[:, ::-1])
        else:
            xc = np.ascontiguousarray(x)
        x2 = xc.reshape(B * T, I)
        xp = ctx.buf("xp", (B, T, GU), dt)
        ctx.xp2 = xp.reshape(B * T, GU)
        mm = None
        if m is not None:
            if m.shape != (B, T):
                raise ValueError(f"{name}: expected a mask of shape {(B, T)}, got {m.shape}")
            mm = ctx.buf("mask", (B, T), dt)
            np.copyto(mm, m[:, ::-1] if self.go_backwards else m, casting="unsafe")
        sts = []
        for k, h in enumerate(states):
            if h is None:
                sts.append(None)
                continue
            if h.shape != (B, U):
                raise ValueError(f"{name}: expected initial state {k} of shape {(B, U)}, got {h.shape}")
            sts.append(np.ascontiguousarray(h, dtype=dt))
        bb = None if b is None else np.ascontiguousarray(b)
        ctx.x2, ctx.w, ctx.r, ctx.b, ctx.mm, ctx.states = x2, w, r, bb, mm, sts
        ctx.dims, ctx.code, ctx.xshape = (B, T, U), code, x.shape
        return xp, mm, sts, code

    def _outputs(self, ctx: Ctx, hs, last_states):
        """The op's outputs from the state sequence hs (B, T, U) and the last states."""
        B, T, U = hs.shape
        if self.return_sequences:
            if self.zero_output_for_mask and ctx.mm is not None:
                y = ctx.buf("yseq", hs.shape, hs.dtype)
                np.multiply(hs, ctx.mm[:, :, None], out=y)
            else:
                y = hs
        else:
            y = ctx.buf("ylast", (B, U), hs.dtype)
            np.copyto(y, hs[:, T - 1])
        if not self.return_state:
            return y
        outs = [y]
        for k, st in enumerate(last_states):
            o = ctx.buf(("state", k), (B, U), hs.dtype)
            np.copyto(o, st)
            outs.append(o)
        return tuple(outs)

    def _grad_init(self, ctx: Ctx, gy):
        """(dseq or None, dcarry, [dstate...]) from the output gradients."""
        B, T, U = ctx.dims
        dt = ctx.x2.dtype
        gys = gy if isinstance(gy, tuple) else (gy,)
        g0 = gys[0]
        dcarry = ctx.buf("dcarry", (B, U), dt)
        dseq = None
        if self.return_sequences:
            dcarry.fill(0)
            if g0 is not None:
                dseq = np.ascontiguousarray(g0, dtype=dt)
                if self.zero_output_for_mask and ctx.mm is not None:
                    d = ctx.buf("dseq", (B, T, U), dt)
                    np.multiply(dseq, ctx.mm[:, :, None], out=d)
                    dseq = d
        elif g0 is not None:
            np.copyto(dcarry, g0)
        else:
            dcarry.fill(0)
        extra = list(gys[1:]) if self.return_state else []
        if extra and extra[0] is not None:
            dcarry += extra[0]
        return dseq, dcarry, extra

    def _small(self, B: int) -> bool:
        """Whether a step's recurrent GEMM (B x U x G*U) is too small for a BLAS thread team."""
        return 2 * B * self.units * self.gates * self.units < SMALL_STEP_FLOPS

    def _project(self, ctx: Ctx, b0: int, b1: int) -> None:
        """xp = x @ W for the batch rows [b0, b1) (their B*T-rows are contiguous)."""
        T = ctx.dims[1]
        np.matmul(ctx.x2[b0 * T : b1 * T], ctx.w, out=ctx.xp2[b0 * T : b1 * T])

    def _dx_buffers(self, ctx: Ctx) -> None:
        """Make the input-gradient buffers before the workers start (ctx.buf is not thread-safe)."""
        if ctx.needs_grad[0]:
            ctx.gx = ctx.buf("dx", ctx.xshape, ctx.x2.dtype)
            ctx.gx_rev = ctx.buf("dxrev", ctx.xshape, ctx.x2.dtype) if self.go_backwards else None

    def _input_grad(self, ctx: Ctx, dxp, b0: int, b1: int) -> None:
        """dx = dXP @ W^T for the batch rows [b0, b1), back in the input's time order."""
        if not ctx.needs_grad[0]:
            return
        B, T, _ = ctx.dims
        d2 = dxp.reshape(B * T, -1)[b0 * T : b1 * T]
        gx = ctx.gx
        if self.go_backwards:
            tmp = ctx.gx_rev
            np.matmul(d2, ctx.w.T, out=tmp.reshape(B * T, -1)[b0 * T : b1 * T])
            np.copyto(gx[b0:b1], tmp[b0:b1, ::-1])
        else:
            np.matmul(d2, ctx.w.T, out=gx.reshape(B * T, -1)[b0 * T : b1 * T])

    def _forward_steps(self, ctx: Ctx, step, hs, h0, r, g) -> None:
        """The forward time loop of a cell with one recurrent GEMM, the batch rows split over the
        threads: per worker x @ W for its rows, then per step g = h_{s-1} @ R and the cell's
        kernel, step(s, b0, b1, g or None when there is no h_{s-1})."""
        B, T, _ = ctx.dims

        def run(b0, b1):
            self._project(ctx, b0, b1)
            gr = g[b0:b1]
            for s in range(T):
                hp = hs[b0:b1, s - 1] if s else (None if h0 is None else h0[b0:b1])
                if hp is not None:
                    np.matmul(hp, r, out=gr)
                step(s, b0, b1, g if hp is not None else None)

        threads.run_parts(row_ranges(B), run, serial=self._small(B))

    def _backward_steps(self, ctx: Ctx, step, dg, dxp, dhr, h0) -> None:
        """The backward time loop of a cell with one recurrent GEMM, the batch rows split over the
        threads: per step the cell's kernel, step(s, b0, b1, dhr or None at the last step), then
        dhr = dg[:, s] @ R^T for the step before; per worker dx from dxp for its rows."""
        B, T, _ = ctx.dims
        rt = ctx.r.T

        def run(b0, b1):
            dr = dhr[b0:b1]
            for s in range(T - 1, -1, -1):
                step(s, b0, b1, dhr if s < T - 1 else None)
                if s or h0 is not None:
                    np.matmul(dg[b0:b1, s], rt, out=dr)
            self._input_grad(ctx, dxp, b0, b1)

        threads.run_parts(row_ranges(B), run, serial=self._small(B))

    def _finish(self, ctx: Ctx, dxp, grads: dict):
        """The gradients in the op's input order (dx was made by _input_grad in the workers)."""
        B, T, _ = ctx.dims
        flags = ctx.needs_grad
        x2, w = ctx.x2, ctx.w
        out = [None] * self.n_inputs
        if flags[0]:
            out[0] = ctx.gx
        if flags[1]:
            out[1] = par_matmul_cols(x2.T, dxp.reshape(B * T, -1), np.empty(w.shape, x2.dtype))
        if flags[2]:
            out[2] = grads["r"]
        if self.use_bias and flags[self._ib]:
            out[self._ib] = grads["b"]
        if self.initial_state:
            for k in range(self.n_states):
                if flags[self._ih + k]:
                    out[self._ih + k] = grads["states"][k]
        return tuple(out)
