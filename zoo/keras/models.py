"""Sequential and functional models with compile / fit / evaluate / predict.

A model is a Graph of engine nodes made by its layers; `compile` picks the loss,
optimizer and metrics, and the first `fit`/`evaluate` compiles one engine `Trainer`
that is reused by every later call (no per-call graph work).
"""

from __future__ import annotations

import numpy as np

from zoo.engine import graph as G
from zoo.engine import losses as engine_losses
from zoo.engine import metrics as engine_metrics
from zoo.engine.graph import Graph, Tensor
from zoo.engine.trainer import Callback as EngineCallback
from zoo.engine.trainer import Trainer
from zoo.engine.triggers import MaxEpoch
from zoo.keras import callbacks as cbks
from zoo.keras.layers.base import InputLayer, Layer

__all__ = ["Model", "Sequential"]


class _KerasHooks(EngineCallback):
    """Forwards the engine trainer's hooks to Keras-style callbacks."""

    def __init__(self, model, callbacks):
        self.model, self.callbacks = model, callbacks

    def on_train_begin(self, logs):
        for c in self.callbacks:
            c.on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs):
        for c in self.callbacks:
            c.on_epoch_begin(epoch, logs)

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
            c.on_epoch_end(epoch, logs)
        if self.model.stop_training:
            self.trainer.stop_training = True

    def on_train_end(self, logs):
        for c in self.callbacks:
            c.on_train_end(logs)


def _pick_metric(name, loss) -> engine_metrics.Metric:
    if isinstance(name, str) and name.lower() in ("accuracy", "acc"):
        lname = getattr(loss, "name", "")
        if "binary" in lname:
            return engine_metrics.BinaryAccuracy()
        if lname.startswith("categorical") or lname in ("kl_divergence",):
            return engine_metrics.Accuracy()
        return engine_metrics.SparseAccuracy()
    return engine_metrics.get(name)


class Model(Layer):
    """A graph of layers from `inputs` to `outputs` (lists for several)."""

    def __init__(self, inputs=None, outputs=None, name: str | None = None, input=None, output=None):  # noqa: A002
        super().__init__(name=name)
        inputs = inputs if inputs is not None else input
        outputs = outputs if outputs is not None else output
        self._trainer: Trainer | None = None
        self.stop_training = False
        self.compiled = None
        if inputs is not None:
            self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs) -> None:
        self._multi_in = isinstance(inputs, (list, tuple))
        self._multi_out = isinstance(outputs, (list, tuple))
        self.inputs = list(inputs) if self._multi_in else [inputs]
        self.outputs = list(outputs) if self._multi_out else [outputs]
        for t in self.inputs + self.outputs:
            if not isinstance(t, Tensor):
                raise TypeError(f"Model '{self.name}': inputs and outputs must be symbolic tensors, "
                                f"got {type(t).__name__}")
        self.graph = Graph(self.inputs, self.outputs)
        layers, seen = [], set()
        for node in self.graph.nodes:
            layer = node.tag
            if isinstance(layer, Layer) and id(layer) not in seen:
                seen.add(id(layer))
                layers.append(layer)
        self._layers = layers
        self._weights = []
        ids = set()
        for layer in layers:
            for p in layer.weights:
                if id(p) not in ids:
                    ids.add(id(p))
                    self._weights.append(p)
        self._weight_names = [p.name for p in self._weights]
        self._node_set = set(self.graph.nodes)
        self.built = True
        self._trainer = None

    # ---- introspection --------------------------------------------------------------------

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def get_layer(self, name: str) -> Layer:
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"Model '{self.name}': no layer named {name!r}; layers: {[lay.name for lay in self._layers]}")

    def get_weights(self) -> list[np.ndarray]:
        out = []
        for layer in self._layers:
            out.extend(layer.get_weights())
        return out

    def set_weights(self, weights) -> None:
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self._layers)
        if len(weights) != expected:
            raise ValueError(f"Model '{self.name}': expected {expected} weight arrays, got {len(weights)}")
        i = 0
        for layer in self._layers:
            n = len(layer.weights)
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

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes if self._multi_out else shapes[0]

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes if self._multi_in else shapes[0]

    def summary(self, line_length: int = 100, print_fn=None) -> str | None:
        """Print (or pass to `print_fn`) a table of layers, output shapes, parameter counts and inputs.

        In Jupyter the table is shown as HTML. The text is also returned.
        """
        rows = []
        for layer in self._layers:
            outs = [t for _, ts in layer.inbound for t in ts if t.node in self._node_set]
            shape = outs[0].shape if outs else "?"
            srcs = []
            for ins, ts in layer.inbound:
                if any(t.node in self._node_set for t in ts):
                    srcs += [t.node.tag.name if isinstance(t.node.tag, Layer) else t.node.name for t in ins]
            rows.append((f"{layer.name} ({type(layer).__name__})", str(shape), f"{layer.count_params():,}",
                         ", ".join(dict.fromkeys(srcs))))
        trainable = sum(p.size for p in self._weights if p.kind == "param" and p.trainable)
        total = sum(p.size for p in self._weights)
        header = ("Layer (type)", "Output Shape", "Param #", "Connected to")
        widths = [max(len(r[i]) for r in rows + [header]) + 2 for i in range(4)]
        sep = "=" * sum(widths)
        fmt = lambda r: "".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
        lines = [f'Model: "{self.name}"', sep, fmt(header), sep]
        for r in rows:
            lines.append(fmt(r))
        lines += [sep, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}", sep]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        elif cbks._in_notebook():
            from IPython.display import HTML, display

            cells = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
            display(HTML(f"<b>Model: {self.name}</b><table><tr>" + "".join(f"<th>{h}</th>" for h in header)
                         + f"</tr>{cells}</table><p>Total params: {total:,}<br>Trainable params: {trainable:,}"
                         f"<br>Non-trainable params: {total - trainable:,}</p>"))
        else:
            print(text)
        return text

    # ---- training API -------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, **kwargs) -> None:
        """Choose optimizer, loss (one, or one per output) and metrics (names or objects)."""
        from zoo.engine import optim

        if loss is None:
            raise ValueError(f"Model '{self.name}': compile needs a loss")
        self.compiled = {"optimizer": optim.get(optimizer), "loss": loss, "metrics": list(metrics or []),
                         "loss_weights": loss_weights}
        self._trainer = None

    def _ensure_built(self, x=None) -> None:
        if not self.built:
            raise ValueError(f"Model '{self.name}' is not built: give the first layer an input_shape")

    def _get_trainer(self) -> Trainer:
        if self.compiled is None:
            raise ValueError(f"Model '{self.name}': call compile(optimizer, loss) before fit/evaluate")
        if self._trainer is None:
            c = self.compiled
            losses = c["loss"] if isinstance(c["loss"], (list, tuple)) else [c["loss"]] * len(self.outputs)
            losses = [engine_losses.get(v) for v in losses]
            metrics = [_pick_metric(m, losses[0]) for m in c["metrics"]]
            regs = {}
            for layer in self._layers:
                regs.update(layer.regularizers)
            self._trainer = Trainer(self.graph, losses, c["optimizer"], loss_weights=c["loss_weights"],
                                    metrics=metrics, seed=getattr(self, "_seed", 0), regularizers=regs)
            self._trainer.clip_value = getattr(self, "_clip_value", None)
            self._trainer.clip_norm = getattr(self, "_clip_norm", None)
        return self._trainer

    def _arrays(self, x, names):
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            if missing:
                raise ValueError(f"Model '{self.name}': missing arrays for {missing}; got keys {sorted(x)}")
            return [x[n] for n in names]
        return list(x) if isinstance(x, (list, tuple)) else [x]

    def fit(self, x=None, y=None, batch_size: int | None = None, epochs: int = 1, verbose=1, callbacks=None,
            validation_split: float = 0.0, validation_data=None, shuffle: bool = True, class_weight=None,
            sample_weight=None, initial_epoch: int = 0, nb_epoch: int | None = None, **kwargs) -> cbks.History:
        """Train on numpy arrays (lists or dicts for several inputs/outputs); returns a History."""
        if kwargs:
            raise TypeError(f"Model.fit: unexpected argument(s) {sorted(kwargs)}")
        self._ensure_built(x)
        epochs = nb_epoch if nb_epoch is not None else epochs
        batch_size = 32 if batch_size is None else batch_size
        trainer = self._get_trainer()
        xs = self._arrays(x, [t.name for t in self.inputs])
        ys = self._arrays(y, [t.name for t in self.outputs])
        n = len(xs[0])
        sw = sample_weight
        if class_weight is not None:
            sw = self._class_weights(ys[0], class_weight, sw)
        if validation_split and validation_data is None:
            if not 0 < validation_split < 1:
                raise ValueError(f"Model.fit: validation_split must be in (0, 1), got {validation_split}")
            cut = int(n * (1 - validation_split))
            validation_data = ([a[cut:] for a in xs], [a[cut:] for a in ys])
            xs, ys = [a[:cut] for a in xs], [a[:cut] for a in ys]
            sw = None if sw is None else np.asarray(sw)[:cut]
        if validation_data is not None:
            vx, vy = validation_data[0], validation_data[1]
            vdata = (self._arrays(vx, [t.name for t in self.inputs]), self._arrays(vy, [t.name for t in self.outputs]))
            if len(validation_data) > 2:
                vdata = vdata + (validation_data[2],)
        else:
            vdata = None
        history = cbks.History()
        cb_list = list(callbacks or [])
        verbose = 1 if verbose == "auto" else int(verbose)
        if verbose:
            cb_list.append(cbks.ProgbarLogger(verbose))
        cb_list.append(history)
        params = {"epochs": epochs, "samples": len(xs[0]), "batch_size": batch_size, "verbose": verbose}
        for c in cb_list:
            c.set_model(self)
            c.set_params(params)
        self.stop_training = False
        if trainer.state.epoch < initial_epoch:
            trainer.state.epoch = initial_epoch
        trainer.fit(xs, ys, batch_size=batch_size, end_trigger=MaxEpoch(epochs), shuffle=shuffle,
                    sample_weight=sw, validation_data=vdata, callbacks=[_KerasHooks(self, cb_list)])
        self.history = history
        return history

    def _class_weights(self, y, class_weight, sample_weight):
        y = np.asarray(y)
        labels = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0]
        w = np.array([class_weight.get(int(v), 1.0) for v in labels], dtype=np.float32)
        return w if sample_weight is None else w * np.asarray(sample_weight, dtype=np.float32)

    def evaluate(self, x=None, y=None, batch_size: int = 32, verbose=0, sample_weight=None, return_dict=False):
        """Loss (and metrics) in inference mode: a scalar, a list [loss, *metrics], or a dict."""
        trainer = self._get_trainer()
        res = trainer.evaluate(self._arrays(x, [t.name for t in self.inputs]),
                               self._arrays(y, [t.name for t in self.outputs]), batch_size=batch_size,
                               sample_weight=sample_weight)
        if return_dict:
            return res
        vals = list(res.values())
        return vals[0] if len(vals) == 1 else vals

    def predict(self, x, batch_size: int = 32, verbose=0, **kwargs):
        """Outputs for x in inference mode (a list for several outputs)."""
        if self._trainer is None:
            self._predictor = getattr(self, "_predictor", None) or _Predictor(self)
            outs = self._predictor.predict(self._arrays(x, [t.name for t in self.inputs]), batch_size)
        else:
            outs = self._trainer.predict(self._arrays(x, [t.name for t in self.inputs]), batch_size=batch_size)
        return outs if self._multi_out else outs[0]

    def predict_classes(self, x, batch_size: int = 32, zero_based_label: bool = True):
        """Argmax class ids (0-based; `zero_based_label=False` adds 1 for Analytics Zoo code)."""
        p = self.predict(x, batch_size=batch_size)
        classes = (p > 0.5).astype(np.int64).reshape(len(p)) if p.shape[-1] == 1 else np.argmax(p, axis=-1)
        return classes if zero_based_label else classes + 1

    def train_on_batch(self, x, y, sample_weight=None) -> float:
        trainer = self._get_trainer()
        xs, ys, sws, _ = trainer._prepare(self._arrays(x, [t.name for t in self.inputs]),
                                          self._arrays(y, [t.name for t in self.outputs]), sample_weight)
        loss, _ = trainer.train_step(xs, ys, sws)
        trainer.state.iteration += 1
        return loss

    def test_on_batch(self, x, y, sample_weight=None):
        return self.evaluate(x, y, batch_size=len(self._arrays(x, [""])[0]), sample_weight=sample_weight)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=len(self._arrays(x, [t.name for t in self.inputs])[0]))

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

    # ---- as a layer ---------------------------------------------------------------------

    def call(self, x):
        raise NotImplementedError(f"Model '{self.name}': calling a model on new inputs is not supported yet")


class _Predictor:
    def __init__(self, model: Model):
        from zoo.engine.graph import Executor

        self.exe = Executor(model.graph)
        self.inputs = model.inputs

    def predict(self, xs, batch_size):
        xs = [np.ascontiguousarray(a, dtype=t.dtype) if t.dtype.kind == "f" else np.asarray(a)
              for a, t in zip(xs, self.inputs)]
        n = len(xs[0])
        chunks = None
        for start in range(0, n, batch_size):
            outs = self.exe.forward([a[start:start + batch_size] for a in xs], training=False)
            if chunks is None:
                chunks = [[] for _ in outs]
            for c, o in zip(chunks, outs):
                c.append(np.array(o, copy=True))
        return [np.concatenate(c) for c in chunks]


class Sequential(Model):
    """A linear stack of layers; the first needs `input_shape` (or start with an InputLayer)."""

    def __init__(self, layers=None, name: str | None = None):
        super().__init__(name=name)
        self.built = False
        self._stack: list[Layer] = []
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
            if isinstance(layer, InputLayer):
                self._input = self._output = layer.output
                self._stack.append(layer)
                return self
            if layer.batch_input_shape is not None:
                inp = InputLayer(batch_input_shape=layer.batch_input_shape, name=G.unique_name(f"{self.name}_input"))
                self._input = self._output = inp.output
                self._stack.append(inp)
        self._stack.append(layer)
        if self._output is not None:
            out = layer(self._output)
            if isinstance(out, (list, tuple)):
                raise ValueError(f"Sequential '{self.name}': layer '{layer.name}' has several outputs; use Model")
            self._output = out
            self._init_graph(self._input, self._output)
        return self

    def build(self, input_shape=None) -> None:
        """Build with `input_shape` (batch axis included) when the first layer had none."""
        if self._output is not None:
            return
        if input_shape is None:
            raise ValueError(f"Sequential '{self.name}': give input_shape to build")
        pending = self._stack
        self._stack = []
        self.add(InputLayer(batch_input_shape=tuple(input_shape)))
        for layer in pending:
            self.add(layer)

    def pop(self) -> None:
        raise NotImplementedError("Sequential.pop is not supported")
