"""Optimizers, learning-rate schedules, gradient clipping and weight regularizers.

Optimizers update a model's flat float32 weight buffer from its flat gradient buffer in
one fused C call per step (csrc/optim.c): one pass over w, g and the optimizer's state
slots, which are flat buffers of the same length allocated on first use. Where the mask is
0 (frozen weights, padding) nothing changes. The formulas equal Keras 3's (see each class);
SGD adds PyTorch's dampening and coupled weight decay.

A step is `lr = opt.begin_step(epoch)` (advance the counter, evaluate the schedule, prepare
the per-step scalars) followed by one or more `opt.apply(w, g, mask, lo, hi)` calls on
disjoint ranges, possibly from several threads at once; `opt.step(w, g)` does both.

Example:
    >>> import numpy as np
    >>> w, g = np.ones(4, np.float32), np.full(4, 0.5, np.float32)
    >>> opt = SGD(learning_rate=0.1, momentum=0.9)
    >>> opt.step(w, g)
    >>> w.tolist()
    [0.949999988079071, 0.949999988079071, 0.949999988079071, 0.949999988079071]

The package groups them by family: `schedules`, `base` (the Optimizer protocol and its
fused step), `optimizers` (SGD, Adam, ... and `get`) and `regularization` (gradient
clipping and weight regularizers).
"""

from __future__ import annotations

from zoo.engine.optim.base import Optimizer
from zoo.engine.optim.optimizers import OPTIMIZERS as OPTIMIZERS
from zoo.engine.optim.optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Ftrl, RMSprop, get
from zoo.engine.optim.regularization import (
    L1,
    L1L2,
    L2,
    Regularizer,
    clip_by_global_norm,
    clip_by_value,
    get_regularizer,
    global_norm,
)
from zoo.engine.optim.regularization import REGULARIZERS as REGULARIZERS
from zoo.engine.optim.schedules import SCHEDULES as SCHEDULES
from zoo.engine.optim.schedules import (
    Cosine,
    Default,
    EpochStep,
    Exponential,
    FunctionSchedule,
    LinearWarmup,
    MultiStep,
    Plateau,
    Poly,
    Schedule,
    SequentialSchedule,
    Step,
    Warmup,
    get_schedule,
)

__all__ = [
    "L1",
    "L1L2",
    "L2",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Cosine",
    "Default",
    "EpochStep",
    "Exponential",
    "Ftrl",
    "FunctionSchedule",
    "LinearWarmup",
    "MultiStep",
    "Optimizer",
    "Plateau",
    "Poly",
    "RMSprop",
    "Regularizer",
    "Schedule",
    "SequentialSchedule",
    "Step",
    "Warmup",
    "clip_by_global_norm",
    "clip_by_value",
    "get",
    "get_regularizer",
    "get_schedule",
    "global_norm",
]
# also here: the name registries OPTIMIZERS, REGULARIZERS and SCHEDULES
