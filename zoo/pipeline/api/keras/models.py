"""Analytics Zoo's `zoo.pipeline.api.keras.models`: an alias of `zoo.keras.models`."""

from zoo.keras.models import *
from zoo.keras.models import __all__  # noqa: F401
