"""Callbacks that save: ModelCheckpoint and BackupAndRestore (fault-tolerant training)."""

from __future__ import annotations

import math
import os

from zoo.keras.callbacks.base import Callback, _better, _get_monitor, _monitor_op

__all__ = ["BackupAndRestore", "ModelCheckpoint"]


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) after each epoch, or every `save_freq` batches.

    `filepath` may hold `str.format` fields: `{epoch}` (1-based), `{batch}`, `{iteration}` (optimizer
    steps so far) and any log key, e.g.
    "ckpt-{epoch:02d}-{val_loss:.3f}.zip". With save_best_only, only an improvement of `monitor`
    (mode as EarlyStopping) is saved. Weights go to a `.npz` when filepath ends in ".npz", else
    to a zoo zip (`Model.save` / `Model.save_weights`).
    """

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", save_freq="epoch",
                 initial_value_threshold: float | None = None):
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = _monitor_op("ModelCheckpoint", monitor, mode)
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive int, got {save_freq!r}")
        self.save_freq = save_freq
        self.best = (initial_value_threshold if initial_value_threshold is not None
                     else math.inf if self.mode == "min" else -math.inf)
        self._batches = 0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches % self.save_freq == 0:
            self._save(self._epoch, dict(logs or {}), batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, dict(logs or {}), None)

    def _save(self, epoch: int, logs: dict, batch):
        try:
            trainer = getattr(self.model, "_trainer", None)
            iteration = trainer.state.iteration if trainer is not None else 0
            path = self.filepath.format(epoch=epoch + 1, batch=(batch or 0) + 1, iteration=iteration, **logs)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"ModelCheckpoint: cannot fill filepath {self.filepath!r} from epoch/batch and the logs "
                             f"{sorted(logs)}: {e}") from None
        if self.save_best_only:
            current = _get_monitor(self, self.monitor, logs)
            if current is None or not _better(self.mode, current, self.best, 0.0):
                return
            self.best = current
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class BackupAndRestore(Callback):
    """Fault-tolerant training: back up the model, optimizer and training state after every epoch,
    and on the next `fit` with the same backup_dir resume after the last backed-up epoch.

    The backup is one zoo model zip (`backup_dir/backup.zip`, written atomically); it is deleted when
    training ends normally (unless delete_checkpoint=False). `fit` must be given the same data and
    arguments; the resumed run equals an uninterrupted one (same shuffling and random state).
    """

    FILE = "backup.zip"

    def __init__(self, backup_dir: str, save_freq="epoch", delete_checkpoint: bool = True):
        if save_freq != "epoch":
            raise ValueError(f"BackupAndRestore: only save_freq='epoch' is supported, got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = bool(delete_checkpoint)

    @property
    def path(self) -> str:
        return os.path.join(self.backup_dir, self.FILE)

    def _restore_before_fit(self, model) -> int | None:
        """Called by fit before training: restore the backup if there is one; returns the epoch to start at."""
        if not os.path.exists(self.path):
            return None
        from zoo.keras import saving

        extra = saving.restore_training_state(model, self.path)
        epoch = extra.get("backup_epoch")
        if not isinstance(epoch, int):
            raise ValueError(f"BackupAndRestore: {self.path!r} is not a backup (no epoch recorded)")  # noqa: TRY004
        return epoch + 1

    def on_epoch_end(self, epoch, logs=None):
        from zoo.keras import saving

        os.makedirs(self.backup_dir, exist_ok=True)
        saving.save_model(self.model, self.path, extra={"backup_epoch": int(epoch)})

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.path):
            os.remove(self.path)
            try:
                os.rmdir(self.backup_dir)
            except OSError:
                pass
