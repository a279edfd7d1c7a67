"""Wrappers of the activation kernels (csrc/act.c)."""

from __future__ import annotations

import numpy as np

from zoo.engine import _native
from zoo.engine.kernels._common import dtype_code, same_shape, writable


def relu_forward(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """out = max(x, 0); `out` may be `x`."""
    if out is None:
        out = np.empty_like(x)
    code = dtype_code("relu_forward", out, x)
    same_shape("relu_forward", out, x)
    writable("relu_forward", out)
    _native.relu_forward(out, x, x.size, code)
    return out


def relu_backward(dy: np.ndarray, y: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """dx += dy where y > 0 (y is the forward output)."""
    code = dtype_code("relu_backward", dx, dy, y)
    same_shape("relu_backward", dx, dy, y)
    writable("relu_backward", dx)
    _native.relu_backward(dx, dy, y, dx.size, code)
    return dx
