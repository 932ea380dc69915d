"""The PyTorch-style Tensor: a core Value with operators, autograd bookkeeping and in-place ops.

Every computation goes through ``core`` primitives; this module only maps
PyTorch's names, defaults, type promotion and errors onto them.
"""
from __future__ import annotations

import builtins
import collections
import functools
import itertools
import math
import os
import warnings
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy

import backends
import core
from backends import numba_kernels, threads
from core import device as _device
from core import inplace
from core.graph import Value
from core.op import is_grad_enabled
from core.ops import shape as _shape
from eager_api import grad_fn as _grad_fn

if TYPE_CHECKING:
    from eager_api.utils.hooks import RemovableHandle

float16, float32, float64 = numpy.dtype("float16"), numpy.dtype("float32"), numpy.dtype("float64")
int16, int32, int64, uint8, int8, bool_ = (numpy.dtype("int16"), numpy.dtype("int32"), numpy.dtype("int64"),
                                           numpy.dtype("uint8"), numpy.dtype("int8"), numpy.dtype(bool))
float, double, long, int, half, short = float32, float64, int64, int32, float16, int16
_default_dtype = [float32]

# The legacy type names PyTorch prints from ``Tensor.type()`` and takes as constructors.
_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor", "int64": "LongTensor",
               "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor",
               "bool": "BoolTensor"}

# What max/min/sort/topk along a dim return: (values, indices) under the function's name, as PyTorch's
# torch.return_types.max and friends.
_RETURN_TYPES = {name: collections.namedtuple(name, ["values", "indices"])
                 for name in ("max", "min", "sort", "topk", "median", "nanmedian")}
_RETURN_TYPES["aminmax"] = collections.namedtuple("aminmax", ["min", "max"])


class Size(tuple):
    """``tensor.shape``: a tuple that prints like PyTorch's."""

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def numel(self) -> builtins.int:
        n = 1
        for s in self:
            n *= s
        return n


def set_default_dtype(dtype: Any) -> None:
    dt = _dtype(dtype, "set_default_dtype")
    if dt.kind != "f":
        raise TypeError("invalid dtype object: only floating-point types are supported as the default type")
    _default_dtype[0] = dt


def _dtype(dtype: Any, fn: str) -> numpy.dtype:
    """A dtype argument as PyTorch takes it: a torch dtype (here a NumPy dtype) or Python's float/int/bool.
    Strings are refused as PyTorch refuses them: NumPy would read "float" as float64, TensorFlow as float32."""
    if isinstance(dtype, str):
        raise TypeError(f"{fn}(): argument 'dtype' must be torch.dtype, not str")
    return numpy.dtype(dtype)


def get_default_dtype() -> numpy.dtype:
    return _default_dtype[0]


def _result_dtype(a: numpy.dtype, b: numpy.dtype) -> numpy.dtype:
    """PyTorch's promotion between tensors: the higher category (bool < integer < float or complex) wins,
    within one the wider type (float64 with complex64 is complex128, as in PyTorch)."""
    if a == b:
        return a
    ca, cb = _category(a), _category(b)
    if ca != cb:
        return a if ca > cb else b
    return numpy.promote_types(a, b)


class Tensor(Value):
    """A multi-dimensional array with autograd, as ``torch.Tensor``."""

    _shape_type = Size
    # A leaf's ``register_hook`` hooks (PyTorch's attribute; a computed tensor's live on its node).
    _backward_hooks: "collections.OrderedDict[int, Any] | None" = None

    # ----- construction ----------------------------------------------------------
    def __init__(self, data: Any = (), dtype: Any = None, device: Any = None, requires_grad: bool = False) -> None:
        t = tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        self._init_value(t.array, t.shape, t.dtype, t.device, requires_grad=requires_grad)

    @classmethod
    def _of(cls, v: Value) -> "Tensor":
        """View a core Value (e.g. a gradient) as a Tensor."""
        if isinstance(v, Tensor):
            return v
        return cls._wrap(v.array, v.shape, v.dtype, v.device, v.node, v.index, v.requires_grad, v._vc)

    # ----- properties ------------------------------------------------------------
    def _current(self) -> "Tensor":
        """This tensor with its autograd identity re-derived if it is a view whose base was written in place."""
        if self._view is not None and self._view_version != self._vc[0]:
            inplace.refresh_view(self)
        return self

    @property
    def is_leaf(self) -> bool:
        return self._current().node is None

    @property
    def grad_fn(self) -> Any:
        """The node that made this tensor, as PyTorch shows it (``type(t.grad_fn).__name__`` is e.g.
        'MulBackward0'); None for a leaf."""
        node = self._current().node
        return None if node is None else _grad_fn.of(node)

    @property
    def grad(self) -> "Tensor | None":
        """The gradient that backward accumulated here.  backward fills leaves (and tensors that retain their
        gradient) only: reading it on another tensor gives None with PyTorch's warning."""
        g = self.__dict__.get("_grad")
        if g is None and not self.is_leaf and not self.retains_grad:
            warnings.warn("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                          "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
                          "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor.",
                          UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        self.__dict__["_grad"] = value

    @property
    def retains_grad(self) -> bool:
        node = self._current().node
        return node is not None and node.retained is not None and node.retained.get(self.index) is self

    @property
    def _version(self) -> builtins.int:
        return self._vc[0]

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_xpu(self) -> bool:
        return False

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """Without ``dtype``, the legacy type name ('torch.FloatTensor', 'torch.cuda.LongTensor'); with one
        (a dtype, such a name, or ``torch.FloatTensor``), this tensor cast to it."""
        if dtype is None:
            where = "torch.cuda." if self.is_cuda else "torch."
            return where + _TYPE_NAMES[self.dtype.name]
        if isinstance(dtype, _LegacyType):
            return self.to(dtype.dtype)
        if isinstance(dtype, str) and dtype.startswith("torch."):
            for name, legacy in _TYPE_NAMES.items():
                if dtype.rpartition(".")[2] == legacy:
                    out = self.to(numpy.dtype(name))
                    return out.cuda() if dtype.startswith("torch.cuda.") else out.cpu()
            raise ValueError(f"invalid type: '{dtype}'")
        return self.to(_dtype(dtype, "type"))

    @property
    def T(self) -> "Tensor":
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim: builtins.int | None = None) -> Any:
        return self.shape if dim is None else self.shape[self._dim_index(dim)]

    def stride(self, dim: builtins.int | None = None) -> Any:
        """The steps in elements between neighbours along each dimension, of the array as it is laid out (a
        transpose, slice or expand is a view here as in PyTorch, with its strides)."""
        steps = tuple(s // self.dtype.itemsize for s in self.array.strides)
        return steps if dim is None else steps[self._dim_index(dim)]

    def _dim_index(self, dim: builtins.int) -> builtins.int:
        """``dim`` wrapped into range, or PyTorch's IndexError."""
        n = len(self.shape)
        if n == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        if not -n <= dim < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
        return dim % n

    def dim(self) -> builtins.int:
        return len(self.shape)

    ndimension = dim

    @property
    def itemsize(self) -> builtins.int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> builtins.int:
        """The bytes of the tensor's elements (of a view too: not of the storage under it)."""
        return self.numel() * self.dtype.itemsize

    def numel(self) -> builtins.int:
        return Size(self.shape).numel()

    def __index__(self) -> builtins.int:
        """A one-element integer tensor indexes a list, a range or a slice, as in PyTorch."""
        if self.dtype.kind not in "iu" or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return builtins.int(self.item())

    def __iter__(self) -> Any:
        if not self.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __len__(self) -> builtins.int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        body = numpy.array2string(self._host(), separator=", ", precision=4, prefix="tensor(")
        extras = []
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self.dtype not in (float32, int64, bool_):
            extras.append(f"dtype={self.dtype}")
        if self.node is not None:
            extras.append(f"grad_fn=<{_grad_fn.name_of(self.node)}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ----- host interop ----------------------------------------------------------
    def _host(self) -> numpy.ndarray:
        return backends.get_backend(self.device).to_host(self.array)

    def numpy(self) -> numpy.ndarray:
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self.device.type != "cpu":
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to copy the "
                            "tensor to host memory first.")
        return self.array

    def item(self) -> Any:
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        return self._host().reshape(()).item()

    def tolist(self) -> Any:
        return self._host().tolist()

    def __float__(self) -> builtins.float:
        return builtins.float(self.item())

    def __int__(self) -> builtins.int:
        return builtins.int(self.item())

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __array__(self, dtype: Any = None, copy: Any = None) -> numpy.ndarray:
        return self._host() if dtype is None else self._host().astype(dtype)

    def __hash__(self) -> builtins.int:
        return id(self)

    # ----- autograd ----------------------------------------------------------------
    def detach(self) -> "Tensor":
        return Tensor._wrap(self.array, self.shape, self.dtype, self.device, vc=self._vc)

    @property
    def data(self) -> "Tensor":
        """As PyTorch: the same storage as a tensor outside autograd, whose in-place changes autograd does not
        see (its own version counter, unlike ``detach()``)."""
        return Tensor._wrap(self.array, self.shape, self.dtype, self.device)

    @data.setter
    def data(self, value: "Tensor") -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        if value.device != self.device:
            raise RuntimeError(f"data set to a tensor on {value.device} while this tensor is on {self.device}")
        self.array, self.shape, self.dtype = value.array, value.shape, value.dtype

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if not self.is_leaf:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        if requires_grad and self.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        if not self._current().requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.node is not None:       # a leaf gets its gradient anyway
            self.node.retained = {**(self.node.retained or {}), self.index: self}

    def register_hook(self, hook: Callable[["Tensor"], "Tensor | None"]) -> "RemovableHandle":
        """Call ``hook(grad)`` with the gradient w.r.t. this tensor each time backward (or ``autograd.grad``)
        computes it; a tensor it returns replaces the gradient.  On a leaf it runs before ``.grad`` accumulates;
        on a computed tensor, before the gradient flows on to the tensor's inputs (and before ``retain_grad``
        keeps it).  As PyTorch, the hook belongs to the tensor's value now: after an in-place write it still
        sees the gradient w.r.t. the old value.  Returns a ``RemovableHandle``."""
        from eager_api.utils import hooks as _hooks
        t = self._current()
        if not t.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if t.node is None:          # eager_api.autograd runs a leaf's hooks as it accumulates
            if self._backward_hooks is None:
                self._backward_hooks = collections.OrderedDict()
            table = self._backward_hooks
        else:                       # the reverse pass runs them at the node that made this value
            t.node.hooks = t.node.hooks or {}
            table = t.node.hooks.setdefault(t.index, collections.OrderedDict())
        handle = _hooks.RemovableHandle(table)
        table[handle.id] = _hooks.TensorHook(hook)
        return handle

    def register_post_accumulate_grad_hook(self, hook: Callable[["Tensor"], None]) -> "RemovableHandle":
        """Call ``hook(self)`` each time backward has accumulated this leaf's ``.grad`` (during the pass)."""
        from eager_api.utils import hooks as _hooks
        if self._current().node is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        hooks = self.__dict__.setdefault("_post_accumulate_grad_hooks", collections.OrderedDict())
        handle = _hooks.RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def backward(self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        from eager_api import autograd
        autograd.backward([self], None if gradient is None else [gradient], retain_graph, create_graph)

    # ----- devices and dtypes ----------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        dev, dtype = kwargs.get("device"), kwargs.get("dtype")
        for a in args:
            if isinstance(a, Tensor):
                dev, dtype = a.device, a.dtype
            elif isinstance(a, (str, _device.Device)):
                dev = a
            else:
                dtype = a
        out = self
        if dtype is not None and _dtype(dtype, "to") != self.dtype:
            out = _T(core.cast(out, _dtype(dtype, "to")))
        if dev is not None:
            target = _device.parse(dev)
            if target != out.device:
                out = _T(core.apply(_ToDevice(target), out))
        return out

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device: Any = None) -> "Tensor":
        return self.to("cuda" if device is None else (f"cuda:{device}" if isinstance(device, builtins.int) else device))

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    def float(self) -> "Tensor":
        return self.to(float32)

    def double(self) -> "Tensor":
        return self.to(float64)

    def long(self) -> "Tensor":
        return self.to(int64)

    def int(self) -> "Tensor":
        return self.to(int32)

    def bool(self) -> "Tensor":
        return self.to(bool_)

    def half(self) -> "Tensor":
        return self.to(float16)

    def short(self) -> "Tensor":
        return self.to(int16)

    def byte(self) -> "Tensor":
        return self.to(uint8)

    def char(self) -> "Tensor":
        return self.to(int8)

    def _like(self, dtype: Any, device: Any) -> tuple:
        return (self.dtype if dtype is None else dtype), (self.device if device is None else device)

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> "Tensor":
        dtype, device = self._like(dtype, device)
        return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> "Tensor":
        dtype, device = self._like(dtype, device)
        return ones(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> "Tensor":
        dtype, device = self._like(dtype, device)
        return empty(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size: Sequence[Any], fill_value: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> "Tensor":
        dtype, device = self._like(dtype, device)
        return full(size, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_tensor(self, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> "Tensor":
        """A copy of ``data`` with this tensor's dtype and device unless given (PyTorch copies tensors too)."""
        if isinstance(data, Tensor):
            data = data._host()
        dtype, device = self._like(dtype, device)
        return tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)

    def masked_fill(self, mask: "Tensor", value: Any) -> "Tensor":
        """``value`` where ``mask`` is True (broadcast to this shape), this tensor elsewhere."""
        if not isinstance(mask, Tensor) or mask.dtype != bool_:
            raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype "
                               f"{getattr(mask, 'dtype', type(mask).__name__)}")
        if isinstance(value, Tensor) and value.ndim != 0:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        fill = _T(core.broadcast_to(core.cast(_as_tensor(value, self), self.dtype), self.shape))
        out = where(mask, fill, self)
        if tuple(out.shape) != tuple(self.shape):
            raise RuntimeError(f"masked_fill: the mask of shape {list(mask.shape)} does not broadcast to the "
                               f"tensor's shape {list(self.shape)}")
        return out

    def clone(self) -> "Tensor":
        return _T(core.apply(_Copy(), self))

    def contiguous(self) -> "Tensor":
        return self if self.array.flags.c_contiguous else self.clone()

    def is_contiguous(self) -> bool:
        return builtins.bool(self.array.flags.c_contiguous)

    # ----- arithmetic ------------------------------------------------------------
    def _binary(self, other: Any, fn: Any, reverse: bool = False) -> "Tensor":
        a, b = _coerce(self, other)
        return _T(fn(b, a) if reverse else fn(a, b))

    def __add__(self, other):
        if _is_number(other):
            return _T(core.scalar(_promoted(self, other), "add", other))
        return self._binary(other, core.add)

    __radd__ = __add__

    def __sub__(self, other):
        if _is_number(other):
            return _T(core.scalar(_promoted(self, other), "add", -other))
        return self._binary(other, core.sub)

    def __rsub__(self, other):
        if _is_number(other):
            return _T(core.scalar(_promoted(self, other), "rsub", other))
        return self._binary(other, core.sub, reverse=True)

    def __mul__(self, other):
        if _is_number(other):
            return _T(core.scalar(_promoted(self, other), "mul", other))
        return self._binary(other, core.mul)

    __rmul__ = __mul__

    def __truediv__(self, other):
        if _is_number(other):
            return _T(core.scalar(_floatify(self), "div", other))
        a, b = _coerce(self, other)
        return _T(core.div(_floatify(a), _floatify(b)))

    def __rtruediv__(self, other):
        if _is_number(other):
            # PyTorch's ``c / x`` is ``x.reciprocal() * c`` (torch/_tensor.py), two roundings, not one division.
            inverse = self.reciprocal()
            return inverse if other == 1 else _T(core.scalar(inverse, "mul", other))
        return self._binary(other, core.div, reverse=True)

    def reciprocal(self) -> "Tensor":
        return _T(core.scalar(_floatify(self), "rdiv", 1))

    def __floordiv__(self, other):
        return self._binary(other, core.floor_div)

    def __rfloordiv__(self, other):
        return self._binary(other, core.floor_div, reverse=True)

    def __mod__(self, other):
        return self._binary(other, core.floor_mod)

    def __rmod__(self, other):
        # PyTorch's remainder(number, tensor) has no derivative for the tensor (its backward raises).
        return self._binary(other, lambda a, b: core.floor_mod(a, b, y_grad=not _is_number(other)), reverse=True)

    def remainder(self, other):
        return self % other

    def fmod(self, other: Any) -> "Tensor":
        """C's fmod: the remainder of the division rounded toward zero, with the sign of self."""
        return self._binary(other, core.fmod)

    def fmod_(self, other: Any) -> "Tensor":
        return self._inplace("fmod_", lambda x: x.fmod(other))

    def lerp(self, end: "Tensor", weight: Any) -> "Tensor":
        """self + weight * (end - self), computed as ATen's kernel does: from the nearer end, one fused
        multiply-add, start + w (end - start) for |w| < 0.5, else end + (w - 1) (end - start)."""
        diff = _as_tensor(end, self) - self
        if not isinstance(weight, Tensor):
            w = self.dtype.type(weight)
            small = builtins.abs(w) < 0.5
            coeff = tensor(w if small else w - self.dtype.type(1), dtype=self.dtype, device=self.device)
            return _T(core.fma(coeff, diff, self if small else _as_tensor(end, self)))
        small = weight.abs() < 0.5
        coeff = where(small, weight, weight - 1)
        return _T(core.fma(coeff, diff, where(small, self, _as_tensor(end, self))))

    def lerp_(self, end: "Tensor", weight: Any) -> "Tensor":
        return self._inplace("lerp_", lambda x: x.lerp(end, weight))

    def floor_divide(self, other):
        return self // other

    def __pow__(self, other):
        if _is_number(other):
            return _T(core.scalar(_promoted(self, other), "pow", other))
        return self._binary(other, core.pow)

    def __rpow__(self, other):
        return self._binary(other, core.pow, reverse=True)

    def __neg__(self):
        return _T(core.neg(self))

    def __abs__(self):
        return _T(core.abs(self))

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(_as_tensor(other, self), self)

    def _compare(self, other, kind):
        if _is_number(other):
            return _T(core.scalar_compare(_promoted(self, other), kind, other))
        a, b = _coerce(self, other)
        return _T(core.apply(core.ops.elementwise.Compare(kind), a, b))

    def __eq__(self, other):
        return self._compare(other, "Equal")

    def __ne__(self, other):
        return self._compare(other, "NotEqual")

    def __lt__(self, other):
        return self._compare(other, "Less")

    def __le__(self, other):
        return self._compare(other, "LessEqual")

    def __gt__(self, other):
        return self._compare(other, "Greater")

    def __ge__(self, other):
        return self._compare(other, "GreaterEqual")

    def __and__(self, other):
        return self._binary(other, core.logical_and)

    def __or__(self, other):
        return self._binary(other, core.logical_or)

    def __invert__(self):
        if self.dtype != bool_:
            raise NotImplementedError(f"~ (bitwise not) is only supported for bool tensors, got {self.dtype}")
        return _T(core.scalar_compare(self, "Equal", 0))

    # ----- indexing ----------------------------------------------------------------
    def __getitem__(self, index: Any) -> "Tensor":
        return _T(core.getitem(self, _index_data(index)))

    def __setitem__(self, index: Any, value: Any) -> None:
        idx = _index_data(index)
        if core.ops.shape.is_basic_index(idx):
            self[idx].copy_(value)      # a write into the view that the index selects
            return
        start = inplace.begin()
        shape = core.ops.shape.GetItem(idx).infer(self)[0][0]
        value = _as_tensor(value, self)
        if value.device != self.device:
            value = value.to(self.device)
        inplace.assign(self, _T(core.broadcast_to(core.cast(value, self.dtype), shape)), "index_put_", start,
                       index=idx)

    # ----- reductions ------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> "Tensor":
        """The sum over ``dim`` (an int, a tuple, or all: an empty tuple too); integers, bools and unsigned
        bytes in int64, or in ``dtype`` (an integer one wraps around as PyTorch's: 200 is -56 in int8)."""
        x = self if dtype is None else self.to(dtype)
        if x.dtype.kind == "u":     # NumPy would sum uint8 in uint64, PyTorch does in int64
            x = x.to(int64)
        return _in_dtype(_T(core.sum(x, _dims(dim), keepdim)), dtype)

    # all/any keep their input's shape over an empty dim (PyTorch reduces over nothing there, unlike sum)
    def all(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return _bytes_stay_bytes(self, _T(core.all(self, _axes(dim), keepdim)))

    def any(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return _bytes_stay_bytes(self, _T(core.any(self, _axes(dim), keepdim)))

    def mean(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        if self.dtype.kind != "f":
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a floating point "
                               f"or complex dtype. Got: {self.dtype}")
        return _T(core.mean(self, _dims(dim), keepdim))

    def _minmax(self, dim, keepdim, fn, argfn, kind):
        if dim is None:
            return _T(fn(self))     # ties share the gradient evenly, as PyTorch's max()/min()
        # The values are read at the returned indices, so the whole gradient goes to that index, as PyTorch's
        # max(dim)/min(dim) (amax/amin and TF's reduce_max share it between ties instead).
        idx = _T(argfn(self, dim, True))
        values = self.gather(dim, idx)
        if not keepdim:
            values, idx = values.squeeze(dim), idx.squeeze(dim)
        return _RETURN_TYPES[kind](values, idx)

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        if isinstance(dim, Tensor):
            return maximum(self, dim)
        return self._minmax(dim, keepdim, core.max, core.argmax, "max")

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        if isinstance(dim, Tensor):
            return minimum(self, dim)
        return self._minmax(dim, keepdim, core.min, core.argmin, "min")

    def gather(self, dim: int, index: "Tensor") -> "Tensor":
        return _T(core.take_along_axis(self, index, dim))

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> "Tensor":
        # Always stable: ties keep their order (``stable=True``'s promise, and what PyTorch's CPU sort gives)
        return self._order(dim, descending)

    def _order(self, dim: builtins.int, descending: bool, k: builtins.int | None = None) -> "Tensor":
        """The (first ``k``) indices that sort along ``dim``, stable, NaN counted as the largest value as in
        PyTorch: last ascending, first descending (the core's descending sort puts NaN last)."""
        if not descending or self.dtype.kind != "f":
            return _T(core.argsort(self, dim, descending, k))
        idx = _T(core.argsort(self, dim, True))
        # a second stable sort, on int64 NaN flags (the core reverses bools, which would not be stable), moves
        # the NaNs to the front in their order; it also picks the first k and checks k
        nan = self.isnan().to(int64).gather(dim, idx)
        return idx.gather(dim, _T(core.argsort(nan, dim, True, k)))

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> tuple:
        idx = self.argsort(dim, descending)
        return _RETURN_TYPES["sort"](self.gather(dim, idx), idx)

    def where(self, condition: Any, other: Any) -> "Tensor":
        """``torch.where(condition, self, other)``."""
        return where(condition, self, other)

    def scatter(self, dim: builtins.int, index: "Tensor", src: Any = None, value: Any = None, *,
                reduce: Any = None) -> "Tensor":
        """A copy with ``src`` (a tensor, read where ``index`` is, or a number) written at ``index`` along ``dim``:
        out[i][index[i][j]] = src[i][j] for dim 1.  Gradients: to self where nothing was written, to src from
        where it was.  An index that names one position twice with a tensor ``src`` raises NotImplementedError
        (PyTorch leaves which write wins unspecified)."""
        if reduce is not None:
            raise NotImplementedError(f"scatter: reduce={reduce!r} is not implemented in dualflow (see docs/compat.md)")
        if src is None:
            src = value
        if src is None:
            raise TypeError("scatter() missing 1 required argument: 'src' or 'value'")
        dim = dim % self.ndim
        hits = self._scattered(dim, index, ones(tuple(index.shape), dtype=self.dtype, device=self.device))
        written = hits > 0
        if not isinstance(src, Tensor):
            return where(written, tensor(src, dtype=self.dtype, device=self.device), self)
        if builtins.bool((hits > 1).any()):
            raise NotImplementedError("scatter: an index that writes one position twice with a tensor src is not "
                                      "implemented in dualflow (PyTorch leaves which write wins unspecified)")
        return where(written, self._scattered(dim, index, src), self)

    def scatter_add(self, dim: builtins.int, index: "Tensor", src: "Tensor") -> "Tensor":
        """self + the values of ``src`` summed at ``index`` along ``dim`` (repeated positions accumulate; they
        are summed before they meet self, so their rounding may differ from PyTorch's one-by-one adds)."""
        return self + self._scattered(dim % self.ndim, index, src)

    def _scattered(self, dim: builtins.int, index: "Tensor", src: "Tensor") -> "Tensor":
        """Zeros like self with src (its part of index's shape) added at index along dim."""
        if index.ndim != self.ndim or src.ndim != self.ndim:
            raise RuntimeError(f"scatter: index ({index.ndim}-D) and src ({src.ndim}-D) must have as many dimensions "
                               f"as self ({self.ndim}-D)")
        if src.dtype != self.dtype:
            raise RuntimeError(f"scatter(): Expected self.dtype to be equal to src.dtype (got {self.dtype} and "
                               f"{src.dtype})")
        part = src[tuple(slice(0, n) for n in index.shape)]
        # index may be shorter than self off ``dim``: scatter into that block, then pad it with zeros
        block = self[tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape))]
        spread = core.apply(core.ops.shape.TakeAlongAxisGrad(dim), core.cast(part, self.dtype), index, block)
        if tuple(block.shape) != tuple(self.shape):
            spread = core.pad(spread, [(0, n - b) for b, n in zip(block.shape, self.shape)], 0.0)
        return _T(spread)

    def index_add(self, dim: builtins.int, index: "Tensor", source: "Tensor", *, alpha: Any = 1) -> "Tensor":
        """self + alpha * source's slices added at ``index`` along ``dim`` (repeated indices accumulate; they are
        summed before they meet self, as in scatter_add)."""
        if index.ndim > 1:
            raise IndexError(f"index_add_(): Index is supposed to be a vector, got {index.ndim}-D")
        if source.dtype != self.dtype:
            raise RuntimeError(f"index_add_(): self ({self.dtype}) and source ({source.dtype}) must have the same "
                               f"scalar type")
        spread = _T(core.apply(core.ops.shape.TakeGrad(dim), source, index.reshape(-1), self))
        return self + spread if alpha == 1 else self.add(spread, alpha=alpha)

    def index_add_(self, dim: builtins.int, index: "Tensor", source: "Tensor", *, alpha: Any = 1) -> "Tensor":
        return self._inplace("index_add_", lambda x: x.index_add(dim, index, source, alpha=alpha))

    def scatter_(self, dim: builtins.int, index: "Tensor", src: Any = None, value: Any = None, *,
                 reduce: Any = None) -> "Tensor":
        return self._inplace("scatter_", lambda x: x.scatter(dim, index, src, value, reduce=reduce))

    def scatter_add_(self, dim: builtins.int, index: "Tensor", src: "Tensor") -> "Tensor":
        return self._inplace("scatter_add_", lambda x: x.scatter_add(dim, index, src))

    def index_select(self, dim: builtins.int, index: "Tensor") -> "Tensor":
        if index.ndim > 1:
            raise IndexError(f"index_select(): Index is supposed to be a vector, got {index.ndim}-D")
        return self[(slice(None),) * (dim % self.ndim) + (index.reshape(-1),)]

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> tuple:  # noqa: A002
        """The k largest (or smallest) values along ``dim`` and their indices, in order."""
        idx = self._order(dim, largest, k)
        return _RETURN_TYPES["topk"](self.gather(dim, idx), idx)

    def prod(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> "Tensor":
        """The product over ``dim`` (one dim, or all), integers and bools in int64; its gradient is ATen's
        (g * result / x, or the products of the others where a factor is zero)."""
        x = self if dtype is None else self.to(dtype)
        if isinstance(dim, (tuple, list)):
            raise TypeError("prod(): argument 'dim' must be int, not tuple")
        return _in_dtype(_T(core.prod(x, dim, keepdim)), dtype)

    def median(self, dim: Any = None, keepdim: bool = False) -> Any:
        """The lower median (the ((n - 1) // 2)-th smallest), NaN where a NaN is present; over ``dim``, the
        values and their indices (the first NaN's, where one is), as PyTorch's.  Without ``dim`` the gradient is
        shared evenly by the elements equal to the median, as ATen's; with it, it goes to the index."""
        return self._median(dim, keepdim, False)

    def nanmedian(self, dim: Any = None, keepdim: bool = False) -> Any:
        """``median`` of the values that are not NaN (NaN where all are)."""
        return self._median(dim, keepdim, True)

    def _median(self, dim: Any, keepdim: bool, skip_nan: bool) -> Any:
        name = "nanmedian" if skip_nan else "median"
        whole = dim is None
        x = self.reshape(-1) if whole else self
        d = 0 if whole else dim % builtins.max(x.ndim, 1)
        if x.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
        nan = x.isnan()
        order = x.argsort(d)                             # stable; NaN last
        if skip_nan:
            count = (~nan).sum(d, keepdim=True)
            k = ((count - 1).clamp_min(0)) // 2
        else:
            k = zeros_like(order.narrow(d, 0, 1)) + (x.shape[d] - 1) // 2
        idx = order.gather(d, k)
        if not skip_nan:
            # a slice holding NaN answers with its first NaN
            idx = where(nan.any(d, keepdim=True), nan.to(int64).argmax(d, keepdim=True), idx)
        if whole:
            value = x.gather(0, idx).reshape(())
            if self.dtype.kind != "f":      # integers keep their dtype and have no gradient to share
                return value
            # ATen's gradient: shared evenly by the elements equal to the median (the value itself unchanged)
            ties = self == value.detach()
            share = where(ties, self, zeros((), dtype=self.dtype, device=self.device)).sum() / ties.to(self.dtype).sum()
            spread = value.detach() + (share - share.detach())
            return where(value.isfinite(), spread, value)
        values = x.gather(d, idx)
        if not keepdim:
            values, idx = values.squeeze(d), idx.squeeze(d)
        return _RETURN_TYPES[name](values, idx)

    def amax(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return _T(core.max(self, _dims(dim), keepdim))

    def amin(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return _T(core.min(self, _dims(dim), keepdim))

    def argmax(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return _T(core.argmax(self, dim, keepdim))

    def argmin(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return _T(core.argmin(self, dim, keepdim))

    def var(self, dim: Any = None, unbiased: bool = True, keepdim: bool = False, *,
            correction: Any = None) -> "Tensor":
        """The variance over ``dim`` divided by N - correction (``unbiased``: correction 1, the default)."""
        d = _dims(dim)
        c = self - self.mean(d, keepdim=True)
        sq = (c * c).sum(d, keepdim=keepdim)
        correction = builtins.int(unbiased) if correction is None else correction
        dof = self.numel() // builtins.max(sq.numel(), 1) - correction
        if dof <= 0:
            # PyTorch divides by max(0, N - correction): inf, or NaN where the squares sum to 0 (0/0).
            warnings.warn("var(): degrees of freedom is <= 0. Correction should be strictly less than the reduction "
                          "factor (input numel divided by output numel).", UserWarning, stacklevel=2)
            dof = 0
        return sq / dof

    def std(self, dim: Any = None, unbiased: bool = True, keepdim: bool = False, *,
            correction: Any = None) -> "Tensor":
        # A constant input has std 0 and, as in PyTorch, gradient 0 (not sqrt's inf * 0 = NaN).
        return _T(core.ops.reduce.norm_sqrt(self.var(dim, unbiased, keepdim, correction=correction)))

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> "Tensor":
        if p == 1:
            return self.abs().sum(dim, keepdim)
        if p != "fro" and p != 2:
            from eager_api import linalg
            if isinstance(p, str):      # 'nuc', or an order matrix_norm refuses in its words
                return linalg.matrix_norm(self, p, (-2, -1) if dim is None else dim, keepdim)
            return linalg.vector_norm(self, p, dim, keepdim)
        # Gradient 0 at the zero vector, as PyTorch's (a plain sqrt would give NaN there).
        return _T(core.ops.reduce.norm_sqrt((self * self).sum(dim, keepdim)))

    # ----- shape ------------------------------------------------------------------
    def reshape(self, *shape: Any) -> "Tensor":
        return _T(core.reshape(self, _shape_args(shape)))

    def view(self, *shape: Any) -> "Tensor":
        if len(shape) == 1 and not isinstance(shape[0], (builtins.int, numpy.integer, tuple, list, Size)):
            raise NotImplementedError("Tensor.view(dtype) (reinterpreting the bits) is not supported; use .to(dtype)")
        out = self.reshape(*shape)
        if out._vc is not self._vc and self.numel():
            self._bad_view()
        return out

    def _bad_view(self) -> None:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one dimension "
                           "spans across two contiguous subspaces). Use .reshape(...) instead.")

    def view_as(self, other: "Tensor") -> "Tensor":
        return self.reshape(other.shape)

    def reshape_as(self, other: "Tensor") -> "Tensor":
        return self.reshape(other.shape)

    def flatten(self, start_dim: builtins.int = 0, end_dim: builtins.int = -1) -> "Tensor":
        n = self.ndim
        if n == 0:
            return self.reshape(1)
        s, e = start_dim % n, end_dim % n
        return self.reshape(tuple(self.shape[:s]) + (-1,) + tuple(self.shape[e + 1:]))

    def permute(self, *dims: Any) -> "Tensor":
        return _T(core.transpose(self, _shape_args(dims)))

    def transpose(self, dim0: builtins.int, dim1: builtins.int) -> "Tensor":
        perm = list(range(self.ndim))
        perm[dim0], perm[dim1] = perm[dim1], perm[dim0]
        return _T(core.transpose(self, perm))

    def t(self) -> "Tensor":
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.transpose(0, 1) if self.ndim == 2 else self

    def unsqueeze(self, dim: builtins.int) -> "Tensor":
        return _T(core.expand_dims(self, dim))

    def squeeze(self, dim: Any = None) -> "Tensor":
        if dim is not None and self.shape[dim] != 1:
            return self.reshape(self.shape)       # still a new view, as in PyTorch
        return _T(core.squeeze(self, dim))

    def narrow(self, dim: builtins.int, start: Any, length: builtins.int) -> "Tensor":
        """``length`` elements along ``dim`` from ``start`` (negative: counted from the end), a view; a range
        that does not fit raises as PyTorch's (a slice would silently clip it)."""
        d = dim % self.ndim
        n, start = self.shape[d], builtins.int(start)
        if not -n <= start <= n:
            raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
        if length < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        start %= builtins.max(n, 1)
        if start + length > n:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def select(self, dim: builtins.int, index: builtins.int) -> "Tensor":
        d = dim % self.ndim
        if not -self.shape[d] <= index < self.shape[d]:
            raise IndexError(f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
                             f"dimension {dim}")
        return self[(slice(None),) * d + (index,)]

    def unbind(self, dim: builtins.int = 0) -> tuple:
        return tuple(self.select(dim, i) for i in range(self.shape[dim]))

    def expand(self, *sizes: Any) -> "Tensor":
        sizes = _shape_args(sizes)
        lead = len(sizes) - self.ndim
        target = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        return _T(core.broadcast_to(self, target))

    def expand_as(self, other: "Tensor") -> "Tensor":
        return self.expand(*other.shape)

    def broadcast_to(self, size: Any) -> "Tensor":
        return self.expand(*_shape_args((size,)))

    def chunk(self, chunks: builtins.int, dim: builtins.int = 0) -> tuple:
        size = -(-self.shape[dim] // chunks)
        return self.split(size, dim)

    def unflatten(self, dim: builtins.int, sizes: Sequence[builtins.int]) -> "Tensor":
        d = dim % self.ndim
        return self.reshape(tuple(self.shape[:d]) + tuple(sizes) + tuple(self.shape[d + 1:]))

    def movedim(self, source: Any, destination: Any) -> "Tensor":
        src = (source,) if isinstance(source, builtins.int) else tuple(source)
        dst = (destination,) if isinstance(destination, builtins.int) else tuple(destination)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
                               f"contain the same number of dims as destination ({list(dst)} dims)")
        return self.permute(*_moved(self.ndim, src, dst))

    moveaxis = movedim

    def swapaxes(self, axis0: builtins.int, axis1: builtins.int) -> "Tensor":
        return self.transpose(axis0, axis1)

    swapdims = swapaxes

    def repeat(self, *sizes: Any) -> "Tensor":
        """Tiled ``sizes`` times along each dim (extra leading sizes add dims): broadcast copies of the tensor,
        so the gradient sums the copies, as PyTorch's does."""
        sizes = _shape_args(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                               "tensor")
        if builtins.any(r < 0 for r in sizes):
            raise RuntimeError(f"Trying to create tensor with negative dimension: {list(sizes)}")
        shape = (1,) * (len(sizes) - self.ndim) + tuple(self.shape)
        spread = self.reshape([v for n in shape for v in (1, n)]).expand(*[v for r, n in zip(sizes, shape)
                                                                           for v in (r, n)])
        return spread.reshape(tuple(r * n for r, n in zip(sizes, shape)))

    def tile(self, *dims: Any) -> "Tensor":
        dims = _shape_args(dims)
        return self.repeat((1,) * (self.ndim - len(dims)) + tuple(dims))

    def roll(self, shifts: Any, dims: Any = None) -> "Tensor":
        """A copy shifted along ``dims`` (the flattened tensor without them), values leaving one end entering at
        the other."""
        shifts = (shifts,) if isinstance(shifts, (builtins.int, numpy.integer)) else tuple(shifts)
        if dims is None:
            if len(shifts) != 1:
                raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
            return self.flatten().roll(shifts, 0).reshape(self.shape)
        dims = (dims,) if isinstance(dims, (builtins.int, numpy.integer)) else tuple(dims)
        if len(shifts) != len(dims):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
        out = self
        for k, d in zip(shifts, dims):
            n = out.shape[d]
            k = builtins.int(k) % n if n else 0
            if k:
                out = cat([out.narrow(d, n - k, k), out.narrow(d, 0, n - k)], d)
        return self.clone() if out is self else out

    def fliplr(self) -> "Tensor":
        if self.ndim < 2:
            raise RuntimeError("Input must be >= 2-d.")
        return self.flip(1)

    def flipud(self) -> "Tensor":
        if self.ndim < 1:
            raise RuntimeError("Input must be >= 1-d.")
        return self.flip(0)

    def rot90(self, k: builtins.int = 1, dims: Sequence[builtins.int] = (0, 1)) -> "Tensor":
        """Rotated by 90 degrees ``k`` times in the plane ``dims``, from the first towards the second."""
        if len(dims) != 2:
            raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
        if self.ndim < 2:
            raise RuntimeError(f"expected total dims >= 2, but got total dims = {self.ndim}")
        a, b = dims
        if a % self.ndim == b % self.ndim:
            raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {a} and dim1 = {b}")
        k %= 4
        if k == 1:
            return self.flip(b).transpose(a, b)
        if k == 2:
            return self.flip(a, b)
        if k == 3:
            return self.flip(a).transpose(a, b)
        return self.clone()

    def diag(self, diagonal: builtins.int = 0) -> "Tensor":
        """A vector's square matrix with it on the ``diagonal``-th diagonal, or a matrix's diagonal (a copy)."""
        k = builtins.int(diagonal)
        if self.ndim == 2:
            rows, cols = self.shape
            n = builtins.max(0, builtins.min(rows + builtins.min(k, 0), cols - builtins.max(k, 0)))
            i = arange(n, device=self.device)
            return self[i - builtins.min(k, 0), i + builtins.max(k, 0)]
        if self.ndim != 1:
            raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")
        n = self.shape[0]
        # Each value followed by n zeros, read n at a time: the values land on the diagonal (exact copies).
        square = _T(core.pad(self.reshape(n, 1), [(0, 0), (0, n)], 0.0)).reshape(-1)[:n * n].reshape(n, n)
        lo, hi = builtins.max(k, 0), builtins.max(-k, 0)
        return _T(core.pad(square, [(hi, lo), (lo, hi)], 0.0)) if k else square

    def trunc(self) -> "Tensor":
        """Rounded toward zero (-0.0 for a negative fraction, as C's trunc); gradient 0, as PyTorch's."""
        if self.dtype.kind != "f":
            return self.clone()
        return where(self < 0, self.ceil(), self.floor())

    fix = trunc

    def frac(self) -> "Tensor":
        if self.dtype.kind != "f":
            name = _ATEN_NAMES.get(self.dtype.name, self.dtype)
            raise NotImplementedError(f"\"frac_cpu\" not implemented for '{name}'")
        return self - self.trunc()

    def addcmul(self, tensor1: "Tensor", tensor2: "Tensor", *, value: Any = 1) -> "Tensor":
        """self + value * tensor1 * tensor2 with the last multiply and the add fused (one rounding), as ATen's CPU
        kernel computes it."""
        return _T(core.fma(tensor1 * value if value != 1 else tensor1, tensor2, self))

    def addcdiv(self, tensor1: "Tensor", tensor2: "Tensor", *, value: Any = 1) -> "Tensor":
        """self + value * tensor1 / tensor2, rounded in that order, as ATen's kernel."""
        if tensor1.dtype.kind in "biu" and tensor2.dtype.kind in "biu":
            raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future  release "
                               "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
                               "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))."
                               "to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for "
                               "float inputs. The future addcdiv behavior is just the latter implementation: (input "
                               "+ value * tensor1 / tensor2), for all dtypes.")
        return self + (tensor1 * value if value != 1 else tensor1) / tensor2

    def addcmul_(self, tensor1: "Tensor", tensor2: "Tensor", *, value: Any = 1) -> "Tensor":
        return self._inplace("addcmul_", lambda x: x.addcmul(tensor1, tensor2, value=value))

    def addcdiv_(self, tensor1: "Tensor", tensor2: "Tensor", *, value: Any = 1) -> "Tensor":
        return self._inplace("addcdiv_", lambda x: x.addcdiv(tensor1, tensor2, value=value))

    def outer(self, vec2: "Tensor") -> "Tensor":
        for name, v in (("self", self), ("vec2", vec2)):
            if v.ndim != 1:
                raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
        return self.reshape(-1, 1) * vec2

    ger = outer

    def nelement(self) -> builtins.int:
        return self.numel()

    def element_size(self) -> builtins.int:
        return self.dtype.itemsize

    def split(self, size: Any, dim: builtins.int = 0) -> tuple:
        """Views of ``size`` along ``dim`` (the last one shorter), or of each size in a list of sizes."""
        n = self.shape[dim]
        pre = (slice(None),) * (dim % self.ndim)
        if isinstance(size, (list, tuple)):
            if builtins.sum(size) != n:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                                   f"at dimension {dim}), but got split_sizes={list(size)}")
            starts = numpy.cumsum([0] + list(size))
            return tuple(self[pre + (slice(builtins.int(a), builtins.int(b)),)] for a, b in zip(starts, starts[1:]))
        return tuple(self[pre + (slice(i, i + size),)] for i in range(0, n, size))

    # ----- elementwise math -------------------------------------------------------
    def rsqrt(self):
        return 1.0 / self.sqrt()

    def atan2(self, other: Any) -> "Tensor":
        """The angle of (other, self): ``torch.atan2(input, other)``, integers promoted to the float dtype."""
        y, x = _floatify(self), _floatify(_as_tensor(other, self))
        if y.dtype != x.dtype:
            dt = _result_dtype(y.dtype, x.dtype)
            y, x = y.to(dt), x.to(dt)
        return _T(core.atan2(y, x))

    arctan2 = atan2

    def atan2_(self, other: Any) -> "Tensor":
        return self._inplace("atan2_", lambda x: x.atan2(other))

    def square(self):
        x = self.to(int64) if self.dtype == bool_ else self     # PyTorch squares bools as int64
        return x * x

    def isnan(self):
        return self != self

    def isinf(self):
        return self.abs() == builtins.float("inf") if self.dtype.kind == "f" else zeros_like(self, dtype=bool_)

    def isfinite(self):
        return self.abs() < builtins.float("inf") if self.dtype.kind == "f" else ones_like(self, dtype=bool_)

    def logical_not(self):
        return self == 0

    def clamp_min(self, min: Any) -> "Tensor":  # noqa: A002
        return self.clamp(min=min)

    def clamp_max(self, max: Any) -> "Tensor":  # noqa: A002
        return self.clamp(max=max)

    def logsumexp(self, dim: Any, keepdim: bool = False) -> "Tensor":
        return _T(core.logsumexp(_floatify(self), _dims(dim), keepdim))

    def cumsum(self, dim: builtins.int, dtype: Any = None) -> "Tensor":
        """Running sums along ``dim``; integers sum as int64 and float32 in float64, rounded once at each step,
        as PyTorch's CPU kernel accumulates them."""
        x = self if dtype is None else self.to(dtype)
        if x.dtype.kind in "biu":
            return _in_dtype(_T(core.cumsum(core.cast(x, int64), dim)), dtype)
        if x.dtype == float64:
            return _T(core.cumsum(x, dim))
        return _T(core.cast(core.cumsum(core.cast(x, float64), dim), x.dtype))

    def flip(self, *args: Any, dims: Any = None) -> "Tensor":
        """A copy with the order of ``dims`` reversed (not a view: PyTorch's flip copies)."""
        dims = _shape_args(args) if dims is None else ((dims,) if isinstance(dims, builtins.int) else tuple(dims))
        index = [slice(None)] * self.ndim
        for d in dims:
            index[d % self.ndim] = slice(None, None, -1)
        return _T(core.apply(_Copy(), core.getitem(self, tuple(index))))

    def tril(self, diagonal: builtins.int = 0) -> "Tensor":
        return self._band(numpy.tril, diagonal)

    def triu(self, diagonal: builtins.int = 0) -> "Tensor":
        return self._band(numpy.triu, diagonal)

    def _band(self, which: Any, diagonal: builtins.int) -> "Tensor":
        if self.ndim < 2:
            raise RuntimeError(f"{which.__name__}: input tensor must have at least 2 dimensions")
        keep = tensor(which(numpy.ones(self.shape[-2:], bool), diagonal), device=self.device)
        return where(keep, self, zeros((), dtype=self.dtype, device=self.device))

    def floor(self):
        return self.clone() if self.dtype.kind != "f" else _T(core.floor(self, zero_grad=True))

    def ceil(self):
        return self.clone() if self.dtype.kind != "f" else -(-self).floor()

    def round(self, decimals: builtins.int = 0):
        """Half to even; with ``decimals``, ATen's rint(x * 10**d) / 10**d (rint(x / 10**-d) * 10**-d below 0)."""
        if self.dtype.kind != "f":
            if decimals:
                raise NotImplementedError(f"round: decimals={decimals} on an integer tensor is not implemented "
                                          f"(got dtype {self.dtype})")
            return self.clone()
        if not decimals:
            return _T(core.round(self, zero_grad=True))
        scale = builtins.float(self.dtype.type(10.0 ** builtins.abs(decimals)))
        if decimals > 0:
            return _T(core.scalar(core.round(core.scalar(self, "mul", scale), zero_grad=True), "div", scale))
        return _T(core.scalar(core.round(core.scalar(self, "div", scale), zero_grad=True), "mul", scale))

    def abs(self):
        return _T(core.abs(self))

    def neg(self):
        return -self

    def relu(self):
        return _T(core.relu(self, select_grad=True))      # PyTorch's gradient rule

    def sigmoid(self):
        return _T(core.sigmoid(self))

    def tanh(self):
        return _T(core.tanh(self))

    def sign(self):
        out = _T(core.sign(self))
        if self.dtype.kind != "f":
            return out
        # PyTorch's sign of NaN is 0 (NumPy's, the core's, is NaN)
        return where(self.isnan(), zeros((), dtype=self.dtype, device=self.device), out)

    sgn = sign      # the same for real tensors

    def pow(self, e):
        return self ** e

    def softmax(self, dim: builtins.int) -> "Tensor":
        return _T(core.softmax(self, dim))

    def log_softmax(self, dim: builtins.int) -> "Tensor":
        return _T(core.log_softmax(self, dim))

    def clamp(self, min: Any = None, max: Any = None) -> "Tensor":
        # PyTorch's clamp passes the whole gradient where min <= x <= max, bounds included: the extrema's
        # TensorFlow tie rule (to x), not torch.maximum's halves.
        out = self
        if min is not None:
            out = _T(core.maximum(*_coerce(out, min)))
        if max is not None:
            out = _T(core.minimum(*_coerce(out, max)))
        return out

    clip = clamp

    def matmul(self, other):
        return matmul(self, other)

    # The linear-algebra methods are the torch functions of eager_api.linalg (imported here: it imports this module)
    def inverse(self) -> "Tensor":
        from eager_api import linalg
        return linalg.inv(self)

    def det(self) -> "Tensor":
        from eager_api import linalg
        return linalg.det(self)

    def logdet(self) -> "Tensor":
        from eager_api import linalg
        return linalg._logdet(self)

    def slogdet(self) -> Any:
        from eager_api import linalg
        return linalg._torch_slogdet(self)

    def cholesky(self, upper: bool = False) -> "Tensor":
        from eager_api import linalg
        return linalg._torch_cholesky(self, upper)

    def cholesky_solve(self, input2: "Tensor", upper: bool = False) -> "Tensor":
        from eager_api import linalg
        return linalg._cholesky_solve(self, input2, upper)

    def cholesky_inverse(self, upper: bool = False) -> "Tensor":
        from eager_api import linalg
        return linalg._cholesky_inverse(self, upper)

    def matrix_power(self, n: builtins.int) -> "Tensor":
        from eager_api import linalg
        return linalg.matrix_power(self, n)

    def svd(self, some: bool = True, compute_uv: bool = True) -> Any:
        from eager_api import linalg
        return linalg._torch_svd(self, some, compute_uv)

    def qr(self, some: bool = True) -> Any:
        from eager_api import linalg
        return linalg._torch_qr(self, some)

    def triangular_solve(self, A: "Tensor", upper: bool = True, transpose: bool = False,
                         unitriangular: bool = False) -> Any:
        from eager_api import linalg
        return linalg._triangular_solve(self, A, upper, transpose, unitriangular)

    def add(self, other, alpha: Any = 1):
        if alpha == 1:
            return self + other
        return self._scaled_add(other, alpha, "add")

    def sub(self, other, alpha: Any = 1):
        if alpha == 1:
            return self - other
        return self._scaled_add(other, -alpha, "sub")

    def _scaled_add(self, other: Any, alpha: Any, name: str) -> "Tensor":
        """``self + alpha * other`` as PyTorch's ``add``/``sub`` with ``alpha``: one fused multiply-add per
        float element (``core.add_scaled``), the number ``other`` as a tensor of the result type."""
        a, b = _coerce(self, other)
        if a.dtype.kind != "f" and isinstance(alpha, (builtins.float, numpy.floating)):
            raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
        if a.dtype == bool_:
            raise RuntimeError(f"Boolean alpha only supported for Boolean results, got {name} on bool tensors")
        return _T(core.add_scaled(a, b, alpha))

    def mul(self, other):
        return self * other

    def div(self, other, *, rounding_mode: str | None = None):
        """True division; ``rounding_mode`` 'floor' is ``floor_divide`` (Python's rules), 'trunc' rounds toward
        zero (C's division for integers, trunc(x / y) for floats), as ATen's."""
        if rounding_mode is None:
            return self / other
        if rounding_mode == "floor":
            return self // other
        if rounding_mode != "trunc":
            raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                               f"'{rounding_mode}'")
        a, b = _coerce(self, other)
        if a.dtype.kind == "f":
            return (a / b).trunc()
        return (a - _T(core.fmod(a, b))) // b          # exact: the remainder taken off first

    divide = div

    def true_divide(self, other):
        return self / other

    def multiply(self, other):
        return self * other

    def subtract(self, other, alpha: Any = 1):
        return self.sub(other, alpha)

    def logical_and(self, other: "Tensor") -> "Tensor":
        return (self != 0) & (_as_tensor(other, self) != 0)

    def logical_or(self, other: "Tensor") -> "Tensor":
        return (self != 0) | (_as_tensor(other, self) != 0)

    def logical_xor(self, other: "Tensor") -> "Tensor":
        return (self != 0) != (_as_tensor(other, self) != 0)

    def ravel(self) -> "Tensor":
        return self.reshape(-1)

    def dot(self, other: "Tensor") -> "Tensor":
        """The inner product of two vectors of one dtype, as PyTorch's (a matmul of them)."""
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D tensors")
        if self.dtype != other.dtype:
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                               f"{_ATEN_NAMES[str(self.dtype)]} and {_ATEN_NAMES[str(other.dtype)]}")
        if self.shape[0] != other.shape[0]:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{self.shape[0]}] and src "
                               f"[{other.shape[0]}] to have the same number of elements, but got {self.shape[0]} and "
                               f"{other.shape[0]} elements respectively")
        return matmul(self, other)

    def mv(self, vec: "Tensor") -> "Tensor":
        if self.ndim != 2 or vec.ndim != 1:
            raise RuntimeError(f"vector + matrix @ vector expected, got {self.ndim}, {vec.ndim}")
        return matmul(self, vec)

    def diagonal(self, offset: builtins.int = 0, dim1: builtins.int = 0, dim2: builtins.int = 1) -> "Tensor":
        """The ``offset``-th diagonal of the planes (dim1, dim2), as the last dim (a copy here, a view in
        PyTorch)."""
        d1, d2 = dim1 % self.ndim, dim2 % self.ndim
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        rest = [d for d in range(self.ndim) if d not in (d1, d2)]
        planes = self.permute(rest + [d1, d2])
        rows, cols = planes.shape[-2:]
        k = builtins.int(offset)
        n = builtins.max(0, builtins.min(rows + builtins.min(k, 0), cols - builtins.max(k, 0)))
        i = arange(n, device=self.device)
        return planes[..., i - builtins.min(k, 0), i + builtins.max(k, 0)]

    def nan_to_num(self, nan: Any = 0.0, posinf: Any = None, neginf: Any = None) -> "Tensor":
        """NaN, +inf and -inf replaced (by default 0 and the dtype's largest and smallest finite values)."""
        if self.dtype.kind != "f":
            return self.clone()
        info = numpy.finfo(self.dtype)
        out = where(self.isnan(), _as_tensor(builtins.float(nan), self), self)
        out = where(out == builtins.float("inf"), _as_tensor(info.max if posinf is None else posinf, self), out)
        return where(out == -builtins.float("inf"), _as_tensor(info.min if neginf is None else neginf, self), out)

    def repeat_interleave(self, repeats: Any, dim: Any = None, *, output_size: Any = None) -> "Tensor":
        """Each element (or slice along ``dim``; the flattened tensor without one) repeated ``repeats`` times
        (a number, or one count per element), in place: a gather by the repeated indices."""
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else dim % x.ndim
        counts = repeats.tolist() if isinstance(repeats, Tensor) else repeats
        n = x.shape[d]
        counts = [counts] * n if isinstance(counts, (builtins.int, numpy.integer)) else list(counts)
        if len(counts) == 1 and n != 1:
            counts = counts * n
        if len(counts) != n:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                               f"{len(counts)} and input.size({d}) = {n}")
        if builtins.any(c < 0 for c in counts):
            raise RuntimeError("repeats can not be negative")
        index = tensor(numpy.repeat(numpy.arange(n), counts).astype(numpy.int64), device=x.device)
        return x.index_select(d, index)

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    # ----- in-place ---------------------------------------------------------------
    # Every in-place op computes its result out of place and hands it to core.inplace.assign, which writes it
    # into this tensor's buffer (so views see it) and gives autograd the new value (see core/inplace.py).
    def _inplace(self, name: str, compute: Any) -> "Tensor":
        start = inplace.begin()
        op_input = inplace.operand(self)
        return inplace.assign(self, compute(op_input), name, start, op_input)

    def add_(self, other: Any, alpha: Any = 1) -> "Tensor":
        return self._inplace("add_", lambda x: x.add(other, alpha))

    def sub_(self, other: Any, alpha: Any = 1) -> "Tensor":
        return self._inplace("sub_", lambda x: x.sub(other, alpha))

    def mul_(self, other: Any) -> "Tensor":
        return self._inplace("mul_", lambda x: x * other)

    def div_(self, other: Any) -> "Tensor":
        return self._inplace("div_", lambda x: x / other)

    def clamp_(self, min: Any = None, max: Any = None) -> "Tensor":
        return self._inplace("clamp_", lambda x: x.clamp(min, max))

    def tril_(self, diagonal: builtins.int = 0) -> "Tensor":
        return self._inplace("tril_", lambda x: x.tril(diagonal))

    def triu_(self, diagonal: builtins.int = 0) -> "Tensor":
        return self._inplace("triu_", lambda x: x.triu(diagonal))

    def masked_fill_(self, mask: "Tensor", value: Any) -> "Tensor":
        return self._inplace("masked_fill_", lambda x: x.masked_fill(mask, value))

    def pow_(self, exponent: Any) -> "Tensor":
        return self._inplace("pow_", lambda x: x.pow(exponent))

    def logical_and_(self, other: Any) -> "Tensor":
        return self._inplace("logical_and_", lambda x: x & other)

    def logical_or_(self, other: Any) -> "Tensor":
        return self._inplace("logical_or_", lambda x: x | other)

    def remainder_(self, other: Any) -> "Tensor":
        return self._inplace("remainder_", lambda x: x % other)

    def floor_divide_(self, other: Any) -> "Tensor":
        return self._inplace("floor_divide_", lambda x: x // other)

    def clamp_min_(self, min: Any) -> "Tensor":  # noqa: A002
        return self._inplace("clamp_min_", lambda x: x.clamp(min=min))

    def clamp_max_(self, max: Any) -> "Tensor":  # noqa: A002
        return self._inplace("clamp_max_", lambda x: x.clamp(max=max))

    def round_(self, decimals: builtins.int = 0) -> "Tensor":
        return self._inplace("round_", lambda x: x.round(decimals))

    # Augmented assignment writes in place, as in PyTorch: ``x += y`` is ``x.add_(y)``, so every other reference
    # to x and every view of it sees the change, and a leaf that requires grad refuses it.  Without these
    # Python ran ``x = x + y``: the manual SGD step of PyTorch's tutorials (``for p in model.parameters():
    # p -= lr * p.grad`` under no_grad) rebound a loop variable and left the model untrained.
    __iadd__, __isub__, __imul__, __itruediv__, __ipow__ = add_, sub_, mul_, div_, pow_
    __imod__, __ifloordiv__, __iand__, __ior__ = remainder_, floor_divide_, logical_and_, logical_or_
    __iand__, __ior__ = logical_and_, logical_or_

    # Shape-changing in-place ops (unsqueeze_, squeeze_, t_, transpose_) write no data: this tensor becomes a
    # view, with the new shape, of its own former identity, which stays behind (unseen) as the base that views
    # made earlier derive from (see core.inplace.view_root); a view keeps deriving from its base.
    def _restride(self, name: str, op: core.Op) -> "Tensor":
        cur = self._current()
        if cur.requires_grad and cur.node is None and is_grad_enabled():
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        new = core.apply(op, cur)
        if self._view is None:
            former = Tensor._wrap(cur.array, cur.shape, cur.dtype, cur.device, cur.node, cur.index,
                                  cur.requires_grad, self._vc)
            self._view = (former, (op,))
        else:
            base, chain = self._view
            self._view = (base, chain + (op,))
        self.array, self.shape, self._view_version = new.array, new.shape, self._vc[0]
        if new.requires_grad:
            self.node, self.index = new.node, new.index
        return self

    def unsqueeze_(self, dim: builtins.int) -> "Tensor":
        return self._restride("unsqueeze_", _shape.ExpandDims((dim,)))

    def squeeze_(self, dim: Any = None) -> "Tensor":
        axes = tuple(i for i, s in enumerate(self.shape) if s == 1) if dim is None else \
            ((dim,) if self.shape[dim] == 1 else ())
        return self._restride("squeeze_", _shape.Squeeze(axes))

    def transpose_(self, dim0: builtins.int, dim1: builtins.int) -> "Tensor":
        perm = list(range(self.ndim))
        perm[dim0], perm[dim1] = perm[dim1], perm[dim0]
        return self._restride("transpose_", _shape.Transpose(perm))

    def t_(self) -> "Tensor":
        if self.ndim > 2:
            raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.transpose_(0, 1) if self.ndim == 2 else self

    def copy_(self, src: Any) -> "Tensor":
        start = inplace.begin()
        src = _as_tensor(src, self)
        if src.device != self.device:
            src = src.to(self.device)
        return inplace.assign(self, _T(core.broadcast_to(core.cast(src, self.dtype), self.shape)), "copy_", start,
                              overwrite=True)

    def fill_(self, value: Any) -> "Tensor":
        start = inplace.begin()
        if isinstance(value, Tensor):
            if value.numel() != 1:
                raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                                   f"{value.ndim} dimensions.")
            if not value.requires_grad:
                value = value.item()
            else:
                value = _T(core.broadcast_to(core.cast(value.reshape(()), self.dtype), self.shape))
        return inplace.assign(self, value, "fill_", start, overwrite=True)

    def zero_(self) -> "Tensor":
        return self.fill_(0)

    def uniform_(self, a: builtins.float = 0.0, b: builtins.float = 1.0, generator: Any = None) -> "Tensor":
        gen = (generator or core.random.default_generator).get(self.device)
        return self._fill_random(gen.random(self.shape, dtype=self.dtype) * (b - a) + a)

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    def take_along_dim(self, indices: "Tensor", dim: Any = None) -> "Tensor":
        """``gather`` with ``indices`` and this tensor broadcast against each other off ``dim`` (both flattened
        with ``dim`` None), as torch.take_along_dim."""
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        d = dim % self.ndim
        if indices.ndim != self.ndim:
            raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of "
                               f"dimensions, but got {self.ndim} dimensions for input, and {indices.ndim} dimensions "
                               "for indices")
        shape = list(numpy.broadcast_shapes(*[tuple(1 if i == d else n for i, n in enumerate(t.shape))
                                              for t in (self, indices)]))
        x = self.expand(*[self.shape[i] if i == d else n for i, n in enumerate(shape)])
        idx = indices.expand(*[indices.shape[i] if i == d else n for i, n in enumerate(shape)])
        return x.gather(d, idx)

    def isin(self, test_elements: Any, *, assume_unique: bool = False, invert: bool = False) -> "Tensor":
        """Whether each element equals any of ``test_elements``."""
        test = _as_tensor(test_elements, self).reshape(-1)
        hit = (self.unsqueeze(-1) == test).any(-1) if test.numel() else zeros_like(self, dtype=bool_)
        return hit.logical_not() if invert else hit

    def deg2rad(self) -> "Tensor":
        return _floatify(self) * numpy.float32(math.pi / 180.0) if self.dtype != float64 else self * (math.pi / 180)

    def rad2deg(self) -> "Tensor":
        return _floatify(self) * numpy.float32(180.0 / math.pi) if self.dtype != float64 else self * (180 / math.pi)

    def logit(self, eps: Any = None) -> "Tensor":
        """log(x / (1 - x)), x clamped to [eps, 1 - eps] first when ``eps`` is given, as ATen's."""
        x = _floatify(self)
        if eps is not None:
            x = x.clamp(eps, 1 - eps)
        return (x / (1 - x)).log()

    def xlogy(self, other: Any) -> "Tensor":
        """x * log(y), and 0 where x is 0 (unless y is NaN), as ATen's; no 0 * inf in the gradient either."""
        x, y = _coerce(_floatify(self), other)
        zero = (x == 0) & ~y.isnan()
        safe = where(zero, ones_like(y), y)
        return where(zero, zeros_like(x), x * safe.log())

    def quantile(self, q: Any, dim: Any = None, keepdim: bool = False, *, interpolation: str = "linear") -> "Tensor":
        """The ``q``-th quantiles along ``dim`` (all elements with None), as ATen computes them: ranks q * (n - 1)
        into the sorted values, then lerp between the neighbours (or the lower, higher, nearest one, or their
        midpoint); NaN where the slice holds one.  A tensor ``q`` puts its dim first."""
        return self._quantile(q, dim, keepdim, interpolation, False)

    def nanquantile(self, q: Any, dim: Any = None, keepdim: bool = False, *,
                    interpolation: str = "linear") -> "Tensor":
        """``quantile`` of the values that are not NaN (NaN where a slice has none)."""
        return self._quantile(q, dim, keepdim, interpolation, True)

    def _quantile(self, q: Any, dim: Any, keepdim: bool, interpolation: str, skip_nan: bool) -> "Tensor":
        fn = "nanquantile" if skip_nan else "quantile"
        if self.dtype.kind != "f":
            raise RuntimeError(f"{fn}() input tensor must be either float or double dtype")
        modes = ("linear", "lower", "higher", "midpoint", "nearest")
        if interpolation not in modes:
            raise RuntimeError(f"{fn}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                               f"Got {interpolation}")
        scalar_q = not isinstance(q, Tensor)
        qt = _as_tensor(builtins.float(q) if scalar_q else q, self)
        if qt.ndim > 1:
            raise RuntimeError(f"{fn}() q must be a scalar or 1D tensor")
        if qt.dtype != self.dtype:
            raise RuntimeError(f"{fn}() q tensor must be same dtype as the input tensor")
        if builtins.bool(((qt < 0) | (qt > 1)).any()):
            raise RuntimeError(f"{fn}() q must be in the range [0, 1] but got {q}" if scalar_q
                               else f"{fn}() q values must be in the range [0, 1]")
        x = self.reshape(-1) if dim is None else self.movedim(dim, -1)
        values = x.sort(-1).values                      # NaN last
        n = values.shape[-1]
        if n == 0:
            raise IndexError(f"{fn}() input tensor cannot be empty")
        nan = values.isnan()
        if skip_nan:
            last = (~nan).sum(-1, keepdim=True).to(self.dtype) - 1
        else:       # a slice holding a NaN takes its last rank: the NaN sorted there
            last = full((1,) * values.ndim, n - 1, dtype=self.dtype)
        ranks = qt.reshape(1) * last if scalar_q else qt * last                      # (..., nq)
        if not skip_nan:
            ranks = where(nan.any(-1, keepdim=True), last.expand(*ranks.shape), ranks)
        if interpolation in ("lower", "higher", "nearest"):
            ranks = {"lower": ranks.floor(), "higher": ranks.ceil(), "nearest": ranks.round()}[interpolation]
        below_at = ranks.clamp(min=0).to(int64)
        below = values.gather(-1, below_at.expand(*values.shape[:-1], below_at.shape[-1]))
        if interpolation in ("linear", "midpoint"):
            above_at = ranks.ceil().clamp(min=0).to(int64)
            above = values.gather(-1, above_at.expand(*values.shape[:-1], above_at.shape[-1]))
            weights = full_like(ranks, 0.5) if interpolation == "midpoint" else ranks - below_at.to(self.dtype)
            below = below.lerp(above, weights.expand(*below.shape))
        if skip_nan:        # a slice with no value at all
            below = where(last < 0, full_like(below, builtins.float("nan")), below)
        out = below.movedim(-1, 0)                      # q's dim first, as PyTorch's
        if keepdim:
            out = out.reshape(out.shape[0], *[1] * self.ndim) if dim is None else out.unsqueeze(dim % self.ndim + 1)
        return out[0] if scalar_q else out

    def searchsorted(self, values: Any, *, out_int32: bool = False, right: bool = False, side: Any = None,
                     sorter: Any = None) -> "Tensor":
        """For each value, the index in this sorted tensor (its last dim, rows matched to ``values``' leading
        dims) where it would go: before equal entries, or after them with ``right``."""
        if sorter is not None:
            raise NotImplementedError("searchsorted: sorter is not implemented in dualflow")
        if side is not None:
            right = side == "right"
        seq = self.detach().numpy()
        vals = _as_tensor(values, self).detach().numpy()
        how = "right" if right else "left"
        if seq.ndim == 1:
            out = numpy.searchsorted(seq, vals, side=how)
        else:
            if seq.shape[:-1] != vals.shape[:-1]:
                raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                                   f"dimensions of boundaries tensor and input value tensor must match, but we got "
                                   f"boundaries tensor {list(seq.shape)} and input value tensor {list(vals.shape)}")
            rows = seq.reshape(-1, seq.shape[-1])
            out = numpy.stack([numpy.searchsorted(r, v, side=how) for r, v in
                               zip(rows, vals.reshape(-1, vals.shape[-1]))]).reshape(vals.shape)
        return tensor(numpy.asarray(out, dtype=numpy.int32 if out_int32 else numpy.int64), device=self.device)

    def bernoulli(self, p: Any = None, *, generator: Any = None) -> "Tensor":
        prob = self if p is None else _as_tensor(p, self)
        if self.dtype.kind != "f" and p is None:
            raise RuntimeError(f"bernoulli_tensor_cpu_self_ not implemented for '{_ATEN_NAMES[str(self.dtype)]}'")
        with core.grad_mode(False):
            prob = prob.detach()
            if builtins.bool(((prob < 0) | (prob > 1)).any()):
                raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
            draw = rand(*self.shape, dtype=float64, device=self.device, generator=generator)
            return (draw < prob.to(float64)).to(self.dtype)

    def multinomial(self, num_samples: builtins.int, replacement: bool = False, *, generator: Any = None) -> "Tensor":
        if self.ndim not in (1, 2):
            raise RuntimeError("prob_dist must be 1 or 2 dim")
        if self.dtype.kind != "f":
            raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                               f"{_ATEN_NAMES[str(self.dtype)]}")
        n = self.shape[-1]
        if num_samples <= 0:
            raise RuntimeError("cannot sample n_sample <= 0 samples")
        if not replacement and num_samples > n:
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        rows = self.detach().numpy().reshape(-1, n).astype(numpy.float64)
        if (rows < 0).any() or not numpy.isfinite(rows).all():
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if (rows.sum(1) <= 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        gen = (generator or core.random.default_generator).get(self.device)
        if replacement:
            out = numpy.stack([gen.choice(n, num_samples, p=r / r.sum()) for r in rows])
        else:
            # ATen's draw without replacement: the largest w / Exp(1) keys, so once the positive weights are
            # used up the zero-weight classes follow (lowest index first) rather than an error.
            keys = rows / gen.exponential(size=rows.shape)
            out = numpy.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
        return tensor(out.reshape(self.shape[:-1] + (num_samples,)).astype(numpy.int64), device=self.device)

    def normal_(self, mean: builtins.float = 0.0, std: builtins.float = 1.0, generator: Any = None) -> "Tensor":
        gen = (generator or core.random.default_generator).get(self.device)
        return self._fill_random(gen.standard_normal(self.shape, dtype=self.dtype) * std + mean)

    def _fill_random(self, arr: Any) -> "Tensor":
        start = inplace.begin()
        return inplace.assign(self, Tensor._wrap(arr, self.shape, arr.dtype, self.device), "random fill", start)

    # ----- selections, counts and running products -----------------------------------
    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """The indices of the nonzero elements, one row each in row-major order (int64, (count, ndim)); with
        ``as_tuple`` one index tensor per dim (a 0-D tensor counts as 1-D there, as PyTorch's)."""
        if not as_tuple:
            return _T(core.nonzero(self))
        x = self.reshape(1) if self.ndim == 0 else self
        return tuple(_T(core.nonzero(x)).unbind(1))

    def masked_select(self, mask: "Tensor") -> "Tensor":
        """The elements where ``mask`` is True (both broadcast), as a 1-D tensor; the gradient flows back to them."""
        if not isinstance(mask, Tensor) or mask.dtype != bool_:
            raise RuntimeError("masked_select: expected BoolTensor for mask")
        try:
            shape = numpy.broadcast_shapes(tuple(self.shape), tuple(mask.shape))
        except ValueError:
            raise RuntimeError(f"masked_select: the mask of shape {list(mask.shape)} does not broadcast with the "
                               f"input's shape {list(self.shape)}") from None
        return self.broadcast_to(shape)[mask.broadcast_to(shape)]

    def isclose(self, other: "Tensor", rtol: builtins.float = 1e-05, atol: builtins.float = 1e-08,
                equal_nan: bool = False) -> "Tensor":
        """|self - other| <= atol + |rtol * other| (finite errors only), or equal, as ATen computes it: in the
        tensors' dtype (bools as the default float), NaNs equal only with ``equal_nan``."""
        _require_tensor("isclose", "other", other)
        if self.dtype != other.dtype:
            raise RuntimeError(f"{_ATEN_NAMES[str(self.dtype)]} did not match {_ATEN_NAMES[str(other.dtype)]}")
        if rtol < 0:
            raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
        if atol < 0:
            raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
        close = self == other
        if equal_nan and self.dtype.kind == "f":
            close = close | (self.isnan() & other.isnan())
        if rtol == 0 and atol == 0:
            return close
        a, b = (t.to(get_default_dtype()) if t.dtype == bool_ else t for t in (self, other))
        allowed = (b * rtol).abs() + atol
        actual = (a - b).abs()
        return close | (actual.isfinite() & (actual <= allowed))

    def allclose(self, other: "Tensor", rtol: builtins.float = 1e-05, atol: builtins.float = 1e-08,
                 equal_nan: bool = False) -> bool:
        """Whether ``isclose`` holds everywhere (its dtype and tensor checks included)."""
        return builtins.bool(self.isclose(other, rtol, atol, equal_nan).all())

    def count_nonzero(self, dim: Any = None) -> "Tensor":
        """How many elements are not zero, over ``dim`` (an int, a tuple, or all): int64."""
        return (self != 0).sum(dim)

    def trace(self) -> "Tensor":
        """The sum of a matrix's main diagonal; float32 summed in float64 as ATen's CPU kernel, integers in int64."""
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {self.ndim}")
        d = self.diag()
        return d.sum() if d.dtype != float32 else d.to(float64).sum().to(float32)

    def diff(self, n: builtins.int = 1, dim: builtins.int = -1, prepend: "Tensor | None" = None,
             append: "Tensor | None" = None) -> "Tensor":
        """The n-th forward difference along ``dim`` (after ``prepend`` and ``append`` are joined there); bools
        differ by exclusive or, as PyTorch's."""
        if self.ndim == 0:
            raise RuntimeError("diff expects input to be at least one-dimensional")
        if n < 0:
            raise RuntimeError(f"order must be non-negative but got {n}")
        if n == 0:      # ATen returns the input itself, prepend and append unused
            return self
        d = dim % self.ndim
        for name, t in (("prepend", prepend), ("append", append)):
            if t is None:
                continue
            _require_tensor("diff", name, t)
            if t.ndim != self.ndim:
                raise RuntimeError("diff expects prepend or append to be the same dimension as input")
            for i, (a, b) in enumerate(zip(self.shape, t.shape)):
                if i != d and a != b:
                    raise RuntimeError(f"diff expects the shape of tensor to prepend or append to match that of "
                                       f"input except along the differencing dimension; input.size({i}) = {a}, "
                                       f"but got tensor.size({i}) = {b}")
        x = cat([t for t in (prepend, self, append) if t is not None], d)
        for _ in range(builtins.min(n, x.shape[d])):
            length = x.shape[d] - 1
            later, earlier = x.narrow(d, 1, length), x.narrow(d, 0, length)
            x = later != earlier if x.dtype == bool_ else later - earlier
        return x

    def nansum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> "Tensor":
        """``sum`` with NaNs counted as zero (their gradient is zero)."""
        x = self if dtype is None else self.to(dtype)
        if x.dtype.kind == "f":
            x = where(x.isnan(), zeros((), dtype=x.dtype, device=x.device), x)
        return x.sum(dim, keepdim, dtype)

    def nanmean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> "Tensor":
        """The mean of the values that are not NaN (ATen's nansum over their count: NaN where all are)."""
        if self.dtype.kind != "f":
            raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                               f"{_ATEN_NAMES[str(self.dtype)]}")
        return self.nansum(dim, keepdim, dtype=dtype) / (~self.isnan()).sum(dim, keepdim)

    def hypot(self, other: "Tensor") -> "Tensor":
        _require_tensor("hypot", "other", other)
        a, b = _coerce(self, other)
        return _T(core.hypot(a, b))

    def hypot_(self, other: "Tensor") -> "Tensor":
        return self._inplace("hypot_", lambda x: x.hypot(other))

    def logaddexp(self, other: "Tensor") -> "Tensor":
        _require_tensor("logaddexp", "other", other)
        a, b = _coerce(self, other)
        return _T(core.logaddexp(a, b))

    def addmm(self, mat1: "Tensor", mat2: "Tensor", *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        """beta * self + alpha * (mat1 @ mat2), self broadcast; with beta 0 self is ignored (its NaNs too)."""
        for name, m in (("mat1", mat1), ("mat2", mat2)):
            if m.ndim != 2:
                raise RuntimeError(f"{name} must be a matrix, got {m.ndim}-D tensor")
        if mat1.shape[1] != mat2.shape[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x{mat1.shape[1]} and "
                               f"{mat2.shape[0]}x{mat2.shape[1]})")
        return self._scaled_product(matmul(mat1, mat2), beta, alpha)

    def baddbmm(self, batch1: "Tensor", batch2: "Tensor", *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        """beta * self + alpha * (batch1 @ batch2) for 3-D batches, self broadcast; beta 0 ignores self."""
        for name, m in (("batch1", batch1), ("batch2", batch2)):
            if m.ndim != 3:
                raise RuntimeError(f"{name} must be a 3D tensor")
        if batch1.shape[0] != batch2.shape[0] or batch1.shape[2] != batch2.shape[1]:
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{batch1.shape[0]}, {batch1.shape[2]}] but got: [{batch2.shape[0]}, "
                               f"{batch2.shape[1]}].")
        return self._scaled_product(matmul(batch1, batch2), beta, alpha)

    def addmm_(self, mat1: "Tensor", mat2: "Tensor", *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        return self._inplace("addmm_", lambda x: x.addmm(mat1, mat2, beta=beta, alpha=alpha))

    def baddbmm_(self, batch1: "Tensor", batch2: "Tensor", *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        return self._inplace("baddbmm_", lambda x: x.baddbmm(batch1, batch2, beta=beta, alpha=alpha))

    def _scaled_product(self, product: "Tensor", beta: Any, alpha: Any) -> "Tensor":
        """beta * self + alpha * product in the product's shape (addmm, baddbmm)."""
        if alpha != 1:
            product = product * alpha
        if beta == 0:
            return product
        out = product + (self if beta == 1 else self * beta)
        if tuple(out.shape) != tuple(product.shape):
            raise RuntimeError(f"The input of shape {list(self.shape)} does not broadcast to the product's shape "
                               f"{list(product.shape)}")
        return out

    def aminmax(self, *, dim: Any = None, keepdim: bool = False) -> tuple:
        """(min, max) over ``dim`` or all; an empty reduction raises as PyTorch's."""
        if dim is None and self.numel() == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                               "identity.")
        if dim is not None and self.ndim and self.shape[dim] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {dim % self.ndim} to have non-zero size.")
        return _RETURN_TYPES["aminmax"](self.amin(dim, keepdim), self.amax(dim, keepdim))

    def cumprod(self, dim: builtins.int, *, dtype: Any = None) -> "Tensor":
        """Running products along ``dim``; integers multiply as int64 and float32 in float64, rounded once at
        each step, as PyTorch's CPU kernel accumulates them.  The gradient is ATen's, zeros included."""
        x = self if dtype is None else self.to(dtype)
        return _in_dtype(_T(core.cumprod(core.cast(x, int64) if x.dtype.kind in "biu" else x, dim)), dtype)

    def cumprod_(self, dim: builtins.int, *, dtype: Any = None) -> "Tensor":
        return self._inplace("cumprod_", lambda x: x.cumprod(dim, dtype=dtype))

    def unique(self, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
               return_counts: bool = False, dim: Any = None) -> Any:
        """The distinct values in ascending order (PyTorch's CPU kernel sorts whatever ``sorted`` says), with
        the index of each element's value and each value's count when asked; NaNs are all distinct.  No
        gradient."""
        if dim is not None:
            raise NotImplementedError("unique: dim is not implemented in dualflow (only dim=None)")
        values, inverse, counts = _T(core.unique(self))
        out = (values,) + ((inverse,) if return_inverse else ()) + ((counts,) if return_counts else ())
        return out[0] if len(out) == 1 else out

    def bincount(self, weights: "Tensor | None" = None, minlength: builtins.int = 0) -> "Tensor":
        """How often each of 0, 1, ... max occurs (int64), or the sums of ``weights`` there (float32 weights sum
        in float32 in order, others in float64, as ATen's); at least ``minlength`` long.  No gradient."""
        if self.dtype.kind not in "iu":
            raise NotImplementedError(f'"bincount_cpu" not implemented for \'{_ATEN_NAMES[str(self.dtype)]}\'')
        if self.ndim != 1 or (self.numel() and builtins.bool((self < 0).any())):
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        if minlength < 0:
            raise RuntimeError("minlength should be >= 0")
        if weights is None:
            return _T(core.bincount(self, None, minlength))
        if weights.ndim != 1 or weights.shape[0] != self.shape[0]:
            raise RuntimeError("weights should be 1-d and have the same length as input")
        w = weights if weights.dtype == float32 else weights.to(float64)
        return _T(core.bincount(self, w, minlength))


def _T(v: Any) -> Any:
    if isinstance(v, tuple):
        return tuple(Tensor._of(x) for x in v)
    return Tensor._of(v)


def _is_number(x: Any) -> bool:
    return isinstance(x, (builtins.int, builtins.float, builtins.bool, numpy.number)) and not isinstance(x, Tensor)


def _require_tensor(fn: str, arg: str, value: Any) -> None:
    """PyTorch's TypeError for a tensor-only argument given a number or a list (``hypot(x, 2.0)``)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' must be Tensor, not {type(value).__name__}")


def _promoted(t: Tensor, number: Any) -> Tensor:
    """``t`` in its result type with a Python ``number`` (``_result_type``): an integer tensor meets 1.5 as
    float32, a bool tensor meets 2 as int64, so the number is never cut to the tensor's type."""
    kind = t.dtype.kind
    if (kind == "f" or isinstance(number, (builtins.bool, numpy.bool_))
            or (kind != "b" and not isinstance(number, (builtins.float, numpy.floating)))):
        return t        # the number's category is not higher: every scalar op takes this way, ~2 us sooner
    return t.to(_result_type(t, number))


def _floatify(t: Tensor) -> Tensor:
    """Integer tensors meet float-only math (division, exp, log, sqrt) as the default float type, as in PyTorch."""
    return t if t.dtype.kind == "f" else t.to(get_default_dtype())


def _as_tensor(x: Any, like: Tensor) -> Tensor:
    if isinstance(x, Tensor):
        return x
    dt = like.dtype if _is_number(x) else None
    return tensor(x, dtype=dt, device=like.device)


def _category(dtype: numpy.dtype) -> builtins.int:
    return 0 if dtype.kind == "b" else 2 if dtype.kind in "fc" else 1


def _result_type(*operands: Any) -> numpy.dtype:
    """PyTorch's ``torch.result_type``: tensors with dimensions decide, a zero-dimensional tensor only where it
    is of a higher category (bool < integer < float) than all of them, and a Python number only where it is
    of a higher category than every tensor, as the default type of its category (int64, the default float).
    So ``int32_tensor * torch.tensor(2)`` stays int32 and ``torch.where(c, int_tensor, 0.5)`` is float32."""
    shaped, zero_dim, numbers = [], [], []
    for o in operands:
        if isinstance(o, Tensor):
            (shaped if o.ndim else zero_dim).append(o.dtype)
        else:
            numbers.append(0 if isinstance(o, (builtins.bool, numpy.bool_))
                           else 1 if isinstance(o, (builtins.int, numpy.integer)) else 2)
    dt = None
    for group in (shaped, zero_dim):
        if group:
            d = group[0]
            for other in group[1:]:
                d = _result_dtype(d, other)
            if dt is None or _category(d) > _category(dt):
                dt = d
    if numbers and (dt is None or builtins.max(numbers) > _category(dt)):
        dt = (bool_, numpy.dtype(numpy.int64), get_default_dtype())[builtins.max(numbers)]
    return dt


def _coerce(a: Tensor, b: Any) -> tuple[Tensor, Tensor]:
    """``a`` and ``b`` (a tensor, a number, or data for one) as tensors of their result type."""
    b = b if _is_number(b) else _as_tensor(b, a)
    if isinstance(b, Tensor) and b.dtype == a.dtype:
        return a, b
    dt = _result_type(a, b)
    return a.to(dt), (b.to(dt) if isinstance(b, Tensor) else tensor(b, dtype=dt, device=a.device))


def _axes(dim: Any) -> Any:
    if dim is None:
        return None
    return tuple(dim) if isinstance(dim, (list, tuple)) else dim


def _dims(dim: Any) -> Any:
    """The axes a reduction's ``dim`` names: an empty list or tuple reduces over all, as in PyTorch (TF's
    empty axes, which the core keeps, reduce over none)."""
    axes = _axes(dim)
    return None if axes == () else axes


def _in_dtype(t: Tensor, dtype: Any) -> Tensor:
    """A reduction's result in the ``dtype`` asked for.  Integers were accumulated in int64: the cast wraps
    them as an accumulation in ``dtype`` would (two's complement sums and products agree modulo 2^bits)."""
    return t if dtype is None else t.to(dtype)


def _bytes_stay_bytes(x: Tensor, out: Tensor) -> Tensor:
    """all/any answer in uint8 for a uint8 input, bool otherwise, as PyTorch's."""
    return out.to(uint8) if x.dtype == uint8 else out


# ATen's names of the scalar types, as its "not implemented for" errors print them.
_ATEN_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
               "float32": "Float", "float64": "Double", "float16": "Half"}


def _moved(ndim: builtins.int, src: tuple, dst: tuple) -> list:
    """The permutation that moves dims ``src`` to positions ``dst`` and keeps the others in order."""
    src, dst = [d % ndim for d in src], [d % ndim for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in `source` ({src}) or `destination` ({dst})")
    rest = iter(d for d in range(ndim) if d not in src)
    placed = dict(zip(dst, src))
    return [placed[i] if i in placed else next(rest) for i in range(ndim)]


def _shape_args(shape: Sequence[Any]) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        return tuple(shape[0])
    return tuple(shape)


def _index_data(index: Any) -> Any:
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for p in parts:
        if isinstance(p, Tensor):
            # A copy: the index lives on in the op (and its gradient), whatever the tensor holds later.
            p = numpy.array(p._host())
            if p.ndim == 0 and p.dtype.kind in "iu":
                p = builtins.int(p)
        elif isinstance(p, list):
            p = numpy.asarray(p)
        elif isinstance(p, slice) and p.step is not None and p.step <= 0:
            # PyTorch has no negative strides (``flip`` copies): x[::-1] raises there, and reversing here would
            # run code that fails on PyTorch.
            raise ValueError("slice step cannot be zero" if p.step == 0 else "step must be greater than zero")
        out.append(p)
    return tuple(out) if isinstance(index, tuple) else out[0]


class _ToDevice(core.Op):
    name = "ToDevice"

    def __init__(self, target: Any) -> None:
        self.target = target

    def infer(self, x):
        return [(x.shape, x.dtype)]

    def result_device(self, dev):
        return self.target

    def forward(self, be, x):
        return backends.get_backend(self.target).asarray(be.to_host(x))

    def vjp(self, node, grads, needs):
        return (core.apply(_ToDevice(node.inputs[0].device), grads[0]),)


class _Copy(core.Op):
    """A copy that owns its memory (``clone``); ``core.identity`` may return its input's buffer."""

    name = "Copy"
    saves_inputs = False

    def infer(self, x):
        return [(x.shape, x.dtype)]

    def forward(self, be, x):
        return x.copy()

    def vjp(self, node, grads, needs):
        return (grads[0],)


# ----- creation -----------------------------------------------------------------
def _check_grad_dtype(dtype: numpy.dtype, requires_grad: bool) -> None:
    """As PyTorch, only floating point tensors may require gradients (checked before any allocation)."""
    if requires_grad and dtype.kind != "f":
        raise RuntimeError(f"Only Tensors of floating point and complex dtype can require gradients, got {dtype}")


def _leaf(a: Any, dev: Any, requires_grad: bool) -> Tensor:
    """A new leaf tensor over the backend array ``a``."""
    _check_grad_dtype(a.dtype, requires_grad)
    return Tensor._wrap(a, tuple(a.shape), a.dtype, dev, requires_grad=requires_grad)


def _dev(device: Any) -> Any:
    return _device.parse(device) if device is not None else _device.default()


def _scalar_dtype(tp: type) -> numpy.dtype | None:
    """The dtype PyTorch gives a scalar of type ``tp``, None for other types.  NumPy scalars keep their own
    (asked first: numpy.float64 is a Python float too); a bool is bool, an int int64, a float the default
    dtype, a complex the default dtype's complex twin."""
    if issubclass(tp, numpy.generic):
        return numpy.dtype(tp)
    if issubclass(tp, builtins.bool):
        return bool_
    if issubclass(tp, builtins.int):
        return int64
    if issubclass(tp, builtins.float):
        return get_default_dtype()
    if issubclass(tp, builtins.complex):
        return numpy.promote_types(get_default_dtype(), numpy.complex64)
    return None


def _data_dtype(data: Any) -> numpy.dtype:
    """The dtype ``torch.tensor(data)`` infers (ATen's ``infer_scalar_type``): a Tensor or NumPy array keeps
    its dtype, a scalar takes ``_scalar_dtype``'s, a list or tuple promotes its items' dtypes as tensors
    promote (``[np.int32(3), 1]`` is int64, ``[np.int32(3), 1.5]`` the default float) and an empty one is the
    default dtype.  Anything else (strings, objects with ``__array__``) keeps the dtype NumPy sees."""
    if isinstance(data, (Tensor, numpy.ndarray)):
        return data.dtype
    if isinstance(data, (list, tuple)):
        if not data:
            return get_default_dtype()
        dt = None
        # One look per item type, not per item: a long list of numbers is scanned at C speed by map and set.
        for tp in set(map(type, data)):
            scalar = _scalar_dtype(tp)
            for d in [scalar] if scalar is not None else [_data_dtype(x) for x in data if type(x) is tp]:
                dt = d if dt is None else _result_dtype(dt, d)
        return dt
    scalar = _scalar_dtype(type(data))
    return scalar if scalar is not None else numpy.asarray(data).dtype


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Copy ``data`` (nested lists, numbers, NumPy arrays or Tensors) into a new leaf tensor, of ``dtype`` or
    else of the dtype PyTorch infers (``_data_dtype``)."""
    dev = _dev(device)
    if isinstance(data, Tensor):
        data = data._host()
    arr = numpy.array(data, dtype=_data_dtype(data) if dtype is None else _dtype(dtype, "tensor"))
    _check_grad_dtype(arr.dtype, requires_grad)
    return _leaf(backends.get_backend(dev).asarray(arr), dev, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return tensor(data, dtype, device)


def from_numpy(a: numpy.ndarray) -> Tensor:
    return Tensor._wrap(a, tuple(a.shape), a.dtype, _device.CPU)


def _full(shape: Sequence[Any], value: Any, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    dev = _dev(device)
    dt = _dtype(dtype, "full") if dtype is not None else (
        get_default_dtype() if isinstance(value, builtins.float) else
        (bool_ if isinstance(value, builtins.bool) else int64))
    _check_grad_dtype(dt, requires_grad)
    return _leaf(backends.get_backend(dev).xp.full(_shape_args(shape), value, dtype=dt), dev, requires_grad)


def zeros(*shape: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _full(shape, 0.0, dtype, device, requires_grad)


def ones(*shape: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _full(shape, 1.0, dtype, device, requires_grad)


def empty(*shape: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _full(shape, 0.0, dtype, device, requires_grad)


def full(size: Sequence[Any], fill_value: Any, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    return _full((tuple(size),), fill_value, dtype, device, requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def empty_like(t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros_like(t, dtype, device, requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """PyTorch's values, which are not NumPy's for a fractional step (``_aten_arange``)."""
    if end is None:
        start, end = 0, start
    floats = builtins.any(isinstance(v, builtins.float) for v in (start, end, step))
    dt = _dtype(dtype, "arange") if dtype is not None else (get_default_dtype() if floats else int64)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dt.kind != "f":
        values = numpy.arange(start, end, step, dtype=dt)
    else:
        values = _aten_arange(builtins.float(start), builtins.float(step),
                              builtins.int(math.ceil((builtins.float(end) - start) / step)), dt)
    return tensor(values, dtype=dt, device=device, requires_grad=requires_grad)


def _vector_bytes() -> builtins.int:
    """The width of ATen's CPU vectors: 64 bytes where it dispatches to AVX-512 (``ATEN_CPU_CAPABILITY``, else
    what the CPU has), 32 otherwise (AVX2 and its scalar fallback alike)."""
    chosen = os.environ.get("ATEN_CPU_CAPABILITY", "").lower()
    if chosen:
        return 64 if chosen == "avx512" else 32
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:         # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_features__ as features
    return 64 if builtins.all(features.get(f) for f in ("AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ")) else 32


def _fma(a: Any, b: Any, c: Any) -> numpy.ndarray:
    """a * b + c rounded once, elementwise over float arrays of one dtype (two roundings without numba)."""
    a, b, c = numpy.broadcast_arrays(a, b, c)
    a, b, c = (numpy.ascontiguousarray(v) for v in (a, b, c))
    out = numpy.empty_like(a)
    return out if numba_kernels.fma(a, b, c, out) else a * b + c


def _aten_arange(start: builtins.float, step: builtins.float, n: builtins.int, dt: numpy.dtype) -> numpy.ndarray:
    """ATen's CPU arange of n values: each start + step * i in double, the multiply and add fused (its kernel is
    built with contraction), rounded to ``dt``; except in the blocks of two vectors its vectorized loop takes,
    where a vector's first value is rounded to ``dt`` first and the others add k * step to it (fused again).
    The blocks start at each thread's share of the range (``at::parallel_for``, 32768 values at least)."""
    i = numpy.arange(n, dtype=numpy.float64)
    out = _fma(numpy.float64(step), i, numpy.float64(start)).astype(dt)
    width = _vector_bytes() // dt.itemsize
    shares = builtins.max(1, builtins.min(threads.get_num_threads(), -(-n // 32768)))
    size = -(-n // shares)
    for p0 in range(0, n, size):
        m = (builtins.min(size, n - p0) // (2 * width)) * (2 * width)     # values in whole blocks
        if m:
            j = numpy.arange(m)
            base = out[p0 + j - j % width].astype(numpy.float64)        # each vector's first value, in dt
            out[p0:p0 + m] = _fma((j % width).astype(numpy.float64), numpy.float64(step), base).astype(dt)
    return out


def eye(n: builtins.int, m: builtins.int | None = None, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    dt = _dtype(dtype, "eye") if dtype is not None else get_default_dtype()
    return tensor(numpy.eye(n, m, dtype=dt), dtype=dt, device=device, requires_grad=requires_grad)


def linspace(start: Any, end: Any, steps: builtins.int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """ATen's values: step = (end - start) / (steps - 1) in the dtype (double for integers), the first half
    start + step * i and the second end - step * (steps - 1 - i), each multiply and add fused (its serial
    kernel, built with contraction); integers truncate."""
    dt = _dtype(dtype, "linspace") if dtype is not None else get_default_dtype()
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    n = builtins.int(steps)
    work = dt if dt.kind == "f" else numpy.dtype(numpy.float64)
    s, e = (work.type(dt.type(v)) for v in (start, end))
    if n <= 1:
        values = numpy.array([s] * n, work)
    else:
        step = (e - s) / work.type(n - 1)
        i = numpy.arange(n)
        low = _fma(step, i.astype(work), s)
        high = _fma(-step, (n - 1 - i).astype(work), e)
        values = numpy.where(i < n // 2, low, high)
    return tensor(values.astype(dt), dtype=dt, device=device, requires_grad=requires_grad)


def _random(shape: Sequence[Any], dtype: Any, device: Any, requires_grad: bool, generator: Any, kind: str) -> Tensor:
    dev = _dev(device)
    dt = _dtype(dtype, "rand") if dtype is not None else get_default_dtype()
    if dt.kind != "f":
        raise NotImplementedError(f"{kind}: sampling is only implemented for floating point dtypes, got {dt}")
    gen = (generator or core.random.default_generator).get(dev)
    shape = _shape_args(shape)
    a = gen.random(shape, dtype=dt) if kind == "rand" else gen.standard_normal(shape, dtype=dt)
    return _leaf(a, dev, requires_grad)


def rand(*shape: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         generator: Any = None) -> Tensor:
    return _random(shape, dtype, device, requires_grad, generator, "rand")


def randn(*shape: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          generator: Any = None) -> Tensor:
    return _random(shape, dtype, device, requires_grad, generator, "randn")


def randint(low: builtins.int, high: Any = None, size: Sequence[builtins.int] = (), dtype: Any = None,
            device: Any = None, generator: Any = None, requires_grad: bool = False) -> Tensor:
    if high is None or (isinstance(high, (tuple, list)) and size == ()):
        low, high, size = 0, low, (size if high is None else high)      # randint(high, size)
    dev = _dev(device)
    dt = _dtype(dtype or int64, "randint")
    _check_grad_dtype(dt, requires_grad)
    gen = (generator or core.random.default_generator).get(dev)
    return _leaf(gen.integers(low, high, size=tuple(size)).astype(dt), dev, requires_grad)


def randperm(n: builtins.int, generator: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    dev = _dev(device)
    _check_grad_dtype(int64, requires_grad)
    gen = (generator or core.random.default_generator).get(dev)
    return _leaf(gen.permutation(n).astype(int64), dev, requires_grad)


def normal(mean: Any, std: Any = 1.0, size: Any = None, *, generator: Any = None, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """Normal draws of the (broadcast) ``mean`` and ``std``: ``randn * std + mean``, as ATen's kernel (from
    dualflow's seeded NumPy generator, so not PyTorch's values); numbers for both need ``size``.  The draw is
    not differentiable here (PyTorch's gradients of it are zeros)."""
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if size is None:
            raise TypeError("normal(): with a number mean and std, the size argument is required")
        noise = randn(*_shape_args((size,)), dtype=dtype, device=device, generator=generator)
        return (noise * builtins.float(std) + builtins.float(mean)).requires_grad_(requires_grad)
    like = mean if isinstance(mean, Tensor) else std
    if like.dtype.kind != "f":
        raise RuntimeError(f"normal expects floating point mean and std, got {_ATEN_NAMES[str(like.dtype)]}")
    with core.grad_mode(False):
        m, sd = _as_tensor(mean, like).detach(), _as_tensor(std, like).detach()
        if builtins.bool((sd < 0).any()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        shape = numpy.broadcast_shapes(tuple(m.shape), tuple(sd.shape))
        return randn(*shape, dtype=like.dtype, device=like.device, generator=generator) * sd + m


def bernoulli(input: Tensor, p: Any = None, *, generator: Any = None) -> Tensor:  # noqa: A002
    """1 where a uniform draw falls below the probability (``input``'s elements, or ``p``), else 0, in
    ``input``'s dtype (dualflow's seeded generator)."""
    return input.bernoulli(p, generator=generator)


def multinomial(input: Tensor, num_samples: builtins.int, replacement: bool = False, *,  # noqa: A002
                generator: Any = None) -> Tensor:
    """Class indices drawn per row of ``input`` (non-negative weights), with or without replacement (int64;
    dualflow's seeded generator)."""
    return input.multinomial(num_samples, replacement, generator=generator)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


# ----- functions over tensors --------------------------------------------------------
def matmul(a: Tensor, b: Tensor) -> Tensor:
    a, b = _coerce(a, b)
    if a.ndim == 1 and b.ndim == 1:
        return (a * b).sum()
    if a.ndim == 1:
        return matmul(a.unsqueeze(0), b).squeeze(-2)
    if b.ndim == 1:
        return matmul(a, b.unsqueeze(-1)).squeeze(-1)
    return _T(core.matmul(a, b))


mm = bmm = matmul


def maximum(a: Tensor, b: Tensor) -> Tensor:
    x, y = _coerce(a, b)
    return _T(core.maximum(x, y, split_ties=True))       # PyTorch's gradient: half to each side at ties


def minimum(a: Tensor, b: Tensor) -> Tensor:
    x, y = _coerce(a, b)
    return _T(core.minimum(x, y, split_ties=True))


def where(condition: Tensor, x: Any, y: Any) -> Tensor:
    for v in (x, y):
        if not (isinstance(v, Tensor) or _is_number(v)):
            raise TypeError(f"where(): expected Tensor or Number for input and other, got {type(v).__name__}")
    dt = _result_type(x, y)
    x, y = ((v.to(dt) if isinstance(v, Tensor) else tensor(v, dtype=dt, device=condition.device)) for v in (x, y))
    return _T(core.where(condition, x, y))


def cat(tensors: Sequence[Tensor], dim: builtins.int = 0) -> Tensor:
    return _T(core.concat(list(tensors), dim))


concat = cat


def stack(tensors: Sequence[Tensor], dim: builtins.int = 0) -> Tensor:
    return _T(core.stack(list(tensors), dim))


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation over explicit letters (an implicit output is the letters used once, sorted, as
    PyTorch's); '...' and a letter repeated within one operand raise NotImplementedError."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    spec = equation.replace(" ", "")
    if "->" not in spec and "." not in spec:
        letters = spec.replace(",", "")
        spec += "->" + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return _T(core.einsum(spec, *operands))


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple:
    """Coordinate grids of 0-D or 1-D tensors (broadcast views): 'ij' (matrix, the default) or 'xy' (the first
    two swapped, as NumPy's)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}")
    ts = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    grids = [t.reshape([-1 if i == j else 1 for j in range(len(ts))]).expand(*shape) for i, t in enumerate(ts)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def _method(name: str) -> Any:
    def fn(t: Tensor, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(t, Tensor):       # PyTorch's argument parser says so (an int has no .eq)
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(t).__name__}")
        return getattr(t, name)(*args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = f"``torch.{name}(t, ...)`` is ``t.{name}(...)``."
    return fn


for _name in ("sum", "mean", "all", "any", "max", "min", "argmax", "argmin", "amax", "amin", "exp", "log", "sqrt",
              "abs", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "reshape", "flatten", "permute", "transpose",
              "unsqueeze", "squeeze", "clamp", "clip", "var", "std", "sign", "neg", "t", "numel", "rsqrt", "reciprocal",
              "chunk", "split", "norm", "gather", "argsort", "sort", "topk", "narrow", "select", "unbind", "expm1",
              "log1p", "floor", "ceil", "round", "sin", "cos", "square", "isnan", "isinf", "isfinite", "logical_not",
              "clamp_min", "clamp_max", "logsumexp", "cumsum", "flip", "tril", "triu", "remainder", "floor_divide",
              "index_select", "scatter", "scatter_add", "index_add", "broadcast_to", "unflatten", "movedim",
              "moveaxis", "swapaxes", "swapdims", "tile", "roll", "fliplr", "flipud", "rot90", "diag", "trunc", "fix",
              "frac", "addcmul", "addcdiv", "outer", "ger", "tan", "asin", "acos", "atan", "arcsin", "arccos",
              "arctan", "sinh", "cosh", "log2", "log10", "exp2", "atan2", "arctan2", "prod", "fmod", "lerp",
              "median", "nanmedian", "clone", "erf", "sgn", "nonzero", "masked_select", "isclose", "count_nonzero",
              "trace", "diff", "nansum", "nanmean", "hypot", "logaddexp", "addmm", "baddbmm", "aminmax", "cumprod",
              "unique", "bincount", "allclose", "eq", "ne", "gt", "ge", "lt", "le", "greater", "greater_equal",
              "less", "less_equal", "not_equal", "masked_fill", "logical_and", "logical_or", "logical_xor", "ravel",
              "dot", "mv", "diagonal", "nan_to_num", "repeat_interleave", "is_floating_point", "take_along_dim",
              "isin", "deg2rad", "rad2deg", "logit", "xlogy", "quantile", "nanquantile"):
    globals()[_name] = _method(_name)


def _first_operand(fn: str, input: Any, other: Any) -> Tensor:
    """``input`` of ``torch.<fn>(input, other)`` as a tensor: a Python number there becomes a zero-dim tensor of
    the result type, as PyTorch's argument parser wraps it (so ``torch.div(7, x)`` divides, where ``7 / x`` is
    ``x.reciprocal() * 7``)."""
    if isinstance(input, Tensor):
        return input
    if not isinstance(other, Tensor) or not _is_number(input):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return tensor(input, dtype=_result_type(other, input), device=other.device)


def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    return _first_operand("add", input, other).add(other, alpha)


def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    return _first_operand("sub", input, other).sub(other, alpha)


def mul(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _first_operand("mul", input, other) * other


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:  # noqa: A002
    return _first_operand("div", input, other).div(other, rounding_mode=rounding_mode)


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001,A002
    if not isinstance(input, Tensor):
        return _as_tensor(exponent, exponent).__rpow__(input)
    return input ** exponent


subtract, multiply, divide, true_divide = sub, mul, div, div


def negative(input: Tensor) -> Tensor:  # noqa: A002
    return -input


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Joined along dim 1, or dim 0 for vectors."""
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Rows joined: vectors become rows first."""
    return cat([t.reshape(1, -1) if t.ndim == 1 else t for t in tensors], 0)


row_stack = vstack


def searchsorted(sorted_sequence: Tensor, values: Any, *, out_int32: bool = False, right: bool = False,
                 side: Any = None, sorter: Any = None) -> Tensor:
    return sorted_sequence.searchsorted(values, out_int32=out_int32, right=right, side=side, sorter=sorter)


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:  # noqa: A002
    """The bucket of each value among the sorted 1-D ``boundaries``: boundaries[i-1] < x <= boundaries[i], or
    boundaries[i-1] <= x < boundaries[i] with ``right`` (searchsorted with the sides the other way round)."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return boundaries.searchsorted(input, out_int32=out_int32, right=right)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Vectors as columns (and scalars as 1x1), joined along dim 1."""
    return cat([t.reshape(-1, 1) if t.ndim < 2 else t for t in tensors], 1)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Joined along dim 2, each made at least 3-D first (vectors as (1, n, 1), matrices as (m, n, 1))."""
    return cat(list(atleast_3d(list(tensors))), 2)


def tensor_split(input: Tensor, indices_or_sections: Any, dim: builtins.int = 0) -> tuple:  # noqa: A002
    """Views along ``dim``: ``n`` sections (the first ``size % n`` one longer), or the pieces between the given
    indices, each cut as a Python slice would (an index past the end clamps, one before its predecessor
    gives an empty piece)."""
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = (indices_or_sections.item() if indices_or_sections.ndim == 0
                               else indices_or_sections.tolist())
    d = input._dim_index(dim)
    size = input.shape[d]
    if isinstance(indices_or_sections, builtins.int):
        n = indices_or_sections
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        lengths = [size // n + (i < size % n) for i in range(n)]
        cuts = list(itertools.accumulate(lengths))[:-1]
    else:
        cuts = [builtins.int(i) for i in indices_or_sections]
    lead = (slice(None),) * d
    return tuple(input[lead + (slice(a, b),)] for a, b in zip([0] + cuts, cuts + [None]))


def _split_along(name: str, input: Tensor, sections: Any, dim: builtins.int, rank: builtins.int) -> tuple:  # noqa: A002
    """hsplit/vsplit/dsplit: ``tensor_split`` along ``dim``, which must exist and, for a count, divide evenly."""
    if input.ndim < rank:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {rank} dimension, but got a tensor with "
                           f"{input.ndim} dimensions!")
    if isinstance(sections, builtins.int) and (sections == 0 or input.shape[dim] % sections):
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                           f"{input.shape[dim]} is not divisible by the split_size {sections}!")
    return tensor_split(input, sections, dim)


def hsplit(input: Tensor, indices_or_sections: Any) -> tuple:  # noqa: A002
    return _split_along("hsplit", input, indices_or_sections, 0 if input.ndim == 1 else 1, 1)


def vsplit(input: Tensor, indices_or_sections: Any) -> tuple:  # noqa: A002
    return _split_along("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input: Tensor, indices_or_sections: Any) -> tuple:  # noqa: A002
    return _split_along("dsplit", input, indices_or_sections, 2, 3)


def argwhere(input: Tensor) -> Tensor:  # noqa: A002
    """The (N, ndim) coordinates of the nonzero elements, in row-major order (``nonzero``)."""
    return input.nonzero()


def take(input: Tensor, index: Tensor) -> Tensor:  # noqa: A002
    """Elements of the flattened input at ``index`` (negative ones from the end), in ``index``'s shape."""
    n = input.numel()
    idx = index.cpu().numpy() if isinstance(index, Tensor) else numpy.asarray(index)     # checked on the host
    bad = idx[(idx >= n) | (idx < -n)]
    if bad.size:
        raise IndexError(f"out of range: tried to access index {builtins.int(bad.flat[0])} on a tensor of {n} "
                         "elements.")
    return input.reshape(-1)[index]


def dist(input: Tensor, other: Tensor, p: builtins.float = 2) -> Tensor:  # noqa: A002
    """The p-norm of the (broadcast) difference: the count of its nonzeros for p = 0, its largest (smallest)
    magnitude for p = inf (-inf)."""
    d = input - other
    if p in (1, 2):
        return d.norm(p)
    a = d.abs()
    if p == 0:
        return (a != 0).sum().to(d.dtype)
    if math.isinf(p):
        return a.max() if p > 0 else a.min()
    return a.pow(p).sum().pow(1.0 / p)


def inner(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """The sum over the last dims of both (a scalar operand multiplies): shape input.shape[:-1] + other.shape[:-1]."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, ([input.ndim - 1], [other.ndim - 1]))


def cov(input: Tensor, *, correction: builtins.int = 1, fweights: Tensor | None = None,  # noqa: A002
        aweights: Tensor | None = None) -> Tensor:
    """The covariance of the variables in the rows of ``input`` (a vector: one variable) over its columns (the
    observations), with frequency and analytic weights as ``numpy.cov``'s and PyTorch's: the weighted mean
    removed, then divided by the weights' sum less ``correction`` (scaled by the analytic weights), clamped at
    0 with PyTorch's warning."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if x.dtype.kind != "f":
        x = x.to(get_default_dtype())
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = fweights.to(x.dtype)
    if aweights is not None:
        w = aweights.to(x.dtype) if w is None else w * aweights.to(x.dtype)
    if w is None:
        mean, total, norm = x.mean(1, keepdim=True), None, builtins.float(n - correction)
    else:
        total = w.sum()
        mean = (x * w).sum(1, keepdim=True) / total
        if correction == 0:
            norm = total
        elif aweights is None:
            norm = total - correction
        else:
            norm = total - correction * (w * aweights.to(x.dtype)).sum() / total
    if builtins.float(norm) <= 0:
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.", stacklevel=2)
        norm = norm * 0 if isinstance(norm, Tensor) else 0.0
    centred = x - mean
    c = (centred if w is None else centred * w) @ centred.t() / norm
    return c.reshape(()) if c.shape == (1, 1) else c


def corrcoef(input: Tensor) -> Tensor:  # noqa: A002
    """Pearson's correlation coefficients: ``cov`` over the outer product of the standard deviations, clipped
    to [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal()
    return (c / d.sqrt().reshape(-1, 1) / d.sqrt().reshape(1, -1)).clamp(-1, 1)


def msort(input: Tensor) -> Tensor:  # noqa: A002
    """Sorted along dim 0."""
    return input.sort(dim=0)[0]


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of one element of each vector, in row-major order (one vector: itself)."""
    if len(tensors) == 1:
        return tensors[0]
    return stack([g.reshape(-1) for g in meshgrid(*tensors, indexing="ij")], 1)


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (scalars as 1x1, vectors as rows) on the diagonal of one matrix of zeros."""
    blocks = [t.reshape(1, -1) if t.ndim < 2 else t for t in tensors]
    for i, b in enumerate(blocks):
        if b.ndim != 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{b.ndim} dimensions")
    dtype = functools.reduce(_result_dtype, [b.dtype for b in blocks]) if blocks else get_default_dtype()
    width = builtins.sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        pads = [zeros(b.shape[0], left, dtype=dtype), b.to(dtype), zeros(b.shape[0], width - left - b.shape[1],
                                                                           dtype=dtype)]
        rows.append(cat(pads, 1))
        left += b.shape[1]
    return cat(rows, 0) if rows else zeros(0, 0, dtype=dtype)


def _atleast(rank: builtins.int, tensors: tuple) -> Any:
    one = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    items = [tensors[0]] if one else list(tensors[0] if len(tensors) == 1 else tensors)
    out = []
    for t in items:
        if rank >= 1 and t.ndim == 0:
            t = t.reshape(1)
        if rank >= 2 and t.ndim == 1:
            t = t.unsqueeze(0)
        if rank >= 3 and t.ndim == 2:
            t = t.unsqueeze(-1)
        out.append(t)
    return out[0] if one else tuple(out)


def atleast_1d(*tensors: Any) -> Any:
    return _atleast(1, tensors)


def atleast_2d(*tensors: Any) -> Any:
    """Scalars and vectors as (1, n) rows, as PyTorch's."""
    return _atleast(2, tensors)


def atleast_3d(*tensors: Any) -> Any:
    """Vectors as (1, n, 1), matrices as (m, n, 1), as PyTorch's."""
    return _atleast(3, tensors)


def broadcast_shapes(*shapes: Any) -> Size:
    return Size(numpy.broadcast_shapes(*[(s,) if isinstance(s, builtins.int) else tuple(s) for s in shapes]))


def broadcast_tensors(*tensors: Tensor) -> tuple:
    """Each tensor expanded (a view) to the shapes' broadcast."""
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t.expand(*shape) for t in tensors)


def _triangle(row: builtins.int, col: builtins.int, offset: builtins.int, upper: bool, dtype: Any,
              device: Any) -> Tensor:
    rows, cols = (numpy.triu_indices if upper else numpy.tril_indices)(row, offset, col)
    return tensor(numpy.stack([rows, cols]).astype(_dtype(dtype or int64, "tril_indices")), device=device)


def tril_indices(row: builtins.int, col: builtins.int, offset: builtins.int = 0, *, dtype: Any = None,
                 device: Any = None, layout: Any = None) -> Tensor:
    """(2, N) coordinates of the lower triangle (row-major), as PyTorch's."""
    return _triangle(row, col, offset, False, dtype, device)


def triu_indices(row: builtins.int, col: builtins.int, offset: builtins.int = 0, *, dtype: Any = None,
                 device: Any = None, layout: Any = None) -> Tensor:
    return _triangle(row, col, offset, True, dtype, device)


def kron(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """The Kronecker product: each element of ``input`` times the whole of ``other`` (one product each)."""
    n = builtins.max(input.ndim, other.ndim)
    a = input.reshape(*([1] * (n - input.ndim) + list(input.shape)))
    b = other.reshape(*([1] * (n - other.ndim) + list(other.shape)))
    inter_a = [d for s in a.shape for d in (s, 1)]
    inter_b = [d for s in b.shape for d in (1, s)]
    return (a.reshape(*inter_a) * b.reshape(*inter_b)).reshape(*[x * y for x, y in zip(a.shape, b.shape)])


def cross(input: Tensor, other: Tensor, dim: Any = None) -> Tensor:  # noqa: A002
    """The cross product of 3-vectors along ``dim`` (the first dim of size 3 when None, as PyTorch's
    deprecated default), a1 b2 - a2 b1 per component."""
    a, b = broadcast_tensors(*_coerce(input, other))
    if dim is None:
        dim = next((i for i, n in enumerate(a.shape) if n == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    if a.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[dim]} and "
                           f"{b.shape[dim]}")
    a0, a1, a2 = a.unbind(dim)
    b0, b1, b2 = b.unbind(dim)
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim)


def _float_unary(name: str) -> Any:
    def method(self: Tensor) -> Tensor:
        return _T(getattr(core, name)(_floatify(self)))
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``t.{name}()``: the elementwise ``core.{name}`` (integers as the default float dtype)."
    return method


# The one-argument math methods, each the core primitive of its name on the tensor (as a float).
for _name in ("exp", "log", "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "log2", "log10",
              "exp2", "expm1", "log1p", "erf"):
    setattr(Tensor, _name, _float_unary(_name))
Tensor.arcsin, Tensor.arccos, Tensor.arctan = Tensor.asin, Tensor.acos, Tensor.atan


def _inplace_twin(name: str) -> Any:
    def twin(self: Tensor) -> Tensor:
        return self._inplace(name + "_", lambda x: getattr(x, name)())
    twin.__name__ = twin.__qualname__ = name + "_"
    twin.__doc__ = f"``t.{name}_()`` is ``t.{name}()`` written into t (views and autograd follow)."
    return twin


# The in-place twins of the one-argument functions (``x.relu_()``, ``x.floor_()``, ...).
for _name in ("relu", "sigmoid", "tanh", "exp", "log", "sqrt", "abs", "neg", "floor", "ceil", "square", "sin", "cos",
              "expm1", "log1p", "trunc", "fix", "frac", "tan", "asin", "acos", "atan", "sinh", "cosh", "log2", "log10",
              "exp2", "erf", "sgn"):
    setattr(Tensor, _name + "_", _inplace_twin(_name))


class _LegacyType(type):
    """``torch.FloatTensor`` and friends: constructors for their dtype (``FloatTensor(2, 3)`` is uninitialized
    of that shape, ``FloatTensor([1, 2])`` holds the data), and ``isinstance`` checks the dtype."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype and not obj.is_cuda

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:
        if args and builtins.all(isinstance(a, (builtins.int, numpy.integer)) and not isinstance(a, builtins.bool)
                        for a in args):
            return empty(*args, dtype=cls.dtype, device=device)
        if len(args) > 1:
            raise TypeError(f"{cls.__name__}(): expected sizes or one sequence of data, got {args!r}")
        data = args[0] if args else []
        if isinstance(data, Tensor):
            return data.to(cls.dtype)
        return tensor(data, dtype=cls.dtype, device=device)


for _dt, _legacy in _TYPE_NAMES.items():
    globals()[_legacy] = _LegacyType(_legacy, (), {"dtype": numpy.dtype(_dt)})


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def equal(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and builtins.bool(numpy.array_equal(a._host(), b._host()))


def numel(t: Tensor) -> builtins.int:
    return t.numel()


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """The sum over ``dims`` pairs of a's and b's dims (an int n: a's last n with b's first n), as ATen computes
    it: both permuted and flattened to matrices, one matrix product, reshaped to a's free dims then b's."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (builtins.int, numpy.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, (builtins.int, numpy.integer)) else list(d) for d in dims)
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    dims_a, dims_b = [d % builtins.max(a.ndim, 1) for d in dims_a], [d % builtins.max(b.ndim, 1) for d in dims_b]
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[da]} in dim {da} "
                               f"and second has size {b.shape[db]} in dim {db}")
    a, b = _coerce(a, b)
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    inner = math.prod(a.shape[d] for d in dims_a)
    left = a.permute(free_a + dims_a).reshape(math.prod(a.shape[d] for d in free_a), inner)
    right = b.permute(dims_b + free_b).reshape(inner, math.prod(b.shape[d] for d in free_b))
    return matmul(left, right).reshape([a.shape[d] for d in free_a] + [b.shape[d] for d in free_b])


def _spread_mean(input: Tensor, spread: str, dim: Any, unbiased: Any, keepdim: bool, correction: Any) -> tuple:
    """(var or std, mean) with PyTorch's overloads: ``var_mean(x, True)`` passes ``unbiased`` where ``dim``
    stands."""
    if isinstance(dim, builtins.bool):
        dim, unbiased = None, dim
    unbiased = True if unbiased is None else unbiased
    return getattr(input, spread)(dim, unbiased, keepdim, correction=correction), input.mean(dim, keepdim)


def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    """(var, mean) over ``dim``, the variance divided by N - correction (1 by default, 0 with unbiased=False)."""
    return _spread_mean(input, "var", dim, unbiased, keepdim, correction)


def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    """(std, mean) over ``dim``, as ``var_mean`` with the square root of the variance."""
    return _spread_mean(input, "std", dim, unbiased, keepdim, correction)


def cdist(x1: Tensor, x2: Tensor, p: builtins.float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M): p = 1 or 2.  For
    p = 2 ATen's two ways: the differences directly, or (more than 25 rows on a side, or when asked) the
    matrix product of [-2 x1, |x1|^2, 1] and [x2, 1, |x2|^2], clamped at 0 before the square root.  The
    gradient is 0 where a distance is 0, as ATen's."""
    for name, t in (("X1", x1), ("X2", x2)):
        if t.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    modes = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")
    if compute_mode not in modes:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if p not in (1, 2):
        raise NotImplementedError(f"cdist: p={p} is not implemented in dualflow (only 1 and 2)")
    x1, x2 = _coerce(x1, x2)
    rows = builtins.max(x1.shape[-2], x2.shape[-2])
    if p == 2 and (compute_mode == "use_mm_for_euclid_dist"
                   or (compute_mode == "use_mm_for_euclid_dist_if_necessary" and rows > 25)):
        sq1, sq2 = (x1 * x1).sum(-1, keepdim=True), (x2 * x2).sum(-1, keepdim=True)
        left = cat([x1 * -2, sq1, ones_like(sq1)], -1)
        right = cat([x2, ones_like(sq2), sq2], -1)
        return _T(core.ops.reduce.norm_sqrt(matmul(left, right.transpose(-1, -2)).clamp_min(0)))
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return diff.norm(p, -1)

