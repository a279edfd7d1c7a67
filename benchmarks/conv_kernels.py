"""Conv2D forward + backward timings and GFLOP/s for the ResNet-20 and LeNet-5 layer shapes.

    python benchmarks/conv_kernels.py [--tf] [--repeat 20] [--threads 2] [--cpu]

FLOPs per pass: 2*N*O*(C/groups)*KH*KW*OH*OW; forward + backward is 3 passes (2 when the
input needs no gradient, as in a first layer). With --tf, TensorFlow's conv2d + bias_add
(NHWC, the layout it prefers on CPU) runs the same shapes through a GradientTape; the two
are timed in alternating rounds and the best round of each is kept, so a shared machine's
load hits both alike. Run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (DESIGN.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

# (name, x shape, out channels, kernel, padding, strides, input needs a gradient)
SHAPES = [
    ("resnet20 stage1", (64, 16, 32, 32), 16, 3, "same", 1, True),
    ("resnet20 stage2", (64, 32, 16, 16), 32, 3, "same", 1, True),
    ("resnet20 stage3", (64, 64, 8, 8), 64, 3, "same", 1, True),
    ("resnet20 down 16->32 s2", (64, 16, 32, 32), 32, 3, "same", 2, True),
    ("lenet5 conv1", (128, 1, 28, 28), 6, 5, "same", 1, False),
    ("lenet5 conv2", (128, 6, 14, 14), 16, 5, "valid", 1, True),
]


THREADS = [0, False]  # --threads, and whether TensorFlow was told


def _best(fn, repeat: int) -> float:
    fn()
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.min(times))  # the least disturbed run (the machine may be shared)


def _flops(x, o, k, oh, ow) -> float:
    n, c = x[0], x[1]
    return 2.0 * n * o * c * k * k * oh * ow


def _zoo_case(xs, o, k, pad, s, need_x, rng):
    from zoo.engine.ops.base import Ctx
    from zoo.engine.ops.conv import Conv2D

    x = rng.standard_normal(xs, dtype=np.float32)
    w = (rng.standard_normal((o, xs[1], k, k), dtype=np.float32) * 0.1).astype(np.float32)
    b = np.zeros(o, np.float32)
    op = Conv2D(strides=s, padding=pad)
    ctx = Ctx("bench", training=True, n_inputs=3)
    ctx.needs_grad = (need_x, True, True)
    y = op.forward(ctx, x, w, b)
    gy = rng.standard_normal(y.shape, dtype=np.float32)

    def fwd():
        op.forward(ctx, x, w, b)

    def bwd():
        op.backward(ctx, gy)

    def step():
        op.forward(ctx, x, w, b)
        op.backward(ctx, gy)

    return fwd, bwd, step, y.shape, ctx


def _tf_case(xs, o, k, pad, s, need_x, rng):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    if THREADS[0] and not THREADS[1]:
        tf.config.threading.set_intra_op_parallelism_threads(THREADS[0])
        tf.config.threading.set_inter_op_parallelism_threads(THREADS[0])
        THREADS[1] = True
    n, c, h, w_ = xs
    xv = tf.Variable(rng.standard_normal((n, h, w_, c), dtype=np.float32))
    w = tf.Variable(rng.standard_normal((k, k, c, o), dtype=np.float32) * 0.1)
    b = tf.Variable(np.zeros(o, np.float32))
    srcs = [xv, w, b] if need_x else [w, b]

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            y = tf.nn.bias_add(tf.nn.conv2d(xv, w, s, pad.upper()), b)
        return tape.gradient(y, srcs, output_gradients=tf.ones_like(y))

    def run():
        for t in step():
            t.numpy()

    return run


def bench(repeat: int, with_tf: bool, cpu: bool = False):
    """Per shape: zoo forward, backward and step; with_tf: TF's step, timed in alternating rounds.

    cpu: measure CPU time instead of wall time (zoo: this thread's, TF: the process's), which
    a loaded machine does not inflate; meant for one thread.
    """
    rng = np.random.default_rng(0)
    clocks = {
        "fwd": time.perf_counter,
        "bwd": time.perf_counter,
        "step": time.perf_counter,
        "tf": time.perf_counter,
    }
    if cpu:
        clocks = {
            "fwd": time.thread_time,
            "bwd": time.thread_time,
            "step": time.thread_time,
            "tf": time.process_time,
        }
    rows = []
    for name, xs, o, k, pad, s, need_x in SHAPES:
        fwd, bwd, step, yshape, ctx = _zoo_case(xs, o, k, pad, s, need_x, rng)
        tf_step = _tf_case(xs, o, k, pad, s, need_x, rng) if with_tf else None
        best = {"fwd": np.inf, "bwd": np.inf, "step": np.inf, "tf": np.inf}
        for fn in (fwd, bwd, step) + ((tf_step,) if tf_step else ()):
            fn()
            fn()
        for _ in range(repeat):
            for key, fn in (("fwd", fwd), ("bwd", bwd), ("step", step), ("tf", tf_step)):
                if fn is None:
                    continue
                time.sleep(0.005)  # let the other library's spinning threads go idle
                clock = clocks[key]
                t0 = clock()
                fn()
                best[key] = min(best[key], clock() - t0)
        f = _flops(xs, o, k, yshape[2], yshape[3])
        rows.append(
            (
                name,
                xs,
                o,
                k,
                best["fwd"],
                best["bwd"],
                best["step"],
                f,
                3 if need_x else 2,
                ctx.conv_plan.mode,
                ctx.conv_plan.n_chunks,
                best["tf"] if with_tf else None,
            )
        )
    return rows


def bench_zoo(repeat: int):
    return bench(repeat, False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tf", action="store_true", help="also time TensorFlow's conv2d")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument(
        "--threads", type=int, default=0, help="threads for zoo, BLAS and TF (default: all cores)"
    )
    ap.add_argument(
        "--cpu",
        action="store_true",
        help="one thread, CPU time instead of wall time (robust on a shared, loaded machine)",
    )
    args = ap.parse_args()
    from zoo.engine import _native, threads

    if args.cpu:
        args.threads = 1
    if args.threads:
        threads.set_num_threads(args.threads)
        THREADS[0] = args.threads
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, isa={_native.cpu_isa()}, "
        f"threads={threads.get_num_threads()}, numpy {np.__version__}, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '<unset>')}, "
        f"{'CPU' if args.cpu else 'wall'} time, load average {os.getloadavg()[0]:.1f}"
    )
    rows = bench(args.repeat, args.tf, args.cpu)
    print(
        f"{'layer':26s} {'input':18s} {'O':>3s} {'k':>2s} {'mode':>9s} {'fwd ms':>7s} {'bwd ms':>7s} "
        f"{'f+b ms':>7s} {'fwd GF/s':>8s} {'f+b GF/s':>8s}" + ("  tf f+b ms  tf/zoo" if args.tf else "")
    )
    for name, xs, o, k, t_f, t_b, t_fb, f, passes, mode, chunks, t_tf in rows:
        line = (
            f"{name:26s} {xs!s:18s} {o:3d} {k:2d} {mode + '/' + str(chunks):>9s} {t_f * 1e3:7.3f} "
            f"{t_b * 1e3:7.3f} {t_fb * 1e3:7.3f} {f / t_f / 1e9:8.1f} {passes * f / t_fb / 1e9:8.1f}"
        )
        if t_tf is not None:
            line += f"  {t_tf * 1e3:9.3f}  {t_tf / t_fb:6.2f}x"
        print(line)


if __name__ == "__main__":
    main()
