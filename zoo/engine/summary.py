"""TensorBoard event files without TensorFlow: TrainSummary / ValidationSummary.

An event file is a sequence of TFRecords, each

    uint64 length (little endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)

with masked_crc32c(b) = ((c >> 15 | c << 17) + 0xa282ead8) mod 2^32, c the CRC-32C (Castagnoli)
of b. Each record's data is a serialized `tensorflow.Event` protobuf, encoded here by hand:

    Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
    Summary { repeated Value value = 1; }
    Value   { string tag = 1; float simple_value = 2; }

The first event carries file_version "brain.Event:2". TensorBoard (and TensorFlow's
`summary_iterator`) read these files; `read_scalar` reads them back here.

`TrainSummary(log_dir, app_name)` writes to log_dir/app_name/train the tags Loss,
LearningRate and Throughput (records/s) once per iteration (`set_summary_trigger` picks
another trigger per tag); `ValidationSummary` writes to log_dir/app_name/validation one tag
per validation metric, named as Analytics Zoo named it (Top1Accuracy, Top5Accuracy,
AucScore, MAE, MSE, Loss, ...), at the iteration the validation ran.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> s = TrainSummary(d, "app")
    >>> s.add_scalar("Loss", 0.5, step=1)
    >>> [(step, value) for step, value, _ in s.read_scalar("Loss")]
    [(1, 0.5)]
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import struct
import time

from zoo.engine.trainer import Callback
from zoo.engine.triggers import Trigger

__all__ = [
    "EventFileWriter",
    "Summary",
    "SummaryCallback",
    "SummaryPair",
    "TrainSummary",
    "ValidationSummary",
    "crc32c",
    "masked_crc32c",
    "read_events",
]


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli polynomial 0x1EDC6F41, reflected), as TFRecord uses.

    >>> hex(crc32c(b"123456789"))
    '0xe3069283'
    """
    crc = 0xFFFFFFFF
    t = _TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ---- protobuf encoding -----------------------------------------------------------------------


def _varint(n: int) -> bytes:
    if n < 0:
        n &= (1 << 64) - 1  # int64 two's complement, as protobuf does
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _bytes_field(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _scalar_value(tag: str, value: float) -> bytes:
    return _bytes_field(1, tag.encode("utf-8")) + b"\x15" + struct.pack("<f", value)


def _event(wall_time: float, step: int = 0, values=(), file_version: str | None = None) -> bytes:
    out = b"\x09" + struct.pack("<d", wall_time)
    if step:
        out += b"\x10" + _varint(int(step))
    if file_version is not None:
        out += _bytes_field(3, file_version.encode("utf-8"))
    if values:
        summary = b"".join(_bytes_field(1, _scalar_value(t, v)) for t, v in values)
        out += _bytes_field(5, summary)
    return out


def _record(data: bytes) -> bytes:
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


# ---- protobuf decoding -----------------------------------------------------------------------


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf: bytes):
    """(field number, wire type, value) of a protobuf message: int for varints, bytes otherwise."""
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _read_varint(buf, i)
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wire == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if i > len(buf):
            raise ValueError("truncated protobuf field")
        yield field, wire, v


def _parse_event(data: bytes) -> tuple[float, int, list[tuple[str, float]]]:
    wall, step, values = 0.0, 0, []
    for field, wire, v in _fields(data):
        if field == 1 and wire == 1:
            wall = struct.unpack("<d", v)[0]
        elif field == 2 and wire == 0:
            step = v - (1 << 64) if v >= 1 << 63 else v
        elif field == 5 and wire == 2:
            for f2, w2, val in _fields(v):
                if f2 == 1 and w2 == 2:
                    tag, simple = None, None
                    for f3, w3, x in _fields(val):
                        if f3 == 1 and w3 == 2:
                            tag = x.decode("utf-8")
                        elif f3 == 2 and w3 == 5:
                            simple = struct.unpack("<f", x)[0]
                    if tag is not None and simple is not None:
                        values.append((tag, simple))
    return wall, step, values


def read_events(path: str):
    """Yield (wall_time, step, [(tag, value)]) for each event of an event file; CRCs are checked.

    Raises ValueError naming the file and offset for a damaged record; a record cut short at
    the end of the file (a writer still running) ends the iteration.
    """
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i < len(data):
        if len(data) - i < 12:
            return
        header = data[i:i + 8]
        (n,) = struct.unpack("<Q", header)
        (hcrc,) = struct.unpack("<I", data[i + 8:i + 12])
        if hcrc != masked_crc32c(header):
            raise ValueError(f"event file {path!r}: bad length checksum at offset {i}")
        if len(data) - i < 16 + n:
            return
        body = data[i + 12:i + 12 + n]
        (dcrc,) = struct.unpack("<I", data[i + 12 + n:i + 16 + n])
        if dcrc != masked_crc32c(body):
            raise ValueError(f"event file {path!r}: bad data checksum at offset {i}")
        i += 16 + n
        yield _parse_event(body)


# ---- writing ---------------------------------------------------------------------------------

_seq = itertools.count()


class EventFileWriter:
    """Appends events to a new file `events.out.tfevents.<time>.<host>.<pid>.<n>` in `logdir`."""

    def __init__(self, logdir: str, filename_suffix: str = ""):
        os.makedirs(logdir, exist_ok=True)
        self.logdir = logdir
        name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.{next(_seq)}"
        self.path = os.path.join(logdir, name + filename_suffix)
        self._f = open(self.path, "ab")  # noqa: SIM115 (kept open while training)
        self._f.write(_record(_event(time.time(), 0, file_version="brain.Event:2")))
        self._f.flush()

    def add_scalars(self, values, step: int, wall_time: float | None = None) -> None:
        """One event holding scalar values [(tag, value)] at `step`."""
        if self._f is None:
            raise ValueError(f"EventFileWriter({self.path!r}) is closed")
        self._f.write(_record(_event(time.time() if wall_time is None else wall_time, step,
                                     [(str(t), float(v)) for t, v in values])))

    def add_scalar(self, tag: str, value: float, step: int, wall_time: float | None = None) -> None:
        self.add_scalars([(tag, value)], step, wall_time)

    def flush(self) -> None:
        if self._f is not None:
            self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def __del__(self):
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()


class Summary:
    """Scalars of one run under log_dir/app_name/<kind>, written as TensorBoard event files."""

    kind = ""
    default_tags: tuple[str, ...] = ()

    def __init__(self, log_dir: str, app_name: str):
        if not isinstance(log_dir, (str, os.PathLike)) or not isinstance(app_name, str) or not app_name:
            raise TypeError(f"{type(self).__name__}: expected log_dir (a path) and app_name (a non-empty string), "
                            f"got {log_dir!r}, {app_name!r}")
        self.log_dir = os.fspath(log_dir)
        self.app_name = app_name
        self.dir = os.path.join(self.log_dir, app_name, self.kind)
        self._writer: EventFileWriter | None = None
        self._triggers: dict[str, Trigger | None] = {t: None for t in self.default_tags}

    @property
    def writer(self) -> EventFileWriter:
        if self._writer is None:
            self._writer = EventFileWriter(self.dir)
        return self._writer

    def add_scalar(self, tag: str, value: float, step: int, wall_time: float | None = None) -> None:
        self.writer.add_scalar(tag, value, step, wall_time)

    def add_scalars(self, values, step: int, wall_time: float | None = None) -> None:
        self.writer.add_scalars(values, step, wall_time)

    def set_summary_trigger(self, name: str, trigger: Trigger | None) -> Summary:
        """Record tag `name` when `trigger` fires after an iteration (None: every iteration)."""
        if name not in self.default_tags:
            raise ValueError(f"{type(self).__name__}: can set triggers for {list(self.default_tags)}, got {name!r}")
        if trigger is not None and not isinstance(trigger, Trigger):
            raise TypeError(f"{type(self).__name__}: trigger must be a zoo.engine.triggers.Trigger, got "
                            f"{type(trigger).__name__}")
        self._triggers[name] = trigger
        return self

    def get_summary_trigger(self, name: str) -> Trigger | None:
        return self._triggers.get(name)

    def read_scalar(self, tag: str) -> list[tuple[int, float, float]]:
        """[(step, value, wall_time)] of `tag` from every event file of this summary's directory."""
        self.flush()
        out = []
        if not os.path.isdir(self.dir):
            return out
        for name in sorted(os.listdir(self.dir)):
            if "tfevents" not in name:
                continue
            for wall, step, values in read_events(os.path.join(self.dir, name)):
                for t, v in values:
                    if t == tag:
                        out.append((step, v, wall))
        return out

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class TrainSummary(Summary):
    """Training scalars (Loss, LearningRate, Throughput per iteration) under log_dir/app_name/train."""

    kind = "train"
    default_tags = ("Loss", "LearningRate", "Throughput")


class ValidationSummary(Summary):
    """Validation scalars (one tag per metric) under log_dir/app_name/validation."""

    kind = "validation"


class SummaryCallback(Callback):
    """Trainer hook writing a TrainSummary every iteration and a ValidationSummary after each validation."""

    def __init__(self, train: TrainSummary | None = None, validation: ValidationSummary | None = None):
        self.train, self.validation = train, validation
        self._last: float | None = None

    def on_epoch_begin(self, epoch, logs):
        self._last = None

    def on_batch_begin(self, batch, logs):
        if self._last is None:
            self._last = time.perf_counter()

    def on_batch_end(self, batch, logs):
        now = time.perf_counter()
        dt = now - (self._last if self._last is not None else now)
        self._last = now
        if self.train is None:
            return
        state = self.trainer.state
        values = []
        rate = logs.get("batch_throughput")  # measured where the batch ran (Spark workers), else timed here
        if rate is None:
            rate = logs.get("size", 0) / dt if dt > 0 else None
        for tag, value in (("Loss", logs.get("loss")), ("LearningRate", logs.get("lr")), ("Throughput", rate)):
            if value is None:
                continue
            trig = self.train._triggers.get(tag)
            if trig is None or trig(state):
                values.append((tag, value))
        if values:
            self.train.add_scalars(values, state.iteration)

    def _tags(self) -> dict[str, str]:
        tr = self.trainer
        tags = {"loss": "Loss"}
        for i, ms in enumerate(tr.metrics):
            for m in ms:
                key = tr._metric_key(m, i)
                tags[key] = m.tag if key == m.name else f"{tr.output_names[i]}_{m.tag}"
        return tags

    def on_epoch_end(self, epoch, logs):
        if self.validation is None:
            return
        tags = self._tags()
        values = [(tags.get(k[4:], k[4:]), v) for k, v in logs.items()
                  if k.startswith("val_") and isinstance(v, (int, float))]
        if values:
            self.validation.add_scalars(values, self.trainer.state.iteration)

    def on_train_end(self, logs):
        for s in (self.train, self.validation):
            if s is not None:
                s.flush()


class SummaryPair:
    """A TrainSummary and a ValidationSummary of one app (what `Model.set_tensorboard` keeps)."""

    def __init__(self, log_dir: str, app_name: str):
        self.train = TrainSummary(log_dir, app_name)
        self.validation = ValidationSummary(log_dir, app_name)

    def callback(self) -> SummaryCallback:
        return SummaryCallback(self.train, self.validation)

    def flush(self) -> None:
        self.train.flush()
        self.validation.flush()
