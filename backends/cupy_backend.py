"""The GPU backend: CuPy arrays, with conv and pooling as dualflow's own CUDA kernels (backends/cuda/*.cu).

Kernels are compiled once per process with ``cupy.RawModule`` (CuPy's on-disk
cache keeps them across runs).  Everything else runs through CuPy's NumPy API.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy

from backends import cuda_status
from backends.base import ArrayBackend, Pads, Pair, conv_out_size

_DIR = os.path.join(os.path.dirname(__file__), "cuda")
_TYPES = {numpy.dtype("float32"): "float", numpy.dtype("float64"): "double"}


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class CupyBackend(ArrayBackend):
    name = "cuda"

    def __init__(self, device: Any, index: int) -> None:
        cp = cuda_status.cupy_module()
        super().__init__(cp, device)
        self.index = index
        self._dev = cp.cuda.Device(index)
        self._dev.use()
        # Tests set DUALFLOW_POISON=1 so kernel outputs start as NaN and unwritten elements show up.
        self.poison = os.environ.get("DUALFLOW_POISON") == "1"
        names = []
        for t in _TYPES.values():
            names += [f"conv_gemm<{t},{m}>" for m in range(3)]
            names += [f"{k}<{t}>" for k in ("max_pool_fwd", "max_pool_bwd", "avg_pool_fwd", "avg_pool_bwd")]
        src = "\n".join(open(os.path.join(_DIR, f)).read() for f in ("conv.cu", "pool.cu"))
        self._module = cp.RawModule(code=src, options=("-std=c++17",), name_expressions=names)
        self._kernels: dict[str, Any] = {}
        # PyTorch's Adam as its CPU step rounds it (core.ops.optim.Adam): lerp and addcmul fused.
        self._adam = cp.ElementwiseKernel(
            "T g, T lr_t, T coeff, bool small, T b2, T omb2, T eps, T bc2_sqrt", "T w, T m, T v",
            "m = fma(coeff, g - m, small ? m : g); v = fma(omb2 * g, g, v * b2); "
            "w += (-lr_t * m) / (sqrt(v) / bc2_sqrt + eps);",
            "dualflow_adam")
        self._fma = cp.ElementwiseKernel("T x, T alpha, T c", "T out", "out = fma(x, alpha, c);", "dualflow_fma")
        # TF1's and Keras' Adam (core.ops.optim.AdamPowers), their operations in their order.
        self._adam_powers = cp.ElementwiseKernel(
            "T g, T omb1, T omb2, T alpha, T eps", "T w, T m, T v",
            "m += (g - m) * omb1; v += (g * g - v) * omb2; w -= (m * alpha) / (sqrt(v) + eps);",
            "dualflow_adam_powers")

    # ----- plumbing ---------------------------------------------------------------
    def asarray(self, data: Any, dtype: Any = None) -> Any:
        with self._dev:
            return self.xp.asarray(data, dtype=dtype)

    def to_host(self, a: Any) -> numpy.ndarray:
        return a.get() if hasattr(a, "get") else numpy.asarray(a)

    def synchronize(self) -> None:
        self._dev.synchronize()

    def erf(self, x: Any) -> Any:
        from cupyx.scipy import special
        return special.erf(x)

    def check_indices(self, idx: Any, bound: int, what: str) -> Any:
        # Reading a verdict back to the host would stall the stream every step (PyTorch asserts on the
        # device instead); the caller poisons the invalid entries with NaN.
        return (idx >= 0) & (idx < bound)

    def check_within(self, x: Any, lo: float, hi: float, what: str) -> None:
        # As check_indices: no verdict read back each step; the caller's kernel gives NaN for such values.
        return None

    def check_nonzero(self, y: Any, what: str) -> None:
        # As check_indices: no verdict read back each step (an integer division by zero gives CuPy's 0).
        return None

    def index_add(self, target: Any, index: Any, values: Any) -> None:
        import cupyx
        cupyx.scatter_add(target, index, values)

    def index_reduce(self, target: Any, index: Any, values: Any, kind: str) -> None:
        import cupyx
        if kind == "prod":      # cupyx has no scatter product
            raise NotImplementedError("segment products are not implemented on CUDA in dualflow")
        (cupyx.scatter_max if kind == "max" else cupyx.scatter_min)(target, index, values)

    def linalg_checked(self) -> Any:
        # CuPy leaves a failed factorization's garbage in place unless asked: checking reads LAPACK's info back
        # to the host (a wait), as PyTorch's and TF's GPU kernels for inv, solve and cholesky do.
        import cupyx
        return cupyx.errstate(linalg="raise")

    def solve_triangular(self, a: Any, b: Any, lower: bool, unit_diagonal: bool) -> Any:
        from cupyx.scipy import linalg     # cuBLAS trsm, batched
        return linalg.solve_triangular(a, b, lower=lower, unit_diagonal=unit_diagonal)

    def _kernel(self, name: str, dtype: Any, mode: int | None = None) -> Any:
        t = _TYPES.get(numpy.dtype(dtype))
        if t is None:
            raise TypeError(f"{name}: the CUDA kernel supports float32 and float64, got {dtype}")
        key = f"{name}<{t}>" if mode is None else f"{name}<{t},{mode}>"
        k = self._kernels.get(key)
        if k is None:
            k = self._kernels[key] = self._module.get_function(key)
        return k

    def _out(self, shape: Sequence[int], dtype: Any) -> Any:
        if self.poison:
            return self.xp.full(tuple(shape), numpy.nan, dtype=dtype)
        return self.xp.empty(tuple(shape), dtype=dtype)

    def _c(self, a: Any) -> Any:
        return self.xp.ascontiguousarray(a)

    @staticmethod
    def _ints(*v: int) -> tuple:
        return tuple(numpy.int32(i) for i in v)

    # ----- convolution ---------------------------------------------------------------
    def _gemm(self, mode: int, a: Any, b: Any, c: Any, x_shape: Sequence[int], w_shape: Sequence[int],
              out_hw: Sequence[int], stride: Pair, pads: Pads, dilation: Pair, m: int, n: int, k: int,
              k_chunk: int) -> None:
        """Launch conv_gemm<MODE>: an (m x n) result over a k-long reduction, k split in k_chunk pieces."""
        dims = self._ints(*x_shape, w_shape[0], *w_shape[2:], *out_hw, *stride, pads[0], pads[2], *dilation)
        grid = (_ceil_div(n, 64), _ceil_div(m, 64), _ceil_div(k, k_chunk))
        self._kernel("conv_gemm", a.dtype, mode)(grid, (256,), (a, b, c, *dims, *self._ints(m, n, k, k_chunk)))

    def _conv2d(self, x: Any, w: Any, stride: Pair, pads: Pads, dilation: Pair) -> Any:
        x, w = self._c(x), self._c(w)
        n, c, h, wd = x.shape
        o, _, kh, kw = w.shape
        oh = conv_out_size(h, kh, stride[0], dilation[0], pads[0], pads[1])
        ow = conv_out_size(wd, kw, stride[1], dilation[1], pads[2], pads[3])
        y = self._out((n, o, oh, ow), x.dtype)
        k = c * kh * kw
        self._gemm(0, x, w, y, x.shape, w.shape, (oh, ow), stride, pads, dilation, n * oh * ow, o, k, k)
        return y

    def _conv2d_grad_input(self, gy: Any, w: Any, x_shape: Sequence[int], stride: Pair, pads: Pads,
                           dilation: Pair) -> Any:
        gy, w = self._c(gy), self._c(w)
        n, c, h, wd = x_shape
        o, _, kh, kw = w.shape
        gx = self._out(tuple(x_shape), gy.dtype)
        k = o * kh * kw
        self._gemm(1, gy, w, gx, x_shape, w.shape, gy.shape[2:], stride, pads, dilation, n * h * wd, c, k, k)
        return gx

    def _conv2d_grad_weight(self, x: Any, gy: Any, w_shape: Sequence[int], stride: Pair, pads: Pads,
                            dilation: Pair) -> Any:
        x, gy = self._c(x), self._c(gy)
        o, c, kh, kw = w_shape
        k = x.shape[0] * gy.shape[2] * gy.shape[3]
        ckk = c * kh * kw
        # Split the long reduction so there are enough blocks to fill the GPU (~264 = 2 per SM); each
        # block writes its own partial sum and one reduction adds them, instead of contended atomics.
        tiles = _ceil_div(o, 64) * _ceil_div(ckk, 64)
        want = max(1, min(_ceil_div(k, 256), _ceil_div(264, tiles)))
        chunk = _ceil_div(_ceil_div(k, want), 16) * 16
        part = self._out((_ceil_div(k, chunk), o, ckk), x.dtype)
        self._gemm(2, gy, x, part, x.shape, w_shape, gy.shape[2:], stride, pads, dilation, o, ckk, k, chunk)
        return (part[0] if len(part) == 1 else part.sum(axis=0)).reshape(tuple(w_shape))

    # The CUDA kernels are NCHW/OIHW and ungrouped.  NHWC runs them between two transposes inside the call,
    # and groups run group by group on channel slices: correct, not fast (a native NHWC/grouped kernel is
    # future work).
    def _nchw(self, a: Any, fmt: str) -> Any:
        return a if fmt == "NCHW" else a.transpose(0, 3, 1, 2)

    def _from_nchw(self, a: Any, fmt: str, out: Any) -> Any:
        a = a if fmt == "NCHW" else a.transpose(0, 2, 3, 1)
        if out is None:
            return self._c(a)
        out[...] = a
        return out

    @staticmethod
    def _oihw(w: Any, fmt: str) -> Any:
        return w if fmt == "NCHW" else w.transpose(3, 2, 0, 1)

    @staticmethod
    def _shape_nchw(shape: Sequence[int], fmt: str, weight: bool = False) -> tuple:
        if fmt == "NCHW":
            return tuple(shape)
        return (shape[3], shape[2], shape[0], shape[1]) if weight else (shape[0], shape[3], shape[1], shape[2])

    def conv2d(self, x: Any, w: Any, stride: Pair, pads: Pads, dilation: Pair, groups: int = 1,
               data_format: str = "NCHW", out: Any = None) -> Any:
        x, w = self._nchw(x, data_format), self._oihw(w, data_format)
        cg, og = w.shape[1], w.shape[0] // groups
        y = self._conv2d(x, w, stride, pads, dilation) if groups == 1 else self.xp.concatenate(
            [self._conv2d(x[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og], stride, pads, dilation)
             for g in range(groups)], axis=1)
        return self._from_nchw(y, data_format, out)

    def conv2d_grad_input(self, gy: Any, w: Any, x_shape: Sequence[int], stride: Pair, pads: Pads, dilation: Pair,
                          groups: int = 1, data_format: str = "NCHW", out: Any = None) -> Any:
        gy, w = self._nchw(gy, data_format), self._oihw(w, data_format)
        x_shape = self._shape_nchw(x_shape, data_format)
        cg, og = w.shape[1], w.shape[0] // groups
        xs = (x_shape[0], cg) + tuple(x_shape[2:])
        gx = self._conv2d_grad_input(gy, w, x_shape, stride, pads, dilation) if groups == 1 else self.xp.concatenate(
            [self._conv2d_grad_input(gy[:, g * og:(g + 1) * og], w[g * og:(g + 1) * og], xs, stride, pads, dilation)
             for g in range(groups)], axis=1)
        return self._from_nchw(gx, data_format, out)

    def conv2d_grad_weight(self, x: Any, gy: Any, w_shape: Sequence[int], stride: Pair, pads: Pads, dilation: Pair,
                           groups: int = 1, data_format: str = "NCHW", out: Any = None) -> Any:
        x, gy = self._nchw(x, data_format), self._nchw(gy, data_format)
        w_shape = self._shape_nchw(w_shape, data_format, weight=True)
        cg, og = w_shape[1], w_shape[0] // groups
        ws = (og,) + tuple(w_shape[1:])
        gw = self._conv2d_grad_weight(x, gy, w_shape, stride, pads, dilation) if groups == 1 else self.xp.concatenate(
            [self._conv2d_grad_weight(x[:, g * cg:(g + 1) * cg], gy[:, g * og:(g + 1) * og], ws, stride, pads,
                                      dilation) for g in range(groups)], axis=0)
        gw = gw if data_format == "NCHW" else gw.transpose(2, 3, 1, 0)
        if out is None:
            return self._c(gw)
        out[...] = gw
        return out

    # ----- pooling -------------------------------------------------------------------
    def _pool(self, name: str, arrays: tuple, total: int, in_hw: Sequence[int], out_hw: Sequence[int],
              kernel: Pair, stride: Pair, pads: Pads, *extra: int) -> None:
        """One thread per element of the array being written (``total`` of them)."""
        args = arrays + (numpy.int64(total),) + self._ints(*in_hw, *out_hw, *kernel, *stride, pads[0], pads[2],
                                                           *extra)
        self._kernel(name, arrays[0].dtype)((_ceil_div(total, 256),), (256,), args)

    def _pooled(self, x: Any, kernel: Pair, stride: Pair, pads: Pads) -> tuple[int, int]:
        return (conv_out_size(x.shape[2], kernel[0], stride[0], 1, pads[0], pads[1]),
                conv_out_size(x.shape[3], kernel[1], stride[1], 1, pads[2], pads[3]))

    def _max_pool2d(self, x: Any, kernel: Pair, stride: Pair, pads: Pads) -> tuple[Any, Any]:
        x = self._c(x)
        out_hw = self._pooled(x, kernel, stride, pads)
        y = self._out(x.shape[:2] + out_hw, x.dtype)
        idx = self.xp.empty(y.shape, dtype=numpy.int32)
        self._pool("max_pool_fwd", (x, y, idx), y.size, x.shape[2:], out_hw, kernel, stride, pads)
        return y, idx

    def _max_pool2d_grad(self, gy: Any, idx: Any, x_shape: Sequence[int], kernel: Pair, stride: Pair,
                        pads: Pads) -> Any:
        gx = self._out(tuple(x_shape), gy.dtype)
        self._pool("max_pool_bwd", (self._c(gy), self._c(idx), gx), gx.size, x_shape[2:], gy.shape[2:], kernel,
                   stride, pads)
        return gx

    def _avg_pool2d(self, x: Any, kernel: Pair, stride: Pair, pads: Pads, count_include_pad: bool) -> Any:
        x = self._c(x)
        out_hw = self._pooled(x, kernel, stride, pads)
        y = self._out(x.shape[:2] + out_hw, x.dtype)
        self._pool("avg_pool_fwd", (x, y), y.size, x.shape[2:], out_hw, kernel, stride, pads, int(count_include_pad))
        return y

    def _avg_pool2d_grad(self, gy: Any, x_shape: Sequence[int], kernel: Pair, stride: Pair, pads: Pads,
                        count_include_pad: bool) -> Any:
        gx = self._out(tuple(x_shape), gy.dtype)
        self._pool("avg_pool_bwd", (self._c(gy), gx), gx.size, x_shape[2:], gy.shape[2:], kernel, stride, pads,
                   int(count_include_pad))
        return gx

    def max_pool2d(self, x: Any, kernel: Pair, stride: Pair, pads: Pads, data_format: str = "NCHW",
                   out: Any = None) -> tuple[Any, Any]:
        y, idx = self._max_pool2d(self._nchw(x, data_format), kernel, stride, pads)
        return (self._from_nchw(y, data_format, None if out is None else out[0]),
                self._from_nchw(idx, data_format, None if out is None else out[1]))

    def max_pool2d_grad(self, gy: Any, idx: Any, x_shape: Sequence[int], kernel: Pair, stride: Pair, pads: Pads,
                        data_format: str = "NCHW", out: Any = None) -> Any:
        gx = self._max_pool2d_grad(self._nchw(gy, data_format), self._nchw(idx, data_format),
                                   self._shape_nchw(x_shape, data_format), kernel, stride, pads)
        return self._from_nchw(gx, data_format, out)

    def avg_pool2d(self, x: Any, kernel: Pair, stride: Pair, pads: Pads, count_include_pad: bool,
                   data_format: str = "NCHW", out: Any = None) -> Any:
        y = self._avg_pool2d(self._nchw(x, data_format), kernel, stride, pads, count_include_pad)
        return self._from_nchw(y, data_format, out)

    def avg_pool2d_grad(self, gy: Any, x_shape: Sequence[int], kernel: Pair, stride: Pair, pads: Pads,
                        count_include_pad: bool, data_format: str = "NCHW", out: Any = None) -> Any:
        gx = self._avg_pool2d_grad(self._nchw(gy, data_format), self._shape_nchw(x_shape, data_format), kernel,
                                   stride, pads, count_include_pad)
        return self._from_nchw(gx, data_format, out)

    # ----- optimizers: Adam as one kernel (core/ops/optim.py runs the same formula as array code elsewhere) --
    def fused_adam(self, w, g, m, v, b1, b2, eps, rate, unbias):
        # rate and unbias are Python floats (a host step count) or 0-d arrays in w's dtype computed on the
        # device (a static Program's count): read by the kernel from device memory, so a captured step
        # replays with the count's current value.  float16 keeps the NumPy-style path: CUDA's fma has no half
        # overload.
        if w.dtype.itemsize < 4:
            return False
        t = w.dtype.type

        def arg(c):
            return c if hasattr(c, "dtype") else t(c)
        weight = t(1 - b1)
        small = bool(abs(weight) < 0.5)
        self._adam(g, arg(rate), weight if small else weight - t(1), small, t(b2), t(1 - b2), t(eps), arg(unbias),
                   w, m, v)

    def fma(self, x, alpha, c, out):
        # CUDA's fma for float32 and float64; float16 through the base class's float64 path.
        if x.dtype.itemsize < 4:
            return super().fma(x, alpha, c, out)
        self._fma(x, alpha if hasattr(alpha, "shape") else x.dtype.type(alpha), c, out)
        return out

    def fused_adam_powers(self, w, g, m, v, omb1, omb2, alpha, eps):
        # alpha is a 0-d array on the device (from the beta powers or the count), read by the kernel there.
        t = w.dtype.type
        self._adam_powers(g, t(omb1), t(omb2), alpha if hasattr(alpha, "dtype") else t(alpha), t(eps), w, m, v)
