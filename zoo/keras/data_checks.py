"""Checks of the arrays a model is given (`DataChecks`, mixed into `Model`).

x, y and sample weights come as one array, a list (one per input/output) or a dict keyed by
input/output name; every array is checked against its input's shape and the loss of its
output, and errors name the input or output, what was expected and what was given.
"""

from __future__ import annotations

import numpy as np

from zoo.keras.network import _fmt_shape

__all__ = ["DataChecks"]


class DataChecks:
    """x / y / sample_weight checks for a `Network` with `compiled` losses."""

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

    def _class_weights(self, y, class_weight, sample_weight):
        y = np.asarray(y)
        if not isinstance(class_weight, dict):
            raise TypeError(f"Model.fit: class_weight must be a dict {{class: weight}}, got "
                            f"{type(class_weight).__name__}")
        labels = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0]
        w = np.array([class_weight.get(int(v), 1.0) for v in labels], dtype=np.float32)
        return w if sample_weight is None else w * np.asarray(sample_weight, dtype=np.float32)

    def _training_arrays(self, who: str, x, y, sample_weight, class_weight):
        """(xs, ys, sample weights with class weights folded in, n) for a training call."""
        xs, n = self._check_x(x, who)
        ys = self._check_y(y, n, who)
        sw = self._check_sw(sample_weight, n, who)
        if class_weight is not None:
            first = sw[0] if isinstance(sw, list) else sw
            cw = self._class_weights(ys[0], class_weight, first)
            sw = [cw] + sw[1:] if isinstance(sw, list) else cw
        return xs, ys, sw, n
