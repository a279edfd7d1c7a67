"""Multi-process Spark: local-cluster[2,1,1024] (two executor JVMs) and a Spark Connect session.

Each scenario runs in a child Python process (tests/distributed/cluster_jobs.py) with its own
session, so this test session never holds two SparkSessions. On a busy 2-core machine the
JVMs alone take a minute to start, hence `slow`.
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_jobs(*args, timeout=900) -> dict:
    pytest.importorskip("pyspark")
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "tests.distributed.cluster_jobs", *args], check=False, cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise AssertionError(f"cluster job {args} failed (exit {proc.returncode}):\n{tail}")
    return json.loads(lines[-1][len("RESULT "):])


@pytest.fixture(scope="module")
def cluster():
    return run_jobs("--master", "local-cluster[2,1,1024]", "equivalence", "fault")


def test_two_executors_equal_one(cluster):
    r = cluster["equivalence"]
    assert r["workers"] == [1, 2]
    assert r["max_diff"] < 1e-5
    assert r["replay_diff"] < 1e-5  # and both equal the same steps replayed by one local Trainer
    assert r["bytes_sent"] > 0


def test_worker_killed_resumes_from_checkpoint(cluster):
    """Rank 1's Python process is killed at iteration 12; Spark retries the barrier stage, the
    workers resume from the iteration-10 checkpoint and end with the uninterrupted run's weights."""
    r = cluster["fault"]
    assert r["killed"]
    assert r["resumed"] == {"iteration": 10, "file": "checkpoint.zip"}
    assert r["diff"] == 0.0 and r["slots_diff"] == 0.0 and r["loss_diff"] == 0.0
    # nothing lost or double-counted
    assert r["iterations_b"] == list(range(1, 21)) == r["iterations_a"]
    assert r["state"] == [20, 2]


def test_spark_connect_session():
    pytest.importorskip("grpc")
    pytest.importorskip("google.rpc")
    r = run_jobs("--remote", "local[2]", "connect")["connect"]
    assert r["session"].startswith("pyspark.sql.connect")
    assert r["workers"] == 2 and r["replay_diff"] < 1e-5
    # Model.fit(df) / Model.predict(df) under Connect
    assert len(r["keras_loss"]) == 2 and r["keras_loss"][1] < r["keras_loss"][0]
    assert r["keras_predict_diff"] < 1e-6


def test_lenet_mnist_two_workers_reach_local_accuracy(testdata):
    r = run_jobs("--master", "local-cluster[2,1,1024]", "--mnist", os.path.join(testdata, "mnist"), "mnist",
                 timeout=1500)["mnist"]
    assert r["acc_local"] > 0.95
    assert r["acc_dist"] > 0.95
    assert abs(r["acc_dist"] - r["acc_local"]) < 0.015
    assert r["acc_driver"] == pytest.approx(r["acc_dist"], abs=1e-9)  # the driver holds the trained weights
