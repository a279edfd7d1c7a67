"""zoo's graph engine: ops, autodiff, flat parameters, losses, optimizers, training."""

from zoo.engine import threads
from zoo.engine.graph import Executor, Graph, Tensor
from zoo.engine.params import Parameter, ParamStore

__all__ = ["Executor", "Graph", "Parameter", "ParamStore", "Tensor", "threads"]
