"""Keras models on Spark and on local replicas: Model.fit(df, ...), Model.predict(df),
set_checkpoint for Spark fits, Model.fit(distributed=False) on K replicas; real local[2] Spark."""

import os

import numpy as np
import pytest

from tests.distributed.models import toy_data
from zoo.engine import threads as T
from zoo.engine.triggers import MinLoss
from zoo.keras import backend
from zoo.keras import callbacks as C
from zoo.keras import layers as L
from zoo.keras.models import Model, Sequential, load_model
from zoo.keras.optimizers import SGD

LOSS = "sparse_categorical_crossentropy"


make_data = toy_data


def make_model(seed=0):
    backend.set_seed(seed)
    m = Sequential([L.Dense(32, activation="relu", input_shape=(20,)), L.Dense(3, activation="softmax")])
    m.compile(SGD(0.1, momentum=0.9), LOSS, metrics=["accuracy"])
    return m


@pytest.fixture(scope="module")
def frame(spark):
    import pandas as pd

    x, y = make_data()
    df = spark.createDataFrame(pd.DataFrame({"features": list(x), "label": y})).cache()
    df.count()
    yield df
    df.unpersist()


def replay(model, x, y, batch, epochs, seed=0):
    """What a Spark fit computes, replayed locally: epoch e's batches are slices of
    default_rng([seed, e]).permutation(rows), rows in the DataFrame's order."""
    for e in range(epochs):
        perm = np.random.default_rng([seed, e]).permutation(len(x))
        for s in range(0, len(x), batch):
            p = perm[s:s + batch]
            model.train_on_batch(x[p], y[p])
    return model


@pytest.mark.spark
def test_fit_dataframe_equals_local_replay_and_predicts_a_dataframe(frame):
    x, y = make_data()
    m = make_model()
    lines = []
    cb = C.LambdaCallback(on_epoch_end=lambda e, logs: lines.append((e, sorted(logs))))
    hist = m.fit(frame, batch_size=64, epochs=2, feature_cols=["features"], label_cols=["label"],
                 num_workers=2, validation_data=frame, callbacks=[cb], verbose=0)
    assert sorted(hist.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(hist.history["loss"]) == 2 and hist.history["loss"][1] < hist.history["loss"][0]
    assert lines == [(0, ["accuracy", "loss", "val_accuracy", "val_loss"])] * 1 + [(1, lines[1][1])]
    assert m.distributed_info["workers"] == 2 and len(m.distributed_info["iterations"]) == 20
    # local[2], one thread per worker: the two workers ran on their own cores (if there are 2)
    assert m.distributed_info["pinned"] == (len(os.sched_getaffinity(0)) >= 2)
    ref = replay(make_model(), x, y, 64, 2)
    for a, b in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    # the trained model evaluates locally to what the workers reported
    ev = m.evaluate(x, y, batch_size=600, return_dict=True)
    assert ev["accuracy"] == pytest.approx(hist.history["val_accuracy"][-1], abs=1e-9)
    # predict(df) -> DataFrame with a prediction column equal to local predict
    out = m.predict(frame.limit(50)).toPandas()
    assert "prediction" in out.columns and "label" in out.columns
    got = np.stack(out["prediction"].to_numpy())
    np.testing.assert_allclose(got, m.predict(np.stack(out["features"].to_numpy())), atol=1e-6)
    # a second fit continues (epoch counter and optimizer state)
    m.fit(frame, batch_size=64, epochs=1, num_workers=1, verbose=0)
    assert m._trainer.state.epoch == 3 and m._trainer.state.iteration == 30


@pytest.mark.spark
def test_fit_dataframe_verbose_lines_checkpoint_end_trigger_and_save(frame, tmp_path, capsys):
    m = make_model(1)
    m.set_checkpoint(str(tmp_path / "ckpt"))
    m.set_tensorboard(str(tmp_path / "tb"), "spark")
    hist = m.fit(frame, batch_size=100, epochs=2, num_workers=2, verbose=1, validation_data=frame)
    assert len(hist.history["loss"]) == 2
    # TensorBoard summaries are written once, by the driver: one Loss per iteration, one val point per epoch
    losses = m.get_train_summary("Loss")
    assert [s for s, _, _ in losses] == list(range(1, 13))
    assert [v for _, v, _ in losses] == pytest.approx([i["loss"] for i in m.distributed_info["iterations"]])
    assert len(m.get_train_summary("Throughput")) == 12 and len(m.get_validation_summary("Loss")) == 2
    out = capsys.readouterr().out
    assert "Epoch 1/2 - loss: " in out and "Epoch 2/2 - loss: " in out and "samples/s" in out
    assert os.listdir(tmp_path / "ckpt")
    # an end trigger stops the job early: MinLoss(10) fires after the first iteration
    it = m._trainer.state.iteration
    m.fit(frame, batch_size=100, epochs=5, num_workers=2, verbose=0, end_trigger=MinLoss(10.0))
    assert m._trainer.state.iteration == it + 1
    # the model trained on Spark saves and reloads like any other, and fit continues equally
    path = str(tmp_path / "m.zoo")
    m.save(path)
    loaded = load_model(path)
    x, y = make_data()
    a = m.fit(x, y, batch_size=100, epochs=m._trainer.state.epoch + 1, verbose=0, shuffle=False).history["loss"]
    b = loaded.fit(x, y, batch_size=100, epochs=loaded._trainer.state.epoch + 1, verbose=0,
                   shuffle=False).history["loss"]
    assert a == b


@pytest.mark.spark
def test_fit_dataframe_bad_input(frame):
    x, y = make_data()
    m = make_model()
    with pytest.raises(ValueError, match="label_cols"):
        m.fit(frame, y, num_workers=1)
    with pytest.raises(ValueError, match="validation_split is not supported for a Spark DataFrame"):
        m.fit(frame, validation_split=0.2, num_workers=1)
    with pytest.raises(TypeError, match="validation_data must be a Spark DataFrame"):
        m.fit(frame, validation_data=(x, y), num_workers=1)
    with pytest.raises(ValueError, match="EarlyStopping cannot act during a Spark job.*end_trigger"):
        m.fit(frame, callbacks=[C.EarlyStopping()], num_workers=1)
    with pytest.raises(ValueError, match=r"columns? .*'feats'"):
        m.fit(frame, feature_cols=["feats"], num_workers=1, verbose=0)
    with pytest.raises(ValueError, match="feature_cols is for a Spark DataFrame"):
        m.fit(x, y, feature_cols=["features"])
    with pytest.raises(ValueError, match="num_workers"):
        m.fit(frame, num_workers=0)
    with pytest.raises(TypeError, match="unexpected argument"):
        m.fit(frame, num_workers=1, bogus=1)
    with pytest.raises(ValueError, match="already in the DataFrame"):
        m.predict(frame, prediction_col="label")
    with pytest.raises(TypeError, match="unexpected argument"):
        m.predict(frame.rdd, prediction_col="p")


@pytest.mark.spark
def test_two_output_model_predicts_one_column_per_output(frame):
    inp = L.Input((20,), name="features")
    h = L.Dense(8, activation="relu")(inp)
    m = Model(inp, [L.Dense(3, name="cls")(h), L.Dense(1, name="reg")(h)])
    out = m.predict(frame.limit(10)).toPandas()
    assert {"prediction_cls", "prediction_reg"} <= set(out.columns)
    xs = np.stack(out["features"].to_numpy())
    local = m.predict(xs)
    np.testing.assert_allclose(np.stack(out["prediction_reg"].to_numpy()), local[1], atol=1e-6)


def test_local_fit_runs_replicas_and_equals_one_replica(monkeypatch):
    """Model.fit on arrays uses K = threads replicas for large enough batches ("auto"), with
    the same result as one replica on the whole batch (to float rounding)."""
    x, y = make_data(512)
    with T.num_threads(2):
        m2 = make_model()
        m2.fit(x, y, batch_size=64, epochs=2, verbose=0, distributed=False)
        assert m2._trainer.replicas_for(64) == 2 and m2._trainer._group is not None
        monkeypatch.setenv("ZOO_REPLICAS", "1")
        m1 = make_model()
        m1.fit(x, y, batch_size=64, epochs=2, verbose=0)
        assert m1._trainer._group is None
    for a, b in zip(m2.get_weights(), m1.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.spark
def test_fit_rdd_of_samples_equals_local_replay(spark):
    """Analytics Zoo style: model.fit(rdd_of_samples, ...) trains through the same job."""
    from zoo.feature.common import Sample

    x, y = make_data(300)
    rdd = spark.sparkContext.parallelize([Sample(a, np.int64(b)) for a, b in zip(x, y)], 3)
    m = make_model()
    hist = m.fit(rdd, batch_size=50, epochs=1, num_workers=2, verbose=0)
    assert len(hist.history["loss"]) == 1
    ref = replay(make_model(), x, y, 50, 1)
    for a, b in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    # predict(rdd) -> RDD of one prediction per record, in order (Samples or bare arrays)
    preds = m.predict(rdd, batch_size=64).collect()
    assert len(preds) == 300 and preds[0].shape == (3,)
    np.testing.assert_allclose(np.stack(preds), m.predict(x), atol=1e-6)
    bare = m.predict(spark.sparkContext.parallelize(list(x[:10]), 2)).collect()
    np.testing.assert_allclose(np.stack(bare), m.predict(x[:10]), atol=1e-6)


def test_set_replicas_fixes_k():
    x, y = make_data(64)
    with T.num_threads(2):
        m = make_model()
        m.set_replicas(2)
        m.fit(x, y, batch_size=8, epochs=1, verbose=0)  # "auto" would pick 1 replica at batch 8
        assert m._trainer._group.k == 2
        m.set_replicas(1)
        m.fit(x, y, batch_size=64, epochs=1, verbose=0)
        assert m._trainer._group.k == 1
    with pytest.raises(ValueError, match=r"set_replicas: expected a positive int or 'auto', got 0"):
        m.set_replicas(0)
