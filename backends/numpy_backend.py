"""The CPU backend: NumPy arrays; conv, pooling and batch norm as ``numpy_kernels`` (GEMMs over reused
column buffers, strided views for pooling)."""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy

from backends import numba_kernels, numpy_kernels, philox, threads
from backends.base import ArrayBackend


class NumpyBackend(ArrayBackend):
    name = "cpu"

    conv2d = staticmethod(numpy_kernels.conv2d)
    conv2d_grad_input = staticmethod(numpy_kernels.conv2d_grad_input)
    conv2d_grad_weight = staticmethod(numpy_kernels.conv2d_grad_weight)
    max_pool2d = staticmethod(numpy_kernels.max_pool2d)
    max_pool2d_grad = staticmethod(numpy_kernels.max_pool2d_grad)
    max_pool2d_grad_masked = staticmethod(numpy_kernels.max_pool2d_grad_masked)
    avg_pool2d = staticmethod(numpy_kernels.avg_pool2d)
    avg_pool2d_grad = staticmethod(numpy_kernels.avg_pool2d_grad)
    # The same kernels as (run, result) with every choice made, to bind to a planned step's arrays (``prepared``).
    conv2d_call = staticmethod(numpy_kernels.conv2d_call)
    conv2d_grad_input_call = staticmethod(numpy_kernels.conv2d_grad_input_call)
    conv2d_grad_weight_call = staticmethod(numpy_kernels.conv2d_grad_weight_call)
    max_pool2d_call = staticmethod(numpy_kernels.max_pool2d_call)
    max_pool2d_grad_call = staticmethod(numpy_kernels.max_pool2d_grad_call)
    max_pool2d_grad_masked_call = staticmethod(numpy_kernels.max_pool2d_grad_masked_call)
    prepared = staticmethod(numpy_kernels.Prepared)
    kernel_settings = staticmethod(numpy_kernels.settings)     # a planned run's check (``core.straightline``)

    def __init__(self, device: Any) -> None:
        super().__init__(numpy, device)

    def empty_result(self, operands: Sequence[Any], dtype: Any) -> numpy.ndarray:
        """As the base class; NumPy lays a ufunc's result out in its iterator's "K" order, the operands' common
        memory order (a broadcast operand's zero strides count too), which is the order ``nditer`` allocates
        in."""
        self.allocations += 1
        n = len(operands)
        it = numpy.nditer(list(operands) + [None], flags=["zerosize_ok", "refs_ok"],
                          op_flags=[["readonly"]] * n + [["writeonly", "allocate"]],
                          op_dtypes=[None] * n + [numpy.dtype(dtype)], order="K", casting="unsafe")
        return it.operands[n]

    def matmul(self, a: Any, b: Any, out: Any = None) -> Any:
        """``a @ b``; a 2-D float product with one column in ``a`` (a dense layer's weight gradient at batch 1)
        as the outer product it is: NumPy's matmul takes ~2 ns a result there (66 us for 3136 x 10), a
        broadcast multiply ~1.5 (its inner loops are the short rows) and numba's loop ~0.3.  Each result is
        one rounded product either way; adding 0.0 turns the product's -0.0 into matmul's +0.0 (its sum
        starts at +0.0), so the bits are matmul's."""
        if out is None:
            if not self._outer(a, b):
                with threads.gemm_threads(self._gemm_flops(a, b)):
                    return numpy.matmul(a, b)
            out = numpy.empty((a.shape[0], b.shape[1]), a.dtype)
        self.matmul_call(a, b, out)()
        return out

    def matmul_call(self, a: Any, b: Any, out: Any) -> Callable[[], Any]:
        """``matmul`` into ``out`` as a function of no arguments (for a planned step, which passes the same
        arrays at every run)."""
        if self._outer(a, b):
            run = numba_kernels.outer_call(a, b, out)
            if run is not None:
                return run
            zero = out.dtype.type(0)
            return lambda: numpy.add(numpy.multiply(a, b, out=out), zero, out=out)
        # BLAS threads only for a product large enough (``backends.threads``): OpenBLAS's worker, once woken
        # by a small one (a dense layer's 8 MFLOP at batch 128), spins for a long while after it, and took
        # the second core from every other kernel of the seed CNN's step (2 threads were no faster than 1).
        return threads.within(self._gemm_flops(a, b), functools.partial(numpy.matmul, a, b, out=out))

    @staticmethod
    def _outer(a: Any, b: Any) -> bool:
        return (a.ndim == 2 and b.ndim == 2 and a.shape[1] == 1 and b.shape[0] == 1 and a.dtype.char in "fd"
                and b.dtype == a.dtype)

    @staticmethod
    def _gemm_flops(a: Any, b: Any) -> float:
        m, n = (a.shape[-2] if a.ndim > 1 else 1), (b.shape[-1] if b.ndim > 1 else 1)
        return 2.0 * max(a.size * n, b.size * m)

    def random_uniform(self, shape: Sequence[int], dtype: Any, state: Any) -> Any:
        """The base class's Philox uniforms, bit for bit, in one compiled loop where numba applies (about 40x
        fewer passes over memory than the vectorized rounds)."""
        if numba_kernels.usable(dtype):
            philox.check_state(state)
            out = self.empty(tuple(shape), dtype)
            numba_kernels.uniform(state, out)
            return out
        return super().random_uniform(shape, dtype, state)

    def relu(self, x: Any, out: Any = None) -> Any:
        """numba's one-pass ReLU where it applies (``backends/numba_kernels.py``), else NumPy's maximum."""
        if numba_kernels.applies(x, out=out):
            out = self.empty_like(x, x.dtype) if out is None else out
            numba_kernels.relu(x, out)
            return out
        return super().relu(x, out)

    def bias_relu(self, x: Any, b: Any, axis: int, out: Any = None) -> Any:
        if self._compiled_bias_relu(x, b, axis, out):
            out = self.empty_like(x, x.dtype) if out is None else out
            numba_kernels.bias_relu_call(x, b, axis, out)()
            return out
        return super().bias_relu(x, b, axis, out)

    def bias_relu_call(self, x: Any, b: Any, axis: int, out: Any) -> Callable[[], Any]:
        if self._compiled_bias_relu(x, b, axis, out):
            return numba_kernels.bias_relu_call(x, b, axis, out)
        return super().bias_relu_call(x, b, axis, out)

    @staticmethod
    def _compiled_bias_relu(x: Any, b: Any, axis: int, out: Any) -> bool:
        return (numba_kernels.applies(x, out=out) and b.dtype == x.dtype and b.ndim == 1
                and b.shape[0] == x.shape[axis])

    def fma(self, x: Any, alpha: Any, c: Any, out: Any) -> Any:
        """One compiled fused multiply-add pass where it applies (``numba_kernels.fma``), else the base class's."""
        if numba_kernels.fma(x, alpha, c, out):
            return out
        return super().fma(x, alpha, c, out)

    def sparse_softmax_cross_entropy(self, z: Any, labels: Any, smoothing: float, ignore_index: int | None,
                                     reduction: str, out: tuple | None = None) -> tuple[Any, Any]:
        """Class indices without smoothing or ignored rows (a classifier's usual loss) in one compiled pass
        (``numba_kernels.sparse_xent``) where it applies: the base class's twenty NumPy calls took ~100 us of
        a batch-1 training step.  Its sums run in order and its exp and log are libm's, so the last bit may
        differ from the base class's (NumPy's pairwise sums and SIMD exp), as each framework's does.  An
        ``ignore_index`` no label equals (PyTorch's default -100, in almost every batch) ignores nothing: the
        loss is the plain one (the mean over all rows), so it takes the compiled pass too."""
        if ignore_index is not None and labels.dtype.kind in "iu" and not (labels == ignore_index).any():
            ignore_index = None
        if not self._compiled_xent(z, labels, smoothing, ignore_index, out):
            return super().sparse_softmax_cross_entropy(z, labels, smoothing, ignore_index, reduction, out)
        n = z.shape[0]
        out = out if out is not None else (
            numpy.empty((n,) if reduction == "none" else (), z.dtype), numpy.empty(z.shape, z.dtype))
        self.sparse_softmax_cross_entropy_call(z, labels, smoothing, ignore_index, reduction, out)()
        return out

    def sparse_softmax_cross_entropy_call(self, z: Any, labels: Any, smoothing: float, ignore_index: int | None,
                                          reduction: str, out: tuple) -> Callable[[], Any]:
        """``sparse_softmax_cross_entropy`` into ``out`` (loss, backprop) as a function of no arguments (for a
        planned step, which passes the same arrays at every run)."""
        if not self._compiled_xent(z, labels, smoothing, ignore_index, out):
            return functools.partial(super().sparse_softmax_cross_entropy, z, labels, smoothing, ignore_index,
                                     reduction, out)
        loss, backprop = out
        rows = loss if reduction == "none" else self.scratch(("xent", "rows"), (z.shape[0],), z.dtype)
        kernel = numba_kernels.sparse_xent_call(z, labels, rows, backprop)

        def run() -> None:
            if kernel() >= 0:       # a label out of range: raise as NumPy's
                self.check_indices(labels, z.shape[1], "SparseSoftmaxCrossEntropyWithLogits: argument 'labels'")
            if rows is not loss:
                self.reduce_cross_entropy(rows, loss, backprop, reduction)
        return run

    @staticmethod
    def _compiled_xent(z: Any, labels: Any, smoothing: float, ignore_index: int | None, out: tuple | None) -> bool:
        return not (smoothing or ignore_index is not None or labels.dtype.kind not in "iu" or not z.flags.c_contiguous
                    or not numba_kernels.usable(z.dtype) or (out is not None and not out[1].flags.c_contiguous))

    def erf(self, x: Any) -> Any:
        """``math.erf`` per element in one compiled loop where it applies, else the base class's."""
        if numba_kernels.applies(x):
            out = self.empty_like(x, x.dtype)
            numba_kernels.erf(x, out)
            return out
        return super().erf(x)

    def sum_call(self, x: Any, axes: tuple, keepdims: bool, out: Any) -> Callable[[], Any]:
        """The ufunc's reduce itself (``ndarray.sum`` calls a Python function that calls it: ~0.6 us); a float
        sum over axes of length 1 only is ``x + 0`` into ``out`` (the sum starts at +0.0, so a -0.0 comes out
        +0.0 there too).  Hot, a batch-1 step's dense-layer bias gradient 1.5 -> 0.85 us, its loss mean (with
        ``Mean``'s division by 1 gone) 2.9 -> 0.8."""
        if (out is not None and x.dtype.kind == "f" and out.dtype == x.dtype and out.size == x.size
                and all(x.shape[a] == 1 for a in axes)):
            return functools.partial(numpy.add, x.reshape(out.shape), x.dtype.type(0), out=out)
        return functools.partial(numpy.add.reduce, x, axes, None, out, keepdims)

    def plane_sums(self, x: Any, out: Any = None) -> Any:
        """In one compiled pass where it applies (``numba_kernels.plane_sums``: a batch-1 convolution's bias
        gradient took NumPy ~10 us for 32 planes of 784 values, ~2 this way), else the base class's."""
        if self._compiled_sums(x, out):
            out = numpy.empty(x.shape[:1], x.dtype) if out is None else out
            numba_kernels.plane_sums_call(x.reshape(x.shape[0], -1), out)()
            return out
        return super().plane_sums(x, out)

    def plane_sums_call(self, x: Any, out: Any) -> Callable[[], Any]:
        if self._compiled_sums(x, out):
            return numba_kernels.plane_sums_call(x.reshape(x.shape[0], -1), out)
        return super().plane_sums_call(x, out)

    @staticmethod
    def _compiled_sums(x: Any, out: Any) -> bool:
        return (x.ndim >= 2 and x.flags.c_contiguous and numba_kernels.usable(x.dtype)
                and (out is None or (out.dtype == x.dtype and out.shape == x.shape[:1] and out.flags.c_contiguous)))

    def relu_grad(self, g: Any, y: Any, select: bool = False) -> Any:
        """PyTorch's rule (``select``) in one compiled pass where it applies, else the base class's."""
        if select and numba_kernels.applies(g, y):
            out = self.empty_like(g, g.dtype)
            numba_kernels.relu_grad_select(g, y, out)
            return out
        return super().relu_grad(g, y, select)

    def fused_adam(self, w: Any, g: Any, m: Any, v: Any, b1: float, b2: float, eps: float, rate: Any,
                   unbias: Any) -> bool:
        """PyTorch's Adam step in one compiled pass where it applies (``numba_kernels.adam``), else False."""
        return numba_kernels.adam(w, g, m, v, b1, b2, eps, rate, unbias)

    def fused_adam_powers(self, w: Any, g: Any, m: Any, v: Any, omb1: Any, omb2: Any, alpha: Any, eps: Any) -> bool:
        """TF1's and Keras' Adam step in one compiled pass where it applies (``numba_kernels.adam_powers``), else
        False."""
        return numba_kernels.adam_powers(w, g, m, v, omb1, omb2, alpha, eps)

    def fused_adam_powers_call(self, w: Any, g: Any, m: Any, v: Any) -> Callable[[Any, Any, Any, Any], None] | None:
        """``fused_adam_powers`` on these arrays as a function of its scalars (omb1, omb2, alpha, eps, in the
        arrays' dtype), for a flat update that runs on the same buffers at every step; None where it does not
        apply."""
        return numba_kernels.adam_powers_call(w, g, m, v)

    # Batch norm's channels are independent: large ones split over the kernels' threads by channel.
    @staticmethod
    def _channel_axis(x: Any, axes: Sequence[int]) -> int | None:
        kept = [a for a in range(x.ndim) if a not in {b % x.ndim for b in axes}]
        return kept[0] if len(kept) == 1 else None

    def batch_norm_train(self, x: Any, gamma: Any, beta: Any, axes: Sequence[int], eps: float,
                         out: Any = None) -> tuple[Any, Any, Any]:
        return self._by_channel(ArrayBackend.batch_norm_train, x, gamma, (x, gamma, beta), axes, eps, out)

    def batch_norm_train_grad(self, gy: Any, x: Any, gamma: Any, mean: Any, var: Any, axes: Sequence[int],
                              eps: float, out: Any = None) -> tuple[Any, Any, Any]:
        return self._by_channel(ArrayBackend.batch_norm_train_grad, x, gamma, (gy, x, gamma, mean, var), axes, eps,
                                out)

    def _by_channel(self, kernel: Any, x: Any, gamma: Any, arrays: tuple, axes: Sequence[int], eps: float,
                    out: Any) -> tuple[Any, Any, Any]:
        """The base-class batch-norm ``kernel`` over slices of the channel axis (every array in ``arrays`` is
        sliced there) on the kernels' threads; results: one like ``x``, two like ``gamma``."""
        c = self._channel_axis(x, axes)
        if c is None:
            return kernel(self, *arrays, axes, eps, out)
        res = out if out is not None else (numpy.empty_like(x), numpy.empty(gamma.shape, x.dtype),
                                           numpy.empty(gamma.shape, x.dtype))

        def part(lo: int, hi: int) -> None:
            s = (slice(None),) * c + (slice(lo, hi),)
            kernel(self, *[a[s] for a in arrays], axes, eps, tuple(r[s] for r in res))
        numpy_kernels.split_work(x.shape[c], x.size, part)
        return tuple(res)
