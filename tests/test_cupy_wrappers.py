"""The CuPy backend's layout and group handling (NHWC between transposes, groups group by group, out=), run
on the CPU: its NCHW CUDA kernels are stood in for by the NumPy kernels, so this checks the wrapping only;
the kernels themselves are checked on a GPU by tests/test_gpu.py."""
import numpy as np
import pytest

from backends import numpy_kernels as K
from backends.cupy_backend import CupyBackend


class _Stand(CupyBackend):
    """The wrappers of CupyBackend over NumPy arrays, with the NumPy kernels as its NCHW kernels."""

    def __init__(self):      # no CuPy, no device
        self.xp = np
        self.poison = False

    def _conv2d(self, x, w, stride, pads, dilation):
        return K.conv2d(x, w, stride, pads, dilation)

    def _conv2d_grad_input(self, gy, w, x_shape, stride, pads, dilation):
        return K.conv2d_grad_input(gy, w, x_shape, stride, pads, dilation)

    def _conv2d_grad_weight(self, x, gy, w_shape, stride, pads, dilation):
        return K.conv2d_grad_weight(x, gy, w_shape, stride, pads, dilation)

    def _max_pool2d(self, x, kernel, stride, pads):
        return K.max_pool2d(x, kernel, stride, pads)

    def _max_pool2d_grad(self, gy, idx, x_shape, kernel, stride, pads):
        return K.max_pool2d_grad(gy, idx, x_shape, kernel, stride, pads)

    def _avg_pool2d(self, x, kernel, stride, pads, count_include_pad):
        return K.avg_pool2d(x, kernel, stride, pads, count_include_pad)

    def _avg_pool2d_grad(self, gy, x_shape, kernel, stride, pads, count_include_pad):
        return K.avg_pool2d_grad(gy, x_shape, kernel, stride, pads, count_include_pad)


R = np.random.default_rng(3)
P = ((2, 1), (1, 0, 1, 1), (1, 2))


@pytest.mark.parametrize("fmt,groups", [("NCHW", 2), ("NHWC", 1), ("NHWC", 3)])
def test_conv_wrappers_match_the_native_kernels(fmt, groups):
    be = _Stand()
    x, w = R.normal(size=(2, 6, 7, 8)), R.normal(size=(6, 6 // groups, 3, 3))
    if fmt == "NHWC":
        x, w = x.transpose(0, 2, 3, 1).copy(), w.transpose(2, 3, 1, 0).copy()
    y = K.conv2d(x, w, *P, groups, fmt)
    gy = R.normal(size=y.shape)
    np.testing.assert_allclose(be.conv2d(x, w, *P, groups, fmt), y, atol=1e-12)
    out = np.empty(x.shape)
    assert be.conv2d_grad_input(gy, w, x.shape, *P, groups, fmt, out=out) is out
    np.testing.assert_allclose(out, K.conv2d_grad_input(gy, w, x.shape, *P, groups, fmt), atol=1e-12)
    np.testing.assert_allclose(be.conv2d_grad_weight(x, gy, w.shape, *P, groups, fmt),
                               K.conv2d_grad_weight(x, gy, w.shape, *P, groups, fmt), atol=1e-12)


def test_pool_wrappers_match_the_native_kernels_in_nhwc():
    be = _Stand()
    x = R.normal(size=(2, 7, 6, 3))
    pk = ((3, 3), (2, 2), (1, 1, 1, 1))
    y, idx = be.max_pool2d(x, *pk, "NHWC")
    y0, idx0 = K.max_pool2d(x, *pk, "NHWC")
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(idx, idx0)
    gy = R.normal(size=y.shape)
    # Overlapping windows: a position sums up to four gradients, and the NCHW kernel the wrapper calls on its
    # transposed view may add them in another order than the NHWC one (NumPy's taps against numba's outputs).
    np.testing.assert_allclose(be.max_pool2d_grad(gy, idx, x.shape, *pk, "NHWC"),
                               K.max_pool2d_grad(gy, idx0, x.shape, *pk, "NHWC"), rtol=1e-14, atol=1e-15)
    # Gathering the input at each window's winner reads back the window's maximum.
    np.testing.assert_array_equal(be.max_pool2d_gather(x, idx, "NHWC"), y0)
    np.testing.assert_allclose(be.avg_pool2d(x, *pk, False, "NHWC"), K.avg_pool2d(x, *pk, False, "NHWC"))
    np.testing.assert_allclose(be.avg_pool2d_grad(gy, x.shape, *pk, False, "NHWC"),
                               K.avg_pool2d_grad(gy, x.shape, *pk, False, "NHWC"))
