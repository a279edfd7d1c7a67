"""Recurrent, sequence-helper and embedding ops: numpy references, finite-difference gradients,
TensorFlow parity, thread agreement and bad input."""

import numpy as np
import pytest

from tests.harness import assert_close, check_grad, check_threads, run_op
from zoo.engine import _native, threads
from zoo.engine import graph as G
from zoo.engine.kernels import rnn as K
from zoo.engine.ops import embedding as E
from zoo.engine.ops import recurrent as R

# ---- numpy references ------------------------------------------------------------------------------


def _f(name, v):
    return {
        "linear": lambda a: a,
        "tanh": np.tanh,
        "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
        "hard_sigmoid": lambda a: np.clip(a / 6 + 0.5, 0, 1),
        "legacy_hard_sigmoid": lambda a: np.clip(0.2 * a + 0.5, 0, 1),
        "relu": lambda a: np.maximum(a, 0),
    }[name](v)


def naive_rnn(
    cell,
    x,
    w,
    r,
    b=None,
    mask=None,
    h0=None,
    c0=None,
    act="tanh",
    ract="sigmoid",
    go_backwards=False,
    return_sequences=False,
    zero_output=False,
    reset_after=True,
):
    """Step-by-step float64 reference of the three cells; returns (output, last h, last c)."""
    B, T, _ = x.shape
    U = r.shape[0]
    if go_backwards:
        x = x[:, ::-1]
        mask = None if mask is None else mask[:, ::-1]
    h = np.zeros((B, U)) if h0 is None else h0
    c = np.zeros((B, U)) if c0 is None else c0
    outs = []
    for t in range(T):
        xt = x[:, t]
        cn = None
        if cell == "simple":
            hn = _f(act, xt @ w + h @ r + (0 if b is None else b))
        elif cell == "lstm":
            z = xt @ w + h @ r + (0 if b is None else b)
            i, f, g, o = (z[:, k * U : (k + 1) * U] for k in range(4))
            cn = _f(ract, f) * c + _f(ract, i) * _f(act, g)
            hn = _f(ract, o) * _f(act, cn)
        elif reset_after:
            bi, br = (0, 0) if b is None else (b[0], b[1])
            xz, hz = xt @ w + bi, h @ r + br
            z = _f(ract, xz[:, :U] + hz[:, :U])
            rr = _f(ract, xz[:, U : 2 * U] + hz[:, U : 2 * U])
            hh = _f(act, xz[:, 2 * U :] + rr * hz[:, 2 * U :])
            hn = z * h + (1 - z) * hh
        else:
            xz = xt @ w + (0 if b is None else b)
            z = _f(ract, xz[:, :U] + h @ r[:, :U])
            rr = _f(ract, xz[:, U : 2 * U] + h @ r[:, U : 2 * U])
            hh = _f(act, xz[:, 2 * U :] + (rr * h) @ r[:, 2 * U :])
            hn = z * h + (1 - z) * hh
        if mask is not None:
            m = mask[:, t : t + 1]
            hn = m * hn + (1 - m) * h
            if cn is not None:
                cn = m * cn + (1 - m) * c
        outs.append(hn * mask[:, t : t + 1] if zero_output and mask is not None else hn)
        h, c = hn, cn
    return (np.stack(outs, 1) if return_sequences else h), h, c


GATES = {"simple": 1, "lstm": 4, "gru": 3}


def make_op(cell, units, **kw):
    if cell == "simple":
        kw.pop("recurrent_activation", None)
        kw.pop("reset_after", None)
        return R.SimpleRNN(units, **kw)
    if cell == "lstm":
        kw.pop("reset_after", None)
        return R.LSTM(units, **kw)
    return R.GRU(units, **kw)


def make_inputs(rng, op, cell, B, T, I, U, dtype=np.float64):
    g = GATES[cell]
    x = rng.normal(size=(B, T, I))
    w = rng.normal(size=(I, g * U)) * 0.5
    r = rng.normal(size=(U, g * U)) * 0.5
    ins = [x, w, r]
    if op.use_bias:
        ins.append(rng.normal(size=op.bias_shape()) * 0.5)
    if op.masked:
        m = (rng.random((B, T)) > 0.35).astype(np.float64)
        m[0] = 1
        ins.append(m)
    if op.initial_state:
        ins += [rng.normal(size=(B, U)) for _ in range(op.n_states)]
    return [a.astype(dtype) for a in ins]


def reference(cell, op, ins):
    it = iter(ins[3:])
    b = next(it) if op.use_bias else None
    m = next(it) if op.masked else None
    states = [next(it) for _ in range(op.n_states)] if op.initial_state else [None, None]
    y, h, c = naive_rnn(
        cell,
        *[np.asarray(a, np.float64) for a in ins[:3]],
        b=b,
        mask=m,
        h0=states[0],
        c0=states[1] if len(states) > 1 else None,
        act=op.activation,
        ract=op.recurrent_activation,
        go_backwards=op.go_backwards,
        return_sequences=op.return_sequences,
        zero_output=op.zero_output_for_mask,
        reset_after=getattr(op, "reset_after", True),
    )
    if not op.return_state:
        return y
    return (y, h) + ((c,) if cell == "lstm" else ())


CASES = [
    ("simple", {}),
    ("simple", {"return_sequences": True, "go_backwards": True, "activation": "relu"}),
    ("simple", {"masked": True, "initial_state": True, "return_state": True}),
    ("lstm", {}),
    ("lstm", {"return_sequences": True}),
    ("lstm", {"go_backwards": True, "masked": True}),
    ("lstm", {"return_sequences": True, "masked": True, "zero_output_for_mask": True, "go_backwards": True}),
    ("lstm", {"initial_state": True, "return_state": True, "recurrent_activation": "hard_sigmoid"}),
    ("lstm", {"use_bias": False, "recurrent_activation": "legacy_hard_sigmoid", "activation": "relu"}),
    ("gru", {}),
    ("gru", {"return_sequences": True, "masked": True, "go_backwards": True}),
    ("gru", {"initial_state": True, "return_state": True, "use_bias": False}),
    ("gru", {"reset_after": False}),
    ("gru", {"reset_after": False, "return_sequences": True, "masked": True, "initial_state": True}),
    ("gru", {"reset_after": False, "go_backwards": True, "recurrent_activation": "legacy_hard_sigmoid"}),
]


def _ids(case):
    return case[0] + "-" + "-".join(f"{k}={v}" for k, v in case[1].items())


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_recurrent_forward_and_gradients(case, rng):
    cell, kw = case
    op = make_op(cell, 3, **dict(kw))
    ins = make_inputs(rng, op, cell, B=3, T=4, I=5, U=3)
    y, _ = run_op(op, *ins)
    ref = reference(cell, op, ins)
    for a, e in zip(y if isinstance(y, tuple) else (y,), ref if isinstance(ref, tuple) else (ref,)):
        assert_close(a, e, rtol=1e-10, atol=1e-12)
    # float32 against the float64 reference
    y32, _ = run_op(op, *[a.astype(np.float32) for a in ins])
    for a, e in zip(y32 if isinstance(y32, tuple) else (y32,), ref if isinstance(ref, tuple) else (ref,)):
        assert a.dtype == np.float32
        assert_close(a, e, rtol=2e-5, atol=2e-6)
    check_grad(op, ins, max_checks=40)


@pytest.mark.parametrize(
    "cell,kw",
    [
        ("lstm", {"masked": True, "return_sequences": True}),
        ("gru", {"masked": True}),
        ("gru", {"reset_after": False, "masked": True}),
        ("simple", {"masked": True, "initial_state": True}),
    ],
)
def test_recurrent_split_batch_gradients(cell, kw, rng):
    """A batch of several 16-row groups runs on two workers; gradients still match differences."""
    op = make_op(cell, 2, **kw)
    ins = make_inputs(rng, op, cell, B=37, T=3, I=3, U=2)
    assert len(R.row_ranges(37)) == min(2, threads.get_num_threads())
    with threads.num_threads(2):
        y, _ = run_op(op, *ins)
        assert_close(y, reference(cell, op, ins), rtol=1e-10, atol=1e-12)
        check_grad(op, ins, max_checks=25)


@pytest.mark.parametrize(
    "cell,kw",
    [
        ("lstm", {"masked": True, "return_sequences": True}),
        ("gru", {}),
        ("gru", {"reset_after": False}),
        ("simple", {}),
    ],
)
def test_recurrent_threads(cell, kw, rng):
    """Each thread count splits the batch its own way, and BLAS may pick other kernels for the
    smaller GEMMs, so 1 and 2 threads agree to rounding; a given thread count is deterministic."""
    op = make_op(cell, 80, **kw)
    ins = make_inputs(rng, op, cell, B=40, T=5, I=24, U=80, dtype=np.float32)

    def run():
        y, ctx = run_op(op, *ins)
        y = np.array(y)
        grads = op.backward(ctx, np.ones_like(y))
        return [y] + [np.array(g) for g in grads if g is not None]

    check_threads(run, exact=False, rtol=1e-4, atol=1e-4)
    with threads.num_threads(2):
        for a, b in zip(run(), run()):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "cell,kw",
    [
        ("lstm", {}),
        ("gru", {}),
        ("gru", {"reset_after": False}),
        ("simple", {"go_backwards": True, "return_sequences": True}),
    ],
)
def test_recurrent_matches_tensorflow(cell, kw, rng, tf):
    op = make_op(cell, 4, **dict(kw))
    ins = make_inputs(rng, op, cell, B=2, T=6, I=3, U=4, dtype=np.float32)
    y, _ = run_op(op, *ins)
    L = tf.keras.layers
    kw = {k: v for k, v in kw.items()}
    layer = {"lstm": L.LSTM, "gru": L.GRU, "simple": L.SimpleRNN}[cell](4, **kw)
    layer(ins[0])
    layer.set_weights(ins[1:4])
    assert_close(y, layer(ins[0]).numpy(), rtol=1e-5, atol=1e-6)


def test_recurrent_weight_grad(rng):
    hs, dg, h0 = rng.normal(size=(4, 5, 3)), rng.normal(size=(4, 5, 7)), rng.normal(size=(4, 3))
    prev = np.concatenate([h0[:, None], hs[:, :-1]], axis=1)
    out = R.recurrent_weight_grad(hs, dg, h0, np.empty((3, 7)))
    assert_close(out, np.einsum("btu,btg->ug", prev, dg), rtol=1e-12)
    out = R.recurrent_weight_grad(hs[:1, :1], dg[:1, :1], None, np.empty((3, 7)))
    assert_close(out, np.zeros((3, 7)), atol=0)


def test_gru_output_state_and_shapes():
    op = R.GRU(5, return_sequences=True, return_state=True, masked=True, initial_state=True)
    assert op.infer_shape((None, 7, 3), (3, 15), (5, 15), (2, 15), (None, 7), (None, 5)) == (
        (None, 7, 5),
        (None, 5),
    )
    assert op.nondiff_inputs == (4,)
    assert R.LSTM(2).infer_shape((None, None, 3), (3, 8), (2, 8), (8,)) == (None, 2)


# ---- ConvLSTM2D ----------------------------------------------------------------------------------


def naive_conv(x, w, pad):
    """x (N, C, H, W), w (O, C, kh, kw), stride 1, zero padding ((t, b), (l, r))."""
    (t, bo), (lf, rt) = pad
    xp = np.pad(x, ((0, 0), (0, 0), (t, bo), (lf, rt)))
    O, _, kh, kw = w.shape
    H, W = xp.shape[2] - kh + 1, xp.shape[3] - kw + 1
    out = np.zeros((x.shape[0], O, H, W))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nchw,oc->nohw", xp[:, :, i : i + H, j : j + W], w[:, :, i, j])
    return out


def naive_conv_lstm(x, w, r, b, padding):
    B, T = x.shape[:2]
    kh, kw = w.shape[2:]
    same = ((kh - 1) // 2, kh - 1 - (kh - 1) // 2), ((kw - 1) // 2, kw - 1 - (kw - 1) // 2)
    pad = same if padding == "same" else ((0, 0), (0, 0))
    F = r.shape[1]
    h = c = None
    outs = []
    for t in range(T):
        z = naive_conv(x[:, t], w, pad) + b[None, :, None, None]
        if h is None:
            h = c = np.zeros((B, F) + z.shape[2:])
        z = z + naive_conv(h, r, same)
        i, f, g, o = (z[:, k * F : (k + 1) * F] for k in range(4))
        sig = lambda a: 1 / (1 + np.exp(-a))
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        outs.append(h)
    return np.stack(outs, 1)


@pytest.mark.parametrize(
    "kw",
    [
        {"return_sequences": True},
        {"padding": "same"},
        {"padding": "same", "go_backwards": True, "return_sequences": True},
        {"use_bias": False, "strides": 2},
    ],
)
def test_conv_lstm2d(kw, rng):
    op = R.ConvLSTM2D(2, **kw)
    x = rng.normal(size=(2, 3, 3, 5, 5))
    w, r, b = (
        rng.normal(size=(8, 3, 3, 3)) * 0.3,
        rng.normal(size=(8, 2, 3, 3)) * 0.3,
        rng.normal(size=8) * 0.3,
    )
    ins = [x, w, r] + ([b] if op.use_bias else [])
    y, _ = run_op(op, *ins)
    assert y.shape == op.infer_shape(*[a.shape for a in ins])
    if kw.get("strides", 1) == 1:
        xr = x[:, ::-1] if kw.get("go_backwards") else x
        ref = naive_conv_lstm(xr, w, r, b if op.use_bias else np.zeros(8), kw.get("padding", "valid"))
        assert_close(y, ref if op.return_sequences else ref[:, -1], rtol=1e-9, atol=1e-12)
    check_grad(op, ins, max_checks=25)


@pytest.mark.parametrize("kw", [{"return_sequences": True}, {"padding": "same", "go_backwards": True}])
def test_conv_lstm3d(kw, rng):
    op = R.ConvLSTM3D(2, **kw)
    x = rng.normal(size=(2, 2, 2, 4, 4, 4))
    w, r, b = (
        rng.normal(size=(8, 2, 3, 3, 3)) * 0.3,
        rng.normal(size=(8, 2, 3, 3, 3)) * 0.3,
        rng.normal(size=8) * 0.3,
    )
    y, _ = run_op(op, x, w, r, b)
    assert y.shape == op.infer_shape(x.shape, w.shape, r.shape, b.shape)
    # a 3-D ConvLSTM over depth-1 volumes with kd = 1 is the 2-D one
    op2 = R.ConvLSTM2D(
        2,
        padding=kw.get("padding", "valid"),
        go_backwards=kw.get("go_backwards", False),
        return_sequences=kw.get("return_sequences", False),
    )
    y3, _ = run_op(op, x[:, :, :, :1], w[:, :, 1:2], r[:, :, 1:2], b)
    y2, _ = run_op(op2, x[:, :, :, 0], w[:, :, 1], r[:, :, 1], b)
    assert_close(y3.reshape(y2.shape) if op.return_sequences else y3[:, :, 0], y2, rtol=1e-12)
    check_grad(op, [x, w, r, b], max_checks=20)
    with pytest.raises(
        ValueError, match=r"expected input of rank 6 \(batch, time, channels, 3 spatial axes\)"
    ):
        op.infer_shape((None, 2, 2, 4, 4), w.shape, r.shape, b.shape)


# ---- sequence helpers ------------------------------------------------------------------------------


def test_reverse_fold_unfold(rng):
    x = rng.normal(size=(2, 3, 4))
    y, _ = run_op(R.ReverseSequence(1), x)
    assert_close(y, x[:, ::-1], atol=0)
    check_grad(R.ReverseSequence(1), [x])
    check_grad(R.ReverseSequence(-1), [x])
    f, _ = run_op(R.TimeFold(), x)
    assert f.shape == (6, 4)
    check_grad(R.TimeFold(), [x])
    u, _ = run_op(R.TimeUnfold(), f * 2, x)
    assert_close(u, 2 * x, atol=0)
    check_grad(R.TimeUnfold(), [f, x])
    assert R.TimeUnfold().infer_shape((None, 5), (None, 3, 4)) == (None, 3, 5)
    with pytest.raises(ValueError, match=r"expected 6 rows \(batch 2 x time 3\), got shape \(5, 5\)"):
        R.TimeUnfold().infer_shape((5, 5), (2, 3, 4))


def test_masking_op(rng):
    x = rng.normal(size=(2, 4, 3))
    x[0, 1] = 0.0
    x[1, 3] = 0.0
    x[1, 0, 0] = 0.0  # one zero feature does not mask the step
    (y, m), _ = run_op(R.Masking(0.0), x)
    expect = np.ones((2, 4))
    expect[0, 1] = expect[1, 3] = 0
    assert_close(m, expect, atol=0)
    assert_close(y, x * expect[:, :, None], atol=0)
    # masked steps get no gradient (as Keras); elsewhere the gradient passes (finite differences
    # cannot check a masked step: moving a feature off mask_value unmasks it)
    _, ctx = run_op(R.Masking(0.0), x)
    gy = rng.normal(size=x.shape)
    assert_close(R.Masking(0.0).backward(ctx, (gy, None))[0], gy * expect[:, :, None], atol=0)
    check_grad(R.Masking(0.0), [x + 3.0])
    (y, m), _ = run_op(R.Masking(5.0), np.full((1, 2, 2), 5.0))
    assert m.tolist() == [[0.0, 0.0]]


# ---- bad input -----------------------------------------------------------------------------------


def test_recurrent_bad_input():
    with pytest.raises(ValueError, match="LSTM: units must be a positive int, got 0"):
        R.LSTM(0)
    with pytest.raises(ValueError, match=r"LSTM: activation: activation must be one of .*got 'elu'"):
        R.LSTM(2, activation="elu")
    x = G.input((None, 5, 3), name="x")
    w = G.constant(np.zeros((4, 8)), name="w")
    rk = G.constant(np.zeros((2, 8)), name="r")
    with pytest.raises(ValueError, match=r"LSTM 'l1': expected kernel shape \(3, 8\), got \(4, 8\)"):
        G.apply(R.LSTM(2, use_bias=False), [x, w, rk], name="l1")
    with pytest.raises(
        ValueError, match=r"expected input of rank 3 \(batch, time, features\), got shape \(None, 3\)"
    ):
        R.LSTM(2, use_bias=False).infer_shape((None, 3), (3, 8), (2, 8))
    with pytest.raises(ValueError, match=r"expected a mask of shape \(None, 5\), got \(None, 4\)"):
        R.GRU(2, use_bias=False, masked=True).infer_shape((None, 5, 3), (3, 6), (2, 6), (None, 4))
    with pytest.raises(
        TypeError, match="LSTM: the kernel must be a float32 array like the input, got float64"
    ):
        run_op(R.LSTM(2, use_bias=False), np.zeros((1, 2, 3), np.float32), np.zeros((3, 8)), np.zeros((2, 8)))
    with pytest.raises(ValueError, match=r"LSTM: expected at least one sample and one time step"):
        run_op(R.LSTM(2, use_bias=False), np.zeros((1, 0, 3)), np.zeros((3, 8)), np.zeros((2, 8)))


def test_kernel_bad_buffers():
    B, T, U = 2, 3, 2
    z = lambda *s: np.zeros(s, np.float32)
    act, ract = K.act_code("tanh"), K.act_code("sigmoid")
    args = [z(B, T, 4 * U), z(B, T, U), z(B, T, U), z(B, T, U), z(B, T, 4 * U), None, None, None, None, None]
    K.lstm_forward_step(*args, B, T, U, 0, 0, B, act, ract, 0)
    bad = list(args)
    bad[1] = z(B, T, U + 1)
    with pytest.raises(ValueError, match="who: lstm_forward_step: hs has 18 elements, expected 12"):
        K.lstm_forward_step(*bad, B, T, U, 0, 0, B, act, ract, 0, who="who")
    bad = list(args)
    bad[4] = np.zeros((B, T, 4 * U))
    with pytest.raises(TypeError, match="lstm_forward_step: xp has element format 'd', expected 'f'"):
        K.lstm_forward_step(*bad, B, T, U, 0, 0, B, act, ract, 0)
    bad = list(args)
    bad[1] = args[2]
    with pytest.raises(ValueError, match="lstm_forward_step: an output overlaps another argument"):
        K.lstm_forward_step(*bad, B, T, U, 0, 0, B, act, ract, 0)
    with pytest.raises(ValueError, match=r"expected B, T, U >= 1, 0 <= step < T and 0 <= b0 < b1 <= B"):
        K.lstm_forward_step(*args, B, T, U, 3, 0, B, act, ract, 0)
    with pytest.raises(ValueError, match=r"rows \[1, 1\)"):
        K.lstm_forward_step(*args, B, T, U, 0, 1, 1, act, ract, 0)
    with pytest.raises(ValueError, match="activation code must be in"):
        _native.lstm_forward_step(*args, B, T, U, 0, 0, B, 9, 0.0, 0.0, 2, 0.0, 0.0, 0)
    with pytest.raises(ValueError, match="rnn: activation must be one of"):
        K.act_code("softmax")


# ---- embedding -----------------------------------------------------------------------------------


def test_embedding_forward_gradient_tf(rng, tf):
    w = rng.normal(size=(7, 3))
    ids = rng.integers(0, 7, (4, 5))
    y, _ = run_op(E.Embedding(), ids, w)
    assert_close(y, w[ids], atol=0)
    check_grad(E.Embedding(), [ids, w])
    y1, _ = run_op(E.Embedding(zero_based=False), ids + 1, w)
    assert_close(y1, w[ids], atol=0)
    yf, _ = run_op(E.Embedding(), ids.astype(np.float32), w)  # float ids are truncated, as Keras casts
    assert_close(yf, w[ids], atol=0)
    yp, _ = run_op(E.Embedding(padding_id=2), ids, w)
    assert_close(yp, np.where((ids == 2)[..., None], 0, w[ids]), atol=0)
    check_grad(E.Embedding(padding_id=2), [ids, w])
    # gradient against TensorFlow's
    w32 = w.astype(np.float32)
    gy = rng.normal(size=(4, 5, 3)).astype(np.float32)
    _, ctx = run_op(E.Embedding(), ids, w32)
    _, gw = E.Embedding().backward(ctx, gy)
    tw = tf.Variable(w32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.nn.embedding_lookup(tw, ids) * gy)
    assert_close(gw, tf.convert_to_tensor(tape.gradient(loss, tw)).numpy(), rtol=1e-6, atol=1e-6)


def test_embedding_gradient_buffer_reuse(rng):
    """Consecutive backward passes on one node: rows of the previous batch do not leak into the next."""
    w = rng.normal(size=(100, 4))
    op = E.Embedding(padding_id=7)
    _, ctx = run_op(op, np.array([3, 7, 3, 50]), w)
    for ids in ([3, 7, 3, 50], [1, 2, 7, 99], [0, 0, 0, 0], list(range(40))):
        ids = np.array(ids)
        gy = rng.normal(size=(len(ids), 4))
        op.forward(ctx, ids, w)
        gw = op.backward(ctx, gy)[1]
        ref = np.zeros_like(w)
        keep = ids != 7
        np.add.at(ref, ids[keep], gy[keep])
        assert_close(gw, ref, rtol=1e-12, atol=0)


def test_embedding_scatter_threads_bitwise(rng):
    V, D, n = 3000, 128, 40000  # n * D above the kernels' OpenMP threshold
    w = rng.normal(size=(V, D)).astype(np.float32)
    ids = rng.integers(0, 50, n)  # many repeats per row
    gy = rng.normal(size=(n, D)).astype(np.float32)

    def run():
        _, ctx = run_op(E.Embedding(), ids, w)
        return np.array(E.Embedding().backward(ctx, gy)[1])

    check_threads(run)
    ref = np.zeros((V, D))
    np.add.at(ref, ids, gy.astype(np.float64))
    assert_close(run(), ref, rtol=1e-4, atol=1e-4)


def test_embedding_bad_ids(rng):
    w = np.zeros((5, 2), np.float32)
    with pytest.raises(
        ValueError, match=r"Embedding: embedding_gather: id 5 at flat position 2 is out of range \[0, 5\)"
    ):
        run_op(E.Embedding(), np.array([0, 1, 5]), w)
    with pytest.raises(ValueError, match=r"id 0 at flat position 0 is out of range \[1, 6\)"):
        run_op(E.Embedding(zero_based=False), np.array([0, 1]), w)
    with pytest.raises(ValueError, match=r"id -1 at flat position 1"):
        run_op(E.Embedding(), np.array([0, -1]), w)
    run_op(E.Embedding(padding_id=-1), np.array([0, -1]), w)  # the padding id may lie outside the table
    with pytest.raises(TypeError, match="Embedding: expected integer \\(or float\\) ids, got <U1"):
        run_op(E.Embedding(), np.array(["a"]), w)
    with pytest.raises(ValueError, match="Embedding: ids hold NaN or infinite values"):
        run_op(E.Embedding(), np.array([np.nan], np.float32), w)
    with pytest.raises(ValueError, match=r"expected a 2-D table \(input_dim, output_dim\), got shape \(5,\)"):
        E.Embedding().infer_shape((None, 3), (5,))
    with pytest.raises(ValueError, match="embedding_scatter: group must be a positive divisor"):
        K.embedding_scatter(
            np.zeros((5, 2), np.float32), np.zeros(3, np.int64), np.zeros((1, 2), np.float32), group=2
        )
    with pytest.raises(TypeError, match="embedding_gather: ids must be int64"):
        K.embedding_gather(np.zeros((3, 2), np.float32), w, np.zeros(3, np.int32))


def naive_bag(ids, w, combiner, max_norm):
    out = np.zeros((ids.shape[0], w.shape[1]))
    for b, row in enumerate(ids):
        valid = [i for i in row if i >= 0]
        for i in valid:
            e = w[i]
            if max_norm is not None and np.linalg.norm(e) > max_norm:
                e = e * max_norm / np.linalg.norm(e)
            out[b] += e
        if valid and combiner == "mean":
            out[b] /= len(valid)
        elif valid and combiner == "sqrtn":
            out[b] /= np.sqrt(len(valid))
    return out


@pytest.mark.parametrize("combiner", ["sum", "mean", "sqrtn"])
@pytest.mark.parametrize("max_norm", [None, 1.5])
def test_embedding_bag(combiner, max_norm, rng, tf):
    w = rng.normal(size=(7, 3))
    ids = rng.integers(0, 7, (4, 5))
    ids[0, :2] = -1
    ids[1, :] = -1
    op = E.EmbeddingBag(combiner, max_norm=max_norm)
    y, _ = run_op(op, ids, w)
    assert_close(y, naive_bag(ids, w, combiner, max_norm), rtol=1e-12)
    check_grad(op, [ids, w])
    # TensorFlow's embedding_lookup_sparse on the non-padding ids (forward and table gradient)
    keep = ids >= 0
    sp = tf.sparse.SparseTensor(np.argwhere(keep), ids[keep], ids.shape)
    w32 = w.astype(np.float32)
    tw = tf.Variable(w32)
    gy = rng.normal(size=(4, 3)).astype(np.float32)
    with tf.GradientTape() as tape:
        ty = tf.nn.embedding_lookup_sparse(tw, sp, None, combiner=combiner, max_norm=max_norm)
        loss = tf.reduce_sum(ty * gy[: ty.shape[0]])
    y32, ctx = run_op(op, ids, w32)
    assert_close(y32[: ty.shape[0]], ty.numpy(), rtol=1e-5, atol=1e-6)
    gw = op.backward(ctx, gy)[1]
    assert_close(gw, tf.convert_to_tensor(tape.gradient(loss, tw)).numpy(), rtol=1e-5, atol=1e-6)


def test_embedding_bag_bad_input():
    with pytest.raises(
        ValueError, match="EmbeddingBag: combiner must be one of \\['sum', 'mean', 'sqrtn'\\], got 'max'"
    ):
        E.EmbeddingBag("max")
    with pytest.raises(ValueError, match="EmbeddingBag: max_norm must be a positive number or None, got 0"):
        E.EmbeddingBag(max_norm=0)
    with pytest.raises(ValueError, match=r"embedding_bag: id 9 at flat position 1 is out of range \[0, 5\)"):
        run_op(E.EmbeddingBag(), np.array([[0, 9]]), np.zeros((5, 2)))


def test_not_equal_mask():
    m, _ = run_op(E.NotEqualMask(0), np.array([[0, 3, 0], [1, 2, 5]]))
    assert m.dtype == np.float32 and m.tolist() == [[0, 1, 0], [1, 1, 1]]
    assert E.NotEqualMask(0).backward(None, m) == (None,)
