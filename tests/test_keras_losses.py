"""Keras 3's regression and margin losses and loss-named metrics, against NumPy in float64 and (``reference``)
against real Keras; the order of Keras' logs."""
import numpy as np
import pytest

import static_api as tf
from tests.helpers import assert_trains_as_keras

R = np.random.default_rng(21)
EPS = 1e-7


def _hinge_labels(t):
    return 2 * t - 1 if np.isin(t, (0.0, 1.0)).all() else t


def _softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


# name -> (NumPy per-sample loss, y_true, y_pred)
POSITIVE = R.uniform(0.1, 2.0, size=(6, 3))
PROBS = R.dirichlet(np.ones(3), size=6)
CASES = {
    "mae": (lambda t, p: np.abs(t - p).mean(-1), R.normal(size=(6, 3)), R.normal(size=(6, 3))),
    "mape": (lambda t, p: 100 * np.abs((t - p) / np.maximum(np.abs(t), EPS)).mean(-1),
             np.concatenate([R.normal(size=(5, 3)), np.zeros((1, 3))]), R.normal(size=(6, 3))),
    "msle": (lambda t, p: ((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2).mean(-1),
             POSITIVE, R.normal(size=(6, 3))),
    "huber": (lambda t, p: np.where(np.abs(p - t) <= 1, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5).mean(-1),
              R.normal(size=(6, 3)) * 2, R.normal(size=(6, 3)) * 2),
    "log_cosh": (lambda t, p: (p - t + _softplus(-2 * (p - t)) - np.log(2)).mean(-1),
                 R.normal(size=(6, 3)) * 3, R.normal(size=(6, 3)) * 3),
    "kl_divergence": (lambda t, p: (np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1))).sum(-1),
                      np.concatenate([PROBS[:5], [[1.0, 0.0, 0.0]]]), R.dirichlet(np.ones(3), size=6)),
    "poisson": (lambda t, p: (p - t * np.log(p + EPS)).mean(-1), POSITIVE, R.uniform(0.1, 2.0, size=(6, 3))),
    "hinge": (lambda t, p: np.maximum(1 - _hinge_labels(t) * p, 0).mean(-1),
              R.integers(0, 2, size=(6, 3)).astype(float), R.normal(size=(6, 3))),
    "squared_hinge": (lambda t, p: (np.maximum(1 - _hinge_labels(t) * p, 0) ** 2).mean(-1),
                      np.sign(R.normal(size=(6, 3))), R.normal(size=(6, 3))),
    "categorical_hinge": (lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0),
                          np.eye(3)[R.integers(0, 3, 6)], R.normal(size=(6, 3))),
    "cosine_similarity": (lambda t, p: -(t / np.linalg.norm(t, axis=-1, keepdims=True)
                                         * p / np.linalg.norm(p, axis=-1, keepdims=True)).sum(-1),
                          R.normal(size=(6, 3)), R.normal(size=(6, 3))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_keras_losses_match_their_formulas_with_gradients(name):
    ref, t, p = CASES[name]
    with tf.Graph().as_default():
        yt, yp = tf.placeholder(tf.float64, t.shape), tf.placeholder(tf.float64, p.shape)
        by_name = tf.keras.losses.get(name)
        per = by_name.per_sample(yt, yp)
        fn = getattr(tf.keras.losses, name)
        grad, = tf.gradients(tf.reduce_sum(fn(yt, yp)), [yp])
        with tf.Session() as sess:
            got, via_fn, g = sess.run([per, fn(yt, yp), grad], {yt: t, yp: p})
    np.testing.assert_allclose(got, ref(t, p), rtol=1e-12)
    np.testing.assert_array_equal(got, via_fn)
    h = 1e-6
    fd = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        up, down = p.copy(), p.copy()
        up[i] += h
        down[i] -= h
        fd[i] = (ref(t, up) - ref(t, down)).sum() / (2 * h)      # row by row: mape's zero row is ~1e9
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6)


def test_loss_names_classes_and_saving_round_trip():
    L = tf.keras.losses
    for name, cls in (("mae", L.MeanAbsoluteError), ("MAE", L.MeanAbsoluteError), ("kld", L.KLDivergence),
                      ("Huber", L.Huber), ("mean_squared_logarithmic_error", L.MeanSquaredLogarithmicError),
                      ("CategoricalCrossentropy", L.CategoricalCrossentropy)):
        assert type(L.get(name)) is cls
    assert type(L.get(L.huber)) is L.Huber and L.huber.__name__ == "huber"
    with pytest.raises(ValueError, match="Unknown loss function: 'huber_loss'"):
        L.get("huber_loss")
    for loss in (L.Huber(delta=0.3), L.CosineSimilarity(axis=0), L.CategoricalCrossentropy(label_smoothing=0.1)):
        back = L.deserialize(L.serialize(loss))
        assert type(back) is type(loss) and vars(back) == vars(loss)


def test_huber_delta_and_metrics_in_fit_with_keras_log_order():
    x = R.normal(size=(12, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype(np.float32)
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(tf.keras.optimizers.SGD(0.0), tf.keras.losses.Huber(delta=0.5), metrics=["mse", "mape", "mae"])
    history = model.fit(x, y, epochs=1, batch_size=12, verbose=0, validation_data=(x, y)).history
    # Keras 3 sorts its logs: training names alphabetically, then the validation ones.
    assert list(history) == ["loss", "mae", "mape", "mse", "val_loss", "val_mae", "val_mape", "val_mse"]
    d = np.abs(y[:, 0].astype(np.float64))      # the untrained model predicts 0
    assert history["loss"][0] == pytest.approx(np.where(d <= 0.5, 0.5 * d ** 2, 0.5 * d - 0.125).mean(), rel=1e-6)
    assert history["mae"][0] == pytest.approx(d.mean(), rel=1e-6)
    assert history["mape"][0] == pytest.approx(100.0, rel=1e-6)
    assert history["mse"][0] == pytest.approx((d ** 2).mean(), rel=1e-6)
    evaluated = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(evaluated) == ["loss", "mae", "mape", "mse"]
    assert model.evaluate(x, y, verbose=0) == pytest.approx([evaluated[k] for k in ("loss", "mse", "mape", "mae")])


def test_top_k_accuracies_count_the_target_among_the_five_best():
    scores = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], [0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]], np.float32)
    labels = np.array([0, 0])     # last of seven in row 0, first in row 1
    model = tf.keras.Sequential([tf.keras.Input((7,)), tf.keras.layers.Dense(7)])
    model.set_weights([np.eye(7, dtype=np.float32), np.zeros(7, np.float32)])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["sparse_top_k_categorical_accuracy"])
    assert model.evaluate(scores, labels, verbose=0, return_dict=True)["sparse_top_k_categorical_accuracy"] == 0.5


@pytest.mark.reference
@pytest.mark.parametrize("loss", ["mae", "mape", "msle", "huber", "log_cosh", "kl_divergence", "poisson", "hinge",
                                  "squared_hinge", "categorical_hinge", "cosine_similarity"])
def test_losses_train_as_keras(loss):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(24, 5)).astype(np.float32)
    ys = {"kl_divergence": rng.dirichlet(np.ones(3), size=24), "categorical_hinge": np.eye(3)[rng.integers(0, 3, 24)],
          "hinge": rng.integers(0, 2, size=(24, 3)), "squared_hinge": np.sign(rng.normal(size=(24, 3))),
          "msle": rng.uniform(0, 3, size=(24, 3)), "poisson": rng.uniform(0, 3, size=(24, 3)),
          "mape": rng.uniform(1, 3, size=(24, 3))}      # away from 0, where mape's gradients are 1e7
    y = ys.get(loss, rng.normal(size=(24, 3))).astype(np.float32)
    act = {"kl_divergence": "softmax", "msle": "softplus", "poisson": "softplus"}.get(loss)
    assert_trains_as_keras(
        lambda keras: keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="tanh"),
                                        keras.layers.Dense(3, activation=act)]),
        lambda keras: keras.optimizers.SGD(0.05), loss, x, y, jitter=0.3, rng=rng, metrics=["mae", "mse"],
        validation=True, rtol=2e-5)
