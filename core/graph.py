"""Values and the nodes that connect them.

A ``Value`` is what primitives consume and produce.  In eager mode it carries a
backend array in ``data``; in a static graph ``data`` is None and the value is a
symbol.  A ``Node`` records one primitive application; its ``inputs`` and
``outputs`` are Values, so the graph can be walked, printed and replayed.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import itertools

import numpy

# Creation order of nodes: an in-place write finds the nodes its own computation made (those newer than its start).
_node_seq = itertools.count()


class Value:
    """A tensor value: static shape (None = unknown dim), dtype, device, producer."""

    __slots__ = ("shape", "dtype", "device", "node", "index", "array", "requires_grad", "_vc", "_view",
                 "_view_version", "__weakref__")
    _shape_type: type = tuple       # frontends store shapes as their own tuple type (torch.Size, TensorShape)
    # The class of a primitive's output computed from this value, when it is not this value's own class: an op
    # on a torch Parameter or a TF Variable gives a plain Tensor, as in both libraries.
    _op_result: type | None = None

    def _init_value(self, data: Any, shape: tuple, dtype: Any, device: Any, node: "Node | None" = None,
                    index: int = 0, requires_grad: bool = False, vc: list | None = None) -> None:
        self.array = data       # the backend array; None for a symbol in a static graph
        self.shape = self._shape_type(shape)
        self.dtype = numpy.dtype(dtype)
        self.device = device
        self.node = node
        self.index = index
        self.requires_grad = requires_grad
        # Version box, shared with views and with the node's saved copy, bumped by in-place writes.
        self._vc = vc if vc is not None else [0]
        # For an eager view: (base, chain of view primitives from the base), and the version at which this
        # value's node was last derived from the base (see core/inplace.py).
        self._view: tuple | None = None
        self._view_version = 0

    @classmethod
    def _wrap(cls, data: Any, shape: tuple, dtype: Any, device: Any, node: "Node | None" = None,
              index: int = 0, requires_grad: bool = False, vc: list | None = None) -> "Value":
        """Make an instance without running a frontend's ``__init__``."""
        v = object.__new__(cls)
        v._init_value(data, shape, dtype, device, node, index, requires_grad, vc)
        return v

    def snapshot(self) -> "Value":
        """A plain Value with this value's current identity, buffer and version box (what a node keeps)."""
        s = object.__new__(Value)
        s.array, s.shape, s.dtype, s.device = self.array, self.shape, self.dtype, self.device
        s.node, s.index, s.requires_grad, s._vc = self.node, self.index, self.requires_grad, self._vc
        s._view, s._view_version = None, 0
        return s

    @classmethod
    def _record(cls, node: "Node") -> None:
        """Hook for frontends: called when a symbolic node is created (static graphs register it)."""

    @property
    def data(self) -> Any:
        """The backend array (a frontend may give ``data`` its own meaning: PyTorch's is a Tensor)."""
        return self.array

    @data.setter
    def data(self, value: Any) -> None:
        self.array = value

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        src = f"{self.node.op.name}[{self.index}]" if self.node else "leaf"
        return f"Value(shape={self.shape}, dtype={self.dtype}, device={self.device}, from={src})"


class Node:
    """One application of a primitive: ``outputs = op(*inputs)``."""

    __slots__ = ("op", "inputs", "outputs", "versions", "out_versions", "freed", "control", "seq", "retained",
                 "hooks", "__weakref__", "__dict__")

    def __init__(self, op: Any, inputs: tuple[Value, ...]) -> None:
        self.op = op
        self.inputs = inputs
        self.outputs: list[Value] = []
        self.versions = tuple(v._vc[0] for v in inputs)
        self.out_versions: dict[int, int] = {}     # outputs rebound by an in-place op start above 0
        self.freed = False
        # Nodes that must run first without passing a value (static graphs' control dependencies).
        self.control: tuple[Node, ...] = ()
        self.seq = next(_node_seq)
        # Eager tensors that asked for their gradient (retain_grad), by output index.
        self.retained: dict[int, Any] | None = None
        # Gradient hooks by output index (eager ``Tensor.register_hook``): each maps the gradient w.r.t. that
        # output, once final, to a replacement or None; the reverse pass runs them in their tables' order.
        self.hooks: dict[int, Any] | None = None

    def deps(self) -> Iterable["Node"]:
        for v in self.inputs:
            if v.node is not None:
                yield v.node
        yield from self.control

    def __repr__(self) -> str:
        shapes = ", ".join(str(v.shape) for v in self.inputs)
        return f"Node({self.op!r}, inputs=[{shapes}])"


def toposort(roots: Iterable[Node], deps: Callable[[Node], Iterable[Node]] = Node.deps) -> list[Node]:
    """Nodes reachable from ``roots`` through ``deps`` (inputs' producers and control edges), producers first."""
    order: list[Node] = []
    seen: set[int] = set()
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(deps(root)))]
        while stack:
            node, it = stack[-1]
            for child in it:
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, iter(deps(child))))
                    break
            else:
                stack.pop()
                order.append(node)
    return order
