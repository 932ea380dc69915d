"""Reductions over axes (with keepdims), argmax/argmin, softmax and log_softmax."""
from __future__ import annotations

from typing import Any

import builtins
import math

import numpy

from core.errors import ShapeError
from core.graph import Value
from core.op import Op, apply
from core.ops import elementwise as ew
from core.ops import shape as sh

Axes = "int | Sequence[int] | None"


def norm_axes(op: Op, axes: Any, ndim: int) -> tuple[int, ...]:
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, (int, numpy.integer)):
        axes = (int(axes),)
    out = set()
    for a in axes:
        if not -builtins.max(ndim, 1) <= a < builtins.max(ndim, 1):
            raise ShapeError(f"{op.name}: argument 'axis' {a} is out of range for a {ndim}-D input "
                             f"(expected in [{-ndim}, {ndim - 1}])")
        out.add(a % ndim if ndim else 0)
    return tuple(sorted(out))


def reduced_shape(shape: tuple, axes: tuple, keepdims: bool) -> tuple:
    if keepdims:
        return tuple(1 if i in axes else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in axes)


class Reduce(Op):
    fn = ""

    def __init__(self, axes: Any = None, keepdims: bool = False) -> None:
        self.axes = axes
        self.keepdims = bool(keepdims)

    def _axes(self, x: Value) -> tuple[int, ...]:
        return norm_axes(self, self.axes, len(x.shape))

    def infer(self, x: Value) -> list:
        if x.dtype.kind not in "biuf":
            raise self.dtype_error("x", "a numeric type", x.dtype)
        return [(reduced_shape(x.shape, self._axes(x), self.keepdims), x.dtype)]

    def forward(self, be, x, out=None):
        axes = norm_axes(self, self.axes, x.ndim)
        if out is not None:
            getattr(be.xp, self.fn)(x, axis=axes, keepdims=self.keepdims, out=out)
            return out
        return be.xp.asarray(getattr(x, self.fn)(axis=axes, keepdims=self.keepdims))

    def _expand(self, g: Value, x: Value) -> Value:
        return g if self.keepdims else sh.expand_dims(g, self._axes(x))


class Sum(Reduce):
    name = "Sum"
    saves_inputs = False
    fn = "sum"

    def infer(self, x: Value) -> list:
        (shape, dt), = super().infer(x)
        return [(shape, x.dtype if x.dtype.kind == "f" else numpy.dtype(numpy.int64))]

    def vjp(self, node, grads, needs):
        return (apply(ReduceGrad(self.axes, self.keepdims, False), grads[0], node.inputs[0]),)


class Prod(Reduce):
    """The product over ``axes`` (integers and bools in int64, as PyTorch's and TF's sum).  Its gradient is the
    product of the other factors (``ProdGrad``): PyTorch's g * result / x while no factor is zero, else (and
    always, with ``exclusive``, as TF) the exclusive products from both sides, which a zero cannot turn into
    NaN."""

    name = "Prod"
    saves_outputs = True
    fn = "prod"

    def __init__(self, axes: Any = None, keepdims: bool = False, exclusive: bool = False) -> None:
        super().__init__(axes, keepdims)
        self.exclusive = exclusive

    def infer(self, x: Value) -> list:
        (shape, dt), = super().infer(x)
        return [(shape, x.dtype if x.dtype.kind == "f" else numpy.dtype(numpy.int64))]

    def forward(self, be, x, out=None):
        if x.dtype.kind != "f":
            x = x.astype(numpy.int64)
        return super().forward(be, x, out)

    def vjp(self, node, grads, needs):
        return (apply(ProdGrad(self.axes, self.keepdims, self.exclusive), grads[0], node.inputs[0],
                      node.outputs[0]),)


class ProdGrad(Reduce):
    """d prod / dx times g: each factor's gradient is the product of the others (see ``Prod``).  A first
    derivative only: differentiating it again raises."""

    name = "ProdGrad"
    arg_names = ("grad", "x", "result")

    def __init__(self, axes: Any = None, keepdims: bool = False, exclusive: bool = False) -> None:
        super().__init__(axes, keepdims)
        self.exclusive = exclusive

    def infer(self, g: Value, x: Value, result: Value) -> list:
        return [(x.shape, x.dtype)]

    def forward(self, be, g, x, result):
        xp = be.xp
        axes = norm_axes(self, self.axes, x.ndim)
        if not self.keepdims:
            g, result = xp.expand_dims(g, axes), xp.expand_dims(result, axes)
        if not self.exclusive and not bool((x == 0).any()):    # ATen's test (a host read on a GPU)
            return g * (result / x)
        # the reduced axes last, flattened: exclusive running products from the left and from the right
        rest = [a for a in range(x.ndim) if a not in axes]
        moved = xp.transpose(x, rest + list(axes))
        flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
        ones = xp.ones(flat.shape[:-1] + (1,), x.dtype)
        left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], -1), -1)
        right = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(flat[..., 1:], -1)], -1), -1), -1)
        others = (left * right).reshape(moved.shape)
        return g * xp.transpose(others, numpy.argsort(rest + list(axes)))

    def vjp(self, node, grads, needs):
        raise NotImplementedError("ProdGrad: the second derivative of a product is not implemented in dualflow")


class Mean(Reduce):
    name = "Mean"
    saves_inputs = False
    fn = "mean"

    def infer(self, x: Value) -> list:
        self.require_float(x)
        return super().infer(x)

    def forward(self, be, x, out=None):
        """NumPy's own mean of float32 and float64 (its sum, then one division by the count), without the
        ~10 us of Python ``numpy.mean`` spends around them (a batch-1 step's loss is such a mean).  float16
        keeps ``mean``, which sums in float32 and divides there, then copies into ``out``: its own ``out=``
        would round the sum to float16 before dividing, and a planned run would differ from an unplanned
        one."""
        if out is not None:
            self._into(be, x, out)()
            return out
        axes = norm_axes(self, self.axes, x.ndim)
        if x.dtype.char not in "fd":
            return be.xp.asarray(x.mean(axis=axes, keepdims=self.keepdims))
        s = x.sum(axis=axes, keepdims=self.keepdims)
        n = math.prod(x.shape[a] for a in axes)
        return be.xp.true_divide(s, n, out=s) if isinstance(s, be.xp.ndarray) else be.xp.asarray(s / n)

    def _into(self, be: Any, x: Any, out: Any) -> Any:
        """The mean into ``out`` as a function of no arguments (``Op.prepared_writer``)."""
        xp, axes, keep = be.xp, norm_axes(self, self.axes, x.ndim), self.keepdims
        if x.dtype.char not in "fd":
            return lambda: xp.copyto(out, xp.asarray(x.mean(axis=axes, keepdims=keep)))
        n, total = math.prod(x.shape[a] for a in axes), be.sum_call(x, axes, keep, out)
        # A division by 1 changes nothing: the sum is the mean.
        return total if n == 1 else lambda: xp.true_divide(total(), n, out=out)

    def prepare(self, be: Any) -> Any:
        return self.prepared_writer(be, self._into)

    def vjp(self, node, grads, needs):
        return (apply(ReduceGrad(self.axes, self.keepdims, True), grads[0], node.inputs[0]),)


class ReduceGrad(Reduce):
    """The gradient of sum (or mean) over ``axes``: ``g`` spread back over ``x``'s shape (divided by the count).

    One primitive instead of expand, broadcast, count and divide; its own gradient is the reduction again.
    """

    saves_inputs = False
    arg_names = ("gradients", "input")

    def __init__(self, axes: Any, keepdims: bool, mean: bool) -> None:
        super().__init__(axes, keepdims)
        self.mean = bool(mean)
        self.name = "MeanGrad" if mean else "SumGrad"

    def infer(self, g: Value, x: Value) -> list:
        expected = reduced_shape(x.shape, self._axes(x), self.keepdims)
        mismatch = builtins.any(a != b and None not in (a, b) for a, b in zip(g.shape, expected))
        if len(g.shape) != len(expected) or mismatch:
            raise self.shape_error("gradients", f"the reduced shape {expected}", g.shape)
        return [(x.shape, g.dtype)]

    def forward(self, be, g, x, out=None):
        """The gradient broadcast back to ``x``'s shape: a read-only view, or written into ``out``."""
        if out is not None:
            self._into(be, g, x, out)()
            return out
        axes = norm_axes(self, self.axes, x.ndim)
        if not self.keepdims:
            g = be.xp.expand_dims(g, axes)
        if self.mean:
            g = g / g.dtype.type(math.prod(x.shape[a] for a in axes))
        return be.xp.broadcast_to(g, x.shape)

    def _into(self, be: Any, g: Any, x: Any, out: Any) -> Any:
        """The gradient into ``out`` as a function of no arguments (``Op.prepared_writer``): for a mean each
        element divided where it lands, the same quotient as dividing first."""
        xp, axes = be.xp, norm_axes(self, self.axes, x.ndim)
        if not self.keepdims:
            g = xp.expand_dims(g, axes)
        if self.mean:
            n = g.dtype.type(math.prod(x.shape[a] for a in axes))
            return lambda: xp.true_divide(g, n, out=out)
        return lambda: xp.copyto(out, g)

    def prepare(self, be: Any) -> Any:
        return self.prepared_writer(be, self._into)

    def vjp(self, node, grads, needs):
        return apply((Mean if self.mean else Sum)(self.axes, self.keepdims), grads[0]), None


class AllAny(Reduce):
    """Logical reductions (TensorFlow's reduce_all / reduce_any, PyTorch's all / any): bool out, no gradient."""

    differentiable = False

    def __init__(self, axes: Any = None, keepdims: bool = False, fn: str = "all") -> None:
        super().__init__(axes, keepdims)
        self.fn = fn
        self.name = "All" if fn == "all" else "Any"

    def infer(self, x: Value) -> list:
        (shape, _), = super().infer(x)
        return [(shape, numpy.dtype(bool))]


class MaxMin(Reduce):
    saves_outputs = True
    def vjp(self, node, grads, needs):
        # Ties share the gradient equally, as TensorFlow's reduce_max and PyTorch's amax and max() (no dim) do.
        x = node.inputs[0]
        axes = self._axes(x)
        y = self._expand(node.outputs[0], x)
        mask = ew.cast(ew.equal(x, y), x.dtype)
        share = ew.div(self._expand(grads[0], x), sum(mask, axes, keepdims=True))
        return (ew.mul(mask, share),)


class Max(MaxMin):
    name = "Max"
    fn = "max"


class Min(MaxMin):
    name = "Min"
    fn = "min"


class NormSqrt(ew.Sqrt):
    """sqrt for norms and standard deviations: its gradient is 0 where the output is 0, as in PyTorch's norm and
    std backward (a plain sqrt gives inf * 0 = NaN at an all-zero vector or a constant input)."""

    name = "NormSqrt"

    def vjp(self, node, grads, needs):
        y = node.outputs[0]
        zero = ew.scalar_compare(y, "Equal", 0.0)
        safe = ew.where(zero, sh.fill_like(y, 1.0), y)
        return (ew.where(zero, sh.fill_like(y, 0.0), ew.div(ew.scalar(grads[0], "mul", 0.5), safe)),)


class ArgMax(Op):
    name = "ArgMax"
    differentiable = False

    def __init__(self, axis: int | None, keepdims: bool = False, fn: str = "argmax") -> None:
        self.axis = axis
        self.keepdims = keepdims
        self.fn = fn
        self.name = "ArgMax" if fn == "argmax" else "ArgMin"

    def infer(self, x: Value) -> list:
        if self.axis is None:
            return [((1,) * len(x.shape) if self.keepdims else (), numpy.dtype(numpy.int64))]
        axes = norm_axes(self, self.axis, len(x.shape))
        return [(reduced_shape(x.shape, axes, self.keepdims), numpy.dtype(numpy.int64))]

    def forward(self, be, x):
        if self.axis is None:
            r = getattr(x.reshape(-1), self.fn)()
            return be.xp.asarray(r, dtype=be.xp.int64).reshape((1,) * x.ndim if self.keepdims else ())
        r = getattr(x, self.fn)(axis=self.axis)
        if self.keepdims:
            r = be.xp.expand_dims(r, self.axis)
        return r.astype(be.xp.int64, copy=False)


class ArgSort(Op):
    """Indices that sort ``x`` along ``axis`` (stable), descending when asked; optionally only the first k."""

    name = "ArgSort"
    differentiable = False

    def __init__(self, axis: int = -1, descending: bool = False, k: int | None = None) -> None:
        self.axis, self.descending, self.k = int(axis), bool(descending), k

    def infer(self, x: Value) -> list:
        n = len(x.shape)
        norm_axes(self, self.axis, n)
        shape = list(x.shape)
        if self.k is not None:
            size = shape[self.axis]
            if self.k < 0 or (size is not None and self.k > size):
                raise self.shape_error("k", f"0 <= k <= {size}, the size of dim {self.axis}, got k={self.k} for",
                                       x.shape)
            shape[self.axis] = self.k
        return [(tuple(shape), numpy.dtype(numpy.int64))]

    def forward(self, be, x):
        xp = be.xp
        # Sorting -x keeps equal values in index order when descending too (exact for floats and signed ints);
        # other dtypes reverse the ascending order.
        negate = self.descending and x.dtype.kind in "fi"
        order = xp.argsort(-x if negate else x, axis=self.axis, kind="stable")
        if self.descending and not negate:
            order = xp.flip(order, axis=self.axis)
        if self.k is not None:
            order = xp.take(order, xp.arange(self.k), axis=self.axis)
        return order.astype(xp.int64, copy=False)


class Softmax(Op):
    name = "Softmax"
    saves_inputs = False
    saves_outputs = True

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def infer(self, x: Value) -> list:
        self.require_float(x)
        norm_axes(self, self.axis, len(x.shape))
        return [(x.shape, x.dtype)]

    def forward(self, be, x, out=None):
        e = be.xp.subtract(x, x.max(axis=self.axis, keepdims=True), out=out)
        be.xp.exp(e, out=e)
        e /= e.sum(axis=self.axis, keepdims=True)
        return e

    def vjp(self, node, grads, needs):
        y, g = node.outputs[0], grads[0]
        dot = sum(ew.mul(g, y), self.axis, keepdims=True)
        return (ew.mul(y, ew.sub(g, dot)),)


class LogSoftmax(Softmax):
    name = "LogSoftmax"

    def forward(self, be, x):
        z = x - x.max(axis=self.axis, keepdims=True)
        return z - be.xp.log(be.xp.exp(z).sum(axis=self.axis, keepdims=True))

    def vjp(self, node, grads, needs):
        y, g = node.outputs[0], grads[0]
        return (ew.sub(g, ew.mul(ew.exp(y), sum(g, self.axis, keepdims=True))),)


class Cumsum(Op):
    """Running sums along ``axis`` (from the end with ``reverse``), accumulated in the input's dtype in order;
    the gradient is the running sum of the gradient the other way."""

    name = "Cumsum"
    saves_inputs = False

    def __init__(self, axis: int, reverse: bool = False) -> None:
        self.axis, self.reverse = int(axis), bool(reverse)

    def infer(self, x: Value) -> list:
        if not -len(x.shape) <= self.axis < len(x.shape):
            raise ShapeError(f"{self.name}: argument 'axis' {self.axis} is out of range for a {len(x.shape)}-D input")
        return [(x.shape, x.dtype)]

    def forward(self, be, x):
        xp = be.xp
        if not self.reverse:
            return xp.cumsum(x, axis=self.axis, dtype=x.dtype)
        return xp.flip(xp.cumsum(xp.flip(x, self.axis), axis=self.axis, dtype=x.dtype), self.axis)

    def vjp(self, node, grads, needs):
        return (apply(Cumsum(self.axis, not self.reverse), grads[0]),)


def cumsum(x: Value, axis: int, reverse: bool = False) -> Value:
    return apply(Cumsum(axis, reverse), x)


def logsumexp(x: Value, axes: Any = None, keepdims: bool = False) -> Value:
    """log(sum(exp(x))) over ``axes`` as PyTorch and TF compute it: m + log(sum(exp(x - m))) with m the
    maximum (held constant, and 0 where it is not finite, so that a row of -inf gives -inf, not NaN)."""
    raw = max(x, axes, True)
    finite = ew.scalar_compare(ew.abs(raw), "Less", float("inf"))
    m = ew.stop_gradient(ew.where(finite, raw, sh.fill_like(raw, 0.0)))
    out = ew.add(ew.log(sum(ew.exp(ew.sub(x, m)), axes, True)), m)
    if keepdims:
        return out
    rank = len(x.shape)
    axes = range(rank) if axes is None else [axes] if isinstance(axes, int) else axes
    return sh.squeeze(out, sorted({a % rank for a in axes}))


def sum(x: Value, axes: Any = None, keepdims: bool = False) -> Value:
    return apply(Sum(axes, keepdims), x)


def mean(x: Value, axes: Any = None, keepdims: bool = False) -> Value:
    return apply(Mean(axes, keepdims), x)


def max(x: Value, axes: Any = None, keepdims: bool = False) -> Value:
    return apply(Max(axes, keepdims), x)


def min(x: Value, axes: Any = None, keepdims: bool = False) -> Value:
    return apply(Min(axes, keepdims), x)


def norm_sqrt(x: Value) -> Value:
    return apply(NormSqrt(), x)


class VectorNorm(Reduce):
    """``(sum |x|^p)^(1/p)`` over ``axes`` for a finite p other than 0, 1 and 2 (those are sums, counts and
    ``norm_sqrt``), in the input's dtype.  Gradient, PyTorch's (``linalg_vector_norm_backward``), which stays
    finite where the power's chain rule would give inf * 0: ``sgn(x) |x|^(p-1) g norm^(1-p)`` with 0 where
    x = 0 for p < 1; ``sgn(x) |x|^(p-1) g / norm^(p-1)`` (``x |x|^(p-2)`` for p >= 2) with 0 where the norm is 0."""

    name = "VectorNorm"
    saves_outputs = True

    def __init__(self, p: float, axes: Any = None, keepdims: bool = False) -> None:
        super().__init__(axes, keepdims)
        self.p = float(p)

    def infer(self, x: Value) -> list:
        self.require_float(x)
        return super().infer(x)

    def forward(self, be, x):
        xp, axes = be.xp, self._axes(x)
        t = x.dtype.type
        with numpy.errstate(divide="ignore"):       # a negative p at a zero: inf, then its sum's power, as ATen's
            return xp.power(xp.sum(xp.power(xp.abs(x), t(self.p)), axis=axes, keepdims=self.keepdims),
                            t(1 / self.p))

    def vjp(self, node, grads, needs):
        x, norm, p = node.inputs[0], node.outputs[0], self.p
        g, norm = self._expand(grads[0], x), self._expand(norm, x)
        zero_x = ew.scalar_compare(x, "Equal", 0.0)
        if p < 1:
            scaled = ew.where(zero_x, sh.fill_like(x, 0.0),
                              ew.mul(ew.sign(x), ew.scalar(ew.abs(x), "pow", p - 1)))
            return (ew.mul(scaled, ew.mul(g, ew.scalar(norm, "pow", 1 - p))),)
        if p < 2:
            scaled = ew.mul(ew.sign(x), ew.scalar(ew.abs(x), "pow", p - 1))
        else:
            scaled = ew.mul(x, ew.scalar(ew.abs(x), "pow", p - 2))
        zero_n = ew.scalar_compare(norm, "Equal", 0.0)
        safe = ew.where(zero_n, sh.fill_like(norm, 1.0), ew.scalar(norm, "pow", p - 1))
        scale = ew.where(zero_n, sh.fill_like(norm, 0.0), ew.div(g, safe))
        return (ew.mul(scaled, scale),)


def vector_norm(x: Value, p: float, axes: Any = None, keepdims: bool = False) -> Value:
    return apply(VectorNorm(p, axes, keepdims), x)


def all(x: Value, axes: Any = None, keepdims: bool = False) -> Value:  # noqa: A001
    return apply(AllAny(axes, keepdims, "all"), x)


def any(x: Value, axes: Any = None, keepdims: bool = False) -> Value:  # noqa: A001
    return apply(AllAny(axes, keepdims, "any"), x)


def argmax(x: Value, axis: int | None = None, keepdims: bool = False) -> Value:
    return apply(ArgMax(axis, keepdims), x)


def argmin(x: Value, axis: int | None = None, keepdims: bool = False) -> Value:
    return apply(ArgMax(axis, keepdims, "argmin"), x)


def prod(x: Value, axes: Any = None, keepdims: bool = False, exclusive: bool = False) -> Value:
    return apply(Prod(axes, keepdims, exclusive), x)


def argsort(x: Value, axis: int = -1, descending: bool = False, k: int | None = None) -> Value:
    return apply(ArgSort(axis, descending, k), x)


def softmax(x: Value, axis: int = -1) -> Value:
    return apply(Softmax(axis), x)


def log_softmax(x: Value, axis: int = -1) -> Value:
    return apply(LogSoftmax(axis), x)


def _running_sums(xp: Any, a: Any, axis: int, reverse: bool = False) -> Any:
    """Running sums along ``axis`` (from the end with ``reverse``), float32 accumulated in float64 and rounded
    at each step, as ATen's CPU cumsum kernel."""
    if reverse:
        a = xp.flip(a, axis)
    out = xp.cumsum(a, axis=axis, dtype=xp.float64 if a.dtype == numpy.float32 else a.dtype).astype(a.dtype)
    return xp.flip(out, axis) if reverse else out


class Cumprod(Op):
    """Running products along ``axis``, in order, float32 accumulated in float64 and rounded at each step (as
    ATen's CPU kernel).  The gradient is ATen's ``cumprod_backward`` (``CumprodGrad``).

    ``tf_kernel``: TF's instead: accumulated in the dtype (from the end with ``reverse``), and TF's gradient,
    the running sum of g * result the other way divided by x, 0 where x is 0 (``div_no_nan``: TF's gradient
    there is 0, not the product of the other factors)."""

    name = "Cumprod"
    saves_outputs = True

    def __init__(self, axis: int, reverse: bool = False, tf_kernel: bool = False) -> None:
        self.axis, self.reverse, self.tf_kernel = int(axis), bool(reverse), bool(tf_kernel)
        if reverse and not tf_kernel:
            raise ValueError(f"{self.name}: reverse is TF's (tf_kernel=True)")

    infer = Cumsum.infer

    def forward(self, be, x):
        xp = be.xp
        if self.tf_kernel:
            if not self.reverse:
                return xp.cumprod(x, axis=self.axis, dtype=x.dtype)
            return xp.flip(xp.cumprod(xp.flip(x, self.axis), axis=self.axis, dtype=x.dtype), self.axis)
        wide = xp.float64 if x.dtype == numpy.float32 else x.dtype
        return xp.cumprod(x, axis=self.axis, dtype=wide).astype(x.dtype)

    def vjp(self, node, grads, needs):
        x, out = node.inputs[0], node.outputs[0]
        if not self.tf_kernel:
            return (apply(CumprodGrad(self.axis), grads[0], x, out),)
        summed = apply(Cumsum(self.axis, not self.reverse), ew.mul(out, grads[0]))
        zero = ew.scalar_compare(x, "Equal", 0.0)
        return (ew.where(zero, sh.fill_like(x, 0.0), ew.div(summed, ew.where(zero, sh.fill_like(x, 1.0), x))),)


class CumprodGrad(Op):
    """d cumprod / dx times g, as ATen's ``cumprod_backward``: without zeros in x, the reversed running sum of
    g * result divided by x; in a slice holding a zero, the exact derivative instead (the division would give
    NaN): before the first zero the same sum cut at that zero, at the first zero the products of the other
    factors, after it 0 (every product there holds the zero twice over).  A first derivative only."""

    name = "CumprodGrad"
    arg_names = ("grad", "x", "result")

    def __init__(self, axis: int) -> None:
        self.axis = int(axis)

    def infer(self, g: Value, x: Value, result: Value) -> list:
        return [(x.shape, x.dtype)]

    def forward(self, be, g, x, result):
        xp, ax = be.xp, self.axis
        is_zero = x == 0
        if not bool(is_zero.any()):         # ATen's test (a host read on a GPU)
            return _running_sums(xp, g * result, ax, reverse=True) / x
        zeros_so_far = xp.cumsum(is_zero, ax)
        before = zeros_so_far == 0
        first = is_zero & (zeros_so_far == 1)
        one = x.dtype.type(1)
        w = xp.where(before, g * result, x.dtype.type(0))
        out = xp.where(before, _running_sums(xp, w, ax, reverse=True) / xp.where(before, x, one), 0)
        # at the first zero k: the sum over i >= k of g_i times the product of x_0..x_i without x_k
        without_k = xp.cumprod(xp.where(first, one, x), ax)
        at_first = xp.sum(xp.where(before, 0, g * without_k), ax, keepdims=True)
        return xp.where(first, at_first, out).astype(x.dtype, copy=False)

    def vjp(self, node, grads, needs):
        raise NotImplementedError("CumprodGrad: the second derivative of cumprod is not implemented in dualflow")


def cumprod(x: Value, axis: int, reverse: bool = False, tf_kernel: bool = False) -> Value:
    return apply(Cumprod(axis, reverse, tf_kernel), x)


class Unique(Op):
    """The distinct values of ``x`` (flattened), the index of each element's value among them (x's shape) and
    how often each occurs, all three always (int64 indices and counts): sorted (PyTorch's), or with
    ``first_seen`` in the order each value first appears (TF's).  NaNs are distinct from each other, as in both
    (NumPy's own default merges them).  Not differentiable."""

    name = "Unique"
    differentiable = False
    value_shaped = True

    def __init__(self, first_seen: bool = False) -> None:
        self.first_seen = bool(first_seen)

    def infer(self, x: Value) -> list:
        i64 = numpy.dtype(numpy.int64)
        return [((None,), x.dtype), (x.shape, i64), ((None,), i64)]

    def forward(self, be, x):
        xp = be.xp
        values, first, inverse, counts = xp.unique(x.reshape(-1), return_index=True, return_inverse=True,
                                                   return_counts=True, equal_nan=False)
        inverse = inverse.reshape(x.shape).astype(xp.int64)
        if self.first_seen:         # reorder by first position; each element's index follows its value
            order = xp.argsort(first, kind="stable")
            rank = xp.empty_like(order)
            rank[order] = xp.arange(order.size)
            values, inverse, counts = values[order], rank[inverse], counts[order]
        return values, inverse, counts.astype(xp.int64)


def unique(x: Value, first_seen: bool = False) -> tuple:
    return apply(Unique(first_seen), x)


class Bincount(Op):
    """How often each value 0, 1, ... occurs in the 1-D non-negative integer ``x`` (int64), or the sums of
    ``weights`` at each value, added in the order of ``x`` in the weights' dtype; at least ``minlength`` long.
    Not differentiable (PyTorch has no gradient for it either)."""

    name = "Bincount"
    arg_names = ("x", "weights")
    differentiable = False
    value_shaped = True        # the length is the largest value's

    def __init__(self, minlength: int = 0, maxlength: int | None = None) -> None:
        self.minlength = int(minlength)
        self.maxlength = None if maxlength is None else int(maxlength)   # TF's: values from it on are dropped

    def infer(self, x: Value, weights: Value | None = None) -> list:
        if x.dtype.kind not in "iu" or len(x.shape) != 1:
            raise self.shape_error("x", "a 1-D tensor of integers", x.shape)
        if weights is not None and tuple(weights.shape) != tuple(x.shape):
            raise self.shape_error("weights", f"x's shape {tuple(x.shape)}", weights.shape)
        return [((None,), numpy.dtype(numpy.int64) if weights is None else weights.dtype)]

    def forward(self, be, x, weights=None):
        xp = be.xp
        n = builtins.max(int(x.max()) + 1 if x.size else 0, self.minlength)
        if self.maxlength is not None:
            n = builtins.min(n, self.maxlength)
            keep = x < n
            x = x[keep]
            weights = None if weights is None else weights[keep]
        if weights is None:
            return xp.bincount(x, minlength=n).astype(xp.int64)
        out = xp.zeros(n, weights.dtype)
        be.index_add(out, x, weights)
        return out


def bincount(x: Value, weights: Value | None = None, minlength: int = 0, maxlength: int | None = None) -> Value:
    return apply(Bincount(minlength, maxlength), *([x] if weights is None else [x, weights]))
