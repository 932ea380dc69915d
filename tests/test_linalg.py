"""Dense linear algebra (core/ops/linalg.py, backends/linalg.py and the two frontends): values against float64
NumPy and hand-worked results, gradients against float64 central differences (to second order), batched and
broadcast shapes, LAPACK's failures reported per matrix, and the errors of bad inputs.  No PyTorch or TF needed:
parity with them is tests/test_reference_linalg.py."""
import contextlib
import sys
import types
import warnings

import numpy as np
import pytest

import backends
import core
import eager_api as torch
import static_api as tf
from backends.cupy_backend import CupyBackend
from core.errors import DTypeError, InvalidArgumentError, LinAlgError, MissingNameError, ShapeError
from core.gradcheck import gradcheck
from core.graph import Value
from core.ops import linalg as la
from tests.helpers import eager_fd_check

R = np.random.default_rng(7)
SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])
NOT_PD = np.array([[1.0, 2.0], [2.0, 1.0]])


def _well(*batch, n=4):
    """Well-conditioned matrices (a shifted diagonal)."""
    return R.normal(size=batch + (n, n)) + n * np.eye(n)


def _v(a, grad=False):
    return core.value(a, dtype=a.dtype, requires_grad=grad)


def _tri_ref(a, b, lower, adjoint, unit):
    t = np.tril(a, -1 if unit else 0) if lower else np.triu(a, 1 if unit else 0)
    if unit:
        t = t + np.eye(a.shape[-1])
    return np.linalg.solve(t.swapaxes(-1, -2) if adjoint else t, b)


# ----- values -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-11), (np.float32, 2e-5)])
def test_values_match_float64_numpy_over_batches(dtype, rtol):
    a, b = _well(2, 3), R.normal(size=(3, 4, 2))       # b broadcasts over a's first batch dim
    spd = a @ a.swapaxes(-1, -2)
    av, bv = _v(a.astype(dtype)), _v(b.astype(dtype))
    a, b, spd = a.astype(dtype).astype(np.float64), b.astype(dtype).astype(np.float64), spd.astype(dtype)
    bb = np.broadcast_to(b, (2, 3, 4, 2))
    sign, logabs = la.slogdet(av)
    got = {"inverse": la.inverse(av), "adjoint": la.inverse(av, True), "det": la.det(av), "sign": sign,
           "logabsdet": logabs, "solve": la.solve(av, bv), "solve_adjoint": la.solve(av, bv, True),
           "cholesky": la.cholesky(_v(spd))}
    want = {"inverse": np.linalg.inv(a), "adjoint": np.linalg.inv(a.swapaxes(-1, -2)), "det": np.linalg.det(a),
            "sign": np.linalg.slogdet(a)[0], "logabsdet": np.linalg.slogdet(a)[1], "solve": np.linalg.solve(a, bb),
            "solve_adjoint": np.linalg.solve(a.swapaxes(-1, -2), bb),
            "cholesky": np.linalg.cholesky(spd.astype(np.float64))}
    for lower in (True, False):
        for adjoint in (True, False):
            for unit in (True, False):
                key = f"tri_{lower}_{adjoint}_{unit}"
                got[key] = la.triangular_solve(av, bv, lower, adjoint, unit)
                want[key] = _tri_ref(a, bb, lower, adjoint, unit)
    for n in (-3, -1, 0, 1, 2, 3, 6):
        got[f"power_{n}"], want[f"power_{n}"] = la.matrix_power(av, n), np.linalg.matrix_power(a, n)
    for key, w in want.items():
        g = got[key]
        assert g.dtype == dtype and g.shape == w.shape, key
        np.testing.assert_allclose(g.data, w, rtol=rtol, atol=rtol, err_msg=key)


def test_hand_worked_values():
    np.testing.assert_array_equal(la.inverse(_v(np.array([[2.0, 1.0], [1.0, 1.0]]))).data, [[1, -1], [-1, 2]])
    np.testing.assert_allclose(la.det(_v(np.array([[1.0, 2.0], [3.0, 4.0]]))).data, -2.0, rtol=1e-15)
    sign, logabs = la.slogdet(_v(np.array([[1.0, 2.0], [3.0, 4.0]])))
    assert sign.data == -1.0 and logabs.data == pytest.approx(np.log(2.0), rel=1e-15)
    # only the lower triangle is read: 99 above the diagonal changes nothing
    for above in (2.0, 99.0):
        np.testing.assert_array_equal(la.cholesky(_v(np.array([[4.0, above], [2.0, 5.0]]))).data, [[2, 0], [1, 2]])
    m, ones = _v(np.array([[2.0, 7.0], [1.0, 4.0]])), _v(np.ones((2, 1)))
    np.testing.assert_array_equal(la.triangular_solve(m, ones).data, [[0.5], [0.125]])
    np.testing.assert_array_equal(la.triangular_solve(m, ones, lower=False).data, [[-0.375], [0.25]])
    np.testing.assert_array_equal(la.triangular_solve(m, ones, unit_diagonal=True).data, [[1.0], [0.0]])
    np.testing.assert_array_equal(la.triangular_solve(m, ones, adjoint=True).data, [[0.375], [0.25]])
    shear = _v(np.array([[1.0, 1.0], [0.0, 1.0]]))
    np.testing.assert_array_equal(la.matrix_power(shear, 13).data, [[1, 13], [0, 1]])
    np.testing.assert_array_equal(la.matrix_power(shear, -2).data, [[1, -2], [0, 1]])
    ints = la.matrix_power(_v(np.array([[2, 7], [1, 4]])), 3)
    assert ints.dtype == np.int64 and ints.data.tolist() == [[64, 245], [35, 134]]
    # empty matrices: the empty inverse, and det 1 (the empty product)
    assert la.inverse(_v(np.ones((3, 0, 0)))).shape == (3, 0, 0)
    np.testing.assert_array_equal(la.det(_v(np.ones((3, 0, 0)))).data, [1.0, 1.0, 1.0])


# ----- gradients ----------------------------------------------------------------------------------------------
A3, B3 = _well(2, 1, n=3), R.normal(size=(3, 3, 2))
GRADIENTS = {
    "inverse": (la.inverse, [A3]),
    "inverse_adjoint": (lambda a: la.inverse(a, True), [A3]),
    "det_tf": (la.det, [A3]),
    "det_torch": (lambda a: la.det(a, check_grad=False), [A3]),
    "logabsdet": (lambda a: la.slogdet(a)[1], [A3]),
    "solve_broadcast": (la.solve, [A3, B3]),
    "solve_adjoint": (lambda a, b: la.solve(a, b, True), [A3, B3]),
    "cholesky": (lambda a: la.cholesky(core.matmul(a, a, transpose_b=True)), [A3]),
    "power_7": (lambda a: la.matrix_power(a, 7), [A3]),
    "power_-2": (lambda a: la.matrix_power(a, -2), [A3]),
    "power_0": (lambda a: la.matrix_power(a, 0), [A3]),
}
for _lower in (True, False):
    for _adjoint in (True, False):
        for _unit in (True, False):
            GRADIENTS[f"triangular_{_lower}_{_adjoint}_{_unit}"] = (
                lambda a, b, lo=_lower, ad=_adjoint, un=_unit: la.triangular_solve(a, b, lo, ad, un), [A3, B3])


@pytest.mark.parametrize("name", sorted(GRADIENTS))
def test_gradients_match_central_differences(name):
    fn, inputs = GRADIENTS[name]
    assert gradcheck(fn, inputs)


def _first_derivative(f):
    """a -> d<f(a), c>/da (c fixed random), itself differentiable: gradcheck of it checks the second derivative."""
    def fn(a):
        if not a.requires_grad:         # the central differences' evaluations
            a = _v(a.data, True)
        y = f(a)
        return core.gradients([y], [a], [_v(np.random.default_rng(1).normal(size=y.shape))])[0]
    return fn


@pytest.mark.parametrize("name", ["inverse", "det_tf", "logabsdet", "solve_adjoint", "cholesky",
                                  "triangular_False_True_False"])
def test_second_derivatives_match_central_differences(name):
    fn, inputs = GRADIENTS[name]
    assert gradcheck(_first_derivative((lambda a: fn(a, _v(B3))) if len(inputs) == 2 else fn), [A3])


def test_singular_gradient_conventions():
    """det's gradient at a singular matrix: TF's inverts it and raises; PyTorch's first derivative is 0 there.
    log|det|'s: TF raises, PyTorch's is LAPACK's infinities."""
    for fn in (la.det, lambda a: la.slogdet(a)[1]):
        a = _v(SINGULAR, True)
        with pytest.raises(LinAlgError, match="Input is not invertible"):
            core.gradients([fn(a)], [a], [_v(np.array(1.0))])
    a = _v(SINGULAR, True)
    g, = core.gradients([la.det(a, check_grad=False)], [a], [_v(np.array(1.0))])
    np.testing.assert_array_equal(g.data, np.zeros((2, 2)))
    g, = core.gradients([la.slogdet(a, check_grad=False)[1]], [a], [_v(np.array(1.0))])
    np.testing.assert_array_equal(g.data, [[-np.inf, np.inf], [np.inf, -np.inf]])


# ----- LAPACK's failures, per matrix ------------------------------------------------------------------------------
def test_failures_are_found_per_matrix_with_lapacks_info():
    be = backends.get_backend("cpu")
    nan = np.array([[np.nan, 1.0], [1.0, 1.0]])
    x, info = be.inv(np.stack([np.eye(2) * 2, SINGULAR, nan]))
    assert info.dtype == np.int32 and info.tolist() == [0, 2, 0]
    np.testing.assert_array_equal(x[0], np.eye(2) / 2)                          # the others keep their results
    np.testing.assert_array_equal(x[1], [[-np.inf, np.inf], [np.inf, -np.inf]])  # getrs with the singular LU
    assert np.isnan(x[2]).all()                                                # NaN in, NaN out: no error
    assert be.inv(np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]]))[1] == 3
    assert be.inv(np.zeros((3, 3)))[1] == 1
    low, info = be.cholesky(np.stack([np.eye(2), NOT_PD, np.diag([-1.0, 1.0]), nan]))
    assert info.tolist() == [0, 2, 1, 1]
    np.testing.assert_array_equal(low[0], np.eye(2))
    assert np.isnan(np.tril(low[1])[np.tril_indices(2)]).all() and low[1, 0, 1] == 0     # TF's NaN factor
    x, info = be.solve(np.stack([np.eye(2), SINGULAR]), np.ones((2, 2, 1)))
    assert info.tolist() == [0, 2] and x[0].tolist() == [[1.0], [1.0]]


def test_ops_raise_or_report_failures():
    batch = _v(np.stack([np.eye(2), SINGULAR]))
    with pytest.raises(LinAlgError, match="^Input is not invertible.$") as exc:
        la.inverse(batch)
    assert (exc.value.batch, exc.value.info) == (1, 2) and isinstance(exc.value, (RuntimeError, InvalidArgumentError))
    with pytest.raises(LinAlgError) as exc:
        la.inverse(_v(SINGULAR))
    assert (exc.value.batch, exc.value.info) == (None, 2)
    x, info = la.inverse(batch, check=False)
    assert info.data.tolist() == [0, 2] and np.isinf(x.data[1]).all()
    with pytest.raises(LinAlgError, match="^Input matrix is not invertible.$"):
        la.solve(batch, _v(np.ones((2, 1))))
    with pytest.raises(LinAlgError, match="leading minor of order 2 is not positive-definite") as exc:
        la.cholesky(_v(np.stack([np.eye(2), np.eye(2), NOT_PD])))
    assert (exc.value.batch, exc.value.info) == (2, 2)
    low, info = la.cholesky(_v(NOT_PD), check=False)
    assert info.data == 2 and np.isnan(low.data[1]).all()
    np.testing.assert_array_equal(la.det(_v(SINGULAR)).data, 0.0)
    sign, logabs = la.slogdet(_v(SINGULAR))
    assert sign.data == 0 and logabs.data == -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # a zero on the triangle's diagonal: infinities, silently
        x = la.triangular_solve(_v(np.array([[0.0, 0.0], [1.0, 4.0]])), _v(np.ones((2, 1))))
    np.testing.assert_array_equal(x.data, [[np.inf], [-np.inf]])


# ----- bad inputs and static shapes --------------------------------------------------------------------------
@pytest.mark.parametrize("call,error,text", [
    (lambda: la.inverse(_v(np.eye(2, dtype=np.float16))), DTypeError, "expected dtype float32 or float64, got float16"),
    (lambda: la.det(_v(np.eye(2, dtype=np.int64))), DTypeError, "argument 'input' expected dtype float32 or float64"),
    (lambda: la.cholesky(_v(np.ones(3))), ShapeError, "at least 2-D"),
    (lambda: la.slogdet(_v(np.ones((2, 3)))), ShapeError, "expected square matrices (..., n, n), got shape (2, 3)"),
    (lambda: la.solve(_v(np.eye(2)), _v(np.ones((3, 1)))), ShapeError, "argument 'rhs' expected 2 rows"),
    (lambda: la.solve(_v(np.eye(2)), _v(np.ones((2, 1), np.float32))), DTypeError, "argument 'rhs' expected dtype"),
    (lambda: la.triangular_solve(_v(np.ones((3, 2, 2))), _v(np.ones((4, 2, 1)))), ShapeError, "cannot be broadcast"),
    (lambda: la.solve(_v(np.ones((3, 2, 2))), _v(np.ones((1, 2, 1))), broadcast=False), ShapeError,
     "the batch shape of argument 'matrix'"),
])
def test_bad_inputs_name_the_op_argument_and_what_was_expected(call, error, text):
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        call()


def test_static_shapes_with_an_unknown_batch_dim():
    def sym(*shape):
        return Value._wrap(None, shape, np.dtype(np.float64), core.device.CPU)
    a, b = sym(None, 3, 3), sym(2, 3, 5)
    assert la.inverse(a).shape == (None, 3, 3) and la.det(a).shape == (None,)
    assert [t.shape for t in la.slogdet(a)] == [(None,), (None,)]
    assert la.solve(a, b).shape == (2, 3, 5) and la.triangular_solve(a, b).shape == (2, 3, 5)
    assert la.solve(a, sym(None, 3, 5), broadcast=False).shape == (None, 3, 5)
    assert [t.shape for t in la.cholesky(a, check=False)] == [(None, 3, 3), (None,)]
    assert la.matrix_power(a, -3).shape == (None, 3, 3)


# ----- the frontends -----------------------------------------------------------------------------------------------
def test_torch_frontend_words_failures_as_pytorch():
    with pytest.raises(torch.linalg.LinAlgError) as exc:
        torch.linalg.inv(torch.tensor(np.stack([np.eye(2), SINGULAR])))
    assert isinstance(exc.value, RuntimeError) and str(exc.value) == (
        "linalg.inv: (Batch element 1): The diagonal element 2 is zero, the inversion could not be completed because "
        "the input matrix is singular.")
    with pytest.raises(RuntimeError, match=r"^linalg\.cholesky: The factorization could not be completed because the "
                                           r"input is not positive-definite \(the leading minor of order 2 is not "
                                           r"positive-definite\)\.$"):
        torch.linalg.cholesky(torch.tensor(NOT_PD))
    with pytest.raises(RuntimeError, match=r"^torch\.linalg\.solve: The solver failed because the input matrix is "
                                           r"singular\.$"):
        torch.linalg.solve(torch.tensor(SINGULAR), torch.ones(2, dtype=torch.float64))
    with pytest.raises(RuntimeError, match=r"^linalg\.inv: Expected a floating point or complex tensor as input\. "
                                           r"Got Long$"):
        torch.linalg.matrix_power(torch.tensor([[1, 2], [3, 4]]), -1)
    inverse, info = torch.linalg.inv_ex(torch.tensor(SINGULAR))
    assert int(info) == 2 and np.isinf(inverse.numpy()).all()


def test_torch_frontend_conventions():
    a = torch.tensor([[4.0, 1.0], [3.0, 5.0]], dtype=torch.float64)
    # upper=True reads the upper triangle (LAPACK's 'U'), so it is not the lower factor transposed here
    np.testing.assert_allclose(torch.linalg.cholesky(a, upper=True).numpy(), [[2, 0.5], [0, np.sqrt(4.75)]])
    np.testing.assert_allclose(torch.linalg.cholesky(a).numpy(), [[2, 0], [1.5, np.sqrt(2.75)]])
    x = torch.linalg.solve(a.expand(3, 2, 2), torch.ones(3, 2, dtype=torch.float64))      # a batch of vectors
    assert x.shape == (3, 2) and np.allclose(x.numpy(), np.linalg.solve(a.numpy(), np.ones(2)))
    x = torch.linalg.solve(a, torch.ones(3, 2, dtype=torch.float64), left=False)         # X A = B
    np.testing.assert_allclose(x.numpy() @ a.numpy(), np.ones((3, 2)), rtol=1e-14)
    result = torch.slogdet(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))
    assert type(result).__name__ == "slogdet" and result._fields == ("sign", "logabsdet") and float(result.sign) == -1
    assert type(torch.linalg.slogdet(a)).__name__ == "linalg_slogdet"
    assert np.isnan(float(torch.logdet(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))))        # det < 0
    assert float(torch.logdet(torch.tensor(SINGULAR))) == -np.inf
    s = torch.tensor(SINGULAR, requires_grad=True)
    torch.det(s).backward()
    np.testing.assert_array_equal(s.grad.numpy(), np.zeros((2, 2)))
    eye = torch.matrix_power(a.clone().requires_grad_(), 0)
    assert eye.requires_grad and eye.tolist() == [[1, 0], [0, 1]]
    with pytest.warns(UserWarning, match="torch.cholesky is deprecated"):
        torch.linalg._WARNED.discard("cholesky")
        torch.cholesky(a)
    with pytest.raises(MissingNameError):
        torch.linalg.lstsq(a, a)


def test_tf_frontend_fails_when_run_as_tf1():
    with tf.Graph().as_default():
        inv = tf.linalg.inv(tf.constant(np.stack([np.eye(2), SINGULAR]).astype(np.float32)))
        chol = tf.cholesky(tf.constant(NOT_PD))
        logdet = tf.linalg.logdet(tf.constant(np.eye(2) * 3))
        slog = tf.linalg.slogdet(tf.constant(SINGULAR))
        assert logdet.name == "logdet/mul:0" and type(slog).__name__ == "LogMatrixDeterminant"
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"^Input is not invertible\.\n\t \[\[\{\{node "
                                                                      r"MatrixInverse\}\}\]\]$"):
                sess.run(inv)
            low, value, (sign, logabs) = sess.run([chol, logdet, slog])
    assert np.isnan(low[np.tril_indices(2)]).all()                      # no error: NaN, as TF 2.21
    assert value == pytest.approx(2 * np.log(3)) and sign == 0 and logabs == -np.inf


def test_tf_frontend_checks_dims_unknown_when_built_when_run():
    with tf.Graph().as_default():
        m, r = tf.placeholder(tf.float64, [None, None]), tf.placeholder(tf.float64, [None, None])
        inv, solve, tri = tf.linalg.inv(m), tf.linalg.solve(m, r), tf.linalg.triangular_solve(m, r)
        with tf.Session() as sess:
            mismatched = {m: np.eye(2), r: np.ones((3, 1))}
            for fetch, feed, text in [(inv, {m: np.ones((2, 3))}, "Input matrix must be square."),
                                      (solve, mismatched, "Input matrix and rhs are incompatible."),
                                      (tri, mismatched, "In[0] mismatch In[1] shape: 2 vs. 3")]:
                with pytest.raises(tf.errors.InvalidArgumentError) as exc:
                    sess.run(fetch, feed)
                assert exc.value.message.split("\n")[0] == text
            np.testing.assert_array_equal(sess.run(solve, {m: 2 * np.eye(2), r: np.ones((2, 1))}), [[0.5], [0.5]])


@pytest.mark.parametrize("call,error,text", [
    (lambda: tf.linalg.inv(np.ones((2, 2), np.int32)), TypeError,
     "Value passed to parameter 'input' has DataType int32 not in list of allowed values: float64, float32, "
     "float16, complex64, complex128"),
    (lambda: tf.linalg.det(np.ones((2, 3), np.float32)), ValueError, "Dimensions must be equal, but are 3 and 2"),
    (lambda: tf.cholesky(np.ones(3, np.float32)), ValueError, "Shape must be at least rank 2 but is rank 1"),
    (lambda: tf.linalg.solve(tf.constant(np.eye(2, dtype=np.float32)), tf.constant(np.ones((2, 1)))), TypeError,
     "Input 'rhs' of 'MatrixSolve' Op has type float64 that does not match type float32 of argument 'matrix'."),
    (lambda: tf.matrix_triangular_solve(np.eye(2, dtype=np.float32), np.ones((3, 1), np.float32)), ValueError,
     "Dimensions must be equal, but are 2 and 3"),
    (lambda: tf.linalg.inv(np.eye(2, dtype=np.float16)), NotImplementedError, "float16 is not implemented"),
    (lambda: tf.linalg.qr(np.eye(2)), MissingNameError, "qr is not implemented in dualflow"),
])
def test_tf_frontend_checks_when_the_graph_is_built(call, error, text):
    with tf.Graph().as_default(), pytest.raises(error) as exc:
        call()
    assert text in str(exc.value)


# ----- devices ----------------------------------------------------------------------------------------------------
def test_the_cpu_path_never_imports_cupy(monkeypatch):
    for name in ("cupy", "cupyx", "cupyx.scipy"):
        monkeypatch.setitem(sys.modules, name, None)        # any import of them now raises ImportError
    a = torch.tensor(np.stack([np.eye(2), SINGULAR]), requires_grad=True)
    torch.linalg.inv_ex(a)
    torch.linalg.cholesky_ex(a)
    with pytest.raises(LinAlgError):
        torch.linalg.solve(a, torch.ones(2, 2, 1, dtype=torch.float64))
    (torch.linalg.solve_triangular(a, a, upper=True).sum() + torch.linalg.det(a).sum()).backward()
    with tf.Graph().as_default(), tf.Session() as sess:
        sess.run([tf.linalg.triangular_solve(SINGULAR, np.eye(2)), tf.linalg.slogdet(SINGULAR), tf.cholesky(NOT_PD)])


def test_cupy_backend_hands_the_triangle_flags_to_cupyx(monkeypatch):
    """The CuPy backend's wiring run on NumPy arrays, SciPy's solve_triangular (batched, cupyx's signature)
    standing in for cupyx's; the GPU itself is checked by tests/test_gpu.py's op table."""
    scipy_linalg = pytest.importorskip("scipy.linalg")
    states = []
    cupyx = types.ModuleType("cupyx")
    cupyx.scipy = types.ModuleType("cupyx.scipy")
    cupyx.scipy.linalg = scipy_linalg
    cupyx.errstate = lambda linalg: states.append(linalg) or contextlib.nullcontext()
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)
    monkeypatch.setitem(sys.modules, "cupyx.scipy", cupyx.scipy)
    stand = CupyBackend.__new__(CupyBackend)     # no CuPy, no device: the array module is NumPy
    stand.xp, stand._dev = np, contextlib.nullcontext()
    a, b = _well(2, n=3), R.normal(size=(2, 3, 2))
    for lower in (True, False):
        for unit in (True, False):
            np.testing.assert_allclose(stand.solve_triangular(a, b, lower, unit),
                                       _tri_ref(a, b, lower, False, unit), rtol=1e-12)
    x, info = stand.inv(np.stack([np.eye(2), SINGULAR]))
    assert states == ["raise"] and info.tolist() == [0, 2]


def test_tensor_methods_are_the_torch_functions_and_grad_fns_are_named_as_torch():
    import warnings
    import eager_api as torch
    A = torch.tensor([[4.0, 1.0], [1.0, 3.0]], dtype=torch.float64, requires_grad=True)
    B = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")         # the deprecated cholesky/triangular_solve warn once
        L = torch.linalg.cholesky(A)
        pairs = [(A.inverse(), np.linalg.inv([[4.0, 1.0], [1.0, 3.0]])), (A.det(), 11.0), (A.logdet(), np.log(11.0)),
                 (A.slogdet()[1], np.log(11.0)), (A.cholesky(), np.linalg.cholesky([[4.0, 1.0], [1.0, 3.0]])),
                 (B.cholesky_solve(L), np.linalg.solve([[4.0, 1.0], [1.0, 3.0]], [[1.0], [2.0]])),
                 (A.matrix_power(3), np.linalg.matrix_power([[4.0, 1.0], [1.0, 3.0]], 3)),
                 (B.triangular_solve(A)[0], np.linalg.solve([[4.0, 1.0], [0.0, 3.0]], [[1.0], [2.0]]))]
    for got, want in pairs:
        np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12)
    names = [type(f(A).grad_fn).__name__ for f in (torch.linalg.inv, torch.linalg.det, lambda a: torch.linalg.slogdet(a)[1],
                                                    torch.linalg.cholesky)]
    assert names == ["LinalgInvExBackward0", "LinalgDetBackward0", "LinalgSlogdetBackward0",
                     "LinalgCholeskyExBackward0"]


# ----- symmetric eigendecomposition and QR ---------------------------------------------------------------------
def _sym(x):
    return (x + x.transpose(-2, -1)) * 0.5


def test_eigh_decomposes_reads_one_triangle_and_has_pytorchs_gradient():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(2, 4, 4))
    s = (a + np.swapaxes(a, -1, -2)) / 2
    w, v = torch.linalg.eigh(torch.tensor(s))
    w, v = w.numpy(), v.numpy()
    assert (np.diff(w, axis=-1) > 0).all()
    np.testing.assert_allclose(s @ v, v * w[..., None, :], atol=1e-12)       # A V = V diag(L)
    np.testing.assert_allclose(np.swapaxes(v, -1, -2) @ v, np.broadcast_to(np.eye(4), (2, 4, 4)), atol=1e-12)
    garbage = np.tril(s) + np.triu(rng.normal(size=(2, 4, 4)), 1)           # only the lower triangle is read
    np.testing.assert_allclose(torch.linalg.eigvalsh(torch.tensor(garbage)).numpy(), w, rtol=1e-12)
    upper = np.triu(s) + np.tril(rng.normal(size=(2, 4, 4)), -1)
    np.testing.assert_allclose(torch.linalg.eigvalsh(torch.tensor(upper), UPLO="U").numpy(), w, rtol=1e-12)
    # through a symmetric input, the eigenvalues and the sign-free V * V against central differences
    eager_fd_check(lambda x: torch.linalg.eigvalsh(_sym(x)), [a])
    eager_fd_check(lambda x: torch.linalg.eigh(_sym(x)).eigenvectors ** 2, [a])
    # the gradient itself is PyTorch's full matrix V (skew(V^T gV) / E + diag(gL)) V^T, by hand here
    x = torch.tensor(s[0], requires_grad=True)
    gw, gv = rng.normal(size=4), rng.normal(size=(4, 4))
    wt, vt = torch.linalg.eigh(x)
    ((wt * torch.tensor(gw)).sum() + (vt * torch.tensor(gv)).sum()).backward()
    w0, v0 = w[0], v[0]
    gap = w0[None, :] - w0[:, None] + np.eye(4)
    inner = (v0.T @ gv - (v0.T @ gv).T) / 2 / gap + np.diag(gw)
    np.testing.assert_allclose(x.grad.numpy(), v0 @ inner @ v0.T, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (2, 5, 3)])
def test_qr_factors_and_gradients(shape):
    a = np.random.default_rng(4).normal(size=shape)
    for mode in ("reduced", "complete"):
        q, r = (t.numpy() for t in torch.linalg.qr(torch.tensor(a), mode=mode))
        k = shape[-2] if mode == "complete" else min(shape[-2:])
        assert q.shape == shape[:-2] + (shape[-2], k) and r.shape == shape[:-2] + (k, shape[-1])
        np.testing.assert_allclose(q @ r, a, atol=1e-12)
        np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(k), q.shape[:-2] + (k, k)),
                                   atol=1e-12)
        assert np.array_equal(r, np.triu(r))
    r_only = torch.linalg.qr(torch.tensor(a), mode="r")
    assert tuple(r_only.Q.shape) == (0,) and np.array_equal(r_only.R.numpy(), r[..., :min(shape[-2:]), :])
    eager_fd_check(lambda x: torch.linalg.qr(x).Q, [a])
    eager_fd_check(lambda x: torch.linalg.qr(x).R, [a])
    if shape[-2] <= shape[-1]:
        eager_fd_check(lambda x: torch.linalg.qr(x, mode="complete").Q, [a])


def test_qr_and_eigh_errors():
    x = torch.tensor(np.random.default_rng(5).normal(size=(4, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete' and nrows > ncols"):
        torch.linalg.qr(x, mode="complete").Q.sum().backward()
    with pytest.raises(RuntimeError, match="depends on Q, which is not computed when mode='r'"):
        torch.linalg.qr(x, mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="qr received unrecognized mode 'full'"):
        torch.linalg.qr(x, mode="full")
    with pytest.raises(RuntimeError, match="linalg.eigh: A must be batches of square matrices, but they are 4 by 3"):
        torch.linalg.eigh(x)
    with pytest.raises(RuntimeError, match="Expected UPLO argument to be 'L' or 'U', but got l"):
        torch.linalg.eigh(torch.eye(2), UPLO="l")
    with pytest.raises(NotImplementedError, match="\"linalg_eigh_cpu\" not implemented for 'Long'"):
        torch.linalg.eigh(torch.ones(2, 2, dtype=torch.int64))


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (2, 5, 3)])
def test_svd_factors_and_gradients(shape):
    a = np.random.default_rng(6).normal(size=shape)
    m, n = shape[-2:]
    k = min(m, n)
    for full in (False, True):
        u, s, vh = (t.numpy() for t in torch.linalg.svd(torch.tensor(a), full_matrices=full))
        assert u.shape[-2:] == ((m, m) if full else (m, k)) and vh.shape[-2:] == ((n, n) if full else (k, n))
        assert (np.diff(s, axis=-1) < 0).all() and (s > 0).all()
        np.testing.assert_allclose((u[..., :k] * s[..., None, :]) @ vh[..., :k, :], a, atol=1e-12)
        for f, size in ((u, u.shape[-1]), (np.swapaxes(vh, -1, -2), vh.shape[-2])):
            np.testing.assert_allclose(np.swapaxes(f, -1, -2) @ f, np.broadcast_to(np.eye(size), f.shape[:-2] +
                                                                                 (size, size)), atol=1e-12)
    np.testing.assert_allclose(torch.linalg.svdvals(torch.tensor(a)).numpy(), s, rtol=1e-12)
    # S, and U * U and Vh * Vh (free of the paired signs), against central differences
    eager_fd_check(torch.linalg.svdvals, [a])
    eager_fd_check(lambda x: torch.linalg.svd(x, full_matrices=False).U ** 2, [a])
    eager_fd_check(lambda x: torch.linalg.svd(x, full_matrices=False).Vh ** 2, [a])


def test_svd_gradient_is_pytorchs_formula_by_hand():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(5, 3))
    x = torch.tensor(a, requires_grad=True)
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    gu, gs, gvh = rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=(3, 3))
    ((u * torch.tensor(gu)).sum() + (s * torch.tensor(gs)).sum() + (vh * torch.tensor(gvh)).sum()).backward()
    u, s, vh = u.detach().numpy(), s.detach().numpy(), vh.detach().numpy()
    e = s[None, :] ** 2 - s[:, None] ** 2 + np.eye(3)
    ug, vg = u.T @ gu, vh @ gvh.T
    inner = ((ug - ug.T) * s[None, :] + s[:, None] * (vg - vg.T)) / e + np.diag(gs)
    want = (u @ inner + gu / s - u @ (u.T @ (gu / s))) @ vh
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-10, atol=1e-12)


def test_norms_by_hand_and_against_central_differences():
    x = np.array([[3.0, -4.0, 0.0], [1.0, 1.0, -1.0]])
    t = torch.tensor(x)
    for p, want in ((2, [5, 3 ** 0.5]), (1, [7, 3]), (0, [2, 3]), (3, [91 ** (1 / 3), 3 ** (1 / 3)]),
                    (0.5, [(3 ** 0.5 + 2) ** 2, 9]), (float("inf"), [4, 1]), (float("-inf"), [0, 1]), (-1, [0, 1 / 3])):
        np.testing.assert_allclose(torch.linalg.vector_norm(t, p, dim=1).numpy(), want, rtol=1e-12)
    a = np.random.default_rng(8).normal(size=(3, 4))
    s = np.linalg.svd(a, compute_uv=False)
    for o, want in (("fro", np.sqrt((a * a).sum())), ("nuc", s.sum()), (2, s[0]), (-2, s[-1]),
                    (1, np.abs(a).sum(0).max()), (-1, np.abs(a).sum(0).min()), (float("inf"), np.abs(a).sum(1).max()),
                    (float("-inf"), np.abs(a).sum(1).min())):
        assert torch.linalg.matrix_norm(torch.tensor(a), o).item() == pytest.approx(want, rel=1e-12)
        assert torch.linalg.norm(torch.tensor(a), o).item() == pytest.approx(want, rel=1e-12)
    for p in (3, 0.5, 1.5):
        eager_fd_check(lambda v: torch.linalg.vector_norm(v, p, dim=1), [a])
    # at zeros, PyTorch's conventions: 0 where the chain rule would give inf * 0
    z = torch.tensor(np.array([[0.0, 2.0], [0.0, 0.0]]), requires_grad=True)
    for p in (0.5, 3):
        z.grad = None
        torch.linalg.vector_norm(z, p, dim=1).sum().backward()
        np.testing.assert_allclose(z.grad.numpy(), [[0, 1], [0, 0]], rtol=1e-15, atol=0)
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: Order 3 not supported."):
        torch.linalg.matrix_norm(torch.tensor(a), 3)


def test_older_svd_and_qr_and_the_tensor_methods():
    a = np.random.default_rng(9).normal(size=(4, 3))
    t = torch.tensor(a)
    u, s, v = torch.svd(t)                      # V itself, not Vh
    np.testing.assert_allclose((u.numpy() * s.numpy()) @ v.numpy().T, a, atol=1e-12)
    assert [tuple(f.shape) for f in torch.svd(t, some=False)] == [(4, 4), (3,), (3, 3)]
    none = torch.svd(t, compute_uv=False)
    assert tuple(none.U.shape) == (4, 4) and (none.U.numpy() == 0).all() and (none.V.numpy() == 0).all()
    np.testing.assert_allclose(none.S.numpy(), s.numpy(), rtol=1e-12)
    torch.linalg._WARNED.discard("qr")
    with pytest.warns(UserWarning, match="torch.qr is deprecated in favor of torch.linalg.qr"):
        q, r = t.qr(some=False)
    assert tuple(q.shape) == (4, 4) and tuple(r.shape) == (4, 3)
    sq = torch.tensor(a[:3])
    np.testing.assert_allclose(sq.inverse().numpy(), np.linalg.inv(a[:3]), rtol=1e-12)
    assert sq.det().item() == pytest.approx(np.linalg.det(a[:3]), rel=1e-12)
    np.testing.assert_allclose(sq.matrix_power(3).numpy(), np.linalg.matrix_power(a[:3], 3), rtol=1e-12)
    sign, logabs = sq.slogdet()
    assert (sign.item(), logabs.item()) == pytest.approx(np.linalg.slogdet(a[:3]), rel=1e-12)
    spd = sq @ sq.t()
    assert spd.logdet().item() == pytest.approx(np.linalg.slogdet(a[:3] @ a[:3].T)[1], rel=1e-12)
