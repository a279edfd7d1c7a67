"""Spark session setup for zoo: `init_nncontext()` / `get_nncontext()`.

`init_nncontext()` creates (or returns) a SparkSession ready for zoo's distributed training
and Spark ML stages, with no cluster needed:

- master `local[*, 4]` by default (all cores, 4 attempts per task, so that a failed training
  task is retried as on a cluster); any master or `conf` may be given;
- `SPARK_LOCAL_IP=127.0.0.1` when unset (the machine's host name may resolve to an address
  Spark cannot bind) and `PYSPARK_PYTHON` / `PYSPARK_DRIVER_PYTHON` = this interpreter, so
  workers import the same packages (the most common setup failure of Analytics Zoo);
- Arrow on for pandas/Arrow conversions; dynamic allocation off (a barrier stage needs all
  its tasks at once); `spark.stage.maxConsecutiveAttempts` 4 (training retries);
- `remote=` (or `SPARK_REMOTE`) gives a Spark Connect session instead: zoo's training and
  ML stages use DataFrame APIs only.

    >>> from zoo.common.nncontext import init_nncontext   # doctest: +SKIP
    >>> spark = init_nncontext()                            # doctest: +SKIP
    >>> sc = spark.sparkContext                             # classic sessions only

Analytics Zoo returned a SparkContext; zoo returns the SparkSession (`.sparkContext` is the
context for classic sessions). pyspark is imported inside the functions.
"""

from __future__ import annotations

import os
import sys

__all__ = ["DEFAULT_CONF", "get_nncontext", "init_nncontext", "init_spark_conf"]

#: settings applied unless the caller's conf sets them
DEFAULT_CONF = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "true",
    "spark.dynamicAllocation.enabled": "false",
    "spark.stage.maxConsecutiveAttempts": "4",
    "spark.task.maxFailures": "4",
    "spark.ui.showConsoleProgress": "false",
    "spark.python.worker.reuse": "true",
}

_session = None


def _prepare_environment() -> None:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)


def init_spark_conf(conf=None) -> dict:
    """zoo's defaults merged under `conf` (a dict or a `SparkConf`); returns a dict."""
    merged = dict(DEFAULT_CONF)
    if conf is None:
        return merged
    if isinstance(conf, dict):
        items = conf.items()
    elif hasattr(conf, "getAll"):
        items = conf.getAll()
    else:
        raise TypeError(f"init_nncontext: conf must be a dict or a SparkConf, got {type(conf).__name__}")
    for k, v in items:
        merged[str(k)] = str(v)
    return merged


def init_nncontext(conf=None, app_name: str = "zoo", master: str | None = None, remote: str | None = None,
                   log_level: str = "WARN"):
    """Create (or return the active) SparkSession configured for zoo; see the module docstring.

    Args:
        conf: extra Spark settings (dict or SparkConf); they win over zoo's defaults.
        app_name: the application name.
        master: e.g. "local[4]", "local-cluster[2,1,1024]", "spark://host:7077", "yarn";
            default `local[*, 4]` (or the `spark.master` in conf / `MASTER`).
        remote: a Spark Connect URL ("sc://host:15002", or "local[2]" to start a local
            Connect server); default `SPARK_REMOTE` if set.
        log_level: the JVM log level ("WARN" keeps the console quiet).
    """
    global _session
    _prepare_environment()
    from pyspark.sql import SparkSession

    settings = init_spark_conf(conf)
    remote = remote or os.environ.get("SPARK_REMOTE")
    if remote:
        builder = SparkSession.builder.remote(remote).appName(app_name)
        for k, v in settings.items():
            if k.startswith("spark.sql."):
                builder = builder.config(k, v)
        _session = builder.getOrCreate()
        return _session
    master = master or settings.pop("spark.master", None) or os.environ.get("MASTER") or "local[*, 4]"
    settings.pop("spark.master", None)
    builder = SparkSession.builder.master(master).appName(app_name)
    for k, v in settings.items():
        builder = builder.config(k, v)
    _session = builder.getOrCreate()
    try:
        _session.sparkContext.setLogLevel(log_level)
    except Exception:  # noqa: BLE001, S110 - Connect-backed sessions have no SparkContext
        pass
    return _session


def get_nncontext(create: bool = True):
    """The active SparkSession (the one `init_nncontext` made, or any active one); creates it
    with `init_nncontext()` if there is none and `create` is True, else returns None."""
    global _session
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        _session = active
        return active
    if _session is not None:
        try:
            _session.conf.get("spark.app.name")
            return _session
        except Exception:  # noqa: BLE001 - stopped
            _session = None
    return init_nncontext() if create else None
