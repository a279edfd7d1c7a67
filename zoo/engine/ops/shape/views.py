"""Shape ops that are views or single copies: Reshape, Flatten, Squeeze, ExpandDims, Transpose.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine.ops.base import Ctx, Op, normalize_axis, register
from zoo.engine.ops.shape._common import _axis, _contig, _fmt, _ints, _is_int, _prod


@register
class Reshape(Op):
    """y = x reshaped to `target_shape`, numpy order (row-major), batch axis included.

    Args:
        target_shape: the output shape including the batch axis. Each entry is a positive
            size, 0 ("copy this axis from the input", as in ONNX: (0, -1) keeps the batch
            and flattens the rest) or -1 (inferred from the element count; at most one).
    Shapes: x (d0, ..., dk) -> target_shape with 0s and the -1 resolved.
    Example:
        >>> Reshape((0, 3, -1)).infer_shape((None, 12))
        (None, 3, 4)
    """

    type_name = "reshape"

    def __init__(self, target_shape):
        if target_shape is None or (not _is_int(target_shape) and any(s is None for s in target_shape)):
            raise ValueError(
                f"Reshape: target_shape holds ints; use 0 to copy an input axis (the batch) or -1 "
                f"to infer one, got {target_shape!r}"
            )
        t = _ints("Reshape", "target_shape", target_shape)
        if any(s < -1 for s in t) or t.count(-1) > 1:
            raise ValueError(
                f"Reshape: target_shape holds positive sizes, 0 (copy the input's axis) and at most "
                f"one -1 (inferred), got {t}"
            )
        self.target_shape = t
        self._copies = 0 in t

    def get_config(self) -> dict:
        return {"target_shape": list(self.target_shape)}

    def infer_shape(self, x):
        t = self.target_shape
        for i, s in enumerate(t):
            if s == 0 and i >= len(x):
                raise ValueError(
                    f"target_shape {t} copies axis {i} (0), but the input {_fmt(x)} has rank {len(x)}"
                )
        out = [x[i] if s == 0 else s for i, s in enumerate(t)]
        cancelled = {i for i, s in enumerate(t) if s == 0 and x[i] is None}
        if any(s is None and i not in cancelled for i, s in enumerate(x)):
            return tuple(None if s == -1 else s for s in out)
        p_in = math.prod(s for s in x if s is not None)
        p_out = math.prod(s for s in out if s is not None and s != -1)
        per = " per sample" if cancelled else ""
        shown = _fmt(out)
        if -1 in out:
            if p_out == 0 or p_in % p_out:
                raise ValueError(
                    f"cannot reshape {_fmt(x)} to {shown}: {p_in} elements{per} do not split into "
                    f"parts of {p_out}"
                )
            out[out.index(-1)] = p_in // p_out
        elif p_in != p_out:
            raise ValueError(f"cannot reshape {_fmt(x)} to {shown}: {p_in} elements{per} vs {p_out}")
        return tuple(out)

    def forward(self, ctx: Ctx, x):
        ctx.xshape = x.shape
        t = self.target_shape
        try:
            if self._copies:
                if getattr(ctx, "key", None) != x.shape:
                    ctx.target = tuple(x.shape[i] if s == 0 else s for i, s in enumerate(t))
                    ctx.key = x.shape
                t = ctx.target
            return x.reshape(t)
        except (ValueError, IndexError):
            raise ValueError(
                f"Reshape: cannot reshape an array of shape {_fmt(x.shape)} to {_fmt(t)}"
            ) from None

    def backward(self, ctx: Ctx, gy):
        return (gy.reshape(ctx.xshape),)


@register
class Flatten(Op):
    """y = x with the axes from `start_axis` on merged: (d0, ..., dk) -> (d0, ..., prod(d_start..dk)).

    The default start_axis=1 maps (N, ...) to (N, prod). A size is None if any merged one is.
    """

    type_name = "flatten"

    def __init__(self, start_axis: int = 1):
        self.start_axis = _axis("Flatten", start_axis)

    def get_config(self) -> dict:
        return {"start_axis": self.start_axis}

    def _start(self, ndim: int) -> int:
        s = self.start_axis + ndim if self.start_axis < 0 else self.start_axis
        if not 0 <= s <= ndim:
            raise ValueError(f"start_axis {self.start_axis} is out of range for rank {ndim}")
        return s

    def infer_shape(self, x):
        s = self._start(len(x))
        return tuple(x[:s]) + (_prod(x[s:]),)

    def forward(self, ctx: Ctx, x):
        ctx.xshape = x.shape
        s = self._start(x.ndim)
        return x.reshape(x.shape[:s] + (math.prod(x.shape[s:]),))

    def backward(self, ctx: Ctx, gy):
        return (gy.reshape(ctx.xshape),)


@register
class Squeeze(Op):
    """y = x without the given axes, which must have size 1: Squeeze(1) maps (N, 1, 5) to (N, 5)."""

    type_name = "squeeze"

    def __init__(self, axis):
        self.axis = _ints("Squeeze", "axis", axis)
        if not self.axis:
            raise ValueError("Squeeze: axis must name at least one axis, got ()")

    def get_config(self) -> dict:
        return {"axis": list(self.axis)}

    def _axes(self, shape) -> tuple[int, ...]:
        axes = tuple(normalize_axis(a, len(shape)) for a in self.axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"axis {self.axis} names an axis twice")
        return axes

    def infer_shape(self, x):
        axes = self._axes(x)
        for a in axes:
            if x[a] is not None and x[a] != 1:
                raise ValueError(f"expected size 1 on axis {a}, got input shape {_fmt(x)}")
        return tuple(s for i, s in enumerate(x) if i not in axes)

    def forward(self, ctx: Ctx, x):
        ctx.xshape = x.shape
        axes = self._axes(x.shape)
        if any(x.shape[a] != 1 for a in axes):
            raise ValueError(f"Squeeze: expected size 1 on axes {axes}, got input shape {_fmt(x.shape)}")
        return x.reshape(tuple(s for i, s in enumerate(x.shape) if i not in axes))

    def backward(self, ctx: Ctx, gy):
        return (gy.reshape(ctx.xshape),)


@register
class ExpandDims(Op):
    """y = x with a new axis of size 1 at `axis` (in -(rank+1) .. rank).

    Example:
        >>> ExpandDims(1).infer_shape((None, 5))
        (None, 1, 5)
    """

    type_name = "expand_dims"

    def __init__(self, axis: int):
        self.axis = _axis("ExpandDims", axis)

    def get_config(self) -> dict:
        return {"axis": self.axis}

    def infer_shape(self, x):
        a = normalize_axis(self.axis, len(x) + 1)
        return tuple(x[:a]) + (1,) + tuple(x[a:])

    def forward(self, ctx: Ctx, x):
        ctx.xshape = x.shape
        return np.expand_dims(x, self.axis)

    def backward(self, ctx: Ctx, gy):
        return (gy.reshape(ctx.xshape),)


@register
class Transpose(Op):
    """y = x with its axes permuted: y.shape[i] = x.shape[perm[i]] (numpy's transpose). Copies."""

    type_name = "transpose"

    def __init__(self, perm):
        p = _ints("Transpose", "perm", perm)
        if sorted(p) != list(range(len(p))):
            raise ValueError(f"Transpose: perm must be a permutation of 0..{len(p) - 1}, got {p}")
        self.perm = p
        self._inv = tuple(int(i) for i in np.argsort(p))

    def get_config(self) -> dict:
        return {"perm": list(self.perm)}

    def infer_shape(self, x):
        if len(x) != len(self.perm):
            raise ValueError(
                f"expected an input of rank {len(self.perm)} for perm {self.perm}, got shape {_fmt(x)}"
            )
        return tuple(x[p] for p in self.perm)

    def forward(self, ctx: Ctx, x):
        if x.ndim != len(self.perm):
            raise ValueError(
                f"Transpose: expected an input of rank {len(self.perm)} for perm {self.perm}, "
                f"got shape {_fmt(x.shape)}"
            )
        return _contig(ctx, "y", x.transpose(self.perm))

    def backward(self, ctx: Ctx, gy):
        return (_contig(ctx, "gx", gy.transpose(self._inv)),)
