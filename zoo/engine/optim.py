"""Optimizers, learning-rate schedules, gradient clipping and weight regularizers.

Optimizers update a model's flat float32 weight buffer from its flat gradient buffer in
one fused C call per step (csrc/optim.c): one pass over w, g and the optimizer's state
slots, which are flat buffers of the same length allocated on first use. Where the mask is
0 (frozen weights, padding) nothing changes. The formulas equal Keras 3's (see each class);
SGD adds PyTorch's dampening and coupled weight decay.

A step is `lr = opt.begin_step(epoch)` (advance the counter, evaluate the schedule, prepare
the per-step scalars) followed by one or more `opt.apply(w, g, mask, lo, hi)` calls on
disjoint ranges, possibly from several threads at once; `opt.step(w, g)` does both.

Example:
    >>> import numpy as np
    >>> w, g = np.ones(4, np.float32), np.full(4, 0.5, np.float32)
    >>> opt = SGD(learning_rate=0.1, momentum=0.9)
    >>> opt.step(w, g)
    >>> w.tolist()
    [0.949999988079071, 0.949999988079071, 0.949999988079071, 0.949999988079071]
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable

import numpy as np

from zoo.engine.kernels import optim as _K
from zoo.engine.kernels import reduce as _R

__all__ = [
    "L1",
    "L1L2",
    "L2",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Cosine",
    "Default",
    "EpochStep",
    "Exponential",
    "Ftrl",
    "FunctionSchedule",
    "LinearWarmup",
    "MultiStep",
    "Optimizer",
    "Plateau",
    "Poly",
    "RMSprop",
    "Regularizer",
    "Schedule",
    "SequentialSchedule",
    "Step",
    "Warmup",
    "clip_by_global_norm",
    "clip_by_value",
    "get",
    "get_regularizer",
    "get_schedule",
    "global_norm",
]


_F32 = np.dtype(np.float32)


# ---- argument checks -------------------------------------------------------------------

def _num(who: str, name: str, v, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
         hi_open: bool = False) -> float:
    """`v` as a finite float within [lo, hi] (open ends if asked); TypeError/ValueError otherwise."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{who}: {name} must be a number, got {type(v).__name__}")
    v = float(v)
    bad = not math.isfinite(v)
    if lo is not None:
        bad |= v <= lo if lo_open else v < lo
    if hi is not None:
        bad |= v >= hi if hi_open else v > hi
    if bad:
        lo_s = "" if lo is None else f"{'>' if lo_open else '>='} {lo}"
        hi_s = "" if hi is None else f"{'<' if hi_open else '<='} {hi}"
        rng = " and ".join(s for s in (lo_s, hi_s) if s) or "finite"
        raise ValueError(f"{who}: {name} must be {rng}, got {v}")
    return v


def _int(who: str, name: str, v, lo: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{who}: {name} must be an int, got {type(v).__name__}")
    if v < lo:
        raise ValueError(f"{who}: {name} must be >= {lo}, got {v}")
    return int(v)


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


# ---- optimizers ------------------------------------------------------------------------

# Analytics Zoo / BigDL spellings accepted by every optimizer.
_ALIASES = {"lr": "learning_rate", "learningrate": "learning_rate", "decay": "decay",
            "learningrate_decay": "decay", "leaningrate_schedule": "schedule", "learningrate_schedule": "schedule",
}


class Optimizer:
    """Base of the fused flat-buffer optimizers.

    Args:
        learning_rate: base learning rate, >= 0 (alias `lr`).
        schedule: a Schedule (or function `(iteration, epoch, base_lr) -> lr`) giving each
            step's lr from the base lr; None keeps it constant.
        decay: Analytics Zoo's learning-rate decay: shorthand for `schedule=Default(decay)`,
            lr = learning_rate / (1 + iteration * decay).
        clipvalue: if set, `step` (and `clip_gradients`) clip gradients to [-clipvalue, clipvalue].
        global_clipnorm: if set, `step` (and `clip_gradients`) scale gradients so that their
            global L2 norm (over unmasked elements) is at most this.
    Attributes:
        learning_rate: the base lr. iterations: steps begun so far. lr: the lr of the
        current/last step.
    State slots are flat buffers like w (same length and dtype), created on the first
    `apply`. `apply` on disjoint ranges of one step may run concurrently from several threads.
    """

    kind = ""  # kernel kind (zoo.engine.kernels.optim.KINDS)

    def __init__(self, learning_rate: float = 0.001, schedule: Schedule | None = None, *,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, clipnorm=None,
                 name: str | None = None, **aliases):
        who = type(self).__name__
        for k, v in aliases.items():
            target = _ALIASES.get(k)
            if target is None:
                raise TypeError(f"{who}: unexpected argument {k!r}")
            if target == "learning_rate":
                learning_rate = v
            elif target == "schedule":
                if schedule is not None:
                    raise ValueError(f"{who}: pass the schedule once, got both schedule= and {k}=")
                schedule = v
            else:  # decay
                if _num(who, k, v, lo=0) != 0.0:
                    if schedule is not None:
                        raise ValueError(f"{who}: decay={v} is a Default schedule; it cannot be combined with "
                                         f"schedule={schedule!r}")
                    schedule = Default(v)
        if clipnorm is not None:
            raise ValueError(f"{who}: clipnorm (per-variable norm) is not supported on flat buffers; "
                             f"use global_clipnorm")
        self.name = name or who.lower()
        self.learning_rate = learning_rate
        self.schedule = get_schedule(schedule)
        self.clipvalue = None if clipvalue is None else _num(who, "clipvalue", clipvalue, lo=0, lo_open=True)
        self.global_clipnorm = (None if global_clipnorm is None
                                else _num(who, "global_clipnorm", global_clipnorm, lo=0, lo_open=True))
        self.iterations = 0
        self.lr = self._learning_rate
        self._params: dict | None = None  # this step's kernel scalars by buffer dtype
        self._slots: dict[str, np.ndarray] | None = None
        self._slot_tuple: tuple | None = None
        self._slot_n, self._slot_dtype = -1, None
        self._lock = threading.Lock()
        self._who = f"{who}.apply"
        self._code = _K.KINDS[self.kind][0]

    # -- hyper-parameters -----------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if isinstance(value, Schedule):
            raise TypeError(f"{type(self).__name__}: learning_rate must be a number; pass a Schedule as schedule=")
        self._learning_rate = _num(type(self).__name__, "learning_rate", value, lo=0)

    def _slot_specs(self) -> list[tuple[str, float] | None]:
        """(name, initial value) per kernel slot, None for unused ones."""
        raise NotImplementedError

    def _step_params(self, lr: float, t: int, ftype: type) -> tuple:
        """Kernel scalars for step t (1-based) at learning rate lr, for buffers of type `ftype`
        (float32 buffers get Keras's float32 bias corrections)."""
        raise NotImplementedError

    def _hyper(self) -> dict:
        """Constructor arguments besides learning_rate/schedule/clipping."""
        return {}

    def _kernel_params(self, ftype: type, lr: float | None = None, t: int | None = None) -> tuple[float, ...]:
        """The kernel scalars of step t (default: the current step) as Python floats."""
        lr = self.lr if lr is None else lr
        t = self.iterations if t is None else t
        return tuple(float(p) for p in self._step_params(lr, t, ftype))

    # -- stepping -------------------------------------------------------------------------
    def begin_step(self, epoch: int = 0) -> float:
        """Advance the iteration counter, evaluate this step's lr and prepare the kernel scalars.

        Returns the lr of this step: schedule(iterations, epoch, learning_rate) with
        `iterations` the number of steps before this one (0 for the first step).
        """
        lr = self._learning_rate
        if self.schedule is not None:
            lr = self.schedule(self.iterations, epoch, lr)
            if not isinstance(lr, (int, float, np.floating, np.integer)) or not math.isfinite(lr) or lr < 0:
                raise ValueError(f"{type(self).__name__}: schedule {self.schedule!r} gave learning rate {lr!r} at "
                                 f"iteration {self.iterations}; expected a finite number >= 0")
        lr = float(lr)
        params = self._kernel_params(np.float32, lr, self.iterations + 1)
        self.iterations += 1
        self.lr = lr
        self._params = {_F32: params}
        return lr

    def apply(self, w: np.ndarray, g: np.ndarray, mask: np.ndarray | None = None, lo: int = 0,
              hi: int | None = None, *, threads: int = 0) -> None:
        """Update w[lo:hi] (and the state slots) from g[lo:hi] in one fused C pass.

        Args:
            w, g: 1-D C-contiguous float32 (or float64) buffers of one length; w is updated.
            mask: uint8 (or bool) buffer of that length, or None; where 0 neither w nor the
                state changes.
            lo, hi: the range to update (default all). Calls on disjoint ranges of one step
                may run concurrently.
            threads: OpenMP threads for this call (0: default team, 1: the calling thread only,
                e.g. when several threads each update their own range).
        Call `begin_step` once per step first.
        """
        cache = self._params
        if cache is None:
            raise RuntimeError(f"{type(self).__name__}.apply: call begin_step() first (once per step)")
        who = self._who
        dtype = _K.check_flat(who, w, g)
        n = w.shape[0]
        mask = _K.check_mask(who, mask, n)
        lo, hi = _K.check_range(who, lo, hi, n)
        threads = _K.check_threads(who, threads)
        params = cache.get(w.dtype)
        if params is None:
            params = cache[w.dtype] = self._kernel_params(w.dtype.type)
        st = self._slot_tuple
        if st is None or self._slot_n != n or self._slot_dtype != w.dtype:
            st = self._ensure_slots(w)
        _K.step_unchecked(self._code, w, g, mask, st, lo, hi, params, dtype, threads)

    def step(self, w: np.ndarray, g: np.ndarray, mask: np.ndarray | None = None, epoch: int = 0) -> None:
        """One whole step: begin_step(epoch), clip_gradients(g, mask) if clipping is set, apply."""
        _K.check_flat(f"{type(self).__name__}.step", w, g)
        _K.check_mask(f"{type(self).__name__}.step", mask, w.shape[0])
        self.begin_step(epoch)
        self.clip_gradients(g, mask)
        self.apply(w, g, mask)

    def clip_gradients(self, g: np.ndarray, mask: np.ndarray | None = None) -> float | None:
        """Apply this optimizer's clipvalue / global_clipnorm to g in place.

        Returns the global norm before clipping when global_clipnorm is set, else None.
        """
        if self.clipvalue is not None:
            clip_by_value(g, -self.clipvalue, self.clipvalue)
        if self.global_clipnorm is not None:
            return clip_by_global_norm(g, self.global_clipnorm, mask)
        return None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Forward the end of an epoch (with its logs) to the schedule (Plateau watches a metric)."""
        if self.schedule is not None:
            self.schedule.on_epoch_end(epoch, logs or {})

    # -- state slots ----------------------------------------------------------------------
    def _ensure_slots(self, w: np.ndarray) -> tuple:
        st = self._slot_tuple
        n = w.shape[0]
        if st is not None and self._slot_n == n and self._slot_dtype == w.dtype:
            return st
        with self._lock:
            st = self._slot_tuple
            if st is not None and self._slot_n == n and self._slot_dtype == w.dtype:
                return st
            specs = self._slot_specs()
            if self._slots is not None:
                have = next(iter(self._slots.values()), None)
                if have is not None and have.shape[0] != n:
                    raise ValueError(f"{type(self).__name__}: optimizer state holds {have.shape[0]} weights, got a "
                                     f"buffer of {n}; use a new optimizer (or reset_state()) for another model")
                slots = {k: np.ascontiguousarray(v, dtype=w.dtype) for k, v in self._slots.items()}
            else:
                slots = {}
            for spec in specs:
                if spec is not None and spec[0] not in slots:
                    slots[spec[0]] = np.full(n, spec[1], dtype=w.dtype)
            self._slots = slots
            self._slot_n, self._slot_dtype = n, w.dtype
            self._slot_tuple = tuple(None if s is None else slots[s[0]] for s in specs)
            return self._slot_tuple

    @property
    def slots(self) -> dict[str, np.ndarray]:
        """The state buffers by name (empty before the first apply)."""
        return dict(self._slots or {})

    def reset_state(self) -> None:
        """Forget the state slots and the iteration count (the schedule keeps its own state)."""
        with self._lock:
            self._slots = None
            self._slot_tuple = None
            self._params = None
            self.iterations = 0
            self.lr = self._learning_rate

    def get_state(self) -> dict:
        """{"iterations", "lr", "slots": {name: copy of flat buffer}, "schedule": {...}}."""
        return {"iterations": self.iterations, "lr": self.lr,
                "slots": {k: v.copy() for k, v in (self._slots or {}).items()},
                "schedule": self.schedule.get_state() if self.schedule is not None else {}}

    def set_state(self, state: dict) -> None:
        """Restore what get_state returned; the next begin_step/apply continue exactly."""
        who = type(self).__name__
        if not isinstance(state, dict) or "iterations" not in state:
            raise ValueError(f"{who}.set_state: expected a dict from get_state(), got {type(state).__name__}")
        slots = state.get("slots") or {}
        names = {s[0] for s in self._slot_specs() if s is not None}
        if slots and set(slots) != names:
            raise ValueError(f"{who}.set_state: expected slots {sorted(names)}, got {sorted(slots)}")
        arrays = {k: np.array(v, copy=True) for k, v in slots.items()}
        lengths = {a.shape for a in arrays.values()}
        if len(lengths) > 1 or any(len(s) != 1 for s in lengths):
            raise ValueError(f"{who}.set_state: slots must be 1-D buffers of one length, got shapes {sorted(lengths)}")
        with self._lock:
            self.iterations = _int(who, "iterations", state["iterations"], lo=0)
            self.lr = float(state.get("lr", self._learning_rate))
            self._slots = arrays or None
            self._slot_tuple = None
            self._params = {_F32: self._kernel_params(np.float32)} if self.iterations else None
        if self.schedule is not None:
            self.schedule.set_state(state.get("schedule") or {})

    def get_config(self) -> dict:
        return {"name": type(self).__name__, "learning_rate": self._learning_rate, **self._hyper(),
                "schedule": None if self.schedule is None else _schedule_config(self.schedule),
                "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self._learning_rate}, {self._hyper()})"


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov, dampening and weight decay.

    With g' = g + weight_decay * w (PyTorch's coupled decay) and velocity v (starts at 0):
        momentum == 0:  w <- w - lr * g'
        otherwise:      v <- momentum * v - lr * (1 - dampening) * g'   (no dampening on step 1)
                        w <- w + v          (nesterov: w <- w + momentum * v - lr * g')
    With dampening = weight_decay = 0 this is exactly Keras 3's SGD; with a constant lr it
    equals PyTorch's SGD (v = -lr * buf). Keras keeps lr inside v, so a changing lr acts on
    new gradients only.
    """

    kind = "sgd"

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0, schedule: Schedule | None = None, **kwargs):
        weight_decay = kwargs.pop("weightdecay", weight_decay)  # BigDL's spelling
        super().__init__(learning_rate, schedule, **kwargs)
        self.momentum = _num("SGD", "momentum", momentum, lo=0, hi=1)
        self.dampening = _num("SGD", "dampening", dampening, lo=0, hi=1)
        self.nesterov = bool(nesterov)
        self.weight_decay = _num("SGD", "weight_decay", weight_decay, lo=0)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(f"SGD: nesterov needs momentum > 0 and dampening 0, got momentum={self.momentum}, "
                             f"dampening={self.dampening}")

    def _slot_specs(self):
        return [("momentum", 0.0) if self.momentum else None]

    def _step_params(self, lr, t, ftype):
        gs = lr if t <= 1 else lr * (1.0 - self.dampening)
        return (lr, self.momentum, gs, self.weight_decay, float(self.nesterov))

    def _hyper(self):
        return {"momentum": self.momentum, "dampening": self.dampening, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}


class Adam(Optimizer):
    """Adam (Keras 3), with optional AMSGrad and decoupled weight decay.

    Step t (1-based), m and v start at 0:
        w <- w - lr * weight_decay * w
        m <- m + (g - m) * (1 - beta_1);   v <- v + (g^2 - v) * (1 - beta_2)
        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w <- w - alpha * m / (sqrt(v) + epsilon)     (amsgrad: v_hat = max(v_hat, v) instead of v)
    """

    kind = "adam"

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay: float = 0.0,
                 schedule: Schedule | None = None, **kwargs):
        beta_1, beta_2 = kwargs.pop("beta1", beta_1), kwargs.pop("beta2", beta_2)  # BigDL's spellings
        super().__init__(learning_rate, schedule, **kwargs)
        who = type(self).__name__
        self.beta_1 = _num(who, "beta_1", beta_1, lo=0, hi=1, hi_open=True)
        self.beta_2 = _num(who, "beta_2", beta_2, lo=0, hi=1, hi_open=True)
        self.epsilon = _num(who, "epsilon", epsilon, lo=0)
        self.amsgrad = bool(amsgrad)
        self.weight_decay = _num(who, "weight_decay", weight_decay, lo=0)

    def _slot_specs(self):
        return [("m", 0.0), ("v", 0.0), ("v_hat", 0.0) if self.amsgrad else None]

    def _step_params(self, lr, t, ftype):
        f = ftype  # in the buffers' precision, as Keras: beta powers in float32 for float32 weights
        one = f(1)
        alpha = f(lr) * np.sqrt(one - f(self.beta_2) ** f(t)) / (one - f(self.beta_1) ** f(t))
        return (alpha, 1.0 - self.beta_1, 1.0 - self.beta_2, self.epsilon, lr * self.weight_decay)

    def _hyper(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon, "amsgrad": self.amsgrad,
                "weight_decay": self.weight_decay}


class AdamW(Adam):
    """Adam with decoupled weight decay, default 0.004 (Keras 3 AdamW): see Adam."""

    def __init__(self, learning_rate: float = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 schedule: Schedule | None = None, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, schedule, **kwargs)


class Adagrad(Optimizer):
    """Adagrad (Keras 3): a <- a + g^2 (a starts at initial_accumulator_value);
    w <- w - lr * g / sqrt(a + epsilon). `weight_decay` is decoupled (w <- w - lr*wd*w first)."""

    kind = "adagrad"

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay: float = 0.0, schedule: Schedule | None = None, **kwargs):
        super().__init__(learning_rate, schedule, **kwargs)
        self.initial_accumulator_value = _num("Adagrad", "initial_accumulator_value", initial_accumulator_value,
                                              lo=0)
        self.epsilon = _num("Adagrad", "epsilon", epsilon, lo=0)
        self.weight_decay = _num("Adagrad", "weight_decay", weight_decay, lo=0)

    def _slot_specs(self):
        return [("accumulator", self.initial_accumulator_value)]

    def _step_params(self, lr, t, ftype):
        return (lr, self.epsilon, lr * self.weight_decay)

    def _hyper(self):
        return {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon,
                "weight_decay": self.weight_decay}


class Adadelta(Optimizer):
    """Adadelta (Keras 3), accumulators start at 0:
        A_g <- rho A_g + (1 - rho) g^2
        d = -sqrt(A_d + epsilon) * g / sqrt(A_g + epsilon)
        A_d <- rho A_d + (1 - rho) d^2;   w <- w + lr * d
    `weight_decay` is decoupled (w <- w - lr*wd*w first)."""

    kind = "adadelta"

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 weight_decay: float = 0.0, schedule: Schedule | None = None, **kwargs):
        super().__init__(learning_rate, schedule, **kwargs)
        self.rho = _num("Adadelta", "rho", rho, lo=0, hi=1)
        self.epsilon = _num("Adadelta", "epsilon", epsilon, lo=0)
        self.weight_decay = _num("Adadelta", "weight_decay", weight_decay, lo=0)

    def _slot_specs(self):
        return [("accumulated_grad", 0.0), ("accumulated_delta", 0.0)]

    def _step_params(self, lr, t, ftype):
        return (lr, self.rho, self.epsilon, lr * self.weight_decay)

    def _hyper(self):
        return {"rho": self.rho, "epsilon": self.epsilon, "weight_decay": self.weight_decay}


class Adamax(Optimizer):
    """Adamax (Keras 3), m and u start at 0, step t 1-based:
        m <- m + (g - m)(1 - beta_1);  u <- max(beta_2 u, |g|)
        w <- w - lr * m / ((1 - beta_1^t) (u + epsilon))
    `weight_decay` is decoupled (w <- w - lr*wd*w first)."""

    kind = "adamax"

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float = 0.0, schedule: Schedule | None = None, **kwargs):
        beta_1, beta_2 = kwargs.pop("beta1", beta_1), kwargs.pop("beta2", beta_2)  # BigDL's spellings
        super().__init__(learning_rate, schedule, **kwargs)
        self.beta_1 = _num("Adamax", "beta_1", beta_1, lo=0, hi=1, hi_open=True)
        self.beta_2 = _num("Adamax", "beta_2", beta_2, lo=0, hi=1)
        self.epsilon = _num("Adamax", "epsilon", epsilon, lo=0)
        self.weight_decay = _num("Adamax", "weight_decay", weight_decay, lo=0)

    def _slot_specs(self):
        return [("m", 0.0), ("u", 0.0)]

    def _step_params(self, lr, t, ftype):
        bc = ftype(1) - ftype(self.beta_1) ** ftype(t)  # in the buffers' precision, as Keras
        return (lr, 1.0 - self.beta_1, self.beta_2, self.epsilon, bc, lr * self.weight_decay)

    def _hyper(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "weight_decay": self.weight_decay}


class RMSprop(Optimizer):
    """RMSprop (Keras 3), buffers start at 0:
        v <- rho v + (1 - rho) g^2;   centered: a <- rho a + (1 - rho) g, den = v - a^2 + eps
                                      else den = v + eps
        inc = lr g / sqrt(den);       momentum > 0: mo <- momentum mo + inc, w <- w - mo
                                      else w <- w - inc
    `weight_decay` is decoupled (w <- w - lr*wd*w first)."""

    kind = "rmsprop"

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, weight_decay: float = 0.0,
                 schedule: Schedule | None = None, **kwargs):
        super().__init__(learning_rate, schedule, **kwargs)
        self.rho = _num("RMSprop", "rho", rho, lo=0, hi=1)
        self.momentum = _num("RMSprop", "momentum", momentum, lo=0, hi=1)
        self.epsilon = _num("RMSprop", "epsilon", epsilon, lo=0)
        self.centered = bool(centered)
        self.weight_decay = _num("RMSprop", "weight_decay", weight_decay, lo=0)

    def _slot_specs(self):
        return [("velocity", 0.0), ("momentum", 0.0) if self.momentum > 0 else None,
                ("average_gradient", 0.0) if self.centered else None]

    def _step_params(self, lr, t, ftype):
        return (lr, self.rho, self.epsilon, self.momentum, lr * self.weight_decay)

    def _hyper(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered,
                "weight_decay": self.weight_decay}


class Ftrl(Optimizer):
    """FTRL-proximal (Keras 3). Accumulator n starts at initial_accumulator_value, linear z at 0;
    p = -learning_rate_power, l2' = l2_regularization_strength + beta / (2 lr):
        g' = g + 2 * l2_shrinkage_regularization_strength * w;   n' = n + g^2
        z <- z + g' - (n'^p - n^p) / lr * w
        w <- (clip(z, -l1, l1) - z) / (n'^p / lr + 2 l2');   n <- n'
    `weight_decay` is decoupled (w <- w - lr*wd*w first). lr must be > 0."""

    kind = "ftrl"

    def __init__(self, learning_rate: float = 0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, beta: float = 0.0,
                 l2_shrinkage_regularization_strength: float = 0.0, weight_decay: float = 0.0,
                 schedule: Schedule | None = None, **kwargs):
        super().__init__(learning_rate, schedule, **kwargs)
        self.learning_rate_power = _num("Ftrl", "learning_rate_power", learning_rate_power, hi=0)
        self.initial_accumulator_value = _num("Ftrl", "initial_accumulator_value", initial_accumulator_value, lo=0)
        self.l1_regularization_strength = _num("Ftrl", "l1_regularization_strength", l1_regularization_strength,
                                               lo=0)
        self.l2_regularization_strength = _num("Ftrl", "l2_regularization_strength", l2_regularization_strength,
                                               lo=0)
        self.beta = _num("Ftrl", "beta", beta, lo=0)
        self.l2_shrinkage_regularization_strength = _num("Ftrl", "l2_shrinkage_regularization_strength",
                                                         l2_shrinkage_regularization_strength, lo=0)
        self.weight_decay = _num("Ftrl", "weight_decay", weight_decay, lo=0)

    def _slot_specs(self):
        return [("accumulator", self.initial_accumulator_value), ("linear", 0.0)]

    def _step_params(self, lr, t, ftype):
        if lr <= 0:
            raise ValueError(f"Ftrl: learning rate must be > 0 (it divides), got {lr} at iteration {t - 1}")
        return (lr, self.learning_rate_power, self.l1_regularization_strength,
                self.l2_regularization_strength + self.beta / (2.0 * lr), self.l2_shrinkage_regularization_strength,
                lr * self.weight_decay)

    def _hyper(self):
        return {"learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength, "beta": self.beta,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "weight_decay": self.weight_decay}


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adam": Adam, "adamw": AdamW, "adagrad": Adagrad, "adadelta": Adadelta, "adamax": Adamax,
    "rmsprop": RMSprop, "ftrl": Ftrl}


def get(identifier) -> Optimizer:
    """An Optimizer from an instance (returned as is), a name ('sgd', 'adam', 'adamw', 'adagrad',
    'adadelta', 'adamax', 'rmsprop', 'ftrl', with Keras's default hyper-parameters) or a config
    (`get_config()` output, or Keras's `{"class_name": ..., "config": {...}}`)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = OPTIMIZERS.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {identifier!r}; known: {', '.join(OPTIMIZERS)}")
        return cls()
    if isinstance(identifier, dict):
        if "class_name" in identifier:
            name, config = identifier["class_name"], dict(identifier.get("config", {}))
        else:
            config = dict(identifier)
            name = config.pop("name", None)
        cls = OPTIMIZERS.get(str(name).lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}")
        config.pop("name", None)
        if config.get("schedule") is not None:
            config["schedule"] = get_schedule(config["schedule"])
        return cls(**config)
    raise TypeError(f"expected an Optimizer, a name or a config dict, got {type(identifier).__name__}")


# ---- gradient clipping -----------------------------------------------------------------

def clip_by_value(g: np.ndarray, min_value: float, max_value: float, lo: int = 0, hi: int | None = None) -> None:
    """g[lo:hi] = min(max(g, min_value), max_value) in place (g: 1-D float32/float64 buffer)."""
    a = _num("clip_by_value", "min_value", min_value)
    b = _num("clip_by_value", "max_value", max_value)
    if a > b:
        raise ValueError(f"clip_by_value: min_value must be <= max_value, got {a} > {b}")
    _R.clip(g, a, b, lo, hi)


def global_norm(g: np.ndarray, mask: np.ndarray | None = None) -> float:
    """sqrt(sum g[i]^2) over elements with mask != 0, accumulated in float64 over fixed blocks
    (the same result for any thread count)."""
    return math.sqrt(_R.sumsq(g, mask))


def clip_by_global_norm(g: np.ndarray, max_norm: float, mask: np.ndarray | None = None) -> float:
    """Scale g in place by max_norm / norm when norm = global_norm(g, mask) > max_norm
    (tf.clip_by_global_norm; a non-finite norm makes every element NaN, as in TF).
    Returns the norm before clipping."""
    max_norm = _num("clip_by_global_norm", "max_norm", max_norm, lo=0, lo_open=True)
    norm = global_norm(g, mask)
    if not math.isfinite(norm):
        g.fill(np.nan)
    elif norm > max_norm:
        _R.scale(g, max_norm / norm)
    return norm


# ---- weight regularizers ---------------------------------------------------------------

class Regularizer:
    """A weight penalty (Keras semantics): `penalty(w)` is added to the loss and
    `add_grad(w, g)` adds its gradient to g in place (fused C over the buffer)."""

    l1 = 0.0
    l2 = 0.0

    def penalty(self, w) -> float:
        """l1 * sum|w| + l2 * sum w^2 (float64 accumulation)."""
        w = np.asarray(w)
        if w.dtype not in (np.float32, np.float64) or not w.flags.c_contiguous:
            w = np.ascontiguousarray(w, dtype=np.float64)
        a, s = _R.abs_sumsq(w)
        return self.l1 * a + self.l2 * s

    __call__ = penalty

    def add_grad(self, w: np.ndarray, g: np.ndarray) -> None:
        """g += l1 * sign(w) + 2 * l2 * w (w, g: C-contiguous float arrays of one shape)."""
        _R.l1l2_grad(g, w, self.l1, self.l2)

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in self.get_config().items())})"


class L1L2(Regularizer):
    """penalty = l1 * sum|w| + l2 * sum w^2 (Keras L1L2, defaults 0)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _num(type(self).__name__, "l1", l1, lo=0)
        self.l2 = _num(type(self).__name__, "l2", l2, lo=0)


class L1(L1L2):
    """penalty = l1 * sum|w| (Keras L1, default 0.01)."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """penalty = l2 * sum w^2 (Keras L2, default 0.01)."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


REGULARIZERS: dict[str, type[Regularizer]] = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def get_regularizer(identifier) -> Regularizer | None:
    """None, a Regularizer, a name ('l1', 'l2', 'l1_l2', Keras defaults) or a config
    `{"class_name": "L1L2", "config": {...}}` -> Regularizer (or None)."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        cls = REGULARIZERS.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown regularizer {identifier!r}; known: l1, l2, l1_l2")
        return cls()
    if isinstance(identifier, dict):
        name = str(identifier.get("class_name", "")).lower()
        cls = REGULARIZERS.get(name)
        if cls is None:
            raise ValueError(f"unknown regularizer {identifier.get('class_name')!r}; known: L1, L2, L1L2")
        return cls(**identifier.get("config", {}))
    raise TypeError(f"expected a Regularizer, a name or a config dict, got {type(identifier).__name__}")
