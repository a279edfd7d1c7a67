"""Argument checks and gradient helpers shared by the misc op families.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine.ops.base import unbroadcast
from zoo.engine.ops.window import is_int as _is_int

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _float(who: str, x, name: str = "input") -> np.ndarray:
    """x as a float32/float64 numpy array; TypeError naming `who` otherwise."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{who}: expected a numpy array as {name}, got {type(x).__name__}")
    if x.dtype not in _FLOATS:
        raise TypeError(f"{who}: expected a float32 or float64 {name}, got dtype {x.dtype}")
    return x


def _number(
    who: str,
    name: str,
    v,
    low: float | None = None,
    low_open: bool = False,
    high: float | None = None,
    high_open: bool = False,
) -> float:
    if (
        isinstance(v, bool)
        or not isinstance(v, (int, float, np.integer, np.floating))
        or not math.isfinite(v)
    ):
        raise ValueError(f"{who}: {name} must be a finite number, got {v!r}")
    v = float(v)
    if (low is not None and (v < low or (low_open and v == low))) or (
        high is not None and (v > high or (high_open and v == high))
    ):
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        hi = ")" if high is None else hi
        raise ValueError(
            f"{who}: {name} must be in {lo}{low}, {'inf' if high is None else high}{hi}, got {v!r}"
        )
    return v


def _axes_arg(who: str, what: str, axis) -> tuple[int, ...]:
    if _is_int(axis):
        return (int(axis),)
    try:
        t = tuple(axis)
    except TypeError:
        raise TypeError(f"{who}: {what} must be an int or a sequence of ints, got {axis!r}") from None
    if not t or not all(_is_int(a) for a in t):
        raise TypeError(f"{who}: {what} must be an int or a non-empty sequence of ints, got {axis!r}")
    return tuple(int(a) for a in t)


def _resolve_axes(who: str, what: str, axes: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{what} {a} is out of range for an input of rank {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{what} {axes} names an axis twice (rank {ndim})")
    return tuple(sorted(out))


def _like(g: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """A gradient summed to ref's shape (broadcast axes) in ref's dtype."""
    g = unbroadcast(g, ref.shape)
    return g if g.dtype == ref.dtype else g.astype(ref.dtype)


def _check_param(who: str, name: str, x: tuple, p: tuple) -> None:
    """p must broadcast to x without growing it: right-aligned, each size 1 or x's (1 on unknown sizes)."""
    ok = len(p) <= len(x) and all(
        b == 1 or (a is not None and b == a) for a, b in zip(reversed(x), reversed(p))
    )
    if not ok:
        raise ValueError(
            f"expected {name} broadcastable to the input shape {tuple(x)} without growing it, "
            f"got shape {tuple(p)}"
        )
