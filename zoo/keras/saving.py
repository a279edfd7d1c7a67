"""Saving and loading models: one zip of JSON and `.npz` arrays, never pickle.

`save_model(model, path)` writes a zip holding

- `config.json`: `{"format": "zoo.keras", "format_version": 1, "model": {"class_name", "config"},
  "compile": {...} | null, "weights": [{"key", "shape"}...], "optimizer": {...} | null,
  "trainer": {...} | null, "sha256": {member: digest}}`. A functional model's config lists
  its layers (`{"class_name", "config"}`, nested models recursively) and its layer calls in
  topological order, each naming its inputs as `[layer, call, output]`; a Sequential lists
  its layers. `compile` holds the optimizer, loss (one per output), metric and loss-weight
  configs; `trainer` the epoch/iteration counters and RNG states (JSON).
- `weights.npz`: every weight in Keras's layout, keyed `layer/weight` (nested models add
  their name as a prefix: `encoder/dense_1/kernel`), in Keras's order.
- `optimizer.npz`: the optimizer's state slots per weight, keyed `slot::layer/weight`
  (engine layout, flat), so they map onto any parameter-buffer layout.

`load_model(path, custom_objects=None, compile=True, safe_mode=True)` rebuilds the model
from fresh layer objects, checks every member (zip CRCs, SHA-256 digests, array names and
shapes) before anything is handed out, and restores the optimizer and training state, so
that `fit` continues where it stopped. A damaged or inconsistent file raises ValueError
naming the file and the problem. Loading never runs code from the file: layer classes come
from `zoo.keras.layers`, `custom_objects` or `@register_keras_serializable()`, and a layer
whose config (or class) declares `unsafe_to_load = True` (one holding Python code, such as a
Lambda) loads only with `safe_mode=False` (or after `enable_unsafe_deserialization()`);
the `unsafe_to_load` key is removed from the config before the layer's `from_config` sees it.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import itertools
import json
import os
import re
import threading
import warnings
import zipfile
import zlib

import numpy as np

from zoo.engine import graph as G

__all__ = [
    "custom_object_scope",
    "deserialize_layer",
    "enable_unsafe_deserialization",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "load_weights",
    "model_config",
    "model_from_config",
    "register_keras_serializable",
    "restore_training_state",
    "save_model",
    "save_weights",
    "serialize_layer",
]

FORMAT = "zoo.keras"
WEIGHTS_FORMAT = "zoo.keras.weights"
FORMAT_VERSION = 1

_REGISTRY: dict[str, type] = {}
_NAMES: dict[type, str] = {}
_settings = {"unsafe": False}
_scope = threading.local()  # custom_objects of the enclosing custom_object_scope()s, innermost last


# ---- registration ----------------------------------------------------------------------------


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


# ---- weights ---------------------------------------------------------------------------------


def _weight_entries(model, prefix: str = "") -> list[tuple[str, object, int, object]]:
    """(key, layer, index, parameter) for every weight in Keras's order; key 'prefix/layer/weight'."""
    out, seen = [], set()

    def walk(m, prefix):
        for layer in m._layers:
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            if _is_model(layer):
                walk(layer, f"{prefix}{layer.name}/")
                continue
            for i, (wname, p) in enumerate(zip(layer._weight_names, layer._weights)):
                out.append((f"{prefix}{layer.name}/{wname}", layer, i, p))

    walk(model, prefix)
    keys = [e[0] for e in out]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"model '{model.name}': weight names {dup} occur twice; give the layers unique names")
    return out


def _weight_arrays(model) -> tuple[list[dict], dict[str, np.ndarray]]:
    manifest, arrays = [], {}
    cache: dict[int, list] = {}
    for key, layer, i, _ in _weight_entries(model):
        if id(layer) not in cache:
            cache[id(layer)] = layer.get_weights()
        a = np.ascontiguousarray(cache[id(layer)][i], dtype=np.float32)
        manifest.append({"key": key, "shape": list(a.shape)})
        arrays[key] = a
    return manifest, arrays


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _key_map(model, file_keys: list[str], source: str, by_name: bool = False) -> dict[str, str]:
    """{model weight key: file key}: by name when the file has every name (or by_name), else by order."""
    keys = [e[0] for e in _weight_entries(model)]
    if set(keys) <= set(file_keys) or by_name:
        return {k: k for k in keys}
    if len(file_keys) != len(keys):
        raise ValueError(f"{source}: holds {len(file_keys)} weight arrays, model '{model.name}' has {len(keys)} "
                         f"(missing by name: {sorted(set(keys) - set(file_keys))[:5]})")
    return dict(zip(keys, file_keys))


def _plan_weights(model, arrays: dict[str, np.ndarray], source: str, by_name: bool = False,
                  skip_mismatch: bool = False) -> list[tuple[object, list[np.ndarray]]]:
    """[(layer, Keras-layout arrays)] assigning `arrays` to the model's weights; raises before any change."""
    entries = _weight_entries(model)
    names = _key_map(model, list(arrays), source, by_name)
    chosen = {k: arrays.get(fk) for k, fk in names.items()}
    plan: dict[int, tuple[object, list]] = {}
    bad: set[int] = set()
    for key, layer, i, _ in entries:
        current = plan.setdefault(id(layer), (layer, layer.get_weights()))[1]
        a = chosen.get(key)
        if a is None:
            if by_name:
                bad.add(id(layer))
                continue
            raise ValueError(f"{source}: no array for weight {key!r}")
        if a.shape != current[i].shape:
            if skip_mismatch:
                warnings.warn(f"{source}: skipping layer '{layer.name}': weight {key!r} has shape {a.shape}, the "
                              f"model expects {current[i].shape}", stacklevel=3)
                bad.add(id(layer))
                continue
            raise ValueError(f"{source}: weight {key!r} has shape {a.shape}, model '{model.name}' expects "
                             f"{current[i].shape}")
        if a.dtype.kind not in "fiu":
            raise ValueError(f"{source}: weight {key!r} is not a numeric array (dtype {a.dtype})")
        current[i] = a
    return [(layer, ws) for lid, (layer, ws) in plan.items() if lid not in bad]


# ---- zip reading -----------------------------------------------------------------------------


def _read_zip(path: str, what: str) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as z:
            return {info.filename: z.read(info.filename) for info in z.infolist() if not info.is_dir()}
    except FileNotFoundError:
        raise
    except zipfile.BadZipFile as e:
        raise ValueError(f"{what}({path!r}): not a readable zoo zip (truncated or damaged?): {e}") from None
    except (OSError, EOFError, RuntimeError, ValueError, NotImplementedError, zlib.error) as e:
        raise ValueError(f"{what}({path!r}): cannot read the zip: {type(e).__name__}: {e}") from None


def _read_npz(data: bytes, member: str, source: str) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, zlib.error) as e:
        raise ValueError(f"{source}: member {member!r} is not a valid pickle-free .npz: {type(e).__name__}: "
                         f"{e}") from None


def _open_zoo_zip(path: str, what: str, formats: tuple[str, ...]) -> tuple[dict, dict[str, bytes]]:
    members = _read_zip(path, what)
    source = f"{what}({path!r})"
    if "config.json" not in members:
        extra = " (a Keras .keras file? use zoo.net to import Keras models)" if "model.weights.h5" in members else ""
        raise ValueError(f"{source}: no config.json in the zip; not a zoo model file, or truncated{extra}")
    try:
        meta = json.loads(members["config.json"].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"{source}: config.json is not valid JSON: {type(e).__name__}: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") not in formats:
        raise ValueError(f"{source}: config.json has format {meta.get('format') if isinstance(meta, dict) else None!r}"
                         f", expected one of {list(formats)}")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{source}: format_version {meta.get('format_version')!r} is not supported (expected "
                         f"{FORMAT_VERSION})")
    digests = meta.get("sha256") or {}
    if not isinstance(digests, dict):
        raise ValueError(f"{source}: config.json 'sha256' must be a dict")  # noqa: TRY004
    for member, digest in digests.items():
        if member not in members:
            raise ValueError(f"{source}: member {member!r} is missing from the zip")
        if hashlib.sha256(members[member]).hexdigest() != digest:
            raise ValueError(f"{source}: member {member!r} does not match its SHA-256 digest (file tampered with or "
                             f"damaged)")
    for member in ("weights.npz", "optimizer.npz"):
        if member in members and member not in digests:
            raise ValueError(f"{source}: member {member!r} has no SHA-256 digest in config.json")
    return meta, members


def _file_weights(meta: dict, members: dict[str, bytes], source: str) -> dict[str, np.ndarray]:
    if "weights.npz" not in members:
        if meta.get("weights"):
            raise ValueError(f"{source}: member 'weights.npz' is missing")
        return {}
    arrays = _read_npz(members["weights.npz"], "weights.npz", source)
    manifest = meta.get("weights") or []
    keys = [m.get("key") for m in manifest if isinstance(m, dict)]
    if keys != list(arrays):
        raise ValueError(f"{source}: weights.npz holds {len(arrays)} arrays that do not match the {len(keys)} "
                         f"listed in config.json")
    for m in manifest:
        if list(arrays[m["key"]].shape) != list(m.get("shape", [])):
            raise ValueError(f"{source}: weight {m['key']!r} has shape {arrays[m['key']].shape}, config.json says "
                             f"{m.get('shape')}")
    return arrays


# ---- optimizer and trainer state ---------------------------------------------------------------


def _training_state(model) -> tuple[dict | None, dict | None, dict[str, np.ndarray]]:
    """(optimizer meta, trainer meta, slot arrays) of the model's trainer, or Nones before training."""
    trainer = model._trainer
    if trainer is None or not model._trainer_current():
        return None, None, {}
    key_of = {id(p): key for key, _, _, p in _weight_entries(model)}
    opt = trainer.optimizer.get_state()
    arrays = {}
    for slot, flat in opt.get("slots", {}).items():
        for p in trainer.store.params:
            if id(p) not in key_of:
                raise ValueError(f"cannot save model '{model.name}': parameter {p.name!r} belongs to no layer")
            arrays[f"{slot}::{key_of[id(p)]}"] = np.ascontiguousarray(flat[p.offset:p.offset + p.size])
    opt_meta = {"iterations": opt["iterations"], "lr": opt["lr"], "schedule": opt.get("schedule") or {},
                "slots": sorted(opt.get("slots", {}))}
    st = trainer.state
    trainer_meta = {"epoch": st.epoch, "iteration": st.iteration, "loss": st.loss, "score": st.score,
                    "shuffle_rng": trainer.shuffle_rng.bit_generator.state,
                    "op_rngs": [ctx.rng.bit_generator.state for *_, ctx in trainer.executor.plan]}
    replicas = trainer.replica_state() if hasattr(trainer, "replica_state") else None
    if replicas is not None:
        trainer_meta["replicas"] = replicas
    return _jsonable(opt_meta, "optimizer state"), _jsonable(trainer_meta, "trainer state"), arrays


def _plan_training_state(model, opt_meta, trainer_meta, slot_arrays, source: str, names: dict[str, str]):
    """Validate the saved state against the model's trainer; returns a function applying it.

    `names` maps the model's weight keys to the file's (see `_key_map`)."""
    trainer = model._get_trainer()
    key_of = {id(p): names.get(key) for key, _, _, p in _weight_entries(model)}
    store = trainer.store
    names = opt_meta.get("slots", [])
    slots = {}
    for name in names:
        flat = np.zeros(store.data.shape[0], dtype=store.data.dtype)
        for p in store.params:
            a = slot_arrays.get(f"{name}::{key_of.get(id(p))}")
            if a is None or a.size != p.size:
                raise ValueError(f"{source}: optimizer slot {name!r} for weight {key_of.get(id(p))!r} is missing or "
                                 f"has the wrong size")
            flat[p.offset:p.offset + p.size] = a.reshape(-1)
        slots[name] = flat
    if not isinstance(trainer_meta, dict) or len(trainer_meta.get("op_rngs", [])) != len(trainer.executor.plan):
        raise ValueError(f"{source}: the saved training state does not match the model's graph "
                         f"({len((trainer_meta or {}).get('op_rngs', []))} vs {len(trainer.executor.plan)} nodes)")
    probe = np.random.default_rng()
    try:
        probe.bit_generator.state = trainer_meta["shuffle_rng"]
        for s in trainer_meta["op_rngs"]:
            probe.bit_generator.state = s
        epoch, iteration = int(trainer_meta["epoch"]), int(trainer_meta["iteration"])
        loss, score = float(trainer_meta["loss"]), float(trainer_meta["score"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{source}: bad training state: {e}") from None
    state = {"iterations": opt_meta["iterations"], "lr": opt_meta["lr"], "schedule": opt_meta.get("schedule") or {},
             "slots": slots}

    def apply():
        try:
            trainer.optimizer.set_state(state)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{source}: the optimizer state does not fit the compiled optimizer: {e}") from None
        st = trainer.state
        st.epoch, st.iteration, st.loss, st.score = epoch, iteration, loss, score
        trainer.shuffle_rng.bit_generator.state = trainer_meta["shuffle_rng"]
        for (*_, ctx), s in zip(trainer.executor.plan, trainer_meta["op_rngs"]):
            ctx.rng.bit_generator.state = s
        if trainer_meta.get("replicas") and hasattr(trainer, "set_replica_state"):
            try:
                trainer.set_replica_state(trainer_meta["replicas"])
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"{source}: bad replica state: {e}") from None

    return apply


def _compile_config(model, include_optimizer: bool) -> dict | None:
    from zoo.keras import losses as keras_losses
    from zoo.keras import metrics as keras_metrics

    c = model.compiled
    if c is None:
        return None
    opt = c["optimizer"]
    try:
        opt_config = {"class_name": type(opt).__name__, "config": opt.get_config()}
    except ValueError as e:
        raise ValueError(f"cannot save model '{model.name}': the optimizer's config: {e}") from None
    return _jsonable({"optimizer": opt_config, "loss": [keras_losses.serialize(v) for v in c["loss"]],
                      "metrics": [[keras_metrics.serialize(m) for m in ms] for ms in c["metric_specs"]],
                      "loss_weights": c["loss_weights"], "include_optimizer": include_optimizer},
                     f"the compile config of model '{model.name}'")


def _compile_from_config(model, cfg: dict, custom_objects, source: str, safe_mode: bool = True) -> None:
    from zoo.engine import optim
    from zoo.keras import losses as keras_losses
    from zoo.keras import metrics as keras_metrics

    try:
        opt = optim.get(cfg["optimizer"])
        loss = [keras_losses.deserialize(v, custom_objects, safe_mode) for v in cfg["loss"]]
        metrics = [[m if isinstance(m, str) else keras_metrics.get(m) for m in ms] for ms in cfg["metrics"]]
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{source}: bad compile config: {type(e).__name__}: {e}") from None
    model.compile(opt, loss, metrics=metrics, loss_weights=cfg.get("loss_weights"))


# ---- public API ------------------------------------------------------------------------------


def _write_zip(path: str, members: dict[str, bytes], overwrite: bool) -> None:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"save: filepath must be a path, got {type(path).__name__}")
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise ValueError(f"save: {path!r} exists and overwrite=False")
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with zipfile.ZipFile(tmp, "w") as z:
            for name, data in members.items():
                z.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED if name.endswith(".json")
                           else zipfile.ZIP_STORED)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_model(model, filepath: str, overwrite: bool = True, include_optimizer: bool = True,
               extra: dict | None = None) -> None:
    """Write the model to one zip (see the module docstring); `extra` is stored in config.json."""
    import zoo

    arch = serialize_layer(model)
    manifest, arrays = _weight_arrays(model)
    members = {"weights.npz": _npz_bytes(arrays)}
    opt_meta = trainer_meta = None
    if include_optimizer:
        opt_meta, trainer_meta, slot_arrays = _training_state(model)
        if opt_meta is not None:
            members["optimizer.npz"] = _npz_bytes(slot_arrays)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "zoo_version": zoo.__version__, "model": arch,
            "compile": _compile_config(model, include_optimizer), "weights": manifest, "optimizer": opt_meta,
            "trainer": trainer_meta, "extra": _jsonable(extra or {}, "extra"),
            "sha256": {k: hashlib.sha256(v).hexdigest() for k, v in members.items()}}
    members = {"config.json": json.dumps(meta).encode("utf-8"), **members}
    _write_zip(filepath, members, overwrite)


def _reserve_names(model) -> None:
    """Make later automatic names (dense_7, ...) skip the names the loaded layers use."""
    names = [layer.name for layer in model.flattened_layers(include_container=True)] + [model.name]
    names += [t.node.name for t in model.inputs]
    for name in names:
        m = re.match(r"^([A-Za-z][A-Za-z0-9_]*?)_(\d+)$", name)
        if m:
            prefix, n = m.group(1), int(m.group(2))
            current = next(G._counters[prefix])
            G._counters[prefix] = itertools.count(max(current, n + 1))


def load_model(filepath: str, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True):
    """The model saved by `save_model`, with its weights, compile config and training state.

    Args:
        custom_objects: {name: class} for custom layers, losses or metrics.
        compile: also compile (and restore the optimizer and training state) if the file holds
            a compile config.
        safe_mode: refuse layers that hold Python code (see the module docstring).
    Raises:
        ValueError: the file is not a zoo model, is truncated or damaged, or does not match itself.
    """
    source = f"load_model({os.fspath(filepath)!r})"
    meta, members = _open_zoo_zip(filepath, "load_model", (FORMAT,))
    arrays = _file_weights(meta, members, source)
    if "model" not in meta:
        raise ValueError(f"{source}: config.json has no 'model' (a weights-only file? use load_weights)")
    try:
        model = model_from_config(meta["model"], custom_objects, safe_mode)
    except (KeyError, TypeError, IndexError, AttributeError, RecursionError) as e:
        raise ValueError(f"{source}: bad model config: {type(e).__name__}: {e}") from None
    except ValueError as e:
        raise ValueError(f"{source}: {e}") from None
    plan = _plan_weights(model, arrays, source)
    for layer, ws in plan:
        layer.set_weights(ws)
    if compile and meta.get("compile"):
        _compile_from_config(model, meta["compile"], custom_objects, source, safe_mode)
        if meta.get("optimizer") and meta.get("trainer"):
            slots = _read_npz(members["optimizer.npz"], "optimizer.npz", source) if "optimizer.npz" in members \
                else {}
            _plan_training_state(model, meta["optimizer"], meta["trainer"], slots, source,
                                 _key_map(model, list(arrays), source))()
    _reserve_names(model)
    return model


def save_weights(model, filepath: str, overwrite: bool = True) -> None:
    """`.npz`: one array per weight keyed 'layer/weight' (Keras layout and order); other names: a zoo zip."""
    manifest, arrays = _weight_arrays(model)
    path = os.fspath(filepath)
    if path.endswith(".npz"):
        if not overwrite and os.path.exists(path):
            raise ValueError(f"save_weights: {path!r} exists and overwrite=False")
        tmp = f"{path}.tmp{os.getpid()}.npz"
        try:
            with open(tmp, "wb") as f:
                f.write(_npz_bytes(arrays))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return
    data = _npz_bytes(arrays)
    meta = {"format": WEIGHTS_FORMAT, "format_version": FORMAT_VERSION, "weights": manifest,
            "sha256": {"weights.npz": hashlib.sha256(data).hexdigest()}}
    _write_zip(path, {"config.json": json.dumps(meta).encode("utf-8"), "weights.npz": data}, overwrite)


def load_weights(model, filepath: str, skip_mismatch: bool = False, by_name: bool = False) -> None:
    """Load weights from `save_weights`' `.npz` or zip, or from a `save_model` zip.

    Weights match by 'layer/weight' name when the file holds every name the model has (or with
    by_name=True, which leaves unnamed layers alone), else by order. A shape mismatch raises,
    or with skip_mismatch=True skips that layer with a warning. Nothing changes if anything fails.
    """
    path = os.fspath(filepath)
    source = f"load_weights({path!r})"
    if path.endswith(".npz"):
        with open(path, "rb") as f:
            data = f.read()
        arrays = _read_npz(data, os.path.basename(path), source)
    else:
        meta, members = _open_zoo_zip(path, "load_weights", (FORMAT, WEIGHTS_FORMAT))
        arrays = _file_weights(meta, members, source)
    plan = _plan_weights(model, arrays, source, by_name=by_name, skip_mismatch=skip_mismatch)
    for layer, ws in plan:
        layer.set_weights(ws)


def restore_training_state(model, filepath: str) -> dict:
    """Load weights, optimizer and training state of a `save_model` zip into this compiled model
    (the same architecture); returns the file's `extra` dict. Nothing changes if anything fails."""
    source = f"restore({os.fspath(filepath)!r})"
    meta, members = _open_zoo_zip(filepath, "restore", (FORMAT,))
    arrays = _file_weights(meta, members, source)
    plan = _plan_weights(model, arrays, source)
    apply_state = None
    if meta.get("optimizer") and meta.get("trainer"):
        slots = _read_npz(members["optimizer.npz"], "optimizer.npz", source) if "optimizer.npz" in members else {}
        apply_state = _plan_training_state(model, meta["optimizer"], meta["trainer"], slots, source,
                                           _key_map(model, list(arrays), source))
    if apply_state is not None:
        apply_state()
    for layer, ws in plan:
        layer.set_weights(ws)
    return dict(meta.get("extra") or {})
