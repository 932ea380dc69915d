"""``tf.linalg``: the matrix functions under their TF1.13+ names (``tf.linalg.band_part`` is
``tf.matrix_band_part``, ...), and the dense linear algebra under both its ``tf.linalg`` names and TF1's
top-level ones (``tf.matrix_inverse``, ``tf.cholesky``, ...), which the package imports from here.

The inputs are checked as TF's shape functions check them, with TF's words; float16, which TF's kernels take,
raises ``NotImplementedError`` (LAPACK has no float16)."""
from __future__ import annotations

import collections
from typing import Any

import numpy

import core
from core import errors as _errors
from core.ops import linalg as _la
from static_api import dtypes
from static_api import ops as _ops
from static_api.graph import Tensor, get_default_graph, named
from static_api.nn import l2_normalize
from static_api.ops import (einsum, eye, matmul, matrix_band_part, matrix_diag, matrix_diag_part, matrix_transpose,
                            norm, tensordot, trace)

__all__ = ["adjoint", "band_part", "cholesky", "cholesky_solve", "det", "diag", "diag_part", "einsum", "eye", "inv",
           "l2_normalize", "logdet", "matmul", "matrix_transpose", "norm", "slogdet", "solve", "tensordot", "trace",
           "transpose", "triangular_solve"]

band_part, diag, diag_part = matrix_band_part, matrix_diag, matrix_diag_part
transpose = adjoint = matrix_transpose      # real tensors: the adjoint is the transpose

LogMatrixDeterminant = collections.namedtuple("LogMatrixDeterminant", ["sign", "log_abs_determinant"])

# The dtypes each TF op lists in its TypeError, in TF's order.
_LU_TYPES = "float16, float32, float64, complex64, complex128"
_TYPES = "float64, float32, float16, complex64, complex128"
_TRIANGULAR_TYPES = "bfloat16, " + _TYPES


def _dims(shape: tuple) -> str:
    """A shape as TF prints it: [2,?,3]."""
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def _shapes(*xs: Tensor) -> str:
    return ", ".join(_dims(x.shape) for x in xs)


def _matrices(x: Any, op: str, param: str, allowed: str, *, cols_first: bool = False) -> Tensor:
    """``x`` as a tensor of square matrices for TF's op ``op``, checked as its shape function does (TF's
    determinants name the columns first when they differ)."""
    x = _ops._t(x)
    if x.dtype not in (numpy.float32, numpy.float64):
        if x.dtype == numpy.float16:
            raise NotImplementedError(f"{op}: float16 is not implemented in dualflow (float32 and float64 are: LAPACK "
                                      "has no float16)")
        raise TypeError(f"Value passed to parameter '{param}' has DataType {dtypes.as_dtype(x.dtype).name} not in "
                        f"list of allowed values: {allowed}")
    if x.ndim < 2:
        raise ValueError(f"Shape must be at least rank 2 but is rank {x.ndim} for '{{{{node {op}}}}}' with input "
                         f"shapes: {_shapes(x)}.")
    rows, cols = x.shape[-2:]
    if None not in (rows, cols) and rows != cols:
        first, second = (cols, rows) if cols_first else (rows, cols)
        raise ValueError(f"Dimensions must be equal, but are {first} and {second} for '{{{{node {op}}}}}' with input "
                         f"shapes: {_shapes(x)}.")
    return x


def _system(matrix: Any, rhs: Any, op: str, allowed: str) -> tuple[Tensor, Tensor]:
    """(A, B) of ``A X = B`` for TF's op ``op``: B converted to A's dtype as TF converts it, then checked."""
    a, b = _ops._pair(matrix, rhs)
    a = _matrices(a, op, "matrix", allowed)
    if b.dtype != a.dtype:
        raise TypeError(f"Input 'rhs' of '{op}' Op has type {dtypes.as_dtype(b.dtype).name} that does not match type "
                        f"{dtypes.as_dtype(a.dtype).name} of argument 'matrix'.")
    if b.ndim < 2:
        raise ValueError(f"Shape must be at least rank 2 but is rank {b.ndim} for '{{{{node {op}}}}}' with input "
                         f"shapes: {_shapes(a, b)}.")
    n, rows = a.shape[-1], b.shape[-2]
    if None not in (n, rows) and n != rows:
        raise ValueError(f"Dimensions must be equal, but are {n} and {rows} for '{{{{node {op}}}}}' with input "
                         f"shapes: {_shapes(a, b)}.")
    return a, b


def matrix_inverse(input: Any, adjoint: bool = False, name: str | None = None) -> Tensor:  # noqa: A002
    """The inverse of each matrix (of its adjoint, the transpose here); a singular one (an exact zero pivot)
    raises ``InvalidArgumentError`` "Input is not invertible." when run, as TF's."""
    return named(_la.inverse(_matrices(input, "MatrixInverse", "input", _TYPES), adjoint), name)


def matrix_determinant(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """The determinant of each matrix (LAPACK's LU; 0 for a singular one).  Its gradient inverts the
    matrix, so at a singular one it raises "Input is not invertible." as TF's does."""
    return named(_la.det(_matrices(input, "MatrixDeterminant", "input", _LU_TYPES, cols_first=True)), name)


def slogdet(input: Any, name: str | None = None) -> LogMatrixDeterminant:  # noqa: A002
    """(sign, log|det|) of each matrix, as TF's ``LogMatrixDeterminant`` namedtuple (sign 0 and -inf for a
    singular matrix)."""
    x = _matrices(input, "LogMatrixDeterminant", "input", _LU_TYPES, cols_first=True)
    sign, logabsdet = _la.slogdet(x)
    named(sign, name)
    return LogMatrixDeterminant(sign, logabsdet)


def logdet(matrix: Any, name: str | None = None) -> Tensor:
    """log det of each Hermitian positive-definite matrix, as TF computes it: twice the sum of the logs of its
    Cholesky factor's diagonal (NaN for a matrix that is not positive-definite)."""
    x = _ops._t(matrix)
    with get_default_graph().name_scope(name or "logdet"):
        low = cholesky(x)
        return _ops._named_or(core.scalar(core.sum(core.log(matrix_diag_part(low)), [-1]), "mul", 2.0), None, "mul")


def cholesky(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """The lower-triangular Cholesky factor of each matrix, read in its lower triangle; where a matrix is not
    positive-definite the factor is NaN in its lower triangle and nothing raises, as TF 2.21's kernel."""
    low, _ = _la.cholesky(_matrices(input, "Cholesky", "input", _TYPES), check=False)
    return named(low, name)


def matrix_solve(matrix: Any, rhs: Any, adjoint: bool = False, name: str | None = None) -> Tensor:
    """X with ``A X = B`` (``A^T X = B`` with ``adjoint``), batch dims equal; a singular A raises
    ``InvalidArgumentError`` "Input matrix is not invertible." when run, as TF's."""
    a, b = _system(matrix, rhs, "MatrixSolve", _TYPES)
    batch_a, batch_b = a.shape[:-2], b.shape[:-2]
    if len(batch_a) != len(batch_b):
        raise ValueError(f"Shapes must be equal rank, but are {len(batch_a)} and {len(batch_b)} for "
                         f"'{{{{node MatrixSolve}}}}' with input shapes: {_shapes(a, b)}.")
    for i, (m, n) in enumerate(zip(batch_a, batch_b)):
        if None not in (m, n) and m != n:
            raise ValueError(f"Dimension {i} in both shapes must be equal, but are {m} and {n}. Shapes are "
                             f"{_dims(batch_a)} and {_dims(batch_b)}. for "
                             f"'{{{{node MatrixSolve}}}}' with input shapes: {_shapes(a, b)}.")
    return named(_la.solve(a, b, adjoint, broadcast=False), name)


def matrix_triangular_solve(matrix: Any, rhs: Any, lower: bool = True, adjoint: bool = False,
                            name: str | None = None) -> Tensor:
    """X with ``T X = B`` (``T^T X = B`` with ``adjoint``), T the lower (``lower``) or upper triangle of each
    matrix; batch dims broadcast.  A zero on T's diagonal gives infinities, not an error, as TF's."""
    with get_default_graph().name_scope(name or "triangular_solve"):
        a, b = _system(matrix, rhs, "MatrixTriangularSolve", _TRIANGULAR_TYPES)
        return _la.triangular_solve(a, b, lower, adjoint)


def cholesky_solve(chol: Any, rhs: Any, name: str | None = None) -> Tensor:
    """X with ``A X = B`` from A's Cholesky factor ``chol``: two triangular solves, as TF's."""
    with get_default_graph().name_scope(name or "cholesky_solve"):
        low, b = _system(chol, rhs, "MatrixTriangularSolve", _TRIANGULAR_TYPES)
        return _la.triangular_solve(low, _la.triangular_solve(low, b), adjoint=True)


inv, det, solve, triangular_solve = matrix_inverse, matrix_determinant, matrix_solve, matrix_triangular_solve

__getattr__ = _errors.missing_names("static_api.linalg")     # a missing public name says so
