"""The optimizer protocol: `Optimizer`, the base of the fused flat-buffer optimizers (state
slots, masks, schedules, `begin_step`/`apply`/`step`, configs).
"""

from __future__ import annotations

import math
import threading

import numpy as np

from zoo.engine.kernels import optim as _K
from zoo.engine.optim._checks import _F32, _int, _num
from zoo.engine.optim.regularization import clip_by_global_norm, clip_by_value
from zoo.engine.optim.schedules import Default, Schedule, _schedule_config, get_schedule

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
