"""Merge layers: Keras's (Add ... Concatenate, Dot) against tf.keras (tolerance 1e-5; Dot with
normalize 2e-5 for float32 sums), Analytics Zoo's Merge / merge against numpy, and errors."""

import numpy as np
import pytest

from tests.harness import assert_close, check_keras_parity, check_layer
from zoo.engine.graph import Executor
from zoo.keras import layers as L
from zoo.keras.models import Model


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


KERAS_MERGES = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]


@pytest.mark.parametrize("name", KERAS_MERGES)
def test_keras_merges(name, tf):
    a, b, c = _x((4, 3, 5), 1), _x((4, 3, 5), 2), _x((4, 3, 5), 3)
    xs = [a, b] if name == "Subtract" else [a, b, c]
    check_keras_parity(getattr(L, name)(), getattr(tf.keras.layers, name)(), xs)
    check_layer(
        getattr(L, name),
        {},
        [x.shape for x in xs],
        (4, 3, 5 * len(xs)) if name == "Concatenate" else (4, 3, 5),
        0,
    )
    fn = getattr(L, name.lower())
    inputs = [L.Input((3, 5)) for _ in xs]
    y = Executor(Model(inputs, fn(inputs)).graph).forward(xs)[0]
    assert_close(y, getattr(tf.keras.layers, name.lower())([tf.constant(v) for v in xs]).numpy())


def test_concatenate_axes(tf):
    a, b = _x((4, 3, 5), 4), _x((4, 2, 5), 5)
    check_keras_parity(L.Concatenate(axis=1), tf.keras.layers.Concatenate(axis=1), [a, b])
    check_layer(L.Concatenate, {"axis": 1}, [a.shape, b.shape], (4, 5, 5), 0)


@pytest.mark.parametrize(
    "s1,s2,axes",
    [
        ((4, 6), (4, 6), 1),
        ((4, 6), (4, 6), -1),
        ((4, 3, 6), (4, 5, 6), 2),
        ((4, 3, 6), (4, 6, 5), (2, 1)),
        ((4, 6, 3), (4, 6, 5), 1),
        ((4, 3, 6), (4, 6), (2, 1)),
        ((4, 6), (4, 6, 3), (1, 1)),
        ((4, 2, 3, 6), (4, 6, 5), (-1, 1)),
        ((4, 3, 6), (4, 2, 6, 5), (2, 2)),
    ],
)
def test_dot(s1, s2, axes, tf):
    a, b = _x(s1, 6), _x(s2, 7)
    check_keras_parity(L.Dot(axes), tf.keras.layers.Dot(axes), [a, b])
    check_keras_parity(
        L.Dot(axes, normalize=True), tf.keras.layers.Dot(axes, normalize=True), [a, b], rtol=2e-5, atol=2e-5
    )
    want = tf.keras.layers.Dot(axes)([tf.constant(a), tf.constant(b)]).shape
    check_layer(L.Dot, {"axes": axes}, [s1, s2], tuple(want), 0)


def test_dot_functional(tf):
    a, b = _x((4, 3, 6), 8), _x((4, 5, 6), 9)
    i1, i2 = L.Input((3, 6)), L.Input((5, 6))
    y = Executor(Model([i1, i2], L.dot([i1, i2], axes=2, normalize=True)).graph).forward([a, b])[0]
    want = tf.keras.layers.dot([tf.constant(a), tf.constant(b)], axes=2, normalize=True)
    assert_close(y, want.numpy(), rtol=2e-5, atol=2e-5)


def _ref(mode, xs, axis=-1):
    a = xs[0]
    if mode == "sum":
        return sum(xs)
    if mode == "mul":
        return np.prod(xs, axis=0)
    if mode == "ave":
        return sum(xs) / len(xs)
    if mode == "max":
        return np.max(xs, axis=0)
    if mode == "min":
        return np.min(xs, axis=0)
    if mode == "sub":
        return a - xs[1]
    if mode == "div":
        return a / xs[1]
    if mode == "concat":
        return np.concatenate(xs, axis=axis)
    if mode == "dot":
        return (a * xs[1]).sum(-1, keepdims=True)
    cos = (a * xs[1]).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(xs[1], axis=-1)
    return cos[:, None, None]


@pytest.mark.parametrize("mode", ["sum", "mul", "ave", "max", "min", "sub", "div", "concat", "dot", "cos"])
def test_merge_modes(mode):
    n = 2 if mode in ("sub", "div", "dot", "cos") else 3
    shape = (4, 5) if mode in ("dot", "cos") else (4, 3, 5)
    xs = [_x(shape, 10 + i) for i in range(n)]
    if mode == "div":
        xs[1] = np.abs(xs[1]) + 0.5
    want = _ref(mode, xs)
    _, y = check_layer(L.Merge, {"mode": mode}, [x.shape for x in xs], want.shape, 0, input_data=xs)
    assert_close(y, want, rtol=1e-5, atol=1e-6)
    inputs = [L.Input(shape[1:]) for _ in xs]
    out = L.merge(inputs, mode=mode)  # the functional form, as Analytics Zoo's merge(...)
    assert_close(Executor(Model(inputs, out).graph).forward(xs)[0], want, rtol=1e-5, atol=1e-6)


def test_merge_concat_axis_and_layers():
    a, b = _x((4, 3, 5), 20), _x((4, 2, 5), 21)
    _, y = check_layer(
        L.Merge, {"mode": "concat", "concat_axis": 1}, [a.shape, b.shape], (4, 5, 5), 0, input_data=[a, b]
    )
    assert_close(y, np.concatenate([a, b], axis=1))
    # Keras 1: Merge(layers=[...]) merges the layers' outputs at once
    i1, i2 = L.Input((6,)), L.Input((6,))
    d1, d2 = L.Dense(3), L.Dense(3)
    d1(i1), d2(i2)
    m = L.Merge([d1, d2], mode="ave")
    model = Model([i1, i2], m.output)
    x1, x2 = _x((5, 6), 22), _x((5, 6), 23)
    k1, b1 = d1.get_weights()
    k2, b2 = d2.get_weights()
    assert_close(model.predict([x1, x2]), ((x1 @ k1 + b1) + (x2 @ k2 + b2)) / 2, rtol=1e-5, atol=1e-6)


def test_merge_trains_in_a_two_input_model():
    i1, i2 = L.Input((6,)), L.Input((6,))
    h = L.merge([L.Dense(4)(i1), L.Dense(4)(i2)], mode="concat")
    model = Model([i1, i2], L.Dense(1)(h))
    model.compile("adam", "mse")
    x1, x2, y = _x((64, 6), 24), _x((64, 6), 25), _x((64, 1), 26)
    hist = model.fit([x1, x2], y, batch_size=16, epochs=4, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_bad_input():
    a, b, c = L.Input((3,)), L.Input((4,)), L.Input((3, 2))
    with pytest.raises(ValueError, match=r"Merge 'm': mode must be one of \['sum', 'mul', 'concat'"):
        L.Merge(mode="avg", name="m")
    with pytest.raises(
        ValueError,
        match=r"Merge 'm2': mode 'sum' expects inputs of one shape, got \[\(None, 3\), "
        r"\(None, 4\)\]",
    ):
        L.Merge(mode="sum", name="m2")([a, b])
    with pytest.raises(ValueError, match="Merge 'm3': mode 'sub' takes exactly 2 inputs, got 3"):
        L.Merge(mode="sub", name="m3")([a, a, a])
    with pytest.raises(
        ValueError,
        match=r"Merge 'm4': mode 'cos' expects 2-D inputs \(batch, features\), got "
        r"shape \(None, 3, 2\)",
    ):
        L.Merge(mode="cos", name="m4")([c, c])
    with pytest.raises(ValueError, match="Merge 'm5': expected a list of at least 2 inputs"):
        L.Merge(name="m5")([a])
    with pytest.raises(ValueError, match="Merge 'm6': concat_axis 0 is not a feature axis"):
        L.Merge(mode="concat", concat_axis=0, name="m6")([a, a])
    with pytest.raises(
        ValueError, match="Merge 'm7': layers must be tensors, built models or layers that have been called"
    ):
        L.Merge([L.Dense(2), L.Dense(2)], name="m7")
    with pytest.raises(
        ValueError,
        match=r"Dot 'd': expected equal sizes on the dot axes, got shapes \(None, 3\) and "
        r"\(None, 4\) with axes \(1, 1\) \(3 vs 4\)",
    ):
        L.Dot(1, name="d")([a, b])
    with pytest.raises(ValueError, match=r"Dot 'd2': axes 0 name axis 0, which is not a feature axis"):
        L.Dot(0, name="d2")([a, a])
    with pytest.raises(TypeError, match=r"Dot 'd3': axes must be an int or a pair of ints, got \(1, 2, 3\)"):
        L.Dot((1, 2, 3), name="d3")
    with pytest.raises(ValueError, match="Subtract 's': expected exactly 2 inputs, got 3"):
        L.Subtract(name="s")([a, a, a])
