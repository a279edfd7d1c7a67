"""The recurrent cells' layers SimpleRNN, LSTM and GRU, and `_Recurrent`, what they share with
ConvLSTM: gate activations in Keras 2 and Keras 1 spellings, the forget-gate bias, the weights
fed to the engine op.

Each layer is one engine node running the whole sequence (zoo/engine/ops/recurrent/: one GEMM
for the input projection, then one GEMM and one fused C kernel per step).
"""

from __future__ import annotations

import numpy as np

from zoo.engine import functional as F
from zoo.engine import graph as G
from zoo.engine.graph import Tensor
from zoo.engine.ops import recurrent as R
from zoo.keras import initializers
from zoo.keras.layers.base import Layer, check_positive_int
from zoo.keras.layers.base import first_given as _first
from zoo.keras.layers.recurrent.masking import get_mask, set_mask

__all__ = ["GRU", "LSTM", "SimpleRNN"]

_RNN_ACTIVATIONS = ("linear", "tanh", "sigmoid", "hard_sigmoid", "legacy_hard_sigmoid", "relu")


def _rnn_activation(layer, what: str, value, keras1: bool) -> str:
    name = "linear" if value is None else value
    if not isinstance(name, str) or name.lower() not in _RNN_ACTIVATIONS:
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}': {what} must be one of {list(_RNN_ACTIVATIONS)}, "
            f"got {value!r}"
        )
    name = name.lower()
    return "legacy_hard_sigmoid" if keras1 and name == "hard_sigmoid" else name


def _rate(layer, what: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}': {what} must be a float in [0, 1), got {value!r}"
        )
    return float(value)



class _Recurrent(Layer):
    """What SimpleRNN, LSTM, GRU and ConvLSTM share: activations, the bias initializer, the op's weights."""

    gates = 1

    def _set_activations(self, activation, recurrent_activation, inner_activation, keras1: bool) -> None:
        """activation, and the gates' recurrent_activation (Keras 1: inner_activation, default hard_sigmoid)."""
        self.activation = _rnn_activation(self, "activation", activation, keras1)
        ract = _first(inner_activation, recurrent_activation, "hard_sigmoid" if keras1 else "sigmoid")
        self.recurrent_activation = _rnn_activation(self, "recurrent_activation", ract, keras1)

    def _set_weight_args(self, kernel_initializer, recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer) -> None:
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer, self.recurrent_regularizer = kernel_regularizer, recurrent_regularizer
        self.bias_regularizer = bias_regularizer

    def _bias_init(self, units: int):
        """bias_initializer, with the forget gate's block (the second of 4) set to 1 by unit_forget_bias."""
        init = initializers.get(self.bias_initializer)
        if not (self.unit_forget_bias and self.gates == 4):
            return init

        def forget_ones(shape):
            return np.concatenate([init((units,)), np.ones(units, np.float32), init((2 * units,))])

        return forget_ones

    def _weight_inputs(self) -> list:
        """kernel, recurrent_kernel and (with use_bias) bias as op inputs."""
        inputs = [G.parameter(self.kernel), G.parameter(self.recurrent_kernel)]
        if self.bias is not None:
            inputs.append(G.parameter(self.bias))
        return inputs


class _RNN(_Recurrent):
    """Shared constructor, weights and call of SimpleRNN, LSTM and GRU."""

    gates = 1
    n_states = 1
    _has_recurrent_activation = True

    def __init__(self, units=None, activation="tanh", recurrent_activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias: bool = True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False, zero_output_for_mask: bool = False, seed=None,
                 output_dim=None, inner_activation=None, init=None, inner_init=None, forget_bias_init=None,
                 W_regularizer=None, U_regularizer=None, b_regularizer=None, dropout_W=None, dropout_U=None,
                 **kwargs):
        if "input_dim" in kwargs and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            # Keras 1: input_dim (features) and input_length (time steps) instead of input_shape
            kwargs["input_shape"] = (kwargs.pop("input_length", None), kwargs.pop("input_dim"))
        super().__init__(**kwargs)
        keras1 = units is None and output_dim is not None or inner_activation is not None
        self.keras1 = keras1
        self.units = check_positive_int(self, "units", units if units is not None else output_dim)
        self._set_activations(activation, recurrent_activation, inner_activation, keras1)
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = (
            bool(unit_forget_bias) if forget_bias_init is None else forget_bias_init in ("one", "ones")
        )
        self._set_weight_args(_first(init, kernel_initializer), _first(inner_init, recurrent_initializer),
                              bias_initializer, _first(W_regularizer, kernel_regularizer),
                              _first(U_regularizer, recurrent_regularizer), _first(b_regularizer, bias_regularizer))
        self.dropout = _rate(self, "dropout", _first(dropout_W, dropout))
        rd = _rate(self, "recurrent_dropout", _first(dropout_U, recurrent_dropout))
        if rd:
            raise NotImplementedError(
                f"{type(self).__name__} '{self.name}': recurrent_dropout is not supported; "
                f"use dropout (on the inputs) instead"
            )
        self.recurrent_dropout = 0.0
        if stateful:
            raise NotImplementedError(f"{type(self).__name__} '{self.name}': stateful=True is not supported")
        self.unroll = bool(unroll)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.seed = seed

    # ---- weights ------------------------------------------------------------------------

    def _input_dim(self, input_shape) -> int:
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        if len(shape) != 3 or shape[-1] is None:
            raise self.error(
                f"expected input of rank 3 (batch, time, features) with known features, got shape "
                f"{tuple(shape)}"
            )
        return shape[-1]

    def bias_shape(self) -> tuple:
        return (self.gates * self.units,)

    def build(self, input_shape):
        d, gu = self._input_dim(input_shape), self.gates * self.units
        self.kernel = self.add_weight(
            "kernel", (d, gu), self.kernel_initializer, regularizer=self.kernel_regularizer
        )
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel",
            (self.units, gu),
            self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
        )
        self.bias = (
            self.add_weight("bias", self.bias_shape(), self._bias_init(self.units), regularizer=self.bias_regularizer)
            if self.use_bias
            else None
        )

    # ---- graph --------------------------------------------------------------------------

    def compute_output_shape(self, input_shape):
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        y = (shape[0], shape[1], self.units) if self.return_sequences else (shape[0], self.units)
        return [y] + [(shape[0], self.units)] * self.n_states if self.return_state else y

    def _op(self, masked: bool, initial_state: bool, zero_output_for_mask: bool):
        acts = (self.activation, self.recurrent_activation) if self._has_recurrent_activation else (self.activation,)
        return self._op_class(self.units, *acts, self.use_bias, self.return_sequences, self.return_state,
                              self.go_backwards, masked, initial_state, zero_output_for_mask, **self._op_kwargs())

    def _op_kwargs(self) -> dict:
        return {}

    def _apply(
        self, x: Tensor, states=(), mask: Tensor | None = None, zero_output_for_mask: bool | None = None
    ):
        """Engine node(s) for x (with optional initial states and step mask); returns the output(s)."""
        if x.shape[-1] != self.kernel.shape[0] or len(x.shape) != 3:
            raise self.error(f"expected input of shape (batch, time, {self.kernel.shape[0]}), got {x.shape}")
        states = list(states)
        if states and len(states) != self.n_states:
            raise self.error(f"expected {self.n_states} initial state tensor(s), got {len(states)}")
        if self.dropout:
            x = F.dropout(x, self.dropout, noise_shape=(None, 1, None))
        zo = self.zero_output_for_mask if zero_output_for_mask is None else zero_output_for_mask
        op = self._op(mask is not None, bool(states), zo)
        inputs = [x, *self._weight_inputs()]
        if mask is not None:
            inputs.append(mask)
        inputs += states
        out = G.apply(op, inputs)
        return list(out) if isinstance(out, tuple) else out

    def call(self, x):
        xs = x if isinstance(x, list) else [x]
        mask = get_mask(xs[0])
        out = self._apply(xs[0], xs[1:], mask)
        if self.return_sequences and mask is not None:
            set_mask(self, out[0] if isinstance(out, list) else out, mask)
        return out

    def get_config(self):
        cfg = {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "use_bias": self.use_bias,
            "dropout": self.dropout,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "zero_output_for_mask": self.zero_output_for_mask,
            "unroll": self.unroll,
        }
        if self._has_recurrent_activation:
            cfg["recurrent_activation"] = self.recurrent_activation
        return cfg


class SimpleRNN(_RNN):
    """Fully connected recurrence: `h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`.

    Args:
        units: positive int (Keras 1: `output_dim`). activation: default 'tanh'.
        use_bias, kernel/recurrent/bias initializers and regularizers (Keras 1: init, inner_init,
        W_regularizer, U_regularizer, b_regularizer), dropout (inputs, one mask for all steps),
        return_sequences, return_state, go_backwards: as Keras.
    Input shape: (batch, time, features). Output: (batch, time, units) with return_sequences,
    else (batch, units); with return_state, [output, last h].
    Weights: kernel (features, units), recurrent_kernel (units, units), bias (units,).
    Example:
        >>> from zoo.keras.models import Sequential
        >>> Sequential([SimpleRNN(4, input_shape=(5, 3))]).output_shape
        (None, 4)
    """

    gates = 1
    n_states = 1
    _has_recurrent_activation = False
    _op_class = R.SimpleRNN



class LSTM(_RNN):
    """Long short-term memory (Hochreiter 1997), Keras gate order i, f, c, o.

    `[i, f, c~, o] = [ract, ract, act, ract](x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`,
    `c_t = f c_{t-1} + i c~`, `h_t = o act(c_t)`.

    Args:
        units (Keras 1: output_dim); activation ('tanh'); recurrent_activation ('sigmoid'; Keras 1:
        inner_activation, default 'hard_sigmoid' as clip(0.2 x + 0.5)); unit_forget_bias (True: the
        forget gate's bias starts at 1); initializers, regularizers, dropout, return_sequences,
        return_state, go_backwards as Keras.
    Input shape: (batch, time, features). Output: (batch, time, units) or (batch, units); with
    return_state, [output, h, c].
    Weights: kernel (features, 4 units), recurrent_kernel (units, 4 units), bias (4 units,).
    Example:
        >>> from zoo.keras.models import Sequential
        >>> Sequential([LSTM(8, return_sequences=True, input_shape=(5, 3))]).output_shape
        (None, 5, 8)
    """

    gates = 4
    n_states = 2
    _op_class = R.LSTM

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRU(_RNN):
    """Gated recurrent unit (Cho 2014), Keras gate order z, r, h.

    reset_after=True (Keras 3's default): `hh = act(x W_h + bi_h + r (h R_h + br_h))`, bias
    (2, 3 units); reset_after=False (Keras 1 and Analytics Zoo, the default of the Keras-1
    spelling): `hh = act(x W_h + b_h + (r h) R_h)`, bias (3 units,). Then `h_t = z h_{t-1} +
    (1 - z) hh` with `[z, r] = ract(x W + h R + b)` for the first 2 units-blocks.

    Args: as LSTM, plus reset_after. Input (batch, time, features); output (batch, time, units)
    or (batch, units); with return_state, [output, h].
    Example:
        >>> from zoo.keras.models import Sequential
        >>> Sequential([GRU(output_dim=4, input_shape=(5, 3))]).layers[-1].reset_after
        False
    """

    gates = 3
    n_states = 1
    _op_class = R.GRU

    def __init__(self, units=None, *args, reset_after: bool | None = None, **kwargs):
        super().__init__(units, *args, **kwargs)
        self.reset_after = (not self.keras1) if reset_after is None else bool(reset_after)

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _op_kwargs(self):
        return {"reset_after": self.reset_after}


    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}
