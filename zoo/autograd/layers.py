"""Lambda layers, trainable Parameters and Constants for autograd expressions."""

from __future__ import annotations

from typing import ClassVar

import ast
import inspect
import textwrap

import numpy as np

from zoo.engine import graph as G
from zoo.engine.graph import Tensor
from zoo.keras import initializers
from zoo.keras.layers.base import Layer

__all__ = ["Lambda", "Parameter", "Constant", "function_source", "load_function"]


def function_source(fn) -> str:
    """The source of a function or lambda, as an expression or `def` that `load_function` can rebuild."""
    try:
        src = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as e:
        raise ValueError(f"cannot save function {getattr(fn, '__name__', fn)!r}: its source is not available "
                         f"({e}); define it in a file") from None
    if fn.__name__ != "<lambda>":
        return src
    try:
        tree = ast.parse(src)
    except SyntaxError:
        tree = ast.parse("(" + src.strip().rstrip(",") + ")") if src else None
        src = "(" + src.strip().rstrip(",") + ")"
    lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
    code = fn.__code__
    argnames = list(code.co_varnames[:code.co_argcount])
    for node in lambdas:
        if [a.arg for a in node.args.args] == argnames:
            return ast.get_source_segment(src, node)
    if lambdas:
        return ast.get_source_segment(src, lambdas[0])
    raise ValueError("cannot find the lambda's source")


def load_function(source: str, custom_objects: dict | None = None):
    """Rebuild a function from `function_source` text. This executes the text: callers must only
    do so when the user allowed it (safe_mode=False)."""
    import zoo.autograd as autograd

    namespace = {name: getattr(autograd, name) for name in autograd.__all__}
    namespace.update({"np": np, "numpy": np, "A": autograd, "autograd": autograd})
    namespace.update(custom_objects or {})
    src = source.strip()
    if src.startswith("lambda"):
        return eval(src, namespace)  # noqa: S307 - only with safe_mode=False
    before = set(namespace)
    exec(src, namespace)  # noqa: S102 - only with safe_mode=False
    made = [namespace[k] for k in namespace if k not in before and callable(namespace[k])]
    if not made:
        raise ValueError("the saved function source defines no function")
    return made[-1]


class Lambda(Layer):
    """A layer from a Python function of Variables, traced into engine nodes when called.

    With several inputs the function gets one argument per input (Analytics Zoo), or the list
    if it takes exactly one argument (Keras). `output_shape` (without the batch axis) is checked
    against the traced shape, and fills unknown sizes.
    Saving stores the function's source; loading it needs `safe_mode=False`.
    Example:
        >>> from zoo.keras.layers import Input
        >>> Lambda(lambda x: x + 1.0)(Input((3,))).shape
        (None, 3)
    """

    unsafe_to_load = True

    def __init__(self, function, output_shape=None, arguments: dict | None = None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda '{self.name}': function must be callable, got {type(function).__name__}")
        self.function = function
        self.output_shape_arg = None if output_shape is None else tuple(output_shape)
        self.arguments = dict(arguments or {})

    def call(self, x):
        xs = x if isinstance(x, list) else [x]
        try:
            n_params = len([p for p in inspect.signature(self.function).parameters.values()
                            if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY,
                                                                                     p.POSITIONAL_OR_KEYWORD)])
        except (TypeError, ValueError):
            n_params = len(xs)
        if len(xs) > 1 and n_params == 1:
            out = self.function(xs, **self.arguments)
        else:
            out = self.function(*xs, **self.arguments)
        outs = out if isinstance(out, (list, tuple)) else [out]
        for o in outs:
            if not isinstance(o, Tensor):
                raise self.error(f"the function must return Variables (graph tensors), got {type(o).__name__}")
        if self.output_shape_arg is not None and len(outs) == 1:
            got = outs[0].shape[1:]
            want = self.output_shape_arg
            if len(got) != len(want) or any(g is not None and w is not None and g != w for g, w in zip(got, want)):
                raise self.error(f"output_shape {want} does not match the traced shape {got}")
            outs[0].shape = (outs[0].shape[0],) + tuple(g if g is not None else w for g, w in zip(got, want))
        elif len(outs) == 1 and any(d is None for d in outs[0].shape[1:]):
            raise self.error(f"cannot infer the output shape (traced {outs[0].shape}); give output_shape")
        return out

    def get_config(self):
        return {**super().get_config(), "function": function_source(self.function),
                "output_shape": None if self.output_shape_arg is None else list(self.output_shape_arg),
                "arguments": self.arguments}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: bool = True):
        config = dict(config)
        fn = config.pop("function")
        if isinstance(fn, str):
            if safe_mode:
                raise ValueError(f"Lambda '{config.get('name')}': loading it runs the Python code saved with it "
                                 f"({fn[:60]!r}); pass safe_mode=False to load_model if you trust the file")
            fn = load_function(fn, custom_objects)
        return cls(fn, **config)


class Parameter(Layer):
    """A trainable (or frozen) weight usable as a Variable in expressions and Lambdas.

    Args:
        shape: full shape (no batch axis). init_method: initializer name or object
            (default uniform in [-0.05, 0.05]). init_weight: initial array (overrides init_method).
    """

    _config_names: ClassVar[dict] = {"weight_init": "init_method"}

    def __init__(self, shape, init_method=None, init_weight=None, trainable: bool = True, name=None, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self.shape = tuple(int(s) for s in shape)
        self.weight_init = initializers.get(init_method if init_method is not None else "uniform")
        self.weight = self.add_weight("weight", self.shape, self.weight_init, trainable=True)
        if init_weight is not None:
            self.set_weight(init_weight)
        self.built = True
        self._var = G.parameter(self.weight)
        self._var.node.tag = self
        self.inbound.append(([], [self._var]))

    def as_variable(self) -> Tensor:
        return self._var

    def get_weight(self) -> np.ndarray:
        return self.weight.value.copy()

    def set_weight(self, value) -> None:
        self.weight.set(np.asarray(value, dtype=np.float32))

    def get_config(self):
        return {**super().get_config(), "shape": list(self.shape)}

    def __getattr__(self, item):
        # Variable behaviour (operators, .shape handled above) through the parameter's tensor
        if item.startswith("__") or item in ("_var", "weight"):
            raise AttributeError(item)
        return getattr(self.__dict__["_var"], item)

    for _op in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
                "__rtruediv__", "__pow__", "__neg__", "__getitem__", "__gt__", "__lt__", "__ge__", "__le__"):
        locals()[_op] = (lambda name: lambda self, *a: getattr(self._var, name)(*a))(_op)
    del _op


def Constant(data, name: str | None = None) -> Tensor:
    """A fixed, non-trainable Variable holding `data` (float32)."""
    return G.constant(np.asarray(data, dtype=np.float32), name=name)
