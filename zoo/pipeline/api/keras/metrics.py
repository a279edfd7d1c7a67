"""Analytics Zoo's `zoo.pipeline.api.keras.metrics`: an alias of `zoo.keras.metrics`."""

from zoo.keras.metrics import *
from zoo.keras.metrics import __all__  # noqa: F401
