"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Permute, RepeatVector, and the Keras 1 /
Analytics Zoo MaxoutDense, Highway and SparseDense."""

from __future__ import annotations

import numpy as np

from zoo.engine import functional as F
from zoo.engine.ops import misc as M
from zoo.engine.ops import shape as S
from zoo.keras import activations
from zoo.keras.layers.base import Layer, check_positive_int

__all__ = [
    "Activation",
    "Dense",
    "Dropout",
    "Flatten",
    "Highway",
    "MaxoutDense",
    "Permute",
    "RepeatVector",
    "Reshape",
    "SparseDense",
]


class Dense(Layer):
    """Fully connected layer: `y = activation(x @ kernel + bias)` over the last axis.

    Args:
        units: positive int, size of the output's last axis (Keras 1: `output_dim`).
        activation: name or callable (None: linear).
        use_bias: add a bias (Keras 1: `bias`).
        kernel_initializer / bias_initializer (Keras 1: `init`), kernel_regularizer / bias_regularizer
        (Keras 1: `W_regularizer` / `b_regularizer`).
    Input shape: (batch, ..., d). Output shape: (batch, ..., units).
    Example:
        >>> from zoo.keras.models import Sequential
        >>> Sequential([Dense(4, input_shape=(8,))]).output_shape
        (None, 4)
    """

    def __init__(self, units: int | None = None, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, output_dim: int | None = None, init=None, W_regularizer=None,
                 b_regularizer=None, bias: bool | None = None, **kwargs):
        super().__init__(**kwargs)
        units = units if units is not None else output_dim
        self.units = check_positive_int(self, "units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias if bias is None else bias)
        self.kernel_initializer = init if init is not None else kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = W_regularizer if W_regularizer is not None else kernel_regularizer
        self.bias_regularizer = b_regularizer if b_regularizer is not None else bias_regularizer

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise self.error(f"expected input of rank >= 2 with a known last axis, got shape {input_shape}")
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.units,), self.bias_initializer, regularizer=self.bias_regularizer)
                     if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def call(self, x):
        if x.shape[-1] != self.kernel.shape[0]:
            raise self.error(f"expected last input axis {self.kernel.shape[0]}, got input shape {x.shape}")
        kind = self.activation.fusable_kind
        if self.bias is not None and kind is not None:
            return F.bias_act(F.linear(x, self.kernel), self.bias, kind, axis=-1)
        return self.activation(F.linear(x, self.kernel, self.bias))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.name(self.activation),
                "use_bias": self.use_bias}


class Activation(Layer):
    """Applies an activation by name (e.g. 'relu', 'softmax') or a callable."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, x):
        return self.activation(x)

    def get_config(self):
        return {**super().get_config(), "activation": activations.name(self.activation)}


class Dropout(Layer):
    """Inverted dropout: in training, zero each element with probability `rate`, scale the rest by 1/(1-rate).

    Keras 1 / Analytics Zoo spell `rate` as `p`. Identity in inference.
    """

    def __init__(self, rate: float | None = None, noise_shape=None, seed: int | None = None, p: float | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        rate = rate if rate is not None else p
        if rate is None or not (isinstance(rate, (int, float)) and 0 <= rate < 1):
            raise ValueError(f"Dropout '{self.name}': rate must be a float in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed

    def call(self, x):
        return F.dropout(x, self.rate, self.noise_shape) if self.rate > 0 else x

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape)}


class Flatten(Layer):
    """Flattens all axes but the batch axis: (batch, d1, d2, ...) -> (batch, d1*d2*...)."""

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if any(d is None for d in rest) else int(np.prod(rest)))

    def call(self, x):
        return F.flatten(x)


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (batch axis excluded; one -1 allowed)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(v) for v in target_shape)
        if sum(1 for v in self.target_shape if v == -1) > 1:
            raise ValueError(f"Reshape '{self.name}': at most one -1 in target_shape, got {self.target_shape}")

    def call(self, x):
        return F.reshape(x, (0,) + self.target_shape)  # 0: keep the batch axis

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}



class Permute(Layer):
    """Permutes the per-sample axes: `dims` is a permutation of 1..rank-1 (1-based, batch axis
    excluded, as Keras and Analytics Zoo), e.g. Permute((2, 1)) maps (batch, 3, 4) to (batch, 4, 3)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            d = tuple(dims)
        except TypeError:
            d = ()
        if not d or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in d) or \
                sorted(int(v) for v in d) != list(range(1, len(d) + 1)):
            raise ValueError(f"Permute '{self.name}': dims must be a permutation of 1..{len(d) or 'n'}, got {dims!r}")
        self.dims = tuple(int(v) for v in d)

    def call(self, x):
        if len(x.shape) != len(self.dims) + 1:
            raise self.error(f"expected input of rank {len(self.dims) + 1} for dims {self.dims}, got shape {x.shape}")
        return F.transpose(x, (0,) + self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """Repeats a (batch, d) input n times: output (batch, n, d)."""

    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        self.n = check_positive_int(self, "n", n)

    def call(self, x):
        if len(x.shape) != 2:
            raise self.error(f"expected input of rank 2 (batch, features), got shape {x.shape}")
        return F.apply_op(S.Repeat(self.n, 1), [F.apply_op(S.ExpandDims(1), [x])])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class MaxoutDense(Layer):
    """Maxout over `nb_feature` linear maps (Keras 1): y = max_k (x @ W[k] + b[k]) over the last axis.

    Args:
        output_dim: output size. nb_feature: number of linear pieces (default 4). init,
        W_regularizer, b_regularizer, bias as Keras 1.
    Weights (get_weights, Keras 1 shapes): W (nb_feature, input_dim, output_dim), b (nb_feature,
    output_dim). Input (batch, ..., input_dim) -> (batch, ..., output_dim).
    """

    def __init__(self, output_dim: int, nb_feature: int = 4, init="glorot_uniform", W_regularizer=None,
                 b_regularizer=None, bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.output_dim = check_positive_int(self, "output_dim", output_dim)
        self.nb_feature = check_positive_int(self, "nb_feature", nb_feature)
        self.init = init
        self.W_regularizer, self.b_regularizer = W_regularizer, b_regularizer
        self.bias = bool(bias)

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise self.error(f"expected input of rank >= 2 with a known last axis, got shape {tuple(input_shape)}")
        k = self.nb_feature * self.output_dim
        self.W = self.add_weight("W", (input_shape[-1], k), self.init, regularizer=self.W_regularizer)
        self.b = self.add_weight("b", (k,), "zeros", regularizer=self.b_regularizer) if self.bias else None

    # engine W (input_dim, nb_feature * output_dim) <-> Keras 1 W (nb_feature, input_dim, output_dim)
    def keras_weight_shape(self, name, shape):
        if name == "W":
            return (self.nb_feature, shape[0], self.output_dim)
        return (self.nb_feature, self.output_dim)

    def to_keras_weight(self, name, value):
        if name == "W":
            return np.ascontiguousarray(value.reshape(value.shape[0], self.nb_feature, self.output_dim)
                                        .transpose(1, 0, 2))
        return value.reshape(self.nb_feature, self.output_dim)

    def from_keras_weight(self, name, value):
        value = np.asarray(value, dtype=np.float32)
        if name == "W":
            return np.ascontiguousarray(value.transpose(1, 0, 2).reshape(value.shape[1], -1))
        return value.reshape(-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.output_dim,)

    def call(self, x):
        if x.shape[-1] != self.W.shape[0]:
            raise self.error(f"expected last input axis {self.W.shape[0]}, got input shape {x.shape}")
        y = F.linear(x, self.W, self.b)
        y = F.reshape(y, (0,) * (len(x.shape) - 1) + (self.nb_feature, self.output_dim))
        return F.reduce(y, "max", axis=-2)

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim, "nb_feature": self.nb_feature,
                "bias": self.bias}


class Highway(Layer):
    """Highway layer (Keras 1): with the gate t = sigmoid(x @ W_carry + b_carry),
    y = t * activation(x @ W + b) + (1 - t) * x. Input (batch, d) -> (batch, d).

    Args:
        activation: of the transform (default linear). bias: use b and b_carry. init: of W, W_carry.
        transform_bias: initial value of b_carry (default -2, so the carry path starts open).
    Weights (get_weights): W, W_carry (d, d), then b, b_carry (d,) with bias.
    """

    def __init__(self, activation=None, W_regularizer=None, b_regularizer=None, bias: bool = True,
                 init="glorot_uniform", transform_bias: float = -2.0, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.W_regularizer, self.b_regularizer = W_regularizer, b_regularizer
        self.bias = bool(bias)
        self.init = init
        self.transform_bias = float(transform_bias)

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise self.error(f"expected input of rank 2 with a known last axis, got shape {tuple(input_shape)}")
        d = input_shape[-1]
        self.W = self.add_weight("W", (d, d), self.init, regularizer=self.W_regularizer)
        self.W_carry = self.add_weight("W_carry", (d, d), self.init, regularizer=self.W_regularizer)
        if self.bias:
            self.b = self.add_weight("b", (d,), "zeros", regularizer=self.b_regularizer)
            self.b_carry = self.add_weight("b_carry", (d,), self.transform_bias, regularizer=self.b_regularizer)
        else:
            self.b = self.b_carry = None

    def call(self, x):
        if len(x.shape) != 2 or x.shape[-1] != self.W.shape[0]:
            raise self.error(f"expected input shape (None, {self.W.shape[0]}), got {x.shape}")
        if self.b_carry is not None:
            t = F.bias_act(F.linear(x, self.W_carry), self.b_carry, "sigmoid")
        else:
            t = F.activation(F.linear(x, self.W_carry), "sigmoid")
        kind = self.activation.fusable_kind
        if self.b is not None and kind is not None:
            h = F.bias_act(F.linear(x, self.W), self.b, kind)
        else:
            h = self.activation(F.linear(x, self.W, self.b))
        return F.add(F.mul(t, F.sub(h, x)), x)  # t h + (1 - t) x

    def get_config(self):
        return {**super().get_config(), "activation": activations.name(self.activation), "bias": self.bias,
                "transform_bias": self.transform_bias}


class SparseDense(Dense):
    """Dense layer for (densified) sparse input, as Analytics Zoo's SparseDense: the gradient with
    respect to the input is restricted to columns backward_start .. backward_start+backward_length-1
    (1-based, as Analytics Zoo; length -1: to the end) and zero elsewhere; backward_start=-1 (the
    default) passes no input gradient at all (sparse inputs are usually data).

    Args:
        output_dim, init, activation, W_regularizer, b_regularizer, bias: as Dense.
        init_weight (output_dim, input_dim) and init_bias (output_dim,): initial values (BigDL layout).
        init_grad_weight, init_grad_bias: accepted for compatibility, unused.
    """

    def __init__(self, output_dim: int, init=None, activation=None, W_regularizer=None,
                 b_regularizer=None, backward_start: int = -1, backward_length: int = -1, init_weight=None,
                 init_bias=None, init_grad_weight=None, init_grad_bias=None, bias: bool = True, **kwargs):
        super().__init__(output_dim=output_dim, init=init, activation=activation, W_regularizer=W_regularizer,
                         b_regularizer=b_regularizer, bias=bias, **kwargs)
        for what, v in (("backward_start", backward_start), ("backward_length", backward_length)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or (v < 1 and v != -1):
                raise ValueError(f"SparseDense '{self.name}': {what} must be a positive int or -1, got {v!r}")
        self.backward_start, self.backward_length = int(backward_start), int(backward_length)
        self._init_weight = None if init_weight is None else np.asarray(init_weight, dtype=np.float32)
        self._init_bias = None if init_bias is None else np.asarray(init_bias, dtype=np.float32)

    def build(self, input_shape):
        super().build(input_shape)
        if self._init_weight is not None:
            want = (self.units, input_shape[-1])
            if self._init_weight.shape != want:
                raise self.error(f"init_weight expected shape {want} (output_dim, input_dim), got "
                                 f"{self._init_weight.shape}")
            self.kernel.set(np.ascontiguousarray(self._init_weight.T))
        if self._init_bias is not None:
            if self.bias is None or self._init_bias.shape != (self.units,):
                raise self.error(f"init_bias expected shape ({self.units},) with bias=True, got "
                                 f"{self._init_bias.shape}")
            self.bias.set(self._init_bias)

    def call(self, x):
        start = None if self.backward_start < 1 else self.backward_start - 1
        length = None if self.backward_length < 1 else self.backward_length
        if start is not None and x.shape[-1] is not None and start >= x.shape[-1]:
            raise self.error(f"backward_start {self.backward_start} is beyond the input's {x.shape[-1]} columns")
        return super().call(F.apply_op(M.BackwardSlice(start, length), [x]))

    def get_config(self):
        cfg = super().get_config()
        cfg["output_dim"] = cfg.pop("units")
        return {**cfg, "bias": cfg.pop("use_bias"), "backward_start": self.backward_start,
                "backward_length": self.backward_length}
