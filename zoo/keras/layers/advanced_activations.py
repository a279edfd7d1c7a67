"""advanced_activations layers."""

__all__: list[str] = []
