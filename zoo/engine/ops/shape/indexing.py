"""Indexing: Slice, GetItem, Gather.
"""

from __future__ import annotations

import numpy as np

from zoo.engine.ops.base import Ctx, Op, normalize_axis, register
from zoo.engine.ops.shape._common import _axis, _contig, _fmt, _in_range, _is_int


def _slice_len(s: slice, d: int | None) -> int | None:
    return None if d is None else len(range(*s.indices(d)))


def _opt_int(op: str, what: str, v) -> int | None:
    if v is None:
        return None
    if not _is_int(v):
        raise TypeError(f"{op}: {what} must be an int or None, got {v!r}")
    return int(v)


class _Indexing(Op):
    """Basic numpy indexing with a fixed index; subclasses build it from their attributes."""

    def _index(self, ndim: int) -> tuple:
        raise NotImplementedError

    def forward(self, ctx: Ctx, x):
        if getattr(ctx, "ndim", None) != x.ndim:
            try:
                ctx.index = self._index(x.ndim) + (Ellipsis,)
            except ValueError as e:
                raise ValueError(f"{type(self).__name__}: {e}") from None
            ctx.ndim = x.ndim
        ctx.xshape, ctx.dtype = x.shape, x.dtype
        try:
            v = x[ctx.index]
        except IndexError as e:
            raise ValueError(f"{type(self).__name__}: {e} (input shape {_fmt(x.shape)})") from None
        return _contig(ctx, "y", v)

    def backward(self, ctx: Ctx, gy):
        gx = ctx.zeros("gx", ctx.xshape, ctx.dtype)
        gx[ctx.index] = gy
        return (gx,)


@register
class Slice(_Indexing):
    """y = x[..., start:stop:step, ...] on one axis, Python slicing rules (None, negatives, step != 0).

    Example:
        >>> Slice(1, 2, 5).infer_shape((None, 10))
        (None, 3)
    """

    type_name = "slice"

    def __init__(self, axis: int, start: int | None = None, stop: int | None = None, step: int = 1):
        self.axis = _axis("Slice", axis)
        self.start = _opt_int("Slice", "start", start)
        self.stop = _opt_int("Slice", "stop", stop)
        if not _is_int(step) or step == 0:
            raise ValueError(f"Slice: step must be a non-zero int, got {step!r}")
        self.step = int(step)

    def get_config(self) -> dict:
        return {"axis": self.axis, "start": self.start, "stop": self.stop, "step": self.step}

    def _index(self, ndim: int) -> tuple:
        ax = normalize_axis(self.axis, ndim)
        return (slice(None),) * ax + (slice(self.start, self.stop, self.step),)

    def infer_shape(self, x):
        ax = normalize_axis(self.axis, len(x))
        return (
            tuple(x[:ax]) + (_slice_len(slice(self.start, self.stop, self.step), x[ax]),) + tuple(x[ax + 1 :])
        )


@register
class GetItem(_Indexing):
    """y = x[index] with basic numpy indexing over several axes.

    Args:
        index: a sequence whose items are an int (picks one position and drops the axis), a
            `slice` or a [start, stop, step] list (None entries allowed), or Ellipsis / "..."
            (at most one: the axes not named). New axes (None) are not supported: use ExpandDims.
    Example: like x[..., 1:3]
        >>> GetItem([Ellipsis, slice(1, 3)]).infer_shape((None, 4, 6))
        (None, 4, 2)
    """

    type_name = "getitem"

    def __init__(self, index):
        if not isinstance(index, (list, tuple)):
            index = [index]
        items = []
        for it in index:
            if it is Ellipsis or (isinstance(it, str) and it == "..."):
                items.append(Ellipsis)
            elif _is_int(it):
                items.append(int(it))
            elif isinstance(it, slice) or (isinstance(it, (list, tuple)) and len(it) == 3):
                s = (it.start, it.stop, it.step) if isinstance(it, slice) else tuple(it)
                start, stop = (
                    _opt_int("GetItem", "slice start", s[0]),
                    _opt_int("GetItem", "slice stop", s[1]),
                )
                step = _opt_int("GetItem", "slice step", s[2])
                if step == 0:
                    raise ValueError(f"GetItem: slice step must be non-zero, got {index!r}")
                items.append(slice(start, stop, step))
            elif it is None:
                raise ValueError("GetItem: new axes (None) are not supported in index; use ExpandDims")
            else:
                raise TypeError(
                    f"GetItem: index items must be ints, slices, [start, stop, step] lists or "
                    f"Ellipsis, got {it!r}"
                )
        if items.count(Ellipsis) > 1:
            raise ValueError(f"GetItem: index may hold one Ellipsis, got {index!r}")
        self.index = tuple(items)

    def get_config(self) -> dict:
        enc = [
            ("..." if it is Ellipsis else it if isinstance(it, int) else [it.start, it.stop, it.step])
            for it in self.index
        ]
        return {"index": enc}

    def _index(self, ndim: int) -> tuple:
        items = self.index
        named = len(items) - items.count(Ellipsis)
        if named > ndim:
            raise ValueError(f"index {self._text()} has {named} entries, more than the input's rank {ndim}")
        if Ellipsis in items:
            k = items.index(Ellipsis)
            return items[:k] + (slice(None),) * (ndim - named) + items[k + 1 :]
        return items + (slice(None),) * (ndim - named)

    def _text(self) -> str:
        def one(it):
            if it is Ellipsis:
                return "..."
            if isinstance(it, int):
                return str(it)
            txt = lambda v: "" if v is None else str(v)
            return f"{txt(it.start)}:{txt(it.stop)}" + ("" if it.step is None else f":{it.step}")

        return "[" + ", ".join(one(it) for it in self.index) + "]"

    def infer_shape(self, x):
        out = []
        for ax, (it, d) in enumerate(zip(self._index(len(x)), x)):
            if isinstance(it, int):
                _in_range("GetItem", it, d, ax)
            else:
                out.append(_slice_len(it, d))
        return tuple(out)


@register
class Gather(Op):
    """y = take(x, indices, axis): rows of x picked by integer indices (negatives count from the end).

    Indices are fixed (`indices=`) or a second, non-differentiable input (ints, or floats
    holding whole numbers). Shapes: x (..., d, ...), indices (k...) -> (..., k..., ...).
    Backward adds the gradient rows into their source rows (repeated indices accumulate).
    """

    type_name = "gather"
    nondiff_inputs = (1,)

    def __init__(self, axis: int = 0, indices=None):
        self.axis = _axis("Gather", axis)
        if indices is None:
            self.indices = None
        else:
            idx = np.asarray(indices)
            if idx.dtype.kind not in "iu" and not (idx.size == 0 and idx.dtype.kind == "f"):
                raise TypeError(f"Gather: indices must be ints, got {indices!r}")
            self.indices = idx.astype(np.intp)
            self._unique = np.unique(self.indices).size == self.indices.size

    def get_config(self) -> dict:
        return {"axis": self.axis, "indices": None if self.indices is None else self.indices.tolist()}

    def infer_shape(self, x, idx=None):
        if (self.indices is None) == (idx is None):
            raise ValueError(
                "expected indices either as the op's indices= or as a second input, "
                f"got {'both' if idx is not None else 'neither'}"
            )
        ax = normalize_axis(self.axis, len(x))
        if self.indices is not None:
            idx = self.indices.shape
            d = x[ax]
            if (
                d is not None
                and self.indices.size
                and not (-d <= self.indices.min() and self.indices.max() < d)
            ):
                bad = self.indices[(self.indices < -d) | (self.indices >= d)].ravel().tolist()
                raise ValueError(f"indices must lie in [{-d}, {d}) for axis {ax} of size {d}, got {bad}")
        return tuple(x[:ax]) + tuple(idx) + tuple(x[ax + 1 :])

    def forward(self, ctx: Ctx, x, idx=None):
        ax = normalize_axis(self.axis, x.ndim)
        d = x.shape[ax]
        if idx is None:
            idx, unique = self.indices, self._unique
        else:
            idx = idx.astype(np.intp, copy=False)
            unique = False
        if idx.size and (idx.min() < -d or idx.max() >= d):
            raise ValueError(
                f"Gather: indices must lie in [{-d}, {d}) for axis {ax} of size {d}, got "
                f"min {idx.min()} and max {idx.max()}"
            )
        y = ctx.buf("y", x.shape[:ax] + idx.shape + x.shape[ax + 1 :], x.dtype)
        np.take(x, idx, axis=ax, out=y, mode="wrap")
        ctx.xshape, ctx.dtype, ctx.index, ctx.unique = x.shape, x.dtype, (slice(None),) * ax + (idx,), unique
        return y

    def backward(self, ctx: Ctx, gy):
        gx = ctx.zeros("gx", ctx.xshape, ctx.dtype)
        if ctx.unique:
            gx[ctx.index] = gy
        else:
            np.add.at(gx, ctx.index, gy)
        return (gx,) if len(ctx.needs_grad) < 2 else (gx, None)
