"""Argument checks and helpers shared by the shape op families.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine.ops.base import Ctx
from zoo.engine.ops.window import is_int as _is_int


def _fmt(shape) -> str:
    """A shape as text, None for unknown sizes: (None, 3, 4)."""
    items = ["None" if s is None else str(int(s)) for s in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def common_shape(shapes) -> tuple:
    """The one shape of several inputs' shapes that may hold None (unknown sizes), each None
    filled from another input; ValueError if there are none or they differ."""
    if not shapes:
        raise ValueError("expected at least one input, got none")
    out = list(shapes[0])
    for s in shapes[1:]:
        if len(s) != len(out) or any(a is not None and b is not None and a != b for a, b in zip(out, s)):
            raise ValueError(f"inputs must have one shape, got {_fmt(shapes[0])} and {_fmt(s)}")
        out = [b if a is None else a for a, b in zip(out, s)]
    return tuple(out)


def _ints(op: str, what: str, v, low: int | None = None) -> tuple[int, ...]:
    """`v` (an int or a sequence of ints, each >= low) as a tuple of Python ints."""
    items = (v,) if _is_int(v) else v
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(f"{op}: {what} must be an int or a sequence of ints, got {v!r}") from None
    for i in items:
        if not _is_int(i):
            raise TypeError(f"{op}: {what} must hold ints, got {v!r}")
        if low is not None and i < low:
            raise ValueError(f"{op}: {what} must hold ints >= {low}, got {v!r}")
    return tuple(int(i) for i in items)


def _axis(op: str, axis) -> int:
    if not _is_int(axis):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    return int(axis)


def _contig(ctx: Ctx, key, v: np.ndarray) -> np.ndarray:
    """`v` itself if C-contiguous, else a copy in the reused buffer `key`."""
    if v.flags.c_contiguous:
        return v
    out = ctx.buf(key, v.shape, v.dtype)
    np.copyto(out, v)
    return out


def _prod(sizes) -> int | None:
    """Product of sizes, None if any is unknown."""
    return None if any(s is None for s in sizes) else math.prod(sizes)


def _in_range(op: str, i: int, d: int | None, ax: int) -> None:
    if d is not None and not -d <= i < d:
        raise ValueError(f"index {i} is out of range for axis {ax} of size {d}")
