"""Architectures as plain data: `serialize_layer` / `deserialize_layer` for one layer (models
recursively), `model_config` / `model_from_config` for a Sequential or functional model."""

from __future__ import annotations

import inspect

import numpy as np

from zoo.keras.saving.registry import (
    _settings,
    custom_object_scope,
    get_registered_name,
    get_registered_object,
)

__all__ = ["call_from_config", "deserialize_layer", "model_config", "model_from_config", "serialize_layer"]


# ---- JSON ------------------------------------------------------------------------------------


def _jsonable(value, where: str):
    """value with tuples as lists and numpy scalars/arrays as Python values; anything else raises."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"cannot save {where}: config key {k!r} is not a string")  # noqa: TRY004
            out[k] = _jsonable(v, f"{where}, key {k!r}")
        return out
    if isinstance(value, np.dtype):
        return value.name
    raise ValueError(f"cannot save {where}: value of type {type(value).__name__} is not JSON-serializable "
                     f"({value!r}); layers must return plain data from get_config()")


# ---- architecture ----------------------------------------------------------------------------


def _is_model(layer) -> bool:
    from zoo.keras.models import Model

    return isinstance(layer, Model)


def _check_no_python_code(layer) -> None:
    from zoo.keras.activations import _Activation

    if getattr(layer, "unsafe_to_load", False):
        return
    for attr, v in vars(layer).items():
        if isinstance(v, _Activation) and v.fn is not None:
            raise ValueError(f"cannot save {type(layer).__name__} '{layer.name}': its {attr} is a Python function; "
                             f"use an activation name, or a layer that declares unsafe_to_load")


def serialize_layer(layer) -> dict:
    """{"class_name": registered or class name, "config": JSON-ready config} (models recursively)."""
    if _is_model(layer):
        from zoo.keras.models import Sequential

        if isinstance(layer, Sequential) and layer._multi_in:  # a Sequential over a Merge of branches
            return {"class_name": "Model", "config": model_config(layer)}
        return {"class_name": get_registered_name(type(layer)), "config": model_config(layer)}
    _check_no_python_code(layer)
    where = f"{type(layer).__name__} '{layer.name}'"
    return {"class_name": get_registered_name(type(layer)), "config": _jsonable(layer.get_config(), where)}


def model_config(model) -> dict:
    """The architecture of a Sequential or functional model as plain data (see the module docstring)."""
    from zoo.keras.layers.base import InputLayer
    from zoo.keras.models import Sequential

    if isinstance(model, Sequential) and not model._multi_in:
        return {"name": model.name, "trainable": model.trainable,
                "layers": [serialize_layer(layer) for layer in model._stack]}
    if not model.built:
        raise ValueError(f"cannot save model '{model.name}': it has no inputs and outputs yet")
    names = {}
    for layer in model._layers:
        if layer.name in names and names[layer.name] is not layer:
            raise ValueError(f"cannot save model '{model.name}': two layers are named {layer.name!r}")
        names[layer.name] = layer
    refs = model._call_refs()

    def ref(t):
        call = model._producer(t)
        if call is None:
            raise ValueError(f"cannot save model '{model.name}': tensor {t.name!r} was not made by a layer "
                             f"(wrap engine ops in a layer)")
        layer, k = call
        idx = next(i for i, o in enumerate(layer.inbound[k][1]) if o.node is t.node and o.index == t.index)
        return [layer.name, refs[(id(layer), k)], idx]

    calls = []
    for layer, k, ins, _ in model._calls:
        if isinstance(layer, InputLayer):
            continue
        calls.append({"layer": layer.name, "inputs": [ref(t) for t in ins]})
    return {"name": model.name, "trainable": model.trainable,
            "layers": [serialize_layer(layer) for layer in model._layers],
            "calls": calls, "input_layers": [ref(t) for t in model.inputs],
            "output_layers": [ref(t) for t in model.outputs],
            "multi_input": model._multi_in, "multi_output": model._multi_out}


def _lookup_class(name: str, custom_objects: dict | None):
    from zoo.keras.layers import Layer, layer_classes
    from zoo.keras.models import Model, Sequential

    cls = get_registered_object(name, custom_objects)
    if cls is None:
        cls = {"Model": Model, "Sequential": Sequential, **layer_classes()}.get(name)
    if cls is None:
        from zoo import autograd

        cand = getattr(autograd, name, None) if name in getattr(autograd, "__all__", ()) else None
        if isinstance(cand, type) and issubclass(cand, Layer):
            cls = cand
    return cls


def deserialize_layer(config: dict, custom_objects: dict | None = None, safe_mode: bool = True):
    """A fresh layer (or model) from `serialize_layer`'s dict (custom_objects also serve the
    initializers and regularizers of the layers built meanwhile)."""
    with custom_object_scope(custom_objects):
        return _deserialize_layer(config, custom_objects, safe_mode)


def _deserialize_layer(config: dict, custom_objects: dict | None, safe_mode: bool):
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str) \
            or not isinstance(config.get("config"), dict):
        raise ValueError(  # noqa: TRY004 (file content)
            f"a layer config must be {{'class_name': str, 'config': dict}}, got {str(config)[:200]}")
    name = config["class_name"]
    cfg = dict(config["config"])
    lname = cfg.get("name", "?")
    cls = _lookup_class(name, custom_objects)
    if cls is None:
        raise ValueError(f"unknown layer class {name!r} (layer {lname!r}); pass it in custom_objects or decorate "
                         f"it with @zoo.keras.saving.register_keras_serializable()")
    unsafe = bool(cfg.pop("unsafe_to_load", False)) or bool(getattr(cls, "unsafe_to_load", False))
    if unsafe and safe_mode and not _settings["unsafe"]:
        raise ValueError(f"layer {lname!r} ({name}) holds Python code, which loading would run; it loads only with "
                         f"safe_mode=False (for files you trust)")
    if isinstance(cls, type) and _is_model_class(cls):
        return model_from_config({"class_name": name, "config": cfg}, custom_objects, safe_mode)
    try:
        return call_from_config(cls, cfg, custom_objects, safe_mode and not _settings["unsafe"])
    except TypeError as e:
        raise ValueError(f"layer {lname!r} ({name}): its config does not fit the class: {e}") from None


def call_from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: bool = True):
    """`cls.from_config(config)` (passing custom_objects / safe_mode when it takes them), else `cls(**config)`."""
    fn = getattr(cls, "from_config", None) if isinstance(cls, type) else None
    if fn is None:
        try:
            from zoo.autograd.layers import load_function
        except ImportError:  # pragma: no cover
            load_function = None
        if load_function is not None and getattr(cls, "unsafe_to_load", False) and not safe_mode:
            config = {k: load_function(v, custom_objects) if k.endswith("func") and isinstance(v, str) else v
                      for k, v in config.items()}
        return cls(**config)
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}
    kwargs = {}
    if "custom_objects" in params:
        kwargs["custom_objects"] = custom_objects
    if "safe_mode" in params:
        kwargs["safe_mode"] = safe_mode
    return fn(config, **kwargs)


def _is_model_class(cls) -> bool:
    from zoo.keras.models import Model

    return issubclass(cls, Model)


def model_from_config(config: dict, custom_objects: dict | None = None, safe_mode: bool = True):
    """A model with fresh weights from `{"class_name": "Model" | "Sequential" | registered, "config"}`."""
    with custom_object_scope(custom_objects):
        return _model_from_config(config, custom_objects, safe_mode)


def _model_from_config(config: dict, custom_objects: dict | None, safe_mode: bool):
    from zoo.keras.models import Model, Sequential

    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError("a model config must be {'class_name': ..., 'config': {...}}")  # noqa: TRY004
    name = config.get("class_name")
    cls = _lookup_class(name, custom_objects) if isinstance(name, str) else None
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise ValueError(f"model class {name!r} is not a zoo Model; pass it in custom_objects")  # noqa: TRY004
    cfg = config["config"]
    if issubclass(cls, Sequential):
        model = cls(name=cfg.get("name"))
        for lc in cfg.get("layers", []):
            model.add(deserialize_layer(lc, custom_objects, safe_mode))
    else:
        layers = {}
        for lc in cfg["layers"]:
            layer = deserialize_layer(lc, custom_objects, safe_mode)
            if layer.name in layers:
                raise ValueError(f"model {cfg.get('name')!r}: two layers are named {layer.name!r}")
            layers[layer.name] = layer
        made: dict[tuple[str, int], list] = {}
        from zoo.keras.layers.base import InputLayer

        for lname, layer in layers.items():
            if isinstance(layer, InputLayer):
                made[(lname, 0)] = [layer.output]
        counts: dict[str, int] = {}

        def tensor(r):
            if not (isinstance(r, list) and len(r) == 3):
                raise ValueError(f"bad tensor reference {r!r}; expected [layer, call, output]")
            key = (r[0], r[1])
            if key not in made:
                raise ValueError(f"tensor reference {r!r} names a layer call that does not exist (yet)")
            outs = made[key]
            if not isinstance(r[2], int) or not 0 <= r[2] < len(outs):
                raise ValueError(f"tensor reference {r!r}: output index out of range ({len(outs)} outputs)")
            return outs[r[2]]

        for call in cfg.get("calls", []):
            lname = call["layer"]
            if lname not in layers:
                raise ValueError(f"call of unknown layer {lname!r}")
            layer = layers[lname]
            ins = [tensor(r) for r in call["inputs"]]
            out = layer(ins if len(ins) != 1 else ins[0])
            k = counts.get(lname, 0)
            counts[lname] = k + 1
            made[(lname, k)] = list(out) if isinstance(out, (list, tuple)) else [out]
        inputs = [tensor(r) for r in cfg["input_layers"]]
        outputs = [tensor(r) for r in cfg["output_layers"]]
        multi_in = cfg.get("multi_input", len(inputs) > 1)
        multi_out = cfg.get("multi_output", len(outputs) > 1)
        model = cls(inputs if multi_in else inputs[0], outputs if multi_out else outputs[0], name=cfg.get("name"))
    if cfg.get("trainable") is False:
        model.trainable = False
    return model
