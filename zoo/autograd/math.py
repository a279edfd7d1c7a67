"""autograd functions over Variables (symbolic graph tensors), with Analytics Zoo's argument names.

The batch axis is axis 0, as in Analytics Zoo; negative axes count from the end (Analytics
Zoo rejected them). Broadcasting follows numpy's rules. Each function adds engine nodes,
so models built with them train with no Python in the loop.
"""

from __future__ import annotations

from zoo.engine import functional as F
from zoo.engine import graph as G
from zoo.engine.graph import Tensor
from zoo.engine.ops import activation as A
from zoo.engine.ops import elementwise as E
from zoo.engine.ops import linear as LN
from zoo.engine.ops import reduce as R
from zoo.engine.ops import shape as S

__all__ = ["Variable", "mean", "sum", "abs", "square", "sqrt", "exp", "log", "pow", "neg", "clip", "maximum",
           "minimum", "softsign", "softplus", "erf", "epsilon", "batch_dot", "l2_normalize", "mm", "stack",
           "expand_dims", "contiguous", "sigmoid", "tanh", "relu", "softmax", "log_softmax", "matmul", "concat",
           "reshape", "transpose", "where", "greater", "greater_equal", "less", "less_equal", "equal", "not_equal",
           "squeeze", "slice", "index_select"]

Variable = Tensor

EPSILON = 1e-7


def _t(x) -> Tensor:
    if hasattr(x, "as_variable"):
        return x.as_variable()
    return F.as_tensor(x)


def _keep(keepDims: bool, keepdims) -> bool:  # noqa: N803
    return bool(keepdims if keepdims is not None else keepDims)


def mean(x, axis=0, keepDims: bool = False, keepdims: bool | None = None) -> Variable:  # noqa: N803
    """Mean over `axis` (int or tuple; batch is axis 0; negative from the end)."""
    return F.reduce(_t(x), "mean", axis, _keep(keepDims, keepdims))


def sum(x, axis=0, keepDims: bool = False, keepdims: bool | None = None) -> Variable:  # noqa: A001,N803
    """Sum over `axis` (int or tuple; batch is axis 0)."""
    return F.reduce(_t(x), "sum", axis, _keep(keepDims, keepdims))


def _unary(cls, x):
    return G.apply(cls(), [_t(x)])


def abs(x) -> Variable:  # noqa: A001
    return _unary(E.Abs, x)


def square(x) -> Variable:
    return _unary(E.Square, x)


def sqrt(x) -> Variable:
    return _unary(E.Sqrt, x)


def exp(x) -> Variable:
    return _unary(E.Exp, x)


def log(x) -> Variable:
    return _unary(E.Log, x)


def erf(x) -> Variable:
    return _unary(E.Erf, x)


def neg(x) -> Variable:
    return _unary(E.Neg, x)


def pow(x, a) -> Variable:  # noqa: A001
    """x ** a (a a number or a Variable)."""
    return F.pow(_t(x), a if isinstance(a, (int, float)) else _t(a))


def clip(x, min, max) -> Variable:  # noqa: A002
    """Clamp to [min, max] (gradient passes inside, bounds included)."""
    return G.apply(E.Clip(min, max), [_t(x)])


def maximum(x, y) -> Variable:
    """Elementwise max; y may be a number (then it is a lower clip)."""
    if isinstance(y, (int, float)):
        return G.apply(E.Clip(float(y), None), [_t(x)])
    return F.maximum(_t(x), _t(y))


def minimum(x, y) -> Variable:
    if isinstance(y, (int, float)):
        return G.apply(E.Clip(None, float(y)), [_t(x)])
    return F.minimum(_t(x), _t(y))


def softsign(x) -> Variable:
    return F.activation(_t(x), "softsign")


def softplus(x) -> Variable:
    return F.activation(_t(x), "softplus")


def sigmoid(x) -> Variable:
    return F.activation(_t(x), "sigmoid")


def tanh(x) -> Variable:
    return F.activation(_t(x), "tanh")


def relu(x) -> Variable:
    return F.activation(_t(x), "relu")


def softmax(x, axis: int = -1) -> Variable:
    return G.apply(A.Softmax(axis), [_t(x)])


def log_softmax(x, axis: int = -1) -> Variable:
    return G.apply(A.LogSoftmax(axis), [_t(x)])


def epsilon() -> float:
    """The fuzz constant 1e-7 (a number: it combines with Variables through scalar ops)."""
    return EPSILON


def l2_normalize(x, axis: int = -1) -> Variable:
    """x / sqrt(max(sum(x^2, axis), eps)) along `axis`."""
    return G.apply(R.L2Normalize(axis, eps=1e-12), [_t(x)])


def matmul(x, y, transpose_a: bool = False, transpose_b: bool = False) -> Variable:
    """Batched matrix product with numpy broadcasting of leading axes."""
    return G.apply(LN.MatMul(transpose_a, transpose_b), [_t(x), _t(y)])


def mm(x, y, axes=None) -> Variable:
    """Batched matrix product of two rank-2/3/4 Variables; `axes` = (ax, ay) picks the contracted
    axes of x and y (each one of the last two), which sets the transposes."""
    x, y = _t(x), _t(y)
    rx, ry = len(x.shape), len(y.shape)
    if axes is None:
        return matmul(x, y)
    ax, ay = (int(axes[0]) % rx, int(axes[1]) % ry)
    if ax not in (rx - 1, rx - 2) or ay not in (ry - 1, ry - 2):
        raise ValueError(f"mm: axes must pick one of the last two axes of each input, got {axes} for shapes "
                         f"{x.shape} and {y.shape}")
    return matmul(x, y, transpose_a=ax == rx - 2, transpose_b=ay == ry - 1)


def batch_dot(x, y, axes=1, normalize: bool = False) -> Variable:
    """Per-sample dot product. Rank 2: sum(x*y, axis=1, keepdims) -> (batch, 1); rank 3: batched
    matrix product contracting `axes`. normalize=True L2-normalises the contracted axes first (cosine)."""
    x, y = _t(x), _t(y)
    ax = axes if isinstance(axes, (list, tuple)) else (axes, axes)
    if normalize:
        x = l2_normalize(x, ax[0])
        y = l2_normalize(y, ax[1])
    if len(x.shape) == 2 and len(y.shape) == 2:
        return F.reduce(x * y, "sum", 1, True)
    return mm(x, y, axes=ax)


def expand_dims(x, axis: int) -> Variable:
    return G.apply(S.ExpandDims(axis), [_t(x)])


def squeeze(x, axis) -> Variable:
    return G.apply(S.Squeeze(axis), [_t(x)])


def stack(inputs, axis: int = 1) -> Variable:
    """Stack Variables of one shape along a new `axis`."""
    return G.apply(S.Stack(axis), [_t(v) for v in inputs])


def concat(inputs, axis: int = -1) -> Variable:
    return F.concat([_t(v) for v in inputs], axis)


def reshape(x, shape) -> Variable:
    """Reshape each sample to `shape` (batch axis excluded; one -1 allowed)."""
    return F.reshape(_t(x), (0,) + tuple(shape))


def transpose(x, perm) -> Variable:
    """Permute axes (perm includes the batch axis 0)."""
    return F.transpose(_t(x), perm)


def contiguous(x) -> Variable:
    """Engine outputs are always contiguous: the identity, kept for Analytics Zoo code."""
    return _t(x)


def where(cond, x, y) -> Variable:
    """x where cond is nonzero, else y (no gradient to cond)."""
    return G.apply(E.Where(), [_t(cond), _t(x), _t(y)])


def greater(x, y) -> Variable:
    return F.compare(_t(x), y if isinstance(y, (int, float)) else _t(y), "greater")


def greater_equal(x, y) -> Variable:
    return F.compare(_t(x), y if isinstance(y, (int, float)) else _t(y), "greater_equal")


def less(x, y) -> Variable:
    return F.compare(_t(x), y if isinstance(y, (int, float)) else _t(y), "less")


def less_equal(x, y) -> Variable:
    return F.compare(_t(x), y if isinstance(y, (int, float)) else _t(y), "less_equal")


def equal(x, y) -> Variable:
    return F.compare(_t(x), y if isinstance(y, (int, float)) else _t(y), "equal")


def not_equal(x, y) -> Variable:
    return F.compare(_t(x), y if isinstance(y, (int, float)) else _t(y), "not_equal")


def slice(x, dim: int, start_index: int, length: int) -> Variable:  # noqa: A001
    """Analytics Zoo's Variable.slice (Narrow): `length` entries of axis `dim` from `start_index`."""
    return _t(x).slice(dim, start_index, length)


def index_select(x, dim: int, index: int) -> Variable:
    """Analytics Zoo's Variable.index_select (Select): entry `index` of axis `dim`, axis dropped."""
    return _t(x).index_select(dim, index)
