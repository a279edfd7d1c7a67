"""Training triggers: when to validate, checkpoint or stop (BigDL's Trigger family).

A trigger is a predicate over the training state `TrainState`; the Trainer asks its end
trigger after every iteration and its validation/checkpoint triggers likewise.
`EveryEpoch() | SeveralIteration(100)` and `MaxEpoch(10) & MinLoss(0.1)` combine them.

Example:
    >>> stop = MaxEpoch(3) | MinLoss(0.05)
    >>> stop(TrainState(epoch=1, iteration=40, loss=0.2)), stop(TrainState(epoch=1, loss=0.01))
    (False, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "And",
    "EveryEpoch",
    "MaxEpoch",
    "MaxIteration",
    "MaxScore",
    "MinLoss",
    "Or",
    "SeveralIteration",
    "TrainState",
    "Trigger",
    "TriggerAnd",
    "TriggerOr",
    "get",
]


@dataclass
class TrainState:
    """Where training is.

    Attributes:
        epoch: completed epochs.
        iteration: completed iterations (optimizer steps).
        loss: last training loss (nan before the first).
        score: last validation score (nan before the first validation).
        epoch_end: True right after an epoch completes.
    """

    epoch: int = 0
    iteration: int = 0
    loss: float = math.nan
    score: float = math.nan
    epoch_end: bool = False


def _count(who: str, name: str, v, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{who}: {name} must be an int, got {type(v).__name__}")
    if v < lo:
        raise ValueError(f"{who}: {name} must be >= {lo}, got {v}")
    return v


def _value(who: str, name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{who}: {name} must be a number, got {type(v).__name__}")
    if math.isnan(v):
        raise ValueError(f"{who}: {name} must not be nan")
    return float(v)


class Trigger:
    """A predicate over TrainState; `a & b` and `a | b` build And / Or."""

    def __call__(self, state: TrainState) -> bool:
        raise NotImplementedError

    def __and__(self, other: Trigger) -> And:
        return And(self, other)

    def __or__(self, other: Trigger) -> Or:
        return Or(self, other)

    def get_config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{v!r}' for v in self.get_config().values())})"


class EveryEpoch(Trigger):
    """True right after each epoch completes (state.epoch_end)."""

    def __call__(self, state):
        return bool(state.epoch_end)


class SeveralIteration(Trigger):
    """True after every `interval`-th iteration: iteration > 0 and iteration % interval == 0."""

    def __init__(self, interval: int):
        self.interval = _count("SeveralIteration", "interval", interval, 1)

    def __call__(self, state):
        return state.iteration > 0 and state.iteration % self.interval == 0

    def get_config(self):
        return {"interval": self.interval}


class MaxEpoch(Trigger):
    """True once `max_epoch` epochs have completed (state.epoch >= max_epoch)."""

    def __init__(self, max_epoch: int):
        self.max_epoch = _count("MaxEpoch", "max_epoch", max_epoch, 0)

    def __call__(self, state):
        return state.epoch >= self.max_epoch

    def get_config(self):
        return {"max_epoch": self.max_epoch}


class MaxIteration(Trigger):
    """True once `max_iteration` iterations have completed (state.iteration >= max_iteration)."""

    def __init__(self, max_iteration: int):
        self.max_iteration = _count("MaxIteration", "max_iteration", max_iteration, 0)

    def __call__(self, state):
        return state.iteration >= self.max_iteration

    def get_config(self):
        return {"max_iteration": self.max_iteration}


class MinLoss(Trigger):
    """True when the last training loss is below `min_loss` (never while it is nan)."""

    def __init__(self, min_loss: float):
        self.min_loss = _value("MinLoss", "min_loss", min_loss)

    def __call__(self, state):
        return state.loss < self.min_loss

    def get_config(self):
        return {"min_loss": self.min_loss}


class MaxScore(Trigger):
    """True when the last validation score is above `max_score` (never while it is nan)."""

    def __init__(self, max_score: float):
        self.max_score = _value("MaxScore", "max_score", max_score)

    def __call__(self, state):
        return state.score > self.max_score

    def get_config(self):
        return {"max_score": self.max_score}


class _Combined(Trigger):
    def __init__(self, *triggers: Trigger):
        name = type(self).__name__
        if not triggers:
            raise ValueError(f"{name}: expected at least one trigger, got none")
        for k, t in enumerate(triggers):
            if not isinstance(t, Trigger):
                raise TypeError(f"{name}: argument {k} must be a Trigger, got {type(t).__name__}")
        self.triggers = tuple(triggers)

    def get_config(self):
        return {"triggers": [{"class_name": type(t).__name__, "config": t.get_config()} for t in self.triggers]}

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(repr(t) for t in self.triggers)})"


class And(_Combined):
    """True when every trigger is true (all are evaluated, in order)."""

    def __call__(self, state):
        results = [bool(t(state)) for t in self.triggers]
        return all(results)


class Or(_Combined):
    """True when any trigger is true (all are evaluated, in order)."""

    def __call__(self, state):
        results = [bool(t(state)) for t in self.triggers]
        return any(results)


TriggerAnd = And  # BigDL's names
TriggerOr = Or

TRIGGERS: dict[str, type[Trigger]] = {c.__name__: c for c in (
    EveryEpoch, SeveralIteration, MaxEpoch, MaxIteration, MinLoss, MaxScore, And, Or)}


def get(identifier) -> Trigger | None:
    """None, a Trigger, or a config `{"class_name": ..., "config": {...}}` -> Trigger (or None)."""
    if identifier is None or isinstance(identifier, Trigger):
        return identifier
    if isinstance(identifier, dict):
        cls = TRIGGERS.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"unknown trigger {identifier.get('class_name')!r}; known: {', '.join(TRIGGERS)}")
        config = dict(identifier.get("config", {}))
        if cls in (And, Or):
            return cls(*(get(t) for t in config.get("triggers", [])))
        return cls(**config)
    raise TypeError(f"expected a Trigger or a trigger config, got {type(identifier).__name__}")
