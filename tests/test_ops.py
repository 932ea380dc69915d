"""The op table on the CPU: forward vs an independent reference, float64 gradient checks, static shapes."""
import numpy as np
import pytest

import core
from core.gradcheck import GradcheckError, gradcheck
from core.graph import Value
from tests.op_table import CASES

IDS = [c.name for c in CASES]


def _leaves(arrays):
    return [core.value(a, dtype=a.dtype) for a in arrays]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_matches_reference(case):
    if case.ref is None:
        pytest.skip("checked through its gradient (a backward primitive)")
    out = case.fn(*_leaves(case.inputs))
    out = out[0] if isinstance(out, tuple) else out
    expected = case.ref(*case.inputs)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    assert out.shape == np.shape(expected)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=[c.name for c in CASES if c.grad])
def test_gradient_matches_finite_differences(case):
    assert gradcheck(case.fn, case.inputs, wrt=case.wrt)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_static_shape_inference_matches_runtime(case):
    """Symbolic inputs with an unknown batch dim infer the runtime shape with that dim unknown."""
    eager = case.fn(*_leaves(case.inputs))
    eager = eager[0] if isinstance(eager, tuple) else eager
    syms = [Value._wrap(None, tuple(a.shape), a.dtype, core.device.CPU) for a in case.inputs]
    sym = case.fn(*syms)
    sym = sym[0] if isinstance(sym, tuple) else sym
    assert sym.data is None and sym.node is not None
    assert sym.shape == eager.shape and sym.dtype == eager.dtype


def test_gradcheck_catches_a_wrong_rule():
    from core.ops.elementwise import Exp

    class BadExp(Exp):
        def vjp(self, node, grads, needs):
            return (core.scalar(super().vjp(node, grads, needs)[0], "mul", 1.01),)

    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda x: core.apply(BadExp(), x), [np.linspace(-1, 1, 5)])


def test_float32_is_kept_through_conv_and_pool():
    x = core.value(np.random.default_rng(0).normal(size=(2, 3, 8, 8)).astype(np.float32))
    w = core.value(np.random.default_rng(1).normal(size=(4, 3, 3, 3)).astype(np.float32))
    y = core.conv2d(x, w, 1, 1)
    p, idx = core.max_pool2d(y, 2)
    assert y.data.dtype == np.float32 and p.data.dtype == np.float32 and idx.data.dtype == np.int32
    assert core.avg_pool2d(y, 2).data.dtype == np.float32


def test_max_pool_backward_routes_to_the_max_position():
    x = np.array([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 9.0, 1.0], [0.0, 0.0, 1.0, 2.0], [7.0, 0.0, 3.0, 8.0]]]])
    xv = core.value(x, requires_grad=True)
    y, _ = core.max_pool2d(xv, 2)
    np.testing.assert_array_equal(y.data[0, 0], [[5.0, 9.0], [7.0, 8.0]])
    g, = core.gradients([y], [xv], [core.value(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))])
    expected = np.zeros((4, 4))
    expected[0, 1], expected[1, 2], expected[3, 0], expected[3, 3] = 1, 2, 3, 4
    np.testing.assert_array_equal(g.data[0, 0], expected)


def test_max_pool_ties_and_nan_follow_pytorch():
    # A tie goes to the first maximum; NaN wins the window (the last NaN, as PyTorch's CPU kernel).
    x = np.array([[[[5.0, 1.0, 1.0, np.nan], [5.0, 2.0, np.nan, 3.0]]]], np.float32)
    y, idx = core.max_pool2d(core.value(x), 2)
    assert y.data[0, 0, 0, 0] == 5.0 and np.isnan(y.data[0, 0, 0, 1])
    assert idx.data.ravel().tolist() == [0, 6]


def test_gradients_skip_unconnected_and_accumulate_fanout():
    x = core.value(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    z = core.value(np.array([1.0, 1.0, 1.0]), requires_grad=True)
    y = core.sum(core.add(core.mul(x, x), x))   # x used twice
    gx, gz = core.gradients([y], [x, z], [core.value(np.array(1.0))])
    np.testing.assert_allclose(gx.data, 2 * np.array([1.0, 2, 3]) + 1)
    assert gz is None


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_mean_and_its_gradient_give_numpys_bits(dtype):
    """Mean sums with the array's method and divides once, as numpy.mean does inside (float16 keeps
    numpy.mean, which sums in float32); MeanGrad divides where each element lands."""
    from backends import backend_of
    from core.ops.reduce import Mean, ReduceGrad
    be = backend_of(np.zeros(1))
    rng = np.random.default_rng(5)
    for shape in [(1,), (9,), (130,), (3, 5, 7), (64, 33, 17)]:
        x = (rng.standard_normal(shape) * rng.uniform(1, 1e3)).astype(dtype)
        for axes in [None, 0, -1, (0, -1)]:
            norm = tuple(range(x.ndim)) if axes is None else tuple(sorted({a % x.ndim for a in np.atleast_1d(axes)}))
            for keep in (False, True):
                want = np.mean(x, axis=norm, keepdims=keep)
                got = Mean(axes, keep).forward(be, x)
                out = np.full(np.shape(want), np.nan, dtype)
                assert Mean(axes, keep).forward(be, x, out=out) is out
                assert isinstance(got, np.ndarray) and got.dtype == dtype and got.shape == np.shape(want)
                np.testing.assert_array_equal(got, want)
                np.testing.assert_array_equal(out, want)
                g = np.asarray(want)
                gx = np.full(shape, np.nan, dtype)
                ReduceGrad(axes, keep, True).forward(be, g, x, out=gx)
                n = x.size // max(g.size, 1)
                np.testing.assert_array_equal(gx, np.broadcast_to(np.expand_dims(g, norm) if not keep else g,
                                                                  shape) / dtype(n))
