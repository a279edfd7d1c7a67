"""Recurrent layers: SimpleRNN, LSTM, GRU (`rnn`), ConvLSTM2D/3D (`conv_lstm`), and Masking with
how step masks travel (`masking`).

Each recurrent layer is one engine node running the whole sequence (zoo/engine/ops/recurrent/:
one GEMM for the input projection, then one GEMM and one fused C kernel per step).

Spellings. Keras 2/3 (`LSTM(units, activation="tanh", recurrent_activation="sigmoid", ...)`) and
Keras 1 / Analytics Zoo (`LSTM(output_dim, activation="tanh", inner_activation="hard_sigmoid",
W_regularizer=, U_regularizer=, b_regularizer=)`) build the same class. As in the API each
spelling comes from, the Keras-1 spelling (`output_dim=` or `inner_activation=`) defaults the
gate activation to 'hard_sigmoid' in its Keras-1 form clip(0.2 x + 0.5, 0, 1) (its config name
is 'legacy_hard_sigmoid'), and GRU to the Keras-1 cell (reset_after=False); the Keras-3
spelling defaults to 'sigmoid' and reset_after=True, and its 'hard_sigmoid' is Keras 3's
clip(x/6 + 1/2, 0, 1). Supported activations: linear, tanh, sigmoid, hard_sigmoid,
legacy_hard_sigmoid, relu.

Weights are in Keras's layout and order (get_weights/set_weights move them to and from
tf.keras unchanged): kernel (input_dim, G*units), recurrent_kernel (units, G*units), bias
(G*units,), G = 1 (SimpleRNN), 4 (LSTM, gates i, f, c, o), 3 (GRU, gates z, r, h; with
reset_after the bias is (2, 3*units): input bias and recurrent bias).

Masks. A step mask is a (batch, time) float tensor of 0/1 (0 = skip the step) that travels
beside the data through the graph: the layer that makes a masked output records it with
`set_mask(layer, output, mask)` (Embedding(mask_zero=True) masks the id 0, Masking masks steps
equal to mask_value), and `get_mask(x)` finds the mask of a tensor, looking through layers that
keep the (batch, time) axes and act per step (Dropout, Activation, Dense, noise and
normalization layers, TimeDistributed). A recurrent layer whose input has a mask skips the
masked steps for that sample, keeping its previous state (as Keras does), and passes the mask
on when it returns sequences. A custom layer can attach a mask to its output with `set_mask`.
"""

from zoo.keras.layers.recurrent.conv_lstm import ConvLSTM2D, ConvLSTM3D
from zoo.keras.layers.recurrent.masking import MASK_PASS_THROUGH, Masking, get_mask, set_mask  # noqa: F401
from zoo.keras.layers.recurrent.rnn import _RNN, GRU, LSTM, SimpleRNN  # noqa: F401 (_RNN: importable from here)

__all__ = ["GRU", "LSTM", "ConvLSTM2D", "ConvLSTM3D", "Masking", "SimpleRNN", "get_mask", "set_mask"]
