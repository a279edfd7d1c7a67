"""The zip: its members (config.json, weights.npz, optimizer.npz) read and checked (CRCs,
SHA-256 digests, array names and shapes) or written atomically, and the model's weights
listed, keyed 'layer/weight' in Keras's order, and matched to a file's arrays."""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
import zipfile
import zlib

import numpy as np

from zoo.keras.saving.config import _is_model

FORMAT = "zoo.keras"
WEIGHTS_FORMAT = "zoo.keras.weights"
FORMAT_VERSION = 1


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
