"""Parity with TensorFlow 2.21's compat.v1 for tests/test_tf1_more.py's functions: tf.losses' values,
gradients and names for every reduction and weighting (deterministic: to float32 rounding), the initializers'
errors and distributions (random values cannot match TF's generator, so their sample statistics are compared),
random_shuffle's and multinomial's shapes, names, errors and deterministic edge cases, is_tensor and
get_static_value."""
import numpy as np
import pytest

import static_api as tf

real = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.reference
tf1 = real.compat.v1
R = np.random.default_rng(12)


def _in_graph(lib, build, run=True):
    """``build(lib)`` in a fresh graph of ``lib`` (ours or TF's compat.v1): (fetches, facts) of which the
    fetches are run (unless ``run`` is False); gives (their values, the facts)."""
    with lib.Graph().as_default():
        fetches, facts = build(lib)
        if not run:
            return fetches, facts
        with lib.Session() as sess:
            return sess.run(fetches), facts


# ----- tf.losses ----------------------------------------------------------------------------------------
PRED = R.uniform(0.05, 0.95, size=(8, 5)).astype(np.float32)
LABELS = (R.uniform(size=(8, 5)) > 0.5).astype(np.float32)
UNIT = (lambda a: (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32))(R.normal(size=(8, 5)))
UNIT2 = (lambda a: (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32))(R.normal(size=(8, 5)))
SPARSE = R.integers(0, 5, size=8)
ROW_W = np.array([1.0, 0.0, 2.0, 0.5, 0.0, 3.0, 1.0, 1.5], np.float32)
ELEM_W = np.where(R.uniform(size=(8, 5)) > 0.3, R.uniform(0.5, 2.0, size=(8, 5)), 0.0).astype(np.float32)

# name -> (loss(lib, predictions tensor, weights, reduction), per-row weight shape)
LOSSES = {
    "hinge": (lambda t, p, w, r: t.losses.hinge_loss(LABELS, p * 4 - 2, weights=w, reduction=r), (8, 1)),
    "absolute": (lambda t, p, w, r: t.losses.absolute_difference(LABELS, p, weights=w, reduction=r), (8, 1)),
    "mse": (lambda t, p, w, r: t.losses.mean_squared_error(LABELS, p, weights=w, reduction=r), (8, 1)),
    "huber": (lambda t, p, w, r: t.losses.huber_loss(LABELS, p * 3, weights=w, delta=0.7, reduction=r), (8, 1)),
    "log": (lambda t, p, w, r: t.losses.log_loss(LABELS, p, weights=w, reduction=r), (8, 1)),
    "cosine": (lambda t, p, w, r: t.losses.cosine_distance(UNIT2, p, axis=1, weights=w, reduction=r), (8, 1)),
    "sigmoid": (lambda t, p, w, r: t.losses.sigmoid_cross_entropy(LABELS, p * 6 - 3, weights=w, label_smoothing=0.1,
                                                                 reduction=r), (8, 1)),
    "softmax": (lambda t, p, w, r: t.losses.softmax_cross_entropy(np.eye(5, dtype=np.float32)[SPARSE], p * 5,
                                                                 weights=w, reduction=r), (8,)),
    "sparse": (lambda t, p, w, r: t.losses.sparse_softmax_cross_entropy(SPARSE, p * 5, weights=w, reduction=r),
               (8,)),
}
REDUCTIONS = ["weighted_sum_by_nonzero_weights", "weighted_sum", "weighted_mean", "weighted_sum_over_batch_size",
              "none"]


def _weights(kind, row_shape, loss):
    if kind == "row":
        return ROW_W.reshape(row_shape)
    if kind == "elem":
        return ELEM_W if loss not in ("softmax", "sparse", "cosine") else ROW_W.reshape(row_shape)
    return {"one": 1.0, "float": 2.5, "zero": 0.0, "int": 3}[kind]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", ["one", "float", "zero", "int", "row", "elem"])
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_losses_match_tensorflow(loss, weights, reduction):
    fn, row_shape = LOSSES[loss]
    w = _weights(weights, row_shape, loss)
    x = PRED if loss != "cosine" else UNIT

    def build(lib):
        p = lib.constant(x)
        out = fn(lib, p, w, reduction)
        grad = lib.gradients(lib.reduce_sum(out * out), p)[0]
        return [out, grad], [out.name, [t.name for t in lib.get_collection(lib.GraphKeys.LOSSES)]]
    (ours, our_names), (theirs, their_names) = _in_graph(tf, build), _in_graph(tf1, build)
    # within float32 rounding: sigmoid_cross_entropy_with_logits' own values differ from TF's by a few ulp
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=3e-6, atol=1e-7)
    if reduction != "none":     # an unreduced loss is the last op of its weighting (numbered Mul_<n> by TF)
        assert our_names == their_names


def test_losses_float64_and_default_names_match_tensorflow():
    def build(lib):
        raw = lib.constant(np.array([1.0, 2.0, 4.0]))
        a = lib.losses.compute_weighted_loss(raw, weights=[0.0, 1.0, 1.0])
        b = lib.losses.hinge_loss([[1.0]], [[0.25]], scope="mine")
        c = lib.losses.hinge_loss([[1.0]], [[0.25]], scope="mine")
        lib.losses.add_loss(lib.constant(2.0, name="extra"))
        return [a, b, c], [a.dtype == np.float64, [t.name for t in lib.losses.get_losses()]]
    (ours, our_facts), (theirs, their_facts) = _in_graph(tf, build), _in_graph(tf1, build)
    np.testing.assert_array_equal(ours[0], theirs[0])
    assert ours[1:] == theirs[1:]
    # the names past the float64 one's (its final Cast is numbered by how many casts TF made before)
    assert our_facts[0] and their_facts[0] and our_facts[1][1:] == their_facts[1][1:]


@pytest.mark.parametrize("bad", [
    lambda t: t.losses.hinge_loss(LABELS, PRED, weights=np.ones(5, np.float32)),
    lambda t: t.losses.hinge_loss(LABELS, PRED, reduction="mean"),
    lambda t: t.losses.hinge_loss(LABELS, PRED[:, :4]),
    lambda t: t.losses.cosine_distance(UNIT, UNIT2),
    lambda t: t.losses.cosine_distance(UNIT, UNIT2, axis=1, dim=1),
    lambda t: t.losses.mean_squared_error(None, PRED),
])
def test_loss_errors_match_tensorflow(bad):
    with tf1.Graph().as_default():
        with pytest.raises(ValueError):
            bad(tf1)
    with tf.Graph().as_default():
        with pytest.raises(ValueError):
            bad(tf)


# ----- initializers -------------------------------------------------------------------------------------
def _stats(w):
    w = np.asarray(w, np.float64)
    return w.std(), np.abs(w).max(), w.mean()


@pytest.mark.parametrize("shape", [(3, 3, 32, 64), (300, 200)])
@pytest.mark.parametrize("make", [
    lambda t: t.variance_scaling_initializer(2.0, "fan_out", "uniform"),
    lambda t: t.variance_scaling_initializer(0.5, "fan_avg", "truncated_normal"),
    lambda t: t.variance_scaling_initializer(1.0, "fan_in", "normal"),
    lambda t: t.variance_scaling_initializer(3.0, "fan_in", "untruncated_normal"),
    lambda t: t.glorot_normal_initializer(),
    lambda t: t.initializers.he_normal(),
    lambda t: t.initializers.he_uniform(),
    lambda t: t.initializers.lecun_normal(),
    lambda t: t.initializers.lecun_uniform(),
])
def test_initializer_distributions_match_tensorflow(make, shape):
    ours = make(tf)(shape)
    theirs = make(tf1)(shape).numpy()      # TF 2 runs the compat.v1 initializer eagerly
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    (s1, m1, mean1), (s2, m2, _) = _stats(ours), _stats(theirs)
    assert abs(s1 / s2 - 1) < 0.04
    assert abs(mean1) < 0.03 * s1
    if make(tf).distribution != "untruncated_normal":      # a bounded distribution: the same bound
        assert abs(m1 / m2 - 1) < 0.03


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 3, 2, 5)])
def test_orthogonal_and_identity_match_tensorflow(shape):
    ours = tf.orthogonal_initializer(gain=1.5)(shape)
    theirs = tf1.orthogonal_initializer(gain=1.5)(shape).numpy()
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype

    def gram(q):
        m = q.reshape(-1, shape[-1]).astype(np.float64)
        return m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram(ours), gram(theirs), atol=2e-5)
    np.testing.assert_array_equal(tf.initializers.identity(2.0)((3, 5)),
                                  tf1.initializers.identity(2.0)((3, 5)).numpy())


@pytest.mark.parametrize("bad", [
    lambda t: t.variance_scaling_initializer(scale=-1.0),
    lambda t: t.variance_scaling_initializer(mode="fan"),
    lambda t: t.variance_scaling_initializer(distribution="beta"),
    lambda t: t.variance_scaling_initializer(dtype=t.int32),
    lambda t: t.orthogonal_initializer(dtype=t.int64),
    lambda t: t.orthogonal_initializer()((7,)),
    lambda t: t.initializers.identity()((2, 2, 2)),
])
def test_initializer_errors_match_tensorflow(bad):
    with pytest.raises(ValueError) as theirs:
        bad(tf1)
    with pytest.raises(ValueError) as ours:
        bad(tf)
    # the same complaint: TF's words up to its list of choices or the value received are in ours, after the
    # function's name (TF's distribution list misses a quote; identity says "at least" where it needs exactly 2-D)
    key = str(theirs.value).split(" Received")[0].split(" (")[0]
    if "two-dimensional" not in key:
        assert key in str(ours.value)


def test_initializer_namespace_matches_tensorflow():
    names = ["variance_scaling", "glorot_normal", "glorot_uniform", "orthogonal", "identity", "he_normal",
             "he_uniform", "lecun_normal", "lecun_uniform", "global_variables", "local_variables", "variables"]
    for n in names:
        assert hasattr(tf1.initializers, n) and hasattr(tf.initializers, n), n
    for n in ["variance_scaling_initializer", "glorot_normal_initializer", "orthogonal_initializer"]:
        assert hasattr(tf1, n) and hasattr(tf, n)
    assert not hasattr(tf1, "identity_initializer") and not hasattr(tf, "identity_initializer")


# ----- random_shuffle, multinomial ------------------------------------------------------------------------
def test_random_ops_shapes_names_and_gradients_match_tensorflow():
    def build(lib):
        x = lib.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
        ph = lib.placeholder(lib.float32, (None, 4))
        outs = [lib.random_shuffle(x), lib.random.shuffle(x, name="s"), lib.multinomial([[0.0, 1.0]], 3),
                lib.random.categorical(ph, 5, dtype=lib.int32), lib.multinomial(ph, 2, output_dtype=lib.int32)]
        meta = [(o.name, o.shape.as_list(), np.dtype(o.dtype.as_numpy_dtype if hasattr(o.dtype, "as_numpy_dtype")
                                                       else o.dtype)) for o in outs]
        return None, [meta, lib.gradients(lib.reduce_sum(outs[0]), x) == [None]]
    assert _in_graph(tf, build, run=False)[1] == _in_graph(tf1, build, run=False)[1]


def test_deterministic_draws_match_tensorflow():
    def build(lib):
        return [lib.multinomial([[-np.inf, 0.0, np.nan], [-np.inf, -np.inf, np.inf], [5.0, -np.inf, -np.inf]], 7),
                lib.multinomial([[1.0, 2.0]], 0), lib.random_shuffle(lib.constant(2.5)),
                lib.random_shuffle(lib.constant([[7, 7], [7, 7]]))], None
    ours, theirs = _in_graph(tf, build)[0], _in_graph(tf1, build)[0]
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_multinomial_samples_match_tensorflow_frequencies():
    logits = np.array([[0.3, -1.0, 2.0, 0.0]], np.float32)

    def build(lib):
        return lib.multinomial(logits, 40000, seed=5), None
    ours, theirs = [np.bincount(_in_graph(lib, build)[0][0], minlength=4) for lib in (tf, tf1)]
    # two samples of one distribution: a two-sample chi-square with 3 degrees of freedom, p = 0.001
    chi2 = ((ours - theirs) ** 2 / (ours + theirs)).sum()
    assert chi2 < 16.3


@pytest.mark.parametrize("bad", [
    lambda t: t.multinomial([0.0, 1.0], 3),
    lambda t: t.multinomial([[0.0, 1.0]], 3, output_dtype=t.float32),
    lambda t: t.random.categorical([[0.0, 1.0]], 3, dtype=t.int16),
    lambda t: t.multinomial([[0.0, 1.0]], -1),
])
def test_random_op_errors_match_tensorflow(bad):
    for lib in (tf1, tf):
        with lib.Graph().as_default():
            with pytest.raises(ValueError):
                bad(lib)


# ----- is_tensor, get_static_value ------------------------------------------------------------------------
def test_is_tensor_and_get_static_value_match_tensorflow():
    def build(lib):
        c = lib.constant([[1.5, 2.0]])
        ph = lib.placeholder(lib.float32, (2,))
        v = lib.Variable([1.0])
        values = [lib.get_static_value(c), lib.get_static_value(ph), lib.get_static_value(v),
                  lib.get_static_value(3), lib.get_static_value(lib.constant(7, lib.int64))]
        kinds = [lib.is_tensor(t) for t in (c, ph, v, ph * 2.0, np.ones(2), 3.0, [1.0])]
        return None, [values, kinds]
    (ov, ok), (tv, tk) = _in_graph(tf, build, run=False)[1], _in_graph(tf1, build, run=False)[1]
    assert ok == tk
    for a, b in zip(ov, tv):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)
            assert np.asarray(a).dtype == np.asarray(b).dtype
