"""TF1 op functions (``tf.matmul``, ``tf.reduce_sum``, ``tf.placeholder``, ...) over core primitives."""
from __future__ import annotations

import builtins
import sys
from typing import Any, Sequence

import numpy

import core
from core import errors as _errors
from core.op import Op
from core.ops import scatter as _scatter
from core.ops.shape import TakeGrad as _TakeGrad
from static_api import dtypes
from static_api.graph import (ConstOp, NoOp, PlaceholderOp, PlaceholderWithDefaultOp, Tensor, TensorShape, _op_named,
                              convert_to_tensor, get_default_graph, named, real_div)

as_dtype = dtypes.as_dtype
float16, float32, float64 = as_dtype("float16"), as_dtype("float32"), as_dtype("float64")
half, double = float16, float64
int8, int16, int32, int64 = as_dtype("int8"), as_dtype("int16"), as_dtype("int32"), as_dtype("int64")
uint8, uint16, uint32, uint64 = as_dtype("uint8"), as_dtype("uint16"), as_dtype("uint32"), as_dtype("uint64")
bool, complex64, complex128 = as_dtype("bool"), as_dtype("complex64"), as_dtype("complex128")  # noqa: A001
string = "string"       # a name only: dtypes.as_dtype says strings are not supported


def _t(x: Any, dtype: Any = None, like: Tensor | None = None, graph: Any = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if dtype is None and like is not None:
        dtype = like.dtype
    return convert_to_tensor(x, dtype, graph=like.graph if like is not None else graph)


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Two operands as TF's ops convert them, in order: the first one's dtype (a Tensor's, else its own, as
    ``tf.constant`` gives it) decides, and the second is converted to it (a NumPy array cast, as TF casts it; a
    Python number that does not fit is a TypeError).  Before a Tensor, a Python number takes the Tensor's dtype
    where it fits (TF refuses even that; the values are the same), and anything else of another dtype is
    TF's TypeError, not a silent cast."""
    if isinstance(a, Tensor):
        return a, _t(b, like=a)
    if isinstance(b, Tensor):
        if isinstance(a, (builtins.bool, builtins.int, builtins.float)):
            return _t(a, like=b), b
        a = _t(a, graph=b.graph)
        if a.dtype != b.dtype:
            raise TypeError(f"Input 'y' has type {b.dtype.name} that does not match type {a.dtype.name} of argument "
                            "'x'.")
        return a, b
    a = _t(a)
    return a, _t(b, like=a)


def placeholder(dtype: Any, shape: Sequence[int | None] | int | None = None, name: str | None = None) -> Tensor:
    """A fed input; without a shape it is a scalar (see ``PlaceholderOp``); an int n is the shape (n,)."""
    if isinstance(shape, (int, numpy.integer)):
        shape = (int(shape),)
    return get_default_graph()._source(PlaceholderOp(None if shape is None else tuple(shape), as_dtype(dtype)),
                                       name or "Placeholder")


def placeholder_with_default(input: Any, shape: Sequence[int | None], name: str | None = None) -> Tensor:
    out = core.apply(PlaceholderWithDefaultOp(), _t(input))
    out.shape = TensorShape(shape)
    return named(out, name)


def constant(value: Any, dtype: Any = None, shape: Sequence[int] | None = None, name: str = "Const") -> Tensor:
    return get_default_graph().constant(value, dtype, name, shape)


def zeros(shape: Sequence[int], dtype: Any = float32, name: str | None = None) -> Tensor:
    return constant(numpy.zeros(shape, dtype=as_dtype(dtype)), name=name or "zeros")


def ones(shape: Sequence[int], dtype: Any = float32, name: str | None = None) -> Tensor:
    return constant(numpy.ones(shape, dtype=as_dtype(dtype)), name=name or "ones")


def zeros_like(x: Tensor, dtype: Any = None, name: str | None = None) -> Tensor:
    return named(core.fill_like(_t(x), 0, None if dtype is None else as_dtype(dtype)), name)


def ones_like(x: Tensor, dtype: Any = None, name: str | None = None) -> Tensor:
    return named(core.fill_like(_t(x), 1, None if dtype is None else as_dtype(dtype)), name)


def identity(x: Any, name: str | None = None) -> Tensor:
    return named(core.identity(_t(x)), name)


def stop_gradient(x: Any, name: str | None = None) -> Tensor:
    return named(core.stop_gradient(_t(x)), name)


def no_op(name: str | None = None) -> Any:
    return get_default_graph()._source(NoOp(), name or "NoOp")


def group(*inputs: Any, name: str | None = None) -> Any:
    g = get_default_graph()
    with g.control_dependencies([i for i in inputs if i is not None]):
        return no_op(name or "group_deps")


def add(x, y, name=None):
    return named(core.add(*_pair(x, y)), name)


def subtract(x, y, name=None):
    return named(core.sub(*_pair(x, y)), name)


def multiply(x, y, name=None):
    return named(core.mul(*_pair(x, y)), name)


def divide(x, y, name=None):
    x, y = _pair(x, y)
    return x / y if name is None else named(real_div(x, y), name)      # TF's own: "truediv" without a name


def maximum(x, y, name=None):
    return named(core.maximum(*_pair(x, y)), name)


def minimum(x, y, name=None):
    return named(core.minimum(*_pair(x, y)), name)


def equal(x, y, name=None):
    return named(core.equal(*_pair(x, y)), name)


def less(x, y, name=None):
    return named(core.less(*_pair(x, y)), name)


def greater(x, y, name=None):
    return named(core.greater(*_pair(x, y)), name)


def add_n(inputs, name=None):
    """The elementwise sum of a list of tensors of one shape and dtype (no broadcasting, as TF)."""
    ts = [_t(t) for t in inputs]
    if not ts:
        raise ValueError("tf.add_n: inputs must be a non-empty list of tensors")
    for t in ts[1:]:
        if tuple(t.shape) != tuple(ts[0].shape) or t.dtype != ts[0].dtype:
            raise ValueError(f"tf.add_n: all inputs must have the same shape and dtype, got {tuple(ts[0].shape)} "
                             f"{ts[0].dtype} and {tuple(t.shape)} {t.dtype}")
    out = ts[0]
    for t in ts[1:]:
        out = core.add(out, t)
    return named(out if len(ts) > 1 else core.identity(out), name)


def not_equal(x, y, name=None):
    return named(core.not_equal(*_pair(x, y)), name)


def less_equal(x, y, name=None):
    return named(core.less_equal(*_pair(x, y)), name)


def greater_equal(x, y, name=None):
    return named(core.greater_equal(*_pair(x, y)), name)


def logical_and(x, y, name=None):
    return named(core.logical_and(*_pair(x, y)), name)


def logical_or(x, y, name=None):
    return named(core.logical_or(*_pair(x, y)), name)


def logical_xor(x, y, name=None):
    """True where exactly one of two bool tensors is (TF's composite of and, or, not: the same values)."""
    x, y = _pair(x, y)
    for arg, t in (("x", x), ("y", y)):
        if t.dtype != numpy.bool_:
            raise TypeError(f"logical_xor: argument '{arg}' must be a bool tensor, got {t.dtype}")
    return _named_or(core.not_equal(x, y), name, "LogicalXor")


def where_v2(condition, x=None, y=None, name=None):
    """TF 2's ``where``: x where condition holds, else y, all three broadcast; with neither x nor y, the
    coordinates of the True elements (int64, one row each)."""
    if x is None and y is None:
        return _named_or(core.nonzero(_t(condition)), name, "Where")
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    x, y = _pair(x, y)
    return named(core.where(_t(condition), x, y), name)


def where_v1(condition, x=None, y=None, name=None):
    """TF1's ``tf.where`` (the Select op): x and y of one shape, and a condition of that shape (elementwise), a
    scalar (all of x or all of y), or a vector as long as x's first dim (whole rows: a condition of shape (3,)
    picks rows of a (3, 3) x, where broadcasting would pick columns); with neither x nor y, the coordinates of
    the True elements."""
    if x is None and y is None:
        return where_v2(condition, name=name)
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    c = _t(condition)
    x, y = _pair(x, y)
    if len(x.shape) != len(y.shape) or builtins.any(None not in (a, b) and a != b for a, b in zip(x.shape, y.shape)):
        raise ValueError(f"Shapes must be equal rank and size for Select, but x has shape {list(x.shape)} and y "
                         f"{list(y.shape)}")
    if c.ndim == 1 and x.ndim > 1:
        if None not in (c.shape[0], x.shape[0]) and c.shape[0] != x.shape[0]:
            raise ValueError(f"Select: a vector condition of size {c.shape[0]} must be as long as the first dim of "
                             f"x {list(x.shape)}")
        c = core.reshape(c, (-1,) + (1,) * (x.ndim - 1))
    elif c.ndim and (len(c.shape) != len(x.shape)
                     or builtins.any(None not in (a, b) and a != b for a, b in zip(c.shape, x.shape))):
        raise ValueError(f"Select: condition of shape {list(c.shape)} must be a scalar, a vector as long as x's "
                         f"first dim, or of x's shape {list(x.shape)}")
    return named(core.where(c, x, y), name)


# dualflow's own helpers select with broadcasting, as TF 2's where; ``tf.where`` is TF1's (static_api/__init__.py)
where = where_v2


def boolean_mask(tensor, mask, name="boolean_mask", axis=None):
    """The entries of ``tensor`` where ``mask`` (a boolean of the shape of tensor's dims ``axis``..., known rank)
    holds, those dims flattened into one: TF's gather of the mask's True coordinates; the gradient scatters
    back into zeros."""
    x, m = _t(tensor), _t(mask)
    if m.dtype != numpy.bool_:
        raise TypeError(f"tf.boolean_mask: mask must be bool, got {m.dtype.name}")
    a = 0 if axis is None else builtins.int(axis) % x.ndim
    k = m.ndim
    if k == 0:
        raise ValueError("mask cannot be scalar.")
    if a + k > x.ndim or builtins.any(None not in (p, q) and p != q for p, q in zip(x.shape[a:a + k], m.shape)):
        raise ValueError(f"Shapes {list(x.shape[a:a + k])} and {list(m.shape)} are incompatible")
    if None in x.shape[a:a + k]:
        raise NotImplementedError("tf.boolean_mask: masked dims of unknown size are not implemented in dualflow")
    lead, masked = builtins.list(x.shape[:a]), builtins.int(numpy.prod(x.shape[a:a + k]))
    if None in lead:
        raise NotImplementedError("tf.boolean_mask: an axis after a dim of unknown size is not implemented in dualflow")
    flat = core.reshape(x, lead + [masked] + builtins.list(x.shape[a + k:]))
    rows = core.reshape(core.nonzero(core.reshape(m, (masked,))), (-1,))
    return _named_or(core.ops.shape.take(flat, rows, a), name, "boolean_mask")


def unique(x, out_idx=int32, name=None):
    """(y, idx): the distinct values of a 1-D tensor in the order they first appear, and each element's index
    into y (``out_idx``, int32 by default), as TF's Unique."""
    v = _t(x)
    if v.ndim != 1:
        raise ValueError(f"unique expects a 1D vector, got shape {list(v.shape)}")
    return _first_seen(v, out_idx, name, False)


def unique_with_counts(x, out_idx=int32, name=None):
    """(y, idx, count): ``unique`` and how often each distinct value occurs."""
    v = _t(x)
    if v.ndim != 1:
        raise ValueError(f"unique expects a 1D vector, got shape {list(v.shape)}")
    return _first_seen(v, out_idx, name, True)


def _first_seen(v: Tensor, out_idx: Any, name: str | None, counts: bool) -> tuple:
    dt = _index_type(out_idx, "unique")
    values, idx, count = core.unique(v, first_seen=True)
    out = (values, core.cast(idx, dt)) + ((core.cast(count, dt),) if counts else ())
    return named(out[0], name), *out[1:]


sub, mul, truediv = subtract, multiply, divide


def div(x, y, name=None):
    """TF1's ``tf.div``, Python 2's division: a floor division for integers (-7 / 2 is -4), ``divide`` for
    floats."""
    x, y = _pair(x, y)
    return floordiv(x, y, name) if x.dtype.kind in "iu" else divide(x, y, name)


def negative(x, name=None):
    return named(core.neg(_t(x)), name)


def square(x, name=None):
    x = _t(x)
    return _named_or(core.mul(x, x), name, "Square")


def floor(x, name=None):
    return named(core.floor(_t(x)), name)


def round(x, name=None):  # noqa: A001
    """Half to even, as TF's Round; an integer tensor unchanged."""
    x = _t(x)
    return named(core.round(x) if x.dtype.kind == "f" else core.identity(x), name)


def rint(x, name=None):
    """Half to even, as TF's Rint (floats only)."""
    x = _t(x)
    if x.dtype.kind != "f":
        raise TypeError(f"tf.rint: a float tensor expected, got {x.dtype.name}")
    return named(core.round(x), name)


def ceil(x, name=None):
    x = _t(x)
    return named(core.neg(core.floor(core.neg(x))), name)


def sin(x, name=None):
    return named(core.sin(_t(x)), name)


def cos(x, name=None):
    return named(core.cos(_t(x)), name)


def tan(x, name=None):
    return named(core.tan(_t(x)), name)


def asin(x, name=None):
    return named(core.asin(_t(x)), name)


def acos(x, name=None):
    return named(core.acos(_t(x)), name)


def atan(x, name=None):
    return named(core.atan(_t(x)), name)


def sinh(x, name=None):
    return named(core.sinh(_t(x)), name)


def cosh(x, name=None):
    return named(core.cosh(_t(x)), name)


def atan2(y, x, name=None):
    y, x = _pair(y, x)
    return named(core.atan2(y, x), name)


def floordiv(x, y, name=None):
    """x // y: floor division for integers (a zero divisor raises InvalidArgumentError, as TF), floor(x / y)
    for floats (TF's FloorDiv: 1.0 // 0.1 is 10, where Python and PyTorch give 9); no gradient."""
    x, y = _pair(x, y)
    return named(core.floor_div(x, y, exact=False), name)


def floormod(x, y, name=None):
    """x % y with the sign of y (TF's FloorMod; its gradient for y divides as TF's FloorDiv)."""
    x, y = _pair(x, y)
    return named(core.floor_mod(x, y, exact=False), name)


mod = floormod      # TF1's tf.mod


def is_nan(x, name=None):
    x = _t(x)
    return named(core.not_equal(x, x), name)


def is_inf(x, name=None):
    x = _t(x)
    return named(core.scalar_compare(core.abs(x), "Equal", float("inf")), name)


def is_finite(x, name=None):
    x = _t(x)
    return named(core.scalar_compare(core.abs(x), "Less", float("inf")), name)


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """Running sums along ``axis``, accumulated in the tensor's dtype as TF's scan; ``exclusive`` sums the
    values before each one (the input shifted by one, a zero first), ``reverse`` from the end."""
    x = _t(x)
    axis = int(axis) % len(x.shape)
    if exclusive:
        x = _shifted(x, axis, reverse, 0.0)
    return named(core.cumsum(x, axis, reverse), name)


def _shifted(x: Tensor, axis: int, reverse: bool, first: float) -> Tensor:
    """``x`` moved one place along ``axis`` (toward the end, or the start with ``reverse``), ``first`` coming in:
    what an exclusive scan scans."""
    pads = [(0, 0)] * len(x.shape)
    pads[axis] = (0, 1) if reverse else (1, 0)
    keep = [builtins.slice(None)] * len(x.shape)
    keep[axis] = builtins.slice(1, None) if reverse else builtins.slice(None, -1)
    return core.getitem(core.pad(x, pads, first), tuple(keep))


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    """Running products along ``axis``, accumulated in the tensor's dtype as TF's scan; ``exclusive`` multiplies
    the values before each one (a one first), ``reverse`` from the end.  The gradient is TF's (0 where x is 0)."""
    x = _t(x)
    axis = int(axis) % len(x.shape)
    if exclusive:
        x = _shifted(x, axis, reverse, 1.0)
    return _named_or(core.cumprod(x, axis, reverse, tf_kernel=True), name, "Cumprod")


def eye(num_rows, num_columns=None, batch_shape=None, dtype=float32, name=None):
    if batch_shape is not None:
        raise NotImplementedError("tf.eye: batch_shape is not implemented in dualflow (see docs/compat.md)")
    return constant(numpy.eye(num_rows, num_columns), dtype, name=name or "eye")


def log1p(x, name=None):
    return named(core.log1p(_t(x)), name)


def expm1(x, name=None):
    return named(core.expm1(_t(x)), name)


def reciprocal(x, name=None):
    return named(core.scalar(_t(x), "rdiv", 1.0), name)


def rsqrt(x, name=None):
    return named(core.scalar(core.sqrt(_t(x)), "rdiv", 1.0), name)


def sqrt(x, name=None):
    return named(core.sqrt(_t(x)), name)


def exp(x, name=None):
    return named(core.exp(_t(x)), name)


def log(x, name=None):
    return named(core.log(_t(x)), name)


def abs(x, name=None):  # noqa: A001
    return named(core.abs(_t(x)), name)


def sign(x, name=None):
    return named(core.sign(_t(x)), name)


def pow(x, y, name=None):  # noqa: A001
    return named(core.pow(*_pair(x, y)), name)


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False, a_is_sparse=False,
           b_is_sparse=False, name=None):
    """TF1's matmul; an adjoint is the transpose for the real dtypes here (the sparsity hints change nothing)."""
    return named(core.matmul(*_pair(a, b), transpose_a or adjoint_a, transpose_b or adjoint_b), name)


def _reduction(fn: Any, input_tensor: Any, axis: Any, keepdims: bool, name: str | None,
               reduction_indices: Any, keep_dims: bool | None) -> Tensor:
    # TF1 spelled axis and keepdims as reduction_indices and keep_dims; its scripts still do.
    if reduction_indices is not None:
        if axis is not None:
            raise ValueError("Cannot specify both 'axis' and 'reduction_indices'")
        axis = reduction_indices
    keepdims = keep_dims if keep_dims is not None else keepdims
    return named(fn(_t(input_tensor), axis, keepdims), name)


def _in_dtype(fn: Any) -> Any:
    """A sum or product as TF's kernels give it: in the input's own integer dtype (wrapping around where it
    overflows), where core's, as NumPy's and PyTorch's, are int64."""
    def reduce(x: Tensor, axis: Any, keepdims: bool) -> Tensor:
        y = fn(x, axis, keepdims)
        return core.cast(y, x.dtype) if y.dtype != x.dtype and x.dtype.kind in "iu" else y
    return reduce


def _mean(x: Tensor, axis: Any, keepdims: bool) -> Tensor:
    """TF's mean: of integers, the exact sum divided by the count and rounded toward zero, in the input dtype."""
    if x.dtype.kind not in "iu":
        return core.mean(x, axis, keepdims)
    total = core.sum(x, axis, keepdims)
    count = core.apply(core.ops.shape.SizeRatio(total.dtype), x, total)
    return core.cast(truncatediv(total, count), x.dtype)


def reduce_sum(input_tensor, axis=None, keepdims=False, name=None, reduction_indices=None, keep_dims=None):
    return _reduction(_in_dtype(core.sum), input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None, reduction_indices=None, keep_dims=None):
    return _reduction(_mean, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_max(input_tensor, axis=None, keepdims=False, name=None, reduction_indices=None, keep_dims=None):
    return _reduction(core.max, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_min(input_tensor, axis=None, keepdims=False, name=None, reduction_indices=None, keep_dims=None):
    return _reduction(core.min, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None, reduction_indices=None, keep_dims=None):
    return _reduction(core.logsumexp, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_prod(input_tensor, axis=None, keepdims=False, name=None, reduction_indices=None, keep_dims=None):
    """The product; its gradient TF's: the exclusive products of the others from both sides."""
    return _reduction(_in_dtype(lambda x, a, k: core.prod(x, a, k, exclusive=True)), input_tensor, axis, keepdims,
                      name, reduction_indices, keep_dims)


def reduce_all(input_tensor, axis=None, keepdims=False, name=None, reduction_indices=None, keep_dims=None):
    return _reduction(core.all, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_any(input_tensor, axis=None, keepdims=False, name=None, reduction_indices=None, keep_dims=None):
    return _reduction(core.any, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def _index_type(output_type: Any, what: str) -> numpy.dtype:
    dt = as_dtype(output_type)
    if dt.name not in ("int16", "uint16", "int32", "int64"):
        raise TypeError(f"{what}: Value passed to parameter 'output_type' has DataType {dt.name} not in list of "
                        "allowed values: int16, uint16, int32, int64")
    return dt


def _nan_as(x: Tensor, fill: float) -> Tensor:
    """x with NaNs replaced by ``fill``: TF's ArgMax/ArgMin pass over NaNs (they never compare greater or
    less), where NumPy's stop at the first one."""
    return core.where(core.not_equal(x, x), core.fill_like(x, fill), x) if x.dtype.kind == "f" else x


def argmax(input, axis=None, name=None, output_type=int64):  # noqa: A002
    out = core.argmax(_nan_as(_t(input), -numpy.inf), 0 if axis is None else axis)
    return named(core.cast(out, _index_type(output_type, "argmax")), name)


def argmin(input, axis=None, name=None, output_type=int64):  # noqa: A002
    out = core.argmin(_nan_as(_t(input), numpy.inf), 0 if axis is None else axis)
    return named(core.cast(out, _index_type(output_type, "argmin")), name)


def cast(x, dtype, name=None):
    x = _t(x)
    out = core.cast(x, as_dtype(dtype))
    return out if out is x else named(out, name)      # TF returns x itself (and its name) when no cast is needed


def to_float(x, name="ToFloat"):
    return cast(x, float32, name)


def to_double(x, name="ToDouble"):
    return cast(x, float64, name)


def to_int32(x, name="ToInt32"):
    return cast(x, int32, name)


def to_int64(x, name="ToInt64"):
    return cast(x, int64, name)


def reshape(tensor, shape, name=None):
    return named(core.reshape(_t(tensor), [-1 if s is None else int(s) for s in shape]), name)


def transpose(a, perm=None, name=None):
    a = _t(a)
    return named(core.transpose(a, tuple(reversed(builtins.range(a.ndim))) if perm is None else perm), name)


def concat(values, axis, name="concat"):
    return named(core.concat([_t(v) for v in values], axis), name)


def stack(values, axis=0, name="stack"):
    return named(core.stack([_t(v) for v in values], axis), name)


def expand_dims(input, axis, name=None):
    return named(core.expand_dims(_t(input), axis), name)


def squeeze(input, axis=None, name=None):
    return named(core.squeeze(_t(input), axis), name)


def _named_or(result: Tensor, name: str | None, default: str) -> Tensor:
    """``named(result, name)``, or the op's TF name ``default`` when the user gave none (``_op_named``)."""
    return named(result, name) if name is not None else _op_named(result, default)


def _numbers(fn: str, *values: Any) -> None:
    if builtins.any(isinstance(v, Tensor) for v in values):
        raise NotImplementedError(f"tf.{fn}: tensor arguments are not implemented in dualflow (give Python numbers)")


def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001
    """Python numbers only: TF's values, start + i * delta computed in the dtype (its kernel rounds the product
    and the sum; NumPy's arange and PyTorch's differ), ceil(|(limit - start) / delta|) of them; int32 unless a
    bound is a float."""
    if limit is None:
        start, limit = 0, start
    _numbers("range", start, limit, delta)
    floats = builtins.any(isinstance(v, (builtins.float, numpy.floating)) for v in (start, limit, delta))
    dt = as_dtype(dtype) if dtype is not None else (float32 if floats else int32)
    s, lim, d = (dt.type(v) for v in (start, limit, delta))
    if d == 0:
        raise ValueError("Requires delta != 0")
    if (d > 0 and s > lim) or (d < 0 and s < lim):
        raise ValueError(f"Requires start {'<=' if d > 0 else '>='} limit when delta {'>' if d > 0 else '<'} 0: "
                         f"{start}/{limit}")
    if dt.kind in "iu":
        n = (builtins.abs(builtins.int(lim) - builtins.int(s)) + builtins.abs(builtins.int(d)) - 1) \
            // builtins.abs(builtins.int(d))
        values = numpy.arange(n, dtype=numpy.int64) * builtins.int(d) + builtins.int(s)
    else:
        n = builtins.int(numpy.ceil(numpy.abs((lim - s) / d)))
        values = s + numpy.arange(n).astype(dt) * d
    return constant(values.astype(dt), dt, name=name)


def linspace(start, stop, num, name="linspace", axis=0):
    """Python numbers only: start + i * step in the dtype, step = (stop - start) / (num - 1), the last value stop
    itself, as TF's kernel."""
    _numbers("linspace", start, stop, num)
    if axis != 0:
        raise NotImplementedError("tf.linspace: axis is not implemented in dualflow")
    dt = float32 if isinstance(start, (builtins.float, builtins.int)) else numpy.asarray(start).dtype
    if dt.kind != "f":
        raise TypeError(f"Value for attr 'T' of {dt.name} is not in the list of allowed values: bfloat16, half, "
                        "float, double")
    n = builtins.int(num)
    if n < 1:
        raise ValueError(f"Requires num > 0: {n}")
    s, e = dt.type(start), dt.type(stop)
    values = s + numpy.arange(n).astype(dt) * ((e - s) / dt.type(builtins.max(n - 1, 1)))
    if n > 1:
        values[-1] = e
    return constant(values, dt, name=name)


lin_space = linspace        # TF1's older name


def fill(dims, value, name=None):
    _numbers("fill", *dims)
    v = numpy.asarray(value)
    dt = float32 if v.dtype == numpy.float64 else (int32 if v.dtype == numpy.int64 else v.dtype)
    return constant(numpy.full([builtins.int(d) for d in dims], value, dtype=dt), dt, name=name or "Fill")


def tile(input, multiples, name=None):
    """Each axis repeated ``multiples`` times (copies joined end to end: the gradient sums them)."""
    x = _t(input)
    _numbers("tile", *multiples)
    if len(multiples) != x.ndim:
        raise ValueError(f"Shape must be rank {x.ndim} but is rank {len(multiples)} for Tile with input shape "
                         f"{list(x.shape)}")
    out = x
    for axis, m in enumerate(multiples):
        m = builtins.int(m)
        if m < 0:
            raise ValueError(f"Expected multiples[{axis}] >= 0, but got {m}")
        if m != 1:
            out = (core.concat([out] * m, axis) if m
                   else core.getitem(out, (builtins.slice(None),) * axis + (builtins.slice(0, 0),)))
    return _named_or(out if out is not x else core.identity(x), name, "Tile")


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None):
    """'CONSTANT' (``constant_values``), 'REFLECT' (about the edge) or 'SYMMETRIC' (the edge repeated), case
    insensitive; the mirrored modes gather by index, so each value is an exact copy."""
    x = _t(tensor)
    pairs = [(builtins.int(a), builtins.int(b)) for a, b in numpy.asarray(paddings).reshape(-1, 2)]
    if len(pairs) != x.ndim:
        raise ValueError(f"The first dimension of paddings must be the rank of inputs{[len(pairs), 2]}, "
                         f"{list(x.shape)}")
    mode = str(mode).upper()
    if mode == "CONSTANT":
        return named(core.pad(x, pairs, constant_values), name if name or constant_values else "Pad")
    if mode not in ("REFLECT", "SYMMETRIC"):
        raise ValueError(f'Value of argument `mode` expected to be one of "CONSTANT", "REFLECT", or "SYMMETRIC". '
                         f"Received `mode` = {mode}")
    for axis, (a, b) in enumerate(pairs):
        if not (a or b):
            continue
        n = x.shape[axis]
        if n is None:
            raise NotImplementedError(f"tf.pad: mode {mode} along an axis of unknown size is not implemented in "
                                      "dualflow")
        limit = n if mode == "SYMMETRIC" else n - 1
        if a > limit or b > limit:
            raise _errors.InvalidArgumentError(None, None, f"paddings must be less than"
                                              f"{' or equal to' if mode == 'SYMMETRIC' else ''} the dimension size: "
                                              f"{a}, {b} not less than {n}")
        at = numpy.arange(-a, n + b)
        shift = 1 if mode == "SYMMETRIC" else 0
        at = numpy.where(at < 0, -at - shift, numpy.where(at >= n, 2 * n - 2 + shift - at, at))
        x = core.ops.shape.take(x, convert_to_tensor(at.astype(numpy.int64), graph=x.graph), axis)
    return _named_or(x, name, "MirrorPad")


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None):
    """Slices of ``params`` along ``axis`` at ``indices``; with ``batch_dims`` b, the first b dims of both are
    batches gathered each from its own (``axis`` defaults to b then): an index-tuple gather (``gather_nd``)
    whose tuples hold the batch and the dims before ``axis`` as constant grids."""
    x = _t(params)
    idx = _t(indices) if isinstance(indices, Tensor) else convert_to_tensor(numpy.asarray(indices), graph=x.graph)
    if not batch_dims:
        return named(core.ops.shape.take(x, idx, 0 if axis is None else builtins.int(axis)), name)
    b = builtins.int(batch_dims) % idx.ndim if batch_dims < 0 else builtins.int(batch_dims)
    a = b if axis is None else builtins.int(axis) % x.ndim
    if not b <= a < x.ndim or b > idx.ndim:
        raise ValueError(f"tf.gather: batch_dims ({batch_dims}) must be at most axis ({axis}) and the indices' rank "
                         f"({idx.ndim})")
    if None in x.shape[:a] or None in idx.shape:
        raise NotImplementedError("tf.gather: batch_dims with dims of unknown size is not implemented in dualflow")
    if builtins.tuple(x.shape[:b]) != builtins.tuple(idx.shape[:b]):
        raise ValueError(f"params.shape[:{b}] {list(x.shape[:b])} must equal indices.shape[:{b}] "
                         f"{list(idx.shape[:b])}")
    lead = builtins.list(x.shape[:a])                # the batch dims, then those between them and axis
    rest = builtins.list(idx.shape[b:])
    grid = numpy.indices(lead + rest, dtype=numpy.int64)[:len(lead)]
    at = core.cast(core.reshape(idx, builtins.list(idx.shape[:b]) + [1] * (a - b) + rest), numpy.int64)
    at = core.broadcast_to(at, lead + rest)
    tuples = core.stack([convert_to_tensor(g, graph=x.graph) for g in grid] + [at], -1)
    return named(_scatter.gather_nd(x, tuples), name)


def _indices(indices: Any, graph: Any) -> Tensor:
    """An index argument as a tensor (a Python list becomes int32, as TF converts it)."""
    if isinstance(indices, Tensor):
        return indices
    return convert_to_tensor(numpy.asarray(indices, dtype=numpy.int32 if not hasattr(indices, "dtype") else None),
                             graph=graph)


def gather_nd(params, indices, batch_dims=0, name=None):
    """``params`` read at each index tuple (the last dim of ``indices``); out-of-range indices raise
    InvalidArgumentError when the graph runs, as on TF's CPU."""
    if batch_dims:
        raise NotImplementedError("tf.gather_nd: batch_dims is not implemented in dualflow")
    x = _t(params)
    return named(_scatter.gather_nd(x, _indices(indices, x.graph)), name)


def scatter_nd(indices, updates, shape, name=None):
    """Zeros of ``shape`` with each update added at its index tuple (repeated indices add up)."""
    _numbers("scatter_nd", *shape)
    u = _t(updates)
    return named(_scatter.scatter_nd(_indices(indices, u.graph), u, [builtins.int(d) for d in shape]), name)


def _tensor_scatter(mode: str, tensor: Any, indices: Any, updates: Any, name: str | None) -> Tensor:
    x = _t(tensor)
    out = _scatter.tensor_scatter(x, _indices(indices, x.graph), _t(updates, like=x), mode)
    return _named_or(out, name, "TensorScatter" + mode.capitalize())


def tensor_scatter_nd_update(tensor, indices, updates, name=None):
    """``tensor`` with each update written at its index tuple (of repeated indices the last one stays)."""
    return _tensor_scatter("update", tensor, indices, updates, name)


def tensor_scatter_nd_add(tensor, indices, updates, name=None):
    """``tensor`` with each update added at its index tuple (repeated indices add up, one after the other into
    the tensor's value, as TF's kernel rounds them)."""
    return _tensor_scatter("add", tensor, indices, updates, name)


def tensor_scatter_nd_sub(tensor, indices, updates, name=None):
    return _tensor_scatter("sub", tensor, indices, updates, name)


def _scatter_variable(fn: str, mode: str, ref: Any, indices: Any, updates: Any, name: str | None,
                      by_rows: bool) -> Tensor:
    """TF1's ``tf.scatter_*`` (rows: ``indices`` pick along the first dim) and ``tf.scatter_nd_*`` (index
    tuples) of a variable: assigns the scattered value back, and returns the variable's new value."""
    if not hasattr(ref, "assign"):
        raise TypeError(f"tf.{fn}: argument 'ref' must be a Variable, got {type(ref).__name__}")
    with ref.graph.name_scope(name or ("Scatter" if by_rows else "ScatterNd") + mode.capitalize()) as scope:
        at = _indices(indices, ref.graph)
        if by_rows:
            at = core.expand_dims(at, -1)
        new = _scatter.tensor_scatter(ref, at, _t(updates, like=ref), mode)
        return ref.assign(new, name=scope)       # the op named after its scope, as TF's ScatterUpdate


def scatter_update(ref, indices, updates, use_locking=True, name=None):
    """Rows ``indices`` of the variable ``ref`` set to ``updates``; its new value (TF1's ref)."""
    return _scatter_variable("scatter_update", "update", ref, indices, updates, name, True)


def scatter_add(ref, indices, updates, use_locking=False, name=None):
    return _scatter_variable("scatter_add", "add", ref, indices, updates, name, True)


def scatter_sub(ref, indices, updates, use_locking=False, name=None):
    return _scatter_variable("scatter_sub", "sub", ref, indices, updates, name, True)


def scatter_nd_update(ref, indices, updates, use_locking=True, name=None):
    return _scatter_variable("scatter_nd_update", "update", ref, indices, updates, name, False)


def scatter_nd_add(ref, indices, updates, use_locking=False, name=None):
    return _scatter_variable("scatter_nd_add", "add", ref, indices, updates, name, False)


def scatter_nd_sub(ref, indices, updates, use_locking=False, name=None):
    return _scatter_variable("scatter_nd_sub", "sub", ref, indices, updates, name, False)


def _segment_counts(data: Tensor, ids: Tensor, num_segments: int) -> Tensor:
    """Each segment's row count, at least 1, shaped to divide the segment sums (TF's ``_unsorted_segment_N``)."""
    ones = core.fill_like(ids, 1.0, data.dtype)
    n = _scatter.unsorted_segment_sum(ones, ids, num_segments)
    n = core.maximum(n, _t(1, like=n))
    return core.reshape(n, (num_segments,) + (1,) * (data.ndim - ids.ndim))


def _segment_args(fn: str, data: Any, segment_ids: Any, num_segments: Any) -> tuple[Tensor, Tensor, int]:
    _numbers(fn, num_segments)
    x = _t(data)
    return x, _indices(segment_ids, x.graph), builtins.int(num_segments)


def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    """Row sums by segment id, for ids in [0, num_segments); a negative id drops its row (TF 2's rule)."""
    x, ids, n = _segment_args("unsorted_segment_sum", data, segment_ids, num_segments)
    return named(_scatter.unsorted_segment_sum(x, ids, n), name)


def unsorted_segment_mean(data, segment_ids, num_segments, name=None):
    """Row means by segment id (an empty segment gives 0): the sum over max(count, 1), as TF computes it."""
    x, ids, n = _segment_args("unsorted_segment_mean", data, segment_ids, num_segments)
    return _named_or(core.div(_scatter.unsorted_segment_sum(x, ids, n), _segment_counts(x, ids, n)), name,
                     "truediv")


def segment_sum(data, segment_ids, name=None):
    """Row sums by segment for sorted ids (non-negative, never decreasing), as many segments as the last id + 1
    (a missing segment sums to 0); unsorted or negative ids raise InvalidArgumentError when run."""
    x = _t(data)
    return _named_or(_scatter.unsorted_segment_sum(x, _indices(segment_ids, x.graph), None), name, "SegmentSum")


def segment_mean(data, segment_ids, name=None):
    """Row means by segment for sorted ids (a missing segment gives 0)."""
    x = _t(data)
    ids = _indices(segment_ids, x.graph)
    total = _scatter.unsorted_segment_sum(x, ids, None)
    count = _scatter.unsorted_segment_sum(core.fill_like(ids, 1.0, x.dtype), ids, None)
    count = core.reshape(core.maximum(count, _t(1, like=count)), [-1] + [1] * (x.ndim - ids.ndim))
    return _named_or(core.div(total, count), name, "SegmentMean")


def _segment_reduce(kind: str, data: Any, segment_ids: Any, num_segments: Any, name: str | None) -> Tensor:
    if num_segments is None:        # the sorted version
        x = _t(data)
        return named(_scatter.segment_reduce(x, _indices(segment_ids, x.graph), kind, None), name)
    x, ids, n = _segment_args(f"unsorted_segment_{kind}", data, segment_ids, num_segments)
    return named(_scatter.segment_reduce(x, ids, kind, n), name)


def segment_max(data, segment_ids, name=None):
    """Row maxima by segment for sorted ids (a missing segment gives 0, as TF's kernel)."""
    return _segment_reduce("max", data, segment_ids, None, name)


def segment_min(data, segment_ids, name=None):
    return _segment_reduce("min", data, segment_ids, None, name)


def segment_prod(data, segment_ids, name=None):
    return _segment_reduce("prod", data, segment_ids, None, name)


def unsorted_segment_max(data, segment_ids, num_segments, name=None):
    """Row maxima by segment id (an empty segment gives the dtype's lowest value, as TF's kernel)."""
    return _segment_reduce("max", data, segment_ids, num_segments, name)


def unsorted_segment_min(data, segment_ids, num_segments, name=None):
    return _segment_reduce("min", data, segment_ids, num_segments, name)


def unsorted_segment_prod(data, segment_ids, num_segments, name=None):
    return _segment_reduce("prod", data, segment_ids, num_segments, name)


def unsorted_segment_sqrt_n(data, segment_ids, num_segments, name=None):
    """Row sums by segment id over the square root of max(count, 1), as TF computes it."""
    x, ids, n = _segment_args("unsorted_segment_sqrt_n", data, segment_ids, num_segments)
    return _named_or(core.div(_scatter.unsorted_segment_sum(x, ids, n),
                              core.sqrt(_segment_counts(x, ids, n))), name, "truediv")


def _axes(axis: Any, ndim: int) -> list[int] | None:
    if axis is None:
        return None
    return [builtins.int(a) % ndim for a in (axis if isinstance(axis, (list, tuple)) else [axis])]


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None, keep_dims=None):  # noqa: A002
    """TF's ``tf.norm``, op for op: euclidean/2/'fro' sqrt(sum(x * x)), 1 and inf from abs, other p > 0 as
    pow(sum(pow(|x|, p)), 1 / p); a matrix norm over an axis pair: 'fro', 'euclidean', 1 (largest column sum)
    or inf (largest row sum)."""
    keepdims = builtins.bool(keepdims if keepdims is not None else keep_dims)
    matrix = isinstance(axis, (list, tuple)) and len(axis) == 2
    if matrix:
        if not builtins.all(isinstance(a, builtins.int) for a in axis) or axis[0] == axis[1]:
            raise ValueError(f"'axis' must be None, an integer, or a tuple of 2 unique integers, got {axis}")
        if ord not in ("euclidean", "fro", 1, 2, numpy.inf):
            raise ValueError(f"'ord' must be a supported matrix norm in ['euclidean', 'fro', 1, 2, inf], got {ord}")
        if ord == 2:
            raise NotImplementedError("tf.norm: the matrix 2-norm (a singular value) is not implemented in dualflow")
    else:
        if not (axis is None or isinstance(axis, builtins.int)):
            raise ValueError(f"'axis' must be None, an integer, or a tuple of 2 unique integers, got {axis}")
        if isinstance(ord, str) and ord != "euclidean" or not isinstance(ord, str) and not ord > 0:
            raise ValueError(f"'ord' must be a supported vector norm, got {ord}")
    x = _t(tensor)
    axes = _axes(axis, x.ndim)
    if ord in ("fro", "euclidean", 2, 2.0):
        out = core.sqrt(core.sum(core.mul(x, x), axes, keepdims=True))
    elif ord == 1:
        out = core.sum(core.abs(x), None if axes is None else axes[:1], keepdims=True)
        if matrix:
            out = core.max(out, axes[1:], keepdims=True)
    elif ord == numpy.inf:
        out = core.abs(x)
        if matrix:
            out = core.sum(out, axes[1:], keepdims=True)
        out = core.max(out, None if axes is None else axes[:1], keepdims=True)
    else:
        p = _t(ord, like=x)
        out = core.pow(core.sum(core.pow(core.abs(x), p), axes, keepdims=True), _t(1.0 / ord, like=x))
    if not keepdims:
        out = core.squeeze(out, axes)
    return _named_or(out, name, "norm")


def tensordot(a, b, axes, name=None):
    """Sum of products over ``axes`` (a count of a's last and b's first axes, or two lists), as TF computes
    it: both operands transposed and reshaped to matrices, one matmul, the result reshaped."""
    x, y = _pair(a, b)
    if isinstance(axes, (builtins.int, numpy.integer)):
        if not 0 <= axes <= builtins.min(x.ndim, y.ndim):
            raise ValueError(f"'axes' must be at most the rank of a and b ({x.ndim}, {y.ndim}), got {axes}")
        ax, bx = builtins.list(builtins.range(x.ndim - axes, x.ndim)), builtins.list(builtins.range(axes))
    else:
        ax, bx = ([builtins.int(v)] if numpy.ndim(v) == 0 else [builtins.int(i) for i in v] for v in axes)
        if len(ax) != len(bx):
            raise ValueError(f"'axes' must list as many axes of a as of b, got {axes}")
        ax, bx = [i % x.ndim for i in ax], [i % y.ndim for i in bx]
    for i, j in zip(ax, bx):
        if None not in (x.shape[i], y.shape[j]) and x.shape[i] != y.shape[j]:
            raise ValueError(f"tensordot: dimension {i} of a ({x.shape[i]}) does not match dimension {j} of b "
                             f"({y.shape[j]})")
    free_a = [i for i in builtins.range(x.ndim) if i not in ax]
    free_b = [j for j in builtins.range(y.ndim) if j not in bx]
    if None in [x.shape[i] for i in free_a] + [y.shape[j] for j in free_b]:
        raise NotImplementedError("tf.tensordot: free dimensions of unknown size are not implemented in dualflow")
    k = builtins.int(numpy.prod([x.shape[i] for i in ax]))
    m = core.reshape(core.transpose(x, free_a + ax), (-1, k))
    n = core.reshape(core.transpose(y, bx + free_b), (k, -1))
    out = core.reshape(core.matmul(m, n), [x.shape[i] for i in free_a] + [y.shape[j] for j in free_b])
    return _named_or(out, name, "Tensordot")


def _last_two(x: Tensor, fn: str) -> tuple[int, int]:
    if x.ndim < 2 or None in x.shape[-2:]:
        raise ValueError(f"tf.{fn}: input must be at least 2-D with known last two dims, got shape {x.shape}")
    return x.shape[-2], x.shape[-1]


def matrix_band_part(input, num_lower, num_upper, name=None):  # noqa: A002
    """Zeros outside the band of ``num_lower`` diagonals below and ``num_upper`` above the main one (negative:
    the whole triangle); values inside are exact copies."""
    _numbers("linalg.band_part", num_lower, num_upper)
    x = _t(input)
    rows, cols = _last_two(x, "linalg.band_part")
    i, j = numpy.arange(rows)[:, None], numpy.arange(cols)[None, :]
    keep = ((num_lower < 0) | (i - j <= num_lower)) & ((num_upper < 0) | (j - i <= num_upper))
    out = core.where(convert_to_tensor(keep, graph=x.graph), x, _t(0, like=x))
    return _named_or(out, name, "MatrixBandPart")


def matrix_diag_part(input, name=None, k=0, padding_value=0, align="RIGHT_LEFT"):  # noqa: A002
    """The main diagonal of each matrix (last two dims)."""
    if k != 0:
        raise NotImplementedError("tf.linalg.diag_part: k != 0 is not implemented in dualflow")
    x = _t(input)
    rows, cols = _last_two(x, "linalg.diag_part")
    d = numpy.arange(builtins.min(rows, cols))
    flat = core.reshape(x, [-1, rows * cols]) if x.ndim > 2 else core.reshape(x, [rows * cols])
    picked = core.ops.shape.take(flat, convert_to_tensor(d * cols + d, graph=x.graph), axis=flat.ndim - 1)
    return _named_or(core.reshape(picked, builtins.list(x.shape[:-2]) + [len(d)]) if x.ndim > 2 else picked,
                     name, "MatrixDiagPart")


def matrix_diag(diagonal, name=None, k=0, num_rows=-1, num_cols=-1, padding_value=0, align="RIGHT_LEFT"):
    """Square matrices with ``diagonal``'s last dim on their main diagonal, zeros elsewhere."""
    if k != 0 or num_rows != -1 or num_cols != -1 or padding_value != 0:
        raise NotImplementedError("tf.linalg.diag: k, num_rows, num_cols and padding_value are not implemented in "
                                  "dualflow")
    v = _t(diagonal)
    if v.ndim < 1 or v.shape[-1] is None:
        raise ValueError(f"tf.linalg.diag: diagonal must be at least 1-D with a known last dim, got {v.shape}")
    n = v.shape[-1]
    eye_ = convert_to_tensor(numpy.eye(n, dtype=numpy.bool_), graph=v.graph)
    out = core.where(eye_, core.expand_dims(v, [v.ndim]), _t(0, like=v))
    return _named_or(out, name, "MatrixDiag")


def diag(diagonal, name=None):
    """TF1's ``tf.diag`` for a vector: the square matrix with it on the main diagonal."""
    v = _t(diagonal)
    if v.ndim != 1:
        raise NotImplementedError(f"tf.diag: a diagonal of rank {v.ndim} (not 1) is not implemented in dualflow")
    return _named_or(matrix_diag(v), name, "Diag")


def diag_part(input, name=None):  # noqa: A002
    """TF1's ``tf.diag_part`` for a square matrix."""
    x = _t(input)
    if x.ndim != 2 or x.shape[0] != x.shape[1]:
        raise NotImplementedError(f"tf.diag_part: an input of shape {x.shape} (not a square matrix) is not "
                                  "implemented in dualflow")
    return _named_or(matrix_diag_part(x), name, "DiagPart")


def trace(x, name=None):
    """Sum of each matrix's main diagonal (last two dims): reduce_sum of the diagonal part, as TF."""
    return _named_or(core.sum(matrix_diag_part(x), [-1]), name, "Trace")


def matrix_transpose(a, name="matrix_transpose", conjugate=False):
    """The last two dims swapped."""
    x = _t(a)
    if x.ndim < 2:
        raise ValueError(f"tf.linalg.matrix_transpose: input must be at least 2-D, got shape {x.shape}")
    perm = builtins.list(builtins.range(x.ndim - 2)) + [x.ndim - 1, x.ndim - 2]
    return _named_or(core.transpose(x, perm), name, "matrix_transpose")


def truncatediv(x, y, name=None):
    """Integer division rounded toward zero (TF's TruncateDiv: integers only; a zero divisor raises
    InvalidArgumentError); no gradient, as in TF."""
    x, y = _pair(x, y)
    if x.dtype.kind not in "iu":
        raise TypeError(f"tf.truncatediv: integer operands expected, got {x.dtype.name}")
    rem = core.fmod(x, y)
    return _named_or(core.floor_div(core.sub(x, rem), y, exact=False), name, "TruncateDiv")


class _NoGradient(Op):
    """Passes its input through; a gradient through it raises LookupError, as TF's for an op with no gradient
    registered (TruncateMod, AdjustContrastv2): dualflow's own composition would have one."""

    name = "Identity"
    saves_inputs = False

    def __init__(self, op_type: str) -> None:
        self.op_type = op_type

    def infer(self, x):
        return [(x.shape, x.dtype)]

    def forward(self, be, x):
        return x

    def vjp(self, node, grads, needs):
        op_name = getattr(getattr(node, "operation", None), "name", self.op_type)
        raise LookupError(f"No gradient defined for operation '{op_name}' (op type: {self.op_type})")


def no_gradient(x: Tensor, op_type: str, name: str | None = None) -> Tensor:
    """``x`` as the result of TF op ``op_type``, which has no gradient (see ``_NoGradient``)."""
    return _named_or(core.apply(_NoGradient(op_type), x), name, op_type)


def truncatemod(x, y, name=None):
    """x - y * trunc(x / y), with the sign of x (C's fmod); no gradient, as TF's."""
    x, y = _pair(x, y)
    return no_gradient(core.fmod(x, y), "TruncateMod", name)


def div_no_nan(x, y, name=None):
    """x / y, and 0 wherever y is 0 (even for an infinite or NaN x), as TF's DivNoNan; the gradients are 0 there
    too (the division reads y only where y is not 0)."""
    x, y = _pair(x, y)
    if x.dtype != y.dtype:
        raise TypeError(f"`x` and `y` must have the same dtype, got {x.dtype.name!r} != {y.dtype.name!r}.")
    zero = core.equal(y, _t(0, like=y))
    safe = core.where(zero, _t(1, like=y), y)
    return _named_or(core.where(zero, _t(0, like=x), core.div(x, safe)), name, "div_no_nan")


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    """mean((x - mean(x))^2), as TF composes it (squared_difference against the kept-dims mean)."""
    x = _t(input_tensor)
    m = reduce_mean(x, axis, keepdims=True)
    return _named_or(reduce_mean(squared_difference(x, m), axis, keepdims=keepdims), name, "reduce_variance")


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    return _named_or(core.sqrt(reduce_variance(input_tensor, axis, keepdims)), name, "reduce_std")


def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None):
    """sqrt(sum(x * x)) over ``axis`` (TF's EuclideanNorm kernel, in ops of its own here)."""
    x = _t(input_tensor)
    return _named_or(core.sqrt(reduce_sum(core.mul(x, x), axis, keepdims)), name, "EuclideanNorm")


def erf(x, name=None):
    return named(core.erf(_t(x)), name)


def split(value, num_or_size_splits, axis=0, num=None, name="split"):
    """Pieces along ``axis`` (of known size): equal ones, or of the given sizes (one may be -1)."""
    x = _t(value)
    n = x.shape[axis]
    if n is None:
        raise NotImplementedError("tf.split: an axis of unknown size is not implemented in dualflow")
    if isinstance(num_or_size_splits, (builtins.int, numpy.integer)):
        k = builtins.int(num_or_size_splits)
        if n % k:
            raise ValueError(f"Dimension size must be evenly divisible by {k} but is {n}")
        sizes = [n // k] * k
    else:
        sizes = [builtins.int(v) for v in num_or_size_splits]
        if sizes.count(-1) == 1:
            sizes[sizes.index(-1)] = n - (builtins.sum(sizes) + 1)
        if builtins.sum(sizes) != n or builtins.any(v < 0 for v in sizes):
            raise ValueError(f"Determined shape must either match input shape along split_dim exactly if fully "
                             f"specified, or be less than the size of the input along split_dim if not fully "
                             f"specified.  Got: {builtins.sum(sizes)}")
    ends = numpy.cumsum([0] + sizes)
    pre = (builtins.slice(None),) * (axis % x.ndim)
    return [named(core.getitem(x, pre + (builtins.slice(builtins.int(a), builtins.int(b)),)), name)
            for a, b in zip(ends, ends[1:])]


def unstack(value, num=None, axis=0, name="unstack"):
    x = _t(value)
    n = x.shape[axis]
    if n is None:
        raise ValueError(f"Cannot infer argument `num` from shape {list(x.shape)}")
    pre = (builtins.slice(None),) * (axis % x.ndim)
    return [named(core.getitem(x, pre + (i,)), name) for i in builtins.range(n)]


def slice(input_, begin, size, name=None):  # noqa: A001
    """``input_[begin : begin + size]`` on each axis; a size of -1 takes the rest."""
    x = _t(input_)
    _numbers("slice", *begin, *size)
    index = tuple(builtins.slice(builtins.int(b), None if s == -1 else builtins.int(b) + builtins.int(s))
                  for b, s in zip(begin, size))
    return _named_or(core.getitem(x, index), name, "Slice")


def reverse(tensor, axis, name=None):
    x = _t(tensor)
    index = [builtins.slice(None)] * x.ndim
    for a in ([axis] if isinstance(axis, builtins.int) else axis):
        index[a % x.ndim] = builtins.slice(None, None, -1)
    return _named_or(core.getitem(x, tuple(index)), name, "ReverseV2")


def reverse_sequence(input, seq_lengths, seq_axis=None, batch_axis=None, name=None, seq_dim=None,  # noqa: A002
                     batch_dim=None):
    """Each row (along ``batch_axis``) with its first ``seq_lengths[row]`` entries along ``seq_axis`` reversed
    and the rest left in place: a gather of each entry by its mirrored index (exact copies; the gradient
    scatters back)."""
    x = _t(input)
    seq = builtins.int(seq_axis if seq_axis is not None else seq_dim) % x.ndim
    batch = builtins.int(batch_axis if batch_axis is not None else (batch_dim or 0)) % x.ndim
    if seq == batch:
        raise ValueError(f"reverse_sequence: seq_axis and batch_axis must differ, both are {seq}")
    steps = x.shape[seq]
    if steps is None:
        raise NotImplementedError("tf.reverse_sequence: a sequence axis of unknown size is not implemented in dualflow")
    lengths = core.expand_dims(core.cast(_t(seq_lengths), numpy.int64), [1])             # (batch, 1)
    t = _t(numpy.arange(steps, dtype=numpy.int64))                                       # (time,)
    # (batch, time): the source of each entry, mirrored within the row's length, in place past it
    index = core.where(core.less(t, lengths), core.sub(core.sub(lengths, _t(1, like=lengths)), t), t)
    if batch > seq:
        index = core.transpose(index, (1, 0))
    shape = [1] * x.ndim
    shape[batch], shape[seq] = -1, steps
    index = core.add(core.reshape(index, shape), core.fill_like(x, 0.0, numpy.int64))     # x's shape
    return _named_or(core.take_along_axis(x, index, seq), name, "ReverseSequence")


def broadcast_to(input, shape, name=None):
    return _named_or(core.broadcast_to(_t(input), [builtins.int(s) for s in shape]), name, "BroadcastTo")


def logical_not(x, name=None):
    x = _t(x)
    return _named_or(core.equal(x, convert_to_tensor(False, bool, graph=x.graph)), name, "LogicalNot")


def shape(input, name=None, out_type=int32):
    """The shape as an int32 tensor (a constant when every dim is known, else read when the graph runs)."""
    x = _t(input)
    if None not in tuple(x.shape):
        return constant(numpy.array(tuple(x.shape), as_dtype(out_type)), out_type, name=name or "Shape")
    return _named_or(core.ops.shape.shape_of(x, as_dtype(out_type)), name, "Shape")


def size(input, name=None, out_type=int32):
    """The number of elements (a constant when every dim is known, else the product of the shape read when the
    graph runs)."""
    x = _t(input)
    if None in tuple(x.shape):      # core's integer product is int64: back to out_type, as TF's Size
        dt = as_dtype(out_type)
        return _named_or(core.cast(core.prod(core.ops.shape.shape_of(x, dt)), dt), name, "Size")
    return constant(numpy.array(numpy.prod(tuple(x.shape), dtype=numpy.int64), as_dtype(out_type)), out_type,
                    name=name or "Size")


def rank(input, name=None):
    return constant(numpy.int32(_t(input).ndim), int32, name=name or "Rank")


def count_nonzero(input, axis=None, keepdims=None, dtype=int64, name=None, reduction_indices=None, keep_dims=None):
    x = _t(input)
    nonzero = core.cast(core.not_equal(x, _t(0, like=x)), as_dtype(dtype))
    return _reduction(core.sum, nonzero, axis, builtins.bool(keepdims), name or "count_nonzero", reduction_indices,
                      keep_dims)


def sequence_mask(lengths, maxlen=None, dtype=bool, name=None):
    """mask[..., j] = j < lengths[...], for j < maxlen (which must be given: the result's width)."""
    if maxlen is None:
        raise NotImplementedError("tf.sequence_mask: maxlen=None (the width read from the data) is not implemented "
                                  "in dualflow")
    lens = _t(lengths)
    cols = range(0, builtins.int(maxlen), dtype=lens.dtype)
    mask = core.less(cols, core.expand_dims(lens, -1))
    return _named_or(mask if as_dtype(dtype) == bool else core.cast(mask, as_dtype(dtype)), name, "SequenceMask")


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None):
    """Indices that sort ``values`` along ``axis`` (int32); ties keep their order, as TF's top_k gives them."""
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f'`direction` must be "ASCENDING" or "DESCENDING". Received: direction={direction}')
    x = _t(values)
    return _named_or(core.cast(core.argsort(x, axis, direction == "DESCENDING"), int32), name, "argsort")


def sort(values, axis=-1, direction="ASCENDING", name=None):
    x = _t(values)
    idx = core.argsort(x, axis, direction == "DESCENDING")
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f'`direction` must be "ASCENDING" or "DESCENDING". Received: direction={direction}')
    return _named_or(core.take_along_axis(x, idx, axis), name, "sort")


def einsum(equation, *inputs, name=None, **kwargs):
    """Einstein summation (explicit letters; an implicit output is the letters used once, sorted, as TF's)."""
    if kwargs:
        raise TypeError(f"einsum: unexpected arguments {sorted(kwargs)}")
    spec = equation.replace(" ", "")
    if "->" not in spec and "." not in spec:
        letters = spec.replace(",", "")
        spec += "->" + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return named(core.einsum(spec, *[_t(x) for x in inputs]), name)


def _python_value_dtype(value: Any) -> numpy.dtype:
    """The dtype ``tf.constant`` gives a value: a tensor's or NumPy value's own, a Python bool/int/float
    bool/int32/float32."""
    if hasattr(value, "dtype"):
        return numpy.dtype(value.dtype)
    return numpy.dtype(numpy.bool_ if isinstance(value, builtins.bool) else
                       numpy.int32 if isinstance(value, builtins.int) else numpy.float32)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """TF's one_hot: of ``dtype``, else of the on (or off) value's dtype as ``tf.constant`` types it (1 is
    int32), else float32; the new dim of ``depth`` at ``axis`` (the last by default)."""
    if isinstance(on_value, Tensor) or isinstance(off_value, Tensor):
        raise NotImplementedError("tf.one_hot: on_value and off_value must be numbers here, not tensors")
    if dtype is None:
        given = [_python_value_dtype(v) for v in (on_value, off_value) if v is not None]
        if len(given) == 2 and given[0] != given[1]:
            raise TypeError(f"one_hot: dtype of on_value ({given[0].name}) is not the same as dtype of off_value "
                            f"({given[1].name})")
        dtype = given[0] if given else numpy.dtype(numpy.float32)
    dtype = as_dtype(dtype)
    idx = _t(indices)
    out = core.one_hot(idx, builtins.int(depth), dtype, 1 if on_value is None else on_value,
                       0 if off_value is None else off_value)
    rank = idx.ndim + 1
    if axis is not None and axis != -1:
        if not 0 <= axis < rank:
            raise ValueError(f"one_hot: axis must be -1 or in [0, {rank}), got {axis}")
        out = core.transpose(out, tuple(builtins.range(axis)) + (rank - 1,) + tuple(builtins.range(axis, rank - 1)))
    return named(out, name)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    t = _t(t)
    return named(core.minimum(core.maximum(t, _t(clip_value_min, like=t)), _t(clip_value_max, like=t)), name)


def _slices(t: Any) -> list[tuple[Tensor, Tensor, Tensor]] | None:
    """A gradient as TF holds it when it is an ``IndexedSlices``: [(values, indices, params)] for a gather's
    gradient along axis 0 (an embedding lookup's), or for a sum of such (a variable looked up several times:
    TF concatenates their slices); None for a dense gradient.  The graph computes the dense sum, where TF's
    optimizers and norms take the slices apart: a repeated row's slices are squared before they are summed,
    and its lazy optimizers step only the rows looked up (``train.Optimizer.apply_gradients``)."""
    node = getattr(t, "node", None)
    if node is None:
        return None
    if isinstance(node.op, _TakeGrad):
        return [tuple(node.inputs)] if node.op.axis == 0 else None
    if node.op.name == "Add":
        parts = [_slices(x) for x in node.inputs]
        return None if None in parts else parts[0] + parts[1]
    return None


def _from_slices(parts: list, scale: Any) -> Tensor:
    """The dense sum of ``parts`` (``_slices``), each slice's values scaled by ``scale(values)``: still slices
    to ``_slices``, as TF's clipping returns ``IndexedSlices``."""
    dense = [core.apply(_TakeGrad(0), scale(v), i, p) for v, i, p in parts]
    out = dense[0]
    for d in dense[1:]:
        out = core.add(out, d)
    return out


def _sum_of_squares(t: Tensor, axes: Any = None, keepdims: bool = False) -> Tensor:
    """sum(t^2), over a sparse gradient's slices (each repeated row's apart) as TF sums an ``IndexedSlices``."""
    parts = _slices(t)
    if parts is None:
        return core.sum(core.mul(t, t), axes, keepdims=keepdims)
    if axes is not None:
        raise NotImplementedError("clip_by_norm: axes= with a sparse gradient (an embedding lookup's "
                                  "IndexedSlices, whose axes are its slices') is not supported")
    total = None
    for v, _, _ in parts:
        s = core.sum(core.mul(v, v), None, keepdims=keepdims)
        total = s if total is None else core.add(total, s)
    return total


def clip_by_norm(t: Any, clip_norm: Any, axes: Any = None, name: str | None = None) -> Tensor:
    """``t * clip_norm / max(norm, clip_norm)``, the L2 norm over ``axes`` (all of them by default), in TF's
    arithmetic: an all-zero slice has norm 0 and a zero gradient (its square root is never taken).  A sparse
    gradient (``_slices``) is clipped by its slices' norm, as TF clips an ``IndexedSlices``."""
    t = _t(t)
    l2sum = _sum_of_squares(t, axes, keepdims=True)
    positive = core.scalar_compare(l2sum, "Greater", 0)
    safe = core.where(positive, l2sum, core.fill_like(l2sum, 1.0))
    l2norm = core.where(positive, core.sqrt(safe), l2sum)
    clip = _t(clip_norm, like=t)
    parts = _slices(t)
    if parts is not None:
        return named(_from_slices(parts, lambda v: core.div(core.mul(v, clip), core.maximum(l2norm, clip))), name)
    return named(core.div(core.mul(t, clip), core.maximum(l2norm, clip)), name)


def squared_difference(x: Any, y: Any, name: str | None = None) -> Tensor:
    """(x - y)^2, as TF's kernel: the difference times itself."""
    x = _t(x)
    d = core.sub(x, _t(y, like=x))
    return named(core.mul(d, d), name)


def global_norm(t_list: Sequence[Any], name: str | None = None) -> Tensor:
    """sqrt(sum of every tensor's squared entries); None entries are skipped; a sparse gradient's entries are
    its slices' (``_slices``), as TF's."""
    squares = [_sum_of_squares(_t(t)) for t in t_list if t is not None]
    total = squares[0]
    for s in squares[1:]:
        total = core.add(total, s)
    return named(core.sqrt(total), name or "global_norm")


def clip_by_global_norm(t_list: Sequence[Any], clip_norm: Any, use_norm: Any = None,
                        name: str | None = None) -> tuple[list, Tensor]:
    """Scale every tensor by clip_norm / max(global_norm, clip_norm); returns (clipped list, global norm)."""
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("clip_by_global_norm: t_list should be a sequence of tensors")
    t_list = [None if t is None else _t(t) for t in t_list]
    norm = global_norm(t_list) if use_norm is None else _t(use_norm)
    clip = _t(clip_norm, like=norm)
    # TF's form: clip * min(1 / norm, 1 / clip); an infinite norm gives NaN entries, as in TF.
    scale = core.mul(clip, core.minimum(core.scalar(norm, "rdiv", 1.0), core.scalar(clip, "rdiv", 1.0)))
    return [None if t is None else _scaled(t, core.cast(scale, t.dtype)) for t in t_list], norm


def _scaled(t: Tensor, scale: Tensor) -> Tensor:
    """t * scale; a sparse gradient stays one (TF scales an ``IndexedSlices``' values)."""
    parts = _slices(t)
    return core.mul(t, scale) if parts is None else _from_slices(parts, lambda v: core.mul(v, scale))


def gradients(ys: Any, xs: Any, grad_ys: Any = None, name: str = "gradients", stop_gradients: Any = None) -> list:
    """Symbolic d(sum ys)/d(xs) built from the shared gradient rules; None where x does not affect ys."""
    if stop_gradients is not None:
        raise NotImplementedError("gradients: stop_gradients= is not supported yet; wrap the tensors in "
                                  "tf.stop_gradient instead")
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    xs_list = list(xs) if isinstance(xs, (list, tuple)) else [xs]
    if grad_ys is None:
        seeds = [core.fill_like(y, 1.0) for y in ys]
    else:
        seeds = [_t(g, like=y) for g, y in zip(grad_ys if isinstance(grad_ys, (list, tuple)) else [grad_ys], ys)]
    g = ys[0].graph
    with g.name_scope(name):
        return core.gradients(ys, xs_list, seeds)


def _element(v: Any) -> str:
    """One value as TensorFlow's kernels print it: shortest of %.6g/%.9g (float32), %.15g/%.17g (float64)
    that reads back exactly."""
    if isinstance(v, numpy.floating):
        short, full = ("%.6g", "%.9g") if v.dtype.itemsize <= 4 else ("%.15g", "%.17g")
        text = short % v
        return text if type(v)(text) == v or v != v else full % v
    if isinstance(v, numpy.bool_):
        return "1" if v else "0"
    return str(v)


def summarize(a: numpy.ndarray, limit: int) -> str:
    """TF1's ``Tensor::SummarizeValue``: the first ``limit`` values (row-major) in nested brackets, "..."
    where some are left out."""
    flat = a.reshape(-1)
    n = flat.size if limit < 0 else builtins.min(limit, flat.size)
    if a.ndim == 0:
        return _element(flat[0])
    pos = [0]

    def dim(d: int) -> str:
        if pos[0] >= n:
            return ""
        out = ""
        if d == a.ndim - 1:
            for i in builtins.range(a.shape[d]):
                if pos[0] >= n:
                    return out + ("..." if d != 0 else "")
                out += (" " if i else "") + _element(flat[pos[0]])
                pos[0] += 1
            return out
        for _ in builtins.range(a.shape[d]):
            opened = pos[0] < n
            out += "[" if opened else ""
            out += dim(d + 1)
            out += "]" if opened or pos[0] < n else ""
        return out

    return dim(0) + ("..." if flat.size > n else "")


class PrintOp(Op):
    """``tf.Print``: passes its first input through and, each time it runs, writes ``message`` and the data
    values to stderr (the first ``first_n`` times when that is set)."""

    name = "Print"
    saves_inputs = False
    pure, effect = False, True

    def __init__(self, message: str, first_n: int, summarize: int) -> None:
        self.message, self.first_n, self.summarize, self.count = message, first_n, summarize, 0

    def infer(self, x, *data):
        return [(x.shape, x.dtype)]

    def forward(self, be, x, *data):
        if self.first_n < 0 or self.count < self.first_n:
            self.count += 1
            text = "".join(f"[{summarize(be.to_host(d), self.summarize)}]" for d in data)
            builtins.print(self.message + text, file=sys.stderr)
        return x

    def vjp(self, node, grads, needs):
        return (grads[0],) + (None,) * (len(node.inputs) - 1)


class PrintV2Op(Op):
    """``tf.print`` in a graph: an op without outputs that prints its inputs when it runs."""

    name = "PrintV2"
    differentiable = False
    pure, effect = False, True

    def __init__(self, parts: list, sep: str, end: str, stream: Any, summarize: int) -> None:
        self.parts, self.sep, self.end, self.stream, self.summarize = parts, sep, end, stream, summarize

    def infer(self, *inputs):
        return []

    def forward(self, be, *arrays):
        values = iter(arrays)
        texts = [numpy.array2string(be.to_host(next(values)), threshold=self.summarize * 2 + 1,
                                    edgeitems=self.summarize) if p is None else p for p in self.parts]
        builtins.print(*texts, sep=self.sep, end=self.end, file=self.stream)
        return ()


class AssertOp(Op):
    """``tf.Assert``: an op without outputs that, when it runs, raises InvalidArgumentError if any element of
    the condition is False, its message the data as TF's Assert kernel writes them ("assertion failed: [..]
    [..]"): strings as they are, tensors summarized to ``summarize`` values."""

    name = "Assert"
    differentiable = False
    pure, effect = False, True

    def __init__(self, parts: list, summarize: int) -> None:
        self.parts, self.summarize = parts, summarize

    def infer(self, condition, *data):
        if condition.dtype != numpy.bool_:
            raise self.dtype_error("condition", "bool", condition.dtype)
        return []

    def forward(self, be, condition, *arrays):
        if not builtins.bool(be.to_host(condition).all()):
            values = iter(arrays)
            text = " ".join(f"[{summarize(be.to_host(next(values)), self.summarize) if p is None else p}]"
                            for p in self.parts)
            raise _errors.InvalidArgumentError(None, None, "assertion failed: " + text)
        return ()


def Assert(condition, data, summarize=None, name=None):
    """TF1's ``tf.Assert``: returns the op; run it, or make it a control dependency."""
    parts = [None if isinstance(v, (Tensor, numpy.ndarray)) else str(v) for v in data]
    tensors = [_t(v) for v, p in zip(data, parts) if p is None]
    op = AssertOp(parts, 3 if summarize is None else builtins.int(summarize))
    return named(core.apply(op, _t(condition), *tensors).operation, name)


def _static_value(t: Tensor) -> numpy.ndarray | None:
    return t.node.op.value if isinstance(t.node.op, ConstOp) else None


def _binary_assert(sym: str, opname: str, compare: Any, static: Any, x: Any, y: Any, data: Any, summarize: Any,
                   message: Any, name: Any) -> Any:
    """TF1's graph-mode ``_binary_assert``: the default message names both tensors; with both constant, a failing
    condition raises InvalidArgumentError at once, as TF's static check does."""
    x = _t(x)
    y = _t(y, like=x)
    if data is None:
        data = [f"Condition x {sym} y did not hold element-wise:", f"x ({x.name}) = ", x, f"y ({y.name}) = ", y]
    if message is not None:
        data = [message] + builtins.list(data)
    xs, ys = _static_value(x), _static_value(y)
    if xs is not None and ys is not None and not numpy.all(static(xs, ys)):
        texts = [str(_static_value(d)) if isinstance(d, Tensor) and _static_value(d) is not None else str(d)
                 for d in data]
        raise _errors.InvalidArgumentError(None, None, "\n".join(texts))
    condition = core.all(compare(x, y))
    return Assert(condition, data, summarize, name=name or opname)


def assert_equal(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert("==", "assert_equal", core.equal, numpy.equal, x, y, data, summarize, message, name)


def assert_none_equal(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert("!=", "assert_none_equal", core.not_equal, numpy.not_equal, x, y, data, summarize, message,
                          name)


def assert_less(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert("<", "assert_less", core.less, numpy.less, x, y, data, summarize, message, name)


def assert_less_equal(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert("<=", "assert_less_equal", core.less_equal, numpy.less_equal, x, y, data, summarize,
                          message, name)


def assert_greater(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert(">", "assert_greater", core.greater, numpy.greater, x, y, data, summarize, message, name)


def assert_greater_equal(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert(">=", "assert_greater_equal", core.greater_equal, numpy.greater_equal, x, y, data,
                          summarize, message, name)


def _sign_assert(sym: str, opname: str, compare: Any, static: Any, x: Any, data: Any, summarize: Any, message: Any,
                 name: Any) -> Any:
    """assert_positive and its kin: TF compares with a zero of x's dtype, naming x alone in the message."""
    x = _t(x)
    if data is None:       # TF's message prefix: "" or "<message>.  ", present either way
        data = [f"{message}.  " if message else "", f"Condition x {sym} 0 did not hold element-wise:",
                f"x ({x.name}) = ", x]
        message = None
    zero = _t(0, like=x)
    return _binary_assert(sym, opname, lambda a, b: compare(a, zero), lambda a, b: static(a, 0), x, x, data,
                          summarize, message, name)


def assert_positive(x, data=None, summarize=None, message=None, name=None):
    return _sign_assert(">", "assert_positive", core.greater, numpy.greater, x, data, summarize, message, name)


def assert_negative(x, data=None, summarize=None, message=None, name=None):
    return _sign_assert("<", "assert_negative", core.less, numpy.less, x, data, summarize, message, name)


def assert_non_negative(x, data=None, summarize=None, message=None, name=None):
    return _sign_assert(">=", "assert_non_negative", core.greater_equal, numpy.greater_equal, x, data, summarize,
                        message, name)


def assert_non_positive(x, data=None, summarize=None, message=None, name=None):
    return _sign_assert("<=", "assert_non_positive", core.less_equal, numpy.less_equal, x, data, summarize, message,
                        name)


class CheckNumericsOp(Op):
    """``tf.check_numerics``: passes its input through, and raises InvalidArgumentError when it holds a NaN or
    an infinity ("<message> : Tensor had NaN values", as TF's kernel says).  Its gradient is the gradient
    checked the same way, as TF's."""

    name = "CheckNumerics"
    saves_inputs = False
    pure, effect = False, True

    def __init__(self, message: str) -> None:
        self.message = message

    def infer(self, x):
        if x.dtype.kind != "f":
            raise self.dtype_error("tensor", "a float type", x.dtype)
        return [(x.shape, x.dtype)]

    def forward(self, be, x):
        xp = be.xp
        nan, inf = builtins.bool(xp.isnan(x).any()), builtins.bool(xp.isinf(x).any())
        if nan or inf:
            what = "Inf and NaN" if nan and inf else "NaN" if nan else "Inf"
            raise _errors.InvalidArgumentError(None, None, f"{self.message} : Tensor had {what} values")
        return x

    def vjp(self, node, grads, needs):
        message = f"Not a number (NaN) or infinity (Inf) values detected in gradient. {self.message}"
        return (core.apply(CheckNumericsOp(message), grads[0]),)


def check_numerics(tensor, message, name=None):
    return named(core.apply(CheckNumericsOp(str(message)), _t(tensor)), name)


def verify_tensor_all_finite(t=None, msg=None, name=None, x=None, message=None):
    """TF1's older spelling of ``check_numerics`` (``x``/``message`` its later argument names)."""
    return check_numerics(t if t is not None else x, msg if msg is not None else message, name=name)


def Print(input_, data, message=None, first_n=None, summarize=None, name=None):
    """TF1's ``tf.Print``: use the returned tensor in place of ``input_`` so the print runs with it."""
    op = PrintOp(message or "", -1 if first_n is None else int(first_n), 3 if summarize is None else int(summarize))
    return named(core.apply(op, _t(input_), *[_t(d) for d in data]), name)


def print(*inputs, output_stream=sys.stderr, summarize=3, sep=" ", end="\n", name=None):  # noqa: A001
    """``tf.print`` in a graph: returns the print op; run it, or make it a control dependency."""
    parts = [None if isinstance(v, (Tensor, numpy.ndarray)) else str(v) for v in inputs]
    tensors = [_t(v) for v, p in zip(inputs, parts) if p is None]
    op = PrintV2Op(parts, sep, end, output_stream, summarize)
    if not tensors:
        return get_default_graph()._source(op, name or "PrintV2")
    node = core.apply(op, *tensors)
    return node.operation


# ----- indexing and layout helpers TF1 programs use ---------------------------------------------------------
newaxis = None      # tf.newaxis: x[:, tf.newaxis] adds a dim, as NumPy's


def _constant_ints(fn: str, arg: str, value: Any) -> list:
    """A Python list/array or a constant tensor of integers as a list; a tensor known only when the graph runs
    is not supported here (its shape rule would depend on the data)."""
    if isinstance(value, Tensor):
        found = _static_value(value)
        if found is None:
            raise NotImplementedError(f"tf.{fn}: a '{arg}' known only when the graph runs is not implemented in "
                                      "dualflow (give Python numbers or a constant)")
        value = found
    return [builtins.int(v) for v in numpy.atleast_1d(numpy.asarray(value))]


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0,
                  shrink_axis_mask=0, var=None, name=None):
    """TF's StridedSlice, of constant ``begin``/``end``/``strides``: entry i is ``begin[i]:end[i]:strides[i]``
    (the begin or end left open where its mask bit is set), ``...`` (ellipsis bit), a new axis (new-axis bit)
    or the single index ``begin[i]`` (shrink bit), as Python's indexing reads the same spec."""
    x = _t(input_)
    b, e = _constant_ints("strided_slice", "begin", begin), _constant_ints("strided_slice", "end", end)
    st = [1] * len(b) if strides is None else _constant_ints("strided_slice", "strides", strides)
    if not len(b) == len(e) == len(st):
        raise ValueError(f"tf.strided_slice: begin, end and strides must have the same length, got {len(b)}, "
                         f"{len(e)} and {len(st)}")
    if builtins.bin(ellipsis_mask).count("1") > 1:
        raise ValueError("Multiple ellipses in slice spec not allowed")
    index = []
    for i, (lo, hi, step) in enumerate(zip(b, e, st)):
        bit = 1 << i
        if ellipsis_mask & bit:
            index.append(Ellipsis)
        elif new_axis_mask & bit:
            index.append(None)
        elif shrink_axis_mask & bit:
            index.append(lo)
        else:
            if step == 0:
                raise ValueError("strides[%d] must be non-zero" % i)
            index.append(builtins.slice(None if begin_mask & bit else lo, None if end_mask & bit else hi, step))
    return _named_or(core.getitem(x, tuple(index)), name, "StridedSlice")


def meshgrid(*args, **kwargs):
    """Coordinate grids of 1-D tensors (TF's: an 'xy' grid swaps the first two output dims), each input
    reshaped along its own axis and broadcast to the grid (the gradient sums it back)."""
    indexing, name = kwargs.pop("indexing", "xy"), kwargs.pop("name", "meshgrid")
    if kwargs:
        raise TypeError(f"'{next(iter(kwargs))}' is an invalid keyword argument for this function")
    if indexing not in ("xy", "ij"):
        raise ValueError("indexing parameter must be either 'xy' or 'ij'")
    g = get_default_graph()
    with g.name_scope(name):
        xs = [core.reshape(_t(a), [-1]) for a in args]
        if builtins.len({x.dtype for x in xs}) > 1:
            raise TypeError(f"tf.meshgrid: inputs must have one dtype, got {[x.dtype.name for x in xs]}")
        sizes = [x.shape[0] for x in xs]
        if None in sizes:
            raise NotImplementedError("tf.meshgrid: inputs of unknown length are not implemented in dualflow")
        n = len(xs)
        out_shape = builtins.list(sizes)
        if indexing == "xy" and n > 1:
            out_shape[0], out_shape[1] = out_shape[1], out_shape[0]
        grids = []
        for i, x in enumerate(xs):
            axis = (1 - i if i < 2 else i) if indexing == "xy" and n > 1 else i
            shape = [1] * n
            shape[axis] = -1
            grids.append(core.broadcast_to(core.reshape(x, shape), out_shape))
    return grids


def roll(input, shift, axis, name=None):  # noqa: A002
    """Elements shifted along ``axis`` by ``shift`` with wrap-around (NumPy's roll); shifts on the same axis
    add up; constant shifts on known dims (joined slices: exact copies, the gradient rolls back)."""
    x = _t(input)
    shifts, axes = _constant_ints("roll", "shift", shift), _constant_ints("roll", "axis", axis)
    if len(shifts) != len(axes):
        raise ValueError(f"tf.roll: shift and axis must have the same size, got {len(shifts)} and {len(axes)}")
    total: dict = {}
    for s, a in zip(shifts, axes):
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"tf.roll: axis {a} is out of range for a tensor of rank {x.ndim}")
        total[a % x.ndim] = total.get(a % x.ndim, 0) + s
    out = x
    with x.graph.name_scope(name or "Roll") as scope:      # one op "Roll" to the user, as TF's kernel
        for a, s in total.items():
            n = x.shape[a]
            if n is None:
                raise NotImplementedError(f"tf.roll: a dim of unknown size (axis {a}) is not implemented in dualflow")
            k = s % n if n else 0
            if k:
                pre = (builtins.slice(None),) * a
                out = core.concat([core.getitem(out, pre + (builtins.slice(n - k, None),)),
                                   core.getitem(out, pre + (builtins.slice(None, n - k),))], a)
        return named(core.identity(out) if out is x else out, scope)


def _blocks(fn: str, x: Tensor, block_size: Any, data_format: str) -> int:
    if data_format != "NHWC":
        raise NotImplementedError(f"tf.{fn}: data_format {data_format!r} is not implemented in dualflow (NHWC only)")
    if x.ndim != 4:
        raise ValueError(f"tf.{fn}: input must be 4-D (NHWC), got shape {list(x.shape)}")
    bs = builtins.int(block_size)
    if bs < 2:
        raise ValueError(f"Value for attr 'block_size' of {bs} must be at least minimum 2")
    return bs


def space_to_depth(input, block_size, name=None, data_format="NHWC"):  # noqa: A002
    """Each block_size x block_size patch of an NHWC tensor moved into the channels, row-major within the
    patch (out[b, i, j, (di * bs + dj) * C + c] = in[b, i * bs + di, j * bs + dj, c]), as TF's kernel."""
    x = _t(input)
    bs = _blocks("space_to_depth", x, block_size, data_format)
    _, h, w, c = x.shape
    if h is None or w is None or c is None:
        raise NotImplementedError("tf.space_to_depth: unknown height, width or depth is not implemented in dualflow")
    if h % bs or w % bs:
        raise ValueError(f"Image width {w} and height {h} should be divisible by block_size: {bs}")
    y = core.reshape(x, [-1, h // bs, bs, w // bs, bs, c])
    y = core.transpose(y, (0, 1, 3, 2, 4, 5))
    return _named_or(core.reshape(y, [-1, h // bs, w // bs, bs * bs * c]), name, "SpaceToDepth")


def depth_to_space(input, block_size, name=None, data_format="NHWC"):  # noqa: A002
    """The inverse of space_to_depth: the channels of each pixel spread over a block_size x block_size patch."""
    x = _t(input)
    bs = _blocks("depth_to_space", x, block_size, data_format)
    _, h, w, c = x.shape
    if h is None or w is None or c is None:
        raise NotImplementedError("tf.depth_to_space: unknown height, width or depth is not implemented in dualflow")
    if c % (bs * bs):
        raise ValueError(f"Dimension size must be evenly divisible by {bs * bs} but is {c} for 'DepthToSpace'")
    y = core.reshape(x, [-1, h, w, bs, bs, c // (bs * bs)])
    y = core.transpose(y, (0, 1, 3, 2, 4, 5))
    return _named_or(core.reshape(y, [-1, h * bs, w * bs, c // (bs * bs)]), name, "DepthToSpace")


def bincount(arr, weights=None, minlength=None, maxlength=None, dtype=int32, name=None):
    """TF1's ``tf.bincount``: how often each value 0, 1, ... occurs in ``arr`` (as many bins as its largest
    value + 1, at least ``minlength``, at most ``maxlength``: larger values are dropped), in ``dtype``; or the
    sums of ``weights`` (in the weights' dtype) added in order.  A negative value raises when run, as TF."""
    g = get_default_graph()
    with g.name_scope(name or "bincount") as scope:
        a = _t(arr)
        a = core.reshape(a if a.dtype.kind in "iu" else core.cast(a, int32), [-1])
        check = assert_non_negative(a, message="Input arr must be non-negative!")
        w = None if weights is None else core.reshape(_t(weights), [-1])
        with g.control_dependencies([check]):
            a = core.identity(a)
        out = core.bincount(a, w, 0 if minlength is None else builtins.int(minlength),
                            None if maxlength is None else builtins.int(maxlength))
        if w is None:
            out = core.cast(out, as_dtype(dtype))
        return named(out, scope)


def confusion_matrix(labels, predictions, num_classes=None, weights=None, dtype=int32, name=None):
    """TF1's confusion matrix: entry [i, j] counts (or sums ``weights`` over) the positions with label i and
    prediction j, added in order as TF's ScatterNd; labels or predictions out of [0, num_classes) raise when
    run (TF's messages).  Without ``num_classes`` the labels and predictions must be constants here."""
    g = get_default_graph()
    with g.name_scope(name or "confusion_matrix"):
        lab, pred = core.cast(core.reshape(_t(labels), [-1]), numpy.int64), \
            core.cast(core.reshape(_t(predictions), [-1]), numpy.int64)
        if num_classes is None:
            known = [_static_value(t) for t in (_t(labels), _t(predictions))]
            if builtins.any(k is None for k in known):
                raise NotImplementedError("tf.confusion_matrix: num_classes=None with labels or predictions known "
                                          "only when the graph runs is not implemented in dualflow (its shape "
                                          "would depend on the data); give num_classes")
            n = builtins.int(builtins.max(numpy.max(known[0], initial=-1), numpy.max(known[1], initial=-1))) + 1
        else:
            n = builtins.int(num_classes)
        bound = constant(numpy.int64(n))
        checks = [assert_non_negative(lab, message="`labels` contains negative values"),
                  assert_non_negative(pred, message="`predictions` contains negative values"),
                  assert_less(lab, bound, message="`labels` out of bound"),
                  assert_less(pred, bound, message="`predictions` out of bound")]
        with g.control_dependencies(checks):
            at = core.stack([lab, pred], 1)
        dt = as_dtype(dtype)
        values = core.fill_like(lab, 1, dt) if weights is None else core.cast(core.reshape(_t(weights), [-1]), dt)
        return _scatter.scatter_nd(at, values, (n, n))


def _tuple(tensors, name=None, control_inputs=None):
    """TF1's ``tf.tuple``: the tensors (None stays None), each available only after all of them (and
    ``control_inputs``) are computed."""
    g = get_default_graph()
    with g.name_scope(name or "tuple"):
        gating = [t for t in tensors if t is not None] + builtins.list(control_inputs or [])
        gate = group(*gating)
        out = []
        for t in tensors:
            with g.control_dependencies([gate]):
                if t is None:
                    out.append(None)
                elif isinstance(t, Tensor):
                    out.append(named(core.identity(t), "control_dependency"))
                else:
                    out.append(group(t))
        return out
