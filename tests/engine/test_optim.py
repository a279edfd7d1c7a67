"""Optimizers, schedules, clipping and regularizers (zoo/engine/optim/, csrc/optim.c, csrc/reduce.c).

Parity with tf.keras: weights after 5 steps agree to rtol 1e-5 / atol 1e-6 (float32).
"""

from __future__ import annotations

import itertools
import math
import threading

import numpy as np
import pytest

from tests.harness import assert_close, check_threads
from zoo.engine import optim as O
from zoo.engine.kernels import optim as KO
from zoo.engine.kernels import reduce as KR

SIZES = [(3, 5), (7,), (2, 3, 3), (1,), (11,)]  # odd sizes, concatenated with padding
PAD = 3  # masked elements between parameters (garbage gradients there must change nothing)
RTOL, ATOL = 1e-5, 1e-6


def _layout():
    offs, n = [], 0
    for s in SIZES:
        offs.append(n)
        n += int(np.prod(s)) + PAD
    return offs, n


def _flat_problem(rng, steps=5):
    """Initial weights, a gradient sequence (flat, with random garbage in the padding) and a mask."""
    offs, n = _layout()
    mask = np.zeros(n, np.uint8)
    for s, o in zip(SIZES, offs):
        mask[o:o + int(np.prod(s))] = 1
    w0 = rng.normal(size=n).astype(np.float32)
    grads = [rng.normal(size=n).astype(np.float32) for _ in range(steps)]
    return w0, grads, mask, offs


def _unflat(flat, offs):
    return [flat[o:o + int(np.prod(s))].reshape(s) for s, o in zip(SIZES, offs)]


def _keras_run(tf, keras_opt, w0, grads, offs):
    vs = [tf.Variable(x.copy()) for x in _unflat(w0, offs)]
    for g in grads:
        keras_opt.apply_gradients(zip([tf.constant(x) for x in _unflat(g, offs)], vs))
    return [v.numpy() for v in vs]


def _zoo_run(opt, w0, grads, mask):
    w = w0.copy()
    for g in grads:
        opt.step(w, g.copy(), mask)
    return w


KERAS_CASES = [
    ("SGD", {"learning_rate": 0.1}, {}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}, {}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}, {}),
    ("Adam", {"learning_rate": 0.05}, {}),
    ("Adam", {"learning_rate": 0.05, "amsgrad": True, "beta_1": 0.8, "epsilon": 1e-3}, {}),
    ("Adam", {"learning_rate": 0.05, "weight_decay": 0.1}, {}),
    ("AdamW", {"learning_rate": 0.05}, {}),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.3, "beta_2": 0.9}, {}),
    ("Adagrad", {"learning_rate": 0.1}, {}),
    ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "weight_decay": 0.05}, {}),
    ("Adadelta", {"learning_rate": 1.0}, {}),
    ("Adadelta", {"learning_rate": 1.0, "rho": 0.5, "epsilon": 1e-3}, {}),
    ("Adamax", {"learning_rate": 0.05}, {}),
    ("RMSprop", {"learning_rate": 0.01}, {}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.9}, {}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True}, {}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True, "rho": 0.8}, {}),
    ("Ftrl", {"learning_rate": 0.1}, {}),
    ("Ftrl", {"learning_rate": 0.1, "learning_rate_power": -0.7, "l1_regularization_strength": 0.01,
              "l2_regularization_strength": 0.02, "beta": 0.1, "l2_shrinkage_regularization_strength": 0.05}, {}),
    ("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.5}, {}),
]


@pytest.mark.parametrize("name,kwargs,_", KERAS_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(KERAS_CASES)])
def test_matches_keras(name, kwargs, _, rng, tf):
    w0, grads, mask, offs = _flat_problem(rng)
    ref = _keras_run(tf, getattr(tf.keras.optimizers, name)(**kwargs), w0, grads, offs)
    opt = getattr(O, name)(**kwargs)
    w = _zoo_run(opt, w0, grads, mask)
    moved = False
    for a, b, x0 in zip(_unflat(w, offs), ref, _unflat(w0, offs)):
        assert_close(a, b, rtol=RTOL, atol=ATOL, err_msg=f"{name} {kwargs}")
        moved |= not np.allclose(a, x0, rtol=1e-4, atol=1e-4)
    assert moved, "the optimizer did not move the weights; the comparison would be vacuous"
    padding = mask == 0
    np.testing.assert_array_equal(w[padding], w0[padding])
    for s in opt.slots.values():
        init = s[padding]
        assert np.all(init == init[0]), "state changed in masked elements"
    assert opt.iterations == 5


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "adagrad", "adadelta", "adamax", "rmsprop", "ftrl"])
def test_get_defaults_match_keras(name, rng, tf):
    opt = O.get(name)
    keras_cls = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "adagrad": "Adagrad", "adadelta": "Adadelta",
                 "adamax": "Adamax", "rmsprop": "RMSprop", "ftrl": "Ftrl"}[name]
    kopt = getattr(tf.keras.optimizers, keras_cls)()
    assert opt.learning_rate == pytest.approx(float(kopt.learning_rate.numpy()))
    w0, grads, mask, offs = _flat_problem(rng)
    grads = [g * 50 for g in grads]  # large enough to move weights at the default lr
    ref = _keras_run(tf, kopt, w0, grads, offs)
    w = _zoo_run(opt, w0, grads, mask)
    for a, b in zip(_unflat(w, offs), ref):
        assert_close(a, b, rtol=RTOL, atol=ATOL)


def test_schedule_matches_keras_schedule(rng, tf):
    """Iteration indexing: a zoo schedule and the equal Keras schedule give the same weights."""
    w0, grads, mask, offs = _flat_problem(rng, steps=7)
    ks = tf.keras.optimizers.schedules
    cases = [
        (O.SGD(0.2, momentum=0.9, schedule=O.Exponential(2, 0.5)),
         tf.keras.optimizers.SGD(ks.ExponentialDecay(0.2, 2, 0.5), momentum=0.9)),
        (O.Adam(0.1, schedule=O.Exponential(3, 0.3, stair_case=True)),
         tf.keras.optimizers.Adam(ks.ExponentialDecay(0.1, 3, 0.3, staircase=True))),
        (O.AdamW(0.1, schedule=O.Cosine(5, alpha=0.1)), tf.keras.optimizers.AdamW(ks.CosineDecay(0.1, 5, 0.1))),
    ]
    for opt, kopt in cases:
        ref = _keras_run(tf, kopt, w0, grads, offs)
        w = _zoo_run(opt, w0, grads, mask)
        for a, b in zip(_unflat(w, offs), ref):
            assert_close(a, b, rtol=RTOL, atol=ATOL, err_msg=repr(opt))


# ---- SGD vs PyTorch's formula -----------------------------------------------------------

def _torch_sgd_naive(w, grads, lrs, momentum, dampening, nesterov, weight_decay):
    """PyTorch's torch.optim.SGD, float64."""
    w = w.astype(np.float64).copy()
    buf = None
    for g, lr in zip(grads, lrs):
        g = g.astype(np.float64) + weight_decay * w
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        w -= lr * g
    return w


@pytest.mark.parametrize("momentum,dampening,nesterov,wd", [
    (0.0, 0.0, False, 0.0), (0.0, 0.0, False, 0.1), (0.9, 0.0, False, 0.0), (0.9, 0.0, True, 0.01),
    (0.9, 0.5, False, 0.0), (0.8, 0.3, False, 0.05)])
def test_sgd_pytorch_formula(momentum, dampening, nesterov, wd, rng):
    n = 37
    w0 = rng.normal(size=n).astype(np.float32)
    grads = [rng.normal(size=n).astype(np.float32) for _ in range(6)]
    opt = O.SGD(0.05, momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=wd)
    w = w0.copy()
    for g in grads:
        opt.step(w, g)
    ref = _torch_sgd_naive(w0, grads, [0.05] * 6, momentum, dampening, nesterov, wd)
    assert_close(w, ref, rtol=1e-5, atol=1e-6)
    assert not np.allclose(w, w0)


def test_sgd_keras_momentum_with_changing_lr(rng):
    """Keras's form keeps lr inside the velocity: v = m v - lr_t g; w += v."""
    n = 21
    w0 = rng.normal(size=n).astype(np.float32)
    grads = [rng.normal(size=n).astype(np.float32) for _ in range(5)]
    opt = O.SGD(0.1, momentum=0.9, schedule=O.Step(1, 0.5))
    w = w0.copy()
    for g in grads:
        opt.step(w, g)
    wr, v = w0.astype(np.float64), np.zeros(n)
    for t, g in enumerate(grads):
        v = 0.9 * v - 0.1 * 0.5 ** t * g
        wr = wr + v
    assert_close(w, wr, rtol=1e-5, atol=1e-6)


# ---- masks, ranges, threads, state ------------------------------------------------------

ALL = [lambda: O.SGD(0.1, momentum=0.9, nesterov=True), lambda: O.SGD(0.1, momentum=0.9, dampening=0.2,
                                                                        weight_decay=0.01),
       lambda: O.Adam(0.01, amsgrad=True, weight_decay=0.01), lambda: O.Adagrad(0.1), lambda: O.Adadelta(1.0),
       lambda: O.Adamax(0.01), lambda: O.RMSprop(0.01, momentum=0.5, centered=True),
       lambda: O.Ftrl(0.1, l1_regularization_strength=0.01), lambda: O.Ftrl(0.1, learning_rate_power=-0.6)]
IDS = ["sgd-nesterov", "sgd-damp", "adam-ams", "adagrad", "adadelta", "adamax", "rmsprop-c", "ftrl", "ftrl-pow"]


def _run(make, w0, grads, mask=None, ranges=None, threads=None, dtype=np.float32):
    opt = make()
    w = w0.astype(dtype)
    for g in grads:
        g = g.astype(dtype)
        opt.begin_step()
        if ranges is None:
            opt.apply(w, g, mask)
        else:
            for lo, hi in ranges:
                opt.apply(w, g, mask, lo, hi)
    return w, opt


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_mask_ranges_threads_float64(make, rng):
    n = 3 * 8192 + 4099  # several OpenMP chunks plus a ragged tail
    w0 = rng.normal(size=n).astype(np.float32)
    grads = [rng.normal(size=n).astype(np.float32) for _ in range(3)]
    mask = (rng.random(n) < 0.7).astype(np.uint8)
    mask[100:9000] = 1
    mask[9000:9500] = 0

    w_full, opt = _run(make, w0, grads, mask)
    off = mask == 0
    np.testing.assert_array_equal(w_full[off], w0[off])
    for name, s in opt.slots.items():
        fresh = make()
        fresh.begin_step()
        fresh.apply(w0.copy(), grads[0], np.zeros(n, np.uint8))
        np.testing.assert_array_equal(s[off], fresh.slots[name][off], err_msg=f"slot {name} changed under mask 0")
    assert not np.array_equal(w_full[~off], w0[~off])

    # two (and three ragged) disjoint ranges equal one call, bitwise
    w_two, _ = _run(make, w0, grads, mask, ranges=[(0, 12345), (12345, n)])
    np.testing.assert_array_equal(w_two, w_full)
    w_three, _ = _run(make, w0, grads, mask, ranges=[(5000, n), (0, 17), (17, 5000)])
    np.testing.assert_array_equal(w_three, w_full)

    # a bool mask works like uint8
    w_bool, _ = _run(make, w0, grads, mask.astype(bool))
    np.testing.assert_array_equal(w_bool, w_full)

    # 1 vs 2 OpenMP threads, bitwise
    check_threads(lambda: _run(make, w0, grads, mask)[0], exact=True)

    # float64 buffers agree with float32 within float32 rounding
    w64, _ = _run(make, w0, grads, mask, dtype=np.float64)
    assert w64.dtype == np.float64
    assert_close(w_full, w64, rtol=1e-4, atol=1e-5)


def test_concurrent_apply_from_threads(rng):
    n = 6 * 8192 + 11
    w0 = rng.normal(size=n).astype(np.float32)
    grads = [rng.normal(size=n).astype(np.float32) for _ in range(4)]
    ref, _ = _run(lambda: O.Adam(0.01), w0, grads)
    opt, w = O.Adam(0.01), w0.copy()
    cuts = [0, 10000, 20001, 33333, n]
    for g in grads:
        opt.begin_step()
        ts = [threading.Thread(target=opt.apply, args=(w, g, None, a, b), kwargs={"threads": 1})
              for a, b in itertools.pairwise(cuts)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    np.testing.assert_array_equal(w, ref)


@pytest.mark.parametrize("make", ALL + [lambda: O.Adam(0.1, schedule=O.Plateau(patience=1, factor=0.5))],
                         ids=IDS + ["adam-plateau"])
def test_get_state_set_state_resumes_exactly(make, rng):
    n = 50
    w0 = rng.normal(size=n).astype(np.float32)
    grads = [rng.normal(size=n).astype(np.float32) for _ in range(6)]
    a = make()
    w = w0.copy()
    for k, g in enumerate(grads[:3]):
        a.step(w, g)
        a.on_epoch_end(k, {"val_loss": 1.0})
    state = a.get_state()
    w_saved = w.copy()
    for g in grads[3:]:
        a.step(w, g)
    b = make()
    b.set_state(state)
    assert b.iterations == 3 and b.lr == state["lr"]
    w2 = w_saved.copy()
    for g in grads[3:]:
        b.step(w2, g)
    np.testing.assert_array_equal(w2, w)
    assert b.get_state()["iterations"] == 6
    # the saved state is a copy: stepping afterwards did not change it
    c = make()
    c.set_state(state)
    w3 = w_saved.copy()
    c.step(w3, grads[3])
    b2 = make()
    b2.set_state(state)
    w4 = w_saved.copy()
    b2.step(w4, grads[3])
    np.testing.assert_array_equal(w3, w4)


def test_config_round_trip():
    opt = O.Adam(0.01, beta_1=0.8, amsgrad=True, schedule=O.SequentialSchedule([(O.Warmup(0.001), 3),
                                                                                 (O.Poly(0.5, 10), 10)]),
                 global_clipnorm=1.0)
    again = O.get(opt.get_config())
    assert type(again) is O.Adam and again.get_config() == opt.get_config()
    assert O.get({"class_name": "SGD", "config": {"learning_rate": 0.3, "momentum": 0.5}}).momentum == 0.5
    lrs = [opt.begin_step() for _ in range(6)]
    lrs2 = [again.begin_step() for _ in range(6)]
    assert lrs == lrs2


def test_get_and_aliases():
    o = O.Adam()
    assert O.get(o) is o
    assert isinstance(O.get("ADAM"), O.Adam)
    with pytest.raises(ValueError, match=r"unknown optimizer 'nadamx'; known: sgd, adam, adamw, adagrad"):
        O.get("nadamx")
    with pytest.raises(TypeError, match="expected an Optimizer, a name or a config dict, got int"):
        O.get(3)
    sgd = O.SGD(lr=0.5, decay=0.1)
    assert sgd.learning_rate == 0.5 and isinstance(sgd.schedule, O.Default)
    lrs = [sgd.begin_step() for _ in range(3)]
    assert lrs == pytest.approx([0.5, 0.5 / 1.1, 0.5 / 1.2])
    bigdl = O.SGD(learningrate=0.2, learningrate_decay=0.0, weightdecay=0.01, momentum=0.9)
    assert bigdl.learning_rate == 0.2 and bigdl.schedule is None and bigdl.weight_decay == 0.01
    assert O.Adam(beta1=0.8, beta2=0.99).get_config()["beta_2"] == 0.99
    with pytest.raises(ValueError, match="Adam: decay must be >= 0, got -1.0"):
        O.Adam(decay=-1)
    assert O.AdamW(0.01).weight_decay == 0.004
    with pytest.raises(TypeError, match="SGD: unexpected argument 'lrr'"):
        O.SGD(lrr=0.1)
    with pytest.raises(ValueError, match="cannot be combined"):
        O.Adam(decay=0.1, schedule=O.Step(2, 0.5))


def test_bad_inputs():
    w, g = np.zeros(10, np.float32), np.zeros(10, np.float32)
    with pytest.raises(ValueError, match="Adam: learning_rate must be >= 0, got -0.1"):
        O.Adam(-0.1)
    with pytest.raises(ValueError, match=r"SGD: momentum must be >= 0 and <= 1, got 1.5"):
        O.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="nesterov needs momentum > 0"):
        O.SGD(nesterov=True)
    with pytest.raises(ValueError, match=r"Adam: beta_1 must be >= 0 and < 1, got 1.0"):
        O.Adam(beta_1=1.0)
    with pytest.raises(TypeError, match="learning_rate must be a number; pass a Schedule as schedule="):
        O.Adam(O.Step(1, 0.5))
    with pytest.raises(ValueError, match="clipnorm .* is not supported on flat buffers; use global_clipnorm"):
        O.Adam(clipnorm=1.0)
    opt = O.Adam()
    with pytest.raises(RuntimeError, match=r"Adam.apply: call begin_step\(\) first"):
        opt.apply(w, g)
    with pytest.raises(TypeError, match=r"Adam.step: w must be float32 or float64, got dtype int32"):
        opt.step(np.zeros(10, np.int32), g)
    assert opt.iterations == 0, "a rejected step must not advance the counter"
    with pytest.raises(TypeError, match="w and g must share one dtype, got float32 and float64"):
        opt.step(w, g.astype(np.float64))
    with pytest.raises(ValueError, match="w and g must have one length, got 10 and 9"):
        opt.step(w, g[:9].copy())
    with pytest.raises(ValueError, match=r"w must be a 1-D C-contiguous buffer, got shape \(2, 5\)"):
        opt.step(w.reshape(2, 5), g.reshape(2, 5))
    with pytest.raises(ValueError, match=r"1-D C-contiguous buffer, got shape \(5,\) \(not contiguous\)"):
        opt.step(w[::2], g[::2])
    with pytest.raises(ValueError, match=r"mask must have shape \(10,\) like w, got \(9,\)"):
        opt.step(w, g, np.ones(9, np.uint8))
    with pytest.raises(TypeError, match="mask must be uint8 \\(or bool\\), got dtype float32"):
        opt.step(w, g, np.ones(10, np.float32))
    assert opt.iterations == 0
    opt.begin_step()
    with pytest.raises(ValueError, match="expected 0 <= lo <= hi <= 10, got lo=4, hi=11"):
        opt.apply(w, g, None, 4, 11)
    with pytest.raises(ValueError, match="w is read-only"):
        ro = w.copy()
        ro.flags.writeable = False
        opt.apply(ro, g)
    opt.apply(w, g)
    with pytest.raises(ValueError, match="optimizer state holds 10 weights, got a buffer of 12"):
        opt.apply(np.zeros(12, np.float32), np.zeros(12, np.float32))
    with pytest.raises(ValueError, match=r"set_state: expected slots \['m', 'v'\], got \['m'\]"):
        O.Adam().set_state({"iterations": 1, "lr": 0.1, "slots": {"m": np.zeros(3)}})
    bad = O.SGD(0.1, schedule=lambda it, ep, lr: -1.0)
    with pytest.raises(ValueError, match="gave learning rate -1.0 at iteration 0; expected a finite number >= 0"):
        bad.begin_step()
    ftrl = O.Ftrl(0.0)
    with pytest.raises(ValueError, match="Ftrl: learning rate must be > 0"):
        ftrl.begin_step()
    assert ftrl.iterations == 0, "a rejected step must not advance the counter"


def test_kernel_wrapper_checks():
    w = np.zeros(8, np.float32)
    with pytest.raises(ValueError, match="unknown optimizer kind 'lion'"):
        KO.step("lion", w, w.copy(), None, (), 0, 8, ())
    with pytest.raises(ValueError, match=r"optim_step\[adam\]: slot 1 is required, got None"):
        KO.step("adam", w, w.copy(), None, (w.copy(), None, None), 0, 8, (0.1, 0.1, 0.1, 1e-7, 0))
    with pytest.raises(ValueError, match=r"slot 0 must be a writable C-contiguous float32 buffer of shape \(8,\)"):
        KO.step("adagrad", w, w.copy(), None, (np.zeros(7, np.float32),), 0, 8, (0.1, 1e-7, 0))
    with pytest.raises(ValueError, match=r"threads must be an int >= 0"):
        KO.step("sgd", w, w.copy(), None, (None,), 0, 8, (0.1, 0, 0.1, 0, 0), threads=-1)


# ---- schedules ---------------------------------------------------------------------------

def _lrs(s, n=12, base=0.1, epochs=None):
    return [s(i, 0 if epochs is None else epochs[i], base) for i in range(n)]


def test_schedules_closed_form():
    it = np.arange(12)
    assert_close(_lrs(O.Default(0.5)), 0.1 / (1 + it * 0.5), rtol=1e-12)
    assert_close(_lrs(O.Step(3, 0.5)), 0.1 * 0.5 ** (it // 3), rtol=1e-12)
    assert_close(_lrs(O.MultiStep([2, 5, 9], 0.1)), 0.1 * 0.1 ** np.searchsorted([2, 5, 9], it, side="right"),
                 rtol=1e-12)
    assert_close(_lrs(O.Exponential(4, 0.5)), 0.1 * 0.5 ** (it / 4), rtol=1e-12)
    assert_close(_lrs(O.Exponential(4, 0.5, stair_case=True)), 0.1 * 0.5 ** (it // 4), rtol=1e-12)
    assert_close(_lrs(O.Poly(2.0, 8)), 0.1 * np.clip(1 - it / 8, 0, None) ** 2, rtol=1e-12)
    assert_close(_lrs(O.Warmup(0.01)), 0.1 + 0.01 * it, rtol=1e-12)
    assert_close(_lrs(O.LinearWarmup(4, start_lr=0.02)), 0.02 + 0.08 * np.minimum(it, 4) / 4, rtol=1e-12)
    assert_close(_lrs(O.Cosine(8, alpha=0.2)),
                 0.1 * (0.8 * 0.5 * (1 + np.cos(np.pi * np.minimum(it, 8) / 8)) + 0.2), rtol=1e-12)
    epochs = it // 5
    assert_close(_lrs(O.EpochStep(2, 0.5), epochs=epochs), 0.1 * 0.5 ** (epochs // 2), rtol=1e-12)
    seq = O.SequentialSchedule([(O.Warmup(0.01), 3), (O.Step(2, 0.5), 4), (O.Poly(1.0, 10), 1)])
    ref = [0.1, 0.11, 0.12, 0.1, 0.1, 0.05, 0.05] + [0.1 * (1 - k / 10) for k in range(5)]
    assert_close(_lrs(seq), ref, rtol=1e-12)


def test_schedules_vs_keras(tf):
    ks = tf.keras.optimizers.schedules
    it = range(15)
    pairs = [(O.Cosine(10, 0.1), ks.CosineDecay(0.1, 10, alpha=0.1)),
             (O.Exponential(3, 0.7), ks.ExponentialDecay(0.1, 3, 0.7)),
             (O.Exponential(3, 0.7, True), ks.ExponentialDecay(0.1, 3, 0.7, staircase=True)),
             (O.Poly(1.5, 10), ks.PolynomialDecay(0.1, 10, end_learning_rate=0.0, power=1.5))]
    for ours, theirs in pairs:
        assert_close(_lrs(ours, 15), [float(theirs(i)) for i in it], rtol=1e-6, atol=1e-9, err_msg=repr(ours))


def test_optimizer_uses_schedule_iteration_index():
    opt = O.SGD(0.1, schedule=O.Step(2, 0.5))
    w, g = np.zeros(3, np.float32), np.ones(3, np.float32)
    lrs = []
    for _ in range(5):
        opt.step(w, g)
        lrs.append(opt.lr)
    assert lrs == [0.1, 0.1, 0.05, 0.05, 0.025]
    assert opt.iterations == 5
    assert_close(w, -np.full(3, sum(lrs)), rtol=1e-6)


def _keras_plateau_lrs(tf, seq, **kw):
    keras = tf.keras
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    cb = keras.callbacks.ReduceLROnPlateau(verbose=0, **kw)
    cb.set_model(model)
    cb.on_train_begin()
    out = []
    for e, v in enumerate(seq):
        cb.on_epoch_end(e, {kw["monitor"]: v})
        out.append(float(model.optimizer.learning_rate.numpy()))
    return out


def test_plateau(tf):
    p = O.Plateau(monitor="val_loss", factor=0.5, patience=2, mode="min", epsilon=0.01, cooldown=1, min_lr=0.02)
    assert p(0, 0, 0.1) == 0.1
    seq = [1.0, 0.9, 0.895, 0.894, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    got = []
    for e, v in enumerate(seq):
        p.on_epoch_end(e, {"val_loss": v})
        got.append(p(e, e, 0.1))
    # improvements at epochs 0, 1 (0.895 is not < 0.9 - 0.01): wait 1, 2 -> reduce at epoch 3;
    # the cooldown epoch 4 ends at once and counts (as in Keras); reduce at 5, 7 (to min_lr 0.02)
    assert got == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02, 0.02])
    ref = _keras_plateau_lrs(tf, seq, monitor="val_loss", factor=0.5, patience=2, mode="min", min_delta=0.01,
                             cooldown=1, min_lr=0.02)
    assert got == pytest.approx(ref, rel=1e-6)
    seq2 = [0.3, 0.5, 0.5, 0.49, 0.52, 0.6, 0.6, 0.6, 0.6, 0.59, 0.61, 0.7, 0.7, 0.7]
    q = O.Plateau(monitor="val_acc", factor=0.2, patience=1, mode="max", epsilon=0.0, cooldown=2)
    q(0, 0, 0.1)
    got2 = []
    for e, v in enumerate(seq2):
        q.on_epoch_end(e, {"val_acc": v})
        got2.append(q(e, e, 0.1))
    ref2 = _keras_plateau_lrs(tf, seq2, monitor="val_acc", factor=0.2, patience=1, mode="max", min_delta=0.0,
                              cooldown=2)
    assert got2 == pytest.approx(ref2, rel=1e-6)
    assert len(set(got2)) > 2
    p.on_epoch_end(99, {"loss": 0.0})  # monitored metric absent: ignored
    assert p.wait == 0 and p(0, 0, 0.1) == 0.02

    q = O.Plateau(monitor="val_acc", mode="max", patience=1, factor=0.1)
    opt = O.SGD(1.0, schedule=q)
    w, g = np.zeros(2, np.float32), np.ones(2, np.float32)
    opt.step(w, g)
    opt.on_epoch_end(0, {"val_acc": 0.5})
    opt.step(w, g)
    assert opt.lr == 1.0
    opt.on_epoch_end(1, {"val_acc": 0.5})  # not better than 0.5 + 1e-4: reduce
    opt.step(w, g)
    assert opt.lr == pytest.approx(0.1)
    with pytest.raises(ValueError, match="Plateau: mode must be 'min' or 'max', got 'avg'"):
        O.Plateau(mode="avg")
    with pytest.raises(ValueError, match=r"Plateau: factor must be >= 0 and < 1, got 1.0"):
        O.Plateau(factor=1.0)


def test_schedule_bad_inputs():
    with pytest.raises(ValueError, match="Step: step_size must be >= 1, got 0"):
        O.Step(0, 0.5)
    with pytest.raises(ValueError, match=r"MultiStep: step_sizes must be strictly increasing, got \[5, 2\]"):
        O.MultiStep([5, 2], 0.1)
    with pytest.raises(TypeError, match="Poly: max_iteration must be an int, got float"):
        O.Poly(1.0, 10.5)
    with pytest.raises(ValueError, match="SequentialSchedule: expected at least one"):
        O.SequentialSchedule([])
    with pytest.raises(ValueError, match="unknown schedule 'Linear'"):
        O.get_schedule({"class_name": "Linear", "config": {}})


# ---- clipping ----------------------------------------------------------------------------

def _sumsq_naive(x, mask=None):
    x = x.astype(np.float64)
    if mask is not None:
        x = x[mask != 0]
    return float(np.sum(x * x))


@pytest.mark.parametrize("n", [0, 1, 17, 8192, 3 * 8192 + 77])
def test_global_norm_and_clip(n, rng, tf):
    g = rng.normal(size=n).astype(np.float32)
    mask = (rng.random(n) < 0.5).astype(np.uint8)
    assert O.global_norm(g) == pytest.approx(math.sqrt(_sumsq_naive(g)), rel=1e-12)
    assert O.global_norm(g, mask) == pytest.approx(math.sqrt(_sumsq_naive(g, mask)), rel=1e-12)
    check_threads(lambda: np.array([KR.sumsq(g, mask)]), exact=True)
    check_threads(lambda: np.array([KR.sumsq(g)]), exact=True)
    if n == 0:
        return
    max_norm = 0.5 * float(np.linalg.norm(g))
    c = g.copy()
    norm = O.clip_by_global_norm(c, max_norm)
    ref, ref_norm = tf.clip_by_global_norm([tf.constant(g)], max_norm)
    assert norm == pytest.approx(float(ref_norm), rel=1e-6)
    assert_close(c, ref[0].numpy(), rtol=1e-6, atol=1e-7)
    assert_close(c, g * (max_norm / math.sqrt(_sumsq_naive(g))), rtol=1e-6, atol=1e-7)
    c2 = g.copy()
    assert O.clip_by_global_norm(c2, 10 * max_norm) == pytest.approx(2 * max_norm, rel=1e-6)
    np.testing.assert_array_equal(c2, g)  # below the limit: untouched


def test_clip_by_global_norm_masked_and_nonfinite():
    g = np.array([3.0, 4.0, 100.0, 0.0], np.float32)
    mask = np.array([1, 1, 0, 1], np.uint8)
    norm = O.clip_by_global_norm(g, 1.0, mask)
    assert norm == pytest.approx(5.0)
    assert_close(g[[0, 1]], [0.6, 0.8], rtol=1e-6)
    h = np.array([1.0, np.inf], np.float32)
    assert math.isinf(O.clip_by_global_norm(h, 1.0))
    assert np.all(np.isnan(h))
    with pytest.raises(ValueError, match="clip_by_global_norm: max_norm must be > 0, got 0.0"):
        O.clip_by_global_norm(g, 0.0)


def test_clip_by_value(rng):
    g = rng.normal(size=3 * 8192 + 5).astype(np.float32) * 3
    c = g.copy()
    O.clip_by_value(c, -1.0, 0.5)
    np.testing.assert_array_equal(c, np.clip(g, -1.0, 0.5))
    c = g.copy()
    O.clip_by_value(c, -1.0, 0.5, lo=10, hi=20)
    np.testing.assert_array_equal(c[10:20], np.clip(g[10:20], -1.0, 0.5))
    np.testing.assert_array_equal(c[:10], g[:10])
    np.testing.assert_array_equal(c[20:], g[20:])
    with pytest.raises(ValueError, match="clip_by_value: min_value must be <= max_value, got 1.0 > -1.0"):
        O.clip_by_value(c, 1.0, -1.0)
    with pytest.raises(TypeError, match="clip: x must be float32 or float64, got dtype int64"):
        O.clip_by_value(np.zeros(3, np.int64), -1, 1)


def test_optimizer_clipping_matches_keras(rng, tf):
    w0, grads, mask, offs = _flat_problem(rng)
    grads = [g * 3 for g in grads]
    for kw in ({"global_clipnorm": 1.5}, {"clipvalue": 0.7}):
        ref = _keras_run(tf, tf.keras.optimizers.SGD(0.1, momentum=0.5, **kw), w0, grads, offs)
        w = _zoo_run(O.SGD(0.1, momentum=0.5, **kw), w0, grads, mask)
        for a, b in zip(_unflat(w, offs), ref):
            assert_close(a, b, rtol=RTOL, atol=ATOL, err_msg=str(kw))


# ---- sum_into (the all-reduce's sum) -------------------------------------------------------

def _sum_naive(bufs):
    out = bufs[0].copy()
    for b in bufs[1:]:
        out = out + b
    return out


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_sum_into(k, rng):
    n = 3 * 8192 + 9
    bufs = [rng.normal(size=n).astype(np.float32) for _ in range(k)]
    ref = _sum_naive(bufs)
    out = np.full(n, np.nan, np.float32)
    KR.sum_into(out, bufs)
    np.testing.assert_array_equal(out, ref)  # same order of additions: bitwise
    out2 = np.full(n, np.nan, np.float32)
    KR.sum_into(out2, bufs, 0, 100)
    KR.sum_into(out2, bufs, 100, n)
    np.testing.assert_array_equal(out2, ref)
    check_threads(lambda: KR.sum_into(np.empty(n, np.float32), bufs), exact=True)
    for j in range(k):  # out may be any of the inputs
        cp = [b.copy() for b in bufs]
        KR.sum_into(cp[j], cp)
        np.testing.assert_array_equal(cp[j], ref)
    b64 = [b.astype(np.float64) for b in bufs]
    assert_close(KR.sum_into(np.empty(n), b64), _sum_naive(b64), rtol=1e-15)


def test_sum_into_bad_inputs():
    a = np.zeros(10, np.float32)
    with pytest.raises(ValueError, match=r"sum_into: bufs\[1\] must be float32 of shape \(10,\) like out, got float32 \(9,\)"):
        KR.sum_into(a, [a, np.zeros(9, np.float32)])
    with pytest.raises(ValueError, match="sum_into: expected 1 to 1024 buffers, got 0"):
        KR.sum_into(a, [])
    big = np.zeros(20, np.float32)
    with pytest.raises(ValueError, match=r"sum_into: bufs\[0\] partly overlaps out"):
        KR.sum_into(big[:10], [big[5:15]])
    with pytest.raises(TypeError, match="sum_into: bufs must be a list or tuple of arrays, got ndarray"):
        KR.sum_into(a, a)


def test_scale_kernel(rng):
    x = rng.normal(size=8192 * 2 + 3).astype(np.float32)
    y = x.copy()
    KR.scale(y, 0.25, 5, 9000)
    ref = x.copy()
    ref[5:9000] *= np.float32(0.25)
    np.testing.assert_array_equal(y, ref)


# ---- regularizers -------------------------------------------------------------------------

@pytest.mark.parametrize("reg,kreg", [(O.L1(0.03), ("L1", {"l1": 0.03})), (O.L2(0.02), ("L2", {"l2": 0.02})),
                                      (O.L1L2(0.01, 0.05), ("L1L2", {"l1": 0.01, "l2": 0.05}))])
def test_regularizers_vs_keras(reg, kreg, rng, tf):
    w = rng.normal(size=(17, 9)).astype(np.float32)
    w[0, :3] = 0.0
    k = getattr(tf.keras.regularizers, kreg[0])(**kreg[1])
    assert reg.penalty(w) == pytest.approx(float(k(tf.constant(w))), rel=1e-5)
    v = tf.Variable(w)
    with tf.GradientTape() as tape:
        loss = k(v)
    kgrad = tape.gradient(loss, v).numpy()
    g = rng.normal(size=w.shape).astype(np.float32)
    g2 = g.copy()
    reg.add_grad(w, g2)
    assert_close(g2, g + kgrad, rtol=1e-5, atol=1e-6)
    l1, l2 = reg.l1, reg.l2
    assert_close(g2, g + l1 * np.sign(w) + 2 * l2 * w, rtol=1e-6, atol=1e-7)
    big = rng.normal(size=3 * 8192 + 1).astype(np.float32)
    check_threads(lambda: np.array([reg.penalty(big)]), exact=True)


def test_get_regularizer():
    assert O.get_regularizer(None) is None
    r = O.get_regularizer("l1_l2")
    assert isinstance(r, O.L1L2) and r.l1 == 0.0 and r.l2 == 0.0
    assert O.get_regularizer("l2").l2 == 0.01
    assert O.get_regularizer({"class_name": "L1", "config": {"l1": 0.5}}).l1 == 0.5
    with pytest.raises(ValueError, match="unknown regularizer 'l3'; known: l1, l2, l1_l2"):
        O.get_regularizer("l3")
    with pytest.raises(ValueError, match="L1: l1 must be >= 0, got -1.0"):
        O.L1(-1)
    with pytest.raises(ValueError, match=r"l1l2_grad: g and w must share dtype and shape"):
        O.L2().add_grad(np.zeros(3, np.float32), np.zeros(4, np.float32))
