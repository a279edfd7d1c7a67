"""Keras-style layers (Keras 2/3 names and Analytics Zoo / Keras 1 spellings).

Each family module lists its layers in `__all__`; this package re-exports them all.
"""

from zoo.keras.layers import (advanced_activations, attention, base, convolutional, core, elementwise, embeddings,
                              local, merge, noise, normalization, pooling, recurrent, shape, wrappers)
from zoo.keras.layers.advanced_activations import *  # noqa: F401,F403
from zoo.keras.layers.attention import *  # noqa: F401,F403
from zoo.keras.layers.base import Input, InputLayer, Layer
from zoo.keras.layers.convolutional import *  # noqa: F401,F403
from zoo.keras.layers.core import *  # noqa: F401,F403
from zoo.keras.layers.elementwise import *  # noqa: F401,F403
from zoo.keras.layers.embeddings import *  # noqa: F401,F403
from zoo.keras.layers.local import *  # noqa: F401,F403
from zoo.keras.layers.merge import *  # noqa: F401,F403
from zoo.keras.layers.noise import *  # noqa: F401,F403
from zoo.keras.layers.normalization import *  # noqa: F401,F403
from zoo.keras.layers.pooling import *  # noqa: F401,F403
from zoo.keras.layers.recurrent import *  # noqa: F401,F403
from zoo.keras.layers.shape import *  # noqa: F401,F403
from zoo.keras.layers.wrappers import *  # noqa: F401,F403

_FAMILIES = (advanced_activations, attention, convolutional, core, elementwise, embeddings, local, merge, noise,
             normalization, pooling, recurrent, shape, wrappers)
__all__ = ["Input", "InputLayer", "Layer"] + sorted({n for m in _FAMILIES for n in m.__all__})


def layer_classes() -> dict:
    """Every layer class (and Keras-1 constructor function) by name, for loading saved models."""
    out = {"InputLayer": InputLayer, "Layer": Layer}
    for m in _FAMILIES:
        for n in m.__all__:
            out[n] = getattr(m, n)
    return out
