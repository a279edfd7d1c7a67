"""Analytics Zoo's `zoo.pipeline.api.keras.optimizers`: an alias of `zoo.keras.optimizers`."""

from zoo.keras.optimizers import *  # noqa: F401,F403
from zoo.keras.optimizers import __all__  # noqa: F401
