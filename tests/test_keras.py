"""Keras-style models on the static graph (``static_api.keras``)."""
import os

import numpy as np
import pytest

import static_api as tf
from core.checkpoint import CheckpointError
from tests.helpers import load_example


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    tf.set_random_seed(0)
    yield


def _blobs(n=240, seed=0):
    """Three well-separated Gaussian classes in 4-D (learnable in a few epochs)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 4)).astype(np.float32) * 0.5 + np.eye(3, 4, dtype=np.float32)[y] * 3
    return x, y


def _mlp(loss="sparse_categorical_crossentropy", **layer_kw):
    inp = tf.keras.layers.Input(shape=(4,))
    h = tf.keras.layers.Dense(16, activation="relu")(inp)
    out = tf.keras.layers.Dense(3, activation="softmax")(h)
    model = tf.keras.models.Model(inputs=inp, outputs=out)
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


def test_seed_model_summary_has_34826_parameters():
    lines = []
    load_example("keras_seed_cnn").build().summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Total params: 34,826" in text and "Trainable params: 34,826" in text
    for row in ("conv2d (Conv2D)", "(None, 26, 26, 32)", "320", "max_pooling2d_1 (MaxPooling2D)", "(None, 5, 5, 64)",
                "flatten (Flatten)", "(None, 1600)", "dense (Dense)", "16,010", "18,496"):
        assert row in text, row


def test_fit_history_progress_line_and_evaluate_against_numpy():
    x, y = _blobs()
    model = _mlp()
    lines = []
    hist = model.fit(x, y, batch_size=32, epochs=4, validation_split=0.25, print_fn=lines.append)
    assert sorted(hist.history) == ["accuracy", "loss", "val_accuracy", "val_loss"] and hist.epoch == [0, 1, 2, 3]
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert lines[0].startswith("Epoch 1/4\n6/6 - ") and "ms/step - accuracy: " in lines[0] and "val_loss" in lines[0]
    loss, acc = model.evaluate(x, y, verbose=0)
    p = model.predict(x)
    assert p.shape == (240, 3)
    np.testing.assert_allclose(loss, -np.log(p[np.arange(240), y]).mean(), rtol=1e-4)
    assert acc == pytest.approx((p.argmax(1) == y).mean())


def test_categorical_and_mse_losses_match_numpy():
    x, y = _blobs()
    onehot = tf.keras.utils.to_categorical(y, 3)
    model = _mlp("categorical_crossentropy")
    loss, _ = model.evaluate(x, onehot, verbose=0)
    p = model.predict(x)
    np.testing.assert_allclose(loss, -(onehot * np.log(p)).sum(1).mean(), rtol=1e-4)
    tf.reset_default_graph()
    inp = tf.keras.layers.Input(shape=(4,))
    model = tf.keras.models.Model(inp, tf.keras.layers.Dense(2)(inp))
    t = np.ones((240, 2), np.float32)
    for loss, ref in (("mse", lambda p: ((p - t) ** 2).mean()),
                      (tf.keras.losses.MeanSquaredError(), lambda p: ((p - t) ** 2).mean()),
                      (lambda yt, yp: tf.reduce_sum(tf.abs(yp - yt), 1), lambda p: np.abs(p - t).sum(1).mean())):
        model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss=loss)
        assert model.evaluate(x, t, verbose=0) == pytest.approx(ref(model.predict(x)), rel=1e-5)
    tf.reset_default_graph()
    inp = tf.keras.layers.Input(shape=(4,))
    logits_model = tf.keras.models.Model(inp, tf.keras.layers.Dense(3)(inp))
    logits_model.compile(optimizer="sgd", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    z = logits_model.predict(x)
    ref = (np.log(np.exp(z).sum(1)) - z[np.arange(240), y]).mean()
    assert logits_model.evaluate(x, y, verbose=0) == pytest.approx(ref, rel=1e-5)


def test_save_and_load_weights_round_trip(tmp_path):
    x, y = _blobs()
    model = _mlp()
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "w.npz")
    model.save_weights(path)
    tf.reset_default_graph()
    other = _mlp()
    assert not np.allclose(other.predict(x), model.predict(x))
    other.load_weights(path)
    np.testing.assert_allclose(other.predict(x), model.predict(x), rtol=1e-6)
    np.savez(tmp_path / "plain.npz", a=np.zeros(1))
    with pytest.raises(CheckpointError):
        other.load_weights(str(tmp_path / "plain.npz"))


def test_sequential_builds_from_input_shape_and_trains():
    x, y = _blobs()
    model = tf.keras.models.Sequential([tf.keras.layers.Dense(16, activation="relu", input_shape=(4,)),
                                        tf.keras.layers.Dropout(0.2), tf.keras.layers.Dense(3, activation="softmax")])
    assert model.count_params() == 4 * 16 + 16 + 16 * 3 + 3
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=20, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    assert model.evaluate(x, y, verbose=0)[1] > 0.95
    np.testing.assert_array_equal(model.predict(x[:5]), model.predict(x[:5]))    # no dropout at inference
    with pytest.raises(ValueError, match="not yet been built"):
        tf.keras.models.Sequential([tf.keras.layers.Dense(2)]).summary()


def test_batch_normalization_moving_statistics():
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(64, 5)).astype(np.float32)
    inp = tf.keras.layers.Input(shape=(5,))
    bn = tf.keras.layers.BatchNormalization()
    model = tf.keras.models.Model(inp, bn(inp))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros_like(x), batch_size=64, epochs=1, verbose=0, shuffle=False)
    mean, var, gamma, beta = model.get_weights()[2:] + model.get_weights()[:2]
    np.testing.assert_allclose(mean, 0.01 * x.mean(0), rtol=1e-4)
    np.testing.assert_allclose(var, 0.99 + 0.01 * x.var(0), rtol=1e-4)
    assert not np.allclose(gamma, 1.0)      # the SGD step moved the scale, and inference must use it
    expected = gamma * (x - mean) / np.sqrt(var + 1e-3) + beta
    np.testing.assert_allclose(model.predict(x, batch_size=64), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("axis", [-1, 1])
def test_batch_normalization_without_scale_and_center_normalises_per_channel(axis):
    """center=False, scale=False: no gamma or beta, and the missing ones are per-channel constants (a (1, 1)
    constant was refused by the batch-norm primitive); a model with no trainable weights trains its moving
    statistics, with Keras' warning (it raised "No gradients provided")."""
    x = np.random.default_rng(1).normal(2.0, 3.0, size=(16, 3, 4)).astype(np.float32)
    inp = tf.keras.layers.Input(shape=(3, 4))
    bn = tf.keras.layers.BatchNormalization(axis=axis, center=False, scale=False, momentum=0.5)
    model = tf.keras.models.Model(inp, bn(inp))
    assert [w.name for w in model.weights] == ["batch_normalization/moving_mean:0",
                                               "batch_normalization/moving_variance:0"]
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(UserWarning, match="The model does not have any trainable weights"):     # as Keras 3
        model.fit(x, np.zeros_like(x), batch_size=16, epochs=1, verbose=0, shuffle=False)
    axes = (0, 1) if axis == -1 else (0, 2)
    mean, var = model.get_weights()
    np.testing.assert_allclose(mean, 0.5 * x.mean(axes), rtol=1e-5)
    np.testing.assert_allclose(var, 0.5 + 0.5 * x.var(axes), rtol=1e-5)
    shape = (1, 1, 4) if axis == -1 else (1, 3, 1)
    expected = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + 1e-3)
    np.testing.assert_allclose(model.predict(x, batch_size=16, verbose=0), expected, rtol=1e-4, atol=1e-4)


def test_keras_errors():
    x, y = _blobs()
    inp = tf.keras.layers.Input(shape=(4,))
    model = tf.keras.models.Model(inp, tf.keras.layers.Dense(3, activation="softmax")(inp))
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"expected shape \(None, 4\), found \(240, 5\)"):
        model.fit(np.zeros((240, 5), np.float32), y)
    with pytest.raises(ValueError, match="x has 240 samples, y has 3"):
        model.fit(x, y[:3])
    with pytest.raises(ValueError, match="Could not interpret optimizer"):
        model.compile(optimizer="adamz", loss="mse")
    assert tf.keras.optimizers.Adam().epsilon == 1e-7


def test_keras_optimizer_arguments_are_checked_as_keras_checks_them():
    """An argument dualflow would otherwise ignore is refused: Keras 2's ``lr`` (Keras 3 does not know it
    either), an EMA setting it does not implement, two clipping settings (as Keras); ``name`` is taken and
    ``decay`` warned about and ignored, as in Keras 3."""
    with pytest.raises(ValueError, match=r"Argument\(s\) not recognized: \{'lr': 0.1\}"):
        tf.keras.optimizers.SGD(lr=0.1)
    for kw in ({"use_ema": True}, {"loss_scale_factor": 2.0}):
        with pytest.raises(NotImplementedError, match=f"keras.optimizers.RMSprop: argument '{next(iter(kw))}'"):
            tf.keras.optimizers.RMSprop(**kw)
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set"):
        tf.keras.optimizers.Adam(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(NotImplementedError, match="argument 'weight_decay' \\(here 0.01\\)"):
        tf.keras.optimizers.SGD(0.1, weight_decay=0.01)
    with pytest.warns(UserWarning, match="`decay` is no longer supported"):
        tf.keras.optimizers.Adagrad(decay=0.1, name="ada")
    tf.keras.optimizers.Adam(clipnorm=None, use_ema=False, weight_decay=None, name="a")     # the defaults


@pytest.mark.parametrize("clip", ["clipnorm", "clipvalue", "global_clipnorm"])
def test_keras_gradient_clipping_steps_by_the_clipped_gradient(clip):
    """SGD on loss = sum(c * w) for two variables: the gradient is c itself, so one step moves each variable by
    the learning rate times Keras' clipped c, computed here by hand; a zero gradient stays zero (no NaN)."""
    c1, c2 = np.array([3.0, -4.0], np.float32), np.array([0.5, 0.0, -12.0], np.float32)
    with tf.Graph().as_default():
        w1, w2 = tf.Variable(np.zeros(2, np.float32)), tf.Variable(np.zeros(3, np.float32))
        w3 = tf.Variable(np.ones(2, np.float32))
        loss = tf.reduce_sum(w1 * c1) + tf.reduce_sum(w2 * c2) + tf.reduce_sum(w3 * 0.0)
        opt = tf.keras.optimizers.SGD(0.1, **{clip: 2.0})
        step = opt.minimize(loss, var_list=[w1, w2, w3])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(step)
            got = sess.run([w1, w2, w3])
    if clip == "clipnorm":      # each gradient to norm 2: c * 2 / max(||c||, 2)
        want = [c * 2.0 / max(np.linalg.norm(c), 2.0) for c in (c1, c2)]
    elif clip == "clipvalue":
        want = [np.clip(c, -2.0, 2.0) for c in (c1, c2)]
    else:                       # all together to norm 2
        total = np.sqrt((c1 ** 2).sum() + (c2 ** 2).sum())
        want = [c * 2.0 / total for c in (c1, c2)]
    np.testing.assert_allclose(got[0], -0.1 * want[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], -0.1 * want[1], rtol=1e-6)
    np.testing.assert_array_equal(got[2], [1.0, 1.0])
    assert tf.keras.optimizers.deserialize(tf.keras.optimizers.serialize(opt)).__dict__[clip] == 2.0


def test_keras_adam_weight_decay_is_adamws_decay():
    """Keras 3's Adam applies a ``weight_decay`` as AdamW does (decoupled, before each step)."""
    def train(make):
        g = tf.Graph()
        with g.as_default():
            w = tf.Variable(np.linspace(-2, 2, 7, dtype=np.float32))
            loss = tf.reduce_sum(tf.square(w - 0.5))
            step = make().minimize(loss)
            with tf.Session(graph=g) as s:
                s.run(tf.global_variables_initializer())
                for _ in range(5):
                    s.run(step)
                return s.run(w)
    decayed = train(lambda: tf.keras.optimizers.Adam(0.1, weight_decay=0.3))
    assert decayed.tobytes() == train(lambda: tf.keras.optimizers.AdamW(0.1, weight_decay=0.3)).tobytes()
    assert not np.allclose(decayed, train(lambda: tf.keras.optimizers.Adam(0.1)))


@pytest.mark.slow
def test_seed_keras_model_reaches_97_percent_on_mnist_within_3_epochs():
    from tests.helpers import mnist_dir
    ex = load_example("keras_seed_cnn")
    (xt, yt), (xv, yv), _ = ex.load(mnist_dir())
    assert xt.shape == (8000, 28, 28, 1) and yt.shape == (8000, 10) and len(xv) == 2000
    model = ex.build()
    accs = []
    for _ in range(3):
        model.fit(xt, yt, epochs=1, batch_size=32, verbose=0)
        accs.append(model.evaluate(xv, yv, verbose=0)[1])
        if accs[-1] >= 0.97:
            break
    assert max(accs) >= 0.97, accs


def test_global_pooling_layers_against_numpy():
    x = np.random.default_rng(0).normal(size=(2, 5, 4, 3)).astype(np.float32)
    inp = tf.keras.Input(shape=(5, 4, 3))
    avg = tf.keras.layers.GlobalAveragePooling2D()(inp)
    mx = tf.keras.layers.GlobalMaxPooling2D(keepdims=True)(inp)
    first = tf.keras.layers.GlobalAveragePooling2D(data_format="channels_first")(inp)
    assert tuple(avg.shape) == (None, 3) and tuple(mx.shape) == (None, 1, 1, 3) and tuple(first.shape) == (None, 5)
    with tf.Session() as sess:
        a, m, f = sess.run([avg, mx, first], {inp: x})
    np.testing.assert_allclose(a, x.mean((1, 2)), rtol=1e-6)
    np.testing.assert_allclose(m, x.max((1, 2), keepdims=True))
    np.testing.assert_allclose(f, x.mean((2, 3)), rtol=1e-6)


class _Recorder:
    """Stands in for a model: numbered weights, and a record of what was restored."""

    def __init__(self):
        self.version, self.restored, self.stop_training = 0, None, False

    def get_weights(self):
        return [np.array(self.version)]

    def set_weights(self, w):
        self.restored = int(w[0])


def test_early_stopping_patience_min_delta_and_restore():
    cb = tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, min_delta=0.05, restore_best_weights=True)
    model = _Recorder()
    cb.set_model(model)
    cb.on_train_begin()
    # Epoch 1 improves (best 0.8, weights v1); 0.78 is within min_delta: no improvement; 0.9 neither: stop
    # after epoch 3 (patience 2); the epoch-1 weights come back when training ends.
    for epoch, val in enumerate([1.0, 0.8, 0.78, 0.9, 0.1]):
        model.version = epoch
        cb.on_epoch_end(epoch, {"val_loss": val})
        if model.stop_training:
            break
    assert (epoch, cb.stopped_epoch, cb.best, model.restored) == (3, 3, 0.8, None)
    cb.on_train_end()
    assert model.restored == 1
    # 'auto' stays the argument, as in Keras; the direction comes from the model's compiled metric at the first
    # epoch's end (an accuracy rises), and a name that is no compiled metric raises there (Keras 3.15)
    rising = tf.keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=1)
    assert rising.mode == "auto"
    model.metrics_names, model.stop_training = ["loss", "accuracy"], False
    rising.set_model(model)
    rising.on_train_begin()
    for epoch, val in enumerate([0.5, 0.6, 0.55]):
        rising.on_epoch_end(epoch, {"val_accuracy": val})
    assert rising.best == 0.6 and model.stop_training
    typo = tf.keras.callbacks.EarlyStopping(monitor="val_acuracy")
    typo.set_model(model)
    typo.on_train_begin()
    with pytest.raises(ValueError, match="monitor=val_acuracy, but Keras isn't able to automatically determine"):
        typo.on_epoch_end(0, {"val_loss": 1.0})


def test_fit_runs_callbacks_stops_early_schedules_rate_and_checkpoints(tmp_path):
    x, y = _blobs()
    model = _mlp()
    path = str(tmp_path / "w{epoch}.npz")
    hist = model.fit(x, y, epochs=6, verbose=0, callbacks=[
        tf.keras.callbacks.LearningRateScheduler(lambda epoch: 0.01 * 0.5 ** epoch),
        tf.keras.callbacks.ModelCheckpoint(path, save_weights_only=True),
        tf.keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)])
    # The first epoch improves on +inf; no later one improves by 10, so training stops after epoch 2.
    # recorded as Keras reads its float32 rate variable back
    assert hist.epoch == [0, 1] and hist.history["learning_rate"] == [float(np.float32(0.01)), float(np.float32(0.005))]
    assert model.optimizer.learning_rate == 0.005
    assert sorted(os.listdir(tmp_path)) == ["w1.npz", "w2.npz"]
    final = model.get_weights()
    model.load_weights(str(tmp_path / "w1.npz"))
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(), final))
    model.load_weights(str(tmp_path / "w2.npz"))
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), final))


def _linear_fit(rates, x, y, optimizer="sgd", set_between=False):
    """A Dense(1) regression trained one epoch per rate (full batches, no shuffling): through a
    LearningRateScheduler, or by assigning ``optimizer.learning_rate`` between fits."""
    tf.reset_default_graph()
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(x.shape[1],), kernel_initializer="ones")])
    opt = {"sgd": tf.keras.optimizers.SGD, "adam": tf.keras.optimizers.Adam}[optimizer](rates[0])
    model.compile(optimizer=opt, loss="mse")
    if set_between:
        for r in rates:
            model.optimizer.learning_rate = r
            model.fit(x, y, epochs=1, batch_size=len(x), shuffle=False, verbose=0)
    else:
        model.fit(x, y, epochs=len(rates), batch_size=len(x), shuffle=False, verbose=0,
                  callbacks=[tf.keras.callbacks.LearningRateScheduler(lambda epoch: rates[epoch])])
    return model.get_weights()


def test_a_scheduled_or_assigned_learning_rate_is_the_rate_the_steps_use():
    """Keras' rate is a variable read at each step: a schedule or an assignment between fits changes the
    steps that follow (it did not: the train op kept the rate it was built with)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, 3)).astype(np.float32)
    y = rng.normal(size=(16, 1)).astype(np.float32)
    rates = [0.1, 0.0, 0.02]
    w, b = _linear_fit(rates, x, y)
    # Hand replay of full-batch SGD on mean squared error, in float64.
    ww, bb = np.ones((3, 1)), np.zeros(1)
    for r in rates:
        err = x @ ww + bb - y
        ww, bb = ww - r * 2 * x.T @ err / len(x), bb - r * 2 * err.mean(0)
    np.testing.assert_allclose(w, ww, rtol=1e-5)
    np.testing.assert_allclose(b, bb, rtol=1e-5, atol=1e-7)
    for opt in ("sgd", "adam"):
        scheduled = _linear_fit(rates, x, y, opt)
        assigned = _linear_fit(rates, x, y, opt, set_between=True)
        assert all(np.array_equal(a, c) for a, c in zip(scheduled, assigned))
        # The epoch at rate 0 leaves the weights as the first epoch left them.
        first = _linear_fit(rates[:1], x, y, opt)
        second = _linear_fit(rates[:2], x, y, opt)
        assert all(np.array_equal(a, c) for a, c in zip(first, second))
        assert not np.array_equal(first[0], scheduled[0])


def test_a_tf1_optimizer_keeps_the_rate_its_train_op_was_built_with():
    """TF1 builds the number into the graph: assigning the attribute afterwards changes nothing (as in TF1,
    where the optimizer has no public rate to assign)."""
    w = tf.Variable(np.ones(2, np.float32))
    opt = tf.train.GradientDescentOptimizer(0.5)
    step = opt.minimize(tf.reduce_sum(w * w))
    opt.learning_rate = 0.0
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(step)
        assert sess.run(w).tolist() == [0.0, 0.0]      # 1 - 0.5 * 2


def test_whole_model_save_and_load_model(tmp_path):
    x = np.random.default_rng(0).random((40, 8, 8, 1), dtype=np.float32)
    y = np.random.default_rng(1).integers(0, 3, 40)
    inp = tf.keras.Input((8, 8, 1))
    h = tf.keras.layers.Conv2D(4, 3, activation="relu", padding="same")(inp)
    h = tf.keras.layers.BatchNormalization()(h)
    h = tf.keras.layers.GlobalAveragePooling2D()(tf.keras.layers.MaxPooling2D()(h))
    out = tf.keras.layers.Dense(3, activation="softmax")(tf.keras.layers.Dropout(0.3)(h))
    model = tf.keras.Model(inp, out, name="net")
    model.compile(tf.keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True), "sparse_categorical_crossentropy",
                  ["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    expected, weights = model.predict(x), model.get_weights()
    path = str(tmp_path / "net.keras")
    model.save(path)
    tf.reset_default_graph()
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), expected)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), weights))
    opt = loaded.optimizer
    assert (loaded.name, type(opt).__name__, opt.learning_rate, opt.momentum, opt.use_nesterov) == (
        "net", "MomentumOptimizer", 0.05, 0.9, True)
    assert loaded.metrics_names == ["loss", "accuracy"] and len(loaded.fit(x, y, epochs=1, verbose=0).epoch) == 1
    model.save_weights(str(tmp_path / "w.npz"))
    with pytest.raises(CheckpointError, match="holds no saved Keras model"):
        tf.keras.models.load_model(str(tmp_path / "w.npz"))
    odd = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(2, activation=lambda t: t * 2.0)])
    with pytest.raises(NotImplementedError, match="custom activation"):
        odd.save(str(tmp_path / "odd.keras"))


def test_model_checkpoint_saves_whole_models(tmp_path):
    x, y = _blobs()
    model = _mlp()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[tf.keras.callbacks.ModelCheckpoint(
        str(tmp_path / "m{epoch}.keras"), monitor="loss", save_best_only=True)])
    # The loss falls in both epochs on these blobs, so both are saved; the second is the trained model.
    assert sorted(os.listdir(tmp_path)) == ["m1.keras", "m2.keras"]
    expected = model.predict(x)
    tf.reset_default_graph()
    np.testing.assert_array_equal(tf.keras.models.load_model(str(tmp_path / "m2.keras")).predict(x), expected)


def test_rescaling_reshape_and_relu_layers_against_numpy(tmp_path):
    x = np.arange(24, dtype=np.float32).reshape(2, 12) - 10
    model = tf.keras.Sequential([tf.keras.Input((12,)), tf.keras.layers.Rescaling(0.5, offset=1.0),
                                 tf.keras.layers.Reshape((3, -1)), tf.keras.layers.LeakyReLU(0.1),
                                 tf.keras.layers.Reshape((12,)), tf.keras.layers.ReLU()])
    h = (x * 0.5 + 1.0).reshape(2, 3, 4)
    np.testing.assert_allclose(model.predict(x), np.maximum(np.where(h > 0, h, 0.1 * h).reshape(2, 12), 0))
    leaky = tf.keras.Sequential([tf.keras.Input((12,)), tf.keras.layers.Rescaling(0.5, offset=1.0),
                                 tf.keras.layers.LeakyReLU(0.1)])
    expected = leaky.predict(x)
    assert expected.min() < 0 and np.allclose(expected, np.where(x * 0.5 + 1 > 0, x * 0.5 + 1, 0.1 * (x * 0.5 + 1)))
    leaky.save(str(tmp_path / "leaky.keras"))
    tf.reset_default_graph()
    np.testing.assert_array_equal(tf.keras.models.load_model(str(tmp_path / "leaky.keras")).predict(x), expected)
    with pytest.raises(ValueError, match="total size of the new array must be unchanged"):
        tf.keras.Sequential([tf.keras.Input((12,)), tf.keras.layers.Reshape((5, -1))])


def test_binary_crossentropy_and_metrics_against_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x[:, :1] + x[:, 1:2] > 0).astype(np.float32)
    inp = tf.keras.Input((3,))
    out = tf.keras.layers.Dense(1, activation="sigmoid")(inp)
    model = tf.keras.Model(inp, out)
    model.compile("adam", "binary_crossentropy", ["accuracy", "mae", "mse"])
    hist = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert sorted(hist.history) == ["accuracy", "loss", "mae", "mse"]
    loss, acc, mae, mse = model.evaluate(x, y, batch_size=64, verbose=0)
    p = model.predict(x).astype(np.float64)
    np.testing.assert_allclose(loss, -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rtol=1e-4)
    assert acc == pytest.approx(np.mean((p > 0.5) == y)) and mae == pytest.approx(np.mean(np.abs(p - y)), rel=1e-5)
    assert mse == pytest.approx(np.mean((p - y) ** 2), rel=1e-5)
    with pytest.raises(NotImplementedError, match="f1_score"):
        model.compile("adam", "binary_crossentropy", ["f1_score"])


def test_residual_model_with_merge_layers_trains_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 6, 6, 2)).astype(np.float32)
    y = rng.integers(0, 3, 48)
    inp = tf.keras.Input((6, 6, 2))
    h = tf.keras.layers.Conv2D(2, 3, padding="same", activation="relu")(inp)
    skip = tf.keras.layers.Add()([h, inp])                       # a residual connection
    both = tf.keras.layers.Concatenate()([skip, tf.keras.layers.Multiply()([h, h])])
    avg = tf.keras.layers.Average()([tf.keras.layers.Subtract()([skip, h]), inp])
    flat = tf.keras.layers.Concatenate()([tf.keras.layers.Flatten()(both), tf.keras.layers.Flatten()(avg)])
    model = tf.keras.Model(inp, tf.keras.layers.Dense(3, activation="softmax")(flat))
    assert tuple(both.shape) == (None, 6, 6, 4) and tuple(flat.shape) == (None, 216)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got_avg, got_skip = sess.run([avg, skip], {inp: x})
    np.testing.assert_allclose(got_avg, x, rtol=1e-5, atol=1e-6)     # ((skip - h) + x) / 2 = x
    assert np.all(got_skip >= x - 1e-6)                               # relu(h) + x
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    expected = model.predict(x)
    model.save(str(tmp_path / "res.keras"))
    tf.reset_default_graph()
    np.testing.assert_array_equal(tf.keras.models.load_model(str(tmp_path / "res.keras")).predict(x), expected)
    with pytest.raises(ValueError, match="inputs must have the same shape"):
        tf.keras.layers.Add()([tf.keras.Input((3,)), tf.keras.Input((4,))])
    with pytest.raises(TypeError, match="a list of two or more symbolic tensors"):
        tf.keras.layers.Add()(tf.keras.Input((3,)))


def test_sample_and_class_weights_and_initial_epoch():
    x, y = _blobs(90)
    model = _mlp()
    model.compile(tf.keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", ["accuracy"])
    w = np.random.default_rng(2).random(90).astype(np.float32)
    p = model.predict(x).astype(np.float64)
    per_sample = -np.log(p[np.arange(90), y])
    loss, acc = model.evaluate(x, y, batch_size=90, sample_weight=w, verbose=0)
    assert loss == pytest.approx(np.mean(w * per_sample), rel=1e-5)        # metrics stay unweighted
    assert acc == pytest.approx(np.mean(p.argmax(1) == y))
    start = model.get_weights()
    runs = {}
    for name, kw in (("class", dict(class_weight={0: 0.0, 2: 3.0})),
                     ("sample", dict(sample_weight=np.choose(y, [0.0, 1.0, 3.0]).astype(np.float32))),
                     ("plain", {})):
        model.set_weights(start)
        model.fit(x, y, epochs=1, batch_size=30, shuffle=False, verbose=0, **kw)
        runs[name] = model.get_weights()
    assert all(np.allclose(a, b) for a, b in zip(runs["class"], runs["sample"]))   # class 1 unlisted: weight 1
    assert not all(np.allclose(a, b) for a, b in zip(runs["class"], runs["plain"]))
    assert model.fit(x, y, epochs=3, initial_epoch=2, verbose=0).epoch == [2]
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(90,\)"):
        model.fit(x, y, sample_weight=np.ones(5), verbose=0)
    # Keras refuses both at once (they were multiplied)
    with pytest.raises(ValueError, match="You cannot `class_weight` and `sample_weight` at the same time"):
        model.fit(x, y, class_weight={0: 2.0}, sample_weight=w, verbose=0)
    with pytest.raises(ValueError, match="`sample_weight` and `class_weight` cannot be specified at the same time"):
        model.train_on_batch(x, y, class_weight={0: 2.0}, sample_weight=w)


def test_two_input_model_fits_predicts_and_round_trips(tmp_path):
    rng = np.random.default_rng(3)
    a = rng.normal(size=(80, 3)).astype(np.float32)
    b = rng.normal(size=(80, 2)).astype(np.float32)
    y = (a[:, 0] + b[:, 1] > 0).astype(np.int64)                # needs both inputs
    ia, ib = tf.keras.Input((3,), name="a"), tf.keras.Input((2,), name="b")
    h = tf.keras.layers.Concatenate()([tf.keras.layers.Dense(4, activation="relu")(ia), ib])
    model = tf.keras.Model([ia, ib], tf.keras.layers.Dense(2, activation="softmax")(h))
    assert model.input == [ia, ib] and model.inputs == [ia, ib]
    model.compile(tf.keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", ["accuracy"])
    hist = model.fit([a, b], y, epochs=30, batch_size=40, validation_split=0.25, verbose=0)
    assert hist.history["accuracy"][-1] > 0.9 and "val_accuracy" in hist.history
    expected = model.predict([a, b])
    np.testing.assert_array_equal(model.predict({"a": a, "b": b}), expected)
    model.save(str(tmp_path / "two.keras"))
    tf.reset_default_graph()
    np.testing.assert_array_equal(tf.keras.models.load_model(str(tmp_path / "two.keras")).predict([a, b]), expected)
    with pytest.raises(ValueError, match="expects 2 input arrays, got 1"):
        model.predict(a)
    with pytest.raises(ValueError, match="input 0 has 80 samples, input 1 has 79"):
        model.predict([a, b[:79]])


def test_a_keras_rate_is_read_on_the_device_where_assigning_it_writes():
    """Keras' rate is a float32 variable: each step reads a 0-d array on its device (nothing chosen on the host,
    so a captured step replays with the current rate), and ``learning_rate = x`` writes that array."""
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    y = np.random.default_rng(1).normal(size=(8, 1)).astype(np.float32)
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(3,))])
    opt = tf.keras.optimizers.SGD(0.1)
    model.compile(opt, "mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    (rate,) = opt._rate_arrays.values()
    assert rate.shape == () and rate.dtype == np.float32 and rate == np.float32(0.1)
    opt.learning_rate = 0.25
    assert rate == np.float32(0.25) and opt.learning_rate == 0.25
    rate[...] = 0.0                         # the device value, behind the attribute's back: the step reads it
    before = model.get_weights()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    opt.learning_rate = 0.25
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert not np.array_equal(before[0], model.get_weights()[0])


# ----- weights shared between models, and each layer's own ---------------------------------------------------
def test_models_sharing_layers_share_their_weights():
    """An autoencoder trained, its encoder (a second model over the same layers) computes with the trained
    weights, as in Keras: the models of one graph keep their weights in one session.  Each model had a
    session of its own, and the encoder silently kept the initial weights."""
    L = tf.keras.layers
    inp = L.Input((4,))
    code = L.Dense(2, name="enc")(inp)
    out = L.Dense(4, name="dec")(code)
    autoencoder, encoder = tf.keras.models.Model(inp, out), tf.keras.models.Model(inp, code)
    x = np.random.default_rng(0).random((16, 4), np.float32)
    before = encoder.predict(x, verbose=0)
    autoencoder.compile("sgd", "mse")
    autoencoder.fit(x, x, epochs=3, verbose=0)
    kernel, bias = autoencoder.get_layer("enc").get_weights()
    after = encoder.predict(x, verbose=0)
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, x @ kernel + bias, rtol=1e-6, atol=1e-6)
    assert encoder.get_weights()[0].tobytes() == kernel.tobytes()
    # and the other way round: a weight set through one model is what the other computes with
    encoder.get_layer("enc").set_weights([np.ones((4, 2), np.float32), np.zeros(2, np.float32)])
    np.testing.assert_allclose(autoencoder.get_weights()[0], np.ones((4, 2)))


def test_layer_get_and_set_weights_as_keras():
    L = tf.keras.layers
    inp = L.Input((3,))
    dense = L.Dense(2)
    model = tf.keras.models.Model(inp, dense(inp))
    assert model.layers[0].get_weights() == []      # the InputLayer, as Keras lists it
    k, b = np.arange(6, dtype=np.float32).reshape(3, 2), np.array([0.5, -1.0], np.float32)
    dense.set_weights([k, b])
    got = dense.get_weights()
    assert [type(a) for a in got] == [np.ndarray, np.ndarray]
    np.testing.assert_array_equal(got[0], k)
    np.testing.assert_array_equal(model.predict(np.ones((1, 3), np.float32), verbose=0), [[6.5, 8.0]])
    # Keras' checks and words; nothing is assigned when one fails
    with pytest.raises(ValueError, match=r"on layer 'dense' with a weight list of length 1, but the layer was "
                                         r"expecting 2 weights"):
        dense.set_weights([k])
    with pytest.raises(ValueError, match=r"Layer dense weight shape \(3, 2\) is not compatible with provided weight "
                                         r"shape \(2, 2\)"):
        dense.set_weights([k[:2], b])
    with pytest.raises(ValueError, match=r"on layer 'functional' with a weight list of length 3"):
        model.set_weights([k, b, b])
    np.testing.assert_array_equal(dense.get_weights()[0], k)


def test_floatx_is_the_default_dtype_of_inputs_layers_and_one_hot_labels(monkeypatch):
    monkeypatch.setitem(tf.keras.backend._settings, "floatx", "float64")
    inp = tf.keras.layers.Input((3,))
    dense = tf.keras.layers.Dense(2)
    out = dense(inp)
    assert (inp.dtype.name, dense.dtype, out.dtype.name) == ("float64", "float64", "float64")
    assert dense.get_weights()[0].dtype == np.float64
    assert tf.keras.utils.to_categorical([1, 0], 2).dtype == np.float64
    assert tf.keras.utils.to_categorical([1, 0], 2, dtype="float32").dtype == np.float32


def test_get_layer_by_name_or_index_as_keras():
    L = tf.keras.layers
    inp = L.Input((4,))
    dense = L.Dense(2, name="enc")
    model = tf.keras.models.Model(inp, dense(inp))
    assert model.get_layer("enc") is dense and model.get_layer(index=1) is dense
    assert isinstance(model.get_layer(index=0), L.InputLayer)
    for kw, words in ((dict(name="nope"), r"No such layer: nope. Existing layers are: \['input_layer', 'enc'\]"),
                      (dict(index=5), "Was asked to retrieve layer at index 5 but model only has 2 layers"),
                      ({}, "Provide either a layer name or layer index"),
                      (dict(name="enc", index=1), "Provide only a layer name or a layer index")):
        with pytest.raises(ValueError, match=words):
            model.get_layer(**kw)


def test_frozen_layers_keep_their_weights_and_a_frozen_batch_norm_normalises_with_its_moving_statistics():
    """``trainable = False`` set before ``compile``.  Checked without TensorFlow: a frozen BatchNormalization
    is the affine map its moving statistics make, so a model with a frozen Dense doing that map instead trains
    its head to the same weights (``tests/test_reference_tf.py`` compares with Keras itself)."""
    L = tf.keras.layers
    rng = np.random.default_rng(4)
    x = rng.normal(size=(32, 5)).astype(np.float32) * 2 + 1
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 32)]
    gamma, beta = np.array([1.5, 0.5, 1.0, 2.0], np.float32), np.array([0.1, -0.2, 0.3, 0.0], np.float32)
    mean, var = np.full(4, 0.5, np.float32), np.full(4, 2.0, np.float32)
    scale = gamma / np.sqrt(var + 1e-3)
    start = np.full((4, 3), 0.1, np.float32) * np.arange(1, 4, dtype=np.float32)
    heads = []
    for frozen_bn in (True, False):
        inp = L.Input((5,))
        base = L.Dense(4, name="base", trainable=False)
        norm = L.BatchNormalization(name="bn") if frozen_bn else L.Dense(4, name="affine")
        head = L.Dense(3, activation="softmax", name="head")
        model = tf.keras.models.Model(inp, head(norm(base(inp))))
        if frozen_bn:
            norm.trainable = False
            norm.set_weights([gamma, beta, mean, var])
        else:
            norm.trainable = False
            norm.set_weights([np.diag(scale), beta - mean * scale])
        base.set_weights([np.eye(5, 4, dtype=np.float32), np.zeros(4, np.float32)])
        head.set_weights([start, np.zeros(3, np.float32)])
        assert (len(model.trainable_weights), len(model.non_trainable_weights)) == (2, 6 if frozen_bn else 4)
        before = [w.copy() for w in model.get_weights()[:-2]]
        model.compile(tf.keras.optimizers.SGD(0.1), "categorical_crossentropy")
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        for a, b in zip(model.get_weights()[:-2], before):     # everything but the head stayed
            np.testing.assert_array_equal(a, b)
        heads.append(head.get_weights())
    assert np.abs(heads[0][0] - start).max() > 1e-3        # the head did train
    for a, b in zip(*heads):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_trainable_switches_of_models_and_layers():
    L = tf.keras.layers
    inp = L.Input((3,))
    a, b = L.Dense(2), L.Dense(1)
    model = tf.keras.models.Model(inp, b(a(inp)))
    assert model.trainable and len(model.trainable_weights) == 4 and model.non_trainable_weights == []
    model.trainable = False
    assert not a.trainable and not b.trainable
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4
    b.trainable = True      # the model's own switch still says no, as in Keras
    assert model.trainable_weights == [] and len(b.trainable_weights) == 2
    model.trainable = True
    assert a.trainable and len(model.trainable_weights) == 4
    assert L.Dense(2, trainable=False).get_config()["trainable"] is False
    lines = []
    a.trainable = False
    model.summary(print_fn=lines.append)
    assert "Trainable params: 3" in lines[0] and "Non-trainable params: 8" in lines[0]     # b's 2x1 + 1 and a's 3x2 + 2


@pytest.mark.parametrize("loss, units", [("mse", 1), ("binary_crossentropy", 1), ("binary_crossentropy", 3),
                                         ("mse", 3), ("categorical_crossentropy", 3)])
def test_accuracy_is_picked_by_the_shapes_as_keras_3(loss, units):
    """One output column: binary accuracy (prediction > 0.5 against the 0/1 target); several: the argmax
    against the target's, whatever the loss (it followed the loss: MSE on one column scored 1.0)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    inp = tf.keras.layers.Input((4,))
    dense = tf.keras.layers.Dense(units, activation="sigmoid")
    model = tf.keras.models.Model(inp, dense(inp))
    model.compile("sgd", loss, metrics=["accuracy"])
    if units == 1:
        y = (rng.random((32, 1)) > 0.5).astype(np.float32)
    else:
        y = np.eye(units, dtype=np.float32)[rng.integers(0, units, 32)]
    k, b = dense.get_weights()
    p = 1 / (1 + np.exp(-(x @ k + b)))
    want = np.mean((p > 0.5) == (y > 0.5)) if units == 1 else np.mean(p.argmax(1) == y.argmax(1))
    assert 0 < want < 1
    assert model.evaluate(x, y, verbose=0)[1] == pytest.approx(want, abs=1e-6)


def test_label_smoothing_of_the_cross_entropies_by_hand():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 3))
    y = np.eye(3)[rng.integers(0, 3, 5)]
    logits = tf.constant(z.astype(np.float32))
    losses = tf.keras.losses
    got = [losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)(y, logits),
           losses.CategoricalCrossentropy(label_smoothing=0.1)(y, tf.nn.softmax(logits)),
           losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.3)(y, logits),
           tf.reduce_mean(losses.binary_crossentropy(y, tf.nn.sigmoid(logits), label_smoothing=0.1))]
    with tf.Session() as sess:
        got = sess.run(got)
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    q = 1 / (1 + np.exp(-z))

    def bce(t):
        return np.mean(-(t * np.log(q) + (1 - t) * np.log(1 - q)))
    want = [np.mean(-((y * 0.8 + 0.2 / 3) * log_p).sum(1)), np.mean(-((y * 0.9 + 0.1 / 3) * log_p).sum(1)),
            bce(y * 0.7 + 0.15), bce(y * 0.9 + 0.05)]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    config = tf.keras.losses.serialize(losses.BinaryCrossentropy(label_smoothing=0.3))
    assert tf.keras.losses.deserialize(config).label_smoothing == 0.3


def test_train_and_test_on_batch_by_hand():
    """One SGD step on the whole batch, returning the loss before the update (Keras); test_on_batch and
    predict_on_batch are evaluate and predict over one batch."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 3)).astype(np.float32)
    y = rng.normal(size=(6, 2)).astype(np.float32)
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    model.compile(tf.keras.optimizers.SGD(0.1), "mse")
    k, b = model.get_weights()
    err = x @ k + b - y
    loss = model.train_on_batch(x, y)
    assert loss == pytest.approx(float(np.mean(err ** 2)), rel=1e-6)
    g = 2 * err / err.size                  # d(mean of squares)/d(prediction)
    np.testing.assert_allclose(model.get_weights()[0], k - 0.1 * x.T @ g, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b - 0.1 * g.sum(0), rtol=1e-5, atol=1e-6)
    assert model.test_on_batch(x, y) == pytest.approx(model.evaluate(x, y, batch_size=6, verbose=0), rel=1e-6)
    assert model.test_on_batch(x, y, return_dict=True).keys() == {"loss"}
    np.testing.assert_array_equal(model.predict_on_batch(x), model.predict(x, verbose=0))
    err = model.predict(x, verbose=0) - y
    w = np.arange(6, dtype=np.float32)
    weighted = model.train_on_batch(x, y, sample_weight=w)
    assert weighted == pytest.approx(float(np.mean((err ** 2).mean(1) * w)), rel=1e-5)      # Keras' weighting
    uncompiled = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    with pytest.raises(RuntimeError, match="You must compile your model"):
        uncompiled.train_on_batch(x, y)


class _Float32Rate:
    """An optimizer's learning rate stored as Keras stores it: in a float32 variable."""

    @property
    def learning_rate(self):
        return self._rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._rate = np.float32(value)


class _RateHolder:
    """Stands in for a model with an optimizer."""

    def __init__(self, rate):
        self.optimizer = _Float32Rate()
        self.optimizer.learning_rate = rate
        self.metrics_names = ["loss", "accuracy"]


def _plateau_trace(lib, values, **kw):
    cb = lib.callbacks.ReduceLROnPlateau(**kw)
    model = _RateHolder(0.4)
    cb.set_model(model)
    cb.on_train_begin()
    rates = []
    for epoch, v in enumerate(values):
        logs = {"val_loss": v, "val_accuracy": 1 - v}
        cb.on_epoch_end(epoch, logs)
        rates.append((logs["learning_rate"], float(np.float32(model.optimizer.learning_rate))))
    return rates


def test_reduce_lr_on_plateau_by_hand():
    """patience 2, cooldown 1, min_lr 0.05, min_delta 0.01: two epochs without an improvement of more than
    min_delta cut the rate (the record shows the rate the epoch ran with).  The epoch after a cut is cooldown:
    it resets the count, and counts itself once the cooldown has run out in it (Keras' order)."""
    values = [1.0, 0.9, 0.899, 0.95, 0.97, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9]
    rates = _plateau_trace(tf.keras, values, factor=0.5, patience=2, cooldown=1, min_lr=0.05, min_delta=0.01)
    f = float(np.float32(0.4))
    # epochs 2-3 fail (cut), 4 cools down then counts 1, 5 improves, 6-7 fail (cut), 8 counts 1, 9 cuts to
    # min_lr, 10-11 fail but the rate is at min_lr already
    want_after = [f, f, f, f / 2, f / 2, f / 2, f / 2, f / 4, f / 4, 0.05, 0.05, 0.05]
    np.testing.assert_allclose([after for _, after in rates], want_after, rtol=1e-7)
    np.testing.assert_allclose([ran for ran, _ in rates], [f] + want_after[:-1], rtol=1e-7)
    # an accuracy is maximised: 0, 0.1 and 0.101 improve, 0.05 does not: patience 1 cuts at epoch 3
    up = _plateau_trace(tf.keras, values, monitor="val_accuracy", factor=0.5, patience=1)
    assert [after for _, after in up[:4]] == pytest.approx([f, f, f, f / 2])
    with pytest.raises(ValueError, match="ReduceLROnPlateau does not support a factor >= 1.0"):
        tf.keras.callbacks.ReduceLROnPlateau(factor=1.5)
