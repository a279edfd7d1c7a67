"""Advanced activation, noise, elementwise, shape and the extra core layers: the layer harness on
each, tf.keras parity where Keras has the layer (tolerance 1e-5 unless stated), numpy references
otherwise, and errors naming the layer."""

import numpy as np
import pytest

from tests.harness import assert_close, check_keras_parity, check_layer
from zoo.engine.graph import Executor
from zoo.keras import initializers
from zoo.keras import layers as L
from zoo.keras.models import Model, Sequential
from zoo.keras.regularizers import L2


def _x(shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def _run(layer, x, training=False, seed=0):
    """Forward of `layer` alone on x (a list for several inputs) through an engine Executor."""
    xs = x if isinstance(x, list) else [x]
    ins = [L.Input(batch_shape=(None,) + v.shape[1:]) for v in xs]
    out = layer(ins if isinstance(x, list) else ins[0])
    exe = Executor(Model(ins if isinstance(x, list) else ins[0], out).graph, seed=seed)
    return exe.forward(xs, training=training)[0].copy()


def _init(values):
    return lambda shape: np.asarray(values(shape), np.float32)


# ---- advanced activations ---------------------------------------------------------------------


def test_leaky_relu_elu(tf):
    x = _x((4, 7), 1, 2)
    check_layer(L.LeakyReLU, {"negative_slope": 0.2}, (2, 5), (2, 5), 0)
    check_keras_parity(L.LeakyReLU(0.2), tf.keras.layers.LeakyReLU(negative_slope=0.2), x)
    check_keras_parity(L.LeakyReLU(), tf.keras.layers.LeakyReLU(), x)  # both default to 0.3
    layer = L.LeakyReLU(alpha=0.01)  # Keras 2 / Analytics Zoo spelling
    assert layer.negative_slope == 0.01 and L.LeakyReLU.from_config(layer.get_config()).negative_slope == 0.01
    check_layer(L.ELU, {"alpha": 0.7}, (2, 5), (2, 5), 0)
    check_keras_parity(L.ELU(0.7), tf.keras.layers.ELU(0.7), x)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"max_value": 6.0},
        {"negative_slope": 0.1},
        {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.5},
        {"threshold": 1.0},
        {"max_value": 1.5},
    ],
)
def test_relu(kw, tf):
    check_layer(L.ReLU, kw, (2, 5), (2, 5), 0)
    check_keras_parity(L.ReLU(**kw), tf.keras.layers.ReLU(**kw), _x((5, 9), 2, 3))


def test_softmax(tf):
    x = _x((3, 4, 5), 3)
    for axis in (-1, 1):
        check_layer(L.Softmax, {"axis": axis}, (2, 4, 5), (2, 4, 5), 0)
        check_keras_parity(L.Softmax(axis), tf.keras.layers.Softmax(axis), x)


def test_prelu(tf):
    x = _x((4, 3, 5, 6), 4)
    check_layer(L.PReLU, {}, (2, 3, 4), (2, 3, 4), 1)
    for shared in (None, [2, 3], [1, 2, 3]):
        zoo = L.PReLU(
            alpha_initializer=_init(lambda s: np.random.default_rng(1).uniform(0, 1, s)), shared_axes=shared
        )
        check_keras_parity(zoo, tf.keras.layers.PReLU(shared_axes=shared), x)
    layer, _ = check_layer(L.PReLU, {"shared_axes": [1]}, (2, 3, 4), (2, 3, 4), 1)
    assert layer.get_weights()[0].shape == (1, 4)


def test_prelu_analytics_zoo_n_output_plane():
    x = _x((2, 3, 4, 4), 5)
    layer, y = check_layer(L.PReLU, {"n_output_plane": 3}, (2, 3, 4, 4), (2, 3, 4, 4), 1)
    assert layer.get_weights()[0].shape == (3, 1, 1)
    check_layer(L.PReLU, {"n_output_plane": 0}, (2, 3, 4, 4), (2, 3, 4, 4), 1)
    layer = L.PReLU(n_output_plane=0)
    y = _run(layer, x)
    assert layer.get_weights()[0].shape == (1, 1, 1)
    assert_close(y, np.where(x > 0, x, 0.25 * x))  # BigDL starts alpha at 0.25


def test_thresholded_relu_and_torch_style():
    x = _x((3, 6), 6, 2)
    cases = [
        (L.ThresholdedReLU, {"theta": 0.5}, np.where(x > 0.5, x, 0)),
        (L.ThresholdedReLU, {}, np.where(x > 1.0, x, 0)),
        (L.HardTanh, {"min_value": -0.5, "max_value": 2.0}, np.clip(x, -0.5, 2.0)),
        (L.HardShrink, {"value": 0.7}, np.where(np.abs(x) > 0.7, x, 0)),
        (L.SoftShrink, {}, np.sign(x) * np.maximum(np.abs(x) - 0.5, 0)),
        (L.Threshold, {"th": 0.2, "v": -3.0}, np.where(x > 0.2, x, -3.0)),
        (L.BinaryThreshold, {"value": 0.1}, (x > 0.1).astype(np.float32)),
        (L.Negative, {}, -x),
        (L.RReLU, {"lower": 0.1, "upper": 0.3}, np.where(x >= 0, x, 0.2 * x)),
    ]
    for cls, kw, want in cases:
        _, y = check_layer(cls, kw, x.shape, x.shape, 0, input_data=x)
        assert_close(y, want, rtol=1e-6, atol=1e-6, err_msg=cls.__name__)


def test_rrelu_training_draws_slopes():
    x = _x((50, 40), 7)
    y = _run(L.RReLU(0.1, 0.3), x, training=True)
    s = y[x < 0] / x[x < 0]
    assert 0.1 <= s.min() and s.max() <= 0.3 and s.std() > 0.03
    assert_close(y[x >= 0], x[x >= 0])


def test_srelu():
    x = _x((4, 3, 5), 8, 2)
    check_layer(L.SReLU, {}, (4, 3, 5), (4, 3, 5), 4)
    layer = L.SReLU()
    y = _run(layer, x)
    tl, al, tr, ar = layer.get_weights()
    assert tl.shape == (3, 5) and np.all(tl == 0) and np.all(ar == 1)
    trr = tl + np.abs(tr)
    want = np.where(x > trr, trr + ar * (x - trr), np.where(x < tl, tl + al * (x - tl), x))
    assert_close(y, want, rtol=1e-6, atol=1e-6)
    check_layer(L.SReLU, {"shared_axes": [1], "a_left_initializer": "zeros"}, (4, 3, 5), (4, 3, 5), 4)
    layer = L.SReLU(shared_axes=[1], a_left_initializer="zeros")
    _run(layer, x)
    assert [w.shape for w in layer.get_weights()] == [(1, 5)] * 4 and np.all(layer.get_weights()[1] == 0)


# ---- noise --------------------------------------------------------------------------------------


def test_noise_layers_are_identity_in_inference(tf):
    x = _x((4, 6, 5, 3), 9)
    pairs = [
        (L.GaussianNoise(0.5), tf.keras.layers.GaussianNoise(0.5)),
        (L.GaussianDropout(0.3), tf.keras.layers.GaussianDropout(0.3)),
        (L.AlphaDropout(0.3), tf.keras.layers.AlphaDropout(0.3)),
        (L.SpatialDropout2D(0.4, data_format="channels_last"), tf.keras.layers.SpatialDropout2D(0.4)),
        (
            L.SpatialDropout3D(0.4, data_format="channels_first"),
            tf.keras.layers.SpatialDropout3D(0.4, data_format="channels_first"),
        ),
    ]
    for zoo, ref in pairs:
        xi = x if not isinstance(zoo, L.SpatialDropout3D) else x[..., None]
        check_keras_parity(zoo, ref, xi, training=False)
    check_keras_parity(L.SpatialDropout1D(0.4), tf.keras.layers.SpatialDropout1D(0.4), x[:, :, :, 0])
    for cls, kw, shape in [
        (L.GaussianNoise, {"stddev": 0.2}, (2, 5)),
        (L.GaussianDropout, {"rate": 0.2}, (2, 5)),
        (L.AlphaDropout, {"rate": 0.2, "noise_shape": [None, 1, None]}, (2, 3, 5)),
        (L.SpatialDropout1D, {"rate": 0.2}, (2, 3, 5)),
        (L.SpatialDropout2D, {"rate": 0.2}, (2, 3, 4, 5)),
        (L.SpatialDropout3D, {"p": 0.2, "dim_ordering": "tf"}, (2, 3, 4, 5, 2)),
    ]:
        check_layer(cls, kw, shape, shape, 0)


def test_noise_layers_in_training():
    x = np.ones((200, 300), np.float32)
    d = _run(L.GaussianNoise(sigma=0.5), x, training=True) - x  # Analytics Zoo spelling
    assert abs(d.mean()) < 0.01 and abs(d.std() - 0.5) < 0.01
    y = _run(L.GaussianDropout(p=0.2), x, training=True)
    assert abs(y.mean() - 1) < 0.01 and abs(y.std() - 0.5) < 0.01
    y1 = _run(L.GaussianDropout(0.2), x, training=True, seed=3)
    y2 = _run(L.GaussianDropout(0.2), x, training=True, seed=3)
    np.testing.assert_array_equal(y1, y2)
    y = _run(L.AlphaDropout(0.2), x, training=True)
    assert len(np.unique(np.round(y, 5))) == 2


@pytest.mark.parametrize(
    "cls,fmt,shape,axes",
    [
        (L.SpatialDropout1D, None, (40, 6, 30), (1,)),
        (L.SpatialDropout2D, "channels_first", (40, 30, 5, 6), (2, 3)),
        (L.SpatialDropout2D, "tf", (40, 5, 6, 30), (1, 2)),
        (L.SpatialDropout3D, "th", (20, 30, 3, 4, 2), (2, 3, 4)),
        (L.SpatialDropout3D, "channels_last", (20, 3, 4, 2, 30), (1, 2, 3)),
    ],
)
def test_spatial_dropout_drops_whole_maps(cls, fmt, shape, axes):
    x = np.ones(shape, np.float32)
    layer = cls(0.4) if fmt is None else cls(0.4, data_format=fmt)
    y = _run(layer, x, training=True)
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.6)}
    assert np.all(y == y.max(axis=axes, keepdims=True))  # one draw per map
    assert abs((y == 0).mean() - 0.4) < 0.05


# ---- elementwise ------------------------------------------------------------------------------


def test_elementwise_math():
    x = _x((3, 4), 10)
    pos = np.abs(x) + 0.5
    cases = [
        (L.Exp, {}, x, np.exp(x)),
        (L.Log, {}, pos, np.log(pos)),
        (L.Sqrt, {}, pos, np.sqrt(pos)),
        (L.Square, {}, x, x * x),
        (L.Identity, {}, x, x),
        (L.Power, {"power": 3, "scale": 2, "shift": 1}, x, (1 + 2 * x) ** 3),
        (L.Power, {"power": 0.5, "scale": 1, "shift": 2}, pos, np.sqrt(pos + 2)),
        (L.AddConstant, {"constant": 2.5}, x, x + 2.5),
        (L.MulConstant, {"constant": -1.5}, x, x * -1.5),
    ]
    for cls, kw, inp, want in cases:
        _, y = check_layer(cls, kw, inp.shape, inp.shape, 0, input_data=inp)
        assert_close(y, want, rtol=1e-5, atol=1e-6, err_msg=cls.__name__)


def test_learned_elementwise():
    x = _x((2, 3, 4), 11)
    for cls, kw, n in [
        (L.CAdd, {"size": (3, 1)}, 1),
        (L.CAdd, {"size": (1, 3, 4)}, 1),
        (L.CMul, {"size": (1, 4)}, 1),
        (L.Scale, {"size": (3, 4)}, 2),
        (L.Mul, {}, 1),
    ]:
        check_layer(cls, kw, x.shape, x.shape, n)
        layer = cls(**kw)
        y = _run(layer, x)
        ws = layer.get_weights()
        lim = 1 / np.sqrt(ws[0].size)  # BigDL's U(-1/sqrt(n), 1/sqrt(n)) start
        assert all(np.all(np.abs(w) <= lim) and w.std() > 0 or w.size == 1 for w in ws)
        w0 = ws[0]
        want = x * w0 + ws[1] if cls is L.Scale else (x + w0 if cls is L.CAdd else x * w0)
        assert_close(y, want, rtol=1e-6, atol=1e-6, err_msg=cls.__name__)


def test_gaussian_sampler():
    mean, lv = _x((300, 100), 12), _x((300, 100), 13, 0.5)
    _layer, y = check_layer(
        L.GaussianSampler, {}, [mean.shape, lv.shape], mean.shape, 0, input_data=[mean, lv]
    )
    e = (y - mean) / np.exp(lv / 2)
    assert abs(e.mean()) < 0.01 and abs(e.std() - 1) < 0.01
    y1 = _run(L.GaussianSampler(), [mean, lv], seed=4)
    y2 = _run(L.GaussianSampler(), [mean, lv], seed=4)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(y1, _run(L.GaussianSampler(), [mean, lv], seed=5))


# ---- shape layers -----------------------------------------------------------------------------


def test_shape_layers():
    x = _x((2, 3, 4, 1), 14)
    cases = [
        (L.GetShape, {}, (4,), np.array([2, 3, 4, 1], np.float32)),
        (L.Max, {"dim": 2}, (2, 3, 1, 1), x.max(axis=2, keepdims=True)),
        (
            L.Max,
            {"dim": -2, "return_value": False},
            (2, 3, 1, 1),
            x.argmax(axis=2)[:, :, None].astype(np.float32),
        ),
        (L.ExpandDim, {"dim": 1}, (2, 1, 3, 4, 1), x[:, None]),
        (L.ExpandDim, {"dim": -1}, (2, 3, 4, 1, 1), x[..., None]),
        (L.Select, {"dim": 1, "index": -1}, (2, 4, 1), x[:, -1]),
        (L.Select, {"dim": -2, "index": 2}, (2, 3, 1), x[:, :, 2]),
        (L.Narrow, {"dim": 2, "offset": 1, "length": 2}, (2, 3, 2, 1), x[:, :, 1:3]),
        (L.Narrow, {"dim": 2, "offset": 1, "length": -1}, (2, 3, 3, 1), x[:, :, 1:]),
        (L.Narrow, {"dim": 2, "offset": 0, "length": -2}, (2, 3, 3, 1), x[:, :, :-1]),
        (L.Squeeze, {}, (2, 3, 4), x[..., 0]),
        (L.Squeeze, {"dim": 3}, (2, 3, 4), x[..., 0]),
        (L.Squeeze, {"dim": (-1,)}, (2, 3, 4), x[..., 0]),
    ]
    for cls, kw, shape, want in cases:
        _, y = check_layer(cls, kw, x.shape, shape, 0, input_data=x)
        np.testing.assert_array_equal(y, want, err_msg=f"{cls.__name__} {kw}")


def test_select_table():
    a, b = _x((2, 3), 15), _x((2, 5), 16)
    _, y = check_layer(L.SelectTable, {"index": 1}, [a.shape, b.shape], b.shape, 0, input_data=[a, b])
    np.testing.assert_array_equal(y, b)
    _, y = check_layer(L.SelectTable, {"index": -2}, [a.shape, b.shape], a.shape, 0, input_data=[a, b])
    np.testing.assert_array_equal(y, a)


# ---- core additions ---------------------------------------------------------------------------


def test_permute_repeat_vector(tf):
    x = _x((3, 4, 5, 2), 17)
    for dims in [(2, 1, 3), (3, 1, 2), (1, 2, 3)]:
        check_keras_parity(L.Permute(dims), tf.keras.layers.Permute(dims), x)
    check_layer(L.Permute, {"dims": (2, 1)}, (2, 3, 4), (2, 4, 3), 0)
    check_layer(L.RepeatVector, {"n": 3}, (2, 4), (2, 3, 4), 0)
    check_keras_parity(L.RepeatVector(4), tf.keras.layers.RepeatVector(4), x[:, :, 0, 0])


def test_maxout_dense():
    x = _x((5, 4), 18)
    layer, _y = check_layer(
        L.MaxoutDense, {"output_dim": 3, "nb_feature": 2}, x.shape, (5, 3), 2, input_data=x
    )
    W, b = layer.get_weights()
    assert W.shape == (2, 4, 3) and b.shape == (2, 3)
    b = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    layer.set_weights([W, b])
    want = np.max(np.einsum("ni,kio->nko", x, W) + b, axis=1)
    assert_close(_run_built(layer, x), want, rtol=1e-5, atol=1e-6)
    check_layer(L.MaxoutDense, {"output_dim": 3, "bias": False}, (2, 6, 4), (2, 6, 3), 1)


def _run_built(layer, x):
    inp, out = layer.inbound[0][0][0], layer.inbound[0][1][0]
    return Executor(Model(inp, out).graph).forward([x])[0].copy()


def test_highway():
    x = _x((5, 4), 19)
    check_layer(L.Highway, {"activation": "tanh"}, x.shape, x.shape, 4)
    layer = L.Highway(activation="tanh")
    y = _run(layer, x)
    W, Wc, b, bc = layer.get_weights()
    assert np.all(bc == -2) and np.all(b == 0)
    t = 1 / (1 + np.exp(-(x @ Wc + bc)))
    assert_close(y, t * np.tanh(x @ W + b) + (1 - t) * x, rtol=1e-5, atol=1e-6)
    check_layer(L.Highway, {"bias": False}, x.shape, x.shape, 2)
    layer = L.Highway(bias=False)
    y = _run(layer, x)
    W, Wc = layer.get_weights()
    t = 1 / (1 + np.exp(-(x @ Wc)))
    assert_close(y, t * (x @ W) + (1 - t) * x, rtol=1e-5, atol=1e-6)


def test_sparse_dense_restricts_input_gradient():
    x = _x((3, 6), 20)
    w = _x((2, 6), 21)  # BigDL layout (output_dim, input_dim)
    _layer, y = check_layer(
        L.SparseDense,
        {"output_dim": 2, "init_weight": w, "init_bias": np.ones(2, np.float32)},
        x.shape,
        (3, 2),
        2,
        input_data=x,
    )
    assert_close(y, x @ w.T + 1, rtol=1e-5, atol=1e-6)

    def input_grad(**kw):
        inp = L.Input((6,))
        model = Model(inp, L.SparseDense(2, init_weight=w, **kw)(inp))
        exe = Executor(model.graph)
        exe.forward([x], training=True)
        return exe.backward([np.ones((3, 2), np.float32)], input_grads=True)[0]

    full = np.ones((3, 2)) @ w
    g = input_grad(backward_start=2, backward_length=3)  # 1-based columns 2..4
    want = np.zeros_like(full)
    want[:, 1:4] = full[:, 1:4]
    assert_close(g, want)
    g = input_grad(backward_start=5)
    want = np.zeros_like(full)
    want[:, 4:] = full[:, 4:]
    assert_close(g, want)
    assert input_grad() is None


def test_layers_in_sequential_training():
    model = Sequential(
        [
            L.Dense(8, input_shape=(6,)),
            L.PReLU(),
            L.GaussianNoise(0.1),
            L.LayerNormalization(),
            L.RepeatVector(3),
            L.Permute((2, 1)),
            L.Max(1),
            L.Squeeze(1),
            L.Dense(2),
        ]
    )
    model.compile("adam", "mse")
    x, y = _x((64, 6), 22), _x((64, 2), 23)
    h = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert model.predict(x).shape == (64, 2)


# ---- bad input --------------------------------------------------------------------------------


def test_bad_input_names_the_layer():
    inp3 = L.Input((3, 4))
    with pytest.raises(ValueError, match=r"Permute 'p': dims must be a permutation of 1..2, got \(1, 3\)"):
        L.Permute((1, 3), name="p")
    with pytest.raises(
        ValueError,
        match=r"Permute 'p2': expected input of rank 4 for dims \(2, 1, 3\), got shape "
        r"\(None, 3, 4\)",
    ):
        L.Permute((2, 1, 3), name="p2")(inp3)
    with pytest.raises(ValueError, match="RepeatVector 'r': expected input of rank 2"):
        L.RepeatVector(2, name="r")(inp3)
    with pytest.raises(ValueError, match="Select 's': dim 0 names the batch axis"):
        L.Select(0, 1, name="s")(inp3)
    with pytest.raises(ValueError, match=r"Select 's2': index 3 is out of range for axis 1 of size 3"):
        L.Select(1, 3, name="s2")(inp3)
    with pytest.raises(ValueError, match=r"Narrow 'n': offset 5 and length 1 do not fit axis 1 of size 3"):
        L.Narrow(1, 5, name="n")(inp3)
    with pytest.raises(
        ValueError, match=r"Squeeze 'q': expected size 1 on axis 1, got input shape \(None, 3, 4\)"
    ):
        L.Squeeze(1, name="q")(inp3)
    with pytest.raises(ValueError, match=r"ExpandDim 'e': dim 5 is out of range for an input of rank 4"):
        L.ExpandDim(5, name="e")(inp3)
    with pytest.raises(ValueError, match="Max 'm': dim 3 is out of range for an input of rank 3"):
        L.Max(3, name="m")(inp3)
    with pytest.raises(ValueError, match="SelectTable 't': index 2 is out of range for 2 inputs"):
        L.SelectTable(2, name="t")([inp3, inp3])
    with pytest.raises(ValueError, match=r"ReLU 'relu': max_value must be a finite number >= 0.0, got -1"):
        L.ReLU(max_value=-1, name="relu")
    with pytest.raises(
        ValueError,
        match=r"HardTanh 'h': expected min_value < max_value, got min_value=1, "
        r"max_value=1",
    ):
        L.HardTanh(1, 1, name="h")
    with pytest.raises(ValueError, match=r"RReLU 'rr': expected lower <= upper"):
        L.RReLU(0.5, 0.1, name="rr")
    with pytest.raises(
        ValueError,
        match=r"PReLU 'pr': shared_axes \[3\] names axis 3, but the input shape "
        r"\(None, 3, 4\) has rank 3",
    ):
        L.PReLU(shared_axes=[3], name="pr")(inp3)
    with pytest.raises(ValueError, match=r"PReLU 'pr2': expected 5 channels on axis 1"):
        L.PReLU(n_output_plane=5, name="pr2")(inp3)
    with pytest.raises(ValueError, match=r"Softmax 'sm': axis 0 is not a feature axis"):
        L.Softmax(0, name="sm")(inp3)
    with pytest.raises(ValueError, match=r"GaussianNoise 'g': stddev must be a finite number >= 0, got -1"):
        L.GaussianNoise(-1, name="g")
    with pytest.raises(ValueError, match=r"GaussianDropout 'gd': rate must be a number in \[0, 1\), got 1.5"):
        L.GaussianDropout(1.5, name="gd")
    with pytest.raises(
        ValueError, match=r"SpatialDropout2D 'sd': expected input of rank 4, got shape \(None, 3, 4\)"
    ):
        L.SpatialDropout2D(0.5, name="sd")(inp3)
    with pytest.raises(ValueError, match="SpatialDropout2D 'sd2': expected 'channels_first'"):
        L.SpatialDropout2D(0.5, data_format="nchwx", name="sd2")
    with pytest.raises(
        ValueError,
        match=r"CAdd 'c': size \(5,\) does not broadcast to the input shape "
        r"\(None, 3, 4\)",
    ):
        L.CAdd(5, name="c")(inp3)
    with pytest.raises(ValueError, match=r"CMul 'cm': size \(2, 3, 4\) does not broadcast"):
        L.CMul((2, 3, 4), name="cm")(inp3)
    with pytest.raises(ValueError, match="Scale 'sc': size must be a positive int or a tuple of them, got 0"):
        L.Scale(0, name="sc")
    with pytest.raises(ValueError, match=r"GaussianSampler 'gs': expected a list of 2 inputs"):
        L.GaussianSampler(name="gs")(inp3)
    with pytest.raises(ValueError, match=r"Power 'pw': power must be a finite number, got 'a'"):
        L.Power("a", name="pw")
    with pytest.raises(
        ValueError,
        match=r"MaxoutDense 'md': expected last input axis 4, got input shape "
        r"\(None, 5\)",
    ):
        md = L.MaxoutDense(2, name="md")
        md(L.Input((4,)))
        md(L.Input((5,)))
    with pytest.raises(ValueError, match=r"Highway 'hw': expected input of rank 2"):
        L.Highway(name="hw")(inp3)
    with pytest.raises(
        ValueError, match="SparseDense 'sp': backward_start must be a positive int or -1, got 0"
    ):
        L.SparseDense(2, backward_start=0, name="sp")


# ---- initializers and regularizers survive get_config / from_config ------------------------------

_U = initializers.RandomUniform(0.1, 0.3)


@pytest.mark.parametrize("cls,kw,shape", [
    (L.PReLU, {"alpha_initializer": _U, "alpha_regularizer": L2(0.03)}, (2, 3, 4)),
    (L.CAdd, {"size": (1, 4), "bias_initializer": _U, "b_regularizer": L2(0.03)}, (2, 4)),
    (L.CMul, {"size": (1, 4), "kernel_initializer": _U, "W_regularizer": "l1"}, (2, 4)),
])
def test_config_keeps_initializer_and_regularizers(cls, kw, shape):
    layer, _ = check_layer(cls, kw, shape, train=False)  # same saved config, initial weights, regularizers
    assert 0.1 <= layer.get_weights()[0].min() and layer.get_weights()[0].max() <= 0.3
    assert layer.regularizers


def test_srelu_config_keeps_initializers():
    kw = {"t_left_init": _U, "a_left_initializer": "he_normal", "t_right_init": initializers.Constant(0.5)}
    layer, _ = check_layer(L.SReLU, kw, (2, 3, 4), train=False)  # same saved config and initial weights
    assert 0.1 <= layer.get_weights()[0].min() and layer.get_weights()[0].max() <= 0.3
    assert np.all(layer.get_weights()[2] == 0.5) and layer.get_config()["a_left_init"] == "he_normal"
