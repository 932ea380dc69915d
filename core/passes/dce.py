"""Dead-code elimination over a Program."""
from __future__ import annotations

from core.program import Program


def eliminate_dead(program: Program) -> Program:
    """Drop the steps whose values nobody reads or fetches and that have no effect.

    A step stays when it is a target, a control input of a kept step, has an effect (``Op.effect``: writes
    variables, draws random numbers, prints) or makes no values at all (an effect-only node such as an
    optimizer's update), or when a kept step reads or the caller fetches one of its values.  One backward
    sweep: a step's readers all come after it."""
    need = program.kept() | set(program.aliases.values())
    control: set = set()
    keep = []
    for step in reversed(program.steps):
        node = step.node
        live = (id(node) in program.targets or id(node) in control or step.op.effect or not node.outputs
                or any(k in need for k in program.outputs(step)))
        if live:
            keep.append(step)
            need.update(step.ins)
            control.update(id(c) for c in node.control)
    keep.reverse()
    return program.rewrite(keep)
