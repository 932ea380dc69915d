"""TF1 names real programs use beyond the first-hour set: regularization in raw graphs (``get_variable``'s and
``tf.layers``' regularizers, ``tf.contrib.layers``, ``tf.losses.get_regularization_loss``), ``tf.add_n``, the
comparison ops and ``tf.summary.image``; hand-computed values, and the real TF1 API under ``reference``."""
import glob
import io
import struct

import numpy as np
import pytest

import static_api as tf


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _regularized_graph(tf1):
    """A two-layer graph with a penalty on every weight, in the TF1 API of ``tf1``."""
    x = tf1.placeholder(tf1.float32, [None, 2])
    w = tf1.get_variable("w", [2, 2], initializer=tf1.constant_initializer(0.5),
                         regularizer=tf1.contrib.layers.l2_regularizer(0.1) if hasattr(tf1, "contrib")
                         else _tf1_l2(tf1, 0.1))
    h = tf1.layers.dense(tf1.matmul(x, w), 3, kernel_initializer=tf1.ones_initializer(),
                         bias_initializer=tf1.constant_initializer(0.25),
                         kernel_regularizer=tf1.keras.regularizers.l1(0.5),
                         bias_regularizer=tf1.keras.regularizers.l2(2.0))
    data = tf1.losses.mean_squared_error(tf1.zeros_like(h), h)
    return x, data, tf1.losses.get_regularization_loss(), tf1.losses.get_total_loss()


def _tf1_l2(tf1, scale):
    # TF2's compat.v1 has no contrib: its l2_regularizer is scale * tf.nn.l2_loss
    return lambda w: scale * tf1.nn.l2_loss(w)


def test_regularization_losses_of_get_variable_and_tf_layers():
    x, data, reg, total = _regularized_graph(tf)
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 3
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got = sess.run([data, reg, total, tf.losses.get_regularization_losses()], {x: [[1.0, 3.0]]})
    # x @ w = [2, 2]; dense = 4 + 0.25 per unit; penalties: 0.1 * (4 * 0.25) / 2, 0.5 * 6, 2.0 * 3 * 0.0625
    np.testing.assert_allclose(got[0], 4.25 ** 2)
    np.testing.assert_allclose(got[3], [0.05, 3.0, 0.375], rtol=1e-6)
    np.testing.assert_allclose(got[1], 3.425, rtol=1e-6)
    np.testing.assert_allclose(got[2], 4.25 ** 2 + 3.425, rtol=1e-6)


def test_contrib_regularizers_and_no_losses():
    w = tf.constant([[1.0, -2.0], [3.0, -4.0]])
    contrib = tf.contrib.layers
    with tf.Session() as sess:
        assert sess.run(tf.losses.get_regularization_loss()) == 0.0        # none yet: 0, as TF1
        got = sess.run([contrib.l1_regularizer(0.5)(w), contrib.l2_regularizer(0.5)(w),
                        contrib.l1_l2_regularizer(0.5, 0.5)(w),
                        contrib.apply_regularization(contrib.l1_regularizer(1.0), [w, w])])
    np.testing.assert_allclose(got, [5.0, 7.5, 12.5, 20.0])
    assert contrib.l2_regularizer(0.0)(w) is None
    with pytest.raises(ValueError, match="less than 0"):
        contrib.l1_regularizer(-1.0)
    with pytest.raises(ValueError, match="No losses found"):
        tf.reset_default_graph()
        tf.losses.get_total_loss()
    with pytest.raises(NotImplementedError, match="weights_list"):
        contrib.apply_regularization(contrib.l1_regularizer(1.0))
    init = contrib.xavier_initializer(seed=1)((30, 20))
    assert np.abs(init).max() <= np.sqrt(6 / 50) and np.abs(init).max() > 0.9 * np.sqrt(6 / 50)


@pytest.mark.reference
def test_regularization_losses_match_tensorflow():
    # TF 2's compat.v1 has neither contrib nor tf.layers (Keras 3): penalties through get_variable only
    real = pytest.importorskip("tensorflow").compat.v1
    values = []
    for tf1 in (tf, real):
        graph = tf1.Graph()
        with graph.as_default():
            x = tf1.placeholder(tf1.float32, [None, 2])
            with tf1.variable_scope("layer"):
                w = tf1.get_variable("w", [2, 3], initializer=tf1.constant_initializer(0.5),
                                     regularizer=_tf1_l2(tf1, 0.1))
                b = tf1.get_variable("b", [3], initializer=tf1.constant_initializer(-0.25),
                                     regularizer=lambda v: 0.3 * tf1.reduce_sum(tf1.abs(v)))
            loss = tf1.losses.mean_squared_error(tf1.ones_like(x[:, :1]) * [[2.0, 0.0, 1.0]], tf1.matmul(x, w) + b)
            fetches = [loss, tf1.losses.get_regularization_loss(), tf1.losses.get_total_loss(),
                       tf1.losses.get_regularization_losses("layer")]
            with tf1.Session(graph=graph) as sess:
                sess.run(tf1.global_variables_initializer())
                values.append(sess.run(fetches, {x: [[1.0, 3.0], [-2.0, 0.5]]}))
    for ours, theirs in zip(*values):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_add_n_and_comparisons():
    a, b = tf.constant([1, 2, 3]), tf.constant([3, 2, 1])
    with tf.Session() as sess:
        got = sess.run([tf.add_n([a, b, a]), tf.not_equal(a, b), tf.less_equal(a, b), tf.greater_equal(a, b),
                        tf.logical_and(a > 1, b > 1), tf.logical_or(a > 2, b > 2)])
    expected = [[5, 6, 7], [True, False, True], [True, True, False], [False, True, True], [False, True, False],
                [True, False, True]]
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    with pytest.raises(ValueError, match="same shape"):
        tf.add_n([a, tf.constant([1, 2])])
    with pytest.raises(ValueError, match="incompatible"):      # TF1 checks the shapes rather than broadcast
        tf.losses.mean_squared_error(tf.zeros((4, 1)), tf.zeros((4, 3)))


# ----- tf.summary.image ------------------------------------------------------------------------
def _images(folder):
    """{tag: uint8 HWC array} of the image summaries in an event folder, decoded from their PNGs."""
    from PIL import Image
    from tensorboardX.proto import event_pb2
    found = {}
    for path in glob.glob(f"{folder}/events.out.tfevents.*"):
        raw, pos = open(path, "rb").read(), 0
        while pos < len(raw):
            (n,) = struct.unpack("<Q", raw[pos:pos + 8])
            for v in event_pb2.Event.FromString(raw[pos + 12:pos + 12 + n]).summary.value:
                if v.HasField("image"):
                    found[v.tag] = np.asarray(Image.open(io.BytesIO(v.image.encoded_image_string)))
            pos += 16 + n
    return found


BATCH = np.stack([np.linspace(0, 2, 12).reshape(2, 2, 3),          # non-negative: max -> 255
                  np.linspace(-1, 0.5, 12).reshape(2, 2, 3),       # negative values: 0 -> 128, |min| -> 127 away
                  np.full((2, 2, 3), np.nan)]).astype(np.float32)


def _expected(img):
    finite = np.isfinite(img)
    if np.nanmin(img) < 0:
        out = img * (127 / np.nanmax(np.abs(img))) + 128
    else:
        out = img * (255 / np.nanmax(img)) if finite.any() else img
    return np.where(finite, out, 0).astype(np.uint8)


def test_summary_image_writes_tf1_scaled_pngs(tmp_path):
    pytest.importorskip("tensorboardX")
    x = tf.placeholder(tf.float32, [None, 2, 2, 3])
    tf.summary.image("inputs", x, max_outputs=2)
    tf.summary.image("first", x, max_outputs=1)
    with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_summary(sess.run(tf.summary.merge_all(), {x: BATCH}), 0)
    got = _images(str(tmp_path))
    assert sorted(got) == ["first/image", "inputs/image/0", "inputs/image/1"]
    np.testing.assert_array_equal(got["inputs/image/0"], _expected(BATCH[0]))
    np.testing.assert_array_equal(got["first/image"], _expected(BATCH[0]))
    np.testing.assert_array_equal(got["inputs/image/1"], _expected(BATCH[1]))
    assert got["inputs/image/1"][0, 0, 0] == 1 and got["inputs/image/1"][1, 1, 2] == 128 + 63
    nan_image = tf.summary._to_uint8(BATCH[2])
    np.testing.assert_array_equal(nan_image.reshape(-1, 3), [[255, 0, 0]] * 4)      # non-finite pixels are red
    with pytest.raises(ValueError, match="4-D"):
        tf.summary.image("bad", tf.zeros((2, 2, 3)))


@pytest.mark.reference
def test_summary_image_pixels_match_tensorflow():
    real = pytest.importorskip("tensorflow").compat.v1
    from PIL import Image
    graph = real.Graph()
    with graph.as_default():
        s = real.summary.image("inputs", real.constant(BATCH[:2]), max_outputs=2)
        with real.Session(graph=graph) as sess:
            proto = real.Summary.FromString(sess.run(s))
    for i, v in enumerate(proto.value):
        assert v.tag == f"inputs/image/{i}"
        theirs = np.asarray(Image.open(io.BytesIO(v.image.encoded_image_string)))
        np.testing.assert_array_equal(tf.summary._to_uint8(BATCH[i]), theirs)


def test_compat_v1_is_the_tf1_api():
    v1 = tf.compat.v1
    v1.disable_v2_behavior()
    v1.disable_eager_execution()
    assert v1 is tf and not v1.executing_eagerly()
    x = v1.placeholder(v1.float32, [None, 2])
    with v1.Session() as sess:
        np.testing.assert_allclose(sess.run(v1.reduce_sum(x), {x: [[1.0, 2.0]]}), 3.0)


def test_collections_filter_by_scope_with_re_match_as_tf1():
    tf.reset_default_graph()
    with tf.name_scope("a"):
        a = tf.constant(1.0, name="x")
    with tf.name_scope("ab"):
        ab = tf.constant(2.0, name="x")
    b = tf.constant(3.0, name="b")
    for item in (a, ab, b, "no name"):
        tf.add_to_collection("things", item)
    assert tf.get_collection("things") == [a, ab, b, "no name"]
    assert tf.get_collection("things", "a") == [a, ab]           # re.match: a prefix, "ab/x:0" too
    assert tf.get_collection("things", "a/") == [a]
    assert tf.get_collection("things", ".*x") == [a, ab]         # a pattern, as TF; nameless items never match
    for t in (a, b):
        tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, t)
    assert tf.losses.get_regularization_losses("a") == [a]


def _tf1_losses(lib):
    """TF1's elementwise losses (their means) and the gradient of their sum, on fixed labels and logits."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 3)).astype(np.float32) * 2
    y = (rng.random((6, 3)) > 0.5).astype(np.float32)
    logits = lib.constant(z)
    p = lib.nn.sigmoid(logits)
    losses = [lib.losses.sigmoid_cross_entropy(y, logits),
              lib.losses.sigmoid_cross_entropy(y, logits, label_smoothing=0.1),
              lib.losses.absolute_difference(y, logits), lib.losses.huber_loss(y, logits),
              lib.losses.huber_loss(y, logits, delta=0.3), lib.losses.log_loss(y, p)]
    grad = lib.gradients(lib.add_n(losses), logits)[0]
    with lib.Session() as sess:
        return sess.run(losses + [grad]), z, y


def test_tf1_elementwise_losses_by_hand():
    got, z, y = _tf1_losses(tf)
    z, y = z.astype(np.float64), y.astype(np.float64)

    def xent(t):
        return np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))))

    def huber(d):
        e = np.abs(z - y)
        return np.mean(np.where(e <= d, 0.5 * e * e, d * e - 0.5 * d * d))
    p = 1 / (1 + np.exp(-z))
    want = [xent(y), xent(y * 0.9 + 0.05), np.mean(np.abs(z - y)), huber(1.0), huber(0.3),
            np.mean(-y * np.log(p + 1e-7) - (1 - y) * np.log(1 - p + 1e-7))]
    np.testing.assert_allclose(got[:6], want, rtol=2e-6)
    with pytest.raises(ValueError, match=r"tf.losses.huber_loss: Shapes \(6, 1\) and \(6, 3\) are incompatible"):
        tf.losses.huber_loss(y, tf.constant(z[:, :1]))


@pytest.mark.reference
def test_tf1_elementwise_losses_match_tensorflow():
    real = pytest.importorskip("tensorflow.compat.v1")
    ours, _, _ = _tf1_losses(tf)
    with real.Graph().as_default():
        theirs, _, _ = _tf1_losses(real)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def _norm_ops(lib):
    """clip_by_norm (whole tensor, per row, a zero row), squared_difference and l2_normalize, and the gradient
    of a weighted sum of them."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4)).astype(np.float32) * 2
    x[1] = 0.0
    t = lib.constant(x)
    w = lib.constant(rng.normal(size=(3, 4)).astype(np.float32))
    outs = [lib.clip_by_norm(t, 1.5), lib.clip_by_norm(t, 1.5, axes=[1]), lib.squared_difference(t, 0.5),
            lib.nn.l2_normalize(t, axis=1), lib.nn.l2_normalize(t)]
    grad = lib.gradients(lib.add_n([lib.reduce_sum(o * w) for o in outs]), t)[0]
    with lib.Session() as sess:
        return sess.run(outs + [grad]), x


def test_clip_by_norm_squared_difference_and_l2_normalize_by_hand():
    got, x = _norm_ops(tf)
    x = x.astype(np.float64)
    norm = np.linalg.norm(x)
    rows = np.linalg.norm(x, axis=1, keepdims=True)
    want = [x * 1.5 / max(norm, 1.5), x * 1.5 / np.maximum(rows, 1.5), (x - 0.5) ** 2,
            x / np.sqrt(np.maximum(rows ** 2, 1e-12)), x / norm]
    for g, w in zip(got[:5], want):
        np.testing.assert_allclose(g, w, rtol=2e-6, atol=1e-7)
    assert np.isfinite(got[5]).all()        # the zero row's norm is never square-rooted: no NaN gradient


@pytest.mark.reference
def test_clip_by_norm_squared_difference_and_l2_normalize_match_tensorflow():
    real = pytest.importorskip("tensorflow.compat.v1")
    ours, _ = _norm_ops(tf)
    with real.Graph().as_default():
        theirs, _ = _norm_ops(real)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_update_ops_idiom_initializes_without_feeds_and_trains_the_moving_statistics():
    """TF1's batch-norm recipe: the train op under ``control_dependencies(UPDATE_OPS)``.  The optimizer's slots
    made there must not depend on those updates (TF1's init_scope): ``global_variables_initializer`` ran the
    batch-norm updates and asked for the input placeholder, and reading a slot would have run them."""
    x_np = np.random.default_rng(0).normal(2.0, 1.0, size=(8, 3)).astype(np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 3))
        training = tf.placeholder_with_default(False, ())
        h = tf.layers.batch_normalization(x, training=training, momentum=0.5)
        loss = tf.reduce_mean(tf.square(tf.layers.dense(h, 1, kernel_initializer=tf.ones_initializer())))
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            train = tf.train.AdamOptimizer(0.1).minimize(loss)
            made_inside = tf.Variable(np.float32(7.0), name="made_inside")
        moving_mean = [v for v in tf.global_variables() if v.op.name.endswith("moving_mean")][0]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())          # no feed needed
            adam_m = [v for v in tf.global_variables() if v.op.name == "dense/kernel/Adam"][0]
            assert sess.run(adam_m).tolist() == [[0.0]] * 3 and sess.run(made_inside) == 7.0
            np.testing.assert_array_equal(sess.run(moving_mean), np.zeros(3))     # reads ran no update
            sess.run(train, {x: x_np, training: True})
            np.testing.assert_allclose(sess.run(moving_mean), 0.5 * x_np.mean(0), rtol=1e-6)


def _run(fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed)


def test_range_and_linspace_compute_in_the_dtype_as_tfs_kernels():
    got = _run(tf.range(-3, 5, 0.37))
    f = np.float32
    want = f(-3) + np.arange(22).astype(f) * f(0.37)       # the product and the sum each rounded in float32
    assert got.dtype == np.float32 and np.array_equal(got, want)
    assert not np.array_equal(got, np.arange(-3, 5, 0.37, dtype=np.float32))
    assert _run(tf.range(5)).tolist() == [0, 1, 2, 3, 4] and _run(tf.range(5)).dtype == np.int32
    assert _run(tf.range(10, 0, -3)).tolist() == [10, 7, 4, 1]
    assert _run(tf.range(0, 1, 0.25, dtype=tf.float64)).tolist() == [0.0, 0.25, 0.5, 0.75]
    lin = _run(tf.linspace(-1.0, 2.0, 8))
    step = (f(2) - f(-1)) / f(7)
    assert np.array_equal(lin[:-1], f(-1) + np.arange(7).astype(f) * step) and lin[-1] == 2.0
    with pytest.raises(ValueError, match="Requires delta != 0"):
        tf.range(0, 5, 0)
    with pytest.raises(ValueError, match="Requires start <= limit when delta > 0: 5/0"):
        tf.range(5, 0, 1)
    with pytest.raises(NotImplementedError, match="tensor arguments are not implemented"):
        tf.range(tf.constant(3))


def test_tile_pad_and_reverse_copy_values_as_numpy_and_sum_the_gradients_of_copies():
    x = np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32)
    p = tf.placeholder(tf.float32, [None, 3])
    tiled = tf.tile(p, [2, 3])
    g, = tf.gradients(tf.reduce_sum(tiled), [p])
    out, grad = _run([tiled, g], {p: x})
    assert np.array_equal(out, np.tile(x, (2, 3))) and grad.tolist() == [[6.0] * 3] * 2
    assert tiled.name == "Tile:0" and tiled.shape.as_list() == [None, 9]
    for mode, np_mode in (("REFLECT", "reflect"), ("symmetric", "symmetric")):
        q = tf.constant(x)
        padded = tf.pad(q, [[1, 1], [2, 2]], mode)
        count, = tf.gradients(tf.reduce_sum(padded), [q])
        got, counts = _run([padded, count])
        assert np.array_equal(got, np.pad(x, [(1, 1), (2, 2)], mode=np_mode)), mode
        ones = np.pad(np.ones_like(x), [(1, 1), (2, 2)], mode=np_mode)      # how often each value is copied
        want = np.zeros_like(x)
        index = np.pad(np.arange(6).reshape(2, 3), [(1, 1), (2, 2)], mode=np_mode)
        np.add.at(want.reshape(-1), index.reshape(-1), ones.reshape(-1))
        assert np.array_equal(counts, want), mode
    assert np.array_equal(_run(tf.pad(x, [[0, 1], [1, 0]], constant_values=2.5)),
                          np.pad(x, [(0, 1), (1, 0)], constant_values=2.5))
    assert np.array_equal(_run(tf.reverse(x, [1])), x[:, ::-1])
    with pytest.raises(tf.errors.InvalidArgumentError, match="paddings must be less than the dimension size: 3, 0"):
        tf.pad(x, [[0, 0], [3, 0]], "REFLECT")
    with pytest.raises(ValueError, match='expected to be one of "CONSTANT", "REFLECT", or "SYMMETRIC"'):
        tf.pad(x, [[0, 0], [1, 0]], "EDGE")
    with pytest.raises(ValueError, match="Shape must be rank 2 but is rank 1"):
        tf.tile(x, [2])


def test_gather_split_unstack_slice_and_the_shape_ops():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    c = tf.constant(x)
    got = _run([tf.gather(c, [1, 1, 0], axis=1), tf.slice(c, [0, 1, 1], [-1, 2, 2]), tf.fill([2, 2], 1.5),
                tf.broadcast_to(c[0, 0], [2, 4]), tf.count_nonzero(c, axis=2), tf.logical_not(c > 5)])
    assert np.array_equal(got[0], x[:, [1, 1, 0]]) and np.array_equal(got[1], x[:, 1:3, 1:3])
    assert got[2].tolist() == [[1.5, 1.5]] * 2 and got[2].dtype == np.float32
    assert np.array_equal(got[3], np.broadcast_to(x[0, 0], (2, 4)))
    assert got[4].tolist() == [[3, 4, 4], [4, 4, 4]] and got[4].dtype == np.int64
    assert np.array_equal(got[5], ~(x > 5))
    parts = tf.split(c, [1, -1], axis=2)
    assert [p.shape.as_list() for p in parts] == [[2, 3, 1], [2, 3, 3]]
    assert np.array_equal(_run(parts[1]), x[:, :, 1:])
    assert [tuple(_run(p).shape) for p in tf.split(c, 2, axis=2)] == [(2, 3, 2)] * 2
    assert np.array_equal(_run(tf.unstack(c, axis=1)[2]), x[:, 2])
    with pytest.raises(ValueError, match="Dimension size must be evenly divisible by 3 but is 4"):
        tf.split(c, 3, axis=2)
    p = tf.placeholder(tf.float32, [None, 3])
    shape = tf.shape(p)
    assert _run([shape, shape[0]], {p: np.zeros((5, 3))})[0].tolist() == [5, 3]
    assert _run(tf.shape(c)).tolist() == [2, 3, 4] and _run(tf.size(c)) == 24 and _run(tf.rank(c)) == 3
    mask = _run(tf.sequence_mask([1, 3, 0], 4))
    assert mask.tolist() == [[True, False, False, False], [True, True, True, False], [False] * 4]
    with pytest.raises(tf.errors.InvalidArgumentError, match="3 is out of bounds"):
        _run(tf.gather(c, [3]))


def test_sort_and_argsort_keep_ties_in_order():
    v = np.float32([3.0, 1.0, 2.0, 1.0, 3.0])
    assert _run(tf.argsort(v)).tolist() == [1, 3, 2, 0, 4]
    assert _run(tf.argsort(v, direction="DESCENDING")).tolist() == [0, 4, 2, 1, 3]
    assert _run(tf.sort(v, direction="DESCENDING")).tolist() == [3.0, 3.0, 2.0, 1.0, 1.0]
    assert _run(tf.argsort(v)).dtype == np.int32


@pytest.mark.parametrize("padding,out_hw,stride", [("SAME", (8, 9), 2), ("VALID", (9, 11), 2), ("SAME", (5, 5), 1),
                                                   ("VALID", (10, 8), 3)])
def test_conv2d_transpose_is_the_adjoint_of_conv2d(padding, out_hw, stride):
    """<conv2d(a, w), b> = <a, conv2d_transpose(b, w)> for every a and b: the transposed convolution is the
    convolution's adjoint, whatever the padding arithmetic (independent of how either is computed)."""
    r = np.random.default_rng(3)
    w = r.normal(size=(3, 2, 4, 5))                    # (kH, kW, in of conv2d = out of the transpose, out)
    a = r.normal(size=(2,) + out_hw + (4,))
    x = tf.placeholder(tf.float64, a.shape)
    y = tf.nn.conv2d(x, tf.constant(w), stride, padding)
    b = r.normal(size=y.shape.as_list())
    back = tf.nn.conv2d_transpose(tf.constant(b), tf.constant(w), [2, out_hw[0], out_hw[1], 4], [1, stride, stride, 1],
                                  padding)
    assert back.shape.as_list() == list(a.shape)
    fy, fb = _run([y, back], {x: a})
    np.testing.assert_allclose((fy * b).sum(), (a * fb).sum(), rtol=1e-10)
    with pytest.raises(ValueError, match="Size of out_backprop doesn't match computed"):
        tf.nn.conv2d_transpose(tf.constant(b), tf.constant(w), [2, out_hw[0] + 3 * stride, out_hw[1], 4], stride,
                               padding)


def test_keras_conv2d_transpose_sizes_follow_keras():
    k = tf.keras.layers
    for kw, hw in ((dict(strides=2, padding="same"), (10, 12)), (dict(strides=2, padding="valid"), (11, 13)),
                   (dict(strides=(3, 1), padding="valid"), (15, 8)),
                   (dict(strides=3, padding="same", output_padding=1), (14, 17))):
        tf.reset_default_graph()
        model = tf.keras.Sequential([tf.keras.Input((5, 6, 2)), k.Conv2DTranspose(4, 3, **kw)])
        assert model.output_shape == (None,) + hw + (4,), kw
        assert [w.shape for w in model.get_weights()] == [(3, 3, 4, 2), (4,)]
    with pytest.raises(ValueError, match="must be greater than output padding"):
        k.Conv2DTranspose(2, 3, strides=2, output_padding=2)


def test_dropout_with_a_noise_shape_shares_each_draw_along_its_dims_of_one():
    x = np.ones((4, 3, 5), np.float32)
    out = _run(tf.nn.dropout(tf.constant(x), rate=0.5, noise_shape=[4, 1, 5], seed=1))
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert (out == out[:, :1]).all() and 0 < (out == 0).mean() < 1
    with pytest.raises(ValueError, match="does not broadcast to the input"):
        tf.nn.dropout(tf.constant(x), rate=0.5, noise_shape=[4, 2, 5])
