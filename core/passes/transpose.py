"""Fold chains of transposes in a Program."""
from __future__ import annotations

from core.ops.shape import Transpose
from core.program import Program, Step, add_alias


def fold_transposes(program: Program) -> Program:
    """A transpose of a transpose runs as one transpose, or as none when the pair cancels (TF1 code that
    keeps weights in one layout and convolves in another builds such pairs every step; NHWC layers around
    the NCHW kernels build them between layers).  A pass over the Program, never over the graph: the user's
    graph, its ops and its Keras layers stay as built.  A folded-away value becomes an alias of the one it
    equals; transposes nobody reads any more are dropped, unless they are fetched or a control input."""
    fed = program.fed
    aliases = dict(program.aliases)
    made: dict = {}         # value key -> the step making it
    out: list = []
    for old in program.steps:
        step = Step(old.node, old.op, [aliases.get(k, k) for k in old.ins])
        src = made.get(step.ins[0]) if type(step.op) is Transpose else None
        if src is not None and type(src.op) is Transpose and step.ins[0] not in fed:
            n = len(step.op.perm)
            first = src.op.perm
            perm = [first[p % n] % n for p in step.op.perm]
            if perm == list(range(n)):
                add_alias(aliases, (id(step.node), 0), src.ins[0])
                continue
            step.op, step.ins = Transpose(perm), [src.ins[0]]
        made.update({(id(step.node), i): step for i in range(len(step.node.outputs))})
        out.append(step)
    return drop_unread_transposes(program, out, aliases)


def drop_unread_transposes(program: Program, steps: list, aliases: dict) -> Program:
    """``program`` rewritten to ``steps`` and ``aliases``, less the transposes a pass left without a reader
    (kept when fetched or a control input)."""
    read = {k for s in steps for k in s.ins} | set(aliases.values())
    keep = program.kept() | {k for k in program.fetches if k is not None}
    control = {id(c) for s in steps for c in s.node.control}
    kept = [s for s in steps if type(s.op) is not Transpose or id(s.node) in control
            or (id(s.node), 0) in read or (id(s.node), 0) in keep]
    return program.rewrite(kept, aliases)
