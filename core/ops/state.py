"""Stateful primitives: read, assign and update variables held in the active ``core.state.State``.

They keep the contract of every other primitive (``infer``, ``forward(be, *arrays)``); the State is not an
input but the one the running Executor made active (``core.state.active()``).
"""
from __future__ import annotations

import collections
import operator
from typing import Any, Callable, Hashable, Sequence

import numpy

from backends import memory_owner
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
    and the slot dict in place; ``t`` counts the steps of ``owner`` (the optimizer: a 0-d array on the device,
    ``State.tick``, so the step reads nothing back), or with ``count`` each variable's own, on the host: ``count(slots)`` advances the count a variable keeps in its slot dict and returns it (PyTorch
    counts per parameter, and one without a gradient on some step falls behind).  With ``counter`` (a variable
    key) that variable is incremented once per step (TF1's global_step).  With ``slot_vars`` (per variable, its
    slots' names -> the keys of the variables holding them) the slots are variables themselves (TF1's
    ``w/Adam``).  With ``shared`` (variable keys), the update gets those variables' buffers instead of the count
    (TF1 Adam's beta powers), and ``advance(be, buffers)`` moves them on after every variable is updated.

    With ``flat``, the in-place update primitive (``core.ops.optim``) that ``update`` applies to each variable,
    the step runs it once for all variables of one dtype (and one count) instead: on the first step they and
    their slots are packed into one buffer each (``State.pack``), and each step gathers the gradients into one
    scratch buffer and updates the flat buffers (the same arithmetic on every element, so the same bits, with
    one call's overhead instead of one per variable).  When something moved a variable or slot out (an
    ``attach``, a new slot dict), the next step packs again.  A variable listed twice (one buffer or slot dict
    for two keys), or whose gradient has another dtype or shape, stays on the per-variable path; so does one
    that another update holds packed while that update keeps running in between (two train ops sharing
    variables would otherwise move them back and forth every step); once it has not run since this one's last
    step (a train op built anew, a second training phase), this one takes the variable over.  The slot dicts
    hold the primitive's slots under its ``slot_names``, or under ``slot_keys`` (in that order) where given.

    With ``gather`` as well, only the slots are packed: the variables keep their own buffers (eager parameters,
    which the user's views and ``p.data = ...`` may share or replace), and each step copies them into the flat
    buffer with one call and the results back into each.  The copies cost three passes over the variables, so
    one of more than ``GATHER_MAX_BYTES`` is updated on its own (its calls' overhead is small beside its
    arithmetic), and so are variables whose buffers are views of one array.  A step with another buffer for
    some variable, a gradient of another shape or dtype, or counts that no longer agree as they did, packs
    again.

    With ``extra`` (variable index -> a number of inputs, maybe 0), those variables' updates take that many
    more inputs, after all the gradients and in that order, handed to their ``update`` as ``extra=`` (a tuple):
    what the frontend's optimizer needs beyond the gradient (TF's sparse gradients: the rows a lookup touched,
    its slices, their squares; none where only their arithmetic differs).  Those variables always step on
    the per-variable path."""

    name = "ApplyUpdates"
    differentiable = False
    pure, effect = False, True

    def __init__(self, update: Callable, owner: Hashable, keys: Sequence[Hashable], lr: Any = None,
                 counter: Hashable | None = None, flat: Any = None, gather: bool = False,
                 count: Callable[[dict], int] | None = None, slot_keys: Sequence[str] | None = None,
                 slot_vars: Sequence[dict] | None = None, shared: Sequence[Hashable] | None = None,
                 advance: Callable[[Any, tuple], None] | None = None, extra: dict[int, int] | None = None) -> None:
        if flat is not None and not flat.inplace:
            raise ValueError(f"{self.name}: the flat update must write in place (inplace=True)")
        self.update, self.owner, self.keys, self.lr, self.counter = update, owner, list(keys), lr, counter
        self.flat, self.gather, self.count = flat, gather, count
        self.slot_vars, self.shared, self.advance = slot_vars, shared, advance
        self.extra: dict[int, range] = {}       # variable index -> its extra inputs' positions among them
        start = 0
        for i, k in (extra or {}).items():
            self.extra[i] = range(start, start + k)
            start += k
        self.n_extra = start
        if slot_vars is not None:       # each slot variable: its key, its slot's name, (owner, variable key)
            pairs = [(k, name, key) for k, names in zip(self.keys, slot_vars) for name, key in names.items()]
            self._slot_keys = [key for _, _, key in pairs]
            self._slot_names = [name for _, name, _ in pairs]
            self._slot_owners = [(owner, k) for k, _, _ in pairs]
        # Every variable a step writes in place: the updated ones, their slot variables, the shared state.
        self._written = (*self.keys, *(self._slot_keys if slot_vars is not None else ()), *(shared or ()))
        if flat is not None:
            names = flat.slot_names
            self._fill = dict(zip(names if slot_keys is None else slot_keys, map(flat.slot_init, names)))

    def infer(self, *inputs):
        return []

    def forward(self, be, *inputs):
        st = _state.active()
        t = st.tick(self.owner, be)
        if self.shared is not None:         # the update's own step state (TF1 Adam's beta powers) replaces the count
            t = tuple(map(st.read, self.shared))
        steady = self._steady(st)
        if self.slot_vars is not None and steady is None:
            self._slots_from_variables(st)
        n, e = len(self.keys), self.n_extra
        grads, extras = inputs[:n], inputs[n:n + e]
        # A tensor rate (a decay schedule) arrives as one more input, already on the device.
        lr = inputs[n + e] if len(inputs) > n + e else self.rate(be)
        # Every count advances before any update (a variable listed twice counts twice, as PyTorch does).
        ts = [t] * n if self.count is None else [self.count(st.slots(self.owner, k)) for k in self.keys]
        for i in range(n) if self.flat is None else self._flat_step(st, be, grads, ts, lr, steady):
            w = st.read(self.keys[i])
            slots, rate = st.slots(self.owner, self.keys[i]), self.rate_like(lr, w)
            js = self.extra.get(i)
            if js is None:
                self.update(be, w, grads[i], slots, ts[i], rate)
            else:
                self.update(be, w, grads[i], slots, ts[i], rate, extra=tuple(extras[j] for j in js))
        if self.slot_vars is not None and steady is None:
            self._variables_from_slots(st)
        if self.advance is not None:
            self.advance(be, t)
        st.bump(*self._written)
        if self.counter is not None:
            st.count_up(self.counter)
        if steady is None and self.flat is not None:
            self._settle(st)
        return ()

    def _steady(self, st: _state.State) -> "_Packing | None":
        """This update's packing if nothing in ``st`` has moved since a step found it whole (``_settle``): then
        its variables, slots and slot variables are where that step left them, and the step skips its checks
        (~30 us of a batch-1 training step's ~130 us update)."""
        p = st.memo.get(self) if self.flat is not None else None
        return p if p is not None and p.moves == st.moves else None

    def _settle(self, st: _state.State) -> None:
        """After a checked step: let the next steps skip their checks while nothing moves, where the checks are
        all there is to it.  Not with ``gather`` (the parameters' buffers are the caller's, replaced without the
        State knowing), per-variable counts, extra inputs, variables updated one by one, or variables another
        update holds (whether it ran since is a check of every step)."""
        p = st.memo.get(self)
        if (p is not None and not (self.gather or self.count is not None or self.extra or p.rest or p.foreign)
                and all(f.moved is None for _, f in p.buckets)):
            p.moves = st.moves

    def steady_call(self, be: Any, st: _state.State, *inputs: Any) -> Callable[[], None] | None:
        """``forward(be, *inputs)`` in ``st`` as a function of nothing, for a planned step whose inputs are the
        same arrays at every run (``core.straightline``), where this update's packing is steady in ``st``
        (``_steady``): valid while ``st.moves`` and the kernels' settings stay as they are now (the conditions
        the planned step is built again on).  Everything the steady ``forward`` finds again at each step is
        found once here (the packing, the bound kernels, the shared buffers, whether the gradients are in
        place); each run only counts, runs the kernels and records what it wrote (in a batch-1 step's planned
        function 69 of the 114 calls profiled were the update's, 35 are left).  None where the packing is not
        steady."""
        p = self._steady(st)
        if p is None:
            return None
        n = len(self.keys)
        grads, fixed_lr = inputs[:n], (inputs[n + self.n_extra] if len(inputs) > n + self.n_extra else None)
        parts = []
        for idx, f in p.buckets:
            mine = grads if idx is None else [grads[i] for i in idx]
            gather = None if all(map(operator.is_, mine, f.grad_views)) else (be.xp, mine, f)
            parts.append((gather, self._bound(be, f), f))
        shared = None if self.shared is None else tuple(map(st.read, self.shared))
        tick, owner, rate, rate_like, advance = st.tick, self.owner, self.rate, self.rate_like, self.advance
        bump, written, counter = st.bump, self._written, self.counter

        def run() -> None:
            t = tick(owner, be)
            step = t if shared is None else shared
            lr = rate(be) if fixed_lr is None else fixed_lr
            for gather, kernel, f in parts:
                if gather is not None:
                    _gather(*gather)
                kernel(rate_like(lr, f.w), step)
                f.used = st.updates
            p.last = st.updates
            if advance is not None:
                advance(be, step)
            bump(*written)
            if counter is not None:
                st.count_up(counter)
        return run

    def rate(self, be: Any) -> Any:
        """The learning rate a step on ``be`` uses when no rate tensor is an input (a subclass may keep it on
        the device)."""
        return self.lr

    def rate_like(self, lr: Any, w: Any) -> Any:
        """The rate as the update of variable ``w`` takes it (a subclass may cast it to ``w``'s dtype)."""
        return lr

    def _slots_now(self, st: _state.State) -> tuple[list, list]:
        """(each slot variable's buffer, the buffer its slot dict entry holds), in ``_slot_keys`` order:
        C-level passes, as a step mostly finds them the same (a loop over TF1 Adam's twelve took ~80 us of a
        batch-1 step)."""
        bufs = st.read_all(self._slot_keys)     # an uninitialized one fails here, as in TF1
        return bufs, list(map(dict.get, st.slots_all(self._slot_owners), self._slot_names))

    def _slots_from_variables(self, st: _state.State) -> None:
        """With ``slot_vars`` the slots are variables of their own (TF1's ``w/Adam``: initialized, saved and
        restored like any other): each slot dict entry is the variable's buffer (reading an uninitialized one
        fails as TF1 does)."""
        bufs, held = self._slots_now(st)
        if all(map(operator.is_, bufs, held)):
            return
        for d, name, buf in zip(st.slots_all(self._slot_owners), self._slot_names, bufs):
            d[name] = buf

    def _variables_from_slots(self, st: _state.State) -> None:
        """The step wrote the slots (and packing may have moved them into one buffer): the variables follow."""
        bufs, held = self._slots_now(st)
        if not all(map(operator.is_, bufs, held)):
            for d, name, key, buf in zip(st.slots_all(self._slot_owners), self._slot_names, self._slot_keys, bufs):
                if buf is not d[name]:
                    st.attach(key, d[name])

    def _flat_step(self, st: _state.State, be: Any, grads: Sequence[Any], ts: list[int], lr: Any,
                   steady: "_Packing | None") -> list[int]:
        """Update the packed variables (packing them first if needed, unless the packing is ``steady``);
        returns the indices left per variable."""
        ws = list(map(st.read, self.keys)) if self.gather else None
        p = steady
        if p is None:
            sig = self._signature(ws, grads, ts)
            p = st.memo.get(self)
            if p is None or p.sig != sig or not p.holds(st):
                p = st.memo[self] = self._pack(st, be, grads, ts, p)
                p.sig = sig
        xp = be.xp
        for idx, f in p.buckets:
            _gather(xp, grads if idx is None else [grads[i] for i in idx], f)
            mine = None if ws is None else ws if idx is None else [ws[i] for i in idx]
            if mine is not None:        # gathered: the parameters in, the update, the results back out
                xp.concatenate(mine, axis=None, out=f.w)
            self._bound(be, f)(self.rate_like(lr, f.w), ts[0 if idx is None else idx[0]])
            for w, v in zip(mine or (), f.views):
                w[...] = v
            if f.moved is not None:
                f.release()
            f.used = st.updates
        p.last = st.updates
        return p.rest

    def _bound(self, be: Any, f: _state.Flat) -> Callable[[Any, Any], Any]:
        """The flat update on ``f``'s buffers as a function of (rate, step), bound once (``_Update.bind``) and
        again where the kernels' settings (threads, switches) changed since."""
        settings = getattr(be, "kernel_settings", None)
        now = settings() if settings is not None else None
        b = f.bound
        if b is None or b[0] is not self.flat or b[1] != now:
            b = f.bound = (self.flat, now, self.flat.bind(be, f.w, f.g, *f.slots.values()))
        return b[2]

    def gradient_buffers(self, st: _state.State) -> dict[int, Any]:
        """Per gradient input (by position), the buffer the step that makes it may write it into: its part of
        the packing's gradient buffer, which the update then finds filled instead of gathering it (the planned
        executor's memory plan puts those gradients there, see ``core.executor``).  Empty before the first
        step has packed, and for variables updated one by one."""
        p = st.memo.get(self) if self.flat is not None else None
        if p is None:
            return {}
        return {i: v for idx, f in p.buckets
                for i, v in zip(range(len(self.keys)) if idx is None else idx, f.grad_views)}

    def _signature(self, ws: list | None, grads: Sequence[Any], ts: list[int]) -> tuple:
        """What a packing assumed that its Flats cannot check: with ``gather``, which buffer each variable is
        (the State keeps the last ones alive until new ones replace them, so an id is not reused unseen), and
        the shape and dtype of every variable and gradient; with ``count``, the counts relative to the first
        (all advance together, so the differences stay while nothing else moves one)."""
        if ws is None:
            return () if self.count is None else ([c - ts[0] for c in ts],)
        return (list(map(id, ws)), list(map(_shape_dtype, ws)), list(map(_shape_dtype, grads)),
                [c - ts[0] for c in ts])

    def _pack(self, st: _state.State, be: Any, grads: Sequence[Any], ts: list[int],
              old: "_Packing | None") -> "_Packing":
        """Bucket the variables by dtype and count for the flat path and pack each bucket; the rest stay per
        variable."""
        own = set() if old is None else {id(f) for _, f in old.buckets}
        ws = [st.read(k) for k in self.keys]
        # One buffer (or slot dict) under two keys is a variable listed twice: its updates run one after the
        # other, each reading what the one before wrote.  Gathered variables must not even overlap (a
        # parameter whose data is a view of another's): all are read before any is written back.
        memory = list(map(id, map(memory_owner, ws) if self.gather else ws))
        seen = collections.Counter(memory)
        dicts = [st.slots(self.owner, k) for k in self.keys]
        if self._fill:
            seen.update(map(id, dicts))
        buckets: dict = {}
        rest, foreign = [], []
        for i, (k, w, g) in enumerate(zip(self.keys, ws, grads)):
            holder = st.flat_of(k)
            if holder is not None and id(holder) not in own and (old is None or holder.used > old.last):
                foreign.append(holder)      # another update holds it, and ran since this one's last step
                rest.append(i)
            elif (seen[memory[i]] > 1 or (self._fill and seen[id(dicts[i])] > 1)
                  or getattr(g, "dtype", None) != w.dtype or tuple(getattr(g, "shape", ())) != w.shape
                  or (self.gather and w.nbytes > GATHER_MAX_BYTES) or i in self.extra):
                rest.append(i)
            else:
                buckets.setdefault((w.dtype, None if self.count is None else ts[i]), []).append(i)
        packed = [(None if len(idx) == len(self.keys) else idx,
                   st.pack([self.keys[i] for i in idx], self.owner, self._fill, be, self.gather))
                  for idx in buckets.values()]
        return _Packing(packed, rest, foreign)


def _gather(xp: Any, grads: Sequence[Any], f: _state.Flat) -> None:
    """The gradients into ``f.g``: nothing to do for those a step wrote into their part of it already
    (``ApplyUpdates.gradient_buffers``), one concatenation where none was (axis=None flattens each one
    straight in, no copy of a strided one first)."""
    there = list(map(operator.is_, grads, f.grad_views))
    if all(there):
        return
    if not any(there):
        xp.concatenate(grads, axis=None, out=f.g)
        return
    for g, v, done in zip(grads, f.grad_views, there):
        if not done:
            v[...] = g


# The largest variable a gathering update copies into its flat buffer (see ApplyUpdates).  Measured on the CPU
# (one thread, CPU time of repeated steps with the variable among five small ones, gathered vs on its own):
# gathering saves ~4 us (SGD) to ~12 us (Adam) on a small variable, and the copies cost as much at ~20K float32
# values for SGD, Adagrad and RMSprop and ~50K for Adam and Adadelta.  Inside training steps, where the memory
# is cold, they cost more: which optimizers gather at all is the frontend's measured choice.
GATHER_MAX_BYTES = 128 * 1024
_shape_dtype = operator.attrgetter("shape", "dtype")


class _Packing:
    """What a flat ``ApplyUpdates`` keeps per State: ``buckets`` [(gradient indices, None for all, and their
    Flat)], ``rest`` (indices updated per variable), ``foreign`` (the Flats of other updates that hold some of
    its variables), ``last`` (``State.updates`` at its last step), ``sig`` (``ApplyUpdates._signature`` when
    it was packed) and ``moves`` (``State.moves`` when a step last found it whole, see ``ApplyUpdates._settle``)."""

    __slots__ = ("buckets", "rest", "foreign", "last", "sig", "moves")

    def __init__(self, buckets: list, rest: list, foreign: list) -> None:
        self.buckets, self.rest, self.foreign, self.last, self.sig = buckets, rest, foreign, 0, ()
        self.moves = -1

    def holds(self, st: _state.State) -> bool:
        """Whether the packing still stands: every Flat holds its variables and slots, and every update
        holding some of the rest has run since this one's last step (else this one takes them over)."""
        return (all(f.holds(st) for _, f in self.buckets)
                and all(h.used > self.last for h in self.foreign))
