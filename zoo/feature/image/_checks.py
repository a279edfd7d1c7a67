"""Argument checks shared by the image transforms."""

from __future__ import annotations

import numbers


def positive_int(who: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{who}: {name} must be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"{who}: {name} must be a positive int, got {value}")
    return int(value)


def number(who: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{who}: {name} must be a number, got {value!r}")
    return float(value)


def ordered(who: str, low_name: str, low, high_name: str, high) -> tuple[float, float]:
    lo, hi = number(who, low_name, low), number(who, high_name, high)
    if lo > hi:
        raise ValueError(f"{who}: expected {low_name} <= {high_name}, got {lo} > {hi}")
    return lo, hi


def probability(who: str, name: str, value) -> float:
    p = number(who, name, value)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{who}: {name} must be in [0, 1], got {p}")
    return p


def channels(who: str, mat, allowed=(3,)) -> None:
    if mat.shape[2] not in allowed:
        raise ValueError(f"{who}: expected an image with {' or '.join(map(str, allowed))} channels "
                         f"(BGR), got shape {tuple(mat.shape)}")


def saturate(x, dtype):
    """Round and clip to uint8 like OpenCV's saturate_cast; float32 passes through."""
    import numpy as np

    if dtype == np.uint8:
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)
    return x.astype(np.float32, copy=False)
