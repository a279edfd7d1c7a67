"""Wrappers of the all-reduce wire kernels (csrc/comm.c): bfloat16 packing and chunk sums.

bfloat16 keeps the top 16 bits of a float32 (sign, 8-bit exponent, 7-bit mantissa): the
same range as float32 with about 3 significant digits. `bf16_pack` rounds to nearest even
(relative error <= 2**-8), `bf16_unpack` is exact. Every function checks its buffers
(dtype, 1-D, C-contiguous, lengths, no overlap) before calling C.

    >>> import numpy as np
    >>> x = np.array([1.0, 3.14159265, -2.5e-3, 1e30], np.float32)
    >>> bf16_unpack(bf16_pack(x)).tolist()
    [1.0, 3.140625, -0.00250244140625, 1.0002555517425873e+30]
"""

from __future__ import annotations

import numpy as np

from zoo.engine import _native
from zoo.engine.kernels.optim import check_threads

__all__ = ["add_into", "bf16_add_into", "bf16_pack", "bf16_unpack"]

_CODES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1}


def _vec(who: str, name: str, a, dtype, write: bool = False) -> None:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{who}: {name} must be a numpy array, got {type(a).__name__}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{who}: {name} must be {np.dtype(dtype)}, got dtype {a.dtype}")
    if a.ndim != 1 or not a.flags.c_contiguous:
        raise ValueError(f"{who}: {name} must be a 1-D C-contiguous buffer, got shape {a.shape}"
                         f"{'' if a.flags.c_contiguous else ' (not contiguous)'}")
    if write and not a.flags.writeable:
        raise ValueError(f"{who}: {name} is read-only")


def _pair(who: str, dst: np.ndarray, src: np.ndarray) -> None:
    if dst.shape != src.shape:
        raise ValueError(f"{who}: dst and src must have one length, got {dst.shape[0]} and {src.shape[0]}")
    if np.may_share_memory(dst, src):
        raise ValueError(f"{who}: dst and src overlap")


def bf16_pack(src: np.ndarray, out: np.ndarray | None = None, threads: int = 1) -> np.ndarray:
    """bfloat16 bits (uint16, round to nearest even) of the float32 buffer `src` (n,).

    `out` (n,) uint16 is filled if given, else allocated. NaN stays NaN; finite values that
    round past the largest bfloat16 become inf. Returns `out`.
    """
    _vec("bf16_pack", "src", src, np.float32)
    if out is None:
        out = np.empty(src.shape, np.uint16)
    _vec("bf16_pack", "out", out, np.uint16, write=True)
    _pair("bf16_pack", out, src)
    _native.bf16_pack(out, src, src.shape[0], check_threads("bf16_pack", threads))
    return out


def bf16_unpack(src: np.ndarray, out: np.ndarray | None = None, threads: int = 1) -> np.ndarray:
    """float32 values (n,) of the bfloat16 bits `src` (n,) uint16 (exact). Returns `out`."""
    _vec("bf16_unpack", "src", src, np.uint16)
    if out is None:
        out = np.empty(src.shape, np.float32)
    _vec("bf16_unpack", "out", out, np.float32, write=True)
    _pair("bf16_unpack", out, src)
    _native.bf16_unpack(out, src, src.shape[0], check_threads("bf16_unpack", threads))
    return out


def bf16_add_into(dst: np.ndarray, src: np.ndarray, threads: int = 1) -> np.ndarray:
    """dst += float32(src) for float32 dst (n,) and bfloat16 bits src (n,) uint16. Returns dst."""
    _vec("bf16_add_into", "dst", dst, np.float32, write=True)
    _vec("bf16_add_into", "src", src, np.uint16)
    _pair("bf16_add_into", dst, src)
    _native.bf16_add(dst, src, dst.shape[0], check_threads("bf16_add_into", threads))
    return dst


def add_into(dst: np.ndarray, src: np.ndarray, threads: int = 1) -> np.ndarray:
    """dst += src for 1-D float32 or float64 buffers of one dtype and length. Returns dst."""
    _vec("add_into", "dst", dst, None, write=True)
    _vec("add_into", "src", src, None)
    code = _CODES.get(dst.dtype)
    if code is None:
        raise TypeError(f"add_into: dst must be float32 or float64, got dtype {dst.dtype}")
    if src.dtype != dst.dtype:
        raise TypeError(f"add_into: src must be {dst.dtype} like dst, got dtype {src.dtype}")
    _pair("add_into", dst, src)
    _native.comm_add(dst, src, dst.shape[0], code, check_threads("add_into", threads))
    return dst
