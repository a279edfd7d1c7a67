"""Distributed-training scenarios run in a separate Python process with their own Spark session
(local-cluster[2,1,1024]: two executor JVMs, or a Spark Connect session), so that a test
session never holds two SparkSessions. Prints one line `RESULT <json>`.

    python -m tests.distributed.cluster_jobs [--master M | --remote R] scenario [scenario ...]

Scenarios: equivalence, fault, mnist, connect.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tests.distributed.models import lenet, mlp
from zoo.engine.distributed.trainer import DistributedTrainer
from zoo.engine.optim import SGD
from zoo.engine.trainer import Trainer
from zoo.engine.triggers import MaxIteration, SeveralIteration

LOSS = "sparse_categorical_crossentropy"


def toy_frame(spark, n=600, d=20):
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    return spark.createDataFrame(pd.DataFrame({"features": list(x), "label": y})), x, y


def replay(x, y, batch, iters):
    """The job's computation replayed locally (see tests/distributed/test_spark_local.local_reference)."""
    ref = Trainer(mlp((x.shape[1], 32, 3), seed=0), LOSS, SGD(0.1, momentum=0.9))
    it, epoch = 0, 0
    while it < iters:
        perm = np.random.default_rng([0, epoch]).permutation(len(x))
        for start in range(0, len(x), batch):
            if it == iters:
                break
            p = perm[start:start + batch]
            ref.train_step([x[p]], [y[p]], [np.ones(len(p), np.float32)])
            it += 1
        epoch += 1
        ref.state.epoch = epoch
    return ref.store.data


def fit_toy(df, workers, iters=20, batch=64, **kw):
    tr = Trainer(mlp((20, 32, 3), seed=0), LOSS, SGD(0.1, momentum=0.9))
    d = DistributedTrainer(tr)
    ck = kw.pop("checkpoint", None)
    if ck:
        d.set_checkpoint(ck, SeveralIteration(5))
    t = time.perf_counter()
    d.fit(df, batch_size=batch, end_trigger=MaxIteration(iters), num_workers=workers, **kw)
    return tr, d, time.perf_counter() - t


def equivalence(spark) -> dict:
    df, x, y = toy_frame(spark)
    df = df.cache()
    one, d1, t1 = fit_toy(df, 1)
    two, d2, t2 = fit_toy(df, 2)
    return {"max_diff": float(np.abs(one.store.data - two.store.data).max()),
            "replay_diff": float(np.abs(two.store.data - replay(x, y, 64, 20)).max()),
            "workers": [d1.info["workers"], d2.info["workers"]], "seconds": [t1, t2],
            "bytes_sent": d2.info["bytes_sent"]}


def fault(spark) -> dict:
    df, _, _ = toy_frame(spark)
    df = df.cache()
    tmp = tempfile.mkdtemp(prefix="zoo-fault-")
    a, da, ta = fit_toy(df, 2, iters=20, checkpoint=os.path.join(tmp, "a"))
    marker = os.path.join(tmp, "killed")
    b, db, tb = fit_toy(df, 2, iters=20, checkpoint=os.path.join(tmp, "b"),
                        fault_injection={"rank": 1, "iteration": 12, "marker": marker})
    return {"killed": os.path.exists(marker), "resumed": db.info.get("resumed"),
            "diff": float(np.abs(a.store.data - b.store.data).max()),
            "iterations_a": [i["iteration"] for i in da.iterations],
            "iterations_b": [i["iteration"] for i in db.iterations],
            "loss_diff": float(np.max(np.abs(np.array([i["loss"] for i in da.iterations])
                                             - np.array([i["loss"] for i in db.iterations])))),
            "state": [b.state.iteration, b.state.epoch], "seconds": [ta, tb],
            "slots_diff": float(max(np.abs(v - b.optimizer.slots[k]).max() for k, v in a.optimizer.slots.items()))}


def load_mnist(root: str):
    with gzip.open(os.path.join(root, "t10k-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
    with gzip.open(os.path.join(root, "t10k-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return (x - 0.1307) / 0.3081, y


def mnist(spark, root: str) -> dict:
    import pandas as pd

    x, y = load_mnist(root)
    xt, yt, xv, yv = x[:8000], y[:8000], x[8000:], y[8000:]
    epochs, batch = 3, 64
    # local reference
    local = Trainer(lenet(seed=1), LOSS, SGD(0.02, momentum=0.9), metrics=["accuracy"])
    t = time.perf_counter()
    local.fit(xt, yt, batch_size=batch, epochs=epochs)
    t_local = time.perf_counter() - t
    acc_local = local.evaluate(xv, yv, batch_size=500)["accuracy"]
    df = spark.createDataFrame(pd.DataFrame({"features": list(xt.reshape(len(xt), -1)), "label": yt}))
    vdf = spark.createDataFrame(pd.DataFrame({"features": list(xv.reshape(len(xv), -1)), "label": yv}))
    tr = Trainer(lenet(seed=1), LOSS, SGD(0.02, momentum=0.9), metrics=["accuracy"])
    d = DistributedTrainer(tr)
    t = time.perf_counter()
    hist = d.fit(df, batch_size=batch, epochs=epochs, num_workers=2, validation_data=vdf)
    t_dist = time.perf_counter() - t
    return {"acc_local": acc_local, "acc_dist": hist["val_accuracy"][-1],
            "acc_driver": tr.evaluate(xv, yv, batch_size=500)["accuracy"], "history": hist,
            "seconds": {"local": t_local, "distributed": t_dist}, "info": d.info}


def connect(spark) -> dict:
    from zoo.keras import layers as L
    from zoo.keras.models import Sequential

    df, x, y = toy_frame(spark)
    two, d2, t2 = fit_toy(df, 2)
    # a Keras model trains and predicts on the same Connect DataFrame
    m = Sequential([L.Dense(16, activation="relu", input_shape=(20,)), L.Dense(3, activation="softmax")])
    m.compile(SGD(0.1, momentum=0.9), LOSS, metrics=["accuracy"])
    hist = m.fit(df, batch_size=64, epochs=2, num_workers=2, verbose=0).history
    out = m.predict(df.limit(20)).toPandas()
    got = np.stack(out["prediction"].to_numpy())
    local = m.predict(np.stack(out["features"].to_numpy()).astype(np.float32))
    return {"replay_diff": float(np.abs(two.store.data - replay(x, y, 64, 20)).max()),
            "workers": d2.info["workers"], "seconds": t2, "session": type(spark).__module__,
            "keras_loss": hist["loss"], "keras_predict_diff": float(np.abs(got - local).max())}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenarios", nargs="+")
    ap.add_argument("--master", default="local-cluster[2,1,1024]")
    ap.add_argument("--remote", default=None)
    ap.add_argument("--mnist", default=os.path.join(os.path.dirname(ROOT), "shared", "testdata", "mnist"))
    args = ap.parse_args(argv)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    t = time.perf_counter()
    if args.remote:
        spark = SparkSession.builder.remote(args.remote).config("spark.sql.shuffle.partitions", "2").getOrCreate()
    else:
        spark = (SparkSession.builder.master(args.master).appName("zoo-cluster-tests")
                 .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                 .config("spark.sql.shuffle.partitions", "2").config("spark.executor.memory", "900m")
                 .config("spark.task.maxFailures", "4").config("spark.stage.maxConsecutiveAttempts", "4")
                 .getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        # wait for the executors (a barrier stage needs all its slots)
        want = int(args.master.split("[")[1].split(",")[0]) if args.master.startswith("local-cluster") else 0
        deadline = time.time() + 120
        while want and len(spark.sparkContext.statusTracker().getExecutorInfos()) < want + 1 \
                and time.time() < deadline:
            time.sleep(0.5)
    out = {"startup_seconds": time.perf_counter() - t}
    try:
        for name in args.scenarios:
            if name == "mnist":
                out[name] = mnist(spark, args.mnist)
            else:
                out[name] = globals()[name](spark)
    finally:
        spark.stop()
    print("RESULT " + json.dumps(out, default=float), flush=True)


if __name__ == "__main__":
    main()
