"""Matrix products (MatMul, Einsum) and dense linear algebra (inverse, determinants, solves, Cholesky, symmetric
eigendecomposition, QR, SVD), 2-D and batched over leading dims.

The factorizations run LAPACK through the backend (``be.inv``, ``be.solve``, ``be.cholesky``,
``be.solve_triangular``), which reports a failed matrix as LAPACK's ``info``; an op that must fail raises
``LinAlgError`` with it, and each frontend words it as its library does.  Their gradients are the standard
formulas (those of PyTorch and TF), built from these primitives and matmul.
"""
from __future__ import annotations

from typing import Any

import numpy

from core.errors import InvalidArgumentError, LinAlgError, ShapeError
from core.graph import Value
from core.op import Op, apply
from core.ops import elementwise as ew
from core.ops import shape as sh


class MatMul(Op):
    name = "MatMul"
    arg_names = ("a", "b")

    def __init__(self, transpose_a: bool = False, transpose_b: bool = False) -> None:
        self.transpose_a = bool(transpose_a)
        self.transpose_b = bool(transpose_b)

    def infer(self, a: Value, b: Value) -> list:
        if a.dtype.kind not in "iuf":
            raise self.dtype_error("a", "a numeric type", a.dtype)
        self.require_same_dtype(a, b)
        for name, v in (("a", a), ("b", b)):
            if len(v.shape) < 2:
                raise self.shape_error(name, "at least 2 dimensions", v.shape)
        m, ka = (a.shape[-1], a.shape[-2]) if self.transpose_a else a.shape[-2:]
        kb, n = (b.shape[-1], b.shape[-2]) if self.transpose_b else b.shape[-2:]
        if ka is not None and kb is not None and ka != kb:
            raise ew.ShapeError(f"{self.name}: shapes cannot be multiplied: argument 'a' {tuple(a.shape)} "
                                f"has {ka} columns but argument 'b' {tuple(b.shape)} has {kb} rows"
                                + (" (after transpose)" if self.transpose_a or self.transpose_b else ""))
        batch = ew.broadcast_shapes(self, a.shape[:-2], b.shape[:-2], self.arg_names)
        return [(batch + (m, n), a.dtype)]

    def forward(self, be, a, b):
        if self.transpose_a:
            a = a.swapaxes(-1, -2)
        if self.transpose_b:
            b = b.swapaxes(-1, -2)
        return be.matmul(a, b)

    def _into(self, be: Any, a: Any, b: Any, out: Any) -> Any:
        """The product into ``out`` as a function of no arguments (``Op.prepared_writer``)."""
        return be.matmul_call(a.swapaxes(-1, -2) if self.transpose_a else a,
                              b.swapaxes(-1, -2) if self.transpose_b else b, out)

    def prepare(self, be: Any) -> Any:
        return self.prepared_writer(be, self._into)

    def vjp(self, node, grads, needs):
        a, b = node.inputs
        g = grads[0]
        ta, tb = self.transpose_a, self.transpose_b
        ga = gb = None
        if needs[0]:
            ga = {(False, False): lambda: matmul(g, b, False, True), (False, True): lambda: matmul(g, b),
                  (True, False): lambda: matmul(b, g, False, True),
                  (True, True): lambda: matmul(b, g, True, True)}[ta, tb]()
        if needs[1]:
            gb = {(False, False): lambda: matmul(a, g, True, False), (False, True): lambda: matmul(g, a, True, False),
                  (True, False): lambda: matmul(a, g), (True, True): lambda: matmul(g, a, True, True)}[ta, tb]()
        return ew.sum_to_like(ga, a), ew.sum_to_like(gb, b)


def matmul(a: Value, b: Value, transpose_a: bool = False, transpose_b: bool = False) -> Value:
    return apply(MatMul(transpose_a, transpose_b), a, b)


class Einsum(Op):
    """``numpy.einsum`` of explicit subscripts (``"ij,jk->ik"``: letters only, each at most once per operand, the
    output given), on operands of one dtype.  The gradient for an operand is the einsum of the output's
    gradient with the other operands onto that operand's letters, broadcast along any letter it alone sums
    out."""

    name = "Einsum"

    def __init__(self, spec: str) -> None:
        spec = spec.replace(" ", "")
        if "->" not in spec or "." in spec:
            raise NotImplementedError(f"{self.name}: only explicit subscripts with '->' and no '...' are implemented "
                                      f"in dualflow, got {spec!r}")
        ins, out = spec.split("->")
        self.ins, self.out = ins.split(","), out
        for term in self.ins + [out]:
            if not term.isalpha() and term:
                raise ValueError(f"{self.name}: subscripts must be letters, got {spec!r}")
            if len(set(term)) != len(term):
                raise NotImplementedError(f"{self.name}: a letter repeated within one operand (a diagonal) is not "
                                          f"implemented in dualflow, got {spec!r}")
        missing = set(out) - set("".join(self.ins))
        if missing:
            raise ValueError(f"{self.name}: output subscript {sorted(missing)[0]!r} appears in no operand ({spec!r})")
        self.spec = spec

    @property
    def arg_names(self) -> tuple[str, ...]:       # type: ignore[override]
        return tuple(f"operand{i}" for i in range(len(self.ins)))

    def infer(self, *xs: Value) -> list:
        if len(xs) != len(self.ins):
            raise ValueError(f"{self.name}: {self.spec!r} names {len(self.ins)} operands, got {len(xs)}")
        self.require_same_dtype(*xs)
        sizes: dict = {}
        for i, (term, x) in enumerate(zip(self.ins, xs)):
            if len(term) != len(x.shape):
                raise self.shape_error(self.arg_names[i], f"{len(term)} dimensions for {term!r}", x.shape)
            for letter, n in zip(term, x.shape):
                if n is not None and sizes.get(letter) not in (None, n):
                    raise ShapeError(f"{self.name}: subscript {letter!r} has size {n} in {self.arg_names[i]} but "
                                     f"{sizes[letter]} elsewhere ({self.spec!r})")
                if n is not None:
                    sizes[letter] = n
        return [(tuple(sizes.get(letter) for letter in self.out), xs[0].dtype)]

    def forward(self, be, *xs):
        return be.xp.asarray(be.xp.einsum(self.spec, *xs, optimize=len(xs) > 2))

    def vjp(self, node, grads, needs):
        g = grads[0]
        out = []
        for i, term in enumerate(self.ins):
            if not needs[i]:
                out.append(None)
                continue
            others = [(t, x) for j, (t, x) in enumerate(zip(self.ins, node.inputs)) if j != i]
            seen = set(self.out).union(*[set(t) for t, _ in others])
            kept = "".join(letter for letter in term if letter in seen)
            spec = ",".join([self.out] + [t for t, _ in others]) + "->" + kept
            gi = apply(Einsum(spec), g, *[x for _, x in others])
            if kept != term:     # letters only this operand had were summed out: every element gets the sum
                gi = reshape_like_broadcast(gi, term, kept, node.inputs[i])
            out.append(gi)
        return tuple(out)


def reshape_like_broadcast(g: Value, term: str, kept: str, like: Value) -> Value:
    """``g`` over the letters ``kept`` (a subsequence of ``term``) broadcast to ``like`` over ``term``, each
    missing letter a new axis."""
    missing = [a for a, letter in enumerate(term) if letter not in kept]
    return ew.broadcast_like(sh.expand_dims(g, missing), like)


def einsum(spec: str, *xs: Value) -> Value:
    return apply(Einsum(spec), *xs)


# ----- dense linear algebra ---------------------------------------------------------------------------------
def _require_matrices(op: Op, arg: str, v: Value, square: bool = True) -> None:
    """``v`` a float32/float64 batch of (square) matrices, the dtypes LAPACK takes (float16 has no LAPACK)."""
    if v.dtype not in (numpy.float32, numpy.float64):
        raise op.dtype_error(arg, "float32 or float64", v.dtype)
    if len(v.shape) < 2:
        raise op.shape_error(arg, "a matrix or a batch of matrices (at least 2-D)", v.shape)
    m, n = v.shape[-2:]
    if square and m is not None and n is not None and m != n:
        raise op.shape_error(arg, "square matrices (..., n, n)", v.shape)


def _solve_shape(op: Op, a: Value, b: Value, broadcast: bool) -> tuple:
    """The shape of X in ``A X = B``: B's columns over A's and B's batch shapes broadcast (or equal)."""
    _require_matrices(op, "matrix", a)
    _require_matrices(op, "rhs", b, square=False)
    op.require_same_dtype(a, b)
    n, rows = a.shape[-1], b.shape[-2]
    if n is not None and rows is not None and n != rows:
        raise ShapeError(f"{op.name}: argument 'rhs' expected {n} rows, as argument 'matrix' has columns, got shape "
                         f"{tuple(b.shape)} for a matrix of shape {tuple(a.shape)}")
    if broadcast:
        return ew.broadcast_shapes(op, a.shape[:-2], b.shape[:-2], op.arg_names) + (n, b.shape[-1])
    pairs = list(zip(a.shape[:-2], b.shape[:-2]))
    if len(a.shape) != len(b.shape) or any(None not in (x, y) and x != y for x, y in pairs):
        raise op.shape_error("rhs", f"the batch shape of argument 'matrix' {tuple(a.shape)}", b.shape)
    return tuple(x if x is not None else y for x, y in pairs) + (n, b.shape[-1])


def _broadcast_batches(be: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """``a`` (..., n, n) and ``b`` (..., n, k) over their common batch shape (views)."""
    try:
        batch = numpy.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:      # batch dims unknown when the graph was built
        raise InvalidArgumentError(None, None, f"Incompatible batch shapes of the matrix {list(a.shape)} and the "
                                               f"right-hand sides {list(b.shape)}") from None
    return be.xp.broadcast_to(a, batch + a.shape[-2:]), be.xp.broadcast_to(b, batch + b.shape[-2:])


def _check_when_run(square: bool, message: str) -> None:
    """A check of dims that were unknown when the graph was built (only a static graph gets this far without
    them checked, so the words are TF's)."""
    if not square:
        raise InvalidArgumentError(None, None, message)


def _raise_failed(be: Any, info: Any, message: str) -> None:
    """Raise ``LinAlgError`` for the first matrix whose LAPACK ``info`` is not 0 (``message`` may name
    ``{info}``).  Reads ``info`` back to the host: a GPU waits here, as PyTorch's and TF's checks make it."""
    host = be.to_host(info)
    bad = numpy.flatnonzero(host)
    if bad.size:
        code = int(host.flat[bad[0]])
        raise LinAlgError(message.format(info=code), int(bad[0]) if host.ndim else None, code)


def _mT(x: Value) -> Value:
    """The last two dims swapped."""
    n = len(x.shape)
    return sh.transpose(x, list(range(n - 2)) + [n - 1, n - 2])


class Triangle(Op):
    """The lower (``upper=False``: ``numpy.tril(x, k)``) or upper (``numpy.triu(x, k)``) triangle of each
    matrix, zeros elsewhere.  TF names it MatrixBandPart; its gradient is the same triangle of ``g``."""

    name = "MatrixBandPart"
    saves_inputs = False

    def __init__(self, upper: bool, k: int = 0) -> None:
        self.upper, self.k = bool(upper), int(k)

    def infer(self, x: Value) -> list:
        if len(x.shape) < 2:
            raise self.shape_error("x", "a matrix or a batch of matrices (at least 2-D)", x.shape)
        return [(x.shape, x.dtype)]

    def forward(self, be, x):
        return be.xp.triu(x, self.k) if self.upper else be.xp.tril(x, self.k)

    def vjp(self, node, grads, needs):
        return (triangle(grads[0], self.upper, self.k),)


def triangle(x: Value, upper: bool, k: int = 0) -> Value:
    return apply(Triangle(upper, k), x)


class MatrixInverse(Op):
    """The inverse of each matrix (of its transpose with ``adjoint``).  ``check``: a singular matrix (an exact
    zero pivot) raises ``LinAlgError``, as TF's MatrixInverse and ``torch.linalg.inv``; else a second output
    holds LAPACK's info per matrix and a singular one's inverse is LAPACK's infinities and NaN
    (``torch.linalg.inv_ex``).  Gradient: ``-Y^T G Y^T``, from the output."""

    name = "MatrixInverse"
    arg_names = ("input",)
    saves_inputs = False
    saves_outputs = True

    def __init__(self, adjoint: bool = False, check: bool = True) -> None:
        self.adjoint, self.check = bool(adjoint), bool(check)

    def infer(self, a: Value) -> list:
        _require_matrices(self, "input", a)
        return [(a.shape, a.dtype)] + ([] if self.check else [(a.shape[:-2], numpy.dtype(numpy.int32))])

    def forward(self, be, a):
        _check_when_run(a.shape[-1] == a.shape[-2], "Input matrix must be square.")
        x, info = be.inv(a.swapaxes(-1, -2) if self.adjoint else a)
        if not self.check:
            return x, info
        _raise_failed(be, info, "Input is not invertible.")
        return x

    def vjp(self, node, grads, needs):
        y, g = node.outputs[0], grads[0]
        # dY = -Y dA Y; for the adjoint's Y = A^-T, dY = -Y dA^T Y, so the gradient is -Y G^T Y
        ga = matmul(matmul(y, g, False, True), y) if self.adjoint else matmul(matmul(y, g, True), y, False, True)
        return (ew.neg(ga),)


def inverse(a: Value, adjoint: bool = False, check: bool = True) -> Any:
    """A^-1 (A^-T with ``adjoint``); with ``check=False``, (inverse, info) instead of raising."""
    return apply(MatrixInverse(adjoint, check), a)


def _inverse_transposed(a: Value, check: bool) -> Value:
    """A^-T for a determinant's gradient: raising on a singular matrix (``check``, TF), or LAPACK's infinities
    and NaN there (PyTorch)."""
    return inverse(a, True) if check else inverse(a, True, False)[0]


class Det(Op):
    """The determinant of each matrix (LAPACK's LU: a singular one gives 0, or -0.0).  Gradient:
    ``g * det * A^-T``.  At a singular matrix ``check_grad`` raises there, as TF's gradient (which inverts A)
    does; without it the gradient is 0 where det is 0, as PyTorch's first derivative (its LU solve gives 0
    there; its second derivative takes the SVD, which this does not)."""

    name = "MatrixDeterminant"
    arg_names = ("input",)
    saves_outputs = True

    def __init__(self, check_grad: bool = True) -> None:
        self.check_grad = bool(check_grad)

    def infer(self, a: Value) -> list:
        _require_matrices(self, "input", a)
        return [(a.shape[:-2], a.dtype)]

    def forward(self, be, a):
        _check_when_run(a.shape[-1] == a.shape[-2], "Input matrix must be square.")
        return be.xp.asarray(be.xp.linalg.det(a))

    def vjp(self, node, grads, needs):
        a, d = node.inputs[0], node.outputs[0]
        gd = sh.expand_dims(ew.mul(grads[0], d), (-2, -1))
        ga = ew.mul(gd, _inverse_transposed(a, self.check_grad))
        if not self.check_grad:
            zero = sh.expand_dims(ew.scalar_compare(d, "Equal", 0.0), (-2, -1))
            ga = ew.where(zero, sh.fill_like(ga, 0.0), ga)
        return (ga,)


def det(a: Value, check_grad: bool = True) -> Value:
    return apply(Det(check_grad), a)


class Slogdet(Op):
    """(sign, log|det|) of each matrix (a singular one: sign 0, log|det| -inf).  The sign has no gradient; that
    of log|det| is ``g * A^-T``, which at a singular matrix raises with ``check_grad`` (TF) or holds LAPACK's
    infinities (PyTorch)."""

    name = "LogMatrixDeterminant"
    arg_names = ("input",)

    def __init__(self, check_grad: bool = True) -> None:
        self.check_grad = bool(check_grad)

    def infer(self, a: Value) -> list:
        _require_matrices(self, "input", a)
        return [(a.shape[:-2], a.dtype)] * 2

    def forward(self, be, a):
        _check_when_run(a.shape[-1] == a.shape[-2], "Input matrix must be square.")
        sign, logabsdet = be.xp.linalg.slogdet(a)
        return be.xp.asarray(sign), be.xp.asarray(logabsdet)

    def vjp(self, node, grads, needs):
        if grads[1] is None:
            return (None,)
        return (ew.mul(sh.expand_dims(grads[1], (-2, -1)), _inverse_transposed(node.inputs[0], self.check_grad)),)


def slogdet(a: Value, check_grad: bool = True) -> tuple[Value, Value]:
    return apply(Slogdet(check_grad), a)


class Solve(Op):
    """X with ``A X = B`` (``A^T X = B`` with ``adjoint``) for each matrix A (..., n, n) and right-hand sides B
    (..., n, k): batch dims broadcast (``broadcast=False``: they must be equal, as TF's MatrixSolve wants).  A
    singular A raises ``LinAlgError`` (both PyTorch and TF do).  Gradient: ``G_B = A^-T G`` (a solve),
    ``G_A = -G_B X^T`` (``-X G_B^T`` for the adjoint)."""

    name = "MatrixSolve"
    arg_names = ("matrix", "rhs")
    saves_inputs = (0,)          # the gradient reads the matrix, and only the shape of the right-hand sides
    saves_outputs = True

    def __init__(self, adjoint: bool = False, broadcast: bool = True) -> None:
        self.adjoint, self.broadcast = bool(adjoint), bool(broadcast)

    def infer(self, a: Value, b: Value) -> list:
        return [(_solve_shape(self, a, b, self.broadcast), a.dtype)]

    def forward(self, be, a, b):
        if not self.broadcast and a.shape[:-2] != b.shape[:-2]:     # TF's words (a batch dim unknown when built)
            raise InvalidArgumentError(None, None, "All input tensors must have the same outer dimensions.")
        _check_when_run(a.shape[-1] == a.shape[-2], "First input (lhs) must be a square matrix.")
        _check_when_run(a.shape[-1] == b.shape[-2], "Input matrix and rhs are incompatible.")
        a, b = _broadcast_batches(be, a, b)
        x, info = be.solve(a.swapaxes(-1, -2) if self.adjoint else a, b)
        _raise_failed(be, info, "Input matrix is not invertible.")
        return x

    def vjp(self, node, grads, needs):
        a, b = node.inputs
        x = node.outputs[0]
        gb = solve(a, grads[0], not self.adjoint)
        ga = None
        if needs[0]:
            ga = ew.sum_to_like(ew.neg(matmul(x, gb, False, True) if self.adjoint else matmul(gb, x, False, True)), a)
        return ga, ew.sum_to_like(gb, b) if needs[1] else None


def solve(a: Value, b: Value, adjoint: bool = False, broadcast: bool = True) -> Value:
    return apply(Solve(adjoint, broadcast), a, b)


def _check_triangular_when_run(a: Any, b: Any) -> None:
    """``_check_when_run`` for a triangular solve, in TF's MatrixTriangularSolve's words."""
    n = a.shape[-1]
    _check_when_run(n == a.shape[-2], f"In[0] matrices in the last dimensions must be square ({n} =/= {a.shape[-2]})")
    _check_when_run(n == b.shape[-2], f"In[0] mismatch In[1] shape: {n} vs. {b.shape[-2]}")


class TriangularSolve(Op):
    """X with ``T X = B`` (``T^T X = B`` with ``adjoint``): T the lower (``lower``) or upper triangle of each
    matrix A, ones on its diagonal with ``unit_diagonal``; the other triangle is not read.  Batch dims
    broadcast.  A zero on T's diagonal gives infinities and NaN, not an error, as PyTorch and TF.  Gradient:
    ``G_B`` the solve with T^T, ``G_A = -G_B X^T`` (``-X G_B^T`` for the adjoint) kept to T's triangle."""

    name = "MatrixTriangularSolve"
    arg_names = ("matrix", "rhs")
    saves_inputs = (0,)          # the gradient reads the matrix, and only the shape of the right-hand sides
    saves_outputs = True

    def __init__(self, lower: bool = True, adjoint: bool = False, unit_diagonal: bool = False) -> None:
        self.lower, self.adjoint, self.unit_diagonal = bool(lower), bool(adjoint), bool(unit_diagonal)

    def infer(self, a: Value, b: Value) -> list:
        return [(_solve_shape(self, a, b, True), a.dtype)]

    def forward(self, be, a, b):
        _check_triangular_when_run(a, b)
        a, b = _broadcast_batches(be, a, b)
        if self.adjoint:        # T^T is the other triangle of A^T
            return be.solve_triangular(a.swapaxes(-1, -2), b, not self.lower, self.unit_diagonal)
        return be.solve_triangular(a, b, self.lower, self.unit_diagonal)

    def vjp(self, node, grads, needs):
        a, b = node.inputs
        x = node.outputs[0]
        gb = triangular_solve(a, grads[0], self.lower, not self.adjoint, self.unit_diagonal)
        ga = None
        if needs[0]:
            full = ew.neg(matmul(x, gb, False, True) if self.adjoint else matmul(gb, x, False, True))
            # only T's triangle was read (without its diagonal when that is taken as ones)
            k = (-1 if self.lower else 1) if self.unit_diagonal else 0
            ga = ew.sum_to_like(triangle(full, not self.lower, k), a)
        return ga, ew.sum_to_like(gb, b) if needs[1] else None


def triangular_solve(a: Value, b: Value, lower: bool = True, adjoint: bool = False,
                     unit_diagonal: bool = False) -> Value:
    return apply(TriangularSolve(lower, adjoint, unit_diagonal), a, b)


class CholeskySolve(Op):
    """X with ``A X = B`` from A's Cholesky factor (the ``matrix``): ``L L^T = A``, or ``U^T U = A`` with
    ``upper``; two triangular solves reading the factor's triangle, batch dims broadcast.  Its gradient is
    PyTorch's, which treats the factor as a whole matrix (A = L L^T over all its entries, so entries off its
    triangle get one too): ``G_B = A^-1 G``, ``G_L = -(C + C^T) L`` (``-U (C + C^T)``) with ``C = G_B X^T``."""

    name = "CholeskySolve"
    arg_names = ("matrix", "rhs")
    saves_inputs = (0,)          # the gradient reads the matrix, and only the shape of the right-hand sides
    saves_outputs = True

    def __init__(self, upper: bool = False) -> None:
        self.upper = bool(upper)

    def infer(self, factor: Value, b: Value) -> list:
        return [(_solve_shape(self, factor, b, True), factor.dtype)]

    def forward(self, be, factor, b):
        _check_triangular_when_run(factor, b)
        factor, b = _broadcast_batches(be, factor, b)
        low = factor.swapaxes(-1, -2) if self.upper else factor      # L = U^T: L y = B, then L^T X = y
        return be.solve_triangular(low.swapaxes(-1, -2), be.solve_triangular(low, b, True, False), False, False)

    def vjp(self, node, grads, needs):
        factor, b = node.inputs
        gb = cholesky_solve(factor, grads[0], self.upper)
        gf = None
        if needs[0]:
            c = matmul(gb, node.outputs[0], False, True)
            c = ew.add(c, _mT(c))
            gf = ew.sum_to_like(ew.neg(matmul(factor, c) if self.upper else matmul(c, factor)), factor)
        return gf, ew.sum_to_like(gb, b) if needs[1] else None


def cholesky_solve(factor: Value, b: Value, upper: bool = False) -> Value:
    return apply(CholeskySolve(upper), factor, b)


class Cholesky(Op):
    """The lower-triangular L with ``L L^T = A`` of each symmetric positive-definite matrix, A read in its lower
    triangle (as LAPACK potrf with 'L', PyTorch and TF).  ``check``: a matrix that is not positive-definite
    raises ``LinAlgError`` (``torch.linalg.cholesky``); else L is NaN in its lower triangle there (TF's Cholesky)
    and a second output holds LAPACK's info per matrix (``torch.linalg.cholesky_ex``).  Gradient (Murray 2016,
    as PyTorch's and TF's, symmetric): ``L^-T sym(tril(L^T G)) L^-1``, the diagonal of the triangle halved."""

    name = "Cholesky"
    arg_names = ("input",)
    saves_inputs = False
    saves_outputs = True

    def __init__(self, check: bool = True) -> None:
        self.check = bool(check)

    def infer(self, a: Value) -> list:
        _require_matrices(self, "input", a)
        return [(a.shape, a.dtype)] + ([] if self.check else [(a.shape[:-2], numpy.dtype(numpy.int32))])

    def forward(self, be, a):
        _check_when_run(a.shape[-1] == a.shape[-2], "Input matrix must be square.")
        xp = be.xp
        # the lower triangle mirrored: NumPy's and CuPy's cholesky need not read the same triangle
        low, info = be.cholesky(xp.tril(a) + xp.swapaxes(xp.tril(a, -1), -1, -2))
        if not self.check:
            return low, info
        _raise_failed(be, info, "Cholesky: argument 'input' expected positive-definite matrices, got one whose "
                                "leading minor of order {info} is not positive-definite")
        return low

    def vjp(self, node, grads, needs):
        low = node.outputs[0]
        p = triangle(matmul(low, grads[0], True), False)
        # PyTorch's order: the triangle and its strict part mirrored, halved (its diagonal counted once)
        sym = ew.scalar(ew.add(p, _mT(triangle(p, False, -1))), "mul", 0.5)
        left = triangular_solve(low, sym, True, True)                # L^-T sym
        return (_mT(triangular_solve(low, _mT(left), True, True)),)  # (L^-T (L^-T sym)^T)^T = L^-T sym L^-1


def cholesky(a: Value, check: bool = True) -> Any:
    """L with ``L L^T = A``; with ``check=False``, (L, info) instead of raising."""
    return apply(Cholesky(check), a)


def matrix_power(a: Value, n: int) -> Value:
    """A^n for an integer n by matmuls: A^0 is the identity (a gradient of 0 still flows to A, as PyTorch's),
    a negative n powers the inverse.  The products in PyTorch's order (squarings from the lowest bit up)."""
    if n == 0:      # x ** 0 is 1 everywhere with a zero gradient; its diagonal is the identity
        return triangle(triangle(ew.scalar(a, "pow", 0), True), False)
    if n < 0:
        a, n = inverse(a), -n
    if n == 1:
        return ew.identity(a)
    if n in (2, 3):
        sq = matmul(a, a)
        return sq if n == 2 else matmul(sq, a)
    z = result = None
    while n > 0:
        bit, n = n % 2, n // 2
        z = a if z is None else matmul(z, z)
        if bit:
            result = z if result is None else matmul(result, z)
    return result


# ----- symmetric eigendecomposition and QR ---------------------------------------------------------------------
def _identity_like(x: Value) -> Value:
    """The identity matrices of ``x``'s (..., n, n) shape: the upper triangle of ones less its strict part."""
    ones = sh.fill_like(x, 1.0)
    return ew.sub(triangle(ones, True), triangle(ones, True, 1))


def _gaps(x: Value) -> tuple[Value, Value]:
    """For a batch of vectors (..., k): ``x_j - x_i`` as (..., k, k) matrices with 1 on the diagonal (the
    divisor of the spectral gradients, whose numerators are 0 there), and the identity of that shape."""
    diff = ew.sub(sh.expand_dims(x, -2), sh.expand_dims(x, -1))
    eye = _identity_like(diff)
    return ew.add(diff, eye), eye


def _skew(x: Value) -> Value:
    """``X - X^T``."""
    return ew.sub(x, _mT(x))


class Eigh(Op):
    """The eigenvalues (ascending) and orthonormal eigenvectors (the columns) of each symmetric matrix, read in
    its lower triangle (``upper``: its upper one), as LAPACK's syevd (``torch.linalg.eigh``).  The vectors'
    signs are LAPACK's, which implementations may choose differently.  Gradient, PyTorch's for a Hermitian
    input (a full matrix, not only the triangle read): ``V (skew(V^T gV) / E + diag(gL)) V^T``, with
    ``skew(M) = (M - M^T) / 2`` and ``E_ij = L_j - L_i`` off the diagonal."""

    name = "SelfAdjointEigV2"
    arg_names = ("input",)
    saves_inputs = False
    saves_outputs = True

    def __init__(self, upper: bool = False) -> None:
        self.upper = bool(upper)

    def infer(self, a: Value) -> list:
        _require_matrices(self, "input", a)
        return [(a.shape[:-1], a.dtype), (a.shape, a.dtype)]

    def forward(self, be, a):
        _check_when_run(a.shape[-1] == a.shape[-2], "Input matrix must be square.")
        return be.eigh(a, self.upper)

    def vjp(self, node, grads, needs):
        w, v = node.outputs
        gw, gv = grads
        gap, eye = _gaps(w)                 # L_j - L_i
        inner = None
        if gv is not None:
            inner = ew.div(ew.scalar(_skew(matmul(v, gv, transpose_a=True)), "mul", 0.5), gap)
        if gw is not None:
            diag = ew.mul(sh.expand_dims(gw, -2), eye)
            inner = diag if inner is None else ew.add(inner, diag)
        return (matmul(v, matmul(inner, v, transpose_b=True)),)


def eigh(a: Value, upper: bool = False) -> tuple[Value, Value]:
    return apply(Eigh(upper), a)


class Qr(Op):
    """Q with orthonormal columns and upper-triangular R with ``A = Q R`` for each matrix, LAPACK's geqrf and
    orgqr (the signs of R's diagonal as they come out, as NumPy's, PyTorch's and TF's): ``mode`` 'reduced'
    (Q m x k, R k x n, k = min(m, n)) or 'complete' (Q m x m, R m x n).  Gradient (of 'reduced', and of
    'complete' where m <= n, where the two agree; ``r_only``: PyTorch's mode 'r', whose gradient needs the Q
    it does not hand out, raises): for m >= n, ``(gQ + Q copyltu(M)) R^-T`` with
    ``M = R gR^T - gQ^T Q`` and ``copyltu(M)`` its lower triangle mirrored; for m < n, the square part's
    gradient from ``gQ + Y gR2^T`` and ``Q gR2`` for the rest (Y = A's columns past m, R2 = R's)."""

    name = "Qr"
    arg_names = ("input",)
    saves_inputs = True
    saves_outputs = True

    def __init__(self, complete: bool = False, r_only: bool = False) -> None:
        self.complete, self.r_only = bool(complete), bool(r_only)

    def infer(self, a: Value) -> list:
        _require_matrices(self, "input", a, square=False)
        m, n = a.shape[-2:]
        k = m if self.complete or m is None or n is None else min(m, n)
        return [(a.shape[:-2] + (m, k), a.dtype), (a.shape[:-2] + (k, n), a.dtype)]

    def forward(self, be, a):
        return be.qr(a, self.complete)

    def vjp(self, node, grads, needs):
        a, = node.inputs
        q, r = node.outputs
        m, n = a.shape[-2:]
        if self.r_only:
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please "
                               "use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
        if self.complete and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        gq = grads[0] if grads[0] is not None else sh.fill_like(q, 0.0)
        gr = grads[1] if grads[1] is not None else sh.fill_like(r, 0.0)
        if m >= n:
            return (_qr_square_grad(q, r, gq, gr),)
        # A = Q [R1 R2]: X = A[:, :m] = Q R1 (square), Y = A[:, m:] = Q R2
        head, tail = (Ellipsis, slice(0, m)), (Ellipsis, slice(m, None))
        y, r1 = sh.getitem(a, tail), sh.getitem(r, head)
        gr1, gr2 = sh.getitem(gr, head), sh.getitem(gr, tail)
        gx = _qr_square_grad(q, r1, ew.add(gq, matmul(y, gr2, transpose_b=True)), gr1)
        return (sh.concat([gx, matmul(q, gr2)], len(a.shape) - 1),)


def _qr_square_grad(q: Value, r: Value, gq: Value, gr: Value) -> Value:
    """``(gQ + Q copyltu(M)) R^-T``, ``M = R gR^T - gQ^T Q``, for Q m x n and R n x n (m >= n)."""
    m_ = ew.sub(matmul(r, gr, transpose_b=True), matmul(gq, q, transpose_a=True))
    low = triangle(m_, False, -1)
    copyltu = ew.add(ew.add(low, _mT(low)), ew.mul(m_, _identity_like(m_)))
    b = ew.add(gq, matmul(q, copyltu))
    return _mT(triangular_solve(r, _mT(b), lower=False))       # B R^-T: R X^T = B^T


def qr(a: Value, complete: bool = False, r_only: bool = False) -> tuple[Value, Value]:
    return apply(Qr(complete, r_only), a)


class Svd(Op):
    """``A = U diag(S) Vh`` for each matrix, S descending, LAPACK's gesdd (the singular vectors' signs, paired, as
    it makes them): U m x k and Vh k x n, k = min(m, n), or square (m x m, n x n) with ``full_matrices``.
    Gradient, PyTorch's (the extra columns of full U and Vh, which nothing determines, contribute nothing):
    ``U [(skew(U^T gU) S + S skew(V^T gV)) / E + diag(gS)] Vh``, ``skew(X) = X - X^T``, ``E_ij = S_j^2 - S_i^2``
    off the diagonal, plus ``(I - U U^T) gU S^-1 Vh`` for m > k or ``U S^-1 gVh (I - V V^T)`` for n > k."""

    name = "Svd"
    arg_names = ("input",)
    saves_inputs = False
    saves_outputs = True

    def __init__(self, full_matrices: bool = False) -> None:
        self.full_matrices = bool(full_matrices)

    def infer(self, a: Value) -> list:
        _require_matrices(self, "input", a, square=False)
        m, n = a.shape[-2:]
        k = None if m is None or n is None else min(m, n)
        u, vh = ((m, m), (n, n)) if self.full_matrices else ((m, k), (k, n))
        return [(a.shape[:-2] + u, a.dtype), (a.shape[:-2] + (k,), a.dtype), (a.shape[:-2] + vh, a.dtype)]

    def forward(self, be, a):
        return be.svd(a, self.full_matrices)

    def vjp(self, node, grads, needs):
        u, s, vh = node.outputs
        gu, gs, gvh = grads
        m, n = u.shape[-2], vh.shape[-1]
        k = min(m, n)
        if self.full_matrices:      # only the first k singular vectors are determined by A
            u, vh = sh.getitem(u, (Ellipsis, slice(0, k))), sh.getitem(vh, (Ellipsis, slice(0, k), slice(None)))
            gu = None if gu is None else sh.getitem(gu, (Ellipsis, slice(0, k)))
            gvh = None if gvh is None else sh.getitem(gvh, (Ellipsis, slice(0, k), slice(None)))
        row, col = sh.expand_dims(s, -2), sh.expand_dims(s, -1)       # S_j along rows, S_i down columns
        gap, eye = _gaps(ew.mul(s, s))      # S_j^2 - S_i^2
        inner = None
        if gu is not None:
            inner = ew.mul(_skew(matmul(u, gu, transpose_a=True)), row)
        if gvh is not None:
            term = ew.mul(col, _skew(matmul(vh, gvh, transpose_b=True)))
            inner = term if inner is None else ew.add(inner, term)
        if inner is not None:
            inner = ew.div(inner, gap)
        if gs is not None:
            diag = ew.mul(sh.expand_dims(gs, -2), eye)
            inner = diag if inner is None else ew.add(inner, diag)
        if inner is None:
            return (None,)
        if m > k and gu is not None:
            gus = ew.div(gu, row)                                    # gU S^-1
            left = ew.sub(ew.add(matmul(u, inner), gus), matmul(u, matmul(u, gus, transpose_a=True)))
            return (matmul(left, vh),)
        if n > k and gvh is not None:
            sgv = ew.div(gvh, col)                                   # S^-1 gVh
            right = ew.sub(ew.add(matmul(inner, vh), sgv), matmul(matmul(sgv, vh, transpose_b=True), vh))
            return (matmul(u, right),)
        return (matmul(u, matmul(inner, vh)),)


def svd(a: Value, full_matrices: bool = False) -> tuple[Value, Value, Value]:
    return apply(Svd(full_matrices), a)
