"""Constant folding over a Program."""
from __future__ import annotations

from typing import Any

import backends
from core.op import Op
from core.program import Program, Step

# A folded value is kept for the Program's life: do not materialize a huge one (a broadcast of a scalar).
MAX_FOLDED_BYTES = 16 << 20


class Folded(Op):
    """Values computed once when the Program was optimized (the result of a constant subgraph)."""

    name = "Folded"
    differentiable = False

    def __init__(self, arrays: tuple) -> None:
        self.arrays = arrays

    def attrs(self) -> dict:
        return {"shapes": [tuple(a.shape) for a in self.arrays]}

    def forward(self, be: Any) -> Any:
        return self.arrays if len(self.arrays) != 1 else self.arrays[0]


def fold_constants(program: Program) -> Program:
    """Compute once, at optimization time, every pure step (``Op.pure``) whose inputs are all constants: the
    values of pure sources (a graph constant) or of steps folded before it.  The step keeps its node (so its
    values keep their keys) and runs as a ``Folded`` source; the constants it read become dead (the
    dead-code pass drops them).  A step whose evaluation fails is left as it is, to fail when the Program
    runs, as it did before; targets and nodes with control inputs are not folded."""
    known: dict = {}        # key -> constant array
    out = []
    for step in program.steps:
        node, op = step.node, step.op
        foldable = (op.pure and not op.effect and node.outputs and not node.control
                    and id(node) not in program.targets and not any(k in program.fed for k in step.ins)
                    and all(k in known for k in step.ins))
        if foldable:
            try:
                be = backends.get_backend(node.outputs[0].device)
                vals = op.forward(be, *[known[k] for k in step.ins])
            except Exception:       # noqa: BLE001 -- the same error is raised again when the step runs
                vals = None
            if vals is not None:
                vals = vals if type(vals) is tuple else (vals,)
                if sum(getattr(v, "nbytes", 0) for v in vals) > MAX_FOLDED_BYTES:
                    vals = None
            if vals is not None:
                known.update(zip(program.outputs(step), vals))
                if step.ins:        # a source already is a constant: it stays as it is
                    step = Step(node, Folded(vals), [])
        out.append(step)
    return program.rewrite(out)
