"""Mask before scatter: a ReLU's (or any) gradient mask applied to a max-pool's gradient at the pooled size.

``ReluGrad(MaxPoolGrad(gy, argmax, x), x)`` multiplies the scattered gradient by ``x > 0`` over the whole
input, though only each window's winner can be nonzero, and the winner's value is the pooled output ``y``.
With disjoint windows (stride >= kernel) every input position is written by at most one window, so

    ReluGrad(MaxPoolGrad(gy, argmax, x), x) == MaxPoolGrad(ReluGrad(gy, y), argmax, x)

element for element, bit for bit with the CPU kernels: a winner is ``g * (y > 0)`` either way, and a
non-winner ``g * 0`` (keeping the sign of zero) where the gradient is finite, 0 where it holds a NaN or an
infinity (the kernel scatters into zeros then); the masked gradient is finite exactly where ``g`` is, so both
orders take the same branch.  The mask then runs over
a quarter of the values for 2x2 pools, and the full-size pass goes; the two steps become one,
``MaxPoolGradMasked`` (the mask taken in the scatter's own loop on the CPU).  Every CNN written conv -> ReLU
-> max pool builds this pair in its backward pass.

The identity needs the ReluGrad to read the same ``x`` the pool read (the ReLU's output), and the pool's
gradient to be read by nothing else.  Overlapping windows are left alone: a position then sums several
windows' gradients, and masking before the sum can round differently (a sum that overflows to inf times 0
is NaN; each term times 0 is 0).
"""
from __future__ import annotations

import collections

from core.ops import elementwise as ew
from core.ops import nn
from core.program import Program, Step


def mask_before_scatter(program: Program) -> Program:
    """Each ``ReluGrad`` of a disjoint-window ``MaxPoolGrad`` of the same input runs at the pooled size,
    before the scatter, in the one step ``MaxPoolGradMasked`` that takes the ReluGrad's place (its key names
    the scattered result its readers expect; the pool gradient's step goes, nothing else read it)."""
    steps = program.steps
    made = {(id(s.node), j): i for i, s in enumerate(steps) for j in range(len(s.node.outputs))}
    readers: dict = collections.Counter(k for s in steps for k in s.ins)
    pinned = program.kept() | set(program.aliases.values()) | program.fed
    anchored = {id(c) for s in steps for c in s.node.control} | program.targets
    swaps: dict = {}        # step index -> its replacement
    for i, b in enumerate(steps):
        if type(b.op) is not ew.ReluGrad:
            continue
        g, x = b.ins
        a_i = made.get(g)
        if a_i is None or a_i in swaps:
            continue
        a = steps[a_i]
        if type(a.op) is not nn.MaxPoolGrad or g in pinned or readers[g] != 1 or id(a.node) in anchored:
            continue
        gy, argmax, pooled_x = a.ins
        p_i = made.get(argmax)
        pool = steps[p_i] if p_i is not None else None
        if (pool is None or type(pool.op) is not nn.MaxPool or argmax != (id(pool.node), 1)
                or pooled_x != x or pool.ins[0] != x or pool.op.args() != a.op.args()
                or any(s < k for s, k in zip(a.op.stride, a.op.kernel))):
            continue
        swaps[a_i] = None
        swaps[i] = Step(b.node, nn.MaxPoolGradMasked(*a.op.args()), [gy, argmax, x, (id(pool.node), 0)])
    if not swaps:
        return program
    return program.rewrite([swaps.get(i, s) for i, s in enumerate(steps) if swaps.get(i, s) is not None])
