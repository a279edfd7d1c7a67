"""TensorBoard summaries (Analytics Zoo's TrainSummary / ValidationSummary), written without TensorFlow.

`Model.set_tensorboard(log_dir, app_name)` uses these; see `zoo.engine.summary` for the file
format. The Keras callback is `zoo.keras.callbacks.TensorBoard`.
"""

from zoo.engine.summary import EventFileWriter, Summary, TrainSummary, ValidationSummary, read_events

__all__ = ["EventFileWriter", "Summary", "TrainSummary", "ValidationSummary", "read_events"]
