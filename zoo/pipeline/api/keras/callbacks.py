"""Analytics Zoo's `zoo.pipeline.api.keras.callbacks`: an alias of `zoo.keras.callbacks`."""

from zoo.keras.callbacks import *
from zoo.keras.callbacks import __all__  # noqa: F401
