"""Finding classes by their saved names: `register_keras_serializable`, `custom_object_scope`
(load_model's custom_objects), and whether loading may run Python code (`safe_mode`)."""

from __future__ import annotations

import contextlib
import threading

__all__ = ["custom_object_scope", "enable_unsafe_deserialization", "get_registered_name", "get_registered_object",
           "register_keras_serializable"]

_REGISTRY: dict[str, type] = {}
_NAMES: dict[type, str] = {}
_settings = {"unsafe": False}
_scope = threading.local()  # custom_objects of the enclosing custom_object_scope()s, innermost last


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Class decorator: let `load_model` find this class (saved as "package>name") without custom_objects."""

    def deco(cls):
        key = f"{package}>{name or cls.__name__}"
        if key in _REGISTRY and _REGISTRY[key] is not cls:
            raise ValueError(f"register_keras_serializable: {key!r} is already registered to "
                             f"{_REGISTRY[key].__qualname__}")
        _REGISTRY[key] = cls
        _NAMES[cls] = key
        return cls

    return deco


def get_registered_name(cls) -> str:
    """The name a class is saved under: its registered "package>name", else its class name."""
    return _NAMES.get(cls, cls.__name__)


@contextlib.contextmanager
def custom_object_scope(custom_objects: dict | None):
    """Within the block, `get_registered_object` also finds `custom_objects` ({name: class or
    function}), e.g. the custom initializers and regularizers of layers that load_model builds."""
    stack = _scope.__dict__.setdefault("stack", [])
    stack.append(dict(custom_objects or {}))
    try:
        yield
    finally:
        stack.pop()


def get_registered_object(name: str, custom_objects: dict | None = None):
    """The class (or function) saved as `name` from custom_objects, the enclosing
    custom_object_scope()s (innermost first) or the registry (also by bare class name), or None."""
    if not isinstance(name, str):
        return None
    short = name.split(">")[-1]
    for objs in [custom_objects or {}, *reversed(getattr(_scope, "stack", []))]:
        found = objs.get(name, objs.get(short))
        if found is not None:
            return found
    if name in _REGISTRY:
        return _REGISTRY[name]
    matches = [c for k, c in _REGISTRY.items() if k.split(">")[-1] == name]
    return matches[0] if len(matches) == 1 else None


def enable_unsafe_deserialization() -> None:
    """Allow loading layers that hold Python code (as safe_mode=False) for the rest of the process."""
    _settings["unsafe"] = True
