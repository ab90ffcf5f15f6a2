#!/usr/bin/env python3
"""Makes Tests/KilnTests/Fixtures/keras_parity.json, keras_conv_parity.json,
keras_recurrent_parity.json, keras_state_parity.json, keras_regularization_parity.json and
keras_multi_output_parity.json from Keras itself.

For each optimizer (SGD, SGD with momentum, Adam) and loss (mean squared error, binary
crossentropy, sparse categorical crossentropy), a 3-8-k network starts from weights drawn
here, trains with train_on_batch on fixed batches (no shuffling), and the fixture records
the data, the initial weights, each step's loss and the final weights. The convolution
fixtures do the same for small image and sequence networks (Conv2D with same and valid
padding and strides, pooling, Conv1D, global pooling, Conv2DTranspose, padding and
upsampling), and the recurrent fixtures for SimpleRNN, LSTM and GRU networks (last output and
sequences, stacked, backwards, GRU with and without reset_after), each layer given by its
Keras class name and arguments. The state fixtures are functional networks, named, whose
recurrent layers return their states or start from states another layer returned. The
regularization fixtures give layers weight and activity regularizers and constraints. The
multi-output fixtures train a functional network with two inputs and two outputs, a loss per
output with loss weights (by name, then as a list with sample weights per output), and record
each step's total and per-output losses and the accuracy of the classifying output.

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


def train(model, optimizer, loss, x, y):
    """Compiles `model` and trains it with train_on_batch over fixed batches; each step's loss."""
    model.compile(optimizer=OPTIMIZERS[optimizer](), loss=loss)
    losses = []
    for _ in range(EPOCHS):
        for start in range(0, SAMPLES, BATCH):
            result = model.train_on_batch(x[start:start + BATCH], y[start:start + BATCH])
            losses.append(float(result if np.isscalar(result) else result[0]))
    return losses


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
    losses = train(model, optimizer, loss, x, y)
    return {
        "optimizer": optimizer, "loss": loss, "outputs": outputs, "activation": activation,
        "batch_size": BATCH, "epochs": EPOCHS,
        "x": x.flatten().tolist(), "x_shape": list(x.shape),
        "y": y.flatten().tolist(), "y_shape": list(y.shape),
        "initial_weights": [{"shape": list(w.shape), "values": w.flatten().tolist()} for w in initial],
        "step_losses": losses,
        "final_weights": [{"shape": list(w.shape), "values": w.flatten().tolist()} for w in model.get_weights()],
    }


# Small convolutional networks: (name, input shape, layers, optimizer, loss, outputs).
CONV_NETWORKS = [
    ("conv2d same stride 2, max pooling", [8, 8, 2], [
        ("Conv2D", {"filters": 3, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "activation": "relu"}),
        ("MaxPooling2D", {"pool_size": [2, 2]}),
        ("Flatten", {}),
        ("Dense", {"units": 3, "activation": "softmax"}),
    ], "sgd", "sparse_categorical_crossentropy"),
    ("conv2d valid 3x2, max pooling cut, dilated conv2d, global average", [9, 9, 1], [
        ("Conv2D", {"filters": 4, "kernel_size": [3, 2], "activation": "relu"}),
        ("MaxPooling2D", {"pool_size": [2, 2]}),
        ("Conv2D", {"filters": 3, "kernel_size": [2, 2], "dilation_rate": [1, 2], "activation": "tanh"}),
        ("GlobalAveragePooling2D", {}),
        ("Dense", {"units": 3, "activation": "softmax"}),
    ], "adam", "sparse_categorical_crossentropy"),
    ("conv1d causal, average pooling, conv1d same stride 2, global max", [12, 3], [
        ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "activation": "relu"}),
        ("AveragePooling1D", {"pool_size": 2}),
        ("Conv1D", {"filters": 3, "kernel_size": 2, "strides": 2, "padding": "same"}),
        ("GlobalMaxPooling1D", {}),
        ("Dense", {"units": 2}),
    ], "adam", "mean_squared_error"),
    ("average pooling 3x3 stride 2 same, global max", [6, 6, 3], [
        ("Conv2D", {"filters": 2, "kernel_size": [3, 3], "padding": "same", "activation": "tanh"}),
        ("AveragePooling2D", {"pool_size": [3, 3], "strides": [2, 2], "padding": "same"}),
        ("GlobalMaxPooling2D", {}),
        ("Dense", {"units": 1, "activation": "sigmoid"}),
    ], "sgd_momentum", "binary_crossentropy"),
    ("zero padding, transposed conv same stride 2, upsampling", [4, 4, 1], [
        ("ZeroPadding2D", {"padding": [[1, 0], [0, 1]]}),
        ("Conv2DTranspose", {"filters": 2, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "activation": "relu"}),
        ("UpSampling2D", {"size": [1, 2]}),
        ("Conv2D", {"filters": 2, "kernel_size": [2, 2], "strides": [2, 2]}),
        ("Flatten", {}),
        ("Dense", {"units": 3, "activation": "softmax"}),
    ], "adam", "sparse_categorical_crossentropy"),
]


RECURRENT_NETWORKS = [
    ("simple rnn, last output", [5, 3], [
        ("SimpleRNN", {"units": 4}),
        ("Dense", {"units": 2}),
    ], "sgd", "mean_squared_error"),
    ("lstm, last output", [6, 3], [
        ("LSTM", {"units": 4}),
        ("Dense", {"units": 1, "activation": "sigmoid"}),
    ], "adam", "binary_crossentropy"),
    ("lstm sequences, then lstm", [5, 2], [
        ("LSTM", {"units": 3, "return_sequences": True}),
        ("LSTM", {"units": 2}),
        ("Dense", {"units": 3, "activation": "softmax"}),
    ], "adam", "sparse_categorical_crossentropy"),
    ("gru backwards, gru sequences, global average", [6, 3], [
        ("GRU", {"units": 4, "go_backwards": True, "return_sequences": True}),
        ("GRU", {"units": 3, "return_sequences": True}),
        ("GlobalAveragePooling1D", {}),
        ("Dense", {"units": 2}),
    ], "sgd_momentum", "mean_squared_error"),
    ("bidirectional lstm sequences (concat), bidirectional gru (ave)", [5, 2], [
        ("Bidirectional", {"layer": "LSTM", "args": {"units": 3, "return_sequences": True}, "merge_mode": "concat"}),
        ("Bidirectional", {"layer": "GRU", "args": {"units": 2}, "merge_mode": "ave"}),
        ("Dense", {"units": 2}),
    ], "adam", "mean_squared_error"),
    ("gru without reset_after, simple rnn backwards", [4, 2], [
        ("GRU", {"units": 3, "reset_after": False, "return_sequences": True}),
        ("SimpleRNN", {"units": 2, "go_backwards": True}),
        ("Dense", {"units": 1, "activation": "sigmoid"}),
    ], "adam", "binary_crossentropy"),
]


def conv_data(shape, loss, outputs, rng):
    x = rng.normal(size=[SAMPLES] + shape).astype(np.float32)
    score = x.reshape(SAMPLES, -1)
    if loss == "mean_squared_error":
        y = np.stack([score[:, 0] - score[:, 1], score[:, 2:].mean(axis=1)], axis=1).astype(np.float32)
    elif loss == "binary_crossentropy":
        y = (score.mean(axis=1) > 0).astype(np.float32)[:, None]
    else:
        y = np.argmax(score[:, :outputs], axis=1).astype(np.float32)
    return x, y


def f32(values):
    """Float32 values with the 9 significant digits that give each back exactly."""
    return [float(f"{v:.9g}") for v in np.asarray(values, dtype=np.float32).flatten()]


def make_layer(kind, args):
    """A Keras layer from its class name and arguments; a wrapper names the wrapped layer's."""
    if kind == "Bidirectional":
        return keras.layers.Bidirectional(getattr(keras.layers, args["layer"])(**args["args"]), merge_mode=args["merge_mode"])
    return getattr(keras.layers, kind)(**args)


def conv_case(name, shape, layers, optimizer, loss, seed):
    rng = np.random.default_rng(seed)
    outputs = layers[-1][1]["units"]
    x, y = conv_data(shape, loss, outputs, rng)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=tuple(shape))] + [make_layer(kind, args) for kind, args in layers])
    initial = [rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(initial)
    losses = train(model, optimizer, loss, x, y)
    return {
        "name": name, "layers": [{"type": kind, "args": args} for kind, args in layers],
        "optimizer": optimizer, "loss": loss, "batch_size": BATCH, "epochs": EPOCHS,
        "x": f32(x), "x_shape": list(x.shape),
        "y": f32(y), "y_shape": list(y.shape),
        "initial_weights": [{"shape": list(w.shape), "values": f32(w)} for w in initial],
        "step_losses": f32(losses),
        "final_weights": [{"shape": list(w.shape), "values": f32(w)} for w in model.get_weights()],
    }


def reg(kind, **config):
    """A regularizer or constraint as Keras serializes it, which Keras and the Swift test both read."""
    return {"class_name": kind, "config": config}


# Networks with weight and activity regularizers and constraints (Keras adds the penalties to
# the loss it reports and applies the constraints after each update).
REGULARIZED_NETWORKS = [
    ("dense: l2 kernel, l1 bias, l2 activity; l1l2 kernel", [3], [
        ("Dense", {"units": 8, "activation": "relu", "kernel_regularizer": reg("L2", l2=0.01),
                   "bias_regularizer": reg("L1", l1=0.01), "activity_regularizer": reg("L2", l2=0.001)}),
        ("Dense", {"units": 2, "kernel_regularizer": reg("L1L2", l1=0.005, l2=0.01)}),
    ], "adam", "mean_squared_error"),
    ("dense: max-norm kernel, non-negative bias; unit-norm kernel", [3], [
        ("Dense", {"units": 8, "activation": "relu", "kernel_constraint": reg("MaxNorm", max_value=0.5, axis=0),
                   "bias_constraint": reg("NonNeg")}),
        ("Dense", {"units": 3, "activation": "softmax", "kernel_constraint": reg("UnitNorm", axis=0)}),
    ], "sgd_momentum", "sparse_categorical_crossentropy"),
    ("conv2d: l2 and max-norm over the window, lstm: l1 recurrent, max-norm recurrent", [6, 6, 1], [
        ("Conv2D", {"filters": 3, "kernel_size": [3, 3], "activation": "relu", "kernel_regularizer": reg("L2", l2=0.02),
                    "kernel_constraint": reg("MaxNorm", max_value=1.0, axis=[0, 1, 2])}),
        ("Reshape", {"target_shape": [16, 3]}),
        ("LSTM", {"units": 3, "kernel_regularizer": reg("L2", l2=0.01), "recurrent_regularizer": reg("L1", l1=0.001),
                  "recurrent_constraint": reg("MaxNorm", max_value=1.0, axis=0)}),
        ("Dense", {"units": 1, "activation": "sigmoid"}),
    ], "adam", "binary_crossentropy"),
]


def functional_network(name, shape):
    """The functional networks of keras_state_parity.json, which the Swift test builds by name:
    recurrent layers returning their states, and states given as initial states."""
    x = keras.Input(shape=tuple(shape))
    if name == "lstm encoder states start an lstm decoder":
        _, h, c = keras.layers.LSTM(3, return_state=True)(x)
        decoded = keras.layers.LSTM(3, return_sequences=True)(x, initial_state=[h, c])
        y = keras.layers.Dense(1, activation="sigmoid")(keras.layers.GlobalAveragePooling1D()(decoded))
    elif name == "bidirectional gru states (sum), concatenated":
        out, forward, backward = keras.layers.Bidirectional(keras.layers.GRU(2, return_state=True), merge_mode="sum")(x)
        y = keras.layers.Dense(2)(keras.layers.Concatenate()([out, forward, backward]))
    elif name == "simple rnn states start a bidirectional simple rnn":
        sequence, h = keras.layers.SimpleRNN(2, return_sequences=True, return_state=True)(x)
        merged = keras.layers.Bidirectional(keras.layers.SimpleRNN(2))(sequence, initial_state=[h, h])
        y = keras.layers.Dense(3, activation="softmax")(merged)
    else:
        raise ValueError(name)
    return keras.Model(x, y)


FUNCTIONAL_NETWORKS = [
    ("lstm encoder states start an lstm decoder", [6, 3], "adam", "binary_crossentropy"),
    ("bidirectional gru states (sum), concatenated", [5, 2], "sgd_momentum", "mean_squared_error"),
    ("simple rnn states start a bidirectional simple rnn", [4, 2], "adam", "sparse_categorical_crossentropy"),
]


def functional_case(name, shape, optimizer, loss, seed):
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    model = functional_network(name, shape)
    x, y = conv_data(shape, loss, model.outputs[0].shape[-1], rng)
    initial = [rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(initial)
    losses = train(model, optimizer, loss, x, y)
    return {
        "name": name, "layers": [], "optimizer": optimizer, "loss": loss, "batch_size": BATCH, "epochs": EPOCHS,
        "x": f32(x), "x_shape": list(x.shape),
        "y": f32(y), "y_shape": list(y.shape),
        "initial_weights": [{"shape": list(w.shape), "values": f32(w)} for w in initial],
        "step_losses": f32(losses),
        "final_weights": [{"shape": list(w.shape), "values": f32(w)} for w in model.get_weights()],
    }


def multi_output_network():
    """The two-input two-output network of keras_multi_output_parity.json, which the Swift test
    builds the same way: a regression output `score` and a 3-class output `label`."""
    a = keras.Input(shape=(4,), name="a")
    b = keras.Input(shape=(3,), name="b")
    h = keras.layers.Dense(6, activation="relu", name="shared")(keras.layers.Concatenate(name="joined")([a, b]))
    g = keras.layers.Dense(4, activation="tanh", name="side")(b)
    score = keras.layers.Dense(1, name="score")(h)
    label = keras.layers.Dense(3, activation="softmax", name="label")(keras.layers.Concatenate(name="both")([h, g]))
    return keras.Model([a, b], [score, label])


def multi_output_case(name, optimizer, weighting, seed):
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    model = multi_output_network()
    a = rng.normal(size=(SAMPLES, 4)).astype(np.float32)
    b = rng.normal(size=(SAMPLES, 3)).astype(np.float32)
    score = (a[:, 0] - b[:, 1] + 0.5 * a[:, 2] * b[:, 0]).astype(np.float32)[:, None]
    label = np.argmax(a[:, :3] + b, axis=1).astype(np.float32)
    weights = {"score": rng.uniform(0.5, 1.5, size=SAMPLES).astype(np.float32),
               "label": rng.uniform(0.5, 1.5, size=SAMPLES).astype(np.float32)}
    initial = [rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(initial)
    losses = {"score": "mean_squared_error", "label": "sparse_categorical_crossentropy"}
    if weighting == "by name":
        model.compile(optimizer=OPTIMIZERS[optimizer](), loss=losses, loss_weights={"score": 1.0, "label": 0.3},
                      metrics={"label": ["accuracy"]})
    else:
        model.compile(optimizer=OPTIMIZERS[optimizer](), loss=[losses["score"], losses["label"]], loss_weights=[0.5, 2.0],
                      metrics=[[], ["accuracy"]])
    steps = []
    for _ in range(EPOCHS):
        for start in range(0, SAMPLES, BATCH):
            rows = slice(start, start + BATCH)
            sample_weight = None if weighting == "by name" else [weights["score"][rows], weights["label"][rows]]
            logs = model.train_on_batch([a[rows], b[rows]], [score[rows], label[rows]], sample_weight=sample_weight,
                                        return_dict=True)
            steps.append({key: float(value) for key, value in logs.items()})
    return {
        "name": name, "optimizer": optimizer, "weighting": weighting, "batch_size": BATCH, "epochs": EPOCHS,
        "a": f32(a), "b": f32(b), "score": f32(score), "label": f32(label),
        "score_weight": f32(weights["score"]), "label_weight": f32(weights["label"]),
        "initial_weights": [{"shape": list(w.shape), "values": f32(w)} for w in initial],
        "step_logs": {key: f32([step[key] for step in steps]) for key in steps[0]},
        "final_weights": [{"shape": list(w.shape), "values": f32(w)} for w in model.get_weights()],
    }


def write(name, cases):
    out = os.path.join(os.path.dirname(__file__), "..", "Tests", "KilnTests", "Fixtures", name)
    with open(out, "w") as f:
        json.dump({"keras_version": keras.__version__, "backend": keras.backend.backend(), "cases": cases}, f)
    print(f"wrote {len(cases)} cases with Keras {keras.__version__} ({keras.backend.backend()}) to {os.path.normpath(out)}")


def main():
    cases = []
    for k, optimizer in enumerate(OPTIMIZERS):
        for j, loss in enumerate(LOSSES):
            cases.append(case(optimizer, loss, seed=100 + 10 * k + j))
    write("keras_parity.json", cases)
    write("keras_conv_parity.json", [conv_case(name, shape, layers, optimizer, loss, seed=300 + k)
                                     for k, (name, shape, layers, optimizer, loss) in enumerate(CONV_NETWORKS)])
    write("keras_recurrent_parity.json", [conv_case(name, shape, layers, optimizer, loss, seed=400 + k)
                                          for k, (name, shape, layers, optimizer, loss) in enumerate(RECURRENT_NETWORKS)])
    write("keras_state_parity.json", [functional_case(name, shape, optimizer, loss, seed=500 + k)
                                      for k, (name, shape, optimizer, loss) in enumerate(FUNCTIONAL_NETWORKS)])
    write("keras_regularization_parity.json", [conv_case(name, shape, layers, optimizer, loss, seed=600 + k)
                                               for k, (name, shape, layers, optimizer, loss) in enumerate(REGULARIZED_NETWORKS)])
    write("keras_multi_output_parity.json", [
        multi_output_case("two inputs, two outputs, loss weights by name", "adam", "by name", seed=700),
        multi_output_case("loss weights as a list, sample weights per output", "sgd_momentum", "as a list", seed=701),
    ])


if __name__ == "__main__":
    main()
