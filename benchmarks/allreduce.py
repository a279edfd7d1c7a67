"""All-reduce bandwidth of zoo's TCP ring between 2 local worker processes, against memcpy.

For n = 1M, 10M, 100M float32, two processes (like two Spark tasks) connect a `Ring` over
loopback and time `reduce_scatter` + `all_gather` (one all-reduce), float32 and bfloat16 on
the wire. Reported: the algorithm bandwidth n*4 bytes / time (GB/s), the bytes each worker
sent, and the machine's memcpy bandwidth (np.copyto of the same buffer, one thread) for
scale. Medians of several rounds (the machine is shared).

Run:  python benchmarks/allreduce.py [--sizes 1e6,1e7,1e8] [--rounds 5] [--no-write]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time

if any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")) and "ZOO_BENCH_CHILD" not in os.environ:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["ZOO_BENCH_CHILD"] = "1"
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import numpy as np

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")


def worker(rank, size, addrs, secret, sizes, rounds, conn, listener):
    from zoo.engine import threads as T
    from zoo.engine.distributed.comm import Ring
    from zoo.engine.parallel import chunk_bounds

    T.set_num_threads(1)
    ring = Ring(rank, size, listener, addrs, secret, b"bench")
    ring.connect()
    out = {}
    for n in sizes:
        buf = np.random.default_rng(rank).standard_normal(n).astype(np.float32)
        bounds = chunk_bounds(n, size)
        # the wire alone: every worker sends and receives n floats (what an all-reduce moves)
        recv = np.empty_like(buf)
        times = []
        for _ in range(rounds):
            ring.barrier()
            t = time.perf_counter()
            ring._send_array(buf, False)
            ring._recv_array(recv, "copy", False)
            ring._sender.wait()
            times.append(time.perf_counter() - t)
        out[(n, "raw")] = statistics.median(times)
        for compress in (False, True):
            times = []
            for _ in range(rounds):
                ring.barrier()
                t = time.perf_counter()
                ring.reduce_scatter(buf, bounds, compress)
                ring.all_gather(buf, bounds, compress)
                times.append(time.perf_counter() - t)
                buf *= 0.5  # keep the values bounded
            out[(n, compress)] = statistics.median(times)
    conn.send(out)
    ring.close()


def memcpy_gbs(n: int, rounds: int) -> float:
    a = np.ones(n, np.float32)
    b = np.empty_like(a)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        np.copyto(b, a)
        times.append(time.perf_counter() - t)
    return a.nbytes / statistics.median(times) / 1e9


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1e6,1e7,1e8")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    from zoo.engine.distributed.comm import listen

    size = 2
    listeners = [listen() for _ in range(size)]
    addrs = [s.getsockname() for s in listeners]
    secret = os.urandom(32)
    ctx = mp.get_context("fork")  # the workers inherit their listening sockets
    pipes = [ctx.Pipe() for _ in range(size)]
    procs = []
    for r in range(size):
        p = ctx.Process(target=worker, args=(r, size, addrs, secret, sizes, args.rounds, pipes[r][1],
                                             listeners[r]), daemon=True)
        procs.append(p)
        p.start()
    results = [pipes[r][0].recv() for r in range(size)]
    for p in procs:
        p.join()
    lines = [("| floats | memcpy GB/s | TCP exchange of n floats GB/s (ms) | all-reduce float32 GB/s (ms) | "
              "all-reduce bfloat16 GB/s (ms) | all-reduce f32 time / exchange time |"),
             "|---|---|---|---|---|---|"]
    for n in sizes:
        traw = max(r[(n, "raw")] for r in results)
        t32 = max(r[(n, False)] for r in results)
        t16 = max(r[(n, True)] for r in results)
        mc = memcpy_gbs(n, args.rounds)
        line = (f"| {n:,} | {mc:.1f} | {4 * n / traw / 1e9:.2f} ({traw * 1e3:.1f}) | {4 * n / t32 / 1e9:.2f} "
                f"({t32 * 1e3:.1f}) | {4 * n / t16 / 1e9:.2f} ({t16 * 1e3:.1f}) | {t32 / traw:.2f} |")
        print(line, flush=True)
        lines.append(line)
    if not args.no_write:
        head = (f"\n## All-reduce, 2 worker processes over loopback TCP (benchmarks/allreduce.py, "
                f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, {os.cpu_count()} cores, "
                f"load {os.getloadavg()[0]:.1f})\n\nGB/s = buffer bytes / all-reduce time (reduce-scatter + "
                f"all-gather); each worker sends and receives the buffer's size in total (2 x (N-1)/N), so "
                f"the TCP exchange of n floats (both workers sending and receiving at once, no arithmetic) is "
                f"the ideal all-reduce time on this machine.\n\n")
        with open(RESULTS, "a") as f:
            f.write(head + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
