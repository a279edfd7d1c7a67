"""Weight initializers by name (Keras 2/3 and Keras 1 / Analytics Zoo spellings).

Shapes are Keras's: a Dense kernel is (in, out), a Conv2D kernel (kh, kw, in, out).
"""

from __future__ import annotations

import math

import numpy as np

from zoo.keras import backend

__all__ = ["get", "name", "Initializer", "Constant"]


def _fans(shape: tuple) -> tuple[float, float]:
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = float(np.prod(shape[:-2])) if len(shape) > 2 else 1.0
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Callable (shape) -> float32 array."""

    name = "initializer"

    def __call__(self, shape) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}


class _Scaled(Initializer):
    def __init__(self, name: str, scale: float, mode: str, distribution: str):
        self.name, self.scale, self.mode, self.distribution = name, scale, mode, distribution

    def __call__(self, shape):
        fan_in, fan_out = _fans(tuple(shape))
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        g = backend.rng()
        if self.distribution == "uniform":
            lim = math.sqrt(3 * var)
            return g.uniform(-lim, lim, shape).astype(np.float32)
        std = math.sqrt(var) / 0.87962566103423978  # truncated normal, as Keras
        return _truncated(g, std, shape)


def _truncated(g, std, shape):
    out = g.normal(0, std, shape)
    bad = np.abs(out) > 2 * std
    while bad.any():
        out[bad] = g.normal(0, std, int(bad.sum()))
        bad = np.abs(out) > 2 * std
    return out.astype(np.float32)


class Constant(Initializer):
    name = "constant"

    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def __call__(self, shape):
        return np.full(shape, self.value, dtype=np.float32)

    def get_config(self):
        return {"value": self.value}


class _Random(Initializer):
    def __init__(self, name: str, kind: str, a: float, b: float):
        self.name, self.kind, self.a, self.b = name, kind, a, b

    def __call__(self, shape):
        g = backend.rng()
        if self.kind == "uniform":
            return g.uniform(self.a, self.b, shape).astype(np.float32)
        if self.kind == "normal":
            return g.normal(self.a, self.b, shape).astype(np.float32)
        return (self.a + _truncated(g, self.b, shape)).astype(np.float32)


class Orthogonal(Initializer):
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


class Identity(Initializer):
    name = "identity"

    def __call__(self, shape):
        if len(shape) != 2:
            raise ValueError(f"identity initializer: expected a 2-D shape, got {tuple(shape)}")
        return np.eye(*shape, dtype=np.float32)


_REGISTRY = {
    "glorot_uniform": lambda: _Scaled("glorot_uniform", 1.0, "fan_avg", "uniform"),
    "glorot_normal": lambda: _Scaled("glorot_normal", 1.0, "fan_avg", "normal"),
    "he_uniform": lambda: _Scaled("he_uniform", 2.0, "fan_in", "uniform"),
    "he_normal": lambda: _Scaled("he_normal", 2.0, "fan_in", "normal"),
    "lecun_uniform": lambda: _Scaled("lecun_uniform", 1.0, "fan_in", "uniform"),
    "lecun_normal": lambda: _Scaled("lecun_normal", 1.0, "fan_in", "normal"),
    "zeros": lambda: Constant(0.0), "zero": lambda: Constant(0.0),
    "ones": lambda: Constant(1.0), "one": lambda: Constant(1.0),
    "uniform": lambda: _Random("uniform", "uniform", -0.05, 0.05),
    "random_uniform": lambda: _Random("random_uniform", "uniform", -0.05, 0.05),
    "normal": lambda: _Random("normal", "normal", 0.0, 0.05),
    "random_normal": lambda: _Random("random_normal", "normal", 0.0, 0.05),
    "truncated_normal": lambda: _Random("truncated_normal", "truncated", 0.0, 0.05),
    "orthogonal": Orthogonal, "identity": Identity,
}


def get(identifier) -> Initializer:
    """An initializer from a name, an Initializer, a callable (shape) -> array, or a number (constant)."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, (int, float)) and not isinstance(identifier, bool):
        return Constant(identifier)
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _REGISTRY:
            return _REGISTRY[key]()
        raise ValueError(f"unknown initializer {identifier!r}; known: {sorted(_REGISTRY)}")
    if callable(identifier):
        fn = identifier

        class _Fn(Initializer):
            name = getattr(fn, "__name__", "custom")

            def __call__(self, shape):
                return np.asarray(fn(shape), dtype=np.float32)

        return _Fn()
    raise TypeError(f"initializer must be a name, an Initializer or a callable, got {type(identifier).__name__}")


def name(init: Initializer) -> str:
    return init.name
