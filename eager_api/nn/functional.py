"""``torch.nn.functional`` over the shared primitives."""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy

import core
from core import errors as _errors
from core.errors import ArgumentError, ShapeError
from core.op import grad_mode
from eager_api.tensor import (_ATEN_NAMES, Tensor, _T, _as_tensor, _coerce, int64, minimum, ones, tensor, where,
                              zeros)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return input.relu_() if inplace else _T(core.relu(input, select_grad=True))


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    if inplace:
        return input._inplace("leaky_relu_", lambda x: leaky_relu(x, negative_slope))
    return _T(core.leaky_relu(input, negative_slope))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * expm1(x) otherwise (ATen's kernel: exp(x) - 1 is 5% off at x = -1e-6)."""
    if inplace:
        return input._inplace("elu_", lambda x: elu(x, alpha))
    return _T(core.elu(input, float(alpha)))


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with SELU's constants; ATen multiplies alpha by scale in the tensor's precision."""
    if inplace:
        return input._inplace("selu_", selu)
    ftype = input.dtype.type
    return _T(core.elu(input, float(ftype(_SELU_ALPHA) * ftype(_SELU_SCALE)), float(ftype(_SELU_SCALE))))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace:
        return input._inplace("hardtanh_", lambda x: hardtanh(x, min_val, max_val))
    return _T(core.clip_inside(input, float(min_val), float(max_val), True))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """hardtanh(x, 0, 6), as PyTorch defines it (its gradient is 0 at 0 and at 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """clamp(x + 3, 0, 6) / 6; the gradient is 1/6 strictly between -3 and 3, as ATen's."""
    if inplace:
        return input._inplace("hardsigmoid_", hardsigmoid)
    return _T(core.scalar(core.clip_inside(core.scalar(input, "add", 3.0), 0.0, 6.0, False), "div", 6.0))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * clamp(x + 3, 0, 6) / 6 in ATen's order; the clamp's gradient is zero at its bounds, so that the
    gradient is 0 at -3 and 1 at 3, as ATen's."""
    if inplace:
        return input._inplace("hardswish_", hardswish)
    clamped = core.clip_inside(core.scalar(input, "add", 3.0), 0.0, 6.0, False)
    return _T(core.scalar(core.mul(input, clamped), "div", 6.0))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    if inplace:
        return input._inplace("silu_", silu)
    return _T(core.silu(input))


def _softplus(x: Any, beta: float, threshold: float) -> Any:
    """log1p(exp(beta * x)) / beta, and x itself where beta * x > threshold (ATen's kernel).  The exp reads 0
    there instead, so that the branch not taken never overflows into a NaN gradient (NaN itself takes the
    exp's branch, and its gradient is NaN, as ATen's)."""
    bx = x if beta == 1.0 else core.scalar(x, "mul", beta)
    large = core.scalar_compare(bx, "Greater", threshold)
    soft = core.log1p(core.exp(core.where(large, core.fill_like(x, 0.0), bx)))
    if beta != 1.0:
        soft = core.scalar(soft, "div", beta)
    return core.where(large, x, soft)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return _T(_softplus(input, float(beta), float(threshold)))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)).  ATen takes log1p(exp(x)) without a threshold; above 20 that is x to float
    precision and tanh of it 1, so the threshold changes no value and keeps the gradient finite."""
    if inplace:
        return input._inplace("mish_", mish)
    return _T(core.mul(input, core.tanh(_softplus(input, 1.0, 20.0))))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) with the exact normal CDF (erf), or PyTorch's tanh approximation."""
    if approximate == "none":
        cdf = core.scalar(core.scalar(core.erf(core.scalar(input, "mul", 0.7071067811865476)), "add", 1.0),
                          "mul", 0.5)
    elif approximate == "tanh":
        cube = core.scalar(core.mul(input, core.mul(input, input)), "mul", 0.044715)
        inner = core.scalar(core.add(input, cube), "mul", 0.7978845608028654)      # sqrt(2 / pi)
        cdf = core.scalar(core.scalar(core.tanh(inner), "add", 1.0), "mul", 0.5)
    else:
        raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _T(core.mul(input, cdf))


def sigmoid(input: Tensor) -> Tensor:
    return _T(core.sigmoid(input))


def tanh(input: Tensor) -> Tensor:
    return _T(core.tanh(input))


def _get_softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    """PyTorch's legacy choice when no dim is given, with its deprecation warning: dim 0 for 0-, 1- and 3-D
    inputs (3-D was read as an unbatched (C, H, W) image), dim 1 otherwise (the classes of a batch) -- never
    the last dim.  ``stacklevel`` counts from here, so the default 3 points at the caller of ``softmax``."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as "
                  "an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _normalise(op: Any, input: Tensor, dim: int, dtype: Any) -> Tensor:
    """``op`` (core.softmax or core.log_softmax) over ``dim`` of ``input``, cast to ``dtype`` first if given
    (PyTorch's way to normalise half inputs in float32).  Core's kernels need an axis to reduce over, so a
    0-d input (dim 0 or -1, as PyTorch allows) goes through as a one-element vector."""
    x = input if dtype is None else input.to(dtype)
    if x.ndim == 0:
        return _T(op(x.reshape(1), dim)).reshape(())
    return _T(op(x, dim))


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    if dim is None:
        dim = _get_softmax_dim("softmax", input.ndim, _stacklevel)
    return _normalise(core.softmax, input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.ndim, _stacklevel)
    return _normalise(core.log_softmax, input, dim, dtype)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None, _layer: str = "linear") -> Tensor:
    """y = x W^T + b over the last dim of x."""
    out_f, in_f = weight.shape
    if input.ndim < 1 or input.shape[-1] != in_f:
        rows = input.numel() // input.shape[-1] if input.ndim and input.shape[-1] else 0
        raise ShapeError(f"{_layer}: mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1] if input.ndim else 0}"
                         f" and {in_f}x{out_f}): input of shape {tuple(input.shape)} has {input.shape[-1] if input.ndim else 0} "
                         f"features in its last dim, but weight of shape {tuple(weight.shape)} expects in_features={in_f}")
    x = input if input.ndim == 2 else input.reshape(-1, in_f)
    y = _T(core.matmul(x, weight, transpose_b=True))
    if bias is not None:
        y = _T(core.add(y, bias))
    return y if input.ndim == 2 else y.reshape(tuple(input.shape[:-1]) + (out_f,))


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    if isinstance(padding, str) and padding == "same" and stride not in (1, (1, 1)):
        raise ValueError("padding='same' is not supported for strided convolutions")
    if input.ndim == 4 and weight.ndim == 4 and input.shape[1] != weight.shape[1] * groups:
        raise ShapeError(f"conv2d: Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                         f"{list(input.shape)} to have {weight.shape[1] * groups} channels, but got {input.shape[1]} "
                         "channels instead")
    y = _T(core.conv2d(input, weight, stride, padding, dilation, groups))
    if bias is not None:
        y = _T(core.bias_add(y, bias, 1))
    return y


def _pool_pads(input: Tensor, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool, name: str) -> tuple:
    """(stride, explicit pads) after PyTorch's argument checks: ceil_mode rounds the output size up, as PyTorch
    (a last window must start inside the input or its left padding), by padding the bottom/right edges further."""
    k = _pair(kernel_size)
    s = _pair(kernel_size if stride is None else stride)      # stride=0 is an error, not the default
    p = _pair(padding)
    if min(k) < 1:
        raise ArgumentError(f"{name}: kernel size should be greater than zero, but got kernel_size={kernel_size!r}")
    if min(s) < 1:
        raise ArgumentError(f"{name}: stride should be greater than zero, but got stride={stride!r}")
    if min(p) < 0:
        raise ArgumentError(f"{name}: pad must be non-negative, but got padding={padding!r}")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ArgumentError(f"{name}: pad should be at most half of effective kernel size, but got "
                            f"padding={padding!r} and kernel_size={kernel_size!r}")
    pads = [p[0], p[0], p[1], p[1]]
    if ceil_mode:
        for axis in (0, 1):
            size = input.shape[2 + axis] + 2 * p[axis] - k[axis]
            out = -(-size // s[axis]) + 1
            if (out - 1) * s[axis] >= input.shape[2 + axis] + p[axis]:
                out -= 1
            pads[2 * axis + 1] += max(0, (out - 1) * s[axis] + k[axis] - (input.shape[2 + axis] + 2 * p[axis]))
    return s, tuple(pads)


def _single(v: Any, name: str) -> int:
    v = v if isinstance(v, (int, float)) else tuple(v)
    if isinstance(v, tuple):
        if len(v) != 1:
            raise RuntimeError(f"{name}: expected a single number or a one-element tuple, got {v}")
        v = v[0]
    return int(v)


def _as_2d(input: Tensor, name: str) -> tuple[Tensor, bool]:
    """(N, C, L) or an unbatched (C, L) as (N, C, 1, L), and whether it was unbatched."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to {name}, but got input of size: "
                           f"{list(input.shape)}")
    one = input.ndim == 2
    return (input.unsqueeze(0) if one else input).unsqueeze(2), one


def _from_2d(y: Tensor, one: bool) -> Tensor:
    y = y.squeeze(2)
    return y.squeeze(0) if one else y


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """A 1-D convolution as conv2d over a height of one (the same kernels)."""
    x, one = _as_2d(input, "conv1d")
    pad = padding if isinstance(padding, str) else (0, _single(padding, "conv1d"))
    y = conv2d(x, weight.unsqueeze(2), bias, (1, _single(stride, "conv1d")), pad, (1, _single(dilation, "conv1d")),
               groups)
    return _from_2d(y, one)


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    x, one = _as_2d(input, "max_pool1d")
    k = _single(kernel_size, "max_pool1d")
    out = max_pool2d(x, (1, k), (1, k if stride is None else _single(stride, "max_pool1d")),
                     (0, _single(padding, "max_pool1d")), (1, _single(dilation, "max_pool1d")), ceil_mode,
                     return_indices)
    if return_indices:       # the flat index over a height of one is the position along the length
        return _from_2d(out[0], one), _from_2d(out[1], one)
    return _from_2d(out, one)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    x, one = _as_2d(input, "avg_pool1d")
    k = _single(kernel_size, "avg_pool1d")
    y = avg_pool2d(x, (1, k), (1, k if stride is None else _single(stride, "avg_pool1d")),
                   (0, _single(padding, "avg_pool1d")), ceil_mode, count_include_pad)
    return _from_2d(y, one)


def _pair(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, (int, float)) else tuple(int(a) for a in v)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    y = _T(core.conv2d_transpose(input, weight, stride, padding, output_padding, dilation, groups))
    return y if bias is None else _T(core.bias_add(y, bias, 1))


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    if dilation not in (1, (1, 1)):
        raise NotImplementedError("max_pool2d: dilation > 1 is not supported yet")
    s, pads = _pool_pads(input, kernel_size, stride, padding, ceil_mode, "max_pool2d")
    y, idx = _T(core.max_pool2d(input, kernel_size, s, pads))
    return (y, idx.long()) if return_indices else y


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Any = None) -> Tensor:
    if divisor_override is not None:
        raise NotImplementedError("avg_pool2d: divisor_override is not supported yet")
    s, pads = _pool_pads(input, kernel_size, stride, padding, ceil_mode, "avg_pool2d")
    if ceil_mode and count_include_pad and any(_pair(padding)):
        # PyTorch then counts the symmetric padding but not the ceil overhang; no divisor rule here does both.
        raise NotImplementedError("avg_pool2d: ceil_mode with padding and count_include_pad=True is not supported yet")
    # Without padding, counting the ceil overhang out is exactly PyTorch's divisor.
    return _T(core.avg_pool2d(input, kernel_size, s, pads, count_include_pad and not ceil_mode))


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """PyTorch's windows: output row i averages input rows floor(i*H/oh) to ceil((i+1)*H/oh) - 1, and likewise
    for columns, computed as P_h @ x @ P_w^T with the averaging matrices P."""
    if input.ndim not in (3, 4):
        raise ShapeError(f"adaptive_avg_pool2d: expected a 3-D or 4-D input, got shape {tuple(input.shape)}")
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if len(size) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {output_size!r}")
    h, w = input.shape[-2:]
    oh, ow = (h if size[0] is None else size[0]), (w if size[1] is None else size[1])
    ph = _T(core.value(_averaging_matrix(h, oh), input.dtype, input.device))
    pw = _T(core.value(_averaging_matrix(w, ow).T, input.dtype, input.device))
    return ph @ input @ pw


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None) -> Tensor:
    """Resize the last two dims of (N, C, H, W): 'nearest' or 'bilinear', as y = A_h @ x @ A_w^T with
    PyTorch's source-coordinate rules in the interpolation matrices A (gradients flow through matmul)."""
    if input.ndim != 4:
        raise NotImplementedError(f"interpolate: only 4-D (N, C, H, W) input is supported, got {input.ndim}-D")
    if mode not in ("nearest", "bilinear"):
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported yet (nearest, bilinear)")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                         "bicubic | trilinear")
    h, w = input.shape[2:]
    if size is not None:
        out = (size, size) if isinstance(size, int) else tuple(size)
        scales = (h / out[0], w / out[1])
    else:
        sf = (scale_factor, scale_factor) if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        out = (int(h * sf[0]), int(w * sf[1]))
        scales = (1 / sf[0], 1 / sf[1])
    mats = [_interpolation_matrix(n, o, sc, mode, bool(align_corners)) for n, o, sc in zip((h, w), out, scales)]
    ah = _T(core.value(mats[0], input.dtype, input.device))
    aw = _T(core.value(mats[1].T, input.dtype, input.device))
    return ah @ input @ aw



def _deprecated_upsample(name: str) -> None:
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=3)


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated in PyTorch (with its warning): ``interpolate``."""
    _deprecated_upsample("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    _deprecated_upsample("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Bilinear with the corners aligned, as PyTorch's (deprecated) function."""
    _deprecated_upsample("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)

def _interpolation_matrix(n: int, out: int, scale: float, mode: str, align_corners: bool) -> numpy.ndarray:
    """(out, n): row i mixes the input positions that output position i reads."""
    a = numpy.zeros((out, n))
    for i in range(out):
        if mode == "nearest":
            a[i, min(int(numpy.floor(i * scale)), n - 1)] = 1.0
            continue
        if align_corners:
            src = i * (n - 1) / (out - 1) if out > 1 else 0.0
        else:
            src = max((i + 0.5) * scale - 0.5, 0.0)
        i0 = min(int(numpy.floor(src)), n - 1)
        i1 = min(i0 + 1, n - 1)
        frac = src - i0
        a[i, i0] += 1.0 - frac
        a[i, i1] += frac
    return a


def _averaging_matrix(n: int, out: int) -> numpy.ndarray:
    p = numpy.zeros((out, n))
    for i in range(out):
        lo, hi = (i * n) // out, -(-((i + 1) * n) // out)
        p[i, lo:hi] = 1.0 / (hi - lo)
    return p


def _check_dropout_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator: Any = None) -> Tensor:
    """``inplace``: the result is written into ``input`` and ``input`` returned, through the in-place ops'
    machinery (views see the write; autograd refuses a leaf that requires grad, as PyTorch does)."""
    _check_dropout_p(p)
    if not training or p == 0.0:
        return input
    if inplace:
        return input._inplace("dropout_", lambda x: dropout(x, p, training, generator=generator))
    if p == 1.0:
        return input * 0.0
    return _T(core.dropout(input, p, generator or core.random.default_generator))


def _channel_dropout(input: Tensor, p: float, training: bool, inplace: bool, drawn: int, name: str) -> Tensor:
    """Dropout with one keep/drop draw per index of the first ``drawn`` dims (sample and channel), shared
    along the others; ``inplace`` as in ``dropout``."""
    if not training or p == 0.0:
        return input
    if inplace:
        return input._inplace(name, lambda x: _channel_dropout(x, p, training, False, drawn, name))
    corner = input[(slice(None),) * drawn + (slice(0, 1),) * (input.ndim - drawn)]
    return input * dropout(_T(core.fill_like(corner, 1.0)), p, training)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout of (N, C, H, W): one keep/drop draw per (sample, channel), shared by its whole plane.
    A 3-D input is (N, C, L), as PyTorch still reads it (with its warning), not an unbatched (C, H, W)."""
    _check_dropout_p(p)
    if input.ndim not in (3, 4):
        raise ShapeError(f"dropout2d: expected a 3-D or 4-D input, got shape {tuple(input.shape)}")
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a "
                      "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
                      "please switch to using dropout1d instead.", UserWarning, stacklevel=2)
    return _channel_dropout(input, p, training, inplace, 2, "dropout2d_")


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout of (N, C, L) or (C, L): one keep/drop draw per channel, shared along its length."""
    _check_dropout_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _channel_dropout(input, p, training, inplace, input.ndim - 1, "dropout1d_")


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Channels (N, g * k, ...) reordered as (N, k * g, ...): channel i * k + j moves to j * g + i."""
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    c = input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    n, rest = input.shape[0], tuple(input.shape[2:])
    return input.reshape((n, groups, c // groups) + rest).transpose(1, 2).reshape((n, c) + rest)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """x / (k + alpha * mean of x^2 over ``size`` neighbouring channels)^beta, the window zero-padded by
    size // 2 before and (size - 1) // 2 after, as PyTorch's (an average pool over the channels)."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    shape = tuple(input.shape)
    sq = (input * input).reshape(shape[0], 1, shape[1], -1)
    sq = pad(sq, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(sq, (size, 1), stride=1).reshape(shape)
    return input / (div * alpha + k).pow(beta)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """``adaptive_avg_pool2d`` over a height of one: PyTorch's windows along the length of (N, C, L) or (C, L)."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"adaptive_avg_pool1d(): Expected 2D or 3D tensor, but got {list(input.shape)}")
    size = output_size[0] if isinstance(output_size, (tuple, list)) else output_size
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, size)).squeeze(-2)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """The maximum over PyTorch's adaptive windows (rows floor(i*H/oh) to ceil((i+1)*H/oh) - 1, likewise for
    columns) of (N, C, H, W) or (C, H, W), and with ``return_indices`` its flat index in H * W (the first
    maximum in row-major order, as ATen's scan); the gradient goes to that index."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: {list(input.shape)}")
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    h, w = input.shape[-2:]
    oh, ow = (h if size[0] is None else size[0]), (w if size[1] is None else size[1])
    windows = _adaptive_windows(h, w, oh, ow)
    flat = input.reshape(tuple(input.shape[:-2]) + (h * w,))
    candidates = flat[..., windows]                          # (..., oh * ow, widest window)
    best = candidates.argmax(-1, keepdim=True)
    values = candidates.gather(-1, best).reshape(tuple(input.shape[:-2]) + (oh, ow))
    if not return_indices:
        return values
    index = tensor(windows, device=input.device).expand(tuple(candidates.shape)).gather(-1, best)
    return values, index.reshape(values.shape)


def _adaptive_windows(h: int, w: int, oh: int, ow: int) -> numpy.ndarray:
    """Each output cell's window as flat input positions in row-major order, (oh * ow, widest window); narrower
    windows repeat their first position, which changes neither their maximum nor where it first occurs."""
    def bounds(n: int, out: int, i: int) -> range:
        return range(i * n // out, -(-(i + 1) * n // out))
    cells = [[r * w + c for r in bounds(h, oh, i) for c in bounds(w, ow, j)] for i in range(oh) for j in range(ow)]
    width = max(len(cell) for cell in cells)
    return numpy.array([cell + cell[:1] * (width - len(cell)) for cell in cells], dtype=numpy.int64)


def _block_index(size: tuple, kernel_size: Any, dilation: Any, padding: Any, stride: Any) -> tuple:
    """For sliding blocks over a (H, W) plane padded by ``padding``: the padded plane's rows and columns of
    every block element, (kh * kw, L) each (kernel position major, block in row-major order, as im2col)."""
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = (_pair(v) for v in (kernel_size, dilation, padding, stride))
    blocks = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, p, d, k, s in zip(size, (ph, pw), (dh, dw), (kh, kw),
                                                                             (sh, sw))]
    if min(blocks) < 1:
        raise RuntimeError(f"Given input with spatial size {tuple(size)}, kernel_size={(kh, kw)}, "
                           f"dilation={(dh, dw)}, padding={(ph, pw)}, calculated shape of the array of sliding "
                           f"blocks as {tuple(blocks)}, but its components must be at least one.")
    ki, kj = numpy.meshgrid(numpy.arange(kh) * dh, numpy.arange(kw) * dw, indexing="ij")
    bi, bj = numpy.meshgrid(numpy.arange(blocks[0]) * sh, numpy.arange(blocks[1]) * sw, indexing="ij")
    rows = ki.reshape(-1, 1) + bi.reshape(1, -1)
    cols = kj.reshape(-1, 1) + bj.reshape(1, -1)
    return rows, cols, (ph, pw), blocks


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C * kh * kw, L), each column one sliding block (zero padding), exact copies;
    the gradient adds back what each position gave to every block."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    rows, cols, (ph, pw), _ = _block_index(tuple(input.shape[-2:]), kernel_size, dilation, padding, stride)
    x = pad(input, (pw, pw, ph, ph)) if ph or pw else input
    blocks = x[..., rows, cols]                          # (..., C, kh * kw, L)
    lead = tuple(input.shape[:-3])
    return blocks.reshape(lead + (input.shape[-3] * rows.shape[0], rows.shape[1]))


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Tensor:
    """col2im, the adjoint of ``unfold``: (N, C * kh * kw, L) -> (N, C, H, W), overlapping block elements summed
    (in im2col's order: kernel position major, then block)."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    size = _pair(output_size)
    rows, cols, (ph, pw), blocks = _block_index(size, kernel_size, dilation, padding, stride)
    k, n_blocks = rows.shape
    if input.shape[-2] % k:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                           f"but got input.size(1)={input.shape[-2]} and kernel_size={tuple(_pair(kernel_size))}.")
    if input.shape[-1] != n_blocks:
        raise RuntimeError(f"Given output_size={tuple(size)}, kernel_size={tuple(_pair(kernel_size))}, "
                           f"dilation={tuple(_pair(dilation))}, padding={(ph, pw)}, stride={tuple(_pair(stride))}, "
                           f"expected size of input's dimension 2 to match the calculated number of sliding blocks "
                           f"{blocks[0]} * {blocks[1]} = {n_blocks}, but got input.size(2)={input.shape[-1]}.")
    lead = tuple(input.shape[:-2])
    c = input.shape[-2] // k
    canvas = zeros(lead + (c, size[0] + 2 * ph, size[1] + 2 * pw), dtype=input.dtype, device=input.device)
    index = (Ellipsis, rows, cols)
    out = _T(core.apply(core.ops.shape.GetItemGrad(index), input.reshape(lead + (c, k, n_blocks)), canvas))
    return out[..., ph:ph + size[0], pw:pw + size[1]] if ph or pw else out


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``; the padding row (``padding_idx``, negative counted
    from the end) is returned as it is but gets no gradient, as PyTorch's (nn.Embedding zeroes it at init)."""
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding: argument 'input' expected an integer tensor, got {input.dtype}")
    rows = _T(core.ops.shape.take(weight, input, 0))     # an index outside [0, rows) raises, -1 included
    if padding_idx is None:
        return rows
    n = weight.shape[0]
    if not -n <= padding_idx < n:
        raise AssertionError("Padding_idx must be within num_embeddings")
    keep = (input != padding_idx % n).unsqueeze(-1)
    return where(keep, rows, rows.detach())


def _check_reduction(reduction: str, name: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: {reduction} is not a valid value for reduction")


def _reduce(loss: Tensor, reduction: str, name: str) -> Tensor:
    _check_reduction(reduction, name)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _positions(input: Tensor, target: Tensor, name: str) -> tuple[Tensor, Tensor, tuple | None]:
    """A K-dimensional loss input (N, C, d1, ...) as rows of classes (N * d1 * ..., C), its target likewise,
    and the shape a 'none' reduction hands back (None for a plain (N, C) input): each position is one more
    row, so weights, ignore_index and the 'mean' over kept rows come out as PyTorch's."""
    if input.ndim == 2:
        return input, target, None
    if input.ndim < 2:
        raise ShapeError(f"{name}: expected input of shape (N, C) or (N, C, d1, ...), got {tuple(input.shape)}")
    c = input.shape[1]
    last = (0,) + tuple(range(2, input.ndim)) + (1,)
    rows = input.permute(*last).reshape(-1, c)
    if target.dtype.kind in "iu":
        want = (input.shape[0],) + tuple(input.shape[2:])
        if tuple(target.shape) != want:
            raise ShapeError(f"{name}: expected target of shape {want} for input of shape {tuple(input.shape)}, "
                             f"got {tuple(target.shape)}")
        return rows, target.reshape(-1), want
    if tuple(target.shape) != tuple(input.shape):
        raise ShapeError(f"{name}: expected probability target of shape {tuple(input.shape)}, "
                         f"got {tuple(target.shape)}")
    return rows, target.permute(*last).reshape(-1, c), (input.shape[0],) + tuple(input.shape[2:])


def _check_class_target(input: Tensor, target: Tensor) -> None:
    """ATen's nll_loss reads class indices as int64 ('Long') or uint8 ('Byte') only, and its kernel for one loss
    per position ((N, C, d1, ...) inputs) int64 only."""
    dtype = target.dtype        # compared as dtypes: ``dtype.name`` is a Python property, ~8 us a call
    if dtype != numpy.int64 and dtype != numpy.uint8:
        raise RuntimeError("expected target dtype to be Long or Byte, but got "
                           f"{_ATEN_NAMES.get(dtype.name, dtype.name)}")
    if dtype == numpy.uint8 and input.ndim > 2:
        raise RuntimeError("expected scalar type Long but found Byte")


def cross_entropy(input: Tensor, target: Tensor, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy from logits over dim 1 (``(N, C)``, or ``(N, C, d1, ...)`` per position);
    ``target`` holds class indices or class probabilities.

    Without class weights this is one fused primitive; with them, a composition of primitives."""
    target = _as_tensor(target, input)
    # As PyTorch: a target of the input's shape holds probabilities, any other class indices.
    if tuple(target.shape) != tuple(input.shape):
        _check_class_target(input, target)
    elif target.dtype.kind != "f":
        raise RuntimeError("Expected floating point type for target with class probabilities, got "
                           f"{_ATEN_NAMES.get(target.dtype.name, target.dtype.name)}")
    input, target, positions = _positions(input, target, "cross_entropy")
    if positions is not None:
        loss = cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)
        return loss.reshape(*positions) if reduction == "none" else loss
    _check_reduction(reduction, "cross_entropy")
    if target.dtype.kind in "iu":
        if target.ndim != 1 or target.shape[0] != input.shape[0]:
            raise ShapeError(f"cross_entropy: expected target of shape ({input.shape[0]},) for input of shape "
                             f"{tuple(input.shape)}, got {tuple(target.shape)}")
        if weight is not None:
            return _weighted_nll(log_softmax(input, 1), target, weight, ignore_index, reduction, label_smoothing,
                                 "cross_entropy")
        return _T(core.softmax_cross_entropy(input, target, label_smoothing, ignore_index, reduction))
    if tuple(target.shape) != tuple(input.shape):
        raise ShapeError(f"cross_entropy: expected probability target of shape {tuple(input.shape)}, "
                         f"got {tuple(target.shape)}")
    target = target.to(input.dtype)
    if weight is not None:
        c = input.shape[1]
        smoothed = target * (1 - label_smoothing) + label_smoothing / c if label_smoothing else target
        w = _class_weight(weight, input, "cross_entropy")
        return _reduce(-(log_softmax(input, 1) * smoothed * w).sum(1), reduction, "cross_entropy")
    return _T(core.softmax_cross_entropy(input, target, label_smoothing, reduction=reduction))


def _class_weight(weight: Any, input: Tensor, name: str) -> Tensor:
    w = _as_tensor(weight, input).to(input.dtype)
    if w.ndim != 1 or w.shape[0] != input.shape[1]:
        raise ShapeError(f"{name}: argument 'weight' expected shape ({input.shape[1]},), one weight per class, got "
                         f"{tuple(w.shape)}")
    return w


def _weighted_nll(logp: Tensor, target: Tensor, weight: Any, ignore_index: int, reduction: str, smoothing: float,
                  name: str) -> Tensor:
    """PyTorch's class-weighted NLL (with label smoothing): row i counts w[y_i]; 'mean' divides by the sum of
    the kept rows' weights."""
    w = _class_weight(weight, logp, name)
    if not smoothing:
        return _T(core.ops.loss.nll_loss(logp, target, w, ignore_index, reduction))
    loss = _T(core.ops.loss.nll_loss(logp, target, w, ignore_index, "none"))     # checks the targets
    kept = target != ignore_index
    # An ignored row reads nothing (its log-probabilities may be -inf).
    spread = where(kept, (logp * w).sum(1), 0.0)
    loss = loss * (1 - smoothing) - spread * (smoothing / logp.shape[1])
    if reduction == "mean":
        row_w = where(kept, _T(core.ops.shape.take(w, where(kept, target, 0))), 0.0)
        return loss.sum() / row_w.sum()
    return loss.sum() if reduction == "sum" else loss


def nll_loss(input: Tensor, target: Tensor, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """-input[i, target_i] per row (weighted by class), reading only the target's entry."""
    _check_reduction(reduction, "nll_loss")
    target = _as_tensor(target, input)
    _check_class_target(input, target)
    input, target, positions = _positions(input, target, "nll_loss")
    w = None if weight is None else _class_weight(weight, input, "nll_loss")
    loss = _T(core.ops.loss.nll_loss(input, target, w, ignore_index, reduction))
    return loss.reshape(*positions) if positions is not None and reduction == "none" else loss


def _broadcast_warning(input: Tensor, target: Tensor) -> None:
    """PyTorch's regression losses broadcast a target of another size, with this warning (an (N, 1) output
    against (N,) targets gives an (N, N) difference: the numbers are PyTorch's, and so is the hint)."""
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", UserWarning, stacklevel=3)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    target = _as_tensor(target, input)
    _broadcast_warning(input, target)
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    target = _as_tensor(target, input)
    _broadcast_warning(input, target)
    return _reduce((input - target).abs(), reduction, "l1_loss")


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta beyond (beta 0: the L1 loss)."""
    target = _as_tensor(target, input)
    _broadcast_warning(input, target)
    if beta < 0:
        raise ArgumentError(f"smooth_l1_loss: argument 'beta' must be non-negative, got {beta}")
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction, "smooth_l1_loss")
    # ATen's rounding: 0.5 * d * d / beta, a division by beta (not a product with 0.5 / beta).
    return _reduce(where(d < beta, d * d * 0.5 / beta, d - 0.5 * beta), reduction, "smooth_l1_loss")


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| <= delta, delta (|d| - 0.5 delta) beyond."""
    target = _as_tensor(target, input)
    _broadcast_warning(input, target)
    if delta <= 0:
        raise ArgumentError(f"huber_loss: argument 'delta' must be positive, got {delta}")
    d = (input - target).abs()
    return _reduce(where(d <= delta, d * d * 0.5, (d - 0.5 * delta) * delta), reduction, "huber_loss")


def kl_div(input: Tensor, target: Tensor, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise, ``input`` log-probabilities: target (log target - input), 0 where
    the target is 0 (PyTorch's xlogy); 'batchmean' divides the sum by the batch size, 'mean' (PyTorch warns)
    by the element count."""
    target = _as_tensor(target, input)
    if reduction not in ("mean", "batchmean", "sum", "none"):
        raise ValueError(f"kl_div: {reduction} is not a valid value for reduction")
    if log_target:
        loss = target.exp() * (target - input)
    else:       # ATen's xlogy(target, target) - target * input, rounded as it rounds
        safe = where(target > 0, target, 1.0)       # log is read only where the target is positive
        loss = where(target > 0, target * safe.log(), 0.0) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=2)
    return _reduce(loss, reduction, "kl_div")


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 / |x1| * x2 / |x2|) along ``dim``, each norm raised to ``eps`` at least.  As PyTorch, the raise
    is made without autograd: the gradient is the unclamped norm's (the divisor is the clamped value exactly,
    plus the norm minus itself)."""
    x2 = _as_tensor(x2, x1)

    def unit(x: Tensor) -> Tensor:
        n = x.norm(2, dim, True)
        return x / (n.clamp(min=eps).detach() + (n - n.detach()))
    return (unit(x1) * unit(x2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """The p-norm (1 or 2) of x1 - x2 + eps along the last dim, as ATen's (eps added to each difference)."""
    x1, x2 = _coerce(x1, _as_tensor(x2, x1))
    return (x1 - x2 + eps).norm(p, max(x1.ndim, x2.ndim) - 1, keepdim)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: str = "mean") -> Tensor:
    """max(0, -target * (input1 - input2) + margin), as ATen's."""
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} ")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction, "margin_ranking_loss")


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(anchor, positive) - d(anchor, negative)) with ``pairwise_distance``; ``swap`` takes the
    smaller of d(anchor, negative) and d(positive, negative), as ATen's."""
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((d_pos - d_neg + margin).clamp_min(0), reduction, "triplet_margin_loss")


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: str = "mean") -> Tensor:
    """1 - cos(input1, input2) where target is 1, max(0, cos - margin) where it is -1, 0 elsewhere; the cosine as
    ATen's: the dot product over sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12)), along the dim after target's."""
    if target.ndim not in (0, 1) or input1.ndim != target.ndim + 1 or input2.ndim != input1.ndim:
        raise RuntimeError(f"cosine_embedding_loss: expected 1-D inputs with a 0-D target or 2-D inputs with a 1-D "
                           f"target, got input1 {list(input1.shape)}, input2 {list(input2.shape)}, target "
                           f"{list(target.shape)}")
    d = target.ndim
    dot = (input1 * input2).sum(d)
    norms = ((input1 * input1).sum(d) + 1e-12) * ((input2 * input2).sum(d) + 1e-12)
    cos = dot / norms.sqrt()
    zero = zeros((), dtype=cos.dtype, device=cos.device)
    loss = where(target == 1, 1 - cos, zero) + where(target == -1, (cos - margin).clamp_min(0), zero)
    return _reduce(loss, reduction, "cosine_embedding_loss")


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     eps: float = 1e-8, reduction: str = "mean") -> Tensor:
    """exp(input) - target * input (``log_input``) or input - target * log(input + eps); ``full`` adds
    Stirling's target * log(target) - target + log(2 pi target) / 2 where target > 1."""
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + (target * (2 * math.pi)).log() * 0.5
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction, "poisson_nll_loss")


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Any, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """(log(var) + (input - target)^2 / var) / 2 (+ log(2 pi) / 2 with ``full``), var clamped at eps without
    autograd; var of input's shape, or one short of it, or 1 in one dim (PyTorch's checks)."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = ones(tuple(input.shape), dtype=input.dtype, device=input.device) * var
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (input.ndim == var.ndim and sum(b for a, b in zip(input.shape, var.shape) if a != b) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    clamped = var.clamp(min=eps)
    var = clamped.detach() + (var - var.detach())        # the clamp is made without autograd, as PyTorch's
    loss = ((input - target) ** 2 / var + var.log()) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                reduction: str = "mean") -> Tensor:
    """-(target * logsigmoid(input) + (1 - target) * logsigmoid(-input)), weighted, averaged over the classes
    (the last dim)."""
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(input.ndim - 1) / input.shape[-1]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return _reduce(loss, reduction, "multilabel_soft_margin_loss")


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``input`` over its p-norm along ``dim``, the norm raised to ``eps`` at least (p 1 or 2)."""
    return input / input.norm(p, dim, True).clamp(min=eps)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of logits, stable for any logit (``core.sigmoid_cross_entropy``)."""
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    pw = None if pos_weight is None else _as_tensor(pos_weight, input)
    loss = _T(core.sigmoid_cross_entropy(input, target, pw))
    return _reduce(loss if weight is None else loss * weight, reduction, "binary_cross_entropy_with_logits")


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """-(y log p + (1 - y) log(1 - p)), each log clamped at -100, with ATen's gradient (``core``'s
    BinaryCrossEntropy)."""
    _check_reduction(reduction, "binary_cross_entropy")
    _same_shape(input, target, "binary_cross_entropy")
    loss = _T(core.binary_cross_entropy(input, target))
    return _reduce(loss if weight is None else loss * weight, reduction, "binary_cross_entropy")


def _same_shape(input: Tensor, target: Tensor, name: str) -> None:
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{name}: Using a target size ({tuple(target.shape)}) that is different to the input size "
                         f"({tuple(input.shape)}) is deprecated. Please ensure they have the same size.")


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class values must lie in [0, num_classes) (TensorFlow's one_hot gives zero rows instead)."""
    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError("one_hot: Can not infer total number of classes from empty tensor; pass num_classes")
        num_classes = int(tensor.max().item()) + 1
    return _T(core.one_hot(tensor, num_classes, int64, check=True))


def pad(input: Tensor, pad: tuple, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad) // 2 dims, last dim first: with ``value`` ('constant'; negative amounts crop), or
    with the input's own values ('reflect' about the edge, 'replicate' the edge, 'circular' wrap around),
    gathered by index so that each value is an exact copy and the gradient adds back where copies came from."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {input.ndim}")
    if mode != "constant":
        return _pad_from_input(input, tuple(int(p) for p in pad), mode, value)
    value = 0.0 if value is None else value
    pairs = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        pairs[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    # A negative amount crops that side, as in PyTorch: crop first, then pad what is positive.
    if any(a < 0 or b < 0 for a, b in pairs):
        crop = tuple(slice(max(-a, 0), n - max(-b, 0)) for (a, b), n in zip(pairs, input.shape))
        input = input[crop]
        pairs = [(max(a, 0), max(b, 0)) for a, b in pairs]
    return _T(core.pad(input, pairs, value))


def _pad_from_input(input: Tensor, pad: tuple, mode: str, value: Any) -> Tensor:
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    k = len(pad) // 2
    if not 1 <= k <= 3 or not k + 1 <= input.ndim <= k + 2:
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor.\nSupported combinations for "
            "non-constant padding:\n  - 2D or 3D input: padding size = 2 (pads last dimension)\n  - 3D or 4D input: "
            "padding size = 4 (pads last 2 dimensions)\n  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    out = input
    for i in range(k):
        d = input.ndim - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        n = input.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, but "
                               f"got: padding ({lo}, {hi}) at dimension {d} of input {list(input.shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        # ATen crops by a negative pad first, and a circular pad then wraps within what is left
        first, kept = max(-lo, 0), n - max(-lo, 0) - max(-hi, 0)
        if mode == "circular" and kept <= 0 and (lo > 0 or hi > 0):
            raise RuntimeError(f"Padding ({lo}, {hi}) at dimension {d} leaves nothing of input {list(input.shape)} "
                               f"to wrap around")
        if mode == "replicate" and n == 0:
            raise RuntimeError(f"padding size is expected to be > 0 along dim {d}, but got {list(input.shape)}")
        at = numpy.arange(-lo, n + hi)
        if mode == "reflect":
            at = (n - 1) - numpy.abs((n - 1) - numpy.abs(at))
        elif mode == "replicate":
            at = numpy.clip(at, 0, n - 1)
        else:
            at = first + numpy.arange(-max(lo, 0), kept + max(hi, 0)) % max(kept, 1)
        out = out.index_select(d, tensor(at, device=input.device))
    return out


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): each group of r^2 channels becomes an r x r block (views and one
    copy: values unchanged)."""
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of ``pixel_shuffle``."""
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        which, size = ("height", h) if h % r else ("width", w)
        raise RuntimeError(f"pixel_unshuffle expects {which} to be divisible by downscale_factor, but input.size("
                           f"{-2 if which == 'height' else -1})={size} is not divisible by {r}")
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else weight * x, the weight along dim 1 (one weight: every element).  The select keeps
    the gradients exact: g or weight * g for x, the sum of x * g where x <= 0 for the weight."""
    if weight.numel() != 1:
        if input.ndim < 2 or input.shape[1] != weight.numel():
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{weight.numel()} and channel size = {input.shape[1] if input.ndim > 1 else 1}.")
        weight = weight.reshape((1, -1) + (1,) * (input.ndim - 2))
    return where(input > 0, input, weight * input)


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Each sample's channels normalized on their own: batch norm of (1, N * C, ...), as ATen computes it; with
    running statistics, they move by the mean over the batch of each sample's update."""
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    n, c = input.shape[0], input.shape[1]
    x = input.reshape((1, n * c) + tuple(input.shape[2:]))
    rm = running_mean.repeat(n) if running_mean is not None else None
    rv = running_var.repeat(n) if running_var is not None else None
    w = weight.repeat(n) if weight is not None else None
    b = bias.repeat(n) if bias is not None else None
    y = batch_norm(x, rm, rv, w, b, use_input_stats, momentum, eps)
    if use_input_stats:
        with grad_mode(False):
            if running_mean is not None:
                running_mean.copy_(rm.reshape(n, c).mean(0))
            if running_var is not None:
                running_var.copy_(rv.reshape(n, c).mean(0))
    return y.reshape(input.shape)


def logsigmoid(input: Tensor) -> Tensor:
    """min(x, 0) - log1p(exp(-|x|)), ATen's formula (no overflow either side); at 0 the kinks of min and abs
    share the gradient, which gives ATen's 1/2."""
    zero = zeros((), dtype=input.dtype, device=input.device)
    return _T(core.sub(core.minimum(input, core.broadcast_like(zero, input), split_ties=True),
                       core.log1p(core.exp(core.neg(core.abs(input))))))


def softsign(input: Tensor) -> Tensor:
    return input / (input.abs() + 1)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    if dim is None:
        dim = _get_softmax_dim("softmin", input.ndim, _stacklevel)
    return _normalise(core.softmax, -input, dim, dtype)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value (gradient 0 there)."""
    if inplace:
        return input._inplace("threshold_", lambda x: globals()["threshold"](x, threshold, value))
    return where(input > threshold, input, tensor(value, dtype=input.dtype, device=input.device))


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) for the two halves (a, b) of ``dim``."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.ndim} is size "
                           f"{input.shape[dim]}")
    a, b = input.chunk(2, dim)
    return a * sigmoid(b)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x above 0, alpha * expm1(x / alpha) below: ATen's elu with its input scaled by 1 / alpha."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    if inplace:
        return input._inplace("celu_", lambda x: celu(x, alpha))
    if alpha == 1.0:
        return elu(input, 1.0)
    scaled = _T(core.elu(core.scalar(input, "mul", 1.0 / alpha), float(alpha)))
    return where(input <= 0, scaled, input)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """0 on [-lambd, lambd], x outside."""
    inside = (input >= -lambd) & (input <= lambd)
    return where(inside, zeros((), dtype=input.dtype, device=input.device), input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    if lambd < 0:
        info = numpy.finfo(input.dtype)
        raise RuntimeError(f"lambda must be in range [0, {float(info.max):g}] for input dtype "
                           f"{_ATEN_NAMES.get(input.dtype.name, input.dtype.name)}, but found {lambd:g}")
    zero = zeros((), dtype=input.dtype, device=input.device)
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, zero))


def tanhshrink(input: Tensor) -> Tensor:
    return input - input.tanh()


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return input.flatten(start_dim, end_dim)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch norm over all dims but 1; in training, updates the running statistics in place."""
    c = input.shape[1]
    bshape = (1, c) + (1,) * (input.ndim - 2)
    like = dict(dtype=input.dtype, device=input.device)
    g = weight.reshape(bshape) if weight is not None else ones(bshape, **like)
    b = bias.reshape(bshape) if bias is not None else zeros(bshape, **like)
    axes = (0,) + tuple(range(2, input.ndim))
    n = input.numel() // c if c else 0      # values per channel
    if training and n == 1:
        # One value per channel has no variance to normalise by.
        raise ValueError(f"batch_norm: Expected more than 1 value per channel when training, got input size "
                         f"{input.shape}")
    if training:
        y, mean, var = _T(core.batch_norm_train(input, g, b, axes, eps))
        if running_mean is not None:
            with grad_mode(False):      # running statistics are buffers, not part of the graph
                running_mean.mul_(1 - momentum).add_(mean.reshape(c) * momentum)
                running_var.mul_(1 - momentum).add_(var.reshape(c) * (momentum * n / max(n - 1, 1)))
        return y
    return _T(core.batch_norm_eval(input, g, b, running_mean.reshape(bshape), running_var.reshape(bshape), eps))


def _normalize(x: Any, axes: tuple, eps: float) -> Any:
    """(x - mean) / sqrt(var + eps) over ``axes`` (biased variance): the batch-norm primitive with unit scale and
    zero offset, whose gradient is one fused pass."""
    stats = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    like = dict(dtype=x.dtype, device=x.device)
    y, _, _ = core.batch_norm_train(x, ones(stats, **like), zeros(stats, **like), axes, eps)
    return y


def _affine(y: Any, weight: Tensor | None, bias: Tensor | None, shape: tuple) -> Any:
    if weight is not None:
        y = core.mul(y, weight.reshape(shape))
    if bias is not None:
        y = core.add(y, bias.reshape(shape))
    return y


def _normalized_shape(fn: str, input: Tensor, normalized_shape: Any, **affine: Tensor | None) -> tuple:
    """``normalized_shape`` as a tuple, checked against the input's trailing dimensions and the affine tensors'
    shapes as ATen checks them for ``fn`` (``layer_norm`` or ``rms_norm``: their messages differ)."""
    shape = (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(int(n) for n in normalized_shape)
    k = len(shape)
    if k == 0:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
                           f"element, but got normalized_shape = {list(shape)}")
    if fn == "rms_norm" and input.ndim < k:
        raise ValueError(f"Input tensor must have at least {k} dimensions, but got {input.ndim}")
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        star = "*, " if fn == "layer_norm" else "*"
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape [{star}"
                           f"{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    for name, t in affine.items():
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                               f"{list(t.shape)} and normalized_shape = {list(shape)}")
    return shape


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize over the last ``len(normalized_shape)`` dimensions, then scale and shift elementwise."""
    shape = _normalized_shape("layer_norm", input, normalized_shape, weight=weight, bias=bias)
    y = _normalize(input, tuple(range(input.ndim - len(shape), input.ndim)), float(eps))
    return _T(_affine(y, weight, bias, shape))


def rms_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the last ``len(normalized_shape)`` dimensions, times ``weight``, as ATen's
    CPU kernel computes it: in float32 for a float16 input (then rounded to float16), ``eps`` by default the
    machine epsilon of that computing type (float32's for float16, whatever the docs say: measured), and
    ``(x * rstd) * weight``."""
    shape = _normalized_shape("rms_norm", input, normalized_shape, weight=weight)
    x = input.float() if input.dtype == numpy.float16 else input
    eps = float(numpy.finfo(x.dtype).eps) if eps is None else eps
    y = x * (x * x).mean(tuple(range(x.ndim - len(shape), x.ndim)), keepdim=True).add(eps).rsqrt()
    if weight is not None:
        y = y * weight.to(x.dtype)
    return y.to(input.dtype)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize each sample's channels in ``num_groups`` groups (all of a group's values together), then scale
    and shift per channel."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    n, c = input.shape[0], input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, "
                               f"but got {name} of shape {list(t.shape)} and input of shape {list(input.shape)}")
    # ATen computes the statistics with Welford's updates and y = x * (rstd * weight) + (bias - mean * rstd *
    # weight), which cancels near the mean: values there differ from this (more accurate) form by up to ~2e-5
    # relative, as they do from ATen's own float64 result.
    grouped = core.reshape(input, (n, num_groups, -1))
    y = core.reshape(_normalize(grouped, (2,), float(eps)), tuple(input.shape))
    return _T(_affine(y, weight, bias, (1, c) + (1,) * (input.ndim - 2)))


def _share_heads(t: Tensor, query: Tensor, name: str) -> Tensor:
    """Grouped-query attention: each of the key's (or value's) heads serves query.shape[-3] / t.shape[-3]
    consecutive query heads, as PyTorch's repeat_interleave over dim -3."""
    heads, groups = query.shape[-3], t.shape[-3]
    if heads % groups:
        raise RuntimeError(f"scaled_dot_product_attention: Number of heads in key and value must divide the number "
                           f"of heads in query, got {heads} query heads and {groups} {name} heads")
    return t if groups == heads else t.repeat_interleave(heads // groups, dim=-3)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T * scale + bias) v over the last two dims, PyTorch's math reference: ``scale`` defaults to
    1/sqrt(E); a boolean ``attn_mask`` keeps the True positions, a float one is added; ``is_causal`` keeps the lower
    triangle; rows with no position left give zeros (ATen's safe softmax), not NaN; ``enable_gqa`` lets key and
    value have fewer heads (dim -3) than query, each shared by a group of query heads.

        >>> import eager_api as torch
        >>> q = torch.ones(2, 3, 4)
        >>> tuple(torch.nn.functional.scaled_dot_product_attention(q, q, torch.zeros(2, 3, 5)).shape)
        (2, 3, 5)
    """
    if not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(f"scaled_dot_product_attention: dropout probability has to be between 0 and 1, but got "
                           f"{dropout_p}")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if attn_mask is not None and attn_mask.dtype != bool and attn_mask.dtype.kind != "f":
        raise RuntimeError(f"scaled_dot_product_attention: Expected attn_mask dtype to be bool or float or to match "
                           f"query dtype, but got attn_mask.dtype: {attn_mask.dtype} and  query.dtype: "
                           f"{query.dtype} instead.")
    if enable_gqa:
        key, value = (_share_heads(t, query, name) for t, name in ((key, "key"), (value, "value")))
    length, source = query.shape[-2], key.shape[-2]
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * factor
    if is_causal:
        attn_mask = ones(length, source, dtype=bool).tril()
    if attn_mask is not None and attn_mask.dtype == bool:
        scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
    elif attn_mask is not None:
        scores = scores + attn_mask
    # A row masked everywhere would be NaN after the softmax; ATen's _safe_softmax makes it zeros.  The row is
    # filled before the softmax too, so that its backward sees finite values and passes no NaN to q and k.
    dead = (scores == float("-inf")).all(dim=-1, keepdim=True)
    weights = softmax(scores.masked_fill(dead, 0.0), dim=-1).masked_fill(dead, 0.0)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return weights @ value


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
