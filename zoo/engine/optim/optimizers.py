"""The optimizers: SGD, Adam, AdamW, Adagrad, Adadelta, Adamax, RMSprop and Ftrl (each one
fused C step over the flat buffers), `OPTIMIZERS` and `get`.
"""

from __future__ import annotations

import numpy as np

from zoo.engine.optim._checks import _num
from zoo.engine.optim.base import Optimizer
from zoo.engine.optim.schedules import Schedule, get_schedule


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov, dampening and weight decay.

    With g' = g + weight_decay * w (PyTorch's coupled decay) and velocity v (starts at 0):
        momentum == 0:  w <- w - lr * g'
        otherwise:      v <- momentum * v - lr * (1 - dampening) * g'   (no dampening on step 1)
                        w <- w + v          (nesterov: w <- w + momentum * v - lr * g')
    With dampening = weight_decay = 0 this is exactly Keras 3's SGD; with a constant lr it
    equals PyTorch's SGD (v = -lr * buf). Keras keeps lr inside v, so a changing lr acts on
    new gradients only.
    """

    kind = "sgd"

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0, schedule: Schedule | None = None, **kwargs):
        weight_decay = kwargs.pop("weightdecay", weight_decay)  # BigDL's spelling
        super().__init__(learning_rate, schedule, **kwargs)
        self.momentum = _num("SGD", "momentum", momentum, lo=0, hi=1)
        self.dampening = _num("SGD", "dampening", dampening, lo=0, hi=1)
        self.nesterov = bool(nesterov)
        self.weight_decay = _num("SGD", "weight_decay", weight_decay, lo=0)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(f"SGD: nesterov needs momentum > 0 and dampening 0, got momentum={self.momentum}, "
                             f"dampening={self.dampening}")

    def _slot_specs(self):
        return [("momentum", 0.0) if self.momentum else None]

    def _step_params(self, lr, t, ftype):
        gs = lr if t <= 1 else lr * (1.0 - self.dampening)
        return (lr, self.momentum, gs, self.weight_decay, float(self.nesterov))

    def _hyper(self):
        return {"momentum": self.momentum, "dampening": self.dampening, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}


class Adam(Optimizer):
    """Adam (Keras 3), with optional AMSGrad and decoupled weight decay.

    Step t (1-based), m and v start at 0:
        w <- w - lr * weight_decay * w
        m <- m + (g - m) * (1 - beta_1);   v <- v + (g^2 - v) * (1 - beta_2)
        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w <- w - alpha * m / (sqrt(v) + epsilon)     (amsgrad: v_hat = max(v_hat, v) instead of v)
    """

    kind = "adam"

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay: float = 0.0,
                 schedule: Schedule | None = None, **kwargs):
        beta_1, beta_2 = kwargs.pop("beta1", beta_1), kwargs.pop("beta2", beta_2)  # BigDL's spellings
        super().__init__(learning_rate, schedule, **kwargs)
        who = type(self).__name__
        self.beta_1 = _num(who, "beta_1", beta_1, lo=0, hi=1, hi_open=True)
        self.beta_2 = _num(who, "beta_2", beta_2, lo=0, hi=1, hi_open=True)
        self.epsilon = _num(who, "epsilon", epsilon, lo=0)
        self.amsgrad = bool(amsgrad)
        self.weight_decay = _num(who, "weight_decay", weight_decay, lo=0)

    def _slot_specs(self):
        return [("m", 0.0), ("v", 0.0), ("v_hat", 0.0) if self.amsgrad else None]

    def _step_params(self, lr, t, ftype):
        f = ftype  # in the buffers' precision, as Keras: beta powers in float32 for float32 weights
        one = f(1)
        alpha = f(lr) * np.sqrt(one - f(self.beta_2) ** f(t)) / (one - f(self.beta_1) ** f(t))
        return (alpha, 1.0 - self.beta_1, 1.0 - self.beta_2, self.epsilon, lr * self.weight_decay)

    def _hyper(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon, "amsgrad": self.amsgrad,
                "weight_decay": self.weight_decay}


class AdamW(Adam):
    """Adam with decoupled weight decay, default 0.004 (Keras 3 AdamW): see Adam."""

    def __init__(self, learning_rate: float = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 schedule: Schedule | None = None, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, schedule, **kwargs)


class Adagrad(Optimizer):
    """Adagrad (Keras 3): a <- a + g^2 (a starts at initial_accumulator_value);
    w <- w - lr * g / sqrt(a + epsilon). `weight_decay` is decoupled (w <- w - lr*wd*w first)."""

    kind = "adagrad"

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay: float = 0.0, schedule: Schedule | None = None, **kwargs):
        super().__init__(learning_rate, schedule, **kwargs)
        self.initial_accumulator_value = _num("Adagrad", "initial_accumulator_value", initial_accumulator_value,
                                              lo=0)
        self.epsilon = _num("Adagrad", "epsilon", epsilon, lo=0)
        self.weight_decay = _num("Adagrad", "weight_decay", weight_decay, lo=0)

    def _slot_specs(self):
        return [("accumulator", self.initial_accumulator_value)]

    def _step_params(self, lr, t, ftype):
        return (lr, self.epsilon, lr * self.weight_decay)

    def _hyper(self):
        return {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon,
                "weight_decay": self.weight_decay}


class Adadelta(Optimizer):
    """Adadelta (Keras 3), accumulators start at 0:
        A_g <- rho A_g + (1 - rho) g^2
        d = -sqrt(A_d + epsilon) * g / sqrt(A_g + epsilon)
        A_d <- rho A_d + (1 - rho) d^2;   w <- w + lr * d
    `weight_decay` is decoupled (w <- w - lr*wd*w first)."""

    kind = "adadelta"

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 weight_decay: float = 0.0, schedule: Schedule | None = None, **kwargs):
        super().__init__(learning_rate, schedule, **kwargs)
        self.rho = _num("Adadelta", "rho", rho, lo=0, hi=1)
        self.epsilon = _num("Adadelta", "epsilon", epsilon, lo=0)
        self.weight_decay = _num("Adadelta", "weight_decay", weight_decay, lo=0)

    def _slot_specs(self):
        return [("accumulated_grad", 0.0), ("accumulated_delta", 0.0)]

    def _step_params(self, lr, t, ftype):
        return (lr, self.rho, self.epsilon, lr * self.weight_decay)

    def _hyper(self):
        return {"rho": self.rho, "epsilon": self.epsilon, "weight_decay": self.weight_decay}


class Adamax(Optimizer):
    """Adamax (Keras 3), m and u start at 0, step t 1-based:
        m <- m + (g - m)(1 - beta_1);  u <- max(beta_2 u, |g|)
        w <- w - lr * m / ((1 - beta_1^t) (u + epsilon))
    `weight_decay` is decoupled (w <- w - lr*wd*w first)."""

    kind = "adamax"

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float = 0.0, schedule: Schedule | None = None, **kwargs):
        beta_1, beta_2 = kwargs.pop("beta1", beta_1), kwargs.pop("beta2", beta_2)  # BigDL's spellings
        super().__init__(learning_rate, schedule, **kwargs)
        self.beta_1 = _num("Adamax", "beta_1", beta_1, lo=0, hi=1, hi_open=True)
        self.beta_2 = _num("Adamax", "beta_2", beta_2, lo=0, hi=1)
        self.epsilon = _num("Adamax", "epsilon", epsilon, lo=0)
        self.weight_decay = _num("Adamax", "weight_decay", weight_decay, lo=0)

    def _slot_specs(self):
        return [("m", 0.0), ("u", 0.0)]

    def _step_params(self, lr, t, ftype):
        bc = ftype(1) - ftype(self.beta_1) ** ftype(t)  # in the buffers' precision, as Keras
        return (lr, 1.0 - self.beta_1, self.beta_2, self.epsilon, bc, lr * self.weight_decay)

    def _hyper(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "weight_decay": self.weight_decay}


class RMSprop(Optimizer):
    """RMSprop (Keras 3), buffers start at 0:
        v <- rho v + (1 - rho) g^2;   centered: a <- rho a + (1 - rho) g, den = v - a^2 + eps
                                      else den = v + eps
        inc = lr g / sqrt(den);       momentum > 0: mo <- momentum mo + inc, w <- w - mo
                                      else w <- w - inc
    `weight_decay` is decoupled (w <- w - lr*wd*w first)."""

    kind = "rmsprop"

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, weight_decay: float = 0.0,
                 schedule: Schedule | None = None, **kwargs):
        super().__init__(learning_rate, schedule, **kwargs)
        self.rho = _num("RMSprop", "rho", rho, lo=0, hi=1)
        self.momentum = _num("RMSprop", "momentum", momentum, lo=0, hi=1)
        self.epsilon = _num("RMSprop", "epsilon", epsilon, lo=0)
        self.centered = bool(centered)
        self.weight_decay = _num("RMSprop", "weight_decay", weight_decay, lo=0)

    def _slot_specs(self):
        return [("velocity", 0.0), ("momentum", 0.0) if self.momentum > 0 else None,
                ("average_gradient", 0.0) if self.centered else None]

    def _step_params(self, lr, t, ftype):
        return (lr, self.rho, self.epsilon, self.momentum, lr * self.weight_decay)

    def _hyper(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered,
                "weight_decay": self.weight_decay}


class Ftrl(Optimizer):
    """FTRL-proximal (Keras 3). Accumulator n starts at initial_accumulator_value, linear z at 0;
    p = -learning_rate_power, l2' = l2_regularization_strength + beta / (2 lr):
        g' = g + 2 * l2_shrinkage_regularization_strength * w;   n' = n + g^2
        z <- z + g' - (n'^p - n^p) / lr * w
        w <- (clip(z, -l1, l1) - z) / (n'^p / lr + 2 l2');   n <- n'
    `weight_decay` is decoupled (w <- w - lr*wd*w first). lr must be > 0."""

    kind = "ftrl"

    def __init__(self, learning_rate: float = 0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, beta: float = 0.0,
                 l2_shrinkage_regularization_strength: float = 0.0, weight_decay: float = 0.0,
                 schedule: Schedule | None = None, **kwargs):
        super().__init__(learning_rate, schedule, **kwargs)
        self.learning_rate_power = _num("Ftrl", "learning_rate_power", learning_rate_power, hi=0)
        self.initial_accumulator_value = _num("Ftrl", "initial_accumulator_value", initial_accumulator_value, lo=0)
        self.l1_regularization_strength = _num("Ftrl", "l1_regularization_strength", l1_regularization_strength,
                                               lo=0)
        self.l2_regularization_strength = _num("Ftrl", "l2_regularization_strength", l2_regularization_strength,
                                               lo=0)
        self.beta = _num("Ftrl", "beta", beta, lo=0)
        self.l2_shrinkage_regularization_strength = _num("Ftrl", "l2_shrinkage_regularization_strength",
                                                         l2_shrinkage_regularization_strength, lo=0)
        self.weight_decay = _num("Ftrl", "weight_decay", weight_decay, lo=0)

    def _slot_specs(self):
        return [("accumulator", self.initial_accumulator_value), ("linear", 0.0)]

    def _step_params(self, lr, t, ftype):
        if lr <= 0:
            raise ValueError(f"Ftrl: learning rate must be > 0 (it divides), got {lr} at iteration {t - 1}")
        return (lr, self.learning_rate_power, self.l1_regularization_strength,
                self.l2_regularization_strength + self.beta / (2.0 * lr), self.l2_shrinkage_regularization_strength,
                lr * self.weight_decay)

    def _hyper(self):
        return {"learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength, "beta": self.beta,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "weight_decay": self.weight_decay}


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adam": Adam, "adamw": AdamW, "adagrad": Adagrad, "adadelta": Adadelta, "adamax": Adamax,
    "rmsprop": RMSprop, "ftrl": Ftrl}


def get(identifier) -> Optimizer:
    """An Optimizer from an instance (returned as is), a name ('sgd', 'adam', 'adamw', 'adagrad',
    'adadelta', 'adamax', 'rmsprop', 'ftrl', with Keras's default hyper-parameters) or a config
    (`get_config()` output, or Keras's `{"class_name": ..., "config": {...}}`)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = OPTIMIZERS.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {identifier!r}; known: {', '.join(OPTIMIZERS)}")
        return cls()
    if isinstance(identifier, dict):
        if "class_name" in identifier:
            name, config = identifier["class_name"], dict(identifier.get("config", {}))
        else:
            config = dict(identifier)
            name = config.pop("name", None)
        cls = OPTIMIZERS.get(str(name).lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}")
        config.pop("name", None)
        if config.get("schedule") is not None:
            config["schedule"] = get_schedule(config["schedule"])
        return cls(**config)
    raise TypeError(f"expected an Optimizer, a name or a config dict, got {type(identifier).__name__}")
