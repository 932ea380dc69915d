"""Recurrent layers of the static frontend: Keras' SimpleRNN, LSTM and GRU, TF1's cells with dynamic_rnn and
static_rnn.  Each against a NumPy loop of its documented arithmetic; gradients against float64 central
differences (parity with Keras 3 and TF 2.21 is in tests/test_reference_static_rnn.py)."""
import numpy as np
import pytest

import static_api as tf

keras = tf.keras
R = np.random.default_rng(5)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# ----- NumPy references --------------------------------------------------------------------------------------------
def keras_step(kind, x, states, kernel, recurrent, bias, reset_after=True):
    """One step of Keras 3's cells, written from their documented equations (gates i, f, c, o / z, r, h)."""
    h = states[0]
    b = 0 if bias is None else bias
    if kind == "SimpleRNN":
        out = np.tanh(x @ kernel + b + h @ recurrent)
        return out, [out]
    if kind == "LSTM":
        i, f, g, o = np.split(x @ kernel + h @ recurrent + b, 4, axis=1)
        c = sigmoid(f) * states[1] + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        return h, [h, c]
    n = h.shape[1]
    bx, bh = (b[0], b[1]) if reset_after and bias is not None else (b, 0)
    xz, xr, xh = np.split(x @ kernel + bx, 3, axis=1)
    if reset_after:
        rz, rr, rh = np.split(h @ recurrent + bh, 3, axis=1)
        z, r = sigmoid(xz + rz), sigmoid(xr + rr)
        hh = np.tanh(xh + r * rh)
    else:
        z = sigmoid(xz + h @ recurrent[:, :n])
        r = sigmoid(xr + h @ recurrent[:, n:2 * n])
        hh = np.tanh(xh + (r * h) @ recurrent[:, 2 * n:])
    h = z * h + (1 - z) * hh
    return h, [h]


def keras_loop(kind, x, weights, states, mask=None, go_backwards=False, reset_after=True):
    """Keras' RNN loop: masked steps keep the states and repeat the last output (zeros before the first)."""
    kernel, recurrent = weights[:2]
    bias = weights[2] if len(weights) > 2 else None
    steps = list(range(x.shape[1]))[::-1] if go_backwards else range(x.shape[1])
    outputs, prev = [], np.zeros_like(states[0])
    for t in steps:
        out, new = keras_step(kind, x[:, t], states, kernel, recurrent, bias, reset_after)
        if mask is not None:
            m = mask[:, t:t + 1]
            out = np.where(m, out, prev)
            new = [np.where(m, a, b) for a, b in zip(new, states)]
        outputs.append(out)
        prev, states = out, new
    return np.stack(outputs, 1), states


def tf1_step(kind, x, state, weights, forget_bias=1.0):
    """One step of TF1's cells as rnn_cell_impl writes them (gates i, j, f, o; GRU r, u)."""
    if kind == "GRUCell":
        gk, gb, ck, cb = weights
        r, u = np.split(sigmoid(np.concatenate([x, state], 1) @ gk + gb), 2, axis=1)
        c = np.tanh(np.concatenate([x, r * state], 1) @ ck + cb)
        h = u * state + (1 - u) * c
        return h, h
    kernel, bias = weights
    if kind == "BasicRNNCell":
        h = np.tanh(np.concatenate([x, state], 1) @ kernel + bias)
        return h, h
    c, h = state
    i, j, f, o = np.split(np.concatenate([x, h], 1) @ kernel + bias, 4, axis=1)
    c = c * sigmoid(f + forget_bias) + sigmoid(i) * np.tanh(j)
    h = np.tanh(c) * sigmoid(o)
    return h, (c, h)


def tf1_loop(kind, x, weights, state, lengths=None, forget_bias=1.0):
    """TF1's dynamic_rnn: past its length a row outputs zeros and keeps its state."""
    outputs = []
    for t in range(x.shape[1]):
        out, new = tf1_step(kind, x[:, t], state, weights, forget_bias)
        if lengths is not None:
            m = (t < np.asarray(lengths))[:, None]
            out = np.where(m, out, 0)
            new = tuple(np.where(m, a, b) for a, b in zip(new, state)) if isinstance(new, tuple) else \
                np.where(m, new, state)
        outputs.append(out)
        state = new
    return np.stack(outputs, 1), state


def random_weights(layer):
    return [R.normal(scale=0.5, size=tuple(w.shape)).astype(np.float32) for w in layer.weights]


# ----- Keras layers ------------------------------------------------------------------------------------------------
KERAS_CASES = [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}),
               ("LSTM", {"use_bias": False}), ("GRU", {"use_bias": False})]


@pytest.mark.parametrize("kind,kwargs", KERAS_CASES)
def test_keras_layer_matches_numpy_loop(kind, kwargs):
    x = R.normal(size=(3, 5, 2)).astype(np.float32)
    inp = keras.Input((5, 2))
    layer = getattr(keras.layers, kind)(4, return_sequences=True, return_state=True, **kwargs)
    seq, *states = layer(inp)
    weights = random_weights(layer)
    layer.set_weights(weights)
    got = keras.backend.get_session().run([seq, *states], {inp: x})     # (a Model has one output here)
    zeros = [np.zeros((3, 4), np.float32)] * len(states)
    want_seq, want_states = keras_loop(kind, x, weights, zeros, reset_after=kwargs.get("reset_after", True))
    np.testing.assert_allclose(got[0], want_seq, rtol=1e-5, atol=1e-6)
    for g, w in zip(got[1:], want_states):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_keras_weights_names_shapes_and_initializers():
    inp = keras.Input((7, 3))
    lstm, gru, simple = keras.layers.LSTM(4), keras.layers.GRU(5), keras.layers.SimpleRNN(2)
    for layer in (lstm, gru, simple):
        layer(inp)
    assert [(w.op.name, tuple(w.shape)) for w in lstm.weights + gru.weights + simple.weights] == [
        ("lstm/lstm_cell/kernel", (3, 16)), ("lstm/lstm_cell/recurrent_kernel", (4, 16)),
        ("lstm/lstm_cell/bias", (16,)),
        ("gru/gru_cell/kernel", (3, 15)), ("gru/gru_cell/recurrent_kernel", (5, 15)), ("gru/gru_cell/bias", (2, 15)),
        ("simple_rnn/simple_rnn_cell/kernel", (3, 2)), ("simple_rnn/simple_rnn_cell/recurrent_kernel", (2, 2)),
        ("simple_rnn/simple_rnn_cell/bias", (2,))]
    kernel, recurrent, bias = lstm.get_weights()
    np.testing.assert_array_equal(bias, [0] * 4 + [1] * 4 + [0] * 8)       # unit_forget_bias
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(4), atol=1e-5)   # orthogonal rows (4 x 16)
    limit = np.sqrt(6 / (3 + 16))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > limit / 2     # glorot_uniform's range
    plain = keras.layers.LSTM(3, unit_forget_bias=False, bias_initializer="ones")
    plain(inp)
    np.testing.assert_array_equal(plain.get_weights()[2], np.ones(12))
    old_gru = keras.layers.GRU(3, reset_after=False)
    assert old_gru(inp).shape.as_list() == [None, 3] and old_gru.weights[2].shape.as_list() == [9]


def test_keras_go_backwards_initial_state_and_mask(tmp_path):
    ids = np.array([[3, 1, 4, 0, 0], [2, 0, 5, 9, 0], [0, 0, 0, 0, 0]], np.int32)
    for kind in ("LSTM", "GRU", "SimpleRNN"):
        tf.reset_default_graph()
        inp = keras.Input((5,), dtype="int32")
        emb = keras.layers.Embedding(10, 2, mask_zero=True)
        n_states = 2 if kind == "LSTM" else 1
        h0 = [keras.Input((3,)) for _ in range(n_states)]
        layer = getattr(keras.layers, kind)(3, return_sequences=True, return_state=True, go_backwards=True)
        seq, *states = layer(emb(inp), initial_state=h0)
        assert seq._keras_mask is not None and not hasattr(states[0], "_keras_mask")
        model = keras.Model([inp, *h0], states[-1])      # the model finds the layer through a state output
        assert [w.op.name.split("/")[0] for w in model.trainable_weights] == [emb.name] + [layer.name] * 3
        weights = random_weights(layer)
        layer.set_weights(weights)
        start = [R.normal(size=(3, 3)).astype(np.float32) for _ in range(n_states)]
        predicted = model.predict([ids, *start], verbose=0)
        got = keras.backend.get_session().run([seq, *states], {inp: ids, **dict(zip(h0, start))})
        np.testing.assert_array_equal(predicted, got[-1])
        x = emb.get_weights()[0][ids]
        want_seq, want_states = keras_loop(kind, x, weights, start, mask=ids != 0, go_backwards=True)
        np.testing.assert_allclose(got[0], want_seq, rtol=1e-5, atol=1e-6)
        for g, w in zip(got[1:], want_states):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(got[0][2], 0)         # a row masked throughout: zero output
        np.testing.assert_allclose(got[1][2], start[0][2], rtol=1e-6)    # ... and its initial state kept
        with pytest.raises(NotImplementedError, match=f"cannot save layer '{layer.name}': it was called with "
                                                      "initial_state"):
            keras.Model([inp, *h0], seq).save(str(tmp_path / f"{kind}.keras"))


def test_keras_explicit_mask_argument():
    x = R.normal(size=(2, 4, 3)).astype(np.float32)
    mask = np.array([[True, False, True, True], [False, False, True, False]])
    inp, mask_in = keras.Input((4, 3)), keras.Input((4,), dtype="bool")
    layer = keras.layers.GRU(2, return_sequences=True)
    seq = layer(inp, mask=mask_in)
    assert seq._keras_mask is mask_in
    weights = random_weights(layer)
    layer.set_weights(weights)
    got = keras.backend.get_session().run(seq, {inp: x, mask_in: mask})
    want, _ = keras_loop("GRU", x, weights, [np.zeros((2, 2), np.float32)], mask=mask)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_keras_last_output_and_sequential_training_reduces_loss():
    x = R.normal(size=(16, 6, 3)).astype(np.float32)
    y = x.sum(axis=(1, 2))[:, None] / 6
    model = keras.Sequential([keras.Input((6, 3)), keras.layers.GRU(8, return_sequences=True),
                              keras.layers.LSTM(4), keras.layers.Dense(1)])
    assert model.output_shape == (None, 1)
    model.compile(keras.optimizers.Adam(0.02), "mse")
    losses = model.fit(x, y, epochs=15, batch_size=8, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0]


def fd_check(sess, loss, feed, targets, h=1e-6):
    """tf.gradients of the scalar ``loss`` against float64 central differences, for every element of each
    target: a placeholder (fed from ``feed``) or a variable (loaded)."""
    grads = sess.run(tf.gradients(loss, targets), feed)
    for target, grad in zip(targets, grads):
        is_var = isinstance(target, tf.Variable)
        base = sess.run(target) if is_var else feed[target]
        fd = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            values = []
            for sign in (1, -1):
                moved = base.copy()
                moved[i] += sign * h
                if is_var:
                    target.load(moved, sess)
                    values.append(sess.run(loss, feed))
                else:
                    values.append(sess.run(loss, {**feed, target: moved}))
            fd[i] = (values[0] - values[1]) / (2 * h)
        if is_var:
            target.load(base, sess)
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kind,kwargs", [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False})])
def test_keras_gradients_against_central_differences(kind, kwargs):
    inp = keras.Input((3, 2), dtype="float64")
    layer = getattr(keras.layers, kind)(2, return_sequences=True, dtype="float64", **kwargs)
    out = layer(inp)
    c = tf.constant(R.normal(size=(2, 3, 2)))
    loss = tf.reduce_sum(out * c)
    sess = tf.Session()
    sess.run(tf.variables_initializer(layer.weights))
    for w in layer.weights:
        w.load(R.normal(scale=0.5, size=tuple(w.shape)), sess)
    fd_check(sess, loss, {inp: R.normal(size=(2, 3, 2))}, [inp, *layer.weights])


def test_keras_errors_name_layer_argument_and_values():
    with pytest.raises(NotImplementedError, match=r"LSTM: dropout=0\.2 .*expected 0\.0"):
        keras.layers.LSTM(3, dropout=0.2)
    with pytest.raises(NotImplementedError, match=r"GRU: recurrent_dropout=0\.1"):
        keras.layers.GRU(3, recurrent_dropout=0.1)
    with pytest.raises(NotImplementedError, match="SimpleRNN: stateful=True"):
        keras.layers.SimpleRNN(3, stateful=True)
    with pytest.raises(ValueError, match="SimpleRNN: .*`units`.*got 0"):
        keras.layers.SimpleRNN(0)
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        keras.layers.GRU(2)(keras.Input((3,)))
    with pytest.raises(ValueError, match=r"LSTM: initial_state must be 2 tensor\(s\) \(h, c\).*got 1"):
        keras.layers.LSTM(2)(keras.Input((4, 3)), initial_state=[keras.Input((2,))])
    with pytest.raises(ValueError, match=r"gru_1: each initial state must have shape \(batch, 2\), got \(None, 5\)"):
        keras.layers.GRU(2)(keras.Input((4, 3)), initial_state=keras.Input((5,)))


# ----- TF1 cells ---------------------------------------------------------------------------------------------------
def _session_weights(sess, cell):
    values = [R.normal(scale=0.5, size=tuple(v.shape)).astype(v.dtype.as_numpy_dtype if hasattr(
        v.dtype, "as_numpy_dtype") else np.float32) for v in cell.variables]
    for v, value in zip(cell.variables, values):
        v.load(value, sess)
    return values


@pytest.mark.parametrize("kind", ["BasicRNNCell", "BasicLSTMCell", "LSTMCell", "GRUCell"])
def test_tf1_cells_in_dynamic_rnn_match_numpy(kind):
    x = R.normal(size=(3, 4, 2)).astype(np.float32)
    ph = tf.placeholder(tf.float32, (None, 4, 2))
    cell = getattr(tf.nn.rnn_cell, kind)(3)
    outputs, state = tf.nn.dynamic_rnn(cell, ph, sequence_length=[4, 2, 0], dtype=tf.float32)
    names = {"BasicRNNCell": "basic_rnn_cell", "BasicLSTMCell": "basic_lstm_cell", "LSTMCell": "lstm_cell"}
    want_names = ([f"rnn/gru_cell/{p}/{k}" for p in ("gates", "candidate") for k in ("kernel", "bias")]
                  if kind == "GRUCell" else [f"rnn/{names[kind]}/kernel", f"rnn/{names[kind]}/bias"])
    assert [v.op.name for v in tf.trainable_variables()] == want_names
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    if kind == "GRUCell":       # TF1's gate bias starts at one
        np.testing.assert_array_equal(sess.run(cell.variables[1]), np.ones(6))
    weights = _session_weights(sess, cell)
    got_out, got_state = sess.run([outputs, state], {ph: x})
    zero = np.zeros((3, 3), np.float32)
    start = (zero, zero) if "LSTM" in kind else zero
    want_out, want_state = tf1_loop(kind, x, weights, start, lengths=[4, 2, 0])
    np.testing.assert_allclose(got_out, want_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_state, want_state, rtol=1e-5, atol=1e-6)
    if "LSTM" in kind:
        assert type(got_state).__name__ == "LSTMStateTuple" and got_state.c.shape == (3, 3)


def test_multi_cell_time_major_initial_state_and_static_rnn():
    x = R.normal(size=(5, 2, 3)).astype(np.float32)     # time-major
    ph = tf.placeholder(tf.float32, (5, None, 3))
    cells = [tf.nn.rnn_cell.BasicLSTMCell(4, forget_bias=0.5), tf.nn.rnn_cell.GRUCell(2)]
    multi = tf.nn.rnn_cell.MultiRNNCell(cells)
    assert multi.state_size == (tf.nn.rnn_cell.LSTMStateTuple(4, 4), 2) and multi.output_size == 2
    start = (tf.nn.rnn_cell.LSTMStateTuple(*[tf.constant(R.normal(size=(2, 4)).astype(np.float32))] * 2),
             tf.zeros((2, 2)))
    outputs, state = tf.nn.dynamic_rnn(multi, ph, initial_state=start, time_major=True)
    assert [v.op.name for v in tf.trainable_variables()][:2] == [
        "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel", "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias"]
    # static_rnn over the same steps, in its own scope, with the same cell objects: their variables reused
    static_out, static_state = tf.nn.static_rnn(multi, tf.unstack(ph), initial_state=start, scope="other")
    assert len(tf.trainable_variables()) == 6
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    lstm_w, gru_w = _session_weights(sess, cells[0]), _session_weights(sess, cells[1])
    got_out, got_state, got_static, got_static_state, start_v = sess.run(
        [outputs, state, static_out, static_state, start], {ph: x})
    lstm_out, lstm_state = tf1_loop("BasicLSTMCell", x.transpose(1, 0, 2), lstm_w, start_v[0], forget_bias=0.5)
    gru_out, gru_state = tf1_loop("GRUCell", lstm_out, gru_w, start_v[1])
    np.testing.assert_allclose(got_out, gru_out.transpose(1, 0, 2), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_state[0], lstm_state, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_state[1], gru_state, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.stack(got_static), got_out, rtol=1e-6)
    np.testing.assert_allclose(got_static_state[1], got_state[1], rtol=1e-6)


def test_state_not_tuple_and_contrib_alias():
    x = R.normal(size=(2, 3, 2)).astype(np.float32)
    cell = tf.contrib.rnn.BasicLSTMCell(3, state_is_tuple=False)
    assert tf.compat.v1.nn.rnn_cell.BasicLSTMCell is tf.contrib.rnn.BasicLSTMCell
    assert cell.state_size == 6
    outputs, state = tf.nn.dynamic_rnn(cell, tf.constant(x), initial_state=cell.zero_state(2, tf.float32))
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    weights = _session_weights(sess, cell)
    got_out, got_state = sess.run([outputs, state])
    zero = np.zeros((2, 3), np.float32)
    want_out, (c, h) = tf1_loop("BasicLSTMCell", x, weights, (zero, zero))
    np.testing.assert_allclose(got_out, want_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_state, np.concatenate([c, h], 1), rtol=1e-5, atol=1e-6)


def test_dropout_wrapper_drops_output_and_lstm_h_only():
    x = R.normal(size=(3, 4, 2)).astype(np.float32)
    cell = tf.nn.rnn_cell.BasicLSTMCell(5)
    tf.set_random_seed(3)
    bare, bare_state = tf.nn.dynamic_rnn(cell, tf.constant(x), dtype=tf.float32)
    kept, _ = tf.nn.dynamic_rnn(tf.nn.rnn_cell.DropoutWrapper(cell), tf.constant(x), dtype=tf.float32, scope="a")
    dropped, dropped_state = tf.nn.dynamic_rnn(tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=0.5),
                                               tf.constant(x), dtype=tf.float32, scope="b")
    one_step = tf.nn.dynamic_rnn(tf.nn.rnn_cell.DropoutWrapper(cell, state_keep_prob=0.5), tf.constant(x[:, :1]),
                                 dtype=tf.float32, scope="c")[1]
    assert len(tf.trainable_variables()) == 2       # the wrappers reuse the cell's variables
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    b, bs, k, d, ds, one = sess.run([bare, bare_state, kept, dropped, dropped_state, one_step])
    np.testing.assert_array_equal(k, b)             # keep_prob 1: the cell as it is
    zero = d == 0
    assert 0.2 < zero.mean() < 0.8 and len({m.tobytes() for m in zero.transpose(1, 0, 2)}) == 4   # new mask per step
    np.testing.assert_allclose(d[~zero], 2 * b[~zero], rtol=1e-6)       # inverted scaling
    np.testing.assert_array_equal(ds, bs)           # output dropout leaves the state alone
    c1, h1 = sess.run(tf.nn.dynamic_rnn(cell, tf.constant(x[:, :1]), dtype=tf.float32, scope="d")[1])
    np.testing.assert_array_equal(one.c, c1)        # state dropout: c kept, h dropped
    assert (one.h == 0).any()
    np.testing.assert_allclose(one.h[one.h != 0], 2 * h1[one.h != 0], rtol=1e-6)
    with pytest.raises(NotImplementedError, match="DropoutWrapper: variational_recurrent=True"):
        tf.nn.rnn_cell.DropoutWrapper(cell, variational_recurrent=True)
    with pytest.raises(ValueError, match="DropoutWrapper: Parameter input_keep_prob must be between 0 and 1: 0"):
        tf.nn.rnn_cell.DropoutWrapper(cell, input_keep_prob=0)


@pytest.mark.parametrize("kind", ["BasicRNNCell", "BasicLSTMCell", "GRUCell"])
def test_tf1_gradients_against_central_differences(kind):
    ph = tf.placeholder(tf.float64, (2, 3, 2))
    cell = getattr(tf.nn.rnn_cell, kind)(2)
    outputs, state = tf.nn.dynamic_rnn(cell, ph, sequence_length=[3, 2], dtype=tf.float64)
    last = state.c if "LSTM" in kind else state
    loss = tf.reduce_sum(outputs * tf.constant(R.normal(size=(2, 3, 2)))) + tf.reduce_sum(last * last)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    for v in cell.variables:
        v.load(R.normal(scale=0.5, size=tuple(v.shape)), sess)
    fd_check(sess, loss, {ph: R.normal(size=(2, 3, 2))}, [ph, *cell.variables])


def test_tf1_errors():
    ph = tf.placeholder(tf.float32, (None, 4, 3))
    with pytest.raises(ValueError, match="If there is no initial_state, you must give a dtype"):
        tf.nn.dynamic_rnn(tf.nn.rnn_cell.GRUCell(2), ph)
    with pytest.raises(NotImplementedError, match=r"LSTMCell: use_peepholes=True .*expected the default, False"):
        tf.nn.rnn_cell.LSTMCell(3, use_peepholes=True)
    with pytest.raises(NotImplementedError, match=r"LSTMCell: num_proj=2 .*expected the default, None"):
        tf.nn.rnn_cell.LSTMCell(3, num_proj=2)
    with pytest.raises(NotImplementedError, match="zero_state: batch_size must be a Python int"):
        tf.nn.rnn_cell.GRUCell(2).zero_state(tf.shape(ph)[0], tf.float32)
    # a second cell in the same scope meets TF1's variable-exists error
    tf.nn.dynamic_rnn(tf.nn.rnn_cell.GRUCell(2), ph, dtype=tf.float32)
    with pytest.raises(ValueError, match="Variable rnn/gru_cell/gates/kernel already exists"):
        tf.nn.dynamic_rnn(tf.nn.rnn_cell.GRUCell(2), ph, dtype=tf.float32)


def test_saving_a_model_whose_output_is_a_state_says_so(tmp_path):
    with tf.Graph().as_default():
        inp = tf.keras.Input((5, 3))
        _, h, _ = tf.keras.layers.LSTM(4, return_state=True)(inp)
        model = tf.keras.Model(inp, h)
        with pytest.raises(NotImplementedError, match="cannot save: the model's output .* is not its layer's main"):
            model.save(str(tmp_path / "m.keras"))
