"""The README's demo runs end to end (arrays, then a Spark DataFrame in local mode)."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.spark
@pytest.mark.slow
def test_demo_trains_locally_and_on_spark():
    pytest.importorskip("pyspark")
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "demo_cnn.py"), "--epochs", "3",
                           "--samples", "1500"], capture_output=True, text=True, timeout=900, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = proc.stdout
    local = [ln for ln in out.splitlines() if ln.startswith("held-out accuracy")]
    spark = [ln for ln in out.splitlines() if ln.startswith("Spark, 2 workers: held-out accuracy")]
    assert local and spark, out[-2000:]
    acc = float(spark[0].split("accuracy ")[1].split("%")[0])
    assert acc > 90.0, spark[0]
