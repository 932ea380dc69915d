"""Parity with Keras 3 (TF 2.21) for the semantics of tests/test_keras_semantics.py: cross-entropies of
softmax, sigmoid and other outputs, the model's mode over a layer call's ``training=``, freezing between
compile and the first fit, ModelCheckpoint without its monitored value, the losses' positional arguments and
reductions, and evaluate's list.  Skipped when TensorFlow is not installed."""
import warnings

import numpy as np
import pytest

import static_api as tf
from tests.helpers import assert_trains_as_keras

real = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.reference
R = np.random.default_rng(12)
X = R.normal(size=(20, 4)).astype(np.float32) * 3
YC = np.eye(3, dtype=np.float32)[R.integers(0, 3, 20)]
YS = YC.argmax(1)
YB = R.integers(0, 2, (20, 1)).astype(np.float32)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    real.keras.backend.clear_session()
    yield


def _pair(build, **compile_kw):
    """The same model in dualflow and in Keras, with dualflow's starting weights, each compiled with
    ``compile_kw`` made by its own keras (values that are functions of keras are called)."""
    models = []
    for keras in (tf.keras, real.keras):
        m = build(keras)
        if models:
            m.set_weights(models[0].get_weights())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m.compile(**{k: v(keras) if callable(v) else v for k, v in compile_kw.items()})
        models.append(m)
    return models


def _trains_alike(build, loss, x, y, rtol=1e-4, atol=1e-5):
    """``_pair`` with SGD(0.05) and ``loss(keras)``: two unshuffled epochs give the same history, predictions
    and weights (assert_trains_as_keras with a loss object made by each keras)."""
    results = []
    for m in _pair(build, optimizer=lambda k: k.optimizers.SGD(0.05), loss=loss):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            history = m.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
        results.append([np.array(history["loss"]), m.predict(x[:4], verbose=0)] + m.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _dense(units, activation):
    return lambda k: k.Sequential([k.Input((4,)), k.layers.Dense(units, activation=activation)])


# ----- 1 and 2: cross-entropies --------------------------------------------------------------------------
@pytest.mark.parametrize("build, loss, y", [
    (_dense(3, "softmax"), lambda k: k.losses.CategoricalCrossentropy(from_logits=True), YC),
    (_dense(3, "softmax"), lambda k: k.losses.SparseCategoricalCrossentropy(from_logits=True), YS),
    (_dense(1, "sigmoid"), lambda k: k.losses.BinaryCrossentropy(from_logits=True), YB),
    (_dense(3, "sigmoid"), lambda k: "categorical_crossentropy", YC),
    (_dense(3, "sigmoid"), lambda k: "sparse_categorical_crossentropy", YS),
    (_dense(3, "softmax"), lambda k: "binary_crossentropy", YC),
    (_dense(3, "relu"), lambda k: "categorical_crossentropy", YC),
    (_dense(3, "softmax"), lambda k: k.losses.CategoricalCrossentropy(label_smoothing=0.1), YC),
    (lambda k: k.Sequential([k.Input((4,)), k.layers.Dense(3), k.layers.Softmax()]),
     lambda k: k.losses.CategoricalCrossentropy(from_logits=True), YC),
    (lambda k: k.Sequential([k.Input((4,)), k.layers.Dense(3), k.layers.Activation("sigmoid")]),
     lambda k: k.losses.CategoricalCrossentropy(from_logits=True), YC),
])
def test_cross_entropies_train_as_keras(build, loss, y):
    _trains_alike(build, loss, X, y)


def _raw(op):
    """Dense(3) then a Lambda of TF's own ``op`` (``nn.sigmoid``/``nn.softmax``), or of Keras' activation
    (``activations.sigmoid``): Keras takes logits from a Keras activation whatever the loss, from a raw TF op
    only where its type is the loss's (Softmax for the categorical ones, Sigmoid for the binary one)."""
    def build(k):
        lib = tf if k is tf.keras else real
        module, name = op.split(".")
        fn = getattr(getattr(k, module) if module == "activations" else getattr(lib, module), name)
        return k.Sequential([k.Input((4,)), k.layers.Dense(3), k.layers.Lambda(lambda t: fn(t))])
    return build


@pytest.mark.parametrize("op, loss, y", [("nn.sigmoid", "categorical_crossentropy", YC),
                                         ("nn.softmax", "binary_crossentropy", YC),
                                         ("nn.softmax", "categorical_crossentropy", YC),
                                         ("nn.sigmoid", "binary_crossentropy", YC),
                                         ("activations.sigmoid", "categorical_crossentropy", YC),
                                         ("activations.softmax", "binary_crossentropy", YC)])
def test_cross_entropies_of_lambda_outputs_train_as_keras(op, loss, y):
    _trains_alike(_raw(op), lambda k: loss, X, y)


@pytest.mark.parametrize("name, kwargs", [
    ("relu", {}), ("relu", {"negative_slope": 0.1}), ("relu", {"max_value": 6.0}), ("relu", {"max_value": 2.5}),
    ("relu", {"threshold": 0.5}), ("relu", {"negative_slope": 0.1, "max_value": 3.0, "threshold": 0.5}),
    ("leaky_relu", {}), ("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}), ("softplus", {}), ("softsign", {}),
    ("silu", {}), ("gelu", {}), ("gelu", {"approximate": True}), ("tanh", {}), ("sigmoid", {}), ("softmax", {}),
    ("softmax", {"axis": 0}), ("exponential", {}), ("hard_sigmoid", {}), ("hard_silu", {}), ("mish", {}),
    ("log_softmax", {}), ("relu6", {}), ("linear", {})])
def test_activations_are_keras(name, kwargs):
    x = X[:5]
    with tf.Session() as sess:
        got = sess.run(tf.convert_to_tensor(getattr(tf.keras.activations, name)(tf.constant(x), **kwargs)))
    want = np.asarray(getattr(real.keras.activations, name)(x, **kwargs))
    # atol: TF's tanh (Eigen's rational approximation) is not NumPy's; approximate gelu's 1 + tanh(...) cancels
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-7)
    assert tf.keras.activations.get(name) is getattr(tf.keras.activations, name if name != "swish" else "silu")


def test_cross_entropy_renormalisation_and_nan_as_keras():
    p = np.array([[0.2, 0.2, 0.4], [0.5, 0.5, 1.0], [0.0, 0.0, 0.0]], np.float32)
    y = np.eye(3, dtype=np.float32)[[2, 0, 1]]
    with tf.Session() as sess:
        got = sess.run(tf.keras.losses.categorical_crossentropy(y, tf.constant(p)))
    want = real.keras.losses.categorical_crossentropy(y, p).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert np.isnan(got[2]) and np.isnan(want[2])


# ----- 3: the model's mode over a layer call's training= -------------------------------------------------
def _called_with(training, layer):
    def build(k):
        inp = k.Input((4,))
        h = k.layers.Dense(6)(inp)
        h = (k.layers.Dropout(0.5) if layer == "dropout" else k.layers.BatchNormalization(momentum=0.5))(
            h, training=training)
        return k.Model(inp, k.layers.Dense(3, activation="softmax")(h))
    return build


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_call_flag_gives_way_to_the_model(training):
    assert_trains_as_keras(_called_with(training, "bn"), lambda k: k.optimizers.SGD(0.05),
                           "categorical_crossentropy", X, YC, predict=8, validation=True, rtol=1e-4, atol=1e-5)


def test_dropout_called_with_training_true_predicts_as_keras():
    ours, theirs = _pair(_called_with(True, "dropout"), optimizer="sgd", loss="categorical_crossentropy")
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.evaluate(X, YC, verbose=0), theirs.evaluate(X, YC, verbose=0), rtol=1e-5)


# ----- 4: freezing between compile and the first fit -----------------------------------------------------
@pytest.mark.parametrize("refit_first", [False, True])
def test_freezing_after_compile_as_keras(refit_first):
    build = lambda k: k.Sequential([k.Input((4,)), k.layers.Dense(6, activation="relu"),
                                    k.layers.BatchNormalization(momentum=0.5), k.layers.Dense(3, activation="softmax")])
    models = _pair(build, optimizer=lambda k: k.optimizers.SGD(0.1), loss="categorical_crossentropy")
    results = []
    for m in models:
        if refit_first:
            m.fit(X, YC, epochs=1, batch_size=8, shuffle=False, verbose=0)
        m.layers[0].trainable = m.layers[1].trainable = False
        history = m.fit(X, YC, epochs=2, batch_size=8, shuffle=False, verbose=0).history
        results.append([np.array(history["loss"])] + m.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# ----- 5: ModelCheckpoint without its monitored value ----------------------------------------------------
def test_checkpoint_without_its_monitored_value_as_keras(tmp_path):
    saved = []
    models = _pair(_dense(3, "softmax"), optimizer="sgd", loss="categorical_crossentropy")
    for name, keras, m in zip(("ours", "theirs"), (tf.keras, real.keras), models):
        folder = tmp_path / name
        folder.mkdir()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m.fit(X, YC, epochs=3, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(
                str(folder / "w{epoch}.weights.h5"), save_best_only=True, save_weights_only=True)])
        saved.append(sorted(p.name for p in folder.iterdir()))
    assert saved[0] == saved[1] == ["w1.weights.h5", "w2.weights.h5", "w3.weights.h5"]


# ----- 6: the losses' positional arguments and reductions ------------------------------------------------
@pytest.mark.parametrize("make, attrs", [
    (lambda k: k.losses.Huber(2.0, "sum"), ("delta", "reduction", "name")),
    (lambda k: k.losses.CategoricalCrossentropy(False, 0.1, 0, "sum", "c"),
     ("from_logits", "label_smoothing", "axis", "reduction", "name")),
    (lambda k: k.losses.SparseCategoricalCrossentropy(True, None, "sum", -1, "s"),
     ("from_logits", "ignore_class", "reduction", "name")),
    (lambda k: k.losses.BinaryCrossentropy(True, 0.2, -1, "mean", "b"),
     ("from_logits", "label_smoothing", "axis", "reduction", "name")),
    (lambda k: k.losses.CosineSimilarity(0, "sum", "cs"), ("axis", "reduction", "name")),
    (lambda k: k.losses.MeanSquaredError("sum"), ("reduction", "name")),
    (lambda k: k.losses.MeanAbsoluteError(), ("reduction", "name")),
    (lambda k: k.losses.MeanAbsolutePercentageError(), ("reduction", "name")),
    (lambda k: k.losses.MeanSquaredLogarithmicError(), ("reduction", "name")),
    (lambda k: k.losses.LogCosh(), ("reduction", "name")),
    (lambda k: k.losses.KLDivergence(), ("reduction", "name")),
    (lambda k: k.losses.Poisson(), ("reduction", "name")),
    (lambda k: k.losses.Hinge(), ("reduction", "name")),
    (lambda k: k.losses.SquaredHinge(), ("reduction", "name")),
    (lambda k: k.losses.CategoricalHinge(), ("reduction", "name")),
])
def test_loss_arguments_as_keras(make, attrs):
    ours, theirs = make(tf.keras), make(real.keras)
    theirs = {**theirs.get_config(), **theirs._fn_kwargs}      # Huber's delta is only in the wrapped kwargs
    assert [getattr(ours, a) for a in attrs] == [theirs[a] for a in attrs]


def test_categorical_crossentropy_axis_as_keras():
    p = R.uniform(0.1, 1.0, (3, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[:, [0, 1, 2, 0]]
    with tf.Session() as sess:
        got = sess.run(tf.keras.losses.CategoricalCrossentropy(False, 0.0, 0)(y, tf.constant(p)))
    want = real.keras.losses.CategoricalCrossentropy(False, 0.0, 0)(y, p).numpy()
    assert got == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("reduction", ["sum", "mean", "mean_with_sample_weight"])
def test_reductions_train_as_keras(reduction):
    _trains_alike(_dense(3, "softmax"), lambda k: k.losses.CategoricalCrossentropy(reduction=reduction), X, YC)
    w = R.uniform(0.1, 2.0, 20).astype(np.float32)
    got = [m.evaluate(X, YC, sample_weight=w, verbose=0, batch_size=7) for m in _pair(
        _dense(3, "softmax"), optimizer="sgd", loss=lambda k: k.losses.CategoricalCrossentropy(reduction=reduction))]
    assert got[0] == pytest.approx(got[1], rel=1e-5)


# ----- 8: evaluate's list --------------------------------------------------------------------------------
@pytest.mark.parametrize("metrics, weighted", [(["accuracy"], ["accuracy"]), (["accuracy", "accuracy"], None),
                                               (["mse", "accuracy"], ["accuracy", "mse"])])
def test_evaluate_list_as_keras(metrics, weighted):
    w = R.uniform(0.1, 2.0, 20).astype(np.float32)
    ours, theirs = _pair(_dense(3, "softmax"), optimizer="sgd", loss="categorical_crossentropy", metrics=metrics,
                         weighted_metrics=weighted)
    got, want = ours.evaluate(X, YC, sample_weight=w, verbose=0), theirs.evaluate(X, YC, sample_weight=w, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(ours.train_on_batch(X, YC), theirs.train_on_batch(X, YC), rtol=1e-5)
