"""Training throughput (samples/s) of an LSTM text classifier and of NCF: zoo vs tf.keras vs PyTorch.

Models (the same in the three frameworks, Adam(1e-3), 2 threads each, one process run):
  lstm  Embedding(20000, 128) -> LSTM(128) -> Dense(20, softmax) on sequences of 200 ids, batch 64,
        sparse categorical cross entropy.
  ncf   Neural collaborative filtering on 6040 users x 3706 items, batch 1024: an MLP tower
        (user and item embeddings of 64, concatenated, Dense 128 relu, Dense 64 relu) and a GMF
        branch (user and item embeddings of 64, multiplied), concatenated into Dense(1, sigmoid),
        binary cross entropy.
The frameworks run in alternating rounds (zoo, tf.keras, PyTorch, zoo, ...) so that a shared
machine's load hits them alike; each figure is the best round. Prints samples/s and the ratios
zoo/peer, and appends a section to benchmarks/RESULTS.md (with the CPU model and the load).

Run:  python benchmarks/train_rnn_ncf.py [--models lstm,ncf] [--seconds 4] [--rounds 3] [--passive] [--no-write]
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are removed from the environment for this command (the
script re-executes itself without them), as users' machines do not set them. --passive also sets
OMP_WAIT_POLICY=PASSIVE and OPENBLAS_THREAD_TIMEOUT=4 for every framework (idle OpenMP and
OpenBLAS threads sleep at once instead of spinning): on a shared, loaded machine spinning thread
pools steal the cores the working threads need; the table records which mode ran.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

PASSIVE = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}
if "ZOO_BENCH_CHILD" not in os.environ and (
    any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")) or "--passive" in sys.argv
):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    if "--passive" in sys.argv:
        env.update(PASSIVE)
    env["ZOO_BENCH_CHILD"] = "1"
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

THREADS = 2
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np

VOCAB, EMBED, SEQ, UNITS, CLASSES, LSTM_BATCH = 20000, 128, 200, 128, 20, 64
USERS, ITEMS, NCF_EMBED, NCF_HIDDEN, NCF_BATCH = 6040, 3706, 64, (128, 64), 1024
BATCH = {"lstm": LSTM_BATCH, "ncf": NCF_BATCH}


def data(name: str, n: int):
    """Random inputs and labels: (x list, y) with integer ids."""
    rng = np.random.default_rng(0)
    if name == "lstm":
        return [rng.integers(1, VOCAB, (n, SEQ)).astype(np.int32)], rng.integers(0, CLASSES, n).astype(
            np.int32
        )
    users = rng.integers(0, USERS, (n, 1)).astype(np.int32)
    items = rng.integers(0, ITEMS, (n, 1)).astype(np.int32)
    return [users, items], rng.integers(0, 2, (n, 1)).astype(np.float32)


# ---- zoo -------------------------------------------------------------------------------------


def zoo_model(name: str):
    from zoo.keras import layers as L
    from zoo.keras.models import Model, Sequential

    if name == "lstm":
        return Sequential(
            [
                L.Embedding(VOCAB, EMBED, input_length=SEQ),
                L.LSTM(UNITS),
                L.Dense(CLASSES, activation="softmax"),
            ]
        )
    user = L.Input((1,), dtype="int32")
    item = L.Input((1,), dtype="int32")
    mlp = L.Concatenate()(
        [L.Flatten()(L.Embedding(USERS, NCF_EMBED)(user)), L.Flatten()(L.Embedding(ITEMS, NCF_EMBED)(item))]
    )
    for h in NCF_HIDDEN:
        mlp = L.Dense(h, activation="relu")(mlp)
    gmf = L.Multiply()(
        [L.Flatten()(L.Embedding(USERS, NCF_EMBED)(user)), L.Flatten()(L.Embedding(ITEMS, NCF_EMBED)(item))]
    )
    out = L.Dense(1, activation="sigmoid")(L.Concatenate()([mlp, gmf]))
    return Model([user, item], out)


class ZooRunner:
    def __init__(self, name: str):
        from zoo.engine import threads
        from zoo.engine.optim import Adam

        threads.set_num_threads(THREADS)
        self.name, self.bs = name, BATCH[name]
        self.model = zoo_model(name)
        loss = "sparse_categorical_crossentropy" if name == "lstm" else "binary_crossentropy"
        self.model.compile(Adam(learning_rate=1e-3), loss)

    def run(self, x, y) -> None:
        self.model.fit(x if len(x) > 1 else x[0], y, batch_size=self.bs, epochs=1, verbose=0, shuffle=False)


# ---- tf.keras --------------------------------------------------------------------------------


def tf_model(name: str):
    import tensorflow as tf

    L = tf.keras.layers
    if name == "lstm":
        return tf.keras.Sequential(
            [
                L.Input((SEQ,), dtype="int32"),
                L.Embedding(VOCAB, EMBED),
                L.LSTM(UNITS),
                L.Dense(CLASSES, activation="softmax"),
            ]
        )
    user = L.Input((1,), dtype="int32")
    item = L.Input((1,), dtype="int32")
    mlp = L.Concatenate()(
        [L.Flatten()(L.Embedding(USERS, NCF_EMBED)(user)), L.Flatten()(L.Embedding(ITEMS, NCF_EMBED)(item))]
    )
    for h in NCF_HIDDEN:
        mlp = L.Dense(h, activation="relu")(mlp)
    gmf = L.Multiply()(
        [L.Flatten()(L.Embedding(USERS, NCF_EMBED)(user)), L.Flatten()(L.Embedding(ITEMS, NCF_EMBED)(item))]
    )
    out = L.Dense(1, activation="sigmoid")(L.Concatenate()([mlp, gmf]))
    return tf.keras.Model([user, item], out)


class TfRunner:
    def __init__(self, name: str):
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(THREADS)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass
        self.name, self.bs = name, BATCH[name]
        self.model = tf_model(name)
        loss = "sparse_categorical_crossentropy" if name == "lstm" else "binary_crossentropy"
        self.model.compile(tf.keras.optimizers.Adam(1e-3), loss)

    def run(self, x, y) -> None:
        self.model.fit(x if len(x) > 1 else x[0], y, batch_size=self.bs, epochs=1, verbose=0, shuffle=False)


# ---- PyTorch ---------------------------------------------------------------------------------


class TorchRunner:
    def __init__(self, name: str):
        import torch
        from torch import nn

        torch.set_num_threads(THREADS)
        torch.manual_seed(0)
        self.torch, self.name, self.bs = torch, name, BATCH[name]
        if name == "lstm":

            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.emb = nn.Embedding(VOCAB, EMBED)
                    self.lstm = nn.LSTM(EMBED, UNITS, batch_first=True)
                    self.out = nn.Linear(UNITS, CLASSES)

                def forward(self, x):
                    _, (h, _) = self.lstm(self.emb(x))
                    return self.out(h[-1])

            self.lossf = nn.CrossEntropyLoss()
        else:

            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.u_mlp, self.i_mlp = nn.Embedding(USERS, NCF_EMBED), nn.Embedding(ITEMS, NCF_EMBED)
                    self.u_mf, self.i_mf = nn.Embedding(USERS, NCF_EMBED), nn.Embedding(ITEMS, NCF_EMBED)
                    layers, d = [], 2 * NCF_EMBED
                    for h in NCF_HIDDEN:
                        layers += [nn.Linear(d, h), nn.ReLU()]
                        d = h
                    self.mlp = nn.Sequential(*layers)
                    self.out = nn.Linear(d + NCF_EMBED, 1)

                def forward(self, u, i):
                    u, i = u[:, 0], i[:, 0]
                    mlp = self.mlp(torch.cat([self.u_mlp(u), self.i_mlp(i)], dim=1))
                    return torch.sigmoid(self.out(torch.cat([mlp, self.u_mf(u) * self.i_mf(i)], dim=1)))

            self.lossf = nn.BCELoss()
        self.model = Net()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)

    def run(self, x, y) -> None:
        torch = self.torch
        xs = [torch.from_numpy(a.astype(np.int64)) for a in x]
        yt = torch.from_numpy(y.astype(np.int64) if self.name == "lstm" else y)
        for i in range(0, len(yt), self.bs):
            self.opt.zero_grad()
            loss = self.lossf(self.model(*[a[i : i + self.bs] for a in xs]), yt[i : i + self.bs])
            loss.backward()
            self.opt.step()


# ---- driver ----------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def bench(name: str, seconds: float, rounds: int, frameworks) -> dict:
    """Best samples/s per framework over `rounds` alternating rounds of about `seconds` each."""
    bs = BATCH[name]
    runners = {}
    for fw, cls in frameworks:
        try:
            runners[fw] = cls(name)
        except ImportError:
            runners[fw] = None
    steps = {}
    x, y = data(name, bs * 3)
    for fw, r in runners.items():
        if r is None:
            continue
        r.run(x, y)  # warm-up (graph building, tracing, buffers)
        t = time.perf_counter()
        r.run(x, y)
        steps[fw] = max(5, int(seconds / ((time.perf_counter() - t) / 3)))
    best: dict = {fw: None for fw in runners}
    for _ in range(rounds):
        for fw, r in runners.items():
            if r is None:
                continue
            x, y = data(name, bs * steps[fw])
            t = time.perf_counter()
            r.run(x, y)
            rate = bs * steps[fw] / (time.perf_counter() - t)
            best[fw] = rate if best[fw] is None else max(best[fw], rate)
            print(f"  {name:5s} {fw:9s} {rate:12,.0f} samples/s", flush=True)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="lstm,ncf")
    ap.add_argument("--seconds", type=float, default=4.0, help="approximate seconds per timed round")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (the best round counts)")
    ap.add_argument("--frameworks", default="zoo,tf.keras,pytorch")
    ap.add_argument("--no-write", action="store_true", help="do not append to benchmarks/RESULTS.md")
    ap.add_argument(
        "--passive", action="store_true", help="OMP_WAIT_POLICY=PASSIVE, OPENBLAS_THREAD_TIMEOUT=4"
    )
    args = ap.parse_args()
    table = {"zoo": ZooRunner, "tf.keras": TfRunner, "pytorch": TorchRunner}
    frameworks = [(fw, table[fw]) for fw in args.frameworks.split(",")]
    load0 = os.getloadavg()[0]
    rows = []
    for name in args.models.split(","):
        best = bench(name, args.seconds, args.rounds, frameworks)
        z = best.get("zoo")
        r_tf = z / best["tf.keras"] if z and best.get("tf.keras") else float("nan")
        r_pt = z / best["pytorch"] if z and best.get("pytorch") else float("nan")
        print(
            f"{name:5s} "
            + "  ".join(f"{fw} {v:,.0f}" for fw, v in best.items() if v)
            + f"  ratio zoo/tf.keras {r_tf:.2f}  zoo/pytorch {r_pt:.2f}",
            flush=True,
        )
        rows.append((name, best, r_tf, r_pt))
    load1 = os.getloadavg()[0]
    if not args.no_write:
        from zoo.engine import _native

        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
        with open(path, "a") as f:
            f.write(
                f"\n## train_rnn_ncf.py ({time.strftime('%Y-%m-%d %H:%M')})\n\n"
                f"CPU: {cpu_model()}, {os.cpu_count()} cores, {THREADS} threads per framework, zoo kernels: "
                f"{_native.cpu_isa()}; OPENBLAS_CORETYPE/L2_SIZE unset; "
                + (
                    "OMP_WAIT_POLICY=PASSIVE, OPENBLAS_THREAD_TIMEOUT=4 (--passive)"
                    if args.passive
                    else "default thread-pool waiting"
                )
                + f". 1-min load average {load0:.1f} at the "
                f"start, {load1:.1f} at the end (shared machine: absolute rates are depressed; the frameworks "
                f"ran in {args.rounds} alternating rounds of ~{args.seconds:.0f} s, best round shown).\n\n"
                "| model | batch | zoo (samples/s) | tf.keras | PyTorch | zoo/tf.keras | zoo/PyTorch |\n"
                "|---|---|---|---|---|---|---|\n"
            )
            for name, best, r_tf, r_pt in rows:
                cells = [
                    f"{best[fw]:,.0f}" if best.get(fw) else "n/a" for fw in ("zoo", "tf.keras", "pytorch")
                ]
                f.write(
                    f"| {name} | {BATCH[name]} | " + " | ".join(cells) + f" | {r_tf:.2f} | {r_pt:.2f} |\n"
                )


if __name__ == "__main__":
    main()
