"""Window geometry of convolution and pooling ops, for any number of spatial axes: padding forms and output sizes.

A padding is given as 'valid' (none), 'same' (TF rule per axis: output ceil(size / s), the odd
pixel after), a non-negative int (every side), n ints (both sides of each axis) or n explicit
(before, after) pairs; `parse_padding` turns it into the string or the pairs, `resolve_padding`
into the pairs for given sizes.

    >>> parse_padding(1, 2, "Conv2D")
    ((1, 1), (1, 1))
    >>> resolve_padding("same", (7, 6), (3, 3), (2, 2), (1, 1))
    ((1, 1), (0, 1))
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "as_tuple",
    "conv_output_size",
    "is_int",
    "out_sizes",
    "padding_config",
    "parse_padding",
    "parse_padding_2d",
    "resolve_padding",
    "resolve_pads",
    "same_pads",
]


def is_int(v) -> bool:
    """Whether v is an int (numpy ints too), not a bool."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def as_tuple(v, n: int, what: str, low: int = 1) -> tuple:
    """An int or an n-sequence of ints >= low as an n-tuple."""
    t = (v,) * n if is_int(v) else v
    try:
        t = tuple(t)
    except TypeError:
        t = ()
    if len(t) != n or not all(is_int(i) and i >= low for i in t):
        kind = "non-negative" if low == 0 else "positive"
        raise ValueError(f"{what} must be a {kind} int or {n} of them, got {v!r}")
    return tuple(int(i) for i in t)


def parse_padding(padding, n: int, what: str, allow=("valid", "same"), forms: str | None = None):
    """A padding spec as a string in `allow` or n explicit (before, after) pairs.

    Accepted: a string, a non-negative int (every side), n ints (both sides of each axis), or
    n (before, after) pairs. `forms` words the accepted forms in the error message.
    """
    if isinstance(padding, str):
        p = padding.lower()
        if p in allow:
            return p
    elif is_int(padding) and padding >= 0:
        return ((int(padding), int(padding)),) * n
    elif isinstance(padding, (tuple, list)) and len(padding) == n:
        if all(is_int(v) and v >= 0 for v in padding):
            return tuple((int(v), int(v)) for v in padding)
        if all(
            isinstance(v, (tuple, list)) and len(v) == 2 and all(is_int(u) and u >= 0 for u in v)
            for v in padding
        ):
            return tuple((int(v[0]), int(v[1])) for v in padding)
    if forms is None:
        names = ", ".join(repr(a) for a in allow)
        forms = f"{names}, a non-negative int, {n} of them or {n} (before, after) pairs"
    raise ValueError(f"{what}: padding must be {forms}, got {padding!r}")


def parse_padding_2d(padding, what: str):
    """'valid' | 'same' | ((top, bottom), (left, right)) from the accepted 2-D padding forms."""
    return parse_padding(padding, 2, what, forms="'valid', 'same', a non-negative int, a pair (ph, pw) or "
                                                  "((top, bottom), (left, right))")


def padding_config(padding):
    """A parsed padding as JSON: the string, or lists of (before, after)."""
    return padding if isinstance(padding, str) else [list(p) for p in padding]


def same_pads(size: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """TF 'SAME' padding (before, after) of one axis: output ceil(size / s), the odd pixel after."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def resolve_padding(padding, sizes, kernel, strides, dilation) -> tuple:
    """Explicit (before, after) pairs of a parsed padding for the spatial `sizes`."""
    if padding == "valid":
        return ((0, 0),) * len(sizes)
    if padding == "same":
        return tuple(same_pads(sizes[a], kernel[a], strides[a], dilation[a]) for a in range(len(sizes)))
    return tuple(padding)


#: the 2-D name: ((top, bottom), (left, right)) for hw = (H, W)
resolve_pads = resolve_padding


def conv_output_size(size: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    """floor((size + lo + hi - ((k - 1)*d + 1)) / s) + 1 (may be < 1 if the kernel does not fit)."""
    return (size + lo + hi - ((k - 1) * d + 1)) // s + 1


def out_sizes(padding, sizes, kernel, strides, dilation) -> tuple:
    """Output spatial sizes (None where unknown); ValueError if a kernel does not fit."""
    out = []
    for a, size in enumerate(sizes):
        if size is None or kernel[a] is None:
            out.append(None)
        elif padding == "same":
            out.append(-(-size // strides[a]))
        else:
            lo, hi = (0, 0) if padding == "valid" else padding[a]
            eff = (kernel[a] - 1) * dilation[a] + 1
            if size + lo + hi < eff:
                raise ValueError(
                    f"kernel {tuple(kernel)} (dilation {tuple(dilation)}) is larger than the padded "
                    f"input: spatial size {tuple(sizes)}, padding {padding!r}"
                )
            out.append((size + lo + hi - eff) // strides[a] + 1)
    return tuple(out)
