"""Keras gaps real programs hit: ``keras.metrics``, ``keras.optimizers.schedules``, Adamax and Nadam, and the
layers and callbacks added with them; each against NumPy or hand values (parity with Keras 3 is in
tests/test_reference_keras_gaps.py)."""
import math

import numpy as np
import pytest

import static_api as tf

keras = tf.keras
R = np.random.default_rng(7)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


# ----- metrics ----------------------------------------------------------------------------------
def test_mean_weighted_reset_and_per_sample_weights():
    m = keras.metrics.Mean()
    assert m.name == "mean" and float(m.result()) == 0.0      # nothing seen: divide_no_nan's 0
    m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
    assert float(m.result()) == 2.0
    m.update_state([10.0])
    assert float(m.result()) == pytest.approx((1 + 3 + 10) / 3)
    m.reset_state()
    # values (3, 2) with weights (3, 1): each row averaged, weighted by its row weight
    values = np.array([[1.0, 2.0], [3.0, 5.0], [7.0, 11.0]], np.float32)
    w = np.array([[0.5], [0.0], [2.0]], np.float32)
    m.update_state(values, sample_weight=w)
    want = (values.mean(1) * w[:, 0]).sum() / w.sum()
    assert float(m.result()) == pytest.approx(want, rel=1e-6)
    assert m.result().dtype == np.float32


def test_accuracy_metrics_against_numpy():
    probs = R.random((12, 5)).astype(np.float32)
    labels = R.integers(0, 5, 12)
    onehot = np.eye(5, dtype=np.float32)[labels]
    hits = probs.argmax(1) == labels
    for metric, y in ((keras.metrics.CategoricalAccuracy(), onehot),
                      (keras.metrics.SparseCategoricalAccuracy(), labels),
                      (keras.metrics.SparseCategoricalAccuracy(), labels[:, None])):
        metric.update_state(y, probs)
        assert float(metric.result()) == pytest.approx(hits.mean())
    top2 = (probs > probs[np.arange(12), labels][:, None]).sum(1) < 2
    t = keras.metrics.TopKCategoricalAccuracy(k=2)
    t.update_state(onehot, probs)
    s = keras.metrics.SparseTopKCategoricalAccuracy(k=2)
    s.update_state(labels, probs)
    assert (t.name, s.name) == ("top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy")
    assert float(t.result()) == pytest.approx(top2.mean()) and float(s.result()) == pytest.approx(top2.mean())
    b = keras.metrics.BinaryAccuracy(threshold=0.3)
    b.update_state(onehot[:, :2], probs[:, :2])
    assert float(b.result()) == pytest.approx(((probs[:, :2] > 0.3) == onehot[:, :2]).mean())
    a = keras.metrics.Accuracy()
    a.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    assert float(a.result()) == 0.75
    with pytest.raises(ValueError, match="threshold"):
        keras.metrics.BinaryAccuracy(threshold=1.0)


def test_regression_metrics_against_numpy():
    y = R.normal(size=(6, 3)).astype(np.float32)
    p = R.normal(size=(6, 3)).astype(np.float32)
    mse, mae = keras.metrics.MeanSquaredError(), keras.metrics.MeanAbsoluteError()
    mse.update_state(y, p)
    mae.update_state(y, p, sample_weight=np.arange(6, dtype=np.float32))
    assert (mse.name, mae.name) == ("mean_squared_error", "mean_absolute_error")
    assert float(mse.result()) == pytest.approx(((y - p) ** 2).mean(), rel=1e-6)
    per = np.abs(y - p).mean(1)
    assert float(mae.result()) == pytest.approx((per * np.arange(6)).sum() / np.arange(6).sum(), rel=1e-6)
    # (n,) targets for (n, 1) predictions are brought to one rank, as Keras does, not broadcast to (n, n)
    flat = keras.metrics.MeanSquaredError()
    flat.update_state([1.0, 2.0], [[1.5], [2.0]])
    assert float(flat.result()) == pytest.approx(0.125)


def test_precision_recall_thresholds_and_weights():
    y = np.array([0, 1, 1, 1, 0, 1], np.float32)
    p = np.array([0.6, 0.2, 0.8, 0.4, 0.1, 0.55], np.float32)
    w = np.array([1.0, 2.0, 0.5, 1.0, 3.0, 1.0], np.float32)
    prec = keras.metrics.Precision(thresholds=[0.3, 0.5, 0.7])
    rec = keras.metrics.Recall()
    prec.update_state(y, p, sample_weight=w)
    rec.update_state(y[:, None], p[:, None])
    want = []
    for t in (0.3, 0.5, 0.7):
        tp, fp = (w * (y == 1) * (p > t)).sum(), (w * (y == 0) * (p > t)).sum()
        want.append(tp / (tp + fp))
    np.testing.assert_allclose(prec.result(), want, rtol=1e-6)
    tp, fn = ((y == 1) & (p > 0.5)).sum(), ((y == 1) & (p <= 0.5)).sum()
    assert float(rec.result()) == pytest.approx(tp / (tp + fn))
    # names as Keras' auto_name gives them: unique snake case
    assert (prec.name, rec.name, keras.metrics.Precision().name) == ("precision", "recall", "precision_1")
    empty = keras.metrics.Recall()
    empty.update_state([0, 0], [0.9, 0.1])       # no positive label: 0, not NaN
    assert float(empty.result()) == 0.0
    with pytest.raises(NotImplementedError, match="top_k and class_id"):
        keras.metrics.Precision(top_k=2)


def _roc_auc(y, p, w, n=200):
    """Keras' AUC recomputed in float64: counts at thresholds (i / (n - 1), ends moved out by 1e-7) by direct
    comparison, then the trapezoids of the ROC curve."""
    t = np.array([-1e-7] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + 1e-7])
    above = p[None, :] > t[:, None]
    tp, fp = (above * (w * y)).sum(1), (above * (w * (1 - y))).sum(1)
    fn, tn = (w * y).sum() - tp, (w * (1 - y)).sum() - fp
    recall, fpr = tp / (tp + fn), fp / (fp + tn)
    return float(((fpr[:-1] - fpr[1:]) * (recall[:-1] + recall[1:]) / 2).sum())


def test_auc_against_numpy():
    y = (R.random(50) > 0.5).astype(np.float32)
    p = np.clip(0.3 * y + 0.7 * R.random(50), 0, 1).astype(np.float32)
    w = R.random(50).astype(np.float32)
    auc = keras.metrics.AUC()
    auc.update_state(y[:20], p[:20], sample_weight=w[:20])
    auc.update_state(y[20:], p[20:], sample_weight=w[20:])
    assert auc.name == "auc" and float(auc.result()) == pytest.approx(_roc_auc(y, p, w), rel=1e-5)
    perfect = keras.metrics.AUC(num_thresholds=11)
    perfect.update_state([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.9])
    assert float(perfect.result()) == 1.0
    # one positive ranked first: recall falls from 1 to 0 in one step, where precision goes from 1 to 0 (no
    # prediction above the threshold counts as precision 0): the upper rectangle is 1, the lower one 0
    for method, area in (("majoring", 1.0), ("minoring", 0.0)):
        pr = keras.metrics.AUC(curve="PR", summation_method=method)
        pr.update_state([0, 1], [0.2, 0.8])
        assert float(pr.result()) == area
    with pytest.raises(NotImplementedError, match="multi_label"):
        keras.metrics.AUC(multi_label=True)
    with pytest.raises(ValueError, match="Invalid AUC curve value"):
        keras.metrics.AUC(curve="DET")


def test_metric_lookup_errors():
    with pytest.raises(ValueError, match="Could not interpret metric identifier: acuracy"):
        keras.metrics.get("acuracy")
    with pytest.raises(NotImplementedError, match="'f1_score' is not implemented"):
        keras.metrics.get("f1_score")
    assert isinstance(keras.metrics.get("precision"), keras.metrics.Precision)


def _binary_model():
    x = keras.Input((4,))
    return keras.Model(x, keras.layers.Dense(1, activation="sigmoid")(x))


def test_compiled_metric_objects_are_epoch_values_and_named_as_keras(tmp_path):
    x = R.normal(size=(40, 4)).astype(np.float32)
    y = (x[:, :1] + 0.3 * x[:, 1:2] > 0).astype(np.float32)
    model = _binary_model()
    precision = keras.metrics.Precision(name="prec")
    model.compile("adam", "binary_crossentropy",
                  metrics=["accuracy", precision, "recall", keras.metrics.MeanSquaredError()])
    assert model.metrics_names == ["loss", "accuracy", "prec", "recall", "mean_squared_error"]
    hist = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert sorted(hist.history) == ["accuracy", "loss", "mean_squared_error", "prec", "recall"]
    logs = model.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)
    hit = p > 0.5
    tp = (hit & (y == 1)).sum()
    # precision and recall are ratios of the epoch's counts, not means of per-batch ratios
    assert logs["prec"] == pytest.approx(tp / hit.sum(), rel=1e-6)
    assert logs["recall"] == pytest.approx(tp / (y == 1).sum(), rel=1e-6)
    assert logs["accuracy"] == pytest.approx((hit == y).mean(), rel=1e-6)
    assert logs["mean_squared_error"] == pytest.approx(((p - y) ** 2).mean(), rel=1e-5)
    assert float(precision.result()) == pytest.approx(logs["prec"])      # the object holds the last run's state
    # a string-named metric saves and comes back; an object with other settings than its name's refuses to save
    model.compile("adam", "binary_crossentropy", metrics=["precision", keras.metrics.BinaryAccuracy()])
    model.save(str(tmp_path / "m.npz"))
    again = keras.models.load_model(str(tmp_path / "m.npz"))
    assert again.metrics_names == ["loss", "precision", "binary_accuracy"]
    model.compile("adam", "binary_crossentropy", metrics=[keras.metrics.Precision(thresholds=0.3)])
    with pytest.raises(NotImplementedError, match="cannot save a model compiled with the metric"):
        model.save(str(tmp_path / "n.npz"))


def test_compiled_metrics_reset_per_epoch_and_monitor_direction():
    x = R.normal(size=(32, 4)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = _binary_model()
    model.compile("sgd", "binary_crossentropy", metrics=[keras.metrics.Recall(name="r")])
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    first = model.evaluate(x, y, verbose=0, return_dict=True)["r"]
    # a second evaluation starts from zeroed counts: the same value, not a mix of both runs
    assert model.evaluate(x, y, verbose=0, return_dict=True)["r"] == first
    stop = keras.callbacks.EarlyStopping(monitor="r", patience=0)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[stop])
    assert stop._direction == "max"                 # Recall rises, as Keras 3's _direction says
    with pytest.raises(NotImplementedError, match="averages given values"):
        model.compile("sgd", "binary_crossentropy", metrics=[keras.metrics.Mean()])
    # a name given twice logs as name_1 the second time (Keras 3's CompileMetrics)
    model.compile("sgd", "binary_crossentropy", metrics=["mae", keras.metrics.MeanAbsoluteError(name="mae")])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert model.metrics_names == ["loss", "mae", "mae_1"] and logs["mae"] == logs["mae_1"]


# ----- learning-rate schedules --------------------------------------------------------------------
def _rates(schedule, steps):
    g = tf.Graph()
    with g.as_default():
        k = tf.placeholder(tf.int64, ())
        rate = schedule(k)
    with tf.Session(graph=g) as sess:
        return np.array([sess.run(rate, {k: s}) for s in steps])


STEPS = list(range(0, 40, 3))


@pytest.mark.parametrize("name,schedule,formula", [
    ("exp", lambda S: S.ExponentialDecay(0.1, 7, 0.5), lambda k: 0.1 * 0.5 ** (k / 7)),
    ("exp_stair", lambda S: S.ExponentialDecay(0.1, 7, 0.5, staircase=True), lambda k: 0.1 * 0.5 ** (k // 7)),
    ("inverse", lambda S: S.InverseTimeDecay(0.1, 7, 0.5), lambda k: 0.1 / (1 + 0.5 * k / 7)),
    ("inverse_stair", lambda S: S.InverseTimeDecay(0.1, 7, 0.5, staircase=True),
     lambda k: 0.1 / (1 + 0.5 * (k // 7))),
    ("piecewise", lambda S: S.PiecewiseConstantDecay([6, 20], [0.1, 0.05, 0.01]),
     lambda k: 0.1 if k <= 6 else 0.05 if k <= 20 else 0.01),
    ("poly", lambda S: S.PolynomialDecay(0.1, 30, 0.01, power=2.0),
     lambda k: (0.1 - 0.01) * (1 - min(k, 30) / 30) ** 2 + 0.01),
    ("poly_cycle", lambda S: S.PolynomialDecay(0.1, 10, 0.01, power=1.0, cycle=True),
     lambda k: (0.1 - 0.01) * (1 - k / (10 * max(1, math.ceil(k / 10)))) + 0.01),
    ("cosine", lambda S: S.CosineDecay(0.1, 30, alpha=0.2),
     lambda k: 0.1 * (0.8 * 0.5 * (1 + math.cos(math.pi * min(k, 30) / 30)) + 0.2)),
    ("cosine_warmup", lambda S: S.CosineDecay(0.0, 20, warmup_target=0.1, warmup_steps=10),
     lambda k: 0.1 * k / 10 if k < 10 else 0.1 * 0.5 * (1 + math.cos(math.pi * min(k - 10, 20) / 20))),
])
def test_schedules_against_formulas(name, schedule, formula):
    got = _rates(schedule(keras.optimizers.schedules), STEPS)
    np.testing.assert_allclose(got, [formula(k) for k in STEPS], rtol=2e-6, atol=1e-9)


def test_schedule_arguments_checked_as_keras():
    S = keras.optimizers.schedules
    with pytest.raises(ValueError, match="decay_steps` must be > 0. Received: decay_steps=0"):
        S.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="boundaries should be 1 less than the length of values"):
        S.PiecewiseConstantDecay([1, 2], [0.1, 0.2])

    class Halving(S.LearningRateSchedule):
        def __call__(self, step):
            return 0.4 / tf.cast(step + 1, tf.float32)
    assert _rates(Halving(), [0, 1, 3]).tolist() == pytest.approx([0.4, 0.2, 0.1])
    with pytest.raises(NotImplementedError, match="must override `get_config"):
        Halving().get_config()


def _linear_steps(optimizer, steps=6):
    """Train y = w * x (w from 1) on x = 1, y = 0 with MSE one sample a step; the weights after each step."""
    x = keras.Input((1,))
    model = keras.Model(x, keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(x))
    model.compile(optimizer, "mse")
    ws = []
    for _ in range(steps):
        model.train_on_batch(np.ones((1, 1), np.float32), np.zeros((1, 1), np.float32))
        ws.append(float(model.get_weights()[0][0, 0]))
    return model, ws


def schedule_value(k):
    return 0.25 if k <= 1 else 0.125 if k <= 3 else 0.0625


def test_schedule_as_learning_rate_follows_the_step_count(tmp_path):
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([1, 3], [0.25, 0.125, 0.0625])
    model, ws = _linear_steps(keras.optimizers.SGD(schedule))
    w, want = 1.0, []
    for k in range(6):                     # step k trains at schedule(k); the gradient of w^2 is 2w
        w -= schedule_value(k) * 2 * w
        want.append(w)
    assert ws == want
    assert float(model.optimizer.learning_rate) == 0.0625
    with pytest.raises(TypeError, match="its learning rate is not settable"):
        model.optimizer.learning_rate = 0.1
    model.save(str(tmp_path / "s.npz"))
    again = keras.models.load_model(str(tmp_path / "s.npz"))
    assert again.optimizer._schedule.get_config() == schedule.get_config()


def test_adamax_and_nadam_against_numpy():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-7
    _, adamax = _linear_steps(keras.optimizers.Adamax(lr))
    _, nadam = _linear_steps(keras.optimizers.Nadam(lr))
    w, m, u, want = 1.0, 0.0, 0.0, []
    for t in range(1, 7):
        g = 2 * w
        m += (g - m) * (1 - b1)
        u = max(b2 * u, abs(g))
        w -= lr * m / ((1 - b1 ** t) * (u + eps))
        want.append(w)
    np.testing.assert_allclose(adamax, want, rtol=1e-5)
    w, m, v, prod, want = 1.0, 0.0, 0.0, 1.0, []
    for t in range(1, 7):
        g = 2 * w
        mu, mu_next = b1 * (1 - 0.5 * 0.96 ** t), b1 * (1 - 0.5 * 0.96 ** (t + 1))
        prod *= mu
        m += (g - m) * (1 - b1)
        v += (g * g - v) * (1 - b2)
        m_hat = mu_next * m / (1 - prod * mu_next) + (1 - mu) * g / (1 - prod)
        w -= lr * m_hat / (math.sqrt(v / (1 - b2 ** t)) + eps)
        want.append(w)
    np.testing.assert_allclose(nadam, want, rtol=1e-5)
    assert type(keras.optimizers.get("nadam")).__name__ == "Nadam"
    with pytest.raises(ValueError, match="not recognized"):
        keras.optimizers.Adamax(lr=0.1)


# ----- layers ---------------------------------------------------------------------------------------
def _run(build, *arrays):
    """The outputs of a model of ``build(inputs)`` on ``arrays`` (one input each)."""
    ins = [keras.Input(a.shape[1:], dtype=str(a.dtype)) for a in arrays]
    model = keras.Model(ins if len(ins) > 1 else ins[0], build(ins if len(ins) > 1 else ins[0]))
    return model, model.predict(list(arrays) if len(arrays) > 1 else arrays[0], verbose=0)


def test_shape_layers_against_numpy():
    x = R.normal(size=(3, 4, 5)).astype(np.float32)
    _, y = _run(lambda t: keras.layers.Permute((2, 1))(t), x)
    np.testing.assert_array_equal(y, x.transpose(0, 2, 1))
    _, y = _run(lambda t: keras.layers.RepeatVector(3)(t), x[:, 0])
    np.testing.assert_array_equal(y, np.repeat(x[:, None, 0], 3, axis=1))
    model, y = _run(lambda t: keras.layers.Identity()(t), x)
    np.testing.assert_array_equal(y, x)
    assert [lay.name for lay in model.layers[1:]] == ["identity"]
    with pytest.raises(ValueError, match=r"must be consecutive and start from 1. Received dims=\(0, 1\)"):
        keras.layers.Permute((0, 1))
    with pytest.raises(TypeError, match="Expected an integer value for `n`"):
        keras.layers.RepeatVector(2.0)
    with pytest.raises(ValueError, match=r'layer "repeat_vector\w*" is incompatible with the layer: expected ndim=2, '
                                         r"found ndim=3"):
        keras.layers.RepeatVector(2)(keras.Input((4, 5)))


def test_lambda_layer_computes_and_refuses_to_save(tmp_path):
    x = R.normal(size=(4, 3)).astype(np.float32)
    model, y = _run(lambda t: keras.layers.Lambda(lambda v, scale: v * scale + 1.0, arguments={"scale": 3.0})(t), x)
    np.testing.assert_allclose(y, x * 3 + 1, rtol=1e-6)
    _, both = _run(lambda ts: keras.layers.Lambda(lambda vs: vs[0] - vs[1])(ts), x, 2 * x)
    np.testing.assert_allclose(both, -x, rtol=1e-6)
    with pytest.raises(NotImplementedError, match="cannot save a model with the Lambda layer 'lambda'"):
        model.save(str(tmp_path / "m.npz"))
    assert not (tmp_path / "m.npz").exists()


def test_activity_regularization_adds_keras_penalty():
    x = R.normal(size=(6, 3)).astype(np.float32)
    inp = keras.Input((3,))
    out = keras.layers.ActivityRegularization(l1=0.1, l2=0.2)(keras.layers.Dense(2, kernel_initializer="ones")(inp))
    model = keras.Model(inp, out)
    model.compile("sgd", "mse")
    y = np.zeros((6, 2), np.float32)
    h = x @ np.ones((3, 2), np.float32)
    penalty = (0.1 * np.abs(h).sum() + 0.2 * (h ** 2).sum()) / 6        # Keras divides by the batch size
    loss = model.evaluate(x, y, batch_size=6, verbose=0)
    assert loss == pytest.approx((h ** 2).mean() + penalty, rel=1e-5)


def test_dot_against_numpy():
    a, b = R.normal(size=(4, 6)).astype(np.float32), R.normal(size=(4, 6)).astype(np.float32)
    _, y = _run(lambda ts: keras.layers.Dot(axes=1)(ts), a, b)
    np.testing.assert_allclose(y, (a * b).sum(1, keepdims=True), rtol=1e-5)
    _, y = _run(lambda ts: keras.layers.Dot(axes=-1, normalize=True)(ts), a, b)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(y[:, 0], cos, rtol=1e-5)
    c, d = R.normal(size=(4, 5, 3)).astype(np.float32), R.normal(size=(4, 7, 5)).astype(np.float32)
    _, y = _run(lambda ts: keras.layers.Dot(axes=(1, 2))(ts), c, d)
    np.testing.assert_allclose(y, np.einsum("bik,bji->bkj", c, d), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"Incompatible input shapes: axis values 6 \(at axis 1\) != 5"):
        keras.layers.Dot(axes=1)([keras.Input((6,)), keras.Input((5,))])
    with pytest.raises(ValueError, match="it should contain two elements"):
        keras.layers.Dot(axes=(1, 2, 3))


def test_pooling_1d_against_numpy():
    x = R.normal(size=(2, 7, 3)).astype(np.float32)
    _, y = _run(lambda t: keras.layers.MaxPooling1D()(t), x)
    np.testing.assert_array_equal(y, x[:, :6].reshape(2, 3, 2, 3).max(2))
    _, y = _run(lambda t: keras.layers.AveragePooling1D(3, strides=2, padding="same")(t), x)
    # TF's SAME: 4 windows over 7 steps padded by one on each side (starts -1, 1, 3, 5), averaging only the steps
    # inside
    want = np.stack([x[:, max(s, 0):min(s + 3, 7)].mean(1) for s in (-1, 1, 3, 5)], 1)
    np.testing.assert_allclose(y, want, rtol=1e-6)
    _, y = _run(lambda t: keras.layers.GlobalMaxPooling1D()(t), x)
    np.testing.assert_array_equal(y, x.max(1))
    _, y = _run(lambda t: keras.layers.GlobalAveragePooling1D(data_format="channels_first", keepdims=True)(t), x)
    np.testing.assert_allclose(y, x.mean(2, keepdims=True), rtol=1e-6)


def test_global_average_pooling_1d_averages_unmasked_steps():
    ids = np.array([[3, 1, 0, 0], [2, 2, 2, 4]], np.int32)
    table = R.normal(size=(5, 3)).astype(np.float32)
    inp = keras.Input((4,), dtype="int32")
    emb = keras.layers.Embedding(5, 3, mask_zero=True, weights=[table])
    model = keras.Model(inp, keras.layers.GlobalAveragePooling1D()(emb(inp)))
    y = model.predict(ids, verbose=0)
    np.testing.assert_allclose(y[0], table[[3, 1]].mean(0), rtol=1e-6)        # the padding 0s left out
    np.testing.assert_allclose(y[1], table[[2, 2, 2, 4]].mean(0), rtol=1e-6)


def _conv1d(x, k, b, stride=1, dilation=1, left=0, right=0):
    """A 1-D convolution (cross-correlation) by loops: x (n, steps, c), k (width, c, f)."""
    x = np.pad(x, [(0, 0), (left, right), (0, 0)])
    span = (k.shape[0] - 1) * dilation + 1
    starts = range(0, x.shape[1] - span + 1, stride)
    return np.stack([sum(x[:, s + i * dilation] @ k[i] for i in range(k.shape[0])) + b for s in starts], 1)


def test_conv1d_against_loops(tmp_path):
    x = R.normal(size=(2, 9, 3)).astype(np.float32)
    for kwargs, pads in (({}, (0, 0)), ({"strides": 2, "padding": "same"}, (1, 1)),
                         ({"padding": "causal", "dilation_rate": 2}, (4, 0))):
        tf.reset_default_graph()
        layer = keras.layers.Conv1D(4, 3, bias_initializer="ones", **kwargs)
        model, y = _run(lambda t: layer(t), x)
        k, b = layer.get_weights()
        assert (layer.name, k.shape, b.shape) == ("conv1d", (3, 3, 4), (4,))
        want = _conv1d(x, k, b, kwargs.get("strides", 1), kwargs.get("dilation_rate", 1), *pads)
        np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    model.save(str(tmp_path / "c.npz"))
    again = keras.models.load_model(str(tmp_path / "c.npz"))
    np.testing.assert_array_equal(again.predict(x, verbose=0), y)
    with pytest.raises(ValueError, match=r'layer "conv1d_1" is incompatible with the layer: expected ndim=3'):
        keras.layers.Conv1D(2, 3)(keras.Input((5,)))


def test_new_layers_save_and_load(tmp_path):
    a = R.normal(size=(3, 6)).astype(np.float32)
    inp = keras.Input((6,))
    h = keras.layers.RepeatVector(4)(inp)
    h = keras.layers.Permute((2, 1))(h)
    h = keras.layers.MaxPooling1D(2)(keras.layers.Conv1D(2, 2, padding="same")(h))
    h = keras.layers.ActivityRegularization(l2=0.1)(keras.layers.GlobalAveragePooling1D()(h))
    out = keras.layers.Dot(axes=1, normalize=True)([h, keras.layers.Identity()(h)])
    model = keras.Model(inp, out)
    model.save(str(tmp_path / "m.npz"))
    again = keras.models.load_model(str(tmp_path / "m.npz"))
    assert [type(lay).__name__ for lay in again.layers] == [type(lay).__name__ for lay in model.layers]
    np.testing.assert_array_equal(again.predict(a, verbose=0), model.predict(a, verbose=0))


# ----- callbacks ------------------------------------------------------------------------------------
def _regression():
    x = R.normal(size=(16, 3)).astype(np.float32)
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(1)(inp))
    return model, x, x.sum(1, keepdims=True)


def test_csv_logger_writes_each_epoch_and_appends(tmp_path):
    model, x, y = _regression()
    model.compile("sgd", "mse", metrics=["mae"])
    path = tmp_path / "log.csv"
    hist = model.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.CSVLogger(str(path))])
    lines = path.read_bytes().decode().split("\r\n")
    assert lines[0] == "epoch,loss,mae,val_loss,val_mae" and lines[-1] == ""
    for epoch, line in enumerate(lines[1:3]):
        assert line == f"{epoch},{hist.history['loss'][epoch]!r},{hist.history['mae'][epoch]!r},NA,NA"
    # appending: the old rows stay, no second header; a fresh log starts over
    model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.CSVLogger(str(path), separator=";",
                                                                             append=True)])
    lines = path.read_bytes().decode().split("\r\n")
    assert len(lines) == 5 and lines[3].startswith("0;") and lines[3].count(";") == 4
    model.fit(x, y, epochs=1, verbose=0, validation_split=0.25, callbacks=[keras.callbacks.CSVLogger(str(path))])
    lines = path.read_bytes().decode().split("\r\n")
    assert lines[0] == "epoch,loss,mae,val_loss,val_mae" and len(lines) == 3 and "NA" not in lines[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]       # no temporary file left behind


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")     # the divergence is the point
def test_terminate_on_nan_and_lambda_callback(capsys):
    model, x, y = _regression()
    model.compile(keras.optimizers.SGD(1e6), "mse")      # diverges to inf, then NaN
    seen = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(logs["loss"]),
                                            on_epoch_end=lambda epoch, logs: seen.append(("epoch", epoch)),
                                            on_train_end=lambda logs: seen.append("end"))
    model.fit(x, y, epochs=5, batch_size=2, verbose=0, callbacks=[keras.callbacks.TerminateOnNaN(), record])
    bad = next(i for i, v in enumerate(seen) if not isinstance(v, str) and not np.isfinite(v))
    # training stops after the first batch whose (running) loss is not finite; the epoch still ends, then training
    assert seen[bad + 1:] == [("epoch", 0), "end"]
    assert f"Batch {bad}: Invalid loss, terminating training" in capsys.readouterr().out
    model.compile(keras.optimizers.SGD(1e6), "mse")
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch"):
        model.fit(x, y, epochs=5, batch_size=2, verbose=0, callbacks=[keras.callbacks.TerminateOnNaN(raise_error=True)])
    old = []
    keras.callbacks.LambdaCallback(on_batch_end=lambda batch, logs: old.append(batch)).on_train_batch_end(3, {})
    assert old == [3]       # Keras 2's on_batch_end still reaches the function


def test_weighted_metrics_take_sample_weights_and_save(tmp_path):
    x = R.normal(size=(24, 4)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    w = R.random(24).astype(np.float32)
    model = _binary_model()
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy", "mae"])
    assert model.metrics_names == ["loss", "accuracy", "weighted_accuracy", "mae"]
    logs = model.evaluate(x, y, batch_size=10, sample_weight=w, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)
    hits = ((p > 0.5) == y)[:, 0]
    assert logs["accuracy"] == pytest.approx(hits.mean(), rel=1e-6)
    assert logs["weighted_accuracy"] == pytest.approx((hits * w).sum() / w.sum(), rel=1e-6)
    assert logs["mae"] == pytest.approx((np.abs(p - y)[:, 0] * w).sum() / w.sum(), rel=1e-5)
    model.save(str(tmp_path / "w.npz"))
    assert keras.models.load_model(str(tmp_path / "w.npz")).metrics_names == model.metrics_names
