"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot (Keras), their
functional forms (add, subtract, ..., dot), and Analytics Zoo's Merge / merge(inputs, mode)."""

from __future__ import annotations

import numpy as np

from zoo.engine import functional as F
from zoo.engine.graph import Tensor
from zoo.engine.ops import linear as LN
from zoo.engine.ops import reduce as R
from zoo.keras.layers.base import Layer

__all__ = [
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
    "Merge",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "merge",
    "minimum",
    "multiply",
    "subtract",
]


class _Merge(Layer):
    def _check(self, xs):
        if not isinstance(xs, (list, tuple)) or len(xs) < 2:
            raise self.error(f"expected a list of at least 2 inputs, got {xs!r}")
        return list(xs)


class Add(_Merge):
    """Elementwise sum of the inputs (numpy broadcasting)."""

    def call(self, xs):
        return F.add_n(self._check(xs))


class Subtract(_Merge):
    """x0 - x1."""

    def call(self, xs):
        xs = self._check(xs)
        if len(xs) != 2:
            raise self.error(f"expected exactly 2 inputs, got {len(xs)}")
        return F.sub(xs[0], xs[1])


class Multiply(_Merge):
    """Elementwise product of the inputs."""

    def call(self, xs):
        xs = self._check(xs)
        y = xs[0]
        for x in xs[1:]:
            y = F.mul(y, x)
        return y


class Average(_Merge):
    """Elementwise mean of the inputs."""

    def call(self, xs):
        xs = self._check(xs)
        return F.mul_scalar(F.add_n(xs), 1.0 / len(xs))


class Maximum(_Merge):
    def call(self, xs):
        xs = self._check(xs)
        y = xs[0]
        for x in xs[1:]:
            y = F.maximum(y, x)
        return y


class Minimum(_Merge):
    def call(self, xs):
        xs = self._check(xs)
        y = xs[0]
        for x in xs[1:]:
            y = F.minimum(y, x)
        return y


class Concatenate(_Merge):
    """Concatenation along `axis` (default -1)."""

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, xs):
        return F.concat(self._check(xs), self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _batch_dot(x, y, a0: int, a1: int):
    """Keras batch_dot of x and y contracting x's axis a0 with y's axis a1 (batch axis 0 excluded):
    output (batch, x's other axes..., y's other axes...), or (batch, 1) when both are vectors."""
    xs, ys = x.shape, y.shape
    xr = [a for a in range(1, len(xs)) if a != a0]
    yr = [a for a in range(1, len(ys)) if a != a1]
    if xr:
        x = F.transpose(x, [0] + xr + [a0]) if a0 != len(xs) - 1 else x
        x = x if len(xs) == 3 else F.reshape(x, (0, -1, xs[a0]))
    else:
        x = F.reshape(x, (0, 1, xs[a0]))
    if yr:
        y = F.transpose(y, [0, a1] + yr) if a1 != 1 else y
        y = y if len(ys) == 3 else F.reshape(y, (0, ys[a1], -1))
    else:
        y = F.reshape(y, (0, ys[a1], 1))
    out = F.apply_op(LN.MatMul(), [x, y])
    if len(xr) == 1 and len(yr) == 1:
        return out
    shape = tuple(-1 if d is None else d for d in (tuple(xs[a] for a in xr) + tuple(ys[a] for a in yr)))
    return F.reshape(out, (0,) + (shape if shape else (1,)))


class Dot(_Merge):
    """Dot product of two inputs along `axes` (Keras Dot, batch_dot semantics).

    Args:
        axes: an int (the same axis of both) or a pair; negatives count from the end; never 0.
        normalize: L2-normalize both inputs along the axes first (the result is the cosine similarity).
    Shapes: x1 (batch, ..., d, ...), x2 (batch, ..., d, ...) -> (batch, x1's other axes..., x2's
    other axes...), or (batch, 1) for two (batch, d) inputs.
    """

    def __init__(self, axes, normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        ok = isinstance(axes, (int, np.integer)) and not isinstance(axes, bool)
        if not ok:
            try:
                ok = len(axes) == 2 and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                                            for a in axes)
            except TypeError:
                ok = False
        if not ok:
            raise TypeError(f"Dot '{self.name}': axes must be an int or a pair of ints, got {axes!r}")
        self.axes = int(axes) if isinstance(axes, (int, np.integer)) else tuple(int(a) for a in axes)
        self.normalize = bool(normalize)

    def _axes(self, xs) -> tuple[int, int]:
        out = []
        for i, x in enumerate(xs):
            a = self.axes if isinstance(self.axes, int) else self.axes[i]
            r = len(x.shape)
            if not -r <= a < r or a % r == 0:
                raise self.error(f"axes {self.axes} name axis {a}, which is not a feature axis of input {i} "
                                 f"with shape {x.shape}")
            out.append(a % r)
        d0, d1 = xs[0].shape[out[0]], xs[1].shape[out[1]]
        if d0 is None or d1 is None or d0 != d1:
            raise self.error(f"expected equal sizes on the dot axes, got shapes {xs[0].shape} and {xs[1].shape} "
                             f"with axes {tuple(out)} ({d0} vs {d1})")
        return out[0], out[1]

    def call(self, xs):
        xs = self._check(xs)
        if len(xs) != 2:
            raise self.error(f"expected exactly 2 inputs, got {len(xs)}")
        a0, a1 = self._axes(xs)
        x, y = xs
        if self.normalize:
            x = F.apply_op(R.L2Normalize(a0, eps=1e-14), [x])
            y = F.apply_op(R.L2Normalize(a1, eps=1e-14), [y])
        return _batch_dot(x, y, a0, a1)

    def get_config(self):
        return {**super().get_config(), "axes": self.axes if isinstance(self.axes, int) else list(self.axes),
                "normalize": self.normalize}


_MODES = ("sum", "mul", "concat", "ave", "cos", "dot", "max", "min", "sub", "div")


class Merge(_Merge):
    """Analytics Zoo / Keras 1 merge of several inputs by `mode`:

    'sum', 'mul', 'ave', 'max', 'min' (any number of inputs of one shape), 'sub', 'div' (two),
    'concat' (along `concat_axis`, default -1), 'dot' (two (batch, d) inputs -> (batch, 1)) and
    'cos' (cosine similarity of two (batch, d) inputs -> (batch, 1, 1)).

    `layers`: optional list of layers already called (or tensors); the merge is then applied to
    their outputs at once (Keras 1), and `merge_layer.output` is the merged tensor.
    """

    def __init__(self, layers=None, mode: str = "sum", concat_axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        m = str(mode).lower()
        if m not in _MODES:
            raise ValueError(f"Merge '{self.name}': mode must be one of {list(_MODES)}, got {mode!r}")
        self.mode = m
        if isinstance(concat_axis, bool) or not isinstance(concat_axis, (int, np.integer)):
            raise TypeError(f"Merge '{self.name}': concat_axis must be an int, got {concat_axis!r}")
        self.concat_axis = int(concat_axis)
        self.output = None
        if layers is not None:
            ins = []
            for v in layers:
                if isinstance(v, Tensor):
                    ins.append(v)
                elif getattr(v, "built", False) and len(getattr(v, "outputs", ())) == 1 \
                        and isinstance(v.outputs[0], Tensor):  # a built model (Keras 1: Merge([left, right]))
                    ins.append(v.outputs[0])
                elif isinstance(v, Layer) and v.inbound and len(v.inbound[-1][1]) == 1:
                    ins.append(v.inbound[-1][1][0])
                else:
                    raise ValueError(f"Merge '{self.name}': layers must be tensors, built models or layers that "
                                     f"have been called (one output each), got {v!r}")
            self.output = self(ins)

    def _same(self, xs):
        for x in xs[1:]:
            if tuple(x.shape) != tuple(xs[0].shape):
                raise self.error(f"mode {self.mode!r} expects inputs of one shape, got "
                                 f"{[tuple(v.shape) for v in xs]}")

    def call(self, xs):
        xs = self._check(xs)
        m = self.mode
        if m == "concat":
            r = len(xs[0].shape)
            if not -r <= self.concat_axis < r or self.concat_axis % r == 0:
                raise self.error(f"concat_axis {self.concat_axis} is not a feature axis of input shape {xs[0].shape}")
            return F.concat(xs, self.concat_axis)
        self._same(xs)
        if m in ("sub", "div", "dot", "cos") and len(xs) != 2:
            raise self.error(f"mode {m!r} takes exactly 2 inputs, got {len(xs)}")
        if m == "sum":
            return F.add_n(xs)
        if m == "ave":
            return F.mul_scalar(F.add_n(xs), 1.0 / len(xs))
        if m in ("mul", "max", "min"):
            fn = {"mul": F.mul, "max": F.maximum, "min": F.minimum}[m]
            y = xs[0]
            for x in xs[1:]:
                y = fn(y, x)
            return y
        if m == "sub":
            return F.sub(xs[0], xs[1])
        if m == "div":
            return F.div(xs[0], xs[1])
        if len(xs[0].shape) != 2:
            raise self.error(f"mode {m!r} expects 2-D inputs (batch, features), got shape {xs[0].shape}")
        a, b = xs
        if m == "cos":
            a = F.apply_op(R.L2Normalize(-1, eps=1e-12), [a])
            b = F.apply_op(R.L2Normalize(-1, eps=1e-12), [b])
        y = F.reduce(F.mul(a, b), "sum", axis=-1, keepdims=True)
        return F.reshape(y, (0, 1, 1)) if m == "cos" else y

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "concat_axis": self.concat_axis}


def merge(inputs, mode: str = "sum", concat_axis: int = -1, name: str | None = None):
    """Functional Analytics Zoo merge: Merge(mode=mode, concat_axis=concat_axis, name=name)(inputs)."""
    return Merge(mode=mode, concat_axis=concat_axis, name=name)(list(inputs))


def add(inputs, **kwargs):
    """Functional Add."""
    return Add(**kwargs)(list(inputs))


def subtract(inputs, **kwargs):
    """Functional Subtract."""
    return Subtract(**kwargs)(list(inputs))


def multiply(inputs, **kwargs):
    """Functional Multiply."""
    return Multiply(**kwargs)(list(inputs))


def average(inputs, **kwargs):
    """Functional Average."""
    return Average(**kwargs)(list(inputs))


def maximum(inputs, **kwargs):
    """Functional Maximum."""
    return Maximum(**kwargs)(list(inputs))


def minimum(inputs, **kwargs):
    """Functional Minimum."""
    return Minimum(**kwargs)(list(inputs))


def concatenate(inputs, axis: int = -1, **kwargs):
    """Functional Concatenate."""
    return Concatenate(axis=axis, **kwargs)(list(inputs))


def dot(inputs, axes=-1, normalize: bool = False, **kwargs):
    """Functional Dot."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(list(inputs))
