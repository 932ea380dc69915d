"""Parity with TensorFlow 2.21's compat.v1 (TF1 control flow, as ``disable_v2_behavior`` runs it) for tf.map_fn,
tf.scan, tf.foldl and tf.foldr (tests/test_tf1_functional_ops.py has the NumPy references): the same graph built
in both, over a batch placeholder of unknown length, gives the same values and gradients (in float64, to its
rounding: in float32 Eigen's sin and tanh round otherwise than NumPy's, and a scan compounds that to a few parts
in 1e6), static shapes, names of the first result, empty batches, back_prop=False, and the same errors where TF
raises them."""
import numpy as np
import pytest

import static_api as tf

real = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.reference
tf1 = real.compat.v1
R = np.random.default_rng(41)
X = R.normal(size=(5, 3))
W = R.normal(size=(3,))


@pytest.fixture(autouse=True)
def _tf1_control_flow():
    """TF1's while loops (Enter, Merge, Exit and TensorArrays), as TF1 programs run them."""
    was = tf1.control_flow_v2_enabled()
    tf1.disable_control_flow_v2()
    yield
    if was:
        tf1.enable_control_flow_v2()


def _in_graph(lib, build, feed=X, grads=True):
    """``build(lib, x, w)`` over a float64 batch placeholder ``x`` (None, 3) and a constant ``w``, in a fresh graph
    of ``lib`` (ours or TF's compat.v1): (its values, with ``grads`` the gradients of the sum of its float values
    squared with respect to x and w, its static shapes, its first name)."""
    with lib.Graph().as_default():
        x = lib.placeholder(lib.float64, (None, 3))
        w = lib.constant(W)
        out = build(lib, x, w)
        flat = list(out.values()) if isinstance(out, dict) else list(out) if isinstance(out, (list, tuple)) else [out]
        loss = lib.add_n([lib.reduce_sum(t * t) for t in flat if t.dtype == lib.float64])
        gs = [g if g is not None else lib.zeros_like(v) for g, v in zip(lib.gradients(loss, [x, w]), [x, w])]
        with lib.Session() as sess:
            values, gs = sess.run([flat, gs if grads else []], {x: feed})
    return values, gs, [t.shape.as_list() for t in flat], [t.name for t in flat[:1]]


CASES = {
    "map": lambda t, x, w: t.map_fn(lambda r: t.tanh(r * w) * t.reduce_sum(r), x),
    "map_scalar": lambda t, x, w: t.map_fn(lambda r: t.reduce_sum(t.sin(r) * w), x),
    "map_tuple_dtypes": lambda t, x, w: t.map_fn(lambda p: (t.cast(p[0] * 10.0, t.int32), p[0] * p[1] + w),
                                                   (x, x * 2.0), dtype=(t.int32, t.float64)),
    "map_dict": lambda t, x, w: t.map_fn(lambda d: {"a": d["a"] * w, "b": d["b"] * 3.0}, {"a": x, "b": x[:, 0]}),
    "map_nested": lambda t, x, w: t.map_fn(lambda r: t.map_fn(lambda v: t.sin(v) * v, r), x),
    "map_cond": lambda t, x, w: t.map_fn(lambda r: t.cond(r[0] > 0.0, lambda: r * w, lambda: t.tanh(r)), x),
    "map_in_while": lambda t, x, w: t.while_loop(lambda i, a: i < 2, lambda i, a: (i + 1, t.map_fn(
        lambda r: t.tanh(r * w) + r[0], a)), [t.constant(0), x])[1],
    "scan": lambda t, x, w: t.scan(lambda a, r: t.sin(a) * w + r, x),
    "scan_init": lambda t, x, w: t.scan(lambda a, r: a * r + w, x, initializer=w * 0.5),
    "scan_reverse": lambda t, x, w: t.scan(lambda a, r: t.tanh(a * w) + r, x, reverse=True),
    "scan_reverse_init": lambda t, x, w: t.scan(lambda a, r: a * r + w, x, initializer=w, reverse=True),
    "scan_tuple": lambda t, x, w: t.scan(lambda a, r: (a[0] + r * w, a[1] * t.reduce_sum(r)), x,
                                         initializer=(t.zeros_like(w), t.ones_like(w[0]))),
    "foldl": lambda t, x, w: t.foldl(lambda a, r: t.tanh(a * w) + r * a, x),
    "foldl_init": lambda t, x, w: t.foldl(lambda a, r: a * 0.5 + t.reduce_sum(r * w), x, initializer=w[0] * 0.0),
    "foldr": lambda t, x, w: t.foldr(lambda a, r: t.tanh(a * w) + r * a, x),
    "foldr_init_tuple": lambda t, x, w: t.foldr(lambda a, r: (a[0] * r + w, a[1] + 1), x, initializer=(w, 0)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_values_gradients_and_shapes_match_tensorflow(case):
    ours, theirs = _in_graph(tf, CASES[case]), _in_graph(tf1, CASES[case])
    for a, b in zip(ours[0], theirs[0]):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    assert ours[2] == theirs[2]            # static shapes, the batch dim unknown
    if case != "map_in_while":
        assert ours[3] == theirs[3]        # the first result's name


@pytest.mark.parametrize("case", ["map", "map_tuple_dtypes", "map_dict", "scan_init", "scan_tuple",
                                  "foldl_init", "foldr_init_tuple"])
def test_empty_batches_match_tensorflow(case):
    # values only: TF's gradient of an empty TensorArray fails (its element shape is unknown there)
    empty = np.zeros((0, 3))
    ours, theirs = _in_graph(tf, CASES[case], empty, grads=False), _in_graph(tf1, CASES[case], empty, grads=False)
    assert len(ours[0]) == len(theirs[0])
    for a, b in zip(ours[0], theirs[0]):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_back_prop_false_gives_no_gradient_as_tensorflow():
    def build(t):
        x = t.placeholder(t.float32, (None, 3))
        w0 = W.astype(np.float32)
        w = t.Variable(w0, use_resource=False) if t is tf1 else t.Variable(w0)
        outs = [t.map_fn(lambda r: r * w, x, back_prop=False), t.scan(lambda a, r: a * r * w, x, back_prop=False),
                t.foldl(lambda a, r: a * r + w, x, initializer=w, back_prop=False)]
        return [[g is None for g in t.gradients(t.reduce_sum(o), [x, w])] for o in outs]
    with tf.Graph().as_default():
        ours = build(tf)
    with tf1.Graph().as_default():
        theirs = build(tf1)
    assert ours == theirs == [[True, True]] * 3


ERRORS = {
    "static_lengths_map": lambda t, x: t.map_fn(lambda p: p[0], (t.ones((3, 2)), t.ones((2,))), dtype=t.float32),
    "static_lengths_scan": lambda t, x: t.scan(lambda a, p: a, (t.ones((3, 2)), t.ones((2,))),
                                               initializer=t.zeros(2)),
    "structure_nesting": lambda t, x: t.map_fn(lambda p: p[0], (x, x)),
    "structure_sequence_type": lambda t, x: t.map_fn(lambda p: [p[0], p[1]], (x, x)),
    "dtype_structure": lambda t, x: t.map_fn(lambda r: r, x, dtype=(t.float32,)),
    "scan_structure": lambda t, x: t.scan(lambda a, r: a[0] + r, x, initializer=(t.zeros(2), t.zeros(2))),
    "scan_sequence_type": lambda t, x: t.scan(lambda a, r: [a[0] + r, a[1]], x, initializer=(t.zeros(2),
                                                                                             t.zeros(2))),
    "scalar_elems": lambda t, x: t.map_fn(lambda r: r, t.constant(1.0)),
    "no_tensors": lambda t, x: t.map_fn(lambda r: r, []),
    "none_result": lambda t, x: t.map_fn(lambda r: None, x),
    "parallel_iterations": lambda t, x: t.scan(lambda a, r: r, x, parallel_iterations=0),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_build_errors_match_tensorflow(case):
    with tf1.Graph().as_default():
        with pytest.raises((TypeError, ValueError)) as theirs:
            ERRORS[case](tf1, tf1.placeholder(tf1.float32, (None, 2)))
    with tf.Graph().as_default():
        with pytest.raises(theirs.type):
            ERRORS[case](tf, tf.placeholder(tf.float32, (None, 2)))


RUN_ERRORS = {
    # a second elem longer than the first (TF reads rows of zeros past a shorter one; here that raises too)
    "lengths_map": (lambda t, x: t.map_fn(lambda p: p[0] * p[1], (x, t.concat([x[:, 0], x[:1, 0]], 0)),
                                          dtype=t.float32), np.ones((3, 2))),
    "lengths_foldl": (lambda t, x: t.foldl(lambda a, p: a + p[0] * p[1], (x, t.concat([x[:, 0], x[:1, 0]], 0)),
                                           initializer=t.zeros(2)), np.ones((3, 2))),
    "empty_foldl": (lambda t, x: t.foldl(lambda a, r: a + r, x), np.zeros((0, 2))),
    "empty_foldr": (lambda t, x: t.foldr(lambda a, r: a + r, x), np.zeros((0, 2))),
    "empty_scan": (lambda t, x: t.scan(lambda a, r: a + r, x), np.zeros((0, 2))),
    "ragged_rows": (lambda t, x: t.map_fn(lambda r: t.boolean_mask(r, r > 0.0), x), [[1.0, 2.0], [3.0, -4.0]]),
}


@pytest.mark.parametrize("case", sorted(RUN_ERRORS))
def test_run_time_errors_match_tensorflow(case):
    build, feed = RUN_ERRORS[case]
    for lib in (tf1, tf):
        with lib.Graph().as_default():
            x = lib.placeholder(lib.float32, (None, 2))
            y = build(lib, x)
            with lib.Session() as sess:
                with pytest.raises(lib.errors.InvalidArgumentError):
                    sess.run(y, {x: feed})
