"""Analytics Zoo's `zoo.pipeline.api.keras`: the same objects as `zoo.keras`.

    >>> from zoo.pipeline.api.keras.models import Sequential
    >>> import zoo.keras.models
    >>> Sequential is zoo.keras.models.Sequential
    True
"""

from zoo.pipeline.api.keras import callbacks, layers, metrics, models, objectives, optimizers, regularizers

__all__ = ["callbacks", "layers", "metrics", "models", "objectives", "optimizers", "regularizers"]
