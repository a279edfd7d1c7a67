"""zoo's graph engine: ops, autodiff, flat parameters, losses, optimizers, training."""

import os as _os

# OpenMP workers spin after each parallel region before sleeping; the default (~300k spins) keeps
# them burning the cores the next kernel or BLAS call needs (measured: a conv then an OpenMP relu
# took 28 ms with the default, 11 ms with 10k spins, under load). Users' own settings win.
if "OMP_WAIT_POLICY" not in _os.environ:
    _os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from zoo.engine import threads
from zoo.engine.graph import Executor, Graph, Tensor
from zoo.engine.params import Parameter, ParamStore

__all__ = ["Executor", "Graph", "Parameter", "ParamStore", "Tensor", "threads"]
