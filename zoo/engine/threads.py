"""One thread setting for zoo's OpenMP kernels and numpy's BLAS.

`ZOO_NUM_THREADS` if set, else the number of cores this process may run on.
"""

from __future__ import annotations

import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from zoo.engine import _native

_BLAS_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
                 "openblas_set_num_threads", "MKL_Set_Num_Threads", "bli_thread_set_num_threads")
_BLAS_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads64_",
                 "openblas_get_num_threads", "MKL_Get_Max_Threads")
_lock = threading.Lock()
_blas: list[tuple] | None = None
_current = 0


def default_num_threads() -> int:
    """Threads from `ZOO_NUM_THREADS`, else the cores this process may use."""
    env = os.environ.get("ZOO_NUM_THREADS", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"ZOO_NUM_THREADS must be a positive int, got {env!r}") from None
        if n < 1:
            raise ValueError(f"ZOO_NUM_THREADS must be a positive int, got {env!r}")
        return n
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _blas_libraries() -> list[tuple]:
    """(setter, getter) pairs of every BLAS library loaded in this process (numpy's, scipy's)."""
    global _blas
    if _blas is not None:
        return _blas
    import numpy  # noqa: F401  (loads numpy's BLAS)

    found, seen = [], set()
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() or "mkl" in line.lower()}
    except OSError:
        paths = set()
    for path in sorted(paths):
        if not os.path.isfile(path) or path in seen:
            continue
        seen.add(path)
        try:
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD)
        except OSError:
            continue
        setter = next((getattr(lib, s) for s in _BLAS_SETTERS if hasattr(lib, s)), None)
        getter = next((getattr(lib, s) for s in _BLAS_GETTERS if hasattr(lib, s)), None)
        if setter is not None:
            setter.restype = None
            setter.argtypes = [ctypes.c_int]
            if getter is not None:
                getter.restype = ctypes.c_int
                getter.argtypes = []
            found.append((setter, getter))
    _blas = found
    return found


def set_num_threads(n: int) -> None:
    """Use `n` threads in zoo's kernels and in numpy's BLAS."""
    global _current
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    with _lock:
        _native.set_num_threads(n)
        for setter, _ in _blas_libraries():
            setter(n)
        _current = n


def get_num_threads() -> int:
    """Threads zoo's kernels (and BLAS) use now."""
    return _current or _native.get_num_threads()


def blas_num_threads() -> int | None:
    """Threads of the first BLAS found, or None if it cannot be asked."""
    for _, getter in _blas_libraries():
        if getter is not None:
            return int(getter())
    return None


@contextmanager
def num_threads(n: int):
    """Context manager: run the block with `n` threads, then restore."""
    before = get_num_threads()
    set_num_threads(n)
    try:
        yield
    finally:
        set_num_threads(before)


_pool: ThreadPoolExecutor | None = None
_pool_pid = 0


def run_blocks(n: int, fn, align: int = 16) -> None:
    """fn(lo, hi) over [0, n) cut into one block per thread (boundaries multiples of `align`):
    one block here and the rest on a pool, every block with single-threaded BLAS and kernels.
    Returns when all are done; the first error is raised."""
    global _pool, _pool_pid
    k = max(1, min(get_num_threads(), n // align))
    cuts = [(n * i // k) // align * align for i in range(k)] + [n]
    blocks = [(cuts[i], cuts[i + 1]) for i in range(k) if cuts[i + 1] > cuts[i]]
    if len(blocks) == 1:
        fn(*blocks[0])
        return
    if _pool is None or _pool_pid != os.getpid() or _pool._max_workers < len(blocks) - 1:
        _pool = ThreadPoolExecutor(max_workers=len(blocks) - 1, thread_name_prefix="zoo-blocks")
        _pool_pid = os.getpid()

    def task(lo, hi):
        _native.set_num_threads(1)
        fn(lo, hi)

    with num_threads(1):
        futures = [_pool.submit(task, *b) for b in blocks[1:]]
        try:
            fn(*blocks[0])
        finally:
            errors = [f.exception() for f in futures]
    for e in errors:
        if e is not None:
            raise e


set_num_threads(default_num_threads())
