"""In-place writes and views with PyTorch's semantics, for eager values.

A frontend tensor is a mutable handle on a buffer: its autograd identity is ``(node, index)`` and an
in-place op gives it a new one, while every node made earlier keeps a frozen copy of the identity it read
(``core.op._saved``), so earlier edges are never rewired.  The write itself goes into the buffer, so views
(values made by ``is_view`` primitives, which share the buffer and its version box) see it, and any node
that saved the old data finds the version changed when its gradient needs it (PyTorch's version counter).

Autograd through a write into a view follows PyTorch's ``CopySlices``: the view's base gets a new identity,
``CopySlices(old base, new view value)``, and the view is re-derived from the new base by replaying its
chain of view primitives.  Other views of the same base re-derive themselves lazily, when their version no
longer matches the one their identity was derived at (``refresh_view``, called by ``apply``).
"""
from __future__ import annotations

from typing import Any, Sequence

import backends
from core import graph
from core.errors import DTypeError
from core.graph import Node, Value
from core.op import Op, apply, freeze, grad_mode, is_grad_enabled
from core.ops import elementwise, shape


class CopySlices(Op):
    """``base`` with the elements that ``chain`` selects replaced by ``src`` (the chain's view primitives,
    ending possibly in an advanced-index GetItem).  The gradient is the incoming gradient with that region
    zeroed for ``base``, and the region itself for ``src``."""

    name = "CopySlices"
    arg_names = ("base", "src")
    saves_inputs = False

    def __init__(self, chain: Sequence[Op]) -> None:
        self.chain = tuple(chain)

    def infer(self, base: Value, src: Value) -> list:
        return [(base.shape, base.dtype)]

    def forward(self, be: Any, base: Any, src: Any) -> Any:
        out = base.copy()
        # Replaying the chain on element numbers finds where each view element lives in the base, whatever
        # the mix of slices, transposes and reshapes (an advanced index included).
        where = be.xp.arange(out.size).reshape(out.shape)
        for op in self.chain:
            where = op.forward(be, where)
        out.reshape(-1)[where] = src
        return out

    def vjp(self, node: Node, grads: Sequence[Value | None], needs: Sequence[bool]) -> Sequence[Value | None]:
        g = grads[0]
        region = replay(self.chain, g)
        gbase = apply(CopySlices(self.chain), g, apply(_Zeros(), region)) if needs[0] else None
        return gbase, (region if needs[1] else None)


class _Zeros(Op):
    name = "ZerosLike"
    differentiable = False
    saves_inputs = False

    def infer(self, x: Value) -> list:
        return [(x.shape, x.dtype)]

    def forward(self, be: Any, x: Any) -> Any:
        return be.xp.zeros(x.shape, dtype=x.dtype)


def replay(chain: Sequence[Op], x: Value) -> Value:
    """Apply a chain of one-input primitives to ``x``."""
    for op in chain:
        x = apply(op, x)
    return x


def view_root(v: Value) -> tuple:
    """(base, chain of view primitives) that view ``v`` derives from.  A base that a shape-changing in-place
    op (``unsqueeze_``) turned into a view of its own former identity hands over to that identity: it still
    has the shape the chain was built on."""
    base, chain = v._view
    if base._view is not None:
        base = base._view[0]
    return base, chain


def refresh_view(v: Value) -> None:
    """Re-derive a view's autograd identity from its base after an in-place write changed the base."""
    base, chain = view_root(v)
    if base.requires_grad:
        with grad_mode(True):
            fresh = replay(chain, base)
        v.node, v.index, v.requires_grad = fresh.node, fresh.index, fresh.requires_grad
    v._view_version = v._vc[0]


def begin() -> int:
    """Mark the start of an in-place op's own computation (pass the mark to ``assign``)."""
    return next(graph._node_seq)


def operand(v: Value) -> Value:
    """``v`` as an input to its own in-place op: the same buffer and identity, its own version box (the
    write must not make the op's own nodes look stale; ``assign`` keeps the old data where they need it)."""
    if v._view is not None and v._view_version != v._vc[0]:
        refresh_view(v)
    return type(v)._wrap(v.array, v.shape, v.dtype, v.device, v.node, v.index, v.requires_grad, [v._vc[0]])


def _keep_old_data(result: Value, op_input: Value, start: int) -> None:
    """Give the nodes of the in-place computation that saved ``op_input`` a copy of its old data."""
    readers, stack, seen = [], [result.node], set()
    while stack:
        n = stack.pop()
        if n is None or n.seq < start or id(n) in seen:
            continue
        seen.add(id(n))
        if n.op.saves_inputs:
            readers += [v for v in n.inputs if v._vc is op_input._vc]
        stack += [v.node for v in n.inputs]
    if readers:
        old = op_input.array.copy()
        for v in readers:
            v.array = old


def _check_writable(target: Value, name: str) -> None:
    if any(st == 0 and n > 1 for st, n in zip(target.array.strides, target.shape)):
        raise RuntimeError(f"{name}: unsupported operation: more than one element of the written-to tensor refers "
                           "to a single memory location. Please clone() the tensor before performing the operation.")


def assign(target: Value, result: Value | float, name: str, start: int, op_input: Value | None = None,
           index: Any = None, overwrite: bool = False) -> Value:
    """Write ``result`` (a value, or a number to fill with) into ``target``'s buffer, or into
    ``target[index]`` for an advanced index, and give autograd the new value.  ``start`` is ``begin()``'s mark
    from before ``result`` was computed; ``op_input`` the ``operand`` it was computed from, if any.
    ``overwrite``: the result does not derive from the old value (copy_, fill_), which autograd still
    reaches with a zero gradient, as PyTorch does (so a saved old value overwritten later still raises)."""
    if target._view is not None and target._view_version != target._vc[0]:
        refresh_view(target)
    base, chain = view_root(target) if target._view is not None else (target, ())
    if index is not None:
        chain = chain + (shape.GetItem(index),)
    expected = tuple(target.shape if index is None else chain[-1].infer(target)[0][0])
    be = backends.get_backend(target.device)
    if isinstance(result, Value):
        if tuple(result.shape) != expected:
            raise RuntimeError(f"{name}: output with shape {list(expected)} doesn't match the broadcast shape "
                               f"{list(result.shape)}")
        if result.dtype.kind == "f" and target.dtype.kind != "f":
            raise DTypeError(f"{name}: result type {result.dtype} can't be cast to the desired output type "
                             f"{target.dtype}")
        result_grad = result.requires_grad
    else:
        result_grad = False
    recording = is_grad_enabled() and (result_grad or base.requires_grad or target.requires_grad)
    if recording and base.node is None and base.requires_grad:
        raise RuntimeError(("a view of a leaf Variable that requires grad is being used in an in-place operation."
                            if base is not target else
                            "a leaf Variable that requires grad is being used in an in-place operation."))
    if any(st == 0 and n > 1 for st, n in zip(target.array.strides, target.shape)):
        raise RuntimeError(f"{name}: unsupported operation: more than one element of the written-to tensor refers "
                           "to a single memory location. Please clone() the tensor before performing the operation.")
    if not isinstance(result, Value):
        if not recording:       # a plain fill: nothing to record, nothing to allocate
            target.array[... if index is None else index] = result
            target._vc[0] += 1
            return target
        result = Value._wrap(be.xp.full(expected, result, dtype=target.dtype), expected, target.dtype,
                             target.device)
    if result.dtype != target.dtype:
        with grad_mode(recording):
            result = elementwise.cast(result, target.dtype)
    if recording and op_input is not None and result.node is not None:
        _keep_old_data(result, op_input, start)
    if index is None:
        be.xp.copyto(target.array, result.array, casting="unsafe")
    else:
        target.array[index] = result.array
    target._vc[0] += 1
    if not recording:
        return target
    if index is None and result.node is not None and result.node.seq >= start and not result.node.op.is_view:
        # The new node's output now lives in the target's buffer: a later write there is seen by its version.
        _adopt(result.node, result.index, target)
        if base is target and not overwrite:       # a plain in-place op: the target becomes that output
            _rebind(target, result.node, result.index)
            return target
    node = Node(CopySlices(chain), (freeze(base), freeze(result)))
    node.outputs.append(Value._wrap(base.array, base.shape, base.dtype, base.device, None, 0, False, base._vc))
    _adopt(node, 0, base)
    _rebind(base, node, 0)
    if base is not target:
        refresh_view(target)
    return target


def _adopt(node: Node, index: int, t: Value) -> None:
    out = node.outputs[index]
    out.array, out._vc = t.array, t._vc
    node.out_versions = {**node.out_versions, index: t._vc[0]}


def _rebind(t: Value, node: Node, index: int) -> None:
    retained = t.node.retained if t.node is not None else None
    if retained is not None and retained.get(t.index) is t:     # retain_grad follows the tensor
        del retained[t.index]
        node.retained = {**(node.retained or {}), index: t}
    t.node, t.index, t.requires_grad = node, index, True
    t._view_version = t._vc[0]


