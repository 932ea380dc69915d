"""Keras' wrappers in the static frontend: Bidirectional and TimeDistributed.  Each against NumPy (the recurrent
loops of tests/test_static_rnn.py, a Dense per step), gradients against float64 central differences (parity with
Keras 3 is in tests/test_reference_keras_wrappers.py)."""
import numpy as np
import pytest

import static_api as tf
from tests.test_static_rnn import fd_check, keras_loop, random_weights

keras = tf.keras
R = np.random.default_rng(11)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _run(tensors, feed):
    return keras.backend.get_session().run(tensors, feed)


def _bidirectional_numpy(kind, x, weights, starts, mask, return_sequences):
    """Keras 3's Bidirectional from two NumPy loops: the forward one, and the backward one flipped back into time
    order; with return_sequences, masked steps zero (the copies' zero_output_for_mask)."""
    half = len(weights) // 2
    seq, states = keras_loop(kind, x, weights[:half], starts[:len(starts) // 2], mask=mask)
    seq_rev, states_rev = keras_loop(kind, x, weights[half:], starts[len(starts) // 2:], mask=mask,
                                     go_backwards=True)
    if not return_sequences:
        return seq[:, -1], seq_rev[:, -1], states + states_rev
    seq_rev = seq_rev[:, ::-1]
    if mask is not None:
        seq, seq_rev = seq * mask[..., None], seq_rev * mask[..., None]
    return seq, seq_rev, states + states_rev


MERGES = {"concat": lambda a, b: np.concatenate([a, b], -1), "sum": np.add, "mul": np.multiply,
          "ave": lambda a, b: (a + b) / 2}


@pytest.mark.parametrize("kind,merge_mode,return_sequences", [
    ("LSTM", "concat", True), ("GRU", "sum", True), ("SimpleRNN", "mul", False), ("LSTM", "ave", False),
    ("GRU", None, True)])
def test_bidirectional_matches_two_numpy_loops_with_mask_and_states(kind, merge_mode, return_sequences):
    ids = np.array([[3, 1, 4, 0, 0], [2, 0, 5, 9, 7], [0, 0, 0, 0, 0]], np.int32)
    inp = keras.Input((5,), dtype="int32")
    emb = keras.layers.Embedding(10, 2, mask_zero=True)
    layer = keras.layers.Bidirectional(getattr(keras.layers, kind)(3, return_sequences=return_sequences,
                                                                   return_state=True), merge_mode=merge_mode)
    n_states = 2 if kind == "LSTM" else 1
    starts = [keras.Input((3,)) for _ in range(2 * n_states)]
    outputs = layer(emb(inp), initial_state=starts)
    assert len(outputs) == (2 if merge_mode is None else 1) + 2 * n_states
    weights = random_weights(layer)
    layer.set_weights(weights)
    start_values = [R.normal(size=(3, 3)).astype(np.float32) for _ in starts]
    x = emb.get_weights()[0][ids]
    got = _run(outputs, {inp: ids, **dict(zip(starts, start_values))})
    seq, seq_rev, states = _bidirectional_numpy(kind, x, weights, start_values, ids != 0, return_sequences)
    want = [seq, seq_rev] if merge_mode is None else [MERGES[merge_mode](seq, seq_rev)]
    for g, w in zip(got, want + states):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    if return_sequences:      # the mask travels on with the sequences
        assert all(o._keras_mask is not None for o in outputs[:len(want)])
    else:
        assert not hasattr(outputs[0], "_keras_mask")
    if return_sequences:
        assert (got[0][2] == 0).all()       # a row masked throughout: zeros (Keras' zero_output_for_mask)


def test_bidirectional_weights_copies_and_backward_layer():
    inner = keras.layers.LSTM(4)
    layer = keras.layers.Bidirectional(inner)
    out = layer(keras.Input((6, 3)))
    assert tuple(out.shape) == (None, 8)
    assert (layer.forward_layer.name, layer.backward_layer.name) == ("forward_lstm", "backward_lstm")
    assert inner.name == "lstm" and not inner.built     # the wrapped layer itself is only copied, as in Keras
    assert [w.op.name for w in layer.weights] == [f"bidirectional/{d}_lstm/lstm_cell/{n}"
                                                 for d in ("forward", "backward")
                                                 for n in ("kernel", "recurrent_kernel", "bias")]
    assert (layer.forward_layer.go_backwards, layer.backward_layer.go_backwards) == (False, True)
    # the two directions start from different weights, each LSTM's forget-gate bias at one
    forward, backward = layer.get_weights()[:3], layer.get_weights()[3:]
    assert not np.allclose(forward[0], backward[0])
    np.testing.assert_array_equal(forward[2], np.r_[np.zeros(4), np.ones(4), np.zeros(8)])
    after = keras.layers.LSTM(2)
    after(keras.Input((2, 1)))
    assert after.name == "lstm_1"       # the copies' names take no number from the LSTMs
    # a backward layer of another class (a GRU), given
    back = keras.layers.GRU(2, go_backwards=True, name="my_gru")
    mixed = keras.layers.Bidirectional(keras.layers.SimpleRNN(3), backward_layer=back, merge_mode="concat")
    xin = keras.Input((4, 2))
    y = mixed(xin)
    assert tuple(y.shape) == (None, 5) and mixed.backward_layer is back
    assert [w.op.name for w in mixed.weights][-1] == "bidirectional_1/my_gru/gru_cell/bias"
    x = R.normal(size=(2, 4, 2)).astype(np.float32)
    weights = random_weights(mixed)
    mixed.set_weights(weights)
    got = _run(y, {xin: x})
    fwd, _ = keras_loop("SimpleRNN", x, weights[:3], [np.zeros((2, 3), np.float32)])
    bwd, _ = keras_loop("GRU", x, weights[3:], [np.zeros((2, 2), np.float32)], go_backwards=True)
    np.testing.assert_allclose(got, np.concatenate([fwd[:, -1], bwd[:, -1]], -1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_bidirectional_gradients_against_central_differences(kind):
    inp = keras.Input((3, 2), dtype="float64")
    layer = keras.layers.Bidirectional(getattr(keras.layers, kind)(2, return_sequences=True, dtype="float64"),
                                       dtype="float64")
    loss = tf.reduce_sum(layer(inp) * tf.constant(R.normal(size=(2, 3, 4))))
    sess = tf.Session()
    sess.run(tf.variables_initializer(layer.weights))
    for w in layer.weights:
        w.load(R.normal(scale=0.5, size=tuple(w.shape)), sess)
    fd_check(sess, loss, {inp: R.normal(size=(2, 3, 2))}, [inp, *layer.weights])


def test_time_distributed_dense_per_step_shared_weights_and_mask():
    ids = np.array([[3, 1, 0], [0, 2, 5]], np.int32)
    inp = keras.Input((3,), dtype="int32")
    emb = keras.layers.Embedding(6, 4, mask_zero=True)
    dense = keras.layers.Dense(2, activation="tanh")
    layer = keras.layers.TimeDistributed(dense)
    y = layer(emb(inp))
    assert tuple(y.shape) == (None, 3, 2)
    assert y._keras_mask is not None        # handed on, as Keras 3 (supports_masking)
    assert [w.op.name for w in layer.weights] == ["time_distributed/dense/kernel", "time_distributed/dense/bias"]
    assert dense.weights == layer.weights       # one set of weights for every step
    kernel, bias = layer.get_weights()
    table = emb.get_weights()[0]
    got, mask = _run([y, y._keras_mask], {inp: ids})
    np.testing.assert_array_equal(mask, ids != 0)
    np.testing.assert_allclose(got, np.tanh(table[ids] @ kernel + bias), rtol=1e-6, atol=1e-6)


def test_time_distributed_of_a_recurrent_layer_and_gradients():
    inp = keras.Input((2, 3, 2), dtype="float64")
    layer = keras.layers.TimeDistributed(keras.layers.GRU(2, dtype="float64"), dtype="float64")
    y = layer(inp)
    assert tuple(y.shape) == (None, 2, 2)
    assert [w.op.name for w in layer.weights][0] == "time_distributed/gru/gru_cell/kernel"
    sess = tf.Session()
    sess.run(tf.variables_initializer(layer.weights))
    weights = [R.normal(scale=0.5, size=tuple(w.shape)) for w in layer.weights]
    for w, value in zip(layer.weights, weights):
        w.load(value, sess)
    x = R.normal(size=(2, 2, 3, 2))
    got = sess.run(y, {inp: x})
    for t in range(2):
        seq, _ = keras_loop("GRU", x[:, t], weights, [np.zeros((2, 2))])
        np.testing.assert_allclose(got[:, t], seq[:, -1], rtol=1e-12)
    fd_check(sess, tf.reduce_sum(y * tf.constant(R.normal(size=(2, 2, 2)))), {inp: x}, [inp, *layer.weights])


def test_wrappers_in_sequential_train_and_freeze():
    x = R.normal(size=(16, 5, 3)).astype(np.float32)
    y = x.sum(-1, keepdims=True)
    model = keras.Sequential([keras.Input((5, 3)),
                              keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True)),
                              keras.layers.TimeDistributed(keras.layers.Dense(1))])
    assert model.output_shape == (None, 5, 1)
    assert len(model.trainable_weights) == 8
    model.compile(keras.optimizers.Adam(0.03), "mse")
    losses = model.fit(x, y, epochs=20, batch_size=8, verbose=0).history["loss"]
    assert losses[-1] < 0.3 * losses[0]
    model.layers[0].trainable = False
    assert len(model.trainable_weights) == 2 and not model.layers[0].forward_layer.trainable
    frozen = model.layers[0].get_weights()
    model.compile(keras.optimizers.Adam(0.03), "mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(frozen, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_wrapper_regularizers_count_in_the_model_losses():
    inp = keras.Input((3, 2))
    out = keras.layers.Bidirectional(keras.layers.SimpleRNN(2, kernel_regularizer=keras.regularizers.L2(0.5)))(inp)
    model = keras.Model(inp, keras.layers.TimeDistributed(
        keras.layers.Dense(2, kernel_regularizer=keras.regularizers.L1(0.1)))(keras.layers.RepeatVector(2)(out)))
    assert len(model.losses) == 3
    k_fwd, _, _, k_bwd, _, _, k_dense, _ = model.get_weights()
    got = _run(tf.add_n(model.losses), {})
    np.testing.assert_allclose(got, 0.5 * (k_fwd ** 2).sum() + 0.5 * (k_bwd ** 2).sum() + 0.1 * abs(k_dense).sum(),
                               rtol=1e-5)


def test_wrapper_errors_name_layer_argument_and_values(tmp_path):
    with pytest.raises(ValueError, match="Invalid merge mode. Received: max"):
        keras.layers.Bidirectional(keras.layers.LSTM(2), merge_mode="max")
    with pytest.raises(TypeError, match="Bidirectional: `layer` must be a recurrent layer .*got Dense"):
        keras.layers.Bidirectional(keras.layers.Dense(2))
    with pytest.raises(ValueError, match="Please initialize `Bidirectional` layer with a `keras.layers.Layer`"):
        keras.layers.Bidirectional("lstm")
    with pytest.raises(ValueError, match="different `go_backwards` value.*False.*False"):
        keras.layers.Bidirectional(keras.layers.LSTM(2), backward_layer=keras.layers.LSTM(2))
    with pytest.raises(ValueError, match='"return_sequences", got "False" for forward layer and "True"'):
        keras.layers.Bidirectional(keras.layers.LSTM(2), backward_layer=keras.layers.LSTM(
            2, go_backwards=True, return_sequences=True))
    with pytest.raises(ValueError, match=r"initial_state must be 4 tensors .*got 2"):
        keras.layers.Bidirectional(keras.layers.LSTM(2))(keras.Input((3, 1)), initial_state=[keras.Input((2,))] * 2)
    with pytest.raises(ValueError, match="Please initialize `TimeDistributed` layer .* Received: 3"):
        keras.layers.TimeDistributed(3)
    with pytest.raises(ValueError, match=r"at least 3 dimensions, received: \(None, 3\)"):
        keras.layers.TimeDistributed(keras.layers.Dense(2))(keras.Input((3,)))
    # an unknown number of steps runs as a loop (tests/test_static_rnn_unknown_steps.py)
    steps = keras.layers.TimeDistributed(keras.layers.Dense(2))(keras.Input((None, 3)))
    assert steps.shape.as_list() == [None, None, 2]
    with pytest.raises(NotImplementedError, match="time_distributed_2: wrapping 'batch_normalization'"):
        keras.layers.TimeDistributed(keras.layers.BatchNormalization())(keras.Input((2, 3)))
    inp = keras.Input((3, 2))
    model = keras.Model(inp, keras.layers.Bidirectional(keras.layers.GRU(2))(inp))
    with pytest.raises(NotImplementedError, match=r"cannot save layer 'bidirectional' \(Bidirectional\)"):
        model.save(str(tmp_path / "m.keras"))
    model.save_weights(str(tmp_path / "w.npz"))       # weights still save and load
    before = model.get_weights()
    model.set_weights([w * 0 for w in before])
    model.load_weights(str(tmp_path / "w.npz"))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
