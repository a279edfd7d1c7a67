"""The Keras-style Layer, InputLayer and Input.

A layer validates its arguments in `__init__`, creates weights in `build`, composes engine
ops in `call`, and returns its constructor arguments from `get_config`. Calling a layer on
symbolic tensors adds engine nodes named after the layer (its last node gets the layer's
name, so `new_graph`/`freeze_up_to` can address it).
"""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np

from zoo.engine import functional as F
from zoo.engine import graph as G
from zoo.engine.graph import Tensor
from zoo.engine.params import Parameter
from zoo.keras import backend, initializers, regularizers

__all__ = ["Input", "InputLayer", "Layer", "check_positive_int", "first_given", "kernel_from_keras",
           "kernel_keras_shape", "kernel_to_keras", "to_channels_first", "to_channels_last", "to_tuple",
           "weight_arg_kind"]

_LAYER_KW = {"name", "input_shape", "input_dim", "batch_input_shape", "trainable", "dtype", "batch_size",
             "input_length", "weights", "bigdl_type"}


def _snake(name: str) -> str:
    """Keras's layer-name rule: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d."""
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def first_given(*values):
    """The first value that is not None (e.g. a Keras 1 alias before its Keras 2 argument), else None."""
    return next((v for v in values if v is not None), None)


def check_positive_int(layer, what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': {what} must be a positive int, got {value!r}")
    return int(value)


def to_tuple(layer, what: str, value, n: int, minimum: int = 1) -> tuple:
    """An int or an n-sequence of ints (each >= minimum) as an n-tuple."""
    t = (value,) * n if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    try:
        t = tuple(t)
    except TypeError:
        t = ()
    if len(t) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum
                              for v in t):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': {what} must be an int >= {minimum} or "
                         f"{n} of them, got {value!r}")
    return tuple(int(v) for v in t)


def to_channels_first(x: Tensor, rank: int) -> Tensor:
    """(batch, *spatial, C) -> (batch, C, *spatial) for `rank` spatial axes."""
    return F.transpose(x, (0, rank + 1) + tuple(range(1, rank + 1)))


def to_channels_last(y: Tensor, rank: int) -> Tensor:
    """(batch, C, *spatial) -> (batch, *spatial, C) for `rank` spatial axes."""
    return F.transpose(y, (0,) + tuple(range(2, rank + 2)) + (1,))


def weight_arg_kind(attr: str) -> str | None:
    """'initializer' or 'regularizer' if a layer attribute of this name holds such a constructor
    argument (`*_initializer`, `*_init`, `init`, `inner_init`; `*_regularizer`), else None."""
    if attr.startswith("_"):
        return None
    if attr.endswith("_regularizer"):
        return "regularizer"
    if attr.endswith(("_initializer", "_init")) or attr in ("init", "inner_init"):
        return "initializer"
    return None


def kernel_keras_shape(shape: tuple) -> tuple:
    """Keras's shape (k..., I, O) of an engine convolution kernel of shape (O, I, k...)."""
    return tuple(shape[2:]) + (shape[1], shape[0])


def kernel_to_keras(value: np.ndarray) -> np.ndarray:
    """Engine convolution kernel (O, I, k...) -> Keras's (k..., I, O)."""
    return np.ascontiguousarray(np.transpose(value, tuple(range(2, value.ndim)) + (1, 0)))


def kernel_from_keras(value: np.ndarray) -> np.ndarray:
    """Keras convolution kernel (k..., I, O) -> the engine's (O, I, k...), float32."""
    value = np.asarray(value, dtype=np.float32)
    n = value.ndim
    return np.ascontiguousarray(np.transpose(value, (n - 1, n - 2) + tuple(range(n - 2))))


class Layer:
    """Base of every Keras-style layer.

    A layer keeps each initializer and regularizer argument, as given, in an attribute named like
    the constructor argument (`self.kernel_initializer`, `self.W_regularizer`, `self.init`; see
    `weight_arg_kind`); `get_config` saves them all in a serializable form, so that
    `from_config(get_config())` initialises and regularizes alike. A subclass whose constructor
    spells one differently names it in `_config_names` ({attribute: argument}).
    """

    _config_names: ClassVar[dict] = {}

    def __init__(self, name: str | None = None, input_shape=None, input_dim=None, batch_input_shape=None,
                 trainable: bool = True, dtype="float32", **kwargs):
        self.name = name if name is not None else G.unique_name(_snake(type(self).__name__))
        bad = set(kwargs) - _LAYER_KW
        if bad:
            raise TypeError(f"{type(self).__name__} '{self.name}': unexpected argument(s) {sorted(bad)}")
        if batch_input_shape is not None:
            self.batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            self.batch_input_shape = (None,) + tuple(input_shape)
        elif input_dim is not None:
            self.batch_input_shape = (None, int(input_dim))
        else:
            self.batch_input_shape = None
        self._initial_weights = kwargs.get("weights")
        self._weights: list[Parameter] = []
        self._weight_names: list[str] = []
        self.regularizers: dict = {}
        self.built = False
        self._trainable = bool(trainable)
        self.inbound: list[tuple[list[Tensor], list[Tensor]]] = []  # (inputs, outputs) per call

    # ---- weights ------------------------------------------------------------------------

    def add_weight(self, name: str, shape, initializer="glorot_uniform", trainable: bool = True,
                   regularizer=None, state: bool = False) -> Parameter:
        """A new weight of `shape` (in the engine's layout), initialised by `initializer`."""
        shape = tuple(int(s) for s in shape)
        init = initializers.get(initializer)
        value = self._init_value(name, init, shape)
        p = Parameter(f"{self.name}/{name}", value, trainable=trainable and self._trainable,
                      kind="state" if state else "param")
        p._layer_trainable = trainable
        self._weights.append(p)
        self._weight_names.append(name)
        if regularizer is not None:
            self.regularizers[p] = regularizers.get(regularizer)
        return p

    def _init_value(self, name: str, init, shape: tuple) -> np.ndarray:
        """Initial value in engine layout; layers whose Keras layout differs override the two hooks below."""
        keras_shape = self.keras_weight_shape(name, shape)
        return self.from_keras_weight(name, init(keras_shape))

    def keras_weight_shape(self, name: str, shape: tuple) -> tuple:
        return shape

    def to_keras_weight(self, name: str, value: np.ndarray) -> np.ndarray:
        return value

    def from_keras_weight(self, name: str, value: np.ndarray) -> np.ndarray:
        return np.asarray(value, dtype=np.float32)

    @property
    def weights(self) -> list[Parameter]:
        return list(self._weights)

    @property
    def trainable_weights(self) -> list[Parameter]:
        return [p for p in self._weights if p.kind == "param" and p.trainable]

    @property
    def non_trainable_weights(self) -> list[Parameter]:
        return [p for p in self._weights if not (p.kind == "param" and p.trainable)]

    def get_weights(self) -> list[np.ndarray]:
        """Weights as numpy arrays in Keras's order and shapes."""
        return [self.to_keras_weight(n, p.value.copy()) for n, p in zip(self._weight_names, self._weights)]

    def set_weights(self, weights) -> None:
        """Set weights from arrays in Keras's order and shapes (as `get_weights` returns)."""
        weights = list(weights)
        if len(weights) != len(self._weights):
            raise ValueError(f"{type(self).__name__} '{self.name}': expected {len(self._weights)} weight arrays "
                             f"{[self.keras_weight_shape(n, p.shape) for n, p in zip(self._weight_names, self._weights)]}"
                             f", got {len(weights)}")
        converted = []
        for n, p, w in zip(self._weight_names, self._weights, weights):
            w = np.asarray(w)
            expected = self.keras_weight_shape(n, p.shape)
            if w.shape != tuple(expected):
                raise ValueError(f"{type(self).__name__} '{self.name}': weight '{n}' expected shape "
                                 f"{tuple(expected)}, got {w.shape}")
            converted.append(self.from_keras_weight(n, w))
        for p, w in zip(self._weights, converted):
            p.set(w)

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, flag: bool) -> None:
        self._trainable = bool(flag)
        self._apply_trainable()

    def _apply_trainable(self) -> None:
        """Pass `self._trainable` on to the weights (a layer holding other layers passes it to them)."""
        for p in self._weights:
            if p.kind == "param":
                p.trainable = self._trainable and getattr(p, "_layer_trainable", True)

    def freeze(self) -> None:
        """Stop training this layer's weights (they stay in place, masked)."""
        self.trainable = False

    def unfreeze(self) -> None:
        self.trainable = True

    def count_params(self) -> int:
        return int(sum(p.size for p in self._weights))

    # ---- building and calling -------------------------------------------------------------

    def build(self, input_shape) -> None:
        """Create weights for `input_shape` (batch axis included, possibly None)."""

    def _build_once(self, input_shape) -> None:
        """Build for `input_shape` unless built, then apply the constructor's `weights=`."""
        if self.built:
            return
        self.build(input_shape)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, x):
        raise NotImplementedError(f"{type(self).__name__} has no call()")

    def _data_format(self, fmt, default: str | None = None) -> str:
        """`fmt` ('channels_first'/'th' or 'channels_last'/'tf'; None: `default`, else the global
        default) in Keras's spelling; a ValueError naming the layer otherwise."""
        return backend.normalize_data_format(default if fmt is None else fmt, f"{type(self).__name__} '{self.name}'")

    def error(self, message: str) -> ValueError:
        return ValueError(f"{type(self).__name__} '{self.name}': {message}")

    def __call__(self, inputs):
        xs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        for x in xs:
            if not isinstance(x, Tensor):
                raise TypeError(f"{type(self).__name__} '{self.name}': expected symbolic tensors (from Input or "
                                f"another layer), got {type(x).__name__}")
        shapes = [x.shape for x in xs]
        shape_arg = shapes if isinstance(inputs, (list, tuple)) else shapes[0]
        try:
            self._build_once(shape_arg)
        except ValueError as e:
            msg = str(e)
            raise (e if msg.startswith(type(self).__name__) else self.error(msg)) from None
        k = len(self.inbound)
        scope = self.name if k == 0 else f"{self.name}_{k}"
        try:
            with G.name_scope(scope):
                out = self.call(list(xs) if isinstance(inputs, (list, tuple)) else xs[0])
        except ValueError as e:
            msg = str(e)
            raise (e if msg.startswith(type(self).__name__) else self.error(msg)) from None
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        if len(outs) == 1 and outs[0].node.kind == "op" and outs[0].node.tag is None and \
                outs[0].node.name.startswith(scope + "/"):
            outs[0].node.name = scope
        for o in outs:
            if o.node.tag is None:
                o.node.tag = self
        self.inbound.append((list(xs), outs))
        return out

    @property
    def input_shape(self):
        if not self.inbound:
            if self.batch_input_shape is not None:
                return self.batch_input_shape
            raise AttributeError(f"{type(self).__name__} '{self.name}' has not been called yet")
        ins = self.inbound[0][0]
        return ins[0].shape if len(ins) == 1 else [t.shape for t in ins]

    @property
    def output_shape(self):
        if not self.inbound:
            raise AttributeError(f"{type(self).__name__} '{self.name}' has not been called yet")
        outs = self.inbound[0][1]
        return outs[0].shape if len(outs) == 1 else [t.shape for t in outs]

    def get_config(self) -> dict:
        cfg = {"name": self.name, "trainable": self._trainable}
        if self.batch_input_shape is not None:
            cfg["batch_input_shape"] = list(self.batch_input_shape)
        cfg.update(self.weight_arg_config())
        return cfg

    def weight_arg_config(self) -> dict:
        """{constructor argument: serialized value} of this layer's initializer and regularizer arguments."""
        out = {}
        for attr, value in vars(self).items():
            kind = weight_arg_kind(attr)
            if kind is not None:
                ser = regularizers.serialize if kind == "regularizer" else initializers.serialize
                out[self._config_names.get(attr, attr)] = ser(value)
        return out

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self.name}'>"


class InputLayer(Layer):
    """The entry point of a model: holds the input placeholder."""

    def __init__(self, input_shape=None, batch_input_shape=None, name=None, dtype="float32", **kwargs):
        super().__init__(name=name, input_shape=input_shape, batch_input_shape=batch_input_shape, **kwargs)
        if self.batch_input_shape is None:
            raise ValueError(f"InputLayer '{self.name}': give input_shape (without the batch axis)")
        self.dtype = np.dtype(dtype)
        self.output = G.input(self.batch_input_shape, name=self.name, dtype=self.dtype)
        self.output.node.tag = self
        self.built = True
        self.inbound.append(([], [self.output]))

    def get_config(self):
        return {**super().get_config(), "dtype": self.dtype.name}


def Input(shape=None, name: str | None = None, dtype="float32", batch_shape=None, **kwargs) -> Tensor:
    """A symbolic input of per-sample `shape` (the batch axis is added), for functional models."""
    if shape is None and batch_shape is None:
        shape = kwargs.pop("input_shape", None)
        if shape is None:
            raise ValueError("Input: give shape (without the batch axis)")
    if isinstance(shape, int):
        shape = (shape,)
    return InputLayer(input_shape=shape, batch_input_shape=batch_shape, name=name, dtype=dtype).output
