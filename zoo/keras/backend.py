"""Global Keras-side settings: default image data format and the weight-initialisation RNG."""

from __future__ import annotations

import numpy as np

__all__ = ["image_data_format", "set_image_data_format", "set_seed", "rng", "normalize_data_format"]

_state = {"data_format": "channels_first", "rng": np.random.default_rng(0)}

_ALIASES = {"channels_first": "channels_first", "th": "channels_first", "nchw": "channels_first",
            "channels_last": "channels_last", "tf": "channels_last", "nhwc": "channels_last"}


def normalize_data_format(value, who: str = "data_format") -> str:
    """'channels_first'/'th' or 'channels_last'/'tf' (None: the global default) as Keras's spelling."""
    if value is None:
        return _state["data_format"]
    key = str(value).lower()
    if key not in _ALIASES:
        raise ValueError(f"{who}: expected 'channels_first' ('th') or 'channels_last' ('tf'), got {value!r}")
    return _ALIASES[key]


def image_data_format() -> str:
    """The default data format of image layers: 'channels_first' (Analytics Zoo's 'th') unless changed."""
    return _state["data_format"]


def set_image_data_format(value: str) -> None:
    """Change the default data format of image layers created from now on."""
    _state["data_format"] = normalize_data_format(value, "set_image_data_format")


def set_seed(seed: int) -> None:
    """Seed the RNG that initialises layer weights (models built after this are reproducible)."""
    _state["rng"] = np.random.default_rng(seed)


def rng() -> np.random.Generator:
    return _state["rng"]
