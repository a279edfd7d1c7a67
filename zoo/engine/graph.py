"""Static graphs of uniquely named nodes, and their executor with reverse-mode autodiff.

Build symbolically, then compile once:

    >>> import numpy as np
    >>> from zoo.engine import graph as G, ops
    >>> from zoo.engine.graph import Executor, Graph, Parameter
    >>> x = G.input((None, 3), name="x")
    >>> w = G.parameter(Parameter("w", np.ones((3, 2))))
    >>> y = G.apply(ops.MatMul(), [x, w], name="y")
    >>> y.shape
    (None, 2)
    >>> exe = Executor(Graph([x], [y]))
    >>> exe.forward([np.ones((4, 3), np.float32)])[0].tolist()[0]
    [3.0, 3.0]

The executor turns the graph into a flat plan of (op, input slots, output slots, ctx)
steps over a list of value slots: no graph walking, dict lookups or shape inference per
step. `backward` runs the plan in reverse, skips nodes with no trainable parameter
upstream, and adds parameter gradients into the flat gradient buffer, so a weight used
twice gets the sum.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from contextlib import contextmanager

import numpy as np

from zoo.engine.ops.base import Ctx, Op
from zoo.engine.params import Parameter, ParamStore

__all__ = ["Tensor", "Node", "Graph", "Executor", "input", "parameter", "constant", "apply", "unique_name",
           "name_scope", "Parameter"]

_counters: dict[str, itertools.count] = defaultdict(lambda: itertools.count(1))
_scopes: list[str] = []
_NAME = re.compile(r"^[A-Za-z0-9_.\-/:]+$")


def unique_name(prefix: str) -> str:
    """`prefix_1`, `prefix_2`, ... unique within this process (inside the current name scope)."""
    if _scopes:
        prefix = f"{_scopes[-1]}/{prefix}"
    return f"{prefix}_{next(_counters[prefix])}"


@contextmanager
def name_scope(scope: str):
    """Automatic node names made inside get the prefix `scope/` (e.g. a layer's name)."""
    _scopes.append(scope)
    try:
        yield
    finally:
        _scopes.pop()


def _fmt(shape) -> str:
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


class Tensor:
    """A symbolic value: output `index` of `node`, with a static shape (None = unknown size)."""

    __slots__ = ("node", "index", "shape", "dtype")

    def __init__(self, node: Node, index: int, shape: tuple, dtype=np.float32):
        self.node = node
        self.index = index
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    @property
    def name(self) -> str:
        return self.node.name if len(self.node.outputs) <= 1 else f"{self.node.name}:{self.index}"

    def __repr__(self) -> str:
        return f"<Tensor {self.name} shape={_fmt(self.shape)}>"

    # Arithmetic builds graph nodes (autograd's Variable is this class). Equality stays identity.
    def __add__(self, o):
        return _F().add(self, o)

    def __radd__(self, o):
        return _F().add(o, self)

    def __sub__(self, o):
        return _F().sub(self, o)

    def __rsub__(self, o):
        return _F().sub(o, self)

    def __mul__(self, o):
        return _F().mul(self, o)

    def __rmul__(self, o):
        return _F().mul(o, self)

    def __truediv__(self, o):
        return _F().div(self, o)

    def __rtruediv__(self, o):
        return _F().div(o, self)

    def __pow__(self, o):
        return _F().pow(self, o)

    def __rpow__(self, o):
        return _F().pow(o, self)

    def __neg__(self):
        return _F().neg(self)

    def __gt__(self, o):
        return _F().compare(self, o, "greater")

    def __ge__(self, o):
        return _F().compare(self, o, "greater_equal")

    def __lt__(self, o):
        return _F().compare(self, o, "less")

    def __le__(self, o):
        return _F().compare(self, o, "less_equal")

    __hash__ = object.__hash__

    def __getitem__(self, index):
        return _F().getitem(self, index)

    def slice(self, dim: int, start_index: int, length: int) -> Tensor:
        """`length` entries of axis `dim` from `start_index` (Analytics Zoo's Narrow; -1: to the end)."""
        from zoo.engine.ops.shape import Slice

        stop = None if length == -1 else start_index + length
        return apply(Slice(dim, start_index, stop), [self])

    def index_select(self, dim: int, index: int) -> Tensor:
        """Entry `index` of axis `dim`, the axis dropped (Analytics Zoo's Select)."""
        items: list = [slice(None)] * len(self.shape)
        items[dim % len(self.shape)] = int(index)
        return _F().getitem(self, tuple(items))

    def squeeze(self, dim=None) -> Tensor:
        """Drop axis `dim` (or every size-1 axis but the batch axis) of size 1."""
        from zoo.engine.ops.shape import Squeeze

        if dim is None:
            dim = tuple(i for i, s in enumerate(self.shape) if s == 1 and i > 0)
        return apply(Squeeze(dim), [self])

    def get_output_shape(self) -> tuple:
        return self.shape


def _F():
    from zoo.engine import functional

    return functional


class Node:
    """A graph node: an op applied to tensors, or a leaf ('input', 'param', 'state', 'const')."""

    __slots__ = ("name", "kind", "op", "inputs", "outputs", "parameter", "value", "tag")

    def __init__(self, name: str, kind: str, op: Op | None = None, inputs=(), parameter=None, value=None):
        self.name = name
        self.tag = None  # whatever built the node (e.g. the Keras layer), for introspection
        self.kind = kind
        self.op = op
        self.inputs: list[Tensor] = list(inputs)
        self.outputs: list[Tensor] = []
        self.parameter: Parameter | None = parameter
        self.value = value

    def describe(self) -> str:
        kind = type(self.op).__name__ if self.op is not None else self.kind
        return f"{kind} '{self.name}'"

    def __repr__(self) -> str:
        return f"<Node {self.describe()}>"


def _check_name(name: str | None, prefix: str) -> str:
    if name is None:
        return unique_name(prefix)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"node name must be a non-empty string of letters, digits and _.-/:, got {name!r}")
    return name


def input(shape, name: str | None = None, dtype=np.float32) -> Tensor:  # noqa: A001
    """A graph input; `shape` includes the batch axis (usually None)."""
    shape = tuple(shape)
    for s in shape:
        if s is not None and (not isinstance(s, (int, np.integer)) or s < 0):
            raise ValueError(f"input {name!r}: shape must hold non-negative ints or None, got {shape}")
    node = Node(_check_name(name, "input"), "input")
    t = Tensor(node, 0, shape, dtype)
    node.outputs = [t]
    return t


def parameter(p: Parameter) -> Tensor:
    """The graph node of a parameter (one per parameter, so using it twice shares it)."""
    if p._node is None:
        node = Node(_check_name(p.name, "param"), p.kind, parameter=p)
        node.outputs = [Tensor(node, 0, p.shape)]
        p._node = node
    return p._node.outputs[0]


def constant(value, name: str | None = None) -> Tensor:
    """A fixed float32 array in the graph."""
    value = np.ascontiguousarray(value, dtype=np.float32)
    node = Node(_check_name(name, "const"), "const", value=value)
    node.outputs = [Tensor(node, 0, value.shape)]
    return node.outputs[0]


def apply(op: Op, inputs, name: str | None = None):
    """Add a node applying `op` to `inputs`; returns its output tensor (a tuple if several).

    Shape errors are raised here, at build time, prefixed with the op and node name.
    """
    inputs = list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{type(op).__name__}: input {i} must be a graph Tensor, got {type(t).__name__}")
    name = _check_name(name, op.type_name or type(op).__name__.lower())
    try:
        shape = op.infer_shape(*[t.shape for t in inputs])
    except ValueError as e:
        raise ValueError(f"{type(op).__name__} '{name}': {e}") from None
    node = Node(name, "op", op=op, inputs=inputs)
    if op.n_outputs == 1:
        node.outputs = [Tensor(node, 0, shape)]
        return node.outputs[0]
    node.outputs = [Tensor(node, i, s) for i, s in enumerate(shape)]
    return tuple(node.outputs)


class Graph:
    """The nodes between `inputs` and `outputs`, in topological order, with unique names."""

    def __init__(self, inputs, outputs):
        self.inputs: list[Tensor] = list(inputs)
        self.outputs: list[Tensor] = list(outputs)
        order: list[Node] = []
        state: dict[int, int] = {}
        for t in self.outputs:
            if not isinstance(t, Tensor):
                raise TypeError(f"Graph outputs must be Tensors, got {type(t).__name__}")
            stack = [(t.node, False)]
            while stack:
                node, done = stack.pop()
                if done:
                    if state[id(node)] == 1:
                        state[id(node)] = 2
                        order.append(node)
                    continue
                s = state.get(id(node), 0)
                if s == 2:
                    continue
                if s == 1:
                    continue
                state[id(node)] = 1
                stack.append((node, True))
                for inp in reversed(node.inputs):
                    if state.get(id(inp.node), 0) == 0:
                        stack.append((inp.node, False))
        self.nodes = order
        names: dict[str, Node] = {}
        for n in order:
            if n.name in names and names[n.name] is not n:
                raise ValueError(f"Graph: node name {n.name!r} is used by two nodes ({names[n.name].describe()} and "
                                 f"{n.describe()}); give them unique names")
            names[n.name] = n
        self._by_name = names
        input_ids = {id(t.node) for t in self.inputs}
        for t in self.inputs:
            if not isinstance(t, Tensor) or t.node.kind != "input":
                raise TypeError(f"Graph inputs must be tensors made by input(), got {t!r}")
        for n in order:
            if n.kind == "input" and id(n) not in input_ids:
                raise ValueError(f"Graph: output depends on input '{n.name}', which is not among the graph's "
                                 f"inputs {[t.name for t in self.inputs]}")
        self.parameters: list[Parameter] = [n.parameter for n in order if n.kind in ("param", "state")]

    def node(self, name: str) -> Node:
        """The node called `name`; the error lists the names there are."""
        try:
            return self._by_name[name]
        except KeyError:
            raise ValueError(f"Graph: no node named {name!r}; nodes: {[n.name for n in self.nodes]}") from None

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]


class Executor:
    """Runs a Graph forward and backward over preallocated slots; see the module docstring."""

    def __init__(self, graph: Graph, store: ParamStore | None = None, seed: int = 0):
        self.graph = graph
        self.store = store if store is not None else ParamStore.for_params(graph.parameters)
        slot_of: dict[tuple[int, int], int] = {}
        self._leaf_values: list[tuple[int, Node]] = []
        n_slots = 0
        for node in graph.nodes:
            for t in node.outputs:
                slot_of[(id(node), t.index)] = n_slots
                n_slots += 1
        self.n_slots = n_slots
        self.input_slots = [slot_of[(id(t.node), 0)] for t in graph.inputs]
        self.output_slots = [slot_of[(id(t.node), t.index)] for t in graph.outputs]
        self.param_slots: list[tuple[int, Parameter]] = []
        self.const_slots: list[tuple[int, np.ndarray]] = []
        self.plan: list[tuple[Node, Op, list[int], list[int], Ctx]] = []
        for i, node in enumerate(graph.nodes):
            s = slot_of[(id(node), 0)] if node.outputs else -1
            if node.kind in ("param", "state"):
                if node.parameter.store is not self.store:
                    raise ValueError(f"Executor: parameter {node.name!r} belongs to another ParamStore")
                self.param_slots.append((s, node.parameter))
            elif node.kind == "const":
                self.const_slots.append((s, node.value))
            elif node.kind == "op":
                ins = [slot_of[(id(t.node), t.index)] for t in node.inputs]
                outs = [slot_of[(id(node), t.index)] for t in node.outputs]
                self.plan.append((node, node.op, ins, outs, Ctx(node.name, n_inputs=len(ins))))
        self.seed(seed)
        self._grad_version = -1
        self._with_input_grads = False
        self.slots: list = [None] * n_slots

    def seed(self, seed: int) -> None:
        """Reseed every node's RNG (dropout, noise) from `seed`."""
        ss = np.random.SeedSequence(seed)
        for (_, _, _, _, ctx), child in zip(self.plan, ss.spawn(len(self.plan))):
            ctx.rng = np.random.default_rng(child)

    # ---- forward ------------------------------------------------------------------------

    def _check_feeds(self, feeds) -> None:
        if len(feeds) != len(self.input_slots):
            raise ValueError(f"Executor: expected {len(self.input_slots)} inputs "
                             f"{[t.name for t in self.graph.inputs]}, got {len(feeds)}")
        batch = None
        for t, x in zip(self.graph.inputs, feeds):
            if not isinstance(x, np.ndarray):
                raise TypeError(f"input '{t.name}': expected a numpy array, got {type(x).__name__}")
            if x.ndim != len(t.shape) or any(s is not None and s != d for s, d in zip(t.shape, x.shape)):
                raise ValueError(f"input '{t.name}': expected shape {_fmt(t.shape)}, got {_fmt(x.shape)}")
            if t.dtype.kind == "f":
                if x.dtype != t.dtype:
                    raise TypeError(f"input '{t.name}': expected dtype {t.dtype}, got {x.dtype}")
            elif x.dtype.kind not in "iu":
                raise TypeError(f"input '{t.name}': expected an integer array, got dtype {x.dtype}")
            if x.ndim and t.shape and t.shape[0] is None:
                if batch is not None and x.shape[0] != batch:
                    raise ValueError(f"input '{t.name}': batch size {x.shape[0]} differs from the other "
                                     f"inputs' {batch}")
                batch = x.shape[0]

    def forward(self, feeds, training: bool = False, check: bool = True) -> list[np.ndarray]:
        """Run the graph; returns the output arrays (they may be reused by the next call)."""
        if check:
            self._check_feeds(feeds)
        slots = self.slots
        for s, x in zip(self.input_slots, feeds):
            slots[s] = x
        for s, p in self.param_slots:
            slots[s] = p._value
        for s, v in self.const_slots:
            slots[s] = v
        for node, op, ins, outs, ctx in self.plan:
            ctx.training = training
            y = op.forward(ctx, *[slots[i] for i in ins])
            if len(outs) == 1:
                slots[outs[0]] = y
            else:
                for o, v in zip(outs, y):
                    slots[o] = v
        return [slots[s] for s in self.output_slots]

    def predict(self, feeds, batch_size: int, check: bool = True) -> list[np.ndarray]:
        """Inference over `feeds` in batches of `batch_size`; one concatenated copy per output."""
        n = len(feeds[0]) if feeds else 0
        chunks: list[list[np.ndarray]] = [[] for _ in self.output_slots]
        for start in range(0, n, batch_size):
            outs = self.forward([a[start:start + batch_size] for a in feeds], training=False, check=check)
            for c, o in zip(chunks, outs):
                c.append(np.array(o, copy=True))
        return [np.concatenate(c) if c else np.zeros((0,) + tuple(t.shape[1:]), np.float32)
                for c, t in zip(chunks, self.graph.outputs)]

    # ---- backward -----------------------------------------------------------------------

    def _prepare_backward(self, input_grads: bool) -> None:
        """Which slots need a gradient: those downstream of a trainable parameter (or of an input)."""
        need = [False] * self.n_slots
        for s, p in self.param_slots:
            need[s] = p.kind == "param" and p.trainable
        if input_grads:
            for s in self.input_slots:
                need[s] = True
        steps = []
        for node, op, ins, outs, ctx in self.plan:
            flags = tuple(need[i] and j not in op.nondiff_inputs for j, i in enumerate(ins))
            ctx.needs_grad = flags
            if any(flags):
                for o in outs:
                    need[o] = True
                steps.append((op, ins, outs, ctx, flags))
        self._backward_steps = steps[::-1]
        self._param_grad_slots = [(s, p) for s, p in self.param_slots if p.kind == "param" and p.trainable]
        self._grad_views = [p.grad for _, p in self._param_grad_slots]
        self._grad_version = self.store.version
        self._with_input_grads = input_grads

    def backward(self, output_grads, grad: np.ndarray | None = None, input_grads: bool = False,
                 accumulate: bool = False):
        """Back-propagate `output_grads` (one per output, None for none) from the last forward.

        The trainable parameters' gradients are written into `grad` (default: the store's grad
        buffer), overwriting what was there (zeros for parameters the outputs do not reach), or
        added to it with `accumulate=True`. Frozen parameters' entries are left alone.
        Returns the inputs' gradients when `input_grads` is True, else None.
        """
        if self._grad_version != self.store.version or self._with_input_grads != input_grads:
            self._prepare_backward(input_grads)
        grad = self.store.grad if grad is None else grad
        g: list = [None] * self.n_slots
        owned = [False] * self.n_slots

        def add(slot: int, value: np.ndarray) -> None:
            cur = g[slot]
            if cur is None:
                g[slot] = value
            elif owned[slot]:
                np.add(cur, value, out=cur)
            else:
                g[slot] = cur + value
                owned[slot] = True

        for s, gy in zip(self.output_slots, output_grads):
            if gy is not None:
                add(s, np.asarray(gy, dtype=np.float32) if not isinstance(gy, np.ndarray) else gy)
        for op, ins, outs, ctx, flags in self._backward_steps:
            if len(outs) == 1:
                gy = g[outs[0]]
                if gy is None:
                    continue
            else:
                gy = tuple(g[o] for o in outs)
                if all(v is None for v in gy):
                    continue
            gxs = op.backward(ctx, gy)
            for i, flag, gx in zip(ins, flags, gxs):
                if flag and gx is not None:
                    add(i, gx)
        views = self._grad_views if grad is self.store.grad else None
        for k, (s, p) in enumerate(self._param_grad_slots):
            view = views[k] if views is not None else grad[p.offset : p.offset + p.size].reshape(p.shape)
            gs = g[s]
            if gs is None:
                view.fill(0)
            elif accumulate:
                np.add(view, gs, out=view)
            else:
                np.copyto(view, gs)
        if input_grads:
            return [g[s] for s in self.input_slots]
        return None
