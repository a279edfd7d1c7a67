"""Analytics Zoo's `zoo.pipeline.api.keras.metrics`: an alias of `zoo.keras.metrics`."""

from zoo.keras.metrics import *  # noqa: F401,F403
from zoo.keras.metrics import __all__  # noqa: F401
