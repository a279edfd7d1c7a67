"""Data-parallel scaling: local replicas, and Spark workers.

Local part: samples/s of one replica using every thread inside its ops (BLAS, batch-chunked
convolutions, OpenMP kernels) against K replicas with one thread each, for an MLP
784-512-256-10, LeNet-5 and ResNet-20 at several batch sizes, measured in alternating
rounds (the machine is shared; the median of the rounds is reported). This is the data
behind `zoo.engine.parallel.choose_replicas`.

Spark part (`--spark`): samples/s of LeNet-5 and ResNet-20 trained by the distributed
trainer with 1 and 2 workers on `local-cluster[2,1,1024]` (one core per worker), and the
per-iteration time split into compute (forward/backward), communication (ring
reduce-scatter + all-gather + small all-reduce) and update, plus the Spark overhead (job
time minus the training loop).

Run:  python benchmarks/scaling.py [--local] [--spark] [--models mlp,lenet,resnet20] [--no-write]
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are removed from the environment for this command.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

if any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")) and "ZOO_BENCH_CHILD" not in os.environ:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["ZOO_BENCH_CHILD"] = "1"
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.distributed.models import BUILDERS, data


def build(name: str):
    return BUILDERS[name]()


# ---- local replicas ------------------------------------------------------------------------------

def local_rounds(name: str, batch: int, threads: int, rounds: int, seconds: float) -> dict:
    """Median samples/s of: one replica on one thread ("1x1"), one replica with `threads`
    threads inside its ops ("1xT"), and `threads` replicas of one thread each ("Kx1"), in
    alternating rounds."""
    from zoo.engine import threads as T
    from zoo.engine.optim import SGD
    from zoo.engine.parallel import LocalParallelTrainer

    graph = build(name)
    configs = {"1x1": (1, 1), "1xT": (1, threads), "Kx1": (threads, threads)}
    trainers = {c: LocalParallelTrainer(graph, "sparse_categorical_crossentropy", SGD(0.01, momentum=0.9),
                                        replicas=k) for c, (k, _) in configs.items()}
    x, y = data(name, batch * 4)
    xs, ys, sws, _ = trainers["1x1"]._prepare(x, y)

    def run(c, steps):
        T.set_num_threads(configs[c][1])
        tr = trainers[c]
        t = time.perf_counter()
        for i in range(steps):
            sl = slice((i % 4) * batch, (i % 4 + 1) * batch)
            tr.train_step([xs[0][sl]], [ys[0][sl]], [sws[0][sl]])
        return time.perf_counter() - t

    per = {}
    for c in configs:  # warm-up and step time
        run(c, 3)
        per[c] = run(c, 1)
    steps = max(3, int(seconds / max(per.values())))
    out: dict = {c: [] for c in configs}
    for _ in range(rounds):
        for c in configs:
            out[c].append(batch * steps / run(c, steps))
    for tr in trainers.values():
        if tr._group is not None:
            tr._group.close()
    T.set_num_threads(threads)
    return {c: statistics.median(v) for c, v in out.items()}


def run_local(models, batches, rounds, seconds) -> list[str]:
    lines = [("samples/s, medians of alternating rounds; the default (`replicas=\"auto\"`) is the rule of "
             "`zoo.engine.parallel.choose_replicas`."), "",
             ("| model | batch | 1 replica x 1 thread | 1 replica x 2 threads | 2 replicas x 1 thread | "
             "2 replicas / 1 replica x 2 threads | auto picks |"), "|---|---|---|---|---|---|---|"]
    from zoo.engine.parallel import choose_replicas
    from zoo.engine.trainer import Trainer

    for name in models:
        probe = Trainer(build(name), "sparse_categorical_crossentropy", "sgd")
        for b in batches.get(name, (32, 128)):
            r = local_rounds(name, b, 2, rounds, seconds)
            k = choose_replicas(probe, b, threads=2)
            line = (f"| {name} | {b} | {r['1x1']:,.0f} | {r['1xT']:,.0f} | {r['Kx1']:,.0f} | "
                    f"{r['Kx1'] / r['1xT']:.2f} | {k} replica{'s' if k > 1 else ''} |")
            print(line, flush=True)
            lines.append(line)
    return lines


# ---- Spark workers ------------------------------------------------------------------------------

SPARK_BATCH = {"lenet": 128, "resnet20": 64}


def spark_session(master: str):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(master).appName("zoo-scaling").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").config("spark.executor.memory", "900m")
             .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    want = int(master.split("[")[1].split(",")[0]) if master.startswith("local-cluster") else 0
    deadline = time.time() + 180
    while want and len(spark.sparkContext.statusTracker().getExecutorInfos()) < want + 1 and time.time() < deadline:
        time.sleep(0.5)
    return spark


def spark_run(spark, name: str, workers: int, iterations: int, pin: bool = True) -> dict:
    """One distributed fit; medians over the iterations after the first three."""
    import pandas as pd

    from zoo.engine.distributed.trainer import DistributedTrainer
    from zoo.engine.optim import SGD
    from zoo.engine.trainer import Trainer
    from zoo.engine.triggers import MaxIteration

    b = SPARK_BATCH[name]
    x, y = data(name, b * iterations)
    df = spark.createDataFrame(pd.DataFrame({"features": list(x.reshape(len(x), -1)), "label": y})).cache()
    df.count()
    tr = Trainer(build(name), "sparse_categorical_crossentropy", SGD(0.01, momentum=0.9))
    d = DistributedTrainer(tr)
    d.fit(df, batch_size=b, end_trigger=MaxIteration(iterations), num_workers=workers, threads_per_worker=1,
          pin_cores=pin)
    df.unpersist()
    its = d.iterations[3:] or d.iterations
    med = {k: statistics.median(i[k] for i in its) for k in ("seconds", "compute", "comm", "update", "data")}
    info = d.info
    return {"samples_s": b / med["seconds"], **med, "job": info["job_seconds"], "loop": info["loop_seconds"],
            "allgather": info["allgather_seconds"], "pinned": bool(info.get("pinned"))}


def run_spark(models, iterations: int, master: str) -> list[str]:
    spark = spark_session(master)
    lines = [(f"master `{master}`, one core per worker, SGD momentum; per-iteration medians (ms) after 3 warm-up "
             f"iterations; sync share = (communication + update) / iteration; Spark overhead = job time - training "
             f"loop time (task start, data conversion, the allGather rendezvous, results); pinned: the workers ran "
             f"on their own cores (pin_cores, the default; one worker alone is never pinned)."), "",
             ("| model | batch | workers | pinned | samples/s | iteration ms | compute | communication | update | "
              "data | sync share | Spark overhead s (rank 0 allGather s) | speedup |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    try:
        for name in models:
            base = None
            for workers, pin in ((1, True), (2, True), (2, False)):
                r = spark_run(spark, name, workers, iterations, pin)
                base = base or r["samples_s"]
                sync = (r["comm"] + r["update"]) / r["seconds"]
                pinned = "yes" if r["pinned"] else "no"
                line = (f"| {name} | {SPARK_BATCH[name]} | {workers} | {pinned} | {r['samples_s']:,.0f} | "
                        f"{r['seconds'] * 1e3:.1f} | {r['compute'] * 1e3:.1f} | {r['comm'] * 1e3:.1f} | "
                        f"{r['update'] * 1e3:.1f} | {r['data'] * 1e3:.1f} | {sync:.1%} | "
                        f"{r['job'] - r['loop']:.1f} ({r['allgather']:.1f}) | {r['samples_s'] / base:.2f}x |")
                print(line, flush=True)
                lines.append(line)
    finally:
        spark.stop()
    return lines


def write(section: str, lines: list[str]) -> None:
    head = (f"\n## {section} ({time.strftime('%Y-%m-%d %H:%M')}, {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; OPENBLAS_CORETYPE/L2_SIZE unset)\n\n")
    with open(RESULTS, "a") as f:
        f.write(head + "\n".join(lines) + "\n")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--local", action="store_true")
    ap.add_argument("--spark", action="store_true")
    ap.add_argument("--models", default="mlp,lenet,resnet20")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--master", default="local-cluster[2,1,1024]")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    if not args.local and not args.spark:
        args.local = True
    if args.local:
        batches = {"mlp": (8, 32, 128, 512), "lenet": (8, 32, 128, 512), "resnet20": (16, 64)}
        lines = run_local(models, batches, args.rounds, args.seconds)
        if not args.no_write:
            write("Local replicas vs threads inside ops (benchmarks/scaling.py --local)", lines)
    if args.spark:
        lines = run_spark([m for m in models if m != "mlp"], args.iterations, args.master)
        if not args.no_write:
            write("Spark workers (benchmarks/scaling.py --spark)", lines)


if __name__ == "__main__":
    main()
