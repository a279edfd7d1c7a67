"""zoo.keras."""

__all__: list[str] = []
