"""Stateful primitives: read, assign and update variables held in the active ``core.state.State``.

They keep the contract of every other primitive (``infer``, ``forward(be, *arrays)``); the State is not an
input but the one the running Executor made active (``core.state.active()``).
"""
from __future__ import annotations

import collections
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
    variable key) that variable is incremented once per step (TF1's global_step).

    With ``flat``, the in-place update primitive (``core.ops.optim``) that ``update`` applies to each variable,
    the step runs it once for all variables of one dtype instead: on the first step they and their slots are
    packed into one buffer each (``State.pack``), and each step gathers the gradients into one scratch buffer
    and updates the flat buffers (the same arithmetic on every element, so the same bits, with one call's
    overhead instead of one per variable).  When something moved a variable or slot out (an ``attach``, a
    new slot dict), the next step packs again.  A variable listed twice, or whose gradient has another dtype
    or shape, stays on the per-variable path; so does one that another update holds packed while that update
    keeps running in between (two train ops sharing variables would otherwise move them back and forth every
    step); once it has not run since this one's last step (a train op built anew, a second training phase),
    this one takes the variable over."""

    name = "ApplyUpdates"
    differentiable = False
    pure, effect = False, True

    def __init__(self, update: Callable, owner: Hashable, keys: Sequence[Hashable], lr: Any = None,
                 counter: Hashable | None = None, flat: Any = None) -> None:
        if flat is not None and not flat.inplace:
            raise ValueError(f"{self.name}: the flat update must write in place (inplace=True)")
        self.update, self.owner, self.keys, self.lr, self.counter = update, owner, list(keys), lr, counter
        self.flat = flat

    def infer(self, *inputs):
        return []

    def forward(self, be, *inputs):
        st = _state.active()
        t = st.tick(self.owner)
        n = len(self.keys)
        grads = inputs[:n]
        # A tensor rate (a decay schedule) arrives as one more input, already on the device.
        lr = inputs[n] if len(inputs) > n else self.lr
        if self.flat is None:
            for k, g in zip(self.keys, grads):
                self.update(be, st.read(k), g, st.slots(self.owner, k), t, lr)
        else:
            for i in self._flat_step(st, be, grads, t, lr):
                k = self.keys[i]
                self.update(be, st.read(k), grads[i], st.slots(self.owner, k), t, lr)
        for k in self.keys:
            st.bump(k)
        if self.counter is not None:
            cur = st.read(self.counter)
            st.assign_add(self.counter, be.xp.ones_like(cur))
        return ()

    def _flat_step(self, st: _state.State, be: Any, grads: Sequence[Any], t: int, lr: Any) -> list[int]:
        """Update the packed variables (packing them first if needed); returns the indices left per variable."""
        p = st.memo.get(self)
        if p is None or not p.holds(st):
            p = st.memo[self] = self._pack(st, be, grads, p)
        for idx, f in p.buckets:
            # axis=None flattens each gradient straight into the buffer (no copy of a strided one first).
            g = be.scratch(("flat-grad",), f.w.shape, f.w.dtype)
            be.xp.concatenate(grads if idx is None else [grads[i] for i in idx], axis=None, out=g)
            self.flat.forward(be, f.w, g, *f.slots.values(), lr, t)
            f.used = st.updates
        p.last = st.updates
        return p.rest

    def _pack(self, st: _state.State, be: Any, grads: Sequence[Any], old: "_Packing | None") -> "_Packing":
        """Bucket the variables by dtype for the flat path and pack each bucket; the rest stay per variable."""
        own = set() if old is None else {id(f) for _, f in old.buckets}
        seen = collections.Counter(self.keys)
        by_dtype: dict = {}
        rest, foreign = [], []
        for i, (k, g) in enumerate(zip(self.keys, grads)):
            w, holder = st.read(k), st.flat_of(k)
            if holder is not None and id(holder) not in own and (old is None or holder.used > old.last):
                foreign.append(holder)      # another update holds it, and ran since this one's last step
                rest.append(i)
            elif seen[k] > 1 or getattr(g, "dtype", None) != w.dtype or tuple(getattr(g, "shape", ())) != w.shape:
                rest.append(i)
            else:
                by_dtype.setdefault(w.dtype, []).append(i)
        fill = {name: self.flat.slot_init(name) for name in self.flat.slot_names}
        buckets = [(None if len(idx) == len(self.keys) else idx,
                    st.pack([self.keys[i] for i in idx], self.owner, fill, be)) for idx in by_dtype.values()]
        return _Packing(buckets, rest, foreign)


class _Packing:
    """What a flat ``ApplyUpdates`` keeps per State: ``buckets`` [(gradient indices, None for all, and their
    Flat)], ``rest`` (indices updated per variable), ``foreign`` (the Flats of other updates that hold some of
    its variables) and ``last`` (``State.updates`` at its last step)."""

    __slots__ = ("buckets", "rest", "foreign", "last")

    def __init__(self, buckets: list, rest: list, foreign: list) -> None:
        self.buckets, self.rest, self.foreign, self.last = buckets, rest, foreign, 0

    def holds(self, st: _state.State) -> bool:
        """Whether the packing still stands: every Flat holds its variables and slots, and every update
        holding some of the rest has run since this one's last step (else this one takes them over)."""
        return (all(f.holds(st) for _, f in self.buckets)
                and all(h.used > self.last for h in self.foreign))
