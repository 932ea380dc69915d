"""Parity with PyTorch 2.13 and TensorFlow 2.21 (compat.v1) for dense linear algebra (tests/test_linalg.py's
functions): the same inputs through dualflow and the peer, values and gradients compared, and the peers' errors
(type and words), warnings, result types and graph names.  Each library runs its own LAPACK (PyTorch's, Eigen in
TF, NumPy's OpenBLAS here), so values agree to rounding, not bit for bit: on these inputs (condition numbers up to
~10) float64 results differ by at most ~1e-13 relative; float32 ones by ~2e-5 where TF's float32 gradient of det
is that far from the float64 value (dualflow's is within 1e-6 of it), so float32 is compared within 5e-5."""
import warnings

import numpy as np
import pytest

import eager_api
import static_api as tf

pytestmark = pytest.mark.reference
R = np.random.default_rng(21)
TOL = {np.float64: dict(rtol=1e-11, atol=1e-13), np.float32: dict(rtol=5e-5, atol=5e-6)}
SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])
NOT_PD = np.array([[1.0, 2.0], [2.0, 1.0]])


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tf1():
    return pytest.importorskip("tensorflow").compat.v1


def _well(*batch, n=3):
    return R.normal(size=batch + (n, n)) + n * np.eye(n)


A = _well(2, 1)                                              # (2, 1, 3, 3): a batch that broadcasts
B = R.normal(size=(3, 3, 2))
SPD = (lambda m: m @ m.swapaxes(-1, -2))(_well(2))            # (2, 3, 3)
LOPSIDED = SPD + np.triu(R.normal(size=(3, 3)), 1)           # its upper triangle is not its lower one's mirror
LOW = np.tril(R.normal(size=(2, 3, 3)), -1) + np.diag([2.0, 3.0, 4.0])


def _quiet(fn):
    """fn() without the peers' deprecation warnings (their text is compared on its own)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


# ----- PyTorch: deprecation warnings (first: PyTorch gives each once per process) ---------------------------------
@pytest.mark.parametrize("call", ["cholesky", "triangular_solve"])
def test_torch_deprecation_warnings_match(torch, call, monkeypatch):
    def caught(t):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            for _ in range(2):
                if call == "cholesky":
                    t.cholesky(t.eye(2))
                else:
                    t.triangular_solve(t.ones(2, 1), t.eye(2))
        return [(w.category, str(w.message).split(" (Triggered internally")[0], w.filename) for w in record]
    theirs = caught(torch)
    if not theirs:
        pytest.skip(f"torch.{call} warned earlier in this process (PyTorch warns once per process)")
    monkeypatch.setattr(eager_api.linalg, "_WARNED", set())
    ours = caught(eager_api)
    assert ours == theirs and len(ours) == 1 and ours[0][2] == __file__


# ----- PyTorch: values and gradients --------------------------------------------------------------------------------
# name -> (fn(lib, *tensors) -> tensor, inputs)
TORCH = {
    "linalg.inv": (lambda t, a: t.linalg.inv(a), [A]),
    "inverse": (lambda t, a: t.inverse(a), [A]),
    "inv_ex": (lambda t, a: t.linalg.inv_ex(a).inverse, [A]),
    "linalg.det": (lambda t, a: t.linalg.det(a), [A]),
    "det": (lambda t, a: t.det(a), [A]),
    "linalg.slogdet": (lambda t, a: t.linalg.slogdet(a).logabsdet, [A]),
    "slogdet": (lambda t, a: t.slogdet(a)[1], [A]),
    "logdet": (lambda t, a: t.logdet(a), [SPD]),
    "solve": (lambda t, a, b: t.linalg.solve(a, b), [A, B]),
    "solve_vectors": (lambda t, a, b: t.linalg.solve(a, b), [A[:, 0], B[:2, :, 0]]),
    "solve_right": (lambda t, a, b: t.linalg.solve(a, b, left=False), [A, B.swapaxes(-1, -2)]),
    "cholesky": (lambda t, a: t.linalg.cholesky(a), [LOPSIDED]),
    "cholesky_upper": (lambda t, a: t.linalg.cholesky(a, upper=True), [LOPSIDED]),
    "cholesky_ex": (lambda t, a: t.linalg.cholesky_ex(a).L, [SPD]),
    "torch.cholesky_upper": (lambda t, a: _quiet(lambda: t.cholesky(a, upper=True)), [LOPSIDED]),
    "matrix_power_-3": (lambda t, a: t.linalg.matrix_power(a, -3), [A]),
    "matrix_power_0": (lambda t, a: t.linalg.matrix_power(a, 0), [A]),
    "matrix_power_2": (lambda t, a: t.matrix_power(a, 2), [A]),
    "matrix_power_6": (lambda t, a: t.linalg.matrix_power(a, 6), [A]),
    "triangular_solve_lower_transpose": (
        lambda t, b, a: _quiet(lambda: t.triangular_solve(b, a, upper=False, transpose=True).solution), [B, A]),
    "triangular_solve_upper_unit": (
        lambda t, b, a: _quiet(lambda: t.triangular_solve(b, a, unitriangular=True)[0]), [B, A]),
    "cholesky_solve": (lambda t, b, low: t.cholesky_solve(b, low), [B[:2], LOW]),
    "cholesky_solve_upper": (lambda t, b, up: t.cholesky_solve(b, up, upper=True), [B[:2], LOW.swapaxes(-1, -2)]),
    "cholesky_inverse": (lambda t, low: t.cholesky_inverse(low), [LOW]),
}
for _upper in (True, False):
    for _left in (True, False):
        for _unit in (True, False):
            TORCH[f"solve_triangular_{_upper}_{_left}_{_unit}"] = (
                lambda t, a, b, up=_upper, le=_left, un=_unit: t.linalg.solve_triangular(
                    a, b, upper=up, left=le, unitriangular=un), [A, B if _left else B.swapaxes(-1, -2)])


def _flat_pair(t, pair):
    """Two results as one vector (the test's loss weights each element)."""
    return t.cat([pair[0].reshape(-1), pair[1].reshape(-1)])


# eigh: the eigenvalues and V * V (free of the eigenvectors' signs, which LAPACKs may choose differently); QR's
# factors are LAPACK's Householder ones in both
TALL, WIDE = R.normal(size=(2, 5, 3)), R.normal(size=(3, 5))
TORCH["eigvalsh"] = (lambda t, a: t.linalg.eigvalsh(a), [SPD])
TORCH["eigh_squared_vectors"] = (lambda t, a: (lambda r: _flat_pair(t, (r[0], r[1] ** 2)))(t.linalg.eigh(a)), [SPD])
TORCH["eigh_upper"] = (lambda t, a: (lambda r: _flat_pair(t, (r[0], r[1] ** 2)))(t.linalg.eigh(a, UPLO="U")),
                       [LOPSIDED])
TORCH["qr_tall"] = (lambda t, a: _flat_pair(t, t.linalg.qr(a)), [TALL])
TORCH["qr_wide"] = (lambda t, a: _flat_pair(t, t.linalg.qr(a)), [WIDE])
TORCH["qr_wide_complete"] = (lambda t, a: _flat_pair(t, t.linalg.qr(a, mode="complete")), [WIDE])
TORCH["qr_square"] = (lambda t, a: _flat_pair(t, t.linalg.qr(a)), [A[:, 0]])
# SVD: S, U * U and Vh * Vh (the paired signs are each LAPACK's), full matrices' extra columns left out
TORCH["svdvals"] = (lambda t, a: t.linalg.svdvals(a), [TALL])
TORCH["svd_tall"] = (lambda t, a: (lambda r: t.cat([r.S.reshape(-1), (r.U ** 2).reshape(-1), (r.Vh ** 2).reshape(-1)]))(
    t.linalg.svd(a, full_matrices=False)), [TALL])
TORCH["svd_wide_full"] = (lambda t, a: (lambda r: t.cat([r.S.reshape(-1), (r.U ** 2).reshape(-1)]))(
    t.linalg.svd(a)), [WIDE])


def _torch_run(lib, fn, arrays, dtype):
    xs = [lib.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out = fn(lib, *xs)
    c = lib.tensor(np.random.default_rng(3).normal(size=tuple(out.shape)).astype(dtype))
    (out * c).sum().backward()
    return [out.detach().numpy()] + [x.grad.numpy() for x in xs]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(TORCH))
def test_torch_values_and_gradients_match(torch, name, dtype):
    fn, arrays = TORCH[name]
    ours, theirs = _torch_run(eager_api, fn, arrays, dtype), _torch_run(torch, fn, arrays, dtype)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert o.dtype == t.dtype and o.shape == t.shape, (name, i)
        np.testing.assert_allclose(o, t, **TOL[dtype], err_msg=f"{name}: {'value' if i == 0 else f'grad {i - 1}'}")


def test_torch_singular_matrices_give_the_same_numbers(torch):
    s = np.stack([np.eye(2), SINGULAR])

    def story(t):
        out = {}
        inverse, info = t.linalg.inv_ex(t.tensor(s))
        out["inv_ex"], out["inv_ex_info"] = inverse.numpy(), info.tolist()
        low, info = t.linalg.cholesky_ex(t.tensor(np.stack([np.eye(2), NOT_PD, np.diag([-1.0, 1.0])])))
        out["cholesky_ex_info"], out["cholesky_ex_ok"] = info.tolist(), low.numpy()[0]   # failed ones: no contract
        out["det"] = t.linalg.det(t.tensor(s)).numpy()
        sign, logabsdet = t.linalg.slogdet(t.tensor(SINGULAR))
        out["slogdet"] = [float(sign), float(logabsdet)]
        out["logdet"] = t.logdet(t.tensor([[0.0, 1.0], [1.0, 0.0]])).numpy()
        for fn in ("det", "slogdet"):
            a = t.tensor(SINGULAR, requires_grad=True)
            (t.linalg.det(a) if fn == "det" else t.linalg.slogdet(a)[1]).backward()
            out[f"{fn}_grad"] = a.grad.numpy()
        out["triangular_zero_diagonal"] = t.linalg.solve_triangular(t.tensor([[0.0, 0.0], [1.0, 4.0]]),
                                                                    t.ones(2, 1), upper=False).numpy()
        return out
    ours, theirs = story(eager_api), story(torch)
    assert ours.keys() == theirs.keys()
    for k in ours:
        np.testing.assert_array_equal(ours[k], theirs[k], err_msg=k)     # NaN and infinities where they are


# ----- PyTorch: errors, warnings, result types ----------------------------------------------------------------------
def _f(t, a, dtype="float32"):
    return t.tensor(np.asarray(a, dtype=dtype))


TORCH_ERRORS = {
    "inv_singular": lambda t: t.linalg.inv(_f(t, SINGULAR)),
    "inv_singular_batch": lambda t: t.linalg.inv(_f(t, [np.eye(2), SINGULAR])),
    "inv_rank2_3x3": lambda t: t.linalg.inv(_f(t, [[1, 2, 3], [2, 4, 6], [1, 0, 1]])),
    "inv_zero": lambda t: t.linalg.inv(t.zeros(2, 2)),
    "inverse_singular": lambda t: t.inverse(_f(t, SINGULAR)),
    "inv_nonsquare": lambda t: t.linalg.inv(t.ones(2, 3)),
    "inv_1d": lambda t: t.linalg.inv(t.ones(3)),
    "inv_int": lambda t: t.linalg.inv(t.ones(2, 2, dtype=t.int64)),
    "inv_half": lambda t: t.linalg.inv(t.ones(2, 2, dtype=t.float16)),
    "inv_list": lambda t: t.linalg.inv([[1.0, 0.0], [0.0, 1.0]]),
    "inv_ex_check": lambda t: t.linalg.inv_ex(_f(t, SINGULAR), check_errors=True),
    "det_nonsquare": lambda t: t.linalg.det(t.ones(2, 3)),
    "det_int": lambda t: t.det(t.ones(2, 2, dtype=t.int64)),
    "det_half": lambda t: t.linalg.det(t.ones(2, 2, dtype=t.float16)),
    "slogdet_half": lambda t: t.linalg.slogdet(t.ones(2, 2, dtype=t.float16)),
    "slogdet_bool": lambda t: t.slogdet(t.ones(2, 2, dtype=t.bool)),
    "logdet_nonsquare": lambda t: t.logdet(t.ones(2, 3)),
    "logdet_int": lambda t: t.logdet(t.ones(2, 2, dtype=t.int64)),
    "solve_singular": lambda t: t.linalg.solve(_f(t, SINGULAR), t.ones(2)),
    "solve_singular_batch": lambda t: t.linalg.solve(_f(t, [np.eye(2), SINGULAR]), t.ones(2, 2, 1)),
    "solve_mismatch": lambda t: t.linalg.solve(t.eye(2), t.ones(3, 4)),
    "solve_right_vector": lambda t: t.linalg.solve(t.eye(3), t.ones(3), left=False),
    "solve_batched_not_vectors": lambda t: t.linalg.solve(t.eye(3).expand(4, 2, 3, 3), t.ones(2, 3)),
    "solve_dtypes": lambda t: t.linalg.solve(t.eye(2), t.ones(2, 1, dtype=t.int64)),
    "solve_int": lambda t: t.linalg.solve(t.eye(2, dtype=t.int64), t.ones(2, 1, dtype=t.int64)),
    "solve_half": lambda t: t.linalg.solve(t.eye(2, dtype=t.float16), t.ones(2, 1, dtype=t.float16)),
    "solve_B_0d": lambda t: t.linalg.solve(t.eye(2), t.tensor(1.0)),
    "solve_list": lambda t: t.linalg.solve(t.eye(2), [1.0, 1.0]),
    "cholesky_not_pd": lambda t: t.linalg.cholesky(_f(t, NOT_PD)),
    "cholesky_not_pd_batch": lambda t: t.linalg.cholesky(_f(t, [np.eye(2), NOT_PD])),
    "cholesky_first_minor": lambda t: t.linalg.cholesky(_f(t, [[-1, 0], [0, 1]])),
    "cholesky_nan": lambda t: t.linalg.cholesky(_f(t, [[np.nan, 0], [0, 1]])),
    "cholesky_nonsquare": lambda t: t.linalg.cholesky(t.ones(2, 3)),
    "cholesky_int": lambda t: t.linalg.cholesky(t.ones(2, 2, dtype=t.int64)),
    "cholesky_half": lambda t: t.linalg.cholesky(t.ones(2, 2, dtype=t.float16)),
    "cholesky_ex_check": lambda t: t.linalg.cholesky_ex(_f(t, NOT_PD), check_errors=True),
    "torch.cholesky_not_pd": lambda t: _quiet(lambda: t.cholesky(_f(t, NOT_PD))),
    "torch.cholesky_int": lambda t: _quiet(lambda: t.cholesky(t.ones(2, 2, dtype=t.int64))),
    "torch.cholesky_nonsquare": lambda t: _quiet(lambda: t.cholesky(t.ones(2, 3))),
    "solve_triangular_vector": lambda t: t.linalg.solve_triangular(t.eye(2), t.ones(2), upper=False),
    "solve_triangular_1d_A": lambda t: t.linalg.solve_triangular(t.ones(2), t.ones(2, 1), upper=False),
    "solve_triangular_mismatch": lambda t: t.linalg.solve_triangular(t.eye(2), t.ones(3, 1), upper=False),
    "solve_triangular_right_mismatch": lambda t: t.linalg.solve_triangular(t.eye(2), t.ones(3, 1), upper=False,
                                                                           left=False),
    "solve_triangular_nonsquare": lambda t: t.linalg.solve_triangular(t.ones(2, 3), t.ones(2, 1), upper=False),
    "solve_triangular_int": lambda t: t.linalg.solve_triangular(t.eye(2, dtype=t.int64), t.ones(2, 1),
                                                                upper=True),
    "solve_triangular_no_upper": lambda t: t.linalg.solve_triangular(t.eye(2), t.ones(2, 1)),
    "matrix_power_singular": lambda t: t.linalg.matrix_power(_f(t, SINGULAR), -1),
    "matrix_power_int_negative": lambda t: t.linalg.matrix_power(t.ones(2, 2, dtype=t.int64), -1),
    "matrix_power_nonsquare": lambda t: t.matrix_power(t.ones(2, 3), 2),
    "matrix_power_1d": lambda t: t.linalg.matrix_power(t.ones(3), 2),
    "matrix_power_float_n": lambda t: t.linalg.matrix_power(t.eye(2), 2.0),
    "matrix_power_bool_n": lambda t: t.linalg.matrix_power(t.eye(2), True),
    "triangular_solve_mismatch": lambda t: _quiet(lambda: t.triangular_solve(t.ones(3, 1), t.eye(2))),
    "triangular_solve_vector": lambda t: _quiet(lambda: t.triangular_solve(t.ones(2), t.eye(2))),
    "triangular_solve_1d_A": lambda t: _quiet(lambda: t.triangular_solve(t.ones(2, 1), t.ones(2))),
    "triangular_solve_nonsquare": lambda t: _quiet(lambda: t.triangular_solve(t.ones(2, 1), t.ones(2, 3))),
    "triangular_solve_dtypes": lambda t: _quiet(lambda: t.triangular_solve(t.ones(2, 1, dtype=t.float64),
                                                                          t.eye(2))),
    "cholesky_solve_1d": lambda t: t.cholesky_solve(t.ones(2), t.eye(2)),
    "cholesky_solve_mismatch": lambda t: t.cholesky_solve(t.ones(3, 1), t.eye(2)),
    "cholesky_solve_dtypes": lambda t: t.cholesky_solve(t.ones(2, 1, dtype=t.float64), t.eye(2)),
    "cholesky_solve_int": lambda t: t.cholesky_solve(t.ones(2, 1, dtype=t.int64), t.eye(2, dtype=t.int64)),
    "cholesky_inverse_nonsquare": lambda t: t.cholesky_inverse(t.ones(2, 3)),
    "cholesky_inverse_int": lambda t: t.cholesky_inverse(t.eye(2, dtype=t.int64)),
}


def _raised(fn):
    try:
        fn()
    except Exception as exc:        # noqa: BLE001  (the error is what is compared)
        return exc
    return None


@pytest.mark.parametrize("name", sorted(TORCH_ERRORS))
def test_torch_errors_match(torch, name):
    ours, theirs = _raised(lambda: TORCH_ERRORS[name](eager_api)), _raised(lambda: TORCH_ERRORS[name](torch))
    assert theirs is not None and ours is not None, (ours, theirs)
    if isinstance(theirs, torch.linalg.LinAlgError):
        assert isinstance(ours, eager_api.linalg.LinAlgError) and isinstance(ours, RuntimeError)
    else:
        assert type(ours) is type(theirs)
    if name != "solve_triangular_no_upper":     # there Python words the TypeError, not PyTorch's binding
        assert str(ours) == str(theirs)


def test_torch_result_types_match(torch):
    fields = {"linalg_slogdet": ("sign", "logabsdet"), "slogdet": ("sign", "logabsdet"),
              "linalg_inv_ex": ("inverse", "info"), "linalg_cholesky_ex": ("L", "info"),
              "triangular_solve": ("solution", "cloned_coefficient")}

    def kinds(t):
        a = t.eye(2)
        results = [t.linalg.slogdet(a), t.slogdet(a), t.linalg.inv_ex(a), t.linalg.cholesky_ex(a),
                   _quiet(lambda: t.triangular_solve(t.ones(2, 1), a))]
        for r in results:       # each field is the item at its place
            names = fields[type(r).__name__]
            assert len(r) == len(names) and all(r[i] is getattr(r, f) for i, f in enumerate(names))
        info = t.linalg.inv_ex(a.expand(3, 2, 2)).info
        return [type(r).__name__ for r in results], str(info.dtype).replace("torch.", ""), tuple(info.shape)
    assert kinds(eager_api) == kinds(torch)


# ----- TensorFlow (compat.v1): values, gradients, names ------------------------------------------------------------
A0, B0 = A[:, 0], B[:2]          # TF's MatrixSolve wants equal batch dims
TF = {
    "linalg.inv": (lambda t, a: t.linalg.inv(a), [A0]),
    "matrix_inverse_adjoint": (lambda t, a: t.matrix_inverse(a, adjoint=True), [A0]),
    "linalg.det": (lambda t, a: t.linalg.det(a), [A0]),
    "matrix_determinant": (lambda t, a: t.matrix_determinant(a), [A0]),
    "slogdet": (lambda t, a: t.linalg.slogdet(a).log_abs_determinant, [A0]),
    "logdet": (lambda t, a: t.linalg.logdet(a), [SPD]),
    "solve": (lambda t, a, b: t.linalg.solve(a, b), [A0, B0]),
    "matrix_solve_adjoint": (lambda t, a, b: t.matrix_solve(a, b, adjoint=True), [A0, B0]),
    "cholesky": (lambda t, a: t.linalg.cholesky(a), [LOPSIDED]),
    "tf.cholesky": (lambda t, a: t.cholesky(a), [SPD]),
    "triangular_solve_broadcast": (lambda t, a, b: t.linalg.triangular_solve(a, b), [A, B]),
    "cholesky_solve": (lambda t, low, b: t.cholesky_solve(low, b), [LOW, B0]),
    "linalg.cholesky_solve": (lambda t, low, b: t.linalg.cholesky_solve(low, b), [LOW, B0]),
}
for _lower in (True, False):
    for _adjoint in (True, False):
        TF[f"matrix_triangular_solve_{_lower}_{_adjoint}"] = (
            lambda t, a, b, lo=_lower, ad=_adjoint: t.matrix_triangular_solve(a, b, lower=lo, adjoint=ad), [A0, B0])


def _tf_run(lib, fn, arrays, dtype):
    with lib.Graph().as_default():
        xs = [lib.constant(a.astype(dtype)) for a in arrays]
        out = fn(lib, *xs)
        c = np.random.default_rng(3).normal(size=tuple(out.shape)).astype(dtype)
        grads = lib.gradients(lib.reduce_sum(out * c), xs)
        with lib.Session() as sess:
            return out.name, sess.run([out] + grads)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(TF))
def test_tf_values_gradients_and_names_match(tf1, name, dtype):
    fn, arrays = TF[name]
    (our_name, ours), (their_name, theirs) = _tf_run(tf, fn, arrays, dtype), _tf_run(tf1, fn, arrays, dtype)
    assert our_name == their_name
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert o.dtype == t.dtype and o.shape == t.shape, (name, i)
        np.testing.assert_allclose(o, t, **TOL[dtype], err_msg=f"{name}: {'value' if i == 0 else f'grad {i - 1}'}")


def test_tf_results_that_do_not_raise_match(tf1):
    def run(lib):
        with lib.Graph().as_default():
            chol = lib.cholesky(np.stack([np.eye(2), NOT_PD]))
            slog = lib.linalg.slogdet(np.stack([SINGULAR, [[0.0, 1.0], [1.0, 0.0]]]))
            zero_diagonal = lib.linalg.triangular_solve([[0.0, 0.0], [1.0, 4.0]], [[1.0], [1.0]])
            fetches = {"cholesky_ok": chol[0], "cholesky_lower": lib.linalg.band_part(chol[1], -1, 0),
                       "slogdet": slog, "det": lib.linalg.det(SINGULAR), "logdet_not_pd": lib.linalg.logdet(NOT_PD),
                       "triangular_zero_diagonal": zero_diagonal}
            names = [slog.sign.name, slog.log_abs_determinant.name, chol.name]
            with lib.Session() as sess:
                return sess.run(fetches), names, type(slog).__name__, slog._fields
    (ours, *our_facts), (theirs, *their_facts) = run(tf), run(tf1)
    assert our_facts == their_facts
    for k in theirs:
        np.testing.assert_array_equal(np.asarray(ours[k]), np.asarray(theirs[k]), err_msg=k)


@pytest.mark.parametrize("name", ["name_inv", "name_det", "name_solve", "name_cholesky", "name_triangular",
                                  "name_logdet", "name_slogdet", "name_twice"])
def test_tf_names_match(tf1, name):
    eye = np.eye(2, dtype=np.float32)
    build = {
        "name_inv": lambda t: [t.linalg.inv(eye, name="i")],
        "name_det": lambda t: [t.matrix_determinant(eye, name="d")],
        "name_solve": lambda t: [t.linalg.solve(eye, eye, name="s")],
        "name_cholesky": lambda t: [t.linalg.cholesky(eye, name="c")],
        "name_triangular": lambda t: [t.linalg.triangular_solve(eye, eye, name="tt")],
        "name_logdet": lambda t: [t.linalg.logdet(eye, name="ld")],
        "name_slogdet": lambda t: list(t.linalg.slogdet(eye, name="sl")),
        "name_twice": lambda t: [t.matrix_triangular_solve(eye, eye), t.linalg.triangular_solve(eye, eye),
                                 t.linalg.inv(eye), t.matrix_inverse(eye)],
    }[name]

    def names(lib):
        with lib.Graph().as_default():
            return [x.name for x in build(lib)]
    assert names(tf) == names(tf1)


TF_BUILD_ERRORS = {
    "inv_int": lambda t: t.linalg.inv(np.ones((2, 2), np.int32)),
    "det_int": lambda t: t.linalg.det(np.ones((2, 2), np.int32)),
    "slogdet_int": lambda t: t.linalg.slogdet(np.ones((2, 2), np.int32)),
    "cholesky_int": lambda t: t.cholesky(np.ones((2, 2), np.int32)),
    "logdet_int": lambda t: t.linalg.logdet(np.ones((2, 2), np.int32)),
    "solve_int": lambda t: t.linalg.solve(np.ones((2, 2), np.int32), np.ones((2, 2), np.int32)),
    "triangular_int": lambda t: t.linalg.triangular_solve(np.ones((2, 2), np.int32), np.ones((2, 2), np.int32)),
    "solve_dtypes": lambda t: t.linalg.solve(t.constant(np.eye(2, dtype=np.float32)), t.constant(np.ones((2, 1)))),
    "triangular_dtypes": lambda t: t.matrix_triangular_solve(t.constant(np.eye(2, dtype=np.float32)),
                                                             t.constant(np.ones((2, 1)))),
    "inv_nonsquare": lambda t: t.linalg.inv(np.ones((2, 3), np.float32)),
    "det_nonsquare": lambda t: t.matrix_determinant(np.ones((2, 3), np.float32)),
    "slogdet_nonsquare": lambda t: t.linalg.slogdet(np.ones((2, 3), np.float32)),
    "cholesky_nonsquare": lambda t: t.linalg.cholesky(np.ones((2, 3), np.float32)),
    "inv_1d": lambda t: t.linalg.inv(np.ones(3, np.float32)),
    "cholesky_1d": lambda t: t.cholesky(np.ones(3, np.float32)),
    "solve_vector": lambda t: t.linalg.solve(np.eye(2, dtype=np.float32), np.ones(2, np.float32)),
    "solve_mismatch": lambda t: t.linalg.solve(np.eye(2, dtype=np.float32), np.ones((3, 1), np.float32)),
    "triangular_mismatch": lambda t: t.linalg.triangular_solve(np.eye(2, dtype=np.float32),
                                                               np.ones((3, 1), np.float32)),
    "triangular_nonsquare": lambda t: t.linalg.triangular_solve(np.ones((2, 3), np.float32),
                                                                np.ones((2, 1), np.float32)),
    "solve_batch_ranks": lambda t: t.linalg.solve(np.eye(2, dtype=np.float32)[None].repeat(3, 0),
                                                  np.ones((2, 1), np.float32)),
    "solve_batch_dims": lambda t: t.linalg.solve(np.eye(2, dtype=np.float32)[None].repeat(3, 0),
                                                 np.ones((1, 2, 1), np.float32)),
}


@pytest.mark.parametrize("name", sorted(TF_BUILD_ERRORS))
def test_tf_build_errors_match(tf1, name):
    def raised(lib):
        with lib.Graph().as_default():
            return _raised(lambda: TF_BUILD_ERRORS[name](lib))
    ours, theirs = raised(tf), raised(tf1)
    assert theirs is not None and isinstance(ours, type(theirs)), (ours, theirs)
    # TF's text goes on with the node's definition (" for '{{node ...}} = ...'"), which is not emulated
    assert str(ours).split(" for '")[0] == str(theirs).split(" for '")[0]


TF_RUN_ERRORS = {
    "inv_singular": lambda t: t.linalg.inv(np.stack([np.eye(2), SINGULAR])),
    "solve_singular": lambda t: t.matrix_solve(SINGULAR, np.ones((2, 1))),
    "det_gradient_singular": lambda t: (lambda a: t.gradients(t.linalg.det(a), a)[0])(t.constant(SINGULAR)),
    "slogdet_gradient_singular": lambda t: (lambda a: t.gradients(t.linalg.slogdet(a)[1], a)[0])(
        t.constant(SINGULAR)),
    "solve_batch_unknown": lambda t: t.linalg.solve(
        t.placeholder_with_default(np.eye(2)[None].repeat(3, 0), [None, 2, 2]),
        t.placeholder_with_default(np.ones((2, 2, 1)), [None, 2, 1])),
    # dims unknown when the graph is built, checked when it runs
    "inv_not_square": lambda t: t.linalg.inv(_unknown(t, np.ones((2, 3)))),
    "det_not_square": lambda t: t.linalg.det(_unknown(t, np.ones((2, 3)))),
    "slogdet_not_square": lambda t: t.linalg.slogdet(_unknown(t, np.ones((2, 3))))[1],
    "cholesky_not_square": lambda t: t.cholesky(_unknown(t, np.ones((2, 3)))),
    "solve_not_square": lambda t: t.linalg.solve(_unknown(t, np.ones((2, 3))), _unknown(t, np.ones((2, 1)))),
    "solve_rows": lambda t: t.linalg.solve(_unknown(t, np.eye(2)), _unknown(t, np.ones((3, 1)))),
    "triangular_not_square": lambda t: t.linalg.triangular_solve(_unknown(t, np.ones((2, 3))),
                                                                 _unknown(t, np.ones((2, 1)))),
    "triangular_rows": lambda t: t.linalg.triangular_solve(_unknown(t, np.eye(2)), _unknown(t, np.ones((3, 1)))),
}


def _unknown(t, a):
    """``a`` fed through a placeholder whose dims are all unknown when the graph is built."""
    return t.placeholder_with_default(a, [None] * a.ndim)


@pytest.mark.parametrize("name", sorted(TF_RUN_ERRORS))
def test_tf_run_errors_match(tf1, name):
    def raised(lib):
        with lib.Graph().as_default():
            fetch = TF_RUN_ERRORS[name](lib)
            with lib.Session() as sess:
                return _raised(lambda: sess.run(fetch))
    ours, theirs = raised(tf), raised(tf1)
    assert type(theirs).__name__ == "InvalidArgumentError" and isinstance(ours, tf.errors.InvalidArgumentError)
    # TF's message: where the node was made, the error, then "[[{{node name}}]]" (a gradient's node is named
    # otherwise here): the error's own line is compared (TF's triangular solve goes on with its shapes' codes)
    line = theirs.message.split("\n")[-2]
    assert ours.message.split("\n")[0] == (line.split(": [")[0] if name == "triangular_rows" else line)


NORM_X = np.array([[3.0, -4.0, 0.0], [1.0, 1.0, -1.0], [0.0, 0.0, 0.0]])
NORM_CALLS = {f"vector_{o}": (lambda t, a, o=o: t.linalg.vector_norm(a, o, dim=1)) for o in
              (2, 1, 0, 3, 0.5, -1, float("inf"), float("-inf"))}
NORM_CALLS.update({
    "vector_all_keepdim": lambda t, a: t.linalg.vector_norm(a, 3, keepdim=True),
    "norm_default": lambda t, a: t.linalg.norm(a),
    "norm_dim0": lambda t, a: t.linalg.norm(a, dim=0),
    **{f"matrix_{o}": (lambda t, a, o=o: t.linalg.matrix_norm(a[:2] + 0.5, o)) for o in
       ("fro", "nuc", 2, -2, 1, -1, float("inf"), float("-inf"))},
    "matrix_keepdim_dims": lambda t, a: t.linalg.matrix_norm(a.reshape(1, 3, 3) + 0.5, 1, dim=(2, 1), keepdim=True),
    "norm_matrix_inf": lambda t, a: t.linalg.norm(a + 0.5, float("inf")),
})


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(NORM_CALLS))
def test_torch_norms_and_their_gradients_match(torch, name, dtype):
    # zeros in the input and a zero row: PyTorch's gradient conventions there (0, never NaN), and no gradient
    # for ord 0
    res = []
    for lib in (eager_api, torch):
        x = lib.tensor(NORM_X.astype(dtype), requires_grad=True)
        out = NORM_CALLS[name](lib, x)
        if out.requires_grad:
            (out * lib.tensor(np.arange(1.0, out.numel() + 1).reshape(tuple(out.shape)).astype(dtype))).sum().backward()
        res.append([out.detach().numpy(), None if x.grad is None else x.grad.numpy()])
    (ov, og), (tv, tg) = res
    assert ov.shape == tv.shape and ov.dtype == tv.dtype
    np.testing.assert_allclose(ov, tv, **TOL[dtype])
    assert (og is None) == (tg is None)
    if og is not None:
        np.testing.assert_allclose(og, tg, **TOL[dtype])


def test_torch_older_svd_qr_and_methods_match(torch):
    x = np.random.default_rng(10).normal(size=(4, 3))
    seen = []
    for lib in (eager_api, torch):
        if lib is eager_api:
            lib.linalg._WARNED.discard("qr")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t = lib.tensor(x)
            r, full, bare, q, q2 = lib.svd(t), lib.svd(t, some=False), lib.svd(t, compute_uv=False), t.qr(), lib.qr(
                t, some=False)
            sq = t[:3]
            values = [type(r).__name__, [tuple(a.shape) for a in (*r, *full, *bare, *q, *q2)], bare.S.numpy(),
                      (r.U * r.S) @ r.V.t(), q.Q @ q.R, sq.det().item(), sq.inverse().numpy(),
                      sq.matrix_power(3).numpy(), [v.item() for v in sq.slogdet()], (sq @ sq.t()).logdet().item()]
        values.append([str(w.message).split(" (Triggered")[0] for w in caught if "qr" in str(w.message)])
        seen.append(values)
    for a, b in zip(*seen):
        if isinstance(a, str) or (isinstance(a, list) and not (a and isinstance(a[0], float))):
            assert a == b           # names, shapes, warning texts
        else:
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12)
