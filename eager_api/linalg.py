"""``torch.linalg`` (``import eager_api as torch``: ``torch.linalg.inv(A)``), and the top-level twins PyTorch
keeps (``torch.inverse``, ``torch.det``, ``torch.logdet``, ``torch.slogdet``, ``torch.cholesky``,
``torch.matrix_power``, ``torch.triangular_solve``, ``torch.cholesky_solve``, ``torch.cholesky_inverse``), which
the package imports from here.

    >>> import eager_api as torch
    >>> torch.linalg.inv(torch.tensor([[2.0, 0.0], [0.0, 4.0]])).tolist()
    [[0.5, 0.0], [0.0, 0.25]]

Inputs are checked as ATen checks them, in its words and order; a failed factorization raises
``torch.linalg.LinAlgError`` (a RuntimeError) naming the matrix of a batch and LAPACK's order of the failure,
as PyTorch's does.  Gradients follow PyTorch's conventions at singular matrices (see ``core.ops.linalg.Det``).
"""
from __future__ import annotations

import collections
import contextlib
import math
import numbers
import warnings
from typing import Any, Iterator

import numpy

from core import errors as _errors
from core.ops import linalg as _la
from core.ops import reduce as core_reduce
from eager_api.tensor import _ATEN_NAMES, Tensor, _T, eye, matmul, where, zeros

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "det", "eigh", "eigvalsh", "inv", "inv_ex", "matmul",
           "matrix_norm", "matrix_power", "norm", "qr", "slogdet", "solve", "solve_triangular", "svd", "svdvals",
           "vector_norm"]

LinAlgError = _errors.LinAlgError     # torch.linalg.LinAlgError: a RuntimeError (and TF's InvalidArgumentError)

# torch.return_types of the functions that return several tensors.
_RESULTS = {name: collections.namedtuple(name, fields) for name, fields in (
    ("linalg_slogdet", ["sign", "logabsdet"]), ("slogdet", ["sign", "logabsdet"]),
    ("linalg_inv_ex", ["inverse", "info"]), ("linalg_cholesky_ex", ["L", "info"]),
    ("triangular_solve", ["solution", "cloned_coefficient"]), ("linalg_eigh", ["eigenvalues", "eigenvectors"]),
    ("linalg_qr", ["Q", "R"]), ("linalg_svd", ["U", "S", "Vh"]), ("svd", ["U", "S", "V"]), ("qr", ["Q", "R"]))}

# What ATen says after "fn: (Batch element i): " when LAPACK fails ({info}: LAPACK's order of the failure).
_SINGULAR = ("The diagonal element {info} is zero, the inversion could not be completed because the input matrix is "
             "singular.")
_SOLVER = "The solver failed because the input matrix is singular."
_NOT_PD = ("The factorization could not be completed because the input is not positive-definite (the leading minor "
           "of order {info} is not positive-definite).")


def _failure(fn: str, text: str, batch: int | None, info: int) -> LinAlgError:
    lead = "" if batch is None else f"(Batch element {batch}): "
    return LinAlgError(f"{fn}: {lead}{text.format(info=info)}", batch, info)


@contextlib.contextmanager
def _lapack(fn: str, text: str) -> Iterator[None]:
    """A failed factorization inside, reworded as ATen words it for ``fn``."""
    try:
        yield
    except LinAlgError as exc:
        raise _failure(fn, text, exc.batch, exc.info) from None


def _raise_first(fn: str, text: str, info: Tensor) -> None:
    """``check_errors=True`` of the ``_ex`` functions: the first nonzero info raises."""
    host = info.numpy()
    bad = numpy.flatnonzero(host)
    if bad.size:
        raise _failure(fn, text, int(bad[0]) if host.ndim else None, int(host.flat[bad[0]]))


def _tensor(fn: str, arg: str, position: int, x: Any) -> None:
    """PyTorch's argument parser: a tensor argument given something else."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position {position}) must be Tensor, not {type(x).__name__}")


def _matrices(fn: str, x: Tensor, arg: str = "A", square: bool = True) -> None:
    """ATen's checks of a batch of (square) matrices, its message led by ``fn`` (none when empty)."""
    lead = f"{fn}: " if fn else ""
    if x.ndim < 2:
        raise RuntimeError(f"{lead}The input tensor {arg} must have at least 2 dimensions.")
    if square and x.shape[-1] != x.shape[-2]:
        raise RuntimeError(f"{lead}A must be batches of square matrices, but they are {x.shape[-2]} by "
                           f"{x.shape[-1]} matrices")


def _aten(x: Tensor) -> str:
    return _ATEN_NAMES.get(x.dtype.name, x.dtype.name)


def _floating(fn: str, x: Tensor, low_precision: bool = False) -> None:
    """ATen's checkFloatingOrComplex; ``low_precision``: float16 refused by it too (else by the kernel)."""
    if x.dtype.kind != "f":
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got {_aten(x)}")
    if low_precision and x.dtype == numpy.float16:
        raise RuntimeError(f"{fn}: Low precision dtypes not supported. Got {_aten(x)}")


def _kernel(kernel: str, x: Tensor) -> None:
    """The LAPACK kernel's dispatch: float32 and float64 only (dualflow has no complex)."""
    if x.dtype not in (numpy.float32, numpy.float64):
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_aten(x)}\'')


def _mT(x: Tensor) -> Tensor:
    return x.transpose(-2, -1)


# ----- torch.linalg -------------------------------------------------------------------------------------------
def inv(A: Tensor) -> Tensor:
    """The inverse of each matrix; a singular one (an exact zero pivot) raises ``LinAlgError``."""
    _tensor("linalg_inv", "A", 1, A)
    _matrices("linalg.inv", A)
    _floating("linalg.inv", A, low_precision=True)
    with _lapack("linalg.inv", _SINGULAR):
        return _T(_la.inverse(A))


def inv_ex(A: Tensor, *, check_errors: bool = False) -> Any:
    """(inverse, info): LAPACK's info per matrix instead of an error; a singular matrix's inverse is LAPACK's
    infinities and NaN, as PyTorch's."""
    _tensor("linalg_inv_ex", "A", 1, A)
    _matrices("linalg.inv", A)
    _floating("linalg.inv", A, low_precision=True)
    x, info = _T(_la.inverse(A, check=False))
    if check_errors:
        _raise_first("linalg.inv_ex", _SINGULAR, info)
    return _RESULTS["linalg_inv_ex"](x, info)


def det(A: Tensor) -> Tensor:
    """The determinant of each matrix (0 for a singular one, where its gradient is 0, as PyTorch's first
    derivative)."""
    _tensor("linalg_det", "A", 1, A)
    _matrices("linalg.det", A)
    _floating("linalg.det", A)
    _kernel("lu_cpu", A)
    return _T(_la.det(A, check_grad=False))


def _slogdet(fn: str, A: Tensor) -> tuple[Tensor, Tensor]:
    _tensor(fn.replace(".", "_"), "A", 1, A)
    _matrices(fn, A)
    _floating(fn, A, low_precision=True)
    return _T(_la.slogdet(A, check_grad=False))


def slogdet(A: Tensor) -> Any:
    """(sign, log|det|) of each matrix, as ``torch.return_types.linalg_slogdet``; a singular one gives sign 0 and
    -inf (and infinities as the gradient, as PyTorch's)."""
    return _RESULTS["linalg_slogdet"](*_slogdet("linalg.slogdet", A))


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with ``A X = B`` (``X A = B`` when not ``left``).  B is a batch of vectors when it is 1-D or has A's
    shape without its last dim, as ATen decides; batch dims broadcast.  A singular A raises ``LinAlgError``."""
    _tensor("linalg_solve", "A", 1, A)
    _tensor("linalg_solve", "B", 2, B)
    _matrices("linalg.solve", A)
    if B.ndim < 1:
        raise RuntimeError("linalg.solve: The input tensor B must have at least 2 dimensions.")
    _floating("linalg.solve", A)
    if B.dtype != A.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type {_aten(A)} and "
                           f"B of type {_aten(B)} instead")
    _kernel("lu_cpu", A)
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    rhs = B.unsqueeze(-1) if vector else B
    _fits("linalg.solve", A, rhs, left)
    with _lapack("torch.linalg.solve", _SOLVER):
        x = _T(_la.solve(A, rhs)) if left else _mT(_T(_la.solve(A, _mT(rhs), adjoint=True)))
    return x.squeeze(-1) if vector else x


def _eigh(fn: str, A: Tensor, UPLO: str) -> tuple[Tensor, Tensor]:
    _tensor(fn.replace(".", "_"), "A", 1, A)
    _matrices(fn, A)
    _kernel("linalg_eigh_cpu", A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    with _lapack(fn, "The algorithm failed to converge because the input matrix is ill-conditioned or has too many "
                     "repeated eigenvalues (error code: {info})."):
        return _T(_la.eigh(A, UPLO == "U"))


def eigh(A: Tensor, UPLO: str = "L") -> Any:
    """(eigenvalues ascending, eigenvectors as columns) of each symmetric matrix, read in its lower (or upper)
    triangle: LAPACK's, whose eigenvectors' signs may differ from PyTorch's LAPACK (any sign is an
    eigenvector).  The gradient is PyTorch's (see ``core.ops.linalg.Eigh``)."""
    return _RESULTS["linalg_eigh"](*_eigh("linalg.eigh", A, UPLO))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues (ascending) of each symmetric matrix."""
    return _eigh("linalg.eigh", A, UPLO)[0]


def qr(A: Tensor, mode: str = "reduced") -> Any:
    """(Q, R) with ``A = Q R`` for each matrix, LAPACK's (the signs of R's diagonal as it makes them, as PyTorch's):
    'reduced' (Q m x min(m, n)), 'complete' (Q m x m), or 'r' (R only; Q an empty tensor)."""
    _tensor("linalg_qr", "A", 1, A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or "
                           "'complete'")
    _matrices("linalg.qr", A, square=False)
    _floating("linalg.qr", A)
    _kernel("geqrf_cpu", A)
    q, r = _T(_la.qr(A, mode == "complete", mode == "r"))
    return _RESULTS["linalg_qr"](q.new_empty(0) if mode == "r" else q, r)


def _svd(fn: str, A: Tensor, full_matrices: bool, driver: Any) -> tuple[Tensor, Tensor, Tensor]:
    _tensor(fn.replace(".", "_"), "A", 1, A)
    if driver is not None:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs with "
                           "cuSOLVER backend.")
    _matrices("linalg.svd", A, square=False)
    _floating("linalg.svd", A)
    _kernel("linalg_svd_cpu", A)
    with _lapack("linalg.svd", "The algorithm failed to converge because the input matrix is ill-conditioned or has "
                               "too many repeated singular values (error code: {info})."):
        return _T(_la.svd(A, full_matrices))


def svd(A: Tensor, full_matrices: bool = True, *, driver: Any = None) -> Any:
    """(U, S descending, Vh) with ``A = U diag(S) Vh``: LAPACK's gesdd, whose singular vectors' signs (paired)
    may differ from PyTorch's LAPACK.  The gradient is PyTorch's (see ``core.ops.linalg.Svd``)."""
    return _RESULTS["linalg_svd"](*_svd("linalg.svd", A, full_matrices, driver))


def svdvals(A: Tensor, *, driver: Any = None) -> Tensor:
    """The singular values of each matrix, descending."""
    return _svd("linalg.svdvals", A, False, driver)[1]


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *,  # noqa: A002
                dtype: Any = None) -> Tensor:
    """The ``ord``-norm over ``dim`` (all dims when None): the count of nonzeros for 0 (no gradient), the largest
    (smallest) magnitude for inf (-inf), else ``(sum |x|^ord)^(1/ord)``, with PyTorch's gradients (0 at a zero
    norm; see ``core.ops.reduce.VectorNorm``)."""
    _tensor("linalg_vector_norm", "input", 1, x)
    if isinstance(ord, (bool, str)) or not isinstance(ord, numbers.Number):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, not {type(ord).__name__}")
    if x.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {_aten(x)}")
    if dtype is not None:
        x = x.to(dtype)
    dims = tuple(range(x.ndim)) if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    p = float(ord)
    if p == 2:
        return x.norm(2, dims, keepdim)
    if p == 1:
        return x.abs().sum(dims, keepdim)
    if math.isinf(p):
        return x.abs().amax(dims, keepdim) if p > 0 else x.abs().amin(dims, keepdim)
    if p == 0:
        return (x != 0).sum(dims, keepdim).to(x.dtype)
    return _T(core_reduce.vector_norm(x, p, dims, keepdim))


def matrix_norm(A: Tensor, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *,  # noqa: A002
                dtype: Any = None) -> Tensor:
    """The matrix norm over the two dims: 'fro', 'nuc' (the singular values' sum), 2 / -2 (the largest /
    smallest singular value), 1 / -1 (the largest / smallest column sum of magnitudes), inf / -inf (row sums)."""
    _tensor("linalg_matrix_norm", "input", 1, A)
    if isinstance(ord, str):
        if ord not in ("fro", "nuc"):
            raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    elif abs(float(ord)) not in (1.0, 2.0, math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    _matrices("linalg.matrix_norm", A, square=False)
    _floating("linalg.matrix_norm", A)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {', '.join(map(str, dims))}")
    d0, d1 = (d % A.ndim for d in dims)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dims[0]}, {dims[1]})")
    if dtype is not None:
        A = A.to(dtype)
    if ord == "fro":
        return A.norm(2, (d0, d1), keepdim)
    if ord == "nuc" or abs(float(ord)) == 2.0:
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        out = s.sum(-1) if ord == "nuc" else s.amax(-1) if float(ord) > 0 else s.amin(-1)
        for d in sorted((d0, d1)) if keepdim else ():
            out = out.unsqueeze(d)
        return out
    # 1: over the columns' sums (down d0), inf: over the rows' sums (along d1); the sign picks max or min
    inner, outer = (d0, d1) if abs(float(ord)) == 1.0 else (d1, d0)
    sums = A.abs().sum(inner, keepdim=True)
    out = sums.amax(outer, keepdim=True) if float(ord) > 0 else sums.amin(outer, keepdim=True)
    return out if keepdim else out.squeeze(max(d0, d1)).squeeze(min(d0, d1))


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *,  # noqa: A002
         dtype: Any = None) -> Tensor:
    """``vector_norm`` or ``matrix_norm`` as ATen's ``linalg_norm`` chooses: a string ord, or an ord with two dims
    (given, or those of a 2-D input), is a matrix norm; otherwise the vector norm (2 when ord is None)."""
    dims = None if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    if dims is not None and len(dims) not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got "
                           f"[{', '.join(map(str, dims))}]")
    if dims is None and (ord is not None) and A.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                           f"{A.ndim}D.")
    if isinstance(ord, str) or (ord is not None and (len(dims) == 2 if dims is not None else A.ndim == 2)):
        return matrix_norm(A, ord, dims if dims is not None else (0, 1), keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)


def _fits(fn: str, A: Tensor, B: Tensor, left: bool) -> None:
    n, (rows, cols) = A.shape[-1], B.shape[-2:]
    if (rows if left else cols) != n:
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'} "
                           f"({n}x{n} and {rows}x{cols})")


def _cholesky(A: Tensor, upper: bool, check: bool) -> Any:
    """L (``check``) or (L, info); with ``upper``, U = L^T from A's upper triangle, as LAPACK's 'U' reads it."""
    if not upper:
        return _T(_la.cholesky(A, check))
    out = _la.cholesky(_mT(A), check)
    return _mT(_T(out)) if check else (_mT(_T(out[0])), _T(out[1]))


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The lower-triangular L with ``L L^T = A`` (A read in its lower triangle), or with ``upper`` the
    upper-triangular U with ``U^T U = A`` (A read in its upper triangle); a matrix that is not
    positive-definite raises ``LinAlgError``."""
    _tensor("linalg_cholesky", "A", 1, A)
    _matrices("linalg.cholesky", A)
    _floating("linalg.cholesky", A)
    _kernel("cholesky_cpu", A)
    with _lapack("linalg.cholesky", _NOT_PD):
        return _cholesky(A, upper, True)


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> Any:
    """(L, info): LAPACK's info per matrix instead of an error; where it is not 0, L is NaN in its triangle
    (PyTorch leaves LAPACK's partial factorization there, which no program can rely on)."""
    _tensor("linalg_cholesky_ex", "A", 1, A)
    _matrices("linalg.cholesky", A)
    _floating("linalg.cholesky", A)
    _kernel("cholesky_cpu", A)
    low, info = _cholesky(A, upper, False)
    if check_errors:
        _raise_first("linalg.cholesky_ex", _NOT_PD, info)
    return _RESULTS["linalg_cholesky_ex"](low, info)


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False) -> Tensor:
    """X with ``T X = B`` (``X T = B`` when not ``left``), T the upper (``upper``) or lower triangle of each A,
    ones on its diagonal with ``unitriangular``; batch dims broadcast, B taken in A's dtype.  A zero on T's
    diagonal gives infinities, not an error, as PyTorch's."""
    fn = "linalg.solve_triangular"
    _tensor("linalg_solve_triangular", "A", 1, A)
    _tensor("linalg_solve_triangular", "B", 2, B)
    _matrices(fn, A, square=False)
    _matrices(fn, B, "B", square=False)
    _matrices(fn, A)
    _kernel("triangular_solve_cpu", A)
    _fits(fn, A, B, left)
    B = B.to(A.dtype)
    if left:
        return _T(_la.triangular_solve(A, B, not upper, False, unitriangular))
    return _mT(_T(_la.triangular_solve(A, _mT(B), not upper, True, unitriangular)))


def matrix_power(A: Tensor, n: int) -> Tensor:
    """A^n for an integer n, by matrix products in PyTorch's order; n = 0 gives the identity (a zero gradient),
    a negative n the power of the inverse (integer tensors only for n >= 0)."""
    _tensor("linalg_matrix_power", "A", 1, A)
    if not isinstance(n, (int, numpy.integer)) or isinstance(n, (bool, numpy.bool_)):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not {type(n).__name__}")
    _matrices("linalg.matrix_power", A)
    if n < 0:
        _floating("linalg.inv", A, low_precision=True)
    with _lapack("linalg.inv", _SINGULAR):
        return _T(_la.matrix_power(A, int(n)))


# ----- the top-level twins (torch.inverse, torch.slogdet, ...) --------------------------------------------------
_WARNED: set[str] = set()       # the deprecation warnings given: PyTorch gives each once per process


def _deprecated(name: str, text: str) -> None:
    if name not in _WARNED:
        _WARNED.add(name)
        warnings.warn(text, UserWarning, stacklevel=3)


def _logdet(A: Tensor) -> Tensor:
    """``torch.logdet``: log det of each matrix, NaN where det < 0 and -inf where it is 0 (ATen's: log|det| where
    the sign is not -1)."""
    sign, logabsdet = _slogdet("logdet", A)
    return where(sign == -1, numpy.nan, logabsdet)


def _torch_slogdet(A: Tensor) -> Any:
    """``torch.slogdet``: ``torch.linalg.slogdet`` as ``torch.return_types.slogdet``."""
    return _RESULTS["slogdet"](*_slogdet("linalg.slogdet", A))


def _torch_svd(A: Tensor, some: bool = True, compute_uv: bool = True) -> Any:
    """``torch.svd``, the older API: V itself (not Vh), ``some`` for the reduced factors, and without
    ``compute_uv`` zero U (m x m) and V (n x n) beside the singular values, as PyTorch's."""
    if not compute_uv:
        s = svdvals(A)
        m, n = A.shape[-2:]
        batch = tuple(A.shape[:-2])
        return _RESULTS["svd"](zeros(batch + (m, m), dtype=A.dtype, device=A.device), s,
                               zeros(batch + (n, n), dtype=A.dtype, device=A.device))
    u, s, vh = svd(A, full_matrices=not some)
    return _RESULTS["svd"](u, s, _mT(vh))


def _torch_qr(A: Tensor, some: bool = True) -> Any:
    """``torch.qr`` (deprecated in PyTorch, with its warning, once): ``torch.linalg.qr`` with ``some``."""
    _deprecated("qr", "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future PyTorch "
                "release.\nThe boolean parameter 'some' has been replaced with a string parameter 'mode'.\nQ, R = "
                "torch.qr(A, some)\nshould be replaced with\nQ, R = torch.linalg.qr(A, 'reduced' if some else "
                "'complete')")
    return _RESULTS["qr"](*qr(A, "reduced" if some else "complete"))


def _torch_cholesky(A: Tensor, upper: bool = False) -> Tensor:
    """``torch.cholesky`` (deprecated in PyTorch, with its warning, once): ``torch.linalg.cholesky`` with an
    ``upper`` argument and its own wording."""
    _deprecated("cholesky", "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a "
                "future PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\nL = torch.linalg.cholesky(A)"
                "\nand\nU = torch.cholesky(A, upper=True)\nshould be replaced with\nU = torch.linalg.cholesky(A).mH\n"
                "This transform will produce equivalent results for all valid (symmetric positive definite) inputs.")
    _tensor("cholesky", "input", 1, A)
    _matrices("cholesky", A)
    _kernel("cholesky_cpu", A)
    with _lapack("cholesky", _NOT_PD):
        return _cholesky(A, upper, True)


def _check_system(fn: str, b: Tensor, A: Tensor, kernel: str) -> None:
    """The checks ``torch.triangular_solve`` (``fn`` its name) and ``torch.cholesky_solve`` (``fn`` empty) share,
    in ATen's words for each; b comes first, as they take it."""
    for arg, x in (("b", b), ("A", A)):
        if x.ndim < 2 and fn:
            raise RuntimeError(f"{fn}: Expected {arg} to have at least 2 dimensions, but it has {x.ndim} dimensions "
                               "instead")
        if x.ndim < 2:
            raise RuntimeError(f"{arg} should have at least 2 dimensions, but has {x.ndim} dimensions instead")
    if b.dtype != A.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {_aten(b)} and A of type "
                           f"{_aten(A)} instead.")
    _matrices("", A)
    _kernel(kernel, A)


def _triangular_solve(b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                      unitriangular: bool = False) -> Any:
    """``torch.triangular_solve`` (deprecated in PyTorch, with its warning, once): (solution of ``T X = b``, a copy of
    A), T A's upper (``upper``) or lower triangle, transposed with ``transpose``."""
    _deprecated("triangular_solve", "torch.triangular_solve is deprecated in favor of "
                "torch.linalg.solve_triangularand will be removed in a future PyTorch release.\n"
                "torch.linalg.solve_triangular has its arguments reversed and does not return a copy of one of the "
                "inputs.\nX = torch.triangular_solve(B, A).solution\nshould be replaced with\n"
                "X = torch.linalg.solve_triangular(A, B).")
    _tensor("triangular_solve", "input", 1, b)
    _tensor("triangular_solve", "A", 2, A)
    _check_system("torch.triangular_solve", b, A, "triangular_solve_cpu")
    _check_sizes("triangular_solve", A, b)
    x = _T(_la.triangular_solve(A, b, not upper, transpose, unitriangular))
    return _RESULTS["triangular_solve"](x, A.clone())


def _check_sizes(name: str, A: Tensor, b: Tensor) -> None:
    """PyTorch's check that the right-hand sides ``b`` have as many rows as the square ``A`` has columns."""
    if A.shape[-1] != b.shape[-2]:
        raise RuntimeError(f"Incompatible matrix sizes for {name}: each A matrix is {A.shape[-2]} by "
                           f"{A.shape[-1]} but each b matrix is {b.shape[-2]} by {b.shape[-1]}")


def _cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:
    """``torch.cholesky_solve``: X with ``A X = B`` from A's Cholesky factor (lower L, or upper U with
    ``upper``); its gradient is PyTorch's, for all of the factor's entries (``core.ops.linalg.CholeskySolve``)."""
    _tensor("cholesky_solve", "input", 1, B)
    _tensor("cholesky_solve", "input2", 2, L)
    _check_system("", B, L, "cholesky_solve_cpu")
    _check_sizes("cholesky_solve", L, B)
    return _T(_la.cholesky_solve(L, B, upper))


def _cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:
    """``torch.cholesky_inverse``: A^-1 from A's Cholesky factor (lower L, or upper U with ``upper``)."""
    _tensor("cholesky_inverse", "input", 1, L)
    _matrices("cholesky_inverse", L)
    _kernel("cholesky_inverse_out_cpu", L)
    return _cholesky_solve(eye(L.shape[-1], dtype=L.dtype, device=L.device).expand(L.shape), L, upper)


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
