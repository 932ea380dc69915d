"""Collectives as primitives: all-reduce and broadcast over the default ``core.comm`` group.

    >>> from core import comm
    >>> from core.ops import comm as comm_ops
    >>> world = comm.init()                            # doctest: +SKIP  (under mpiexec)
    >>> avg_w, avg_b = comm_ops.allreduce([gw, gb])    # doctest: +SKIP  (one fused all-reduce)

They keep the primitive contract, so a static graph holds them as nodes (Horovod's
``HorovodAllreduce``) and the reverse pass differentiates through them: the
gradient of an all-reduce (sum or average) is the same all-reduce of the incoming
gradient.  Every rank must run the same collectives in the same order, which a
graph built alike on every rank gives.  One node reduces many tensors in one
collective per dtype (Horovod's tensor fusion): one message per step, not one
per variable.  Shapes are compared across ranks (``Communicator.check_shapes``)
so a mismatch raises on every rank, naming the tensor, instead of mixing bytes.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy

from core import comm as _comm
from core.graph import Value
from core.op import Op, apply
from core.ops.shape import fill_like


class _Spec:
    """A shape and dtype, compared across ranks as an array's would be (static shapes may hold None)."""

    def __init__(self, shape: tuple, dtype: Any) -> None:
        self.shape, self.dtype = shape, dtype


def _fused(be: Any, xs: Sequence[Any], launch: Callable[[Any], _comm.Handle]) -> tuple:
    """Run one collective per dtype over all of ``xs`` flattened into one buffer; the results, split back."""
    groups: dict = {}
    for i, x in enumerate(xs):
        groups.setdefault(numpy.dtype(x.dtype), []).append(i)
    started = []
    for members in groups.values():
        flat = (xs[members[0]].reshape(-1) if len(members) == 1
                else be.xp.concatenate([xs[i].reshape(-1) for i in members]))
        started.append((members, launch(flat)))
    out: list = [None] * len(xs)
    for members, handle in started:
        flat, off = handle.wait(), 0
        for i in members:
            n = int(xs[i].size)
            out[i] = flat[off:off + n].reshape(xs[i].shape)
            off += n
    return tuple(out)


class _Collective(Op):
    differentiable = False
    saves_inputs = False
    pure = False        # the result depends on the other ranks: never folded at compile time nor merged

    def __init__(self, names: Sequence[str] | None) -> None:
        self.names = None if names is None else tuple(names)

    def infer(self, *xs: Value) -> list:
        if not xs:
            raise ValueError(f"{self.name}: needs at least one tensor")
        if self.names is not None and len(self.names) != len(xs):
            raise ValueError(f"{self.name}: {len(self.names)} names for {len(xs)} tensors")
        # The static shapes, compared across ranks at the first run (see _check).
        self._static = [_Spec(tuple(x.shape), x.dtype) for x in xs]
        self._checked = False
        return [(x.shape, x.dtype) for x in xs]

    def _check(self, world: _comm.Communicator, xs: Sequence[Any]) -> None:
        """Compare shapes across ranks: the static ones once, then the actual ones at every run only when some
        static dim is unknown.  Every rank decides alike (equal static shapes imply equal decisions), so all
        ranks make the same number of metadata exchanges."""
        if not self._checked:
            world.check_shapes(self.name, self._static, self.names)
            self._checked = True         # a memo of that exchange, not a setting: attrs() leaves it out
        if any(None in s.shape for s in self._static):
            world.check_shapes(self.name, xs, self.names)


class AllReduce(_Collective):
    """Outputs: each input reduced elementwise over the ranks (``reduce``: sum, avg, prod, min or max)."""

    name = "AllReduce"

    def __init__(self, reduce: str = "avg", names: Sequence[str] | None = None) -> None:
        if reduce not in _comm.OPS:
            raise ValueError(f"AllReduce: reduce must be one of {_comm.OPS}, got {reduce!r}")
        super().__init__(names)
        self.reduce = reduce
        self.differentiable = reduce in ("sum", "avg")

    def infer(self, *xs: Value) -> list:
        for i, x in enumerate(xs):
            if self.reduce == "avg" and x.dtype.kind != "f":
                label = self.names[i] if self.names else f"tensor {i}"
                raise self.dtype_error(label, "float32 or float64 (reduce='avg' divides)", x.dtype)
        return super().infer(*xs)

    def forward(self, be: Any, *xs: Any) -> tuple:
        world = _comm.world()
        self._check(world, xs)
        return _fused(be, xs, lambda flat: world.allreduce(flat, self.reduce, async_op=True))

    def vjp(self, node: Any, grads: Sequence[Value | None], needs: Sequence[bool]) -> tuple:
        # d(sum_r x_r)/dx_r = 1 on every rank, so each rank's input gradient is the sum of all ranks' output
        # gradients (their average for 'avg').  Every output takes part (zeros where no gradient flows), so all
        # ranks run the same collective.
        gs = [g if g is not None else fill_like(o, 0.0) for g, o in zip(grads, node.outputs)]
        out = allreduce(gs, self.reduce, self.names)
        return out if isinstance(out, tuple) else (out,)


class Broadcast(_Collective):
    """Outputs: rank ``root``'s values of the inputs, on every rank."""

    name = "Broadcast"

    def __init__(self, root: int = 0, names: Sequence[str] | None = None) -> None:
        super().__init__(names)
        self.root = int(root)

    def forward(self, be: Any, *xs: Any) -> tuple:
        world = _comm.world()
        if not 0 <= self.root < world.size:
            raise ValueError(f"Broadcast: root rank {self.root} is out of range for a world of size {world.size}")
        self._check(world, xs)
        return _fused(be, xs, lambda flat: world.broadcast(flat, self.root, async_op=True))


def allreduce(xs: Sequence[Value], reduce: str = "avg", names: Sequence[str] | None = None) -> Any:
    """All of ``xs`` reduced over the ranks in one fused collective per dtype; a tuple, or one value for one."""
    return apply(AllReduce(reduce, names), *xs)


def broadcast(xs: Sequence[Value], root: int = 0, names: Sequence[str] | None = None) -> Any:
    """Rank ``root``'s ``xs`` on every rank; a tuple, or one value for one."""
    return apply(Broadcast(root, names), *xs)
