"""Dense linear algebra written once against an array module (``ArrayBackend``'s ``inv``, ``solve``,
``cholesky`` and ``solve_triangular`` call in here).

NumPy's ``linalg`` (and CuPy's, under ``cupyx.errstate(linalg='raise')``) refuses a whole batch when one matrix
fails, and says neither which one nor where: it raises on a zero pivot and on a NaN or infinity alike.  PyTorch
and TF report LAPACK's ``info`` instead (the order of the zero pivot, of the leading minor that is not
positive-definite) and still give every other matrix its result.  So a refused batch is redone here matrix by
matrix on the host, and only the matrices LAPACK refused are factored by the loops below, which follow LAPACK's
unblocked ``getf2``/``potf2`` (its blocked versions round differently, so a pivot that is zero only through
rounding may be found at another order, or not at all, by one and the other)."""
from __future__ import annotations

from typing import Any, Callable

import numpy


def substitute(xp: Any, a: Any, b: Any, lower: bool, unit_diagonal: bool) -> Any:
    """X with ``T X = b``, T the lower (or upper) triangle of ``a`` (..., n, n), its diagonal taken as ones when
    ``unit_diagonal``; ``b`` (..., n, k) has ``a``'s batch shape.  Row by row, as BLAS ``trsm`` substitutes: a
    zero on the diagonal gives infinities and NaN, not an error, as PyTorch's and TF's triangular solves do."""
    n = a.shape[-1]
    x = xp.empty(b.shape, numpy.result_type(a.dtype, b.dtype))
    with numpy.errstate(divide="ignore", invalid="ignore"):     # a singular triangle: inf and NaN, silently
        for i in (range(n) if lower else range(n - 1, -1, -1)):
            lo, hi = (0, i) if lower else (i + 1, n)
            row = b[..., i, :]
            if hi > lo:
                row = row - xp.matmul(a[..., i:i + 1, lo:hi], x[..., lo:hi, :])[..., 0, :]
            x[..., i, :] = row if unit_diagonal else row / a[..., i, i, None]
    return x


def lu(a: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray, int]:
    """LAPACK ``getf2`` on one matrix: (L and U in one array, the row order, info).  ``info`` is the order of
    the first zero pivot (from 1), 0 when there is none; as LAPACK, the factorization goes on past it."""
    f = a.copy()
    n = f.shape[0]
    order = numpy.arange(n)
    info = 0
    with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k in range(n):
            p = k + int(numpy.argmax(numpy.abs(f[k:, k])))
            if f[p, k] != 0:
                f[[k, p]], order[[k, p]] = f[[p, k]], order[[p, k]]
                f[k + 1:, k] /= f[k, k]
            elif info == 0:
                info = k + 1
            f[k + 1:, k + 1:] -= numpy.outer(f[k + 1:, k], f[k, k + 1:])
    return f, order, info


def lu_solved(a: numpy.ndarray, b: numpy.ndarray) -> tuple[numpy.ndarray, int]:
    """(X with ``a X = b``, info) for one matrix through ``lu``, as LAPACK ``getrs`` solves with that LU: a
    zero pivot gives infinities and NaN, as ``torch.linalg.inv_ex`` does."""
    f, order, info = lu(a)
    y = substitute(numpy, f, b[order], lower=True, unit_diagonal=True)
    return substitute(numpy, f, y, lower=False, unit_diagonal=False), info


def cholesky(a: numpy.ndarray) -> tuple[numpy.ndarray, int]:
    """(L, info) of one matrix read in its lower triangle, as LAPACK ``potf2``: ``info`` is the order of the first
    leading minor that is not positive-definite (its pivot <= 0 or NaN), 0 when there is none.  Where it is not
    0, L is NaN in its lower triangle, as TF's Cholesky gives it."""
    n = a.shape[0]
    low = numpy.zeros_like(a)
    with numpy.errstate(invalid="ignore", over="ignore"):
        for j in range(n):
            pivot = a[j, j] - low[j, :j] @ low[j, :j]
            if not pivot > 0:
                return numpy.tril(numpy.full_like(a, numpy.nan)), j + 1
            low[j, j] = numpy.sqrt(pivot)
            low[j + 1:, j] = (a[j + 1:, j] - low[j + 1:, :j] @ low[j, :j]) / low[j, j]
    return low, 0


def per_matrix(whole: Callable[[numpy.ndarray, numpy.ndarray | None], numpy.ndarray],
               failed: Callable[[numpy.ndarray, numpy.ndarray | None], tuple[numpy.ndarray, int]],
               a: numpy.ndarray, b: numpy.ndarray | None, out_shape: tuple) -> tuple[numpy.ndarray, numpy.ndarray]:
    """(results, info) of a batch that LAPACK refused as a whole: ``whole(a_i, b_i)`` for each matrix, and
    ``failed(a_i, b_i)`` -> (result, info) where LAPACK refuses that one too.  ``a`` (..., n, n) and ``b``
    (..., n, k) or None share their batch shape; ``out_shape`` is the results'."""
    batch = a.shape[:-2]
    flat_a = a.reshape((-1,) + a.shape[-2:])
    flat_b = None if b is None else b.reshape((-1,) + b.shape[-2:])
    out = numpy.empty((flat_a.shape[0],) + tuple(out_shape[len(batch):]), a.dtype)
    info = numpy.zeros(flat_a.shape[0], numpy.int32)
    for i, m in enumerate(flat_a):
        rhs = None if flat_b is None else flat_b[i]
        try:
            out[i] = whole(m, rhs)
        except numpy.linalg.LinAlgError:
            out[i], info[i] = failed(m, rhs)
    return out.reshape(out_shape), info.reshape(batch)
