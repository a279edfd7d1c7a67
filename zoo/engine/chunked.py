"""The chunked update shared by local replicas and Spark workers: `UpdatePlan`, `chunk_bounds`.

The flat gradient is cut into chunks (`chunk_bounds`, 64-byte aligned); whoever owns a chunk
(a replica's thread, or a Spark worker after a ring reduce-scatter) applies regularizers,
clipping and the optimizer step to that chunk of the weights (`UpdatePlan.run`), with a global
sum between passes when a norm is needed. `split_sizes` cuts a batch into shares.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine.kernels import reduce as R
from zoo.engine.trainer import Trainer

__all__ = ["ALIGN", "UpdatePlan", "chunk_bounds", "split_sizes"]


#: chunk boundaries are multiples of this many float32 (64 bytes: no false sharing)
ALIGN = 16


def chunk_bounds(n: int, k: int, align: int = ALIGN) -> list[tuple[int, int]]:
    """Cut [0, n) into k contiguous chunks, boundaries multiples of `align` (the last may be
    shorter, some may be empty when n is small).

    >>> chunk_bounds(100, 3)
    [(0, 48), (48, 80), (80, 100)]
    """
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"chunk_bounds: n must be an int >= 0, got {n!r}")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"chunk_bounds: k must be a positive int, got {k!r}")
    blocks = -(-n // align)
    out, start = [], 0
    for i in range(k):
        nb = blocks // k + (1 if i < blocks % k else 0)
        stop = min(n, start + nb * align)
        out.append((start, stop))
        start = stop
    return out


def split_sizes(n: int, k: int) -> list[int]:
    """Sizes of k contiguous shares of n samples: n // k each, the first n % k one more.

    >>> split_sizes(10, 4)
    [3, 3, 2, 2]
    """
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


# ---- the update of one gradient chunk ----------------------------------------------------------

class UpdatePlan:
    """Regularizers, clipping and the optimizer step of `trainer`, applied chunk by chunk.

    The order is the one of `Trainer.train_step`: regularizer gradients, the trainer's
    element clip (`clip_value`), the trainer's global-norm clip (`clip_norm`), the optimizer's
    own `clipvalue` and `global_clipnorm`, then the optimizer step. Element-wise parts run on
    each chunk alone; a global norm needs the sum of squares over all chunks, so the work is
    cut into `passes` passes with a global sum between them:

        partial = plan.run(0, w, g, lo, hi)          # on every chunk
        total = sum(partials)                        # threads join / workers all-reduce
        plan.finish_pass(0, total)
        partial = plan.run(1, w, g, lo, hi)          # ...until the last pass, which steps

    `run` of the last pass applies the optimizer (call `optimizer.begin_step` once before).
    """

    def __init__(self, trainer: Trainer):
        t, opt = trainer, trainer.optimizer
        self.trainer = trainer
        self.store = t.store
        self.mask = t.store.trainable_mask()
        self.clip_value = t.clip_value
        self.clip_norm = t.clip_norm
        self.opt_clipvalue = opt.clipvalue
        self.opt_clipnorm = opt.global_clipnorm
        self.regs = []
        for p, reg in t.regularizers.items():
            if p.trainable and p.store is self.store:
                self.regs.append((p.offset, p.offset + p.size, reg))
        # norms needed, and whether each needs its own pass
        need1 = self.clip_norm is not None
        need2 = self.opt_clipnorm is not None
        if need2 and (self.opt_clipvalue is not None) and need1:
            self.passes = 3          # pass 0 -> n1; pass 1 (scale s1, clipvalue) -> n2; pass 2 steps
        elif need2 and self.opt_clipvalue is not None:
            self.passes = 2          # pass 0 (clipvalue) -> n2; pass 1 steps
        elif need1 or need2:
            self.passes = 2          # pass 0 -> n (n2 derived from n1 when both)
        else:
            self.passes = 1
        self._need1, self._need2 = need1, need2
        self.reset()

    def matches(self, trainer: Trainer) -> bool:
        """Whether the trainer's clipping/regularizers/mask are still those this plan was made for."""
        t, opt = trainer, trainer.optimizer
        return (self.trainer is t and self.clip_value == t.clip_value and self.clip_norm == t.clip_norm
                and self.opt_clipvalue == opt.clipvalue and self.opt_clipnorm == opt.global_clipnorm
                and self.mask is t.store.trainable_mask() and self._nregs == len(t.regularizers))

    @property
    def _nregs(self) -> int:
        return len(self.trainer.regularizers)

    def reset(self) -> None:
        """Forget the scales of the previous step."""
        self.scale_pending = 1.0  # scale still to apply to the gradient in the next pass
        self.norms: list[float] = []

    # -- per chunk --------------------------------------------------------------------------
    def _regs(self, w: np.ndarray, g: np.ndarray, lo: int, hi: int) -> None:
        for a, b, reg in self.regs:
            s, e = max(a, lo), min(b, hi)
            if s < e:
                reg.add_grad(w[s:e], g[s:e])

    def run(self, p: int, w: np.ndarray, g: np.ndarray, lo: int, hi: int, threads: int = 1) -> float:
        """Pass `p` over chunk [lo, hi) of the flat weights `w` and gradient `g`; returns the
        chunk's (masked) sum of squares when a global norm follows, else 0."""
        if hi <= lo:
            return 0.0
        last = p == self.passes - 1
        s = self.scale_pending
        if s != 1.0:
            R.scale(g, s, lo, hi, threads=threads)
        if p == 0:
            if self.regs:
                self._regs(w, g, lo, hi)
            if self.clip_value is not None:
                R.clip(g, self.clip_value[0], self.clip_value[1], lo, hi, threads=threads)
            # the optimizer's clipvalue comes after the trainer's norm clip: here only if no norm precedes it
            if self.opt_clipvalue is not None and not self._need1:
                R.clip(g, -self.opt_clipvalue, self.opt_clipvalue, lo, hi, threads=threads)
        elif p == 1 and self.passes == 3 and self.opt_clipvalue is not None:
            R.clip(g, -self.opt_clipvalue, self.opt_clipvalue, lo, hi, threads=threads)
        if last:
            if self.opt_clipvalue is not None and self._need1 and self.passes == 2:
                R.clip(g, -self.opt_clipvalue, self.opt_clipvalue, lo, hi, threads=threads)
            self.trainer.optimizer.apply(w, g, self.mask, lo, hi, threads=threads)
            return 0.0
        return R.sumsq(g, self.mask, lo, hi, threads=threads)

    def finish_pass(self, p: int, total_sumsq: float) -> None:
        """Turn the global sum of squares after pass `p` into the scale of the next pass."""
        norm = math.sqrt(total_sumsq) if total_sumsq >= 0 else float("nan")
        self.norms.append(norm)
        if not math.isfinite(norm):
            self.scale_pending = float("nan")
            return
        if self.passes == 3:
            limit = self.clip_norm if p == 0 else self.opt_clipnorm
            self.scale_pending = limit / norm if norm > limit else 1.0
            return
        # passes == 2
        scale = 1.0
        if self._need1 and norm > self.clip_norm:
            scale = self.clip_norm / norm
            norm = self.clip_norm
        if self._need2 and (self.opt_clipvalue is None or not self._need1) and norm > self.opt_clipnorm:
            scale *= self.opt_clipnorm / norm
        self.scale_pending = scale
