"""TF1 functions for scattering into tensors and variables (tensor_scatter_nd_*, scatter_*/scatter_nd_*),
strided_slice and newaxis, meshgrid, roll, space_to_depth/depth_to_space, bincount, confusion_matrix and
tf.tuple; values against NumPy loops and hand values, gradients against float64 central differences."""
import numpy as np
import pytest

import static_api as tf
from tests.helpers import central_differences

R = np.random.default_rng(21)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _run(t, feed=None):
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        return s.run(t, feed)


def _scatter_loop(x, rows, updates, mode):
    out = x.copy()
    for r, u in zip(rows, updates):
        if mode == "update":
            out[r] = u
        elif mode == "add":
            out[r] = out[r] + u
        else:
            out[r] = out[r] - u
    return out


@pytest.mark.parametrize("mode", ["update", "add", "sub"])
def test_scatters_apply_updates_one_after_the_other(mode):
    x0 = R.standard_normal((5, 3)).astype(np.float32)
    u = (R.standard_normal((4, 3)) * 1e3).astype(np.float32)
    rows = [1, 3, 1, 0]                                 # a repeated row: order decides the value and rounding
    want = _scatter_loop(x0, rows, u, mode)
    v = tf.Variable(x0)
    fetched = getattr(tf, f"scatter_{mode}")(v, rows, u)
    tensor = getattr(tf, f"tensor_scatter_nd_{mode}")(tf.constant(x0), [[r] for r in rows], u)
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        got = s.run(fetched)
        np.testing.assert_array_equal(s.run(v), want)       # the variable holds it afterwards
        np.testing.assert_array_equal(s.run(tensor), want)
    np.testing.assert_array_equal(got, want)
    assert fetched.op.name == "Scatter" + mode.capitalize()


def test_scatter_nd_on_variables_and_bad_arguments():
    v = tf.Variable(np.zeros((2, 3), np.float32))
    up = tf.scatter_nd_add(v, [[0, 1], [1, 2], [0, 1]], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(_run(up), [[0.0, 4.0, 0.0], [0.0, 0.0, 2.0]])
    with pytest.raises(TypeError, match="tf.scatter_update: argument 'ref' must be a Variable"):
        tf.scatter_update(tf.constant([1.0]), [0], [2.0])
    with pytest.raises(Exception, match="updates"):
        tf.tensor_scatter_nd_update(tf.zeros([4, 2]), [[1]], tf.zeros([1, 3]))
    with pytest.raises(tf.errors.InvalidArgumentError):
        _run(tf.tensor_scatter_nd_update(tf.zeros([4]), [[7]], [1.0]))


@pytest.mark.parametrize("mode", ["update", "add", "sub"])
def test_tensor_scatter_gradients_match_finite_differences(mode):
    x0, u0 = R.standard_normal((5, 3)), R.standard_normal((3, 3))
    w = R.standard_normal((5, 3))
    at = [[1], [3], [1]]
    x = tf.placeholder(tf.float64, [5, 3])
    u = tf.placeholder(tf.float64, [3, 3])
    loss = tf.reduce_sum(tf.square(getattr(tf, f"tensor_scatter_nd_{mode}")(x, at, u)) * w)
    gx, gu = tf.gradients(loss, [x, u])

    def f(xv, uv):
        return float((np.square(_scatter_loop(xv, [1, 3, 1], uv, mode)) * w).sum())
    with tf.Session() as s:
        got_x, got_u = s.run([gx, gu], {x: x0, u: u0})
    eps = 1e-6
    for got, base, which in ((got_x, x0, 0), (got_u, u0, 1)):
        num = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            d = np.zeros_like(base)
            d[i] = eps
            args_p, args_m = [x0, u0], [x0, u0]
            args_p[which], args_m[which] = base + d, base - d
            num[i] = (f(*args_p) - f(*args_m)) / (2 * eps)
        if mode == "update" and which == 1:
            # TF's rule: the overwritten first update of row 1 still gets the output's gradient at row 1
            # (gather_nd of it), though it changes nothing; the other rows are checked as they are
            num[0] = 2 * u0[2] * w[1]
        np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-6)


def test_strided_slice_and_newaxis_index_as_numpy():
    x = np.arange(2 * 4 * 6 * 3).reshape(2, 4, 6, 3)
    cases = [
        (([0, 1, 0], [2, -1, 6], [1, 1, 2]), dict(begin_mask=1, shrink_axis_mask=4), x[:, 1:-1:1, 0]),
        (([1, 0, 0, 0], [2, 2, 0, 0], [1, -1, 1, 1]), dict(new_axis_mask=4, end_mask=2, ellipsis_mask=8),
         x[1:2, 0::-1, None, ...]),
        (([-1], [0], [-1]), dict(end_mask=1), x[-1::-1]),
        (([3, 0], [0, 0], [-2, 1]), dict(end_mask=2), x[3:0:-2, :]),
    ]
    for (b, e, st), kw, want in cases:
        np.testing.assert_array_equal(_run(tf.strided_slice(x, b, e, st, **kw)), want)
    assert tf.newaxis is None
    np.testing.assert_array_equal(_run(tf.constant([[1.0, 2.0]])[:, tf.newaxis]), [[[1.0, 2.0]]])
    with pytest.raises(NotImplementedError, match="tf.strided_slice: a 'begin' known only when the graph runs"):
        tf.strided_slice(x, tf.placeholder(tf.int32, [1]), [1])


@pytest.mark.parametrize("indexing", ["xy", "ij"])
def test_meshgrid_is_numpys(indexing):
    a, b, c = np.array([1, 2, 3]), np.array([4, 5]), np.array([7, 8, 9, 10])
    got = _run(tf.meshgrid(a, b, c, indexing=indexing))
    for g, w in zip(got, np.meshgrid(a, b, c, indexing=indexing)):
        np.testing.assert_array_equal(g, w)
    with pytest.raises(ValueError, match="indexing parameter must be either 'xy' or 'ij'"):
        tf.meshgrid(a, b, indexing="yx")


def test_roll_is_numpys_and_its_gradient_rolls_back():
    x = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(_run(tf.roll(x, [1, -1, 6], [0, 1, 1])), np.roll(x, (1, 5), (0, 1)))
    np.testing.assert_array_equal(_run(tf.roll(x, 2, -1)), np.roll(x, 2, -1))
    p = tf.placeholder(tf.float32, [3, 4])
    w = R.standard_normal((3, 4)).astype(np.float32)
    g, = tf.gradients(tf.reduce_sum(tf.roll(p, 1, 1) * w), [p])
    np.testing.assert_array_equal(_run(g, {p: x.astype(np.float32)}), np.roll(w, -1, 1))
    assert tf.roll(x, 1, 0).op.name == "Roll_3"         # one op per roll, as TF's, named in turn


def test_space_to_depth_moves_patches_into_channels():
    x = R.standard_normal((2, 4, 6, 3)).astype(np.float32)
    want = np.zeros((2, 2, 3, 12), np.float32)
    for b, i, j, di, dj, c in np.ndindex(2, 2, 3, 2, 2, 3):
        want[b, i, j, (di * 2 + dj) * 3 + c] = x[b, i * 2 + di, j * 2 + dj, c]
    s2d = tf.space_to_depth(x, 2)
    got, back = _run([s2d, tf.depth_to_space(s2d, 2)])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(back, x)
    with pytest.raises(ValueError, match="should be divisible by block_size: 4"):
        tf.space_to_depth(x, 4)
    with pytest.raises(ValueError, match="at least minimum 2"):
        tf.depth_to_space(x, 1)


def test_bincount_counts_and_sums_weights():
    arr = np.array([1, 1, 4, 0, 2, 4])
    got = _run(tf.bincount(arr))
    assert got.dtype == np.int32 and got.tolist() == np.bincount(arr).tolist()
    assert _run(tf.bincount(arr, minlength=7)).tolist() == [1, 2, 1, 0, 2, 0, 0]
    assert _run(tf.bincount(arr, maxlength=3)).tolist() == [1, 2, 1]            # the 4s dropped
    w = np.array([0.5, 1.0, 2.0, 3.0, 4.0, 0.25], np.float32)
    np.testing.assert_array_equal(_run(tf.bincount(arr, weights=w)), np.bincount(arr, w).astype(np.float32))
    assert _run(tf.bincount(arr, dtype=tf.float32)).dtype == np.float32
    assert _run(tf.bincount(np.zeros(0, np.int32))).tolist() == []
    with pytest.raises(tf.errors.InvalidArgumentError, match="Input arr must be non-negative"):
        _run(tf.bincount(tf.constant([-1, 2])))


def test_confusion_matrix_counts_label_prediction_pairs():
    labels, preds = [1, 2, 4, 2], [2, 2, 4, 2]
    want = np.zeros((5, 5), np.int32)
    for lab, p in zip(labels, preds):
        want[lab, p] += 1
    got = _run(tf.confusion_matrix(labels, preds))
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, want)
    weighted = _run(tf.confusion_matrix(labels, preds, num_classes=6, weights=[0.5, 1, 2, 4], dtype=tf.float32))
    assert weighted.shape == (6, 6) and weighted[2, 2] == 5.0 and weighted[1, 2] == 0.5
    with pytest.raises(tf.errors.InvalidArgumentError, match="`labels` out of bound"):
        _run(tf.confusion_matrix([1, 5], [0, 0], num_classes=5))
    with pytest.raises(tf.errors.InvalidArgumentError, match="`predictions` contains negative values"):
        _run(tf.confusion_matrix([1, 2], [0, -1], num_classes=5))
    with pytest.raises(NotImplementedError, match="give num_classes"):
        tf.confusion_matrix(tf.placeholder(tf.int32, [None]), [1])


def test_tuple_makes_each_tensor_wait_for_all():
    counter = tf.Variable(0)
    bump = tf.assign_add(counter, 1)
    x = tf.constant(2.0)
    out = tf.tuple([x, None], control_inputs=[bump])
    assert out[1] is None and out[0].name == "tuple/control_dependency:0"
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        assert s.run(out[0]) == 2.0 and s.run(out[0]) == 2.0
        assert s.run(counter) == 2                  # each read of the tuple's tensor ran the control input


def test_rot90_and_transpose_turn_images_as_numpy():
    x = np.arange(2 * 3 * 4 * 2).reshape(2, 3, 4, 2)
    for k in (-1, 0, 1, 2, 3, 5):
        np.testing.assert_array_equal(_run(tf.image.rot90(x, k)), np.rot90(x, k, axes=(1, 2)))
        np.testing.assert_array_equal(_run(tf.image.rot90(x[0], k)), np.rot90(x[0], k, axes=(0, 1)))
    np.testing.assert_array_equal(_run(tf.image.transpose(x)), x.transpose(0, 2, 1, 3))
    np.testing.assert_array_equal(_run(tf.lin_space(0.0, 1.0, 5)), [0.0, 0.25, 0.5, 0.75, 1.0])
    assert tf.random_crop is tf.image.random_crop


def test_variable_initialization_checks_and_collection_refs():
    v = tf.Variable(1.0, name="v")
    w = tf.Variable([[2.0]], name="w")
    flag = tf.is_variable_initialized(v)
    check = tf.assert_variables_initialized()
    ref = tf.get_collection_ref("mine")
    ref.append(3)
    assert tf.get_collection("mine") == [3] and tf.get_collection_ref("mine") is ref
    with tf.Session() as s:
        before = s.run(flag)
        assert before.dtype == np.bool_ and not before
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value v"):
            s.run(check)
        s.run(v.initializer)
        assert s.run(flag)
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value w"):
            s.run(check)
        s.run(w.initializer)
        assert s.run(check).tolist() == [0, 2]       # the ranks, once all are there


def test_indexing_by_scalar_tensors_and_with_unknown_dims():
    x = tf.placeholder(tf.float32, [None, None, 8])
    i = tf.placeholder(tf.int32, [])
    a = np.arange(2 * 3 * 8, dtype=np.float32).reshape(2, 3, 8)
    cases = [(x[:, 1:], a[:, 1:]), (x[..., 0], a[..., 0]), (x[:, i], a[:, 1]), (x[i], a[1]),
             (x[..., i], a[..., 1]), (x[0, i, 1:3], a[0, 1, 1:3]), (x[None, :, i], a[None, :, 1]),
             (x[i, :, tf.constant(2)], a[1, :, 2])]
    assert [c[0].shape.as_list() for c in cases[:4]] == [[None, None, 8], [None, None], [None, 8], [None, 8]]
    with tf.Session() as s:
        for got, want in cases:
            np.testing.assert_array_equal(s.run(got, {x: a, i: 1}), want)
        np.testing.assert_array_equal(s.run(x[:, i], {x: a, i: -1}), a[:, -1])        # from the end, as TF
        with pytest.raises(tf.errors.InvalidArgumentError):
            s.run(x[:, i], {x: a, i: 3})
    g, = tf.gradients(tf.reduce_sum(x[:, i] * 2.0), [x])
    with tf.Session() as s:
        want = np.zeros_like(a)
        want[:, 2] = 2.0
        np.testing.assert_array_equal(s.run(g, {x: a, i: 2}), want)
    with pytest.raises(TypeError, match="scalar tf.int32/tf.int64 tensors are valid indices"):
        x[tf.constant([0, 1])]
    with pytest.raises(NotImplementedError, match="slice bounds that are tensors"):
        x[:i]


SEG_DATA = np.array([[1.0, 5.0], [3.0, 5.0], [3.0, -2.0], [0.0, 4.0], [2.0, 0.0], [7.0, 1.0]])
SORTED_IDS, UNSORTED_IDS = np.array([0, 0, 0, 2, 2, 3]), np.array([1, 3, 1, -1, 1, 0])


def _segment_loop(data, ids, n, kind, sorted_empty):
    fn = {"max": np.max, "min": np.min, "prod": np.prod}[kind]
    out = np.zeros((n, data.shape[1]))
    for j in range(n):
        rows = data[ids == j]
        out[j] = fn(rows, axis=0) if len(rows) else sorted_empty[kind]
    return out


@pytest.mark.parametrize("kind", ["max", "min", "prod"])
def test_segment_reductions_against_loops_and_central_differences(kind):
    lowest = {"max": np.finfo(np.float64).min, "min": np.finfo(np.float64).max, "prod": 1.0}
    x = tf.placeholder(tf.float64, [6, 2])
    s = getattr(tf.math, f"segment_{kind}")(x, SORTED_IDS)
    u = getattr(tf.math, f"unsorted_segment_{kind}")(x, UNSORTED_IDS, 5)
    with tf.Session() as sess:
        got_s, got_u = sess.run([s, u], {x: SEG_DATA})
    np.testing.assert_array_equal(got_s, _segment_loop(SEG_DATA, SORTED_IDS, 4, kind, {"max": 0, "min": 0, "prod": 1}))
    np.testing.assert_array_equal(got_u, _segment_loop(SEG_DATA, UNSORTED_IDS, 5, kind, lowest))
    # gradients where no row ties (TF's rule shares a tie evenly, checked against TF in the reference test)
    data = np.random.default_rng(2).normal(size=(6, 2))
    w = np.random.default_rng(3).normal(size=(4, 2))
    grad, = tf.gradients(tf.reduce_sum(s * w), [x])
    with tf.Session() as sess:
        got = sess.run(grad, {x: data})
    want = central_differences(lambda d: float((_segment_loop(d, SORTED_IDS, 4, kind, {"max": 0, "min": 0, "prod": 1})
                                                * w).sum()), data)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    assert s.op.name.startswith("Segment" + kind.capitalize())
