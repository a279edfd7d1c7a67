"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate."""

from __future__ import annotations

from zoo.engine import functional as F
from zoo.keras.layers.base import Layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]


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
