"""Saving: one zip (JSON + npz, no pickle), exact resume of training, damaged files, safe_mode, custom layers."""

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from zoo.engine.functional import mul_scalar
from zoo.keras import initializers, saving
from zoo.keras import layers as L
from zoo.keras.models import Model, Sequential, load_model, model_from_json
from zoo.keras.optimizers import SGD, Adam
from zoo.keras.regularizers import L1L2, L2, Regularizer


def _seq():
    return Sequential([L.Dense(16, activation="relu", input_shape=(8,)), L.Dropout(0.3),
                       L.BatchNormalization(), L.Dense(3, activation="softmax")])


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 8)).astype(np.float32), rng.integers(0, 3, n)


def _functional():
    a, b = L.Input((8,), name="a"), L.Input((5,), name="b")
    shared = L.Dense(6, activation="tanh", name="shared")
    h = L.Concatenate(name="cat")([shared(a), L.Dense(6, name="pb")(b), shared(a)])
    inner = Sequential([L.Dense(4, activation="relu", input_shape=(18,)), L.Dense(2)], name="inner")
    return Model([a, b], [inner(h), L.Dense(1, name="reg")(h)], name="fun")


def test_zip_layout_is_json_and_npz_without_pickle(tmp_path):
    x, y = _data()
    m = _seq()
    m.compile(Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "m.zoo")
    m.save(path)
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["config.json", "optimizer.npz", "weights.npz"]
        meta = json.loads(z.read("config.json"))
        with np.load(io.BytesIO(z.read("weights.npz")), allow_pickle=False) as w:
            keys = list(w.files)
            assert w[keys[0]].shape == (8, 16)
        with np.load(io.BytesIO(z.read("optimizer.npz")), allow_pickle=False) as o:
            assert {k.split("::")[0] for k in o.files} == {"m", "v"}
    assert meta["format"] == "zoo.keras" and meta["model"]["class_name"] == "Sequential"
    assert [e["key"] for e in meta["weights"]] == keys
    assert keys[0].endswith("/kernel") and len(keys) == 8  # dense 2 + bn 4 + dense 2
    assert meta["compile"]["optimizer"]["class_name"] == "Adam"
    assert meta["trainer"]["epoch"] == 1 and meta["trainer"]["iteration"] == 3


@pytest.mark.parametrize("opt", [lambda: Adam(0.01), lambda: SGD(0.05, momentum=0.9, nesterov=True)])
def test_load_model_continues_training_exactly(tmp_path, opt):
    x, y = _data()
    m = _seq()
    m.compile(opt(), "sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / "m.zoo")
    m.save(path)
    loaded = load_model(path)
    assert loaded.compiled["optimizer"].get_config() == m.compiled["optimizer"].get_config()
    for a, b in zip(m.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    runs = []
    for model in (m, loaded):
        batch_losses = []
        from zoo.keras.callbacks import LambdaCallback

        cb = LambdaCallback(on_train_batch_end=lambda b, logs, out=batch_losses: out.append(logs["loss"]))
        h = model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[cb])
        runs.append((batch_losses, h.history, model.get_weights()))
    assert runs[0][0] == runs[1][0]  # same shuffling, dropout masks, optimizer state: bitwise equal
    assert runs[0][1] == runs[1][1]
    for a, b in zip(runs[0][2], runs[1][2]):
        np.testing.assert_array_equal(a, b)


def test_functional_with_shared_and_nested_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    xa, xb = rng.standard_normal((10, 8)).astype(np.float32), rng.standard_normal((10, 5)).astype(np.float32)
    m = _functional()
    m.compile("sgd", ["mse", "mse"], metrics={"reg": ["mae"]}, loss_weights=[1.0, 0.3])
    path = str(tmp_path / "f.zoo")
    m.save(path)
    loaded = load_model(path)
    assert [lay.name for lay in loaded.layers] == [lay.name for lay in m.layers]
    for p, q in zip(m.predict([xa, xb]), loaded.predict([xa, xb])):
        np.testing.assert_array_equal(p, q)
    assert loaded.compiled["loss_weights"] == [1.0, 0.3]
    assert loaded.output_names == ["inner", "reg"]
    # the JSON architecture alone rebuilds the same graph with fresh weights
    clone = model_from_json(m.to_json())
    clone.set_weights(m.get_weights())
    for p, q in zip(m.predict([xa, xb]), clone.predict([xa, xb])):
        np.testing.assert_array_equal(p, q)
    # compile=False leaves the model uncompiled
    assert load_model(path, compile=False).compiled is None


def test_loaded_layers_keep_new_names_unique(tmp_path):
    m = _seq()
    path = str(tmp_path / "m.zoo")
    m.save(path)
    loaded = load_model(path)
    head = L.Dense(2)
    x = L.Input((8,))
    model = Model(x, head(loaded(x)))  # would fail on duplicate node names
    assert head.name not in [lay.name for lay in loaded.layers]
    assert model.predict(np.zeros((1, 8), np.float32)).shape == (1, 2)


def _damage(path, fn):
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    fn(members)
    with zipfile.ZipFile(path, "w") as z:
        for n, v in members.items():
            z.writestr(n, v)


def _trained_and_saved(tmp_path):
    """(model, path, file bytes) of a small trained model saved to tmp_path/good.zoo."""
    m = _seq()
    m.compile("adam", "sparse_categorical_crossentropy")
    m.fit(*_data(), verbose=0)
    good = str(tmp_path / "good.zoo")
    m.save(good)
    return m, good, Path(good).read_bytes()


def test_damaged_files_give_clear_errors(tmp_path):
    _, good, data = _trained_and_saved(tmp_path)

    def variant(name, content):
        p = str(tmp_path / name)
        with open(p, "wb") as f:
            f.write(content)
        return p

    p = variant("trunc.zoo", data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"load_model\('.*trunc.zoo'\): (not a readable zoo zip|no config.json in "
                                         r"the zip; not a zoo model file, or truncated)"):
        load_model(p)
    p = variant("trunc2.zoo", data[:-10])
    with pytest.raises(ValueError, match=r"load_model\('.*trunc2.zoo'\): not a readable zoo zip \(truncated"):
        load_model(p)
    flipped = bytearray(data)
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("weights.npz")
    flipped[info.header_offset + 200] ^= 0xFF  # inside the stored weights
    with pytest.raises(ValueError, match=r"flip.zoo.*(CRC|not a readable)"):
        load_model(variant("flip.zoo", bytes(flipped)))
    with pytest.raises(ValueError, match="not a readable zoo zip"):
        load_model(variant("garbage.zoo", b"hello world" * 10))

    p = variant("tamper.zoo", data)  # rewritten with fresh CRCs: the SHA-256 digest catches it
    _damage(p, lambda mem: mem.__setitem__("weights.npz", mem["weights.npz"][:-40] + b"\0" * 40))
    with pytest.raises(ValueError, match=r"member 'weights.npz' does not match its SHA-256 digest"):
        load_model(p)

    def pickled(mem):
        buf = io.BytesIO()
        np.savez(buf, x=np.array([object()], dtype=object))
        mem["weights.npz"] = buf.getvalue()
        meta = json.loads(mem["config.json"])
        import hashlib

        meta["sha256"]["weights.npz"] = hashlib.sha256(mem["weights.npz"]).hexdigest()
        mem["config.json"] = json.dumps(meta).encode()

    p = variant("pickle.zoo", data)
    _damage(p, pickled)
    with pytest.raises(ValueError, match="'weights.npz' is not a valid pickle-free .npz"):
        load_model(p)

    p = variant("json.zoo", data)
    _damage(p, lambda mem: mem.__setitem__("config.json", mem["config.json"][:50]))
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        load_model(p)

    def unknown_layer(mem):
        meta = json.loads(mem["config.json"])
        meta["model"]["config"]["layers"][1]["class_name"] = "os.system"
        mem["config.json"] = json.dumps(meta).encode()

    p = variant("unknown.zoo", data)
    _damage(p, unknown_layer)
    with pytest.raises(ValueError, match="unknown layer class 'os.system'"):
        load_model(p)

    def bad_shape(mem):
        meta = json.loads(mem["config.json"])
        meta["model"]["config"]["layers"][1]["config"]["units"] = 17
        mem["config.json"] = json.dumps(meta).encode()

    p = variant("shape.zoo", data)
    _damage(p, bad_shape)
    with pytest.raises(ValueError, match=r"weight '.*/kernel' has shape \(8, 16\), model '.*' expects \(8, 17\)"):
        load_model(p)

    p = variant("missing.zoo", data)
    _damage(p, lambda mem: mem.pop("optimizer.npz"))
    with pytest.raises(ValueError, match="member 'optimizer.npz' is missing"):
        load_model(p)


def test_failed_load_weights_changes_nothing(tmp_path):
    m = _seq()
    other = Sequential([L.Dense(16, input_shape=(8,)), L.Dense(3)])
    p = str(tmp_path / "w.npz")
    other.save_weights(p)
    before = m.get_weights()
    with pytest.raises(ValueError, match="holds 4 weight arrays, model '.*' has 8"):
        m.load_weights(p)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_save_and_load_weights_npz_and_zip(tmp_path):
    x, _ = _data(5)
    m = _seq()
    for name in ("w.npz", "w.weights.zip"):
        p = str(tmp_path / name)
        m.save_weights(p)
        fresh = _seq()  # other layer names: matched by order
        fresh.load_weights(p)
        np.testing.assert_array_equal(fresh.predict(x), m.predict(x))
    full = str(tmp_path / "full.zoo")
    m.save(full)
    fresh = _seq()
    fresh.load_weights(full)
    np.testing.assert_array_equal(fresh.predict(x), m.predict(x))
    with pytest.raises(ValueError, match="overwrite=False"):
        m.save_weights(str(tmp_path / "w.npz"), overwrite=False)


def test_load_weights_skip_mismatch(tmp_path):
    a = Sequential([L.Dense(4, input_shape=(3,), name="d1"), L.Dense(2, name="d2")])
    b = Sequential([L.Dense(4, input_shape=(3,), name="d1"), L.Dense(5, name="d2")])
    p = str(tmp_path / "a.npz")
    a.save_weights(p)
    with pytest.raises(ValueError, match=r"weight 'd2/kernel' has shape \(4, 2\), model '.*' expects \(4, 5\)"):
        b.load_weights(p)
    before = b.get_layer("d2").get_weights()
    with pytest.warns(UserWarning, match="skipping layer 'd2'"):
        b.load_weights(p, skip_mismatch=True)
    np.testing.assert_array_equal(b.get_layer("d1").get_weights()[0], a.get_layer("d1").get_weights()[0])
    np.testing.assert_array_equal(b.get_layer("d2").get_weights()[0], before[0])


class TimesFactor(L.Layer):
    """y = x * factor * w (a custom layer with one weight)."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = float(factor)

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), "ones")

    def call(self, x):
        from zoo.engine import functional as F

        return mul_scalar(F.mul(x, self.w), self.factor)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@saving.register_keras_serializable(package="tests")
class RegisteredTimesFactor(TimesFactor):
    pass


def test_custom_layers_need_custom_objects_or_registration(tmp_path):
    x = np.ones((2, 3), np.float32)
    m = Sequential([TimesFactor(3.0, input_shape=(3,), name="scale")])
    p = str(tmp_path / "c.zoo")
    m.save(p)
    with pytest.raises(ValueError, match=r"unknown layer class 'TimesFactor' \(layer 'scale'\); pass it in custom_objects"):
        load_model(p)
    np.testing.assert_array_equal(load_model(p, custom_objects={"TimesFactor": TimesFactor}).predict(x), m.predict(x))
    r = Sequential([RegisteredTimesFactor(0.5, input_shape=(3,))])
    r.save(p)
    assert json.loads(zipfile.ZipFile(p).read("config.json"))["model"]["config"]["layers"][1]["class_name"] == \
        "tests>RegisteredTimesFactor"
    np.testing.assert_array_equal(load_model(p).predict(x), r.predict(x))


class UnsafeTimesFactor(TimesFactor):
    def get_config(self):
        return {**super().get_config(), "unsafe_to_load": True}


def test_safe_mode_refuses_layers_holding_code(tmp_path):
    x = np.ones((2, 3), np.float32)
    m = Sequential([UnsafeTimesFactor(2.0, input_shape=(3,), name="unsafe")])
    p = str(tmp_path / "u.zoo")
    m.save(p)
    with pytest.raises(ValueError, match=r"layer 'unsafe' \(UnsafeTimesFactor\) holds Python code.*safe_mode=False"):
        load_model(p, custom_objects={"UnsafeTimesFactor": UnsafeTimesFactor})
    loaded = load_model(p, custom_objects={"UnsafeTimesFactor": UnsafeTimesFactor}, safe_mode=False)
    np.testing.assert_array_equal(loaded.predict(x), m.predict(x))


def test_lambda_layer_loads_only_with_safe_mode_false(tmp_path):
    autograd = pytest.importorskip("zoo.autograd")
    inp = L.Input((3,))
    out = L.Dense(2, name="d")(autograd.Lambda(lambda v: v * 2.0 + 1.0, name="lam")(inp))
    m = Model(inp, out)
    p = str(tmp_path / "lambda.zoo")
    m.save(p)
    with pytest.raises(ValueError, match="safe_mode=False"):
        load_model(p)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(load_model(p, safe_mode=False).predict(x), m.predict(x), rtol=1e-6)


def test_unsavable_things_are_refused_before_writing(tmp_path):
    m = Sequential([L.Dense(2, activation=lambda t: t, input_shape=(3,), name="pyact")])
    p = str(tmp_path / "x.zoo")
    with pytest.raises(ValueError, match=r"cannot save Dense 'pyact': its activation is a Python function"):
        m.save(p)
    assert not os.path.exists(p)


def test_random_damage_gives_value_error_or_the_same_model(tmp_path):
    x = np.ones((4, 8), np.float32)
    m, _, data = _trained_and_saved(tmp_path)
    rng = np.random.default_rng(0)
    bad = str(tmp_path / "bad.zoo")
    outcomes = {"error": 0, "same": 0}
    for trial in range(120):
        b = bytearray(data)
        if trial % 2:
            i = int(rng.integers(len(b)))
            b[i] ^= 1 << int(rng.integers(8))
        else:
            b = b[: int(rng.integers(len(b)))]
        Path(bad).write_bytes(bytes(b))
        try:
            loaded = load_model(bad)
        except ValueError:
            outcomes["error"] += 1
            continue
        np.testing.assert_array_equal(loaded.predict(x), m.predict(x))  # the flip hit a harmless header byte
        outcomes["same"] += 1
    assert outcomes["error"] >= 100


# ---- initializers and regularizers ---------------------------------------------------------------


def test_regularized_model_round_trip_keeps_the_penalty(tmp_path):
    x, y = _data(32)
    m = Sequential([L.Dense(16, activation="relu", input_shape=(8,), kernel_regularizer=L2(0.05),
                            bias_regularizer="l2"),
                    L.Dense(3, activation="softmax", W_regularizer=L1L2(0.01, 0.02))])
    m.compile(SGD(0.1), "sparse_categorical_crossentropy")
    m.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / "reg.zoo")
    m.save(path)
    loaded = load_model(path)

    def penalty(model):
        return sum(r.penalty(p.value) for p, r in model.regularizers.items())

    assert len(loaded.regularizers) == 3 and penalty(loaded) == penalty(m) > 0.01
    assert loaded.evaluate(x, y, batch_size=32) == m.evaluate(x, y, batch_size=32)
    # one more step: the same total loss (data loss + penalty) and the same weights
    assert loaded.train_on_batch(x[:16], y[:16]) == m.train_on_batch(x[:16], y[:16])
    for a, b in zip(m.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


class _Halves(initializers.Initializer):
    def __call__(self, shape):
        return np.full(shape, 0.5, np.float32)


class _MyL2(Regularizer):
    def __init__(self, strength: float = 0.1):
        self.strength = self.l2 = strength

    def get_config(self):
        return {"strength": self.strength}


def test_custom_initializer_and_regularizer_load_through_custom_objects(tmp_path):
    m = Sequential([L.Dense(2, input_shape=(3,), kernel_initializer=_Halves(), kernel_regularizer=_MyL2(0.2))])
    assert m.layers[-1].get_config()["kernel_initializer"] == {"class_name": "_Halves", "config": {}}
    path = str(tmp_path / "custom.zoo")
    m.save(path)
    with pytest.raises(ValueError, match="unknown initializer class '_Halves'"):
        load_model(path)
    loaded = load_model(path, custom_objects={"_Halves": _Halves, "_MyL2": _MyL2})
    (reg,) = loaded.regularizers.values()
    assert isinstance(reg, _MyL2) and reg.strength == 0.2
    clone = L.Dense.from_config(json.loads(json.dumps(m.layers[-1].get_config())))
    with saving.custom_object_scope({"_Halves": _Halves, "_MyL2": _MyL2}):
        clone(L.Input((3,)))  # builds: the initializer resolves through the scope
    np.testing.assert_array_equal(clone.get_weights()[0], np.full((3, 2), 0.5, np.float32))
