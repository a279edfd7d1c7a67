"""autograd: every function against numpy and finite differences; Lambda, Parameter, CustomLoss."""

import numpy as np
import pytest

import zoo.autograd as A
from tests.harness import assert_close
from zoo.engine import graph as G
from zoo.engine.graph import Executor, Graph
from zoo.keras.layers import Dense, Flatten, Input
from zoo.keras.models import Model


def run_graph(fn, arrays, r=None):
    """Build fn over float64 inputs; return (output, input gradients of sum(y * r))."""
    ins = [G.input((None,) + a.shape[1:], dtype=np.float64) for a in arrays]
    out = fn(*ins)
    exe = Executor(Graph(ins, [out]))
    y = np.array(exe.forward(list(arrays))[0], copy=True)
    if r is None:
        r = np.random.default_rng(3).standard_normal(y.shape)
    grads = exe.backward([r], input_grads=True)
    return y, grads, r


def check_graph_grad(fn, arrays, eps=1e-6, rtol=1e-5, atol=1e-7):
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    y, grads, r = run_graph(fn, arrays)
    for i, a in enumerate(arrays):
        num = np.zeros_like(a)
        for j in range(a.size):
            plus = [v.copy() for v in arrays]
            minus = [v.copy() for v in arrays]
            plus[i].reshape(-1)[j] += eps
            minus[i].reshape(-1)[j] -= eps
            num.reshape(-1)[j] = (np.sum(run_graph(fn, plus, r)[0] * r) - np.sum(run_graph(fn, minus, r)[0] * r)) / (
                2 * eps)
        g = np.zeros_like(a) if grads[i] is None else grads[i]  # None: not differentiable (zero a.e.)
        np.testing.assert_allclose(g, num, rtol=rtol, atol=atol, err_msg=f"input {i}")
    return y


rng = np.random.default_rng(0)
X = rng.standard_normal((3, 4, 5))
P = np.abs(X) + 0.5
Y = rng.standard_normal((3, 4, 5))

UNARY = [
    ("mean0", lambda x: A.mean(x, axis=0), lambda x: x.mean(0), X),
    ("mean-1k", lambda x: A.mean(x, axis=-1, keepDims=True), lambda x: x.mean(-1, keepdims=True), X),
    ("sum1", lambda x: A.sum(x, axis=1), lambda x: x.sum(1), X),
    ("sum_keepdims", lambda x: A.sum(x, axis=2, keepdims=True), lambda x: x.sum(2, keepdims=True), X),
    ("abs", A.abs, np.abs, X),
    ("square", A.square, np.square, X),
    ("sqrt", A.sqrt, np.sqrt, P),
    ("exp", A.exp, np.exp, X),
    ("log", A.log, np.log, P),
    ("pow", lambda x: A.pow(x, 3.0), lambda x: x ** 3, X),
    ("neg", A.neg, np.negative, X),
    ("clip", lambda x: A.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), X),
    ("maximum_scalar", lambda x: A.maximum(x, 0.1), lambda x: np.maximum(x, 0.1), X),
    ("minimum_scalar", lambda x: A.minimum(x, 0.1), lambda x: np.minimum(x, 0.1), X),
    ("softsign", A.softsign, lambda x: x / (1 + np.abs(x)), X),
    ("softplus", A.softplus, lambda x: np.log1p(np.exp(x)), X),
    ("erf", A.erf, None, X),
    ("sigmoid", A.sigmoid, lambda x: 1 / (1 + np.exp(-x)), X),
    ("tanh", A.tanh, np.tanh, X),
    ("relu", A.relu, lambda x: np.maximum(x, 0), X),
    ("softmax", A.softmax, lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True), X),
    ("log_softmax", A.log_softmax, lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True)), X),
    ("l2_normalize", lambda x: A.l2_normalize(x, axis=1),
     lambda x: x / np.sqrt(np.maximum((x ** 2).sum(1, keepdims=True), 1e-12)), X),
    ("expand_dims", lambda x: A.expand_dims(x, 1), lambda x: x[:, None], X),
    ("squeeze", lambda x: A.squeeze(A.expand_dims(x, 2), 2), lambda x: x, X),
    ("reshape", lambda x: A.reshape(x, (5, 4)), lambda x: x.reshape(3, 5, 4), X),
    ("transpose", lambda x: A.transpose(x, (0, 2, 1)), lambda x: x.transpose(0, 2, 1), X),
    ("contiguous", A.contiguous, lambda x: x, X),
    ("epsilon", lambda x: x + A.epsilon(), lambda x: x + 1e-7, X),
    ("ops", lambda x: (2.0 - x) * 3.0 / (x * x + 1.0) + -x ** 2, lambda x: (2 - x) * 3 / (x * x + 1) - x ** 2, X),
    ("rdiv", lambda x: 1.0 / x, lambda x: 1 / x, P),
    ("getitem", lambda x: x[:, 1:3, ::2], lambda x: x[:, 1:3, ::2], X),
    ("slice", lambda x: x.slice(1, 1, 2), lambda x: x[:, 1:3], X),
    ("index_select", lambda x: x.index_select(2, -1), lambda x: x[:, :, -1], X),
]


@pytest.mark.parametrize("name,fn,ref,x", UNARY, ids=[u[0] for u in UNARY])
def test_unary(name, fn, ref, x):
    y = check_graph_grad(fn, [x])
    if ref is not None:
        assert_close(y, ref(x), rtol=1e-10, atol=1e-12)
    else:
        from scipy.special import erf

        assert_close(y, erf(x), rtol=1e-10, atol=1e-12)


BINARY = [
    ("add", lambda a, b: a + b, np.add),
    ("sub", lambda a, b: a - b, np.subtract),
    ("mul", lambda a, b: a * b, np.multiply),
    ("div", lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1)),
    ("maximum", A.maximum, np.maximum),
    ("minimum", A.minimum, np.minimum),
    ("where", lambda a, b: A.where(A.greater(a, b), a, b), lambda a, b: np.where(a > b, a, b)),
    ("stack", lambda a, b: A.stack([a, b], axis=1), lambda a, b: np.stack([a, b], 1)),
    ("concat", lambda a, b: A.concat([a, b], axis=-1), lambda a, b: np.concatenate([a, b], -1)),
    ("mm", lambda a, b: A.mm(a, b, axes=(2, 2)), lambda a, b: a @ b.transpose(0, 2, 1)),
    ("mm_01", lambda a, b: A.mm(a, b, axes=(1, 1)), lambda a, b: a.transpose(0, 2, 1) @ b),
    ("batch_dot3", lambda a, b: A.batch_dot(a, b, axes=(2, 2)), lambda a, b: a @ b.transpose(0, 2, 1)),
    ("matmul", lambda a, b: A.matmul(a, b, transpose_b=True), lambda a, b: a @ b.transpose(0, 2, 1)),
    ("compare_mask", lambda a, b: a * A.less(a, b), lambda a, b: a * (a < b)),
]


@pytest.mark.parametrize("name,fn,ref", BINARY, ids=[b[0] for b in BINARY])
def test_binary(name, fn, ref):
    y = check_graph_grad(fn, [X, Y])
    assert_close(y, ref(X, Y), rtol=1e-10, atol=1e-12)


def test_broadcasting_non_batch_axes():
    b = rng.standard_normal((3, 1, 5))
    y = check_graph_grad(lambda p, q: p * q + q, [X, b])
    assert_close(y, X * b + b, rtol=1e-12)


def test_batch_dot_2d_normalize():
    a, b = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    y = check_graph_grad(lambda p, q: A.batch_dot(p, q, axes=1, normalize=True), [a, b])
    cos = (a * b).sum(1, keepdims=True) / np.linalg.norm(a, axis=1, keepdims=True) / np.linalg.norm(b, axis=1,
                                                                                                    keepdims=True)
    assert_close(y, cos, rtol=1e-10)


def test_seed_transfer_learning_snippet():
    inp = Input((2, 3, 3))
    flatten = Flatten()(inp)
    out = Dense(2)(A.Lambda(function=lambda x: x + 1.0)(flatten))
    model = Model(inp, out)
    x = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    w, b = model.get_layer(out.node.tag.name).get_weights()
    assert_close(model.predict(x), (x.reshape(4, -1) + 1) @ w + b, rtol=1e-5)


def test_contrastive_model_trains():
    from zoo.keras import backend

    backend.set_seed(11)
    r = np.random.default_rng(21)
    x, y = Input((8,)), Input((8,))
    tower = Dense(4, activation="tanh")
    cos = A.Lambda(lambda a, b: A.batch_dot(a, b, axes=1, normalize=True))([tower(x), tower(y)])
    margin = 0.5
    loss = A.CustomLoss(lambda t, p: A.mean(t * A.square(1.0 - p) + (1.0 - t) * A.square(A.maximum(p - margin, 0.0)),
                                            axis=1), y_pred_shape=(1,))
    model = Model([x, y], cos)
    model.compile("adam", loss)
    a = r.standard_normal((400, 8)).astype(np.float32)
    same = r.integers(0, 2, 400)
    b = np.where(same[:, None] == 1, a + 0.05 * r.standard_normal((400, 8)), r.standard_normal((400, 8)))
    hist = model.fit([a, b.astype(np.float32)], same[:, None].astype(np.float32), batch_size=32, epochs=15, verbose=0)
    assert hist.history["loss"][-1] < 0.7 * hist.history["loss"][0], hist.history["loss"]


def test_parameter_learns_a_scale():
    p = A.Parameter((1,), init_weight=np.array([0.5]))
    inp = Input((3,))
    model = Model(inp, A.Lambda(lambda v: v * p)(inp))
    model.compile("sgd", "mse")
    x = rng.standard_normal((200, 3)).astype(np.float32)
    model.fit(x, 3 * x, epochs=30, batch_size=20, verbose=0)
    assert abs(p.get_weight()[0] - 3.0) < 0.05
    p.set_weight([2.0])
    assert_close(model.predict(x[:2]), 2 * x[:2], rtol=1e-6)


def test_constant_and_custom_loss_value():
    c = A.Constant(np.array([1.0, 2.0, 3.0]))
    inp = Input((3,))
    model = Model(inp, A.Lambda(lambda v: v * c)(inp))
    x = rng.standard_normal((5, 3)).astype(np.float32)
    assert_close(model.predict(x), x * np.array([1, 2, 3], np.float32), rtol=1e-6)
    loss = A.CustomLoss(lambda t, p: A.mean(A.abs(t - p), axis=1), y_pred_shape=(3,))
    t = rng.standard_normal((5, 3)).astype(np.float32)
    assert loss(x, t) == pytest.approx(float(np.abs(t - x).mean()), rel=1e-6)
    assert loss.forward(t, x) == pytest.approx(float(np.abs(t - x).mean()), rel=1e-6)


def test_parity_with_tensorflow(tf):
    a = rng.standard_normal((4, 5)).astype(np.float32)
    b = rng.standard_normal((4, 5)).astype(np.float32)
    y, grads, r = run_graph(lambda p, q: A.log(A.exp(p) + A.square(q)) * A.sigmoid(p - q) / (A.abs(q) + 1.0),
                            [a.astype(np.float64), b.astype(np.float64)])
    ta, tb = tf.constant(a.astype(np.float64)), tf.constant(b.astype(np.float64))
    with tf.GradientTape() as tape:
        tape.watch([ta, tb])
        ty = tf.math.log(tf.exp(ta) + tf.square(tb)) * tf.sigmoid(ta - tb) / (tf.abs(tb) + 1.0)
        s = tf.reduce_sum(ty * r)
    ga, gb = tape.gradient(s, [ta, tb])
    assert_close(y, ty.numpy(), rtol=1e-10)
    assert_close(grads[0], ga.numpy(), rtol=1e-10)
    assert_close(grads[1], gb.numpy(), rtol=1e-10)


def test_shape_mismatch_in_lambda_names_lambda_op_and_shapes():
    inp = Input((3,))
    with pytest.raises(ValueError, match=r"Lambda 'bad': Add 'bad/add_\d+': shapes \(None, 3\) and \(1, 4\)"):
        A.Lambda(lambda v: v + A.Constant(np.ones((1, 4))), name="bad")(inp)
    with pytest.raises(ValueError, match=r"Lambda 'bad2'.*MatMul"):
        A.Lambda(lambda v: A.mm(v, v), name="bad2")(Input((3, 4)))


def test_lambda_list_argument_and_output_shape_check():
    x, y = Input((3,)), Input((3,))
    assert A.Lambda(lambda xs: xs[0] - xs[1])([x, y]).shape == (None, 3)
    with pytest.raises(ValueError, match="output_shape"):
        A.Lambda(lambda v: v * 2.0, output_shape=(4,), name="o")(x)


def test_save_and_load_lambda_and_custom_loss(tmp_path):
    from zoo.keras.models import load_model

    inp = Input((3,))
    out = Dense(2)(A.Lambda(lambda x: A.square(x) + 1.0)(inp))
    model = Model(inp, out)
    model.compile("sgd", A.CustomLoss(lambda t, p: A.mean(A.abs(t - p), axis=1), y_pred_shape=(2,)))
    x = rng.standard_normal((6, 3)).astype(np.float32)
    t = rng.standard_normal((6, 2)).astype(np.float32)
    model.fit(x, t, epochs=1, verbose=0)
    path = str(tmp_path / "lambda.zip")
    model.save(path)
    with pytest.raises(ValueError, match="safe_mode=False"):
        load_model(path)
    loaded = load_model(path, safe_mode=False)
    assert_close(loaded.predict(x), model.predict(x), rtol=1e-6)
    assert loaded.evaluate(x, t) == pytest.approx(model.evaluate(x, t), rel=1e-6)


def test_plain_function_as_loss():
    inp = Input((3,))
    model = Model(inp, Dense(2)(inp))
    model.compile("sgd", lambda t, p: A.mean(A.square(t - p), axis=1))
    x = rng.standard_normal((16, 3)).astype(np.float32)
    t = rng.standard_normal((16, 2)).astype(np.float32)
    value = model.evaluate(x, t)
    assert value == pytest.approx(float(((model.predict(x) - t) ** 2).mean()), rel=1e-5)


def test_analytics_zoo_import_path():
    from zoo.pipeline.api import autograd as legacy

    assert legacy.mean is A.mean and legacy.Lambda is A.Lambda and legacy.CustomLoss is A.CustomLoss


def test_functional_model_parity_with_tf_keras(tf):
    """Dense -> autograd expression -> Dense in zoo and tf.keras: same weights, same outputs and gradients."""
    x = rng.standard_normal((8, 5)).astype(np.float32)
    inp = Input((5,))
    d1, d2 = Dense(4), Dense(3)
    h = d1(inp)
    mid = A.Lambda(lambda v: A.log(A.exp(v) + 1.0) * A.sigmoid(v) - A.mean(v, axis=1, keepDims=True))(h)
    model = Model(inp, d2(mid))

    tl = tf.keras.layers
    tinp = tf.keras.Input((5,))
    td1, td2 = tl.Dense(4), tl.Dense(3)
    th = td1(tinp)
    tmid = tl.Lambda(lambda v: tf.math.log(tf.exp(v) + 1.0) * tf.sigmoid(v) - tf.reduce_mean(v, 1, keepdims=True))(th)
    tmodel = tf.keras.Model(tinp, td2(tmid))
    td1.set_weights(d1.get_weights())
    td2.set_weights(d2.get_weights())

    exe = Executor(model.graph)
    y = exe.forward([x])[0].copy()
    r = rng.standard_normal(y.shape).astype(np.float32)
    gx = exe.backward([r], input_grads=True)[0]
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        ty = tmodel(tx)
        s = tf.reduce_sum(ty * r)
    tgx, *tgw = tape.gradient(s, [tx] + tmodel.trainable_weights)
    assert_close(y, ty.numpy(), rtol=1e-5, atol=1e-6)
    assert_close(gx, tgx.numpy(), rtol=1e-4, atol=1e-5)
    zoo_grads = [p.grad for layer in (d1, d2) for p in layer.weights]
    for g, tg in zip(zoo_grads, tgw):
        assert_close(g, tg.numpy(), rtol=1e-4, atol=1e-5)


def test_parameter_config_keeps_its_initializer():
    from zoo.keras import backend, initializers

    backend.set_seed(3)
    p = A.Parameter((3, 4), init_method=initializers.RandomNormal(stddev=2.0), name="scale")
    cfg = p.get_config()
    assert cfg["init_method"]["class_name"] == "RandomNormal" and cfg["init_method"]["config"]["stddev"] == 2.0
    backend.set_seed(3)
    q = A.Parameter.from_config({**cfg, "name": "scale2"})
    np.testing.assert_array_equal(q.get_weight(), p.get_weight())
