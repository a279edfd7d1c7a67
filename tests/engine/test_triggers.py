"""Training triggers (zoo/engine/triggers.py)."""

from __future__ import annotations

import math

import pytest

from zoo.engine import triggers as T
from zoo.engine.triggers import TrainState


def test_train_state_defaults():
    s = TrainState()
    assert s.epoch == 0 and s.iteration == 0 and not s.epoch_end
    assert math.isnan(s.loss) and math.isnan(s.score)


def test_every_epoch():
    t = T.EveryEpoch()
    assert t(TrainState(epoch=1, iteration=10, epoch_end=True))
    assert not t(TrainState(epoch=1, iteration=11, epoch_end=False))


def test_several_iteration():
    t = T.SeveralIteration(3)
    fired = [i for i in range(13) if t(TrainState(iteration=i))]
    assert fired == [3, 6, 9, 12]
    assert [i for i in range(5) if T.SeveralIteration(1)(TrainState(iteration=i))] == [1, 2, 3, 4]


def test_max_epoch_and_iteration():
    assert [e for e in range(5) if T.MaxEpoch(3)(TrainState(epoch=e))] == [3, 4]
    assert [i for i in range(8) if T.MaxIteration(5)(TrainState(iteration=i))] == [5, 6, 7]
    assert T.MaxEpoch(0)(TrainState())


def test_min_loss_and_max_score():
    t = T.MinLoss(0.5)
    assert t(TrainState(loss=0.49)) and not t(TrainState(loss=0.5)) and not t(TrainState(loss=0.7))
    assert not t(TrainState()), "nan loss never triggers"
    s = T.MaxScore(0.9)
    assert s(TrainState(score=0.91)) and not s(TrainState(score=0.9)) and not s(TrainState())


def test_and_or():
    a, b = T.MaxEpoch(2), T.MinLoss(0.1)
    both, either = a & b, a | b
    assert isinstance(both, T.And) and isinstance(either, T.Or)
    table = [(TrainState(epoch=2, loss=0.05), True, True), (TrainState(epoch=2, loss=0.5), False, True),
             (TrainState(epoch=1, loss=0.05), False, True), (TrainState(epoch=1, loss=0.5), False, False)]
    for state, want_and, want_or in table:
        assert both(state) is want_and and either(state) is want_or
    three = T.Or(T.MaxIteration(100), T.MaxScore(0.95), T.MinLoss(0.01))
    assert three(TrainState(score=0.96)) and not three(TrainState(iteration=99, score=0.5, loss=0.5))
    nested = (T.EveryEpoch() & T.MaxEpoch(1)) | T.SeveralIteration(50)
    assert nested(TrainState(epoch=1, epoch_end=True)) and nested(TrainState(iteration=50))
    assert not nested(TrainState(epoch=0, epoch_end=True, iteration=7))
    assert T.TriggerAnd is T.And and T.TriggerOr is T.Or


def test_config_round_trip():
    t = (T.MaxEpoch(5) | T.MinLoss(0.2)) & T.SeveralIteration(4)
    again = T.get({"class_name": type(t).__name__, "config": t.get_config()})
    states = [TrainState(epoch=e, iteration=i, loss=l) for e in (4, 5) for i in (3, 4, 8) for l in (0.1, 0.3)]
    assert [t(s) for s in states] == [again(s) for s in states]
    assert any(t(s) for s in states) and not all(t(s) for s in states)
    assert repr(T.MaxEpoch(3)) == "MaxEpoch(3)"
    assert T.get(None) is None and T.get(t) is t


def test_bad_inputs():
    with pytest.raises(ValueError, match="SeveralIteration: interval must be >= 1, got 0"):
        T.SeveralIteration(0)
    with pytest.raises(TypeError, match="MaxEpoch: max_epoch must be an int, got float"):
        T.MaxEpoch(2.5)
    with pytest.raises(ValueError, match="MaxIteration: max_iteration must be >= 0, got -1"):
        T.MaxIteration(-1)
    with pytest.raises(TypeError, match="MinLoss: min_loss must be a number, got str"):
        T.MinLoss("0.1")
    with pytest.raises(ValueError, match="MaxScore: max_score must not be nan"):
        T.MaxScore(float("nan"))
    with pytest.raises(TypeError, match="And: argument 1 must be a Trigger, got int"):
        T.And(T.EveryEpoch(), 3)
    with pytest.raises(ValueError, match="Or: expected at least one trigger, got none"):
        T.Or()
    with pytest.raises(ValueError, match="unknown trigger 'Never'"):
        T.get({"class_name": "Never"})
