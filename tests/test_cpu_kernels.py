"""The CPU kernels' own contract: ``out=`` buffers, no allocation in steady state, workspaces, threads."""
import math
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends import numba_kernels
from backends import numpy_kernels as K
from backends import threads
from backends.numpy_backend import NumpyBackend
from tests.op_table import conv_ref, pool_ref

R = np.random.default_rng(7)
P1 = ((1, 1), (1, 1, 1, 1), (1, 1))


@pytest.fixture(autouse=True)
def numpy_kernels(monkeypatch):
    """These are the NumPy kernels' tests: float32 convolutions would otherwise run through oneDNN and max
    pooling through numba where they are installed (tests/test_onednn.py and tests/test_numba_kernels.py check
    those paths against this one)."""
    monkeypatch.setenv("DUALFLOW_ONEDNN", "0")
    monkeypatch.setenv("DUALFLOW_NUMBA", "0")


@pytest.fixture(params=["numpy", "numba"])
def max_pool_path(request, monkeypatch):
    """Max pooling's tests run on both paths: the NumPy kernels and numba's (``backends/numba_kernels.py``),
    where the test fails unless numba's kernels ran."""
    if request.param == "numpy":
        yield
        return
    pytest.importorskip("numba", reason="numba is not installed: its kernels cannot run")
    monkeypatch.setenv("DUALFLOW_NUMBA", "1")
    ran = []
    for name in ("max_pool_call", "max_pool_grad_call"):
        kernel = getattr(numba_kernels, name)
        monkeypatch.setattr(numba_kernels, name, lambda *a, kernel=kernel: (ran.append(kernel), kernel(*a))[1])
    yield
    assert ran, "numba's max-pool kernels did not run"


def _numba_spy(monkeypatch, name):
    """numba's kernels switched on and ``numba_kernels.<name>`` counted: the list gets a 1 per call."""
    pytest.importorskip("numba", reason="numba is not installed: its kernels cannot run")
    monkeypatch.setenv("DUALFLOW_NUMBA", "1")
    ran = []
    kernel = getattr(numba_kernels, name)
    monkeypatch.setattr(numba_kernels, name, lambda *a: (ran.append(1), kernel(*a))[1])
    return ran


def _calls(fmt):
    """(name, kernel call writing into out) for each kernel of a small conv + pool + batch-norm layer."""
    be = NumpyBackend("cpu")
    f = np.float32
    if fmt == "NCHW":
        x, w, gy = [R.normal(size=s).astype(f) for s in ((16, 16, 32, 32), (5, 16, 3, 3), (16, 5, 32, 32))]
    else:
        x, w, gy = [R.normal(size=s).astype(f) for s in ((16, 32, 32, 16), (3, 3, 16, 5), (16, 32, 32, 5))]
    y, gx, gw = np.empty(gy.shape, f), np.empty(x.shape, f), np.empty(w.shape, f)
    pk = ((2, 2), (2, 2), (0, 0, 0, 0))
    py, idx = K.max_pool2d(x, *pk, fmt)
    pg = R.normal(size=py.shape).astype(f)
    outs = (np.empty(py.shape, f), np.empty(idx.shape, np.int32))
    ax = (0, 2, 3) if fmt == "NCHW" else (0, 1, 2)
    stats = tuple(1 if i in ax else n for i, n in enumerate(x.shape))
    gam, bet = np.ones(stats, f), np.zeros(stats, f)
    _, mean, var = be.batch_norm_train(x, gam, bet, ax, 1e-5)
    bn_y, bn_dx = np.empty(x.shape, f), np.empty(x.shape, f)
    bn_stats = (np.empty(stats, f), np.empty(stats, f))         # (mean, var) or (dgamma, dbeta)
    return [
        ("conv2d", lambda: K.conv2d(x, w, *P1, 1, fmt, out=y), y),
        ("conv2d_grad_input", lambda: K.conv2d_grad_input(gy, w, x.shape, *P1, 1, fmt, out=gx), gx),
        ("conv2d_grad_weight", lambda: K.conv2d_grad_weight(x, gy, w.shape, *P1, 1, fmt, out=gw), gw),
        ("max_pool2d", lambda: K.max_pool2d(x, *pk, fmt, out=outs)[0], outs[0]),
        ("max_pool2d_grad", lambda: K.max_pool2d_grad(pg, idx, x.shape, *pk, fmt, out=gx), gx),
        ("avg_pool2d", lambda: K.avg_pool2d(x, *pk, False, fmt, out=outs[0]), outs[0]),
        ("avg_pool2d_grad", lambda: K.avg_pool2d_grad(pg, x.shape, *pk, False, fmt, out=gx), gx),
        ("batch_norm_train", lambda: be.batch_norm_train(x, gam, bet, ax, 1e-5, out=(bn_y, *bn_stats))[0], bn_y),
        ("batch_norm_train_grad",
         lambda: be.batch_norm_train_grad(x, x, gam, mean, var, ax, 1e-5, out=(bn_dx, *bn_stats))[0], bn_dx),
    ]


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
def test_kernels_write_into_out_and_allocate_nothing_of_the_data_size_once_warm(fmt):
    for name, call, out in _calls(fmt):
        assert call() is out, name
        tracemalloc.start()
        call()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # Views, per-channel statistics, and NumPy's ufunc iterator buffers for strided operands (up to 8192
        # elements per operand, whatever the array's size, in each of the kernel's threads at once): below the
        # smallest array here (256 KiB) per thread.
        bound = threads.get_num_threads() * 3 * 8192 * 4 + (16 << 10)
        assert peak < bound, f"{name} allocated {peak} bytes in steady state"


def test_out_of_the_wrong_shape_is_refused_by_name():
    x, w = R.normal(size=(2, 3, 5, 5)), R.normal(size=(4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: argument 'out' expected a C-contiguous float64 array of shape "
                                         r"\(2, 4, 5, 5\)"):
        K.conv2d(x, w, *P1, out=np.empty((2, 4, 5, 4)))


def test_chunked_columns_give_the_same_result_as_one_chunk(monkeypatch):
    # Several chunks with a short last one (7 = 3 + 3 + 1): the zero border of the reused buffer stays zero.
    x, w = R.normal(size=(7, 2, 6, 5)), R.normal(size=(3, 2, 3, 3))
    per_sample = 2 * 9 * 30 * 8
    monkeypatch.setattr(K, "CHUNK_BYTES", 3 * per_sample)
    K.WORKSPACES.clear()
    got = K.conv2d(x, w, (1, 1), (1, 1, 1, 1), (1, 1))
    got2 = K.conv2d(x, w, (1, 1), (1, 1, 1, 1), (1, 1))
    ref = conv_ref(x, w, (1, 1), 1, (1, 1))
    np.testing.assert_allclose(got, ref, atol=1e-12)
    np.testing.assert_allclose(got2, ref, atol=1e-12)


def test_max_pool_padding_starts_each_window_at_its_first_in_bounds_tap(max_pool_path):
    # A window of -inf values keeps the first in-bounds position, as PyTorch's CPU kernel.
    x = np.full((1, 1, 3, 3), -np.inf)
    y, idx = K.max_pool2d(x, (3, 3), (2, 2), (1, 1, 1, 1))
    assert idx.ravel().tolist() == [0, 1, 3, 4]
    x = R.normal(size=(2, 3, 7, 6))
    np.testing.assert_array_equal(K.max_pool2d(x, (3, 3), (2, 2), (1, 1, 1, 1))[0],
                                  pool_ref(x, (3, 3), (2, 2), 1, "max"))


def test_workspaces_are_reused_and_bounded():
    ws = K.Workspaces(limit=1000)
    a = ws.get(("a",), (10,), np.float64)
    assert ws.get(("a",), (10,), np.float64) is a
    ws.get(("b",), (120,), np.float64)           # 960 bytes: the total passes the limit, the oldest goes
    assert ws.get(("a",), (10,), np.float64) is not a


def test_set_num_threads_reaches_the_blas_library_and_small_gemms_run_on_one():
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(2)
        libs = threads._blas()
        assert libs and all(lib.get_num_threads() == 2 for lib in libs)
        with threads.gemm_threads(threads.MIN_PARALLEL_FLOPS / 2):
            assert all(lib.get_num_threads() == 1 for lib in libs)
        with threads.gemm_threads(threads.MIN_PARALLEL_FLOPS * 2):
            assert all(lib.get_num_threads() == 2 for lib in libs)
        assert all(lib.get_num_threads() == 2 for lib in libs)
        # A kernel bound once (a planned step's product) runs as the block would run it, decided when bound.
        seen = []
        probe = lambda: seen.append([lib.get_num_threads() for lib in libs])
        small, large = threads.within(threads.MIN_PARALLEL_FLOPS / 2, probe), threads.within(1e12, probe)
        assert large is probe and small is not probe
        small()
        large()
        assert seen == [[1] * len(libs), [2] * len(libs)]
        assert all(lib.get_num_threads() == 2 for lib in libs)
        with pytest.raises(ValueError, match="set_num_threads: expected a positive int, got 0"):
            threads.set_num_threads(0)
    finally:
        threads.set_num_threads(before)


def test_the_environment_sets_the_count_and_torch_set_num_threads_changes_it():
    code = ("import eager_api as torch; from backends import threads; a = threads.get_num_threads(); "
            "torch.set_num_threads(2); print(a, threads.get_num_threads(), torch.get_num_threads())")
    env = {"PATH": "", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "2", "PYTHONPATH": "."}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["1", "2", "2"]


@pytest.mark.parametrize("fmt,groups", [("NCHW", 1), ("NHWC", 1), ("NHWC", 2), ("NCHW", 2)])
def test_chunks_on_two_threads_give_the_single_thread_results(monkeypatch, fmt, groups):
    x, w, gy = R.normal(size=(9, 4, 7, 6)), R.normal(size=(6, 4 // groups, 3, 3)), R.normal(size=(9, 6, 4, 3))
    if fmt == "NHWC":
        x, w, gy = x.transpose(0, 2, 3, 1).copy(), w.transpose(2, 3, 1, 0).copy(), gy.transpose(0, 2, 3, 1).copy()
    p = ((2, 2), (1, 1, 1, 1), (1, 1))
    calls = [lambda: K.conv2d(x, w, *p, groups, fmt), lambda: K.conv2d_grad_input(gy, w, x.shape, *p, groups, fmt),
             lambda: K.conv2d_grad_weight(x, gy, w.shape, *p, groups, fmt)]
    before = threads.get_num_threads()
    monkeypatch.setattr(K, "CHUNK_BYTES", 1)          # one sample per chunk: 9 chunks
    try:
        threads.set_num_threads(1)
        want = [c() for c in calls]
        threads.set_num_threads(2)
        monkeypatch.setattr(K, "PARALLEL_MIN_FLOPS", 0)
        for c, ref in zip(calls, want):
            np.testing.assert_allclose(c(), ref, rtol=1e-12, atol=1e-12)
    finally:
        threads.set_num_threads(before)


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
def test_pooling_split_over_two_threads_gives_the_single_thread_results(monkeypatch, fmt, max_pool_path):
    x = R.normal(size=(5, 3, 7, 6))
    if fmt == "NHWC":
        x = x.transpose(0, 2, 3, 1).copy()
    pk = ((3, 3), (2, 2), (1, 1, 1, 1))
    y, idx = K.max_pool2d(x, *pk, fmt)
    gy = R.normal(size=y.shape)
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(2)
        monkeypatch.setattr(K, "PARALLEL_MIN_ELEMENTS", 0)
        y2, idx2 = K.max_pool2d(x, *pk, fmt)
        np.testing.assert_array_equal(y2, y)
        np.testing.assert_array_equal(idx2, idx)
        want = _one_thread(lambda: K.max_pool2d_grad(gy, idx, x.shape, *pk, fmt))
        np.testing.assert_array_equal(K.max_pool2d_grad(gy, idx, x.shape, *pk, fmt), want)
    finally:
        threads.set_num_threads(before)


def _one_thread(call):
    before = threads.get_num_threads()
    threads.set_num_threads(1)
    try:
        return call()
    finally:
        threads.set_num_threads(before)


def test_batch_norm_split_over_channels_on_two_threads_gives_the_single_thread_results(monkeypatch):
    be = NumpyBackend("cpu")
    x, gy = R.normal(size=(4, 6, 5, 3)) + 2.0, R.normal(size=(4, 6, 5, 3))
    gam, bet = R.normal(size=(1, 6, 1, 1)), R.normal(size=(1, 6, 1, 1))
    ax = (0, 2, 3)

    def both():
        y, mean, var = be.batch_norm_train(x, gam, bet, ax, 1e-5)
        return (y, mean, var) + be.batch_norm_train_grad(gy, x, gam, mean, var, ax, 1e-5)
    want = _one_thread(both)
    np.testing.assert_allclose(want[1], x.mean(ax, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(want[2], x.var(ax, keepdims=True), rtol=1e-12)
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(2)
        monkeypatch.setattr(K, "PARALLEL_MIN_ELEMENTS", 0)
        for got, ref in zip(both(), want):
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14)
    finally:
        threads.set_num_threads(before)


def test_max_pool_indices_of_wide_planes_and_the_nan_fallback(max_pool_path):
    # Offsets past int8's range (the tap numbers are int8, the offsets int32), and a NaN or +inf beside -inf
    # in the result sends the unpadded path to the general one (the last NaN wins there, as in PyTorch).
    x = R.normal(size=(1, 2, 4, 300))
    y, idx = K.max_pool2d(x, (2, 2), (2, 2), (0, 0, 0, 0))
    np.testing.assert_array_equal(y, pool_ref(x, (2, 2), (2, 2), 0, "max"))
    picked = np.take_along_axis(x.reshape(1, 2, -1), idx.reshape(1, 2, -1), -1)
    np.testing.assert_array_equal(picked.reshape(y.shape), y)
    x = np.array([[[[1.0, np.nan, np.nan, 2.0], [np.inf, 0.0, -np.inf, -np.inf]]]])
    y, idx = K.max_pool2d(x, (2, 2), (2, 2), (0, 0, 0, 0))
    assert np.isnan(y[0, 0, 0, 0]) and idx.ravel().tolist() == [1, 2]


def test_a_forked_child_runs_threaded_kernels_with_its_own_pool(monkeypatch):
    import multiprocessing
    before = threads.get_num_threads()
    monkeypatch.setattr(K, "PARALLEL_MIN_FLOPS", 0)
    monkeypatch.setattr(K, "CHUNK_BYTES", 1)
    x, w = R.normal(size=(4, 2, 5, 5)), R.normal(size=(3, 2, 3, 3))
    try:
        threads.set_num_threads(2)
        want = K.conv2d(x, w, *P1)          # the parent's pool now has a worker thread
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(1) as pool:
            got = pool.apply_async(K.conv2d, (x, w) + P1).get(timeout=60)
        np.testing.assert_allclose(got, want)
    finally:
        threads.set_num_threads(before)


def test_cached_geometries_and_planes_are_keyed_by_every_argument():
    # The kernels keep one geometry (taps, runs, pooling planes) per distinct set of arguments: calls that share
    # every shape but differ in one argument, alternating, must each get their own.
    x, w = R.normal(size=(2, 3, 7, 6)), R.normal(size=(4, 3, 3, 3))
    convs = [((1, 1), (1, 1, 1, 1), (1, 1)), ((1, 1), (0, 2, 1, 0), (1, 1)), ((2, 1), (1, 1, 1, 1), (1, 1)),
             ((1, 1), (1, 1, 1, 1), (2, 1))]
    for _ in range(2):
        for s, p, d in convs:
            np.testing.assert_allclose(K.conv2d(x, w, s, p, d), conv_ref(x, w, s, p, d), atol=1e-12)
    pools = [((2, 2), (2, 2), (0, 0, 0, 0)), ((3, 3), (2, 2), (1, 1, 1, 1)), ((3, 3), (2, 2), (0, 1, 1, 0)),
             ((3, 2), (1, 2), (1, 1, 0, 1))]
    for _ in range(2):
        for k, s, p in pools:
            np.testing.assert_array_equal(K.max_pool2d(x, k, s, p)[0], pool_ref(x, k, s, p, "max"))
            for dt in (np.float64, np.float32):     # the divisor plane per dtype
                got = K.avg_pool2d(x.astype(dt), k, s, p, False)
                assert got.dtype == dt
                # float32: inputs of size ~1 summed, so an absolute float32 rounding bound (a mean near 0 has
                # no relative one)
                np.testing.assert_allclose(got, pool_ref(x, k, s, p, "avg", False),
                                           **({"rtol": 1e-5, "atol": 1e-6} if dt is np.float32 else {"rtol": 1e-12}))
    # NHWC and NCHW of one shape are different geometries too.
    xh = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(K.max_pool2d(xh, (2, 2), (2, 2), (0, 0, 0, 0), "NHWC")[0],
                                  pool_ref(x, (2, 2), (2, 2), 0, "max").transpose(0, 2, 3, 1))


def _first_argmax_ref(x, k, s):
    """Per window (unpadded, NCHW) the flat index h*W + w of the first maximum in scan order, by loops."""
    n, c, h, w = x.shape
    oh, ow = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
    out = np.zeros((n, c, oh, ow), np.int64)
    for a in range(n):
        for b in range(c):
            for i in range(oh):
                for j in range(ow):
                    best = None
                    for p in range(k[0]):
                        for q in range(k[1]):
                            hh, ww = i * s[0] + p, j * s[1] + q
                            if best is None or x[a, b, hh, ww] > x[a, b, best // w, best % w]:
                                best = hh * w + ww
                    out[a, b, i, j] = best
    return out


@pytest.mark.parametrize("k,s", [((1, 1), (1, 1)), ((2, 2), (2, 2)), ((3, 3), (1, 1)), ((2, 3), (3, 2)),
                                 ((3, 5), (2, 1))])
def test_max_pool_ties_pick_the_first_maximum_in_scan_order(k, s, max_pool_path):
    # Small integers: most windows hold several equal maxima (and -0.0 beside 0.0), in both layouts.
    x = R.integers(-2, 2, size=(2, 3, 9, 11)).astype(np.float32)
    x[x == 0] = np.where(R.random(np.count_nonzero(x == 0)) < 0.5, -0.0, 0.0)
    ref = _first_argmax_ref(x, k, s)
    y, idx = K.max_pool2d(x, k, s, (0, 0, 0, 0))
    np.testing.assert_array_equal(idx, ref)
    np.testing.assert_array_equal(y, pool_ref(x, k, s, 0, "max"))
    yh, idxh = K.max_pool2d(np.ascontiguousarray(x.transpose(0, 2, 3, 1)), k, s, (0, 0, 0, 0), "NHWC")
    np.testing.assert_array_equal(idxh, ref.transpose(0, 2, 3, 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "numba"])
def test_one_column_matmul_is_bitwise_numpys(dtype, compiled, monkeypatch):
    # The outer-product path (a dense weight gradient at batch 1) gives matmul's bits, signed zeros, infinities
    # and NaNs included, as a new array, into ``out``, and for transposed views; NumPy's and numba's alike.
    ran = []
    if compiled:
        pytest.importorskip("numba", reason="numba is not installed: its kernels cannot run")
        monkeypatch.setenv("DUALFLOW_NUMBA", "1")
        kernel = numba_kernels.outer_call
        monkeypatch.setattr(numba_kernels, "outer_call", lambda *a: ran.append(kernel(*a) is not None) or kernel(*a))
    be = NumpyBackend("cpu")
    a = R.normal(size=(7, 1)).astype(dtype)
    b = R.normal(size=(1, 300)).astype(dtype)
    a[:3, 0] = [0.0, -0.0, np.inf]
    b[0, :4] = [-0.0, 0.0, np.nan, 1e-300 if dtype is np.float64 else 1e-30]
    a[4, 0] = -1e-300 if dtype is np.float64 else -1e-30        # products that underflow to -0.0
    with np.errstate(invalid="ignore"):     # inf * 0: NumPy's matmul warns as the multiply does
        want, got = np.matmul(a, b), be.matmul(a, b)
        out = np.empty((300, 7), dtype)
        assert be.matmul(b.T, a.T, out=out) is out
        want_t = np.matmul(b.T, a.T)
    assert got.dtype == dtype and got.flags.c_contiguous
    np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))
    np.testing.assert_array_equal(out.view(np.uint8), want_t.view(np.uint8))
    big = R.normal(size=(3, 4)).astype(dtype), R.normal(size=(4, 5)).astype(dtype)   # the ordinary path
    np.testing.assert_array_equal(be.matmul(*big), np.matmul(*big))
    assert ran == ([True, True] if compiled else [])


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
def test_small_columns_filled_from_a_padded_image_equal_the_tap_by_tap_fill(monkeypatch, fmt):
    # The two ways to build the columns (one strided copy of a zero-bordered image below SMALL_FILL, tap by tap
    # above) give the same bits, for strides, dilation, groups and uneven padding; repeated calls and a second
    # batch size reuse the cached views correctly.
    cases = [((1, 1), (1, 1, 1, 1), (1, 1), 1), ((2, 2), (0, 1, 2, 0), (1, 1), 1), ((1, 2), (2, 2, 1, 1), (2, 1), 1),
             ((2, 1), (1, 0, 0, 1), (1, 1), 2), ((3, 3), (0, 0, 0, 0), (1, 1), 1)]
    for stride, pads, dil, groups in cases:
        got = {}
        for small in (1 << 30, 0):
            monkeypatch.setattr(K, "SMALL_FILL", small)
            for n in (3, 1, 3):
                x = np.random.default_rng(n).normal(size=(n, 4, 9, 8))
                w = np.random.default_rng(5).normal(size=(6, 4 // groups, 3, 2))
                gy_shape = K._geometry(x.shape, w.shape, stride, pads, dil, groups, "NCHW").y_shape()
                gy = np.random.default_rng(7).normal(size=gy_shape)
                if fmt == "NHWC":
                    x, gy = x.transpose(0, 2, 3, 1).copy(), gy.transpose(0, 2, 3, 1).copy()
                    w = w.transpose(2, 3, 1, 0).copy()
                y = K.conv2d(x, w, stride, pads, dil, groups, fmt)
                dw = K.conv2d_grad_weight(x, gy, w.shape, stride, pads, dil, groups, fmt)
                got.setdefault(small, []).append((y, dw))
                if fmt == "NCHW" and small == 0:
                    cg, og = 4 // groups, 6 // groups
                    ref = [conv_ref(x[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og], stride, pads, dil)
                           for g in range(groups)]
                    np.testing.assert_allclose(y, np.concatenate(ref, 1), atol=1e-12)
        for (a, b), (c, d) in zip(got[1 << 30], got[0]):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)


@pytest.mark.parametrize("k,s,pads", [((2, 2), (2, 2), (0, 0, 0, 0)), ((2, 2), (2, 2), (0, 1, 1, 0)),
                                      ((3, 3), (2, 2), (1, 1, 1, 1)), ((2, 2), (3, 3), (0, 0, 0, 0))],
                         ids=["tiles", "padded", "overlapping", "gaps"])
@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
def test_max_pool_gradient_scatters_into_zeros_whatever_the_gradient_holds(k, s, pads, fmt, max_pool_path):
    """Each window's gradient goes to its winner and nowhere else, as PyTorch's and TF's scatter into zeros:
    a NaN or infinite gradient stays at the winner (g * 0 at the others spread it over the window)."""
    x = R.normal(size=(2, 3, 7, 8)).astype(np.float32)
    if fmt == "NHWC":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    y, idx = K.max_pool2d(x, k, s, pads, fmt)
    for special in (False, True):
        gy = R.normal(size=y.shape).astype(np.float32)
        if special:
            gy.flat[[0, 5, 9]] = [np.nan, np.inf, -np.inf]
        with np.errstate(invalid="ignore"):       # inf + -inf where overlapping windows share a winner
            got = K.max_pool2d_grad(gy, idx, x.shape, k, s, pads, fmt)
        # reference: a plain loop adding each gradient at its winner's position in its plane
        want = np.zeros(x.shape)        # float64: overlapping windows add in another order than the taps
        nchw = fmt == "NCHW"
        n_, c_ = x.shape[0], x.shape[1] if nchw else x.shape[3]
        w_ = x.shape[3] if nchw else x.shape[2]
        for n in range(n_):
            for c in range(c_):
                plane = want[n, c] if nchw else want[n, :, :, c]
                g_plane, i_plane = (gy[n, c], idx[n, c]) if nchw else (gy[n, :, :, c], idx[n, :, :, c])
                for g, i in zip(g_plane.ravel(), i_plane.ravel()):
                    with np.errstate(invalid="ignore"):
                        plane[i // w_, i % w_] += g
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)  # NaN and infinities where the loop has them
        assert np.isnan(got).sum() == np.isnan(want).sum() and ((got == 0) == (want == 0)).all()


def _max_pool_winner_ref(x, k, s, pads):
    """Per window (NCHW) the flat index of the winner by loops, PyTorch's rule: the window's first in-bounds
    tap to start with, then in scan order any tap greater than the best so far, or NaN, takes over."""
    n, c, h, w = x.shape
    oh = (h + pads[0] + pads[1] - k[0]) // s[0] + 1
    ow = (w + pads[2] + pads[3] - k[1]) // s[1] + 1
    out = np.zeros((n, c, oh, ow), np.int64)
    for a in range(n):
        for b in range(c):
            for i in range(oh):
                for j in range(ow):
                    best, win = -np.inf, None
                    for p in range(k[0]):
                        for q in range(k[1]):
                            hh, ww = i * s[0] + p - pads[0], j * s[1] + q - pads[2]
                            if 0 <= hh < h and 0 <= ww < w:
                                v = x[a, b, hh, ww]
                                if win is None:
                                    win = hh * w + ww
                                if v > best or np.isnan(v):
                                    best, win = v, hh * w + ww
                    out[a, b, i, j] = win
    return out


@pytest.mark.parametrize("k,s,pads", [((2, 2), (2, 2), (0, 0, 0, 0)), ((3, 3), (2, 2), (1, 1, 1, 1)),
                                      ((3, 2), (1, 2), (1, 1, 0, 1))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_nan_and_minus_infinity_windows_follow_pytorch(k, s, pads, dtype, max_pool_path):
    x = R.normal(size=(2, 3, 7, 8)).astype(dtype)
    x.flat[R.choice(x.size, 30, replace=False)] = np.nan
    x.flat[R.choice(x.size, 30, replace=False)] = -np.inf
    x[0, 0] = -np.inf                   # every window of a plane -inf: the first in-bounds tap wins
    ref = _max_pool_winner_ref(x, k, s, pads)
    for fmt in ("NCHW", "NHWC"):
        xf = x if fmt == "NCHW" else np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        y, idx = K.max_pool2d(xf, k, s, pads, fmt)
        if fmt == "NHWC":
            y, idx = y.transpose(0, 3, 1, 2), idx.transpose(0, 3, 1, 2)
        np.testing.assert_array_equal(idx, ref)
        picked = np.take_along_axis(x.reshape(2, 3, -1), ref.reshape(2, 3, -1), -1).reshape(y.shape)
        np.testing.assert_array_equal(y, picked)      # NaN where the winner is NaN (assert_array_equal: NaN == NaN)
        assert y.dtype == dtype


@pytest.mark.parametrize("max_pool_path", ["numba"], indirect=True)
def test_compiled_max_pool_gradient_leaves_positive_zeros_at_the_other_taps_as_pytorch(max_pool_path):
    # PyTorch adds each gradient into zeros: the taps that did not win get +0.0 whatever the gradient.  numba's
    # kernel does too (the NumPy kernels multiply by the winner mask and give -0.0 there for a negative
    # gradient: equal in value, not in sign); a winner of disjoint windows gets its gradient as it is.
    x = R.normal(size=(2, 3, 6, 8)).astype(np.float32)
    for fmt in ("NCHW", "NHWC"):
        xf = x if fmt == "NCHW" else np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        y, idx = K.max_pool2d(xf, (2, 2), (2, 2), (0, 0, 0, 0), fmt)
        gy = np.full(y.shape, -0.0, np.float32)
        gy.flat[::2] = -1.0
        dx = K.max_pool2d_grad(gy, idx, xf.shape, (2, 2), (2, 2), (0, 0, 0, 0), fmt)
        ones = (gy == -1).sum()
        assert (dx == -1).sum() == ones and (dx == 0).sum() == dx.size - ones
        assert np.signbit(dx[dx == 0]).sum() == gy.size - ones       # the winners of -0.0, and no other zero


def _specials(shape, dtype):
    """Ordinary values among the ones a ReLU must treat exactly: NaN, infinities, signed zeros, tiny ones."""
    a = R.normal(size=shape).astype(dtype)
    picks = R.random(shape)
    a[picks < 0.1] = 0.0
    a[(picks >= 0.1) & (picks < 0.2)] = -0.0
    a[(picks >= 0.2) & (picks < 0.23)] = np.nan
    a[(picks >= 0.23) & (picks < 0.26)] = np.inf
    a[(picks >= 0.26) & (picks < 0.29)] = -np.inf
    a[(picks >= 0.29) & (picks < 0.32)] = np.finfo(dtype).tiny / 4        # subnormal
    return a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_relu_and_bias_relu_give_the_numpy_paths_bits(monkeypatch, dtype):
    pytest.importorskip("numba", reason="numba is not installed: its kernels cannot run")
    monkeypatch.setenv("DUALFLOW_NUMBA", "1")
    ran = []
    for name in ("relu", "bias_relu_call", "relu_grad_select"):
        kernel = getattr(numba_kernels, name)
        monkeypatch.setattr(numba_kernels, name, lambda *a, kernel=kernel: (ran.append(kernel), kernel(*a))[1])
    be = NumpyBackend("cpu")
    bits = np.uint32 if dtype == np.float32 else np.uint64
    x = _specials((3, 4, 5, 6), dtype)
    # PyTorch's ReLU gradient (0 where the output is <= 0, NaN outputs included on the g side) as np.where.
    g = _specials(x.shape, dtype)
    np.testing.assert_array_equal(be.relu_grad(g, x, True).view(bits),
                                  np.where(x <= 0, dtype(0), g).view(bits))
    assert len(ran) == 1
    ran.clear()
    # 0 below zero, else x itself: NaN and -0.0 kept, as TF's and PyTorch's (NumPy's maximum gives +0.0)
    want = np.where(x < 0, dtype(0), x)
    np.testing.assert_array_equal(be.relu(x).view(bits), want.view(bits))
    y = x.copy()
    assert be.relu(y, out=y) is y           # in place (a kernel of its own: two aliasing operands are slow)
    np.testing.assert_array_equal(y.view(bits), want.view(bits))
    for axis in (1, 3):                     # NCHW's channels, and the last axis (NHWC, a dense layer)
        b = _specials((x.shape[axis],), dtype)
        shape = [1] * 4
        shape[axis] = -1
        with np.errstate(invalid="ignore"):     # inf + -inf, as NumPy's add gives it
            total = x + b.reshape(shape)
            want = np.where(total < 0, dtype(0), total)
            y = x.copy()
            assert be.bias_relu(y, b, axis, out=y) is y          # in place, as a fused epilogue runs it
            fresh = be.bias_relu(x, b, axis)
        np.testing.assert_array_equal(y.view(bits), want.view(bits))
        np.testing.assert_array_equal(fresh.view(bits), want.view(bits))
    assert len(ran) == 6
    # A view overlapping its result keeps NumPy's path (neither kernel may read what it already wrote).
    y = x.copy()
    flat = y.reshape(-1)
    be.relu(flat[1:], out=flat[:-1])
    shifted = x.reshape(-1)[1:]
    np.testing.assert_array_equal(flat[:-1].view(bits), np.where(shifted < 0, dtype(0), shifted).view(bits))
    assert len(ran) == 6
    assert np.signbit(be.relu(np.array([-0.0], dtype))[0])       # -0.0 stays -0.0 (NumPy's maximum: +0.0)
    monkeypatch.setenv("DUALFLOW_NUMBA", "0")
    assert np.signbit(be.relu(np.array([-0.0], dtype))[0]) and np.signbit(be.bias_relu(
        np.array([[-0.0]], dtype), np.array([-0.0], dtype), 1)[0, 0])


def test_the_backends_matmul_asks_for_blas_threads_by_its_flops(monkeypatch):
    # A small product on one BLAS thread: OpenBLAS's worker, woken by it, spins long after and takes a core
    # from every other kernel.  The count comes from the product's multiply-adds, batched either side.
    asked = []
    real = threads.gemm_threads
    monkeypatch.setattr(threads, "gemm_threads", lambda flops: asked.append(flops) or real(flops))
    be = NumpyBackend("cpu")
    for a, b in (((3, 4, 5), (5, 6)), ((4, 5), (3, 5, 6)), ((2, 4, 5), (2, 5, 6)), ((5,), (5, 6)), ((4, 5), (5,))):
        x, y = R.normal(size=a), R.normal(size=b)
        np.testing.assert_allclose(be.matmul(x, y), np.matmul(x, y), rtol=1e-12)
        batch = max(int(np.prod(a[:-2])), int(np.prod(b[:-2])))
        m, k, n = (a[-2] if len(a) > 1 else 1), a[-1], (b[-1] if len(b) > 1 else 1)
        assert asked.pop() == 2 * batch * m * k * n


def test_ctrl_c_during_a_numba_compile_is_raised_when_the_compile_ends(monkeypatch):
    # llvmlite swallows a KeyboardInterrupt raised inside its code-generation callback; the listener holds
    # SIGINT back for the compile and raises it after (nested compiles: after the outermost).
    import signal
    pytest.importorskip("numba", reason="numba is not installed: its kernels cannot run")
    listener = numba_kernels._InterruptsAfterCompiles()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    listener.on_start(None)
    listener.on_start(None)
    signal.raise_signal(signal.SIGINT)          # held: no KeyboardInterrupt here
    listener.on_end(None)
    assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        listener.on_end(None)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    listener.on_start(None)                     # a compile without Ctrl-C raises nothing
    listener.on_end(None)
    # A program's own handler is left alone.
    mine = lambda signum, frame: None
    monkeypatch.setattr(signal, "getsignal", lambda s: mine)
    listener.on_start(None)
    assert listener.depth == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(0, 1),
       st.integers(0, 1), st.integers(0, 1), st.integers(0, 1), st.sampled_from(["NCHW", "NHWC"]),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 2**16))
def test_compiled_max_pool_agrees_with_the_plain_loops_on_any_geometry(kh, kw, sh, sw, top, bottom, left, right,
                                                                       fmt, dtype, seed):
    # Any window, stride and (PyTorch-legal: at most half the window) padding, odd sizes, ties, NaN and -inf:
    # numba's winners are the plain loop's, its values the winners', its gradient the loop's scatter.
    pytest.importorskip("numba", reason="numba is not installed: its kernels cannot run")
    pads = (min(top, kh // 2), min(bottom, kh // 2), min(left, kw // 2), min(right, kw // 2))
    rng = np.random.default_rng(seed)
    n, c, h, w = 2, 3, int(rng.integers(kh, 9)), int(rng.integers(kw, 9))
    x = rng.integers(-3, 3, size=(n, c, h, w)).astype(dtype)
    x[rng.random(x.shape) < 0.05] = np.nan
    x[rng.random(x.shape) < 0.05] = -np.inf
    ref = _max_pool_winner_ref(x, (kh, kw), (sh, sw), pads)
    xf = x if fmt == "NCHW" else np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DUALFLOW_NUMBA", "1")
        y, idx = K.max_pool2d(xf, (kh, kw), (sh, sw), pads, fmt)
        gy = rng.normal(size=y.shape).astype(dtype)
        dx = K.max_pool2d_grad(gy, idx, xf.shape, (kh, kw), (sh, sw), pads, fmt)
    if fmt == "NHWC":
        y, idx, gy, dx = (a.transpose(0, 3, 1, 2) for a in (y, idx, gy, dx))
    np.testing.assert_array_equal(idx, ref)
    picked = np.take_along_axis(x.reshape(n, c, -1), ref.reshape(n, c, -1), -1)
    np.testing.assert_array_equal(y, picked.reshape(y.shape))
    want = np.zeros((n, c, h * w))
    for a in range(n):
        for b in range(c):
            np.add.at(want[a, b], ref[a, b].ravel(), gy[a, b].ravel().astype(np.float64))
    tol = 1e-5 if dtype == np.float32 else 1e-12        # up to 9 overlapping windows' float sums
    np.testing.assert_allclose(dx.reshape(n, c, -1), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_erf_gives_pythons_math_erf_rounded_once(monkeypatch, dtype):
    import math
    ran = _numba_spy(monkeypatch, "erf")
    x = _specials((4, 50), dtype) * 3
    got = NumpyBackend("cpu").erf(x)
    want = np.array([math.erf(float(v)) for v in x.ravel()]).astype(dtype).reshape(x.shape)
    bits = np.uint32 if dtype == np.float32 else np.uint64
    np.testing.assert_array_equal(got.view(bits), want.view(bits))
    assert ran == [1] and got.dtype == dtype


def _xent_rows(z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cross-entropy rows and their gradient by plain loops in Python floats (float64, math.exp/log)."""
    loss, grad = np.empty(len(z)), np.empty(z.shape)
    for i, row in enumerate(z.astype(np.float64)):
        top = max(row)
        se = sum(math.exp(v - top) for v in row)
        loss[i] = math.log(se) - (row[y[i]] - top)
        grad[i] = [math.exp(v - top) / se - (j == y[i]) for j, v in enumerate(row)]
    return loss, grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_compiled_sparse_cross_entropy_against_plain_loops(monkeypatch, dtype, reduction):
    ran = _numba_spy(monkeypatch, "sparse_xent_call")
    be = NumpyBackend("cpu")
    z = (R.standard_normal((33, 10)) * 6).astype(dtype)
    for labels in (R.integers(0, 10, 33), R.integers(0, 10, 33).astype(np.int32)):
        rows, grad = _xent_rows(z, labels)
        want = rows if reduction == "none" else rows.sum() / (len(z) if reduction == "mean" else 1)
        if reduction == "mean":
            grad = grad / len(z)
        loss, backprop = be.sparse_softmax_cross_entropy(z, labels, 0.0, None, reduction)
        tol = 2e-6 if dtype == np.float32 else 1e-13
        assert loss.dtype == backprop.dtype == dtype and loss.shape == np.shape(want)
        np.testing.assert_allclose(loss, want, rtol=tol, atol=tol)
        np.testing.assert_allclose(backprop, grad, rtol=tol, atol=tol)
        out = (np.full(np.shape(want), np.nan, dtype), np.full(z.shape, np.nan, dtype))
        got = be.sparse_softmax_cross_entropy(z, labels, 0.0, None, reduction, out=out)
        assert got[0] is out[0] and got[1] is out[1]
        np.testing.assert_array_equal(out[0], loss)
        np.testing.assert_array_equal(out[1], backprop)
    assert len(ran) == 4


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_an_ignore_index_no_label_equals_takes_the_compiled_pass(monkeypatch, reduction):
    # PyTorch's default ignore_index=-100 matches no label in almost every batch: nothing is ignored, and the
    # loss is the compiled plain one; a batch where a label equals it ignores that row (NumPy's path).
    ran = _numba_spy(monkeypatch, "sparse_xent_call")
    be = NumpyBackend("cpu")
    z = (R.standard_normal((6, 5)) * 3).astype(np.float32)
    labels = R.integers(0, 5, 6)
    rows, grad = _xent_rows(z, labels)
    loss, backprop = be.sparse_softmax_cross_entropy(z, labels, 0.0, -100, reduction)
    assert ran == [1]
    np.testing.assert_allclose(loss, rows if reduction == "none" else rows.mean(), rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(backprop, grad if reduction == "none" else grad / 6, rtol=2e-6, atol=2e-6)
    labels[2] = 4
    ignored = be.sparse_softmax_cross_entropy(z, labels, 0.0, 4, reduction)     # rows labelled 4 are dropped
    assert ran == [1]
    keep = labels != 4
    rows, grad = _xent_rows(z, labels)
    if reduction == "none":
        np.testing.assert_allclose(ignored[0], np.where(keep, rows, 0.0), rtol=2e-6, atol=2e-6)
    else:
        np.testing.assert_allclose(ignored[0], rows[keep].mean(), rtol=2e-6, atol=2e-6)
        np.testing.assert_allclose(ignored[1], np.where(keep[:, None], grad, 0.0) / keep.sum(), rtol=2e-6,
                                   atol=2e-6)


def test_compiled_sparse_cross_entropy_special_values_and_bad_labels_as_numpys(monkeypatch):
    pytest.importorskip("numba", reason="numba is not installed: its kernels cannot run")
    z = np.array([[np.nan, 1, 2], [1, -np.inf, 3], [-np.inf] * 3, [np.inf, 0, 1], [0, 0, 0]], np.float32)
    y = np.array([1, 1, 0, 0, 2])
    results = {}
    for switch in ("0", "1"):
        monkeypatch.setenv("DUALFLOW_NUMBA", switch)
        be = NumpyBackend("cpu")
        with np.errstate(invalid="ignore"):
            results[switch] = be.sparse_softmax_cross_entropy(z, y, 0.0, None, "none")
        for bad in (3, -1):
            with pytest.raises(IndexError, match=rf"argument 'labels': {bad} is out of bounds \(expected values in "
                                                 r"\[0, 3\)\)"):
                be.sparse_softmax_cross_entropy(z, np.array([0, bad, 0, 0, 0]), 0.0, None, "mean")
            # bound to a planned step's arrays: each run checks them, as the next run's labels may be bad
            labels = y.copy()
            out = (np.empty(5, np.float32), np.empty(z.shape, np.float32))
            run = be.sparse_softmax_cross_entropy_call(z, labels, 0.0, None, "none", out)
            with np.errstate(invalid="ignore"):
                run()
                np.testing.assert_array_equal(out[0], results[switch][0])
                labels[1] = bad
                with pytest.raises(IndexError, match=rf"argument 'labels': {bad} is out of bounds"):
                    run()
    for a, b in zip(results["0"], results["1"]):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert np.isnan(results["1"][0][[0, 2, 3]]).all() and results["1"][0][1] == np.inf


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plane_sums_in_numba_sum_each_plane_to_rounding_and_keep_nans_and_signed_zeros(dtype, monkeypatch):
    # A batch-1 NCHW bias gradient (nn.BiasAddGrad) sums each channel's plane in numba's vector lanes: within
    # the dtype's rounding of the exact (float64 / exact integer) sum, not NumPy's pairwise bits.
    monkeypatch.setenv("DUALFLOW_NUMBA", "1")
    if not numba_kernels.usable(dtype):
        pytest.skip("numba is not installed")
    be = NumpyBackend("cpu")
    ran = []
    real = numba_kernels.plane_sums_call
    monkeypatch.setattr(numba_kernels, "plane_sums_call", lambda *a: ran.append(1) or real(*a))
    x = R.normal(size=(5, 13, 11)).astype(dtype)
    x[1] = -0.0                                 # sums to +0.0, as NumPy's
    x[2, 3, 4] = np.nan
    x[3, 0, 0], x[3, 1, 1] = np.inf, 1.0
    x[4] = R.integers(-1000, 1000, size=(13, 11))   # exact in either dtype: the sum must be exact too
    out = np.empty(5, dtype)
    assert be.plane_sums(x, out) is out and ran
    exact = x.astype(np.float64).sum(axis=(1, 2))
    bound = np.abs(x[0].astype(np.float64)).sum() * np.finfo(dtype).eps * 4
    assert abs(out[0] - exact[0]) <= bound
    assert out[1] == 0.0 and not np.signbit(out[1])
    assert np.isnan(out[2]) and out[3] == np.inf and out[4] == exact[4]
    from core.ops import nn
    g = x[None, :1]
    np.testing.assert_array_equal(nn.BiasAddGrad(1).forward(be, g), out[:1])     # the op takes that path
    planned = np.full(1, np.nan, dtype)
    run = nn.BiasAddGrad(1).prepare(be).call(g, out=planned)    # and a planned step, bound to its arrays
    run()
    np.testing.assert_array_equal(planned, out[:1])
    g[...] = 2.0                                                # each run reads the values of now
    run()
    assert planned[0] == 2.0 * g[0, 0].size and len(ran) == 3   # bound once, run twice
    monkeypatch.setenv("DUALFLOW_NUMBA", "0")                                     # NumPy's own sum without it
    np.testing.assert_array_equal(be.plane_sums(x), x.sum(axis=(1, 2)))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32])
@pytest.mark.parametrize("shape,axes,keepdims", [((1, 10), (0,), True), ((1, 10), (0,), False), ((1,), (0,), False),
                                                 ((3, 1, 4), (1,), True), ((5, 6), (0,), False),
                                                 ((2, 3, 4), (0, 2), True), ((1, 1), (0, 1), False),
                                                 ((2, 3), (), False)])
def test_bound_sums_give_ndarray_sums_bits(dtype, shape, axes, keepdims):
    # ``NumpyBackend.sum_call`` (a planned step's loss mean, bias gradients and broadcast gradients): the ufunc's
    # reduce, or ``x + 0`` where only axes of length 1 are summed; NumPy's bits either way, a -0.0 turned
    # +0.0 and NaNs and infinities kept, into ``out`` and as a new array.
    be = NumpyBackend("cpu")
    x = (R.normal(size=shape) * 4).astype(dtype)
    if x.dtype.kind == "f":
        x.flat[:3] = [-0.0, np.nan, -np.inf][:x.size]
    want = x.sum(axis=axes, keepdims=keepdims)
    out = np.full(want.shape, 7, want.dtype)
    be.sum_call(x, axes, keepdims, out)()
    bits = lambda a: np.asarray(a).reshape(-1).view(np.uint8)     # noqa: E731
    np.testing.assert_array_equal(bits(out), bits(want))
    new = be.sum_call(x, axes, keepdims, None)()
    assert np.shape(new) == want.shape
    np.testing.assert_array_equal(bits(new), bits(want))
    if x.dtype.kind == "f" and all(shape[a] == 1 for a in axes):     # a sum of one: x + 0
        assert np.signbit(x.flat[0]) and not np.signbit(out.flat[0])     # the -0.0 came out +0.0, as the sum's
