"""Convolutions with one input channel in numba in oneDNN's place (``numpy_kernels._thin``): the forward pass in
NCHW and NHWC and the NCHW weight gradient of a 3x3 kernel at stride 1 with "same" padding along W, against float64
loops and against oneDNN on the same inputs; the geometries the dispatcher refuses; the off switches."""
import numpy as np
import pytest

from backends import numba_kernels, onednn, threads
from backends import numpy_kernels as K
from tests.helpers import assert_same_bits
from tests.op_table import conv_ref

pytestmark = pytest.mark.skipif(not (onednn.usable() and numba_kernels.usable(np.float32)),
                                reason="oneDNN or numba is not installed, or switched off")
R = np.random.default_rng(5)
NAMES = ("thin_conv", "thin_conv_weight_grad", "conv_weight_grad")

# (x NCHW shape, out channels, pads (top, bottom, left, right), dilation): all 3x3 at stride 1
THIN = [((1, 1, 28, 28), 32, (1, 1, 1, 1), (1, 1)),       # the seed CNN's first layer, batch 1
        ((3, 1, 28, 28), 32, (1, 1, 1, 1), (1, 1)),       # and batch 3
        ((3, 1, 9, 7), 5, (0, 0, 1, 1), (1, 1)),          # no padding along H, odd sizes
        ((1, 1, 6, 5), 3, (0, 2, 0, 2), (1, 1)),          # all the padding after the image
        ((2, 1, 10, 10), 4, (2, 2, 2, 2), (2, 2)),        # dilation
        ((1, 1, 5, 4), 7, (3, 0, 2, 0), (2, 1)),          # rows of padding only, channels not a multiple of 8
        ((2, 1, 1, 3), 2, (1, 1, 1, 1), (1, 1)),          # one row
        ((2, 1, 4, 1), 3, (1, 1, 1, 1), (1, 1))]          # one column
SEED = THIN[:2]


def _operands(xs, o, fmt, dtype=np.float32):
    x = R.normal(size=xs).astype(dtype)
    w = R.normal(size=(o, xs[1], 3, 3)).astype(dtype)
    return (x, w) if fmt == "NCHW" else _nhwc(x, w)


def _nhwc(x, w):
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)), np.ascontiguousarray(w.transpose(2, 3, 1, 0))


def _record(monkeypatch):
    """Which convolutions run from here on: the names of numba's kernels, and 'onednn'."""
    calls = []
    for name in NAMES:
        kernel = getattr(numba_kernels, name)
        monkeypatch.setattr(numba_kernels, name, lambda *a, n=name, k=kernel: calls.append(n) or k(*a))
    real = onednn.convolution
    monkeypatch.setattr(onednn, "convolution", lambda *a: calls.append("onednn") or real(*a))
    return calls


def _forward_loops(x, w, pads, dilation):
    """NCHW forward in float64 loops (``conv_ref``) and the same over absolute values: the bound on rounding."""
    args = ((1, 1), pads, dilation)
    return (conv_ref(x.astype(np.float64), w.astype(np.float64), *args),
            conv_ref(np.abs(x).astype(np.float64), np.abs(w).astype(np.float64), *args))


def _weight_grad_loops(x, gy, pads, dilation):
    """NCHW weight gradient (OIHW) in float64 plain loops over every image, output pixel and tap."""
    n, _, h, w = x.shape
    o, oh, ow = gy.shape[1:]
    dw = np.zeros((o, 1, 3, 3))
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for p in range(3):
                    for q in range(3):
                        r, s = i + p * dilation[0] - pads[0], j + q * dilation[1] - pads[2]
                        if 0 <= r < h and 0 <= s < w:
                            dw[:, 0, p, q] += float(x[b, 0, r, s]) * gy[b, :, i, j].astype(np.float64)
    return dw


def _within(got, want, scale, tol):
    """``got`` within ``tol`` of ``scale`` (the sum of the terms' magnitudes) of the exact ``want``."""
    assert got.shape == want.shape and np.all(np.abs(got - want) <= tol * scale)


def _onednn_result(monkeypatch, fn):
    """``fn()`` with numba switched off: through oneDNN, checked to have run there."""
    monkeypatch.setenv("DUALFLOW_NUMBA", "0")
    calls = _record(monkeypatch)
    got = fn()
    monkeypatch.delenv("DUALFLOW_NUMBA")
    assert calls == ["onednn"]
    return got


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
@pytest.mark.parametrize("geo", THIN, ids=[f"t{i}" for i in range(len(THIN))])
def test_the_forward_pass_runs_in_numba_with_the_bits_of_onednns_direct_kernel(monkeypatch, fmt, geo):
    """Each output one fused multiply-add per tap in (kh, kw) order: the same bits in both layouts, within
    float32 rounding of float64 loops, and on the seed CNN's layer oneDNN's NHWC result bit for bit (its NCHW
    sgemm rounds some channels otherwise: within rounding there)."""
    xs, o, pads, dilation = geo
    x, w = _operands(xs, o, "NCHW")
    xf, wf = (x, w) if fmt == "NCHW" else _nhwc(x, w)
    calls = _record(monkeypatch)
    y = K.conv2d(xf, wf, (1, 1), pads, dilation, 1, fmt)
    assert calls == ["thin_conv"]
    planes = y if fmt == "NCHW" else y.transpose(0, 3, 1, 2)
    want, scale = _forward_loops(x, w, pads, dilation)
    _within(planes, want, scale, 2e-6)
    other = K.conv2d(*_nhwc(x, w), (1, 1), pads, dilation, 1, "NHWC").transpose(0, 3, 1, 2) if fmt == "NCHW" else \
        K.conv2d(x, w, (1, 1), pads, dilation, 1, "NCHW")
    assert_same_bits([np.ascontiguousarray(planes)], [np.ascontiguousarray(other)])
    theirs = _onednn_result(monkeypatch, lambda: K.conv2d(xf, wf, (1, 1), pads, dilation, 1, fmt))
    if geo in SEED and fmt == "NHWC":
        assert_same_bits([y], [theirs])
    else:
        _within(y, theirs, np.abs(theirs).max() + 1, 4e-6)


@pytest.mark.parametrize("geo", THIN, ids=[f"t{i}" for i in range(len(THIN))])
def test_the_nchw_weight_gradient_runs_in_numba_within_rounding(monkeypatch, geo):
    """Sums in vector lanes: not oneDNN's bits, within float32 summation error of float64 loops and of oneDNN."""
    xs, o, pads, dilation = geo
    x, _ = _operands(xs, o, "NCHW")
    oh = xs[2] + pads[0] + pads[1] - 2 * dilation[0]
    gy = R.normal(size=(xs[0], o, oh, xs[3])).astype(np.float32)
    calls = _record(monkeypatch)
    dw = K.conv2d_grad_weight(x, gy, (o, 1, 3, 3), (1, 1), pads, dilation, 1, "NCHW")
    assert calls == ["thin_conv_weight_grad"]
    want = _weight_grad_loops(x, gy, pads, dilation)
    scale = _weight_grad_loops(np.abs(x), np.abs(gy), pads, dilation)
    _within(dw, want, scale, 2e-5)
    theirs = _onednn_result(monkeypatch, lambda: K.conv2d_grad_weight(x, gy, (o, 1, 3, 3), (1, 1), pads, dilation,
                                                                      1, "NCHW"))
    _within(dw, theirs, scale, 4e-5)


# (x NCHW shape, weight OIHW shape, stride, pads, dilation, groups): one input channel per group, not thin
REFUSED = [((1, 1, 8, 8), (3, 1, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1),      # stride 2
           ((1, 1, 8, 8), (3, 1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),      # rows shorter than the input's
           ((1, 1, 8, 8), (3, 1, 3, 3), (1, 1), (1, 1, 2, 1), (1, 1), 1),      # rows longer
           ((1, 1, 8, 8), (3, 1, 5, 5), (1, 1), (2, 2, 2, 2), (1, 1), 1),      # 5x5
           ((1, 1, 8, 8), (3, 1, 3, 2), (1, 1), (1, 1, 1, 0), (1, 1), 1),      # 3x2
           ((1, 2, 8, 8), (4, 1, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 2),      # groups
           ((1, 2, 8, 8), (4, 2, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1)]      # two input channels


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
@pytest.mark.parametrize("geo", REFUSED, ids=[f"r{i}" for i in range(len(REFUSED))])
def test_other_geometries_stay_with_onednn(monkeypatch, fmt, geo):
    """...but for the NHWC weight gradient of one input channel, which numba takes in any geometry."""
    xs, ws, stride, pads, dilation, groups = geo
    x, w = R.normal(size=xs).astype(np.float32), R.normal(size=ws).astype(np.float32)
    if fmt == "NHWC":
        x, w = _nhwc(x, w)
    calls = _record(monkeypatch)
    y = K.conv2d(x, w, stride, pads, dilation, groups, fmt)
    assert calls == ["onednn"]
    calls.clear()
    K.conv2d_grad_weight(x, np.ones_like(y), w.shape, stride, pads, dilation, groups, fmt)
    assert calls == (["conv_weight_grad"] if fmt == "NHWC" and xs[1] == groups == 1 else ["onednn"])


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
def test_the_switches_and_float64_keep_the_other_paths(monkeypatch, fmt):
    x, w = _operands((2, 1, 7, 6), 4, fmt)
    p = ((1, 1), (1, 1, 1, 1), (1, 1))
    calls = _record(monkeypatch)

    def run():
        y = K.conv2d(x, w, *p, 1, fmt)
        return y, K.conv2d_grad_weight(x, y, w.shape, *p, 1, fmt)
    numba_y, numba_dw = run()
    assert calls == ["thin_conv", "thin_conv_weight_grad" if fmt == "NCHW" else "conv_weight_grad"]
    for switch, want in (("DUALFLOW_NUMBA", ["onednn", "onednn"]), ("DUALFLOW_ONEDNN", [])):
        calls.clear()
        monkeypatch.setenv(switch, "0")
        y, dw = run()
        monkeypatch.delenv(switch)
        assert calls == want
        _within(y, numba_y, np.abs(numba_y).max() + 1, 4e-6)
        _within(dw, numba_dw, np.abs(numba_dw).max() + 1, 4e-5)
    calls.clear()
    x, w = x.astype(np.float64), w.astype(np.float64)
    run()
    assert calls == []                  # the NumPy kernels


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
def test_a_prepared_pass_reads_its_views_at_every_run_and_follows_the_switch(monkeypatch, fmt):
    """Strided operands are copied at each run, so a planned step sees their new values; a changed switch
    binds the pass again."""
    base = R.normal(size=(2, 2, 9, 8)).astype(np.float32)
    x = base[:, 1:] if fmt == "NCHW" else base.transpose(0, 2, 3, 1)[..., 1:]    # one channel of two
    w = R.normal(size=(5, 1, 3, 3)).astype(np.float32)[::-1]                     # a reversed view
    if fmt == "NHWC":
        w = w.transpose(2, 3, 1, 0)
    assert not x.flags.c_contiguous and not w.flags.c_contiguous
    p = ((1, 1), (1, 1, 1, 1), (1, 1))
    y = np.empty(K.conv2d(x, w, *p, 1, fmt).shape, np.float32)
    dw = np.empty(w.shape, np.float32)
    forward = K.Prepared(lambda x, w, out: K.conv2d_call(x, w, *p, 1, fmt, out=out)[0])
    grad = K.Prepared(lambda x, y, out: K.conv2d_grad_weight_call(x, y, out.shape, *p, 1, fmt, out=out)[0])
    calls = _record(monkeypatch)
    planes = (lambda a: a) if fmt == "NCHW" else (lambda a: a.transpose(0, 3, 1, 2))
    weights = (lambda a: a) if fmt == "NCHW" else (lambda a: a.transpose(3, 2, 0, 1))
    for _ in range(2):
        forward(x, w, out=y)
        grad(x, y, out=dw)
        xn, wn = np.ascontiguousarray(planes(x)), np.ascontiguousarray(weights(w))
        want, scale = _forward_loops(xn, wn, p[1], p[2])
        _within(planes(y), want, scale, 2e-6)
        yn = np.ascontiguousarray(planes(y))
        _within(weights(dw), _weight_grad_loops(xn, yn, p[1], p[2]),
                _weight_grad_loops(np.abs(xn), np.abs(yn), p[1], p[2]), 2e-5)
        base *= -2.0                                    # the same arrays, new values: the next run reads them
    assert calls == ["thin_conv", "thin_conv_weight_grad" if fmt == "NCHW" else "conv_weight_grad"] * 2
    calls.clear()
    monkeypatch.setenv("DUALFLOW_NUMBA", "0")
    forward(x, w, out=y)
    grad(x, y, out=dw)
    assert calls == ["onednn", "onednn"]


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
def test_threads_split_the_batch_one_call_each(monkeypatch, fmt):
    """As oneDNN's passes: the forward pass gives the same bits however the batch is split, the weight
    gradient's parts are added in thread order."""
    x, w = _operands((3, 1, 12, 10), 6, fmt)
    p = ((1, 1), (1, 1, 1, 1), (1, 1))
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(1)
        alone = K.conv2d(x, w, *p, 1, fmt)
        gy = R.normal(size=alone.shape).astype(np.float32)
        alone_dw = K.conv2d_grad_weight(x, gy, w.shape, *p, 1, fmt)
        threads.set_num_threads(2)
        monkeypatch.setattr(K, "PARALLEL_MIN_FLOPS", 0)
        parts = []
        real = numba_kernels.thin_conv
        monkeypatch.setattr(numba_kernels, "thin_conv", lambda x, *a: parts.append(x.shape[0]) or real(x, *a))
        assert_same_bits([K.conv2d(x, w, *p, 1, fmt)], [alone])
        assert sorted(parts) == [1, 2]
        parts.clear()
        name = "thin_conv_weight_grad" if fmt == "NCHW" else "conv_weight_grad"
        real_grad = getattr(numba_kernels, name)
        monkeypatch.setattr(numba_kernels, name, lambda x, *a: parts.append(x.shape[0]) or real_grad(x, *a))
        dw = K.conv2d_grad_weight(x, gy, w.shape, *p, 1, fmt)
        assert sorted(parts) == [1, 2]
        _within(dw, alone_dw, np.abs(alone_dw).max() + 1, 4e-6)
    finally:
        threads.set_num_threads(before)
