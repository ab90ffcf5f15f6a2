#!/usr/bin/env python3
"""Makes Tests/KilnTests/Fixtures/keras_parity.json from Keras itself.

For each optimizer (SGD, SGD with momentum, Adam) and loss (mean squared error, binary
crossentropy, sparse categorical crossentropy), a 3-8-k network starts from weights drawn
here, trains with train_on_batch on fixed batches (no shuffling), and the fixture records
the data, the initial weights, each step's loss and the final weights.

    python3 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install keras jax
    KERAS_BACKEND=jax /tmp/kvenv/bin/python tools/make_keras_fixtures.py
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
import numpy as np  # noqa: E402

SAMPLES, FEATURES, HIDDEN, BATCH, EPOCHS = 64, 3, 8, 16, 2

OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(learning_rate=0.1),
    "sgd_momentum": lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
    "sgd_nesterov": lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    "adam": lambda: keras.optimizers.Adam(learning_rate=0.01),
}
LOSSES = {
    "mean_squared_error": (2, "linear"),
    "binary_crossentropy": (1, "sigmoid"),
    "sparse_categorical_crossentropy": (3, "softmax"),
}


def data(loss, rng):
    x = rng.normal(size=(SAMPLES, FEATURES)).astype(np.float32)
    if loss == "mean_squared_error":
        y = np.stack([x[:, 0] - 2 * x[:, 1], x[:, 2] * x[:, 0]], axis=1).astype(np.float32)
    elif loss == "binary_crossentropy":
        y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.float32)[:, None]
    else:
        y = np.argmax(x, axis=1).astype(np.float32)
    return x, y


def case(optimizer, loss, seed):
    rng = np.random.default_rng(seed)
    x, y = data(loss, rng)
    outputs, activation = LOSSES[loss]
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input(shape=(FEATURES,)),
        keras.layers.Dense(HIDDEN, activation="relu"),
        keras.layers.Dense(outputs, activation=activation),
    ])
    initial = [rng.uniform(-0.6, 0.6, size=w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(initial)
    model.compile(optimizer=OPTIMIZERS[optimizer](), loss=loss)
    losses = []
    for _ in range(EPOCHS):
        for start in range(0, SAMPLES, BATCH):
            result = model.train_on_batch(x[start:start + BATCH], y[start:start + BATCH])
            losses.append(float(result if np.isscalar(result) else result[0]))
    return {
        "optimizer": optimizer, "loss": loss, "outputs": outputs, "activation": activation,
        "batch_size": BATCH, "epochs": EPOCHS,
        "x": x.flatten().tolist(), "x_shape": list(x.shape),
        "y": y.flatten().tolist(), "y_shape": list(y.shape),
        "initial_weights": [{"shape": list(w.shape), "values": w.flatten().tolist()} for w in initial],
        "step_losses": losses,
        "final_weights": [{"shape": list(w.shape), "values": w.flatten().tolist()} for w in model.get_weights()],
    }


def main():
    cases = []
    for k, optimizer in enumerate(OPTIMIZERS):
        for j, loss in enumerate(LOSSES):
            cases.append(case(optimizer, loss, seed=100 + 10 * k + j))
    out = os.path.join(os.path.dirname(__file__), "..", "Tests", "KilnTests", "Fixtures", "keras_parity.json")
    with open(out, "w") as f:
        json.dump({"keras_version": keras.__version__, "backend": keras.backend.backend(), "cases": cases}, f)
    print(f"wrote {len(cases)} cases with Keras {keras.__version__} ({keras.backend.backend()}) to {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
