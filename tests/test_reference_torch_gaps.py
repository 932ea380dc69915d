"""Parity with PyTorch 2.13 (CPU) for the filled-in functions: same shapes and dtypes, values and gradients bit
for bit where the arithmetic is the same, else within the last bits that Sleef's, MKL's and NumPy's functions
or BLAS's summation orders leave apart."""
import numpy as np
import pytest

import eager_api

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.reference

from tests.test_reference_torch import _value_and_grad  # noqa: E402  (the same replay as the older functions')

# name -> (a function of the library and a float32 (4, 6) tensor, whether PyTorch's bits are expected)
_FUNCTIONS = {
    "clone": (lambda L, x: L.clone(x), True),
    "masked_select": (lambda L, x: L.masked_select(x, x > 0.2), True),
    "masked_select_broadcast": (lambda L, x: x[:1].masked_select(x > 0), True),
    "diff": (lambda L, x: L.diff(x, n=2, dim=1, prepend=x[:, :1] * 2, append=x[:, -2:]), True),
    "diff_dim0": (lambda L, x: x.diff(dim=0), True),
    "trace": (lambda L, x: L.trace(x), True),
    "sgn": (lambda L, x: L.sgn(x) * x, True),
    "aminmax": (lambda L, x: L.stack(list(L.aminmax(x, dim=1))), True),
    "aminmax_all": (lambda L, x: L.stack(list(x.aminmax())), True),
    "cumprod": (lambda L, x: L.cumprod(x + 1, 1), True),
    "cumprod_dim0": (lambda L, x: (x * 2).cumprod(0), True),
    "max_pool2d": (lambda L, x: L.max_pool2d(x.reshape(1, 1, 4, 6), 3, 2, 1), True),
    "dropout_eval": (lambda L, x: L.dropout(x, 0.3, False), True),
    "hypot": (lambda L, x: L.hypot(x, x.flip(0)), False),
    "logaddexp": (lambda L, x: L.logaddexp(x * 10, x.flip(1) * 10), False),
    "erf": (lambda L, x: L.erf(x), False),
    "nansum": (lambda L, x: L.nansum(L.log(x + 1), 1), False),
    "nanmean": (lambda L, x: L.log(x + 1).nanmean(0, keepdim=True), False),
    "tensordot": (lambda L, x: L.tensordot(x, x.flip(0), dims=([0], [0])), False),
    "tensordot_int": (lambda L, x: L.tensordot(x.reshape(2, 2, 6), x.reshape(6, 2, 2), dims=1), False),
    "addmm": (lambda L, x: L.addmm(x[:, 0], x, x.t(), beta=0.5, alpha=2.0), False),
    "addmm_beta0": (lambda L, x: x[0, :4].addmm(x, x.t(), beta=0), False),
    "baddbmm": (lambda L, x: L.baddbmm(x[0, :2], x.reshape(2, 2, 6), x.reshape(2, 6, 2), alpha=-1.5), False),
    "var_mean": (lambda L, x: L.stack(list(L.var_mean(x, 1, correction=2))), False),
    "std_mean": (lambda L, x: L.stack(list(L.std_mean(x, 0, unbiased=False, keepdim=True))), False),
    "std_mean_all": (lambda L, x: L.stack(list(L.std_mean(x))), False),
    "cosine_similarity": (lambda L, x: L.cosine_similarity(x, x.flip(0)), False),
    "pairwise_distance": (lambda L, x: L.pairwise_distance(x, x.flip(0), keepdim=True), False),
    "pairwise_distance_p1": (lambda L, x: L.nn.functional.pairwise_distance(x, x.flip(1), p=1), False),
    "cdist": (lambda L, x: L.cdist(x, x.flip(1)), False),
    "cdist_mm": (lambda L, x: L.cdist(x, x.flip(1), compute_mode="use_mm_for_euclid_dist"), False),
    "cdist_p1": (lambda L, x: L.cdist(x.reshape(2, 2, 6), x.reshape(2, 2, 6).flip(1), p=1), False),
    "conv2d": (lambda L, x: L.conv2d(x.reshape(1, 1, 4, 6), x[:2, :2].reshape(1, 1, 2, 2), None, 1, 1), False),
}


@pytest.mark.parametrize("name", sorted(_FUNCTIONS))
def test_values_and_gradients_match_torch(name):
    x = np.random.default_rng(11).normal(size=(4, 6)).astype(np.float32)
    fn, exact = _FUNCTIONS[name]
    weights = lambda shape: np.random.default_rng(12).normal(size=shape).astype(np.float32)     # noqa: E731
    (ours, our_grad), (theirs, their_grad) = (_value_and_grad(lib, fn, x, weights) for lib in (eager_api, torch))
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    if exact:
        assert np.array_equal(ours, theirs, equal_nan=True)
        assert np.array_equal(our_grad, their_grad)
        return
    np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=1e-6 * np.nanmax(np.abs(theirs)))
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-5, atol=1e-6 * np.abs(their_grad).max())


@pytest.mark.parametrize("row", [[0.5, 0.0, 2.0, -0.7, 1.5], [0.0, 1.5, 0.0, 3.0, 2.0], [1.5, -2.0, 0.7, 1.1, 0.0],
                                 [0.9, 1.2, -0.6, 2.5, -1.4]])
def test_cumprod_gradient_with_zeros_matches_torch(row):
    x = np.array([row, row[::-1]], np.float32)
    w = np.linspace(-1, 2, x.size, dtype=np.float32).reshape(x.shape)
    ours, theirs = (_value_and_grad(lib, lambda L, t: L.cumprod(t, 1), x, lambda s: w) for lib in (eager_api, torch))
    assert np.array_equal(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6, atol=1e-7)


def _both(fn):
    return fn(eager_api), fn(torch)


def _same(a, b):
    if isinstance(a, tuple):
        assert len(a) == len(b)
        for p, q in zip(a, b):
            _same(p, q)
        return
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1] and tuple(a.shape) == tuple(b.shape)
    assert np.array_equal(a.numpy(), b.numpy(), equal_nan=True)


_INT = np.array([[3, 0, 2, 3], [0, 7, 2, 1]])
_FLOATS = np.array([1.0, np.nan, 1.0 + 1e-6, np.inf, -np.inf, 0.0, 2.5, np.nan], np.float32)


@pytest.mark.parametrize("case", {
    "nonzero": lambda L: L.nonzero(L.tensor(_INT)),
    "nonzero_tuple": lambda L: L.tensor(_INT).nonzero(as_tuple=True),
    "nonzero_0d": lambda L: L.nonzero(L.tensor(0.0)),
    "nonzero_0d_tuple": lambda L: L.nonzero(L.tensor(2.0), as_tuple=True),
    "count_nonzero": lambda L: L.count_nonzero(L.tensor(_INT), 1),
    "count_nonzero_all": lambda L: L.tensor(_FLOATS).count_nonzero(),
    "trace_int": lambda L: L.trace(L.tensor(_INT, dtype=L.int32)),
    "isclose": lambda L: L.isclose(L.tensor(_FLOATS), L.tensor(_FLOATS).flip(0)),
    "isclose_nan": lambda L: L.tensor(_FLOATS).isclose(L.tensor(_FLOATS[::-1].copy()), 1e-3, 0.5, True),
    "isclose_int": lambda L: L.isclose(L.tensor(_INT), L.tensor(_INT).flip(1), atol=1),
    "isclose_bool": lambda L: L.isclose(L.tensor(_INT > 1), L.tensor(_INT > 2)),
    "diff_bool": lambda L: L.diff(L.tensor(_INT > 1), dim=0),
    "diff_int": lambda L: L.tensor(_INT).diff(n=3),
    "diff_n_past_size": lambda L: L.tensor(_INT).diff(n=6),
    "nansum_int": lambda L: L.nansum(L.tensor(_INT, dtype=L.int32)),
    "cumprod_int": lambda L: L.cumprod(L.tensor(_INT, dtype=L.int32), 1),
    "cumprod_float64": lambda L: L.cumprod(L.tensor(_INT), 0, dtype=L.float64),
    "unique": lambda L: L.unique(L.tensor(_INT)),
    "unique_all": lambda L: L.unique(L.tensor(_INT), return_inverse=True, return_counts=True),
    "unique_nan": lambda L: L.tensor(_FLOATS).unique(return_counts=True),
    "unique_unsorted": lambda L: L.unique(L.tensor(np.random.default_rng(1).integers(0, 50, 200)), sorted=False,
                                          return_inverse=True),
    "bincount": lambda L: L.bincount(L.tensor(_INT[0])),
    "bincount_minlength": lambda L: L.tensor(_INT[1]).bincount(minlength=10),
    "bincount_weights": lambda L: L.bincount(L.tensor(np.random.default_rng(2).integers(0, 5, 100)),
                                             L.tensor(np.random.default_rng(3).normal(size=100).astype(np.float32))),
    "bincount_int_weights": lambda L: L.bincount(L.tensor(_INT[1]), L.tensor(_INT[0])),
    "hypot_inf": lambda L: L.hypot(L.tensor(_FLOATS), L.tensor(_FLOATS).flip(0)),
    "logaddexp_inf": lambda L: L.logaddexp(L.tensor(_FLOATS), L.tensor(_FLOATS).flip(0)),
}.items(), ids=lambda c: c[0] if isinstance(c, tuple) else c)
def test_integer_and_selection_results_are_torchs(case):
    _same(*_both(case[1]))


def test_allclose_matches_torch():
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.0, "atol": 0.0}):
        a, b = _both(lambda L: L.tensor(_FLOATS).allclose(L.tensor(_FLOATS), **kw))
        assert a is b
        a, b = _both(lambda L: L.allclose(L.tensor(_FLOATS[:4]), L.tensor(_FLOATS[:4]) * (1 + 1e-6), **kw))
        assert a is b


@pytest.mark.parametrize("call", [
    lambda L: L.masked_select(L.ones(3), L.ones(3)),
    lambda L: L.trace(L.ones(2, 2, 2)),
    lambda L: L.diff(L.ones(3), n=-1),
    lambda L: L.diff(L.ones(2, 3), prepend=L.ones(3, 1)),
    lambda L: L.isclose(L.ones(2), L.ones(2, dtype=L.float64)),
    lambda L: L.isclose(L.ones(2), L.ones(2), atol=-1),
    lambda L: L.nanmean(L.tensor([1, 2])),
    lambda L: L.cdist(L.ones(3), L.ones(3)),
    lambda L: L.cdist(L.ones(2, 3), L.ones(2, 4)),
    lambda L: L.tensordot(L.ones(2, 3), L.ones(4, 3), dims=([1], [0])),
    lambda L: L.addmm(L.ones(2, 2), L.ones(2, 3), L.ones(2, 3)),
    lambda L: L.aminmax(L.ones(0)),
    lambda L: L.aminmax(L.ones(2, 0), dim=1),
    lambda L: L.bincount(L.tensor([-1, 2])),
    lambda L: L.bincount(L.tensor([[1]])),
    lambda L: L.bincount(L.tensor([1.0])),
    lambda L: L.bincount(L.tensor([1, 2]), minlength=-1),
    lambda L: L.bincount(L.tensor([1, 2]), L.ones(3)),
])
def test_errors_are_torchs(call):
    errors = []
    for lib in (eager_api, torch):
        with pytest.raises(Exception) as info:
            call(lib)
        errors.append(info.value)
    ours, theirs = errors
    assert isinstance(ours, type(theirs)), (ours, theirs)
    assert str(ours).strip('"') == str(theirs).split("\n")[0].strip('"')


# name -> (a function of the library and a float32 (2, 6, 5, 4) tensor, whether PyTorch's bits are expected)
_LAYERS = {
    "adaptive_max_pool2d": (lambda L, x: L.nn.AdaptiveMaxPool2d((3, 3))(x), True),
    "adaptive_max_pool2d_none": (lambda L, x: L.nn.functional.adaptive_max_pool2d(x[0], (None, 3)), True),
    "adaptive_avg_pool1d": (lambda L, x: L.nn.AdaptiveAvgPool1d(3)(x.reshape(2, 6, 20)), False),
    "channel_shuffle": (lambda L, x: L.nn.ChannelShuffle(3)(x), True),
    "dropout1d_eval": (lambda L, x: L.nn.Dropout1d(0.4).eval()(x[0]), True),
    "local_response_norm": (lambda L, x: L.nn.LocalResponseNorm(3, 0.5, 0.6, 1.5)(x), False),
    "local_response_norm_3d": (lambda L, x: L.nn.functional.local_response_norm(x[0], 4), False),
    "cosine_similarity": (lambda L, x: L.nn.CosineSimilarity(dim=2)(x, x.flip(0)), False),
    "pairwise_distance": (lambda L, x: L.nn.PairwiseDistance(1.0, keepdim=True)(x, x.flip(1)), False),
    "margin_ranking": (lambda L, x: L.nn.MarginRankingLoss(0.2)(x[0, 0], x[1, 0], (x[0, 1] > 0).float() * 2 - 1),
                       False),
    "triplet": (lambda L, x: L.nn.TripletMarginLoss(1.5)(x[0, 0], x[1, 0], x[0, 1]), False),
    "triplet_swap": (lambda L, x: L.nn.functional.triplet_margin_loss(x[0, 0], x[1, 0], x[0, 1] * 0.1, swap=True,
                                                                     p=1, reduction="none"), False),
    "cosine_embedding": (lambda L, x: L.nn.CosineEmbeddingLoss(0.1, reduction="sum")(
        x[0, 0], x[1, 0], L.tensor([1, -1, 1, -1, 1])), False),
    "poisson": (lambda L, x: L.nn.PoissonNLLLoss()(x, x.flip(0).abs().detach()), False),
    "poisson_full": (lambda L, x: L.nn.PoissonNLLLoss(log_input=False, full=True, reduction="none")(
        x.abs() + 0.1, x.flip(0).abs().detach() * 3), False),
    "gaussian": (lambda L, x: L.nn.GaussianNLLLoss()(x[0], x[1], x[0, :, :, :1].abs() + 0.5), False),
    "gaussian_short_var": (lambda L, x: L.nn.functional.gaussian_nll_loss(x[0], x[1], x[0, :, :, 0].abs(),
                                                                          full=True, reduction="none"), False),
    "multilabel": (lambda L, x: L.nn.MultiLabelSoftMarginLoss(weight=L.linspace(0.5, 2, 4))(
        x[0, 0], (x[1, 0] > 0).float()), False),
}


@pytest.mark.parametrize("name", sorted(_LAYERS))
def test_layers_and_losses_match_torch(name):
    x = np.random.default_rng(13).normal(size=(2, 6, 5, 4)).astype(np.float32)
    fn, exact = _LAYERS[name]
    weights = lambda shape: np.random.default_rng(14).normal(size=shape).astype(np.float32)     # noqa: E731
    (ours, our_grad), (theirs, their_grad) = (_value_and_grad(lib, fn, x, weights) for lib in (eager_api, torch))
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    if exact:
        assert np.array_equal(ours, theirs) and np.array_equal(our_grad, their_grad)
        return
    np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=1e-6 * np.abs(theirs).max())
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-5, atol=1e-6 * np.abs(their_grad).max())


def test_adaptive_max_pool2d_indices_match_torch():
    x = np.random.default_rng(15).normal(size=(2, 3, 7, 5)).astype(np.float32)
    x[0, 0, :2, :2] = 3.0           # a tie: the first in row-major order wins in both
    (_, ours), (_, theirs) = _both(lambda L: L.nn.functional.adaptive_max_pool2d(L.tensor(x), (4, 2), True))
    assert ours.dtype == eager_api.int64 and np.array_equal(ours.numpy(), theirs.numpy())


def test_parameter_containers_match_torch():
    for lib in (eager_api, torch):
        pl = lib.nn.ParameterList([lib.ones(2), lib.zeros(3)])
        pd = lib.nn.ParameterDict({"b": lib.ones(1), "a": lib.ones(2)})
        names = ([n for n, _ in pl.named_parameters()], [n for n, _ in pd.named_parameters()], list(pd.keys()))
        types = [type(p).__name__ for p in list(pl) + list(pd.values())]
        if lib is eager_api:
            ours = names, types
    assert ours == (names, types)


def _optimizer_run(lib, name, kw, dtype, steps, keys):
    """One parameter of 300 values stepped by ``lib``'s optimizer on gradients of changing scales, some zero
    and some flipping sign: (the state's ``keys`` as arrays, the weights)."""
    w0 = np.random.default_rng(1).normal(size=(300,)).astype(dtype)
    p = lib.tensor(w0.copy(), requires_grad=True)
    opt = getattr(lib.optim, name)([p], **kw)
    for s in range(steps):
        g = (np.random.default_rng(100 + s).normal(size=w0.shape) * 10.0 ** (s % 4 - 2)).astype(dtype)
        g[s * 10:s * 10 + 10] = 0.0
        opt.zero_grad()
        (p * lib.tensor(g)).sum().backward()
        opt.step()
    state = opt.state[p]
    return [np.asarray(state[k].numpy() if hasattr(state[k], "numpy") else state[k]) for k in keys], p.detach().numpy()


_OPTIMIZERS = [
    ("Adamax", {}, True), ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True), True),
    ("RAdam", {}, False), ("RAdam", dict(lr=0.01, weight_decay=0.1, betas=(0.8, 0.9)), False),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), False),
    ("NAdam", {}, False), ("NAdam", dict(weight_decay=0.1, decoupled_weight_decay=True), False),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01, maximize=True), False),
    ("Rprop", {}, True), ("Rprop", dict(lr=0.1, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True), True),
]
_STATE = {"Adamax": ("exp_avg", "exp_inf", "step"), "RAdam": ("exp_avg", "exp_avg_sq", "step"),
          "NAdam": ("exp_avg", "exp_avg_sq", "mu_product", "step"), "Rprop": ("prev", "step_size", "step")}


@pytest.mark.parametrize("name,kw,exact", _OPTIMIZERS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_optimizers_step_as_torch(name, kw, exact, dtype):
    """The state comes out bit for bit (the moments, the float32 mu_product, the Rprop sizes), and Adamax's and
    Rprop's weights; NAdam's and RAdam's steps divide by ATen's square root (MKL's, an ulp off the correctly
    rounded one for some values, float64 included), so their weights are within a few ulps of the largest."""
    (ours, w), (theirs, tw) = (_optimizer_run(lib, name, kw, dtype, 12, _STATE[name]) for lib in (eager_api, torch))
    for k, a, b in zip(_STATE[name], ours, theirs):
        assert np.array_equal(a, b), k
    if exact:
        assert np.array_equal(w, tw)
    else:
        np.testing.assert_allclose(w, tw, rtol=0, atol=4 * np.finfo(dtype).eps * np.abs(tw).max())


@pytest.mark.parametrize("kw", [dict(kernel_size=3),
                                dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(2, 1))])
def test_unfold_and_fold_give_torchs_bits(kw):
    x = np.random.default_rng(16).normal(size=(2, 3, 7, 6)).astype(np.float32)
    weights = lambda shape: np.random.default_rng(17).normal(size=shape).astype(np.float32)     # noqa: E731
    unfold = lambda L, t: L.nn.Unfold(**kw)(t)     # noqa: E731
    (ours, our_grad), (theirs, their_grad) = (_value_and_grad(lib, unfold, x, weights) for lib in (eager_api, torch))
    assert np.array_equal(ours, theirs) and np.array_equal(our_grad, their_grad)
    fold = lambda L, t: L.nn.Fold((7, 6), **kw)(t)     # noqa: E731
    (ours, our_grad), (theirs, their_grad) = (_value_and_grad(lib, fold, theirs, weights) for lib in (eager_api, torch))
    assert np.array_equal(ours, theirs) and np.array_equal(our_grad, their_grad)


@pytest.mark.parametrize("call", [lambda L: L.nn.functional.unfold(L.ones(1, 1, 3, 4, 4), 2),
                                  lambda L: L.nn.functional.fold(L.ones(1, 1, 4, 5), (3, 3), 2),
                                  lambda L: L.nn.functional.fold(L.ones(1, 4, 5), (3, 3), 2),
                                  lambda L: L.nn.functional.fold(L.ones(1, 5, 4), (3, 3), 2)])
def test_unfold_and_fold_errors_are_torchs(call):
    test_errors_are_torchs(call)


def test_cdist_takes_the_matrix_product_past_25_rows_as_torch():
    x = np.random.default_rng(18).normal(size=(30, 5)).astype(np.float32)
    y = np.random.default_rng(19).normal(size=(7, 5)).astype(np.float32)
    weights = lambda shape: np.random.default_rng(20).normal(size=shape).astype(np.float32)     # noqa: E731
    fn = lambda L, t: L.cdist(t, L.tensor(y))     # noqa: E731
    (ours, our_grad), (theirs, their_grad) = (_value_and_grad(lib, fn, x, weights) for lib in (eager_api, torch))
    mm = eager_api.cdist(eager_api.tensor(x), eager_api.tensor(y), compute_mode="use_mm_for_euclid_dist")
    assert np.array_equal(ours, mm.numpy())          # past 25 rows the default is the product's way
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-4, atol=1e-5)


def test_top_level_functions_match_pytorch():
    x = np.array([1.0, -2.5, 3.0, 0.7], np.float32)
    ints = np.array([7, -7, 6, -1])
    m = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)

    def run(t):
        a, i, c = t.tensor(x), t.tensor(ints), t.tensor(m)
        odd = t.tensor([float("nan"), float("inf"), -float("inf"), 1.0])
        return [t.add(1, a), t.add(a, a, alpha=0.3), t.sub(1.5, a), t.mul(3, a), t.div(7, a), t.div(i, 3),
                t.div(i, 3, rounding_mode="trunc"), t.div(i, 3, rounding_mode="floor"),
                t.div(a, 0.3, rounding_mode="trunc"), t.div(a, 0.3, rounding_mode="floor"), t.pow(2, a),
                t.pow(a, 2), t.logical_xor(a > 0, a > 1), t.dot(a, a), t.mv(c[0], a), t.diagonal(c, 1, 1, 2),
                t.diagonal(c, -1, 2, 0), t.nan_to_num(odd), t.nan_to_num(odd, 1.5, 2.5, -2.5),
                t.repeat_interleave(i, 2), t.repeat_interleave(c, t.tensor([1, 0, 2]), dim=1), t.hstack([c, c]),
                t.vstack([a, a]), t.ravel(c), t.negative(a)]
    for k, (ours, theirs) in enumerate(zip(run(eager_api), run(torch))):
        assert ours.numpy().dtype == theirs.numpy().dtype
        if k in (13, 14):       # dot and mv: products summed in BLAS's order
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
        else:
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("call", [lambda t: t.multinomial(t.tensor([[0.0, 1.0, 3.0]]), 4),
                                  lambda t: t.multinomial(t.tensor([[0.0, -1.0, 3.0]]), 1),
                                  lambda t: t.normal(t.zeros(2), t.tensor([1.0, -1.0])),
                                  lambda t: t.bernoulli(t.tensor([0.5, 1.5]))])
def test_sampling_errors_match_pytorch(call):
    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    with pytest.raises(RuntimeError) as ours:
        call(eager_api)
    assert str(ours.value).split("\n")[0] in str(theirs.value)


def test_more_top_level_functions_match_pytorch():
    x = np.array([[0.2, 0.7, 0.0], [0.9, 0.5, 0.3]], np.float32)
    v, w = np.array([1.0, -2.0, 3.0], np.float32), np.array([0.5, 2.0, -1.0], np.float32)

    def run(t):
        a = t.tensor(x)
        return [t.take_along_dim(a, t.tensor([[2, 0], [1, 1]]), 1), t.take_along_dim(a, t.tensor([[0], [2]]), dim=1),
                t.take_along_dim(a, t.tensor([4, 0])), t.isin(t.tensor([1, 2, 3, 4]), t.tensor([2, 4])),
                t.deg2rad(t.tensor(v)), t.rad2deg(t.tensor(v)), t.xlogy(a, a + 0.1),
                t.xlogy(t.tensor([0.0, 0.0, 1.0]), t.tensor([0.0, float("nan"), 2.0])),
                t.column_stack([t.tensor(v), t.tensor(w)]), t.atleast_2d(t.tensor(v)), t.atleast_3d(a),
                t.tril_indices(3, 4, 1), t.triu_indices(4, 3, -1), t.kron(a, a[:1, :2]), t.kron(t.tensor(v), t.tensor(w)),
                t.cross(a, t.flip(a, [0]), dim=1), t.broadcast_tensors(t.tensor(v), a)[0]]
    for ours, theirs in zip(run(eager_api), run(torch)):
        assert ours.numpy().dtype == theirs.numpy().dtype
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # logit: the same formula, ATen's log within a rounding of NumPy's
    np.testing.assert_allclose(eager_api.logit(eager_api.tensor(x), eps=1e-3).numpy(),
                               torch.logit(torch.tensor(x), eps=1e-3).numpy(), rtol=1e-6)


def test_quantiles_and_searches_match_pytorch():
    x = np.array([[1.0, 5.0, 2.0, np.nan], [3.0, 3.0, 0.0, 7.0]], np.float32)
    v = np.array([1.0, 5.0, 2.0, 4.0, 3.0], np.float32)

    def run(t):
        out = [t.quantile(t.tensor([1.0, 5.0, 2.0, 4.0]), 0.3), t.quantile(t.tensor(x), t.tensor([0.25, 0.5]), dim=1),
               t.nanquantile(t.tensor(x), 0.5, dim=1, keepdim=True), t.quantile(t.tensor(x[1:]), 0.7, keepdim=True),
               t.nanquantile(t.tensor(x), t.tensor([0.1, 0.9]), dim=0),
               t.searchsorted(t.tensor([1, 3, 5, 7]), t.tensor([3, 6, 9])),
               t.searchsorted(t.tensor([[1, 3, 5], [2, 4, 6]]), t.tensor([[3], [3]]), right=True),
               t.bucketize(t.tensor([1, 4, 7]), t.tensor([1, 3, 5]), right=True),
               t.bucketize(t.tensor([1.0, 4.0, 7.0]), t.tensor([1.0, 3.0, 5.0]), out_int32=True)]
        return out + [t.quantile(t.tensor(v), t.tensor([0.1, 0.375, 0.5, 0.875]), interpolation=m)
                      for m in ("linear", "lower", "higher", "nearest", "midpoint")]
    for ours, theirs in zip(run(eager_api), run(torch)):
        assert ours.numpy().dtype == theirs.numpy().dtype and tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    a, b = eager_api.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    eager_api.quantile(a, eager_api.tensor([0.3, 0.8])).sum().backward()
    torch.quantile(b, torch.tensor([0.3, 0.8])).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6)


def test_casts_strides_and_byte_counts_match_torch():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    seen = []
    for L in (eager_api, torch):
        t = L.tensor(x)
        views = [t, t.transpose(0, 2), t[:, 1:, ::2], t[1], t.unsqueeze(1).expand(2, 5, 3, 4), t.reshape(6, 4).t()]
        seen.append(([(v.stride(), v.nbytes, v.itemsize, v.ndimension()) for v in views],
                     [str(getattr(t, c)().dtype).replace("torch.", "") for c in ("half", "short", "byte", "char")]))
    assert seen[0] == seen[1]


CALLS = {
    "tensor_split": lambda L, x: L.stack([p.sum() for p in L.tensor_split(x, [1, 3, 9], dim=1)]),
    "hsplit": lambda L, x: L.hsplit(x, 2)[1] * 2,
    "dstack": lambda L, x: L.dstack([x, x * 3]),
    "take": lambda L, x: L.take(x, L.tensor(np.array([[0, -1], [5, 5]]))),
    "dist_3": lambda L, x: L.dist(x, x.flip(0), 3),
    "dist_inf": lambda L, x: L.dist(x, x[:1], float("inf")),
    "inner": lambda L, x: L.inner(x, x),
    "cov": lambda L, x: L.cov(x, correction=0, aweights=L.tensor(np.linspace(0.5, 2.0, 4).astype(np.float32))),
    "corrcoef": lambda L, x: L.corrcoef(x),
    "msort": lambda L, x: L.msort(x),
    "cartesian_prod": lambda L, x: L.cartesian_prod(x[0], x[1, :2]),
    "block_diag": lambda L, x: L.block_diag(x, x[0], x[1, 1]),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_composite_functions_match_torch(name):
    x = np.random.default_rng(5).normal(size=(3, 4)).astype(np.float32)
    res = []
    for L in (eager_api, torch):
        t = L.tensor(x, requires_grad=True)
        out = CALLS[name](L, t)
        (out * L.tensor(np.random.default_rng(1).normal(size=tuple(out.shape)).astype(np.float32))).sum().backward()
        res.append((out.detach().numpy(), t.grad.numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_compile_wrapper_matches_torch():
    # What a user sees of torch.compile without running it: the wrapper, its state_dict keys, the modes, errors.
    seen = []
    for L in (eager_api, torch):
        m = L.nn.Sequential(L.nn.Linear(3, 2), L.nn.ReLU())
        c = L.compile(m)
        c.eval()
        row = [type(c).__name__, list(c.state_dict()), [n for n, _ in c.named_modules()], m.training,
               c._orig_mod is m, L.compile(m, disable=True) is m]
        for kw in (dict(mode="fast"), dict(backend="nope"), dict(mode="default", options={})):
            try:
                L.compile(m, **kw)
                row.append(None)
            except Exception as exc:        # noqa: BLE001  (the words are what is compared)
                row.append(str(exc))
        seen.append(row)
    assert seen[0] == seen[1]
