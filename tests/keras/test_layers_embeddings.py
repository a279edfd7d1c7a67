"""Embedding layers: layer harness, tf.keras parity (outputs and table gradients), Analytics Zoo
arguments, GloVe loading (WordEmbedding, prepare_embedding), SparseEmbedding, bad input."""

import numpy as np
import pytest

from tests.harness import assert_close, check_layer
from tests.keras.test_layers_recurrent import check_model_parity
from zoo.keras import initializers
from zoo.keras import layers as L
from zoo.keras.models import Model, Sequential
from zoo.keras.regularizers import L1L2, L2


def test_embedding_parity(rng, tf):
    ids = rng.integers(0, 20, (4, 6)).astype(np.int32)
    TL = tf.keras.layers
    check_model_parity(tf, [L.Embedding(20, 5)], [TL.Embedding(20, 5)], [ids], rtol=1e-6, atol=1e-7)
    check_model_parity(
        tf,
        [L.Embedding(20, 5), L.Flatten(), L.Dense(3)],
        [TL.Embedding(20, 5), TL.Flatten(), TL.Dense(3)],
        [ids],
        rtol=1e-5,
        atol=1e-6,
    )
    # float ids (a Sequential model's default input) behave as the integers they hold
    m = Sequential([L.Embedding(20, 5, input_length=6)])
    assert m.output_shape == (None, 6, 5)
    assert_close(m.predict(ids.astype(np.float32)), m.layers[-1].get_weights()[0][ids], atol=0)


def test_embedding_analytics_zoo_arguments(rng):
    table = rng.standard_normal((10, 3)).astype(np.float32)
    ids = np.array([[1, 2, 10], [10, 5, 1]])
    one_based = L.Embedding(10, 3, weights=table, zero_based_id=False, input_shape=(3,))
    m = Sequential([one_based])
    assert_close(m.predict(ids), table[ids - 1], atol=0)
    pad = L.Embedding(
        10, 3, weights=[table], padding_value=2, init="normal", W_regularizer="l2", input_shape=(3,)
    )
    m = Sequential([pad])
    ids0 = np.array([[0, 2, 9]])
    assert_close(m.predict(ids0), np.where((ids0 == 2)[..., None], 0, table[ids0]), atol=0)
    assert len(pad.regularizers) == 1
    cfg = pad.get_config()
    assert cfg["padding_value"] == 2 and cfg["zero_based_id"] is True
    # a frozen table does not move in training
    frozen = L.Embedding(10, 3, weights=table, trainable=False, input_length=3)
    model = Sequential([frozen, L.Flatten(), L.Dense(1)])
    from zoo.engine.optim import SGD

    model.compile(SGD(0.1), "mse")
    model.fit(ids0.repeat(4, 0), np.ones((4, 1), np.float32), batch_size=4, verbose=0)
    assert_close(frozen.get_weights()[0], table, atol=0)


@pytest.mark.parametrize(
    "cls,kwargs,out_shape",
    [
        (L.Embedding, {"input_dim": 5, "output_dim": 3}, (2, 4, 3)),
        (L.Embedding, {"input_dim": 5, "output_dim": 3, "mask_zero": True}, (2, 4, 3)),
        (
            L.Embedding,
            {"input_dim": 6, "output_dim": 2, "zero_based_id": False, "init": "uniform"},
            (2, 4, 2),
        ),
        (L.SparseEmbedding, {"input_dim": 5, "output_dim": 3, "combiner": "mean"}, (2, 3)),
        (L.SparseEmbedding, {"input_dim": 5, "output_dim": 3, "combiner": "sqrtn", "max_norm": 0.01}, (2, 3)),
    ],
)
def test_check_layer(cls, kwargs, out_shape):
    data = np.array([[0, 1, 4, 2], [3, 3, 0, 1]], np.int32)
    if not kwargs.get("zero_based_id", True):
        data = data + 1
    check_layer(
        cls,
        kwargs,
        input_shape=(2, 4),
        expected_output_shape=out_shape,
        expected_num_weights=1,
        input_data=data,
        input_dtype="int32",
    )


# ---- GloVe ---------------------------------------------------------------------------------------


@pytest.fixture
def glove(tmp_path):
    path = tmp_path / "glove.6d.txt"
    path.write_text("the 0.1 0.2 0.3\nof -1 0 1\nrain 3 4 0\n", encoding="utf-8")
    return str(path)


def test_word_embedding(glove):
    index = L.WordEmbedding.get_word_index(glove)
    assert index == {"the": 1, "of": 2, "rain": 3}
    table = L.prepare_embedding(glove)
    assert table.shape == (4, 3) and table[0].tolist() == [0, 0, 0]
    assert_close(table[3], [3, 4, 0], atol=0)
    mine = {"rain": 1, "snow": 2, "the": 4}
    t2 = L.prepare_embedding(glove, mine, normalize=True)
    assert t2.shape == (5, 3)
    assert_close(t2[1], [0.6, 0.8, 0.0], atol=1e-7)
    assert t2[2].tolist() == [0, 0, 0] and t2[3].tolist() == [0, 0, 0]
    t3 = L.prepare_embedding(glove, mine, randomize_unknown=True)
    assert np.abs(t3[2]).max() > 0 and t3[0].tolist() == [0, 0, 0] and np.abs(t3[2]).max() <= 0.05
    layer = L.WordEmbedding(glove, mine, input_length=4)
    model = Sequential([layer])
    ids = np.array([[1, 2, 0, 4]])
    assert_close(model.predict(ids), L.prepare_embedding(glove, mine)[ids], atol=0)
    assert not layer.trainable and model.layers[-1].get_weights()[0].shape == (5, 3)
    check_layer(
        L.WordEmbedding,
        {"embedding_file": glove, "trainable": True},
        input_shape=(2, 4),
        expected_output_shape=(2, 4, 3),
        expected_num_weights=1,
        input_data=np.array([[0, 1, 2, 3], [3, 2, 1, 0]], np.int32),
        input_dtype="int32",
    )


def test_word_embedding_config_without_the_file(glove, tmp_path):
    layer = L.WordEmbedding(glove, input_length=2)
    Sequential([layer])
    cfg = layer.get_config()
    assert (cfg["input_dim"], cfg["output_dim"]) == (4, 3)
    cfg["embedding_file"] = str(tmp_path / "moved.txt")  # e.g. a saved model opened elsewhere
    clone = L.WordEmbedding.from_config(cfg)
    Sequential([clone])
    clone.set_weights(layer.get_weights())
    assert_close(clone.get_weights()[0], L.prepare_embedding(glove), atol=0)


def test_word_embedding_bad_input(glove, tmp_path):
    with pytest.raises(ValueError, match="WordEmbedding: embedding_file 'nope.txt' is not a file"):
        L.WordEmbedding("nope.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1 2\nb 1 x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected 'word' followed by numbers"):
        L.prepare_embedding(str(bad))
    bad.write_text("a 1 2\nb 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected 2 numbers after the word, got 1"):
        L.prepare_embedding(str(bad))
    with pytest.raises(ValueError, match=r"word_index values must be ints >= 1 \(0 is reserved\)"):
        L.prepare_embedding(glove, {"the": 0})


# ---- SparseEmbedding -------------------------------------------------------------------------------


@pytest.mark.parametrize("combiner", ["sum", "mean", "sqrtn"])
def test_sparse_embedding_matches_tf(combiner, rng, tf):
    ids = rng.integers(0, 9, (5, 4))
    ids[0, 2:] = -1
    ids[3, 1:] = -1
    layer = L.SparseEmbedding(9, 3, combiner=combiner, max_norm=1.0 if combiner == "sum" else None)
    m = Model(i := L.Input((4,), dtype="int64"), layer(i))
    table = layer.get_weights()[0]
    keep = ids >= 0
    sp = tf.sparse.SparseTensor(np.argwhere(keep), ids[keep], ids.shape)
    ref = tf.nn.embedding_lookup_sparse(table, sp, None, combiner=combiner, max_norm=layer.max_norm)
    assert_close(m.predict(ids), ref.numpy(), rtol=1e-5, atol=1e-6)
    assert L.SparseEmbedding(9, 3, max_norm=-1).max_norm is None  # Analytics Zoo's "none"


# ---- bad input -----------------------------------------------------------------------------------


def test_embedding_bad_input(rng):
    with pytest.raises(ValueError, match="Embedding 'e': input_dim must be a positive int, got 0"):
        L.Embedding(0, 3, name="e")
    with pytest.raises(TypeError, match="Embedding 'e2': padding_value must be an int or None, got 1.5"):
        L.Embedding(4, 3, padding_value=1.5, name="e2")
    m = Sequential([L.Embedding(4, 2, input_length=3, name="emb")])
    with pytest.raises(
        ValueError,
        match=r"Embedding 'emb': embedding_gather: id 7 at flat position 2 is out of range "
        r"\[0, 4\)",
    ):
        m.predict(np.array([[0, 1, 7]]))
    with pytest.raises(
        ValueError,
        match=r"Embedding 'e3': mask_zero needs ids of shape \(batch, time\), got "
        r"\(None, 2, 3\)",
    ):
        L.Embedding(4, 2, mask_zero=True, name="e3")(L.Input((2, 3)))
    with pytest.raises(
        ValueError, match="SparseEmbedding 's': combiner must be 'sum', 'mean' or 'sqrtn', got 'max'"
    ):
        L.SparseEmbedding(4, 2, combiner="max", name="s")
    with pytest.raises(
        ValueError,
        match=r"SparseEmbedding 's2': expected ids of shape \(batch, ids per sample\), got "
        r"\(None, 2, 3\)",
    ):
        L.SparseEmbedding(4, 2, name="s2")(L.Input((2, 3)))
    with pytest.raises(ValueError, match=r"Embedding 'e4': expected 1 weight arrays \[\(4, 2\)\], got 2"):
        L.Embedding(4, 2, weights=[np.zeros((4, 2)), np.zeros(2)], name="e4")(L.Input((3,)))


# ---- initializers and regularizers survive get_config / from_config ------------------------------

_U = initializers.RandomUniform(0.1, 0.3)


@pytest.mark.parametrize("cls,kw", [
    (L.Embedding, {"input_dim": 5, "output_dim": 3, "embeddings_initializer": _U,
                   "embeddings_regularizer": L1L2(0.01, 0.02)}),
    (L.Embedding, {"input_dim": 5, "output_dim": 3, "init": _U, "W_regularizer": "l2"}),
    (L.SparseEmbedding, {"input_dim": 5, "output_dim": 3, "init": _U, "W_regularizer": L2(0.03)}),
])
def test_config_keeps_initializer_and_regularizers(cls, kw):
    data = np.array([[0, 1, 4, 2], [3, 3, 0, 1]], np.int32)
    layer, _ = check_layer(cls, kw, (2, 4), input_data=data, input_dtype="int32", train=False)
    assert 0.1 <= layer.get_weights()[0].min() and layer.get_weights()[0].max() <= 0.3
    assert layer.regularizers
