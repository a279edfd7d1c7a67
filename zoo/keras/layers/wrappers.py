"""Layer wrappers: TimeDistributed (a layer applied to every time step) and Bidirectional.

A wrapper owns its inner layer(s): it builds them, composes their engine ops inside its own
call (so the model lists the wrapper, not the inner layers) and exposes their weights as its
own, in Keras's order and shapes.
"""

from __future__ import annotations

from zoo.engine import functional as F
from zoo.engine import graph as G
from zoo.engine.ops import recurrent as R
from zoo.keras.layers.base import Layer
from zoo.keras.layers.recurrent.masking import get_mask, set_mask
from zoo.keras.layers.recurrent.rnn import _RNN

__all__ = ["Bidirectional", "TimeDistributed"]


def _layer_config(layer: Layer) -> dict:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def _layer_from_config(spec) -> Layer:
    if isinstance(spec, Layer):
        return spec
    from zoo.keras.layers import layer_classes

    classes = layer_classes()
    if not isinstance(spec, dict) or spec.get("class_name") not in classes:
        raise ValueError(
            f"expected {{'class_name': <layer class>, 'config': {{...}}}} with a known class, got {spec!r}"
        )
    return classes[spec["class_name"]].from_config(dict(spec.get("config", {})))


class _Wrapper(Layer):
    def __init__(self, layer: Layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise TypeError(
                f"{type(self).__name__} '{self.name}': expected a Layer to wrap, got {type(layer).__name__}"
            )
        if layer.inbound:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': layer '{layer.name}' has already been called; "
                f"wrap a fresh layer"
            )

    def _apply_trainable(self) -> None:
        for inner in self._inner():
            inner.trainable = self._trainable

    def _inner(self) -> list[Layer]:
        raise NotImplementedError

    def _collect_weights(self) -> None:
        """The inner layers' weights become this layer's (names 'k:name' pick the inner layer k)."""
        self._weights, self._weight_names, self.regularizers = [], [], {}
        for k, inner in enumerate(self._inner()):
            self._weights += inner._weights
            self._weight_names += [f"{k}:{n}" for n in inner._weight_names]
            self.regularizers.update(inner.regularizers)

    def _route(self, name: str):
        k, _, inner_name = name.partition(":")
        return self._inner()[int(k)], inner_name

    def keras_weight_shape(self, name, shape):
        layer, n = self._route(name)
        return layer.keras_weight_shape(n, shape)

    def to_keras_weight(self, name, value):
        layer, n = self._route(name)
        return layer.to_keras_weight(n, value)

    def from_keras_weight(self, name, value):
        layer, n = self._route(name)
        return layer.from_keras_weight(n, value)


class TimeDistributed(_Wrapper):
    """Applies `layer` to every time step: (batch, time, ...) -> (batch, time, ...layer output).

    Time is folded into the batch, the layer runs once on (batch * time, ...), and the result
    is unfolded, so the layer's weights are shared across steps. A step mask passes through.
    Weights: the inner layer's.
    Example:
        >>> from zoo.keras.models import Sequential
        >>> from zoo.keras.layers import Dense
        >>> Sequential([TimeDistributed(Dense(4), input_shape=(5, 3))]).output_shape
        (None, 5, 4)
    """

    def __init__(self, layer: Layer, **kwargs):
        layer = _layer_from_config(layer)
        super().__init__(layer, **kwargs)
        self.layer = layer

    def _inner(self):
        return [self.layer]

    def build(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) < 3:
            raise self.error(f"expected one input of rank >= 3 (batch, time, ...), got shape {input_shape}")
        self.layer._build_once((None,) + tuple(input_shape[2:]))
        self._collect_weights()
        if not self._trainable:
            self.trainable = False

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])

    def call(self, x):
        if len(x.shape) < 3:
            raise self.error(f"expected input of rank >= 3 (batch, time, ...), got shape {x.shape}")
        folded = G.apply(R.TimeFold(), [x])
        with G.name_scope(self.layer.name):
            y = self.layer.call(folded)
        if isinstance(y, (list, tuple)):
            raise self.error(f"the wrapped layer '{self.layer.name}' returns several outputs; expected one")
        out = G.apply(R.TimeUnfold(), [y, x])
        set_mask(self, out, get_mask(x))
        return out

    def get_config(self):
        return {**super().get_config(), "layer": _layer_config(self.layer)}


_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(_Wrapper):
    """Runs a recurrent layer forwards and a copy backwards over the sequence and merges them.

    Args:
        layer: a SimpleRNN, LSTM or GRU (the forward layer).
        merge_mode: 'concat' (default), 'sum', 'mul', 'ave', or None (a list of both outputs).
        backward_layer: optional backward layer; default: a copy of `layer` with go_backwards
            flipped (as Keras).
    With return_sequences the backward output is reversed back to the input's time order, and
    masked steps output zeros in both directions (as Keras's Bidirectional). With return_state
    the outputs are [merged, forward states..., backward states...].
    Weights: the forward layer's, then the backward layer's (Keras's order).
    Example:
        >>> from zoo.keras.models import Sequential
        >>> from zoo.keras.layers import LSTM
        >>> Sequential([Bidirectional(LSTM(4, return_sequences=True), input_shape=(5, 3))]).output_shape
        (None, 5, 8)
    """

    def __init__(
        self, layer: Layer, merge_mode: str | None = "concat", backward_layer: Layer | None = None, **kwargs
    ):
        layer = _layer_from_config(layer)
        super().__init__(layer, **kwargs)
        if not isinstance(layer, _RNN):
            raise TypeError(
                f"Bidirectional '{self.name}': expected a SimpleRNN, LSTM or GRU layer, got "
                f"{type(layer).__name__}"
            )
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Bidirectional '{self.name}': merge_mode must be one of {list(_MERGE_MODES)}, got "
                f"{merge_mode!r}"
            )
        self.merge_mode = merge_mode
        self.forward_layer = layer
        if backward_layer is None:
            cfg = layer.get_config()
            cfg.update(name=f"backward_{layer.name}", go_backwards=not layer.go_backwards)
            cfg.pop("batch_input_shape", None)
            backward_layer = type(layer).from_config(cfg)
        else:
            backward_layer = _layer_from_config(backward_layer)
            if not isinstance(backward_layer, _RNN):
                raise TypeError(
                    f"Bidirectional '{self.name}': backward_layer must be a recurrent layer, got "
                    f"{type(backward_layer).__name__}"
                )
            if (
                backward_layer.return_sequences != layer.return_sequences
                or backward_layer.return_state != layer.return_state
            ):
                raise ValueError(
                    f"Bidirectional '{self.name}': the forward and backward layers must agree on "
                    f"return_sequences and return_state"
                )
        self.backward_layer = backward_layer
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state

    def _inner(self):
        return [self.forward_layer, self.backward_layer]

    def build(self, input_shape):
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        if len(shape) != 3:
            raise self.error(f"expected input of rank 3 (batch, time, features), got shape {tuple(shape)}")
        self.forward_layer._build_once(shape)
        self.backward_layer._build_once(shape)
        self._collect_weights()
        if not self._trainable:
            self.trainable = False

    def compute_output_shape(self, input_shape):
        y = self.forward_layer.compute_output_shape(input_shape)
        y = y[0] if self.return_state else y
        if self.merge_mode == "concat":
            y = tuple(y[:-1]) + (2 * y[-1],)
        return y

    def call(self, x):
        xs = x if isinstance(x, list) else [x]
        x0, states = xs[0], xs[1:]
        nf = self.forward_layer.n_states
        if states and len(states) != 2 * nf:
            raise self.error(f"expected {2 * nf} initial states (forward then backward), got {len(states)}")
        mask = get_mask(x0)
        zero = self.return_sequences
        with G.name_scope("forward"):
            yf = self.forward_layer._apply(x0, states[:nf], mask, zero_output_for_mask=zero)
        with G.name_scope("backward"):
            yb = self.backward_layer._apply(x0, states[nf:], mask, zero_output_for_mask=zero)
        sf, sb = [], []
        if self.return_state:
            yf, sf = yf[0], yf[1:]
            yb, sb = yb[0], yb[1:]
        if self.return_sequences:
            yb = G.apply(R.ReverseSequence(1), [yb])
        if self.merge_mode == "concat":
            y = F.concat([yf, yb], axis=-1)
        elif self.merge_mode == "sum":
            y = F.add(yf, yb)
        elif self.merge_mode == "mul":
            y = F.mul(yf, yb)
        elif self.merge_mode == "ave":
            y = F.mul_scalar(F.add(yf, yb), 0.5)
        else:
            y = None
        if y is not None and self.return_sequences:
            set_mask(self, y, mask)
        outs = [yf, yb] if y is None else [y]
        return outs + sf + sb if (self.return_state or y is None) else y

    def get_config(self):
        cfg = {
            **super().get_config(),
            "layer": _layer_config(self.forward_layer),
            "merge_mode": self.merge_mode,
        }
        cfg["backward_layer"] = _layer_config(self.backward_layer)
        return cfg
