"""Ops of ops/misc/: numpy references, TensorFlow parity, finite-difference gradients, dtypes,
thread agreement, randomness statistics and bad input."""

import numpy as np
import pytest

from tests.harness import assert_close, check_grad, check_threads, run_op
from zoo.engine.ops import misc as M
from zoo.engine.ops.base import OPS, Ctx, from_config

SIZES = [(1, 1), (3, 5), (2, 3, 7)]


def _naive_prelu(x, a):
    return np.where(x > 0, x, a * x)


def _naive_srelu(x, tl, al, tr, ar):
    trr = tl + np.abs(tr)
    return np.where(x > trr, trr + ar * (x - trr), np.where(x < tl, tl + al * (x - tl), x))


def _naive_relu_general(x, mv, ns, th):
    pos = np.where(x > th, x, 0.0)
    if mv is not None:
        pos = np.clip(pos, 0.0, mv)
    return pos - ns * np.maximum(th - x, 0.0)


def _naive_layer_norm(x, axes, gamma, beta, eps, param_axes=None):
    param_axes = axes if param_axes is None else param_axes
    m = x.mean(axis=axes, keepdims=True)
    v = ((x - m) ** 2).mean(axis=axes, keepdims=True)
    bshape = [x.shape[a] if a in param_axes else 1 for a in range(x.ndim)]
    y = (x - m) / np.sqrt(v + eps)
    if gamma is not None:
        y = y * gamma.reshape(bshape)
    if beta is not None:
        y = y + beta.reshape(bshape)
    return y


def _naive_within_lrn(x, size, alpha, beta, k):
    """NCHW, loops over the window."""
    h, w = x.shape[2:]
    pre = (size - 1) // 2
    s = np.zeros_like(x)
    for i in range(h):
        for j in range(w):
            i0, i1 = max(0, i - pre), min(h, i - pre + size)
            j0, j1 = max(0, j - pre), min(w, j - pre + size)
            s[:, :, i, j] = (x[:, :, i0:i1, j0:j1] ** 2).sum(axis=(2, 3))
    return x * (k + alpha / size**2 * s) ** -beta


# ---- parametric and piecewise activations -----------------------------------------------------


@pytest.mark.parametrize("shape", SIZES)
def test_prelu(shape, rng, tf):
    x = rng.standard_normal(shape)
    for ashape in [(1,), shape[1:], (1,) * (len(shape) - 1) + shape[-1:]]:
        a = rng.standard_normal(ashape)
        y, _ = run_op(M.PRelu(), x, a)
        assert_close(y, _naive_prelu(x, a), rtol=1e-12, atol=1e-12)
        check_grad(M.PRelu(), [x, a])
        ty = tf.nn.relu(x) - a * tf.nn.relu(-x)
        assert_close(y, ty.numpy(), rtol=1e-12, atol=1e-12)
    y32, _ = run_op(M.PRelu(), x.astype(np.float32), np.full((1,), 0.25, np.float32))
    assert y32.dtype == np.float32


def test_prelu_gradient_at_zero_is_tensorflows(tf):
    x = np.array([[-1.0, 0.0, 2.0]])
    a = np.array([0.5])
    op = M.PRelu()
    _, ctx = run_op(op, x, a)
    gx, ga = op.backward(ctx, np.ones_like(x))
    xt, at = tf.Variable(x), tf.Variable(a)
    with tf.GradientTape() as tape:
        y = tf.nn.relu(xt) - at * tf.nn.relu(-xt)
    tgx, tga = tape.gradient(y, [xt, at])
    assert_close(gx, tgx.numpy())
    assert_close(ga, tga.numpy())


@pytest.mark.parametrize("shape", SIZES)
def test_srelu(shape, rng):
    x = rng.standard_normal(shape) * 2
    ps = [rng.standard_normal(shape[1:]) * s for s in (0.5, 1.0, 1.0, 1.0)]
    y, _ = run_op(M.SRelu(), x, *ps)
    assert_close(y, _naive_srelu(x, *ps), rtol=1e-12, atol=1e-12)
    check_grad(M.SRelu(), [x, *ps])
    shared = [p[..., :1] if p.ndim else p for p in ps]  # parameters shared along the last axis
    check_grad(M.SRelu(), [x, *shared])


def test_srelu_keeps_right_knee_right_of_left_one():
    x = np.linspace(-3, 3, 13)[None]
    y, _ = run_op(M.SRelu(), x, np.array([0.5]), np.array([0.1]), np.array([-1.0]), np.array([2.0]))
    # knees at 0.5 and 0.5 + |-1| = 1.5
    assert_close(y, _naive_srelu(x, 0.5, 0.1, -1.0, 2.0))
    assert y[0, -1] == pytest.approx(1.5 + 2.0 * 1.5)


def test_rrelu(rng):
    x = rng.standard_normal((40, 51))
    op = M.RRelu(0.1, 0.3)
    y, _ = run_op(op, x)  # inference: the mean slope
    assert_close(y, np.where(x >= 0, x, 0.2 * x))
    y, ctx = run_op(op, x, training=True, seed=3)
    slope = y[x < 0] / x[x < 0]
    assert slope.min() >= 0.1 and slope.max() <= 0.3 and abs(slope.mean() - 0.2) < 0.01
    assert_close(y[x >= 0], x[x >= 0])
    y2, _ = run_op(op, x, training=True, seed=3)
    np.testing.assert_array_equal(y, y2)
    check_grad(op, [rng.standard_normal((3, 7))], training=True, seed=5)
    check_grad(op, [rng.standard_normal((3, 7))])
    gx = op.backward(ctx, np.ones_like(x))[0]
    assert_close(gx[x < 0], slope)


@pytest.mark.parametrize(
    "mv,ns,th",
    [(None, 0.0, 0.0), (6.0, 0.0, 0.0), (2.0, 0.1, 0.5), (None, 0.3, 1.0), (1.5, 0.0, 0.2), (0.0, 0.2, 0.0)],
)
def test_relu_general(mv, ns, th, rng, tf):
    import keras

    x = rng.standard_normal((5, 9)) * 3
    op = M.ReluGeneral(mv, ns, th)
    y, _ = run_op(op, x)
    assert_close(y, _naive_relu_general(x, mv, ns, th), rtol=1e-12, atol=1e-12)
    ty = keras.activations.relu(tf.constant(x), negative_slope=ns, max_value=mv, threshold=th)
    assert_close(y, np.asarray(ty), rtol=1e-12, atol=1e-12)
    check_grad(op, [x])
    xt = tf.Variable(x)
    with tf.GradientTape() as tape:
        ty = keras.activations.relu(xt, negative_slope=ns, max_value=mv, threshold=th)
    _, ctx = run_op(op, x)
    assert_close(op.backward(ctx, np.ones_like(x))[0], tape.gradient(ty, xt).numpy())


@pytest.mark.parametrize("shape", SIZES)
def test_threshold_shrinks(shape, rng):
    x = rng.standard_normal(shape)
    cases = [
        (M.Threshold(0.3, 2.0), np.where(x > 0.3, x, 2.0)),
        (M.Threshold(1.0, 0.0), np.where(x > 1.0, x, 0.0)),
        (M.HardShrink(0.5), np.where(np.abs(x) > 0.5, x, 0.0)),
        (M.SoftShrink(0.5), np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0.0))),
    ]
    for op, want in cases:
        y, _ = run_op(op, x)
        assert_close(y, want, rtol=1e-12, atol=1e-12)
        check_grad(op, [x])
        y32, _ = run_op(op, x.astype(np.float32))
        assert y32.dtype == np.float32
        assert_close(y32, want, rtol=1e-6, atol=1e-6)


def test_binary_threshold(rng):
    x = rng.standard_normal((4, 6))
    y, ctx = run_op(M.BinaryThreshold(0.2), x)
    np.testing.assert_array_equal(y, (x > 0.2).astype(np.float64))
    assert M.BinaryThreshold.nondiff_inputs == (0,)
    assert M.BinaryThreshold(0.2).backward(ctx, np.ones_like(x)) == (None,)


# ---- noise ------------------------------------------------------------------------------------


def test_gaussian_noise(rng):
    x = rng.standard_normal((200, 300)).astype(np.float32)
    op = M.GaussianNoise(0.5)
    y, _ = run_op(op, x)
    assert y is x
    y, _ = run_op(op, x, training=True, seed=1)
    assert y.dtype == np.float32
    d = y - x
    assert abs(d.mean()) < 0.005 and abs(d.std() - 0.5) < 0.005
    y2, _ = run_op(op, x, training=True, seed=1)
    np.testing.assert_array_equal(y, y2)
    y3, _ = run_op(op, x, training=True, seed=2)
    assert not np.array_equal(y, y3)
    check_grad(op, [rng.standard_normal((3, 5))], training=True)


def test_gaussian_dropout(rng):
    x = np.ones((300, 300))
    op = M.GaussianDropout(0.2)
    assert run_op(op, x)[0] is x
    y, ctx = run_op(op, x, training=True, seed=1)
    assert abs(y.mean() - 1) < 0.005 and abs(y.std() - np.sqrt(0.2 / 0.8)) < 0.005
    gx = op.backward(ctx, np.full_like(x, 2.0))[0]
    assert_close(gx, 2 * y)
    check_grad(op, [rng.standard_normal((3, 5))], training=True)


@pytest.mark.parametrize("noise_shape", [None, (None, 1, None)])
def test_alpha_dropout(noise_shape, rng):
    x = rng.standard_normal((50, 40, 30))
    rate = 0.3
    op = M.AlphaDropout(rate, noise_shape)
    assert run_op(op, x)[0] is x
    y, _ = run_op(op, x, training=True, seed=4)
    ap = -M.SELU_ALPHA * M.SELU_SCALE
    a = ((1 - rate) * (1 + rate * ap**2)) ** -0.5
    b = -a * ap * rate
    kept = np.isclose(y, a * x + b, rtol=0, atol=1e-12)
    dropped = np.isclose(y, a * ap + b, rtol=0, atol=1e-12)
    assert np.all(kept | dropped)
    assert abs(dropped.mean() - rate) < 0.02
    if noise_shape is not None:
        assert np.all(dropped == dropped[:, :1, :])
    check_grad(op, [rng.standard_normal((3, 4, 5))], training=True)
    # SELU-normalised input keeps mean 0 and variance 1
    z = rng.standard_normal((400, 500))
    yz, _ = run_op(M.AlphaDropout(0.2), z, training=True)
    assert abs(yz.mean()) < 0.01 and abs(yz.std() - 1) < 0.02


def test_gaussian_sample(rng):
    mean = rng.standard_normal((300, 200))
    lv = rng.standard_normal((300, 200)) * 0.5
    op = M.GaussianSample()
    for training in (False, True):
        y, _ = run_op(op, mean, lv, training=training, seed=7)
        e = (y - mean) / np.exp(lv / 2)
        assert abs(e.mean()) < 0.01 and abs(e.std() - 1) < 0.01
    y2, _ = run_op(op, mean, lv, seed=7)
    np.testing.assert_array_equal(y, y2)
    y32, _ = run_op(op, mean.astype(np.float32), lv.astype(np.float32))
    assert y32.dtype == np.float32
    check_grad(op, [rng.standard_normal((3, 5)), rng.standard_normal((3, 5))])


# ---- normalization ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,axis,param_axis",
    [
        ((4, 7), -1, None),
        ((3, 5, 6), -1, None),
        ((3, 5, 6), (1, 2), None),
        ((2, 3, 4, 5), (1, 3), None),
        ((5, 3, 4), (0, 2), 1),
        ((6, 3), 0, 1),
        ((2, 3, 4), 2, 1),
    ],
)
def test_layer_norm(shape, axis, param_axis, rng):
    x = rng.standard_normal(shape) * 3 + 1
    ax = (axis,) if isinstance(axis, int) else axis
    ax = tuple(a % len(shape) for a in ax)
    pax = ax if param_axis is None else (param_axis,)
    pshape = tuple(shape[a] for a in pax)
    g, b = rng.standard_normal(pshape), rng.standard_normal(pshape)
    for center, scale in [(True, True), (True, False), (False, True), (False, False)]:
        op = M.LayerNorm(axis, 1e-3, center=center, scale=scale, param_axis=param_axis)
        ins = [x] + ([g] if scale else []) + ([b] if center else [])
        y, _ = run_op(op, *ins)
        want = _naive_layer_norm(x, ax, g if scale else None, b if center else None, 1e-3, pax)
        assert_close(y, want, rtol=1e-10, atol=1e-10)
        check_grad(op, ins)
        assert op.infer_shape(shape, *[p.shape for p in ins[1:]]) == shape
    y32, _ = run_op(
        M.LayerNorm(axis, param_axis=param_axis),
        x.astype(np.float32),
        g.astype(np.float32),
        b.astype(np.float32),
    )
    assert y32.dtype == np.float32
    assert_close(y32, _naive_layer_norm(x, ax, g, b, 1e-3, pax), rtol=1e-4, atol=1e-5)


def test_layer_norm_matches_tensorflow(rng, tf):
    x = (rng.standard_normal((6, 5, 8)) * 2 + 3).astype(np.float32)
    g, b = rng.standard_normal(8).astype(np.float32), rng.standard_normal(8).astype(np.float32)
    y, _ = run_op(M.LayerNorm(-1, 1e-3), x, g, b)
    m, v = tf.nn.moments(tf.constant(x), axes=[-1], keepdims=True)
    ty = (x - m) * tf.math.rsqrt(v + 1e-3) * g + b
    assert_close(y, ty.numpy(), rtol=1e-5, atol=1e-5)


def test_layer_norm_threads(rng):
    x = rng.standard_normal((64, 33)).astype(np.float32)
    g = np.ones(33, np.float32)
    check_threads(lambda: run_op(M.LayerNorm(-1), x, g, g)[0].copy())


@pytest.mark.parametrize("size", [1, 3, 4, 5])
def test_within_channel_lrn(size, rng, tf):
    x = rng.standard_normal((2, 3, 7, 6))
    op = M.WithinChannelLRN(size, 0.7, 0.75, 1.0)
    y, _ = run_op(op, x)
    assert_close(y, _naive_within_lrn(x, size, 0.7, 0.75, 1.0), rtol=1e-12, atol=1e-12)
    check_grad(op, [x[:, :2, :5, :4]])
    # channels-last layout on axes (1, 2)
    xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    yl, _ = run_op(M.WithinChannelLRN(size, 0.7, 0.75, 1.0, axes=(1, 2)), xl)
    assert_close(yl, y.transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)
    check_grad(M.WithinChannelLRN(size, 0.7, 0.75, 2.0, axes=(1, 2)), [xl[:, :5, :4, :2]])
    if size % 2:  # TensorFlow: window sum as a depthwise convolution with 'SAME' padding
        s = tf.nn.depthwise_conv2d(
            tf.constant(xl**2), tf.ones((size, size, 3, 1), tf.float64), [1, 1, 1, 1], "SAME"
        )
        ty = xl * (1.0 + 0.7 / size**2 * s) ** -0.75
        assert_close(yl, ty.numpy(), rtol=1e-10, atol=1e-12)


# ---- utilities --------------------------------------------------------------------------------


def test_backward_slice(rng):
    x = rng.standard_normal((3, 6))
    gy = rng.standard_normal((3, 6))
    op = M.BackwardSlice(1, 3)
    y, ctx = run_op(op, x)
    assert y is x
    want = np.zeros_like(gy)
    want[:, 1:4] = gy[:, 1:4]
    np.testing.assert_array_equal(op.backward(ctx, gy)[0], want)
    op = M.BackwardSlice(2, None)
    _, ctx = run_op(op, x)
    want = np.zeros_like(gy)
    want[:, 2:] = gy[:, 2:]
    np.testing.assert_array_equal(op.backward(ctx, gy)[0], want)
    assert M.BackwardSlice().backward(ctx, gy) == (None,)


def test_shape_of_and_pick_input(rng):
    y, _ = run_op(M.ShapeOf(), np.zeros((2, 3, 4)))
    np.testing.assert_array_equal(y, [2, 3, 4])
    assert y.dtype == np.float32 and M.ShapeOf().infer_shape((None, 3, 4)) == (3,)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 5))
    op = M.PickInput(-1)
    y, ctx = run_op(op, a, b)
    assert y is b and op.infer_shape((None, 3), (None, 5)) == (None, 5)
    g = np.ones((2, 5))
    assert op.backward(ctx, g)[0] is None and op.backward(ctx, g)[1] is g


def test_config_round_trip():
    ops = [
        M.PRelu(),
        M.SRelu(),
        M.RRelu(0.1, 0.2),
        M.ReluGeneral(6.0, 0.1, 0.5),
        M.Threshold(0.1, 2.0),
        M.HardShrink(0.3),
        M.SoftShrink(0.2),
        M.BinaryThreshold(0.1),
        M.GaussianNoise(0.3),
        M.GaussianDropout(0.2),
        M.AlphaDropout(0.1, [None, 1]),
        M.GaussianSample(),
        M.LayerNorm([1, 2], 1e-5, False, True),
        M.LayerNorm((0, 2), param_axis=1),
        M.WithinChannelLRN(3, 0.5, 0.7, 2.0, (1, 2)),
        M.BackwardSlice(1, 2),
        M.ShapeOf(),
        M.PickInput(1),
    ]
    for op in ops:
        assert OPS[op.type_name] is type(op)
        clone = from_config(op.type_name, op.get_config())
        assert clone.get_config() == op.get_config()


def test_threads_agree(rng):
    x = rng.standard_normal((17, 33)).astype(np.float32)
    check_threads(lambda: run_op(M.SoftShrink(0.5), x)[0].copy())
    check_threads(lambda: run_op(M.WithinChannelLRN(3), x.reshape(1, 1, 17, 33))[0].copy())


# ---- bad input --------------------------------------------------------------------------------


def test_bad_input():
    with pytest.raises(ValueError, match=r"RRelu: expected lower <= upper, got lower=0.5, upper=0.1"):
        M.RRelu(0.5, 0.1)
    with pytest.raises(ValueError, match=r"ReluGeneral: max_value must be in \[0.0, inf\), got -1"):
        M.ReluGeneral(-1)
    with pytest.raises(ValueError, match=r"ReluGeneral: negative_slope must be a finite number, got nan"):
        M.ReluGeneral(None, float("nan"))
    with pytest.raises(ValueError, match=r"GaussianDropout: rate must be in \[0.0, 1.0\), got 1"):
        M.GaussianDropout(1)
    with pytest.raises(ValueError, match=r"AlphaDropout: noise_shape must hold positive ints or None"):
        M.AlphaDropout(0.1, (None, 0))
    with pytest.raises(
        ValueError, match=r"noise_shape \(None, 3\) does not broadcast to input shape \(2, 4\)"
    ):
        run_op(M.AlphaDropout(0.1, (None, 3)), np.zeros((2, 4)), training=True)
    with pytest.raises(ValueError, match=r"LayerNorm: epsilon must be in \(0.0, inf\), got 0"):
        M.LayerNorm(-1, 0)
    with pytest.raises(TypeError, match="LayerNorm: axis must be an int or a sequence of ints"):
        M.LayerNorm(1.5)
    with pytest.raises(ValueError, match=r"axis 3 is out of range for an input of rank 2"):
        M.LayerNorm(3).infer_shape((None, 4), (4,), (4,))
    with pytest.raises(ValueError, match=r"axis \(1, -1\) names an axis twice \(rank 2\)"):
        M.LayerNorm((1, -1)).infer_shape((None, 4), (4,), (4,))
    with pytest.raises(
        ValueError,
        match=r"expected gamma of shape \(4,\) for input shape \(None, 4\) and axis "
        r"\[-1\], got \(5,\)",
    ):
        M.LayerNorm(-1).infer_shape((None, 4), (5,), (4,))
    with pytest.raises(ValueError, match=r"expected 1 parameter input\(s\)"):
        M.LayerNorm(-1, center=False).infer_shape((None, 4), (4,), (4,))
    with pytest.raises(
        ValueError,
        match=r"expected alpha broadcastable to the input shape \(None, 4\) without "
        r"growing it, got shape \(3,\)",
    ):
        M.PRelu().infer_shape((None, 4), (3,))
    with pytest.raises(ValueError, match=r"expected t_right broadcastable"):
        M.SRelu().infer_shape((None, 4), (4,), (4,), (2, 4), (4,))
    with pytest.raises(TypeError, match="PRelu: expected a float32 or float64 input, got dtype int64"):
        run_op(M.PRelu(), np.zeros((2, 2), np.int64), np.zeros(1))
    with pytest.raises(TypeError, match="Threshold: expected a numpy array as input, got list"):
        M.Threshold().forward(Ctx(), [1.0])
    with pytest.raises(ValueError, match="WithinChannelLRN: size must be a positive int, got 0"):
        M.WithinChannelLRN(0)
    with pytest.raises(ValueError, match="WithinChannelLRN: axes must name the 2 spatial axes"):
        M.WithinChannelLRN(3, axes=(1, 2, 3))
    with pytest.raises(
        ValueError,
        match=r"GaussianSample: expected mean and log_var of the same shape, got "
        r"\(2, 3\) and \(2, 4\)",
    ):
        run_op(M.GaussianSample(), np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="expected start < the last axis size 3, got start=3"):
        M.BackwardSlice(3, 1).infer_shape((None, 3))
    with pytest.raises(ValueError, match="index 2 is out of range for 2 inputs"):
        M.PickInput(2).infer_shape((None, 3), (None, 3))
