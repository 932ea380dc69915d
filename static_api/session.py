"""``tf.Session``: compiles a plan per (fetches, feeds) signature and runs it on the chosen device."""
from __future__ import annotations

import collections
import contextlib
from typing import Any, Iterator

import numpy

import backends
from core.graph import Node, toposort
from core.ops.shape import Transpose
from core import device as _device
from static_api import errors
from static_api.graph import Graph, Operation, PlaceholderOp, Tensor, get_default_graph, session_stack


def _flatten(fetches: Any, out: list) -> Any:
    """Flatten nested fetches into ``out`` and return a function rebuilding the structure."""
    if isinstance(fetches, dict):
        keys = list(fetches)
        subs = [_flatten(fetches[k], out) for k in keys]
        return lambda vals: type(fetches)((k, s(vals)) for k, s in zip(keys, subs))
    if isinstance(fetches, tuple) and hasattr(fetches, "_fields"):
        subs = [_flatten(f, out) for f in fetches]
        return lambda vals: type(fetches)(*[s(vals) for s in subs])
    if isinstance(fetches, (list, tuple)):
        subs = [_flatten(f, out) for f in fetches]
        return lambda vals: type(fetches)(s(vals) for s in subs)
    i = len(out)
    out.append(fetches)
    return lambda vals: vals[i]


class _Step:
    """One node as the plan runs it: the op (a node's own, or one a pass put in its place) and the keys of
    the values it reads; its outputs keep the node's keys, so nothing downstream changes."""

    __slots__ = ("node", "op", "ins")

    def __init__(self, node: Node, op: Any, ins: list) -> None:
        self.node, self.op, self.ins = node, op, ins


def fold_transposes(steps: list, fed: set, keep: set) -> tuple[list, dict]:
    """A transpose of a transpose runs as one transpose, or as none when the pair cancels (TF1 code that
    keeps weights in one layout and convolves in another builds such pairs every step; NHWC layers around
    the NCHW kernels build them between layers).  A pass over the plan, never over the graph: the user's
    graph, its ops and its Keras layers stay as built.  Returns the steps and the aliases (value keys that
    now name another value); transposes nobody reads any more, or fetches (``keep``), are dropped."""
    aliases: dict = {}
    made: dict = {}         # value key -> the step making it
    out: list = []
    for step in steps:
        step.ins = [aliases.get(k, k) for k in step.ins]
        src = made.get(step.ins[0]) if type(step.op) is Transpose else None
        if src is not None and type(src.op) is Transpose and step.ins[0] not in fed:
            n = len(step.op.perm)
            first = src.op.perm
            perm = [first[p % n] % n for p in step.op.perm]
            if perm == list(range(n)):
                aliases[(id(step.node), 0)] = src.ins[0]
                continue
            step.op, step.ins = Transpose(perm), [src.ins[0]]
        made.update({(id(step.node), i): step for i in range(len(step.node.outputs))})
        out.append(step)
    # Drop the transposes whose every reader was folded away.
    read = {k for s in out for k in s.ins} | set(aliases.values())
    control = {id(c) for s in out for c in s.node.control}
    steps = [s for s in out if type(s.op) is not Transpose or id(s.node) in control
             or (id(s.node), 0) in read or (id(s.node), 0) in keep]
    return steps, aliases


class _Plan:
    """The steps to run in order, and after which step each intermediate can be dropped."""

    def __init__(self, targets: list, fed: set) -> None:
        def deps(node):
            # A fed value cuts the graph: its producer need not run.
            yield from (v.node for v in node.inputs if (id(v.node), v.index) not in fed)
            yield from node.control

        # A fetched tensor that is also fed is answered with the fed value, as TF's Python client does.
        order = toposort([t.node for t in targets if not (isinstance(t, Tensor) and (id(t.node), t.index) in fed)],
                         deps)
        self.placeholders = [n for n in order if isinstance(n.op, PlaceholderOp)]
        fetched = {(id(t.node), t.index) for t in targets if isinstance(t, Tensor)}
        steps = [_Step(n, n.op, [(id(v.node), v.index) for v in n.inputs]) for n in order]
        self.steps, self.aliases = fold_transposes(steps, fed, fetched)
        last: dict = {}
        for i, step in enumerate(self.steps):
            for key in step.ins:
                last[key] = i
        keep = {self.aliases.get(k, k) for k in fetched}
        self.release = collections.defaultdict(list)
        for key, i in last.items():
            if key not in keep and key not in fed:
                self.release[i].append(key)


class Session:
    """Runs graph fragments: ``sess.run(fetches, feed_dict)``."""

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None) -> None:
        self.graph = graph or get_default_graph()
        self.device = _device.default()
        self._be = backends.get_backend(self.device)
        self._vars: dict[str, Any] = {}
        self._slots: dict[int, dict] = {}     # optimizer state (step count, moments), per optimizer
        self._plans: dict = {}
        self._closed = False
        self.plan_builds = 0

    # -- context --
    def __enter__(self) -> "Session":
        session_stack().append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        session_stack().remove(self)
        self.close()

    @contextlib.contextmanager
    def as_default(self) -> Iterator["Session"]:
        """Make this the default session inside a ``with`` block, without closing it afterwards."""
        session_stack().append(self)
        try:
            yield self
        finally:
            session_stack().remove(self)

    def close(self) -> None:
        self._closed = True
        self._vars.clear()
        self._slots.clear()

    # -- variables --
    def _read_variable(self, var: Tensor) -> Any:
        try:
            return self._vars[var.op.name]
        except KeyError:
            raise errors.FailedPreconditionError(
                None, var.op, f"Attempting to use uninitialized value {var.op.name}\n\t [[{{{{node "
                f"{var.op.name}}}}}]]") from None

    def _write_variable(self, var: Tensor, value: Any, mode: str) -> Any:
        if mode == "assign":
            self._vars[var.op.name] = value.astype(var.dtype, copy=True)
        else:
            cur = self._read_variable(var)
            if mode == "add":
                cur += value
            else:
                cur -= value
        return self._vars[var.op.name]

    # -- run --
    def run(self, fetches: Any, feed_dict: dict | None = None, options: Any = None, run_metadata: Any = None) -> Any:
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        flat: list = []
        rebuild = _flatten(fetches, flat)
        targets = [self._element(f, "fetch") for f in flat]
        feeds = {}
        for k, v in (feed_dict or {}).items():
            t = self._element(k, "feed")
            if not isinstance(t, Tensor):
                raise TypeError(f"Cannot interpret feed_dict key as Tensor: {k!r} is an Operation")
            feeds[(id(t.node), t.index)] = (t, v)
        arrays = {key: self._check_feed(t, v) for key, (t, v) in feeds.items()}
        sig = (tuple((id(t.node), t.index) if isinstance(t, Tensor) else id(t.node) for t in targets),
               tuple(sorted(feeds)))
        plan = self._plans.get(sig)
        if plan is None:
            plan = self._plans[sig] = _Plan(targets, set(feeds))
            self.plan_builds += 1
        if plan.placeholders:
            node = plan.placeholders[0]
            t = node.outputs[0]
            raise errors.InvalidArgumentError(
                None, node.operation, f"You must feed a value for placeholder tensor '{node.operation.name}' with "
                f"dtype {t.dtype.name} and shape {t.shape}")
        values = dict(arrays)
        be = self._be
        for i, step in enumerate(plan.steps):
            ins = [values[k] for k in step.ins]
            op, node = step.op, step.node
            if getattr(op, "stateful", False):
                outs = op.run(self, node, *ins)
            else:
                outs = op.forward(be, *ins)
            if type(outs) is not tuple:
                outs = (outs,)
            for j, o in enumerate(outs):
                values[(id(node), j)] = o
            for key in plan.release.get(i, ()):
                values.pop(key, None)
        alias = plan.aliases
        return rebuild([None if isinstance(t, Operation) else
                        self._fetched(values[alias.get((id(t.node), t.index), (id(t.node), t.index))])
                        for t in targets])

    def _fetched(self, value: Any) -> Any:
        """A host copy the caller owns (never the session's variable storage); scalars as NumPy scalars, as TF."""
        host = self._be.to_host(value)
        if host is value:
            host = host.copy()
        return host[()] if host.ndim == 0 else host

    def _element(self, obj: Any, what: str) -> Any:
        if hasattr(obj, "_as_graph_element"):
            obj = obj._as_graph_element()
        try:
            return self.graph.as_graph_element(obj)
        except ValueError:
            raise ValueError(f"{what} {obj!r} is not an element of this graph.") from None
        except TypeError as exc:
            raise TypeError(f"Fetch argument {obj!r} has invalid type {type(obj)}: {exc}") from None

    def _check_feed(self, t: Tensor, value: Any) -> Any:
        arr = numpy.asarray(value)
        if (t.dtype.kind == "f" and arr.dtype.kind not in "fiub") or (t.dtype.kind in "iu" and arr.dtype.kind == "f"):
            raise ValueError(f"Cannot feed value of dtype {arr.dtype} for Tensor '{t.name}', which has dtype "
                             f"{t.dtype.name}")
        shape = t.shape
        if getattr(t.node.op, "shapeless", False) and arr.ndim:
            raise ValueError(f"Cannot feed value of shape {arr.shape} for Tensor '{t.name}': it was made without a "
                             "shape, which dualflow takes as a scalar (graphs here need a rank); give the placeholder "
                             "a shape, with None for unknown dimensions")
        if len(shape) != arr.ndim or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            raise ValueError(f"Cannot feed value of shape {arr.shape} for Tensor '{t.name}', which has shape {shape}")
        return self._be.asarray(arr.astype(t.dtype, copy=False))


class InteractiveSession(Session):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        session_stack().append(self)
