"""Conditional execution: ``Cond`` runs one of two sub-programs, chosen by a scalar boolean, and ``CondGrad``
the gradient of the one that ran (TF1's ``tf.cond``).

A branch is a piece of the graph (``Branch``): its output values, the outside values it reads (the Cond's
inputs after the predicate) and the values its own nodes make.  Only the chosen branch runs, so its
variable updates, random draws and errors happen only when it is taken.  Its gradient is a second piece of
graph, built by the one reverse pass (``core.autodiff``) over the branch; it reads the forward values the
branch made, which the Cond hands on in its last output (a "tape": which branch ran and its values), so the
branch is never run twice (a second run would draw other dropout masks).  The gradient of an outside value
that the branch that ran does not read is zeros, as in TF.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy

from core import state as _state
from core.graph import Node, Value
from core.op import Op, apply
from core.program import Key, Program, key

TAPE = numpy.dtype(object)      # the dtype of the tape output: which branch ran, and the values it made


class Branch:
    """One side of a ``Cond``: ``outputs`` (values, or nodes run for their effect), ``captures`` (the outside
    values its nodes read) and ``nodes`` (the nodes it made, in the order they were made)."""

    def __init__(self, outputs: Sequence[Value | Node], captures: Sequence[Value], nodes: Sequence[Node]) -> None:
        self.outputs, self.captures, self.nodes = list(outputs), list(captures), list(nodes)
        self.made: list[Key] = []       # the keys the tape holds (set with the programs)
        self._programs: dict[bool, Program] = {}
        self.program(False)

    def program(self, tape: bool) -> Program:
        """The branch as a Program fed its captures; with ``tape``, it also fetches every value made by a node
        the outputs need (a node nothing returned depends on never runs, as in TF)."""
        if tape not in self._programs:
            fed = {key(c) for c in self.captures}
            base = Program.build(self.outputs, fed)
            mine = {id(n) for n in self.nodes}
            self.made = [(id(s.node), j) for s in base.steps if id(s.node) in mine for j in range(len(s.node.outputs))]
            extra = [s.node.outputs[j] for s in base.steps if id(s.node) in mine for j in range(len(s.node.outputs))]
            self._programs[tape] = Program.build(self.outputs + extra, fed) if tape else base
        return self._programs[tape]


def _run(program: Program, be: Any, feeds: dict) -> list:
    from core.executor import Executor        # the executor runs primitives: imported when one runs
    st = _state.current()
    return Executor(be, st if st is not None else _state.State()).run(program, feeds)


class Cond(Op):
    """Runs ``branches[0]`` where the predicate (a boolean scalar, the first input) is true, else
    ``branches[1]``; the other inputs are ``captures``, every outside value either branch reads.  Outputs:
    the chosen branch's values (``out_specs``), then the tape."""

    name = "Cond"

    def __init__(self, branches: Sequence[Branch], captures: Sequence[Value], out_specs: Sequence[tuple]) -> None:
        self.branches, self.out_specs = list(branches), list(out_specs)
        self.arg_names = ("pred",) + tuple(f"capture_{i}" for i in range(len(captures)))
        self.position = {key(c): i for i, c in enumerate(captures)}
        ops = [n.op for b in branches for n in b.nodes]
        self.pure = all(op.pure for op in ops)
        self.effect = any(op.effect for op in ops)
        # Branches with other shapes: which one runs decides the shape.
        shapes = [[tuple(v.shape) if isinstance(v, Value) else None for v in b.outputs] for b in branches]
        self.value_shaped = shapes[0] != shapes[1] or any(op.value_shaped for op in ops)
        self.tape = False       # set once a gradient reads the tape (then the branch keeps its values)

    def infer(self, pred, *captures):
        if pred.dtype != numpy.bool_:
            raise self.dtype_error("pred", "bool", pred.dtype)
        if len(pred.shape):
            raise self.shape_error("pred", "a scalar", pred.shape)
        return self.out_specs + [((), TAPE)]

    def forward(self, be, pred, *captures):
        taken = 0 if bool(be.to_host(pred)) else 1
        b = self.branches[taken]
        program = b.program(self.tape)
        values = _run(program, be, {key(c): captures[self.position[key(c)]] for c in b.captures})
        outs = [v for v, o in zip(values, b.outputs) if isinstance(o, Value)]
        tape = numpy.empty((), TAPE)
        tape[()] = (taken, dict(zip(b.made, values[len(b.outputs):])) if self.tape else {})
        return (*outs, tape)

    def vjp(self, node, grads, needs):
        captures = node.inputs[1:]
        wanted = [i for i, n in enumerate(needs[1:]) if n]
        given = [j for j, g in enumerate(grads[:-1]) if g is not None]
        if not wanted or not given:
            return (None,) * len(node.inputs)
        self.tape = True
        made = [_grad_branch(b, [captures[i] for i in wanted], [grads[j] for j in given], given) for b in self.branches]
        out = apply(CondGrad(made, captures, wanted), node.outputs[-1], *captures, *[grads[j] for j in given])
        out = out if isinstance(out, tuple) else (out,)
        result: list = [None] * len(node.inputs)
        for i, g in zip(wanted, out):
            result[1 + i] = g
        return tuple(result)


class _GradBranch:
    """The gradient of one branch: ``program`` fed ``standins`` (the output gradients), the wanted captures
    and the branch's own values; it fetches one gradient per wanted capture (None: not connected)."""

    def __init__(self, program: Program, standins: list[Key], grads: list[Value | None]) -> None:
        self.program, self.standins, self.grads = program, standins, grads


# How a frontend records the nodes a function makes: ``record(build)`` -> (build's result, the nodes made).
# The static frontend sets it (its graph knows which nodes are added); Cond's gradient records its branches'
# gradients through it.
recorder: Any = None


def _grad_branch(b: Branch, wanted: list[Value], grads: list[Value], given: list[int]) -> _GradBranch:
    from core.autodiff import gradients
    from core.graph import Value as V

    def build() -> tuple[list, list]:
        standins = [recorder.standin(g) for g in grads]
        outs = [b.outputs[j] for j in given]
        connected = [o for o in outs if isinstance(o, V)]
        # The reverse pass visits the branch's own nodes only: a capture is a leaf here (the outer pass carries
        # its gradient on through whatever made it).
        order = [s.node for s in b.program(False).steps]
        gs = gradients(connected, wanted, [s for s, o in zip(standins, outs) if isinstance(o, V)],
                       order=order) if connected else [None] * len(wanted)
        return standins, gs
    (standins, gs), _ = recorder.record(build)
    b.program(True)         # the tape's keys
    fed = {key(s) for s in standins} | set(b.made) | {key(c) for c in b.captures} | {key(w) for w in wanted}
    targets = [g for g in gs if g is not None]
    program = Program.build(targets, fed)
    # Fed: only the keys it reads or answers (the executor wants every fed key given).
    used = {k for s in program.steps for k in s.ins} | {key(t) for t in targets}
    return _GradBranch(Program.build(targets, fed & used), [key(s) for s in standins], gs)


class CondGrad(Op):
    """The gradients of a ``Cond``'s ``wanted`` captures (positions): the gradient program of the branch that
    ran (read from the tape, the first input), fed the tape's values, the captures (the next inputs) and the
    output gradients (the rest); zeros for a capture the branch that ran leaves unconnected."""

    name = "CondGrad"
    differentiable = False

    def __init__(self, branches: Sequence[_GradBranch], captures: Sequence[Value], wanted: Sequence[int]) -> None:
        self.branches, self.wanted = list(branches), list(wanted)
        self.capture_keys = [key(c) for c in captures]

    def infer(self, tape, *rest):
        return [(rest[i].shape, rest[i].dtype) for i in self.wanted]

    def forward(self, be, tape, *rest):
        taken, values = tape[()]
        b = self.branches[taken]
        n = len(self.capture_keys)
        feeds = dict(values)
        feeds.update(zip(self.capture_keys, rest[:n]))
        feeds.update(zip(b.standins, rest[n:]))
        fetched = iter(_run(b.program, be, {k: feeds[k] for k in b.program.fed}) if b.program.fetches else [])
        return tuple(next(fetched) if g is not None else be.xp.zeros_like(rest[i]) for g, i in zip(b.grads, self.wanted))
