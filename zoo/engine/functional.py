"""Functional front of the engine ops: build graph nodes from tensors, parameters and numbers.

Keras layers and autograd compose these; each call adds one node (named automatically
inside the current `graph.name_scope`, or `name=`). Parameters become their (shared)
parameter nodes, numpy arrays become constants, and Python numbers pick the scalar ops.
"""

from __future__ import annotations

import numpy as np

from zoo.engine import graph as G
from zoo.engine.graph import Tensor
from zoo.engine.ops import elementwise as E
from zoo.engine.ops import linear as LN
from zoo.engine.ops import reduce as R
from zoo.engine.ops import shape as S
from zoo.engine.params import Parameter

__all__ = ["as_tensor", "linear", "matmul", "conv2d", "conv1d", "max_pool", "avg_pool", "activation", "softmax", "bias_act",
           "log_softmax", "batch_norm", "dropout", "reshape", "flatten", "transpose", "concat", "split", "add",
           "sub", "mul", "div", "add_n", "mul_scalar", "maximum", "minimum", "reduce", "neg", "pow"]


def as_tensor(v) -> Tensor:
    """A graph tensor from a Tensor, a Parameter or an array (a constant)."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, Parameter):
        return G.parameter(v)
    if hasattr(v, "as_variable"):  # autograd.Parameter and other tensor-like leaves
        return v.as_variable()
    if isinstance(v, (np.ndarray, list, tuple, float, int)):
        return G.constant(np.asarray(v, dtype=np.float32))
    raise TypeError(f"expected a graph Tensor, Parameter or array, got {type(v).__name__}")


def _apply(op, inputs, name=None):
    return G.apply(op, [as_tensor(v) for v in inputs], name=name)


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


# ---- products ------------------------------------------------------------------------------

def linear(x, w, b=None, name=None) -> Tensor:
    """x @ w (+ b) over the last axis of x."""
    return _apply(LN.Linear(), [x, w] if b is None else [x, w, b], name)


def matmul(a, b, transpose_a: bool = False, transpose_b: bool = False, name=None) -> Tensor:
    return _apply(LN.MatMul(transpose_a, transpose_b), [a, b], name)


def conv2d(x, w, b=None, strides=1, padding="valid", dilation=1, groups: int = 1, name=None) -> Tensor:
    """2-D convolution of NCHW x with w (O, C/groups, KH, KW) (+ b (O,))."""
    from zoo.engine.ops.conv import Conv2D

    return _apply(Conv2D(strides, padding, dilation, groups), [x, w] if b is None else [x, w, b], name)


def conv1d(x, w, b=None, strides=1, padding="valid", dilation=1, groups: int = 1, name=None) -> Tensor:
    """1-D convolution of NCL x with w (O, C/groups, K) (+ b (O,))."""
    from zoo.engine.ops.conv import Conv1D

    return _apply(Conv1D(strides, padding, dilation, groups), [x, w] if b is None else [x, w, b], name)


# ---- pooling --------------------------------------------------------------------------------

def _pool(kind, x, pool_size, strides, padding, ceil_mode=False, count_include_pad=False, name=None):
    from zoo.engine.ops import pool as P

    rank = len(as_tensor(x).shape) - 2
    if rank == 1:
        op = (P.MaxPool1D(pool_size[0], strides[0], padding, ceil_mode=ceil_mode) if kind == "max" else
              P.AvgPool1D(pool_size[0], strides[0], padding, ceil_mode=ceil_mode,
                          count_include_pad=count_include_pad))
    else:
        op = (P.MaxPool2D(pool_size, strides, padding, ceil_mode=ceil_mode) if kind == "max" else
              P.AvgPool2D(pool_size, strides, padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad))
    return _apply(op, [x], name)


def max_pool(x, pool_size, strides, padding="valid", ceil_mode: bool = False, name=None) -> Tensor:
    """Max pooling over the spatial axes of an NC... tensor (1-D or 2-D)."""
    return _pool("max", x, pool_size, strides, padding, ceil_mode, name=name)


def avg_pool(x, pool_size, strides, padding="valid", ceil_mode: bool = False, count_include_pad: bool = False,
             name=None) -> Tensor:
    """Average pooling over the spatial axes of an NC... tensor (1-D or 2-D)."""
    return _pool("avg", x, pool_size, strides, padding, ceil_mode, count_include_pad, name)


# ---- activations and normalization -------------------------------------------------------------

def activation(x, kind: str, name=None, **params) -> Tensor:
    """An activation by engine kind ('relu', 'sigmoid', 'softmax', ...)."""
    from zoo.engine.ops import activation as A

    return _apply(A.get(kind, **params), [x], name)


FUSABLE = {"linear", "relu", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "hard_sigmoid", "tanh", "softplus",
           "softsign", "swish", "silu", "relu6", "hard_swish", "hard_silu", "exponential"}


def bias_act(x, b, kind: str = "linear", axis: int = -1, name=None, **params) -> Tensor:
    """act(x + b) with b (C,) broadcast along `axis`, in one fused pass (kinds in FUSABLE)."""
    from zoo.engine.ops import activation as A

    return _apply(A.BiasAct(kind, axis, **params), [x, b], name)


def softmax(x, axis: int = -1, name=None) -> Tensor:
    from zoo.engine.ops import activation as A

    return _apply(A.Softmax(axis), [x], name)


def log_softmax(x, axis: int = -1, name=None) -> Tensor:
    from zoo.engine.ops import activation as A

    return _apply(A.LogSoftmax(axis), [x], name)


def batch_norm(x, gamma, beta, mean, var, axis: int = 1, momentum: float = 0.99, epsilon: float = 1e-3,
               name=None) -> Tensor:
    """Batch normalization over channel `axis`; mean/var are state parameters updated in training."""
    from zoo.engine.ops import norm as N

    return _apply(N.BatchNorm(axis=axis, momentum=momentum, epsilon=epsilon), [x, gamma, beta, mean, var], name)


def dropout(x, rate: float, noise_shape=None, name=None) -> Tensor:
    from zoo.engine.ops import norm as N

    return _apply(N.Dropout(rate, noise_shape=noise_shape), [x], name)


# ---- shapes ---------------------------------------------------------------------------------

def reshape(x, target_shape, name=None) -> Tensor:
    """Reshape with the batch axis in `target_shape` (0 copies an input axis, one -1 is inferred)."""
    return _apply(S.Reshape(target_shape), [x], name)


def flatten(x, start_axis: int = 1, name=None) -> Tensor:
    return _apply(S.Flatten(start_axis), [x], name)


def transpose(x, perm, name=None) -> Tensor:
    return _apply(S.Transpose(perm), [x], name)


def concat(xs, axis: int = -1, name=None) -> Tensor:
    return _apply(S.Concat(axis), list(xs), name)


def split(x, axis: int = -1, sizes=None, n: int | None = None, name=None):
    return _apply(S.Split(axis, sizes=sizes, n=n), [x], name)


# ---- arithmetic -----------------------------------------------------------------------------

def add(a, b, name=None) -> Tensor:
    if _is_number(b):
        return _apply(E.AddScalar(b), [a], name)
    if _is_number(a):
        return _apply(E.AddScalar(a), [b], name)
    return _apply(E.Add(), [a, b], name)


def sub(a, b, name=None) -> Tensor:
    if _is_number(b):
        return _apply(E.AddScalar(-float(b)), [a], name)
    if _is_number(a):
        return _apply(E.RSubScalar(a), [b], name)
    return _apply(E.Sub(), [a, b], name)


def mul(a, b, name=None) -> Tensor:
    if _is_number(b):
        return _apply(E.MulScalar(b), [a], name)
    if _is_number(a):
        return _apply(E.MulScalar(a), [b], name)
    return _apply(E.Mul(), [a, b], name)


def div(a, b, name=None) -> Tensor:
    if _is_number(b):
        return _apply(E.DivScalar(b), [a], name)
    if _is_number(a):
        return _apply(E.RDivScalar(a), [b], name)
    return _apply(E.Div(), [a, b], name)


def pow(a, b, name=None) -> Tensor:  # noqa: A001
    if _is_number(b):
        return _apply(E.PowScalar(b), [a], name)
    if _is_number(a):
        return _apply(E.RPowScalar(a), [b], name)
    return _apply(E.Pow(), [a, b], name)


def neg(x, name=None) -> Tensor:
    return _apply(E.Neg(), [x], name)


def mul_scalar(x, c: float, name=None) -> Tensor:
    return _apply(E.MulScalar(c), [x], name)


def add_n(xs, name=None) -> Tensor:
    return _apply(E.AddN(), list(xs), name)


def maximum(a, b, name=None) -> Tensor:
    return _apply(E.Maximum(), [a, b], name)


def minimum(a, b, name=None) -> Tensor:
    return _apply(E.Minimum(), [a, b], name)


# ---- reductions -----------------------------------------------------------------------------

_REDUCERS = {"sum": R.Sum, "mean": R.Mean, "max": R.Max, "min": R.Min}


def reduce(x, kind: str, axis=None, keepdims: bool = False, name=None) -> Tensor:
    """Sum, mean, max or min over `axis` (None: all)."""
    if kind not in _REDUCERS:
        raise ValueError(f"reduce: kind must be one of {sorted(_REDUCERS)}, got {kind!r}")
    return _apply(_REDUCERS[kind](axis, keepdims), [x], name)


# ---- comparisons and indexing (Tensor operators) -----------------------------------------------

_COMPARE = {"greater": E.Greater, "greater_equal": E.GreaterEqual, "less": E.Less, "less_equal": E.LessEqual,
            "equal": E.Equal, "not_equal": E.NotEqual}


def compare(a, b, kind: str, name=None) -> Tensor:
    """A float 0/1 mask of `a <kind> b` (no gradient); b may be a number."""
    cls = _COMPARE[kind]
    if _is_number(b):
        return _apply(cls(scalar=b), [a], name)
    return _apply(cls(), [a, b], name)


def getitem(x, index, name=None) -> Tensor:
    """numpy-style basic indexing (ints, slices, Ellipsis) including the batch axis 0."""
    return _apply(S.GetItem(index if isinstance(index, tuple) else (index,)), [x], name)


# ---- misc layers: any op, layer normalization (ops/misc/) ----------------------------------------


def apply_op(op, inputs, name=None):
    """A node applying the engine op `op` to `inputs` (tensors, parameters or arrays)."""
    return _apply(op, list(inputs), name)


def layer_norm(x, gamma=None, beta=None, axis=-1, epsilon: float = 1e-3, name=None) -> Tensor:
    """(x - mean) / sqrt(var + epsilon) * gamma + beta over `axis` (gamma/beta shaped like x on `axis`)."""
    from zoo.engine.ops.misc import LayerNorm

    ins = [x] + ([gamma] if gamma is not None else []) + ([beta] if beta is not None else [])
    return _apply(LayerNorm(axis, epsilon, center=beta is not None, scale=gamma is not None), ins, name)
