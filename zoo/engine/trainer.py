"""The training loop: batches -> forward -> loss -> backward -> clip -> optimizer step.

`Trainer` compiles a model graph plus its losses into one training executor over the
model's flat parameter buffers, then runs seeded epochs of mini-batches. Validation,
checkpoints, schedules, triggers and callbacks hook into the loop. The Keras API, the
nnframes estimators and the distributed trainer all drive this class.

Same seed, same data and same thread count give the same weights, bit for bit.
"""

from __future__ import annotations

import copy
import io
import json
import os
import time
import zipfile

import numpy as np

from zoo.engine import graph as G
from zoo.engine import losses as L
from zoo.engine import metrics as M
from zoo.engine import optim as O
from zoo.engine.graph import Executor, Graph
from zoo.engine.triggers import EveryEpoch, MaxEpoch, TrainState, Trigger

__all__ = ["Callback", "Trainer"]


class Callback:
    """Hooks into `Trainer.fit`. `self.trainer` is set before `on_train_begin`.

    Setting `trainer.stop_training = True` ends training after the current batch.
    """

    trainer: Trainer

    def on_train_begin(self, logs: dict) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict) -> None: ...
    def on_batch_begin(self, batch: int, logs: dict) -> None: ...
    def on_batch_end(self, batch: int, logs: dict) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict) -> None: ...
    def on_train_end(self, logs: dict) -> None: ...


def _as_list(v) -> list:
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


class Trainer:
    """Trains `model` (a Graph from inputs to outputs) with one loss per output.

    Args:
        model: the network, a `Graph`.
        loss: a loss (name or `losses.Loss`) or a list with one per model output.
        optimizer: a name or `optim.Optimizer`.
        loss_weights: one float per output (default 1 each); the loss trained is their weighted sum.
        metrics: metric names/objects computed on the first output (or lists per output).
        seed: seeds shuffling and every random op (dropout).
        clip_value: (min, max) to clip each gradient element, or None.
        clip_norm: maximum global L2 norm of the gradient, or None.
        regularizers: {Parameter: Regularizer} penalties added to the loss and its gradient.
        output_names: names of the outputs for log keys of a multi-output model
            (`<name>_loss`, `<name>_<metric>`); default `output_<i>`.
    """

    def __init__(self, model: Graph, loss, optimizer="sgd", loss_weights=None, metrics=None, seed: int = 0,
                 clip_value=None, clip_norm: float | None = None, regularizers: dict | None = None,
                 output_names: list[str] | None = None):
        self.model = model
        outputs = model.outputs
        self.output_names = (list(output_names) if output_names is not None
                             else [f"output_{i}" for i in range(len(outputs))])
        if len(self.output_names) != len(outputs):
            raise ValueError(f"Trainer: expected {len(outputs)} output_names, got {len(self.output_names)}")
        losses = _as_list(loss)
        if len(losses) == 1 and len(outputs) > 1:
            losses = losses * len(outputs)
        if len(losses) != len(outputs):
            raise ValueError(f"Trainer: expected one loss per model output ({len(outputs)}), got {len(losses)}")
        self.losses = [L.get(v) for v in losses]
        weights = [1.0] * len(outputs) if loss_weights is None else [float(w) for w in _as_list(loss_weights)]
        if len(weights) != len(outputs):
            raise ValueError(f"Trainer: expected {len(outputs)} loss_weights, got {len(weights)}")
        self.loss_weights = weights
        self.optimizer = O.get(optimizer)
        self.seed = int(seed)
        self.clip_value = None if clip_value is None else (float(clip_value[0]), float(clip_value[1]))
        if clip_norm is not None and not clip_norm > 0:
            raise ValueError(f"Trainer: clip_norm must be positive, got {clip_norm!r}")
        self.clip_norm = clip_norm
        self.regularizers = dict(regularizers or {})
        metric_lists = metrics if metrics and isinstance(metrics[0], (list, tuple)) else [metrics or []]
        self.metrics = [[M.get(m) for m in ms] for ms in metric_lists] + [[] for _ in outputs[len(metric_lists):]]

        targets, weights_in, loss_ts = [], [], []
        for out, lf in zip(outputs, self.losses):
            t = G.input(lf.target_shape(out.shape), name=G.unique_name("target"), dtype=lf.target_dtype)
            w = G.input((None,), name=G.unique_name("sample_weight"))
            targets.append(t)
            weights_in.append(w)
            loss_ts.append(lf.build(out, t, w))
        self.train_graph = Graph(list(model.inputs) + targets + weights_in, loss_ts + list(outputs))
        self.executor = Executor(self.train_graph, seed=self.seed)
        self.store = self.executor.store
        self._predictor: Executor | None = None
        self._loss_grads = [np.array(w, dtype=np.float32) for w in weights] + [None] * len(outputs)
        self.state = TrainState()
        self.shuffle_rng = np.random.default_rng(self.seed)
        self.stop_training = False
        self.checkpoint_path: str | None = None
        self.checkpoint_trigger: Trigger | None = None

    # ---- data ---------------------------------------------------------------------------

    def _prepare(self, x, y=None, sample_weight=None, what: str = "x"):
        xs = [np.asarray(v) for v in _as_list(x)]
        ins = self.model.inputs
        if len(xs) != len(ins):
            raise ValueError(f"Trainer: model has {len(ins)} inputs {[t.name for t in ins]}, got {len(xs)} arrays")
        out = []
        for t, v in zip(ins, xs):
            if t.dtype.kind == "f":
                if v.dtype.kind not in "fiub":
                    raise TypeError(f"input '{t.name}': expected numeric data, got dtype {v.dtype}")
                v = np.ascontiguousarray(v, dtype=t.dtype)
                if not np.isfinite(v).all():
                    raise ValueError(f"input '{t.name}': {what} holds NaN or infinite values")
            out.append(v)
        n = out[0].shape[0] if out and out[0].ndim else 0
        for t, v in zip(ins, out):
            if v.ndim != len(t.shape) or any(s is not None and s != d for s, d in zip(t.shape, v.shape)):
                raise ValueError(f"input '{t.name}': expected shape {tuple(t.shape)} (None = any), got {v.shape}")
            if v.shape[0] != n:
                raise ValueError(f"Trainer: all inputs need the same number of samples, got {n} and {v.shape[0]}")
        if y is None:
            return out, None, None, n
        ys = [np.asarray(v) for v in _as_list(y)]
        if len(ys) != len(self.losses):
            raise ValueError(f"Trainer: model has {len(self.losses)} outputs, got {len(ys)} target arrays")
        targets = []
        for lf, pred_t, v in zip(self.losses, self.model.outputs, ys):
            if v.shape[:1] != (n,):
                raise ValueError(f"target for output '{pred_t.name}': expected {n} samples, got shape {v.shape}")
            shape = lf.target_shape(pred_t.shape)
            if v.ndim == len(shape) + 1 and v.shape[-1] == 1:
                v = v.reshape(v.shape[:-1])
            if np.dtype(lf.target_dtype).kind == "f":
                if v.dtype.kind not in "fiub":
                    raise TypeError(f"target for output '{pred_t.name}': expected numbers, got dtype {v.dtype}")
                v = np.ascontiguousarray(v, dtype=np.float32)
                if not np.isfinite(v).all():
                    raise ValueError(f"target for output '{pred_t.name}': holds NaN or infinite values")
            else:
                if v.dtype.kind == "f":
                    if not np.isfinite(v).all() or not np.array_equal(v, np.round(v)):
                        raise ValueError(f"target for output '{pred_t.name}': {lf.name} expects integer class "
                                         f"labels (0-based), got non-integral values")
                elif v.dtype.kind not in "iub":
                    raise TypeError(f"target for output '{pred_t.name}': expected integer labels, got {v.dtype}")
                v = np.ascontiguousarray(v, dtype=np.int64)
            if v.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, v.shape)):
                raise ValueError(f"target for output '{pred_t.name}': expected shape {shape} (None = any) "
                                 f"for loss {lf.name}, got {v.shape}")
            targets.append(v)
        sws = []
        for i, sw in enumerate(_as_list(sample_weight) if sample_weight is not None else [None] * len(ys)):
            if sw is None:
                sws.append(np.ones(n, dtype=np.float32))
            else:
                sw = np.ascontiguousarray(sw, dtype=np.float32).reshape(-1)
                if sw.shape != (n,):
                    raise ValueError(f"sample_weight {i}: expected {n} weights, got shape {sw.shape}")
                sws.append(sw)
        if len(sws) != len(ys):
            raise ValueError(f"Trainer: expected {len(ys)} sample_weight arrays, got {len(sws)}")
        return out, targets, sws, n

    @staticmethod
    def _take(arrays, idx, bufs: dict, key):
        if isinstance(idx, slice):
            return [a[idx] for a in arrays]
        res = []
        for i, a in enumerate(arrays):
            shape = (len(idx),) + a.shape[1:]
            b = bufs.get((key, i))
            if b is None or b.shape != shape or b.dtype != a.dtype:
                b = bufs[(key, i)] = np.empty(shape, a.dtype)
            np.take(a, idx, axis=0, out=b)
            res.append(b)
        return res

    # ---- one step -------------------------------------------------------------------------

    def train_step(self, xs, ys, sws) -> tuple[float, list[np.ndarray]]:
        """One optimizer step on one batch; returns (total loss, predictions)."""
        store = self.store
        outs = self.executor.forward(xs + ys + sws, training=True, check=False)
        k = len(self.losses)
        self._step_outs = outs  # per-output losses of this step (outs[:k]), read by fit for several outputs
        loss = sum(w * float(v) for w, v in zip(self.loss_weights, outs[:k]))
        self.executor.backward(self._loss_grads)
        for p, reg in self.regularizers.items():
            if p.trainable:
                loss += reg.penalty(p.value)
                reg.add_grad(p.value, p.grad)
        mask = store.trainable_mask()
        if self.clip_value is not None:
            O.clip_by_value(store.grad, *self.clip_value)
        if self.clip_norm is not None:
            O.clip_by_global_norm(store.grad, self.clip_norm, mask)
        self.optimizer.clip_gradients(store.grad, mask)
        self.optimizer.begin_step(self.state.epoch)
        self.optimizer.apply(store.data, store.grad, mask)
        return loss, outs[k:]

    # ---- loops ----------------------------------------------------------------------------

    def fit(self, x, y, batch_size: int = 32, end_trigger: Trigger | None = None, epochs: int | None = None,
            shuffle: bool = True, sample_weight=None, validation_data=None, validation_trigger: Trigger | None = None,
            callbacks=None) -> dict:
        """Train until `end_trigger` (default MaxEpoch(epochs or 1)); returns the history dict."""
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"Trainer.fit: batch_size must be a positive int, got {batch_size!r}")
        xs, ys, sws, n = self._prepare(x, y, sample_weight)
        if n == 0:
            raise ValueError("Trainer.fit: no training samples")
        if end_trigger is None:
            end_trigger = MaxEpoch(self.state.epoch + (epochs or 1))
        if validation_data is not None:
            vx, vy = validation_data[0], validation_data[1]
            vsw = validation_data[2] if len(validation_data) > 2 else None
            validation = self._prepare(vx, vy, vsw, "validation x")
        else:
            validation = None
        validation_trigger = validation_trigger or EveryEpoch()
        callbacks = list(callbacks or [])
        for cb in callbacks:
            cb.trainer = self
        history: dict[str, list] = {}
        self.stop_training = False
        bufs: dict = {}
        state = self.state
        for cb in callbacks:
            cb.on_train_begin({})
        done = False
        while not done:
            epoch = state.epoch
            for cb in callbacks:
                cb.on_epoch_begin(epoch, {})
            for ms in self.metrics:
                for m in ms:
                    m.reset()
            order = self.shuffle_rng.permutation(n) if shuffle else None
            loss_sum, seen, t0 = 0.0, 0, time.perf_counter()
            k_out = len(self.losses)
            out_sums = [0.0] * k_out
            state.epoch_end = False
            for b, start in enumerate(range(0, n, batch_size)):
                stop = min(start + batch_size, n)
                idx = order[start:stop] if shuffle else slice(start, stop)
                xb = self._take(xs, idx, bufs, "x")
                yb = self._take(ys, idx, bufs, "y")
                wb = self._take(sws, idx, bufs, "w")
                for cb in callbacks:
                    cb.on_batch_begin(b, {})
                loss, preds = self.train_step(xb, yb, wb)
                m = stop - start
                loss_sum += loss * m
                if k_out > 1:
                    for i in range(k_out):
                        out_sums[i] += float(self._step_outs[i]) * m
                seen += m
                for ms, p, t, w in zip(self.metrics, preds, yb, wb):
                    for metric in ms:
                        metric.update(p, t, w)
                state.iteration += 1
                state.loss = loss
                logs = {"loss": loss, "size": m, "lr": self.optimizer.lr,
                        "throughput": seen / max(time.perf_counter() - t0, 1e-9)}
                for cb in callbacks:
                    cb.on_batch_end(b, logs)
                if stop >= n:
                    state.epoch += 1
                    state.epoch_end = True
                if self.checkpoint_trigger is not None and self.checkpoint_trigger(state):
                    self.save_checkpoint(self.checkpoint_path)
                if self.stop_training or (not state.epoch_end and end_trigger(state)):
                    done = True
                    break
            if not state.epoch_end:
                break
            logs = {"loss": loss_sum / max(seen, 1)}
            if k_out > 1:
                for i in range(k_out):
                    logs[f"{self.output_names[i]}_loss"] = out_sums[i] / max(seen, 1)
            for i, ms in enumerate(self.metrics):
                for metric in ms:
                    logs[self._metric_key(metric, i)] = metric.result()
            if validation is not None and validation_trigger(state):
                val = self._evaluate_prepared(*validation, batch_size=batch_size)
                logs.update({"val_" + k: v for k, v in val.items()})
                first = next((k for k in val if k != "loss"), "loss")
                state.score = val[first] if first != "loss" else -val["loss"]
            self.optimizer.on_epoch_end(epoch, logs)
            for k, v in logs.items():
                history.setdefault(k, []).append(v)
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            state.epoch_end = True
            if self.stop_training or end_trigger(state):
                done = True
            state.epoch_end = False
        for cb in callbacks:
            cb.on_train_end({})
        return history

    def _metric_key(self, metric: M.Metric, output: int) -> str:
        return metric.name if len(self.model.outputs) == 1 else f"{self.output_names[output]}_{metric.name}"

    def _evaluate_prepared(self, xs, ys, sws, n, batch_size: int) -> dict:
        k = len(self.losses)
        totals = np.zeros(k)
        metrics = [[copy.copy(m) for m in ms] for ms in self.metrics]  # fresh accumulators, same settings
        for ms in metrics:
            for metric in ms:
                metric.reset()
        for start in range(0, n, batch_size):
            sl = slice(start, min(start + batch_size, n))
            outs = self.executor.forward([a[sl] for a in xs + ys + sws], training=False, check=False)
            m = sl.stop - sl.start
            totals += np.array([float(v) for v in outs[:k]]) * m
            for ms, p, t, w in zip(metrics, outs[k:], ys, sws):
                for metric in ms:
                    metric.update(p, t[sl], w[sl])
        result = {"loss": float(np.dot(totals / max(n, 1), self.loss_weights))}
        if k > 1:
            for i in range(k):
                result[f"{self.output_names[i]}_loss"] = float(totals[i] / max(n, 1))
        for i, ms in enumerate(metrics):
            for metric in ms:
                result[self._metric_key(metric, i)] = metric.result()
        return result

    def evaluate(self, x, y, batch_size: int = 32, sample_weight=None) -> dict:
        """Loss and metrics over (x, y) in inference mode."""
        return self._evaluate_prepared(*self._prepare(x, y, sample_weight), batch_size=batch_size)

    def predict(self, x, batch_size: int = 32) -> list[np.ndarray]:
        """Model outputs for x in inference mode, one array per output."""
        if self._predictor is None:
            self._predictor = Executor(self.model, store=self.store, seed=self.seed)
        xs, _, _, _ = self._prepare(x, what="x")
        return self._predictor.predict(xs, batch_size, check=False)

    # ---- checkpoints ----------------------------------------------------------------------

    def set_checkpoint(self, path: str, trigger: Trigger | None = None) -> None:
        """Save a checkpoint to `path` whenever `trigger` fires (default: every epoch)."""
        self.checkpoint_path = path
        self.checkpoint_trigger = trigger or EveryEpoch()

    def save_checkpoint(self, path: str) -> None:
        """Weights, state tensors, optimizer state, iteration/epoch and RNG state, in one zip (no pickle)."""
        opt = self.optimizer.get_state()
        arrays = {"weights": self.store.data, "states": self.store.state}
        for k, v in opt.get("slots", {}).items():
            arrays[f"slot/{k}"] = v
        meta = {"iterations": opt.get("iterations"), "lr": opt.get("lr"), "schedule": opt.get("schedule"),
                "epoch": self.state.epoch, "iteration": self.state.iteration, "loss": self.state.loss,
                "score": self.state.score, "shuffle_rng": self.shuffle_rng.bit_generator.state,
                "op_rngs": [ctx.rng.bit_generator.state for *_, ctx in self.executor.plan]}
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        tmp = path + ".tmp"
        with zipfile.ZipFile(tmp, "w") as z:
            z.writestr("checkpoint.json", json.dumps(meta, default=float))
            z.writestr("arrays.npz", buf.getvalue())
        os.replace(tmp, path)

    def load_checkpoint(self, path: str) -> None:
        """Restore what `save_checkpoint` wrote; training continues where it stopped."""
        with zipfile.ZipFile(path) as z:
            meta = json.loads(z.read("checkpoint.json"))
            with np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        if arrays["weights"].shape != self.store.data.shape or arrays["states"].shape != self.store.state.shape:
            raise ValueError(f"checkpoint {path!r}: holds {arrays['weights'].size} weights, the model has "
                             f"{self.store.data.size}")
        self.store.data[...] = arrays["weights"]
        self.store.state[...] = arrays["states"]
        slots = {k[5:]: v for k, v in arrays.items() if k.startswith("slot/")}
        self.optimizer.set_state({"iterations": meta["iterations"], "lr": meta["lr"], "schedule": meta["schedule"],
                                  "slots": slots})
        st = self.state
        st.epoch, st.iteration, st.loss, st.score = meta["epoch"], meta["iteration"], meta["loss"], meta["score"]
        self.shuffle_rng.bit_generator.state = meta["shuffle_rng"]
        for (*_, ctx), rng_state in zip(self.executor.plan, meta["op_rngs"]):
            ctx.rng.bit_generator.state = rng_state
