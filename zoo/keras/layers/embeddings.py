"""Embedding layers: Embedding, WordEmbedding (GloVe vectors) with prepare_embedding, and
SparseEmbedding (a bag of ids per sample, combined by sum, mean or sqrtn).

Ids may come as integers or as floats (a Sequential model's input is float32 unless an Input
says otherwise); floats are truncated, as Keras casts them. The lookup is a gather and its
weight gradient a deterministic scatter-add in C (zoo/engine/ops/embedding.py).
"""

from __future__ import annotations

import os

import numpy as np

from zoo.engine import graph as G
from zoo.engine.ops import embedding as E
from zoo.keras.layers.base import Layer, check_positive_int
from zoo.keras.layers.recurrent.masking import set_mask

__all__ = ["Embedding", "SparseEmbedding", "WordEmbedding", "prepare_embedding"]


def _as_weight_list(weights):
    """Analytics Zoo passes one (input_dim, output_dim) array; Keras a list of arrays."""
    if weights is None:
        return None
    if isinstance(weights, np.ndarray) and weights.ndim == 2:
        return [weights]
    return list(weights)


class _Table(Layer):
    """What Embedding and SparseEmbedding share: the (input_dim, output_dim) table, its initializer
    (Analytics Zoo: init) and regularizer (W_regularizer)."""

    def __init__(self, input_dim, output_dim, embeddings_initializer, embeddings_regularizer, init, W_regularizer,
                 weights, **kwargs):
        super().__init__(weights=_as_weight_list(weights), **kwargs)
        self.input_dim = check_positive_int(self, "input_dim", input_dim)
        self.output_dim = check_positive_int(self, "output_dim", output_dim)
        self.embeddings_initializer = init if init is not None else embeddings_initializer
        self.embeddings_regularizer = W_regularizer if W_regularizer is not None else embeddings_regularizer

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer, regularizer=self.embeddings_regularizer)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim}


class Embedding(_Table):
    """Turns ids into dense vectors: `y[..., :] = embeddings[ids[...]]`.

    Args:
        input_dim: number of ids (the table's rows). output_dim: vector size.
        embeddings_initializer: default 'uniform' (U(-0.05, 0.05); Analytics Zoo: `init`).
        embeddings_regularizer (Analytics Zoo: `W_regularizer`).
        mask_zero: the id 0 marks padding: the output carries a step mask (ids != 0) that
            recurrent layers use to skip those steps (Keras semantics: the vectors themselves
            are not zeroed; input_dim must count the 0).
        input_length: sequence length, for a first layer without input_shape.
        zero_based_id: ids count from 0 (default); False for 1-based ids (BigDL).
        padding_value: an id whose output is the zero vector and which gets no gradient
            (Analytics Zoo); None (default) for none.
        weights: initial table, an (input_dim, output_dim) array (or a one-element list).
        trainable: False freezes the table.
    Input shape: (batch, ...) ids. Output shape: (batch, ..., output_dim).
    Weights: embeddings (input_dim, output_dim).
    Example:
        >>> from zoo.keras.models import Sequential
        >>> Sequential([Embedding(100, 8, input_length=5)]).output_shape
        (None, 5, 8)
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        mask_zero: bool = False,
        input_length: int | None = None,
        zero_based_id: bool = True,
        padding_value: int | None = None,
        init=None,
        W_regularizer=None,
        weights=None,
        **kwargs,
    ):
        if input_length is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (
                (input_length,) if isinstance(input_length, (int, np.integer)) else tuple(input_length)
            )
        super().__init__(input_dim, output_dim, embeddings_initializer, embeddings_regularizer, init, W_regularizer,
                         weights, **kwargs)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length
        self.zero_based_id = bool(zero_based_id)
        if padding_value is not None and (
            isinstance(padding_value, bool) or not isinstance(padding_value, (int, np.integer))
        ):
            raise TypeError(
                f"{type(self).__name__} '{self.name}': padding_value must be an int or None, got "
                f"{padding_value!r}"
            )
        self.padding_value = None if padding_value is None else int(padding_value)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def call(self, x):
        if len(x.shape) < 1:
            raise self.error(f"expected ids of rank >= 1, got shape {x.shape}")
        y = G.apply(E.Embedding(self.zero_based_id, self.padding_value), [x, G.parameter(self.embeddings)])
        if self.mask_zero:
            if len(x.shape) != 2:
                raise self.error(f"mask_zero needs ids of shape (batch, time), got {x.shape}")
            set_mask(self, y, G.apply(E.NotEqualMask(0), [x]))
        return y

    def get_config(self):
        cfg = {
            **super().get_config(),
            "mask_zero": self.mask_zero,
            "zero_based_id": self.zero_based_id,
            "padding_value": self.padding_value,
        }
        if self.input_length is not None:
            cfg["input_length"] = self.input_length
        return cfg


# ---- pre-trained word vectors --------------------------------------------------------------------


def _read_glove(path: str):
    """(words, vectors) of a GloVe text file: one `word v1 v2 ... vD` per line."""
    if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
        raise ValueError(f"WordEmbedding: embedding_file {path!r} is not a file")
    words, rows, dim = [], [], None
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.rstrip("\n").rstrip().split(" ")
            if len(parts) < 2:
                continue
            try:
                vec = np.asarray(parts[1:], dtype=np.float32)
            except ValueError:
                raise ValueError(
                    f"WordEmbedding: {path}:{lineno}: expected 'word' followed by numbers, got {line[:60]!r}"
                ) from None
            if dim is None:
                dim = vec.size
            elif vec.size != dim:
                raise ValueError(
                    f"WordEmbedding: {path}:{lineno}: expected {dim} numbers after the word, got {vec.size}"
                )
            words.append(parts[0])
            rows.append(vec)
    if dim is None:
        raise ValueError(f"WordEmbedding: embedding_file {path!r} holds no vectors")
    return words, np.stack(rows)


def get_word_index(embedding_file: str) -> dict:
    """{word: index} of every word in a GloVe file, indices from 1 in file order (0 is reserved)."""
    words, _ = _read_glove(embedding_file)
    return {w: i + 1 for i, w in enumerate(words)}


def prepare_embedding(
    embedding_file: str,
    word_index: dict | None = None,
    randomize_unknown: bool = False,
    normalize: bool = False,
    seed: int = 0,
) -> np.ndarray:
    """The (max index + 1, dim) table for `word_index` ({word: index >= 1}) from a GloVe file.

    Row 0 (unknown words / padding) is zero. Words of word_index missing from the file get zeros,
    or U(-0.05, 0.05) values with randomize_unknown. normalize scales each row to unit L2 norm.
    word_index None: every word of the file, indices 1, 2, ... in file order.
    """
    words, vecs = _read_glove(embedding_file)
    if word_index is None:
        word_index = {w: i + 1 for i, w in enumerate(words)}
    if not isinstance(word_index, dict) or not word_index:
        raise ValueError(
            f"WordEmbedding: word_index must be a non-empty dict {{word: index}}, got "
            f"{type(word_index).__name__}"
        )
    bad = [
        (w, i)
        for w, i in word_index.items()
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i < 1
    ]
    if bad:
        raise ValueError(f"WordEmbedding: word_index values must be ints >= 1 (0 is reserved), got {bad[:3]}")
    n = max(word_index.values()) + 1
    table = np.zeros((n, vecs.shape[1]), np.float32)
    found = np.zeros(n, bool)
    pos = {w: k for k, w in enumerate(words)}
    for w, i in word_index.items():
        k = pos.get(w)
        if k is not None:
            table[i] = vecs[k]
            found[i] = True
    if randomize_unknown:
        missing = ~found
        missing[0] = False
        table[missing] = np.random.default_rng(seed).uniform(-0.05, 0.05, (int(missing.sum()), vecs.shape[1]))
    if normalize:
        norms = np.linalg.norm(table, axis=1, keepdims=True)
        np.divide(table, norms, out=table, where=norms > 0)
    return table


class WordEmbedding(Embedding):
    """An Embedding whose table is loaded from pre-trained GloVe vectors (frozen by default).

    Args:
        embedding_file: GloVe text file (`word v1 ... vD` per line).
        word_index: {word: index >= 1} of the text's vocabulary (index 0 is unknown/padding and
            maps to zeros); None: every word of the file, in file order.
        trainable: default False. input_length: sequence length.
    Input (batch, time) ids; output (batch, time, D).
    """

    def __init__(
        self,
        embedding_file: str,
        word_index: dict | None = None,
        trainable: bool = False,
        input_length: int | None = None,
        randomize_unknown: bool = False,
        normalize: bool = False,
        **kwargs,
    ):
        kwargs.pop("weights", None)
        dims = kwargs.pop("input_dim", None), kwargs.pop("output_dim", None)
        if not os.path.isfile(str(embedding_file)) and None not in dims:
            # a saved model restores its table from its weights: the file need not be there any more
            table = np.zeros(dims, np.float32)
        else:
            table = prepare_embedding(embedding_file, word_index, randomize_unknown, normalize)
        super().__init__(
            table.shape[0],
            table.shape[1],
            input_length=input_length,
            trainable=trainable,
            weights=[table],
            **kwargs,
        )
        self.embedding_file = str(embedding_file)
        self.word_index = None if word_index is None else {str(k): int(v) for k, v in word_index.items()}
        self.randomize_unknown = bool(randomize_unknown)
        self.normalize = bool(normalize)

    get_word_index = staticmethod(get_word_index)

    def get_config(self):
        cfg = super().get_config()
        for key in ("embeddings_initializer", "zero_based_id"):
            cfg.pop(key, None)
        return {
            **cfg,
            "embedding_file": self.embedding_file,
            "word_index": self.word_index,
            "randomize_unknown": self.randomize_unknown,
            "normalize": self.normalize,
        }


# ---- bags of ids -------------------------------------------------------------------------------


class SparseEmbedding(_Table):
    """Embedding bag: each sample's ids combined into one vector.

    `y[b] = combine over l with ids[b, l] >= 0 of embeddings[ids[b, l]]`; combiner 'sum',
    'mean' or 'sqrtn' (sum / sqrt(count)); negative ids pad the rows of ragged bags. With
    max_norm, rows longer than it (L2) are scaled to it before combining (as TensorFlow's
    embedding_lookup_sparse; Analytics Zoo's max_norm=-1 means none).
    Args: input_dim, output_dim, combiner, max_norm, embeddings_initializer (init),
    embeddings_regularizer (W_regularizer), zero_based_id.
    Input shape: (batch, ids per sample). Output shape: (batch, output_dim).
    Example:
        >>> from zoo.keras.models import Sequential
        >>> Sequential([SparseEmbedding(50, 4, combiner="mean", input_shape=(6,))]).output_shape
        (None, 4)
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        combiner: str = "sum",
        max_norm: float | None = None,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        zero_based_id: bool = True,
        init=None,
        W_regularizer=None,
        weights=None,
        **kwargs,
    ):
        super().__init__(input_dim, output_dim, embeddings_initializer, embeddings_regularizer, init, W_regularizer,
                         weights, **kwargs)
        if combiner not in ("sum", "mean", "sqrtn"):
            raise ValueError(
                f"SparseEmbedding '{self.name}': combiner must be 'sum', 'mean' or 'sqrtn', got {combiner!r}"
            )
        self.combiner = combiner
        if max_norm is not None and (isinstance(max_norm, bool) or not isinstance(max_norm, (int, float))):
            raise TypeError(
                f"SparseEmbedding '{self.name}': max_norm must be a number or None, got {max_norm!r}"
            )
        self.max_norm = None if max_norm is None or max_norm <= 0 else float(max_norm)
        self.zero_based_id = bool(zero_based_id)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise self.error(f"expected ids of shape (batch, ids per sample), got {tuple(input_shape)}")
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def call(self, x):
        if len(x.shape) != 2:
            raise self.error(f"expected ids of shape (batch, ids per sample), got {x.shape}")
        return G.apply(
            E.EmbeddingBag(self.combiner, self.zero_based_id, self.max_norm),
            [x, G.parameter(self.embeddings)],
        )

    def get_config(self):
        return {
            **super().get_config(),
            "combiner": self.combiner,
            "max_norm": self.max_norm,
            "zero_based_id": self.zero_based_id,
        }
