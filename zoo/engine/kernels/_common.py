"""Argument checks shared by the kernel wrappers."""

from __future__ import annotations

import numpy as np

F32, F64 = 0, 1
_CODES = {np.dtype(np.float32): F32, np.dtype(np.float64): F64}


def dtype_code(kernel: str, *arrays: np.ndarray) -> int:
    """The C dtype code of `arrays`, which must all be float32 or all float64 and C-contiguous."""
    first = arrays[0]
    code = _CODES.get(first.dtype) if isinstance(first, np.ndarray) else None
    if code is None:
        got = first.dtype if isinstance(first, np.ndarray) else type(first).__name__
        raise TypeError(f"{kernel}: expected float32 or float64 arrays, got {got}")
    for a in arrays:
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{kernel}: expected numpy arrays, got {type(a).__name__}")
        if a.dtype != first.dtype:
            raise TypeError(f"{kernel}: all arrays must share one dtype, got {first.dtype} and {a.dtype}")
        if not a.flags.c_contiguous:
            raise ValueError(f"{kernel}: arrays must be C-contiguous (use np.ascontiguousarray)")
    return code


def require(kernel: str, cond: bool, message: str) -> None:
    """Raise ValueError('<kernel>: <message>') unless `cond`."""
    if not cond:
        raise ValueError(f"{kernel}: {message}")


def writable(kernel: str, *arrays: np.ndarray) -> None:
    """Outputs must be writable."""
    for a in arrays:
        if not a.flags.writeable:
            raise ValueError(f"{kernel}: output array is read-only")


def same_shape(kernel: str, *arrays: np.ndarray) -> None:
    shape = arrays[0].shape
    for a in arrays[1:]:
        if a.shape != shape:
            raise ValueError(f"{kernel}: expected arrays of one shape, got {shape} and {a.shape}")


#: largest value of the C kernels' int arguments (sizes, strides, pads)
INT32_MAX = 2**31 - 1


def pos_int(v) -> bool:
    """Whether v is an int (not a bool) >= 1."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1


def nonneg_int(v) -> bool:
    """Whether v is an int (not a bool) >= 0."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0


def instance(kernel: str, obj, cls: type) -> None:
    """TypeError('<kernel>: expected a <cls>, got <type>') unless obj is a cls (a geometry)."""
    if not isinstance(obj, cls):
        raise TypeError(f"{kernel}: expected a {cls.__name__}, got {type(obj).__name__}")


def chunk(kernel: str, n: int, n0, n1) -> int:
    """n1 - n0 of an image range 0 <= n0 < n1 <= n of a batch of n."""
    require(
        kernel,
        nonneg_int(n0) and nonneg_int(n1) and n0 < n1 <= n,
        f"expected image range 0 <= n0 < n1 <= {n}, got n0={n0!r}, n1={n1!r}",
    )
    return int(n1) - int(n0)


def team(kernel: str, nthreads) -> int:
    """An OpenMP thread count argument: a non-negative int, 0 for the current setting."""
    require(kernel, nonneg_int(nthreads), f"nthreads must be a non-negative int (0: default), got {nthreads!r}")
    return int(nthreads)


def shape_is(kernel: str, name: str, a: np.ndarray, shape: tuple) -> None:
    """ValueError('<kernel>: expected <name> of shape <shape>, got <a.shape>') unless a has that shape."""
    if a.shape != shape:
        raise ValueError(f"{kernel}: expected {name} of shape {shape}, got {a.shape}")
