"""Test helpers: numeric comparison, finite-difference gradient checks, thread agreement."""

from __future__ import annotations

import json

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


# ---- Keras layers ---------------------------------------------------------------------------


def _model_for(layer, input_shape, dtype="float32"):
    from zoo.keras.layers import Input
    from zoo.keras.models import Model

    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    inputs = [Input(batch_shape=(None,) + tuple(s[1:]), dtype=dtype) for s in shapes]
    out = layer(inputs if isinstance(input_shape, list) else inputs[0])
    return Model(inputs if isinstance(input_shape, list) else inputs[0], out)


_INITIAL_VALUES = {"weights", "init_weight", "init_bias"}


def _saved_config(layer) -> dict:
    """The layer's config as a saved model holds it (through JSON; get_config's own for a layer holding
    Python code), without the name."""
    from zoo.keras import saving

    try:
        config = json.loads(json.dumps(saving.serialize_layer(layer)["config"]))
    except ValueError:
        config = layer.get_config()
    config.pop("name", None)
    return config


def _regularizer_configs(layer) -> list:
    from zoo.keras import regularizers

    return [(i, regularizers.serialize(layer.regularizers[p])) for i, p in enumerate(layer.weights)
            if p in layer.regularizers]


def check_layer(layer_cls, kwargs: dict, input_shape, expected_output_shape=None, expected_num_weights=None,
                input_data=None, rng_seed: int = 0, train: bool = True, input_dtype="float32"):
    """Build `layer_cls(**kwargs)` on `input_shape` (batch included, or a list of them), run it, and check:
    output shape, number of weights, config round trip (from_config gives the same config, the same
    initial weights from the same seed, the same regularizers, and the same output with the same
    weights), get/set_weights round trip, and one training step that changes the weights.
    Returns (layer, output)."""
    rng = np.random.default_rng(rng_seed)
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    if input_data is None:
        xs = [rng.standard_normal(s).astype(np.float32) if input_dtype == "float32" else
              rng.integers(0, 5, s).astype(input_dtype) for s in shapes]
    else:
        xs = input_data if isinstance(input_data, list) else [input_data]
    from zoo.keras import backend

    seed_state = backend.rng().bit_generator.state
    layer = layer_cls(**kwargs)
    model = _model_for(layer, input_shape, input_dtype)
    y = model.predict(xs if len(xs) > 1 else xs[0], batch_size=len(xs[0]))
    ys = y if isinstance(y, list) else [y]
    if expected_output_shape is not None:
        exp = expected_output_shape if isinstance(expected_output_shape, list) else [expected_output_shape]
        assert [tuple(v.shape) for v in ys] == [tuple(e) for e in exp], f"output shapes {[v.shape for v in ys]}"
    for v in ys:
        assert np.all(np.isfinite(v)), f"{layer_cls.__name__}: non-finite output"
    weights = layer.get_weights()
    if expected_num_weights is not None:
        assert len(weights) == expected_num_weights, f"{len(weights)} weights, expected {expected_num_weights}"
    # config round trip: the same config (initializers and regularizers included), the same initial
    # weights when drawn from the same seed, the same regularizers, then the same output
    config = _saved_config(layer)
    after_state = backend.rng().bit_generator.state
    backend.rng().bit_generator.state = seed_state
    clone = type(layer).from_config(config)
    model2 = _model_for(clone, input_shape, input_dtype)
    backend.rng().bit_generator.state = after_state
    clone_config = _saved_config(clone)
    assert clone_config == config, f"{layer_cls.__name__}: config round trip {clone_config} != {config}"
    if not _INITIAL_VALUES & set(kwargs):  # initial values given as arrays are not part of a config
        for a, b in zip(weights, clone.get_weights()):
            np.testing.assert_array_equal(a, b, err_msg=f"{layer_cls.__name__}: initial weights after a config "
                                                        f"round trip (same seed)")
    assert _regularizer_configs(clone) == _regularizer_configs(layer), f"{layer_cls.__name__}: regularizers"
    clone.set_weights(weights)
    y2 = model2.predict(xs if len(xs) > 1 else xs[0], batch_size=len(xs[0]))
    for a, b in zip(ys, y2 if isinstance(y2, list) else [y2]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6, err_msg=f"{layer_cls.__name__}: config round trip")
    for a, b in zip(weights, clone.get_weights()):
        np.testing.assert_array_equal(a, b)
    if train and any(p.trainable for p in layer.weights if p.kind == "param"):
        from zoo.engine.optim import SGD

        model.compile(SGD(0.1), "mse")
        before = [w.copy() for w in layer.get_weights()]
        targets = [rng.standard_normal(v.shape).astype(np.float32) for v in ys]
        model.fit(xs if len(xs) > 1 else xs[0], targets if len(targets) > 1 else targets[0],
                  batch_size=len(xs[0]), epochs=1, verbose=0, shuffle=False)
        after = layer.get_weights()
        assert any(not np.array_equal(a, b) for a, b in zip(before, after)), "a training step changed no weight"
    return layer, (ys if len(ys) > 1 else ys[0])


def copy_weights_to_keras(zoo_layer, tf_layer) -> None:
    """Give a built tf.keras layer the zoo layer's weights (both in Keras order and shapes)."""
    tf_layer.set_weights(zoo_layer.get_weights())


def check_keras_parity(zoo_layer, tf_layer, x, rtol: float = 1e-5, atol: float = 1e-5, training: bool = False,
                       grads: bool = True) -> None:
    """Same weights, same input -> same output as tf.keras (and same input/weight gradients of sum(y * r))."""
    import tensorflow as tf

    xs = x if isinstance(x, list) else [x]
    model = _model_for(zoo_layer, [(None,) + v.shape[1:] for v in xs] if isinstance(x, list)
                       else (None,) + x.shape[1:])
    tf_in = [tf.constant(v) for v in xs]
    tf_layer(tf_in if isinstance(x, list) else tf_in[0])  # build
    copy_weights_to_keras(zoo_layer, tf_layer)
    from zoo.engine.graph import Executor

    exe = Executor(model.graph)
    y = exe.forward(xs, training=training)[0].copy()
    with tf.GradientTape(persistent=True) as tape:
        for v in tf_in:
            tape.watch(v)
        ty = tf_layer(tf_in if isinstance(x, list) else tf_in[0], training=training)
        r = np.random.default_rng(5).standard_normal(y.shape).astype(np.float32)
        loss = tf.reduce_sum(ty * r)
    assert_close(y, ty.numpy(), rtol=rtol, atol=atol, err_msg="forward vs tf.keras")
    if not grads:
        return
    store = exe.store
    gx = exe.backward([r], input_grads=True)
    tgx = tape.gradient(loss, tf_in)
    for a, b in zip(gx, tgx):
        if a is not None and b is not None:
            assert_close(a, b.numpy(), rtol=rtol, atol=atol, err_msg="input gradient vs tf.keras")
    tgw = tape.gradient(loss, tf_layer.trainable_weights)
    names = [n for n, p in zip(zoo_layer._weight_names, zoo_layer.weights) if p.kind == "param" and p.trainable]
    zoo_params = [p for p in zoo_layer.weights if p.kind == "param" and p.trainable]
    for n, p, tg in zip(names, zoo_params, tgw):
        g = zoo_layer.to_keras_weight(n, store.grad[p.offset:p.offset + p.size].reshape(p.shape))
        assert_close(g, tg.numpy(), rtol=rtol, atol=atol, err_msg=f"gradient of weight {n} vs tf.keras")
