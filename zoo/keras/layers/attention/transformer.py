"""Analytics Zoo's TransformerLayer (a GPT-style stack of self-attention blocks) and BERT (the
bidirectional encoder with a pooled output).

Both compose engine ops: Linear projections (BLAS), one fused DotProductAttention op per
attention, embedding lookups, LayerNorm, and bias + GELU fused in one pass.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.engine import functional as F
from zoo.engine import graph as G
from zoo.engine.ops import embedding as E
from zoo.engine.ops.attention import DotProductAttention
from zoo.keras.initializers import RandomNormal
from zoo.keras.layers.attention.multi_head import _rate
from zoo.keras.layers.base import Layer, check_positive_int

__all__ = ["BERT", "TransformerLayer"]


_BLOCK_WEIGHTS = ("attn_qkv/kernel", "attn_qkv/bias", "attn_out/kernel", "attn_out/bias", "ln_1/gamma", "ln_1/beta",
                  "mlp_fc/kernel", "mlp_fc/bias", "mlp_out/kernel", "mlp_out/bias", "ln_2/gamma", "ln_2/beta")


def _serialize(layer: Layer) -> dict:
    from zoo.keras import saving

    return saving.serialize_layer(layer)


def _deserialize(spec, custom_objects=None, safe_mode: bool = True) -> Layer:
    if not isinstance(spec, dict):
        return spec
    from zoo.keras import saving

    return saving.deserialize_layer(spec, custom_objects, safe_mode)


class TransformerLayer(Layer):
    """Analytics Zoo's TransformerLayer: a GPT-style stack of `n_block` self-attention blocks.

    Each block (post-layer-norm, as GPT-1 and Analytics Zoo):

        a = Dropout(hidden_drop)(attn_out(MultiHeadSelfAttention(x)))   causal unless bidirectional
        n = LayerNorm(x + a)
        m = Dropout(hidden_drop)(mlp_out(gelu(mlp_fc(n))))              gelu: tanh approximation
        h = LayerNorm(n + m)                                            epsilon 1e-5

    The self-attention projects x to [q | k | v] with one (hidden, 3 * hidden) kernel, splits
    `n_head` heads, and drops attention probabilities with `attn_drop`.

    Args:
        n_block, hidden_drop, attn_drop, n_head, initializer_range (std of the normal initial
            kernels and tables), bidirectional, output_all_block, embedding_layer, input_shape,
            intermediate_size (MLP width, 0 for 4 * hidden): as Analytics Zoo, in its order.
        embedding_layer: a layer or model mapping [token ids, positions] to (batch, seq, hidden);
            None for the built-in embedding, which then needs `vocab` and `hidden_size`: one table
            of `vocab` rows looked up with both the ids and the positions (GPT-1 and Analytics Zoo:
            position p uses row p, so positions are usually ids past the words), summed and
            dropped with `embedding_drop`; `position_vocab` gives positions a table of their own.
        input_shape: optional [(seq_len,), (seq_len,)], checked when the layer is called.
        epsilon: the layer norms' epsilon.
    Input: [token ids (batch, seq), positions (batch, seq)] (ints, or floats truncated).
    Output: the last block's hidden states (batch, seq, hidden), or every block's (a list) with
        output_all_block.
    Weights (get_weights): the embedding's (built-in: the token table (vocab, hidden), then the
        position table), then per block: attn_qkv kernel (hidden, 3 hidden) and bias, attn_out
        kernel (hidden, hidden) and bias, ln_1 gamma and beta, mlp_fc kernel (hidden, inter) and
        bias, mlp_out kernel (inter, hidden) and bias, ln_2 gamma and beta.
    `TransformerLayer.init(vocab, seq_len, n_block, ...)` builds one with the built-in embedding.
    Example:
        >>> from zoo.keras.layers import Input
        >>> ids, pos = Input((5,)), Input((5,))
        >>> TransformerLayer.init(vocab=20, seq_len=5, n_block=1, n_head=2, hidden_size=8)([ids, pos]).shape
        (None, 5, 8)
    """

    _n_inputs = 2
    _gelu_approximate = True
    _input_names = "[token ids, positions]"

    def __init__(self, n_block: int, hidden_drop: float = 0.1, attn_drop: float = 0.1, n_head: int = 12,
                 initializer_range: float = 0.02, bidirectional: bool = False, output_all_block: bool = False,
                 embedding_layer=None, input_shape=None, intermediate_size: int = 0, vocab: int | None = None,
                 hidden_size: int | None = None, embedding_drop: float = 0.1, position_vocab: int | None = None,
                 epsilon: float = 1e-5, custom_objects=None, safe_mode: bool = True, **kwargs):
        super().__init__(**kwargs)
        self._setup(n_block, hidden_drop, attn_drop, n_head, initializer_range, output_all_block, embedding_layer,
                    input_shape, intermediate_size, vocab, hidden_size, epsilon, custom_objects, safe_mode)
        self.bidirectional = bool(bidirectional)
        self.embedding_drop = _rate(self, "embedding_drop", embedding_drop)
        self.position_vocab = None if position_vocab is None else check_positive_int(self, "position_vocab",
                                                                                     position_vocab)

    def _setup(self, n_block, hidden_drop, attn_drop, n_head, initializer_range, output_all_block, embedding_layer,
               input_shape, intermediate_size, vocab, hidden_size, epsilon, custom_objects, safe_mode) -> None:
        self.n_block = check_positive_int(self, "n_block", n_block)
        self.n_head = check_positive_int(self, "n_head", n_head)
        self.hidden_drop = _rate(self, "hidden_drop", hidden_drop)
        self.attn_drop = _rate(self, "attn_drop", attn_drop)
        r = initializer_range
        if isinstance(r, bool) or not isinstance(r, (int, float, np.integer, np.floating)) or not 0 < r < math.inf:
            raise self.error(f"initializer_range must be a positive number, got {r!r}")
        self.initializer_range = float(r)
        if isinstance(intermediate_size, bool) or not isinstance(intermediate_size, (int, np.integer)) \
                or intermediate_size < 0:
            raise self.error(f"intermediate_size must be an int >= 0 (0: 4 * hidden size), got {intermediate_size!r}")
        self.intermediate_size = int(intermediate_size)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0 < epsilon < math.inf:
            raise self.error(f"epsilon must be a positive number, got {epsilon!r}")
        self.epsilon = float(epsilon)
        self.output_all_block = bool(output_all_block)
        self.input_shapes = self._check_input_shapes(input_shape)
        emb = _deserialize(embedding_layer, custom_objects, safe_mode)
        if emb is not None and not isinstance(emb, Layer):
            raise TypeError(f"{type(self).__name__} '{self.name}': embedding_layer must be a zoo Layer or Model, "
                            f"got {type(embedding_layer).__name__}")
        self.embedding_layer = emb
        self.vocab = None if vocab is None else check_positive_int(self, "vocab", vocab)
        self.hidden_size = None if hidden_size is None else check_positive_int(self, "hidden_size", hidden_size)
        if emb is None and (self.vocab is None or self.hidden_size is None):
            raise self.error("give embedding_layer, or vocab and hidden_size for the built-in embedding "
                             f"(or use {type(self).__name__}.init)")
        if self.hidden_size is not None and self.hidden_size % self.n_head:
            raise self.error(f"hidden_size {self.hidden_size} is not divisible by n_head {self.n_head}")
        self._own: list = []
        self._n_emb = 0

    def _check_input_shapes(self, input_shape):
        if input_shape is None:
            return None
        try:
            shapes = [tuple(None if d is None else int(d) for d in s) for s in input_shape]
        except (TypeError, ValueError):
            shapes = None
        if shapes is None or len(shapes) != self._n_inputs:
            raise self.error(f"input_shape must be a list of {self._n_inputs} shapes (without the batch axis) for "
                             f"{self._input_names}, got {input_shape!r}")
        return shapes

    @classmethod
    def init(cls, vocab: int = 40990, seq_len: int = 77, n_block: int = 12, hidden_drop: float = 0.1,
             attn_drop: float = 0.1, n_head: int = 12, hidden_size: int = 768, embedding_drop: float = 0.1,
             initializer_range: float = 0.02, bidirectional: bool = False, output_all_block: bool = False,
             **kwargs) -> TransformerLayer:
        """A TransformerLayer with the built-in embedding (Analytics Zoo's TransformerLayer.init)."""
        return cls(n_block, hidden_drop, attn_drop, n_head, initializer_range, bidirectional, output_all_block,
                   None, input_shape=[(seq_len,), (seq_len,)], vocab=vocab, hidden_size=hidden_size,
                   embedding_drop=embedding_drop, **kwargs)

    init_with_default_embedding = init

    # ---- weights ------------------------------------------------------------------------------

    def _weight(self, name: str, shape, init) -> object:
        p = self.add_weight(name, shape, init)
        self._own.append(p)
        return p

    def _build_embedding(self, shapes) -> int:
        """Build the embedding (built-in weights, or the given layer); returns the hidden size."""
        normal = RandomNormal(0.0, self.initializer_range)
        if self.embedding_layer is None:
            self.tokens = self._weight("embedding/tokens", (self.vocab, self.hidden_size), normal)
            self.positions = (self._weight("embedding/positions", (self.position_vocab, self.hidden_size), normal)
                              if self.position_vocab else None)
            return self.hidden_size
        return self._build_inner_embedding(shapes)

    def _build_inner_embedding(self, shapes) -> int:
        from zoo.keras.models import Model

        emb = self.embedding_layer
        if emb.inbound and not isinstance(emb, Model):
            raise self.error(f"embedding_layer '{emb.name}' has already been called; give a fresh layer")
        shape_arg = list(shapes) if len(shapes) > 1 else shapes[0]
        if isinstance(emb, Model):
            emb._ensure_built()
            out = emb.output_shape
        else:
            try:
                emb._build_once(shape_arg)
            except (TypeError, ValueError) as e:
                raise self.error(f"embedding_layer '{emb.name}' cannot take the inputs {shapes}: {e}") from None
            out = emb.compute_output_shape(shape_arg)
        if isinstance(out, list) or len(out) != 3 or (out[-1] is None and self.hidden_size is None):
            raise self.error(f"embedding_layer '{emb.name}' must output one (batch, seq, hidden) tensor, got "
                             f"{out}")
        hidden = out[-1] if out[-1] is not None else self.hidden_size
        if self.hidden_size is not None and hidden != self.hidden_size:
            raise self.error(f"embedding_layer '{emb.name}' outputs hidden size {hidden}, hidden_size is "
                             f"{self.hidden_size}")
        return hidden

    def build(self, input_shape):
        shapes = [tuple(s) for s in input_shape] if isinstance(input_shape, list) else None
        if shapes is None or len(shapes) != self._n_inputs:
            raise self.error(f"expected a list of {self._n_inputs} inputs {self._input_names}, got "
                             f"{input_shape if shapes is None else len(shapes)}")
        self._check_call_shapes(shapes)
        d = self._build_embedding(self._embedding_inputs(shapes))
        if d % self.n_head:
            raise self.error(f"hidden size {d} is not divisible by n_head {self.n_head}")
        self._hidden = d
        inter = self.intermediate_size or 4 * d
        normal = RandomNormal(0.0, self.initializer_range)
        shapes_of = {"attn_qkv/kernel": (d, 3 * d), "attn_qkv/bias": (3 * d,), "attn_out/kernel": (d, d),
                     "attn_out/bias": (d,), "ln_1/gamma": (d,), "ln_1/beta": (d,), "mlp_fc/kernel": (d, inter),
                     "mlp_fc/bias": (inter,), "mlp_out/kernel": (inter, d), "mlp_out/bias": (d,),
                     "ln_2/gamma": (d,), "ln_2/beta": (d,)}
        self.blocks = []
        for i in range(self.n_block):
            block = {}
            for n in _BLOCK_WEIGHTS:
                init = normal if n.endswith("kernel") else "ones" if n.endswith("gamma") else "zeros"
                block[n] = self._weight(f"block_{i}/{n}", shapes_of[n], init)
            self.blocks.append(block)
        self._build_head(d)
        self._collect_weights()
        if not self._trainable:
            self.trainable = False

    def _build_head(self, d: int) -> None:
        """Weights after the blocks (BERT's pooler)."""

    def _collect_weights(self) -> None:
        """The embedding layer's weights first (named 'embedding/<its weight>'), then this layer's own."""
        emb = self.embedding_layer
        own_names = list(self._weight_names)  # add_weight listed the own weights only
        self._weights, self._weight_names = [], []
        self._n_emb = 0
        if emb is not None:
            ws = emb.weights
            if len(ws) != len(emb.get_weights()):
                raise self.error(f"embedding_layer '{emb.name}' shares weights between its layers, which "
                                 f"{type(self).__name__} cannot list in Keras order")
            self._weights += ws
            self._weight_names += [f"embedding/{p.name}" for p in ws]
            self._n_emb = len(ws)
            self.regularizers.update(emb.regularizers)
        self._weights += self._own
        self._weight_names += own_names

    def get_weights(self) -> list[np.ndarray]:
        emb = self.embedding_layer.get_weights() if self.embedding_layer is not None else []
        return emb + [p.value.copy() for p in self._own]

    def set_weights(self, weights) -> None:
        weights = list(weights)
        current = self.get_weights()
        if len(weights) != len(current):
            raise self.error(f"expected {len(current)} weight arrays, got {len(weights)}")
        for i, (a, b) in enumerate(zip(current, weights)):
            if np.shape(b) != a.shape:
                name = self._weight_names[i] if i < len(self._weight_names) else str(i)
                raise self.error(f"weight {i} ('{name}') expected shape {a.shape}, got {np.shape(b)}")
        n = len(current) - len(self._own)
        if n:
            self.embedding_layer.set_weights(weights[:n])
        for p, w in zip(self._own, weights[n:]):
            p.set(np.asarray(w, dtype=np.float32))

    def _apply_trainable(self) -> None:
        for p in getattr(self, "_own", []):
            p.trainable = self._trainable
        emb = getattr(self, "embedding_layer", None)
        if emb is not None:
            emb.trainable = self._trainable

    # ---- graph --------------------------------------------------------------------------------

    def _check_call_shapes(self, shapes) -> None:
        for s in shapes[:3]:
            if len(s) != 2:
                raise self.error(f"expected inputs {self._input_names} of shape (batch, seq), got shapes {shapes}")
        lens = {s[1] for s in shapes[:3] if s[1] is not None}
        if len(lens) > 1:
            raise self.error(f"expected inputs of one sequence length, got shapes {shapes}")
        if self.input_shapes is not None:
            for want, got in zip(self.input_shapes[:3], shapes[:3]):  # a mask may come as (seq,) or (1, 1, seq)
                if len(want) != len(got) - 1 or any(a is not None and b is not None and a != b
                                                    for a, b in zip(want, got[1:])):
                    raise self.error(f"expected input shapes {[(None,) + s for s in self.input_shapes[:3]]} "
                                     f"(input_shape), got {shapes[:3]}")

    def _embedding_inputs(self, xs):
        return xs[:2]

    def _attention_mask(self, xs):
        return None

    def _embed(self, xs):
        if self.embedding_layer is not None:
            with G.name_scope("embedding"):
                out = self.embedding_layer(list(xs) if len(xs) > 1 else xs[0])
            if isinstance(out, (list, tuple)) or len(out.shape) != 3 or out.shape[-1] != self._hidden:
                raise self.error(f"embedding_layer '{self.embedding_layer.name}' must output one (batch, seq, "
                                 f"{self._hidden}) tensor, got {out}")
            return out
        ids, pos = xs
        h = F.add(G.apply(E.Embedding(), [ids, G.parameter(self.tokens)]),
                  G.apply(E.Embedding(), [pos, G.parameter(self.positions if self.positions is not None
                                                           else self.tokens)]))
        return F.dropout(h, self.embedding_drop) if self.embedding_drop else h

    def _block(self, w: dict, x, mask):
        causal = not self.bidirectional
        c = F.linear(x, w["attn_qkv/kernel"], w["attn_qkv/bias"])
        op = DotProductAttention(self.n_head, causal=causal, dropout=self.attn_drop, packed=True)
        a = G.apply(op, [c] + ([mask] if mask is not None else []))
        a = F.linear(a, w["attn_out/kernel"], w["attn_out/bias"])
        if self.hidden_drop:
            a = F.dropout(a, self.hidden_drop)
        n = F.layer_norm(F.add(x, a), w["ln_1/gamma"], w["ln_1/beta"], axis=-1, epsilon=self.epsilon)
        m = F.bias_act(F.linear(n, w["mlp_fc/kernel"]), w["mlp_fc/bias"], "gelu", approximate=self._gelu_approximate)
        m = F.linear(m, w["mlp_out/kernel"], w["mlp_out/bias"])
        if self.hidden_drop:
            m = F.dropout(m, self.hidden_drop)
        return F.layer_norm(F.add(n, m), w["ln_2/gamma"], w["ln_2/beta"], axis=-1, epsilon=self.epsilon)

    def _head(self, outs):
        return outs if self.output_all_block else outs[-1]

    def call(self, xs):
        if not isinstance(xs, list) or len(xs) != self._n_inputs:
            raise self.error(f"expected a list of {self._n_inputs} inputs {self._input_names}, got {xs}")
        self._check_call_shapes([t.shape for t in xs])
        h = self._embed(self._embedding_inputs(xs))
        mask = self._attention_mask(xs)
        outs = []
        for i, w in enumerate(self.blocks):
            with G.name_scope(f"block_{i}"):
                h = self._block(w, h, mask)
            outs.append(h)
        return self._head(outs)

    def compute_output_shape(self, input_shape):
        b, s = input_shape[0][0], input_shape[0][1]
        one = (b, s, getattr(self, "_hidden", self.hidden_size))
        return [one] * self.n_block if self.output_all_block else one

    # ---- config -------------------------------------------------------------------------------

    def _common_config(self) -> dict:
        return {**super().get_config(), "n_block": self.n_block, "n_head": self.n_head,
                "hidden_drop": self.hidden_drop, "attn_drop": self.attn_drop,
                "initializer_range": self.initializer_range, "output_all_block": self.output_all_block,
                "intermediate_size": self.intermediate_size, "epsilon": self.epsilon,
                "embedding_layer": None if self.embedding_layer is None else _serialize(self.embedding_layer),
                "input_shape": None if self.input_shapes is None else [list(s) for s in self.input_shapes],
                "vocab": self.vocab, "hidden_size": self.hidden_size}

    def get_config(self):
        return {**self._common_config(), "bidirectional": self.bidirectional, "embedding_drop": self.embedding_drop,
                "position_vocab": self.position_vocab}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: bool = True):
        return cls(**config, custom_objects=custom_objects, safe_mode=safe_mode)


class BERT(TransformerLayer):
    """Analytics Zoo's BERT: a bidirectional TransformerLayer encoder with a pooled output.

    Embedding (built-in): word (vocab rows) + position (max_position_len rows) + token type
    (type_vocab rows) lookups, LayerNorm (epsilon 1e-12), Dropout(hidden_drop). Blocks as
    TransformerLayer's with bidirectional attention limited by the attention mask and exact
    (erf) GELU; layer norms use `epsilon` (default 1e-12, as BERT). Pooler: tanh(Dense) of the
    last block's first token.

    Args:
        n_block, n_head, intermediate_size, hidden_drop, attn_drop, initializer_range,
            output_all_block, embedding_layer, input_shape: as Analytics Zoo, in its order.
        embedding_layer: a layer or model mapping [ids, segment ids, positions] to (batch, seq,
            hidden); None for the built-in one, which needs `vocab` and `hidden_size`.
        max_position_len, type_vocab: rows of the built-in position and token type tables.
    Input: [token ids (batch, seq), segment ids (batch, seq), positions (batch, seq), attention
        mask (batch, seq) or (batch, 1, 1, seq)], the mask 1 for tokens and 0 for padding keys
        (a 0/1 mask masks exactly as Analytics Zoo's (1 - mask) * -10000 added to the scores).
    Output: [last block's states (batch, seq, hidden), pooled (batch, hidden)], or with
        output_all_block every block's states then the pooled output.
    Weights (get_weights): the embedding's (built-in: word, position and token type tables,
        LayerNorm gamma and beta), the blocks' as TransformerLayer, then the pooler kernel
        (hidden, hidden) and bias.
    `BERT.init(vocab, hidden_size, n_block, n_head, seq_len, intermediate_size, ...)` builds one
    with the built-in embedding.
    """

    _n_inputs = 4
    _gelu_approximate = False
    _input_names = "[token ids, segment ids, positions, attention mask]"

    def __init__(self, n_block: int = 12, n_head: int = 12, intermediate_size: int = 3072, hidden_drop: float = 0.1,
                 attn_drop: float = 0.1, initializer_range: float = 0.02, output_all_block: bool = True,
                 embedding_layer=None, input_shape=None, vocab: int | None = None, hidden_size: int | None = None,
                 max_position_len: int = 512, type_vocab: int = 2, epsilon: float = 1e-12, custom_objects=None,
                 safe_mode: bool = True, **kwargs):
        Layer.__init__(self, **kwargs)
        self._setup(n_block, hidden_drop, attn_drop, n_head, initializer_range, output_all_block, embedding_layer,
                    input_shape, intermediate_size, vocab, hidden_size, epsilon, custom_objects, safe_mode)
        self.bidirectional = True
        self.max_position_len = check_positive_int(self, "max_position_len", max_position_len)
        self.type_vocab = check_positive_int(self, "type_vocab", type_vocab)

    @classmethod
    def init(cls, vocab: int = 40990, hidden_size: int = 768, n_block: int = 12, n_head: int = 12,
             seq_len: int = 512, intermediate_size: int = 3072, hidden_drop: float = 0.1, attn_drop: float = 0.1,
             initializer_range: float = 0.02, output_all_block: bool = True, max_position_len: int | None = None,
             **kwargs) -> BERT:
        """A BERT with the built-in embedding (Analytics Zoo's BERT.init; positions up to max_position_len,
        default seq_len)."""
        return cls(n_block, n_head, intermediate_size, hidden_drop, attn_drop, initializer_range, output_all_block,
                   None, input_shape=[(seq_len,), (seq_len,), (seq_len,), (1, 1, seq_len)], vocab=vocab,
                   hidden_size=hidden_size, max_position_len=max_position_len or seq_len, **kwargs)

    init_with_default_embedding = init

    def _check_input_shapes(self, input_shape):
        shapes = super()._check_input_shapes(input_shape)
        if shapes is not None and len(shapes[3]) not in (1, 3):
            raise self.error(f"input_shape: the attention mask's shape must be (seq,) or (1, 1, seq), got "
                             f"{shapes[3]}")
        return shapes

    def _check_call_shapes(self, shapes) -> None:
        super()._check_call_shapes(shapes)
        m, s = shapes[3], shapes[0][1]
        if not ((len(m) == 2 and m[1] in (s, None)) or (len(m) == 4 and m[1:3] == (1, 1) and m[3] in (s, None))):
            raise self.error(f"expected an attention mask of shape (batch, {s}) or (batch, 1, 1, {s}), got {m}")

    def _build_embedding(self, shapes) -> int:
        if self.embedding_layer is not None:
            return self._build_inner_embedding(shapes)
        normal, d = RandomNormal(0.0, self.initializer_range), self.hidden_size
        self.words = self._weight("embedding/words", (self.vocab, d), normal)
        self.positions = self._weight("embedding/positions", (self.max_position_len, d), normal)
        self.token_types = self._weight("embedding/token_types", (self.type_vocab, d), normal)
        self.emb_gamma = self._weight("embedding/ln/gamma", (d,), "ones")
        self.emb_beta = self._weight("embedding/ln/beta", (d,), "zeros")
        return d

    def _build_head(self, d: int) -> None:
        normal = RandomNormal(0.0, self.initializer_range)
        self.pooler_kernel = self._weight("pooler/kernel", (d, d), normal)
        self.pooler_bias = self._weight("pooler/bias", (d,), "zeros")

    def _embedding_inputs(self, xs):
        return xs[:3]

    def _attention_mask(self, xs):
        return xs[3]

    def _embed(self, xs):
        if self.embedding_layer is not None:
            return super()._embed(xs)
        ids, seg, pos = xs
        e = F.add_n([G.apply(E.Embedding(), [ids, G.parameter(self.words)]),
                     G.apply(E.Embedding(), [seg, G.parameter(self.token_types)]),
                     G.apply(E.Embedding(), [pos, G.parameter(self.positions)])])
        e = F.layer_norm(e, self.emb_gamma, self.emb_beta, axis=-1, epsilon=1e-12)
        return F.dropout(e, self.hidden_drop) if self.hidden_drop else e

    def _head(self, outs):
        first = F.getitem(outs[-1], (slice(None), 0))
        pooled = F.bias_act(F.linear(first, self.pooler_kernel), self.pooler_bias, "tanh")
        return (outs if self.output_all_block else [outs[-1]]) + [pooled]

    def compute_output_shape(self, input_shape):
        b, s = input_shape[0][0], input_shape[0][1]
        d = getattr(self, "_hidden", self.hidden_size)
        seq = [(b, s, d)] * (self.n_block if self.output_all_block else 1)
        return seq + [(b, d)]

    def get_config(self):
        return {**self._common_config(), "max_position_len": self.max_position_len, "type_vocab": self.type_vocab}
