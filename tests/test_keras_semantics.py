"""Keras 3 semantics that used to diverge silently, each against NumPy or hand values (parity with real Keras is
in tests/test_reference_keras_semantics.py): the cross-entropies of softmax and sigmoid outputs, categorical
cross-entropy's renormalisation, the model's mode overriding a layer call's ``training=``, freezing layers
between compile and the first fit, ModelCheckpoint without its monitored value, the losses' constructor
arguments and reductions, and evaluate's list order."""
import numpy as np
import pytest

import static_api as tf

keras = tf.keras
R = np.random.default_rng(5)
X = R.normal(size=(12, 4)).astype(np.float32) * 2
Y3 = np.eye(3, dtype=np.float32)[R.integers(0, 3, 12)]


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _run(t):
    with tf.Session() as sess:
        return sess.run(t)


def _dense_model(units, activation):
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation=activation)])


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _sigmoid_ce(y, z):
    return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))


# ----- 1. softmax / sigmoid outputs: the loss is taken from their logits, whatever from_logits says ---------
@pytest.mark.parametrize("activation, loss, target, from_logits", [
    ("softmax", "cce", "onehot", True), ("softmax", "scce", "sparse", True), ("sigmoid", "bce", "binary", True),
    ("softmax", "cce", "onehot", False), ("sigmoid", "cce", "onehot", False), ("sigmoid", "scce", "sparse", False),
    ("softmax", "bce", "onehot", False)])
def test_softmax_or_sigmoid_output_loss_uses_the_logits(activation, loss, target, from_logits):
    """Keras 3 on TensorFlow: an output made by a softmax or sigmoid activation remembers its input, and every
    cross-entropy takes that as logits (a sigmoid output's categorical cross-entropy is the softmax one of the
    pre-activation), warning when from_logits=True was asked of such an output."""
    units = 1 if target == "binary" else 3
    model = _dense_model(units, activation)
    cls = {"cce": keras.losses.CategoricalCrossentropy, "scce": keras.losses.SparseCategoricalCrossentropy,
           "bce": keras.losses.BinaryCrossentropy}[loss]
    y = {"onehot": Y3, "sparse": Y3.argmax(1), "binary": Y3[:, :1]}[target]
    if from_logits:
        with pytest.warns(UserWarning, match="does not represent logits"):
            model.compile("sgd", cls(from_logits=True))
    else:
        model.compile("sgd", cls())
    w, b = model.get_weights()
    z = X @ w + b
    want = {"cce": lambda: -(Y3 * _log_softmax(z)).sum(1), "scce": lambda: -_log_softmax(z)[np.arange(12), y],
            "bce": lambda: _sigmoid_ce(y, z).mean(1)}[loss]().mean()
    assert model.evaluate(X, y, verbose=0) == pytest.approx(want, rel=1e-5)


def test_standalone_loss_of_a_softmax_tensor_uses_its_logits():
    z = R.normal(size=(5, 3)).astype(np.float32)
    y = Y3[:5]
    with pytest.warns(UserWarning, match="Softmax activation"):
        got = keras.losses.CategoricalCrossentropy(from_logits=True)(y, tf.nn.softmax(tf.constant(z)))
    assert _run(got) == pytest.approx(-(y * _log_softmax(z)).sum(1).mean(), rel=1e-5)


# ----- 2. categorical cross-entropy of outputs that are not a softmax: renormalised, then clipped ----------
def test_categorical_crossentropy_renormalises_the_outputs():
    p = np.array([[0.2, 0.2, 0.4], [0.5, 0.5, 1.0], [3.0, 0.0, 1.0]], np.float32)
    y = np.eye(3, dtype=np.float32)[[2, 0, 1]]
    q = np.clip(p / p.sum(1, keepdims=True), 1e-7, 1 - 1e-7)
    want = -(y * np.log(q)).sum(1)
    got = _run(keras.losses.categorical_crossentropy(y, tf.constant(p)))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got[0] == pytest.approx(-np.log(0.5))        # 0.4 / 0.8, not -log(0.4)


def test_categorical_crossentropy_of_an_all_zero_row_is_nan():
    """0 / 0 in the renormalisation: Keras gives NaN for a relu output that is all zeros (no clipping saves it)."""
    model = _dense_model(3, "relu")
    model.set_weights([np.zeros((4, 3), np.float32), np.zeros(3, np.float32)])
    model.compile("sgd", "categorical_crossentropy")
    assert np.isnan(model.evaluate(X, Y3, verbose=0))


# ----- 3. a layer call's training= gives way to the model's mode ------------------------------------------
def _dropout_model(training):
    inp = keras.Input((4,))
    h = keras.layers.Dropout(0.5)(inp, training=training)
    return keras.Model(inp, keras.layers.Dense(2, use_bias=False, kernel_initializer="ones")(h))


def test_dropout_called_with_training_true_is_off_in_predict_and_evaluate():
    model = _dropout_model(True)
    want = X.sum(1, keepdims=True) * np.ones((1, 2), np.float32)
    np.testing.assert_allclose(model.predict(X), want, rtol=1e-5)
    model.compile("sgd", "mse")
    assert model.evaluate(X, np.zeros((12, 2), np.float32), verbose=0) == pytest.approx((want ** 2).mean(), rel=1e-5)


def test_dropout_called_with_training_false_is_on_in_fit():
    """lr 0: fit's loss is the dropped-out one, which differs from the plain model's."""
    model = _dropout_model(False)
    model.compile(keras.optimizers.SGD(0.0), "mse")
    y = np.zeros((12, 2), np.float32)
    plain = model.evaluate(X, y, verbose=0, batch_size=12)
    trained = model.fit(X, y, epochs=1, batch_size=12, verbose=0).history["loss"][0]
    assert trained != pytest.approx(plain, rel=1e-3)


def test_the_call_flag_holds_where_no_model_runs_the_graph():
    inp = keras.Input((4,))
    out = keras.layers.Dropout(0.5)(inp, training=True)
    with tf.Session() as sess:
        got = sess.run(out, {inp: np.ones((64, 4), np.float32)})
    assert set(np.unique(got)) == {0.0, 2.0}


def test_batch_norm_called_with_training_false_trains_in_fit():
    inp = keras.Input((4,))
    bn = keras.layers.BatchNormalization(momentum=0.5)
    model = keras.Model(inp, bn(inp, training=False))
    model.compile(keras.optimizers.SGD(0.0), "mse")
    model.fit(X, np.zeros((12, 4), np.float32), epochs=1, batch_size=12, verbose=0)
    np.testing.assert_allclose(bn.get_weights()[2], 0.5 * X.mean(0), rtol=1e-5)      # moving mean, one step
    np.testing.assert_allclose(bn.get_weights()[3], 0.5 + 0.5 * X.var(0), rtol=1e-5)


# ----- 4. trainable=False between compile and the first fit ------------------------------------------------
def _frozen_after_compile(refit_first):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5), keras.layers.BatchNormalization(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.1), "categorical_crossentropy")
    if refit_first:
        model.fit(X, Y3, epochs=1, batch_size=4, verbose=0)
    before = model.get_weights()
    model.layers[0].trainable = model.layers[1].trainable = False
    model.fit(X, Y3, epochs=1, batch_size=4, verbose=0)
    return before, model.get_weights()


def test_freezing_after_compile_before_the_first_fit_applies():
    """Keras 3 builds its train step at the first fit: the Dense keeps kernel and bias, the batch norm its
    gamma, beta and moving statistics (it runs in inference mode); the last layer still trains."""
    before, after = _frozen_after_compile(False)
    for a, b in zip(before[:6], after[:6]):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(before[6], after[6])


def test_freezing_after_a_fit_waits_for_the_next_compile():
    before, after = _frozen_after_compile(True)
    assert not np.allclose(before[0], after[0]) and not np.allclose(before[4], after[4])


# ----- 5. ModelCheckpoint(save_best_only=True) without the monitored value ---------------------------------
def test_checkpoint_without_its_monitored_value_saves_every_epoch(tmp_path):
    model = _dense_model(3, "softmax")
    model.compile("sgd", "categorical_crossentropy")
    cb = keras.callbacks.ModelCheckpoint(str(tmp_path / "w{epoch}.weights.h5"), monitor="val_loss",
                                         save_best_only=True, save_weights_only=True)
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        model.fit(X, Y3, epochs=2, verbose=0, callbacks=[cb])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w1.weights.h5", "w2.weights.h5"]


# ----- 6. the losses' constructor arguments (Keras 3's order) and reductions -------------------------------
def test_loss_constructors_take_keras_positional_arguments():
    huber = keras.losses.Huber(2.0, "sum")
    assert (huber.delta, huber.reduction, huber.name) == (2.0, "sum", "huber_loss")
    cce = keras.losses.CategoricalCrossentropy(False, 0.0, 1)
    assert (cce.axis, cce.name) == (1, "categorical_crossentropy")
    scce = keras.losses.SparseCategoricalCrossentropy(True, None, "sum", -1, "s")
    assert (scce.from_logits, scce.reduction, scce.name) == (True, "sum", "s")
    bce = keras.losses.BinaryCrossentropy(True, 0.1, -1, "mean", "b")
    assert (bce.label_smoothing, bce.reduction, bce.name) == (0.1, "mean", "b")
    assert keras.losses.MeanSquaredError("sum").reduction == "sum"
    assert keras.losses.CosineSimilarity(0, "sum", "c").axis == 0
    with pytest.raises(TypeError):
        keras.losses.MeanSquaredError(from_logits=False)      # Keras' regression losses have no from_logits


def test_loss_reductions():
    y = np.array([[1.0], [2.0], [4.0]], np.float32)
    p = tf.constant(np.zeros((3, 1), np.float32))
    w = np.array([1.0, 0.0, 2.0], np.float32)
    assert _run(keras.losses.MeanSquaredError("sum")(y, p)) == pytest.approx(21.0)
    assert _run(keras.losses.MeanSquaredError()(y, p, sample_weight=w)) == pytest.approx(33.0 / 3)
    assert _run(keras.losses.MeanSquaredError("mean_with_sample_weight")(y, p, sample_weight=w)) == \
        pytest.approx(33.0 / 3.0)
    assert _run(keras.losses.MeanSquaredError("mean_with_sample_weight")(y, p, sample_weight=w * 2)) == \
        pytest.approx(66.0 / 6.0)
    with pytest.raises(NotImplementedError, match="reduction='none'"):
        keras.losses.MeanSquaredError("none")
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`"):
        keras.losses.Huber(1.0, "average")
    with pytest.raises(NotImplementedError, match="ignore_class"):
        keras.losses.SparseCategoricalCrossentropy(ignore_class=0)


def test_fit_with_a_summed_loss():
    """reduction="sum": each batch's loss is the sum over its samples (the epoch's log averages the batches'
    values by their sizes); the gradient is the sum's."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(keras.optimizers.SGD(0.01), keras.losses.MeanSquaredError("sum"))
    x = np.array([[1.0], [2.0], [3.0]], np.float32)
    y = 2 * x
    loss = model.fit(x, y, epochs=1, batch_size=3, verbose=0).history["loss"][0]
    assert loss == pytest.approx(4 + 16 + 36)
    # d/dw sum((w x - y)^2) at w = 0: -2 sum(x y) = -56
    assert model.get_weights()[0][0, 0] == pytest.approx(0.56)


def test_loss_config_keeps_the_keras_arguments():
    config = keras.losses.serialize(keras.losses.Huber(2.0, "sum"))
    assert config == {"class": "Huber", "delta": 2.0, "reduction": "sum", "name": "huber_loss", "dtype": None}
    again = keras.losses.deserialize(config)
    assert (again.delta, again.reduction) == (2.0, "sum")
    # files written when every loss recorded from_logits
    assert keras.losses.deserialize({"class": "MeanSquaredError", "from_logits": False}).name == "mean_squared_error"


# ----- 8. evaluate's list ---------------------------------------------------------------------------------
def test_evaluate_list_repeats_a_metric_that_is_also_weighted():
    """Keras 3 lists the logs named as the metric objects, then the rest alphabetically: a weighted accuracy's
    object is named "accuracy" too, so the plain accuracy comes twice, then weighted_accuracy."""
    model = _dense_model(3, "softmax")
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"])
    w = R.uniform(0.1, 2.0, 12).astype(np.float32)
    w_, b = model.get_weights()
    hit = ((X @ w_ + b).argmax(1) == Y3.argmax(1)).astype(np.float64)
    got = model.evaluate(X, Y3, sample_weight=w, verbose=0)
    assert len(got) == 4
    assert got[1] == got[2] == pytest.approx(hit.mean())
    assert got[3] == pytest.approx((hit * w).sum() / w.sum(), rel=1e-5)
    logs = model.evaluate(X, Y3, sample_weight=w, verbose=0, return_dict=True)
    assert list(logs) == ["accuracy", "loss", "weighted_accuracy"]


def test_keras_activations_by_hand():
    x = np.array([-3.0, -0.5, 0.0, 0.25, 2.0, 7.0], np.float32)
    a = tf.keras.activations
    relu = lambda **kw: _run(a.relu(tf.constant(x), **kw))      # noqa: E731
    np.testing.assert_array_equal(relu(), np.maximum(x, 0))
    np.testing.assert_allclose(relu(negative_slope=0.1), np.where(x > 0, x, 0.1 * x), rtol=1e-6)
    np.testing.assert_array_equal(relu(max_value=2.5), np.clip(x, 0, 2.5))
    np.testing.assert_array_equal(relu(threshold=0.5), np.where(x > 0.5, x, 0))
    # Keras 3's order: x above the threshold, clipped, minus slope * relu(threshold - x)
    np.testing.assert_allclose(relu(negative_slope=0.1, max_value=3.0, threshold=0.5),
                               np.clip(np.where(x > 0.5, x, 0), 0, 3) - 0.1 * np.maximum(0.5 - x, 0), rtol=1e-6)
    np.testing.assert_allclose(_run(a.elu(tf.constant(x), alpha=0.5)), np.where(x > 0, x, 0.5 * np.expm1(x)),
                               rtol=1e-6)
    np.testing.assert_allclose(_run(a.mish(tf.constant(x))), x * np.tanh(np.log1p(np.exp(x))), rtol=1e-6)
    assert a.get(None) is a.linear and a.get("swish") is a.silu and a.get(a.relu) is a.relu
    assert a.serialize(a.swish) == "silu" and a.deserialize("gelu") is a.gelu
    with pytest.raises(ValueError, match="Unknown activation function 'nope'"):
        a.get("nope")


def test_keras_softmax_and_sigmoid_remember_their_logits():
    z = tf.constant([[1.0, 2.0, 0.5]])
    assert tf.keras.activations.softmax(z)._keras_logits is z
    assert tf.keras.activations.sigmoid(z)._keras_logits is z
    assert not hasattr(tf.nn.softmax(z), "_keras_logits")
    y = np.array([[0.0, 1.0, 0.0]], np.float32)
    # categorical cross-entropy of a Keras sigmoid: the softmax one of its logits; of a raw TF sigmoid: its
    # probabilities renormalised (Keras' TF backend only looks through a raw op of the loss's own type)
    keras_sig = _run(tf.keras.losses.categorical_crossentropy(y, tf.keras.activations.sigmoid(z)))
    raw_sig = _run(tf.keras.losses.categorical_crossentropy(y, tf.nn.sigmoid(z)))
    s = 1 / (1 + np.exp(-np.array([1.0, 2.0, 0.5])))
    np.testing.assert_allclose(keras_sig, [-np.log(np.exp(2.0) / np.exp([1.0, 2.0, 0.5]).sum())], rtol=1e-6)
    np.testing.assert_allclose(raw_sig, [-np.log(s[1] / s.sum())], rtol=1e-6)
