"""zoo demo: train a small CNN on pictures it draws itself, in a notebook-style process and
then on Spark, and watch the loss fall.

Three classes of 1x28x28 images (a filled square, a ring, a cross) at random positions,
sizes and brightness, with noise. A Keras-style Sequential model learns to tell them
apart from numpy arrays; the script prints the loss per epoch and the accuracy on held-out
pictures. Then the same model is trained from a Spark DataFrame (Spark in local mode, two
workers synchronising their gradients with an all-reduce) and scores a DataFrame of
held-out pictures.

    python examples/demo_cnn.py [--epochs 4] [--samples 3000] [--no-spark]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from zoo.keras import layers as L
from zoo.keras.models import Sequential
from zoo.keras.optimizers import SGD

CLASSES = ("square", "ring", "cross")


def draw(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28]
    x = rng.normal(0.0, 0.15, (n, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, len(CLASSES), n)
    for i in range(n):
        r = rng.integers(5, 10)
        cy, cx = rng.integers(r + 1, 27 - r, 2)
        level = rng.uniform(0.6, 1.4)
        if y[i] == 0:
            mask = (abs(yy - cy) <= r) & (abs(xx - cx) <= r)
        elif y[i] == 1:
            d = np.hypot(yy - cy, xx - cx)
            mask = (d <= r) & (d >= r - 2)
        else:
            mask = ((abs(yy - cy) <= 1) & (abs(xx - cx) <= r)) | ((abs(xx - cx) <= 1) & (abs(yy - cy) <= r))
        x[i, 0][mask] += level
    return x, y


def make_model() -> Sequential:
    return Sequential([
        L.Conv2D(8, 3, padding="same", activation="relu", input_shape=(1, 28, 28)),
        L.MaxPooling2D(2),
        L.Conv2D(16, 3, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Flatten(),
        L.Dense(64, activation="relu"),
        L.Dense(len(CLASSES), activation="softmax"),
    ])


def on_spark(x_train, y_train, x_test, y_test, epochs: int, init_weights) -> None:
    """The same model, from the same initial weights, trained from a Spark DataFrame on two
    local workers."""
    import pandas as pd

    from zoo.common.nncontext import init_nncontext

    spark = init_nncontext(master="local[2]", app_name="zoo-demo")
    train = spark.createDataFrame(pd.DataFrame({"image": list(x_train.reshape(len(x_train), -1)),
                                                "label": y_train.astype(np.int64)}))
    test = spark.createDataFrame(pd.DataFrame({"image": list(x_test.reshape(len(x_test), -1)),
                                               "label": y_test.astype(np.int64)}))
    model = make_model()
    model.set_weights(init_weights)
    model.compile(SGD(learning_rate=0.02, momentum=0.9), "sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(train, batch_size=64, epochs=epochs, feature_cols=["image"], label_cols=["label"],
                        num_workers=2, verbose=2)
    took = time.perf_counter() - start
    scored = model.predict(test, feature_cols=["image"]).select("label", "prediction").toPandas()
    acc = float(np.mean(np.argmax(np.stack(scored["prediction"].to_numpy()), axis=1) == scored["label"]))
    losses = history.history["loss"]
    print("Spark, 2 workers: loss per epoch: " + " -> ".join(f"{v:.4f}" for v in losses))
    print(f"Spark, 2 workers: held-out accuracy {acc:.1%} on a DataFrame of {len(scored)} pictures "
          f"({took:.1f}s for the job)")
    spark.stop()
    if not losses[-1] < losses[0]:
        raise SystemExit("the loss did not fall on Spark")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--samples", type=int, default=3000)
    ap.add_argument("--no-spark", action="store_true", help="skip the Spark part")
    args = ap.parse_args()

    x_train, y_train = draw(args.samples, seed=1)
    x_test, y_test = draw(1000, seed=2)
    model = make_model()
    init_weights = model.get_weights()
    model.summary()
    model.compile(SGD(learning_rate=0.02, momentum=0.9), "sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, verbose=2)
    took = time.perf_counter() - start
    loss, acc = model.evaluate(x_test, y_test, batch_size=256)
    losses = history.history["loss"]
    print("loss per epoch: " + " -> ".join(f"{v:.4f}" for v in losses))
    print(f"held-out accuracy: {acc:.1%} on {len(y_test)} pictures ({took:.1f}s of training)")
    if not losses[-1] < losses[0]:
        raise SystemExit("the loss did not fall")
    if not args.no_spark:
        on_spark(x_train, y_train, x_test, y_test, args.epochs, init_weights)


if __name__ == "__main__":
    main()
