"""Analytics Zoo's `zoo.pipeline.api.keras.layers`: an alias of `zoo.keras.layers`."""

from zoo.keras.layers import *
from zoo.keras.layers import __all__  # noqa: F401
