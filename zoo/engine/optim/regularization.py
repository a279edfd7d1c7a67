"""What acts on gradients besides the optimizer step: gradient clipping (`clip_by_value`,
`global_norm`, `clip_by_global_norm`) and weight regularizers (`L1`, `L2`, `L1L2`,
`get_regularizer`).
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine.kernels import reduce as _R
from zoo.engine.optim._checks import _num


def clip_by_value(g: np.ndarray, min_value: float, max_value: float, lo: int = 0, hi: int | None = None) -> None:
    """g[lo:hi] = min(max(g, min_value), max_value) in place (g: 1-D float32/float64 buffer)."""
    a = _num("clip_by_value", "min_value", min_value)
    b = _num("clip_by_value", "max_value", max_value)
    if a > b:
        raise ValueError(f"clip_by_value: min_value must be <= max_value, got {a} > {b}")
    _R.clip(g, a, b, lo, hi)


def global_norm(g: np.ndarray, mask: np.ndarray | None = None) -> float:
    """sqrt(sum g[i]^2) over elements with mask != 0, accumulated in float64 over fixed blocks
    (the same result for any thread count)."""
    return math.sqrt(_R.sumsq(g, mask))


def clip_by_global_norm(g: np.ndarray, max_norm: float, mask: np.ndarray | None = None) -> float:
    """Scale g in place by max_norm / norm when norm = global_norm(g, mask) > max_norm
    (tf.clip_by_global_norm; a non-finite norm makes every element NaN, as in TF).
    Returns the norm before clipping."""
    max_norm = _num("clip_by_global_norm", "max_norm", max_norm, lo=0, lo_open=True)
    norm = global_norm(g, mask)
    if not math.isfinite(norm):
        g.fill(np.nan)
    elif norm > max_norm:
        _R.scale(g, max_norm / norm)
    return norm


class Regularizer:
    """A weight penalty (Keras semantics): `penalty(w)` is added to the loss and
    `add_grad(w, g)` adds its gradient to g in place (fused C over the buffer)."""

    l1 = 0.0
    l2 = 0.0

    def penalty(self, w) -> float:
        """l1 * sum|w| + l2 * sum w^2 (float64 accumulation)."""
        w = np.asarray(w)
        if w.dtype not in (np.float32, np.float64) or not w.flags.c_contiguous:
            w = np.ascontiguousarray(w, dtype=np.float64)
        a, s = _R.abs_sumsq(w)
        return self.l1 * a + self.l2 * s

    __call__ = penalty

    def add_grad(self, w: np.ndarray, g: np.ndarray) -> None:
        """g += l1 * sign(w) + 2 * l2 * w (w, g: C-contiguous float arrays of one shape)."""
        _R.l1l2_grad(g, w, self.l1, self.l2)

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in self.get_config().items())})"


class L1L2(Regularizer):
    """penalty = l1 * sum|w| + l2 * sum w^2 (Keras L1L2, defaults 0)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _num(type(self).__name__, "l1", l1, lo=0)
        self.l2 = _num(type(self).__name__, "l2", l2, lo=0)


class L1(L1L2):
    """penalty = l1 * sum|w| (Keras L1, default 0.01)."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """penalty = l2 * sum w^2 (Keras L2, default 0.01)."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


REGULARIZERS: dict[str, type[Regularizer]] = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def get_regularizer(identifier) -> Regularizer | None:
    """None, a Regularizer, a name ('l1', 'l2', 'l1_l2', Keras defaults) or a config
    `{"class_name": "L1L2", "config": {...}}` -> Regularizer (or None)."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        cls = REGULARIZERS.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown regularizer {identifier!r}; known: l1, l2, l1_l2")
        return cls()
    if isinstance(identifier, dict):
        name = str(identifier.get("class_name", "")).lower()
        cls = REGULARIZERS.get(name)
        if cls is None:
            raise ValueError(f"unknown regularizer {identifier.get('class_name')!r}; known: L1, L2, L1L2")
        return cls(**identifier.get("config", {}))
    raise TypeError(f"expected a Regularizer, a name or a config dict, got {type(identifier).__name__}")
