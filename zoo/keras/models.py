"""Sequential and functional models with compile / fit / evaluate / predict, save and load.

A model is a Graph of engine nodes made by its layers; `compile` picks the loss,
optimizer and metrics, and the first `fit`/`evaluate` compiles one engine `Trainer`
that is reused by every later call (no per-call graph work). A model is itself a layer:
calling it on new tensors re-applies its layers (sharing their weights).

`Model` = `Network` (the graph, introspection, weights, summary; zoo.keras.network) +
`Training` (compile/fit/evaluate/predict on arrays; zoo.keras.training) + `SparkTraining`
(fit/predict on Spark DataFrames; zoo.keras.distributed).

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
from zoo.engine.graph import Tensor
from zoo.engine.trainer import Trainer
from zoo.keras.distributed import SparkTraining
from zoo.keras.layers.base import InputLayer, Layer
from zoo.keras.network import Network, _graph_inputs
from zoo.keras.training import Training

__all__ = ["Model", "Sequential", "load_model", "model_from_config", "model_from_json"]


class Model(SparkTraining, Training, Network):
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



class Sequential(Model):
    """A linear stack of layers; the first needs `input_shape` (or start with an InputLayer or a built model)."""

    _sequential = True

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

