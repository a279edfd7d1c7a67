"""zoo.autograd."""

__all__: list[str] = []
