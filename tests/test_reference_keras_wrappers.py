"""Parity of the static frontend's Bidirectional and TimeDistributed with Keras 3 on TF 2.21: weights copied across,
then names, outputs, states, masks, gradients and training steps compared.  Skipped without TensorFlow."""
import numpy as np
import pytest

import static_api as tf
from tests.helpers import assert_trains_as_keras

real = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.reference
R = np.random.default_rng(29)


@pytest.fixture(autouse=True)
def fresh_graphs():
    tf.reset_default_graph()
    real.keras.backend.clear_session()      # Keras' auto names start again, as dualflow's in a new graph
    yield


def _bidirectional(keras, kind, kwargs, merge_mode):
    return keras.layers.Bidirectional(getattr(keras.layers, kind)(3, return_state=True, **kwargs),
                                      merge_mode=merge_mode)


def _outputs(keras, kind, kwargs, merge_mode, table, ids, start, weights=None):
    """The wrapper's outputs and the gradients of sum(output_k * c_k) over them with respect to its weights and the
    embedding table, in dualflow (weights random) or real Keras (``weights``); also the weights' names."""
    emb = keras.layers.Embedding(10, 2, mask_zero=True)
    layer = _bidirectional(keras, kind, kwargs, merge_mode)
    cs = {}

    def loss_of(outputs, reduce_sum):
        total = 0
        for k, out in enumerate(outputs):
            shape = tuple(ids.shape[:1]) + tuple(out.shape[1:])
            cs.setdefault(k, np.linspace(-1, 1, int(np.prod(shape))).reshape(shape).astype(np.float32))
            total = total + reduce_sum(out * cs[k])
        return total
    if keras is tf.keras:
        inp = keras.Input((ids.shape[1],), dtype="int32")
        h0 = [keras.Input((3,)) for _ in start]
        outputs = layer(emb(inp), initial_state=h0 or None)
        emb.set_weights([table])
        layer.set_weights([R.normal(scale=0.5, size=tuple(w.shape)).astype(np.float32) for w in layer.weights])
        grads = tf.gradients(loss_of(outputs, tf.reduce_sum), layer.weights + [emb.embeddings])
        names = [w.op.name for w in layer.weights]
        return names, layer.get_weights(), keras.backend.get_session().run(
            [*outputs, *grads], {inp: ids, **dict(zip(h0, start))})
    emb.build((None, ids.shape[1]))
    emb.set_weights([table])
    layer.build((None, ids.shape[1], 2))
    layer.set_weights(weights)
    with real.GradientTape() as tape:
        outputs = layer(emb(ids), mask=emb.compute_mask(ids),
                        initial_state=[real.constant(s) for s in start] or None)
        loss = loss_of(outputs, real.reduce_sum)
    grads = tape.gradient(loss, layer.trainable_weights + [emb.embeddings])
    names = [w.path for w in layer.weights]
    return names, weights, [t.numpy() for t in outputs] + [real.convert_to_tensor(g).numpy() for g in grads]


@pytest.mark.parametrize("kind,kwargs,merge_mode,with_start", [
    ("LSTM", {"return_sequences": True}, "concat", True), ("GRU", {"return_sequences": True}, None, False),
    ("SimpleRNN", {}, "sum", True), ("GRU", {"reset_after": False}, "mul", False),
    ("LSTM", {"return_sequences": True, "use_bias": False}, "ave", False)])
def test_bidirectional_values_states_and_gradients_as_keras(kind, kwargs, merge_mode, with_start):
    table = R.normal(size=(10, 2)).astype(np.float32)
    ids = np.array([[3, 1, 4, 0, 0], [2, 0, 5, 9, 7], [0, 0, 0, 0, 0]], np.int32)    # gaps, full, all masked
    n_states = 2 * (2 if kind == "LSTM" else 1)
    start = [R.normal(size=(3, 3)).astype(np.float32) for _ in range(n_states if with_start else 0)]
    names, weights, ours = _outputs(tf.keras, kind, kwargs, merge_mode, table, ids, start)
    want_names, _, theirs = _outputs(real.keras, kind, kwargs, merge_mode, table, ids, start, weights)
    assert names == want_names
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_names_shapes_and_masks_as_keras():
    found = []
    for keras in (tf.keras, real.keras):
        ids = keras.Input((5,), dtype="int32")
        embedded = keras.layers.Embedding(10, 3, mask_zero=True)(ids)
        bi = keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True))
        td = keras.layers.TimeDistributed(keras.layers.Dense(2))
        seq = bi(embedded)
        out = td(seq)
        last = keras.layers.Bidirectional(keras.layers.LSTM(2))(seq)
        model = keras.Model(ids, [out, last] if keras is real.keras else out)
        names = [w.op.name if keras is tf.keras else w.path for w in model.weights]
        masks = [getattr(t, "_keras_mask", None) is not None for t in (seq, out, last)]
        found.append((names, [tuple(t.shape) for t in (seq, out, last)], masks,
                      (bi.forward_layer.name, bi.backward_layer.name, td.layer.name)))
    ours, theirs = found
    assert ours[0] == theirs[0][:len(ours[0])]      # the dualflow model stops at the TimeDistributed
    assert ours[1:] == theirs[1:]


def test_time_distributed_values_and_gradients_as_keras():
    """A TimeDistributed Dense and a TimeDistributed LSTM over (batch, steps, ...) inputs."""
    x = R.normal(size=(3, 4, 5, 2)).astype(np.float32)
    results = []
    for keras in (tf.keras, real.keras):
        dense = keras.layers.TimeDistributed(keras.layers.Dense(3, activation="tanh"))
        lstm = keras.layers.TimeDistributed(keras.layers.LSTM(2))
        c = np.linspace(-1, 1, 3 * 4 * 5 * 3).reshape(3, 4, 5, 3).astype(np.float32)
        if keras is tf.keras:
            inp = keras.Input((4, 5, 2))
            y = dense(inp)
            z = lstm(inp)
            start = [R.normal(scale=0.5, size=tuple(w.shape)).astype(np.float32) for w in dense.weights + lstm.weights]
            dense.set_weights(start[:2])
            lstm.set_weights(start[2:])
            loss = tf.reduce_sum(y * c) + tf.reduce_sum(z ** 2)
            grads = tf.gradients(loss, dense.weights + lstm.weights + [inp])
            results.append(keras.backend.get_session().run([y, z, *grads], {inp: x}))
            continue
        dense.build((None, 4, 5, 2))
        lstm.build((None, 4, 5, 2))
        dense.set_weights(start[:2])
        lstm.set_weights(start[2:])
        xt = real.constant(x)
        with real.GradientTape() as tape:
            tape.watch(xt)
            y, z = dense(xt), lstm(xt)
            loss = real.reduce_sum(y * c) + real.reduce_sum(z ** 2)
        grads = tape.gradient(loss, dense.trainable_weights + lstm.trainable_weights + [xt])
        results.append([y.numpy(), z.numpy()] + [g.numpy() for g in grads])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_bidirectional_weights_argument_ignored_as_keras():
    """Keras 3 hands ``weights`` to the copies as initial_weights, which nothing reads."""
    given = [np.full(s, 0.25, np.float32) for s in [(2, 2), (2, 2), (2,)] * 2]
    for keras in (tf.keras, real.keras):
        layer = keras.layers.Bidirectional(keras.layers.SimpleRNN(2), weights=given)
        layer(keras.Input((3, 2)))
        assert not any(np.array_equal(w, g) for w, g in zip(layer.get_weights(), given))


def test_masked_wrappers_train_as_keras():
    """Embedding's mask through Bidirectional(return_sequences), TimeDistributed and a last Bidirectional."""
    ids = R.integers(1, 20, size=(16, 5)).astype(np.int32)
    ids[::2, 3:] = 0        # padded rows
    y = (ids.sum(1) % 2).astype(np.float32)[:, None]

    def build(keras):
        return keras.Sequential([
            keras.Input((5,), dtype="int32"), keras.layers.Embedding(20, 4, mask_zero=True),
            keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True), merge_mode="sum"),
            keras.layers.TimeDistributed(keras.layers.Dense(3, activation="tanh")),
            keras.layers.Bidirectional(keras.layers.GRU(2)), keras.layers.Dense(1, activation="sigmoid")])
    assert_trains_as_keras(build, lambda keras: keras.optimizers.Adam(0.01), "binary_crossentropy", ids, y,
                           predict=4, metrics=["accuracy"])


@pytest.mark.parametrize("make", [
    lambda k: k.layers.Bidirectional(k.layers.LSTM(2), merge_mode="max"),
    lambda k: k.layers.Bidirectional(k.layers.Dense(2)),
    lambda k: k.layers.Bidirectional(k.layers.LSTM(2), backward_layer=k.layers.LSTM(2)),
    lambda k: k.layers.Bidirectional(k.layers.LSTM(2, go_backwards=True)),
    lambda k: k.layers.TimeDistributed(3),
    lambda k: k.layers.TimeDistributed(k.layers.Dense(2))(k.Input((3,)))])
def test_errors_where_keras_raises(make):
    raised = []
    for keras in (tf.keras, real.keras):
        with pytest.raises((ValueError, TypeError)) as info:
            make(keras)
        raised.append(info.type)
    assert raised[0] is raised[1]


def test_freezing_counts_as_keras():
    """Which weights train when the wrapper, or the layer inside it, is frozen."""
    counts = []
    for keras in (tf.keras, real.keras):
        frozen_inside = keras.layers.TimeDistributed(keras.layers.Dense(2, trainable=False))
        frozen_wrapper = keras.layers.Bidirectional(keras.layers.GRU(2), trainable=False)
        thawed = keras.layers.Bidirectional(keras.layers.LSTM(2))
        inp = keras.Input((3, 2))
        frozen_inside(inp), frozen_wrapper(inp), thawed(inp)
        thawed.trainable = False
        thawed.trainable = True
        counts.append([(len(lay.trainable_weights), len(lay.non_trainable_weights))
                       for lay in (frozen_inside, frozen_wrapper, thawed)])
        thawed.trainable = False
        counts[-1].append((len(thawed.trainable_weights), thawed.forward_layer.trainable))
    assert counts[0] == counts[1]
