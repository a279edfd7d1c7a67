"""Engine ops: each defines shape inference, forward and backward in one place (see base.py)."""

from zoo.engine.ops.activation import (ACTIVATIONS, Activation, BiasAct, Elu, Exponential, Gelu, HardSigmoid,
                                       HardSwish, LeakyRelu, LogSoftmax, Relu, Relu6, Selu, Sigmoid, Softmax,
                                       Softplus, Softsign, Swish, Tanh)
from zoo.engine.ops.base import OPS, Ctx, Op, from_config, register
from zoo.engine.ops.conv import Conv1D, Conv2D
from zoo.engine.ops.elementwise import *  # noqa: F401,F403
from zoo.engine.ops.elementwise import __all__ as _elementwise
from zoo.engine.ops import (attention, az_losses, conv3d, conv_extra, embedding, misc,  # noqa: F401
                            recurrent)  # (imported to register their ops by type name)
from zoo.engine.ops.linear import Linear, MatMul
from zoo.engine.ops.norm import LRN, BatchNorm, Dropout
from zoo.engine.ops.pool import AvgPool1D, AvgPool2D, GlobalAvgPool, GlobalMaxPool, MaxPool1D, MaxPool2D
from zoo.engine.ops.reduce import *  # noqa: F401,F403
from zoo.engine.ops.reduce import __all__ as _reduce
from zoo.engine.ops.shape import *  # noqa: F401,F403
from zoo.engine.ops.shape import __all__ as _shape

__all__ = ["OPS", "ACTIVATIONS", "Activation", "AvgPool1D", "AvgPool2D", "BatchNorm", "BiasAct", "Conv1D", "Conv2D",
           "Ctx", "Dropout", "Elu", "Exponential", "Gelu", "GlobalAvgPool", "GlobalMaxPool", "HardSigmoid",
           "HardSwish", "LRN", "LeakyRelu", "Linear", "LogSoftmax", "MatMul", "MaxPool1D", "MaxPool2D", "Op", "Relu",
           "Relu6", "Selu", "Sigmoid", "Softmax", "Softplus", "Softsign", "Swish", "Tanh", "from_config", "register",
           *_elementwise, *_reduce, *_shape]
