import json

import numpy as np
import pytest

from tests.harness import assert_close, check_grad, run_op
from zoo.engine import graph as G
from zoo.engine.graph import Executor, Graph
from zoo.engine.ops.base import from_config
from zoo.engine.ops.reduce import ArgMax, ArgMin, L2Normalize, Max, Mean, Min, Sum

AXES = [None, 0, 1, -1, (0, 2), (-1, 1), (0, 1, 2)]


def roundtrip(op):
    return from_config(op.type_name, json.loads(json.dumps(op.get_config())))


def tf_vjp(tf, fn, x, gy):
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        y = fn(t)
    return tape.gradient(y, t, output_gradients=tf.constant(gy)).numpy()


REDUCE = {
    "sum": (Sum, np.sum, "reduce_sum"),
    "mean": (Mean, np.mean, "reduce_mean"),
    "max": (Max, np.max, "reduce_max"),
    "min": (Min, np.min, "reduce_min"),
}


@pytest.mark.parametrize("name", list(REDUCE))
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce(name, axis, keepdims, rng, tf):
    cls, ref_fn, tf_name = REDUCE[name]
    x = rng.normal(size=(3, 5, 7))
    op = cls(axis, keepdims)
    y, _ = run_op(op, x)
    ref = ref_fn(x, axis=axis, keepdims=keepdims)
    assert isinstance(y, np.ndarray)
    assert_close(y, ref, rtol=1e-15, atol=0)
    assert_close(run_op(roundtrip(op), x)[0], y, rtol=0, atol=0)
    tf_fn = lambda t: getattr(tf.math, tf_name)(t, axis=axis, keepdims=keepdims)
    assert_close(y, tf_fn(x), rtol=1e-14, atol=1e-15)
    x32 = x.astype(np.float32)
    y32, _ = run_op(op, x32)
    assert y32.dtype == np.float32
    assert_close(y32, tf_fn(x32), rtol=2e-6, atol=1e-6)
    check_grad(op, [x])
    gy = rng.normal(size=np.shape(ref))
    _, ctx = run_op(op, x)
    g = op.backward(ctx, gy)[0]
    assert g.shape == x.shape
    assert_close(g, tf_vjp(tf, tf_fn, x, gy), rtol=1e-14, atol=1e-16)
    _, ctx = run_op(op, x32)
    assert op.backward(ctx, gy.astype(np.float32))[0].dtype == np.float32
    assert op.infer_shape((3, 5, 7)) == np.shape(ref)
    batch_reduced = axis is None or 0 in np.atleast_1d(axis) % 3
    expected = np.shape(ref) if batch_reduced else (None,) + np.shape(ref)[1:]
    assert op.infer_shape((None, 5, 7)) == expected


def test_reduce_shapes():
    assert Sum(1).infer_shape((None, 5, 7)) == (None, 7)
    assert Sum((1, 2), keepdims=True).infer_shape((None, 5, 7)) == (None, 1, 1)
    assert Mean().infer_shape((None, 5)) == ()
    assert Max(0).infer_shape((None, 5)) == (5,)
    assert Min(-1, True).infer_shape((None, None)) == (None, 1)


@pytest.mark.parametrize("cls,tf_name", [(Max, "reduce_max"), (Min, "reduce_min")])
def test_extreme_ties_split_evenly(cls, tf_name, tf):
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, -1.0, 5.0, -1.0]])
    gy = np.array([6.0, 4.0, 3.0])
    _, ctx = run_op(cls(1), x)
    g = cls(1).backward(ctx, gy)[0]
    ext = x.max(1, keepdims=True) if cls is Max else x.min(1, keepdims=True)
    tied = x == ext
    expect = tied * (gy[:, None] / tied.sum(1, keepdims=True))
    assert_close(g, expect, rtol=0, atol=0)
    assert_close(g.sum(1), gy, rtol=0, atol=0)
    assert_close(g, tf_vjp(tf, lambda t: getattr(tf.math, tf_name)(t, axis=1), x, gy), rtol=0, atol=0)


def test_reduce_errors():
    with pytest.raises(ValueError, match=r"axis \(1, -2\) names an axis twice \(rank 3\)"):
        Sum((1, -2)).infer_shape((None, 5, 7))
    with pytest.raises(ValueError, match=r"axis 3 is out of range for rank 3"):
        Mean(3).infer_shape((None, 5, 7))
    with pytest.raises(
        TypeError, match=r"Max: axis must be None, an int or a non-empty sequence of ints, got \(\)"
    ):
        Max(())
    with pytest.raises(TypeError, match=r"Sum: axis must be None, an int or a sequence of ints, got 1.5"):
        Sum(1.5)
    with pytest.raises(ValueError, match=r"Sum 's': axis 2 is out of range for rank 2"):
        G.apply(Sum(2), [G.input((None, 4))], name="s")
    with pytest.raises(ValueError, match=r"Mean: axis \(0, -2\) names an axis twice \(rank 2\)"):
        run_op(Mean((0, -2)), np.zeros((2, 3)))


@pytest.mark.parametrize("cls,fn,tf_name", [(ArgMax, np.argmax, "argmax"), (ArgMin, np.argmin, "argmin")])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_arg(cls, fn, tf_name, axis, rng, tf):
    x = rng.integers(0, 4, size=(5, 6, 7)).astype(np.float64)  # many ties: the first index wins
    y, ctx = run_op(cls(axis), x)
    assert y.dtype == np.float32
    assert_close(y, fn(x, axis=axis).astype(np.float32), rtol=0, atol=0)
    assert_close(y, getattr(tf.math, tf_name)(x, axis=axis).numpy().astype(np.float32), rtol=0, atol=0)
    assert cls(axis).backward(ctx, np.ones(y.shape)) == (None,)
    yk, _ = run_op(roundtrip(cls(axis, keepdims=True)), x)
    assert_close(yk, np.expand_dims(y, axis), rtol=0, atol=0)
    assert cls(axis).infer_shape((None, 6, 7)) == tuple(
        s for i, s in enumerate((None, 6, 7)) if i != axis % 3
    )
    assert cls(axis, True).infer_shape((None, 6, 7))[axis] == 1


def test_arg_errors():
    with pytest.raises(TypeError, match=r"ArgMax: axis must be an int, got \(0, 1\)"):
        ArgMax((0, 1))
    with pytest.raises(ValueError, match=r"axis -3 is out of range for rank 2"):
        ArgMin(-3).infer_shape((None, 4))


@pytest.mark.parametrize("axis", [-1, 1, 0, (1, 2)])
def test_l2_normalize(axis, rng, tf):
    x = rng.normal(size=(3, 5, 4))
    x[0, 0] = 0.0  # an all-zero row: the eps branch, finite output
    x[1, 1] *= 1e-3  # a small norm
    op = L2Normalize(axis, eps=1e-12)
    y, _ = run_op(op, x)
    s = np.sum(x * x, axis=axis, keepdims=True)
    assert_close(y, x / np.sqrt(np.maximum(s, 1e-12)), rtol=1e-14, atol=0)
    assert_close(run_op(roundtrip(op), x)[0], y, rtol=0, atol=0)
    tf_fn = lambda t: tf.math.l2_normalize(t, axis=axis, epsilon=1e-12)
    assert_close(y, tf_fn(x), rtol=1e-14, atol=1e-300)
    x32 = x.astype(np.float32)
    y32, _ = run_op(op, x32)
    assert y32.dtype == np.float32
    assert_close(y32, tf_fn(x32), rtol=2e-6, atol=1e-7)
    check_grad(op, [x], rtol=1e-5)
    gy = rng.normal(size=x.shape)
    _, ctx = run_op(op, x)
    assert_close(op.backward(ctx, gy)[0], tf_vjp(tf, tf_fn, x, gy), rtol=1e-10, atol=1e-10)
    assert op.infer_shape((None, 5, 4)) == (None, 5, 4)


def test_l2_normalize_eps_branch(rng):
    """Below eps the norm is clamped, so y = x / sqrt(eps) and the gradient is gy / sqrt(eps)."""
    x = rng.normal(size=(2, 3)) * 1e-3
    op = L2Normalize(1, eps=1.0)
    y, ctx = run_op(op, x)
    assert_close(y, x, rtol=1e-15, atol=0)
    gy = rng.normal(size=(2, 3))
    assert_close(op.backward(ctx, gy)[0], gy, rtol=1e-15, atol=0)
    check_grad(op, [x])


def test_l2_normalize_errors():
    with pytest.raises(ValueError, match=r"L2Normalize: eps must be a non-negative number, got -1"):
        L2Normalize(1, eps=-1)
    with pytest.raises(TypeError, match=r"L2Normalize: axis must be an int or a sequence of ints, got None"):
        L2Normalize(None)
    with pytest.raises(ValueError, match=r"axis 2 is out of range for rank 2"):
        L2Normalize(2).infer_shape((None, 3))


def test_graph_mean_of_max(rng):
    """Mean(Max(x, axis=1)) in a float32 graph: the gradient lands on the row maxima only."""
    x = G.input((None, 4), name="x")
    y = G.apply(Mean(), [G.apply(Max(1), [x])])
    assert y.shape == ()
    exe = Executor(Graph([x], [y]))
    xv = rng.normal(size=(5, 4)).astype(np.float32)
    out = exe.forward([xv])[0]
    assert out.dtype == np.float32
    assert_close(out, xv.max(1).mean(), rtol=1e-6)
    (gx,) = exe.backward([np.float32(1.0)], input_grads=True)
    assert gx.dtype == np.float32
    assert_close(gx, ((xv == xv.max(1, keepdims=True)) / np.float32(5.0)).astype(np.float32), rtol=0, atol=0)


@pytest.mark.parametrize(
    "op", [Sum(1), Mean((0, 2)), Mean(), Max(-1, True), Min(None), L2Normalize((1, 2))], ids=repr
)
def test_float32_stays_float32(op, rng):
    x = rng.normal(size=(3, 4, 5)).astype(np.float32)
    y, ctx = run_op(op, x)
    assert y.dtype == np.float32
    (g,) = op.backward(ctx, np.ones(y.shape, np.float32))
    assert g.dtype == np.float32 and g.shape == x.shape
