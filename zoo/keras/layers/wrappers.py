"""wrappers layers."""

__all__: list[str] = []
