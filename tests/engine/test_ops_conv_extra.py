"""3-D convolution and pooling, transposed convolutions, locally connected products, upsampling
and bilinear resizing: numpy references, TensorFlow parity, gradients, threads, bad input."""

import itertools

import numpy as np
import pytest

from tests.harness import assert_close, check_grad, check_threads, run_op
from zoo.engine.kernels import conv3d as K
from zoo.engine.ops import chunks
from zoo.engine.ops import conv3d as C3
from zoo.engine.ops.base import from_config
from zoo.engine.ops.conv3d import AvgPool3D, Conv3D, MaxPool3D, same_pads
from zoo.engine.ops.conv_extra import (
    BlockGradient,
    ConvTranspose1D,
    ConvTranspose2D,
    ConvTranspose3D,
    LocallyConnected1D,
    LocallyConnected2D,
    ResizeBilinear,
    Upsample,
)

# ---- numpy references ------------------------------------------------------------------------------


def _pads(padding, sizes, k, s, d):
    if padding == "valid":
        return ((0, 0),) * len(sizes)
    if padding == "same":
        return tuple(same_pads(n, k[a], s[a], d[a]) for a, n in enumerate(sizes))
    return padding


def _naive_conv(x, w, s, pads, d, groups=1, b=None):
    """N-D convolution tap by tap: y = sum_taps w[:, :, tap] . x_padded[strided window of tap]."""
    r = x.ndim - 2
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    eff = [(w.shape[2 + a] - 1) * d[a] + 1 for a in range(r)]
    out = [(xp.shape[2 + a] - eff[a]) // s[a] + 1 for a in range(r)]
    o, cg = w.shape[0], w.shape[1]
    og = o // groups
    y = np.zeros((x.shape[0], o, *out))
    for tap in itertools.product(*[range(k) for k in w.shape[2:]]):
        idx = tuple(slice(tap[a] * d[a], tap[a] * d[a] + (out[a] - 1) * s[a] + 1, s[a]) for a in range(r))
        for g in range(groups):
            xs = xp[(slice(None), slice(g * cg, (g + 1) * cg)) + idx]
            y[:, g * og : (g + 1) * og] += np.einsum(
                "oc,nc...->no...", w[(slice(g * og, (g + 1) * og), slice(None)) + tap], xs
            )
    if b is not None:
        y += b.reshape((1, -1) + (1,) * r)
    return y


def _naive_transpose(x, w, s, pads, d, out, b=None):
    """Transposed convolution by scatter: y_padded[p*s + k*d] += w[:, :, k] . x[p], then crop the pads."""
    r = x.ndim - 2
    full = [out[a] + pads[a][0] + pads[a][1] for a in range(r)]
    y = np.zeros((x.shape[0], w.shape[1], *full))
    for tap in itertools.product(*[range(k) for k in w.shape[2:]]):
        idx = tuple(
            slice(tap[a] * d[a], tap[a] * d[a] + (x.shape[2 + a] - 1) * s[a] + 1, s[a]) for a in range(r)
        )
        y[(slice(None), slice(None)) + idx] += np.einsum(
            "co,nc...->no...", w[(slice(None), slice(None)) + tap], x
        )
    crop = tuple(slice(pads[a][0], pads[a][0] + out[a]) for a in range(r))
    y = y[(slice(None), slice(None)) + crop]
    return y if b is None else y + b.reshape((1, -1) + (1,) * r)


def _naive_pool3d(x, k, s, pads, mode, cip=False):
    size = x.shape[2:]
    out = [(size[a] + pads[a][0] + pads[a][1] - k[a]) // s[a] + 1 for a in range(3)]
    y = np.zeros(x.shape[:2] + tuple(out))
    for o in itertools.product(*[range(n) for n in out]):
        lo = [o[a] * s[a] - pads[a][0] for a in range(3)]
        hi = [lo[a] + k[a] for a in range(3)]
        win = x[
            (slice(None), slice(None)) + tuple(slice(max(lo[a], 0), min(hi[a], size[a])) for a in range(3))
        ]
        if mode == "max":
            y[(slice(None), slice(None)) + o] = win.max(axis=(2, 3, 4))
        else:
            div = (
                np.prod([min(hi[a], size[a] + pads[a][1]) - lo[a] for a in range(3)])
                if cip
                else np.prod(win.shape[2:])
            )
            y[(slice(None), slice(None)) + o] = win.sum(axis=(2, 3, 4)) / div
    return y


def _naive_local(x, w, k, s, b=None):
    """Locally connected: position by position, patch flattened (c, taps)."""
    r = x.ndim - 2
    out = [(x.shape[2 + a] - k[a]) // s[a] + 1 for a in range(r)]
    y = np.zeros((x.shape[0], w.shape[2], *out))
    for p, o in enumerate(itertools.product(*[range(n) for n in out])):
        patch = x[
            (slice(None), slice(None)) + tuple(slice(o[a] * s[a], o[a] * s[a] + k[a]) for a in range(r))
        ]
        y[(slice(None), slice(None)) + o] = patch.reshape(x.shape[0], -1) @ w[p]
    return y if b is None else y + b


def _t3(v):
    return (v,) * 3 if isinstance(v, int) else tuple(v)


# ---- vol2col / col2vol kernels ---------------------------------------------------------------------


@pytest.mark.parametrize("layout", K.LAYOUTS)
@pytest.mark.parametrize(
    "shape,k,s,d,pads",
    [
        ((2, 3, 5, 6, 7), (2, 3, 2), (1, 2, 1), (1, 1, 2), ((1, 0), (1, 2), (0, 1))),
        ((3, 2, 1, 1, 9), (1, 1, 3), (1, 1, 2), (1, 1, 1), ((0, 0), (0, 0), (2, 2))),
        ((1, 1, 4, 4, 4), (3, 3, 3), (2, 2, 2), (1, 1, 1), ((2, 2), (2, 2), (2, 2))),
    ],
)
def test_im2col3d_layouts_and_col2im3d_adjoint(layout, shape, k, s, d, pads, rng):
    x = rng.normal(size=shape)
    g = K.Geometry3D(shape, k, s, d, pads, 4)
    col = np.empty(g.R * g.N * g.P)
    K.im2col3d(x, col, g, layout=layout)
    # column r of tap (a, b, e): the convolution of x with a one-hot kernel
    onehots = np.eye(g.R).reshape(g.R, g.C, *k)
    ref = np.stack([_naive_conv(x, oh[None], s, pads, d)[:, 0].reshape(g.N, g.P) for oh in onehots])
    view = {
        "rows": lambda c: c.reshape(g.R, g.N, g.P),
        "images": lambda c: c.reshape(g.N, g.R, g.P).transpose(1, 0, 2),
        "positions": lambda c: c.reshape(g.P, g.N, g.R).transpose(2, 1, 0),
    }[layout]
    np.testing.assert_array_equal(view(col), ref)
    cr = rng.normal(size=col.shape)
    dx = rng.normal(size=shape)
    K.col2im3d(cr, dx, g, layout=layout, overwrite=True)
    assert np.dot(col, cr) == pytest.approx(np.sum(x * dx), rel=1e-12)
    before = dx.copy()
    K.col2im3d(cr, dx, g, layout=layout)  # adds
    assert_close(dx, 2 * before, rtol=1e-12)


def test_im2col3d_chunks_and_threads(rng):
    x = rng.normal(size=(4, 3, 6, 5, 7)).astype(np.float32)
    g = K.Geometry3D(x.shape, (3, 2, 3), (1, 2, 1), (2, 1, 1), ((2, 2), (0, 1), (1, 1)), 4)
    full = K.im2col3d(x, np.empty(g.R * 4 * g.P, np.float32), g).reshape(g.R, 4, g.P)
    part = K.im2col3d(x, np.empty(g.R * 2 * g.P, np.float32), g, 1, 3).reshape(g.R, 2, g.P)
    np.testing.assert_array_equal(part, full[:, 1:3])
    dx = np.zeros_like(x)
    K.col2im3d(part.copy(), dx, g, 1, 3, overwrite=True)
    assert not dx[0].any() and not dx[3].any() and dx[1:3].any()
    check_threads(lambda: K.im2col3d(x, np.empty(g.R * 4 * g.P, np.float32), g).copy())
    c = rng.normal(size=g.R * 4 * g.P).astype(np.float32)
    check_threads(lambda: K.col2im3d(c, np.zeros_like(x), g).copy())


def test_kernel_wrappers_reject_bad_arguments(rng):
    x = rng.normal(size=(2, 3, 4, 4, 4))
    g = K.Geometry3D(x.shape, (2, 2, 2), (1, 1, 1), (1, 1, 1), ((0, 0),) * 3, 5)
    col = np.empty(g.R * 2 * g.P)
    with pytest.raises(ValueError, match=r"im2col3d: expected a volume of shape \(2, 3, 4, 4, 4\)"):
        K.im2col3d(x[:1], col, g)
    with pytest.raises(ValueError, match="im2col3d: expected col of 1296 elements"):
        K.im2col3d(x, col[:-1], g)
    with pytest.raises(TypeError, match="im2col3d: all arrays must share one dtype"):
        K.im2col3d(x, col.astype(np.float32), g)
    with pytest.raises(ValueError, match="must be C-contiguous"):
        K.im2col3d(np.asfortranarray(x), col, g)
    with pytest.raises(ValueError, match="layout must be one of"):
        K.im2col3d(x, col, g, layout="cols")
    with pytest.raises(ValueError, match=r"expected image range 0 <= n0 < n1 <= 2, got n0=1, n1=1"):
        K.col2im3d(col, x, g, 1, 1)
    buf = np.zeros(x.size + g.R * g.P)
    with pytest.raises(ValueError, match="col must not overlap the volume"):
        K.col2im3d(buf[x.size - 1 : x.size - 1 + g.R * g.P], buf[: x.size].reshape(x.shape), g, 0, 1)
    with pytest.raises(TypeError, match="expected a Geometry3D"):
        K.im2col3d(x, col, (2, 3, 4, 4, 4))
    with pytest.raises(ValueError, match="kernel .* is larger than the padded input"):
        K.Geometry3D((1, 1, 2, 2, 2), (3, 1, 1), (1, 1, 1), (1, 1, 1), ((0, 0),) * 3, 1)
    with pytest.raises(ValueError, match="groups=2 must divide the input channels"):
        K.Geometry3D((1, 3, 2, 2, 2), (1, 1, 1), (1, 1, 1), (1, 1, 1), ((0, 0),) * 3, 4, groups=2)
    with pytest.raises(ValueError, match=r"pads must be 3 \(before, after\) pairs"):
        K.Geometry3D((1, 1, 2, 2, 2), (1, 1, 1), (1, 1, 1), (1, 1, 1), ((0, -1),) * 3, 1)
    y = np.empty((2, 3, 2, 2, 2))
    gp = K.Geometry3D(x.shape, (2, 2, 2), (2, 2, 2), (1, 1, 1), ((0, 0),) * 3, 3)
    with pytest.raises(TypeError, match="argmax must be an int32 array"):
        K.maxpool3d_forward(x, y, np.empty(y.shape, np.int64), gp)
    with pytest.raises(ValueError, match="expected a pooling geometry"):
        K.avgpool3d_forward(x, y, g)
    with pytest.raises(
        ValueError, match=r"resize_bilinear_forward: expected an input of 120 elements \(6, 4, 5, 1\)"
    ):
        K.resize_bilinear_forward(x, np.empty(2 * 3 * 5 * 5), (6, 4, 5, 1), (5, 5))
    with pytest.raises(ValueError, match="of positive ints"):
        K.resize_bilinear_forward(x, np.empty(1), (6, 4, 0, 1), (5, 5))


def test_native_kernels_check_buffers_themselves(rng):
    """The C wrappers refuse wrong sizes and strides even when the Python checks are bypassed."""
    from zoo.engine import _native

    x = rng.normal(size=(2, 3, 4, 4, 4))
    g = K.Geometry3D(x.shape, (2, 2, 2), (1, 1, 1), (1, 1, 1), ((0, 0),) * 3, 5)
    col = np.empty(g.R * 2 * g.P)
    with pytest.raises(ValueError, match="col has 1295 elements, expected 1296"):
        _native.im2col3d(col[:-1], x, 2, 0, 2, g.args(), 2 * g.P, g.P, 1, 0, 1)
    with pytest.raises(ValueError, match="column strides .* do not fit"):
        _native.im2col3d(col, x, 2, 0, 2, g.args(), 2 * g.P, g.P, 2, 0, 1)
    with pytest.raises(ValueError, match="geometry entry 4 must lie in"):
        _native.im2col3d(col, x, 2, 0, 2, (3, 4, 4, 4, 0) + g.args()[5:], 2 * g.P, g.P, 1, 0, 1)
    with pytest.raises(ValueError, match=r"expected 0 <= n0 < n1 <= N"):
        _native.col2im3d(x, col, 2, 0, 3, g.args(), 2 * g.P, g.P, 1, 0, 0, 1)
    with pytest.raises(TypeError, match="has element format 'f', expected 'd'"):
        _native.im2col3d(col.astype(np.float32), x, 2, 0, 2, g.args(), 2 * g.P, g.P, 1, 0, 1)


# ---- Conv3D ----------------------------------------------------------------------------------------

CONV3D = [
    (1, "valid", 1, 1),
    (2, "same", 1, 1),
    ((1, 2, 3), "valid", 1, 1),
    (1, "same", (2, 1, 2), 1),
    (2, ((1, 0), (0, 2), (1, 1)), 1, 1),
    (1, "valid", 1, 3),
    (1, 2, 1, 1),
]


@pytest.mark.parametrize("s,padding,d,groups", CONV3D)
def test_conv3d_matches_reference_and_gradients(s, padding, d, groups, rng):
    x = rng.normal(size=(2, 3, 4, 5, 5))
    w = rng.normal(size=(6, 3 // groups, 2, 3, 2))
    b = rng.normal(size=6)
    op = Conv3D(s, padding, d, groups)
    y, _ = run_op(op, x, w, b)
    pads = _pads(C3.parse_padding(padding, 3, "t"), x.shape[2:], w.shape[2:], _t3(s), _t3(d))
    assert_close(y, _naive_conv(x, w, _t3(s), pads, _t3(d), groups, b), rtol=1e-10, atol=1e-10)
    assert op.infer_shape((None,) + x.shape[1:], w.shape, b.shape) == (None,) + y.shape[1:]
    check_grad(op, [x[:, :, :3, :4, :4], w, b])


def test_conv3d_1x1_and_chunked_backward(rng, monkeypatch):
    x = rng.normal(size=(3, 4, 2, 3, 3))
    check_grad(Conv3D(), [x, rng.normal(size=(5, 4, 1, 1, 1)), rng.normal(size=5)])
    check_grad(Conv3D(), [x, rng.normal(size=(5, 4, 1, 1, 1))])
    monkeypatch.setattr(chunks, "COL_CHUNK_BYTES", 1)  # one image per chunk: dW summed over chunks
    w = rng.normal(size=(2, 4, 2, 2, 2))
    op = Conv3D(1, "same")
    y, ctx = run_op(op, x, w)
    assert len(ctx.conv3d_plan.chunks) == 3
    assert_close(
        y, _naive_conv(x, w, (1,) * 3, _pads("same", x.shape[2:], (2,) * 3, (1,) * 3, (1,) * 3), (1,) * 3)
    )
    check_grad(op, [x, w])


@pytest.mark.parametrize(
    "s,padding,d", [(1, "valid", 1), (2, "same", 1), ((1, 2, 2), "valid", 1), (1, "same", 2)]
)
def test_conv3d_matches_tensorflow(s, padding, d, rng, tf):
    x = rng.normal(size=(2, 3, 5, 6, 7)).astype(np.float32)
    w = rng.normal(size=(4, 3, 2, 3, 3)).astype(np.float32)
    y, _ = run_op(Conv3D(s, padding, d), x, w)
    t = (
        tf.nn.convolution(
            x.transpose(0, 2, 3, 4, 1),
            w.transpose(2, 3, 4, 1, 0),
            strides=s,
            padding=padding.upper(),
            dilations=d,
        )
        .numpy()
        .transpose(0, 4, 1, 2, 3)
    )
    assert_close(y, t, rtol=1e-5, atol=1e-5)


def test_conv3d_threads_float32_and_buffers(rng):
    x = rng.normal(size=(3, 4, 5, 6, 6)).astype(np.float32)
    w = rng.normal(size=(5, 4, 3, 3, 3)).astype(np.float32)
    b = rng.normal(size=5).astype(np.float32)
    op = Conv3D(1, "same")

    def run():
        y, ctx = run_op(op, x, w, b)
        return (y.copy(), *[g.copy() for g in op.backward(ctx, np.ones_like(y))])

    check_threads(run)
    y32, _ = run_op(op, x, w, b)
    y64, _ = run_op(op, x.astype(np.float64), w.astype(np.float64), b.astype(np.float64))
    assert y32.dtype == np.float32 and y64.dtype == np.float64
    assert_close(y32, y64, rtol=1e-4, atol=1e-4)
    # a Fortran-ordered input and a second call with the same context
    y, ctx = run_op(op, np.asfortranarray(x), w, b)
    assert_close(y, y32)
    assert op.forward(ctx, x, w, b) is y


def test_conv3d_bad_inputs(rng):
    x = rng.normal(size=(2, 3, 4, 4, 4))
    with pytest.raises(
        ValueError, match=r"Conv3D: expected 4 input channels \(weight \(2, 4, 1, 1, 1\), groups=1\)"
    ):
        run_op(Conv3D(), x, rng.normal(size=(2, 4, 1, 1, 1)))
    with pytest.raises(ValueError, match="Conv3D: kernel .* is larger than the padded input"):
        run_op(Conv3D(), x, rng.normal(size=(2, 3, 5, 1, 1)))
    with pytest.raises(
        ValueError, match=r"Conv3D: expected a 5-D input \(N, C, D, H, W\), got shape \(2, 3, 4, 4\)"
    ):
        run_op(Conv3D(), x[..., 0], rng.normal(size=(2, 3, 1, 1, 1)))
    with pytest.raises(ValueError, match=r"Conv3D: expected bias shape \(2,\), got \(3,\)"):
        run_op(Conv3D(), x, rng.normal(size=(2, 3, 1, 1, 1)), np.zeros(3))
    with pytest.raises(TypeError, match="Conv3D: inputs must share one dtype"):
        run_op(Conv3D(), x, rng.normal(size=(2, 3, 1, 1, 1)).astype(np.float32))
    with pytest.raises(
        ValueError, match=r"Conv3D: strides must be a positive int or 3 of them, got \(1, 0, 1\)"
    ):
        Conv3D(strides=(1, 0, 1))
    with pytest.raises(ValueError, match="Conv3D: padding must be 'valid', 'same'"):
        Conv3D(padding="full")
    with pytest.raises(ValueError, match="Conv3D: groups must be a positive int"):
        Conv3D(groups=0)
    op = Conv3D()
    _, ctx = run_op(op, x, rng.normal(size=(2, 3, 1, 1, 1)))
    with pytest.raises(ValueError, match=r"Conv3D: expected an output gradient of shape \(2, 2, 4, 4, 4\)"):
        op.backward(ctx, np.zeros((2, 2, 4, 4)))


# ---- 3-D pooling -----------------------------------------------------------------------------------

POOL3D = [
    (2, None, "valid"),
    (3, 2, "same"),
    ((2, 3, 1), (1, 2, 1), "valid"),
    (3, 1, ((1, 1), (0, 2), (1, 0))),
]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("k,s,padding", POOL3D)
def test_pool3d_matches_reference_and_gradients(kind, k, s, padding, rng):
    x = rng.normal(size=(2, 3, 5, 6, 4))
    op = (MaxPool3D if kind == "max" else AvgPool3D)(k, s, padding)
    y, _ = run_op(op, x)
    kk = _t3(k)
    ss = kk if s is None else _t3(s)
    pads = _pads(C3.parse_padding(padding, 3, "t"), x.shape[2:], kk, ss, (1,) * 3)
    assert_close(y, _naive_pool3d(x, kk, ss, pads, kind), rtol=1e-12, atol=1e-12)
    check_grad(op, [x])


def test_avg_pool3d_count_include_pad(rng):
    x = rng.normal(size=(1, 2, 4, 5, 3))
    pads = ((1, 1), (1, 0), (0, 1))
    op = AvgPool3D(3, 2, pads, count_include_pad=True)
    y, _ = run_op(op, x)
    assert_close(y, _naive_pool3d(x, (3,) * 3, (2,) * 3, pads, "avg", cip=True), rtol=1e-12)
    check_grad(op, [x])


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pool3d_matches_tensorflow(padding, rng, tf):
    x = rng.normal(size=(2, 3, 5, 6, 7)).astype(np.float32)
    xt = tf.constant(x.transpose(0, 2, 3, 4, 1))
    for op, fn in (
        (MaxPool3D(3, 2, padding), tf.nn.max_pool3d),
        (AvgPool3D(3, 2, padding), tf.nn.avg_pool3d),
    ):
        y, ctx = run_op(op, x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            t = fn(xt, 3, 2, padding.upper())
        assert_close(y, t.numpy().transpose(0, 4, 1, 2, 3), rtol=1e-6)
        gy = rng.normal(size=y.shape).astype(np.float32)
        gx = op.backward(ctx, gy)[0]
        tg = tape.gradient(t, xt, output_gradients=tf.constant(gy.transpose(0, 2, 3, 4, 1)))
        assert_close(gx, tg.numpy().transpose(0, 4, 1, 2, 3), rtol=1e-6)


def test_pool3d_threads_bitwise_and_ties(rng):
    x = rng.normal(size=(4, 3, 8, 8, 8)).astype(np.float32)
    for op in (MaxPool3D(2), AvgPool3D(3, 1, "same")):

        def run(op=op):
            y, ctx = run_op(op, x)
            return y.copy(), op.backward(ctx, np.ones_like(y))[0].copy()

        check_threads(run)
    y, ctx = run_op(MaxPool3D(2), np.ones((1, 1, 2, 2, 2)))
    assert y.item() == 1 and ctx.pool3d_plan.argmax.item() == 0  # the first maximum wins


def test_pool3d_bad_inputs(rng):
    with pytest.raises(
        ValueError, match=r"MaxPool3D: expected a 5-D input \(N, C, D, H, W\), got shape \(2, 3, 4, 4\)"
    ):
        run_op(MaxPool3D(), rng.normal(size=(2, 3, 4, 4)))
    with pytest.raises(ValueError, match="AvgPool3D: kernel .* is larger than the padded input"):
        run_op(AvgPool3D((3, 1, 1)), rng.normal(size=(1, 1, 2, 2, 2)))
    with pytest.raises(ValueError, match="MaxPool3D: padding must be smaller than the pool size"):
        MaxPool3D(2, padding=2)
    with pytest.raises(
        ValueError, match=r"MaxPool3D: pool_size must be a positive int or 3 of them, got \(2, 2\)"
    ):
        MaxPool3D((2, 2))
    with pytest.raises(TypeError, match="AvgPool3D: count_include_pad must be a bool"):
        AvgPool3D(count_include_pad=1)
    with pytest.raises(TypeError, match="MaxPool3D: expected float32 or float64 arrays, got dtype int64"):
        run_op(MaxPool3D(), np.zeros((1, 1, 2, 2, 2), np.int64))


# ---- transposed convolutions -----------------------------------------------------------------------

TCONV = [
    (1, "valid", None, 1),
    (2, "valid", None, 1),
    (3, "same", None, 1),
    (2, "same", 1, 1),
    (3, "valid", 2, 1),
    (1, "same", None, 2),
    (2, "valid", 1, 2),
]


@pytest.mark.parametrize("s,padding,op_pad,d", TCONV)
def test_conv_transpose2d_matches_reference_tensorflow_and_gradients(s, padding, op_pad, d, rng, tf):
    x = rng.normal(size=(2, 4, 5, 6))
    w = rng.normal(size=(4, 3, 3, 2))
    b = rng.normal(size=3)
    op = ConvTranspose2D(s, padding, op_pad, d)
    y, _ = run_op(op, x, w, b)
    pads = _pads(padding, y.shape[2:], (3, 2), (s, s), (d, d))
    assert_close(y, _naive_transpose(x, w, (s, s), pads, (d, d), y.shape[2:], b), rtol=1e-10, atol=1e-10)
    check_grad(op, [x[:1], w, b])
    if d == 1:
        keras = pytest.importorskip("keras")
        layer = keras.layers.Conv2DTranspose(3, (3, 2), s, padding, output_padding=op_pad)
        layer.build((None, 5, 6, 4))
        layer.set_weights([w.transpose(2, 3, 1, 0).astype(np.float32), b.astype(np.float32)])
        t = layer(x.transpose(0, 2, 3, 1).astype(np.float32)).numpy().transpose(0, 3, 1, 2)
    elif s == 1:  # TF's CPU transposed convolution is undilated: use the gradient of a dilated convolution
        base = tf.zeros((2,) + y.shape[2:] + (3,), tf.float64)
        with tf.GradientTape() as tape:
            tape.watch(base)
            z = tf.nn.convolution(base, w.transpose(2, 3, 1, 0), 1, padding.upper(), dilations=d)
        t = tape.gradient(z, base, output_gradients=x.transpose(0, 2, 3, 1)).numpy().transpose(0, 3, 1, 2)
        t = t + b.reshape(1, -1, 1, 1)
    else:
        return
    assert_close(y, t, rtol=1e-5, atol=1e-5)


def test_conv_transpose1d_and_3d(rng, tf):
    x = rng.normal(size=(2, 3, 5))
    w = rng.normal(size=(3, 2, 3))
    for s, padding, op_pad in [(2, "valid", None), (3, "same", 1), (1, "same", None)]:
        op = ConvTranspose1D(s, padding, op_pad)
        y, _ = run_op(op, x, w)
        pads = _pads(padding, y.shape[2:], (3,), (s,), (1,))
        assert_close(y, _naive_transpose(x, w, (s,), pads, (1,), y.shape[2:]), rtol=1e-10, atol=1e-10)
        check_grad(op, [x, w])
    x3 = rng.normal(size=(2, 3, 2, 3, 4))
    w3 = rng.normal(size=(3, 2, 3, 2, 2))
    b3 = rng.normal(size=2)
    op = ConvTranspose3D((2, 1, 2), "same")
    y, _ = run_op(op, x3, w3, b3)
    assert y.shape == (2, 2, 4, 3, 8)
    t = tf.nn.conv3d_transpose(
        x3.transpose(0, 2, 3, 4, 1), w3.transpose(2, 3, 4, 1, 0), (2, 4, 3, 8, 2), (1, 2, 1, 2, 1), "SAME"
    ).numpy().transpose(0, 4, 1, 2, 3) + b3.reshape(1, -1, 1, 1, 1)
    assert_close(y, t, rtol=1e-10, atol=1e-10)
    check_grad(op, [x3[:1], w3, b3])


def test_conv_transpose_chunks_threads_and_float32(rng, monkeypatch):
    x = rng.normal(size=(3, 4, 5, 5)).astype(np.float32)
    w = rng.normal(size=(4, 2, 3, 3)).astype(np.float32)
    op = ConvTranspose2D(2, "same")

    def run():
        y, ctx = run_op(op, x, w)
        return (y.copy(), *[g.copy() for g in op.backward(ctx, np.ones_like(y))])

    whole = run()
    check_threads(run)
    monkeypatch.setattr(chunks, "COL_CHUNK_BYTES", 1)
    chunked = run()
    for a, b in zip(whole, chunked):
        assert_close(a, b, rtol=1e-5, atol=1e-5)
    y64, _ = run_op(op, x.astype(np.float64), w.astype(np.float64))
    assert whole[0].dtype == np.float32 and y64.dtype == np.float64
    assert_close(whole[0], y64, rtol=1e-4, atol=1e-4)


def test_conv_transpose_bad_inputs(rng):
    x = rng.normal(size=(2, 4, 5, 6))
    with pytest.raises(
        ValueError, match=r"ConvTranspose2D: expected 3 input channels \(weight \(3, 2, 3, 3\)\)"
    ):
        run_op(ConvTranspose2D(), x, rng.normal(size=(3, 2, 3, 3)))
    with pytest.raises(
        ValueError, match="ConvTranspose2D: output_padding .* must be smaller than the strides"
    ):
        ConvTranspose2D(2, output_padding=2)
    with pytest.raises(ValueError, match="ConvTranspose2D: padding must be 'valid' or 'same'"):
        ConvTranspose2D(padding=1)
    with pytest.raises(ValueError, match=r"ConvTranspose1D: expected a 3-D input \(N, C, \*spatial\)"):
        run_op(ConvTranspose1D(), x, rng.normal(size=(4, 2, 3)))
    with pytest.raises(ValueError, match=r"ConvTranspose2D: expected bias shape \(2,\), got \(3,\)"):
        run_op(ConvTranspose2D(), x, rng.normal(size=(4, 2, 3, 3)), np.zeros(3))


# ---- locally connected -----------------------------------------------------------------------------


@pytest.mark.parametrize("k,s", [(3, 1), ((2, 3), (1, 2)), (1, 2)])
def test_locally_connected2d_reference_and_gradients(k, s, rng):
    x = rng.normal(size=(3, 2, 5, 6))
    kk, ss = (k, k) if isinstance(k, int) else k, (s, s) if isinstance(s, int) else s
    op = LocallyConnected2D(k, s)
    out = op.output_spatial((5, 6))
    w = rng.normal(size=(out[0] * out[1], 2 * kk[0] * kk[1], 4))
    b = rng.normal(size=(4, *out))
    y, _ = run_op(op, x, w, b)
    assert_close(y, _naive_local(x, w, kk, ss, b), rtol=1e-10, atol=1e-10)
    check_grad(op, [x, w, b])
    check_grad(op, [x, w])


def test_locally_connected_equals_convolution_with_shared_weights(rng, tf):
    x = rng.normal(size=(2, 3, 6, 7)).astype(np.float32)
    wc = rng.normal(size=(4, 3, 3, 2)).astype(np.float32)  # conv weight (O, C, kh, kw)
    op = LocallyConnected2D((3, 2), (1, 2))
    oh, ow = op.output_spatial((6, 7))
    w = np.broadcast_to(wc.reshape(4, -1).T, (oh * ow, 18, 4)).copy()
    y, _ = run_op(op, x, w)
    t = (
        tf.nn.conv2d(x.transpose(0, 2, 3, 1), wc.transpose(2, 3, 1, 0), (1, 2), "VALID")
        .numpy()
        .transpose(0, 3, 1, 2)
    )
    assert_close(y, t, rtol=1e-5, atol=1e-5)


def test_locally_connected1d_chunks_and_threads(rng, monkeypatch):
    x = rng.normal(size=(4, 3, 9))
    op = LocallyConnected1D(3, 2)
    w = rng.normal(size=(4, 9, 5))
    b = rng.normal(size=(5, 4))
    y, _ = run_op(op, x, w, b)
    assert_close(y, _naive_local(x, w, (3,), (2,), b), rtol=1e-10, atol=1e-10)
    check_grad(op, [x, w, b])
    monkeypatch.setattr(chunks, "COL_CHUNK_BYTES", 1)
    y2, ctx = run_op(op, x, w, b)
    assert len(ctx.local_plan.chunks) == 4
    assert_close(y2, y, rtol=1e-12)
    check_grad(op, [x, w, b])
    x32, w32 = x.astype(np.float32), w.astype(np.float32)

    def run():
        y, ctx = run_op(op, x32, w32)
        return (y.copy(), *[g.copy() for g in op.backward(ctx, np.ones_like(y))])

    check_threads(run)


def test_locally_connected_bad_inputs(rng):
    x = rng.normal(size=(2, 3, 5, 5))
    with pytest.raises(
        ValueError,
        match=r"LocallyConnected2D: expected a weight of shape \(9, 27, O\) for input "
        r"shape \(2, 3, 5, 5\)",
    ):
        run_op(LocallyConnected2D(3), x, rng.normal(size=(9, 26, 2)))
    with pytest.raises(
        ValueError, match=r"LocallyConnected2D: expected bias shape \(2, 3, 3\), got \(2, 9\)"
    ):
        run_op(LocallyConnected2D(3), x, rng.normal(size=(9, 27, 2)), np.zeros((2, 9)))
    with pytest.raises(ValueError, match="LocallyConnected1D: kernel .* is larger than the padded input"):
        run_op(LocallyConnected1D(6), x[:, :, 0], rng.normal(size=(1, 18, 2)))


# ---- upsampling, resize, block gradient ------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,sizes,axes",
    [
        ((2, 3, 4, 5), (2, 3), (2, -1)),  # NCHW: C kernel, inner = 1
        ((2, 4, 5, 3), (3, 2), (1, 2)),  # NHWC: C kernel, inner = C
        ((2, 3, 2, 3, 4), (2, 1, 3), (2, 3, 4)),  # NCDHW
        ((2, 5, 3), (2,), (1,)),  # (batch, steps, features)
        ((2, 3, 4, 5), (2, 2), (1, 3)),  # not consecutive: numpy
    ],
)
def test_upsample_reference_and_gradients(shape, sizes, axes, rng):
    x = rng.normal(size=shape)
    op = Upsample(sizes, axes)
    y, ctx = run_op(op, x)
    ref = x
    for s, a in zip(sizes, axes):
        ref = np.repeat(ref, s, axis=a)
    assert_close(y, ref, rtol=0, atol=0)
    check_grad(op, [x])
    gy = rng.normal(size=y.shape)
    gx = op.backward(ctx, gy)[0]
    red = gy
    for s, a in zip(sizes, axes):
        a = a % gy.ndim
        red = red.reshape(red.shape[:a] + (red.shape[a] // s, s) + red.shape[a + 1 :]).sum(axis=a + 1)
    assert_close(gx, red, rtol=1e-12, atol=1e-12)


def test_upsample_shapes_threads_and_errors(rng):
    op = Upsample((2, 3), (2, -1))
    assert op.infer_shape((None, 3, 4, None)) == (None, 3, 8, None)
    x32 = rng.normal(size=(4, 40, 20, 30)).astype(np.float32)
    for op in (Upsample((2, 2), (2, 3)), Upsample((3, 2), (1, 2))):

        def run(op=op):
            y, ctx = run_op(op, x32)
            return y.copy(), op.backward(ctx, y)[0].copy()

        check_threads(run)
    with pytest.raises(ValueError, match="upsample_forward: expected an output of 24 elements"):
        K.upsample_forward(np.zeros(6), np.zeros(12), (1, 1, 2, 3, 1), (1, 2, 2))
    with pytest.raises(ValueError, match="Upsample: axes must be distinct and exclude the batch axis 0"):
        run_op(Upsample((2, 2), (0, 1)), x32)
    with pytest.raises(ValueError, match="Upsample: expected one size per axis"):
        Upsample((2, 2), (1,))
    with pytest.raises(ValueError, match="Upsample: sizes must be positive ints"):
        Upsample((0,), (1,))


RESIZE = [
    ((9, 4), False, False),
    ((10, 14), False, False),
    ((10, 14), True, False),
    ((3, 3), True, False),
    ((9, 4), False, True),
    ((1, 1), True, False),
    ((5, 7), False, True),
]


@pytest.mark.parametrize("size,align,half", RESIZE)
@pytest.mark.parametrize("fmt", ["channels_first", "channels_last"])
def test_resize_bilinear_matches_tensorflow(size, align, half, fmt, rng, tf):
    x = rng.normal(size=(2, 3, 5, 7)).astype(np.float32)
    xin = x if fmt == "channels_first" else x.transpose(0, 2, 3, 1).copy()
    op = ResizeBilinear(size, align, half, fmt)
    y, ctx = run_op(op, xin)
    xt = tf.constant(x.transpose(0, 2, 3, 1))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        t = tf.compat.v1.image.resize_bilinear(xt, size, align_corners=align, half_pixel_centers=half)
    tn = t.numpy() if fmt == "channels_last" else t.numpy().transpose(0, 3, 1, 2)
    assert_close(y, tn, rtol=1e-6, atol=1e-6)
    gy = rng.normal(size=y.shape).astype(np.float32)
    gx = op.backward(ctx, gy)[0]
    gyt = gy if fmt == "channels_last" else gy.transpose(0, 2, 3, 1)
    tg = tape.gradient(t, xt, output_gradients=tf.constant(gyt)).numpy()
    assert_close(gx, tg if fmt == "channels_last" else tg.transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-5)


def test_resize_bilinear_gradients_threads_and_errors(rng):
    x = rng.normal(size=(2, 3, 5, 7))
    check_grad(ResizeBilinear((7, 4), False, True), [x])
    check_grad(ResizeBilinear((9, 9), True, False, "channels_last"), [x])
    x32 = rng.normal(size=(4, 70, 9, 11)).astype(np.float32)
    for fmt in ("channels_first", "channels_last"):
        op = ResizeBilinear((20, 17), data_format=fmt)

        def run(op=op):
            y, ctx = run_op(op, x32)
            return y.copy(), op.backward(ctx, np.ones_like(y))[0].copy()

        check_threads(run)
    with pytest.raises(
        ValueError, match="ResizeBilinear: align_corners and half_pixel_centers cannot both be True"
    ):
        ResizeBilinear((2, 2), True, True)
    with pytest.raises(
        ValueError, match=r"ResizeBilinear: size must be a positive int or 2 of them, got \(2, 0\)"
    ):
        ResizeBilinear((2, 0))
    with pytest.raises(ValueError, match=r"ResizeBilinear: expected a 4-D input, got shape \(2, 3, 5\)"):
        run_op(ResizeBilinear((2, 2)), x[..., 0])
    with pytest.raises(ValueError, match="ResizeBilinear: data_format must be"):
        ResizeBilinear((2, 2), data_format="nchw")


def test_block_gradient():
    x = np.arange(6.0).reshape(2, 3)
    y, ctx = run_op(BlockGradient(), x)
    np.testing.assert_array_equal(y, x)
    assert BlockGradient().backward(ctx, np.ones_like(x)) == (None,)


def test_configs_round_trip(rng):
    ops = [
        Conv3D(2, ((1, 0), (0, 1), (1, 1)), (1, 2, 1), 1),
        MaxPool3D(3, 2, "same"),
        AvgPool3D(2, 1, 1, count_include_pad=True),
        ConvTranspose2D(2, "same", 1),
        ConvTranspose1D(3),
        ConvTranspose3D(2, dilation=(1, 2, 1)),
        LocallyConnected2D((2, 3), 2),
        LocallyConnected1D(3),
        Upsample((2,), (3,)),
        ResizeBilinear((4, 5), True, data_format="channels_last"),
        BlockGradient(),
    ]
    for op in ops:
        clone = from_config(op.type_name, op.get_config())
        assert type(clone) is type(op) and clone.get_config() == op.get_config()
