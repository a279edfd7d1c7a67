"""The training state a model file carries: the optimizer's slots and counters, the trainer's
epoch/iteration and RNG states, and the compile config (optimizer, losses, metrics)."""

from __future__ import annotations

import numpy as np

from zoo.keras.saving.archive import _weight_entries
from zoo.keras.saving.config import _jsonable

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
