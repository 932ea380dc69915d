"""TF1 functions added for programs that use them: index-tuple gathers and scatters, unsorted segment
reductions, and values whose shape depends on the data in a planned static graph.  References are plain
loops; gradients are checked against float64 central differences; the real TF is compared in
tests/test_reference_tf.py."""
import numpy as np
import pytest

import backends
import core
import static_api as tf
from core import device
from core.executor import Executor, PlannedExecutor
from core.op import Op, apply
from core.program import Program, key
from tests.helpers import Input, central_differences, source


def _run(build, feeds):
    """Build a graph with ``build(placeholders)`` and run its fetches once, with the given feed arrays."""
    g = tf.Graph()
    with g.as_default():
        phs = [tf.placeholder(tf.as_dtype(a.dtype), a.shape) for a in feeds]
        fetches = build(*phs)
        with tf.Session() as sess:
            return sess.run(fetches, dict(zip(phs, feeds)))


def _grad_check(build, x):
    """d/dx sum(build(x) * c) from the graph against central differences (c random, float64)."""
    c = np.random.default_rng(5).normal(size=_run(build, [x]).shape)

    def loss(v):
        return float(_run(lambda t: tf.reduce_sum(build(t) * c), [v]))
    got = _run(lambda t: tf.gradients(tf.reduce_sum(build(t) * c), t)[0], [x])
    np.testing.assert_allclose(got, central_differences(loss, x), rtol=1e-6, atol=1e-8)


PARAMS = np.random.default_rng(0).normal(size=(4, 3, 2))
TUPLES = np.array([[1, 2], [3, 0], [1, 2], [0, 1]], np.int32)     # (1, 2) twice: its gradient adds up


def test_gather_nd_reads_each_index_tuple():
    got = _run(lambda p: tf.gather_nd(p, TUPLES), [PARAMS])
    want = np.stack([PARAMS[i, j] for i, j in TUPLES])
    np.testing.assert_array_equal(got, want)
    full = _run(lambda p: tf.gather_nd(p, [[[3, 2, 1]], [[0, 0, 0]]]), [PARAMS])     # whole tuples: scalars
    np.testing.assert_array_equal(full, [[PARAMS[3, 2, 1]], [PARAMS[0, 0, 0]]])
    assert full.shape == (2, 1)


def test_gather_nd_gradient_adds_repeated_tuples():
    _grad_check(lambda p: tf.gather_nd(p, TUPLES), PARAMS)
    got = _run(lambda p: tf.gradients(tf.reduce_sum(tf.gather_nd(p, TUPLES)), p)[0], [PARAMS])
    want = np.zeros_like(PARAMS)
    for i, j in TUPLES:
        want[i, j] += 1
    np.testing.assert_array_equal(got, want)


def test_gather_nd_out_of_range_index_raises_when_run():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"GatherNd: argument 'indices' \(position 1 .*3 is out of"):
        _run(lambda p: tf.gather_nd(p, [[0, 3]]), [PARAMS])
    with pytest.raises(tf.errors.InvalidArgumentError, match="-1 is out of bounds"):
        _run(lambda p: tf.gather_nd(p, [[-1]]), [PARAMS])
    g = tf.Graph()
    with g.as_default(), pytest.raises(ValueError, match="index tuples of at most 3 values"):
        tf.gather_nd(tf.zeros((4, 3, 2)), [[0, 0, 0, 0]])


def test_scatter_nd_adds_updates_in_order():
    updates = np.random.default_rng(1).normal(size=(4, 2)).astype(np.float32)
    got = _run(lambda u: tf.scatter_nd(TUPLES, u, [4, 3, 2]), [updates])
    want = np.zeros((4, 3, 2), np.float32)
    for (i, j), u in zip(TUPLES, updates):
        want[i, j] += u         # one float32 sum after another, as TF's CPU kernel adds them
    np.testing.assert_array_equal(got, want)
    _grad_check(lambda u: tf.scatter_nd(TUPLES, u, [4, 3, 2]), updates.astype(np.float64))
    base = np.random.default_rng(2).normal(size=(4, 3, 2)).astype(np.float32)
    added = _run(lambda b, u: tf.tensor_scatter_nd_add(b, TUPLES, u), [base, updates])
    into = base.copy()
    for (i, j), u in zip(TUPLES, updates):
        into[i, j] += u         # into the tensor one after another (TF's kernel), not base + the updates' sum
    np.testing.assert_array_equal(added, into)
    g = tf.Graph()
    with g.as_default(), pytest.raises(ValueError, match=r"updates.*\(4, 2\), got shape \(4, 3\)"):
        tf.scatter_nd(TUPLES, tf.zeros((4, 3)), [4, 3, 2])


DATA = np.random.default_rng(3).normal(size=(6, 2))
IDS = np.array([0, 2, -1, 2, 0, 2], np.int32)      # a negative id drops its row; segment 1 and 3 are empty


def _segments(data, ids, n):
    sums, counts = np.zeros((n,) + data.shape[1:]), np.zeros(n)
    for row, i in zip(data, ids):
        if i >= 0:
            sums[i] += row
            counts[i] += 1
    return sums, counts


def test_unsorted_segment_reductions_match_loops():
    sums, counts = _segments(DATA, IDS, 4)
    got = _run(lambda d: [tf.unsorted_segment_sum(d, IDS, 4), tf.math.unsorted_segment_mean(d, IDS, 4),
                          tf.math.unsorted_segment_sqrt_n(d, IDS, 4)], [DATA])
    np.testing.assert_array_equal(got[0], sums)
    np.testing.assert_allclose(got[1], sums / np.maximum(counts, 1)[:, None], rtol=1e-15)
    np.testing.assert_allclose(got[2], sums / np.sqrt(np.maximum(counts, 1))[:, None], rtol=1e-15)
    assert got[1][1].tolist() == [0.0, 0.0]      # an empty segment's mean is 0, not NaN
    for build in (lambda d: tf.unsorted_segment_sum(d, IDS, 4), lambda d: tf.unsorted_segment_mean(d, IDS, 4),
                  lambda d: tf.unsorted_segment_sqrt_n(d, IDS, 4)):
        _grad_check(build, DATA)


def test_unsorted_segment_sum_rejects_ids_past_the_segments():
    with pytest.raises(tf.errors.InvalidArgumentError, match="segment_ids.*2 is out of bounds.*\\[0, 2\\)"):
        _run(lambda d: tf.unsorted_segment_sum(d, IDS, 2), [DATA])
    g = tf.Graph()
    with g.as_default(), pytest.raises(ValueError, match="segment_ids.*prefix of data's shape"):
        tf.unsorted_segment_sum(tf.zeros((6, 2)), np.zeros(5, np.int32), 3)


class _Positives(Op):
    """x's positive entries (a test primitive whose result's length depends on the values)."""

    name = "Positives"
    value_shaped = True

    def infer(self, x):
        return [((None,), x.dtype)]

    def forward(self, be, x):
        return x[x > 0]


def test_a_value_shaped_result_and_what_follows_it_are_left_unplanned():
    x = source(Input((6,)))
    p = core.exp(apply(_Positives(), x))        # its length changes with the feed, not the feed's shape
    y = core.add(p, p)
    s = core.sum(core.mul(y, y))
    z = core.mul(x, x)                          # unrelated to the selection: planned as usual
    prog = Program.build([y, s, z], {key(x)})
    be = backends.get_backend(device.default())
    ex = PlannedExecutor(be)
    for v in ([1.0, -2, 3, -4, 5, 6], [-1.0, 2, -3, -4, -5, 6], [1.0, 2, 3, 4, 5, 6], [-1.0] * 6):
        feed = {key(x): np.array(v)}
        got, want = ex.run(prog, feed), Executor(be).run(prog, feed)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
        pos = np.array(v)[np.array(v) > 0]
        np.testing.assert_array_equal(got[0], 2 * np.exp(pos))
    plan = ex.plan_of(prog, feed)
    names = [s.op.name for s, w in zip(prog.steps, plan.writers) if w is not None]
    assert names == ["Mul"], names


X = np.random.default_rng(7).normal(size=(3, 4, 5))


@pytest.mark.parametrize("ord_,axis,ref", [
    ("euclidean", None, lambda x: np.sqrt((x * x).sum())),
    (2, 1, lambda x: np.sqrt((x * x).sum(1))),
    (1, 2, lambda x: np.abs(x).sum(2)),
    (np.inf, 0, lambda x: np.abs(x).max(0)),
    (3, 0, lambda x: (np.abs(x) ** 3).sum(0) ** (1 / 3)),
    ("fro", (0, 2), lambda x: np.sqrt((x * x).sum((0, 2)))),
    (1, (1, 2), lambda x: np.abs(x).sum(1).max(-1)),          # largest column sum of each matrix
    (np.inf, (1, 2), lambda x: np.abs(x).sum(2).max(-1)),     # largest row sum
])
def test_norm_matches_numpy_and_central_differences(ord_, axis, ref):
    got = _run(lambda x: tf.norm(x, ord=ord_, axis=axis), [X])
    np.testing.assert_allclose(got, ref(X), rtol=1e-13)
    kept = _run(lambda x: tf.norm(x, ord=ord_, axis=axis, keepdims=True), [X])
    assert kept.ndim == X.ndim and kept.size == np.size(ref(X))
    if ord_ not in (1, np.inf):         # abs and max have kinks; their gradients are checked elsewhere
        _grad_check(lambda x: tf.norm(x, ord=ord_, axis=axis), X)


def test_norm_rejects_what_tf_rejects():
    g = tf.Graph()
    with g.as_default():
        x = tf.zeros((3, 4))
        with pytest.raises(ValueError, match="'ord' must be a supported vector norm, got -1"):
            tf.norm(x, ord=-1)
        with pytest.raises(ValueError, match="'ord' must be a supported matrix norm"):
            tf.norm(x, ord=3, axis=(0, 1))
        with pytest.raises(ValueError, match="tuple of 2 unique integers"):
            tf.norm(x, axis=(1, 1))
        with pytest.raises(NotImplementedError, match="matrix 2-norm"):
            tf.norm(x, ord=2, axis=(0, 1))


def test_tensordot_matches_numpy():
    y = np.random.default_rng(8).normal(size=(5, 4, 2))
    got = _run(lambda a, b: [tf.tensordot(a, b, [[1, 2], [1, 0]]), tf.tensordot(a, b, 1), tf.tensordot(a, b, 0)],
               [X, y])
    np.testing.assert_allclose(got[0], np.tensordot(X, y, ([1, 2], [1, 0])), rtol=1e-12)
    np.testing.assert_allclose(got[1], np.tensordot(X, y, 1), rtol=1e-12)
    np.testing.assert_allclose(got[2], np.multiply.outer(X, y), rtol=1e-12)
    _grad_check(lambda a: tf.tensordot(a, tf.constant(y), [[1, 2], [1, 0]]), X)
    g = tf.Graph()
    with g.as_default(), pytest.raises(ValueError, match="dimension 1 of a \\(4\\) does not match dimension 0"):
        tf.tensordot(tf.zeros((3, 4)), tf.zeros((5, 4)), [[1], [0]])


def test_band_part_diag_trace_and_transpose_match_numpy():
    m = np.random.default_rng(9).normal(size=(2, 4, 5))
    m[0, 3, 0] = np.nan         # outside the band: a zero, not NaN * 0
    got = _run(lambda a: [tf.linalg.band_part(a, 1, 2), tf.matrix_band_part(a, -1, 0), tf.linalg.diag_part(a),
                          tf.linalg.trace(a), tf.linalg.matrix_transpose(a), tf.linalg.diag(a[:, 0])], [m])
    i, j = np.arange(4)[:, None], np.arange(5)[None, :]
    np.testing.assert_array_equal(got[0], np.where((i - j <= 1) & (j - i <= 2), m, 0.0))
    np.testing.assert_array_equal(got[1], np.where(i >= j, m, 0.0))
    np.testing.assert_array_equal(got[2], np.stack([np.diagonal(a) for a in m]))
    np.testing.assert_allclose(got[3], [np.trace(m[0]), np.trace(m[1])], rtol=1e-15)
    np.testing.assert_array_equal(got[4], m.transpose(0, 2, 1))
    np.testing.assert_array_equal(got[5], np.stack([np.diag(v) for v in m[:, 0]]))
    v = np.random.default_rng(10).normal(size=3)
    np.testing.assert_array_equal(_run(lambda a: [tf.diag(a), tf.diag_part(tf.diag(a))], [v])[1], v)
    for build in (lambda a: tf.linalg.band_part(a, 1, 0), lambda a: tf.linalg.diag_part(a), lambda a: tf.trace(a),
                  lambda a: tf.linalg.diag(a[:, 1])):
        _grad_check(build, np.nan_to_num(m))


def test_truncating_division_and_modulo():
    a = np.array([7, -7, 7, -7, 0], np.int32)
    b = np.array([2, 2, -2, -2, 3], np.int32)
    q, r = _run(lambda x, y: [tf.truncatediv(x, y), tf.truncatemod(x, y)], [a, b])
    np.testing.assert_array_equal(q, [3, -3, -3, 3, 0])         # C's division: toward zero
    np.testing.assert_array_equal(r, [1, -1, 1, -1, 0])         # the remainder takes the dividend's sign
    fr = _run(lambda x: tf.truncatemod(x, 2.5), [np.array([7.5, -6.0, 1.0])])
    np.testing.assert_array_equal(fr, [0.0, -1.0, 1.0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="division by zero|zero"):
        _run(lambda x, y: tf.truncatediv(x, y), [a, np.zeros(5, np.int32)])
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (3,))
        with pytest.raises(LookupError, match="No gradient defined for operation .*TruncateMod"):
            tf.gradients(tf.reduce_sum(tf.truncatemod(x, 2.0)), x)
        with pytest.raises(TypeError, match="integer operands"):
            tf.truncatediv(x, 2.0)


def test_div_no_nan_gives_zero_where_the_divisor_is_zero_values_and_gradients():
    x = np.array([1.0, np.nan, np.inf, -3.0, 2.0])
    y = np.array([0.0, 0.0, 0.0, 2.0, -0.5])
    got = _run(lambda a, b: [tf.div_no_nan(a, b)] + tf.gradients(tf.reduce_sum(tf.math.divide_no_nan(a, b) * 3.0),
                                                                   [a, b]), [x, y])
    np.testing.assert_array_equal(got[0], [0.0, 0.0, 0.0, -1.5, -4.0])
    np.testing.assert_array_equal(got[1], [0.0, 0.0, 0.0, 3.0 / 2.0, 3.0 / -0.5])
    np.testing.assert_array_equal(got[2], [0.0, 0.0, 0.0, 3.0 * (3.0 / 2.0 / 2.0), 3.0 * (-2.0 / -0.5 / -0.5)])


def test_variance_std_euclidean_norm_and_erf_match_numpy():
    got = _run(lambda x: [tf.math.reduce_variance(x, axis=[0, 2]), tf.math.reduce_std(x, axis=1, keepdims=True),
                          tf.math.reduce_euclidean_norm(x, axis=1), tf.math.erf(x)], [X])
    np.testing.assert_allclose(got[0], X.var(axis=(0, 2)), rtol=1e-13)
    np.testing.assert_allclose(got[1], X.std(axis=1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(got[2], np.sqrt((X * X).sum(1)), rtol=1e-13)
    import math
    np.testing.assert_allclose(got[3], np.vectorize(math.erf)(X), rtol=1e-14)
    for build in (lambda x: tf.math.reduce_variance(x, axis=1), lambda x: tf.math.reduce_std(x),
                  lambda x: tf.math.reduce_euclidean_norm(x, axis=2)):
        _grad_check(build, X)


@pytest.mark.parametrize("beta", [0.75, 0.5, 1.0])
def test_lrn_matches_a_loop_over_channels(beta):
    x = np.random.default_rng(11).normal(size=(2, 3, 2, 7))
    got = _run(lambda t: tf.nn.lrn(t, depth_radius=2, bias=1.5, alpha=0.3, beta=beta), [x])
    want = np.empty_like(x)
    for c in range(7):
        s = (x[..., max(0, c - 2):c + 3] ** 2).sum(-1)
        want[..., c] = x[..., c] / (1.5 + 0.3 * s) ** beta
    np.testing.assert_allclose(got, want, rtol=1e-13)
    _grad_check(lambda t: tf.nn.local_response_normalization(t, 2, 1.5, 0.3, beta), x[:1, :2, :1])



def _schedules(step):
    """Each TF1 decay schedule at ``step`` (an int64 global step fed at run time)."""
    return _run(lambda s: [tf.train.polynomial_decay(0.1, s, 100, 0.001, 2.0),
                           tf.train.polynomial_decay(0.1, s, 100, 0.001, 0.5, cycle=True),
                           tf.train.natural_exp_decay(0.1, s, 30, 0.3, staircase=True),
                           tf.train.inverse_time_decay(0.1, s, 30, 0.7),
                           tf.train.cosine_decay(0.1, s, 100, alpha=0.05),
                           tf.train.piecewise_constant(s, [np.int64(10), np.int64(100)], [0.1, 0.05, 0.01])],
                [np.array(step, np.int64)])


@pytest.mark.parametrize("step", [0, 1, 10, 11, 99, 100, 101, 250])
def test_decay_schedules_follow_their_formulas(step):
    got = [float(v) for v in _schedules(step)]
    f = np.float32
    assert all(v.dtype == np.float32 for v in _schedules(step))
    p = min(step, 100) / 100
    # float32 arithmetic, a few roundings, grown where 1 - p or 1 + cos(pi p) cancels near a span's end
    RT = 2e-6
    np.testing.assert_allclose(got[0], (0.1 - 0.001) * (1 - p) ** 2 + 0.001, rtol=RT)
    span = 100 * (1 if step == 0 else np.ceil(step / 100))      # stretched to the next multiple past the step
    np.testing.assert_allclose(got[1], (0.1 - 0.001) * (1 - step / span) ** 0.5 + 0.001, rtol=RT)
    np.testing.assert_allclose(got[2], 0.1 * np.exp(-0.3 * np.floor(step / 30)), rtol=RT)
    np.testing.assert_allclose(got[3], 0.1 / (1 + 0.7 * step / 30), rtol=RT)
    np.testing.assert_allclose(got[4], 0.1 * ((1 - 0.05) * 0.5 * (1 + np.cos(np.pi * p)) + 0.05), rtol=RT)
    assert got[5] == float(f(0.1) if step <= 10 else f(0.05) if step <= 100 else f(0.01))


def test_piecewise_constant_checks_its_lists_and_trains_an_optimizer():
    g = tf.Graph()
    with g.as_default():
        step = tf.train.get_or_create_global_step()
        with pytest.raises(ValueError, match="1 less than the length of values"):
            tf.train.piecewise_constant(step, [5], [0.1])
        w = tf.Variable(np.float32(1.0))
        rate = tf.train.piecewise_constant(step, [np.int64(2)], [0.5, 0.25])
        train = tf.train.GradientDescentOptimizer(rate).minimize(w * w, global_step=step)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            seen = []
            for _ in range(4):
                seen.append(float(sess.run(rate)))
                sess.run(train)
    assert seen == [0.5, 0.5, 0.5, 0.25]        # steps 0, 1, 2 are <= the boundary


def _fails(build, feeds):
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        _run(build, feeds)
    return info.value.message.split("\n")[0]


def test_asserts_raise_tf_messages_only_when_run_and_failing():
    ok, bad = np.array([1.0, 2.0, 3.0], np.float32), np.array([1.0, -2.0, 3.0], np.float32)
    assert _run(lambda x, y: tf.assert_equal(x, y), [ok, ok.copy()]) is None
    assert _fails(lambda x, y: tf.assert_equal(x, y), [ok, bad]) == (
        "assertion failed: [Condition x == y did not hold element-wise:] [x (Placeholder:0) = ] [1 2 3] "
        "[y (Placeholder_1:0) = ] [1 -2 3]")
    assert _fails(lambda x, y: tf.debugging.assert_less(x, y, message="hm"), [ok, ok.copy()]).startswith(
        "assertion failed: [hm] [Condition x < y did not hold element-wise:]")
    assert _fails(lambda x: tf.assert_positive(x), [bad]) == (
        "assertion failed: [] [Condition x > 0 did not hold element-wise:] [x (Placeholder:0) = ] [1 -2 3]")
    assert _fails(lambda x: tf.assert_non_negative(x, message="m"), [bad]).startswith("assertion failed: [m.  ] [")
    assert _fails(lambda x: tf.Assert(tf.reduce_all(x > 0), [x, "text"], summarize=2), [bad]) == (
        "assertion failed: [1 -2...] [text]")
    assert _run(lambda x: tf.assert_greater_equal(x, x), [bad]) is None
    g = tf.Graph()
    with g.as_default(), pytest.raises(tf.errors.InvalidArgumentError, match="Condition x == y"):
        tf.assert_equal(tf.constant([1, 2]), tf.constant([1, 3]))      # two constants: checked at once, as TF


def test_a_failing_assert_as_a_control_dependency_stops_the_step():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (2,))
        with tf.control_dependencies([tf.assert_positive(x)]):
            y = tf.identity(x) * 2.0
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(y, {x: [1.0, 2.0]}), [2.0, 4.0])
            with pytest.raises(tf.errors.InvalidArgumentError, match="Condition x > 0"):
                sess.run(y, {x: [1.0, -2.0]})


def test_check_numerics_passes_finite_values_and_names_nan_and_inf():
    v = np.array([1.0, 2.0], np.float32)
    np.testing.assert_array_equal(_run(lambda x: tf.check_numerics(x, "m"), [v]), v)
    assert _fails(lambda x: tf.check_numerics(x / 0.0, "div"), [v]) == "div : Tensor had Inf values"
    assert _fails(lambda x: tf.verify_tensor_all_finite(x * np.nan, "nan"), [v]) == "nan : Tensor had NaN values"
    assert _fails(lambda x: tf.debugging.check_numerics(tf.concat([x / 0.0, x * np.nan], 0), "b"),
                  [v]) == "b : Tensor had Inf and NaN values"
    # The gradient is checked too: sqrt's gradient at 0 is infinite.
    assert _fails(lambda x: tf.gradients(tf.reduce_sum(tf.sqrt(tf.check_numerics(x * 0.0, "in"))), x)[0],
                  [v]) == "Not a number (NaN) or infinity (Inf) values detected in gradient. in : Tensor had Inf values"


def test_cond_runs_only_the_branch_taken_values_and_gradients():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (3,))
        p = tf.placeholder(tf.bool, ())
        y = tf.cond(p, lambda: tf.sqrt(x) * 2.0, lambda: x * x + 1.0)
        gx = tf.gradients(tf.reduce_sum(y), x)[0]
        with tf.Session() as sess:
            v = np.array([1.0, 4.0, 0.0], np.float32)
            got_t = sess.run([y, gx], {x: v, p: True})
            got_f = sess.run([y, gx], {x: v, p: False})
    np.testing.assert_array_equal(got_t[0], np.sqrt(v) * 2)
    np.testing.assert_array_equal(got_t[1], [1.0, 0.5, np.inf])      # d(2 sqrt x)/dx, infinite at 0 as in TF
    np.testing.assert_array_equal(got_f[0], v * v + 1)
    # The untaken sqrt branch does not leak its infinite derivative (0 * inf) into the gradient.
    np.testing.assert_array_equal(got_f[1], 2 * v)
    assert y.name == "cond/Identity:0"


def test_cond_effects_and_errors_happen_only_in_the_branch_taken():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (3,))
        p = tf.placeholder(tf.bool, ())
        v = tf.Variable(np.zeros(3, np.float32))
        z = tf.cond(p, lambda: tf.assign_add(v, x), lambda: tf.identity(v))
        picked = tf.cond(p, lambda: tf.gather(x, [5]), lambda: x[:1])        # index 5 is valid in no branch
        checked = tf.cond(p, lambda: tf.check_numerics(x / 0.0, "inf"), lambda: x)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            one = np.array([1.0, 2.0, 3.0], np.float32)
            np.testing.assert_array_equal(sess.run(z, {x: one, p: False}), [0, 0, 0])
            np.testing.assert_array_equal(sess.run(z, {x: one, p: True}), one)
            np.testing.assert_array_equal(sess.run(z, {x: one, p: False}), one)     # no second add
            np.testing.assert_array_equal(sess.run(picked, {x: one, p: False}), [1.0])
            with pytest.raises(tf.errors.InvalidArgumentError, match="out of bounds"):
                sess.run(picked, {x: one, p: True})
            np.testing.assert_array_equal(sess.run(checked, {x: one, p: False}), one)
            with pytest.raises(tf.errors.InvalidArgumentError, match="inf : Tensor had Inf values"):
                sess.run(checked, {x: one, p: True})


def test_nested_cond_with_structures_matches_each_path_by_hand():
    w0 = np.random.default_rng(12).normal(size=(3, 2))
    xv = np.random.default_rng(13).normal(size=(4, 3))

    def build(x, w, p, q):
        h = tf.matmul(x, w)
        y = tf.cond(p, lambda: tf.nn.relu(h) * 2.0, lambda: tf.cond(q, lambda: tf.tanh(h), lambda: h * h))
        a, b = tf.cond(q, lambda: (tf.reduce_sum(y), tf.abs(h)), lambda: (tf.reduce_mean(y * y), h))
        return a + tf.reduce_sum(b)

    def by_hand(x, w, p, q):
        h = x @ w
        y = np.maximum(h, 0) * 2 if p else (np.tanh(h) if q else h * h)
        return (y.sum() + np.abs(h).sum()) if q else ((y * y).mean() + h.sum())
    for p in (True, False):
        for q in (True, False):
            got = _run(lambda x, w, pp, qq: build(x, w, pp, qq), [xv, w0, np.array(p), np.array(q)])
            np.testing.assert_allclose(got, by_hand(xv, w0, p, q), rtol=1e-13)
            _grad_check(lambda w: build(tf.constant(xv), w, tf.constant(p), tf.constant(q)), w0)


def test_cond_checks_its_arguments_and_keeps_structures():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (2,))
        p = tf.placeholder(tf.bool, ())
        with pytest.raises(TypeError, match="pred must not be a Python bool"):
            tf.cond(True, lambda: x, lambda: x)
        with pytest.raises(TypeError, match="true_fn must be callable"):
            tf.cond(p, x, lambda: x)
        for t, f in ((lambda: x, lambda: tf.constant([1, 2])), (lambda: (x, x), lambda: x), (lambda: x, lambda: [x]),
                     (lambda: [x, x], lambda: (x, x))):
            with pytest.raises(TypeError, match="same number, type, and overall structure of return values"):
                tf.cond(p, t, f)
        # one-element results unpacked unless strict, as TF1's cond (and TF 2's with disable_v2_behavior)
        single = tf.cond(p, lambda: [x], lambda: [x + 1.0])
        pair = tf.cond(p, lambda: (x,), lambda: (x + 1.0,), strict=True)
        named_ = tf.cond(p, lambda: {"a": x, "b": 1.0}, lambda: {"a": -x, "b": 2.0})
        assert isinstance(single, tf.Tensor)
        assert isinstance(pair, tuple) and len(pair) == 1 and isinstance(pair[0], tf.Tensor)
        loop = tf.while_loop(lambda i: i < 3, lambda i: (i + 1,), (tf.constant(0),))
        assert isinstance(loop, tf.Tensor)
        with tf.Session() as sess:
            got = sess.run(named_, {x: [1.0, 2.0], p: False})
    np.testing.assert_array_equal(got["a"], [-1.0, -2.0])
    assert got["b"] == 2.0


def test_cond_results_of_different_shapes_stay_unplanned():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (4,))
        p = tf.placeholder(tf.bool, ())
        y = tf.cond(p, lambda: x[:1], lambda: x * 2.0) + 1.0         # (1,) or (4,): decided by p at run time
        assert y.shape.as_list() == [None]
        with tf.Session() as sess:
            v = np.arange(4.0, dtype=np.float32)
            for pv in (False, True, False, True):
                np.testing.assert_array_equal(sess.run(y, {x: v, p: pv}), v[:1] + 1 if pv else v * 2 + 1)


def test_dropout_in_a_cond_backpropagates_through_the_mask_it_drew():
    """The gradient reads the branch's own values (its tape): a second draw would give another mask."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (1000,))
        training = tf.placeholder(tf.bool, ())
        y = tf.cond(training, lambda: tf.nn.dropout(x, rate=0.5), lambda: x)
        gx = tf.gradients(tf.reduce_sum(y), x)[0]
        with tf.Session() as sess:
            v = np.random.default_rng(14).uniform(1, 2, 1000).astype(np.float32)
            yv, gv = sess.run([y, gx], {x: v, training: True})
            np.testing.assert_array_equal(gv, np.where(yv != 0, np.float32(2.0), 0))     # the mask, scaled
            assert 400 < (yv == 0).sum() < 600
            np.testing.assert_array_equal(sess.run([y, gx], {x: v, training: False}), [v, np.ones(1000)])


def test_streaming_metrics_accumulate_over_batches_into_local_variables():
    rng = np.random.default_rng(15)
    batches = [(rng.integers(0, 3, 6), rng.integers(0, 3, 6), rng.uniform(size=6).astype(np.float32))
               for _ in range(3)]
    g = tf.Graph()
    with g.as_default():
        lab = tf.placeholder(tf.int64, (None,))
        pred = tf.placeholder(tf.int64, (None,))
        w = tf.placeholder(tf.float32, (None,))
        acc, acc_up = tf.metrics.accuracy(lab, pred)
        wacc, wacc_up = tf.metrics.accuracy(lab, pred, weights=w)
        mse, mse_up = tf.metrics.mean_squared_error(tf.cast(lab, tf.float32), tf.cast(pred, tf.float32))
        prec, prec_up = tf.metrics.precision(tf.equal(lab, 1), tf.equal(pred, 1))
        rec, rec_up = tf.metrics.recall(tf.equal(lab, 1), tf.equal(pred, 1))
        assert acc.name == "accuracy/value:0" and acc_up.name == "accuracy/update_op:0"
        assert tf.global_variables() == [] and len(tf.local_variables()) == 10
        with tf.Session() as sess:
            sess.run(tf.local_variables_initializer())
            assert sess.run([acc, prec, rec]) == [0.0, 0.0, 0.0]        # nothing counted: 0, not NaN
            for a, b, c in batches:
                sess.run([acc_up, wacc_up, mse_up, prec_up, rec_up], {lab: a, pred: b, w: c})
            got = sess.run([acc, wacc, mse, prec, rec])
            sess.run(tf.local_variables_initializer())
            assert sess.run(acc) == 0.0
    lab_all, pred_all, w_all = (np.concatenate(v) for v in zip(*batches))
    hit = (lab_all == pred_all).astype(np.float64)
    np.testing.assert_allclose(got[0], hit.mean(), rtol=1e-7)
    np.testing.assert_allclose(got[1], (hit * w_all).sum() / w_all.sum(), rtol=1e-6)
    np.testing.assert_allclose(got[2], ((lab_all - pred_all) ** 2).mean(), rtol=1e-7)
    tp = ((lab_all == 1) & (pred_all == 1)).sum()
    np.testing.assert_allclose(got[3], tp / (pred_all == 1).sum(), rtol=1e-7)
    np.testing.assert_allclose(got[4], tp / (lab_all == 1).sum(), rtol=1e-7)


def test_size_of_a_tensor_with_an_unknown_dim_is_read_when_run():
    n = _run(lambda x: tf.size(x), [np.zeros((5, 3))])
    assert n == 15 and n.dtype == np.int32
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, 3))
        with tf.Session() as sess:
            assert sess.run(tf.size(x, out_type=tf.int64), {x: np.zeros((7, 3))}) == 21


def test_case_picks_the_first_true_predicate_and_checks_its_contract():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.int32, ())
        f = tf.placeholder(tf.float32, (2,))
        pairs = [(tf.less(x, 0), lambda: f * -1.0), (tf.less(x, 5), lambda: f * 2.0)]
        with_default = tf.case(pairs, default=lambda: f + 10.0)
        no_default = tf.case(pairs)         # the last pair is the default, asserting its predicate
        exclusive = tf.case([(tf.less(x, 3), lambda: f * -1.0), (tf.less(x, 5), lambda: f * 2.0)],
                            default=lambda: f, exclusive=True)
        with tf.Session() as sess:
            one = np.array([1.0, 2.0], np.float32)
            assert [sess.run(with_default, {x: v, f: one}).tolist() for v in (-3, 2, 9)] == [
                [-1.0, -2.0], [2.0, 4.0], [11.0, 12.0]]
            assert sess.run(no_default, {x: 4, f: one}).tolist() == [2.0, 4.0]
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"None of conditions evaluated as True:\] \[0 0\]"):
                sess.run(no_default, {x: 9, f: one})
            assert sess.run(exclusive, {x: 4, f: one}).tolist() == [2.0, 4.0]
            with pytest.raises(tf.errors.InvalidArgumentError, match="exclusive=True: more than 1 conditions"):
                sess.run(exclusive, {x: 2, f: one})
        with pytest.raises(TypeError, match="must be a 2-tuple"):
            tf.case([(tf.less(x, 0),)])
        with pytest.raises(TypeError, match="pred must be Tensor of type bool"):
            tf.case([(x, lambda: f)])


def test_integer_reductions_keep_their_dtype_as_tf():
    x = np.array([[-7, 2], [3, 1]], np.int32)
    got = _run(lambda t: [tf.reduce_sum(t), tf.reduce_mean(t), tf.reduce_mean(t, 0), tf.reduce_mean(t, 1),
                          tf.reduce_prod(t, 1)], [x])
    assert all(v.dtype == np.int32 for v in got)
    assert got[0] == -1 and got[1] == 0                     # -1 / 4 rounds toward zero
    assert got[2].tolist() == [-2, 1] and got[3].tolist() == [-2, 2] and got[4].tolist() == [-14, 3]
    big = _run(lambda t: [tf.reduce_sum(t), tf.reduce_mean(t)], [np.full(3, 2 ** 30, np.int32)])
    assert big[0] == -2 ** 30                               # the int32 sum wraps, as TF's kernel
    assert big[1] == 2 ** 30                                # the mean does not
    g = tf.Graph()
    with g.as_default():
        n = tf.reduce_sum(tf.cast(tf.placeholder(tf.bool, (None,)), tf.int32)) + tf.constant(1)   # int32 + int32
        assert n.dtype == tf.int32


def test_tf_where_is_tf1s_select_and_where_v2_broadcasts():
    x = np.arange(9.0, dtype=np.float32).reshape(3, 3)
    rows = np.array([True, False, True])
    got = _run(lambda a: [tf.where(rows, a, -a), tf.where_v2(rows, a, -a), tf.where(a > 3, a, -a),
                          tf.where(tf.constant(False), a, -a), tf.where(a > 3)], [x])
    np.testing.assert_array_equal(got[0], np.where(rows[:, None], x, -x))     # a vector condition picks rows
    np.testing.assert_array_equal(got[1], np.where(rows, x, -x))              # broadcast: it picks columns
    np.testing.assert_array_equal(got[2], np.where(x > 3, x, -x))
    np.testing.assert_array_equal(got[3], -x)
    assert got[4].dtype == np.int64 and got[4].tolist() == np.argwhere(x > 3).tolist()
    g = tf.Graph()
    with g.as_default():
        a = tf.zeros((3, 3))
        with pytest.raises(ValueError, match="vector condition of size 2"):
            tf.where(tf.constant([True, False]), a, a)
        with pytest.raises(ValueError, match="condition of shape \\[3, 1\\]"):
            tf.where(tf.zeros((3, 1), tf.bool), a, a)
        with pytest.raises(ValueError, match="x has shape \\[3, 3\\] and y \\[3\\]"):
            tf.where(tf.constant(True), a, tf.zeros(3))
        with pytest.raises(ValueError, match="both be non-None"):
            tf.where(tf.constant(True), a)


def test_boolean_mask_selects_and_scatters_its_gradient_back():
    x = np.random.default_rng(17).normal(size=(2, 3, 4))
    mask2 = np.array([[True, False, True], [False, False, True]])
    got = _run(lambda a: [tf.boolean_mask(a, mask2), tf.boolean_mask(a, mask2[0], axis=1),
                          tf.boolean_mask(a, a > 0)], [x])
    np.testing.assert_array_equal(got[0], x[mask2])
    np.testing.assert_array_equal(got[1], x[:, mask2[0]])
    np.testing.assert_array_equal(got[2], x[x > 0])
    _grad_check(lambda a: tf.boolean_mask(a, mask2), x)
    _grad_check(lambda a: tf.boolean_mask(a * a, mask2[1], axis=1), x)
    g = tf.Graph()
    with g.as_default(), pytest.raises(ValueError, match="Shapes \\[2, 3\\] and \\[3, 2\\] are incompatible"):
        tf.boolean_mask(tf.zeros((2, 3)), tf.zeros((3, 2), tf.bool))


def test_unique_keeps_the_order_of_first_appearance():
    v = np.array([4.0, 1.0, 4.0, np.nan, 2.0, 1.0, np.nan], np.float32)
    y, idx = _run(lambda a: list(tf.unique(a)), [v])
    np.testing.assert_array_equal(y, [4.0, 1.0, np.nan, 2.0, np.nan])       # NaNs never equal each other
    assert idx.dtype == np.int32 and idx.tolist() == [0, 1, 0, 2, 3, 1, 4]
    w = np.array([3, 3, 1, 2, 1, 3], np.int64)
    y, idx, count = _run(lambda a: list(tf.unique_with_counts(a, out_idx=tf.int64)), [w])
    assert y.tolist() == [3, 1, 2] and idx.tolist() == [0, 0, 1, 2, 1, 0] and count.tolist() == [3, 2, 1]
    assert idx.dtype == count.dtype == np.int64


def _cumprod_loop(x, axis, exclusive, reverse):
    x = np.moveaxis(x, axis, -1)
    out = np.empty_like(x)
    for idx in np.ndindex(x.shape[:-1]):
        row, acc = x[idx][::-1] if reverse else x[idx], 1.0
        res = []
        for v in row:
            res.append(acc if exclusive else acc * v)
            acc = acc * v
        out[idx] = res[::-1] if reverse else res
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("exclusive,reverse", [(False, False), (True, False), (False, True), (True, True)])
def test_tf_cumprod_matches_a_loop_and_takes_tfs_gradient(exclusive, reverse):
    x = np.random.default_rng(18).normal(size=(3, 4))
    got = _run(lambda a: tf.math.cumprod(a, 1, exclusive=exclusive, reverse=reverse), [x])
    np.testing.assert_allclose(got, _cumprod_loop(x, 1, exclusive, reverse), rtol=1e-14)
    _grad_check(lambda a: tf.cumprod(a, 1, exclusive=exclusive, reverse=reverse), x)
    # At a zero, TF's gradient is 0 (its rule divides by x with div_no_nan), not the other factors' product.
    z = x.copy()
    z[1, 1] = 0.0
    g = _run(lambda a: tf.gradients(tf.reduce_sum(tf.cumprod(a, 1)), a)[0], [z])
    assert g[1, 1] == 0.0 and np.all(np.isfinite(g))


def test_sorted_segment_sum_and_mean_match_loops_and_check_their_ids():
    d = np.random.default_rng(19).normal(size=(6, 2))
    ids = np.array([0, 0, 2, 2, 2, 5], np.int32)
    got = _run(lambda a: [tf.math.segment_sum(a, ids), tf.math.segment_mean(a, ids)], [d])
    sums, counts = _segments(d, ids, 6)
    np.testing.assert_array_equal(got[0], sums)
    np.testing.assert_allclose(got[1], sums / np.maximum(counts, 1)[:, None], rtol=1e-15)
    _grad_check(lambda a: tf.math.segment_sum(a, ids), d)
    _grad_check(lambda a: tf.math.segment_mean(a * a, ids), d)
    for bad, message in (([0, 2, 1, 3, 3, 3], "not increasing"), ([-1, 0, 0, 0, 0, 0], "must be >= 0")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            _run(lambda a, i: tf.math.segment_sum(a, i), [d, np.array(bad, np.int32)])


def test_while_loop_values_and_gradients_through_the_iterations():
    x0, w0 = np.array([1.0, 2.0]), np.array([0.5, -1.5])

    def build(x, w, n):
        return tf.while_loop(lambda i, a: i < n, lambda i, a: (i + 1, a * w + tf.sin(a)), [tf.constant(0), x])[1]

    def by_hand(x, w, n):
        for _ in range(n):
            x = x * w + np.sin(x)
        return x
    for n in (0, 1, 3):
        np.testing.assert_allclose(_run(lambda x, w: build(x, w, n), [x0, w0]), by_hand(x0, w0, n), rtol=1e-15)
        _grad_check(lambda x: build(x, tf.constant(w0), n), x0)            # through the carried variable
        _grad_check(lambda w: build(tf.constant(x0), w, n), w0)            # a capture, summed over iterations


def test_while_loop_structures_counters_and_effects():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (2,))
        v = tf.Variable(np.float32(0.0))
        i = tf.constant(0)
        counted = tf.while_loop(lambda i: i < 3, lambda i: i + 1, [i])                # one variable: unpacked
        kept = tf.while_loop(lambda i: i < 3, lambda i: [i + 1], [i], return_same_structure=True)
        nested = tf.while_loop(lambda i, d: i < 3, lambda i, d: (i + 1, {"a": d["a"] * 2.0}), (i, {"a": x}))
        capped = tf.while_loop(lambda i: i < 100, lambda i: i + 1, [i], maximum_iterations=5)
        grown = tf.while_loop(lambda a: tf.reduce_sum(a) < 10.0, lambda a: tf.concat([a, a], 0), [x],
                              shape_invariants=[tf.TensorShape([None])])
        with tf.control_dependencies([v.initializer]):
            start = tf.constant(0)
        adds = tf.while_loop(lambda i: i < 4, lambda i: tf.identity(i + 1) + tf.cast(
            tf.assign_add(v, 1.0) * 0.0, tf.int32), [start])
        assert isinstance(counted, tf.Tensor) and isinstance(kept, list) and grown.shape.as_list() == [None]
        with tf.Session() as sess:
            got = sess.run([counted, kept, nested, capped, grown], {x: [1.0, 2.0]})
            assert sess.run(adds) == 4 and sess.run(v) == 4.0       # the body's assign ran once per iteration
    assert got[0] == 3 and got[1] == [3] and got[3] == 5
    assert got[2][0] == 3 and got[2][1]["a"].tolist() == [8.0, 16.0]
    assert got[4].tolist() == [1.0, 2.0] * 4                        # 3, 6, 12: the sum passes 10 after two


def test_while_loop_checks_shapes_dtypes_and_its_condition():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (2,))
        with pytest.raises(ValueError, match=r"enters the loop with shape \(2,\), but has shape \(4,\) after one "
                                             "iteration"):
            tf.while_loop(lambda a: tf.reduce_sum(a) < 10.0, lambda a: tf.concat([a, a], 0), [x])
        with pytest.raises(TypeError, match="changed a loop variable's dtype from float32 to int32"):
            tf.while_loop(lambda a: tf.reduce_sum(a) < 10.0, lambda a: tf.cast(a, tf.int32), [x])
        with pytest.raises(TypeError, match="cond must return a boolean scalar"):
            tf.while_loop(lambda a: a < 1.0, lambda a: a, [x])
        with pytest.raises(TypeError, match="'body' must be callable"):
            tf.while_loop(lambda a: True, x, [x])


IMG = np.random.default_rng(20).uniform(0, 1, size=(2, 5, 7, 3)).astype(np.float32)


def test_image_flips_crops_and_pads_are_exact_copies():
    got = _run(lambda x: [tf.image.flip_left_right(x), tf.image.flip_up_down(x[0]),
                          tf.image.crop_to_bounding_box(x, 1, 2, 3, 4), tf.image.pad_to_bounding_box(x, 1, 2, 8, 10),
                          tf.image.central_crop(x, 0.5), tf.image.resize_image_with_crop_or_pad(x, 3, 9)], [IMG])
    np.testing.assert_array_equal(got[0], IMG[:, :, ::-1])
    np.testing.assert_array_equal(got[1], IMG[0, ::-1])
    np.testing.assert_array_equal(got[2], IMG[:, 1:4, 2:6])
    padded = np.zeros((2, 8, 10, 3), np.float32)
    padded[:, 1:6, 2:9] = IMG
    np.testing.assert_array_equal(got[3], padded)
    np.testing.assert_array_equal(got[4], IMG[:, 1:4, 1:6])       # int((5 - 2.5) / 2) = 1, int((7 - 3.5) / 2) = 1
    canvas = np.zeros((2, 3, 9, 3), np.float32)
    canvas[:, :, 1:8] = IMG[:, 1:4]                                 # height cropped around the centre, width padded
    np.testing.assert_array_equal(got[5], canvas)
    g = tf.Graph()
    with g.as_default():
        x = tf.zeros((5, 7, 3))
        with pytest.raises(ValueError, match="width must be >= target \\+ offset"):
            tf.image.crop_to_bounding_box(x, 0, 4, 2, 4)
        with pytest.raises(ValueError, match="central_fraction must be within \\(0, 1\\]"):
            tf.image.central_crop(x, 1.5)
        with pytest.raises(ValueError, match="must have either 3 or 4 dimensions"):
            tf.image.flip_left_right(tf.zeros((5, 7)))


def _bilinear_loop(img, nh, nw, align_corners=False, half_pixel=False):
    """TF's ResizeBilinear for one (h, w, c) image, written out pixel by pixel in float32."""
    h, w, _ = img.shape
    f = np.float32

    def taps(n_in, n_out):
        scale = f(n_in - 1) / f(n_out - 1) if align_corners and n_out > 1 else f(n_in) / f(n_out)
        out = []
        for i in range(n_out):
            at = (f(i) + f(0.5)) * scale - f(0.5) if half_pixel else f(i) * scale
            lo = int(np.floor(at))
            out.append((max(lo, 0), min(int(np.ceil(at)), n_in - 1), f(at - f(np.floor(at)))))
        return out
    res = np.empty((nh, nw, img.shape[2]), np.float32)
    for y, (y0, y1, yl) in enumerate(taps(h, nh)):
        for x, (x0, x1, xl) in enumerate(taps(w, nw)):
            top = img[y0, x0] + (img[y0, x1] - img[y0, x0]) * xl
            bottom = img[y1, x0] + (img[y1, x1] - img[y1, x0]) * xl
            res[y, x] = top + (bottom - top) * yl
    return res


def test_resizes_follow_tfs_kernels_pixel_by_pixel():
    got = _run(lambda x: [tf.image.resize_images(x, [9, 4]), tf.image.resize_images(x, [3, 11], align_corners=True),
                          tf.image.resize_bilinear(x, [8, 5], half_pixel_centers=True),
                          tf.image.resize_images(x, [9, 4], method=tf.image.ResizeMethod.NEAREST_NEIGHBOR),
                          tf.image.resize_images(x, [5, 7])], [IMG])
    for k, (size, kw) in enumerate((((9, 4), {}), ((3, 11), {"align_corners": True}),
                                    ((8, 5), {"half_pixel": True}))):
        np.testing.assert_array_equal(got[k], np.stack([_bilinear_loop(im, *size, **kw) for im in IMG]))
    rows = np.minimum(np.floor(np.arange(9) * np.float32(5 / 9)).astype(int), 4)
    cols = np.minimum(np.floor(np.arange(4) * np.float32(7 / 4)).astype(int), 6)
    np.testing.assert_array_equal(got[3], IMG[:, rows][:, :, cols])
    np.testing.assert_array_equal(got[4], IMG)          # the same size: the image itself
    # Resizing is linear (float32: central differences would drown in rounding): its gradient g of
    # sum(resize(x) * c) satisfies <x, g> = <resize(x), c> for every x.
    c = np.random.default_rng(21).normal(size=(2, 4, 6, 3)).astype(np.float32)
    out, grad = _run(lambda x: [tf.image.resize_images(x, [4, 6]),
                                tf.gradients(tf.reduce_sum(tf.image.resize_images(x, [4, 6]) * c), x)[0]], [IMG])
    np.testing.assert_allclose((IMG * grad).sum(dtype=np.float64), (out * c).sum(dtype=np.float64), rtol=1e-5)
    assert np.count_nonzero(grad) > IMG.size // 2


def test_standardization_brightness_contrast_and_grayscale():
    got = _run(lambda x: [tf.image.per_image_standardization(x), tf.image.adjust_brightness(x, 0.2),
                          tf.image.adjust_contrast(x, 1.7), tf.image.rgb_to_grayscale(x),
                          tf.image.grayscale_to_rgb(x[..., :1])], [IMG])
    flat = IMG.reshape(2, -1).astype(np.float64)
    std = np.maximum(flat.std(1), 1 / np.sqrt(flat.shape[1]))[:, None, None, None]
    np.testing.assert_allclose(got[0], (IMG - flat.mean(1)[:, None, None, None]) / std, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], IMG + np.float32(0.2), rtol=1e-7)
    mean = IMG.mean((1, 2), keepdims=True)
    np.testing.assert_allclose(got[2], (IMG - mean) * 1.7 + mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[3], IMG @ np.array([[0.2989], [0.5870], [0.1140]], np.float32), rtol=1e-6)
    np.testing.assert_array_equal(got[4], np.repeat(IMG[..., :1], 3, -1))
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, IMG.shape)
        with pytest.raises(LookupError, match="op type: AdjustContrastv2"):
            tf.gradients(tf.reduce_sum(tf.image.adjust_contrast(x, 2.0)), x)
        with pytest.raises(NotImplementedError, match="images of dtype uint8"):
            tf.image.adjust_brightness(tf.zeros((2, 2, 3), tf.uint8), 1)


def _conv1d_loop(x, w, stride, pad_lo, dilation=1):
    """A 1-D cross-correlation (batch, width, in) * (k, in, out), zero padded on the left by ``pad_lo``."""
    n, width, _ = x.shape
    k, _, o = w.shape
    span = dilation * (k - 1) + 1
    xp = np.pad(x, ((0, 0), (pad_lo, span), (0, 0)))
    outs = []
    for start in range(0, width + 2 * pad_lo - span + 1, stride):
        outs.append(sum(xp[:, start + j * dilation] @ w[j] for j in range(k)))
    return np.stack(outs, 1)


def test_conv1d_pools_atrous_and_the_convolution_gradients_as_functions():
    rng = np.random.default_rng(22)
    x1, w1 = rng.normal(size=(2, 9, 3)), rng.normal(size=(3, 3, 4))
    got = _run(lambda a: [tf.nn.conv1d(a, w1, 2, "SAME"), tf.nn.conv1d(a, w1, 1, "VALID", dilations=2),
                          tf.nn.max_pool1d(a, 2, 2, "VALID"), tf.nn.avg_pool1d(a, 3, 3, "VALID")], [x1])
    np.testing.assert_allclose(got[0], _conv1d_loop(x1, w1, 2, 1), rtol=1e-12)      # SAME: (9 - 1) // 2 ... 1 left
    np.testing.assert_allclose(got[1], _conv1d_loop(x1, w1, 1, 0, 2), rtol=1e-12)
    np.testing.assert_array_equal(got[2], x1[:, :8].reshape(2, 4, 2, 3).max(2))
    np.testing.assert_allclose(got[3], x1.reshape(2, 3, 3, 3).mean(2), rtol=1e-14)
    _grad_check(lambda a: tf.nn.conv1d(a, w1, 2, "SAME"), x1)
    x2, w2 = rng.normal(size=(1, 5, 6, 2)), rng.normal(size=(3, 3, 2, 3))
    gy = rng.normal(size=(1, 3, 4, 3))
    got = _run(lambda a: [tf.nn.atrous_conv2d(a, w2, 2, "SAME"), tf.nn.conv2d(a, w2, 1, "SAME", dilations=2),
                          tf.nn.conv2d_backprop_filter(a, [3, 3, 2, 3], gy, [1, 1, 1, 1], "VALID"),
                          tf.gradients(tf.nn.conv2d(a, tf.constant(w2), 1, "VALID"), a, gy)[0],
                          tf.nn.conv2d_backprop_input([1, 5, 6, 2], w2, gy, [1, 1, 1, 1], "VALID")], [x2])
    np.testing.assert_array_equal(got[0], got[1])
    want_w = np.zeros((3, 3, 2, 3))
    for i in range(3):
        for j in range(3):
            want_w[i, j] = x2[0, i:i + 3, j:j + 4].reshape(-1, 2).T @ gy[0].reshape(-1, 3)
    np.testing.assert_allclose(got[2], want_w, rtol=1e-12)
    np.testing.assert_array_equal(got[3], got[4])       # the input gradient, called by name


def test_small_nn_and_math_functions_match_their_formulas():
    rng = np.random.default_rng(23)
    x, w, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)
    z = rng.uniform(size=(4, 3))
    got = _run(lambda a, zz: [tf.nn.xw_plus_b(a, w, b), tf.nn.relu_layer(a, w, b), tf.math.log_sigmoid(a * 30),
                              tf.nn.softsign(a), tf.nn.crelu(a),
                              tf.nn.weighted_cross_entropy_with_logits(labels=zz, logits=a * 5, pos_weight=3.0),
                              tf.math.zero_fraction(tf.nn.relu(a)), tf.math.scalar_mul(2.0, a),
                              tf.math.accumulate_n([a, a * 2])], [x, z])
    np.testing.assert_allclose(got[0], x @ w + b, rtol=1e-13)
    np.testing.assert_allclose(got[1], np.maximum(x @ w + b, 0), rtol=1e-13)
    np.testing.assert_allclose(got[2], -np.logaddexp(0, -x * 30), rtol=1e-13)
    np.testing.assert_allclose(got[3], x / (1 + np.abs(x)), rtol=1e-15)
    np.testing.assert_array_equal(got[4], np.maximum(np.concatenate([x, -x], -1), 0))
    q = 3.0
    np.testing.assert_allclose(got[5], z * -np.log(1 / (1 + np.exp(-x * 5))) * q
                               + (1 - z) * -np.log(1 - 1 / (1 + np.exp(-x * 5))), rtol=1e-10)
    assert got[6].dtype == np.float32 and got[6] == np.float32((x <= 0).sum() / x.size)
    np.testing.assert_array_equal(got[7], 2 * x)
    np.testing.assert_array_equal(got[8], x + 2 * x)
    for build in (lambda a: tf.math.log_sigmoid(a), lambda a: tf.nn.softsign(a), lambda a: tf.nn.crelu(a),
                  lambda a: tf.nn.weighted_cross_entropy_with_logits(labels=tf.constant(z), logits=a,
                                                                     pos_weight=2.5)):
        _grad_check(build, x)


def _drain(sess, element, feed=None):
    out = []
    while True:
        try:
            out.append(sess.run(element, feed))
        except tf.errors.OutOfRangeError:
            return out


def test_dataset_pipeline_elements_in_order_until_out_of_range():
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    y = np.arange(5)
    g = tf.Graph()
    with g.as_default():
        ds = tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a * 2.0, b + 1)).repeat(2).skip(1)
        a, b = ds.batch(3).make_one_shot_iterator().get_next()
        total = tf.reduce_sum(a)                 # the last batch is shorter: a value-shaped result
        single = tf.data.Dataset.range(7).take(3).make_one_shot_iterator().get_next()
        assert a.shape.as_list() == [None, 2] and b.dtype == tf.int64
        with tf.Session() as sess:
            got = _drain(sess, [a, b, total])
            assert [int(v) for v in _drain(sess, single)] == [0, 1, 2]
    rows = [i for i in list(range(5)) * 2][1:]              # repeat(2), skip(1)
    assert [len(v[1]) for v in got] == [3, 3, 3]
    np.testing.assert_array_equal(np.concatenate([v[0] for v in got]), x[rows] * 2)
    np.testing.assert_array_equal(np.concatenate([v[1] for v in got]), y[rows] + 1)
    assert [float(v[2]) for v in got] == [float((x[rows[i:i + 3]] * 2).sum()) for i in (0, 3, 6)]


def test_initializable_iterator_reads_its_placeholders_when_initialized():
    g = tf.Graph()
    with g.as_default():
        ph = tf.placeholder(tf.float32, (None, 2))
        it = tf.data.Dataset.from_tensor_slices(ph).shuffle(10, seed=3).repeat(3).batch(5, drop_remainder=True) \
            .make_initializable_iterator()
        nxt = it.get_next()
        assert nxt.shape.as_list() == [5, 2]
        x = np.arange(10, dtype=np.float32).reshape(5, 2)
        with tf.Session() as sess:
            with pytest.raises(tf.errors.FailedPreconditionError, match="has not been initialized"):
                sess.run(nxt)
            sess.run(it.initializer, {ph: x})
            epochs = _drain(sess, nxt)
            sess.run(it.initializer, {ph: x[:2]})           # restarted on other data
            assert len(_drain(sess, nxt)) == 1
    assert len(epochs) == 3
    for e in epochs:            # each epoch a permutation of the rows
        assert sorted(map(tuple, e.tolist())) == sorted(map(tuple, x.tolist()))
    assert len({tuple(e[:, 0]) for e in epochs}) > 1             # reshuffled each epoch


def test_dataset_map_refuses_outside_tensors_and_checks_slices():
    g = tf.Graph()
    with g.as_default():
        w = tf.placeholder(tf.float32, ())
        with pytest.raises(NotImplementedError, match="reading tensors from outside"):
            tf.data.Dataset.range(3).map(lambda v: tf.cast(v, tf.float32) * w)
        scale = tf.constant(2.5)          # a constant from outside is read as its value
        scaled = tf.data.Dataset.range(3).map(lambda v: tf.cast(v, tf.float32) * scale).make_one_shot_iterator()
        nxt_scaled = scaled.get_next()
        with tf.Session() as sess:
            assert [float(sess.run(nxt_scaled)) for _ in range(3)] == [0.0, 2.5, 5.0]
        with pytest.raises(ValueError, match="Dimensions 3 and 4 are not compatible"):
            tf.data.Dataset.from_tensor_slices((np.zeros(3), np.zeros(4)))
        a, b = tf.placeholder(tf.float32, (None,)), tf.placeholder(tf.float32, (None,))
        it = tf.data.Dataset.from_tensor_slices((a, b)).make_initializable_iterator()
        with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match="must all be equal"):
            sess.run(it.initializer, {a: np.zeros(3), b: np.zeros(4)})
            sess.run(it.get_next())


def test_random_ops_draw_anew_at_each_run_and_replay_in_a_new_session():
    """tf.random_normal & co. are run-time ops, as in TF1: a constant drawn once would give every step the
    same noise (a VAE's epsilon, data augmentation)."""
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(3)
        x = tf.placeholder(tf.float32, (None, 3))
        normal = tf.random_normal([20000], mean=1.0, stddev=2.0)
        uniform = tf.random_uniform([20000], -2.0, 3.0)
        trunc = tf.truncated_normal([20000], mean=-1.0, stddev=0.5)
        like = tf.random_normal(tf.shape(x))        # a runtime shape
        with tf.Session() as sess:
            a = sess.run([normal, uniform, trunc])
            b = sess.run([normal, uniform, trunc])
            assert sess.run(like, {x: np.zeros((4, 3))}).shape == (4, 3)
        with tf.Session() as sess:
            replay = sess.run([normal, uniform, trunc])
    for first, second, again in zip(a, b, replay):
        assert not np.array_equal(first, second)            # each run draws anew
        np.testing.assert_array_equal(first, again)         # a new session on a seeded graph replays
    n, u, t = a
    assert abs(n.mean() - 1.0) < 0.05 and abs(n.std() - 2.0) < 0.05
    assert u.min() >= -2.0 and u.max() < 3.0 and abs(u.mean() - 0.5) < 0.05
    # truncated at two standard deviations: std 0.8796 of the normal's
    assert t.min() >= -2.0 and t.max() <= 0.0 and abs(t.std() - 0.5 * 0.87962566) < 0.01


def test_keras_gaussian_noise_and_dropout_only_in_training():
    x = np.ones((20000, 2), np.float32)
    g = tf.Graph()
    with g.as_default():
        noise, drop = tf.keras.layers.GaussianNoise(0.5), tf.keras.layers.GaussianDropout(0.2)
        xt = tf.constant(x)
        train = [noise(xt, training=True), drop(xt, training=True)]
        infer = [noise(xt, training=False), drop(xt, training=False)]
        with tf.Session() as sess:
            a, b = sess.run(train)
            assert not np.array_equal(a, sess.run(train[0]))
            for v in sess.run(infer):
                np.testing.assert_array_equal(v, x)
        with pytest.raises(ValueError, match="Expected a float value between 0 and 1. Received: stddev=2"):
            tf.keras.layers.GaussianNoise(2)
    assert abs((a - 1).mean()) < 0.02 and abs((a - 1).std() - 0.5) < 0.02
    assert abs(b.mean() - 1) < 0.02 and abs(b.std() - np.sqrt(0.2 / 0.8)) < 0.02


def test_random_image_augmentations_are_exact_and_fresh():
    img = IMG[:1].repeat(6, 0)
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, 5, 7, 3))
        flipped = tf.image.random_flip_left_right(x)
        upside = tf.image.random_flip_up_down(x[0])
        crop = tf.image.random_crop(x[0], [3, 4, 3])
        bright = tf.image.random_brightness(x, 0.3)
        grad = tf.gradients(tf.reduce_sum(crop * 2.0), x)[0]
        with tf.Session() as sess:
            seen = set()
            for _ in range(8):
                f, u, c, b, gv = sess.run([flipped, upside, crop, bright, grad], {x: img})
                for a in f:       # each image either mirrored or not, exactly
                    seen.add(np.array_equal(a, img[0, :, ::-1]))
                    assert np.array_equal(a, img[0, :, ::-1]) or np.array_equal(a, img[0])
                assert np.array_equal(u, img[0, ::-1]) or np.array_equal(u, img[0])
                windows = [img[0, i:i + 3, j:j + 4] for i in range(3) for j in range(4)]
                assert any(np.array_equal(c, w) for w in windows)
                delta = b - img
                assert np.ptp(delta) < 1e-6 and abs(delta.mean()) <= 0.3
                assert gv.sum() == 72.0 and set(np.unique(gv)) <= {0.0, 2.0}
            assert seen == {True, False}
    with pytest.raises(ValueError, match="upper must be > lower"):
        tf.image.random_contrast(tf.zeros((2, 2, 3)), 1.0, 0.5)


def test_fused_batch_norm_training_and_inference_match_the_formulas():
    rng = np.random.default_rng(24)
    x = rng.normal(size=(4, 3, 5, 2)) * 2 + 1
    scale, offset = rng.normal(size=2), rng.normal(size=2)
    mean, var = rng.normal(size=2), rng.uniform(0.5, 2, size=2)
    got = _run(lambda a: list(tf.nn.fused_batch_norm(a, scale, offset)) + list(
        tf.nn.fused_batch_norm(a, scale, offset, mean, var, epsilon=1e-8, is_training=False)), [x])
    m, v = x.mean((0, 1, 2)), x.var((0, 1, 2))
    np.testing.assert_allclose(got[0], (x - m) / np.sqrt(v + 1e-3) * scale + offset, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[1], m, rtol=1e-12)
    n = x.size / 2
    np.testing.assert_allclose(got[2], v * n / (n - 1), rtol=1e-12)       # the Bessel-corrected variance
    # epsilon raised to cuDNN's 1.001e-5, as TF does
    np.testing.assert_allclose(got[3], (x - mean) / np.sqrt(var + 1.001e-5) * scale + offset, rtol=1e-10)
    np.testing.assert_array_equal(got[4], mean)
    _grad_check(lambda a: tf.nn.fused_batch_norm(a, scale, offset)[0], x[:2, :2, :3])
    g = tf.Graph()
    with g.as_default(), pytest.raises(ValueError, match="Both 'mean' and 'variance' must be a 1D tensor"):
        tf.nn.fused_batch_norm(tf.zeros((1, 2, 2, 3)), [1.0] * 3, [0.0] * 3, is_training=False)


def test_gather_with_batch_dims_gathers_each_batch_from_its_own():
    p = np.random.default_rng(25).normal(size=(2, 3, 4, 5))
    i = np.array([[[1, 0], [3, 3], [2, 1]], [[0, 0], [1, 2], [3, 3]]])
    got = _run(lambda a: [tf.gather(a, i, batch_dims=2, axis=2), tf.gather(a, i[:, 0], batch_dims=1, axis=2),
                          tf.gather(a, i[:, 0], batch_dims=1)], [p])
    want0 = np.stack([np.stack([p[b, m][i[b, m]] for m in range(3)]) for b in range(2)])
    np.testing.assert_array_equal(got[0], want0)
    want1 = np.stack([p[b][:, i[b, 0]] for b in range(2)])                   # (2, 3, 2, 5): the middle dim kept
    np.testing.assert_array_equal(got[1], want1)
    np.testing.assert_array_equal(got[2], np.stack([p[b][i[b, 0]] for b in range(2)]))
    _grad_check(lambda a: tf.gather(a, i[:, 0], batch_dims=1, axis=2), p)
    g = tf.Graph()
    with g.as_default(), pytest.raises(ValueError, match="params.shape\\[:1\\] \\[2\\] must equal indices.shape"):
        tf.gather(tf.zeros((2, 3)), np.zeros((3, 1), np.int32), batch_dims=1)


def test_indexing_a_tensor_with_several_unknown_dims():
    """The static shape of x[:, 0, :1] with x (None, None, 3): NumPy's iterator overflowed when every unknown
    dim stood for 2^40 elements."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, None, 3))
        four = tf.placeholder(tf.float32, (None, None, None, None))
        picked, last = x[:, 0, :1], x[..., 2]
        assert picked.shape.as_list() == [None, 1] and last.shape.as_list() == [None, None]
        assert four[:, 0].shape.as_list() == [None, None, None]
        v = np.arange(24.0, dtype=np.float32).reshape(2, 4, 3)
        with tf.Session() as sess:
            got = sess.run([picked, last], {x: v})
    np.testing.assert_array_equal(got[0], v[:, 0, :1])
    np.testing.assert_array_equal(got[1], v[..., 2])


def test_dataset_zip_concatenate_filter_and_generator():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)

    def gen():
        for i in range(4):
            yield np.full((2,), i, np.float32), i * 10
    g = tf.Graph()
    with g.as_default():
        D = tf.data.Dataset
        a, b = D.from_tensor_slices(x), D.range(10)
        zipped = D.zip((a, b)).map(lambda u, v: u * 2.0 + tf.cast(v, tf.float32)).batch(4)
        joined = a.concatenate(D.from_tensor_slices(x[:2] * -1)).filter(lambda u: tf.reduce_sum(u) > 3.0)
        generated = D.from_generator(gen, (tf.float32, tf.int64), (tf.TensorShape([2]), tf.TensorShape([])))
        bad = D.from_generator(lambda: iter([np.zeros(3)]), tf.float32, tf.TensorShape([2]))
        with tf.Session() as sess:
            z = _drain(sess, zipped.make_one_shot_iterator().get_next())
            j = _drain(sess, joined.make_one_shot_iterator().get_next())
            gens = _drain(sess, generated.repeat(2).make_one_shot_iterator().get_next())
            with pytest.raises(tf.errors.InvalidArgumentError, match="yielded an element of shape \\(3,\\)"):
                sess.run(bad.make_one_shot_iterator().get_next())
        with pytest.raises(TypeError, match="compatible element types"):
            a.concatenate(b)
    np.testing.assert_array_equal(np.concatenate(z), x * 2 + np.arange(6, dtype=np.float32)[:, None])
    assert [len(v) for v in z] == [4, 2]                                   # as long as the shorter
    rows = [r for r in list(x) + list(x[:2] * -1) if r.sum() > 3]
    np.testing.assert_array_equal(np.stack(j), np.stack(rows))
    assert [int(v[1]) for v in gens] == [0, 10, 20, 30] * 2 and gens[0][0].dtype == np.float32


def test_reverse_sequence_mirrors_each_row_within_its_length():
    x = np.random.default_rng(26).normal(size=(3, 5, 2))
    lengths = np.array([5, 2, 0])
    got = _run(lambda a: [tf.reverse_sequence(a, lengths, seq_axis=1, batch_axis=0),
                          tf.reverse_sequence(tf.transpose(a, [1, 0, 2]), lengths, seq_axis=0, batch_axis=1)], [x])
    want = x.copy()
    for b, n in enumerate(lengths):
        want[b, :n] = x[b, :n][::-1]
    np.testing.assert_array_equal(got[0], want)
    np.testing.assert_array_equal(got[1], want.transpose(1, 0, 2))
    _grad_check(lambda a: tf.reverse_sequence(a * a, lengths, seq_axis=1, batch_axis=0), x)


def test_bidirectional_dynamic_rnn_runs_the_backward_cell_on_each_row_reversed():
    rng = np.random.default_rng(27)
    x = rng.normal(size=(3, 4, 2)).astype(np.float32)
    lengths = np.array([4, 2, 1])
    g = tf.Graph()
    with g.as_default():
        ph = tf.placeholder(tf.float32, x.shape)
        (out_fw, out_bw), (state_fw, state_bw) = tf.nn.bidirectional_dynamic_rnn(
            tf.nn.rnn_cell.BasicRNNCell(3), tf.nn.rnn_cell.BasicRNNCell(3), ph, sequence_length=lengths,
            dtype=tf.float32)
        names = [v.op.name for v in tf.trainable_variables()]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            kf, bf, kb, bb = sess.run(tf.trainable_variables())
            got = sess.run([out_fw, out_bw, state_fw, state_bw], {ph: x})
    assert names == ["bidirectional_rnn/fw/basic_rnn_cell/kernel", "bidirectional_rnn/fw/basic_rnn_cell/bias",
                     "bidirectional_rnn/bw/basic_rnn_cell/kernel", "bidirectional_rnn/bw/basic_rnn_cell/bias"]

    def loop(rows, kernel, bias):
        """TF1's BasicRNNCell over each row up to its length: zeros after it, the last state held."""
        outs, states = np.zeros((3, 4, 3), np.float32), np.zeros((3, 3), np.float32)
        for b, n in enumerate(lengths):
            h = np.zeros(3, np.float32)
            for t in range(n):
                h = np.tanh(np.concatenate([rows[b][t], h]) @ kernel + bias)
                outs[b, t] = h
            states[b] = h
        return outs, states
    fw, fw_state = loop(x, kf, bf)
    bw_rev, bw_state = loop([x[b, :n][::-1] for b, n in enumerate(lengths)], kb, bb)
    bw = np.zeros_like(bw_rev)
    for b, n in enumerate(lengths):
        bw[b, :n] = bw_rev[b, :n][::-1]             # reversed back within the row's length
    for a, w in zip(got, (fw, bw, fw_state, bw_state)):
        np.testing.assert_allclose(a, w, rtol=1e-5, atol=1e-6)
