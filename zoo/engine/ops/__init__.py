"""Engine ops: each defines shape inference, forward and backward in one place (see base.py)."""

from zoo.engine.ops.base import OPS, Ctx, Op, from_config, register
from zoo.engine.ops.elementwise import *  # noqa: F401,F403
from zoo.engine.ops.elementwise import __all__ as _elementwise
from zoo.engine.ops.linear import Linear, MatMul
from zoo.engine.ops.reduce import *  # noqa: F401,F403
from zoo.engine.ops.reduce import __all__ as _reduce
from zoo.engine.ops.shape import *  # noqa: F401,F403
from zoo.engine.ops.shape import __all__ as _shape

__all__ = ["OPS", "Ctx", "Linear", "MatMul", "Op", "from_config", "register", *_elementwise, *_reduce, *_shape]
