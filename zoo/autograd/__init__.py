"""autograd: symbolic Variable math for Lambda layers and custom losses.

Every Keras layer output in the functional API is a `Variable` (an engine graph tensor);
the functions here add engine nodes, so expressions are differentiated automatically and
train with no Python in the loop.
"""

from zoo.autograd.layers import Constant, Lambda, Parameter
from zoo.autograd.loss import CustomLoss
from zoo.autograd.math import *  # noqa: F401,F403
from zoo.autograd.math import __all__ as _math

__all__ = ["Constant", "CustomLoss", "Lambda", "Parameter", *_math]
