"""Activations: elementwise (`Activation` and one class per kind), bias + activation fused
(`BiasAct`), and softmax / log-softmax over an axis. The loops run in C (csrc/act.c; softmax in csrc/softmax.c).

Every op accepts float32 and float64 arrays of any shape. Backward reads the saved output
where the derivative allows it (relu, leaky relu and elu with a positive alpha, selu,
sigmoid, hard sigmoid, tanh, softplus, relu6, exponential), otherwise the saved input.

Keras activation names map to op factories in `ACTIVATIONS`; `get(name)` builds one:

    >>> get("relu")
    Relu()
    >>> get("leaky_relu", alpha=0.3)
    LeakyRelu(alpha=0.3)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from zoo.engine.kernels import act as K
from zoo.engine.ops.base import Ctx, Op, normalize_axis, register

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "BiasAct",
    "Elu",
    "Exponential",
    "Gelu",
    "HardSigmoid",
    "HardSwish",
    "LeakyRelu",
    "LogSoftmax",
    "Relu",
    "Relu6",
    "Selu",
    "Sigmoid",
    "Silu",
    "Softmax",
    "Softplus",
    "Softsign",
    "Swish",
    "Tanh",
    "get",
    "name",
]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

#: kind -> default parameters (the aliases below map onto these kinds)
KINDS: dict[str, dict] = {
    "linear": {},
    "relu": {},
    "leaky_relu": {"alpha": 0.2},
    "elu": {"alpha": 1.0},
    "selu": {},
    "gelu": {"approximate": False},
    "sigmoid": {},
    "hard_sigmoid": {"slope": 1.0 / 6.0, "offset": 0.5},
    "tanh": {},
    "softplus": {},
    "softsign": {},
    "swish": {},
    "relu6": {},
    "hard_swish": {"slope": 1.0 / 6.0, "offset": 0.5},
    "exponential": {},
}
_ALIASES = {"silu": "swish", "hard_silu": "hard_swish"}


def _number(who: str, name: str, v) -> float:
    if (
        isinstance(v, bool)
        or not isinstance(v, (int, float, np.integer, np.floating))
        or not math.isfinite(v)
    ):
        raise ValueError(f"{who}: {name} must be a finite number, got {v!r}")
    return float(v)


def _resolve(who: str, kind: str, params: dict) -> tuple[str, dict, int | None, float, float]:
    """(kind, params with defaults, C code or None for identity, p0, p1) of an activation."""
    if not isinstance(kind, str):
        raise TypeError(f"{who}: activation kind must be a string, got {type(kind).__name__}")
    kind = _ALIASES.get(kind, kind)
    if kind not in KINDS:
        raise ValueError(
            f"{who}: unknown activation {kind!r}; expected one of {sorted(KINDS) + sorted(_ALIASES)}"
        )
    defaults = KINDS[kind]
    for k in params:
        if k not in defaults:
            allowed = ", ".join(defaults) or "none"
            raise TypeError(f"{who}: activation {kind!r} takes no parameter {k!r} (parameters: {allowed})")
    p = {**defaults, **params}
    if kind == "linear":
        return kind, p, None, 0.0, 0.0
    if kind == "relu":
        return kind, p, K.RELU, 0.0, 0.0
    if kind == "leaky_relu":
        a = p["alpha"] = _number(who, "alpha", p["alpha"])
        return kind, p, K.LEAKY if a > 0 else K.LEAKY_X, a, 0.0
    if kind == "elu":
        a = p["alpha"] = _number(who, "alpha", p["alpha"])
        return kind, p, K.ELU if a > 0 else K.ELU_X, a, 0.0
    if kind == "selu":
        return kind, p, K.SELU, SELU_ALPHA, SELU_SCALE
    if kind == "gelu":
        if not isinstance(p["approximate"], (bool, np.bool_)):
            raise ValueError(f"{who}: approximate must be a bool, got {p['approximate']!r}")
        p["approximate"] = bool(p["approximate"])
        return kind, p, K.GELU_TANH if p["approximate"] else K.GELU, 0.0, 0.0
    if kind in ("hard_sigmoid", "hard_swish"):
        slope = p["slope"] = _number(who, "slope", p["slope"])
        offset = p["offset"] = _number(who, "offset", p["offset"])
        if slope <= 0:
            raise ValueError(f"{who}: slope must be positive, got {slope!r}")
        return kind, p, K.HARD_SIGMOID if kind == "hard_sigmoid" else K.HARD_SWISH, slope, offset
    code = {
        "sigmoid": K.SIGMOID,
        "tanh": K.TANH,
        "softplus": K.SOFTPLUS,
        "softsign": K.SOFTSIGN,
        "swish": K.SWISH,
        "relu6": K.RELU6,
        "exponential": K.EXP,
    }[kind]
    return kind, p, code, 0.0, 0.0


def _float_input(who: str, x, ref_dtype=None) -> np.ndarray:
    """x as a C-contiguous float32/float64 array; TypeError naming `who` otherwise."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{who}: expected a numpy array, got {type(x).__name__}")
    if x.dtype not in _FLOATS:
        raise TypeError(f"{who}: expected a float32 or float64 input, got dtype {x.dtype}")
    if ref_dtype is not None and x.dtype != ref_dtype:
        return np.ascontiguousarray(x, dtype=ref_dtype)
    return x if x.flags.c_contiguous else np.ascontiguousarray(x)


def _grad_like(gy, ref: np.ndarray) -> np.ndarray:
    """The output gradient as a C-contiguous array of ref's dtype."""
    if isinstance(gy, np.ndarray) and gy.dtype == ref.dtype and gy.flags.c_contiguous:
        return gy
    return np.ascontiguousarray(gy, dtype=ref.dtype)


@register
class Activation(Op):
    """y = f(x) elementwise, f named by `kind` (a Keras activation name); shape (...) -> (...).

    Kinds and parameters: linear (f = x), relu, leaky_relu (alpha=0.2: x > 0 ? x : alpha x),
    elu (alpha=1: x > 0 ? x : alpha (e^x - 1)), selu (scale * elu with Keras' fixed alpha and
    scale), gelu (approximate=False: x/2 (1 + erf(x/sqrt2)); True: x/2 (1 + tanh(sqrt(2/pi)
    (x + 0.044715 x^3)))), sigmoid, hard_sigmoid (slope=1/6, offset=0.5: clip(slope x + offset,
    0, 1), Keras 3's relu6(x + 3)/6; slope=0.2 gives Keras 1/BigDL's), tanh, softplus
    (log(1 + e^x)), softsign (x / (1 + |x|)), swish (alias silu: x sigmoid(x)), relu6
    (min(max(x, 0), 6)), hard_swish (alias hard_silu: x hard_sigmoid(x)), exponential (e^x).
    """

    type_name = "activation"

    def __init__(self, kind: str = "linear", **params):
        who = type(self).__name__
        self.kind, self.params, self._code, self._p0, self._p1 = _resolve(who, kind, params)
        self._src = None if self._code is None else K.SOURCE[self._code]
        self._who = who

    def get_config(self) -> dict:
        if type(self) is Activation:
            return {"kind": self.kind, **self.params}
        return dict(self.params)

    def infer_shape(self, x):
        return tuple(x)

    def forward(self, ctx: Ctx, x):
        x = _float_input(self._who, x)
        if self._code is None:
            return x
        y = ctx.buf("y", x.shape, x.dtype)
        K.act_forward(self._code, x, y, p0=self._p0, p1=self._p1, who=self._who)
        ctx.saved = x if self._src == "x" else y
        return y

    def backward(self, ctx: Ctx, gy):
        if not ctx.needs_grad[0]:
            return (None,)
        if self._code is None:
            return (gy,)
        saved = ctx.saved
        gy = _grad_like(gy, saved)
        dx = ctx.buf("dx", saved.shape, saved.dtype)
        if self._src == "x":
            K.act_backward(self._code, gy, dx, x=saved, p0=self._p0, p1=self._p1, who=self._who)
        else:
            K.act_backward(self._code, gy, dx, y=saved, p0=self._p0, p1=self._p1, who=self._who)
        return (dx,)


def _fixed(name: str, kind: str, doc: str) -> type[Activation]:
    """A registered Activation of `kind` without parameters: `name()` is `Activation(kind)`."""

    def __init__(self):
        Activation.__init__(self, kind)

    cls = type(name, (Activation,), {"__doc__": doc, "__module__": __name__, "type_name": kind, "__init__": __init__})
    return register(cls)


Relu = _fixed("Relu", "relu", "y = max(x, 0).")
Selu = _fixed("Selu", "selu", "y = scale (x > 0 ? x : alpha (e^x - 1)) with alpha = 1.6732632..., "
                              "scale = 1.0507009...")
Sigmoid = _fixed("Sigmoid", "sigmoid", "y = 1 / (1 + e^-x).")
Tanh = _fixed("Tanh", "tanh", "y = tanh(x).")
Softplus = _fixed("Softplus", "softplus", "y = log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|).")
Softsign = _fixed("Softsign", "softsign", "y = x / (1 + |x|).")
Swish = _fixed("Swish", "swish", "y = x sigmoid(x) (also called SiLU).")
Relu6 = _fixed("Relu6", "relu6", "y = min(max(x, 0), 6).")
Exponential = _fixed("Exponential", "exponential", "y = e^x.")


@register
class LeakyRelu(Activation):
    """y = x > 0 ? x : alpha x (alpha=0.2 as tf.nn.leaky_relu; Keras' LeakyReLU layer uses 0.3)."""

    type_name = "leaky_relu"

    def __init__(self, alpha: float = 0.2):
        super().__init__("leaky_relu", alpha=alpha)


@register
class Elu(Activation):
    """y = x > 0 ? x : alpha (e^x - 1)."""

    type_name = "elu"

    def __init__(self, alpha: float = 1.0):
        super().__init__("elu", alpha=alpha)


@register
class Gelu(Activation):
    """y = x/2 (1 + erf(x / sqrt 2)); approximate: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    type_name = "gelu"

    def __init__(self, approximate: bool = False):
        super().__init__("gelu", approximate=approximate)


@register
class HardSigmoid(Activation):
    """y = clip(slope x + offset, 0, 1); defaults give Keras 3's relu6(x + 3) / 6, slope=0.2 Keras 1's."""

    type_name = "hard_sigmoid"

    def __init__(self, slope: float = 1.0 / 6.0, offset: float = 0.5):
        super().__init__("hard_sigmoid", slope=slope, offset=offset)


Silu = Swish


@register
class HardSwish(Activation):
    """y = x clip(slope x + offset, 0, 1) (Keras 3's hard_silu with the defaults)."""

    type_name = "hard_swish"

    def __init__(self, slope: float = 1.0 / 6.0, offset: float = 0.5):
        super().__init__("hard_swish", slope=slope, offset=offset)


# ---- bias + activation ------------------------------------------------------------------------


@register
class BiasAct(Op):
    """y = f(x + b) with b broadcast along `axis`, in one pass; f as in `Activation`.

    Inputs: x (..., C, ...) with C at `axis` (1 for NCHW, -1 for (N, F) or NHWC), b (C,).
    Output: the shape of x. Backward gives dx and db = sum of dz over all axes but `axis`.
    """

    type_name = "bias_act"

    def __init__(self, kind: str = "linear", axis: int = -1, **params):
        who = type(self).__name__
        self.kind, self.params, code, self._p0, self._p1 = _resolve(who, kind, params)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{who}: axis must be an int, got {axis!r}")
        self.axis = int(axis)
        self._code = K.IDENTITY if code is None else code
        self._src = K.SOURCE[self._code]
        self._who = who
        self._ndim = -1
        self._ax = 0

    def get_config(self) -> dict:
        return {"kind": self.kind, "axis": self.axis, **self.params}

    def _axis(self, ndim: int) -> int:
        if ndim != self._ndim:
            try:
                self._ax = normalize_axis(self.axis, ndim, "axis")
            except ValueError:
                raise ValueError(
                    f"{self._who}: axis {self.axis} is out of range for an input of rank {ndim}"
                ) from None
            self._ndim = ndim
        return self._ax

    def infer_shape(self, x, b):
        ax = self._axis(len(x))
        if len(b) != 1 or (x[ax] is not None and b[0] is not None and b[0] != x[ax]):
            raise ValueError(
                f"expected a bias of shape ({x[ax]},) for input shape {tuple(x)} and axis {self.axis}, "
                f"got {tuple(b)}"
            )
        return tuple(x)

    def forward(self, ctx: Ctx, x, b):
        x = _float_input(self._who, x)
        b = _float_input(self._who, b, x.dtype)
        ax = self._axis(x.ndim)
        c = x.shape[ax]
        if b.shape != (c,):
            raise ValueError(
                f"{self._who}: expected a bias of shape ({c},) for input shape {x.shape} and axis "
                f"{self.axis}, got {b.shape}"
            )
        lay = K.layout(x.shape, ax)
        y = ctx.buf("y", x.shape, x.dtype)
        K.act_forward(self._code, x, y, b, lay, self._p0, self._p1, self._who)
        ctx.lay = lay
        if self._src == "x":
            ctx.x, ctx.b = x, b
        ctx.y = y
        return y

    def backward(self, ctx: Ctx, gy):
        nx, nb = ctx.needs_grad[0], ctx.needs_grad[1]
        if not (nx or nb):
            return None, None
        y = ctx.y
        gy = _grad_like(gy, y)
        dx = ctx.buf("dx", y.shape, y.dtype) if nx else None
        db = ctx.buf("db", (ctx.lay[1],), y.dtype) if nb else None
        if self._code == K.IDENTITY and nx:
            dx = gy
            if nb:
                K.act_backward(K.IDENTITY, gy, None, db, lay=ctx.lay, who=self._who)
        elif self._src == "x":
            K.act_backward(
                self._code, gy, dx, db, x=ctx.x, b=ctx.b, lay=ctx.lay, p0=self._p0, p1=self._p1, who=self._who
            )
        else:
            K.act_backward(self._code, gy, dx, db, y=y, lay=ctx.lay, p0=self._p0, p1=self._p1, who=self._who)
        return dx, db


# ---- softmax ----------------------------------------------------------------------------------


class _SoftmaxBase(Op):
    _log = False

    def __init__(self, axis: int = -1):
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{type(self).__name__}: axis must be an int, got {axis!r}")
        self.axis = int(axis)
        self._who = type(self).__name__
        self._ndim = -1
        self._ax = 0

    def get_config(self) -> dict:
        return {"axis": self.axis}

    def _axis(self, ndim: int) -> int:
        if ndim != self._ndim:
            if not -ndim <= self.axis < ndim:
                raise ValueError(f"{self._who}: axis {self.axis} is out of range for an input of rank {ndim}")
            self._ax, self._ndim = self.axis % ndim, ndim
        return self._ax

    def infer_shape(self, x):
        self._axis(len(x))
        return tuple(x)

    def forward(self, ctx: Ctx, x):
        x = _float_input(self._who, x)
        lay = K.layout(x.shape, self._axis(x.ndim))
        y = ctx.buf("y", x.shape, x.dtype)
        K.softmax_forward(x, y, lay, self._log, self._who)
        ctx.y, ctx.lay = y, lay
        return y

    def backward(self, ctx: Ctx, gy):
        if not ctx.needs_grad[0]:
            return (None,)
        y = ctx.y
        gy = _grad_like(gy, y)
        dx = ctx.buf("dx", y.shape, y.dtype)
        K.softmax_backward(gy, y, dx, ctx.lay, self._log, who=self._who)
        return (dx,)


@register
class Softmax(_SoftmaxBase):
    """y = exp(x - max) / sum(exp(x - max)) along `axis` (default -1); shape (...) -> (...)."""

    type_name = "softmax"


@register
class LogSoftmax(_SoftmaxBase):
    """y = (x - max) - log(sum(exp(x - max))) along `axis` (default -1); shape (...) -> (...)."""

    type_name = "log_softmax"
    _log = True


# ---- registry ---------------------------------------------------------------------------------

#: Keras activation name -> op factory (keyword arguments are the activation's parameters)
ACTIVATIONS: dict[str, Callable[..., Op]] = {
    "linear": lambda: Activation("linear"),
    "relu": Relu,
    "leaky_relu": LeakyRelu,
    "elu": Elu,
    "selu": Selu,
    "gelu": Gelu,
    "sigmoid": Sigmoid,
    "hard_sigmoid": HardSigmoid,
    "tanh": Tanh,
    "softplus": Softplus,
    "softsign": Softsign,
    "swish": Swish,
    "silu": Swish,
    "relu6": Relu6,
    "hard_swish": HardSwish,
    "hard_silu": HardSwish,
    "exponential": Exponential,
    "softmax": Softmax,
    "log_softmax": LogSoftmax,
}


def get(identifier: str | Op | None, **params) -> Op:
    """The op of a Keras activation name (None means 'linear'); an Op is returned as it is."""
    if identifier is None:
        identifier = "linear"
    if isinstance(identifier, Op):
        if params:
            raise TypeError(f"activation get: parameters {sorted(params)} given with an op instance")
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(f"activation get: expected a name or an op, got {type(identifier).__name__}")
    factory = ACTIVATIONS.get(identifier)
    if factory is None:
        raise ValueError(f"unknown activation {identifier!r}; expected one of {sorted(ACTIVATIONS)}")
    try:
        return factory(**params)
    except TypeError as e:
        raise TypeError(f"activation {identifier!r}: {e}") from None


def name(op: Op | None) -> str:
    """The Keras name of an activation op ('linear' for None), e.g. for a layer's get_config."""
    if op is None:
        return "linear"
    if isinstance(op, Activation):
        return op.kind
    if isinstance(op, (Softmax, LogSoftmax)):
        return op.type_name
    raise ValueError(f"activation name: {type(op).__name__} is not an activation op")
