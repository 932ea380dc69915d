"""The PyTorch functions filled in for real scripts (clone ... cdist, cumprod, unique, bincount): values against
NumPy or loops written out here, gradients against float64 central differences, errors as PyTorch words them."""
import math

import numpy as np
import pytest

import eager_api as torch
from tests.helpers import eager_fd_check

R = np.random.default_rng(7)


def test_clone_function_copies_and_passes_the_gradient():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.clone(x)
    with torch.no_grad():
        y[0] = 5.0
    assert x.tolist() == [1.0, 2.0]
    (torch.clone(x) * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_erf_is_math_erf_rounded_once():
    a = np.array([-3.0, -0.5, 0.0, 1e-3, 0.7, 2.5], np.float32)
    want = np.array([math.erf(float(v)) for v in a], np.float32)
    np.testing.assert_array_equal(torch.erf(torch.tensor(a)).numpy(), want)
    t = torch.tensor(a)
    assert t.erf_() is t
    np.testing.assert_array_equal(t.numpy(), want)
    assert torch.erf(torch.tensor([0, 1])).dtype == torch.float32
    eager_fd_check(torch.erf, [R.normal(size=(3, 2))])


def test_nonzero_rows_in_row_major_order():
    a = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    want = [[i, j] for i in range(2) for j in range(3) if a[i, j] != 0]
    out = torch.nonzero(torch.tensor(a))
    assert out.dtype == torch.int64 and out.tolist() == want
    rows, cols = torch.tensor(a).nonzero(as_tuple=True)
    assert rows.tolist() == [p[0] for p in want] and cols.tolist() == [p[1] for p in want]
    assert torch.nonzero(torch.zeros(2, 3)).shape == (0, 2)
    assert [t.tolist() for t in torch.nonzero(torch.tensor(3.0), as_tuple=True)] == [[0]]
    assert torch.nonzero(torch.tensor(3.0)).shape == (1, 0)


def test_masked_select_broadcasts_and_sends_the_gradient_back():
    a = R.normal(size=(2, 3))
    mask = np.array([True, False, True])
    out = torch.masked_select(torch.tensor(a), torch.tensor(mask))
    assert out.tolist() == [a[i, j] for i in range(2) for j in range(3) if mask[j]]
    eager_fd_check(lambda x: x.masked_select(torch.tensor(mask)), [a])
    with pytest.raises(RuntimeError, match="masked_select: expected BoolTensor for mask"):
        torch.masked_select(torch.tensor(a), torch.tensor([1, 0, 1]))


def test_isclose_by_hand():
    inf, nan = float("inf"), float("nan")
    a = torch.tensor([1.0, 1.0, inf, inf, nan, 0.0, 1e-9])
    b = torch.tensor([1.0 + 1e-6, 1.1, inf, -inf, nan, 1e-8, 0.0])
    assert torch.isclose(a, b).tolist() == [True, False, True, False, False, True, True]
    assert a.isclose(b, equal_nan=True).tolist()[4] is True
    assert torch.isclose(a, b, rtol=0, atol=0).tolist() == [False, False, True, False, False, False, False]
    assert torch.isclose(torch.tensor([3, 4]), torch.tensor([3, 5]), atol=0.5).tolist() == [True, False]
    assert torch.tensor([1.0, 2.0]).allclose(torch.tensor([1.0, 2.0 + 1e-6]))
    assert not torch.allclose(torch.tensor([1.0, nan]), torch.tensor([1.0, nan]))
    assert torch.allclose(torch.tensor([1.0, nan]), torch.tensor([1.0, nan]), equal_nan=True)
    with pytest.raises(RuntimeError, match="Float did not match Double"):
        torch.isclose(torch.ones(2), torch.ones(2, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="rtol must be greater than or equal to zero, but got -1"):
        torch.isclose(a, b, rtol=-1)


def test_count_nonzero_and_trace():
    a = np.array([[0, 2, 0], [1, 0, 3]])
    assert torch.count_nonzero(torch.tensor(a)).item() == 3
    assert torch.tensor(a).count_nonzero(0).tolist() == [1, 1, 1]
    assert torch.count_nonzero(torch.tensor(a), dim=(0, 1)).item() == 3
    m = R.normal(size=(3, 4))
    assert torch.trace(torch.tensor(m)).item() == pytest.approx(m[0, 0] + m[1, 1] + m[2, 2], rel=1e-15)
    t = torch.trace(torch.tensor(a, dtype=torch.int32))
    assert t.dtype == torch.int64 and t.item() == 0
    eager_fd_check(torch.trace, [m])
    with pytest.raises(RuntimeError, match="trace: expected a matrix, but got tensor with dim 1"):
        torch.trace(torch.ones(3))


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_diff_is_numpy_diff(n):
    a = R.normal(size=(3, 4))
    pre, post = R.normal(size=(3, 1)), R.normal(size=(3, 2))
    out = torch.diff(torch.tensor(a), n=n, dim=1, prepend=torch.tensor(pre), append=torch.tensor(post))
    # n = 0 gives the input itself in PyTorch (NumPy would join prepend and append)
    want = np.diff(a, n=n, axis=1, prepend=pre, append=post) if n else a
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-14)
    np.testing.assert_allclose(torch.tensor(a).diff(n, 0).numpy(), np.diff(a, n=n, axis=0), rtol=1e-14)


def test_diff_of_bools_is_exclusive_or_and_has_a_gradient():
    b = torch.tensor([True, True, False, True]).diff()
    assert b.dtype == torch.bool and b.tolist() == [False, True, True]
    eager_fd_check(lambda x: torch.diff(x, n=2, dim=0), [R.normal(size=(4, 2))])
    with pytest.raises(RuntimeError, match="order must be non-negative but got -1"):
        torch.diff(torch.ones(3), n=-1)
    with pytest.raises(RuntimeError, match="diff expects input to be at least one-dimensional"):
        torch.diff(torch.tensor(1.0))
    with pytest.raises(RuntimeError, match="diff expects prepend or append to be the same dimension as input"):
        torch.diff(torch.ones(2), prepend=torch.tensor(5.0))
    with pytest.raises(RuntimeError, match=r"input.size\(0\) = 2, but got tensor.size\(0\) = 3"):
        torch.diff(torch.ones(2, 3), prepend=torch.ones(3, 1))


def test_nansum_and_nanmean_skip_nan():
    a = R.normal(size=(3, 4))
    a[0, 1] = a[2, 2] = np.nan
    a[1, :] = np.nan
    np.testing.assert_allclose(torch.nansum(torch.tensor(a), 1).numpy(), np.nansum(a, 1), rtol=1e-15)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        want = np.nanmean(a, 1)
    np.testing.assert_allclose(torch.tensor(a).nanmean(1).numpy(), want, rtol=1e-15)
    assert torch.nanmean(torch.tensor(a)).item() == pytest.approx(np.nanmean(a), rel=1e-15)
    x = torch.tensor(a, requires_grad=True)
    x.nanmean().backward()
    count = np.sum(~np.isnan(a))
    np.testing.assert_array_equal(x.grad.numpy(), np.where(np.isnan(a), 0.0, 1.0 / count))
    assert torch.nansum(torch.tensor([1, 2])).dtype == torch.int64
    with pytest.raises(RuntimeError, match="nanmean\\(\\): expected input to have floating point"):
        torch.nanmean(torch.tensor([1, 2]))


@pytest.mark.parametrize("call", [lambda: torch.hypot(torch.ones(2), 2.0), lambda: torch.ones(2).logaddexp(1),
                                  lambda: torch.isclose(torch.ones(2), 1.0),
                                  lambda: torch.diff(torch.ones(2), prepend=1.0)])
def test_tensor_only_arguments_refuse_numbers(call):
    with pytest.raises(TypeError, match="must be Tensor, not (float|int)"):
        call()


def test_hypot_logaddexp_sgn():
    a, b = R.normal(size=(3, 4)) * 3, R.normal(size=(1, 4)) * 3
    np.testing.assert_allclose(torch.hypot(torch.tensor(a), torch.tensor(b)).numpy(), np.sqrt(a * a + b * b),
                               rtol=1e-15)
    np.testing.assert_allclose(torch.tensor(a).logaddexp(torch.tensor(b)).numpy(), np.log(np.exp(a) + np.exp(b)),
                               rtol=1e-14)
    big = torch.tensor([2e38], dtype=torch.float32)
    assert torch.hypot(big, big).item() == pytest.approx(2e38 * math.sqrt(2), rel=1e-6)     # squares would overflow
    inf = float("inf")
    ends = torch.logaddexp(torch.tensor([inf, -inf, inf, 1000.0]), torch.tensor([inf, -inf, -inf, 1000.0]))
    assert ends.tolist()[:3] == [inf, -inf, inf] and ends.tolist()[3] == pytest.approx(1000 + math.log(2))
    eager_fd_check(torch.hypot, [a, b])
    eager_fd_check(torch.logaddexp, [a, b])
    assert torch.tensor([-2.0, 0.0, 3.0]).sgn().tolist() == [-1.0, 0.0, 1.0]


@pytest.mark.parametrize("dims", [2, 0, ([2, 1], [1, 0]), ([2], [1])])
def test_tensordot_is_numpy_tensordot(dims):
    a, b = R.normal(size=(2, 3, 4)), R.normal(size=(3, 4, 5))
    if dims == ([2], [1]):
        b = R.normal(size=(3, 4, 2))
    out = torch.tensordot(torch.tensor(a), torch.tensor(b), dims=dims)
    np.testing.assert_allclose(out.numpy(), np.tensordot(a, b, axes=dims), rtol=1e-13)
    eager_fd_check(lambda x, y: torch.tensordot(x, y, dims), [a, b])


def test_tensordot_checks_sizes():
    with pytest.raises(RuntimeError, match="contracted dimensions need to match, but first has size 3 in dim 1 and "
                                           "second has size 4 in dim 0"):
        torch.tensordot(torch.ones(2, 3), torch.ones(4, 3), dims=([1], [0]))


def test_addmm_and_baddbmm():
    c, m1, m2 = R.normal(size=(1, 4)), R.normal(size=(2, 3)), R.normal(size=(3, 4))
    out = torch.addmm(torch.tensor(c), torch.tensor(m1), torch.tensor(m2), beta=0.5, alpha=2.0)
    np.testing.assert_allclose(out.numpy(), 0.5 * c + 2.0 * m1 @ m2, rtol=1e-14)
    nan_in = torch.tensor(np.full((2, 4), np.nan))
    np.testing.assert_allclose(nan_in.addmm(torch.tensor(m1), torch.tensor(m2), beta=0).numpy(), m1 @ m2, rtol=1e-14)
    eager_fd_check(lambda x, y, z: torch.addmm(x, y, z, alpha=3.0), [c, m1, m2])
    bc, b1, b2 = R.normal(size=(3, 1, 4)), R.normal(size=(3, 2, 5)), R.normal(size=(3, 5, 4))
    out = torch.baddbmm(torch.tensor(bc), torch.tensor(b1), torch.tensor(b2), beta=-1.0)
    np.testing.assert_allclose(out.numpy(), -bc + b1 @ b2, rtol=1e-13)
    eager_fd_check(lambda x, y, z: x.baddbmm(y, z, beta=2.0, alpha=0.5), [bc, b1, b2])
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)"):
        torch.addmm(torch.ones(2, 2), torch.ones(2, 3), torch.ones(2, 3))
    with pytest.raises(RuntimeError, match="batch1 must be a 3D tensor"):
        torch.baddbmm(torch.ones(2, 2), torch.ones(2, 3), torch.ones(3, 2))


@pytest.mark.parametrize("kwargs,ddof", [({}, 1), ({"unbiased": False}, 0), ({"correction": 2}, 2)])
def test_var_mean_and_std_mean(kwargs, ddof):
    a = R.normal(size=(3, 5))
    var, mean = torch.var_mean(torch.tensor(a), 1, **kwargs)
    np.testing.assert_allclose(var.numpy(), a.var(1, ddof=ddof), rtol=1e-13)
    np.testing.assert_allclose(mean.numpy(), a.mean(1), rtol=1e-14)
    std, mean = torch.std_mean(torch.tensor(a), dim=0, keepdim=True, **kwargs)
    np.testing.assert_allclose(std.numpy(), a.std(0, ddof=ddof, keepdims=True), rtol=1e-13)
    assert mean.shape == (1, 5)


def test_in_place_twins_write_into_the_tensor():
    c, m1, m2 = R.normal(size=(2, 4)), R.normal(size=(2, 3)), R.normal(size=(3, 4))
    t = torch.tensor(c)
    view = t[0]
    assert t.addmm_(torch.tensor(m1), torch.tensor(m2), alpha=2.0) is t
    np.testing.assert_allclose(view.numpy(), c[0] + 2 * m1[0] @ m2, rtol=1e-14)
    b = torch.tensor(c[None])
    b.baddbmm_(torch.tensor(m1[None]), torch.tensor(m2[None]), beta=0.5)
    np.testing.assert_allclose(b.numpy()[0], 0.5 * c + m1 @ m2, rtol=1e-14)
    p = torch.tensor([[1.0, 2.0, -3.0]])
    p.cumprod_(1)
    assert p.tolist() == [[1.0, 2.0, -6.0]]
    assert torch.tensor([-2.0, 0.0]).sgn_().tolist() == [-1.0, 0.0]


def test_var_mean_takes_unbiased_in_place_of_dim():
    a = R.normal(size=(6,))
    assert torch.var_mean(torch.tensor(a), False)[0].item() == pytest.approx(a.var(), rel=1e-13)


def test_aminmax():
    a = R.normal(size=(3, 4))
    lo, hi = torch.aminmax(torch.tensor(a))
    assert (lo.item(), hi.item()) == (a.min(), a.max())
    r = torch.tensor(a).aminmax(dim=1, keepdim=True)
    np.testing.assert_array_equal(r.min.numpy(), a.min(1, keepdims=True))
    np.testing.assert_array_equal(r.max.numpy(), a.max(1, keepdims=True))
    with pytest.raises(RuntimeError, match="aminmax\\(\\): cannot compute aminmax over an empty dimension"):
        torch.aminmax(torch.ones(0))


def test_torch_level_twins_of_functional_forms():
    x = torch.randn(2, 3, 6, 6)
    np.testing.assert_array_equal(torch.max_pool2d(x, 2).numpy(), torch.nn.functional.max_pool2d(x, 2).numpy())
    np.testing.assert_array_equal(torch.max_pool2d(x, 3, 2, 1).numpy(),
                                  torch.nn.functional.max_pool2d(x, 3, 2, 1).numpy())
    assert torch.dropout(x, 0.5, False) is x
    assert torch.conv2d is torch.nn.functional.conv2d
    assert torch.cosine_similarity is torch.nn.functional.cosine_similarity
    a, b = R.normal(size=(4, 5)), R.normal(size=(4, 5))
    for p in (1, 2):
        want = np.linalg.norm(a - b + 1e-6, ord=p, axis=1)
        np.testing.assert_allclose(torch.pairwise_distance(torch.tensor(a), torch.tensor(b), p=p).numpy(), want,
                                   rtol=1e-14)
    eager_fd_check(torch.pairwise_distance, [a, b])


def _cdist_loops(a, b, p):
    out = np.zeros(a.shape[:-2] + (a.shape[-2], b.shape[-2]))
    for idx in np.ndindex(out.shape):
        *batch, i, j = idx
        out[idx] = np.sum(np.abs(a[(*batch, i)] - b[(*batch, j)]) ** p) ** (1 / p)
    return out


@pytest.mark.parametrize("p,mode", [(2, "donot_use_mm_for_euclid_dist"), (2, "use_mm_for_euclid_dist"),
                                    (1, "use_mm_for_euclid_dist")])
def test_cdist_against_loops(p, mode):
    a, b = R.normal(size=(2, 3, 4)), R.normal(size=(2, 5, 4))
    out = torch.cdist(torch.tensor(a), torch.tensor(b), p=p, compute_mode=mode)
    np.testing.assert_allclose(out.numpy(), _cdist_loops(a, b, p), rtol=1e-12)
    eager_fd_check(lambda x, y: torch.cdist(x, y, p, compute_mode=mode), [a, b])


def test_cdist_gradient_is_zero_at_a_zero_distance():
    for mode in ("donot_use_mm_for_euclid_dist", "use_mm_for_euclid_dist"):
        x = torch.tensor([[1.0, 2.0]], requires_grad=True)
        torch.cdist(x, torch.tensor([[1.0, 2.0]]), compute_mode=mode).sum().backward()
        assert x.grad.tolist() == [[0.0, 0.0]]
    with pytest.raises(RuntimeError, match="cdist only supports at least 2D tensors, X1 got: 1D"):
        torch.cdist(torch.ones(3), torch.ones(2, 3))
    with pytest.raises(NotImplementedError, match="p=3"):
        torch.cdist(torch.ones(2, 3), torch.ones(2, 3), p=3)


def test_cumprod_float32_rounds_each_step_from_float64():
    a = R.normal(size=(3, 40)).astype(np.float32)
    want = np.empty_like(a)
    for i in range(3):
        acc = 1.0
        for j in range(40):
            acc *= float(a[i, j])
            want[i, j] = np.float32(acc)
    np.testing.assert_array_equal(torch.cumprod(torch.tensor(a), 1).numpy(), want)
    assert torch.tensor([2, 3], dtype=torch.int32).cumprod(0).dtype == torch.int64
    assert torch.tensor([2, 3]).cumprod(0, dtype=torch.float64).tolist() == [2.0, 6.0]


@pytest.mark.parametrize("row", [[0.5, -1.2, 2.0, 0.7], [0.5, 0.0, 2.0, 0.7], [0.0, 0.5, 0.0, 3.0],
                                 [1.5, 2.0, 0.7, 0.0]])
def test_cumprod_gradient_with_and_without_zeros(row):
    eager_fd_check(lambda x: torch.cumprod(x, -1), [np.array([row, row[::-1]])])


def test_unique_sorted_with_inverse_and_counts():
    a = np.array([[3, 1, 2], [3, 1, 5]])
    vals, inv, counts = np.unique(a, return_inverse=True, return_counts=True)
    out = torch.unique(torch.tensor(a), return_inverse=True, return_counts=True)
    assert out[0].tolist() == vals.tolist() and out[2].tolist() == counts.tolist()
    assert out[1].shape == (2, 3) and out[1].tolist() == inv.reshape(2, 3).tolist()
    assert out[1].dtype == out[2].dtype == torch.int64
    assert torch.tensor([2.0, 1.0, 2.0]).unique().tolist() == [1.0, 2.0]
    nan = torch.unique(torch.tensor([1.0, float("nan"), float("nan")]), return_counts=True)
    assert nan[1].tolist() == [1, 1, 1]          # every NaN is its own value
    with pytest.raises(NotImplementedError, match="unique: dim"):
        torch.unique(torch.tensor(a), dim=0)


def test_bincount_by_loops():
    x = np.array([2, 0, 2, 5, 2])
    assert torch.bincount(torch.tensor(x)).tolist() == [1, 0, 3, 0, 0, 1]
    assert torch.tensor(x).bincount(minlength=8).tolist() == [1, 0, 3, 0, 0, 1, 0, 0]
    w = np.array([0.1, 0.2, 0.3, 0.4, 0.5], np.float32)
    want = np.zeros(6, np.float32)
    for i, v in zip(x, w):
        want[i] += v            # in float32, in order
    out = torch.bincount(torch.tensor(x), torch.tensor(w))
    assert out.dtype == torch.float32
    np.testing.assert_array_equal(out.numpy(), want)
    assert torch.bincount(torch.tensor(x), torch.tensor([1, 2, 3, 4, 5])).dtype == torch.float64
    assert torch.bincount(torch.tensor([], dtype=torch.int64)).tolist() == []
    with pytest.raises(RuntimeError, match="bincount only supports 1-d non-negative integral inputs."):
        torch.bincount(torch.tensor([1, -1]))
    with pytest.raises(RuntimeError, match="weights should be 1-d and have the same length as input"):
        torch.bincount(torch.tensor(x), torch.ones(3))
    with pytest.raises(NotImplementedError, match="\"bincount_cpu\" not implemented for 'Bool'"):
        torch.bincount(torch.tensor([True]))
    with pytest.raises(RuntimeError, match="minlength should be >= 0"):
        torch.bincount(torch.tensor(x), minlength=-1)


# ----- nn layers and losses ------------------------------------------------------------
F = torch.nn.functional


def _adaptive_bounds(n, out, i):
    return i * n // out, -(-(i + 1) * n // out)


def test_adaptive_max_pool2d_against_loops():
    a = R.normal(size=(2, 3, 5, 7))
    out, idx = F.adaptive_max_pool2d(torch.tensor(a), (3, 4), return_indices=True)
    want, want_idx = np.zeros((2, 3, 3, 4)), np.zeros((2, 3, 3, 4), np.int64)
    for n, c, i, j in np.ndindex(want.shape):
        r0, r1 = _adaptive_bounds(5, 3, i)
        c0, c1 = _adaptive_bounds(7, 4, j)
        window = a[n, c, r0:r1, c0:c1]
        r, q = np.unravel_index(np.argmax(window), window.shape)
        want[n, c, i, j], want_idx[n, c, i, j] = window[r, q], (r0 + r) * 7 + c0 + q
    np.testing.assert_array_equal(out.numpy(), want)
    assert idx.dtype == torch.int64 and idx.tolist() == want_idx.tolist()
    eager_fd_check(lambda x: torch.nn.AdaptiveMaxPool2d((3, None))(x), [R.normal(size=(1, 2, 5, 4))])
    assert torch.nn.AdaptiveMaxPool2d(2)(torch.tensor(a[0])).shape == (3, 2, 2)


def test_adaptive_avg_pool1d_against_loops():
    a = R.normal(size=(2, 3, 7))
    want = np.zeros((2, 3, 3))
    for n, c, i in np.ndindex(want.shape):
        lo, hi = _adaptive_bounds(7, 3, i)
        want[n, c, i] = a[n, c, lo:hi].mean()
    np.testing.assert_allclose(torch.nn.AdaptiveAvgPool1d(3)(torch.tensor(a)).numpy(), want, rtol=1e-14)
    np.testing.assert_allclose(F.adaptive_avg_pool1d(torch.tensor(a[0]), 3).numpy(), want[0], rtol=1e-14)


def test_local_response_norm_against_loops():
    a = R.normal(size=(2, 5, 3, 2))
    size, alpha, beta, k = 3, 0.3, 0.75, 2.0
    want = np.zeros_like(a)
    for n, c in np.ndindex(2, 5):
        lo, hi = c - size // 2, c + (size - 1) // 2
        s = sum(a[n, j] ** 2 for j in range(max(lo, 0), min(hi, 4) + 1))
        want[n, c] = a[n, c] / (k + alpha * s / size) ** beta
    np.testing.assert_allclose(torch.nn.LocalResponseNorm(size, alpha, beta, k)(torch.tensor(a)).numpy(), want,
                               rtol=1e-13)
    eager_fd_check(lambda x: F.local_response_norm(x, 2, 0.5, 0.75, 1.0), [R.normal(size=(1, 4, 3))])
    with pytest.raises(ValueError, match="Expected 3D or higher dimensionality input"):
        F.local_response_norm(torch.ones(2, 3), 2)


def test_channel_shuffle_moves_channel_i_k_plus_j_to_j_g_plus_i():
    a = R.normal(size=(2, 6, 3))
    out = torch.nn.ChannelShuffle(2)(torch.tensor(a)).numpy()
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(out[:, j * 2 + i], a[:, i * 3 + j])
    with pytest.raises(RuntimeError, match="Number of channels must be divisible by groups. Got 6 channels and 4"):
        F.channel_shuffle(torch.tensor(a), 4)


def test_dropout1d_drops_whole_channels():
    x = torch.ones(4, 50, 9)
    y = torch.nn.Dropout1d(0.5)(x).numpy()
    assert set(np.unique(y)) == {0.0, 2.0}
    assert (y == y[:, :, :1]).all()
    m = torch.nn.Dropout1d(0.5).eval()
    assert m(x) is x
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 4D input"):
        F.dropout1d(torch.ones(1, 2, 3, 4))


def test_parameter_list_and_dict_register_parameters():
    pl = torch.nn.ParameterList([torch.ones(2), torch.nn.Parameter(torch.zeros(3))])
    pl.append(torch.ones(1))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"]
    assert all(isinstance(p, torch.nn.Parameter) and p.requires_grad for p in pl)
    pd = torch.nn.ParameterDict({"w": torch.ones(2)})
    pd["b"] = torch.zeros(1)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ps, self.pd = pl, pd
    assert list(Model().state_dict()) == ["ps.0", "ps.1", "ps.2", "pd.w", "pd.b"]
    assert len(pl) == 3 and "w" in pd and len(list(Model().parameters())) == 5


def test_similarity_and_distance_modules_are_the_functions():
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    assert torch.equal(torch.nn.CosineSimilarity(0)(a, b), F.cosine_similarity(a, b, 0))
    assert torch.equal(torch.nn.PairwiseDistance(1, keepdim=True)(a, b), F.pairwise_distance(a, b, 1, keepdim=True))


def _np_logsigmoid(x):
    return -np.logaddexp(0, -x)


_LOSSES = {
    "margin_ranking": (lambda x1, x2, t: F.margin_ranking_loss(x1, x2, t, 0.3, reduction="none"),
                       lambda x1, x2, t: np.maximum(0, -t * (x1 - x2) + 0.3)),
    "triplet": (lambda a, p, n: F.triplet_margin_loss(a, p, n, 0.5, reduction="none"),
                lambda a, p, n: np.maximum(0, 0.5 + np.linalg.norm(a - p + 1e-6, axis=-1)
                                           - np.linalg.norm(a - n + 1e-6, axis=-1))),
    "triplet_swap_p1": (lambda a, p, n: torch.nn.TripletMarginLoss(2.0, p=1, swap=True, reduction="sum")(a, p, n),
                        lambda a, p, n: np.maximum(0, 2.0 + np.abs(a - p + 1e-6).sum(-1) - np.minimum(
                            np.abs(a - n + 1e-6).sum(-1), np.abs(p - n + 1e-6).sum(-1))).sum()),
    "poisson_log": (lambda x, t: torch.nn.PoissonNLLLoss()(x, t.abs()),
                    lambda x, t: (np.exp(x) - np.abs(t) * x).mean()),
    "poisson_full": (lambda x, t: F.poisson_nll_loss(x.abs() + 0.1, t.abs() * 3, log_input=False, full=True,
                                                     reduction="none"),
                     lambda x, t: (np.abs(x) + 0.1 - 3 * np.abs(t) * np.log(np.abs(x) + 0.1 + 1e-8)
                                   + np.where(3 * np.abs(t) > 1, 3 * np.abs(t) * np.log(3 * np.abs(t)) - 3 * np.abs(t)
                                              + 0.5 * np.log(2 * np.pi * 3 * np.abs(t)), 0))),
    "gaussian": (lambda x, t, v: torch.nn.GaussianNLLLoss(full=True)(x, t, v.abs()),
                 lambda x, t, v: (0.5 * (np.log(np.abs(v)) + (x - t) ** 2 / np.abs(v))
                                  + 0.5 * np.log(2 * np.pi)).mean()),
    "multilabel": (lambda x, t: F.multilabel_soft_margin_loss(x, (t > 0).double(), reduction="none"),
                   lambda x, t: -((t > 0) * _np_logsigmoid(x) + (t <= 0) * _np_logsigmoid(-x)).mean(-1)),
}


@pytest.mark.parametrize("name", sorted(_LOSSES))
def test_losses_against_numpy_and_central_differences(name):
    fn, ref = _LOSSES[name]
    n_args = fn.__code__.co_argcount
    arrays = [R.normal(size=(4, 5)) for _ in range(n_args)]
    if name == "margin_ranking":
        arrays = [R.normal(size=6), R.normal(size=6), np.sign(R.normal(size=6))]
        out = fn(*map(torch.tensor, arrays))
        np.testing.assert_allclose(out.numpy(), ref(*arrays), rtol=1e-14)
        eager_fd_check(lambda a, b: fn(a, b, torch.tensor(arrays[2])), arrays[:2])
        return
    np.testing.assert_allclose(fn(*map(torch.tensor, arrays)).numpy(), ref(*arrays), rtol=1e-13)
    wrt = 1 if name.startswith("multilabel") or name.startswith("poisson") else n_args
    eager_fd_check(lambda *ts: fn(*ts, *map(torch.tensor, arrays[wrt:])), arrays[:wrt])


def test_cosine_embedding_loss_by_hand():
    x1, x2 = R.normal(size=(5, 3)), R.normal(size=(5, 3))
    t = np.array([1, -1, 1, -1, 0])
    cos = (x1 * x2).sum(1) / np.sqrt(((x1 * x1).sum(1) + 1e-12) * ((x2 * x2).sum(1) + 1e-12))
    want = np.where(t == 1, 1 - cos, np.where(t == -1, np.maximum(0, cos - 0.1), 0))
    out = torch.nn.CosineEmbeddingLoss(0.1, reduction="none")(torch.tensor(x1), torch.tensor(x2), torch.tensor(t))
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-14)
    eager_fd_check(lambda a, b: F.cosine_embedding_loss(a, b, torch.tensor(t), -0.2), [x1, x2])


def test_gaussian_nll_loss_var_shapes_and_clamp():
    x, t = R.normal(size=(4, 3)), R.normal(size=(4, 3))
    v = np.abs(R.normal(size=4))
    want = (0.5 * (np.log(v[:, None]) + (x - t) ** 2 / v[:, None])).mean()
    assert F.gaussian_nll_loss(torch.tensor(x), torch.tensor(t), torch.tensor(v)).item() == pytest.approx(want,
                                                                                                          rel=1e-14)
    var = torch.tensor([[0.0], [1e-9], [1.0], [2.0]], dtype=torch.float64, requires_grad=True)
    F.gaussian_nll_loss(torch.tensor(x), torch.tensor(t), var, reduction="sum").backward()
    # the clamp at eps is made without autograd: the gradient is the loss's at eps, not zero
    sq = ((x - t) ** 2).sum(1)
    at = np.array([1e-6, 1e-6, 1.0, 2.0])
    np.testing.assert_allclose(var.grad.numpy()[:, 0], 0.5 * (3 / at - sq / at ** 2), rtol=1e-12)
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(torch.tensor(x), torch.tensor(t), torch.ones(2, 2))
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        F.gaussian_nll_loss(torch.tensor(x), torch.tensor(t), -1.0)


# ----- optimizers ------------------------------------------------------------------------
def _steps(name, kw, grads, w0):
    p = torch.tensor(w0.copy(), requires_grad=True)
    opt = getattr(torch.optim, name)([p], **kw)
    for g in grads:
        opt.zero_grad()
        (p * torch.tensor(g)).sum().backward()
        opt.step()
    return p.detach().numpy(), opt.state[p]


def _grads(n, size=7):
    gs = [R.normal(size=size) * 10.0 ** (k % 3 - 1) for k in range(n)]
    gs[2][:2] = 0.0
    return gs


def test_adamax_by_formula():
    w0, gs = R.normal(size=7), _grads(5)
    lr, b1, b2, eps, wd = 0.01, 0.8, 0.95, 1e-3, 0.1
    w, m, u = w0.copy(), np.zeros(7), np.zeros(7)
    for t, g in enumerate(gs, 1):
        g = g + wd * w
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        w = w - lr / (1 - b1 ** t) * m / u
    out, state = _steps("Adamax", dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd), gs, w0)
    np.testing.assert_allclose(out, w, rtol=1e-13)
    np.testing.assert_allclose(state["exp_inf"], u, rtol=1e-13)
    assert state["step"] == 5


@pytest.mark.parametrize("decoupled", [False, True])
def test_nadam_by_formula(decoupled):
    w0, gs = R.normal(size=7), _grads(6)
    lr, b1, b2, eps, wd, psi = 0.01, 0.9, 0.99, 1e-8, 0.05, 0.02
    w, m, v, prod = w0.copy(), np.zeros(7), np.zeros(7), np.float32(1.0)
    for t, g in enumerate(gs, 1):
        if decoupled:
            w = w * (1 - lr * wd)
        else:
            g = g + wd * w
        mu, mu_next = (b1 * (1 - 0.5 * 0.96 ** (k * psi)) for k in (t, t + 1))
        prod = prod * np.float32(mu)        # PyTorch keeps the product as a float32 tensor
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        d = np.sqrt(v / (1 - b2 ** t)) + eps
        w = w - lr * (1 - mu) / (1 - float(prod)) * g / d - lr * mu_next / (1 - float(prod) * mu_next) * m / d
    out, state = _steps("NAdam", dict(lr=lr, betas=(b1, b2), weight_decay=wd, momentum_decay=psi,
                                      decoupled_weight_decay=decoupled), gs, w0)
    np.testing.assert_allclose(out, w, rtol=1e-12)
    assert state["mu_product"].dtype == np.float32 and state["mu_product"] == prod


@pytest.mark.parametrize("b2", [0.999, 0.9])       # rho_t passes 5 at step 6 with either
def test_radam_by_formula(b2):
    w0, gs = R.normal(size=7), _grads(8)
    lr, b1, eps = 0.01, 0.9, 1e-8
    w, m, v = w0.copy(), np.zeros(7), np.zeros(7)
    rho_inf = 2 / (1 - b2) - 1
    rectified = []
    for t, g in enumerate(gs, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        step = lr * m / (1 - b1 ** t)
        if rho > 5:
            r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            step = step * np.sqrt(1 - b2 ** t) / (np.sqrt(v) + eps) * r
        rectified.append(rho > 5)
        w = w - step
    assert any(rectified) and not all(rectified)         # both of RAdam's branches ran
    out, _ = _steps("RAdam", dict(lr=lr, betas=(b1, b2)), gs, w0)
    np.testing.assert_allclose(out, w, rtol=1e-12)


def test_rprop_by_formula():
    w0, gs = R.normal(size=7), _grads(6)
    gs[3] = -gs[2]                  # signs flip: those steps are skipped and their sizes shrink
    lr, (em, ep), (lo, hi) = 0.05, (0.4, 1.3), (0.01, 0.1)
    w, prev, size = w0.copy(), np.zeros(7), np.full(7, lr)
    for g in gs:
        s = np.sign(g * prev)
        size = np.clip(size * np.where(s > 0, ep, np.where(s < 0, em, 1.0)), lo, hi)
        g = np.where(s < 0, 0.0, g)
        w = w - np.sign(g) * size
        prev = g
    out, state = _steps("Rprop", dict(lr=lr, etas=(em, ep), step_sizes=(lo, hi)), gs, w0)
    np.testing.assert_allclose(out, w, rtol=1e-15)
    np.testing.assert_allclose(state["step_size"], size, rtol=1e-15)
    np.testing.assert_array_equal(state["prev"], prev)


@pytest.mark.parametrize("make,message", [
    (lambda p: torch.optim.Adamax(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: torch.optim.NAdam(p, momentum_decay=-1), "Invalid momentum_decay value: -1"),
    (lambda p: torch.optim.RAdam(p, eps=-1), "Invalid epsilon value: -1"),
    (lambda p: torch.optim.Rprop(p, etas=(1.1, 1.2)), "Invalid eta values: 1.1, 1.2"),
])
def test_optimizer_argument_checks(make, message):
    with pytest.raises(ValueError, match=message):
        make([torch.zeros(2, requires_grad=True)])


def _unfold_loops(a, k, d, p, s):
    n, c, h, w = a.shape
    padded = np.pad(a, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    oh = (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = np.zeros((n, c * k[0] * k[1], oh * ow))
    for b, ch, i, j, y, x in np.ndindex(n, c, k[0], k[1], oh, ow):
        out[b, (ch * k[0] + i) * k[1] + j, y * ow + x] = padded[b, ch, y * s[0] + i * d[0], x * s[1] + j * d[1]]
    return out


@pytest.mark.parametrize("k,d,p,s", [((3, 3), (1, 1), (0, 0), (1, 1)), ((2, 3), (2, 1), (1, 0), (2, 1))])
def test_unfold_and_fold_against_loops(k, d, p, s):
    a = R.normal(size=(2, 3, 7, 6))
    cols = torch.nn.Unfold(k, d, p, s)(torch.tensor(a))
    want = _unfold_loops(a, k, d, p, s)
    np.testing.assert_array_equal(cols.numpy(), want)
    # fold is unfold's adjoint: <fold(y), x> == <y, unfold(x)>
    y = R.normal(size=want.shape)
    folded = torch.nn.Fold((7, 6), k, d, p, s)(torch.tensor(y)).numpy()
    assert folded.shape == a.shape
    assert (folded * a).sum() == pytest.approx((y * want).sum(), rel=1e-12)
    eager_fd_check(lambda x: F.unfold(x, k, d, p, s), [R.normal(size=(1, 2, 5, 4))])
    eager_fd_check(lambda x: F.fold(x, (5, 4), k, d, p, s), [R.normal(size=_unfold_loops(
        np.zeros((1, 2, 5, 4)), k, d, p, s).shape)])
    assert F.unfold(torch.tensor(a[0]), k, d, p, s).shape == want.shape[1:]


def test_unfold_and_fold_check_shapes():
    with pytest.raises(RuntimeError, match=r"Expected 3D or 4D \(batch mode\) tensor .* but got: \[3, 4\]"):
        F.unfold(torch.ones(3, 4), 2)
    with pytest.raises(RuntimeError, match="expected size of input's dimension 2 to match the calculated number of "
                                           "sliding blocks 2 \\* 2 = 4, but got input.size\\(2\\)=5"):
        F.fold(torch.ones(1, 4, 5), (3, 3), 2)


def test_top_level_arithmetic_comparisons_and_shape_functions():
    x = torch.tensor([1.0, -2.5, 3.0])
    i = torch.tensor([7, -7, 6])
    assert torch.add(1, x).tolist() == [2.0, -1.5, 4.0] and torch.add(x, x, alpha=2).tolist() == [3.0, -7.5, 9.0]
    assert torch.sub(1, x).tolist() == [0.0, 3.5, -2.0] and torch.subtract(x, 1).tolist() == [0.0, -3.5, 2.0]
    assert torch.mul(2, x).tolist() == torch.multiply(x, 2).tolist() == [2.0, -5.0, 6.0]
    np.testing.assert_array_equal(torch.div(7, x).numpy(), np.float32(7) / x.numpy())     # a true division
    assert torch.div(i, 2).dtype == torch.float32 and torch.true_divide(i, 2).tolist() == [3.5, -3.5, 3.0]
    assert torch.div(i, 2, rounding_mode="trunc").tolist() == [3, -3, 3]                 # toward zero
    assert torch.div(i, 2, rounding_mode="floor").tolist() == [3, -4, 3]
    assert torch.divide(torch.tensor([7.0, -7.0]), 2, rounding_mode="trunc").tolist() == [3.0, -3.0]
    with pytest.raises(RuntimeError, match="rounding_mode to be one of None, 'trunc', or 'floor'"):
        torch.div(x, 2, rounding_mode="round")
    np.testing.assert_allclose(torch.pow(2, x).numpy(), 2.0 ** x.numpy(), rtol=1e-6)
    assert torch.eq(x, 1.0).tolist() == [True, False, False] and torch.greater(x, 0).tolist() == [True, False, True]
    assert torch.less_equal(x, 1).tolist() == [True, True, False] and torch.not_equal(x, 3).tolist() == [True, True,
                                                                                                         False]
    with pytest.raises(TypeError, match="must be Tensor"):
        torch.eq(1, x)
    assert torch.logical_and(x, x > 0).tolist() == [True, False, True]
    assert torch.logical_xor(x > 0, x > 2).tolist() == [True, False, False]
    assert torch.logical_or(x > 2, x < 0).tolist() == [False, True, True]
    assert torch.negative(x).tolist() == [-1.0, 2.5, -3.0]
    assert torch.masked_fill(x, x > 0, 0.0).tolist() == [0.0, -2.5, 0.0]
    assert torch.dot(x, x).item() == 1 + 6.25 + 9
    m = torch.arange(12.0).reshape(3, 4)
    assert torch.mv(m, torch.ones(4)).tolist() == [6.0, 22.0, 38.0]
    cube = torch.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(torch.diagonal(cube, 1, 1, 2).numpy(),
                                  np.diagonal(cube.numpy(), 1, 1, 2))
    assert torch.ravel(m).shape == (12,) and torch.hstack([x, x]).shape == (6,)
    assert torch.vstack([x, x]).shape == (2, 3) and torch.hstack([m, m]).shape == (3, 8)
    odd = torch.tensor([float("nan"), float("inf"), -float("inf"), 1.0])
    big = np.finfo(np.float32).max
    assert torch.nan_to_num(odd).tolist() == [0.0, big, -big, 1.0]
    assert torch.nan_to_num(odd, nan=2.0, posinf=3.0, neginf=-3.0).tolist() == [2.0, 3.0, -3.0, 1.0]
    assert torch.repeat_interleave(torch.tensor([1, 2]), 2).tolist() == [1, 1, 2, 2]
    assert torch.repeat_interleave(torch.tensor([[1, 2], [3, 4]]), torch.tensor([1, 2]), dim=0).tolist() == [
        [1, 2], [3, 4], [3, 4]]
    with pytest.raises(RuntimeError, match="repeats must have the same size as input along dim"):
        torch.repeat_interleave(torch.tensor([[1, 2], [3, 4]]), torch.tensor([1, 2, 3]), dim=0)


def test_repeat_interleave_and_diagonal_gradients():
    eager_fd_check(lambda t: t.repeat_interleave(torch.tensor([2, 0, 1]), dim=1) * 1.5,
                   [np.random.default_rng(30).normal(size=(2, 3))])
    eager_fd_check(lambda t: torch.diagonal(t, -1, 0, 2), [np.random.default_rng(31).normal(size=(4, 2, 3))])


def test_normal_bernoulli_and_multinomial_sample_their_distributions():
    torch.manual_seed(0)
    a = torch.normal(torch.zeros(40000), 2.0)
    b = torch.normal(1.0, 0.5, size=(40000,))
    fixed = torch.normal(torch.tensor([0.0, 10.0]), torch.tensor([1.0, 0.0]))
    assert abs(a.mean().item()) < 0.05 and abs(a.std().item() - 2.0) < 0.05
    assert abs(b.mean().item() - 1.0) < 0.02 and abs(b.std().item() - 0.5) < 0.02 and fixed[1].item() == 10.0
    torch.manual_seed(0)
    assert torch.equal(torch.normal(torch.zeros(40000), 2.0), a)            # seeded: the same draw again
    coin = torch.bernoulli(torch.full((40000,), 0.3))
    assert set(np.unique(coin.numpy())) <= {0.0, 1.0} and abs(coin.mean().item() - 0.3) < 0.01
    assert torch.bernoulli(torch.zeros(5), 1.0).tolist() == [1.0] * 5
    weights = torch.tensor([[0.0, 1.0, 3.0], [1.0, 1.0, 0.0]])
    counts = [np.bincount(r, minlength=3) for r in torch.multinomial(weights, 8000, True).numpy()]
    assert counts[0][0] == 0 and abs(counts[0][2] / 8000 - 0.75) < 0.02 and counts[1][2] == 0
    picks = torch.multinomial(weights, 2)
    assert picks.dtype == torch.int64 and sorted(picks[1].tolist()) == [0, 1]        # no repeats
    drawn = torch.multinomial(weights, 3)               # the zero-weight class comes last, as ATen's
    assert drawn[0, 2].item() == 0 and sorted(drawn[0, :2].tolist()) == [1, 2] and drawn[1, 2].item() == 2
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        torch.multinomial(weights, 4)
    with pytest.raises(RuntimeError, match="normal expects all elements of std >= 0.0"):
        torch.normal(torch.zeros(2), torch.tensor([1.0, -1.0]))


def test_more_top_level_functions_against_numpy():
    x = np.array([[0.2, 0.7, 0.05], [0.9, 0.5, 0.3]])
    a = torch.tensor(x)
    np.testing.assert_array_equal(torch.take_along_dim(a, torch.tensor([[2, 0], [1, 1]]), 1).numpy(),
                                  np.take_along_axis(x, np.array([[2, 0], [1, 1]]), 1))
    assert torch.isin(torch.tensor([1, 2, 3, 4]), torch.tensor([2, 4])).tolist() == [False, True, False, True]
    np.testing.assert_allclose(torch.logit(a).numpy(), np.log(x / (1 - x)), rtol=1e-14)
    np.testing.assert_allclose(torch.xlogy(a, a + 1).numpy(), x * np.log(x + 1), rtol=1e-14)
    assert torch.xlogy(torch.tensor([0.0, 0.0]), torch.tensor([0.0, float("nan")])).numpy()[0] == 0.0
    assert np.isnan(torch.xlogy(torch.tensor([0.0]), torch.tensor([float("nan")])).item())
    np.testing.assert_array_equal(torch.kron(a, a).numpy(), np.kron(x, x))
    np.testing.assert_allclose(torch.cross(a, a.flip(0), dim=1).numpy(), np.cross(x, x[::-1]), rtol=1e-14)
    assert torch.tril_indices(3, 3).tolist() == [list(r) for r in np.tril_indices(3)]
    assert torch.column_stack([torch.ones(2), torch.zeros(2)]).tolist() == [[1.0, 0.0], [1.0, 0.0]]
    assert torch.atleast_3d(torch.ones(2, 3)).shape == (2, 3, 1) and torch.atleast_1d(torch.tensor(2.0)).shape == (1,)
    assert torch.broadcast_shapes((2, 1), (3,)) == (2, 3) and torch.is_floating_point(a)
    eager_fd_check(lambda t: torch.xlogy(t, t + 1.0) + torch.logit(t) + torch.cross(t, t.flip(0), dim=1), [x])
    eager_fd_check(lambda t: torch.take_along_dim(t, torch.tensor([[2, 0], [1, 1]]), 1), [x])


def test_quantile_interpolations_and_searchsorted_against_numpy():
    rng = np.random.default_rng(32)
    x = rng.normal(size=(3, 7))
    qs = [0.0, 0.13, 0.5, 0.9, 1.0]
    for method in ("linear", "lower", "higher", "nearest", "midpoint"):
        got = torch.quantile(torch.tensor(x), torch.tensor(qs, dtype=torch.float64), dim=1,
                             interpolation=method).numpy()
        np.testing.assert_allclose(got, np.quantile(x, qs, axis=1, method=method), rtol=1e-12, atol=1e-15)
    with_nan = x.copy()
    with_nan[0, 3] = np.nan
    np.testing.assert_allclose(torch.nanquantile(torch.tensor(with_nan), 0.4, dim=1).numpy(),
                               np.nanquantile(with_nan, 0.4, axis=1), rtol=1e-12)
    assert np.isnan(torch.quantile(torch.tensor(with_nan), 0.4, dim=1).numpy()[0])
    with pytest.raises(RuntimeError, match="q must be in the range \\[0, 1\\] but got 1.5"):
        torch.quantile(torch.tensor(x), 1.5)
    eager_fd_check(lambda t: torch.quantile(t, torch.tensor([0.2, 0.7], dtype=torch.float64), dim=1), [x])
    seq = np.sort(rng.normal(size=9))
    vals = rng.normal(size=5)
    assert torch.searchsorted(torch.tensor(seq), torch.tensor(vals)).tolist() == np.searchsorted(seq, vals).tolist()
    assert torch.bucketize(torch.tensor(vals), torch.tensor(seq), right=True).tolist() == np.searchsorted(
        seq, vals, side="right").tolist()


def test_casts_strides_sizes_and_band_in_place():
    t = torch.tensor(np.arange(6.0).reshape(2, 3))
    assert [c().dtype for c in (t.half, t.short, t.byte, t.char)] == [np.float16, np.int16, np.uint8, np.int8]
    assert t.char().tolist() == [[0, 1, 2], [3, 4, 5]] and t.ndimension() == 2
    t32 = t.float()
    assert (t32.itemsize, t32.nbytes, t32[:, 1:].nbytes, t32.half().nbytes) == (4, 24, 16, 12)
    # strides in elements, of views as they lie: a transpose swaps them, an expand repeats with 0, a slice keeps
    assert t32.stride() == (3, 1) and t32.stride(-1) == 1 and t32.t().stride() == (1, 3)
    assert t32.expand(4, 2, 3).stride() == (0, 3, 1) and t32[:, 1:].stride() == (3, 1)
    assert torch.ones(()).stride() == () and t32.size(-2) == 2
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"):
        t32.stride(2)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got -3\)"):
        t32.size(-3)
    with pytest.raises(IndexError, match="Dimension specified as 0 but tensor has no dimensions"):
        torch.ones(()).size(0)
    m = torch.tensor(np.arange(1.0, 10.0).reshape(3, 3))
    alias = m
    assert m.tril_(-1) is alias and m.tolist() == [[0, 0, 0], [4, 0, 0], [7, 8, 0]]
    w = torch.tensor(np.arange(1.0, 10.0).reshape(3, 3), requires_grad=True)
    y = w * 1.0
    y.triu_(1)
    y.sum().backward()                  # the gradient passes where the band kept the value, 0 elsewhere
    assert w.grad.tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]


def test_splits_stacks_and_small_functions_by_hand():
    x = torch.tensor(np.arange(7.0))
    assert [p.tolist() for p in torch.tensor_split(x, 3)] == [[0, 1, 2], [3, 4], [5, 6]]
    assert [p.tolist() for p in torch.tensor_split(x, [1, 5, 9, 2])] == [[0], [1, 2, 3, 4], [5, 6], [],
                                                                        [2, 3, 4, 5, 6]]
    m = torch.tensor(np.arange(12.0).reshape(2, 6))
    assert [p.shape for p in torch.hsplit(m, 3)] == [(2, 2)] * 3 and [p.shape for p in torch.vsplit(m, [1])] == \
        [(1, 6), (1, 6)]
    with pytest.raises(RuntimeError, match="not divisible by the split_size 4"):
        torch.hsplit(m, 4)
    with pytest.raises(RuntimeError, match="torch.dsplit requires a tensor with at least 3 dimension, but got a "
                                           "tensor with 2 dimensions!"):
        torch.dsplit(m, 1)
    with pytest.raises(RuntimeError, match="number of sections must be larger than 0, got 0"):
        torch.tensor_split(x, 0)
    assert torch.dstack([torch.ones(2), torch.zeros(2)]).tolist() == [[[1, 0], [1, 0]]]
    assert torch.argwhere(torch.tensor(np.array([[0, 1], [2, 0]]))).tolist() == [[0, 1], [1, 0]]
    assert torch.take(m, torch.tensor(np.array([[0, -1], [7, 3]]))).tolist() == [[0, 11], [7, 3]]
    with pytest.raises(IndexError, match="out of range: tried to access index 12 on a tensor of 12 elements."):
        torch.take(m, torch.tensor(np.array([12])))
    a, b = torch.tensor(np.array([3.0, -4.0, 0.0])), torch.zeros(3)
    assert [torch.dist(a, b, p).item() for p in (0, 1, 2, 3, float("inf"), float("-inf"))] == pytest.approx(
        [2, 7, 5, (27 + 64) ** (1 / 3), 4, 0])
    assert torch.inner(torch.tensor(np.ones((2, 3))), torch.tensor(np.arange(12.0).reshape(4, 3))).tolist() == \
        [[3, 12, 21, 30]] * 2
    assert torch.msort(torch.tensor(np.array([[3.0, 1.0], [2.0, 4.0]]))).tolist() == [[2, 1], [3, 4]]
    assert torch.cartesian_prod(torch.tensor(np.array([1, 2])), torch.tensor(np.array([3, 4]))).tolist() == \
        [[1, 3], [1, 4], [2, 3], [2, 4]]
    assert torch.block_diag(torch.ones(1, 2), torch.tensor(5.0)).tolist() == [[1, 1, 0], [0, 0, 5]]


def test_cov_and_corrcoef_against_numpy_and_their_gradients():
    x = R.normal(size=(3, 6))
    fw, aw = np.array([1, 2, 1, 3, 1, 2]), R.random(6) + 0.5
    np.testing.assert_allclose(torch.cov(torch.tensor(x)).numpy(), np.cov(x), rtol=1e-12)
    np.testing.assert_allclose(torch.cov(torch.tensor(x), correction=0).numpy(), np.cov(x, ddof=0), rtol=1e-12)
    got = torch.cov(torch.tensor(x), fweights=torch.tensor(fw), aweights=torch.tensor(aw)).numpy()
    np.testing.assert_allclose(got, np.cov(x, fweights=fw, aweights=aw), rtol=1e-12)
    np.testing.assert_allclose(torch.corrcoef(torch.tensor(x)).numpy(), np.corrcoef(x), rtol=1e-12)
    assert torch.cov(torch.tensor(x[0])).shape == () and torch.cov(torch.tensor(x[0])).item() == pytest.approx(
        np.var(x[0], ddof=1))
    eager_fd_check(lambda t: torch.cov(t, aweights=torch.tensor(aw)), [x])
    eager_fd_check(torch.corrcoef, [x])
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        torch.cov(torch.tensor(x[:, :1]))
