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
        self._adam = cp.ElementwiseKernel(
            "T g, T lr_t, T b1, T b2, T eps, T bc2_sqrt", "T w, T m, T v",
            "m = b1 * m + (1 - b1) * g; v = b2 * v + (1 - b2) * g * g; w -= lr_t * m / (sqrt(v) / bc2_sqrt + eps);",
            "dualflow_adam")
        self._adam_tf = cp.ElementwiseKernel(
            "T g, T lr_t, T b1, T b2, T eps", "T w, T m, T v",
            "m = b1 * m + (1 - b1) * g; v = b2 * v + (1 - b2) * g * g; w -= lr_t * m / (sqrt(v) + eps);",
            "dualflow_adam_tf")

    # ----- plumbing ---------------------------------------------------------------
    def asarray(self, data: Any, dtype: Any = None) -> Any:
        with self._dev:
            return self.xp.asarray(data, dtype=dtype)

    def to_host(self, a: Any) -> numpy.ndarray:
        return a.get() if hasattr(a, "get") else numpy.asarray(a)

    def synchronize(self) -> None:
        self._dev.synchronize()

    def index_add(self, target: Any, index: Any, values: Any) -> None:
        import cupyx
        cupyx.scatter_add(target, index, values)

    def _kernel(self, name: str, dtype: Any) -> Any:
        t = _TYPES.get(numpy.dtype(dtype))
        if t is None:
            raise TypeError(f"{name}: the CUDA kernel supports float32 and float64, got {dtype}")
        key = name.replace("T", t) if "<T" in name else f"{name}<{t}>"
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

    # ----- convolution ---------------------------------------------------------------
    def _dims(self, x_shape, w_shape, oh, ow, stride, pads, dilation) -> tuple:
        n, c, h, w = x_shape
        o, _, kh, kw = w_shape
        return self._ints(n, c, h, w, o, kh, kw, oh, ow, stride[0], stride[1], pads[0], pads[2], dilation[0],
                          dilation[1])

    def _gemm(self, mode: int, a: Any, b: Any, c: Any, dims: tuple, m: int, n: int, k: int,
              splits: int = 1) -> None:
        kern = self._kernel(f"conv_gemm<T,{mode}>", a.dtype)
        chunk = -(-k // splits)
        chunk = -(-chunk // 16) * 16
        splits = -(-k // chunk)
        grid = (-(-n // 64), -(-m // 64), splits)
        kern(grid, (256,), (a, b, c, *dims, numpy.int32(m), numpy.int32(n), numpy.int32(k), numpy.int32(chunk)))

    def conv2d(self, x: Any, w: Any, stride: Pair, pads: Pads, dilation: Pair) -> Any:
        x, w = self._c(x), self._c(w)
        n, c, h, wd = x.shape
        o, _, kh, kw = w.shape
        oh = conv_out_size(h, kh, stride[0], dilation[0], pads[0], pads[1])
        ow = conv_out_size(wd, kw, stride[1], dilation[1], pads[2], pads[3])
        y = self._out((n, o, oh, ow), x.dtype)
        self._gemm(0, x, w, y, self._dims(x.shape, w.shape, oh, ow, stride, pads, dilation), n * oh * ow, o,
                   c * kh * kw)
        return y

    def conv2d_grad_input(self, gy: Any, w: Any, x_shape: Sequence[int], stride: Pair, pads: Pads,
                          dilation: Pair) -> Any:
        gy, w = self._c(gy), self._c(w)
        n, c, h, wd = x_shape
        o, _, kh, kw = w.shape
        gx = self._out(tuple(x_shape), gy.dtype)
        self._gemm(1, gy, w, gx, self._dims(x_shape, w.shape, gy.shape[2], gy.shape[3], stride, pads, dilation),
                   n * h * wd, c, o * kh * kw)
        return gx

    def conv2d_grad_weight(self, x: Any, gy: Any, w_shape: Sequence[int], stride: Pair, pads: Pads,
                           dilation: Pair) -> Any:
        x, gy = self._c(x), self._c(gy)
        n = x.shape[0]
        o, c, kh, kw = w_shape
        oh, ow = gy.shape[2:]
        k = n * oh * ow
        ckk = c * kh * kw
        # Enough k-splits to fill the GPU; each block writes a partial sum that one reduction adds up.
        tiles = -(-o // 64) * -(-ckk // 64)
        splits = max(1, min(-(-k // 256), -(-264 // tiles)))
        chunk = -(-(-(-k // splits)) // 16) * 16
        splits = -(-k // chunk)
        part = self._out((splits, o, ckk), x.dtype)
        self._gemm(2, gy, x, part, self._dims(x.shape, w_shape, oh, ow, stride, pads, dilation), o, ckk, k, splits)
        return part.sum(axis=0).reshape(tuple(w_shape)) if splits > 1 else part[0].reshape(tuple(w_shape))

    # ----- pooling -------------------------------------------------------------------
    def _launch(self, name: str, dtype: Any, total: int, args: tuple) -> None:
        self._kernel(name, dtype)((-(-total // 256),), (256,), args)

    @staticmethod
    def _ints(*v: int) -> tuple:
        return tuple(numpy.int32(i) for i in v)

    def max_pool2d(self, x: Any, kernel: Pair, stride: Pair, pads: Pads) -> tuple[Any, Any]:
        x = self._c(x)
        n, c, h, w = x.shape
        oh = conv_out_size(h, kernel[0], stride[0], 1, pads[0], pads[1])
        ow = conv_out_size(w, kernel[1], stride[1], 1, pads[2], pads[3])
        y = self._out((n, c, oh, ow), x.dtype)
        idx = self.xp.empty((n, c, oh, ow), dtype=numpy.int32)
        total = y.size
        self._launch("max_pool_fwd", x.dtype, total, (x, y, idx, numpy.int64(total)) + self._ints(
            h, w, oh, ow, kernel[0], kernel[1], stride[0], stride[1], pads[0], pads[2]))
        return y, idx

    def max_pool2d_grad(self, gy: Any, idx: Any, x_shape: Sequence[int], kernel: Pair, stride: Pair,
                        pads: Pads) -> Any:
        gy = self._c(gy)
        n, c, h, w = x_shape
        oh, ow = gy.shape[2:]
        gx = self._out(tuple(x_shape), gy.dtype)
        total = gx.size
        self._launch("max_pool_bwd", gy.dtype, total, (gy, self._c(idx), gx, numpy.int64(total)) + self._ints(
            h, w, oh, ow, kernel[0], kernel[1], stride[0], stride[1], pads[0], pads[2]))
        return gx

    def avg_pool2d(self, x: Any, kernel: Pair, stride: Pair, pads: Pads, count_include_pad: bool) -> Any:
        x = self._c(x)
        n, c, h, w = x.shape
        oh = conv_out_size(h, kernel[0], stride[0], 1, pads[0], pads[1])
        ow = conv_out_size(w, kernel[1], stride[1], 1, pads[2], pads[3])
        y = self._out((n, c, oh, ow), x.dtype)
        total = y.size
        self._launch("avg_pool_fwd", x.dtype, total, (x, y, numpy.int64(total)) + self._ints(
            h, w, oh, ow, kernel[0], kernel[1], stride[0], stride[1], pads[0], pads[2], int(count_include_pad)))
        return y

    def avg_pool2d_grad(self, gy: Any, x_shape: Sequence[int], kernel: Pair, stride: Pair, pads: Pads,
                        count_include_pad: bool) -> Any:
        gy = self._c(gy)
        n, c, h, w = x_shape
        oh, ow = gy.shape[2:]
        gx = self._out(tuple(x_shape), gy.dtype)
        total = gx.size
        self._launch("avg_pool_bwd", gy.dtype, total, (gy, gx, numpy.int64(total)) + self._ints(
            h, w, oh, ow, kernel[0], kernel[1], stride[0], stride[1], pads[0], pads[2], int(count_include_pad)))
        return gx

    # ----- optimizers ------------------------------------------------------------------
    def adam_update(self, w, g, m, v, lr, b1, b2, eps, step):
        t = w.dtype.type
        self._adam(g, t(lr / (1 - b1 ** step)), t(b1), t(b2), t(eps), t((1 - b2 ** step) ** 0.5), w, m, v)

    def adam_update_tf(self, w, g, m, v, lr, b1, b2, eps, step):
        t = w.dtype.type
        self._adam_tf(g, t(lr * (1 - b2 ** step) ** 0.5 / (1 - b1 ** step)), t(b1), t(b2), t(eps), w, m, v)
