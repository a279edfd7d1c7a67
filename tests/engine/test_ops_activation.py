import math

import numpy as np
import pytest

from tests.harness import assert_close, check_grad, check_threads, run_op
from zoo.engine import graph as G
from zoo.engine.graph import Executor, Graph, Parameter
from zoo.engine.kernels import act as K
from zoo.engine.ops import activation as A
from zoo.engine.ops.base import from_config

_erfc = np.vectorize(math.erfc)
SQ2PI = math.sqrt(2 / math.pi)


def _sig(x):
    return 1 / (1 + np.exp(-x))


# plain numpy references in float64 ------------------------------------------------------------
def _naive(kind, x, **p):
    x = np.asarray(x, dtype=np.float64)
    if kind == "linear":
        return x.copy()
    if kind == "relu":
        return np.maximum(x, 0)
    if kind == "leaky_relu":
        return np.where(x > 0, x, p.get("alpha", 0.2) * x)
    if kind == "elu":
        return np.where(x > 0, x, p.get("alpha", 1.0) * np.expm1(x))
    if kind == "selu":
        return A.SELU_SCALE * np.where(x > 0, x, A.SELU_ALPHA * np.expm1(x))
    if kind == "gelu":
        if p.get("approximate", False):  # x/2 (1 + tanh u) = x sigmoid(2u) without the cancellation at x << 0
            with np.errstate(over="ignore"):
                return x * _sig(2 * SQ2PI * (x + 0.044715 * x**3))
        return 0.5 * x * _erfc(-x / math.sqrt(2))
    if kind == "sigmoid":
        return _sig(x)
    if kind == "hard_sigmoid":
        return np.clip(p.get("slope", 1 / 6) * x + p.get("offset", 0.5), 0, 1)
    if kind == "tanh":
        return np.tanh(x)
    if kind == "softplus":
        return np.logaddexp(0, x)
    if kind == "softsign":
        return x / (1 + np.abs(x))
    if kind in ("swish", "silu"):
        return x * _sig(x)
    if kind == "relu6":
        return np.clip(x, 0, 6)
    if kind in ("hard_swish", "hard_silu"):
        return x * np.clip(p.get("slope", 1 / 6) * x + p.get("offset", 0.5), 0, 1)
    if kind == "exponential":
        return np.exp(x)
    raise AssertionError(kind)


def _softmax_naive(x, axis):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax_naive(x, axis):
    x = np.asarray(x, dtype=np.float64)
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


CASES = [
    ("linear", {}),
    ("relu", {}),
    ("leaky_relu", {}),
    ("leaky_relu", {"alpha": 0.3}),
    ("leaky_relu", {"alpha": -0.5}),
    ("elu", {}),
    ("elu", {"alpha": 0.7}),
    ("elu", {"alpha": -0.4}),
    ("selu", {}),
    ("gelu", {}),
    ("gelu", {"approximate": True}),
    ("sigmoid", {}),
    ("hard_sigmoid", {}),
    ("hard_sigmoid", {"slope": 0.2}),
    ("tanh", {}),
    ("softplus", {}),
    ("softsign", {}),
    ("swish", {}),
    ("silu", {}),
    ("relu6", {}),
    ("hard_swish", {}),
    ("hard_silu", {}),
    ("exponential", {}),
]
IDS = [k + "".join(f"-{a}={v}" for a, v in p.items()) for k, p in CASES]


def _x(rng, shape, scale=3.0):
    """Inputs spread over the interesting ranges, away from the kinks where central differences fail."""
    x = rng.normal(scale=scale, size=shape)
    for kink in (0.0, 3.0, -3.0, 6.0, -2.5, 2.5):
        near = np.abs(x - kink) < 1e-3
        x[near] += 0.01
    return x


@pytest.mark.parametrize("kind,params", CASES, ids=IDS)
def test_activation_forward_matches_numpy(kind, params, rng):
    x = _x(rng, (3, 7, 5))
    x = np.concatenate([x.ravel(), [0.0, -0.0, 1e-7, -1e-7, 20.0, -20.0, 80.0, -80.0]])
    ref = _naive(kind, x, **params)
    y64, _ = run_op(A.Activation(kind, **params), x)
    assert y64.dtype == np.float64
    assert_close(y64, ref, rtol=1e-12, atol=1e-300)
    x32 = x.astype(np.float32)
    y32, _ = run_op(A.Activation(kind, **params), x32)
    assert y32.dtype == np.float32
    ref32 = _naive(kind, x32.astype(np.float64), **params)
    # float32: within a few ulp where the function is well conditioned
    assert_close(y32, ref32.astype(np.float32), rtol=1e-6, atol=3e-7 if kind == "gelu" else 1e-30)


@pytest.mark.parametrize("kind,params", CASES, ids=IDS)
def test_activation_grad(kind, params, rng):
    x = _x(rng, (3, 7, 5))
    check_grad(A.Activation(kind, **params), [x])
    check_grad(A.Activation(kind, **params), [_x(rng, (1,))])


@pytest.mark.parametrize("kind,params", CASES, ids=IDS)
def test_activation_float32_backward(kind, params, rng):
    """The float32 derivative agrees with the float64 one."""
    x = _x(rng, (11, 13)).astype(np.float32)
    gy = rng.normal(size=x.shape).astype(np.float32)
    outs = []
    for dt in (np.float32, np.float64):
        op = A.Activation(kind, **params)
        _, ctx = run_op(op, x.astype(dt))
        outs.append(op.backward(ctx, gy.astype(dt))[0])
    assert outs[0].dtype == np.float32
    assert_close(outs[0], outs[1], rtol=2e-6, atol=1e-6)


def test_named_classes_and_registry():
    assert isinstance(A.Relu(), A.Activation) and A.Relu().kind == "relu"
    assert A.LeakyRelu(alpha=0.3).params == {"alpha": 0.3}
    assert A.get("silu").kind == "swish" and A.get("hard_silu").kind == "hard_swish"
    assert isinstance(A.get("softmax"), A.Softmax) and isinstance(A.get("log_softmax"), A.LogSoftmax)
    assert A.get(None).kind == "linear"
    op = A.Elu(0.5)
    assert A.get(op) is op
    for name in (
        "relu",
        "sigmoid",
        "tanh",
        "softmax",
        "elu",
        "selu",
        "gelu",
        "softplus",
        "softsign",
        "swish",
        "silu",
        "hard_sigmoid",
        "relu6",
        "linear",
        "log_softmax",
        "leaky_relu",
    ):
        op = A.get(name)
        assert A.name(op) == {"silu": "swish"}.get(name, name)
        clone = from_config(op.type_name, op.get_config())
        assert type(clone) is type(op) and clone.get_config() == op.get_config()
    g = from_config("activation", {"kind": "gelu", "approximate": True})
    assert g.kind == "gelu" and g.params == {"approximate": True}
    assert repr(A.HardSigmoid(slope=0.2)) == "HardSigmoid(slope=0.2, offset=0.5)"


def test_linear_is_identity_without_copy(rng):
    x = rng.normal(size=(4, 3))
    y, ctx = run_op(A.get("linear"), x)
    assert y is x
    gy = rng.normal(size=(4, 3))
    assert A.get("linear").backward(ctx, gy)[0] is gy


def test_hard_sigmoid_definitions(rng):
    x = np.linspace(-4, 4, 81)
    assert_close(
        run_op(A.HardSigmoid(), x)[0], np.minimum(np.maximum(x + 3, 0), 6) / 6, rtol=1e-15, atol=1e-16
    )
    assert_close(run_op(A.HardSigmoid(slope=0.2, offset=0.5), x)[0], np.clip(0.2 * x + 0.5, 0, 1), rtol=1e-15)


def test_special_values():
    x = np.array([np.inf, -np.inf, 1e30, -1e30, 100.0, -100.0, 89.0, -104.0, 0.0], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        for kind in (
            "sigmoid",
            "tanh",
            "softsign",
            "relu",
            "relu6",
            "hard_sigmoid",
            "elu",
            "selu",
            "exponential",
        ):
            y, _ = run_op(A.Activation(kind), x)
            ref = _naive(kind, x.astype(np.float64)).astype(np.float32)
            np.testing.assert_allclose(y, ref, rtol=1e-6, atol=0, err_msg=kind)
    y, _ = run_op(A.Sigmoid(), np.array([np.nan], np.float32))
    assert np.isnan(y[0])


def test_tf_parity(rng, tf):
    x = _x(rng, (9, 31)).astype(np.float32)
    pairs = [
        (A.Relu(), tf.nn.relu),
        (A.Elu(), tf.nn.elu),
        (A.Selu(), tf.nn.selu),
        (A.Gelu(), lambda v: tf.nn.gelu(v, approximate=False)),
        (A.Gelu(True), lambda v: tf.nn.gelu(v, approximate=True)),
        (A.Softplus(), tf.nn.softplus),
        (A.Softsign(), tf.nn.softsign),
        (A.Swish(), tf.nn.silu),
        (A.Sigmoid(), tf.nn.sigmoid),
        (A.Tanh(), tf.nn.tanh),
        (A.Relu6(), tf.nn.relu6),
        (A.LeakyRelu(), tf.nn.leaky_relu),
        (A.HardSigmoid(), tf.keras.activations.hard_sigmoid),
        (A.HardSwish(), tf.keras.activations.hard_silu),
        (A.Exponential(), tf.math.exp),
        (A.Elu(0.5), lambda v: tf.keras.activations.elu(v, alpha=0.5)),
    ]
    for op, fn in pairs:
        y, _ = run_op(op, x)
        assert_close(y, np.asarray(fn(tf.constant(x))), rtol=1e-5, atol=1e-6, err_msg=repr(op))
    for axis in (-1, 0):
        assert_close(run_op(A.Softmax(axis), x)[0], tf.nn.softmax(x, axis=axis), rtol=1e-5, atol=1e-7)
        assert_close(run_op(A.LogSoftmax(axis), x)[0], tf.nn.log_softmax(x, axis=axis), rtol=1e-5, atol=1e-5)


def test_tf_gradient_parity(rng, tf):
    """float32 backward against tf.GradientTape (in float64: TF's float32 gelu-tanh gradient cancels at x << 0)."""
    x = _x(rng, (7, 13)).astype(np.float32)
    gy = rng.normal(size=x.shape).astype(np.float32)
    pairs = [
        (A.Elu(), tf.nn.elu),
        (A.Gelu(), tf.nn.gelu),
        (A.Gelu(True), lambda v: tf.nn.gelu(v, approximate=True)),
        (A.Softplus(), tf.nn.softplus),
        (A.Swish(), tf.nn.silu),
        (A.Sigmoid(), tf.nn.sigmoid),
        (A.Tanh(), tf.nn.tanh),
        (A.Softmax(), tf.nn.softmax),
        (A.LogSoftmax(), tf.nn.log_softmax),
    ]
    for op, fn in pairs:
        xt = tf.constant(x.astype(np.float64))
        with tf.GradientTape() as tape:
            tape.watch(xt)
            yt = fn(xt)
        ref = tape.gradient(yt, xt, output_gradients=tf.constant(gy.astype(np.float64)))
        _, ctx = run_op(op, x)
        assert_close(op.backward(ctx, gy)[0], ref, rtol=1e-5, atol=1e-6, err_msg=repr(op))


# ---- BiasAct -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind,params",
    [
        ("linear", {}),
        ("relu", {}),
        ("elu", {}),
        ("gelu", {}),
        ("sigmoid", {}),
        ("tanh", {}),
        ("leaky_relu", {"alpha": 0.1}),
        ("swish", {}),
        ("softsign", {}),
        ("hard_sigmoid", {}),
    ],
)
@pytest.mark.parametrize(
    "shape,axis", [((3, 5, 4, 3), 1), ((7, 9), -1), ((2, 3, 5), -1), ((4, 3, 7), 1), ((5, 1), 1)]
)
def test_bias_act(kind, params, shape, axis, rng):
    x = _x(rng, shape)
    c = shape[axis]
    b = rng.normal(size=c)
    bshape = [1] * len(shape)
    bshape[axis] = c
    op = A.BiasAct(kind, axis=axis, **params)
    y, _ = run_op(op, x, b)
    assert_close(y, _naive(kind, x + b.reshape(bshape), **params), rtol=1e-12, atol=1e-14)
    check_grad(op, [x, b])
    check_grad(op, [x, b], wrt=[1])  # db alone
    check_grad(op, [x, b], wrt=[0])  # dx alone


def test_bias_act_float32_and_tf(rng, tf):
    x = rng.normal(size=(6, 8, 5, 7)).astype(np.float32)
    b = rng.normal(size=8).astype(np.float32)
    y, _ = run_op(A.BiasAct("relu", axis=1), x, b)
    ref = tf.nn.relu(tf.nn.bias_add(tf.constant(x), tf.constant(b), data_format="NCHW"))
    assert_close(y, ref, rtol=1e-6, atol=1e-7)
    x2 = rng.normal(size=(33, 17)).astype(np.float32)
    b2 = rng.normal(size=17).astype(np.float32)
    op = A.BiasAct("tanh", axis=-1)
    y2, ctx = run_op(op, x2, b2)
    assert_close(y2, tf.nn.tanh(x2 + b2), rtol=1e-5, atol=1e-6)
    gy = rng.normal(size=x2.shape).astype(np.float32)
    dx, db = op.backward(ctx, gy)
    dz = gy * (1 - np.tanh(x2.astype(np.float64) + b2) ** 2)
    assert_close(dx, dz, rtol=1e-5, atol=1e-6)
    assert_close(db, dz.sum(axis=0), rtol=1e-5, atol=1e-5)


def test_bias_act_graph(rng):
    """BiasAct inside a graph: parameter gradient reaches the flat buffer."""
    x = G.input((None, 3, 4, 5), name="x")
    b = Parameter("b", rng.normal(size=3))
    y = G.apply(A.BiasAct("relu", axis=1), [x, G.parameter(b)], name="ba")
    exe = Executor(Graph([x], [y]))
    xv = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    out = exe.forward([xv], training=True)[0]
    ref = np.maximum(xv + b.value.reshape(1, 3, 1, 1), 0)
    assert_close(out, ref, rtol=1e-6)
    exe.store.grad.fill(0)
    gy = np.ones_like(out)
    exe.backward([gy])
    assert_close(b.grad, (ref > 0).sum(axis=(0, 2, 3)).astype(np.float32), rtol=1e-6)


def test_kernel_accumulate_and_in_place(rng):
    x = rng.normal(size=(37, 11))
    b = rng.normal(size=11)
    dy = rng.normal(size=x.shape)
    y = K.act_forward(K.SIGMOID, x, b=b, lay=(37, 11, 1))
    dx = np.full_like(x, 2.0)
    db = np.full(11, 3.0)
    K.act_backward(K.SIGMOID, dy, dx, db, y=y, lay=(37, 11, 1), accumulate=True)
    dz = dy * y * (1 - y)
    assert_close(dx, 2.0 + dz, rtol=1e-12)
    assert_close(db, 3.0 + dz.sum(axis=0), rtol=1e-12)
    K.act_backward(K.SIGMOID, dy, dx, db, y=y, lay=(37, 11, 1))
    assert_close(dx, dz, rtol=1e-12)
    assert_close(db, dz.sum(axis=0), rtol=1e-12)
    # in place: out is x
    z = x.copy()
    K.act_forward(K.TANH, z, z)
    assert_close(z, np.tanh(x), rtol=1e-14)
    z = x.copy()  # in place with a bias vector (inner == 1) and with a bias per segment (inner > 1)
    K.act_forward(K.ELU, z, z, b=b, lay=(37, 11, 1), p0=1.0)
    assert_close(z, np.where(x + b > 0, x + b, np.expm1(x + b)), rtol=1e-14)
    z = x.copy()
    K.act_forward(K.SIGMOID, z, z, b=b[:1], lay=(1, 1, 37 * 11))
    assert_close(z, 1 / (1 + np.exp(-(x + b[0]))), rtol=1e-14)
    z = x.copy()
    K.softmax_forward(z, z)
    assert_close(z, _softmax_naive(x, -1), rtol=1e-13)
    z = x.copy()
    K.softmax_forward(z, z, log=True)
    assert_close(z, _log_softmax_naive(x, -1), rtol=1e-13)
    r = np.zeros_like(x)
    K.relu_backward(dy, np.maximum(x, 0), r)
    K.relu_backward(dy, np.maximum(x, 0), r)
    assert_close(r, 2 * np.where(x > 0, dy, 0), rtol=1e-15)
    assert_close(K.relu_forward(x), np.maximum(x, 0), rtol=0)


# ---- softmax -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,axis",
    [
        ((3, 7), -1),
        ((3, 7), 0),
        ((2, 5, 3, 3), 1),
        ((4, 3, 5), 1),
        ((1, 1), -1),
        ((3, 2, 70), 1),
        ((2, 3, 5), 2),
        ((5,), 0),
    ],
)
def test_softmax(shape, axis, rng):
    x = rng.normal(scale=2, size=shape)
    y, _ = run_op(A.Softmax(axis), x)
    assert_close(y, _softmax_naive(x, axis), rtol=1e-13, atol=1e-16)
    y, _ = run_op(A.LogSoftmax(axis), x)
    assert_close(y, _log_softmax_naive(x, axis), rtol=1e-13, atol=1e-14)
    check_grad(A.Softmax(axis), [x])
    check_grad(A.LogSoftmax(axis), [x])
    x32 = x.astype(np.float32)
    assert_close(run_op(A.Softmax(axis), x32)[0], _softmax_naive(x32, axis), rtol=1e-6, atol=1e-8)
    assert_close(run_op(A.LogSoftmax(axis), x32)[0], _log_softmax_naive(x32, axis), rtol=1e-6, atol=1e-6)


def test_softmax_stable_for_large_inputs(rng):
    for dt in (np.float32, np.float64):
        x = (1e4 + rng.normal(size=(6, 9))).astype(dt)
        x[0, 0] = -1e4
        for axis in (-1, 0):
            y, _ = run_op(A.Softmax(axis), x)
            assert np.all(np.isfinite(y))
            assert_close(y, _softmax_naive(x, axis), rtol=2e-5 if dt == np.float32 else 1e-10, atol=1e-12)
            assert_close(y.sum(axis=axis), np.ones(y.shape[1 - axis % 2]), rtol=1e-5)
            ly, _ = run_op(A.LogSoftmax(axis), x)
            assert np.all(np.isfinite(ly))
            assert_close(ly, _log_softmax_naive(x, axis), rtol=1e-5, atol=1e-4 if dt == np.float32 else 1e-9)


# ---- threads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["relu", "gelu", "sigmoid", "tanh", "swish", "elu"])
def test_threads_bitwise(kind, rng):
    x = rng.normal(size=(64, 33, 41)).astype(np.float32)  # above the parallel threshold
    b = rng.normal(size=33).astype(np.float32)
    gy = rng.normal(size=x.shape).astype(np.float32)
    x2 = rng.normal(size=(3001, 37)).astype(np.float32)
    b2 = rng.normal(size=37).astype(np.float32)
    gy2 = rng.normal(size=x2.shape).astype(np.float32)

    def run():
        outs = []
        for xv, bv, g, axis in ((x, b, gy, 1), (x2, b2, gy2, -1)):
            op = A.BiasAct(kind, axis=axis)
            y, ctx = run_op(op, xv, bv)
            dx, db = op.backward(ctx, g)
            op2 = A.Activation(kind)
            y2, ctx2 = run_op(op2, xv)
            outs += [y.copy(), dx.copy(), db.copy(), y2.copy(), op2.backward(ctx2, g)[0].copy()]
        for axis in (-1, 1):
            op = A.Softmax(axis)
            y, ctx = run_op(op, x)
            outs += [y.copy(), op.backward(ctx, gy)[0].copy()]
        return outs

    check_threads(run, exact=True)


# ---- bad inputs --------------------------------------------------------------------------------


def test_bad_inputs(rng):
    with pytest.raises(TypeError, match=r"Sigmoid: expected a float32 or float64 input, got dtype int64"):
        run_op(A.Sigmoid(), np.arange(4))
    with pytest.raises(TypeError, match=r"Relu: expected a numpy array, got list"):
        run_op(A.Relu(), [1.0, 2.0])
    with pytest.raises(TypeError, match=r"Softmax: expected a float32 or float64 input, got dtype int32"):
        run_op(A.Softmax(), np.ones((2, 2), np.int32))
    with pytest.raises(ValueError, match=r"Softmax: axis 2 is out of range for an input of rank 2"):
        run_op(A.Softmax(axis=2), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"LogSoftmax: axis -3 is out of range for an input of rank 2"):
        A.LogSoftmax(axis=-3).infer_shape((None, 4))
    with pytest.raises(TypeError, match=r"Softmax: axis must be an int, got 1.5"):
        A.Softmax(axis=1.5)
    with pytest.raises(
        ValueError,
        match=r"BiasAct: expected a bias of shape \(3,\) for input shape \(2, 3, 4\) and "
        r"axis 1, got \(4,\)",
    ):
        run_op(A.BiasAct("relu", axis=1), np.ones((2, 3, 4)), np.ones(4))
    with pytest.raises(ValueError, match=r"expected a bias of shape \(3,\) for input shape \(None, 3, 4\)"):
        A.BiasAct("relu", axis=1).infer_shape((None, 3, 4), (4,))
    with pytest.raises(ValueError, match=r"BiasAct: axis 3 is out of range for an input of rank 3"):
        A.BiasAct("relu", axis=3).infer_shape((None, 3, 4), (4,))
    with pytest.raises(ValueError, match=r"Activation: unknown activation 'relu7'; expected one of"):
        A.Activation("relu7")
    with pytest.raises(TypeError, match=r"activation 'relu' takes no parameter 'alpha'"):
        A.Activation("relu", alpha=0.1)
    with pytest.raises(ValueError, match=r"LeakyRelu: alpha must be a finite number, got nan"):
        A.LeakyRelu(alpha=float("nan"))
    with pytest.raises(ValueError, match=r"HardSigmoid: slope must be positive, got -0.2"):
        A.HardSigmoid(slope=-0.2)
    with pytest.raises(ValueError, match=r"Gelu: approximate must be a bool, got 'yes'"):
        A.Gelu(approximate="yes")
    with pytest.raises(ValueError, match=r"unknown activation 'foo'; expected one of"):
        A.get("foo")
    with pytest.raises(TypeError, match=r"activation get: expected a name or an op, got int"):
        A.get(3)


def test_kernel_wrapper_checks(rng):
    x = rng.normal(size=(4, 5))
    with pytest.raises(TypeError, match=r"act_forward: all arrays must share one dtype"):
        K.act_forward(K.RELU, x, np.empty((4, 5), np.float32))
    with pytest.raises(ValueError, match=r"act_forward: expected arrays of one shape"):
        K.act_forward(K.RELU, x, np.empty((5, 4)))
    with pytest.raises(ValueError, match=r"act_forward: output overlaps an input"):
        K.act_forward(K.RELU, x.ravel()[:-1], x.ravel()[1:])
    with pytest.raises(ValueError, match=r"act_forward: activation code must be an int in \[0, 18\), got 99"):
        K.act_forward(99, x)
    with pytest.raises(ValueError, match=r"act_forward: layout \(4, 4, 1\) does not cover an array of shape"):
        K.act_forward(K.RELU, x, b=np.ones(4), lay=(4, 4, 1))
    with pytest.raises(
        ValueError, match=r"act_backward: this activation's derivative needs the forward input x"
    ):
        K.act_backward(K.GELU, x, np.empty_like(x), y=x)
    with pytest.raises(ValueError, match=r"arrays must be C-contiguous"):
        K.softmax_forward(x.T)
    with pytest.raises(ValueError, match=r"softmax_backward: output overlaps an input"):
        K.softmax_backward(x, x, x)
    ro = np.empty_like(x)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"output array is read-only"):
        K.act_forward(K.RELU, x, ro)


def test_non_contiguous_and_mixed_dtype_gradients(rng):
    x = rng.normal(size=(6, 4)).T  # non-contiguous
    op = A.Tanh()
    y, ctx = run_op(op, x)
    assert_close(y, np.tanh(x), rtol=1e-14)
    gy = rng.normal(size=(4, 6)).astype(np.float32)
    dx = op.backward(ctx, gy)[0]
    assert dx.dtype == np.float64
    assert_close(dx, gy * (1 - np.tanh(x) ** 2), rtol=1e-6)
