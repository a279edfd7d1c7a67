"""Synchronous data-parallel training on Spark: one long-lived barrier stage, ring all-reduce.

`DistributedTrainer` (driver side) ships the model to one barrier task per worker
(`mapInArrow(..., barrier=True)`, DataFrame APIs only, so Spark Connect sessions work too);
the tasks convert their partition to numpy once, find each other through
`BarrierTaskContext.allGather` and then train over their own TCP ring (`comm.Ring`):
per iteration a reduce-scatter of the flat gradient, the optimizer step on each worker's
own chunk, and an all-gather of the updated weights. `Optimizer` is the BigDL-style front,
`predict_frame` batched inference over a DataFrame.

pyspark is imported only inside the functions that need it.
"""

from zoo.engine.distributed.comm import AuthenticationError, Ring, listen
from zoo.engine.distributed.optimizer import Optimizer
from zoo.engine.distributed.predict import predict_frame, predict_rdd
from zoo.engine.distributed.trainer import DistributedTrainer, default_num_workers, default_threads_per_worker

__all__ = ["AuthenticationError", "DistributedTrainer", "Optimizer", "Ring", "default_num_workers",
           "default_threads_per_worker", "is_spark_data", "listen", "predict_frame", "predict_rdd"]


def is_spark_data(obj) -> bool:
    """Whether `obj` is a Spark DataFrame (classic or Connect) or an RDD (duck-typed, no import)."""
    return hasattr(obj, "mapInArrow") or (hasattr(obj, "barrier") and hasattr(obj, "mapPartitions"))
