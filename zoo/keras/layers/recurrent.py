"""Recurrent layers: SimpleRNN, LSTM, GRU, ConvLSTM2D/3D, and Masking; how step masks travel.

Each recurrent layer is one engine node running the whole sequence (zoo/engine/ops/recurrent.py:
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

from __future__ import annotations

import numpy as np

from zoo.engine import functional as F
from zoo.engine import graph as G
from zoo.engine.graph import Tensor
from zoo.engine.ops import recurrent as R
from zoo.keras import backend, initializers
from zoo.keras.layers.base import Layer, check_positive_int, to_tuple

__all__ = ["GRU", "LSTM", "ConvLSTM2D", "ConvLSTM3D", "Masking", "SimpleRNN", "get_mask", "set_mask"]

_RNN_ACTIVATIONS = ("linear", "tanh", "sigmoid", "hard_sigmoid", "legacy_hard_sigmoid", "relu")
#: layers that keep the (batch, time) axes and work per step: a mask passes through them
MASK_PASS_THROUGH = {
    "Dropout",
    "SpatialDropout1D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "Activation",
    "Dense",
    "BatchNormalization",
    "LayerNormalization",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "ThresholdedReLU",
    "ReLU",
    "TimeDistributed",
    "ActivityRegularization",
}


# ---- masks ------------------------------------------------------------------------------------


def set_mask(layer: Layer, output: Tensor, mask: Tensor | None) -> None:
    """Record that `output`, made by `layer`, carries the (batch, time) step mask `mask`."""
    if mask is None:
        return
    masks = layer.__dict__.setdefault("_output_masks", {})
    masks[(id(output.node), output.index)] = (output, mask)


def get_mask(x: Tensor) -> Tensor | None:
    """The step mask that travels with `x`, or None.

    Looks at the layer that made x (its recorded masks), then through per-step layers
    (MASK_PASS_THROUGH) whose input has the same (batch, time) axes.
    """
    seen = 0
    while isinstance(x, Tensor) and seen < 64:
        seen += 1
        layer = x.node.tag
        if layer is None:
            return None
        rec = getattr(layer, "_output_masks", {}).get((id(x.node), x.index))
        if rec is not None and rec[0] is x:
            return rec[1]
        if type(layer).__name__ not in MASK_PASS_THROUGH:
            return None
        src = None
        for ins, outs in layer.inbound:
            if any(o is x for o in outs) and len(ins) == 1:
                src = ins[0]
                break
        if (
            src is None
            or len(src.shape) < 2
            or len(x.shape) < 2
            or tuple(src.shape[:2]) != tuple(x.shape[:2])
        ):
            return None
        x = src
    return None


# ---- recurrent layers ----------------------------------------------------------------------------


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


class _RNN(Layer):
    """Shared constructor, weights and call of SimpleRNN, LSTM and GRU."""

    gates = 1
    n_states = 1
    _has_recurrent_activation = True

    def __init__(
        self,
        units=None,
        activation="tanh",
        recurrent_activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        seed=None,
        output_dim=None,
        inner_activation=None,
        init=None,
        inner_init=None,
        forget_bias_init=None,
        W_regularizer=None,
        U_regularizer=None,
        b_regularizer=None,
        dropout_W=None,
        dropout_U=None,
        **kwargs,
    ):
        if "input_dim" in kwargs and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            # Keras 1: input_dim (features) and input_length (time steps) instead of input_shape
            kwargs["input_shape"] = (kwargs.pop("input_length", None), kwargs.pop("input_dim"))
        super().__init__(**kwargs)
        keras1 = units is None and output_dim is not None or inner_activation is not None
        self.keras1 = keras1
        self.units = check_positive_int(self, "units", units if units is not None else output_dim)
        self.activation = _rnn_activation(self, "activation", activation, keras1)
        ract = inner_activation if inner_activation is not None else recurrent_activation
        if ract is None:
            ract = "hard_sigmoid" if keras1 else "sigmoid"
        self.recurrent_activation = _rnn_activation(self, "recurrent_activation", ract, keras1)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = init if init is not None else kernel_initializer
        self.recurrent_initializer = inner_init if inner_init is not None else recurrent_initializer
        self.bias_initializer = bias_initializer
        self.unit_forget_bias = (
            bool(unit_forget_bias) if forget_bias_init is None else forget_bias_init in ("one", "ones")
        )
        self.kernel_regularizer = W_regularizer if W_regularizer is not None else kernel_regularizer
        self.recurrent_regularizer = U_regularizer if U_regularizer is not None else recurrent_regularizer
        self.bias_regularizer = b_regularizer if b_regularizer is not None else bias_regularizer
        self.dropout = _rate(self, "dropout", dropout_W if dropout_W is not None else dropout)
        rd = _rate(self, "recurrent_dropout", dropout_U if dropout_U is not None else recurrent_dropout)
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

    def _bias_init(self):
        init = initializers.get(self.bias_initializer)
        u = self.units
        if not (self.unit_forget_bias and self.gates == 4):
            return init

        def forget_ones(shape):
            return np.concatenate([init((u,)), np.ones(u, np.float32), init((2 * u,))])

        return forget_ones

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
            self.add_weight("bias", self.bias_shape(), self._bias_init(), regularizer=self.bias_regularizer)
            if self.use_bias
            else None
        )

    # ---- graph --------------------------------------------------------------------------

    def compute_output_shape(self, input_shape):
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        y = (shape[0], shape[1], self.units) if self.return_sequences else (shape[0], self.units)
        return [y] + [(shape[0], self.units)] * self.n_states if self.return_state else y

    def _op(self, masked: bool, initial_state: bool, zero_output_for_mask: bool):
        raise NotImplementedError

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
        inputs = [x, G.parameter(self.kernel), G.parameter(self.recurrent_kernel)]
        if self.bias is not None:
            inputs.append(G.parameter(self.bias))
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

    def _op(self, masked, initial_state, zero_output_for_mask):
        return R.SimpleRNN(
            self.units,
            self.activation,
            self.use_bias,
            self.return_sequences,
            self.return_state,
            self.go_backwards,
            masked,
            initial_state,
            zero_output_for_mask,
        )


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

    def _op(self, masked, initial_state, zero_output_for_mask):
        return R.LSTM(
            self.units,
            self.activation,
            self.recurrent_activation,
            self.use_bias,
            self.return_sequences,
            self.return_state,
            self.go_backwards,
            masked,
            initial_state,
            zero_output_for_mask,
        )

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

    def __init__(self, units=None, *args, reset_after: bool | None = None, **kwargs):
        super().__init__(units, *args, **kwargs)
        self.reset_after = (not self.keras1) if reset_after is None else bool(reset_after)

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _op(self, masked, initial_state, zero_output_for_mask):
        return R.GRU(
            self.units,
            self.activation,
            self.recurrent_activation,
            self.use_bias,
            self.return_sequences,
            self.return_state,
            self.go_backwards,
            masked,
            initial_state,
            zero_output_for_mask,
            reset_after=self.reset_after,
        )

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


# ---- ConvLSTM2D / ConvLSTM3D ---------------------------------------------------------------------


class _ConvLSTM(Layer):
    """Shared constructor, weights and call of ConvLSTM2D and ConvLSTM3D."""

    rank = 2

    def __init__(
        self,
        filters=None,
        kernel_size=None,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation="tanh",
        recurrent_activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        return_sequences: bool = False,
        go_backwards: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        nb_filter=None,
        nb_row=None,
        nb_col=None,
        nb_kernel=None,
        subsample=None,
        border_mode=None,
        dim_ordering=None,
        inner_activation=None,
        W_regularizer=None,
        U_regularizer=None,
        b_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        n = self.rank
        keras1 = filters is None and nb_filter is not None or inner_activation is not None
        self.keras1 = keras1
        self.filters = check_positive_int(self, "filters", filters if filters is not None else nb_filter)
        if kernel_size is None:
            if nb_kernel is not None:
                kernel_size = nb_kernel
            elif n == 2 and nb_row is not None:
                kernel_size = (nb_row, nb_col if nb_col is not None else nb_row)
        self.kernel_size = to_tuple(self, "kernel_size", kernel_size, n)
        self.strides = to_tuple(self, "strides", subsample if subsample is not None else strides, n)
        self.dilation_rate = to_tuple(self, "dilation_rate", dilation_rate, n)
        p = str(border_mode if border_mode is not None else padding).lower()
        if p not in ("valid", "same"):
            raise self.error(f"padding must be 'valid' or 'same', got {padding!r}")
        self.padding = p
        self.data_format = backend.normalize_data_format(
            dim_ordering if dim_ordering is not None else data_format, f"{type(self).__name__} '{self.name}'"
        )
        self.activation = _rnn_activation(self, "activation", activation, keras1)
        ract = inner_activation if inner_activation is not None else recurrent_activation
        self.recurrent_activation = _rnn_activation(
            self,
            "recurrent_activation",
            ract if ract is not None else ("hard_sigmoid" if keras1 else "sigmoid"),
            keras1,
        )
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = W_regularizer if W_regularizer is not None else kernel_regularizer
        self.recurrent_regularizer = U_regularizer if U_regularizer is not None else recurrent_regularizer
        self.bias_regularizer = b_regularizer if b_regularizer is not None else bias_regularizer
        if dropout or recurrent_dropout:
            raise NotImplementedError(
                f"{type(self).__name__} '{self.name}': dropout and recurrent_dropout are not supported"
            )
        self.return_sequences = bool(return_sequences)
        self.go_backwards = bool(go_backwards)

    def _channels(self, input_shape) -> int:
        n = self.rank
        if len(input_shape) != n + 3:
            raise self.error(
                f"expected input of rank {n + 3} (batch, time, ...image axes), got shape {tuple(input_shape)}"
            )
        c = input_shape[2] if self.data_format == "channels_first" else input_shape[-1]
        if c is None:
            raise self.error(f"the channel axis must be known, got shape {tuple(input_shape)}")
        return c

    def build(self, input_shape):
        c, f = self._channels(input_shape), self.filters
        self.kernel = self.add_weight(
            "kernel",
            (4 * f, c) + self.kernel_size,
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel",
            (4 * f, f) + self.kernel_size,
            self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
        )
        if self.use_bias:
            init = initializers.get(self.bias_initializer)
            if self.unit_forget_bias:
                base = init

                def init(shape):
                    return np.concatenate([base((f,)), np.ones(f, np.float32), base((2 * f,))])

            self.bias = self.add_weight("bias", (4 * f,), init, regularizer=self.bias_regularizer)
        else:
            self.bias = None

    # engine (4F, C, k...) <-> Keras (k..., C, 4F)
    def keras_weight_shape(self, name, shape):
        return tuple(shape[2:]) + (shape[1], shape[0]) if name != "bias" else shape

    def to_keras_weight(self, name, value):
        if name == "bias":
            return value
        return np.ascontiguousarray(np.transpose(value, tuple(range(2, value.ndim)) + (1, 0)))

    def from_keras_weight(self, name, value):
        value = np.asarray(value, dtype=np.float32)
        if name == "bias":
            return value
        n = value.ndim
        return np.ascontiguousarray(np.transpose(value, (n - 1, n - 2) + tuple(range(n - 2))))

    def call(self, x):
        c = self._channels(x.shape)
        if c != self.kernel.shape[1]:
            raise self.error(f"expected {self.kernel.shape[1]} input channels, got input shape {x.shape}")
        n = self.rank
        last = self.data_format == "channels_last"
        if last:
            x = F.transpose(x, (0, 1, n + 2) + tuple(range(2, n + 2)))
        op_cls = R.ConvLSTM2D if n == 2 else R.ConvLSTM3D
        op = op_cls(
            self.filters,
            self.strides,
            self.padding,
            self.dilation_rate,
            self.activation,
            self.recurrent_activation,
            self.use_bias,
            self.return_sequences,
            self.go_backwards,
        )
        inputs = [x, G.parameter(self.kernel), G.parameter(self.recurrent_kernel)]
        if self.bias is not None:
            inputs.append(G.parameter(self.bias))
        y = G.apply(op, inputs)
        if last:
            lead = (0, 1) if self.return_sequences else (0,)
            k = len(lead)
            y = F.transpose(y, lead + tuple(range(k + 1, k + 1 + n)) + (k,))
        return y

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "activation": self.activation,
            "recurrent_activation": self.recurrent_activation,
            "use_bias": self.use_bias,
            "unit_forget_bias": self.unit_forget_bias,
            "return_sequences": self.return_sequences,
            "go_backwards": self.go_backwards,
        }


class ConvLSTM2D(_ConvLSTM):
    """Convolutional LSTM (Shi 2015): an LSTM whose products are 2-D convolutions.

    Gates `[i, f, c~, o] = [ract, ract, act, ract](conv(x_t, kernel) + conv(h_{t-1},
    recurrent_kernel) + bias)` (the recurrent convolution pads 'same'), `c_t = f c_{t-1} + i c~`,
    `h_t = o act(c_t)`.

    Args:
        filters (Keras 1: nb_filter), kernel_size (int or pair; Keras 1: nb_row, nb_col or
        Analytics Zoo's nb_kernel), strides (subsample), padding ('valid'/'same'; border_mode),
        data_format ('channels_first'/'th', the default unless changed by
        backend.set_image_data_format, or 'channels_last'/'tf'; dim_ordering), dilation_rate,
        activation, recurrent_activation (inner_activation), use_bias, unit_forget_bias,
        initializers, regularizers (W_/U_/b_regularizer), return_sequences, go_backwards.
    Input shape: (batch, time, channels, rows, cols) channels first, (batch, time, rows, cols,
    channels) channels last. Output: (batch, time, filters, rows', cols') with return_sequences
    (channels last: filters at the end), else without the time axis.
    Weights (get_weights, as Keras): kernel (kh, kw, channels, 4 filters), recurrent_kernel
    (kh, kw, filters, 4 filters), bias (4 filters,).
    Example:
        >>> from zoo.keras.models import Sequential
        >>> Sequential([ConvLSTM2D(4, 3, padding="same", input_shape=(5, 2, 8, 8))]).output_shape
        (None, 4, 8, 8)
    """

    rank = 2


class ConvLSTM3D(_ConvLSTM):
    """Convolutional LSTM with 3-D convolutions (see ConvLSTM2D; Analytics Zoo: nb_filter, nb_kernel).

    Input shape: (batch, time, channels, depth, rows, cols) channels first, or channels last.
    Weights (as Keras): kernel (kd, kh, kw, channels, 4 filters), recurrent_kernel
    (kd, kh, kw, filters, 4 filters), bias (4 filters,).
    Example:
        >>> from zoo.keras.models import Sequential
        >>> Sequential([ConvLSTM3D(2, 3, padding="same", return_sequences=True,
        ...                        input_shape=(4, 1, 5, 5, 5))]).output_shape
        (None, 4, 2, 5, 5, 5)
    """

    rank = 3


# ---- Masking ----------------------------------------------------------------------------------


class Masking(Layer):
    """Masks timesteps whose features all equal `mask_value`.

    Output: the input with masked steps set to zero; the step mask travels with it (see the
    module docstring), so a following recurrent layer skips those steps.
    Input shape: (batch, time, ...). Output shape: the same.
    Example:
        >>> from zoo.keras.models import Sequential
        >>> Sequential([Masking(0.0, input_shape=(5, 3)), LSTM(2)]).output_shape
        (None, 2)
    """

    def __init__(self, mask_value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.integer, np.floating)):
            raise TypeError(f"Masking '{self.name}': mask_value must be a number, got {mask_value!r}")
        self.mask_value = float(mask_value)

    def call(self, x):
        if len(x.shape) < 2:
            raise self.error(f"expected input of rank >= 2 (batch, time, ...), got shape {x.shape}")
        y, m = G.apply(R.Masking(self.mask_value), [x])
        set_mask(self, y, m)
        return y

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
