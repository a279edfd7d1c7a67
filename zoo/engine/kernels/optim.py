"""Wrapper of the fused optimizer kernels (csrc/optim.c).

`step` checks every buffer (dtype, contiguity, length, writability) and the range before
calling C, which trusts its arguments. The per-optimizer formulas are in csrc/optim.c and
zoo/engine/optim/.
"""

from __future__ import annotations

import numpy as np

from zoo.engine import _native

# Optimizer kinds, shared with csrc/optim.c: name -> (code, number of slots, required slots).
KINDS: dict[str, tuple[int, int, tuple[int, ...]]] = {
    "sgd": (0, 1, ()),
    "adam": (1, 3, (0, 1)),
    "adagrad": (2, 1, (0,)),
    "adadelta": (3, 2, (0, 1)),
    "adamax": (4, 2, (0, 1)),
    "rmsprop": (5, 3, (0,)),
    "ftrl": (6, 2, (0, 1)),
}
_DTYPES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1}


def check_flat(who: str, w, g) -> int:
    """Check that `w` and `g` are 1-D C-contiguous float32/float64 arrays of one dtype and length,
    `w` writable; returns the C dtype code."""
    if type(w) is np.ndarray and type(g) is np.ndarray and w.ndim == 1 and w.shape == g.shape:
        code = _DTYPES.get(w.dtype)
        if code is not None and g.dtype == w.dtype and w.flags.c_contiguous and g.flags.c_contiguous \
                and w.flags.writeable:
            return code
    for name, a in (("w", w), ("g", g)):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{who}: {name} must be a numpy array, got {type(a).__name__}")
        if a.dtype not in _DTYPES:
            raise TypeError(f"{who}: {name} must be float32 or float64, got dtype {a.dtype}")
        if a.ndim != 1 or not a.flags.c_contiguous:
            raise ValueError(f"{who}: {name} must be a 1-D C-contiguous buffer, got shape {a.shape}"
                             f"{'' if a.flags.c_contiguous else ' (not contiguous)'}")
    if g.dtype != w.dtype:
        raise TypeError(f"{who}: w and g must share one dtype, got {w.dtype} and {g.dtype}")
    if g.shape != w.shape:
        raise ValueError(f"{who}: w and g must have one length, got {w.shape[0]} and {g.shape[0]}")
    if not w.flags.writeable:
        raise ValueError(f"{who}: w is read-only")
    return _DTYPES[w.dtype]


def check_mask(who: str, mask, n: int):
    """None, or `mask` as a 1-D C-contiguous uint8 array of length n (bool is viewed as uint8)."""
    if mask is None:
        return None
    if type(mask) is np.ndarray and mask.dtype == np.uint8 and mask.shape == (n,) and mask.flags.c_contiguous:
        return mask
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{who}: mask must be a numpy uint8 array or None, got {type(mask).__name__}")
    if mask.dtype == np.bool_:
        mask = mask.view(np.uint8)
    if mask.dtype != np.uint8:
        raise TypeError(f"{who}: mask must be uint8 (or bool), got dtype {mask.dtype}")
    if mask.ndim != 1 or mask.shape[0] != n:
        raise ValueError(f"{who}: mask must have shape ({n},) like w, got {mask.shape}")
    if not mask.flags.c_contiguous:
        raise ValueError(f"{who}: mask must be C-contiguous")
    return mask


def check_range(who: str, lo, hi, n: int) -> tuple[int, int]:
    """(lo, hi) as ints with 0 <= lo <= hi <= n; hi None means n."""
    if hi is None:
        hi = n
    if type(lo) is int and type(hi) is int and 0 <= lo <= hi <= n:
        return lo, hi
    for name, v in (("lo", lo), ("hi", hi)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise TypeError(f"{who}: {name} must be an int, got {type(v).__name__}")
    lo, hi = int(lo), int(hi)
    if not 0 <= lo <= hi <= n:
        raise ValueError(f"{who}: expected 0 <= lo <= hi <= {n}, got lo={lo}, hi={hi}")
    return lo, hi


def check_threads(who: str, threads) -> int:
    """`threads` as an int >= 0 (0: the default OpenMP team)."""
    if type(threads) is int and threads >= 0:
        return threads
    if not isinstance(threads, (int, np.integer)) or isinstance(threads, bool) or threads < 0:
        raise ValueError(f"{who}: threads must be an int >= 0 (0: default), got {threads!r}")
    return int(threads)


def step_unchecked(code: int, w: np.ndarray, g: np.ndarray, mask, slots: tuple, lo: int, hi: int,
                   params: tuple, dtype: int, threads: int) -> None:
    """`step` for callers that checked w, g, mask, range and threads with the check_* helpers above
    and own the slots (Optimizer.apply); `params` must be a tuple of floats."""
    _native.optim_step(code, w, g, mask, slots, lo, hi, params, dtype, threads)


def step(kind: str, w: np.ndarray, g: np.ndarray, mask, slots: tuple, lo: int, hi: int, params: tuple,
         threads: int = 0) -> None:
    """Fused update of w[lo:hi] and slots[k][lo:hi] from g[lo:hi] where mask != 0.

    `kind` is one of KINDS; `slots` is a tuple of buffers like w (None for unused optional
    slots); `params` the kind's per-step scalars (see csrc/optim.c). `threads` 0 uses the
    default OpenMP team; 1 keeps the call on the calling thread.
    """
    spec = KINDS.get(kind)
    if spec is None:
        raise ValueError(f"optim_step: unknown optimizer kind {kind!r}; known: {sorted(KINDS)}")
    code, n_slots, required = spec
    who = f"optim_step[{kind}]"
    dtype = check_flat(who, w, g)
    n = w.shape[0]
    mask = check_mask(who, mask, n)
    lo, hi = check_range(who, lo, hi, n)
    threads = check_threads(who, threads)
    if not isinstance(slots, tuple) or len(slots) != n_slots:
        raise ValueError(f"{who}: expected a tuple of {n_slots} slots, got {slots!r:.80}")
    for k, s in enumerate(slots):
        if s is None:
            if k in required:
                raise ValueError(f"{who}: slot {k} is required, got None")
            continue
        if not isinstance(s, np.ndarray) or s.dtype != w.dtype or s.shape != w.shape or not s.flags.c_contiguous \
                or not s.flags.writeable:
            got = f"{s.dtype} {s.shape}" if isinstance(s, np.ndarray) else type(s).__name__
            raise ValueError(f"{who}: slot {k} must be a writable C-contiguous {w.dtype} buffer of shape "
                             f"{w.shape}, got {got}")
    if len(params) > 8:
        raise ValueError(f"{who}: at most 8 parameters, got {len(params)}")
    _native.optim_step(code, w, g, mask, slots, lo, hi, tuple(float(p) for p in params), dtype, threads)
