"""Shape layers (Analytics Zoo): GetShape, Max, ExpandDim, Select, Narrow, Squeeze, SelectTable.

As in Analytics Zoo, `dim` arguments count the batch axis as 0 (so dim=1 is the first per-sample
axis), accept negatives counted from the end, and may not name the batch axis.

    >>> from zoo.keras.layers import Input
    >>> Select(1, -1)(Input((3, 4))).shape
    (None, 4)
    >>> Narrow(2, 1, -1)(Input((3, 4))).shape
    (None, 3, 3)
"""

from __future__ import annotations

import numpy as np

from zoo.engine import functional as F
from zoo.engine.ops import misc as M
from zoo.engine.ops import reduce as R
from zoo.engine.ops import shape as S
from zoo.keras.layers.base import Layer

__all__ = ["ExpandDim", "GetShape", "Max", "Narrow", "Select", "SelectTable", "Squeeze"]


def _int(layer: Layer, what: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{type(layer).__name__} '{layer.name}': {what} must be an int, got {v!r}")
    return int(v)


def _dim(layer: Layer, dim: int, rank: int, what: str = "dim") -> int:
    """A non-batch axis of a rank-`rank` input from an Analytics Zoo dim (batch axis = 0, negatives allowed)."""
    if not -rank <= dim < rank:
        raise layer.error(f"{what} {dim} is out of range for an input of rank {rank}")
    d = dim % rank
    if d == 0:
        raise layer.error(f"{what} {dim} names the batch axis; expected 1..{rank - 1} or a negative axis")
    return d


class GetShape(Layer):
    """The input's shape (batch size included) as a float vector of length rank (Analytics Zoo GetShape).

    Output shape: (rank,) — no batch axis. Passes no gradient back.
    """

    def compute_output_shape(self, input_shape):
        return (len(input_shape),)

    def call(self, x):
        return F.apply_op(M.ShapeOf(), [x])


class Max(Layer):
    """Maximum over axis `dim` (batch axis = 0), kept with size 1; with return_value=False the
    0-based index of the maximum (first on ties), as floats, instead of the value.

    Args:
        dim: the axis. num_input_dims: accepted for Analytics Zoo compatibility (dims already count
            the batch axis). return_value: values (True) or indices (False).
    """

    def __init__(self, dim: int, num_input_dims: int | None = None, return_value: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.dim = _int(self, "dim", dim)
        self.num_input_dims = None if num_input_dims is None or num_input_dims < -(2 ** 30) else int(num_input_dims)
        self.return_value = bool(return_value)

    def call(self, x):
        d = _dim(self, self.dim, len(x.shape))
        op = R.Max(d, keepdims=True) if self.return_value else R.ArgMax(d, keepdims=True)
        return F.apply_op(op, [x])

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "num_input_dims": self.num_input_dims,
                "return_value": self.return_value}


class ExpandDim(Layer):
    """Inserts an axis of size 1 at position `dim` of the output (batch axis = 0, so dim >= 1;
    -1 appends at the end): (batch, 3, 4) with dim=1 -> (batch, 1, 3, 4)."""

    def __init__(self, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.dim = _int(self, "dim", dim)

    def call(self, x):
        d = _dim(self, self.dim, len(x.shape) + 1)
        return F.apply_op(S.ExpandDims(d), [x])

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


class Select(Layer):
    """Picks position `index` (0-based, negatives from the end) of axis `dim` and drops that axis."""

    def __init__(self, dim: int, index: int, **kwargs):
        super().__init__(**kwargs)
        self.dim = _int(self, "dim", dim)
        self.index = _int(self, "index", index)

    def call(self, x):
        d = _dim(self, self.dim, len(x.shape))
        n = x.shape[d]
        if n is not None and not -n <= self.index < n:
            raise self.error(f"index {self.index} is out of range for axis {d} of size {n} (input shape {x.shape})")
        return F.getitem(x, (slice(None),) * d + (self.index,))

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "index": self.index}


class Narrow(Layer):
    """Keeps `length` positions of axis `dim` from `offset` (0-based): x[..., offset:offset+length, ...].

    A negative length counts from the end: -1 keeps up to the last position, -2 all but the last, ...
    """

    def __init__(self, dim: int, offset: int, length: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.dim = _int(self, "dim", dim)
        self.offset = _int(self, "offset", offset)
        self.length = _int(self, "length", length)
        if self.offset < 0:
            raise self.error(f"offset must be >= 0, got {offset!r}")
        if self.length == 0:
            raise self.error("length must be non-zero (positive, or negative to count from the end)")

    def call(self, x):
        d = _dim(self, self.dim, len(x.shape))
        n = x.shape[d]
        stop = self.offset + self.length if self.length > 0 else (None if self.length == -1 else self.length + 1)
        if n is not None:
            real = len(range(n)[self.offset:stop])
            if real < 1 or (self.length > 0 and stop > n):
                raise self.error(f"offset {self.offset} and length {self.length} do not fit axis {d} of size {n} "
                                 f"(input shape {x.shape})")
        return F.apply_op(S.Slice(d, self.offset, stop), [x])

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "offset": self.offset, "length": self.length}


class Squeeze(Layer):
    """Removes axes of size 1: those named by `dim` (an int or a tuple; batch axis = 0), or, with
    dim=None, every per-sample axis of size 1."""

    def __init__(self, dim=None, **kwargs):
        super().__init__(**kwargs)
        if dim is None:
            self.dim = None
        else:
            t = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
            self.dim = tuple(_int(self, "dim", v) for v in t)

    def call(self, x):
        rank = len(x.shape)
        if self.dim is None:
            axes = tuple(a for a in range(1, rank) if x.shape[a] == 1)
        else:
            axes = tuple(sorted({_dim(self, v, rank) for v in self.dim}))
            for a in axes:
                if x.shape[a] != 1:
                    raise self.error(f"expected size 1 on axis {a}, got input shape {x.shape}")
        if not axes:
            return F.activation(x, "linear")
        return F.apply_op(S.Squeeze(axes), [x])

    def get_config(self):
        return {**super().get_config(), "dim": None if self.dim is None else list(self.dim)}


class SelectTable(Layer):
    """Of a list of inputs, outputs the one at `index` (0-based; negatives from the end)."""

    def __init__(self, index: int, **kwargs):
        super().__init__(**kwargs)
        self.index = _int(self, "index", index)

    def compute_output_shape(self, input_shape):
        return input_shape[self.index]

    def call(self, xs):
        if not isinstance(xs, list):
            raise self.error(f"expected a list of inputs, got {xs!r}")
        if not -len(xs) <= self.index < len(xs):
            raise self.error(f"index {self.index} is out of range for {len(xs)} inputs")
        return F.apply_op(M.PickInput(self.index), xs)

    def get_config(self):
        return {**super().get_config(), "index": self.index}
