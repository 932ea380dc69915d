"""The static (TF1-style) frontend: graphs, sessions, symbolic gradients, optimizers, Saver, errors."""
import collections
import os

import numpy as np
import pytest

import static_api as tf


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _numeric_grad(sess, loss, var_or_ph, value, feed, eps=1e-6):
    """Central differences of a float64 graph w.r.t. a fed placeholder."""
    out = np.zeros_like(value)
    for j in range(value.size):
        v = value.copy()
        v.flat[j] += eps
        hi = sess.run(loss, {**feed, var_or_ph: v})
        v.flat[j] -= 2 * eps
        lo = sess.run(loss, {**feed, var_or_ph: v})
        out.flat[j] = (hi - lo) / (2 * eps)
    return out


R = np.random.default_rng(3)
CASES = {
    "matmul_bias_relu": (lambda x, w: tf.nn.relu(tf.matmul(x, w) + 0.1), [(3, 4), (4, 5)]),
    "conv2d_same_s2": (lambda x, w: tf.nn.conv2d(x, w, strides=2, padding="SAME"), [(2, 7, 6, 3), (3, 3, 3, 4)]),
    "conv2d_valid_dilated": (lambda x, w: tf.nn.conv2d(x, w, [1, 1, 1, 1], "VALID", dilations=2),
                             [(1, 7, 7, 2), (2, 3, 2, 3)]),
    "conv2d_nchw": (lambda x, w: tf.nn.conv2d(x, w, 1, "SAME", data_format="NCHW"), [(2, 3, 5, 5), (3, 3, 3, 2)]),
    "max_pool_same": (lambda x, w: tf.nn.max_pool2d(x * w, 3, 2, "SAME"), [(2, 7, 5, 3), (3,)]),
    "avg_pool_same": (lambda x, w: tf.nn.avg_pool2d(x * w, 2, 2, "SAME"), [(2, 5, 5, 3), (3,)]),
    "sparse_xent": (lambda x, w: tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.constant([0, 2, 1], tf.int64), logits=tf.matmul(x, w))), [(3, 4), (4, 3)]),
    "dense_xent": (lambda x, w: tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(
        labels=tf.nn.softmax(w), logits=x)), [(3, 4), (3, 4)]),
    "reductions": (lambda x, w: tf.reduce_max(x, axis=1) * tf.reduce_sum(w) + tf.reduce_mean(x * x), [(3, 4), (2,)]),
    "shapes": (lambda x, w: tf.concat([tf.reshape(tf.transpose(x), (-1, 2)), tf.reshape(w, (-1, 2))], 0),
               [(3, 4), (2, 2)]),
    "activations": (lambda x, w: tf.nn.sigmoid(x) * tf.nn.tanh(w) + tf.nn.log_softmax(x) + tf.nn.softmax(w),
                    [(2, 3), (2, 3)]),
    "bias_add_divide": (lambda x, w: tf.divide(tf.nn.bias_add(x, w), 2.0 + tf.square(x)), [(2, 3), (3,)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_symbolic_gradients_match_finite_differences(name):
    fn, shapes = CASES[name]
    vals = [np.random.default_rng(i).permutation(np.prod(s)).reshape(s) / np.prod(s) - 0.3 for i, s in
            enumerate(shapes)]
    phs = [tf.placeholder(tf.float64, s) for s in shapes]
    y = fn(*phs)
    c = tf.constant(R.normal(size=y.shape.as_list()))
    loss = tf.reduce_sum(y * c)
    grads = tf.gradients(loss, phs)
    feed = dict(zip(phs, vals))
    with tf.Session() as sess:
        got = sess.run(grads, feed)
        for ph, v, g in zip(phs, vals, got):
            np.testing.assert_allclose(g, _numeric_grad(sess, loss, ph, v, feed), rtol=1e-4, atol=1e-6)


def test_gradients_none_for_unconnected_and_stop_gradient():
    x = tf.placeholder(tf.float32, (2,))
    z = tf.placeholder(tf.float32, (2,))
    y = tf.reduce_sum(x * tf.stop_gradient(x))
    gx, gz = tf.gradients(y, [x, z])
    assert gz is None
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(gx, {x: [1.0, 3.0]}), [1.0, 3.0])


def test_names_scopes_and_lookup():
    with tf.name_scope("layer"):
        a = tf.constant(1.0, name="conv")
        b = tf.constant(2.0, name="conv")
    g = tf.get_default_graph()
    assert a.name == "layer/conv:0" and b.name == "layer/conv_1:0"
    assert g.get_tensor_by_name("layer/conv_1:0") is b and g.get_operation_by_name("layer/conv").type == "Const"
    c = tf.add(a, b, name="sum")
    assert c.op.name == "sum" and [t.name for t in c.op.inputs] == ["layer/conv:0", "layer/conv_1:0"]
    g.finalize()
    with pytest.raises(RuntimeError, match="finalized"):
        tf.constant(3.0)


def test_nested_fetches_and_plan_reuse():
    x = tf.placeholder(tf.float32, (None, 2), name="x")
    y = x * 2.0
    s = tf.reduce_sum(y)
    Pair = collections.namedtuple("Pair", "a b")
    with tf.Session() as sess:
        out = sess.run({"p": Pair(y, [s, (s,)]), "op": tf.no_op()}, {"x:0": [[1.0, 2.0]]})
        assert isinstance(out["p"], Pair) and out["op"] is None
        np.testing.assert_allclose(out["p"].a, [[2.0, 4.0]])
        assert out["p"].b[0] == 6.0 and out["p"].b[1] == (6.0,)
        assert sess.plan_builds == 1
        sess.run({"p": Pair(y, [s, (s,)]), "op": tf.no_op(name="other")}, {x: [[0.0, 1.0]]})
        builds = sess.plan_builds
        sess.run(s, {x: [[1.0, 1.0]]})
        sess.run(s, {x: [[5.0, 1.0]]})
        assert sess.plan_builds == builds + 1


def test_a_repeated_run_reuses_its_resolution_and_still_checks_everything():
    # Session.run remembers the last fetches and feed keys it resolved (a training loop asks the same every
    # step): the same elements and keys again reuse that; any other structure, element or key set resolves anew.
    x = tf.placeholder(tf.float32, (None, 2), name="x")
    z = tf.placeholder(tf.float32, (), name="z")
    y = x * 2.0
    s = tf.reduce_sum(y)
    sz = s + z
    with tf.Session() as sess:
        resolves = []
        real = sess._resolve
        sess._resolve = lambda *a: resolves.append(1) or real(*a)
        for v in ([[1.0, 2.0]], [[3.0, 4.0], [5.0, 6.0]]):
            out = sess.run([s, y], {x: v})
            assert isinstance(out, list) and out[0] == 2.0 * np.sum(v)
            np.testing.assert_array_equal(out[1], 2.0 * np.asarray(v, np.float32))
        assert len(resolves) == 1
        assert sess.run(s, {x: [[1.0, 1.0]]}) == 4.0                  # one element, not a list of one
        assert sess.run((s,), {x: [[1.0, 1.0]]}) == (4.0,)            # a tuple, not a list
        assert sess.run([s], {x: [[1.0, 1.0]]}) == [4.0]
        assert sess.run([s], {x: [[1.0, 1.0]]}) == [4.0]
        assert len(resolves) == 4
        with pytest.raises(ValueError, match="Cannot feed value of shape"):      # checked at every run
            sess.run([s], {x: [1.0, 1.0]})
        assert len(resolves) == 4
        assert sess.run([sz], {x: [[1.0, 1.0]], z: 1.0}) == [5.0]
        with pytest.raises(tf.errors.InvalidArgumentError, match="must feed a value for placeholder tensor 'z'"):
            sess.run([sz], {x: [[1.0, 1.0]]})                           # a feed key fewer: resolved again
        assert sess.run([sz], {z: 2.0, x: [[1.0, 1.0]]}) == [6.0]      # the keys in another order
        assert sess.run([sz], {z: 3.0, x: [[1.0, 1.0]]}) == [7.0]
        assert len(resolves) == 7


def test_session_errors():
    x = tf.placeholder(tf.float32, (None, 3), name="inputs")
    w = tf.Variable(tf.zeros((3, 1)), name="weights")
    y = tf.matmul(x, w)
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"placeholder tensor 'inputs' with dtype float32 "
                                                                  r"and shape \(\?, 3\)"):
            sess.run(y)
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value weights"):
            sess.run(y, {x: np.zeros((2, 3))})
        with pytest.raises(ValueError, match=r"Cannot feed value of shape \(2, 4\) for Tensor 'inputs:0', which has "
                                             r"shape \(\?, 3\)"):
            sess.run(y, {x: np.zeros((2, 4))})
        other = tf.Graph()
        with other.as_default():
            foreign = tf.constant(1.0)
        with pytest.raises(ValueError, match="not an element of this graph"):
            sess.run(foreign)


def test_variables_assign_and_control_dependencies():
    v = tf.Variable(1.0, name="v")
    inc = v.assign_add(2.0)
    with tf.control_dependencies([inc]):
        read = tf.identity(v) * 1.0
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(read) == 3.0 and sess.run(read) == 5.0
        sess.run(v.assign(10.0))
        assert sess.run(v) == 10.0
    assert [x.op.name for x in tf.global_variables()] == ["v"]


def _one_step(opt, g_val=0.5, w0=1.0, steps=2):
    w = tf.Variable(np.float32(w0))
    loss = w * np.float32(g_val)      # d loss / d w = g_val
    train = opt.minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            sess.run(train)
        return float(sess.run(w))


def test_tf1_adam_formula_epsilon_hat():
    lr, b1, b2, eps, g = 0.1, 0.9, 0.999, 0.1, 0.5
    w, m, v = 1.0, 0.0, 0.0
    for t in (1, 2):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w -= lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    assert _one_step(tf.train.AdamOptimizer(lr, b1, b2, eps)) == pytest.approx(w, rel=1e-6)


def test_sgd_momentum_rmsprop_steps():
    assert _one_step(tf.train.GradientDescentOptimizer(0.1)) == pytest.approx(1.0 - 2 * 0.05)
    # momentum: acc = 0.5, w = 1 - 0.05; acc = 0.9*0.5 + 0.5 = 0.95, w -= 0.095
    assert _one_step(tf.train.MomentumOptimizer(0.1, 0.9)) == pytest.approx(1.0 - 0.05 - 0.095, rel=1e-6)
    # Nesterov: w -= lr * (g + momentum * acc): 0.1 * (0.5 + 0.45), then acc = 0.95, 0.1 * (0.5 + 0.855)
    assert _one_step(tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True)) == pytest.approx(
        1.0 - 0.095 - 0.1355, rel=1e-6)
    ms = 0.9 * 1.0 + 0.1 * 0.25
    assert _one_step(tf.train.RMSPropOptimizer(0.01), steps=1) == pytest.approx(
        1.0 - 0.01 * 0.5 / np.sqrt(ms + 1e-10), rel=1e-6)


def test_global_step_and_saver_round_trip(tmp_path):
    w = tf.Variable(np.arange(4, dtype=np.float32), name="w")
    step = tf.train.get_or_create_global_step()
    train = tf.train.GradientDescentOptimizer(1.0).minimize(tf.reduce_sum(w), global_step=step)
    saver = tf.train.Saver(max_to_keep=2)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        paths = []
        for _ in range(3):
            sess.run(train)
            paths.append(saver.save(sess, str(tmp_path / "model"), global_step=step))
        assert paths[-1].endswith("model-3") and not (tmp_path / "model-1.npz").exists()
        assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model-3")
    with tf.Session() as sess2:
        saver.restore(sess2, paths[1])
        np.testing.assert_allclose(sess2.run(w), np.arange(4) - 2.0)
        assert sess2.run(step) == 2


@pytest.mark.slow
def test_graph_mnist_example_reaches_97_percent():
    from tests.helpers import load_example, mnist_split
    mod = load_example("static_mnist")
    train, test = mnist_split()
    assert mod.main(train, test, epochs=3, quiet=True) >= 0.97


def test_fetches_are_copies_and_as_default_keeps_the_session_open():
    v = tf.Variable(np.array([1.0, 2.0], np.float32), name="v")
    s = tf.reduce_sum(v)
    sess = tf.Session()
    with sess.as_default():
        sess.run(tf.global_variables_initializer())
        got = v.eval()
        got += 100                      # the caller's array, not the variable's storage
        assert s.eval() == 3.0
    total = sess.run(s)
    assert isinstance(total, np.float32) and total == 3.0
    np.testing.assert_array_equal(sess.run(v), [1.0, 2.0])
    sess.close()


def test_unsupported_arguments_raise_instead_of_being_ignored():
    x = tf.placeholder(tf.float32, (2, 3))
    with pytest.raises(NotImplementedError, match="stop_gradients"):
        tf.gradients(tf.reduce_sum(x), x, stop_gradients=[x])
    with pytest.raises(NotImplementedError, match="last axis"):
        tf.nn.softmax_cross_entropy_with_logits(labels=x, logits=x, axis=0)


def test_tf1_keep_prob_placeholder_drives_dropout():
    x = tf.placeholder(tf.float32, (None, 400))
    keep_prob = tf.placeholder(tf.float32)          # no shape: a scalar, as TF1 scripts use it
    y = tf.nn.dropout(x, keep_prob)
    g, = tf.gradients(tf.reduce_sum(y * 3.0), [x])
    ones = np.ones((50, 400), np.float32)
    with tf.Session() as sess:
        same = sess.run(y, {x: ones, keep_prob: 1.0})
        half, grad = sess.run([y, g], {x: ones, keep_prob: 0.5})
        with pytest.raises(ValueError, match="made without a shape, which dualflow takes as a scalar"):
            sess.run(y, {x: ones, keep_prob: [0.5, 0.5]})
    np.testing.assert_array_equal(same, ones)
    assert set(np.unique(half)) == {0.0, 2.0} and 0.45 < (half == 0).mean() < 0.55
    np.testing.assert_array_equal(grad, half * 3.0)      # d/dx of 3 * x * mask / keep_prob


def test_tf1_reduction_indices_and_keep_dims_aliases():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = tf.constant(a)
    s = tf.reduce_sum(x, reduction_indices=[1])
    m = tf.reduce_mean(x, reduction_indices=2, keep_dims=True)
    with tf.Session() as sess:
        got_s, got_m = sess.run([s, m])
    np.testing.assert_array_equal(got_s, a.sum(1))
    np.testing.assert_allclose(got_m, a.mean(2, keepdims=True))
    with pytest.raises(ValueError, match="both 'axis' and 'reduction_indices'"):
        tf.reduce_max(x, axis=0, reduction_indices=0)


def test_tf1_layers_cnn_with_update_ops_and_training_flag():
    x = tf.placeholder(tf.float32, (None, 6, 6, 2))
    y = tf.placeholder(tf.int64, (None,))
    training = tf.placeholder_with_default(False, (), name="training")
    h = tf.layers.conv2d(x, 3, 3, padding="same", activation=tf.nn.relu)
    h = tf.layers.batch_normalization(h, training=training)
    h = tf.layers.max_pooling2d(h, 2, 2)
    h = tf.layers.dropout(tf.layers.flatten(h), rate=0.5, training=training)
    logits = tf.layers.dense(h, 4)
    loss = tf.losses.sparse_softmax_cross_entropy(labels=y, logits=logits)
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    names = sorted(v.op.name for v in tf.trainable_variables())
    assert names == ["batch_normalization/beta", "batch_normalization/gamma", "conv2d/bias", "conv2d/kernel",
                     "dense/bias", "dense/kernel"]
    assert tf.get_collection(tf.GraphKeys.LOSSES) == [loss] and len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == 2
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(size=(8, 6, 6, 2)).astype(np.float32), rng.integers(0, 4, 8)
    mean_var = [v for v in tf.global_variables() if v.op.name == "batch_normalization/moving_mean"][0]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        a, b = sess.run(logits, {x: xs}), sess.run(logits, {x: xs})
        np.testing.assert_array_equal(a, b)                 # inference: no dropout, no statistics update
        np.testing.assert_array_equal(sess.run(mean_var), np.zeros(3))
        flat = sess.run(h, {x: xs})
        losses = [sess.run([loss, train], {x: xs, y: ys, training: True})[0] for _ in range(30)]
        moved = sess.run(mean_var)
    assert losses[-1] < losses[0] and np.all(moved != 0) and flat.shape == (8, 27)


@pytest.mark.parametrize("shape, fused, unbiased", [((2, 3, 3, 4), None, True), ((2, 3, 3, 4), False, False),
                                                     ((6, 4), None, False)])
def test_tf1_batch_normalization_moves_its_averages_as_tf1(shape, fused, unbiased):
    """TF1's tf.layers.batch_normalization is fused for 4D inputs over axis 1 or 3: its kernel gives the
    moving variance the unbiased batch variance (n / (n - 1) times the one it normalises with), and each
    average steps as avg -= (avg - batch) * (1 - momentum).  Unfused (2D, or fused=False): the biased one.
    Three runs: the later ones run the session's planned Program (the sample count written into its buffer)."""
    x0 = np.random.default_rng(0).normal(2.0, 3.0, size=shape).astype(np.float32)
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None,) + shape[1:])
        y = tf.layers.batch_normalization(x, momentum=0.9, training=True, fused=fused)
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            out = tf.identity(y)
        with tf.Session(graph=g) as s:
            s.run(tf.global_variables_initializer())
            got = [s.run(out, {x: x0}) for _ in range(3)][-1]
            mean, var = s.run(tf.global_variables()[2:])
    rows = x0.reshape(-1, shape[-1]).astype(np.float64)
    want_mean, want_var = np.zeros(shape[-1]), np.ones(shape[-1])
    for _ in range(3):
        want_mean -= (want_mean - rows.mean(0)) * 0.1
        want_var -= (want_var - rows.var(0, ddof=1 if unbiased else 0)) * 0.1
    np.testing.assert_allclose(mean, want_mean, rtol=1e-5)
    np.testing.assert_allclose(var, want_var, rtol=1e-5)
    np.testing.assert_allclose(got.reshape(rows.shape), (rows - rows.mean(0)) / np.sqrt(rows.var(0) + 1e-3),
                               rtol=1e-4, atol=1e-5)


def test_tf1_fused_batch_normalization_refuses_what_tf1_refuses_and_raises_a_small_epsilon():
    with pytest.raises(ValueError, match="fused batch norm only supports 4D inputs"):
        tf.layers.batch_normalization(tf.placeholder(tf.float32, (None, 4)), fused=True)
    x0 = np.random.default_rng(1).normal(size=(2, 2, 2, 3)).astype(np.float32) * 1e-3
    x = tf.placeholder(tf.float32, (None, 2, 2, 3))
    outs = [tf.layers.batch_normalization(x, epsilon=1e-8, training=True, fused=f) for f in (None, False)]
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        fused, plain = s.run(outs, {x: x0})
    rows = x0.reshape(-1, 3).astype(np.float64)
    for out, eps in ((fused, 1.001e-5), (plain, 1e-8)):     # cuDNN's minimum, as TF1's fused kernel
        np.testing.assert_allclose(out.reshape(-1, 3), (rows - rows.mean(0)) / np.sqrt(rows.var(0) + eps),
                                   rtol=1e-4)


def test_tf1_losses_against_numpy():
    z = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]], np.float32)
    onehot = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], np.float32)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    smooth = onehot * 0.7 + 0.1
    pred = np.array([[1.0, 2.0], [3.0, 5.0]], np.float32)
    with tf.Session() as sess:
        got = sess.run([tf.losses.softmax_cross_entropy(onehot, tf.constant(z)),
                        tf.losses.softmax_cross_entropy(onehot, tf.constant(z), weights=2.0, label_smoothing=0.3),
                        tf.losses.mean_squared_error(np.zeros((2, 2), np.float32), tf.constant(pred))])
    np.testing.assert_allclose(got[0], -(onehot * logp).sum(1).mean(), rtol=1e-6)
    np.testing.assert_allclose(got[1], -2.0 * (smooth * logp).sum(1).mean(), rtol=1e-6)
    np.testing.assert_allclose(got[2], (pred ** 2).mean(), rtol=1e-6)


def test_variable_scope_shares_variables_with_tf1_reuse_rules():
    def layer(x):
        w = tf.get_variable("w", (3, 2), initializer=tf.constant_initializer(0.5))
        return tf.matmul(x, w)

    x = tf.placeholder(tf.float32, (None, 3))
    with tf.variable_scope("tower"):
        a = layer(x)
        with tf.variable_scope("inner"):
            tf.get_variable("v", (1,))
    with tf.variable_scope("tower", reuse=True):
        b = layer(x)                                 # the same w: one variable, two uses
        with tf.variable_scope("inner"):            # reuse is inherited
            assert tf.get_variable("v", (1,)).op.name == "tower/inner/v"
    with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
        assert tf.get_variable("u", (2,)) is tf.get_variable("u", (2,))
    assert sorted(v.op.name for v in tf.global_variables()) == ["auto/u", "tower/inner/v", "tower/w"]
    w, = [v for v in tf.global_variables() if v.op.name == "tower/w"]
    g, = tf.gradients(tf.reduce_sum(a + b), [w])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(g, {x: np.ones((4, 3), np.float32)}), np.full((3, 2), 8.0))
    with pytest.raises(ValueError, match="Variable tower/w already exists, disallowed"):
        with tf.variable_scope("tower"):
            layer(x)
    with pytest.raises(ValueError, match="Variable other/w does not exist"):
        with tf.variable_scope("other", reuse=True):
            layer(x)


def test_exponential_decay_drives_the_learning_rate_each_step():
    gs = tf.train.get_or_create_global_step()
    lr = tf.train.exponential_decay(0.5, gs, 2, 0.5, staircase=True)
    smooth = tf.train.exponential_decay(0.5, gs, 2, 0.5)
    w = tf.Variable(np.float32(1.0))
    train = tf.train.GradientDescentOptimizer(lr).minimize(w * 1.0, global_step=gs)   # d/dw = 1
    rates, smooth_rates = [], []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(5):
            r, s = sess.run([lr, smooth])
            rates.append(float(r))
            smooth_rates.append(float(s))
            sess.run(train)
        final = float(sess.run(w))
    assert rates == [0.5, 0.5, 0.25, 0.25, 0.125]               # each step uses the rate before the increment
    np.testing.assert_allclose(smooth_rates, [0.5 * 0.5 ** (k / 2) for k in range(5)], rtol=1e-6)
    assert final == pytest.approx(1.0 - sum(rates))
    with pytest.raises(ValueError, match="learning rate tensor must be a float scalar"):
        tf.train.GradientDescentOptimizer(tf.constant([0.1, 0.2])).minimize(w * 1.0)


def test_summaries_run_as_tag_value_dicts_and_write_tensorboard_events(tmp_path):
    pytest.importorskip("tensorboardX")
    x = tf.placeholder(tf.float32, (None,))
    with tf.name_scope("train"):
        loss = tf.summary.scalar("loss", tf.reduce_mean(x))
    hist = tf.summary.histogram("x", x)
    assert tf.summary.merge([loss]) == loss and set(tf.summary.merge_all()) == {"train/loss", "x"}
    with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path), sess.graph) as writer:
        for step in range(3):
            got = sess.run(tf.summary.merge_all(), {x: np.arange(4, dtype=np.float32) + step})
            writer.add_summary(got, step)
        assert got["train/loss"] == pytest.approx(3.5) and got["x"].tolist() == [2.0, 3.0, 4.0, 5.0]
        with pytest.raises(TypeError, match="add_summary expects"):
            writer.add_summary(np.zeros(2), 0)
    events = [f for f in os.listdir(tmp_path) if f.startswith("events.out.tfevents")]
    assert len(events) == 1 and os.path.getsize(tmp_path / events[0]) > 100
    with pytest.raises(ValueError, match="must be a scalar"):
        tf.summary.scalar("bad", x)
    assert list(hist) == ["x"]
