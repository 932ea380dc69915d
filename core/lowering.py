"""The CPU lowering of primitives into given buffers: how a step writes its result into ``out`` (NumPy's
``out=``) instead of returning a new array, for the planned executor (``core.executor.PlannedExecutor``)
and the fused chains (``core.passes.fuse``).

Each writer computes exactly what the primitive's ``forward`` computes, bit for bit (the same ufunc loops,
only the destination differs), so a planned Program gives the unplanned one's numbers.  Primitives without
a writer (gathers, views, the rarer kernels) keep running their ``forward`` and allocating; ``writer`` is
the one list of what is lowered.  A writer gets the backend, so a backend kernel that takes ``out=`` is
lowered by one entry in ``_OTHERS`` (for instance ``nn.Conv2D: _kernel``, its forward with ``out=``).  A
primitive with several outputs (``SEVERAL``) takes them as one tuple ``out=(a, b, ...)`` in output order, as
``max_pool2d``'s ``out=(values, argmax)``.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy

from core.ops import elementwise as ew
from core.ops import linalg, loss, nn, reduce, shape

Writer = Callable[..., None]        # writer(be, op, *arrays, out=buffer) -> None: be.xp or a backend kernel


def bias_operand(op: nn.BiasAdd, x: Any, b: Any) -> Any:
    """The bias as a BiasAdd adds it to ``x``: reshaped to broadcast along the op's axis."""
    shape = [1] * x.ndim
    shape[op.axis] = -1
    return b.reshape(shape)


def _div(be: Any, op: Any, x: Any, y: Any, *, out: Any) -> None:
    (be.xp.true_divide if x.dtype.kind == "f" else be.xp.floor_divide)(x, y, out=out)


def _relu_grad(be: Any, op: Any, g: Any, y: Any, *, out: Any) -> None:
    if op.select:       # PyTorch's rule: eager builds it, and eager runs unplanned, so a copy will do
        be.xp.copyto(out, be.relu_grad(g, y, True))
        return
    # g * (y > 0) with the mask in ``out`` itself (bool -> float is exact): no mask array of its own.
    be.xp.greater(y, 0, out=out)
    be.xp.multiply(g, out, out=out)


def _matmul(be: Any, op: linalg.MatMul, a: Any, b: Any, *, out: Any) -> None:
    be.matmul(a.swapaxes(-1, -2) if op.transpose_a else a, b.swapaxes(-1, -2) if op.transpose_b else b, out=out)


def _where(be: Any, op: Any, c: Any, x: Any, y: Any, *, out: Any) -> None:
    be.xp.copyto(out, y)
    be.xp.copyto(out, x, where=c)


def _kernel(be: Any, op: Any, *arrays: Any, out: Any) -> None:
    """A primitive whose forward takes ``out=`` (convolution, pooling, losses): its own forward, into ``out``."""
    op.forward(be, *arrays, out=out)


# Primitives that are one ufunc call: bound to the array module, the writer is the ufunc itself.
_UFUNCS: dict[type, str] = {
    ew.Add: "add", ew.Sub: "subtract", ew.Mul: "multiply",
    ew.Neg: "negative", ew.Exp: "exp", ew.Log: "log", ew.Expm1: "expm1", ew.Log1p: "log1p", ew.Sin: "sin",
    ew.Cos: "cos", ew.Sqrt: "sqrt", ew.Abs: "absolute", ew.Tanh: "tanh",
}


class _Ufunc:
    """The writer of a primitive that is one ufunc call into ``out``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, be: Any, op: Any, *args: Any, out: Any) -> None:
        getattr(be.xp, self.name)(*args, out=out)

    def bind(self, be: Any, op: Any, *args: Any, out: Any) -> Callable[[], Any]:
        return functools.partial(getattr(be.xp, self.name), *args, out=out)


class _BiasAdd:
    """x + b, the bias reshaped to broadcast along the op's axis."""

    def __call__(self, be: Any, op: Any, x: Any, b: Any, *, out: Any) -> None:
        be.xp.add(x, bias_operand(op, x, b), out=out)

    def bind(self, be: Any, op: Any, x: Any, b: Any, *, out: Any) -> Callable[[], Any]:
        return functools.partial(be.xp.add, x, bias_operand(op, x, b), out=out)


class _BiasRelu:
    """relu(x + b) in one backend kernel (``PAIRS``)."""

    def __call__(self, be: Any, op: Any, x: Any, b: Any, *, out: Any) -> None:
        be.bias_relu(x, b, op.axis % x.ndim, out=out)

    def bind(self, be: Any, op: Any, x: Any, b: Any, *, out: Any) -> Callable[[], Any]:
        return be.bias_relu_call(x, b, op.axis % x.ndim, out)


def bound(write: Writer, be: Any, op: Any, args: Sequence[Any], out: Any) -> Callable[[], Any]:
    """``write(be, op, *args, out=out)`` as a function of no arguments, for arrays a planned step passes at every
    run: what the writer decides from them (a view, a kernel) decided now where it says how (its ``bind``)."""
    bind = getattr(write, "bind", None)
    if bind is not None:
        return bind(be, op, *args, out=out)
    return functools.partial(write, be, op, *args, out=out)


def _extremum(name: str) -> Writer:
    """NumPy's maximum or minimum into ``out`` except at ties, which keep x (``ew.Maximum``'s rule): ``out`` may
    be x or y themselves."""
    def write(be: Any, op: Any, x: Any, y: Any, *, out: Any) -> None:
        xp = be.xp
        if out.dtype.kind != "f":
            getattr(xp, name)(x, y, out=out)
            return
        ties = xp.equal(x, y)
        getattr(xp, name)(x, y, out=out, where=xp.logical_not(ties))
        if out is not x:
            xp.copyto(out, x, where=ties)
    return write


# Elementwise writers that read each operand only at its own element, so any chain of them may run in one
# buffer (``core.passes.fuse``) and an operand of the output's shape may be that buffer.
ELEMENTWISE: dict[type, Writer] = {
    **{t: _Ufunc(name) for t, name in _UFUNCS.items()}, ew.Div: _div,
    ew.Relu: lambda be, op, x, *, out: be.relu(x, out=out),
    ew.Maximum: _extremum("maximum"), ew.Minimum: _extremum("minimum"),
    ew.Scalar: _kernel, nn.BiasAdd: _BiasAdd(),
}

# Writers that may start a fused chain but not continue one (ReluGrad uses its output as scratch).
HEADS: dict[type, Writer] = {ew.ReluGrad: _relu_grad, linalg.MatMul: _matmul, nn.Conv2D: _kernel,
                             **{t: _kernel for t in (reduce.Sum, reduce.Mean, reduce.Max, reduce.Min)}}

# Primitives with several outputs, each written into its own buffer: ``out`` is the tuple of them.
SEVERAL = frozenset((nn.MaxPool, nn.BatchNormTrain, nn.BatchNormTrainGrad, loss.SparseSoftmaxCrossEntropy,
                     loss.SoftmaxCrossEntropy))

_OTHERS: dict[type, Writer] = {
    **HEADS,
    nn.BiasAddGrad: _kernel, ew.SumToLike: _kernel, reduce.ReduceGrad: _kernel, ew.Where: _where,
    ew.Compare: lambda be, op, x, y, *, out: getattr(be.xp, ew.Compare.fns[op.name])(x, y, out=out),
    ew.ScalarCompare: lambda be, op, x, *, out: getattr(be.xp, ew.Compare.fns[op.kind])(x, x.dtype.type(op.c), out=out),
    ew.Cast: lambda be, op, x, *, out: be.xp.copyto(out, x, casting="unsafe"),
    shape.FillLike: lambda be, op, x, *, out: out.fill(op.value),
    shape.SizeRatio: lambda be, op, x, y, *, out: out.fill(op.ratio(x, y)),
    reduce.ArgMax: lambda be, op, x, *, out: getattr(be.xp, op.fn)(x, axis=op.axis, keepdims=op.keepdims, out=out),
    **{t: _kernel for t in (nn.Conv2DBackpropInput, nn.Conv2DBackpropFilter, nn.Conv2DTranspose, nn.AvgPool,
                            nn.AvgPoolGrad, nn.MaxPoolGrad, nn.MaxPoolGradMasked, nn.MaxPoolGather, reduce.Softmax,
                            *SEVERAL)},
}

# Operand positions that may share the output's buffer (the writer reads them before it writes there).
_INPLACE: dict[type, tuple[int, ...]] = {ew.ReluGrad: (1,), nn.BiasAdd: (0,)}


# Pairs of chain members one backend kernel runs in one pass (the same roundings as the two apart):
# writer(be, first op, first op's operands..., out=buffer).
PAIRS: dict[tuple[type, type], Writer] = {
    (nn.BiasAdd, ew.Relu): _BiasRelu(),
}


def elementwise(op: Any) -> Writer | None:
    """The writer of an elementwise primitive that may continue a fused chain, or None."""
    if type(op) is ew.Scalar and op.kind == "pow":
        return None
    return ELEMENTWISE.get(type(op))


def writer(op: Any, in_specs: Sequence[tuple], out_specs: Sequence[tuple]) -> Writer | None:
    """``write(be, op, *arrays, out=buffer)``: how ``op`` writes its output into a buffer (its outputs into a
    tuple of buffers, for ``SEVERAL``), for inputs and outputs of these concrete specs ``(shape, dtype, ...)``;
    None when it cannot (it then runs ``forward`` and allocates).  A primitive may bring its own
    ``write_into(be, *arrays, out=buffer)`` (fused chains do)."""
    t = type(op)
    if len(out_specs) != 1 and t not in SEVERAL:
        return None
    if hasattr(op, "write_into"):
        return _own_writer if op.can_write(in_specs, out_specs) else None
    if t is ew.SumToLike and tuple(in_specs[0][0]) == tuple(out_specs[0][0]):
        return None     # a no-op that hands back its input: nothing to write
    if t is ew.Cast and in_specs[0][1] == out_specs[0][1]:
        return None
    if t in (reduce.Sum, reduce.Mean) and numpy.dtype(in_specs[0][1]).kind != "f":
        return None     # an integer mean is float64 in NumPy: leave dtype rules to ``forward``
    if t is reduce.ArgMax and (op.axis is None or numpy.dtype(out_specs[0][1]) != numpy.intp):
        return None     # NumPy's argmax writes only into its own index type
    return elementwise(op) if t in ELEMENTWISE else _OTHERS.get(t)


def _own_writer(be: Any, op: Any, *arrays: Any, out: Any) -> None:
    op.write_into(be, *arrays, out=out)


def bind(write: Writer, op: Any, be: Any) -> Callable[..., None]:
    """``write`` for ``op`` on backend ``be``, called as ``bound(*arrays, out=buffer)``: the ufunc itself
    where the primitive is one (no Python frame between the executor and NumPy); a primitive whose forward
    the backend can bind to the step's arrays (its ``prepare``: the same kernel with its geometry, views and
    thread split worked out once, while the arrays stay the same) runs that."""
    name = _UFUNCS.get(type(op))
    if name is not None:
        return getattr(be.xp, name)
    prepare = getattr(op, "prepare", None) if write in (_kernel, _own_writer, _matmul) else None
    if prepare is not None:
        prepared = prepare(be)
        if prepared is not None:
            return prepared
    return functools.partial(write, be, op)


def may_alias(op: Any) -> tuple[int, ...]:
    """The operand positions whose buffer may also be the output's: the writer reads them before it writes."""
    t = type(op)
    if hasattr(op, "inplace_positions"):
        return op.inplace_positions()
    if t in _INPLACE:
        return _INPLACE[t]
    return tuple(range(len(getattr(op, "arg_names", ())))) if elementwise(op) else ()


def inplace_positions(op: Any, in_specs: Sequence[tuple], out_spec: tuple) -> tuple[int, ...]:
    """The inputs that may be the output's own buffer: allowed by ``may_alias``, and of the same shape, dtype
    and memory layout (the specs compare whole)."""
    return tuple(i for i in may_alias(op) if i < len(in_specs) and in_specs[i] == out_spec)


# Operands read for their shape (and dtype) alone: their memory may be reused before the step runs (the
# array object still tells its shape), and an epilogue may hand such a reader its result, of equal shape.
_SHAPE_ONLY: dict[type, tuple[int, ...]] = {
    ew.SumToLike: (1,), ew.BroadcastLike: (1,), shape.ReshapeLike: (1,), reduce.ReduceGrad: (1,),
    nn.Conv2DBackpropInput: (2,), nn.Conv2DBackpropFilter: (2,), nn.MaxPoolGrad: (2,), nn.MaxPoolGradMasked: (2,),
    nn.AvgPoolGrad: (1,), shape.FillLike: (0,), shape.SizeRatio: (0, 1), shape.Shape: (0,),
}


def shape_only(op: Any) -> tuple[int, ...]:
    """The operand positions ``op`` reads only for their shape and dtype."""
    return _SHAPE_ONLY.get(type(op), ())


# Primitives left unlowered whose outputs may be (views of) only some of their inputs: the data operand and
# never an operand read for its shape (``like``), or none at all for the kernels that always return new
# arrays.  Any other primitive may hand back any input (an identity, a same-dtype cast, a view).
_SHARES: dict[type, tuple[int, ...]] = {
    ew.SumToLike: (0,), ew.BroadcastLike: (0,), shape.ReshapeLike: (0,), reduce.ReduceGrad: (0,),
    nn.Conv2D: (), nn.Conv2DBackpropInput: (), nn.Conv2DBackpropFilter: (), nn.MaxPool: (), nn.MaxPoolGrad: (),
    nn.MaxPoolGradMasked: (), nn.AvgPool: (), nn.AvgPoolGrad: (), loss.SparseSoftmaxCrossEntropy: (),
    loss.SoftmaxCrossEntropy: (), reduce.Softmax: (), reduce.LogSoftmax: (), shape.Shape: (),
}


def view_like(op: Any) -> bool:
    """Whether ``op`` is a core primitive whose result is, for some shapes, a view of its data operand or that
    operand itself (a reshape; a sum to the shape it already has); it has no side effects, so running it once
    to see which is harmless (``core.straightline`` does)."""
    return op.is_view or bool(_SHARES.get(type(op)))


def may_share(op: Any, n_inputs: int) -> tuple[int, ...]:
    """The inputs whose memory ``op.forward``'s outputs may share (a view, or the input itself)."""
    t = type(op)
    if t in _SHARES:
        return _SHARES[t]
    if hasattr(op, "shares"):
        return op.shares()
    return (0,) if op.is_view else tuple(range(n_inputs))
