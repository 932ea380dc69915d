"""``tf.nn``: NHWC by default as in TensorFlow; NCHW accepted.  Both run the NCHW core primitives."""
from __future__ import annotations

import collections
from typing import Any, Sequence

import numpy

import core
from core import errors as _errors
from core.op import apply
from core.ops.nn import AvgPool, Conv2D, MaxPool
from core.ops.shape import take
from static_api.graph import Tensor, named
from static_api.ops import _named_or, _pair, _t, cast, int32, subtract

TopKV2 = collections.namedtuple("TopKV2", ["values", "indices"])


def relu(features, name=None):
    return named(core.relu(_t(features)), name)


def relu6(features, name=None):
    """min(max(x, 0), 6); the gradient passes where 0 < x < 6 (TF's Relu6Grad; not at NaN)."""
    return named(core.clip_inside(_t(features), 0.0, 6.0, False), name)


def _exp_minus_one(x: Any) -> Any:
    """exp(x) - 1 for x < 0 as TF's Elu and Selu kernels compute it (not expm1), of min(x, 0) so that the branch
    not taken never overflows into a NaN gradient."""
    return core.scalar(core.exp(core.minimum(x, core.fill_like(x, 0.0))), "add", -1.0)


def elu(features, name=None):
    """x for x >= 0, exp(x) - 1 below (TF's kernel)."""
    x = _t(features)
    return named(core.where(core.scalar_compare(x, "Less", 0), _exp_minus_one(x), x), name)


def selu(features, name=None):
    """scale * x for x >= 0, scale * alpha * (exp(x) - 1) below, with TF's float constants."""
    x = _t(features)
    ftype = x.dtype.type
    neg = core.scalar(_exp_minus_one(x), "mul", float(ftype(1.7580993408473768599402175208123)))
    pos = core.scalar(x, "mul", float(ftype(1.0507009873554804934193349852946)))
    return named(core.where(core.scalar_compare(x, "Less", 0), neg, pos), name)


def softplus(features, name=None):
    """log(1 + exp(x)) as TF's kernel: x above -t, exp(x) below t, log1p(exp(x)) between, t = log(eps) + 2 of the
    dtype; the exp reads min(x, -t) so that the branch not taken never overflows into a NaN gradient."""
    x = _t(features)
    t = float(numpy.log(numpy.finfo(x.dtype).eps) + 2)
    e = core.exp(core.minimum(x, core.fill_like(x, -t)))
    small = core.where(core.scalar_compare(x, "Less", t), e, core.log1p(e))
    return named(core.where(core.scalar_compare(x, "Greater", -t), x, small), name)


def swish(features, name=None):
    """x * sigmoid(x), as TF computes it."""
    x = _t(features)
    return named(core.mul(x, core.sigmoid(x)), name)


def gelu(features, approximate=False, name=None):
    """TF's: 0.5 x (1 + erf(x / sqrt(2))), or 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))."""
    x = _t(features)
    if approximate:
        inner = core.scalar(core.add(x, core.scalar(core.pow(x, _t(numpy.array(3.0, x.dtype))), "mul", 0.044715)),
                            "mul", 0.7978845608028654)
        return named(core.mul(core.scalar(x, "mul", 0.5), core.scalar(core.tanh(inner), "add", 1.0)), name)
    # x / sqrt(2): Grappler multiplies by the constant's reciprocal, taken in the dtype
    ratio = core.scalar(x, "mul", float(x.dtype.type(1) / x.dtype.type(1.4142135623730951)))
    return named(core.mul(core.scalar(x, "mul", 0.5), core.scalar(core.erf(ratio), "add", 1.0)), name)


def hard_sigmoid(x, name=None):
    """Keras 3's (TF backend): relu6(x + 3) / 6, the division a multiplication by 1/6 after Grappler."""
    x = _t(x)
    return named(core.scalar(relu6(core.scalar(x, "add", 3.0)), "mul", float(x.dtype.type(1) / x.dtype.type(6))),
                 name)


def sigmoid(x, name=None):
    return named(core.sigmoid(_t(x)), name)


def tanh(x, name=None):
    return named(core.tanh(_t(x)), name)


def softmax(logits, axis=None, name=None):
    return named(core.softmax(_t(logits), -1 if axis is None else axis), name)


def log_softmax(logits, axis=None, name=None):
    return named(core.log_softmax(_t(logits), -1 if axis is None else axis), name)


def _hw(v: Any, fmt: str, what: str) -> tuple[int, int]:
    """TF's 1-, 2- or 4-element strides/ksize/dilations -> (h, w)."""
    if isinstance(v, int):
        return (v, v)
    v = list(v)
    if len(v) == 1:
        return (v[0], v[0])
    if len(v) == 2:
        return tuple(v)
    if len(v) == 4:
        n, h, w, c = (v[0], v[1], v[2], v[3]) if fmt == "NHWC" else (v[0], v[2], v[3], v[1])
        if n != 1 or c != 1:
            raise ValueError(f"{what}: strides/ksize on the batch and depth dimensions must be 1, got {v}")
        return (h, w)
    raise ValueError(f"{what}: expected 1, 2 or 4 values, got {v}")


def _fmt(data_format: str | None) -> str:
    fmt = (data_format or "NHWC").upper()
    if fmt not in ("NHWC", "NCHW"):
        raise ValueError(f"data_format must be 'NHWC' or 'NCHW', got {data_format!r}")
    return fmt


def _to_nchw(x: Any, fmt: str) -> Tensor:
    x = _t(x)       # a NumPy image is a constant, as in TF
    return core.transpose(x, (0, 3, 1, 2)) if fmt == "NHWC" else x


def _from_nchw(y: Tensor, fmt: str) -> Tensor:
    return core.transpose(y, (0, 2, 3, 1)) if fmt == "NHWC" else y


def _padding(padding: Any, fmt: str = "NHWC") -> Any:
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID"):
            raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}")
        return padding.lower()
    pairs = [tuple(p) for p in padding]
    if len(pairs) == 4:
        return pairs[1] + pairs[2] if fmt == "NHWC" else pairs[2] + pairs[3]
    return pairs[0] + pairs[1]


def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None, name=None):
    """2-D convolution with HWIO filters; TF's SAME/VALID arithmetic.  Filters with fewer input channels than
    the input has make a grouped convolution, as in TF (the input depth a multiple of the filters')."""
    fmt = _fmt(data_format)
    x = _to_nchw(input, fmt)
    filters = _t(filters, like=x)       # NumPy filters are constants, as in TF
    if len(filters.shape) != 4:
        raise ValueError(f"Conv2D: filters must be 4-D (height, width, in, out), got shape {filters.shape}")
    depth, per_group = x.shape[1], filters.shape[2]
    groups = 1
    if depth is not None and per_group and depth != per_group:
        if depth % per_group:
            raise ValueError(f"Conv2D: input depth must be evenly divisible by filter depth: {depth} vs {per_group}")
        groups = depth // per_group
    w = core.transpose(filters, (3, 2, 0, 1))
    y = apply(Conv2D(_hw(strides, fmt, "Conv2D"), _padding(padding, fmt), _hw(dilations or 1, fmt, "Conv2D"), groups),
              x, w)
    return named(_from_nchw(y, fmt), name)


def conv2d_transpose(value=None, filter=None, output_shape=None, strides=None, padding="SAME",  # noqa: A002
                     data_format="NHWC", name=None, input=None, filters=None, dilations=None):  # noqa: A002
    """The transpose of ``conv2d`` (its input gradient), filters (kH, kW, out, in), to ``output_shape`` (static
    numbers): the convolution whose SAME or VALID arithmetic maps ``output_shape`` to the input's size, run
    backwards, as TF's Conv2DBackpropInput.  PyTorch's transposed convolution with the padding cropped from
    that arithmetic and any rows it leaves over added as output padding."""
    x = _t(value if value is not None else input)
    w = _t(filter if filter is not None else filters, like=x)
    fmt = _fmt(data_format)
    if len(w.shape) != 4:
        raise ValueError(f"Conv2DBackpropInput: filter must be 4-D (height, width, out, in), got shape {w.shape}")
    if len(output_shape) != 4:
        raise ValueError(f"Conv2DBackpropInput: output_shape must have 4 elements, got {output_shape}")
    # The batch is the input's (a tensor such as tf.shape(x)[0] is taken as that); the rest must be numbers.
    out = [None] + [int(v) for v in output_shape[1:]]
    oh, ow, oc = out[1:] if fmt == "NHWC" else (out[2], out[3], out[1])
    s, d = _hw(strides if strides is not None else 1, fmt, "Conv2DBackpropInput"), _hw(dilations or 1, fmt,
                                                                                     "Conv2DBackpropInput")
    kh, kw, wo, wi = w.shape
    xc = _to_nchw(x, fmt)
    if xc.shape[1] is not None and xc.shape[1] != wi:
        raise ValueError(f"Conv2DBackpropInput: input depth {xc.shape[1]} does not match the filter's {wi}")
    if wo != oc:
        raise ValueError(f"Conv2DBackpropInput: output_shape depth {oc} does not match the filter's {wo}")
    pads, extra = [], []
    mode = padding.upper() if isinstance(padding, str) else None
    if mode not in ("SAME", "VALID"):
        raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}")
    for size, o, k, st, dl in ((xc.shape[2], oh, kh, s[0], d[0]), (xc.shape[3], ow, kw, s[1], d[1])):
        k_eff = dl * (k - 1) + 1
        expected = -(-o // st) if mode == "SAME" else -(-(o - k_eff + 1) // st)
        if size is not None and size != expected:
            raise ValueError(f"Conv2DBackpropInput: Size of out_backprop doesn't match computed: actual = {size}, "
                             f"computed = {expected} spatial_dim: {len(pads) // 2 + 1} input: {o} filter: {k} "
                             f"output: {size} stride: {st} dilation: {dl}")
        total = max((expected - 1) * st + k_eff - o, 0) if mode == "SAME" else 0
        pads += [total // 2, total - total // 2]
        extra.append(o - ((expected - 1) * st + k_eff - total))
    weight = core.transpose(w, (3, 2, 0, 1))
    y = core.conv2d_transpose(xc, weight, s, tuple(pads), tuple(extra), d)
    return named(_from_nchw(y, fmt), name)


def separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding, data_format=None,  # noqa: A002
                     dilations=None, name=None):
    """A depthwise convolution (with the strides and padding), then a 1x1 convolution mixing its channels: TF's
    own two steps."""
    pointwise_filter = _t(pointwise_filter, like=_t(input))
    if tuple(pointwise_filter.shape[:2]) != (1, 1):
        raise ValueError(f"separable_conv2d: pointwise_filter must be (1, 1, in, out), got {pointwise_filter.shape}")
    fmt = _fmt(data_format)
    depthwise = depthwise_conv2d(input, depthwise_filter, strides, padding, fmt, dilations)
    return conv2d(depthwise, pointwise_filter, 1, "VALID", fmt, name=name)


def depthwise_conv2d(input, filter, strides, padding, data_format=None, dilations=None, name=None):  # noqa: A002
    """TF's depthwise convolution: each input channel c convolved with its ``channel_multiplier`` filters
    (kH, kW, in, multiplier), output channel c * multiplier + m: a convolution in ``in`` groups."""
    x = _t(input)
    filter = _t(filter, like=x)  # noqa: A001
    if len(filter.shape) != 4:
        raise ValueError(f"DepthwiseConv2dNative: filter must be 4-D (height, width, in, multiplier), got "
                         f"{filter.shape}")
    kh, kw, c, m = filter.shape
    grouped = core.reshape(filter, (kh, kw, 1, c * m))
    fmt = _fmt(data_format)
    return conv2d(x, grouped, strides, padding, fmt, dilations, name)


def _expand_1d(x: Tensor, fmt: str, what: str) -> tuple[Tensor, str]:
    """A (batch, width, channels) input (NWC; NCW for ``fmt`` NCW) as a 2-D image of height 1, as TF does."""
    if fmt not in ("NWC", "NCW"):
        raise ValueError(f"{what}: data_format must be 'NWC' or 'NCW', got {fmt!r}")
    if x.ndim != 3:
        raise ValueError(f"{what}: input must be 3-D (batch, width, channels), got shape {list(x.shape)}")
    return core.expand_dims(x, 1 if fmt == "NWC" else 2), "NHWC" if fmt == "NWC" else "NCHW"


def _squeeze_1d(y: Tensor, fmt2: str) -> Tensor:
    return core.squeeze(y, 1 if fmt2 == "NHWC" else 2)


def conv1d(value=None, filters=None, stride=None, padding=None, use_cudnn_on_gpu=None, data_format=None,
           name=None, input=None, dilations=None):  # noqa: A002
    """TF's conv1d: the 2-D convolution over a height of one (filters (width, in, out))."""
    x = _t(value if value is not None else input)
    x2, fmt2 = _expand_1d(x, data_format or "NWC", "Conv1D")
    w = core.expand_dims(_t(filters), 0)
    s = stride[-2 if (data_format or "NWC") == "NWC" else -1] if isinstance(stride, (list, tuple)) else stride
    d = dilations[-2 if (data_format or "NWC") == "NWC" else -1] if isinstance(dilations, (list, tuple)) else dilations
    return named(_squeeze_1d(conv2d(x2, w, [1, int(s)], padding, fmt2, [1, int(d or 1)]), fmt2), name)


def _pool1d(fn: Any, input: Any, ksize: Any, strides: Any, padding: Any, data_format: str, name: str | None
            ) -> Tensor:
    x2, fmt2 = _expand_1d(_t(input), data_format, "Pool1D")
    one = (lambda v: [1, v[-2 if data_format == "NWC" else -1] if isinstance(v, (list, tuple)) and len(v) == 3
                      else (v[0] if isinstance(v, (list, tuple)) else v)])
    return named(_squeeze_1d(fn(x2, one(ksize), one(strides), padding, fmt2), fmt2), name)


def max_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):  # noqa: A002
    return _pool1d(max_pool2d, input, ksize, strides, padding, data_format, name)


def avg_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):  # noqa: A002
    return _pool1d(avg_pool2d, input, ksize, strides, padding, data_format, name)


def atrous_conv2d(value, filters, rate, padding, name=None):
    """A dilated convolution with stride 1 (``rate`` the dilation), as TF computes it."""
    if int(rate) < 1:
        raise ValueError(f"rate {rate} cannot be less than one")
    return conv2d(value, filters, 1, padding, "NHWC", int(rate), name)


def conv2d_backprop_input(input_sizes, filter=None, out_backprop=None, strides=None, padding=None,  # noqa: A002
                          use_cudnn_on_gpu=True, data_format="NHWC", dilations=None, name=None, filters=None):
    """The gradient of ``conv2d`` for its input (of ``input_sizes``): the transposed convolution."""
    return conv2d_transpose(out_backprop, filter if filter is not None else filters, input_sizes, strides, padding,
                            data_format, name, dilations=dilations)


def conv2d_backprop_filter(input, filter_sizes, out_backprop, strides, padding, use_cudnn_on_gpu=True,  # noqa: A002
                           data_format="NHWC", dilations=None, name=None):
    """The gradient of ``conv2d`` for its filters (of ``filter_sizes``, HWIO), with out_backprop as the
    gradient of its output: the reverse pass through a convolution of the input with filters of that shape."""
    x = _t(input)
    if any(isinstance(v, Tensor) for v in filter_sizes):
        raise NotImplementedError("tf.nn.conv2d_backprop_filter: a tensor filter_sizes is not implemented in dualflow")
    # Only the filter gradient of this convolution is ever run (it reads the input and out_backprop alone).
    w = _t(numpy.zeros([int(v) for v in filter_sizes], x.dtype), like=x)
    y = conv2d(x, w, strides, padding, data_format, dilations)
    grad, = core.gradients([y], [w], [_t(out_backprop, like=x)])
    return named(grad, name)


def depthwise_conv2d_native(input, filter, strides, padding, data_format="NHWC", dilations=None,  # noqa: A002
                            name=None):
    return depthwise_conv2d(input, filter, strides, padding, data_format, dilations, name)


def xw_plus_b(x, weights, biases, name=None):
    """matmul(x, weights) + biases, the bias added as bias_add."""
    return named(bias_add(core.matmul(_t(x), _t(weights)), biases), name)


def relu_layer(x, weights, biases, name=None):
    return named(relu(xw_plus_b(x, weights, biases)), name)


def log_sigmoid(x, name=None):
    """-softplus(-x), as TF composes it."""
    return named(core.neg(softplus(core.neg(_t(x)))), name)


def softsign(features, name=None):
    """x / (1 + |x|)."""
    x = _t(features)
    return named(core.div(x, core.scalar(core.abs(x), "add", 1.0)), name)


def crelu(features, name=None, axis=-1):
    """relu of ``features`` and of their negation, joined along ``axis``: twice the channels."""
    x = _t(features)
    return named(relu(core.concat([x, core.neg(x)], axis)), name)


def weighted_cross_entropy_with_logits(labels=None, logits=None, pos_weight=None, name=None, targets=None):
    """(1 - z) x + (1 + (q - 1) z) (log1p(exp(-|x|)) + relu(-x)), TF's formula, q the weight of positives."""
    z, x = _pair(labels if labels is not None else targets, logits)
    if len(z.shape) != len(x.shape) or any(None not in (a, b) and a != b for a, b in zip(z.shape, x.shape)):
        raise ValueError(f"`logits` and `labels` must have the same shape, received ({x.shape} vs {z.shape}).")
    log_weight = core.add(_t(1, like=z), core.mul(core.sub(_t(pos_weight, like=z), _t(1, like=z)), z))
    tail = core.add(core.log1p(core.exp(core.neg(core.abs(x)))), relu(core.neg(x)))
    return named(core.add(core.mul(core.sub(_t(1, like=z), z), x), core.mul(log_weight, tail)), name)


def zero_fraction(value, name=None):
    """The fraction of zeros, (size - count_nonzero) / size in float32, as TF computes it."""
    x = _t(value)
    nonzero = cast(core.sum(cast(core.not_equal(x, _t(0, like=x)), int32)), "int64")
    size = core.ops.shape.size_ratio(x, nonzero, numpy.int64)
    fraction = core.div(cast(core.sub(size, nonzero), "float32"), cast(size, "float32"))
    return named(core.identity(fraction), name or "fraction")


def leaky_relu(features, alpha=0.2, name=None):
    return named(core.leaky_relu(_t(features), alpha), name)


def bias_add(value, bias, data_format=None, name=None):
    value, bias = _pair(value, bias)
    return named(core.bias_add(value, bias, 1 if _fmt(data_format) == "NCHW" else -1), name)


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    fmt = _fmt(data_format)
    y, _ = apply(MaxPool(_hw(ksize, fmt, "MaxPool"), _hw(strides, fmt, "MaxPool"), _padding(padding, fmt)),
                 _to_nchw(input, fmt))
    return named(_from_nchw(y, fmt), name)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    # TensorFlow averages over the valid (unpadded) elements of each window.
    fmt = _fmt(data_format)
    y = apply(AvgPool(_hw(ksize, fmt, "AvgPool"), _hw(strides, fmt, "AvgPool"), _padding(padding, fmt), False),
              _to_nchw(input, fmt))
    return named(_from_nchw(y, fmt), name)


max_pool, avg_pool = max_pool2d, avg_pool2d


def dropout(x, keep_prob=None, rate=None, noise_shape=None, seed=None, name=None):
    """Inverted dropout; with ``noise_shape`` one draw per position of that shape, shared along its dims of
    size 1 (TF: each of its dims 1 or the input's)."""
    x = _t(x)
    if rate is None:
        if keep_prob is None:
            raise ValueError("dropout: pass keep_prob (TF1) or rate")
        rate = subtract(1.0, _t(keep_prob, like=x)) if isinstance(keep_prob, Tensor) else 1.0 - keep_prob
    rate = _t(rate, like=x) if isinstance(rate, Tensor) else float(rate)
    gen = core.Generator(seed if seed is not None else x.graph.next_seed())
    if noise_shape is None:
        return named(core.dropout(x, rate, gen), name)
    noise = list(noise_shape)
    if len(noise) != x.ndim or any(n is not None and n != 1 and n != d for n, d in zip(noise, x.shape)):
        raise ValueError(f"Dimensions must be equal or 1: the noise shape {noise} does not broadcast to the input "
                         f"{list(x.shape)}")
    # the mask of a corner of x: size 1 where the noise is shared, then broadcast by the multiply
    corner = core.getitem(x, tuple(slice(0, 1) if n == 1 and d != 1 else slice(None)
                                   for n, d in zip(noise, x.shape)))
    return named(core.mul(x, core.dropout(core.fill_like(corner, 1.0), rate, gen)), name)


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None):
    if labels is None or logits is None:
        raise ValueError("sparse_softmax_cross_entropy_with_logits: pass labels= and logits= by name")
    return named(core.softmax_cross_entropy(_t(logits), _t(labels)), name)


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    if labels is None or logits is None:
        raise ValueError("sigmoid_cross_entropy_with_logits: pass labels= and logits= by name")
    logits = _t(logits)
    labels = _t(labels, like=logits)
    if tuple(labels.shape) != tuple(logits.shape):
        raise ValueError(f"logits and labels must have the same shape ({tuple(logits.shape)} vs "
                         f"{tuple(labels.shape)})")
    return named(core.sigmoid_cross_entropy(logits, labels), name)


def softmax_cross_entropy_with_logits(labels=None, logits=None, axis=-1, name=None):
    if labels is None or logits is None:
        raise ValueError("softmax_cross_entropy_with_logits: pass labels= and logits= by name")
    logits = _t(logits)
    if axis not in (-1, len(logits.shape) - 1):
        raise NotImplementedError("softmax_cross_entropy_with_logits: only the last axis holds classes here")
    labels = _t(labels, like=logits)
    return named(core.softmax_cross_entropy(logits, labels), name)


softmax_cross_entropy_with_logits_v2 = softmax_cross_entropy_with_logits


def l2_loss(t, name=None):
    t = _t(t)
    return named(core.scalar(core.sum(core.mul(t, t)), "mul", 0.5), name)


def l2_normalize(x: Any, axis: Any = None, epsilon: float = 1e-12, name: str | None = None, dim: Any = None
                 ) -> Tensor:
    """x / sqrt(max(sum(x^2), epsilon)) along ``axis`` (all axes by default; ``dim`` is its old name)."""
    x = _t(x)
    square_sum = core.sum(core.mul(x, x), dim if axis is None else axis, keepdims=True)
    inv_norm = core.scalar(core.sqrt(core.maximum(square_sum, _t(epsilon, like=square_sum))), "rdiv", 1.0)
    return named(core.mul(x, inv_norm), name)


def top_k(input, k=1, sorted=True, name=None):  # noqa: A002
    """The k largest entries of the last axis, largest first; ties keep the lower index first, as TF."""
    x = _t(input)
    idx = core.argsort(x, -1, descending=True, k=int(k))
    values = core.take_along_axis(x, idx, -1)
    return TopKV2(named(values, name), core.cast(idx, numpy.int32))


def in_top_k(predictions, targets, k, name=None):
    """Whether each target's prediction is among the row's k largest.  As TF, ties straddling the k-th place
    all count as in: the target is in when fewer than k predictions are strictly larger."""
    predictions, targets = _t(predictions), _t(targets)
    if targets.dtype.kind not in "iu":
        raise TypeError(f"in_top_k: targets must be int32 or int64, got {targets.dtype.name}")
    target_value = core.take_along_axis(predictions, core.expand_dims(core.cast(targets, numpy.int64), 1), 1)
    larger = core.sum(core.cast(core.greater(predictions, target_value), numpy.int32), 1)
    return named(core.scalar_compare(larger, "Less", int(k)), name)


def embedding_lookup(params, ids, partition_strategy="mod", name=None, validate_indices=True, max_norm=None):
    """Rows of ``params`` picked by ``ids`` (any shape): a gather along axis 0."""
    if isinstance(params, (list, tuple)):
        if len(params) != 1:
            raise NotImplementedError("embedding_lookup: sharded params (a list of several) are not supported")
        params = params[0]
    if max_norm is not None:
        raise NotImplementedError("embedding_lookup: max_norm is not supported")
    return named(take(_t(params), _t(ids), 0), name)


def lrn(input, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, name=None):  # noqa: A002
    """Local response normalization over the last axis, as TF's CPU kernel computes it: the squares summed
    over the ``depth_radius`` neighbours on each side by a product with a band matrix, then
    x * (bias + alpha * sum) ** -beta (a reciprocal for beta 1, a reciprocal square root for beta 0.5)."""
    x = _t(input)
    if x.ndim != 4 or x.shape[-1] is None:
        raise ValueError(f"lrn: input must be 4-dimensional with a known depth, got shape {x.shape}")
    depth, r = x.shape[-1], int(depth_radius)
    band = numpy.abs(numpy.arange(depth)[:, None] - numpy.arange(depth)[None, :]) <= r
    sums = core.matmul(core.reshape(core.mul(x, x), (-1, depth)), _t(band.astype(x.dtype), like=x))
    tmp = core.scalar(core.scalar(core.reshape_like(sums, x), "mul", float(alpha)), "add", float(bias))
    if beta == 1:
        multiplier = core.scalar(tmp, "rdiv", 1.0)
    elif beta == 0.5:
        multiplier = core.scalar(core.sqrt(tmp), "rdiv", 1.0)
    else:
        multiplier = core.exp(core.scalar(core.log(tmp), "mul", -float(beta)))
    return _named_or(core.mul(x, multiplier), name, "LRN")


local_response_normalization = lrn


def fused_batch_norm(x, scale, offset, mean=None, variance=None, epsilon=0.001, data_format="NHWC",
                     is_training=True, name=None, exponential_avg_factor=1.0):
    """TF1's fused batch norm of a 4-D input over its channels: (y, mean, variance).  Training: the batch's
    statistics normalize it and come back, the variance Bessel-corrected as TF's kernel gives it; inference:
    the given ``mean`` and ``variance`` normalize it and come back.  Epsilon is at least cuDNN's 1.001e-5, as
    TF raises it."""
    if (not is_training or exponential_avg_factor != 1.0) and (mean is None or variance is None):
        raise ValueError("Both 'mean' and 'variance' must be a 1D tensor when is_training is False or "
                         "exponential_avg_factor != 1.0.")
    if exponential_avg_factor != 1.0:
        raise NotImplementedError("tf.nn.fused_batch_norm: exponential_avg_factor != 1 is not implemented in dualflow")
    fmt = _fmt(data_format)
    x = _t(x)
    if x.ndim != 4:
        raise ValueError(f"fused_batch_norm: input must be 4-dimensional, got shape {list(x.shape)}")
    channel = 3 if fmt == "NHWC" else 1
    stats = [x.shape[i] if i == channel else 1 for i in range(4)]
    eps = max(float(epsilon), 1.001e-5)
    gamma, beta = (core.reshape(_t(v, like=x), stats) for v in (scale, offset))
    if is_training:
        y, m, v = core.batch_norm_train(x, gamma, beta, tuple(i for i in range(4) if i != channel), eps)
        m, v = core.reshape(m, (-1,)), core.reshape(v, (-1,))
        n = core.size_ratio(x, v, x.dtype)
        v = core.mul(v, core.div(n, core.sub(n, _t(1.0, like=n))))
    else:
        m, v = _t(mean, like=x), _t(variance, like=x)
        y = core.batch_norm_eval(x, gamma, beta, core.reshape(m, stats), core.reshape(v, stats), eps)
    return named(y, name), m, v


def moments(x, axes, shift=None, name=None, keep_dims=None, keepdims=False):
    """(mean, variance) over ``axes``; as TF, the variance's gradient does not flow into the mean."""
    x = _t(x)
    keep = keep_dims if keep_dims is not None else keepdims
    axes = tuple(int(a) for a in axes)
    mean = core.mean(x, axes, True)
    diff = core.sub(x, core.stop_gradient(mean))
    variance = core.mean(core.mul(diff, diff), axes, True)
    if not keep:
        mean, variance = core.squeeze(mean, axes), core.squeeze(variance, axes)
    return named(mean, None if name is None else name + "_mean"), variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """(x - mean) * scale / sqrt(variance + eps) + offset, computed as TF does: x * inv + (offset - mean * inv)."""
    x = _t(x)
    inv = core.scalar(core.sqrt(core.scalar(_t(variance, like=x), "add", float(variance_epsilon))), "rdiv", 1.0)
    if scale is not None:
        inv = core.mul(inv, _t(scale, like=x))
    shift = core.neg(core.mul(_t(mean, like=x), inv))
    if offset is not None:
        shift = core.add(_t(offset, like=x), shift)
    return named(core.add(core.mul(x, inv), shift), name)


# TF1's recurrent API (static_api/rnn.py uses this module's activations, so it is imported last)
from static_api import rnn as rnn_cell  # noqa: E402
from static_api.rnn import bidirectional_dynamic_rnn, dynamic_rnn, static_rnn  # noqa: E402

__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
