"""Random Keras convolutional models, compiled and fit with the static compiler on or off: convolutions with
or without bias and padding, activations, pooling, batch normalization, global pooling or flatten, a dense
head, each optimizer.  Every layer is still there, under its name, with its weights, and the fitted weights,
the history and the predictions agree to rounding.  The models run in float64 (``K.set_floatx``): the layout
pass runs the NHWC convolutions natively, which sums in another order than NCHW kernels between transposes,
and batch normalization with momentum amplifies that last-bit difference some 200-fold in a few steps (in
float32, 1e-5 of a moving statistic), where a real divergence would still show."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import static_api as tf

BLOCK = st.tuples(st.sampled_from(["conv", "conv_same", "conv_nobias", "max_pool", "avg_pool", "batch_norm",
                                   "relu", "leaky"]),
                  st.integers(2, 4))
OPTIMIZERS = ["sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamw"]
HEADS = ["flatten", "global_avg", "global_max"]


def fit(blocks: list, head: str, optimizer: str, optimize: str, monkeypatch, seed: int) -> tuple:
    """(layer names and weight shapes, fitted weights + loss history + predictions) of the model."""
    monkeypatch.setenv("DUALFLOW_OPTIMIZE", optimize)
    monkeypatch.setitem(tf.keras.backend._settings, "floatx", "float64")
    tf.reset_default_graph()
    tf.set_random_seed(seed)
    L = tf.keras.layers
    inputs = L.Input(shape=(8, 8, 2))
    h, size = inputs, 8
    for kind, units in blocks:
        if kind.startswith("conv") and (kind == "conv_same" or size >= 3):
            h = L.Conv2D(units, 3, padding="same" if kind == "conv_same" else "valid", activation="tanh",
                         use_bias=kind != "conv_nobias")(h)
            size = size if kind == "conv_same" else size - 2
        elif kind in ("max_pool", "avg_pool") and size >= 2:
            h = (L.MaxPooling2D if kind == "max_pool" else L.AveragePooling2D)(2)(h)
            size //= 2
        elif kind == "batch_norm":
            h = L.BatchNormalization()(h)
        elif kind == "relu":
            h = L.ReLU()(h)
        elif kind == "leaky":
            h = L.LeakyReLU(0.1)(h)
    h = {"flatten": L.Flatten(), "global_avg": L.GlobalAveragePooling2D(),
         "global_max": L.GlobalMaxPooling2D()}[head](h)
    outputs = L.Dense(3, activation="softmax")(h)
    model = tf.keras.models.Model(inputs=inputs, outputs=outputs)
    opt = {"sgd": lambda: tf.keras.optimizers.SGD(0.05, momentum=0.9), "adamw": lambda: tf.keras.optimizers.AdamW(),
           "adam": lambda: tf.keras.optimizers.Adam(), "rmsprop": lambda: tf.keras.optimizers.RMSprop(),
           "adagrad": lambda: tf.keras.optimizers.Adagrad(), "adadelta": lambda: tf.keras.optimizers.Adadelta(1.0)}
    model.compile(optimizer=opt[optimizer](), loss="categorical_crossentropy")
    rng = np.random.default_rng(seed)
    x = rng.random((24, 8, 8, 2))
    y = tf.keras.utils.to_categorical(rng.integers(0, 3, 24), 3)
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False).history["loss"]
    layers = [(layer.name, [tuple(w.shape) for w in layer.get_weights()]) for layer in model.layers]
    return layers, model.get_weights() + [np.array(history), model.predict(x[:4], verbose=0)]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(BLOCK, min_size=1, max_size=5), st.sampled_from(HEADS), st.sampled_from(OPTIMIZERS),
       st.integers(0, 2**16))
def test_random_keras_models_fit_the_same_optimized_or_not(monkeypatch, blocks, head, optimizer, seed):
    want_layers, want = fit(blocks, head, optimizer, "0", monkeypatch, seed)
    got_layers, got = fit(blocks, head, optimizer, "1", monkeypatch, seed)
    assert got_layers == want_layers
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype == np.float64
        # plus an absolute floor: a weight that training leaves at zero but for rounding noise (a second batch
        # normalization's shift after the first one centred its input) has no scale of its own
        assert np.linalg.norm(g - w) <= 1e-10 * np.linalg.norm(w) + 1e-12, (np.linalg.norm(g - w), np.linalg.norm(w))
