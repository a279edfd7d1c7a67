"""Weight regularizers (Keras and Analytics Zoo names), backed by the engine's fused L1/L2 penalties.

A layer saves a regularizer argument with `serialize` (a name stays a name, an object becomes
`{"class_name": "L2", "config": {"l2": 0.01}}` as Keras writes it) and `get` turns either back
into a regularizer; custom Regularizer subclasses resolve through
`@zoo.keras.saving.register_keras_serializable()` or load_model's `custom_objects`.
"""

from __future__ import annotations

from zoo.engine.optim import L1, L1L2, L2, Regularizer, get_regularizer

__all__ = ["L1", "L1L2", "L2", "Regularizer", "get", "l1", "l1_l2", "l1l2", "l2", "serialize"]

l1, l2, l1_l2 = L1, L2, L1L2  # Keras 3's lower-case aliases


def l1l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    """Analytics Zoo / Keras 1: l1 * sum|w| + l2 * sum w^2 (defaults 0.01 each)."""
    return L1L2(l1=l1, l2=l2)


def get(identifier) -> Regularizer | None:
    """None, a Regularizer, a name ('l1', 'l2', 'l1_l2'), or a config {"class_name", "config"}
    (the engine's L1 / L2 / L1L2, else a registered or custom_objects class) -> Regularizer (or None)."""
    try:
        return get_regularizer(identifier)
    except ValueError:
        from zoo.keras.saving import get_registered_object

        name = identifier.get("class_name") if isinstance(identifier, dict) else identifier
        cls = get_registered_object(name)
        if not (isinstance(cls, type) and issubclass(cls, Regularizer)):
            raise
        config = (identifier.get("config") or {}) if isinstance(identifier, dict) else {}
        return cls(**config)


def serialize(reg):
    """The regularizer argument as JSON-ready data that `get` reads back: None, a name, or
    {"class_name": ..., "config": {...}}."""
    if reg is None or isinstance(reg, (str, dict)):
        return reg
    if isinstance(reg, Regularizer):
        from zoo.keras.saving import get_registered_name

        cls = type(reg)
        name = cls.__name__ if cls in (L1, L2, L1L2) else get_registered_name(cls)
        return {"class_name": name, "config": reg.get_config()}
    raise TypeError(f"regularizer must be None, a name, a Regularizer or a config dict, got {type(reg).__name__}")
