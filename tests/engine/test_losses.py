import numpy as np
import pytest

from tests.harness import assert_close, check_grad, check_threads, run_op
from zoo.engine import graph as G
from zoo.engine import losses as L
from zoo.engine.graph import Executor, Graph
from zoo.engine.ops.base import from_config

# ---- data ------------------------------------------------------------------------------------


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _onehot(y, c, dtype):
    return np.eye(c, dtype=dtype)[y]


def gen(kind, shape, rng, dtype=np.float32):
    """(y_pred, y_true) of `shape` (y_pred's) for a family of losses."""
    c = shape[-1]
    lab = rng.integers(0, c, size=shape[:-1])
    if kind == "reg":
        p, t = rng.normal(size=shape), rng.normal(size=shape)
    elif kind == "pos":
        p, t = rng.uniform(0.1, 3.0, size=shape), rng.uniform(0.0, 3.0, size=shape)
    elif kind == "bin01":
        p, t = rng.normal(size=shape), rng.integers(0, 2, size=shape).astype(float)
    elif kind == "pm1":
        p, t = rng.normal(size=shape), 2.0 * rng.integers(0, 2, size=shape) - 1.0
    elif kind == "prob_bin":
        p, t = rng.uniform(0.05, 0.95, size=shape), rng.integers(0, 2, size=shape).astype(float)
    elif kind == "prob_soft":
        p, t = rng.uniform(0.05, 0.95, size=shape), rng.uniform(0, 1, size=shape)
    elif kind == "logit_bin":
        p, t = 3 * rng.normal(size=shape), rng.integers(0, 2, size=shape).astype(float)
    elif kind == "onehot_reg":
        p, t = rng.normal(size=shape), _onehot(lab, c, np.float64)
    elif kind == "dist":
        p, t = _softmax(rng.normal(size=shape)), _softmax(rng.normal(size=shape))
    elif kind == "probs_onehot":  # unnormalised positive "probabilities": Keras renormalises
        p, t = rng.uniform(0.05, 1.0, size=shape), _onehot(lab, c, np.float64)
    elif kind == "logits_onehot":
        p, t = 3 * rng.normal(size=shape), _onehot(lab, c, np.float64)
    elif kind == "logits_soft":
        p, t = 3 * rng.normal(size=shape), _softmax(rng.normal(size=shape))
    elif kind == "probs_sparse":
        p, t = _softmax(rng.normal(size=shape)), lab
    elif kind == "logits_sparse":
        p, t = 3 * rng.normal(size=shape), lab
    elif kind == "logprob_sparse":
        x = rng.normal(size=shape)
        p, t = x - np.log(np.exp(x).sum(axis=-1, keepdims=True)), lab
    else:
        raise KeyError(kind)
    p = np.asarray(p, dtype=dtype)
    t = np.asarray(t, dtype=dtype) if np.asarray(t).dtype.kind == "f" else np.asarray(t, dtype=np.int64)
    return p, t


# (zoo name, zoo kwargs, tf.keras class, tf kwargs, data kind)
CASES = [
    ("mse", {}, "MeanSquaredError", {}, "reg"),
    ("mae", {}, "MeanAbsoluteError", {}, "reg"),
    ("mape", {}, "MeanAbsolutePercentageError", {}, "reg"),
    ("msle", {}, "MeanSquaredLogarithmicError", {}, "pos"),
    ("huber", {"delta": 0.7}, "Huber", {"delta": 0.7}, "reg"),
    ("logcosh", {}, "LogCosh", {}, "reg"),
    ("hinge", {}, "Hinge", {}, "bin01"),
    ("hinge", {}, "Hinge", {}, "pm1"),
    ("squared_hinge", {}, "SquaredHinge", {}, "bin01"),
    ("squared_hinge", {}, "SquaredHinge", {}, "pm1"),
    ("categorical_hinge", {}, "CategoricalHinge", {}, "onehot_reg"),
    ("kl_divergence", {}, "KLDivergence", {}, "dist"),
    ("poisson", {}, "Poisson", {}, "pos"),
    ("cosine_similarity", {}, "CosineSimilarity", {}, "reg"),
    ("binary_crossentropy", {}, "BinaryCrossentropy", {}, "prob_bin"),
    ("binary_crossentropy", {"label_smoothing": 0.2}, "BinaryCrossentropy", {"label_smoothing": 0.2},
     "prob_soft"),
    ("binary_crossentropy", {"from_logits": True}, "BinaryCrossentropy", {"from_logits": True}, "logit_bin"),
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.1}, "BinaryCrossentropy",
     {"from_logits": True, "label_smoothing": 0.1}, "logit_bin"),
    ("categorical_crossentropy", {}, "CategoricalCrossentropy", {}, "probs_onehot"),
    ("categorical_crossentropy", {"label_smoothing": 0.1}, "CategoricalCrossentropy",
     {"label_smoothing": 0.1}, "probs_onehot"),
    ("categorical_crossentropy", {"from_logits": True}, "CategoricalCrossentropy", {"from_logits": True},
     "logits_onehot"),
    ("categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.2}, "CategoricalCrossentropy",
     {"from_logits": True, "label_smoothing": 0.2}, "logits_soft"),
    ("sparse_categorical_crossentropy", {}, "SparseCategoricalCrossentropy", {}, "probs_sparse"),
    ("sparse_categorical_crossentropy", {"from_logits": True}, "SparseCategoricalCrossentropy",
     {"from_logits": True}, "logits_sparse"),
    ("sparse_categorical_crossentropy", {"from_logits": True, "ignore_class": 1},
     "SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 1}, "logits_sparse"),
    ("sparse_categorical_crossentropy", {"ignore_class": 0}, "SparseCategoricalCrossentropy",
     {"ignore_class": 0}, "probs_sparse"),
    ("cross_entropy", {}, "SparseCategoricalCrossentropy", {"from_logits": True}, "logits_sparse"),
    # log-softmax of log-probabilities is the identity, so NLL equals Keras's from-logits loss
    ("class_nll", {}, "SparseCategoricalCrossentropy", {"from_logits": True}, "logprob_sparse"),
]
IDS = [f"{c[0]}-{c[4]}-{i}" for i, c in enumerate(CASES)]


def make(name, kwargs):
    cls = L.LOSSES[name]
    return cls(**kwargs)


def tf_loss(tf, cls_name, kwargs, p, t, sw=None):
    fn = getattr(tf.keras.losses, cls_name)(**kwargs, dtype=p.dtype.name)
    return float(fn(t, p, sample_weight=sw))


# ---- parity with tf.keras ---------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("shape", [(7, 4), (3, 5, 4)])
@pytest.mark.parametrize("weighting", ["none", "batch", "full"])
def test_keras_parity(case, shape, weighting, rng, tf):
    name, kw, tf_name, tf_kw, kind = case
    p, t = gen(kind, shape, rng)
    loss = make(name, kw)
    sw = None
    if weighting == "batch":
        sw = rng.uniform(0.0, 2.0, size=shape[0]).astype(np.float32)
    elif weighting == "full":
        sw = rng.uniform(0.0, 2.0, size=shape[:-1]).astype(np.float32)
    got = loss(p, t, sw)
    # Keras does not broadcast (N,) weights over (N, T) losses; (N, 1) means the same there
    tf_sw = sw[:, None] if weighting == "batch" and len(shape) == 3 else sw
    want = tf_loss(tf, tf_name, tf_kw, p, t, tf_sw)
    assert_close(got, want, rtol=2e-6, atol=2e-6, err_msg=f"{name} {kw}")
    # the op keeps float32 in float32
    y, _ = run_op(loss.op(), p, t, *([] if sw is None else [sw]))
    assert y.shape == () and y.dtype == np.float32


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float64_matches_keras(case, rng, tf):
    name, kw, tf_name, tf_kw, kind = case
    p, t = gen(kind, (6, 5), rng, np.float64)
    y, _ = run_op(make(name, kw).op(), p, t)
    assert y.dtype == np.float64
    # Keras's log_cosh rounds its log(2) constant to float32 even in float64
    tol = 1e-8 if name == "logcosh" else 1e-12
    assert_close(y, tf_loss(tf, tf_name, tf_kw, p, t), rtol=tol, atol=tol)


def test_clipped_probabilities_match_keras(rng, tf):
    """Probabilities at 0 and 1 are clipped to [1e-7, 1 - 1e-7] exactly as Keras clips."""
    p = np.array([[0.0, 1.0, 0.5], [1e-9, 0.999999999, 0.3]], np.float32)
    t = np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]], np.float32)
    assert_close(L.BinaryCrossentropy()(p, t), tf_loss(tf, "BinaryCrossentropy", {}, p, t), rtol=1e-6)
    pc = np.array([[0.0, 1.0, 0.0], [1e-9, 0.5, 0.5]], np.float32)
    assert_close(L.CategoricalCrossentropy()(pc, t), tf_loss(tf, "CategoricalCrossentropy", {}, pc, t),
                 rtol=1e-6)
    y = np.array([0, 0])
    assert_close(L.SparseCategoricalCrossentropy()(pc, y),
                 tf_loss(tf, "SparseCategoricalCrossentropy", {}, pc, y), rtol=1e-6)
    assert_close(L.KLDivergence()(pc, t), tf_loss(tf, "KLDivergence", {}, pc, t), rtol=1e-6)


def test_extreme_logits_are_stable(tf):
    x = np.array([[1000.0, -1000.0, 0.0], [-500.0, 500.0, 20.0]], np.float32)
    y = np.array([1, 1])
    got = L.CrossEntropy()(x, y)
    assert np.isfinite(got)
    assert_close(got, tf_loss(tf, "SparseCategoricalCrossentropy", {"from_logits": True}, x, y), rtol=1e-6)
    t = _onehot(y, 3, np.float32)
    assert_close(L.CategoricalCrossentropy(from_logits=True)(x, t),
                 tf_loss(tf, "CategoricalCrossentropy", {"from_logits": True}, x, t), rtol=1e-6)
    tb = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], np.float32)
    assert_close(L.BinaryCrossentropy(from_logits=True)(x, tb),
                 tf_loss(tf, "BinaryCrossentropy", {"from_logits": True}, x, tb), rtol=1e-6)


def test_cosine_zero_vector_matches_keras(tf):
    p = np.array([[0.0, 0.0], [1.0, 1.0]], np.float32)
    t = np.array([[1.0, 0.0], [-1.0, -1.0]], np.float32)
    assert_close(L.CosineSimilarity()(p, t), tf_loss(tf, "CosineSimilarity", {}, p, t), rtol=1e-6)


def test_hinge_keeps_nonbinary_labels(tf):
    """Keras converts labels to -1/1 only when the whole batch is 0/1."""
    p = np.array([[0.3, -0.2], [1.5, 0.1]], np.float32)
    t = np.array([[0.0, 1.0], [0.5, 1.0]], np.float32)
    assert_close(L.Hinge()(p, t), tf_loss(tf, "Hinge", {}, p, t), rtol=1e-6)
    assert_close(L.Hinge()(p, t), np.mean(np.maximum(1 - t * p, 0)), rtol=1e-6)


# ---- gradients ----------------------------------------------------------------------------------

GRAD_KIND = {"reg": "reg", "prob_soft": "prob_soft"}


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("shape,weighting", [((5, 3), "none"), ((3, 4, 5), "batch"), ((4, 3), "full")])
def test_grad(case, shape, weighting, rng):
    name, kw, _, _, kind = case
    p, t = gen(kind, shape, rng, np.float64)
    ins = [p, t]
    if weighting == "batch":
        ins.append(rng.uniform(0.5, 2.0, size=shape[0]))
    elif weighting == "full":
        ins.append(rng.uniform(0.5, 2.0, size=shape[:-1]))
    op = make(name, kw).op()
    assert op.nondiff_inputs == (1, 2)
    check_grad(op, ins, rtol=1e-5, atol=1e-7)
    # backward returns a gradient for y_pred only, in y_pred's dtype
    _, ctx = run_op(op, *ins, needs_grad=(True,) + (False,) * (len(ins) - 1))
    grads = op.backward(ctx, np.float64(1.0))
    assert grads[0].dtype == np.float64 and all(g is None for g in grads[1:])
    p32 = p.astype(np.float32)
    ins32 = [p32] + [a.astype(np.float32) if a.dtype.kind == "f" else a for a in ins[1:]]
    _, ctx = run_op(op, *ins32)
    assert op.backward(ctx, np.float32(1.0))[0].dtype == np.float32


@pytest.mark.parametrize("cls,kw", [(L.ClassNLL, {"weights": [0.5, 2.0, 1.0, 3.0], "ignore_index": -1}),
                                    (L.CrossEntropy, {"weights": [0.5, 2.0, 1.0, 3.0], "ignore_index": 2}),
                                    (L.CrossEntropy, {"size_average": False}),
                                    (L.SparseCategoricalCrossentropy, {"ignore_class": -1})])
def test_grad_weighted_ignored(cls, kw, rng):
    p = rng.normal(size=(6, 4))
    y = np.array([0, 2, -1 if kw.get("ignore_index", kw.get("ignore_class")) == -1 else 1, 3, 2, 1])
    if cls is L.SparseCategoricalCrossentropy:
        p = _softmax(p)
    check_grad(cls(**kw).op(), [p, y], rtol=1e-5, atol=1e-7)
    check_grad(cls(**kw).op(), [p, y, rng.uniform(0.5, 2, size=6)], rtol=1e-5, atol=1e-7)


def test_grad_hinge_and_huber_variants(rng):
    p, t = gen("reg", (4, 5), rng, np.float64)
    check_grad(L.SmoothL1(sigma=2.0).op(), [p, t])
    check_grad(L.Hinge(margin=0.5).op(), [p, np.sign(t)])
    check_grad(L.MeanSquaredError(reduction="sum").op(), [p, t])
    check_grad(L.MeanSquaredError().op(), [p[:, 0], t[:, 0]])  # 1-D y_pred


# ---- numpy references for the Analytics Zoo / BigDL losses ---------------------------------------


def _nll_ref(logp, y, weights=None, ignore=None, sw=None, size_average=True):
    n = logp.reshape(-1, logp.shape[-1])
    y = y.reshape(-1)
    s = np.ones(len(y)) if sw is None else np.broadcast_to(
        np.asarray(sw).reshape(np.asarray(sw).shape + (1,) * (logp.ndim - 1 - np.asarray(sw).ndim)),
        logp.shape[:-1]).reshape(-1)
    num = den = 0.0
    for i, c in enumerate(y):
        if ignore is not None and c == ignore:
            continue
        w = 1.0 if weights is None else weights[c]
        num += s[i] * w * -n[i, c]
        den += w
    return num / den if size_average else num


@pytest.mark.parametrize("shape", [(9, 5), (3, 4, 5)])
@pytest.mark.parametrize("kw", [{}, {"weights": [1.0, 0.5, 2.0, 0.0, 3.0]}, {"ignore_index": 3},
                                {"weights": [1.0, 0.5, 2.0, 1.5, 3.0], "ignore_index": -1,
                                 "size_average": False}])
def test_class_nll_and_cross_entropy_reference(shape, kw, rng):
    x = rng.normal(size=shape)
    y = rng.integers(0, shape[-1], size=shape[:-1])
    if kw.get("ignore_index") == -1:
        y.reshape(-1)[::3] = -1
    sw = rng.uniform(0, 2, size=shape[0])
    logp = np.log(_softmax(x))
    ref = {"weights": kw.get("weights"), "ignore": kw.get("ignore_index"),
           "size_average": kw.get("size_average", True)}
    assert_close(L.ClassNLL(**kw)(logp, y), _nll_ref(logp, y, **ref), rtol=1e-12)
    assert_close(L.ClassNLL(**kw)(logp, y, sw), _nll_ref(logp, y, sw=sw, **ref), rtol=1e-12)
    assert_close(L.CrossEntropy(**kw)(x, y, sw), _nll_ref(logp, y, sw=sw, **ref), rtol=1e-12)
    assert_close(L.CrossEntropy(**kw)(x.astype(np.float32), y), _nll_ref(logp, y, **ref), rtol=1e-5)


def test_all_ignored_gives_zero():
    x = np.zeros((3, 4))
    y = np.full(3, -1)
    loss = L.CrossEntropy(ignore_index=-1)
    assert loss(x, y) == 0.0
    _, ctx = run_op(loss, x, y)
    assert not np.any(loss.backward(ctx, np.float64(1.0))[0])


def test_smooth_l1_bigdl_semantics(rng):
    p, t = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    for sigma in (1.0, 0.5, 3.0):
        d = np.abs(p - t)
        ref = np.where(d < 1 / sigma**2, 0.5 * (sigma * d) ** 2, d - 0.5 / sigma**2).mean()
        assert_close(L.SmoothL1(sigma=sigma)(p, t), ref, rtol=1e-12)
    assert_close(L.SmoothL1()(p, t), L.Huber()(p, t), rtol=1e-12)


def test_reduction_sum_and_margin(rng):
    p, t = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    assert_close(L.MeanSquaredError(reduction="sum")(p, t), ((p - t) ** 2).mean(axis=-1).sum(), rtol=1e-12)
    tt = np.sign(t)
    assert_close(L.Hinge(margin=0.5)(p, tt), np.maximum(0.5 - tt * p, 0).mean(), rtol=1e-12)


def test_target_shape_forms(rng):
    assert L.get("sparse_categorical_crossentropy").target_shape((None, 10)) == (None,)
    assert L.get("class_nll").target_shape((None, 7, 10)) == (None, 7)
    assert L.get("mse").target_shape((None, 3)) == (None, 3)
    assert L.get("cross_entropy").target_dtype == np.int64
    assert L.get("mse").target_dtype == np.float32
    # a trailing axis of 1 on either side is accepted, as Keras does
    p = rng.normal(size=(5, 1))
    t = rng.normal(size=5)
    assert_close(L.MeanSquaredError()(p, t), np.mean((p[:, 0] - t) ** 2), rtol=1e-12)
    assert_close(L.MeanSquaredError()(p[:, 0], t[:, None]), np.mean((p[:, 0] - t) ** 2), rtol=1e-12)
    x, y = rng.normal(size=(5, 3)), rng.integers(0, 3, size=5)
    assert L.CrossEntropy()(x, y[:, None]) == L.CrossEntropy()(x, y)


def test_integral_float_labels_accepted(rng):
    x = rng.normal(size=(6, 4)).astype(np.float32)
    y = rng.integers(0, 4, size=6)
    for loss in (L.CrossEntropy(), L.ClassNLL(), L.SparseCategoricalCrossentropy(from_logits=True)):
        assert loss(x, y.astype(np.float32)) == loss(x, y)
        assert loss(x, y.astype(np.int32)) == loss(x, y)


def test_empty_batch_is_zero():
    assert L.MeanSquaredError()(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32)) == 0.0
    assert L.CrossEntropy()(np.zeros((0, 3), np.float32), np.zeros(0, np.int64)) == 0.0


# ---- registry -------------------------------------------------------------------------------------

ALIASES = {
    L.MeanSquaredError: ["mse", "mean_squared_error", "MSE", "MeanSquaredError", "MSECriterion"],
    L.MeanAbsoluteError: ["mae", "mean_absolute_error", "MAE", "MeanAbsoluteError", "AbsCriterion"],
    L.MeanAbsolutePercentageError: ["mape", "mean_absolute_percentage_error", "MeanAbsolutePercentageError",
                                    "MeanAbsolutePercentageCriterion"],
    L.MeanSquaredLogarithmicError: ["msle", "mean_squared_logarithmic_error", "MeanSquaredLogarithmicError",
                                    "MeanSquaredLogarithmicCriterion"],
    L.CategoricalCrossentropy: ["categorical_crossentropy", "CategoricalCrossentropy",
                                "CategoricalCrossEntropy"],
    L.SparseCategoricalCrossentropy: ["sparse_categorical_crossentropy", "SparseCategoricalCrossentropy",
                                      "SparseCategoricalCrossEntropy"],
    L.BinaryCrossentropy: ["binary_crossentropy", "bce", "BinaryCrossentropy", "BinaryCrossEntropy",
                           "BCECriterion"],
    L.Hinge: ["hinge", "Hinge"],
    L.SquaredHinge: ["squared_hinge", "SquaredHinge"],
    L.CategoricalHinge: ["categorical_hinge", "CategoricalHinge"],
    L.KLDivergence: ["kld", "kl_divergence", "kullback_leibler_divergence", "KLD", "KLDivergence",
                     "KullbackLeiblerDivergence", "KullbackLeiblerDivergenceCriterion"],
    L.Poisson: ["poisson", "Poisson", "PoissonCriterion"],
    L.CosineSimilarity: ["cosine_similarity", "cosine_proximity", "cosine", "CosineSimilarity",
                         "CosineProximity", "CosineProximityCriterion"],
    L.Huber: ["huber", "huber_loss", "Huber"],
    L.SmoothL1: ["smooth_l1", "SmoothL1", "SmoothL1Criterion"],
    L.LogCosh: ["logcosh", "log_cosh", "LogCosh"],
    L.ClassNLL: ["class_nll", "nll", "ClassNLL", "ClassNLLCriterion"],
    L.CrossEntropy: ["cross_entropy", "CrossEntropy", "CrossEntropyCriterion"],
}


@pytest.mark.parametrize("cls", list(ALIASES), ids=[c.__name__ for c in ALIASES])
def test_get_aliases(cls):
    for name in ALIASES[cls]:
        loss = L.get(name)
        assert type(loss) is cls, name
    assert type(L.get(ALIASES[cls][0].upper())) is cls  # case-insensitive fallback
    inst = cls()
    assert L.get(inst) is inst
    assert type(L.get(cls)) is cls
    assert getattr(L, cls.__name__) is cls
    assert L.LOSSES[inst.name] is cls


def test_config_round_trip():
    losses = [L.Huber(delta=0.3), L.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
              L.CategoricalCrossentropy(label_smoothing=0.2),
              L.SparseCategoricalCrossentropy(True, ignore_class=-1),
              L.ClassNLL(weights=[1.0, 2.0], ignore_index=-1, size_average=False), L.SmoothL1(sigma=2.0),
              L.Hinge(margin=2.0), L.MeanSquaredError(reduction="sum")]
    for loss in losses:
        again = from_config(loss.type_name, loss.get_config())
        assert type(again) is type(loss) and again.get_config() == loss.get_config()
        via = L.get(L.serialize(loss))
        assert type(via) is type(loss) and via.get_config() == loss.get_config()


def test_get_errors():
    with pytest.raises(ValueError, match=r"unknown loss 'msee'; known names: .*binary_crossentropy.*mse"):
        L.get("msee")
    with pytest.raises(TypeError, match=r"losses.get: expected a Loss, a loss name or a config dict, got "
                                        r"int 3; known names: "):
        L.get(3)
    with pytest.raises(ValueError, match=r"losses.get: a loss config dict needs a 'class_name'"):
        L.get({"config": {}})
    with pytest.raises(ValueError, match=r"Huber: delta must be positive, got -1"):
        L.Huber(delta=-1)
    with pytest.raises(ValueError, match=r"BinaryCrossentropy: label_smoothing must be in \[0, 1\], got 1.5"):
        L.BinaryCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"MeanSquaredError: reduction must be one of"):
        L.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match=r"ClassNLL: weights must be a non-empty 1-D array"):
        L.ClassNLL(weights=[[1.0]])
    with pytest.raises(TypeError, match=r"CrossEntropy: ignore_index must be an int or None, got 1.5"):
        L.CrossEntropy(ignore_index=1.5)


# ---- bad inputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [L.CrossEntropy, L.ClassNLL, L.SparseCategoricalCrossentropy])
def test_label_out_of_range(cls, rng):
    x = rng.normal(size=(4, 10)).astype(np.float32)
    name = cls.__name__
    with pytest.raises(ValueError, match=rf"{name}: label 10 is out of range for 10 classes \(expected 0 <= "
                                         r"label < 10; labels are 0-based\)"):
        cls()(x, np.array([0, 10, 3, 2]))
    with pytest.raises(ValueError, match=rf"{name}: label -1 is out of range for 10 classes"):
        cls()(x, np.array([0, 1, -1, 2]))
    with pytest.raises(ValueError, match=rf"{name}: label 10 is out of range for 10 classes"):
        cls()(x, np.array([0.0, 10.0, 3.0, 2.0], np.float32))


def test_ignore_index_allows_its_value_only(rng):
    x = rng.normal(size=(4, 3))
    y = np.array([0, -1, 2, 1])
    keep = [0, 2, 3]
    assert_close(L.CrossEntropy(ignore_index=-1)(x, y), L.CrossEntropy()(x[keep], y[keep]), rtol=1e-12)
    with pytest.raises(ValueError, match=r"CrossEntropy: label -2 is out of range for 3 classes "
                                         r"\(expected 0 <= label < 3 or ignore_index=-1"):
        L.CrossEntropy(ignore_index=-1)(x, np.array([0, -1, -2, 1]))


def test_label_checked_before_computation(rng):
    """A bad label raises before anything is computed, even with NaN predictions."""
    x = np.full((2, 3), np.nan, np.float32)
    with pytest.raises(ValueError, match=r"CrossEntropy: label 3 is out of range for 3 classes"):
        L.CrossEntropy()(x, np.array([3, 0]))


def test_non_integral_labels_rejected(rng):
    x = rng.normal(size=(3, 4)).astype(np.float32)
    for cls in (L.CrossEntropy, L.ClassNLL, L.SparseCategoricalCrossentropy):
        with pytest.raises(ValueError, match=rf"{cls.__name__}: labels must be integral class ids "
                                             r"\(0-based\), got 1.5"):
            cls()(x, np.array([0.0, 1.5, 2.0]))
        with pytest.raises(ValueError, match=r"labels must be integral class ids \(0-based\), got nan"):
            cls()(x, np.array([0.0, np.nan, 2.0]))
        with pytest.raises(TypeError, match=rf"{cls.__name__}: labels must be integers"):
            cls()(x, np.array(["a", "b", "c"]))


def test_wrong_target_shape(rng):
    x = rng.normal(size=(4, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"CrossEntropy: expected labels of shape \(4,\) "
                                         r"\(0-based class ids\) for y_pred of shape \(4, 3\), got \(4, 3\)"):
        L.CrossEntropy()(x, np.zeros((4, 3), np.int64))
    with pytest.raises(ValueError, match=r"MeanSquaredError: expected y_true of shape \(4, 3\) for y_pred of "
                                         r"shape \(4, 3\), got \(4, 2\)"):
        L.MeanSquaredError()(x, np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"CategoricalCrossentropy: expected y_true of shape \(4, 3\) for "
                                         r"y_pred of shape \(4, 3\), got \(4,\)"):
        L.CategoricalCrossentropy()(x, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"MeanSquaredError: expected sample_weight of shape \(4,\) for "
                                         r"y_pred of shape \(4, 3\), got \(3,\)"):
        L.MeanSquaredError()(x, x, np.ones(3, np.float32))
    x3 = rng.normal(size=(4, 2, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"MeanSquaredError: expected sample_weight of shape \(4,\) or "
                                         r"\(4, 2\) for y_pred of shape \(4, 2, 3\), got \(4, 3\)"):
        L.MeanSquaredError()(x3, x3, np.ones((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"CrossEntropy: expected 2 classes \(the length of weights\), got "
                                         r"y_pred of shape \(4, 3\)"):
        L.CrossEntropy(weights=[1.0, 2.0])(x, np.zeros(4, np.int64))
    with pytest.raises(ValueError, match=r"CosineSimilarity: expected y_pred of rank >= 2, got shape \(4,\)"):
        L.CosineSimilarity()(x[:, 0], x[:, 0])
    with pytest.raises(TypeError, match=r"MeanSquaredError: y_true must be numeric, got dtype <U1"):
        L.MeanSquaredError()(x, np.full((4, 3), "a"))


@pytest.mark.parametrize("name", ["mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy",
                                  "cross_entropy", "sparse_categorical_crossentropy", "cosine_similarity",
                                  "kl_divergence", "hinge", "poisson", "class_nll"])
def test_nan_predictions_raise(name, rng):
    loss = L.get(name)
    shape = (4, 3)
    kind = "probs_sparse" if isinstance(loss, L.SparseCategoricalCrossentropy) else (
        "logprob_sparse" if isinstance(loss, (L.CrossEntropy, L.ClassNLL)) else "prob_bin")
    p, t = gen(kind, shape, rng)
    if t.dtype.kind == "i":
        t[:] = 1
    p[2, 1] = np.nan  # on a label's entry, so even NLL sees it
    cls = type(loss).__name__
    with pytest.raises(ValueError, match=rf"{cls}: y_pred of shape \(4, 3\) holds 1 NaN and 0 infinite "
                                         r"values \(y_pred shape \(4, 3\), y_true shape \(4, ?(3)?\)\)"):
        loss(p, t)


def test_nan_targets_and_weights_raise(rng):
    p, t = gen("reg", (4, 3), rng)
    t[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"MeanSquaredError: y_true of shape \(4, 3\) holds 1 NaN"):
        L.MeanSquaredError()(p, t)
    with pytest.raises(ValueError, match=r"MeanSquaredError: sample_weight of shape \(4,\) holds 0 NaN and "
                                         r"1 inf"):
        L.MeanSquaredError()(p, p, np.array([1, np.inf, 1, 1], np.float32))


def test_infer_shape_errors():
    x = G.input((None, 10), name="logits")
    with pytest.raises(ValueError, match=r"CrossEntropy 'ce': expected y_true of shape \(None,\) for y_pred "
                                         r"of shape \(None, 10\), got \(None, 3\)"):
        L.CrossEntropy().build(x, G.input((None, 3), dtype=np.int64), name="ce")
    with pytest.raises(ValueError, match=r"MeanSquaredError 'm': expected sample_weight of shape \(None,\), "
                                         r"got \(None, 2\)"):
        L.MeanSquaredError().build(x, G.input((None, 10)), G.input((None, 2)), name="m")
    with pytest.raises(ValueError, match=r"ClassNLL 'n': expected 3 classes \(the length of weights\)"):
        L.ClassNLL(weights=[1, 1, 1]).build(x, G.input((None,), dtype=np.int64), name="n")


# ---- in a graph -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cross_entropy", "categorical_crossentropy", "mse"])
def test_build_in_graph(name, rng):
    loss = L.get(name)
    x = G.input((None, 5), name=G.unique_name("x"))
    t = G.input(loss.target_shape(x.shape), name=G.unique_name("t"), dtype=loss.target_dtype)
    w = G.input((None,), name=G.unique_name("w"))
    out = loss.build(x, t, w)
    assert out.shape == ()
    exe = Executor(Graph([x, t, w], [out]))
    xv = rng.normal(size=(6, 5)).astype(np.float32)
    lab = rng.integers(0, 5, size=6)
    tv = lab if loss.target_dtype == np.int64 else (_onehot(lab, 5, np.float32) if "categorical" in name
                                                    else rng.normal(size=(6, 5)).astype(np.float32))
    wv = rng.uniform(0, 2, size=6).astype(np.float32)
    (v,) = exe.forward([xv, tv, wv])
    assert_close(v, loss(xv, tv, wv), rtol=1e-6)
    gx = exe.backward([np.float32(1.0)], input_grads=True)
    _, ctx = run_op(loss, xv, tv, wv)
    assert_close(gx[0], loss.backward(ctx, np.float32(1.0))[0], rtol=1e-6)
    assert gx[1] is None and gx[2] is None


def test_repeated_calls_reuse_buffers_correctly(rng):
    """A second forward/backward with another batch size in the same ctx gives fresh results."""
    op = L.CrossEntropy()
    ctx = run_op(op, rng.normal(size=(8, 4)).astype(np.float32), rng.integers(0, 4, size=8))[1]
    x = rng.normal(size=(3, 4)).astype(np.float32)
    y = rng.integers(0, 4, size=3)
    v = op.forward(ctx, x, y)
    g = op.backward(ctx, np.float32(1.0))[0]
    ref = _softmax(x.astype(np.float64))
    ref[np.arange(3), y] -= 1
    assert_close(v, _nll_ref(np.log(_softmax(x.astype(np.float64))), y), rtol=1e-5)
    assert_close(g, ref / 3, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name,kind", [("cross_entropy", "logits_sparse"),
                                       ("categorical_crossentropy", "probs_onehot"),
                                       ("mse", "reg"), ("cosine_similarity", "reg")])
def test_threads_bitwise(name, kind, rng):
    """Row sums go through BLAS; 1 and 2 threads must still agree bit for bit."""
    p, t = gen(kind, (64, 1000), rng)
    w = rng.uniform(0, 2, size=64).astype(np.float32)

    def fn():
        op = L.get(name)
        v, ctx = run_op(op, p, t, w)
        return v.copy(), op.backward(ctx, np.float32(1.0))[0].copy()

    check_threads(fn)
