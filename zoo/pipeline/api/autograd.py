"""Analytics Zoo's import path of `zoo.autograd`."""

from zoo.autograd import *  # noqa: F401,F403
from zoo.autograd import __all__  # noqa: F401
