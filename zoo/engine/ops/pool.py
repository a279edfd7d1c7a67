"""Pooling: MaxPool2D, AvgPool2D, MaxPool1D, AvgPool1D, GlobalAvgPool, GlobalMaxPool.

Windows walk the last two axes of NCHW input (the last axis of NCL input for 1-D):

    max:  y[n, c, i, j] = max_{(h, w) in window(i, j)} x[n, c, h, w]
    avg:  y[n, c, i, j] = sum_{(h, w) in window(i, j)} x[n, c, h, w] / divisor(i, j)

window(i, j) = rows i*sh - top ... + kh - 1, columns j*sw - left ... + kw - 1, clipped to
the image. The divisor is the count of pixels in the window, or with count_include_pad
the window size clipped to the padded image (Caffe / PyTorch). Padding: 'valid', 'same'
(TF rule: output ceil(H / s), padding ignored by max and not counted by avg unless
count_include_pad), an int, a pair, or explicit ((top, bottom), (left, right)); every pad
must be smaller than the pool size. ceil_mode=True uses Caffe's output size
ceil((H + top + bottom - kh) / sh) + 1 (dropping a last window that would start in the
bottom padding). The C kernels (csrc/pool.c) run one OpenMP thread per (n, c) plane, and
max pooling keeps the argmax for its backward.
"""

from __future__ import annotations

import numpy as np

from zoo.engine import _native
from zoo.engine.kernels import pool as K
from zoo.engine.ops.base import Ctx, Op, as_pair, register
from zoo.engine.ops.window import is_int, padding_config, parse_padding_2d, same_pads

__all__ = ["AvgPool1D", "AvgPool2D", "GlobalAvgPool", "GlobalMaxPool", "MaxPool1D", "MaxPool2D"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _check_float(name: str, x) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array, got {type(x).__name__}")
    if x.dtype not in _FLOATS:
        raise TypeError(f"{name}: expected a float32 or float64 input, got dtype {x.dtype}")
    return x if x.flags.c_contiguous else np.ascontiguousarray(x)


class _PoolPlan:
    __slots__ = ("argmax", "bargs", "dx", "fargs", "g", "key", "y")


class _Pool2D(Op):
    """Shared parts of the 2-D (and, through H = 1, 1-D) window pooling ops."""

    rank = 4

    def __init__(self, pool_size=2, strides=None, padding="valid", ceil_mode: bool = False):
        name = type(self).__name__
        self.pool_size = as_pair(pool_size, f"{name}: pool_size")
        self.strides = self.pool_size if strides is None else as_pair(strides, f"{name}: strides")
        self.padding = parse_padding_2d(padding, name)
        if not isinstance(ceil_mode, (bool, np.bool_)):
            raise TypeError(f"{name}: ceil_mode must be a bool, got {ceil_mode!r}")
        self.ceil_mode = bool(ceil_mode)
        if isinstance(self.padding, tuple):
            for a in range(2):
                if max(self.padding[a]) >= self.pool_size[a]:
                    raise ValueError(
                        f"{name}: padding must be smaller than the pool size {self.pool_size} on "
                        f"each side, got {padding!r}"
                    )

    def get_config(self) -> dict:
        return {
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": padding_config(self.padding),
            "ceil_mode": self.ceil_mode,
        }

    def _pads(self, hw):
        if self.padding == "valid":
            return ((0, 0), (0, 0))
        if self.padding == "same":
            return tuple(same_pads(hw[a], self.pool_size[a], self.strides[a]) for a in range(2))
        return self.padding

    def _infer2d(self, x):
        out = []
        for a, size in enumerate(x[2:]):
            if size is None:
                out.append(None)
                continue
            if self.padding == "same":
                out.append(-(-size // self.strides[a]))
                continue
            lo, hi = self._pads((1, 1))[a]
            n = K.pool_output_size(size, self.pool_size[a], self.strides[a], lo, hi, self.ceil_mode)
            if n < 1:
                raise ValueError(
                    f"pool size {self.pool_size} is larger than the padded input: input shape {x}, "
                    f"padding {self.padding!r}"
                )
            out.append(n)
        return (x[0], x[1], *out)

    def infer_shape(self, x):
        if len(x) != 4:
            raise ValueError(f"expected a 4-D input (N, C, H, W), got shape {tuple(x)}")
        return self._infer2d(tuple(x))

    def _plan(self, ctx: Ctx, x: np.ndarray) -> _PoolPlan:
        key = (x.shape, x.dtype)
        plan = ctx.__dict__.get("pool_plan")
        if plan is not None and plan.key == key:
            return plan
        name = type(self).__name__
        if x.ndim != 4:
            raise ValueError(f"{name}: expected a 4-D input (N, C, H, W), got shape {x.shape}")
        try:
            self._infer2d(x.shape)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
        plan = _PoolPlan()
        plan.key = key
        plan.g = K.PoolGeometry(
            x.shape, self.pool_size, self.strides, self._pads(x.shape[2:]), self.ceil_mode, name
        )
        plan.y = ctx.buf("y", plan.g.out_shape, x.dtype)
        plan.dx = ctx.buf("dx", plan.g.x_shape, x.dtype)
        plan.argmax = ctx.buf("argmax", plan.g.out_shape, np.int32)
        # the kernels' trailing arguments: the plan checked the shapes and owns the buffers
        g, code = plan.g, K.dtype_code(name, x)
        if isinstance(self, MaxPool2D):
            plan.fargs = (g.NC, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.OH, g.OW, code)
            plan.bargs = (g.NC, g.H * g.W, g.OH * g.OW, 1, code)
        else:
            cip = int(self.count_include_pad)
            walk = (g.NC, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.pb, g.pr, g.OH, g.OW, cip)
            plan.fargs = (*walk, code)
            plan.bargs = (*walk, 1, code)
        ctx.pool_plan = plan
        return plan

    def _dx(self, ctx: Ctx, plan: _PoolPlan, gy) -> np.ndarray:
        if not (isinstance(gy, np.ndarray) and gy.flags.c_contiguous and gy.dtype == plan.y.dtype):
            gy = np.ascontiguousarray(gy, dtype=plan.y.dtype)
        if gy.shape != plan.g.out_shape:
            raise ValueError(
                f"{type(self).__name__}: expected an output gradient of shape {plan.g.out_shape}, got "
                f"{gy.shape}"
            )
        return gy

    # 1-D subclasses reshape at the edges
    def _in(self, x):
        return x

    def _out(self, y, plan):
        return y

    def _grad_out(self, gy, plan):
        return gy


@register
class MaxPool2D(_Pool2D):
    """Max pooling of NCHW input (N, C, H, W) -> (N, C, OH, OW); see the module docstring.

    Args:
        pool_size: int or pair (kh, kw). strides: int, pair or None (= pool_size).
        padding: 'valid', 'same', int, pair or ((top, bottom), (left, right)).
        ceil_mode: Caffe's output size rule.

    Example:
        >>> MaxPool2D(2).infer_shape((None, 3, 7, 6))
        (None, 3, 3, 3)
    """

    type_name = "maxpool2d"

    def forward(self, ctx: Ctx, x):
        x = self._in(_check_float(type(self).__name__, x))
        plan = self._plan(ctx, x)
        _native.maxpool2d_forward(plan.y, plan.argmax, x, *plan.fargs)
        return self._out(plan.y, plan)

    def backward(self, ctx: Ctx, gy):
        plan = ctx.pool_plan
        if not ctx.needs_grad[0]:
            return (None,)
        gy = self._dx(ctx, plan, self._grad_out(gy, plan))
        _native.maxpool2d_backward(plan.dx, gy, plan.argmax, *plan.bargs)
        return (self._out_dx(plan.dx, plan),)

    def _out_dx(self, dx, plan):
        return dx


@register
class AvgPool2D(_Pool2D):
    """Average pooling of NCHW input (N, C, H, W) -> (N, C, OH, OW); see the module docstring.

    Args:
        pool_size, strides, padding, ceil_mode: as MaxPool2D.
        count_include_pad: divide by the window size clipped to the padded image instead of
            the pixel count (False, the TF / Keras rule, by default).

    Example:
        >>> AvgPool2D(3, strides=2, padding="same").infer_shape((None, 3, 7, 6))
        (None, 3, 4, 3)
    """

    type_name = "avgpool2d"

    def __init__(
        self,
        pool_size=2,
        strides=None,
        padding="valid",
        ceil_mode: bool = False,
        count_include_pad: bool = False,
    ):
        super().__init__(pool_size, strides, padding, ceil_mode)
        if not isinstance(count_include_pad, (bool, np.bool_)):
            raise TypeError(
                f"{type(self).__name__}: count_include_pad must be a bool, got {count_include_pad!r}"
            )
        self.count_include_pad = bool(count_include_pad)

    def get_config(self) -> dict:
        return {**super().get_config(), "count_include_pad": self.count_include_pad}

    def forward(self, ctx: Ctx, x):
        x = self._in(_check_float(type(self).__name__, x))
        plan = self._plan(ctx, x)
        _native.avgpool2d_forward(plan.y, x, *plan.fargs)
        return self._out(plan.y, plan)

    def backward(self, ctx: Ctx, gy):
        plan = ctx.pool_plan
        if not ctx.needs_grad[0]:
            return (None,)
        gy = self._dx(ctx, plan, self._grad_out(gy, plan))
        _native.avgpool2d_backward(plan.dx, gy, *plan.bargs)
        return (self._out_dx(plan.dx, plan),)

    def _out_dx(self, dx, plan):
        return dx


class _Pool1D:
    """Mixin: NCL input through the 2-D kernels with H = 1."""

    rank = 3

    def _init1d(self, pool_size, strides, padding, ceil_mode):
        name = type(self).__name__
        if not is_int(pool_size) or pool_size < 1:
            raise ValueError(f"{name}: pool_size must be a positive int, got {pool_size!r}")
        if strides is not None and (not is_int(strides) or strides < 1):
            raise ValueError(f"{name}: strides must be a positive int or None, got {strides!r}")
        p = padding.lower() if isinstance(padding, str) else padding
        if p in ("valid", "same"):
            pad2 = p
        elif is_int(p) and p >= 0:
            pad2 = ((0, 0), (int(p), int(p)))
        elif isinstance(p, (tuple, list)) and len(p) == 2 and all(is_int(v) and v >= 0 for v in p):
            pad2 = ((0, 0), (int(p[0]), int(p[1])))
        else:
            raise ValueError(
                f"{name}: padding must be 'valid', 'same', a non-negative int or a pair (left, right), "
                f"got {padding!r}"
            )
        return (1, int(pool_size)), (1, int(pool_size if strides is None else strides)), pad2, ceil_mode

    def get_config(self) -> dict:
        cfg = super().get_config()
        p = self.padding if isinstance(self.padding, str) else list(self.padding[1])
        cfg.update(pool_size=self.pool_size[1], strides=self.strides[1], padding=p)
        return cfg

    def infer_shape(self, x):
        if len(x) != 3:
            raise ValueError(f"expected a 3-D input (N, C, L), got shape {tuple(x)}")
        y = self._infer2d((x[0], x[1], 1, x[2]))
        return (y[0], y[1], y[3])

    def _in(self, x):
        if x.ndim != 3:
            raise ValueError(f"{type(self).__name__}: expected a 3-D input (N, C, L), got shape {x.shape}")
        return x.reshape(x.shape[0], x.shape[1], 1, x.shape[2])

    def _out(self, y, plan):
        return y.reshape(y.shape[0], y.shape[1], y.shape[3])

    def _grad_out(self, gy, plan):
        g = plan.g
        want = (g.x_shape[0], g.x_shape[1], g.OW)
        if not isinstance(gy, np.ndarray) or gy.shape != want:
            raise ValueError(
                f"{type(self).__name__}: expected an output gradient of shape {want}, got "
                f"{getattr(gy, 'shape', type(gy).__name__)}"
            )
        return gy.reshape(g.out_shape)

    def _out_dx(self, dx, plan):
        return dx.reshape(dx.shape[0], dx.shape[1], dx.shape[3])


@register
class MaxPool1D(_Pool1D, MaxPool2D):
    """Max pooling of NCL input (N, C, L) -> (N, C, OL).

    Args:
        pool_size: positive int. strides: positive int or None (= pool_size).
        padding: 'valid', 'same', int or pair (left, right). ceil_mode: Caffe's output size rule.

    Example:
        >>> MaxPool1D(2).infer_shape((None, 3, 7))
        (None, 3, 3)
    """

    type_name = "maxpool1d"

    def __init__(
        self, pool_size: int = 2, strides: int | None = None, padding="valid", ceil_mode: bool = False
    ):
        MaxPool2D.__init__(self, *self._init1d(pool_size, strides, padding, ceil_mode))


@register
class AvgPool1D(_Pool1D, AvgPool2D):
    """Average pooling of NCL input (N, C, L) -> (N, C, OL).

    Args:
        pool_size, strides, padding, ceil_mode: as MaxPool1D.
        count_include_pad: as AvgPool2D.

    Example:
        >>> AvgPool1D(3, strides=2, padding="same").infer_shape((None, 3, 7))
        (None, 3, 4)
    """

    type_name = "avgpool1d"

    def __init__(
        self,
        pool_size: int = 2,
        strides: int | None = None,
        padding="valid",
        ceil_mode: bool = False,
        count_include_pad: bool = False,
    ):
        AvgPool2D.__init__(self, *self._init1d(pool_size, strides, padding, ceil_mode), count_include_pad)


class _GlobalPool(Op):
    def __init__(self, keepdims: bool = False):
        if not isinstance(keepdims, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}: keepdims must be a bool, got {keepdims!r}")
        self.keepdims = bool(keepdims)

    def get_config(self) -> dict:
        return {"keepdims": self.keepdims}

    def infer_shape(self, x):
        if len(x) < 3:
            raise ValueError(f"expected an input (N, C, spatial...) of rank >= 3, got shape {tuple(x)}")
        return (x[0], x[1]) + ((1,) * (len(x) - 2) if self.keepdims else ())

    def _prep(self, ctx: Ctx, x):
        name = type(self).__name__
        x = _check_float(name, x)
        if x.ndim < 3:
            raise ValueError(
                f"{name}: expected an input (N, C, spatial...) of rank >= 3, got shape {x.shape}"
            )
        if x.size == 0:
            raise ValueError(f"{name}: expected a non-empty input, got shape {x.shape}")
        ctx.x_shape, ctx.dtype = x.shape, x.dtype
        return x

    def _yshape(self, shape):
        return (shape[0], shape[1]) + ((1,) * (len(shape) - 2) if self.keepdims else ())

    def _gy(self, ctx: Ctx, gy) -> np.ndarray:
        want = self._yshape(ctx.x_shape)
        if not isinstance(gy, np.ndarray) or gy.shape != want:
            raise ValueError(
                f"{type(self).__name__}: expected an output gradient of shape {want}, got "
                f"{getattr(gy, 'shape', type(gy).__name__)}"
            )
        return gy


@register
class GlobalAvgPool(_GlobalPool):
    """Mean over all spatial axes: x (N, C, *S) -> (N, C), or (N, C, 1, ...) with keepdims.

        y[n, c] = sum_s x[n, c, s] / prod(S)

    Example:
        >>> GlobalAvgPool(keepdims=True).infer_shape((None, 8, 4, 4))
        (None, 8, 1, 1)
    """

    type_name = "global_avg_pool"

    def forward(self, ctx: Ctx, x):
        x = self._prep(ctx, x)
        n, c = x.shape[:2]
        y = ctx.buf("y", (n * c,), x.dtype)
        np.mean(x.reshape(n * c, -1), axis=1, out=y)
        return y.reshape(self._yshape(x.shape))

    def backward(self, ctx: Ctx, gy):
        if not ctx.needs_grad[0]:
            return (None,)
        gy = self._gy(ctx, gy)
        shape = ctx.x_shape
        n, c = shape[:2]
        s = int(np.prod(shape[2:]))
        dx = ctx.buf("dx", (n * c, s), ctx.dtype)
        np.multiply(gy.reshape(n * c, 1), 1.0 / s, out=dx, dtype=ctx.dtype, casting="same_kind")
        return (dx.reshape(shape),)


@register
class GlobalMaxPool(_GlobalPool):
    """Max over all spatial axes: x (N, C, *S) -> (N, C), or (N, C, 1, ...) with keepdims.

        y[n, c] = max_s x[n, c, s]; the gradient goes to the first maximum.

    Example:
        >>> GlobalMaxPool().infer_shape((None, 8, 4, 4))
        (None, 8)
    """

    type_name = "global_max_pool"

    def forward(self, ctx: Ctx, x):
        x = self._prep(ctx, x)
        n, c = x.shape[:2]
        s = x.size // (n * c)
        key = (x.shape, x.dtype)
        if ctx.__dict__.get("gkey") != key:
            ctx.geom = K.PoolGeometry(
                (n * c, 1, s), (1, s), (1, s), ((0, 0), (0, 0)), False, type(self).__name__
            )
            ctx.gkey = key
        y = ctx.buf("y", (n * c, 1, 1), x.dtype)
        ctx.arg = ctx.buf("argmax", (n * c, 1, 1), np.int32)
        K.maxpool2d_forward(x.reshape(n * c, 1, s), y, ctx.arg, ctx.geom)
        return y.reshape(self._yshape(x.shape))

    def backward(self, ctx: Ctx, gy):
        if not ctx.needs_grad[0]:
            return (None,)
        gy = self._gy(ctx, gy)
        shape = ctx.x_shape
        g = ctx.geom
        gy = np.ascontiguousarray(gy, dtype=ctx.dtype).reshape(g.out_shape)
        dx = ctx.buf("dx", g.x_shape, ctx.dtype)
        K.maxpool2d_backward(gy, ctx.arg, dx, g, overwrite=True)
        return (dx.reshape(shape),)
