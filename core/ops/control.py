"""Conditional execution: ``Cond`` runs one of two sub-programs, chosen by a scalar boolean, and ``CondGrad``
the gradient of the one that ran (TF1's ``tf.cond``).

A branch is a piece of the graph (``Branch``): its output values, the outside values it reads (the Cond's
inputs after the predicate) and the values its own nodes make.  Only the chosen branch runs, so its
variable updates, random draws and errors happen only when it is taken.  Its gradient is a second piece of
graph, built by the one reverse pass (``core.autodiff``) over the branch; it reads the forward values the
branch made, which the Cond hands on in its last output (a "tape": which branch ran and its values), so the
branch is never run twice (a second run would draw other dropout masks).  The gradient of an outside value
that the branch that ran does not read is zeros, as in TF.  ``While`` (TF1's ``tf.while_loop``) and ``Scan``
(``tf.map_fn``, ``tf.scan`` and the folds: one iteration per row of their inputs) run a body Branch per
iteration the same way, with a tape per iteration that their gradients walk back, last first.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy

from core import state as _state
from core.errors import InvalidArgumentError
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


class While(Op):
    """Runs ``body`` while ``cond`` holds (and fewer than ``max_iterations`` times), TF1's ``tf.while_loop``.
    ``cond`` and ``body`` are Branches over the loop variables' stand-ins (``slots``, fed each iteration with the
    current values) and the captures; inputs: the loop variables' first values, then the captures.  Outputs:
    the last values, then the tape (per iteration: the values entering it and, once a gradient reads them,
    the values the body made)."""

    name = "While"

    def __init__(self, cond: Branch, body: Branch, slots: Sequence[Value], captures: Sequence[Value],
                 out_specs: Sequence[tuple], max_iterations: int | None) -> None:
        self.cond, self.body, self.out_specs = cond, body, list(out_specs)
        self.slots = list(slots)
        self.slot_keys = [key(s) for s in slots]
        self.capture_keys = [key(c) for c in captures]
        self.max_iterations = max_iterations
        self.arg_names = tuple(f"loop_var_{i}" for i in range(len(slots))) + tuple(
            f"capture_{i}" for i in range(len(captures)))
        ops = [n.op for b in (cond, body) for n in b.nodes]
        self.pure = all(op.pure for op in ops)
        self.effect = any(op.effect for op in ops)
        self.value_shaped = any(None in s for s, _ in out_specs) or any(op.value_shaped for op in ops)
        self.tape = False

    def infer(self, *inputs):
        return self.out_specs + [((), TAPE)]

    def forward(self, be, *inputs):
        n = len(self.slot_keys)
        values, captured = list(inputs[:n]), dict(zip(self.capture_keys, inputs[n:]))
        tapes = []
        cond_program, body_program = self.cond.program(False), self.body.program(self.tape)
        while True:
            feeds = dict(captured)
            feeds.update(zip(self.slot_keys, values))
            go = bool(be.to_host(_run(cond_program, be, {k: feeds[k] for k in cond_program.fed})[0]))
            if not go or (self.max_iterations is not None and len(tapes) >= self.max_iterations):
                break
            made = _run(body_program, be, {k: feeds[k] for k in body_program.fed})
            tapes.append((values, dict(zip(self.body.made, made[n:])) if self.tape else {}))
            values = made[:n]
        tape = numpy.empty((), TAPE)
        tape[()] = tapes
        return (*values, tape)

    def vjp(self, node, grads, needs):
        n = len(self.slot_keys)
        slots, captures = self.slots, node.inputs[n:]
        floats = [i for i, v in enumerate(node.inputs) if v.dtype.kind == "f"]
        if not any(needs[i] for i in floats) or all(g is None for g in grads[:n]):
            return (None,) * len(node.inputs)
        self.tape = True
        wanted = [slots[i] if i < n else captures[i - n] for i in floats]
        carried = [i for i in range(n) if node.inputs[i].dtype.kind == "f"]
        grad_body = _grad_branch(self.body, wanted, [node.outputs[i] for i in carried], carried)
        given = [grads[i] for i in carried]
        op = WhileGrad(grad_body, self, floats, carried, [g is not None for g in given])
        return _at_inputs(apply(op, node.outputs[-1], *node.inputs, *[g for g in given if g is not None]), floats,
                          len(node.inputs))


def _at_inputs(out: Any, floats: Sequence[int], n: int) -> tuple:
    """A loop's gradient op's outputs (one value or a tuple), one per float input position in ``floats``, as
    the vjp's tuple over all ``n`` inputs (None for the rest)."""
    result: list = [None] * n
    for i, g in zip(floats, out if isinstance(out, tuple) else (out,)):
        result[i] = g
    return tuple(result)


class WhileGrad(Op):
    """The gradients of a ``While``'s float loop variables' first values and float captures (``floats``,
    input positions): the body's gradient program run once per iteration, last first, fed that iteration's tape,
    the gradients of its outputs (the carried float loop variables, ``carried``) and the captures; the
    captures' gradients add up over the iterations.  Inputs: the tape, the While's inputs, then the gradients
    that came in (``given`` says which carried variables have one; the others start at zeros)."""

    name = "WhileGrad"
    differentiable = False

    def __init__(self, body: "_GradBranch", loop: While, floats: Sequence[int], carried: Sequence[int],
                 given: Sequence[bool]) -> None:
        self.body, self.loop, self.floats, self.carried, self.given = body, loop, list(floats), list(carried), list(given)

    def infer(self, tape, *rest):
        return [(rest[i].shape, rest[i].dtype) for i in self.floats]

    def forward(self, be, tape, *rest):
        loop, b, xp = self.loop, self.body, be.xp
        n, m = len(loop.slot_keys), len(loop.slot_keys) + len(loop.capture_keys)
        inputs, incoming = rest[:m], iter(rest[m:])
        carry = {i: next(incoming) if has else None for i, has in zip(self.carried, self.given)}
        acc: dict = {i: None for i in self.floats if i >= n}
        for values, made in reversed(tape[()]):        # the iterations undone, last first
            feeds = dict(made)
            feeds.update(zip(loop.capture_keys, inputs[n:]))
            feeds.update(zip(loop.slot_keys, values))
            feeds.update((k, carry[i] if carry[i] is not None else xp.zeros_like(values[i]))
                         for k, i in zip(b.standins, self.carried))
            fetched = iter(_run(b.program, be, {k: feeds[k] for k in b.program.fed}) if b.program.fetches else [])
            out = {i: next(fetched) if g is not None else None for i, g in zip(self.floats, b.grads)}
            for i in self.carried:
                carry[i] = out[i]
            for i in acc:
                if out[i] is not None:
                    acc[i] = out[i] if acc[i] is None else acc[i] + out[i]
        grads = [carry.get(i) if i < n else acc[i] for i in self.floats]
        return tuple(g if g is not None else xp.zeros_like(inputs[i]) for g, i in zip(grads, self.floats))


class Scan(Op):
    """Runs ``body`` once per row of the sliced inputs, first row first (last first with ``reverse``): TF's
    map_fn, scan, foldl and foldr, which TF builds from a While and TensorArrays.  ``body`` is a Branch over
    ``slots`` (stand-ins for the carried values, then for one row of each sliced input) and the captures; its
    outputs are the values stacked into the results (a result's row i is what the body made from row i), then
    the carried values' next values.  Inputs: the carried values' first values, the sliced inputs (all of one
    length), then the captures.  Outputs: the stacked results, the last carried values, then the tape (the
    iterations in the order they ran: the row index, the carried values entering it and, once a gradient reads
    them, the values the body made; then the last carried values).  ``caller`` names the TF function in
    errors; ``back_prop=False`` (TF's) lets no gradient through, so ``tf.gradients`` gives None."""

    name = "Scan"

    def __init__(self, body: Branch, slots: Sequence[Value], n_carried: int, captures: Sequence[Value],
                 row_specs: Sequence[tuple], carried_specs: Sequence[tuple], reverse: bool, caller: str,
                 back_prop: bool = True) -> None:
        self.body, self.slots, self.n_carried = body, list(slots), n_carried
        self.slot_keys = [key(s) for s in slots]
        self.capture_keys = [key(c) for c in captures]
        self.row_specs, self.carried_specs = list(row_specs), list(carried_specs)
        self.reverse, self.caller, self.differentiable = reverse, caller, back_prop
        self.arg_names = (tuple(f"initializer_{i}" for i in range(n_carried))
                          + tuple(f"elems_{i}" for i in range(len(slots) - n_carried))
                          + tuple(f"capture_{i}" for i in range(len(captures))))
        ops = [n.op for n in body.nodes]
        self.pure = all(op.pure for op in ops)
        self.effect = any(op.effect for op in ops)
        self.value_shaped = any(op.value_shaped for op in ops)
        self.tape = False       # set once a gradient reads the tape (then the body keeps its values)

    def infer(self, *inputs):
        sliced = inputs[self.n_carried:len(self.slots)]
        n = next((v.shape[0] for v in sliced if v.shape[0] is not None), None)
        return [((n, *s), d) for s, d in self.row_specs] + self.carried_specs + [((), TAPE)]

    def forward(self, be, *inputs):
        c, m, s = self.n_carried, len(self.slots), len(self.row_specs)
        carried, sliced = list(inputs[:c]), inputs[c:m]
        captured = dict(zip(self.capture_keys, inputs[m:]))
        n = sliced[0].shape[0]
        for x in sliced[1:]:
            if x.shape[0] != n:
                raise InvalidArgumentError(None, None, f"{self.caller}: the tensors in elems must all have one length "
                                           f"along their first dimension, got {n} and {x.shape[0]}")
        program = self.body.program(self.tape)
        rows: list[list] = [[] for _ in self.row_specs]
        iterations = []
        for i in (range(n - 1, -1, -1) if self.reverse else range(n)):
            feeds = dict(captured)
            feeds.update(zip(self.slot_keys, carried + [x[i] for x in sliced]))
            made = _run(program, be, {k: feeds[k] for k in program.fed})
            iterations.append((i, carried, dict(zip(self.body.made, made[s + c:])) if self.tape else {}))
            for r, v in zip(rows, made[:s]):
                if r and tuple(v.shape) != tuple(r[0].shape):
                    raise InvalidArgumentError(None, None, f"{self.caller}: fn returned a value of shape "
                                               f"{tuple(v.shape)} for element {i} and of shape {tuple(r[0].shape)} "
                                               f"for element {iterations[0][0]}; its results are stacked, so each "
                                               "must keep one shape")
                r.append(v)
            carried = made[s:s + c]
        stacked = []
        for r, (shape, dtype) in zip(rows, self.row_specs):
            if not r and None in shape:
                raise InvalidArgumentError(None, None, f"{self.caller}: elems are empty and the shape of fn's result "
                                           f"{shape} is not fully known, so the empty result's shape is unknown")
            stacked.append(be.xp.stack(r[::-1] if self.reverse else r) if r else be.xp.zeros((0, *shape), dtype))
        tape = numpy.empty((), TAPE)
        tape[()] = (iterations, carried)
        return (*stacked, *carried, tape)

    def vjp(self, node, grads, needs):
        m, s = len(self.slots), len(self.row_specs)
        floats = [i for i, v in enumerate(node.inputs) if v.dtype.kind == "f"]
        if not any(needs[i] for i in floats) or all(g is None for g in grads[:-1]):
            return (None,) * len(node.inputs)
        self.tape = True
        wanted = [self.slots[i] if i < m else node.inputs[i] for i in floats]
        # The body's float outputs that a gradient reaches: the stacked ones given a gradient, and every carried
        # one (its gradient flows back through the iterations).
        reached = [j for j, o in enumerate(self.body.outputs)
                   if o.dtype.kind == "f" and (j >= s or grads[j] is not None)]
        grad_body = _grad_branch(self.body, wanted, [self.body.outputs[j] for j in reached], reached)
        given = [j for j in reached if grads[j] is not None]
        return _at_inputs(apply(ScanGrad(grad_body, self, floats, reached, given), node.outputs[-1], *node.inputs,
                                *[grads[j] for j in given]), floats, len(node.inputs))


class ScanGrad(Op):
    """The gradients of a ``Scan``'s float inputs (``floats``, input positions): the body's gradient program run
    once per iteration, last first, fed that iteration's tape, row and captures and the gradients of the body's
    outputs it reaches (``reached``, output positions: a row of each stacked result's gradient, and the carried
    values' gradients, carried back from the later iteration); each sliced input's gradient is the rows'
    gradients stacked, each capture's the sum over the iterations.  Inputs: the tape, the Scan's inputs, then the
    gradients that came in for the Scan's outputs ``given`` (the carried values' others start at zeros)."""

    name = "ScanGrad"

    def __init__(self, body: _GradBranch, scan: Scan, floats: Sequence[int], reached: Sequence[int],
                 given: Sequence[int]) -> None:
        self.body, self.scan = body, scan
        self.floats, self.reached, self.given = list(floats), list(reached), list(given)

    def vjp(self, node, grads, needs):
        # Differentiable only to say so: a second reverse pass would have to run per row through the body's
        # gradient program, which is not built; without this the gradient of a gradient would silently be None.
        raise NotImplementedError(f"{self.scan.caller}: the gradient of a gradient through its loop (a second "
                                  "order gradient, such as a gradient penalty) is not implemented in dualflow")

    def infer(self, tape, *rest):
        return [(rest[i].shape, rest[i].dtype) for i in self.floats]

    def forward(self, be, tape, *rest):
        scan, b, xp = self.scan, self.body, be.xp
        c, m, s = scan.n_carried, len(scan.slots), len(scan.row_specs)
        inputs = rest[:len(rest) - len(self.given)]
        incoming = dict(zip(self.given, rest[len(inputs):]))
        iterations, last = tape[()]
        carry = {p: incoming.get(s + p) for p in range(c)}      # by input position; None: zeros
        sliced = {p: xp.zeros_like(inputs[p]) for p in self.floats if c <= p < m}
        acc: dict = {p: None for p in self.floats if p >= m}
        leaving = last         # the carried values each iteration made, walking back from the last
        for i, entering, made in reversed(iterations):
            feeds = dict(made)
            feeds.update(zip(scan.capture_keys, inputs[m:]))
            feeds.update(zip(scan.slot_keys, list(entering) + [x[i] for x in inputs[c:m]]))
            feeds.update((k, incoming[j][i] if j < s else carry[j - s] if carry[j - s] is not None
                          else xp.zeros_like(leaving[j - s])) for k, j in zip(b.standins, self.reached))
            fetched = iter(_run(b.program, be, {k: feeds[k] for k in b.program.fed}) if b.program.fetches else [])
            out = {p: next(fetched) if g is not None else None for p, g in zip(self.floats, b.grads)}
            for p, g in out.items():
                if p < c:
                    carry[p] = g
                elif p < m:
                    if g is not None:
                        sliced[p][i] = g
                elif g is not None:
                    acc[p] = g if acc[p] is None else acc[p] + g
            leaving = entering
        grads = [carry[p] if p < c else sliced[p] if p < m else acc[p] for p in self.floats]
        return tuple(g if g is not None else xp.zeros_like(inputs[p]) for g, p in zip(grads, self.floats))
