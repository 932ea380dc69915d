"""dualflow's op library: primitives defined once, used by both frontends.

    >>> import numpy, core
    >>> x = core.value(numpy.array([1.0, 2.0]), requires_grad=True)
    >>> y = core.sum(core.mul(x, x))
    >>> [g.data.tolist() for g in core.gradients([y], [x], [core.value(numpy.array(1.0))])]
    [[2.0, 4.0]]
"""
from __future__ import annotations

from typing import Any

import numpy

import backends
from core import device
from core.autodiff import gradients
from core.errors import DeviceError, DTypeError, ShapeError
from core.graph import Node, Value, toposort
from core.op import Op, apply, grad_mode, is_grad_enabled
from core.ops.elementwise import (abs, acos, add, add_scaled, asin, atan, atan2, broadcast_like, cast, clip_inside,
                                  cos, cosh, div, elu, equal, erf, exp, exp2, expm1, floor, floor_div, floor_mod, fma,
                                  fmod, greater, greater_equal, hypot, identity, leaky_relu, less, less_equal, log,
                                  log10, log1p, log2, logaddexp, logical_and, logical_or, maximum, minimum, mul, neg,
                                  not_equal, pow, relu, round, scalar, scalar_compare, sigmoid, sign, silu, sin, sinh,
                                  sqrt, stop_gradient, sub, sum_to_like, tan, tanh, where)
from core.ops.linalg import einsum, matmul
from core.ops.loss import binary_cross_entropy, one_hot, sigmoid_cross_entropy, softmax_cross_entropy
from core.ops.nn import (avg_pool2d, bias_add, batch_norm_eval, batch_norm_train, conv2d, conv2d_grad_input,
                         conv2d_grad_weight, conv2d_transpose, dropout, max_pool2d)
from core.ops.reduce import (all, any, argmax, argmin, argsort, bincount, cumprod, cumsum, log_softmax, logsumexp, max,
                              mean, min, prod, softmax, sum, unique)
from core.ops.shape import (broadcast_to, concat, expand_dims, fill_like, getitem, nonzero, pad, reshape, reshape_like,
                            size_ratio, squeeze, stack, take_along_axis, transpose)
from core.random import Generator, seed_everything


def value(data: Any, dtype: Any = None, dev: Any = None, requires_grad: bool = False) -> Value:
    """A leaf Value holding ``data`` on ``dev`` (default: ``device.default()``)."""
    d = device.parse(dev) if dev is not None else device.default()
    arr = numpy.asarray(data, dtype=dtype)
    if dtype is None and arr.dtype == numpy.float64 and not isinstance(data, numpy.ndarray):
        arr = arr.astype(numpy.float32)
    be = backends.get_backend(d)
    a = be.asarray(arr)
    return Value._wrap(a, tuple(a.shape), a.dtype, d, requires_grad=requires_grad)
