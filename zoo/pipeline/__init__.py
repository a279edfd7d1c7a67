"""Analytics Zoo import paths (`zoo.pipeline.api.keras`, ...) as thin aliases of zoo's packages."""

__all__: list[str] = []
