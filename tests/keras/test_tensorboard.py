"""TensorBoard event files written without TensorFlow, read back by TensorFlow and by read_scalar."""

import os
import struct
from pathlib import Path

import numpy as np
import pytest

from zoo.engine import summary as S
from zoo.engine.triggers import SeveralIteration
from zoo.keras import layers as L
from zoo.keras.models import Sequential


def test_crc32c_known_values():
    assert S.crc32c(b"") == 0
    assert S.crc32c(b"123456789") == 0xE3069283
    assert S.crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 B.4 test vectors
    assert S.crc32c(b"\xff" * 32) == 0x62A8AB43
    assert S.crc32c(bytes(range(32))) == 0x46DD794E


def test_writer_output_is_read_by_tensorflow(tmp_path, tf):
    w = S.EventFileWriter(str(tmp_path))
    w.add_scalars([("Loss", 0.25), ("LearningRate", 0.01)], step=3, wall_time=1000.5)
    w.add_scalar("Loss", -1.5, step=2**40)
    w.close()
    events = list(tf.compat.v1.train.summary_iterator(w.path))
    assert events[0].file_version == "brain.Event:2"
    assert [(v.tag, v.simple_value) for v in events[1].summary.value] == [("Loss", 0.25),
                                                                       ("LearningRate", pytest.approx(0.01))]
    assert events[1].step == 3 and events[1].wall_time == 1000.5
    assert events[2].step == 2**40 and events[2].summary.value[0].simple_value == -1.5
    # the reader here agrees
    ours = list(S.read_events(w.path))
    assert ours[1][:2] == (1000.5, 3) and ours[2][1] == 2**40


def test_reader_checks_crcs_and_tolerates_a_partial_last_record(tmp_path):
    w = S.EventFileWriter(str(tmp_path))
    w.add_scalar("Loss", 1.0, step=1)
    w.add_scalar("Loss", 2.0, step=2)
    w.close()
    data = Path(w.path).read_bytes()
    Path(w.path).write_bytes(data[:-5])  # a writer still running
    assert [v for _, _, vals in S.read_events(w.path) for _, v in vals] == [1.0]
    bad = bytearray(data)
    bad[-6] ^= 1
    Path(w.path).write_bytes(bytes(bad))
    with pytest.raises(ValueError, match="bad data checksum at offset"):
        list(S.read_events(w.path))
    bad = bytearray(data)
    bad[0] ^= 1
    Path(w.path).write_bytes(bytes(bad))
    with pytest.raises(ValueError, match="bad length checksum at offset 0"):
        list(S.read_events(w.path))


def test_record_framing_by_hand(tmp_path):
    w = S.EventFileWriter(str(tmp_path))
    w.close()
    data = Path(w.path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    assert len(data) == 16 + n
    assert struct.unpack("<I", data[8:12])[0] == S.masked_crc32c(data[:8])
    assert struct.unpack("<I", data[12 + n:])[0] == S.masked_crc32c(data[12:12 + n])
    assert b"brain.Event:2" in data


def _fit_with_tensorboard(tmp_path, **fit_kwargs):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    m = Sequential([L.Dense(8, activation="relu", input_shape=(5,)), L.Dense(2, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy", "top5acc", "auc"])
    m.set_tensorboard(str(tmp_path), "app")
    h = m.fit(x, y, batch_size=16, epochs=2, verbose=0, validation_data=(x, y), **fit_kwargs)
    return m, h


def test_set_tensorboard_train_and_validation_summaries(tmp_path, tf):
    m, h = _fit_with_tensorboard(tmp_path)
    loss = m.get_train_summary("Loss")
    assert [s for s, _, _ in loss] == list(range(1, 9))
    assert all(isinstance(v, float) and t > 1e9 for _, v, t in loss)
    assert len(m.get_train_summary("LearningRate")) == 8 and m.get_train_summary("LearningRate")[0][1] == \
        pytest.approx(0.001)
    assert all(v > 0 for _, v, _ in m.get_train_summary("Throughput"))
    top1 = m.get_validation_summary("Top1Accuracy")
    assert [s for s, _, _ in top1] == [4, 8]
    assert [v for _, v, _ in top1] == pytest.approx(h.history["val_accuracy"])
    assert [v for _, v, _ in m.get_validation_summary("Loss")] == pytest.approx(h.history["val_loss"])
    assert len(m.get_validation_summary("Top5Accuracy")) == 2 and len(m.get_validation_summary("AucScore")) == 2
    assert os.listdir(tmp_path / "app") and sorted(os.listdir(tmp_path / "app")) == ["train", "validation"]
    # TensorFlow reads the same files
    tags = set()
    for name in os.listdir(tmp_path / "app" / "validation"):
        for e in tf.compat.v1.train.summary_iterator(str(tmp_path / "app" / "validation" / name)):
            tags |= {v.tag for v in e.summary.value}
    assert tags == {"Loss", "Top1Accuracy", "Top5Accuracy", "AucScore"}


def test_summary_triggers_and_errors(tmp_path):
    t = S.TrainSummary(str(tmp_path), "run")
    t.set_summary_trigger("LearningRate", SeveralIteration(4))
    with pytest.raises(ValueError, match=r"can set triggers for \['Loss', 'LearningRate', 'Throughput'\], got "
                                         r"'Parameters'"):
        t.set_summary_trigger("Parameters", SeveralIteration(1))
    cb = S.SummaryCallback(t, None)

    class FakeTrainer:
        state = type("St", (), {"iteration": 0})()

    cb.trainer = FakeTrainer()
    for i in range(1, 9):
        cb.trainer.state.iteration = i
        cb.on_batch_begin(i, {})
        cb.on_batch_end(i, {"loss": 1.0 / i, "lr": 0.1, "size": 4})
    assert [s for s, _, _ in t.read_scalar("LearningRate")] == [4, 8]
    assert [s for s, _, _ in t.read_scalar("Loss")] == list(range(1, 9))
    assert t.read_scalar("Nope") == []
    m = Sequential([L.Dense(1, input_shape=(2,))])
    with pytest.raises(ValueError, match="call set_tensorboard"):
        m.get_train_summary("Loss")
