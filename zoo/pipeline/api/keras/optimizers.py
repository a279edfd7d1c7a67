"""Analytics Zoo's `zoo.pipeline.api.keras.optimizers`: an alias of `zoo.keras.optimizers`."""

from zoo.keras.optimizers import *
from zoo.keras.optimizers import __all__  # noqa: F401
