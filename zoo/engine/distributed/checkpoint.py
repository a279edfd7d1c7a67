"""Checkpoint files of distributed training, on a local path or any Hadoop-compatible filesystem.

A checkpoint is the `Trainer.save_checkpoint` zip (weights, state tensors, optimizer state
with every worker's shard gathered, iteration/epoch, generator states) plus
`distributed.json` (the job id, the position in the epoch, per-rank generator states).
`CheckpointStore(path)` writes `<path>/checkpoint.zip` (or, with `keep_all=True`,
`<path>/checkpoint-<iteration>.zip`) atomically (temporary file, then rename) and finds the
latest one. Paths with a scheme (`hdfs://`, `s3://`, `gs://`, `file://`, ...) go through
`pyarrow.fs` (HDFS needs libhdfs, as for every Arrow HDFS client); plain paths use the
local filesystem, which must be shared between the workers on a real cluster.
"""

from __future__ import annotations

import os
import re
import tempfile

__all__ = ["CheckpointStore"]

_NAME = re.compile(r"^checkpoint(?:-(\d+))?\.zip$")


class CheckpointStore:
    """Reads and writes checkpoint blobs under a directory `path` (local or a filesystem URI)."""

    def __init__(self, path: str, keep_all: bool = False):
        if not isinstance(path, str) or not path:
            raise ValueError(f"CheckpointStore: path must be a non-empty string, got {path!r}")
        self.path = path.rstrip("/") or "/"
        self.keep_all = bool(keep_all)
        self._fs = None
        self._root = self.path
        if "://" in self.path and not self.path.startswith("file://"):
            import pyarrow.fs as pafs

            self._fs, self._root = pafs.FileSystem.from_uri(self.path)
        elif self.path.startswith("file://"):
            self._root = self.path[len("file://"):]

    def _file(self, iteration: int) -> str:
        return f"checkpoint-{iteration}.zip" if self.keep_all else "checkpoint.zip"

    def write(self, blob: bytes, iteration: int) -> str:
        """Store `blob` as the checkpoint of `iteration`; returns its path."""
        name = self._file(iteration)
        if self._fs is None:
            os.makedirs(self._root, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".checkpoint-", dir=self._root)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(blob)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, os.path.join(self._root, name))
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            return os.path.join(self._root, name)
        self._fs.create_dir(self._root, recursive=True)
        tmp = f"{self._root}/.{name}.tmp"
        with self._fs.open_output_stream(tmp) as f:
            f.write(blob)
        self._fs.move(tmp, f"{self._root}/{name}")
        return f"{self._root}/{name}"

    def _names(self) -> list[str]:
        if self._fs is None:
            try:
                return os.listdir(self._root)
            except FileNotFoundError:
                return []
        import pyarrow.fs as pafs

        try:
            infos = self._fs.get_file_info(pafs.FileSelector(self._root, allow_not_found=True))
        except FileNotFoundError:
            return []
        return [i.base_name for i in infos]

    def latest(self) -> tuple[bytes, str] | None:
        """(blob, name) of the newest checkpoint, or None if there is none."""
        best, best_key = None, -2
        for name in self._names():
            m = _NAME.match(name)
            if m is None:
                continue
            key = int(m.group(1)) if m.group(1) else -1
            if key > best_key:
                best, best_key = name, key
        if best is None:
            return None
        if self._fs is None:
            with open(os.path.join(self._root, best), "rb") as f:
                return f.read(), best
        with self._fs.open_input_stream(f"{self._root}/{best}") as f:
            return f.read(), best
