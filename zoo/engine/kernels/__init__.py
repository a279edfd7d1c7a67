"""Python -> C calls of zoo's kernels, one module per kernel family.

Every wrapper checks dtypes, shapes and contiguity before calling into C (C trusts
its arguments), so no input from Python can crash the process.
"""

from zoo.engine.kernels import act
from zoo.engine.kernels._common import dtype_code, require

__all__ = ["act", "dtype_code", "require"]
