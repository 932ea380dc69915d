"""The primitive contract and ``apply``, the single entry point both frontends use.

A primitive is an ``Op`` subclass with three parts:

* ``infer(*inputs)`` checks the inputs and returns ``[(shape, dtype), ...]`` for
  the outputs; shapes may hold None for dims unknown in a static graph;
* ``forward(be, *arrays)`` computes the outputs from backend arrays (pure);
* ``vjp(node, grads, needs)`` returns one gradient per input, built by calling
  primitives, so the same rule computes eagerly or adds static graph nodes.

``apply`` runs ``forward`` at once when all inputs hold data (eager), or only
records a node when any input is symbolic (static).
"""
from __future__ import annotations

import contextlib
import functools
import threading
from typing import Any, Iterator, Sequence

import numpy

import backends
from core.errors import DeviceError, DTypeError, ShapeError
from core.graph import Node, Value

Spec = tuple[tuple, Any]

class _Modes(threading.local):
    """Per-thread modes, as PyTorch keeps grad mode: every thread starts with recording on."""

    grad_enabled = True


_modes = _Modes()


def is_grad_enabled() -> bool:
    return _modes.grad_enabled


def set_grad_enabled(enabled: bool) -> bool:
    """Switch eager recording on or off for this thread; returns the previous setting."""
    prev = _modes.grad_enabled
    _modes.grad_enabled = bool(enabled)
    return prev


@contextlib.contextmanager
def grad_mode(enabled: bool) -> Iterator[None]:
    """Record (or not) eager nodes for autodiff inside a ``with`` block."""
    prev = set_grad_enabled(enabled)
    try:
        yield
    finally:
        set_grad_enabled(prev)


class Op:
    """Base class of primitives.  Attributes are set in ``__init__`` and never change."""

    name = "Op"                       # TensorFlow-style type name, used for graph op names
    arg_names: Sequence[str] = ("x",)
    differentiable = True
    is_view = False                   # output shares memory (and so the version box) with input 0
    # Which values vjp reads; only those are checked for in-place changes (PyTorch's saved tensors).
    # saves_inputs: True (all), False (none), or a tuple of the positions of the inputs it reads.
    saves_inputs: bool | tuple[int, ...] = True
    saves_outputs = False
    # For the graph passes (core/passes): ``pure``: the outputs depend on the inputs and attributes alone, so
    # two equal steps may be merged and a step of constants folded; ``effect``: running it changes something
    # besides its outputs (variables, a random stream, a printout), so it runs even when nothing reads it.
    pure = True
    effect = False
    # ``value_shaped``: an output's shape depends on the input values, not their shapes alone (a boolean mask's
    # selection, nonzero's coordinates): the memory plan leaves it, and every value made from it, unplanned.
    value_shaped = False

    def infer(self, *inputs: Value) -> list[Spec]:
        raise NotImplementedError(f"{self.name}.infer")

    def forward(self, be: Any, *arrays: Any) -> Any:
        raise NotImplementedError(f"{self.name}.forward")

    def view_op(self, *inputs: Value) -> "Op":
        """For a view primitive: the one-input primitive that re-derives the output from input 0 (a base's
        chain of views is replayed when an in-place write changes the base or a view)."""
        return self

    def result_device(self, dev: Any) -> Any:
        """Where the outputs live (the inputs' device, except for transfers)."""
        return dev

    def vjp(self, node: Node, grads: Sequence[Value | None], needs: Sequence[bool]) -> Sequence[Value | None]:
        raise NotImplementedError(f"{self.name} has no gradient rule")

    # ----- helpers for subclasses -------------------------------------------------
    def prepared_writer(self, be: Any, into: Any) -> Any:
        """For a subclass's ``prepare`` (``core.lowering.bind``): ``into(be, *arrays, out)``, a function of no
        arguments writing the result into ``out`` with everything the shapes decide worked out, run again
        while the arrays stay the same (``be.prepared``); None where the backend binds nothing."""
        make = getattr(be, "prepared", None)
        return make and make(functools.partial(into, be))

    def attrs(self) -> dict:
        """The op's parameters (for printing), not the per-instance overrides of class-level fields."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_") and not hasattr(Op, k)}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.attrs().items())
        return f"{self.name}({inner})"

    def shape_error(self, arg: str, expected: str, actual: Any) -> ShapeError:
        return ShapeError(f"{self.name}: argument '{arg}' expected {expected}, got shape {tuple(actual)}")

    def dtype_error(self, arg: str, expected: str, actual: Any) -> DTypeError:
        return DTypeError(f"{self.name}: argument '{arg}' expected dtype {expected}, got {actual}")

    def require_float(self, *inputs: Value) -> None:
        for name, v in zip(self.arg_names, inputs):
            if v.dtype.kind != "f":
                raise self.dtype_error(name, "float32 or float64", v.dtype)

    def require_same_dtype(self, *inputs: Value) -> None:
        first = inputs[0]
        for name, v in zip(self.arg_names[1:], inputs[1:]):
            if v.dtype != first.dtype:
                raise self.dtype_error(name, f"{first.dtype} (same as '{self.arg_names[0]}')", v.dtype)

    def require_ndim(self, arg: str, v: Value, ndim: int, layout: str = "") -> None:
        if len(v.shape) != ndim:
            raise self.shape_error(arg, f"a {ndim}-D tensor{' ' + layout if layout else ''}", v.shape)


def _arg_name(op: Op, i: int) -> str:
    return op.arg_names[i] if i < len(op.arg_names) else f"input {i}"


def _device_of(op: Op, inputs: Sequence[Value]) -> Any:
    dev = inputs[0].device
    for i, v in enumerate(inputs[1:], 1):
        if v.device is not dev and v.device != dev:
            raise DeviceError(
                f"{op.name}: expected all tensors to be on the same device, but argument '{_arg_name(op, i)}' is on "
                f"{v.device} and argument '{_arg_name(op, 0)}' is on {dev}")
    return dev


def _result_class(inputs: Sequence[Value]) -> type:
    for v in inputs:
        if type(v) is not Value:
            return v._op_result or type(v)
    return Value


def freeze(v: Value) -> Value:
    """What an eager node keeps of an input: its own frozen copy of the value's current identity (an in-place
    op later rebinds the frontend object to a new node, and must not rewire this node's edge; backward drops
    the copy's buffer once the node is done).  Leaves that require grad keep their object: they are where
    gradients accumulate, and are never rebound."""
    if v.node is None and v.requires_grad:
        return v
    return v.snapshot()


def _saved(op: Op, i: int, v: Value, be: Any) -> Value:
    """What an eager node keeps of input ``i``: the frozen value when its gradient reads it (``saves_inputs``),
    else the same identity with a stand-in buffer, so the activation is freed as soon as nothing else holds
    it (PyTorch keeps only its saved tensors the same way)."""
    kept = freeze(v)
    saves = op.saves_inputs
    if saves is True or (saves and i in saves) or kept is v:      # ``kept is v``: a leaf, the user's own
        return kept
    kept.array = _stub(be, kept.dtype, tuple(kept.shape))
    return kept


@functools.lru_cache(maxsize=4096)
def _stub(be: Any, dtype: Any, shape: tuple) -> Any:
    """A stand-in for a value whose gradient rule reads only its shape and dtype: one element broadcast to the
    shape (no memory); NaN for floats and the most negative integer for indices, so that a rule that reads it
    by mistake shows it (NaN gradients, an index error) instead of computing with a plausible value."""
    kind = dtype.kind
    fill = numpy.nan if kind in "fc" else numpy.iinfo(dtype).min if kind in "iu" else 0
    return be.xp.broadcast_to(be.xp.full((), fill, dtype), shape)


def apply(op: Op, *inputs: Value) -> Any:
    """Apply a primitive; returns one Value, a tuple for multi-output primitives, or the Node for none."""
    specs = op.infer(*inputs)
    in_dev = _device_of(op, inputs)
    dev = op.result_device(in_dev)
    cls = _result_class(inputs)
    node = None
    symbolic = requires_grad = False
    for v in inputs:
        symbolic = symbolic or v.array is None
        if v._view is not None and v._view_version != v._vc[0]:
            inplace.refresh_view(v)
        requires_grad = requires_grad or v.requires_grad
    if symbolic:
        node = Node(op, inputs)
        vc = inputs[0]._vc if op.is_view else None
        outs = [cls._wrap(None, shape, dtype, dev, node, i, vc=vc) for i, (shape, dtype) in enumerate(specs)]
        node.outputs = outs
        cls._record(node)
    else:
        be = backends.get_backend(in_dev)
        datas = op.forward(be, *[v.array for v in inputs])
        if type(datas) is not tuple:
            datas = (datas,)
        view = vc = None
        if op.is_view:
            if be.xp.may_share_memory(datas[0], inputs[0].array):
                view = inputs[0]
                vc = view._vc
        else:
            datas = _own(be, datas, inputs)
        if requires_grad and _modes.grad_enabled and op.differentiable:
            node = Node(op, tuple(_saved(op, i, v, be) for i, v in enumerate(inputs)))
            outs = []
            for i, d in enumerate(datas):
                box = vc if vc is not None else [0]
                diff = d.dtype.kind == "f"
                outs.append(cls._wrap(d, d.shape, d.dtype, dev, node if diff else None, i, diff, box))
                # The node keeps its own handle on each output (sharing the version box), so
                # outputs do not point back at themselves through their node; its buffer only if the
                # gradient reads it.
                kept = d if op.saves_outputs else _stub(be, d.dtype, d.shape)
                node.outputs.append(Value._wrap(kept, d.shape, d.dtype, dev, None, i, False, box))
            if vc is not None:      # a view starts at its base's version
                node.out_versions = {i: vc[0] for i in range(len(datas))}
        else:
            outs = [cls._wrap(d, d.shape, d.dtype, dev, None, i, False, vc) for i, d in enumerate(datas)]
        if view is not None:
            base, chain = view._view if view._view is not None else (view, ())
            outs[0]._view = (base, chain + (op.view_op(*inputs),))
            outs[0]._view_version = vc[0]
    if not outs:        # an effect-only primitive: hand back its node (None when nothing was recorded)
        return node
    return outs[0] if len(outs) == 1 else tuple(outs)


def _own(be: Any, datas: tuple, inputs: Sequence[Value]) -> tuple:
    """A non-view primitive's outputs as buffers of their own that in-place ops can write: NumPy turns 0-d
    results into immutable scalars, and an output that is an input's buffer (identity, a same-dtype cast)
    would carry a later in-place write back into the input."""
    fixed = None
    for i, d in enumerate(datas):
        bad = type(d) is not be.xp.ndarray
        if not bad:
            for v in inputs:
                if d is v.array:
                    bad = True
                    break
        if bad:
            fixed = fixed or list(datas)
            fixed[i] = be.xp.array(d)
    return datas if fixed is None else tuple(fixed)


from core import inplace  # noqa: E402  (core.inplace builds on apply)
