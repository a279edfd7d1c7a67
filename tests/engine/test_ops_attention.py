import math

import numpy as np
import pytest

from tests.harness import assert_close, check_grad, check_threads, run_op
from zoo.engine import threads
from zoo.engine.ops import OPS
from zoo.engine.ops import attention as A
from zoo.engine.ops.attention import DotProductAttention, DotProductAttentionScores


def _naive(q, k, v, num_heads, mask=None, causal=False, scale=None):
    """Attention by loops over batch, heads and query rows (float64): (out (B, T, H*Dv), p (B, H, T, S))."""
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    B, T, C = q.shape
    S = k.shape[1]
    H = num_heads
    dk, dv = C // H, v.shape[2] // H
    sc = 1.0 / math.sqrt(dk) if scale is None else scale
    if mask is not None:
        m = np.asarray(mask)
        m = {2: lambda a: a[:, None, None, :], 3: lambda a: a[:, None], 4: lambda a: a}[m.ndim](m)
        m = np.broadcast_to(m, (B, H, T, S))
    out = np.zeros((B, T, H * dv))
    probs = np.zeros((B, H, T, S))
    for b in range(B):
        for h in range(H):
            qs, ks, vs = q[b, :, h * dk:(h + 1) * dk], k[b, :, h * dk:(h + 1) * dk], v[b, :, h * dv:(h + 1) * dv]
            for i in range(T):
                keep = np.array([(not causal or j <= i) and (mask is None or m[b, h, i, j] != 0) for j in range(S)])
                if not keep.any():
                    continue
                s = np.array([qs[i] @ ks[j] * sc for j in range(S)])
                e = np.where(keep, np.exp(s - s[keep].max()), 0.0)
                probs[b, h, i] = e / e.sum()
            out[b, :, h * dv:(h + 1) * dv] = probs[b, h] @ vs
    return out, probs


def _qkv(rng, B, T, S, H, dk, dv, dtype=np.float64):
    return (rng.standard_normal((B, T, H * dk)).astype(dtype), rng.standard_normal((B, S, H * dk)).astype(dtype),
            rng.standard_normal((B, S, H * dv)).astype(dtype))


@pytest.mark.parametrize("B,T,S,H,dk,dv", [(1, 1, 1, 1, 1, 1), (2, 3, 5, 2, 3, 4), (3, 4, 4, 3, 2, 2)])
def test_forward_matches_naive(B, T, S, H, dk, dv, rng):
    q, k, v = _qkv(rng, B, T, S, H, dk, dv)
    y, ctx = run_op(DotProductAttention(H), q, k, v)
    ref, probs = _naive(q, k, v, H)
    assert_close(y, ref, rtol=1e-10, atol=1e-12)
    assert_close(ctx.p, probs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mshape", [(2, 5), (2, 3, 5), (1, 3, 5), (2, 2, 3, 5), (2, 1, 1, 5), (1, 1, 3, 1)])
def test_masks_match_naive(mshape, rng):
    q, k, v = _qkv(rng, 2, 3, 5, 2, 3, 4)
    mask = (rng.random(mshape) > 0.4).astype(np.float32)
    y, _ = run_op(DotProductAttention(2), q, k, v, mask)
    assert_close(y, _naive(q, k, v, 2, mask)[0], rtol=1e-10, atol=1e-12)


def test_fully_masked_rows_give_zeros(rng):
    q, k, v = _qkv(rng, 2, 3, 4, 2, 2, 2)
    mask = np.ones((2, 3, 4), np.float32)
    mask[1, 2] = 0  # query 2 of sample 1 may attend to nothing
    y, ctx = run_op(DotProductAttention(2), q, k, v, mask)
    assert np.all(y[1, 2] == 0) and np.all(ctx.p[1, :, 2] == 0)
    assert_close(y, _naive(q, k, v, 2, mask)[0], rtol=1e-10, atol=1e-12)
    check_grad(DotProductAttention(2), [q, k, v, mask])


@pytest.mark.parametrize("T,S", [(4, 4), (3, 5), (5, 3)])
def test_causal_matches_naive(T, S, rng):
    q, k, v = _qkv(rng, 2, T, S, 2, 3, 2)
    mask = (rng.random((2, S)) > 0.3).astype(np.float32)
    y, _ = run_op(DotProductAttention(2, causal=True), q, k, v)
    assert_close(y, _naive(q, k, v, 2, causal=True)[0], rtol=1e-10, atol=1e-12)
    y, _ = run_op(DotProductAttention(2, causal=True), q, k, v, mask)
    assert_close(y, _naive(q, k, v, 2, mask, causal=True)[0], rtol=1e-10, atol=1e-12)


def test_packed_equals_separate_inputs(rng):
    B, T, H, D = 2, 5, 3, 2
    qkv = rng.standard_normal((B, T, 3 * H * D))
    q, k, v = qkv[..., :H * D], qkv[..., H * D:2 * H * D], qkv[..., 2 * H * D:]
    y, _ = run_op(DotProductAttention(H, causal=True, packed=True), qkv)
    assert_close(y, _naive(q, k, v, H, causal=True)[0], rtol=1e-10, atol=1e-12)


def test_scale_argument(rng):
    q, k, v = _qkv(rng, 2, 3, 4, 2, 3, 2)
    y, _ = run_op(DotProductAttention(2, scale=0.25), q, k, v)
    assert_close(y, _naive(q, k, v, 2, scale=0.25)[0], rtol=1e-10, atol=1e-12)


# ---- gradients (central differences, float64) -------------------------------------------------

@pytest.mark.parametrize("causal", [False, True])
def test_grad_separate(causal, rng):
    q, k, v = _qkv(rng, 2, 3, 5 if not causal else 3, 3, 2, 3)
    check_grad(DotProductAttention(3, causal=causal), [q, k, v])


def test_grad_with_mask_and_scale(rng):
    q, k, v = _qkv(rng, 2, 4, 5, 2, 3, 2)
    mask = (rng.random((2, 1, 4, 5)) > 0.3).astype(np.float64)
    check_grad(DotProductAttention(2, scale=0.7), [q, k, v, mask])


def test_grad_packed_causal(rng):
    qkv = rng.standard_normal((2, 5, 3 * 2 * 3))
    mask = (rng.random((2, 5)) > 0.3).astype(np.float64)
    check_grad(DotProductAttention(2, causal=True, packed=True), [qkv])
    check_grad(DotProductAttention(2, causal=True, packed=True), [qkv, mask])


def test_grad_scores_output(rng):
    q, k, v = _qkv(rng, 2, 3, 4, 2, 2, 3)
    mask = (rng.random((2, 3, 4)) > 0.3).astype(np.float64)
    check_grad(DotProductAttentionScores(2), [q, k, v, mask])
    (y, p), _ = run_op(DotProductAttentionScores(2), q, k, v, mask)
    ref, probs = _naive(q, k, v, 2, mask)
    assert_close(y, ref, rtol=1e-10, atol=1e-12)
    assert_close(p, probs, rtol=1e-10, atol=1e-12)


def test_grad_with_dropout(rng):
    # the same seed gives the same dropout mask in every forward, so finite differences apply
    q, k, v = _qkv(rng, 2, 3, 4, 2, 2, 2)
    check_grad(DotProductAttention(2, dropout=0.3), [q, k, v], training=True, seed=3)


def test_only_needed_grads(rng):
    q, k, v = _qkv(rng, 2, 3, 4, 2, 2, 2)
    op = DotProductAttention(2)
    _, ctx = run_op(op, q, k, v, needs_grad=(False, False, True))
    g = op.backward(ctx, np.ones((2, 3, 4)))
    assert g[0] is None and g[1] is None and g[2].shape == v.shape


# ---- dropout ---------------------------------------------------------------------------------

def test_dropout_training_only_and_seeded(rng):
    q, k, v = _qkv(rng, 4, 6, 6, 2, 4, 4, np.float32)
    op = DotProductAttention(2, dropout=0.5)
    y0, _ = run_op(op, q, k, v, training=False)
    assert_close(y0, _naive(q, k, v, 2)[0], rtol=1e-4, atol=1e-5)
    y1, c1 = run_op(op, q, k, v, training=True, seed=1)
    y1 = y1.copy()
    y2, _ = run_op(op, q, k, v, training=True, seed=1)
    np.testing.assert_array_equal(y1, y2)
    kept = c1.pd != 0
    assert 0.35 < kept.mean() < 0.65
    assert_close(c1.pd[kept], 2 * c1.p[kept], rtol=1e-6)


# ---- float32, TensorFlow, threads ---------------------------------------------------------------

def test_float32_close_to_float64(rng):
    q, k, v = _qkv(rng, 3, 7, 9, 4, 8, 8, np.float32)
    mask = (rng.random((3, 9)) > 0.2).astype(np.float32)
    y, _ = run_op(DotProductAttention(4, causal=True), q, k, v, mask)
    assert y.dtype == np.float32
    assert_close(y, _naive(q, k, v, 4, mask, causal=True)[0], rtol=1e-4, atol=1e-5)


def test_tensorflow_parity(rng, tf):
    B, T, S, H, D = 2, 5, 6, 3, 4
    q, k, v = _qkv(rng, B, T, S, H, D, D, np.float32)
    mask = (rng.random((B, T, S)) > 0.3).astype(np.float32)
    mask[:, :, 0] = 1
    y, _ = run_op(DotProductAttention(H), q, k, v, mask)

    def heads(a):
        return tf.transpose(tf.reshape(a, (B, -1, H, D)), (0, 2, 1, 3))

    s = tf.matmul(heads(q), heads(k), transpose_b=True) / math.sqrt(D)
    s = tf.where(mask[:, None] > 0, s, -1e9)
    o = tf.matmul(tf.nn.softmax(s, axis=-1), heads(v))
    ref = tf.reshape(tf.transpose(o, (0, 2, 1, 3)), (B, T, H * D)).numpy()
    assert_close(y, ref, rtol=1e-5, atol=1e-6)


def test_threads(rng):
    q, k, v = _qkv(rng, 3, 17, 13, 4, 8, 8, np.float32)
    mask = (rng.random((3, 13)) > 0.2).astype(np.float32)
    op = DotProductAttention(4, causal=True)

    def run():
        y, ctx = run_op(op, q, k, v, mask)
        g = op.backward(ctx, np.ones_like(y))
        return [y.copy()] + [a.copy() for a in g[:3]]

    check_threads(run, exact=False, rtol=1e-5, atol=1e-6)


def test_batch_split_across_threads(rng, monkeypatch):
    """Large stacks run the per-head products single-threaded, the batch split over the threads: same
    results as one thread, and correct gradients through the split path."""
    q, k, v = _qkv(rng, 5, 64, 64, 2, 64, 64, np.float32)
    assert 5 * 2 * 64 * 64 * 64 >= A._SPLIT_WORK
    mask = (rng.random((5, 64)) > 0.2).astype(np.float32)
    op = DotProductAttention(2, causal=True)

    def run():
        y, ctx = run_op(op, q, k, v, mask)
        g = op.backward(ctx, np.ones_like(y))
        return [y.copy()] + [a.copy() for a in g[:3]]

    with threads.num_threads(3):
        y3 = run()
        assert threads.get_num_threads() == 3  # restored after the single-threaded products
    check_threads(run, exact=False, rtol=1e-5, atol=1e-6)
    with threads.num_threads(1):
        y1 = run()
    for a, b in zip(y1, y3):
        assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert_close(y3[0], _naive(q, k, v, 2, mask, causal=True)[0], rtol=1e-4, atol=1e-5)
    monkeypatch.setattr(A, "_SPLIT_WORK", 0)
    with threads.num_threads(2):
        qs, ks, vs = _qkv(rng, 3, 4, 5, 2, 3, 2)
        check_grad(DotProductAttention(2), [qs, ks, vs, (rng.random((3, 4, 5)) > 0.3).astype(np.float64)])
        check_grad(DotProductAttention(2, causal=True, packed=True), [rng.standard_normal((3, 5, 12))])


def test_concurrent_calls_restore_the_thread_setting(rng):
    """Ops running in several Python threads at once leave zoo's thread count as it was."""
    import threading

    q = rng.standard_normal((4, 64, 128)).astype(np.float32)
    assert 4 * 2 * 64 * 64 * 64 >= A._SPLIT_WORK
    ref = run_op(DotProductAttention(2), q, q, q)[0].copy()
    errors = []

    def work():
        for _ in range(8):
            y, _ = run_op(DotProductAttention(2), q, q, q)
            if not np.allclose(y, ref, rtol=1e-5, atol=1e-6):
                errors.append("different result")

    with threads.num_threads(2):
        workers = [threading.Thread(target=work) for _ in range(3)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        assert threads.get_num_threads() == 2
    assert not errors


def test_registered_and_config_round_trip():
    op = DotProductAttention(4, scale=0.5, causal=True, dropout=0.1, packed=True)
    assert OPS["dot_product_attention"] is DotProductAttention
    assert OPS["dot_product_attention_scores"] is DotProductAttentionScores
    clone = type(op)(**op.get_config())
    assert clone.get_config() == op.get_config()


# ---- shapes and bad input ---------------------------------------------------------------------

def test_infer_shape():
    op = DotProductAttention(2)
    assert op.infer_shape((None, 3, 8), (None, 5, 8), (None, 5, 6)) == (None, 3, 6)
    assert op.infer_shape((None, 3, 8), (None, 5, 8), (None, 5, 6), (None, 3, 5)) == (None, 3, 6)
    assert DotProductAttention(2, packed=True).infer_shape((None, 4, 12)) == (None, 4, 4)
    assert DotProductAttentionScores(2).infer_shape((None, 3, 8), (None, 5, 8), (None, 5, 6)) == \
        ((None, 3, 6), (None, 2, 3, 5))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"num_heads must be an int >= 1, got 0"):
        DotProductAttention(0)
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\), got 1"):
        DotProductAttention(2, dropout=1)
    with pytest.raises(ValueError, match=r"scale must be a finite number or None, got nan"):
        DotProductAttention(2, scale=float("nan"))


def test_bad_shapes():
    op = DotProductAttention(3)
    with pytest.raises(ValueError, match=r"expected the q/k last axis divisible by num_heads = 3"):
        op.infer_shape((None, 3, 8), (None, 5, 8), (None, 5, 6))
    with pytest.raises(ValueError, match=r"expected q \(B, T, C\), k \(B, S, C\) and v \(B, S, C'\)"):
        op.infer_shape((None, 3, 6), (None, 5, 6), (None, 4, 6))
    with pytest.raises(ValueError, match=r"expected inputs of rank 3"):
        op.infer_shape((None, 6), (None, 5, 6), (None, 5, 6))
    with pytest.raises(ValueError, match=r"expected a mask that broadcasts to the scores \(None, 3, 3, 5\), "
                                         r"got shape \(None, 4\)"):
        op.infer_shape((None, 3, 6), (None, 5, 6), (None, 5, 6), (None, 4))
    with pytest.raises(ValueError, match=r"expected a mask of rank 2 \(B, S\), 3 \(B, T, S\) or 4"):
        op.infer_shape((None, 3, 6), (None, 5, 6), (None, 5, 6), (None,))
    with pytest.raises(ValueError, match=r"expected a packed last axis divisible by 3 \* num_heads = 9"):
        DotProductAttention(3, packed=True).infer_shape((None, 3, 12))
    with pytest.raises(ValueError, match=r"expected inputs q, k, v and an optional mask \(3 or 4 inputs\), got 2"):
        op.infer_shape((None, 3, 6), (None, 5, 6))


def test_bad_runtime_input(rng):
    q, k, v = _qkv(rng, 2, 3, 5, 2, 2, 2)
    with pytest.raises(ValueError, match=r"expected a mask that broadcasts to the scores \(2, 2, 3, 5\), got "
                                         r"shape \(3, 5\)"):
        run_op(DotProductAttention(2), q, k, v, np.ones((3, 5)))
    with pytest.raises(TypeError, match=r"expected inputs of one dtype"):
        run_op(DotProductAttention(2), q, k.astype(np.float32), v)
    with pytest.raises(TypeError, match=r"expected float32/float64 inputs of rank 3"):
        run_op(DotProductAttention(2), q.astype(np.int64), k, v)
