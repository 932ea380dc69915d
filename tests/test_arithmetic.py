"""Scalar arithmetic rounded as each peer rounds it, and PyTorch's type promotion, against hand values and
NumPy's IEEE operations (the same program in the peers: tests/test_reference_torch.py, test_reference_tf.py)."""
import warnings

import numpy as np
import pytest

import eager_api as torch
import static_api as tf

R = np.random.default_rng(5)
X = R.standard_normal(4000).astype(np.float32)


def _tf1(fn, *feeds):
    """``fn`` of float32 placeholders fed ``feeds`` in a TF1 graph, with d(sum(y^2))/d(inputs)."""
    with tf.Graph().as_default():
        ps = [tf.placeholder(tf.float32, (None,)) for _ in feeds]
        y = fn(*ps)
        grads = tf.gradients(tf.reduce_sum(y * y), ps)
        with tf.Session() as s:
            return s.run([y] + grads, dict(zip(ps, feeds)))


def test_eager_division_by_a_number_divides_and_a_number_over_a_tensor_is_a_scaled_reciprocal():
    # PyTorch: x / c is one IEEE division; c / x is x.reciprocal() * c (two roundings).
    for c in (3, 7.0, 0.1, 255.0):
        got = (torch.tensor(X) / c).numpy()
        assert np.array_equal(got, X / np.float32(c))
        assert not np.array_equal(got, X * np.float32(1.0 / c))        # the old, twice-rounded form differs
        assert np.array_equal((c / torch.tensor(X)).numpy(), (np.float32(1) / X) * np.float32(c))
    x = torch.tensor(X[:50], requires_grad=True)
    (x / 3.0).sum().backward()
    assert np.array_equal(x.grad.numpy(), np.ones(50, np.float32) / np.float32(3))
    assert np.array_equal((torch.tensor([1, 2]) / 0).numpy(), [np.inf, np.inf])       # no ZeroDivisionError
    assert np.array_equal(torch.tensor([2., 4.]).reciprocal().numpy(), [0.5, 0.25])


def test_tf1_divides_by_a_constant_as_grappler_does_with_the_reciprocal_in_the_dtype():
    # Grappler's constant folding turns Div(x, const) into Mul(x, Reciprocal(const)): 1/c taken in float32.
    recip = np.float32(1) / np.float32(3)
    for fn in (lambda p: p / 3.0, lambda p: tf.divide(p, 3.0), lambda p: p / tf.constant(3.0)):
        y, g = _tf1(fn, X)
        assert np.array_equal(y, X * recip) and not np.array_equal(y, X / np.float32(3))
        assert np.array_equal(g, (2 * y) * recip)
    vec = np.array([3., 7., 0.1], np.float32)
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, (None, 3))
        y = p / tf.constant(vec)
        with tf.Session() as s:
            got = s.run(y, {p: X[:3000].reshape(-1, 3)})
    assert np.array_equal(got, X[:3000].reshape(-1, 3) * (np.float32(1) / vec))
    # A tensor over a tensor, and a constant over a constant, stay divisions; c / x is a RealDiv of c.
    z = R.uniform(0.5, 2, X.size).astype(np.float32)
    assert np.array_equal(_tf1(lambda p, q: p / q, X, z)[0], X / z)
    with tf.Graph().as_default(), tf.Session() as s:
        assert s.run(tf.constant(1.0) / tf.constant(3.0)) == np.float32(1) / np.float32(3)
    y, g = _tf1(lambda q: 2.0 / q, z)
    assert np.array_equal(y, np.float32(2) / z)


def test_tf1_divides_integers_as_floats_and_numbers_on_the_left_divide_them():
    # TF's truediv: int32 / int32 is float64 (int16 float32), not a floor division; 2.5 for an int32 x is refused.
    x = np.array([7, -7, 1, 10], np.int32)
    with tf.Graph().as_default():
        p, q = tf.placeholder(tf.int32, (4,)), tf.placeholder(tf.int16, (4,))
        f = tf.placeholder(tf.float32, (4,))
        outs = [p / tf.constant(np.full(4, 2, np.int32)), p / 3, 7 / p, q / 2, f.__rtruediv__(np.float32(2)),
                tf.divide(p, p)]
        with pytest.raises(TypeError):
            p / 2.5
        with tf.Session() as s:
            got = s.run(outs, {p: x, q: x.astype(np.int16), f: x.astype(np.float32)})
    xd = x.astype(np.float64)
    assert [g.dtype for g in got] == [np.float64, np.float64, np.float64, np.float32, np.float32, np.float64]
    assert np.array_equal(got[0], [3.5, -3.5, 0.5, 5.0])
    assert np.array_equal(got[1], xd * (1 / 3.0))             # the constant's reciprocal, in float64
    assert np.array_equal(got[2], 7 / xd)
    assert np.array_equal(got[3], [3.5, -3.5, 0.5, 5.0])
    assert np.array_equal(got[4], np.float32(2) / x.astype(np.float32))     # 2 / f, not f / 2
    assert np.array_equal(got[5], np.ones(4))


def test_add_and_sub_with_alpha_round_once_as_a_fused_multiply_add():
    # 1 + 2^-12 squared is 1 + 2^-11 + 2^-24: a float32 product rounds the 2^-24 away (a tie, to even),
    # so x + alpha * y rounded twice gives 2^-11 for x = -1; one rounding keeps 2^-11 + 2^-24.
    a = np.float32(1 + 2.0 ** -12)
    x, y = torch.tensor([-1.0, -1.0]), torch.tensor([float(a), float(a)])
    assert np.array_equal(x.add(y, alpha=float(a)).numpy(), [2.0 ** -11 + 2.0 ** -24] * 2)
    assert np.array_equal(x.sub(y, alpha=-float(a)).numpy(), [2.0 ** -11 + 2.0 ** -24] * 2)
    assert np.array_equal(x.add(float(a), alpha=float(a)).numpy(), [2.0 ** -11 + 2.0 ** -24] * 2)   # a number
    assert np.array_equal(x.add(y[:1], alpha=float(a)).numpy(), [2.0 ** -11 + 2.0 ** -24] * 2)      # broadcast
    t = x.clone()
    t.add_(y, alpha=float(a))
    assert np.array_equal(t.numpy(), [2.0 ** -11 + 2.0 ** -24] * 2)
    # everywhere else within one rounding of the float64 value; the gradients are g and g * alpha
    xs, ys = torch.tensor(X[:100], requires_grad=True), torch.tensor(X[100:200], requires_grad=True)
    out = xs.add(ys, alpha=0.3)
    np.testing.assert_allclose(out.detach().numpy(), X[:100].astype(np.float64) + np.float32(0.3) * X[100:200].astype(
        np.float64), rtol=6e-8, atol=1e-12)
    out.sum().backward()
    assert np.array_equal(xs.grad.numpy(), np.ones(100, np.float32))
    assert np.array_equal(ys.grad.numpy(), np.full(100, np.float32(0.3)))
    assert np.array_equal(torch.tensor([1, 2]).add(torch.tensor([3, 4]), alpha=3).numpy(), [10, 14])
    with pytest.raises(RuntimeError, match="alpha must not be a floating point number"):
        torch.tensor([1, 2]).add(torch.tensor([3, 4]), alpha=0.5)


@pytest.mark.parametrize("make,dtype,values", [
    (lambda: torch.tensor([1, 2], dtype=torch.int32) * torch.tensor(2), "int32", [2, 4]),     # 0-d: same category
    (lambda: torch.tensor([1., 2.], dtype=torch.float16) + torch.tensor(1.5), "float16", [2.5, 3.5]),
    (lambda: torch.tensor([1., 2.]) + torch.tensor(1.5, dtype=torch.float64), "float32", [2.5, 3.5]),
    (lambda: torch.tensor([1, 2], dtype=torch.int32) + torch.tensor(1.5, dtype=torch.float64), "float64", [2.5, 3.5]),
    (lambda: torch.tensor(1, dtype=torch.int32) + torch.tensor(2), "int64", 3),       # both 0-d: they decide
    (lambda: torch.tensor([True, False]) + 2, "int64", [3, 2]),                       # a number of a higher category
    (lambda: torch.tensor([True]) * 2.5, "float32", [2.5]),
    (lambda: torch.tensor([1, 2]) == 1.5, "bool", [False, False]),                    # not 1.5 cut to 1
    (lambda: torch.tensor([1, 2]) >= 1.5, "bool", [False, True]),
    (lambda: torch.tensor([1, 2]).clamp(min=1.5), "float32", [1.5, 2.0]),
    (lambda: torch.where(torch.tensor([True, False]), torch.tensor([1, 2]), 0.5), "float32", [1.0, 0.5]),
    (lambda: torch.where(torch.tensor([True, False]), 1, 0.5), "float32", [1.0, 0.5]),
    (lambda: torch.where(torch.tensor([True, False]), torch.tensor([1., 2.], dtype=torch.float16), 0.5), "float16",
     [1.0, 0.5]),
])
def test_type_promotion_follows_pytorchs_categories(make, dtype, values):
    got = make()
    assert str(got.dtype) == dtype and np.array_equal(got.numpy(), np.array(values))


def test_eager_slices_refuse_negative_and_zero_steps_as_pytorch():
    x = torch.arange(6).view(2, 3)
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[:, ::-1]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[0, ::-2] = 1
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        x[::0]
    assert np.array_equal(x[:, ::2].numpy(), [[0, 2], [3, 5]])


def test_sign_has_a_zero_gradient_in_both_frontends():
    x = torch.tensor([-2., 0., 3.], requires_grad=True)
    y = torch.sign(x)
    assert y.requires_grad
    (y * x).sum().backward()
    assert np.array_equal(x.grad.numpy(), [-1., 0., 1.])      # d(sign(x) x) = sign(x) + 0 * x
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, (3,))
        g, = tf.gradients(tf.sign(p), [p])
        with tf.Session() as s:
            assert np.array_equal(s.run(g, {p: [-2., 0., 3.]}), [0., 0., 0.])


def test_reading_grad_of_a_non_leaf_warns_as_pytorch_and_leaves_do_not():
    x = torch.tensor([1., 2.], requires_grad=True)
    y = x * 2
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert y.grad is None
    y.retain_grad()
    y.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(y.grad.numpy(), [1., 1.]) and np.array_equal(x.grad.numpy(), [2., 2.])
        assert torch.tensor([1.]).grad is None


def test_tf1_top_level_sigmoid_and_tanh_are_the_nn_ops():
    x = np.array([-2.0, 0.0, 3.0], np.float32)
    with tf.Graph().as_default(), tf.Session() as s:
        sig, th = s.run([tf.sigmoid(tf.constant(x)), tf.tanh(tf.constant(x))])
    np.testing.assert_allclose(sig, 1 / (1 + np.exp(-x.astype(np.float64))), rtol=1e-6)
    np.testing.assert_allclose(th, np.tanh(x.astype(np.float64)), rtol=1e-6)
