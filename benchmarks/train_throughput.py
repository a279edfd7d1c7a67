"""Steady-state training throughput (samples/s): zoo vs tf.keras vs PyTorch CPU, in one run.

Models (the same in the three frameworks, 2 threads each):
  mlp       MLP 784-512-256-10, batch 128, SGD(0.01, momentum 0.9).
  lenet     LeNet-5 on 1x28x28, batch 128, SGD momentum.
  resnet20  ResNet-20 on 3x32x32, batch 64, SGD momentum.
  lstm      Embedding(20000, 128) -> LSTM(128) -> Dense(20, softmax) on sequences of 200 ids,
            batch 64, Adam(1e-3).
  ncf       Neural collaborative filtering on 6040 users x 3706 items, batch 1024, Adam(1e-3): an
            MLP tower (user and item embeddings of 64, concatenated, Dense 128 relu, Dense 64 relu)
            and a GMF branch (user and item embeddings of 64, multiplied), concatenated into
            Dense(1, sigmoid), binary cross entropy.
The frameworks run in alternating rounds (zoo, tf.keras, PyTorch, zoo, ...) so that a shared
machine's load hits them alike; each figure is the best round. Prints samples/s and the ratios
zoo/peer, and appends a section to benchmarks/RESULTS.md (with the CPU model and the load).

Run:  python benchmarks/train_throughput.py [--models mlp,lenet,resnet20,lstm,ncf] [--seconds 4]
                                           [--rounds 3] [--frameworks zoo,tf.keras,pytorch] [--no-write]
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are removed from the environment for this command (the
script re-executes itself without them), as users' machines do not set them.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

if any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")) and "ZOO_BENCH_CHILD" not in os.environ:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["ZOO_BENCH_CHILD"] = "1"
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

THREADS = 2
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np

VOCAB, EMBED, SEQ, UNITS, CLASSES = 20000, 128, 200, 128, 20
USERS, ITEMS, NCF_EMBED, NCF_HIDDEN = 6040, 3706, 64, (128, 64)
#: batch size, per-sample input shape (vision models), optimizer, loss
SPECS = {"mlp": (128, (784,), "sgd", "sparse_categorical_crossentropy"),
         "lenet": (128, (1, 28, 28), "sgd", "sparse_categorical_crossentropy"),
         "resnet20": (64, (3, 32, 32), "sgd", "sparse_categorical_crossentropy"),
         "lstm": (64, None, "adam", "sparse_categorical_crossentropy"),
         "ncf": (1024, None, "adam", "binary_crossentropy")}


def data(name: str, n: int, channels_last: bool = False):
    """(list of input arrays, labels) for n samples."""
    rng = np.random.default_rng(0)
    if name == "lstm":
        return [rng.integers(1, VOCAB, (n, SEQ)).astype(np.int32)], rng.integers(0, CLASSES, n).astype(np.int32)
    if name == "ncf":
        users = rng.integers(0, USERS, (n, 1)).astype(np.int32)
        items = rng.integers(0, ITEMS, (n, 1)).astype(np.int32)
        return [users, items], rng.integers(0, 2, (n, 1)).astype(np.float32)
    shape = SPECS[name][1]
    x = rng.standard_normal((n,) + shape).astype(np.float32)
    if channels_last and len(shape) == 3:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    return [x], rng.integers(0, 10, n).astype(np.int64)


def _ncf(L, Model, user, item):
    """The NCF graph in a Keras-like API `L` (zoo.keras.layers or tf.keras.layers)."""
    mlp = L.Concatenate()([L.Flatten()(L.Embedding(USERS, NCF_EMBED)(user)),
                           L.Flatten()(L.Embedding(ITEMS, NCF_EMBED)(item))])
    for h in NCF_HIDDEN:
        mlp = L.Dense(h, activation="relu")(mlp)
    gmf = L.Multiply()([L.Flatten()(L.Embedding(USERS, NCF_EMBED)(user)),
                        L.Flatten()(L.Embedding(ITEMS, NCF_EMBED)(item))])
    return Model([user, item], L.Dense(1, activation="sigmoid")(L.Concatenate()([mlp, gmf])))


def _resnet20(L, Model, inp, bn_axis):
    def conv_bn(x, filters, stride=1, act=True):
        x = L.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
        x = L.BatchNormalization(axis=bn_axis)(x)
        return L.Activation("relu")(x) if act else x

    x = conv_bn(inp, 16)
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(3):
            stride = 2 if stage > 0 and block == 0 else 1
            y = conv_bn(x, filters, stride)
            y = conv_bn(y, filters, 1, act=False)
            if stride != 1:
                x = L.Conv2D(filters, 1, strides=stride, use_bias=False)(x)
                x = L.BatchNormalization(axis=bn_axis)(x)
            x = L.Activation("relu")(L.Add()([x, y]))
    x = L.GlobalAveragePooling2D()(x)
    return Model(inp, L.Dense(10, activation="softmax")(x))


# ---- zoo -------------------------------------------------------------------------------------

def zoo_model(name: str):
    from zoo.keras import layers as L
    from zoo.keras.models import Model, Sequential

    if name == "mlp":
        return Sequential([L.Dense(512, activation="relu", input_shape=(784,)), L.Dense(256, activation="relu"),
                           L.Dense(10, activation="softmax")])
    if name == "lenet":
        return Sequential([
            L.Conv2D(6, 5, padding="same", activation="relu", input_shape=(1, 28, 28)), L.MaxPooling2D(2),
            L.Conv2D(16, 5, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
            L.Dense(120, activation="relu"), L.Dense(84, activation="relu"), L.Dense(10, activation="softmax")])
    if name == "lstm":
        return Sequential([L.Embedding(VOCAB, EMBED, input_length=SEQ), L.LSTM(UNITS),
                           L.Dense(CLASSES, activation="softmax")])
    if name == "ncf":
        return _ncf(L, Model, L.Input((1,), dtype="int32"), L.Input((1,), dtype="int32"))
    return _resnet20(L, Model, L.Input((3, 32, 32)), 1)


class ZooRunner:
    def __init__(self, name: str):
        from zoo.engine import threads
        from zoo.engine.optim import SGD, Adam

        threads.set_num_threads(THREADS)
        self.bs, _, opt, loss = SPECS[name]
        self.model = zoo_model(name)
        self.model.compile(SGD(learning_rate=0.01, momentum=0.9) if opt == "sgd" else Adam(learning_rate=1e-3), loss)

    def run(self, x, y) -> None:
        self.model.fit(x if len(x) > 1 else x[0], y, batch_size=self.bs, epochs=1, verbose=0, shuffle=False)


# ---- tf.keras --------------------------------------------------------------------------------

def tf_model(name: str):
    import tensorflow as tf

    L = tf.keras.layers
    if name == "mlp":
        return tf.keras.Sequential([L.Input((784,)), L.Dense(512, activation="relu"), L.Dense(256, activation="relu"),
                                    L.Dense(10, activation="softmax")])
    if name == "lenet":
        return tf.keras.Sequential([
            L.Input((28, 28, 1)), L.Conv2D(6, 5, padding="same", activation="relu"), L.MaxPooling2D(2),
            L.Conv2D(16, 5, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
            L.Dense(120, activation="relu"), L.Dense(84, activation="relu"), L.Dense(10, activation="softmax")])
    if name == "lstm":
        return tf.keras.Sequential([L.Input((SEQ,), dtype="int32"), L.Embedding(VOCAB, EMBED), L.LSTM(UNITS),
                                    L.Dense(CLASSES, activation="softmax")])
    if name == "ncf":
        return _ncf(L, tf.keras.Model, L.Input((1,), dtype="int32"), L.Input((1,), dtype="int32"))
    return _resnet20(L, tf.keras.Model, L.Input((32, 32, 3)), -1)


class TfRunner:
    def __init__(self, name: str):
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(THREADS)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass
        self.name = name
        self.bs, _, opt, loss = SPECS[name]
        self.model = tf_model(name)
        self.model.compile(tf.keras.optimizers.SGD(0.01, momentum=0.9) if opt == "sgd"
                           else tf.keras.optimizers.Adam(1e-3), loss)

    def run(self, x, y) -> None:
        if self.name in ("lenet", "resnet20"):
            x = [np.ascontiguousarray(x[0].transpose(0, 2, 3, 1))]
        self.model.fit(x if len(x) > 1 else x[0], y, batch_size=self.bs, epochs=1, verbose=0, shuffle=False)


# ---- PyTorch ---------------------------------------------------------------------------------

def torch_model(name: str):
    import torch
    from torch import nn

    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    if name == "lenet":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                             nn.ReLU(), nn.Linear(84, 10))
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

        return Net()
    if name == "ncf":
        class NCF(nn.Module):
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

        return NCF()

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())
            self.c2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
            self.short = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                          if stride != 1 else nn.Identity())
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.short(x) + self.c2(self.c1(x)))

    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for stage, cout in enumerate((16, 32, 64)):
        for block in range(3):
            layers.append(Block(cin, cout, 2 if stage > 0 and block == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


class TorchRunner:
    def __init__(self, name: str):
        import torch

        torch.set_num_threads(THREADS)
        torch.manual_seed(0)
        self.torch, self.name = torch, name
        self.bs, _, opt, loss = SPECS[name]
        self.model = torch_model(name)
        self.lossf = torch.nn.BCELoss() if loss == "binary_crossentropy" else torch.nn.CrossEntropyLoss()
        self.opt = (torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9) if opt == "sgd"
                    else torch.optim.Adam(self.model.parameters(), lr=1e-3))

    def run(self, x, y) -> None:
        torch = self.torch
        xs = [torch.from_numpy(a.astype(np.int64) if a.dtype.kind == "i" else a) for a in x]
        yt = torch.from_numpy(y.astype(np.int64) if y.dtype.kind == "i" else y)
        for i in range(0, len(yt), self.bs):
            self.opt.zero_grad()
            loss = self.lossf(self.model(*[a[i:i + self.bs] for a in xs]), yt[i:i + self.bs])
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
    bs = SPECS[name][0]
    runners = {}
    for fw, cls in frameworks:
        try:
            runners[fw] = cls(name)
        except ImportError as e:  # a peer framework not installed
            if fw == "zoo":
                raise
            print(f"  {fw}: not available ({e})", flush=True)
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
    ap.add_argument("--models", default="mlp,lenet,resnet20,lstm,ncf")
    ap.add_argument("--seconds", type=float, default=4.0, help="approximate seconds per timed round")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (the best round counts)")
    ap.add_argument("--frameworks", default="zoo,tf.keras,pytorch")
    ap.add_argument("--no-write", action="store_true", help="do not append to benchmarks/RESULTS.md")
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
                f"\n## train_throughput.py ({time.strftime('%Y-%m-%d %H:%M')})\n\n"
                f"CPU: {cpu_model()}, {os.cpu_count()} cores, {THREADS} threads per framework, zoo kernels: "
                f"{_native.cpu_isa()}; OPENBLAS_CORETYPE/L2_SIZE unset. 1-min load average {load0:.1f} at the "
                f"start, {load1:.1f} at the end (the frameworks ran in {args.rounds} alternating rounds of "
                f"~{args.seconds:.0f} s, best round shown).\n\n"
                "| model | batch | zoo (samples/s) | tf.keras | PyTorch | zoo/tf.keras | zoo/PyTorch |\n"
                "|---|---|---|---|---|---|---|\n"
            )
            for name, best, r_tf, r_pt in rows:
                cells = [
                    f"{best[fw]:,.0f}" if best.get(fw) else "n/a" for fw in ("zoo", "tf.keras", "pytorch")
                ]
                f.write(
                    f"| {name} | {SPECS[name][0]} | " + " | ".join(cells) + f" | {r_tf:.2f} | {r_pt:.2f} |\n"
                )


if __name__ == "__main__":
    main()
