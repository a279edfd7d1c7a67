"""Keras's MultiHeadAttention: per-head projections, one fused DotProductAttention op
(zoo/engine/ops/attention.py: scores, mask, softmax, dropout and the weighted sum), and the
output projection."""

from __future__ import annotations

import math

import numpy as np

from zoo.engine import functional as F
from zoo.engine import graph as G
from zoo.engine.ops.attention import DotProductAttention, DotProductAttentionScores
from zoo.keras.layers.base import Layer, check_positive_int
from zoo.keras.layers.recurrent.masking import get_mask, set_mask

__all__ = ["MultiHeadAttention"]


def _rate(layer: Layer, what: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not 0 <= v < 1:
        raise layer.error(f"{what} must be a number in [0, 1), got {v!r}")
    return float(v)



class MultiHeadAttention(Layer):
    """Keras's multi-head attention: project query, key and value per head, attend, project back.

        q_h = query @ Wq_h + bq_h, k_h = key @ Wk_h + bk_h, v_h = value @ Wv_h + bv_h
        o_h = softmax(q_h k_h^T / sqrt(key_dim) + mask) v_h      (dropout on the probabilities)
        y = sum_h o_h @ Wo_h + bo

    Args:
        num_heads, key_dim: heads and the size of each query/key head. value_dim: size of each
            value head (default key_dim). dropout: rate on the attention probabilities (training).
        use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer: Keras.
        output_shape: the output's trailing shape (an int or a tuple; default: query's last axis).
        attention_axes: only None (or the time axis, 1) is supported.
        use_causal_mask, return_attention_scores: as Keras's call arguments; given to the
            constructor or to the first call they stay with the layer (and its config).
    Call: `mha(query, value, key=None, attention_mask=None, return_attention_scores=None,
        use_causal_mask=None)` or `mha([query, value, key, attention_mask])` (key and the mask
        optional). query (B, T, dq), value (B, S, dv), key (B, S, dk); attention_mask (B, T, S)
        with 0 = do not attend (Keras masks of query and value, e.g. from Embedding(mask_zero),
        are applied too). A query row with every key masked outputs the output bias (Keras).
    Output: (B, T, dq) or (B, T, *output_shape); with return_attention_scores also the attention
        probabilities (B, num_heads, T, S).
    Weights (get_weights, Keras's order and shapes): query kernel (dq, H, key_dim) and bias
        (H, key_dim), key kernel (dk, H, key_dim) and bias, value kernel (dv, H, value_dim) and
        bias (H, value_dim), output kernel (H, value_dim, *out) and bias (*out,); no biases
        without use_bias.
    Example:
        >>> from zoo.keras.layers import Input
        >>> x = Input((5, 8))
        >>> MultiHeadAttention(2, 4)(x, x).shape
        (None, 5, 8)
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
                 use_bias: bool = True, output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 use_causal_mask: bool = False, return_attention_scores: bool = False, seed: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_heads = check_positive_int(self, "num_heads", num_heads)
        self.key_dim = check_positive_int(self, "key_dim", key_dim)
        self.value_dim = self.key_dim if value_dim is None else check_positive_int(self, "value_dim", value_dim)
        self.dropout = _rate(self, "dropout", dropout)
        self.use_bias = bool(use_bias)
        if output_shape is None:
            self.out_dims = None
        else:
            dims = (output_shape,) if isinstance(output_shape, (int, np.integer)) else output_shape
            try:
                dims = tuple(dims)
            except TypeError:
                dims = ()
            if not dims or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
                                   for d in dims):
                raise self.error(f"output_shape must be a positive int or a tuple of them, got {output_shape!r}")
            self.out_dims = tuple(int(d) for d in dims)
        axes = (attention_axes,) if isinstance(attention_axes, (int, np.integer)) else attention_axes
        if axes is not None and tuple(axes) not in ((1,), (-2,)):
            raise self.error(f"attention_axes must be None (attend over the time axis 1 of a (batch, time, "
                             f"features) input), got {attention_axes!r}")
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.use_causal_mask = bool(use_causal_mask)
        self.return_attention_scores = bool(return_attention_scores)
        self.seed = seed

    # ---- calling ------------------------------------------------------------------------------

    def _set_call_flag(self, what: str, value) -> None:
        if value is None:
            return
        value = bool(value)
        if value != getattr(self, what) and self.inbound:
            raise self.error(f"{what}={value} differs from this layer's earlier calls ({getattr(self, what)}); "
                             f"use another layer")
        setattr(self, what, value)

    def __call__(self, query, value=None, key=None, attention_mask=None, return_attention_scores=None,
                 use_causal_mask=None, training=None):
        """Keras's call; `training` is ignored (fit and predict choose the mode)."""
        if isinstance(query, (list, tuple)):
            if value is not None or key is not None or attention_mask is not None:
                raise TypeError(f"MultiHeadAttention '{self.name}': give either a list [query, value, key, "
                                f"attention_mask] or separate arguments, not both")
            items = list(query)
            if not 2 <= len(items) <= 4:
                raise self.error(f"expected [query, value], [query, value, key] or [query, value, key, "
                                 f"attention_mask], got a list of {len(items)}")
        else:
            if value is None:
                raise TypeError(f"MultiHeadAttention '{self.name}': value is required (self-attention: "
                                f"layer(x, x))")
            items = [query, value]
            if key is not None or attention_mask is not None:
                items.append(value if key is None else key)
            if attention_mask is not None:
                items.append(attention_mask)
        self._set_call_flag("return_attention_scores", return_attention_scores)
        self._set_call_flag("use_causal_mask", use_causal_mask)
        return super().__call__(items)

    # ---- weights ------------------------------------------------------------------------------

    def _out(self, query_dim: int) -> tuple[int, ...]:
        return self.out_dims if self.out_dims is not None else (query_dim,)

    def build(self, input_shape):
        shapes = list(input_shape) if isinstance(input_shape, list) else [input_shape]
        q, v = shapes[0], shapes[1]
        k = shapes[2] if len(shapes) > 2 else v
        for what, s in (("query", q), ("value", v), ("key", k)):
            if len(s) != 3 or s[-1] is None:
                raise self.error(f"expected {what} of shape (batch, time, features) with known features, got "
                                 f"{tuple(s)}")
        H, dk, dv = self.num_heads, self.key_dim, self.value_dim
        self._query_dim = q[-1]
        out = int(np.prod(self._out(q[-1])))
        kreg, breg = self.kernel_regularizer, self.bias_regularizer
        for name, d_in, d in (("query", q[-1], dk), ("key", k[-1], dk), ("value", v[-1], dv)):
            setattr(self, f"{name}_kernel", self.add_weight(f"{name}/kernel", (d_in, H * d), self.kernel_initializer,
                                                            regularizer=kreg))
            setattr(self, f"{name}_bias", self.add_weight(f"{name}/bias", (H * d,), self.bias_initializer,
                                                          regularizer=breg) if self.use_bias else None)
        self.output_kernel = self.add_weight("output/kernel", (H * dv, out), self.kernel_initializer,
                                             regularizer=kreg)
        self.output_bias = self.add_weight("output/bias", (out,), self.bias_initializer, regularizer=breg) \
            if self.use_bias else None

    def keras_weight_shape(self, name: str, shape: tuple) -> tuple:
        H = self.num_heads
        if name == "output/kernel":
            return (H, self.value_dim) + self._out(self._query_dim)
        if name == "output/bias":
            return self._out(self._query_dim)
        d = self.value_dim if name.startswith("value") else self.key_dim
        return (shape[0], H, d) if name.endswith("kernel") else (H, d)

    def to_keras_weight(self, name: str, value: np.ndarray) -> np.ndarray:
        return value.reshape(self.keras_weight_shape(name, value.shape))

    def from_keras_weight(self, name: str, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value, dtype=np.float32)
        if name == "output/kernel":
            return value.reshape(self.num_heads * self.value_dim, -1)
        if name.endswith("kernel"):
            return value.reshape(value.shape[0], -1)
        return value.reshape(-1)

    def compute_output_shape(self, input_shape):
        q = input_shape[0] if isinstance(input_shape, list) else input_shape
        return tuple(q[:-1]) + self._out(q[-1])

    # ---- graph --------------------------------------------------------------------------------

    def _mask(self, query, value, key, attention_mask):
        """The (B, T, S) (or broadcastable) 0/1 mask from attention_mask and the inputs' Keras masks."""
        parts = []
        qm = get_mask(query)
        if qm is not None:
            parts.append(F.reshape(qm, (0, 0, 1)))
        for m in (get_mask(value), get_mask(key) if key is not value else None):
            if m is not None:
                parts.append(F.reshape(m, (0, 1, -1)))
        if attention_mask is not None:
            parts.append(attention_mask)
        if not parts:
            return None, qm
        m = parts[0]
        for p in parts[1:]:
            m = F.mul(m, p)
        return m, qm

    def call(self, xs):
        query, value = xs[0], xs[1]
        key = xs[2] if len(xs) > 2 else value
        attention_mask = xs[3] if len(xs) > 3 else None
        for what, t, w in (("query", query, self.query_kernel), ("key", key, self.key_kernel),
                           ("value", value, self.value_kernel)):
            if len(t.shape) != 3 or t.shape[-1] != w.shape[0]:
                raise self.error(f"expected {what} of shape (batch, time, {w.shape[0]}), got {t.shape}")
        if attention_mask is not None and len(attention_mask.shape) not in (2, 3, 4):
            raise self.error(f"expected attention_mask of shape (batch, T, S), got {attention_mask.shape}")
        mask, qm = self._mask(query, value, key, attention_mask)
        qp = F.linear(query, self.query_kernel, self.query_bias)
        kp = F.linear(key, self.key_kernel, self.key_bias)
        vp = F.linear(value, self.value_kernel, self.value_bias)
        cls = DotProductAttentionScores if self.return_attention_scores else DotProductAttention
        op = cls(self.num_heads, scale=1.0 / math.sqrt(self.key_dim), causal=self.use_causal_mask,
                 dropout=self.dropout)
        att = G.apply(op, [qp, kp, vp] + ([mask] if mask is not None else []))
        att, scores = att if self.return_attention_scores else (att, None)
        y = F.linear(att, self.output_kernel, self.output_bias)
        if self.out_dims is not None and len(self.out_dims) > 1:
            y = F.reshape(y, (0, 0) + self.out_dims)
        set_mask(self, y, qm)
        return [y, scores] if scores is not None else y

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "output_shape": None if self.out_dims is None else list(self.out_dims),
                "use_causal_mask": self.use_causal_mask, "return_attention_scores": self.return_attention_scores,
                "seed": self.seed}
