import numpy as np
import pytest

from tests.harness import check_keras_parity, check_layer
from zoo.keras import initializers
from zoo.keras import layers as L
from zoo.keras.regularizers import L1, L1L2, L2


def test_dense(tf):
    check_layer(L.Dense, {"units": 4}, input_shape=(2, 3), expected_output_shape=(2, 4), expected_num_weights=2)
    x = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    check_keras_parity(L.Dense(3, activation="tanh"), tf.keras.layers.Dense(3, activation="tanh"), x)
    check_keras_parity(L.Dense(3, use_bias=False), tf.keras.layers.Dense(3, use_bias=False), x)


def test_dense_keras1_names():
    layer, y = check_layer(L.Dense, {"output_dim": 4, "bias": False}, input_shape=(2, 3),
                           expected_output_shape=(2, 4), expected_num_weights=1)


def test_conv2d_channels_first_and_last(tf):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 7, 9, 3)).astype(np.float32)
    check_keras_parity(L.Conv2D(4, 3, padding="same", data_format="channels_last", activation="relu"),
                       tf.keras.layers.Conv2D(4, 3, padding="same", activation="relu"), x)
    check_keras_parity(L.Conv2D(4, (3, 2), strides=2, data_format="channels_last"),
                       tf.keras.layers.Conv2D(4, (3, 2), strides=2), x)
    layer, y = check_layer(L.Conv2D, {"filters": 4, "kernel_size": 3}, input_shape=(2, 3, 8, 8),
                           expected_output_shape=(2, 4, 6, 6), expected_num_weights=2)
    assert layer.get_weights()[0].shape == (3, 3, 3, 4)


def test_batchnorm(tf):
    x = np.random.default_rng(2).standard_normal((6, 5)).astype(np.float32) * 3 + 1
    check_keras_parity(L.BatchNormalization(), tf.keras.layers.BatchNormalization(), x, training=False)
    check_layer(L.BatchNormalization, {}, input_shape=(4, 3, 5, 5), expected_output_shape=(4, 3, 5, 5),
                expected_num_weights=4)


def test_bad_input_names_the_layer():
    from zoo.keras.models import Sequential

    with pytest.raises(ValueError, match=r"Dense 'd1': expected last input axis 8, got input shape \(None, 10\)"):
        d = L.Dense(4, name="d1")
        d(L.Input((8,)))
        d(L.Input((10,)))
    with pytest.raises(ValueError, match="Conv2D 'c': groups=4 does not divide 3 input channels"):
        Sequential([L.Conv2D(8, 3, groups=4, name="c", input_shape=(3, 8, 8))])
    with pytest.raises(TypeError, match="unexpected argument"):
        L.Dense(4, foo=1)


# ---- initializers and regularizers survive get_config / from_config ------------------------------

_U = initializers.RandomUniform(0.1, 0.3)


@pytest.mark.parametrize("cls,kw", [
    (L.Dense, {"units": 4, "kernel_initializer": _U, "kernel_regularizer": L1L2(0.01, 0.02),
               "bias_regularizer": "l2"}),
    (L.Dense, {"output_dim": 4, "init": _U, "W_regularizer": L2(0.03), "b_regularizer": L1(0.01)}),
    (L.MaxoutDense, {"output_dim": 2, "init": _U, "W_regularizer": L2(0.03), "b_regularizer": "l1"}),
    (L.Highway, {"init": _U, "W_regularizer": L2(0.03), "b_regularizer": "l1"}),
    (L.SparseDense, {"output_dim": 2, "init": _U, "W_regularizer": L2(0.03)}),
])
def test_config_keeps_initializer_and_regularizers(cls, kw):
    layer, _ = check_layer(cls, kw, (2, 3), train=False)  # same saved config, initial weights, regularizers
    assert 0.1 <= layer.get_weights()[0].min() and layer.get_weights()[0].max() <= 0.3
    assert layer.regularizers
