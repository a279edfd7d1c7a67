"""Noise and structured dropout layers; all act in training only and are the identity in inference.

GaussianNoise, GaussianDropout and AlphaDropout (Keras), SpatialDropout1D/2D/3D (whole feature
maps). Random draws come from the executor's per-node generators, so a seeded model repeats them.
Keras 1 / Analytics Zoo spellings: `sigma` (GaussianNoise), `p` (rates), `dim_ordering`.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine import functional as F
from zoo.engine.ops import misc as M
from zoo.keras.layers.base import Layer

__all__ = [
    "AlphaDropout",
    "GaussianDropout",
    "GaussianNoise",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
]


def _rate(layer: Layer, rate, p, default=None) -> float:
    v = rate if rate is not None else (p if p is not None else default)
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or \
            not 0 <= v < 1:
        raise layer.error(f"rate must be a number in [0, 1), got {v!r}")
    return float(v)


class GaussianNoise(Layer):
    """Training: y = x + N(0, stddev^2) noise per element; inference: y = x.

    Args:
        stddev: float >= 0 (Keras 1 / Analytics Zoo: `sigma`). seed: accepted for Keras compatibility;
            the model's seed (`Model.set_seed`) drives the draws.
    """

    def __init__(self, stddev: float | None = None, seed: int | None = None, sigma: float | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        v = stddev if stddev is not None else sigma
        if v is None or isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or \
                not math.isfinite(v) or v < 0:
            raise self.error(f"stddev must be a finite number >= 0, got {v!r}")
        self.stddev = float(v)
        self.seed = seed

    def call(self, x):
        return F.apply_op(M.GaussianNoise(self.stddev), [x])

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Training: y = x * N(1, rate / (1 - rate)) noise per element; inference: y = x.

    Args:
        rate: drop probability in [0, 1) (Keras 1 / Analytics Zoo: `p`).
    """

    def __init__(self, rate: float | None = None, seed: int | None = None, p: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(self, rate, p)
        self.seed = seed

    def call(self, x):
        return F.apply_op(M.GaussianDropout(self.rate), [x])

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(Layer):
    """Dropout that keeps the mean and variance of SELU activations (Keras AlphaDropout): dropped
    units are set to -SELU_ALPHA * SELU_SCALE, then an affine map restores mean and variance.

    Args:
        rate: drop probability in [0, 1). noise_shape: per-sample draw shape (batch axis included,
            None entries take the input's size), e.g. (None, 1, None) to share along axis 1.
    """

    def __init__(self, rate: float | None = None, noise_shape=None, seed: int | None = None,
                 p: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(self, rate, p)
        try:
            self._op = M.AlphaDropout(self.rate, noise_shape)
        except ValueError as e:
            raise self.error(str(e).split(": ", 1)[-1]) from None
        self.noise_shape = self._op.noise_shape
        self.seed = seed

    def call(self, x):
        return F.apply_op(M.AlphaDropout(self.rate, self.noise_shape), [x])

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape)}


class _SpatialDropout(Layer):
    rank = 2

    def __init__(self, rate: float | None = None, data_format=None, seed: int | None = None,
                 p: float | None = None, dim_ordering=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(self, rate, p, default=0.5)
        self.data_format = self._data_format(data_format if data_format is not None else dim_ordering)
        self.seed = seed

    def _noise_shape(self) -> tuple:
        ones = (1,) * self.rank
        if self.data_format == "channels_first":
            return (None, None) + ones
        return (None,) + ones + (None,)

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise self.error(f"expected input of rank {self.rank + 2}, got shape {tuple(input_shape)}")

    def call(self, x):
        return F.dropout(x, self.rate, self._noise_shape()) if self.rate > 0 else x

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "data_format": self.data_format, "seed": self.seed}


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole 1-D feature maps: input (batch, steps, channels); each (sample, channel) is
    kept (scaled by 1/(1 - rate)) or zeroed for all steps. Training only."""

    rank = 1

    def __init__(self, rate: float | None = None, seed: int | None = None, p: float | None = None, **kwargs):
        super().__init__(rate, data_format="channels_last", seed=seed, p=p, **kwargs)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("data_format")
        return cfg


class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole 2-D feature maps: input (batch, C, H, W) ('channels_first'/'th', the default
    unless changed globally) or (batch, H, W, C) ('channels_last'/'tf'). Training only."""

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Dropout of whole 3-D feature maps: input (batch, C, D, H, W) or (batch, D, H, W, C). Training only."""

    rank = 3
