"""Synchronous data-parallel training on Spark: one long-lived barrier stage, ring all-reduce.

`DistributedTrainer` (driver side) ships the model to one barrier task per worker
(`mapInArrow(..., barrier=True)`, DataFrame APIs only, so Spark Connect sessions work too);
the tasks convert their partition to numpy once, find each other through
`BarrierTaskContext.allGather` and then train over their own TCP ring (`comm.Ring`):
per iteration a reduce-scatter of the flat gradient, the optimizer step on each worker's
own chunk, and an all-gather of the updated weights. `Optimizer` is the BigDL-style front.

pyspark is imported only inside the functions that need it.
"""

from zoo.engine.distributed.comm import AuthenticationError, Ring, listen

__all__ = ["AuthenticationError", "Ring", "listen"]
