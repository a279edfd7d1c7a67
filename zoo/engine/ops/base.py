"""The op protocol: shape inference, forward and backward of one operation in one place.

An op is a small object holding its static attributes (strides, axes, ...). The graph
calls `infer_shape` once when a node is built, and the executor calls `forward` and
`backward` with a per-node `Ctx` that keeps what backward needs and reusable buffers.

- `infer_shape(*shapes)` gets input shapes with `None` for unknown (batch) sizes and
  returns the output shape (a tuple of shapes when `n_outputs > 1`). It raises
  ValueError with "expected ..., got ..." text; the graph prefixes the node's name.
- `forward(ctx, *xs)` returns the output array(s). Outputs may live in `ctx.buf(...)`
  buffers, which are reused on the next call: the executor copies what it hands out.
- `backward(ctx, gy)` gets the output gradient (a tuple when `n_outputs > 1`, with None
  for outputs nobody used) and returns one gradient per input, None where
  `ctx.needs_grad[i]` is False or the input is not differentiable. Returned arrays may
  be fresh, `ctx.buf` buffers, or views of `gy`; the executor never writes into them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

OPS: dict[str, type[Op]] = {}


def register(cls: type[Op]) -> type[Op]:
    """Class decorator: make an op constructible by its `type_name` (used by loading)."""
    if not cls.type_name:
        raise TypeError(f"{cls.__name__} needs a type_name")
    if cls.type_name in OPS and OPS[cls.type_name] is not cls:
        raise TypeError(f"op type_name {cls.type_name!r} is registered twice")
    OPS[cls.type_name] = cls
    return cls


def from_config(type_name: str, config: dict) -> Op:
    """Re-create an op from `type_name` and `get_config()`."""
    cls = OPS.get(type_name)
    if cls is None:
        raise ValueError(f"unknown op type {type_name!r}; known: {sorted(OPS)}")
    return cls(**config)


class Ctx:
    """Per-node state for one executor: mode, RNG, saved tensors and reusable buffers."""

    def __init__(self, name: str = "", training: bool = False, seed: int = 0, n_inputs: int = 0):
        self.name = name
        self.training = training
        self.rng = np.random.default_rng(seed)
        self.needs_grad: tuple[bool, ...] = (True,) * n_inputs
        self._bufs: dict[Any, np.ndarray] = {}

    def buf(self, key: Any, shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
        """An uninitialised array of `shape`, the same one each call with the same key and shape."""
        b = self._bufs.get(key)
        if b is None or b.shape != shape or b.dtype != dtype:
            b = np.empty(shape, dtype=dtype)
            self._bufs[key] = b
        return b

    def zeros(self, key: Any, shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
        """Like `buf`, filled with zeros."""
        b = self.buf(key, shape, dtype)
        b.fill(0)
        return b


class Op:
    """Base of all engine ops; see the module docstring for the protocol."""

    type_name: ClassVar[str] = ""
    n_outputs: ClassVar[int] = 1
    #: indices of inputs that never get a gradient (labels, ids, running statistics)
    nondiff_inputs: ClassVar[tuple[int, ...]] = ()

    def infer_shape(self, *shapes: tuple) -> tuple:
        raise NotImplementedError

    def forward(self, ctx: Ctx, *xs: np.ndarray):
        raise NotImplementedError

    def backward(self, ctx: Ctx, gy):
        raise NotImplementedError

    def get_config(self) -> dict:
        """Constructor arguments (JSON-serialisable)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# ---- helpers shared by op families --------------------------------------------------------


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `g` over the axes numpy broadcasting added or stretched to reach g.shape from `shape`."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1)
    out = g.sum(axis=axes, keepdims=True) if axes else g
    return out.reshape(shape)


def broadcast_shapes(a: tuple, b: tuple) -> tuple:
    """numpy broadcasting of two shapes that may hold None (unknown sizes)."""
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x == 1:
            out.append(y)
        elif y == 1 or x == y:
            out.append(x)
        elif x is None or y is None:
            out.append(x if y is None else y)
        else:
            raise ValueError(f"shapes {a} and {b} do not broadcast (axis sizes {x} and {y})")
    return tuple(out)


def normalize_axis(axis: int, ndim: int, what: str = "axis") -> int:
    """A possibly negative axis as a non-negative index below `ndim`."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{what} must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what} {axis} is out of range for rank {ndim}")
    return int(axis) % ndim


def as_pair(v, what: str, allow_zero: bool = False) -> tuple[int, int]:
    """An int or a pair of ints as a validated pair."""
    t = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    low = 0 if allow_zero else 1
    if len(t) != 2 or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) and i >= low for i in t):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{what} must be a {kind} int or a pair of them, got {v!r}")
    return int(t[0]), int(t[1])
