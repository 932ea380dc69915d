"""tf.map_fn, tf.scan, tf.foldl and tf.foldr (static_api/functional_ops.py, core.ops.control.Scan): values
against plain NumPy loops and hand values, gradients against float64 central differences, over batches whose
length is known only when the graph runs; structures, dtypes, empty batches and TF's errors.  The real TF is
compared in tests/test_reference_tf1_functional_ops.py."""
import collections

import numpy as np
import pytest

import static_api as tf
from tests.helpers import central_differences

R = np.random.default_rng(31)
X = R.normal(size=(4, 3))           # four rows of three
W = R.normal(size=(3,))


def _run(build, feeds):
    """Build a graph with ``build(placeholders)`` (the first of unknown first dim, the batch) and run its fetches
    once."""
    with tf.Graph().as_default():
        phs = [tf.placeholder(tf.as_dtype(a.dtype), (None,) * (i == 0) + a.shape[i == 0:]) for i, a in enumerate(feeds)]
        fetches = build(*phs)
        with tf.Session() as sess:
            return sess.run(fetches, dict(zip(phs, feeds)))


def _grad_check(build, feeds):
    """d/d(each feed) of sum(build(*feeds) * c) from the graph against central differences (c random)."""
    c = np.random.default_rng(5).normal(size=np.shape(_run(build, feeds)))

    def loss(*ts):
        return tf.reduce_sum(build(*ts) * c)
    got = _run(lambda *ts: tf.gradients(loss(*ts), list(ts)), feeds)
    for i, x in enumerate(feeds):
        want = central_differences(lambda v: float(_run(loss, feeds[:i] + [v] + feeds[i + 1:])), x)
        np.testing.assert_allclose(got[i], want, rtol=1e-6, atol=1e-8)


# ----- map_fn ------------------------------------------------------------------------------------------
def test_map_fn_over_a_batch_of_unknown_length_matches_a_loop_values_and_gradients():
    def build(x, w):
        return tf.map_fn(lambda row: tf.tanh(row * w) * tf.reduce_sum(row), x)
    want = np.stack([np.tanh(r * W) * r.sum() for r in X])
    got = _run(build, [X, W])
    assert got.shape == (4, 3)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    _grad_check(build, [X, W])          # the rows, and a capture read by every row (summed)


def test_map_fn_structures_and_output_dtypes():
    Pair = collections.namedtuple("Pair", "a b")
    ints = np.arange(4, dtype=np.int32)
    out = _run(lambda x, i: (
        tf.map_fn(lambda t: (t[0] * 2.0, t[1] + 1), (x, i)),                            # elems' structure
        tf.map_fn(lambda d: {"x": tf.reduce_sum(d["x"]) + 0.0 * d["x"], "i": d["i"] * 3}, {"x": x, "i": i}),
        tf.map_fn(lambda p: p.a[0] > 0.0, Pair(x, i), dtype=tf.bool),                   # a dtype of its own
        tf.map_fn(lambda r: (tf.argmax(r, output_type=tf.int32), r[:2]), x, fn_output_signature=(tf.int32, tf.float64)),
        tf.map_fn(lambda r: 1, x),                       # a Python number: elems' dtype, as TensorArray.write
        tf.map_fn(lambda r: 2, x, dtype=tf.int64)), [X, ints])
    np.testing.assert_array_equal(out[0][0], X * 2.0)
    np.testing.assert_array_equal(out[0][1], ints + 1)
    np.testing.assert_allclose(out[1]["x"], np.repeat(X.sum(axis=1, keepdims=True), 3, axis=1), rtol=1e-14)
    np.testing.assert_array_equal(out[1]["i"], ints * 3)
    assert out[2].dtype == np.bool_ and out[2].tolist() == (X[:, 0] > 0).tolist()
    assert out[3][0].dtype == np.int32 and out[3][0].tolist() == X.argmax(axis=1).tolist()
    np.testing.assert_array_equal(out[3][1], X[:, :2])
    assert out[4].dtype == np.float64 and out[4].tolist() == [1.0] * 4
    assert out[5].dtype == np.int64 and out[5].tolist() == [2] * 4


def test_map_fn_of_an_empty_batch_has_the_results_trailing_shape():
    empty = np.zeros((0, 3), np.float32)
    rows, sums, pairs = _run(lambda x: (
        tf.map_fn(lambda r: r[:2] * 2.0, x), tf.map_fn(tf.reduce_sum, x),
        tf.map_fn(lambda r: (r, tf.cast(r, tf.int32)), x, dtype=(tf.float32, tf.int32))), [empty])
    assert rows.shape == (0, 2) and rows.dtype == np.float32
    assert sums.shape == (0,) and pairs[0].shape == (0, 3) and pairs[1].shape == (0, 3) and pairs[1].dtype == np.int32
    with tf.Graph().as_default():       # fn's result of a shape known only when run: TF cannot stack none of them
        x = tf.placeholder(tf.float32, (None, None))
        y = tf.map_fn(lambda r: r * 2.0, x)
        assert y.shape.as_list() == [None, None]
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"tf.map_fn: elems are empty and the shape"):
                sess.run(y, {x: np.zeros((0, 2), np.float32)})
            assert sess.run(y, {x: [[1.0, 2.0]]}).tolist() == [[2.0, 4.0]]


def test_map_fn_static_shapes_names_and_back_prop():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 3))
        y = tf.map_fn(lambda r: r[:2], x)
        loose = tf.map_fn(lambda r: r[:2], x, infer_shape=False)
        known = tf.map_fn(lambda r: tf.reduce_sum(r), tf.ones((5, 3)))
        with tf.name_scope("outer"):
            inner = tf.map_fn(lambda r: r, x)
            folded = tf.foldl(lambda a, r: a + r, x)
            loop = tf.while_loop(lambda i: i < 3, lambda i: i + 1, [tf.constant(0)])
        frozen = tf.map_fn(lambda r: r * 2.0, x, back_prop=False)
        assert y.shape.as_list() == [None, 2] and loose.shape.as_list() == [None, None]
        assert known.shape.as_list() == [5]
        assert y.name == "map/TensorArrayStack/TensorArrayGatherV3:0"       # TF's names for the first result
        assert inner.name == "outer/map/TensorArrayStack/TensorArrayGatherV3:0"
        assert folded.name == "outer/foldl/while/Exit_2:0" and loop.name == "outer/while/Identity:0"
        assert tf.gradients(tf.reduce_sum(frozen), x) == [None]


def test_map_fn_nested_and_inside_other_control_flow_values_and_gradients():
    def nested(x):
        return tf.map_fn(lambda row: tf.map_fn(lambda v: tf.sin(v) * v, row), x)

    def in_while(x):
        return tf.while_loop(lambda i, a: i < 2, lambda i, a: (i + 1, tf.map_fn(lambda r: tf.tanh(r) + r[0], a)),
                             [tf.constant(0), x])[1]

    def with_cond(x):
        return tf.map_fn(lambda r: tf.cond(r[0] > 0.0, lambda: r * r, lambda: -r), x)

    def twice(a):
        t = np.tanh(a) + a[0]
        return np.tanh(t) + t[0]
    np.testing.assert_allclose(_run(nested, [X]), np.sin(X) * X, rtol=1e-14)
    np.testing.assert_allclose(_run(in_while, [X]), np.stack([twice(r) for r in X]), rtol=1e-14)
    np.testing.assert_allclose(_run(with_cond, [X]), np.where(X[:, :1] > 0, X * X, -X), rtol=1e-14)
    for build in (nested, in_while, with_cond):
        _grad_check(build, [X])


def test_map_fn_trains_a_variable_it_reads_and_replays_in_a_planned_run():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (None, 3))
        w = tf.Variable(W)
        loss = tf.reduce_sum(tf.map_fn(lambda r: tf.reduce_sum(r * w) ** 2, x))
        step = tf.train.GradientDescentOptimizer(0.25).minimize(loss)
        grad = tf.gradients(loss, w)[0]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            first, again = sess.run(grad, {x: X}), sess.run(grad, {x: X})   # the second run is the planned one
            sess.run(step, {x: X})
            w1 = sess.run(w)
    want = (2 * (X @ W)[:, None] * X).sum(axis=0)
    np.testing.assert_allclose(first, want, rtol=1e-13)
    np.testing.assert_array_equal(again, first)
    np.testing.assert_allclose(w1, W - 0.25 * want, rtol=1e-13)


def test_a_variable_made_in_fn_is_made_once_outside_the_loop_and_trained():
    """As TF1 makes it under init_scope: one variable, initialized by the initializer, read by every row and
    reached by the gradient (left inside the loop, it was read but given no gradient)."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (None, 3))
        with tf.variable_scope("layer"):
            y = tf.map_fn(lambda r: tf.reduce_sum(r * tf.get_variable("w", initializer=W, dtype=tf.float64)) ** 2,
                          x)
        w, = tf.global_variables()
        grad, = tf.gradients(tf.reduce_sum(y), w)
        assert w.op.name == "layer/w" and tf.trainable_variables() == [w]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run([y, grad], {x: X})
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Initializer for variable map/while/Variable is from inside a "
                                             "control-flow construct"):
            tf.map_fn(lambda r: tf.Variable(r * 2.0), tf.placeholder(tf.float64, (None, 3)))
    np.testing.assert_allclose(got[0], (X @ W) ** 2, rtol=1e-13)
    np.testing.assert_allclose(got[1], (2 * (X @ W)[:, None] * X).sum(axis=0), rtol=1e-13)


def test_the_gradient_of_a_gradient_through_the_loop_raises():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (None, 3))
        grad, = tf.gradients(tf.reduce_sum(tf.scan(lambda a, r: a * r, x)), x)
        with pytest.raises(NotImplementedError, match="tf.scan: the gradient of a gradient through its loop"):
            tf.gradients(tf.reduce_sum(grad * grad), x)


def test_map_fn_draws_random_ops_per_row_and_backpropagates_through_the_draws():
    images = R.normal(size=(64, 2, 3, 1))
    c = R.normal(size=images.shape)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (None, 2, 3, 1))
        y = tf.map_fn(lambda img: tf.image.random_flip_left_right(img), x)
        g = tf.gradients(tf.reduce_sum(y * c), x)[0]
        with tf.Session() as sess:
            out, grad = sess.run([y, g], {x: images})
    flipped = np.array([np.array_equal(o, im[:, ::-1]) for o, im in zip(out, images)])
    kept = np.array([np.array_equal(o, im) for o, im in zip(out, images)])
    assert (flipped != kept).all() and 0 < flipped.sum() < 64         # each row drew its own flip
    # the gradient goes back through the flips drawn, not fresh ones
    np.testing.assert_array_equal(grad, np.where(flipped[:, None, None, None], c[:, :, ::-1], c))


# ----- scan and the folds ------------------------------------------------------------------------------
def _scan_loop(f, xs, a=None, reverse=False):
    """Plain scan: ``a = f(a, x)`` over the rows (last first with ``reverse``), each ``a`` kept at its row."""
    order = list(range(len(xs)))[::-1] if reverse else list(range(len(xs)))
    out = [None] * len(xs)
    if a is None:
        a, out[order[0]], order = xs[order[0]], xs[order[0]], order[1:]
    for i in order:
        a = out[i] = f(a, xs[i])
    return np.stack(out)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("initial", [False, True])
def test_scan_matches_a_loop_values_and_gradients(initial, reverse):
    def build(x, w):
        return tf.scan(lambda a, r: tf.sin(a) * w + r, x, initializer=w * 0.5 if initial else None,
                       reverse=reverse)
    want = _scan_loop(lambda a, r: np.sin(a) * W + r, X, W * 0.5 if initial else None, reverse)
    np.testing.assert_allclose(_run(build, [X, W]), want, rtol=1e-14)
    _grad_check(build, [X, W])        # elems, and the initializer / capture w


def test_scan_structures_hand_values_and_an_empty_batch():
    xs = np.array([1.0, 2.0, 3.0, 4.0])
    sums, (total, prod), cum, empty = _run(lambda x: (
        tf.scan(lambda a, v: a + v, x),
        tf.scan(lambda a, v: (a[0] + v, a[1] * v), x, initializer=(tf.constant(0.0, tf.float64),
                                                                   tf.constant(1.0, tf.float64))),
        tf.scan(lambda a, d: {"n": a["n"] + 1, "s": a["s"] + d["v"]}, {"v": x},
                initializer={"n": tf.constant(0), "s": tf.constant(10.0, tf.float64)}, reverse=True),
        tf.scan(lambda a, v: a + v, x[:0], initializer=tf.zeros((2,), tf.float64))), [xs])
    assert sums.tolist() == [1.0, 3.0, 6.0, 10.0]
    assert total.tolist() == [1.0, 3.0, 6.0, 10.0] and prod.tolist() == [1.0, 2.0, 6.0, 24.0]
    assert cum["n"].tolist() == [4, 3, 2, 1] and cum["s"].tolist() == [20.0, 19.0, 17.0, 14.0]
    assert empty.shape == (0, 2) and empty.dtype == np.float64


@pytest.mark.parametrize("fold", ["foldl", "foldr"])
@pytest.mark.parametrize("initial", [False, True])
def test_folds_match_a_loop_values_and_gradients(fold, initial):
    def build(x, w):
        return getattr(tf, fold)(lambda a, r: tf.tanh(a * w) + r * a, x, initializer=w if initial else None)
    want = _scan_loop(lambda a, r: np.tanh(a * W) + r * a, X, W if initial else None, fold == "foldr")
    np.testing.assert_allclose(_run(build, [X, W]), want[-1] if fold == "foldl" else want[0], rtol=1e-14)
    _grad_check(build, [X, W])


def test_folds_of_structures_hand_values_and_empty_batches():
    xs = np.array([1.0, 2.0, 3.0])
    digits, (count, total), kept = _run(lambda x: (
        tf.foldr(lambda a, v: a * 10.0 + v, x),                       # 3, 32, 321
        tf.foldl(lambda a, d: (a[0] + 1, a[1] + d[0] * d[1]), (x, x * 2.0), initializer=(0, tf.zeros((), tf.float64))),
        tf.foldl(lambda a, v: a + v, x[:0], initializer=tf.constant([5.0, 6.0], tf.float64))), [xs])
    assert digits == 321.0 and count == 3 and total == 28.0 and kept.tolist() == [5.0, 6.0]
    for fold in (tf.foldl, tf.foldr, tf.scan):     # no initializer and no rows: TF's TensorArray read fails
        with pytest.raises(tf.errors.InvalidArgumentError):
            _run(lambda x: fold(lambda a, v: a + v, x), [xs[:0]])


def test_back_prop_false_lets_no_gradient_through():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 3))
        w = tf.Variable(np.ones(3, np.float32))
        for y in (tf.scan(lambda a, r: a * r * w, x, back_prop=False),
                  tf.foldr(lambda a, r: a * r * w, x, initializer=w, back_prop=False),
                  tf.map_fn(lambda r: r * w, x, back_prop=False)):
            assert tf.gradients(tf.reduce_sum(y), [x, w]) == [None, None]


# ----- errors ------------------------------------------------------------------------------------------
def test_errors_as_tf():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 2))
        c3, c2 = tf.ones((3, 2)), tf.ones((2,))
        with pytest.raises(TypeError, match="tf.map_fn: fn must be callable, got int"):
            tf.map_fn(3, x)
        with pytest.raises(TypeError, match="'parallel_iterations' must be a positive integer"):
            tf.scan(lambda a, r: r, x, parallel_iterations=0)
        with pytest.raises(ValueError, match="Elements in elems must be 1\\+ dimensional Tensors, not scalars"):
            tf.map_fn(lambda r: r, tf.constant(1.0))
        with pytest.raises(ValueError, match="which does not contain any Tensors"):
            tf.map_fn(lambda r: r, [])
        for f in (tf.map_fn, lambda fn, e: tf.scan(lambda a, r: r, e)):
            with pytest.raises(ValueError, match="Dimensions 3 and 2 are not compatible"):
                f(lambda t: t, (c3, c2))
        with pytest.raises(ValueError, match="tf.map_fn: The two structures don't have the same nested structure"):
            tf.map_fn(lambda t: t[0], (x, x))
        with pytest.raises(TypeError, match="don't have the same sequence type"):
            tf.map_fn(lambda t: [t[0], t[1]], (x, x))
        with pytest.raises(ValueError, match="same nested structure.*fn_output_signature"):
            tf.map_fn(lambda r: r, x, dtype=(tf.float32, tf.float32))
        with pytest.raises(TypeError, match="fn returned a int32 tensor where elems says float32"):
            tf.map_fn(lambda r: tf.cast(r, tf.int32), x)
        with pytest.raises(TypeError, match="fn returned a float32 tensor where fn_output_signature .* says int32"):
            tf.map_fn(lambda r: r, x, dtype=tf.int32)
        with pytest.raises(ValueError, match="None values not supported"):
            tf.map_fn(lambda r: None, x)
        with pytest.raises(ValueError, match=r"enters the loop with shape \(2,\), but has shape \(4,\).*tf.scan"):
            tf.scan(lambda a, r: tf.concat([a, r], 0), x)
        with pytest.raises(TypeError, match="tf.foldl: fn returned a int32 tensor where the accumulator"):
            tf.foldl(lambda a, r: tf.cast(a, tf.int32), x)
        with pytest.raises(ValueError, match="tf.foldr: The two structures.*initializer"):
            tf.foldr(lambda a, r: a[0], x, initializer=(c2, c2))
        # first dims known only when run, and rows of different shapes: InvalidArgumentError then, as TF's
        y = tf.placeholder(tf.float32, (None,))
        pairs = tf.map_fn(lambda t: t[0] * t[1], (x, y), dtype=tf.float32)
        folded = tf.foldl(lambda a, t: a + t[0] * t[1], (c3, tf.ones((4,))), initializer=c2)
        ragged = tf.map_fn(lambda r: tf.boolean_mask(r, r > 0.0), x)
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="tf.map_fn: the tensors in elems must all have "
                                                                     "one length.*got 3 and 4"):
                sess.run(pairs, {x: np.ones((3, 2)), y: np.ones(4)})
            with pytest.raises(tf.errors.InvalidArgumentError, match="tf.foldl: .*got 3 and 4"):
                sess.run(folded)
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"shape \(1,\) for element 1 and of shape "
                                                                     r"\(2,\) for element 0"):
                sess.run(ragged, {x: [[1.0, 2.0], [3.0, -4.0]]})
            assert sess.run(ragged, {x: [[1.0, -2.0], [-3.0, 4.0]]}).tolist() == [[1.0], [4.0]]

