"""Shared pieces: Spark session setup (nncontext), errors, logging."""

__all__: list[str] = []
