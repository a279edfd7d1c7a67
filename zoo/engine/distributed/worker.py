"""The training loop of one Spark barrier task (one worker of N).

Setup, once per task attempt:
1. unpickle the job (model graph, losses, optimizer, triggers, options) and build a
   `LocalParallelTrainer` over a fresh `ParamStore` laid out like the driver's;
2. convert the task's partition to numpy (training and validation rows);
3. rendezvous: open a listening socket, exchange (host, port) through
   `BarrierTaskContext.allGather` (the only Spark call: ~1 s), connect the ring with the job's
   secret, then exchange the row ids over the ring to learn the global order of the data;
4. resume from the job's latest checkpoint if there is one.

Iteration i of epoch e, with global batch B over T training rows: the batch is the slots
[bB, (b+1)B) of the permutation `default_rng([seed, e]).permutation(T)` of the global order;
each worker computes the gradient of the rows it holds (weighted by its share of the batch,
so uneven shares are exact), then a ring reduce-scatter, the update of its own chunk
(regularizers, clipping with a global norm from a tiny all-reduce, optimizer step), and a
ring all-gather of the weights. Losses, batch-norm statistics (weighted by the shares) and
norms travel in one small all-reduce per iteration. The result is independent of the
number of workers up to float rounding.

Rank 0 returns per-iteration loss and timings, epoch logs and the final checkpoint blob
(weights, optimizer state, iteration, generator states) as rows.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import socket
import tempfile
import time
import zipfile

import numpy as np

from zoo.engine import threads as T
from zoo.engine.distributed.affinity import allowed_cpus, machine_id, pin_local_workers
from zoo.engine.distributed.checkpoint import CheckpointStore
from zoo.engine.distributed.comm import Ring, listen
from zoo.engine.distributed.data import assemble
from zoo.engine.kernels import comm as KC
from zoo.engine.parallel import LocalParallelTrainer, UpdatePlan, chunk_bounds
from zoo.engine.params import ParamStore

__all__ = ["OUTPUT_SCHEMA", "rank_seed", "run_task"]

#: the schema of the rows the tasks return (Spark DDL)
OUTPUT_SCHEMA = "rank int, kind string, step long, value double, text string, data binary"
_BLOB_PART = 64 << 20


def rank_seed(seed: int, rank: int) -> int:
    """The random-op seed of worker `rank` (rank 0 keeps `seed`)."""
    if rank == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), 7919, int(rank)]).generate_state(1)[0])


# ---- trainer on the worker ---------------------------------------------------------------------

def build_trainer(spec: dict, rank: int, replicas) -> LocalParallelTrainer:
    """A LocalParallelTrainer from the shipped spec, over a store laid out like the driver's."""
    store = ParamStore(spec["store_order"])
    tr = LocalParallelTrainer(spec["model"], spec["losses"], spec["optimizer"], loss_weights=spec["loss_weights"],
                              metrics=spec["metrics"], seed=rank_seed(spec["seed"], rank),
                              clip_value=spec["clip_value"], clip_norm=spec["clip_norm"],
                              regularizers=spec["regularizers"], replicas=replicas)
    if tr.store is not store:
        raise RuntimeError("distributed training: the model's parameters do not match the driver's parameter "
                           "store; rebuild the trainer")
    st = spec["state"]
    tr.state.epoch, tr.state.iteration, tr.state.loss, tr.state.score = st
    return tr


def _blob(tr: LocalParallelTrainer, extra: dict) -> bytes:
    """The trainer's checkpoint zip (Trainer format) plus distributed.json, as bytes."""
    fd, path = tempfile.mkstemp(suffix=".zip", prefix="zoo-ckpt-")
    os.close(fd)
    try:
        tr.save_checkpoint(path)
        with zipfile.ZipFile(path, "a") as z:
            z.writestr("distributed.json", json.dumps(extra, default=float))
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)


def load_blob(tr, blob: bytes) -> dict:
    """Load a checkpoint blob into trainer `tr`; returns its distributed.json (or {})."""
    fd, path = tempfile.mkstemp(suffix=".zip", prefix="zoo-ckpt-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        tr.load_checkpoint(path)
        with zipfile.ZipFile(path) as z:
            return json.loads(z.read("distributed.json")) if "distributed.json" in z.namelist() else {}
    finally:
        os.unlink(path)


def blob_job_id(blob: bytes) -> str | None:
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        if "distributed.json" not in z.namelist():
            return None
        return json.loads(z.read("distributed.json")).get("job_id")


# ---- the task -----------------------------------------------------------------------------------

class _Worker:
    def __init__(self, job: dict, spec: dict, data: dict, rank: int, size: int, ring: Ring):
        self.job, self.spec, self.rank, self.size, self.ring = job, spec, rank, size, ring
        T.set_num_threads(job["threads"])
        self.tr = tr = build_trainer(spec, rank, job["replicas"])
        self.store = tr.store
        self.batch = job["batch_size"]
        self.bounds = chunk_bounds(self.store.grad.shape[0], size)
        self.lo, self.hi = self.bounds[rank]
        self.compress = bool(job["compress"])
        self.master = self.store.data.copy() if self.compress else self.store.data
        self.rows: list[tuple] = []
        self.timings = {"data": 0.0, "compute": 0.0, "comm": 0.0, "update": 0.0}
        self._bufs: dict = {}
        # training rows
        ids, feats, labels = data["train"]
        self.n_local = len(ids)
        if self.n_local:
            xs = assemble(feats, [t.shape for t in tr.model.inputs], "features")
            ys = assemble(labels, [lf.target_shape(o.shape) for lf, o in zip(tr.losses, tr.model.outputs)],
                          "labels")
            self.xs, self.ys, self.sws, _ = tr._prepare(xs, ys)
        else:
            self.xs = self.ys = self.sws = None
        vids, vfeats, vlabels = data["val"]
        self.val = None
        if len(vids):
            vx = assemble(vfeats, [t.shape for t in tr.model.inputs], "validation features")
            vy = assemble(vlabels, [lf.target_shape(o.shape) for lf, o in zip(tr.losses, tr.model.outputs)],
                          "validation labels")
            self.val = tr._prepare(vx, vy, what="validation x")
        self.has_val = bool(ring.allreduce_small([0.0 if self.val is None else 1.0])[0]) if job["validate"] else False
        # global order of the rows: every worker learns every id once
        all_ids = [np.frombuffer(b, np.int64) for b in ring.allgather_bytes(np.asarray(ids, np.int64).tobytes())]
        cat = np.concatenate(all_ids) if all_ids else np.zeros(0, np.int64)
        self.total = int(cat.shape[0])
        if self.total == 0:
            raise ValueError("distributed fit: the training data is empty")
        order = np.argsort(cat, kind="stable")
        pos = np.empty(self.total, np.int64)
        pos[order] = np.arange(self.total)
        start = sum(len(a) for a in all_ids[:rank])
        self.local_pos = pos[start:start + self.n_local]  # global position of each local row
        self.ipe = -(-self.total // self.batch)  # iterations per epoch
        self.plan = UpdatePlan(tr)
        # replicas per worker: decided once from the nominal share of the batch
        self.k = tr.replicas_for(max(1, self.batch // size))
        self.batch_in_epoch = 0
        self.epoch_loss, self.epoch_seen = 0.0, 0
        self._epoch_for = -1

    # -- data -------------------------------------------------------------------------------------
    def _epoch_order(self, epoch: int) -> None:
        """Local rows sorted by their slot in this epoch's global permutation."""
        perm = np.random.default_rng([int(self.spec["seed"]), int(epoch)]).permutation(self.total)
        slot = np.empty(self.total, np.int64)
        slot[perm] = np.arange(self.total)
        s = slot[self.local_pos]
        order = np.argsort(s, kind="stable")
        self.sorted_rows, self.sorted_slots = order, s[order]
        self._epoch_for = epoch

    def _local_batch(self, b: int) -> np.ndarray:
        lo = np.searchsorted(self.sorted_slots, b * self.batch, "left")
        hi = np.searchsorted(self.sorted_slots, (b + 1) * self.batch, "left")
        return self.sorted_rows[lo:hi]

    # -- one iteration -------------------------------------------------------------------------
    def step(self) -> float:
        tr, store, ring = self.tr, self.store, self.ring
        st = tr.state
        if self._epoch_for != st.epoch:
            self._epoch_order(st.epoch)
        b = self.batch_in_epoch
        m = min(self.batch, self.total - b * self.batch)
        t0 = time.perf_counter()
        rows = self._local_batch(b)
        ml = len(rows)
        want = any(tr.metrics)
        if ml:
            xb = tr._take(self.xs, rows, self._bufs, "x")
            yb = tr._take(self.ys, rows, self._bufs, "y")
            wb = tr._take(self.sws, rows, self._bufs, "w")
        t1 = time.perf_counter()
        if ml:
            grp = tr.group(self.k)
            loss_part, preds = grp.compute(xb, yb, wb, total=m, want_preds=want)
            grp.reduce()
            if want:
                for ms, p, t, w in zip(tr.metrics, preds, yb, wb):
                    for metric in ms:
                        metric.update(p, t, w)
        else:
            store.grad.fill(0)
            loss_part = 0.0
        t2 = time.perf_counter()
        g, w = store.grad, self.master
        ring.reduce_scatter(g, self.bounds, self.compress)
        t3 = time.perf_counter()
        plan = self.plan
        if not plan.matches(tr):
            plan = self.plan = UpdatePlan(tr)
        plan.reset()
        tr.optimizer.begin_step(st.epoch)
        f = ml / m
        small = [loss_part]
        if store.state.size:
            small.extend((store.state.astype(np.float64) * f).tolist())
        t_comm = 0.0
        if plan.passes == 1:
            plan.run(0, w, g, self.lo, self.hi, threads=0)
            tc = time.perf_counter()
            tot = ring.allreduce_small(small)
            t_comm += time.perf_counter() - tc
        else:
            partial = plan.run(0, w, g, self.lo, self.hi, threads=0)
            tc = time.perf_counter()
            tot = ring.allreduce_small([partial] + small)
            t_comm += time.perf_counter() - tc
            sumsq, tot = tot[0], tot[1:]
            for p in range(1, plan.passes):
                plan.finish_pass(p - 1, sumsq)
                partial = plan.run(p, w, g, self.lo, self.hi, threads=0)
                if p < plan.passes - 1:
                    tc = time.perf_counter()
                    sumsq = ring.allreduce_small([partial])[0]
                    t_comm += time.perf_counter() - tc
        if store.state.size:
            store.state[...] = tot[1:].astype(np.float32)
            grp = tr._group
            if grp is not None:
                for s in grp.states[1:]:
                    s[...] = store.state
        if self.compress:  # the all-gather sends (and keeps) the bfloat16 rounding of the master chunk
            store.data[self.lo:self.hi] = self.master[self.lo:self.hi]
        t4 = time.perf_counter()
        ring.all_gather(store.data, self.bounds, self.compress)
        t5 = time.perf_counter()
        loss = float(tot[0])
        for p, reg in tr.regularizers.items():
            if p.trainable:
                loss += reg.penalty(self.master[p.offset:p.offset + p.size].reshape(p.shape))
        tm = self.timings
        tm["data"] += t1 - t0
        tm["compute"] += t2 - t1
        tm["comm"] += (t3 - t2) + (t5 - t4) + t_comm
        tm["update"] += (t4 - t3) - t_comm
        st.iteration += 1
        st.loss = loss
        self.epoch_loss += loss * m
        self.epoch_seen += m
        if self.rank == 0:
            dt = t5 - t0
            self.rows.append((0, "iter", st.iteration, loss, json.dumps(
                {"epoch": st.epoch, "size": m, "lr": tr.optimizer.lr, "seconds": dt,
                 "throughput": m / max(dt, 1e-9), "compute": t2 - t1, "data": t1 - t0,
                 "comm": (t3 - t2) + (t5 - t4) + t_comm, "update": (t4 - t3) - t_comm}), None))
        self.batch_in_epoch += 1
        return loss

    # -- gathering sharded state -------------------------------------------------------------
    def gather_for_checkpoint(self) -> None:
        """Give every rank the full optimizer state (and float32 masters) for a checkpoint."""
        for slot in self.tr.optimizer.slots.values():
            self.ring.all_gather(slot, self.bounds)
        if self.compress:
            self.ring.all_gather(self.master, self.bounds)

    def blob(self) -> bytes:
        """The checkpoint of this moment (call gather_for_checkpoint on every rank first)."""
        tr = self.tr
        rngs = [json.loads(b) for b in self.ring.allgather_bytes(json.dumps(
            [[ctx.rng.bit_generator.state for *_, ctx in tr.executor.plan],
             tr._group.rng_states() if tr._group is not None else []]).encode())]
        extra = {"job_id": self.job["job_id"], "log": self.rows, "batch_in_epoch": self.batch_in_epoch,
                 "epoch_loss": self.epoch_loss,
                 "epoch_seen": self.epoch_seen, "workers": self.size, "rngs": rngs,
                 "metrics": [[[m.total, m.count] for m in ms] for ms in tr.metrics]}
        if not self.compress:
            return _blob(tr, extra)
        rounded = self.store.data.copy()
        self.store.data[...] = self.master
        try:
            return _blob(tr, extra)
        finally:
            self.store.data[...] = rounded

    def restore(self, blob: bytes) -> None:
        extra = load_blob(self.tr, blob)
        tr = self.tr
        self.batch_in_epoch = int(extra.get("batch_in_epoch", 0))
        if self.rank == 0:  # the rows of the iterations before the checkpoint (sent once, at the end)
            self.rows = [tuple(r) for r in extra.get("log", [])]
        self.epoch_loss, self.epoch_seen = float(extra.get("epoch_loss", 0.0)), int(extra.get("epoch_seen", 0))
        for ms, saved in zip(tr.metrics, extra.get("metrics", [])):
            for m, (tot, cnt) in zip(ms, saved):
                m.total, m.count = tot, cnt
        rngs = extra.get("rngs")
        if rngs and int(extra.get("workers", -1)) == self.size:
            own, reps = rngs[self.rank]
            for (*_, ctx), s in zip(tr.executor.plan, own):
                ctx.rng.bit_generator.state = s
            if reps and tr._group is not None:
                tr._group.set_rng_states(reps)
        if self.compress:
            self.master = self.store.data.copy()
            KC.bf16_unpack(KC.bf16_pack(self.master), self.store.data)

    # -- epoch end -------------------------------------------------------------------------------
    def evaluate(self) -> dict:
        """Validation loss and metrics over every worker's validation rows."""
        tr = self.tr
        k = len(tr.losses)
        fresh = [[type(m).__new__(type(m)) for m in ms] for ms in tr.metrics]
        for ms_new, ms in zip(fresh, tr.metrics):
            for new, old in zip(ms_new, ms):
                new.__dict__.update(old.__dict__)
                new.reset()
        totals = np.zeros(k)
        n = 0
        if self.val is not None:
            xs, ys, sws, n = self.val
            bs = self.job["val_batch_size"]
            for start in range(0, n, bs):
                sl = slice(start, min(start + bs, n))
                outs = tr.executor.forward([a[sl] for a in xs + ys + sws], training=False, check=False)
                mm = sl.stop - sl.start
                totals += np.array([float(v) for v in outs[:k]]) * mm
                for ms, p, t, w in zip(fresh, outs[k:], ys, sws):
                    for metric in ms:
                        metric.update(p, t[sl], w[sl])
        vec = [float(n)] + totals.tolist() + [v for ms in fresh for m in ms for v in (m.total, m.count)]
        tot = self.ring.allreduce_small(vec)
        n_all = max(tot[0], 1.0)
        res = {"loss": float(np.dot(tot[1:1 + k] / n_all, tr.loss_weights))}
        if k > 1:
            for i in range(k):
                res[f"output_{i}_loss"] = float(tot[1 + i] / n_all)
        j = 1 + k
        for i, ms in enumerate(fresh):
            for metric in ms:
                metric.total, metric.count = tot[j], tot[j + 1]
                j += 2
                res[tr._metric_key(metric, i)] = metric.result()
        return res

    def epoch_logs(self) -> dict:
        tr = self.tr
        logs = {"loss": self.epoch_loss / max(self.epoch_seen, 1)}
        vec = [v for ms in tr.metrics for m in ms for v in (m.total, m.count)]
        if vec:
            tot = self.ring.allreduce_small(vec)
            j = 0
            for i, ms in enumerate(tr.metrics):
                for metric in ms:
                    metric.total, metric.count = tot[j], tot[j + 1]
                    j += 2
                    logs[tr._metric_key(metric, i)] = metric.result()
        return logs

    # -- the loop ---------------------------------------------------------------------------------
    def train(self) -> None:
        job, tr = self.job, self.tr
        st = tr.state
        end, vtrig, ctrig = job["end_trigger"], job["validation_trigger"], job["checkpoint_trigger"]
        store = CheckpointStore(job["checkpoint_path"], job["keep_all"]) if job["checkpoint_path"] else None
        fault = job.get("fault")
        t_loop = time.perf_counter()
        done = False
        while not done:
            if self.batch_in_epoch == 0:
                for ms in tr.metrics:
                    for m in ms:
                        m.reset()
                self.epoch_loss, self.epoch_seen = 0.0, 0
            if fault and fault["rank"] == self.rank and st.iteration == fault["iteration"] \
                    and not os.path.exists(fault["marker"]):
                with open(fault["marker"], "w") as f:
                    f.write(str(os.getpid()))
                os.kill(os.getpid(), signal.SIGKILL)
            self.step()
            st.epoch_end = False
            if self.batch_in_epoch == self.ipe:
                self.batch_in_epoch = 0
                epoch = st.epoch
                st.epoch += 1
                st.epoch_end = True
                logs = self.epoch_logs()
                if self.has_val and vtrig(st):
                    val = self.evaluate()
                    logs.update({"val_" + k: v for k, v in val.items()})
                    first = next((k for k in val if k != "loss"), "loss")
                    st.score = val[first] if first != "loss" else -val["loss"]
                tr.optimizer.on_epoch_end(epoch, logs)
                if self.rank == 0:
                    self.rows.append((0, "epoch", epoch, logs["loss"], json.dumps(logs, default=float), None))
            if store is not None and ctrig(st):
                self.gather_for_checkpoint()
                blob = self.blob()
                if self.rank == 0:
                    store.write(blob, st.iteration)
            if end(st):
                done = True
        self.loop_seconds = time.perf_counter() - t_loop


def _rendezvous(job: dict, ctx):
    """Listen, exchange addresses with allGather, pin host-local workers to their cores, connect
    the ring; returns (ring, rank, size, info, unpin or None)."""
    rank = ctx.partitionId()
    infos = ctx.getTaskInfos()
    size = len(infos)
    host = job.get("host") or infos[rank].address.rsplit(":", 1)[0] or "127.0.0.1"
    try:
        bind = socket.gethostbyname(host)
    except OSError:
        bind = "127.0.0.1"
    listener = listen(bind)
    port = listener.getsockname()[1]
    t0 = time.perf_counter()
    msgs = ctx.allGather(json.dumps({"rank": rank, "host": bind, "port": port, "nonce": os.urandom(16).hex(),
                                     "machine": machine_id(), "cpus": allowed_cpus()}))
    t_ag = time.perf_counter() - t0
    peers = sorted((json.loads(m) for m in msgs), key=lambda d: d["rank"])
    if [p["rank"] for p in peers] != list(range(size)):
        raise RuntimeError(f"distributed fit: rendezvous got ranks {[p['rank'] for p in peers]}, expected 0..{size - 1}")
    context = hashlib.sha256((job["job_id"] + "|" + "|".join(sorted(msgs))).encode()).digest()
    restore = pin_local_workers(rank, peers, job["threads"]) if job.get("pin_cores", True) else None
    try:
        ring = Ring(rank, size, listener, [(p["host"], p["port"]) for p in peers], job["secret"], context,
                    timeout=job["comm_timeout"])
        ring.connect()
    except BaseException:
        if restore is not None:
            restore()
        raise
    if job.get("address_file"):
        with open(f"{job['address_file']}.{rank}.tmp", "w") as f:
            json.dump({"host": bind, "port": port}, f)
        os.replace(f"{job['address_file']}.{rank}.tmp", f"{job['address_file']}.{rank}")
    return ring, rank, size, {"allgather_seconds": t_ag, "pinned": restore is not None}, restore


def run_task(job: dict, data_fn, ctx) -> list[tuple]:
    """Train as one worker; returns the output rows (rank 0 only: others return [])."""
    import pickle

    t_start = time.perf_counter()
    spec = pickle.loads(job["spec"])
    data = data_fn()
    t_data = time.perf_counter() - t_start
    ring, rank, size, info, unpin = _rendezvous(job, ctx)
    try:
        t0 = time.perf_counter()
        w = _Worker(job, spec, data, rank, size, ring)
        info["setup_seconds"] = time.perf_counter() - t0
        info["data_seconds"] = t_data
        resumed = None
        if job["checkpoint_path"]:
            found = CheckpointStore(job["checkpoint_path"], job["keep_all"]).latest()
            if found is not None and blob_job_id(found[0]) == job["job_id"]:
                w.restore(found[0])
                resumed = {"iteration": w.tr.state.iteration, "file": found[1]}
        w.train()
        w.gather_for_checkpoint()
        blob = w.blob()
        rejected = int(ring.allreduce_small([ring.rejected])[0])
        info.update({"loop_seconds": w.loop_seconds, "timings": w.timings, "resumed": resumed,
                     "rejected": rejected, "bytes_sent": ring.bytes_sent, "workers": size,
                     "rows": w.total, "ring_seconds": ring.seconds,
                     "replicas": w.tr._group.k if w.tr._group is not None else 1})
        if rank != 0:
            return []
        rows = list(w.rows)
        rows.append((0, "info", 0, 0.0, json.dumps(info, default=float), None))
        for i in range(0, max(len(blob), 1), _BLOB_PART):
            rows.append((0, "blob", i // _BLOB_PART, float(len(blob)), None, blob[i:i + _BLOB_PART]))
        return rows
    finally:
        ring.close()
        if unpin is not None:
            unpin()


def rows_to_arrow(rows: list[tuple]):
    """Output rows as Arrow record batches of OUTPUT_SCHEMA (one batch per blob part)."""
    import pyarrow as pa

    schema = pa.schema([("rank", pa.int32()), ("kind", pa.string()), ("step", pa.int64()), ("value", pa.float64()),
                        ("text", pa.string()), ("data", pa.binary())])
    small = [r for r in rows if r[1] != "blob"]
    blobs = [r for r in rows if r[1] == "blob"]
    out = []
    for group in ([small] if small else []) + [[b] for b in blobs]:
        cols = list(zip(*group))
        out.append(pa.RecordBatch.from_arrays([pa.array(list(c), type=f.type) for c, f in zip(cols, schema)],
                                              schema=schema))
    return out
