import json
import math

import numpy as np
import pytest

from tests.harness import assert_close, check_layer
from zoo.engine.graph import Executor
from zoo.keras import initializers
from zoo.keras.layers import BERT, Add, Dense, Embedding, Input, MultiHeadAttention, TransformerLayer
from zoo.keras.models import Model, load_model
from zoo.keras.regularizers import L1L2

_erf = np.vectorize(math.erf)


# ---- numpy references (float64), written from the formulas -------------------------------------------

def _softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _layer_norm(x, g, b, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * g + b


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def _gelu_erf(x):
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _self_attention(x, w_qkv, b_qkv, heads, causal, key_mask=None):
    """Analytics Zoo's formulation: causal scores replaced by -1e9, padding adds (1 - mask) * -10000."""
    _B, S, d = x.shape
    c = x @ w_qkv + b_qkv
    q, k, v = c[..., :d], c[..., d:2 * d], c[..., 2 * d:]
    dh = d // heads
    out = np.zeros_like(x)
    for h in range(heads):
        sl = slice(h * dh, (h + 1) * dh)
        s = q[..., sl] @ k[..., sl].transpose(0, 2, 1) / math.sqrt(dh)
        if causal:
            tri = np.tril(np.ones((S, S)))
            s = s * tri + (1 - tri) * -1e9
        if key_mask is not None:
            s = s + (1.0 - key_mask[:, None, :]) * -10000.0
        out[..., sl] = _softmax(s) @ v[..., sl]
    return out


def _blocks(h, ws, heads, causal, gelu, eps, key_mask=None):
    """Post-norm blocks; ws holds 12 arrays per block in get_weights order. Returns every block's output."""
    outs = []
    for i in range(0, len(ws), 12):
        wqkv, bqkv, wo, bo, g1, b1, wf, bf, wf2, bf2, g2, b2 = ws[i:i + 12]
        a = _self_attention(h, wqkv, bqkv, heads, causal, key_mask) @ wo + bo
        n = _layer_norm(h + a, g1, b1, eps)
        m = gelu(n @ wf + bf) @ wf2 + bf2
        h = _layer_norm(n + m, g2, b2, eps)
        outs.append(h)
    return outs


def _randomize(layer, rng, scale=0.5):
    """Weights of a useful size (the 0.02 initial kernels leave little for a test to see)."""
    ws = [rng.normal(0, scale, w.shape).astype(np.float32) + (1.0 if w.ndim == 1 and i % 12 in (4, 10) else 0.0)
          for i, w in enumerate(layer.get_weights())]
    layer.set_weights(ws)
    return [w.astype(np.float64) for w in ws]


def _ids(rng, shape, high):
    return rng.integers(0, high, shape).astype(np.int64)


# ---- MultiHeadAttention: tf.keras parity ------------------------------------------------------------

def check_mha_parity(tf, zoo_layer, tf_layer, q, v, k=None, mask=None, causal=False, scores=False, rtol=1e-5,
                atol=1e-5):
    """Same weights and inputs: same output (and scores), and same input and weight gradients of sum(y * r)."""
    arrays = [q, v] + ([k] if k is not None else []) + ([mask] if mask is not None else [])
    ins = [Input(batch_shape=(None,) + a.shape[1:]) for a in arrays]
    out = zoo_layer(ins[0], ins[1], key=ins[2] if k is not None else None,
                    attention_mask=ins[-1] if mask is not None else None, use_causal_mask=causal or None,
                    return_attention_scores=scores or None)
    outs = list(out) if scores else [out]
    model = Model(ins, outs)
    tq, tv = tf.constant(q), tf.constant(v)
    tk = tf.constant(k) if k is not None else None
    tm = tf.constant(mask > 0) if mask is not None else None
    tf_layer(tq, tv, key=tk, attention_mask=tm, use_causal_mask=causal)  # build
    tf_layer.set_weights(zoo_layer.get_weights())
    exe = Executor(model.graph)
    ys = [y.copy() for y in exe.forward(arrays)]
    watched = [tq, tv] + ([tk] if tk is not None else [])
    with tf.GradientTape(persistent=True) as tape:
        for t in watched:
            tape.watch(t)
        res = tf_layer(tq, tv, key=tk, attention_mask=tm, use_causal_mask=causal, return_attention_scores=scores)
        res = list(res) if scores else [res]
        rs = [np.random.default_rng(7 + i).standard_normal(y.shape).astype(np.float32) for i, y in enumerate(ys)]
        loss = sum(tf.reduce_sum(t * r) for t, r in zip(res, rs))
    for y, t in zip(ys, res):
        assert_close(y, t.numpy(), rtol=rtol, atol=atol, err_msg="forward vs tf.keras")
    gx = exe.backward(rs, input_grads=True)
    for a, b in zip(gx, tape.gradient(loss, watched)):
        assert_close(a, b.numpy(), rtol=rtol, atol=atol, err_msg="input gradient vs tf.keras")
    grads = tape.gradient(loss, tf_layer.trainable_weights)
    store = exe.store
    for n, p, tg in zip(zoo_layer._weight_names, zoo_layer.weights, grads):
        g = zoo_layer.to_keras_weight(n, store.grad[p.offset:p.offset + p.size].reshape(p.shape))
        assert_close(g, tg.numpy(), rtol=rtol, atol=atol, err_msg=f"gradient of weight {n} vs tf.keras")


def test_mha_self_attention_parity(tf, rng):
    x = rng.standard_normal((3, 5, 8)).astype(np.float32)
    zoo = MultiHeadAttention(2, 4)
    check_mha_parity(tf, zoo, tf.keras.layers.MultiHeadAttention(2, 4), x, x)


def test_mha_cross_attention_parity(tf, rng):
    # query, value and key of different widths; value_dim and a 2-D output_shape
    q = rng.standard_normal((2, 4, 6)).astype(np.float32)
    v = rng.standard_normal((2, 7, 5)).astype(np.float32)
    k = rng.standard_normal((2, 7, 3)).astype(np.float32)
    kw = {"num_heads": 3, "key_dim": 2, "value_dim": 5, "output_shape": (2, 3)}
    check_mha_parity(tf, MultiHeadAttention(**kw), tf.keras.layers.MultiHeadAttention(**kw), q, v, k)


def test_mha_mask_and_causal_parity(tf, rng):
    q = rng.standard_normal((3, 6, 8)).astype(np.float32)
    v = rng.standard_normal((3, 6, 8)).astype(np.float32)
    mask = (rng.random((3, 6, 6)) > 0.3).astype(np.float32)
    mask[:, :, 0] = 1  # every query keeps a key (Keras' fast path averages rows with none)
    check_mha_parity(tf, MultiHeadAttention(4, 3), tf.keras.layers.MultiHeadAttention(4, 3), q, v, mask=mask)
    check_mha_parity(tf, MultiHeadAttention(2, 3, use_bias=False),
                tf.keras.layers.MultiHeadAttention(2, 3, use_bias=False), q, v, mask=mask, causal=True)
    check_mha_parity(tf, MultiHeadAttention(2, 4), tf.keras.layers.MultiHeadAttention(2, 4), q, q, causal=True)


def test_mha_attention_scores_parity(tf, rng):
    q = rng.standard_normal((2, 4, 6)).astype(np.float32)
    v = rng.standard_normal((2, 5, 6)).astype(np.float32)
    mask = (rng.random((2, 4, 5)) > 0.4).astype(np.float32)
    mask[:, 1] = 0  # a query row with no key: zeros in both (the scores path of Keras)
    check_mha_parity(tf, MultiHeadAttention(3, 2), tf.keras.layers.MultiHeadAttention(3, 2), q, v, mask=mask,
                scores=True)


def test_mha_weights_in_keras_order_and_shapes(tf):
    zoo = MultiHeadAttention(2, 3, value_dim=4)
    q, v = Input((5, 8)), Input((4, 6))
    zoo(q, v)
    ref = tf.keras.layers.MultiHeadAttention(2, 3, value_dim=4)
    ref(tf.zeros((1, 5, 8)), tf.zeros((1, 4, 6)))
    assert [w.shape for w in zoo.get_weights()] == [tuple(w.shape) for w in ref.get_weights()]
    assert [(8, 2, 3), (2, 3), (6, 2, 3), (2, 3), (6, 2, 4), (2, 4), (2, 4, 8), (8,)] == \
        [w.shape for w in zoo.get_weights()]


def test_mha_check_layer():
    check_layer(MultiHeadAttention, {"num_heads": 2, "key_dim": 3, "dropout": 0.2},
                input_shape=[(2, 5, 8), (2, 4, 6)], expected_output_shape=(2, 5, 8), expected_num_weights=8)
    check_layer(MultiHeadAttention, {"num_heads": 2, "key_dim": 3, "use_bias": False, "use_causal_mask": True},
                input_shape=[(2, 5, 8), (2, 5, 8)], expected_output_shape=(2, 5, 8), expected_num_weights=4)


def test_mha_keras_masks_from_embedding(rng):
    """A value/query mask from Embedding(mask_zero=True) acts as the matching attention_mask."""
    ids = np.array([[3, 4, 0, 0], [5, 1, 2, 0]], dtype=np.int64)
    inp = Input((4,), dtype="int64")
    emb = Embedding(8, 6, mask_zero=True)
    mha = MultiHeadAttention(2, 3)
    x = emb(inp)
    auto = Model(inp, mha(x, x)).predict(ids)
    m = (ids != 0).astype(np.float32)
    explicit_mask = Input((4, 4))
    x2 = emb(inp)
    explicit = Model([inp, explicit_mask], mha(x2, x2, attention_mask=explicit_mask)).predict(
        [ids, m[:, :, None] * m[:, None, :]])
    assert_close(auto, explicit, rtol=1e-6, atol=1e-6)
    assert_close(auto[0, 2], mha.get_weights()[-1], rtol=1e-6, atol=1e-6)  # a masked query row: the bias


def test_mha_dropout_only_in_training(rng):
    x = rng.standard_normal((4, 6, 8)).astype(np.float32)
    inp = Input((6, 8))
    model = Model(inp, MultiHeadAttention(2, 4, dropout=0.5)(inp, inp))
    exe = Executor(model.graph)
    a = exe.forward([x], training=False)[0].copy()
    assert_close(model.predict(x), a, rtol=1e-6)
    b = exe.forward([x], training=True)[0].copy()
    assert not np.allclose(a, b)


def test_mha_save_load_round_trip(tmp_path, rng):
    """Call-time flags (causal, scores) and the weights survive save/load_model (config only, no pickle)."""
    q_in, v_in, m_in = Input((4, 6)), Input((5, 3)), Input((4, 5))
    mha = MultiHeadAttention(2, 3, value_dim=2, output_shape=(2, 2), dropout=0.1)
    y, scores = mha(q_in, v_in, attention_mask=m_in, return_attention_scores=True, use_causal_mask=True)
    model = Model([q_in, v_in, m_in], [y, scores])
    xs = [rng.standard_normal((3, 4, 6)).astype(np.float32), rng.standard_normal((3, 5, 3)).astype(np.float32),
          (rng.random((3, 4, 5)) > 0.3).astype(np.float32)]
    before = model.predict(xs)
    json.dumps(mha.get_config())
    path = str(tmp_path / "mha.zip")
    model.save(path)
    after = load_model(path).predict(xs)
    assert after[0].shape == (3, 4, 2, 2) and after[1].shape == (3, 2, 4, 5)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert np.all(after[1][..., 0, 1:] == 0)  # causal: query 0 sees key 0 only


def test_mha_bad_input():
    q, v = Input((5, 8)), Input((4, 6))
    mha = MultiHeadAttention(2, 3)
    mha(q, v)
    with pytest.raises(ValueError, match=r"MultiHeadAttention '.*': expected query of shape \(batch, time, 8\), "
                                         r"got \(None, 5, 7\)"):
        mha(Input((5, 7)), v)
    with pytest.raises(ValueError, match=r"use_causal_mask=True differs from this layer's earlier calls"):
        mha(q, v, use_causal_mask=True)
    with pytest.raises(TypeError, match=r"value is required"):
        MultiHeadAttention(2, 3)(q)
    with pytest.raises(ValueError, match=r"expected query of shape \(batch, time, features\) with known features, "
                                         r"got \(None, 8\)"):
        MultiHeadAttention(2, 3)(Input((8,)), v)
    with pytest.raises(ValueError, match=r"num_heads must be a positive int, got 0"):
        MultiHeadAttention(0, 3)
    with pytest.raises(ValueError, match=r"attention_axes must be None"):
        MultiHeadAttention(2, 3, attention_axes=(1, 2))
    with pytest.raises(ValueError, match=r"output_shape must be a positive int or a tuple of them, got 0"):
        MultiHeadAttention(2, 3, output_shape=0)
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\), got 1.5"):
        MultiHeadAttention(2, 3, dropout=1.5)
    with pytest.raises(ValueError, match=r"expected \[query, value\], \[query, value, key\] or"):
        MultiHeadAttention(2, 3)([q])


# ---- TransformerLayer ------------------------------------------------------------------------------

VOCAB, HIDDEN, HEADS, BLOCKS, SEQ = 20, 8, 2, 2, 5


def _tl_model(layer, seq=SEQ):
    ids, pos = Input((seq,), dtype="int64"), Input((seq,), dtype="int64")
    return Model([ids, pos], layer([ids, pos]))


def test_transformer_check_layer(rng):
    xs = [_ids(rng, (3, SEQ), VOCAB), np.tile(np.arange(SEQ), (3, 1))]
    check_layer(TransformerLayer, {"n_block": BLOCKS, "n_head": HEADS, "vocab": VOCAB, "hidden_size": HIDDEN,
                                       "intermediate_size": 12, "hidden_drop": 0.1, "attn_drop": 0.1},
                input_shape=[(3, SEQ), (3, SEQ)], expected_output_shape=(3, SEQ, HIDDEN),
                expected_num_weights=1 + 12 * BLOCKS, input_data=xs, input_dtype="int64")


@pytest.mark.parametrize("bidirectional", [False, True])
def test_transformer_matches_numpy_reference(bidirectional, rng):
    layer = TransformerLayer.init(vocab=VOCAB, seq_len=SEQ, n_block=BLOCKS, n_head=HEADS, hidden_size=HIDDEN,
                                  bidirectional=bidirectional, output_all_block=True)
    model = _tl_model(layer)
    ws = _randomize(layer, rng)
    ids = _ids(rng, (4, SEQ), VOCAB - SEQ)
    pos = np.tile(np.arange(VOCAB - SEQ, VOCAB), (4, 1))  # GPT-1: positions are the table's last rows
    got = model.predict([ids, pos])
    table = ws[0]
    ref = _blocks(table[ids] + table[pos], ws[1:], HEADS, not bidirectional, _gelu_tanh, 1e-5)
    assert len(got) == BLOCKS
    for g, r in zip(got, ref):
        assert_close(g, r, rtol=1e-5, atol=1e-5)


def test_transformer_all_blocks_float_ids_and_frozen_config(rng):
    """output_all_block gives one output per block; float ids (Input's default dtype) are truncated."""
    kwargs = {"n_block": 3, "n_head": HEADS, "vocab": VOCAB, "hidden_size": HIDDEN, "output_all_block": True,
              "bidirectional": True}
    layer, _ = check_layer(TransformerLayer, kwargs, input_shape=[(2, SEQ), (2, SEQ)],
                           expected_output_shape=[(2, SEQ, HIDDEN)] * 3,
                           input_data=[_ids(rng, (2, SEQ), VOCAB).astype(np.float32) + 0.25,
                                       np.tile(np.arange(SEQ), (2, 1)).astype(np.float32)])
    assert layer.output_shape == [(None, SEQ, HIDDEN)] * 3
    frozen = TransformerLayer.from_config({**layer.get_config(), "name": "frozen_tl", "trainable": False})
    _tl_model(frozen)
    assert frozen.count_params() == layer.count_params() and not frozen.trainable_weights


def test_transformer_causal_does_not_look_ahead(rng):
    layer = TransformerLayer.init(vocab=VOCAB, seq_len=SEQ, n_block=BLOCKS, n_head=HEADS, hidden_size=HIDDEN)
    model = _tl_model(layer)
    _randomize(layer, rng)
    ids = _ids(rng, (2, SEQ), VOCAB)
    pos = np.tile(np.arange(SEQ), (2, 1))
    a = model.predict([ids, pos])
    ids2 = ids.copy()
    ids2[:, -1] = (ids2[:, -1] + 1) % VOCAB
    b = model.predict([ids2, pos])
    assert_close(a[:, :-1], b[:, :-1], rtol=1e-6, atol=1e-6)
    assert not np.allclose(a[:, -1], b[:, -1])


def test_transformer_separate_position_table_and_intermediate_size(rng):
    layer = TransformerLayer(1, 0.0, 0.0, 2, vocab=VOCAB, hidden_size=HIDDEN, position_vocab=SEQ,
                             intermediate_size=6, embedding_drop=0.0)
    model = _tl_model(layer)
    ws = _randomize(layer, rng)
    assert [w.shape for w in layer.get_weights()][:2] == [(VOCAB, HIDDEN), (SEQ, HIDDEN)]
    assert layer.get_weights()[8].shape == (HIDDEN, 6)
    ids, pos = _ids(rng, (3, SEQ), VOCAB), np.tile(np.arange(SEQ), (3, 1))
    ref = _blocks(ws[0][ids] + ws[1][pos], ws[2:], 2, True, _gelu_tanh, 1e-5)[-1]
    assert_close(model.predict([ids, pos]), ref, rtol=1e-5, atol=1e-5)


def _embedding_model():
    """A user embedding: word + position tables, then a Dense (a nested model with three layers)."""
    ids, pos = Input((SEQ,), dtype="int64"), Input((SEQ,), dtype="int64")
    h = Add()([Embedding(VOCAB, 6)(ids), Embedding(SEQ, 6)(pos)])
    return Model([ids, pos], Dense(HIDDEN)(h))


def test_transformer_with_embedding_layer(rng):
    layer = TransformerLayer(BLOCKS, 0.0, 0.0, HEADS, 0.02, True, False, _embedding_model())
    model = _tl_model(layer)
    ws = _randomize(layer, rng)
    assert len(ws) == 4 + 12 * BLOCKS and ws[2].shape == (6, HIDDEN)
    ids, pos = _ids(rng, (3, SEQ), VOCAB), np.tile(np.arange(SEQ), (3, 1))
    h = (ws[0][ids] + ws[1][pos]) @ ws[2] + ws[3]
    ref = _blocks(h, ws[4:], HEADS, False, _gelu_tanh, 1e-5)[-1]
    assert_close(model.predict([ids, pos]), ref, rtol=1e-5, atol=1e-5)
    # the embedding trains with the blocks
    model.compile("sgd", "mse")
    before = layer.get_weights()
    model.fit([ids, pos], rng.standard_normal((3, SEQ, HIDDEN)).astype(np.float32), epochs=1, verbose=0)
    after = layer.get_weights()
    assert not np.array_equal(before[0], after[0]) and not np.array_equal(before[-1], after[-1])
    # frozen: nothing moves
    layer.trainable = False
    model.compile("sgd", "mse")
    model.fit([ids, pos], rng.standard_normal((3, SEQ, HIDDEN)).astype(np.float32), epochs=1, verbose=0)
    for a, b in zip(after, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_transformer_learns(rng):
    """Next-token prediction on a fixed cyclic sequence: the loss falls well below its start."""
    layer = TransformerLayer.init(vocab=12, seq_len=6, n_block=1, n_head=2, hidden_size=16, hidden_drop=0.0,
                                  attn_drop=0.0, embedding_drop=0.0, initializer_range=0.1)
    ids_in, pos_in = Input((6,), dtype="int64"), Input((6,), dtype="int64")
    logits = Dense(6, activation="softmax")(layer([ids_in, pos_in]))
    model = Model([ids_in, pos_in], logits)
    model.compile("adam", "sparse_categorical_crossentropy")
    starts = rng.integers(0, 6, 64)
    ids = (starts[:, None] + np.arange(6)) % 6
    pos = np.tile(np.arange(6, 12), (64, 1))
    target = (ids + 1) % 6
    hist = model.fit([ids, pos], target, batch_size=16, epochs=30, verbose=0)
    assert hist.history["loss"][-1] < 0.25 * hist.history["loss"][0]


def test_transformer_save_load_round_trip(tmp_path, rng):
    for layer in (TransformerLayer.init(vocab=VOCAB, seq_len=SEQ, n_block=BLOCKS, n_head=HEADS, hidden_size=HIDDEN),
                  TransformerLayer(BLOCKS, 0.1, 0.1, HEADS, 0.02, False, True, _embedding_model(),
                                   input_shape=[(SEQ,), (SEQ,)])):
        model = _tl_model(layer)
        _randomize(layer, rng)
        ids, pos = _ids(rng, (2, SEQ), VOCAB), np.tile(np.arange(SEQ), (2, 1))
        before = model.predict([ids, pos])
        json.dumps(layer.get_config())  # plain data only
        path = str(tmp_path / f"{layer.name}.zip")
        model.save(path)
        loaded = load_model(path)
        after = loaded.predict([ids, pos])
        for a, b in zip(before if isinstance(before, list) else [before], after if isinstance(after, list) else
                        [after]):
            np.testing.assert_array_equal(a, b)


def test_transformer_bad_input():
    with pytest.raises(ValueError, match=r"TransformerLayer '.*': give embedding_layer, or vocab and hidden_size"):
        TransformerLayer(2, 0.1, 0.1, 2)
    with pytest.raises(ValueError, match=r"hidden_size 9 is not divisible by n_head 2"):
        TransformerLayer(2, n_head=2, vocab=10, hidden_size=9)
    with pytest.raises(ValueError, match=r"hidden_drop must be a number in \[0, 1\), got 1.0"):
        TransformerLayer(2, 1.0, vocab=10, hidden_size=8)
    with pytest.raises(ValueError, match=r"n_block must be a positive int, got 0"):
        TransformerLayer(0, vocab=10, hidden_size=8)
    with pytest.raises(ValueError, match=r"input_shape must be a list of 2 shapes"):
        TransformerLayer(1, n_head=2, vocab=10, hidden_size=8, input_shape=(5,))
    with pytest.raises(TypeError, match=r"embedding_layer must be a zoo Layer or Model, got int"):
        TransformerLayer(1, n_head=2, embedding_layer=3)
    layer = TransformerLayer.init(vocab=10, seq_len=5, n_block=1, n_head=2, hidden_size=8)
    with pytest.raises(ValueError, match=r"TransformerLayer '.*': expected a list of 2 inputs \[token ids, positions\]"):
        layer(Input((5,)))
    with pytest.raises(ValueError, match=r"expected input shapes \[\(None, 5\), \(None, 5\)\] \(input_shape\), got "
                                         r"\[\(None, 6\), \(None, 6\)\]"):
        layer([Input((6,)), Input((6,))])
    with pytest.raises(ValueError, match=r"expected inputs of one sequence length"):
        TransformerLayer(1, n_head=2, vocab=10, hidden_size=8)([Input((5,)), Input((4,))])
    with pytest.raises(ValueError, match=r"embedding_layer '.*' must output one \(batch, seq, hidden\) tensor"):
        TransformerLayer(1, n_head=2, embedding_layer=Add())([Input((5,)), Input((5,))])
    with pytest.raises(ValueError, match=r"embedding_layer 'dense_.*' cannot take the inputs \[\(None, 5\), "
                                         r"\(None, 5\)\]"):
        TransformerLayer(1, n_head=2, embedding_layer=Dense(8))([Input((5,)), Input((5,))])


def test_transformer_out_of_range_ids(rng):
    model = _tl_model(TransformerLayer.init(vocab=VOCAB, seq_len=SEQ, n_block=1, n_head=HEADS, hidden_size=HIDDEN))
    with pytest.raises(ValueError, match=r"id 25 at flat position 0 is out of range \[0, 20\)"):
        model.predict([np.full((1, SEQ), 25), np.tile(np.arange(SEQ), (1, 1))])


# ---- gradients of the whole stack vs TensorFlow autodiff of the same formulas ----------------------------

def _tf_stack(tf, ws, xs, heads, causal, gelu_approx, eps, bert):
    """The TransformerLayer / BERT forward in TensorFlow ops (float64) on variables holding ws."""
    vs = [tf.Variable(w) for w in ws]
    ln = lambda x, g, b, e: (x - tf.reduce_mean(x, -1, keepdims=True)) / tf.sqrt(
        tf.math.reduce_variance(x, -1, keepdims=True) + e) * g + b
    with tf.GradientTape() as tape:
        if bert:
            ids, seg, pos, mask = xs
            h = ln(tf.gather(vs[0], ids) + tf.gather(vs[1], pos) + tf.gather(vs[2], seg), vs[3], vs[4], 1e-12)
            blocks, key_bias = vs[5:-2], (1.0 - mask[:, None, None, :]) * -10000.0
        else:
            ids, pos = xs
            h, blocks, key_bias = tf.gather(vs[0], ids) + tf.gather(vs[0], pos), vs[1:], None
        B, S, d = h.shape
        dh = d // heads
        outs = []
        for i in range(0, len(blocks), 12):
            wqkv, bqkv, wo, bo, g1, b1, wf, bf, wf2, bf2, g2, b2 = blocks[i:i + 12]
            c = tf.reshape(tf.reshape(h, (-1, d)) @ wqkv + bqkv, (B, S, 3, heads, dh))
            q, k, v = (tf.transpose(c[:, :, j], (0, 2, 1, 3)) for j in range(3))
            sc = q @ tf.transpose(k, (0, 1, 3, 2)) / math.sqrt(dh)
            if causal:
                sc = tf.where(np.tril(np.ones((S, S), bool)), sc, -1e9)
            if key_bias is not None:
                sc = sc + key_bias
            a = tf.reshape(tf.transpose(tf.nn.softmax(sc) @ v, (0, 2, 1, 3)), (B * S, d)) @ wo + bo
            n = ln(h + tf.reshape(a, (B, S, d)), g1, b1, eps)
            m = tf.nn.gelu(tf.reshape(n, (-1, d)) @ wf + bf, approximate=gelu_approx) @ wf2 + bf2
            h = ln(n + tf.reshape(m, (B, S, d)), g2, b2, eps)
            outs.append(h)
        if bert:
            outs.append(tf.tanh(h[:, 0] @ vs[-2] + vs[-1]))
        rs = [np.random.default_rng(3 + i).standard_normal(o.shape) for i, o in enumerate(outs)]
        loss = sum(tf.reduce_sum(o * r) for o, r in zip(outs, rs))
    grads = [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, vs)]
    return [o.numpy() for o in outs], rs, grads


@pytest.mark.parametrize("bert", [False, True])
def test_weight_gradients_match_tensorflow(bert, tf, rng):
    if bert:
        layer = BERT.init(vocab=VOCAB, hidden_size=HIDDEN, n_block=BLOCKS, n_head=HEADS, seq_len=SEQ,
                          intermediate_size=12, hidden_drop=0.0, attn_drop=0.0, output_all_block=True)
        model, xs = _bert_model(layer), _bert_inputs(rng, 3)
    else:
        layer = TransformerLayer.init(vocab=VOCAB, seq_len=SEQ, n_block=BLOCKS, n_head=HEADS, hidden_size=HIDDEN,
                                      output_all_block=True, hidden_drop=0.0, attn_drop=0.0, embedding_drop=0.0)
        model, xs = _tl_model(layer), [_ids(rng, (3, SEQ), VOCAB - SEQ), np.tile(np.arange(VOCAB - SEQ, VOCAB),
                                                                             (3, 1))]
    ws = _randomize(layer, rng)
    outs, rs, tgrads = _tf_stack(tf, ws, xs, HEADS, not bert, not bert, 1e-12 if bert else 1e-5, bert)
    exe = Executor(model.graph)
    ys = exe.forward(xs, training=True)
    for y, o in zip(ys, outs):
        assert_close(y, o, rtol=1e-5, atol=1e-5)
    exe.backward([r.astype(np.float32) for r in rs])
    for name, p, g in zip(layer._weight_names, layer.weights, tgrads):
        zg = exe.store.grad[p.offset:p.offset + p.size].reshape(p.shape)
        assert_close(zg, g, rtol=1e-3, atol=2e-4, err_msg=f"gradient of {name}")


# ---- BERT ------------------------------------------------------------------------------------------

def _bert_model(layer, seq=SEQ, mask_shape=None):
    ins = [Input((seq,), dtype="int64") for _ in range(3)] + [Input(mask_shape or (seq,))]
    return Model(ins, layer(ins))


def _bert_inputs(rng, batch, seq=SEQ, vocab=VOCAB):
    ids = _ids(rng, (batch, seq), vocab)
    seg = (np.arange(seq)[None, :] >= rng.integers(1, seq, (batch, 1))).astype(np.int64)
    pos = np.tile(np.arange(seq), (batch, 1))
    lengths = rng.integers(2, seq + 1, batch)
    mask = (np.arange(seq)[None, :] < lengths[:, None]).astype(np.float32)
    return [ids, seg, pos, mask]


def test_bert_check_layer(rng):
    check_layer(BERT, {"n_block": BLOCKS, "n_head": HEADS, "intermediate_size": 12, "vocab": VOCAB, "hidden_size": HIDDEN,
                           "max_position_len": SEQ, "output_all_block": False},
                input_shape=[(3, SEQ)] * 4, expected_output_shape=[(3, SEQ, HIDDEN), (3, HIDDEN)],
                expected_num_weights=5 + 12 * BLOCKS + 2, input_dtype="int64",
                input_data=[a.astype(np.int64) for a in _bert_inputs(rng, 3)])  # an integer 0/1 mask works too


@pytest.mark.parametrize("mask_shape", [(SEQ,), (1, 1, SEQ)])
def test_bert_matches_numpy_reference(mask_shape, rng):
    layer = BERT.init(vocab=VOCAB, hidden_size=HIDDEN, n_block=BLOCKS, n_head=HEADS, seq_len=SEQ,
                      intermediate_size=12, output_all_block=True)
    model = _bert_model(layer, mask_shape=mask_shape)
    ws = _randomize(layer, rng)
    ids, seg, pos, mask = _bert_inputs(rng, 4)
    got = model.predict([ids, seg, pos, mask.reshape((4,) + mask_shape)])
    words, positions, types, g, b = ws[:5]
    h = _layer_norm(words[ids] + positions[pos] + types[seg], g, b, 1e-12)
    seqs = _blocks(h, ws[5:-2], HEADS, False, _gelu_erf, 1e-12, key_mask=mask)
    pooled = np.tanh(seqs[-1][:, 0] @ ws[-2] + ws[-1])
    assert len(got) == BLOCKS + 1
    for a, r in zip(got, seqs + [pooled]):
        assert_close(a, r, rtol=1e-5, atol=1e-5)


def test_bert_padding_does_not_leak(rng):
    layer = BERT.init(vocab=VOCAB, hidden_size=HIDDEN, n_block=1, n_head=HEADS, seq_len=SEQ, intermediate_size=12,
                      output_all_block=False)
    model = _bert_model(layer)
    _randomize(layer, rng)
    ids, seg, pos, _ = _bert_inputs(rng, 2)
    mask = np.array([[1, 1, 1, 0, 0]] * 2, np.float32)
    seq_a, pooled_a = model.predict([ids, seg, pos, mask])
    ids2 = ids.copy()
    ids2[:, 3:] = (ids2[:, 3:] + 7) % VOCAB
    seq_b, pooled_b = model.predict([ids2, seg, pos, mask])
    assert_close(seq_a[:, :3], seq_b[:, :3], rtol=1e-6, atol=1e-6)
    assert_close(pooled_a, pooled_b, rtol=1e-6, atol=1e-6)


def test_bert_save_load_round_trip(tmp_path, rng):
    layer = BERT.init(vocab=VOCAB, hidden_size=HIDDEN, n_block=BLOCKS, n_head=HEADS, seq_len=SEQ,
                      intermediate_size=12)
    model = _bert_model(layer)
    _randomize(layer, rng)
    xs = _bert_inputs(rng, 3)
    model.compile("adam", ["mse"] * (BLOCKS + 1))
    targets = [rng.standard_normal((3, SEQ, HIDDEN)).astype(np.float32) for _ in range(BLOCKS)] + \
              [rng.standard_normal((3, HIDDEN)).astype(np.float32)]
    model.fit(xs, targets, epochs=1, verbose=0)
    path = str(tmp_path / "bert.zip")
    model.save(path)
    loaded = load_model(path)
    for a, b in zip(model.predict(xs), loaded.predict(xs)):
        np.testing.assert_array_equal(a, b)
    # training continues as if never saved (no dropout difference: both seeded alike is not promised, so eval loss)
    assert_close(model.evaluate(xs, targets, verbose=0), loaded.evaluate(xs, targets, verbose=0), rtol=1e-6)


def test_bert_bad_input():
    layer = BERT.init(vocab=VOCAB, hidden_size=HIDDEN, n_block=1, n_head=HEADS, seq_len=SEQ)
    with pytest.raises(ValueError, match=r"BERT '.*': expected a list of 4 inputs \[token ids, segment ids, "
                                         r"positions, attention mask\], got 2"):
        layer([Input((SEQ,)), Input((SEQ,))])
    with pytest.raises(ValueError, match=r"expected an attention mask of shape \(batch, 5\) or \(batch, 1, 1, 5\), "
                                         r"got \(None, 4\)"):
        layer([Input((SEQ,)), Input((SEQ,)), Input((SEQ,)), Input((4,))])
    with pytest.raises(ValueError, match=r"input_shape: the attention mask's shape must be \(seq,\) or \(1, 1, seq\)"):
        BERT(1, 2, 8, vocab=10, hidden_size=8, input_shape=[(5,), (5,), (5,), (1, 5)])


def test_mha_config_keeps_initializers_and_regularizers():
    kw = {"num_heads": 2, "key_dim": 3, "kernel_initializer": initializers.RandomUniform(0.1, 0.3),
          "bias_initializer": "ones", "kernel_regularizer": L1L2(0.01, 0.02), "bias_regularizer": "l2"}
    layer, _ = check_layer(MultiHeadAttention, kw, [(2, 5, 8), (2, 4, 6)], train=False)  # config, weights, regs
    assert 0.1 <= layer.get_weights()[0].min() and layer.get_weights()[0].max() <= 0.3
    assert len(layer.regularizers) == 8
