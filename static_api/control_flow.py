"""``tf.cond``: one of two branches runs, chosen by a boolean scalar tensor when the graph runs
(``core.ops.control.Cond``).  Each branch function is called once while the graph records the nodes it adds;
those nodes run only inside the Cond, and the outside tensors they read become the Cond's inputs."""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import core
from core.graph import Node
from core.ops import control
from static_api import ops
from static_api.graph import Operation, PlaceholderOp, Tensor, get_default_graph


class _Recorder:
    """``core.ops.control.recorder`` for static graphs: records the nodes a function adds to the default graph
    (outside control dependencies set aside, so that a branch's nodes depend only on what they read)."""

    @staticmethod
    def record(build: Callable[[], Any]) -> tuple[Any, list[Node]]:
        g = get_default_graph()
        nodes: list[Node] = []
        control_stack = g.per_thread("control_dependencies")
        saved = list(control_stack)
        control_stack.clear()
        g.per_thread("recording").append(nodes)
        try:
            result = build()
        finally:
            g.per_thread("recording").pop()
            control_stack.extend(saved)
        return result, nodes

    @staticmethod
    def standin(like: Tensor) -> Tensor:
        """A placeholder the gradient of a branch reads in place of an output's gradient."""
        return get_default_graph()._source(PlaceholderOp(like.shape, like.dtype), "cond_grad/Placeholder")


control.recorder = _Recorder()


_MISMATCH = ("true_fn and false_fn arguments to tf.cond must have the same number, type, and overall structure of "
             "return values.")


def _flatten(result: Any) -> tuple[list, Callable[[list], Any], Any]:
    """The tensors and operations of a branch's result (nested lists, tuples and dicts), how to rebuild it, and
    its structure (compared between the branches, as TF's ``nest.assert_same_structure``)."""
    if isinstance(result, (list, tuple)):
        parts = [_flatten(r) for r in result]
        flat = [x for p, _, _ in parts for x in p]

        def rebuild(values: list) -> Any:
            out, i = [], 0
            for p, r, _ in parts:
                out.append(r(values[i:i + len(p)]))
                i += len(p)
            return type(result)(*out) if hasattr(result, "_fields") else type(result)(out)
        return flat, rebuild, (type(result), tuple(s for _, _, s in parts))
    if isinstance(result, dict):
        keys = sorted(result)
        flat, rebuild, structure = _flatten([result[k] for k in keys])
        return flat, lambda values: dict(zip(keys, rebuild(values))), (dict, tuple(keys), structure)
    return [result], lambda values: values[0], None


def _captures(nodes: list[Node], outputs: list, slots: list) -> list:
    """The outside values a sub-program reads, each once in the order first read: its nodes' inputs and the
    outputs it hands on as they are, other than those its own nodes or its stand-ins (``slots``) make."""
    mine = {id(n) for n in nodes} | {id(s.node) for s in slots}
    caps: dict = {}
    for v in [v for n in nodes for v in n.inputs] + list(outputs):
        if id(v.node) not in mine:
            caps.setdefault((id(v.node), v.index), v)
    return list(caps.values())


_VARYING = ("To allow the shape to vary across iterations, use the `shape_invariants` argument of tf.while_loop to "
            "specify a less-specific shape.")


def _check_carried(inits: list, outs: list, shapes: list, who: str, hint: str = _VARYING) -> None:
    """That a loop's carried values (``inits``, held to ``shapes``) come out of an iteration (``outs``) with
    their dtypes and shapes, as TF's while_loop checks; ``who`` names what made them and ``hint`` says what to
    do about a shape that changed."""
    for v, o, s in zip(inits, outs, shapes):
        if o.dtype != v.dtype:
            raise TypeError(f"{who} changed a loop variable's dtype from {v.dtype.name} to {o.dtype.name}")
        if len(o.shape) != len(s) or any(a is not None and a != b for a, b in zip(s, o.shape)):
            raise ValueError(f"Input tensor `{v.name}` enters the loop with shape {tuple(v.shape)}, but has shape "
                             f"{tuple(o.shape)} after one iteration. {hint}")


def _rename_in(g: Any, tensor: Tensor, scope: str, name: str) -> None:
    """Name ``tensor``'s operation ``name`` in ``scope``, a name scope made earlier (re-entered as it is, so an
    enclosing scope is not added twice)."""
    with g.name_scope(scope):
        g._rename(tensor.op, name)


def _branch(fn: Callable[[], Any], which: str) -> tuple[Any, list, Any, list[Node]]:
    with get_default_graph().name_scope(which):
        result, nodes = control.recorder.record(fn)
    if result is None:
        raise ValueError(f"{which} must have a return value.")
    flat, rebuild, structure = _flatten(result)
    return rebuild, flat, structure, nodes


def _as_output(x: Any) -> Any:
    """A branch result as a Cond output: a tensor, or the node of an operation (run for its effect)."""
    if isinstance(x, Operation):
        return x.node
    return x if isinstance(x, Tensor) else ops.convert_to_tensor(x)


def cond(pred, true_fn=None, false_fn=None, strict=False, name=None, fn1=None, fn2=None):
    """TF1's ``tf.cond`` (as TF 2's ``compat.v1`` runs it): ``true_fn()``'s results where ``pred`` is true when
    the graph runs, else ``false_fn()``'s; only that branch's ops run.  Both must return the same structure
    (nested lists, tuples, dicts), tensors of the same dtypes; results keep their structure, but a one-element
    list or tuple is unpacked unless ``strict`` (TF1's, and TF 2's with ``disable_v2_behavior``)."""
    true_fn, false_fn = true_fn if true_fn is not None else fn1, false_fn if false_fn is not None else fn2
    if not callable(true_fn):
        raise TypeError("true_fn must be callable.")
    if not callable(false_fn):
        raise TypeError("false_fn must be callable.")
    if isinstance(pred, bool):
        raise TypeError("pred must not be a Python bool", pred)
    pred = ops._t(pred)
    g = get_default_graph()
    with g.name_scope(name or "cond") as scope:
        made = []
        for fn, which in ((true_fn, "true"), (false_fn, "false")):
            rebuild, flat, structure, nodes = _branch(fn, which)
            with _recording_into(g, nodes):     # constants made from Python values belong to the branch
                outs = [_as_output(x) for x in flat]
            made.append((rebuild, outs, structure, nodes))
    (rebuild, t_outs, t_structure, t_nodes), (_, f_outs, f_structure, f_nodes) = made
    if (t_structure != f_structure or len(t_outs) != len(f_outs)
            or any(isinstance(a, Node) != isinstance(b, Node) for a, b in zip(t_outs, f_outs))):
        raise TypeError(_MISMATCH)
    specs = []
    for a, b in zip(t_outs, f_outs):
        if isinstance(a, Node):
            continue
        if a.dtype != b.dtype:
            raise TypeError(_MISMATCH)
        if len(a.shape) != len(b.shape):
            raise NotImplementedError("tf.cond: branches whose results have different ranks are not implemented in "
                                      "dualflow")
        specs.append((tuple(x if x == y else None for x, y in zip(a.shape, b.shape)), a.dtype))
    branches = []
    seen: dict = {}
    for outs, nodes in ((t_outs, t_nodes), (f_outs, f_nodes)):
        caps = _captures(nodes, [o for o in outs if isinstance(o, Tensor)], [])
        for v in caps:
            seen.setdefault((id(v.node), v.index), v)
        branches.append(control.Branch(outs, caps, nodes))
    captures = list(seen.values())
    op = control.Cond(branches, captures, specs)
    result = core.apply(op, pred, *captures)      # the outputs, then the tape
    _rename_in(g, result[0], scope, "Identity")
    values = iter(result[:-1])
    out = rebuild([result[0].op if isinstance(o, Node) else next(values) for o in t_outs])
    return out[0] if not strict and isinstance(out, (list, tuple)) and len(out) == 1 else out


@contextlib.contextmanager
def _recording_into(g: Any, nodes: list[Node]) -> Iterator[None]:
    stack = g.per_thread("recording")
    stack.append(nodes)
    try:
        yield
    finally:
        stack.pop()


def _at_most_true(predicates: list, n: int, msg: str) -> Any:
    """TF's ``_assert_at_most_n_true``: an Assert that at most ``n`` of the scalar predicates hold."""
    stacked = ops.stack(predicates, name="preds_c")
    count = ops.reduce_sum(ops.cast(stacked, ops.int32), name="num_true_conds")
    names = ", ".join(getattr(p, "name", "?") for p in predicates)
    return ops.Assert(ops.less_equal(count, ops.constant(n, name="n_true_conds")),
                      [f"{msg}: more than {n} conditions ({names}) evaluated as True:", stacked],
                      summarize=len(predicates))


def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """TF1's ``tf.case``: the fn of the first predicate that holds (with ``exclusive``, an Assert that at most one
    does); without ``default``, the last pair's fn is the default, asserting that its predicate holds and no
    other does (TF's own construction, conds nested from the last pair)."""
    if not isinstance(pred_fn_pairs, (list, tuple, dict)):
        raise TypeError(f"'pred_fn_pairs' must be a list, tuple, or dict. Received: {type(pred_fn_pairs)}")
    if isinstance(pred_fn_pairs, dict):
        pred_fn_pairs = sorted(pred_fn_pairs.items(), key=lambda item: item[0].name)
    predicates, actions = [], []
    for pair in pred_fn_pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(f"Each entry in 'pred_fn_pairs' must be a 2-tuple. Received {pair}.")
        pred, fn = pair
        if not isinstance(pred, Tensor):
            raise TypeError(f"pred must be a Tensor, got: {pred}")
        if pred.dtype.kind != "b":
            raise TypeError(f"pred must be Tensor of type bool: {pred.name}")
        if not callable(fn):
            raise TypeError(f"fn for pred {pred.name} must be callable.")
        predicates.append(pred)
        actions.append(fn)
    if default is not None and not callable(default):
        raise TypeError("default must be callable.")
    g = get_default_graph()
    with g.name_scope(name):
        if default is None:
            k = len(predicates) - 1
            last, last_action, others, every = predicates[k], actions[k], predicates[:k], list(predicates)

            def default() -> Any:
                checks = [ops.Assert(last, ["Input error: None of conditions evaluated as True:",
                                            ops.stack(every, name="preds_c")])]
                if others:
                    checks.insert(0, _at_most_true(others, 0, "Implementation error: selected default action "
                                                   f"#{k} was called, but some of other predicates are True: "))
                with g.control_dependencies(checks):
                    return last_action()
            predicates, actions = others, actions[:k]
        fn = default
        for pred, action in reversed(list(zip(predicates, actions))):
            fn = (lambda p, a, f: lambda: cond(p, a, f))(pred, action, fn)
        if exclusive:
            with g.control_dependencies([_at_most_true(predicates, 1, "Input error: exclusive=True")]):
                return fn()
        return fn()


def _loose(structure: Any) -> Any:
    """A structure with lists and tuples alike (TF's while_loop compares them so; tf.cond does not)."""
    if not isinstance(structure, tuple):
        return structure
    kind, *rest = structure
    kind = "sequence" if kind in (list, tuple) else kind
    return (kind, *[tuple(_loose(x) for x in r) if isinstance(r, tuple) and kind != dict else
                    (r if kind == dict and r is rest[0] else _loose(r)) for r in rest])


def _leaves_like(template: Any, value: Any) -> list:
    """``value``'s parts where ``template`` (the loop variables) has its leaves: shape invariants, which are
    lists or tuples themselves."""
    if isinstance(template, (list, tuple)):
        return [leaf for t, v in zip(template, value) for leaf in _leaves_like(t, v)]
    if isinstance(template, dict):
        return [leaf for k in sorted(template) for leaf in _leaves_like(template[k], value[k])]
    return [value]


def _invariant(shape: Any, var: Tensor) -> tuple:
    """A shape invariant as a tuple with None for unknown dims (a TensorShape, list or tuple)."""
    dims = [None if d is None else int(d) for d in (shape.as_list() if hasattr(shape, "as_list") else shape)]
    if len(dims) != var.ndim:
        raise NotImplementedError("tf.while_loop: a shape invariant of another rank than its loop variable is not "
                                  "implemented in dualflow")
    return tuple(dims)


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10, back_prop=True,
               swap_memory=False, name=None, maximum_iterations=None, return_same_structure=False):
    """TF1's ``tf.while_loop`` (as TF 2's ``compat.v1`` runs it): ``loop_vars = body(*loop_vars)`` while
    ``cond(*loop_vars)`` holds (at most ``maximum_iterations`` times), each body run as one sub-program with
    its effects; gradients run the body's reverse pass once per iteration, last first, on the values that
    iteration made.  A loop variable keeps its shape unless ``shape_invariants`` loosens it; a one-element
    result is unpacked unless ``return_same_structure``."""
    if not callable(cond):
        raise TypeError("'cond' must be callable.")
    if not callable(body):
        raise TypeError("'body' must be callable.")
    if parallel_iterations < 1:
        raise TypeError("'parallel_iterations' must be a positive integer.")
    if isinstance(maximum_iterations, Tensor):
        raise NotImplementedError("tf.while_loop: a tensor maximum_iterations is not implemented in dualflow (give an "
                                  "int)")
    flat, rebuild, structure = _flatten(loop_vars)
    inits = [ops._t(v) for v in flat]
    if shape_invariants is None:
        shapes = [tuple(v.shape) for v in inits]
    else:
        shapes = [_invariant(s, v) for s, v in zip(_leaves_like(loop_vars, shape_invariants), inits)]
    g = get_default_graph()
    with g.name_scope(name or "while") as scope:
        slots = [g._source(PlaceholderOp(s, v.dtype), "loop_var") for s, v in zip(shapes, inits)]
        current = rebuild(slots)
        args = current if isinstance(current, (list, tuple)) and not hasattr(current, "_fields") else [current]
        with g.name_scope("cond"):
            pred, cond_nodes = control.recorder.record(lambda: ops._t(cond(*args)))
        with g.name_scope("body"):
            result, body_nodes = control.recorder.record(lambda: body(*args))
            with _recording_into(g, body_nodes):
                if not isinstance(result, (list, tuple, dict)) and len(flat) == 1:
                    result = [result]       # a lone loop variable's body may return it bare, or in a list
                out_flat, _, out_structure = _flatten(result)
                outs = [ops._t(v) for v in out_flat]
    if pred.dtype.kind != "b" or len(pred.shape):
        raise TypeError(f"tf.while_loop: cond must return a boolean scalar, got shape {list(pred.shape)} and dtype "
                        f"{pred.dtype.name}")
    if len(outs) != len(inits) or (_loose(out_structure) != _loose(structure) and len(flat) > 1):
        raise ValueError("The two structures don't have the same nested structure: the body must return the loop "
                         "variables' structure.")
    _check_carried(inits, outs, shapes, "tf.while_loop: the body")
    branches, seen = [], {}
    for outputs, nodes in (([pred], cond_nodes), (outs, body_nodes)):
        caps = _captures(nodes, outputs, slots)
        for v in caps:
            seen.setdefault((id(v.node), v.index), v)
        branches.append(control.Branch(outputs, caps + slots, nodes))
    captures = list(seen.values())
    op = control.While(branches[0], branches[1], slots, captures, [(s, v.dtype) for s, v in zip(shapes, inits)],
                       maximum_iterations)
    result = core.apply(op, *inits, *captures)      # the last values, then the tape
    _rename_in(g, result[0], scope, "Identity")
    out = rebuild(list(result[:-1]))
    if not return_same_structure and isinstance(out, (list, tuple)) and len(out) == 1:
        out = out[0]
    return out
