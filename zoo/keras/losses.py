"""Losses under Keras's names: classes, per-sample functions and string aliases.

The classes are the engine's losses (`zoo.engine.losses`, each an op with `get_config`)
with Keras's constructor arguments (`name=` included); `get` accepts a class, an instance,
a name (`"sparse_categorical_crossentropy"`, `"mse"`, `"huber"`, ...), one of the functions
below, or a config dict. Losses are called as `loss(y_pred, y_true)` on numpy arrays in
zoo (predictions first); the functions keep Keras's order `fn(y_true, y_pred)` and return
per-sample losses.

    >>> import numpy as np
    >>> loss = SparseCategoricalCrossentropy(from_logits=True)
    >>> round(loss(np.array([[0.0, 0.0]], np.float32), np.array([1])), 4)
    0.6931
    >>> mean_squared_error(np.array([[1.0, 1.0]]), np.array([[0.0, 2.0]])).tolist()
    [1.0]
"""

from __future__ import annotations

import numpy as np

from zoo.engine import losses as _L
from zoo.engine.ops.base import Ctx

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "Loss",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "binary_crossentropy",
    "categorical_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "deserialize",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "kld",
    "log_cosh",
    "logcosh",
    "mae",
    "mape",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "mse",
    "msle",
    "poisson",
    "serialize",
    "sparse_categorical_crossentropy",
    "squared_hinge",
]

Loss = _L.Loss


def _keras_class(base: type, doc: str) -> type:
    """A subclass of the engine loss `base` that also takes Keras's `name=` argument."""

    def __init__(self, *args, name: str | None = None, **kwargs):
        base.__init__(self, *args, **kwargs)
        self.keras_name = name or base.name

    return type(base.__name__, (base,), {"__init__": __init__, "__doc__": f"{doc}\n\n{base.__doc__}",
                                         "__module__": __name__})


SparseCategoricalCrossentropy = _keras_class(
    _L.SparseCategoricalCrossentropy, "Keras's SparseCategoricalCrossentropy(from_logits=False, ignore_class=None, "
    "reduction='sum_over_batch_size', name=None).")
CategoricalCrossentropy = _keras_class(
    _L.CategoricalCrossentropy, "Keras's CategoricalCrossentropy(from_logits=False, label_smoothing=0.0, "
    "reduction='sum_over_batch_size', name=None).")
BinaryCrossentropy = _keras_class(
    _L.BinaryCrossentropy, "Keras's BinaryCrossentropy(from_logits=False, label_smoothing=0.0, "
    "reduction='sum_over_batch_size', name=None).")
MeanSquaredError = _keras_class(_L.MeanSquaredError, "Keras's MeanSquaredError(reduction, name).")
MeanAbsoluteError = _keras_class(_L.MeanAbsoluteError, "Keras's MeanAbsoluteError(reduction, name).")
MeanAbsolutePercentageError = _keras_class(_L.MeanAbsolutePercentageError,
                                           "Keras's MeanAbsolutePercentageError(reduction, name).")
MeanSquaredLogarithmicError = _keras_class(_L.MeanSquaredLogarithmicError,
                                           "Keras's MeanSquaredLogarithmicError(reduction, name).")
Huber = _keras_class(_L.Huber, "Keras's Huber(delta=1.0, reduction, name).")
LogCosh = _keras_class(_L.LogCosh, "Keras's LogCosh(reduction, name).")
CategoricalHinge = _keras_class(_L.CategoricalHinge, "Keras's CategoricalHinge(reduction, name).")
KLDivergence = _keras_class(_L.KLDivergence, "Keras's KLDivergence(reduction, name).")
Poisson = _keras_class(_L.Poisson, "Keras's Poisson(reduction, name).")


class Hinge(_L.Hinge):
    """Keras's Hinge(reduction, name): l = mean(max(1 - y_true * y_pred, 0), axis=-1); 0/1 labels become -1/1."""

    def __init__(self, reduction: str = "sum_over_batch_size", name: str | None = None):
        super().__init__(1.0, reduction)
        self.keras_name = name or "hinge"

    def get_config(self) -> dict:
        return {"reduction": self.reduction}


class SquaredHinge(_L.SquaredHinge):
    """Keras's SquaredHinge(reduction, name): l = mean(max(1 - y_true * y_pred, 0)^2, axis=-1)."""

    def __init__(self, reduction: str = "sum_over_batch_size", name: str | None = None):
        super().__init__(1.0, reduction)
        self.keras_name = name or "squared_hinge"

    def get_config(self) -> dict:
        return {"reduction": self.reduction}


class CosineSimilarity(_L.CosineSimilarity):
    """Keras's CosineSimilarity(axis=-1, reduction, name): l = -cos(y_true, y_pred) over the last axis."""

    def __init__(self, axis: int = -1, reduction: str = "sum_over_batch_size", name: str | None = None):
        if axis != -1:
            raise ValueError(f"CosineSimilarity: only axis=-1 is supported, got {axis!r}")
        super().__init__(reduction)
        self.keras_name = name or "cosine_similarity"


_CLASSES = {c.__name__: c for c in (
    SparseCategoricalCrossentropy, CategoricalCrossentropy, BinaryCrossentropy, MeanSquaredError,
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Huber, LogCosh, Hinge,
    SquaredHinge, CategoricalHinge, KLDivergence, Poisson, CosineSimilarity)}


# ---- per-sample functions, Keras's argument order (y_true, y_pred) ---------------------------


def _per_sample(loss_name: str):
    cls = _L.LOSSES[loss_name]

    def fn(y_true, y_pred):
        loss = cls()
        p = np.asarray(y_pred)
        if p.dtype.kind != "f":
            p = p.astype(np.float32)
        ctx = Ctx(loss_name, n_inputs=2)
        t = loss._target(ctx, p, np.asarray(y_true))
        return np.array(loss._forward(ctx, p, t), copy=True)

    fn.__name__ = fn.__qualname__ = loss_name
    fn.__doc__ = f"Per-sample {cls.__name__} losses of numpy arrays (Keras's order: y_true, y_pred)."
    fn.zoo_loss = loss_name
    return fn


sparse_categorical_crossentropy = _per_sample("sparse_categorical_crossentropy")
categorical_crossentropy = _per_sample("categorical_crossentropy")
binary_crossentropy = _per_sample("binary_crossentropy")
mean_squared_error = mse = _per_sample("mse")
mean_absolute_error = mae = _per_sample("mae")
mean_absolute_percentage_error = mape = _per_sample("mape")
mean_squared_logarithmic_error = msle = _per_sample("msle")
huber = _per_sample("huber")
log_cosh = logcosh = _per_sample("logcosh")
hinge = _per_sample("hinge")
squared_hinge = _per_sample("squared_hinge")
categorical_hinge = _per_sample("categorical_hinge")
kl_divergence = kld = _per_sample("kl_divergence")
poisson = _per_sample("poisson")
cosine_similarity = _per_sample("cosine_similarity")


def get(identifier) -> _L.Loss:
    """A loss from a Loss instance or class, a name or alias (case-insensitive when unambiguous),
    one of this module's functions, a config dict `{"class_name", "config"}`, or (as Analytics
    Zoo did) any other Python function `f(y_true, y_pred)` of Variables, which becomes a
    `zoo.autograd.CustomLoss`."""
    if isinstance(identifier, _L.Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, _L.Loss):
        return identifier()
    if callable(identifier) and hasattr(identifier, "zoo_loss"):
        return _L.get(identifier.zoo_loss)
    if isinstance(identifier, str) and identifier in _CLASSES:
        return _CLASSES[identifier]()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if not isinstance(identifier, type) and all(hasattr(identifier, a) for a in ("build", "target_shape",
                                                                                  "target_dtype")):
        return identifier  # a loss building its own subgraph (zoo.autograd.CustomLoss)
    if callable(identifier) and not isinstance(identifier, type) and not isinstance(identifier, str):
        from zoo.autograd import CustomLoss

        return CustomLoss(identifier, name=getattr(identifier, "__name__", "custom_loss"))
    return _L.get(identifier)


def serialize(loss) -> dict:
    """{"class_name", "config", "module"} (and "unsafe_to_load" for losses holding Python code) that
    `deserialize` turns back into an equal loss."""
    if not hasattr(loss, "get_config"):
        raise TypeError(f"losses.serialize: expected a loss with get_config(), got {type(loss).__name__}")
    out = {"class_name": type(loss).__name__, "module": type(loss).__module__, "config": loss.get_config()}
    if getattr(loss, "unsafe_to_load", False):
        out["unsafe_to_load"] = True
    return out


#: modules whose loss classes a saved config may name (nothing else is imported while loading)
_SAFE_MODULES = ("zoo.keras.losses", "zoo.keras.objectives", "zoo.engine.losses", "zoo.engine.ops.az_losses",
                 "zoo.autograd.loss")


def deserialize(config: dict, custom_objects: dict | None = None, safe_mode: bool = True):
    """The loss described by `serialize`'s dict (or the engine's {"class_name": name, "config"}).

    A loss marked unsafe_to_load (Python code) needs safe_mode=False.
    """
    if not isinstance(config, dict):
        raise TypeError(f"losses.deserialize: expected a dict, got {type(config).__name__}")
    name = config.get("class_name")
    if not isinstance(name, str):
        raise ValueError(f"losses.deserialize: a loss config needs a string 'class_name', got {name!r}")  # noqa: TRY004
    kwargs = dict(config.get("config") or {})
    from zoo.keras import saving

    cls = saving.get_registered_object(name, custom_objects)
    module = config.get("module", "")
    if cls is None and module in _SAFE_MODULES:
        import importlib

        cand = getattr(importlib.import_module(module), name, None)
        if isinstance(cand, type) and hasattr(cand, "get_config"):
            cls = cand
    if cls is None:
        cls = _CLASSES.get(name) or _L._lookup(name)
    unsafe = config.get("unsafe_to_load") or getattr(cls, "unsafe_to_load", False)
    if unsafe and safe_mode and not saving._settings["unsafe"]:
        raise ValueError(f"loss {name!r} holds Python code, which loading would run; it loads only with "
                             f"safe_mode=False (for files you trust)")
    try:
        return saving.call_from_config(cls, kwargs, custom_objects, safe_mode)
    except TypeError as e:
        raise ValueError(f"losses.deserialize: bad config {kwargs!r} for {name}: {e}") from None
