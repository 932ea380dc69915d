"""Parity of the recurrent layers over a number of time steps known only when the graph runs (one Scan over the
steps) with Keras 3 (its RNN traced over TensorSpec((None, None, depth)): a while loop) and with TF 2.21's TF1
dynamic_rnn and bidirectional_dynamic_rnn over placeholders of shape (None, None, depth): weights copied across,
several batch sizes and lengths fed to one graph, then outputs, states, gradients and training steps compared.
Skipped without TensorFlow."""
import numpy as np
import pytest

import static_api as tf
from tests.helpers import assert_trains_as_keras
from tests.test_reference_static_rnn import _flat, _session_with, _tf1_cells

real = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.reference
R = np.random.default_rng(37)
FEEDS = [(3, 5), (2, 9)]        # (batch, steps)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _feed(batch, steps, n_states):
    x = R.normal(size=(batch, steps, 3)).astype(np.float32)
    mask = R.random((batch, steps)) < 0.7
    mask[-1] = False                # masked throughout
    start = [R.normal(size=(batch, 4)).astype(np.float32) for _ in range(n_states)]
    c = np.linspace(-1, 1, batch * steps * 4).reshape(batch, steps, 4).astype(np.float32)
    return x, mask, start, c


def _keras_theirs(kind, kwargs, weights):
    """Real Keras' layer traced once over unknown batch and steps: its [sequence, *states, *gradients] of
    sum(sequence * c) + sum(last state ** 2) with respect to its weights and the input."""
    n_states = 2 if kind == "LSTM" else 1
    layer = getattr(real.keras.layers, kind)(4, return_sequences=True, return_state=True, **kwargs)
    layer.build((None, None, 3))
    layer.set_weights(weights)
    spec = real.TensorSpec((None, None, 3), real.float32)

    @real.function(input_signature=[spec, real.TensorSpec((None, None), real.bool)]
                   + [real.TensorSpec((None, 4), real.float32)] * n_states + [real.TensorSpec((None, None, 4))])
    def run(x, mask, *rest):
        start, c = list(rest[:-1]), rest[-1]
        with real.GradientTape() as tape:
            tape.watch(x)
            seq, *states = layer(x, mask=mask, initial_state=start)
            loss = real.reduce_sum(seq * c) + real.reduce_sum(states[-1] ** 2)
        return [seq, *states, *tape.gradient(loss, layer.trainable_weights + [x])]
    return run


@pytest.mark.parametrize("kind,kwargs", [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}),
                                         ("LSTM", {"go_backwards": True, "use_bias": False}),
                                         ("GRU", {"go_backwards": True})])
def test_keras_over_unknown_steps_as_keras(kind, kwargs):
    n_states = 2 if kind == "LSTM" else 1
    inp, mask_in = tf.keras.Input((None, 3)), tf.keras.Input((None,), dtype="bool")
    h0 = [tf.keras.Input((4,)) for _ in range(n_states)]
    c_in = tf.placeholder(tf.float32, (None, None, 4))
    layer = getattr(tf.keras.layers, kind)(4, return_sequences=True, return_state=True, **kwargs)
    seq, *states = layer(inp, mask=mask_in, initial_state=h0)
    loss = tf.reduce_sum(seq * c_in) + tf.reduce_sum(states[-1] ** 2)
    fetches = [seq, *states, *tf.gradients(loss, layer.weights + [inp])]
    weights = [R.normal(scale=0.5, size=tuple(w.shape)).astype(np.float32) for w in layer.weights]
    layer.set_weights(weights)
    theirs = _keras_theirs(kind, kwargs, weights)
    for batch, steps in FEEDS:
        x, mask, start, c = _feed(batch, steps, n_states)
        ours = tf.keras.backend.get_session().run(fetches, {inp: x, mask_in: mask, c_in: c, **dict(zip(h0, start))})
        want = theirs(x, mask, *start, c)
        assert len(ours) == len(want)
        for a, b in zip(ours, want):
            np.testing.assert_allclose(a, real.convert_to_tensor(b).numpy(), rtol=1e-5, atol=1e-6)


def test_variable_length_model_trains_as_keras():
    x = R.normal(size=(16, 7, 3)).astype(np.float32)
    y = R.normal(size=(16, 2)).astype(np.float32)

    def build(keras):
        return keras.Sequential([keras.Input((None, 3)), keras.layers.Bidirectional(keras.layers.LSTM(4)),
                                 keras.layers.Dense(2)])
    assert_trains_as_keras(build, lambda keras: keras.optimizers.Adam(0.01), "mse", x, y, predict=4)


# ----- TF1 -------------------------------------------------------------------------------------------------------
def _tf1_graph(kind, time_major, bidirectional, values=None):
    """dynamic_rnn (or bidirectional_dynamic_rnn with a GRUCell forward) over placeholders of unknown batch and
    steps, in dualflow (weights random) or TF's TF1 code (``values``): the variables' names and values, and a
    function of (x, lengths, c) giving the outputs, the flat final states and the gradients of sum(outputs * c) +
    sum(last state leaf ** 2) with respect to the input and every variable."""
    if values is None:
        lib, v1, graph, dyn, bi = tf.nn.rnn_cell, tf, tf.get_default_graph(), tf.nn.dynamic_rnn, \
            tf.nn.bidirectional_dynamic_rnn
    else:
        from tensorflow.python.ops import rnn as tf_rnn
        from tensorflow.python.ops import rnn_cell_impl
        lib, v1, graph, dyn, bi = rnn_cell_impl, real.compat.v1, real.Graph(), tf_rnn.dynamic_rnn, \
            tf_rnn.bidirectional_dynamic_rnn
    with graph.as_default():
        ph, lengths = v1.placeholder(v1.float32, (None, None, 2)), v1.placeholder(v1.int32, (None,))
        c = v1.placeholder(v1.float32, (None, None, None))
        if bidirectional:
            (fw, bw), states = bi(lib.GRUCell(3), _tf1_cells(lib, kind), ph, sequence_length=lengths,
                                  dtype=v1.float32, time_major=time_major)
            outputs = v1.concat([fw, bw], -1)
        else:
            outputs, states = dyn(_tf1_cells(lib, kind), ph, sequence_length=lengths, dtype=v1.float32,
                                  time_major=time_major)
        leaves = _flat(states)
        loss = v1.reduce_sum(outputs * c) + v1.reduce_sum(leaves[-1] ** 2)
        variables = v1.trainable_variables()
        fetches = [outputs, *leaves, *v1.gradients(loss, [ph] + variables)]
        sess, values = _session_with(v1, graph, variables, values)
    return [v.op.name for v in variables], values, lambda x, n, cv: sess.run(fetches, {ph: x, lengths: n, c: cv})


@pytest.mark.parametrize("kind,time_major,bidirectional", [
    ("BasicRNNCell", False, False), ("BasicLSTMCell", False, False), ("LSTMCell", True, False),
    ("GRUCell", False, False), ("multi", False, False), ("lstm_not_tuple", True, False),
    ("BasicLSTMCell", False, True), ("multi", True, True)])
def test_tf1_over_unknown_steps_as_tf(kind, time_major, bidirectional):
    names, values, ours = _tf1_graph(kind, time_major, bidirectional)
    want_names, _, theirs = _tf1_graph(kind, time_major, bidirectional, values)
    assert names == want_names
    for batch, steps in FEEDS:
        x = R.normal(size=(steps, batch, 2) if time_major else (batch, steps, 2)).astype(np.float32)
        n = R.integers(0, steps + 1, size=batch)
        n[0] = steps
        width = 3 + (3 if kind != "multi" else 2) if bidirectional else (3 if kind != "multi" else 2)
        c = R.normal(size=x.shape[:2] + (width,)).astype(np.float32)
        got, want = ours(x, n, c), theirs(x, n, c)
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
