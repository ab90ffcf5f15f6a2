#!/usr/bin/env python3
"""Writes the .keras fixtures of Tests/KilnTests/Fixtures/keras/ with Keras 3, and checks
.keras files that Kiln wrote.

    python3 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install keras jax h5py
    KERAS_BACKEND=jax /tmp/kvenv/bin/python tools/make_keras_files.py
    KERAS_BACKEND=jax /tmp/kvenv/bin/python tools/make_keras_files.py --check DIR

Writing: one small model per layer family (a dense stack with BatchNormalization and
Dropout, a functional model with two inputs and Concatenate, Embedding, convolution and
pooling, recurrent layers with Bidirectional and TimeDistributed, a nested model) and the
Digits network trained on the digits data, each saved with model.save() (the Digits weights
also with model.save_weights() as digits.weights.h5); keras_files.json
records, for each, fixed inputs and Keras' predictions on them, and for Digits the optimizer's
step count and the weights after one more train_on_batch on the first 32 digits from the
saved optimizer state. hdf5_h5py.h5 is a plain h5py
file (more members than one symbol-table node holds, scalars, float64 and integer data) for
the HDF5 reader's own tests; hdf5_latest.h5 (the HDF5 1.8 format) and hdf5_chunked.h5
(chunked and gzip-compressed datasets) are what it reports it does not read.

Checking (--check DIR): DIR holds NAME.keras files that Kiln saved and NAME.json files with
inputs and Kiln's predictions ({"inputs": [...], "outputs": [...]}); each model is loaded
with keras.saving.load_model and must predict the same within 1e-5 relative (1e-6 absolute).
Where NAME.json has "after_step", the model continues from the optimizer state Kiln saved:
one train_on_batch on its "step" batch must give Kiln's weights after that step.
NAME.weights.h5 files (with NAME.weights.json) are weights that Kiln saved for the fixture
NAME.keras: they are loaded with load_weights into that model, which must then predict the same.
"""
import gzip
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "KilnTests", "Fixtures", "keras")
L = keras.layers


def dense_stack():
    model = keras.Sequential([keras.Input((8,)), L.Dense(16, activation="relu"), L.BatchNormalization(),
                              L.Dropout(0.3), L.Dense(3, activation="softmax")], name="dense_stack")
    return model, [np.random.default_rng(1).normal(size=(64, 8))], np.random.default_rng(2).integers(0, 3, 64)


def two_inputs():
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    x = L.Dense(5, activation="tanh", name="branch_a")(a)
    y = L.Dense(5, activation="relu", name="branch_b")(b)
    z = L.Concatenate(name="joined")([x, y])
    z = L.Dense(6, activation="relu")(z)
    out = L.Dense(2, activation="softmax", name="label")(z)
    model = keras.Model([a, b], out, name="two_inputs")
    rng = np.random.default_rng(3)
    return model, [rng.normal(size=(64, 4)), rng.normal(size=(64, 3))], rng.integers(0, 2, 64)


def embedding():
    model = keras.Sequential([keras.Input((6,), dtype="int32"), L.Embedding(20, 4), L.Flatten(),
                              L.Dense(2, activation="softmax")], name="embedding")
    rng = np.random.default_rng(4)
    return model, [rng.integers(0, 20, (64, 6)).astype("int32")], rng.integers(0, 2, 64)


def conv():
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        L.Conv2D(4, 3, padding="same", activation="relu"),
        L.MaxPooling2D(),
        L.BatchNormalization(),
        L.Conv2D(3, 2, strides=2, padding="valid"),
        L.ZeroPadding2D(1),
        L.AveragePooling2D(2),
        L.Flatten(),
        L.Dense(3, activation="softmax"),
    ], name="conv")
    rng = np.random.default_rng(5)
    return model, [rng.normal(size=(32, 8, 8, 1))], rng.integers(0, 3, 32)


def conv1d():
    model = keras.Sequential([keras.Input((10, 2)), L.Conv1D(3, 3, activation="relu"), L.MaxPooling1D(2),
                              L.Conv1D(2, 2, padding="causal"), L.GlobalAveragePooling1D(), L.Dense(1)], name="conv1d")
    rng = np.random.default_rng(6)
    return model, [rng.normal(size=(32, 10, 2))], rng.normal(size=(32, 1))


def recurrent():
    model = keras.Sequential([keras.Input((5, 3)), L.LSTM(4, return_sequences=True), L.Bidirectional(L.GRU(3)),
                              L.Dense(2)], name="recurrent")
    rng = np.random.default_rng(7)
    return model, [rng.normal(size=(32, 5, 3))], rng.normal(size=(32, 2))


def sequence_to_sequence():
    model = keras.Sequential([keras.Input((5, 3)), L.SimpleRNN(4, return_sequences=True),
                              L.TimeDistributed(L.Dense(2, activation="tanh")), L.LayerNormalization()], name="seq2seq")
    rng = np.random.default_rng(8)
    return model, [rng.normal(size=(32, 5, 3))], rng.normal(size=(32, 5, 2))


def nested():
    encoder = keras.Sequential([keras.Input((6,)), L.Dense(4, activation="relu"), L.Dense(3)], name="encoder")
    x = keras.Input((6,), name="features")
    h = encoder(x)
    h = L.Dense(3, activation="relu")(h)
    out = L.Dense(1, activation="sigmoid")(L.Add()([h, encoder(x)]))
    model = keras.Model(x, out, name="nested")
    rng = np.random.default_rng(9)
    return model, [rng.normal(size=(32, 6))], rng.integers(0, 2, (32, 1))


def images():
    model = keras.Sequential([
        keras.Input((6, 6, 1)),
        L.Rescaling(0.5, offset=0.1),
        L.Conv2DTranspose(2, 3, strides=2, padding="same", activation="relu"),
        L.UpSampling2D(),
        L.SpatialDropout2D(0.2),
        L.Conv2D(3, 3, strides=3, padding="valid"),
        L.GlobalMaxPooling2D(),
        L.Reshape((3, 1)),
        L.Activation("tanh"),
        L.Flatten(),
        L.Dense(2),
    ], name="images")
    rng = np.random.default_rng(10)
    return model, [rng.normal(size=(32, 6, 6, 1))], rng.normal(size=(32, 2))


def states():
    tokens = keras.Input((7,), dtype="int32", name="tokens")
    embedded = L.Embedding(15, 4, mask_zero=True)(tokens)
    output, h, c = L.LSTM(5, return_state=True, name="encoder")(embedded)
    steps = keras.Input((4, 3), name="steps")
    decoded = L.LSTM(5, return_sequences=True, name="decoder")(steps, initial_state=[h, c])
    pooled = L.GRU(3, reset_after=False, name="summary")(decoded)
    out = L.Dense(1, activation="sigmoid")(L.Concatenate()([output, pooled]))
    model = keras.Model([tokens, steps], out, name="states")
    rng = np.random.default_rng(11)
    ids = rng.integers(1, 15, (32, 7))
    ids[:, 5:] = 0  # padding at the end, masked
    ids[::3, 3:] = 0
    return model, [ids.astype("int32"), rng.normal(size=(32, 4, 3))], rng.integers(0, 2, (32, 1))


def no_input():
    """A Sequential model without an InputLayer, built by fit: its input shape is build_input_shape."""
    model = keras.Sequential([L.Dense(3, activation="relu"), L.Dense(2)], name="no_input")
    rng = np.random.default_rng(12)
    return model, [rng.normal(size=(32, 4))], rng.normal(size=(32, 2))


def digits():
    with gzip.open(os.path.join(ROOT, "Examples", "Data", "digits.csv.gz"), "rt") as f:
        rows = np.array([[float(v) for v in line.split(",")] for line in f if line.strip()])
    x, y = rows[:, :64] / 16.0, rows[:, 64].astype("int32")
    model = keras.Sequential([keras.Input((64,)), L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")],
                             name="digits")
    return model, [x], y


FIXTURES = {
    "dense_stack": (dense_stack, "sparse_categorical_crossentropy"),
    "two_inputs": (two_inputs, "sparse_categorical_crossentropy"),
    "embedding": (embedding, "sparse_categorical_crossentropy"),
    "conv": (conv, "sparse_categorical_crossentropy"),
    "conv1d": (conv1d, "mse"),
    "recurrent": (recurrent, "mse"),
    "seq2seq": (sequence_to_sequence, "mse"),
    "nested": (nested, "binary_crossentropy"),
    "images": (images, "mse"),
    "states": (states, "binary_crossentropy"),
    "no_input": (no_input, "mse"),
    "digits": (digits, "sparse_categorical_crossentropy"),
}


def write():
    os.makedirs(OUT, exist_ok=True)
    record = {"keras_version": keras.__version__, "backend": keras.backend.backend(), "models": {}}
    for name, (make, loss) in FIXTURES.items():
        keras.utils.set_random_seed(0)
        model, inputs, targets = make()
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss)
        inputs = [np.asarray(v, dtype=v.dtype if v.dtype.kind == "i" else "float32") for v in inputs]
        model.fit(inputs if len(inputs) > 1 else inputs[0], targets, batch_size=16, epochs=10 if name == "digits" else 3,
                  verbose=0)
        model.save(os.path.join(OUT, f"{name}.keras"))
        if name == "digits":
            model.save_weights(os.path.join(OUT, "digits.weights.h5"))
        # Predictions on a few fixed samples.
        sample = [v[:5] for v in inputs]
        outputs = model.predict(sample if len(sample) > 1 else sample[0], verbose=0)
        record["models"][name] = {
            "inputs": [{"shape": list(v.shape), "values": v.astype("float64").ravel().tolist()} for v in sample],
            "output": {"shape": list(outputs.shape), "values": outputs.astype("float64").ravel().tolist()},
        }
        if name == "digits":
            # One more step on the first 32 samples from the saved optimizer state.
            record["models"][name]["iterations"] = int(model.optimizer.iterations.numpy())
            model.train_on_batch(inputs[0][:32], targets[:32])
            record["models"][name]["after_step"] = [{"shape": list(w.shape), "values": w.astype("float64").ravel().tolist()}
                                                    for w in model.get_weights()]
    with open(os.path.join(OUT, "keras_files.json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    write_plain_h5(os.path.join(OUT, "hdf5_h5py.h5"))
    # What the reader does not read, for its errors: the HDF5 1.8 format, chunked and compressed data.
    with h5py.File(os.path.join(OUT, "hdf5_latest.h5"), "w", libver="latest") as f:
        f["layers/dense/vars/0"] = np.ones((2, 2), dtype="float32")
    with h5py.File(os.path.join(OUT, "hdf5_chunked.h5"), "w") as f:
        f.create_dataset("chunked", data=np.ones((4, 4), dtype="float32"), chunks=(2, 2))
        f.create_dataset("compressed", data=np.ones((4, 4), dtype="float32"), compression="gzip")


def write_plain_h5(path):
    """Datasets the HDF5 reader must read: 20 members in one group, nesting, scalars, float64,
    integers; the expected values are the file's own (recorded in its name/value pattern)."""
    with h5py.File(path, "w") as f:
        many = f.create_group("many")
        for k in range(20):
            many[f"d{k}"] = np.full((2,), k, dtype="float32")
        f["nested/deeper/matrix"] = np.arange(12, dtype="float32").reshape(3, 4) / 4
        f["scalar_f32"] = np.float32(2.5)
        f["scalar_i64"] = np.int64(-7)
        f["float64"] = np.array([0.5, -1.25, 3.0], dtype="float64")
        f["int32"] = np.array([[1, -2], [3, -4]], dtype="int32")
        f["uint8"] = np.array([0, 200, 255], dtype="uint8")
        f["float16"] = np.array([1.0], dtype="float16")
        f["text"] = "not a number"


def check(directory):
    failures = 0
    files = sorted(n for n in os.listdir(directory) if n.endswith(".keras") or n.endswith(".weights.h5"))
    names = [n[:-len(".keras")] if n.endswith(".keras") else n[:-len(".h5")] for n in files]
    for file, name in zip(files, names):
        with open(os.path.join(directory, f"{name}.json")) as f:
            expected = json.load(f)
        if file.endswith(".weights.h5"):
            model = keras.saving.load_model(os.path.join(OUT, f"{name[:-len('.weights')]}.keras"))
            model.load_weights(os.path.join(directory, file))
        else:
            model = keras.saving.load_model(os.path.join(directory, file))
        inputs = [np.array(v["values"], dtype="float32").reshape(v["shape"]) for v in expected["inputs"]]
        got = np.asarray(model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0), dtype="float64")
        want = np.array(expected["output"]["values"]).reshape(expected["output"]["shape"])
        error = np.max(np.abs(got - want) / np.maximum(np.abs(want), 0.1)) if got.shape == want.shape else np.inf
        ok = got.shape == want.shape and np.allclose(got, want, rtol=1e-5, atol=1e-6)
        failures += not ok
        if "after_step" in expected:
            # The optimizer's state came with the file: one more step gives Kiln's weights.
            iterations = int(model.optimizer.iterations.numpy())
            step = expected["step"]
            x = np.array(step["x"]["values"], dtype="float32").reshape(step["x"]["shape"])
            y = np.array(step["y"]["values"], dtype="float32").reshape(step["y"]["shape"])
            model.train_on_batch(x, y)
            for w, k in zip(model.get_weights(), expected["after_step"]):
                same = np.allclose(w, np.array(k["values"]).reshape(k["shape"]), rtol=1e-5, atol=1e-6)
                ok = ok and same and iterations == expected["iterations"]
            print(f"{name}: optimizer at step {iterations} (Kiln: {expected['iterations']}), next step "
                  f"{'the same' if ok else 'DIFFERENT'}")
        compiled = f", compiled with {type(model.optimizer).__name__}" if getattr(model, "compiled", False) else ""
        print(f"{name}: {'ok' if ok else 'DIFFERENT'} (largest error {error:.2e}, shape {got.shape}{compiled})")
    print(f"Keras {keras.__version__} ({keras.backend.backend()}) loaded {len(files)} Kiln files, {failures} differ")
    return failures


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(1 if check(sys.argv[2]) else 0)
    write()
