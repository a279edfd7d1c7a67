"""zoo's graph engine: ops, autodiff, flat parameters, losses, optimizers, training."""

import os as _os

# OpenMP workers spin after each parallel region before sleeping; the default (~300k spins) keeps
# them burning the cores the next kernel or BLAS call needs (measured: a conv then an OpenMP relu
# took 28 ms with the default, 11 ms with 10k spins, under load). Users' own settings win.
if "OMP_WAIT_POLICY" not in _os.environ:
    _os.environ.setdefault("GOMP_SPINCOUNT", "10000")

try:
    from zoo.engine import _native  # noqa: F401
except ImportError as _e:  # a source checkout without the built extension shadows the installed zoo
    raise ImportError(
        f"zoo's C extension (zoo.engine._native) is not built in {_os.path.dirname(_os.path.abspath(__file__))}: "
        "this is a source checkout without a build, imported instead of an installed zoo (the current "
        "directory comes first on sys.path, for Spark's Python workers too). Build it in place with "
        "`pip install -e .` in the checkout, or run from another directory.") from _e

from zoo.engine import threads
from zoo.engine.graph import Executor, Graph, Tensor
from zoo.engine.params import Parameter, ParamStore

__all__ = ["Executor", "Graph", "Parameter", "ParamStore", "Tensor", "threads"]
