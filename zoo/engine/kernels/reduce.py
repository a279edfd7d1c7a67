"""Wrappers of the flat-buffer reductions (csrc/reduce.c): sums of squares, scaling, clipping,
the sum of K buffers used by the all-reduce, and the L1/L2 regularizer gradient.

Every reduction accumulates in float64 over fixed blocks added in a fixed order, so its
result does not depend on the number of threads.
"""

from __future__ import annotations

import numpy as np

from zoo.engine import _native
from zoo.engine.kernels.optim import check_mask, check_range, check_threads

_DTYPES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1}


def _flat(who: str, x, name: str = "x", write: bool = False) -> int:
    """Check a 1-D C-contiguous float32/float64 buffer; returns its C dtype code."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{who}: {name} must be a numpy array, got {type(x).__name__}")
    if x.dtype not in _DTYPES:
        raise TypeError(f"{who}: {name} must be float32 or float64, got dtype {x.dtype}")
    if x.ndim != 1 or not x.flags.c_contiguous:
        raise ValueError(f"{who}: {name} must be a 1-D C-contiguous buffer, got shape {x.shape}"
                         f"{'' if x.flags.c_contiguous else ' (not contiguous)'}")
    if write and not x.flags.writeable:
        raise ValueError(f"{who}: {name} is read-only")
    return _DTYPES[x.dtype]


def _contig(who: str, x, name: str, write: bool = False) -> int:
    """Check a C-contiguous float32/float64 array of any shape; returns its C dtype code."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{who}: {name} must be a numpy array, got {type(x).__name__}")
    if x.dtype not in _DTYPES:
        raise TypeError(f"{who}: {name} must be float32 or float64, got dtype {x.dtype}")
    if not x.flags.c_contiguous:
        raise ValueError(f"{who}: {name} must be C-contiguous (use np.ascontiguousarray)")
    if write and not x.flags.writeable:
        raise ValueError(f"{who}: {name} is read-only")
    return _DTYPES[x.dtype]


def sumsq(x: np.ndarray, mask=None, lo: int = 0, hi: int | None = None, threads: int = 0) -> float:
    """sum(x[lo:hi]**2) over elements with mask != 0, accumulated in float64."""
    code = _flat("sumsq", x)
    n = x.shape[0]
    mask = check_mask("sumsq", mask, n)
    lo, hi = check_range("sumsq", lo, hi, n)
    return _native.sumsq(x, mask, lo, hi, code, check_threads("sumsq", threads))


def abs_sumsq(x: np.ndarray, threads: int = 0) -> tuple[float, float]:
    """(sum |x|, sum x**2) over all of `x` (any shape, C-contiguous), float64 accumulation."""
    code = _contig("abs_sumsq", x, "x")
    return _native.abs_sumsq(x, x.size, code, check_threads("abs_sumsq", threads))


def scale(x: np.ndarray, s: float, lo: int = 0, hi: int | None = None, threads: int = 0) -> None:
    """x[lo:hi] *= s in place."""
    code = _flat("scale", x, write=True)
    lo, hi = check_range("scale", lo, hi, x.shape[0])
    _native.scale(x, float(s), lo, hi, code, check_threads("scale", threads))


def clip(x: np.ndarray, a: float, b: float, lo: int = 0, hi: int | None = None, threads: int = 0) -> None:
    """x[lo:hi] = min(max(x, a), b) in place (NaN stays NaN)."""
    code = _flat("clip", x, write=True)
    lo, hi = check_range("clip", lo, hi, x.shape[0])
    _native.clip(x, float(a), float(b), lo, hi, code, check_threads("clip", threads))


def sum_into(out: np.ndarray, bufs, lo: int = 0, hi: int | None = None, threads: int = 0) -> np.ndarray:
    """out[lo:hi] = bufs[0][lo:hi] + bufs[1][lo:hi] + ... + bufs[K-1][lo:hi], added in that order.

    Args:
        out: 1-D C-contiguous float32/float64 buffer of length n; it may be one of `bufs`
            (then it is read before written) but must not partly overlap any of them.
        bufs: sequence of K >= 1 buffers of out's dtype and length.
        lo, hi: the range to sum (default the whole buffer); disjoint ranges may be summed
            by concurrent calls.
        threads: OpenMP threads (0: default, 1: this thread only).
    Returns `out`. The result is bitwise the same for any thread count and any cut of the range.
    """
    code = _flat("sum_into", out, "out", write=True)
    if isinstance(bufs, np.ndarray) or not isinstance(bufs, (list, tuple)):
        raise TypeError(f"sum_into: bufs must be a list or tuple of arrays, got {type(bufs).__name__}")
    if not 1 <= len(bufs) <= 1024:
        raise ValueError(f"sum_into: expected 1 to 1024 buffers, got {len(bufs)}")
    n = out.shape[0]
    for k, b in enumerate(bufs):
        _flat("sum_into", b, f"bufs[{k}]")
        if b.dtype != out.dtype or b.shape != out.shape:
            raise ValueError(f"sum_into: bufs[{k}] must be {out.dtype} of shape {out.shape} like out, "
                             f"got {b.dtype} {b.shape}")
        if b.ctypes.data != out.ctypes.data and np.may_share_memory(b, out):
            raise ValueError(f"sum_into: bufs[{k}] partly overlaps out")
    lo, hi = check_range("sum_into", lo, hi, n)
    _native.sum_into(out, bufs, lo, hi, code, check_threads("sum_into", threads))
    return out


def l1l2_grad(g: np.ndarray, w: np.ndarray, l1: float, l2: float, threads: int = 0) -> None:
    """g += l1 * sign(w) + 2 * l2 * w in place; g and w C-contiguous of one dtype and shape."""
    code = _contig("l1l2_grad", g, "g", write=True)
    _contig("l1l2_grad", w, "w")
    if g.dtype != w.dtype or g.shape != w.shape:
        raise ValueError(f"l1l2_grad: g and w must share dtype and shape, got {g.dtype} {g.shape} and "
                         f"{w.dtype} {w.shape}")
    _native.l1l2_grad(g, w, float(l1), float(l2), g.size, code, check_threads("l1l2_grad", threads))
