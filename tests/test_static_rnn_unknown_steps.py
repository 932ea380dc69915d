"""Recurrent layers over a number of time steps known only when the graph runs (``Input((None, features))``, a
placeholder of shape (batch, None, depth)) or over more than ``rnn.MAX_UNROLLED``: one Scan runs the step per time
step.  Against the NumPy loops of tests/test_static_rnn.py with several batch sizes and lengths fed to one graph,
bit for bit against the unrolled graph, gradients against float64 central differences (parity with Keras 3 and
TF 2.21 is in tests/test_reference_static_rnn_unknown_steps.py)."""
import numpy as np
import pytest

import static_api as tf
from static_api import rnn
from tests.test_keras_wrappers import _bidirectional_numpy
from tests.test_static_rnn import fd_check, keras_loop, random_weights, tf1_loop

keras = tf.keras
R = np.random.default_rng(31)
FEEDS = [(3, 5), (1, 1), (4, 8)]        # (batch, steps) fed to one graph


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _run(tensors, feed):
    return keras.backend.get_session().run(tensors, feed)


def _mask(batch, steps):
    """Random gaps, and a row masked throughout (its output zeros, its initial state kept)."""
    mask = R.random((batch, steps)) < 0.7
    mask[-1] = False
    return mask


def _ops(kind):
    return [op for op in tf.get_default_graph().get_operations() if op.type == kind]


# ----- Keras layers ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,kwargs", [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}),
                                         ("LSTM", {"use_bias": False, "go_backwards": True}),
                                         ("GRU", {"go_backwards": True})])
def test_keras_layer_over_unknown_steps_matches_numpy_for_several_lengths(kind, kwargs):
    inp, mask_in = keras.Input((None, 2)), keras.Input((None,), dtype="bool")
    n_states = 2 if kind == "LSTM" else 1
    h0 = [keras.Input((4,)) for _ in range(n_states)]
    layer = getattr(keras.layers, kind)(4, return_sequences=True, return_state=True, **kwargs)
    seq, *states = layer(inp, mask=mask_in, initial_state=h0)
    last = getattr(keras.layers, kind)(4, **kwargs)       # the last output only: no sequence stacked
    out = last(inp, mask=mask_in, initial_state=h0)
    assert seq.shape.as_list() == [None, None, 4] and out.shape.as_list() == [None, 4]
    assert seq._keras_mask is mask_in and len(_ops("Scan")) == 2
    weights = random_weights(layer)
    layer.set_weights(weights)
    last.set_weights(weights)
    for batch, steps in FEEDS:
        x = R.normal(size=(batch, steps, 2)).astype(np.float32)
        mask = _mask(batch, steps)
        start = [R.normal(size=(batch, 4)).astype(np.float32) for _ in h0]
        got = _run([seq, *states, out], {inp: x, mask_in: mask, **dict(zip(h0, start))})
        want_seq, want_states = keras_loop(kind, x, weights, start, mask=mask, go_backwards=kwargs.get(
            "go_backwards", False), reset_after=kwargs.get("reset_after", True))
        np.testing.assert_allclose(got[0], want_seq, rtol=1e-5, atol=1e-6)
        for g, w in zip(got[1:], want_states):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(got[-1], got[0][:, -1])
        np.testing.assert_array_equal(got[0][-1], 0)                # masked throughout: zero output
        np.testing.assert_array_equal(got[1][-1], start[0][-1])     # ... and its initial state kept


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_keras_loop_gives_the_unrolled_bits_values_and_gradients(kind):
    """One layer over 6 known steps (unrolled), an unknown number and 40 known ones (both a Scan), and 40 unrolled
    (``unroll=True``): the same bits, gradients included."""
    layer = getattr(keras.layers, kind)(3, return_sequences=True, return_state=True, go_backwards=kind == "GRU")
    runs = []
    for steps, unroll in ((6, False), (None, False), (40, False), (40, True)):
        layer.unroll = unroll
        inp, mask_in = keras.Input((steps, 2)), keras.Input((steps,), dtype="bool")
        scans = len(_ops("Scan"))
        seq, *states = layer(inp, mask=mask_in)
        assert len(_ops("Scan")) - scans == (0 if unroll or steps == 6 else 1)
        loss = tf.reduce_sum(seq * seq) + tf.reduce_sum(states[-1])
        runs.append((inp, mask_in, [seq, *states, *tf.gradients(loss, layer.weights + [inp])]))
    layer.set_weights(random_weights(layer))
    for steps, (a_in, a_mask, a), (b_in, b_mask, b) in ((6, runs[0], runs[1]), (40, runs[2], runs[3])):
        x, mask = R.normal(size=(3, steps, 2)).astype(np.float32), _mask(3, steps)
        for u, v in zip(_run(a, {a_in: x, a_mask: mask}), _run(b, {b_in: x, b_mask: mask})):
            np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("kind,kwargs", [("SimpleRNN", {}), ("LSTM", {"go_backwards": True}), ("GRU", {}),
                                         ("GRU", {"reset_after": False})])
def test_keras_gradients_over_unknown_steps_against_central_differences(kind, kwargs):
    inp, mask_in = keras.Input((None, 2), dtype="float64"), keras.Input((None,), dtype="bool")
    h0 = keras.Input((2,), dtype="float64")
    layer = getattr(keras.layers, kind)(2, return_sequences=True, return_state=True, dtype="float64", **kwargs)
    seq, *states = layer(inp, mask=mask_in, initial_state=[h0] * (2 if kind == "LSTM" else 1))
    c = tf.constant(R.normal(size=(2, 4, 2)))
    loss = tf.reduce_sum(seq * c) + tf.reduce_sum(states[-1] ** 2)
    sess = tf.Session()
    sess.run(tf.variables_initializer(layer.weights))
    for w in layer.weights:
        w.load(R.normal(scale=0.5, size=tuple(w.shape)), sess)
    feed = {inp: R.normal(size=(2, 4, 2)), mask_in: np.array([[True, False, True, True], [True, True, False, False]]),
            h0: R.normal(size=(2, 2))}
    fd_check(sess, loss, feed, [inp, h0, *layer.weights])


def test_sequential_lstm_over_sequences_of_any_length_trains_and_predicts():
    model = keras.Sequential([keras.Input((None, 8)), keras.layers.LSTM(4), keras.layers.Dense(1)])
    assert model.output_shape == (None, 1)
    model.compile(keras.optimizers.Adam(0.02), "mse")
    data = [R.normal(size=(16, steps, 8)).astype(np.float32) for steps in (5, 9)]
    first = [model.evaluate(x, x.mean(axis=(1, 2))[:, None], verbose=0) for x in data]
    for _ in range(8):
        for x in data:
            model.fit(x, x.mean(axis=(1, 2))[:, None], epochs=1, batch_size=8, verbose=0)
    last = [model.evaluate(x, x.mean(axis=(1, 2))[:, None], verbose=0) for x in data]
    assert all(b < 0.5 * a for a, b in zip(first, last))
    lstm, dense = model.layers
    for steps in (3, 11):
        x = R.normal(size=(2, steps, 8)).astype(np.float32)
        seq, _ = keras_loop("LSTM", x, lstm.get_weights(), [np.zeros((2, 4), np.float32)] * 2)
        want = seq[:, -1] @ dense.get_weights()[0] + dense.get_weights()[1]
        np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)


def test_bidirectional_and_time_distributed_over_unknown_steps():
    inp, mask_in = keras.Input((None, 2)), keras.Input((None,), dtype="bool")
    bi = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True, return_state=True))
    seq, *states = bi(inp, mask=mask_in)
    td = keras.layers.TimeDistributed(keras.layers.Dense(2))
    per_step = td(seq)
    assert seq.shape.as_list() == [None, None, 6] and per_step.shape.as_list() == [None, None, 2]
    weights = random_weights(bi)
    bi.set_weights(weights)
    kernel, bias = random_weights(td)
    td.set_weights([kernel, bias])
    for batch, steps in FEEDS:
        x, mask = R.normal(size=(batch, steps, 2)).astype(np.float32), _mask(batch, steps)
        got = _run([seq, *states, per_step], {inp: x, mask_in: mask})
        fw, bw, want_states = _bidirectional_numpy("LSTM", x, weights, [np.zeros((batch, 3), np.float32)] * 4, mask,
                                                   True)
        want = np.concatenate([fw, bw], -1)
        np.testing.assert_allclose(got[0], want, rtol=1e-5, atol=1e-6)
        for g, w in zip(got[1:5], want_states):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got[-1], got[0] @ kernel + bias, rtol=1e-5, atol=1e-6)


def test_keras_errors_over_unknown_steps():
    inp = keras.Input((None, 3))
    with pytest.raises(ValueError, match="Cannot unroll a RNN if the time dimension is undefined"):
        keras.layers.GRU(2, unroll=True)(inp)
    out = keras.layers.LSTM(2)(inp)
    grad, = tf.gradients(tf.reduce_sum(out), inp)
    with pytest.raises(NotImplementedError, match="lstm: the gradient of a gradient through its loop"):
        tf.gradients(tf.reduce_sum(grad * grad), inp)


# ----- TF1 cells ---------------------------------------------------------------------------------------------------
def _load(sess, cell):
    values = [R.normal(scale=0.5, size=tuple(v.shape)).astype(np.float32) for v in cell.variables]
    for v, value in zip(cell.variables, values):
        v.load(value, sess)
    return values


@pytest.mark.parametrize("kind", ["BasicRNNCell", "BasicLSTMCell", "LSTMCell", "GRUCell"])
def test_tf1_dynamic_rnn_over_unknown_steps_matches_numpy_for_several_lengths(kind):
    ph, lengths = tf.placeholder(tf.float32, (None, None, 2)), tf.placeholder(tf.int32, (None,))
    cell = getattr(tf.nn.rnn_cell, kind)(3)
    outputs, state = tf.nn.dynamic_rnn(cell, ph, sequence_length=lengths, dtype=tf.float32)
    assert outputs.shape.as_list() == [None, None, 3] and len(_ops("Scan")) == 1
    # made inside the loop, the cell's variables are made outside it: named, initialized and trained as TF1's
    names = {"BasicRNNCell": "basic_rnn_cell", "BasicLSTMCell": "basic_lstm_cell", "LSTMCell": "lstm_cell"}
    assert [v.op.name for v in tf.trainable_variables()] == (
        [f"rnn/gru_cell/{p}/{k}" for p in ("gates", "candidate") for k in ("kernel", "bias")]
        if kind == "GRUCell" else [f"rnn/{names[kind]}/kernel", f"rnn/{names[kind]}/bias"])
    assert all(g is not None for g in tf.gradients(tf.reduce_sum(outputs), cell.variables))
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    weights = _load(sess, cell)
    for batch, steps in FEEDS:
        x = R.normal(size=(batch, steps, 2)).astype(np.float32)
        n = R.integers(0, steps + 1, size=batch)
        got_out, got_state = sess.run([outputs, state], {ph: x, lengths: n})
        zero = np.zeros((batch, 3), np.float32)
        want_out, want_state = tf1_loop(kind, x, weights, (zero, zero) if "LSTM" in kind else zero, lengths=n)
        np.testing.assert_allclose(got_out, want_out, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got_state, want_state, rtol=1e-5, atol=1e-6)


def test_tf1_multi_cell_time_major_initial_state_and_state_not_tuple():
    ph = tf.placeholder(tf.float32, (None, None, 3))        # time-major
    cells = [tf.nn.rnn_cell.BasicLSTMCell(4, forget_bias=0.5), tf.nn.rnn_cell.GRUCell(2)]
    starts = [tf.placeholder(tf.float32, (None, n)) for n in (4, 4, 2)]
    start = (tf.nn.rnn_cell.LSTMStateTuple(*starts[:2]), starts[2])
    outputs, state = tf.nn.dynamic_rnn(tf.nn.rnn_cell.MultiRNNCell(cells), ph, initial_state=start, time_major=True)
    flat = tf.contrib.rnn.BasicLSTMCell(3, state_is_tuple=False)
    flat_out, flat_state = tf.nn.dynamic_rnn(flat, ph, dtype=tf.float32, time_major=True, scope="flat")
    assert [v.op.name for v in tf.trainable_variables()][:2] == [
        "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel", "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias"]
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    lstm_w, gru_w, flat_w = _load(sess, cells[0]), _load(sess, cells[1]), _load(sess, flat)
    for batch, steps in FEEDS:
        x = R.normal(size=(steps, batch, 3)).astype(np.float32)
        start_v = [R.normal(size=(batch, n)).astype(np.float32) for n in (4, 4, 2)]
        got = sess.run([outputs, state, flat_out, flat_state], {ph: x, **dict(zip(starts, start_v))})
        lstm_out, lstm_state = tf1_loop("BasicLSTMCell", x.transpose(1, 0, 2), lstm_w, tuple(start_v[:2]),
                                        forget_bias=0.5)
        gru_out, gru_state = tf1_loop("GRUCell", lstm_out, gru_w, start_v[2])
        np.testing.assert_allclose(got[0], gru_out.transpose(1, 0, 2), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got[1][0], lstm_state, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got[1][1], gru_state, rtol=1e-5, atol=1e-6)
        zero = np.zeros((batch, 3), np.float32)
        want_out, (c, h) = tf1_loop("BasicLSTMCell", x.transpose(1, 0, 2), flat_w, (zero, zero))
        np.testing.assert_allclose(got[2], want_out.transpose(1, 0, 2), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got[3], np.concatenate([c, h], 1), rtol=1e-5, atol=1e-6)


def test_tf1_loop_gives_the_unrolled_bits_and_bidirectional_matches():
    """dynamic_rnn over 5 known steps (unrolled) and an unknown number: the same bits.  bidirectional_dynamic_rnn
    over an unknown number runs each row's steps last to first in place: the same values, gradients to float32
    rounding (TF's reverse_sequence groups the rows' steps otherwise)."""
    x, n = R.normal(size=(3, 5, 2)).astype(np.float32), np.array([5, 2, 0])
    cell = tf.nn.rnn_cell.BasicLSTMCell(3)
    runs = []
    for steps in (5, None):
        ph = tf.placeholder(tf.float32, (None, steps, 2))
        outputs, state = tf.nn.dynamic_rnn(cell, ph, sequence_length=n, dtype=tf.float32, scope="one")
        (fw, bw), (_, bw_state) = tf.nn.bidirectional_dynamic_rnn(
            tf.nn.rnn_cell.GRUCell(3), tf.nn.rnn_cell.BasicLSTMCell(2), ph, sequence_length=n, dtype=tf.float32,
            scope=f"bi{steps}")
        loss = tf.reduce_sum(outputs ** 2) + tf.reduce_sum(fw * bw[..., :1]) + tf.reduce_sum(bw_state.h)
        bi_vars = [v for v in tf.trainable_variables() if v.op.name.startswith(f"bi{steps}/")]
        runs.append((ph, [outputs, state, fw, bw, bw_state], tf.gradients(loss, [ph] + cell.variables + bi_vars),
                     bi_vars))
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    for a, b in zip(runs[0][3], runs[1][3]):
        value = R.normal(scale=0.5, size=tuple(a.shape)).astype(np.float32)
        a.load(value, sess)
        b.load(value, sess)
    (a_ph, a_values, a_grads, _), (b_ph, b_values, b_grads, _) = runs
    got_a, got_b = sess.run([a_values, a_grads], {a_ph: x}), sess.run([b_values, b_grads], {b_ph: x})
    for u, v in zip(got_a[0], got_b[0]):
        np.testing.assert_array_equal(u, v)
    for u, v in zip(got_a[1][:3], got_b[1][:3]):        # the input's and dynamic_rnn's cell's gradients
        np.testing.assert_array_equal(u, v)
    for u, v in zip(got_a[1][3:], got_b[1][3:]):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", ["BasicRNNCell", "BasicLSTMCell", "GRUCell"])
def test_tf1_gradients_over_unknown_steps_against_central_differences(kind):
    ph = tf.placeholder(tf.float64, (None, None, 2))
    cell = getattr(tf.nn.rnn_cell, kind)(2)
    outputs, state = tf.nn.dynamic_rnn(cell, ph, sequence_length=[3, 2], dtype=tf.float64)
    (fw, bw), _ = tf.nn.bidirectional_dynamic_rnn(cell, tf.nn.rnn_cell.BasicRNNCell(2), ph, sequence_length=[1, 3],
                                                  dtype=tf.float64)
    last = state.c if "LSTM" in kind else state
    loss = (tf.reduce_sum(outputs * tf.constant(R.normal(size=(2, 3, 2)))) + tf.reduce_sum(last * last)
            + tf.reduce_sum(fw * bw))
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    for v in tf.trainable_variables():
        v.load(R.normal(scale=0.5, size=tuple(v.shape)), sess)
    fd_check(sess, loss, {ph: R.normal(size=(2, 3, 2))}, [ph, *tf.trainable_variables()])


def test_tf1_dropout_wrapper_draws_a_mask_per_step_in_the_loop():
    x = R.normal(size=(3, 4, 2)).astype(np.float32)
    ph = tf.placeholder(tf.float32, (None, None, 2))
    cell = tf.nn.rnn_cell.BasicLSTMCell(5)
    bare, _ = tf.nn.dynamic_rnn(cell, ph, dtype=tf.float32)
    dropped, _ = tf.nn.dynamic_rnn(tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=0.5, seed=2), ph,
                                   dtype=tf.float32, scope="b")
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    b, d = sess.run([bare, dropped], {ph: x})
    d2 = sess.run(dropped, {ph: x})
    zero = d == 0
    assert 0.2 < zero.mean() < 0.8 and len({m.tobytes() for m in zero.transpose(1, 0, 2)}) == 4   # new mask per step
    assert not np.array_equal(zero, d2 == 0)                                                     # ... and per run
    np.testing.assert_allclose(d[~zero], 2 * b[~zero], rtol=1e-6)


def test_more_steps_than_unrolled_run_as_a_loop():
    assert rnn.unrolled(rnn.MAX_UNROLLED) and not rnn.unrolled(rnn.MAX_UNROLLED + 1) and not rnn.unrolled(None)
    ph = tf.placeholder(tf.float32, (None, rnn.MAX_UNROLLED + 1, 2))
    outputs, _ = tf.nn.dynamic_rnn(tf.nn.rnn_cell.GRUCell(2), ph, dtype=tf.float32)
    keras.layers.TimeDistributed(keras.layers.Dense(2))(ph)
    assert outputs.shape.as_list() == [None, rnn.MAX_UNROLLED + 1, 2] and len(_ops("Scan")) == 2
    tf.nn.static_rnn(tf.nn.rnn_cell.GRUCell(2), tf.unstack(ph, axis=1), dtype=tf.float32, scope="static")
    assert len(_ops("Scan")) == 2       # static_rnn's list of steps is always unrolled
