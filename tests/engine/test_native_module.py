"""The C extension zoo.engine._native as one module: every kernel the Python side calls is there,
and the argument checks the wrappers share (csrc/args.c) answer alike in every kernel family."""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

from zoo.engine import _native

ROOT = pathlib.Path(__file__).resolve().parents[2]


def called_kernels() -> set[str]:
    """Names used as `_native.<name>` anywhere in the zoo package."""
    names = set()
    for path in (ROOT / "zoo").rglob("*.py"):
        names.update(re.findall(r"_native\.([A-Za-z_]\w*)", path.read_text()))
    return names


def test_every_kernel_the_python_side_calls_is_exported():
    names = called_kernels()
    assert len(names) > 50
    assert sorted(n for n in names if not callable(getattr(_native, n, None))) == []


def test_kernels_document_their_call():
    for name in called_kernels():
        doc = getattr(_native, name).__doc__
        assert doc and doc.startswith(name + "("), name


def f64(*shape):
    return np.zeros(shape)


# geometry of a 2x2x2 volume with a 1x1x1 window: (C, D, H, W, kernel, strides, dilations, pads, outputs)
GEO = (1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 2, 2, 2)
TANH, SIGMOID = 1, 2  # recurrent activation codes (kernels/rnn.py)


def relu_backward_in_place():
    x = f64(4)
    _native.relu_backward(x, x, f64(4), 4, 1)


def dropout_forward_in_place():
    x = f64(4)
    _native.dropout_forward(x, np.zeros(4, np.uint8), x, 4, 1, 0, 1.0, 1)


def maxpool3d_forward_in_place():
    x = f64(8)
    _native.maxpool3d_forward(x, np.zeros(8, np.int32), x, 1, GEO, 1)


def gru_step_with_float32_state():
    hs = f64(1).astype(np.float32)
    _native.gru_forward_step(f64(4), hs, f64(3), *[None] * 5, 1, 1, 1, 0, 0, 1, TANH, 0, 0, SIGMOID, 0, 0, 1)


BAD_CALLS = {
    "dtype code": (
        lambda: _native.relu_forward(f64(4), f64(4), 4, 7),
        ValueError,
        r"relu_forward: dtype code must be 0 \(float32\) or 1 \(float64\), got 7",
    ),
    "dtype code, norm": (
        lambda: _native.dropout_backward(f64(4), f64(4), np.zeros(4, np.uint8), 4, 1.0, 0, 2),
        ValueError,
        r"dropout_backward: dtype code must be 0 \(float32\) or 1 \(float64\), got 2",
    ),
    "element format, softmax": (
        lambda: _native.softmax_backward(f64(6), f64(6).astype(np.float32), f64(6), 2, 3, 1, 0, 0, 1),
        TypeError,
        "softmax_backward: dy has element format 'f', expected 'd'",
    ),
    "element format, gru": (
        gru_step_with_float32_state,
        TypeError,
        "gru_forward_step: hs has element format 'f', expected 'd'",
    ),
    "element count": (
        lambda: _native.relu_backward(f64(4), f64(3), f64(4), 4, 1),
        ValueError,
        "relu_backward: dy has 3 elements, expected 4",
    ),
    "element count, resize": (
        lambda: _native.upsample_forward(f64(7), f64(2), (1, 1, 1, 2, 1, 1, 1, 4), 0, 1),
        ValueError,
        "upsample_forward: y has 7 elements, expected 8",
    ),
    "required buffer": (
        lambda: _native.bn_backward(*[None] * 5, f64(2), f64(1), f64(1), f64(1), 2, 1, 1, 1, 0, 1),
        ValueError,
        "bn_backward: dy is required",
    ),
    "overlapping output": (
        relu_backward_in_place,
        ValueError,
        "relu_backward: an output overlaps another argument",
    ),
    "overlapping output, dropout": (
        dropout_forward_in_place,
        ValueError,
        "dropout_forward: an output overlaps another argument",
    ),
    "overlapping output, pool3d": (
        maxpool3d_forward_in_place,
        ValueError,
        "maxpool3d_forward: an output overlaps another argument",
    ),
    "byte buffer": (
        lambda: _native.dropout_forward(f64(4), f64(4), f64(4), 4, 1, 0, 1.0, 1),
        TypeError,
        "dropout_forward: mask has element format 'd', expected 'B'",
    ),
    "int64 ids": (
        lambda: _native.embedding_gather(f64(3, 2), f64(5, 2), np.zeros(3, np.int32), 3, 2, 5, 0, 0, 0, 0, 1),
        TypeError,
        "embedding_gather: ids must be int64, got element format 'i'",
    ),
    "int32 argmax": (
        lambda: _native.maxpool3d_forward(f64(8), np.zeros(8, np.int64), f64(8), 1, GEO, 1),
        TypeError,
        "maxpool3d_forward: argmax must hold int32, got format",
    ),
    "size overflow": (
        lambda: _native.act_forward(f64(4), f64(4), None, 2**40, 2**40, 1, 0, 0.0, 0.0, 1),
        ValueError,
        "zoo kernel: sizes must be non-negative and their product must fit",
    ),
    "kernel status": (
        lambda: _native.im2col(f64(1), f64(1), 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1),
        ValueError,
        r"zoo kernel im2col: invalid arguments \(status -1\)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_shared_argument_checks(case):
    call, error, message = BAD_CALLS[case]
    with pytest.raises(error, match=message):
        call()


def test_checked_calls_run_in_place_and_leave_buffers_released():
    x = np.array([-1.0, 2.0, -3.0, 4.0])
    _native.relu_forward(x, x, 4, 1)  # out may be x itself
    np.testing.assert_array_equal(x, [0.0, 2.0, 0.0, 4.0])
    y, mask = np.empty(8), np.empty(8, np.int32)
    vol = np.arange(8.0)
    _native.maxpool3d_forward(y, mask, vol, 1, GEO, 1)
    np.testing.assert_array_equal(y, vol)
    np.testing.assert_array_equal(mask, np.arange(8))
    for a in (x, y, mask, vol):  # no buffer export is left held: the arrays can be resized
        a.resize(a.size + 1, refcheck=False)
