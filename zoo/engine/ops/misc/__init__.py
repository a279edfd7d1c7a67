"""Ops behind the remaining Keras layers: parametric and piecewise activations (PRelu, SRelu,
RRelu, ReluGeneral, Threshold, BinaryThreshold, HardShrink, SoftShrink), noise (GaussianNoise,
GaussianDropout, AlphaDropout, GaussianSample), normalization (LayerNorm, WithinChannelLRN)
and utilities (BackwardSlice, ShapeOf, PickInput, BlockGradient).

Every op is a few fused numpy passes writing into `ctx.buf` buffers reused across calls; the
loops are memory bound, so C would not beat them. Float32 stays float32 (scalars are Python
floats, which numpy does not promote) and float64 works for gradient checks. Random ops draw
from `ctx.rng`, so a seeded executor repeats its draws.

    >>> import numpy as np
    >>> from zoo.engine.ops.base import Ctx
    >>> SoftShrink(0.5).forward(Ctx(), np.array([-2.0, 0.2, 1.0])).tolist()
    [-1.5, 0.0, 0.5]

Families: `piecewise` (parametric and piecewise activations), `noise`, `normalization`
and `utility`.
"""

from __future__ import annotations

from zoo.engine.ops.activation import SELU_ALPHA as SELU_ALPHA
from zoo.engine.ops.activation import SELU_SCALE as SELU_SCALE
from zoo.engine.ops.misc.noise import AlphaDropout, GaussianDropout, GaussianNoise, GaussianSample
from zoo.engine.ops.misc.normalization import LayerNorm, WithinChannelLRN
from zoo.engine.ops.misc.piecewise import (
    BinaryThreshold,
    HardShrink,
    PRelu,
    ReluGeneral,
    RRelu,
    SoftShrink,
    SRelu,
    Threshold,
)
from zoo.engine.ops.misc.utility import BackwardSlice, BlockGradient, PickInput, ShapeOf

__all__ = [
    "AlphaDropout",
    "BackwardSlice",
    "BinaryThreshold",
    "BlockGradient",
    "GaussianDropout",
    "GaussianNoise",
    "GaussianSample",
    "HardShrink",
    "LayerNorm",
    "PRelu",
    "PickInput",
    "RRelu",
    "ReluGeneral",
    "SRelu",
    "ShapeOf",
    "SoftShrink",
    "Threshold",
    "WithinChannelLRN",
]
