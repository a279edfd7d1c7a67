"""Normalization layers: BatchNormalization (both data formats, training and inference, Keras 1
options) and LayerNormalization against tf.keras, LRN2D and WithinChannelLRN2D against TensorFlow /
numpy, and errors. Tolerance 1e-5 throughout (outputs, input and weight gradients, moving statistics)."""

import numpy as np
import pytest

from tests.harness import assert_close, check_keras_parity, check_layer
from zoo.engine.graph import Executor
from zoo.keras import backend, initializers
from zoo.keras import layers as L
from zoo.keras.models import Model
from zoo.keras.regularizers import L1, L1L2, L2


def _x(shape, seed=0, scale=1.0, shift=0.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale + shift).astype(np.float32)


def _run(layer, x, training=False):
    inp = L.Input(batch_shape=(None,) + x.shape[1:])
    exe = Executor(Model(inp, layer(inp)).graph)
    return exe.forward([x], training=training)[0].copy()


def _random_bn_weights(layer, seed=1):
    rng = np.random.default_rng(seed)
    ws = layer.get_weights()
    layer.set_weights(
        [
            rng.uniform(0.5, 1.5, w.shape).astype(np.float32)
            if i != len(ws) - 2
            else rng.standard_normal(w.shape).astype(np.float32)
            for i, w in enumerate(ws)
        ]
    )


# ---- BatchNormalization -------------------------------------------------------------------------


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize(
    "shape,zoo_kw,tf_kw",
    [
        ((6, 5), {}, {}),
        ((4, 3, 5, 6), {"data_format": "channels_first"}, {"axis": 1}),
        ((4, 5, 6, 3), {"data_format": "channels_last"}, {"axis": -1}),
        ((4, 5, 6, 3), {"dim_ordering": "tf"}, {}),
        (
            (4, 3, 5, 6),
            {"axis": 1, "momentum": 0.9, "epsilon": 1e-2},
            {"axis": 1, "momentum": 0.9, "epsilon": 1e-2},
        ),
        ((4, 7, 3), {"center": False, "axis": -1}, {"center": False}),
        ((4, 7, 3), {"scale": False, "data_format": "channels_last"}, {"scale": False}),
    ],
)
def test_batchnorm_parity(shape, zoo_kw, tf_kw, training, tf):
    x = _x(shape, 2, 3.0, 1.0)
    zoo, ref = L.BatchNormalization(**zoo_kw), tf.keras.layers.BatchNormalization(**tf_kw)
    inp = L.Input(batch_shape=(None,) + shape[1:])
    zoo(inp)
    _random_bn_weights(zoo)
    check_keras_parity(zoo, ref, x, training=training)
    # the moving statistics moved the same way (one training forward each)
    n = len(zoo.get_weights())
    for a, b in zip(zoo.get_weights()[n - 2 :], ref.get_weights()[n - 2 :]):
        assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_batchnorm_harness_and_keras1_arguments():
    check_layer(L.BatchNormalization, {}, (4, 3, 5, 5), (4, 3, 5, 5), 4)
    check_layer(L.BatchNormalization, {"dim_ordering": "tf", "scale": False}, (4, 5, 5, 3), (4, 5, 5, 3), 3)
    layer = L.BatchNormalization(beta_init="one", gamma_init="zero", dim_ordering="tf", mode=0)
    _run(layer, _x((4, 5, 5, 3)))
    gamma, beta, mm, mv = layer.get_weights()
    assert gamma.shape == (3,) and np.all(gamma == 0) and np.all(beta == 1)
    clone = L.BatchNormalization.from_config(layer.get_config())
    assert clone.data_format == "channels_last" and clone.mode == 0


def test_batchnorm_default_format_follows_the_global_setting():
    x = _x((4, 5, 6, 3), 3)
    backend.set_image_data_format("channels_last")
    try:
        layer = L.BatchNormalization()
    finally:
        backend.set_image_data_format("channels_first")
    _run(layer, x)
    assert layer.get_weights()[0].shape == (3,)
    assert L.BatchNormalization().data_format == "channels_first"


def test_batchnorm_mode_2_uses_batch_statistics_in_inference():
    x = _x((8, 3, 4, 5), 4, 2.0, 3.0)
    layer = L.BatchNormalization(mode=2)
    check_layer(L.BatchNormalization, {"mode": 2}, x.shape, x.shape, 4)
    y = _run(layer, x, training=False)
    g, b, _, _ = layer.get_weights()
    m, v = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
    want = (x - m) / np.sqrt(v + 1e-3) * g.reshape(1, 3, 1, 1) + b.reshape(1, 3, 1, 1)
    assert_close(y, want, rtol=1e-5, atol=1e-5)


def test_batchnorm_mode_1_is_sample_wise():
    x = _x((6, 4), 5, 2.0, 3.0)
    check_layer(L.BatchNormalization, {"mode": 1}, x.shape, x.shape, 4)
    y = _run(L.BatchNormalization(mode=1), x)
    m, v = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    assert_close(y, (x - m) / np.sqrt(v + 1e-3), rtol=1e-5, atol=1e-5)


# ---- LayerNormalization -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,kw",
    [
        ((5, 8), {}),
        ((4, 3, 8), {}),
        ((4, 3, 8), {"axis": [1, 2]}),
        ((2, 3, 4, 5), {"axis": [1, 3]}),
        ((4, 3, 8), {"axis": 1}),
        ((4, 3, 8), {"center": False}),
        ((4, 3, 8), {"scale": False}),
        ((4, 3, 8), {"epsilon": 1e-5, "center": False, "scale": False}),
    ],
)
def test_layer_normalization(shape, kw, tf):
    x = _x(shape, 6, 2.0, 1.0)
    n = int(kw.get("center", True)) + int(kw.get("scale", True))
    check_layer(L.LayerNormalization, kw, shape, shape, n)
    zoo = L.LayerNormalization(**kw, gamma_initializer="uniform", beta_initializer="uniform")
    check_keras_parity(zoo, tf.keras.layers.LayerNormalization(**kw), x)


# ---- local response normalization -------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["th", "tf"])
def test_lrn2d(fmt, tf):
    x = _x((2, 7, 5, 6), 7)
    xin = x if fmt == "th" else np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    check_layer(L.LRN2D, {"dim_ordering": fmt}, xin.shape, xin.shape, 0)
    y = _run(L.LRN2D(alpha=1e-2, k=2.0, beta=0.75, n=5, dim_ordering=fmt), xin)
    # TensorFlow: depth_radius r = (n - 1) / 2 and alpha / n per element
    ref = tf.nn.local_response_normalization(
        x.transpose(0, 2, 3, 1), depth_radius=2, bias=2.0, alpha=1e-2 / 5, beta=0.75
    ).numpy()
    assert_close(y if fmt == "tf" else y.transpose(0, 2, 3, 1), ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fmt", ["channels_first", "channels_last"])
def test_within_channel_lrn2d(fmt, tf):
    x = _x((2, 3, 7, 6), 8)
    xin = x if fmt == "channels_first" else np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    check_layer(L.WithinChannelLRN2D, {"size": 3, "data_format": fmt}, xin.shape, xin.shape, 0)
    y = _run(L.WithinChannelLRN2D(size=5, alpha=0.8, beta=0.6, data_format=fmt), xin)
    xl = x.transpose(0, 2, 3, 1)
    s = tf.nn.depthwise_conv2d(xl**2, tf.ones((5, 5, 3, 1)), [1, 1, 1, 1], "SAME").numpy()
    ref = xl * (1 + 0.8 / 25 * s) ** -0.6
    assert_close(y if fmt == "channels_last" else y.transpose(0, 2, 3, 1), ref, rtol=1e-5, atol=1e-6)


# ---- bad input --------------------------------------------------------------------------------


def test_bad_input():
    inp = L.Input((3, 4))
    with pytest.raises(ValueError, match="BatchNormalization 'b': mode must be 0, 1 or 2, got 3"):
        L.BatchNormalization(mode=3, name="b")
    with pytest.raises(ValueError, match=r"BatchNormalization 'b2': momentum must be in \[0, 1\), got 1.5"):
        L.BatchNormalization(momentum=1.5, name="b2")
    with pytest.raises(
        ValueError, match="BatchNormalization 'b3': axis 0 is not a feature axis of a rank-3 input"
    ):
        L.BatchNormalization(axis=0, name="b3")(inp)
    with pytest.raises(
        ValueError,
        match=r"BatchNormalization 'b4': expected 3 features on axis 1, got input shape "
        r"\(None, 4, 3\)",
    ):
        b4 = L.BatchNormalization(name="b4")
        b4(inp)
        b4(L.Input((4, 3)))
    with pytest.raises(ValueError, match="BatchNormalization 'b5': expected 'channels_first'"):
        L.BatchNormalization(dim_ordering="xy", name="b5")
    with pytest.raises(
        ValueError,
        match=r"LayerNormalization 'ln': axis 0 is not made of feature axes of a rank-3 "
        r"input",
    ):
        L.LayerNormalization(axis=0, name="ln")(inp)
    with pytest.raises(ValueError, match=r"LayerNormalization 'ln2': axis \[1, -2\] names an axis twice"):
        L.LayerNormalization(axis=[1, -2], name="ln2")(inp)
    with pytest.raises(TypeError, match="LayerNormalization 'ln3': axis must be an int or a list of ints"):
        L.LayerNormalization(axis="last", name="ln3")
    with pytest.raises(
        ValueError, match="LayerNormalization 'ln4': epsilon must be a finite positive number"
    ):
        L.LayerNormalization(epsilon=0, name="ln4")
    with pytest.raises(ValueError, match=r"LRN2D 'l': expected input of rank 4, got shape \(None, 3, 4\)"):
        L.LRN2D(name="l")(inp)
    with pytest.raises(ValueError, match="LRN2D 'l2': n must be a positive int, got 0"):
        L.LRN2D(n=0, name="l2")
    with pytest.raises(ValueError, match=r"WithinChannelLRN2D 'w': expected input of rank 4"):
        L.WithinChannelLRN2D(name="w")(inp)
    with pytest.raises(ValueError, match="WithinChannelLRN2D 'w2': size must be a positive int, got -1"):
        L.WithinChannelLRN2D(size=-1, name="w2")


# ---- initializers and regularizers survive get_config / from_config ------------------------------

_U = initializers.RandomUniform(0.1, 0.3)


@pytest.mark.parametrize("cls,kw,shape", [
    (L.BatchNormalization, {"gamma_initializer": _U, "beta_initializer": "ones", "moving_variance_initializer": 2.0,
                            "gamma_regularizer": L2(0.03), "beta_regularizer": "l1"}, (4, 3)),
    (L.BatchNormalization, {"gamma_init": _U, "beta_init": "one", "gamma_regularizer": L1L2(0.01, 0.02)},
     (4, 3, 2, 2)),
    (L.LayerNormalization, {"gamma_initializer": _U, "beta_regularizer": L1(0.01)}, (2, 3, 4)),
])
def test_config_keeps_initializer_and_regularizers(cls, kw, shape):
    layer, _ = check_layer(cls, kw, shape, train=False)  # same saved config, initial weights, regularizers
    assert 0.1 <= layer.get_weights()[0].min() and layer.get_weights()[0].max() <= 0.3
    assert layer.regularizers
