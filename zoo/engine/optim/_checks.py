"""Argument checks shared by the optimizers, schedules and regularizers.
"""

from __future__ import annotations

import math

import numpy as np

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
