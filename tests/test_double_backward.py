"""Second derivatives through the one reverse pass (``create_graph=True``, then a second grad or backward),
checked against float64 central differences of the first derivative; ``.grad`` accumulation in place; the
gradient of x ** 0 at 0; cross-entropy whose every target is ignored.  No PyTorch needed."""
import numpy as np
import pytest

import eager_api as torch
import eager_api.nn.functional as F
import static_api as tf

X = np.array([0.3, -0.7, 1.2])
C = np.array([1.0, 2.0, 3.0])


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def _first(f, arrays):
    """The first derivatives of f(*xs) at ``arrays``, as NumPy arrays (no graph kept)."""
    xs = [_t(a, True) for a in arrays]
    return [g.numpy() for g in torch.autograd.grad(f(*xs), xs)]


def _check_second(f, arrays, eps=1e-6, tol=1e-6):
    """d/dx of s(x) = sum_i <df/dx_i, c_i> through create_graph=True, against central differences of s computed
    from first derivatives alone."""
    rng = np.random.default_rng(0)
    cs = [rng.normal(size=np.shape(a)) for a in arrays]
    xs = [_t(a, True) for a in arrays]
    gs = torch.autograd.grad(f(*xs), xs, create_graph=True)
    s = sum((g * _t(c)).sum() for g, c in zip(gs, cs))
    analytic = [g.numpy() for g in torch.autograd.grad(s, xs)]

    def s_of(values):
        return sum(float((g * c).sum()) for g, c in zip(_first(f, values), cs))

    for j, a in enumerate(arrays):
        numeric = np.zeros(np.shape(a))
        for k in range(numeric.size):
            hi = [np.array(v, dtype=np.float64) for v in arrays]
            lo = [np.array(v, dtype=np.float64) for v in arrays]
            hi[j].flat[k] += eps
            lo[j].flat[k] -= eps
            numeric.flat[k] = (s_of(hi) - s_of(lo)) / (2 * eps)
        np.testing.assert_allclose(analytic[j], numeric, rtol=tol, atol=tol, err_msg=f"input {j}")


# Each gradient rule below reads its op's own output (or, for layer_norm, its statistics outputs).
CASES = {
    "exp": (lambda x: x.exp().sum(), [X]),
    "tanh": (lambda x: torch.tanh(x * x).sum(), [X]),
    "sigmoid": (lambda x: torch.sigmoid(x * x).sum(), [X]),
    "softplus": (lambda x: F.softplus(x * x).sum(), [X]),
    "sqrt": (lambda x: (x * x + 1).sqrt().sum(), [X]),
    "rsqrt": (lambda x: (x * x + 1).rsqrt().sum(), [X]),
    "reciprocal": (lambda x: (x * x + 1).reciprocal().sum(), [X]),
    "rdiv": (lambda x: (1 / (x * x + 1)).sum(), [X]),
    "div": (lambda x, y: (x / (y * y + 1)).sum(), [X, X[::-1] * 2]),
    "softmax": (lambda x: (torch.softmax(x, 0) * _t(C)).sum(), [X]),
    "log_softmax": (lambda x: (torch.log_softmax(x, 0) * _t(C)).sum(), [X]),
    "logsigmoid": (lambda x: F.logsigmoid(x * x).sum(), [X]),
    "norm": (lambda x: (x.norm() * x).sum(), [X]),
    "layer_norm": (lambda x: (F.layer_norm(x * x, (3,)) * _t(C)).sum(), [X]),
    "layer_norm_affine": (lambda x, w, b: (F.layer_norm(x, (3,), w, b) ** 2).sum(),
                          [X.reshape(1, 3) * [[1.0], [2.0]], C / 3, -X]),
    "cross_entropy": (lambda z: F.cross_entropy(z * z, torch.tensor([1, 0])), [np.stack([X, -X])]),
    "bce_with_logits": (lambda z: F.binary_cross_entropy_with_logits(z * z, _t([0.0, 1.0, 0.5])), [X]),
    "pow_tensor_exponent": (lambda x: (x ** x).sum(), [np.abs(X)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivative_matches_central_differences(name):
    f, arrays = CASES[name]
    _check_second(f, arrays)


def test_second_derivative_of_exp_has_the_closed_form():
    # The brief's example: d/dx sum(c * d/dx sum(exp x)) = c * exp(x); it was None (exp's rule read a detached y).
    x = _t(X, True)
    g, = torch.autograd.grad(x.exp().sum(), x, create_graph=True)
    g2, = torch.autograd.grad((g * _t(C)).sum(), x)
    np.testing.assert_allclose(g2.numpy(), C * np.exp(X), rtol=1e-12)


def test_third_derivative_of_tanh():
    # create_graph twice: the second pass's own rules read outputs too.  tanh''' = -2 (1 - t^2) (1 - 3 t^2).
    x = _t(X, True)
    g, = torch.autograd.grad(torch.tanh(x).sum(), x, create_graph=True)
    g2, = torch.autograd.grad(g.sum(), x, create_graph=True)
    g3, = torch.autograd.grad(g2.sum(), x)
    t = np.tanh(X)
    np.testing.assert_allclose(g3.numpy(), -2 * (1 - t ** 2) * (1 - 3 * t ** 2), rtol=1e-10)


def test_gradient_penalty_of_a_sigmoid_mlp():
    """pen = |d out / d x|^2 for out = sum(sigmoid(x @ w1) @ w2); .backward() on it fills w1, w2 and x with the
    derivatives of pen, checked by central differences of pen computed from first derivatives only."""
    rng = np.random.default_rng(1)
    arrays = [rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=(4, 1))]

    def out(x, w1, w2):
        return (torch.sigmoid(x @ w1) @ w2).sum()

    def penalty(values):
        gx = _first(out, values)[0]
        return float((gx ** 2).sum())

    x, w1, w2 = (_t(a, True) for a in arrays)
    gx, = torch.autograd.grad(out(x, w1, w2), x, create_graph=True)
    (gx ** 2).sum().backward()
    eps = 1e-6
    for j, t in enumerate((x, w1, w2)):
        numeric = np.zeros(arrays[j].shape)
        for k in range(numeric.size):
            hi = [a.copy() for a in arrays]
            lo = [a.copy() for a in arrays]
            hi[j].flat[k] += eps
            lo[j].flat[k] -= eps
            numeric.flat[k] = (penalty(hi) - penalty(lo)) / (2 * eps)
        np.testing.assert_allclose(t.grad.numpy(), numeric, rtol=1e-6, atol=1e-8, err_msg=f"input {j}")


def test_create_graph_leaves_no_reference_cycle():
    # The reverse pass shows a rule the node's tracked outputs only for the call; the node keeps detached handles.
    x = _t(X, True)
    y = x.exp()
    torch.autograd.grad(y.sum(), x, create_graph=True)
    assert all(o.node is None for o in y.node.outputs)


@pytest.mark.parametrize("name,fn", [("exp", tf.exp), ("sigmoid", tf.nn.sigmoid),
                                     ("softmax", lambda x: tf.nn.softmax(x) * C), ("rdiv", lambda x: 1.0 / (x * x + 1))])
def test_static_gradients_of_gradients(name, fn):
    # The static frontend runs the same pass over symbolic values; its outputs were always graph values.
    tf.reset_default_graph()
    x = tf.placeholder(tf.float64, (3,))
    g, = tf.gradients(tf.reduce_sum(fn(x)), [x])
    g2, = tf.gradients(tf.reduce_sum(g * C), [x])
    with tf.Session() as sess:
        eps = 1e-6
        numeric = np.array([(np.sum(sess.run(g, {x: X + e}) * C) - np.sum(sess.run(g, {x: X - e}) * C)) / (2 * eps)
                            for e in np.eye(3) * eps])
        np.testing.assert_allclose(sess.run(g2, {x: X}), numeric, rtol=1e-6, atol=1e-8)


# ----- .grad accumulation ---------------------------------------------------------------
def test_second_backward_accumulates_into_the_same_grad_tensor():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    g = x.grad
    (x * 3).sum().backward()
    assert g is x.grad
    np.testing.assert_array_equal(g.numpy(), [5.0, 5.0])


def test_zeroed_grad_tensor_receives_the_next_backward():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    g = x.grad
    g.zero_()
    (x * 3).sum().backward()
    assert g is x.grad
    np.testing.assert_array_equal(g.numpy(), [3.0, 3.0])


def test_create_graph_accumulates_out_of_place_and_differentiably():
    # With create_graph the sum is a new tensor whose graph leads back through both terms (PyTorch's rule too).
    x = _t([1.0, 2.0], True)
    (x ** 3).sum().backward(create_graph=True)
    first = x.grad
    (x ** 2).sum().backward(create_graph=True)
    assert x.grad is not first
    np.testing.assert_allclose(first.detach().numpy(), [3.0, 12.0])
    g2, = torch.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(g2.numpy(), [6.0 * 1 + 2, 6.0 * 2 + 2])


# ----- single points --------------------------------------------------------------------
def test_pow_zero_exponent_gradient_is_zero_at_zero():
    # x ** 0 is constant; the rule c * x ** (c - 1) would give 0 * inf = NaN at x = 0.
    x = torch.tensor([0.0, 2.0, -1.5], requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


def test_static_pow_zero_exponent_keeps_tensorflows_nan_at_zero():
    # TensorFlow's Pow gradient is y * x ** (y - 1) unmasked: NaN at x = 0, y = 0 (checked with TF 2.x).
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, (2,))
    g, = tf.gradients(tf.reduce_sum(tf.pow(x, 0.0)), [x])
    with tf.Session() as sess, np.errstate(all="ignore"):
        got = sess.run(g, {x: np.array([0.0, 2.0], np.float32)})
    assert np.isnan(got[0]) and got[1] == 0.0


@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_with_every_target_ignored(weighted):
    # The mean over no kept row is 0 / 0 (NaN), but no row counts, so the gradient is 0, not NaN.
    z = torch.tensor(np.random.default_rng(2).normal(size=(4, 3)), requires_grad=True)
    weight = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64) if weighted else None
    with np.errstate(all="ignore"):
        loss = F.cross_entropy(z, torch.tensor([1, 1, 1, 1]), weight=weight, ignore_index=1)
        loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(z.grad.numpy(), np.zeros((4, 3)))


def test_nll_loss_with_every_target_ignored():
    z = torch.tensor(np.random.default_rng(3).normal(size=(4, 3)), requires_grad=True)
    with np.errstate(all="ignore"):
        loss = F.nll_loss(torch.log_softmax(z, 1), torch.tensor([2, 2, 2, 2]), ignore_index=2)
        loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(z.grad.numpy(), np.zeros((4, 3)))


def test_pow_exponent_gradient_is_zero_at_zero_base():
    # d(x ** y)/dy = x ** y log x is 0 at x = 0 in PyTorch and TF alike, not 1 * log 0 = -inf (y = 0) or NaN.
    x = torch.tensor([0.0, 0.0, 2.0], requires_grad=True)
    y = torch.tensor([0.0, 2.0, 3.0], requires_grad=True)
    with np.errstate(all="ignore"):
        (x ** y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [0.0, 0.0, 8 * np.log(2.0)], rtol=1e-6)
    tf.reset_default_graph()
    xs, ys = tf.placeholder(tf.float32, (3,)), tf.placeholder(tf.float32, (3,))
    gy, = tf.gradients(tf.reduce_sum(tf.pow(xs, ys)), [ys])
    with tf.Session() as sess, np.errstate(all="ignore"):
        got = sess.run(gy, {xs: x.detach().numpy(), ys: y.detach().numpy()})
    np.testing.assert_allclose(got, [0.0, 0.0, 8 * np.log(2.0)], rtol=1e-6)
