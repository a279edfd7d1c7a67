"""Analytics Zoo's `zoo.pipeline.api.keras.regularizers`: an alias of `zoo.keras.regularizers`."""

from zoo.keras.regularizers import *
from zoo.keras.regularizers import __all__  # noqa: F401
