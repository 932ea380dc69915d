"""Keras pieces real programs reach for: the Embedding layer, the TensorBoard callback, Keras' snake-case default
layer names, and the error a missing name gives; each against hand-computed values or NumPy, and the
``reference``-marked tests against real Keras."""
import importlib
import pickle
import warnings

import numpy as np
import pytest

import static_api as tf
from core import errors
from static_api.keras import layers as L
from static_api.keras import saving
from tests.helpers import assert_trains_as_keras, read_scalars

keras_layers = tf.keras.layers


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


# ----- Embedding -----------------------------------------------------------------------------
def _embedding_model(keras, table, mask_zero=False):
    inp = keras.Input((3,), dtype="int32")
    emb = keras.layers.Embedding(len(table), table.shape[1], mask_zero=mask_zero)
    out = keras.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")(keras.layers.Flatten()(emb(inp)))
    model = keras.Model(inp, out)
    model.set_weights([table, np.ones((3 * table.shape[1], 2), np.float32), np.zeros(2, np.float32)])
    return model


def test_embedding_defaults_and_lookup():
    inp = tf.keras.Input((3,), dtype="int32")
    emb = keras_layers.Embedding(50, 4)
    out = emb(inp)
    assert (emb.name, tuple(out.shape), emb.output_dim, emb.mask_zero) == ("embedding", (None, 3, 4), 4, False)
    table = tf.keras.Model(inp, out).get_weights()[0]
    # Keras' "uniform" initializer: [-0.05, 0.05), spread over the whole range
    assert table.shape == (50, 4) and table.dtype == np.float32
    assert -0.05 <= table.min() < -0.04 and 0.04 < table.max() < 0.05
    ids = np.array([[0, 7, 49], [3, 3, 1]])
    got = tf.keras.Model(inp, out).predict(ids)
    np.testing.assert_array_equal(got, table[ids])
    # float indices are truncated to int32, as Keras casts them
    inp_f = tf.keras.Input((2,))
    model_f = tf.keras.Model(inp_f, keras_layers.Embedding(5, 2, weights=[np.arange(10.0).reshape(5, 2)])(inp_f))
    np.testing.assert_array_equal(model_f.predict(np.array([[1.9, 4.0]])), [[[2.0, 3.0], [8.0, 9.0]]])


def test_embedding_gradient_is_a_scatter_add_of_rows():
    table = np.arange(12, dtype=np.float32).reshape(6, 2) / 10
    model = _embedding_model(tf.keras, table)
    ids = np.array([[1, 1, 4], [0, 1, 5]])
    y = np.zeros((2, 2), np.float32)
    model.compile(tf.keras.optimizers.SGD(0.5), "mse")
    model.fit(ids, y, batch_size=2, epochs=1, shuffle=False, verbose=0)
    # loss = mean over (2 samples, 2 units) of (sum of the sample's 6 looked-up values)^2 (kernel of ones):
    # d loss / d row r = sum over occurrences of r of 2 * s_sample / 4 (the same for both columns)
    s = table[ids].reshape(2, -1).sum(1)
    grad = np.zeros_like(table)
    for i, row in enumerate(ids):
        for r in row:
            grad[r] += 2 * s[i] * 2 / 4     # two output units, each summing the sample's values
    np.testing.assert_allclose(model.get_weights()[0], table - 0.5 * grad, rtol=1e-5)


def test_embedding_arguments_mask_and_input_length():
    with pytest.raises(ValueError, match="input_dim"):
        keras_layers.Embedding(0, 3)
    with pytest.raises(ValueError, match="output_dim"):
        keras_layers.Embedding(4, 2.5)
    with pytest.raises(NotImplementedError, match="embeddings_constraint"):
        keras_layers.Embedding(4, 2, embeddings_constraint="non_neg")
    with pytest.warns(UserWarning, match="input_length"):
        emb = keras_layers.Embedding(10, 3, input_length=4, mask_zero=True)
    model = tf.keras.Sequential([emb, keras_layers.Dense(2)])       # input_length gives the Sequential its input
    mask = emb.output._keras_mask
    assert model.output._keras_mask is mask        # Dense hands the mask on, as in Keras
    with tf.Session() as sess:
        got = sess.run(mask, {model.inputs[0]: [[0, 2, 0, 9]]})
    np.testing.assert_array_equal(got, [[False, True, False, True]])
    with pytest.raises(NotImplementedError, match="masked output.*docs/compat.md"):
        model.compile("sgd", "mse")         # Keras would leave masked steps out of the loss
    with pytest.raises(NotImplementedError, match="batch normalization of a masked input"):
        keras_layers.BatchNormalization()(emb.output)
    with pytest.warns(UserWarning, match="does not support masking"):
        flat = keras_layers.Flatten()(emb.output)
    assert getattr(flat, "_keras_mask", None) is None
    regularized = keras_layers.Embedding(3, 2, embeddings_initializer="ones", embeddings_regularizer=tf.keras.regularizers.l2(0.5))
    regularized(tf.keras.Input((1,), dtype="int32"))
    with tf.Session() as sess:
        sess.run(regularized.embeddings.initializer)
        np.testing.assert_allclose(sess.run(regularized.losses), [0.5 * 6])


def test_embedding_model_saves_and_loads(tmp_path):
    table = np.random.default_rng(0).random((6, 2), dtype=np.float32)
    model = _embedding_model(tf.keras, table)
    model.compile("sgd", "mse")
    model.save(str(tmp_path / "m.keras"))
    tf.reset_default_graph()
    again = tf.keras.models.load_model(str(tmp_path / "m.keras"))
    ids = np.array([[5, 0, 2]])
    np.testing.assert_allclose(again.predict(ids), model.predict(ids), rtol=1e-6)
    assert [(type(lay).__name__, getattr(lay, "input_dim", None)) for lay in again.layers][:2] == [
        ("InputLayer", None), ("Embedding", 6)]


@pytest.mark.reference
def test_embedding_trains_like_keras():
    keras = pytest.importorskip("keras")
    table = np.random.default_rng(1).normal(size=(8, 3)).astype(np.float32)
    ids = np.random.default_rng(2).integers(0, 8, (16, 3))
    y = np.random.default_rng(3).normal(size=(16, 2)).astype(np.float32)
    results = []
    for k in (tf.keras, keras):
        model = _embedding_model(k, table)
        model.compile(k.optimizers.SGD(0.1, momentum=0.9), "mse")
        hist = model.fit(ids, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        results.append((hist.history["loss"], model.get_weights()[0], model.predict(ids, verbose=0)))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert keras.layers.Embedding(3, 2).embeddings_initializer.get_config()["minval"] == -0.05


# ----- TensorBoard ---------------------------------------------------------------------------
def _tb_fit(keras, log_dir, **tb_args):
    inp = keras.Input((3,))
    out = keras.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")(inp)
    model = keras.Model(inp, out)
    model.compile(keras.optimizers.SGD(0.05), "mse", metrics=["mae"])
    x = np.linspace(-1, 1, 30, dtype=np.float32).reshape(10, 3)
    y = np.stack([x.sum(1), -x[:, 0]], 1)
    hist = model.fit(x, y, batch_size=2, epochs=3, validation_split=0.2, shuffle=False, verbose=0,
                     callbacks=[keras.callbacks.TensorBoard(log_dir=str(log_dir), **tb_args)])
    return hist.history


def test_tensorboard_writes_epoch_scalars_train_and_validation(tmp_path):
    pytest.importorskip("tensorboardX")
    history = _tb_fit(tf.keras, tmp_path)
    train, val = read_scalars(str(tmp_path / "train")), read_scalars(str(tmp_path / "validation"))
    assert sorted(train) == ["epoch_learning_rate", "epoch_loss", "epoch_mae"] and sorted(val) == ["epoch_loss",
                                                                                                 "epoch_mae"]
    for name in ("loss", "mae"):
        assert [s for s, _ in train[f"epoch_{name}"]] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in train[f"epoch_{name}"]], history[name], rtol=1e-6)
        np.testing.assert_allclose([v for _, v in val[f"epoch_{name}"]], history[f"val_{name}"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in train["epoch_learning_rate"]], [0.05] * 3, rtol=1e-6)


def test_tensorboard_batch_scalars_are_running_means(tmp_path):
    pytest.importorskip("tensorboardX")
    history = _tb_fit(tf.keras, tmp_path / "every", update_freq="batch")
    losses = read_scalars(str(tmp_path / "every" / "train"))["batch_loss"]
    # 8 training samples in batches of 2: 4 batches an epoch, steps 1..12 across the 3 epochs; the last batch of
    # each epoch holds the epoch's mean
    assert [s for s, _ in losses] == list(range(1, 13))
    np.testing.assert_allclose([losses[3][1], losses[7][1], losses[11][1]], history["loss"], rtol=1e-6)
    _tb_fit(tf.keras, tmp_path / "third", update_freq=3)
    assert [s for s, _ in read_scalars(str(tmp_path / "third" / "train"))["batch_loss"]] == [3, 6, 9, 12]
    _tb_fit(tf.keras, tmp_path / "hist", histogram_freq=2)
    assert "batch_loss" not in read_scalars(str(tmp_path / "hist" / "train"))
    assert b"/kernel" in next((tmp_path / "hist" / "train").glob("events.*")).read_bytes()     # histograms


def test_tensorboard_arguments_and_batch_hooks():
    with pytest.raises(ValueError, match="update_freq"):
        tf.keras.callbacks.TensorBoard(update_freq="step")
    with pytest.raises(NotImplementedError, match="profile_batch.*docs/compat.md"):
        tf.keras.callbacks.TensorBoard(profile_batch=2)

    class Count(tf.keras.callbacks.Callback):
        def __init__(self):
            self.seen = []

        def on_batch_end(self, batch, logs=None):       # Keras' older spelling still hears every batch
            self.seen.append(batch)
            if len(self.seen) == 3:
                self.model.stop_training = True

    inp = tf.keras.Input((1,))
    model = tf.keras.Model(inp, keras_layers.Dense(1)(inp))
    model.compile("sgd", "mse")
    count = Count()
    hist = model.fit(np.ones((10, 1)), np.ones((10, 1)), batch_size=2, epochs=5, verbose=0, callbacks=[count])
    assert count.seen == [0, 1, 2] and len(hist.epoch) == 1      # stopped within the first epoch, as Keras 3


@pytest.mark.reference
def test_tensorboard_logs_match_keras(tmp_path):
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorboardX")
    pytest.importorskip("tensorboard", reason="Keras' TensorBoard callback writes through the tensorboard package")
    _tb_fit(tf.keras, tmp_path / "ours", update_freq=2)
    _tb_fit(keras, tmp_path / "keras", update_freq=2)
    for part in ("train", "validation"):
        ours, theirs = read_scalars(str(tmp_path / "ours" / part)), read_scalars(str(tmp_path / "keras" / part))
        theirs = {k: v for k, v in theirs.items() if not k.startswith("evaluation_")}     # not written here
        assert sorted(ours) == sorted(theirs), part
        for tag in ours:
            assert [s for s, _ in ours[tag]] == [s for s, _ in theirs[tag]], tag
            np.testing.assert_allclose([v for _, v in ours[tag]], [v for _, v in theirs[tag]], rtol=1e-5,
                                       err_msg=tag)


# ----- default names -------------------------------------------------------------------------
SNAKE = {"ReLU": "re_lu", "LeakyReLU": "leaky_re_lu", "PReLU": "p_re_lu", "Conv2D": "conv2d",
         "BatchNormalization": "batch_normalization", "MaxPooling2D": "max_pooling2d",
         "GlobalAveragePooling2D": "global_average_pooling2d", "Embedding": "embedding", "Dense": "dense"}


def test_default_layer_names_follow_keras_snake_case():
    graph = tf.Graph()
    for cls, want in SNAKE.items():
        assert L._unique_layer_name(graph, cls) == want
    assert L._unique_layer_name(graph, "ReLU") == "re_lu_1"
    x = tf.keras.Input((4, 4, 1))
    made = [keras_layers.Conv2D(1, 1), keras_layers.BatchNormalization(), keras_layers.ReLU(), keras_layers.ReLU()]
    for layer in made:
        x = layer(x)
    assert [layer.name for layer in made] == ["conv2d", "batch_normalization", "re_lu", "re_lu_1"]


@pytest.mark.reference
def test_every_layer_default_name_matches_keras():
    pytest.importorskip("keras")
    from keras.src.utils.naming import to_snake_case
    for cls in list(saving.registered_layers()) + list(SNAKE):
        assert L._unique_layer_name(tf.Graph(), cls) == to_snake_case(cls), cls


# ----- a missing name says it is missing -------------------------------------------------------
MODULES = ["static_api", "static_api.keras", "static_api.keras.layers", "static_api.keras.optimizers",
           "static_api.keras.callbacks", "static_api.keras.losses", "static_api.keras.models",
           "static_api.keras.backend", "static_api.keras.regularizers", "static_api.contrib",
           "static_api.contrib.layers", "static_api.nn", "static_api.train",
           "static_api.layers", "static_api.losses", "static_api.summary", "eager_api", "eager_api.nn",
           "eager_api.nn.functional", "eager_api.optim", "static_api.tf_math"]


@pytest.mark.parametrize("name", MODULES)
def test_missing_public_name_says_not_implemented(name):
    mod = importlib.import_module(name)
    with pytest.raises(AttributeError, match=r"LSTMCellThing is not implemented in dualflow \(see docs/compat.md\)"):
        mod.LSTMCellThing
    with pytest.raises(NotImplementedError):
        mod.LSTMCellThing
    assert not hasattr(mod, "LSTMCellThing") and getattr(mod, "LSTMCellThing", 7) == 7
    # private and dunder names stay plain AttributeErrors: import *, pickle, copy and pytest probe these
    for probe in ("__wrapped__", "__all__" if not hasattr(mod, "__all__") else "__path_hooks__", "_private"):
        with pytest.raises(AttributeError) as info:
            getattr(mod, probe)
        assert not isinstance(info.value, errors.MissingNameError)
    namespace = {}
    exec(f"from {name} import *", namespace)
    exported = [k for k in namespace if k != "__builtins__"]
    assert "LSTMCellThing" not in namespace and exported     # import * still brings the module's public names


def test_missing_names_keep_imports_and_pickling():
    import eager_api.nn.functional as F
    assert pickle.loads(pickle.dumps(F.relu)) is F.relu
    assert pickle.loads(pickle.dumps(keras_layers.Dense)) is keras_layers.Dense
    from static_api.keras import saving as again     # a submodule import is not mistaken for a missing name
    assert again is saving
    with pytest.raises(ImportError):
        exec("from static_api.keras.layers import LSTMCellThing", {})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tf.keras is importlib.import_module("static_api.keras")


def test_dense_applies_along_the_last_axis_of_each_position():
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    inp = tf.keras.Input((2, 5, 4))
    dense = keras_layers.Dense(3, activation="relu")
    model = tf.keras.Model(inp, dense(inp))
    model.set_weights([kernel, bias])
    x = rng.normal(size=(6, 2, 5, 4)).astype(np.float32)
    expected = np.maximum(np.einsum("bijk,kn->bijn", x.astype(np.float64), kernel) + bias, 0)
    assert tuple(model.output.shape) == (None, 2, 5, 3)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((6, 2, 5, 3), np.float32), verbose=0)      # and it trains


def test_fit_hands_its_settings_to_callbacks_as_params():
    # Keras calls set_params on every callback: epochs, steps per epoch (ceil(10 / 4) = 3) and verbose.
    seen = []

    class Spy(tf.keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append(dict(self.params))

    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
    model.compile("sgd", "mse")
    model.fit(np.zeros((10, 2), np.float32), np.zeros((10, 1), np.float32), batch_size=4, epochs=2, verbose=0,
              callbacks=[Spy()])
    assert seen == [{"epochs": 2, "steps": 3, "verbose": 0}]


# ----- more layers: ReLU's arguments, ELU, PReLU, Softmax, padding, cropping, upsampling ---------------------------
def _run_layer(layer, x):
    inp = tf.keras.Input(x.shape[1:])
    model = tf.keras.Model(inp, layer(inp))
    return model, model.predict(x, verbose=0)


def test_relu_arguments_follow_keras_static_call():
    x = np.array([[-2.0, -0.5, 0.1, 0.3, 1.0, 3.0, 7.0]], np.float32)
    cases = [(dict(max_value=6.0), np.clip(x, 0, 6)),
             (dict(max_value=0.5, negative_slope=0.1), np.clip(np.maximum(x, 0), 0, 0.5) - 0.1 * np.maximum(-x, 0)),
             (dict(negative_slope=0.1, threshold=0.2), np.where(x > 0.2, x, 0) - 0.1 * np.maximum(-x + 0.2, 0)),
             (dict(max_value=2.0, threshold=0.2), np.clip(np.where(x > 0.2, x, 0), 0, 2)),
             (dict(negative_slope=0.25), np.where(x > 0, x, 0.25 * x))]
    for kw, want in cases:
        tf.reset_default_graph()
        _, got = _run_layer(keras_layers.ReLU(**kw), x)
        np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=str(kw))
    with pytest.raises(ValueError, match="threshold of a ReLU layer cannot be None or a negative value"):
        keras_layers.ReLU(threshold=-0.2)


def test_elu_prelu_softmax_layers():
    x = np.random.default_rng(3).normal(size=(2, 3, 4)).astype(np.float32)
    _, got = _run_layer(keras_layers.ELU(alpha=0.5), x)
    np.testing.assert_allclose(got, np.where(x > 0, x, 0.5 * np.expm1(x)), rtol=1e-6, atol=1e-7)
    tf.reset_default_graph()
    prelu = keras_layers.PReLU(alpha_initializer="ones", shared_axes=[1])
    model, _ = _run_layer(prelu, x)
    assert [w.name for w in model.weights] == ["p_re_lu/alpha:0"] and model.get_weights()[0].shape == (1, 4)
    alpha = np.array([[0.1, -0.2, 0.3, 2.0]], np.float32)
    model.set_weights([alpha])
    np.testing.assert_allclose(model.predict(x, verbose=0), np.where(x > 0, x, alpha * x), rtol=1e-6)
    tf.reset_default_graph()
    _, got = _run_layer(keras_layers.Softmax(axis=[1, 2]), x)
    e = np.exp(x - x.max((1, 2), keepdims=True))
    np.testing.assert_allclose(got, e / e.sum((1, 2), keepdims=True), rtol=1e-5)


def test_padding_cropping_and_upsampling_move_pixels_exactly():
    x = np.arange(2 * 3 * 4 * 2, dtype=np.float32).reshape(2, 3, 4, 2)
    _, got = _run_layer(keras_layers.ZeroPadding2D(((1, 0), (2, 1))), x)
    np.testing.assert_array_equal(got, np.pad(x, ((0, 0), (1, 0), (2, 1), (0, 0))))
    tf.reset_default_graph()
    _, got = _run_layer(keras_layers.Cropping2D(((1, 0), (0, 2))), x)
    np.testing.assert_array_equal(got, x[:, 1:, :2, :])
    tf.reset_default_graph()
    _, got = _run_layer(keras_layers.UpSampling2D((2, 3)), x)
    np.testing.assert_array_equal(got, x.repeat(2, axis=1).repeat(3, axis=2))
    with pytest.raises(NotImplementedError, match="interpolation='bilinear'"):
        keras_layers.UpSampling2D(interpolation="bilinear")
    with pytest.raises(NotImplementedError, match="channels_last"):
        keras_layers.ZeroPadding2D(data_format="channels_first")


def test_new_layers_save_and_load(tmp_path):
    inp = tf.keras.Input((4, 4, 2))
    h = keras_layers.UpSampling2D()(keras_layers.Cropping2D(1)(keras_layers.ZeroPadding2D(1)(inp)))
    h = keras_layers.PReLU()(keras_layers.ReLU(6.0)(keras_layers.ELU(0.3)(h)))
    model = tf.keras.Model(inp, keras_layers.Softmax()(keras_layers.Flatten()(h)))
    x = np.random.default_rng(0).normal(size=(3, 4, 4, 2)).astype(np.float32)
    model.set_weights([np.full(w.shape, 0.25, np.float32) for w in model.get_weights()])
    want = model.predict(x, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    tf.reset_default_graph()
    np.testing.assert_array_equal(tf.keras.models.load_model(path).predict(x, verbose=0), want)


@pytest.mark.reference
@pytest.mark.parametrize("spec", ["relu6", "relu_slope_max", "relu_threshold", "elu", "prelu", "softmax", "pad_crop",
                                  "upsample", "gelu", "hard_sigmoid", "grouped", "depthwise", "depthwise_same_s2",
                                  "mobilenet_block", "conv_transpose_same", "conv_transpose_valid",
                                  "conv_transpose_output_padding", "separable", "separable_valid"])
def test_more_layers_train_as_keras(spec):
    make = {"relu6": lambda L: [L.Conv2D(3, 3), L.ReLU(6.0)],
            "relu_slope_max": lambda L: [L.Conv2D(3, 3), L.ReLU(max_value=0.5, negative_slope=0.1)],
            "relu_threshold": lambda L: [L.Conv2D(3, 3), L.ReLU(negative_slope=0.1, threshold=0.2)],
            "elu": lambda L: [L.Conv2D(3, 3), L.ELU(0.5)],
            "prelu": lambda L: [L.Conv2D(3, 3), L.PReLU(alpha_initializer="ones", shared_axes=[1, 2])],
            "softmax": lambda L: [L.Conv2D(3, 3), L.Softmax(axis=[1, 2])],
            "pad_crop": lambda L: [L.ZeroPadding2D(((1, 0), (2, 1))), L.Conv2D(3, 3), L.Cropping2D(1)],
            "upsample": lambda L: [L.UpSampling2D((2, 3)), L.Conv2D(2, 3, strides=2)],
            "gelu": lambda L: [L.Conv2D(3, 3), L.Activation("gelu")],
            "hard_sigmoid": lambda L: [L.Conv2D(3, 3), L.Activation("hard_sigmoid")],
            "grouped": lambda L: [L.Conv2D(4, 3, groups=2, strides=2, padding="same", activation="relu")],
            "depthwise": lambda L: [L.DepthwiseConv2D(3, depth_multiplier=2)],
            "separable": lambda L: [L.SeparableConv2D(4, 3, depth_multiplier=2, strides=2, padding="same",
                                                      activation="relu")],
            "separable_valid": lambda L: [L.SeparableConv2D(3, (2, 3), dilation_rate=2, use_bias=False)],
            "conv_transpose_same": lambda L: [L.Conv2DTranspose(3, 3, strides=2, padding="same", activation="relu")],
            "conv_transpose_valid": lambda L: [L.Conv2D(4, 3), L.Conv2DTranspose(2, (2, 3), strides=(2, 1))],
            "conv_transpose_output_padding": lambda L: [L.Conv2DTranspose(2, 3, strides=3, padding="same",
                                                                          output_padding=1)],
            "depthwise_same_s2": lambda L: [L.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False,
                                                              dilation_rate=1)],
            # SGD: a bias before batch norm has a zero gradient up to rounding, which Adam would scale up
            "mobilenet_block": lambda L: [L.Conv2D(6, 1), L.BatchNormalization(), L.ReLU(6.0),
                                          L.DepthwiseConv2D(3, padding="same"), L.BatchNormalization(),
                                          L.ReLU(6.0), L.Conv2D(4, 1)]}[spec]
    rng = np.random.default_rng(4)
    x = rng.normal(size=(12, 7, 6, 2)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 12)]
    assert_trains_as_keras(
        lambda keras: keras.Sequential([keras.Input((7, 6, 2))] + make(keras.layers)
                                       + [keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")]),
        lambda keras: keras.optimizers.SGD(0.05), "categorical_crossentropy", x, y, batch_size=4, jitter=0.1,
        rng=rng, predict=3, rtol=2e-5)


def test_grouped_and_depthwise_conv_shapes_and_errors():
    x = np.random.default_rng(2).normal(size=(2, 5, 5, 4)).astype(np.float32)
    model, y = _run_layer(keras_layers.DepthwiseConv2D(3, depth_multiplier=3, padding="same"), x)
    assert [w.shape for w in model.get_weights()] == [(3, 3, 4, 3), (12,)] and y.shape == (2, 5, 5, 12)
    k = model.get_weights()[0]
    # output channel c * 3 + m is input channel c convolved with k[:, :, c, m] (centre pixel, zero bias)
    centre = (x[:, 1:4, 1:4, :, None] * k[None, :, :, :, :]).sum((1, 2)).reshape(2, 12)
    np.testing.assert_allclose(y[:, 2, 2, :], centre, rtol=1e-5, atol=1e-6)
    tf.reset_default_graph()
    model, y = _run_layer(keras_layers.Conv2D(6, 1, groups=2, use_bias=False), x)
    k = model.get_weights()[0]
    assert k.shape == (1, 1, 2, 6)
    want = np.concatenate([x[..., :2] @ k[0, 0, :, :3], x[..., 2:] @ k[0, 0, :, 3:]], -1)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="number of filters must be evenly divisible by the number of groups"):
        keras_layers.Conv2D(5, 3, groups=2)
    tf.reset_default_graph()
    with pytest.raises(ValueError, match="number of input channels must be evenly divisible"):
        _run_layer(keras_layers.Conv2D(6, 3, groups=3), x)


def test_spatial_dropout_drops_whole_channels_and_scales_the_rest():
    x = np.ones((3, 5, 4, 6), np.float32)
    inp = tf.keras.Input((5, 4, 6))
    layer = keras_layers.SpatialDropout2D(0.5, seed=3)
    model = tf.keras.Model(inp, layer(inp))
    assert np.array_equal(model.predict(x, verbose=0), x)          # inference: the identity
    trained = layer(inp, training=True)
    with tf.Session() as sess:
        out = sess.run(trained, {inp: x})
    assert set(np.unique(out)) <= {0.0, 2.0}
    per_channel = out.reshape(3, 20, 6)
    assert (per_channel == per_channel[:, :1]).all()                 # one draw per (sample, channel)
    assert 0 < (per_channel[:, 0] == 0).mean() < 1
    with pytest.raises(ValueError, match="expected ndim=4"):
        keras_layers.SpatialDropout2D(0.5)(tf.keras.Input((5, 4)))
