"""Shared fixtures: a seeded rng, tolerances, and a real local Spark session."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

_CANDIDATES = [os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "testdata")),
               "/work/shared/testdata"]
TESTDATA = os.environ.get("ZOO_TESTDATA") or next((p for p in _CANDIDATES if os.path.isdir(p)), _CANDIDATES[0])


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def testdata():
    """Path of the third-party test data (../shared/testdata); skips if absent."""
    if not os.path.isdir(TESTDATA):
        pytest.skip(f"test data not found at {TESTDATA} (set ZOO_TESTDATA)")
    return TESTDATA


@pytest.fixture(scope="session")
def tf():
    """TensorFlow as a numeric oracle (imported only by tests)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("tensorflow")


@pytest.fixture(scope="session")
def spark():
    """A real local[2] SparkSession shared by the test session."""
    pyspark = pytest.importorskip("pyspark")  # noqa: F841
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (SparkSession.builder.master("local[2]").appName("zoo-tests")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .getOrCreate())
    yield session
    session.stop()
