import itertools
import math

import numpy as np
import pytest

from tests.harness import assert_close, check_grad, check_threads, run_op
from zoo.engine.kernels import pool as K
from zoo.engine.ops.base import from_config
from zoo.engine.ops.conv import same_pads
from zoo.engine.ops.pool import AvgPool1D, AvgPool2D, GlobalAvgPool, GlobalMaxPool, MaxPool1D, MaxPool2D

# ---- numpy reference ----------------------------------------------------------------------


def _out_size(size, k, s, lo, hi, ceil_mode):
    if not ceil_mode:
        return (size + lo + hi - k) // s + 1
    out = math.ceil((size + lo + hi - k) / s) + 1
    if (out - 1) * s >= size + lo:  # Caffe: the last window must start inside the image or left padding
        out -= 1
    return out


def _naive_pool(x, k, s, pads, mode, ceil_mode=False, count_include_pad=False):
    """Window by window over the last two axes; divisor = pixels, or the window clipped to the padded image."""
    h, w = x.shape[-2:]
    (pt, pb), (pl, pr) = pads
    oh = _out_size(h, k[0], s[0], pt, pb, ceil_mode)
    ow = _out_size(w, k[1], s[1], pl, pr, ceil_mode)
    y = np.zeros(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            hs, ws = i * s[0] - pt, j * s[1] - pl
            he, we = hs + k[0], ws + k[1]
            win = x[..., max(hs, 0) : min(he, h), max(ws, 0) : min(we, w)]
            if mode == "max":
                y[..., i, j] = win.max(axis=(-1, -2))
            else:
                if count_include_pad:
                    div = (min(he, h + pb) - hs) * (min(we, w + pr) - ws)
                else:
                    div = win.shape[-1] * win.shape[-2]
                y[..., i, j] = win.sum(axis=(-1, -2)) / div
    return y


def _resolve(padding, hw, k, s):
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding == "same":
        return tuple(same_pads(hw[a], k[a], s[a]) for a in range(2))
    return padding


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# ---- 2-D pooling --------------------------------------------------------------------------

GRID = list(itertools.product([2, 3, (3, 2)], [None, 1, 2], ["valid", "same", ((1, 0), (2, 1))]))


def _ids(p):
    k, s, pad = p
    return f"k{k}-s{s}-{pad if isinstance(pad, str) else 'explicit'}"


@pytest.mark.parametrize("k,s,padding", GRID, ids=[_ids(p) for p in GRID])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool2d_matches_reference_and_gradients(kind, k, s, padding, rng):
    if not isinstance(padding, str) and min(_pair(k)) < 3:
        padding = ((1, 0), (1, 1))  # pads must stay below the pool size
    x = rng.normal(size=(2, 3, 7, 6))
    op = (MaxPool2D if kind == "max" else AvgPool2D)(k, s, padding)
    y, _ = run_op(op, x)
    kk, ss = _pair(k), _pair(k if s is None else s)
    pads = _resolve(padding, (7, 6), kk, ss)
    assert_close(y, _naive_pool(x, kk, ss, pads, kind), rtol=1e-12, atol=1e-12)
    assert op.infer_shape((None, 3, 7, 6)) == (None,) + y.shape[1:]
    check_grad(op, [x])


@pytest.mark.parametrize(
    "k,s,padding",
    [p for p in GRID if isinstance(p[2], str)],
    ids=[_ids(p) for p in GRID if isinstance(p[2], str)],
)
def test_pool2d_matches_tensorflow(k, s, padding, rng, tf):
    x = rng.normal(size=(3, 4, 9, 8)).astype(np.float32)
    xt = x.transpose(0, 2, 3, 1)
    kk, ss = _pair(k), _pair(k if s is None else s)
    for op, fn in [
        (MaxPool2D(k, s, padding), tf.nn.max_pool2d),
        (AvgPool2D(k, s, padding), tf.nn.avg_pool2d),
    ]:
        y, _ = run_op(op, x)
        ref = fn(xt, list(kk), list(ss), padding.upper()).numpy().transpose(0, 3, 1, 2)
        assert_close(y, ref, rtol=1e-5, atol=1e-6, err_msg=type(op).__name__)


def test_pool2d_explicit_padding_matches_tensorflow(rng, tf):
    x = rng.normal(size=(2, 3, 8, 9)).astype(np.float32)
    pads = ((1, 2), (2, 0))
    # max: padding never wins, the same as padding with -inf; avg with count_include_pad: zeros
    y, _ = run_op(MaxPool2D(3, 2, pads), x)
    xp = np.pad(x, ((0, 0), (0, 0), *pads), constant_values=-np.inf).transpose(0, 2, 3, 1)
    assert_close(y, tf.nn.max_pool2d(xp, 3, 2, "VALID").numpy().transpose(0, 3, 1, 2), rtol=1e-6)
    y, _ = run_op(AvgPool2D(3, 2, pads, count_include_pad=True), x)
    xp = np.pad(x, ((0, 0), (0, 0), *pads)).transpose(0, 2, 3, 1)
    assert_close(y, tf.nn.avg_pool2d(xp, 3, 2, "VALID").numpy().transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-6)


CEIL_GRID = [
    (ks, pads, c, i)
    for ks, pads, c, i in itertools.product(
        [(3, 2), (2, 2), (3, 3)],
        [((0, 0), (0, 0)), ((1, 1), (1, 0)), ((2, 0), (0, 2))],
        [False, True],
        [False, True],
    )
    if max(max(p) for p in pads) < ks[0]
]  # pads stay below the pool size


@pytest.mark.parametrize("ks,pads,ceil_mode,cip", CEIL_GRID)
def test_avg_and_max_pool_ceil_mode_and_count_include_pad(ks, pads, ceil_mode, cip, rng):
    k, s = ks
    x = rng.normal(size=(2, 2, 8, 7))
    avg = AvgPool2D(k, s, pads, ceil_mode=ceil_mode, count_include_pad=cip)
    y, _ = run_op(avg, x)
    assert_close(y, _naive_pool(x, (k, k), (s, s), pads, "avg", ceil_mode, cip), rtol=1e-12, atol=1e-12)
    assert avg.infer_shape((None, 2, 8, 7)) == (None,) + y.shape[1:]
    check_grad(avg, [x])
    mx = MaxPool2D(k, s, pads, ceil_mode=ceil_mode)
    y, _ = run_op(mx, x)
    assert_close(y, _naive_pool(x, (k, k), (s, s), pads, "max", ceil_mode), rtol=1e-12, atol=1e-12)
    check_grad(mx, [x])


def test_ceil_mode_output_sizes():
    # Caffe / PyTorch sizes
    assert K.pool_output_size(7, 2, 2, 0, 0, True) == 4
    assert K.pool_output_size(7, 2, 2, 0, 0, False) == 3
    assert K.pool_output_size(6, 2, 2, 0, 0, True) == 3
    assert K.pool_output_size(5, 3, 2, 1, 1, True) == 3  # the 4th window would start in the bottom padding
    assert K.pool_output_size(112, 3, 2, 0, 0, True) == 56
    assert MaxPool2D(3, 2, ceil_mode=True).infer_shape((None, 64, 112, 111)) == (None, 64, 56, 55)


def test_max_pool_ties_and_nan():
    x = np.ones((1, 1, 4, 4))
    op = MaxPool2D(2)
    _, ctx = run_op(op, x)
    (dx,) = op.backward(ctx, np.arange(1.0, 5.0).reshape(1, 1, 2, 2))
    expected = np.zeros((4, 4))
    expected[0, 0], expected[0, 2], expected[2, 0], expected[2, 2] = (
        1,
        2,
        3,
        4,
    )  # the first maximum of each window
    np.testing.assert_array_equal(dx[0, 0], expected)
    x[0, 0, 1, 1] = np.nan
    y, _ = run_op(MaxPool2D(2), x.astype(np.float32))
    assert np.isnan(y[0, 0, 0, 0]) and np.all(y[0, 0].ravel()[1:] == 1)


def test_pool2d_threads_bitwise(rng):
    x = rng.normal(size=(8, 16, 33, 31)).astype(np.float32)
    gy_shape = (8, 16, 17, 16)
    gy = rng.normal(size=gy_shape).astype(np.float32)

    def run():
        out = []
        for op in (
            MaxPool2D(3, 2, "same"),
            AvgPool2D(3, 2, "same", count_include_pad=True),
            MaxPool2D(2),
            AvgPool2D(2),
        ):
            y, ctx = run_op(op, x)
            g = gy if y.shape == gy.shape else gy[:, :, : y.shape[2], : y.shape[3]].copy()
            out += [y.copy(), op.backward(ctx, g)[0].copy()]
        return out

    check_threads(run, exact=True)


def test_pool_float32_and_non_contiguous(rng):
    x = rng.normal(size=(2, 7, 6, 3)).transpose(0, 3, 1, 2)
    assert not x.flags.c_contiguous
    for op in (MaxPool2D(3, 2, "same"), AvgPool2D(2, 1, ((1, 0), (0, 1)), count_include_pad=True)):
        y64, ctx = run_op(op, x)
        y32, ctx32 = run_op(op, x.astype(np.float32))
        assert y32.dtype == np.float32
        assert_close(y32, y64, rtol=1e-6, atol=1e-6)
        ref, _ = run_op(op, np.ascontiguousarray(x))
        assert_close(y64, ref, rtol=0, atol=0)
        gy = rng.normal(size=y64.shape[::-1]).transpose(3, 2, 1, 0)
        (dx,) = op.backward(ctx, gy)
        (dx32,) = op.backward(ctx32, gy.astype(np.float32))
        assert dx32.dtype == np.float32
        assert_close(dx32, dx, rtol=1e-5, atol=1e-6)


def test_pool_needs_no_grad():
    _, ctx = run_op(MaxPool2D(2), np.zeros((1, 1, 4, 4)), needs_grad=(False,))
    assert MaxPool2D(2).backward(ctx, np.zeros((1, 1, 2, 2))) == (None,)


# ---- 1-D pooling --------------------------------------------------------------------------

GRID1 = list(itertools.product([2, 3], [None, 1, 2], ["valid", "same", (1, 2)], [False, True]))


@pytest.mark.parametrize("k,s,padding,ceil_mode", GRID1)
def test_pool1d_matches_reference_gradients_and_tensorflow(k, s, padding, ceil_mode, rng, tf):
    if not isinstance(padding, str) and max(padding) >= k:
        padding = (1, 1) if k > 1 else 0
    x = rng.normal(size=(2, 3, 11))
    ss = k if s is None else s
    pads = _resolve(padding if isinstance(padding, str) else ((0, 0), padding), (1, 11), (1, k), (1, ss))
    for kind, cls in (("max", MaxPool1D), ("avg", AvgPool1D)):
        op = cls(k, s, padding, ceil_mode)
        y, _ = run_op(op, x)
        ref = _naive_pool(x[:, :, None], (1, k), (1, ss), pads, kind, ceil_mode)[:, :, 0]
        assert_close(y, ref, rtol=1e-12, atol=1e-12)
        assert op.infer_shape((None, 3, 11)) == (None,) + y.shape[1:]
        check_grad(op, [x])
        if isinstance(padding, str) and not ceil_mode:
            fn = tf.nn.max_pool1d if kind == "max" else tf.nn.avg_pool1d
            yt = (
                fn(x.transpose(0, 2, 1).astype(np.float32), k, ss, padding.upper()).numpy().transpose(0, 2, 1)
            )
            assert_close(y, yt, rtol=1e-5, atol=1e-6)


def test_avg_pool1d_count_include_pad(rng):
    x = rng.normal(size=(2, 3, 10))
    op = AvgPool1D(3, 2, (2, 1), ceil_mode=True, count_include_pad=True)
    y, _ = run_op(op, x)
    ref = _naive_pool(x[:, :, None], (1, 3), (1, 2), ((0, 0), (2, 1)), "avg", True, True)[:, :, 0]
    assert_close(y, ref, rtol=1e-12, atol=1e-12)
    check_grad(op, [x])


# ---- global pooling -----------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 7, 6), (2, 3, 3, 4, 5), (3, 2, 1, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pools(shape, keepdims, rng, tf):
    x = rng.normal(size=shape)
    axes = tuple(range(2, len(shape)))
    for op, ref, tfn in (
        (GlobalAvgPool(keepdims), x.mean(axis=axes, keepdims=keepdims), tf.reduce_mean),
        (GlobalMaxPool(keepdims), x.max(axis=axes, keepdims=keepdims), tf.reduce_max),
    ):
        y, _ = run_op(op, x)
        assert_close(y, ref, rtol=1e-12, atol=1e-12)
        assert op.infer_shape((None,) + shape[1:]) == (None,) + y.shape[1:]
        check_grad(op, [x])
        y32, _ = run_op(op, x.astype(np.float32))
        assert y32.dtype == np.float32
        assert_close(
            y32, tfn(x.astype(np.float32), axis=axes, keepdims=keepdims).numpy(), rtol=1e-5, atol=1e-6
        )


def test_global_pool_threads_bitwise(rng):
    x = rng.normal(size=(16, 32, 9, 9)).astype(np.float32)
    gy = rng.normal(size=(16, 32)).astype(np.float32)

    def run():
        out = []
        for op in (GlobalAvgPool(), GlobalMaxPool()):
            y, ctx = run_op(op, x)
            out += [y.copy(), op.backward(ctx, gy)[0].copy()]
        return out

    check_threads(run, exact=True)


# ---- kernels ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pool_kernels_add_into_dx(dtype, rng):
    x = rng.normal(size=(2, 3, 6, 5)).astype(dtype)
    g = K.PoolGeometry(x.shape, (3, 2), (2, 1), ((1, 1), (0, 1)))
    y = np.empty(g.out_shape, dtype)
    arg = np.empty(g.out_shape, np.int32)
    K.maxpool2d_forward(x, y, arg, g)
    assert_close(y, _naive_pool(x.astype(np.float64), (3, 2), (2, 1), ((1, 1), (0, 1)), "max"), rtol=1e-6)
    np.testing.assert_array_equal(
        np.take_along_axis(x.reshape(2, 3, -1), arg.reshape(2, 3, -1), -1), y.reshape(2, 3, -1)
    )
    gy = rng.normal(size=g.out_shape).astype(dtype)
    dx = np.ones(x.shape, dtype)
    K.maxpool2d_backward(gy, arg, dx, g)
    dx0 = K.maxpool2d_backward(gy, arg, np.zeros(x.shape, dtype), g)
    assert_close(dx, dx0 + 1, rtol=1e-6)
    dx.fill(7)
    np.testing.assert_array_equal(K.maxpool2d_backward(gy, arg, dx, g, overwrite=True), dx0)
    da = K.avgpool2d_backward(gy, np.ones(x.shape, dtype), g)
    da0 = K.avgpool2d_backward(gy, np.full(x.shape, 3, dtype), g, overwrite=True)
    assert_close(da, da0 + 1, rtol=1e-6)
    # avg backward is the adjoint of avg forward
    ya = K.avgpool2d_forward(x, np.empty(g.out_shape, dtype), g)
    assert np.isclose(np.sum(ya * gy, dtype=np.float64), np.sum(x * da0, dtype=np.float64), rtol=1e-4)


def test_pool_kernel_wrappers_reject_bad_arguments(rng):
    x = rng.normal(size=(2, 3, 6, 5)).astype(np.float32)
    g = K.PoolGeometry(x.shape, (2, 2), (2, 2), ((0, 0), (0, 0)))
    y = np.zeros(g.out_shape, np.float32)
    arg = np.zeros(g.out_shape, np.int32)
    with pytest.raises(TypeError, match=r"maxpool2d_forward: argmax must be an int32 array, got int64"):
        K.maxpool2d_forward(x, y, arg.astype(np.int64), g)
    with pytest.raises(ValueError, match=r"expected argmax of shape \(2, 3, 3, 2\), got \(2, 3, 3, 3\)"):
        K.maxpool2d_forward(x, y, np.zeros((2, 3, 3, 3), np.int32), g)
    with pytest.raises(ValueError, match=r"maxpool2d_forward: expected x of shape \(2, 3, 6, 5\)"):
        K.maxpool2d_forward(x[:1], y, arg, g)
    with pytest.raises(ValueError, match=r"expected out of shape"):
        K.avgpool2d_forward(x, np.zeros((2, 3, 2, 2), np.float32), g)
    with pytest.raises(TypeError, match=r"all arrays must share one dtype"):
        K.avgpool2d_forward(x, y.astype(np.float64), g)
    with pytest.raises(ValueError, match=r"C-contiguous"):
        K.avgpool2d_backward(np.asfortranarray(y), np.zeros_like(x), g)
    ro = np.zeros_like(x)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"read-only"):
        K.maxpool2d_backward(y, arg, ro, g)
    with pytest.raises(TypeError, match=r"expected a PoolGeometry"):
        K.maxpool2d_forward(x, y, arg, (2, 2))


@pytest.mark.parametrize(
    "args,match",
    [
        (((7,), (2, 2), (2, 2), ((0, 0), (0, 0))), r"expected an input shape \(\.\.\., H, W\)"),
        (
            ((2, 3, 7, 6), (0, 2), (2, 2), ((0, 0), (0, 0))),
            r"pool size and strides must be pairs of positive ints",
        ),
        (((2, 3, 7, 6), (2, 2), (2, 2), ((2, 0), (0, 0))), r"padding must be smaller than the pool size"),
        (((2, 3, 7, 6), (2, 2), (2, 2), ((0, -1), (0, 0))), r"pads must be non-negative"),
        (
            ((2, 3, 1, 6), (2, 2), (2, 2), ((0, 0), (0, 0))),
            r"pool size \(2, 2\) is larger than the padded input 1x6",
        ),
    ],
)
def test_pool_geometry_errors(args, match):
    with pytest.raises(ValueError, match=match):
        K.PoolGeometry(*args)


def test_pool_bad_inputs():
    with pytest.raises(ValueError, match=r"expected a 4-D input \(N, C, H, W\), got shape \(None, 3, 7\)"):
        MaxPool2D(2).infer_shape((None, 3, 7))
    with pytest.raises(ValueError, match=r"MaxPool2D: expected a 4-D input"):
        run_op(MaxPool2D(2), np.zeros((2, 3, 7)))
    with pytest.raises(ValueError, match=r"AvgPool2D: pool size \(3, 3\) is larger than the padded input"):
        run_op(AvgPool2D(3), np.zeros((2, 3, 2, 7)))
    with pytest.raises(ValueError, match=r"pool size \(8, 8\) is larger than the padded input"):
        MaxPool2D(8).infer_shape((None, 3, 7, 7))
    with pytest.raises(TypeError, match=r"MaxPool2D: expected a float32 or float64 input, got dtype float16"):
        run_op(MaxPool2D(2), np.zeros((2, 3, 4, 4), np.float16))
    with pytest.raises(TypeError, match=r"expected a numpy array, got list"):
        run_op(AvgPool2D(2), [[1.0]])
    with pytest.raises(ValueError, match=r"MaxPool2D: padding must be smaller than the pool size \(2, 2\)"):
        MaxPool2D(2, padding=2)
    with pytest.raises(
        ValueError, match=r"MaxPool2D: pool_size must be a positive int or a pair of them, got 0"
    ):
        MaxPool2D(0)
    with pytest.raises(ValueError, match=r"AvgPool2D: strides must be"):
        AvgPool2D(2, strides=(1, 0))
    with pytest.raises(ValueError, match=r"padding must be 'valid', 'same'"):
        AvgPool2D(2, padding="full")
    with pytest.raises(TypeError, match=r"ceil_mode must be a bool"):
        MaxPool2D(2, ceil_mode="yes")
    with pytest.raises(TypeError, match=r"count_include_pad must be a bool"):
        AvgPool2D(2, count_include_pad=1)
    with pytest.raises(ValueError, match=r"MaxPool1D: pool_size must be a positive int, got \(2, 2\)"):
        MaxPool1D((2, 2))
    with pytest.raises(ValueError, match=r"AvgPool1D: strides must be a positive int or None"):
        AvgPool1D(2, 0)
    with pytest.raises(
        ValueError, match=r"MaxPool1D: padding must be 'valid', 'same', a non-negative int or a pair"
    ):
        MaxPool1D(2, padding=((1, 1), (1, 1)))
    with pytest.raises(ValueError, match=r"MaxPool1D: expected a 3-D input \(N, C, L\)"):
        run_op(MaxPool1D(2), np.zeros((2, 3, 4, 4)))
    with pytest.raises(
        ValueError, match=r"expected an input \(N, C, spatial\.\.\.\) of rank >= 3, got shape \(2, 3\)"
    ):
        run_op(GlobalAvgPool(), np.zeros((2, 3)))
    with pytest.raises(
        TypeError, match=r"GlobalMaxPool: expected a float32 or float64 input, got dtype int32"
    ):
        run_op(GlobalMaxPool(), np.zeros((2, 3, 4), np.int32))
    with pytest.raises(TypeError, match=r"keepdims must be a bool"):
        GlobalAvgPool(keepdims="no")
    _, ctx = run_op(MaxPool2D(2), np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"MaxPool2D: expected an output gradient of shape \(2, 3, 2, 2\)"):
        MaxPool2D(2).backward(ctx, np.zeros((2, 3, 2, 3)))
    _, ctx = run_op(GlobalAvgPool(), np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"GlobalAvgPool: expected an output gradient of shape \(2, 3\)"):
        GlobalAvgPool().backward(ctx, np.zeros((2, 3, 1, 1)))


def test_pool_configs_round_trip():
    ops = [
        MaxPool2D(3, 2, "same", True),
        AvgPool2D((2, 3), (1, 2), ((1, 0), (0, 2)), False, True),
        MaxPool1D(3, 1, (1, 2), True),
        AvgPool1D(2, None, "same", False, True),
        GlobalAvgPool(True),
        GlobalMaxPool(),
    ]
    for op in ops:
        cfg = op.get_config()
        again = from_config(op.type_name, cfg)
        assert type(again) is type(op) and again.get_config() == cfg
    assert MaxPool1D(3, 1, (1, 2)).get_config()["padding"] == [1, 2]
