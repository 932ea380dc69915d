"""Activations, layer and group norm, rounding and the smaller math functions of both frontends, against hand
formulas in float64 and central differences (the reference tests compare the same with PyTorch and TF)."""
import math
import warnings

import numpy as np
import pytest

import backends
import core
import eager_api as torch
import static_api as tf
from tests.helpers import eager_fd_check

F = torch.nn.functional
R = np.random.default_rng(11)
SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _softplus(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(np.minimum(x * beta, threshold))) / beta)


# name -> (function of an eager tensor, float64 reference, the kinks to keep central differences away from)
EAGER = {
    "relu6": (F.relu6, lambda x: np.clip(x, 0, 6), [0, 6]),
    "hardtanh": (lambda t: F.hardtanh(t, -2.0, 3.0), lambda x: np.clip(x, -2, 3), [-2, 3]),
    "hardsigmoid": (F.hardsigmoid, lambda x: np.clip(x + 3, 0, 6) / 6, [-3, 3]),
    "hardswish": (F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6, [-3, 3]),
    "silu": (F.silu, lambda x: x / (1 + np.exp(-x)), []),
    "mish": (F.mish, lambda x: x * np.tanh(np.log1p(np.exp(np.minimum(x, 30)))), []),
    "softplus": (lambda t: F.softplus(t, 2.0, 5.0), lambda x: _softplus(x, 2.0, 5.0), [2.5]),
    "elu": (lambda t: F.elu(t, 0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0))), [0]),
    "selu": (F.selu, lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(np.minimum(x, 0))), [0]),
}


def _away_from(x, kinks, gap=1e-3):
    for k in kinks:
        x = np.where(np.abs(x - k) < gap, x + 3 * gap, x)
    return x


@pytest.mark.parametrize("name", sorted(EAGER))
def test_eager_activation_values_and_gradients(name):
    fn, ref, kinks = EAGER[name]
    x = _away_from(R.normal(size=200) * 4, kinks)
    t = torch.tensor(x, requires_grad=True)
    y = fn(t)
    g = R.normal(size=x.shape)
    y.backward(torch.tensor(g))
    np.testing.assert_allclose(y.detach().numpy(), ref(x), rtol=1e-13, atol=1e-300)
    h = 1e-6
    with torch.no_grad():
        fd = (fn(torch.tensor(x + h)).numpy() - fn(torch.tensor(x - h)).numpy()) / (2 * h)
    np.testing.assert_allclose(t.grad.numpy(), g * fd, rtol=1e-6, atol=1e-8)


def _grad_at(fn, x):
    t = torch.tensor(np.array(x, np.float64), requires_grad=True)
    fn(t).sum().backward()
    return t.grad.numpy()


def test_eager_activation_gradients_at_bounds_tails_and_nan_follow_aten():
    # Clamp-like activations pass the gradient strictly inside their bounds; hardtanh's (and relu6's) test is
    # x <= lo or x >= hi, so NaN passes it, hardsigmoid's lo < x < hi, so NaN does not.
    assert _grad_at(F.relu6, [0.0, 6.0, 3.0, np.nan]).tolist() == [0.0, 0.0, 1.0, 1.0]
    assert _grad_at(lambda t: F.hardtanh(t, -2.0, 3.0), [-2.0, 3.0, 0.0]).tolist() == [0.0, 0.0, 1.0]
    hs = _grad_at(F.hardsigmoid, [-3.0, 3.0, 0.0, np.nan])
    assert hs.tolist() == [0.0, 0.0, 1 / 6, 0.0]
    assert _grad_at(F.hardswish, [-3.0, 3.0, -4.0, 4.0]).tolist() == [0.0, 1.0, 0.0, 1.0]
    # ELU's gradient below zero is alpha * exp(x): not expm1(x) + 1, which is 0 at x = -50; at 0 the lower branch.
    e = _grad_at(lambda t: F.elu(t, 0.5), [-50.0, 0.0, np.nan])
    assert e[0] == 0.5 * math.exp(-50.0) and e[1] == 0.5 and e[2] == 1.0
    # Far tails: no overflow into NaN (the quotient rule for silu would give 0 * inf).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert _grad_at(F.silu, [-1000.0, 1000.0]).tolist() == [0.0, 1.0]
        assert _grad_at(F.softplus, [1000.0, -1000.0]).tolist() == [1.0, 0.0]
        assert _grad_at(F.mish, [1000.0]).tolist() == [1.0]
        assert np.isnan(_grad_at(F.softplus, [np.nan])[0])
    # expm1 where exp(x) - 1 cancels: ELU at -1e-6 in float32 (exp(x) - 1 is 5% off there).
    small = F.elu(torch.tensor(np.float32([-1e-6]))).numpy()[0]
    assert small == np.float32(math.expm1(np.float32(-1e-6)))


def test_activation_modules_in_place_and_reprs():
    x = torch.tensor([-1.0, 2.0, 7.0], requires_grad=True)
    y = x * 2
    assert torch.nn.ReLU6(inplace=True)(y) is y and y.tolist() == [0.0, 4.0, 6.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 0.0]
    assert repr(torch.nn.Hardtanh(-2, 2)) == "Hardtanh(min_val=-2, max_val=2)"
    assert repr(torch.nn.SiLU(inplace=True)) == "SiLU(inplace=True)" and repr(torch.nn.ReLU6()) == "ReLU6()"
    assert repr(torch.nn.Softplus(2.0)) == "Softplus(beta=2.0, threshold=20.0)"
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        torch.nn.Hardtanh(2.0, 1.0)


def _norm_ref(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def test_layer_norm_values_and_gradients():
    x = R.normal(size=(3, 2, 4)) * 2 + 1
    w, b = R.normal(size=4), R.normal(size=4)
    y = F.layer_norm(torch.tensor(x), (4,), torch.tensor(w), torch.tensor(b), eps=1e-3)
    np.testing.assert_allclose(y.numpy(), _norm_ref(x, (2,), 1e-3) * w + b, rtol=1e-12)
    y2 = torch.nn.LayerNorm((2, 4), elementwise_affine=False)(torch.tensor(x))
    np.testing.assert_allclose(y2.numpy(), _norm_ref(x, (1, 2), 1e-5), rtol=1e-12)
    eager_fd_check(lambda a, ww, bb: F.layer_norm(a, (4,), ww, bb), [x, w, b])
    m = torch.nn.LayerNorm(4, bias=False)
    assert [n for n, _ in m.named_parameters()] == ["weight"] and m.bias is None
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[3\], expected input with shape \[\*, 3\], "
                                           r"but got input of size\[3, 2, 4\]"):
        F.layer_norm(torch.tensor(x), (3,))


def test_rms_norm_values_gradients_and_errors():
    x = R.normal(size=(3, 2, 4)) * 2 + 1
    w = R.normal(size=4)
    want = x / np.sqrt((x * x).mean(axis=2, keepdims=True) + 1e-3) * w
    y = F.rms_norm(torch.tensor(x), (4,), torch.tensor(w), eps=1e-3)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12)
    m = torch.nn.RMSNorm((2, 4), elementwise_affine=False)       # eps None: float64's machine epsilon
    ref = x / np.sqrt((x * x).mean(axis=(1, 2), keepdims=True) + np.finfo(np.float64).eps)
    np.testing.assert_allclose(m(torch.tensor(x)).numpy(), ref, rtol=1e-12)
    eager_fd_check(lambda a, ww: F.rms_norm(a, (4,), ww, eps=1e-3), [x, w])
    # float16 is computed in float32, with float32's epsilon, and rounded once at the end (ATen's CPU kernel)
    h = (R.normal(size=(5, 8)) * 3).astype(np.float16)
    u = h.astype(np.float32)
    ref16 = (u * (np.float32(1) / np.sqrt((u * u).mean(axis=1, keepdims=True) + np.finfo(np.float32).eps)))
    got16 = F.rms_norm(torch.tensor(h), (8,))
    assert got16.dtype == np.float16
    np.testing.assert_allclose(got16.numpy().astype(np.float32), ref16.astype(np.float16).astype(np.float32),
                               rtol=1e-3)
    layer = torch.nn.RMSNorm(4)
    assert [n for n, _ in layer.named_parameters()] == ["weight"] and (layer.weight.detach().numpy() == 1).all()
    assert repr(layer) == "RMSNorm((4,), eps=None, elementwise_affine=True)"
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[3, 5\], expected input with shape \[\*3, 5\]"):
        F.rms_norm(torch.tensor(x), (3, 5))
    with pytest.raises(ValueError, match="Input tensor must have at least 3 dimensions, but got 1"):
        F.rms_norm(torch.tensor(w), (2, 2, 4))
    with pytest.raises(RuntimeError, match="Expected weight to be of same shape as normalized_shape"):
        F.rms_norm(torch.tensor(x), (4,), torch.ones(3))
    with pytest.raises(RuntimeError, match="Expected normalized_shape to be at least 1-dimensional"):
        F.layer_norm(torch.tensor(x), ())


def test_group_norm_values_and_gradients():
    x = R.normal(size=(2, 6, 3, 2)) * 3 - 1
    w, b = R.normal(size=6), R.normal(size=6)
    y = F.group_norm(torch.tensor(x), 3, torch.tensor(w), torch.tensor(b))
    grouped = x.reshape(2, 3, -1)
    ref = _norm_ref(grouped, (2,), 1e-5).reshape(x.shape) * w[:, None, None] + b[:, None, None]
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12, atol=1e-14)
    eager_fd_check(lambda a, ww, bb: F.group_norm(a, 3, ww, bb), [x[:1, :, :2, :1], w, b])
    assert [n for n, _ in torch.nn.GroupNorm(3, 6).named_parameters()] == ["weight", "bias"]
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        torch.nn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match="divisible by num_groups, but got input of shape"):
        F.group_norm(torch.tensor(x), 4)


def test_rounding_and_log1p_expm1_in_eager():
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 1.2345, -1.2355, 1e-10])
    t = torch.tensor(x, requires_grad=True)
    assert torch.round(t).tolist() == [0.0, 2.0, 2.0, -0.0, -2.0, 1.0, -1.0, 0.0]      # half to even
    assert t.round(decimals=2).tolist() == [round(v * 100) / 100 for v in x]
    assert torch.round(torch.tensor([1234.5, -15.0]), decimals=-1).tolist() == [1230.0, -20.0]
    assert torch.floor(t).tolist() == [math.floor(v) for v in x]
    assert torch.ceil(t).tolist() == [math.ceil(v) for v in x]
    assert torch.expm1(t).tolist() == [math.expm1(v) for v in x]
    assert torch.log1p(t.abs()).tolist() == [math.log1p(abs(v)) for v in x]
    (torch.round(t) + torch.floor(t) + torch.ceil(t)).sum().backward()
    assert t.grad.tolist() == [0.0] * len(x)       # zeros, as PyTorch's rounding functions give
    assert torch.round(torch.tensor([3, -2])).tolist() == [3, -2]


def test_linear_lr_and_initializers():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.2)
    sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.25, end_factor=1.0, total_iters=3)
    seen = [opt.param_groups[0]["lr"]]
    for _ in range(5):
        opt.step()
        sched.step()
        seen.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(seen, [0.05, 0.1, 0.15, 0.2, 0.2, 0.2], rtol=1e-12)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.0)
    assert torch.nn.init.calculate_gain("selu") == 0.75
    torch.manual_seed(0)
    t = torch.empty(4000)
    torch.nn.init.trunc_normal_(t, mean=1.0, std=0.5, a=0.0, b=1.5)
    v = t.numpy()
    # Normal(1, 0.5) cut to [0, 1.5]: mean 1 + 0.5 * (phi(-2) - phi(1)) / (Phi(1) - Phi(-2)), 0.885; the
    # standard error of 4000 draws is ~0.005.
    phi = [math.exp(-z * z / 2) / math.sqrt(2 * math.pi) for z in (-2.0, 1.0)]
    cdf = [(1 + math.erf(z / math.sqrt(2))) / 2 for z in (-2.0, 1.0)]
    want = 1.0 + 0.5 * (phi[0] - phi[1]) / (cdf[1] - cdf[0])
    assert v.min() >= 0.0 and v.max() <= 1.5 and abs(v.mean() - want) < 0.025
    with pytest.raises(NotImplementedError, match="trunc_normal_"):
        torch.nn.init.trunc_normal_(t, mean=0.0, std=1.0, a=10.0, b=11.0)
    for shape, gain in (((6, 4), 1.0), ((3, 2, 2), 2.0)):
        q = torch.empty(*shape)
        torch.nn.init.orthogonal_(q, gain=gain)
        m = q.numpy().reshape(shape[0], -1)
        small = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
        np.testing.assert_allclose(small, gain ** 2 * np.eye(small.shape[0]), atol=1e-5)


# ----- static ------------------------------------------------------------------------------------
def _run(make, x):
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float64, x.shape)
        y = make(p)
        outs = [y]
        grads = tf.gradients(tf.reduce_sum(y * y), [p])
        if grads[0] is not None:
            outs.append(grads[0])
        with tf.Session() as sess:
            return sess.run(outs, {p: x})


STATIC = {
    "relu6": (lambda p: tf.nn.relu6(p), lambda x: np.clip(x, 0, 6), [0, 6]),
    "elu": (lambda p: tf.nn.elu(p), lambda x: np.where(x < 0, np.exp(np.minimum(x, 0)) - 1, x), [0]),
    "selu": (lambda p: tf.nn.selu(p), lambda x: np.where(x < 0, 1.7580993408473768 * (np.exp(np.minimum(x, 0)) - 1),
                                                         SELU_S * x), [0]),
    "softplus": (lambda p: tf.nn.softplus(p * 8), lambda x: np.log1p(np.exp(x * 8)), []),
    "swish": (lambda p: tf.nn.swish(p), lambda x: x / (1 + np.exp(-x)), []),
    "log1p": (lambda p: tf.math.log1p(tf.abs(p)), lambda x: np.log1p(np.abs(x)), [0]),
    "expm1": (lambda p: tf.math.expm1(p), np.expm1, []),
    "rsqrt": (lambda p: tf.math.rsqrt(tf.abs(p)), lambda x: 1 / np.sqrt(np.abs(x)), [0]),
    "reciprocal": (lambda p: tf.math.reciprocal(p), lambda x: 1 / x, [0]),
}


@pytest.mark.parametrize("name", sorted(STATIC))
def test_static_math_values_and_gradients(name):
    make, ref, kinks = STATIC[name]
    x = _away_from(R.normal(size=50) * 3, kinks, 0.05)
    y, g = _run(make, x)
    np.testing.assert_allclose(y, ref(x), rtol=1e-6 if name == "softplus" else 1e-13)
    h = 1e-6
    fd = (ref(x + h) ** 2 - ref(x - h) ** 2) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7)


def test_static_softplus_follows_tfs_thresholds_and_relu6_gradient_at_nan():
    # float64: log(eps) + 2 = -34.04; exp(x) below it, x above 34.04, log1p(exp(x)) between
    x = np.array([-40.0, -30.0, 0.0, 30.0, 40.0, np.nan])
    y, g = _run(lambda p: tf.nn.softplus(p), x)
    assert y[0] == math.exp(-40.0) and y[4] == 40.0
    assert y[1:4].tolist() == [math.log1p(math.exp(v)) for v in x[1:4]]
    assert np.isfinite(g[:5]).all()
    r, rg = _run(lambda p: tf.nn.relu6(p), np.array([0.0, 6.0, np.nan, 3.0]))
    assert rg.tolist()[:2] == [0.0, 0.0] and rg[2] == 0.0 and rg[3] == 6.0      # TF's Relu6Grad: 0 < x < 6
    assert np.isnan(r[2])


def test_static_rounding_and_logsumexp():
    x = np.array([[0.5, 1.5, -2.5, 1.25], [-np.inf, -np.inf, -np.inf, -np.inf], [1000.0, 1000.0, 0.0, -1.0]])
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float64, (None, 4))
        q = tf.placeholder(tf.int32, (None,))
        outs = [tf.round(p), tf.math.ceil(p), tf.reduce_logsumexp(p, 1), tf.math.reduce_logsumexp(p, 0, keepdims=True),
                tf.round(q)]
        assert tf.gradients(tf.reduce_sum(tf.round(p)), [p]) == [None]       # TF's Round has no gradient
        with tf.Session() as sess, warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rnd, ceil, lse1, lse0, ints = sess.run(outs, {p: x, q: [3, -4]})
    assert rnd[0].tolist() == [0.0, 2.0, -2.0, 1.0] and ceil[0].tolist() == [1.0, 2.0, -2.0, 2.0]
    assert ints.tolist() == [3, -4]
    m = x[0].max()
    assert lse1[0] == pytest.approx(m + math.log(sum(math.exp(v - m) for v in x[0])), rel=1e-15)
    assert lse1[1] == -np.inf and lse1[2] == pytest.approx(1000.0 + math.log(2.0), rel=1e-15)
    assert lse0.shape == (1, 4) and lse0[0, 0] == pytest.approx(1000.0, rel=1e-15)
    with pytest.raises(AttributeError, match="lgamma is not implemented in dualflow"):
        tf.math.lgamma


def test_keras_layer_normalization_and_activation_names():
    x = (R.normal(size=(5, 3, 4)) * 2 + 1).astype(np.float32)
    with tf.Graph().as_default():
        inp = tf.keras.Input((3, 4))
        ln = tf.keras.layers.LayerNormalization(epsilon=1e-2, name="ln")
        both = tf.keras.layers.LayerNormalization(axis=[1, 2], center=False)
        model = tf.keras.Model(inp, tf.keras.layers.Activation("swish")(ln(inp)))
        other = tf.keras.Model(inp, both(inp))
        assert [w.name for w in model.weights + other.weights] == ["ln/gamma:0", "ln/beta:0",
                                                                   "layer_normalization/gamma:0"]
        assert ln.get_config()["epsilon"] == 1e-2 and ln.get_config()["axis"] == -1
        gamma = R.normal(size=4).astype(np.float32)
        ln.set_weights([gamma, np.full(4, 0.5, np.float32)])
        y, y2 = model.predict(x, verbose=0), other.predict(x, verbose=0)
    normed = _norm_ref(x.astype(np.float64), (2,), 1e-2) * gamma + 0.5
    np.testing.assert_allclose(y, normed / (1 + np.exp(-normed)), rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(y2, _norm_ref(x.astype(np.float64), (1, 2), 1e-3), rtol=2e-5, atol=1e-6)
    for name in ("relu6", "elu", "selu", "softplus", "swish", "silu", "exponential"):
        assert tf.keras.layers.Dense(2, activation=name).activation is not None


# ----- floor division, running sums and the smaller tensor functions --------------------------------------
def test_eager_floor_division_and_remainder_follow_python_with_pytorchs_zero_rules():
    a = torch.tensor([5.0, -5.0, 5.5, -0.0, 1.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([3.0, 3.0, -2.0, 2.0, 0.1], dtype=torch.float64, requires_grad=True)
    r = a % b
    assert r.tolist() == [5.0 % 3.0, -5.0 % 3.0, 5.5 % -2.0, -0.0, 1.0 % 0.1]
    assert math.copysign(1.0, r.tolist()[3]) == -1.0      # fmod's sign of zero, as ATen (Python gives +0.0)
    r.sum().backward()
    pairs = zip([5.0, -5.0, 5.5, -0.0, 1.0], [3.0, 3.0, -2.0, 2.0, 0.1])
    assert a.grad.tolist() == [1.0] * 5 and b.grad.tolist() == [-(x // y) for x, y in pairs]
    ones = torch.tensor([1.0, -1.0, 7.0], dtype=torch.float64)
    assert (ones // 0.1).tolist() == [1.0 // 0.1, -1.0 // 0.1, 7.0 // 0.1]       # Python's 9, -10, 69
    assert (torch.tensor([7, -7]) // 2).tolist() == [3, -4] and (7 % torch.tensor([3, -3])).tolist() == [1, -2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert (torch.tensor([5.0, -5.0]) // 0).tolist() == [math.inf, -math.inf]
        assert np.isnan((torch.tensor([5.0]) % 0).numpy()).all()
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not implemented"):
        (a // b).sum().backward()       # as PyTorch: floor division has no gradient, nor number % tensor
    with pytest.raises(RuntimeError, match="derivative for aten::remainder is not implemented"):
        (2.5 % b).sum().backward()
    for bad in (lambda: torch.tensor([7, -7]) // 0, lambda: torch.tensor([7]) % torch.tensor([0])):
        with pytest.raises(RuntimeError, match="integer division by zero"):
            bad()


def test_eager_cumsum_accumulates_float32_in_float64_and_flip_copies():
    x = np.float32([1e8, 1.0, 1.0, 1.0, -1e8, 0.5])
    t = torch.tensor(x, requires_grad=True)
    y = t.cumsum(0)
    # each running sum exact in float64, then rounded once to float32 (a float32 accumulator drops the 1s)
    assert y.tolist() == [float(np.float32(v)) for v in np.cumsum(x.astype(np.float64))]
    y.backward(torch.tensor(np.float32([1, 2, 3, 4, 5, 6])))
    assert t.grad.tolist() == [21.0, 20.0, 18.0, 15.0, 11.0, 6.0]
    assert torch.tensor([[1, 2], [3, 4]], dtype=torch.int32).cumsum(1).dtype == torch.int64
    m = torch.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], requires_grad=True)
    f = m.flip(1)
    assert f.tolist() == [[3.0, -2.0, 1.0], [-6.0, 5.0, 4.0]]
    assert torch.flip(m, dims=(0,)).tolist()[0] == [4.0, 5.0, -6.0]
    (f * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert m.grad.tolist() == [[3.0, 2.0, 1.0], [3.0, 2.0, 1.0]]
    with torch.no_grad():
        f[0, 0] = 100.0
    assert m[0, 2].item() == 3.0        # a copy, not a view of m


def test_eager_logsumexp_bands_eye_and_predicates():
    x = torch.tensor([[1.0, -2.0, 3.0], [4.0, -math.inf, -6.0], [-math.inf] * 3], requires_grad=True)
    y = x.logsumexp(1)
    want = [math.log(math.exp(1) + math.exp(-2) + math.exp(3)), math.log(math.exp(4) + math.exp(-6)), -math.inf]
    np.testing.assert_allclose(y.detach().numpy(), want, rtol=1e-6)
    y[:2].sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[0], np.exp(np.array([1.0, -2.0, 3.0]) - want[0]), rtol=1e-6)
    assert x.grad.numpy()[1, 1] == 0.0
    a = torch.arange(12.0).reshape(3, 4)
    assert a.tril(-1).tolist() == np.tril(np.arange(12.0).reshape(3, 4), -1).tolist()
    assert torch.triu(a, 2).tolist() == np.triu(np.arange(12.0).reshape(3, 4), 2).tolist()
    assert torch.eye(2, 3).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]] and torch.eye(2).dtype == torch.float32
    v = torch.tensor([1.0, math.nan, math.inf, -math.inf])
    assert v.isnan().tolist() == [False, True, False, False] and torch.isinf(v).tolist() == [False, False, True, True]
    assert torch.isfinite(v).tolist() == [True, False, False, False]
    assert torch.isfinite(torch.tensor([1, 2])).tolist() == [True, True]
    assert torch.logical_not(torch.tensor([0.0, 2.0])).tolist() == [True, False]
    assert torch.square(torch.tensor([3, -2])).tolist() == [9, 4]
    s = torch.tensor([0.5, -1.0], requires_grad=True)
    (s.sin() * 2 + torch.cos(s) * 3).sum().backward()
    np.testing.assert_allclose(s.grad.numpy(), 2 * np.cos([0.5, -1.0]) - 3 * np.sin([0.5, -1.0]), rtol=1e-6)


def test_static_floor_ops_cumsum_and_predicates_follow_tf():
    with tf.Graph().as_default():
        f = tf.constant(np.array([1.0, -1.0, 5.5, -0.0]))
        i = tf.constant(np.array([7, -7], np.int32))
        outs = [f // 0.1, f % -2.0, i // 2, i % 3, 7 // i, tf.math.floormod(f, 1.5), tf.math.mod(f, 1.5),
                tf.cumsum(f), tf.cumsum(f, exclusive=True), tf.math.cumsum(f, reverse=True),
                tf.cumsum(f, exclusive=True, reverse=True), tf.math.is_nan(f / 0.0), tf.math.is_inf(1.0 / f),
                tf.math.is_finite(1.0 / f), tf.eye(2, 3, dtype=tf.int32)]
        total = tf.reduce_sum(tf.math.floormod(f, 1.5)) + tf.reduce_sum(tf.cumsum(f) * [1.0, 2.0, 3.0, 4.0])
        grads = tf.gradients(total, [f])
        bad = i // tf.constant(np.array([0, 1], np.int32))
        with tf.Session() as sess, warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = sess.run(outs + grads)
            with pytest.raises(tf.errors.InvalidArgumentError, match="integer division by zero"):
                sess.run(bad)
    v = [1.0, -1.0, 5.5, -0.0]
    assert got[0].tolist() == [math.floor(x / 0.1) for x in v]       # TF's floor(x / y): 1.0 // 0.1 is 10
    assert got[1].tolist() == [-1.0, -1.0, -0.5, -0.0] and got[2].tolist() == [3, -4] and got[3].tolist() == [1, 2]
    assert got[4].tolist() == [1, -1] and got[5].tolist() == got[6].tolist() == [1.0, 0.5, 1.0, -0.0]
    assert got[7].tolist() == [1.0, 0.0, 5.5, 5.5] and got[8].tolist() == [0.0, 1.0, 0.0, 5.5]
    assert got[9].tolist() == [5.5, 4.5, 5.5, 0.0] and got[10].tolist() == [4.5, 5.5, 0.0, 0.0]
    assert got[11].tolist() == [False, False, False, True] and got[12].tolist() == [False, False, False, True]
    assert got[13].tolist() == [True, True, True, False] and got[14].tolist() == [[1, 0, 0], [0, 1, 0]]
    assert got[15].tolist() == [1.0 + 10.0, 1.0 + 9.0, 1.0 + 7.0, 1.0 + 4.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_floor_division_is_cpythons_on_every_device(dtype):
    """FloorDiv spells CPython's float floor division out in fmod, floor and where (so that CuPy, whose own
    floor_divide need not follow it, gives the same bits); on the CPU it must equal NumPy's floor_divide, which
    implements the same algorithm, bit for bit and sign of zero included."""
    from core.ops.elementwise import FloorDiv
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.normal(size=5000) * 10, [1.0, -1.0, 0.7, -0.0, 0.0, 5.0, np.inf, -np.inf, np.nan, 3.0]])
    y = np.concatenate([rng.normal(size=5000) * 3, [0.1, 0.1, 0.1, 2.0, -2.0, 0.0, 2.0, 3.0, 1.0, np.inf]])
    x, y = x.astype(dtype), y.astype(dtype)
    with np.errstate(all="ignore"):
        want = np.floor_divide(x, y)
        got = FloorDiv().forward(backends.get_backend(core.device.default()), x, y)
    np.testing.assert_array_equal(got, want)
    assert (np.signbit(got) == np.signbit(want)).all()


def test_augmented_floor_ops_and_in_place_twins_write_in_place():
    """``x %= y``, ``x //= y``, ``&=``, ``|=`` write into x as PyTorch does (without __imod__ and friends Python
    rebinds the name, and an alias or a view of x kept the old values); the in-place twins of the new
    functions likewise."""
    x = torch.tensor([5, -7, 8])
    alias = x
    alias %= 3
    assert x.tolist() == [2, 2, 2]
    f = torch.tensor([5.0, -7.0, 8.0])
    view = f[1:]
    view //= 2
    assert f.tolist() == [5.0, -4.0, 4.0]
    b = torch.tensor([True, False, True])
    other = b
    other &= torch.tensor([True, True, False])
    other |= torch.tensor([False, True, False])
    assert b.tolist() == [True, True, False]
    v = torch.tensor([1.4, -2.5, 3.7])
    v[:2].floor_()
    assert v.tolist() == pytest.approx([1.0, -3.0, 3.7])
    v.round_()
    assert v.tolist() == [1.0, -3.0, 4.0]
    v.clamp_min_(0.0).clamp_max_(2.0)
    assert v.tolist() == [1.0, 0.0, 2.0]
    w = torch.tensor([1.5, -2.5], requires_grad=True)
    y = w * 1
    y.square_()
    y.sin_()
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.cos(np.array([1.5, -2.5]) ** 2) * 2 * np.array([1.5, -2.5]),
                               rtol=1e-6)
    with pytest.raises(RuntimeError, match="leaf"):
        w %= 2


def test_negative_padding_crops_and_small_tensor_api():
    x = torch.arange(16.0).reshape(1, 1, 4, 4).requires_grad_()
    y = F.pad(x, (1, -1, -1, 2), value=3.0)        # left +1, right -1 (crop), top -1 (crop), bottom +2
    want = np.pad(np.arange(16.0).reshape(4, 4)[1:, :3], ((0, 2), (1, 0)), constant_values=3.0)
    assert y.shape == (1, 1, 5, 4) and y.detach().numpy()[0, 0].tolist() == want.tolist()
    y.sum().backward()
    grad = np.zeros((4, 4))
    grad[1:, :3] = 1.0
    assert x.grad.numpy()[0, 0].tolist() == grad.tolist()
    v = torch.arange(24.0).reshape(2, 3, 4)
    assert v.var(correction=0).item() == pytest.approx(np.arange(24.0).var())
    np.testing.assert_allclose(v.std(1, correction=2).numpy(), np.arange(24.0).reshape(2, 3, 4).std(1, ddof=2),
                               rtol=1e-6)
    parts = v.split([1, 2], 1)
    assert [p.shape for p in parts] == [(2, 1, 4), (2, 2, 4)] and parts[1][0, 0, 0].item() == 4.0
    with pytest.raises(RuntimeError, match="split_sizes to sum exactly to 3"):
        v.split([1, 1], 1)
    m = torch.arange(6.0).reshape(2, 3)
    assert m.where(m > 2, torch.tensor(0.0)).tolist() == [[0.0, 0.0, 0.0], [3.0, 4.0, 5.0]]
    assert m.index_select(1, torch.tensor([2, 0])).tolist() == [[2.0, 0.0], [5.0, 3.0]]
    assert torch.index_select(m, 0, torch.tensor([1])).tolist() == [[3.0, 4.0, 5.0]]
    assert torch.tensor([3.0, 1.0, 3.0, 2.0, 1.0]).sort(stable=True).indices.tolist() == [1, 4, 3, 0, 2]
    # (values, indices) results are named after their function, as torch.return_types.max and friends
    assert [type(r).__name__ for r in (m.max(1), m.min(0), m.sort(1), m.topk(2))] == ["max", "min", "sort", "topk"]
    assert m.max(1).values.tolist() == [2.0, 5.0] and m.topk(2).indices.tolist() == [[2, 1], [2, 1]]


def test_scatter_writes_and_accumulates_along_a_dim():
    labels = torch.tensor([2, 0, 1])
    one_hot = torch.zeros(3, 4).scatter_(1, labels.unsqueeze(1), 1)       # the one-hot idiom
    assert one_hot.tolist() == np.eye(4)[[2, 0, 1]].tolist()
    x = torch.arange(12.0).reshape(3, 4).requires_grad_()
    src = torch.tensor([[10.0, 20.0], [30.0, 40.0], [50.0, 60.0]], requires_grad=True)
    index = torch.tensor([[0, 3], [1, 2], [3, 0]])
    out = x.scatter(1, index, src)
    want = np.arange(12.0).reshape(3, 4)
    for i, row in enumerate([[0, 3], [1, 2], [3, 0]]):
        want[i, row] = [[10.0, 20.0], [30.0, 40.0], [50.0, 60.0]][i]
    assert out.tolist() == want.tolist()
    g = np.arange(12.0).reshape(3, 4)
    out.backward(torch.tensor(g))
    written = np.zeros((3, 4), bool)
    for i, row in enumerate([[0, 3], [1, 2], [3, 0]]):
        written[i, row] = True
    assert x.grad.tolist() == np.where(written, 0.0, g).tolist()
    assert src.grad.tolist() == np.take_along_axis(g, np.array([[0, 3], [1, 2], [3, 0]]), 1).tolist()
    acc = torch.zeros(2, 3).scatter_add(0, torch.tensor([[0, 1], [0, 0]]), torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert acc.tolist() == [[4.0, 4.0, 0.0], [0.0, 2.0, 0.0]]
    with pytest.raises(NotImplementedError, match="writes one position twice"):
        torch.zeros(2, 3).scatter(1, torch.tensor([[1, 1], [0, 2]]), torch.ones(2, 2))
    with pytest.raises(IndexError, match="out of bounds"):
        torch.zeros(3).scatter_(0, torch.tensor([5]), 1.0)
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        torch.zeros(3, dtype=torch.int64).scatter_add(0, torch.tensor([1]), torch.tensor([1.5]))


def test_index_add_adds_slices_at_an_index():
    x = torch.zeros(5)
    x.index_add_(0, torch.tensor([0, 2, 2]), torch.tensor([1.0, 2.0, 3.0]))
    assert x.tolist() == [1.0, 0.0, 5.0, 0.0, 0.0]
    base = torch.arange(12.0).reshape(3, 4).requires_grad_()
    src = torch.ones(3, 2, requires_grad=True)
    out = base.index_add(1, torch.tensor([3, 1]), src * 2, alpha=0.5)
    want = np.arange(12.0).reshape(3, 4)
    want[:, [3, 1]] += 1.0
    assert out.tolist() == want.tolist()
    g = np.arange(12.0).reshape(3, 4)
    out.backward(torch.tensor(g))
    assert base.grad.tolist() == g.tolist() and src.grad.tolist() == g[:, [3, 1]].tolist()
    with pytest.raises(RuntimeError, match="must have the same scalar type"):
        torch.zeros(3).index_add_(0, torch.tensor([0]), torch.ones(1, dtype=torch.float64))


def test_floor_mod_gradient_divides_as_each_library():
    """d(x % y)/dy = -(x // y), with each library's floor division: at 1.0 % 0.1 PyTorch's is 9 (CPython's
    algorithm), TF's 10 (floor(x / y))."""
    a = torch.tensor([1.0], dtype=torch.float64)
    b = torch.tensor([0.1], dtype=torch.float64, requires_grad=True)
    (a % b).sum().backward()
    assert b.grad.tolist() == [-9.0]
    with tf.Graph().as_default():
        y = tf.constant(np.array([0.1]))
        grads = tf.gradients(tf.math.floormod(tf.constant(np.array([1.0])), y), [y])
        op_grads = tf.gradients(tf.constant(np.array([1.0])) % y, [y])
        with tf.Session() as sess:
            assert sess.run(grads)[0].tolist() == sess.run(op_grads)[0].tolist() == [-10.0]


def test_maximum_minimum_and_clamps_keep_the_first_of_a_signed_zero_tie():
    """TF's and PyTorch's max(a, b) and min(a, b) give a on a tie, so max(-0.0, 0.0) is -0.0 (NumPy's gives
    +0.0); clamps and relu6 inherit it.  Planned (in place, fused) and unplanned runs alike; NaN from either
    side."""
    a = np.float32([-0.0, 0.0, -0.0, 0.0, np.nan, 1.0])
    b = np.float32([0.0, -0.0, -0.0, 0.0, 1.0, np.nan])
    first = np.signbit(a[:4])
    for fn in (torch.maximum, torch.minimum):
        got = fn(torch.tensor(a), torch.tensor(b)).numpy()
        assert np.array_equal(np.signbit(got[:4]), first) and np.isnan(got[4:]).all()
    assert np.signbit(torch.tensor(a[:4]).clamp(min=0.0).numpy()).tolist() == first.tolist()
    assert np.signbit(F.relu6(torch.tensor(a[:4])).numpy()).tolist() == first.tolist()
    for optimize in (True, False):
        tf.reset_default_graph()
        pa, pb = tf.placeholder(tf.float32, [6]), tf.placeholder(tf.float32, [6])
        outs = [tf.maximum(pa, pb) * 1.0, tf.minimum(pa, pb) * 1.0, tf.clip_by_value(pa, 0.0, 1.0)]
        config = None if optimize else tf.ConfigProto(graph_options=tf.GraphOptions(
            optimizer_options=tf.OptimizerOptions(opt_level=tf.OptimizerOptions.L0)))
        with tf.Session(config=config) as sess:
            for _ in range(2):          # the second run is planned (buffers reused, in place)
                mx, mn, clip = sess.run(outs, {pa: a, pb: b})
        assert np.signbit(mx[:4]).tolist() == first.tolist() == np.signbit(mn[:4]).tolist()
        assert np.isnan(mx[4:]).all() and np.isnan(mn[4:]).all()
        assert np.signbit(clip[:4]).tolist() == first.tolist()
