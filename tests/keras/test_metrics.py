"""Streaming metrics: against numpy references and tf.keras, over several weighted batches; names and picking."""

import numpy as np
import pytest

from zoo.engine import metrics as M
from zoo.keras import layers as L
from zoo.keras import metrics as KM
from zoo.keras import objectives
from zoo.keras.models import Sequential


def _batches(rng, n_batches=3, n=17, c=5):
    out = []
    for _ in range(n_batches):
        p = rng.random((n, c)).astype(np.float32)
        p /= p.sum(-1, keepdims=True)
        out.append((p, rng.integers(0, c, n), rng.random(n).astype(np.float32)))
    return out


def _stream(metric, batches, weighted):
    metric.reset()
    for p, t, w in batches:
        metric.update(p, t, w if weighted else None)
    return metric.result()


def _tf_stream(metric, batches, weighted, transform=lambda p, t: (p, t)):
    for p, t, w in batches:
        p2, t2 = transform(p, t)
        metric.update_state(t2, p2, sample_weight=w if weighted else None)
    return float(metric.result())


@pytest.mark.parametrize("weighted", [False, True])
def test_accuracies_match_tf_keras(tf, weighted, rng):
    batches = _batches(rng)
    onehot = lambda p, t: (p, np.eye(5, dtype=np.float32)[t])
    assert _stream(M.SparseAccuracy(), batches, weighted) == pytest.approx(
        _tf_stream(tf.keras.metrics.SparseCategoricalAccuracy(), batches, weighted), rel=1e-6)
    cat = [(p, np.eye(5, dtype=np.float32)[t], w) for p, t, w in batches]
    assert _stream(M.Accuracy(), cat, weighted) == pytest.approx(
        _tf_stream(tf.keras.metrics.CategoricalAccuracy(), batches, weighted, onehot), rel=1e-6)
    for k in (1, 3):
        assert _stream(M.TopKAccuracy(k), batches, weighted) == pytest.approx(
            _tf_stream(tf.keras.metrics.SparseTopKCategoricalAccuracy(k), batches, weighted), rel=1e-6)
        assert _stream(KM.TopKCategoricalAccuracy(k), cat, weighted) == pytest.approx(
            _tf_stream(tf.keras.metrics.TopKCategoricalAccuracy(k), batches, weighted, onehot), rel=1e-6)
    binary = [(p[:, :1] * 2, (t % 2).astype(np.float32)[:, None], w) for p, t, w in batches]
    assert _stream(M.BinaryAccuracy(), binary, weighted) == pytest.approx(
        _tf_stream(tf.keras.metrics.BinaryAccuracy(), [(p, t, w) for p, t, w in binary], weighted), rel=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_regression_and_confusion_metrics_match_tf_keras(tf, weighted, rng):
    batches = [(rng.standard_normal((9, 3)).astype(np.float32), rng.standard_normal((9, 3)).astype(np.float32),
                rng.random(9).astype(np.float32)) for _ in range(3)]
    assert _stream(M.MeanAbsoluteError(), batches, weighted) == pytest.approx(
        _tf_stream(tf.keras.metrics.MeanAbsoluteError(), batches, weighted), rel=1e-5)
    assert _stream(M.MeanSquaredError(), batches, weighted) == pytest.approx(
        _tf_stream(tf.keras.metrics.MeanSquaredError(), batches, weighted), rel=1e-5)
    probs = [(1 / (1 + np.exp(-p)), (t > 0).astype(np.float32), w) for p, t, w in batches]
    assert _stream(M.Precision(), probs, weighted) == pytest.approx(
        _tf_stream(tf.keras.metrics.Precision(), probs, weighted), rel=1e-5)
    assert _stream(M.Recall(), probs, weighted) == pytest.approx(
        _tf_stream(tf.keras.metrics.Recall(), probs, weighted), rel=1e-5)
    assert _stream(M.Precision(class_id=1), probs, weighted) == pytest.approx(
        _tf_stream(tf.keras.metrics.Precision(class_id=1), probs, weighted), rel=1e-5)


def _auc_reference(scores, labels, weights):
    """Weighted Mann-Whitney: P(score_pos > score_neg) + 0.5 P(tie), over all pairs."""
    pos, neg = labels > 0.5, labels <= 0.5
    sp, sn, wp, wn = scores[pos], scores[neg], weights[pos], weights[neg]
    gt = (sp[:, None] > sn[None, :]) + 0.5 * (sp[:, None] == sn[None, :])
    return float((wp[:, None] * wn[None, :] * gt).sum() / (wp.sum() * wn.sum()))


def test_auc_is_exact_with_ties_and_weights(tf, rng):
    m = M.AUC()
    scores, labels, weights = [], [], []
    for _ in range(4):
        s = np.round(rng.random((25, 1)), 1).astype(np.float32)  # many ties
        t = (rng.random((25, 1)) < s).astype(np.float32)
        w = rng.random(25)
        m.update(s, t, w)
        scores.append(s.ravel())
        labels.append(t.ravel())
        weights.append(w)
    ref = _auc_reference(np.concatenate(scores), np.concatenate(labels), np.concatenate(weights))
    assert m.result() == pytest.approx(ref, rel=1e-12)
    tfm = tf.keras.metrics.AUC(num_thresholds=2001)  # an approximation; exact here within its resolution
    for s, t, w in zip(scores, labels, weights):
        tfm.update_state(t, s, sample_weight=w)
    assert m.result() == pytest.approx(float(tfm.result()), abs=2e-3)
    one = M.AUC()
    one.update(np.array([0.3, 0.6]), np.array([1.0, 1.0]))
    assert np.isnan(one.result())


def test_auc_precision_recall_take_sparse_labels_of_two_class_softmax(rng):
    p = rng.random((30, 2)).astype(np.float32)
    p /= p.sum(-1, keepdims=True)
    y = rng.integers(0, 2, 30)
    a, b = M.AUC(), M.AUC()
    a.update(p, y)
    b.update(p[:, 1], y.astype(np.float32))
    assert a.result() == b.result()
    r = M.Recall()
    r.update(p, y)
    assert r.result() == pytest.approx(((p[:, 1] > 0.5) & (y == 1)).sum() / (y == 1).sum())


def test_names_picking_and_zero_based_label():
    sparse, cat, binary = (objectives.get(n) for n in ("sparse_categorical_crossentropy", "categorical_crossentropy",
                                                       "binary_crossentropy"))
    assert type(KM.pick("accuracy", sparse)) is M.SparseAccuracy
    assert type(KM.pick("acc", cat)) is M.Accuracy and KM.pick("acc", cat).name == "acc"
    assert type(KM.pick("accuracy", binary)) is M.BinaryAccuracy
    assert KM.pick("loss", sparse) is None
    assert KM.pick("top5acc", sparse).k == 5 and KM.pick("top5acc", sparse).tag == "Top5Accuracy"
    assert [KM.get(n).tag for n in ("mae", "mse", "auc", "precision", "recall")] == \
        ["MAE", "MSE", "AucScore", "Precision", "Recall"]
    one_based = objectives.SparseCategoricalCrossEntropy(zero_based_label=False)
    acc = KM.pick("accuracy", one_based)
    acc.update(np.array([[0.9, 0.1], [0.2, 0.8]], np.float32), np.array([1, 1]))
    assert acc.result() == 0.5
    az = KM.Accuracy(zero_based_label=False)
    az.update(np.array([[0.9, 0.1], [0.2, 0.8]], np.float32), np.array([1, 2]))
    assert az.result() == 1.0 and KM.Top1Accuracy().tag == "Top1Accuracy" and KM.Top5Accuracy().k == 5
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        KM.get("nope")


def test_config_round_trip_and_loss_metric(rng):
    for m in (KM.AUC(threshold_num=50), KM.Precision(thresholds=0.3, class_id=1), KM.Top5Accuracy(False),
              KM.SparseTopKCategoricalAccuracy(3), M.BinaryAccuracy(0.7), KM.Loss("mse")):
        clone = KM.get(KM.serialize(m))
        assert type(clone) is type(m) and clone.get_config() == m.get_config()
    loss = KM.Loss("mse")
    p, t = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    loss.update(p[:4], t[:4])
    loss.update(p[4:], t[4:])
    assert loss.result() == pytest.approx(((p - t) ** 2).mean(), rel=1e-6)


def test_metrics_in_fit_and_evaluate(rng):
    x = rng.standard_normal((40, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    m = Sequential([L.Dense(2, activation="softmax", input_shape=(4,))])
    m.compile("adam", "sparse_categorical_crossentropy",
              metrics=["accuracy", KM.AUC(), KM.Precision(), KM.Recall(), "top5acc"])
    h = m.fit(x, y, epochs=1, verbose=0, validation_data=(x, y))
    assert {"accuracy", "auc", "precision", "recall", "top5acc", "val_auc"} <= set(h.history)
    _, acc, auc, _, _, top5 = m.evaluate(x, y)
    p = m.predict(x)
    assert acc == pytest.approx((p.argmax(-1) == y).mean()) and top5 == 1.0
    assert auc == pytest.approx(_auc_reference(p[:, 1], y.astype(float), np.ones(40)), rel=1e-9)


def test_bad_targets_name_the_metric():
    with pytest.raises(ValueError, match=r"SparseAccuracy 'accuracy': expected labels of shape \(4,\) for "
                                         r"predictions of shape \(4, 3\), got \(4, 2\)"):
        M.SparseAccuracy().update(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"MeanAbsoluteError 'mae': expected targets of shape \(4, 3\), got \(5,\)"):
        M.MeanAbsoluteError().update(np.zeros((4, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="TopKAccuracy: k must be a positive int"):
        M.TopKAccuracy(0)
