"""The BigDL-style Optimizer front (local arrays and Spark), predict_frame, init_nncontext helpers."""

import os

import numpy as np
import pytest

from tests.distributed.models import mlp, toy_data
from zoo.common import nncontext
from zoo.engine.distributed.optimizer import Optimizer
from zoo.engine.optim import SGD
from zoo.engine.trainer import Trainer
from zoo.engine.triggers import EveryEpoch, MaxEpoch, MaxIteration, SeveralIteration

LOSS = "sparse_categorical_crossentropy"


def data(n=400, d=20, seed=0):
    return toy_data(n, d, seed)


class Summary:
    def __init__(self):
        self.scalars = {}

    def add_scalar(self, tag, value, step):
        self.scalars.setdefault(tag, []).append((step, value))


class KerasLike:
    """An object with a .graph, as a Keras-style model."""

    def __init__(self, graph):
        self.graph = graph


def test_local_optimizer_trains_with_validation_summaries_checkpoint(tmp_path):
    x, y = data()
    model = KerasLike(mlp((20, 32, 3)))
    opt = Optimizer(model, (x, y), LOSS, SGD(0.1, momentum=0.9), MaxEpoch(3), batch_size=40)
    opt.set_validation(100, (x, y), EveryEpoch(), ["Top1Accuracy", "Loss"])
    ts, vs = Summary(), Summary()
    opt.set_train_summary(ts)
    opt.set_val_summary(vs)
    opt.set_checkpoint(EveryEpoch(), str(tmp_path / "ck"))
    opt.set_gradclip_l2norm(5.0)
    assert opt.optimize() is model
    assert [s for s, _ in ts.scalars["Loss"]] == list(range(1, 31))
    assert sorted(ts.scalars) == ["LearningRate", "Loss", "Throughput"]
    assert [s for s, _ in vs.scalars["Top1Accuracy"]] == [10, 20, 30]
    assert vs.scalars["Top1Accuracy"][-1][1] > 0.8
    assert os.path.exists(tmp_path / "ck" / "checkpoint.zip")
    # optimize() again continues
    opt.set_end_when(MaxEpoch(4))
    opt.optimize()
    assert opt._trainer.state.epoch == 4


def test_local_optimizer_equals_trainer():
    x, y = data()
    opt = Optimizer(mlp((20, 32, 3)), (x, y), LOSS, SGD(0.1), MaxIteration(7), batch_size=32)
    opt.set_gradclip_const(-0.5, 0.5)
    opt.optimize()
    ref = Trainer(mlp((20, 32, 3)), LOSS, SGD(0.1), clip_value=(-0.5, 0.5))
    ref.fit(x, y, batch_size=32, end_trigger=MaxIteration(7))
    np.testing.assert_allclose(opt._trainer.store.data, ref.store.data, atol=1e-5)


def test_optimizer_bad_input():
    x, y = data()
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        Optimizer(mlp((20, 3)), (x, y), LOSS, batch_size=0)
    opt = Optimizer(mlp((20, 3)), [1, 2, 3], LOSS)
    with pytest.raises(TypeError, match="training_set must be a Spark DataFrame, an RDD or an"):
        opt.optimize()
    with pytest.raises(ValueError, match="min_value must be <= max_value"):
        opt.set_gradclip_const(1, 0)
    with pytest.raises(ValueError, match="clip_norm must be positive"):
        opt.set_gradclip_l2norm(0)
    with pytest.raises(TypeError, match="model must be a Graph or have a .graph"):
        Optimizer(object(), (x, y), LOSS).optimize()
    with pytest.raises(TypeError, match="val_method entries must be names or Metrics"):
        opt.set_validation(10, (x, y), EveryEpoch(), [3])


def test_nncontext_conf_merge(monkeypatch):
    conf = nncontext.init_spark_conf({"spark.task.maxFailures": "2", "a.b": 1})
    assert conf["spark.task.maxFailures"] == "2" and conf["a.b"] == "1"
    assert conf["spark.sql.execution.arrow.pyspark.enabled"] == "true"
    with pytest.raises(TypeError, match="conf must be a dict or a SparkConf"):
        nncontext.init_spark_conf(3)
    monkeypatch.delenv("PYSPARK_PYTHON", raising=False)
    nncontext._prepare_environment()
    import sys

    assert os.environ["PYSPARK_PYTHON"] == sys.executable and os.environ["SPARK_LOCAL_IP"]


@pytest.mark.spark
def test_spark_optimizer_and_predict_frame(spark):
    import pandas as pd

    from zoo.engine.distributed import is_spark_data, predict_frame

    x, y = data()
    df = spark.createDataFrame(pd.DataFrame({"features": list(x), "label": y}))
    assert nncontext.get_nncontext(create=False) is not None
    assert is_spark_data(df) and is_spark_data(df.rdd) and not is_spark_data((x, y))
    graph = mlp((20, 32, 3))
    opt = Optimizer(graph, df, LOSS, SGD(0.1, momentum=0.9), MaxEpoch(2), batch_size=50, num_workers=2)
    opt.set_validation(100, df, SeveralIteration(4), ["Top1Accuracy"])
    ts, vs = Summary(), Summary()
    opt.set_train_summary(ts)
    opt.set_val_summary(vs)
    assert opt.optimize() is graph
    assert [s for s, _ in ts.scalars["Loss"]] == list(range(1, 17))
    assert [s for s, _ in vs.scalars["Top1Accuracy"]] == [8, 16]  # validation at epoch ends when the trigger holds
    tr = opt._trainer
    out = predict_frame(tr, df.limit(37), prediction_col="p", batch_size=16).toPandas()
    assert list(out.columns) == ["features", "label", "p"]
    got = np.stack(out["p"].to_numpy())
    expect = tr.predict(np.stack(out["features"].to_numpy()).astype(np.float32))[0]
    np.testing.assert_allclose(got, expect, atol=1e-6)
    with pytest.raises(ValueError, match="already in the DataFrame"):
        predict_frame(graph, df, prediction_col="label")


@pytest.mark.spark
def test_keras_model_trainer_through_distributed_hook(spark):
    """The hook Model.fit(df) uses: DistributedTrainer(model's Trainer); the model then predicts with the weights."""
    import pandas as pd

    try:
        from zoo.keras import layers as L
        from zoo.keras.models import Sequential
    except Exception as e:  # noqa: BLE001 - the Keras package may be mid-change
        pytest.skip(f"zoo.keras unavailable: {e}")
    from zoo.engine.distributed import DistributedTrainer

    x, y = data()
    m = Sequential([L.Dense(16, activation="relu", input_shape=(20,)), L.Dense(3, activation="softmax")])
    m.compile(SGD(0.1, momentum=0.9), LOSS, metrics=["accuracy"])
    before = m.predict(x[:5]).copy()
    df = spark.createDataFrame(pd.DataFrame({"features": list(x), "label": y}))
    hist = DistributedTrainer(m._get_trainer()).fit(df, batch_size=50, epochs=3, num_workers=2)
    assert hist["loss"][-1] < 0.8 * hist["loss"][0] and hist["accuracy"][-1] > 0.6
    after = m.predict(x[:5])
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, m._get_trainer().predict(x[:5])[0], atol=1e-6)
