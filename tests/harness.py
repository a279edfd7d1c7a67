"""Test helpers: numeric comparison, finite-difference gradient checks, thread agreement."""

from __future__ import annotations

import numpy as np

from zoo.engine import threads
from zoo.engine.ops.base import Ctx, Op


def assert_close(actual, expected, rtol: float = 1e-5, atol: float = 1e-6, err_msg: str = "") -> None:
    """assert_allclose that also accepts tensors from other frameworks."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != expected {expected.shape} {err_msg}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=err_msg)


def run_op(op: Op, *xs, training: bool = False, seed: int = 0, needs_grad=None):
    """Forward of one op outside a graph; returns (output, ctx)."""
    ctx = Ctx(type(op).__name__, training=training, seed=seed, n_inputs=len(xs))
    if needs_grad is not None:
        ctx.needs_grad = tuple(needs_grad)
    y = op.forward(ctx, *xs)
    return y, ctx


def check_grad(op: Op, inputs, wrt=None, training: bool = False, seed: int = 0, eps: float = 1e-6,
               rtol: float = 1e-4, atol: float = 1e-6, max_checks: int = 60, rng_seed: int = 0) -> None:
    """Compare op.backward with central finite differences, in float64.

    `inputs` are converted to float64 (integer arrays stay as they are); `wrt` lists the
    input indices to check (default: every float input not in op.nondiff_inputs). The loss
    is sum(r * y) for a fixed random r, so every output element counts. At most
    `max_checks` elements per input are perturbed (chosen at random, always including
    the first and last).
    """
    xs = [np.array(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f" else np.asarray(x) for x in inputs]
    if wrt is None:
        wrt = [i for i, x in enumerate(xs) if x.dtype.kind == "f" and i not in op.nondiff_inputs]
    rng = np.random.default_rng(rng_seed)

    def fwd(vals):
        y, ctx = run_op(op, *[v.copy() for v in vals], training=training, seed=seed)
        return y, ctx

    y, _ = fwd(xs)
    multi = isinstance(y, tuple)
    ys = y if multi else (y,)
    rs = tuple(rng.standard_normal(np.shape(v)) for v in ys)

    def loss(vals):
        out, _ = fwd(vals)
        outs = out if multi else (out,)
        return float(sum(np.sum(r * o) for r, o in zip(rs, outs)))

    needs = tuple(i in wrt for i in range(len(xs)))
    _, ctx = run_op(op, *[v.copy() for v in xs], training=training, seed=seed, needs_grad=needs)
    grads = op.backward(ctx, tuple(r.copy() for r in rs) if multi else rs[0].copy())
    for i in wrt:
        g = grads[i]
        assert g is not None, f"{type(op).__name__}: no gradient for input {i}"
        g = np.asarray(g, dtype=np.float64)
        assert g.shape == xs[i].shape, f"{type(op).__name__}: grad {i} shape {g.shape} != input {xs[i].shape}"
        n = xs[i].size
        idx = np.arange(n) if n <= max_checks else np.unique(
            np.concatenate([[0, n - 1], rng.choice(n, max_checks - 2, replace=False)]))
        num = np.empty(len(idx))
        for k, j in enumerate(idx):
            plus = [v.copy() for v in xs]
            minus = [v.copy() for v in xs]
            plus[i].reshape(-1)[j] += eps
            minus[i].reshape(-1)[j] -= eps
            num[k] = (loss(plus) - loss(minus)) / (2 * eps)
        np.testing.assert_allclose(g.reshape(-1)[idx], num, rtol=rtol, atol=atol,
                                   err_msg=f"{type(op).__name__}: gradient of input {i}")


def check_threads(fn, exact: bool = True, rtol: float = 1e-6, atol: float = 1e-6) -> None:
    """fn() must give the same arrays with 1 and 2 threads (bitwise if `exact`)."""
    with threads.num_threads(1):
        a = fn()
    with threads.num_threads(2):
        b = fn()
    a = a if isinstance(a, (tuple, list)) else (a,)
    b = b if isinstance(b, (tuple, list)) else (b,)
    for x, y in zip(a, b):
        if exact:
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
        else:
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)
