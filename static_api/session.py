"""``tf.Session``: owns a State (the variables' values) and a cache of Programs, one per (fetches, feeds)
signature; core's Executor runs them on the chosen device.

Each Program is optimized (``core.passes.optimize``: ``GRAPH_PASSES`` everywhere, ``FUSION_PASSES`` on
the CPU) and on the CPU run by the ``PlannedExecutor`` (a memory plan per feed shapes after
the first run), unless
optimization is off: ``DUALFLOW_OPTIMIZE=0`` in the environment, or TF1's own switch,
``ConfigProto(graph_options=GraphOptions(optimizer_options=OptimizerOptions(opt_level=OptimizerOptions.L0)))``.
The graph, its names and the values fetched are the same either way; only the Program that runs differs."""
from __future__ import annotations

import contextlib
import operator
from typing import Any, Iterator

import numpy

import backends
from core import device as _device
from core import program as _program
from core import passes
from core.executor import Executor, PlannedExecutor
from core.graph import Node
from core.state import State
from backends.switches import switched_off
from static_api import errors
from static_api.config import OptimizerOptions
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


class _Call:
    """A run's fetches and feed keys as ``Session._resolve`` found them; ``repeats`` says whether another run asks
    the same: the same graph elements (by identity) in a list or tuple, or as the one fetch, and the same feed
    keys in the same order.  Other fetch structures (dicts, nesting, names) are resolved at every run."""

    __slots__ = ("fetches", "flat", "feed_keys", "keys", "fed", "program", "rebuild", "simple")

    def __init__(self, fetches: Any, flat: list, feed_keys: list, keys: list, fed: list, program: Any,
                 rebuild: Any) -> None:
        self.fetches, self.flat, self.feed_keys, self.keys, self.fed = fetches, flat, feed_keys, keys, fed
        self.program, self.rebuild = program, rebuild
        elements = all(isinstance(f, (Tensor, Operation)) for f in flat)
        self.simple = elements and (type(fetches) in (list, tuple) or len(flat) == 1 and fetches is flat[0])

    def repeats(self, fetches: Any, feed_dict: dict) -> bool:
        flat = self.flat
        if type(fetches) is not type(self.fetches):
            return False
        if type(fetches) in (list, tuple):
            if len(fetches) != len(flat) or not all(map(operator.is_, fetches, flat)):
                return False
        elif fetches is not flat[0]:
            return False
        keys = self.feed_keys
        return len(feed_dict) == len(keys) and all(map(operator.is_, feed_dict, keys))


def _fits(want: int | None, got: int) -> bool:
    """Whether a fed dimension of size ``got`` fits a placeholder's dimension ``want`` (None: any)."""
    return want is None or want == got


class Session:
    """Runs graph fragments: ``sess.run(fetches, feed_dict)``."""

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None) -> None:
        self.graph = graph or get_default_graph()
        self.device = _device.default()
        self._be = backends.get_backend(self.device)
        self.state = State()            # this session's variables: two sessions on one graph never share
        self.optimize = optimization_enabled(config)
        # Fusion and the memory plan are the CPU's lowering; a GPU runs the graph passes' Program op by op
        # (lowering ``Fused`` chains to generated kernels is the GPU executor's part).
        cpu = self._be.name == "cpu"
        self._passes = passes.PASSES if cpu else passes.GRAPH_PASSES
        self._executor = (PlannedExecutor if self.optimize and cpu else Executor)(self._be, self.state)
        self._plans: dict = {}          # signature -> Program
        self._last: _Call | None = None  # the last run's fetches and feed keys, resolved
        self._unfed: dict = {}          # signature -> the placeholders its Program reads without a feed
        self._accepted: dict = {}       # fed tensor -> the shape of the last array fed to it as it was
        self._closed = False
        self.plan_builds = 0

    # -- context --
    def __enter__(self) -> "Session":
        # As TF1's: inside ``with Session(graph=g)`` g is the default graph too (``global_variables_initializer``
        # there is g's).
        self._graph_context = self.graph.as_default()
        self._graph_context.__enter__()
        session_stack().append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        session_stack().remove(self)
        self._graph_context.__exit__(*exc)
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
        self.state.clear()

    # -- run --
    def run(self, fetches: Any, feed_dict: dict | None = None, options: Any = None, run_metadata: Any = None) -> Any:
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        feed_dict = feed_dict or {}
        call = self._last
        if call is None or not call.repeats(fetches, feed_dict):
            call = self._resolve(fetches, feed_dict)
        arrays = {key: self._check_feed(t, v) for key, t, v in zip(call.keys, call.fed, feed_dict.values())}
        try:
            values = self._executor.run(call.program, arrays)
        except errors.OpError as exc:
            if isinstance(exc.op, Node):        # the failing node, as TF names it: its Operation and name
                exc.op = exc.op.operation
                exc.message += f"\n\t [[{{{{node {exc.op.name}}}}}]]"
                exc.args = (exc.message,)
            raise
        return call.rebuild([None if v is None else self._fetched(v) for v in values])

    def _resolve(self, fetches: Any, feed_dict: dict) -> "_Call":
        """What ``run`` makes of these fetches and feed keys: the Program (built and optimized at the first such
        run), the fed tensors, and how to rebuild the fetches' structure; remembered for the next run."""
        flat: list = []
        rebuild = _flatten(fetches, flat)
        targets = [self._element(f, "fetch") for f in flat]
        fed = []
        for k in feed_dict:
            t = self._element(k, "feed")
            if not isinstance(t, Tensor):
                raise TypeError(f"Cannot interpret feed_dict key as Tensor: {k!r} is an Operation")
            fed.append(t)
        keys = [(id(t.node), t.index) for t in fed]
        feeds = dict(zip(keys, fed))
        sig = (tuple((id(t.node), t.index) if isinstance(t, Tensor) else id(t.node) for t in targets),
               tuple(sorted(feeds)))
        program = self._plans.get(sig)
        if program is None:
            built = _program.Program.build([t if isinstance(t, Tensor) else t.node for t in targets], feeds)
            # Unfed placeholders are found before optimization (dead-code elimination could hide one).
            self._unfed[sig] = [s.node for s in built.steps if isinstance(s.node.op, PlaceholderOp)]
            program = self._plans[sig] = passes.optimize(built, self._passes) if self.optimize else built
            self.plan_builds += 1
        if self._unfed[sig]:
            node = self._unfed[sig][0]
            t = node.outputs[0]
            raise errors.InvalidArgumentError(
                None, node.operation, f"You must feed a value for placeholder tensor '{node.operation.name}' with "
                f"dtype {t.dtype.name} and shape {t.shape}")
        call = _Call(fetches, flat, list(feed_dict), keys, fed, program, rebuild)
        # The same fetches and feed keys again (a training loop) skip all of this.
        self._last = call if call.simple else None
        return call

    def _fetched(self, value: Any) -> Any:
        """A host copy the caller owns (never the session's variable storage); scalars as NumPy scalars, as TF."""
        host = self._be.to_host(value)
        if host is value:
            host = host.copy()
        return host[()] if host.ndim == 0 else host

    def _element(self, obj: Any, what: str) -> Any:
        if type(obj) is Tensor and obj.graph is self.graph:     # the usual fetch and feed key, at every run
            return obj
        if hasattr(obj, "_as_graph_element"):
            obj = obj._as_graph_element()
        try:
            return self.graph.as_graph_element(obj)
        except ValueError:
            raise ValueError(f"{what} {obj!r} is not an element of this graph.") from None
        except TypeError as exc:
            raise TypeError(f"Fetch argument {obj!r} has invalid type {type(obj)}: {exc}") from None

    def _check_feed(self, t: Tensor, value: Any) -> Any:
        # An array of the tensor's dtype and of a shape accepted for it before (a training loop's batches): the
        # checks would pass again.  ~3 us of a batch-1 step's two feeds.
        if type(value) is numpy.ndarray and value.dtype is t.dtype and value.shape == self._accepted.get(t):
            return self._be.asarray(value)
        arr = numpy.asarray(value)
        if (t.dtype.kind == "f" and arr.dtype.kind not in "fiub") or (t.dtype.kind in "iu" and arr.dtype.kind == "f"):
            raise ValueError(f"Cannot feed value of dtype {arr.dtype} for Tensor '{t.name}', which has dtype "
                             f"{t.dtype.name}")
        shape = t.shape
        if getattr(t.node.op, "shapeless", False) and arr.ndim:
            raise ValueError(f"Cannot feed value of shape {arr.shape} for Tensor '{t.name}': it was made without a "
                             "shape, which dualflow takes as a scalar (graphs here need a rank); give the placeholder "
                             "a shape, with None for unknown dimensions")
        if len(shape) != arr.ndim or not all(map(_fits, shape, arr.shape)):
            raise ValueError(f"Cannot feed value of shape {arr.shape} for Tensor '{t.name}', which has shape {shape}")
        if arr is value and arr.dtype is t.dtype:
            self._accepted[t] = arr.shape
        return self._be.asarray(arr.astype(t.dtype, copy=False))


def optimization_enabled(config: Any = None) -> bool:
    """Whether a session optimizes its Programs: yes, unless ``DUALFLOW_OPTIMIZE=0`` or the config asks for
    TF1's ``OptimizerOptions.L0`` (no graph optimizations)."""
    if switched_off("DUALFLOW_OPTIMIZE"):
        return False
    level = getattr(getattr(getattr(config, "graph_options", None), "optimizer_options", None), "opt_level", None)
    return level != OptimizerOptions.L0


class InteractiveSession(Session):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        session_stack().append(self)
