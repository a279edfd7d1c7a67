"""Parameters in flat buffers.

All trainable weights of a model live in one contiguous float32 buffer (`ParamStore.data`)
and their gradients in a second (`ParamStore.grad`); each `Parameter.value` is a view into
`data`. Frozen weights stay in place and are masked (`ParamStore.mask` is 0 over them), so
freezing and unfreezing copy nothing. Non-trainable state such as batch-norm running
statistics lives in a third flat buffer (`ParamStore.state`), which is never optimised.
"""

from __future__ import annotations

import numpy as np

ALIGN = 16  # elements (64 bytes) between parameter starts


class Parameter:
    """A named weight (kind 'param') or a non-trainable state tensor (kind 'state')."""

    def __init__(self, name: str, value, trainable: bool = True, kind: str = "param"):
        if kind not in ("param", "state"):
            raise ValueError(f"Parameter {name!r}: kind must be 'param' or 'state', got {kind!r}")
        value = np.array(value, dtype=np.float32)
        self.name = name
        self.kind = kind
        self.shape = value.shape
        self._value = value
        self._trainable = bool(trainable) and kind == "param"
        self.store: ParamStore | None = None
        self.offset = -1
        self._node = None  # graph node, one per parameter (shared weights reuse it)

    @property
    def value(self) -> np.ndarray:
        return self._value

    @value.setter
    def value(self, v) -> None:
        self.set(v)

    def set(self, v) -> None:
        """Copy `v` into the parameter (its buffer stays where it is)."""
        v = np.asarray(v)
        if v.shape != self.shape:
            raise ValueError(f"Parameter {self.name!r}: expected shape {self.shape}, got {v.shape}")
        if not np.issubdtype(v.dtype, np.number):
            raise TypeError(f"Parameter {self.name!r}: expected a numeric array, got dtype {v.dtype}")
        self._value[...] = v

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, flag: bool) -> None:
        if self.kind != "param":
            raise ValueError(f"Parameter {self.name!r}: state tensors are never trainable")
        self._trainable = bool(flag)
        if self.store is not None:
            self.store._mask_changed(self)

    @property
    def grad(self) -> np.ndarray | None:
        """View of this parameter's gradient in its store's grad buffer (None if unbound or state)."""
        if self.store is None or self.kind != "param":
            return None
        return self.store.grad[self.offset : self.offset + self.size].reshape(self.shape)

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, shape={self.shape}, kind={self.kind!r}, trainable={self._trainable})"


def _layout(params: list[Parameter]) -> tuple[list[int], int]:
    offsets, n = [], 0
    for p in params:
        offsets.append(n)
        n += -(-p.size // ALIGN) * ALIGN if p.size else 0
    return offsets, n


class ParamStore:
    """Flat buffers over a list of parameters; binding moves their values into the buffers."""

    def __init__(self, params: list[Parameter]):
        seen: dict[int, Parameter] = {}
        for p in params:
            seen.setdefault(id(p), p)
        unique = list(seen.values())
        self.params = [p for p in unique if p.kind == "param"]
        self.states = [p for p in unique if p.kind == "state"]
        offs, n = _layout(self.params)
        soffs, sn = _layout(self.states)
        self.data = np.zeros(n, dtype=np.float32)
        self.grad = np.zeros(n, dtype=np.float32)
        self.mask = np.zeros(n, dtype=np.uint8)
        self.state = np.zeros(sn, dtype=np.float32)
        self.version = 0  # bumped when the trainable set changes
        for p, off in zip(self.params, offs):
            self._bind(p, self.data, off)
        for p, off in zip(self.states, soffs):
            self._bind(p, self.state, off)
        self._refresh_mask()

    def _bind(self, p: Parameter, flat: np.ndarray, off: int) -> None:
        view = flat[off : off + p.size].reshape(p.shape)
        view[...] = p._value
        p._value = view
        p.offset = off
        p.store = self

    def _refresh_mask(self) -> None:
        self.mask.fill(0)
        for p in self.params:
            if p.trainable:
                self.mask[p.offset : p.offset + p.size] = 1
        self.all_trainable = all(p.trainable for p in self.params)
        self.version += 1

    def _mask_changed(self, p: Parameter) -> None:
        self._refresh_mask()

    @classmethod
    def for_params(cls, params: list[Parameter]) -> ParamStore:
        """The store these parameters already share, or a new one binding them all."""
        stores = {id(p.store) for p in params}
        if params and len(stores) == 1 and params[0].store is not None:
            store = params[0].store
            if len(store.params) + len(store.states) == len({id(p) for p in params}):
                return store
        return cls(params)

    @property
    def size(self) -> int:
        """Number of weights (trainable or frozen), without alignment padding."""
        return sum(p.size for p in self.params)

    def zero_grad(self) -> None:
        self.grad.fill(0)

    def grad_views(self, flat: np.ndarray) -> list[np.ndarray]:
        """Views of `flat` (shaped like `grad`) per parameter, e.g. a replica's own gradient buffer."""
        if flat.shape != self.grad.shape or flat.dtype != np.float32:
            raise ValueError(f"ParamStore: expected a float32 buffer of shape {self.grad.shape}, got "
                             f"{flat.dtype} {flat.shape}")
        return [flat[p.offset : p.offset + p.size].reshape(p.shape) for p in self.params]

    def trainable_mask(self) -> np.ndarray | None:
        """The uint8 mask, or None when every parameter trains (kernels then skip it)."""
        return None if self.all_trainable else self.mask
