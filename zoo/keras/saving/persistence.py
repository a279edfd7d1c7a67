"""Saving and loading whole models and their weights: save_model, load_model, save_weights,
load_weights, restore_training_state."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re

from zoo.engine import graph as G
from zoo.keras.saving.archive import (
    FORMAT,
    FORMAT_VERSION,
    WEIGHTS_FORMAT,
    _file_weights,
    _key_map,
    _npz_bytes,
    _open_zoo_zip,
    _plan_weights,
    _read_npz,
    _weight_arrays,
    _write_zip,
)
from zoo.keras.saving.config import _jsonable, model_from_config, serialize_layer
from zoo.keras.saving.state import (
    _compile_config,
    _compile_from_config,
    _plan_training_state,
    _training_state,
)

__all__ = ["load_model", "load_weights", "restore_training_state", "save_model", "save_weights"]


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
