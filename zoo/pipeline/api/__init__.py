"""Analytics Zoo's `zoo.pipeline.api`: `keras` is an alias of `zoo.keras`."""

__all__: list[str] = []
