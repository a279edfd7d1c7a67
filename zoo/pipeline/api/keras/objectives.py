"""Analytics Zoo's `zoo.pipeline.api.keras.objectives`: an alias of `zoo.keras.objectives`."""

from zoo.keras.objectives import *
from zoo.keras.objectives import __all__  # noqa: F401
