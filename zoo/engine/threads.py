"""One thread setting for zoo's OpenMP kernels and numpy's BLAS.

`ZOO_NUM_THREADS` if set, else the number of cores this process may run on.
"""

from __future__ import annotations

import ctypes
import itertools
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
_window_lock = threading.Lock()
_window = [0, 1]  # [callers inside single_threaded(), thread setting to restore]


@contextmanager
def single_threaded():
    """Context manager: zoo's kernels and BLAS on one thread inside. Nested and concurrent uses
    (ops running in several Python threads) share one window: the setting is taken when the
    first enters and restored once, when the last leaves."""
    with _window_lock:
        if _window[0] == 0:
            _window[1] = get_num_threads()
            set_num_threads(1)
        _window[0] += 1
    try:
        yield
    finally:
        with _window_lock:
            _window[0] -= 1
            if _window[0] == 0:
                set_num_threads(_window[1])


def _pool_task(fn, part) -> None:
    _native.set_num_threads(1)  # this pool thread's own OpenMP setting (kernels run serially)
    fn(*part)


def run_parts(parts, fn, serial: bool = False) -> None:
    """fn(*part) for every part at once: the first here, the rest on zoo's thread pool, all with
    single-threaded BLAS and kernels (see `single_threaded`). A lone part runs here on the
    current thread setting, or on one thread if `serial` (small work, where a BLAS or OpenMP
    thread team costs more than it saves). Returns when all are done; the first error is raised.

    This is the one way zoo's ops split work over threads: each part runs on its own core and
    data, and the caller decides the parts (so results do not depend on the thread count when
    the parts do not)."""
    global _pool, _pool_pid
    if len(parts) <= 1:
        if not parts:
            return
        if serial and get_num_threads() > 1:
            with single_threaded():
                fn(*parts[0])
        else:
            fn(*parts[0])
        return
    pool = _pool
    if pool is None or _pool_pid != os.getpid() or pool._max_workers < len(parts) - 1:
        pool = _pool = ThreadPoolExecutor(max_workers=len(parts) - 1, thread_name_prefix="zoo-blocks")
        _pool_pid = os.getpid()
    with single_threaded():
        futures = [pool.submit(_pool_task, fn, p) for p in parts[1:]]
        try:
            fn(*parts[0])
        finally:
            errors = [f.exception() for f in futures]
    for e in errors:
        if e is not None:
            raise e


def run_blocks(n: int, fn, align: int = 16, min_size: int | None = None) -> None:
    """fn(lo, hi) over [0, n) cut into one block per thread (boundaries multiples of `align`,
    blocks at least `min_size` long, default `align`): one block here and the rest on a pool,
    every block with single-threaded BLAS and kernels (see `run_parts`).
    Returns when all are done; the first error is raised."""
    k = max(1, min(get_num_threads(), n // (align if min_size is None else min_size)))
    cuts = [(n * i // k) // align * align for i in range(k)] + [n]
    run_parts([(cuts[i], cuts[i + 1]) for i in range(k) if cuts[i + 1] > cuts[i]], fn)


def run_queue(n_workers: int, items, fn, first=None) -> None:
    """fn(k, item) for every item, handed out in order to whichever of `n_workers` workers is
    free: worker 0 is this thread, the others run on zoo's pool (see `run_parts`). `first[k]`,
    if not None, is an item worker k runs before it takes any from the queue (one whose data
    it still holds)."""
    counter = itertools.count()
    n = len(items)

    def work(k: int) -> None:
        if first is not None and first[k] is not None:
            fn(k, first[k])
        while True:
            i = next(counter)  # atomic under the GIL
            if i >= n:
                return
            fn(k, items[i])

    run_parts([(k,) for k in range(max(1, n_workers))], work)


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's pool threads, nor its other threads' windows."""
    global _pool, _window_lock
    _pool, _window_lock = None, threading.Lock()
    _window[0] = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


set_num_threads(default_num_threads())
