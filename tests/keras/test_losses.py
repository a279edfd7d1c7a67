"""Losses under Keras names (zoo.keras.losses) and Analytics Zoo names (zoo.keras.objectives), and the
Analytics Zoo loss ops (zoo.engine.ops.az_losses): numpy references, gradients, tf.keras parity, names."""

import numpy as np
import pytest

from tests.harness import check_grad
from zoo.engine import losses as EL
from zoo.engine.ops import az_losses as Z
from zoo.keras import losses as KL
from zoo.keras import objectives as O


def _probs(rng, n, c):
    p = rng.random((n, c)) + 0.05
    return p / p.sum(-1, keepdims=True)


# ---- Analytics Zoo loss ops ---------------------------------------------------------------------


def test_zoo_sparse_categorical_cross_entropy_variants(rng):
    p = _probs(rng, 7, 4)
    y = rng.integers(0, 4, 7)
    nll = -np.log(p[np.arange(7), y])
    assert O.SparseCategoricalCrossEntropy()(p, y) == pytest.approx(nll.mean(), rel=1e-6)
    assert O.SparseCategoricalCrossEntropy(zero_based_label=False)(p, y + 1) == pytest.approx(nll.mean(), rel=1e-6)
    assert O.SparseCategoricalCrossEntropy(log_prob_as_input=True)(np.log(p), y) == pytest.approx(nll.mean(),
                                                                                                rel=1e-6)
    w = np.array([1.0, 2.0, 0.5, 3.0])
    ref = (w[y] * nll).sum() / w[y].sum()
    assert O.SparseCategoricalCrossEntropy(weights=w)(p, y) == pytest.approx(ref, rel=1e-6)
    assert O.SparseCategoricalCrossEntropy(weights=w, size_average=False)(p, y) == pytest.approx((w[y] * nll).sum(),
                                                                                                 rel=1e-6)
    padded = y.copy()
    padded[:2] = -1
    assert O.SparseCategoricalCrossEntropy()(p, padded) == pytest.approx(nll[2:].mean(), rel=1e-6)
    padded1 = y + 1
    padded1[:2] = 0
    assert O.SparseCategoricalCrossEntropy(zero_based_label=False, padding_value=0)(p, padded1) == \
        pytest.approx(nll[2:].mean(), rel=1e-6)
    with pytest.raises(ValueError, match=r"label 4 is out of range for 4 classes"):
        O.SparseCategoricalCrossEntropy(zero_based_label=False)(p, y + 2)
    for kwargs in ({}, {"log_prob_as_input": True}, {"weights": w, "zero_based_label": False}):
        inp = np.log(p) if kwargs.get("log_prob_as_input") else p
        lab = y + 1 if kwargs.get("zero_based_label") is False else y
        check_grad(Z.ZooSparseCategoricalCrossEntropy(**kwargs), [inp, lab])


def test_weighted_binary_cross_entropy(rng, tf):
    p = rng.random((6, 3)) * 0.9 + 0.05
    t = (rng.random((6, 3)) > 0.5).astype(np.float64)
    w = np.array([1.0, 0.5, 2.0])
    elem = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert O.BinaryCrossEntropy()(p, t) == pytest.approx(elem.mean(), rel=1e-6)
    assert O.BinaryCrossEntropy(weights=w)(p, t) == pytest.approx((elem * w).mean(), rel=1e-6)
    assert O.BinaryCrossEntropy(weights=w, size_average=False)(p, t) == pytest.approx((elem * w).sum(), rel=1e-6)
    p32, t32 = p.astype(np.float32), t.astype(np.float32)
    assert O.BinaryCrossEntropy()(p32, t32) == pytest.approx(float(tf.keras.losses.BinaryCrossentropy()(t32, p32)),
                                                             rel=1e-5)
    check_grad(Z.WeightedBinaryCrossEntropy(weights=w), [p, t])
    check_grad(Z.WeightedBinaryCrossEntropy(weights=w, size_average=False), [p, t, rng.random(6)])
    with pytest.raises(ValueError, match=r"weights of shape \(2,\) do not broadcast to y_pred of shape \(6, 3\)"):
        O.BinaryCrossEntropy(weights=[1.0, 2.0])(p, t)
    with pytest.raises(ValueError, match="weights must be a non-empty array of finite non-negative values"):
        O.BinaryCrossEntropy(weights=[-1.0])


def test_rank_hinge(rng):
    p = rng.standard_normal((9, 2))
    ref = np.maximum(1.0 - p[:, 0] + p[:, 1], 0).mean()
    assert O.RankHinge()(p, np.zeros_like(p)) == pytest.approx(ref, rel=1e-6)
    assert O.RankHinge(margin=0.5)(p[:, :, None], np.zeros((9, 2, 1))) == pytest.approx(
        np.maximum(0.5 - p[:, 0] + p[:, 1], 0).mean(), rel=1e-6)
    check_grad(Z.RankHinge(), [p, np.zeros_like(p)])
    check_grad(Z.RankHinge(0.3), [p[:, :, None], np.zeros((9, 2, 1)), rng.random(9)])
    with pytest.raises(ValueError, match=r"expected y_pred of shape \(batch, 2\) or \(batch, 2, 1\)"):
        O.RankHinge()(np.zeros((4, 3)), np.zeros((4, 3)))


def test_rank_hinge_trains_a_ranking_model():
    from zoo.keras import layers as L
    from zoo.keras.models import Model

    from zoo.keras import backend

    backend.set_seed(0)
    rng = np.random.default_rng(0)
    pos, neg = rng.standard_normal((64, 4)).astype(np.float32) + 1, rng.standard_normal((64, 4)).astype(np.float32)
    a, b = L.Input((4,)), L.Input((4,))
    score = L.Dense(1, name="score")
    out = L.Concatenate()([score(a), score(b)])
    m = Model([a, b], out)
    from zoo.keras.optimizers import Adam

    m.compile(Adam(0.1), "rank_hinge")
    h = m.fit([pos, neg], np.zeros((64, 2), np.float32), epochs=20, verbose=0)
    assert h.history["loss"][-1] < 0.5 * h.history["loss"][0]


# ---- names -------------------------------------------------------------------------------------


def test_keras_and_analytics_zoo_names_build_engine_losses():
    assert isinstance(KL.get("sparse_categorical_crossentropy"), EL.SparseCategoricalCrossentropy)
    assert KL.get("SparseCategoricalCrossentropy").from_logits is False
    assert KL.SparseCategoricalCrossentropy(from_logits=True, name="x").keras_name == "x"
    assert isinstance(KL.get(KL.mean_squared_error), EL.MeanSquaredError)
    assert isinstance(KL.get("huber"), EL.Huber) and isinstance(KL.get("log_cosh"), EL.LogCosh)
    for alias, cls in [("sparse_categorical_crossentropy", Z.ZooSparseCategoricalCrossEntropy),
                       ("binary_crossentropy", Z.WeightedBinaryCrossEntropy), ("mse", EL.MeanSquaredError),
                       ("mape", EL.MeanAbsolutePercentageError), ("kld", EL.KLDivergence),
                       ("cosine_proximity", EL.CosineSimilarity), ("rank_hinge", Z.RankHinge),
                       ("squared_hinge", EL.SquaredHinge), ("poisson", EL.Poisson)]:
        assert isinstance(O.get(alias), cls), alias
    assert O.Hinge(margin=2.0).margin == 2.0
    with pytest.raises(ValueError, match="unknown loss 'nope'"):
        KL.get("nope")


@pytest.mark.parametrize("loss", [KL.SparseCategoricalCrossentropy(), KL.CategoricalCrossentropy(label_smoothing=0.1),
                                  KL.BinaryCrossentropy(from_logits=True), KL.Huber(delta=0.5), KL.Hinge(),
                                  O.SparseCategoricalCrossEntropy(zero_based_label=False, weights=[1, 2, 3]),
                                  O.BinaryCrossEntropy(weights=[1.0, 2.0, 3.0]), O.RankHinge(0.2),
                                  O.MeanSquaredError(), KL.CosineSimilarity()])
def test_serialize_round_trip(loss, rng):
    clone = KL.deserialize(KL.serialize(loss))
    assert type(clone) is type(loss) and clone.get_config() == loss.get_config()
    p = _probs(rng, 5, 3).astype(np.float32)
    t = rng.integers(1, 3, 5) if loss.target_dtype == np.int64 else (rng.random((5, 3)) > 0.5).astype(np.float32)
    if isinstance(loss, Z.RankHinge):
        p, t = p[:, :2], t[:, :2]
    assert clone(p, t) == loss(p, t)


@pytest.mark.parametrize("name", ["mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
                                  "mean_squared_logarithmic_error", "binary_crossentropy", "categorical_crossentropy",
                                  "sparse_categorical_crossentropy", "kl_divergence", "poisson", "hinge",
                                  "squared_hinge", "categorical_hinge", "log_cosh", "huber", "cosine_similarity"])
def test_per_sample_functions_match_tf_keras(name, tf, rng):
    p = _probs(rng, 6, 4).astype(np.float32)
    if name == "sparse_categorical_crossentropy":
        t = rng.integers(0, 4, 6)
    elif name == "categorical_crossentropy":
        t = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 6)]
    else:
        t = (rng.random((6, 4)) > 0.5).astype(np.float32)
    ours = getattr(KL, name)(t, p)
    theirs = tf.keras.losses.get(name)(t, p).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6)
    assert ours.shape == (6,)


@pytest.mark.parametrize("zoo_loss,tf_name,kwargs", [
    (KL.SparseCategoricalCrossentropy(from_logits=True), "SparseCategoricalCrossentropy", {"from_logits": True}),
    (KL.CategoricalCrossentropy(label_smoothing=0.2), "CategoricalCrossentropy", {"label_smoothing": 0.2}),
    (KL.BinaryCrossentropy(), "BinaryCrossentropy", {}), (KL.MeanSquaredError(), "MeanSquaredError", {}),
    (KL.Huber(0.3), "Huber", {"delta": 0.3})])
def test_loss_classes_match_tf_keras_with_sample_weights(zoo_loss, tf_name, kwargs, tf, rng):
    p = _probs(rng, 8, 3).astype(np.float32)
    if tf_name.startswith("Sparse"):
        t = rng.integers(0, 3, 8)
    elif tf_name.startswith("Categorical"):
        t = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]
    else:
        t = (rng.random((8, 3)) > 0.5).astype(np.float32)
    w = rng.random(8).astype(np.float32)
    theirs = float(getattr(tf.keras.losses, tf_name)(**kwargs)(t, p, sample_weight=w))
    assert zoo_loss(p, t, w) == pytest.approx(theirs, rel=2e-5)


def test_compile_accepts_objects_functions_and_custom_python_losses():
    from zoo.keras import layers as L
    from zoo.keras.models import Sequential

    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)
    for loss in (KL.MeanSquaredError(), KL.mean_squared_error, O.MeanSquaredError(), "mean_squared_error"):
        m = Sequential([L.Dense(1, input_shape=(3,))])
        m.compile("sgd", loss)
        assert m.compiled["loss"][0].name == "mse"
    pytest.importorskip("zoo.autograd")
    import zoo.autograd as A

    m = Sequential([L.Dense(1, input_shape=(3,))])
    m.compile("adam", lambda t, p: A.mean(A.square(t - p), axis=1))
    h = m.fit(x, y, epochs=3, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
