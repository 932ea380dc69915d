"""TF1-style graphs: Graph, Operation and symbolic Tensor over core nodes.

Building a graph records core primitives: ``core.apply`` sees symbolic inputs,
creates a Node and calls ``Tensor._record``, which names the node and adds it
to the graph as an Operation.
"""
from __future__ import annotations

import contextlib
import functools
import math
import re
import threading
from typing import Any, Iterator, Sequence

import numpy

import core
from core import device as _device
from core.graph import Node, Value
from core.op import Op
from core.ops.state import AssignVariable, ReadVariable
from static_api import dtypes

_local = threading.local()



def _tf_floor_div(x: Any, y: Any) -> Any:
    """TF's FloorDiv: floor(x / y) for floats (see core's FloorDiv)."""
    return core.floor_div(x, y, exact=False)


def _tf_floor_mod(x: Any, y: Any) -> Any:
    """TF's FloorMod, whose gradient for y divides as TF's FloorDiv."""
    return core.floor_mod(x, y, exact=False)

class TensorShape(tuple):
    """A static shape; None marks an unknown dimension."""

    def as_list(self) -> list:
        return list(self)

    @property
    def dims(self) -> list:
        return list(self)

    @property
    def ndims(self) -> int:
        return len(self)

    def __repr__(self) -> str:
        return "TensorShape([" + ", ".join("None" if d is None else str(d) for d in self) + "])"

    def __str__(self) -> str:
        return "(" + ", ".join("?" if d is None else str(d) for d in self) + (",)" if len(self) == 1 else ")")


class Operation:
    """A named node of a Graph: ``name``, ``type``, ``inputs``, ``outputs``, ``control_inputs``."""

    def __init__(self, graph: "Graph", node: Node, name: str) -> None:
        self.graph, self.node, self.name = graph, node, name
        node.operation = self

    @property
    def type(self) -> str:
        return self.node.op.name

    @property
    def inputs(self) -> list:
        return list(self.node.inputs)

    @property
    def outputs(self) -> list:
        return list(self.node.outputs)

    @property
    def control_inputs(self) -> list:
        return [n.operation for n in self.node.control]

    def run(self, feed_dict: dict | None = None, session: Any = None) -> None:
        _session_for(session, "execute operation", "run").run(self, feed_dict)

    def __repr__(self) -> str:
        return f"<tf.Operation '{self.name}' type={self.type}>"


def _operator(op_name: str) -> Any:
    """A Python operator of Tensor built as TF1 builds it: its ops inside a name scope ``op_name`` (unique:
    ``add``, ``add_1``, ...), the result op named after that scope (``s/add:0``), so that names match TF's."""
    def wrap(method: Any) -> Any:
        @functools.wraps(method)
        def named(self: "Tensor", *args: Any) -> Any:
            g = self.graph
            with g.name_scope(op_name) as scope:
                out = method(self, *args)
            if isinstance(out, Tensor) and out.op.name.startswith(scope):
                g._rename(out.op, scope)
            return out
        return named
    return wrap


def _index_by_tensors(x: "Tensor", parts: tuple) -> "Tensor":
    """``x[parts]`` where some parts are scalar integer tensors, as TF's strided slice takes them (a negative one
    counts from the end, one out of range is an error when run): the index with each tensor as ``:``, then a
    gather at the tensor along the axis that ``:`` kept, last first so the earlier axes stay put."""
    for p in parts:
        if isinstance(p, slice) and any(isinstance(b, Tensor) for b in (p.start, p.stop, p.step)):
            raise NotImplementedError("Tensor.__getitem__: slice bounds that are tensors are not implemented in "
                                      "dualflow (give Python numbers, or use tf.gather)")
        if isinstance(p, Tensor) and (p.ndim != 0 or p.dtype.kind not in "iu"):
            raise TypeError("Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar "
                            f"tf.int32/tf.int64 tensors are valid indices, got {p!r}")
    consumed = sum(1 for p in parts if p is not None and p is not Ellipsis)
    axes, out_axis, in_axis = [], 0, 0
    for p in parts:                     # where each tensor's ``:`` lands in the input and in the result
        if p is Ellipsis:
            out_axis += x.ndim - consumed
            in_axis += x.ndim - consumed
        elif p is None:
            out_axis += 1
        elif isinstance(p, Tensor):
            axes.append((p, in_axis, out_axis))
            out_axis += 1
            in_axis += 1
        elif isinstance(p, slice):
            out_axis += 1
            in_axis += 1
        else:
            in_axis += 1
    out = core.getitem(x, tuple(slice(None) if isinstance(p, Tensor) else p for p in parts))
    for i, in_ax, out_ax in reversed(axes):
        n = x.shape[in_ax] if in_ax < x.ndim else None
        size = (convert_to_tensor(numpy.asarray(n, i.dtype), graph=x.graph) if n is not None
                else core.getitem(core.ops.shape.shape_of(x, i.dtype), in_ax))
        negative = core.cast(core.scalar_compare(i, "Less", 0), i.dtype)
        out = core.ops.shape.take(out, core.add(i, core.mul(negative, size)), out_ax)
    return out


def _op_named(out: "Tensor", name: str) -> "Tensor":
    """``out`` with its op renamed to TF's default ``name``; an op named so already, in whatever scope (the
    primitive's own name may be TF's), keeps its name: renaming would count it twice (``s/Size_1``)."""
    if re.sub(r"_\d+$", "", out.op.name.rsplit("/", 1)[-1]) != name:
        out.graph._rename(out.op, name)
    return out


_INTEGERS = "int8, int16, int32, int64, uint8, uint16, uint32, uint64"


def _logical(kind: str) -> Any:
    """What Tensor's &, |, ^ (``kind`` and/or/xor) and ~ (``not``) do in TF: the logical op of bool tensors;
    TF's bitwise ops of integers are not built here; other dtypes are TF's TypeError."""
    def fn(x: "Tensor", y: "Tensor | None" = None) -> "Tensor":
        from static_api import ops
        dt = x.dtype if y is None or x.dtype != numpy.bool_ else y.dtype
        if dt == numpy.bool_:
            return getattr(ops, f"logical_{kind}")(*((x,) if y is None else (x, y)))
        if dt.kind in "iu":
            raise NotImplementedError(f"Tensor operator {'~&|^'[('not', 'and', 'or', 'xor').index(kind)]}: TF's "
                                      f"bitwise op of {dt} tensors is not supported here, only bool tensors")
        raise TypeError(f"Value passed to parameter 'x' has DataType {dtypes.as_dtype(dt).name} not in list of "
                        f"allowed values: {_INTEGERS}")
    return fn


class Tensor(Value):
    """A symbolic value: the output ``index`` of an Operation (name ``op:index``)."""

    _shape_type = TensorShape

    @classmethod
    def _record(cls, node: Node) -> None:
        graphs = {id(v.graph): v.graph for v in node.inputs if isinstance(v, Tensor)}
        if len(graphs) > 1:
            raise ValueError(f"{node.op.name}: inputs must be from the same graph")
        graph = next(iter(graphs.values())) if graphs else get_default_graph()
        graph._add(node)

    @property
    def graph(self) -> "Graph":
        return self.node.operation.graph

    @property
    def op(self) -> Operation:
        return self.node.operation

    @property
    def name(self) -> str:
        return f"{self.op.name}:{self.index}"

    def get_shape(self) -> TensorShape:
        return self.shape

    def eval(self, feed_dict: dict | None = None, session: Any = None) -> Any:
        return _session_for(session, "evaluate tensor", "eval").run(self, feed_dict)

    def __repr__(self) -> str:
        return f"<tf.Tensor '{self.name}' shape={self.shape} dtype={self.dtype.name}>"

    # Hashable by identity, as TF1's (feed_dict keys): the C-level slot, not a Python method (a training loop's
    # feed_dict hashes its keys at every step).
    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise TypeError("Using a `tf.Tensor` as a Python `bool` is not allowed in Graph execution.")

    def __iter__(self) -> Iterator:
        raise TypeError("Tensor objects are only iterable when eager execution is enabled.")

    # Operators build graph ops (numbers become scalar ops of the tensor's dtype).
    def _bin(self, other: Any, fn: Any, kind: str | None = None, reverse: bool = False) -> "Tensor":
        number = isinstance(other, (int, float, numpy.number)) and not isinstance(other, bool)
        # A number on the right is a scalar op; a division only of floats (integers divide as floats, see
        # ``real_div``), by the number's reciprocal as TF1's Grappler rewrites it.
        if kind and number and not reverse and (kind != "div" or self.dtype.kind == "f"):
            if kind == "sub":
                return core.scalar(self, "add", -other)
            if kind == "div":
                return core.scalar(self, "mul", _reciprocal(self.dtype, other))
            return core.scalar(self, kind, other)
        other = convert_to_tensor(other, self.dtype, graph=self.graph)
        if kind == "div":
            return real_div(other, self) if reverse else real_div(self, other)
        return fn(other, self) if reverse else fn(self, other)

    @_operator("add")
    def __add__(self, o):
        return self._bin(o, core.add, "add")

    @_operator("add")
    def __radd__(self, o):
        return self._bin(o, core.add, "add")

    @_operator("sub")
    def __sub__(self, o):
        return self._bin(o, core.sub, "sub")

    @_operator("sub")
    def __rsub__(self, o):
        if isinstance(o, (int, float)):
            return core.scalar(self, "rsub", o)
        return self._bin(o, core.sub, reverse=True)

    @_operator("mul")
    def __mul__(self, o):
        return self._bin(o, core.mul, "mul")

    @_operator("mul")
    def __rmul__(self, o):
        return self._bin(o, core.mul, "mul")

    @_operator("truediv")
    def __truediv__(self, o):
        return self._bin(o, core.div, "div")

    @_operator("truediv")
    def __rtruediv__(self, o):
        # TF's ``c / x`` is a RealDiv of a constant, whose gradient rounds as RealDiv's.
        return self._bin(o, core.div, "div", reverse=True)

    @_operator("pow")
    def __pow__(self, o):
        return self._bin(o, core.pow, "pow")

    @_operator("pow")
    def __rpow__(self, o):
        return self._bin(o, core.pow, reverse=True)

    @_operator("floordiv")
    def __floordiv__(self, o):
        return self._bin(o, _tf_floor_div)

    @_operator("floordiv")
    def __rfloordiv__(self, o):
        return self._bin(o, _tf_floor_div, reverse=True)

    @_operator("mod")
    def __mod__(self, o):
        return self._bin(o, _tf_floor_mod)

    @_operator("mod")
    def __rmod__(self, o):
        return self._bin(o, _tf_floor_mod, reverse=True)

    @_operator("matmul")
    def __matmul__(self, o):
        return core.matmul(self, convert_to_tensor(o, self.dtype, graph=self.graph))

    @_operator("matmul")
    def __rmatmul__(self, o):
        return core.matmul(convert_to_tensor(o, self.dtype, graph=self.graph), self)

    @_operator("and")
    def __and__(self, o):
        return self._bin(o, _logical("and"))

    @_operator("and")
    def __rand__(self, o):
        return self._bin(o, _logical("and"), reverse=True)

    @_operator("or")
    def __or__(self, o):
        return self._bin(o, _logical("or"))

    @_operator("or")
    def __ror__(self, o):
        return self._bin(o, _logical("or"), reverse=True)

    @_operator("xor")
    def __xor__(self, o):
        return self._bin(o, _logical("xor"))

    @_operator("xor")
    def __rxor__(self, o):
        return self._bin(o, _logical("xor"), reverse=True)

    def __invert__(self):
        return _logical("not")(self)

    def __neg__(self):
        return _op_named(core.neg(self), "Neg")

    def __abs__(self):
        return _op_named(core.abs(self), "Abs")

    @_operator("strided_slice")
    def __getitem__(self, index: Any) -> "Tensor":
        parts = index if isinstance(index, tuple) else (index,)
        if not any(isinstance(p, Tensor) or (isinstance(p, slice) and any(isinstance(b, Tensor) for b in (
                p.start, p.stop, p.step))) for p in parts):
            return core.getitem(self, index)
        return _index_by_tensors(self, parts)

    def __lt__(self, o):
        return _op_named(core.less(self, convert_to_tensor(o, self.dtype, graph=self.graph)), "Less")

    def __gt__(self, o):
        return _op_named(core.greater(self, convert_to_tensor(o, self.dtype, graph=self.graph)), "Greater")

    def __le__(self, o):
        return _op_named(core.less_equal(self, convert_to_tensor(o, self.dtype, graph=self.graph)), "LessEqual")

    def __ge__(self, o):
        return _op_named(core.greater_equal(self, convert_to_tensor(o, self.dtype, graph=self.graph)),
                         "GreaterEqual")


# ----- source ops (no inputs) ----------------------------------------------------------
class _Source(Op):
    differentiable = False

    def __init__(self, shape: Sequence[int | None], dtype: Any) -> None:
        self.shape = tuple(shape)
        self.dtype = numpy.dtype(dtype)

    def infer(self):
        return [(self.shape, self.dtype)]


class PlaceholderOp(_Source):
    name = "Placeholder"
    pure = False        # a value the caller feeds, never a constant

    def __init__(self, shape: Sequence[int | None] | None, dtype: Any) -> None:
        # Graphs here need a rank, so a placeholder made without a shape is a scalar (TF1 scripts use these
        # for keep_prob, a learning rate, an is_training flag); feeding it anything else is refused.
        self.shapeless = shape is None
        super().__init__(() if shape is None else shape, dtype)


class PlaceholderWithDefaultOp(Op):
    name = "PlaceholderWithDefault"
    differentiable = False

    def infer(self, default):
        return [(default.shape, default.dtype)]

    def forward(self, be, default):
        return default


class ConstOp(_Source):
    name = "Const"

    def __init__(self, value: numpy.ndarray) -> None:
        super().__init__(value.shape, value.dtype)
        self.value = value
        self._cache: dict = {}

    def attrs(self) -> dict:
        return {"shape": self.shape, "dtype": self.dtype}

    def forward(self, be):
        arr = self._cache.get(id(be))
        if arr is None:
            arr = self._cache[id(be)] = be.asarray(self.value)
        return arr


class VariableOp(ReadVariable):
    """Reads the running session's value of a variable (keyed by the variable's name, set once the graph has
    named the op)."""

    name = "VariableV2"

    def __init__(self, shape: Sequence[int], dtype: Any) -> None:
        super().__init__(None, shape, dtype)


class AssignOp(AssignVariable):
    name = "Assign"

    def __init__(self, variable: "Tensor", mode: str = "assign") -> None:
        super().__init__(variable.node.op.key, variable.shape, variable.dtype, mode)
        self.variable = variable
        self.name = {"assign": "Assign", "add": "AssignAdd", "sub": "AssignSub"}[mode]

    def attrs(self) -> dict:
        return {"variable": self.variable.op.name}

    def infer(self, value):
        v = self.variable
        if value.dtype != v.dtype:
            raise TypeError(f"{self.name}: value of dtype {value.dtype} does not match variable '{v.op.name}' "
                            f"of dtype {v.dtype}")
        if any(a is not None and b is not None and a != b for a, b in zip(value.shape, v.shape)) or \
                len(value.shape) != len(v.shape):
            raise ValueError(f"{self.name}: shapes must be equal: variable '{v.op.name}' has shape {v.shape}, "
                             f"value has shape {tuple(value.shape)}")
        return [(v.shape, v.dtype)]


class NoOp(Op):
    name = "NoOp"
    differentiable = False

    def infer(self, *inputs):
        return []

    def forward(self, be, *arrays):
        return ()


# TF's rule for a scope name: these characters only (an op name may not start with "-", "/", ">" or ".")
_SCOPE_NAME = re.compile(r"^[A-Za-z0-9_.\\/>-]*$")


# ----- Graph -----------------------------------------------------------------------
class Graph:
    """A dataflow graph; build into it with ``with g.as_default():``."""

    def __init__(self) -> None:
        self._ops: list[Operation] = []
        self._by_name: dict[str, Operation] = {}
        self._names: dict[str, int] = {}
        self._finalized = False
        self._lock = threading.RLock()          # names and the op list are shared by every thread
        self._local = threading.local()         # the contexts each thread has open (see ``per_thread``)
        self._collections: dict[str, list] = {}
        self.device = _device.default()
        self.seed: int | None = None
        self._seed_counter = 0

    # -- per-thread contexts --
    def per_thread(self, key: str) -> list:
        """A stack this thread keeps for this graph.  TF1 keeps name scopes, control dependencies and
        variable scopes per thread: an op built in one thread never lands in another thread's scope."""
        stacks = self._local.__dict__.setdefault("stacks", {})
        return stacks.setdefault(key, [])

    @property
    def _scope(self) -> list[str]:
        return self.per_thread("name_scope")

    @property
    def _control(self) -> list[list[Node]]:
        return self.per_thread("control_dependencies")

    # -- building --
    def _unique(self, base: str) -> str:
        """TF1's ``Graph.unique_name``: ``base`` under the current name scope, with ``_1``, ``_2``, ... where
        that name (compared without case, as TF) was used by an op or a name scope; marked used.  A name
        ending in "/" is a name scope's own name and is taken as it is (TF names an op after its scope so)."""
        if base.endswith("/"):
            return base[:-1]
        name = "/".join(self._scope + [base]) if self._scope else base
        key = name.lower()
        i = self._names.get(key, 0)
        self._names[key] = i + 1
        if i == 0:
            return name
        while f"{key}_{i}" in self._names:
            i += 1
        self._names[f"{key}_{i}"] = 1
        return f"{name}_{i}"

    def _add(self, node: Node, name: str | None = None) -> Operation:
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")
        ctl = [n for group in self._control for n in group]
        if ctl:
            node.control = tuple(node.control) + tuple(ctl)
        recording = self.per_thread("recording")
        if recording:           # a tf.cond branch being built: the innermost one owns the node
            recording[-1].append(node)
        with self._lock:
            op = Operation(self, node, self._unique(name or node.op.name))
            self._ops.append(op)
            self._by_name[op.name] = op
        return op

    def _rename(self, op: Operation, name: str) -> None:
        """Give ``op`` the name ``name`` would get now (the name it had stays used, as TF's would)."""
        with self._lock:
            del self._by_name[op.name]
            op.name = self._unique(name)
            self._by_name[op.name] = op

    def _source(self, op: Op, name: str | None, cls: type = Tensor) -> Tensor:
        node = Node(op, ())
        specs = op.infer()
        node.outputs = [cls._wrap(None, s, d, self.device, node, i) for i, (s, d) in enumerate(specs)]
        self._add(node, name)
        return node.outputs[0] if node.outputs else node.operation

    def constant(self, value: Any, dtype: Any = None, name: str | None = None,
                 shape: Sequence[int] | None = None) -> Tensor:
        """A Const op, typed as ``tf.constant`` types it: NumPy values keep (or are cast to) their dtype;
        Python floats are float32 and ints int32 (int64 when they do not fit); a Python value that does not
        fit an explicit dtype (1.5 as int32) is a TypeError."""
        if dtype is not None:
            dtype = dtypes.as_dtype(dtype)
            dtypes.check_value(value, dtype)
        arr = numpy.asarray(value, dtype=dtype)
        if dtype is None and not isinstance(value, (numpy.ndarray, numpy.generic)):
            if arr.dtype == numpy.float64:
                arr = arr.astype(numpy.float32)
            elif arr.dtype == numpy.int64 and (arr.size == 0 or -2 ** 31 <= arr.min() and arr.max() < 2 ** 31):
                arr = arr.astype(numpy.int32)
        if shape is not None:
            arr = _fill_shape(arr, tuple(int(d) for d in shape))
        return self._source(ConstOp(arr), name or "Const")

    def next_seed(self) -> int | None:
        """A per-op seed derived from the graph seed (``tf.set_random_seed``); None draws fresh entropy."""
        self._seed_counter += 1
        return None if self.seed is None else self.seed * 1000003 + self._seed_counter

    def add_to_collection(self, key: str, value: Any) -> None:
        self._collections.setdefault(key, []).append(value)

    def get_collection_ref(self, key: str) -> list:
        """The collection's list itself (made empty where missing): what is appended to it is in the
        collection, as TF1's."""
        with self._lock:
            return self._collections.setdefault(key, [])

    def get_collection(self, key: str, scope: str | None = None) -> list:
        """The collection's items; with ``scope``, those whose ``name`` ``re.match``es it (TF's rule: items
        without a name are left out)."""
        items = list(self._collections.get(key, []))
        if scope is None:
            return items
        return [v for v in items if hasattr(v, "name") and re.match(scope, v.name)]

    # -- queries --
    def get_operations(self) -> list[Operation]:
        return list(self._ops)

    def get_operation_by_name(self, name: str) -> Operation:
        if name not in self._by_name:
            raise KeyError(f"The name '{name}' refers to an Operation not in the graph.")
        return self._by_name[name]

    def get_tensor_by_name(self, name: str) -> Tensor:
        m = re.fullmatch(r"(.+):(\d+)", name)
        if not m:
            raise ValueError(f"The name '{name}' looks like an (invalid) Operation name, not a Tensor. Tensor names "
                             "must be of the form \"<op_name>:<output_index>\".")
        op = self.get_operation_by_name(m.group(1))
        i = int(m.group(2))
        if i >= len(op.outputs):
            raise KeyError(f"The name '{name}' refers to a Tensor which does not exist. The operation, "
                           f"'{op.name}', exists but only has {len(op.outputs)} outputs.")
        return op.outputs[i]

    def as_graph_element(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return self.get_tensor_by_name(obj) if ":" in obj else self.get_operation_by_name(obj)
        if isinstance(obj, (Tensor, Operation)):
            if obj.graph is not self:
                raise ValueError(f"{obj!r} is not an element of this graph.")
            return obj
        raise TypeError(f"Can not convert a {type(obj).__name__} into a Tensor or Operation.")

    # -- contexts --
    @contextlib.contextmanager
    def as_default(self) -> Iterator["Graph"]:
        stack = _graph_stack()
        stack.append(self)
        try:
            yield self
        finally:
            stack.pop()

    @contextlib.contextmanager
    def name_scope(self, name: str | None, validate: bool = True) -> Iterator[str]:
        """TF1's ``Graph.name_scope``: ``name`` inside the current scope made unique (a second
        ``name_scope("s")`` is ``s_1``), a name ending in "/" re-enters that scope from the root as it is,
        and None or "" returns to the root.  Yields the scope with its "/" ("" at the root).  ``validate=False``
        takes any characters: Keras names its weights after layer names TF1 would refuse as scopes."""
        if validate and name and not _SCOPE_NAME.match(name):
            raise ValueError(f"'{name}' is not a valid scope name")
        if not name:
            parts = []
        elif name.endswith("/"):
            parts = name[:-1].split("/") if name[:-1] else []
        else:
            with self._lock:
                parts = self._unique(name).split("/")
        scope = self._scope
        saved = scope[:]
        scope[:] = parts
        try:
            yield "/".join(parts) + "/" if parts else ""
        finally:
            scope[:] = saved

    @contextlib.contextmanager
    def name_scope_cleared(self) -> Iterator[None]:
        """Name ops from the graph's root for a while (TF1 names get_variable's variables by variable scope)."""
        scope = self._scope
        saved = scope[:]
        scope.clear()
        try:
            yield
        finally:
            scope[:] = saved

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs: Sequence[Any] | None) -> Iterator[None]:
        if control_inputs is None:
            control = self._control
            saved = control[:]
            control.clear()
            try:
                yield
            finally:
                control[:] = saved
            return
        nodes = [(c.op if isinstance(c, Tensor) else c).node for c in control_inputs]
        self._control.append(nodes)
        try:
            yield
        finally:
            self._control.pop()

    def to_dot(self, title: str = "static graph") -> str:
        """Graphviz DOT text of every operation (name, type, output shapes)."""
        from core.graphviz import to_dot
        return to_dot([op.node for op in self._ops], label=lambda n: n.operation.name, title=title)

    def finalize(self) -> None:
        self._finalized = True

    @property
    def finalized(self) -> bool:
        return self._finalized


def _graph_stack() -> list:
    if not hasattr(_local, "graphs"):
        _local.graphs = []
    return _local.graphs


_default_graph = [Graph()]


def get_default_graph() -> Graph:
    stack = _graph_stack()
    return stack[-1] if stack else _default_graph[0]


def reset_default_graph() -> None:
    if _graph_stack():
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs.")
    _default_graph[0] = Graph()


def session_stack() -> list:
    """This thread's default sessions, innermost last (TF keeps the default session per thread)."""
    if not hasattr(_local, "sessions"):
        _local.sessions = []
    return _local.sessions


def get_default_session() -> Any:
    """The innermost ``with sess.as_default()`` (or ``with Session()``) of this thread, or None."""
    stack = session_stack()
    return stack[-1] if stack else None


def _session_for(session: Any, what: str, call: str) -> Any:
    session = session or get_default_session()
    if session is None:
        raise ValueError(f"Cannot {what} using `{call}()`: No default session is registered. Use `with "
                         f"sess.as_default()` or pass an explicit session to `{call}(session=sess)`")
    return session


def _reciprocal(dtype: Any, c: Any) -> Any:
    """1 / c in ``dtype`` (c rounded to it first), as TF's Reciprocal of a constant of that dtype computes it."""
    t = numpy.dtype(dtype).type
    with numpy.errstate(divide="ignore"):
        return t(1) / t(c)


def real_div(x: Tensor, y: Tensor) -> Tensor:
    """TF1's division of two tensors (``/``, ``tf.divide``: TF's truediv).  Integers divide as floats, 8- and
    16-bit ones as float32 and wider ones as float64 (int32 / int32 is float64 in TF, not a floor division).
    Grappler's constant folding, which every TF1 Session runs, turns a float division by a constant (``x / 3.0``,
    ``tf.divide(x, tf.constant(...))``, the cast of an integer constant too) into a multiplication by the
    constant's reciprocal taken in its dtype (``ReduceDivToReciprocalMul``): two roundings where a division
    has one, a third of ``x / 3.0``'s values a bit apart.  The same rewrite here, at construction, so that the
    Session's optimized and unoptimized runs agree; a constant over a constant is folded by TF as a division,
    and stays one."""
    if x.dtype.kind in "iu" and x.dtype == y.dtype:
        wide = numpy.dtype(numpy.float32 if x.dtype.itemsize <= 2 else numpy.float64)
        x, y = (x.graph.constant(t.node.op.value.astype(wide)) if isinstance(t.node.op, ConstOp)
                else core.cast(t, wide) for t in (x, y))      # a cast constant is a constant, as Grappler folds it
    if (y.dtype.kind == "f" and isinstance(y.node.op, ConstOp) and not isinstance(x.node.op, ConstOp)
            and x.dtype == y.dtype):
        recip = _reciprocal(y.dtype, y.node.op.value)
        if recip.ndim == 0:
            return core.scalar(x, "mul", float(recip))
        return core.mul(x, x.graph.constant(recip))
    return core.div(x, y)


def _fill_shape(arr: numpy.ndarray, shape: tuple) -> numpy.ndarray:
    """TF1's ``tf.constant(value, shape=...)``: the value's elements in order, the last one repeated to fill the
    shape (``[1, 2]`` as (2, 2) is [[1, 2], [2, 2]]; one element fills it all); more elements than the shape
    holds is TF's ValueError."""
    flat, n = arr.reshape(-1), math.prod(shape)
    if flat.size > n or (flat.size == 0 and n):
        raise ValueError(f"Too many elements provided. Takes at most {n}, but got {flat.size}."
                         if flat.size else f"tf.constant: an empty value cannot fill shape {shape}")
    if flat.size < n:
        flat = numpy.concatenate([flat, numpy.full(n - flat.size, flat[-1], flat.dtype)])
    return flat.reshape(shape).copy()


def convert_to_tensor(value: Any, dtype: Any = None, name: str | None = None, preferred_dtype: Any = None,
                      dtype_hint: Any = None, *, graph: Graph | None = None) -> Tensor:
    """TF1's ``tf.convert_to_tensor``: a tensor as it is (its dtype checked), anything else a constant named
    ``name`` (``Const``), of ``dtype``, else of ``preferred_dtype``/``dtype_hint`` where the value fits it."""
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype != dtypes.as_dtype(dtype):
            raise ValueError(f"Tensor conversion requested dtype {dtypes.as_dtype(dtype).name} for Tensor with dtype "
                             f"{value.dtype.name}: {value!r}")
        return value
    g = graph or get_default_graph()
    hint = preferred_dtype if preferred_dtype is not None else dtype_hint
    if dtype is None and hint is not None:
        try:        # as TF: the hint is only a preference, a value that does not fit it keeps its own dtype
            return g.constant(value, hint, name=name)
        except (TypeError, ValueError):
            pass
    return g.constant(value, dtype, name=name)


def named(result: Any, name: str | None) -> Any:
    """Give the op that produced ``result`` the user's ``name=`` (made unique), as TF does."""
    if name is None:
        return result
    op = result.op if isinstance(result, Tensor) else result
    op.graph._rename(op, name)
    return result
