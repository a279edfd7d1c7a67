"""Wrappers of the batch-norm and dropout kernels (csrc/norm.c, csrc/dropout.c).

As in `zoo.engine.kernels.act`, the C wrappers refuse buffers of the wrong element type,
count, memory order or writability, and overlapping outputs, before any work; these wrappers
add shape checks and, when a call is refused, run the detailed checks that explain it in the
caller's words (`who`). Batch norm views x as (outer, C, inner) with the channel axis in the
middle (see `zoo.engine.kernels.act.layout`).
"""

from __future__ import annotations

import numpy as np

from zoo.engine import _native
from zoo.engine.kernels._common import dtype_code, same_shape, writable
from zoo.engine.kernels.act import REFUSED, code_of

_BN_FWD_NAMES = ("gamma", "beta", "running_mean", "running_var", "save_mean", "save_invstd")
_BN_BWD_NAMES = ("gamma", "mean", "invstd", "dgamma", "dbeta")


def _check_layout(who: str, x: np.ndarray, lay) -> None:
    if lay is None or len(lay) != 3 or any(not isinstance(v, (int, np.integer)) or v < 0 for v in lay):
        raise ValueError(f"{who}: layout must be 3 non-negative ints (outer, C, inner), got {lay!r}")
    if lay[0] * lay[1] * lay[2] != x.size:
        raise ValueError(
            f"{who}: layout {lay} does not cover an array of shape {x.shape} ({x.size} elements)"
        )


def _check_channels(who: str, c: int, names: tuple[str, ...], arrays: tuple) -> None:
    for name, a in zip(names, arrays):
        if a is not None and a.shape != (c,):
            raise ValueError(f"{who}: expected {name} of shape ({c},), got {a.shape}")


def _check_arrays(who: str, same: tuple, other: tuple = (), outs: tuple = ()) -> None:
    dtype_code(who, *[a for a in same + other if a is not None])
    same_shape(who, *[a for a in same if a is not None])
    writable(who, *[a for a in outs if a is not None])


def _check_disjoint(who: str, outs: tuple, ins: tuple) -> None:
    for i, o in enumerate(outs):
        if o is None:
            continue
        for a in ins + outs[i + 1 :]:
            if a is not None and np.may_share_memory(o, a):
                raise ValueError(f"{who}: an output overlaps another argument; pass separate arrays")


def _check_mask(who: str, mask, shape: tuple) -> None:
    if (
        not isinstance(mask, np.ndarray)
        or mask.dtype != np.uint8
        or mask.shape != shape
        or not mask.flags.c_contiguous
    ):
        got = f"{mask.dtype} {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise ValueError(f"{who}: expected a C-contiguous uint8 mask of shape {shape}, got {got}")


def _threshold(who: str, rate) -> int:
    """The 32-bit threshold below which a draw is dropped: P(drop) = rate."""
    if not 0 <= rate < 1:
        raise ValueError(f"{who}: rate must be in [0, 1), got {rate}")
    return min(int(rate * 4294967296.0), 4294967295)


def _check_key(who: str, key) -> None:
    if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or not 0 <= key < 2**64:
        raise ValueError(f"{who}: key must be an int in [0, 2**64), got {key!r}")


def bn_forward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    lay: tuple[int, int, int],
    eps: float,
    momentum: float,
    training: bool,
    y: np.ndarray,
    save_mean: np.ndarray,
    save_invstd: np.ndarray,
    update: bool = True,
    relu: bool = False,
    who: str = "bn_forward",
) -> np.ndarray:
    """Batch norm of x (outer, C, inner) per channel; returns y.

    Training: batch mean and biased variance, and (if `update`) running = momentum running +
    (1 - momentum) batch, in place. Inference: the running statistics. y = (x - mean) /
    sqrt(var + eps) * gamma + beta, then max(y, 0) if `relu`; save_mean, save_invstd (C,) get
    mean and 1/sqrt(var + eps).
    """
    try:
        if y.shape != x.shape:
            raise ValueError
        _native.bn_forward(
            y, save_mean, save_invstd, x, gamma, beta, running_mean, running_var, lay[0], lay[1], lay[2],
            eps, momentum, 1 if training else 0, 1 if update else 0, 1 if relu else 0, code_of(x),
        )  # fmt: skip
    except REFUSED:
        vecs = (gamma, beta, running_mean, running_var, save_mean, save_invstd)
        outs = (y, save_mean, save_invstd) + ((running_mean, running_var) if training and update else ())
        _check_arrays(who, (x, y), vecs, outs)
        _check_layout(who, x, lay)
        _check_channels(who, lay[1], _BN_FWD_NAMES, vecs)
        if not eps >= 0:
            raise ValueError(f"{who}: epsilon must be >= 0, got {eps}") from None
        if not 0 <= momentum <= 1:
            raise ValueError(f"{who}: momentum must be in [0, 1], got {momentum}") from None
        _check_disjoint(who, outs, (x, gamma, beta) + ((running_mean, running_var) if not training else ()))
        raise
    return y


def bn_backward(
    dy: np.ndarray,
    x: np.ndarray,
    gamma: np.ndarray,
    mean: np.ndarray,
    invstd: np.ndarray,
    lay: tuple[int, int, int],
    training: bool,
    dx: np.ndarray | None = None,
    dgamma: np.ndarray | None = None,
    dbeta: np.ndarray | None = None,
    accumulate: bool = False,
    y: np.ndarray | None = None,
    who: str = "bn_backward",
) -> None:
    """Batch-norm gradients from dy, the input x and the saved mean / invstd (C,).

    With a fused ReLU, `y` is its output and dz = dy where y > 0, else dz = dy.
    dbeta = sum dz, dgamma = sum dz (x - mean) invstd per channel; training: dx = gamma invstd
    (dz - dbeta/M - (x - mean) invstd dgamma/M), M = outer * inner; inference: dx = gamma invstd dz.
    Outputs that are None are skipped; the others are overwritten, or added into when `accumulate`.
    """
    try:
        if (
            x.shape != dy.shape
            or (dx is not None and dx.shape != dy.shape)
            or (y is not None and y.shape != dy.shape)
        ):
            raise ValueError
        _native.bn_backward(
            dx, dgamma, dbeta, dy, y, x, gamma, mean, invstd, lay[0], lay[1], lay[2],
            1 if training else 0, 1 if accumulate else 0, code_of(dy),
        )  # fmt: skip
    except REFUSED:
        vecs = (gamma, mean, invstd, dgamma, dbeta)
        outs = (dx, dgamma, dbeta)
        _check_arrays(who, (dy, x, dx, y), vecs, outs)
        _check_layout(who, x, lay)
        _check_channels(who, lay[1], _BN_BWD_NAMES, vecs)
        _check_disjoint(who, outs, (dy, y, x, gamma, mean, invstd))
        raise


def dropout_forward(
    x: np.ndarray, rate: float, key: int, y: np.ndarray, mask: np.ndarray, who: str = "dropout_forward"
) -> np.ndarray:
    """Inverted dropout: y = x / (1 - rate) where kept, else 0; mask (uint8, shape of x) = kept.

    The draw of element i is a hash of (i, key): the same key gives the same mask.
    """
    try:
        if y.shape != x.shape or mask.shape != x.shape:
            raise ValueError
        _native.dropout_forward(
            y, mask, x, x.size, key, _threshold(who, rate), 1.0 / (1.0 - rate), code_of(x)
        )
    except (*REFUSED, OverflowError):
        _check_arrays(who, (x, y), (), (y,))
        _check_mask(who, mask, x.shape)
        writable(who, mask)
        _threshold(who, rate)
        _check_key(who, key)
        _check_disjoint(who, (y, mask), (x,))
        raise
    return y


def dropout_mask(m: np.ndarray, rate: float, key: int, who: str = "dropout_mask") -> np.ndarray:
    """m = 1 / (1 - rate) where kept, else 0: the same draws as `dropout_forward` with this key."""
    try:
        _native.dropout_mask(m, m.size, key, _threshold(who, rate), 1.0 / (1.0 - rate), code_of(m))
    except (*REFUSED, OverflowError):
        _check_arrays(who, (m,), (), (m,))
        _threshold(who, rate)
        _check_key(who, key)
        raise
    return m


def dropout_backward(
    dy: np.ndarray,
    mask: np.ndarray,
    rate: float,
    dx: np.ndarray,
    accumulate: bool = False,
    who: str = "dropout_backward",
) -> np.ndarray:
    """dx = dy / (1 - rate) where mask, else 0 (overwritten, or added when `accumulate`)."""
    try:
        if dx.shape != dy.shape or mask.shape != dy.shape:
            raise ValueError
        _threshold(who, rate)
        _native.dropout_backward(
            dx, dy, mask, dx.size, 1.0 / (1.0 - rate), 1 if accumulate else 0, code_of(dy)
        )
    except REFUSED:
        _check_arrays(who, (dx, dy), (), (dx,))
        _check_mask(who, mask, dy.shape)
        _threshold(who, rate)
        _check_disjoint(who, (dx,), (dy, mask))
        raise
    return dx
