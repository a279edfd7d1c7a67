"""Recurrent ops: whole-sequence SimpleRNN, LSTM and GRU, and the sequence helpers around them.

Each recurrent op runs a whole sequence x (B, T, I) in one node:

    xp = x @ W                      one GEMM for the input projection of every step (B*T, G)
    for s in 0 .. T-1:
        g = h_{s-1} @ R             one GEMM per step for the recurrent part (B, G)
        step kernel (csrc/rnn.c, gru.c) adds xp[:, s], g and the bias, applies the gate
                                    nonlinearities and updates the state, in one pass

and backward through time has the same structure: one step kernel and one GEMM
(dG_s @ R^T) per step, then three big GEMMs, dx = dXP @ W^T, dW = x^T @ dXP and
dR = sum_s h_{s-1}^T dG_s (the last as one GEMM over all steps, see `recurrent_weight_grad`).
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

Families: `base` (argument handling, input projection, time loops and weight gradients
shared by the cells), `cells` (SimpleRNN, LSTM, GRU), `sequence` (ReverseSequence, TimeFold,
TimeUnfold, Masking) and `conv_lstm` (ConvLSTM2D, ConvLSTM3D).
"""

from __future__ import annotations

from zoo.engine.ops.recurrent.base import SMALL_STEP_FLOPS as SMALL_STEP_FLOPS
from zoo.engine.ops.recurrent.base import par_matmul_cols as par_matmul_cols
from zoo.engine.ops.recurrent.base import recurrent_weight_grad
from zoo.engine.ops.recurrent.base import row_ranges as row_ranges
from zoo.engine.ops.recurrent.cells import GRU, LSTM, SimpleRNN
from zoo.engine.ops.recurrent.conv_lstm import ConvLSTM2D, ConvLSTM3D
from zoo.engine.ops.recurrent.sequence import Masking, ReverseSequence, TimeFold, TimeUnfold

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
