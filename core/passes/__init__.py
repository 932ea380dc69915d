"""Rewrites of a Program, each a function Program -> Program that leaves the graph (and the input Program) as
they were, and ``optimize``, the pipeline the static frontend runs.

To add a pass, add it to ``GRAPH_PASSES`` (rewrites any device runs) or ``FUSION_PASSES`` (steps the CPU
lowering runs; a GPU lowering of ``Fused`` is the GPU executor's job): one line.  ``optimize(program,
passes=...)`` runs any other selection.
"""
from __future__ import annotations

from typing import Callable, Sequence

from core.passes.cse import eliminate_common
from core.passes.dce import eliminate_dead
from core.passes.fold import fold_constants
from core.passes.fuse import fuse_elementwise, fuse_epilogues
from core.passes.layout import layout
from core.passes.poolgrad import mask_before_scatter
from core.passes.transpose import fold_transposes
from core.program import Program

Pass = Callable[[Program], Program]

# In order: rewrites that expose equal or constant subgraphs first, then dead code (folding and merging leave
# unread steps behind), then fusion over what is left.
GRAPH_PASSES: tuple[Pass, ...] = (
    fold_transposes,
    layout,
    eliminate_common,
    fold_constants,
    eliminate_dead,
)
# mask_before_scatter is exact with the CPU's pool-gradient kernel (it assigns); a kernel that adds into zeros
# could turn a -0 into +0, so it stays with the CPU lowering until the GPU executor checks its own.
FUSION_PASSES: tuple[Pass, ...] = (
    mask_before_scatter,
    fuse_epilogues,
    fuse_elementwise,
)
PASSES: tuple[Pass, ...] = GRAPH_PASSES + FUSION_PASSES


def optimize(program: Program, passes: Sequence[Pass] = PASSES) -> Program:
    """``program`` rewritten by each of ``passes`` in turn (the input Program is not changed)."""
    for p in passes:
        program = p(program)
    return program
