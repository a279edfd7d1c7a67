"""Activations by name: each maps a symbolic tensor to a symbolic tensor through engine ops."""

from __future__ import annotations

from zoo.engine import functional as F

__all__ = ["get", "name", "ACTIVATIONS"]

ACTIVATIONS = {
    "linear": None, "relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax",
    "log_softmax": "log_softmax", "elu": "elu", "selu": "selu", "gelu": "gelu", "softplus": "softplus",
    "softsign": "softsign", "swish": "swish", "silu": "swish", "hard_sigmoid": "hard_sigmoid",
    "relu6": "relu6", "leaky_relu": "leaky_relu", "exponential": "exponential", "exp": "exponential",
    "hard_swish": "hard_swish", "hard_silu": "hard_swish",
}


class _Activation:
    def __init__(self, key: str | None, fn=None):
        self.key, self.fn = key, fn

    def __call__(self, x):
        if self.fn is not None:
            return self.fn(x)
        if self.key is None:
            return x
        return F.activation(x, ACTIVATIONS[self.key])

    @property
    def fusable_kind(self) -> str | None:
        """Engine kind when the fused bias+activation kernel can run it ('linear' included), else None."""
        if self.fn is not None:
            return None
        kind = "linear" if self.key is None else ACTIVATIONS[self.key]
        return kind if kind in F.FUSABLE else None

    @property
    def is_linear(self) -> bool:
        return self.fn is None and self.key is None


def get(identifier) -> _Activation:
    """An activation from a name (Keras and Analytics Zoo spellings), None ('linear') or a callable."""
    if identifier is None:
        return _Activation(None)
    if isinstance(identifier, _Activation):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in ACTIVATIONS:
            raise ValueError(f"unknown activation {identifier!r}; known: {sorted(ACTIVATIONS)}")
        return _Activation(None if key == "linear" else key)
    if callable(identifier):
        return _Activation("custom", identifier)
    raise TypeError(f"activation must be a name or a callable, got {type(identifier).__name__}")


def name(act: _Activation) -> str:
    return "linear" if act.key is None else act.key
