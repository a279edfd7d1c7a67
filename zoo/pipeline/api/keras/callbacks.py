"""Analytics Zoo's `zoo.pipeline.api.keras.callbacks`: an alias of `zoo.keras.callbacks`."""

from zoo.keras.callbacks import *  # noqa: F401,F403
from zoo.keras.callbacks import __all__  # noqa: F401
