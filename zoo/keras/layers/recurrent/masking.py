"""Step masks (how a (batch, time) 0/1 mask travels beside the data) and the Masking layer.

The layer that makes a masked output records it with `set_mask(layer, output, mask)`, and
`get_mask(x)` finds the mask of a tensor, looking through layers that keep the (batch, time)
axes and act per step (MASK_PASS_THROUGH).
"""

from __future__ import annotations

import numpy as np

from zoo.engine import graph as G
from zoo.engine.graph import Tensor
from zoo.engine.ops import recurrent as R
from zoo.keras.layers.base import Layer

__all__ = ["MASK_PASS_THROUGH", "Masking", "get_mask", "set_mask"]

#: layers that keep the (batch, time) axes and work per step: a mask passes through them
MASK_PASS_THROUGH = {
    "Dropout",
    "SpatialDropout1D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "Activation",
    "Dense",
    "BatchNormalization",
    "LayerNormalization",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "ThresholdedReLU",
    "ReLU",
    "TimeDistributed",
    "ActivityRegularization",
}


# ---- masks ------------------------------------------------------------------------------------


def set_mask(layer: Layer, output: Tensor, mask: Tensor | None) -> None:
    """Record that `output`, made by `layer`, carries the (batch, time) step mask `mask`."""
    if mask is None:
        return
    masks = layer.__dict__.setdefault("_output_masks", {})
    masks[(id(output.node), output.index)] = (output, mask)


def get_mask(x: Tensor) -> Tensor | None:
    """The step mask that travels with `x`, or None.

    Looks at the layer that made x (its recorded masks), then through per-step layers
    (MASK_PASS_THROUGH) whose input has the same (batch, time) axes.
    """
    seen = 0
    while isinstance(x, Tensor) and seen < 64:
        seen += 1
        layer = x.node.tag
        if layer is None:
            return None
        rec = getattr(layer, "_output_masks", {}).get((id(x.node), x.index))
        if rec is not None and rec[0] is x:
            return rec[1]
        if type(layer).__name__ not in MASK_PASS_THROUGH:
            return None
        src = None
        for ins, outs in layer.inbound:
            if any(o is x for o in outs) and len(ins) == 1:
                src = ins[0]
                break
        if (
            src is None
            or len(src.shape) < 2
            or len(x.shape) < 2
            or tuple(src.shape[:2]) != tuple(x.shape[:2])
        ):
            return None
        x = src
    return None


class Masking(Layer):
    """Masks timesteps whose features all equal `mask_value`.

    Output: the input with masked steps set to zero; the step mask travels with it (see the
    module docstring), so a following recurrent layer skips those steps.
    Input shape: (batch, time, ...). Output shape: the same.
    Example:
        >>> from zoo.keras.layers import LSTM
        >>> from zoo.keras.models import Sequential
        >>> Sequential([Masking(0.0, input_shape=(5, 3)), LSTM(2)]).output_shape
        (None, 2)
    """

    def __init__(self, mask_value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.integer, np.floating)):
            raise TypeError(f"Masking '{self.name}': mask_value must be a number, got {mask_value!r}")
        self.mask_value = float(mask_value)

    def call(self, x):
        if len(x.shape) < 2:
            raise self.error(f"expected input of rank >= 2 (batch, time, ...), got shape {x.shape}")
        y, m = G.apply(R.Masking(self.mask_value), [x])
        set_mask(self, y, m)
        return y

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
