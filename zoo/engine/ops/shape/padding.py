"""Padding and repetition: Pad, Repeat, Tile.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine.ops.base import Ctx, Op, normalize_axis, register
from zoo.engine.ops.shape._common import _axis, _contig, _fmt, _ints, _is_int


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
