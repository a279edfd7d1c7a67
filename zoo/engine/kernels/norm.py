"""Wrappers of the batch-norm and dropout kernels (csrc/norm.c).

Every function checks dtypes, shapes, contiguity, writability and overlap before calling C.
`who` names the caller in error messages. Batch norm views x as (outer, C, inner) with the
channel axis in the middle (see `zoo.engine.kernels.act.layout`).
"""

from __future__ import annotations

import numpy as np

from zoo.engine import _native
from zoo.engine.kernels._common import dtype_code, same_shape, writable


def _check_layout(who: str, x: np.ndarray, lay) -> None:
    if len(lay) != 3 or any(not isinstance(v, int) or v < 0 for v in lay):
        raise ValueError(f"{who}: layout must be 3 non-negative ints (outer, C, inner), got {lay!r}")
    if lay[0] * lay[1] * lay[2] != x.size:
        raise ValueError(f"{who}: layout {lay} does not cover an array of shape {x.shape} ({x.size} elements)")


def _channels(who: str, c: int, **arrays) -> None:
    for name, a in arrays.items():
        if a is not None and a.shape != (c,):
            raise ValueError(f"{who}: expected {name} of shape ({c},), got {a.shape}")


def _disjoint(who: str, outs, ins) -> None:
    outs = [o for o in outs if o is not None]
    for i, o in enumerate(outs):
        for a in list(ins) + outs[i + 1:]:
            if a is not None and np.may_share_memory(o, a):
                raise ValueError(f"{who}: an output overlaps another argument; pass separate arrays")


def bn_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, running_mean: np.ndarray,
               running_var: np.ndarray, lay: tuple[int, int, int], eps: float, momentum: float, training: bool,
               y: np.ndarray, save_mean: np.ndarray, save_invstd: np.ndarray, update: bool = True,
               who: str = "bn_forward") -> np.ndarray:
    """Batch norm of x (outer, C, inner) per channel; returns y.

    Training: batch mean and biased variance, and (if `update`) running = momentum running +
    (1 - momentum) batch, in place. Inference: the running statistics. y = (x - mean) /
    sqrt(var + eps) * gamma + beta; save_mean, save_invstd (C,) get mean and 1/sqrt(var + eps).
    """
    code = dtype_code(who, x, gamma, beta, running_mean, running_var, y, save_mean, save_invstd)
    _check_layout(who, x, lay)
    same_shape(who, x, y)
    _channels(who, lay[1], gamma=gamma, beta=beta, running_mean=running_mean, running_var=running_var,
              save_mean=save_mean, save_invstd=save_invstd)
    writable(who, y, save_mean, save_invstd)
    if training and update:
        writable(who, running_mean, running_var)
    eps, momentum = float(eps), float(momentum)
    if not eps >= 0:
        raise ValueError(f"{who}: epsilon must be >= 0, got {eps}")
    if not 0 <= momentum <= 1:
        raise ValueError(f"{who}: momentum must be in [0, 1], got {momentum}")
    _disjoint(who, (y, save_mean, save_invstd, running_mean if training else None, running_var if training else None),
              (x, gamma, beta))
    _native.bn_forward(y, save_mean, save_invstd, x, gamma, beta, running_mean, running_var, lay[0], lay[1], lay[2],
                       eps, momentum, 1 if training else 0, 1 if update else 0, code)
    return y


def bn_backward(dy: np.ndarray, x: np.ndarray, gamma: np.ndarray, mean: np.ndarray, invstd: np.ndarray,
                lay: tuple[int, int, int], training: bool, dx: np.ndarray | None = None,
                dgamma: np.ndarray | None = None, dbeta: np.ndarray | None = None, accumulate: bool = False,
                who: str = "bn_backward") -> None:
    """Batch-norm gradients from dy, the input x and the saved mean / invstd (C,).

    dbeta = sum dy, dgamma = sum dy (x - mean) invstd per channel; training: dx = gamma invstd
    (dy - dbeta/M - (x - mean) invstd dgamma/M), M = outer * inner; inference: dx = gamma invstd dy.
    Outputs that are None are skipped; the others are overwritten, or added into when `accumulate`.
    """
    arrays = [a for a in (dy, x, gamma, mean, invstd, dx, dgamma, dbeta) if a is not None]
    code = dtype_code(who, *arrays)
    _check_layout(who, x, lay)
    same_shape(who, *[a for a in (dy, x, dx) if a is not None])
    _channels(who, lay[1], gamma=gamma, mean=mean, invstd=invstd, dgamma=dgamma, dbeta=dbeta)
    outs = (dx, dgamma, dbeta)
    writable(who, *[o for o in outs if o is not None])
    _disjoint(who, outs, (dy, x, gamma, mean, invstd))
    _native.bn_backward(dx, dgamma, dbeta, dy, x, gamma, mean, invstd, lay[0], lay[1], lay[2],
                        1 if training else 0, 1 if accumulate else 0, code)


def _threshold(who: str, rate: float) -> int:
    rate = float(rate)
    if not 0 <= rate < 1:
        raise ValueError(f"{who}: rate must be in [0, 1), got {rate}")
    return min(int(rate * 4294967296.0), 4294967295)


def _key(who: str, key: int) -> int:
    if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or not 0 <= key < 2**64:
        raise ValueError(f"{who}: key must be an int in [0, 2**64), got {key!r}")
    return int(key)


def dropout_forward(x: np.ndarray, rate: float, key: int, y: np.ndarray, mask: np.ndarray,
                    who: str = "dropout_forward") -> np.ndarray:
    """Inverted dropout: y = x / (1 - rate) where kept, else 0; mask (uint8, shape of x) = kept.

    The draw of element i is a hash of (i, key): the same key gives the same mask.
    """
    code = dtype_code(who, x, y)
    same_shape(who, x, y)
    if not isinstance(mask, np.ndarray) or mask.dtype != np.uint8 or mask.shape != x.shape \
            or not mask.flags.c_contiguous:
        got = f"{mask.dtype} {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise ValueError(f"{who}: expected a C-contiguous uint8 mask of shape {x.shape}, got {got}")
    writable(who, y, mask)
    _disjoint(who, (y, mask), (x,))
    thr = _threshold(who, rate)
    _native.dropout_forward(y, mask, x, x.size, _key(who, key), thr, 1.0 / (1.0 - float(rate)), code)
    return y


def dropout_mask(m: np.ndarray, rate: float, key: int, who: str = "dropout_mask") -> np.ndarray:
    """m = 1 / (1 - rate) where kept, else 0: the same draws as `dropout_forward` with this key."""
    code = dtype_code(who, m)
    writable(who, m)
    thr = _threshold(who, rate)
    _native.dropout_mask(m, m.size, _key(who, key), thr, 1.0 / (1.0 - float(rate)), code)
    return m


def dropout_backward(dy: np.ndarray, mask: np.ndarray, rate: float, dx: np.ndarray, accumulate: bool = False,
                     who: str = "dropout_backward") -> np.ndarray:
    """dx = dy / (1 - rate) where mask, else 0 (overwritten, or added when `accumulate`)."""
    code = dtype_code(who, dx, dy)
    same_shape(who, dx, dy)
    if not isinstance(mask, np.ndarray) or mask.dtype != np.uint8 or mask.shape != dy.shape \
            or not mask.flags.c_contiguous:
        got = f"{mask.dtype} {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise ValueError(f"{who}: expected a C-contiguous uint8 mask of shape {dy.shape}, got {got}")
    writable(who, dx)
    _disjoint(who, (dx,), (dy, mask))
    rate = float(rate)
    if not 0 <= rate < 1:
        raise ValueError(f"{who}: rate must be in [0, 1), got {rate}")
    _native.dropout_backward(dx, dy, mask, dx.size, 1.0 / (1.0 - rate), 1 if accumulate else 0, code)
    return dx
