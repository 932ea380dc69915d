"""Common-subexpression elimination over a Program."""
from __future__ import annotations

from typing import Any, Hashable

import numpy

from core.program import Program, Step, add_alias

_PLAIN = (bool, int, str, type(None), numpy.dtype)


def _attr_key(v: Any) -> Hashable:
    """A key equal for equal attribute values: plain values by value (floats by repr, so 0.0 and -0.0 and
    NaNs stay apart), tuples element-wise, anything else (arrays, generators, functions) by identity."""
    if isinstance(v, float):
        return ("f", repr(v))
    if isinstance(v, _PLAIN):
        return (type(v).__name__, v)
    if isinstance(v, (tuple, list)):
        return (type(v).__name__, tuple(_attr_key(x) for x in v))
    return ("id", id(v))


def signature(step: Step) -> Hashable:
    """What makes two pure steps compute the same values: the op's type and attributes, and the inputs."""
    op = step.op
    attrs = tuple(sorted((k, _attr_key(v)) for k, v in vars(op).items()))
    return type(op), attrs, tuple(step.ins)


def eliminate_common(program: Program) -> Program:
    """Run each pure computation once: a pure step (``Op.pure``) with the same op, attributes and inputs as an
    earlier one becomes an alias of that one's values.  Steps with control inputs, targets and control
    inputs of other steps keep their own node (TF1 code hangs effects on them)."""
    aliases = dict(program.aliases)
    anchored = {id(c) for s in program.steps for c in s.node.control} | program.targets
    seen: dict = {}
    out = []
    for old in program.steps:
        step = Step(old.node, old.op, [aliases.get(k, k) for k in old.ins])
        node = step.node
        if step.op.pure and not step.op.effect and not node.control and id(node) not in anchored and node.outputs:
            sig = signature(step)
            first = seen.get(sig)
            if first is not None:
                for mine, theirs in zip(program.outputs(step), program.outputs(first)):
                    add_alias(aliases, mine, theirs)
                continue
            seen[sig] = step
        out.append(step)
    return program.rewrite(out, aliases)
