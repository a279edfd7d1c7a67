"""Engine ops: each defines shape inference, forward and backward in one place (see base.py)."""

from zoo.engine.ops.base import OPS, Ctx, Op, from_config, register
from zoo.engine.ops.linear import Linear, MatMul

__all__ = ["OPS", "Ctx", "Linear", "MatMul", "Op", "from_config", "register"]
