"""Optimizers and learning-rate schedules (the engine's, under Keras's import path)."""

from zoo.engine.optim import *  # noqa: F401,F403
from zoo.engine.optim import __all__  # noqa: F401
