import json

import numpy as np
import pytest

from tests.harness import assert_close, check_grad, run_op
from zoo.engine import graph as G
from zoo.engine.graph import Executor, Graph
from zoo.engine.ops.base import from_config
from zoo.engine.ops.shape import (
    Concat,
    ExpandDims,
    Flatten,
    Gather,
    GetItem,
    Pad,
    Repeat,
    Reshape,
    Slice,
    Split,
    Squeeze,
    Stack,
    Tile,
    Transpose,
)


def roundtrip(op):
    """The op rebuilt from its JSON config."""
    return from_config(op.type_name, json.loads(json.dumps(op.get_config())))


def check_op(op, xs, ref, tf_ref=None, grad=True, wrt=None):
    """Forward vs numpy (float64 and float32), config round trip, optional TF parity and check_grad."""
    y, _ = run_op(op, *xs)
    assert_close(y, ref, rtol=0, atol=0)
    y2, _ = run_op(roundtrip(op), *xs)
    assert_close(y2, ref, rtol=0, atol=0)
    xs32 = [x.astype(np.float32) if x.dtype.kind == "f" else x for x in xs]
    y32, _ = run_op(op, *xs32)
    assert y32.dtype == np.float32 and y32.flags.c_contiguous
    assert_close(y32, np.asarray(ref).astype(np.float32), rtol=0, atol=0)
    if tf_ref is not None:
        assert_close(y, tf_ref, rtol=0, atol=0)
    if grad:
        check_grad(op, xs, wrt=wrt)
    return y


# ---- Reshape / Flatten / Squeeze / ExpandDims ------------------------------------------------


def test_reshape(rng, tf):
    x = rng.normal(size=(3, 4, 5))
    check_op(Reshape((0, -1)), [x], x.reshape(3, 20), tf.reshape(x, (3, 20)))
    check_op(Reshape((5, 0, 3)), [x], x.reshape(5, 4, 3), tf.reshape(x, (5, 4, 3)))
    check_op(Reshape((-1,)), [x], x.reshape(-1), tf.reshape(x, (-1,)))
    check_op(Reshape((0, 2, -1, 5)), [x], x.reshape(3, 2, 2, 5), tf.reshape(x, (3, 2, 2, 5)))


def test_reshape_shapes():
    assert Reshape((0, -1)).infer_shape((None, 3, 4)) == (None, 12)
    assert Reshape((0, 3, 4)).infer_shape((None, 12)) == (None, 3, 4)
    assert Reshape((0, 3, -1)).infer_shape((None, 12)) == (None, 3, 4)
    assert Reshape((-1, 6)).infer_shape((None, 12)) == (None, 6)
    assert Reshape((0, 0, -1)).infer_shape((None, None, 6)) == (None, None, 6)
    assert Reshape((4, -1)).infer_shape((2, 6)) == (4, 3)
    assert Reshape((-1, 5)).infer_shape((0, 5)) == (0, 5)


def test_reshape_errors():
    with pytest.raises(
        ValueError, match=r"cannot reshape \(None, 12\) to \(None, 5\): 12 elements per sample vs 5"
    ):
        Reshape((0, 5)).infer_shape((None, 12))
    with pytest.raises(ValueError, match=r"cannot reshape \(2, 6\) to \(5, -1\): 12 elements do not split"):
        Reshape((5, -1)).infer_shape((2, 6))
    with pytest.raises(ValueError, match=r"Reshape 'r': cannot reshape \(None, 12\) to \(None, 7\)"):
        G.apply(Reshape((0, 7)), [G.input((None, 12))], name="r")
    with pytest.raises(ValueError, match=r"copies axis 2 \(0\), but the input \(None, 12\) has rank 2"):
        Reshape((0, 3, 0)).infer_shape((None, 12))
    with pytest.raises(ValueError, match=r"at most one -1"):
        Reshape((-1, -1))
    with pytest.raises(ValueError, match=r"use 0 to copy an input axis"):
        Reshape((None, 5))
    with pytest.raises(TypeError, match=r"Reshape: target_shape must hold ints"):
        Reshape((2, 2.5))
    with pytest.raises(ValueError, match=r"Reshape: cannot reshape an array of shape \(4, 6\) to \(4, 5\)"):
        run_op(Reshape((0, 5)), np.zeros((4, 6)))


def test_flatten(rng, tf):
    x = rng.normal(size=(3, 2, 5, 1))
    check_op(Flatten(), [x], x.reshape(3, 10), tf.reshape(x, (3, -1)))
    check_op(Flatten(2), [x], x.reshape(3, 2, 5))
    check_op(Flatten(0), [x], x.reshape(30))
    assert Flatten().infer_shape((None, 2, 5, 1)) == (None, 10)
    assert Flatten().infer_shape((None, None, 5)) == (None, None)
    assert Flatten(-1).infer_shape((None, 4, 5)) == (None, 4, 5)
    y, _ = run_op(Flatten(), np.zeros((0, 3)))
    assert y.shape == (0, 3)
    with pytest.raises(ValueError, match=r"start_axis 4 is out of range for rank 3"):
        Flatten(4).infer_shape((None, 2, 3))


def test_squeeze_expand_dims(rng, tf):
    x = rng.normal(size=(3, 1, 5, 1))
    check_op(Squeeze(1), [x], x[:, 0], tf.squeeze(x, 1))
    check_op(Squeeze((1, -1)), [x], x[:, 0, :, 0], tf.squeeze(x, (1, 3)))
    check_op(ExpandDims(1), [x], x[:, None], tf.expand_dims(x, 1))
    check_op(ExpandDims(-1), [x], x[..., None], tf.expand_dims(x, -1))
    assert Squeeze(1).infer_shape((None, 1, 5)) == (None, 5)
    assert Squeeze(0).infer_shape((None, 5)) == (5,)
    assert ExpandDims(0).infer_shape((None, 5)) == (1, None, 5)
    assert ExpandDims(2).infer_shape((None, 5)) == (None, 5, 1)
    with pytest.raises(ValueError, match=r"expected size 1 on axis 2, got input shape \(None, 1, 5\)"):
        Squeeze(2).infer_shape((None, 1, 5))
    with pytest.raises(
        ValueError, match=r"Squeeze: expected size 1 on axes \(0,\), got input shape \(3, 1, 5, 1\)"
    ):
        run_op(Squeeze(0), x)
    with pytest.raises(ValueError, match=r"names an axis twice"):
        Squeeze((1, -2)).infer_shape((None, 1, 5))
    with pytest.raises(ValueError, match=r"axis 3 is out of range for rank 3"):
        ExpandDims(3).infer_shape((None, 5))


# ---- Transpose ------------------------------------------------------------------------------


def test_transpose(rng, tf):
    x = rng.normal(size=(3, 4, 5, 2))
    for perm in [(0, 2, 3, 1), (3, 1, 0, 2), (0, 1, 2, 3)]:
        y = check_op(Transpose(perm), [x], x.transpose(perm), tf.transpose(x, perm))
        assert y.flags.c_contiguous
    _, ctx = run_op(Transpose((0, 2, 3, 1)), x)
    g = Transpose((0, 2, 3, 1)).backward(ctx, rng.normal(size=(3, 5, 2, 4)))[0]
    assert g.flags.c_contiguous
    assert Transpose((0, 2, 1)).infer_shape((None, 3, 4)) == (None, 4, 3)
    with pytest.raises(ValueError, match=r"Transpose: perm must be a permutation of 0..2, got \(0, 2, 2\)"):
        Transpose((0, 2, 2))
    with pytest.raises(
        ValueError, match=r"expected an input of rank 3 for perm \(0, 2, 1\), got shape \(None, 3\)"
    ):
        Transpose((0, 2, 1)).infer_shape((None, 3))


# ---- Concat / Stack / Split -----------------------------------------------------------------


def test_concat(rng, tf):
    a, b, c = rng.normal(size=(3, 2, 5)), rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 1, 5))
    check_op(Concat(1), [a, b, c], np.concatenate([a, b, c], 1), tf.concat([a, b, c], 1))
    check_op(Concat(-2), [a, b], np.concatenate([a, b], 1), tf.concat([a, b], -2))
    d = rng.normal(size=(2, 2, 5))
    check_op(Concat(0), [a, d], np.concatenate([a, d], 0), tf.concat([a, d], 0))
    check_op(Concat(1), [a], a)
    # backward: views along axis 0, contiguous copies elsewhere
    _, ctx = run_op(Concat(0), a, d)
    gy = rng.normal(size=(5, 2, 5))
    ga, gd = Concat(0).backward(ctx, gy)
    assert np.shares_memory(ga, gy) and np.shares_memory(gd, gy)
    _, ctx = run_op(Concat(1), a, b)
    ga, gb = Concat(1).backward(ctx, rng.normal(size=(3, 6, 5)))
    assert ga.flags.c_contiguous and gb.flags.c_contiguous
    _, ctx = run_op(Concat(1), a, b, needs_grad=(False, True))
    assert Concat(1).backward(ctx, rng.normal(size=(3, 6, 5)))[0] is None


def test_concat_shapes_and_errors():
    assert Concat(1).infer_shape((None, 3, 4), (None, 2, 4)) == (None, 5, 4)
    assert Concat(1).infer_shape((None, None, 4), (None, 2, 4)) == (None, None, 4)
    assert Concat(0).infer_shape((None, 3), (2, 3)) == (None, 3)
    assert Concat(-1).infer_shape((None, 3), (None, None)) == (None, None)
    assert Concat(2).infer_shape((None, None, 4), (None, 3, 1)) == (None, 3, 5)
    with pytest.raises(
        ValueError, match=r"inputs must match on all axes but 1, got \(None, 3, 4\) and \(None, 2, 5\)"
    ):
        Concat(1).infer_shape((None, 3, 4), (None, 2, 5))
    with pytest.raises(ValueError, match=r"Concat 'cat': inputs must match on all axes but 1"):
        G.apply(Concat(1), [G.input((None, 3, 4)), G.input((None, 2, 5))], name="cat")
    with pytest.raises(ValueError, match=r"inputs must have one rank, got \(None, 3\) and \(None, 3, 1\)"):
        Concat(1).infer_shape((None, 3), (None, 3, 1))
    with pytest.raises(ValueError, match=r"expected at least one input, got none"):
        Concat(0).infer_shape()
    with pytest.raises(ValueError, match=r"axis 2 is out of range for rank 2"):
        Concat(2).infer_shape((None, 3), (None, 3))
    with pytest.raises(TypeError, match=r"Concat: axis must be an int, got 1.0"):
        Concat(1.0)
    with pytest.raises(ValueError, match=r"Concat: inputs must match on all axes but 1"):
        run_op(Concat(1), np.zeros((2, 3)), np.zeros((3, 3)))


def test_concat_mixed_dtypes(rng):
    a, b = rng.normal(size=(2, 3)).astype(np.float32), rng.normal(size=(2, 2))
    y, ctx = run_op(Concat(1), a, b)
    assert y.dtype == np.float64
    ga, gb = Concat(1).backward(ctx, np.ones((2, 5)))
    assert ga.dtype == np.float32 and gb.dtype == np.float64


def test_stack(rng, tf):
    xs = [rng.normal(size=(3, 5)) for _ in range(3)]
    for axis in (0, 1, 2, -1):
        check_op(Stack(axis), xs, np.stack(xs, axis), tf.stack(xs, axis))
    assert Stack(1).infer_shape((None, 5), (None, 5)) == (None, 2, 5)
    assert Stack(-1).infer_shape((None, 5), (4, None)) == (4, 5, 2)
    with pytest.raises(ValueError, match=r"inputs must have one shape, got \(None, 5\) and \(None, 4\)"):
        Stack(0).infer_shape((None, 5), (None, 4))


@pytest.mark.parametrize(
    "axis,kw",
    [
        (1, {"n": 3}),
        (1, {"sizes": [2, 1, 3]}),
        (-1, {"sizes": [1, -1]}),
        (0, {"sizes": [2, 3]}),
        (2, {"sizes": [5, 0]}),
    ],
)
def test_split(axis, kw, rng, tf):
    x = rng.normal(size=(5, 6, 5))
    op = Split(axis, **kw)
    d = x.shape[axis]
    if "n" in kw:
        parts = [d // kw["n"]] * kw["n"]
    else:
        parts = [d - sum(s for s in kw["sizes"] if s != -1) if s == -1 else s for s in kw["sizes"]]
    ref = np.split(x, np.cumsum(parts)[:-1], axis)
    ys, _ = run_op(op, x)
    assert op.n_outputs == len(parts) == len(ys)
    tfs = tf.split(x, kw.get("n", parts), axis)
    for y, r, t in zip(ys, ref, tfs):
        assert_close(y, r, rtol=0, atol=0)
        assert_close(y, t, rtol=0, atol=0)
        assert y.flags.c_contiguous
    ys2, _ = run_op(roundtrip(op), x)
    assert all(np.array_equal(a, b) for a, b in zip(ys, ys2))
    check_grad(op, [x])


def test_split_unused_outputs(rng):
    x = rng.normal(size=(2, 7))
    op = Split(1, sizes=[2, 4, 1])
    _, ctx = run_op(op, x)
    g1 = rng.normal(size=(2, 4))
    (gx,) = op.backward(ctx, (None, g1, None))
    ref = np.zeros_like(x)
    ref[:, 2:6] = g1
    assert_close(gx, ref, rtol=0, atol=0)
    # a second backward with different unused outputs must not keep old values in the reused buffer
    g0 = rng.normal(size=(2, 2))
    (gx,) = op.backward(ctx, (g0, None, None))
    ref = np.zeros_like(x)
    ref[:, :2] = g0
    assert_close(gx, ref, rtol=0, atol=0)


def test_split_in_graph():
    x = G.input((None, 6), name="x")
    a, b, c = G.apply(Split(1, n=3), [x], name="parts")
    assert (a.shape, b.shape, c.shape) == ((None, 2), (None, 2), (None, 2))
    assert a.name == "parts:0"
    exe = Executor(Graph([x], [c]))
    xv = np.arange(12, dtype=np.float32).reshape(2, 6)
    assert_close(exe.forward([xv])[0], xv[:, 4:])
    (gx,) = exe.backward([np.ones((2, 2), np.float32)], input_grads=True)
    assert_close(gx, np.array([[0, 0, 0, 0, 1, 1]] * 2, np.float32))


def test_split_shapes_and_errors():
    assert Split(1, n=2).infer_shape((None, 6)) == ((None, 3), (None, 3))
    assert Split(0, n=2).infer_shape((None, 6)) == ((None, 6), (None, 6))
    assert Split(0, sizes=[1, -1]).infer_shape((None, 6)) == ((1, 6), (None, 6))
    assert Split(1, sizes=[1, -1]).infer_shape((None, 6)) == ((None, 1), (None, 5))
    with pytest.raises(
        ValueError, match=r"expected axis 1 of size divisible by n=4, got input shape \(None, 6\)"
    ):
        Split(1, n=4).infer_shape((None, 6))
    with pytest.raises(
        ValueError, match=r"sizes \(2, 3\) do not fit axis 1 of size 6 \(input shape \(None, 6\)\)"
    ):
        Split(1, sizes=[2, 3]).infer_shape((None, 6))
    with pytest.raises(ValueError, match=r"sizes \(4, -1, 3\) do not fit axis 1 of size 6"):
        Split(1, sizes=[4, -1, 3]).infer_shape((None, 6))
    with pytest.raises(ValueError, match=r"give exactly one of sizes .* got sizes=None, n=None"):
        Split(1)
    with pytest.raises(ValueError, match=r"Split: n must be a positive int, got 0"):
        Split(1, n=0)
    with pytest.raises(ValueError, match=r"Split: sizes must be non-empty with at most one -1"):
        Split(1, sizes=[-1, -1])
    with pytest.raises(ValueError, match=r"Split: expected axis 0 of size divisible by n=2"):
        run_op(Split(0, n=2), np.zeros((3, 2)))


# ---- Slice / GetItem / Gather ---------------------------------------------------------------


@pytest.mark.parametrize(
    "axis,start,stop,step",
    [(1, 2, 5, 1), (1, None, -1, 2), (-1, 1, None, 1), (0, 1, 3, 1), (2, None, None, -1), (1, -2, 0, -1)],
)
def test_slice(axis, start, stop, step, rng, tf):
    x = rng.normal(size=(3, 7, 5))
    idx = (slice(None),) * (axis % 3) + (slice(start, stop, step),)
    ref = x[idx]
    y = check_op(Slice(axis, start, stop, step), [x], ref, tf.convert_to_tensor(x)[idx].numpy())
    assert y.flags.c_contiguous


def test_slice_shapes_and_errors():
    assert Slice(1, 2, 5).infer_shape((None, 10)) == (None, 3)
    assert Slice(1, -3, None).infer_shape((None, 10)) == (None, 3)
    assert Slice(1, 0, 20, 3).infer_shape((None, 10)) == (None, 4)
    assert Slice(0, 0, 2).infer_shape((None, 10)) == (None, 10)
    assert Slice(1, 2, 5).infer_shape((None, None)) == (None, None)
    with pytest.raises(ValueError, match=r"Slice: step must be a non-zero int, got 0"):
        Slice(1, 0, 3, 0)
    with pytest.raises(TypeError, match=r"Slice: start must be an int or None, got 1.5"):
        Slice(1, 1.5)
    with pytest.raises(ValueError, match=r"axis 2 is out of range for rank 2"):
        Slice(2, 0, 1).infer_shape((None, 3))


def test_getitem(rng, tf):
    x = rng.normal(size=(3, 4, 5, 6))
    t = tf.convert_to_tensor(x)
    cases = [
        ([Ellipsis, slice(1, 3)], (Ellipsis, slice(1, 3))),
        ([slice(None), 2], (slice(None), 2)),
        (["...", [None, None, -1]], (Ellipsis, slice(None, None, -1))),
        ([1, slice(0, 4, 2), Ellipsis, 3], (1, slice(0, 4, 2), Ellipsis, 3)),
        ([0, 1, 2, 3], (0, 1, 2, 3)),
        ((slice(1, None), -1, slice(None, 2)), (slice(1, None), -1, slice(None, 2))),
    ]
    for index, np_index in cases:
        op = GetItem(index)
        y = check_op(op, [x], x[np_index], t[np_index].numpy())
        assert isinstance(y, np.ndarray)


def test_getitem_shapes_and_errors():
    assert GetItem([Ellipsis, slice(1, 3)]).infer_shape((None, 4, 6)) == (None, 4, 2)
    assert GetItem([slice(None), 0]).infer_shape((None, 4, 6)) == (None, 6)
    assert GetItem([0]).infer_shape((None, 4)) == (4,)
    assert GetItem([Ellipsis]).infer_shape((None, 4)) == (None, 4)
    with pytest.raises(ValueError, match=r"index 4 is out of range for axis 1 of size 4"):
        GetItem([slice(None), 4]).infer_shape((None, 4))
    with pytest.raises(ValueError, match=r"index \[0, 0, 0\] has 3 entries, more than the input's rank 2"):
        GetItem([0, 0, 0]).infer_shape((None, 4))
    with pytest.raises(ValueError, match=r"GetItem: new axes \(None\) are not supported"):
        GetItem([None, 0])
    with pytest.raises(ValueError, match=r"GetItem: index may hold one Ellipsis"):
        GetItem([Ellipsis, 0, Ellipsis])
    with pytest.raises(TypeError, match=r"GetItem: index items must be ints, slices"):
        GetItem([1.5])
    with pytest.raises(ValueError, match=r"GetItem: index 5 is out of bounds"):
        run_op(GetItem([5]), np.zeros((3, 2)))


@pytest.mark.parametrize("axis,indices", [(1, [2, 0, 4]), (0, [1, 1, -1]), (2, [[0, 1], [1, 1]]), (-1, [3])])
def test_gather(axis, indices, rng, tf):
    x = rng.normal(size=(3, 5, 4))
    ref = np.take(x, indices, axis=axis)
    wrapped = np.mod(indices, x.shape[axis])  # tf.gather rejects negative indices on CPU
    check_op(Gather(axis, indices), [x], ref, tf.gather(x, wrapped, axis=axis))
    idx = np.array(indices, dtype=np.float64)  # indices as a (non-differentiable) input
    y, _ = run_op(Gather(axis), x, idx)
    assert_close(y, ref, rtol=0, atol=0)
    check_grad(Gather(axis), [x, idx])
    _, ctx = run_op(Gather(axis), x, np.array(indices), needs_grad=(True, False))
    gy = rng.normal(size=ref.shape)
    gx, gi = Gather(axis).backward(ctx, gy)
    assert gi is None
    ax, idx = axis % 3, np.array(indices)
    naive = np.zeros_like(x)  # scatter-add position by position
    for p in np.ndindex(idx.shape):
        src = (slice(None),) * ax + p
        naive[(slice(None),) * ax + (idx[p],)] += gy[src]
    assert_close(gx, naive, rtol=1e-12)


def test_gather_shapes_and_errors():
    assert Gather(1, [0, 2]).infer_shape((None, 5, 3)) == (None, 2, 3)
    assert Gather(0).infer_shape((10, 4), (None, 7)) == (None, 7, 4)
    with pytest.raises(
        ValueError, match=r"indices must lie in \[-5, 5\) for axis 1 of size 5, got \[5, -6\]"
    ):
        Gather(1, [0, 5, -6]).infer_shape((None, 5))
    with pytest.raises(
        ValueError,
        match=r"expected indices either as the op's indices= or as a second input, got "
        r"neither",
    ):
        Gather(1).infer_shape((None, 5))
    with pytest.raises(ValueError, match=r"got both"):
        Gather(1, [0]).infer_shape((None, 5), (3,))
    with pytest.raises(TypeError, match=r"Gather: indices must be ints, got \[0.5\]"):
        Gather(1, [0.5])
    with pytest.raises(
        ValueError,
        match=r"Gather: indices must lie in \[-4, 4\) for axis 0 of size 4, got min 0 "
        r"and max 4",
    ):
        run_op(Gather(0), np.zeros((4, 2)), np.array([0, 4]))


# ---- Pad / Repeat / Tile --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["constant", "reflect", "symmetric"])
def test_pad(mode, rng, tf):
    x = rng.normal(size=(3, 4, 5))
    for pads in [((0, 0), (1, 2), (3, 1)), ((1, 1), (0, 3), (0, 0)), ((2, 0), (0, 0), (4, 4))]:
        kw = {"constant_values": 1.5} if mode == "constant" else {}
        op = Pad(pads, mode, 1.5) if mode == "constant" else Pad(pads, mode)
        ref = np.pad(x, pads, mode=mode, **kw)
        check_op(op, [x], ref, tf.pad(x, pads, mode=mode.upper(), **kw))
        y, _ = run_op(op, x)  # second call on the reused buffer stays right
        y, _ = run_op(op, x)
        assert_close(y, ref, rtol=0, atol=0)


def test_pad_buffer_reuse(rng):
    op = Pad(((0, 0), (2, 1)), value=-1.0)
    x = rng.normal(size=(2, 3))
    y, ctx = run_op(op, x)
    y[...] = 7.0  # stale buffer contents must be overwritten everywhere
    assert_close(op.forward(ctx, x), np.pad(x, ((0, 0), (2, 1)), constant_values=-1.0), rtol=0, atol=0)


def test_pad_shapes_and_errors():
    assert Pad(((0, 0), (1, 2))).infer_shape((None, 4)) == (None, 7)
    assert Pad(((1, 0), (1, 2))).infer_shape((None, None)) == (None, None)
    with pytest.raises(
        ValueError, match=r"expected pads for each of the 3 axes of input \(None, 4, 5\), got 2 pairs"
    ):
        Pad(((0, 0), (1, 2))).infer_shape((None, 4, 5))
    with pytest.raises(
        ValueError, match=r"reflect padding of axis 1 \(size 3\) allows pads up to 2, got \(3, 0\)"
    ):
        Pad(((0, 0), (3, 0)), "reflect").infer_shape((None, 3))
    assert Pad(((0, 0), (3, 0)), "symmetric").infer_shape((None, 3)) == (None, 6)
    with pytest.raises(
        ValueError, match=r"Pad: mode must be one of \('constant', 'reflect', 'symmetric'\), got 'edge'"
    ):
        Pad(((0, 0),), "edge")
    with pytest.raises(ValueError, match=r"Pad: pads must be \(before, after\) pairs of non-negative ints"):
        Pad(((0, -1),))
    with pytest.raises(TypeError, match=r"Pad: pads must be a sequence of \(before, after\) pairs"):
        Pad(3)
    with pytest.raises(ValueError, match=r"Pad: reflect padding of axis 0 \(size 2\) allows pads up to 1"):
        run_op(Pad(((2, 0),), "reflect"), np.zeros(2))


@pytest.mark.parametrize("repeats,axis", [(3, 1), (2, 0), (1, -1), (4, 2)])
def test_repeat(repeats, axis, rng, tf):
    x = rng.normal(size=(3, 2, 5))
    check_op(Repeat(repeats, axis), [x], np.repeat(x, repeats, axis), tf.repeat(x, repeats, axis))
    assert Repeat(3, 1).infer_shape((None, 4)) == (None, 12)
    assert Repeat(3, 0).infer_shape((None, 4)) == (None, 4)


def test_repeat_errors():
    with pytest.raises(ValueError, match=r"Repeat: repeats must be a positive int, got 0"):
        Repeat(0, 1)
    with pytest.raises(ValueError, match=r"axis 2 is out of range for rank 2"):
        Repeat(2, 2).infer_shape((None, 4))


@pytest.mark.parametrize("multiples", [(1, 2, 3), (2, 1, 1), (3, 3, 2)])
def test_tile(multiples, rng, tf):
    x = rng.normal(size=(3, 2, 5))
    check_op(Tile(multiples), [x], np.tile(x, multiples), tf.tile(x, multiples))


def test_tile_shapes_and_errors():
    assert Tile((1, 3)).infer_shape((None, 4)) == (None, 12)
    with pytest.raises(
        ValueError, match=r"expected an input of rank 3 for multiples \(1, 2, 3\), got shape \(None, 4\)"
    ):
        Tile((1, 2, 3)).infer_shape((None, 4))
    with pytest.raises(ValueError, match=r"Tile: multiples must hold ints >= 1, got \(1, 0\)"):
        Tile((1, 0))


# ---- whole graphs ---------------------------------------------------------------------------


def test_graph_float32_round_trip(rng):
    """A chain of shape ops in float32: the input gradient is the exact inverse permutation."""
    x = G.input((None, 4, 6), name="x")
    t = G.apply(Transpose((0, 2, 1)), [x])
    r = G.apply(Reshape((0, -1)), [t])
    a, b = G.apply(Split(1, sizes=[10, -1]), [r])
    y = G.apply(Concat(1), [b, a])
    assert y.shape == (None, 24)
    exe = Executor(Graph([x], [y]))
    xv = rng.normal(size=(3, 4, 6)).astype(np.float32)
    out = exe.forward([xv])[0]
    flat = xv.transpose(0, 2, 1).reshape(3, 24)
    ref = np.concatenate([flat[:, 10:], flat[:, :10]], 1)
    assert out.dtype == np.float32
    assert_close(out, ref, rtol=0, atol=0)
    (gx,) = exe.backward([ref.copy()], input_grads=True)
    assert gx.dtype == np.float32
    assert_close(gx, xv, rtol=0, atol=0)
