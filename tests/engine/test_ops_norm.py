import numpy as np
import pytest

from tests.harness import assert_close, check_grad, check_threads, run_op
from zoo.engine import graph as G
from zoo.engine.graph import Executor, Graph, Parameter
from zoo.engine.kernels import norm as K
from zoo.engine.ops.base import from_config
from zoo.engine.ops.norm import LRN, BatchNorm, Dropout

# ---- batch norm --------------------------------------------------------------------------------


def _bn_naive(x, gamma, beta, rm, rv, axis, eps, momentum, training):
    """numpy reference: (y, new running mean, new running var), all float64."""
    x = np.asarray(x, np.float64)
    axis = axis % x.ndim
    red = tuple(i for i in range(x.ndim) if i != axis)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    if training:
        mean, var = x.mean(axis=red), x.var(axis=red)
        rm = momentum * rm + (1 - momentum) * mean
        rv = momentum * rv + (1 - momentum) * var
    else:
        mean, var = rm, rv
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * gamma.reshape(shape) + beta.reshape(
        shape
    )
    return y, rm, rv


def _bn_inputs(rng, shape, axis, dtype=np.float64, offset=1.0):
    c = shape[axis]
    return [
        (rng.normal(size=shape) * 2 + offset).astype(dtype),
        rng.normal(size=c).astype(dtype),
        rng.normal(size=c).astype(dtype),
        rng.normal(size=c).astype(dtype),
        rng.uniform(0.5, 2, size=c).astype(dtype),
    ]


BN_SHAPES = [
    ((5, 3, 4, 3), 1),
    ((7, 5), -1),
    ((7, 5), 1),
    ((3, 4, 5, 3), -1),
    ((3, 4, 7), -1),
    ((2, 3, 5), 1),
    ((1, 3), -1),
    ((5, 1, 3), 1),
]


@pytest.mark.parametrize("shape,axis", BN_SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_numpy(shape, axis, training, rng):
    x, g, b, rm, rv = _bn_inputs(rng, shape, axis)
    rm0, rv0 = rm.copy(), rv.copy()
    op = BatchNorm(axis=axis, epsilon=1e-3, momentum=0.9)
    y, _ = run_op(op, x, g, b, rm, rv, training=training)
    ref, rm_ref, rv_ref = _bn_naive(x, g, b, rm0, rv0, axis, 1e-3, 0.9, training)
    assert_close(y, ref, rtol=1e-11, atol=1e-12)
    assert_close(rm, rm_ref, rtol=1e-12, atol=1e-14)  # updated in place (or left alone in inference)
    assert_close(rv, rv_ref, rtol=1e-12, atol=1e-14)
    x32 = [a.astype(np.float32) for a in (x, g, b, rm0, rv0)]
    y32, _ = run_op(op, *x32, training=training)
    assert y32.dtype == np.float32
    assert_close(y32, ref, rtol=1e-5, atol=1e-5)
    assert_close(x32[3], rm_ref, rtol=1e-6, atol=1e-7)
    assert_close(x32[4], rv_ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shape,axis", BN_SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_grad(shape, axis, training, rng):
    ins = _bn_inputs(rng, shape, axis)
    check_grad(BatchNorm(axis=axis), ins, training=training)
    check_grad(BatchNorm(axis=axis), ins, training=training, wrt=[0])
    check_grad(BatchNorm(axis=axis), ins, training=training, wrt=[1, 2])


def test_batch_norm_float32_precision_with_large_mean(rng):
    """One-pass statistics must not lose the variance when |mean| >> std."""
    x = (1e4 + rng.normal(size=(64, 3, 5, 5))).astype(np.float32)
    g, b = np.ones(3, np.float32), np.zeros(3, np.float32)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    y, _ = run_op(BatchNorm(axis=1, momentum=0.0), x, g, b, rm, rv, training=True)
    ref, _, rv_ref = _bn_naive(x, g, b, np.zeros(3), np.ones(3), 1, 1e-3, 0.0, True)
    assert_close(rv, rv_ref, rtol=1e-6)
    assert_close(y, ref, rtol=1e-4, atol=1e-4)


def test_batch_norm_float32_backward_matches_float64(rng):
    ins = _bn_inputs(rng, (6, 5, 7, 3), 1)
    gy = rng.normal(size=ins[0].shape)
    outs = []
    for dt in (np.float32, np.float64):
        op = BatchNorm(axis=1)
        _, ctx = run_op(op, *[a.astype(dt) for a in ins], training=True)
        outs.append(op.backward(ctx, gy.astype(dt)))
    for a, b in zip(outs[0][:3], outs[1][:3]):
        assert a.dtype == np.float32
        assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert outs[0][3] is None and outs[0][4] is None


@pytest.mark.parametrize("axis,shape", [(-1, (8, 5, 5, 6)), (1, (8, 6, 5, 5)), (-1, (16, 7))])
def test_batch_norm_tf_parity(axis, shape, rng, tf):
    x, g, b, rm, rv = [a.astype(np.float32) for a in _bn_inputs(rng, shape, axis)]
    layer = tf.keras.layers.BatchNormalization(axis=axis, momentum=0.9, epsilon=1e-3)
    layer.build(shape)
    layer.set_weights([g, b, rm, rv])
    op = BatchNorm(axis=axis, epsilon=1e-3, momentum=0.9)
    # inference
    y, _ = run_op(op, x, g, b, rm.copy(), rv.copy(), training=False)
    assert_close(y, layer(x, training=False), rtol=1e-5, atol=1e-5)
    # training: output, gradients and the running statistics after one call
    gy = rng.normal(size=shape).astype(np.float32)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        yt = layer(xt, training=True)
    gx, gg, gb = tape.gradient(yt, [xt, layer.gamma, layer.beta], output_gradients=tf.constant(gy))
    rm2, rv2 = rm.copy(), rv.copy()
    y, ctx = run_op(op, x, g, b, rm2, rv2, training=True)
    assert_close(y, yt, rtol=1e-5, atol=1e-4)
    assert_close(rm2, layer.moving_mean, rtol=1e-5, atol=1e-6)
    assert_close(rv2, layer.moving_variance, rtol=1e-5, atol=1e-6)
    dx, dg, db, _, _ = op.backward(ctx, gy)
    assert_close(dx, gx, rtol=1e-3, atol=1e-4)
    assert_close(dg, gg, rtol=1e-4, atol=1e-4)
    assert_close(db, gb, rtol=1e-5, atol=1e-4)


def test_batch_norm_graph_updates_state(rng):
    """In a graph, the running statistics are state parameters updated in place in training only."""
    x = G.input((None, 3, 4, 4), name="x")
    g, b = Parameter("gamma", np.ones(3)), Parameter("beta", np.zeros(3))
    rm = Parameter("mean", np.zeros(3), kind="state")
    rv = Parameter("var", np.ones(3), kind="state")
    y = G.apply(BatchNorm(axis=1, momentum=0.5), [x] + [G.parameter(p) for p in (g, b, rm, rv)], name="bn")
    exe = Executor(Graph([x], [y]))
    xv = (3 + rng.normal(size=(5, 3, 4, 4))).astype(np.float32)
    exe.forward([xv], training=False)
    assert_close(rm.value, np.zeros(3), atol=0)
    exe.forward([xv], training=True)
    assert_close(rm.value, 0.5 * xv.mean(axis=(0, 2, 3)), rtol=1e-5)
    assert_close(rv.value, 0.5 + 0.5 * xv.var(axis=(0, 2, 3)), rtol=1e-5)
    exe.store.grad.fill(0)
    exe.backward([np.ones((5, 3, 4, 4), np.float32)])
    assert_close(b.grad, np.full(3, 80.0), rtol=1e-6)
    assert_close(g.grad, np.zeros(3), atol=1e-4)


def test_batch_norm_threads_bitwise(rng):
    big = _bn_inputs(rng, (16, 8, 32, 33), 1, np.float32)  # above the parallel threshold
    rows = _bn_inputs(rng, (5000, 24), -1, np.float32)
    gy1 = rng.normal(size=big[0].shape).astype(np.float32)
    gy2 = rng.normal(size=rows[0].shape).astype(np.float32)

    def run():
        outs = []
        for ins, gy, axis in ((big, gy1, 1), (rows, gy2, -1)):
            for training in (True, False):
                vals = [a.copy() for a in ins]
                op = BatchNorm(axis=axis, activation="relu" if training else None)
                y, ctx = run_op(op, *vals, training=training)
                outs += [y.copy(), vals[3], vals[4]] + [g.copy() for g in op.backward(ctx, gy)[:3]]
        return outs

    check_threads(run, exact=True)


def test_batch_norm_kernel_accumulate(rng):
    x, g, b, rm, rv = _bn_inputs(rng, (9, 4, 5), 1)
    y, sm, si = np.empty_like(x), np.empty(4), np.empty(4)
    K.bn_forward(x, g, b, rm, rv, (9, 4, 5), 1e-3, 0.99, True, y, sm, si)
    dy = rng.normal(size=x.shape)
    outs = [np.empty_like(x), np.empty(4), np.empty(4)]
    K.bn_backward(dy, x, g, sm, si, (9, 4, 5), True, *outs)
    acc = [np.ones_like(x), np.ones(4), np.ones(4)]
    K.bn_backward(dy, x, g, sm, si, (9, 4, 5), True, *acc, accumulate=True)
    for a, o in zip(acc, outs):
        assert_close(a, o + 1, rtol=1e-12)
    # only dbeta wanted
    db = np.empty(4)
    K.bn_backward(dy, x, g, sm, si, (9, 4, 5), True, dbeta=db)
    assert_close(db, dy.sum(axis=(0, 2)), rtol=1e-12)


def test_batch_norm_bad_inputs(rng):
    x, g, b, rm, rv = _bn_inputs(rng, (4, 3, 5), 1)
    with pytest.raises(
        ValueError,
        match=r"BatchNorm: expected gamma of shape \(3,\) for input shape \(4, 3, 5\) and "
        r"axis 1, got \(5,\)",
    ):
        run_op(BatchNorm(axis=1), x, np.ones(5), b, rm, rv)
    with pytest.raises(
        ValueError,
        match=r"expected running_var of shape \(3,\) for input shape \(None, 3, 5\) and "
        r"axis 1, got \(2,\)",
    ):
        BatchNorm(axis=1).infer_shape((None, 3, 5), (3,), (3,), (3,), (2,))
    with pytest.raises(ValueError, match=r"BatchNorm: axis 3 is out of range for an input of rank 3"):
        run_op(BatchNorm(axis=3), x, g, b, rm, rv)
    with pytest.raises(ValueError, match=r"BatchNorm: axis -4 is out of range for an input of rank 3"):
        BatchNorm(axis=-4).infer_shape((None, 3, 5), (3,), (3,), (3,), (3,))
    with pytest.raises(TypeError, match=r"BatchNorm: expected a float32 or float64 input, got dtype int64"):
        run_op(BatchNorm(axis=1), np.ones((4, 3, 5), np.int64), g, b, rm, rv)
    with pytest.raises(TypeError, match=r"BatchNorm: expected a float32 or float64 gamma, got dtype int64"):
        run_op(BatchNorm(axis=1), x, np.ones(3, np.int64), b, rm, rv)
    with pytest.raises(
        TypeError,
        match=r"BatchNorm: running_mean must have the input's dtype float64 to be updated "
        r"in place, got float32",
    ):
        run_op(BatchNorm(axis=1), x, g, b, rm.astype(np.float32), rv, training=True)
    with pytest.raises(ValueError, match=r"BatchNorm: momentum must be in \[0.0, 1.0\], got 1.5"):
        BatchNorm(momentum=1.5)
    with pytest.raises(ValueError, match=r"BatchNorm: epsilon must be in \[0.0, None\], got -1.0"):
        BatchNorm(epsilon=-1.0)
    with pytest.raises(TypeError, match=r"BatchNorm: axis must be an int, got 'channels'"):
        BatchNorm(axis="channels")
    with pytest.raises(
        ValueError, match=r"BatchNorm: activation must be None, 'linear' or 'relu', got 'tanh'"
    ):
        BatchNorm(activation="tanh")
    # inference with float32 running stats and a float64 input is fine (they are only read)
    y, _ = run_op(BatchNorm(axis=1), x, g, b, rm.astype(np.float32), rv.astype(np.float32))
    assert y.dtype == np.float64


@pytest.mark.parametrize("shape,axis", [((5, 3, 4, 3), 1), ((7, 5), -1), ((3, 4, 5, 3), -1)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_fused_relu(shape, axis, training, rng):
    ins = _bn_inputs(rng, shape, axis)
    op = BatchNorm(axis=axis, activation="relu")
    y, _ = run_op(op, *[a.copy() for a in ins], training=training)
    ref, _, _ = _bn_naive(*ins, axis, 1e-3, 0.99, training)
    assert_close(y, np.maximum(ref, 0), rtol=1e-11, atol=1e-12)
    assert (y == 0).any() and (y > 0).any()
    check_grad(op, ins, training=training)
    # float32: the fused op equals BatchNorm followed by Relu, forward and backward
    from zoo.engine.ops.activation import Relu

    x32 = [a.astype(np.float32) for a in ins]
    gy = rng.normal(size=shape).astype(np.float32)
    y1, c1 = run_op(op, *[a.copy() for a in x32], training=training)
    g1 = op.backward(c1, gy)
    plain, relu = BatchNorm(axis=axis), Relu()
    z, c2 = run_op(plain, *[a.copy() for a in x32], training=training)
    y2, c3 = run_op(relu, z)
    g2 = plain.backward(c2, relu.backward(c3, gy)[0])
    np.testing.assert_array_equal(y1, y2)
    for a, b in zip(g1[:3], g2[:3]):
        assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_batch_norm_config():
    op = BatchNorm(axis=-1, epsilon=1e-5, momentum=0.9)
    clone = from_config("batch_norm", op.get_config())
    assert clone.get_config() == {"axis": -1, "epsilon": 1e-5, "momentum": 0.9, "activation": None}
    assert from_config("batch_norm", BatchNorm(activation="relu").get_config()).activation == "relu"
    assert BatchNorm.nondiff_inputs == (3, 4)


# ---- dropout -----------------------------------------------------------------------------------


def _dropout_naive(x, mask, rate):
    return np.where(mask, np.asarray(x, np.float64) / (1 - rate), 0.0)


def test_dropout_inference_is_identity(rng):
    x = rng.normal(size=(5, 7))
    y, ctx = run_op(Dropout(0.5), x, training=False)
    assert y is x
    gy = rng.normal(size=(5, 7))
    assert Dropout(0.5).backward(ctx, gy)[0] is gy
    y, _ = run_op(Dropout(0.0), x, training=True)
    assert y is x


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_dropout_training(rate, rng):
    x = rng.normal(size=(1000, 1001)).astype(np.float32) + 5  # no zeros in x
    op = Dropout(rate)
    y, ctx = run_op(op, x, training=True, seed=7)
    kept = y != 0
    frac = kept.mean()
    assert abs(frac - (1 - rate)) < 5 * np.sqrt(rate * (1 - rate) / x.size)  # 5 sigma
    assert_close(y, _dropout_naive(x, kept, rate), rtol=1e-6)
    # no visible structure: blocks, rows and columns all keep about 1 - rate
    for part in (kept[:500], kept[500:], kept[:, ::2], kept[:, 1::2], kept[::7]):
        assert abs(part.mean() - (1 - rate)) < 6 * np.sqrt(rate * (1 - rate) / part.size)
    pair = (kept[:, :-1] & kept[:, 1:]).mean()  # neighbours independent
    assert abs(pair - (1 - rate) ** 2) < 6 * np.sqrt(
        (1 - rate) ** 2 * (1 - (1 - rate) ** 2) / kept[:, 1:].size
    )
    gy = rng.normal(size=x.shape).astype(np.float32)
    dx = op.backward(ctx, gy)[0]
    assert_close(dx, _dropout_naive(gy, kept, rate), rtol=1e-6)


def test_dropout_reproducible(rng):
    x = rng.normal(size=(37, 41)) + 5
    a, _ = run_op(Dropout(0.3), x, training=True, seed=11)
    b, _ = run_op(Dropout(0.3), x, training=True, seed=11)
    c, _ = run_op(Dropout(0.3), x, training=True, seed=12)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a != 0, c != 0)
    # float32 and float64 draw the same mask from the same seed
    d, _ = run_op(Dropout(0.3), x.astype(np.float32), training=True, seed=11)
    np.testing.assert_array_equal(d != 0, a != 0)
    # successive calls draw new masks
    op = Dropout(0.3)
    from zoo.engine.ops.base import Ctx

    ctx = Ctx("d", training=True, seed=5, n_inputs=1)
    m1 = op.forward(ctx, x) != 0
    m2 = op.forward(ctx, x) != 0
    assert not np.array_equal(m1, m2)


def test_dropout_grad(rng):
    check_grad(Dropout(0.4), [rng.normal(size=(5, 7, 3))], training=True, seed=3)
    check_grad(Dropout(0.4, noise_shape=(None, None, 1)), [rng.normal(size=(5, 7, 3))], training=True, seed=3)
    check_grad(Dropout(0.4), [rng.normal(size=(5, 7, 3))], training=False)


def test_spatial_dropout_drops_whole_channels(rng):
    x = rng.normal(size=(8, 16, 5, 5)) + 10
    op = Dropout(0.5, noise_shape=(None, None, 1, 1))
    y, ctx = run_op(op, x, training=True, seed=2)
    kept = (y != 0).reshape(8, 16, 25)
    assert np.all(kept.all(axis=2) | (~kept).all(axis=2))
    assert 0 < kept[:, :, 0].mean() < 1
    ch = kept[:, :, 0][:, :, None, None]
    assert_close(y, np.where(ch, x * 2, 0), rtol=1e-14)
    gy = rng.normal(size=x.shape)
    assert_close(op.backward(ctx, gy)[0], np.where(ch, gy * 2, 0), rtol=1e-14)
    assert Dropout(0.5, noise_shape=(None, None, 1, 1)).infer_shape((None, 16, 5, 5)) == (None, 16, 5, 5)


def test_dropout_threads_bitwise(rng):
    x = rng.normal(size=(300, 1001)).astype(np.float32)
    gy = rng.normal(size=x.shape).astype(np.float32)

    def run():
        op = Dropout(0.3)
        y, ctx = run_op(op, x, training=True, seed=4)
        return y.copy(), op.backward(ctx, gy)[0].copy()

    check_threads(run, exact=True)


def test_dropout_kernel_mask_matches_forward(rng):
    x = rng.normal(size=70001) + 5
    y, mask = np.empty_like(x), np.empty(x.shape, np.uint8)
    K.dropout_forward(x, 0.25, 123456789, y, mask)
    m = K.dropout_mask(np.empty_like(x), 0.25, 123456789)
    np.testing.assert_array_equal(mask.astype(bool), m != 0)
    assert_close(m[mask.astype(bool)], np.full(int(mask.sum()), 1 / 0.75), rtol=1e-15)
    dx = np.ones_like(x)
    K.dropout_backward(x, mask, 0.25, dx, accumulate=True)
    assert_close(dx, 1 + np.where(mask, x / 0.75, 0), rtol=1e-14)


def test_dropout_bad_inputs(rng):
    for rate in (1.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"Dropout: rate must be a number in \[0, 1\), got"):
            Dropout(rate)
    with pytest.raises(
        ValueError, match=r"Dropout: noise_shape must hold positive ints or None, got \(0, 1\)"
    ):
        Dropout(0.5, noise_shape=(0, 1))
    with pytest.raises(
        ValueError,
        match=r"Dropout: noise_shape \(None, 3\) does not broadcast to input shape "
        r"\(None, 4\)",
    ):
        Dropout(0.5, noise_shape=(None, 3)).infer_shape((None, 4))
    with pytest.raises(
        ValueError, match=r"Dropout: noise_shape \(None, 1\) has rank 2, expected the input's rank 3"
    ):
        run_op(Dropout(0.5, noise_shape=(None, 1)), np.ones((2, 3, 4)), training=True)
    with pytest.raises(TypeError, match=r"Dropout: expected a float32 or float64 input, got dtype int64"):
        run_op(Dropout(0.5), np.ones((2, 3), np.int64), training=True)
    x = np.ones(5)
    with pytest.raises(ValueError, match=r"dropout_forward: rate must be in \[0, 1\), got 1.0"):
        K.dropout_forward(x, 1.0, 1, np.empty(5), np.empty(5, np.uint8))
    with pytest.raises(
        ValueError, match=r"dropout_forward: expected a C-contiguous uint8 mask of shape \(5,\)"
    ):
        K.dropout_forward(x, 0.5, 1, np.empty(5), np.empty(5, np.int8))
    with pytest.raises(ValueError, match=r"dropout_forward: key must be an int in \[0, 2\*\*64\)"):
        K.dropout_forward(x, 0.5, -1, np.empty(5), np.empty(5, np.uint8))


def test_dropout_config():
    op = Dropout(0.25, noise_shape=(None, None, 1, 1))
    clone = from_config("dropout", op.get_config())
    assert clone.rate == 0.25 and clone.noise_shape == (None, None, 1, 1)


# ---- LRN ---------------------------------------------------------------------------------------


def _lrn_naive(x, size, alpha, beta, k, axis=1):
    x = np.moveaxis(np.asarray(x, np.float64), axis, 1)
    c = x.shape[1]
    pre = (size - 1) // 2
    y = np.empty_like(x)
    for ch in range(c):
        lo, hi = max(0, ch - pre), min(c, ch - pre + size)
        s = (x[:, lo:hi] ** 2).sum(axis=1)
        y[:, ch] = x[:, ch] / (k + alpha / size * s) ** beta
    return np.moveaxis(y, 1, axis)


@pytest.mark.parametrize(
    "size,alpha,beta,k",
    [(5, 1.0, 0.75, 1.0), (3, 0.5, 0.75, 2.0), (4, 1e-2, 0.6, 1.0), (1, 1.0, 0.5, 1.0), (9, 1.0, 0.75, 1.0)],
)
def test_lrn(size, alpha, beta, k, rng):
    x = rng.normal(size=(2, 7, 3, 5))
    op = LRN(size, alpha, beta, k)
    y, _ = run_op(op, x)
    assert_close(y, _lrn_naive(x, size, alpha, beta, k), rtol=1e-12)
    check_grad(op, [x])
    x2 = rng.normal(size=(5, 4, 6))
    op2 = LRN(size, alpha, beta, k, axis=-1)
    assert_close(run_op(op2, x2)[0], _lrn_naive(x2, size, alpha, beta, k, axis=-1), rtol=1e-12)
    check_grad(op2, [x2])


def test_lrn_tf_parity(rng, tf):
    x = rng.normal(size=(2, 9, 4, 5)).astype(np.float32)
    r, alpha, beta, k = 2, 1e-1, 0.75, 2.0
    size = 2 * r + 1
    y, _ = run_op(LRN(size, alpha * size, beta, k), x)
    ref = tf.nn.local_response_normalization(
        np.transpose(x, (0, 2, 3, 1)), depth_radius=r, bias=k, alpha=alpha, beta=beta
    )
    assert_close(y, np.transpose(ref, (0, 3, 1, 2)), rtol=1e-5, atol=1e-6)


def test_lrn_bad_inputs():
    with pytest.raises(ValueError, match=r"LRN: size must be a positive int, got 0"):
        LRN(0)
    with pytest.raises(ValueError, match=r"LRN: beta must be a finite number, got inf"):
        LRN(5, beta=float("inf"))
    with pytest.raises(ValueError, match=r"LRN: axis 4 is out of range for an input of rank 4"):
        LRN(axis=4).infer_shape((None, 3, 4, 4))
    with pytest.raises(TypeError, match=r"LRN: expected a float32 or float64 input, got dtype int64"):
        run_op(LRN(), np.ones((1, 3, 2, 2), np.int64))
