"""The Executor: runs a Program on a backend against a State.

Every step is an ordinary primitive, ``op.forward(be, *arrays)``; stateful primitives (``core/ops/state.py``)
reach the State through ``core.state.active()``, which the executor sets for the length of a run.  Each
intermediate value is dropped after the last step that reads it.
"""
from __future__ import annotations

from typing import Any

from backends.errors import OpError
from core import state as _state
from core.program import Key, Program


class Executor:
    """``Executor(backend, state).run(program, feeds)`` -> one array per fetch (None for a target node)."""

    def __init__(self, backend: Any, state: _state.State | None = None) -> None:
        self.backend = backend
        self.state = state if state is not None else _state.State()

    def run(self, program: Program, feeds: dict[Key, Any]) -> list:
        missing = program.fed - feeds.keys()
        if missing:
            raise KeyError(f"Executor.run: the program needs {len(missing)} fed value(s) that were not given")
        be = self.backend
        values = dict(feeds)
        release = program.release
        with _state.activate(self.state):
            for i, step in enumerate(program.steps):
                node = step.node
                try:
                    outs = step.op.forward(be, *[values[k] for k in step.ins])
                except OpError as exc:
                    if exc.op is None:      # say which node failed, as TensorFlow's run-time errors do
                        exc.op = node
                    raise
                if type(outs) is not tuple:
                    outs = (outs,)
                for j, o in enumerate(outs):
                    values[(id(node), j)] = o
                for k in release.get(i, ()):
                    values.pop(k, None)
        return [None if k is None else values[program.resolve(k)] for k in program.fetches]
