"""Keras-style layers (Keras 2/3 names and Analytics Zoo / Keras 1 spellings).

Each family module lists its layers in `__all__`; this package re-exports them all.
"""

from zoo.keras.layers import advanced_activations as _advanced_activations
from zoo.keras.layers import attention as _attention
from zoo.keras.layers import convolutional as _convolutional
from zoo.keras.layers import core as _core
from zoo.keras.layers import elementwise as _elementwise
from zoo.keras.layers import embeddings as _embeddings
from zoo.keras.layers import local as _local
from zoo.keras.layers import merge as _merge
from zoo.keras.layers import noise as _noise
from zoo.keras.layers import normalization as _normalization
from zoo.keras.layers import pooling as _pooling
from zoo.keras.layers import recurrent as _recurrent
from zoo.keras.layers import shape as _shape
from zoo.keras.layers import wrappers as _wrappers
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

_FAMILIES = (_advanced_activations, _attention, _convolutional, _core, _elementwise, _embeddings, _local, _merge,
             _noise, _normalization, _pooling, _recurrent, _shape, _wrappers)
__all__ = ["Input", "InputLayer", "Layer"] + sorted({n for m in _FAMILIES for n in m.__all__})


def layer_classes() -> dict:
    """Every layer class (and Keras-1 constructor function) by name, for loading saved models."""
    out = {"InputLayer": InputLayer, "Layer": Layer}
    for m in _FAMILIES:
        for n in m.__all__:
            if isinstance(getattr(m, n), type) or n[:1].isupper():
                out[n] = getattr(m, n)
    return out
