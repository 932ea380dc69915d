"""PyTorch's tiling, rolling, rotating and diagonal functions, trunc/frac, addcmul/addcdiv and meshgrid in the
eager frontend: values against NumPy's own functions (or hand values), gradients against float64 central
differences, errors as PyTorch words them; the reference test compares the bits with PyTorch itself."""
import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

import backends
import eager_api as torch
from backends import numba_kernels
from eager_api.tensor import _vector_bytes
from tests.helpers import eager_fd_check

R = np.random.default_rng(5)


def test_repeat_and_tile_copy_as_numpy_tile_and_sum_the_gradient_of_the_copies():
    x = R.normal(size=(2, 3))
    t = torch.tensor(x)
    assert np.array_equal(t.repeat(2, 1, 3).numpy(), np.tile(x, (2, 1, 3)))
    assert np.array_equal(t.repeat(1, 1).numpy(), x) and t.repeat(0, 2).shape == (0, 6)
    assert np.array_equal(t.tile((2,)).numpy(), np.tile(x, (1, 2)))      # fewer dims: ones in front
    assert np.array_equal(torch.tile(t, (3, 1, 1)).numpy(), np.tile(x, (3, 1, 1)))
    g = torch.tensor(x, requires_grad=True)
    g.repeat(2, 3).backward(torch.ones(4, 9, dtype=torch.float64))
    assert g.grad.tolist() == [[6.0] * 3] * 2        # each value appears 2 * 3 times
    eager_fd_check(lambda a: a.repeat(2, 1, 2), [x])
    with pytest.raises(RuntimeError, match="can not be smaller than number of dimensions"):
        t.repeat(2)
    with pytest.raises(RuntimeError, match="negative dimension"):
        t.repeat(1, -1)


def test_roll_shifts_like_numpy_roll_and_moves_the_gradient_back():
    x = R.normal(size=(3, 4))
    t = torch.tensor(x)
    for shifts, dims in ((1, 0), (-1, 1), ((2, -5), (0, 1)), (7, 1), (0, 0)):
        assert np.array_equal(t.roll(shifts, dims).numpy(), np.roll(x, shifts, dims)), (shifts, dims)
    assert np.array_equal(torch.roll(t, 5).numpy(), np.roll(x, 5))       # no dims: the flattened tensor
    same = t.roll(0, 0)
    same[0, 0] = 100.0
    assert t[0, 0].item() == x[0, 0]                                     # a copy even when nothing moves
    eager_fd_check(lambda a: a.roll((1, -2), (0, 1)), [x])
    with pytest.raises(RuntimeError, match="shifts and dimensions must align"):
        t.roll((1, 2), 0)


def test_moving_swapping_flipping_and_rotating_dims_as_numpy():
    x = R.normal(size=(2, 3, 4))
    t = torch.tensor(x)
    assert np.array_equal(t.movedim(0, -1).numpy(), np.moveaxis(x, 0, -1))
    assert np.array_equal(torch.moveaxis(t, (0, 1), (2, 0)).numpy(), np.moveaxis(x, (0, 1), (2, 0)))
    assert np.array_equal(t.swapaxes(0, 2).numpy(), np.swapaxes(x, 0, 2))
    assert np.array_equal(torch.swapdims(t, 1, 2).numpy(), np.swapaxes(x, 1, 2))
    assert np.array_equal(t.fliplr().numpy(), np.fliplr(x)) and np.array_equal(t.flipud().numpy(), np.flipud(x))
    for k in (-3, -1, 0, 1, 2, 3, 5):
        assert np.array_equal(t.rot90(k, (1, 2)).numpy(), np.rot90(x, k, (1, 2))), k
    assert np.array_equal(torch.rot90(t).numpy(), np.rot90(x))
    assert np.array_equal(t[0].broadcast_to((2, 3, 4)).numpy(), np.broadcast_to(x[0], (2, 3, 4)))
    assert np.array_equal(t.unflatten(2, (2, -1)).numpy(), x.reshape(2, 3, 2, 2))
    eager_fd_check(lambda a: a.rot90(1, (0, 2)), [x])
    with pytest.raises(RuntimeError, match="expected rotation dims to be different"):
        t.rot90(1, (1, -2))
    with pytest.raises(RuntimeError, match="Input must be >= 2-d"):
        t[0, 0].fliplr()
    with pytest.raises(RuntimeError, match="movedim: Invalid source or destination dims"):
        t.movedim((0, 1), 2)


def test_diag_builds_and_reads_diagonals_as_numpy():
    v = R.normal(size=4)
    m = R.normal(size=(3, 5))
    for k in (-5, -2, 0, 1, 3, 6):
        assert np.array_equal(torch.tensor(v).diag(k).numpy(), np.diag(v, k)), k
        assert np.array_equal(torch.diag(torch.tensor(m), k).numpy(), np.diag(m, k)), k
    eager_fd_check(lambda a: a.diag(-1), [v])
    eager_fd_check(lambda a: a.diag(1), [m])
    d = torch.tensor(m).diag()
    d[0] = 100.0
    assert torch.tensor(m)[0, 0].item() == m[0, 0]
    with pytest.raises(RuntimeError, match="Supports 1D or 2D tensors. Got 3D"):
        torch.zeros(2, 2, 2).diag()


def test_trunc_and_frac_round_toward_zero_with_cs_signed_zeros():
    x = np.array([-2.5, -0.3, -0.0, 0.0, 0.7, 3.0, np.inf, -np.inf, np.nan], np.float32)
    t = torch.tensor(x, requires_grad=True)
    got = t.trunc()
    want = np.array([math.trunc(v) if math.isfinite(v) else v for v in x.astype(np.float64)], np.float32)
    assert np.array_equal(got.detach().numpy(), want, equal_nan=True)
    assert np.array_equal(np.signbit(got.detach().numpy()), np.signbit([-2, -0.0, -0.0, 0, 0, 3, 1, -1, 0]))
    got.sum().backward()
    assert t.grad.tolist() == [0.0] * len(x)          # trunc's gradient is 0, as PyTorch's
    assert torch.fix(torch.tensor([-1.5])).item() == -1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # inf - inf
        frac = torch.tensor(x).frac().numpy()
    assert np.array_equal(frac[:6], np.float32([-0.5, -0.3, 0.0, 0.0, 0.7, 0.0]))
    assert not np.signbit(frac[2:4]).any() and np.isnan(frac[6:]).all()    # -0.0 - -0.0 is +0.0
    f = torch.tensor(x[:6], requires_grad=True)
    f.frac().sum().backward()
    assert f.grad.tolist() == [1.0] * 6
    assert torch.tensor([3, -3]).trunc().tolist() == [3, -3]
    y = torch.tensor([-1.7, 2.2])
    y.trunc_()
    assert y.tolist() == [-1.0, 2.0]
    with pytest.raises(NotImplementedError, match="\"frac_cpu\" not implemented for 'Long'"):
        torch.tensor([1, 2]).frac()


def test_addcmul_fuses_its_multiply_and_add_and_addcdiv_divides_then_adds():
    a, b, c = (R.normal(size=(64, 33)).astype(np.float32) for _ in range(3))
    wide = lambda v: v.astype(np.float64)       # noqa: E731  (a float32 product is exact in float64)
    scaled = np.float32(0.3) * b
    # one rounding of the exact a + (0.3 * b) * c (up to a double-rounding tie, which these values avoid)
    want = (wide(a) + wide(scaled) * wide(c)).astype(np.float32)
    got = torch.tensor(a).addcmul(torch.tensor(b), torch.tensor(c), value=0.3).numpy()
    assert np.array_equal(got, want)
    assert not np.array_equal(want, a + scaled * c)     # the two-rounding sum differs somewhere
    row = torch.addcmul(torch.tensor(a), torch.tensor(b[:1]), torch.tensor(c)).numpy()     # broadcast
    assert np.array_equal(row, (wide(a) + wide(np.broadcast_to(b[:1], a.shape)) * wide(c)).astype(np.float32))
    div = torch.tensor(a).addcdiv(torch.tensor(b), torch.tensor(np.abs(c) + 1), value=-2.0).numpy()
    assert np.array_equal(div, a + np.float32(-2.0) * b / (np.abs(c) + 1))
    x = [R.normal(size=(2, 3)), R.normal(size=(1, 3)), R.normal(size=(2, 1))]
    eager_fd_check(lambda p, q, r: p.addcmul(q, r, value=-1.5), x)
    eager_fd_check(lambda p, q, r: p.addcdiv(q, r * r + 1, value=0.5), x)
    m = torch.tensor(a[:2, :3].copy())
    m.addcmul_(torch.tensor(b[:2, :3]), torch.tensor(c[:2, :3]))
    assert np.array_equal(m.numpy(), (wide(a[:2, :3]) + wide(b[:2, :3]) * wide(c[:2, :3])).astype(np.float32))
    with pytest.raises(RuntimeError, match="Integer division with addcdiv is no longer supported"):
        torch.tensor([1]).addcdiv(torch.tensor([1]), torch.tensor([2]))


def test_the_backends_fma_of_arrays_rounds_once_in_the_compiled_kernel_and_the_float64_path():
    x, y, z = (R.normal(size=1000).astype(np.float32) for _ in range(3))
    want = (x.astype(np.float64) * y + z).astype(np.float32)
    be = backends.get_backend("cpu")
    got = be.fma(x, y, z, np.empty_like(x))
    assert np.array_equal(got, want)
    slow = backends.base.ArrayBackend.fma(be, x, y, z, np.empty_like(x))        # NumPy's float64 path
    assert np.array_equal(slow, want)
    if numba_kernels.usable(np.float64):
        d = [R.normal(size=50) for _ in range(3)]
        out = np.empty(50)
        assert numba_kernels.fma(d[0], d[1], d[2], out)
        # exact products of float64 need more bits: exact rationals, rounded once by float()
        assert out.tolist() == [float(Fraction(p) * Fraction(q) + Fraction(r)) for p, q, r in zip(*d)]


def test_outer_meshgrid_and_sizes():
    a, b = R.normal(size=3), R.normal(size=4)
    assert np.array_equal(torch.outer(torch.tensor(a), torch.tensor(b)).numpy(), np.outer(a, b))
    assert np.array_equal(torch.tensor(a).ger(torch.tensor(b)).numpy(), np.outer(a, b))
    eager_fd_check(lambda p, q: p.outer(q), [a, b])
    c = R.normal(size=2)
    for indexing in ("ij", "xy"):
        got = torch.meshgrid(torch.tensor(a), torch.tensor(b), torch.tensor(c), indexing=indexing)
        want = np.meshgrid(a, b, c, indexing=indexing)
        assert all(np.array_equal(g.numpy(), w) for g, w in zip(got, want)), indexing
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        one, two = torch.meshgrid([torch.tensor(a), torch.tensor(b)])
    assert one.shape == (3, 4) and np.array_equal(two.numpy(), np.meshgrid(a, b, indexing="ij")[1])
    with pytest.raises(RuntimeError, match='indexing must be one of "xy" or "ij"'):
        torch.meshgrid(torch.tensor(a), indexing="yx")
    with pytest.raises(RuntimeError, match="outer: Expected 1-D argument self, but got 2-D"):
        torch.outer(torch.zeros(2, 2), torch.zeros(2))
    t = torch.zeros(2, 3, dtype=torch.float64)
    assert t.nelement() == 6 and t.element_size() == 8 and torch.zeros(1, dtype=torch.int32).element_size() == 4


F = torch.nn.functional


def test_padding_modes_gather_numpys_pads_and_add_the_gradient_back_where_copies_came_from():
    x = R.normal(size=(2, 3, 4, 5))
    t = torch.tensor(x)
    for mode, np_mode in (("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")):
        got = F.pad(t, (1, 2, 3, 0), mode=mode).numpy()
        assert np.array_equal(got, np.pad(x, [(0, 0), (0, 0), (3, 0), (1, 2)], mode=np_mode)), mode
    assert np.array_equal(torch.nn.ReflectionPad1d((2, 1))(t[0]).numpy(),
                          np.pad(x[0], [(0, 0), (0, 0), (2, 1)], mode="reflect"))
    assert np.array_equal(torch.nn.ReplicationPad2d(2)(t).numpy(), np.pad(x, [(0, 0)] * 2 + [(2, 2)] * 2, "edge"))
    assert np.array_equal(torch.nn.ZeroPad2d((1, 0, 0, 2))(t).numpy(), np.pad(x, [(0, 0)] * 2 + [(0, 2), (1, 0)]))
    assert np.array_equal(torch.nn.ConstantPad1d(1, -2.5)(t[0]).numpy(),
                          np.pad(x[0], [(0, 0), (0, 0), (1, 1)], constant_values=-2.5))
    small = R.normal(size=(1, 2, 3, 3))
    for mode in ("reflect", "replicate", "circular"):
        eager_fd_check(lambda a, m=mode: F.pad(a, (2, 1, 1, 2), mode=m), [small])
    # reflecting 3 values by 1 reads them as [1, 0, 1, 2, 1]: the middle one three times along each dim
    g = torch.tensor(small, requires_grad=True)
    F.pad(g, (1, 1, 1, 1), mode="reflect").sum().backward()
    assert g.grad[0, 0].tolist() == [[1.0, 3.0, 1.0], [3.0, 9.0, 3.0], [1.0, 3.0, 1.0]]
    with pytest.raises(RuntimeError, match="Padding size should be less than the corresponding input dimension"):
        F.pad(t, (5, 0, 0, 0), mode="reflect")
    with pytest.raises(RuntimeError, match="doesn't take in value argument"):
        F.pad(t, (1, 1), mode="replicate", value=1.0)
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 1D input tensor"):
        F.pad(t[0, 0, 0], (1, 1), mode="reflect")
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(t, (6, 0, 0, 0), mode="circular")
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode bogus"):
        F.pad(t, (1, 1), mode="bogus")


def test_pixel_shuffle_moves_channel_blocks_into_space_and_back():
    x = np.arange(2 * 8 * 2 * 3, dtype=np.float64).reshape(2, 8, 2, 3)
    up = torch.nn.PixelShuffle(2)(torch.tensor(x)).numpy()
    assert up.shape == (2, 2, 4, 6)
    for n, c, h, w in np.ndindex(up.shape):     # out[c, h, w] = in[c * 4 + (h % 2) * 2 + w % 2, h // 2, w // 2]
        assert up[n, c, h, w] == x[n, c * 4 + (h % 2) * 2 + w % 2, h // 2, w // 2]
    back = torch.nn.PixelUnshuffle(2)(torch.tensor(up)).numpy()
    assert np.array_equal(back, x)
    eager_fd_check(lambda a: F.pixel_shuffle(a, 2), [R.normal(size=(1, 4, 2, 2))])
    with pytest.raises(RuntimeError, match=r"input.size\(-3\)=6 is not divisible by 4"):
        F.pixel_shuffle(torch.zeros(1, 6, 2, 2), 2)


def test_prelu_and_the_small_activations_against_their_formulas():
    x = R.normal(size=(2, 3, 4)) * 2
    x[0, 0, :3] = [0.0, 0.3, -0.3]
    t = torch.tensor(x)
    w = np.array([0.25, -0.5, 2.0])
    got = F.prelu(t, torch.tensor(w)).numpy()
    assert np.array_equal(got, np.where(x > 0, x, w[None, :, None] * x))
    assert np.array_equal(F.prelu(t, torch.tensor(w[:1])).numpy(), np.where(x > 0, x, 0.25 * x))
    eager_fd_check(lambda a, b: F.prelu(a, b), [x[:, :, 1:], w])
    layer = torch.nn.PReLU(3)
    assert layer.weight.tolist() == [0.25] * 3 and layer.weight.requires_grad
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size"):
        F.prelu(t, torch.zeros(2, dtype=torch.float64))
    formulas = {
        "logsigmoid": (F.logsigmoid, lambda v: -np.logaddexp(0, -v)),
        "softsign": (F.softsign, lambda v: v / (1 + np.abs(v))),
        "tanhshrink": (F.tanhshrink, lambda v: v - np.tanh(v)),
        "hardshrink": (lambda a: F.hardshrink(a, 0.3), lambda v: np.where(np.abs(v) <= 0.3, 0, v)),
        "softshrink": (lambda a: F.softshrink(a, 0.3),
                       lambda v: np.where(v > 0.3, v - 0.3, np.where(v < -0.3, v + 0.3, 0))),
        "threshold": (lambda a: F.threshold(a, 0.1, 20.0), lambda v: np.where(v > 0.1, v, 20.0)),
        "celu": (lambda a: F.celu(a, 0.7), lambda v: np.where(v > 0, v, 0.7 * np.expm1(v / 0.7))),
        "softmin": (lambda a: F.softmin(a, 1), lambda v: np.exp(-v) / np.exp(-v).sum(1, keepdims=True)),
        "glu": (lambda a: F.glu(a, -1), lambda v: v[..., :2] / (1 + np.exp(-v[..., 2:]))),
    }
    for name, (fn, ref) in formulas.items():
        np.testing.assert_allclose(fn(t).numpy(), ref(x), rtol=1e-12, atol=1e-15, err_msg=name)
        smooth = x + 0.05 * np.sign(x) * (np.abs(np.abs(x) - 0.3) < 0.05)     # off the shrinks' kinks
        eager_fd_check(fn, [np.where(np.abs(smooth) < 1e-3, 0.5, smooth)])
    # at 0 the kinks of min and abs share logsigmoid's gradient: sigmoid(-0) = 1/2, as ATen's
    z = torch.tensor([0.0], requires_grad=True)
    F.logsigmoid(z).sum().backward()
    assert z.grad.tolist() == [0.5]
    with pytest.raises(RuntimeError, match="Halving dimension must be even"):
        F.glu(torch.zeros(2, 3))
    with pytest.raises(RuntimeError, match=r"lambda must be in range \[0, 3.40282e\+38\] for input dtype Float"):
        F.softshrink(torch.zeros(2), -1.0)


def test_instance_norm_normalizes_each_sample_and_channel_and_tracks_the_batch_mean_of_their_statistics():
    x = R.normal(size=(3, 2, 4, 5)) * 3 + 1
    mean = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    y = torch.nn.InstanceNorm2d(2)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-10, atol=1e-12)
    w, b = R.normal(size=2), R.normal(size=2)
    got = F.instance_norm(torch.tensor(x), weight=torch.tensor(w), bias=torch.tensor(b), eps=1e-3).numpy()
    want = (x - mean) / np.sqrt(var + 1e-3) * w[:, None, None] + b[:, None, None]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    eager_fd_check(lambda a: F.instance_norm(a), [R.normal(size=(2, 2, 2, 3))])
    layer = torch.nn.InstanceNorm2d(2, track_running_stats=True, momentum=0.5, dtype=torch.float64)
    layer(torch.tensor(x))
    n = 20                                    # running variance: unbiased, per sample, averaged over the batch
    np.testing.assert_allclose(layer.running_mean.numpy(), 0.5 * mean.mean(axis=0).ravel(), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var.numpy(), 0.5 + 0.5 * (var * n / (n - 1)).mean(axis=0).ravel(),
                               rtol=1e-12)
    layer.eval()
    frozen = layer(torch.tensor(x[:1])).numpy()
    np.testing.assert_allclose(frozen, (x[:1] - layer.running_mean.numpy()[:, None, None])
                               / np.sqrt(layer.running_var.numpy()[:, None, None] + 1e-5), rtol=1e-12)
    one = torch.nn.InstanceNorm1d(2)(torch.tensor(x[0, :, 0]))       # one (C, L) sample
    np.testing.assert_allclose(one.numpy(), (x[0, :, 0] - x[0, :, 0].mean(1, keepdims=True))
                               / np.sqrt(x[0, :, 0].var(1, keepdims=True) + 1e-5), rtol=1e-10)
    assert repr(torch.nn.InstanceNorm2d(2)) == ("InstanceNorm2d(2, eps=1e-05, momentum=0.1, affine=False, bias=False, "
                                                "track_running_stats=False)")
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
        torch.nn.InstanceNorm2d(2)(torch.zeros(2, 2))


def _exact_fma(a, b, c):
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def test_arange_rounds_as_atens_cpu_kernel_does_not_as_numpy():
    """ATen's arange: start + step * i in double, multiply and add fused, rounded to the dtype; inside its
    vectorized blocks (two vectors of 32 bytes on AVX2) each vector's first value is rounded first and the
    rest add k * step to it.  The reference is that rule in exact rationals."""
    start, step, n = -3.0, 0.37, 22
    width = _vector_bytes() // 4
    want = []
    for i in range(n):
        if i < (n // (2 * width)) * 2 * width:
            base = float(np.float32(_exact_fma(step, i - i % width, start)))
            want.append(np.float32(_exact_fma(i % width, step, base)))
        else:
            want.append(np.float32(_exact_fma(step, i, start)))
    got = torch.arange(-3, 5, 0.37).numpy()
    assert got.dtype == np.float32 and got.tolist() == [float(v) for v in want]
    assert not np.array_equal(got, np.arange(-3, 5, 0.37, dtype=np.float32))        # NumPy's differ
    d = torch.arange(0.1, 2.9, 0.013, dtype=torch.float64).numpy()
    assert len(d) == math.ceil((2.9 - 0.1) / 0.013)
    assert torch.arange(5).tolist() == [0, 1, 2, 3, 4] and torch.arange(5).dtype == torch.int64
    assert torch.arange(10, 0, -3).tolist() == [10, 7, 4, 1]
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        torch.arange(0, 1, 0)
    with pytest.raises(RuntimeError, match="upper bound and lower bound inconsistent with step sign"):
        torch.arange(0, 5, -1)


def test_linspace_fills_each_half_from_its_own_end_with_one_rounding():
    got = torch.linspace(-1, 2, 8).numpy()
    step = np.float32(3) / np.float32(7)
    want = [np.float32(_exact_fma(float(step), i, -1.0)) if i < 4 else np.float32(_exact_fma(-float(step), 7 - i, 2.0))
            for i in range(8)]
    assert got.tolist() == [float(v) for v in want]
    assert got.tolist() != np.linspace(-1, 2, 8, dtype=np.float32).tolist()      # NumPy's differ here
    assert got[0] == -1.0 and got[-1] == 2.0
    assert torch.linspace(2, -7, 9, dtype=torch.int64).tolist() == [2, 0, 0, -1, -2, -3, -4, -5, -7]
    assert torch.linspace(0, 1, 1).tolist() == [0.0] and torch.linspace(0, 1, 0).shape == (0,)
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        torch.linspace(0, 1, -2)


def test_one_dimensional_convolution_and_pooling_against_loops():
    x = R.normal(size=(2, 4, 11))
    w = R.normal(size=(6, 2, 3))
    b = R.normal(size=6)
    got = F.conv1d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=2, padding=1, groups=2).numpy()
    xp = np.pad(x, [(0, 0), (0, 0), (1, 1)])
    want = np.zeros((2, 6, 6))
    for n, o, t in np.ndindex(want.shape):
        g = o // 3                                      # output channels 0-2 read inputs 0-1, 3-5 read 2-3
        want[n, o, t] = (xp[n, 2 * g:2 * g + 2, 2 * t:2 * t + 3] * w[o]).sum() + b[o]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    eager_fd_check(lambda a, k: F.conv1d(a, k, padding="same", dilation=2), [x[:1, :2, :7], w[:2, :, :]])
    layer = torch.nn.Conv1d(4, 3, 5, dtype=torch.float64)
    assert layer.weight.shape == (3, 4, 5) and layer(torch.tensor(x)).shape == (2, 3, 7)
    assert layer(torch.tensor(x[0])).shape == (3, 7)                       # an unbatched (C, L) input
    pooled = torch.nn.MaxPool1d(3, 2, 1)(torch.tensor(x)).numpy()
    xm = np.pad(x, [(0, 0), (0, 0), (1, 1)], constant_values=-np.inf)
    assert np.array_equal(pooled, np.stack([xm[..., 2 * t:2 * t + 3].max(-1) for t in range(6)], -1))
    values, idx = F.max_pool1d(torch.tensor(x), 2, return_indices=True)
    assert np.array_equal(np.take_along_axis(x, idx.numpy(), -1), values.numpy())
    avg = torch.nn.AvgPool1d(4, 3)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(avg, np.stack([x[..., 3 * t:3 * t + 4].mean(-1) for t in range(3)], -1), rtol=1e-12)
    assert repr(torch.nn.AvgPool1d(3, 2)) == "AvgPool1d(kernel_size=(3,), stride=(2,), padding=(0,))"
    with pytest.raises(RuntimeError, match="Expected 2D \\(unbatched\\) or 3D \\(batched\\) input to conv1d"):
        F.conv1d(torch.zeros(1, 1, 1, 4), torch.zeros(1, 1, 1))


def test_atan2_quadrants_aliases_and_in_place_twins():
    y = torch.tensor([1.0, 1.0, -1.0, -1.0, 0.0, -0.0])
    x = torch.tensor([1.0, -1.0, -1.0, 1.0, -1.0, -1.0])
    want = [math.atan2(a, b) for a, b in zip(y.tolist(), x.tolist())]      # Python's own atan2 (C99 signs)
    assert torch.atan2(y, x).tolist() == pytest.approx(want, rel=1e-7) and y.arctan2(x).tolist()[5] < 0
    assert torch.atan2(torch.tensor([1, -1]), torch.tensor([0, 0])).tolist() == pytest.approx([math.pi / 2,
                                                                                               -math.pi / 2])
    v = torch.tensor([0.5])
    assert v.arcsin().item() == pytest.approx(math.asin(0.5)) and torch.arccos(v).item() == pytest.approx(math.acos(0.5))
    w = torch.tensor([8.0, 100.0])
    w.log2_()
    assert w.tolist() == pytest.approx([3.0, math.log2(100.0)])
    z = torch.tensor([2.0])
    z.exp2_()
    assert z.tolist() == [4.0]


def test_prod_values_and_the_gradient_at_zeros():
    x = np.array([[2.0, -3.0, 0.5], [4.0, 0.0, 0.0]])
    t = torch.tensor(x, requires_grad=True)
    p = t.prod(1)
    assert p.tolist() == [-3.0, 0.0]
    p.backward(torch.tensor([1.0, 1.0], dtype=torch.float64))
    # each factor's gradient is the product of the others: a single zero leaves the rest of its row's, two none
    assert t.grad.tolist() == [[-1.5, 1.0, -6.0], [0.0, 0.0, 0.0]]
    one = torch.tensor([[2.0, 0.0, 5.0]], requires_grad=True)
    one.prod().backward()
    assert one.grad.tolist() == [[0.0, 10.0, 0.0]]                    # not NaN: no division by the zero
    eager_fd_check(lambda a: a.prod(0, keepdim=True), [R.normal(size=(3, 2)) + 0.5])
    assert torch.tensor([[1, 2], [3, 4]]).prod().item() == 24 and torch.tensor([True, True]).prod().dtype == torch.int64
    assert torch.tensor([2.0, 3.0]).prod(dtype=torch.float64).dtype == torch.float64
    g = torch.tensor([1.5, 2.0], requires_grad=True)
    first, = torch.autograd.grad(g.prod(), g, create_graph=True)
    with pytest.raises(NotImplementedError, match="second derivative of a product"):
        first.sum().backward()


def test_fmod_keeps_the_sign_of_the_dividend_and_lerp_rounds_once_from_the_nearer_end():
    x = torch.tensor([5.5, -5.5, 5.5, -5.5, -0.0, 7.0], requires_grad=True)
    y = torch.tensor([2.0, 2.0, -2.0, -2.0, 3.0, 0.5], requires_grad=True)
    r = torch.fmod(x, y)
    assert r.tolist() == [math.fmod(a, b) for a, b in zip(x.tolist(), y.tolist())]       # C's fmod
    assert np.signbit(r.detach().numpy()[4])
    r.sum().backward()
    assert x.grad.tolist() == [1.0] * 6
    assert y.grad.tolist() == [-math.trunc(a / b) for a, b in zip(x.tolist(), y.tolist())]
    assert torch.tensor([7, -7]).fmod(3).tolist() == [1, -1]
    with pytest.raises(RuntimeError, match="integer division by zero"):
        torch.fmod(torch.tensor([7]), torch.tensor([0]))
    a = R.normal(size=64).astype(np.float32)
    b = R.normal(size=64).astype(np.float32)
    for w in (0.3, 0.8, -0.2):
        got = torch.tensor(a).lerp(torch.tensor(b), w).numpy()
        w32, diff = np.float32(w), b - a
        # one rounding of the exact start + w (end - start), or of end + (w - 1) (end - start) for |w| >= 0.5
        coeff, base = (w32, a) if abs(w32) < 0.5 else (w32 - np.float32(1), b)
        want = [np.float32(float(Fraction(float(c)) * Fraction(float(d)) + Fraction(float(e))))
                for c, d, e in np.broadcast(coeff, diff, base)]
        assert got.tolist() == [float(v) for v in want], w
    eager_fd_check(lambda s, e, w: s.lerp(e, w), [R.normal(size=5), R.normal(size=5), R.random(size=5)])
    ema = torch.tensor([1.0, 2.0])
    ema.lerp_(torch.tensor([3.0, 6.0]), 0.25)
    assert ema.tolist() == [1.5, 3.0]


def test_median_is_the_lower_middle_value_with_pytorchs_nan_and_gradient_rules():
    x = np.array([[3.0, 1.0, 4.0, 1.5], [9.0, 2.0, 6.0, 5.0]])
    t = torch.tensor(x, requires_grad=True)
    values, idx = t.median(1)
    assert values.tolist() == [1.5, 5.0] and idx.tolist() == [3, 3]          # the 2nd smallest of 4 (lower median)
    assert torch.median(torch.tensor(x)).item() == sorted(x.ravel())[3]
    m = torch.tensor([[2.0, 1.0, 2.0], [2.0, 7.0, 0.0]], requires_grad=True)
    torch.median(m).backward()                    # median 2.0, held three times: a third of the gradient each
    third = float(np.float32(1) / np.float32(3))
    assert m.grad.tolist() == [[third, 0.0, third], [third, 0.0, 0.0]]
    values.sum().backward()
    assert t.grad.tolist() == [[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]]
    n = torch.tensor([[1.0, float("nan"), 3.0, float("nan")], [4.0, 2.0, 8.0, 6.0]])
    v, i = n.median(1)
    assert math.isnan(v.tolist()[0]) and i.tolist() == [1, 0]                 # the first NaN answers
    assert n.nanmedian(1).values.tolist() == [1.0, 4.0] and math.isnan(torch.median(n).item())
    assert torch.nanmedian(n).item() == 3.0                                  # 1, 2, 3, 4, 6, 8: the 3rd
    with pytest.raises(IndexError, match="Expected reduction dim 1 to have non-zero size"):
        torch.zeros(2, 0).median(1)


def test_einsum_against_numpy_with_gradients_and_its_refusals():
    a, b, c = R.normal(size=(2, 3, 4)), R.normal(size=(2, 4, 5)), R.normal(size=5)
    for eq, ops in (("bij,bjk->bik", (a, b)), ("bij,bjk,k->bi", (a, b, c)), ("bij,bjk", (a, b)), ("bij->j", (a,)),
                    ("i,i->", (c, c))):
        got = torch.einsum(eq, *map(torch.tensor, ops)).numpy()
        np.testing.assert_allclose(got, np.einsum(eq, *ops), rtol=1e-12, atol=1e-12, err_msg=eq)
    assert torch.einsum("ij->ji", [torch.tensor(a[0])]).shape == (4, 3)          # operands as one list
    eager_fd_check(lambda x, y, z: torch.einsum("bij,bjk,k->bi", x, y, z), [a, b, c])
    for bad, error in (("ii->i", NotImplementedError), ("...ij->...ji", NotImplementedError), ("ij->k", ValueError)):
        with pytest.raises(error):
            torch.einsum(bad, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="subscript 'j' has size 3 in operand1 but 4 elsewhere"):
        torch.einsum("ij,jk->ik", torch.zeros(2, 4), torch.zeros(3, 2))
