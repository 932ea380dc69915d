"""float32 convolutions through oneDNN (backends/onednn.py) against the NumPy kernels and float64 loops."""
import os
import subprocess
import sys

import numpy as np
import pytest

from backends import numpy_kernels as K
from backends import numba_kernels, onednn, threads
from tests.helpers import run_in_threads
from tests.op_table import conv_ref

pytestmark = pytest.mark.skipif(not onednn.usable(), reason="oneDNN is not installed (the onednn-cpu-gomp wheel, "
                                "a dependency on Linux x86-64) or DUALFLOW_ONEDNN=0")
R = np.random.default_rng(11)

# (x NCHW shape, out channels, kernel, stride, pads (top, bottom, left, right), dilation, groups)
GEOMETRIES = [
    ((2, 3, 7, 9), 4, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),       # odd sizes, same padding
    ((1, 4, 8, 8), 6, (3, 2), (2, 2), (0, 2, 1, 0), (1, 1), 1),       # batch 1, stride 2, uneven padding
    ((2, 4, 9, 9), 4, (3, 3), (1, 2), (2, 2, 1, 1), (2, 2), 2),       # dilation, groups
    ((3, 6, 6, 5), 6, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 6),       # depthwise
    ((2, 1, 28, 28), 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),     # the seed CNN's first layer
    # one input channel per group in NCHW runs on the arrays' own layouts (``onednn._plain``):
    ((1, 1, 9, 7), 5, (3, 2), (2, 2), (1, 0, 2, 1), (1, 1), 1),       # batch 1, odd, stride 2, uneven pads
    ((3, 1, 10, 10), 4, (3, 3), (1, 1), (2, 2, 2, 2), (2, 2), 1),     # dilation
    ((2, 3, 8, 8), 6, (3, 3), (2, 1), (1, 1, 1, 1), (1, 1), 3),       # groups of one input channel
    ((2, 3, 8, 8), 5, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),       # three channels: input gradient only
    ((2, 8, 5, 5), 3, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),       # 1x1
]


def _operands(xs, o, kernel, groups, fmt):
    x = R.normal(size=xs).astype(np.float32)
    w = R.normal(size=(o, xs[1] // groups) + kernel).astype(np.float32)
    if fmt == "NHWC":
        x, w = np.ascontiguousarray(x.transpose(0, 2, 3, 1)), np.ascontiguousarray(w.transpose(2, 3, 1, 0))
    return x, w


NUMBA_CONVOLUTIONS = ("conv_weight_grad", "thin_conv", "thin_conv_weight_grad")


def _both(monkeypatch, fn, thin=None):
    """``fn()`` through oneDNN (checked to have run there, not declined), or with ``thin`` (the name of a numba
    convolution in ``numba_kernels``) through that kernel in its place (``numpy_kernels._thin``), then through
    the NumPy kernels."""
    ran, numba_ran = [], []
    real = onednn.convolution
    kernels = {name: getattr(numba_kernels, name) for name in NUMBA_CONVOLUTIONS}
    monkeypatch.setattr(onednn, "convolution", lambda *a: ran.append(real(*a)) or ran[-1])
    for name, kernel in kernels.items():
        monkeypatch.setattr(numba_kernels, name, lambda *a, n=name, k=kernel: numba_ran.append(n) or k(*a))
    got = fn()
    monkeypatch.setattr(onednn, "convolution", real)
    for name, kernel in kernels.items():
        monkeypatch.setattr(numba_kernels, name, kernel)
    assert (ran, numba_ran) == (([], [thin]) if thin else ([True], []))
    monkeypatch.setenv("DUALFLOW_ONEDNN", "0")
    want = fn()
    monkeypatch.delenv("DUALFLOW_ONEDNN")
    return got, want


def _close(got, want):
    """float32 results of sums in another order: within a few ulps of the sums' magnitude."""
    assert got.shape == want.shape and got.dtype == want.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * max(1.0, float(np.abs(want).max())) * 8)


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
@pytest.mark.parametrize("geo", GEOMETRIES, ids=[f"g{i}" for i in range(len(GEOMETRIES))])
def test_all_three_passes_agree_with_the_numpy_kernels(monkeypatch, fmt, geo):
    xs, o, kernel, stride, pads, dilation, groups = geo
    x, w = _operands(xs, o, kernel, groups, fmt)
    one = groups == 1 and xs[1] == 1 and numba_kernels.usable(np.float32)
    thin = one and numba_kernels.thin_geometry(kernel, stride, pads, dilation)
    y, want_y = _both(monkeypatch, lambda: K.conv2d(x, w, stride, pads, dilation, groups, fmt),
                      "thin_conv" if thin else None)
    _close(y, want_y)
    gy = R.normal(size=y.shape).astype(np.float32)
    gx, want_gx = _both(monkeypatch, lambda: K.conv2d_grad_input(gy, w, x.shape, stride, pads, dilation, groups, fmt))
    _close(gx, want_gx)
    thin_grad = ("conv_weight_grad" if one and fmt == "NHWC" else "thin_conv_weight_grad" if thin else None)
    gw, want_gw = _both(monkeypatch, lambda: K.conv2d_grad_weight(x, gy, w.shape, stride, pads, dilation, groups,
                                                                  fmt), thin_grad)
    _close(gw, want_gw)
    # and the forward pass against float64 loops, where the groups are one
    if groups == 1 and fmt == "NCHW":
        ref = conv_ref(x.astype(np.float64), w.astype(np.float64), stride, pads, dilation)
        np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_views_are_read_where_they_are_and_out_is_written_in_place(monkeypatch):
    x = R.normal(size=(2, 5, 6, 3)).astype(np.float32).transpose(0, 3, 1, 2)      # an NCHW view of NHWC data
    w = R.normal(size=(4, 3, 3, 3)).astype(np.float32)[:, :, ::-1, :]             # a reversed view
    assert not x.flags.c_contiguous and not w.flags.c_contiguous
    p = ((1, 1), (1, 1, 1, 1), (1, 1))
    out = np.full((2, 4, 5, 6), np.nan, np.float32)
    res = K.conv2d(x, w, *p, out=out)
    assert res is out
    monkeypatch.setenv("DUALFLOW_ONEDNN", "0")
    _close(out, K.conv2d(np.ascontiguousarray(x), np.ascontiguousarray(w), *p))


def test_float64_and_the_switch_keep_the_numpy_path(monkeypatch):
    calls = []
    monkeypatch.setattr(onednn, "convolution", lambda *a, **k: calls.append(a[0]) or False)
    p = ((1, 1), (0, 0, 0, 0), (1, 1))
    x, w = R.normal(size=(1, 2, 4, 4)), R.normal(size=(3, 2, 3, 3))
    K.conv2d(x, w, *p)                                                   # float64: NumPy
    assert calls == []
    y = K.conv2d(x.astype(np.float32), w.astype(np.float32), *p)         # float32: offered to oneDNN first,
    assert calls == ["forward"]                                          # and computed by NumPy when it declines
    np.testing.assert_allclose(y, conv_ref(x, w, (1, 1), 0, (1, 1)), rtol=1e-5, atol=1e-5)
    monkeypatch.setenv("DUALFLOW_ONEDNN", "off")
    assert not onednn.usable()
    K.conv2d(x.astype(np.float32), w.astype(np.float32), *p)
    assert calls == ["forward"]


def test_openmp_threads_wait_passively_unless_the_user_chose():
    """OpenMP threads that spin collapse beside a busy process; dualflow lets them sleep, unless the user set
    OMP_WAIT_POLICY (read by libgomp once, when it loads)."""
    code = ("import os, numpy as np\n"
            "from backends import numpy_kernels as K\n"
            "K.conv2d(np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 3, 3), np.float32), (1, 1), (0,) * 4, (1, 1))\n"
            "print(os.environ.get('OMP_WAIT_POLICY'))\n")
    for env, want in (({}, "PASSIVE"), ({"OMP_WAIT_POLICY": "active"}, "active")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**_clean_env(), **env})
        assert out.stdout.strip() == want


def _clean_env():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return env


def test_a_forked_child_of_a_process_that_ran_onednn_convolves_with_the_numpy_kernels():
    """GNU OpenMP is not fork-safe: the child's first parallel region waited forever for its parent's
    threads.  The child falls back to the NumPy kernels (same numbers to float32 rounding)."""
    code = ("import os, numpy as np\n"
            "from backends import numpy_kernels as K, onednn, threads\n"
            "threads.set_num_threads(2)\n"
            "r = np.random.default_rng(0)\n"
            "x, w = r.random((64, 14, 14, 32), np.float32), r.random((3, 3, 32, 64), np.float32)\n"
            "y = K.conv2d(x, w, (1, 1), (1,) * 4, (1, 1), 1, 'NHWC')\n"
            "run, out = K.conv2d_call(x[:1], w, (1, 1), (1,) * 4, (1, 1), 1, 'NHWC')\n"     # bound, as a planned step
            "run()\n"
            "assert onednn.usable()\n"
            "os.environ['DUALFLOW_ONEDNN'] = '0'\n"
            "numpy_bits = K.conv2d(x[:1], w, (1, 1), (1,) * 4, (1, 1), 1, 'NHWC').tobytes()\n"
            "assert numpy_bits != out.tobytes()\n"       # the two paths round apart: the bits say which one ran
            "del os.environ['DUALFLOW_ONEDNN']\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    out[...] = np.nan\n"
            "    run()\n"
            "    ok = not onednn.usable() and np.allclose(K.conv2d(x, w, (1, 1), (1,) * 4, (1, 1), 1, 'NHWC'), y,\n"
            "                                             rtol=1e-5) and out.tobytes() == numpy_bits\n"
            "    os._exit(0 if ok else 3)\n"
            "print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                         env=_clean_env())
    assert out.stdout.strip() == "0"


def test_an_axis_of_size_one_is_described_with_the_c_order_stride():
    """NumPy keeps any stride on an axis of size 1 (here 4 bytes on C, from a transpose), and the array is still
    C-contiguous; oneDNN given that stride ran a reference kernel 170x slower.  The descriptor uses the
    C-order strides."""
    x = np.ones((2, 28, 28, 1), np.float32).transpose(0, 3, 1, 2)
    assert x.flags.c_contiguous and x.strides[1] == 4
    assert onednn._image(x, "NCHW") == ((2, 1, 28, 28), (784, 784, 28, 1))
    w = np.ones((3, 3, 1, 8), np.float32)
    assert onednn._weights(w, "NHWC", 1) == ((8, 1, 3, 3), (1, 8, 24, 8))


def test_the_primitive_cache_is_bounded_and_evicted_entries_are_rebuilt(monkeypatch):
    monkeypatch.setattr(onednn, "MAX_PRIMITIVES", 2)
    p = ((1, 1), (1, 1, 1, 1), (1, 1))
    w = R.normal(size=(3, 2, 3, 3)).astype(np.float32)
    xs = [R.normal(size=(n, 2, 5, 5)).astype(np.float32) for n in (1, 2, 3)]
    first = [K.conv2d(x, w, *p) for x in xs]            # three shapes: the first is evicted
    cache = onednn._local.dnnl.primitives
    assert len(cache) == 2 and all(k[1][0] in (2, 3) for k in cache)
    again = K.conv2d(xs[0], w, *p)                      # built again, same numbers
    assert again.tobytes() == first[0].tobytes() and len(cache) == 2
    monkeypatch.setenv("DUALFLOW_ONEDNN", "0")
    for x, y in zip(xs, first):
        _close(y, K.conv2d(x, w, *p))


def test_threads_convolve_at_once_with_their_own_primitives():
    """Each thread has its own engine, stream and primitives (a primitive's memory objects are re-pointed at
    each call's arrays): two threads convolving at once get what each gets alone."""
    p = ((1, 1), (1, 1, 1, 1), (1, 1))
    w = R.normal(size=(8, 4, 3, 3)).astype(np.float32)
    xs = [R.normal(size=(3, 4, 9, 9)).astype(np.float32) for _ in range(2)]
    alone = [K.conv2d(x, w, *p) for x in xs]
    got = [[], []]

    def work(k):
        for _ in range(30):
            got[k].append(K.conv2d(xs[k], w, *p))
    run_in_threads(work, [(0,), (1,)])
    for k in range(2):
        assert len(got[k]) == 30 and all(g.tobytes() == alone[k].tobytes() for g in got[k])


def test_few_input_channels_in_nchw_run_on_the_arrays_own_layouts():
    # Which layouts a pass runs in: reorders are steps of its cached entry besides the convolution itself.
    def steps(kind, x, w, y, fmt, groups=1):
        assert onednn.convolution(kind, x, w, y, (1, 1), (1, 1, 1, 1), (1, 1), groups, fmt, 1.0)
        key = (kind, x.shape, w.shape, y.shape, (1, 1), (1, 1, 1, 1), (1, 1), groups, fmt, 1)
        return len(onednn._thread(onednn._library()[0]).primitives[key].steps)

    for c, o in ((1, 16), (3, 16), (16, 32)):
        x, w = _operands((2, c, 12, 12), o, (3, 3), 1, "NCHW")
        y = np.empty((2, o, 12, 12), np.float32)
        xh, wh = np.ascontiguousarray(x.transpose(0, 2, 3, 1)), np.ascontiguousarray(w.transpose(2, 3, 1, 0))
        yh = np.empty((2, 12, 12, o), np.float32)
        assert (steps("forward", x, w, y, "NCHW") == 1) == (c == 1)
        assert (steps("backward_data", x, w, y, "NCHW") == 1) == (c <= 4)
        assert (steps("backward_weights", x, w, y, "NCHW") == 1) == (c == 1)
        assert steps("forward", xh, wh, yh, "NHWC") > 1


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
def test_threads_split_the_batch_one_call_each_and_add_the_weight_gradients(monkeypatch, fmt):
    x, w = _operands((5, 4, 9, 8), 6, (3, 3), 1, fmt)
    p = ((1, 1), (1, 1, 1, 1), (1, 1))
    y = K.conv2d(x, w, *p, 1, fmt)
    gy = R.normal(size=y.shape).astype(np.float32)
    passes = [lambda: K.conv2d(x, w, *p, 1, fmt), lambda: K.conv2d_grad_input(gy, w, x.shape, *p, 1, fmt),
              lambda: K.conv2d_grad_weight(x, gy, w.shape, *p, 1, fmt)]
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(1)
        alone = [f() for f in passes]
        threads.set_num_threads(2)
        monkeypatch.setattr(K, "PARALLEL_MIN_FLOPS", 0)
        calls = []
        real = onednn.convolution
        monkeypatch.setattr(onednn, "convolution",
                            lambda kind, x, *a: calls.append(x.shape[0]) or real(kind, x, *a))
        for f, want in zip(passes, alone):
            calls.clear()
            got = f()
            assert sorted(calls) == [2, 3]          # the batch of 5 in two parts, one call each
            _close(got, want)                       # the weight gradient's two parts added
    finally:
        threads.set_num_threads(before)


def test_a_primitive_follows_its_operands_from_call_to_call():
    """A pass re-points its memory objects only at arrays it has not seen: the same arrays refilled, other
    arrays of the same shapes, and a freed one's address taken by a new array all give their own results."""
    p = ((1, 1), (1, 1, 1, 1), (1, 1))
    x, w = R.normal(size=(1, 3, 6, 6)).astype(np.float32), R.normal(size=(4, 3, 3, 3)).astype(np.float32)
    y = np.empty((1, 4, 6, 6), np.float32)
    for _ in range(2):
        K.conv2d(x, w, *p, out=y)
        np.testing.assert_allclose(y, conv_ref(x, w, (1, 1), 1, (1, 1)), rtol=1e-5, atol=1e-5)
        x[...] = R.normal(size=x.shape)             # the same arrays, new contents
    x2, w2 = x * 2, -w
    np.testing.assert_allclose(K.conv2d(x2, w2, *p), conv_ref(x2, w2, (1, 1), 1, (1, 1)), rtol=1e-5, atol=1e-5)
    for _ in range(3):                              # fresh arrays each time (addresses may repeat)
        xs, ws = R.normal(size=x.shape).astype(np.float32), R.normal(size=w.shape).astype(np.float32)
        np.testing.assert_allclose(K.conv2d(xs, ws, *p), conv_ref(xs, ws, (1, 1), 1, (1, 1)), rtol=1e-5,
                                   atol=1e-5)
        del xs, ws


def _weight_grad_loops(x, gy, kernel, stride, pads, dilation):
    """NHWC weight gradient in float64 plain loops over every output pixel and tap (HWIO)."""
    n, h, w, c = x.shape
    _, oh, ow, o = gy.shape
    dw = np.zeros(kernel + (c, o))
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for p in range(kernel[0]):
                    for q in range(kernel[1]):
                        r, s = i * stride[0] + p * dilation[0] - pads[0], j * stride[1] + q * dilation[1] - pads[2]
                        if 0 <= r < h and 0 <= s < w:
                            dw[p, q] += np.outer(x[b, r, s].astype(np.float64), gy[b, i, j].astype(np.float64))
    return dw


def _near_loops(got, x, gy, *geometry):
    """``got`` within float32 summation error of the float64 loops: a few ulps of the sum of |terms|."""
    want, scale = _weight_grad_loops(x, gy, *geometry), _weight_grad_loops(np.abs(x), np.abs(gy), *geometry)
    assert got.shape == want.shape and np.all(np.abs(got - want) <= 2e-5 * scale)


THIN = [((1, 28, 28, 1), 32, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),      # the seed CNN's first layer
        ((3, 9, 7, 1), 5, (3, 2), (2, 1), (1, 0, 2, 1), (1, 1)),          # stride, uneven pads, odd sizes
        ((2, 10, 10, 1), 4, (3, 3), (1, 1), (2, 2, 2, 2), (2, 2)),        # dilation
        ((2, 6, 6, 1), 3, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1))]          # 1x1


@pytest.mark.skipif(not numba_kernels.usable(np.float32), reason="numba is not installed or DUALFLOW_NUMBA=0")
@pytest.mark.parametrize("geo", THIN, ids=[f"t{i}" for i in range(len(THIN))])
@pytest.mark.parametrize("nthreads", [1, 2])
def test_one_channel_nhwc_weight_gradients_run_in_numba_with_onednns_bits(monkeypatch, geo, nthreads):
    """oneDNN 3.2's only NHWC weight gradient for one input channel is slow: numba's loop runs in its place,
    against float64 loops, within float32 rounding of what oneDNN gives (on the seed CNN's layer, bit for bit),
    split over threads alike."""
    xs, o, kernel, stride, pads, dilation = geo
    x = R.normal(size=xs).astype(np.float32)
    g = K._geometry(xs, kernel + (1, o), stride, pads, dilation, 1, "NHWC")
    gy = R.normal(size=(xs[0],) + g.ohw + (o,)).astype(np.float32)
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(nthreads)
        monkeypatch.setattr(K, "PARALLEL_MIN_FLOPS", 0)
        got = K.conv2d_grad_weight(x, gy, kernel + (1, o), stride, pads, dilation, 1, "NHWC")
        _near_loops(got, x, gy, kernel, stride, pads, dilation)
        monkeypatch.setenv("DUALFLOW_NUMBA", "0")
        calls = []
        real = onednn.convolution
        monkeypatch.setattr(onednn, "convolution", lambda *a: calls.append(a[1].shape[0]) or real(*a))
        want = K.conv2d_grad_weight(x, gy, kernel + (1, o), stride, pads, dilation, 1, "NHWC")
    finally:
        threads.set_num_threads(before)
    assert sorted(calls) == ([xs[0] // 2, xs[0] - xs[0] // 2] if nthreads == 2 and xs[0] > 1 else [xs[0]])
    if geo is THIN[0]:      # the seed CNN's first layer: the order and rounding of oneDNN's sums
        assert np.array_equal(got, want)
    else:
        _close(got, want)


@pytest.mark.skipif(not numba_kernels.usable(np.float32), reason="numba is not installed or DUALFLOW_NUMBA=0")
def test_a_prepared_one_channel_weight_gradient_reads_its_views_at_every_run():
    base = R.normal(size=(2, 8, 8, 2)).astype(np.float32)
    x = base[..., :1]                                   # a strided view: one channel of two
    gy = R.normal(size=(2, 8, 8, 4)).astype(np.float32)
    p = ((1, 1), (1, 1, 1, 1), (1, 1))
    out = np.empty((3, 3, 1, 4), np.float32)
    prepared = K.Prepared(lambda x, gy, out: K.conv2d_grad_weight_call(x, gy, out.shape, *p, 1, "NHWC", out=out)[0])
    for _ in range(2):
        prepared(x, gy, out=out)
        _near_loops(out, x, gy, (3, 3), *p)
        base *= -2.0                                    # the same arrays, new values: the next run reads them


def test_a_bound_pass_runs_its_own_arrays_after_others_evictions_and_on_other_threads(monkeypatch):
    """``onednn.bind`` (a planned step's convolution) skips the lookups only while its entry on this thread
    still points at its arrays: a call with other arrays of the same shapes, an eviction, or another thread
    sends it back through ``convolution``, and every run gives its own arrays' result."""
    monkeypatch.setattr(onednn, "MAX_PRIMITIVES", 2)
    p = ((1, 1), (1, 1, 1, 1), (1, 1))
    x, w = R.normal(size=(2, 3, 6, 6)).astype(np.float32), R.normal(size=(4, 3, 3, 3)).astype(np.float32)
    y = np.empty((2, 4, 6, 6), np.float32)
    run = onednn.bind("forward", x, w, y, *p, 1, "NCHW", 1.0)
    slow = []
    real = onednn.convolution
    monkeypatch.setattr(onednn, "convolution", lambda *a: slow.append(a[1] is x) or real(*a))

    def check():
        y[...] = np.nan
        assert run()
        np.testing.assert_allclose(y, conv_ref(x, w, (1, 1), 1, (1, 1)), rtol=1e-5, atol=1e-5)
        x[...] = R.normal(size=x.shape)             # new contents for the next run
    check()
    check()
    assert slow == [True]                           # the second run executed the entry directly
    other = R.normal(size=x.shape).astype(np.float32)
    np.testing.assert_allclose(K.conv2d(other, w, *p), conv_ref(other, w, (1, 1), 1, (1, 1)), rtol=1e-5,
                               atol=1e-5)           # the entry now points at ``other``
    check()
    assert slow[-2:] == [False, True]
    for n in (1, 3):                                # two other shapes evict the entry
        K.conv2d(R.normal(size=(n, 3, 6, 6)).astype(np.float32), w, *p)
    check()
    assert slow[-3:] == [False, False, True]
    run_in_threads(lambda: check(), [()])           # another thread: its own primitive
    assert len(slow) == 7
    check()                                         # back here: held the other thread's entry, so the
    check()                                         # lookups once, then this thread's entry directly
    assert len(slow) == 8


def test_a_primitive_is_made_for_the_threads_it_runs_on(monkeypatch):
    """oneDNN plans a primitive's work for the OpenMP threads it is offered when it is made: one made for two
    threads and run on one took 3-5 times as long.  So the count is set before a primitive is made, and a
    pass that runs on another count (a small one on one thread, a large one on dualflow's count, the count
    changed since) gets a primitive of its own, bound passes included."""
    lib, set_threads = onednn._library()
    offered = []
    made = []
    monkeypatch.setattr(onednn, "_library", lambda: (lib, lambda n: offered.append(n) or set_threads(n)))
    real = onednn._primitive
    monkeypatch.setattr(onednn, "_primitive", lambda *a: made.append(offered[-1]) or real(*a))
    x, w = _operands((2, 3, 7, 7), 4, (3, 3), 1, "NCHW")
    y = np.empty((2, 4, 7, 7), np.float32)
    p = ((1, 1), (1, 1, 1, 1), (1, 1), 1, "NCHW")
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(2)
        small, large = 1.0, threads.MIN_PARALLEL_FLOPS
        assert onednn.convolution("forward", x, w, y, *p, small) and made == [1] and offered[-1] == 1
        want = y.copy()
        assert onednn.convolution("forward", x, w, y, *p, large) and made == [1, 2] and offered[-1] == 2
        np.testing.assert_allclose(y, want, rtol=1e-6)
        assert onednn.convolution("forward", x, w, y, *p, small) and made == [1, 2] and offered[-1] == 1
        run = onednn.bind("forward", x, w, y, *p, large)
        assert run() and made == [1, 2] and offered[-1] == 2      # the two-thread primitive, cached
        threads.set_num_threads(3)
        assert run() and made == [1, 2, 3] and offered[-1] == 3
        np.testing.assert_allclose(y, want, rtol=1e-6)
    finally:
        threads.set_num_threads(before)
