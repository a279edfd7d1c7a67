"""The recurrent cells over a whole sequence: SimpleRNN, LSTM and GRU (see the package docstring).
"""

from __future__ import annotations

import numpy as np

from zoo.engine import threads
from zoo.engine.kernels import rnn as K
from zoo.engine.ops.base import Ctx, register
from zoo.engine.ops.recurrent.base import (
    _flag,
    _Recurrent,
    par_matmul_cols,
    recurrent_weight_grad,
    row_ranges,
)


@register
class SimpleRNN(_Recurrent):
    """Fully connected recurrence h_s = act(x_s W + h_{s-1} R + b) over a sequence (see module docstring)."""

    type_name = "simple_rnn"
    gates = 1
    n_states = 1

    def __init__(self, units: int, activation: str = "tanh", use_bias: bool = True,
                 return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 masked: bool = False, initial_state: bool = False, zero_output_for_mask: bool = False,
                 recurrent_activation: str = "linear"):
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

    def __init__(self, units: int, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 use_bias: bool = True, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, masked: bool = False, initial_state: bool = False,
                 zero_output_for_mask: bool = False, reset_after: bool = True):
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
