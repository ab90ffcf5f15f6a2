#!/usr/bin/env python3
"""The recipe of Examples/FashionMNIST in Keras 3, for comparing test accuracies seed by seed:
the classic Keras convnet (Conv2D 32, max pooling, Conv2D 64, max pooling, flatten, dropout
0.5, Dense 10 softmax), Adam, batch 128, 10% of the training images held out for validation,
on Debian's dataset-fashion-mnist files.

    KERAS_BACKEND=tensorflow /tmp/tfvenv/bin/python tools/keras_fashion_mnist.py --seeds 0 1 2
    swift run -c release FashionMNIST --seed 0   # and 1, 2
"""
import argparse
import gzip
import os
import statistics

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    load = lambda name: idx(os.path.join(args.data, name))  # noqa: E731
    x_train = load("train-images-idx3-ubyte.gz").astype(np.float32)[..., None] / 255
    y_train = load("train-labels-idx1-ubyte.gz").astype(np.int32)
    x_test = load("t10k-images-idx3-ubyte.gz").astype(np.float32)[..., None] / 255
    y_test = load("t10k-labels-idx1-ubyte.gz").astype(np.int32)
    accuracies = []
    for seed in args.seeds:
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train, y_train, batch_size=128, epochs=args.epochs, validation_split=0.1, verbose=0)
        accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
        accuracies.append(accuracy)
        print(f"seed {seed}: test accuracy {accuracy:.4f}", flush=True)
    print(f"keras {keras.__version__} ({keras.backend.backend()}): median test accuracy "
          f"{statistics.median(accuracies):.4f} over seeds {args.seeds}")


if __name__ == "__main__":
    main()
