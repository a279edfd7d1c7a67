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
Custom initializers and regularizers in layer configs resolve the same way (load_model's
custom_objects are in force, as `custom_object_scope`, while the layers are built).

Modules: `registry` (names and classes), `config` (architectures as data), `archive` (the zip
and its weight arrays), `state` (optimizer, trainer and compile state), `persistence` (the
save/load functions).
"""

from zoo.keras.saving.config import (  # noqa: F401
                                     call_from_config,
                                     deserialize_layer,
                                     model_config,
                                     model_from_config,
                                     serialize_layer,
)
from zoo.keras.saving.persistence import (
                                     load_model,
                                     load_weights,
                                     restore_training_state,
                                     save_model,
                                     save_weights,
)
from zoo.keras.saving.registry import (  # noqa: F401
                                     _settings,
                                     custom_object_scope,
                                     enable_unsafe_deserialization,
                                     get_registered_name,
                                     get_registered_object,
                                     register_keras_serializable,
)

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
