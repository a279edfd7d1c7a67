"""Normalization layers: BatchNormalization."""

from __future__ import annotations

from zoo.engine import functional as F
from zoo.keras import backend
from zoo.keras.layers.base import Layer

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    """Batch normalization over the channel `axis` with running statistics (Keras semantics).

    Training: normalise with the batch's mean and variance and update
    `moving = momentum * moving + (1 - momentum) * batch`; inference: use the moving ones.
    axis: channel axis; default 1 for images in channels-first format, else -1.
    Weights (get_weights): gamma, beta, moving_mean, moving_variance.
    """

    def __init__(self, axis: int | None = None, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", beta_init=None,
                 gamma_init=None, mode: int = 0, dim_ordering=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= momentum < 1:
            raise ValueError(f"BatchNormalization '{self.name}': momentum must be in [0, 1), got {momentum!r}")
        if not epsilon > 0:
            raise ValueError(f"BatchNormalization '{self.name}': epsilon must be positive, got {epsilon!r}")
        self.axis = axis
        self._dim_ordering = dim_ordering
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = beta_init if beta_init is not None else beta_initializer
        self.gamma_initializer = gamma_init if gamma_init is not None else gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer

    def _axis(self, rank: int) -> int:
        if self.axis is not None:
            if not -rank <= self.axis < rank or self.axis % rank == 0:
                raise self.error(f"axis {self.axis} is not a feature axis of a rank-{rank} input")
            return self.axis % rank
        if rank > 2:
            fmt = backend.normalize_data_format(self._dim_ordering)
            return 1 if fmt == "channels_first" else rank - 1
        return rank - 1

    def build(self, input_shape):
        ax = self._axis(len(input_shape))
        c = input_shape[ax]
        if c is None:
            raise self.error(f"the normalised axis must be known, got shape {tuple(input_shape)}")
        self.gamma = self.add_weight("gamma", (c,), self.gamma_initializer, trainable=self.scale)
        self.beta = self.add_weight("beta", (c,), self.beta_initializer, trainable=self.center)
        self.moving_mean = self.add_weight("moving_mean", (c,), self.moving_mean_initializer, state=True)
        self.moving_variance = self.add_weight("moving_variance", (c,), self.moving_variance_initializer, state=True)

    def call(self, x):
        ax = self._axis(len(x.shape))
        return F.batch_norm(x, self.gamma, self.beta, self.moving_mean, self.moving_variance, axis=ax,
                            momentum=self.momentum, epsilon=self.epsilon)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}
