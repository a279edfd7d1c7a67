"""Keras-style callbacks and the progress display.

Hooks: on_train_begin/end(logs), on_epoch_begin/end(epoch, logs),
on_train_batch_begin/end(batch, logs) (also reachable as on_batch_begin/end), and the
test/predict batch hooks Keras has. `self.model` is the model being trained; setting
`model.stop_training = True` stops after the current batch. Epoch logs hold "loss", the
metrics and, with validation, "val_" + each of them; batch logs hold "loss", "size" (the
batch's samples), "lr" and "throughput".

Built-ins: History and LambdaCallback (`base`); ProgbarLogger, CSVLogger and TensorBoard
(`loggers`); EarlyStopping, LearningRateScheduler, ReduceLROnPlateau and TerminateOnNaN
(`control`); ModelCheckpoint and BackupAndRestore (`checkpoints`).
"""

from zoo.keras.callbacks.base import Callback, History, LambdaCallback
from zoo.keras.callbacks.checkpoints import BackupAndRestore, ModelCheckpoint
from zoo.keras.callbacks.control import (
    EarlyStopping,
    LearningRateScheduler,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from zoo.keras.callbacks.loggers import CSVLogger, ProgbarLogger, TensorBoard, _in_notebook  # noqa: F401

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
]
