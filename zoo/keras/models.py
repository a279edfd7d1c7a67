"""Sequential and functional models with compile / fit / evaluate / predict, save and load.

A model is a Graph of engine nodes made by its layers; `compile` picks the loss,
optimizer and metrics, and the first `fit`/`evaluate` compiles one engine `Trainer`
that is reused by every later call (no per-call graph work). A model is itself a layer:
calling it on new tensors re-applies its layers (sharing their weights).

    >>> import numpy as np
    >>> from zoo.keras.layers import Dense, Input
    >>> inp = Input((3,), name="features")
    >>> model = Model(inp, Dense(2, name="scores")(inp))
    >>> model.predict(np.ones((4, 3), np.float32)).shape
    (4, 2)
    >>> model.output_names
    ['scores']
"""

from __future__ import annotations

import numpy as np

from zoo.engine import graph as G
from zoo.engine.graph import Graph, Tensor
from zoo.engine.trainer import Callback as EngineCallback
from zoo.engine.trainer import Trainer
from zoo.engine.triggers import MaxEpoch
from zoo.keras import callbacks as cbks
from zoo.keras import metrics as keras_metrics
from zoo.keras.layers.base import InputLayer, Layer

__all__ = ["Model", "Sequential", "load_model", "model_from_config", "model_from_json"]

_COMPILE_IGNORED = {"weighted_metrics", "run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss",
                    "sample_weight_mode", "target_tensors"}


class _KerasHooks(EngineCallback):
    """Forwards the engine trainer's hooks to Keras-style callbacks (epochs renumbered from initial_epoch)."""

    def __init__(self, model, callbacks, start_epoch: int, initial_epoch: int):
        self.model, self.callbacks = model, callbacks
        self.offset = initial_epoch - start_epoch

    def on_train_begin(self, logs):
        for c in self.callbacks:
            c.on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs):
        for c in self.callbacks:
            c.on_epoch_begin(epoch + self.offset, logs)
        if self.model.stop_training:
            self.trainer.stop_training = True

    def on_batch_begin(self, batch, logs):
        for c in self.callbacks:
            c.on_train_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs):
        for c in self.callbacks:
            c.on_train_batch_end(batch, logs)
        if self.model.stop_training:
            self.trainer.stop_training = True

    def on_epoch_end(self, epoch, logs):
        for c in self.callbacks:
            c.on_epoch_end(epoch + self.offset, logs)
        if self.model.stop_training:
            self.trainer.stop_training = True

    def on_train_end(self, logs):
        for c in self.callbacks:
            c.on_train_end(logs)


class _EpochLines(cbks.Callback):
    """Spark fits: one line per epoch (the job's logs arrive after it): loss, metrics, samples/s."""

    def on_epoch_begin(self, epoch, logs=None):
        self.rates: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        if logs and logs.get("throughput"):
            self.rates.append(float(logs["throughput"]))

    def on_epoch_end(self, epoch, logs=None):
        parts = [f"Epoch {epoch + 1}/{self.params.get('epochs')}"]
        parts += [f"{k}: {v:.4f}" for k, v in (logs or {}).items() if isinstance(v, (int, float))]
        if self.rates:
            parts.append(f"{float(np.median(self.rates)):,.0f} samples/s")
        print(" - ".join(parts), flush=True)


#: Model.fit arguments for Spark input only
_SPARK_ONLY = ("feature_cols", "label_cols", "num_workers")
#: further DistributedTrainer options Model.fit passes through for Spark input
_SPARK_OPTIONS = ("threads_per_worker", "compress", "validation_trigger", "val_batch_size", "comm_timeout",
                  "end_trigger")
#: callbacks that must act during training, with what to use on Spark instead
_DRIVER_ONLY_CALLBACKS = {
    cbks.EarlyStopping: "pass an end trigger, e.g. fit(..., end_trigger=MinLoss(0.1)) (zoo.engine.triggers)",
    cbks.ModelCheckpoint: "use model.set_checkpoint(path, trigger=...)",
    cbks.ReduceLROnPlateau: "use the Plateau learning-rate schedule of the optimizer",
    cbks.LearningRateScheduler: "use a learning-rate schedule of the optimizer",
    cbks.BackupAndRestore: "use model.set_checkpoint(path); a failed task resumes from it",
    cbks.TerminateOnNaN: "check history.history['loss'] after fit",
}


def _pick_metric(name, loss):
    """The metric for a compile() entry given the output's loss (kept for callers of the old name)."""
    return keras_metrics.pick(name, loss)


def _key(t: Tensor) -> tuple[int, int]:
    return id(t.node), t.index


def _fmt_shape(shape) -> str:
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


class Model(Layer):
    """A graph of layers from `inputs` to `outputs` (lists for several; Analytics Zoo: `input`/`output`).

    Training: `compile`, `fit`, `evaluate`, `predict`, `predict_classes`, `train_on_batch`,
    `test_on_batch`, `predict_on_batch`. Weights: `get_weights`/`set_weights` (Keras order and
    shapes), `freeze`/`unfreeze`, `save_weights`/`load_weights`. Files: `save` (one zip, see
    `zoo.keras.saving`). TensorBoard: `set_tensorboard`, `get_train_summary`,
    `get_validation_summary`.
    """

    def __init__(self, inputs=None, outputs=None, name: str | None = None, input=None, output=None,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        inputs = inputs if inputs is not None else input
        outputs = outputs if outputs is not None else output
        self._trainer: Trainer | None = None
        self._predictor = None
        self.stop_training = False
        self.compiled = None
        self._calls: list = []
        self._layers: list[Layer] = []
        self._summaries = None
        self.history = None
        if inputs is not None:
            if outputs is None:
                raise ValueError(f"Model '{self.name}': give outputs together with inputs")
            self._init_graph(inputs, outputs)

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
            if isinstance(layer, Model):
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
        if not self.built and isinstance(self, Sequential) and self._stack:
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

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, flag: bool) -> None:
        self._trainable = bool(flag)
        for layer in getattr(self, "_layers", []):
            layer.trainable = flag

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

    def new_graph(self, outputs) -> Model:
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
        ins = self.inputs if self._multi_in else self.inputs[0]
        return Model(ins, tensors if len(tensors) > 1 else tensors[0])

    def to_model(self) -> Model:
        """This model as a functional Model over the same layers (Analytics Zoo's Sequential.to_model)."""
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
        functional = not isinstance(self, Sequential)
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
        if cbks._in_notebook():
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
            if isinstance(self, Sequential) and isinstance(layer, InputLayer):
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
            if expand_nested and isinstance(layer, Model):
                inner = layer._summary_rows(functional, True, show_trainable, indent + "  ")
                for r in inner:
                    rows.append(r + [""] * (len(row) - len(r)))
        return rows

    # ---- training API -------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, **kwargs) -> None:
        """Choose the optimizer (name or object), the loss (one for all outputs, a list, or a dict by
        output name) and the metrics (a list applied to every output, a list of lists, or a dict by
        output name); names and objects are both accepted."""
        from zoo.engine import optim

        bad = set(kwargs) - _COMPILE_IGNORED
        if bad:
            raise TypeError(f"Model '{self.name}'.compile: unexpected argument(s) {sorted(bad)}")
        if not self.built and not (isinstance(self, Sequential) and self._stack):
            self._ensure_built()
        if loss is None:
            raise ValueError(f"Model '{self.name}'.compile: give a loss (a name such as 'mse' or a loss object)")
        opt = optim.get(optimizer)
        names = self.output_names
        losses = [_get_loss(v) for v in self._per_output(loss, "loss", names, broadcast=True)]
        if loss_weights is not None:
            loss_weights = [float(w) for w in self._per_output(loss_weights, "loss_weights", names, broadcast=False,
                                                                    default=1.0)]
        if metrics is None:
            specs = [[] for _ in names]
        elif isinstance(metrics, dict):
            unknown = set(metrics) - set(names)
            if unknown:
                raise ValueError(f"Model '{self.name}'.compile: metrics for unknown outputs {sorted(unknown)}; "
                                 f"outputs are {names}")
            specs = [_as_list(metrics.get(n)) for n in names]
        elif isinstance(metrics, (list, tuple)) and metrics and all(isinstance(m, (list, tuple)) for m in metrics):
            if len(metrics) != len(names):
                raise ValueError(f"Model '{self.name}'.compile: expected {len(names)} metric lists (one per output "
                                 f"{names}), got {len(metrics)}")
            specs = [list(m) for m in metrics]
        else:
            specs = [_as_list(metrics) for _ in names]
        resolved = [[m for m in (keras_metrics.pick(s, lf) for s in ms) if m is not None]
                    for ms, lf in zip(specs, losses)]
        self.compiled = {"optimizer": opt, "loss": losses, "metrics": resolved, "metric_specs": specs,
                         "loss_weights": loss_weights}
        self._trainer = None

    def _per_output(self, value, what: str, names: list[str], broadcast: bool, default=None) -> list:
        """One entry per output from a dict by output name (missing names take `default` when
        one is given), a list, or one value broadcast to all outputs."""
        if isinstance(value, dict):
            if default is not None:
                value = {**dict.fromkeys(names, default), **value}
            missing = [n for n in names if n not in value]
            unknown = set(value) - set(names)
            if missing or unknown:
                raise ValueError(f"Model '{self.name}'.compile: {what} keys must be the output names {names}, got "
                                 f"{sorted(value)}")
            return [value[n] for n in names]
        if isinstance(value, (list, tuple)):
            if len(value) != len(names):
                raise ValueError(f"Model '{self.name}'.compile: expected {len(names)} entries in {what} (one per "
                                 f"output {names}), got {len(value)}")
            return list(value)
        if not broadcast and len(names) > 1:
            raise ValueError(f"Model '{self.name}'.compile: {what} needs one entry per output {names}")
        return [value] * len(names)

    def _ensure_built(self, x=None) -> None:
        if not self.built:
            raise ValueError(f"Model '{self.name}' is not built: give the first layer an input_shape")

    def _trainer_current(self) -> bool:
        t = self._trainer
        return t is not None and all(p.store is t.store for p in t.train_graph.parameters)

    def _get_trainer(self) -> Trainer:
        if self.compiled is None:
            raise ValueError(f"Model '{self.name}': call compile(optimizer, loss) before fit/evaluate")
        if not self._trainer_current():
            c = self.compiled
            old = self._trainer
            if old is not None:  # the weights were rebound to another model's store: rebuild
                c["optimizer"].reset_state()
            from zoo.engine.parallel import LocalParallelTrainer

            self._trainer = LocalParallelTrainer(self.graph, c["loss"], c["optimizer"], loss_weights=c["loss_weights"],
                                                 metrics=c["metrics"], seed=getattr(self, "_seed", 0),
                                                 regularizers=self.regularizers, output_names=self.output_names,
                                                 replicas=getattr(self, "_replicas", "auto"))
            if old is not None:
                self._trainer.state = old.state
                self._trainer.shuffle_rng = old.shuffle_rng
            self._trainer.clip_value = getattr(self, "_clip_value", None)
            self._trainer.clip_norm = getattr(self, "_clip_norm", None)
        return self._trainer

    # ---- data checks --------------------------------------------------------------------

    def _arrays(self, data, what: str, names: list[str], who: str) -> list:
        """Arrays for `names` from an array, a list/tuple or a dict keyed by name."""
        if isinstance(data, dict):
            missing = [n for n in names if n not in data]
            unknown = sorted(set(data) - set(names))
            if missing or unknown:
                raise ValueError(f"{who}: {what} must have one array per name {names}, got keys {sorted(data)}")
            arrays = [data[n] for n in names]
        elif isinstance(data, (list, tuple)) and len(names) > 1:
            if len(data) != len(names):
                raise ValueError(f"{who}: expected {len(names)} arrays in {what} (one per {names}), got {len(data)}")
            arrays = list(data)
        elif isinstance(data, (list, tuple)) and len(data) == 1 and hasattr(data[0], "shape"):
            arrays = [data[0]]
        else:
            if len(names) > 1:
                raise ValueError(f"{who}: expected {len(names)} arrays in {what} (one per {names}), got one array")
            arrays = [data]
        out = []
        for n, a in zip(names, arrays):
            if a is None:
                raise ValueError(f"{who}: {what} for {n!r} is None")
            out.append(a if isinstance(a, np.ndarray) else np.asarray(a))
        return out

    def _check_x(self, x, who: str, what: str = "x") -> tuple[list, int]:
        xs = self._arrays(x, what, self.input_names, who)
        n = None
        for t, a, name in zip(self.inputs, xs, self.input_names):
            shape = tuple(t.shape)
            if a.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape[1:], a.shape[1:])):
                raise ValueError(f"{who}: {what} for input '{name}' expected shape {_fmt_shape(shape)} "
                                 f"(None = any), got {a.shape}")
            if n is None:
                n = a.shape[0]
            elif a.shape[0] != n:
                raise ValueError(f"{who}: the arrays in {what} hold different numbers of samples: {n} and "
                                 f"{a.shape[0]} (input '{name}')")
        return xs, n

    def _check_y(self, y, n: int, who: str, what: str = "y") -> list:
        names = self.output_names
        ys = self._arrays(y, what, names, who)
        losses = self.compiled["loss"] if self.compiled else [None] * len(ys)
        for t, a, name, lf in zip(self.outputs, ys, names, losses):
            if a.ndim == 0 or a.shape[0] != n:
                raise ValueError(f"{who}: x and {what} must hold the same number of samples: x has {n}, {what} for "
                                 f"output '{name}' has {a.shape[0] if a.ndim else 'a scalar'}")
            if lf is not None and hasattr(lf, "infer_shape"):
                try:
                    lf.infer_shape(tuple(t.shape), (None,) + a.shape[1:])
                except ValueError as e:
                    raise ValueError(f"{who}: {what} for output '{name}' (loss {lf.name}): {e}") from None
        return ys

    def _check_sw(self, sample_weight, n: int, who: str):
        if sample_weight is None:
            return None
        sws = sample_weight if isinstance(sample_weight, (list, tuple)) and len(self.outputs) > 1 else [sample_weight]
        if isinstance(sample_weight, dict):
            sws = [sample_weight.get(name) for name in self.output_names]
        out = []
        for s in sws:
            if s is None:
                out.append(None)
                continue
            s = np.asarray(s, dtype=np.float32).reshape(-1)
            if s.shape[0] != n:
                raise ValueError(f"{who}: sample_weight must hold one weight per sample ({n}), got {s.shape[0]}")
            out.append(s)
        return out if len(self.outputs) > 1 else out[0]

    # ---- fit / evaluate / predict ---------------------------------------------------------

    def fit(self, x=None, y=None, batch_size: int | None = None, epochs: int = 1, verbose="auto", callbacks=None,
            validation_split: float = 0.0, validation_data=None, shuffle: bool = True, class_weight=None,
            sample_weight=None, initial_epoch: int = 0, nb_epoch: int | None = None, **kwargs) -> cbks.History:
        """Train on numpy arrays (lists, or dicts keyed by input/output names, for several
        inputs/outputs) for epochs `initial_epoch` .. `epochs - 1`; returns a History.

        Keras 1 / Analytics Zoo spelling: `nb_epoch`. `validation_split` takes the last fraction
        of the samples (before shuffling). Training state (optimizer, epoch and iteration
        counters, shuffling RNG) carries over between calls, so fit(epochs=1) twice equals
        fit(epochs=2).
        """
        from zoo.engine.distributed import is_spark_data

        if is_spark_data(x):
            return self._fit_spark(x, y, batch_size, nb_epoch if nb_epoch is not None else epochs, verbose,
                                   callbacks, validation_split, validation_data, class_weight, sample_weight,
                                   initial_epoch, kwargs)
        for k in _SPARK_ONLY:
            if kwargs.pop(k, None) is not None:
                raise ValueError(f"Model.fit: {k} is for a Spark DataFrame or RDD x; got {type(x).__name__}")
        # Analytics Zoo's `distributed`: arrays always train in this process, on local replicas
        kwargs.pop("distributed", None)
        kwargs.pop("validation_batch_size", None)
        if kwargs.pop("validation_freq", 1) != 1:
            raise ValueError("Model.fit: only validation_freq=1 (validate after every epoch) is supported")
        for k in ("steps_per_epoch", "validation_steps"):
            if kwargs.pop(k, None) is not None:
                raise ValueError(f"Model.fit: {k} is not supported for array input; give arrays and batch_size")
        if kwargs:
            raise TypeError(f"Model.fit: unexpected argument(s) {sorted(kwargs)}")
        who = "Model.fit"
        self._ensure_built(x)
        epochs = nb_epoch if nb_epoch is not None else epochs
        batch_size = 32 if batch_size is None else batch_size
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"{who}: batch_size must be a positive int, got {batch_size!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"{who}: epochs must be a non-negative int, got {epochs!r}")
        if x is None or y is None:
            raise ValueError(f"{who}: give x and y (numpy arrays, lists or dicts of them)")
        trainer = self._get_trainer()
        xs, n = self._check_x(x, who)
        ys = self._check_y(y, n, who)
        sw = self._check_sw(sample_weight, n, who)
        if class_weight is not None:
            first = sw[0] if isinstance(sw, list) else sw
            cw = self._class_weights(ys[0], class_weight, first)
            sw = [cw] + sw[1:] if isinstance(sw, list) else cw
        vdata = None
        if validation_split and validation_data is None:
            if not 0 < validation_split < 1:
                raise ValueError(f"{who}: validation_split must be in (0, 1), got {validation_split}")
            cut = int(n * (1 - validation_split))
            if cut == 0 or cut == n:
                raise ValueError(f"{who}: validation_split={validation_split} of {n} samples leaves no training or "
                                 f"no validation samples")
            vdata = ([a[cut:] for a in xs], [a[cut:] for a in ys])
            xs, ys = [a[:cut] for a in xs], [a[:cut] for a in ys]
            if sw is not None:
                sw = [None if s is None else s[:cut] for s in sw] if isinstance(sw, list) else sw[:cut]
            n = cut
        elif validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
                raise ValueError(f"{who}: validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight), "
                                 f"got {type(validation_data).__name__}")
            vx, nv = self._check_x(validation_data[0], who, "validation_data x")
            vy = self._check_y(validation_data[1], nv, who, "validation_data y")
            vdata = (vx, vy)
            if len(validation_data) == 3 and validation_data[2] is not None:
                vdata = vdata + (self._check_sw(validation_data[2], nv, who),)
        if isinstance(sw, list):
            sw = [np.ones(n, np.float32) if s is None else s for s in sw]
        cb_list = list(callbacks or [])
        for c in cb_list:
            if not isinstance(c, cbks.Callback):
                raise TypeError(f"{who}: callbacks must be zoo.keras.callbacks.Callback instances, got "
                                f"{type(c).__name__}")
        for c in cb_list:
            restored = c._restore_before_fit(self) if hasattr(c, "_restore_before_fit") else None
            if restored is not None:
                initial_epoch = max(initial_epoch, restored)
        trainer = self._get_trainer()
        history = cbks.History()
        verbose = 1 if verbose == "auto" else int(verbose)
        if verbose:
            cb_list.append(cbks.ProgbarLogger(verbose))
        if getattr(self, "_checkpoint", None) is not None:
            cb_list.append(self._checkpoint)
        cb_list.append(history)
        steps = -(-n // batch_size)
        params = {"epochs": epochs, "samples": n, "batch_size": batch_size, "verbose": verbose, "steps": steps}
        for c in cb_list:
            c.set_model(self)
            c.set_params(params)
        self.history = history
        self.stop_training = False
        remaining = epochs - initial_epoch
        if remaining <= 0:
            return history
        trainer.state.epoch = max(trainer.state.epoch, initial_epoch)
        start = trainer.state.epoch
        engine_cbs = [_KerasHooks(self, cb_list, start, initial_epoch)]
        if self._summaries is not None:
            engine_cbs.append(self._summaries.callback())
        trainer.fit(xs, ys, batch_size=batch_size, end_trigger=MaxEpoch(start + remaining), shuffle=shuffle,
                    sample_weight=sw, validation_data=vdata, callbacks=engine_cbs)
        if self._summaries is not None:
            self._summaries.flush()
        return history

    def _fit_spark(self, data, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                   class_weight, sample_weight, initial_epoch, kwargs) -> cbks.History:
        """`fit` on a Spark DataFrame (or RDD of Samples): one barrier-stage job trains on
        `num_workers` workers (zoo.engine.distributed.DistributedTrainer); the model then holds
        the trained weights and optimizer state. Callbacks see every batch's and epoch's logs
        after the job, on the driver."""
        from zoo.engine.distributed import DistributedTrainer, is_spark_data

        who = "Model.fit"
        opts = {k: kwargs.pop(k) for k in list(kwargs) if k in _SPARK_ONLY or k in _SPARK_OPTIONS}
        kwargs.pop("distributed", None)
        if kwargs:
            raise TypeError(f"{who}: unexpected argument(s) {sorted(kwargs)}")
        if y is not None:
            raise ValueError(f"{who}: with a Spark DataFrame the labels are columns: give label_cols=[...], not y")
        for name, v in (("validation_split", validation_split), ("class_weight", class_weight),
                        ("sample_weight", sample_weight)):
            if v:
                raise ValueError(f"{who}: {name} is not supported for a Spark DataFrame; give validation_data= "
                                 f"as a DataFrame, or weight the samples in the data")
        if validation_data is not None and not is_spark_data(validation_data):
            raise TypeError(f"{who}: validation_data must be a Spark DataFrame (or RDD) like x, got "
                            f"{type(validation_data).__name__}")
        batch_size = 32 if batch_size is None else batch_size
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"{who}: batch_size must be a positive int, got {batch_size!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"{who}: epochs must be a non-negative int, got {epochs!r}")
        cb_list = list(callbacks or [])
        for c in cb_list:
            if not isinstance(c, cbks.Callback):
                raise TypeError(f"{who}: callbacks must be zoo.keras.callbacks.Callback instances, got "
                                f"{type(c).__name__}")
            instead = next((v for k, v in _DRIVER_ONLY_CALLBACKS.items() if isinstance(c, k)), None)
            if instead is not None:
                raise ValueError(f"{who}: {type(c).__name__} cannot act during a Spark job (callbacks see the logs "
                                 f"after it); {instead}")
        self._ensure_built()
        trainer = self._get_trainer()
        history = cbks.History()
        verbose = 1 if verbose == "auto" else int(verbose)
        if verbose:
            cb_list.append(_EpochLines())
        cb_list.append(history)
        params = {"epochs": epochs, "samples": None, "batch_size": batch_size, "verbose": verbose, "steps": None}
        for c in cb_list:
            c.set_model(self)
            c.set_params(params)
        self.history = history
        self.stop_training = False
        remaining = epochs - initial_epoch
        if remaining <= 0:
            return history
        trainer.state.epoch = max(trainer.state.epoch, initial_epoch)
        start = trainer.state.epoch
        engine_cbs = [_KerasHooks(self, cb_list, start, initial_epoch)]
        if self._summaries is not None:
            engine_cbs.append(self._summaries.callback())
        dt = DistributedTrainer(trainer)
        ckpt = getattr(self, "_spark_checkpoint", None)
        if ckpt is not None:
            dt.set_checkpoint(*ckpt)
        opts.setdefault("feature_cols", ["features"])
        opts.setdefault("label_cols", ["label"])
        end = MaxEpoch(start + remaining)
        if opts.get("end_trigger") is not None:
            end = end | opts["end_trigger"]
        opts.pop("end_trigger", None)
        dt.fit(data, batch_size=int(batch_size), end_trigger=end,
               validation_data=validation_data, callbacks=engine_cbs, replicas=getattr(self, "_replicas", "auto"),
               **opts)
        self.distributed_info = dict(dt.info, iterations=dt.iterations)
        if self._summaries is not None:
            self._summaries.flush()
        return history

    def _class_weights(self, y, class_weight, sample_weight):
        y = np.asarray(y)
        if not isinstance(class_weight, dict):
            raise TypeError(f"Model.fit: class_weight must be a dict {{class: weight}}, got "
                            f"{type(class_weight).__name__}")
        labels = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0]
        w = np.array([class_weight.get(int(v), 1.0) for v in labels], dtype=np.float32)
        return w if sample_weight is None else w * np.asarray(sample_weight, dtype=np.float32)

    def evaluate(self, x=None, y=None, batch_size: int | None = None, verbose=0, sample_weight=None,
                 return_dict: bool = False, **kwargs):
        """Loss and metrics in inference mode: a scalar (loss only), a list [loss, *metrics], or a dict."""
        kwargs.pop("callbacks", None)
        kwargs.pop("steps", None)
        if kwargs:
            raise TypeError(f"Model.evaluate: unexpected argument(s) {sorted(kwargs)}")
        who = "Model.evaluate"
        trainer = self._get_trainer()
        xs, n = self._check_x(x, who)
        ys = self._check_y(y, n, who)
        sw = self._check_sw(sample_weight, n, who)
        res = trainer.evaluate(xs, ys, batch_size=batch_size or 32, sample_weight=sw)
        if return_dict:
            return res
        vals = list(res.values())
        return vals[0] if len(vals) == 1 else vals

    def predict(self, x, batch_size: int | None = None, verbose=0, **kwargs):
        """Outputs for x in inference mode (a list for several outputs).

        With a Spark DataFrame `x`: the DataFrame with one array<float> column per output
        appended (`prediction_col`, default "prediction"; a list for several outputs), computed
        on the executors from `feature_cols` (default ["features"]).
        """
        from zoo.engine.distributed import is_spark_data

        if is_spark_data(x):
            return self._predict_frame(x, batch_size, kwargs)
        kwargs.pop("steps", None)
        kwargs.pop("callbacks", None)
        kwargs.pop("batch_per_thread", None)
        kwargs.pop("distributed", None)
        if kwargs:
            raise TypeError(f"Model.predict: unexpected argument(s) {sorted(kwargs)}")
        self._ensure_built(x)
        xs, _ = self._check_x(x, "Model.predict")
        batch_size = batch_size or 32
        if self._trainer is not None and self._trainer_current():
            outs = self._trainer.predict(xs, batch_size=batch_size)
        else:
            if self._predictor is None:
                self._predictor = _Predictor(self)
            outs = self._predictor.predict(xs, batch_size)
        return outs if self._multi_out else outs[0]

    def _predict_frame(self, df, batch_size, kwargs):
        from zoo.engine.distributed import predict_frame

        if not hasattr(df, "mapInArrow"):
            raise TypeError(f"Model.predict: a Spark input must be a DataFrame (got an RDD); make one with "
                            f"rdd.toDF() or spark.createDataFrame")
        opts = {k: kwargs.pop(k) for k in ("feature_cols", "prediction_col", "threads") if k in kwargs}
        for k in ("steps", "callbacks", "batch_per_thread", "distributed"):
            kwargs.pop(k, None)
        if kwargs:
            raise TypeError(f"Model.predict: unexpected argument(s) {sorted(kwargs)}")
        self._ensure_built()
        if "prediction_col" not in opts and len(self.outputs) > 1:
            opts["prediction_col"] = [f"prediction_{n}" for n in self.output_names]
        return predict_frame(self.graph, df, batch_size=int(batch_size or 256), **opts)

    def predict_classes(self, x, batch_size: int = 32, zero_based_label: bool = True, **kwargs):
        """Argmax class ids (0-based; `zero_based_label=False` adds 1 for Analytics Zoo code)."""
        p = self.predict(x, batch_size=batch_size, **kwargs)
        if isinstance(p, list):
            p = p[0]
        classes = (p > 0.5).astype(np.int64).reshape(len(p)) if p.shape[-1] == 1 else np.argmax(p, axis=-1)
        return classes if zero_based_label else classes + 1

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict: bool = False):
        """One optimizer step on one batch; returns the loss (and the batch's metrics: a list or a dict)."""
        who = "Model.train_on_batch"
        trainer = self._get_trainer()
        xs, n = self._check_x(x, who)
        ys = self._check_y(y, n, who)
        sw = self._check_sw(sample_weight, n, who)
        if class_weight is not None:
            first = sw[0] if isinstance(sw, list) else sw
            cw = self._class_weights(ys[0], class_weight, first)
            sw = [cw] + sw[1:] if isinstance(sw, list) else cw
        if isinstance(sw, list):
            sw = [np.ones(n, np.float32) if s is None else s for s in sw]
        xs, ys, sws, _ = trainer._prepare(xs, ys, sw)
        loss, preds = trainer.train_step(xs, ys, sws)
        trainer.state.iteration += 1
        trainer.state.loss = loss
        res = {"loss": loss}
        for i, (ms, p, t, w) in enumerate(zip(trainer.metrics, preds, ys, sws)):
            for m in ms:
                m.reset()
                m.update(p, t, w)
                res[trainer._metric_key(m, i)] = m.result()
        if return_dict:
            return res
        vals = list(res.values())
        return vals[0] if len(vals) == 1 else vals

    def test_on_batch(self, x, y, sample_weight=None, return_dict: bool = False):
        """Loss (and metrics) of one batch in inference mode."""
        _, n = self._check_x(x, "Model.test_on_batch")
        return self.evaluate(x, y, batch_size=max(n, 1), sample_weight=sample_weight, return_dict=return_dict)

    def predict_on_batch(self, x):
        """Outputs of one batch in inference mode."""
        _, n = self._check_x(x, "Model.predict_on_batch")
        return self.predict(x, batch_size=max(n, 1))

    def reset_states(self) -> None:
        """Recurrent state is not carried between batches; kept for Keras code."""

    def set_gradient_clipping_by_l2_norm(self, clip_norm: float) -> None:
        self._clip_norm = float(clip_norm)
        if self._trainer is not None:
            self._trainer.clip_norm = self._clip_norm

    def set_constant_gradient_clipping(self, min_value: float, max_value: float) -> None:
        self._clip_value = (float(min_value), float(max_value))
        if self._trainer is not None:
            self._trainer.clip_value = self._clip_value

    def clear_gradient_clipping(self) -> None:
        self._clip_norm = self._clip_value = None
        if self._trainer is not None:
            self._trainer.clip_norm = self._trainer.clip_value = None

    def set_seed(self, seed: int) -> None:
        """Seed shuffling and random layers of the next compiled trainer."""
        self._seed = int(seed)
        self._trainer = None

    def set_checkpoint(self, path: str, over_write: bool = True, trigger=None) -> None:
        """Analytics Zoo: checkpoint later fits into directory `path`.

        Arrays: the model (weights, optimizer and training state) after every epoch, to
        `path/model.zoo` (over_write) or `path/model.<iteration>.zoo`. Spark DataFrames: the
        workers write a training checkpoint whenever `trigger` fires (default every epoch; a
        local path or any Hadoop filesystem URI), and a failed task resumes from the latest
        one; `over_write=False` keeps every checkpoint.
        """
        import os

        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise ValueError(f"Model '{self.name}'.set_checkpoint: path must be a non-empty path, got {path!r}")
        path = os.fspath(path)
        self._checkpoint = cbks.ModelCheckpoint(os.path.join(path, "model.zoo" if over_write
                                                             else "model.{iteration}.zoo"))
        self._spark_checkpoint = (path, trigger, not over_write)

    # ---- TensorBoard ----------------------------------------------------------------------

    def set_tensorboard(self, log_dir: str, app_name: str) -> None:
        """Write TensorBoard summaries of later fits to log_dir/app_name/train (Loss, LearningRate,
        Throughput per iteration) and log_dir/app_name/validation (one tag per metric)."""
        from zoo.engine.summary import SummaryPair

        self._summaries = SummaryPair(log_dir, app_name)

    def get_train_summary(self, tag: str) -> list[tuple[int, float, float]]:
        """[(iteration, value, wall_time)] of a train tag: 'Loss', 'LearningRate' or 'Throughput'."""
        if self._summaries is None:
            raise ValueError(f"Model '{self.name}': call set_tensorboard(log_dir, app_name) before fit")
        return self._summaries.train.read_scalar(tag)

    def get_validation_summary(self, tag: str) -> list[tuple[int, float, float]]:
        """[(iteration, value, wall_time)] of a validation tag ('Loss', 'Top1Accuracy', 'AucScore', ...)."""
        if self._summaries is None:
            raise ValueError(f"Model '{self.name}': call set_tensorboard(log_dir, app_name) before fit")
        return self._summaries.validation.read_scalar(tag)

    # ---- saving ---------------------------------------------------------------------------

    def save(self, filepath: str, overwrite: bool = True, include_optimizer: bool = True) -> None:
        """Write one zip: architecture and compile config (JSON), weights (.npz), optimizer and training state."""
        from zoo.keras import saving

        saving.save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath: str, overwrite: bool = True) -> None:
        """Weights only: a `.npz` (one array per weight, keyed `layer/weight`) or, for any other
        extension, a zoo zip without architecture."""
        from zoo.keras import saving

        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: str, skip_mismatch: bool = False, by_name: bool = False) -> None:
        """Load weights saved by `save_weights` or `save` (matched by layer/weight name, else by order)."""
        from zoo.keras import saving

        saving.load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name)

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


def _as_list(v) -> list:
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _get_loss(identifier):
    from zoo.keras import losses, objectives

    try:
        return losses.get(identifier)
    except ValueError:
        if isinstance(identifier, str) and identifier.lower() in objectives._ALIASES:
            return objectives.get(identifier)
        raise


class _Predictor:
    def __init__(self, model: Model):
        from zoo.engine.graph import Executor

        params = model.graph.parameters
        stores = {id(p.store) for p in params}
        store = params[0].store if params and len(stores) == 1 else None
        self.exe = Executor(model.graph, store=store)
        self.inputs = model.inputs

    def predict(self, xs, batch_size):
        xs = [np.ascontiguousarray(a, dtype=t.dtype) if t.dtype.kind == "f" else np.asarray(a)
              for a, t in zip(xs, self.inputs)]
        return self.exe.predict(xs, batch_size)


class Sequential(Model):
    """A linear stack of layers; the first needs `input_shape` (or start with an InputLayer or a built model)."""

    def __init__(self, layers=None, name: str | None = None):
        super().__init__(name=name)
        self.built = False
        self._stack: list[Layer] = []
        self._stack_outputs: list[Tensor | None] = []
        self._layers = []
        self._weights = []
        self._multi_in = self._multi_out = False
        self._output: Tensor | None = None
        self._input: Tensor | None = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Layer) -> Sequential:
        """Append a layer (calls it on the current output when the input shape is known)."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential '{self.name}': add() expects a Layer, got {type(layer).__name__}")
        if self._output is None:
            merged = getattr(layer, "output", None)
            if isinstance(merged, Tensor) and not isinstance(layer, InputLayer):
                # Keras 1: Sequential([Merge([left, right], mode=...), ...]) starts from the inputs of the branches
                self._input = _graph_inputs(merged)
                self._output = merged
                self._stack.append(layer)
                self._stack_outputs.append(merged)
                self._init_graph(self._input if len(self._input) > 1 else self._input[0], merged)
                return self
            if isinstance(layer, InputLayer):
                self._input = self._output = layer.output
                self._stack.append(layer)
                self._stack_outputs.append(layer.output)
                return self
            bis = layer.batch_input_shape
            if isinstance(layer, Model) and layer.built:
                if len(layer.inputs) != 1:
                    raise ValueError(f"Sequential '{self.name}': model '{layer.name}' has {len(layer.inputs)} "
                                     f"inputs; a Sequential layer needs one")
                bis = tuple(layer.inputs[0].shape)
            if bis is not None:
                inp = InputLayer(batch_input_shape=bis, name=G.unique_name(f"{self.name}_input"))
                self._input = self._output = inp.output
                self._stack.append(inp)
                self._stack_outputs.append(inp.output)
        self._stack.append(layer)
        if self._output is not None:
            out = layer(self._output)
            if isinstance(out, (list, tuple)):
                raise ValueError(f"Sequential '{self.name}': layer '{layer.name}' has several outputs; use Model")
            self._output = out
            self._stack_outputs.append(out)
            self._init_graph(self._input, self._output)
        else:
            self._stack_outputs.append(None)
        return self

    def _ensure_built(self, x=None) -> None:
        if not self.built and x is not None and self._stack and not isinstance(x, (dict, list, tuple)):
            self.build((None,) + tuple(np.shape(x)[1:]))
        super()._ensure_built(x)

    def build(self, input_shape=None) -> None:
        """Build with `input_shape` (batch axis included) when the first layer had none."""
        if self._output is not None:
            return
        if input_shape is None:
            raise ValueError(f"Sequential '{self.name}': give input_shape to build")
        pending = self._stack
        self._stack = []
        self._stack_outputs = []
        self.add(InputLayer(batch_input_shape=tuple(input_shape)))
        for layer in pending:
            self.add(layer)

    def pop(self) -> Layer:
        """Remove and return the last layer (the model then ends at the layer before it)."""
        real = [i for i, lay in enumerate(self._stack) if not isinstance(lay, InputLayer)]
        if not real:
            raise ValueError(f"Sequential '{self.name}': pop() on a model without layers")
        i = real[-1]
        layer = self._stack.pop(i)
        self._stack_outputs.pop(i)
        if len(real) == 1:
            self._output = self._input
            self._layers, self._weights, self._calls = [], [], []
            self.built = False
            self._trainer = self._predictor = None
        else:
            self._output = self._stack_outputs[-1]
            self._init_graph(self._input, self._output)
        self.compiled = None
        return layer


def load_model(filepath: str, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True) -> Model:
    """Load a model written by `Model.save` (see `zoo.keras.saving.load_model`)."""
    from zoo.keras import saving

    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def model_from_json(json_string: str, custom_objects: dict | None = None, safe_mode: bool = True) -> Model:
    """A model (fresh weights) from `Model.to_json()`."""
    import json

    from zoo.keras import saving

    return saving.model_from_config(json.loads(json_string), custom_objects, safe_mode=safe_mode)


def model_from_config(config: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> Model:
    """A model (fresh weights) from `{"class_name", "config"}` as `zoo.keras.saving.serialize_layer` makes."""
    from zoo.keras import saving

    return saving.model_from_config(config, custom_objects, safe_mode=safe_mode)
