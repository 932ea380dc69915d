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
