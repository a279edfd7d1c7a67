"""Normalization layers: BatchNormalization, LayerNormalization (Keras), LRN2D and WithinChannelLRN2D
(Analytics Zoo / Caffe local response normalization)."""

from __future__ import annotations

import math

import numpy as np

from zoo.engine import functional as F
from zoo.engine.ops import misc as M
from zoo.engine.ops import norm as N
from zoo.keras.layers.base import Layer, check_positive_int

__all__ = ["LRN2D", "BatchNormalization", "LayerNormalization", "WithinChannelLRN2D"]


def _num(layer: Layer, what: str, v, positive: bool = False) -> float:
    ok = not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(v)
    if not ok or (positive and v <= 0):
        raise layer.error(f"{what} must be a finite{' positive' if positive else ''} number, got {v!r}")
    return float(v)


class BatchNormalization(Layer):
    """Batch normalization over the channel `axis` with running statistics (Keras semantics).

    Training: normalise with the batch's mean and (biased) variance and update
    `moving = momentum * moving + (1 - momentum) * batch`; inference: use the moving ones.

    Args:
        axis: the channel axis; default 1 for inputs of rank > 2 in channels-first format ('th',
            the default unless changed globally; `data_format`/`dim_ordering` pick it), else -1.
        momentum, epsilon, center, scale, beta_initializer, gamma_initializer,
        moving_mean_initializer, moving_variance_initializer, beta_regularizer, gamma_regularizer: Keras.
        Keras 1 / Analytics Zoo: beta_init, gamma_init, dim_ordering, and `mode`: 0 (feature-wise,
            the default), 1 (sample-wise: each sample normalised over its last axis, scaled per
            feature; Keras 1 divides by sqrt(var + eps) + eps, zoo by sqrt(var + eps)) or 2
            (feature-wise with the batch's statistics in inference too; the moving statistics are
            kept but unused).
    Weights (get_weights): gamma (if scale), beta (if center), moving_mean, moving_variance.
    """

    def __init__(self, axis: int | None = None, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_init=None, gamma_init=None, mode: int = 0, dim_ordering=None,
                 data_format=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
            raise ValueError(f"BatchNormalization '{self.name}': momentum must be in [0, 1), got {momentum!r}")
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
            raise ValueError(f"BatchNormalization '{self.name}': epsilon must be positive, got {epsilon!r}")
        if mode not in (0, 1, 2):
            raise ValueError(f"BatchNormalization '{self.name}': mode must be 0, 1 or 2, got {mode!r}")
        if axis is not None and (isinstance(axis, bool) or not isinstance(axis, (int, np.integer))):
            raise TypeError(f"BatchNormalization '{self.name}': axis must be an int or None, got {axis!r}")
        self.axis = None if axis is None else int(axis)
        self.data_format = self._data_format(data_format if data_format is not None else dim_ordering)
        self.mode = int(mode)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = beta_init if beta_init is not None else beta_initializer
        self.gamma_initializer = gamma_init if gamma_init is not None else gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer

    def _axis(self, rank: int) -> int:
        if self.axis is not None:
            if not -rank <= self.axis < rank or self.axis % rank == 0:
                raise self.error(f"axis {self.axis} is not a feature axis of a rank-{rank} input")
            return self.axis % rank
        if rank > 2:
            return 1 if self.data_format == "channels_first" else rank - 1
        return rank - 1

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise self.error(f"expected input of rank >= 2, got shape {tuple(input_shape)}")
        ax = self._axis(len(input_shape))
        c = input_shape[ax]
        if c is None:
            raise self.error(f"the normalised axis must be known, got shape {tuple(input_shape)}")
        self.gamma = (self.add_weight("gamma", (c,), self.gamma_initializer, regularizer=self.gamma_regularizer)
                      if self.scale else None)
        self.beta = (self.add_weight("beta", (c,), self.beta_initializer, regularizer=self.beta_regularizer)
                     if self.center else None)
        self.moving_mean = self.add_weight("moving_mean", (c,), self.moving_mean_initializer, state=True)
        self.moving_variance = self.add_weight("moving_variance", (c,), self.moving_variance_initializer, state=True)

    def call(self, x):
        rank = len(x.shape)
        ax = self._axis(rank)
        c = self.moving_mean.shape[0]
        if x.shape[ax] != c:
            raise self.error(f"expected {c} features on axis {ax}, got input shape {x.shape}")
        if self.mode == 0:
            gamma = self.gamma if self.gamma is not None else np.ones(c, np.float32)
            beta = self.beta if self.beta is not None else np.zeros(c, np.float32)
            return F.batch_norm(x, gamma, beta, self.moving_mean, self.moving_variance, axis=ax,
                                momentum=self.momentum, epsilon=self.epsilon)
        if self.mode == 1:
            red = (rank - 1,)
        else:
            red = tuple(a for a in range(rank) if a != ax)
        ins = [x] + [p for p in (self.gamma, self.beta) if p is not None]
        return F.apply_op(M.LayerNorm(red, self.epsilon, center=self.center, scale=self.scale, param_axis=ax), ins)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "mode": self.mode, "data_format": self.data_format}


class LayerNormalization(Layer):
    """Layer normalization (Keras): each sample normalised over `axis`,
    y = (x - mean) / sqrt(var + epsilon) * gamma + beta.

    Args:
        axis: an int or a list of ints (not the batch axis), default -1. epsilon: default 1e-3.
        center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer: Keras.
    Weights (get_weights): gamma (if scale), beta (if center), of the input's sizes on `axis`.
    """

    def __init__(self, axis=-1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            self.axis = int(axis)
        elif isinstance(axis, (list, tuple)) and axis and all(
                isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axis):
            self.axis = [int(a) for a in axis]
        else:
            raise TypeError(f"LayerNormalization '{self.name}': axis must be an int or a list of ints, got {axis!r}")
        self.epsilon = _num(self, "epsilon", epsilon, positive=True)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer

    def _axes(self, rank: int) -> tuple[int, ...]:
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        out = []
        for a in axes:
            if not -rank <= a < rank or a % rank == 0:
                raise self.error(f"axis {self.axis} is not made of feature axes of a rank-{rank} input")
            out.append(a % rank)
        if len(set(out)) != len(out):
            raise self.error(f"axis {self.axis} names an axis twice")
        return tuple(sorted(out))

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        if None in shape:
            raise self.error(f"the normalised axes must be known, got input shape {tuple(input_shape)}")
        self.gamma = (self.add_weight("gamma", shape, self.gamma_initializer, regularizer=self.gamma_regularizer)
                      if self.scale else None)
        self.beta = (self.add_weight("beta", shape, self.beta_initializer, regularizer=self.beta_regularizer)
                     if self.center else None)

    def call(self, x):
        axes = self._axes(len(x.shape))
        p = self.gamma if self.gamma is not None else self.beta
        if p is not None and tuple(x.shape[a] for a in axes) != tuple(p.shape):
            raise self.error(f"expected sizes {tuple(p.shape)} on axes {list(axes)}, got input shape {x.shape}")
        return F.layer_norm(x, self.gamma, self.beta, axis=axes, epsilon=self.epsilon)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale}


class _LocalResponseNorm(Layer):
    """What LRN2D and WithinChannelLRN2D share: rank-4 images in either data format, alpha and beta."""

    def _set_format(self, data_format, dim_ordering) -> None:
        self.data_format = self._data_format(data_format if data_format is not None else dim_ordering)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise self.error(f"expected input of rank 4, got shape {tuple(input_shape)}")

    def call(self, x):
        if len(x.shape) != 4:
            raise self.error(f"expected input of rank 4, got shape {x.shape}")
        return F.apply_op(self._op(self.data_format == "channels_first"), [x])

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta, "data_format": self.data_format}


class LRN2D(_LocalResponseNorm):
    """Local response normalization across channels (Analytics Zoo LRN2D, Caffe/BigDL formula):
    y = x / (k + alpha / n * sum of x^2 over n neighbouring channels)^beta.

    Args:
        alpha (1e-4), k (1.0), beta (0.75), n (5): as Analytics Zoo.
        dim_ordering / data_format: 'th' (channels first, default unless changed globally) or 'tf'.
    Input: (batch, C, H, W) or (batch, H, W, C).
    """

    def __init__(self, alpha: float = 1e-4, k: float = 1.0, beta: float = 0.75, n: int = 5, dim_ordering=None,
                 data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _num(self, "alpha", alpha)
        self.k = _num(self, "k", k)
        self.beta = _num(self, "beta", beta)
        self.n = check_positive_int(self, "n", n)
        self._set_format(data_format, dim_ordering)

    def _op(self, channels_first: bool):
        return N.LRN(self.n, self.alpha, self.beta, self.k, axis=1 if channels_first else 3)

    def get_config(self):
        return {**super().get_config(), "k": self.k, "n": self.n}


class WithinChannelLRN2D(_LocalResponseNorm):
    """Local response normalization within each channel (Caffe WITHIN_CHANNEL):
    y = x / (1 + alpha / size^2 * sum of x^2 over the size x size spatial window)^beta.

    Args:
        size (5), alpha (1.0), beta (0.75): as Analytics Zoo. data_format / dim_ordering: channels
            first (default unless changed globally) or channels last.
    Input: (batch, C, H, W) or (batch, H, W, C).
    """

    def __init__(self, size: int = 5, alpha: float = 1.0, beta: float = 0.75, data_format=None, dim_ordering=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.size = check_positive_int(self, "size", size)
        self.alpha = _num(self, "alpha", alpha)
        self.beta = _num(self, "beta", beta)
        self._set_format(data_format, dim_ordering)

    def _op(self, channels_first: bool):
        return M.WithinChannelLRN(self.size, self.alpha, self.beta, 1.0, axes=(2, 3) if channels_first else (1, 2))

    def get_config(self):
        return {**super().get_config(), "size": self.size}
