"""Parity with TensorFlow (CPU) for the static frontend; skipped when TensorFlow is not installed."""
import numpy as np
import pytest

import static_api as tf
from tests.helpers import assert_trains_as_keras

real = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.reference
R = np.random.default_rng(5)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _ours(fn, arrays):
    """Value and gradient of sum(fn(*inputs) * c) w.r.t. every input, from our graph."""
    phs = [tf.placeholder(tf.float32, a.shape) for a in arrays]
    y = fn(tf, *phs)
    c = tf.constant(np.random.default_rng(1).normal(size=y.shape.as_list()).astype(np.float32))
    grads = [g for g in tf.gradients(tf.reduce_sum(y * c), phs) if g is not None]    # none through Round
    with tf.Session() as sess:
        return sess.run([y] + grads, dict(zip(phs, arrays))), sess.run(c)


def _theirs(fn, arrays, c, grads=True):
    vs = [real.Variable(a) for a in arrays]
    with real.GradientTape() as tape:
        y = fn(real, *vs)
        s = real.reduce_sum(y * c)
    return [y.numpy()] + ([g.numpy() for g in tape.gradient(s, vs)] if grads else [])


CASES = {
    "conv2d_same_s2": (lambda t, x, w: t.nn.conv2d(x, w, strides=2, padding="SAME"), [(2, 9, 8, 3), (3, 3, 3, 4)]),
    "conv2d_valid_dilated": (lambda t, x, w: t.nn.conv2d(x, w, 1, "VALID", dilations=2), [(2, 9, 9, 2), (3, 2, 2, 3)]),
    "max_pool_same": (lambda t, x, w: t.nn.max_pool2d(x * w, 3, 2, "SAME"), [(2, 7, 8, 3), (3,)]),
    "avg_pool_same": (lambda t, x, w: t.nn.avg_pool2d(x * w, 3, 2, "SAME"), [(2, 7, 8, 3), (3,)]),
    "dense_xent": (lambda t, z, l: t.nn.softmax_cross_entropy_with_logits(labels=t.nn.softmax(l), logits=z),
                   [(5, 4), (5, 4)]),
    "sigmoid_xent": (lambda t, z, l: t.nn.sigmoid_cross_entropy_with_logits(labels=t.nn.sigmoid(l), logits=z * 3),
                     [(5, 4), (5, 4)]),
    "leaky_relu_bias_nchw": (lambda t, x, b: t.nn.leaky_relu(t.nn.bias_add(x, b, data_format="NCHW")),
                             [(2, 3, 4, 5), (3,)]),
    "activations": (lambda t, x: t.nn.relu6(x * 4) + t.nn.elu(x) * 2 + t.nn.selu(x) * 3 + t.nn.softplus(x * 9)
                    + t.nn.swish(x), [(6, 7)]),
    "math": (lambda t, x: t.math.log1p(t.abs(x)) + t.math.expm1(x) + t.math.rsqrt(t.abs(x) + 0.5)
             + t.math.reciprocal(x + 5.0) + t.math.reduce_logsumexp(x, 1, keepdims=True), [(6, 7)]),
    "rounding": (lambda t, x: t.round(x * 3) + t.math.ceil(x * 2) + t.math.round(x), [(6, 7)]),
    "floor_ops": (lambda t, x, y: t.math.floormod(x * 5, y + 3.0) + x % -0.7 + (x // 0.1) * 0.01, [(6, 7), (6, 7)]),
    "scans_and_trig": (lambda t, x: t.cumsum(x, 1) + t.math.cumsum(x, 0, exclusive=True, reverse=True)
                       + t.sin(x * 3) + t.math.cos(x), [(6, 7)]),
    "tile_pad_reverse": (lambda t, x: t.concat([t.reshape(t.tile(x, [2, 1, 3]), [-1]),
                                                t.reshape(t.reverse(x, [0, 2]), [-1])], 0), [(3, 4, 5)]),
    "mirror_pads": (lambda t, x: t.concat([t.reshape(t.pad(x, [[1, 2], [0, 3], [2, 1]], "REFLECT"), [-1]),
                                           t.reshape(t.pad(x, [[3, 0], [0, 0], [2, 1]], "SYMMETRIC"), [-1])], 0),
                    [(3, 4, 5)]),
    "gather_slice_split": (lambda t, x: t.concat([t.reshape(v, [-1]) for v in (
        t.gather(x, [[1, 3], [0, 0]], axis=1), t.slice(x, [1, 0, 2], [-1, 2, 2]), t.split(x, [1, -1, 2], axis=1)[1],
        t.unstack(x, axis=2)[3])], 0), [(3, 4, 5)]),
    "conv2d_transpose_same": (lambda t, x, w: t.nn.conv2d_transpose(x, w, [2, 8, 10, 6], [1, 2, 2, 1], "SAME"),
                              [(2, 4, 5, 3), (3, 3, 6, 3)]),
    "conv2d_transpose_valid": (lambda t, x, w: t.nn.conv2d_transpose(x, w, [2, 10, 8, 2], 3, "VALID"),
                               [(2, 3, 2, 4), (2, 3, 2, 4)]),
    "separable_conv2d": (lambda t, x, d, p: t.nn.separable_conv2d(x, d, p, [1, 2, 2, 1], "SAME"),
                         [(2, 7, 6, 3), (3, 3, 3, 2), (1, 1, 6, 4)]),
    "trigonometry": (lambda t, x, y: t.tan(x) + t.asin(t.tanh(x) * 0.9) + t.math.acos(t.tanh(y) * 0.9)
                     + t.atan(x * 3) + t.sinh(y) + t.math.cosh(x) + t.atan2(x, y), [(6, 7), (6, 7)]),
    "reduce_prod": (lambda t, x: t.concat([t.reshape(t.reduce_prod(x + 1.5, axis=1), [-1]),
                                           t.reshape(t.reduce_prod(t.nn.relu(x), axis=[0, 2], keepdims=True), [-1])], 0),
                    [(3, 4, 5)]),
    "einsum": (lambda t, x, y, z: t.concat([t.reshape(t.einsum("bij,bjk,k->bi", x, y, z), [-1]),
                                            t.reshape(t.einsum("bij,bjk", x, y), [-1])], 0),
               [(2, 3, 4), (2, 4, 5), (5,)]),
    "sort_and_broadcast": (lambda t, x: t.sort(x, axis=1) + t.broadcast_to(x[0], [3, 4, 5]), [(3, 4, 5)]),
    "gather_batch_dims": (lambda t, x: t.concat([t.reshape(v, [-1]) for v in (
        t.gather(x, [[[1, 0], [3, 3], [2, 1]], [[0, 0], [1, 2], [3, 3]]], batch_dims=2, axis=2),
        t.gather(x, [[1, 0], [3, 2]], batch_dims=1, axis=2), t.gather(x, [[2, 0], [1, 1]], batch_dims=1))], 0),
        [(2, 3, 4, 5)]),
    "norms": (lambda t, x: t.concat([t.reshape(v, [-1]) for v in (
        t.norm(x), t.norm(x, axis=1), t.norm(x, ord=1, axis=2), t.norm(x, ord=np.inf, axis=[1, 2]),
        t.norm(x, ord=3, axis=0, keepdims=True), t.norm(x, ord="fro", axis=[0, 2]), t.norm(x, ord=1, axis=(1, 2)),
        t.math.reduce_variance(x, axis=[0, 2]), t.math.reduce_std(x, axis=1), t.math.reduce_euclidean_norm(x, 2))],
        0), [(3, 4, 5)]),
    "matrices": (lambda t, x, y: t.concat([t.reshape(v, [-1]) for v in (
        t.linalg.band_part(x, 1, 2), t.linalg.band_part(x, -1, 0), t.linalg.diag_part(x), t.linalg.trace(x),
        t.linalg.matrix_transpose(x), t.linalg.diag(x[:, 0]), t.tensordot(x, y, [[1, 2], [1, 0]]),
        t.tensordot(x, y, 1), t.math.divide_no_nan(x, t.nn.relu(x[::-1])), t.math.erf(x))], 0),
        [(2, 4, 5), (5, 4, 2)]),
    "lrn": (lambda t, x: t.concat([t.reshape(t.nn.lrn(x, 2, 1.5, 0.3, b), [-1]) for b in (0.75, 0.5, 1.0)], 0),
            [(2, 3, 2, 7)]),
}


# TensorFlow's CPU kernels have no dilated-convolution gradient; ours is checked by finite differences (test_ops).
FORWARD_ONLY = {"conv2d_valid_dilated", "rounding"}      # TF's Round has no gradient (dualflow's None too)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_gradients_match_tensorflow(name):
    fn, shapes = CASES[name]
    arrays = [R.normal(size=s).astype(np.float32) for s in shapes]
    ours, c = _ours(fn, arrays)
    theirs = _theirs(fn, arrays, c, grads=name not in FORWARD_ONLY)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_index_tuples_and_segments_match_tensorflow_bit_for_bit():
    """gather_nd, scatter_nd and the unsorted segment reductions, values and gradients: repeated indices add up
    in index order on TF's CPU, and here."""
    x = R.normal(size=(4, 3, 2)).astype(np.float32)
    d = R.normal(size=(7, 3)).astype(np.float32)
    tuples = np.array([[1, 2], [3, 0], [1, 2], [0, 1]], np.int32)
    ids = np.array([0, 2, -1, 2, 0, 2, 0], np.int32)

    def build(t, xv, dv):
        g = t.gather_nd(xv, tuples)
        s = t.scatter_nd(tuples, g * 3.0, [4, 3, 2]) + t.tensor_scatter_nd_add(xv, tuples[:2], g[:2])
        segs = [t.math.unsorted_segment_sum(dv, ids, 4), t.math.unsorted_segment_mean(dv, ids, 4),
                t.math.unsorted_segment_sqrt_n(dv, ids, 4)]
        return [g, s] + segs + [t.reduce_sum(s * s) + t.reduce_sum(segs[1] * segs[0]) + t.reduce_sum(segs[2])]
    xp, dp = tf.placeholder(tf.float32, x.shape), tf.placeholder(tf.float32, d.shape)
    outs = build(tf, xp, dp)
    with tf.Session() as sess:
        ours = sess.run(outs + tf.gradients(outs[-1], [xp, dp]), {xp: x, dp: d})
    xv, dv = real.Variable(x), real.Variable(d)
    with real.GradientTape() as tape:
        theirs = build(real, xv, dv)
    theirs = [v.numpy() for v in theirs + tape.gradient(theirs[-1], [xv, dv])]
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_tf1_decay_schedules_match_tensorflow_bit_for_bit():
    v1 = real.compat.v1
    for step in (0, 1, 10, 11, 29, 30, 99, 100, 101, 250, 1000):
        s = tf.placeholder(tf.int64, ())

        def schedules(t, st):
            return [t.train.polynomial_decay(0.1, st, 100, 0.001, 2.0),
                    t.train.polynomial_decay(0.1, st, 100, 0.001, 0.5, cycle=True),
                    t.train.natural_exp_decay(0.1, st, 30, 0.3), t.train.natural_exp_decay(0.1, st, 30, 0.3, True),
                    t.train.inverse_time_decay(0.1, st, 30, 0.7), t.train.inverse_time_decay(0.1, st, 30, 0.7, True),
                    t.train.cosine_decay(0.1, st, 100, 0.05), t.train.exponential_decay(0.1, st, 30, 0.96, True),
                    t.train.piecewise_constant(st, [np.int64(10), np.int64(100)], [0.1, 0.05, 0.01])]
        with tf.Session() as sess:
            ours = sess.run(schedules(tf, s), {s: step})
        theirs = [v() if callable(v) else v for v in schedules(v1, real.constant(np.int64(step)))]
        for a, b in zip(ours, theirs):
            assert a.dtype == b.numpy().dtype and a == b.numpy(), (step, a, b)


def test_assert_and_check_numerics_messages_match_tensorflow():
    v1 = real.compat.v1

    def message(t, build, feeds):
        g = t.Graph()
        with g.as_default():
            x = t.placeholder(t.float32, (3,), name="x")
            y = t.placeholder(t.float32, (3,), name="y")
            op = build(t, x, y)
            with t.Session() as sess:
                try:
                    sess.run(op, {x: feeds[0], y: feeds[1]})
                except t.errors.InvalidArgumentError as exc:
                    return [line for line in exc.message.split("\n") if "assertion" in line or "Tensor had" in line]
        return None
    builds = [lambda t, x, y: t.assert_equal(x, y), lambda t, x, y: t.assert_less(x, y, message="hello"),
              lambda t, x, y: t.debugging.assert_positive(x), lambda t, x, y: t.assert_non_negative(x, message="m"),
              lambda t, x, y: t.Assert(t.reduce_all(x > 0), [x, "bad", y], summarize=2),
              lambda t, x, y: t.check_numerics(x / y, "div")]
    for build in builds:
        for feeds in (([1, 2, 3], [1, 2, 3]), ([1, -2, 3], [1, 2, 4]), ([1, 2, 3], [0, 2, 4])):
            assert message(tf, build, feeds) == message(v1, build, feeds)


def test_cond_values_gradients_and_training_match_tensorflow():
    """Nested conds, tuple results and a capture returned as is, through five SGD steps on every path."""
    v1 = real.compat.v1
    x0 = R.normal(size=(4, 3)).astype(np.float32)
    w0 = R.normal(size=(3, 2)).astype(np.float32)

    def train(t):
        g = t.Graph()
        with g.as_default():
            x, p, q = t.placeholder(t.float32, (4, 3)), t.placeholder(t.bool, ()), t.placeholder(t.bool, ())
            w = t.Variable(w0)
            h = t.matmul(x, w)
            y = t.cond(p, lambda: t.nn.relu(h) * 2.0, lambda: t.cond(q, lambda: t.tanh(h), lambda: h * h))
            a, b = t.cond(q, lambda: (t.reduce_sum(y), t.sqrt(t.abs(h))), lambda: (t.reduce_mean(y * y), h))
            loss = a + t.reduce_sum(b)
            step = t.train.GradientDescentOptimizer(0.01).minimize(loss)
            out = []
            with t.Session() as sess:
                sess.run(t.global_variables_initializer())
                for pv, qv in ((True, True), (False, True), (False, False), (True, False), (False, False)):
                    out.append(sess.run([loss, step], {x: x0 * 0.5, p: pv, q: qv})[0])
                out.append(sess.run(w))
        return out
    for a, b in zip(train(tf), train(v1)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_streaming_metrics_match_tensorflow_bit_for_bit():
    v1 = real.compat.v1
    rng = np.random.default_rng(16)
    batches = [(rng.integers(0, 3, 5), rng.integers(0, 3, 5), rng.uniform(size=5).astype(np.float32))
               for _ in range(3)]

    def run(t):
        g = t.Graph()
        with g.as_default():
            lab, pred = t.placeholder(t.int64, (None,)), t.placeholder(t.int64, (None,))
            w = t.placeholder(t.float32, (None,))
            lf, pf = t.cast(lab, t.float32), t.cast(pred, t.float32)
            ms = [t.metrics.accuracy(lab, pred), t.metrics.accuracy(lab, pred, weights=w), t.metrics.mean(lf * w),
                  t.metrics.mean_squared_error(lf, pf), t.metrics.mean_absolute_error(lf, pf, weights=w),
                  t.metrics.precision(t.equal(lab, 1), t.equal(pred, 1)),
                  t.metrics.recall(t.equal(lab, 2), t.equal(pred, 2), weights=w),
                  t.metrics.true_positives(t.equal(lab, 1), t.equal(pred, 1)),
                  t.metrics.false_positives(t.equal(lab, 1), t.equal(pred, 1))]
            out = []
            with t.Session() as sess:
                sess.run(t.local_variables_initializer())
                out.append(sess.run([m[0] for m in ms]))
                for a, b, c in batches:
                    out.append(sess.run([m[1] for m in ms], {lab: a, pred: b, w: c}))
                out.append(sess.run([m[0] for m in ms]))
            return out, sorted(v.name for v in t.local_variables())
    (ours, our_names), (theirs, their_names) = run(tf), run(v1)
    assert our_names == their_names
    for a, b in zip(ours, theirs):
        for x, y in zip(a, b):
            assert x.dtype == y.dtype and x == y


def test_case_and_integer_reductions_match_tensorflow():
    v1 = real.compat.v1

    def run(t):
        g = t.Graph()
        out = []
        with g.as_default():
            x, f = t.placeholder(t.int32, ()), t.placeholder(t.float32, (2,))
            m = t.placeholder(t.int32, (2, 3))
            pairs = [(t.less(x, 0), lambda: f * -1.0), (t.less(x, 5), lambda: f * 2.0)]
            cases = [t.case(pairs, default=lambda: f), t.case(pairs),
                     t.case([(t.less(x, 3), lambda: f * -1.0), (t.less(x, 5), lambda: f * 2.0)], default=lambda: f,
                            exclusive=True)]
            reductions = [t.reduce_sum(m), t.reduce_mean(m), t.reduce_mean(m, 0), t.reduce_mean(m, 1),
                          t.reduce_prod(m, 0)]
            with t.Session() as sess:
                mv = np.array([[-7, 2, 2 ** 30], [3, 1, 2 ** 30]], np.int32)
                out.append([(r.dtype, r.tolist()) for r in sess.run(reductions, {m: mv})])
                for xv in (-3, 2, 4, 9):
                    for c in cases:
                        try:
                            out.append(sess.run(c, {x: xv, f: [1.0, 2.0]}).tolist())
                        except t.errors.InvalidArgumentError as exc:
                            out.append([line for line in exc.message.split("\n") if "assertion failed" in line])
        return out
    assert run(tf) == run(v1)


def test_value_shaped_ops_cumprod_and_tf1_where_match_tensorflow_bit_for_bit():
    """boolean_mask, where (both forms), unique, cumprod (every mode, TF's gradient at a zero) and sorted
    segment sums: values, dtypes and gradients."""
    v1 = real.compat.v1
    x = R.normal(size=(3, 4)).astype(np.float32)
    x[1, 2] = 0.0
    d = R.normal(size=(6, 2)).astype(np.float32)
    ids = np.array([0, 0, 2, 2, 2, 5], np.int32)

    def run(t, where):
        g = t.Graph()
        with g.as_default():
            xp, dp = t.placeholder(t.float32, (3, 4)), t.placeholder(t.float32, (6, 2))
            prods = [t.cumprod(xp, 1), t.math.cumprod(xp, 0, exclusive=True), t.math.cumprod(xp, 1, reverse=True),
                     t.math.cumprod(xp, 1, exclusive=True, reverse=True)]
            masked = t.boolean_mask(xp, xp > 0)
            segs = [t.math.segment_sum(dp, ids), t.math.segment_mean(dp, ids)]
            loss = (sum(t.reduce_sum(p * p) for p in prods) + t.reduce_sum(masked * masked)
                    + t.reduce_sum(segs[0] * segs[1]))
            outs = prods + [masked] + segs + t.gradients(loss, [xp, dp]) + [
                where(t.constant([True, False, True]), xp[:, :3], -xp[:, :3]), where(xp > 0)]
            outs += list(t.unique(t.constant([4.0, 1, 4, 2, 1]))) + list(
                t.unique_with_counts(t.constant([3, 3, 1, 2, 1, 3]), out_idx=t.int64))
            with t.Session() as sess:
                return sess.run(outs, {xp: x, dp: d})
    for i, (a, b) in enumerate(zip(run(tf, tf.where), run(v1, v1.where))):
        assert a.dtype == b.dtype
        if i in (7, 8):     # gradients summed over several paths: TF's AddN adds them in its own order
            np.testing.assert_allclose(a, b, rtol=1e-6)
        else:
            np.testing.assert_array_equal(a, b)


def test_while_loop_values_gradients_and_structures_match_tensorflow():
    v1 = real.compat.v1

    def run(t):
        g = t.Graph()
        with g.as_default():
            x, w = t.placeholder(t.float32, (2,)), t.placeholder(t.float32, (2,))
            i = t.constant(0)
            r = t.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * w + t.sin(a)), [i, x])
            counted = t.while_loop(lambda i: i < 3, lambda i: i + 1, [i])
            grown = t.while_loop(lambda a: t.reduce_sum(a) < 10, lambda a: t.concat([a, a], 0), [x],
                                 shape_invariants=[t.TensorShape([None])])
            nested = t.while_loop(lambda i, d: i < 3, lambda i, d: (i + 1, {"a": d["a"] * 2.0}), (i, {"a": x}))
            capped = t.while_loop(lambda i: i < 100, lambda i: i + 1, [i], maximum_iterations=5)
            grads = t.gradients(t.reduce_sum(r[1] * r[1]) + t.reduce_sum(nested[1]["a"]), [x, w])
            with t.Session() as sess:
                return sess.run([r, counted, grown, nested, capped, grads], {x: [1.0, 2.0], w: [0.5, -1.5]})
    ours, theirs = run(tf), run(v1)
    assert repr(ours) == repr(theirs)       # values, dtypes and structures, bit for bit


def test_image_functions_match_tensorflow():
    """Bit for bit but for the standardization and adjust_contrast (their means summed in another order) and
    the gradient."""
    v1 = real.compat.v1
    img = R.uniform(0, 1, size=(2, 5, 7, 3)).astype(np.float32)

    def run(t):
        g = t.Graph()
        with g.as_default():
            x = t.placeholder(t.float32, (None, 5, 7, 3))
            im = t.image
            outs = [im.flip_left_right(x), im.flip_up_down(x), im.crop_to_bounding_box(x, 1, 2, 3, 4),
                    im.pad_to_bounding_box(x, 1, 2, 8, 10), im.central_crop(x, 0.5),
                    im.resize_image_with_crop_or_pad(x, 3, 9), im.resize_images(x, [9, 4]),
                    im.resize_images(x, [3, 11], align_corners=True),
                    im.resize_bilinear(x, [8, 5], half_pixel_centers=True),
                    im.resize_images(x, [9, 4], method=im.ResizeMethod.NEAREST_NEIGHBOR),
                    im.resize_nearest_neighbor(x, [3, 11], align_corners=True),
                    im.resize_nearest_neighbor(x, [8, 13], half_pixel_centers=True),
                    im.adjust_brightness(x, 0.2), im.rgb_to_grayscale(x), im.grayscale_to_rgb(x[..., :1]),
                    im.per_image_standardization(x), im.adjust_contrast(x, 1.7)]
            outs.append(t.gradients(sum(t.reduce_sum(o * o) for o in outs[6:9] + outs[12:14] + outs[15:16]), x)[0])
            with t.Session() as sess:
                return sess.run(outs, {x: img})
    ours, theirs = run(tf), run(v1)
    for a, b in zip(ours[:-3], theirs[:-3]):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    for a, b in zip(ours[-3:], theirs[-3:]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_more_nn_and_math_functions_match_tensorflow():
    """conv1d, 1-D pools, atrous and the convolution gradients by name, xw_plus_b, relu_layer, log_sigmoid,
    softsign, crelu, weighted cross-entropy, zero_fraction: values and gradients (TF's CPU has no dilated
    convolution gradient, so the dilated ones give values only)."""
    v1 = real.compat.v1
    x1, w1 = R.normal(size=(2, 9, 3)).astype(np.float32), R.normal(size=(3, 3, 4)).astype(np.float32)
    x2, w2 = R.normal(size=(2, 7, 8, 3)).astype(np.float32), R.normal(size=(3, 3, 3, 5)).astype(np.float32)
    w, b = R.normal(size=(3, 4)).astype(np.float32), R.normal(size=4).astype(np.float32)

    def run(t):
        g = t.Graph()
        with g.as_default():
            a, c = t.placeholder(t.float32, x1.shape), t.placeholder(t.float32, x2.shape)
            dilated = [t.nn.conv1d(a, w1, 1, "VALID", dilations=2), t.nn.atrous_conv2d(c, w2, 2, "SAME")]
            outs = [t.nn.conv1d(a, w1, 2, "SAME"), t.nn.max_pool1d(a, 2, 2, "VALID"), t.nn.avg_pool1d(a, 3, 1, "SAME"),
                    t.nn.conv2d_backprop_input([2, 7, 8, 3], w2, t.nn.conv2d(c, w2, [1, 2, 2, 1], "SAME"),
                                               [1, 2, 2, 1], "SAME"),
                    t.nn.conv2d_backprop_filter(c, [3, 3, 3, 5], t.nn.conv2d(c, w2, [1, 1, 1, 1], "VALID"),
                                                [1, 1, 1, 1], "VALID"),
                    t.nn.xw_plus_b(a[:, 0], w, b), t.nn.relu_layer(a[:, 0], w, b), t.math.log_sigmoid(a * 30),
                    t.nn.softsign(a), t.nn.crelu(a),
                    t.nn.weighted_cross_entropy_with_logits(labels=t.sigmoid(a * 2), logits=a * 5, pos_weight=3.0)]
            grads = t.gradients(sum(t.reduce_sum(o * o) for o in outs), [a, c])
            with t.Session() as sess:
                return sess.run(dilated + outs + grads + [t.math.zero_fraction(t.nn.relu(a))], {a: x1, c: x2})
    for x, y in zip(run(tf), run(v1)):
        assert x.dtype == y.dtype
        # float32 sums of convolution products in two orders: the gradients reach 1e4 and cancel
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-4)


def test_dataset_pipelines_give_tensorflows_elements():
    v1 = real.compat.v1
    x = R.normal(size=(7, 3)).astype(np.float32)
    y = np.arange(7)

    def run(t):
        g = t.Graph()
        with g.as_default():
            ph = t.placeholder(t.float32, (None, 3))
            data = t.data.Dataset
            pipelines = [
                data.from_tensor_slices((x, y)).map(lambda a, b: (a * 2.0 + 1.0, b * 3)).batch(3),
                data.from_tensor_slices({"a": x, "b": y}).repeat(2).skip(3).take(9).batch(4, True),
                data.range(5).repeat().take(12),
                data.zip((data.from_tensor_slices(x), data.range(10))).map(
                    lambda u, v: u * 2.0 + t.cast(v, t.float32)).batch(4),
                data.from_tensor_slices(x).concatenate(data.from_tensor_slices(x[:2] * -1)).filter(
                    lambda u: t.reduce_sum(u) > 0.5),
                data.from_generator(lambda: ((np.full(2, i, np.float32), i) for i in range(4)),
                                    (t.float32, t.int64), (t.TensorShape([2]), t.TensorShape([]))).repeat(2).batch(3),
            ]
            one_shot = [t.compat.v1.data.make_one_shot_iterator(p).get_next() for p in pipelines]
            it = t.compat.v1.data.make_initializable_iterator(t.data.Dataset.from_tensor_slices(ph).batch(2))
            fed = it.get_next()
            out = []
            with t.Session() as sess:
                for element in one_shot:
                    while True:
                        try:
                            out.append(sess.run(element))
                        except t.errors.OutOfRangeError:
                            out.append("end")
                            break
                sess.run(it.initializer, {ph: x})
                while True:
                    try:
                        out.append(sess.run(fed))
                    except t.errors.OutOfRangeError:
                        break
            return out, [o.shape.as_list() if hasattr(o, "shape") else None for o in [fed]]
    assert repr(run(tf)) == repr(run(v1))


def test_fused_batch_norm_matches_tensorflow():
    v1 = real.compat.v1
    x = (R.normal(size=(4, 5, 6, 3)) * 2 + 1).astype(np.float32)
    scale, offset = R.normal(size=3).astype(np.float32), R.normal(size=3).astype(np.float32)
    mean, var = R.normal(size=3).astype(np.float32), R.uniform(0.5, 2, size=3).astype(np.float32)

    def run(t):
        g = t.Graph()
        with g.as_default():
            xp = t.placeholder(t.float32, x.shape)
            train = t.nn.fused_batch_norm(xp, scale, offset)
            infer = t.nn.fused_batch_norm(xp, scale, offset, mean, var, is_training=False)
            nchw = t.nn.fused_batch_norm(t.transpose(xp, [0, 3, 1, 2]), scale, offset, epsilon=1e-7,
                                         data_format="NCHW")
            grad = t.gradients(t.reduce_sum(train[0] * train[0]) + t.reduce_sum(infer[0] * xp), xp)[0]
            with t.Session() as sess:
                return sess.run(list(train) + list(infer) + list(nchw) + [grad], {xp: x})
    for a, b in zip(run(tf), run(v1)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-5)


def test_bidirectional_dynamic_rnn_and_reverse_sequence_match_tensorflow():
    """TF's own legacy bidirectional_dynamic_rnn (its compat.v1 API no longer exports the cells beside Keras 3)."""
    from tensorflow.python.ops import rnn as tf_rnn
    from tensorflow.python.ops import rnn_cell_impl
    x = R.normal(size=(3, 4, 2)).astype(np.float32)
    lengths = np.array([4, 2, 0])

    def run(v, lib, bidirectional, graph, values=None):
        with graph.as_default():
            ph = v.placeholder(v.float32, x.shape)
            (out_fw, out_bw), (state_fw, state_bw) = bidirectional(
                lib.GRUCell(3), lib.BasicLSTMCell(2), ph, sequence_length=lengths, dtype=v.float32)
            mirrored = v.reverse_sequence(ph, lengths, seq_axis=1, batch_axis=0)
            loss = v.reduce_sum(out_fw * out_fw) + v.reduce_sum(out_bw * out_bw * 2) + v.reduce_sum(state_bw.h)
            variables = v.trainable_variables()
            grads = v.gradients(loss, [ph] + variables)
            sess = v.Session(graph=graph)
            sess.run(v.global_variables_initializer())
            if values is None:
                values = [R.normal(scale=0.5, size=tuple(w.shape)).astype(np.float32) for w in variables]
            for w, value in zip(variables, values):
                w.load(value, sess)
            got = sess.run([out_fw, out_bw, state_fw, state_bw.c, state_bw.h, mirrored] + grads, {ph: x})
            return [w.op.name for w in variables], values, got
    names, values, ours = run(tf, tf.nn.rnn_cell, tf.nn.bidirectional_dynamic_rnn, tf.get_default_graph())
    their_names, _, theirs = run(real.compat.v1, rnn_cell_impl, tf_rnn.bidirectional_dynamic_rnn, real.Graph(), values)
    assert names == their_names
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_sparse_cross_entropy_matches_tensorflow():
    z = R.normal(size=(6, 4)).astype(np.float32)
    y = np.array([0, 3, 1, 1, 2, 0])
    zp = tf.placeholder(tf.float32, (6, 4))
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(y, tf.int64), logits=zp)
    g, = tf.gradients(tf.reduce_sum(loss), zp)
    with tf.Session() as sess:
        lv, gv = sess.run([loss, g], {zp: z})
    zv = real.Variable(z)
    with real.GradientTape() as tape:
        ref = real.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=zv)
        total = real.reduce_sum(ref)
    np.testing.assert_allclose(lv, ref.numpy(), rtol=1e-5)
    np.testing.assert_allclose(gv, tape.gradient(total, zv).numpy(), rtol=1e-5, atol=1e-7)


def test_adam_optimizer_steps_match_tensorflow_v1():
    w0 = R.normal(size=(4,)).astype(np.float32)
    grads = [R.normal(size=(4,)).astype(np.float32) for _ in range(3)]
    w = tf.Variable(w0)
    g = tf.placeholder(tf.float32, (4,))
    opt = tf.train.AdamOptimizer(0.01, epsilon=1e-3)
    step = opt.apply_gradients([(g, w)])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for gv in grads:
            sess.run(step, {g: gv})
        ours = sess.run(w)
    v1 = real.compat.v1
    graph = real.Graph()
    with graph.as_default():
        rw = v1.Variable(w0)
        rg = v1.placeholder(real.float32, (4,))
        rstep = v1.train.AdamOptimizer(0.01, epsilon=1e-3).apply_gradients([(rg, rw)])
        with v1.Session(graph=graph) as rs:
            rs.run(v1.global_variables_initializer())
            for gv in grads:
                rs.run(rstep, {rg: gv})
            theirs = rs.run(rw)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


def test_early_stopping_follows_keras():
    from tests.test_keras import _Recorder
    vals = [1.0, 0.8, 0.78, 0.9, 0.7, 0.75, 0.76, 0.74, 0.2]
    traces = []
    for lib in (tf.keras, real.keras):
        for kw in (dict(patience=2, min_delta=0.05, restore_best_weights=True), dict(patience=1, baseline=0.5)):
            cb = lib.callbacks.EarlyStopping(monitor="val_loss", **kw)
            model = _Recorder()
            cb.set_model(model)
            cb.on_train_begin()
            for epoch, val in enumerate(vals):
                model.version = epoch
                cb.on_epoch_end(epoch, {"val_loss": val})
                if model.stop_training:
                    break
            cb.on_train_end()
            traces.append((epoch, cb.stopped_epoch, float(cb.best), model.restored))
    assert traces[:2] == traces[2:]


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_learning_rate_scheduler_changes_the_steps_as_keras(optimizer):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, 3)).astype(np.float32)
    y = rng.normal(size=(16, 1)).astype(np.float32)
    rates = [0.1, 0.0, 0.02]
    weights = []
    for lib in (tf.keras, real.keras):
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1, kernel_initializer="ones")])
        model.compile(optimizer=getattr(lib.optimizers, optimizer)(rates[0]), loss="mse")
        model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[lib.callbacks.LearningRateScheduler(lambda epoch: rates[epoch])])
        weights.append(model.get_weights())
    for ours, theirs in zip(*weights):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_assigns_fetched_in_one_run_read_the_variable_as_tf1_ref_variables_do():
    """A TF1 ``tf.Variable`` is a ref variable: an assign's output is the variable itself, read when the
    session copies the fetch out.  dualflow copies fetches after the run, so two ordered assigns fetched in
    one run both show the last value; TF1 copies each when its op is done, racing the later assign (measured:
    the last value in 15 of 40 runs, each write's own value in 25), so TF gives either."""
    import tensorflow.compat.v1 as tf1
    results = []
    for lib in (tf, tf1):
        g = lib.Graph()
        with g.as_default():
            v = lib.Variable(np.zeros(2, np.float32))
            a = lib.assign(v, [1.0, 2.0])
            with lib.control_dependencies([a]):
                b = lib.assign_add(v, [10.0, 10.0])
            with lib.Session() as s:
                s.run(v.initializer)
                results.append([x.tolist() for x in s.run([a, b])])
    assert results[0] == [[11.0, 12.0], [11.0, 12.0]]
    assert results[1] in ([[11.0, 12.0], [11.0, 12.0]], [[1.0, 2.0], [11.0, 12.0]])


def test_seeded_dropout_restarts_in_a_new_session_as_tf1():
    """The masks' bits differ (TF's generator is not ours); what must agree is when a stream restarts: each
    run of one Session draws anew, a new Session on the same seeded graph gives the first mask again."""
    from tests.helpers import seeded_dropout_pattern
    theirs = seeded_dropout_pattern(real.compat.v1, real.Graph())
    assert seeded_dropout_pattern(tf, tf.Graph()) == theirs == (False, True)


ALL = (np.float16, np.float32, np.float64)
# name: (the optimizer in either library, the dtypes in which its values agree bit for bit)
TF1_OPTIMIZERS = {
    "adam": (lambda t: t.train.AdamOptimizer(0.001), ALL),
    "momentum": (lambda t: t.train.MomentumOptimizer(0.01, 0.9), ALL),
    "nesterov": (lambda t: t.train.MomentumOptimizer(0.01, 0.9, use_nesterov=True), ALL),
    "gradient_descent": (lambda t: t.train.GradientDescentOptimizer(0.1), ALL),
    "rmsprop_centered": (lambda t: t.train.RMSPropOptimizer(0.001, momentum=0.5, centered=True), ALL),
    "rmsprop": (lambda t: t.train.RMSPropOptimizer(0.001), ALL),
    "adagrad": (lambda t: t.train.AdagradOptimizer(0.01), ()),
    "adadelta": (lambda t: t.train.AdadeltaOptimizer(0.01), ()),
}


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(TF1_OPTIMIZERS))
def test_tf1_optimizer_variables_and_values_match_tensorflow(name, dtype):
    """The same global variables (slots and Adam's beta powers, by name and in order) and, after 20 steps of
    wide-ranging gradients, the same values in float16, float32 and float64: GradientDescent's, Momentum's,
    Adam's and RMSProp's bit for bit (TF1's own arithmetic, its rate and momentum cast to the variable's
    dtype), Adagrad's and Adadelta's to rounding (TF1's Eigen kernels take reciprocal square roots, which
    NumPy's correctly rounded square root and division do not reproduce)."""
    make, exact_in = TF1_OPTIMIZERS[name]
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(1003).astype(dtype)
    top = 1 if dtype == np.float16 else 3       # float16 squares stay finite
    grads = [(rng.standard_normal(1003) * 10.0 ** rng.integers(-4, top, 1003)).astype(dtype) for _ in range(20)]

    def run(lib):
        g = lib.Graph()
        with g.as_default():
            w = lib.Variable(w0, name="w")
            gp = lib.placeholder(lib.as_dtype(dtype), (1003,))
            opt = make(lib)
            train = opt.apply_gradients([(gp, w)])
            variables = lib.global_variables()
            with lib.Session(graph=g) as s:
                s.run(lib.global_variables_initializer())
                for gv in grads:
                    s.run(train, {gp: gv})
                return [v.name for v in variables], s.run(variables), opt.get_slot_names()

    # In float16 TF1's default epsilons (1e-8) round to 0, so some values are inf or NaN there, as in TF1.
    with np.errstate(divide="ignore", invalid="ignore"):
        ours = run(tf)
    theirs = run(real.compat.v1)
    assert ours[0] == theirs[0] and ours[2] == theirs[2]
    for a, b in zip(ours[1], theirs[1]):
        if dtype in exact_in:
            assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
        else:
            np.testing.assert_allclose(a, b, rtol={np.float16: 2e-2, np.float32: 1e-5}.get(dtype, 1e-13), atol=1e-30)


KERAS_OPTIMIZERS = {
    "adam": ("Adam", {}), "adam_amsgrad": ("Adam", {"amsgrad": True}), "adamw": ("AdamW", {}),
    "adam_weight_decay": ("Adam", {"weight_decay": 0.01}),
    "sgd": ("SGD", {}), "sgd_nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "sgd_momentum": ("SGD", {"momentum": 0.9}), "adagrad_initial": ("Adagrad", {"initial_accumulator_value": 0.3}),
    "rmsprop": ("RMSprop", {}), "rmsprop_centered": ("RMSprop", {"momentum": 0.5, "centered": True}),
    "adagrad": ("Adagrad", {}), "adadelta": ("Adadelta", {}),
}


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(KERAS_OPTIMIZERS))
def test_keras_optimizers_match_keras_bit_for_bit(name, dtype):
    """20 steps of wide-ranging gradients through each Keras optimizer's own update (Keras 3's
    ``update_step``, its rounding of hyperparameters included: a float32 rate and float32 casts of some
    constants, which a float64 variable sees) give Keras' values bit for bit."""
    cls, kw = KERAS_OPTIMIZERS[name]
    kw = {"learning_rate": 0.003, **kw}
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal(1003).astype(dtype)
    top = 1 if dtype == np.float16 else 3       # float16 squares stay finite
    grads = [(rng.standard_normal(1003) * 10.0 ** rng.integers(-4, top, 1003)).astype(dtype) for _ in range(20)]
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(w0, name="w")
        gp = tf.placeholder(tf.as_dtype(dtype), (1003,))
        train = getattr(tf.keras.optimizers, cls)(**kw).apply_gradients([(gp, w)])
        with tf.Session(graph=g) as s:
            s.run(tf.global_variables_initializer())
            for gv in grads:
                s.run(train, {gp: gv})
            ours = s.run(w)
    rv = real.Variable(w0)
    opt = getattr(real.keras.optimizers, cls)(**kw)
    for gv in grads:
        opt.apply_gradients([(real.constant(gv), rv)])
    assert ours.tobytes() == rv.numpy().tobytes()
    assert not np.array_equal(ours, w0)


@pytest.mark.parametrize("freeze", ["dense", "batch_norm", "model_then_head"])
def test_frozen_layers_train_as_keras(freeze):
    """``trainable = False`` before ``compile``: the frozen weights stay, a frozen BatchNormalization runs in
    inference mode (its moving statistics used and left alone), the rest trains as in Keras."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(32, 5)).astype(np.float32) * 2 + 1
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 32)]
    start = None
    results = []
    for lib in (tf.keras, real.keras):
        L = lib.layers
        inp = L.Input((5,))
        base = L.Dense(4, name="base")
        bn = L.BatchNormalization(name="bn")
        h = bn(base(inp))
        if freeze == "model_then_head":
            lib.models.Model(inp, h).trainable = False
        head = L.Dense(3, activation="softmax", name="head")
        model = lib.models.Model(inp, head(h))
        if freeze == "dense":
            base.trainable = False
        elif freeze == "batch_norm":
            bn.trainable = False
        if start is None:
            start = model.get_weights()
            # moving statistics away from 0 and 1, so inference mode differs from batch statistics
            start[4], start[5] = np.full(4, 0.5, np.float32), np.full(4, 2.0, np.float32)
        model.set_weights(start)
        model.compile(lib.optimizers.SGD(0.1), "categorical_crossentropy")
        history = model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"]
        results.append((model.get_weights(), history, len(model.trainable_weights),
                        len(model.non_trainable_weights)))
    (ours, our_loss, our_t, our_n), (theirs, their_loss, their_t, their_n) = results
    assert (our_t, our_n) == (their_t, their_n)
    np.testing.assert_allclose(our_loss, their_loss, rtol=1e-5)
    for a, b, s in zip(ours, theirs, start):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    frozen = {"dense": [0, 1], "batch_norm": [2, 3, 4, 5], "model_then_head": [0, 1, 2, 3, 4, 5]}[freeze]
    for i in frozen:
        np.testing.assert_array_equal(ours[i], start[i])


@pytest.mark.parametrize("loss", ["categorical", "categorical_logits", "binary", "binary_logits"])
def test_label_smoothing_trains_as_keras(loss):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 32)]
    results = []
    for lib in (tf.keras, real.keras):
        cls = lib.losses.CategoricalCrossentropy if loss.startswith("categorical") else lib.losses.BinaryCrossentropy
        logits = loss.endswith("logits")
        inp = lib.layers.Input((4,))
        act = None if logits else ("softmax" if loss.startswith("categorical") else "sigmoid")
        model = lib.models.Model(inp, lib.layers.Dense(3, activation=act, kernel_initializer="ones")(inp))
        model.compile(lib.optimizers.SGD(0.1), cls(from_logits=logits, label_smoothing=0.2))
        history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False).history["loss"]
        results.append([np.array(history)] + model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_train_test_and_predict_on_batch_match_keras():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    results = []
    for lib in (tf.keras, real.keras):
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(5, activation="relu", kernel_initializer="ones"),
                                lib.layers.Dense(3, kernel_initializer="ones", activation="softmax")])
        model.compile(lib.optimizers.SGD(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
        first = model.train_on_batch(x[:8], y[:8], return_dict=True)
        second = model.train_on_batch(x[:8], y[:8], class_weight={0: 2.0, 1: 1.0, 2: 0.5})
        second += model.train_on_batch(x[8:], y[8:], sample_weight=np.linspace(0, 1, 8).astype(np.float32))
        results.append([first["loss"], first["accuracy"]] + list(second) + list(model.test_on_batch(x[8:], y[8:]))
                       + [model.predict_on_batch(x[:3])] + model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_reduce_lr_on_plateau_follows_keras():
    from tests.test_keras import _plateau_trace
    values = [1.0, 0.9, 0.899, 0.95, 0.97, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.5, 0.5, 0.5]
    for kw in (dict(factor=0.5, patience=2, cooldown=1, min_lr=0.05, min_delta=0.01),
               dict(monitor="val_accuracy", mode="max", factor=0.3, patience=1),
               dict(mode="max", factor=0.5, patience=3, cooldown=2)):
        assert _plateau_trace(tf.keras, values, **kw) == _plateau_trace(real.keras, values, **kw)


def test_learning_rate_scheduler_compounds_in_float32_as_keras():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype(np.float32), rng.normal(size=(32, 1)).astype(np.float32)
    runs = []
    for lib in (tf.keras, real.keras):
        seen = []
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1, kernel_initializer="ones")])
        model.compile(lib.optimizers.SGD(0.01), "mse")
        schedule = lib.callbacks.LearningRateScheduler(lambda epoch, lr: (seen.append(lr), lr * 0.9)[1])
        history = model.fit(x, y, epochs=5, verbose=0, callbacks=[schedule]).history
        runs.append((seen, history["learning_rate"], model.get_weights()[0].tolist()))
    assert runs[0][:2] == runs[1][:2]
    np.testing.assert_allclose(runs[0][2], runs[1][2], rtol=1e-5)


@pytest.mark.parametrize("k", range(5))
def test_integer_divisions_are_tf1s_truediv(k):
    """int32 / int32 is a float64 division (int16 float32), and a constant denominator's reciprocal multiplies."""
    fns = [lambda L, p, q: p / 3, lambda L, p, q: p / L.constant(7), lambda L, p, q: 3 / p, lambda L, p, q: p / p,
           lambda L, p, q: q / 3]
    x = np.arange(-5000, 5000, 7).astype(np.int32)
    x[x == 0] = 1
    got = []
    for lib, v1 in ((tf, tf), (real, real.compat.v1)):
        with lib.Graph().as_default():
            p, q = v1.placeholder(lib.int32, (None,)), v1.placeholder(lib.int16, (None,))
            with v1.Session() as s:
                got.append(s.run(fns[k](lib, p, q), {p: x, q: x.astype(np.int16)}))
    assert got[0].dtype == got[1].dtype and np.array_equal(got[0], got[1])


@pytest.mark.parametrize("k", range(5))
def test_divisions_by_constants_round_as_tf1s_grappler(k):
    """TF1 Sessions run a float division by a constant as a multiplication by its reciprocal (Grappler's
    constant folding): ``x / 3.0``, ``tf.divide``, a constant tensor, a constant vector; and c / x as a RealDiv.
    Values and gradients bit for bit."""
    fns = [lambda L, p: p / 3.0, lambda L, p: L.divide(p, 255.0), lambda L, p: p / L.constant([3., 7., 0.1]),
           lambda L, p: 2.0 / p, lambda L, p: p / (p * 0.0 + 3.0)]
    x = np.random.default_rng(k).uniform(0.5, 2.0, (1000, 3)).astype(np.float32)
    got = []
    for lib, v1 in ((tf, tf), (real, real.compat.v1)):
        with lib.Graph().as_default():
            p = v1.placeholder(lib.float32, (None, 3))
            y = fns[k](lib, p)
            g, = v1.gradients(v1.reduce_sum(y * y), [p])
            with v1.Session() as s:
                got.append(s.run([y, g], {p: x}))
    for a, b in zip(*got):
        assert np.array_equal(a, b)


def test_layer_normalization_and_activation_names_train_as_keras():
    rng = np.random.default_rng(6)
    x = (rng.normal(size=(32, 3, 5)) * 2 + 1).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 32)]

    def build(keras):
        L = keras.layers
        inp = L.Input((3, 5))
        h = L.LayerNormalization(epsilon=1e-2)(inp)
        h = L.Dense(4, activation="selu")(L.LayerNormalization(axis=[1, 2])(L.Dense(6, activation="swish")(h)))
        h = L.Flatten()(L.Activation("relu6")(L.Dense(4, activation="elu")(h)))
        return keras.models.Model(inp, L.Dense(3, activation="softmax")(L.Dense(5, activation="softplus")(h)))
    assert_trains_as_keras(build, lambda keras: keras.optimizers.Adam(0.01), "categorical_crossentropy", x, y,
                           jitter=0.1, rng=rng, predict=4, rtol=2e-5, atol=2e-6)


def test_zero_initialized_sigmoid_output_trains_as_keras():
    """All logits 0 at the first step: the binary cross-entropy's gradient there is sigmoid(0) - y."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(16, 4)).astype(np.float32)
    y = (rng.normal(size=(16, 1)) > 0).astype(np.float32)
    assert_trains_as_keras(
        lambda keras: keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu",
                                                                              kernel_initializer="ones"),
                                        keras.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros")]),
        lambda keras: keras.optimizers.SGD(0.5), "binary_crossentropy", x, y)


@pytest.mark.parametrize("kw", [dict(center=False, scale=False), dict(center=False), dict(scale=False),
                                dict(axis=1, center=False, scale=False, momentum=0.5)])
def test_batch_normalization_options_train_as_keras(kw):
    rng = np.random.default_rng(9)
    x = (rng.normal(size=(16, 5, 4, 3)) * 2 + 1).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 16)]
    assert_trains_as_keras(
        lambda keras: keras.Sequential([keras.Input((5, 4, 3)), keras.layers.BatchNormalization(**kw),
                                        keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")]),
        lambda keras: keras.optimizers.SGD(0.1), "categorical_crossentropy", x, y, batch_size=4, jitter=0.05,
        rng=rng, predict=4)


@pytest.mark.parametrize("optimizer,kw", [("Adam", dict(learning_rate=0.01, clipnorm=0.1)),
                                          ("Adam", dict(learning_rate=0.01, clipvalue=0.01)),
                                          ("SGD", dict(learning_rate=0.1, global_clipnorm=0.1)),
                                          ("SGD", dict(learning_rate=0.1, momentum=0.9, clipnorm=0.05)),
                                          ("RMSprop", dict(clipvalue=0.001))])
def test_gradient_clipping_trains_as_keras(optimizer, kw):
    rng = np.random.default_rng(10)
    x = (rng.normal(size=(40, 5)) * 3).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]
    assert_trains_as_keras(
        lambda keras: keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                                        keras.layers.Dense(3, activation="softmax")]),
        lambda keras: getattr(keras.optimizers, optimizer)(**kw), "categorical_crossentropy", x, y)


def test_range_linspace_and_integer_ops_give_tensorflows_values():
    real_v1 = real.compat.v1
    def build(t):
        return [t.range(-3, 5, 0.37), t.range(10, 0, -3), t.range(0.1, 2.9, 0.013, dtype=t.float64),
                t.linspace(-5.5, 3.3, 1000), t.fill([2, 3], 9.5), t.count_nonzero(t.constant([[0.0, 1.0], [2.0, 0.0]]),
                                                                                 axis=0),
                t.sequence_mask([1, 3, 0], 4, dtype=t.float32), t.argsort(t.constant([3.0, 1.0, 2.0, 1.0, 3.0]),
                                                                          direction="DESCENDING"),
                t.shape(t.zeros([2, 3])), t.size(t.zeros([2, 3]))]
    ours = tf.Session().run(build(tf))
    theirs = [v.numpy() for v in build(real_v1)]
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_relu_keeps_a_negative_zero_as_tensorflow():
    values = np.float32([-0.0, 0.0, -1.0, np.nan, 2.0])
    ours = tf.Session().run(tf.nn.relu(tf.constant(values)))
    theirs = real.nn.relu(values).numpy()
    assert np.array_equal(np.signbit(ours), np.signbit(theirs)) and np.array_equal(ours, theirs, equal_nan=True)
