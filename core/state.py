"""State: the variables a program reads and writes, as backend buffers, and the optimizers' slots.

A variable is named by a stable key (in TF1 the variable's name); each has a version counter, bumped by every
write, so a reader can tell that a buffer changed under it (PyTorch's version counters).  Optimizer slots
(moments, accumulators) are kept per (optimizer, variable), and an update count per optimizer.

Variables of one dtype may be packed (``pack``) into one contiguous buffer, each variable's buffer a view of
it, with an optimizer's slots for them likewise: an update then runs once over all of them (``Flat``).  Every
reader sees the variable as before; ``assign`` copies into the existing buffer, so it keeps the packing.

Stateful primitives (``core/ops/state.py``) find the State they run against with ``active()``: the executor
makes its State active, for this thread, while it runs a Program.

    >>> import numpy
    >>> s = State()
    >>> s.assign("w", numpy.zeros(2)).tolist(), s.version("w")
    ([0.0, 0.0], 1)
    >>> s.assign_add("w", numpy.ones(2)).tolist(), s.version("w")
    ([1.0, 1.0], 2)
"""
from __future__ import annotations

import itertools
import math
import operator
import threading
import weakref
from typing import Any, Hashable, Sequence

import numpy

from backends.errors import FailedPreconditionError, InvalidArgumentError


class State:
    """Variables (key -> buffer, version) and optimizer slots."""

    def __init__(self) -> None:
        self._buffers: dict[Hashable, Any] = {}
        self._versions: dict[Hashable, int] = {}
        self._slots: dict[tuple, dict] = {}
        self._counts: dict[Any, Any] = {}              # owner -> its update count, on the device
        self.updates = 0                                # optimizer steps run, all owners together
        self._flat_of: dict[Hashable, tuple] = {}       # key -> (its Flat, its view there)
        # What a stateful primitive keeps per State between runs (ApplyUpdates: its packing); keyed by the op,
        # weakly: eager step() builds a new Program when the parameters with gradients change, and the old
        # Program's packing must go with it.
        self.memo: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._philox: dict[tuple, Any] = {}             # (generator, device) -> its stream's state here
        # Advanced whenever a variable's or slot dict's storage (not its values) may have moved: ``attach``, an
        # ``assign`` into a new buffer, a new or attached slot dict, ``pack``, ``clear``.  An update that found
        # everything where it left it when the count was n may skip its checks while it still reads n.  (Slot
        # dict entries are replaced only by the updates themselves, and by the eager optimizer, whose dicts are
        # the user's: it attaches them at every step.)
        self.moves = 0

    # -- variables --
    def __contains__(self, key: Hashable) -> bool:
        return key in self._buffers

    def keys(self) -> list:
        return list(self._buffers)

    def version(self, key: Hashable) -> int:
        """How many times variable ``key`` was written (0: never)."""
        return self._versions.get(key, 0)

    def read(self, key: Hashable) -> Any:
        """The variable's buffer itself (not a copy): ops downstream read it in place."""
        try:
            return self._buffers[key]
        except KeyError:
            raise FailedPreconditionError(None, None, f"Attempting to use uninitialized value {key}") from None

    def read_all(self, keys: Sequence[Hashable]) -> list:
        """``read`` of each key, in one C-level pass where all are there."""
        try:
            return list(map(self._buffers.__getitem__, keys))
        except KeyError:
            return [self.read(k) for k in keys]

    def attach(self, key: Hashable, buffer: Any) -> None:
        """Make ``buffer`` itself the storage of variable ``key``, without a copy: eager parameters own their
        buffers (views and the user's references see every update), and the State only refers to them."""
        self._buffers[key] = buffer
        self.moves += 1

    def assign(self, key: Hashable, value: Any) -> Any:
        """Store a copy of ``value`` (the caller keeps its array); a variable never changes its shape.  The
        copy goes into the existing buffer when the dtype matches (a packed variable stays packed; NumPy and
        CuPy both copy an overlapping source first), else into a new one."""
        cur = self._buffers.get(key)
        if cur is not None and tuple(cur.shape) != tuple(value.shape):
            raise shape_error(key, tuple(cur.shape), tuple(value.shape), "assign")
        if cur is not None and cur.dtype == value.dtype and isinstance(value, (type(cur), numpy.generic)):
            cur[...] = value
        else:
            # A NumPy scalar's copy is a scalar, not a buffer that updates can write into.
            self._buffers[key] = numpy.array(value) if isinstance(value, numpy.generic) else value.copy()
            self.moves += 1
        return self._written(key)

    def assign_add(self, key: Hashable, delta: Any) -> Any:
        self._update(key, delta, "add")
        return self._written(key)

    def assign_sub(self, key: Hashable, delta: Any) -> Any:
        self._update(key, delta, "sub")
        return self._written(key)

    def count_up(self, key: Hashable) -> None:
        """Add one to variable ``key`` in place (TF1's global step), through a 0-d view: on the host a scalar sum
        stored back (an in-place ufunc on a 0-d array costs ten times as much)."""
        cur = self.read(key)
        cur[()] = cur[()] + 1
        self._written(key)

    def bump(self, *keys: Hashable) -> None:
        """Record that the buffers of ``keys`` were written in place (by an optimizer update)."""
        self.read_all(keys)         # each must be a variable (raises as ``read`` does)
        versions, get = self._versions, self._versions.get
        for key in keys:
            versions[key] = get(key, 0) + 1

    def _update(self, key: Hashable, delta: Any, mode: str) -> None:
        cur = self.read(key)
        shape = getattr(delta, "shape", ())
        if tuple(shape) != tuple(cur.shape):
            raise shape_error(key, tuple(cur.shape), tuple(shape), mode)
        if mode == "add":
            cur += delta
        else:
            cur -= delta

    def _written(self, key: Hashable) -> Any:
        self._versions[key] = self._versions.get(key, 0) + 1
        return self._buffers[key]

    # -- optimizer state --
    def slots(self, owner: Any, key: Hashable) -> dict:
        """The slot arrays optimizer ``owner`` keeps for variable ``key`` (filled by the optimizer)."""
        d = self._slots.get((owner, key))
        if d is None:
            d = self._slots[(owner, key)] = {}
            self.moves += 1
        return d

    def slots_all(self, pairs: Sequence[tuple]) -> list:
        """``slots(owner, key)`` for each (owner, key), in one C-level pass where all exist."""
        found = list(map(self._slots.get, pairs))
        return found if None not in found else [self.slots(*p) for p in pairs]

    def attach_slots(self, owner: Any, key: Hashable, slots: dict) -> None:
        """Use the caller's dict as the slots of (``owner``, ``key``) (PyTorch's ``optimizer.state[p]``)."""
        self._slots[(owner, key)] = slots
        self.moves += 1

    def tick(self, owner: Any, be: Any) -> Any:
        """Count one more update by ``owner``; returns the count (Adam's step t), a 0-d int64 array on ``be``'s
        device advanced there in place: a step reads nothing back, so it can be captured and replayed."""
        t = self._counts.get(owner)
        if t is None:
            t = self._counts[owner] = be.xp.zeros((), numpy.int64)
        t[()] = t[()] + 1       # through a 0-d view: on the host a scalar sum stored back, cheaper than a ufunc
        self.updates += 1
        return t

    # -- random streams --
    def philox(self, generator: Any, device: Any) -> Any:
        """The state of ``generator``'s counter-based stream (``core.random.Generator``) on ``device`` in this
        State, started from its seed on first use: as in TF1, where a stateful random op's state lives in its
        session, each Session replays a seeded graph's draws from the start."""
        key = (generator, str(device))
        st = self._philox.get(key)
        if st is None:
            st = self._philox[key] = generator.new_philox_state(device)
        return st

    def clear(self) -> None:
        self._buffers.clear()
        self._versions.clear()
        self._slots.clear()
        self._counts.clear()
        self.updates = 0
        self._flat_of.clear()
        self.memo.clear()
        self._philox.clear()
        self.moves += 1

    # -- flat storage --
    def pack(self, keys: Sequence[Hashable], owner: Any, slot_fill: dict[str, float], be: Any,
             gather: bool = False) -> "Flat":
        """Move variables ``keys`` (one dtype, each once) into one new contiguous buffer, and ``owner``'s slots
        named in ``slot_fill`` for them into one buffer per name; each variable's buffer and slot entry becomes
        a view there.  Values are copied in (a missing slot starts at its fill); versions do not move.

        With ``gather`` the variables stay where they are (eager parameters own their buffers, see ``attach``):
        the Flat's ``w`` is then a work buffer that its update gathers them into and scatters back out of, and
        only the slots live packed."""
        ws = [self.read(k) for k in keys]
        self.moves += 1
        sizes = [math.prod(w.shape) for w in ws]
        ends = list(itertools.accumulate(sizes))
        n = ends[-1]
        dicts = [self.slots(owner, k) for k in keys]

        def split(flat: Any) -> list:
            return [flat[e - s:e].reshape(w.shape) for w, s, e in zip(ws, sizes, ends)]

        w_flat = be.empty((n,), ws[0].dtype)
        views = split(w_flat)
        if not gather:
            for k, w, v in zip(keys, ws, views):
                v[...] = w
                self._buffers[k] = v
        slots, slot_views = {}, {}
        for name, fill in slot_fill.items():
            flat = slots[name] = be.empty((n,), w_flat.dtype)
            flat[...] = fill
            vs = slot_views[name] = split(flat)
            for d, v in zip(dicts, vs):
                old = d.get(name)
                if old is not None:
                    v[...] = old
                d[name] = v
        f = Flat(list(keys), owner, w_flat, views, slots, dicts, slot_views, gather)
        f.g = be.empty((n,), w_flat.dtype)
        f.grad_views = split(f.g)
        if not gather:
            for k, v in zip(keys, views):
                self._flat_of[k] = (f, v)
            # A graph op that ran earlier in this step may hold the old buffer as the variable's value (a read
            # that is a ref, as TF1's); the update writes its result back there once (``Flat.release``), so
            # what reads it after the update sees the new value, as it does every later step.
            f.moved = ws
        return f

    def flat_of(self, key: Hashable) -> "Flat | None":
        """The Flat that holds variable ``key`` now (None if its buffer is not a view made by ``pack``)."""
        f, v = self._flat_of.get(key, (None, None))
        return f if v is not None and self._buffers.get(key) is v else None


class Flat:
    """Variables ``keys`` stored as ``views`` of one contiguous buffer ``w``, and optimizer ``owner``'s slots for
    them: ``slots[name]`` one buffer per slot name, each variable's slot dict (``dicts``) holding its view
    (``slot_views[name]``); ``used``: ``State.updates`` when an update last ran over it.  With ``gathered``
    the variables keep their own buffers and ``w`` (and ``views``) is where an update gathers them.  ``g``:
    where an update gathers the gradients, ``grad_views`` each variable's part of it (a planned step may
    write a gradient there directly, see ``ApplyUpdates.gradient_buffers``).  Made by ``State.pack``."""

    __slots__ = ("keys", "owner", "w", "views", "slots", "dicts", "slot_views", "gathered", "used", "_slot_keys",
                 "moved", "g", "grad_views", "bound")

    def __init__(self, keys: list, owner: Any, w: Any, views: list, slots: dict, dicts: list,
                 slot_views: dict, gathered: bool = False) -> None:
        self.keys, self.owner, self.w, self.views = keys, owner, w, views
        self.slots, self.dicts, self.slot_views, self.gathered = slots, dicts, slot_views, gathered
        self.used = 0
        self._slot_keys = [(owner, k) for k in keys]
        self.moved: list | None = None      # the buffers the variables had before packing, until released
        self.bound: tuple | None = None     # (update primitive, kernel settings, its ``bind`` on w, g and slots)

    def release(self) -> None:
        """After the first update of fresh packing: its result written back to the variables' old buffers."""
        for old, v in zip(self.moved, self.views):
            old[...] = v
        self.moved = None

    def holds(self, state: State) -> bool:
        """Whether every variable and slot is still stored here: an ``attach``, an ``assign`` or restore with
        another dtype, a replaced slot dict or slot entry moves one out (a few C-level passes over the keys,
        cheap enough for every step).  Gathered variables are not stored here, and without slots the slot
        dicts hold nothing of it (eager SGD without momentum gets fresh ones each step)."""
        same = operator.is_
        if not self.gathered and not all(map(same, map(state._buffers.get, self.keys), self.views)):
            return False
        if self.slot_views and not all(map(same, map(state._slots.get, self._slot_keys), self.dicts)):
            return False
        return all(all(map(same, map(dict.get, self.dicts, itertools.repeat(name)), vs))
                   for name, vs in self.slot_views.items())


def shape_error(key: Hashable, want: tuple, got: tuple, mode: str) -> InvalidArgumentError:
    """A write of the wrong shape, in TensorFlow's words."""
    if mode == "assign":
        return InvalidArgumentError(None, None, f"Trying to assign to variable with tensor with wrong shape. Expected "
                                    f"{list(want)} got {list(got)}")
    return InvalidArgumentError(None, None, f"Cannot update variable with shape {list(want)} using a Tensor with "
                                f"shape {list(got)}, shapes must be equal.")


_local = threading.local()


def active() -> State:
    """The State of the Program this thread is running (stateful primitives read and write it)."""
    stack = getattr(_local, "states", None)     # ``current``, inlined: each variable read of a step asks
    if not stack:
        raise RuntimeError("a stateful primitive ran outside an Executor: no State is active in this thread")
    return stack[-1]


def current() -> State | None:
    """The active State, or None outside an Executor (an eager op run at once)."""
    stack = getattr(_local, "states", None)
    return stack[-1] if stack else None


class activate:
    """``with activate(state):`` makes ``state`` the active one in this thread inside the block.  A class, not a
    generator context manager: every planned run enters one, and the generator's machinery cost ~2 us."""

    __slots__ = ("state", "_stack")

    def __init__(self, state: State) -> None:
        self.state = state

    def __enter__(self) -> State:
        self._stack = _local.__dict__.setdefault("states", [])
        self._stack.append(self.state)
        return self.state

    def __exit__(self, *exc: Any) -> None:
        self._stack.pop()
