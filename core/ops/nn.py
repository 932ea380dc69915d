"""CNN primitives: conv2d with its two gradients, pooling with their backward ops, dropout, batch norm.

All are NCHW (OIHW weights).  ``padding`` is 'valid', 'same' (TensorFlow's
arithmetic, which for stride 1 equals PyTorch's) or explicit ``(top, bottom,
left, right)``; 'same' is resolved from the runtime input size, so static
graphs with unknown H/W work too.
"""
from __future__ import annotations

import functools
import math

import numpy
from typing import Any, Sequence

from core.errors import ArgumentError, ShapeError
from core.graph import Value
from core.op import Op, apply
from core.ops import elementwise as ew
from core.ops import reduce as rd
from core.ops import shape as sh
from core.random import Generator

Padding = "str | tuple[int, int, int, int]"


def pair(v: int | Sequence[int], name: str, op: str) -> tuple[int, int]:
    t = (int(v), int(v)) if hasattr(v, "__index__") else tuple(int(a) for a in v)
    if len(t) != 2 or min(t) < 1:
        raise ArgumentError(f"{op}: argument '{name}' expected a positive int or a pair of them, got {v!r}")
    return t


def norm_padding(padding: Any, op: str) -> Any:
    if isinstance(padding, str):
        p = padding.lower()
        if p not in ("same", "valid"):
            raise ValueError(f"{op}: argument 'padding' expected 'same', 'valid' or ints, got {padding!r}")
        return p
    if hasattr(padding, "__index__"):
        padding = (int(padding),) * 4
    padding = tuple(int(p) for p in padding)
    if len(padding) == 2:
        padding = (padding[0], padding[0], padding[1], padding[1])
    if len(padding) != 4 or min(padding) < 0:
        raise ArgumentError(f"{op}: argument 'padding' expected non-negative (h, w) or (top, bottom, left, right), "
                            f"got {padding!r}")
    return padding


def resolve_pads(padding: Any, hw: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
                 dilation: Sequence[int]) -> tuple[int, int, int, int]:
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return (0, 0, 0, 0)
    pads = []
    for size, k, s, d in zip(hw, kernel, stride, dilation):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


def out_size(size: int | None, k: int, s: int, d: int, padding: Any, axis: int) -> int | None:
    if size is None:
        return None
    if padding == "same":
        return math.ceil(size / s)
    lo, hi = (0, 0) if padding == "valid" else padding[2 * axis:2 * axis + 2]
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


class _Window(Op):
    def __init__(self, kernel: Any, stride: Any, padding: Any, dilation: Any = 1) -> None:
        self.kernel = None if kernel is None else pair(kernel, "kernel_size", self.name)
        self.stride = pair(stride, "stride", self.name)
        self.padding = norm_padding(padding, self.name)
        self.dilation = pair(dilation, "dilation", self.name)

    def _out_hw(self, x: Value, kernel: Sequence[int]) -> tuple:
        shape = tuple(out_size(x.shape[2 + i], kernel[i], self.stride[i], self.dilation[i], self.padding, i)
                      for i in range(2))
        if any(s is not None and s < 1 for s in shape):
            raise self.shape_error("input", f"a spatial size of at least the (dilated) kernel {tuple(kernel)}"
                                   f" after padding {self.padding}", x.shape)
        return shape

    def _pads(self, x_shape: Sequence[int], kernel: Sequence[int]) -> tuple[int, int, int, int]:
        return resolve_pads(self.padding, x_shape[2:], kernel, self.stride, self.dilation)


# ----- convolution -------------------------------------------------------------
class Conv2D(_Window):
    name = "Conv2D"
    arg_names = ("input", "weight")

    def __init__(self, stride: Any = 1, padding: Any = 0, dilation: Any = 1) -> None:
        super().__init__(None, stride, padding, dilation)

    def _check_kernel(self, w: Value) -> None:
        if any(k is not None and k < 1 for k in w.shape[2:]):
            raise self.shape_error("weight", "a kernel size greater than zero in (kH, kW)", w.shape)

    def infer(self, x: Value, w: Value) -> list:
        self.require_ndim("input", x, 4, "(N, C, H, W)")
        self.require_ndim("weight", w, 4, "(out_channels, in_channels, kH, kW)")
        self.require_float(x, w)
        self.require_same_dtype(x, w)
        self._check_kernel(w)
        if x.shape[1] is not None and w.shape[1] != x.shape[1]:
            raise self.shape_error("weight", f"in_channels {x.shape[1]} to match input {tuple(x.shape)}, i.e. "
                                   f"(out, {x.shape[1]}, kH, kW)", w.shape)
        return [((x.shape[0], w.shape[0]) + self._out_hw(x, w.shape[2:]), x.dtype)]

    def forward(self, be, x, w):
        return be.conv2d(x, w, self.stride, self._pads(x.shape, w.shape[2:]), self.dilation)

    def vjp(self, node, grads, needs):
        x, w = node.inputs
        g = grads[0]
        args = (self.stride, self.padding, self.dilation)
        gx = apply(window_op(Conv2DBackpropInput, *args), g, w, x) if needs[0] else None
        gw = apply(window_op(Conv2DBackpropFilter, *args), x, g, w) if needs[1] else None
        return gx, gw


class Conv2DBackpropInput(Conv2D):
    """dL/dx of conv2d from dL/dy; ``x`` supplies only its shape."""

    name = "Conv2DBackpropInput"
    arg_names = ("grad", "weight", "input")

    def infer(self, g, w, x):
        self.require_ndim("grad", g, 4, "(N, O, OH, OW)")
        self.require_same_dtype(g, w)
        return [(x.shape, g.dtype)]

    def forward(self, be, g, w, x):
        return be.conv2d_grad_input(g, w, x.shape, self.stride, self._pads(x.shape, w.shape[2:]), self.dilation)

    def vjp(self, node, grads, needs):
        g, w, x = node.inputs
        h = grads[0]
        args = (self.stride, self.padding, self.dilation)
        gg = apply(window_op(Conv2D, *args), h, w) if needs[0] else None
        gw = apply(window_op(Conv2DBackpropFilter, *args), h, g, w) if needs[1] else None
        return gg, gw, None


class Conv2DBackpropFilter(Conv2D):
    """dL/dw of conv2d from the input and dL/dy; ``w`` supplies only its shape."""

    name = "Conv2DBackpropFilter"
    arg_names = ("input", "grad", "weight")

    def infer(self, x, g, w):
        self.require_ndim("grad", g, 4, "(N, O, OH, OW)")
        self.require_same_dtype(x, g)
        return [(w.shape, g.dtype)]

    def forward(self, be, x, g, w):
        return be.conv2d_grad_weight(x, g, w.shape, self.stride, self._pads(x.shape, w.shape[2:]), self.dilation)

    def vjp(self, node, grads, needs):
        x, g, w = node.inputs
        h = grads[0]
        args = (self.stride, self.padding, self.dilation)
        gx = apply(window_op(Conv2DBackpropInput, *args), g, h, x) if needs[0] else None
        gg = apply(window_op(Conv2D, *args), x, h) if needs[1] else None
        return gx, gg, None


class Conv2DTranspose(Conv2D):
    """The transpose of conv2d (a "deconvolution"): x (N, Cin, H, W) with w (Cin, Cout, kH, kW) gives
    (N, Cout, (H-1)*s - pads + d*(k-1) + output_padding + 1, ...).  It is conv2d's input gradient, so it runs on
    the same kernels, and its own gradients are conv2d and conv2d's weight gradient."""

    name = "Conv2DTranspose"
    arg_names = ("input", "weight")

    def __init__(self, stride: Any = 1, padding: Any = 0, dilation: Any = 1, output_padding: Any = 0) -> None:
        super().__init__(stride, padding, dilation)
        if isinstance(self.padding, str):
            raise ValueError(f"{self.name}: argument 'padding' expected numbers, got {padding!r}")
        op = (int(output_padding),) * 2 if hasattr(output_padding, "__index__") else tuple(int(v) for v in
                                                                                            output_padding)
        if len(op) != 2 or any(not 0 <= v < max(s, d) for v, s, d in zip(op, self.stride, self.dilation)):
            raise ArgumentError(f"{self.name}: output padding must be smaller than either stride or dilation, got "
                                f"output_padding={output_padding!r}, stride={self.stride}, dilation={self.dilation}")
        self.output_padding = op

    def _out_hw(self, x: Any, kernel: Sequence[int]) -> tuple:
        """From a Value or an array: only the shape is read."""
        out = []
        for a in range(2):
            size = x.shape[2 + a]
            lo, hi = self.padding[2 * a:2 * a + 2]
            out.append(None if size is None else (size - 1) * self.stride[a] - lo - hi
                       + self.dilation[a] * (kernel[a] - 1) + self.output_padding[a] + 1)
        if any(o is not None and o < 1 for o in out):
            raise self.shape_error("input", "a positive output size after removing the padding", x.shape)
        return tuple(out)

    def infer(self, x: Value, w: Value) -> list:
        self.require_ndim("input", x, 4, "(N, C, H, W)")
        self.require_ndim("weight", w, 4, "(in_channels, out_channels, kH, kW)")
        self.require_float(x, w)
        self.require_same_dtype(x, w)
        self._check_kernel(w)
        if x.shape[1] is not None and w.shape[0] != x.shape[1]:
            raise self.shape_error("weight", f"in_channels {x.shape[1]} first, i.e. ({x.shape[1]}, out, kH, kW)",
                                   w.shape)
        return [((x.shape[0], w.shape[1]) + self._out_hw(x, w.shape[2:]), x.dtype)]

    def forward(self, be, x, w):
        out = (x.shape[0], w.shape[1]) + self._out_hw(x, w.shape[2:])
        return be.conv2d_grad_input(x, w, out, self.stride, self.padding, self.dilation)

    def vjp(self, node, grads, needs):
        x, w = node.inputs
        h = grads[0]
        args = (self.stride, self.padding, self.dilation)
        gx = apply(window_op(Conv2D, *args), h, w) if needs[0] else None
        gw = apply(window_op(Conv2DBackpropFilter, *args), h, x, w) if needs[1] else None
        return gx, gw


# ----- pooling -------------------------------------------------------------------
class MaxPool(_Window):
    """Outputs the pooled values and, per output, the flat index (h*W + w) of the max in its input plane."""

    name = "MaxPool"
    arg_names = ("input",)
    saves_outputs = True

    def __init__(self, kernel: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__(kernel, kernel if stride is None else stride, padding)
        if not isinstance(self.padding, str) and (max(self.padding[:2]) > self.kernel[0] // 2
                                                  or max(self.padding[2:]) > self.kernel[1] // 2):
            raise ArgumentError(f"{self.name}: padding {self.padding} should be at most half the kernel "
                                f"{self.kernel}")

    def infer(self, x):
        self.require_ndim("input", x, 4, "(N, C, H, W)")
        self.require_float(x)
        shape = tuple(x.shape[:2]) + self._out_hw(x, self.kernel)
        return [(shape, x.dtype), (shape, numpy.dtype("int32"))]

    def pads(self, x_shape):
        return self._pads(x_shape, self.kernel)

    def forward(self, be, x):
        return be.max_pool2d(x, self.kernel, self.stride, self.pads(x.shape))

    def vjp(self, node, grads, needs):
        x = node.inputs[0]
        return (apply(window_op(MaxPoolGrad, self.kernel, self.stride, self.padding), grads[0], node.outputs[1], x),)


class MaxPoolGrad(MaxPool):
    """Routes each output gradient to the input position that was the maximum."""

    name = "MaxPoolGrad"
    arg_names = ("grad", "argmax", "input")

    def infer(self, g, idx, x):
        if g.shape != idx.shape and None not in g.shape + idx.shape:
            raise self.shape_error("grad", f"the argmax shape {idx.shape}", g.shape)
        return [(x.shape, g.dtype)]

    def forward(self, be, g, idx, x):
        return be.max_pool2d_grad(g, idx, x.shape, self.kernel, self.stride, self.pads(x.shape))

    def vjp(self, node, grads, needs):
        g, idx, x = node.inputs
        return apply(window_op(MaxPoolGather, self.kernel, self.stride, self.padding), grads[0], idx), None, None


class MaxPoolGather(MaxPool):
    """The adjoint of MaxPoolGrad: ``g`` read at each window's argmax."""

    name = "MaxPoolGather"
    arg_names = ("grad", "argmax")

    def infer(self, g, idx):
        return [(idx.shape, g.dtype)]

    def forward(self, be, g, idx):
        return be.max_pool2d_gather(g, idx)

    def vjp(self, node, grads, needs):
        g, idx = node.inputs
        return apply(window_op(MaxPoolGrad, self.kernel, self.stride, self.padding), grads[0], idx, g), None


class AvgPool(_Window):
    name = "AvgPool"
    arg_names = ("input",)

    def __init__(self, kernel: Any, stride: Any = None, padding: Any = 0, count_include_pad: bool = True) -> None:
        super().__init__(kernel, kernel if stride is None else stride, padding)
        self.count_include_pad = bool(count_include_pad)

    def infer(self, x):
        self.require_ndim("input", x, 4, "(N, C, H, W)")
        self.require_float(x)
        return [(tuple(x.shape[:2]) + self._out_hw(x, self.kernel), x.dtype)]

    def forward(self, be, x):
        return be.avg_pool2d(x, self.kernel, self.stride, self._pads(x.shape, self.kernel), self.count_include_pad)

    def vjp(self, node, grads, needs):
        return (apply(window_op(AvgPoolGrad, self.kernel, self.stride, self.padding, self.count_include_pad),
                      grads[0], node.inputs[0]),)


class AvgPoolGrad(AvgPool):
    name = "AvgPoolGrad"
    arg_names = ("grad", "input")

    def infer(self, g, x):
        return [(x.shape, g.dtype)]

    def forward(self, be, g, x):
        return be.avg_pool2d_grad(g, x.shape, self.kernel, self.stride, self._pads(x.shape, self.kernel),
                                  self.count_include_pad)

    def vjp(self, node, grads, needs):
        return apply(AvgPool(self.kernel, self.stride, self.padding, self.count_include_pad), grads[0]), None


# ----- dropout -------------------------------------------------------------------
class DropoutMask(Op):
    """A keep-mask for ``x``'s runtime shape, already scaled by 1/(1-p); fresh each run.

    ``p`` is a number, or None when it arrives as a scalar second input (a TF1 ``keep_prob`` placeholder)."""

    name = "DropoutMask"
    pure, effect = False, True      # each run draws from (and advances) the generator
    arg_names = ("x", "p")
    differentiable = False

    def __init__(self, p: float | None, generator: Generator) -> None:
        if p is not None and not 0.0 <= p < 1.0:
            raise ValueError(f"{self.name}: argument 'p' expected 0 <= p < 1, got {p}")
        self.p = p
        self.generator = generator

    def infer(self, x, p=None):
        self.require_float(x)
        if p is not None:
            self.require_same_dtype(x, p)
            if len(p.shape):
                raise self.shape_error("p", "a scalar", p.shape)
        return [(x.shape, x.dtype)]

    def forward(self, be, x, p=None):
        u = self.generator.get(be.device).random(x.shape, dtype=x.dtype)
        if p is None:
            return (u >= self.p).astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        return (u >= p).astype(x.dtype) / (1 - p)      # p stays on the device: no host read


# ----- bias -------------------------------------------------------------------------
class BiasAdd(Op):
    """``x + b`` with the 1-D bias along ``axis`` (1 for NCHW, -1 for NHWC), as TensorFlow's BiasAdd."""

    name = "BiasAdd"
    arg_names = ("value", "bias")
    saves_inputs = False

    def __init__(self, axis: int = -1) -> None:
        self.axis = int(axis)

    def _axis(self, x: Value) -> int:
        if not -len(x.shape) <= self.axis < len(x.shape) or len(x.shape) < 2:
            raise self.shape_error("value", f"at least 2-D with a channel axis {self.axis}", x.shape)
        return self.axis % len(x.shape)

    def infer(self, x: Value, b: Value) -> list:
        self.require_same_dtype(x, b)
        c = x.shape[self._axis(x)]
        if len(b.shape) != 1 or (None not in (c, b.shape[0]) and b.shape[0] != c):
            raise self.shape_error("bias", f"shape ({c},), one value per channel of value {tuple(x.shape)}", b.shape)
        return [(x.shape, x.dtype)]

    def forward(self, be, x, b):
        shape = [1] * x.ndim
        shape[self.axis] = -1
        return x + b.reshape(shape)

    def vjp(self, node, grads, needs):
        g = grads[0]
        return g, (apply(BiasAddGrad(self.axis), g) if needs[1] else None)


class BiasAddGrad(BiasAdd):
    """The bias gradient: ``g`` summed over every axis but the channel axis."""

    name = "BiasAddGrad"
    arg_names = ("out_backprop",)

    def infer(self, g: Value) -> list:
        return [((g.shape[self._axis(g)],), g.dtype)]

    def forward(self, be, g):
        axis = self.axis % g.ndim
        return g.sum(axis=tuple(a for a in range(g.ndim) if a != axis))

    def vjp(self, node, grads, needs):
        g = node.inputs[0]
        shape = [1] * len(g.shape)
        shape[self.axis] = -1
        return (ew.broadcast_like(sh.reshape(grads[0], tuple(shape)), g),)


# ----- functions -------------------------------------------------------------------
@functools.lru_cache(maxsize=1024)
def _cached(cls: type, *args: Any) -> Op:
    return cls(*args)


def window_op(cls: type, *args: Any) -> Op:
    """Ops are immutable, so equal arguments share one instance and its argument checks run once."""
    try:
        return _cached(cls, *args)
    except TypeError:       # unhashable arguments (lists): build afresh
        return cls(*args)


def bias_add(x: Value, b: Value, axis: int = -1) -> Value:
    return apply(BiasAdd(axis), x, b)


def conv2d(x: Value, w: Value, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Value:
    """NCHW convolution (cross-correlation) with an OIHW weight of shape (out, in / groups, kH, kW).

    Groups are a composition: each group's channel slice convolved with its slice of the filters, then
    concatenated (correct everywhere, one kernel launch per group)."""
    op = window_op(Conv2D, stride, padding, dilation)
    if groups == 1:
        return apply(op, x, w)
    cin, cout = w.shape[1], w.shape[0] // groups
    if w.shape[0] % groups or (x.shape[1] is not None and x.shape[1] != cin * groups):
        raise ShapeError(f"Conv2D: Given groups={groups}, weight of size {list(w.shape)}, expected input "
                         f"{list(x.shape)} to have {cin * groups} channels and out channels divisible by {groups}")
    every = slice(None)
    return sh.concat([apply(op, sh.getitem(x, (every, slice(g * cin, (g + 1) * cin))),
                            sh.getitem(w, slice(g * cout, (g + 1) * cout))) for g in range(groups)], 1)


def conv2d_transpose(x: Value, w: Value, stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     dilation: Any = 1) -> Value:
    """Transposed convolution, NCHW input with an (in, out, kH, kW) weight (PyTorch's ConvTranspose2d)."""
    return apply(window_op(Conv2DTranspose, stride, padding, dilation, output_padding), x, w)


def conv2d_grad_input(g: Value, w: Value, x: Value, stride: Any = 1, padding: Any = 0, dilation: Any = 1) -> Value:
    return apply(window_op(Conv2DBackpropInput, stride, padding, dilation), g, w, x)


def conv2d_grad_weight(x: Value, g: Value, w: Value, stride: Any = 1, padding: Any = 0, dilation: Any = 1) -> Value:
    return apply(window_op(Conv2DBackpropFilter, stride, padding, dilation), x, g, w)


def max_pool2d(x: Value, kernel: Any, stride: Any = None, padding: Any = 0) -> tuple[Value, Value]:
    """Returns (pooled, argmax) where argmax holds flat input-plane indices (int32)."""
    return apply(window_op(MaxPool, kernel, stride, padding), x)


def avg_pool2d(x: Value, kernel: Any, stride: Any = None, padding: Any = 0, count_include_pad: bool = True) -> Value:
    return apply(window_op(AvgPool, kernel, stride, padding, count_include_pad), x)


def dropout(x: Value, p: float | Value, generator: Generator) -> Value:
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p); p may be a
    scalar Value (fed at run time)."""
    if isinstance(p, Value):
        return ew.mul(x, apply(DropoutMask(None, generator), x, p))
    if p == 0.0:
        return x
    return ew.mul(x, apply(DropoutMask(p, generator), x))


def batch_norm_train(x: Value, gamma: Value, beta: Value, axes: Sequence[int], eps: float
                     ) -> tuple[Value, Value, Value]:
    """Normalise with batch statistics; gamma/beta broadcast against x.  Returns (y, mean, biased var)
    with the statistics in keepdims form, for the frontend's running averages."""
    mean = rd.mean(x, axes, keepdims=True)
    xc = ew.sub(x, mean)
    var = rd.mean(ew.mul(xc, xc), axes, keepdims=True)
    inv = ew.scalar(ew.sqrt(ew.scalar(var, "add", eps)), "rdiv", 1.0)
    return ew.add(ew.mul(ew.mul(xc, inv), gamma), beta), mean, var


def batch_norm_eval(x: Value, gamma: Value, beta: Value, mean: Value, var: Value, eps: float) -> Value:
    """Normalise with fixed statistics (all broadcastable against x)."""
    inv = ew.scalar(ew.sqrt(ew.scalar(var, "add", eps)), "rdiv", 1.0)
    return ew.add(ew.mul(ew.mul(ew.sub(x, mean), inv), gamma), beta)
