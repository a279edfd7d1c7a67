"""Convolution layers (and the family's shape layers): the layer harness, tf.keras parity in both data
formats (forward, input and weight gradients), Keras 1 / Analytics Zoo spellings, bad input.

tf.keras on CPU runs convolutions channels-last only, so a channels-first zoo layer is compared
with the tf.keras layer wrapped in transposes (`_first`). Tolerances: 1e-5 relative and
absolute unless stated (float32 sums of at most a few hundred terms).
"""

import itertools

import numpy as np
import pytest

from tests.harness import check_keras_parity, check_layer
from zoo.keras import backend, initializers
from zoo.keras import layers as L
from zoo.keras.models import Sequential
from zoo.keras.regularizers import L1, L1L2, L2

RNG = np.random.default_rng(7)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _first(tf, layer, rank):
    """The channels-last tf.keras `layer` seen from channels-first inputs and outputs."""
    to_last = (0,) + tuple(range(2, rank + 2)) + (1,)
    to_first = (0, rank + 1) + tuple(range(1, rank + 1))

    class ChannelsFirst(tf.keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = layer

        def call(self, x, training=None):
            return tf.transpose(self.inner(tf.transpose(x, to_last)), to_first)

    return ChannelsFirst()


def check_parity(tf, zoo_layer, tf_layer, x, fmt, rank, **kw):
    """check_keras_parity for channels-last x; channels-first layers get x transposed and a wrapped tf layer."""
    if fmt == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
        tf_layer = _first(tf, tf_layer, rank)
    check_keras_parity(zoo_layer, tf_layer, x, **kw)


FORMATS = ["channels_first", "channels_last"]

# ---- Conv2D / Conv1D / Conv3D ------------------------------------------------------------------------

CONV2D = [
    {"kernel_size": 3, "padding": "same", "activation": "relu"},
    {"kernel_size": (3, 2), "strides": 2},
    {"kernel_size": 3, "padding": "same", "dilation_rate": 2},
    {"kernel_size": (2, 3), "dilation_rate": (2, 1)},
    {"kernel_size": 3, "groups": 2, "padding": "same", "activation": "tanh"},
    {"kernel_size": 1, "use_bias": False},
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kw", CONV2D, ids=[str(i) for i in range(len(CONV2D))])
def test_conv2d_parity(fmt, kw, tf):
    x = _x(2, 7, 9, 4)
    check_parity(tf, L.Conv2D(6, data_format=fmt, **kw), tf.keras.layers.Conv2D(6, **kw), x, fmt, 2)


def test_conv2d_layer_harness_and_keras1_names(tf):
    layer, _ = check_layer(
        L.Conv2D,
        {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "groups": 2},
        input_shape=(2, 4, 8, 8),
        expected_output_shape=(2, 4, 4, 4),
        expected_num_weights=2,
    )
    assert layer.get_weights()[0].shape == (3, 3, 2, 4)
    check_layer(
        L.Convolution2D,
        {
            "nb_filter": 3,
            "nb_row": 3,
            "nb_col": 2,
            "border_mode": "same",
            "subsample": (2, 1),
            "dim_ordering": "tf",
            "bias": False,
        },
        input_shape=(2, 7, 6, 2),
        expected_output_shape=(2, 4, 6, 3),
        expected_num_weights=1,
    )
    layer = L.Convolution2D(
        5, 3, 3, border_mode="same", subsample=(2, 2), dim_ordering="tf", activation="relu"
    )
    assert type(layer) is L.Conv2D and layer.strides == (2, 2) and layer.padding == "same"
    check_parity(
        tf,
        layer,
        tf.keras.layers.Conv2D(5, 3, strides=2, padding="same", activation="relu"),
        _x(2, 7, 8, 3),
        "channels_last",
        2,
    )
    atrous = L.AtrousConvolution2D(4, 3, 3, atrous_rate=(2, 2), dim_ordering="th")
    assert (
        type(atrous) is L.Conv2D and atrous.dilation_rate == (2, 2) and atrous.data_format == "channels_first"
    )
    check_parity(tf, atrous, tf.keras.layers.Conv2D(4, 3, dilation_rate=2), _x(2, 9, 9, 3), "channels_first", 2)
    # explicit pads: Analytics Zoo's pads and ShareConvolution2D(pad_h, pad_w) = ZeroPadding2D + 'valid' conv
    share = L.ShareConvolution2D(4, 3, 3, pad_h=1, pad_w=2, subsample=(2, 1), dim_ordering="tf")
    assert type(share) is L.Conv2D and share.padding == ((1, 1), (2, 2))
    ref = tf.keras.Sequential(
        [tf.keras.layers.ZeroPadding2D((1, 2)), tf.keras.layers.Conv2D(4, 3, strides=(2, 1))]
    )
    check_parity(tf, share, ref, _x(2, 6, 5, 3), "channels_last", 2)
    pads = L.Convolution2D(2, 3, 3, pads=(0, 1, 2, 0), dim_ordering="tf")
    ref = tf.keras.Sequential([tf.keras.layers.ZeroPadding2D(((0, 1), (2, 0))), tf.keras.layers.Conv2D(2, 3)])
    check_parity(tf, pads, ref, _x(2, 6, 5, 3), "channels_last", 2)
    check_layer(
        L.ShareConvolution2D,
        {"nb_filter": 2, "nb_row": 3, "nb_col": 3, "pad_h": 1, "pad_w": 1},
        input_shape=(2, 3, 5, 5),
        expected_output_shape=(2, 2, 5, 5),
        expected_num_weights=2,
    )


def test_conv_default_format_follows_the_global_setting():
    assert (
        L.Conv2D(2, 3).data_format == "channels_first"
        and L.Convolution2D(2, 3, 3).data_format == "channels_first"
    )
    backend.set_image_data_format("channels_last")
    try:
        assert L.Conv2D(2, 3).data_format == "channels_last"
        assert L.Convolution3D(2, 3, 3, 3).data_format == "channels_last"
        assert L.UpSampling2D().data_format == "channels_last"
    finally:
        backend.set_image_data_format("channels_first")
    assert L.Conv1D(2, 3).data_format == "channels_last"


def test_share_convolution_propagate_back():
    from zoo.engine.graph import Executor
    from zoo.keras.models import Model

    for flag in (True, False):
        inp = L.Input((2, 5, 5))
        layer = L.ShareConvolution2D(3, 3, 3, pad_h=1, pad_w=1, propagate_back=flag)
        model = Model(inp, layer(inp))
        exe = Executor(model.graph)
        y = exe.forward([_x(2, 2, 5, 5)])[0]
        gx = exe.backward([np.ones_like(y)], input_grads=True)[0]
        assert (gx is not None and np.abs(gx).sum() > 0) if flag else gx is None
        assert ("propagate_back" in layer.get_config()) is (not flag)


CONV1D = [
    {"kernel_size": 3, "padding": "causal", "dilation_rate": 2},
    {"kernel_size": 2, "strides": 2, "activation": "relu"},
    {"kernel_size": 3, "padding": "same", "groups": 2},
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kw", CONV1D, ids=[str(i) for i in range(len(CONV1D))])
def test_conv1d_parity(fmt, kw, tf):
    check_parity(tf, L.Conv1D(4, data_format=fmt, **kw), tf.keras.layers.Conv1D(4, **kw), _x(2, 11, 4), fmt, 1)


def test_conv1d_harness_and_keras1_names(tf):
    check_layer(
        L.Conv1D,
        {"filters": 3, "kernel_size": 3, "padding": "causal"},
        input_shape=(2, 7, 4),
        expected_output_shape=(2, 7, 3),
        expected_num_weights=2,
    )
    check_layer(
        L.Convolution1D,
        {"nb_filter": 3, "filter_length": 2, "subsample_length": 2},
        input_shape=(2, 7, 4),
        expected_output_shape=(2, 3, 3),
        expected_num_weights=2,
    )
    atrous = L.AtrousConvolution1D(3, 3, atrous_rate=2, border_mode="same")
    assert type(atrous) is L.Conv1D and atrous.dilation_rate == (2,)
    check_parity(
        tf,
        atrous,
        tf.keras.layers.Conv1D(3, 3, dilation_rate=2, padding="same"),
        _x(2, 9, 2),
        "channels_last",
        1,
    )


CONV3D = [
    {"kernel_size": 3, "padding": "same", "activation": "relu"},
    {"kernel_size": (2, 3, 2), "strides": (1, 2, 2)},
    {"kernel_size": 1},
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kw", CONV3D, ids=[str(i) for i in range(len(CONV3D))])
def test_conv3d_parity(fmt, kw, tf):
    check_parity(
        tf, L.Conv3D(3, data_format=fmt, **kw), tf.keras.layers.Conv3D(3, **kw), _x(2, 4, 5, 6, 2), fmt, 3
    )


def test_conv3d_harness_and_keras1_names(tf):
    layer, _ = check_layer(
        L.Conv3D,
        {"filters": 4, "kernel_size": 3, "dilation_rate": (1, 2, 1), "groups": 2},
        input_shape=(2, 2, 4, 6, 5),
        expected_output_shape=(2, 4, 2, 2, 3),
        expected_num_weights=2,
    )
    assert layer.get_weights()[0].shape == (3, 3, 3, 1, 4)
    conv = L.Convolution3D(3, 2, 3, 2, border_mode="same", subsample=(2, 1, 1), dim_ordering="tf")
    assert type(conv) is L.Conv3D and conv.kernel_size == (2, 3, 2)
    check_parity(
        tf,
        conv,
        tf.keras.layers.Conv3D(3, (2, 3, 2), strides=(2, 1, 1), padding="same"),
        _x(2, 5, 4, 4, 2),
        "channels_last",
        3,
    )
    check_layer(
        L.Convolution3D,
        {"nb_filter": 2, "kernel_dim1": 1, "kernel_dim2": 2, "kernel_dim3": 2},
        input_shape=(2, 3, 3, 4, 4),
        expected_output_shape=(2, 2, 3, 3, 3),
        expected_num_weights=2,
    )


# ---- transposed ------------------------------------------------------------------------------------

TCONV = [
    {"kernel_size": 3, "strides": 2},
    {"kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1},
    {"kernel_size": (2, 3), "strides": (3, 1), "activation": "relu"},
    {"kernel_size": 4, "strides": 2, "padding": "same"},
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kw", TCONV, ids=[str(i) for i in range(len(TCONV))])
def test_conv2d_transpose_parity(fmt, kw, tf):
    check_parity(
        tf,
        L.Conv2DTranspose(3, data_format=fmt, **kw),
        tf.keras.layers.Conv2DTranspose(3, **kw),
        _x(2, 5, 4, 4),
        fmt,
        2,
    )


def test_conv_transpose_1d_3d_harness_and_deconvolution2d(tf):
    layer, _ = check_layer(
        L.Conv2DTranspose,
        {"filters": 2, "kernel_size": 3, "strides": 2},
        input_shape=(2, 4, 5, 5),
        expected_output_shape=(2, 2, 11, 11),
        expected_num_weights=2,
    )
    assert layer.get_weights()[0].shape == (3, 3, 2, 4)  # Keras: (kh, kw, filters, in)
    check_layer(
        L.Conv1DTranspose,
        {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
        input_shape=(2, 5, 3),
        expected_output_shape=(2, 10, 2),
        expected_num_weights=2,
    )
    check_layer(
        L.Conv3DTranspose,
        {"filters": 2, "kernel_size": 2, "strides": 2},
        input_shape=(2, 3, 2, 3, 2),
        expected_output_shape=(2, 2, 4, 6, 4),
        expected_num_weights=2,
    )
    check_parity(
        tf,
        L.Conv1DTranspose(3, 3, strides=2, padding="same"),
        tf.keras.layers.Conv1DTranspose(3, 3, strides=2, padding="same"),
        _x(2, 6, 4),
        "channels_last",
        1,
    )
    for fmt in FORMATS:
        check_parity(
            tf,
            L.Conv3DTranspose(2, (2, 3, 2), strides=(2, 1, 2), data_format=fmt),
            tf.keras.layers.Conv3DTranspose(2, (2, 3, 2), strides=(2, 1, 2)),
            _x(2, 3, 4, 3, 3),
            fmt,
            3,
        )
    # Keras 1: output_shape picks output_padding
    deconv = L.Deconvolution2D(3, 3, 3, output_shape=(None, 3, 12, 11), subsample=(2, 2))
    assert type(deconv) is L.Conv2DTranspose
    model = Sequential([L.InputLayer(input_shape=(4, 5, 5)), deconv])
    assert model.output_shape == (None, 3, 12, 11) and deconv.output_padding == (1, 0)
    ref = tf.keras.layers.Conv2DTranspose(3, 3, strides=2, output_padding=(1, 0))
    check_parity(
        tf,
        L.Deconvolution2D(3, 3, 3, output_shape=(3, 12, 11), subsample=(2, 2)),
        ref,
        _x(2, 5, 5, 4),
        "channels_first",
        2,
    )
    with pytest.raises(
        ValueError,
        match=r"Conv2DTranspose 'dc': output_shape \(3, 14, 11\) is not reachable from "
        r"input shape \(None, 4, 5, 5\): spatial axis 0 can be 11\.\.12, got 14",
    ):
        Sequential(
            [
                L.InputLayer(input_shape=(4, 5, 5)),
                L.Deconvolution2D(3, 3, 3, output_shape=(3, 14, 11), subsample=(2, 2), name="dc"),
            ]
        )


# ---- depthwise and separable ---------------------------------------------------------------------------

SEP = [
    {"kernel_size": 3, "padding": "same", "depth_multiplier": 2},
    {"kernel_size": (3, 2), "strides": 2},
    {"kernel_size": 3, "dilation_rate": 2, "activation": "relu"},
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kw", SEP, ids=[str(i) for i in range(len(SEP))])
def test_separable_and_depthwise_conv2d_parity(fmt, kw, tf):
    x = _x(2, 8, 7, 3)
    check_parity(
        tf, L.SeparableConv2D(4, data_format=fmt, **kw), tf.keras.layers.SeparableConv2D(4, **kw), x, fmt, 2
    )
    check_parity(tf, L.DepthwiseConv2D(data_format=fmt, **kw), tf.keras.layers.DepthwiseConv2D(**kw), x, fmt, 2)


def test_separable_depthwise_1d_harness_and_keras1_names(tf):
    layer, _ = check_layer(
        L.SeparableConv2D,
        {"filters": 4, "kernel_size": 3, "depth_multiplier": 2},
        input_shape=(2, 3, 6, 6),
        expected_output_shape=(2, 4, 4, 4),
        expected_num_weights=3,
    )
    assert [w.shape for w in layer.get_weights()] == [(3, 3, 3, 2), (1, 1, 6, 4), (4,)]
    layer, _ = check_layer(
        L.DepthwiseConv2D,
        {"kernel_size": 3, "depth_multiplier": 3, "padding": "same"},
        input_shape=(2, 2, 5, 5),
        expected_output_shape=(2, 6, 5, 5),
        expected_num_weights=2,
    )
    assert [w.shape for w in layer.get_weights()] == [(3, 3, 2, 3), (6,)]
    check_layer(
        L.SeparableConv1D,
        {"filters": 3, "kernel_size": 3},
        input_shape=(2, 7, 2),
        expected_output_shape=(2, 5, 3),
        expected_num_weights=3,
    )
    check_layer(
        L.DepthwiseConv1D,
        {"kernel_size": 2, "depth_multiplier": 2},
        input_shape=(2, 7, 2),
        expected_output_shape=(2, 6, 4),
        expected_num_weights=2,
    )
    kw = {"kernel_size": 3, "padding": "same", "depth_multiplier": 2}
    check_parity(
        tf,
        L.SeparableConv1D(3, **kw),
        tf.keras.layers.SeparableConv1D(3, **kw),
        _x(2, 9, 3),
        "channels_last",
        1,
    )
    check_parity(
        tf, L.DepthwiseConv1D(**kw), tf.keras.layers.DepthwiseConv1D(**kw), _x(2, 9, 3), "channels_last", 1
    )
    sep = L.SeparableConvolution2D(
        4, 3, 3, depth_multiplier=2, border_mode="same", subsample=(2, 2), dim_ordering="th"
    )
    assert type(sep) is L.SeparableConv2D
    check_parity(
        tf,
        sep,
        tf.keras.layers.SeparableConv2D(4, 3, strides=2, padding="same", depth_multiplier=2),
        _x(2, 7, 7, 3),
        "channels_first",
        2,
    )


# ---- locally connected (Keras 2 semantics; Keras 3 dropped these layers) -------------------------------


def _keras2_local(tf, filters, kernel_size, strides, data_format, rank):
    """Keras 2's LocallyConnected1D/2D (implementation=1) as a tf.keras layer: one matmul per position
    on patches flattened in the data format's order; bias in Keras 2's layout."""

    class Keras2Local(tf.keras.layers.Layer):
        def build(self, shape):
            first = data_format == "channels_first"
            c = shape[1] if first else shape[-1]
            spatial = shape[2:] if first else shape[1:-1]
            self.out = [(spatial[a] - kernel_size[a]) // strides[a] + 1 for a in range(rank)]
            p = int(np.prod(self.out))
            self.kernel = self.add_weight(shape=(p, int(np.prod(kernel_size)) * c, filters))
            bshape = (filters, *self.out) if first and rank == 2 else (*self.out, filters)
            self.bias = self.add_weight(shape=bshape)

        def call(self, x):
            first = data_format == "channels_first"
            pieces = []
            for pos in itertools.product(*[range(n) for n in self.out]):
                sl = [slice(None)] + ([slice(None)] if first else [])
                sl += [slice(pos[a] * strides[a], pos[a] * strides[a] + kernel_size[a]) for a in range(rank)]
                sl += [] if first else [slice(None)]
                pieces.append(tf.reshape(x[tuple(sl)], (1, -1, self.kernel.shape[1])))
            y = tf.matmul(tf.concat(pieces, 0), self.kernel)  # (P, N, F)
            y = tf.reshape(y, tuple(self.out) + (-1, filters))
            if first:
                y = tf.transpose(y, (rank, rank + 1) + tuple(range(rank)))
                bias = self.bias if rank == 2 else tf.transpose(self.bias)
            else:
                y = tf.transpose(y, (rank,) + tuple(range(rank)) + (rank + 1,))
                bias = self.bias
            return y + bias

    return Keras2Local()


@pytest.mark.parametrize("fmt", FORMATS)
def test_locally_connected2d_parity(fmt, tf):
    layer = L.LocallyConnected2D(3, (2, 3), strides=(1, 2), data_format=fmt, activation="tanh")
    ref = _keras2_local(tf, 3, (2, 3), (1, 2), fmt, 2)
    x = _x(2, 5, 7, 2)
    if fmt == "channels_first":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    ref_act = tf.keras.Sequential([ref, tf.keras.layers.Activation("tanh")])
    check_keras_parity(layer, ref_act, x)
    w = layer.get_weights()
    assert w[0].shape == (4 * 3, 2 * 3 * 2, 3)
    assert w[1].shape == ((3, 4, 3) if fmt == "channels_first" else (4, 3, 3))


@pytest.mark.parametrize("fmt", FORMATS)
def test_locally_connected1d_parity(fmt, tf):
    x = _x(3, 9, 4) if fmt == "channels_last" else _x(3, 4, 9)
    check_keras_parity(
        L.LocallyConnected1D(5, 3, strides=2, data_format=fmt), _keras2_local(tf, 5, (3,), (2,), fmt, 1), x
    )


def test_locally_connected_harness_and_keras1_names(tf):
    layer, _ = check_layer(
        L.LocallyConnected2D,
        {"filters": 3, "kernel_size": 2},
        input_shape=(2, 2, 4, 5),
        expected_output_shape=(2, 3, 3, 4),
        expected_num_weights=2,
    )
    layer, _ = check_layer(
        L.LocallyConnected2D,
        {"nb_filter": 2, "nb_row": 2, "nb_col": 2, "subsample": (2, 2), "dim_ordering": "tf", "bias": False},
        input_shape=(2, 4, 5, 3),
        expected_output_shape=(2, 2, 2, 2),
        expected_num_weights=1,
    )
    assert layer.get_weights()[0].shape == (4, 12, 2)
    check_layer(
        L.LocallyConnected1D,
        {"nb_filter": 3, "filter_length": 2, "subsample_length": 1},
        input_shape=(2, 6, 4),
        expected_output_shape=(2, 5, 3),
        expected_num_weights=2,
    )
    # with every position's weights equal, a locally connected layer is a convolution
    lc = L.LocallyConnected2D(4, 3, data_format="channels_last")
    conv = tf.keras.layers.Conv2D(4, 3)
    x = _x(2, 6, 6, 2)
    conv(x)
    lc_model = Sequential([L.InputLayer(input_shape=(6, 6, 2)), lc])
    k, b = conv.get_weights()[0], RNG.standard_normal(4).astype(np.float32)
    lc.set_weights([np.broadcast_to(k.reshape(1, 18, 4), (16, 18, 4)), np.broadcast_to(b, (4, 4, 4))])
    np.testing.assert_allclose(lc_model.predict(x), conv(x).numpy() + b, rtol=1e-5, atol=1e-5)


# ---- upsampling, padding, cropping, resize ----------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_shape_layers_parity(fmt, tf):
    x2 = _x(2, 4, 5, 3)
    x3 = _x(2, 3, 4, 2, 3)
    x2f = x2 if fmt == "channels_last" else np.ascontiguousarray(x2.transpose(0, 3, 1, 2))
    x3f = x3 if fmt == "channels_last" else np.ascontiguousarray(x3.transpose(0, 4, 1, 2, 3))
    cases = [  # (layer name, args, extra keyword arguments, input): the same for zoo and tf.keras
        ("UpSampling2D", ((2, 3),), {}, x2f),
        ("UpSampling2D", (2,), {"interpolation": "bilinear"}, x2f),
        ("UpSampling3D", ((1, 2, 3),), {}, x3f),
        ("ZeroPadding2D", (((1, 0), (2, 1)),), {}, x2f),
        ("ZeroPadding3D", ((1, 2, 0),), {}, x3f),
        ("Cropping2D", (((1, 2), (0, 1)),), {}, x2f),
        ("Cropping3D", (((1, 1), (1, 0), (0, 1)),), {}, x3f),
    ]
    for name, args, kw, x in cases:
        check_keras_parity(getattr(L, name)(*args, data_format=fmt, **kw),
                           getattr(tf.keras.layers, name)(*args, data_format=fmt, **kw), x)


def test_shape_layers_1d_harness_and_keras1_names(tf):
    x = _x(2, 6, 3)
    for zoo_layer, tf_layer in [
        (L.UpSampling1D(3), tf.keras.layers.UpSampling1D(3)),
        (L.ZeroPadding1D((2, 1)), tf.keras.layers.ZeroPadding1D((2, 1))),
        (L.Cropping1D((1, 2)), tf.keras.layers.Cropping1D((1, 2))),
    ]:
        check_keras_parity(zoo_layer, tf_layer, x)
    cases = [
        (L.UpSampling1D, {"length": 2}, (2, 4, 3), (2, 8, 3)),
        (L.UpSampling2D, {"size": (2, 1), "dim_ordering": "tf"}, (2, 3, 4, 2), (2, 6, 4, 2)),
        (L.UpSampling3D, {"size": 2}, (2, 1, 2, 2, 3), (2, 1, 4, 4, 6)),
        (L.ZeroPadding1D, {"padding": 2}, (2, 4, 3), (2, 8, 3)),
        (L.ZeroPadding2D, {"padding": (1, 2, 3, 4)}, (2, 1, 3, 3), (2, 1, 6, 10)),
        (L.ZeroPadding3D, {"padding": (1, 1, 2), "dim_ordering": "th"}, (2, 1, 2, 2, 2), (2, 1, 4, 4, 6)),
        (L.Cropping1D, {"cropping": (0, 2)}, (2, 5, 3), (2, 3, 3)),
        (L.Cropping2D, {"cropping": ((1, 1), (0, 2))}, (2, 1, 4, 5), (2, 1, 2, 3)),
        (L.Cropping3D, {}, (2, 1, 3, 4, 5), (2, 1, 1, 2, 3)),
        (
            L.ResizeBilinear,
            {"output_height": 5, "output_width": 3, "align_corner": True},
            (2, 2, 3, 4),
            (2, 2, 5, 3),
        ),
    ]
    for cls, kw, shape, out in cases:
        check_layer(cls, kw, input_shape=shape, expected_output_shape=out, expected_num_weights=0)


@pytest.mark.parametrize("align,half", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("fmt", FORMATS)
def test_resize_bilinear_parity(align, half, fmt, tf):
    class Resize(tf.keras.layers.Layer):
        def call(self, x):
            if fmt == "channels_first":
                x = tf.transpose(x, (0, 2, 3, 1))
            y = tf.compat.v1.image.resize_bilinear(x, (7, 4), align_corners=align, half_pixel_centers=half)
            return y if fmt == "channels_last" else tf.transpose(y, (0, 3, 1, 2))

    x = _x(2, 5, 6, 3) if fmt == "channels_last" else _x(2, 3, 5, 6)
    check_keras_parity(
        L.ResizeBilinear(7, 4, align_corners=align, half_pixel_centers=half, dim_ordering=fmt),
        Resize(),
        x,
        rtol=1e-5,
        atol=1e-6,
    )


# ---- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("make,error,match", [
    (lambda: Sequential([L.InputLayer(input_shape=(3, 8, 8)), L.Conv3D(2, 3, name="c3")]), ValueError,
     r"Conv3D 'c3': expected input of rank 5, got shape \(None, 3, 8, 8\)"),
    (lambda: L.Conv2D(2, 3, padding="full", name="c"), ValueError,
     ("Conv2D 'c': padding must be one of \\('valid', 'same'\\), a non-negative int, 2 of them or 2 \\(before, "
      "after\\) pairs, got 'full'")),
    (lambda: L.Conv2DTranspose(2, 3, padding=1, name="t"), ValueError,
     "Conv2DTranspose 't': padding must be 'valid' or 'same', got 1"),
    (lambda: L.Conv2DTranspose(2, 3, strides=2, output_padding=2, name="t"), ValueError,
     r"Conv2DTranspose 't': output_padding \(2, 2\) must be smaller than the strides \(2, 2\)"),
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=0, name="d"), ValueError,
     "DepthwiseConv2D 'd': depth_multiplier must be a positive int, got 0"),
    (lambda: L.LocallyConnected2D(2, 3, padding="same", name="lc"), ValueError,
     "LocallyConnected2D 'lc': padding must be 'valid', got 'same'"),
    (lambda: Sequential([L.InputLayer(input_shape=(1, 2, 5)), L.LocallyConnected2D(2, 3, name="lc")]), ValueError,
     r"LocallyConnected2D 'lc': kernel_size \(3, 3\) is larger than the input's spatial sizes \(2, 5\)"),
    (lambda: Sequential([L.InputLayer(input_shape=(1, 4, 5)), L.Cropping2D(((2, 2), (0, 0)), name="cr")]),
     ValueError, r"Cropping2D 'cr': cropping \(\(2, 2\), \(0, 0\)\) leaves nothing of spatial axis 0 \(size 4\)"),
    (lambda: L.ZeroPadding2D((1, 2, 3), name="zp"), ValueError,
     ("ZeroPadding2D 'zp': padding must be an int, 2 ints or 2 \\(before, after\\) pairs of non-negative ints, "
      "got \\(1, 2, 3\\)")),
    (lambda: L.UpSampling3D((2, 2), name="u"), ValueError,
     "UpSampling3D 'u': size must be an int >= 1 or 3 of them, got \\(2, 2\\)"),
    (lambda: L.UpSampling2D(interpolation="cubic", name="u"), ValueError,
     "UpSampling2D 'u': interpolation must be 'nearest' or 'bilinear', got 'cubic'"),
    (lambda: L.ResizeBilinear(3, 3, align_corners=True, half_pixel_centers=True, name="r"), ValueError,
     "ResizeBilinear 'r': align_corners and half_pixel_centers cannot both be True"),
    (lambda: L.SeparableConv2D(2, 3, data_format="nchw2", name="s"), ValueError,
     "SeparableConv2D 's': expected 'channels_first' \\('th'\\) or 'channels_last' \\('tf'\\), got 'nchw2'"),
    (lambda: L.Conv2D(2, 3, propagate_back=0, name="c"), TypeError, "Conv2D 'c': propagate_back must be a bool, got 0"),
])
def test_bad_input_names_the_layer(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_models_of_the_family_save_load_and_train(tmp_path):
    from zoo.keras.models import load_model

    models = [
        (
            Sequential(
                [
                    L.InputLayer(input_shape=(2, 4, 6, 6)),
                    L.Conv3D(3, 2, padding=((1, 0), (0, 1), (1, 1))),
                    L.MaxPooling3D(2),
                    L.UpSampling3D(2),
                    L.ZeroPadding3D(1),
                    L.Cropping3D(1),
                    L.AveragePooling3D(2, dim_ordering="th"),
                    L.GlobalMaxPooling3D(),
                ]
            ),
            (4, 2, 4, 6, 6),
        ),
        (
            Sequential(
                [
                    L.InputLayer(input_shape=(3, 6, 6)),
                    L.Deconvolution2D(2, 3, 3, output_shape=(2, 14, 14), subsample=(2, 2)),
                    L.SeparableConv2D(3, 3, activation="relu"),
                    L.LocallyConnected2D(2, 3, activation="tanh"),
                    L.ResizeBilinear(5, 5, align_corners=True),
                    L.AveragePooling2D(2, pads=1, count_include_pad=True),
                    L.ShareConvolution2D(2, 3, 3, pad_h=1, pad_w=1, propagate_back=False),
                    L.DepthwiseConv2D(2, depth_multiplier=2),
                    L.GlobalAveragePooling2D(),
                ]
            ),
            (4, 3, 6, 6),
        ),
        (
            Sequential(
                [
                    L.InputLayer(input_shape=(9, 3)),
                    L.AtrousConvolution1D(4, 3, atrous_rate=2, border_mode="same"),
                    L.UpSampling1D(2),
                    L.Conv1DTranspose(2, 3, strides=2),
                    L.LocallyConnected1D(3, 2),
                    L.Cropping1D((1, 2)),
                    L.MaxPooling1D(pool_length=2),
                    L.GlobalAveragePooling1D(),
                ]
            ),
            (4, 9, 3),
        ),
    ]
    for i, (model, shape) in enumerate(models):
        x = RNG.standard_normal(shape).astype(np.float32)
        y = model.predict(x)
        path = str(tmp_path / f"m{i}.zip")
        model.save(path)
        np.testing.assert_array_equal(load_model(path).predict(x), y)
        model.compile("sgd", "mse")
        hist = model.fit(
            x, RNG.standard_normal(y.shape).astype(np.float32), batch_size=2, epochs=2, verbose=0
        )
        assert np.all(np.isfinite(hist.history["loss"]))


def test_keras1_factories_layer_harness():
    cases = [
        (
            L.AtrousConvolution1D,
            {"nb_filter": 2, "filter_length": 3, "atrous_rate": 2},
            (2, 9, 3),
            (2, 5, 2),
            2,
        ),
        (
            L.AtrousConvolution2D,
            {"nb_filter": 2, "nb_row": 3, "nb_col": 3, "atrous_rate": (2, 1)},
            (2, 3, 7, 6),
            (2, 2, 3, 4),
            2,
        ),
        (
            L.Deconvolution2D,
            {
                "nb_filter": 2,
                "nb_row": 3,
                "nb_col": 3,
                "output_shape": (None, 2, 12, 12),
                "subsample": (2, 2),
            },
            (2, 3, 5, 5),
            (2, 2, 12, 12),
            2,
        ),
        (
            L.SeparableConvolution2D,
            {"nb_filter": 4, "nb_row": 3, "nb_col": 3, "depth_multiplier": 2, "bias": False},
            (2, 3, 6, 6),
            (2, 4, 4, 4),
            2,
        ),
    ]
    for cls, kw, shape, out, n in cases:
        check_layer(cls, kw, input_shape=shape, expected_output_shape=out, expected_num_weights=n)


# ---- initializers and regularizers survive get_config / from_config ------------------------------

_U = initializers.RandomUniform(0.1, 0.3)


@pytest.mark.parametrize("cls,kw,shape", [
    (L.Conv2D, {"filters": 2, "kernel_size": 3, "kernel_initializer": _U, "kernel_regularizer": L1L2(0.01, 0.02),
                "bias_regularizer": "l2"}, (2, 3, 5, 5)),
    (L.Convolution2D, {"nb_filter": 2, "nb_row": 3, "nb_col": 3, "init": _U, "W_regularizer": L2(0.03),
                       "b_regularizer": L1(0.01)}, (2, 3, 5, 5)),
    (L.Conv1D, {"filters": 2, "kernel_size": 2, "kernel_initializer": _U, "kernel_regularizer": "l1"}, (2, 5, 3)),
    (L.Conv3D, {"filters": 2, "kernel_size": 2, "kernel_initializer": _U, "bias_regularizer": L2(0.03)},
     (2, 2, 3, 3, 3)),
    (L.Conv2DTranspose, {"filters": 2, "kernel_size": 3, "kernel_initializer": _U, "kernel_regularizer": L2(0.03)},
     (2, 3, 4, 4)),
    (L.DepthwiseConv2D, {"kernel_size": 3, "depthwise_initializer": _U, "depthwise_regularizer": L2(0.03)},
     (2, 3, 5, 5)),
    (L.SeparableConv2D, {"filters": 2, "kernel_size": 3, "depthwise_initializer": _U, "pointwise_initializer": _U,
                         "depthwise_regularizer": L2(0.03), "pointwise_regularizer": "l1"}, (2, 3, 5, 5)),
    (L.SeparableConvolution2D, {"nb_filter": 2, "nb_row": 3, "nb_col": 3, "init": _U, "b_regularizer": "l2"},
     (2, 3, 5, 5)),
    (L.LocallyConnected2D, {"filters": 2, "kernel_size": 3, "kernel_initializer": _U,
                            "kernel_regularizer": L2(0.03)}, (2, 3, 5, 5)),
    (L.LocallyConnected1D, {"nb_filter": 2, "filter_length": 2, "init": _U, "W_regularizer": L2(0.03),
                            "b_regularizer": "l1"}, (2, 5, 3)),
])
def test_config_keeps_initializer_and_regularizers(cls, kw, shape):
    layer, _ = check_layer(cls, kw, shape, train=False)  # same saved config, initial weights, regularizers
    assert 0.1 <= layer.get_weights()[0].min() and layer.get_weights()[0].max() <= 0.3
    assert layer.regularizers
