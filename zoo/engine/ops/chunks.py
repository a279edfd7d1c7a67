"""How the convolution-like ops share a batch between the threads: the batch is cut into chunks
of images whose buffers fit in the cache, and workers (this thread and zoo's pool) take the chunks
one at a time, each running single-threaded kernels and GEMMs on its own chunk. The cut depends on
the shapes only, and every chunk's gradient parts have their own slots, summed in chunk order, so
results do not depend on the number of threads.

    >>> plan_chunks(10, per_image_bytes=1 << 20)
    [(0, 3), (3, 6), (6, 9), (9, 10)]
"""

from __future__ import annotations

import numpy as np

from zoo.engine import threads

__all__ = ["COL_CHUNK_BYTES", "MIN_CHUNKS", "check_arrays", "checked_shape", "contiguous", "plan_chunks", "run_chunks",
           "workers_for"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: target size of one chunk's column matrix (elements * itemsize)
COL_CHUNK_BYTES = 4 << 20
#: A batch is cut into at least this many chunks (when it has the images), so that two to four
#: threads share it evenly.
MIN_CHUNKS = 4


def plan_chunks(n: int, per_image_bytes: int, budget: int | None = None,
                min_chunks: int | None = None) -> list[tuple[int, int]]:
    """Image ranges [n0, n1) of even size, each at most `budget` bytes of per-image buffers (at
    least one image; default COL_CHUNK_BYTES), and at least `min_chunks` (default MIN_CHUNKS) of
    them when the batch has the images. The cut depends on the shapes only, so results do not
    depend on the number of threads."""
    budget = COL_CHUNK_BYTES if budget is None else budget
    min_chunks = MIN_CHUNKS if min_chunks is None else min_chunks
    nb = max(1, min(-(-n // min_chunks), budget // max(per_image_bytes, 1)))
    nb = -(-n // -(-n // nb))  # even chunks
    return [(n0, min(n0 + nb, n)) for n0 in range(0, n, nb)]


def workers_for(n_chunks: int, nthreads: int) -> tuple[int, int]:
    """(workers, kernel threads): several workers each run single-threaded kernels (nthreads=1)
    and GEMMs; one worker runs them on the current thread setting (0)."""
    n = max(1, min(nthreads, n_chunks))
    return n, (1 if n > 1 else 0)


def run_chunks(n_workers: int, n_chunks: int, fn) -> None:
    """fn(worker, chunk) for every chunk, chunks handed out dynamically to the workers.

    Worker 0 is this thread, the others run on zoo's thread pool (threads.run_queue); while
    several run, BLAS is set to one thread (each worker's GEMMs run on its own core and chunk),
    and fn must call the C kernels with nthreads=1. OpenMP kernels and BLAS threads never run
    at once.
    """
    threads.run_queue(n_workers, range(n_chunks), fn)


def check_arrays(name: str, *arrays) -> np.dtype:
    """Float arrays of one dtype (None entries skipped); returns the dtype."""
    dt = None
    for a in arrays:
        if a is None:
            continue
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name}: expected numpy arrays, got {type(a).__name__}")
        if a.dtype not in _FLOATS:
            raise TypeError(f"{name}: expected float32 or float64 arrays, got dtype {a.dtype}")
        if dt is None:
            dt = a.dtype
        elif a.dtype != dt:
            raise TypeError(f"{name}: inputs must share one dtype, got {dt} and {a.dtype}")
    return dt


def contiguous(a):
    """a as a C-contiguous array (None stays None)."""
    return a if a is None or a.flags.c_contiguous else np.ascontiguousarray(a)


def checked_shape(name: str, infer, x: np.ndarray, w: np.ndarray, b=None, batch: bool = False) -> tuple:
    """infer(x.shape, w.shape, b.shape or None), its ValueError prefixed with `name`; with `batch`,
    also a ValueError for an empty batch."""
    try:
        out = infer(x.shape, w.shape, None if b is None else b.shape)
    except ValueError as e:
        raise ValueError(f"{name}: {e}") from None
    if batch and x.shape[0] < 1:
        raise ValueError(f"{name}: expected a non-empty batch, got input shape {x.shape}")
    return out
