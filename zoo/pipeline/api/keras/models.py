"""Analytics Zoo's `zoo.pipeline.api.keras.models`: an alias of `zoo.keras.models`."""

from zoo.keras.models import *  # noqa: F401,F403
from zoo.keras.models import __all__  # noqa: F401
