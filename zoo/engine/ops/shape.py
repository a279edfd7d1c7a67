"""Shape ops: Reshape, Flatten, Transpose, Concat, Stack, Split, Slice, GetItem, Pad, Squeeze,
ExpandDims, Repeat, Tile and Gather.

They only move memory, so they are numpy copies (or free views). Shapes include the batch
axis, usually None (unknown) at graph-build time; `infer_shape` keeps a size None when it
cannot be known.

Contiguity: forward outputs and gradients are C-contiguous whenever the op's inputs are.
A result that is a contiguous view (a reshape, a slice of the leading axis) is returned as
a view; otherwise it is copied into a buffer reused across calls, so the C kernels that
consume it never see strided arrays.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine.ops.base import Ctx, Op, normalize_axis, register

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


# ---- helpers --------------------------------------------------------------------------------


def _fmt(shape) -> str:
    """A shape as text, None for unknown sizes: (None, 3, 4)."""
    items = ["None" if s is None else str(int(s)) for s in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def common_shape(shapes) -> tuple:
    """The one shape of several inputs' shapes that may hold None (unknown sizes), each None
    filled from another input; ValueError if there are none or they differ."""
    if not shapes:
        raise ValueError("expected at least one input, got none")
    out = list(shapes[0])
    for s in shapes[1:]:
        if len(s) != len(out) or any(a is not None and b is not None and a != b for a, b in zip(out, s)):
            raise ValueError(f"inputs must have one shape, got {_fmt(shapes[0])} and {_fmt(s)}")
        out = [b if a is None else a for a, b in zip(out, s)]
    return tuple(out)


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _ints(op: str, what: str, v, low: int | None = None) -> tuple[int, ...]:
    """`v` (an int or a sequence of ints, each >= low) as a tuple of Python ints."""
    items = (v,) if _is_int(v) else v
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(f"{op}: {what} must be an int or a sequence of ints, got {v!r}") from None
    for i in items:
        if not _is_int(i):
            raise TypeError(f"{op}: {what} must hold ints, got {v!r}")
        if low is not None and i < low:
            raise ValueError(f"{op}: {what} must hold ints >= {low}, got {v!r}")
    return tuple(int(i) for i in items)


def _axis(op: str, axis) -> int:
    if not _is_int(axis):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    return int(axis)


def _contig(ctx: Ctx, key, v: np.ndarray) -> np.ndarray:
    """`v` itself if C-contiguous, else a copy in the reused buffer `key`."""
    if v.flags.c_contiguous:
        return v
    out = ctx.buf(key, v.shape, v.dtype)
    np.copyto(out, v)
    return out


def _prod(sizes) -> int | None:
    """Product of sizes, None if any is unknown."""
    return None if any(s is None for s in sizes) else math.prod(sizes)


def _in_range(op: str, i: int, d: int | None, ax: int) -> None:
    if d is not None and not -d <= i < d:
        raise ValueError(f"index {i} is out of range for axis {ax} of size {d}")


# ---- views ----------------------------------------------------------------------------------


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


# ---- joining and splitting ------------------------------------------------------------------


def _dtype(xs) -> np.dtype:
    d = xs[0].dtype
    for x in xs[1:]:
        if x.dtype != d:
            return np.result_type(*xs)
    return d


@register
class Concat(Op):
    """y = the inputs joined along `axis`; all other axes must match. Any number of inputs.

    Shapes: (..., a_i, ...) for each input i -> (..., sum_i a_i, ...).
    Backward returns views of the output gradient where they are C-contiguous (axis 0,
    or only size-1 axes before `axis`), else contiguous copies.
    """

    type_name = "concat"

    def __init__(self, axis: int = -1):
        self.axis = _axis("Concat", axis)

    def get_config(self) -> dict:
        return {"axis": self.axis}

    def infer_shape(self, *shapes):
        if not shapes:
            raise ValueError("expected at least one input, got none")
        first = shapes[0]
        for s in shapes[1:]:
            if len(s) != len(first):
                raise ValueError(f"inputs must have one rank, got {_fmt(first)} and {_fmt(s)}")
        ax = normalize_axis(self.axis, len(first))
        out = list(first)
        for s in shapes[1:]:
            for i, (a, b) in enumerate(zip(out, s)):
                if i == ax:
                    continue
                if a is not None and b is not None and a != b:
                    raise ValueError(
                        f"inputs must match on all axes but {ax}, got {_fmt(first)} and {_fmt(s)}"
                    )
                if a is None:
                    out[i] = b
        sizes = [s[ax] for s in shapes]
        out[ax] = None if any(d is None for d in sizes) else sum(sizes)
        return tuple(out)

    def forward(self, ctx: Ctx, *xs):
        x0 = xs[0]
        ax = normalize_axis(self.axis, x0.ndim)
        shape = list(x0.shape)
        bounds = [0]
        for x in xs:
            bounds.append(bounds[-1] + x.shape[ax])
        shape[ax] = bounds[-1]
        y = ctx.buf("y", tuple(shape), _dtype(xs))
        try:
            np.concatenate(xs, axis=ax, out=y)
        except ValueError:
            raise ValueError(
                f"Concat: inputs must match on all axes but {ax}, got shapes {[_fmt(x.shape) for x in xs]}"
            ) from None
        ctx.ax, ctx.bounds, ctx.dtypes = ax, bounds, [x.dtype for x in xs]
        return y

    def backward(self, ctx: Ctx, gy):
        head = (slice(None),) * ctx.ax
        b = ctx.bounds
        out = []
        for i, need in enumerate(ctx.needs_grad):
            if not need:
                out.append(None)
                continue
            g = _contig(ctx, ("g", i), gy[head + (slice(b[i], b[i + 1]),)])
            out.append(g if g.dtype == ctx.dtypes[i] else g.astype(ctx.dtypes[i]))
        return tuple(out)


@register
class Stack(Op):
    """y = the inputs (all of one shape) stacked on a new axis `axis`: n x (d...) -> (..., n, ...)."""

    type_name = "stack"

    def __init__(self, axis: int = 0):
        self.axis = _axis("Stack", axis)

    def get_config(self) -> dict:
        return {"axis": self.axis}

    def infer_shape(self, *shapes):
        out = common_shape(shapes)
        ax = normalize_axis(self.axis, len(out) + 1)
        return tuple(out[:ax]) + (len(shapes),) + tuple(out[ax:])

    def forward(self, ctx: Ctx, *xs):
        x0 = xs[0]
        ax = normalize_axis(self.axis, x0.ndim + 1)
        y = ctx.buf("y", x0.shape[:ax] + (len(xs),) + x0.shape[ax:], _dtype(xs))
        try:
            np.stack(xs, axis=ax, out=y)
        except ValueError:
            raise ValueError(
                f"Stack: inputs must have one shape, got {[_fmt(x.shape) for x in xs]}"
            ) from None
        ctx.ax, ctx.dtypes = ax, [x.dtype for x in xs]
        return y

    def backward(self, ctx: Ctx, gy):
        head = (slice(None),) * ctx.ax
        out = []
        for i, need in enumerate(ctx.needs_grad):
            g = _contig(ctx, ("g", i), gy[head + (i,)]) if need else None
            out.append(g if g is None or g.dtype == ctx.dtypes[i] else g.astype(ctx.dtypes[i]))
        return tuple(out)


@register
class Split(Op):
    """Outputs = x cut along `axis` into parts of `sizes` (one may be -1: the rest) or into `n` equal parts.

    Shapes: x (..., d, ...) -> (..., s_i, ...) for each part i. Backward writes zeros for the
    parts whose gradient is None (outputs nobody used).
    """

    type_name = "split"

    def __init__(self, axis: int = -1, sizes=None, n: int | None = None):
        self.axis = _axis("Split", axis)
        if (sizes is None) == (n is None):
            raise ValueError(
                f"Split: give exactly one of sizes (the part sizes) and n (a number of equal parts), "
                f"got sizes={sizes!r}, n={n!r}"
            )
        if sizes is not None:
            s = _ints("Split", "sizes", sizes, low=-1)
            if not s or s.count(-1) > 1:
                raise ValueError(f"Split: sizes must be non-empty with at most one -1, got {s}")
            self.sizes, self.n = s, None
        else:
            if not _is_int(n) or n < 1:
                raise ValueError(f"Split: n must be a positive int, got {n!r}")
            self.sizes, self.n = None, int(n)
        self.n_outputs = len(self.sizes) if self.sizes is not None else self.n

    def get_config(self) -> dict:
        return {"axis": self.axis, "sizes": None if self.sizes is None else list(self.sizes), "n": self.n}

    def _parts(self, d: int | None, ax: int, shape) -> list[int | None]:
        if self.n is not None:
            if d is None:
                return [None] * self.n
            if d % self.n:
                raise ValueError(
                    f"expected axis {ax} of size divisible by n={self.n}, got input shape {_fmt(shape)}"
                )
            return [d // self.n] * self.n
        sizes = list(self.sizes)
        if d is None:
            return [None if s == -1 else s for s in sizes]
        rest = d - sum(s for s in sizes if s != -1)
        if (-1 in sizes and rest < 0) or (-1 not in sizes and rest != 0):
            raise ValueError(
                f"sizes {self.sizes} do not fit axis {ax} of size {d} (input shape {_fmt(shape)})"
            )
        return [rest if s == -1 else s for s in sizes]

    def infer_shape(self, x):
        ax = normalize_axis(self.axis, len(x))
        return tuple(tuple(x[:ax]) + (p,) + tuple(x[ax + 1 :]) for p in self._parts(x[ax], ax, x))

    def forward(self, ctx: Ctx, x):
        ax = normalize_axis(self.axis, x.ndim)
        if getattr(ctx, "key", None) != (x.shape, ax):
            try:
                parts = self._parts(x.shape[ax], ax, x.shape)
            except ValueError as e:
                raise ValueError(f"Split: {e}") from None
            head = (slice(None),) * ax
            bounds = np.concatenate([[0], np.cumsum(parts)]).tolist()
            ctx.index = [head + (slice(bounds[i], bounds[i + 1]),) for i in range(len(parts))]
            ctx.key = (x.shape, ax)
        ctx.xshape, ctx.dtype = x.shape, x.dtype
        return tuple(_contig(ctx, ("y", i), x[idx]) for i, idx in enumerate(ctx.index))

    def backward(self, ctx: Ctx, gy):
        gx = ctx.buf("gx", ctx.xshape, ctx.dtype)
        for idx, g in zip(ctx.index, gy):
            if g is None:
                gx[idx] = 0
            else:
                gx[idx] = g
        return (gx,)


# ---- indexing -------------------------------------------------------------------------------


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


# ---- padding and repetition -----------------------------------------------------------------


@register
class Pad(Op):
    """y = x padded with pads[i] = (before, after) elements on each axis i (the batch axis included).

    Modes (as tf.pad / numpy.pad): "constant" fills with `value`; "reflect" mirrors without
    the edge (pads < size); "symmetric" mirrors with the edge (pads <= size).
    Shapes: (d_i) -> (d_i + before_i + after_i).
    """

    type_name = "pad"
    MODES = ("constant", "reflect", "symmetric")

    def __init__(self, pads, mode: str = "constant", value: float = 0.0):
        try:
            pairs = [tuple(p) for p in pads]
        except TypeError:
            raise TypeError(
                f"Pad: pads must be a sequence of (before, after) pairs, one per axis, got {pads!r}"
            ) from None
        if any(len(p) != 2 or not all(_is_int(v) and v >= 0 for v in p) for p in pairs):
            raise ValueError(
                f"Pad: pads must be (before, after) pairs of non-negative ints, one per axis, got {pads!r}"
            )
        if mode not in self.MODES:
            raise ValueError(f"Pad: mode must be one of {self.MODES}, got {mode!r}")
        if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
            raise TypeError(f"Pad: value must be a number, got {value!r}")
        self.pads = tuple((int(a), int(b)) for a, b in pairs)
        self.mode = mode
        self.value = float(value)

    def get_config(self) -> dict:
        return {"pads": [list(p) for p in self.pads], "mode": self.mode, "value": self.value}

    def _check(self, shape) -> None:
        if len(shape) != len(self.pads):
            raise ValueError(
                f"expected pads for each of the {len(shape)} axes of input {_fmt(shape)}, got "
                f"{len(self.pads)} pairs"
            )
        if self.mode != "constant":
            for ax, (d, (b, a)) in enumerate(zip(shape, self.pads)):
                limit = None if d is None else (d - 1 if self.mode == "reflect" else d)
                if limit is not None and max(a, b) > limit and (a or b):
                    raise ValueError(
                        f"{self.mode} padding of axis {ax} (size {d}) allows pads up to {limit}, got {(b, a)}"
                    )

    def infer_shape(self, x):
        self._check(x)
        return tuple(None if d is None else d + b + a for d, (b, a) in zip(x, self.pads))

    def _plan(self, ctx: Ctx, shape) -> None:
        try:
            self._check(shape)
        except ValueError as e:
            raise ValueError(f"Pad: {e}") from None
        full = slice(None)
        ctx.inner = tuple(slice(b, b + d) for d, (b, _) in zip(shape, self.pads))
        ctx.oshape = tuple(d + b + a for d, (b, a) in zip(shape, self.pads))
        borders = []
        for k, (d, (b, a)) in enumerate(zip(shape, self.pads)):
            head = (full,) * k
            if self.mode == "constant":
                if b:
                    borders.append(head + (slice(0, b),))
                if a:
                    borders.append(head + (slice(b + d, None),))
            elif b or a:
                # mirror sources inside the already written part; reflect skips the edge element
                e = 1 if self.mode == "reflect" else 0
                borders.append(
                    (
                        k,
                        head + (slice(0, b),),
                        head + (slice(b + e, 2 * b + e),),
                        head + (slice(b + d, b + d + a),),
                        head + (slice(b + d - a - e, b + d - e),),
                    )
                )
        ctx.borders = borders
        ctx.key = shape

    def forward(self, ctx: Ctx, x):
        if getattr(ctx, "key", None) != x.shape:
            self._plan(ctx, x.shape)
        y = ctx.buf("y", ctx.oshape, x.dtype)
        y[ctx.inner] = x
        if self.mode == "constant":
            for idx in ctx.borders:
                y[idx] = self.value
        else:
            for k, dst_b, src_b, dst_a, src_a in ctx.borders:
                y[dst_b] = np.flip(y[src_b], k)
                y[dst_a] = np.flip(y[src_a], k)
        ctx.xshape = x.shape
        return y

    def backward(self, ctx: Ctx, gy):
        if self.mode == "constant":
            return (_contig(ctx, "gx", gy[ctx.inner]),)
        g = gy
        e = 1 if self.mode == "reflect" else 0
        full = slice(None)
        for k, (d, (b, a)) in enumerate(zip(ctx.xshape, self.pads)):
            if not (b or a):
                continue
            head = (full,) * k
            r = g[head + (slice(b, b + d),)].copy()
            if b:
                r[head + (slice(e, b + e),)] += np.flip(g[head + (slice(0, b),)], k)
            if a:
                r[head + (slice(d - a - e, d - e),)] += np.flip(g[head + (slice(b + d, b + d + a),)], k)
            g = r
        return (np.ascontiguousarray(g) if g is not gy else _contig(ctx, "gx", gy),)


@register
class Repeat(Op):
    """y = numpy.repeat(x, repeats, axis): each element repeated `repeats` times along `axis`.

    Shapes: (..., d, ...) -> (..., d * repeats, ...).
    """

    type_name = "repeat"

    def __init__(self, repeats: int, axis: int):
        if not _is_int(repeats) or repeats < 1:
            raise ValueError(f"Repeat: repeats must be a positive int, got {repeats!r}")
        self.repeats = int(repeats)
        self.axis = _axis("Repeat", axis)

    def get_config(self) -> dict:
        return {"repeats": self.repeats, "axis": self.axis}

    def infer_shape(self, x):
        ax = normalize_axis(self.axis, len(x))
        return tuple(x[:ax]) + (None if x[ax] is None else x[ax] * self.repeats,) + tuple(x[ax + 1 :])

    def forward(self, ctx: Ctx, x):
        ax = normalize_axis(self.axis, x.ndim)
        pre, d, post = math.prod(x.shape[:ax]), x.shape[ax], math.prod(x.shape[ax + 1 :])
        r = self.repeats
        y = ctx.buf("y", x.shape[:ax] + (d * r,) + x.shape[ax + 1 :], x.dtype)
        np.copyto(y.reshape(pre, d, r, post), x.reshape(pre, d, 1, post))
        ctx.xshape, ctx.dims = x.shape, (pre, d, r, post)
        return y

    def backward(self, ctx: Ctx, gy):
        pre, d, r, post = ctx.dims
        gx = ctx.buf("gx", ctx.xshape, gy.dtype)
        np.sum(gy.reshape(pre, d, r, post), axis=2, out=gx.reshape(pre, d, post))
        return (gx,)


@register
class Tile(Op):
    """y = numpy.tile(x, multiples): x repeated multiples[i] times along each axis i (batch included).

    Shapes: (d_i) -> (d_i * multiples[i]).
    """

    type_name = "tile"

    def __init__(self, multiples):
        self.multiples = _ints("Tile", "multiples", multiples, low=1)

    def get_config(self) -> dict:
        return {"multiples": list(self.multiples)}

    def infer_shape(self, x):
        if len(x) != len(self.multiples):
            raise ValueError(
                f"expected an input of rank {len(self.multiples)} for multiples {self.multiples}, "
                f"got shape {_fmt(x)}"
            )
        return tuple(None if d is None else d * m for d, m in zip(x, self.multiples))

    def forward(self, ctx: Ctx, x):
        if x.ndim != len(self.multiples):
            raise ValueError(
                f"Tile: expected an input of rank {len(self.multiples)} for multiples "
                f"{self.multiples}, got shape {_fmt(x.shape)}"
            )
        m = self.multiples
        y = ctx.buf("y", tuple(d * k for d, k in zip(x.shape, m)), x.dtype)
        inter = tuple(v for pair in zip(m, x.shape) for v in pair)
        np.copyto(y.reshape(inter), x.reshape(tuple(v for d in x.shape for v in (1, d))))
        ctx.xshape, ctx.inter = x.shape, inter
        return y

    def backward(self, ctx: Ctx, gy):
        gx = ctx.buf("gx", ctx.xshape, gy.dtype)
        np.sum(gy.reshape(ctx.inter), axis=tuple(range(0, 2 * len(ctx.xshape), 2)), out=gx)
        return (gx,)
