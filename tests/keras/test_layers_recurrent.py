"""Recurrent layers, Masking and the wrappers (TimeDistributed, Bidirectional): the layer harness,
parity with tf.keras (outputs, input and weight gradients), masks, Keras-1 spellings, bad input.

Tolerances: 1e-4 relative / 1e-5 absolute for the recurrent layers (float32 sums over time steps
and gates, and TensorFlow's own tanh approximation), 1e-5 for the rest.
"""

import numpy as np
import pytest

from tests.harness import assert_close, check_keras_parity, check_layer
from zoo.keras import initializers
from zoo.keras import layers as L
from zoo.keras.models import Model, Sequential
from zoo.keras.regularizers import L1, L1L2, L2

RTOL, ATOL = 1e-4, 1e-5


def legacy_hard_sigmoid(x):
    import tensorflow as tf

    return tf.clip_by_value(0.2 * x + 0.5, 0.0, 1.0)


def check_model_parity(tf, zoo_layers, tf_layers, xs, dtypes=None, rtol=RTOL, atol=ATOL, extra_inputs=0):
    """Chains `zoo_layers` and `tf_layers` (lists applied in order) on the same inputs, copies the zoo
    weights into tf.keras layer by layer, and compares outputs and all weight and float-input gradients
    of sum(y * r). xs: list of input arrays (the first feeds the chain; the others, if any, are passed
    to the first layer together with it as a list)."""
    from zoo.engine.graph import Executor

    dtypes = dtypes or [str(x.dtype) for x in xs]
    zin = [L.Input(batch_shape=(None,) + x.shape[1:], dtype=d) for x, d in zip(xs, dtypes)]
    tin = [tf.keras.Input(shape=x.shape[1:], dtype=d) for x, d in zip(xs, dtypes)]
    z, t = (zin if len(zin) > 1 else zin[0]), (tin if len(tin) > 1 else tin[0])
    for k, (zl, tl) in enumerate(zip(zoo_layers, tf_layers)):
        z, t = zl(z), tl(t)
    zm = Model(zin if len(zin) > 1 else zin[0], z)
    tm = tf.keras.Model(tin if len(tin) > 1 else tin[0], t)
    for zl, tl in zip(zoo_layers, tf_layers):
        tl.set_weights(zl.get_weights())
    exe = Executor(zm.graph)
    outs = exe.forward(xs)
    ys = [np.array(o) for o in outs]
    tx = [tf.constant(x) for x in xs]
    with tf.GradientTape(persistent=True) as tape:
        for v in tx:
            if v.dtype.is_floating:
                tape.watch(v)
        ty = tm(tx if len(tx) > 1 else tx[0], training=False)
        tys = ty if isinstance(ty, (list, tuple)) else [ty]
        rs = [
            np.random.default_rng(5 + k).standard_normal(y.shape).astype(np.float32) for k, y in enumerate(ys)
        ]
        loss = sum(tf.reduce_sum(a * r) for a, r in zip(tys, rs))
    for a, b in zip(ys, tys):
        assert_close(a, b.numpy(), rtol=rtol, atol=atol, err_msg="forward vs tf.keras")
    gx = exe.backward(rs, input_grads=True)
    for a, v in zip(gx, tx):
        if v.dtype.is_floating and a is not None:
            assert_close(a, tape.gradient(loss, v).numpy(), rtol=rtol, atol=atol, err_msg="input gradient")
    store = exe.store
    for zl, tl in zip(zoo_layers, tf_layers):
        names = list(zl._weight_names)
        params = list(zl.weights)
        grads = tape.gradient(loss, tl.trainable_weights)
        trainable = [(n, p) for n, p in zip(names, params) if p.kind == "param" and p.trainable]
        assert len(trainable) == len(grads), f"{zl.name}: {len(trainable)} trainable weights vs {len(grads)}"
        for (n, p), tg in zip(trainable, grads):
            g = zl.to_keras_weight(n, store.grad[p.offset : p.offset + p.size].reshape(p.shape))
            assert_close(
                g,
                tf.convert_to_tensor(tg).numpy(),
                rtol=rtol,
                atol=atol,
                err_msg=f"gradient of {zl.name} weight {n}",
            )
    return ys


def seq(rng, b=3, t=6, f=4):
    return rng.standard_normal((b, t, f)).astype(np.float32)


# ---- SimpleRNN / LSTM / GRU -------------------------------------------------------------------------

VARIANTS = [
    {},
    {"return_sequences": True},
    {"go_backwards": True},
    {"return_sequences": True, "go_backwards": True},
]


@pytest.mark.parametrize("kw", VARIANTS, ids=["last", "seq", "back", "seq-back"])
@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU", "GRU-reset_before"])
def test_recurrent_parity(name, kw, rng, tf):
    x = seq(rng)
    extra = {"reset_after": False} if name == "GRU-reset_before" else {}
    cls = name.split("-")[0]
    check_keras_parity(
        getattr(L, cls)(5, **kw, **extra),
        getattr(tf.keras.layers, cls)(5, **kw, **extra),
        x,
        rtol=RTOL,
        atol=ATOL,
    )


def test_recurrent_activations_and_bias(rng, tf):
    x = seq(rng)
    TL = tf.keras.layers
    check_keras_parity(
        L.SimpleRNN(4, activation="relu"), TL.SimpleRNN(4, activation="relu"), x, rtol=RTOL, atol=ATOL
    )
    check_keras_parity(
        L.LSTM(4, recurrent_activation="hard_sigmoid", use_bias=False),
        TL.LSTM(4, recurrent_activation="hard_sigmoid", use_bias=False),
        x,
        rtol=RTOL,
        atol=ATOL,
    )
    check_keras_parity(
        L.GRU(4, activation="sigmoid", recurrent_activation="tanh"),
        TL.GRU(4, activation="sigmoid", recurrent_activation="tanh"),
        x,
        rtol=RTOL,
        atol=ATOL,
    )


def test_keras1_spellings(rng, tf):
    x = seq(rng)
    TL = tf.keras.layers
    lstm = L.LSTM(output_dim=4, W_regularizer="l2", U_regularizer="l2", b_regularizer="l1")
    assert lstm.recurrent_activation == "legacy_hard_sigmoid" and lstm.units == 4
    check_keras_parity(lstm, TL.LSTM(4, recurrent_activation=legacy_hard_sigmoid), x, rtol=RTOL, atol=ATOL)
    assert len(lstm.regularizers) == 3
    gru = L.GRU(output_dim=3, inner_activation="sigmoid")
    assert not gru.reset_after and gru.recurrent_activation == "sigmoid"
    check_keras_parity(gru, TL.GRU(3, reset_after=False), x, rtol=RTOL, atol=ATOL)
    assert gru.get_weights()[2].shape == (9,)
    rnn = L.SimpleRNN(output_dim=3, activation="tanh", return_sequences=True)
    check_keras_parity(rnn, TL.SimpleRNN(3, return_sequences=True), x, rtol=RTOL, atol=ATOL)
    assert Sequential([L.LSTM(output_dim=2, input_dim=4, input_length=6)]).output_shape == (None, 2)
    assert Sequential([L.GRU(2, input_dim=4, return_sequences=True)]).layers[-1].input_shape == (
        None,
        None,
        4,
    )
    # the Keras 3 spelling keeps Keras 3's defaults
    assert L.LSTM(3).recurrent_activation == "sigmoid" and L.GRU(3).reset_after
    assert L.LSTM(3, recurrent_activation="hard_sigmoid").recurrent_activation == "hard_sigmoid"


def test_weights_layout_and_forget_bias():
    layer = L.LSTM(3)
    Sequential([L.InputLayer(input_shape=(5, 2)), layer])
    k, rk, b = layer.get_weights()
    assert k.shape == (2, 12) and rk.shape == (3, 12) and b.shape == (12,)
    assert b.tolist() == [0] * 3 + [1] * 3 + [0] * 6
    assert_close(rk @ rk.T, np.eye(3), atol=1e-5)  # 'orthogonal' recurrent kernel: orthonormal rows
    gru = L.GRU(2)
    Sequential([L.InputLayer(input_shape=(5, 2)), gru])
    assert [w.shape for w in gru.get_weights()] == [(2, 6), (2, 6), (2, 6)]


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_return_state_and_initial_state(name, rng, tf):
    x = seq(rng)
    n = 2 if name == "LSTM" else 1
    states = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(n)]
    zl = getattr(L, name)(4, return_sequences=True, return_state=True)
    tl = getattr(tf.keras.layers, name)(4, return_sequences=True, return_state=True)
    zin = [L.Input((6, 4))] + [L.Input((4,)) for _ in range(n)]
    outs = zl(zin)
    assert len(outs) == 1 + n
    tin = [tf.keras.Input((6, 4))] + [tf.keras.Input((4,)) for _ in range(n)]
    touts = tl(tin[0], initial_state=tin[1:])
    tl.set_weights(zl.get_weights())
    zm, tm = Model(zin, outs), tf.keras.Model(tin, touts)
    for a, b in zip(zm.predict([x] + states), tm([x] + states)):
        assert_close(a, b.numpy(), rtol=RTOL, atol=ATOL)
    # gradients through the states too
    check_model_parity(
        tf,
        [getattr(L, name)(4, return_state=True)],
        [getattr(tf.keras.layers, name)(4, return_state=True)],
        [x],
    )


def test_dropout_on_inputs(rng):
    x = seq(rng)
    layer = L.LSTM(4, dropout=0.5, return_sequences=True)
    m = Model(inp := L.Input((6, 4)), layer(inp))
    ref = L.LSTM(4, return_sequences=True)
    m2 = Model(inp2 := L.Input((6, 4)), ref(inp2))
    ref.set_weights(layer.get_weights())
    assert_close(m.predict(x), m2.predict(x), atol=0)  # identity in inference
    from zoo.engine.graph import Executor

    assert not np.allclose(Executor(m.graph).forward([x], training=True)[0], m2.predict(x))


# ---- masks ------------------------------------------------------------------------------------------


def masked_seq(rng):
    x = seq(rng, b=4, t=7, f=3)
    x[0, 2] = 0.0
    x[1, 5:] = 0.0
    x[2, 0] = 0.0
    x[3, 1:4] = 0.0
    return x


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"return_sequences": True},
        {"go_backwards": True},
        {"return_sequences": True, "go_backwards": True},
    ],
    ids=["last", "seq", "back", "seq-back"],
)
def test_masking_then_recurrent(name, kw, rng, tf):
    x = masked_seq(rng)
    check_model_parity(
        tf,
        [L.Masking(0.0), getattr(L, name)(5, **kw)],
        [tf.keras.layers.Masking(0.0), getattr(tf.keras.layers, name)(5, **kw)],
        [x],
    )


def test_embedding_mask_zero_then_recurrent(rng, tf):
    ids = rng.integers(1, 30, (4, 8)).astype(np.int32)
    ids[0, 5:] = 0
    ids[1, :2] = 0
    ids[2, 3] = 0
    TL = tf.keras.layers
    check_model_parity(
        tf,
        [L.Embedding(30, 6, mask_zero=True), L.LSTM(5, return_sequences=True), L.GRU(4)],
        [TL.Embedding(30, 6, mask_zero=True), TL.LSTM(5, return_sequences=True), TL.GRU(4)],
        [ids],
    )
    # through Dropout (a per-step layer passes the mask on) and into a Bidirectional
    check_model_parity(
        tf,
        [
            L.Embedding(30, 6, mask_zero=True),
            L.Dropout(0.3),
            L.Bidirectional(L.SimpleRNN(3, return_sequences=True), merge_mode="sum"),
        ],
        [
            TL.Embedding(30, 6, mask_zero=True),
            TL.Dropout(0.3),
            TL.Bidirectional(TL.SimpleRNN(3, return_sequences=True), merge_mode="sum"),
        ],
        [ids],
    )


def test_mask_travels_and_stops():
    inp = L.Input((5,), dtype="int32")
    e = L.Embedding(10, 4, mask_zero=True)(inp)
    assert L.get_mask(e) is not None
    d = L.Dropout(0.1)(e)
    assert L.get_mask(d) is L.get_mask(e)
    seq_out = L.LSTM(3, return_sequences=True)(d)
    assert L.get_mask(seq_out) is L.get_mask(e)
    assert L.get_mask(L.LSTM(3)(d)) is None  # no time axis left
    assert L.get_mask(L.Flatten()(e)) is None
    assert L.get_mask(L.Embedding(10, 4)(inp)) is None


# ---- Bidirectional -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["concat", "sum", "mul", "ave"])
def test_bidirectional_modes(mode, rng, tf):
    x = seq(rng)
    TL = tf.keras.layers
    check_keras_parity(
        L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode=mode),
        TL.Bidirectional(TL.LSTM(3, return_sequences=True), merge_mode=mode),
        x,
        rtol=RTOL,
        atol=ATOL,
    )
    check_keras_parity(
        L.Bidirectional(L.GRU(3), merge_mode=mode),
        TL.Bidirectional(TL.GRU(3), merge_mode=mode),
        x,
        rtol=RTOL,
        atol=ATOL,
    )


def test_bidirectional_masked_none_mode_and_states(rng, tf):
    x = masked_seq(rng)
    TL = tf.keras.layers
    check_model_parity(
        tf,
        [L.Masking(), L.Bidirectional(L.LSTM(3, return_sequences=True))],
        [TL.Masking(), TL.Bidirectional(TL.LSTM(3, return_sequences=True))],
        [x],
    )
    check_model_parity(
        tf,
        [L.Masking(), L.Bidirectional(L.GRU(3), merge_mode="mul")],
        [TL.Masking(), TL.Bidirectional(TL.GRU(3), merge_mode="mul")],
        [x],
    )
    outs = L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode=None)(L.Input((7, 3)))
    assert isinstance(outs, list) and [o.shape for o in outs] == [(None, 7, 2), (None, 7, 2)]
    check_model_parity(
        tf,
        [L.Bidirectional(L.LSTM(2, return_state=True))],
        [TL.Bidirectional(TL.LSTM(2, return_state=True))],
        [x],
    )
    bi = L.Bidirectional(L.LSTM(2))
    Sequential([L.InputLayer(input_shape=(7, 3)), bi])
    assert [w.shape for w in bi.get_weights()] == [(3, 8), (2, 8), (8,)] * 2
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards


# ---- TimeDistributed ---------------------------------------------------------------------------------


def test_time_distributed(rng, tf):
    TL = tf.keras.layers
    x = seq(rng, b=2, t=5, f=3)
    check_keras_parity(
        L.TimeDistributed(L.Dense(4, activation="tanh")),
        TL.TimeDistributed(TL.Dense(4, activation="tanh")),
        x,
        rtol=1e-5,
        atol=1e-6,
    )
    imgs = rng.standard_normal((2, 3, 6, 6, 2)).astype(np.float32)
    check_keras_parity(
        L.TimeDistributed(L.Conv2D(3, 3, data_format="channels_last")),
        TL.TimeDistributed(TL.Conv2D(3, 3)),
        imgs,
        rtol=1e-5,
        atol=1e-5,
    )
    # masks pass through TimeDistributed
    xm = masked_seq(rng)
    check_model_parity(
        tf,
        [L.Masking(), L.TimeDistributed(L.Dense(3)), L.LSTM(2)],
        [TL.Masking(), TL.TimeDistributed(TL.Dense(3)), TL.LSTM(2)],
        [xm],
    )


# ---- ConvLSTM2D --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"return_sequences": True, "padding": "same"},
        {"go_backwards": True, "strides": 2},
        {"return_sequences": True, "use_bias": False},
    ],
)
def test_conv_lstm2d_parity(kw, rng, tf):
    x = rng.standard_normal((2, 3, 7, 7, 2)).astype(np.float32)
    check_keras_parity(
        L.ConvLSTM2D(3, 3, data_format="channels_last", **kw),
        tf.keras.layers.ConvLSTM2D(3, 3, **kw),
        x,
        rtol=RTOL,
        atol=ATOL,
    )


def test_conv_lstm2d_channels_first_and_keras1(rng):
    x = rng.standard_normal((2, 3, 7, 7, 2)).astype(np.float32)
    last = L.ConvLSTM2D(3, (3, 2), padding="same", data_format="channels_last", return_sequences=True)
    y_last = Model(i := L.Input((3, 7, 7, 2)), last(i)).predict(x)
    first = L.ConvLSTM2D(
        nb_filter=3,
        nb_row=3,
        nb_col=2,
        border_mode="same",
        dim_ordering="th",
        return_sequences=True,
        inner_activation="sigmoid",
    )
    m = Model(j := L.Input((3, 2, 7, 7)), first(j))
    first.set_weights(last.get_weights())
    y_first = m.predict(np.ascontiguousarray(x.transpose(0, 1, 4, 2, 3)))
    assert_close(y_first.transpose(0, 1, 3, 4, 2), y_last, rtol=1e-5, atol=1e-6)
    assert [w.shape for w in first.get_weights()] == [(3, 2, 2, 12), (3, 2, 3, 12), (12,)]


def test_conv_lstm3d(rng, tf):
    x = rng.standard_normal((2, 3, 4, 5, 5, 2)).astype(np.float32)
    check_keras_parity(
        L.ConvLSTM3D(2, 3, padding="same", data_format="channels_last", return_sequences=True),
        tf.keras.layers.ConvLSTM3D(2, 3, padding="same", return_sequences=True),
        x,
        rtol=RTOL,
        atol=ATOL,
    )
    layer = L.ConvLSTM3D(nb_filter=2, nb_kernel=3, border_mode="same", dim_ordering="th")
    assert layer.recurrent_activation == "legacy_hard_sigmoid" and layer.kernel_size == (3, 3, 3)
    check_layer(
        L.ConvLSTM3D,
        {"filters": 2, "kernel_size": 2},
        input_shape=(2, 3, 1, 4, 4, 4),
        expected_output_shape=(2, 2, 3, 3, 3),
        expected_num_weights=3,
    )


# ---- the layer harness -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls,kwargs,in_shape,out_shape,n_weights",
    [
        (L.SimpleRNN, {"units": 3}, (2, 5, 4), (2, 3), 3),
        (
            L.SimpleRNN,
            {"output_dim": 3, "return_sequences": True, "go_backwards": True},
            (2, 5, 4),
            (2, 5, 3),
            3,
        ),
        (L.LSTM, {"units": 3}, (2, 5, 4), (2, 3), 3),
        (L.LSTM, {"output_dim": 3, "return_sequences": True, "use_bias": False}, (2, 5, 4), (2, 5, 3), 2),
        (L.GRU, {"units": 3, "go_backwards": True}, (2, 5, 4), (2, 3), 3),
        (L.GRU, {"output_dim": 3, "return_sequences": True}, (2, 5, 4), (2, 5, 3), 3),
        (
            L.ConvLSTM2D,
            {"filters": 2, "kernel_size": 3, "return_sequences": True},
            (2, 3, 2, 6, 6),
            (2, 3, 2, 4, 4),
            3,
        ),
        (
            L.ConvLSTM2D,
            {"filters": 2, "kernel_size": 3, "padding": "same", "data_format": "channels_last"},
            (2, 3, 6, 6, 2),
            (2, 6, 6, 2),
            3,
        ),
        (L.Masking, {"mask_value": 0.0}, (2, 5, 4), (2, 5, 4), 0),
    ],
)
def test_check_layer(cls, kwargs, in_shape, out_shape, n_weights):
    check_layer(
        cls,
        kwargs,
        input_shape=in_shape,
        expected_output_shape=out_shape,
        expected_num_weights=n_weights,
        train=n_weights > 0,
    )


def test_check_layer_wrappers():
    layer, _ = check_layer(
        L.Bidirectional,
        {"layer": L.LSTM(3, return_sequences=True), "merge_mode": "concat"},
        input_shape=(2, 5, 4),
        expected_output_shape=(2, 5, 6),
        expected_num_weights=6,
    )
    assert layer.get_config()["layer"]["class_name"] == "LSTM"
    check_layer(
        L.Bidirectional,
        {"layer": L.GRU(3), "merge_mode": "ave"},
        input_shape=(2, 5, 4),
        expected_output_shape=(2, 3),
        expected_num_weights=6,
    )
    check_layer(
        L.TimeDistributed,
        {"layer": L.Dense(3)},
        input_shape=(2, 5, 4),
        expected_output_shape=(2, 5, 3),
        expected_num_weights=2,
    )
    layer = L.TimeDistributed(L.Dense(2))
    Sequential([L.InputLayer(input_shape=(5, 4)), layer])
    layer.trainable = False
    assert not any(p.trainable for p in layer.weights)


def test_text_classifier_trains_like_tf(rng, tf):
    """Embedding -> LSTM -> Dense softmax from the same initial weights: the same loss for 3 epochs."""
    from zoo.engine.optim import SGD

    ids = rng.integers(1, 50, (64, 12)).astype(np.int32)
    ids[:8, 9:] = 0
    y = rng.integers(0, 4, 64).astype(np.int32)
    zm = Sequential(
        [L.Embedding(50, 8, input_length=12, mask_zero=True), L.LSTM(6), L.Dense(4, activation="softmax")]
    )
    TL = tf.keras.layers
    tm = tf.keras.Sequential(
        [
            tf.keras.Input((12,), dtype="int32"),
            TL.Embedding(50, 8, mask_zero=True),
            TL.LSTM(6),
            TL.Dense(4, activation="softmax"),
        ]
    )
    tm.set_weights(zm.get_weights())
    zm.compile(SGD(0.5), "sparse_categorical_crossentropy")
    tm.compile(tf.keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    zh = zm.fit(ids, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history["loss"]
    th = tm.fit(ids, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history["loss"]
    assert_close(zh, th, rtol=1e-4, atol=1e-5)
    assert zh[-1] < zh[0]


# ---- bad input -------------------------------------------------------------------------------------


def test_bad_input_names_the_layer():
    with pytest.raises(
        ValueError,
        match=r"LSTM 'l': expected input of rank 3 \(batch, time, features\) with known "
        r"features, got shape \(None, 4\)",
    ):
        L.LSTM(3, name="l")(L.Input((4,)))
    with pytest.raises(
        ValueError, match=r"GRU 'g': expected input of shape \(batch, time, 4\), got \(None, 5, 3\)"
    ):
        g = L.GRU(2, name="g")
        g(L.Input((5, 4)))
        g(L.Input((5, 3)))
    with pytest.raises(ValueError, match=r"SimpleRNN 's': activation must be one of .*got 'elu'"):
        L.SimpleRNN(2, activation="elu", name="s")
    with pytest.raises(ValueError, match="LSTM 'l2': units must be a positive int, got 0"):
        L.LSTM(0, name="l2")
    with pytest.raises(NotImplementedError, match="LSTM 'l3': recurrent_dropout is not supported"):
        L.LSTM(2, recurrent_dropout=0.2, name="l3")
    with pytest.raises(NotImplementedError, match="stateful=True is not supported"):
        L.GRU(2, stateful=True)
    with pytest.raises(ValueError, match=r"dropout must be a float in \[0, 1\), got 1.5"):
        L.LSTM(2, dropout=1.5)
    with pytest.raises(
        TypeError, match="Bidirectional 'b': expected a SimpleRNN, LSTM or GRU layer, got Dense"
    ):
        L.Bidirectional(L.Dense(2), name="b")
    with pytest.raises(ValueError, match=r"Bidirectional 'b2': merge_mode must be one of .*got 'max'"):
        L.Bidirectional(L.LSTM(2), merge_mode="max", name="b2")
    with pytest.raises(
        ValueError,
        match=r"TimeDistributed 't': expected one input of rank >= 3 \(batch, time, \.\.\.\), "
        r"got shape \(None, 4\)",
    ):
        L.TimeDistributed(L.Dense(2), name="t")(L.Input((4,)))
    d = L.Dense(2)
    d(L.Input((3,)))
    with pytest.raises(ValueError, match="has already been called; wrap a fresh layer"):
        L.TimeDistributed(d)
    with pytest.raises(ValueError, match=r"ConvLSTM2D 'c': expected input of rank 5"):
        L.ConvLSTM2D(2, 3, name="c")(L.Input((3, 5, 5)))
    with pytest.raises(ValueError, match=r"LSTM 'l4': expected 2 initial state tensor\(s\), got 1"):
        L.LSTM(2, name="l4")([L.Input((5, 3)), L.Input((2,))])
    with pytest.raises(TypeError, match="Masking 'm': mask_value must be a number"):
        L.Masking("x", name="m")


def test_save_and_load_keep_masks_and_wrappers(rng, tmp_path):
    from zoo.keras.models import load_model

    ids = rng.integers(1, 30, (8, 7))
    ids[:, 5:] = 0
    inp = L.Input((7,))
    x = L.Embedding(30, 4, mask_zero=True)(inp)
    x = L.Bidirectional(L.LSTM(3, return_sequences=True))(x)
    x = L.TimeDistributed(L.Dense(2))(x)
    x = L.GRU(3, reset_after=False)(x)
    m = Model(inp, L.Dense(2, activation="softmax")(x))
    m.compile("adam", "sparse_categorical_crossentropy")
    m.fit(ids, rng.integers(0, 2, 8), epochs=1, verbose=0)
    m.save(str(tmp_path / "m.zip"))
    m2 = load_model(str(tmp_path / "m.zip"))
    assert_close(m2.predict(ids), m.predict(ids), atol=0)
    bi = next(layer for layer in m2.layers if isinstance(layer, L.Bidirectional))
    assert L.get_mask(bi.inbound[0][0][0]) is not None  # the reloaded Embedding still masks


# ---- initializers and regularizers survive get_config / from_config ------------------------------

_U = initializers.RandomUniform(0.1, 0.3)


@pytest.mark.parametrize("cls,kw,shape", [
    (L.LSTM, {"units": 3, "kernel_initializer": _U, "recurrent_initializer": "he_uniform",
              "kernel_regularizer": L1L2(0.01, 0.02), "recurrent_regularizer": "l2", "bias_regularizer": L1(0.01)},
     (2, 4, 3)),
    (L.GRU, {"output_dim": 3, "init": _U, "inner_init": "identity", "W_regularizer": L2(0.03),
             "U_regularizer": L1(0.01), "b_regularizer": "l2"}, (2, 4, 3)),
    (L.SimpleRNN, {"units": 3, "kernel_initializer": _U, "bias_initializer": "ones", "kernel_regularizer": "l1"},
     (2, 4, 3)),
    (L.ConvLSTM2D, {"filters": 2, "kernel_size": 3, "kernel_initializer": _U, "recurrent_initializer": _U,
                    "W_regularizer": L2(0.03), "U_regularizer": "l1"}, (2, 3, 2, 5, 5)),
    (L.TimeDistributed, {"layer": L.Dense(2, kernel_initializer=_U, kernel_regularizer=L2(0.03))}, (2, 4, 3)),
    (L.Bidirectional, {"layer": L.LSTM(2, kernel_initializer=_U, recurrent_regularizer=L2(0.03))}, (2, 4, 3)),
])
def test_config_keeps_initializer_and_regularizers(cls, kw, shape):
    layer, _ = check_layer(cls, kw, shape, train=False)  # same saved config, initial weights, regularizers
    assert 0.1 <= layer.get_weights()[0].min() and layer.get_weights()[0].max() <= 0.3
    assert layer.regularizers
