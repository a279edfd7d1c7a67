"""Steady-state training throughput (samples/s): zoo vs tf.keras vs PyTorch CPU.

Same models, same batch sizes, SGD with momentum, 2 threads each, in one process run:
  MLP 784-512-256-10 (batch 128), LeNet-5 on 1x28x28 (batch 128), ResNet-20 on 3x32x32 (batch 64).
Prints each figure and the ratio zoo/peer, and appends the table to benchmarks/RESULTS.md.

Run:  python benchmarks/train_throughput.py [--models mlp,lenet,resnet20] [--seconds 4] [--no-write]
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are removed from the environment for this command
(the script re-executes itself without them), as users' machines do not set them.
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
import numpy as np  # noqa: E402

SPECS = {"mlp": (128, (784,)), "lenet": (128, (1, 28, 28)), "resnet20": (64, (3, 32, 32))}


def data(name: str, n: int, channels_last: bool = False):
    rng = np.random.default_rng(0)
    shape = SPECS[name][1]
    x = rng.standard_normal((n,) + shape).astype(np.float32)
    if channels_last and len(shape) == 3:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    y = rng.integers(0, 10, n).astype(np.int64)
    return x, y


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
    inp = L.Input((3, 32, 32))

    def conv_bn(x, filters, stride=1, act=True):
        x = L.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
        x = L.BatchNormalization(axis=1)(x)
        return L.Activation("relu")(x) if act else x

    x = conv_bn(inp, 16)
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(3):
            stride = 2 if stage > 0 and block == 0 else 1
            y = conv_bn(x, filters, stride)
            y = conv_bn(y, filters, 1, act=False)
            if stride != 1:
                x = L.Conv2D(filters, 1, strides=stride, use_bias=False)(x)
                x = L.BatchNormalization(axis=1)(x)
            x = L.Activation("relu")(L.Add()([x, y]))
    x = L.GlobalAveragePooling2D()(x)
    return Model(inp, L.Dense(10, activation="softmax")(x))


def bench_zoo(name: str, seconds: float) -> float:
    from zoo.engine import threads
    from zoo.engine.optim import SGD

    threads.set_num_threads(THREADS)
    bs = SPECS[name][0]
    model = zoo_model(name)
    model.compile(SGD(learning_rate=0.01, momentum=0.9), "sparse_categorical_crossentropy")
    x, y = data(name, bs * 8)
    model.fit(x, y, batch_size=bs, epochs=1, verbose=0, shuffle=False)  # warm-up
    steps = _steps_for(lambda xs, ys: model.fit(xs, ys, batch_size=bs, epochs=1, verbose=0, shuffle=False),
                       x, y, bs, seconds)
    x, y = data(name, bs * steps)
    t = time.perf_counter()
    model.fit(x, y, batch_size=bs, epochs=1, verbose=0, shuffle=False)
    return bs * steps / (time.perf_counter() - t)


def _steps_for(run, x, y, bs, seconds) -> int:
    t = time.perf_counter()
    run(x, y)
    per_step = (time.perf_counter() - t) / (len(x) // bs)
    return max(10, int(seconds / per_step))


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
    inp = L.Input((32, 32, 3))

    def conv_bn(x, filters, stride=1, act=True):
        x = L.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        return L.Activation("relu")(x) if act else x

    x = conv_bn(inp, 16)
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(3):
            stride = 2 if stage > 0 and block == 0 else 1
            y = conv_bn(x, filters, stride)
            y = conv_bn(y, filters, 1, act=False)
            if stride != 1:
                x = L.Conv2D(filters, 1, strides=stride, use_bias=False)(x)
                x = L.BatchNormalization()(x)
            x = L.Activation("relu")(L.Add()([x, y]))
    x = L.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inp, L.Dense(10, activation="softmax")(x))


def bench_tf(name: str, seconds: float) -> float:
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
    bs = SPECS[name][0]
    model = tf_model(name)
    model.compile(tf.keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
    x, y = data(name, bs * 8, channels_last=True)
    model.fit(x, y, batch_size=bs, epochs=1, verbose=0, shuffle=False)
    steps = _steps_for(lambda xs, ys: model.fit(xs, ys, batch_size=bs, epochs=1, verbose=0, shuffle=False),
                       x, y, bs, seconds)
    x, y = data(name, bs * steps, channels_last=True)
    t = time.perf_counter()
    model.fit(x, y, batch_size=bs, epochs=1, verbose=0, shuffle=False)
    return bs * steps / (time.perf_counter() - t)


# ---- PyTorch ---------------------------------------------------------------------------------

def torch_model(name: str):
    import torch.nn as nn

    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    if name == "lenet":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                             nn.ReLU(), nn.Linear(84, 10))

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


def bench_torch(name: str, seconds: float) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    bs = SPECS[name][0]
    model = torch_model(name)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()
    x, y = data(name, bs * 8)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def run(xt, yt):
        for i in range(0, len(xt), bs):
            opt.zero_grad()
            loss = lossf(model(xt[i:i + bs]), yt[i:i + bs])
            loss.backward()
            opt.step()

    run(xt, yt)
    steps = _steps_for(run, xt, yt, bs, seconds)
    x, y = data(name, bs * steps)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    t = time.perf_counter()
    run(xt, yt)
    return bs * steps / (time.perf_counter() - t)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="mlp,lenet,resnet20")
    ap.add_argument("--seconds", type=float, default=4.0, help="approximate timed seconds per run")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per framework (best is kept)")
    ap.add_argument("--no-write", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = ap.parse_args()
    rows = []
    for name in args.models.split(","):
        res = {}
        for fw, fn in (("zoo", bench_zoo), ("tf.keras", bench_tf), ("pytorch", bench_torch)):
            vals = [fn(name, args.seconds) for _ in range(args.repeats)]
            res[fw] = None if vals[0] is None else max(vals)
            print(f"{name:9s} {fw:9s} " + ("n/a" if res[fw] is None else f"{res[fw]:10,.0f} samples/s"), flush=True)
        r_tf = res["zoo"] / res["tf.keras"]
        r_pt = res["zoo"] / res["pytorch"] if res["pytorch"] else float("nan")
        print(f"{name:9s} ratio zoo/tf.keras {r_tf:.2f}  zoo/pytorch {r_pt:.2f}", flush=True)
        rows.append((name, res, r_tf, r_pt))
    if not args.no_write:
        from zoo.engine import _native

        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
        new = not os.path.exists(path)
        with open(path, "a") as f:
            if new:
                f.write("# Benchmark results\n\nAppended by the scripts in this folder; newest last.\n")
            f.write(f"\n## train_throughput.py, {time.strftime('%Y-%m-%d %H:%M')}\n\n"
                    f"CPU: {cpu_model()}, {THREADS} threads, zoo kernels: {_native.cpu_isa()}, "
                    f"OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset. Steady-state training samples/s, SGD momentum 0.9.\n\n"
                    "| model (batch) | zoo | tf.keras | PyTorch | zoo/tf.keras | zoo/PyTorch |\n|---|---|---|---|---|---|\n")
            for name, res, r_tf, r_pt in rows:
                pt = f"{res['pytorch']:,.0f}" if res["pytorch"] else "n/a"
                f.write(f"| {name} ({SPECS[name][0]}) | {res['zoo']:,.0f} | {res['tf.keras']:,.0f} | {pt} | "
                        f"{r_tf:.2f} | {r_pt:.2f} |\n")


if __name__ == "__main__":
    main()
