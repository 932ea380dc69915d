"""Parity with Keras 3 (TF 2.21) for the Keras gaps: metrics, learning-rate schedules, Adamax and Nadam, and the
layers and callbacks added with them.  Skipped when TensorFlow is not installed."""
import numpy as np
import pytest

import static_api as tf
from tests.helpers import assert_trains_as_keras

real = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.reference
R = np.random.default_rng(11)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    real.keras.backend.clear_session()      # Keras' auto names (precision, precision_1, ...) start again
    yield


# ----- metrics ----------------------------------------------------------------------------------
def _metric_cases(keras):
    m = keras.metrics
    return [(m.Mean(), "values"), (m.Accuracy(), "labels"), (m.BinaryAccuracy(threshold=0.4), "binary"),
            (m.CategoricalAccuracy(), "onehot"), (m.SparseCategoricalAccuracy(), "sparse"),
            (m.TopKCategoricalAccuracy(k=2), "onehot"), (m.SparseTopKCategoricalAccuracy(k=3), "sparse"),
            (m.MeanSquaredError(), "regression"), (m.MeanAbsoluteError(), "regression"),
            (m.Precision(), "binary"), (m.Recall(thresholds=[0.2, 0.5, 0.9]), "binary"),
            (m.Precision(thresholds=0.7), "binary"), (m.AUC(), "binary"),
            (m.AUC(curve="PR", num_thresholds=50), "binary"), (m.AUC(summation_method="majoring"), "binary"),
            (m.AUC(from_logits=True, curve="PR", summation_method="minoring"), "regression")]


def _batches(kind):
    """Three batches of (args, sample_weight) for a metric kind."""
    out = []
    for n in (5, 8, 3):
        w = R.random(n).astype(np.float32)
        probs = R.random((n, 4)).astype(np.float32)
        labels = R.integers(0, 4, n)
        args = {"values": (R.normal(size=(n, 3)).astype(np.float32),),
                "labels": (labels[:, None], R.integers(0, 4, (n, 1))),
                "binary": ((R.random((n, 2)) > 0.5).astype(np.float32), probs[:, :2]),
                "onehot": (np.eye(4, dtype=np.float32)[labels], probs),
                "sparse": (labels, probs),
                # 0/1 targets: the regression metrics take them as numbers, AUC(from_logits) as labels
                "regression": ((R.random((n, 3)) > 0.5).astype(np.float32), R.normal(size=(n, 3)).astype(np.float32)),
                }[kind]
        out.append((args, w))
    return out


@pytest.mark.parametrize("index", range(16))
def test_metrics_match_keras_standalone(index):
    ours, kind = _metric_cases(tf.keras)[index]
    theirs, _ = _metric_cases(real.keras)[index]
    assert ours.name == theirs.name
    for k, (args, w) in enumerate(_batches(kind)):
        weight = w if k != 1 else None         # weighted and unweighted batches into one state
        ours.update_state(*args, sample_weight=weight)
        theirs.update_state(*args, sample_weight=weight)
        np.testing.assert_allclose(ours.result(), theirs.result().numpy(), rtol=1e-6)
    ours.reset_state()
    theirs.reset_state()
    np.testing.assert_array_equal(ours.result(), theirs.result().numpy())


def _binary(keras):
    x = keras.Input((5,))
    h = keras.layers.Dense(6, activation="tanh")(x)
    return keras.Model(x, keras.layers.Dense(1, activation="sigmoid")(h))


def test_compiled_metrics_train_as_keras():
    x = R.normal(size=(40, 5)).astype(np.float32)
    y = (x[:, :1] - x[:, 1:2] > 0).astype(np.float32)
    # a name given twice logs as name_1 the second time
    assert_trains_as_keras(_binary, lambda k: k.optimizers.Adam(0.01), "binary_crossentropy", x, y,
                           metrics=["accuracy", "precision", "recall", "mse", "binary_accuracy", "mae", "auc",
                                    "accuracy"], validation=True)


def test_compiled_metric_objects_log_as_keras():
    x = R.normal(size=(30, 5)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    logs = []
    start = None
    for keras in (tf.keras, real.keras):
        model = _binary(keras)
        start = model.get_weights() if start is None else start
        model.set_weights(start)
        model.compile("sgd", "binary_crossentropy",
                      metrics=[keras.metrics.Precision(name="p", thresholds=0.4), keras.metrics.Recall(),
                               keras.metrics.BinaryAccuracy(threshold=0.6),
                               keras.metrics.AUC(curve="PR", num_thresholds=30)])
        model.fit(x, y, batch_size=7, epochs=2, shuffle=False, verbose=0)
        logs.append(model.evaluate(x, y, batch_size=9, verbose=0, return_dict=True))
    assert list(logs[0]) == list(logs[1])
    np.testing.assert_allclose(list(logs[0].values()), list(logs[1].values()), rtol=1e-5)


# ----- schedules ----------------------------------------------------------------------------------
def _schedules(S):
    return [S.ExponentialDecay(0.05, 3, 0.7), S.ExponentialDecay(0.05, 7, 0.9, staircase=True),
            S.InverseTimeDecay(0.05, 3, 0.7), S.InverseTimeDecay(0.05, 3, 0.7, staircase=True),
            S.PiecewiseConstantDecay([10, 50], [0.1, 0.05, 0.001]), S.PolynomialDecay(0.05, 70, 0.01, power=0.5),
            S.PolynomialDecay(0.05, 30, 0.001, power=2.0, cycle=True), S.CosineDecay(0.05, 70, alpha=0.1),
            S.CosineDecay(0.0, 60, warmup_target=0.05, warmup_steps=30),
            S.CosineDecay(0.01, 60, alpha=0.3, warmup_target=0.07, warmup_steps=7)]


@pytest.mark.parametrize("index", range(10))
def test_schedules_match_keras_compiled_step(index):
    """The rate at each of 150 steps as Keras' compiled train step computes it (a tf.function: Grappler's
    rewrites included).  Bit for bit, except the cosine: TF's float32 cos is an ulp off NumPy's at a few
    percent of the angles (up to a few ulps of the rate where 1 + cos cancels, near the end of the decay)."""
    theirs = _schedules(real.keras.optimizers.schedules)[index]
    g = tf.Graph()
    with g.as_default():
        step = tf.placeholder(tf.int64, ())
        ours = _schedules(tf.keras.optimizers.schedules)[index](step)
    count = real.Variable(0, dtype=real.int64)
    compiled = real.function(lambda: theirs(count))
    got, want = [], []
    with tf.Session(graph=g) as sess:
        for k in range(150):
            count.assign(k)
            want.append(compiled().numpy())
            got.append(sess.run(ours, {step: k}))
    if "Cosine" in type(theirs).__name__:
        np.testing.assert_allclose(got, want, rtol=2.5e-7, atol=0.5 * 0.07 * 2.0 ** -23)
    else:
        np.testing.assert_array_equal(got, want)


def _scalar_model(keras):
    x = keras.Input((1,))
    return keras.Model(x, keras.layers.Dense(1)(x))


@pytest.mark.parametrize("name", ["exponential", "inverse_time", "polynomial", "piecewise", "adamax", "nadam",
                                  "nadam_cosine_warmup"])
def test_optimizers_and_schedules_train_bit_for_bit(name):
    """One weight, one sample a step: no reductions whose order could differ, so every step's rate and update
    arithmetic shows in the weights' bits."""
    def make(keras):
        S = keras.optimizers.schedules
        return {"exponential": lambda: keras.optimizers.SGD(S.ExponentialDecay(0.05, 3, 0.7)),
                "inverse_time": lambda: keras.optimizers.SGD(S.InverseTimeDecay(0.05, 3, 0.7)),
                "polynomial": lambda: keras.optimizers.SGD(S.PolynomialDecay(0.05, 7, 0.01, power=0.5)),
                "piecewise": lambda: keras.optimizers.SGD(S.PiecewiseConstantDecay([4, 9], [0.05, 0.02, 0.01])),
                "adamax": lambda: keras.optimizers.Adamax(0.05),
                "nadam": lambda: keras.optimizers.Nadam(0.05),
                "nadam_cosine_warmup": lambda: keras.optimizers.Nadam(S.CosineDecay(0.0, 6, warmup_target=0.05,
                                                                                   warmup_steps=4)),
                }[name]()
    x = R.normal(size=(30, 1)).astype(np.float32)
    y = R.normal(size=(30, 1)).astype(np.float32)
    weights = []
    for keras in (tf.keras, real.keras):
        model = _scalar_model(keras)
        model.set_weights([np.array([[0.5]], np.float32), np.array([0.1], np.float32)])
        model.compile(make(keras), "mse")
        model.fit(x, y, batch_size=1, epochs=1, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        if name == "nadam_cosine_warmup":        # its cosine's float32 cos may be an ulp off TF's
            np.testing.assert_allclose(a, b, rtol=1e-6)
        else:
            np.testing.assert_array_equal(a, b)


def _classifier(keras):
    x = keras.Input((5,))
    h = keras.layers.Dense(7, activation="tanh")(x)
    return keras.Model(x, keras.layers.Dense(3, activation="softmax")(h))


@pytest.mark.parametrize("optimizer", [
    lambda k: k.optimizers.Adamax(0.01), lambda k: k.optimizers.Nadam(0.01),
    lambda k: k.optimizers.Adam(k.optimizers.schedules.ExponentialDecay(0.01, 3, 0.7, staircase=True)),
    lambda k: k.optimizers.SGD(k.optimizers.schedules.CosineDecay(0.3, 7, alpha=0.1), momentum=0.9),
])
def test_optimizers_train_a_classifier_as_keras(optimizer):
    x = R.normal(size=(40, 5)).astype(np.float32)
    y = R.integers(0, 3, 40)
    assert_trains_as_keras(_classifier, optimizer, "sparse_categorical_crossentropy", x, y, batch_size=4,
                           metrics=["accuracy"])


# ----- layers -------------------------------------------------------------------------------------
def _layer_models(keras):
    L = keras.layers

    def sequence(x):
        h = L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu")(x)
        h = L.MaxPooling1D(2, padding="same")(L.Conv1D(4, 2, strides=2, padding="same")(h))
        h = L.AveragePooling1D(2)(L.Conv1D(6, 3, groups=2)(L.Permute((2, 1))(L.Permute((2, 1))(h))))
        both = L.Concatenate()([L.GlobalAveragePooling1D()(h), L.GlobalMaxPooling1D()(h)])
        return L.Dense(3, activation="softmax")(L.ActivityRegularization(l1=0.01, l2=0.02)(both))

    def siamese(x):
        a, b = L.Dense(6, activation="tanh")(x), L.Dense(6)(x)
        cos = L.Dot(axes=1, normalize=True)([a, b])
        dot = L.Dot(axes=-1)([a, L.Identity()(b)])
        rep = L.Flatten()(L.RepeatVector(2)(L.Concatenate()([cos, dot])))
        return L.Dense(3, activation="softmax")(L.Lambda(lambda t: t * 0.5)(rep))

    def text(x):
        h = L.Embedding(20, 4, mask_zero=True)(x)
        return L.Dense(3, activation="softmax")(L.GlobalAveragePooling1D()(h))
    return {"sequence": sequence, "siamese": siamese, "text": text}


@pytest.mark.parametrize("name,shape", [("sequence", (16, 3)), ("siamese", (5,)), ("text", (7,))])
def test_layers_train_as_keras(name, shape):
    n = 32
    if name == "text":
        x = R.integers(1, 20, (n,) + shape).astype(np.int32)
        x[:, 4:] *= R.random((n, 3)) < 0.5      # padding zeros at the end, masked out of the average
    else:
        x = R.normal(size=(n,) + shape).astype(np.float32)
    y = R.integers(0, 3, n)

    def build(keras):
        inp = keras.Input(shape, dtype="int32" if name == "text" else "float32")
        model = keras.Model(inp, _layer_models(keras)[name](inp))
        return model
    assert_trains_as_keras(build, lambda k: k.optimizers.Adam(0.01), "sparse_categorical_crossentropy", x, y,
                           metrics=["accuracy"], predict=4)


def test_layer_names_weights_and_shapes_match_keras():
    found = []
    for keras in (tf.keras, real.keras):
        if keras is real.keras:
            real.keras.backend.clear_session()
        inp = keras.Input((10, 3))
        conv = keras.layers.Conv1D(4, 3, strides=2, padding="same")
        layers = [conv, keras.layers.MaxPooling1D(), keras.layers.AveragePooling1D(2), keras.layers.Permute((2, 1)),
                  keras.layers.GlobalMaxPooling1D(), keras.layers.RepeatVector(2), keras.layers.Identity(),
                  keras.layers.GlobalAveragePooling1D(keepdims=True), keras.layers.ActivityRegularization()]
        h, shapes = inp, []
        for lay in layers:
            h = lay(h)
            shapes.append(tuple(h.shape))
        found.append(([lay.name for lay in layers], shapes, [tuple(w.shape) for w in conv.weights],
                      [w.name.split(":")[0].split("/")[-1] for w in conv.weights]))
    assert found[0] == found[1]


# ----- callbacks ----------------------------------------------------------------------------------
def test_csv_logger_writes_keras_file(tmp_path):
    x = R.normal(size=(24, 3)).astype(np.float32)
    y = x.sum(1, keepdims=True)
    files, start = [], None
    for keras, name in ((tf.keras, "ours.csv"), (real.keras, "theirs.csv")):
        inp = keras.Input((3,))
        model = keras.Model(inp, keras.layers.Dense(1)(inp))
        start = model.get_weights() if start is None else start
        model.set_weights(start)
        model.compile("sgd", "mse", metrics=["mae"])
        for append in (False, True):
            model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0,
                      callbacks=[keras.callbacks.CSVLogger(str(tmp_path / name), append=append)])
        files.append((tmp_path / name).read_bytes().decode())
    ours, theirs = ([line.split(",") for line in f.split("\r\n")] for f in files)
    assert [len(r) for r in ours] == [len(r) for r in theirs] and ours[0] == theirs[0]
    for a, b in zip(ours[1:-1], theirs[1:-1]):
        assert a[0] == b[0] and a[3:] == b[3:] == ["NA", "NA"]
        np.testing.assert_allclose([float(v) for v in a[1:3]], [float(v) for v in b[1:3]], rtol=1e-5)


def test_weighted_metrics_log_as_keras():
    x = R.normal(size=(30, 5)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    w = R.random(30).astype(np.float32)
    runs, start = [], None
    for keras in (tf.keras, real.keras):
        model = _binary(keras)
        start = model.get_weights() if start is None else start
        model.set_weights(start)
        model.compile("sgd", "binary_crossentropy", metrics=["accuracy", "auc"],
                      weighted_metrics=["accuracy", keras.metrics.Precision(name="p"), "mse"])
        history = model.fit(x, y, sample_weight=w, batch_size=7, epochs=2, shuffle=False, verbose=0,
                            validation_data=(x[:10], y[:10], w[:10])).history
        runs.append(history)
    assert list(runs[0]) == list(runs[1])
    for k in runs[0]:
        np.testing.assert_allclose(runs[0][k], runs[1][k], rtol=1e-5, err_msg=k)
