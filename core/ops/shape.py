"""Shape primitives: reshape, transpose, broadcast, expand/squeeze, concat, getitem, gathers, pad, fill."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy

from core.errors import IndexShapeError, ShapeError
from core.graph import Value
from core.op import Op, apply

_BIG = 1 << 40      # stands in for an unknown dim when numpy computes an index's result shape


def _prod(dims: Sequence[int]) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


class Reshape(Op):
    name = "Reshape"
    saves_inputs = False
    is_view = True

    def __init__(self, shape: Sequence[int]) -> None:
        self.shape = tuple(int(s) for s in shape)

    def infer(self, x: Value) -> list:
        target = self.shape
        if sum(s == -1 for s in target) > 1 or any(s < -1 for s in target):
            raise self.shape_error("shape", "at most one -1 and no other negative size", target)
        known = [s for s in target if s != -1]
        if None in x.shape:
            return [(tuple(None if s == -1 else s for s in target), x.dtype)]
        total = _prod(x.shape)
        if -1 in target:
            rest = _prod(known)
            if rest == 0 or total % rest:
                raise ShapeError(f"{self.name}: cannot reshape a tensor of shape {x.shape} ({total} elements) "
                                 f"into shape {target}")
            return [(tuple(total // rest if s == -1 else s for s in target), x.dtype)]
        if _prod(target) != total:
            raise ShapeError(f"{self.name}: cannot reshape a tensor of shape {x.shape} ({total} elements) "
                             f"into shape {target} ({_prod(target)} elements)")
        return [(target, x.dtype)]

    def forward(self, be, x):
        return x.reshape(self.shape)

    def vjp(self, node, grads, needs):
        return (reshape_like(grads[0], node.inputs[0]),)


class ReshapeLike(Op):
    name = "ReshapeLike"
    saves_inputs = False
    arg_names = ("x", "like")
    is_view = True

    def infer(self, x, like):
        return [(like.shape, x.dtype)]

    def forward(self, be, x, like):
        return x.reshape(like.shape)

    def view_op(self, x, like):
        return Reshape(like.shape)

    def vjp(self, node, grads, needs):
        return reshape_like(grads[0], node.inputs[0]), None


class Transpose(Op):
    name = "Transpose"
    saves_inputs = False
    is_view = True

    def __init__(self, perm: Sequence[int]) -> None:
        self.perm = tuple(int(p) for p in perm)

    def infer(self, x):
        n = len(x.shape)
        if sorted(p % n if n else p for p in self.perm) != list(range(n)) or len(self.perm) != n:
            raise self.shape_error("perm", f"a permutation of {n} axes, got perm={self.perm} for", x.shape)
        return [(tuple(x.shape[p] for p in self.perm), x.dtype)]

    def forward(self, be, x):
        return x.transpose(self.perm)

    def vjp(self, node, grads, needs):
        n = len(self.perm)
        inv = [0] * n
        for i, p in enumerate(self.perm):
            inv[p % n] = i
        return (transpose(grads[0], inv),)


class BroadcastTo(Op):
    name = "BroadcastTo"
    saves_inputs = False
    is_view = True

    def __init__(self, shape: Sequence[int]) -> None:
        self.shape = tuple(int(s) for s in shape)

    def infer(self, x):
        from core.ops.elementwise import broadcast_shapes
        out = broadcast_shapes(self, self.shape, x.shape, ("shape", "x"))
        if len(x.shape) > len(self.shape) or out != self.shape:
            raise self.shape_error("x", f"a shape broadcastable to {self.shape}", x.shape)
        return [(self.shape, x.dtype)]

    def forward(self, be, x):
        return be.xp.broadcast_to(x, self.shape)

    def vjp(self, node, grads, needs):
        from core.ops.elementwise import sum_to_like
        return (sum_to_like(grads[0], node.inputs[0]),)


class ExpandDims(Op):
    name = "ExpandDims"
    saves_inputs = False
    is_view = True

    def __init__(self, axes: Sequence[int]) -> None:
        self.axes = tuple(axes)
        self._index: dict = {}      # input rank -> the basic index that inserts the axes

    def _axes(self, ndim_out: int) -> tuple:
        for a in self.axes:
            if not -ndim_out <= a < ndim_out:
                raise ShapeError(f"{self.name}: argument 'axis' {a} is out of range for a {ndim_out}-D result")
        return tuple(sorted(a % ndim_out for a in self.axes))

    def infer(self, x):
        axes = self._axes(len(x.shape) + len(self.axes))
        it = iter(x.shape)
        return [(tuple(1 if i in axes else next(it) for i in range(len(x.shape) + len(axes))), x.dtype)]

    def forward(self, be, x):
        # x[:, None, ...]: the same view as expand_dims, without its argument normalization (~5 us of a
        # batch-1 step's 6)
        index = self._index.get(x.ndim)
        if index is None:
            axes = self._axes(x.ndim + len(self.axes))
            index = self._index[x.ndim] = tuple(None if i in axes else slice(None)
                                                for i in range(x.ndim + len(self.axes)))
        return x[index]

    def vjp(self, node, grads, needs):
        return (squeeze(grads[0], self._axes(len(node.inputs[0].shape) + len(self.axes))),)


class Squeeze(Op):
    name = "Squeeze"
    saves_inputs = False
    is_view = True

    def __init__(self, axes: Sequence[int]) -> None:
        self.axes = tuple(axes)

    def infer(self, x):
        n = len(x.shape)
        axes = set()
        for a in self.axes:
            if not -n <= a < n:
                raise ShapeError(f"{self.name}: argument 'axis' {a} is out of range for a {n}-D input")
            if x.shape[a] not in (1, None):
                raise self.shape_error("axis", f"dimension {a} to have size 1", x.shape)
            axes.add(a % n)
        return [(tuple(s for i, s in enumerate(x.shape) if i not in axes), x.dtype)]

    def forward(self, be, x):
        return x.reshape([s for i, s in enumerate(x.shape) if i not in {a % x.ndim for a in self.axes}])

    def vjp(self, node, grads, needs):
        n = len(node.inputs[0].shape)
        return (expand_dims(grads[0], sorted(a % n for a in self.axes)),)


class Concat(Op):
    name = "ConcatV2"
    saves_inputs = False

    def __init__(self, axis: int, n: int) -> None:
        self.axis = axis
        self.arg_names = tuple(f"values[{i}]" for i in range(n))

    def infer(self, *xs):
        if not xs:
            raise ShapeError(f"{self.name}: expected at least one tensor")
        self.require_same_dtype(*xs)
        first = xs[0]
        n = len(first.shape)
        if not -n <= self.axis < n:
            raise ShapeError(f"{self.name}: argument 'axis' {self.axis} is out of range for {n}-D inputs")
        ax = self.axis % n
        total = 0
        for i, x in enumerate(xs):
            if len(x.shape) != n or any(a != b and None not in (a, b)
                                        for j, (a, b) in enumerate(zip(x.shape, first.shape)) if j != ax):
                raise self.shape_error(f"values[{i}]", f"the shape of values[0] {first.shape} except on axis {ax}",
                                       x.shape)
            total = None if total is None or x.shape[ax] is None else total + x.shape[ax]
        return [(first.shape[:ax] + (total,) + first.shape[ax + 1:], first.dtype)]

    def forward(self, be, *xs):
        return be.xp.concatenate(xs, axis=self.axis)

    def vjp(self, node, grads, needs):
        return tuple(apply(ConcatGrad(self.axis, i, len(node.inputs)), grads[0], *node.inputs) if needs[i] else None
                     for i in range(len(node.inputs)))


class ConcatGrad(Op):
    """Part ``index`` of a gradient of concat; the original inputs give the (runtime) offsets."""

    name = "ConcatGrad"

    def __init__(self, axis: int, index: int, n: int) -> None:
        self.axis = axis
        self.index = index
        self.arg_names = ("grad",) + tuple(f"values[{i}]" for i in range(n))

    def infer(self, g, *xs):
        return [(xs[self.index].shape, g.dtype)]

    def forward(self, be, g, *xs):
        ax = self.axis % g.ndim
        start = 0
        for x in xs[:self.index]:
            start += x.shape[ax]
        sl = (slice(None),) * ax + (slice(start, start + xs[self.index].shape[ax]),)
        return g[sl]

    def vjp(self, node, grads, needs):
        g, *xs = node.inputs
        parts = [grads[0] if i == self.index else fill_like(x, 0.0) for i, x in enumerate(xs)]
        return (concat(parts, self.axis),) + (None,) * len(xs)


def _index_parts(index: Any) -> tuple:
    return index if isinstance(index, tuple) else (index,)


def is_basic_index(index: Any) -> bool:
    return all(isinstance(p, (int, numpy.integer, slice)) or p is None or p is Ellipsis for p in _index_parts(index))


class GetItem(Op):
    name = "StridedSlice"
    saves_inputs = False

    def __init__(self, index: Any) -> None:
        self.index = index
        self.is_view = is_basic_index(index)

    def _host_index(self) -> Any:
        return tuple(p if not hasattr(p, "__array__") else numpy.asarray(p.get() if hasattr(p, "get") else p)
                     for p in _index_parts(self.index))

    def infer(self, x):
        # NumPy works out the result's shape on a zero-stride stand-in, each unknown dim a huge size: the whole
        # size must stay a valid NumPy size (2^62, the known dims' product included), and each stand-in must
        # stay over twice the largest known dim, so that a result dim of half of it or more is the unknown one.
        unknown = sum(s is None for s in x.shape)
        known = [s for s in x.shape if s is not None]
        bits = min(_BIG.bit_length() - 1, (62 - math.prod(max(s, 1) for s in known).bit_length()) // max(unknown, 1))
        if unknown and bits <= max(known, default=0).bit_length() + 1:
            raise NotImplementedError(f"{self.name}: the static shape of indexing a tensor of shape {x.shape} (dims "
                                      "too large next to its unknown ones) cannot be worked out here")
        big = 1 << bits
        dummy = numpy.broadcast_to(numpy.empty((), dtype=numpy.int8), tuple(big if s is None else s for s in x.shape))
        try:
            shape = dummy[self._host_index()].shape
        except IndexError as exc:
            raise IndexShapeError(f"{self.name}: index {self.index!r} does not fit shape {x.shape}: {exc}") from None
        return [(tuple(None if unknown and s >= big // 2 else s for s in shape), x.dtype)]

    def forward(self, be, x):
        return x[self._device_index(be)]

    def _device_index(self, be):
        if self.is_view:
            # With an Ellipsis, an all-integer index still gives an array sharing x's memory (not a scalar).
            parts = _index_parts(self.index)
            return parts if any(p is Ellipsis for p in parts) else parts + (Ellipsis,)
        return tuple(be.asarray(p) if hasattr(p, "__array__") else p for p in _index_parts(self.index))

    def vjp(self, node, grads, needs):
        return (apply(GetItemGrad(self.index), grads[0], node.inputs[0]),)


class GetItemGrad(GetItem):
    """zeros_like(x) with ``g`` added at ``index`` (repeated advanced indices accumulate)."""

    name = "StridedSliceGrad"
    arg_names = ("grad", "x")

    def __init__(self, index: Any) -> None:
        super().__init__(index)
        self.is_view = False

    def infer(self, g, x):
        return [(x.shape, g.dtype)]

    def forward(self, be, g, x):
        out = be.xp.zeros(x.shape, dtype=g.dtype)
        if is_basic_index(self.index):
            out[self.index] = g
        else:
            be.index_add(out, self._device_index(be), g)
        return out

    def vjp(self, node, grads, needs):
        return getitem(grads[0], self.index), None


class TakeAlongAxis(Op):
    """out[..., i, ...] = x[..., idx[..., i, ...], ...] along ``axis`` (torch.gather, numpy.take_along_axis)."""

    name = "GatherAlongAxis"
    arg_names = ("x", "indices")
    saves_inputs = (1,)        # the gradient reads idx, and x's shape only

    def __init__(self, axis: int) -> None:
        self.axis = int(axis)

    def _check(self, x: Value, idx: Value) -> None:
        if idx.dtype.kind not in "iu":
            raise self.dtype_error("indices", "an integer type", idx.dtype)
        n = len(x.shape)
        if len(idx.shape) != n or not -n <= self.axis < n:
            raise self.shape_error("indices", f"{n} dims like x {tuple(x.shape)}, and axis {self.axis} in range",
                                   idx.shape)
        for d, (a, b) in enumerate(zip(x.shape, idx.shape)):
            if d != self.axis % n and None not in (a, b) and b > a:
                raise self.shape_error("indices", f"at most x's size {a} in dim {d}", idx.shape)

    def infer(self, x, idx):
        self._check(x, idx)
        return [(idx.shape, x.dtype)]

    def _checked(self, be, idx, size):
        """The indices to read (clamped where a no-sync backend found them invalid) and that backend's mask."""
        valid = be.check_indices(idx, size, f"{self.name}: argument 'indices'")
        return (idx, None) if valid is None else (be.xp.where(valid, idx, 0), valid)

    def forward(self, be, x, idx):
        safe, valid = self._checked(be, idx, x.shape[self.axis])
        return be.mark_invalid(be.xp.take_along_axis(x, safe, axis=self.axis), valid)

    def vjp(self, node, grads, needs):
        x, idx = node.inputs
        return apply(TakeAlongAxisGrad(self.axis), grads[0], idx, x), None


class TakeAlongAxisGrad(TakeAlongAxis):
    """zeros like ``x`` with ``g`` added at ``idx`` along ``axis`` (repeated indices accumulate)."""

    name = "GatherAlongAxisGrad"
    arg_names = ("grad", "indices", "x")

    def infer(self, g, idx, x):
        self._check(x, idx)
        return [(x.shape, g.dtype)]

    def forward(self, be, g, idx, x):
        xp = be.xp
        axis = self.axis % x.ndim
        safe, valid = self._checked(be, idx, x.shape[axis])
        out = xp.zeros(x.shape, dtype=g.dtype)
        grid = [xp.arange(n).reshape((-1,) + (1,) * (idx.ndim - d - 1)) for d, n in enumerate(idx.shape)]
        grid[axis] = safe
        be.index_add(out, tuple(grid), be.mark_invalid(g, valid))
        return out

    def vjp(self, node, grads, needs):
        return apply(TakeAlongAxis(self.axis), grads[0], node.inputs[1]), None, None


class Take(Op):
    """out = x[..., idx, ...] with ``idx`` (any shape) indexing ``axis``: numpy.take, tf.gather, an embedding
    lookup.  Indices must lie in [0, size): negative ones are errors, as in PyTorch's embedding."""

    name = "GatherV2"
    arg_names = ("params", "indices")
    saves_inputs = (1,)        # the gradient reads idx, and x's shape only

    def __init__(self, axis: int = 0) -> None:
        self.axis = int(axis)

    def _axis(self, x: Value) -> int:
        n = len(x.shape)
        if not -n <= self.axis < n:
            raise self.shape_error("params", f"a dim {self.axis} to gather along", x.shape)
        return self.axis % n

    def infer(self, x, idx):
        if idx.dtype.kind not in "iu":
            raise self.dtype_error("indices", "an integer type", idx.dtype)
        a = self._axis(x)
        return [(tuple(x.shape[:a]) + tuple(idx.shape) + tuple(x.shape[a + 1:]), x.dtype)]

    def _checked(self, be, x_shape, idx):
        """(axis, indices to read, no-sync backend's validity mask shaped to broadcast against the result)."""
        a = self.axis % len(x_shape)
        valid = be.check_indices(idx, x_shape[a], f"{self.name}: argument 'indices'")
        if valid is None:
            return a, idx, None
        return a, be.xp.where(valid, idx, 0), valid.reshape(valid.shape + (1,) * (len(x_shape) - a - 1))

    def forward(self, be, x, idx):
        a, safe, valid = self._checked(be, x.shape, idx)
        return be.mark_invalid(be.xp.take(x, safe, axis=a), valid)

    def vjp(self, node, grads, needs):
        x, idx = node.inputs
        return apply(TakeGrad(self.axis), grads[0], idx, x), None


class TakeGrad(Take):
    """zeros like ``x`` with ``g`` added at ``idx`` along ``axis`` (repeated indices accumulate)."""

    name = "GatherV2Grad"
    arg_names = ("grad", "indices", "params")

    def infer(self, g, idx, x):
        self._axis(x)
        return [(x.shape, g.dtype)]

    def forward(self, be, g, idx, x):
        a, safe, valid = self._checked(be, x.shape, idx)
        out = be.xp.zeros(x.shape, dtype=g.dtype)
        be.index_add(out, (slice(None),) * a + (safe,), be.mark_invalid(g, valid))
        return out

    def vjp(self, node, grads, needs):
        return apply(Take(self.axis), grads[0], node.inputs[1]), None, None


class Pad(Op):
    name = "PadV2"
    saves_inputs = False

    def __init__(self, pads: Sequence[tuple[int, int]], value: float = 0.0) -> None:
        self.pads = tuple((int(a), int(b)) for a, b in pads)
        self.value = value

    def infer(self, x):
        if len(self.pads) != len(x.shape) or any(a < 0 or b < 0 for a, b in self.pads):
            raise self.shape_error("paddings", f"{len(x.shape)} non-negative (before, after) pairs, got "
                                   f"{self.pads} for", x.shape)
        return [(tuple(None if s is None else s + a + b for s, (a, b) in zip(x.shape, self.pads)), x.dtype)]

    def forward(self, be, x):
        return be.xp.pad(x, self.pads, constant_values=self.value)

    def vjp(self, node, grads, needs):
        return (getitem(grads[0], tuple(slice(a, -b if b else None) for a, b in self.pads)),)


class FillLike(Op):
    """An array of ``x``'s runtime shape filled with ``value``."""

    name = "FillLike"
    differentiable = False

    def __init__(self, value: float, dtype: Any = None) -> None:
        self.value = value
        self.dtype = None if dtype is None else numpy.dtype(dtype)

    def infer(self, x):
        return [(x.shape, self.dtype or x.dtype)]

    def forward(self, be, x):
        return be.xp.full(x.shape, self.value, dtype=self.dtype or x.dtype)


class SizeRatio(Op):
    """How many elements of ``x`` there are per element of ``y``, as a 0-d array of ``dtype``: the sample
    count behind a reduction of ``x`` to ``y`` at runtime (a batch dimension may be unknown when the graph is
    built).  Filled on the device from the shapes, so nothing is copied there."""

    name = "SizeRatio"
    differentiable = False
    arg_names = ("x", "y")

    def __init__(self, dtype: Any) -> None:
        self.dtype = numpy.dtype(dtype)

    def infer(self, x, y):
        return [((), self.dtype)]

    @staticmethod
    def ratio(x: Any, y: Any) -> int:
        return x.size // max(y.size, 1)

    def forward(self, be, x, y):
        return be.xp.full((), self.ratio(x, y), dtype=self.dtype)


class Shape(Op):
    """The runtime shape of ``x`` as a 1-D integer array (TF's Shape: a dim may be unknown when the graph is
    built)."""

    name = "Shape"
    differentiable = False

    def __init__(self, dtype: Any) -> None:
        self.dtype = numpy.dtype(dtype)

    def infer(self, x):
        if self.dtype.kind not in "iu":
            raise self.dtype_error("out_type", "an integer type", self.dtype)
        return [((len(x.shape),), self.dtype)]

    def forward(self, be, x):
        return be.xp.asarray(x.shape, dtype=self.dtype)


def shape_of(x: Value, dtype: Any) -> Value:
    return apply(Shape(dtype), x)


def size_ratio(x: Value, y: Value, dtype: Any) -> Value:
    return apply(SizeRatio(dtype), x, y)


def reshape(x: Value, shape: Sequence[int]) -> Value:
    return apply(Reshape(shape), x)


def reshape_like(x: Value, like: Value) -> Value:
    if x.shape == like.shape and None not in like.shape:
        return x
    if None not in like.shape:
        return apply(Reshape(like.shape), x)
    return apply(ReshapeLike(), x, like)


def transpose(x: Value, perm: Sequence[int]) -> Value:
    return apply(Transpose(perm), x)


def broadcast_to(x: Value, shape: Sequence[int]) -> Value:
    return apply(BroadcastTo(shape), x)


def expand_dims(x: Value, axes: int | Sequence[int]) -> Value:
    return apply(ExpandDims((axes,) if isinstance(axes, int) else tuple(axes)), x)


def squeeze(x: Value, axes: int | Sequence[int] | None = None) -> Value:
    if axes is None:
        axes = tuple(i for i, s in enumerate(x.shape) if s == 1)
    return apply(Squeeze((axes,) if isinstance(axes, int) else tuple(axes)), x)


def concat(xs: Sequence[Value], axis: int = 0) -> Value:
    return apply(Concat(axis, len(xs)), *xs)


def stack(xs: Sequence[Value], axis: int = 0) -> Value:
    n = len(xs[0].shape) + 1
    if not -n <= axis < n:
        raise ShapeError(f"Pack: argument 'axis' {axis} is out of range for a {n}-D result")
    return concat([expand_dims(x, axis) for x in xs], axis)


def getitem(x: Value, index: Any) -> Value:
    return apply(GetItem(index), x)


def take_along_axis(x: Value, idx: Value, axis: int) -> Value:
    return apply(TakeAlongAxis(axis), x, idx)


def take(x: Value, idx: Value, axis: int = 0) -> Value:
    return apply(Take(axis), x, idx)


def pad(x: Value, pads: Sequence[tuple[int, int]], value: float = 0.0) -> Value:
    return apply(Pad(pads, value), x)


def fill_like(x: Value, value: float, dtype: Any = None) -> Value:
    return apply(FillLike(value, dtype), x)


class Nonzero(Op):
    """The indices of the nonzero elements of ``x``, one row per element in row-major order (int64, shape
    (count, ndim)).  Not differentiable."""

    name = "Where"         # TF's one-argument where is this op
    differentiable = False
    value_shaped = True

    def infer(self, x: Value) -> list:
        return [((None, len(x.shape)), numpy.dtype(numpy.int64))]

    def forward(self, be, x):
        return be.xp.argwhere(x).astype(be.xp.int64)


def nonzero(x: Value) -> Value:
    return apply(Nonzero(), x)
