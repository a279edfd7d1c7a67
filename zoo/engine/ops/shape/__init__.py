"""Shape ops: Reshape, Flatten, Transpose, Concat, Stack, Split, Slice, GetItem, Pad, Squeeze,
ExpandDims, Repeat, Tile and Gather.

They only move memory, so they are numpy copies (or free views). Shapes include the batch
axis, usually None (unknown) at graph-build time; `infer_shape` keeps a size None when it
cannot be known.

Contiguity: forward outputs and gradients are C-contiguous whenever the op's inputs are.
A result that is a contiguous view (a reshape, a slice of the leading axis) is returned as
a view; otherwise it is copied into a buffer reused across calls, so the C kernels that
consume it never see strided arrays.

Families: `views` (Reshape, Flatten, Squeeze, ExpandDims, Transpose), `joining` (Concat,
Stack, Split), `indexing` (Slice, GetItem, Gather) and `padding` (Pad, Repeat, Tile).
"""

from __future__ import annotations

from zoo.engine.ops.shape._common import common_shape as common_shape
from zoo.engine.ops.shape.indexing import Gather, GetItem, Slice
from zoo.engine.ops.shape.joining import Concat, Split, Stack
from zoo.engine.ops.shape.padding import Pad, Repeat, Tile
from zoo.engine.ops.shape.views import ExpandDims, Flatten, Reshape, Squeeze, Transpose

__all__ = [
    "Concat",
    "ExpandDims",
    "Flatten",
    "Gather",
    "GetItem",
    "Pad",
    "Repeat",
    "Reshape",
    "Slice",
    "Split",
    "Squeeze",
    "Stack",
    "Tile",
    "Transpose",
]
