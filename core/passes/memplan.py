"""The memory plan of a Program for concrete shapes: every value a step can write in place of allocating
(``core.lowering.writer``) gets an offset in one arena, from the values' lifetimes.  A value whose shape
depends on values (``Op.value_shaped``, and everything computed from it) is not planned: its steps allocate.

A value's lifetime runs from the step that makes it to the last step that reads its data, or reads anything
that may be a view of it: a step without a writer may hand back (a view of) an input, so its outputs keep
their inputs' buffers alive; a step that reads an operand's shape alone (``core.lowering.shape_only``)
does not.  Fetched values live to the end.  A writer whose input dies at that very step and has
the output's shape and dtype writes over it (``core.lowering.inplace_positions``); a writer with several
outputs (``core.lowering.SEVERAL``) gets a buffer for each.  Offsets are assigned greedily, largest buffer
first, at the lowest address free for its whole lifetime (TFLite's "greedy by size").
"""
from __future__ import annotations

from typing import Any, Callable, Container

import numpy

from core import lowering
from core.program import Key, Program

ALIGN = 64      # bytes: a cache line, and every dtype's alignment


class MemoryPlan:
    """``writers[i]``: step ``i``'s writer or None; ``slots[key]``: (offset, shape, dtype, layout) of each planned
    value; ``arena_bytes``: the arena's size; ``unplanned_peak_bytes``: the most bytes the Program's own
    intermediate values hold at once when run without the plan (each result a new array, dropped after its
    last use), for comparison; ``inplace``: how many steps write over an input; ``lifetimes[key]``: the
    first and last step during which each planned value's buffer is in use; ``outside``: the values a writer
    makes in a buffer the caller gave (``plan_memory``'s ``outside``), not in the arena."""

    def __init__(self, writers: list, slots: dict, arena_bytes: int, unplanned_peak_bytes: int,
                 inplace: int, lifetimes: dict, outside: set | None = None) -> None:
        self.writers, self.slots, self.arena_bytes = writers, slots, arena_bytes
        self.unplanned_peak_bytes, self.inplace, self.lifetimes = unplanned_peak_bytes, inplace, lifetimes
        self.outside = outside or set()

    def unlowered(self, program: Program) -> list[str]:
        """The names of the ops that still run ``forward`` (and allocate) under this plan."""
        return sorted({s.op.name for s, w in zip(program.steps, self.writers) if w is None and s.node.outputs})


def layout(a: Any) -> tuple[int, ...] | None:
    """The order of ``a``'s axes in memory, outermost first (None: C order).  NumPy's elementwise results
    follow their inputs' order (a transposed NHWC view stays one), and a GEMM downstream sums in an order
    that depends on it: a planned buffer keeps the order the value had unplanned, so the numbers match."""
    if a.ndim < 2 or a.flags.c_contiguous:
        return None
    return tuple(sorted(range(a.ndim), key=lambda ax: -abs(a.strides[ax])))


def spec(a: Any) -> tuple | None:
    """What a plan needs to know of a value: (shape, dtype, layout); None for a result that is no array (the
    steps that make or read it are left unplanned)."""
    if not hasattr(a, "flags"):
        return None
    return tuple(a.shape), a.dtype, layout(a)


def _nbytes(spec: tuple) -> int:
    shape, dtype = spec[0], spec[1]
    return int(numpy.prod(shape, dtype=numpy.int64)) * numpy.dtype(dtype).itemsize


def plan_memory(program: Program, specs: dict[Key, tuple], outside: Container[Key] = ()) -> MemoryPlan:
    """The plan of ``program`` for the concrete ``spec`` (shape, dtype, layout) of each value it makes and is
    fed (``specs``, as recorded by one run).  Values in ``outside`` that a writer makes get no room in the
    arena (the caller has a buffer for each: ``MemoryPlan.outside``), and no step writes over them."""
    steps = program.steps
    n = len(steps)
    writers: list[Callable | None] = []
    varying: set = set()        # values whose shape may differ at the next run with the same feeds
    for s in steps:
        outs = [specs[k] for k in program.outputs(s)]
        ins = [specs.get(k) for k in s.ins]
        if s.op.value_shaped or not varying.isdisjoint(s.ins):
            varying.update(program.outputs(s))
            writers.append(None)
            continue
        ok = outs and all(x is not None for x in ins + outs)
        writers.append(lowering.writer(s.op, ins, outs) if ok else None)

    # Which planned values each value may share memory with, and so when each planned value dies.
    owner: dict = {}        # value key -> planned value keys it may be (a view of)
    end: dict = {}          # planned value key -> last step reading it (or a view of it)
    born: dict = {}
    for i, (s, w) in enumerate(zip(steps, writers)):
        # A read of the shape alone does not need the memory (unless the step may hand that input back).
        skip = set(lowering.shape_only(s.op))
        if w is None:
            skip -= set(lowering.may_share(s.op, len(s.ins)))
        for pos, k in enumerate(s.ins):
            if pos not in skip:
                for p in owner.get(k, ()):
                    end[p] = max(end[p], i)
        outs = program.outputs(s)
        if w is not None:
            for k in outs:      # an output nobody reads still takes its buffer for the step that writes it
                owner[k], end[k], born[k] = (k,), i, i
        else:
            shared = tuple({p for j in lowering.may_share(s.op, len(s.ins)) for p in owner.get(s.ins[j], ())})
            for k in outs:
                if shared:
                    owner[k] = shared
    for k in program.kept():
        for p in owner.get(k, ()):
            end[p] = n

    # Buffers: planned values, merged where a writer writes over a dying input.
    buffer_of: dict = {}
    buffers: list = []      # [first step, last step, bytes]
    placed_outside: set = set()
    inplace = 0
    for i, (s, w) in enumerate(zip(steps, writers)):
        if w is None:
            continue
        outs = program.outputs(s)
        ins = [specs.get(x) for x in s.ins]
        for k in outs:
            if k in outside:
                placed_outside.add(k)
                continue
            b = None
            # Only a one-output writer may write over an input (``may_alias`` speaks of "the output").
            for p in lowering.inplace_positions(s.op, ins, specs[k]) if len(outs) == 1 else ():
                src = s.ins[p]
                if (src in buffer_of and owner.get(src) == (src,) and end[src] == i
                        and (s.ins.count(src) == 1 or type(s.op) in lowering.ELEMENTWISE)):
                    b = buffer_of[src]
                    break
            if b is None:
                b = len(buffers)
                buffers.append([i, end[k], _nbytes(specs[k])])
            else:
                buffers[b][1] = end[k]
                inplace += 1
            buffer_of[k] = b

    offsets = _assign(buffers)
    slots = {k: (offsets[b], tuple(specs[k][0]), numpy.dtype(specs[k][1]), specs[k][2]) for k, b in buffer_of.items()}
    arena = max((offsets[b] + buffers[b][2] for b in range(len(buffers))), default=0)
    lifetimes = {k: (born[k], end[k]) for k in buffer_of}
    return MemoryPlan(writers, slots, arena, _unplanned_peak(program, specs), inplace, lifetimes, placed_outside)


def _assign(buffers: list) -> list[int]:
    offsets = [0] * len(buffers)
    placed: list = []
    for b in sorted(range(len(buffers)), key=lambda b: -buffers[b][2]):
        lo, hi, size = buffers[b]
        busy = sorted((offsets[o], offsets[o] + buffers[o][2]) for o in placed
                      if buffers[o][0] <= hi and lo <= buffers[o][1])
        at = 0
        for start, stop in busy:
            if at + size <= start:
                break
            at = max(at, -(-stop // ALIGN) * ALIGN)
        offsets[b] = at
        placed.append(b)
    return offsets


def _unplanned_peak(program: Program, specs: dict) -> int:
    live = peak = 0
    sizes: dict = {}
    for i, s in enumerate(program.steps):
        if not s.op.is_view:
            for k in program.outputs(s):
                sizes[k] = _nbytes(specs[k]) if specs.get(k) is not None else 0
                live += sizes[k]
        peak = max(peak, live)
        for k in program.release.get(i, ()):
            live -= sizes.pop(k, 0)
    return peak


def views(arena: Any, plan: MemoryPlan) -> dict:
    """Each planned value's array: a view of ``arena`` (bytes) at its offset."""
    out = {}
    for k, (off, shape, dtype, order) in plan.slots.items():
        size = _nbytes((shape, dtype))
        flat = arena[off:off + size].view(dtype)
        if order is None:
            out[k] = flat.reshape(shape)
        else:
            out[k] = flat.reshape([shape[a] for a in order]).transpose(numpy.argsort(order))
    return out
