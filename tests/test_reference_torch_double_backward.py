"""Parity with PyTorch for second derivatives (create_graph=True, then a second grad or backward), in-place
``.grad`` accumulation, the gradient of x ** 0 at 0 and cross-entropy with every target ignored; skipped when
torch is not installed."""
import numpy as np
import pytest

import eager_api

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.reference

X = [0.3, -0.7, 1.2]
C = [1.0, 2.0, 3.0]

# f(lib, x) -> a scalar, for lib eager_api or torch; every gradient rule here reads its op's own output.
# In float64, so that float32 rounding (layer_norm's cancellation near the mean) does not hide a wrong term.
CASES = {
    "exp": lambda t, x: x.exp().sum(),
    "tanh_of_square": lambda t, x: t.tanh(x * x).sum(),
    "sigmoid": lambda t, x: t.sigmoid(x).sum(),
    "softplus": lambda t, x: t.nn.functional.softplus(x).sum(),
    "sqrt": lambda t, x: (x * x + 1).sqrt().sum(),
    "rsqrt": lambda t, x: (x * x + 1).rsqrt().sum(),
    "reciprocal": lambda t, x: (x * x + 1).reciprocal().sum(),
    "rdiv": lambda t, x: (1 / (x * x + 1)).sum(),
    "div": lambda t, x: (x / (x * x + 1)).sum(),
    "softmax": lambda t, x: (t.softmax(x, 0) * t.tensor(C, dtype=x.dtype)).sum(),
    "log_softmax": lambda t, x: (t.log_softmax(x, 0) * t.tensor(C, dtype=x.dtype)).sum(),
    "logsigmoid": lambda t, x: t.nn.functional.logsigmoid(x).sum(),
    "norm": lambda t, x: (x.norm() * x).sum(),
    "layer_norm": lambda t, x: (t.nn.functional.layer_norm(x * x, (3,)) * t.tensor(C, dtype=x.dtype)).sum(),
    "cross_entropy": lambda t, x: t.nn.functional.cross_entropy(x.view(1, 3) * x.view(1, 3), t.tensor([1])),
    "bce_with_logits": lambda t, x: t.nn.functional.binary_cross_entropy_with_logits(
        x * x, t.tensor([0.0, 1.0, 0.5], dtype=x.dtype)),
    "pow_self": lambda t, x: (x.abs() ** x).sum(),
}


def _second(t, f):
    x = t.tensor(X, dtype=t.float64, requires_grad=True)
    g, = t.autograd.grad(f(t, x), x, create_graph=True)
    g2, = t.autograd.grad((g * t.tensor(C, dtype=x.dtype)).sum(), x)
    return g.detach().numpy(), g2.numpy()


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivative_matches_torch(name):
    ours, theirs = _second(eager_api, CASES[name]), _second(torch, CASES[name])
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-10, atol=1e-12)


def _penalty(t, w1, w2, x):
    """A sigmoid MLP's gradient penalty |d out / d x|^2, backpropagated into w1, w2 and x."""
    w1, w2, x = (t.tensor(a, requires_grad=True) for a in (w1, w2, x))
    out = (t.sigmoid(x @ w1) @ w2).sum()
    gx, = t.autograd.grad(out, x, create_graph=True)
    (gx ** 2).sum().backward()
    return [v.grad.numpy() for v in (w1, w2, x)]


def test_gradient_penalty_mlp_matches_torch():
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s).astype(np.float32) for s in ((3, 4), (4, 2), (2, 3))]
    for o, t in zip(_penalty(eager_api, *arrays), _penalty(torch, *arrays)):
        np.testing.assert_allclose(o, t, rtol=1e-4, atol=1e-6)


def _accumulate(t):
    x = t.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    g = x.grad
    (x * 3).sum().backward()
    same = g is x.grad
    g.zero_()
    (x * 4).sum().backward()
    return same, g is x.grad, g.numpy().copy()


def test_grad_accumulates_in_place_as_torch():
    assert _accumulate(eager_api)[:2] == _accumulate(torch)[:2] == (True, True)
    np.testing.assert_array_equal(_accumulate(eager_api)[2], _accumulate(torch)[2])


def _pow_zero(t):
    x = t.tensor([0.0, 2.0, -1.5], requires_grad=True)
    (x ** 0).sum().backward()
    return x.grad.numpy()


def test_pow_zero_exponent_gradient_matches_torch():
    np.testing.assert_array_equal(_pow_zero(eager_api), _pow_zero(torch))


def _all_ignored(t, weighted):
    z = t.tensor(np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32), requires_grad=True)
    weight = t.tensor([0.5, 2.0, 1.0]) if weighted else None
    loss = t.nn.CrossEntropyLoss(weight=weight, ignore_index=1)(z, t.tensor([1, 1, 1, 1]))
    loss.backward()
    return loss.item(), z.grad.numpy()


@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_all_ignored_matches_torch(weighted):
    with np.errstate(all="ignore"):
        (lo, go), (lt, gt) = _all_ignored(eager_api, weighted), _all_ignored(torch, weighted)
    assert np.isnan(lo) and np.isnan(lt)
    np.testing.assert_array_equal(go, gt)


def _pow_tensor_exponent(t):
    x = t.tensor([0.0, 0.0, 2.0, -1.5], requires_grad=True)
    y = t.tensor([0.0, 2.0, 0.5, 2.0], requires_grad=True)
    (x ** y).sum().backward()
    return x.grad.numpy(), y.grad.numpy()


def test_pow_tensor_exponent_gradients_match_torch():
    with np.errstate(all="ignore"):
        (gx, gy), (tx, ty) = _pow_tensor_exponent(eager_api), _pow_tensor_exponent(torch)
    # d/dx at x = 0, y = 0 is TF's NaN in both frontends (one Pow primitive); PyTorch gives 0 (docs/compat.md).
    np.testing.assert_allclose(gx[1:], tx[1:], rtol=1e-6)
    np.testing.assert_allclose(gy, ty, rtol=1e-6)
