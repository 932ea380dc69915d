"""One entry per primitive: how to call it, sample inputs, and an independent NumPy reference.

The same table drives the CPU tests (forward vs reference, float64 gradient
checks, static shape inference) and the GPU tests (CuPy vs NumPy).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np

import core

R = np.random.default_rng(1234)


def rnd(*shape, lo=None):
    a = R.normal(size=shape)
    return np.abs(a) + lo if lo is not None else a


def distinct(*shape):
    """Values with no ties (so max/argmax gradients are well defined)."""
    return R.permutation(np.prod(shape)).reshape(shape).astype(np.float64) / np.prod(shape) + R.normal(size=shape) * 1e-3


@dataclasses.dataclass
class Case:
    name: str
    fn: Callable
    inputs: list
    ref: Callable | None       # host arrays -> expected output of the first result
    grad: bool = True          # run the float64 gradient check
    wrt: list | None = None


def pads_of(padding, h, w, k, s, d):
    """TensorFlow's SAME arithmetic, written out independently of core."""
    if isinstance(padding, int):
        return (padding,) * 4
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        out = []
        for size, kk, ss, dd in ((h, k[0], s[0], d[0]), (w, k[1], s[1], d[1])):
            total = max((-(-size // ss) - 1) * ss + (kk - 1) * dd + 1 - size, 0)
            out += [total // 2, total - total // 2]
        return tuple(out)
    return tuple(padding)


def conv_ref(x, w, stride, padding, dilation):
    """Direct nested-loop cross-correlation (NCHW, OIHW)."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    sh, sw = stride
    dh, dw = dilation
    t, b, l, r = pads_of(padding, h, wd, (kh, kw), stride, dilation)
    xp = np.zeros((n, c, h + t + b, wd + l + r))
    xp[:, :, t:t + h, l:l + wd] = x
    oh = (h + t + b - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + l + r - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, oh, ow))
    for ni in range(n):
        for oi in range(o):
            for i in range(oh):
                for j in range(ow):
                    acc = 0.0
                    for ci in range(c):
                        for p in range(kh):
                            for q in range(kw):
                                acc += xp[ni, ci, i * sh + p * dh, j * sw + q * dw] * w[oi, ci, p, q]
                    y[ni, oi, i, j] = acc
    return y


def conv_transpose_ref(x, w, stride, padding, output_padding, dilation):
    """Every input pixel scattered through the (in, out, kH, kW) kernel, then the padding cropped."""
    n, c, h, wd = x.shape
    _, o, kh, kw = w.shape
    full_h = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0]
    full_w = (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1]
    y = np.zeros((n, o, full_h, full_w))
    for ni in range(n):
        for ci in range(c):
            for i in range(h):
                for j in range(wd):
                    for oi in range(o):
                        for a in range(kh):
                            for b in range(kw):
                                y[ni, oi, i * stride[0] + a * dilation[0], j * stride[1] + b * dilation[1]] += (
                                    x[ni, ci, i, j] * w[ci, oi, a, b])
    return y[:, :, padding[0]:full_h - padding[0], padding[1]:full_w - padding[1]]


def grouped_conv_ref(x, w, stride, padding, dilation, groups):
    """conv_ref per group on its channel slice, concatenated."""
    cg, og = x.shape[1] // groups, w.shape[0] // groups
    return np.concatenate([conv_ref(x[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og], stride, padding, dilation)
                           for g in range(groups)], 1)


def nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def nchw(a):
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


def hwio(w):
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0))


def oihw(w):
    return np.ascontiguousarray(w.transpose(3, 2, 0, 1))


def pool_ref(x, k, s, padding, mode, count_include_pad=True):
    n, c, h, w = x.shape
    t, b, l, r = pads_of(padding, h, w, k, s, (1, 1))
    oh = (h + t + b - k[0]) // s[0] + 1
    ow = (w + l + r - k[1]) // s[1] + 1
    y = np.zeros((n, c, oh, ow))
    for ni in range(n):
        for ci in range(c):
            for i in range(oh):
                for j in range(ow):
                    vals = []
                    for p in range(k[0]):
                        for q in range(k[1]):
                            hh, ww = i * s[0] + p - t, j * s[1] + q - l
                            if 0 <= hh < h and 0 <= ww < w:
                                vals.append(x[ni, ci, hh, ww])
                    if mode == "max":
                        y[ni, ci, i, j] = max(vals)
                    else:
                        y[ni, ci, i, j] = sum(vals) / (k[0] * k[1] if count_include_pad else len(vals))
    return y


def softmax_ref(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def xent_rows(z, t):
    """-sum_j t_ij log softmax(z_i)_j, row by row."""
    return -(t * np.log(softmax_ref(z))).sum(1)


def _scatter_add_rows(g, idx, shape):
    """out[r, idx[r, j]] += g[r, j], one element at a time."""
    out = np.zeros(shape)
    for r in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            out[r, idx[r, j]] += g[r, j]
    return out


def _cases():
    c = []
    a, b = rnd(3, 4), rnd(3, 4)
    bb = rnd(4)
    c += [
        Case("add_broadcast", core.add, [rnd(2, 3, 4), bb], lambda x, y: x + y),
        Case("add_broadcast_both", core.add, [rnd(3, 1), rnd(1, 4)], lambda x, y: x + y),
        Case("sub", core.sub, [a, rnd(3, 1)], lambda x, y: x - y),
        Case("mul", core.mul, [a, b], lambda x, y: x * y),
        Case("einsum_matmul", lambda x, y: core.einsum("ij,jk->ik", x, y), [rnd(3, 4), rnd(4, 2)], lambda x, y: x @ y),
        Case("einsum_batched_sum_out", lambda x, y: core.einsum("bij,bjk->bk", x, y), [rnd(2, 3, 4), rnd(2, 4, 5)],
             lambda x, y: np.einsum("bij,bjk->bk", x, y)),
        Case("einsum_outer_three", lambda x, y, z: core.einsum("i,j,k->kji", x, y, z), [rnd(3), rnd(2), rnd(4)],
             lambda x, y, z: np.einsum("i,j,k->kji", x, y, z)),
        Case("fma", core.fma, [a, rnd(1, 4), rnd(3, 1)], lambda x, y, z: x * y + z),
        Case("div", core.div, [a, rnd(3, 4, lo=0.5)], lambda x, y: x / y),
        Case("pow", core.pow, [rnd(3, 4, lo=0.5), rnd(3, 4)], lambda x, y: x ** y),
        Case("maximum", core.maximum, [distinct(3, 4), distinct(3, 4)], np.maximum),
        Case("minimum", core.minimum, [distinct(3, 4), distinct(1, 4)], np.minimum),
        Case("neg", core.neg, [a], lambda x: -x),
        Case("exp", core.exp, [a], np.exp),
        Case("log", core.log, [rnd(3, 4, lo=0.5)], np.log),
        Case("expm1", core.expm1, [a], np.vectorize(math.expm1)),
        Case("sin", core.sin, [a * 3], np.sin),
        Case("tan", core.tan, [a], np.tan),
        Case("asin", core.asin, [np.tanh(a) * 0.9], np.arcsin),
        Case("acos", core.acos, [np.tanh(a) * 0.9], np.arccos),
        Case("atan", core.atan, [a * 3], np.arctan),
        Case("sinh", core.sinh, [a], np.sinh),
        Case("cosh", core.cosh, [a], np.cosh),
        Case("log2", core.log2, [rnd(3, 4, lo=0.5)], np.log2),
        Case("log10", core.log10, [rnd(3, 4, lo=0.5)], np.log10),
        Case("exp2", core.exp2, [a], np.exp2),
        Case("atan2", core.atan2, [a, distinct(3, 4) + 0.1], np.arctan2),
        Case("cos", core.cos, [a * 3], np.cos),
        Case("fmod", core.fmod, [a * 5, distinct(3, 4) + 0.5], np.fmod),
        Case("floor_mod", core.floor_mod, [a * 5, distinct(3, 4) + 0.5],
             lambda x, y: x - y * np.floor(x / y)),
        Case("floor_div", core.floor_div, [a * 5, distinct(3, 4) + 0.5], lambda x, y: np.floor(x / y), grad=False),
        Case("cumsum", lambda x: core.cumsum(x, 1), [a], lambda x: np.cumsum(x, 1)),
        Case("cumsum_reverse", lambda x: core.cumsum(x, 0, True), [a], lambda x: np.cumsum(x[::-1], 0)[::-1]),
        Case("logsumexp", lambda x: core.logsumexp(x, 1), [a * 4], lambda x: np.log(np.exp(x).sum(1))),
        Case("log1p", core.log1p, [rnd(3, 4, lo=0.5) - 0.4], np.vectorize(math.log1p)),
        Case("sqrt", core.sqrt, [rnd(3, 4, lo=0.5)], np.sqrt),
        Case("abs", core.abs, [distinct(3, 4) - 0.5], np.abs),
        Case("floor", core.floor, [a * 3], np.floor, grad=False),
        Case("relu", core.relu, [distinct(3, 5) - 0.5], lambda x: np.where(x > 0, x, 0)),
        Case("sigmoid", core.sigmoid, [rnd(3, 4) * 10], lambda x: 1 / (1 + np.exp(-x))),
        Case("tanh", core.tanh, [a], np.tanh),
        Case("elu", lambda x: core.elu(x, 0.7, 1.2), [distinct(3, 4) * 4 - 2],
             lambda x: np.where(x <= 0, 0.7 * np.expm1(np.minimum(x, 0)), 1.2 * x)),
        Case("silu", core.silu, [rnd(3, 4) * 10], lambda x: x / (1 + np.exp(-x))),
        Case("erf", core.erf, [a], np.vectorize(math.erf)),
        Case("scalar_add", lambda x: core.scalar(x, "add", 2.5), [a], lambda x: x + 2.5),
        Case("scalar_mul", lambda x: core.scalar(x, "mul", -3.0), [a], lambda x: x * -3.0),
        Case("scalar_pow", lambda x: core.scalar(x, "pow", 3.0), [a], lambda x: x ** 3),
        Case("scalar_rsub", lambda x: core.scalar(x, "rsub", 1.0), [a], lambda x: 1 - x),
        Case("scalar_rdiv", lambda x: core.scalar(x, "rdiv", 2.0), [rnd(3, 4, lo=0.5)], lambda x: 2 / x),
        Case("where", lambda cnd, x, y: core.where(cnd, x, y), [rnd(3, 4) > 0, a, rnd(1, 4)],
             lambda cnd, x, y: np.where(cnd, x, y)),
        Case("equal", core.equal, [np.array([1.0, 2, 3]), np.array([1.0, 0, 3])], np.equal, grad=False),
        Case("greater", core.greater, [a, b], np.greater, grad=False),
        Case("less_equal", core.less_equal, [a, b], np.less_equal, grad=False),
        Case("cast", lambda x: core.cast(x, np.float32), [a], lambda x: x.astype(np.float32), grad=False),
        Case("matmul", core.matmul, [rnd(3, 5), rnd(5, 4)], lambda x, y: x @ y),
        Case("matmul_batched", core.matmul, [rnd(2, 3, 5), rnd(5, 4)], lambda x, y: x @ y),
        Case("matmul_tb", lambda x, y: core.matmul(x, y, transpose_b=True), [rnd(2, 3, 5), rnd(2, 4, 5)],
             lambda x, y: x @ y.swapaxes(-1, -2)),
        Case("matmul_ta", lambda x, y: core.matmul(x, y, transpose_a=True), [rnd(5, 3), rnd(5, 4)],
             lambda x, y: x.T @ y),
        Case("sum_all", core.sum, [a], lambda x: x.sum()),
        Case("sum_axis_keep", lambda x: core.sum(x, 1, keepdims=True), [rnd(2, 3, 4)], lambda x: x.sum(1, keepdims=True)),
        Case("mean_axes", lambda x: core.mean(x, (0, 2)), [rnd(2, 3, 4)], lambda x: x.mean((0, 2))),
        Case("prod_all", core.prod, [rnd(2, 3, lo=0.5)], lambda x: x.prod()),
        Case("prod_axes_tf", lambda x: core.prod(x, (0, 2), exclusive=True), [rnd(2, 3, 4)],
             lambda x: x.prod((0, 2))),
        Case("prod_axis_keep", lambda x: core.prod(x, 1, keepdims=True), [rnd(2, 3, 4)],
             lambda x: x.prod(1, keepdims=True)),
        Case("max_axis", lambda x: core.max(x, -1), [distinct(3, 5)], lambda x: x.max(-1)),
        Case("min_keep", lambda x: core.min(x, 0, keepdims=True), [distinct(3, 5)], lambda x: x.min(0, keepdims=True)),
        Case("argmax", lambda x: core.argmax(x, 1), [distinct(3, 5)], lambda x: x.argmax(1), grad=False),
        Case("all_axis", lambda x: core.all(x, 1), [rnd(3, 4) > -0.5], lambda x: x.all(1), grad=False),
        Case("any_keep", lambda x: core.any(x, 0, keepdims=True), [rnd(3, 4) > 1.0], lambda x: x.any(0, keepdims=True),
             grad=False),
        Case("softmax", lambda x: core.softmax(x, -1), [rnd(3, 5)], softmax_ref),
        Case("softmax_axis0", lambda x: core.softmax(x, 0), [rnd(3, 5)], lambda x: softmax_ref(x, 0)),
        Case("log_softmax", lambda x: core.log_softmax(x, 1), [rnd(3, 5)], lambda x: np.log(softmax_ref(x))),
        Case("reshape", lambda x: core.reshape(x, (4, -1)), [rnd(2, 3, 4)], lambda x: x.reshape(4, -1)),
        Case("transpose", lambda x: core.transpose(x, (2, 0, 1)), [rnd(2, 3, 4)], lambda x: x.transpose(2, 0, 1)),
        Case("broadcast_to", lambda x: core.broadcast_to(x, (2, 3, 4)), [rnd(3, 1)],
             lambda x: np.broadcast_to(x, (2, 3, 4))),
        Case("expand_dims", lambda x: core.expand_dims(x, (0, -1)), [rnd(3, 4)], lambda x: x[None, :, :, None]),
        Case("squeeze", lambda x: core.squeeze(x, 1), [rnd(3, 1, 4)], lambda x: x[:, 0]),
        Case("concat", lambda x, y: core.concat([x, y], 1), [rnd(2, 3), rnd(2, 5)],
             lambda x, y: np.concatenate([x, y], 1)),
        Case("stack", lambda x, y: core.stack([x, y], -1), [rnd(2, 3), rnd(2, 3)], lambda x, y: np.stack([x, y], -1)),
        Case("getitem_basic", lambda x: core.getitem(x, (slice(1, None), None, slice(None, None, 2))), [rnd(4, 5)],
             lambda x: x[1:, None, ::2]),
        Case("getitem_int", lambda x: core.getitem(x, (Ellipsis, 2)), [rnd(3, 4)], lambda x: x[..., 2]),
        Case("getitem_advanced_repeat", lambda x: core.getitem(x, np.array([0, 2, 0])), [rnd(3, 4)],
             lambda x: x[[0, 2, 0]]),
        Case("pad", lambda x: core.pad(x, ((0, 0), (1, 2)), 0.5), [rnd(2, 3)],
             lambda x: np.pad(x, ((0, 0), (1, 2)), constant_values=0.5)),
        Case("one_hot", lambda i: core.one_hot(i, 4), [np.array([0, 3, 1])], lambda i: np.eye(4)[i], grad=False),
        Case("xent_sparse", lambda z, y: core.softmax_cross_entropy(z, y), [rnd(4, 5), np.array([0, 4, 2, 2])],
             lambda z, y: -np.log(softmax_ref(z))[np.arange(4), y]),
        Case("xent_sparse_smooth", lambda z, y: core.softmax_cross_entropy(z, y, 0.1),
             [rnd(4, 5), np.array([0, 4, 2, 2])],
             lambda z, y: -((np.eye(5)[y] * 0.9 + 0.02) * np.log(softmax_ref(z))).sum(1)),
        Case("xent_sparse_ignore", lambda z, y: core.softmax_cross_entropy(z, y, 0.1, ignore_index=-100),
             [rnd(4, 5), np.array([0, -100, 2, -100])],
             lambda z, y: np.where(y >= 0, -((np.eye(5)[np.maximum(y, 0)] * 0.9 + 0.02)
                                            * np.log(softmax_ref(z))).sum(1), 0.0)),
        Case("binary_xent", core.binary_cross_entropy, [R.uniform(0.1, 0.9, (3, 4)), R.uniform(0, 1, (3, 4))],
             lambda p, y: -(y * np.log(p) + (1 - y) * np.log1p(-p))),
        Case("xent_dense", lambda z, t: core.softmax_cross_entropy(z, t), [rnd(4, 5), softmax_ref(rnd(4, 5))],
             lambda z, t: -(t * np.log(softmax_ref(z))).sum(1)),
        Case("xent_sparse_mean_ignore", lambda z, y: core.softmax_cross_entropy(z, y, 0.1, -1, "mean"),
             [rnd(4, 5), np.array([3, -1, 0, 1])], lambda z, y: xent_rows(z, np.eye(5)[y] * 0.9 + 0.02)[y >= 0].mean()),
        Case("xent_dense_sum", lambda z, t: core.softmax_cross_entropy(z, t, 0.2, reduction="sum"),
             [rnd(4, 5), rnd(4, 5, lo=0.1)], lambda z, t: xent_rows(z, t * 0.8 + 0.04).sum()),
        Case("xent_dense_mean", lambda z, t: core.softmax_cross_entropy(z, t, reduction="mean"),
             [rnd(4, 5), rnd(4, 5, lo=0.1)], lambda z, t: xent_rows(z, t).mean()),
    ]
    # Gather along an axis (repeated indices must accumulate in the gradient) and sorting indices.
    from core.ops.shape import TakeAlongAxisGrad
    gidx = np.array([[0, 2, 2], [1, 1, 0], [3, 0, 3]])
    c += [
        Case("take_along_axis", lambda x, i: core.take_along_axis(x, i, 1), [rnd(3, 4), gidx],
             lambda x, i: np.take_along_axis(x, i, 1), wrt=[0]),
        Case("take_along_axis_grad", lambda g, i, x: core.apply(TakeAlongAxisGrad(1), g, i, x),
             [rnd(3, 3), gidx, rnd(3, 4)], lambda g, i, x: _scatter_add_rows(g, i, x.shape), wrt=[0]),
        Case("argsort_desc_top2", lambda x: core.argsort(x, 0, True, 2), [distinct(4, 3)],
             lambda x: np.argsort(-x, 0, kind="stable")[:2], grad=False),
    ]
    # A cross-entropy's second output, d(loss)/d(logits), against the formula and to second order.
    from core.ops.loss import SoftmaxCrossEntropy, SparseSoftmaxCrossEntropy
    ys = np.array([3, -1, 0, 1])
    t_s = np.eye(5)[np.maximum(ys, 0)] * 0.9 + 0.02
    c += [
        Case("xent_sparse_backprop", lambda z, y: core.apply(SparseSoftmaxCrossEntropy(0.1, -1, "mean"), z, y)[1],
             [rnd(4, 5), ys], lambda z, y: (softmax_ref(z) - t_s) * (y >= 0)[:, None] / 3, wrt=[0]),
        Case("xent_dense_backprop", lambda z, t: core.apply(SoftmaxCrossEntropy(0.2, "sum"), z, t)[1],
             [rnd(4, 5), rnd(4, 5, lo=0.1)],
             lambda z, t: softmax_ref(z) * (t * 0.8 + 0.04).sum(1, keepdims=True) - (t * 0.8 + 0.04)),
    ]
    # Convolution and its two gradient primitives, over strides, paddings, dilations and odd sizes.
    conv_cfgs = [((1, 1), 0, (1, 1)), ((2, 2), "same", (1, 1)), ((1, 1), "same", (2, 2)), ((2, 1), (1, 0, 2, 1), (1, 2)),
                 ((1, 1), "valid", (1, 1))]
    for s, p, d in conv_cfgs:
        x, w = rnd(2, 3, 7, 6), rnd(4, 3, 3, 2)
        tag = f"s{s}_p{p}_d{d}".replace(" ", "")
        c.append(Case(f"conv2d_{tag}", lambda x, w, s=s, p=p, d=d: core.conv2d(x, w, s, p, d), [x, w],
                      lambda x, w, s=s, p=p, d=d: conv_ref(x, w, s, p, d)))
        gy = rnd(*conv_ref(x, w, s, p, d).shape)
        c.append(Case(f"conv2d_grad_input_{tag}",
                      lambda g, w, x, s=s, p=p, d=d: core.conv2d_grad_input(g, w, x, s, p, d), [gy, w, x],
                      None, wrt=[0, 1]))
        c.append(Case(f"conv2d_grad_weight_{tag}",
                      lambda x, g, w, s=s, p=p, d=d: core.conv2d_grad_weight(x, g, w, s, p, d), [x, gy, w],
                      None, wrt=[0, 1]))
    # Stride 1 with an even kernel: asymmetric 'same' padding, the taps shifted both ways along a row.
    x, w = rnd(2, 3, 5, 6), rnd(4, 3, 2, 4)
    gy = rnd(*conv_ref(x, w, (1, 1), "same", (1, 1)).shape)
    c.append(Case("conv2d_even_kernel_same", lambda x, w: core.conv2d(x, w, 1, "same"), [x, w],
                  lambda x, w: conv_ref(x, w, (1, 1), "same", (1, 1))))
    c.append(Case("conv2d_grad_input_even_kernel_same", lambda g, w, x: core.conv2d_grad_input(g, w, x, 1, "same"),
                  [gy, w, x], None, wrt=[0, 1]))
    c.append(Case("conv2d_grad_weight_even_kernel_same",
                  lambda x, g, w: core.conv2d_grad_weight(x, g, w, 1, "same"), [x, gy, w], None, wrt=[0, 1]))
    # Stride 2 over sizes the stride divides (DCGAN's 4x4 kernels): the taps run over the input's stride phases.
    x, w = rnd(2, 3, 8, 6), rnd(4, 3, 4, 4)
    gy = rnd(*conv_ref(x, w, (2, 2), 1, (1, 1)).shape)
    c.append(Case("conv2d_s2_k4_phases", lambda x, w: core.conv2d(x, w, 2, 1), [x, w],
                  lambda x, w: conv_ref(x, w, (2, 2), 1, (1, 1))))
    c.append(Case("conv2d_grad_input_s2_k4_phases", lambda g, w, x: core.conv2d_grad_input(g, w, x, 2, 1),
                  [gy, w, x], None, wrt=[0, 1]))
    c.append(Case("conv2d_grad_weight_s2_k4_phases", lambda x, g, w: core.conv2d_grad_weight(x, g, w, 2, 1),
                  [x, gy, w], None, wrt=[0, 1]))
    c.append(Case("conv2d_transpose_s2_k4_phases", lambda x, w: core.conv2d_transpose(x, w, 2, 1),
                  [rnd(2, 3, 4, 4), rnd(3, 2, 4, 4)],
                  lambda x, w: conv_transpose_ref(x, w, (2, 2), (1, 1), (0, 0), (1, 1))))
    # Groups (depthwise with a channel multiplier too), batch 1, odd sizes, and the NHWC layout (HWIO weights)
    # against the same loops on transposed arrays.  The gradient primitives are checked through their own
    # gradients (they are linear, so that checks their values as well).
    layout_cfgs = [  # x shape (NCHW), w shape (OIHW), stride, padding, dilation, groups
        ((2, 4, 7, 6), (6, 2, 3, 3), (2, 2), 1, (1, 1), 2),
        ((1, 3, 6, 5), (6, 1, 3, 3), (1, 2), "same", (2, 1), 3),
        ((2, 3, 5, 6), (3, 1, 3, 2), (2, 1), (1, 0, 2, 1), (1, 1), 3),
        ((1, 3, 9, 7), (4, 3, 3, 2), (2, 1), (1, 0, 2, 1), (1, 2), 1),
    ]
    for xs, ws, s, p, d, g in layout_cfgs:
        x, w = rnd(*xs), rnd(*ws)
        y = grouped_conv_ref(x, w, s, p, d, g)
        gy = rnd(*y.shape)
        tag = f"g{g}_n{xs[0]}_s{s}_p{p}_d{d}".replace(" ", "")
        if g > 1:
            c.append(Case(f"conv2d_{tag}", lambda x, w, s=s, p=p, d=d, g=g: core.conv2d(x, w, s, p, d, g), [x, w],
                          lambda x, w, s=s, p=p, d=d, g=g: grouped_conv_ref(x, w, s, p, d, g)))
            c.append(Case(f"conv2d_grad_input_{tag}",
                          lambda gy, w, x, s=s, p=p, d=d, g=g: core.conv2d_grad_input(gy, w, x, s, p, d, g),
                          [gy, w, x], None, wrt=[0, 1]))
            c.append(Case(f"conv2d_grad_weight_{tag}",
                          lambda x, gy, w, s=s, p=p, d=d, g=g: core.conv2d_grad_weight(x, gy, w, s, p, d, g),
                          [x, gy, w], None, wrt=[0, 1]))
        c.append(Case(f"conv2d_nhwc_{tag}", lambda x, w, s=s, p=p, d=d, g=g: core.conv2d(x, w, s, p, d, g, "NHWC"),
                      [nhwc(x), hwio(w)],
                      lambda x, w, s=s, p=p, d=d, g=g: nhwc(grouped_conv_ref(nchw(x), oihw(w), s, p, d, g))))
        c.append(Case(f"conv2d_grad_input_nhwc_{tag}",
                      lambda gy, w, x, s=s, p=p, d=d, g=g: core.conv2d_grad_input(gy, w, x, s, p, d, g, "NHWC"),
                      [nhwc(gy), hwio(w), nhwc(x)], None, wrt=[0, 1]))
        c.append(Case(f"conv2d_grad_weight_nhwc_{tag}",
                      lambda x, gy, w, s=s, p=p, d=d, g=g: core.conv2d_grad_weight(x, gy, w, s, p, d, g, "NHWC"),
                      [nhwc(x), nhwc(gy), hwio(w)], None, wrt=[0, 1]))
    # Transposed convolution: a scatter of every input pixel through the kernel, written as loops.
    for s_, p_, op_, d_ in [((2, 2), (1, 1), (1, 0), (1, 1)), ((1, 2), (0, 1), (0, 1), (2, 1))]:
        tag = f"s{s_}_p{p_}_op{op_}_d{d_}".replace(" ", "")
        c.append(Case(f"conv2d_transpose_{tag}",
                      lambda x, w, s_=s_, p_=p_, op_=op_, d_=d_: core.conv2d_transpose(x, w, s_, p_, op_, d_),
                      [rnd(2, 3, 4, 3), rnd(3, 2, 3, 2)],
                      lambda x, w, s_=s_, p_=p_, op_=op_, d_=d_: conv_transpose_ref(x, w, s_, p_, op_, d_)))

    def grouped_transpose_ref(x, w, groups, *args):
        ci, co = x.shape[1] // groups, w.shape[1]
        return np.concatenate([conv_transpose_ref(x[:, g * ci:(g + 1) * ci], w[g * ci:(g + 1) * ci], *args)
                               for g in range(groups)], 1)
    c.append(Case("conv2d_transpose_groups2_s2", lambda x, w: core.conv2d_transpose(x, w, 2, 1, 1, 1, 2),
                  [rnd(1, 4, 3, 3), rnd(4, 3, 4, 4)],
                  lambda x, w: grouped_transpose_ref(x, w, 2, (2, 2), (1, 1), (1, 1), (1, 1))))
    pool_cfgs = [((2, 2), (2, 2), 0), ((3, 3), (2, 2), 1), ((3, 2), (1, 2), "same"), ((2, 2), (2, 2), "valid"),
                 ((3, 3), (2, 1), 0), ((2, 1), (1, 1), 0)]
    for k, s, p in pool_cfgs:
        x = distinct(2, 3, 7, 5)
        tag = f"k{k}_s{s}_p{p}".replace(" ", "")
        c.append(Case(f"max_pool2d_{tag}", lambda x, k=k, s=s, p=p: core.max_pool2d(x, k, s, p)[0], [x],
                      lambda x, k=k, s=s, p=p: pool_ref(x, k, s, p, "max")))
        c.append(Case(f"avg_pool2d_{tag}", lambda x, k=k, s=s, p=p: core.avg_pool2d(x, k, s, p), [x],
                      lambda x, k=k, s=s, p=p: pool_ref(x, k, s, p, "avg")))
        c.append(Case(f"avg_pool2d_nopadcount_{tag}", lambda x, k=k, s=s, p=p: core.avg_pool2d(x, k, s, p, False),
                      [x], lambda x, k=k, s=s, p=p: pool_ref(x, k, s, p, "avg", False)))
    for k, s, p in [((3, 3), (2, 2), 1), ((2, 2), (2, 2), 0), ((3, 2), (1, 2), "same")]:
        x = distinct(2, 3, 7, 5)
        tag = f"k{k}_s{s}_p{p}".replace(" ", "")
        c.append(Case(f"max_pool2d_nhwc_{tag}", lambda x, k=k, s=s, p=p: core.max_pool2d(x, k, s, p, "NHWC")[0],
                      [nhwc(x)], lambda x, k=k, s=s, p=p: nhwc(pool_ref(nchw(x), k, s, p, "max"))))
        c.append(Case(f"avg_pool2d_nhwc_nopadcount_{tag}",
                      lambda x, k=k, s=s, p=p: core.avg_pool2d(x, k, s, p, False, "NHWC"),
                      [nhwc(x)], lambda x, k=k, s=s, p=p: nhwc(pool_ref(nchw(x), k, s, p, "avg", False))))
    # The pooling backward primitives are checked through their own gradients (second order).
    from core.ops.nn import MaxPoolGrad, MaxPoolGather, AvgPoolGrad
    xm = distinct(2, 3, 7, 5)
    for k, s, p in [((3, 3), (2, 2), 1), ((2, 2), (2, 2), 0)]:
        def mp_grad(g, x, k=k, s=s, p=p):
            _, idx = core.max_pool2d(x, k, s, p)
            return core.apply(MaxPoolGrad(k, s, p), g, idx, x)

        def mp_gather(g, x, k=k, s=s, p=p):
            _, idx = core.max_pool2d(x, k, s, p)
            return core.apply(MaxPoolGather(k, s, p), g, idx)

        oshape = pool_ref(xm, k, s, p, "max").shape
        c.append(Case(f"max_pool2d_grad_k{k}", mp_grad, [rnd(*oshape), xm], None, wrt=[0]))
        c.append(Case(f"max_pool2d_gather_k{k}", mp_gather, [rnd(*xm.shape), xm], None, wrt=[0]))
        c.append(Case(f"avg_pool2d_grad_k{k}", lambda g, x, k=k, s=s, p=p: core.apply(AvgPoolGrad(k, s, p), g, x),
                      [rnd(*oshape), xm], None, wrt=[0]))

        def mp_grad_nhwc(g, x, k=k, s=s, p=p):
            _, idx = core.max_pool2d(x, k, s, p, "NHWC")
            return core.apply(MaxPoolGrad(k, s, p, "NHWC"), g, idx, x)

        def mp_gather_nhwc(g, x, k=k, s=s, p=p):
            _, idx = core.max_pool2d(x, k, s, p, "NHWC")
            return core.apply(MaxPoolGather(k, s, p, "NHWC"), g, idx)

        c.append(Case(f"max_pool2d_grad_nhwc_k{k}", mp_grad_nhwc, [nhwc(rnd(*oshape)), nhwc(xm)], None, wrt=[0]))
        c.append(Case(f"max_pool2d_gather_nhwc_k{k}", mp_gather_nhwc, [nhwc(rnd(*xm.shape)), nhwc(xm)], None,
                      wrt=[0]))
        c.append(Case(f"avg_pool2d_grad_nhwc_k{k}",
                      lambda g, x, k=k, s=s, p=p: core.apply(AvgPoolGrad(k, s, p, False, "NHWC"), g, x),
                      [nhwc(rnd(*oshape)), nhwc(xm)], None, wrt=[0]))
    # Fused gradient primitives: forward against the plain formula, their own gradients to second order.
    from core.ops.elementwise import ReluGrad
    from core.ops.nn import BiasAddGrad
    from core.ops.reduce import ReduceGrad
    c += [
        Case("bias_add_nchw", lambda x, b: core.bias_add(x, b, 1), [rnd(2, 3, 4, 5), rnd(3)],
             lambda x, b: x + b[None, :, None, None]),
        Case("bias_add_nhwc", lambda x, b: core.bias_add(x, b, -1), [rnd(2, 4, 5, 3), rnd(3)], lambda x, b: x + b),
        Case("bias_add_grad_nchw", lambda g: core.apply(BiasAddGrad(1), g), [rnd(2, 3, 4, 5)],
             lambda g: g.sum((0, 2, 3))),
        Case("relu_grad", lambda g, y: core.apply(ReluGrad(), g, y), [rnd(3, 5), distinct(3, 5) - 0.5],
             lambda g, y: np.where(y > 0, g, 0.0), wrt=[0]),
        Case("mean_grad_axes", lambda g, x: core.apply(ReduceGrad((0, 2), False, True), g, x), [rnd(3), rnd(2, 3, 4)],
             lambda g, x: np.broadcast_to(g[None, :, None] / 8, x.shape), wrt=[0]),
        Case("sum_grad_keepdims", lambda g, x: core.apply(ReduceGrad(1, True, False), g, x),
             [rnd(2, 1, 4), rnd(2, 3, 4)], lambda g, x: np.broadcast_to(g, x.shape), wrt=[0]),
        Case("sum_grad_all", lambda g, x: core.apply(ReduceGrad(None, False, False), g, x), [rnd(), rnd(2, 3)],
             lambda g, x: np.full(x.shape, g), wrt=[0]),
    ]
    gam, bet = rnd(1, 3, 1, 1, lo=0.5), rnd(1, 3, 1, 1)
    c.append(Case("batch_norm_train", lambda x, g, b: core.batch_norm_train(x, g, b, (0, 2, 3), 1e-5)[0],
                  [rnd(4, 3, 2, 3), gam, bet],
                  lambda x, g, b: (x - x.mean((0, 2, 3), keepdims=True)) / np.sqrt(x.var((0, 2, 3), keepdims=True)
                                                                                   + 1e-5) * g + b))

    def bn_ref(x, g, b, axes):
        m = x.mean(axes, keepdims=True)
        return (x - m) / np.sqrt(((x - m) ** 2).mean(axes, keepdims=True) + 1e-5) * g + b
    c.append(Case("batch_norm_train_nhwc_n1", lambda x, g, b: core.batch_norm_train(x, g, b, (0, 1, 2), 1e-5)[0],
                  [rnd(1, 3, 2, 4) + 3.0, rnd(1, 1, 1, 4, lo=0.5), rnd(1, 1, 1, 4)],
                  lambda x, g, b: bn_ref(x, g, b, (0, 1, 2))))
    c.append(Case("batch_norm_train_stats", lambda x, g, b: core.add(
        core.scalar(core.batch_norm_train(x, g, b, (0, 2, 3), 1e-5)[1], "mul", 3.0),
        core.batch_norm_train(x, g, b, (0, 2, 3), 1e-5)[2]), [rnd(2, 3, 2, 3), gam, bet],
        lambda x, g, b: 3 * x.mean((0, 2, 3), keepdims=True) + x.var((0, 2, 3), keepdims=True)))
    from core.ops.nn import BatchNormTrainGrad

    def bn_grad(gy, x, g, b):
        y, mean, var = core.batch_norm_train(x, g, b, (0, 2, 3), 1e-5)
        dx, dg, db = core.apply(BatchNormTrainGrad((0, 2, 3), 1e-5), gy, x, g, mean, var)
        return core.add(core.sum(core.mul(dx, dx)), core.add(core.sum(dg), core.sum(core.mul(db, db))))
    c.append(Case("batch_norm_train_grad", bn_grad, [rnd(2, 3, 2, 3), rnd(2, 3, 2, 3), gam, bet], None))
    # one or two zeros in a row, a row without: ATen's three cumprod gradient cases
    zeros_in_rows = np.array([[0.5, 0.0, -1.5, 2.0, 0.0], [1.2, -0.7, 0.0, 1.1, 0.9], [0.3, 1.4, -2.0, 0.6, -1.3]])
    c += [
        Case("hypot", core.hypot, [rnd(3, 4), rnd(1, 4)], lambda x, y: np.sqrt(x * x + y * y)),
        Case("logaddexp", core.logaddexp, [rnd(3, 4), rnd(3, 1)], lambda x, y: np.log(np.exp(x) + np.exp(y))),
        Case("cumprod", lambda x: core.cumprod(x, 1), [rnd(3, 4)], lambda x: np.cumprod(x, 1)),
        Case("cumprod_zeros", lambda x: core.cumprod(x, 1), [zeros_in_rows], lambda x: np.cumprod(x, 1)),
        Case("cumprod_first_axis", lambda x: core.cumprod(x, 0), [zeros_in_rows.T.copy()], lambda x: np.cumprod(x, 0)),
    ]
    # Dense linear algebra on well-conditioned batches (A + 3I): the triangular solves against NumPy's solve of
    # the triangle, Cholesky of A A^T (the gradient of a symmetric input is the symmetric one PyTorch and TF give).
    from core.ops import linalg as la
    sq, rhs = rnd(2, 3, 3) + 3 * np.eye(3), rnd(2, 3, 2)
    c += [
        Case("inverse", la.inverse, [sq], np.linalg.inv),
        Case("inverse_adjoint", lambda a: la.inverse(a, True), [sq], lambda a: np.linalg.inv(a.swapaxes(-1, -2))),
        Case("det", la.det, [sq], np.linalg.det),
        Case("slogdet", lambda a: la.slogdet(a)[1], [sq], lambda a: np.linalg.slogdet(a)[1]),
        Case("solve_broadcast", la.solve, [sq, rnd(3, 2)],
             lambda a, b: np.linalg.solve(a, np.broadcast_to(b, rhs.shape))),
        Case("solve_adjoint", lambda a, b: la.solve(a, b, True), [sq, rhs],
             lambda a, b: np.linalg.solve(a.swapaxes(-1, -2), b)),
        Case("triangular_solve_lower", la.triangular_solve, [sq, rhs], lambda a, b: np.linalg.solve(np.tril(a), b)),
        Case("triangular_solve_upper_adjoint_unit", lambda a, b: la.triangular_solve(a, b, False, True, True),
             [sq, rhs], lambda a, b: np.linalg.solve((np.triu(a, 1) + np.eye(3)).swapaxes(-1, -2), b)),
        Case("cholesky", lambda a: la.cholesky(core.matmul(a, a, transpose_b=True)), [sq],
             lambda a: np.linalg.cholesky(a @ a.swapaxes(-1, -2))),
        Case("matrix_power_5", lambda a: la.matrix_power(a, 5), [sq], lambda a: np.linalg.matrix_power(a, 5)),
        Case("matrix_power_neg2", lambda a: la.matrix_power(a, -2), [sq], lambda a: np.linalg.matrix_power(a, -2)),
    ]
    return c


CASES = _cases()
