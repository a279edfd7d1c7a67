"""zoo.nnframes: Spark ML stages and Spark DataFrame readers.

Names are imported lazily, so ``import zoo.nnframes`` does not import pyspark.
"""

__all__ = ["NNImageReader", "with_origin_column"]

_LAZY = {"NNImageReader": "zoo.nnframes.image_reader", "with_origin_column": "zoo.nnframes.image_reader"}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zoo.nnframes' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
