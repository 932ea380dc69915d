"""The backend contract and its array-module implementation.

Most kernels here are written once against ``self.xp`` (NumPy or CuPy).  Conv and pooling are each backend's
own (``numpy_kernels`` on the CPU, CUDA kernels on the GPU); they take explicit pads ``(top, bottom, left,
right)``: the op library resolves 'same'/'valid' before calling in.
"""
from __future__ import annotations

import contextlib
import functools
import math
import threading
from typing import Any, Callable, Sequence

import numpy

from backends import linalg, philox
from backends.errors import IndexOutOfRange, LinAlgError, ValueOutOfRange

Pads = tuple[int, int, int, int]
Pair = tuple[int, int]


def conv_out_size(size: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


class ArrayBackend:
    """Kernels over an array module with NumPy's API."""

    name = "abstract"

    def __init__(self, xp: Any, device: Any) -> None:
        self.xp = xp
        self.device = device
        # Buffers made for a step's results outside a memory plan (``empty``, and each output of a step the
        # planned executor could not give a buffer): a warmed-up planned step should add none.
        self.allocations = 0
        self._scratch = threading.local()

    def empty(self, shape: Sequence[int], dtype: Any) -> Any:
        """A new uninitialized array, counted in ``allocations``."""
        self.allocations += 1
        return self.xp.empty(shape, dtype=dtype)

    def empty_like(self, a: Any, dtype: Any) -> Any:
        """A new uninitialized array of ``a``'s shape and memory order, counted in ``allocations``."""
        self.allocations += 1
        return self.xp.empty_like(a, dtype=dtype)

    def empty_result(self, operands: Sequence[Any], dtype: Any) -> Any:
        """A new uninitialized array laid out as this backend's elementwise result over ``operands`` is (their
        broadcast shape; C order here, as CuPy's elementwise kernels make theirs), counted in ``allocations``:
        a fused chain's result must sit in memory as the unfused chain's would, for a reduction or GEMM
        downstream sums in memory order."""
        return self.empty(numpy.broadcast_shapes(*[tuple(a.shape) for a in operands]), dtype)

    # ----- arrays and transfers -------------------------------------------------
    def asarray(self, data: Any, dtype: Any = None) -> Any:
        return self.xp.asarray(data, dtype=dtype)

    def to_host(self, a: Any) -> numpy.ndarray:
        return numpy.asarray(a)

    def synchronize(self) -> None:
        """Wait for queued work (a no-op on the CPU)."""

    def generator(self, seed: int | None) -> Any:
        """A seeded random generator with ``random``, ``standard_normal``, ``integers``."""
        return self.xp.random.default_rng(seed)

    def as_strided(self, a: Any, shape: Sequence[int], strides: Sequence[int]) -> Any:
        return self.xp.lib.stride_tricks.as_strided(a, shape=tuple(shape), strides=tuple(strides))

    def check_indices(self, idx: Any, bound: int, what: str) -> Any:
        """Raise IndexOutOfRange (an IndexError, as PyTorch's CPU kernels, and an InvalidArgumentError, as
        TensorFlow's) if an index falls outside [0, bound).

        Returns None when checked; a backend that cannot look without stalling returns the validity mask
        instead, and the caller must turn what it read through invalid indices into NaN (``mark_invalid``)
        rather than a plausible number."""
        bad = (idx < 0) | (idx >= bound)
        if bad.any():
            raise IndexOutOfRange(f"{what}: {int(idx[bad][0])} is out of bounds (expected values in [0, {bound}))")
        return None

    def check_within(self, x: Any, lo: float, hi: float, what: str) -> None:
        """Raise ValueOutOfRange unless every value of ``x`` lies in [lo, hi] (NaN does not).  A backend that
        cannot look without stalling does not check: the caller's kernel must then turn such values into NaN."""
        if not ((x >= lo) & (x <= hi)).all():
            raise ValueOutOfRange(f"{what}: all elements of input should be between {lo:g} and {hi:g}")

    def check_nonzero(self, y: Any, what: str) -> None:
        """Raise ValueOutOfRange (a RuntimeError, as PyTorch's ZeroDivisionError, and an InvalidArgumentError,
        as TF's) if an integer divisor is zero; a backend that cannot look without stalling does not check."""
        if (y == 0).any():
            raise ValueOutOfRange(f"{what}: integer division by zero (ZeroDivisionError)")

    def mark_invalid(self, out: Any, valid: Any) -> Any:
        """``out`` with NaN where the mask from ``check_indices`` (broadcast against ``out``) is False.

        Integer results have no NaN and come back unmarked: the caller reads clamped indices there."""
        if valid is None or out.dtype.kind != "f":
            return out
        return self.xp.where(valid, out, out.dtype.type(numpy.nan))

    def index_add(self, target: Any, index: Any, values: Any) -> None:
        """target[index] += values, accumulating repeated indices."""
        self.xp.add.at(target, index, values)

    def index_reduce(self, target: Any, index: Any, values: Any, kind: str) -> None:
        """target[index] = max/min/product (``kind``) of itself and values, over repeated indices too."""
        getattr(self.xp, {"max": "maximum", "min": "minimum", "prod": "multiply"}[kind]).at(target, index, values)

    def scratch(self, key: tuple, shape: Sequence[int], dtype: Any) -> Any:
        """A work buffer for a kernel's intermediate results: a view of one buffer per (key, dtype) and thread,
        made (or grown) when a larger one is asked for, so a kernel allocates only on its first call and the
        pool holds no more than its largest request.  The contents are garbage on entry; ``key`` keeps two
        results that may be live together apart."""
        pool = getattr(self._scratch, "pool", None)
        if pool is None:
            pool = self._scratch.pool = {}
        k = (key, dtype)        # a dtype and its type object name the same buffer twice at most: harmless
        n = math.prod(shape)
        flat = pool.get(k)
        if flat is None or flat.size < n:
            flat = pool[k] = self.empty((n,), dtype)
        return flat[:n].reshape(shape)

    # ----- fused pieces of gradients and losses -----------------------------------
    def erf(self, x: Any) -> Any:
        # NumPy has no erf; math.erf per element is exact (GELU inputs are activations, not huge arrays).
        return numpy.frompyfunc(math.erf, 1, 1)(x).astype(x.dtype)

    def matmul(self, a: Any, b: Any, out: Any = None) -> Any:
        """``a @ b`` (into ``out`` when given)."""
        return self.xp.matmul(a, b, out=out)

    def random_uniform(self, shape: Sequence[int], dtype: Any, state: Any) -> Any:
        """Uniform values in [0, 1) from the counter-based generator state ``state`` (a uint64 ``[seed,
        offset]`` array on this device, advanced in place): the same bits on every backend
        (``backends/philox.py``)."""
        return philox.uniform(self.xp, shape, dtype, state)

    def relu(self, x: Any, out: Any = None) -> Any:
        """0 where ``x < 0``, else ``x`` itself: NaN and -0.0 kept, as TF's and PyTorch's max(x, 0), which keep
        the x of a tie (NumPy's maximum gives +0.0 for -0.0).  Into ``out`` when given; it may be ``x``."""
        xp = self.xp
        below = x < 0
        if out is None:
            out = xp.array(x, copy=True)
        elif out is not x:
            xp.copyto(out, x)
        xp.copyto(out, 0, where=below)
        return out

    def bias_relu(self, x: Any, b: Any, axis: int, out: Any = None) -> Any:
        """``relu(x + b)`` with ``b`` along ``axis``, rounded as the add and the ReLU apart (into ``out``)."""
        shape = [1] * x.ndim
        shape[axis] = -1
        y = self.xp.add(x, b.reshape(shape), out=out)
        return self.relu(y, out=y)

    def bias_relu_call(self, x: Any, b: Any, axis: int, out: Any) -> Callable[[], Any]:
        """``bias_relu`` into ``out`` as a function of no arguments, for arrays a planned step passes at every
        run (``core.lowering.bound``); a backend with a kernel of its own binds it."""
        return functools.partial(self.bias_relu, x, b, axis, out)

    def fma(self, x: Any, alpha: Any, c: Any, out: Any) -> Any:
        """``out = x * alpha + c`` rounded once per element (a fused multiply-add; ``alpha`` a scalar, cast to
        the arrays' type first, as ATen casts a Python alpha, or an array like ``x``; ``out`` may be ``c``):
        PyTorch's CPU ``c.add(x, alpha=alpha)`` and ``addcmul``.  Here through float64, where a float32 or
        float16 product is exact and the sum rounds twice (a result moves only on a rare tie); a float64 one
        rounds twice.  Backends with a fused kernel (compiled CPU loops, CUDA) override this."""
        xp = self.xp
        a = alpha if hasattr(alpha, "shape") else (numpy.float64 if x.dtype.itemsize == 8 else numpy.float32)(alpha)
        if x.dtype.itemsize == 8:
            return xp.add(xp.multiply(x, a), c, out=out)
        a64 = a.astype(numpy.float64) if hasattr(a, "shape") else numpy.float64(a)
        wide = xp.multiply(x.astype(numpy.float64), a64)
        wide += c
        xp.copyto(out, wide.astype(numpy.float32).astype(out.dtype), casting="same_kind")
        return out

    def sum_call(self, x: Any, axes: tuple, keepdims: bool, out: Any) -> Callable[[], Any]:
        """``x.sum(axis=axes, keepdims=keepdims, out=out)`` as a function of no arguments (for arrays a planned
        step passes at every run; ``out`` None: the call returns a new array); a backend may bind a cheaper
        call of the same sum."""
        return functools.partial(x.sum, axis=axes, keepdims=keepdims, out=out)

    def plane_sums(self, x: Any, out: Any = None) -> Any:
        """Per index of the first axis, the sum of everything after it (a bias gradient's channel sums of an
        NCHW image): ``x.sum(axis=(1, ..., ndim - 1))``, into ``out`` where given."""
        return x.sum(axis=tuple(range(1, x.ndim)), out=out)

    def plane_sums_call(self, x: Any, out: Any) -> Callable[[], Any]:
        """``plane_sums`` into ``out`` as a function of no arguments (for arrays a planned step passes at every
        run); a backend with a kernel of its own binds it."""
        return functools.partial(self.plane_sums, x, out)

    def relu_grad(self, g: Any, y: Any, select: bool = False) -> Any:
        """The ReLU's gradient from its output ``y``: ``g * (y > 0)`` (TensorFlow), or with ``select`` 0 where
        ``y <= 0``, else ``g`` (PyTorch's threshold_backward: a NaN ``g`` at an off unit gives 0)."""
        if select:
            return self.xp.where(y <= 0, g.dtype.type(0), g)
        return g * (y > 0)

    def softmax_cross_entropy(self, z: Any, t: Any, keep: Any, reduction: str, sparse: bool = False,
                              out: tuple | None = None) -> tuple[Any, Any]:
        """Cross-entropy of logits (N, C) against a target t (N, C), and its gradient with respect to z.

        ``keep`` (N, 1) bool or None masks rows out; 'mean' divides by the kept rows.  ``sparse``: t encodes
        class indices, so its zero entries are not read at all and a -inf (masked) logit there costs nothing,
        as in the class-index kernels of PyTorch and TensorFlow; a dense target gives 0 * -inf = NaN there,
        as theirs do.  The gradient is finite either way.  ``out``: the (loss, backprop) arrays to write into;
        the work arrays are ``scratch``, so a warmed-up call with ``out`` allocates nothing of the batch's size."""
        xp = self.xp
        n = z.shape[0]
        loss, backprop = out if out is not None else (
            xp.empty((n,) if reduction == "none" else (), z.dtype), xp.empty(z.shape, z.dtype))
        zs = self.scratch(("xent", "z"), z.shape, z.dtype)
        top, se, tsum, rows = self.scratch(("xent", "columns"), (4, n, 1), z.dtype)
        xp.subtract(z, z.max(axis=1, keepdims=True, out=top), out=zs)
        e = xp.exp(zs, out=backprop)        # backprop = e * (tsum / se) - t, in its own buffer
        e.sum(axis=1, keepdims=True, out=se)
        t.sum(axis=1, keepdims=True, out=tsum)
        if sparse:      # read zs only where t != 0
            xp.copyto(zs, z.dtype.type(0), where=xp.equal(t, 0, out=self.scratch(("xent", "mask"), t.shape, bool)))
        xp.multiply(t, zs, out=zs)
        xp.multiply(xp.log(se, out=rows), tsum, out=rows)
        rows -= zs.sum(axis=1, keepdims=True, out=top)              # -sum_j t_j log p_j
        backprop *= xp.divide(tsum, se, out=se)
        backprop -= t
        if keep is not None:
            drop = ~keep
            xp.copyto(rows, 0, where=drop)
            xp.copyto(backprop, 0, where=drop)
        return self.reduce_cross_entropy(rows[:, 0], loss, backprop, reduction, keep)

    def reduce_cross_entropy(self, rows: Any, loss: Any, backprop: Any, reduction: str, keep: Any = None) -> tuple:
        """The row losses ``rows`` (N,) into ``loss`` as ``reduction`` says ('mean' over the kept rows, ``keep``
        (N, 1) bool or None for all), ``backprop`` scaled to match; returns (loss, backprop)."""
        xp = self.xp
        if reduction == "none":
            if rows is not loss:
                xp.copyto(loss, rows)
        else:
            rows.sum(out=loss)
        if reduction == "mean":
            count = keep.sum(dtype=backprop.dtype) if keep is not None else backprop.dtype.type(rows.shape[0])
            xp.divide(loss, count, out=loss)
            # No kept row: the mean is 0 / 0, NaN as PyTorch's, but the rows' gradient stays 0 (PyTorch's, NLLLoss's)
            backprop /= xp.maximum(count, 1)
        return loss, backprop

    def sparse_target(self, labels: Any, classes: int, dtype: Any, smoothing: float,
                      ignore_index: int | None, out: Any = None) -> tuple[Any, Any]:
        """The smoothed one-hot target (N, C) of class indices (written into ``out`` if given), and the kept
        rows (N, 1) or None."""
        xp = self.xp
        dtype = numpy.dtype(dtype)
        keep = None
        if ignore_index is not None:
            keep = (labels != ignore_index)[:, None]
            labels = xp.where(keep[:, 0], labels, 0)
        valid = self.check_indices(labels, classes, "SparseSoftmaxCrossEntropyWithLogits: argument 'labels'")
        t = xp.empty((labels.shape[0], classes), dtype) if out is None else out
        if not smoothing:
            xp.equal(labels[:, None], xp.arange(classes), out=t)     # True -> 1.0
        else:
            hit = xp.equal(labels[:, None], xp.arange(classes), out=self.scratch(("xent", "mask"), t.shape, bool))
            t.fill(dtype.type(smoothing / classes))
            xp.copyto(t, dtype.type(1.0 - smoothing + smoothing / classes), where=hit)
        if valid is not None:
            xp.copyto(t, dtype.type(numpy.nan), where=~valid[:, None])
        return t, keep

    def sparse_softmax_cross_entropy(self, z: Any, labels: Any, smoothing: float, ignore_index: int | None,
                                     reduction: str, out: tuple | None = None) -> tuple[Any, Any]:
        """``softmax_cross_entropy`` against class indices (a GPU backend does it in one kernel)."""
        t, keep = self.sparse_target(labels, z.shape[1], z.dtype, smoothing, ignore_index,
                                     out=self.scratch(("xent", "target"), z.shape, z.dtype))
        return self.softmax_cross_entropy(z, t, keep, reduction, sparse=True, out=out)

    # ----- dense linear algebra: LAPACK through the array module, a failure as LAPACK's info ---------------
    def linalg_checked(self) -> Any:
        """A context in which the array module's ``linalg`` raises ``numpy.linalg.LinAlgError`` where a
        factorization fails (NumPy's always does; CuPy's only when asked)."""
        return contextlib.nullcontext()

    def _lapack(self, run: Callable[[], Any], whole: Callable, failed: Callable, a: Any, b: Any,
                out_shape: tuple) -> tuple[Any, Any]:
        """(``run()``, zero info) when the array module takes the whole batch; else the batch again matrix by
        matrix on the host (``linalg.per_matrix``), the refused ones through ``failed``."""
        try:
            with self.linalg_checked():
                return run(), self.xp.zeros(a.shape[:-2], numpy.int32)
        except numpy.linalg.LinAlgError:
            out, info = linalg.per_matrix(whole, failed, self.to_host(a), None if b is None else self.to_host(b),
                                          out_shape)
            return self.asarray(out), self.asarray(info)

    def inv(self, a: Any) -> tuple[Any, Any]:
        """(inverse, info) of each matrix of ``a`` (..., n, n).  ``info`` (int32, of the batch shape) is LAPACK
        getrf's: 0, or the order of the LU's first zero pivot, where the inverse is what getrs makes of that LU
        (infinities and NaN), as ``torch.linalg.inv_ex``."""
        return self._lapack(lambda: self.xp.linalg.inv(a), lambda m, _: numpy.linalg.inv(m),
                            lambda m, _: linalg.lu_solved(m, numpy.eye(m.shape[0], dtype=m.dtype)), a, None,
                            tuple(a.shape))

    def solve(self, a: Any, b: Any) -> tuple[Any, Any]:
        """(X, info) with ``a X = b`` for each matrix of ``a`` (..., n, n) and ``b`` (..., n, k) of the same batch
        shape; ``info`` as ``inv``'s."""
        return self._lapack(lambda: self.xp.linalg.solve(a, b), numpy.linalg.solve, linalg.lu_solved, a, b,
                            tuple(b.shape))

    def cholesky(self, a: Any) -> tuple[Any, Any]:
        """(L, info) of each matrix of ``a`` (..., n, n), which must be symmetric (the array modules read
        different triangles).  ``info`` is LAPACK potrf's: 0, or the order of the first leading minor that is
        not positive-definite, where L is NaN in its lower triangle (TF's result)."""
        def checked(xp: Any, m: Any) -> Any:
            # OpenBLAS's potrf lets a NaN pivot through; LAPACK's reference and MKL's (PyTorch's) stop there
            low = xp.linalg.cholesky(m)
            if bool(xp.isnan(low).any()):
                raise numpy.linalg.LinAlgError("NaN in the factor")
            return low
        return self._lapack(lambda: checked(self.xp, a), lambda m, _: checked(numpy, m),
                            lambda m, _: linalg.cholesky(m), a, None, tuple(a.shape))

    def eigh(self, a: Any, upper: bool) -> tuple[Any, Any]:
        """(eigenvalues ascending, eigenvectors as columns) of each symmetric matrix of ``a`` (..., n, n), read in
        its upper or lower triangle; one the solver cannot converge on (NaN in it, say) raises ``LinAlgError``."""
        try:
            with self.linalg_checked():
                w, v = self.xp.linalg.eigh(a, UPLO="U" if upper else "L")
                return w, v
        except numpy.linalg.LinAlgError:
            raise LinAlgError("the eigenvalue algorithm failed to converge", None, 1) from None

    def qr(self, a: Any, complete: bool) -> tuple[Any, Any]:
        """(Q, R) of each matrix of ``a`` (..., m, n): 'complete' (Q m x m) or 'reduced' (Q m x min(m, n))."""
        q, r = self.xp.linalg.qr(a, mode="complete" if complete else "reduced")
        return q, r

    def svd(self, a: Any, full_matrices: bool) -> tuple[Any, Any, Any]:
        """(U, S descending, Vh) of each matrix of ``a`` (..., m, n); one the solver cannot converge on raises
        ``LinAlgError``."""
        try:
            with self.linalg_checked():
                u, s, vh = self.xp.linalg.svd(a, full_matrices=full_matrices)
                return u, s, vh
        except numpy.linalg.LinAlgError:
            raise LinAlgError("the SVD algorithm failed to converge", None, 1) from None

    def solve_triangular(self, a: Any, b: Any, lower: bool, unit_diagonal: bool) -> Any:
        """X with ``T X = b``: T the lower (or upper) triangle of ``a`` (..., n, n), with ones on its diagonal
        when ``unit_diagonal``; ``b`` (..., n, k) has ``a``'s batch shape.  A zero on the diagonal gives
        infinities and NaN (BLAS trsm's)."""
        return linalg.substitute(self.xp, a, b, lower, unit_diagonal)

    # ----- batch norm: two passes over the data each way ---------------------------------------------------
    def _channel_dot(self, a: Any, b: Any, axes: Sequence[int]) -> Any:
        """sum(a * b) over ``axes``, keepdims, without materializing the product (einsum streams it)."""
        letters = "abcdefghijklmnopqrstuvwxyz"[:a.ndim]
        kept = "".join(ch for i, ch in enumerate(letters) if i not in axes)
        r = self.xp.einsum(f"{letters},{letters}->{kept}", a, b)
        return r.reshape(tuple(1 if i in axes else n for i, n in enumerate(a.shape)))

    def batch_norm_train(self, x: Any, gamma: Any, beta: Any, axes: Sequence[int], eps: float,
                         out: Any = None) -> tuple[Any, Any, Any]:
        """y = (x - mean) / sqrt(var + eps) * gamma + beta with the batch's mean and biased variance over ``axes``
        (returned keepdims; gamma and beta broadcast like them).  The centred data is written once into ``y``
        and scaled there in place: the variance is the mean square of centred data, not E[x^2] - E[x]^2, which
        loses float32 precision when the mean is large.  ``out``: the (y, mean, var) arrays to write into."""
        axes = tuple(a % x.ndim for a in axes)
        m = math.prod(x.shape[a] for a in axes)
        y = self.xp.empty_like(x) if out is None else out[0]
        mean = x.mean(axis=axes, keepdims=True)
        self.xp.subtract(x, mean, out=y)
        var = self._channel_dot(y, y, axes) / x.dtype.type(m)
        y *= gamma / self.xp.sqrt(var + x.dtype.type(eps))
        y += beta
        return self._with_stats(out, y, mean, var)

    def batch_norm_train_grad(self, gy: Any, x: Any, gamma: Any, mean: Any, var: Any, axes: Sequence[int],
                              eps: float, out: Any = None) -> tuple[Any, Any, Any]:
        """(dx, dgamma, dbeta) of ``batch_norm_train``.  One pass reduces sum(gy) and sum(gy * x); the other
        writes dx = a*gy + b*x + c per channel (the mean and variance's dependence on x included).  ``out``: the
        (dx, dgamma, dbeta) arrays to write into."""
        xp = self.xp
        axes = tuple(a % x.ndim for a in axes)
        t = x.dtype.type
        m = t(math.prod(x.shape[a] for a in axes))
        inv = 1 / xp.sqrt(var + t(eps))
        gbeta = gy.sum(axis=axes, keepdims=True)
        ggamma = (self._channel_dot(gy, x, axes) - mean * gbeta) * inv       # sum(gy * xhat)
        a = gamma * inv
        b = -a * inv * ggamma / m
        c = -a * gbeta / m - b * mean
        dx = xp.empty_like(x) if out is None else out[0]
        xp.multiply(gy, a, out=dx)
        tmp = self.scratch(("bn_grad",), x.shape, x.dtype)
        xp.multiply(x, b, out=tmp)
        dx += tmp
        dx += c
        return self._with_stats(out, dx, ggamma.reshape(gamma.shape), gbeta.reshape(gamma.shape))

    def _with_stats(self, out: tuple | None, data: Any, *stats: Any) -> tuple:
        """A batch-norm kernel's results: ``data`` (``out[0]`` when given) and its per-channel statistics,
        copied into ``out``'s other buffers when given (a copy of a channel's worth: the same numbers as
        computing them there, whatever the dtype's reduction rules)."""
        if out is None:
            return (data,) + stats
        for o, a in zip(out[1:], stats):
            self.xp.copyto(o, a)
        return out

    # ----- convolution and pooling (each backend runs them as its own kernels) -------------------------
    # ``data_format`` "NCHW" pairs with OIHW weights, "NHWC" with HWIO (TensorFlow's); weights hold
    # in_channels / groups input channels.  ``out``: a C-contiguous array of the result's shape and dtype to
    # write into (for max_pool2d a pair (values, argmax)); the kernel returns it.  Pads are explicit
    # (top, bottom, left, right).
    def conv2d(self, x: Any, w: Any, stride: Pair, pads: Pads, dilation: Pair, groups: int = 1,
               data_format: str = "NCHW", out: Any = None) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: conv2d has no kernel")

    def conv2d_grad_input(self, gy: Any, w: Any, x_shape: Sequence[int], stride: Pair, pads: Pads, dilation: Pair,
                          groups: int = 1, data_format: str = "NCHW", out: Any = None) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: conv2d_grad_input has no kernel")

    def conv2d_grad_weight(self, x: Any, gy: Any, w_shape: Sequence[int], stride: Pair, pads: Pads, dilation: Pair,
                           groups: int = 1, data_format: str = "NCHW", out: Any = None) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: conv2d_grad_weight has no kernel")

    def max_pool2d(self, x: Any, kernel: Pair, stride: Pair, pads: Pads, data_format: str = "NCHW",
                   out: Any = None) -> tuple[Any, Any]:
        """Max over windows and, per output, the flat index (h*W + w) of the winner in its input plane."""
        raise NotImplementedError(f"{type(self).__name__}: max_pool2d has no kernel")

    def max_pool2d_grad(self, gy: Any, idx: Any, x_shape: Sequence[int], kernel: Pair, stride: Pair, pads: Pads,
                        data_format: str = "NCHW", out: Any = None) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: max_pool2d_grad has no kernel")

    def max_pool2d_grad_masked(self, gy: Any, idx: Any, y: Any, x_shape: Sequence[int], kernel: Pair, stride: Pair,
                               pads: Pads, data_format: str = "NCHW", out: Any = None) -> Any:
        """``max_pool2d_grad`` of ``gy * (y > 0)`` for disjoint windows (``nn.MaxPoolGradMasked``): the ReLU
        gradient at the pooled size, then the scatter."""
        return self.max_pool2d_grad(self.relu_grad(gy, y), idx, x_shape, kernel, stride, pads, data_format, out=out)

    def max_pool2d_gather(self, g: Any, idx: Any, data_format: str = "NCHW", out: Any = None) -> Any:
        """The adjoint of max_pool2d_grad: ``g`` read at each window's winner (``idx``: the flat h*W+w of the
        winner in its plane, in either layout)."""
        xp = self.xp
        if out is not None and (tuple(out.shape) != tuple(idx.shape) or not out.flags.c_contiguous):
            raise ValueError(f"max_pool2d_gather: argument 'out' expected a C-contiguous array of shape "
                             f"{tuple(idx.shape)}, got {tuple(out.shape)}")
        res = xp.empty(idx.shape, g.dtype) if out is None else out
        if data_format == "NCHW":
            n, c = g.shape[:2]
            res.reshape(n, c, -1)[...] = xp.take_along_axis(g.reshape(n, c, -1), idx.reshape(n, c, -1), axis=-1)
        else:
            n, c = g.shape[0], g.shape[3]
            res.reshape(n, -1, c)[...] = xp.take_along_axis(g.reshape(n, -1, c), idx.reshape(n, -1, c), axis=1)
        return res

    def avg_pool2d(self, x: Any, kernel: Pair, stride: Pair, pads: Pads, count_include_pad: bool,
                   data_format: str = "NCHW", out: Any = None) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: avg_pool2d has no kernel")

    def avg_pool2d_grad(self, gy: Any, x_shape: Sequence[int], kernel: Pair, stride: Pair, pads: Pads,
                        count_include_pad: bool, data_format: str = "NCHW", out: Any = None) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: avg_pool2d_grad has no kernel")
