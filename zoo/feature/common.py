"""Composable preprocessing: the base class, chaining, and the Sample record.

A :class:`Preprocessing` maps one record to another (an ImageFeature to an
ImageFeature, an ImageFeature to a tensor, a Spark Row to an ImageFeature,
...). Chain them with ``ChainedPreprocessing([a, b, c])`` or ``a >> b >> c``.
Every preprocessing object is picklable, so a chain can travel to Spark
executors. Random transforms carry their own seeded generator; ``fork(key)``
gives an independent, reproducible copy (one per Spark partition, say).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["ChainedPreprocessing", "Preprocessing", "Sample"]


class Preprocessing:
    """Base of all preprocessing steps: ``y = self(x)``.

    Subclasses implement :meth:`apply`. ``a >> b`` builds
    ``ChainedPreprocessing([a, b])`` (Analytics Zoo writes ``a -> b``).

    Example:
        >>> class AddOne(Preprocessing):
        ...     def apply(self, x):
        ...         return x + 1
        >>> (AddOne() >> AddOne())(1)
        3
    """

    def apply(self, x: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.apply is not implemented")

    def __call__(self, x: Any) -> Any:
        return self.apply(x)

    def __rshift__(self, other: Preprocessing) -> ChainedPreprocessing:
        if not isinstance(other, Preprocessing):
            raise TypeError(f"{type(self).__name__} >> x: expected a Preprocessing on the right, "
                            f"got {type(other).__name__}")
        return ChainedPreprocessing([self, other])

    def fork(self, key: int) -> Preprocessing:
        """A copy whose random generators are re-seeded from ``(seed, key)``.

        Deterministic steps return ``self``. Used to give each Spark partition
        its own reproducible random stream.
        """
        return self

    def set_seed(self, seed: int | None) -> Preprocessing:
        """Re-seed the random generators of this step (and of its children); returns self."""
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ChainedPreprocessing(Preprocessing):
    """Apply ``preprocessings`` one after the other: ``y = p_n(...p_2(p_1(x)))``.

    Args:
        preprocessings: a non-empty list of Preprocessing objects; nested chains
            are flattened.

    Example:
        >>> class Twice(Preprocessing):
        ...     def apply(self, x):
        ...         return 2 * x
        >>> ChainedPreprocessing([Twice(), Twice(), Twice()])(1)
        8
    """

    def __init__(self, preprocessings: Sequence[Preprocessing]):
        if isinstance(preprocessings, Preprocessing) or not isinstance(preprocessings, Iterable):
            raise TypeError("ChainedPreprocessing: expected a list of Preprocessing, "
                            f"got {type(preprocessings).__name__}")
        flat: list[Preprocessing] = []
        for i, p in enumerate(preprocessings):
            if isinstance(p, ChainedPreprocessing):
                flat.extend(p.preprocessings)
            elif isinstance(p, Preprocessing):
                flat.append(p)
            else:
                raise TypeError(f"ChainedPreprocessing: element {i} is {type(p).__name__}, "
                                "expected a Preprocessing")
        if not flat:
            raise ValueError("ChainedPreprocessing: expected at least one Preprocessing, got an empty list")
        self.preprocessings = flat

    def apply(self, x: Any) -> Any:
        for p in self.preprocessings:
            x = p.apply(x)
        return x

    def __rshift__(self, other: Preprocessing) -> ChainedPreprocessing:
        return ChainedPreprocessing([self, other])

    def fork(self, key: int) -> ChainedPreprocessing:
        forked = [p.fork(key) for p in self.preprocessings]
        if all(a is b for a, b in zip(forked, self.preprocessings)):
            return self
        out = copy.copy(self)
        out.preprocessings = forked
        return out

    def set_seed(self, seed: int | None) -> ChainedPreprocessing:
        for i, p in enumerate(self.preprocessings):
            p.set_seed(None if seed is None else _child_seed(seed, i))
        return self

    def __len__(self) -> int:
        return len(self.preprocessings)

    def __repr__(self) -> str:
        return " >> ".join(repr(p) for p in self.preprocessings)


def _child_seed(seed: int, index: int) -> int:
    import numpy as np

    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint64)[0] >> 1)


class Sample:
    """One training record: a list of feature arrays and a list of label arrays.

    Args:
        features: an array or a list of arrays (several model inputs).
        labels: an array, a scalar, a list of them, or None (no label).
    """

    __slots__ = ("features", "labels")

    def __init__(self, features: Any, labels: Any = None):
        import numpy as np

        self.features = [np.asarray(f) for f in (features if isinstance(features, (list, tuple))
                                                 else [features])]
        if labels is None:
            self.labels = []
        else:
            self.labels = [np.asarray(v) for v in (labels if isinstance(labels, (list, tuple))
                                                   else [labels])]

    @property
    def feature(self):
        """The first feature array."""
        return self.features[0]

    @property
    def label(self):
        """The first label array, or None."""
        return self.labels[0] if self.labels else None

    def __getstate__(self):
        return (self.features, self.labels)

    def __setstate__(self, state):
        self.features, self.labels = state

    def __repr__(self) -> str:
        return (f"Sample(features={[f.shape for f in self.features]}, "
                f"labels={[v.shape for v in self.labels]})")
