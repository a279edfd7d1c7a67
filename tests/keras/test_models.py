"""Model API: Sequential / functional / nested models, data checks, weights, freezing, batch methods,
summary, and whole-model training parity with tf.keras."""

import os

import numpy as np
import pytest

from zoo.keras import layers as L
from zoo.keras.models import Model, Sequential
from zoo.keras.optimizers import SGD, Adam


def _two_input(seed=0):
    from zoo.keras import backend

    backend.set_seed(seed)
    a = L.Input((6,), name="a")
    b = L.Input((4,), name="b")
    ha = L.Dense(8, activation="relu", name="da")(a)
    hb = L.Dense(8, activation="relu", name="db")(b)
    out = L.Dense(3, activation="softmax", name="out")(L.Concatenate(name="cat")([ha, hb]))
    return Model([a, b], out, name="two_in")


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 6)).astype(np.float32), rng.standard_normal((n, 4)).astype(np.float32),
            rng.integers(0, 3, n))


# ---- construction and data ------------------------------------------------------------------


def test_multi_input_list_and_dict_give_the_same_training():
    xa, xb, y = _data()
    losses = []
    for x in ([xa, xb], {"a": xa, "b": xb}):
        m = _two_input()
        m.compile(SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
        losses.append(m.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False).history["loss"])
    assert losses[0] == losses[1]
    assert m.input_names == ["a", "b"] and m.output_names == ["out"]


def test_multi_output_dict_losses_metrics_and_keys():
    xa, xb, y = _data()
    a, b = L.Input((6,), name="a"), L.Input((4,), name="b")
    h = L.Dense(8, activation="relu", name="h")(L.Concatenate()([a, b]))
    cls = L.Dense(3, activation="softmax", name="cls")(h)
    reg = L.Dense(1, name="reg")(h)
    m = Model([a, b], [cls, reg])
    yr = (xa[:, :1] * 2).astype(np.float32)
    m.compile(Adam(0.01), {"cls": "sparse_categorical_crossentropy", "reg": "mse"},
              metrics={"cls": ["accuracy"], "reg": ["mae"]}, loss_weights={"cls": 1.0, "reg": 0.5})
    hist = m.fit({"a": xa, "b": xb}, {"cls": y, "reg": yr}, batch_size=16, epochs=2, verbose=0,
                 validation_data=([xa, xb], [y, yr]))
    assert hist.history["loss"][0] == pytest.approx(hist.history["cls_loss"][0] + 0.5 * hist.history["reg_loss"][0],
                                                    rel=1e-5)
    assert {"loss", "cls_accuracy", "reg_mae", "val_loss", "val_cls_loss", "val_reg_loss", "val_cls_accuracy",
            "val_reg_mae"} <= set(hist.history)
    res = m.evaluate([xa, xb], [y, yr], return_dict=True)
    assert res["loss"] == pytest.approx(res["cls_loss"] + 0.5 * res["reg_loss"], rel=1e-5)
    p = m.predict([xa, xb])
    assert isinstance(p, list) and p[0].shape == (64, 3) and p[1].shape == (64, 1)


def test_fit_bad_input_names_argument_expected_and_given():
    xa, xb, y = _data()
    m = _two_input()
    m.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"Model.fit: x and y must hold the same number of samples: x has 64, "
                                         r"y for output 'out' has 60"):
        m.fit([xa, xb], y[:60], verbose=0)
    with pytest.raises(ValueError, match=r"Model.fit: x for input 'b' expected shape \(None, 4\) \(None = any\), "
                                         r"got \(64, 5\)"):
        m.fit([xa, np.zeros((64, 5), np.float32)], y, verbose=0)
    with pytest.raises(ValueError, match=r"expected 2 arrays in x \(one per \['a', 'b'\]\), got 3"):
        m.fit([xa, xb, xb], y, verbose=0)
    with pytest.raises(ValueError, match=r"x must have one array per name \['a', 'b'\], got keys \['a', 'c'\]"):
        m.fit({"a": xa, "c": xb}, y, verbose=0)
    with pytest.raises(ValueError, match=r"y for output 'out' \(loss sparse_categorical_crossentropy\): expected "
                                         r"y_true of shape \(None,\)"):
        m.fit([xa, xb], np.zeros((64, 7)), verbose=0)
    with pytest.raises(ValueError, match=r"validation_data x for input 'a' expected shape"):
        m.fit([xa, xb], y, verbose=0, validation_data=([xb, xb], y))
    with pytest.raises(ValueError, match="sample_weight must hold one weight per sample \\(64\\), got 3"):
        m.fit([xa, xb], y, verbose=0, sample_weight=np.ones(3))
    with pytest.raises(TypeError, match="unexpected argument"):
        m.fit([xa, xb], y, verbose=0, foo=1)


def test_compile_errors_name_the_argument():
    m = _two_input()
    with pytest.raises(ValueError, match="unknown loss 'nope'"):
        m.compile("sgd", "nope")
    with pytest.raises(ValueError, match="unknown optimizer 'nope'"):
        m.compile("nope", "mse")
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        m.compile("sgd", "mse", metrics=["nope"])
    with pytest.raises(ValueError, match=r"loss keys must be the output names \['out'\]"):
        m.compile("sgd", {"x": "mse"})
    with pytest.raises(ValueError, match="call compile"):
        m.evaluate(_data()[:2], _data()[2])


def test_nb_epoch_fit_twice_equals_fit_once_and_initial_epoch():
    xa, xb, y = _data()
    m1, m2 = _two_input(1), _two_input(1)
    for m in (m1, m2):
        m.compile(SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
    h = m1.fit([xa, xb], y, batch_size=16, nb_epoch=3, verbose=0)
    assert h.epoch == [0, 1, 2]
    m2.fit([xa, xb], y, batch_size=16, epochs=1, verbose=0)
    h2 = m2.fit([xa, xb], y, batch_size=16, epochs=3, initial_epoch=1, verbose=0)
    assert h2.epoch == [1, 2] and h2.params["epochs"] == 3
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert m2.fit([xa, xb], y, epochs=2, initial_epoch=2, verbose=0).epoch == []


def test_batch_methods():
    xa, xb, y = _data(32)
    m = _two_input()
    m.compile(SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    before = m.evaluate([xa, xb], y, batch_size=32)
    loss, acc = m.train_on_batch([xa, xb], y)
    assert loss == pytest.approx(before[0], rel=1e-5) and 0 <= acc <= 1
    res = m.test_on_batch([xa, xb], y, return_dict=True)
    assert res["loss"] < before[0]
    np.testing.assert_allclose(m.predict_on_batch({"a": xa, "b": xb}), m.predict([xa, xb], batch_size=5), rtol=1e-6)
    assert m.predict_classes([xa, xb]).shape == (32,)
    assert (m.predict_classes([xa, xb], zero_based_label=False) >= 1).all()


def test_validation_split_takes_the_last_samples():
    xa, xb, y = _data(50)
    m = _two_input()
    m.compile(SGD(0.0), "sparse_categorical_crossentropy")
    h = m.fit([xa, xb], y, validation_split=0.2, epochs=1, verbose=0)
    assert h.params["samples"] == 40
    assert h.history["val_loss"][0] == pytest.approx(m.evaluate([xa[40:], xb[40:]], y[40:]), rel=1e-6)


# ---- weights and freezing -----------------------------------------------------------------------


def test_get_set_weights_keras_order_and_errors(tf):
    m = Sequential([L.Conv2D(3, 3, input_shape=(5, 5, 2), data_format="channels_last"), L.Flatten(),
                    L.Dense(4)])
    shapes = [w.shape for w in m.get_weights()]
    assert shapes == [(3, 3, 2, 3), (3,), (27, 4), (4,)]
    tm = tf.keras.Sequential([tf.keras.Input((5, 5, 2)), tf.keras.layers.Conv2D(3, 3), tf.keras.layers.Flatten(),
                              tf.keras.layers.Dense(4)])
    assert [tuple(w.shape) for w in tm.get_weights()] == shapes
    tm.set_weights(m.get_weights())
    x = np.random.default_rng(0).standard_normal((2, 5, 5, 2)).astype(np.float32)
    np.testing.assert_allclose(m.predict(x), tm.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="expected 4 weight arrays, got 3"):
        m.set_weights(m.get_weights()[:3])
    with pytest.raises(ValueError, match=r"weight array 2 expected shape \(27, 4\), got \(4, 27\)"):
        ws = m.get_weights()
        ws[2] = ws[2].T
        m.set_weights(ws)


def test_frozen_layer_does_not_move_during_fit():
    xa, xb, y = _data()
    m = _two_input()
    m.get_layer("da").trainable = False
    m.compile(Adam(0.05), "sparse_categorical_crossentropy")
    da, db = m.get_layer("da").get_weights(), m.get_layer("db").get_weights()
    m.fit([xa, xb], y, epochs=2, verbose=0)
    for a, b in zip(da, m.get_layer("da").get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(db[0], m.get_layer("db").get_weights()[0])
    # freeze after compiling and training (the mask changes, nothing is copied), then unfreeze
    m.freeze(["db"])
    db = m.get_layer("db").get_weights()
    m.fit([xa, xb], y, epochs=1, verbose=0)
    np.testing.assert_array_equal(db[0], m.get_layer("db").get_weights()[0])
    m.unfreeze()
    m.fit([xa, xb], y, epochs=1, verbose=0)
    assert not np.array_equal(db[0], m.get_layer("db").get_weights()[0])
    assert not np.array_equal(da[0], m.get_layer("da").get_weights()[0])


def test_freeze_up_to_and_summary_counts():
    m = _two_input()
    m.freeze_up_to(["cat"])
    assert [lay.trainable for lay in m.layers if lay.weights] == [False, False, True]
    text = m.summary(print_fn=lambda s: None)
    assert "Trainable params: 51" in text and "Non-trainable params: 96" in text and "Total params: 147" in text


# ---- nested models ---------------------------------------------------------------------------------


def test_nested_model_shares_weights_and_trains():
    xa, xb, y = _data()
    inner = _two_input()
    a, b = L.Input((6,), name="a2"), L.Input((4,), name="b2")
    out = L.Dense(2, activation="softmax", name="head")(inner([a, b]))
    outer = Model([a, b], out)
    assert [lay.name for lay in outer.layers] == ["a2", "b2", "two_in", "head"]
    assert len(outer.get_weights()) == 8
    np.testing.assert_allclose(outer.predict([xa, xb]), _apply_head(outer, inner.predict([xa, xb])), rtol=1e-5)
    outer.compile(SGD(0.1), "sparse_categorical_crossentropy")
    before = inner.get_weights()
    outer.fit([xa, xb], y % 2, epochs=1, verbose=0)
    after = inner.get_weights()
    assert not np.array_equal(before[0], after[0])  # the shared inner weights moved
    np.testing.assert_allclose(outer.predict([xa, xb]), _apply_head(outer, inner.predict([xa, xb])), rtol=1e-5)
    inner.trainable = False
    outer.fit([xa, xb], y % 2, epochs=1, verbose=0)
    for u, v in zip(after, inner.get_weights()):
        np.testing.assert_array_equal(u, v)
    text = outer.summary(print_fn=lambda s: None, expand_nested=True)
    assert "two_in (Model)" in text and "a2[0][0], b2[0][0]" in text and "  da (Dense)" in text


def _apply_head(outer, h):
    k, b = outer.get_layer("head").get_weights()
    z = h @ k + b
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_sequential_inside_sequential_and_pop():
    base = Sequential([L.Dense(5, activation="relu", input_shape=(3,)), L.Dense(4)])
    top = Sequential([base, L.Dense(2)])
    x = np.random.default_rng(0).standard_normal((7, 3)).astype(np.float32)
    assert top.predict(x).shape == (7, 2)
    np.testing.assert_allclose(top.predict(x), base.predict(x) @ top.layers[-1].get_weights()[0]
                               + top.layers[-1].get_weights()[1], rtol=1e-5, atol=1e-6)
    removed = base.pop()
    assert isinstance(removed, L.Dense) and base.output_shape == (None, 5)
    with pytest.raises(ValueError, match=r"Sequential 'm': expected input shape \(None, 3\), got \(None, 4\)"):
        Sequential([L.Dense(2, input_shape=(3,))], name="m")(L.Input((4,)))


# ---- whole models vs tf.keras ---------------------------------------------------------------------

# Tolerance: per-epoch losses within 1e-4 relative, final weights within 2e-4 absolute. Both train
# in float32 with the same weights, data order and SGD; the difference is float32 summation order.
LOSS_RTOL, W_ATOL = 1e-4, 2e-4


def check_same_training(zoo_model, tf_model, x, y, tf, lr=0.05, epochs=3, batch_size=16, loss="sparse_categorical_crossentropy",
             momentum=0.9):
    zoo_model.compile(SGD(lr, momentum=momentum), loss)
    tf_model.compile(tf.keras.optimizers.SGD(lr, momentum=momentum), loss)
    hz = zoo_model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0).history["loss"]
    ht = tf_model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(hz, ht, rtol=LOSS_RTOL)
    assert hz[-1] < hz[0]
    for a, b in zip(zoo_model.get_weights(), tf_model.get_weights()):
        np.testing.assert_allclose(a, b, atol=W_ATOL)


def test_small_cnn_trains_like_tf_keras(tf):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((96, 12, 12, 2)).astype(np.float32)
    y = rng.integers(0, 4, 96)
    zm = Sequential([L.Conv2D(4, 3, activation="relu", data_format="channels_last", input_shape=(12, 12, 2)),
                     L.MaxPooling2D(2, data_format="channels_last"), L.Flatten(),
                     L.Dense(8, activation="relu"), L.Dense(4, activation="softmax")])
    tm = tf.keras.Sequential([tf.keras.Input((12, 12, 2)), tf.keras.layers.Conv2D(4, 3, activation="relu"),
                              tf.keras.layers.MaxPooling2D(2), tf.keras.layers.Flatten(),
                              tf.keras.layers.Dense(8, activation="relu"),
                              tf.keras.layers.Dense(4, activation="softmax")])
    tm.set_weights(zm.get_weights())
    check_same_training(zm, tm, x, y, tf)


def test_two_input_functional_model_trains_like_tf_keras(tf):
    xa, xb, y = _data(96, seed=4)
    zm = _two_input(4)
    a, b = tf.keras.Input((6,), name="a"), tf.keras.Input((4,), name="b")
    ha = tf.keras.layers.Dense(8, activation="relu", name="da")(a)
    hb = tf.keras.layers.Dense(8, activation="relu", name="db")(b)
    out = tf.keras.layers.Dense(3, activation="softmax", name="out")(tf.keras.layers.Concatenate()([ha, hb]))
    tm = tf.keras.Model([a, b], out)
    for name in ("da", "db", "out"):
        tm.get_layer(name).set_weights(zm.get_layer(name).get_weights())
    zm.compile(SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
    tm.compile(tf.keras.optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
    hz = zm.fit([xa, xb], y, batch_size=16, epochs=3, shuffle=False, verbose=0).history["loss"]
    ht = tm.fit([xa, xb], y, batch_size=16, epochs=3, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(hz, ht, rtol=LOSS_RTOL)
    for name in ("da", "db", "out"):
        for u, v in zip(zm.get_layer(name).get_weights(), tm.get_layer(name).get_weights()):
            np.testing.assert_allclose(u, v, atol=W_ATOL)


@pytest.mark.slow
def test_lstm_text_classifier_trains_like_tf_keras(tf):
    if not all(hasattr(L, n) for n in ("LSTM", "Embedding")):
        pytest.skip("zoo.keras.layers has no LSTM/Embedding yet")
    rng = np.random.default_rng(5)
    x = rng.integers(0, 50, (64, 12))
    y = rng.integers(0, 3, 64)
    zm = Sequential([L.Embedding(50, 8, input_length=12), L.LSTM(10), L.Dense(3, activation="softmax")])
    tm = tf.keras.Sequential([tf.keras.Input((12,), dtype="int32"), tf.keras.layers.Embedding(50, 8),
                              tf.keras.layers.LSTM(10), tf.keras.layers.Dense(3, activation="softmax")])
    tm.set_weights(zm.get_weights())
    check_same_training(zm, tm, x, y, tf, lr=0.1)


def test_sequential_builds_from_the_data_and_set_checkpoint(tmp_path):
    from zoo.keras.models import load_model

    m = Sequential([L.Dense(4, activation="relu"), L.Dense(2, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="is not built"):
        m.summary()
    x = np.random.default_rng(0).standard_normal((20, 3)).astype(np.float32)
    m.set_checkpoint(str(tmp_path))
    m.fit(x, np.arange(20) % 2, epochs=2, verbose=0)
    assert m.input_shape == (None, 3) and m.count_params() == 26
    np.testing.assert_array_equal(load_model(str(tmp_path / "model.zoo")).predict(x), m.predict(x))
    m.set_checkpoint(str(tmp_path / "all"), over_write=False)
    m.fit(x, np.arange(20) % 2, epochs=2, verbose=0)
    assert sorted(os.listdir(tmp_path / "all")) == ["model.3.zoo", "model.4.zoo"]


def test_summary_is_html_in_jupyter(monkeypatch):
    from zoo.keras import callbacks as C

    shown = []
    monkeypatch.setattr(C, "_in_notebook", lambda: True)
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    assert _two_input().summary() is None
    html = shown[0].data
    assert "<table>" in html and "<th>Connected to</th>" in html and "da[0][0], db[0][0]" in html
    assert "Total params: 147" in html


def test_functional_layer_and_weight_order_is_keras_order(tf):
    def build(lib, Input):
        a, b = Input((6,), name="a"), Input((4,), name="b")
        hb = lib.Dense(5, name="db")(b)
        ha2 = lib.Dense(7, name="da2")(lib.Dense(8, name="da")(a))
        return [a, b], lib.Dense(3, name="out")(lib.Concatenate(name="cat")([ha2, hb]))

    zi, zo = build(L, L.Input)
    ti, to = build(tf.keras.layers, tf.keras.Input)
    zm, tm = Model(zi, zo), tf.keras.Model(ti, to)
    assert [lay.name for lay in zm.layers] == [lay.name for lay in tm.layers]
    tm.set_weights(zm.get_weights())  # whole lists, no name matching
    rng = np.random.default_rng(0)
    x = [rng.standard_normal((3, 6)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)]
    np.testing.assert_allclose(zm.predict(x), tm.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_new_graph_and_to_model_share_weights():
    m = _two_input()
    xa, xb, _ = _data(5)
    cut = m.new_graph(["da", "db"])
    ha, hb = cut.predict([xa, xb])
    k, b = m.get_layer("da").get_weights()
    np.testing.assert_allclose(ha, np.maximum(xa @ k + b, 0), rtol=1e-5, atol=1e-6)
    assert hb.shape == (5, 8)
    seq = Sequential([L.Dense(3, input_shape=(2,)), L.Dense(1)])
    fm = seq.to_model()
    assert isinstance(fm, Model) and not isinstance(fm, Sequential) and fm.layers[1] is seq.layers[1]
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        m.new_graph("nope")


def test_outputs_of_one_layer_get_unique_names_and_dict_losses():
    """A layer with several outputs (LSTM return_state) names them lstm, lstm_1, lstm_2 as tf.keras
    does, so losses, targets and logs can be keyed by output."""
    inp = L.Input((5, 3))
    lstm = L.LSTM(4, return_state=True, name="lstm")
    seq, h, c = lstm(inp)
    m = Model(inp, [seq, h, c])
    assert m.output_names == ["lstm", "lstm_1", "lstm_2"]
    m.compile("sgd", loss={"lstm": "mse", "lstm_1": "mae", "lstm_2": "mse"}, loss_weights={"lstm_1": 2.0})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 5, 3)).astype(np.float32)
    ys = {"lstm": np.zeros((8, 4), np.float32), "lstm_1": np.ones((8, 4), np.float32),
          "lstm_2": np.zeros((8, 4), np.float32)}
    logs = m.evaluate(x, ys, batch_size=8, return_dict=True)
    assert {"lstm_loss", "lstm_1_loss", "lstm_2_loss"} <= set(logs)
    p = m.predict(x)
    expect = np.mean(p[0] ** 2) + 2.0 * np.mean(np.abs(p[1] - 1)) + np.mean(p[2] ** 2)
    assert logs["loss"] == pytest.approx(expect, rel=1e-5)


def test_sequential_over_a_merge_of_branches(tmp_path):
    """Keras 1 / Analytics Zoo: Sequential([Merge([left, right], mode="concat"), Dense]) takes the
    inputs of both branches, trains on [x1, x2], and saves (as a functional model) and reloads."""
    from zoo.keras.models import load_model

    left = Sequential([L.Dense(4, input_shape=(3,), name="left_dense")])
    right = Sequential([L.Dense(2, input_shape=(5,), name="right_dense")])
    m = Sequential([L.Merge([left, right], mode="concat"), L.Dense(1, name="head")])
    assert m.input_names == [left.input_names[0], right.input_names[0]] and m.output_shape == (None, 1)
    assert [lay.name for lay in m.layers][-1] == "head" and len(m.get_weights()) == 6
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((16, 3)).astype(np.float32), rng.standard_normal((16, 5)).astype(np.float32)
    (wl, bl), (wr, br) = left.get_weights(), right.get_weights()
    wh, bh = m.get_layer("head").get_weights()
    expect = np.concatenate([x1 @ wl + bl, x2 @ wr + br], axis=1) @ wh + bh
    np.testing.assert_allclose(m.predict([x1, x2]), expect, rtol=1e-5, atol=1e-6)
    m.compile("sgd", "mse")
    y = rng.standard_normal((16, 1)).astype(np.float32)
    hist = m.fit([x1, x2], y, batch_size=8, epochs=3, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    path = str(tmp_path / "merged.zoo")
    m.save(path)
    loaded = load_model(path)
    assert isinstance(loaded, Model) and loaded.input_names == m.input_names
    np.testing.assert_allclose(loaded.predict([x1, x2]), m.predict([x1, x2]), rtol=0, atol=0)
    with pytest.raises(ValueError, match="expected 2 arrays in x"):
        m.predict(x1)
