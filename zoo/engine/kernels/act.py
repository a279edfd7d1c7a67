"""Wrappers of the activation and softmax kernels (csrc/act.c).

Every function checks dtypes, shapes, contiguity, writability and overlap before calling C.
`who` names the caller in error messages (an op passes its own name).

Layouts: the fused bias kernels view x as (outer, C, inner) with the bias (C,) broadcast
along the middle axis; `layout(shape, axis)` computes it. Softmax views x as
(outer, L, inner) and normalises along L.
"""

from __future__ import annotations

from math import prod

import numpy as np

from zoo.engine import _native
from zoo.engine.kernels._common import dtype_code, same_shape, writable

# activation codes of csrc/act.c (enum ACT_*); order matters
IDENTITY, RELU, LEAKY, LEAKY_X, ELU, ELU_X, SELU, GELU, GELU_TANH, SIGMOID, HARD_SIGMOID, TANH, SOFTPLUS, \
    SOFTSIGN, SWISH, RELU6, HARD_SWISH, EXP = range(18)
N_KINDS = 18
#: what each kind's derivative reads: None, "y" (the output) or "x" (the input)
SOURCE = (None, "y", "y", "x", "y", "x", "y", "x", "x", "y", "y", "y", "y", "x", "x", "y", "x", "y")


def layout(shape: tuple[int, ...], axis: int) -> tuple[int, int, int]:
    """(outer, C, inner) of an array of `shape` around the (non-negative) `axis`."""
    return prod(shape[:axis]), shape[axis], prod(shape[axis + 1:])


def _check_kind(who: str, kind: int) -> None:
    if not isinstance(kind, int) or not 0 <= kind < N_KINDS:
        raise ValueError(f"{who}: activation code must be an int in [0, {N_KINDS}), got {kind!r}")


def _check_layout(who: str, x: np.ndarray, lay: tuple[int, int, int]) -> None:
    if len(lay) != 3 or any(not isinstance(v, int) or v < 0 for v in lay):
        raise ValueError(f"{who}: layout must be 3 non-negative ints (outer, C, inner), got {lay!r}")
    if lay[0] * lay[1] * lay[2] != x.size:
        raise ValueError(f"{who}: layout {lay} does not cover an array of shape {x.shape} ({x.size} elements)")


def _no_overlap(who: str, out: np.ndarray, *ins: np.ndarray, allow_same: bool = False) -> None:
    for a in ins:
        if a is None or (allow_same and a is out):
            continue
        if np.may_share_memory(out, a):
            if allow_same and out.__array_interface__["data"][0] == a.__array_interface__["data"][0] \
                    and out.shape == a.shape:
                continue
            raise ValueError(f"{who}: output overlaps an input; pass separate arrays")


def act_forward(kind: int, x: np.ndarray, out: np.ndarray | None = None, b: np.ndarray | None = None,
                lay: tuple[int, int, int] | None = None, p0: float = 0.0, p1: float = 0.0,
                who: str = "act_forward") -> np.ndarray:
    """out = f(x + b) with activation code `kind` (parameters p0, p1, see csrc/act.c).

    `b` (C,) is broadcast along the middle axis of `lay` = (outer, C, inner); without `b`
    the layout is ignored. `out` may be `x` itself (in place) but must not overlap it otherwise.
    """
    _check_kind(who, kind)
    if out is None:
        out = np.empty_like(x) if isinstance(x, np.ndarray) else None
    if b is None:
        code = dtype_code(who, x, out)
        lay = (x.size, 1, 1)
    else:
        code = dtype_code(who, x, out, b)
        _check_layout(who, x, lay)
        if b.shape != (lay[1],):
            raise ValueError(f"{who}: expected a bias of shape ({lay[1]},), got {b.shape}")
    same_shape(who, out, x)
    writable(who, out)
    _no_overlap(who, out, x, b, allow_same=True)
    _native.act_forward(out, x, b, lay[0], lay[1], lay[2], kind, float(p0), float(p1), code)
    return out


def act_backward(kind: int, dy: np.ndarray, dx: np.ndarray | None = None, db: np.ndarray | None = None,
                 x: np.ndarray | None = None, b: np.ndarray | None = None, y: np.ndarray | None = None,
                 lay: tuple[int, int, int] | None = None, p0: float = 0.0, p1: float = 0.0,
                 accumulate: bool = False, who: str = "act_backward") -> None:
    """dz = dy * f'(x + b): into dx (shape of dy) and, summed over outer and inner, into db (C,).

    The derivative reads `x` (and `b`) or `y` (the forward output) as `SOURCE[kind]` says.
    dx and db are overwritten, or added into when `accumulate`. `db` needs `lay`.
    """
    _check_kind(who, kind)
    src = SOURCE[kind]
    if src == "x" and x is None:
        raise ValueError(f"{who}: this activation's derivative needs the forward input x")
    if src == "y" and y is None:
        raise ValueError(f"{who}: this activation's derivative needs the forward output y")
    if src != "x":
        x = None
    arrays = [a for a in (dy, dx, db, x, b, y) if a is not None]
    code = dtype_code(who, *arrays)
    same_shape(who, *[a for a in (dy, dx, x, y) if a is not None])
    if db is not None or (b is not None and x is not None):
        if db is not None and src == "x" and b is None:
            raise ValueError(f"{who}: the bias gradient of this activation needs the bias b")
        if lay is None:
            raise ValueError(f"{who}: a bias needs the layout (outer, C, inner)")
        _check_layout(who, dy, lay)
        for name, v in (("db", db), ("b", b)):
            if v is not None and v.shape != (lay[1],):
                raise ValueError(f"{who}: expected {name} of shape ({lay[1]},), got {v.shape}")
    else:
        b = None
        lay = (dy.size, 1, 1)
    for o in (dx, db):
        if o is not None:
            writable(who, o)
            _no_overlap(who, o, dy, x, b, y)
    if dx is not None and db is not None:
        _no_overlap(who, dx, db)
    _native.act_backward(dx, db, dy, x, b, y, lay[0], lay[1], lay[2], kind, float(p0), float(p1),
                         1 if accumulate else 0, code)


def softmax_forward(x: np.ndarray, out: np.ndarray | None = None, lay: tuple[int, int, int] | None = None,
                    log: bool = False, who: str = "softmax_forward") -> np.ndarray:
    """(log-)softmax along the middle axis of `lay` = (outer, L, inner) (default: the last axis)."""
    if out is None:
        out = np.empty_like(x) if isinstance(x, np.ndarray) else None
    code = dtype_code(who, x, out)
    same_shape(who, out, x)
    writable(who, out)
    if lay is None:
        if x.ndim == 0:
            raise ValueError(f"{who}: expected an array of rank >= 1, got a scalar")
        lay = layout(x.shape, x.ndim - 1)
    _check_layout(who, x, lay)
    _no_overlap(who, out, x, allow_same=True)
    _native.softmax_forward(out, x, lay[0], lay[1], lay[2], 1 if log else 0, code)
    return out


def softmax_backward(dy: np.ndarray, y: np.ndarray, dx: np.ndarray, lay: tuple[int, int, int] | None = None,
                     log: bool = False, accumulate: bool = False, who: str = "softmax_backward") -> np.ndarray:
    """dx from dy and the forward output y: softmax y (dy - sum(dy y)), log-softmax dy - exp(y) sum(dy)."""
    code = dtype_code(who, dx, dy, y)
    same_shape(who, dx, dy, y)
    writable(who, dx)
    if lay is None:
        if dy.ndim == 0:
            raise ValueError(f"{who}: expected an array of rank >= 1, got a scalar")
        lay = layout(dy.shape, dy.ndim - 1)
    _check_layout(who, dy, lay)
    _no_overlap(who, dx, dy, y)
    _native.softmax_backward(dx, dy, y, lay[0], lay[1], lay[2], 1 if log else 0, 1 if accumulate else 0, code)
    return dx


def relu_forward(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """out = max(x, 0); `out` may be `x`."""
    if out is None:
        out = np.empty_like(x)
    code = dtype_code("relu_forward", out, x)
    same_shape("relu_forward", out, x)
    writable("relu_forward", out)
    _no_overlap("relu_forward", out, x, allow_same=True)
    _native.relu_forward(out, x, x.size, code)
    return out


def relu_backward(dy: np.ndarray, y: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """dx += dy where y > 0 (y is the forward output)."""
    code = dtype_code("relu_backward", dx, dy, y)
    same_shape("relu_backward", dx, dy, y)
    writable("relu_backward", dx)
    _no_overlap("relu_backward", dx, dy, y)
    _native.relu_backward(dx, dy, y, dx.size, code)
    return dx
