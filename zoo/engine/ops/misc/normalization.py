"""Normalization ops: LayerNorm and WithinChannelLRN.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine.ops.base import Ctx, Op, register
from zoo.engine.ops.misc._common import _axes_arg, _float, _is_int, _number, _resolve_axes


@register
class LayerNorm(Op):
    """Normalization over `axis` (layer normalization by default), affine along `param_axis`:

        y = (x - mean) / sqrt(var + epsilon) * gamma + beta,

    mean and (biased) var taken over the axes `axis` of each position of the others. Inputs: x,
    then gamma if `scale`, then beta if `center`; each has the shape of x on `param_axis`
    (default: `axis`), e.g. (d,) for Keras LayerNormalization over the last axis, or (C,) with
    axis = all but C and param_axis = C for per-batch feature-wise normalization.
    Gradients, with xh the normalized input, g = gy * gamma, R the reduced axes:
    gx = (g - mean_R(g) - xh * mean_R(g * xh)) / sqrt(var + epsilon),
    g gamma = sum of gy * xh over the non-parameter axes, g beta = sum of gy likewise.
    """

    type_name = "layer_norm"

    def __init__(
        self, axis=-1, epsilon: float = 1e-3, center: bool = True, scale: bool = True, param_axis=None
    ):
        who = "LayerNorm"
        self.axis = _axes_arg(who, "axis", axis)
        self.param_axis = self.axis if param_axis is None else _axes_arg(who, "param_axis", param_axis)
        self.epsilon = _number(who, "epsilon", epsilon, 0.0, low_open=True)
        self.center, self.scale = bool(center), bool(scale)
        self._plans: dict = {}

    def get_config(self) -> dict:
        return {
            "axis": list(self.axis),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "param_axis": list(self.param_axis),
        }

    def _plan(self, shape: tuple):
        """Per input shape: (reduced axes, parameter axes, 2-D view or None, reduce axes in the
        view, parameter shape broadcast in the view, axes summed for the parameter gradients)."""
        plan = self._plans.get(shape)
        if plan is None:
            nd = len(shape)
            r = _resolve_axes("LayerNorm", "axis", self.axis, nd)
            p = _resolve_axes("LayerNorm", "param_axis", self.param_axis, nd)
            if r == p and r == tuple(range(nd - len(r), nd)) and None not in shape:
                d = math.prod(shape[a] for a in r)  # trailing axes: one (rows, d) view
                plan = (r, p, (math.prod(shape[: nd - len(r)]), d), (1,), (d,), (0,))
            else:
                pview = tuple(shape[a] if a in p else 1 for a in range(nd))
                plan = (r, p, None, r, pview, tuple(a for a in range(nd) if a not in p))
            if None not in shape:
                self._plans[shape] = plan
        return plan

    def infer_shape(self, x, *params):
        n = int(self.scale) + int(self.center)
        if len(params) != n:
            raise ValueError(
                f"expected {n} parameter input(s) (scale={self.scale}, center={self.center}), "
                f"got {len(params)}"
            )
        p = self._plan(tuple(x))[1]
        want = tuple(x[a] for a in p)
        names = (["gamma"] if self.scale else []) + (["beta"] if self.center else [])
        for name, s in zip(names, params):
            if len(s) != len(want) or any(
                a is not None and b is not None and a != b for a, b in zip(want, s)
            ):
                raise ValueError(
                    f"expected {name} of shape {want} for input shape {tuple(x)} and axis "
                    f"{list(self.param_axis)}, got {tuple(s)}"
                )
        return tuple(x)

    def forward(self, ctx: Ctx, x, *params):
        who = "LayerNorm"
        x = _float(who, x)
        r, p, view, red, pview, _ = plan = self._plan(x.shape)
        xv = x.reshape(view) if view is not None else x
        n = max(math.prod(x.shape[a] for a in r), 1)
        ps = [_float(who, v, name) for v, name in zip(params, (["gamma"] if self.scale else []) + ["beta"])]
        for v in ps:
            if v.size != math.prod(pview):
                raise ValueError(
                    f"{who}: expected parameters of shape {tuple(x.shape[a] for a in p)} for input "
                    f"shape {x.shape}, got {v.shape}"
                )
        gamma = ps[0].reshape(pview) if self.scale else None
        beta = ps[-1].reshape(pview) if self.center else None
        dt = x.dtype
        xh = ctx.buf("xh", xv.shape, dt)
        mean = np.add.reduce(xv, axis=red, keepdims=True)
        mean *= 1.0 / n
        np.subtract(xv, mean, out=xh)
        if view is not None:  # rows: fused multiply-sum
            inv = np.einsum("ij,ij->i", xh, xh)[:, None]
        else:
            t = ctx.buf("t", xv.shape, dt)
            np.multiply(xh, xh, out=t)
            inv = np.add.reduce(t, axis=red, keepdims=True)
        inv *= 1.0 / n
        inv += self.epsilon
        np.sqrt(inv, out=inv)
        np.divide(1.0, inv, out=inv)
        xh *= inv
        if gamma is None and beta is None:
            y = xh
        else:
            y = ctx.buf("y", xv.shape, dt)
            if gamma is not None:
                np.multiply(xh, gamma, out=y, casting="unsafe")
            else:
                np.copyto(y, xh)
            if beta is not None:
                np.add(y, beta, out=y, casting="unsafe")
        ctx.xh, ctx.inv, ctx.gamma, ctx.n, ctx.plan = xh, inv, gamma, n, plan
        ctx.shape, ctx.pdt = x.shape, [v.dtype for v in ps]
        return y.reshape(x.shape)

    def backward(self, ctx: Ctx, gy):
        xh, inv, gamma, n = ctx.xh, ctx.inv, ctx.gamma, ctx.n
        _, p, view, red, _, paxes = ctx.plan
        pshape = tuple(ctx.shape[a] for a in p)
        gyv = gy.reshape(xh.shape)
        flags = ctx.needs_grad
        out = [None] * len(flags)
        t = ctx.buf("t", xh.shape, xh.dtype)
        for k in range(1, len(flags)):
            if not flags[k]:
                continue
            if self.scale and k == 1:
                if view is not None:
                    g = np.einsum("ij,ij->j", gyv, xh)
                else:
                    np.multiply(gyv, xh, out=t, casting="unsafe")
                    g = np.add.reduce(t, axis=paxes)
            else:
                g = np.add.reduce(gyv, axis=paxes)
            out[k] = g.reshape(pshape).astype(ctx.pdt[k - 1], copy=False)
        if flags[0]:
            g = ctx.buf("g", xh.shape, xh.dtype)
            if gamma is not None:
                np.multiply(gyv, gamma, out=g, casting="unsafe")
            else:
                np.copyto(g, gyv, casting="unsafe")
            m1 = np.add.reduce(g, axis=red, keepdims=True)
            m1 *= 1.0 / n
            np.multiply(g, xh, out=t)
            m2 = np.add.reduce(t, axis=red, keepdims=True)
            m2 *= 1.0 / n
            dx = ctx.buf("dx", xh.shape, xh.dtype)
            np.multiply(xh, m2, out=dx)
            np.subtract(g, dx, out=dx)
            dx -= m1
            dx *= inv
            out[0] = dx.reshape(ctx.shape)
        return tuple(out)


@register
class WithinChannelLRN(Op):
    """Local response normalization within each channel (Caffe WITHIN_CHANNEL, BigDL
    SpatialWithinChannelLRN): over the two spatial `axes`,

        y = x * (k + alpha / size^2 * S)^-beta,  S = sum of x^2 over the size x size window

    at offsets -(size-1)//2 .. size-1-(size-1)//2 on each axis (zero outside). Shapes: unchanged
    (N, C, H, W with axes (2, 3), or N, H, W, C with axes (1, 2)). Gradient:
    gx = gy s^-beta - 2 alpha beta / size^2 * x * S'(gy y / s), S' the mirrored window sum.
    """

    type_name = "within_channel_lrn"

    def __init__(self, size: int = 5, alpha: float = 1.0, beta: float = 0.75, k: float = 1.0, axes=(2, 3)):
        who = "WithinChannelLRN"
        if not _is_int(size) or size < 1:
            raise ValueError(f"{who}: size must be a positive int, got {size!r}")
        self.size = int(size)
        self.alpha = _number(who, "alpha", alpha)
        self.beta = _number(who, "beta", beta)
        self.k = _number(who, "k", k)
        self.axes = _axes_arg(who, "axes", axes)
        if len(self.axes) != 2:
            raise ValueError(f"{who}: axes must name the 2 spatial axes, got {axes!r}")

    def get_config(self) -> dict:
        return {
            "size": self.size,
            "alpha": self.alpha,
            "beta": self.beta,
            "k": self.k,
            "axes": list(self.axes),
        }

    def infer_shape(self, x):
        _resolve_axes("WithinChannelLRN", "axes", self.axes, len(x))
        return tuple(x)

    def _box(self, ctx: Ctx, key: str, a: np.ndarray, axis: int, before: int) -> np.ndarray:
        """out[.., i, ..] = sum_{j < size} a[.., i - before + j, ..] along `axis` (zeros outside)."""
        n = a.shape[axis]
        sz = self.size
        pshape = a.shape[:axis] + (n + sz - 1,) + a.shape[axis + 1 :]
        pad = ctx.zeros(key + "_pad", pshape, a.dtype)
        idx = [slice(None)] * a.ndim

        def sl(s, e):
            idx[axis] = slice(s, e)
            return tuple(idx)

        pad[sl(before, before + n)] = a
        out = ctx.buf(key, a.shape, a.dtype)
        np.copyto(out, pad[sl(0, n)])
        for j in range(1, sz):
            out += pad[sl(j, j + n)]
        return out

    def _window(self, ctx: Ctx, key: str, a: np.ndarray, mirrored: bool) -> np.ndarray:
        ax = _resolve_axes("WithinChannelLRN", "axes", self.axes, a.ndim)
        pre = (self.size - 1) // 2
        before = self.size - 1 - pre if mirrored else pre
        s = self._box(ctx, key + "0", a, ax[0], before)
        return self._box(ctx, key + "1", s, ax[1], before)

    def forward(self, ctx: Ctx, x):
        x = _float("WithinChannelLRN", x)
        sq = ctx.buf("sq", x.shape, x.dtype)
        np.multiply(x, x, out=sq)
        s = self._window(ctx, "S", sq, False)
        s *= self.alpha / (self.size * self.size)
        s += self.k
        y = ctx.buf("y", x.shape, x.dtype)
        np.power(s, -self.beta, out=y)
        y *= x
        ctx.x, ctx.s = x, s
        return y

    def backward(self, ctx: Ctx, gy):
        x, s = ctx.x, ctx.s
        y = ctx.buf("y", x.shape, x.dtype)
        t = ctx.buf("t", x.shape, x.dtype)
        np.multiply(gy, y, out=t, casting="unsafe")
        t /= s
        acc = self._window(ctx, "A", t, True)
        acc *= x
        acc *= -2.0 * self.alpha * self.beta / (self.size * self.size)
        dx = ctx.buf("dx", x.shape, x.dtype)
        np.power(s, -self.beta, out=dx)
        dx *= gy
        dx += acc
        return (dx,)
