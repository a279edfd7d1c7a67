import itertools
import os
import signal

import numpy as np
import pytest

import zoo.engine.ops.conv as conv_mod
from tests.harness import assert_close, check_grad, check_threads, run_op
from zoo.engine import graph as G
from zoo.engine import threads
from zoo.engine.graph import Executor, Graph, Parameter
from zoo.engine.kernels import conv as K
from zoo.engine.ops.base import Ctx, from_config
from zoo.engine.ops.conv import Conv1D, Conv2D, parse_padding_2d, resolve_pads, same_pads

# ---- numpy references ---------------------------------------------------------------------


def _naive_conv2d(x, w, b, strides, pads, dilation, groups):
    """Direct definition: y[n,o,oh,ow] = b[o] + sum_{c,i,j} w[o,c,i,j] x_pad[n, g*Cg + c, oh*sh + i*dh, ow*sw + j*dw]."""
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (pt, pb), (pl, pr) = pads
    sh, sw = strides
    dh, dw = dilation
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - ((kh - 1) * dh + 1)) // sh + 1
    ow = (wd + pl + pr - ((kw - 1) * dw + 1)) // sw + 1
    y = np.zeros((n, o, oh, ow))
    og = o // groups
    for oc in range(o):
        gi = oc // og
        for i in range(kh):
            for j in range(kw):
                patch = xp[
                    :,
                    gi * cg : (gi + 1) * cg,
                    i * dh : i * dh + (oh - 1) * sh + 1 : sh,
                    j * dw : j * dw + (ow - 1) * sw + 1 : sw,
                ]
                y[:, oc] += np.einsum("nchw,c->nhw", patch, w[oc, :, i, j])
    if b is not None:
        y += b[None, :, None, None]
    return y


def _pads_of(padding, hw, kernel, strides, dilation):
    return resolve_pads(parse_padding_2d(padding, "test"), hw, kernel, strides, dilation)


def _naive_im2col(x, g):
    """(C*KH*KW, N, OH*OW) column matrix by slicing the padded input."""
    xp = np.pad(x, ((0, 0), (0, 0), (g.pt, g.pb), (g.pl, g.pr)))
    rows = []
    for c in range(g.C):
        for i in range(g.kh):
            for j in range(g.kw):
                sl = xp[
                    :,
                    c,
                    i * g.dh : i * g.dh + (g.OH - 1) * g.sh + 1 : g.sh,
                    j * g.dw : j * g.dw + (g.OW - 1) * g.sw + 1 : g.sw,
                ]
                rows.append(sl.reshape(g.N, -1))
    return np.stack(rows)


def _naive_col2im(col, g):
    """Adjoint of _naive_im2col: scatter-add the column entries back to the image."""
    dxp = np.zeros((g.N, g.C, g.H + g.pt + g.pb, g.W + g.pl + g.pr))
    col = col.reshape(g.C, g.kh, g.kw, g.N, g.OH, g.OW)
    for c in range(g.C):
        for i in range(g.kh):
            for j in range(g.kw):
                dxp[
                    :,
                    c,
                    i * g.dh : i * g.dh + (g.OH - 1) * g.sh + 1 : g.sh,
                    j * g.dw : j * g.dw + (g.OW - 1) * g.sw + 1 : g.sw,
                ] += col[c, i, j]
    return dxp[:, :, g.pt : g.pt + g.H, g.pl : g.pl + g.W]


# ---- TensorFlow references ----------------------------------------------------------------


def _tf_padding(padding, pads):
    if isinstance(padding, str):
        return padding.upper()
    return [[0, 0], list(pads[0]), list(pads[1]), [0, 0]]


def _tf_conv2d(tf, x, w, b, strides, padding, pads, dilation, groups):
    """Conv2D through TF in NHWC: tf.nn.conv2d per group, tf.nn.depthwise_conv2d for groups == C."""
    xt = np.transpose(x, (0, 2, 3, 1))
    o, cg = w.shape[:2]
    c = x.shape[1]
    pad = _tf_padding(padding, pads)
    if groups == c and cg == 1 and groups > 1:
        m = o // c
        f = np.transpose(w[:, 0].reshape(c, m, *w.shape[2:]), (2, 3, 0, 1))  # (KH, KW, C, M)
        if max(strides) > 1 and max(dilation) > 1:
            # TF's depthwise_conv2d mishandles strides with dilation (it warns): run it at
            # stride 1 with the same explicit pads and subsample.
            explicit = [[0, 0], list(pads[0]), list(pads[1]), [0, 0]]
            y = tf.nn.depthwise_conv2d(xt, f, [1, 1, 1, 1], explicit, dilations=list(dilation)).numpy()
            y = y[:, :: strides[0], :: strides[1]]
        else:
            y = tf.nn.depthwise_conv2d(xt, f, [1, *strides, 1], pad, dilations=list(dilation)).numpy()
    else:
        og = o // groups
        outs = []
        for gi in range(groups):
            f = np.transpose(w[gi * og : (gi + 1) * og], (2, 3, 1, 0))  # (KH, KW, Cg, Og)
            outs.append(
                tf.nn.conv2d(
                    xt[..., gi * cg : (gi + 1) * cg], f, list(strides), pad, dilations=list(dilation)
                ).numpy()
            )
        y = np.concatenate(outs, axis=-1)
    if b is not None:
        y = y + b
    return np.transpose(y, (0, 3, 1, 2))


# ---- Conv2D -------------------------------------------------------------------------------

PADDINGS = ["valid", "same", ((1, 2), (0, 1))]
# (C, O, groups): plain, grouped, depthwise, depthwise with channel multiplier 2
CHANNELS = [(3, 4, 1), (6, 4, 2), (3, 3, 3), (3, 6, 3)]
GRID = list(itertools.product([1, 2], PADDINGS, [1, 2], CHANNELS))


def _ids(params):
    s, p, d, (c, o, g) = params
    return f"s{s}-{p if isinstance(p, str) else 'explicit'}-d{d}-c{c}o{o}g{g}"


@pytest.mark.parametrize("s,padding,d,chans", GRID, ids=[_ids(p) for p in GRID])
def test_conv2d_matches_reference_and_gradients(s, padding, d, chans, rng):
    c, o, g = chans
    x = rng.normal(size=(2, c, 7, 6))
    w = rng.normal(size=(o, c // g, 3, 2))
    b = rng.normal(size=o)
    op = Conv2D(strides=s, padding=padding, dilation=d, groups=g)
    y, ctx = run_op(op, x, w, b)
    pads = _pads_of(padding, (7, 6), (3, 2), (s, s), (d, d))
    assert_close(y, _naive_conv2d(x, w, b, (s, s), pads, (d, d), g), rtol=1e-10, atol=1e-10)
    assert op.infer_shape((None, c, 7, 6), w.shape, b.shape) == (None,) + y.shape[1:]
    assert ctx.conv_plan.mode == ("depthwise" if g == c else "gemm")
    check_grad(op, [x, w, b])
    check_grad(op, [x, w])


@pytest.mark.parametrize("s,padding,d,chans", GRID, ids=[_ids(p) for p in GRID])
def test_conv2d_matches_tensorflow(s, padding, d, chans, rng, tf):
    c, o, g = chans
    x = rng.normal(size=(3, c, 9, 8)).astype(np.float32)
    w = rng.normal(size=(o, c // g, 3, 3)).astype(np.float32)
    b = rng.normal(size=o).astype(np.float32)
    y, _ = run_op(Conv2D(strides=s, padding=padding, dilation=d, groups=g), x, w, b)
    pads = _pads_of(padding, (9, 8), (3, 3), (s, s), (d, d))
    ref = _tf_conv2d(tf, x, w, b, (s, s), padding, pads, (d, d), g)
    assert_close(y, ref, rtol=1e-4, atol=1e-4)


def test_conv2d_same_padding_rule_is_tf(rng, tf):
    # even kernel, stride 2, odd size: the extra pixel goes to the bottom/right
    assert same_pads(7, 4, 2, 1) == (1, 2)
    assert same_pads(8, 3, 2, 2) == (1, 2)
    assert same_pads(5, 1, 3, 1) == (0, 0)
    x = rng.normal(size=(2, 2, 7, 8)).astype(np.float32)
    w = rng.normal(size=(3, 2, 4, 3)).astype(np.float32)
    for s, d in [(2, 1), (3, 1), (1, 2), (2, 2)]:
        y, _ = run_op(Conv2D(strides=s, padding="same", dilation=d), x, w)
        ref = _tf_conv2d(tf, x, w, None, (s, s), "same", None, (d, d), 1)
        assert_close(y, ref, rtol=1e-4, atol=1e-4, err_msg=f"s={s} d={d}")


def test_conv2d_asymmetric_strides_and_dilation(rng, tf):
    x = rng.normal(size=(2, 4, 11, 9))
    w = rng.normal(size=(6, 2, 3, 4))
    op = Conv2D(strides=(2, 1), padding=((2, 0), (1, 3)), dilation=(1, 2), groups=2)
    y, _ = run_op(op, x, w)
    assert_close(y, _naive_conv2d(x, w, None, (2, 1), ((2, 0), (1, 3)), (1, 2), 2), rtol=1e-10, atol=1e-10)
    check_grad(op, [x, w])
    xf, wf = x.astype(np.float32), w[:4].astype(np.float32)
    yf, _ = run_op(Conv2D(strides=(2, 1), padding=((2, 0), (1, 3)), dilation=(1, 2), groups=2), xf, wf)
    ref = _tf_conv2d(tf, xf, wf, None, (2, 1), ((2, 0), (1, 3)), ((2, 0), (1, 3)), (1, 2), 2)
    assert_close(yf, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv2d_1x1_fast_path(padding, rng, tf, monkeypatch):
    x = rng.normal(size=(3, 5, 4, 6))
    w = rng.normal(size=(7, 5, 1, 1))
    b = rng.normal(size=7)
    op = Conv2D(padding=padding)
    _, ctx = run_op(op, x, w, b)
    assert ctx.conv_plan.mode == "gemm"  # small images: the column path's wide GEMMs win
    monkeypatch.setattr(conv_mod, "ONE_BY_ONE_MIN_PIXELS", 1)
    y, ctx = run_op(op, x, w, b)
    assert ctx.conv_plan.mode == "1x1"
    assert_close(y, _naive_conv2d(x, w, b, (1, 1), ((0, 0), (0, 0)), (1, 1), 1), rtol=1e-10, atol=1e-10)
    check_grad(op, [x, w, b])
    y32, _ = run_op(Conv2D(padding=padding), x.astype(np.float32), w.astype(np.float32), b.astype(np.float32))
    ref = _tf_conv2d(
        tf, x.astype(np.float32), w.astype(np.float32), b.astype(np.float32), (1, 1), padding, None, (1, 1), 1
    )
    assert_close(y32, ref, rtol=1e-4, atol=1e-4)
    # a strided 1x1 convolution takes the im2col path and agrees too
    op2 = Conv2D(strides=2)
    y2, ctx2 = run_op(op2, x, w, b)
    assert ctx2.conv_plan.mode == "gemm"
    assert_close(y2, _naive_conv2d(x, w, b, (2, 2), ((0, 0), (0, 0)), (1, 1), 1), rtol=1e-10, atol=1e-10)
    check_grad(op2, [x, w, b])


@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_chunked_batch_matches_single_chunk(groups, rng, monkeypatch):
    x = rng.normal(size=(5, 4, 6, 7))
    w = rng.normal(size=(6, 4 // groups, 3, 3))
    b = rng.normal(size=6)
    gy = rng.normal(size=(5, 6, 6, 7))
    op = Conv2D(padding="same", groups=groups)
    monkeypatch.setattr(conv_mod, "MIN_CHUNKS", 1)
    y1, ctx1 = run_op(op, x, w, b)
    g1 = [g.copy() for g in op.backward(ctx1, gy)]
    assert ctx1.conv_plan.n_chunks == 1 and len(ctx1.conv_plan.workers) == 1
    monkeypatch.setattr(conv_mod, "COL_CHUNK_BYTES", 1)
    for nt in (1, 2):
        with threads.num_threads(nt):
            y2, ctx2 = run_op(op, x, w, b)
            assert ctx2.conv_plan.n_chunks == 5 and len(ctx2.conv_plan.workers) == nt
            g2 = op.backward(ctx2, gy)
            assert_close(y2, y1, rtol=1e-12, atol=1e-12)
            for a, e in zip(g2, g1):
                assert_close(a, e, rtol=1e-12, atol=1e-12)
            check_grad(op, [x, w, b], max_checks=30)


def test_conv2d_default_chunks_share_the_batch(rng):
    x = rng.normal(size=(9, 2, 5, 5)).astype(np.float32)
    w = rng.normal(size=(3, 2, 3, 3)).astype(np.float32)
    _, ctx = run_op(Conv2D(), x, w)
    assert [(n0, n1) for n0, n1, _ in ctx.conv_plan.chunks] == [(0, 3), (3, 6), (6, 9)]
    _, ctx = run_op(Conv2D(), x[:1], w)
    assert ctx.conv_plan.n_chunks == 1 and len(ctx.conv_plan.workers) == 1


def test_conv2d_backward_recomputes_columns_for_the_latest_input(rng, monkeypatch):
    op = Conv2D(padding="same")
    x1, x2 = rng.normal(size=(2, 3, 5, 5)), rng.normal(size=(2, 3, 5, 5))
    w = rng.normal(size=(4, 3, 3, 3))
    gy = rng.normal(size=(2, 4, 5, 5))
    ref_ctx = Ctx(n_inputs=2)
    op.forward(ref_ctx, x2, w)
    ref = [g.copy() for g in op.backward(ref_ctx, gy)]
    for chunk in (4 << 20, 1):
        monkeypatch.setattr(conv_mod, "COL_CHUNK_BYTES", chunk)
        ctx = Ctx(n_inputs=2)
        op.forward(ctx, x1, w)
        op.forward(ctx, x2, w)
        first = [g.copy() for g in op.backward(ctx, gy)]
        second = op.backward(ctx, gy)  # the column buffer was overwritten by the first backward
        for a, b_, e in zip(first, second, ref):
            assert_close(a, e, rtol=1e-12, atol=1e-12)
            assert_close(b_, e, rtol=1e-12, atol=1e-12)


def test_conv2d_first_layer_skips_input_gradient(rng):
    x = rng.normal(size=(2, 1, 6, 6))
    w = rng.normal(size=(3, 1, 3, 3))
    b = rng.normal(size=3)
    op = Conv2D(padding="same")
    _, ctx = run_op(op, x, w, b, needs_grad=(False, True, True))
    gy = rng.normal(size=(2, 3, 6, 6))
    dx, dw, db = op.backward(ctx, gy)
    assert dx is None
    _, ctx_all = run_op(op, x, w, b)
    _, dw_all, db_all = op.backward(ctx_all, gy)
    assert_close(dw, dw_all, rtol=1e-12)
    assert_close(db, db_all, rtol=1e-12)
    assert_close(db, gy.sum(axis=(0, 2, 3)), rtol=1e-12)
    _, ctx_w = run_op(op, x, w, b, needs_grad=(True, True, False))
    assert op.backward(ctx_w, gy)[2] is None


def test_conv2d_float32_matches_float64(rng):
    x = rng.normal(size=(4, 6, 9, 7))
    w = rng.normal(size=(8, 3, 3, 3))
    b = rng.normal(size=8)
    gy = rng.normal(size=(4, 8, 5, 4))
    op = Conv2D(strides=2, padding="same", groups=2)
    y64, c64 = run_op(op, x, w, b)
    y32, c32 = run_op(op, *(a.astype(np.float32) for a in (x, w, b)))
    assert y32.dtype == np.float32
    assert_close(y32, y64, rtol=1e-4, atol=1e-4)
    g64 = [g.copy() for g in op.backward(c64, gy)]
    g32 = op.backward(c32, gy.astype(np.float32))
    for a, e in zip(g32, g64):
        assert a.dtype == np.float32
        assert_close(a, e, rtol=1e-4, atol=1e-3)


def test_conv2d_non_contiguous_inputs(rng):
    x = rng.normal(size=(2, 7, 6, 3)).transpose(0, 3, 1, 2)  # NHWC data seen as NCHW
    w = rng.normal(size=(3, 3, 3, 4)).transpose(3, 2, 0, 1)[:3]
    assert not x.flags.c_contiguous and not w.flags.c_contiguous
    op = Conv2D(padding="same")
    y, ctx = run_op(op, x, w)
    pads = _pads_of("same", (7, 6), (3, 3), (1, 1), (1, 1))
    assert_close(y, _naive_conv2d(x, w, None, (1, 1), pads, (1, 1), 1), rtol=1e-10, atol=1e-10)
    gy = rng.normal(size=(2, 7, 6, 3)).transpose(0, 3, 1, 2)
    dx, dw = op.backward(ctx, gy)
    _, ctx2 = run_op(op, np.ascontiguousarray(x), np.ascontiguousarray(w))
    dx2, dw2 = op.backward(ctx2, np.ascontiguousarray(gy))
    assert_close(dx, dx2, rtol=1e-12)
    assert_close(dw, dw2, rtol=1e-12)


@pytest.mark.parametrize("case", ["gemm", "1x1"])
def test_conv2d_threads_agree(case, rng, monkeypatch):
    monkeypatch.setattr(conv_mod, "ONE_BY_ONE_MIN_PIXELS", 1)
    x = rng.normal(size=(8, 6, 13, 11)).astype(np.float32)
    if case == "gemm":
        w = rng.normal(size=(8, 3, 3, 3)).astype(np.float32)
        op = Conv2D(strides=2, padding="same", groups=2)
    else:
        w = rng.normal(size=(8, 6, 1, 1)).astype(np.float32)
        op = Conv2D()
    b = rng.normal(size=8).astype(np.float32)
    y0, _ = run_op(op, x, w, b)
    gy = rng.normal(size=y0.shape).astype(np.float32)

    def run():
        y, ctx = run_op(op, x, w, b)
        assert ctx.conv_plan.mode == case and len(ctx.conv_plan.workers) == threads.get_num_threads()
        return [y.copy()] + [g.copy() for g in op.backward(ctx, gy)]

    # the chunks do not depend on the threads, and each chunk's GEMMs run single-threaded
    check_threads(run, exact=True)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_conv2d_thread_pool_survives_fork(rng):
    # Spark's Python workers are forked: the child must not wait on the parent's pool threads
    x = rng.normal(size=(8, 4, 8, 8)).astype(np.float32)
    w = rng.normal(size=(4, 4, 3, 3)).astype(np.float32)
    op = Conv2D(padding="same")
    with threads.num_threads(2):
        y = op.forward(Ctx(n_inputs=2), x, w).copy()
        pid = os.fork()
        if pid == 0:  # child: a hang ends with SIGALRM, a wrong result with status 3
            signal.alarm(20)
            ok = np.array_equal(op.forward(Ctx(n_inputs=2), x, w), y)
            os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_thread_helpers_split_wait_and_restore():
    """threads.run_parts / run_blocks / run_queue: every part runs once, the first error is raised
    after all parts finish, and the thread setting is restored (the helpers every op family uses)."""
    with threads.num_threads(2):
        seen = []
        threads.run_blocks(100, lambda lo, hi: seen.append((lo, hi)), align=16)
        assert sorted(seen) == [(0, 48), (48, 100)]
        seen.clear()
        threads.run_blocks(100, lambda lo, hi: seen.append((lo, hi)), min_size=64)
        assert seen == [(0, 100)]
        done = []

        def fail(i):
            done.append(i)
            if i == 1:
                raise RuntimeError("part 1")

        with pytest.raises(RuntimeError, match="part 1"):
            threads.run_parts([(0,), (1,), (2,)], fail)
        assert sorted(done) == [0, 1, 2] and threads.get_num_threads() == 2
        got = []
        threads.run_queue(2, [5, 6, 7], lambda k, item: got.append((k, item)), first=[None, 9])
        assert sorted(i for _, i in got) == [5, 6, 7, 9] and (1, 9) in got
        threads.run_parts([], fail)  # nothing to run
        threads.run_parts([(3,)], lambda i: done.append(threads.get_num_threads()), serial=True)
        assert done[-1] == 1 and threads.get_num_threads() == 2


def test_conv2d_in_a_graph(rng):
    x = G.input((None, 3, 6, 5), name="x")
    w = G.parameter(Parameter("conv_w", rng.normal(size=(4, 3, 3, 3)) * 0.1))
    b = G.parameter(Parameter("conv_b", rng.normal(size=4)))
    y = G.apply(Conv2D(strides=2, padding="same"), [x, w, b], name="conv")
    assert y.shape == (None, 4, 3, 3)
    exe = Executor(Graph([x], [y]))
    xv = rng.normal(size=(2, 3, 6, 5)).astype(np.float32)
    out = exe.forward([xv])[0]
    ref = _naive_conv2d(
        xv.astype(np.float64),
        w.node.parameter.value,
        b.node.parameter.value,
        (2, 2),
        _pads_of("same", (6, 5), (3, 3), (2, 2), (1, 1)),
        (1, 1),
        1,
    )
    assert_close(out, ref, rtol=1e-5, atol=1e-5)
    gy = np.ones_like(out)
    exe.store.grad.fill(0)
    exe.backward([gy])
    gb = exe.store.grad[b.node.parameter.offset : b.node.parameter.offset + 4]
    assert_close(gb, np.full(4, 2 * 3 * 3, np.float32))


def test_conv2d_graph_shape_errors_name_the_node():
    x = G.input((None, 3, 6, 5), name="x")
    w = G.parameter(Parameter("w_bad", np.zeros((4, 2, 3, 3))))
    with pytest.raises(ValueError, match=r"Conv2D 'conv_bad': expected 2 input channels"):
        G.apply(Conv2D(), [x, w], name="conv_bad")


# ---- Winograd F(2x2, 3x3) -------------------------------------------------------------------

WINO_GRID = list(itertools.product([(7, 6), (8, 8), (9, 5)], ["valid", "same", ((2, 0), (1, 2))]))


@pytest.mark.parametrize("hw,padding", WINO_GRID)
def test_conv2d_winograd_matches_reference_and_gradients(hw, padding, rng):
    x = rng.normal(size=(2, 16, *hw))
    w = rng.normal(size=(16, 16, 3, 3))
    b = rng.normal(size=16)
    op = Conv2D(padding=padding)
    y, ctx = run_op(op, x, w, b)
    expect = "winograd" if ctx.conv_plan.g.P >= 64 else "gemm"
    assert ctx.conv_plan.mode == expect
    pads = _pads_of(padding, hw, (3, 3), (1, 1), (1, 1))
    assert_close(y, _naive_conv2d(x, w, b, (1, 1), pads, (1, 1), 1), rtol=1e-10, atol=1e-10)
    check_grad(op, [x, w, b], max_checks=40)
    _, ctx1 = run_op(op, x, w, b, needs_grad=(False, True, False))
    dx, dw, db = op.backward(ctx1, rng.normal(size=y.shape))
    assert dx is None and db is None and dw.shape == w.shape


@pytest.mark.parametrize("padding", ["valid", "same", ((2, 0), (1, 2))])
def test_conv2d_winograd_matches_tensorflow_and_im2col(padding, rng, tf, monkeypatch):
    x = rng.normal(size=(3, 16, 12, 11)).astype(np.float32)
    w = (rng.normal(size=(24, 16, 3, 3)) / 12).astype(np.float32)
    b = rng.normal(size=24).astype(np.float32)
    gy = rng.normal(size=(3, 24) + Conv2D(padding=padding).infer_shape(x.shape, w.shape)[2:]).astype(
        np.float32
    )
    op = Conv2D(padding=padding)
    y, ctx = run_op(op, x, w, b)
    assert ctx.conv_plan.mode == "winograd"
    pads = _pads_of(padding, (12, 11), (3, 3), (1, 1), (1, 1))
    assert_close(y, _tf_conv2d(tf, x, w, b, (1, 1), padding, pads, (1, 1), 1), rtol=1e-4, atol=1e-4)
    grads = [g.copy() for g in op.backward(ctx, gy)]
    monkeypatch.setattr(conv_mod, "WINOGRAD", False)
    y2, ctx2 = run_op(op, x, w, b)
    assert ctx2.conv_plan.mode == "gemm"
    assert_close(y, y2, rtol=1e-4, atol=1e-4)
    for a, e in zip(grads, op.backward(ctx2, gy)):
        assert_close(a, e, rtol=1e-4, atol=1e-3)


def test_conv2d_winograd_chunks_and_threads(rng, monkeypatch):
    monkeypatch.setattr(conv_mod, "WINOGRAD_CHUNK_BYTES", 1)
    x = rng.normal(size=(5, 16, 9, 10)).astype(np.float32)
    w = rng.normal(size=(16, 16, 3, 3)).astype(np.float32)
    b = rng.normal(size=16).astype(np.float32)
    gy = rng.normal(size=(5, 16, 9, 10)).astype(np.float32)
    op = Conv2D(padding="same")

    def run():
        y, ctx = run_op(op, x, w, b)
        assert ctx.conv_plan.mode == "winograd" and ctx.conv_plan.n_chunks == 5
        return [y.copy()] + [g.copy() for g in op.backward(ctx, gy)]

    check_threads(run, exact=True)
    # backward after a forward on another input recomputes the transforms
    ctx = Ctx(n_inputs=3)
    op.forward(ctx, x[::-1].copy(), w, b)
    op.forward(ctx, x, w, b)
    got = op.backward(ctx, gy)
    for a, e in zip(got, run()[1:]):
        np.testing.assert_array_equal(a, e)


def _wino_buffers(g, nb, channels, dtype, ks=None):
    th, tw = K.wino_tiles(g)
    ks = channels * nb * th * tw if ks is None else ks
    buf = np.zeros(16 * ks, dtype)
    return buf, buf.reshape(16, ks)[:, : channels * nb * th * tw].reshape(16, channels, nb * th * tw), ks


@pytest.mark.parametrize(
    "xs,pads",
    [((2, 3, 7, 6), ((1, 1), (1, 1))), ((1, 2, 5, 9), ((2, 0), (1, 2))), ((3, 2, 4, 4), ((0, 0), (0, 0)))],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_winograd_kernels(xs, pads, dtype, rng):
    x = rng.normal(size=xs).astype(dtype)
    w = rng.normal(size=(4, xs[1], 3, 3)).astype(dtype)
    g = K.ConvGeometry(xs, (3, 3), (1, 1), (1, 1), pads, 4)
    assert K.wino_supported(g)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    # padded block strides (as the op uses) and packed ones give the same numbers
    for ks in (None, K.wino_stride(g.C, g.N, g)):
        vb, v3, ksv = _wino_buffers(g, g.N, g.C, dtype, ks)
        K.wino_input(x, vb, g, ks=ksv)
        mb, m3, ksm = _wino_buffers(g, g.N, g.O, dtype, None if ks is None else K.wino_stride(g.O, g.N, g))
        u = K.wino_weights(w)
        np.matmul(u, v3, out=m3)
        y = K.wino_output(mb, np.empty(g.out_shape, dtype), g, ks=ksm)
        assert_close(
            y,
            _naive_conv2d(x.astype(np.float64), w.astype(np.float64), None, (1, 1), pads, (1, 1), 1),
            rtol=tol,
            atol=tol,
        )
    # adjoints: <T a, b> = <a, T* b>
    gy = rng.normal(size=g.out_shape).astype(dtype)
    dm = K.wino_output_adjoint(gy, np.zeros_like(mb), g, ks=ksm)  # the gaps between blocks stay 0
    m_full = mb.copy()
    assert np.isclose(np.dot(m_full, dm), np.sum(y * gy, dtype=np.float64), rtol=1e-4)
    dvb, dv3, _ = _wino_buffers(g, g.N, g.C, dtype, ksv)
    dv3[...] = rng.normal(size=dv3.shape)
    dx = K.wino_input_adjoint(dvb, np.full(xs, 2, dtype), g, ks=ksv, overwrite=True)
    assert np.isclose(np.sum(v3 * dv3, dtype=np.float64), np.sum(x * dx, dtype=np.float64), rtol=1e-4)
    dx2 = K.wino_input_adjoint(dvb, np.ones(xs, dtype), g, ks=ksv)
    assert_close(dx2, dx + 1, rtol=tol, atol=tol)
    du = rng.normal(size=u.shape).astype(dtype)
    dw = K.wino_weights_adjoint(du)
    assert np.isclose(np.sum(u * du, dtype=np.float64), np.sum(w * dw, dtype=np.float64), rtol=1e-4)
    # a chunk of images n0..n1 touches only those images
    part, p3, _ = _wino_buffers(g, 1, g.C, dtype)
    K.wino_input(x, part, g, g.N - 1, g.N)
    np.testing.assert_array_equal(p3, v3.reshape(16, g.C, g.N, -1)[:, :, -1])


def test_winograd_kernels_threads_bitwise(rng):
    xs = (4, 8, 13, 12)
    x = rng.normal(size=xs).astype(np.float32)
    g = K.ConvGeometry(xs, (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), 8)
    gy = rng.normal(size=g.out_shape).astype(np.float32)

    def run():
        vb, _, ks = _wino_buffers(g, g.N, g.C, np.float32)
        K.wino_input(x, vb, g, ks=ks)
        mb, _, ksm = _wino_buffers(g, g.N, g.O, np.float32)
        K.wino_output_adjoint(gy, mb, g, ks=ksm)
        y = K.wino_output(mb, np.empty(g.out_shape, np.float32), g, ks=ksm)
        dx = K.wino_input_adjoint(vb, np.zeros(xs, np.float32), g, ks=ks)
        return vb, mb, y, dx

    check_threads(run, exact=True)


def test_winograd_kernel_wrappers_reject_bad_arguments(rng):
    x = rng.normal(size=(2, 3, 7, 6)).astype(np.float32)
    g = K.ConvGeometry(x.shape, (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), 4)
    vb, _, _ = _wino_buffers(g, 2, 3, np.float32)
    with pytest.raises(ValueError, match=r"wino_input: expected a flat buffer of >= 1152 elements"):
        K.wino_input(x, vb[:-1], g)
    with pytest.raises(ValueError, match=r"wino_input: expected a block stride ks >= 72, got 70"):
        K.wino_input(x, vb, g, ks=70)
    with pytest.raises(ValueError, match=r"expected a 3x3 stride-1 undilated ungrouped geometry"):
        K.wino_input(x, vb, K.ConvGeometry(x.shape, (3, 3), (2, 2), (1, 1), ((1, 1), (1, 1)), 4))
    with pytest.raises(ValueError, match=r"wino_output: expected y of shape \(2, 4, 7, 6\)"):
        K.wino_output(np.zeros(16 * 4 * 2 * 12, np.float32), np.zeros((2, 4, 7, 7), np.float32), g)
    with pytest.raises(TypeError, match=r"wino_output_adjoint: all arrays must share one dtype"):
        K.wino_output_adjoint(np.zeros((2, 4, 7, 6)), np.zeros(16 * 4 * 2 * 12, np.float32), g)
    with pytest.raises(ValueError, match=r"wino_input_adjoint: expected dx of shape"):
        K.wino_input_adjoint(vb, np.zeros((2, 3, 7, 5), np.float32), g)
    with pytest.raises(ValueError, match=r"wino_weights: expected w of shape \(O, C, 3, 3\)"):
        K.wino_weights(np.zeros((4, 3, 5, 5)))


# ---- Conv1D -------------------------------------------------------------------------------

GRID1 = list(
    itertools.product([1, 2], ["valid", "same", "causal", (2, 1)], [1, 2], [(3, 4, 1), (4, 6, 2), (3, 6, 3)])
)


def _conv1d_pads(padding, length, k, s, d):
    if padding == "causal":
        return ((k - 1) * d, 0)
    if padding == "same":
        return same_pads(length, k, s, d)
    if padding == "valid":
        return (0, 0)
    return padding


@pytest.mark.parametrize("s,padding,d,chans", GRID1, ids=[_ids(p) for p in GRID1])
def test_conv1d_matches_reference_gradients_and_tensorflow(s, padding, d, chans, rng, tf):
    c, o, g = chans
    x = rng.normal(size=(2, c, 11))
    w = rng.normal(size=(o, c // g, 3))
    b = rng.normal(size=o)
    op = Conv1D(strides=s, padding=padding, dilation=d, groups=g)
    y, _ = run_op(op, x, w, b)
    lo, hi = _conv1d_pads(padding, 11, 3, s, d)
    ref = _naive_conv2d(x[:, :, None], w[:, :, None], b, (1, s), ((0, 0), (lo, hi)), (1, d), g)[:, :, 0]
    assert_close(y, ref, rtol=1e-10, atol=1e-10)
    assert op.infer_shape((None, c, 11), w.shape, b.shape) == (None,) + y.shape[1:]
    check_grad(op, [x, w, b])
    if g == 1:
        xt = np.pad(x, ((0, 0), (0, 0), (lo, hi))).transpose(0, 2, 1).astype(np.float32)
        tf_pad = "SAME" if padding == "same" else "VALID"
        if padding == "same":
            xt = x.transpose(0, 2, 1).astype(np.float32)
        yt = tf.nn.conv1d(xt, w.transpose(2, 1, 0).astype(np.float32), s, tf_pad, dilations=d).numpy() + b
        assert_close(y, yt.transpose(0, 2, 1), rtol=1e-4, atol=1e-4)


def test_conv1d_causal_output_length_and_config():
    op = Conv1D(strides=1, padding="causal", dilation=4)
    assert op.infer_shape((None, 2, 20), (3, 2, 3), None) == (None, 3, 20)
    cfg = op.get_config()
    assert cfg == {"strides": 1, "padding": "causal", "dilation": 4, "groups": 1}
    assert from_config("conv1d", cfg).get_config() == cfg
    cfg2 = Conv1D(2, (3, 1), 1, 1).get_config()
    assert cfg2["padding"] == [3, 1] and from_config("conv1d", cfg2).get_config() == cfg2


def test_conv1d_first_layer_and_threads(rng):
    x = rng.normal(size=(4, 5, 40)).astype(np.float32)
    w = rng.normal(size=(6, 5, 5)).astype(np.float32)
    gy = rng.normal(size=(4, 6, 20)).astype(np.float32)
    op = Conv1D(strides=2, padding="same")
    _, ctx = run_op(op, x, w, needs_grad=(False, True))
    dx, dw = op.backward(ctx, gy)
    assert dx is None and dw.shape == w.shape

    def run():
        y, c = run_op(op, x, w)
        return [y.copy()] + [g.copy() for g in op.backward(c, gy)]

    check_threads(run, exact=False, rtol=1e-5, atol=1e-5)


# ---- kernels ------------------------------------------------------------------------------

KGRID = [
    ((2, 3, 7, 6), (3, 2), (1, 1), (1, 1), ((1, 1), (0, 1))),
    ((3, 2, 9, 8), (3, 3), (2, 2), (1, 2), ((1, 2), (2, 0))),
    ((1, 4, 5, 13), (1, 4), (1, 3), (2, 1), ((0, 0), (3, 1))),
    ((2, 1, 6, 6), (5, 5), (1, 1), (1, 1), ((2, 2), (2, 2))),
    ((2, 3, 7, 6), (3, 3), (1, 1), (2, 2), ((2, 2), (2, 2))),
    ((2, 2, 5, 8), (2, 3), (1, 1), (1, 1), ((0, 1), (1, 1))),
]


@pytest.mark.parametrize("xs,k,s,d,pads", KGRID)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_col2im_kernels(xs, k, s, d, pads, dtype, rng):
    x = rng.normal(size=xs).astype(dtype)
    g = K.ConvGeometry(xs, k, s, d, pads, 4)
    col = np.empty((g.col_rows(), g.N, g.P), dtype)
    K.im2col(x, col, g)
    np.testing.assert_array_equal(col, _naive_im2col(x, g).astype(dtype))
    # a chunk of images in the 'images' layout
    if g.N > 1:
        part = np.empty((g.N - 1, g.col_rows(), g.P), dtype)
        K.im2col(x, part, g, 1, g.N, layout="images")
        np.testing.assert_array_equal(part, col[:, 1:].transpose(1, 0, 2))
    # col2im is the adjoint of im2col, adds into dx, and overwrite zeroes first
    dcol = rng.normal(size=col.shape).astype(dtype)
    dx = np.ones(xs, dtype)
    K.col2im(dcol, dx, g)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert_close(dx, 1 + _naive_col2im(dcol.astype(np.float64), g), rtol=tol, atol=tol)
    K.col2im(dcol, dx, g, overwrite=True)
    assert_close(dx, _naive_col2im(dcol.astype(np.float64), g), rtol=tol, atol=tol)
    # clobber may zero dcol's padding taps (block adds for stride-1 'same'); the sums are the same
    scratch = dcol.copy()
    dx_c = K.col2im(scratch, np.full(xs, 5, dtype), g, overwrite=True, clobber=True)
    np.testing.assert_array_equal(dx_c, dx)
    np.testing.assert_array_equal(scratch[col != 0], dcol[col != 0])
    # the adjoint identity <im2col(x), c> = <x, col2im(c)>
    assert np.isclose(np.sum(col.astype(np.float64) * dcol), np.sum(x.astype(np.float64) * dx), rtol=1e-4)


def test_conv_kernels_threads_bitwise(rng):
    xs = (6, 5, 17, 15)
    x = rng.normal(size=xs).astype(np.float32)
    g = K.ConvGeometry(xs, (3, 3), (2, 1), (1, 2), ((1, 1), (2, 2)), 5)
    dcol = rng.normal(size=(g.col_rows(), g.N, g.P)).astype(np.float32)

    def run():
        col = K.im2col(x, np.empty((g.col_rows(), g.N, g.P), np.float32), g)
        dx = K.col2im(dcol, np.zeros(xs, np.float32), g)
        return col, dx

    check_threads(run, exact=True)
    gd = K.ConvGeometry(xs, (3, 3), (2, 1), (1, 2), ((1, 1), (2, 2)), 10, groups=5)
    w = rng.normal(size=(10, 1, 3, 3)).astype(np.float32)
    b = rng.normal(size=10).astype(np.float32)
    gy = rng.normal(size=gd.out_shape).astype(np.float32)

    def run_dw():
        y = K.depthwise_forward(x, w, b, np.empty(gd.out_shape, np.float32), gd)
        dx = K.depthwise_backward_x(gy, w, np.zeros(xs, np.float32), gd)
        dw = K.depthwise_backward_w(gy, x, np.zeros(w.shape, np.float32), gd)
        return y, dx, dw

    check_threads(run_dw, exact=True)


def test_swap01_and_bias_add(rng):
    a = rng.normal(size=(3, 4, 5)).astype(np.float32)
    b = rng.normal(size=3).astype(np.float32)
    out = np.empty((4, 3, 5), np.float32)
    np.testing.assert_array_equal(K.swap01(a, out), a.transpose(1, 0, 2))
    np.testing.assert_array_equal(K.swap01(a, out, b), a.transpose(1, 0, 2) + b[None, :, None])
    y = rng.normal(size=(2, 3, 4, 2))
    ref = y + b.astype(np.float64)[None, :, None, None]
    assert_close(K.bias_add(y, b.astype(np.float64)), ref, rtol=1e-15)


def test_depthwise_kernels_match_reference(rng):
    xs = (2, 3, 8, 7)
    x = rng.normal(size=xs)
    w = rng.normal(size=(6, 1, 3, 2))
    g = K.ConvGeometry(xs, (3, 2), (2, 1), (2, 1), ((2, 1), (0, 1)), 6, groups=3)
    y = K.depthwise_forward(x, w, None, np.empty(g.out_shape), g)
    assert_close(y, _naive_conv2d(x, w, None, (2, 1), ((2, 1), (0, 1)), (2, 1), 3), rtol=1e-10, atol=1e-10)


# ---- bad inputs ---------------------------------------------------------------------------


def test_conv2d_bad_inputs(rng):
    x = rng.normal(size=(2, 3, 7, 6)).astype(np.float32)
    w = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    op = Conv2D()
    with pytest.raises(ValueError, match=r"expected a 4-D input \(N, C, H, W\), got shape \(2, 3, 7\)"):
        op.infer_shape((2, 3, 7), w.shape)
    with pytest.raises(ValueError, match=r"expected a 4-D input"):
        run_op(op, x[0], w)
    with pytest.raises(ValueError, match=r"expected a 4-D weight"):
        run_op(op, x, w[0])
    with pytest.raises(
        ValueError, match=r"Conv2D: expected 2 input channels \(weight \(4, 2, 3, 3\), groups=1\)"
    ):
        run_op(op, x, w[:, :2])
    with pytest.raises(ValueError, match=r"groups=2 must divide the output channels"):
        run_op(Conv2D(groups=2), np.zeros((2, 4, 7, 6), np.float32), np.zeros((5, 2, 3, 3), np.float32))
    with pytest.raises(ValueError, match=r"expected 6 input channels"):
        run_op(Conv2D(groups=2), x, w)  # 3 channels cannot be split in 2 groups of 3
    with pytest.raises(ValueError, match=r"larger than the padded input"):
        run_op(op, x, rng.normal(size=(4, 3, 8, 3)).astype(np.float32))
    with pytest.raises(ValueError, match=r"larger than the padded input"):
        Conv2D(dilation=4).infer_shape((None, 3, 7, 6), (4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"expected bias shape \(4,\)"):
        run_op(op, x, w, np.zeros(5, np.float32))
    with pytest.raises(TypeError, match=r"Conv2D: expected a float32 or float64 input, got dtype float16"):
        run_op(op, x.astype(np.float16), w)
    with pytest.raises(TypeError, match=r"expected a float32 or float64 input, got dtype int64"):
        run_op(op, np.zeros((2, 3, 7, 6), np.int64), w)
    with pytest.raises(TypeError, match=r"must share one dtype, got float32, float64"):
        run_op(op, x, w.astype(np.float64))
    with pytest.raises(TypeError, match=r"expected a numpy array for the weight"):
        run_op(op, x, "w")
    _, ctx = run_op(op, x, w)
    with pytest.raises(ValueError, match=r"expected an output gradient of shape \(2, 4, 5, 4\)"):
        op.backward(ctx, np.zeros((2, 4, 5, 5), np.float32))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"strides": 0}, r"Conv2D: strides must be a positive int or a pair of them, got 0"),
        ({"strides": (1, 2, 3)}, r"strides must be"),
        ({"dilation": -1}, r"Conv2D: dilation must be"),
        ({"padding": "full"}, r"Conv2D: padding must be 'valid', 'same'"),
        ({"padding": -1}, r"padding must be"),
        ({"padding": ((1, 2), (3,))}, r"padding must be"),
        ({"groups": 0}, r"Conv2D: groups must be a positive int, got 0"),
        ({"groups": 1.5}, r"groups must be a positive int"),
    ],
)
def test_conv2d_bad_attributes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Conv2D(**kwargs)


def test_conv1d_bad_inputs(rng):
    with pytest.raises(ValueError, match=r"Conv1D: padding must be 'valid', 'same', 'causal'"):
        Conv1D(padding="full")
    with pytest.raises(ValueError, match=r"Conv1D: strides must be a positive int, got \(1, 2\)"):
        Conv1D(strides=(1, 2))
    with pytest.raises(ValueError, match=r"expected a 3-D input \(N, C, L\)"):
        Conv1D().infer_shape((None, 3, 4, 5), (2, 3, 3))
    with pytest.raises(ValueError, match=r"Conv1D: expected a 3-D input"):
        run_op(Conv1D(), np.zeros((2, 3, 4, 5)), np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match=r"expected 4 input channels"):
        run_op(Conv1D(), np.zeros((2, 3, 9)), np.zeros((2, 4, 3)))
    with pytest.raises(TypeError, match=r"float16"):
        run_op(Conv1D(), np.zeros((2, 3, 9), np.float16), np.zeros((2, 3, 3), np.float16))
    _, ctx = run_op(Conv1D(), np.zeros((2, 3, 9)), np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match=r"Conv1D: expected an output gradient of shape \(2, 2, 7\)"):
        Conv1D().backward(ctx, np.zeros((2, 2, 8)))


def test_conv_kernel_wrappers_reject_bad_arguments(rng):
    x = rng.normal(size=(2, 3, 7, 6)).astype(np.float32)
    g = K.ConvGeometry(x.shape, (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), 4)
    col = np.zeros((g.col_rows(), 2, g.P), np.float32)
    with pytest.raises(
        ValueError, match=r"im2col: expected col of 2268 elements \(27, 2, 42\), got shape \(27, 1, 42\)"
    ):
        K.im2col(x, np.empty((g.col_rows(), 1, g.P), np.float32), g)
    with pytest.raises(ValueError, match=r"im2col: expected x of shape \(2, 3, 7, 6\)"):
        K.im2col(x[:1], col, g)
    with pytest.raises(TypeError, match=r"im2col: all arrays must share one dtype"):
        K.im2col(x.astype(np.float64), col, g)
    with pytest.raises(TypeError, match=r"im2col: expected float32 or float64 arrays, got float16"):
        K.im2col(x.astype(np.float16), col.astype(np.float16), g)
    with pytest.raises(ValueError, match=r"C-contiguous"):
        K.im2col(np.asfortranarray(x), col, g)
    with pytest.raises(ValueError, match=r"expected image range 0 <= n0 < n1 <= 2, got n0=1, n1=3"):
        K.im2col(x, col, g, 1, 3)
    with pytest.raises(ValueError, match=r"layout must be 'rows' or 'images'"):
        K.im2col(x, col, g, layout="nchw")
    ro = col.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"read-only"):
        K.im2col(x, ro, g)
    with pytest.raises(ValueError, match=r"col2im: expected dx of shape"):
        K.col2im(col, x[:1], g)
    with pytest.raises(TypeError, match=r"expected a ConvGeometry"):
        K.im2col(x, col, (2, 3, 7, 6))
    with pytest.raises(ValueError, match=r"swap01: expected out of shape \(4, 3, 5\)"):
        K.swap01(np.zeros((3, 4, 5), np.float32), np.zeros((3, 4, 5), np.float32))
    with pytest.raises(ValueError, match=r"swap01: out must not overlap"):
        a = np.zeros((3, 3, 5), np.float32)
        K.swap01(a, a)
    with pytest.raises(ValueError, match=r"expected a depthwise geometry"):
        K.depthwise_forward(x, np.zeros((4, 1, 3, 3), np.float32), None, np.zeros(g.out_shape, np.float32), g)


@pytest.mark.parametrize(
    "args,match",
    [
        (((2, 3, 7), (3, 3), (1, 1), (1, 1), ((0, 0), (0, 0)), 4), r"expected an input shape \(N, C, H, W\)"),
        (
            ((2, 3, 7, 6), (0, 3), (1, 1), (1, 1), ((0, 0), (0, 0)), 4),
            r"kernel must be a pair of positive ints",
        ),
        (((2, 3, 7, 6), (3, 3), (1, 1), (1, 1), ((0, -1), (0, 0)), 4), r"pads must be non-negative"),
        (
            ((2, 3, 7, 6), (3, 3), (1, 1), (1, 1), (0, 0), 4),
            r"pads must be \(\(top, bottom\), \(left, right\)\)",
        ),
        (
            ((2, 3, 7, 6), (3, 3), (1, 1), (1, 1), ((0, 0), (0, 0)), 4, 2),
            r"groups=2 must divide the input channels",
        ),
        (
            ((2, 3, 7, 6), (3, 7), (1, 1), (1, 1), ((0, 0), (0, 0)), 3),
            r"kernel 3x7 \(dilated 3x7\) is larger than",
        ),
    ],
)
def test_conv_geometry_errors(args, match):
    with pytest.raises(ValueError, match=match):
        K.ConvGeometry(*args)


def test_conv_configs_round_trip():
    for op in [
        Conv2D(2, "same", 1, 1),
        Conv2D((1, 2), ((1, 0), (2, 3)), (2, 1), 3),
        Conv2D(padding=2),
        Conv2D(padding=(1, 2)),
        Conv1D(3, "causal", 2, 2),
    ]:
        cfg = op.get_config()
        again = from_config(op.type_name, cfg)
        assert type(again) is type(op) and again.get_config() == cfg
    assert Conv2D(padding=(1, 2)).get_config()["padding"] == [[1, 1], [2, 2]]
    assert Conv2D(padding="SAME").get_config()["padding"] == "same"
