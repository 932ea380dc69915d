"""Stateful primitives: read, assign and update variables held in the active ``core.state.State``.

They keep the contract of every other primitive (``infer``, ``forward(be, *arrays)``); the State is not an
input but the one the running Executor made active (``core.state.active()``).
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, Sequence

import numpy

from core import state as _state
from core.op import Op


class ReadVariable(Op):
    """The current buffer of variable ``key`` (a source: no inputs)."""

    name = "ReadVariable"
    differentiable = False
    pure = False        # the variable changes between reads

    def __init__(self, key: Hashable, shape: Sequence[int], dtype: Any) -> None:
        self.key, self.shape, self.dtype = key, tuple(shape), numpy.dtype(dtype)

    def infer(self):
        return [(self.shape, self.dtype)]

    def forward(self, be):
        return _state.active().read(self.key)


class AssignVariable(Op):
    """Write ``value`` into variable ``key`` (``mode``: "assign", "add" or "sub"); outputs the new buffer."""

    name = "AssignVariable"
    arg_names = ("value",)
    differentiable = False
    pure, effect = False, True

    def __init__(self, key: Hashable, shape: Sequence[int], dtype: Any, mode: str = "assign") -> None:
        if mode not in ("assign", "add", "sub"):
            raise ValueError(f"AssignVariable: mode must be 'assign', 'add' or 'sub', got {mode!r}")
        self.key, self.shape, self.dtype, self.mode = key, tuple(shape), numpy.dtype(dtype), mode

    def infer(self, value):
        if value.dtype != self.dtype:
            raise self.dtype_error("value", str(self.dtype), value.dtype)
        if len(value.shape) != len(self.shape) or any(
                a is not None and b is not None and a != b for a, b in zip(value.shape, self.shape)):
            raise self.shape_error("value", f"the variable's shape {self.shape}", value.shape)
        return [(self.shape, self.dtype)]

    def forward(self, be, value):
        # A value of unknown static shape (a placeholder with None dims) is checked when it arrives.
        if tuple(value.shape) != self.shape:
            raise _state.shape_error(self.key, self.shape, tuple(value.shape), self.mode)
        st = _state.active()
        if self.mode == "assign":
            return st.assign(self.key, value)
        return st.assign_add(self.key, value) if self.mode == "add" else st.assign_sub(self.key, value)


class ApplyUpdates(Op):
    """One optimizer step over variables ``keys``; inputs: their gradients, then (optionally) a learning-rate
    tensor, else ``lr`` is used.  For each variable, ``update(be, w, g, slots, t, lr)`` writes the buffer ``w``
    and the slot dict in place; ``t`` counts the steps of ``owner`` (the optimizer).  With ``counter`` (a
    variable key) that variable is incremented once per step (TF1's global_step)."""

    name = "ApplyUpdates"
    differentiable = False
    pure, effect = False, True

    def __init__(self, update: Callable, owner: Hashable, keys: Sequence[Hashable], lr: Any = None,
                 counter: Hashable | None = None) -> None:
        self.update, self.owner, self.keys, self.lr, self.counter = update, owner, list(keys), lr, counter

    def infer(self, *inputs):
        return []

    def forward(self, be, *inputs):
        st = _state.active()
        t = st.tick(self.owner)
        n = len(self.keys)
        # A tensor rate (a decay schedule) arrives as one more input, already on the device.
        lr = inputs[n] if len(inputs) > n else self.lr
        for k, g in zip(self.keys, inputs[:n]):
            self.update(be, st.read(k), g, st.slots(self.owner, k), t, lr)
            st.bump(k)
        if self.counter is not None:
            cur = st.read(self.counter)
            st.assign_add(self.counter, be.xp.ones_like(cur))
        return ()
