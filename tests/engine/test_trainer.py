"""The engine's training loop: convergence, determinism, triggers, checkpoints, bad input."""

import numpy as np
import pytest

from zoo.engine import functional as F
from zoo.engine import graph as G
from zoo.engine.graph import Graph
from zoo.engine.optim import SGD, Adam
from zoo.engine.params import Parameter
from zoo.engine.trainer import Callback, Trainer
from zoo.engine.triggers import MaxEpoch, MaxIteration, MinLoss


def mlp(seed=0, dropout=0.0):
    rng = np.random.default_rng(seed)
    x = G.input((None, 6), name="x")
    w1 = Parameter("w1", rng.normal(0, 0.4, (6, 16)))
    b1 = Parameter("b1", np.zeros(16))
    w2 = Parameter("w2", rng.normal(0, 0.4, (16, 3)))
    h = F.bias_act(F.linear(x, w1), b1, "relu")
    if dropout:
        h = F.dropout(h, dropout)
    return Graph([x], [F.softmax(F.linear(h, w2))])


def data(n=240, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    return x, y


def test_converges_and_reports():
    x, y = data()
    tr = Trainer(mlp(), "sparse_categorical_crossentropy", SGD(0.1, momentum=0.9), metrics=["accuracy"])
    hist = tr.fit(x, y, batch_size=16, epochs=15, validation_data=(x, y))
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert hist["val_accuracy"][-1] > 0.9
    assert tr.state.epoch == 15 and tr.state.iteration == 15 * 15
    ev = tr.evaluate(x, y, batch_size=50)
    assert ev["accuracy"] == pytest.approx(hist["val_accuracy"][-1])
    pred = tr.predict(x[:7], batch_size=3)[0]
    assert pred.shape == (7, 3) and np.allclose(pred.sum(1), 1, atol=1e-5)


def test_same_seed_same_weights_with_dropout():
    x, y = data()
    runs = []
    for _ in range(2):
        g = mlp(dropout=0.3)
        tr = Trainer(g, "sparse_categorical_crossentropy", Adam(0.01), seed=5)
        tr.fit(x, y, batch_size=16, epochs=3)
        runs.append(tr.store.data.copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    g = mlp(dropout=0.3)
    tr = Trainer(g, "sparse_categorical_crossentropy", Adam(0.01), seed=6)
    tr.fit(x, y, batch_size=16, epochs=3)
    assert not np.array_equal(tr.store.data, runs[0])


def test_triggers_end_training():
    x, y = data()
    tr = Trainer(mlp(), "sparse_categorical_crossentropy", SGD(0.1))
    tr.fit(x, y, batch_size=16, end_trigger=MaxIteration(7))
    assert tr.state.iteration == 7
    tr2 = Trainer(mlp(), "sparse_categorical_crossentropy", SGD(0.1, momentum=0.9))
    tr2.fit(x, y, batch_size=16, end_trigger=MinLoss(0.3) | MaxEpoch(200))
    assert tr2.state.loss < 0.3 and tr2.state.epoch < 200


def test_callbacks_and_stop():
    x, y = data()
    seen = []

    class Stop(Callback):
        def on_batch_end(self, batch, logs):
            seen.append(logs["loss"])
            if len(seen) == 4:
                self.trainer.stop_training = True

    tr = Trainer(mlp(), "sparse_categorical_crossentropy", SGD(0.1))
    tr.fit(x, y, batch_size=16, epochs=5, callbacks=[Stop()])
    assert len(seen) == 4 and tr.state.iteration == 4


def test_checkpoint_resume_equals_uninterrupted(tmp_path):
    x, y = data()
    ref = Trainer(mlp(dropout=0.2), "sparse_categorical_crossentropy", Adam(0.01), seed=3)
    ref.fit(x, y, batch_size=16, epochs=4)

    first = Trainer(mlp(dropout=0.2), "sparse_categorical_crossentropy", Adam(0.01), seed=3)
    first.fit(x, y, batch_size=16, epochs=2)
    path = str(tmp_path / "ckpt.zip")
    first.save_checkpoint(path)
    resumed = Trainer(mlp(seed=9, dropout=0.2), "sparse_categorical_crossentropy", Adam(0.01), seed=3)
    resumed.load_checkpoint(path)
    resumed.fit(x, y, batch_size=16, epochs=2)
    np.testing.assert_array_equal(resumed.store.data, ref.store.data)
    assert resumed.state.epoch == 4


def test_frozen_parameters_do_not_move():
    x, y = data()
    g = mlp()
    tr = Trainer(g, "sparse_categorical_crossentropy", SGD(0.1, momentum=0.9, weight_decay=0.01))
    w1 = next(p for p in g.parameters if p.name == "w1")
    w1.trainable = False
    before = w1.value.copy()
    tr.fit(x, y, batch_size=16, epochs=2)
    np.testing.assert_array_equal(w1.value, before)
    w2 = next(p for p in g.parameters if p.name == "w2")
    assert not np.array_equal(w2.value, mlp().parameters[-1].value)


def test_gradient_clipping_by_norm_bounds_the_step():
    x, y = data(32)
    tr = Trainer(mlp(), "sparse_categorical_crossentropy", SGD(1.0), clip_norm=1e-3)
    before = tr.store.data.copy()
    tr.fit(x, y, batch_size=32, end_trigger=MaxIteration(1))
    assert np.linalg.norm(tr.store.data - before) <= 1e-3 * 1.0001


@pytest.mark.parametrize("bad,exc,msg", [
    (lambda x, y: (x[:, :5], y), ValueError, r"input 'x': expected shape \(None, 6\)"),
    (lambda x, y: (x.astype(str), y), TypeError, "expected numeric data"),
    (lambda x, y: (np.where(np.arange(6) == 2, np.nan, x), y), ValueError, "NaN"),
    (lambda x, y: (x, y[:-1]), ValueError, "expected 240 samples"),
    (lambda x, y: (x, y + 0.5), ValueError, "integer class labels"),
])
def test_bad_input(bad, exc, msg):
    x, y = data()
    tr = Trainer(mlp(), "sparse_categorical_crossentropy", SGD(0.1))
    bx, by = bad(x, y)
    with pytest.raises(exc, match=msg):
        tr.fit(bx, by, batch_size=16)


def test_label_out_of_range_names_loss_and_label():
    x, y = data()
    y[3] = 7
    tr = Trainer(mlp(), "sparse_categorical_crossentropy", SGD(0.1))
    with pytest.raises(ValueError, match=r"label 7 is out of range for 3 classes"):
        tr.fit(x, y, batch_size=240)
