"""CNN primitives: conv2d with its two gradients, pooling with their backward ops, dropout, batch norm.

Conv and pooling are NCHW (OIHW weights) or NHWC (HWIO weights), by their ``data_format``.  ``padding`` is
'valid', 'same' (TensorFlow's arithmetic, which for stride 1 equals PyTorch's) or explicit ``(top, bottom,
left, right)``; 'same' is resolved from the runtime input size, so static
graphs with unknown H/W work too.
"""
from __future__ import annotations

import functools
import math

import numpy
from typing import Any, Sequence

from core import state as _state
from core.errors import ArgumentError
from core.graph import Value
from core.op import Op, apply, grad_mode
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


FORMATS = ("NCHW", "NHWC")


def norm_format(data_format: str, op: str) -> str:
    fmt = str(data_format).upper()
    if fmt not in FORMATS:
        raise ArgumentError(f"{op}: argument 'data_format' expected 'NCHW' or 'NHWC', got {data_format!r}")
    return fmt


class _Window(Op):
    """Shared by conv and pooling: window arguments and the layout.  ``data_format`` "NCHW" (weights OIHW) or
    "NHWC" (weights HWIO, TensorFlow's); the layout pass (``core/passes/layout.py``) switches a primitive to
    the layout its neighbours use, through ``with_format``."""

    def __init__(self, kernel: Any, stride: Any, padding: Any, dilation: Any = 1, data_format: str = "NCHW") -> None:
        self.kernel = None if kernel is None else pair(kernel, "kernel_size", self.name)
        self.stride = pair(stride, "stride", self.name)
        self.padding = norm_padding(padding, self.name)
        self.dilation = pair(dilation, "dilation", self.name)
        self.data_format = norm_format(data_format, self.name)

    def args(self) -> tuple:
        """The constructor's arguments, so that a pass can build the same op in another layout."""
        raise NotImplementedError(f"{self.name}.args")

    def with_format(self, data_format: str) -> "_Window":
        return window_op(type(self), *self.args()[:-1], data_format)

    @property
    def layout(self) -> str:
        return self.data_format + (" (N, C, H, W)" if self.data_format == "NCHW" else " (N, H, W, C)")

    def spatial(self, shape: Sequence[Any]) -> tuple:
        return tuple(shape[2:4]) if self.data_format == "NCHW" else tuple(shape[1:3])

    def channels(self, shape: Sequence[Any]) -> Any:
        return shape[1] if self.data_format == "NCHW" else shape[3]

    def image(self, n: Any, c: Any, hw: Sequence[Any]) -> tuple:
        return (n, c) + tuple(hw) if self.data_format == "NCHW" else (n,) + tuple(hw) + (c,)

    def _out_hw(self, x: Value, kernel: Sequence[int]) -> tuple:
        hw = self.spatial(x.shape)
        shape = tuple(out_size(hw[i], kernel[i], self.stride[i], self.dilation[i], self.padding, i)
                      for i in range(2))
        if any(s is not None and s < 1 for s in shape):
            raise self.shape_error("input", f"a spatial size of at least the (dilated) kernel {tuple(kernel)}"
                                   f" after padding {self.padding}", x.shape)
        return shape

    def _pooled(self, x: Value) -> tuple:
        """A pool's output shape (pools keep their window in ``kernel``)."""
        return self.image(x.shape[0], self.channels(x.shape), self._out_hw(x, self.kernel))

    def _pads(self, x_shape: Sequence[int], kernel: Sequence[int]) -> tuple[int, int, int, int]:
        return resolve_pads(self.padding, self.spatial(x_shape), kernel, self.stride, self.dilation)

    # The backend kernel ``forward`` runs, by name, with the arguments ``_kernel_args`` makes of the step's
    # arrays; ``prepare`` binds its ``<name>_call`` form to them where the backend has one.
    backend_kernel = "<set by each window primitive>"

    def _kernel_args(self, *arrays: Any) -> tuple:
        raise NotImplementedError(f"{self.name}._kernel_args")

    def forward(self, be, *arrays, out=None):
        return getattr(be, self.backend_kernel)(*self._kernel_args(*arrays), out=out)

    def prepare(self, be: Any) -> Any:
        """``forward`` into ``out`` bound to one step's arrays (``core.lowering.bind``), where ``be`` can."""
        call = getattr(be, self.backend_kernel + "_call", None)
        return call and self.prepared_writer(
            be, lambda be, *arrays, out: call(*self._kernel_args(*arrays), out=out)[0])


# ----- convolution -------------------------------------------------------------
class Conv2D(_Window):
    """Cross-correlation; the weight is (out, in / groups, kH, kW) for NCHW, (kH, kW, in / groups, out) for
    NHWC.  Groups run inside the kernel (depthwise too)."""

    name = "Conv2D"
    arg_names = ("input", "weight")

    def __init__(self, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1,
                 data_format: str = "NCHW") -> None:
        super().__init__(None, stride, padding, dilation, data_format)
        if not hasattr(groups, "__index__") or int(groups) < 1:
            raise ArgumentError(f"{self.name}: argument 'groups' expected a positive int, got {groups!r}")
        self.groups = int(groups)

    def args(self) -> tuple:
        return (self.stride, self.padding, self.dilation, self.groups, self.data_format)

    def kernel_hw(self, w_shape: Sequence[int]) -> tuple:
        return tuple(w_shape[2:4]) if self.data_format == "NCHW" else tuple(w_shape[0:2])

    def w_io(self, w_shape: Sequence[int]) -> tuple:
        """(out channels, in channels per group) of a weight."""
        return (w_shape[0], w_shape[1]) if self.data_format == "NCHW" else (w_shape[3], w_shape[2])

    def _check_kernel(self, w: Value) -> None:
        if any(k is not None and k < 1 for k in self.kernel_hw(w.shape)):
            raise self.shape_error("weight", "a kernel size greater than zero in (kH, kW)", w.shape)

    def _check_weight(self, x_shape: Sequence[Any], w: Value) -> None:
        """The weight's layout and its channels against the image's."""
        self.require_ndim("weight", w, 4, "(out_channels, in_channels / groups, kH, kW)" if self.data_format == "NCHW"
                          else "(kH, kW, in_channels / groups, out_channels)")
        self._check_kernel(w)
        o, cg = self.w_io(w.shape)
        c = self.channels(x_shape)
        if o is not None and o % self.groups:
            raise self.shape_error("weight", f"out_channels divisible by groups={self.groups}", w.shape)
        if c is not None and cg is not None and cg * self.groups != c:
            lay = "(out, {}, kH, kW)" if self.data_format == "NCHW" else "(kH, kW, {}, out)"
            raise self.shape_error("weight", f"in_channels {c} / groups {self.groups} to match input "
                                   f"{tuple(x_shape)}, i.e. {lay.format(c // self.groups)}", w.shape)

    def infer(self, x: Value, w: Value) -> list:
        self.require_ndim("input", x, 4, self.layout)
        self.require_float(x, w)
        self.require_same_dtype(x, w)
        self._check_weight(x.shape, w)
        return [(self.image(x.shape[0], self.w_io(w.shape)[0], self._out_hw(x, self.kernel_hw(w.shape))), x.dtype)]

    backend_kernel = "conv2d"

    def _kernel_args(self, x, w):
        return (x, w, *self._geometry_args(x.shape, w.shape))

    def _geometry_args(self, x_shape: Sequence[int], w_shape: Sequence[int]) -> tuple:
        """(stride, pads, dilation, groups, format) as the backend's convolution kernels take them."""
        return (self.stride, self._pads(x_shape, self.kernel_hw(w_shape)), self.dilation, self.groups,
                self.data_format)

    def vjp(self, node, grads, needs):
        x, w = node.inputs
        g = grads[0]
        gx = apply(window_op(Conv2DBackpropInput, *self.args()), g, w, x) if needs[0] else None
        gw = apply(window_op(Conv2DBackpropFilter, *self.args()), x, g, w) if needs[1] else None
        return gx, gw


class Conv2DBackpropInput(Conv2D):
    """dL/dx of conv2d from dL/dy; ``x`` supplies only its shape."""

    name = "Conv2DBackpropInput"
    arg_names = ("grad", "weight", "input")

    def infer(self, g, w, x):
        self.require_ndim("grad", g, 4, self.layout)
        self.require_same_dtype(g, w)
        return [(x.shape, g.dtype)]

    backend_kernel = "conv2d_grad_input"

    def _kernel_args(self, g, w, x):
        return (g, w, x.shape, *self._geometry_args(x.shape, w.shape))

    def vjp(self, node, grads, needs):
        g, w, x = node.inputs
        h = grads[0]
        gg = apply(window_op(Conv2D, *self.args()), h, w) if needs[0] else None
        gw = apply(window_op(Conv2DBackpropFilter, *self.args()), h, g, w) if needs[1] else None
        return gg, gw, None


class Conv2DBackpropFilter(Conv2D):
    """dL/dw of conv2d from the input and dL/dy; ``w`` supplies only its shape."""

    name = "Conv2DBackpropFilter"
    arg_names = ("input", "grad", "weight")

    def infer(self, x, g, w):
        self.require_ndim("grad", g, 4, self.layout)
        self.require_same_dtype(x, g)
        return [(w.shape, g.dtype)]

    backend_kernel = "conv2d_grad_weight"

    def _kernel_args(self, x, g, w):
        return (x, g, w.shape, *self._geometry_args(x.shape, w.shape))

    def vjp(self, node, grads, needs):
        x, g, w = node.inputs
        h = grads[0]
        gx = apply(window_op(Conv2DBackpropInput, *self.args()), g, h, x) if needs[0] else None
        gg = apply(window_op(Conv2D, *self.args()), x, h) if needs[1] else None
        return gx, gg, None


class Conv2DTranspose(Conv2D):
    """The transpose of conv2d (a "deconvolution"): x (N, Cin, H, W) with w (Cin, Cout / groups, kH, kW) gives
    (N, Cout, (H-1)*s - pads + d*(k-1) + output_padding + 1, ...).  It is conv2d's input gradient, so it runs on
    the same kernels, and its own gradients are conv2d and conv2d's weight gradient.  NCHW only."""

    name = "Conv2DTranspose"
    arg_names = ("input", "weight")

    def __init__(self, stride: Any = 1, padding: Any = 0, dilation: Any = 1, output_padding: Any = 0,
                 groups: int = 1) -> None:
        super().__init__(stride, padding, dilation, groups)
        if isinstance(self.padding, str):
            raise ValueError(f"{self.name}: argument 'padding' expected numbers, got {padding!r}")
        op = (int(output_padding),) * 2 if hasattr(output_padding, "__index__") else tuple(int(v) for v in
                                                                                            output_padding)
        if len(op) != 2 or any(not 0 <= v < max(s, d) for v, s, d in zip(op, self.stride, self.dilation)):
            raise ArgumentError(f"{self.name}: output padding must be smaller than either stride or dilation, got "
                                f"output_padding={output_padding!r}, stride={self.stride}, dilation={self.dilation}")
        self.output_padding = op

    def args(self) -> tuple:
        return (self.stride, self.padding, self.dilation, self.output_padding, self.groups)

    def with_format(self, data_format: str) -> "_Window":
        raise NotImplementedError(f"{self.name}: only NCHW is implemented")

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

    def _out_shape(self, x: Any, w: Any) -> tuple:
        return (x.shape[0], w.shape[1] * self.groups) + self._out_hw(x, w.shape[2:])

    def infer(self, x: Value, w: Value) -> list:
        self.require_ndim("input", x, 4, "(N, C, H, W)")
        self.require_ndim("weight", w, 4, "(in_channels, out_channels / groups, kH, kW)")
        self.require_float(x, w)
        self.require_same_dtype(x, w)
        self._check_kernel(w)
        if x.shape[1] is not None and w.shape[0] != x.shape[1]:
            raise self.shape_error("weight", f"in_channels {x.shape[1]} first, i.e. ({x.shape[1]}, out, kH, kW)",
                                   w.shape)
        if w.shape[0] is not None and w.shape[0] % self.groups:
            raise self.shape_error("weight", f"in_channels divisible by groups={self.groups}", w.shape)
        return [(self._out_shape(x, w), x.dtype)]

    def _conv(self) -> tuple:
        """The convolution this is the transpose of."""
        return (self.stride, self.padding, self.dilation, self.groups)

    backend_kernel = "conv2d_grad_input"

    def _kernel_args(self, x, w):
        return (x, w, self._out_shape(x, w), self.stride, self.padding, self.dilation, self.groups)

    def vjp(self, node, grads, needs):
        x, w = node.inputs
        h = grads[0]
        gx = apply(window_op(Conv2D, *self._conv()), h, w) if needs[0] else None
        gw = apply(window_op(Conv2DBackpropFilter, *self._conv()), h, x, w) if needs[1] else None
        return gx, gw


# ----- pooling -------------------------------------------------------------------
class MaxPool(_Window):
    """Outputs the pooled values and, per output, the flat index (h*W + w) of the max in its input plane (the
    same numbers in either layout)."""

    name = "MaxPool"
    arg_names = ("input",)
    saves_outputs = True

    def __init__(self, kernel: Any, stride: Any = None, padding: Any = 0, data_format: str = "NCHW") -> None:
        super().__init__(kernel, kernel if stride is None else stride, padding, 1, data_format)
        if not isinstance(self.padding, str) and (max(self.padding[:2]) > self.kernel[0] // 2
                                                  or max(self.padding[2:]) > self.kernel[1] // 2):
            raise ArgumentError(f"{self.name}: padding {self.padding} should be at most half the kernel "
                                f"{self.kernel}")

    def args(self) -> tuple:
        return (self.kernel, self.stride, self.padding, self.data_format)

    def infer(self, x):
        self.require_ndim("input", x, 4, self.layout)
        self.require_float(x)
        shape = self._pooled(x)
        return [(shape, x.dtype), (shape, numpy.dtype("int32"))]

    def pads(self, x_shape):
        return self._pads(x_shape, self.kernel)

    backend_kernel = "max_pool2d"

    def _kernel_args(self, x):
        return (x, self.kernel, self.stride, self.pads(x.shape), self.data_format)

    def vjp(self, node, grads, needs):
        x = node.inputs[0]
        return (apply(window_op(MaxPoolGrad, *self.args()), grads[0], node.outputs[1], x),)


class MaxPoolGrad(MaxPool):
    """Routes each output gradient to the input position that was the maximum."""

    name = "MaxPoolGrad"
    arg_names = ("grad", "argmax", "input")

    def infer(self, g, idx, x):
        if g.shape != idx.shape and None not in g.shape + idx.shape:
            raise self.shape_error("grad", f"the argmax shape {idx.shape}", g.shape)
        return [(x.shape, g.dtype)]

    backend_kernel = "max_pool2d_grad"

    def _kernel_args(self, g, idx, x):
        return (g, idx, x.shape, self.kernel, self.stride, self.pads(x.shape), self.data_format)

    def vjp(self, node, grads, needs):
        g, idx, x = node.inputs
        return apply(window_op(MaxPoolGather, *self.args()), grads[0], idx), None, None


class MaxPoolGradMasked(MaxPoolGrad):
    """``MaxPoolGrad(grad * (pooled > 0), argmax, input)`` in one pass, for windows that do not overlap:
    ``pooled`` is the pool's output, so the mask is a ReLU's gradient taken at the pooled size
    (``core.passes.poolgrad`` makes this of a ReLU gradient of a pool's gradient).  Each winner gets
    ``grad * 1.0`` or ``grad * 0.0`` as the ReLU gradient rounds it, the other positions +0.0.  Made by that
    pass only, after differentiation: it has no gradient of its own."""

    name = "MaxPoolGradMasked"
    arg_names = ("grad", "argmax", "input", "pooled")
    differentiable = False

    def infer(self, g, idx, x, y):
        if any(s < k for s, k in zip(self.stride, self.kernel)):
            raise ValueError(f"{self.name}: windows overlap (kernel {self.kernel}, stride {self.stride}); masking "
                             "before the scatter is only exact for disjoint windows")
        if g.shape != y.shape and None not in g.shape + y.shape:
            raise self.shape_error("pooled", f"the gradient's shape {g.shape}", y.shape)
        return super().infer(g, idx, x)

    backend_kernel = "max_pool2d_grad_masked"

    def _kernel_args(self, g, idx, x, y):
        return (g, idx, y, x.shape, self.kernel, self.stride, self.pads(x.shape), self.data_format)


class MaxPoolGather(MaxPool):
    """The adjoint of MaxPoolGrad: ``g`` read at each window's argmax."""

    name = "MaxPoolGather"
    arg_names = ("grad", "argmax")

    def infer(self, g, idx):
        return [(idx.shape, g.dtype)]

    backend_kernel = "max_pool2d_gather"

    def _kernel_args(self, g, idx):
        return (g, idx, self.data_format)

    def vjp(self, node, grads, needs):
        g, idx = node.inputs
        return apply(window_op(MaxPoolGrad, *self.args()), grads[0], idx, g), None


class AvgPool(_Window):
    name = "AvgPool"
    arg_names = ("input",)

    def __init__(self, kernel: Any, stride: Any = None, padding: Any = 0, count_include_pad: bool = True,
                 data_format: str = "NCHW") -> None:
        super().__init__(kernel, kernel if stride is None else stride, padding, 1, data_format)
        self.count_include_pad = bool(count_include_pad)

    def args(self) -> tuple:
        return (self.kernel, self.stride, self.padding, self.count_include_pad, self.data_format)

    def infer(self, x):
        self.require_ndim("input", x, 4, self.layout)
        self.require_float(x)
        return [(self._pooled(x), x.dtype)]

    backend_kernel = "avg_pool2d"

    def _kernel_args(self, x):
        return (x, self.kernel, self.stride, self._pads(x.shape, self.kernel), self.count_include_pad,
                self.data_format)

    def vjp(self, node, grads, needs):
        return (apply(window_op(AvgPoolGrad, *self.args()), grads[0], node.inputs[0]),)


class AvgPoolGrad(AvgPool):
    name = "AvgPoolGrad"
    arg_names = ("grad", "input")

    def infer(self, g, x):
        return [(x.shape, g.dtype)]

    backend_kernel = "avg_pool2d_grad"

    def _kernel_args(self, g, x):
        return (g, x.shape, self.kernel, self.stride, self._pads(x.shape, self.kernel), self.count_include_pad,
                self.data_format)

    def vjp(self, node, grads, needs):
        return apply(window_op(AvgPool, *self.args()), grads[0]), None


# ----- dropout -------------------------------------------------------------------
class DropoutMask(Op):
    """A keep-mask for ``x``'s runtime shape, already scaled by 1/(1-p); fresh each run: an element is kept
    where a uniform draw from the generator's counter-based stream (``Generator.philox_state``) is >= p.

    ``p`` is a number, or None when it arrives as a scalar second input (a TF1 ``keep_prob`` placeholder)."""

    name = "DropoutMask"
    pure, effect = False, True      # each run draws from (and advances) the generator's stream
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
        st = _state.current()       # a Session's own stream in a static run, the generator's in eager
        rng = self.generator.philox_state(be.device) if st is None else st.philox(self.generator, be.device)
        u = be.random_uniform(x.shape, x.dtype, rng)
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

    def forward(self, be, g, out=None):
        return self._into(be, g, out)()

    def _into(self, be: Any, g: Any, out: Any) -> Any:
        """The sum as a function of no arguments (``Op.prepared_writer``; ``out`` None: it returns a new
        array)."""
        axis = self.axis % g.ndim
        if 0 < axis < g.ndim - 1:
            # NCHW: the batch first, as whole-row adds (C*H*W long), then each channel's plane: 0.3 ms where
            # one sum over (0, 2, 3), striding through the batch per channel, took 0.55 (seed CNN, batch 128).
            rows = g.reshape((-1,) + g.shape[axis:]) if axis > 1 else g
            axes = tuple(range(1, rows.ndim - 1))
            if rows.shape[0] == 1:      # a sum over one row is that row: each channel's plane summed
                return functools.partial(be.plane_sums, rows[0]) if out is None else be.plane_sums_call(rows[0], out)
            return lambda: rows.sum(axis=0, out=be.scratch(("bias-grad",), rows.shape[1:], g.dtype)).sum(
                axis=axes, out=out)
        return be.sum_call(g, tuple(a for a in range(g.ndim) if a != axis), False, out)

    def prepare(self, be: Any) -> Any:
        return self.prepared_writer(be, self._into)

    def vjp(self, node, grads, needs):
        g = node.inputs[0]
        shape = [1] * len(g.shape)
        shape[self.axis] = -1
        return (ew.broadcast_like(sh.reshape(grads[0], tuple(shape)), g),)


# ----- batch norm ---------------------------------------------------------------------
class BatchNormTrain(Op):
    """Batch norm with the batch's statistics: outputs y, mean and biased variance (keepdims over ``axes``).
    One primitive, so the backend makes two passes over the data each way instead of a chain of ops."""

    name = "FusedBatchNormV3"
    arg_names = ("x", "scale", "offset")
    saves_outputs = True

    def __init__(self, axes: Sequence[int], eps: float) -> None:
        self.axes = tuple(int(a) for a in axes)
        self.eps = float(eps)

    def _stats_shape(self, x: Value) -> tuple:
        axes = {a % len(x.shape) for a in self.axes}
        return tuple(1 if i in axes else n for i, n in enumerate(x.shape))

    def infer(self, x: Value, gamma: Value, beta: Value) -> list:
        self.require_float(x, gamma, beta)
        self.require_same_dtype(x, gamma, beta)
        if any(not -len(x.shape) <= a < len(x.shape) for a in self.axes):
            raise self.shape_error("x", f"a dimension for every axis in {self.axes}", x.shape)
        stats = self._stats_shape(x)
        for name, v in (("scale", gamma), ("offset", beta)):
            if len(v.shape) != len(stats) or any(None not in (a, b) and a != b for a, b in zip(v.shape, stats)):
                raise self.shape_error(name, f"the statistics' shape {stats}", v.shape)
        return [(x.shape, x.dtype), (stats, x.dtype), (stats, x.dtype)]

    def forward(self, be, x, gamma, beta, out=None):
        return be.batch_norm_train(x, gamma, beta, self.axes, self.eps, out=out)

    def vjp(self, node, grads, needs):
        x, gamma, beta = node.inputs
        _, mean, var = node.outputs
        gy, gmean, gvar = grads
        gx = gg = gb = None
        if gy is not None:
            gx, gg, gb = apply(BatchNormTrainGrad(self.axes, self.eps), gy, x, gamma, mean, var)
        # Gradients through the returned statistics (rare: frontends read them without gradient).
        spread = rd.ReduceGrad(self.axes, True, True)
        if gmean is not None:
            part = apply(spread, gmean, x)
            gx = part if gx is None else ew.add(gx, part)
        if gvar is not None:
            part = ew.mul(apply(spread, gvar, x), ew.scalar(ew.sub(x, mean), "mul", 2.0))
            gx = part if gx is None else ew.add(gx, part)
        return gx, gg, gb


class BatchNormTrainGrad(BatchNormTrain):
    """(dx, dscale, doffset) of BatchNormTrain from dy, with the forward's mean and variance as inputs."""

    name = "FusedBatchNormGradV3"
    arg_names = ("y_backprop", "x", "scale", "mean", "variance")
    saves_outputs = False

    def infer(self, gy: Value, x: Value, gamma: Value, mean: Value, var: Value) -> list:
        self.require_float(gy, x, gamma, mean, var)
        if gy.shape != x.shape and None not in gy.shape + x.shape:
            raise self.shape_error("y_backprop", f"the shape of x {x.shape}", gy.shape)
        return [(x.shape, x.dtype), (gamma.shape, x.dtype), (gamma.shape, x.dtype)]

    def forward(self, be, gy, x, gamma, mean, var, out=None):
        return be.batch_norm_train_grad(gy, x, gamma, mean, var, self.axes, self.eps, out=out)

    def _graph(self, gy: Value, x: Value, gamma: Value, mean: Value, var: Value) -> list:
        """The same three results as a chain of primitives, for differentiating a second time."""
        inv = ew.scalar(ew.sqrt(ew.scalar(var, "add", self.eps)), "rdiv", 1.0)
        xhat = ew.mul(ew.sub(x, mean), inv)
        gyx = ew.mul(gy, xhat)
        centred = ew.sub(ew.sub(gy, rd.mean(gy, self.axes, True)), ew.mul(xhat, rd.mean(gyx, self.axes, True)))
        return [ew.mul(ew.mul(gamma, inv), centred), rd.sum(gyx, self.axes, True), rd.sum(gy, self.axes, True)]

    def vjp(self, node, grads, needs):
        from core.autodiff import gradients
        # Identity cuts: the reverse pass must stop at this node's inputs (mean and var come from x, and the
        # outer pass adds those paths itself).
        # The chain is recorded even when the calling pass records nothing (a second backward without
        # create_graph): the inner pass below needs its nodes to walk.
        with grad_mode(True):
            cuts = [apply(ew.Identity(), v) for v in node.inputs]
            outs = self._graph(*cuts)
        pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
        return gradients([o for o, _ in pairs], cuts, [g for _, g in pairs])


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


def conv2d(x: Value, w: Value, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1,
           data_format: str = "NCHW") -> Value:
    """Convolution (cross-correlation): NCHW input with an OIHW weight (out, in / groups, kH, kW), or NHWC with
    an HWIO weight (kH, kW, in / groups, out)."""
    return apply(window_op(Conv2D, stride, padding, dilation, groups, data_format), x, w)


def conv2d_transpose(x: Value, w: Value, stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     dilation: Any = 1, groups: int = 1) -> Value:
    """Transposed convolution, NCHW input with an (in, out / groups, kH, kW) weight (PyTorch's
    ConvTranspose2d)."""
    return apply(window_op(Conv2DTranspose, stride, padding, dilation, output_padding, groups), x, w)


def conv2d_grad_input(g: Value, w: Value, x: Value, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                      groups: int = 1, data_format: str = "NCHW") -> Value:
    return apply(window_op(Conv2DBackpropInput, stride, padding, dilation, groups, data_format), g, w, x)


def conv2d_grad_weight(x: Value, g: Value, w: Value, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                       groups: int = 1, data_format: str = "NCHW") -> Value:
    return apply(window_op(Conv2DBackpropFilter, stride, padding, dilation, groups, data_format), x, g, w)


def max_pool2d(x: Value, kernel: Any, stride: Any = None, padding: Any = 0,
               data_format: str = "NCHW") -> tuple[Value, Value]:
    """Returns (pooled, argmax) where argmax holds flat input-plane indices (int32)."""
    return apply(window_op(MaxPool, kernel, stride, padding, data_format), x)


def avg_pool2d(x: Value, kernel: Any, stride: Any = None, padding: Any = 0, count_include_pad: bool = True,
               data_format: str = "NCHW") -> Value:
    return apply(window_op(AvgPool, kernel, stride, padding, count_include_pad, data_format), x)


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
    """Normalise with batch statistics; gamma/beta have the statistics' keepdims shape.  Returns (y, mean,
    biased var) with the statistics in keepdims form, for the frontend's running averages."""
    return apply(BatchNormTrain(axes, eps), x, gamma, beta)


def batch_norm_eval(x: Value, gamma: Value, beta: Value, mean: Value, var: Value, eps: float) -> Value:
    """Normalise with fixed statistics (all broadcastable against x)."""
    inv = ew.scalar(ew.sqrt(ew.scalar(var, "add", eps)), "rdiv", 1.0)
    return ew.add(ew.mul(ew.mul(ew.sub(x, mean), inv), gamma), beta)
