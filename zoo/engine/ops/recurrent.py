"""Recurrent ops: whole-sequence SimpleRNN, LSTM and GRU, and the sequence helpers around them.

Each recurrent op runs a whole sequence x (B, T, I) in one node:

    xp = x @ W                      one GEMM for the input projection of every step (B*T, G)
    for s in 0 .. T-1:
        g = h_{s-1} @ R             one GEMM per step for the recurrent part (B, G)
        step kernel (csrc/rnn.c)    adds xp[:, s], g and the bias, applies the gate
                                    nonlinearities and updates the state, in one pass

and backward through time has the same structure: one step kernel and one GEMM
(dG_s @ R^T) per step, then three big GEMMs, dx = dXP @ W^T, dW = x^T @ dXP and
dR = sum_s h_{s-1}^T dG_s (the last as one GEMM over all steps, see `_recurrent_grad`).
Forward saves what backward needs (activated gates, states) in reusable ctx buffers.

Cells (U units; weights in Keras's layout and gate order):

    SimpleRNN  W (I, U),   R (U, U),   b (U,):    h = act(x W + h R + b)
    LSTM       W (I, 4U),  R (U, 4U),  b (4U,):   [i f c o] = [ract ract act ract](x W + h R + b)
                                                  c' = f c + i c~,  h' = o act(c')
    GRU        W (I, 3U),  R (U, 3U):  gates [z r h]
        reset_after=True (Keras 3), b (2, 3U) = [input bias, recurrent bias]:
            z, r = ract(x W + bi + h R + br)[:2U];  hh = act(x W_h + bi_h + r (h R_h + br_h))
        reset_after=False (Keras 1, Analytics Zoo), b (3U,):
            z, r = ract(x W + b + h R)[:2U];        hh = act(x W_h + b_h + (r h) R_h)
        h' = z h + (1 - z) hh

Inputs, in order: x, W, R, [b if use_bias], [mask (B, T) if masked], [initial states (B, U):
h0 (and c0 for LSTM) if initial_state]. Outputs: the sequence (B, T, U) if return_sequences
else the last h (B, U); then, with return_state, the last h (and c).

Masking: where mask[b, t] == 0 the step is skipped for that sample: the state carries over
unchanged, the output at that step repeats the previous output (zeros with
zero_output_for_mask, as Keras's Bidirectional), and no gradient flows through the step's
gates. go_backwards processes the steps from last to first and returns the outputs in
processing order, as Keras does.

Activations: 'linear', 'tanh', 'sigmoid', 'relu', 'hard_sigmoid' (Keras 3: clip(x/6 + 1/2))
and 'legacy_hard_sigmoid' (Keras 1/2, Analytics Zoo: clip(0.2 x + 0.5)).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from zoo.engine import threads
from zoo.engine.kernels import rnn as K
from zoo.engine.ops.base import Ctx, Op, register

__all__ = [
    "GRU",
    "LSTM",
    "ConvLSTM2D",
    "ConvLSTM3D",
    "Masking",
    "ReverseSequence",
    "SimpleRNN",
    "TimeFold",
    "TimeUnfold",
    "recurrent_weight_grad",
]

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

    def __init__(
        self,
        units: int,
        activation: str = "tanh",
        recurrent_activation: str = "sigmoid",
        use_bias: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        masked: bool = False,
        initial_state: bool = False,
        zero_output_for_mask: bool = False,
    ):
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
        return {
            "units": self.units,
            "activation": self.activation,
            "recurrent_activation": self.recurrent_activation,
            "use_bias": self.use_bias,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "masked": self.masked,
            "initial_state": self.initial_state,
            "zero_output_for_mask": self.zero_output_for_mask,
        }

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


@register
class SimpleRNN(_Recurrent):
    """Fully connected recurrence h_s = act(x_s W + h_{s-1} R + b) over a sequence (see module docstring)."""

    type_name = "simple_rnn"
    gates = 1
    n_states = 1

    def __init__(
        self,
        units: int,
        activation: str = "tanh",
        use_bias: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        masked: bool = False,
        initial_state: bool = False,
        zero_output_for_mask: bool = False,
        recurrent_activation: str = "linear",
    ):
        super().__init__(units, activation, "linear", use_bias, return_sequences, return_state, go_backwards, masked,
                         initial_state, zero_output_for_mask)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.pop("recurrent_activation")
        return cfg

    def forward(self, ctx: Ctx, *xs):
        x, w, r, b, m, (h0,) = self._unpack(xs)
        xp, mm, (h0,), code = self._prepare(ctx, x, w, r, b, m, (h0,))
        B, T, U = ctx.dims
        hs = ctx.buf("hs", (B, T, U), x.dtype)
        g = ctx.buf("g", (B, U), x.dtype)
        kernel, act, bb = K.simple_rnn_forward_step, self._act, ctx.b

        def step(s, b0, b1, gs):
            kernel(hs, xp, gs, bb, mm, h0, B, T, U, s, b0, b1, act, code)

        self._forward_steps(ctx, step, hs, h0, r, g)
        ctx.hs = hs
        return self._outputs(ctx, hs, (hs[:, T - 1],))

    def backward(self, ctx: Ctx, gy):
        B, T, U = ctx.dims
        dt = ctx.x2.dtype
        dseq, dcarry, _ = self._grad_init(ctx, gy)
        self._dx_buffers(ctx)
        (h0,) = ctx.states
        dxp = ctx.buf("dxp", (B, T, U), dt)
        dhr = ctx.buf("dhr", (B, U), dt)
        dbp = ctx.zeros("dbp", (K.groups(B), U), dt) if ctx.b is not None else None
        kernel, act, code, hs, mm = K.simple_rnn_backward_step, self._act, ctx.code, ctx.hs, ctx.mm

        def step(s, b0, b1, dh):
            kernel(dxp, dcarry, dbp, dh, dseq, hs, mm, B, T, U, s, b0, b1, act, code)

        self._backward_steps(ctx, step, dxp, dxp, dhr, h0)
        grads = {
            "b": None if dbp is None else dbp.sum(axis=0),
            "states": [dcarry + dhr] if h0 is not None else [None],
        }
        if ctx.needs_grad[2]:
            grads["r"] = recurrent_weight_grad(hs, dxp, h0, np.empty((U, U), dt))
        return self._finish(ctx, dxp, grads)


@register
class LSTM(_Recurrent):
    """Long short-term memory over a sequence, Keras gate order i, f, c, o (see module docstring)."""

    type_name = "lstm"
    gates = 4
    n_states = 2

    def forward(self, ctx: Ctx, *xs):
        x, w, r, b, m, states = self._unpack(xs)
        xp, mm, (h0, c0), code = self._prepare(ctx, x, w, r, b, m, states)
        B, T, U = ctx.dims
        dt = x.dtype
        gates = ctx.buf("gates", (B, T, 4 * U), dt)
        hs = ctx.buf("hs", (B, T, U), dt)
        cs = ctx.buf("cs", (B, T, U), dt)
        tc = ctx.buf("tc", (B, T, U), dt)
        g = ctx.buf("g", (B, 4 * U), dt)
        kernel, act, ract, bb = K.lstm_forward_step, self._act, self._ract, ctx.b

        def step(s, b0, b1, gs):
            kernel(gates, hs, cs, tc, xp, gs, bb, mm, h0, c0, B, T, U, s, b0, b1, act, ract, code)

        self._forward_steps(ctx, step, hs, h0, r, g)
        ctx.gates, ctx.hs, ctx.cs, ctx.tc = gates, hs, cs, tc
        return self._outputs(ctx, hs, (hs[:, T - 1], cs[:, T - 1]))

    def backward(self, ctx: Ctx, gy):
        B, T, U = ctx.dims
        dt = ctx.x2.dtype
        dseq, dcarry, extra = self._grad_init(ctx, gy)
        self._dx_buffers(ctx)
        h0, c0 = ctx.states
        dc = ctx.buf("dc", (B, U), dt)
        if len(extra) > 1 and extra[1] is not None:
            np.copyto(dc, extra[1])
        else:
            dc.fill(0)
        dgates = ctx.buf("dgates", (B, T, 4 * U), dt)
        dhr = ctx.buf("dhr", (B, U), dt)
        dbp = ctx.zeros("dbp", (K.groups(B), 4 * U), dt) if ctx.b is not None else None
        kernel, act, ract, code = K.lstm_backward_step, self._act, self._ract, ctx.code
        gates, cs, tc, mm = ctx.gates, ctx.cs, ctx.tc, ctx.mm

        def step(s, b0, b1, dh):
            kernel(dgates, dc, dcarry, dbp, dh, dseq, gates, cs, tc, c0, mm, B, T, U, s, b0, b1, act, ract, code)

        self._backward_steps(ctx, step, dgates, dgates, dhr, h0)
        grads = {
            "b": None if dbp is None else dbp.sum(axis=0),
            "states": [dcarry + dhr if h0 is not None else None, dc.copy() if c0 is not None else None],
        }
        if ctx.needs_grad[2]:
            grads["r"] = recurrent_weight_grad(ctx.hs, dgates, h0, np.empty((U, 4 * U), dt))
        return self._finish(ctx, dgates, grads)


@register
class GRU(_Recurrent):
    """Gated recurrent unit over a sequence, Keras gate order z, r, h (see module docstring)."""

    type_name = "gru"
    gates = 3
    n_states = 1

    def __init__(
        self,
        units: int,
        activation: str = "tanh",
        recurrent_activation: str = "sigmoid",
        use_bias: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        masked: bool = False,
        initial_state: bool = False,
        zero_output_for_mask: bool = False,
        reset_after: bool = True,
    ):
        super().__init__(units, activation, recurrent_activation, use_bias, return_sequences, return_state,
                         go_backwards, masked, initial_state, zero_output_for_mask)
        self.reset_after = _flag(reset_after)

    def get_config(self) -> dict:
        return {**super().get_config(), "reset_after": self.reset_after}

    def bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def forward(self, ctx: Ctx, *xs):
        x, w, r, b, m, states = self._unpack(xs)
        xp, mm, (h0,), code = self._prepare(ctx, x, w, r, b, m, states)
        B, T, U = ctx.dims
        dt = x.dtype
        hs = ctx.buf("hs", (B, T, U), dt)
        act, ract, bb = self._act, self._ract, ctx.b
        if self.reset_after:
            gates = ctx.buf("gates", (B, T, 4 * U), dt)
            g = ctx.buf("g", (B, 3 * U), dt)
            bi, br = (None, None) if bb is None else (bb[0], bb[1])
            kernel = K.gru_forward_step

            def step(s, b0, b1, gs):
                kernel(gates, hs, xp, gs, bi, br, mm, h0, B, T, U, s, b0, b1, act, ract, code)

            self._forward_steps(ctx, step, hs, h0, r, g)
        else:
            gates = ctx.buf("gates", (B, T, 3 * U), dt)
            rh = ctx.buf("rh", (B, T, U), dt)
            g1 = ctx.buf("g1", (B, 2 * U), dt)
            g2 = ctx.buf("g2", (B, U), dt)
            rzr, rhh = r[:, : 2 * U], r[:, 2 * U :]
            fa, fb = K.gru1_forward_gates, K.gru1_forward_state
            ctx.rh = rh

            def run(b0, b1):
                self._project(ctx, b0, b1)
                g1r, g2r = g1[b0:b1], g2[b0:b1]
                for s in range(T):
                    hp = hs[b0:b1, s - 1] if s else (None if h0 is None else h0[b0:b1])
                    if hp is not None:
                        np.matmul(hp, rzr, out=g1r)
                    fa(gates, rh, hs, xp, g1 if hp is not None else None, bb, mm, h0, B, T, U, s, b0, b1, ract,
                       code)
                    if hp is not None:
                        np.matmul(rh[b0:b1, s], rhh, out=g2r)
                    fb(gates, hs, xp, g2 if hp is not None else None, bb, mm, h0, B, T, U, s, b0, b1, act, code)

            threads.run_parts(row_ranges(B), run, serial=self._small(B))
        ctx.gates, ctx.hs = gates, hs
        return self._outputs(ctx, hs, (hs[:, T - 1],))

    def backward(self, ctx: Ctx, gy):
        B, T, U = ctx.dims
        dt = ctx.x2.dtype
        dseq, dcarry, _ = self._grad_init(ctx, gy)
        self._dx_buffers(ctx)
        (h0,) = ctx.states
        dxp = ctx.buf("dxp", (B, T, 3 * U), dt)
        dhr = ctx.buf("dhr", (B, U), dt)
        act, ract, code, gates, hs, mm = self._act, self._ract, ctx.code, ctx.gates, ctx.hs, ctx.mm
        need_r = ctx.needs_grad[2]
        has_b = ctx.b is not None
        if self.reset_after:
            dgr = ctx.buf("dgr", (B, T, 3 * U), dt)
            dbpi = ctx.zeros("dbpi", (K.groups(B), 3 * U), dt) if has_b else None
            dbpr = ctx.zeros("dbpr", (K.groups(B), 3 * U), dt) if has_b else None
            kernel = K.gru_backward_step

            def step(s, b0, b1, dh):
                kernel(dxp, dgr, dcarry, dbpi, dbpr, dh, dseq, gates, hs, h0, mm, B, T, U, s, b0, b1, act, ract, code)

            self._backward_steps(ctx, step, dgr, dxp, dhr, h0)
            grads = {"b": np.stack([dbpi.sum(axis=0), dbpr.sum(axis=0)]) if has_b else None}
            if need_r:
                grads["r"] = recurrent_weight_grad(hs, dgr, h0, np.empty((U, 3 * U), dt))
        else:
            drh = ctx.buf("drh", (B, U), dt)
            dbp = ctx.zeros("dbp", (K.groups(B), 3 * U), dt) if has_b else None
            r = ctx.r
            rzr_t, rhh_t = r[:, : 2 * U].T, r[:, 2 * U :].T
            fa, fb = K.gru1_backward_state, K.gru1_backward_gates

            def run(b0, b1):
                dr, drhr = dhr[b0:b1], drh[b0:b1]
                for s in range(T - 1, -1, -1):
                    fa(dxp, dcarry, dhr if s < T - 1 else None, dseq, gates, hs, h0, mm, B, T, U, s, b0, b1, act,
                       ract, code)
                    np.matmul(dxp[b0:b1, s, 2 * U :], rhh_t, out=drhr)
                    fb(dxp, dcarry, dbp, drh, gates, hs, h0, mm, B, T, U, s, b0, b1, ract, code)
                    if s or h0 is not None:
                        np.matmul(dxp[b0:b1, s, : 2 * U], rzr_t, out=dr)
                self._input_grad(ctx, dxp, b0, b1)

            threads.run_parts(row_ranges(B), run, serial=self._small(B))
            grads = {"b": None if dbp is None else dbp.sum(axis=0)}
            if need_r:
                gr = np.empty((U, 3 * U), dt)
                gr[:, : 2 * U] = recurrent_weight_grad(hs, dxp[:, :, : 2 * U], h0, np.empty((U, 2 * U), dt))
                par_matmul_cols(
                    ctx.rh.reshape(B * T, U).T, dxp.reshape(B * T, 3 * U)[:, 2 * U :], gr[:, 2 * U :]
                )
                grads["r"] = gr
        grads["states"] = [dcarry + dhr if h0 is not None else None]
        return self._finish(ctx, dxp, grads)


# ---- sequence helpers --------------------------------------------------------------------------


@register
class ReverseSequence(Op):
    """y = x reversed along `axis` (default 1, time): y[:, t] = x[:, T-1-t]. Backward reverses back."""

    type_name = "reverse_sequence"

    def __init__(self, axis: int = 1):
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"ReverseSequence: axis must be an int, got {axis!r}")
        self.axis = int(axis)

    def get_config(self) -> dict:
        return {"axis": self.axis}

    def infer_shape(self, x):
        if not -len(x) <= self.axis < len(x):
            raise ValueError(f"axis {self.axis} is out of range for input shape {tuple(x)}")
        return tuple(x)

    def _rev(self, ctx: Ctx, key, a):
        idx = [slice(None)] * a.ndim
        idx[self.axis] = slice(None, None, -1)
        out = ctx.buf(key, a.shape, a.dtype)
        np.copyto(out, a[tuple(idx)])
        return out

    def forward(self, ctx: Ctx, x):
        return self._rev(ctx, "y", x)

    def backward(self, ctx: Ctx, gy):
        return (self._rev(ctx, "dx", gy) if ctx.needs_grad[0] else None,)


@register
class TimeFold(Op):
    """(B, T, ...) -> (B*T, ...): time folded into the batch (TimeDistributed). Backward unfolds."""

    type_name = "time_fold"

    def infer_shape(self, x):
        if len(x) < 3:
            raise ValueError(f"expected input of rank >= 3 (batch, time, ...), got shape {tuple(x)}")
        n = None if x[0] is None or x[1] is None else x[0] * x[1]
        return (n,) + tuple(x[2:])

    def forward(self, ctx: Ctx, x):
        ctx.shape = x.shape
        return x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:])

    def backward(self, ctx: Ctx, gy):
        return (gy.reshape(ctx.shape) if ctx.needs_grad[0] else None,)


@register
class TimeUnfold(Op):
    """(y (B*T, ...), like (B, T, ...)) -> (B, T, ...) with B, T from `like` (TimeDistributed)."""

    type_name = "time_unfold"
    nondiff_inputs = (1,)

    def infer_shape(self, y, like):
        if len(like) < 2 or len(y) < 1:
            raise ValueError(
                f"expected y of rank >= 1 and a reference of rank >= 2, got {tuple(y)} and {tuple(like)}"
            )
        if None not in (y[0], like[0], like[1]) and y[0] != like[0] * like[1]:
            raise ValueError(
                f"expected {like[0] * like[1]} rows (batch {like[0]} x time {like[1]}), got shape {tuple(y)}"
            )
        return (like[0], like[1]) + tuple(y[1:])

    def forward(self, ctx: Ctx, y, like):
        B, T = like.shape[:2]
        if y.shape[0] != B * T:
            raise ValueError(f"TimeUnfold: expected {B * T} rows (batch {B} x time {T}), got shape {y.shape}")
        ctx.shape = y.shape
        return y.reshape((B, T) + y.shape[1:])

    def backward(self, ctx: Ctx, gy):
        return (gy.reshape(ctx.shape) if ctx.needs_grad[0] else None, None)


@register
class Masking(Op):
    """Masks timesteps whose features all equal `mask_value`: outputs (y, mask).

    x (B, T, ...) -> mask (B, T) = any(x[b, t] != mask_value) as 0/1 in x's dtype, and
    y = x * mask (zeros at masked steps). Backward: dx = dy * mask (the mask has no gradient).
    """

    type_name = "masking"
    n_outputs = 2

    def __init__(self, mask_value: float = 0.0):
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.integer, np.floating)):
            raise TypeError(f"Masking: mask_value must be a number, got {mask_value!r}")
        self.mask_value = float(mask_value)

    def get_config(self) -> dict:
        return {"mask_value": self.mask_value}

    def infer_shape(self, x):
        if len(x) < 2:
            raise ValueError(f"expected input of rank >= 2 (batch, time, ...), got shape {tuple(x)}")
        return tuple(x), tuple(x[:2])

    def forward(self, ctx: Ctx, x):
        B, T = x.shape[:2]
        m = ctx.buf("mask", (B, T), x.dtype)
        np.copyto(m, np.any(x.reshape(B, T, -1) != self.mask_value, axis=2))
        y = ctx.buf("y", x.shape, x.dtype)
        np.multiply(x, m.reshape((B, T) + (1,) * (x.ndim - 2)), out=y)
        ctx.m = m
        return y, m

    def backward(self, ctx: Ctx, gy):
        g = gy[0]
        if g is None or not ctx.needs_grad[0]:
            return (None,)
        m = ctx.m
        dx = ctx.buf("dx", g.shape, g.dtype)
        np.multiply(g, m.reshape(m.shape + (1,) * (g.ndim - 2)), out=dx)
        return (dx,)


# ---- convolutional LSTM ------------------------------------------------------------------------


class _ConvLSTM(Op):
    """LSTM whose products are convolutions, over x (B, T, C, *spatial) (channels first).

    Inputs: x, kernel (4F, C, *k), recurrent kernel (4F, F, *k), [bias (4F,)]; gates i, f, c, o
    are blocks of F output channels (Keras's order). The input convolution (strides, padding,
    dilation) runs once over all B*T frames; per step the recurrent convolution of h_{s-1}
    ('same' padding, stride 1) and the LSTM step kernel (csrc/rnn.c, with the F * prod(spatial')
    values of a state as its units) update c and h of shape (B, F, *spatial'). Output
    (B, T, F, *spatial') with return_sequences (in processing order), else (B, F, *spatial').
    Backward runs the step kernel and the recurrent convolution's backward per step, then one
    backward of the input convolution.
    """

    rank: ClassVar[int] = 2

    def __init__(
        self,
        filters: int,
        strides=1,
        padding="valid",
        dilation=1,
        activation: str = "tanh",
        recurrent_activation: str = "sigmoid",
        use_bias: bool = True,
        return_sequences: bool = False,
        go_backwards: bool = False,
    ):
        name = type(self).__name__
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError(f"{name}: filters must be a positive int, got {filters!r}")
        self.filters = int(filters)
        self.conv = self._conv_op(strides, padding, dilation)
        self.rconv = self._conv_op(1, "same", 1)
        self.activation, self.recurrent_activation = str(activation), str(recurrent_activation)
        self._act = K.act_code(activation, f"{name}: activation")
        self._ract = K.act_code(recurrent_activation, f"{name}: recurrent_activation")
        self.use_bias = _flag(use_bias)
        self.return_sequences = _flag(return_sequences)
        self.go_backwards = _flag(go_backwards)

    @staticmethod
    def _conv_op(strides, padding, dilation) -> Op:
        raise NotImplementedError

    def get_config(self) -> dict:
        c = self.conv.get_config()
        return {
            "filters": self.filters,
            "strides": c["strides"],
            "padding": c["padding"],
            "dilation": c["dilation"],
            "activation": self.activation,
            "recurrent_activation": self.recurrent_activation,
            "use_bias": self.use_bias,
            "return_sequences": self.return_sequences,
            "go_backwards": self.go_backwards,
        }

    def infer_shape(self, x, w, r, b=None):
        F, n = self.filters, self.rank
        if (b is None) == self.use_bias:
            raise ValueError(
                f"expected {'4' if self.use_bias else '3'} inputs (x, kernel, recurrent kernel"
                f"{', bias' if self.use_bias else ''})"
            )
        if len(x) != n + 3:
            raise ValueError(
                f"expected input of rank {n + 3} (batch, time, channels, {n} spatial axes), got shape "
                f"{tuple(x)}"
            )
        if len(w) != n + 2 or w[0] != 4 * F or (x[2] is not None and w[1] != x[2]):
            raise ValueError(f"expected kernel shape {(4 * F, x[2])} + ({n} kernel sizes), got {tuple(w)}")
        if tuple(r) != (4 * F, F) + tuple(w[2:]):
            raise ValueError(f"expected recurrent kernel shape {(4 * F, F) + tuple(w[2:])}, got {tuple(r)}")
        if b is not None and tuple(b) != (4 * F,):
            raise ValueError(f"expected bias shape {(4 * F,)}, got {tuple(b)}")
        frame = self.conv.infer_shape((None,) + tuple(x[2:]), tuple(w), None if b is None else tuple(b))
        return (
            ((x[0], x[1], F) + tuple(frame[2:])) if self.return_sequences else ((x[0], F) + tuple(frame[2:]))
        )

    def forward(self, ctx: Ctx, x, w, r, b=None):
        name, n = type(self).__name__, self.rank
        if not isinstance(x, np.ndarray) or x.dtype not in _FLOATS or x.ndim != n + 3:
            raise TypeError(
                f"{name}: expected a float32/float64 input of rank {n + 3}, got "
                f"{getattr(x, 'dtype', type(x).__name__)} {getattr(x, 'shape', '')}"
            )
        B, T = x.shape[:2]
        if B < 1 or T < 1:
            raise ValueError(
                f"{name}: expected at least one sample and one time step, got input shape {x.shape}"
            )
        dt, F = x.dtype, self.filters
        if self.go_backwards:
            xc = ctx.buf("xrev", x.shape, dt)
            np.copyto(xc, x[:, ::-1])
        else:
            xc = np.ascontiguousarray(x)
        cin = ctx.__dict__.setdefault(
            "cin", Ctx(f"{ctx.name}/input_conv", n_inputs=3 if b is not None else 2)
        )
        xpc = self.conv.forward(cin, xc.reshape((B * T,) + x.shape[2:]), w, b)
        sp = tuple(xpc.shape[2:])
        U = F * int(np.prod(sp))
        xp = xpc.reshape(B, T, 4 * U)
        code = K.dtype_of(x, name)
        gates = ctx.buf("gates", (B, T, 4 * U), dt)
        hs = ctx.buf("hs", (B, T, U), dt)
        cs = ctx.buf("cs", (B, T, U), dt)
        tc = ctx.buf("tc", (B, T, U), dt)
        recs = ctx.__dict__.setdefault("recs", [])
        while len(recs) < T:
            recs.append(Ctx(f"{ctx.name}/recurrent_conv_{len(recs)}", n_inputs=2))
        step, act, ract = K.lstm_forward_step, self._act, self._ract
        for s in range(T):
            g = None
            if s:
                hp = np.ascontiguousarray(hs[:, s - 1]).reshape((B, F) + sp)
                g = self.rconv.forward(recs[s], hp, r)
            step(gates, hs, cs, tc, xp, g, None, None, None, None, B, T, U, s, 0, B, act, ract, code)
        ctx.saved = (x.shape, (B, T, U, F, sp), gates, hs, cs, tc, code, cin, recs, r.shape)
        if self.return_sequences:
            return hs.reshape((B, T, F) + sp)
        y = ctx.buf("ylast", (B, F) + sp, dt)
        np.copyto(y, hs[:, T - 1].reshape((B, F) + sp))
        return y

    def backward(self, ctx: Ctx, gy):
        xshape, (B, T, U, F, sp), gates, hs, cs, tc, code, cin, recs, rshape = ctx.saved
        has_b = self.use_bias
        flags = ctx.needs_grad
        dt = hs.dtype
        dcarry = ctx.buf("dcarry", (B, U), dt)
        dseq = None
        if self.return_sequences:
            dcarry.fill(0)
            dseq = np.ascontiguousarray(gy, dtype=dt).reshape(B, T, U)
        else:
            np.copyto(dcarry, gy.reshape(B, U))
        dc = ctx.zeros("dc", (B, U), dt)
        dgates = ctx.buf("dgates", (B, T, 4 * U), dt)
        dr = ctx.zeros("dr", rshape, dt) if flags[2] else None
        dhr = None
        step, act, ract = K.lstm_backward_step, self._act, self._ract
        for s in range(T - 1, -1, -1):
            step(
                dgates,
                dc,
                dcarry,
                None,
                dhr,
                dseq,
                gates,
                cs,
                tc,
                None,
                None,
                B,
                T,
                U,
                s,
                0,
                B,
                act,
                ract,
                code,
            )
            if s:
                rc = recs[s]
                rc.needs_grad = (True, bool(flags[2]))
                gdh, gdr = self.rconv.backward(
                    rc, np.ascontiguousarray(dgates[:, s]).reshape((B, 4 * F) + sp)
                )
                dhr = ctx.buf("dhr", (B, U), dt)
                np.copyto(dhr, gdh.reshape(B, U))
                if dr is not None:
                    dr += gdr
        cin.needs_grad = (bool(flags[0]), bool(flags[1])) + ((bool(flags[3]),) if has_b else ())
        gxs = self.conv.backward(cin, dgates.reshape((B * T, 4 * F) + sp))
        gx = None
        if flags[0]:
            g = gxs[0].reshape(xshape)
            gx = ctx.buf("dx", xshape, dt)
            np.copyto(gx, g[:, ::-1] if self.go_backwards else g)
        return (gx, gxs[1], dr) + ((gxs[2],) if has_b else ())


@register
class ConvLSTM2D(_ConvLSTM):
    """Convolutional LSTM over x (B, T, C, H, W) with 2-D convolutions (see _ConvLSTM)."""

    type_name = "conv_lstm2d"
    rank = 2

    @staticmethod
    def _conv_op(strides, padding, dilation) -> Op:
        from zoo.engine.ops.conv import Conv2D

        return Conv2D(strides, padding, dilation)


@register
class ConvLSTM3D(_ConvLSTM):
    """Convolutional LSTM over x (B, T, C, D, H, W) with 3-D convolutions (see _ConvLSTM)."""

    type_name = "conv_lstm3d"
    rank = 3

    @staticmethod
    def _conv_op(strides, padding, dilation) -> Op:
        from zoo.engine.ops.conv3d import Conv3D

        return Conv3D(strides, padding, dilation)
