"""Local data parallelism: K replicas sharing the weights equal one replica on the whole batch."""

import numpy as np
import pytest

from tests.distributed.models import lenet, resnet20
from zoo.engine import functional as F
from zoo.engine import graph as G
from zoo.engine import threads as T
from zoo.engine.graph import Graph
from zoo.engine.optim import L2, SGD, Adam
from zoo.engine.parallel import (
    LocalParallelTrainer,
    ReplicaGroup,
    UpdatePlan,
    choose_replicas,
    chunk_bounds,
    split_sizes,
)
from zoo.engine.params import Parameter
from zoo.engine.trainer import Trainer
from zoo.engine.triggers import MaxEpoch

LOSS = "sparse_categorical_crossentropy"


def mlp(seed=0, dropout=0.0, d=6, hidden=16, classes=3):
    rng = np.random.default_rng(seed)
    x = G.input((None, d), name=G.unique_name("x"))
    w1 = Parameter(G.unique_name("w1"), rng.normal(0, 0.4, (d, hidden)))
    b1 = Parameter(G.unique_name("b1"), np.zeros(hidden))
    w2 = Parameter(G.unique_name("w2"), rng.normal(0, 0.4, (hidden, classes)))
    h = F.bias_act(F.linear(x, w1), b1, "relu")
    if dropout:
        h = F.dropout(h, dropout)
    return Graph([x], [F.softmax(F.linear(h, w2))])


def data(n=240, seed=1, d=6):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    return x, y


def train(k, opt, graph=None, batch=37, epochs=3, x=None, y=None, **kw):
    x, y = (x, y) if x is not None else data()
    g = graph if graph is not None else mlp()
    if k is None:
        tr = Trainer(g, LOSS, opt, **kw)
    else:
        tr = LocalParallelTrainer(g, LOSS, opt, replicas=k, **kw)
    hist = tr.fit(x, y, batch_size=batch, epochs=epochs)
    return tr, hist


# ---- helpers ----------------------------------------------------------------------------------

def test_chunk_bounds_cover_and_align():
    for n in (0, 1, 15, 16, 17, 1000, 12345):
        for k in (1, 2, 3, 7):
            b = chunk_bounds(n, k)
            assert len(b) == k and b[0][0] == 0 and b[-1][1] == n
            assert all(b[i][1] == b[i + 1][0] for i in range(k - 1))
            assert all(lo % 16 == 0 or lo == n for lo, _ in b)
    with pytest.raises(ValueError, match="k must be a positive int"):
        chunk_bounds(10, 0)
    with pytest.raises(ValueError, match="n must be an int >= 0"):
        chunk_bounds(-1, 2)


def test_split_sizes():
    assert split_sizes(10, 4) == [3, 3, 2, 2]
    assert split_sizes(2, 4) == [1, 1, 0, 0]
    assert sum(split_sizes(37, 3)) == 37


# ---- equivalence with one replica -------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_replicas_equal_single(k, opt):
    make = (lambda: SGD(0.1, momentum=0.9)) if opt == "sgd" else (lambda: Adam(0.01))
    ref, href = train(None, make())
    tr, h = train(k, make())
    np.testing.assert_allclose(tr.store.data, ref.store.data, rtol=0, atol=1e-5)
    np.testing.assert_allclose(h["loss"], href["loss"], rtol=1e-5)
    if k > 1:
        assert not np.array_equal(tr._group.grads[1], 0)  # the other replicas did work


def test_uneven_shares_weighted():
    """Batch 7 over 3 replicas (3, 2, 2), and a last batch of 1 sample (one replica active)."""
    x, y = data(15)
    ref, _ = train(None, SGD(0.2), batch=7, epochs=4, x=x, y=y)
    tr, _ = train(3, SGD(0.2), batch=7, epochs=4, x=x, y=y)
    np.testing.assert_allclose(tr.store.data, ref.store.data, atol=1e-6)


@pytest.mark.parametrize("kw", [
    {"clip_norm": 0.3},
    {"clip_value": (-0.05, 0.05)},
    {"clip_value": (-0.05, 0.05), "clip_norm": 0.2},
])
def test_clipping_equal_single(kw):
    ref, _ = train(None, SGD(0.1, momentum=0.9), **kw)
    tr, _ = train(2, SGD(0.1, momentum=0.9), **kw)
    np.testing.assert_allclose(tr.store.data, ref.store.data, atol=1e-5)


@pytest.mark.parametrize("opt_kw", [{"clipvalue": 0.02}, {"global_clipnorm": 0.1},
                                    {"clipvalue": 0.02, "global_clipnorm": 0.05}])
@pytest.mark.parametrize("clip_norm", [None, 0.3])
def test_optimizer_clipping_equal_single(opt_kw, clip_norm):
    ref, _ = train(None, SGD(0.1, **opt_kw), clip_norm=clip_norm)
    tr, _ = train(3, SGD(0.1, **opt_kw), clip_norm=clip_norm)
    np.testing.assert_allclose(tr.store.data, ref.store.data, atol=1e-5)
    if clip_norm is not None or "global_clipnorm" in opt_kw:
        assert tr._plan.passes >= 2


def test_regularizer_and_frozen_weights_equal_single():
    def run(k):
        g = mlp()
        p = g.parameters
        regs = {p[0]: L2(0.01)}
        p[1].trainable = False  # b1 frozen: masked
        tr = (Trainer(g, LOSS, SGD(0.1, momentum=0.9), regularizers=regs) if k is None
              else LocalParallelTrainer(g, LOSS, SGD(0.1, momentum=0.9), regularizers=regs, replicas=k))
        x, y = data()
        h = tr.fit(x, y, batch_size=40, epochs=3)
        return tr, h

    ref, href = run(None)
    tr, h = run(2)
    np.testing.assert_allclose(tr.store.data, ref.store.data, atol=1e-5)
    np.testing.assert_allclose(h["loss"], href["loss"], rtol=1e-5)
    b1 = tr.model.parameters[1]
    np.testing.assert_array_equal(b1.value, 0)


def test_lenet_replicas_equal_single():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    ref, _ = train(None, SGD(0.05, momentum=0.9), graph=lenet(seed=3), batch=32, epochs=2, x=x, y=y)
    tr, _ = train(2, SGD(0.05, momentum=0.9), graph=lenet(seed=3), batch=32, epochs=2, x=x, y=y)
    np.testing.assert_allclose(tr.store.data, ref.store.data, atol=1e-5)


def test_metrics_see_whole_batch():
    x, y = data()
    ref = Trainer(mlp(), LOSS, SGD(0.1), metrics=["accuracy"])
    tr = LocalParallelTrainer(mlp(), LOSS, SGD(0.1), metrics=["accuracy"], replicas=3)
    h1 = ref.fit(x, y, batch_size=50, epochs=2)
    h2 = tr.fit(x, y, batch_size=50, epochs=2)
    np.testing.assert_allclose(h2["accuracy"], h1["accuracy"], atol=1e-9)


# ---- state, randomness, threads ---------------------------------------------------------------

def test_batch_norm_replica_states_synchronised():
    """ResNet-20 with 2 replicas: after a step every replica holds the same (averaged) statistics."""
    g = resnet20(seed=1)
    tr = LocalParallelTrainer(g, LOSS, SGD(0.01), replicas=2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 32, 32)).astype(np.float32) + 0.5
    y = rng.integers(0, 10, 6)
    xs, ys, sws, _ = tr._prepare(x, y)
    before = tr.store.state.copy()
    tr.train_step(xs, ys, sws)
    grp = tr._group
    assert not np.array_equal(tr.store.state, before)
    for st in grp.states[1:]:
        np.testing.assert_array_equal(st, tr.store.state)
    assert np.all(np.isfinite(tr.store.state))


def test_batch_norm_running_mean_exact():
    """A BN directly on the input: running_mean = 0.01 * batch mean whatever the shares."""
    rng = np.random.default_rng(0)
    x_in = G.input((None, 4), name=G.unique_name("x"))
    gamma, beta = Parameter(G.unique_name("g"), np.ones(4)), Parameter(G.unique_name("b"), np.zeros(4))
    mean = Parameter(G.unique_name("m"), np.zeros(4), trainable=False, kind="state")
    var = Parameter(G.unique_name("v"), np.ones(4), trainable=False, kind="state")
    w = Parameter(G.unique_name("w"), rng.normal(0, 0.5, (4, 3)))
    h = F.batch_norm(x_in, gamma, beta, mean, var, axis=1)
    g = Graph([x_in], [F.softmax(F.linear(h, w))])
    tr = LocalParallelTrainer(g, LOSS, SGD(0.1), replicas=3)
    x = (rng.standard_normal((10, 4)) * 2 + 3).astype(np.float32)
    y = rng.integers(0, 3, 10)
    xs, ys, sws, _ = tr._prepare(x, y)
    tr.train_step(xs, ys, sws)
    np.testing.assert_allclose(mean.value, 0.01 * x.mean(axis=0), rtol=1e-5)


def test_dropout_replicas_deterministic():
    x, y = data()
    runs = []
    for _ in range(2):
        tr, _ = train(2, Adam(0.01), graph=mlp(dropout=0.3), x=x, y=y, seed=4)
        runs.append(tr.store.data.copy())
    np.testing.assert_array_equal(runs[0], runs[1])


def test_threads_restored_and_blas_single_inside(monkeypatch):
    before, blas_before = T.get_num_threads(), T.blas_num_threads()
    seen = []
    tr = LocalParallelTrainer(mlp(), LOSS, SGD(0.1), replicas=2)
    orig = tr.executor.forward

    def spy(*a, **k):
        seen.append((T.get_num_threads(), T.blas_num_threads()))
        return orig(*a, **k)

    monkeypatch.setattr(tr.executor, "forward", spy)
    x, y = data(40)
    tr.fit(x, y, batch_size=40, epochs=1)
    assert seen and all(s == (1, 1 if blas_before is not None else None) for s in seen)
    assert T.get_num_threads() == before and T.blas_num_threads() == blas_before


def test_error_in_a_replica_is_raised_and_threads_restored():
    before = T.get_num_threads()
    tr = LocalParallelTrainer(mlp(), LOSS, SGD(0.1), replicas=2)
    x, _ = data(10)
    xs, _, sws, _ = tr._prepare(x, np.zeros(10, np.int64))
    ys = [np.array([0] * 5 + [7] * 5, np.int64)]  # label 7 is out of range for 3 classes, in replica 1's share
    with pytest.raises(ValueError, match="label"):
        tr.train_step(xs, ys, sws)
    assert T.get_num_threads() == before


def test_checkpoint_resume_with_replicas(tmp_path):
    x, y = data()
    full, _ = train(2, Adam(0.01), graph=mlp(dropout=0.2), x=x, y=y, epochs=4, seed=2)
    g = mlp(dropout=0.2)
    a = LocalParallelTrainer(g, LOSS, Adam(0.01), replicas=2, seed=2)
    a.fit(x, y, batch_size=37, epochs=2)
    path = str(tmp_path / "ck.zip")
    a.save_checkpoint(path)
    b = LocalParallelTrainer(mlp(seed=9, dropout=0.2), LOSS, Adam(0.01), replicas=2, seed=2)
    b.load_checkpoint(path)
    b.fit(x, y, batch_size=37, end_trigger=MaxEpoch(4))
    np.testing.assert_array_equal(b.store.data, full.store.data)


# ---- choosing K and bad input -----------------------------------------------------------------

def test_choose_replicas_rule(monkeypatch):
    monkeypatch.delenv("ZOO_REPLICAS", raising=False)
    tr = Trainer(mlp(), LOSS, "sgd")
    assert choose_replicas(tr, 128, threads=2) == 2
    assert choose_replicas(tr, 8, threads=2) == 1
    assert choose_replicas(tr, 128, threads=1) == 1
    bn = Trainer(resnet20(), LOSS, "sgd")
    assert choose_replicas(bn, 48, threads=2) == 1 and choose_replicas(bn, 64, threads=2) == 2
    monkeypatch.setenv("ZOO_REPLICAS", "3")
    assert choose_replicas(tr, 8, threads=2) == 3
    monkeypatch.setenv("ZOO_REPLICAS", "x")
    with pytest.raises(ValueError, match="ZOO_REPLICAS must be a positive int"):
        choose_replicas(tr, 8)


def test_auto_replicas_used_by_fit(monkeypatch):
    monkeypatch.setenv("ZOO_REPLICAS", "2")
    tr = LocalParallelTrainer(mlp(), LOSS, SGD(0.1))
    x, y = data(64)
    tr.fit(x, y, batch_size=32, epochs=1)
    assert tr._group is not None and tr._group.k == 2


def test_bad_arguments():
    with pytest.raises(ValueError, match="replicas must be a positive int or 'auto'"):
        LocalParallelTrainer(mlp(), LOSS, "sgd", replicas=0)
    with pytest.raises(ValueError, match="replicas must be a positive int"):
        ReplicaGroup(Trainer(mlp(), LOSS, "sgd"), 0)


def test_update_plan_passes():
    assert UpdatePlan(Trainer(mlp(), LOSS, SGD(0.1))).passes == 1
    assert UpdatePlan(Trainer(mlp(), LOSS, SGD(0.1), clip_norm=1.0)).passes == 2
    assert UpdatePlan(Trainer(mlp(), LOSS, SGD(0.1, clipvalue=1.0, global_clipnorm=1.0), clip_norm=1.0)).passes == 3
