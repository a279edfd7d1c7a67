"""Wrappers of the recurrent-cell and embedding kernels (csrc/rnn.c, gru.c, embedding.c).

The C functions check every buffer (element type, element count, C order, writability,
overlap of outputs with anything else) and every size before doing any work, and raise
TypeError/ValueError naming the kernel and the argument. These wrappers pass the arguments
through (the recurrent ops call them once per time step, so they stay thin) and prefix a
refusal with the caller's name `who`.

Layouts (see csrc/rnn.h): per-step arrays are batch-major (B, T, width) and the kernels take
the whole arrays plus the step index s and the batch rows [b0, b1) to run; per-row arrays
(g, dhr, dcarry, dc, h0, c0) are (B, width) and indexed by the same absolute row. Bias
gradients go to partial sums `dbp` of shape (groups(B), G), one row per RB = 16 batch rows.
`dtype` codes are 0 (float32) and 1 (float64). Activations are (code, p0, p1) from `act_code`.
"""

from __future__ import annotations

import numpy as np

from zoo.engine import _native

__all__ = [
    "ACTIVATIONS",
    "RB",
    "act_code",
    "dtype_of",
    "embedding_bag",
    "embedding_gather",
    "embedding_scatter",
    "groups",
    "gru1_backward_gates",
    "gru1_backward_state",
    "gru1_forward_gates",
    "gru1_forward_state",
    "gru_backward_step",
    "gru_forward_step",
    "lstm_backward_step",
    "lstm_forward_step",
    "simple_rnn_backward_step",
    "simple_rnn_forward_step",
]

#: activation name -> (kernel code, p0, p1); hard_sigmoid is Keras 3's clip(x/6 + 1/2, 0, 1),
#: legacy_hard_sigmoid the clip(0.2 x + 0.5, 0, 1) of Keras 1/2 and Analytics Zoo.
ACTIVATIONS = {
    "linear": (0, 0.0, 0.0),
    "tanh": (1, 0.0, 0.0),
    "sigmoid": (2, 0.0, 0.0),
    "hard_sigmoid": (3, 1.0 / 6.0, 0.5),
    "legacy_hard_sigmoid": (3, 0.2, 0.5),
    "relu": (4, 0.0, 0.0),
}
_CODES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1}
#: batch rows per bias-gradient partial sum (RNN_RB in csrc/rnn.h)
RB = 16
_REFUSED = (TypeError, ValueError, BufferError)


def act_code(name: str, who: str = "rnn") -> tuple[int, float, float]:
    """(code, p0, p1) of a recurrent activation name; ValueError lists the supported ones."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"{who}: activation must be one of {sorted(ACTIVATIONS)}, got {name!r}") from None


def groups(B: int) -> int:
    """Rows of the bias-gradient partial sums `dbp` for a batch of B rows."""
    return -(-B // RB)


def dtype_of(x: np.ndarray, who: str = "rnn") -> int:
    """Kernel dtype code of a float32/float64 array."""
    code = _CODES.get(getattr(x, "dtype", None))
    if code is None:
        raise TypeError(
            f"{who}: expected float32 or float64 arrays, got {getattr(x, 'dtype', type(x).__name__)}"
        )
    return code


def _call(fn, who: str, args):
    try:
        return fn(*args)
    except _REFUSED as e:
        raise type(e)(f"{who}: {e}") from None


def simple_rnn_forward_step(hs, xp, g, bias, mask, h0, B, T, U, s, b0, b1, act, dtype,
                            who="simple_rnn_forward_step"):
    """hs[b, s] = act(xp[b, s] + g[b] + bias), or h_{s-1} where mask[b, s] == 0, rows b0 <= b < b1."""
    _call(_native.simple_rnn_forward_step, who, (hs, xp, g, bias, mask, h0, B, T, U, s, b0, b1, act[0], act[1], act[2], dtype))


def simple_rnn_backward_step(dxp, dcarry, dbp, dhr, dseq, hs, mask, B, T, U, s, b0, b1, act, dtype,
                             who="simple_rnn_backward_step"):
    """dxp[b, s] = (dcarry + dhr + dseq[:, s])[b] act'(hs[b, s]); dbp[b // RB] += it."""
    _call(_native.simple_rnn_backward_step, who,
          (dxp, dcarry, dbp, dhr, dseq, hs, mask, B, T, U, s, b0, b1, act[0], act[1], dtype))


def lstm_forward_step(gates, hs, cs, tc, xp, g, bias, mask, h0, c0, B, T, U, s, b0, b1, act, ract, dtype,
                      who="lstm_forward_step"):
    """One LSTM step of rows [b0, b1): gates[:, s] = [i f c o] activated, cs/hs/tc[:, s] = c, h, act(c)."""
    _call(_native.lstm_forward_step, who,
          (gates, hs, cs, tc, xp, g, bias, mask, h0, c0, B, T, U, s, b0, b1, act[0], act[1], act[2], ract[0], ract[1], ract[2], dtype))


def lstm_backward_step(dgates, dc, dcarry, dbp, dhr, dseq, gates, cs, tc, c0, mask, B, T, U, s, b0, b1, act, ract,
                       dtype, who="lstm_backward_step"):
    """One LSTM step backward of rows [b0, b1): dgates[:, s] (pre-activation), dc and dcarry for step s - 1."""
    _call(_native.lstm_backward_step, who, (dgates, dc, dcarry, dbp, dhr, dseq, gates, cs, tc, c0, mask, B, T, U, s,
                                            b0, b1, act[0], act[1], ract[0], ract[1], dtype))


def gru_forward_step(gates, hs, xp, g, bi, br, mask, h0, B, T, U, s, b0, b1, act, ract, dtype,
                     who="gru_forward_step"):
    """One GRU step with the reset gate after the recurrent product (Keras 3's default)."""
    _call(_native.gru_forward_step, who, (gates, hs, xp, g, bi, br, mask, h0, B, T, U, s, b0, b1, act[0], act[1], act[2], ract[0], ract[1], ract[2], dtype))


def gru_backward_step(dxp, dgr, dcarry, dbpi, dbpr, dhr, dseq, gates, hs, h0, mask, B, T, U, s, b0, b1, act, ract,
                      dtype, who="gru_backward_step"):
    """One reset-after GRU step backward: input-side dxp[:, s] and recurrent-side dgr[:, s]."""
    _call(_native.gru_backward_step, who, (dxp, dgr, dcarry, dbpi, dbpr, dhr, dseq, gates, hs, h0, mask, B, T, U, s,
                                           b0, b1, act[0], act[1], ract[0], ract[1], dtype))


def gru1_forward_gates(gates, rh, hs, xp, g1, bias, mask, h0, B, T, U, s, b0, b1, ract, dtype,
                       who="gru1_forward_gates"):
    """Reset-before GRU, first half of a step: z, r and rh = r h_{s-1}."""
    _call(_native.gru1_forward_gates, who, (gates, rh, hs, xp, g1, bias, mask, h0, B, T, U, s, b0, b1, ract[0], ract[1], ract[2], dtype))


def gru1_forward_state(gates, hs, xp, g2, bias, mask, h0, B, T, U, s, b0, b1, act, dtype,
                       who="gru1_forward_state"):
    """Reset-before GRU, second half of a step: hh = act(xp_h + b_h + rh @ R_h) and h."""
    _call(_native.gru1_forward_state, who, (gates, hs, xp, g2, bias, mask, h0, B, T, U, s, b0, b1, act[0], act[1], act[2], dtype))


def gru1_backward_state(dxp, dcarry, dhr, dseq, gates, hs, h0, mask, B, T, U, s, b0, b1, act, ract, dtype,
                        who="gru1_backward_state"):
    """Reset-before GRU backward, first half: dz, dhh and dcarry = z dh."""
    _call(_native.gru1_backward_state, who, (dxp, dcarry, dhr, dseq, gates, hs, h0, mask, B, T, U, s, b0, b1,
                                             act[0], act[1], ract[0], ract[1], dtype))


def gru1_backward_gates(dxp, dcarry, dbp, drh, gates, hs, h0, mask, B, T, U, s, b0, b1, ract, dtype,
                        who="gru1_backward_gates"):
    """Reset-before GRU backward, second half: dr from drh, dcarry += r drh, dbp +=."""
    _call(_native.gru1_backward_gates, who,
          (dxp, dcarry, dbp, drh, gates, hs, h0, mask, B, T, U, s, b0, b1, ract[0], ract[1], dtype))


def embedding_gather(
    out, W, ids, base: int = 0, skip_neg: bool = False, pad: int | None = None, who: str = "embedding_gather"
) -> None:
    """out[p] = W[ids[p] - base]; zero rows where ids < 0 (skip_neg) or ids == pad. ids: int64 (n,)."""
    n, D, V = ids.size, W.shape[-1] if W.ndim == 2 else -1, W.shape[0]
    _call(_native.embedding_gather, who, (out, W, ids, n, D, V, base, int(skip_neg), int(pad is not None),
                                          0 if pad is None else pad, dtype_of(W, who)))


def embedding_scatter(
    dW,
    ids,
    dy,
    w=None,
    base: int = 0,
    group: int = 1,
    skip_neg: bool = False,
    pad: int | None = None,
    who: str = "embedding_scatter",
) -> None:
    """dW[ids[p] - base] += w[p] dy[p // group] (deterministic: each row sums its positions in order)."""
    n, D, V = ids.size, dW.shape[-1] if dW.ndim == 2 else -1, dW.shape[0]
    _call(_native.embedding_scatter, who, (dW, ids, dy, w, n, D, V, base, group, int(skip_neg), int(pad is not None),
                                           0 if pad is None else pad, dtype_of(dW, who)))


def embedding_bag(out, W, ids, w=None, base: int = 0, who: str = "embedding_bag") -> None:
    """out[b] = sum_l w[b, l] W[ids[b, l] - base] over ids >= 0. ids: int64 (B, L), out (B, D)."""
    if ids.ndim != 2 or W.ndim != 2:
        raise ValueError(f"{who}: expected ids (B, L) and W (V, D), got shapes {ids.shape} and {W.shape}")
    B, L = ids.shape
    _call(_native.embedding_bag, who, (out, W, ids, w, B, L, W.shape[1], W.shape[0], base, dtype_of(W, who)))
