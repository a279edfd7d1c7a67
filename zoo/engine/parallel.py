"""Local data parallelism: K model replicas sharing one weight buffer, chunked reduce + update.

One training step on a mini-batch of B samples with K replicas:

1. The batch is cut into K contiguous shares of b_k samples (b_k = B // K, the first B % K
   shares one more). Replica k runs forward and backward on its share in its own Python
   thread (the kernels and BLAS release the GIL; each thread uses one OpenMP/BLAS thread),
   reading the shared weights `store.data` and writing the gradient of its share into its
   own flat buffer G_k (replica 0 writes into `store.grad`).
2. Each replica's loss is the mean over its share, so its gradient enters with the weight
   b_k / B: the loss gradient fed to backward is scaled by b_k / B, and

       g = sum_k (b_k / B) * grad(loss_k) = grad((1 / B) * sum_i l_i)

   which is the gradient of the whole batch (uneven shares included).
3. The flat gradient is cut into K chunks [lo_k, hi_k) (64-byte aligned); thread k sums
   chunk k over the replicas (`sum_into`, a fixed order), applies regularizers and clipping
   to it, and runs the optimizer on chunk k of the weights (`Optimizer.apply(lo, hi,
   threads=1)`; the optimizer state is sharded the same way). A global-norm clip needs the
   norm of the whole gradient: each thread returns the sum of squares of its chunk and the
   scale is applied in a second pass.

The result equals one replica on the whole batch up to float rounding (tested to 1e-5).
Layers with batch statistics (batch norm) normalise each share with its own statistics, as
BigDL's per-core replicas did; the running statistics of the replicas are averaged with the
weights b_k / B after each step, so every replica starts the next step from the same state.
Random layers (dropout) draw from per-replica generators seeded from (seed, k).

`UpdatePlan` (zoo.engine.chunked, the chunk pipeline of step 3) is shared with the Spark
trainer, where each worker owns one chunk of the gradient after a ring reduce-scatter.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from zoo.engine import _native
from zoo.engine import threads as T
from zoo.engine.chunked import ALIGN, UpdatePlan, chunk_bounds, split_sizes
from zoo.engine.graph import Executor
from zoo.engine.kernels import reduce as R
from zoo.engine.trainer import Trainer

__all__ = [
    "ALIGN",
    "LocalParallelTrainer",
    "ReplicaGroup",
    "UpdatePlan",
    "choose_replicas",
    "chunk_bounds",
    "split_sizes",
]

# ---- replicas ------------------------------------------------------------------------------------

class _StateView:
    """Stands in for a state Parameter in a replica's executor: a private copy of its buffer."""

    __slots__ = ("_value", "name")
    kind = "state"
    trainable = False

    def __init__(self, name: str, value: np.ndarray):
        self.name = name
        self._value = value


def _one_thread() -> None:
    _native.set_num_threads(1)


class ReplicaGroup:
    """K replicas of a trainer's training executor sharing its weights.

    Replica 0 is the trainer's own executor and writes its gradient into `store.grad`;
    replicas 1..K-1 are executors over the same ParamStore with private gradient buffers,
    private copies of the state buffer (batch-norm statistics) and their own random
    generators. `pool` threads run them; the calling thread runs replica 0.
    """

    def __init__(self, trainer: Trainer, replicas: int):
        if isinstance(replicas, bool) or not isinstance(replicas, (int, np.integer)) or replicas < 1:
            raise ValueError(f"ReplicaGroup: replicas must be a positive int, got {replicas!r}")
        self.trainer = trainer
        self.k = int(replicas)
        store = trainer.store
        self.store = store
        self.executors = [trainer.executor]
        self.grads = [store.grad]
        self.states = [store.state]
        for r in range(1, self.k):
            seed = int(np.random.SeedSequence([trainer.seed, r]).generate_state(1)[0])
            exe = Executor(trainer.train_graph, store=store, seed=seed)
            state = store.state.copy()
            slots = []
            for s, p in exe.param_slots:
                if p.kind == "state":
                    off = p.offset
                    slots.append((s, _StateView(p.name, state[off:off + p.size].reshape(p.shape))))
                else:
                    slots.append((s, p))
            exe.param_slots = slots
            self.executors.append(exe)
            self.grads.append(np.zeros_like(store.grad))
            self.states.append(state)
        self.chunks = chunk_bounds(store.grad.shape[0], self.k)
        self.pool = ThreadPoolExecutor(max_workers=self.k - 1, thread_name_prefix="zoo-replica",
                                       initializer=_one_thread) if self.k > 1 else None
        self._pred_bufs: dict = {}
        self.active = self.k
        self.shares = [0] * self.k
        self.timings = {"compute": 0.0, "reduce": 0.0}

    def close(self, wait: bool = True) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=wait)
            self.pool = None

    def __del__(self):
        # never join threads here: the garbage collector may run this inside a thread that is
        # itself starting (threading's bootstrap), and joining from there deadlocks the starter
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close(wait=False)

    def _run(self, fns: list) -> list:
        """Run fns[0] here and the others on the pool; re-raise the first error after all end."""
        if len(fns) == 1:
            return [fns[0]()]
        futures = [self.pool.submit(f) for f in fns[1:]]
        first, err = None, None
        try:
            first = fns[0]()
        except BaseException as e:  # noqa: BLE001 - re-raised below, after the other threads end
            err = e
        results = [first]
        for f in futures:
            try:
                results.append(f.result())
            except BaseException as e:  # noqa: BLE001
                err = err or e
                results.append(None)
        if err is not None:
            raise err
        return results

    # -- gradients ---------------------------------------------------------------------------
    def compute(self, xs: list, ys: list, sws: list, scale: float = 1.0, total: int | None = None,
                want_preds: bool = False) -> tuple[float, list | None]:
        """Forward/backward of the batch (xs, ys, sws) split over the replicas.

        Replica k's gradient (weighted by scale * b_k / total, total = the batch size by
        default) is left in `self.grads[k]`; call `reduce` or `step` next. Returns the loss
        (weighted the same way) and, if `want_preds`, the model outputs for the whole batch.
        """
        tr = self.trainer
        n = xs[0].shape[0] if xs else 0
        total = n if total is None else total
        sizes = split_sizes(n, self.k)
        self.shares = sizes
        self.active = sum(1 for s in sizes if s)
        nl = len(tr.losses)
        bounds, start = [], 0
        for s in sizes:
            bounds.append((start, start + s))
            start += s

        def work(r: int):
            a, b = bounds[r]
            if a == b:
                return 0.0, None
            exe = self.executors[r]
            if self.active == 1 and a == 0 and b == n:
                feeds = xs + ys + sws
            else:
                feeds = [v[a:b] for v in xs] + [v[a:b] for v in ys] + [v[a:b] for v in sws]
            outs = exe.forward(feeds, training=True, check=False)
            f = scale * (b - a) / total if total else 0.0
            loss = sum(w * float(v) for w, v in zip(tr.loss_weights, outs[:nl])) * f
            grads = [np.array(w * f, dtype=np.float32) for w in tr.loss_weights] + [None] * (len(outs) - nl)
            exe.backward(grads, grad=self.grads[r])
            return loss, (outs[nl:] if want_preds else None)

        t0 = time.perf_counter()
        if self.active == 1:
            results = [work(0)]
        else:
            with T.single_threaded():
                results = self._run([(lambda r=r: work(r)) for r in range(self.active)])
        self.timings["compute"] += time.perf_counter() - t0
        loss = float(sum(r[0] for r in results))
        preds = None
        if want_preds:
            if self.active == 1:
                preds = results[0][1]
            else:
                preds = []
                for j in range(len(results[0][1])):
                    parts = [r[1][j] for r in results]
                    shape = (n,) + parts[0].shape[1:]
                    buf = self._pred_bufs.get(j)
                    if buf is None or buf.shape != shape or buf.dtype != parts[0].dtype:
                        buf = self._pred_bufs[j] = np.empty(shape, parts[0].dtype)
                    np.concatenate(parts, axis=0, out=buf)
                    preds.append(buf)
        return loss, preds

    def _sync_state(self) -> None:
        """Average the replicas' state buffers (batch-norm statistics) with weights b_k / B."""
        if self.active <= 1 or self.store.state.size == 0:
            return
        n = sum(self.shares)
        acc = self.states[0] * np.float32(self.shares[0] / n)
        for r in range(1, self.active):
            acc += self.states[r] * np.float32(self.shares[r] / n)
        for st in self.states:
            st[...] = acc

    def reduce(self) -> np.ndarray:
        """Sum the active replicas' gradients into `store.grad`, K threads one chunk each."""
        self._sync_state()
        if self.active <= 1:
            return self.store.grad
        bufs = self.grads[:self.active]
        out = self.store.grad
        t0 = time.perf_counter()
        self._run([(lambda lo=lo, hi=hi: R.sum_into(out, bufs, lo, hi, threads=1)) for lo, hi in self.chunks])
        self.timings["reduce"] += time.perf_counter() - t0
        return out

    def step(self, plan: UpdatePlan, epoch: int) -> None:
        """Reduce the replicas' gradients chunk by chunk and update the weights (see module doc)."""
        self._sync_state()
        store, opt = self.store, self.trainer.optimizer
        w, g = store.data, store.grad
        bufs = self.grads[:self.active]
        plan.reset()
        opt.begin_step(epoch)
        t0 = time.perf_counter()
        if self.k == 1:
            partial = plan.run(0, w, g, 0, g.shape[0], threads=0)
            for p in range(1, plan.passes):
                plan.finish_pass(p - 1, partial)
                partial = plan.run(p, w, g, 0, g.shape[0], threads=0)
        else:
            def first(lo, hi):
                if len(bufs) > 1:
                    R.sum_into(g, bufs, lo, hi, threads=1)
                return plan.run(0, w, g, lo, hi)

            partials = self._run([(lambda lo=lo, hi=hi: first(lo, hi)) for lo, hi in self.chunks])
            for p in range(1, plan.passes):
                plan.finish_pass(p - 1, math.fsum(partials))
                partials = self._run([(lambda lo=lo, hi=hi, p=p: plan.run(p, w, g, lo, hi))
                                      for lo, hi in self.chunks])
        self.timings["reduce"] += time.perf_counter() - t0

    # -- checkpoint helpers --------------------------------------------------------------------
    def rng_states(self) -> list:
        return [[ctx.rng.bit_generator.state for *_, ctx in exe.plan] for exe in self.executors[1:]]

    def set_rng_states(self, states: list) -> None:
        for exe, st in zip(self.executors[1:], states):
            for (*_, ctx), s in zip(exe.plan, st):
                ctx.rng.bit_generator.state = s


# ---- choosing K ----------------------------------------------------------------------------------

def choose_replicas(trainer: Trainer, batch_size: int, threads: int | None = None) -> int:
    """The replica count `replicas="auto"` uses, a rule drawn from benchmarks/scaling.py.

    One replica already spreads each op over the threads (BLAS GEMMs, batch-chunked
    convolutions, OpenMP kernels), but every op ends in a join, and ops too small to split
    run on one thread; K replicas with one thread each join once per step. Measured on the
    shared 2-core machine (benchmarks/RESULTS.md, "Local replicas"), 2 replicas beat 1
    replica x 2 threads by 2.0-10.6x for the MLP, LeNet-5 and ResNet-20 at every batch of 32
    or more (each join costs most when other processes hold the cores), and LeNet-5 loses
    (0.91x) at batch 8, where per-op overhead dominates. So:

        K = threads   if batch_size >= MIN_SHARE * threads (BN_MIN_SHARE for models with
                      state buffers: batch norm then normalises each share with its own
                      statistics, which needs shares of a useful size)
                      and the replicas' gradient buffers stay under MAX_REPLICA_BYTES;
        K = 1         otherwise.

    The rule depends only on the model, the batch size and the thread count, so a run
    is reproducible. `ZOO_REPLICAS` (an int) overrides it.
    """
    env = os.environ.get("ZOO_REPLICAS", "").strip()
    if env:
        try:
            k = int(env)
        except ValueError:
            raise ValueError(f"ZOO_REPLICAS must be a positive int, got {env!r}") from None
        if k < 1:
            raise ValueError(f"ZOO_REPLICAS must be a positive int, got {env!r}")
        return k
    threads = threads or T.get_num_threads()
    store = trainer.store
    share = BN_MIN_SHARE if store.state.size else MIN_SHARE
    if threads <= 1 or batch_size < share * threads:
        return 1
    if (threads - 1) * store.grad.nbytes > MAX_REPLICA_BYTES:
        return 1
    return threads


#: smallest share per replica worth a replica (samples)
MIN_SHARE = 16
#: the same for models with batch statistics (batch norm)
BN_MIN_SHARE = 32
#: at most this many bytes of extra gradient buffers for the replicas
MAX_REPLICA_BYTES = 1 << 30


# ---- the trainer ---------------------------------------------------------------------------------

class LocalParallelTrainer(Trainer):
    """`Trainer` whose steps run on K local replicas (see the module docstring).

    Args:
        replicas: K, an int >= 1, or "auto" (default): `choose_replicas` picks K per batch
            size from the thread count and the model.
        other arguments: as `Trainer`.

    With K = 1 a step is exactly `Trainer.train_step`. Checkpoints also keep the replicas'
    random generator states.
    """

    def __init__(self, model, loss, optimizer="sgd", *args, replicas: int | str = "auto", **kwargs):
        super().__init__(model, loss, optimizer, *args, **kwargs)
        if replicas != "auto" and (isinstance(replicas, bool) or not isinstance(replicas, (int, np.integer))
                                   or replicas < 1):
            raise ValueError(f"LocalParallelTrainer: replicas must be a positive int or 'auto', got {replicas!r}")
        self.replicas = replicas
        self._group: ReplicaGroup | None = None
        self._plan: UpdatePlan | None = None
        self._k_for: dict[int, int] = {}
        self._lock = threading.Lock()

    def group(self, k: int) -> ReplicaGroup:
        """The replica group of size k (rebuilt when k changes)."""
        if self._group is None or self._group.k != k:
            if self._group is not None:
                self._group.close()
            self._group = ReplicaGroup(self, k)
            self._plan = None
        return self._group

    def replicas_for(self, batch_size: int) -> int:
        """K for a batch of this size: the fixed `replicas`, else the group already built (a
        smaller last batch keeps it), else `choose_replicas`."""
        if self.replicas != "auto":
            return int(self.replicas)
        if self._group is not None:
            return self._group.k
        k = self._k_for.get(batch_size)
        if k is None:
            k = self._k_for[batch_size] = choose_replicas(self, batch_size)
        return k

    def train_step(self, xs, ys, sws) -> tuple[float, list[np.ndarray]]:
        n = xs[0].shape[0] if xs else 0
        k = self.replicas_for(n)
        if k == 1 and self._group is None:
            return super().train_step(xs, ys, sws)
        grp = self.group(k)
        want = any(self.metrics)
        loss, preds = grp.compute(xs, ys, sws, want_preds=want)
        for p, reg in self.regularizers.items():
            if p.trainable:
                loss += reg.penalty(p.value)
        plan = self._plan
        if plan is None or not plan.matches(self):
            plan = self._plan = UpdatePlan(self)
        grp.step(plan, self.state.epoch)
        return loss, (preds if preds is not None else [])

    # checkpoints: the Trainer's file plus the replicas' generator states
    def replica_state(self) -> dict | None:
        """The replicas' random generator states (JSON-able), None with a single replica."""
        if self._group is None or self._group.k == 1:
            return None
        return {"k": self._group.k, "rngs": self._group.rng_states()}

    def set_replica_state(self, extra: dict | None) -> None:
        """Restore `replica_state()`: rebuild the group and give its replicas the saved generators
        and the store's batch statistics."""
        if not extra:
            return
        grp = self.group(int(extra["k"]))
        grp.set_rng_states(extra["rngs"])
        for st in grp.states[1:]:
            st[...] = self.store.state

    def save_checkpoint(self, path: str) -> None:
        super().save_checkpoint(path)
        extra = self.replica_state()
        if extra is not None:
            with zipfile.ZipFile(path, "a") as z:
                z.writestr("replicas.json", json.dumps(extra))

    def load_checkpoint(self, path: str) -> None:
        super().load_checkpoint(path)
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            extra = json.loads(z.read("replicas.json")) if "replicas.json" in names else None
        self.set_replica_state(extra)
