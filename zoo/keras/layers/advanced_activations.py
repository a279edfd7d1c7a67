"""Advanced activation layers: Keras's (LeakyReLU, ELU, ReLU, Softmax, PReLU, ThresholdedReLU,
SReLU) and Analytics Zoo's Torch-style ones (RReLU, HardTanh, HardShrink, SoftShrink, Threshold,
BinaryThreshold, Negative). Shapes are unchanged by all of them.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine import functional as F
from zoo.engine.ops import elementwise as E
from zoo.engine.ops import misc as M
from zoo.keras.layers.base import Layer

__all__ = [
    "ELU",
    "BinaryThreshold",
    "HardShrink",
    "HardTanh",
    "LeakyReLU",
    "Negative",
    "PReLU",
    "RReLU",
    "ReLU",
    "SReLU",
    "SoftShrink",
    "Softmax",
    "Threshold",
    "ThresholdedReLU",
]


def _num(layer: Layer, what: str, v, low: float | None = None, strict: bool = False) -> float:
    """A finite number (>= low, or > low if strict), else a ValueError naming the layer."""
    ok = not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(v)
    if ok and low is not None:
        ok = v > low if strict else v >= low
    if not ok:
        bound = "" if low is None else f" {'>' if strict else '>='} {low}"
        raise layer.error(f"{what} must be a finite number{bound}, got {v!r}")
    return float(v)


def _shared_axes(layer: Layer, shared_axes) -> tuple[int, ...] | None:
    if shared_axes is None:
        return None
    t = (shared_axes,) if isinstance(shared_axes, (int, np.integer)) else tuple(shared_axes)
    if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) and a >= 1 for a in t):
        raise layer.error(f"shared_axes must be ints >= 1 (axes after the batch axis), got {shared_axes!r}")
    return tuple(int(a) for a in t)


def _param_shape(layer: Layer, input_shape, shared: tuple[int, ...] | None) -> tuple[int, ...]:
    """input_shape[1:] with the shared axes (1-based, Keras) set to 1."""
    shape = list(input_shape[1:])
    for a in shared or ():
        if a > len(shape):
            raise layer.error(f"shared_axes {list(shared)} names axis {a}, but the input shape "
                              f"{tuple(input_shape)} has rank {len(input_shape)}")
        shape[a - 1] = 1
    if any(d is None for d in shape):
        raise layer.error(f"the parameter axes must be known; give shared_axes for the unknown ones, got input "
                          f"shape {tuple(input_shape)}")
    return tuple(shape)


class LeakyReLU(Layer):
    """y = x for x >= 0, negative_slope * x otherwise.

    Args:
        negative_slope: float >= 0 (Keras 3, default 0.3); Keras 2 / Analytics Zoo spell it `alpha`.
    """

    def __init__(self, negative_slope: float | None = None, alpha: float | None = None, **kwargs):
        super().__init__(**kwargs)
        v = negative_slope if negative_slope is not None else (alpha if alpha is not None else 0.3)
        self.negative_slope = _num(self, "negative_slope", v, 0.0)

    def call(self, x):
        return F.activation(x, "leaky_relu", alpha=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    """y = x for x > 0, alpha * (exp(x) - 1) otherwise."""

    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _num(self, "alpha", alpha)

    def call(self, x):
        return F.activation(x, "elu", alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class ReLU(Layer):
    """Keras's ReLU layer: y = min(x, max_value) for x > threshold, negative_slope * (x - threshold) below.

    Args:
        max_value: float >= 0 or None (no clipping). negative_slope: float >= 0. threshold: float >= 0.
    Plain relu, leaky relu and relu6 run the fused activation kernels.
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.max_value = None if max_value is None else _num(self, "max_value", max_value, 0.0)
        self.negative_slope = _num(self, "negative_slope", negative_slope, 0.0)
        self.threshold = _num(self, "threshold", threshold, 0.0)

    def call(self, x):
        mv, ns, th = self.max_value, self.negative_slope, self.threshold
        if th == 0.0 and mv is None:
            return F.activation(x, "leaky_relu", alpha=ns) if ns else F.activation(x, "relu")
        if th == 0.0 and ns == 0.0 and mv == 6.0:
            return F.activation(x, "relu6")
        return F.apply_op(M.ReluGeneral(mv, ns, th), [x])

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class Softmax(Layer):
    """y = exp(x) / sum(exp(x)) along `axis` (an int, default -1)."""

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Softmax '{self.name}': axis must be an int, got {axis!r}")
        self.axis = int(axis)

    def build(self, input_shape):
        if not -len(input_shape) <= self.axis < len(input_shape) or self.axis % len(input_shape) == 0:
            raise self.error(f"axis {self.axis} is not a feature axis of input shape {tuple(input_shape)}")

    def call(self, x):
        return F.softmax(x, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class PReLU(Layer):
    """Parametric ReLU: y = x for x > 0, alpha * x otherwise, with a learned alpha.

    Keras: alpha has the input's per-sample shape, with size 1 on `shared_axes` (1-based, after the
    batch axis), initialised by `alpha_initializer` (default zeros). Analytics Zoo:
    `n_output_plane=0` learns one alpha for everything, `n_output_plane=n` one per channel (axis 1);
    then alpha starts at 0.25 (BigDL). Weights (get_weights): alpha.
    """

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, n_output_plane: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if alpha_constraint is not None:
            raise self.error("alpha_constraint is not supported")
        if n_output_plane is not None:
            if isinstance(n_output_plane, bool) or not isinstance(n_output_plane, (int, np.integer)) or \
                    n_output_plane < 0:
                raise self.error(f"n_output_plane must be an int >= 0, got {n_output_plane!r}")
            if alpha_initializer == "zeros":
                alpha_initializer = 0.25
        self.n_output_plane = None if n_output_plane is None else int(n_output_plane)
        self.alpha_initializer = alpha_initializer if alpha_initializer is not None else "zeros"
        self.alpha_regularizer = alpha_regularizer
        self.shared_axes = _shared_axes(self, shared_axes)

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise self.error(f"expected input of rank >= 2, got shape {tuple(input_shape)}")
        shared = self.shared_axes
        if self.n_output_plane is not None:
            rank = len(input_shape) - 1
            shared = tuple(range(1, rank + 1)) if self.n_output_plane == 0 else tuple(range(2, rank + 1))
            if self.n_output_plane and input_shape[1] != self.n_output_plane:
                raise self.error(f"expected {self.n_output_plane} channels on axis 1, got input shape "
                                 f"{tuple(input_shape)}")
        self.alpha = self.add_weight("alpha", _param_shape(self, input_shape, shared), self.alpha_initializer,
                                     regularizer=self.alpha_regularizer)

    def call(self, x):
        return F.apply_op(M.PRelu(), [x, self.alpha])

    def get_config(self):
        return {**super().get_config(), "shared_axes": None if self.shared_axes is None else list(self.shared_axes),
                "n_output_plane": self.n_output_plane}


class ThresholdedReLU(Layer):
    """y = x for x > theta, 0 otherwise (Keras 2 / Analytics Zoo). theta: float >= 0, default 1."""

    def __init__(self, theta: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.theta = _num(self, "theta", theta, 0.0)

    def call(self, x):
        return F.apply_op(M.Threshold(self.theta, 0.0), [x])

    def get_config(self):
        return {**super().get_config(), "theta": self.theta}


class SReLU(Layer):
    """S-shaped ReLU with learned knees and slopes (t_left, a_left, t_right, a_right), as Keras-contrib:
    with t_r = t_left + |t_right|,
    y = t_r + a_right (x - t_r) for x > t_r; x between the knees; t_left + a_left (x - t_left) below t_left.

    Args:
        t_left_init, a_left_init, t_right_init, a_right_init: initializers (Analytics Zoo names and
            defaults 'zero', 'glorot_uniform', 'glorot_uniform', 'one'; Keras-contrib's
            `*_initializer` spellings work too).
        shared_axes: 1-based axes after the batch axis along which the parameters are shared.
    Weights (get_weights): t_left, a_left, t_right, a_right, each of the per-sample shape with 1 on
    the shared axes.
    """

    def __init__(self, t_left_init="zero", a_left_init="glorot_uniform", t_right_init="glorot_uniform",
                 a_right_init="one", shared_axes=None, t_left_initializer=None, a_left_initializer=None,
                 t_right_initializer=None, a_right_initializer=None, **kwargs):
        super().__init__(**kwargs)
        given = {"t_left": (t_left_initializer, t_left_init, "zero"), "a_left": (a_left_initializer, a_left_init,
                 "glorot_uniform"), "t_right": (t_right_initializer, t_right_init, "glorot_uniform"),
                 "a_right": (a_right_initializer, a_right_init, "one")}
        for n, (keras, az, default) in given.items():  # stored as the attributes t_left_init, ...
            setattr(self, f"{n}_init", keras if keras is not None else az if az is not None else default)
        self.shared_axes = _shared_axes(self, shared_axes)

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise self.error(f"expected input of rank >= 2, got shape {tuple(input_shape)}")
        shape = _param_shape(self, input_shape, self.shared_axes)
        self.params = [self.add_weight(n, shape, getattr(self, f"{n}_init"))
                       for n in ("t_left", "a_left", "t_right", "a_right")]

    def call(self, x):
        return F.apply_op(M.SRelu(), [x, *self.params])

    def get_config(self):
        return {**super().get_config(), "shared_axes": None if self.shared_axes is None else list(self.shared_axes)}


class RReLU(Layer):
    """Randomized leaky ReLU: negative inputs times a ~ U(lower, upper) in training (drawn per
    element), times (lower + upper) / 2 in inference."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, **kwargs):
        super().__init__(**kwargs)
        self.lower = _num(self, "lower", lower)
        self.upper = _num(self, "upper", upper)
        if self.upper < self.lower:
            raise self.error(f"expected lower <= upper, got lower={lower!r}, upper={upper!r}")

    def call(self, x):
        return F.apply_op(M.RRelu(self.lower, self.upper), [x])

    def get_config(self):
        return {**super().get_config(), "lower": self.lower, "upper": self.upper}


class HardTanh(Layer):
    """y = clip(x, min_value, max_value) (gradient 1 inside [min_value, max_value], 0 outside)."""

    def __init__(self, min_value: float = -1.0, max_value: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.min_value = _num(self, "min_value", min_value)
        self.max_value = _num(self, "max_value", max_value)
        if self.max_value <= self.min_value:
            raise self.error(f"expected min_value < max_value, got min_value={min_value!r}, "
                             f"max_value={max_value!r}")

    def call(self, x):
        return F.apply_op(E.Clip(self.min_value, self.max_value), [x])

    def get_config(self):
        return {**super().get_config(), "min_value": self.min_value, "max_value": self.max_value}


class HardShrink(Layer):
    """y = x where |x| > value, else 0."""

    def __init__(self, value: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.value = _num(self, "value", value, 0.0)

    def call(self, x):
        return F.apply_op(M.HardShrink(self.value), [x])

    def get_config(self):
        return {**super().get_config(), "value": self.value}


class SoftShrink(Layer):
    """y = x - value for x > value, x + value for x < -value, else 0."""

    def __init__(self, value: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.value = _num(self, "value", value, 0.0)

    def call(self, x):
        return F.apply_op(M.SoftShrink(self.value), [x])

    def get_config(self):
        return {**super().get_config(), "value": self.value}


class Threshold(Layer):
    """y = x where x > th, else v (Torch Threshold)."""

    def __init__(self, th: float = 1e-6, v: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.th = _num(self, "th", th)
        self.v = _num(self, "v", v)

    def call(self, x):
        return F.apply_op(M.Threshold(self.th, self.v), [x])

    def get_config(self):
        return {**super().get_config(), "th": self.th, "v": self.v}


class BinaryThreshold(Layer):
    """y = 1 where x > value, else 0. Passes no gradient back."""

    def __init__(self, value: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.value = _num(self, "value", value)

    def call(self, x):
        return F.apply_op(M.BinaryThreshold(self.value), [x])

    def get_config(self):
        return {**super().get_config(), "value": self.value}


class Negative(Layer):
    """y = -x."""

    def call(self, x):
        return F.neg(x)
