"""embeddings layers."""

__all__: list[str] = []
