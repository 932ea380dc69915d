"""The backend contract and its array-module implementation.

Every kernel here is written once against ``self.xp`` (NumPy or CuPy), so the
CuPy backend only overrides the kernels it runs as its own CUDA code.  Conv
and pooling take explicit pads ``(top, bottom, left, right)``; the op library
resolves 'same'/'valid' before calling in.
"""
from __future__ import annotations

import math
import threading
from typing import Any, Sequence

import numpy

from backends.errors import IndexOutOfRange

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

    def mark_invalid(self, out: Any, valid: Any) -> Any:
        """``out`` with NaN where the mask from ``check_indices`` (broadcast against ``out``) is False.

        Integer results have no NaN and come back unmarked: the caller reads clamped indices there."""
        if valid is None or out.dtype.kind != "f":
            return out
        return self.xp.where(valid, out, out.dtype.type(numpy.nan))

    def index_add(self, target: Any, index: Any, values: Any) -> None:
        """target[index] += values, accumulating repeated indices."""
        self.xp.add.at(target, index, values)

    def scratch(self, shape: Sequence[int], dtype: Any, tag: str) -> Any:
        """A work buffer for a kernel's intermediate results: a view of one buffer per (tag, dtype) and thread,
        made (or grown) when a larger one is asked for, so a kernel allocates only on its first call and the
        pool holds no more than its largest request.  The contents are garbage on entry; ``tag`` keeps two
        kernels that may be live together apart."""
        pool = self._scratch.__dict__.setdefault("pool", {})
        k = (tag, numpy.dtype(dtype).str)
        n = math.prod(shape)
        flat = pool.get(k)
        if flat is None or flat.size < n:
            flat = pool[k] = self.empty((n,), dtype)
        return flat[:n].reshape(shape)

    @staticmethod
    def _exact(x: Any, *scalars: Any) -> bool:
        """Whether ``x (op) c`` stays in ``x``'s dtype for every scalar: then a kernel may work in scratch
        buffers of that dtype and round exactly where the plain expression rounds.  (A float64 array rate on
        float32 weights computes in float64; such calls take the plain expressions.)"""
        return all(numpy.result_type(x, c) == x.dtype for c in scalars)

    def adam_moments(self, g: Any, m: Any, v: Any, b1: float, b2: float) -> None:
        """In place: m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2 (in one scratch buffer)."""
        m *= b1
        v *= b2
        if not self._exact(g, b1, b2):
            m += (1 - b1) * g
            v += (1 - b2) * (g * g)
            return
        t = self.scratch(g.shape, g.dtype, "adam")
        self.xp.multiply(g, 1 - b1, out=t)
        m += t
        self.xp.multiply(g, g, out=t)
        t *= 1 - b2
        v += t

    def sgd_update(self, w: Any, g: Any, lr: Any) -> None:
        """In place: w <- w - lr * g."""
        if not self._exact(g, lr):
            w -= lr * g
            return
        t = self.scratch(g.shape, g.dtype, "sgd")
        self.xp.multiply(g, lr, out=t)
        w -= t

    def momentum_update(self, w: Any, g: Any, buf: Any, lr: float, decay: float, scale: float,
                        nesterov: float = 0.0, weight_decay: float = 0.0) -> None:
        """In place, with g' = g + weight_decay * w: buf <- decay * buf + scale * g';
        w <- w - lr * (g' + nesterov * buf if nesterov else buf).  Covers PyTorch's SGD and TF1's Momentum."""
        if weight_decay:
            g = g + weight_decay * w
        buf *= decay
        if not self._exact(g, lr, scale, nesterov):
            buf += scale * g if scale != 1 else g
            w -= lr * (g + nesterov * buf if nesterov else buf)
            return
        t = self.scratch(g.shape, g.dtype, "momentum")
        if scale != 1:
            self.xp.multiply(g, scale, out=t)
            buf += t
        else:
            buf += g
        if nesterov:
            self.xp.multiply(buf, nesterov, out=t)
            self.xp.add(g, t, out=t)
            t *= lr
        else:
            self.xp.multiply(buf, lr, out=t)
        w -= t

    def adam_update(self, w: Any, g: Any, m: Any, v: Any, lr: float, b1: float, b2: float, eps: float,
                    step: int) -> None:
        """In place: m, v <- moments of g; w <- w - lr * m_hat / (sqrt(v_hat) + eps) (PyTorch's placement)."""
        self.adam_moments(g, m, v, b1, b2)
        bc1 = 1 - b1 ** step
        bc2 = 1 - b2 ** step
        rate = lr / bc1
        if not self._exact(v, rate, bc2, eps):
            denom = self.xp.sqrt(v) / (bc2 ** 0.5)
            denom += eps
            w -= rate * (m / denom)
            return
        t = self.scratch(v.shape, v.dtype, "adam")
        self.xp.sqrt(v, out=t)
        t /= bc2 ** 0.5
        t += eps
        self.xp.divide(m, t, out=t)
        t *= rate
        w -= t

    def adam_update_tf(self, w: Any, g: Any, m: Any, v: Any, lr: float, b1: float, b2: float, eps: float,
                       step: int) -> None:
        """TF1/Keras Adam in place: w -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)."""
        self.adam_moments(g, m, v, b1, b2)
        lr_t = lr * (1 - b2 ** step) ** 0.5 / (1 - b1 ** step)
        if not self._exact(v, lr_t, eps):
            denom = self.xp.sqrt(v)
            denom += eps
            w -= lr_t * (m / denom)
            return
        t = self.scratch(v.shape, v.dtype, "adam")
        self.xp.sqrt(v, out=t)
        t += eps
        self.xp.divide(m, t, out=t)
        t *= lr_t
        w -= t

    # ----- fused pieces of gradients and losses -----------------------------------
    def erf(self, x: Any) -> Any:
        # NumPy has no erf; math.erf per element is exact (GELU inputs are activations, not huge arrays).
        return numpy.frompyfunc(math.erf, 1, 1)(x).astype(x.dtype)

    def relu_grad(self, g: Any, y: Any) -> Any:
        """``g`` where the ReLU output ``y`` is positive, else 0."""
        return g * (y > 0)

    def softmax_cross_entropy(self, z: Any, t: Any, keep: Any, reduction: str, sparse: bool = False
                              ) -> tuple[Any, Any]:
        """Cross-entropy of logits (N, C) against a target t (N, C), and its gradient with respect to z.

        ``keep`` (N, 1) bool or None masks rows out; 'mean' divides by the kept rows.  ``sparse``: t encodes
        class indices, so its zero entries are not read at all and a -inf (masked) logit there costs nothing,
        as in the class-index kernels of PyTorch and TensorFlow; a dense target gives 0 * -inf = NaN there,
        as theirs do.  The gradient is finite either way."""
        xp = self.xp
        zs = z - z.max(axis=1, keepdims=True)
        e = xp.exp(zs)
        se = e.sum(axis=1, keepdims=True)
        tsum = t.sum(axis=1, keepdims=True)
        read = xp.where(t != 0, zs, z.dtype.type(0)) if sparse else zs
        loss = (xp.log(se) * tsum - (t * read).sum(axis=1, keepdims=True))[:, 0]     # -sum_j t_j log p_j
        backprop = e * (tsum / se) - t
        if keep is not None:
            loss = xp.where(keep[:, 0], loss, 0)
            backprop = xp.where(keep, backprop, 0)
        if reduction != "none":
            loss = loss.sum()
        if reduction == "mean":
            n = keep.sum(dtype=z.dtype) if keep is not None else z.dtype.type(z.shape[0])
            loss = loss / n
            backprop /= n
        return xp.asarray(loss, dtype=z.dtype), backprop.astype(z.dtype, copy=False)

    def sparse_target(self, labels: Any, classes: int, dtype: Any, smoothing: float,
                      ignore_index: int | None) -> tuple[Any, Any]:
        """The smoothed one-hot target (N, C) of class indices, and the kept rows (N, 1) or None."""
        xp = self.xp
        dtype = numpy.dtype(dtype)
        keep = None
        if ignore_index is not None:
            keep = (labels != ignore_index)[:, None]
            labels = xp.where(keep[:, 0], labels, 0)
        valid = self.check_indices(labels, classes, "SparseSoftmaxCrossEntropyWithLogits: argument 'labels'")
        hit = labels[:, None] == xp.arange(classes)
        if not smoothing:
            t = hit.astype(dtype)
        else:
            t = xp.where(hit, dtype.type(1.0 - smoothing + smoothing / classes), dtype.type(smoothing / classes))
        if valid is not None:
            t = xp.where(valid[:, None], t, dtype.type(numpy.nan))
        return t, keep

    def sparse_softmax_cross_entropy(self, z: Any, labels: Any, smoothing: float, ignore_index: int | None,
                                     reduction: str) -> tuple[Any, Any]:
        """``softmax_cross_entropy`` against class indices (a GPU backend does it in one kernel)."""
        t, keep = self.sparse_target(labels, z.shape[1], z.dtype, smoothing, ignore_index)
        return self.softmax_cross_entropy(z, t, keep, reduction, sparse=True)

    # ----- helpers --------------------------------------------------------------
    def _pad(self, x: Any, pads: Pads, value: float) -> Any:
        if not any(pads):
            return self.xp.ascontiguousarray(x)
        t, b, l, r = pads
        n, c, h, w = x.shape
        # A filled buffer and one slice copy: xp.pad's generic per-axis machinery costs ~50 us a call.
        out = self.xp.full((n, c, h + t + b, w + l + r), value, dtype=x.dtype)
        out[:, :, t:t + h, l:l + w] = x
        return out

    def _windows(self, x: Any, kernel: Pair, stride: Pair, pads: Pads, dilation: Pair, value: float) -> Any:
        """Every window tap of the padded input as a strided view (N, C, KH, KW, OH, OW): no copy."""
        n, c, h, w = x.shape
        oh = conv_out_size(h, kernel[0], stride[0], dilation[0], pads[0], pads[1])
        ow = conv_out_size(w, kernel[1], stride[1], dilation[1], pads[2], pads[3])
        xp_ = self._pad(x, pads, value)
        sn, sc, sh, sw = xp_.strides
        return self.as_strided(xp_, (n, c, kernel[0], kernel[1], oh, ow),
                               (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1]))

    def _im2col(self, x: Any, kh: int, kw: int, stride: Pair, pads: Pads, dilation: Pair) -> tuple[Any, int, int]:
        """Columns (C*KH*KW, N*OH*OW), copied once from the window view."""
        win = self._windows(x, (kh, kw), stride, pads, dilation, 0)
        n, c, _, _, oh, ow = win.shape
        return win.transpose(1, 2, 3, 0, 4, 5).reshape(c * kh * kw, n * oh * ow), oh, ow

    # ----- convolution (NCHW input, OIHW weight) -------------------------------
    def conv2d(self, x: Any, w: Any, stride: Pair, pads: Pads, dilation: Pair) -> Any:
        o, _, kh, kw = w.shape
        n = x.shape[0]
        cols, oh, ow = self._im2col(x, kh, kw, stride, pads, dilation)
        y = w.reshape(o, -1) @ cols
        return y.reshape(o, n, oh, ow).transpose(1, 0, 2, 3)

    def conv2d_grad_weight(self, x: Any, gy: Any, w_shape: Sequence[int], stride: Pair, pads: Pads,
                           dilation: Pair) -> Any:
        o, _, kh, kw = w_shape
        cols, _, _ = self._im2col(x, kh, kw, stride, pads, dilation)
        gy2 = gy.transpose(1, 0, 2, 3).reshape(o, -1)
        return (gy2 @ cols.T).reshape(tuple(w_shape))

    def conv2d_grad_input(self, gy: Any, w: Any, x_shape: Sequence[int], stride: Pair, pads: Pads,
                          dilation: Pair) -> Any:
        o, c, kh, kw = w.shape
        n, _, h, wd = x_shape
        _, _, oh, ow = gy.shape
        dcols = w.reshape(o, -1).T @ gy.transpose(1, 0, 2, 3).reshape(o, -1)
        dcols = dcols.reshape(c, kh, kw, n, oh, ow).transpose(3, 0, 1, 2, 4, 5)
        dx = self._col2im(dcols, (n, c, h, wd), stride, pads, dilation)
        return dx

    def _col2im(self, cols: Any, x_shape: Sequence[int], stride: Pair, pads: Pads, dilation: Pair) -> Any:
        """Sum window contributions (N, C, KH, KW, OH, OW) back into an (N, C, H, W) image.

        One strided slice-add per kernel tap: no loop over batch, channels or pixels.
        """
        n, c, kh, kw, oh, ow = cols.shape
        _, _, h, w = x_shape
        hp = max(h + pads[0] + pads[1], dilation[0] * (kh - 1) + stride[0] * (oh - 1) + 1)
        wp = max(w + pads[2] + pads[3], dilation[1] * (kw - 1) + stride[1] * (ow - 1) + 1)
        out = self.xp.zeros((n, c, hp, wp), dtype=cols.dtype)
        for i in range(kh):
            hi = i * dilation[0]
            for j in range(kw):
                wj = j * dilation[1]
                out[:, :, hi:hi + stride[0] * (oh - 1) + 1:stride[0],
                    wj:wj + stride[1] * (ow - 1) + 1:stride[1]] += cols[:, :, i, j]
        return self.xp.ascontiguousarray(out[:, :, pads[0]:pads[0] + h, pads[2]:pads[2] + w])

    # ----- pooling ---------------------------------------------------------------
    def max_pool2d(self, x: Any, kernel: Pair, stride: Pair, pads: Pads) -> tuple[Any, Any]:
        """Max over windows and, per output, the flat index (h*W + w) of the winner in the input plane."""
        xp = self.xp
        _, _, h, w = x.shape
        win = self._windows(x, kernel, stride, pads, (1, 1), -xp.inf)
        _, _, kh, kw, oh, ow = win.shape
        # A running max over the kernel taps, each a strided view of output size: a few passes over the
        # output instead of gathering every window into a copy and reducing its short last axis.
        y = win[:, :, 0, 0].copy()
        offset = xp.zeros(y.shape, dtype=xp.int32)     # the winner's tap, as i * W + j
        for i in range(kh):
            for j in range(kw):
                if i == j == 0:
                    continue
                v = win[:, :, i, j]
                better = (v > y) | xp.isnan(v)     # PyTorch's rule: the first maximum, and NaN wins
                xp.maximum(y, v, out=y)
                # Arithmetic select: masked copies branch on random masks and cost ~5x more on the CPU.
                offset += better.astype(xp.int32) * (xp.int32(i * w + j) - offset)
        corner = (xp.arange(oh) * stride[0] - pads[0])[:, None] * w + (xp.arange(ow) * stride[1] - pads[2])[None, :]
        offset += corner.astype(xp.int32)
        return y, offset

    def max_pool2d_grad(self, gy: Any, idx: Any, x_shape: Sequence[int], kernel: Pair, stride: Pair,
                        pads: Pads) -> Any:
        xp = self.xp
        n, c, h, w = x_shape
        oh, ow = gy.shape[2:]
        if stride[0] >= kernel[0] and stride[1] >= kernel[1]:
            # Windows do not overlap, so every input position has at most one winner: a plain scatter.
            dx = xp.zeros((n, c, h * w), dtype=gy.dtype)
            xp.put_along_axis(dx, idx.reshape(n, c, -1), gy.reshape(n, c, -1), axis=-1)
            return dx.reshape(n, c, h, w)
        # Overlapping windows: recover each winner's kernel tap and add tap by tap.
        kh = idx // w - (xp.arange(oh) * stride[0] - pads[0])[:, None]
        kw = idx % w - (xp.arange(ow) * stride[1] - pads[2])[None, :]
        tap = kh * kernel[1] + kw
        cols = xp.stack([xp.where(tap == t, gy, 0) for t in range(kernel[0] * kernel[1])], axis=2)
        cols = cols.reshape(n, c, kernel[0], kernel[1], oh, ow)
        return self._col2im(cols, x_shape, stride, pads, (1, 1))

    def max_pool2d_gather(self, g: Any, idx: Any) -> Any:
        """The adjoint of max_pool2d_grad: read g at each window's winner."""
        n, c = g.shape[:2]
        flat = g.reshape(n, c, -1)
        return self.xp.take_along_axis(flat, idx.reshape(n, c, -1), axis=-1).reshape(idx.shape)

    def _pool_divisor(self, x_shape: Sequence[int], kernel: Pair, stride: Pair, pads: Pads,
                      count_include_pad: bool, dtype: Any) -> Any:
        if count_include_pad:
            return kernel[0] * kernel[1]
        ones = self.xp.ones((1, 1) + tuple(x_shape[2:]), dtype=dtype)
        return self._windows(ones, kernel, stride, pads, (1, 1), 0).sum(axis=(2, 3))[0, 0]

    def avg_pool2d(self, x: Any, kernel: Pair, stride: Pair, pads: Pads, count_include_pad: bool) -> Any:
        win = self._windows(x, kernel, stride, pads, (1, 1), 0)
        div = self._pool_divisor(x.shape, kernel, stride, pads, count_include_pad, x.dtype)
        return win.sum(axis=(2, 3)) / div

    def avg_pool2d_grad(self, gy: Any, x_shape: Sequence[int], kernel: Pair, stride: Pair, pads: Pads,
                        count_include_pad: bool) -> Any:
        div = self._pool_divisor(x_shape, kernel, stride, pads, count_include_pad, gy.dtype)
        g = gy / div
        n, c, oh, ow = gy.shape
        cols = self.xp.broadcast_to(g[:, :, None, None], (n, c, kernel[0], kernel[1], oh, ow))
        return self._col2im(cols, x_shape, stride, pads, (1, 1))
