"""The Executors: run a Program on a backend against a State.

Every step is an ordinary primitive, ``op.forward(be, *arrays)``; stateful primitives (``core/ops/state.py``)
reach the State through ``core.state.active()``, which the executor sets for the length of a run.  Each
intermediate value is dropped after the last step that reads it.  ``PlannedExecutor`` runs a Program again
and again with a memory plan (``core.passes.memplan``): after its first run, the steps that can write into a
given buffer write into one arena instead of allocating.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy

from backends import memory_owner
from backends.errors import OpError
from core import state as _state
from core import lowering
from core.passes import memplan
from core.straightline import StraightLine
from core.program import Key, Program


class Executor:
    """``Executor(backend, state).run(program, feeds)`` -> one array per fetch (None for a target node)."""

    def __init__(self, backend: Any, state: _state.State | None = None) -> None:
        self.backend = backend
        self.state = state if state is not None else _state.State()

    def run(self, program: Program, feeds: dict[Key, Any]) -> list:
        return self._execute(program, feeds, None)

    @staticmethod
    def _check_feeds(program: Program, feeds: dict) -> None:
        missing = program.fed - feeds.keys()
        if missing:
            raise KeyError(f"Executor.run: the program needs {len(missing)} fed value(s) that were not given")

    def _execute(self, program: Program, feeds: dict, specs: dict | None) -> list:
        """Run op by op; with ``specs`` given, record there each value's ``memplan.spec``."""
        self._check_feeds(program, feeds)
        be = self.backend
        values = dict(feeds)
        release = program.release
        if specs is not None:
            specs.update((k, memplan.spec(a)) for k, a in feeds.items())
        with _state.activate(self.state):
            for i, step in enumerate(program.steps):
                node = step.node
                try:
                    outs = step.op.forward(be, *[values[k] for k in step.ins])
                except OpError as exc:
                    _name(exc, node)
                    raise
                if type(outs) is not tuple:
                    outs = (outs,)
                for j, o in enumerate(outs):
                    values[(id(node), j)] = o
                    if specs is not None:
                        specs[(id(node), j)] = memplan.spec(o)
                for k in release.get(i, ()):
                    values.pop(k, None)
        return [None if k is None else values[program.resolve(k)] for k in program.fetches]


def _name(exc: OpError, node: Any) -> None:
    if exc.op is None:      # say which node failed, as TensorFlow's run-time errors do
        exc.op = node


class _Planned:
    """A Program's memory plan for one set of feed shapes, with its arena's views, and each step as the
    executor runs it: (input keys, bound writer or None, its ``out`` (a buffer, or a tuple of them for several
    outputs), node, op, keys to drop).  ``planned``: {key: buffer} of every value a writer makes, the same
    arrays at every run, so a run starts with them in its table of values and never drops them."""

    def __init__(self, program: Program, plan: memplan.MemoryPlan, arena: Any, be: Any, feed_specs: dict,
                 given: dict) -> None:
        self.program, self.plan, self.arena = program, plan, arena
        buffers = memplan.views(arena, plan)
        buffers.update((k, given[k]) for k in plan.outside)
        self.steps, self.planned = [], {}
        for s, w in zip(program.steps, plan.writers):
            if w is not None:
                self.planned.update((k, buffers[k]) for k in program.outputs(s))
        for i, (s, w) in enumerate(zip(program.steps, plan.writers)):
            bound = out = None
            if w is not None:
                bound = lowering.bind(w, s.op, be)
                made = [buffers[k] for k in program.outputs(s)]
                out = tuple(made) if len(made) > 1 else made[0]
            release = tuple(k for k in program.release.get(i, ()) if k not in self.planned)
            self.steps.append((s.ins, bound, out, s.node, s.op, release))
        # For each unplanned step, the root buffers its outputs had last run: a buffer seen again (a variable,
        # a constant) is not a new allocation; weak, so a freed one is never mistaken for a live one.
        self.seen: list = [None] * len(program.steps)
        # The steps as one generated function (``core.straightline``), made at the first run that uses it:
        # whoever replaces ``steps`` (bench/step_profile.py times each one) sets it back to None.
        self.straight: StraightLine | None = None
        self.remade = 0     # how often ``straight`` was made again because a variable it had read once moved
        self.fed = sorted(program.fed)
        # Each fed value the plan saw C-contiguous is copied into a buffer of its own at every run (in whatever
        # layout it comes), so that the steps reading it get the same array: a kernel bound to its arrays
        # (``lowering.bind``) then need not be bound again (at batch 1 the image is a few KB to copy, the
        # binding of two convolutions ~50 us).
        self.feeds = {k: be.empty(spec[0], spec[1]) for k, spec in feed_specs.items()
                      if spec is not None and spec[2] is None}


class PlannedExecutor(Executor):
    """Runs each Program once op by op, recording the shapes of its values, then with a memory plan for
    those feed shapes (one plan per Program and feed shapes).  With ``audit`` on, ``backend.allocations``
    also counts each result the plan could not place and that is new memory (see ``MemoryPlan.unlowered``;
    off by default: the check costs ~4 us a step, and the steps then run in a loop instead of as one generated
    function, ``core.straightline``).  The fetched arrays of a planned run live in the arena:
    they are valid until the next run of the same Program in the same thread (``Session.run`` copies them
    out).  Plans and arenas are per thread, so threads sharing a session never write into each other's
    buffers."""

    MAX_PLANS = 16

    def __init__(self, backend: Any, state: _state.State | None = None, audit: bool = False) -> None:
        super().__init__(backend, state)
        self.audit = audit
        self._local = threading.local()

    @property
    def _plans(self) -> dict:
        plans = getattr(self._local, "plans", None)
        if plans is None:
            plans = self._local.plans = {}
        return plans

    def plan_of(self, program: Program, feeds: dict) -> memplan.MemoryPlan | None:
        """The memory plan ``run`` uses in this thread for ``program`` with feeds of these shapes (None before
        its first run)."""
        entry = self._plans.get(self._signature(program, feeds))
        return entry.plan if entry is not None and entry.program is program else None

    @staticmethod
    def _signature(program: Program, feeds: dict) -> tuple:
        return id(program), tuple(sorted((k, tuple(a.shape), a.dtype.str) for k, a in feeds.items()))

    def run(self, program: Program, feeds: dict[Key, Any]) -> list:
        sig = self._signature(program, feeds)
        entry = self._plans.get(sig)
        if entry is not None and entry.program is program:
            return self._run_planned(entry, feeds)
        specs: dict = {}
        result = self._execute(program, feeds, specs)
        given = self._given_buffers(program, specs)
        plan = memplan.plan_memory(program, specs, given)
        plans = self._plans
        if len(plans) >= self.MAX_PLANS:
            plans.pop(next(iter(plans)))
        plans[sig] = _Planned(program, plan, self.backend.empty((plan.arena_bytes,), numpy.uint8), self.backend,
                              {k: specs[k] for k in feeds}, given)
        return result

    def _given_buffers(self, program: Program, specs: dict) -> dict:
        """The buffers steps offer for values they read (a flat optimizer update: its packing's gradient buffer,
        ``ApplyUpdates.gradient_buffers``), by value key, where the value has that buffer's shape, dtype and
        C order: the memory plan leaves such a value out of the arena and its writer writes it there, so the
        update reads its gradients where it needs them instead of gathering them each step."""
        given: dict = {}
        for s in program.steps:
            offer = getattr(s.op, "gradient_buffers", None)
            for pos, buf in (offer(self.state) if offer is not None else {}).items():
                k = program.resolve(s.ins[pos])
                spec = specs.get(k)
                if (k not in given and k not in program.fed and spec is not None and spec[2] is None
                        and tuple(spec[0]) == buf.shape and numpy.dtype(spec[1]) == buf.dtype):
                    given[k] = buf
        return given

    def _run_planned(self, entry: _Planned, feeds: dict) -> list:
        program = entry.program
        self._check_feeds(program, feeds)
        be = self.backend
        fed = []
        for k in entry.fed:
            a, buf = feeds[k], entry.feeds.get(k)
            if buf is not None:         # the plan's feed shapes and dtypes are this run's (its signature)
                buf[...] = a
                a = buf
            fed.append(a)
        if not self.audit:
            straight = entry.straight
            if straight is None or not straight.current(self.state):
                # Variable reads are made once while nothing moves; where something moves at almost every run
                # (eager parameters attached anew at every step), they are read at each run instead.
                entry.remade += straight is not None and straight.moved(self.state)
                entry.straight = straight = StraightLine(
                    entry.steps, entry.planned, entry.fed,
                    [None if k is None else program.resolve(k) for k in program.fetches], be, entry.feeds,
                    self.state if entry.remade < 3 else None)
            with _state.activate(self.state):
                try:
                    return straight.run(*fed)
                except OpError as exc:
                    i = straight.step_at(exc.__traceback__)
                    if i is not None:
                        _name(exc, entry.steps[i][3])
                    raise
        values = dict(entry.planned)
        values.update(zip(entry.fed, fed))
        seen = entry.seen
        node = None
        with _state.activate(self.state):
            try:
                for i, (ins, write, out, node, op, release) in enumerate(entry.steps):
                    args = [values[x] for x in ins]
                    if write is not None:
                        write(*args, out=out)
                    else:
                        outs = op.forward(be, *args)
                        if type(outs) is not tuple:
                            outs = (outs,)
                        for j in range(len(outs)):
                            values[(id(node), j)] = outs[j]
                        if outs:
                            seen[i] = self._count(outs, args, seen[i])
                        del outs        # no name keeps them alive past the step that releases them
                    for x in release:
                        values.pop(x, None)
            except OpError as exc:
                _name(exc, node)
                raise
        return [None if k is None else values[program.resolve(k)] for k in program.fetches]

    def _count(self, outs: tuple, args: list, before: list | None) -> list:
        """Count the outputs whose memory is new: not (a view of) an input, nor the buffer the step gave
        last time.  Returns the weak references to remember for next time."""
        roots = [memory_owner(o) for o in outs]
        inputs = {id(memory_owner(a)) for a in args}
        refs = []
        for j, r in enumerate(roots):
            old = before[j]() if before is not None else None
            if old is not r and id(r) not in inputs:
                self.backend.allocations += 1
            refs.append(weakref.ref(r) if isinstance(r, numpy.ndarray) else (lambda: None))
        return refs
