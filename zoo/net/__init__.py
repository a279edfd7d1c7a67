"""zoo.net."""

__all__: list[str] = []
