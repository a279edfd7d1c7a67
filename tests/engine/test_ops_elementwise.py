import json
import math

import numpy as np
import pytest

from tests.harness import assert_close, check_grad, run_op
from zoo.engine import graph as G
from zoo.engine.graph import Executor, Graph
from zoo.engine.ops.base import from_config
from zoo.engine.ops.elementwise import (
    Abs,
    Add,
    AddN,
    AddScalar,
    Clip,
    Div,
    DivScalar,
    Equal,
    Erf,
    Exp,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
    Log,
    Maximum,
    Minimum,
    Mul,
    MulScalar,
    Neg,
    NotEqual,
    Pow,
    PowScalar,
    RDivScalar,
    RPowScalar,
    RSubScalar,
    Sign,
    Sqrt,
    Square,
    Sub,
    Where,
    erf,
)

# (a shape, b shape): equal, broadcasting both ways, rank-extending, size-1 operands
SHAPES = [
    ((3, 5), (3, 5)),
    ((3, 1, 5), (4, 1)),
    ((4, 1), (3, 1, 5)),
    ((5,), (2, 3, 5)),
    ((2, 3, 5), (1,)),
    ((1, 1), (3, 4)),
]


def roundtrip(op):
    return from_config(op.type_name, json.loads(json.dumps(op.get_config())))


def tf_vjp(tf, fn, xs, gy):
    """Gradients of sum(gy * fn(*xs)) by TensorFlow."""
    ts = [tf.constant(x) for x in xs]
    with tf.GradientTape() as tape:
        for t in ts:
            tape.watch(t)
        y = fn(*ts)
    return [g.numpy() for g in tape.gradient(y, ts, output_gradients=tf.constant(gy))]


def inputs_for(name, rng, sa, sb):
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    if name == "div":
        b = np.sign(b) * (np.abs(b) + 0.5)
    if name == "pow":
        a = np.abs(a) + 0.3
    return a, b


BINARY = {
    "add": (Add, np.add, "add"),
    "sub": (Sub, np.subtract, "subtract"),
    "mul": (Mul, np.multiply, "multiply"),
    "div": (Div, np.divide, "divide"),
    "maximum": (Maximum, np.maximum, "maximum"),
    "minimum": (Minimum, np.minimum, "minimum"),
    "pow": (Pow, np.power, "pow"),
}


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_binary(name, sa, sb, rng, tf):
    cls, ref_fn, tf_name = BINARY[name]
    a, b = inputs_for(name, rng, sa, sb)
    op = cls()
    y, _ = run_op(op, a, b)
    assert_close(y, ref_fn(a, b), rtol=0, atol=0)
    assert_close(run_op(roundtrip(op), a, b)[0], ref_fn(a, b), rtol=0, atol=0)
    tf_fn = getattr(tf.math, tf_name)
    assert_close(y, tf_fn(a, b), rtol=1e-14, atol=0)
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    y32, _ = run_op(op, a32, b32)
    assert y32.dtype == np.float32
    assert_close(y32, tf_fn(a32, b32), rtol=2e-7, atol=0)
    check_grad(op, [a, b])
    gy = rng.normal(size=y.shape)
    _, ctx = run_op(op, a, b)
    ga, gb = op.backward(ctx, gy)
    ta, tb = tf_vjp(tf, tf_fn, [a, b], gy)
    assert_close(ga, ta, rtol=1e-12, atol=1e-14)
    assert_close(gb, tb, rtol=1e-12, atol=1e-14)


def test_binary_needs_grad_and_dtypes(rng):
    a, b = rng.normal(size=(3, 1, 5)).astype(np.float32), rng.normal(size=(4, 1))
    for cls in (Add, Sub, Mul, Div, Maximum, Minimum):
        y, ctx = run_op(cls(), a, b, needs_grad=(True, False))
        assert y.dtype == np.float64 and y.shape == (3, 4, 5)
        ga, gb = cls().backward(ctx, np.ones(y.shape))
        assert gb is None and ga.dtype == np.float32 and ga.shape == a.shape
        _, ctx = run_op(cls(), a, b, needs_grad=(False, True))
        ga, gb = cls().backward(ctx, np.ones(y.shape))
        assert ga is None and gb.dtype == np.float64 and gb.shape == b.shape


def test_binary_buffer_reuse_new_shapes(rng):
    op = Mul()
    _, ctx = run_op(op, np.ones((2, 3)), np.ones((2, 3)))
    a, b = rng.normal(size=(4, 1)), rng.normal(size=(5,))
    assert_close(op.forward(ctx, a, b), a * b, rtol=0, atol=0)


def test_binary_shapes_and_errors():
    assert Add().infer_shape((None, 1, 5), (4, 1)) == (None, 4, 5)
    assert Mul().infer_shape((None, 5), (5,)) == (None, 5)
    assert Mul().infer_shape((5,), (None, 1)) == (None, 5)
    assert Div().infer_shape((None, 5), (None, 5)) == (None, 5)
    with pytest.raises(ValueError, match=r"do not broadcast \(axis sizes 3 and 4\)"):
        Add().infer_shape((None, 3), (None, 4))
    with pytest.raises(ValueError, match=r"Sub 'd': shapes \(None, 3\) and \(1, 4\) do not broadcast"):
        G.apply(Sub(), [G.input((None, 3)), G.input((4,))], name="d")
    with pytest.raises(ValueError, match=r"Mul: input shapes \(2, 3\) and \(2, 4\) do not broadcast"):
        run_op(Mul(), np.zeros((2, 3)), np.zeros((2, 4)))


def test_maximum_minimum_ties(rng, tf):
    a = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, -1.0]])
    b = np.array([[1.0, 0.0, 3.0], [0.5, 1.0, -1.0]])
    gy = rng.normal(size=(2, 3))
    for cls, tf_fn in ((Maximum, tf.math.maximum), (Minimum, tf.math.minimum)):
        _, ctx = run_op(cls(), a, b)
        ga, gb = cls().backward(ctx, gy)
        tie = a == b
        assert_close(ga[tie], gy[tie], rtol=0, atol=0)  # ties: all to the first input
        assert np.all(gb[tie] == 0)
        assert_close(ga + gb, gy, rtol=0, atol=0)
        ta, tb = tf_vjp(tf, tf_fn, [a, b], gy)
        assert_close(ga, ta, rtol=0, atol=0)
        assert_close(gb, tb, rtol=0, atol=0)


def test_pow_nonpositive_base(rng, tf):
    a = np.array([[-2.0, 0.0, 1.5], [0.0, 3.0, -1.0]])
    b = np.array([[2.0, 2.0, 0.5], [1.0, -1.0, 3.0]])
    gy = rng.normal(size=(2, 3))
    _, ctx = run_op(Pow(), a, b)
    ga, gb = Pow().backward(ctx, gy)
    ta, tb = tf_vjp(tf, tf.math.pow, [a, b], gy)
    assert_close(gb, tb, rtol=1e-14, atol=0)
    assert np.all(gb[a <= 0] == 0)
    assert_close(ga, ta, rtol=1e-14, atol=0)


# ---- scalar variants ------------------------------------------------------------------------

SCALAR = [
    (AddScalar(1.5), lambda x: x + 1.5, lambda tf, x: x + 1.5),
    (AddScalar(-2), lambda x: x - 2.0, lambda tf, x: x - 2.0),
    (MulScalar(-0.7), lambda x: x * -0.7, lambda tf, x: x * -0.7),
    (DivScalar(3.0), lambda x: x / 3.0, lambda tf, x: x / 3.0),
    (RSubScalar(2.0), lambda x: 2.0 - x, lambda tf, x: 2.0 - x),
    (RDivScalar(2.0), lambda x: 2.0 / x, lambda tf, x: 2.0 / x),
    (PowScalar(2), lambda x: x**2, lambda tf, x: tf.math.pow(x, 2.0)),
    (PowScalar(3.0), lambda x: x**3, lambda tf, x: tf.math.pow(x, 3.0)),
    (PowScalar(0.5), lambda x: x**0.5, lambda tf, x: tf.math.pow(x, 0.5)),
    (PowScalar(-1.5), lambda x: x**-1.5, lambda tf, x: tf.math.pow(x, -1.5)),
    (PowScalar(1), lambda x: x**1, lambda tf, x: tf.math.pow(x, 1.0)),
    (RPowScalar(2.0), lambda x: 2.0**x, lambda tf, x: tf.math.pow(tf.constant(2.0, x.dtype), x)),
    (RPowScalar(0.3), lambda x: 0.3**x, lambda tf, x: tf.math.pow(tf.constant(0.3, x.dtype), x)),
]


@pytest.mark.parametrize("op,ref,tf_fn", SCALAR, ids=[repr(s[0]) for s in SCALAR])
def test_scalar_ops(op, ref, tf_fn, rng, tf):
    x = rng.normal(size=(3, 7, 5))
    if isinstance(op, (PowScalar, RDivScalar)):
        x = np.abs(x) + 0.2
    y, _ = run_op(op, x)
    assert_close(y, ref(x), rtol=1e-15, atol=0)
    assert_close(run_op(roundtrip(op), x)[0], y, rtol=0, atol=0)
    assert_close(y, tf_fn(tf, tf.constant(x)), rtol=1e-14, atol=0)
    x32 = x.astype(np.float32)
    y32, _ = run_op(op, x32)
    assert y32.dtype == np.float32
    assert_close(y32, tf_fn(tf, tf.constant(x32)), rtol=2e-7, atol=0)
    check_grad(op, [x])
    gy = rng.normal(size=x.shape)
    _, ctx = run_op(op, x)
    (tg,) = tf_vjp(tf, lambda t: tf_fn(tf, t), [x], gy)
    assert_close(op.backward(ctx, gy)[0], tg, rtol=1e-13, atol=0)
    _, ctx = run_op(op, x32)
    assert op.backward(ctx, gy.astype(np.float32))[0].dtype == np.float32


def test_scalar_errors():
    assert MulScalar(2.0).infer_shape((None, 3)) == (None, 3)
    with pytest.raises(TypeError, match=r"MulScalar: c must be a real number, got '2'"):
        MulScalar("2")
    with pytest.raises(TypeError, match=r"PowScalar: p must be a real number, got True"):
        PowScalar(True)
    with pytest.raises(TypeError, match=r"AddScalar: c must be a real number, got array"):
        AddScalar(np.ones(2))


# ---- unary ----------------------------------------------------------------------------------

UNARY = {
    "neg": (Neg(), np.negative, "negative", None),
    "abs": (Abs(), np.abs, "abs", None),
    "square": (Square(), np.square, "square", None),
    "sqrt": (Sqrt(), np.sqrt, "sqrt", "positive"),
    "exp": (Exp(), np.exp, "exp", None),
    "log": (Log(), np.log, "log", "positive"),
    "erf": (Erf(), np.vectorize(math.erf), "erf", None),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary(name, rng, tf):
    op, ref, tf_name, domain = UNARY[name]
    x = rng.normal(size=(3, 7, 5)) * 1.5
    if domain == "positive":
        x = np.abs(x) + 0.1
    y, _ = run_op(op, x)
    assert_close(y, ref(x), rtol=1e-15, atol=2e-16)
    assert_close(run_op(roundtrip(op), x)[0], y, rtol=0, atol=0)
    tf_fn = getattr(tf.math, tf_name)
    assert_close(y, tf_fn(x), rtol=1e-14, atol=1e-16)
    x32 = x.astype(np.float32)
    y32, _ = run_op(op, x32)
    assert y32.dtype == np.float32
    assert_close(y32, tf_fn(x32), rtol=3e-7, atol=1e-7)
    check_grad(op, [x])
    gy = rng.normal(size=x.shape)
    _, ctx = run_op(op, x)
    (tg,) = tf_vjp(tf, tf_fn, [x], gy)
    assert_close(op.backward(ctx, gy)[0], tg, rtol=1e-13, atol=1e-300)
    assert op.infer_shape((None, 7)) == (None, 7)


def test_abs_subgradient_at_zero(tf):
    x = np.array([-1.0, 0.0, 2.0, -0.0])
    _, ctx = run_op(Abs(), x)
    g = Abs().backward(ctx, np.ones(4))[0]
    assert_close(g, [-1.0, 0.0, 1.0, 0.0], rtol=0, atol=0)
    (tg,) = tf_vjp(tf, tf.math.abs, [x], np.ones(4))
    assert_close(g, tg, rtol=0, atol=0)


def test_erf_accuracy(rng):
    x = np.concatenate(
        [np.linspace(-7, 7, 2001), rng.normal(size=500) * 3, [0.0, 1.0, -1.0, 6.0, np.inf, -np.inf]]
    )
    ref = np.array([math.erf(v) for v in x])
    assert_close(erf(x), ref, rtol=2e-15, atol=3e-16)
    assert np.isnan(erf(np.array([np.nan]))[0])
    special = pytest.importorskip("scipy.special")
    assert_close(erf(x), special.erf(x), rtol=2e-15, atol=3e-16)
    x32 = x.astype(np.float32)
    assert erf(x32).dtype == np.float32
    assert_close(erf(x32), special.erf(x32.astype(np.float64)), rtol=3e-7, atol=1e-7)


@pytest.mark.parametrize("lo,hi", [(-0.5, 0.7), (None, 0.3), (-0.2, None), (0.1, 0.1)])
def test_clip(lo, hi, rng, tf):
    x = rng.normal(size=(4, 9))
    x[0, :4] = [-0.5, 0.7, 0.3, -0.2]  # exactly on the bounds
    op = Clip(lo, hi)
    y, _ = run_op(op, x)
    assert_close(y, np.clip(x, lo, hi), rtol=0, atol=0)
    assert_close(run_op(roundtrip(op), x)[0], y, rtol=0, atol=0)
    tlo = -np.inf if lo is None else lo
    thi = np.inf if hi is None else hi
    clip = lambda t: tf.clip_by_value(t, tlo, thi)
    assert_close(y, clip(x), rtol=0, atol=0)
    gy = rng.normal(size=x.shape)
    _, ctx = run_op(op, x)
    g = op.backward(ctx, gy)[0]
    inside = (x >= tlo) & (x <= thi)
    assert_close(g, np.where(inside, gy, 0.0), rtol=0, atol=0)  # bounds included
    (tg,) = tf_vjp(tf, clip, [x], gy)
    assert_close(g, tg, rtol=0, atol=0)
    xs = x.copy()
    xs[0, :4] = [-0.45, 0.65, 0.35, -0.15]  # away from the kinks for finite differences
    check_grad(op, [xs])


def test_clip_errors():
    with pytest.raises(ValueError, match=r"Clip: give min_value, max_value or both, got neither"):
        Clip()
    with pytest.raises(ValueError, match=r"Clip: min_value must not exceed max_value, got 1.0 > 0.0"):
        Clip(1.0, 0.0)
    with pytest.raises(TypeError, match=r"Clip: max_value must be a real number, got '1'"):
        Clip(0, "1")


def test_sign_has_no_gradient(tf):
    x = np.array([[-2.0, 0.0, 3.0]])
    y, ctx = run_op(Sign(), x)
    assert_close(y, tf.math.sign(x), rtol=0, atol=0)
    assert Sign().backward(ctx, np.ones((1, 3))) == (None,)
    assert Sign.nondiff_inputs == (0,)


# ---- comparisons, Where, AddN ---------------------------------------------------------------

COMPARE = [
    (Greater, np.greater, "greater"),
    (GreaterEqual, np.greater_equal, "greater_equal"),
    (Less, np.less, "less"),
    (LessEqual, np.less_equal, "less_equal"),
    (Equal, np.equal, "equal"),
    (NotEqual, np.not_equal, "not_equal"),
]


@pytest.mark.parametrize("cls,ref,tf_name", COMPARE)
def test_compare(cls, ref, tf_name, rng, tf):
    a = rng.integers(0, 3, size=(3, 1, 5)).astype(np.float32)
    b = rng.integers(0, 3, size=(4, 1)).astype(np.float32)
    y, ctx = run_op(cls(), a, b)
    assert y.dtype == np.float32 and y.shape == (3, 4, 5)
    assert_close(y, ref(a, b).astype(np.float32), rtol=0, atol=0)
    assert_close(y, tf.cast(getattr(tf.math, tf_name)(a, b), tf.float32), rtol=0, atol=0)
    assert 0 < y.sum() < y.size
    assert cls().backward(ctx, np.ones(y.shape)) == (None, None)
    y, ctx = run_op(cls(scalar=1.0), a)
    assert_close(y, ref(a, 1.0).astype(np.float32), rtol=0, atol=0)
    assert_close(run_op(roundtrip(cls(scalar=1.0)), a)[0], y, rtol=0, atol=0)
    assert cls(scalar=1.0).backward(ctx, np.ones(y.shape)) == (None,)
    assert run_op(cls(), a.astype(np.float64), b)[0].dtype == np.float64
    assert run_op(cls(), a.astype(np.int64), b.astype(np.int64))[0].dtype == np.float32
    assert cls().infer_shape((None, 1, 5), (4, 1)) == (None, 4, 5)
    assert cls(scalar=0).infer_shape((None, 5)) == (None, 5)


def test_compare_errors():
    with pytest.raises(ValueError, match=r"expected two inputs, got 1"):
        Greater().infer_shape((None, 3))
    with pytest.raises(ValueError, match=r"expected one input \(scalar= is set\), got 2"):
        Greater(scalar=0.5).infer_shape((None, 3), (None, 3))
    with pytest.raises(TypeError, match=r"Less: scalar must be a real number, got 'x'"):
        Less(scalar="x")


def test_compare_blocks_gradient_in_graph():
    """A mask built by a comparison passes no gradient: only the multiplied branch does."""
    x = G.input((None, 3), name="x")
    m = G.apply(Greater(scalar=0.0), [x])
    y = G.apply(Mul(), [x, m])
    exe = Executor(Graph([x], [y]))
    xv = np.array([[-1.0, 0.5, 2.0]], np.float32)
    assert_close(exe.forward([xv])[0], [[0.0, 0.5, 2.0]])
    (gx,) = exe.backward([np.ones((1, 3), np.float32)], input_grads=True)
    assert_close(gx, [[0.0, 1.0, 1.0]], rtol=0, atol=0)


@pytest.mark.parametrize(
    "sc,sa,sb", [((3, 5), (3, 5), (3, 5)), ((3, 1, 5), (4, 1), (5,)), ((4, 1), (3, 1, 5), (1,))]
)
def test_where(sc, sa, sb, rng, tf):
    cond = (rng.normal(size=sc) > 0).astype(np.float32)
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    ref = np.where(cond != 0, a, b)
    y, _ = run_op(Where(), cond, a, b)
    assert_close(y, ref, rtol=0, atol=0)
    assert_close(run_op(Where(), cond.astype(bool), a, b)[0], ref, rtol=0, atol=0)
    shape = np.broadcast_shapes(sc, sa, sb)
    tcond = tf.broadcast_to(cond != 0, shape)
    assert_close(y, tf.where(tcond, tf.broadcast_to(a, shape), tf.broadcast_to(b, shape)), rtol=0, atol=0)
    check_grad(Where(), [cond, a, b])
    gy = rng.normal(size=shape)
    _, ctx = run_op(Where(), cond, a, b)
    gc, ga, gb = Where().backward(ctx, gy)
    assert gc is None
    ta, tb = tf_vjp(
        tf, lambda p, q: tf.where(tcond, tf.broadcast_to(p, shape), tf.broadcast_to(q, shape)), [a, b], gy
    )
    assert_close(ga, ta, rtol=1e-14, atol=0)
    assert_close(gb, tb, rtol=1e-14, atol=0)
    assert Where().infer_shape((None, 1, 5), (4, 1), (5,)) == (None, 4, 5)


def test_where_nan_in_unselected_branch():
    """The unselected branch's gradient is exactly zero even when gy holds huge values."""
    cond = np.array([1.0, 0.0])
    _, ctx = run_op(Where(), cond, np.zeros(2), np.zeros(2))
    _, ga, gb = Where().backward(ctx, np.array([np.inf, 1.0]))
    assert_close(ga, [np.inf, 0.0], rtol=0, atol=0)
    assert_close(gb, [0.0, 1.0], rtol=0, atol=0)


def test_add_n(rng, tf):
    xs = [rng.normal(size=(3, 5)) for _ in range(4)]
    for k in (1, 2, 4):
        y, _ = run_op(AddN(), *xs[:k])
        assert_close(y, sum(xs[:k]), rtol=1e-15, atol=0)
        assert_close(y, tf.math.add_n(xs[:k]), rtol=1e-15, atol=0)
        check_grad(AddN(), xs[:k])
    assert AddN().infer_shape((None, 5), (3, None)) == (3, 5)
    with pytest.raises(ValueError, match=r"inputs must have one shape, got \(None, 5\) and \(None, 4\)"):
        AddN().infer_shape((None, 5), (None, 4))
    with pytest.raises(ValueError, match=r"AddN: inputs must have one shape, got \(2, 3\) and \(2, 1\)"):
        run_op(AddN(), np.zeros((2, 3)), np.zeros((2, 1)))


ALL_FLOAT32 = [
    (Add(), 2),
    (Sub(), 2),
    (Mul(), 2),
    (Div(), 2),
    (Maximum(), 2),
    (Minimum(), 2),
    (Pow(), 2),
    (AddScalar(1.0), 1),
    (MulScalar(3.0), 1),
    (DivScalar(3.0), 1),
    (RSubScalar(1.0), 1),
    (RDivScalar(1.0), 1),
    (PowScalar(1.5), 1),
    (PowScalar(2.0), 1),
    (RPowScalar(2.0), 1),
    (Neg(), 1),
    (Abs(), 1),
    (Square(), 1),
    (Sqrt(), 1),
    (Exp(), 1),
    (Log(), 1),
    (Erf(), 1),
    (Clip(0.2, 0.9), 1),
    (Clip(None, 0.5), 1),
    (AddN(), 3),
]


@pytest.mark.parametrize("op,n", ALL_FLOAT32, ids=[repr(o) for o, _ in ALL_FLOAT32])
def test_float32_stays_float32(op, n, rng):
    """No float64 sneaks into float32 forward or backward passes (broadcast inputs included)."""
    shapes = [(3, 4, 5), (4, 1), (3, 4, 5)] if n >= 2 and not isinstance(op, AddN) else [(3, 4, 5)] * n
    xs = [(np.abs(rng.normal(size=s)) + 0.1).astype(np.float32) for s in shapes[:n]]
    y, ctx = run_op(op, *xs)
    assert y.dtype == np.float32
    grads = op.backward(ctx, np.ones(y.shape, np.float32))
    for x, g in zip(xs, grads):
        assert g.dtype == np.float32 and g.shape == x.shape
