"""Parity of the static frontend's recurrent layers with Keras 3 (SimpleRNN, LSTM, GRU) and with TF 2.21's TF1 cells
and dynamic_rnn (TF's own legacy implementation, which its public compat.v1 API no longer exports beside Keras 3):
weights copied across, then outputs, states, gradients and training steps compared.  Skipped without TensorFlow."""
import numpy as np
import pytest

import static_api as tf
from tests.helpers import assert_trains_as_keras

real = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.reference
R = np.random.default_rng(23)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _keras_outputs(keras, kind, kwargs, x, ids, start, weights=None):
    """The layer's [sequence, *states] and the gradients of sum(sequence * c) + sum(last state ** 2) with respect to
    its weights and to the embedded input, in dualflow's Keras (weights random) or real Keras (``weights``)."""
    n_states = 2 if kind == "LSTM" else 1
    emb = keras.layers.Embedding(10, 3, mask_zero=True)
    layer = getattr(keras.layers, kind)(4, return_sequences=True, return_state=True, **kwargs)
    c = np.linspace(-1, 1, 3 * 5 * 4).reshape(3, 5, 4).astype(np.float32)
    if keras is tf.keras:
        inp = keras.Input((5,), dtype="int32")
        h0 = [keras.Input((4,)) for _ in range(n_states)]
        embedded = emb(inp)
        seq, *states = layer(embedded, initial_state=h0)
        emb.set_weights([x])
        layer.set_weights([R.normal(scale=0.5, size=tuple(w.shape)).astype(np.float32) for w in layer.weights])
        loss = tf.reduce_sum(seq * c) + tf.reduce_sum(states[-1] ** 2)
        grads = tf.gradients(loss, layer.weights + [emb.embeddings])
        return layer.get_weights(), keras.backend.get_session().run(
            [seq, *states, *grads], {inp: ids, **dict(zip(h0, start))})
    emb.build((None, 5))
    emb.set_weights([x])
    layer.build((None, 5, 3))
    layer.set_weights(weights)
    with real.GradientTape() as tape:
        seq, *states = layer(emb(ids), mask=emb.compute_mask(ids), initial_state=[real.constant(s) for s in start])
        loss = real.reduce_sum(seq * c) + real.reduce_sum(states[-1] ** 2)
    grads = tape.gradient(loss, layer.trainable_weights + [emb.embeddings])
    return weights, [t.numpy() for t in [seq, *states]] + [real.convert_to_tensor(g).numpy() for g in grads]


@pytest.mark.parametrize("kind,kwargs", [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}),
                                         ("LSTM", {"go_backwards": True, "use_bias": False}),
                                         ("GRU", {"go_backwards": True})])
def test_keras_values_states_and_gradients_as_keras(kind, kwargs):
    table = R.normal(size=(10, 3)).astype(np.float32)
    ids = np.array([[3, 1, 4, 0, 0], [2, 0, 5, 9, 7], [0, 0, 0, 0, 0]], np.int32)    # gaps, full, all masked
    start = [R.normal(size=(3, 4)).astype(np.float32) for _ in range(2 if kind == "LSTM" else 1)]
    weights, ours = _keras_outputs(tf.keras, kind, kwargs, table, ids, start)
    _, theirs = _keras_outputs(real.keras, kind, kwargs, table, ids, start, weights)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_keras_weight_names_shapes_and_default_bias_as_keras(kind):
    real.keras.backend.clear_session()      # Keras' auto names (lstm, lstm_1, ...) start again
    shapes = []
    for keras in (tf.keras, real.keras):
        layer = getattr(keras.layers, kind)(3)
        out = layer(keras.Input((4, 2)))
        names = [w.op.name if keras is tf.keras else w.path for w in layer.weights]
        shapes.append((names, [tuple(w.shape) for w in layer.weights], layer.get_weights()[-1],
                       tuple(out.shape)))
    (names, dims, bias, out), (want_names, want_dims, want_bias, want_out) = shapes
    assert names == want_names and dims == want_dims and out == want_out
    np.testing.assert_array_equal(bias, want_bias)      # zeros, LSTM's forget gate ones


def test_lstm_gru_model_trains_as_keras():
    x = R.normal(size=(16, 6, 3)).astype(np.float32)
    y = R.normal(size=(16, 2)).astype(np.float32)

    def build(keras):
        return keras.Sequential([keras.Input((6, 3)), keras.layers.GRU(5, return_sequences=True),
                                 keras.layers.LSTM(4, go_backwards=True), keras.layers.Dense(2)])
    assert_trains_as_keras(build, lambda keras: keras.optimizers.Adam(0.01), "mse", x, y, predict=4)


def test_masked_simple_rnn_classifier_trains_as_keras():
    ids = R.integers(1, 20, size=(16, 7)).astype(np.int32)
    ids[::2, 4:] = 0        # padded rows
    y = (ids.sum(1) % 2).astype(np.float32)[:, None]

    def build(keras):
        return keras.Sequential([keras.Input((7,), dtype="int32"), keras.layers.Embedding(20, 4, mask_zero=True),
                                 keras.layers.SimpleRNN(6), keras.layers.Dense(1, activation="sigmoid")])
    assert_trains_as_keras(build, lambda keras: keras.optimizers.SGD(0.1), "binary_crossentropy", ids, y,
                           predict=4, metrics=["accuracy"])


# ----- TF1 cells -------------------------------------------------------------------------------------------------
def _tf1_cells(lib, kind):
    if kind == "multi":
        return lib.MultiRNNCell([lib.BasicLSTMCell(3, forget_bias=0.5), lib.GRUCell(2)])
    if kind == "lstm_not_tuple":
        return lib.BasicLSTMCell(3, state_is_tuple=False)
    return getattr(lib, kind)(3)


def _flat(state):
    return [state] if not isinstance(state, tuple) else [t for s in state for t in _flat(s)]

def _session_with(v1, graph, variables, values):
    """A session of ``v1`` (ours or TF's compat.v1) on ``graph`` whose trainable ``variables`` hold ``values``
    (random ones when None): the same weights in both libraries.  Returns the session and the values."""
    sess = v1.Session(graph=graph)
    sess.run(v1.global_variables_initializer())
    if values is None:
        values = [R.normal(scale=0.5, size=tuple(v.shape)).astype(np.float32) for v in variables]
    for v, value in zip(variables, values):
        v.load(value, sess)
    return sess, values



def _tf1_run(kind, x, lengths, time_major, values=None):
    """dynamic_rnn's outputs, flat final state and gradients (of sum(outputs * c) + sum(last state leaf ** 2) with
    respect to the input and every variable), in dualflow (weights random) or in TF's TF1 code (``values``)."""
    if values is None:
        lib, v1, graph = tf.nn.rnn_cell, tf, tf.get_default_graph()
    else:
        from tensorflow.python.ops import rnn as tf_rnn
        from tensorflow.python.ops import rnn_cell_impl
        lib, v1, graph = rnn_cell_impl, real.compat.v1, real.Graph()
        lib.dynamic_rnn = tf_rnn.dynamic_rnn
    with graph.as_default():
        ph = v1.placeholder(v1.float32, x.shape)
        outputs, state = (tf.nn.dynamic_rnn if values is None else lib.dynamic_rnn)(
            _tf1_cells(lib, kind), ph, sequence_length=lengths, dtype=v1.float32, time_major=time_major)
        leaves = _flat(state)
        c = np.linspace(-1, 1, x.size // x.shape[-1] * outputs.shape[-1]).reshape(outputs.shape).astype(np.float32)
        loss = v1.reduce_sum(outputs * c) + v1.reduce_sum(leaves[-1] ** 2)
        variables = v1.trainable_variables()
        grads = v1.gradients(loss, [ph] + variables)
        sess, values = _session_with(v1, graph, variables, values)
        names = [v.op.name for v in variables]
        return names, values, sess.run([outputs, *leaves, *grads], {ph: x})


@pytest.mark.parametrize("kind,lengths,time_major", [
    ("BasicRNNCell", None, False), ("BasicLSTMCell", [4, 2, 0], False), ("LSTMCell", None, True),
    ("GRUCell", [1, 4, 3], False), ("multi", [4, 3, 2], False), ("lstm_not_tuple", None, False)])
def test_tf1_dynamic_rnn_as_tf(kind, lengths, time_major):
    x = R.normal(size=(4, 3, 2) if time_major else (3, 4, 2)).astype(np.float32)
    names, values, ours = _tf1_run(kind, x, lengths, time_major)
    want_names, _, theirs = _tf1_run(kind, x, lengths, time_major, values)
    assert names == want_names
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_tf1_lstm_trains_as_tf():
    """Five GradientDescent steps of a dynamic_rnn LSTM regression, side by side."""
    x = R.normal(size=(6, 5, 3)).astype(np.float32)
    y = R.normal(size=(6, 2)).astype(np.float32)
    from tensorflow.python.ops import rnn as tf_rnn
    from tensorflow.python.ops import rnn_cell_impl
    runs = []
    for v1, lib, dyn, graph in ((tf, tf.nn.rnn_cell, tf.nn.dynamic_rnn, tf.get_default_graph()),
                                (real.compat.v1, rnn_cell_impl, tf_rnn.dynamic_rnn, real.Graph())):
        with graph.as_default():
            xs, ys = v1.placeholder(v1.float32, x.shape), v1.placeholder(v1.float32, y.shape)
            _, state = dyn(lib.LSTMCell(4), xs, dtype=v1.float32)
            w = v1.get_variable("w", (4, 2), initializer=v1.constant_initializer(0.3))
            loss = v1.reduce_mean((v1.matmul(state.h, w) - ys) ** 2)
            step = v1.train.GradientDescentOptimizer(0.5).minimize(loss)
            sess = v1.Session(graph=graph)
            sess.run(v1.global_variables_initializer())
            variables = v1.trainable_variables()
            if not runs:
                start = [R.normal(scale=0.5, size=tuple(v.shape)).astype(np.float32) for v in variables]
            for v, value in zip(variables, start):
                v.load(value, sess)
            losses = [sess.run([loss, step], {xs: x, ys: y})[0] for _ in range(5)]
            runs.append(losses + sess.run(variables))
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
