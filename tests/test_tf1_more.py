"""TF1 gaps: the variance-scaling initializers (and orthogonal, identity), random_shuffle and multinomial drawn
at run time, the tf.layers classes, tf.losses' reductions and extras, is_tensor and get_static_value.
Random values are checked by their distribution (sample statistics over large draws, truncation bounds,
orthogonality, permutations, chi-square against softmax probabilities); deterministic ones against NumPy and
hand values, gradients against float64 central differences.  The real TF is compared in
tests/test_reference_tf1_more.py."""
import math

import numpy as np
import pytest

import static_api as tf

TRUNC_STD = 0.87962566103423978     # the std of a unit normal truncated at +-2 (scipy.stats.truncnorm.std(-2, 2))


def _run(fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed)


# ----- initializers -------------------------------------------------------------------------------------
# (shape, fan_in, fan_out) by hand: dense kernels (in, out), HWIO conv kernels times their receptive field
FANS = [((400, 300), 400, 300), ((3, 3, 16, 32), 3 * 3 * 16, 3 * 3 * 32), ((5, 64, 96), 5 * 64, 5 * 96),
        ((1000,), 1000, 1000)]


@pytest.mark.parametrize("shape,fan_in,fan_out", FANS)
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
def test_variance_scaling_uniform_limit_and_std(shape, fan_in, fan_out, mode):
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    w = tf.variance_scaling_initializer(2.0, mode, "uniform", seed=3)(shape)
    limit = math.sqrt(3 * 2.0 / n)
    assert w.shape == shape and w.dtype == np.float32
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    assert abs(w.std() / math.sqrt(2.0 / n) - 1) < 0.03


@pytest.mark.parametrize("distribution", ["truncated_normal", "normal"])
@pytest.mark.parametrize("shape,fan_in,fan_out", FANS[:3])
def test_variance_scaling_truncated_normal(distribution, shape, fan_in, fan_out):
    w = tf.variance_scaling_initializer(1.5, "fan_avg", distribution, seed=5)(shape, tf.float64)
    n = (fan_in + fan_out) / 2
    target = math.sqrt(1.5 / n)             # the std after truncation
    bound = 2 * target / TRUNC_STD          # two stddevs of the normal before truncation
    assert w.dtype == np.float64
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.98 * bound
    assert abs(w.std() / target - 1) < 0.03 and abs(w.mean()) < 0.05 * target


def test_variance_scaling_normal_is_truncated_normal_alias():
    a = tf.variance_scaling_initializer(distribution="normal", seed=9)((50, 40))
    b = tf.variance_scaling_initializer(distribution="TRUNCATED_NORMAL", seed=9)((50, 40))
    np.testing.assert_array_equal(a, b)


def test_variance_scaling_untruncated_normal_reaches_past_two_stddevs():
    w = tf.variance_scaling_initializer(2.0, "fan_in", "untruncated_normal", seed=1)((256, 400))
    std = math.sqrt(2.0 / 256)
    assert abs(w.std() / std - 1) < 0.02
    assert np.abs(w).max() > 3 * std       # a normal of 100k draws: about 270 values beyond 3 std


def test_glorot_and_he_lecun_aliases():
    shape, fan_in, fan_out = (3, 3, 32, 64), 288, 576
    cases = [(tf.glorot_normal_initializer(seed=1), "normal", 2.0 / (fan_in + fan_out)),
             (tf.initializers.glorot_normal(seed=1), "normal", 2.0 / (fan_in + fan_out)),
             (tf.glorot_uniform_initializer(seed=1), "uniform", 2.0 / (fan_in + fan_out)),
             (tf.initializers.he_normal(seed=1), "normal", 2.0 / fan_in),
             (tf.initializers.he_uniform(seed=1), "uniform", 2.0 / fan_in),
             (tf.initializers.lecun_normal(seed=1), "normal", 1.0 / fan_in),
             (tf.initializers.lecun_uniform(seed=1), "uniform", 1.0 / fan_in),
             (tf.initializers.variance_scaling(seed=1), "normal", 1.0 / fan_in)]
    for init, kind, var in cases:
        w = init(shape)
        assert w.dtype == np.float32 and w.shape == shape
        bound = math.sqrt(3 * var) if kind == "uniform" else 2 * math.sqrt(var) / TRUNC_STD
        assert np.abs(w).max() <= bound * (1 + 1e-6) and np.abs(w).max() > 0.97 * bound, init
        assert abs(w.std() / math.sqrt(var) - 1) < 0.03, init


def test_initializer_dtypes_and_errors():
    assert tf.variance_scaling_initializer(dtype=tf.float64)((3, 4)).dtype == np.float64
    assert tf.orthogonal_initializer()((3, 4), tf.float64).dtype == np.float64
    with pytest.raises(ValueError, match="variance_scaling_initializer: Argument `scale` must be a positive float. "
                                         "Received: 0"):
        tf.variance_scaling_initializer(scale=0)
    with pytest.raises(ValueError, match=r"Argument `mode` should be one of \('fan_in', 'fan_out', 'fan_avg'\)\. "
                                         "Received: fan_sum"):
        tf.variance_scaling_initializer(mode="fan_sum")
    with pytest.raises(ValueError, match="Argument `distribution` should be one of .* Received: gamma"):
        tf.variance_scaling_initializer(distribution="gamma")
    with pytest.raises(ValueError, match="Argument `dtype` is expected to be floating point. Received: int32"):
        tf.variance_scaling_initializer(dtype=tf.int32)
    with pytest.raises(ValueError, match="expected to be floating point"):
        tf.glorot_normal_initializer()((2, 2), tf.int64)
    with pytest.raises(ValueError, match=r"orthogonal_initializer: .* at least two-dimensional. Received shape=\[5\]"):
        tf.orthogonal_initializer()((5,))
    with pytest.raises(ValueError, match=r"must be two-dimensional. Received shape=\[2, 2, 2\]"):
        tf.initializers.identity()((2, 2, 2))
    with pytest.raises(NotImplementedError, match="partition_info"):
        tf.orthogonal_initializer()((2, 2), partition_info=object())


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 3, 4, 8), (5, 5)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_initializer_is_orthogonal(shape, gain):
    q = tf.orthogonal_initializer(gain, seed=2)(shape)
    assert q.shape == shape and q.dtype == np.float32
    m = q.reshape(-1, shape[-1]).astype(np.float64)
    small = min(m.shape)
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T       # orthogonal columns, or rows when wide
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(small), atol=1e-5 * gain ** 2)


def test_orthogonal_initializer_signs_are_fixed_to_uniform():
    # Without the sign fix, LAPACK's R has a negative diagonal and Q[0, 0] = -|a00| / |a0| is never positive;
    # with it, Q is uniform over orthogonal matrices and Q[0, 0] is symmetric around 0.
    first = np.array([tf.orthogonal_initializer(seed=s)((4, 4))[0, 0] for s in range(400)])
    assert (first > 0).sum() > 150 and (first < 0).sum() > 150
    assert abs(first.mean()) < 0.1


def test_identity_initializer():
    np.testing.assert_array_equal(tf.initializers.identity(3.0)((2, 3)),
                                  np.array([[3, 0, 0], [0, 3, 0]], np.float32))
    assert tf.initializers.identity()((2, 2), tf.float64).dtype == np.float64


def test_initializers_follow_the_graph_seed():
    def build(seed, op_seed=None):
        with tf.Graph().as_default():
            if seed is not None:
                tf.set_random_seed(seed)
            inits = [tf.variance_scaling_initializer(seed=op_seed), tf.orthogonal_initializer(seed=op_seed),
                     tf.initializers.he_uniform(seed=op_seed)]
            vs = [tf.get_variable(f"v{i}", (4, 3), initializer=init) for i, init in enumerate(inits)]
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                return sess.run(vs)
    a, b, c = build(7), build(7), build(8)
    for x, y, z in zip(a, b, c):
        np.testing.assert_array_equal(x, y)
        assert not np.array_equal(x, z)
    for x, y in zip(build(None, 3), build(None, 3)):        # an op seed alone is deterministic too
        np.testing.assert_array_equal(x, y)


# ----- random_shuffle, multinomial ------------------------------------------------------------------------
def test_random_shuffle_is_a_permutation_drawn_each_run():
    with tf.Graph().as_default():
        tf.set_random_seed(4)
        x = tf.placeholder(tf.float32, (None, 2))
        s = tf.random_shuffle(x)
        assert s.name == "RandomShuffle:0" and tuple(s.shape) == (None, 2) and s.dtype == np.float32
        value = np.arange(20, dtype=np.float32).reshape(10, 2)
        with tf.Session() as sess:
            runs = [sess.run(s, {x: value}) for _ in range(8)]
        with tf.Session() as sess:      # a new Session replays the seeded graph's first draw, as TF1
            again = sess.run(s, {x: value})
    for r in runs:
        order = r[:, 0].astype(int) // 2
        assert sorted(order) == list(range(10))                 # every row once
        np.testing.assert_array_equal(r, value[order])          # rows moved whole
    assert len({r.tobytes() for r in runs}) == 8
    np.testing.assert_array_equal(again, runs[0])


def test_random_shuffle_orders_are_uniform():
    with tf.Graph().as_default():
        s = tf.random_shuffle(tf.constant([0, 1, 2]), seed=11)
        with tf.Session() as sess:
            orders = [tuple(sess.run(s)) for _ in range(1200)]
    counts = np.array([orders.count(p) for p in [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]])
    assert counts.sum() == 1200
    chi2 = ((counts - 200) ** 2 / 200).sum()
    assert chi2 < 20.5          # chi-square with 5 degrees of freedom, p = 0.001


def test_random_shuffle_scalar_and_gradient():
    with tf.Graph().as_default():
        x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
        assert tf.gradients(tf.reduce_sum(tf.random_shuffle(x)), x) == [None]     # TF registers no gradient
        assert _run(tf.random_shuffle(3.5)) == 3.5
        assert tf.random.shuffle(x, name="mixed").name == "mixed:0"


def test_multinomial_frequencies_match_softmax():
    probs = np.array([[0.1, 0.2, 0.7], [0.5, 0.0, 0.5]])
    with tf.Graph().as_default():
        # a logit of -inf (probability 0): that class is never drawn
        logits = tf.constant(np.where(probs > 0, np.log(np.maximum(probs, 1e-300)), -np.inf), tf.float32)
        m = tf.multinomial(logits, 20000, seed=1)
        assert m.name == "multinomial/Multinomial:0" and m.dtype == np.int64 and tuple(m.shape) == (2, 20000)
        samples = _run(m)
    for row, p in zip(samples, probs):
        counts = np.bincount(row, minlength=3)
        assert counts.sum() == 20000
        live = p > 0
        assert counts[~live].sum() == 0
        expected = 20000 * p[live]
        chi2 = ((counts[live] - expected) ** 2 / expected).sum()
        assert chi2 < 13.8      # 2 degrees of freedom (1 for the second row's two classes), p = 0.001


def test_multinomial_draws_each_run_and_replays_per_session():
    with tf.Graph().as_default():
        tf.set_random_seed(3)
        x = tf.placeholder(tf.float32, (None, 4))
        c = tf.random.categorical(x, 16, dtype=tf.int32)
        assert c.name == "categorical/Multinomial:0" and c.dtype == np.int32 and tuple(c.shape) == (None, 16)
        logits = np.zeros((3, 4), np.float32)
        with tf.Session() as sess:
            a, b = sess.run(c, {x: logits}), sess.run(c, {x: logits})
        with tf.Session() as sess:
            again = sess.run(c, {x: logits})
    assert a.shape == (3, 16) and a.min() >= 0 and a.max() <= 3
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, again)


def test_multinomial_kernel_edge_cases():
    # TF's CPU kernel: non-finite logits weigh nothing; a row without a finite logit gives num_classes
    with tf.Graph().as_default():
        rows = tf.multinomial([[-np.inf, 0.0, np.nan], [-np.inf, -np.inf, np.inf]], 6, output_dtype=tf.int32)
        empty = tf.multinomial([[1.0, 2.0]], 0)
        got, nothing = _run([rows, empty])
    np.testing.assert_array_equal(got, [[1] * 6, [3] * 6])
    assert nothing.shape == (1, 0)


def test_multinomial_errors():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=r"Argument `dtype` got invalid value float32. Accepted dtypes are "
                                             r"\(tf.int32, tf.int64\)"):
            tf.multinomial([[0.0, 1.0]], 3, output_dtype=tf.float32)
        with pytest.raises(ValueError, match=r"multinomial: argument 'logits' expected a 2-D tensor .* got shape "
                                             r"\(2,\)"):
            tf.multinomial([0.0, 1.0], 3)
        with pytest.raises(ValueError, match="non-negative"):
            tf.multinomial([[0.0, 1.0]], -1)
        with pytest.raises(TypeError, match="num_samples' expected an int, got float"):
            tf.multinomial([[0.0, 1.0]], 2.0)
        with pytest.raises(NotImplementedError, match="num_samples as a tensor"):
            tf.multinomial([[0.0, 1.0]], tf.constant(2))
        with pytest.raises(TypeError, match="logits"):
            tf.multinomial([[1, 2]], 3)
        x = tf.placeholder(tf.float32, (1, None))
        with pytest.raises(tf.errors.InvalidArgumentError, match="num_classes should be positive, got 0"):
            _run(tf.multinomial(x, 2), {x: np.zeros((1, 0), np.float32)})


# ----- tf.layers classes ----------------------------------------------------------------------------------
def _conv_nhwc(x, w, stride=1):
    """VALID cross-correlation by loops: x (N, H, W, C), w (kh, kw, C, F)."""
    kh, kw = w.shape[:2]
    oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
    return out


def test_layers_dense_class():
    rng = np.random.default_rng(0)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 5))
        layer = tf.layers.Dense(3, activation=tf.nn.relu, bias_initializer=tf.constant_initializer(0.5))
        y1, y2 = layer(x), layer.apply(x * 2.0)      # one kernel, used twice
        assert [v.name for v in tf.trainable_variables()] == ["dense/kernel:0", "dense/bias:0"]
        assert tuple(y1.shape) == (None, 3)
        xv = rng.normal(size=(4, 5)).astype(np.float32)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            a, b, k, bias = sess.run([y1, y2, layer.weights[0], layer.weights[1]], {x: xv})
    limit = math.sqrt(6 / 8)        # TF1's default kernel initializer: glorot uniform
    assert np.abs(k).max() <= limit and bias.tolist() == [0.5] * 3
    np.testing.assert_allclose(a, np.maximum(xv @ k + bias, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b, np.maximum(2 * xv @ k + bias, 0), rtol=1e-5, atol=1e-6)


def test_layers_conv_and_pool_classes():
    rng = np.random.default_rng(1)
    xv = rng.normal(size=(2, 6, 6, 3)).astype(np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 6, 6, 3))
        conv = tf.layers.Conv2D(4, 3, name="c")
        h = conv(x)
        pooled = [tf.layers.MaxPooling2D(2, 2)(h), tf.layers.AveragePooling2D((2, 2), 1)(h)]
        flat = tf.layers.Flatten()(pooled[0])
        assert conv.weights[0].name == "c/kernel:0" and tuple(conv.weights[0].shape) == (3, 3, 3, 4)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            hv, mx, av, fl, k, b = sess.run([h] + pooled + [flat] + conv.weights, {x: xv})
    want = _conv_nhwc(xv.astype(np.float64), k.astype(np.float64)) + b
    np.testing.assert_allclose(hv, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mx, want.reshape(2, 2, 2, 2, 2, 4).max(axis=(2, 4)), rtol=1e-5, atol=1e-5)
    windows = [want[:, i:i + 2, j:j + 2, :].mean(axis=(1, 2)) for i in range(3) for j in range(3)]
    np.testing.assert_allclose(av, np.stack(windows, 1).reshape(2, 3, 3, 4), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(fl, mx.reshape(2, -1))
    with pytest.raises(TypeError):
        tf.layers.MaxPooling2D(2)       # TF1's pooling layers have no default strides
    with pytest.raises(NotImplementedError, match="data_format='channels_first'"):
        tf.layers.AveragePooling2D(2, 2, data_format="channels_first")


def test_layers_conv1d_and_1d_pooling():
    rng = np.random.default_rng(2)
    xv = rng.normal(size=(2, 9, 3)).astype(np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 9, 3))
        layer = tf.layers.Conv1D(5, 3, strides=2)
        h = layer(x)
        outs = [h, tf.layers.conv1d(x, 2, 2, padding="same", use_bias=False),
                tf.layers.max_pooling1d(x, 3, 2), tf.layers.average_pooling1d(x, 2, 2),
                tf.layers.MaxPooling1D(2, 1)(x), tf.layers.AveragePooling1D(3, 3)(x)]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run(outs + layer.weights, {x: xv})
    hv, same, mx, av, mx1, av3, k, b = got
    x64 = xv.astype(np.float64)
    want = np.stack([np.tensordot(x64[:, 2 * i:2 * i + 3, :], k, axes=([1, 2], [0, 1])) for i in range(4)], 1) + b
    np.testing.assert_allclose(hv, want, rtol=1e-5, atol=1e-5)
    assert same.shape == (2, 9, 2)
    np.testing.assert_allclose(mx, np.stack([xv[:, 2 * i:2 * i + 3].max(1) for i in range(4)], 1))
    np.testing.assert_allclose(av, np.stack([xv[:, 2 * i:2 * i + 2].mean(1) for i in range(4)], 1), rtol=1e-6)
    np.testing.assert_allclose(mx1, np.stack([xv[:, i:i + 2].max(1) for i in range(8)], 1))
    np.testing.assert_allclose(av3, np.stack([xv[:, 3 * i:3 * i + 3].mean(1) for i in range(3)], 1), rtol=1e-6)


def test_layers_conv2d_transpose_class_and_function():
    rng = np.random.default_rng(5)
    xv = rng.normal(size=(2, 3, 4, 3)).astype(np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 3, 4, 3))
        layer = tf.layers.Conv2DTranspose(2, 3, strides=2, bias_initializer=tf.constant_initializer(0.25))
        y = layer(x)
        other = tf.layers.conv2d_transpose(x, 5, (2, 2), strides=(2, 2), padding="same")
        assert tuple(y.shape) == (None, 7, 9, 2) and tuple(other.shape) == (None, 6, 8, 5)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got, k = sess.run([y, layer.weights[0]], {x: xv})
    # a transposed convolution scatters each input pixel's kernel-weighted copy: kernel (kh, kw, out, in)
    want, x64 = np.full((2, 7, 9, 2), 0.25), xv.astype(np.float64)
    for i in range(3):
        for j in range(4):
            want[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3, :] += np.einsum("nc,abfc->nabf", x64[:, i, j], k)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_layers_refuse_what_they_do_not_implement():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 4, 4, 2))
        with pytest.raises(NotImplementedError, match="tf.layers.Dense: trainable=False is not supported"):
            tf.layers.Dense(3, trainable=False)
        with pytest.raises(NotImplementedError, match="tf.layers.conv2d: reuse=True is not supported"):
            tf.layers.conv2d(x, 3, 2, name="c", reuse=True)
        with pytest.raises(NotImplementedError, match="tf.layers.batch_normalization: trainable=False"):
            tf.layers.batch_normalization(x, trainable=False)
        assert tf.trainable_variables() == []       # nothing was made before refusing
        y = tf.layers.conv2d(x, 3, 2, trainable=True, reuse=False, name="c")
        assert tuple(y.shape) == (None, 3, 3, 3) and tf.trainable_variables()[0].name == "c/kernel:0"


def test_layers_dropout_class_defaults_to_inference():
    with tf.Graph().as_default():
        x = tf.ones((200, 50))
        layer = tf.layers.Dropout(0.25, seed=1)
        off, on = layer(x), layer(x, training=True)
        a, b = _run([off, on])
    np.testing.assert_array_equal(a, np.ones((200, 50)))
    assert set(np.unique(b)) == {0.0, np.float32(1 / 0.75)}
    assert abs((b == 0).mean() - 0.25) < 0.01
    with pytest.raises(NotImplementedError, match="noise_shape"):
        tf.layers.Dropout(0.5, noise_shape=(1, 50))


def test_layers_collections_batch_norm_updates_and_penalties():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 4))
        dense = tf.layers.Dense(4, kernel_regularizer=lambda w: tf.reduce_sum(w * w))
        h = dense(dense(x))       # the weight penalty is added once, with the weights
        assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 1
        bn = tf.layers.BatchNormalization(momentum=0.5)
        y = bn(h, training=True)
        updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        assert len(updates) == 2 and [v.name for v in bn.weights] == [
            "batch_normalization/gamma:0", "batch_normalization/beta:0", "batch_normalization/moving_mean:0",
            "batch_normalization/moving_variance:0"]
        xv = np.arange(12, dtype=np.float32).reshape(3, 4)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            hv, _ = sess.run([h, updates], {x: xv})
            mean = sess.run(bn.moving_mean)
    # TF1's step: avg -= (avg - batch_mean) * (1 - momentum), from 0
    np.testing.assert_allclose(mean, 0.5 * hv.mean(axis=0), rtol=1e-5, atol=1e-6)


# ----- tf.losses ----------------------------------------------------------------------------------------
LABELS = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]], np.float32)
LOGITS = np.array([[0.3, -0.2, 2.0], [0.5, 1.5, -0.4]], np.float32)
HINGE = np.maximum(1 - (2 * LABELS.astype(np.float64) - 1) * LOGITS, 0)       # by hand: [[1.3, 1.2, 0], [.5, 2.5, 1.4]]


@pytest.mark.parametrize("weights,reduction,want", [
    (1.0, "weighted_sum_by_nonzero_weights", HINGE.sum() / 6),
    (2.0, "weighted_sum_by_nonzero_weights", 2 * HINGE.sum() / 6),
    (np.array([[2.0], [0.0]]), "weighted_sum_by_nonzero_weights", 2 * HINGE[0].sum() / 3),
    (np.array([[1.0, 0.0, 3.0], [0.0, 0.0, 0.5]]), "weighted_sum_by_nonzero_weights",
     (HINGE[0, 0] + 3 * HINGE[0, 2] + 0.5 * HINGE[1, 2]) / 3),
    (np.array([[1.0, 0.0, 3.0], [0.0, 0.0, 0.5]]), "weighted_mean",
     (HINGE[0, 0] + 3 * HINGE[0, 2] + 0.5 * HINGE[1, 2]) / 4.5),
    (np.array([[2.0], [0.0]]), "weighted_sum", 2 * HINGE[0].sum()),
    (np.array([[2.0], [0.0]]), "weighted_sum_over_batch_size", 2 * HINGE[0].sum() / 6),
    (0.0, "weighted_sum_by_nonzero_weights", 0.0),
    (np.zeros((2, 3)), "weighted_mean", 0.0),
])
def test_hinge_loss_reductions(weights, reduction, want):
    with tf.Graph().as_default():
        loss = tf.losses.hinge_loss(LABELS, LOGITS, weights=weights, reduction=reduction)
        assert loss.dtype == np.float32 and tf.losses.get_losses() == [loss]
        np.testing.assert_allclose(_run(loss), want, rtol=1e-6)


def test_reduction_none_and_bad_keys():
    with tf.Graph().as_default():
        w = np.array([[1.0], [3.0]], np.float32)
        per = tf.losses.hinge_loss(LABELS, LOGITS, weights=w, reduction=tf.losses.Reduction.NONE)
        np.testing.assert_allclose(_run(per), HINGE * w, rtol=1e-6)
        with pytest.raises(ValueError, match="Invalid Reduction Key mean"):
            tf.losses.hinge_loss(LABELS, LOGITS, reduction="mean")
        with pytest.raises(ValueError, match=r"weights can not be broadcast to values. values.rank=2. "
                                             r"weights.rank=1. values.shape=\[2, 3\]. weights.shape=\[3\]."):
            tf.losses.hinge_loss(LABELS, LOGITS, weights=[1.0, 2.0, 3.0])
        with pytest.raises(ValueError, match="hinge_loss: Argument `logits` must not be None"):
            tf.losses.hinge_loss(LABELS, None)
        with pytest.raises(ValueError, match=r"Shapes \(2, 3\) and \(3, 2\) are incompatible"):
            tf.losses.hinge_loss(LABELS.T, LOGITS)


def test_cosine_distance():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 3))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    want = (1 - (a * b).sum(axis=1)).mean()
    with tf.Graph().as_default():
        la, pb = tf.constant(a, tf.float32), tf.constant(b, tf.float32)
        by_axis = tf.losses.cosine_distance(la, pb, axis=1)
        by_dim = tf.losses.cosine_distance(la, pb, dim=1)
        per = tf.losses.cosine_distance(la, pb, axis=1, reduction="none")
        assert tuple(per.shape) == (2, 1, 3) and by_axis.name == "cosine_distance_loss/value:0"
        got = _run([by_axis, by_dim, per])
    np.testing.assert_allclose(got[0], want, rtol=1e-5)
    assert got[0] == got[1]
    np.testing.assert_allclose(got[2][:, 0], 1 - (a * b).sum(axis=1), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="Cannot specify both 'axis' and 'dim'"):
        tf.losses.cosine_distance(a, b, axis=1, dim=1)
    with pytest.raises(ValueError, match="You must specify argument `axis`"):
        tf.losses.cosine_distance(a, b)


def _directional(f, x, grad, rng, h=1e-6):
    """grad . d against the float64 central difference (f(x + h d) - f(x - h d)) / 2h along random d."""
    for _ in range(4):
        d = rng.normal(size=x.shape)
        np.testing.assert_allclose((grad * d).sum(), (f(x + h * d) - f(x - h * d)) / (2 * h), rtol=1e-5, atol=1e-6)


def test_hinge_and_cosine_gradients_match_central_differences():
    rng = np.random.default_rng(4)
    labels = rng.normal(size=(3, 4))
    w = np.array([[1.0], [0.0], [2.5]])
    x0 = LOGITS.astype(np.float64)
    hinge = lambda z: (np.maximum(1 - (2 * LABELS - 1) * z, 0) * 2.0).sum() / 6      # noqa: E731
    cosine = lambda p: ((1 - (labels * p).sum(axis=1, keepdims=True)) * w).sum() / 2  # noqa: E731
    p0 = rng.normal(size=(3, 4))
    with tf.Graph().as_default():
        z = tf.placeholder(tf.float32, (2, 3))
        p = tf.placeholder(tf.float32, (3, 4))
        gz = tf.gradients(tf.losses.hinge_loss(LABELS, z, weights=2.0), z)[0]
        gp = tf.gradients(tf.losses.cosine_distance(labels, p, axis=1, weights=w), p)[0]
        got_z, got_p = _run([gz, gp], {z: LOGITS, p: p0})
    _directional(hinge, x0, got_z, rng)
    _directional(cosine, p0, got_p, rng)


def test_add_loss_get_losses_and_collections():
    with tf.Graph().as_default():
        a = tf.losses.absolute_difference([1.0, 2.0], [1.5, 1.0])
        extra = tf.constant(3.0)
        tf.losses.add_loss(extra)
        tf.losses.add_loss(tf.constant(4.0), loss_collection=None)      # goes nowhere
        side = tf.losses.mean_squared_error([1.0], [3.0], loss_collection="side")
        assert tf.losses.get_losses() == [a, extra] == tf.get_collection(tf.GraphKeys.LOSSES)
        assert tf.losses.get_losses(loss_collection="side") == [side]
        assert tf.losses.get_losses(scope="absolute") == [a]
        total = tf.losses.get_total_loss()
        np.testing.assert_allclose(_run([a, side, total]), [0.75, 4.0, 3.75])


def test_compute_weighted_loss_and_float64_losses():
    with tf.Graph().as_default():
        raw = tf.constant(np.array([1.0, 2.0, 4.0]))        # float64: reduced in float32, cast back as TF1
        loss = tf.losses.compute_weighted_loss(raw, weights=[0.0, 1.0, 1.0])
        assert loss.dtype == np.float64
        assert _run(loss) == 3.0


# ----- is_tensor, get_static_value ------------------------------------------------------------------------
def test_is_tensor_and_get_static_value():
    with tf.Graph().as_default():
        c = tf.constant([[1, 2]], tf.int64)
        ph = tf.placeholder(tf.float32, (2,))
        v = tf.Variable([1.0])
        assert tf.is_tensor(c) and tf.is_tensor(ph) and tf.is_tensor(v) and tf.is_tensor(c + 1)
        assert not tf.is_tensor(np.ones(2)) and not tf.is_tensor(3.0) and not tf.is_tensor(c.op)
        got = tf.get_static_value(c)
        assert got.dtype == np.int64 and got.tolist() == [[1, 2]]
        got[0, 0] = 9                                   # a copy: the constant is unchanged
        assert tf.get_static_value(c).tolist() == [[1, 2]]
        assert tf.get_static_value(ph) is None and tf.get_static_value(v) is None
        assert tf.get_static_value(ph * 2) is None
        arr = np.arange(3)
        assert tf.get_static_value(arr) is arr and tf.get_static_value(5) == 5
