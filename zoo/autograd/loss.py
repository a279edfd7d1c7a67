"""CustomLoss: a loss from a Python function of (y_true, y_pred) Variables."""

from __future__ import annotations

import numpy as np

from zoo.engine import functional as F
from zoo.engine import graph as G
from zoo.engine.graph import Executor, Graph, Tensor

__all__ = ["CustomLoss"]


class CustomLoss:
    """A loss traced from `loss_func(y_true, y_pred)` over Variables.

    The function returns per-sample losses (batch axis first; other axes are averaged) or a
    scalar. The training loss is mean over the batch of sample_weight * per-sample loss.
    Shapes exclude the batch axis; `y_true_shape` defaults to `y_pred_shape`.
    Usable wherever a built-in loss goes (`compile(loss=CustomLoss(...))`).
    """

    target_dtype = np.float32
    unsafe_to_load = True

    def __init__(self, loss_func, y_pred_shape=None, y_true_shape=None, name: str = "custom_loss"):
        if not callable(loss_func):
            raise TypeError(f"CustomLoss: loss_func must be callable, got {type(loss_func).__name__}")
        self.loss_func = loss_func
        self.y_pred_shape = None if y_pred_shape is None else tuple(y_pred_shape)
        self.y_true_shape = None if y_true_shape is None else tuple(y_true_shape)
        self.name = name
        self._eval = None

    def target_shape(self, pred_shape: tuple) -> tuple:
        if self.y_true_shape is not None:
            return (pred_shape[0],) + self.y_true_shape
        return tuple(pred_shape)

    def build(self, y_pred: Tensor, y_true: Tensor, sample_weight: Tensor | None = None, name=None) -> Tensor:
        if self.y_pred_shape is not None and tuple(y_pred.shape[1:]) != self.y_pred_shape:
            raise ValueError(f"CustomLoss '{self.name}': expected predictions of shape {self.y_pred_shape} "
                             f"(without batch), got {y_pred.shape}")
        with G.name_scope(name or G.unique_name(self.name)):
            loss = self.loss_func(y_true, y_pred)
            if not isinstance(loss, Tensor):
                raise ValueError(f"CustomLoss '{self.name}': loss_func must return a Variable, got "
                                 f"{type(loss).__name__}")
            if len(loss.shape) == 0:
                return loss
            if len(loss.shape) > 1:
                loss = F.reduce(loss, "mean", tuple(range(1, len(loss.shape))))
            if sample_weight is not None:
                loss = F.mul(loss, sample_weight)
            return F.reduce(loss, "mean")

    def __call__(self, y_pred, y_true, sample_weight=None) -> float:
        """Numeric value on arrays (y_pred first, like the engine's losses)."""
        y_pred = np.asarray(y_pred, dtype=np.float32)
        y_true = np.asarray(y_true, dtype=np.float32)
        key = (y_pred.shape[1:], y_true.shape[1:])
        if self._eval is None or self._eval[0] != key:
            p = G.input((None,) + y_pred.shape[1:], name=G.unique_name("y_pred"))
            t = G.input((None,) + y_true.shape[1:], name=G.unique_name("y_true"))
            w = G.input((None,), name=G.unique_name("sample_weight"))
            self._eval = (key, Executor(Graph([p, t, w], [self.build(p, t, w)])))
        sw = np.ones(len(y_pred), np.float32) if sample_weight is None else np.asarray(sample_weight, np.float32)
        return float(self._eval[1].forward([y_pred, y_true, sw])[0])

    def forward(self, y_true, y_pred) -> float:
        """Analytics Zoo's argument order."""
        return self(y_pred, y_true)

    def get_config(self) -> dict:
        from zoo.autograd.layers import function_source

        return {"loss_func": function_source(self.loss_func), "y_pred_shape": self.y_pred_shape,
                "y_true_shape": self.y_true_shape, "name": self.name}
