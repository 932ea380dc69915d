"""Run convolutions and pooling in the layout the graph around them uses.

TF1 and Keras graphs are NHWC with HWIO filters; their frontends build each convolution and pooling as the
NCHW/OIHW primitive between transposes (``static_api/nn.py``), and the gradients repeat the pattern.  This
pass finds the regions of NCHW conv/pool steps (forward and backward) whose every way in is a transpose from
NHWC/HWIO and whose every way out is a transpose back, and runs them as the NHWC primitives, so the
transposes go.  Run it after ``fold_transposes`` (which joins the transposes that meet between two layers).
"""
from __future__ import annotations

import collections

from core.ops import nn
from core.ops.shape import Transpose
from core.passes.transpose import drop_unread_transposes
from core.program import Program, Step, add_alias

TO_NCHW, TO_NHWC = (0, 3, 1, 2), (0, 2, 3, 1)
TO_OIHW, TO_HWIO = (3, 2, 0, 1), (2, 3, 1, 0)
IMAGE, WEIGHT = "image", "weight"

# Per primitive (exact type: Conv2DTranspose has no NHWC kernel), the layout kind of each input and output.
# Inputs that supply only a shape (a gradient's ``input``/``weight``) count too: their shape must be NHWC.
KINDS = {
    nn.Conv2D: ((IMAGE, WEIGHT), (IMAGE,)),
    nn.Conv2DBackpropInput: ((IMAGE, WEIGHT, IMAGE), (IMAGE,)),
    nn.Conv2DBackpropFilter: ((IMAGE, IMAGE, WEIGHT), (WEIGHT,)),
    nn.MaxPool: ((IMAGE,), (IMAGE, IMAGE)),
    nn.MaxPoolGrad: ((IMAGE, IMAGE, IMAGE), (IMAGE,)),
    nn.MaxPoolGather: ((IMAGE, IMAGE), (IMAGE,)),
    nn.AvgPool: ((IMAGE,), (IMAGE,)),
    nn.AvgPoolGrad: ((IMAGE, IMAGE), (IMAGE,)),
}
INTO = {IMAGE: TO_NCHW, WEIGHT: TO_OIHW}     # the transpose that feeds an NHWC value to an NCHW primitive
OUT = {IMAGE: TO_NHWC, WEIGHT: TO_HWIO}      # the one that takes its result back


def layout(program: Program) -> Program:
    """The Program with every NCHW conv/pool region that sits between NHWC transposes run as NHWC primitives.

    A pass over the Program, never over the graph: steps get the NHWC op in place of the node's, and read the
    transposes' sources; the transposes out of a region become aliases of the region's (now NHWC) results, and
    transposes nobody reads any more are dropped (unless fetched or a control input).  A converted step's
    value has the node's static shape permuted to NHWC (HWIO for a weight gradient)."""
    steps = program.steps
    made: dict = {}                                       # key -> index of the step making it
    readers: dict = collections.defaultdict(list)         # key -> [(step index, input position)]
    for i, s in enumerate(steps):
        made.update({(id(s.node), j): i for j in range(len(s.node.outputs))})
        for pos, k in enumerate(s.ins):
            readers[k].append((i, pos))
    fetched = program.kept()
    control = {id(c) for s in steps for c in s.node.control}

    def transpose(i: int, perm: tuple) -> bool:
        s = steps[i]
        return type(s.op) is Transpose and s.op.perm == perm and id(s.node) not in control

    def kinds(i: int) -> tuple:
        return KINDS[type(steps[i].op)]

    region = {i for i, s in enumerate(steps) if type(s.op) in KINDS and s.op.data_format == "NCHW"}

    def convertible(i: int) -> bool:
        ins, outs = kinds(i)
        for k, kind in zip(steps[i].ins, ins):
            p = made.get(k)
            if p is None or not (p in region and kinds(p)[1][k[1]] == kind or transpose(p, INTO[kind])):
                return False
        for j, kind in enumerate(outs):
            k = (id(steps[i].node), j)
            if k in fetched:
                return False
            for r, pos in readers[k]:
                if not (r in region and kinds(r)[0][pos] == kind or transpose(r, OUT[kind])):
                    return False
        return True

    # The largest region that is closed: drop steps that fail until none does.
    changed = True
    while changed:
        changed = False
        for i in sorted(region):
            if not convertible(i):
                region.discard(i)
                changed = True
    if not region:
        return program

    aliases = dict(program.aliases)
    dropped = set()
    for i in region:
        for j in range(len(kinds(i)[1])):
            for r, _ in readers[(id(steps[i].node), j)]:
                if r not in region:                       # a transpose back: its value is now the step's own
                    add_alias(aliases, (id(steps[r].node), 0), (id(steps[i].node), j))
                    dropped.add(r)

    def source(k: tuple) -> tuple:
        p = made[k]
        return k if p in region else steps[p].ins[0]

    out = []
    for i, s in enumerate(steps):
        if i in dropped:
            continue
        if i in region:
            out.append(Step(s.node, s.op.with_format("NHWC"), [source(k) for k in s.ins]))
        else:
            out.append(Step(s.node, s.op, s.ins))
    for s in out:
        s.ins = [aliases.get(k, k) for k in s.ins]
    # Drop the transposes into a region that nothing else reads.
    return drop_unread_transposes(program, out, aliases)
