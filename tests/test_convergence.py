"""End-to-end convergence: LeNet-5 on real MNIST digits, and reproducibility of training."""

import gzip
import os

import numpy as np
import pytest

from zoo.keras import layers as L
from zoo.keras.models import Sequential
from zoo.keras.optimizers import SGD, Adam


def load_mnist(testdata):
    root = os.path.join(testdata, "mnist")
    with gzip.open(os.path.join(root, "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(os.path.join(root, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return (images.astype(np.float32) / 255.0 - 0.1307) / 0.3081, labels.astype(np.int64)


def lenet5():
    return Sequential([
        L.Conv2D(6, 5, padding="same", activation="relu", input_shape=(1, 28, 28)), L.MaxPooling2D(2),
        L.Conv2D(16, 5, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
        L.Dense(120, activation="relu"), L.Dense(84, activation="relu"), L.Dense(10, activation="softmax")])


@pytest.mark.slow
def test_lenet5_mnist_reaches_97_percent(testdata):
    from zoo.keras import backend

    x, y = load_mnist(testdata)
    backend.set_seed(0)
    model = lenet5()
    model.compile(Adam(learning_rate=0.002), "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x[:8000], y[:8000], batch_size=64, epochs=6, verbose=0,
                     validation_data=(x[8000:], y[8000:]))
    assert hist.history["loss"][-1] < hist.history["loss"][0] / 3
    loss, acc = model.evaluate(x[8000:], y[8000:], batch_size=500)
    assert acc >= 0.97, f"held-out accuracy {acc:.4f} < 0.97 (history {hist.history})"
    assert hist.history["val_accuracy"][-1] == pytest.approx(acc)


def test_same_seed_same_weights():
    from zoo.keras import backend

    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 300)
    results = []
    for _ in range(2):
        backend.set_seed(7)
        model = Sequential([L.Conv2D(4, 3, activation="relu", input_shape=(1, 28, 28)), L.MaxPooling2D(2),
                            L.Flatten(), L.Dropout(0.3), L.Dense(10, activation="softmax")])
        model.compile(SGD(learning_rate=0.05, momentum=0.9), "sparse_categorical_crossentropy")
        model.set_seed(3)
        model.fit(x, y, batch_size=32, epochs=2, verbose=0)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
