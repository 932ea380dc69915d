"""Numerical trust: masked (-inf) logits, out-of-range indices, gradients at ties and at zero, argument checks.

Plain tests compare with values computed by hand (CI has no torch/TF); tests marked ``reference`` replay the
same calls in PyTorch, TF1 (``tf.compat.v1``) or Keras and compare.
"""
import warnings

import numpy as np
import pytest

import backends
import core
import eager_api as et
import eager_api.nn as enn
import eager_api.nn.functional as F
import static_api as tf
from core import device
from core.gradcheck import gradcheck
from core.ops import loss as loss_ops
from core.ops import reduce as rd
from core.ops import shape as sh

INF = np.inf
Z = [[2.0, -INF, 0.5], [1.0, 0.0, -INF]]      # one masked class per row
LABELS = [0, 1]
ONEHOT = np.eye(3)[LABELS]


def _hand_softmax() -> np.ndarray:
    """softmax of Z by hand: a masked class has probability 0, the others share exp over the finite logits."""
    a, b = 1 / (1 + np.exp(-1.5)), 1 / (1 + np.e)
    return np.array([[a, 0.0, 1 - a], [1 - b, b, 0.0]])


P = _hand_softmax()
ROW_LOSS = np.array([np.log(1 + np.exp(-1.5)), np.log(1 + np.e)])      # -log p[label] per row
MEAN_LOSS = ROW_LOSS.mean()                                             # 0.7573374...
MEAN_GRAD = (P - ONEHOT) / 2


def _x(data=Z, dtype=et.float64):
    return et.tensor(data, dtype=dtype, requires_grad=True)


def _run(fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed)


@pytest.fixture
def no_sync_cpu(monkeypatch):
    """The CPU backend answering index checks as the GPU one does (a validity mask, no host read), so the
    NaN-marking paths run here too."""
    be = backends.get_backend(device.CPU)
    monkeypatch.setattr(be, "check_indices", lambda idx, bound, what: (idx >= 0) & (idx < bound))
    return be


# ----- 1. masked logits ---------------------------------------------------------------------------
def test_hand_values_are_what_they_claim():
    assert MEAN_LOSS == pytest.approx(0.7573374, abs=1e-7)
    np.testing.assert_allclose(P.sum(1), 1)


@pytest.mark.parametrize("reduction,scale", [("mean", 0.5), ("sum", 1.0)])
def test_cross_entropy_with_masked_logits_is_finite_with_zero_gradient_there(reduction, scale):
    x = _x()
    loss = F.cross_entropy(x, et.tensor(LABELS), reduction=reduction)
    loss.backward()
    assert loss.item() == pytest.approx(ROW_LOSS.sum() * scale, rel=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), (P - ONEHOT) * scale, atol=1e-12)
    assert x.grad.numpy()[0, 1] == 0 and x.grad.numpy()[1, 2] == 0


def test_cross_entropy_masked_per_row_and_label_smoothing():
    x = _x()
    rows = F.cross_entropy(x, et.tensor(LABELS), reduction="none")
    np.testing.assert_allclose(rows.detach().numpy(), ROW_LOSS, rtol=1e-12)
    # Smoothing spreads target mass onto the masked class: the loss is inf (as PyTorch), the gradient finite.
    s = 0.1
    x = _x()
    loss = F.cross_entropy(x, et.tensor(LABELS), label_smoothing=s)
    loss.backward()
    assert loss.item() == np.inf
    np.testing.assert_allclose(x.grad.numpy(), (P - (ONEHOT * (1 - s) + s / 3)) / 2, atol=1e-12)


def test_nll_of_log_softmax_with_masked_logits():
    x = _x()
    logp = F.log_softmax(x, 1)
    expected_logp = np.where(P > 0, np.log(np.where(P > 0, P, 1)), -INF)
    np.testing.assert_allclose(logp.detach().numpy(), expected_logp, rtol=1e-12)
    loss = F.nll_loss(logp, et.tensor(LABELS))
    loss.backward()
    assert loss.item() == pytest.approx(MEAN_LOSS, rel=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), MEAN_GRAD, atol=1e-12)


def test_class_weighted_cross_entropy_with_masked_logits():
    w = [1.0, 0.5, 2.0]
    x = _x()
    loss = F.cross_entropy(x, et.tensor(LABELS), weight=et.tensor(w, dtype=et.float64))
    loss.backward()
    rw = np.array([w[0], w[1]])       # each row's weight is its label's
    assert loss.item() == pytest.approx((rw * ROW_LOSS).sum() / rw.sum(), rel=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), (P - ONEHOT) * rw[:, None] / rw.sum(), atol=1e-12)


def test_softmax_and_log_softmax_gradients_with_masked_logits():
    x = _x()
    g = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    y = F.softmax(x, 1)
    (y * et.tensor(g)).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), P, rtol=1e-12)
    # d softmax: p * (g - <g, p>); 0 where p is 0.
    np.testing.assert_allclose(x.grad.numpy(), P * (g - (g * P).sum(1, keepdims=True)), atol=1e-12)
    x = _x()
    F.log_softmax(x, 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 - 3 * P, atol=1e-12)      # g - p * sum(g)


def test_all_ignored_mean_is_nan_with_zero_gradient():
    x = _x([[1.0, 2.0], [3.0, -INF]])
    loss = F.nll_loss(F.log_softmax(x, 1), et.tensor([-100, -100]))
    loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(x.grad.numpy(), 0)


def test_gradcheck_masked_cross_entropy_and_nll():
    z = np.array(Z)
    y = np.array(LABELS)
    assert gradcheck(lambda a, b: core.softmax_cross_entropy(a, b, reduction="none"), [z, y])
    assert gradcheck(lambda a, b: core.softmax_cross_entropy(a, b, 0.1, reduction="mean"), [z, y])
    assert gradcheck(lambda a, b: loss_ops.nll_loss(rd.log_softmax(a, 1), b, reduction="mean"), [z, y])
    w = np.array([1.0, 0.5, 2.0])
    assert gradcheck(lambda a, b, c: loss_ops.nll_loss(rd.log_softmax(a, 1), b, c, ignore_index=2,
                                                       reduction="mean"), [z, np.array([0, 2]), w], wrt=[0])


def _static_loss_and_grad(make_loss, labels):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 3])
        loss = make_loss(labels, x)
        return _run([loss, tf.gradients(loss, x)[0]], {x: np.array(Z, np.float32)})


SPARSE = lambda y, x: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)   # noqa: E731
DENSE = lambda y, x: tf.nn.softmax_cross_entropy_with_logits(labels=tf.one_hot(y, 3), logits=x)  # noqa: E731
DENSE_V2 = lambda y, x: tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.one_hot(y, 3), logits=x)  # noqa: E731


def test_static_sparse_cross_entropy_with_masked_logits():
    loss, grad = _static_loss_and_grad(SPARSE, LABELS)
    np.testing.assert_allclose(loss, ROW_LOSS, rtol=1e-6)
    np.testing.assert_allclose(grad, P - ONEHOT, atol=1e-6)
    loss, grad = _static_loss_and_grad(lambda y, x: tf.losses.sparse_softmax_cross_entropy(y, x), LABELS)
    assert loss == pytest.approx(MEAN_LOSS, rel=1e-6)
    np.testing.assert_allclose(grad, MEAN_GRAD, atol=1e-6)
    keras = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    loss, grad = _static_loss_and_grad(lambda y, x: keras(tf.constant(y, dtype=tf.int64), x), LABELS)
    assert loss == pytest.approx(MEAN_LOSS, rel=1e-6)


@pytest.mark.parametrize("make", [DENSE, DENSE_V2], ids=["v1", "v2"])
def test_static_dense_cross_entropy_with_masked_logits_is_nan_as_in_tensorflow(make):
    # TF's dense kernel computes 0 * -inf for the masked class: the loss is NaN, the gradient finite.
    loss, grad = _static_loss_and_grad(make, LABELS)
    assert np.isnan(loss).all()
    np.testing.assert_allclose(grad, P - ONEHOT, atol=1e-6)


# ----- 2. out-of-range indices ---------------------------------------------------------------------
@pytest.mark.parametrize("bad", [3, 5, -1])
def test_cross_entropy_and_nll_reject_a_target_out_of_range(bad):
    x, y = et.zeros(2, 3), et.tensor([0, bad])
    for call in (lambda: F.cross_entropy(x, y), lambda: F.cross_entropy(x, y, weight=et.ones(3)),
                 lambda: F.cross_entropy(x, y, label_smoothing=0.1), lambda: F.nll_loss(x, y),
                 lambda: F.nll_loss(x, y, reduction="none"), lambda: F.nll_loss(x, y, weight=et.ones(3))):
        with pytest.raises(IndexError, match=f"argument '(target|labels)': {bad} is out of bounds"):
            call()


def test_an_ignored_target_may_lie_outside_the_classes():
    x = et.tensor([[0.0, 1.0, 2.0], [5.0, 6.0, 7.0]])
    assert F.nll_loss(x, et.tensor([2, -100])).item() == -2.0
    assert F.nll_loss(x, et.tensor([2, 7]), ignore_index=7, reduction="sum").item() == -2.0


@pytest.mark.parametrize("bad", [-1, 5])
def test_embedding_rejects_an_index_out_of_range(bad):
    with pytest.raises(IndexError, match=f"{bad} is out of bounds"):
        enn.Embedding(5, 2)(et.tensor([bad]))


def test_embedding_rows_and_accumulated_gradient():
    w = et.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    y = F.embedding(et.tensor([[2, 0], [2, 2]]), w)
    np.testing.assert_array_equal(y.detach().numpy(), [[[5, 6], [1, 2]], [[5, 6], [5, 6]]])
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1, 1], [0, 0], [3, 3]])


@pytest.mark.parametrize("bad", [3, -1])
def test_eager_one_hot_rejects_a_class_out_of_range_but_tf_one_hot_gives_a_zero_row(bad):
    with pytest.raises(RuntimeError, match=f"{bad} is out of bounds"):
        F.one_hot(et.tensor([0, bad]), 3)
    np.testing.assert_array_equal(F.one_hot(et.tensor([2, 0]), 3).numpy(), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(_run(tf.one_hot([2, bad], 3)), [[0, 0, 1], [0, 0, 0]])


def test_eager_one_hot_infers_classes_and_refuses_an_empty_tensor():
    np.testing.assert_array_equal(F.one_hot(et.tensor([1, 0])).numpy(), [[0, 1], [1, 0]])
    with pytest.raises(RuntimeError, match="empty"):
        F.one_hot(et.tensor([], dtype=et.int64))
    with pytest.raises(RuntimeError, match="-1 is out of bounds"):
        F.one_hot(et.tensor([-1]))


@pytest.mark.parametrize("bad", [3, -1])
def test_gather_rejects_an_index_out_of_range(bad):
    x = et.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    with pytest.raises(RuntimeError, match=f"GatherAlongAxis: argument 'indices': {bad} is out of bounds"):
        x.gather(1, et.tensor([[bad], [0]]))
    with pytest.raises(RuntimeError, match="out of bounds"):
        et.gather(x, 1, et.tensor([[0], [bad]]))


@pytest.mark.parametrize("make", [SPARSE, lambda y, x: tf.losses.sparse_softmax_cross_entropy(y, x),
                                  lambda y, x: tf.keras.losses.sparse_categorical_crossentropy(y, x, True)],
                         ids=["nn", "losses", "keras"])
def test_static_sparse_cross_entropy_raises_invalid_argument_for_a_bad_label(make):
    with tf.Graph().as_default():
        y = tf.placeholder(tf.int64, [None])
        loss = make(y, tf.constant(np.zeros((2, 3), np.float32)))
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="3 is out of bounds"):
                sess.run(loss, {y: [0, 3]})
            assert np.isfinite(sess.run(loss, {y: [0, 2]})).all()


def test_index_error_class_is_every_frontends_error():
    err = core.errors.IndexOutOfRange("x")
    assert isinstance(err, (IndexError)) and isinstance(err, RuntimeError)
    assert isinstance(err, tf.errors.InvalidArgumentError) and isinstance(err, tf.errors.OpError)


def test_no_sync_backend_marks_rows_read_through_a_bad_index_as_nan(no_sync_cpu):
    x = et.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], requires_grad=True)
    rows = F.nll_loss(x, et.tensor([1, 3]), reduction="none")
    assert rows.detach().numpy()[0] == -1.0 and np.isnan(rows.detach().numpy()[1])
    assert np.isnan(F.nll_loss(x, et.tensor([1, 3])).item())
    got = x.gather(1, et.tensor([[2], [-1]])).detach().numpy()
    assert got[0, 0] == 2.0 and np.isnan(got[1, 0])
    w = et.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    emb = F.embedding(et.tensor([1, 2]), w)
    np.testing.assert_array_equal(emb.detach().numpy()[0], [3, 4])
    assert np.isnan(emb.detach().numpy()[1]).all()
    emb.sum().backward()      # the bad row's gradient is NaN, not silently added to row 0
    assert np.isnan(w.grad.numpy()[0]).all() and (w.grad.numpy()[1] == 1).all()
    hot = core.one_hot(core.value(np.array([1, 4])), 3, np.float32, check=True).data
    np.testing.assert_array_equal(hot[0], [0, 1, 0])
    assert np.isnan(hot[1]).all()


@pytest.mark.gpu
def test_bad_indices_give_nan_rows_on_the_gpu_without_a_host_check(gpu):
    x = et.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], device=gpu)
    rows = F.nll_loss(x, et.tensor([1, 3], device=gpu), reduction="none").cpu().numpy()
    assert rows[0] == -1.0 and np.isnan(rows[1])
    got = x.gather(1, et.tensor([[2], [-1]], device=gpu)).cpu().numpy()
    assert got[0, 0] == 2.0 and np.isnan(got[1, 0])
    emb = F.embedding(et.tensor([1, 2], device=gpu), x).cpu().numpy()
    np.testing.assert_array_equal(emb[0], [3, 4, 5])
    assert np.isnan(emb[1]).all()


def test_gradcheck_take_and_take_along_axis():
    x = np.random.default_rng(0).normal(size=(4, 3))
    idx = np.array([[3, 0], [3, 3]])
    assert gradcheck(lambda a, i: sh.take(a, i, 0), [x, idx])
    assert gradcheck(lambda a, i: sh.take(a, i, 1), [x, np.array([2, 2, 0])])
    assert gradcheck(lambda a, i: sh.take_along_axis(a, i, 1), [x, np.array([[2], [0], [1], [1]])])


# ----- 3. gradients at zero and at ties ----------------------------------------------------------
def test_norm_at_zero_has_zero_gradient():
    x = _x([0.0, 0.0])
    n = x.norm()
    n.backward()
    assert n.item() == 0.0
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    x = _x([[0.0, 0.0], [3.0, 4.0]])
    n = x.norm(dim=1)
    n.sum().backward()
    np.testing.assert_allclose(n.detach().numpy(), [0.0, 5.0])
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 0.0], [0.6, 0.8]])


def test_std_of_constant_input_has_zero_gradient():
    x = _x([1.0, 1.0, 1.0])
    s = x.std()
    s.backward()
    assert s.item() == 0.0
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])
    x = _x([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]])
    s = x.std(1)
    s.sum().backward()
    np.testing.assert_allclose(s.detach().numpy(), [0.0, 1.0])
    # d std / dx_i = (x_i - mean) / ((n - 1) std) for the second row.
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 0.0, 0.0], [-0.5, 0.0, 0.5]])


def test_var_of_one_value_is_nan_as_in_pytorch():
    with pytest.warns(UserWarning, match="degrees of freedom"):
        v = _x([2.0]).var()
    assert np.isnan(v.item())
    assert _x([2.0]).var(unbiased=False).item() == 0.0


def test_norm_takes_any_order_and_rejects_an_unknown_one():
    assert _x([1.0, -2.0]).norm(3).item() == pytest.approx(9 ** (1 / 3))
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: Order abc not supported."):
        _x([1.0]).norm("abc")


def test_gradcheck_norm_sqrt_at_zero_and_away_from_it():
    norm = lambda a: rd.norm_sqrt(core.sum(core.mul(a, a), 1))       # noqa: E731
    assert gradcheck(norm, [np.array([[0.0, 0.0], [3.0, -4.0]])])
    std = lambda a: rd.norm_sqrt(core.mean(core.mul(*(2 * [core.sub(a, core.mean(a, 1, True))])), 1))  # noqa: E731
    assert gradcheck(std, [np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])])


@pytest.mark.parametrize("keepdim", [False, True])
def test_max_and_min_along_a_dim_send_the_whole_gradient_to_the_returned_index(keepdim):
    x = _x([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    values, idx = x.max(1, keepdim)
    values.sum().backward()
    np.testing.assert_array_equal(values.detach().numpy().reshape(-1), [3.0, 2.0])
    np.testing.assert_array_equal(idx.numpy().reshape(-1), [1, 0])
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])
    x = _x([[1.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
    values, idx = et.min(x, 1, keepdim)
    values.sum().backward()
    np.testing.assert_array_equal(idx.numpy().reshape(-1), [0, 0])
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 0, 0], [1, 0, 0]])


def test_max_along_a_dim_with_nan_returns_and_differentiates_the_nan():
    x = _x([[1.0, np.nan, 3.0]])
    values, idx = x.max(1)
    values.sum().backward()
    assert np.isnan(values.item()) and idx.item() == 1
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0]])


NAN, INF = float("nan"), float("inf")


def test_relu_gradient_is_pytorchs_select_in_eager_and_tfs_mask_product_in_static():
    # A NaN or infinite gradient reaching a unit that is off: PyTorch's threshold_backward gives 0 there,
    # TF's ReluGrad g * (y > 0) gives NaN; a negative one gives +0.0 in PyTorch, -0.0 in TF.
    x = _x([-1.0, 0.0, 2.0, -3.0])
    g = [NAN, INF, NAN, -1.0]
    F.relu(x).backward(et.tensor(g, dtype=et.float64))
    got = x.grad.numpy()
    np.testing.assert_array_equal(got, [0.0, 0.0, NAN, 0.0])
    assert not np.signbit(got[[0, 1, 3]]).any()
    xs = tf.constant([-1.0, 0.0, 2.0, -3.0])
    with np.errstate(invalid="ignore"):         # inf * 0, as TF computes it
        got = _run(tf.gradients(tf.nn.relu(xs), xs, grad_ys=tf.constant(g, tf.float32))[0])
    assert np.isnan(got[:3]).all() and got[3] == 0 and np.signbit(got[3])


def test_maximum_and_minimum_gradients_select_and_follow_each_librarys_tie_rule():
    # torch.maximum splits a tie's gradient; tf.maximum sends it to x; both give 0 (not inf * 0 = NaN) to
    # the side not taken, and torch's clamp passes the whole gradient at its bounds.
    xs, ys, g = [1.0, 2.0, 0.0, 5.0], [1.0, 3.0, -1.0, 4.0], [4.0, INF, NAN, -2.0]
    for fn, want_x, want_y in ((et.maximum, [2.0, 0.0, NAN, -2.0], [2.0, INF, 0.0, 0.0]),
                               (et.minimum, [2.0, INF, 0.0, 0.0], [2.0, 0.0, NAN, -2.0])):
        x, y = _x(xs), _x(ys)
        fn(x, y).backward(et.tensor(g, dtype=et.float64))
        np.testing.assert_array_equal(x.grad.numpy(), want_x)
        np.testing.assert_array_equal(y.grad.numpy(), want_y)
    x = _x([0.0, 0.5, 1.0, -1.0])
    x.clamp(0.0, 1.0).backward(et.tensor([3.0, 3.0, 3.0, INF], dtype=et.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0, 3.0, 0.0])
    a, b = tf.constant(xs), tf.constant(ys)
    ga, gb = _run(tf.gradients(tf.maximum(a, b), [a, b], grad_ys=tf.constant(g, tf.float32)))
    np.testing.assert_array_equal(ga, [4.0, 0.0, NAN, -2.0])
    np.testing.assert_array_equal(gb, [0.0, INF, 0.0, 0.0])


def test_where_gradient_is_zero_on_the_side_not_taken_whatever_the_gradient():
    c = et.tensor([True, False, True])
    x, y = _x([1.0, 2.0, 3.0]), _x([4.0, 5.0, 6.0])
    et.where(c, x, y).backward(et.tensor([INF, NAN, -INF], dtype=et.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [INF, 0.0, -INF])
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, NAN, 0.0])


def test_full_max_amax_and_reduce_max_share_the_gradient_between_ties():
    data = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]
    x = _x(data)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [0, 0, 0]])
    x = _x(data)
    x.amax(1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    x = _x(data)
    x.amin(1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])
    with tf.Graph().as_default():
        t = tf.constant(np.array(data))
        np.testing.assert_allclose(_run(tf.gradients(tf.reduce_max(t, 1), t)[0]),
                                   [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_gradcheck_max_along_a_dim_away_from_ties():
    x = np.random.default_rng(1).normal(size=(3, 4))
    assert gradcheck(lambda a: sh.take_along_axis(a, rd.argmax(a, 1, True), 1), [x])


# ----- 4. arguments PyTorch refuses --------------------------------------------------------------
GRAD_INT = "Only Tensors of floating point and complex dtype can require gradients"
INT_CREATIONS = {
    "tensor": lambda: et.tensor([1], requires_grad=True),
    "zeros": lambda: et.zeros(2, dtype=et.int64, requires_grad=True),
    "ones": lambda: et.ones(2, dtype=et.int32, requires_grad=True),
    "empty": lambda: et.empty(2, dtype=et.int64, requires_grad=True),
    "full": lambda: et.full((2,), 3, requires_grad=True),
    "bool zeros": lambda: et.zeros(2, dtype=et.bool, requires_grad=True),
    "arange": lambda: et.arange(3, requires_grad=True),
    "linspace": lambda: et.linspace(0, 1, 3, dtype=et.int64, requires_grad=True),
    "zeros_like": lambda: et.zeros_like(et.tensor([1]), requires_grad=True),
    "ones_like": lambda: et.ones_like(et.tensor([1]), requires_grad=True),
    "full_like": lambda: et.full_like(et.tensor([1]), 2, requires_grad=True),
    "empty_like": lambda: et.empty_like(et.tensor([1]), requires_grad=True),
    "randint": lambda: et.randint(3, size=(2,), requires_grad=True),
    "randperm": lambda: et.randperm(3, requires_grad=True),
    "Parameter": lambda: enn.Parameter(et.tensor([1])),
}


@pytest.mark.parametrize("make", INT_CREATIONS.values(), ids=INT_CREATIONS.keys())
def test_integer_tensors_cannot_require_grad(make):
    with pytest.raises(RuntimeError, match=GRAD_INT):
        make()


def test_float_creations_and_non_grad_integer_parameters_still_work():
    assert et.arange(3.0, requires_grad=True).requires_grad
    assert et.full((2,), 1.5, requires_grad=True).requires_grad
    assert et.rand_like(et.zeros(2), requires_grad=True).requires_grad
    assert not enn.Parameter(et.tensor([1]), requires_grad=False).requires_grad
    with pytest.raises(NotImplementedError, match="floating point"):
        et.rand(2, dtype=et.int64)


@pytest.mark.parametrize("layer,shape", [(enn.BatchNorm1d, (1, 3)), (enn.BatchNorm1d, (1, 3, 1)),
                                         (enn.BatchNorm2d, (1, 3, 1, 1))])
def test_batch_norm_needs_more_than_one_value_per_channel_when_training(layer, shape):
    bn = layer(3)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size "
                                         r"torch\.Size\(\[1, 3"):      # PyTorch's words
        bn(et.randn(*shape))
    assert bn.eval()(et.randn(*shape)).shape == shape
    train_ok = (2,) + shape[1:]
    assert layer(3)(et.randn(*train_ok)).shape == train_ok


def test_conv2d_with_kernel_size_zero_builds_but_refuses_to_run():
    with pytest.warns(UserWarning, match="zero-element"):
        conv = enn.Conv2d(1, 1, kernel_size=0)
    with pytest.raises(RuntimeError, match="kernel size greater than zero"):
        conv(et.zeros(1, 1, 5, 5))
    with pytest.warns(UserWarning, match="zero-element"):
        convt = enn.ConvTranspose2d(1, 1, kernel_size=0)
    with pytest.raises(RuntimeError, match="kernel size greater than zero"):
        convt(et.zeros(1, 1, 5, 5))


X4 = et.zeros(1, 1, 4, 4)
BAD_ARGUMENTS = {
    "max_pool stride 0": (lambda: F.max_pool2d(X4, 2, stride=0), "stride should be greater than zero"),
    "MaxPool2d stride 0": (lambda: enn.MaxPool2d(2, stride=0)(X4), "stride should be greater than zero"),
    "max_pool kernel 0": (lambda: F.max_pool2d(X4, 0, 1), "kernel size should be greater than zero"),
    "max_pool padding -1": (lambda: F.max_pool2d(X4, 2, padding=-1), "pad must be non-negative"),
    "max_pool padding > k/2": (lambda: F.max_pool2d(X4, 3, padding=2), "at most half of effective kernel"),
    "avg_pool stride 0": (lambda: F.avg_pool2d(X4, 2, stride=0), "stride should be greater than zero"),
    "AvgPool2d stride 0": (lambda: enn.AvgPool2d(2, stride=0)(X4), "stride should be greater than zero"),
    "avg_pool padding -1": (lambda: F.avg_pool2d(X4, 2, padding=-1), "pad must be non-negative"),
    "avg_pool padding > k/2": (lambda: F.avg_pool2d(X4, 2, padding=2), "at most half of effective kernel"),
    "conv stride 0": (lambda: enn.Conv2d(1, 1, 3, stride=0)(X4), "'stride' expected a positive int"),
    "conv padding -1": (lambda: F.conv2d(X4, et.zeros(1, 1, 3, 3), padding=-1), "'padding' expected non-negative"),
    "conv_transpose stride 0": (lambda: enn.ConvTranspose2d(1, 1, 3, stride=0)(X4),
                                "'stride' expected a positive int"),
}


@pytest.mark.parametrize("call,message", BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_pool_and_conv_arguments_pytorch_refuses(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


def test_pool_padding_of_half_the_kernel_is_fine():
    x = et.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(F.max_pool2d(x, 3, 2, 1).numpy(), [[[[5, 7], [13, 15]]]])


def test_static_pool_stride_zero_is_a_value_error_as_in_tensorflow():
    with tf.Graph().as_default():
        x = tf.constant(np.zeros((1, 4, 4, 1), np.float32))
        with pytest.raises(ValueError, match="stride"):
            tf.nn.max_pool2d(x, 2, 0, "VALID")


# ----- reference replays ---------------------------------------------------------------------------
def _torch():
    return pytest.importorskip("torch")


@pytest.mark.reference
@pytest.mark.parametrize("case", ["ce_mean", "ce_none", "ce_smooth", "ce_weight", "nll", "nll_weight_smooth",
                                  "softmax", "log_softmax"])
def test_masked_logits_match_torch(case):
    torch = _torch()

    def run(lib, fn):
        x = lib.tensor(Z, dtype=lib.float64, requires_grad=True)
        y = lib.tensor(LABELS)
        calls = {
            "ce_mean": lambda: fn.cross_entropy(x, y),
            "ce_none": lambda: fn.cross_entropy(x, y, reduction="none").sum(),
            "ce_smooth": lambda: fn.cross_entropy(x, y, label_smoothing=0.2),
            "ce_weight": lambda: fn.cross_entropy(x, y, weight=lib.tensor([1.0, 0.5, 2.0], dtype=lib.float64)),
            "nll": lambda: fn.nll_loss(fn.log_softmax(x, 1), y),
            "nll_weight_smooth": lambda: fn.cross_entropy(x, lib.tensor([0, -100]), label_smoothing=0.1,
                                                          weight=lib.tensor([1.0, 0.5, 2.0], dtype=lib.float64)),
            "softmax": lambda: (fn.softmax(x, 1) * lib.tensor([[1.0, 2, 3], [4, 5, 6]], dtype=lib.float64)).sum(),
            "log_softmax": lambda: fn.log_softmax(x, 1)[:, :2].sum(),
        }
        out = calls[case]()
        out.backward()
        return out.detach().numpy(), x.grad.numpy()

    ours, theirs = run(et, F), run(torch, torch.nn.functional)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.reference
def test_masked_logits_match_tensorflow_and_keras():
    real = pytest.importorskip("tensorflow")
    tf1 = real.compat.v1
    makers = {
        "sparse": (SPARSE, lambda y, x: tf1.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)),
        "dense": (DENSE, lambda y, x: tf1.nn.softmax_cross_entropy_with_logits(labels=tf1.one_hot(y, 3), logits=x)),
        "dense_v2": (DENSE_V2, lambda y, x: tf1.nn.softmax_cross_entropy_with_logits_v2(labels=tf1.one_hot(y, 3),
                                                                                        logits=x)),
        "losses": (lambda y, x: tf.losses.sparse_softmax_cross_entropy(y, x),
                   lambda y, x: tf1.losses.sparse_softmax_cross_entropy(y, x)),
        "smooth": (lambda y, x: tf.losses.softmax_cross_entropy(tf.one_hot(y, 3), x, label_smoothing=0.1),
                   lambda y, x: tf1.losses.softmax_cross_entropy(tf1.one_hot(y, 3), x, label_smoothing=0.1)),
    }
    for name, (ours, theirs) in makers.items():
        got = _static_loss_and_grad(ours, LABELS)
        with real.Graph().as_default():
            x = tf1.placeholder(real.float32, [None, 3])
            loss = theirs(real.constant(LABELS, real.int64), x)
            with tf1.Session() as sess:
                want = sess.run([loss, tf1.gradients(loss, x)[0]], {x: np.array(Z, np.float32)})
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6, err_msg=name)
    keras = pytest.importorskip("keras")
    for from_ours, theirs in [(tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                               keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
                              (tf.keras.losses.CategoricalCrossentropy(from_logits=True),
                               keras.losses.CategoricalCrossentropy(from_logits=True))]:
        sparse = isinstance(theirs, keras.losses.SparseCategoricalCrossentropy)
        y = np.array(LABELS) if sparse else ONEHOT.astype(np.float32)
        with tf.Graph().as_default():
            got = _run(from_ours(tf.constant(y), tf.constant(np.array(Z, np.float32))))
        np.testing.assert_allclose(got, np.asarray(theirs(y, np.array(Z, np.float32))), rtol=1e-6)


@pytest.mark.reference
def test_out_of_range_indices_raise_as_in_torch():
    torch = _torch()
    cases = [
        lambda lib, fn: fn.cross_entropy(lib.zeros(2, 3), lib.tensor([0, 5])),
        lambda lib, fn: fn.cross_entropy(lib.zeros(2, 3), lib.tensor([0, 3]), weight=lib.ones(3)),
        lambda lib, fn: fn.nll_loss(lib.zeros(2, 3), lib.tensor([-1, 0])),
        lambda lib, fn: fn.embedding(lib.tensor([-1]), lib.zeros(5, 2)),
        lambda lib, fn: fn.embedding(lib.tensor([5]), lib.zeros(5, 2)),
        lambda lib, fn: fn.one_hot(lib.tensor([5]), 3),
        lambda lib, fn: fn.one_hot(lib.tensor([-1]), 3),
        lambda lib, fn: lib.zeros(2, 3).gather(1, lib.tensor([[3], [0]])),
        lambda lib, fn: lib.zeros(2, 3).gather(1, lib.tensor([[-1], [0]])),
    ]
    for case in cases:
        with pytest.raises(Exception) as theirs:
            case(torch, torch.nn.functional)
        with pytest.raises(type(theirs.value)):
            case(et, F)
    ok = lambda lib, fn: fn.nll_loss(lib.tensor([[0.0, 1.0, 2.0], [5.0, 6.0, 7.0]]), lib.tensor([2, -100]))  # noqa
    assert ok(et, F).item() == ok(torch, torch.nn.functional).item()


@pytest.mark.reference
def test_reduce_max_and_min_ties_match_tensorflow():
    real = pytest.importorskip("tensorflow")
    tf1 = real.compat.v1
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    for name in ("reduce_max", "reduce_min"):
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float64, [2, 3])
            y = getattr(tf, name)(x, 1)
            got = _run(tf.gradients(y, x)[0], {x: data})
        with real.Graph().as_default():
            x = tf1.placeholder(real.float64, [2, 3])
            y = getattr(tf1, name)(x, 1)
            with tf1.Session() as sess:
                want = sess.run(tf1.gradients(y, x)[0], {x: data})
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=name)


@pytest.mark.reference
def test_bad_labels_raise_invalid_argument_in_tensorflow_too():
    real = pytest.importorskip("tensorflow")
    tf1 = real.compat.v1
    with real.Graph().as_default():
        loss = tf1.nn.sparse_softmax_cross_entropy_with_logits(labels=real.constant([0, 3], real.int64),
                                                               logits=real.zeros((2, 3)))
        hot = tf1.one_hot([2, 3, -1], 3)
        with tf1.Session() as sess:
            with pytest.raises(real.errors.InvalidArgumentError):
                sess.run(loss)
            want = sess.run(hot)
    np.testing.assert_array_equal(_run(tf.one_hot([2, 3, -1], 3)), want)


@pytest.mark.reference
@pytest.mark.parametrize("case", ["norm0", "norm_dim", "std_const", "std_dim", "var_const", "max_dim", "min_dim",
                                  "max_keepdim", "max_all", "min_all", "amax", "amin", "max_nan"])
def test_gradients_at_zero_and_ties_match_torch(case):
    torch = _torch()
    data = {"norm0": [0.0, 0.0], "norm_dim": [[0.0, 0.0], [3.0, 4.0]], "std_const": [1.0, 1.0, 1.0],
            "std_dim": [[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]], "var_const": [2.0, 2.0],
            "max_nan": [[1.0, np.nan, 3.0]]}.get(case, [[1.0, 3.0, 3.0], [1.0, 1.0, 1.0]])
    calls = {"norm0": lambda x: x.norm(), "norm_dim": lambda x: x.norm(dim=1), "std_const": lambda x: x.std(),
             "std_dim": lambda x: x.std(1), "var_const": lambda x: x.var(), "max_dim": lambda x: x.max(1)[0],
             "min_dim": lambda x: x.min(1)[0], "max_keepdim": lambda x: x.max(0, True)[0],
             "max_all": lambda x: x.max(), "min_all": lambda x: x.min(), "amax": lambda x: x.amax(1),
             "amin": lambda x: x.amin(0), "max_nan": lambda x: x.max(1)[0]}

    def run(lib):
        x = lib.tensor(data, dtype=lib.float64, requires_grad=True)
        y = calls[case](x)
        y.sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    for a, b in zip(run(et), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.reference
@pytest.mark.parametrize("case", ["relu", "relu_", "leaky_relu", "elu", "clamp", "where", "maximum", "minimum",
                                  "max_other"])
def test_gradients_of_non_finite_output_gradients_match_torch_bit_for_bit(case):
    torch = _torch()
    xs = [-2.0, -0.0, 0.0, 0.5, 1.0, 7.0, 1.0, 3.0]
    ys = [0.0, 0.0, -0.0, 0.5, 2.0, 7.0, 1.0, -1.0]
    gs = [NAN, INF, -1.0, NAN, -INF, NAN, -3.0, 2.0]
    calls = {"relu": lambda lib, F, x, y: F.relu(x), "relu_": lambda lib, F, x, y: (x * 1).relu_(),
             "leaky_relu": lambda lib, F, x, y: F.leaky_relu(x, 0.1), "elu": lambda lib, F, x, y: F.elu(x),
             "clamp": lambda lib, F, x, y: x.clamp(0.0, 1.0),
             "where": lambda lib, F, x, y: lib.where(x > 0, x * 2, y * 3),
             "maximum": lambda lib, F, x, y: lib.maximum(x, y), "minimum": lambda lib, F, x, y: lib.minimum(x, y),
             "max_other": lambda lib, F, x, y: x.max(y)}

    def run(lib, F):
        x, y = (lib.tensor(v, requires_grad=True) for v in (xs, ys))
        calls[case](lib, F, x, y).backward(lib.tensor(gs))
        return [np.asarray(t.grad.numpy() if t.grad is not None else np.zeros(len(xs), np.float32)) for t in (x, y)]

    import torch.nn.functional as torch_f
    for a, b in zip(run(et, F), run(torch, torch_f)):
        assert a.tobytes() == b.tobytes(), (a, b)      # NaN, infinities and signed zeros alike


def _int_creations(lib, nn):
    return {"zeros": lambda: lib.zeros(2, dtype=lib.int64, requires_grad=True),
            "arange": lambda: lib.arange(3, requires_grad=True),
            "full": lambda: lib.full((2,), 3, requires_grad=True),
            "Parameter": lambda: nn.Parameter(lib.tensor([1])),
            "randint": lambda: lib.randint(3, (2,), requires_grad=True)}


@pytest.mark.reference
def test_argument_errors_match_torch():
    torch = _torch()
    cases = {name: (lambda lib, nn, fn, name=name: _int_creations(lib, nn)[name]())
             for name in ("zeros", "arange", "full", "Parameter", "randint")}
    cases.update({
        "bn": lambda lib, nn, fn: nn.BatchNorm1d(3)(lib.randn(1, 3)),
        "bn2d": lambda lib, nn, fn: nn.BatchNorm2d(3)(lib.randn(1, 3, 1, 1)),
        "conv k0": lambda lib, nn, fn: nn.Conv2d(1, 1, 0)(lib.zeros(1, 1, 5, 5)),
        "max_pool s0": lambda lib, nn, fn: fn.max_pool2d(lib.zeros(1, 1, 4, 4), 2, stride=0),
        "avg_pool pad": lambda lib, nn, fn: fn.avg_pool2d(lib.zeros(1, 1, 4, 4), 2, padding=2),
        "conv s0": lambda lib, nn, fn: fn.conv2d(lib.zeros(1, 1, 4, 4), lib.zeros(1, 1, 3, 3), stride=0),
        "convT s0": lambda lib, nn, fn: nn.ConvTranspose2d(1, 1, 3, stride=0)(lib.zeros(1, 1, 4, 4)),
    })
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for case in cases.values():
            with pytest.raises(Exception) as theirs:
                case(torch, torch.nn, torch.nn.functional)
            with pytest.raises(type(theirs.value)):
                case(et, enn, F)



def test_sigmoid_cross_entropy_gradient_at_zero_logits_is_sigmoid_minus_target():
    """|z| and max(-z, 0) have kinks at 0 that cancel in the loss; their zero subgradients gave 1 - y there,
    so a zero-initialized output layer took a wrong first step in both frontends."""
    y = np.array([1.0, 0.0, 0.3, 1.0])
    pw = 3.0
    z = et.tensor(np.array([0.0, 0.0, -0.0, 0.0]), requires_grad=True)
    F.binary_cross_entropy_with_logits(z, et.tensor(y), reduction="sum").backward()
    np.testing.assert_allclose(z.grad.numpy(), 0.5 - y, rtol=1e-15)
    z = et.tensor(np.zeros(4), requires_grad=True)
    F.binary_cross_entropy_with_logits(z, et.tensor(y), reduction="sum",
                                                         pos_weight=et.tensor(np.full(4, pw))).backward()
    # d/dz [(1 - y) z + (1 + (pw - 1) y) softplus(-z)] at 0: (1 - y) - (1 + (pw - 1) y) / 2
    np.testing.assert_allclose(z.grad.numpy(), (1 - y) - (1 + (pw - 1) * y) / 2, rtol=1e-15)
    with tf.Graph().as_default():
        logits = tf.placeholder(tf.float64, (4,))
        loss = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant(y), logits=logits))
        grad, = tf.gradients(loss, [logits])
        with tf.Session() as sess:
            value, g = sess.run([loss, grad], {logits: np.zeros(4)})
    np.testing.assert_allclose(g, 0.5 - y, rtol=1e-15)
    assert value == pytest.approx(4 * np.log(2.0), rel=1e-15)


def test_binary_cross_entropy_at_saturated_probabilities_follows_aten():
    """p exactly 0 or 1 (a saturated sigmoid): the loss clamps each log at -100 and the gradient is ATen's
    (p - y) / max(p (1 - p), 1e-12), not the clamped logs' NaN; the second log is log1p(-p)."""
    p = et.tensor(np.array([0.0, 1.0, 0.0, 1.0, 1e-4]), requires_grad=True)
    y = et.tensor(np.array([0.0, 1.0, 1.0, 0.0, 0.0]))
    loss = F.binary_cross_entropy(p, y, reduction="none")
    loss.sum().backward()
    np.testing.assert_array_equal(loss.detach().numpy()[:4], [0.0, 0.0, 100.0, 100.0])
    assert loss.detach().numpy()[4] == -np.log1p(-1e-4)
    np.testing.assert_allclose(p.grad.numpy(), [0.0, 0.0, -1e12, 1e12, 1e-4 / ((1 - 1e-4) * 1e-4)], rtol=1e-12)
    for bad in ([0.5, 1.5], [-0.1, 0.5], [np.nan, 0.5]):
        with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
            F.binary_cross_entropy(et.tensor(np.array(bad)), et.tensor(np.zeros(2)))
