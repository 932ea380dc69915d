"""Sparse gradients (embedding lookups) against TensorFlow 2.21: TF1's optimizers on ``IndexedSlices`` (the rows
looked up, TF's sparse kernels' arithmetic), its norms and clipping, and Keras 3's optimizers and clipping on its
TensorFlow backend.  Skipped without TensorFlow."""
import numpy as np
import pytest

import static_api as tf
from tests.helpers import assert_trains_as_keras

real = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.reference
R = np.random.default_rng(43)
TF1 = {
    "gradient_descent": lambda t: t.train.GradientDescentOptimizer(0.1),
    "momentum": lambda t: t.train.MomentumOptimizer(0.1, 0.9),
    "nesterov": lambda t: t.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True),
    "adam": lambda t: t.train.AdamOptimizer(0.1),
    "rmsprop": lambda t: t.train.RMSPropOptimizer(0.1),
    "rmsprop_momentum": lambda t: t.train.RMSPropOptimizer(0.1, momentum=0.9),
    "rmsprop_centered": lambda t: t.train.RMSPropOptimizer(0.1, momentum=0.5, centered=True),
    "adagrad": lambda t: t.train.AdagradOptimizer(0.1),
    "adadelta": lambda t: t.train.AdadeltaOptimizer(1.0),
}


def _tf1_train(t, make, dim, steps=6):
    """A float32 table (9 rows of ``dim``) trained through two lookups of repeated ids; each step's table."""
    rng = np.random.default_rng(dim)
    E0 = rng.normal(size=(9, dim)).astype(np.float32)
    ids = [rng.integers(0, 7, size=(2, 3)) for _ in range(steps)]      # rows 7 and 8 never looked up
    targets = [rng.normal(size=(2, 3, dim)).astype(np.float32) for _ in range(steps)]
    with t.Graph().as_default():
        E = t.Variable(E0)
        i = t.placeholder(t.int32, [2, 3])
        y = t.placeholder(t.float32, [2, 3, dim])
        loss = (t.reduce_sum(t.square(t.nn.embedding_lookup(E, i) - y))
                + t.reduce_sum(t.gather(E, i[:, :1])))
        step = make(t).minimize(loss)
        out = []
        with t.Session() as s:
            s.run(t.global_variables_initializer())
            for x, target in zip(ids, targets):
                s.run(step, {i: x, y: target})
                out.append(s.run(E))
    return out, E0


@pytest.mark.parametrize("case", sorted(TF1))
def test_tf1_optimizers_step_an_embedding_as_tf1(case):
    tf.reset_default_graph()
    ours, E0 = _tf1_train(tf, TF1[case], 3)
    theirs, _ = _tf1_train(real.compat.v1, TF1[case], 3)
    for a, b in zip(ours, theirs):
        if case == "adagrad":       # TF's Adagrad divides by an approximate root (its rsqrt), dense or sparse
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ours[-1][7:], E0[7:])


@pytest.mark.parametrize("case", ["rmsprop_momentum", "rmsprop_centered", "adadelta", "nesterov", "adam"])
def test_wide_rows_agree_within_tfs_approximate_roots(case):
    """A row of 19: TF's sparse RMSProp and Adadelta take an approximate reciprocal root over the first 16
    columns (8-wide vectors), exact ones in the last 3; the others are exact throughout."""
    tf.reset_default_graph()
    ours, _ = _tf1_train(tf, TF1[case], 19)
    theirs, _ = _tf1_train(real.compat.v1, TF1[case], 19)
    for a, b in zip(ours, theirs):
        if case in ("nesterov", "adam"):
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_array_equal(a[:, 16:], b[:, 16:])
            np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)


def _norms(t):
    rng = np.random.default_rng(5)
    E0 = rng.normal(size=(6, 4)).astype(np.float32)
    W0 = rng.normal(size=(4, 2)).astype(np.float32)
    with t.Graph().as_default():
        E, W = t.Variable(E0), t.Variable(W0)
        i = t.placeholder(t.int32, [5])
        loss = t.reduce_sum(t.tanh(t.matmul(t.nn.embedding_lookup(E, i), W)))
        g_e, g_w = t.gradients(loss, [E, W])
        clipped, norm = t.clip_by_global_norm([g_e, g_w], 0.5)
        by_norm = t.clip_by_norm(g_e, 0.3)
        with t.Session() as s:
            s.run(t.global_variables_initializer())
            got = s.run([t.global_norm([g_e, g_w]), norm, t.convert_to_tensor(clipped[0]), clipped[1],
                         t.convert_to_tensor(by_norm)], {i: [1, 1, 1, 4, 2]})
    return got


def test_norms_and_clipping_of_an_embedding_gradient_count_its_slices():
    tf.reset_default_graph()
    for a, b in zip(_norms(tf), _norms(real.compat.v1)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# ----- Keras 3 on its TensorFlow backend ------------------------------------------------------------------------
KERAS = {
    "adam": lambda k: k.optimizers.Adam(0.05),
    "adam_amsgrad": lambda k: k.optimizers.Adam(0.05, amsgrad=True),
    "adamw": lambda k: k.optimizers.AdamW(0.05),
    "rmsprop": lambda k: k.optimizers.RMSprop(0.01),
    "rmsprop_centered_momentum": lambda k: k.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adagrad": lambda k: k.optimizers.Adagrad(0.1),
    "adadelta": lambda k: k.optimizers.Adadelta(1.0),
    "adamax": lambda k: k.optimizers.Adamax(0.05),
    "nadam": lambda k: k.optimizers.Nadam(0.05),
    "sgd_nesterov": lambda k: k.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adam_clipnorm": lambda k: k.optimizers.Adam(0.05, clipnorm=0.1),
    "adam_global_clipnorm": lambda k: k.optimizers.Adam(0.05, global_clipnorm=0.1),
    "adam_clipvalue": lambda k: k.optimizers.Adam(0.05, clipvalue=0.01),
    "sgd_clipnorm": lambda k: k.optimizers.SGD(0.05, clipnorm=0.01),
    "sgd_global_clipnorm": lambda k: k.optimizers.SGD(0.05, global_clipnorm=0.01),
}


@pytest.mark.parametrize("case", sorted(KERAS))
def test_keras_optimizers_step_an_embedding_as_keras(case):
    x = R.integers(0, 6, size=(32, 5)).astype(np.int32)    # 6 ids in rows of 5: most batches repeat some
    y = R.normal(size=(32, 1)).astype(np.float32)

    def build(keras):
        return keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.Embedding(8, 3),
                                 keras.layers.Flatten(), keras.layers.Dense(1)])
    # Keras' steps are not all bitwise TF's kernels (its sums run multi-threaded; Adadelta's squared delta is
    # formed per row here): within float32 rounding, which two epochs of adaptive steps amplify
    assert_trains_as_keras(build, KERAS[case], "mse", x, y, rtol=1e-5, atol=1e-6)


def _ptb_program(t, cells, make, steps=8):
    """The PTB language model's training step, small: an embedding lookup, a BasicLSTMCell unrolled by
    dynamic_rnn, a softmax, gradients clipped by their global norm; the losses and the trained variables."""
    V, H, B, T = 30, 8, 4, 6
    data = np.random.default_rng(0).integers(0, V, size=(steps, B, T + 1))
    with t.Graph().as_default():
        x = t.placeholder(t.int32, [B, T])
        y = t.placeholder(t.int32, [B, T])
        emb = t.get_variable("embedding", [V, H], dtype=t.float32)
        cell = cells.BasicLSTMCell(H, forget_bias=0.0)
        outputs, _ = t.nn.dynamic_rnn(cell, t.nn.embedding_lookup(emb, x), initial_state=cell.zero_state(B, t.float32))
        w = t.get_variable("softmax_w", [H, V], dtype=t.float32)
        b = t.get_variable("softmax_b", [V], dtype=t.float32)
        logits = t.matmul(t.reshape(outputs, [-1, H]), w) + b
        loss = t.reduce_sum(t.nn.sparse_softmax_cross_entropy_with_logits(labels=t.reshape(y, [-1]), logits=logits)) / B
        tvars = t.trainable_variables()
        grads, _ = t.clip_by_global_norm(t.gradients(loss, tvars), 0.5)
        train = make(t).apply_gradients(zip(grads, tvars))
        with t.Session() as s:
            s.run(t.global_variables_initializer())
            for k, v in enumerate(tvars):
                s.run(v.assign(np.random.default_rng(k).uniform(-0.1, 0.1, [int(d) for d in v.shape]).astype(np.float32)))
            losses = [s.run([loss, train], {x: d[:, :-1], y: d[:, 1:]})[0] for d in data]
            return losses, {v.op.name: s.run(v) for v in tvars}


@pytest.mark.parametrize("case", ["momentum", "rmsprop_momentum", "adam"])
def test_a_ptb_style_language_model_trains_as_tf1(case):
    from tensorflow.python.ops import rnn_cell_impl
    tf.reset_default_graph()
    ours = _ptb_program(tf, tf.nn.rnn_cell, TF1[case])
    theirs = _ptb_program(real.compat.v1, rnn_cell_impl, TF1[case])
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5)
    assert ours[1].keys() == theirs[1].keys()
    for k in ours[1]:       # Adam's m / sqrt(v) amplifies a near-zero gradient's rounding: an absolute bound
        np.testing.assert_allclose(ours[1][k], theirs[1][k], rtol=1e-5, atol=1e-5, err_msg=k)
