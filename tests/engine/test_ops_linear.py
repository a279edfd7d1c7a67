import numpy as np
import pytest

from tests.harness import assert_close, check_grad, check_threads, run_op
from zoo.engine import ops


@pytest.mark.parametrize("n,i,o", [(1, 1, 1), (3, 5, 2), (17, 33, 9)])
def test_linear(n, i, o, rng, tf):
    x, w, b = rng.normal(size=(n, i)), rng.normal(size=(i, o)), rng.normal(size=o)
    y, _ = run_op(ops.Linear(), x, w, b)
    assert_close(y, x @ w + b, rtol=1e-10)
    check_grad(ops.Linear(), [x, w, b])
    check_grad(ops.Linear(), [x, w])
    assert_close(y, tf.linalg.matmul(x, w) + b, rtol=1e-10)


def test_linear_nd_and_threads(rng):
    x, w = rng.normal(size=(2, 3, 5)).astype(np.float32), rng.normal(size=(5, 4)).astype(np.float32)
    y, _ = run_op(ops.Linear(), x, w)
    assert y.shape == (2, 3, 4)
    check_grad(ops.Linear(), [x, w])
    check_threads(lambda: run_op(ops.Linear(), x, w)[0].copy(), exact=False)


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul(ta, tb, rng):
    a = rng.normal(size=(2, 4, 3) if ta else (2, 3, 4))
    b = rng.normal(size=(5, 4) if tb else (4, 5))
    op = ops.MatMul(ta, tb)
    y, _ = run_op(op, a, b)
    ref = np.matmul(np.swapaxes(a, -1, -2) if ta else a, b.T if tb else b)
    assert_close(y, ref, rtol=1e-10)
    check_grad(op, [a, b])


def test_linear_shape_error():
    with pytest.raises(ValueError, match=r"expected last input axis 8, got input shape \(None, 10\)"):
        ops.Linear().infer_shape((None, 10), (8, 4))
