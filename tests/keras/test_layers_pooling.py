"""Pooling layers: the layer harness, tf.keras parity in both data formats (forward and input
gradients, tolerance 1e-5), Keras 1 / Analytics Zoo arguments, bad input."""

import numpy as np
import pytest

from tests.harness import check_keras_parity, check_layer
from zoo.keras import layers as L
from zoo.keras.models import Sequential

RNG = np.random.default_rng(11)
FORMATS = ["channels_first", "channels_last"]


def _x(shape, fmt):
    """A channels-last shape's data, moved to channels-first if asked."""
    x = RNG.standard_normal(shape).astype(np.float32)
    return x if fmt == "channels_last" else np.ascontiguousarray(np.moveaxis(x, -1, 1))


POOL = [
    {"pool_size": 2},
    {"pool_size": 3, "strides": 2, "padding": "same"},
    {"pool_size": (2, 3), "strides": 1},
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kw", POOL, ids=["2", "3s2same", "23s1"])
def test_pooling2d_parity(fmt, kw, tf):
    x = _x((2, 7, 8, 3), fmt)
    check_keras_parity(
        L.MaxPooling2D(data_format=fmt, **kw), tf.keras.layers.MaxPooling2D(data_format=fmt, **kw), x
    )
    check_keras_parity(
        L.AveragePooling2D(data_format=fmt, **kw), tf.keras.layers.AveragePooling2D(data_format=fmt, **kw), x
    )


POOL3 = [
    {"pool_size": 2},
    {"pool_size": 3, "strides": 2, "padding": "same"},
    {"pool_size": (1, 2, 3), "strides": (1, 2, 1)},
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kw", POOL3, ids=["2", "3s2same", "123"])
def test_pooling3d_parity(fmt, kw, tf):
    x = _x((2, 5, 6, 7, 2), fmt)
    check_keras_parity(
        L.MaxPooling3D(data_format=fmt, **kw), tf.keras.layers.MaxPooling3D(data_format=fmt, **kw), x
    )
    check_keras_parity(
        L.AveragePooling3D(data_format=fmt, **kw), tf.keras.layers.AveragePooling3D(data_format=fmt, **kw), x
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_pooling1d_parity(fmt, tf):
    x = _x((2, 9, 3), fmt)
    for kw in ({"pool_size": 2}, {"pool_size": 3, "strides": 2, "padding": "same"}):
        check_keras_parity(
            L.MaxPooling1D(data_format=fmt, **kw), tf.keras.layers.MaxPooling1D(data_format=fmt, **kw), x
        )
        check_keras_parity(
            L.AveragePooling1D(data_format=fmt, **kw),
            tf.keras.layers.AveragePooling1D(data_format=fmt, **kw),
            x,
        )


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_parity(fmt, keepdims, tf):
    for rank, shape in ((1, (2, 6, 3)), (2, (2, 5, 4, 3)), (3, (2, 3, 4, 2, 3))):
        x = _x(shape, fmt)
        for kind in ("Max", "Average"):
            name = f"Global{kind}Pooling{rank}D"
            check_keras_parity(
                getattr(L, name)(data_format=fmt, keepdims=keepdims),
                getattr(tf.keras.layers, name)(data_format=fmt, keepdims=keepdims),
                x,
            )


def _tf_padded_pool(tf, kind, pads, pool, strides, rank):
    """Analytics Zoo's explicit pads: -inf padding for max, zero padding counted for average."""

    class Padded(tf.keras.layers.Layer):
        def call(self, x):
            value = -np.inf if kind == "max" else 0.0
            x = tf.pad(x, [[0, 0], *pads, [0, 0]], constant_values=value)
            fn = tf.nn.max_pool if kind == "max" else tf.nn.avg_pool
            return fn(x, pool, strides, "VALID")

    return Padded()


def test_analytics_zoo_arguments(tf):
    x = _x((2, 7, 6, 3), "channels_last")
    check_keras_parity(
        L.MaxPooling2D((3, 3), (2, 1), dim_ordering="tf", pads=(1, 1)),
        _tf_padded_pool(tf, "max", [[1, 1], [1, 1]], 3, (2, 1), 2),
        x,
    )
    check_keras_parity(
        L.AveragePooling2D(3, 2, dim_ordering="tf", pads=(1, 0, 2, 1), count_include_pad=True),
        _tf_padded_pool(tf, "avg", [[1, 0], [2, 1]], 3, 2, 2),
        x,
    )
    x1 = _x((2, 8, 3), "channels_last")
    check_keras_parity(
        L.MaxPooling1D(pool_length=3, stride=2, pad=1), _tf_padded_pool(tf, "max", [[1, 1]], 3, 2, 1), x1
    )
    check_keras_parity(
        L.AveragePooling1D(pool_length=3, stride=1, border_mode="same"),
        tf.keras.layers.AveragePooling1D(3, 1, padding="same"),
        x1,
    )
    layer = L.MaxPooling2D(border_mode="same", dim_ordering="th")
    assert layer.padding == "same" and layer.data_format == "channels_first"
    assert L.GlobalAveragePooling2D(dim_ordering="tf").data_format == "channels_last"
    # padding not counted by default ('same', as Keras), counted with count_include_pad
    y1 = Sequential([L.InputLayer(input_shape=(1, 2, 2)), L.AveragePooling2D(2, 1, pads=1)]).predict(
        np.ones((1, 1, 2, 2), np.float32)
    )
    y2 = Sequential(
        [L.InputLayer(input_shape=(1, 2, 2)), L.AveragePooling2D(2, 1, pads=1, count_include_pad=True)]
    ).predict(np.ones((1, 1, 2, 2), np.float32))
    np.testing.assert_array_equal(y1, np.ones((1, 1, 3, 3)))
    np.testing.assert_array_equal(y2[0, 0], [[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]])


def test_pooling_layer_harness():
    cases = [
        (L.MaxPooling2D, {"pool_size": 2}, (2, 3, 6, 5), (2, 3, 3, 2)),
        (
            L.AveragePooling2D,
            {"pool_size": 3, "strides": 2, "padding": "same", "data_format": "channels_last"},
            (2, 6, 5, 3),
            (2, 3, 3, 3),
        ),
        (L.MaxPooling3D, {"pool_size": 2}, (2, 2, 4, 4, 5), (2, 2, 2, 2, 2)),
        (
            L.AveragePooling3D,
            {"pool_size": (1, 2, 2), "border_mode": "same"},
            (2, 2, 3, 3, 3),
            (2, 2, 3, 2, 2),
        ),
        (L.MaxPooling1D, {"pool_length": 2}, (2, 6, 3), (2, 3, 3)),
        (L.AveragePooling1D, {"pool_size": 3, "strides": 1}, (2, 6, 3), (2, 4, 3)),
        (L.GlobalMaxPooling1D, {}, (2, 6, 3), (2, 3)),
        (L.GlobalAveragePooling2D, {"keepdims": True}, (2, 3, 4, 4), (2, 3, 1, 1)),
        (L.GlobalMaxPooling3D, {}, (2, 3, 2, 2, 2), (2, 3)),
        (L.GlobalAveragePooling3D, {"data_format": "channels_last"}, (2, 2, 2, 2, 3), (2, 3)),
    ]
    for cls, kw, shape, out in cases:
        check_layer(cls, kw, input_shape=shape, expected_output_shape=out, expected_num_weights=0)
    layer = L.AveragePooling2D(3, pads=((1, 0), (2, 1)), count_include_pad=True)
    clone = L.AveragePooling2D.from_config({k: v for k, v in layer.get_config().items() if k != "name"})
    assert clone.padding == ((1, 0), (2, 1)) and clone.count_include_pad


def test_pooling_bad_input():
    with pytest.raises(
        ValueError, match=r"MaxPooling3D 'p': expected input of rank 5, got shape \(None, 3, 4, 4\)"
    ):
        Sequential([L.InputLayer(input_shape=(3, 4, 4)), L.MaxPooling3D(name="p")])
    with pytest.raises(
        ValueError,
        match=r"MaxPooling2D 'p': pads must be smaller than the pool size \(2, 2\), "
        r"got \(2, 0\)",
    ):
        L.MaxPooling2D(2, pads=(2, 0), name="p")
    with pytest.raises(
        ValueError, match="AveragePooling2D 'p': padding must be 'valid', 'same' or explicit pads"
    ):
        L.AveragePooling2D(2, padding="full", name="p")
    with pytest.raises(
        ValueError, match="MaxPooling1D 'p': pool_size must be an int >= 1 or 1 of them, got 0"
    ):
        L.MaxPooling1D(pool_size=0, name="p")
    with pytest.raises(
        TypeError, match=r"MaxPooling2D 'p': unexpected argument\(s\) \['count_include_pad'\]"
    ):
        L.MaxPooling2D(count_include_pad=True, name="p")
    with pytest.raises(ValueError, match="GlobalMaxPooling3D 'g': expected input of rank 5, got shape"):
        Sequential([L.InputLayer(input_shape=(3, 4, 4)), L.GlobalMaxPooling3D(name="g")])
    with pytest.raises(ValueError, match="AveragePooling3D 'p': expected 'channels_first'"):
        L.AveragePooling3D(dim_ordering="xy", name="p")
    with pytest.raises(ValueError, match="MaxPooling2D 'p': .*pool size .* is larger than the padded input"):
        Sequential([L.InputLayer(input_shape=(3, 1, 4)), L.MaxPooling2D(2, name="p")])
