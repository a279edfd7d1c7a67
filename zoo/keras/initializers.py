"""Weight initializers (Keras 2/3 classes and names, Keras 1 / Analytics Zoo spellings).

Shapes are Keras's: a Dense kernel is (in, out), a Conv2D kernel (kh, kw, in, out). Every draw
comes from the seeded generator of `zoo.keras.backend` (`backend.set_seed`).

A layer saves an initializer argument with `serialize` (a name stays a name, an object becomes
`{"class_name": ..., "config": {...}}` as Keras writes it) and `get` turns either back into
an initializer; custom classes and functions resolve through
`@zoo.keras.saving.register_keras_serializable()` or load_model's `custom_objects`.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.keras import backend

__all__ = [
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "get",
    "name",
    "serialize",
]


def _fans(shape: tuple) -> tuple[float, float]:
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = float(np.prod(shape[:-2])) if len(shape) > 2 else 1.0
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated(g, std, shape):
    out = g.normal(0, std, shape)
    bad = np.abs(out) > 2 * std
    while bad.any():
        out[bad] = g.normal(0, std, int(bad.sum()))
        bad = np.abs(out) > 2 * std
    return out.astype(np.float32)


class Initializer:
    """Callable (shape) -> float32 array; `get_config()` returns its constructor arguments."""

    name = "initializer"

    def __call__(self, shape) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Initializer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Constant(Initializer):
    """Every element `value`."""

    name = "constant"

    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def __call__(self, shape):
        return np.full(shape, self.value, dtype=np.float32)

    def get_config(self):
        return {"value": self.value}


class Zeros(Constant):
    name = "zeros"

    def __init__(self):
        super().__init__(0.0)

    def get_config(self):
        return {}


class Ones(Constant):
    name = "ones"

    def __init__(self):
        super().__init__(1.0)

    def get_config(self):
        return {}


class RandomUniform(Initializer):
    """U(minval, maxval)."""

    name = "random_uniform"

    def __init__(self, minval: float = -0.05, maxval: float = 0.05):
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape):
        return backend.rng().uniform(self.minval, self.maxval, shape).astype(np.float32)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval}


class RandomNormal(Initializer):
    """N(mean, stddev)."""

    name = "random_normal"

    def __init__(self, mean: float = 0.0, stddev: float = 0.05):
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape):
        return backend.rng().normal(self.mean, self.stddev, shape).astype(np.float32)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomNormal):
    """N(mean, stddev) redrawn beyond 2 stddev of the mean."""

    name = "truncated_normal"

    def __call__(self, shape):
        return (self.mean + _truncated(backend.rng(), self.stddev, shape)).astype(np.float32)


class VarianceScaling(Initializer):
    """Variance scale / max(1, n) with n the fan_in, fan_out or their mean: uniform, truncated
    normal ('truncated_normal', or 'normal' as Keras 2) or untruncated normal."""

    name = "variance_scaling"
    _DISTRIBUTIONS = ("uniform", "truncated_normal", "normal", "untruncated_normal")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal"):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: distribution must be one of {list(self._DISTRIBUTIONS)}, "
                             f"got {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape):
        fan_in, fan_out = _fans(tuple(shape))
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        g = backend.rng()
        if self.distribution == "uniform":
            lim = math.sqrt(3 * var)
            return g.uniform(-lim, lim, shape).astype(np.float32)
        if self.distribution == "untruncated_normal":
            return g.normal(0.0, math.sqrt(var), shape).astype(np.float32)
        std = math.sqrt(var) / 0.87962566103423978  # truncated normal, as Keras
        return _truncated(g, std, shape)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution}


class _Preset(VarianceScaling):
    """A VarianceScaling with fixed arguments and an empty config."""

    _args = (1.0, "fan_in", "truncated_normal")

    def __init__(self):
        super().__init__(*self._args)

    def get_config(self):
        return {}


class GlorotUniform(_Preset):
    """Glorot (Xavier) uniform: VarianceScaling(1, 'fan_avg', 'uniform')."""

    name, _args = "glorot_uniform", (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Glorot (Xavier) normal: VarianceScaling(1, 'fan_avg', 'truncated_normal')."""

    name, _args = "glorot_normal", (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    """He uniform: VarianceScaling(2, 'fan_in', 'uniform')."""

    name, _args = "he_uniform", (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """He normal: VarianceScaling(2, 'fan_in', 'truncated_normal')."""

    name, _args = "he_normal", (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """LeCun uniform: VarianceScaling(1, 'fan_in', 'uniform')."""

    name, _args = "lecun_uniform", (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """LeCun normal: VarianceScaling(1, 'fan_in', 'truncated_normal')."""

    name, _args = "lecun_normal", (1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix over the last axis times `gain`."""

    name = "orthogonal"

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape):
        rows, cols = int(np.prod(shape[:-1])) if len(shape) > 1 else 1, shape[-1]
        a = backend.rng().normal(0, 1, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        q = q if rows >= cols else q.T
        return (self.gain * q[:rows, :cols]).reshape(shape).astype(np.float32)

    def get_config(self):
        return {"gain": self.gain}


class Identity(Initializer):
    """`gain` times the identity matrix (2-D shapes only)."""

    name = "identity"

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape):
        if len(shape) != 2:
            raise ValueError(f"identity initializer: expected a 2-D shape, got {tuple(shape)}")
        eye = np.eye(*shape, dtype=np.float32)
        return eye if self.gain == 1.0 else (self.gain * eye).astype(np.float32)

    def get_config(self):
        return {"gain": self.gain}


class _Function(Initializer):
    """A function (shape) -> array used as an initializer."""

    def __init__(self, fn):
        self.fn = fn
        self.name = getattr(fn, "__name__", "custom")

    def __call__(self, shape):
        return np.asarray(self.fn(shape), dtype=np.float32)


#: Keras class names (what `serialize` writes and `get` reads in {"class_name": ...})
CLASSES: dict[str, type] = {c.__name__: c for c in (
    Constant, Zeros, Ones, RandomUniform, RandomNormal, TruncatedNormal, VarianceScaling, GlorotUniform,
    GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal, Identity)}

_REGISTRY = {
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones,
    "uniform": RandomUniform, "random_uniform": RandomUniform,
    "normal": RandomNormal, "random_normal": RandomNormal, "truncated_normal": TruncatedNormal,
    "orthogonal": Orthogonal, "identity": Identity, "variance_scaling": VarianceScaling, "constant": Constant,
}


def _custom(name):
    """A registered (or load_model custom_objects) class or function saved under `name`, or None."""
    from zoo.keras.saving import get_registered_object

    return get_registered_object(name)


def _from_custom(obj, config: dict) -> Initializer:
    if isinstance(obj, type):
        return obj.from_config(config) if hasattr(obj, "from_config") else obj(**config)
    return obj if isinstance(obj, Initializer) else _Function(obj)


def get(identifier) -> Initializer:
    """An initializer from a name, an Initializer, a callable (shape) -> array, a number (constant) or
    a config {"class_name": ..., "config": {...}} (as `serialize` writes)."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, (int, float)) and not isinstance(identifier, bool):
        return Constant(identifier)
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _REGISTRY:
            return _REGISTRY[key]()
        obj = _custom(identifier)
        if obj is not None:
            return _from_custom(obj, {})
        raise ValueError(f"unknown initializer {identifier!r}; known: {sorted(_REGISTRY)}")
    if isinstance(identifier, dict):
        cname, config = identifier.get("class_name"), identifier.get("config") or {}
        cls = CLASSES.get(cname) if isinstance(cname, str) else None
        if cls is not None:
            return cls.from_config(dict(config))
        obj = _custom(cname) if isinstance(cname, str) else None
        if obj is None or not isinstance(config, dict):
            raise ValueError(f"unknown initializer class {cname!r}; known: {sorted(CLASSES)} (register a custom "
                             f"one with @zoo.keras.saving.register_keras_serializable() or pass custom_objects)")
        return _from_custom(obj, dict(config))
    if callable(identifier):
        return _Function(identifier)
    raise TypeError(f"initializer must be a name, an Initializer or a callable, got {type(identifier).__name__}")


def serialize(init):
    """The initializer argument as JSON-ready data that `get` reads back: None, a name, a number,
    {"class_name": ..., "config": {...}} for an Initializer, or a function's registered name."""
    from zoo.keras.saving import get_registered_name

    if init is None or isinstance(init, (str, dict)):
        return init
    if isinstance(init, (int, float, np.integer, np.floating)) and not isinstance(init, (bool, np.bool_)):
        return float(init)
    if isinstance(init, _Function):
        return serialize(init.fn)
    if isinstance(init, Initializer):
        cls = type(init)
        return {"class_name": cls.__name__ if CLASSES.get(cls.__name__) is cls else get_registered_name(cls),
                "config": init.get_config()}
    if callable(init):
        return get_registered_name(init)
    raise TypeError(f"initializer must be a name, an Initializer or a callable, got {type(init).__name__}")


def name(init: Initializer) -> str:
    return init.name
