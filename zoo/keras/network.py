"""The graph side of a model: `Network`, a layer made of layer calls from inputs to outputs.

It finds the layer calls between the inputs and the outputs (in topological order), orders
the layers as Keras does (so weights list in tf.keras's order), answers introspection
(`layers`, `get_layer`, `input_names`, `output_names`), moves weights in Keras's order and
shapes, freezes layers, cuts new graphs at named layers (`new_graph`, `freeze_up_to`),
prints `summary()`, and re-applies itself to new tensors when called as a layer.
`zoo.keras.models.Model` adds training (`zoo.keras.training`) on top.
"""

from __future__ import annotations

import numpy as np

from zoo.engine import graph as G
from zoo.engine.graph import Graph, Tensor
from zoo.keras.layers.base import InputLayer, Layer

__all__ = ["Network"]


def _key(t: Tensor) -> tuple[int, int]:
    return id(t.node), t.index


def _fmt_shape(shape) -> str:
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"



def _graph_inputs(t: Tensor) -> list[Tensor]:
    """The Input tensors `t` depends on, in the order a depth-first walk over inputs meets them."""
    found: list[Tensor] = []
    seen: set[int] = set()
    stack = [t]
    while stack:
        cur = stack.pop()
        if id(cur.node) in seen:
            continue
        seen.add(id(cur.node))
        if cur.node.kind == "input":
            found.append(cur)
        else:
            stack.extend(reversed(cur.node.inputs))
    return found



class Network(Layer):
    """Layer calls from `inputs` to `outputs`; see the module docstring. Not used directly:
    `Model` and `Sequential` are the classes to build."""

    #: whether this is a Sequential (a stack: no "Connected to" column, no InputLayer rows)
    _sequential = False

    # ---- the graph ----------------------------------------------------------------------

    def _init_graph(self, inputs, outputs) -> None:
        self._multi_in = isinstance(inputs, (list, tuple))
        self._multi_out = isinstance(outputs, (list, tuple))
        self.inputs = list(inputs) if self._multi_in else [inputs]
        self.outputs = list(outputs) if self._multi_out else [outputs]
        for what, ts in (("inputs", self.inputs), ("outputs", self.outputs)):
            for t in ts:
                if not isinstance(t, Tensor):
                    raise TypeError(f"Model '{self.name}': {what} must be symbolic tensors (from Input or a layer), "
                                    f"got {type(t).__name__}")
        for t in self.inputs:
            if t.node.kind != "input":
                raise ValueError(f"Model '{self.name}': inputs must come from Input(), got {t!r}")
        self.graph = Graph(self.inputs, self.outputs)
        self._node_set = set(self.graph.nodes)
        self._calls = self._collect_calls()
        self._layers = self._layers_by_depth()
        self._weights = []
        ids = set()
        for layer in self._layers:
            for p in layer.weights:
                if id(p) not in ids:
                    ids.add(id(p))
                    self._weights.append(p)
        self._weight_names = [p.name for p in self._weights]
        self.batch_input_shape = None if self._multi_in else tuple(self.inputs[0].shape)
        self.built = True
        self._trainer = None
        self._predictor = None

    def _producer(self, t: Tensor):
        """(layer, call index) whose call made tensor t, or None for untagged engine nodes."""
        layer = t.node.tag
        if isinstance(layer, Layer):
            for k in range(len(layer.inbound) - 1, -1, -1):
                if any(o.node is t.node and o.index == t.index for o in layer.inbound[k][1]):
                    return layer, k
        return None

    def _collect_calls(self) -> list:
        """The layer calls between inputs and outputs in topological order: (layer, k, inputs, outputs)."""
        pos = {id(n): i for i, n in enumerate(self.graph.nodes)}
        found: dict[tuple[int, int], tuple] = {}
        seen: set[int] = set()
        stack = list(self.outputs)
        input_nodes = {id(t.node) for t in self.inputs}
        while stack:
            t = stack.pop()
            if id(t.node) in seen:
                continue
            seen.add(id(t.node))
            call = self._producer(t)
            if call is not None:
                layer, k = call
                ins, outs = layer.inbound[k]
                found.setdefault((id(layer), k), (layer, k, list(ins), list(outs)))
                for o in outs:
                    seen.add(id(o.node))
                stack.extend(ins)
            elif id(t.node) not in input_nodes:
                stack.extend(t.node.inputs)
        order = sorted(found.values(), key=lambda c: min((pos[id(o.node)] for o in c[3] if id(o.node) in pos),
                                                          default=-1))
        return order

    def _layers_by_depth(self) -> list[Layer]:
        """Unique layers ordered as Keras orders them: by depth (longest path to an output), deepest
        first, ties in topological order; so get_weights() lists weights in tf.keras's order."""
        index = {(id(layer), k): i for i, (layer, k, _, _) in enumerate(self._calls)}
        depth = [0] * len(self._calls)
        for i in range(len(self._calls) - 1, -1, -1):
            for t in self._calls[i][2]:
                call = self._producer(t)
                j = index.get((id(call[0]), call[1])) if call is not None else None
                if j is not None:
                    depth[j] = max(depth[j], depth[i] + 1)
        layer_depth: dict[int, int] = {}
        order: list[Layer] = []
        for (layer, _, _, _), d in zip(self._calls, depth):
            if id(layer) not in layer_depth:
                order.append(layer)
            layer_depth[id(layer)] = max(layer_depth.get(id(layer), 0), d)
        return sorted(order, key=lambda lay: -layer_depth[id(lay)])

    # ---- introspection --------------------------------------------------------------------

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called `name` (or at position `index` of `layers`)."""
        if index is not None:
            if not -len(self._layers) <= index < len(self._layers):
                raise ValueError(f"Model '{self.name}': layer index {index} is out of range for "
                                 f"{len(self._layers)} layers")
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"Model '{self.name}': no layer named {name!r}; layers: {[lay.name for lay in self._layers]}")

    def flattened_layers(self, include_container: bool = False) -> list[Layer]:
        """Every leaf layer, nested models expanded (with the models themselves if include_container)."""
        out = []
        for layer in self._layers:
            if isinstance(layer, Network):
                if include_container:
                    out.append(layer)
                out.extend(layer.flattened_layers(include_container))
            else:
                out.append(layer)
        return out

    @property
    def input_names(self) -> list[str]:
        return [t.node.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        if not self.built and self._sequential and self._stack:
            return [self._stack[-1].name]
        names: list[str] = []
        counts: dict[str, int] = {}
        for t in self.outputs:  # a layer with several outputs: name, name_1, name_2, ... (as tf.keras)
            call = self._producer(t)
            base = proposal = call[0].name if call is not None else t.node.name
            while proposal in names:
                counts[base] = counts.get(base, 0) + 1
                proposal = f"{base}_{counts[base]}"
            names.append(proposal)
        return names

    @property
    def regularizers(self) -> dict:
        out = {}
        for layer in self._layers:
            out.update(layer.regularizers)
        return out

    @regularizers.setter
    def regularizers(self, value) -> None:  # Layer.__init__ sets an empty dict
        pass

    def get_weights(self) -> list[np.ndarray]:
        """All weights in Keras's order (layer by layer) and shapes."""
        out = []
        for layer in self._layers:
            out.extend(layer.get_weights())
        return out

    def set_weights(self, weights) -> None:
        """Set all weights from arrays in `get_weights` order; nothing changes if any array does not fit."""
        weights = list(weights)
        counts = [len(layer.get_weights()) for layer in self._layers]
        if len(weights) != sum(counts):
            raise ValueError(f"Model '{self.name}': expected {sum(counts)} weight arrays, got {len(weights)}")
        current = self.get_weights()
        for i, (a, b) in enumerate(zip(current, weights)):
            if np.shape(b) != a.shape:
                raise ValueError(f"Model '{self.name}': weight array {i} expected shape {a.shape}, got {np.shape(b)}")
        i = 0
        for layer, n in zip(self._layers, counts):
            if n:
                layer.set_weights(weights[i:i + n])
            i += n

    def _apply_trainable(self) -> None:
        for layer in getattr(self, "_layers", []):
            layer.trainable = self._trainable

    def freeze(self, names=None) -> None:
        """Freeze every layer, or the layers named in `names` (a name or a list)."""
        for layer in self._named_layers(names):
            layer.trainable = False
        if names is None:
            self._trainable = False

    def unfreeze(self, names=None) -> None:
        """Unfreeze every layer, or the layers named in `names` (a name or a list)."""
        for layer in self._named_layers(names):
            layer.trainable = True
        if names is None:
            self._trainable = True

    def freeze_up_to(self, names) -> None:
        """Freeze the named layers and every layer they depend on (Analytics Zoo's freeze_up_to)."""
        targets = self._named_layers(names)
        keep = {id(layer) for layer in targets}
        for layer, _, ins, _ in reversed(self._calls):
            if id(layer) in keep:
                for t in ins:
                    call = self._producer(t)
                    if call is not None:
                        keep.add(id(call[0]))
        for layer in self._layers:
            if id(layer) in keep:
                layer.trainable = False

    def new_graph(self, outputs) -> Network:
        """A model from this model's inputs to the outputs of the named layers (weights shared);
        Analytics Zoo's transfer-learning cut."""
        names = [outputs] if isinstance(outputs, str) else list(outputs)
        first = {}
        for layer, _, _, outs in self._calls:
            first.setdefault(layer.name, outs)
        tensors = []
        for n in names:
            if n not in first:
                raise ValueError(f"Model '{self.name}': no layer named {n!r}; layers: "
                                 f"{[lay.name for lay in self._layers]}")
            tensors.extend(first[n])
        from zoo.keras.models import Model

        ins = self.inputs if self._multi_in else self.inputs[0]
        return Model(ins, tensors if len(tensors) > 1 else tensors[0])

    def to_model(self) -> Network:
        """This model as a functional Model over the same layers (Analytics Zoo's Sequential.to_model)."""
        from zoo.keras.models import Model

        return Model(self.inputs if self._multi_in else self.inputs[0],
                     self.outputs if self._multi_out else self.outputs[0], name=G.unique_name("model"))

    def _named_layers(self, names) -> list[Layer]:
        if names is None:
            return list(self._layers)
        names = [names] if isinstance(names, str) else list(names)
        return [self.get_layer(n) for n in names]

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes if self._multi_out else shapes[0]

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes if self._multi_in else shapes[0]

    @property
    def optimizer(self):
        """The compiled optimizer (None before compile)."""
        return None if self.compiled is None else self.compiled["optimizer"]

    def summary(self, line_length: int | None = None, positions=None, print_fn=None, expand_nested: bool = False,
                show_trainable: bool = False) -> str | None:
        """Print (or pass to `print_fn`) a table: Layer (type), Output Shape, Param #, and Connected to for
        functional models; then total, trainable and non-trainable parameter counts.

        In Jupyter (without print_fn) the table is shown as HTML and None is returned; otherwise the
        text is also returned.
        """
        self._ensure_built()
        functional = not self._sequential
        header = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else []) + \
            (["Trainable"] if show_trainable else [])
        rows = self._summary_rows(functional, expand_nested, show_trainable, "")
        trainable = sum(p.size for p in self._weights if p.kind == "param" and p.trainable)
        total = sum(p.size for p in self._weights)
        totals = [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}"]
        if self._trainer is not None:
            slots = self._trainer.optimizer.slots
            if slots:
                totals.append(f"Optimizer params: {len(slots) * trainable:,}")
        widths = [max(len(r[i]) for r in rows + [header]) + 2 for i in range(len(header))]
        if positions is not None and line_length:
            bounds = [int(line_length * p) if p <= 1 else int(p) for p in positions][:len(header)]
            widths = [b - a for a, b in zip([0] + bounds[:-1], bounds)] + widths[len(bounds):]
        sep = "=" * sum(widths)
        thin = "-" * sum(widths)

        def fmt(r):
            return "".join(str(c)[:w - 1].ljust(w) if positions is not None else str(c).ljust(w)
                           for c, w in zip(r, widths)).rstrip()

        lines = [f'Model: "{self.name}"', sep, fmt(header), sep]
        for i, r in enumerate(rows):
            if i and not r[0].startswith(" "):
                lines.append(thin)
            lines.append(fmt(r))
        lines += [sep] + totals + [sep]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
            return text
        from zoo.keras.callbacks import _in_notebook

        if _in_notebook():
            from html import escape

            from IPython.display import HTML, display

            cells = "".join("<tr>" + "".join(f"<td><pre>{escape(str(c))}</pre></td>" for c in r) + "</tr>"
                            for r in rows)
            display(HTML(f"<b>Model: {escape(self.name)}</b><table><tr>" +
                         "".join(f"<th>{h}</th>" for h in header) + f"</tr>{cells}</table><p>" +
                         "<br>".join(totals) + "</p>"))
            return None
        print(text)
        return text

    def _call_refs(self) -> dict:
        """(id(layer), k) -> local call index of that layer within this model."""
        refs, counts = {}, {}
        for layer, k, _, _ in self._calls:
            refs[(id(layer), k)] = counts.get(id(layer), 0)
            counts[id(layer)] = refs[(id(layer), k)] + 1
        return refs

    def _summary_rows(self, functional, expand_nested, show_trainable, indent) -> list[list[str]]:
        refs = self._call_refs()
        rows = []
        first = {}
        for layer, k, ins, outs in self._calls:
            first.setdefault(id(layer), (ins, outs))
        for layer in self._layers:
            if self._sequential and isinstance(layer, InputLayer):
                continue
            ins, outs = first[id(layer)]
            shape = [o.shape for o in outs]
            row = [f"{indent}{layer.name} ({type(layer).__name__})", _fmt_shape(shape if len(shape) > 1 else shape[0]),
                   f"{layer.count_params():,}"]
            if functional:
                srcs = []
                for lay2, k2, ins2, _ in self._calls:
                    if lay2 is layer:
                        for t in ins2:
                            call = self._producer(t)
                            if call is None:
                                srcs.append(t.node.name)
                            else:
                                idx = next(i for i, o in enumerate(call[0].inbound[call[1]][1])
                                           if o.node is t.node and o.index == t.index)
                                srcs.append(f"{call[0].name}[{refs.get((id(call[0]), call[1]), 0)}][{idx}]")
                row.append(", ".join(srcs))
            if show_trainable:
                row.append("Y" if layer.trainable else "N")
            rows.append(row)
            if expand_nested and isinstance(layer, Network):
                inner = layer._summary_rows(functional, True, show_trainable, indent + "  ")
                for r in inner:
                    rows.append(r + [""] * (len(row) - len(r)))
        return rows


    def get_config(self) -> dict:
        from zoo.keras import saving

        return saving.model_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: bool = True):
        from zoo.keras import saving

        return saving.model_from_config({"class_name": cls.__name__, "config": config}, custom_objects,
                                        safe_mode=safe_mode)

    def to_json(self, **kwargs) -> str:
        """The architecture as JSON (`model_from_json` rebuilds it with fresh weights)."""
        import json

        from zoo.keras import saving

        return json.dumps(saving.serialize_layer(self), **kwargs)

    # ---- as a layer ---------------------------------------------------------------------

    def call(self, x):
        """Re-apply this model's layers to new inputs (weights shared with this model)."""
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        if len(xs) != len(self.inputs):
            raise self.error(f"expected {len(self.inputs)} input tensors {self.input_names}, got {len(xs)}")
        mapping = {}
        for t, new in zip(self.inputs, xs):
            want, got = tuple(t.shape), tuple(new.shape)
            if len(want) != len(got) or any(a is not None and b is not None and a != b
                                            for a, b in zip(want[1:], got[1:])):
                raise self.error(f"expected input shape {_fmt_shape(want)}, got {_fmt_shape(got)}")
            mapping[_key(t)] = new
        for layer, _, ins, outs in self._calls:
            if isinstance(layer, InputLayer):
                continue
            args = [mapping[_key(t)] for t in ins]
            res = layer(args if len(args) != 1 else args[0])
            res = list(res) if isinstance(res, (list, tuple)) else [res]
            for o, r in zip(outs, res):
                mapping[_key(o)] = r
        outs = [mapping[_key(t)] for t in self.outputs]
        for o in outs:
            if o.node.kind == "op":
                o.node.tag = self
        return outs if self._multi_out else outs[0]

    def compute_output_shape(self, input_shape):
        return self.output_shape

    def __call__(self, inputs):
        self._ensure_built()
        return super().__call__(inputs)

