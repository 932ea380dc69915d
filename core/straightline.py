"""Lower a planned Program to one straight-line Python function.

The planned executor's loop spends ~1.5-2.5 us a step on bookkeeping (unpacking the step, looking its inputs
up in a table of values, testing for a writer, dropping released keys): at batch 1 a training step of the
seed CNN has 34 steps and that loop was ~60 us of ~1 ms.  Generated code holds every value in a local
variable, calls each writer on its planned buffer directly and deletes a value where the Program releases
it, so what is left per step is the call itself; a view of arrays every run sees the same (a reshape of a
planned buffer) is made once, when the function is built, so are the variable reads no effect precedes, and a
kernel on such arrays is bound to them then (the executor builds the function again where a variable moved
or the kernels' settings changed, ``current``).  The function is built from the executor's own step table
(``executor._Planned.steps``), so it runs exactly the writers and primitives the loop would, in the same
order, on the same buffers.
"""
from __future__ import annotations

import types
from typing import Any, Callable, Sequence

from backends import memory_owner
from core import lowering
from core.ops.state import ReadVariable
from core.program import Key

_NAME = "<dualflow planned step>"


class StraightLine:
    """``StraightLine(steps, planned, fed, fetches, be).run(*fed_arrays)`` -> the fetched arrays, in order.

    ``steps``: the executor's ``(ins, write, out, node, op, release)`` tuples; ``planned``: {key: buffer}
    of the values writers make (the same arrays every run); ``fed``: the keys of the arguments, in order;
    ``fetches``: the keys to return (resolved; None for a target node).  ``step_at(tb)`` says which step
    raised, from the traceback of an exception that left the function.

    ``feeds``: {key: buffer} of the fed values the executor copies into a buffer of their own at every run
    (their arguments are then not read: the steps read the buffers).  With ``state``, a variable read that no
    effect precedes in the step order is made once, now (a ReadVariable returns the variable's buffer itself,
    and the buffer stays the same while ``state.moves`` does), and so is an effect's steady step where it offers
    one (``steady_call(be, state, *inputs)``: an optimizer update's, ``core.ops.state.ApplyUpdates``):
    ``current(state)`` says whether that still holds, and the executor builds the function again where it
    does not."""

    def __init__(self, steps: Sequence[tuple], planned: dict, fed: Sequence[Key],
                 fetches: Sequence[Key | None], be: Any, feeds: dict | None = None, state: Any = None) -> None:
        names: dict = {}            # key -> the expression that reads it
        local: set = set()          # the keys held in local variables (deleted where released)
        consts: dict = {"be": be}   # the function's globals: buffers, writers, primitives

        def const(prefix: str, obj: Any) -> str:
            name = f"{prefix}{len(consts)}"
            consts[name] = obj
            return name

        fixed = dict(planned)       # key -> the array every run sees (planned buffers, views made once)
        fixed.update(feeds or {})
        for k, buf in fixed.items():
            names[k] = const("b", buf)
        args = []
        for i, k in enumerate(fed):
            args.append(f"f{i}")
            names.setdefault(k, args[-1])
        self._state, self._moves = state, None
        moves = None if state is None else state.moves
        effects = False             # whether a step with an effect came before (it may move a variable)
        lines = [f"def run({', '.join(args)}):"]
        # A kernel bound to arrays every run passes the same (``fixed``) is bound now, for good: the function
        # runs its kernel with nothing in between, and holds while the settings its choices depend on (the
        # thread count, the kernel switches) are these (``current``).
        self._settings_now = getattr(be, "kernel_settings", None)
        self._settings = self._settings_now and self._settings_now()
        self._line_step: dict[int, int] = {}
        for i, (ins, write, out, node, op, release) in enumerate(steps):
            reads = ", ".join(names[k] for k in ins)
            self._line_step[len(lines) + 1] = i
            if write is None and (self._fold(node, op, ins, fixed, be)
                                  or (not effects and self._read(node, op, state, fixed))):
                if isinstance(op, ReadVariable):
                    self._moves = moves
                for j in range(len(node.outputs)):
                    names[(id(node), j)] = const("c", fixed[(id(node), j)])
                continue
            bind = getattr(write, "call", None) if self._settings_now is not None else None    # a Prepared's
            # An effect that nothing moved before it (an optimizer update, last) binds its steady step to the
            # State as it is now, valid while it does not move (``moved``), as the reads made once are.
            steady = (getattr(op, "steady_call", None) if write is None and state is not None and not effects
                      and not node.outputs and all(k in fixed for k in ins) else None)
            steady = steady and steady(be, state, *[fixed[k] for k in ins])
            effects = effects or op.effect
            if steady:
                self._moves = moves
                lines.append(f"    {const('k', steady)}()")
            elif bind is not None and all(k in fixed for k in ins):
                lines.append(f"    {const('k', bind(*[fixed[k] for k in ins], out=out))}()")
            elif write is not None:
                out_expr = const("o", out)
                lines.append(f"    {const('w', write)}({reads}{', ' if reads else ''}out={out_expr})")
            else:
                made = [f"v{i}_{j}" for j in range(len(node.outputs))]
                call = f"{const('p', op.forward)}(be{', ' if reads else ''}{reads})"
                if not made:
                    lines.append(f"    {call}")
                elif len(made) == 1:
                    # A one-output primitive may return its value alone or in a 1-tuple (the loop takes both).
                    lines.append(f"    {made[0]} = {call}")
                    lines.append(f"    if type({made[0]}) is tuple: {made[0]}, = {made[0]}")
                else:
                    lines.append(f"    {', '.join(made)}, = {call}")
                for j, name in enumerate(made):
                    names[(id(node), j)] = name
                    local.add((id(node), j))
            gone = [names.pop(k) for k in release if k in local]
            local.difference_update(release)
            if gone:
                lines.append(f"    del {', '.join(gone)}")
        lines.append(f"    return [{', '.join('None' if k is None else names[k] for k in fetches)}]")
        self.source = "\n".join(lines) + "\n"
        scope: dict = dict(consts)
        exec(compile(self.source, _NAME, "exec"), scope)    # our own generated text, from our own step table
        self.run: Callable[..., list] = scope["run"]
        self._code = self.run.__code__

    @staticmethod
    def _fold(node: Any, op: Any, ins: Sequence[Key], fixed: dict, be: Any) -> bool:
        """Make a view step's result once, now, into ``fixed``, where every run would make the same: a
        primitive that returns a view of arrays every run sees the same (planned buffers, views made so), or
        one of them (a reshape, a transpose, a sum to the shape it has: ``lowering.view_like``).  Its values are
        read through the view at each run, and a kernel bound to its operands (``lowering.bind``) finds the same
        view every run.  Returns whether it did (not where the result is new memory: a sum that sums)."""
        if not (lowering.view_like(op) and op.pure and ins and node.outputs and not op.value_shaped
                and all(k in fixed for k in ins)):
            return False
        outs = op.forward(be, *[fixed[k] for k in ins])
        outs = outs if type(outs) is tuple else (outs,)
        roots = {id(memory_owner(fixed[k])) for k in ins}
        if not all(id(memory_owner(o)) in roots for o in outs):
            return False
        fixed.update(((id(node), j), o) for j, o in enumerate(outs))
        return True

    @staticmethod
    def _read(node: Any, op: Any, state: Any, fixed: dict) -> bool:
        """Make a variable read's result once, now, into ``fixed``: the variable's buffer in ``state`` (not where
        there is none yet: the run reads it, and raises as an unread variable does)."""
        if state is None or not isinstance(op, ReadVariable) or op.key not in state:
            return False
        fixed[(id(node), 0)] = state.read(op.key)
        return True

    def moved(self, state: Any) -> bool:
        """Whether a variable read made once may read another buffer now (another State, or one that moved)."""
        return self._moves is not None and (state is not self._state or state.moves != self._moves)

    def current(self, state: Any) -> bool:
        """Whether what was made once still holds: the variable reads (``moved``) and the bound kernels (the same
        settings)."""
        return not self.moved(state) and (self._settings_now is None or self._settings_now() == self._settings)

    def step_at(self, tb: types.TracebackType | None) -> int | None:
        """The index of the step whose line a traceback passes through (None if it does not)."""
        while tb is not None:
            if tb.tb_frame.f_code is self._code:
                return self._line_step.get(tb.tb_lineno)
            tb = tb.tb_next
        return None
