"""zoo.nnframes."""

__all__: list[str] = []
