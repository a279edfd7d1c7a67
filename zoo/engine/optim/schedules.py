"""Learning-rate schedules: `Schedule` and its kinds (step, multistep, exponential, poly,
warmup, cosine, plateau, sequential, function), `SCHEDULES` and `get_schedule`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

from zoo.engine.optim._checks import _int, _num

# ---- learning-rate schedules -----------------------------------------------------------

class Schedule:
    """A learning-rate schedule: `schedule(iteration, epoch, base_lr) -> lr`.

    `iteration` is the 0-based index of the step being taken (the number of steps completed
    before it) and `epoch` the 0-based index of the current epoch; `base_lr` is the
    optimizer's `learning_rate`. Stateful schedules (Plateau) keep what they learn in
    `get_state()`; `get_config()` returns the constructor arguments.
    """

    def __call__(self, iteration: int, epoch: int, base_lr: float) -> float:
        raise NotImplementedError

    def on_epoch_end(self, epoch: int, logs: dict | None) -> None:
        """Called by the optimizer after each epoch with the epoch's logs (metrics)."""

    def get_state(self) -> dict:
        return {}

    def set_state(self, state: dict) -> None:
        pass

    def get_config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Default(Schedule):
    """BigDL's default decay: `lr = base_lr / (1 + iteration * decay)`."""

    def __init__(self, decay: float):
        self.decay = _num("Default", "decay", decay, lo=0)

    def __call__(self, iteration, epoch, base_lr):
        return base_lr / (1.0 + iteration * self.decay)

    def get_config(self):
        return {"decay": self.decay}


class Step(Schedule):
    """`lr = base_lr * gamma ** (iteration // step_size)`."""

    def __init__(self, step_size: int, gamma: float):
        self.step_size = _int("Step", "step_size", step_size)
        self.gamma = _num("Step", "gamma", gamma, lo=0)

    def __call__(self, iteration, epoch, base_lr):
        return base_lr * self.gamma ** (iteration // self.step_size)

    def get_config(self):
        return {"step_size": self.step_size, "gamma": self.gamma}


class MultiStep(Schedule):
    """`lr = base_lr * gamma ** k`, k the number of `step_sizes` (increasing) <= iteration."""

    def __init__(self, step_sizes, gamma: float):
        steps = [_int("MultiStep", "step_sizes", s, lo=0) for s in step_sizes]
        if any(b <= a for a, b in itertools.pairwise(steps)):
            raise ValueError(f"MultiStep: step_sizes must be strictly increasing, got {steps}")
        self.step_sizes = steps
        self.gamma = _num("MultiStep", "gamma", gamma, lo=0)

    def __call__(self, iteration, epoch, base_lr):
        k = sum(1 for s in self.step_sizes if iteration >= s)
        return base_lr * self.gamma ** k

    def get_config(self):
        return {"step_sizes": list(self.step_sizes), "gamma": self.gamma}


class EpochStep(Schedule):
    """`lr = base_lr * gamma ** (epoch // step_size)` (BigDL EpochStep)."""

    def __init__(self, step_size: int, gamma: float):
        self.step_size = _int("EpochStep", "step_size", step_size)
        self.gamma = _num("EpochStep", "gamma", gamma, lo=0)

    def __call__(self, iteration, epoch, base_lr):
        return base_lr * self.gamma ** (epoch // self.step_size)

    def get_config(self):
        return {"step_size": self.step_size, "gamma": self.gamma}


class Exponential(Schedule):
    """`lr = base_lr * decay_rate ** (iteration / decay_step)`, the exponent floored if
    `stair_case` (BigDL Exponential, Keras ExponentialDecay)."""

    def __init__(self, decay_step: int, decay_rate: float, stair_case: bool = False):
        self.decay_step = _int("Exponential", "decay_step", decay_step)
        self.decay_rate = _num("Exponential", "decay_rate", decay_rate, lo=0)
        self.stair_case = bool(stair_case)

    def __call__(self, iteration, epoch, base_lr):
        p = iteration / self.decay_step
        return base_lr * self.decay_rate ** (math.floor(p) if self.stair_case else p)

    def get_config(self):
        return {"decay_step": self.decay_step, "decay_rate": self.decay_rate, "stair_case": self.stair_case}


class Poly(Schedule):
    """`lr = base_lr * (1 - iteration / max_iteration) ** power`, 0 from max_iteration on."""

    def __init__(self, power: float, max_iteration: int):
        self.power = _num("Poly", "power", power, lo=0)
        self.max_iteration = _int("Poly", "max_iteration", max_iteration)

    def __call__(self, iteration, epoch, base_lr):
        if iteration >= self.max_iteration:
            return 0.0
        return base_lr * (1.0 - iteration / self.max_iteration) ** self.power

    def get_config(self):
        return {"power": self.power, "max_iteration": self.max_iteration}


class Warmup(Schedule):
    """BigDL Warmup: `lr = base_lr + delta * iteration` (use inside SequentialSchedule)."""

    def __init__(self, delta: float):
        self.delta = _num("Warmup", "delta", delta)

    def __call__(self, iteration, epoch, base_lr):
        return base_lr + self.delta * iteration

    def get_config(self):
        return {"delta": self.delta}


class LinearWarmup(Schedule):
    """Linear ramp from `start_lr` to base_lr over `warmup_steps`, then base_lr:
    `lr = start_lr + (base_lr - start_lr) * min(iteration, warmup_steps) / warmup_steps`
    (the warmup of Keras's CosineDecay)."""

    def __init__(self, warmup_steps: int, start_lr: float = 0.0):
        self.warmup_steps = _int("LinearWarmup", "warmup_steps", warmup_steps)
        self.start_lr = _num("LinearWarmup", "start_lr", start_lr, lo=0)

    def __call__(self, iteration, epoch, base_lr):
        f = min(iteration, self.warmup_steps) / self.warmup_steps
        return self.start_lr + (base_lr - self.start_lr) * f

    def get_config(self):
        return {"warmup_steps": self.warmup_steps, "start_lr": self.start_lr}


class Cosine(Schedule):
    """Keras CosineDecay: `lr = base_lr * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)`
    with s = min(iteration, decay_steps)."""

    def __init__(self, decay_steps: int, alpha: float = 0.0):
        self.decay_steps = _int("Cosine", "decay_steps", decay_steps)
        self.alpha = _num("Cosine", "alpha", alpha, lo=0, hi=1)

    def __call__(self, iteration, epoch, base_lr):
        s = min(iteration, self.decay_steps)
        return base_lr * ((1.0 - self.alpha) * 0.5 * (1.0 + math.cos(math.pi * s / self.decay_steps)) + self.alpha)

    def get_config(self):
        return {"decay_steps": self.decay_steps, "alpha": self.alpha}


class Plateau(Schedule):
    """Reduce the learning rate when a monitored metric stops improving (BigDL Plateau,
    Keras ReduceLROnPlateau).

    After each epoch `logs[monitor]` is compared with the best value so far: it improves
    when it is below best - epsilon (`mode="min"`) or above best + epsilon (`mode="max"`).
    After `patience` epochs without improvement, lr = max(lr * factor, min_lr) and `cooldown`
    epochs pass before counting again. The lr starts at the optimizer's learning rate at the
    first step; epochs whose logs lack the metric are skipped.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, mode: str = "min",
                 epsilon: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0):
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"Plateau: monitor must be a metric name, got {monitor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"Plateau: mode must be 'min' or 'max', got {mode!r}")
        self.monitor = monitor
        self.factor = _num("Plateau", "factor", factor, lo=0, hi=1, hi_open=True)
        self.patience = _int("Plateau", "patience", patience, lo=0)
        self.mode = mode
        self.epsilon = _num("Plateau", "epsilon", epsilon, lo=0)
        self.cooldown = _int("Plateau", "cooldown", cooldown, lo=0)
        self.min_lr = _num("Plateau", "min_lr", min_lr, lo=0)
        self.lr: float | None = None
        self.best = math.inf if mode == "min" else -math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def __call__(self, iteration, epoch, base_lr):
        if self.lr is None:
            self.lr = float(base_lr)
        return self.lr

    def _improved(self, current: float) -> bool:
        if self.mode == "min":
            return current < self.best - self.epsilon
        return current > self.best + self.epsilon

    def on_epoch_end(self, epoch, logs):
        current = (logs or {}).get(self.monitor)
        if current is None:
            return
        current = float(current)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and self.lr is not None:
                if self.lr > self.min_lr:
                    self.lr = max(self.lr * self.factor, self.min_lr)
                    self.cooldown_counter = self.cooldown
                self.wait = 0

    def get_state(self):
        return {"lr": self.lr, "best": self.best, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def set_state(self, state):
        self.lr = None if state.get("lr") is None else float(state["lr"])
        self.best = float(state.get("best", self.best))
        self.wait = int(state.get("wait", 0))
        self.cooldown_counter = int(state.get("cooldown_counter", 0))

    def get_config(self):
        return {"monitor": self.monitor, "factor": self.factor, "patience": self.patience, "mode": self.mode,
                "epsilon": self.epsilon, "cooldown": self.cooldown, "min_lr": self.min_lr}


class SequentialSchedule(Schedule):
    """Schedules one after another: `[(schedule, n_iterations), ...]`. Each runs for its
    n_iterations with the iteration counted from its own start; the last one keeps running
    past its count. Epoch ends go to the schedule in use."""

    def __init__(self, schedules):
        items = list(schedules)
        if not items:
            raise ValueError("SequentialSchedule: expected at least one (schedule, n_iterations) pair, got none")
        self.schedules: list[tuple[Schedule, int]] = []
        for k, item in enumerate(items):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise TypeError(f"SequentialSchedule: item {k} must be a (schedule, n_iterations) pair, got {item!r}")
            s, n = item
            self.schedules.append((get_schedule(s), _int("SequentialSchedule", f"n_iterations of item {k}", n)))
        self.active = 0

    def __call__(self, iteration, epoch, base_lr):
        k, start = 0, 0
        while k < len(self.schedules) - 1 and iteration >= start + self.schedules[k][1]:
            start += self.schedules[k][1]
            k += 1
        self.active = k
        return self.schedules[k][0](iteration - start, epoch, base_lr)

    def on_epoch_end(self, epoch, logs):
        self.schedules[self.active][0].on_epoch_end(epoch, logs)

    def get_state(self):
        return {"active": self.active, "children": [s.get_state() for s, _ in self.schedules]}

    def set_state(self, state):
        self.active = int(state.get("active", 0))
        for (s, _), st in zip(self.schedules, state.get("children", [])):
            s.set_state(st)

    def get_config(self):
        return {"schedules": [[_schedule_config(s), n] for s, n in self.schedules]}


class FunctionSchedule(Schedule):
    """A plain function `fn(iteration, epoch, base_lr) -> lr` as a schedule (not serializable)."""

    def __init__(self, fn: Callable[[int, int, float], float]):
        if not callable(fn):
            raise TypeError(f"FunctionSchedule: expected a callable, got {type(fn).__name__}")
        self.fn = fn

    def __call__(self, iteration, epoch, base_lr):
        return float(self.fn(iteration, epoch, base_lr))

    def __repr__(self) -> str:
        return f"FunctionSchedule({getattr(self.fn, '__name__', self.fn)!s})"

    def get_config(self):
        raise ValueError("FunctionSchedule: a Python function cannot be saved in a config; use a built-in schedule")


SCHEDULES: dict[str, type[Schedule]] = {c.__name__: c for c in (
    Default, Step, MultiStep, EpochStep, Exponential, Poly, Plateau, Warmup, LinearWarmup, Cosine,
    SequentialSchedule)}


def _schedule_config(s: Schedule) -> dict:
    return {"class_name": type(s).__name__, "config": s.get_config()}


def get_schedule(identifier) -> Schedule | None:
    """None, a Schedule, a function `(iteration, epoch, base_lr) -> lr`, or a config
    `{"class_name": ..., "config": {...}}` -> Schedule (or None)."""
    if identifier is None or isinstance(identifier, Schedule):
        return identifier
    if isinstance(identifier, dict):
        name, config = identifier.get("class_name"), identifier.get("config", {})
        cls = SCHEDULES.get(name)
        if cls is None:
            raise ValueError(f"unknown schedule {name!r}; known: {sorted(SCHEDULES)}")
        if cls is SequentialSchedule:
            return SequentialSchedule([(get_schedule(s), n) for s, n in config["schedules"]])
        return cls(**config)
    if callable(identifier):
        return FunctionSchedule(identifier)
    raise TypeError(f"expected a Schedule, a function or a schedule config, got {type(identifier).__name__}")
