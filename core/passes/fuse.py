"""Fusion over a Program: chains of elementwise steps, and matmul, conv or a reduction with their elementwise
epilogue (bias, activation, scaling), each run as one step.

A fused chain is data, not code: ``Fused.ops`` (the primitives, in order) and ``Fused.wiring`` (for each, where
its operands come from: -1 is the chain's running result, ``j >= 0`` the fused step's input ``j``).  The CPU
runs it as in-place NumPy calls into one buffer (``core.lowering``); a GPU lowering can generate one kernel
from the same description.  Only values nobody else reads disappear, so every value a reader, a fetch or a
control edge names is still made, under its own key.
"""
from __future__ import annotations

import collections
import functools
from typing import Any, Sequence

import numpy

from backends.errors import OpError
from core import lowering
from core.op import Op
from core.ops import elementwise as ew
from core.ops import linalg, nn, reduce
from core.program import Program, Step

# Ops that may follow in a chain: each reads the running result at one operand and writes it in place.
MEMBERS = frozenset(lowering.ELEMENTWISE)
# Heads of an elementwise chain: the members, and ReluGrad (which uses its output as scratch, so it can
# only come first).
ELEMENTWISE_HEADS = MEMBERS | {ew.ReluGrad}
# Heads of an epilogue: they make a fresh buffer the epilogue then updates in place (a reduction's result,
# scaled or shifted, is as much an epilogue as a product's).
EPILOGUE_HEADS = frozenset({linalg.MatMul, nn.Conv2D, reduce.Sum, reduce.Mean, reduce.Max, reduce.Min})


class Fused(Op):
    """One step running ``ops`` in order into one buffer (see the module docstring for ``wiring``)."""

    name = "Fused"
    differentiable = False

    def __init__(self, ops: Sequence[Op], wiring: Sequence[tuple[int, ...]], nodes: Sequence[Any],
                 dtype: Any) -> None:
        self.ops, self.wiring = tuple(ops), tuple(tuple(w) for w in wiring)
        self.nodes = tuple(nodes)       # the fused nodes, to name the one that fails
        self.dtype = numpy.dtype(dtype)
        self.name = "Fused(" + "+".join(op.name for op in self.ops) + ")"
        head = self.ops[0]
        self._elementwise = type(head) in ELEMENTWISE_HEADS
        # Each op's writer (None for an epilogue's head, which runs its forward or its own writer).
        self._writes = [lowering.elementwise(op) or lowering.HEADS.get(type(op)) for op in self.ops]
        # Where an op and the next one, reading only the running result, have one kernel together
        # (``lowering.PAIRS``: a bias add and its ReLU), the pair's writer replaces the first one's.
        self._paired = set()
        for i in range(len(self.ops) - 1):
            pair = lowering.PAIRS.get((type(self.ops[i]), type(self.ops[i + 1])))
            if pair is not None and self.wiring[i + 1] == (-1,) and i - 1 not in self._paired:
                self._writes[i] = pair
                self._paired.add(i)

    def attrs(self) -> dict:
        return {"ops": [op.name for op in self.ops], "wiring": list(self.wiring)}

    def forward(self, be: Any, *arrays: Any) -> Any:
        if self._elementwise:
            out = self._result(be, arrays, None)
            self._run(be, out, arrays, 0)
            return out
        try:
            head = self.ops[0].forward(be, *[arrays[j] for j in self.wiring[0]])
        except OpError as exc:
            self._name(exc, 0)
            raise
        out = self._result(be, arrays, head)
        if out is not head:
            be.xp.copyto(out, head)
        self._run(be, out, arrays, 1)
        return out

    def _result(self, be: Any, arrays: Sequence[Any], head: Any) -> Any:
        """The chain's result buffer, laid out in memory as the unfused chain's last result would be (a
        reduction or GEMM downstream sums in memory order, so the layout is part of the numbers).  Each
        elementwise result is laid out by all its operands, the running result among them, so the layout is
        followed op by op on one-byte stand-ins, from the epilogue's ``head`` result (returned when it
        already is so laid out) or from the first op."""
        run, last = head, len(self.ops) - 1
        dtype = self.dtype if head is None else head.dtype      # an epilogue runs in the head's dtype
        for i in range(0 if head is None else 1, len(self.ops)):
            operands = [run if j < 0 else arrays[j] for j in self.wiring[i]]
            if type(self.ops[i]) is nn.BiasAdd:         # added as the bias reshaped against the running result
                operands[1] = lowering.bias_operand(self.ops[i], *operands)
            run = be.empty_result(operands, dtype if i == last else numpy.uint8)
        if head is not None and run.strides == head.strides:
            return head
        return run

    def can_write(self, in_specs: Sequence[tuple], out_specs: Sequence[tuple]) -> bool:
        """Whether the whole chain can write into a given buffer (an epilogue of a conv cannot yet)."""
        if self._elementwise:
            return True
        head_in = [in_specs[j] for j in self.wiring[0]]
        return lowering.writer(self.ops[0], head_in, out_specs) is not None

    def shares(self) -> tuple[int, ...]:
        """``forward`` returns a new buffer (its own, or the matmul's or convolution's new result)."""
        return ()

    def write_into(self, be: Any, *arrays: Any, out: Any) -> None:
        self._run(be, out, arrays, 0)

    def prepare(self, be: Any) -> Any:
        """``write_into`` bound to the step's arrays (``core.lowering.bind``) where the backend binds kernels and
        the head can be bound (an elementwise head, or a convolution's or product's ``prepare``), else None:
        every op of the chain then runs as a function of no arguments, made once for those arrays."""
        make = getattr(be, "prepared", None)
        head = None
        if make is not None and not self._elementwise:
            prepare = getattr(self.ops[0], "prepare", None)
            head = prepare(be) if prepare is not None else None
            if head is None:
                return None
        return make and make(functools.partial(self._bind, be, head and head.call))

    def _bind(self, be: Any, head: Any, *arrays: Any, out: Any) -> Any:
        """The chain on these arrays as a function of no arguments (``head``: the head's binder, or None for an
        elementwise chain, whose head binds as its members do)."""
        calls = [] if head is None else [(0, head(*[arrays[j] for j in self.wiring[0]], out=out))]
        calls += self._members(be, out, arrays, 0 if head is None else 1)
        return functools.partial(self._call_all, calls)

    def inplace_positions(self) -> tuple[int, ...]:
        """Inputs read by the head alone, at a position where the head allows it, may be the output buffer."""
        head = self.ops[0]
        if not self._elementwise:
            return ()
        later = {j for w in self.wiring[1:] for j in w}
        first = self.wiring[0]
        return tuple(first[p] for p in lowering.may_alias(head) if first[p] not in later and first.count(first[p]) == 1)

    def _run(self, be: Any, out: Any, arrays: Sequence[Any], start: int) -> None:
        self._call_all(self._members(be, out, arrays, start))

    def _members(self, be: Any, out: Any, arrays: Sequence[Any], start: int) -> list:
        """(op index, its writer on these arrays as a function of no arguments) for ops ``start``.. of the chain;
        a pair's second op runs in the first one's call (``lowering.PAIRS``)."""
        return [(i, lowering.bound(self._writes[i], be, self.ops[i], [out if j < 0 else arrays[j]
                                                                       for j in self.wiring[i]], out))
                for i in range(start, len(self.ops)) if i - 1 not in self._paired]

    def _call_all(self, calls: Sequence[tuple]) -> None:
        i = 0
        try:
            for i, call in calls:
                call()
        except OpError as exc:
            self._name(exc, i)
            raise

    def _name(self, exc: OpError, i: int) -> None:
        if exc.op is None:      # the fused node that failed, as an unfused run would name it
            exc.op = self.nodes[i]


def _provably_fits(spine: Sequence, operand: Sequence) -> bool:
    """Whether an operand of static shape ``operand`` broadcasts into ``spine`` without widening it, whatever
    the unknown (None) sizes turn out to be."""
    if len(operand) > len(spine):
        return False
    return all(e == 1 or (e is not None and e == s) for e, s in zip(reversed(operand), reversed(spine)))


def _fuse(program: Program, heads: frozenset, grow_check: bool) -> Program:
    steps = program.steps
    readers: dict = collections.defaultdict(list)      # key -> [(step index, operand positions)]
    for i, s in enumerate(steps):
        pos: dict = collections.defaultdict(list)
        for p, k in enumerate(s.ins):
            pos[k].append(p)
        for k, ps in pos.items():
            readers[k].append((i, ps))
    pinned = program.kept() | set(program.aliases.values())
    anchored = {id(c) for s in steps for c in s.node.control} | program.targets

    def fusable(s: Step, kinds: frozenset) -> bool:
        node = s.node
        writes = lowering.elementwise(s.op) or type(s.op) in lowering.HEADS
        return (type(s.op) in kinds and writes and len(node.outputs) == 1 and node.outputs[0].dtype.kind == "f"
                and not node.control and id(node) not in anchored)

    chains: dict = {}       # index of a chain's last step -> the chain's step indices
    absorbed: set = set()
    redirect: dict = {}     # an epilogue's fused-away value -> its result, for the readers of its shape
    for i, s in enumerate(steps):
        if i in absorbed or not fusable(s, heads):
            continue
        chain = [i]
        while True:
            cur = steps[chain[-1]]
            k = (id(cur.node), 0)
            data = [(j, ps) for j, ps in readers[k] if not (grow_check and _reads_shape_only(steps[j], ps))]
            if k in pinned or len(data) != 1:
                break
            j, ps = data[0]
            nxt = steps[j]
            if j in absorbed or len(ps) != 1 or not fusable(nxt, MEMBERS) or nxt.node.outputs[0].dtype != cur.node.outputs[0].dtype:
                break
            if grow_check:      # an epilogue writes into the head's buffer: no operand may widen it
                spine = cur.node.outputs[0].shape
                ext = [v.shape for p, v in enumerate(nxt.node.inputs) if p != ps[0]
                       and not (type(nxt.op) is nn.BiasAdd and p == 1)]
                if tuple(nxt.node.outputs[0].shape) != tuple(spine) or not all(_provably_fits(spine, e) for e in ext):
                    break
            chain.append(j)
        if grow_check:
            chain = _cut_before_early_shape_readers(program, chain, readers)
        if len(chain) > 1:
            chains[chain[-1]] = chain
            absorbed.update(chain)
            final = (id(steps[chain[-1]].node), 0)
            redirect.update({(id(steps[c].node), 0): final for c in chain[:-1]})
    if not chains:
        return program
    out = []
    for i, s in enumerate(steps):
        if i in chains:
            out.append(_fused_step(program, [steps[j] for j in chains[i]]))
        elif i not in absorbed:
            ins = [redirect.get(k, k) for k in s.ins]
            out.append(s if ins == s.ins else Step(s.node, s.op, ins))
    return program.rewrite(out)


def _reads_shape_only(step: Step, positions: list) -> bool:
    return set(positions) <= set(lowering.shape_only(step.op))


def _cut_before_early_shape_readers(program: Program, chain: list, readers: dict) -> list:
    """An epilogue's values read for their shape by other steps are handed the epilogue's result (of the same
    shape) instead, which exists only once the chain has run: the longest prefix of ``chain`` whose fused-away
    values are read by no other step before its end."""
    steps = program.steps
    for u in range(len(chain) - 1, 0, -1):
        end, members = chain[u], set(chain[:u + 1])
        if all(j > end for c in chain[:u] for j, _ in readers[(id(steps[c].node), 0)] if j not in members):
            return chain[:u + 1]
    return chain[:1]


def _fused_step(program: Program, chain: list[Step]) -> Step:
    ins: list = []
    wiring = []
    prev = None
    for s in chain:
        w = []
        for k in s.ins:
            if k == prev:
                w.append(-1)
            else:
                if k not in ins:
                    ins.append(k)
                w.append(ins.index(k))
        wiring.append(tuple(w))
        prev = (id(s.node), 0)
    last = chain[-1].node
    op = Fused([s.op for s in chain], wiring, [s.node for s in chain], last.outputs[0].dtype)
    return Step(last, op, ins)


def fuse_elementwise(program: Program) -> Program:
    """Chains of elementwise steps (each value read only by the next) run as one ``Fused`` step."""
    return _fuse(program, ELEMENTWISE_HEADS, grow_check=False)


def fuse_epilogues(program: Program) -> Program:
    """A matmul or convolution and the elementwise steps that only transform its result (bias, activation)
    run as one ``Fused`` step, the epilogue in place in the product's buffer."""
    return _fuse(program, EPILOGUE_HEADS, grow_check=True)
