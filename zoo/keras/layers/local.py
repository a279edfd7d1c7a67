"""local layers."""

__all__: list[str] = []
