#!/usr/bin/env python3
"""The workloads of `kiln bench train`, measured in Keras 3 and in JAX, for side-by-side figures.

Run it on the machine and in the session where `kiln bench train` runs; only ratios measured
together mean anything:

    python3 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install keras jax
    KERAS_BACKEND=jax /tmp/kvenv/bin/python tools/bench_keras.py
    swift run -c release kiln bench train

Workloads (as in tools/kiln/BenchTrain.swift): "tabular", 2-16-8-1 with relu and a sigmoid
output, binary crossentropy, 200,000 samples, batch 32; "mlp784", 784-256-128-10 with relu
and softmax, sparse categorical crossentropy, 30,000 samples, batch 128; "convnet", the
classic Keras convnet of Examples/FashionMNIST on 28x28x1 images in [0, 1), 12,800 samples,
batch 128; "lstm" and "gru", 100 steps of 32 features into 64 units and Dense(1), mean squared
error, 6,400 samples, batch 64; all Adam. Inputs are uniform and labels come from a random linear rule. Printed:
Keras `fit` samples/s (median of the epochs after the first), Keras single-sample latency
(`predict` and a direct call), and for the dense workloads the samples/s of a `jax.jit`
training step written by hand, with plain SGD and with Adam (the update Kiln and Keras run),
over the same batches. `--workload NAME` runs one; the backend is KERAS_BACKEND's
(`tensorflow` needs `pip install tensorflow`). `--predict-on-batch` prints only Keras'
`predict_on_batch` latency on one sample for each workload and for the Digits model
(64-64-10), the figures `kiln export`'s C is compared with.
"""
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

WORKLOADS = [("tabular", [2, 16, 8, 1], 200_000, 32), ("mlp784", [784, 256, 128, 10], 30_000, 128),
             ("convnet", [784, 10], 12_800, 128), ("lstm", [32, 1], 6_400, 64), ("gru", [32, 1], 6_400, 64)]
STEPS = 100
EPOCHS = 4


def sequence_data(sizes, samples):
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (samples, STEPS, sizes[0])).astype(np.float32)
    rule = rng.normal(size=(sizes[0],)).astype(np.float32)
    return x, (x @ rule).mean(axis=1, keepdims=True).astype(np.float32)


def sequence_model(sizes, kind):
    cell = keras.layers.GRU(64) if kind == "gru" else keras.layers.LSTM(64)
    model = keras.Sequential([keras.Input((STEPS, sizes[0])), cell, keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
    return model


def data(sizes, samples, image=False):
    rng = np.random.default_rng(7)
    x = rng.uniform(0 if image else -1, 1, (samples, sizes[0])).astype(np.float32)
    classes = max(sizes[-1], 2)
    rule = rng.normal(size=(sizes[0], classes)).astype(np.float32)
    best = np.argmax(x @ rule, axis=1)
    y = (best == 0).astype(np.float32).reshape(-1, 1) if sizes[-1] == 1 else best.astype(np.int32)
    return (x.reshape(samples, 28, 28, 1) if image else x), y


def keras_model(sizes, image=False):
    if image:
        layers = [keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(2),
                  keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                  keras.layers.Dropout(0.5)]
    else:
        layers = [keras.Input((sizes[0],))]
        layers += [keras.layers.Dense(s, activation="relu") for s in sizes[1:-1]]
    layers.append(keras.layers.Dense(sizes[-1], activation="sigmoid" if sizes[-1] == 1 else "softmax"))
    model = keras.Sequential(layers)
    loss = "binary_crossentropy" if sizes[-1] == 1 else "sparse_categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(), loss=loss, metrics=["accuracy"])
    return model


class EpochTimes(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def keras_figures(sizes, samples, batch, image=False, sequence=None):
    x, y = sequence_data(sizes, samples) if sequence else data(sizes, samples, image)
    model = sequence_model(sizes, sequence) if sequence else keras_model(sizes, image)
    timer = EpochTimes()
    model.fit(x, y, batch_size=batch, epochs=EPOCHS, verbose=0, callbacks=[timer])
    rate = samples / statistics.median(timer.times[1:])
    one = x[:1]
    model.predict(one, verbose=0)
    # A direct call of a recurrent model runs the loop eagerly (about 0.2 s with JAX): fewer repeats.
    predicts, calls = (10, 5) if sequence else (50, 500)
    predict = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(predicts):
            model.predict(one, verbose=0)
        predict.append((time.perf_counter() - start) / predicts)
    call = []
    model(one, training=False)
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            np.asarray(model(one, training=False))
        call.append((time.perf_counter() - start) / calls)
    return rate, statistics.median(predict), statistics.median(call)


def predict_on_batch_latency(name, sizes):
    """Keras' predict_on_batch on one sample, in seconds (median of 5 runs), for the models
    `kiln export` is measured on: the workloads, and "digits" (64-64-10, Examples/Digits)."""
    image = name == "convnet"
    sequence = name if name in ("lstm", "gru") else None
    model = sequence_model(sizes, sequence) if sequence else keras_model(sizes, image)
    x = sequence_data(sizes, 8)[0] if sequence else data(sizes, 8, image)[0]
    one = x[:1]
    model.predict_on_batch(one)
    calls = 20 if sequence else 200
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            model.predict_on_batch(one)
        runs.append((time.perf_counter() - start) / calls)
    return statistics.median(runs)


def jax_step_rate(sizes, samples, batch, adam):
    import jax
    import jax.numpy as jnp

    x, y = data(sizes, samples)
    key = jax.random.PRNGKey(0)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        key, sub = jax.random.split(key)
        limit = np.sqrt(6 / (a + b))
        params.append((jax.random.uniform(sub, (a, b), minval=-limit, maxval=limit), jnp.zeros(b)))

    def loss_fn(params, xb, yb):
        h = xb
        for w, b in params[:-1]:
            h = jax.nn.relu(h @ w + b)
        w, b = params[-1]
        z = h @ w + b
        if sizes[-1] == 1:
            p = jnp.clip(jax.nn.sigmoid(z), 1e-7, 1 - 1e-7)
            return -jnp.mean(yb * jnp.log(p) + (1 - yb) * jnp.log(1 - p))
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), yb[:, None], axis=1))

    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = (params, zeros, zeros, jnp.zeros((), jnp.float32))

    @jax.jit
    def step(state, xb, yb):
        params, m, v, t = state
        grads = jax.grad(loss_fn)(params, xb, yb)
        if not adam:
            return (jax.tree_util.tree_map(lambda p, g: p - 0.01 * g, params, grads), m, v, t)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, grads)
        rate = 0.001 * jnp.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        params = jax.tree_util.tree_map(lambda p, m, v: p - rate * m / (jnp.sqrt(v) + 1e-7), params, m, v)
        return (params, m, v, t)

    steps = samples // batch
    batches = [(jnp.asarray(x[i * batch:(i + 1) * batch]), jnp.asarray(y[i * batch:(i + 1) * batch])) for i in range(steps)]
    state = step(state, *batches[0])
    jax.block_until_ready(state)
    rates = []
    for _ in range(EPOCHS):
        start = time.perf_counter()
        for xb, yb in batches:
            state = step(state, xb, yb)
        jax.block_until_ready(state)
        rates.append(steps * batch / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}")
    if "--predict-on-batch" in sys.argv:
        # The single-sample latencies the closing notes of kiln export compare with.
        for name, sizes in [("digits", [64, 64, 10])] + [(w[0], w[1]) for w in WORKLOADS]:
            print(f"{name:10} predict_on_batch 1 sample: {predict_on_batch_latency(name, sizes) * 1e6:9.0f} µs")
        return
    print("workload   keras fit samples/s   keras predict 1   keras call 1   jax jit SGD samples/s   jax jit Adam samples/s")
    chosen = sys.argv[sys.argv.index("--workload") + 1] if "--workload" in sys.argv else None
    for name, sizes, samples, batch in WORKLOADS:
        if chosen and name != chosen:
            continue
        image = name == "convnet"
        sequence = name if name in ("lstm", "gru") else None
        rate, predict, call = keras_figures(sizes, samples, batch, image, sequence)
        if image or sequence:
            print(f"{name:10} {rate / 1e3:18.2f}k {predict * 1e6:14.0f} µs {call * 1e6:11.0f} µs {'—':>21} {'—':>23}")
            continue
        sgd = jax_step_rate(sizes, samples, batch, adam=False)
        adam = jax_step_rate(sizes, samples, batch, adam=True)
        print(f"{name:10} {rate / 1e3:18.1f}k {predict * 1e6:14.0f} µs {call * 1e6:11.0f} µs "
              f"{sgd / 1e3:20.1f}k {adam / 1e3:22.1f}k")


if __name__ == "__main__":
    main()
