"""Wrappers of the activation and softmax kernels (csrc/act.c, csrc/softmax.c).

Checks: the C wrappers refuse any buffer of the wrong element type, element count, memory
order or writability, and outputs that overlap inputs, before doing any work. Here the
wrappers add the shape checks and, when a call is refused, run the detailed checks that say
what is wrong in the caller's words (`who`, e.g. an op's name). So the common path costs
about a microsecond and a bad call still gets a precise message.

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
(
    IDENTITY,
    RELU,
    LEAKY,
    LEAKY_X,
    ELU,
    ELU_X,
    SELU,
    GELU,
    GELU_TANH,
    SIGMOID,
    HARD_SIGMOID,
    TANH,
    SOFTPLUS,
    SOFTSIGN,
    SWISH,
    RELU6,
    HARD_SWISH,
    EXP,
) = range(18)
N_KINDS = 18
#: what each kind's derivative reads: None, "y" (the output) or "x" (the input)
SOURCE = (None, "y", "y", "x", "y", "x", "y", "x", "x", "y", "y", "y", "y", "x", "x", "y", "x", "y")

CODES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1}
#: exceptions a refused kernel call raises (the detailed checks then explain it)
REFUSED = (TypeError, ValueError, BufferError, AttributeError, IndexError)


def layout(shape: tuple[int, ...], axis: int) -> tuple[int, int, int]:
    """(outer, C, inner) of an array of `shape` around the (non-negative) `axis`."""
    return prod(shape[:axis]), shape[axis], prod(shape[axis + 1 :])


def code_of(x) -> int:
    """The kernels' dtype code of x (0 float32, 1 float64), -1 for anything else."""
    return CODES.get(getattr(x, "dtype", None), -1)


# ---- detailed checks (run when a call is refused) --------------------------------------------


def _check_kind(who: str, kind) -> None:
    if kind.__class__ is not int or not 0 <= kind < N_KINDS:
        raise ValueError(f"{who}: activation code must be an int in [0, {N_KINDS}), got {kind!r}")


def _check_layout(who: str, x: np.ndarray, lay) -> None:
    if lay is None or len(lay) != 3 or any(not isinstance(v, (int, np.integer)) or v < 0 for v in lay):
        raise ValueError(f"{who}: layout must be 3 non-negative ints (outer, C, inner), got {lay!r}")
    if lay[0] * lay[1] * lay[2] != x.size:
        raise ValueError(
            f"{who}: layout {lay} does not cover an array of shape {x.shape} ({x.size} elements)"
        )


def _check_vector(who: str, name: str, v, c: int) -> None:
    if v is not None and v.size != c:
        raise ValueError(f"{who}: expected {name} of shape ({c},), got {v.shape}")


def _check_arrays(who: str, same: tuple, other: tuple = (), outs: tuple = ()) -> int:
    """dtype code of arrays that must be float, of one dtype and C-contiguous; `same` also of one shape."""
    code = dtype_code(who, *[a for a in same + other if a is not None])
    same_shape(who, *[a for a in same if a is not None])
    writable(who, *[a for a in outs if a is not None])
    return code


def _check_overlap(who: str, outs: tuple, ins: tuple, allow_same: bool = False) -> None:
    for i, o in enumerate(outs):
        if o is None:
            continue
        for a in ins + outs[i + 1 :]:
            if a is None or (allow_same and a is o):
                continue
            if np.may_share_memory(o, a):
                same_start = o.__array_interface__["data"][0] == a.__array_interface__["data"][0]
                if allow_same and same_start and o.shape == a.shape:
                    continue
                raise ValueError(f"{who}: output overlaps an input; pass separate arrays")


# ---- wrappers ---------------------------------------------------------------------------------


def act_forward(
    kind: int,
    x: np.ndarray,
    out: np.ndarray | None = None,
    b: np.ndarray | None = None,
    lay: tuple[int, int, int] | None = None,
    p0: float = 0.0,
    p1: float = 0.0,
    who: str = "act_forward",
) -> np.ndarray:
    """out = f(x + b) with activation code `kind` (parameters p0, p1, see csrc/act.c).

    `b` (C elements) is broadcast along the middle axis of `lay` = (outer, C, inner); without
    `b` the layout is ignored. `out` may be `x` itself (in place) but must not overlap it otherwise.
    """
    if out is None:
        out = np.empty_like(x) if isinstance(x, np.ndarray) else None
    try:
        if out.shape != x.shape:
            raise ValueError
        if b is None:
            lay = (x.size, 1, 1)
        _native.act_forward(out, x, b, lay[0], lay[1], lay[2], kind, p0, p1, code_of(x))
    except REFUSED:
        _check_kind(who, kind)
        _check_arrays(who, (x, out), (b,), (out,))
        if b is not None:
            _check_layout(who, x, lay)
            _check_vector(who, "a bias", b, lay[1])
        _check_overlap(who, (out,), (x, b), allow_same=True)
        raise
    return out


def act_backward(
    kind: int,
    dy: np.ndarray,
    dx: np.ndarray | None = None,
    db: np.ndarray | None = None,
    x: np.ndarray | None = None,
    b: np.ndarray | None = None,
    y: np.ndarray | None = None,
    lay: tuple[int, int, int] | None = None,
    p0: float = 0.0,
    p1: float = 0.0,
    accumulate: bool = False,
    who: str = "act_backward",
) -> None:
    """dz = dy * f'(x + b): into dx (shape of dy) and, summed over outer and inner, into db (C,).

    The derivative reads `x` (and `b`) or `y` (the forward output) as `SOURCE[kind]` says.
    dx and db are overwritten, or added into when `accumulate`. A bias or db needs `lay`.
    """
    try:
        shape = dy.shape
        for a in (dx, x, y):
            if a is not None and a.shape != shape:
                raise ValueError
        if db is None and (b is None or x is None):
            lay = (dy.size, 1, 1)
            b = None
        _native.act_backward(
            dx, db, dy, x, b, y, lay[0], lay[1], lay[2], kind, p0, p1, 1 if accumulate else 0, code_of(dy)
        )
    except REFUSED:
        _check_kind(who, kind)
        src = SOURCE[kind]
        if src == "x" and x is None:
            raise ValueError(f"{who}: this activation's derivative needs the forward input x") from None
        if src == "y" and y is None:
            raise ValueError(f"{who}: this activation's derivative needs the forward output y") from None
        if db is not None and src == "x" and b is None:
            raise ValueError(f"{who}: the bias gradient of this activation needs the bias b") from None
        _check_arrays(who, (dy, dx, x, y), (db, b), (dx, db))
        if db is not None or b is not None:
            _check_layout(who, dy, lay)
            _check_vector(who, "db", db, lay[1])
            _check_vector(who, "b", b, lay[1])
        _check_overlap(who, (dx, db), (dy, x, b, y))
        raise


def softmax_forward(
    x: np.ndarray,
    out: np.ndarray | None = None,
    lay: tuple[int, int, int] | None = None,
    log: bool = False,
    who: str = "softmax_forward",
) -> np.ndarray:
    """(log-)softmax along the middle axis of `lay` = (outer, L, inner) (default: the last axis)."""
    if out is None:
        out = np.empty_like(x) if isinstance(x, np.ndarray) else None
    try:
        if out.shape != x.shape or x.ndim == 0:
            raise ValueError
        if lay is None:
            lay = layout(x.shape, x.ndim - 1)
        _native.softmax_forward(out, x, lay[0], lay[1], lay[2], 1 if log else 0, code_of(x))
    except REFUSED:
        _check_arrays(who, (x, out), (), (out,))
        if x.ndim == 0:
            raise ValueError(f"{who}: expected an array of rank >= 1, got a scalar") from None
        _check_layout(who, x, lay)
        _check_overlap(who, (out,), (x,), allow_same=True)
        raise
    return out


def softmax_backward(
    dy: np.ndarray,
    y: np.ndarray,
    dx: np.ndarray,
    lay: tuple[int, int, int] | None = None,
    log: bool = False,
    accumulate: bool = False,
    who: str = "softmax_backward",
) -> np.ndarray:
    """dx from dy and the forward output y: softmax y (dy - sum(dy y)), log-softmax dy - exp(y) sum(dy)."""
    try:
        if dx.shape != dy.shape or y.shape != dy.shape or dy.ndim == 0:
            raise ValueError
        if lay is None:
            lay = layout(dy.shape, dy.ndim - 1)
        _native.softmax_backward(
            dx, dy, y, lay[0], lay[1], lay[2], 1 if log else 0, 1 if accumulate else 0, code_of(dy)
        )
    except REFUSED:
        _check_arrays(who, (dx, dy, y), (), (dx,))
        if dy.ndim == 0:
            raise ValueError(f"{who}: expected an array of rank >= 1, got a scalar") from None
        _check_layout(who, dy, lay)
        _check_overlap(who, (dx,), (dy, y))
        raise
    return dx


def relu_forward(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """out = max(x, 0); `out` may be `x`."""
    if out is None:
        out = np.empty_like(x) if isinstance(x, np.ndarray) else None
    try:
        if out.shape != x.shape:
            raise ValueError
        _native.relu_forward(out, x, x.size, code_of(x))
    except REFUSED:
        _check_arrays("relu_forward", (x, out), (), (out,))
        _check_overlap("relu_forward", (out,), (x,), allow_same=True)
        raise
    return out


def relu_backward(dy: np.ndarray, y: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """dx += dy where y > 0 (y is the forward output)."""
    try:
        if dx.shape != dy.shape or y.shape != dy.shape:
            raise ValueError
        _native.relu_backward(dx, dy, y, dx.size, code_of(dy))
    except REFUSED:
        _check_arrays("relu_backward", (dx, dy, y), (), (dx,))
        _check_overlap("relu_backward", (dx,), (dy, y))
        raise
    return dx
