"""Elementwise primitives with NumPy broadcasting, and the scalar forms used by gradient rules."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy

from core.errors import ShapeError
from core.graph import Value
from core.op import Op, apply
from core.ops.shape import fill_like

BOOL = numpy.dtype(bool)


def broadcast_shapes(op: Op, a: tuple, b: tuple, names: Sequence[str] = ("x", "y")) -> tuple:
    """NumPy broadcasting of static shapes; None (unknown) matches any size."""
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(pa, pb):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        elif x is None or y is None:
            out.append(y if x is None else x)
        else:
            raise ShapeError(f"{op.name}: argument '{names[1]}' with shape {tuple(b)} cannot be broadcast "
                             f"with argument '{names[0]}' with shape {tuple(a)}")
    return tuple(out)


def _same_known(a: tuple, b: tuple) -> bool:
    return a == b and None not in a


# ----- reductions used by broadcasting gradients --------------------------------
class SumToLike(Op):
    """Sum ``x`` over broadcast axes so it takes ``like``'s (runtime) shape."""

    name = "SumToLike"
    saves_inputs = False
    arg_names = ("x", "like")

    def infer(self, x: Value, like: Value) -> list:
        return [(like.shape, x.dtype)]

    def forward(self, be: Any, x: Any, like: Any, out: Any = None) -> Any:
        if x.shape == like.shape and out is None:
            return x
        if out is not None:
            self._into(be, x, like, out)()
            return out
        return x.sum(axis=self._axes(x, like), keepdims=True).reshape(like.shape)

    @staticmethod
    def _axes(x: Any, like: Any) -> tuple:
        lead = x.ndim - like.ndim
        return tuple(range(lead)) + tuple(i + lead for i, s in enumerate(like.shape)
                                          if s == 1 and x.shape[i + lead] != 1)

    def _into(self, be: Any, x: Any, like: Any, out: Any) -> Any:
        """The sum into ``out`` as a function of no arguments (``Op.prepared_writer``)."""
        return be.sum_call(x, self._axes(x, like), True, out.reshape((1,) * (x.ndim - like.ndim) + like.shape))

    def prepare(self, be: Any) -> Any:
        return self.prepared_writer(be, self._into)

    def vjp(self, node, grads, needs):
        return broadcast_like(grads[0], node.inputs[0]), None


class BroadcastLike(Op):
    """Broadcast ``x`` to ``like``'s (runtime) shape."""

    name = "BroadcastLike"
    saves_inputs = False
    arg_names = ("x", "like")

    def infer(self, x: Value, like: Value) -> list:
        return [(broadcast_shapes(self, like.shape, x.shape, ("like", "x")), x.dtype)]

    def forward(self, be: Any, x: Any, like: Any) -> Any:
        return be.xp.broadcast_to(x, like.shape)

    def vjp(self, node, grads, needs):
        return sum_to_like(grads[0], node.inputs[0]), None


def sum_to_like(g: Value | None, like: Value) -> Value | None:
    if g is None or _same_known(g.shape, like.shape):
        return g
    return apply(SumToLike(), g, like)


def broadcast_like(x: Value, like: Value) -> Value:
    if _same_known(x.shape, like.shape):
        return x
    return apply(BroadcastLike(), x, like)


# ----- binary -----------------------------------------------------------------
class Binary(Op):
    arg_names = ("x", "y")
    kinds = "biuf"          # dtype kinds accepted
    out_bool = False

    def infer(self, x: Value, y: Value) -> list:
        self.require_same_dtype(x, y)
        if x.dtype.kind not in self.kinds:
            raise self.dtype_error("x", "a numeric type" if "f" in self.kinds else "bool", x.dtype)
        return [(broadcast_shapes(self, x.shape, y.shape, self.arg_names), BOOL if self.out_bool else x.dtype)]


class Add(Binary):
    name = "Add"
    saves_inputs = False

    def forward(self, be, x, y):
        return x + y

    def vjp(self, node, grads, needs):
        g = grads[0]
        x, y = node.inputs
        return (sum_to_like(g, x) if needs[0] else None), (sum_to_like(g, y) if needs[1] else None)


class Sub(Binary):
    name = "Sub"
    saves_inputs = False

    def forward(self, be, x, y):
        return x - y

    def vjp(self, node, grads, needs):
        g = grads[0]
        x, y = node.inputs
        return (sum_to_like(g, x) if needs[0] else None), (sum_to_like(neg(g), y) if needs[1] else None)


class AddScaled(Binary):
    """``x + alpha * y`` (broadcast), each float result rounded once: a fused multiply-add, as PyTorch's CPU
    ``x.add(y, alpha=alpha)`` computes it (``sub`` adds with -alpha), and its gradients ``g`` and
    ``g * alpha``.  Two roundings (the product, then the sum) put a quarter of PyTorch's values a bit apart.
    Integers add exactly."""

    name = "AddScaled"
    saves_inputs = False

    def __init__(self, alpha: Any) -> None:
        self.alpha = alpha

    def forward(self, be, x, y):
        if x.dtype.kind != "f":
            return x + y * x.dtype.type(self.alpha)
        shape = numpy.broadcast_shapes(x.shape, y.shape)
        xp = be.xp
        # The fused kernels take C-contiguous operands of one shape: a broadcast or strided one is copied.
        x, y = (xp.ascontiguousarray(xp.broadcast_to(a, shape)) for a in (x, y))
        return be.fma(y, self.alpha, x, be.empty(shape, x.dtype))

    def vjp(self, node, grads, needs):
        g = grads[0]
        x, y = node.inputs
        return ((sum_to_like(g, x) if needs[0] else None),
                (sum_to_like(scalar(g, "mul", self.alpha), y) if needs[1] else None))


class Fma(Op):
    """``x * y + z`` (broadcast), each float result rounded once: a fused multiply-add, as PyTorch's CPU
    ``addcmul`` computes it (its kernel's multiply and add contract into one), and its gradients ``g * y``,
    ``g * x`` and ``g``.  Integers are exact either way."""

    name = "Fma"
    arg_names = ("x", "y", "z")

    def infer(self, x: Value, y: Value, z: Value) -> list:
        self.require_same_dtype(x, y, z)
        shape = broadcast_shapes(self, broadcast_shapes(self, x.shape, y.shape, ("x", "y")), z.shape, ("y", "z"))
        return [(shape, x.dtype)]

    def forward(self, be, x, y, z):
        if x.dtype.kind != "f":
            return x * y + z
        shape = numpy.broadcast_shapes(x.shape, y.shape, z.shape)
        xp = be.xp
        # The fused kernels take C-contiguous operands of one shape: a broadcast or strided one is copied.
        x, y, z = (xp.ascontiguousarray(xp.broadcast_to(a, shape)) for a in (x, y, z))
        return be.fma(x, y, z, be.empty(shape, x.dtype))

    def vjp(self, node, grads, needs):
        g = grads[0]
        x, y, z = node.inputs
        return ((sum_to_like(mul(g, y), x) if needs[0] else None), (sum_to_like(mul(g, x), y) if needs[1] else None),
                (sum_to_like(g, z) if needs[2] else None))


class Mul(Binary):
    name = "Mul"

    def forward(self, be, x, y):
        return x * y

    def vjp(self, node, grads, needs):
        g = grads[0]
        x, y = node.inputs
        return (sum_to_like(mul(g, y), x) if needs[0] else None), (sum_to_like(mul(g, x), y) if needs[1] else None)


class Div(Binary):
    name = "RealDiv"
    saves_outputs = True

    def forward(self, be, x, y):
        return x / y if x.dtype.kind == "f" else x // y

    def vjp(self, node, grads, needs):
        g = grads[0]
        x, y = node.inputs
        gx = div(g, y)
        gy = neg(mul(gx, node.outputs[0])) if needs[1] else None
        return (sum_to_like(gx, x) if needs[0] else None), sum_to_like(gy, y)


class FloorDiv(Binary):
    """x // y, rounded toward -inf.  Integers: floor division; a zero divisor raises on the CPU (PyTorch's
    ZeroDivisionError, TF's "Integer division by zero").  Floats: CPython's divmod algorithm (``exact``:
    PyTorch's and NumPy's, 1.0 // 0.1 = 9) or floor(x / y) (TF's, 1.0 // 0.1 = 10).  No gradient: TF's has
    none, and PyTorch's raises when a backward pass reaches it (``exact``, its flavour, does too)."""

    name = "FloorDiv"

    def __init__(self, exact: bool = True) -> None:
        self.exact = self.differentiable = exact

    def vjp(self, node, grads, needs):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")

    def forward(self, be, x, y):
        if x.dtype.kind in "iu":
            be.check_nonzero(y, self.name)
            return be.xp.floor_divide(x, y)
        xp = be.xp
        with numpy.errstate(divide="ignore", invalid="ignore"):      # x // 0 is +-inf or NaN, as in both
            if not self.exact:
                return xp.floor(x / y)
            # CPython's float floor division, as ATen's div_floor_floating and NumPy's npy_divmod compute it,
            # spelled out so that every device gives its bits (CuPy's own floor_divide need not)
            mod = xp.fmod(x, y)
            div = (x - mod) / y
            div = xp.where((mod != 0) & ((y < 0) != (mod < 0)), div - 1, div)
            whole = xp.floor(div)
            whole = xp.where(div - whole > 0.5, whole + 1, whole)
            whole = xp.where(div != 0, whole, xp.copysign(xp.zeros_like(div), x / y))
            return xp.where(y == 0, x / y, whole)


class FloorMod(Binary):
    """x - y * floor(x / y) with the sign of y, as fmod(x, y) + y where their signs differ (ATen's and TF's
    kernels alike: -0.0 % 2.0 is -0.0, where NumPy's remainder gives 0.0).  Integers: a zero divisor raises on
    the CPU.  Gradients: g for x, -g * (x // y) for y, the floor division each library's gradient uses
    (``exact``: see FloorDiv; PyTorch's ``number % tensor`` has none for y and raises when a backward pass
    needs it: ``y_grad=False``)."""

    name = "FloorMod"

    def __init__(self, y_grad: bool = True, exact: bool = True) -> None:
        self.y_grad, self.exact = y_grad, exact

    def forward(self, be, x, y):
        xp = be.xp
        if x.dtype.kind in "iu":
            be.check_nonzero(y, self.name)
            return xp.remainder(x, y)
        with numpy.errstate(invalid="ignore"):      # x % 0 is NaN, as in both
            mod = xp.fmod(x, y)
            return xp.where((mod != 0) & ((y < 0) != (mod < 0)), mod + y, mod)

    def vjp(self, node, grads, needs):
        g = grads[0]
        x, y = node.inputs
        if needs[1] and not self.y_grad:
            raise RuntimeError("derivative for aten::remainder is not implemented")
        gy = neg(mul(g, apply(FloorDiv(self.exact), x, y))) if needs[1] else None
        return (sum_to_like(g, x) if needs[0] else None), (sum_to_like(gy, y) if needs[1] else None)


class Fmod(Binary):
    """C's fmod: x - y * trunc(x / y), with the sign of x (PyTorch's ``fmod``, TF's ``truncatemod``); integers:
    a zero divisor raises on the CPU.  Gradients: g for x, -g * trunc(x / y) for y, as ATen's."""

    name = "Fmod"

    def forward(self, be, x, y):
        if x.dtype.kind in "iu":
            be.check_nonzero(y, self.name)
        with numpy.errstate(invalid="ignore"):      # x fmod 0 is NaN, as in both
            return be.xp.fmod(x, y)

    def vjp(self, node, grads, needs):
        g = grads[0]
        x, y = node.inputs
        gy = None
        if needs[1]:
            q = div(x, y)
            toward_zero = where(scalar_compare(q, "Less", 0.0), neg(floor(neg(q), True)), floor(q, True))
            gy = sum_to_like(neg(mul(g, toward_zero)), y)
        return (sum_to_like(g, x) if needs[0] else None), gy


class Pow(Binary):
    name = "Pow"
    saves_outputs = True

    def forward(self, be, x, y):
        return x ** y

    def vjp(self, node, grads, needs):
        g = grads[0]
        x, y = node.inputs
        out = node.outputs[0]
        gx = sum_to_like(mul(g, mul(y, pow(x, scalar(y, "add", -1.0)))), x) if needs[0] else None
        gy = None
        if needs[1]:
            # d/dy at x = 0 is 0 in both libraries (TF masks log x where x <= 0, PyTorch where x = 0 and y >= 0),
            # not out * log 0 = 1 * -inf or 0 * -inf.
            dy = mul(out, log(x))
            gy = sum_to_like(mul(g, where(scalar_compare(x, "Equal", 0.0), fill_like(dy, 0.0), dy)), y)
        return gx, gy


class _Extremum(Binary):
    """Maximum or minimum.  The gradient selects (a NaN or infinite gradient on the side not taken gives 0 there,
    as in both libraries, where a multiply by the mask gave NaN).  Ties: TensorFlow's rule sends the gradient to
    x, PyTorch's (``split_ties``, for ``torch.maximum``/``minimum``) half to each; PyTorch also gives both sides
    the whole gradient where x or y is NaN (neither is smaller)."""

    def __init__(self, split_ties: bool = False) -> None:
        self.split_ties = bool(split_ties)

    def vjp(self, node, grads, needs):
        x, y = node.inputs
        g = grads[0]
        if not self.split_ties:         # where(x wins or ties, x, y): Where's gradient
            wins = greater_equal if self.name == "Maximum" else less_equal
            return _select_grads(wins(x, y), g, x, y, needs)
        loses = less if self.name == "Maximum" else greater
        zero = fill_like(g, 0.0)
        shared = where(equal(x, y), scalar(g, "mul", 0.5), g)
        gx = sum_to_like(where(loses(x, y), zero, shared), x) if needs[0] else None
        gy = sum_to_like(where(loses(y, x), zero, shared), y) if needs[1] else None
        return gx, gy


def _first_of_ties(be: Any, fn: Any, x: Any, y: Any) -> Any:
    """``fn(x, y)`` (NumPy's maximum or minimum: NaN from either side), except that a tie gives x, as TF's and
    PyTorch's do: max(-0.0, 0.0) is -0.0 there and +0.0 in NumPy."""
    out = fn(x, y)
    if out.dtype.kind != "f":
        return out
    return be.xp.where(x == y, x, out)


class Maximum(_Extremum):
    name = "Maximum"

    def forward(self, be, x, y):
        return _first_of_ties(be, be.xp.maximum, x, y)


class Minimum(_Extremum):
    name = "Minimum"

    def forward(self, be, x, y):
        return _first_of_ties(be, be.xp.minimum, x, y)


class Compare(Binary):
    out_bool = True
    differentiable = False
    fns = {"Equal": "equal", "NotEqual": "not_equal", "Less": "less", "LessEqual": "less_equal",
           "Greater": "greater", "GreaterEqual": "greater_equal", "LogicalAnd": "logical_and",
           "LogicalOr": "logical_or"}

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def kinds(self) -> str:
        return "b" if self.name.startswith("Logical") else "biuf"

    def forward(self, be, x, y):
        return getattr(be.xp, self.fns[self.name])(x, y)


# ----- unary ------------------------------------------------------------------
class Unary(Op):
    float_only = True

    def infer(self, x: Value) -> list:
        if self.float_only:
            self.require_float(x)
        return [(x.shape, x.dtype)]


class Neg(Unary):
    name = "Neg"
    saves_inputs = False
    float_only = False

    def forward(self, be, x):
        return -x

    def vjp(self, node, grads, needs):
        return (neg(grads[0]),)


class Exp(Unary):
    name = "Exp"
    saves_inputs = False        # the gradient reads the output only
    saves_outputs = True

    def forward(self, be, x):
        return be.xp.exp(x)

    def vjp(self, node, grads, needs):
        return (mul(grads[0], node.outputs[0]),)


class Log(Unary):
    name = "Log"

    def forward(self, be, x):
        return be.xp.log(x)

    def vjp(self, node, grads, needs):
        return (div(grads[0], node.inputs[0]),)


class Expm1(Unary):
    """exp(x) - 1 without the cancellation of subtracting 1: at x = -1e-6 exp(x) - 1 in float32 is 5% off."""

    name = "Expm1"
    saves_inputs = False        # the gradient reads the output only
    saves_outputs = True

    def forward(self, be, x):
        return be.xp.expm1(x)

    def vjp(self, node, grads, needs):
        return (mul(grads[0], scalar(node.outputs[0], "add", 1.0)),)


class Log1p(Unary):
    """log(1 + x), exact for small x (log of 1 + 1e-8 is 0 in float32)."""

    name = "Log1p"

    def forward(self, be, x):
        return be.xp.log1p(x)

    def vjp(self, node, grads, needs):
        return (div(grads[0], scalar(node.inputs[0], "add", 1.0)),)


class Sin(Unary):
    name = "Sin"

    def forward(self, be, x):
        return be.xp.sin(x)

    def vjp(self, node, grads, needs):
        return (mul(grads[0], cos(node.inputs[0])),)


class Cos(Unary):
    name = "Cos"

    def forward(self, be, x):
        return be.xp.cos(x)

    def vjp(self, node, grads, needs):
        return (neg(mul(grads[0], sin(node.inputs[0]))),)


class Tan(Unary):
    name = "Tan"
    saves_inputs = False        # the gradient reads the output only: g (1 + tan^2), ATen's and TF's
    saves_outputs = True

    def forward(self, be, x):
        return be.xp.tan(x)

    def vjp(self, node, grads, needs):
        y = node.outputs[0]
        return (mul(grads[0], scalar(mul(y, y), "add", 1.0)),)


class Asin(Unary):
    name = "Asin"

    def forward(self, be, x):
        return be.xp.arcsin(x)

    def vjp(self, node, grads, needs):
        x = node.inputs[0]      # g / sqrt(1 - x^2): inf at |x| = 1, NaN past it, as PyTorch's and TF's
        return (div(grads[0], sqrt(scalar(mul(x, x), "rsub", 1.0))),)


class Acos(Unary):
    name = "Acos"

    def forward(self, be, x):
        return be.xp.arccos(x)

    def vjp(self, node, grads, needs):
        x = node.inputs[0]
        return (neg(div(grads[0], sqrt(scalar(mul(x, x), "rsub", 1.0)))),)


class Atan(Unary):
    name = "Atan"

    def forward(self, be, x):
        return be.xp.arctan(x)

    def vjp(self, node, grads, needs):
        x = node.inputs[0]
        return (div(grads[0], scalar(mul(x, x), "add", 1.0)),)


class Sinh(Unary):
    name = "Sinh"

    def forward(self, be, x):
        return be.xp.sinh(x)

    def vjp(self, node, grads, needs):
        return (mul(grads[0], cosh(node.inputs[0])),)


class Cosh(Unary):
    name = "Cosh"

    def forward(self, be, x):
        return be.xp.cosh(x)

    def vjp(self, node, grads, needs):
        return (mul(grads[0], sinh(node.inputs[0])),)


class Log2(Unary):
    name = "Log2"

    def forward(self, be, x):
        return be.xp.log2(x)

    def vjp(self, node, grads, needs):
        return (div(grads[0], scalar(node.inputs[0], "mul", math.log(2.0))),)


class Log10(Unary):
    name = "Log10"

    def forward(self, be, x):
        return be.xp.log10(x)

    def vjp(self, node, grads, needs):
        return (div(grads[0], scalar(node.inputs[0], "mul", math.log(10.0))),)


class Exp2(Unary):
    name = "Exp2"
    saves_inputs = False
    saves_outputs = True

    def forward(self, be, x):
        return be.xp.exp2(x)

    def vjp(self, node, grads, needs):
        return (scalar(mul(grads[0], node.outputs[0]), "mul", math.log(2.0)),)


class Atan2(Binary):
    """atan2(y, x) (PyTorch's ``atan2(input, other)``, TF's ``atan2(y, x)``): the angle of (x, y); gradients
    g x / (x^2 + y^2) for y and -g y / (x^2 + y^2) for x."""

    name = "Atan2"
    kinds = "f"

    def forward(self, be, y, x):
        return be.xp.arctan2(y, x)

    def vjp(self, node, grads, needs):
        y, x = node.inputs
        g = grads[0]
        r2 = add(mul(x, x), mul(y, y))
        return ((sum_to_like(div(mul(g, x), r2), y) if needs[0] else None),
                (sum_to_like(neg(div(mul(g, y), r2)), x) if needs[1] else None))


class Sqrt(Unary):
    name = "Sqrt"
    saves_inputs = False        # the gradient reads the output only
    saves_outputs = True

    def forward(self, be, x):
        return be.xp.sqrt(x)

    def vjp(self, node, grads, needs):
        return (div(scalar(grads[0], "mul", 0.5), node.outputs[0]),)


class Abs(Unary):
    name = "Abs"
    float_only = False

    def forward(self, be, x):
        return be.xp.abs(x)

    def vjp(self, node, grads, needs):
        return (mul(grads[0], sign(node.inputs[0])),)


class Sign(Unary):
    name = "Sign"
    float_only = False

    def forward(self, be, x):
        return be.xp.sign(x)

    def vjp(self, node, grads, needs):
        # Zero, not no gradient: PyTorch's sign backward and TF's SignGrad are zeros like the input.
        return (fill_like(node.inputs[0], 0),)


class Floor(Unary):
    """floor(x).  Its gradient is zero almost everywhere: TensorFlow gives none (the default here), PyTorch
    zeros (``zero_grad``)."""

    name = "Floor"

    def __init__(self, zero_grad: bool = False) -> None:
        self.differentiable = zero_grad

    def forward(self, be, x):
        return be.xp.floor(x)

    def vjp(self, node, grads, needs):
        return (fill_like(node.inputs[0], 0),)


class Round(Floor):
    """x rounded half to even (PyTorch's round and TensorFlow's Round alike)."""

    name = "Round"

    def forward(self, be, x):
        return be.xp.rint(x)


class Relu(Unary):
    """max(x, 0); ``select_grad``: its gradient is PyTorch's (see ``ReluGrad``), else TensorFlow's."""

    name = "Relu"
    saves_inputs = False        # the gradient reads the output only
    saves_outputs = True

    def __init__(self, select_grad: bool = False) -> None:
        self.select = bool(select_grad)

    def forward(self, be, x):
        return be.relu(x)

    def vjp(self, node, grads, needs):
        return (relu_grad(grads[0], node.outputs[0], self.select),)


class ReluGrad(Op):
    """The ReLU's gradient from its output ``y``: TensorFlow's ``g * (y > 0)``, or with ``select`` PyTorch's
    ``0 where y <= 0, else g``.  They differ where a NaN or infinite gradient reaches a unit that is off
    (NaN against 0) and in the sign of its zeros; one primitive instead of compare, cast, mul."""

    name = "ReluGrad"
    arg_names = ("gradients", "outputs")

    def __init__(self, select: bool = False) -> None:
        self.select = bool(select)

    def infer(self, g: Value, y: Value) -> list:
        self.require_float(g, y)
        self.require_same_dtype(g, y)
        if len(g.shape) != len(y.shape) or any(a != b and None not in (a, b) for a, b in zip(g.shape, y.shape)):
            raise self.shape_error("gradients", f"the ReLU output's shape {tuple(y.shape)}", g.shape)
        return [(y.shape, y.dtype)]

    def forward(self, be, g, y):
        return be.relu_grad(g, y, self.select)

    def vjp(self, node, grads, needs):
        # Linear in the gradient; the step function of y has zero derivative almost everywhere.
        return relu_grad(grads[0], node.inputs[1], self.select), None


class Sigmoid(Unary):
    name = "Sigmoid"
    saves_inputs = False        # the gradient reads the output only
    saves_outputs = True

    def forward(self, be, x):
        xp = be.xp
        # Split by sign so exp never overflows.
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def vjp(self, node, grads, needs):
        y = node.outputs[0]
        return (mul(grads[0], mul(y, scalar(y, "rsub", 1.0))),)


class Erf(Unary):
    """The error function, for the exact GELU."""

    name = "Erf"

    def forward(self, be, x):
        return be.erf(x)

    def vjp(self, node, grads, needs):
        x = node.inputs[0]          # d erf(x) = 2 / sqrt(pi) * exp(-x^2)
        return (mul(grads[0], scalar(exp(scalar(mul(x, x), "mul", -1.0)), "mul", 1.1283791670955126)),)


class Elu(Unary):
    """negcoef * expm1(x) for x <= 0 and poscoef * x above: ATen's elu (selu is its case with SELU's constants;
    expm1, since exp(x) - 1 is 5% off at x = -1e-6).  The gradient is ATen's too, negcoef * exp(x) below (not
    expm1(x) + 1, which is 0 below x = -17 and loses digits well before) and poscoef above; NaN takes the upper
    branch, as ATen tests x <= 0."""

    name = "Elu"

    def __init__(self, negcoef: float, poscoef: float) -> None:
        self.negcoef, self.poscoef = float(negcoef), float(poscoef)

    def forward(self, be, x):
        xp, c = be.xp, x.dtype.type
        # expm1 of min(x, 0): the branch not taken never overflows
        return xp.where(x <= 0, xp.expm1(xp.minimum(x, c(0))) * c(self.negcoef), x * c(self.poscoef))

    def vjp(self, node, grads, needs):
        x, g = node.inputs[0], grads[0]
        below = mul(scalar(g, "mul", self.negcoef), exp(minimum(x, fill_like(x, 0.0))))
        above = g if self.poscoef == 1.0 else scalar(g, "mul", self.poscoef)
        return (where(scalar_compare(x, "LessEqual", 0), below, above),)


class Silu(Unary):
    """x * sigmoid(x), computed as PyTorch's kernel does, x / (1 + exp(-x)) (one rounding, not two).  The
    gradient is ATen's (g * s) * (1 + x * (1 - s)), s = 1 / (1 + exp(-x)): the quotient rule's would multiply 0
    by exp(-x) = inf below x = -88 and give NaN."""

    name = "Silu"

    def forward(self, be, x):
        xp = be.xp
        with numpy.errstate(over="ignore"):     # exp(-x) = inf below -88: x / inf is the -0 PyTorch gives
            return x / (1 + xp.exp(-x))

    def vjp(self, node, grads, needs):
        x = node.inputs[0]
        s = scalar(scalar(exp(neg(x)), "add", 1.0), "rdiv", 1.0)     # ATen's sigmoid here, 1 / (1 + exp(-x))
        return (mul(mul(grads[0], s), scalar(mul(x, scalar(s, "rsub", 1.0)), "add", 1.0)),)


class Tanh(Unary):
    name = "Tanh"
    saves_inputs = False        # the gradient reads the output only
    saves_outputs = True

    def forward(self, be, x):
        return be.xp.tanh(x)

    def vjp(self, node, grads, needs):
        y = node.outputs[0]
        return (mul(grads[0], scalar(mul(y, y), "rsub", 1.0)),)


class Scalar(Op):
    """``x (op) c`` for a Python number c: add, mul, div (x / c), pow, rsub (c - x), rdiv (c / x).  Division is
    division, not a multiplication by 1 / c: that rounds twice, and PyTorch's and TF's ``x / 255.0`` differed
    from it in the last bit of a third of the values."""

    name = "Scalar"

    def __init__(self, kind: str, c: float) -> None:
        if kind not in ("add", "mul", "div", "pow", "rsub", "rdiv"):
            raise ValueError(f"Scalar: unknown kind {kind!r}")
        self.kind = kind
        self.c = c
        # Only pow reads its input; c / x gets its gradient from the output, as PyTorch's reciprocal does.
        self.saves_inputs = kind == "pow"
        self.saves_outputs = kind == "rdiv"
        self.name = {"add": "AddScalar", "mul": "MulScalar", "div": "DivScalar", "pow": "PowScalar",
                     "rsub": "RSubScalar", "rdiv": "RDivScalar"}[kind]

    def infer(self, x: Value) -> list:
        # Integer inputs stay exact only for integer constants (and non-negative powers, never a division).
        int_ok = isinstance(self.c, int) and self.kind not in ("div", "rdiv") and (self.kind != "pow" or self.c >= 0)
        if x.dtype.kind != "f" and not int_ok:
            raise self.dtype_error("x", "a float type", x.dtype)
        return [(x.shape, x.dtype)]

    def forward(self, be, x, out=None):
        c = x.dtype.type(self.c)
        k, xp = self.kind, be.xp
        if k == "pow":      # ``x ** c`` takes NumPy's fast paths (square, sqrt); np.power(out=) may round otherwise
            if out is not None:
                raise NotImplementedError("PowScalar: no out= (NumPy's ** fast paths round differently)")
            return x ** c
        if k == "add":
            return xp.add(x, c, out=out)
        if k == "mul":
            return xp.multiply(x, c, out=out)
        if k == "div":
            return xp.true_divide(x, c, out=out)
        if k == "rsub":
            return xp.subtract(c, x, out=out)
        return xp.true_divide(c, x, out=out)

    def vjp(self, node, grads, needs):
        g, k, c = grads[0], self.kind, self.c
        x = node.inputs[0]
        if k == "add":
            return (g,)
        if k == "mul":
            return (scalar(g, "mul", c),)
        if k == "div":      # d(x / c) = g / c, divided as PyTorch's and TF's gradients divide
            return (scalar(g, "div", c),)
        if k == "rsub":
            return (neg(g),)
        if k == "pow":
            if c == 0:      # x ** 0 is constant: 0 even at x = 0, where c * x ** (c - 1) is 0 * inf (PyTorch)
                return (fill_like(g, 0.0),)
            return (mul(g, scalar(scalar(x, "pow", c - 1), "mul", c)),)
        if c == 0:
            return (scalar(g, "mul", 0.0),)
        y = node.outputs[0]
        return (scalar(mul(g, mul(y, y)), "mul", -1.0 / c),)      # d(c/x) = -c/x^2 = -(c/x)^2 / c


class ScalarCompare(Op):
    name = "ScalarCompare"
    differentiable = False

    def __init__(self, kind: str, c: float) -> None:
        self.kind = kind
        self.c = c

    def infer(self, x: Value) -> list:
        return [(x.shape, BOOL)]

    def forward(self, be, x):
        return getattr(be.xp, Compare.fns[self.kind])(x, x.dtype.type(self.c))


class Cast(Op):
    name = "Cast"
    saves_inputs = False

    def __init__(self, dtype: Any) -> None:
        self.dtype = numpy.dtype(dtype)

    def infer(self, x: Value) -> list:
        return [(x.shape, self.dtype)]

    def forward(self, be, x):
        return x.astype(self.dtype, copy=False)

    def vjp(self, node, grads, needs):
        x = node.inputs[0]
        if x.dtype.kind != "f" or self.dtype.kind != "f":
            return (None,)
        return (cast(grads[0], x.dtype),)


class Where(Op):
    name = "Select"
    arg_names = ("condition", "x", "y")

    def infer(self, c: Value, x: Value, y: Value) -> list:
        if c.dtype != BOOL:
            raise self.dtype_error("condition", "bool", c.dtype)
        if x.dtype != y.dtype:
            raise self.dtype_error("y", f"{x.dtype} (same as 'x')", y.dtype)
        shape = broadcast_shapes(self, broadcast_shapes(self, c.shape, x.shape, ("condition", "x")), y.shape,
                                 ("x", "y"))
        return [(shape, x.dtype)]

    def forward(self, be, c, x, y):
        return be.xp.where(c, x, y)

    def vjp(self, node, grads, needs):
        c, x, y = node.inputs
        return (None,) + _select_grads(c, grads[0], x, y, needs[1:])


def _select_grads(c: Value, g: Value, x: Value, y: Value, needs: Sequence[bool]) -> tuple:
    """The gradients of ``where(c, x, y)`` for x and y: a select, as PyTorch's and TF's are (g times the mask
    would turn a NaN or infinite gradient on the side not taken into NaN, inf * 0, where both give 0)."""
    zero = fill_like(g, 0.0)
    gx = sum_to_like(where(c, g, zero), x) if needs[0] else None
    gy = sum_to_like(where(c, zero, g), y) if needs[1] else None
    return gx, gy


class StopGradient(Op):
    name = "StopGradient"
    differentiable = False

    def infer(self, x):
        return [(x.shape, x.dtype)]

    def forward(self, be, x):
        return x


class Identity(Op):
    name = "Identity"
    saves_inputs = False

    def infer(self, x):
        return [(x.shape, x.dtype)]

    def forward(self, be, x):
        return x

    def vjp(self, node, grads, needs):
        return (grads[0],)


# ----- functions ---------------------------------------------------------------
def add(x: Value, y: Value) -> Value:
    return apply(Add(), x, y)


def sub(x: Value, y: Value) -> Value:
    return apply(Sub(), x, y)


def add_scaled(x: Value, y: Value, alpha: Any) -> Value:
    return apply(AddScaled(alpha), x, y)


def fma(x: Value, y: Value, z: Value) -> Value:
    return apply(Fma(), x, y, z)


def fmod(x: Value, y: Value) -> Value:
    return apply(Fmod(), x, y)


def mul(x: Value, y: Value) -> Value:
    return apply(Mul(), x, y)


def div(x: Value, y: Value) -> Value:
    return apply(Div(), x, y)


def pow(x: Value, y: Value) -> Value:
    return apply(Pow(), x, y)


def maximum(x: Value, y: Value, split_ties: bool = False) -> Value:
    """Elementwise max; ``split_ties``: PyTorch's gradient at ties (half to each), else TensorFlow's (to x)."""
    return apply(Maximum(split_ties), x, y)


def minimum(x: Value, y: Value, split_ties: bool = False) -> Value:
    return apply(Minimum(split_ties), x, y)


def equal(x: Value, y: Value) -> Value:
    return apply(Compare("Equal"), x, y)


def not_equal(x: Value, y: Value) -> Value:
    return apply(Compare("NotEqual"), x, y)


def less(x: Value, y: Value) -> Value:
    return apply(Compare("Less"), x, y)


def less_equal(x: Value, y: Value) -> Value:
    return apply(Compare("LessEqual"), x, y)


def greater(x: Value, y: Value) -> Value:
    return apply(Compare("Greater"), x, y)


def greater_equal(x: Value, y: Value) -> Value:
    return apply(Compare("GreaterEqual"), x, y)


def logical_and(x: Value, y: Value) -> Value:
    return apply(Compare("LogicalAnd"), x, y)


def logical_or(x: Value, y: Value) -> Value:
    return apply(Compare("LogicalOr"), x, y)


def neg(x: Value) -> Value:
    return apply(Neg(), x)


def exp(x: Value) -> Value:
    return apply(Exp(), x)


def log(x: Value) -> Value:
    return apply(Log(), x)


def sin(x: Value) -> Value:
    return apply(Sin(), x)


def tan(x: Value) -> Value:
    return apply(Tan(), x)


def asin(x: Value) -> Value:
    return apply(Asin(), x)


def acos(x: Value) -> Value:
    return apply(Acos(), x)


def atan(x: Value) -> Value:
    return apply(Atan(), x)


def sinh(x: Value) -> Value:
    return apply(Sinh(), x)


def cosh(x: Value) -> Value:
    return apply(Cosh(), x)


def log2(x: Value) -> Value:
    return apply(Log2(), x)


def log10(x: Value) -> Value:
    return apply(Log10(), x)


def exp2(x: Value) -> Value:
    return apply(Exp2(), x)


def atan2(y: Value, x: Value) -> Value:
    return apply(Atan2(), y, x)


def cos(x: Value) -> Value:
    return apply(Cos(), x)


def floor_div(x: Value, y: Value, exact: bool = True) -> Value:
    return apply(FloorDiv(exact), x, y)


def floor_mod(x: Value, y: Value, y_grad: bool = True, exact: bool = True) -> Value:
    return apply(FloorMod(y_grad, exact), x, y)


def expm1(x: Value) -> Value:
    return apply(Expm1(), x)


def log1p(x: Value) -> Value:
    return apply(Log1p(), x)


def sqrt(x: Value) -> Value:
    return apply(Sqrt(), x)


def abs(x: Value) -> Value:
    return apply(Abs(), x)


def floor(x: Value, zero_grad: bool = False) -> Value:
    return apply(Floor(zero_grad), x)


def round(x: Value, zero_grad: bool = False) -> Value:
    return apply(Round(zero_grad), x)


def sign(x: Value) -> Value:
    return apply(Sign(), x)


def relu(x: Value, select_grad: bool = False) -> Value:
    """max(x, 0); ``select_grad`` for PyTorch's gradient rule (``ReluGrad``), TensorFlow's by default."""
    return apply(Relu(select_grad), x)


def leaky_relu(x: Value, slope: float) -> Value:
    """x where x > 0, else slope * x (a composition: its gradient is Select's)."""
    return where(scalar_compare(x, "Greater", 0.0), x, scalar(x, "mul", slope))


def relu_grad(g: Value, y: Value, select: bool = False) -> Value:
    return apply(ReluGrad(select), g, y)


def sigmoid(x: Value) -> Value:
    return apply(Sigmoid(), x)


def erf(x: Value) -> Value:
    return apply(Erf(), x)


def elu(x: Value, negcoef: float, poscoef: float = 1.0) -> Value:
    return apply(Elu(negcoef, poscoef), x)


def silu(x: Value) -> Value:
    return apply(Silu(), x)


def tanh(x: Value) -> Value:
    return apply(Tanh(), x)


def scalar(x: Value, kind: str, c: float) -> Value:
    """``x + c``, ``x * c``, ``x / c``, ``x ** c``, ``c - x`` or ``c / x`` (kind add/mul/div/pow/rsub/rdiv)."""
    return apply(Scalar(kind, c), x)


def scalar_compare(x: Value, kind: str, c: float) -> Value:
    """Compare with a Python number; kind is a Compare name such as 'Greater'."""
    return apply(ScalarCompare(kind, c), x)


def cast(x: Value, dtype: Any) -> Value:
    if x.dtype == numpy.dtype(dtype):
        return x
    return apply(Cast(dtype), x)


def where(condition: Value, x: Value, y: Value) -> Value:
    return apply(Where(), condition, x, y)


def stop_gradient(x: Value) -> Value:
    return apply(StopGradient(), x)


def identity(x: Value) -> Value:
    return apply(Identity(), x)


def clip_inside(x: Value, lo: float, hi: float, nan_passes: bool) -> Value:
    """x clamped to [lo, hi] (NaN stays NaN) whose gradient passes strictly between the bounds only, as the
    activations' (PyTorch's hardtanh and hardsigmoid, TF's relu6) do (clamp's passes it at the bounds too).  At
    NaN ``nan_passes`` says whether it passes: PyTorch's hardtanh tests x <= lo or x >= hi (so it passes),
    hardsigmoid and TF's Relu6Grad lo < x < hi (so it does not)."""
    clamped = stop_gradient(minimum(maximum(x, fill_like(x, lo)), fill_like(x, hi)))
    if nan_passes:
        outside = logical_or(scalar_compare(x, "LessEqual", lo), scalar_compare(x, "GreaterEqual", hi))
        return where(outside, clamped, x)
    inside = logical_and(scalar_compare(x, "Greater", lo), scalar_compare(x, "Less", hi))
    return where(inside, x, clamped)


class Hypot(Binary):
    """sqrt(x^2 + y^2) without overflow or underflow in the squares (C's hypot, as ATen's kernel); gradients
    g x / r and g y / r, ATen's (NaN at r = 0, as there)."""

    name = "Hypot"
    kinds = "f"
    saves_outputs = True

    def forward(self, be, x, y):
        return be.xp.hypot(x, y)

    def vjp(self, node, grads, needs):
        x, y = node.inputs
        g_over_r = div(grads[0], node.outputs[0])
        return ((sum_to_like(mul(g_over_r, x), x) if needs[0] else None),
                (sum_to_like(mul(g_over_r, y), y) if needs[1] else None))


class LogAddExp(Binary):
    """log(exp(x) + exp(y)) as ATen's CPU kernel computes it: m + log1p(exp(-|x - y|)) with m the larger, and x
    itself where both are the same infinity (the formula would give NaN from inf - inf).  The gradients are
    ATen's g / (1 + exp(y - x)) and g / (1 + exp(x - y))."""

    name = "LogAddExp"
    kinds = "f"

    def forward(self, be, x, y):
        xp = be.xp
        with numpy.errstate(invalid="ignore"):      # inf - inf, replaced below
            out = xp.maximum(x, y) + xp.log1p(xp.exp(-xp.abs(x - y)))
        return xp.where(xp.isinf(x) & (x == y), x, out)

    def vjp(self, node, grads, needs):
        x, y = node.inputs
        g = grads[0]

        def share(a: Value, b: Value) -> Value:     # g / (1 + exp(b - a))
            return div(g, scalar(exp(sub(b, a)), "add", 1.0))
        return ((sum_to_like(share(x, y), x) if needs[0] else None),
                (sum_to_like(share(y, x), y) if needs[1] else None))


def hypot(x: Value, y: Value) -> Value:
    return apply(Hypot(), x, y)


def logaddexp(x: Value, y: Value) -> Value:
    return apply(LogAddExp(), x, y)
