"""Convolutional LSTM over a sequence of images or volumes: ConvLSTM2D, ConvLSTM3D.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from zoo.engine.kernels import rnn as K
from zoo.engine.ops.base import Ctx, Op, register
from zoo.engine.ops.recurrent.base import _FLOATS, _flag


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
