"""Attention layers: Keras's MultiHeadAttention (`multi_head`), and Analytics Zoo's
TransformerLayer (a GPT-style stack of self-attention blocks) and BERT (the bidirectional
encoder with a pooled output) (`transformer`).

All three compose engine ops: Linear projections (BLAS), one fused DotProductAttention op per
attention (zoo/engine/ops/attention.py: scores, mask, softmax, dropout and the weighted sum),
embedding lookups, LayerNorm, and bias + GELU fused in one pass.
"""

from zoo.keras.layers.attention.multi_head import MultiHeadAttention
from zoo.keras.layers.attention.transformer import BERT, TransformerLayer

__all__ = ["BERT", "MultiHeadAttention", "TransformerLayer"]
