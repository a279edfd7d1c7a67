"""Callbacks: EarlyStopping, ModelCheckpoint, LR schedulers, TerminateOnNaN, CSVLogger, LambdaCallback,
BackupAndRestore, TensorBoard, and the progress bar."""

import csv
import io
import math
import os
from pathlib import Path

import numpy as np
import pytest

from zoo.keras import backend
from zoo.keras import callbacks as C
from zoo.keras import layers as L
from zoo.keras.models import Sequential, load_model
from zoo.keras.optimizers import SGD, Adam


def _model(seed=0, lr=0.05):
    backend.set_seed(seed)
    m = Sequential([L.Dense(8, activation="relu", input_shape=(5,)), L.Dropout(0.2),
                    L.Dense(3, activation="softmax")])
    m.compile(SGD(lr, momentum=0.9), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1)


def test_early_stopping_patience_and_restore_best_weights():
    x, y = _data()
    m = _model()
    seen = []

    class Worse(C.Callback):  # a monitored value that gets worse after epoch 1
        def on_epoch_end(self, epoch, logs=None):
            logs["score"] = [1.0, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1][epoch]
            seen.append(self.model.get_weights())

    es = C.EarlyStopping(monitor="score", mode="min", patience=2, restore_best_weights=True)
    h = m.fit(x, y, epochs=7, verbose=0, callbacks=[Worse(), es])
    assert h.epoch == [0, 1, 2, 3] and es.stopped_epoch == 3 and es.best == 0.5
    for a, b in zip(m.get_weights(), seen[1]):
        np.testing.assert_array_equal(a, b)
    assert C.EarlyStopping(monitor="val_accuracy").mode == "max"
    with pytest.warns(UserWarning, match="metric 'val_nope' is not in the logs"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[C.EarlyStopping(monitor="val_nope")])


def test_model_checkpoint_templates_best_only_and_weights_only(tmp_path):
    x, y = _data()
    m = _model()
    pattern = str(tmp_path / "ckpt-{epoch:02d}-{loss:.2f}.zoo")
    m.fit(x, y, epochs=3, verbose=0, validation_data=(x, y), callbacks=[C.ModelCheckpoint(pattern)])
    files = sorted(os.listdir(tmp_path))
    assert [f[:8] for f in files] == ["ckpt-01-", "ckpt-02-", "ckpt-03-"]
    loaded = load_model(str(tmp_path / files[-1]))
    np.testing.assert_array_equal(loaded.predict(x), m.predict(x))
    best = str(tmp_path / "best.npz")
    vals = iter([0.5, 0.7, 0.4])

    class Fake(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = next(vals)
            self.weights = getattr(self, "weights", []) + [self.model.get_weights()]

    fake = Fake()
    ck = C.ModelCheckpoint(best, save_best_only=True, save_weights_only=True)
    m.fit(x, y, epochs=3, verbose=0, callbacks=[fake, ck])
    assert ck.best == 0.4
    fresh = _model(seed=9)
    fresh.load_weights(best)
    for a, b in zip(fresh.get_weights(), fake.weights[2]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="cannot fill filepath"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[C.ModelCheckpoint(str(tmp_path / "{nope}.zoo"))])


def test_learning_rate_scheduler_and_reduce_on_plateau():
    x, y = _data()
    m = _model()
    lrs = []
    sched = C.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)
    spy = C.LambdaCallback(on_epoch_begin=lambda e, logs: lrs.append(m.optimizer.learning_rate))
    h = m.fit(x, y, epochs=3, verbose=0, callbacks=[sched, spy])
    assert lrs == [0.1, 0.05, 0.025] and h.history["learning_rate"] == [0.1, 0.05, 0.025]
    m2 = _model()
    m2.fit(x, y, epochs=2, verbose=0, callbacks=[C.LearningRateScheduler(lambda epoch: 0.01)])
    assert m2.optimizer.learning_rate == 0.01
    vals = iter([1.0, 1.0, 1.0, 1.0, 0.5, 0.5])
    stall = C.LambdaCallback(on_epoch_end=lambda e, logs: logs.__setitem__("val_loss", next(vals)))
    m3 = _model(lr=0.1)
    h = m3.fit(x, y, epochs=6, verbose=0,
               callbacks=[stall, C.ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.03)])
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05])
    with pytest.raises(ValueError, match=r"factor must be in \(0, 1\)"):
        C.ReduceLROnPlateau(factor=2)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan_stops_within_the_epoch():
    x, _ = _data()
    m = Sequential([L.Dense(1, input_shape=(5,))])
    m.compile(SGD(0.01), "mse")
    seen = []
    spy = C.LambdaCallback(on_batch_end=lambda b, logs: seen.append(logs["loss"]))
    h = m.fit(x * 1e25, np.zeros((64, 1), np.float32), batch_size=8, epochs=3, verbose=0,
              callbacks=[C.TerminateOnNaN(), spy])  # (1e25)^2 overflows float32: an infinite loss
    assert len(seen) == 1 and math.isinf(seen[0]) and h.epoch == []


def test_csv_logger(tmp_path):
    x, y = _data()
    m = _model()
    path = str(tmp_path / "log.csv")
    h = m.fit(x, y, epochs=2, verbose=0, validation_data=(x, y), callbacks=[C.CSVLogger(path)])
    m.fit(x, y, epochs=1, verbose=0, validation_data=(x, y), callbacks=[C.CSVLogger(path, append=True)])
    rows = list(csv.reader(Path(path).read_text().splitlines()))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "0"]
    assert float(rows[2][2]) == h.history["loss"][1]


def test_lambda_callback_hooks_in_order():
    x, y = _data(16)
    events = []
    cb = C.LambdaCallback(on_train_begin=lambda logs: events.append("train_begin"),
                          on_epoch_begin=lambda e, logs: events.append(f"epoch_begin {e}"),
                          on_batch_begin=lambda b, logs: events.append(f"batch_begin {b}"),
                          on_batch_end=lambda b, logs: events.append(f"batch_end {b} {logs['size']}"),
                          on_epoch_end=lambda e, logs: events.append(f"epoch_end {e} {sorted(logs)}"),
                          on_train_end=lambda logs: events.append("train_end"))
    _model().fit(x, y, batch_size=10, epochs=1, verbose=0, callbacks=[cb])
    assert events == ["train_begin", "epoch_begin 0", "batch_begin 0", "batch_end 0 10", "batch_begin 1",
                      "batch_end 1 6", "epoch_end 0 ['accuracy', 'loss']", "train_end"]
    with pytest.raises(TypeError, match="on_epoch_end must be callable"):
        C.LambdaCallback(on_epoch_end=3)
    with pytest.raises(TypeError, match="callbacks must be zoo.keras.callbacks.Callback instances"):
        _model().fit(x, y, verbose=0, callbacks=[object()])


def test_backup_and_restore_resumes_an_interrupted_fit(tmp_path):
    x, y = _data(80)
    reference = _model(seed=3)
    reference.fit(x, y, batch_size=16, epochs=5, verbose=0)

    class Crash(C.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 3:
                raise RuntimeError("power cut")

    backup = str(tmp_path / "backup")
    first = _model(seed=3)
    with pytest.raises(RuntimeError, match="power cut"):
        first.fit(x, y, batch_size=16, epochs=5, verbose=0, callbacks=[C.BackupAndRestore(backup), Crash()])
    assert os.path.exists(os.path.join(backup, "backup.zip"))
    second = _model(seed=11)  # a new process would rebuild the model with other initial weights
    h = second.fit(x, y, batch_size=16, epochs=5, verbose=0, callbacks=[C.BackupAndRestore(backup)])
    assert h.epoch == [3, 4]
    for a, b in zip(reference.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not os.path.exists(backup)  # deleted after the completed fit


def test_tensorboard_callback_writes_epoch_and_batch_scalars(tmp_path, tf):
    x, y = _data()
    m = _model()
    m.fit(x, y, batch_size=16, epochs=2, verbose=0, validation_data=(x, y),
          callbacks=[C.TensorBoard(str(tmp_path), update_freq=2)])
    seen = {}
    for kind in ("train", "validation"):
        for name in os.listdir(tmp_path / kind):
            for e in tf.compat.v1.train.summary_iterator(str(tmp_path / kind / name)):
                for v in e.summary.value:
                    seen.setdefault((kind, v.tag), []).append((e.step, v.simple_value))
    assert [s for s, _ in seen[("train", "epoch_loss")]] == [0, 1]
    assert seen[("train", "epoch_loss")][1][1] == pytest.approx(m.history.history["loss"][1], rel=1e-6)
    assert seen[("validation", "epoch_accuracy")][1][1] == pytest.approx(m.history.history["val_accuracy"][1])
    assert [s for s, _ in seen[("train", "batch_loss")]] == [2, 4, 6, 8]
    assert ("train", "epoch_learning_rate") in seen and ("train", "batch_accuracy") in seen


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_shows_loss_metrics_rate_and_eta(monkeypatch):
    x, y = _data(256)
    m = _model()
    stream = _Tty()
    Progbar = C.ProgbarLogger
    bar = Progbar(1, stream=stream, interval=0.0)
    monkeypatch.setattr(C, "ProgbarLogger", lambda verbose: bar)
    m.fit(x, y, batch_size=32, epochs=1, verbose=1, validation_data=(x, y))
    out = stream.getvalue()
    updates = out.split("\r")[1:]
    assert len(updates) >= 8
    assert "Epoch 1/1" in updates[0] and "loss: " in updates[0] and "accuracy: " in updates[0]
    assert "samples/s" in updates[0] and "ETA" in updates[0]
    assert "256/256" in updates[-1] and "val_accuracy: " in updates[-1] and out.endswith("\n")
    stream2 = io.StringIO()  # not a terminal, verbose=2: one line per epoch
    bar2 = Progbar(2, stream=stream2)
    monkeypatch.setattr(C, "ProgbarLogger", lambda verbose: bar2)
    m.fit(x, y, epochs=2, verbose=2)
    lines = stream2.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Epoch 2/2") and "\r" not in stream2.getvalue()


def test_adam_checkpoint_resume_with_model_checkpoint(tmp_path):
    x, y = _data()
    m = _model()
    m.compile(Adam(0.01), "sparse_categorical_crossentropy")
    path = str(tmp_path / "last.zoo")
    m.fit(x, y, epochs=1, verbose=0, callbacks=[C.ModelCheckpoint(path)])
    loaded = load_model(path)
    a = m.fit(x, y, epochs=1, verbose=0).history["loss"]
    b = loaded.fit(x, y, epochs=1, verbose=0).history["loss"]
    assert a == b


def test_progress_bar_updates_one_display_in_jupyter(monkeypatch):
    import IPython.display

    class Handle:
        def __init__(self, text):
            self.texts = [text]

        def update(self, text):
            self.texts.append(text)

    handles = []

    def display(obj, display_id=None):
        handles.append(Handle(obj))
        return handles[-1]

    monkeypatch.setattr(C.loggers, "_in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", display)
    x, y = _data(128)
    Progbar = C.ProgbarLogger
    monkeypatch.setattr(C, "ProgbarLogger", lambda verbose: Progbar(verbose, interval=0.0))
    _model().fit(x, y, batch_size=16, epochs=2, verbose=1)
    assert len(handles) == 2  # one display per epoch, updated in place
    assert len(handles[0].texts) >= 8 and "ETA" in handles[0].texts[0] and "128/128" in handles[0].texts[-1]
