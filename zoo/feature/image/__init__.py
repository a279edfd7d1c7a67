"""Images and their transforms (OpenCV)."""

__all__: list[str] = []
