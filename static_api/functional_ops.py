"""TF1's ``tf.map_fn``, ``tf.scan``, ``tf.foldl`` and ``tf.foldr``: a function of one row of ``elems`` at a time
(rows along the first dimension, whose length may be known only when the graph runs).

TF builds each from a ``while_loop`` that reads rows from TensorArrays and writes results into others.  Here
the function is called once while the graph records the nodes it adds (as ``tf.while_loop``'s body is), and one
``core.ops.control.Scan`` runs those nodes per row, carrying the accumulator of scan and the folds from row to
row and stacking the per-row results; its gradient runs the function's reverse pass per row, last first, as
TF's loop gradient does.

    >>> import numpy as np, static_api as tf
    >>> with tf.Graph().as_default():
    ...     images = tf.placeholder(tf.float32, (None, 2))
    ...     sums = tf.map_fn(lambda img: tf.reduce_sum(img), images)
    ...     with tf.Session() as sess:
    ...         sess.run(sums, {images: np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)}).tolist()
    [3.0, 7.0]
"""
from __future__ import annotations

from typing import Any, Callable

import core
from core.graph import Node
from core.ops import control
from static_api import dtypes, ops
from static_api.control_flow import _captures, _check_carried, _flatten, _loose, _rename_in
from static_api.graph import PlaceholderOp, Tensor, get_default_graph
from static_api.variables import Variable


def _check_call(caller: str, fn: Any, parallel_iterations: Any) -> None:
    if not callable(fn):
        raise TypeError(f"{caller}: fn must be callable, got {type(fn).__name__}")
    if parallel_iterations < 1:       # TF's while_loop check (map_fn reads None and 0 as 10 first)
        raise TypeError("'parallel_iterations' must be a positive integer.")


def _elems(caller: str, leaves: list, elems: Any, same_length: bool) -> list[Tensor]:
    """``elems``' tensors (arrays and lists made constants), each of rank 1 or more; with ``same_length`` (as
    TF's map_fn and scan; its folds find out when the graph runs), first dims known when the graph is built
    must agree."""
    if not leaves:
        raise ValueError(f"{caller}: elems must be a Tensor or (possibly nested) sequence of Tensors. Got {elems}, "
                         "which does not contain any Tensors.")
    xs = [v if isinstance(v, Tensor) else ops.convert_to_tensor(v, name="elem") for v in leaves]
    if any(x.ndim < 1 for x in xs):
        raise ValueError(f"{caller}: Elements in elems must be 1+ dimensional Tensors, not scalars")
    if same_length:
        known = [x.shape[0] for x in xs if x.shape[0] is not None]
        if any(n != known[0] for n in known):
            raise ValueError(f"{caller}: Dimensions {known[0]} and {next(n for n in known if n != known[0])} are "
                             "not compatible: the tensors in elems must have one length along their first dimension")
    return xs


def _same_structure(caller: str, expected: Any, got: Any, what: str) -> None:
    """TF's ``nest.assert_same_structure`` of fn's result against ``what`` it must match: other nestings raise
    ValueError, the same nesting with other sequence types (a list for a tuple) TypeError."""
    if got == expected:
        return
    error = TypeError if _loose(got) == _loose(expected) else ValueError
    kind = "sequence type" if error is TypeError else "nested structure"
    raise error(f"{caller}: The two structures don't have the same {kind}: fn's result must have the structure of "
                f"{what}")


def _converted(caller: str, value: Any, dtype: Any, what: str) -> Tensor:
    """One of fn's results as a tensor of ``dtype`` (a Python number or array converted to it where it fits,
    as TF's TensorArray.write does); TF finds another dtype only when the graph runs, here it raises at once."""
    if value is None:
        raise ValueError(f"{caller}: fn returned None: None values not supported.")
    t = ops.convert_to_tensor(value, preferred_dtype=dtype)
    if t.dtype != dtype:
        raise TypeError(f"{caller}: fn returned a {t.dtype.name} tensor where {what} says {dtype.name}")
    return t


def _lift_variables(nodes: list[Node], slots: list[Tensor]) -> list[Node]:
    """``nodes`` less the variables made among them and the nodes their initializers read, which belong outside
    the loop: left in the body, a variable would be no input of the Scan, so no gradient would reach it.  An
    initializer that reads a row or a carried value raises as TF's does."""
    made = [n.outputs[0] for n in nodes if n.outputs and isinstance(n.outputs[0], Variable)]
    if not made:
        return nodes
    mine, standins = {id(n) for n in nodes}, {id(s.node) for s in slots}
    lifted: set[int] = set()
    todo = [(v, n) for v in made for n in (v.node, v.initializer.node)]
    while todo:
        var, n = todo.pop()
        if id(n) in standins:
            raise ValueError(f"Initializer for variable {var.op.name} is from inside a control-flow construct, such as "
                             "a loop or conditional. When creating a variable inside a loop or conditional, use a "
                             "lambda as the initializer.")
        if id(n) in mine and id(n) not in lifted:
            lifted.add(id(n))
            todo += [(var, i.node) for i in n.inputs] + [(var, c) for c in n.control]
    return [n for n in nodes if id(n) not in lifted]


def _loop(caller: str, inits: list[Tensor], sliced: list[Tensor],
          body: Callable[[list[Tensor], list[Tensor]], tuple[list[Tensor], list[Tensor]]],
          reverse: bool, back_prop: bool, row_shape: Callable[[int, Tensor], tuple]) -> list[Tensor]:
    """One ``Scan`` over the rows of ``sliced``: ``body(carried, rows)`` is called once on stand-ins (under the
    current scope's ``while/``) and gives the values to stack, the ``j``-th of them as rows of
    ``row_shape(j, value)``, and the carried values' next values.  Gives the stacked results, then the last
    carried values."""
    g = get_default_graph()
    carried = [g._source(PlaceholderOp(tuple(v.shape), v.dtype), "while/Identity") for v in inits]
    rows = [g._source(PlaceholderOp(tuple(x.shape[1:]), x.dtype), "while/TensorArrayReadV3") for x in sliced]
    with g.name_scope("while"):
        (stacked, nexts), nodes = control.recorder.record(lambda: body(carried, rows))
    slots, outs = carried + rows, stacked + nexts
    nodes = _lift_variables(nodes, slots)
    captures = _captures(nodes, outs, slots)
    op = control.Scan(control.Branch(outs, captures + slots, nodes), slots, len(inits), captures,
                      [(row_shape(j, v), v.dtype) for j, v in enumerate(stacked)],
                      [(tuple(v.shape), v.dtype) for v in inits], reverse, caller, back_prop)
    return list(core.apply(op, *inits, *sliced, *captures)[:-1])


def map_fn(fn: Callable, elems: Any, dtype: Any = None, parallel_iterations: int | None = None,
           back_prop: bool = True, swap_memory: bool = False, infer_shape: bool = True, name: str | None = None,
           fn_output_signature: Any = None) -> Any:
    """TF1's ``tf.map_fn``: ``fn`` of each row of ``elems`` (a tensor or a nested structure of tensors, rows
    along the first dimension, all of one length), the results stacked.  ``fn`` returns the structure of
    ``elems`` with its dtypes, or that of ``fn_output_signature`` (``dtype``): a dtype or a nested structure of
    dtypes.  Each result's rows must share one shape; with no rows, the result is empty with fn's result's
    shape, which must then be known.  ``back_prop=False`` lets no gradient through (``tf.gradients`` gives
    None), ``infer_shape=False`` leaves the results' dims past the first unknown in the graph, and
    ``parallel_iterations`` and ``swap_memory`` change nothing (the rows run one after another).

        >>> import static_api as tf
        >>> with tf.Graph().as_default():
        ...     x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
        ...     big, doubled = tf.map_fn(lambda r: (r[0] > 2.0, r * 2.0), x, dtype=(tf.bool, tf.float32))
        ...     tf.Session().run(big).tolist()
        [False, True]
    """
    signature = dtype if fn_output_signature is None else fn_output_signature
    _check_call("tf.map_fn", fn, parallel_iterations or 10)
    leaves, pack_elems, elems_structure = _flatten(elems)
    g = get_default_graph()
    with g.name_scope(name or "map") as scope:
        xs = _elems("tf.map_fn", leaves, elems, same_length=True)
        if signature is None:
            dts, pack, structure, what = [x.dtype for x in xs], pack_elems, elems_structure, "elems"
        else:
            kinds, pack, structure = _flatten(signature)
            dts, what = [dtypes.as_dtype(d) for d in kinds], "fn_output_signature (or dtype)"

        def body(carried: list, rows: list) -> tuple[list, list]:
            got, _, got_structure = _flatten(fn(pack_elems(rows)))
            _same_structure("tf.map_fn", structure, got_structure, what)
            return [_converted("tf.map_fn", v, d, what) for v, d in zip(got, dts)], []

        results = _loop("tf.map_fn", [], xs, body, False, back_prop,
                        lambda j, v: tuple(v.shape) if infer_shape else (None,) * v.ndim)
        _rename_in(g, results[0], scope, "TensorArrayStack/TensorArrayGatherV3")
    return pack(results)


def _start(xs: list[Tensor], initializer: Any, reverse: bool) -> tuple[list, list, Callable | None, Any]:
    """Where scan and the folds start: the accumulator's first values (``initializer``'s, else the first row of
    each of ``xs``, the last with ``reverse``), the rows left to run, and how to rebuild the accumulator's
    structure and that structure (None: ``elems``')."""
    if initializer is not None:
        leaves, pack, structure = _flatten(initializer)
        return [ops._t(v) for v in leaves], xs, pack, structure
    # TF reads the first row from a TensorArray (InvalidArgumentError when elems are empty); a gather checks so
    first = [ops.gather(x, ops.shape(x)[0] - 1 if reverse else 0, name="TensorArrayReadV3") for x in xs]
    return first, [x[:-1] if reverse else x[1:] for x in xs], None, None


def _accumulate(caller: str, fn: Callable, elems: Any, initializer: Any, parallel_iterations: int,
                back_prop: bool, reverse: bool, stacked: bool, infer_shape: bool, name: str) -> Any:
    """``a = fn(a, row)`` over the rows of ``elems`` (last first with ``reverse``): with ``stacked``, ``a`` after
    each row stacked (scan), else the last ``a`` (the folds); in ``a``'s structure."""
    _check_call(caller, fn, parallel_iterations)
    leaves, pack_elems, elems_structure = _flatten(elems)
    g = get_default_graph()
    with g.name_scope(name) as scope:
        # TF's scan compares the first dims of elems when it builds the graph; its folds find out when run
        xs = _elems(caller, leaves, elems, same_length=stacked)
        inits, rest, pack, structure = _start(xs, initializer, reverse)
        what = "initializer" if pack is not None else "elems"
        pack, structure = (pack_elems, elems_structure) if pack is None else (pack, structure)
        if initializer is None and not back_prop:       # the first row reaches the result outside the loop
            inits = [ops.stop_gradient(v) for v in inits]

        def body(carried: list, rows: list) -> tuple[list, list]:
            got, _, got_structure = _flatten(fn(pack(carried), pack_elems(rows)))
            _same_structure(caller, structure, got_structure, what)
            nexts = [_converted(caller, v, a.dtype, f"the accumulator ({what})") for v, a in zip(got, inits)]
            _check_carried(inits, nexts, [tuple(a.shape) for a in inits], f"{caller}: fn",
                           f"{caller}: fn must keep the accumulator's shape.")
            return nexts if stacked else [], nexts

        def row_shape(j: int, v: Tensor) -> tuple:
            # TF's TensorArray of results starts from the accumulator's shape and merges in what fn returned
            start = tuple(inits[j].shape)
            return tuple(a if a is not None else b for a, b in zip(start, v.shape)) if infer_shape else (None,) * v.ndim

        results = _loop(caller, inits, rest, body, reverse, back_prop, row_shape)
        if stacked:
            results = results[:len(inits)]
            if initializer is None:     # the first row is the first accumulator, the result's first (last) row
                firsts = [ops.expand_dims(a, 0) for a in inits]
                results = [ops.concat([s, f] if reverse else [f, s], 0) for f, s in zip(firsts, results)]
        _rename_in(g, results[0], scope, "TensorArrayStack/TensorArrayGatherV3" if stacked else "while/Exit_2")
    return pack(results)


def foldl(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: int = 10, back_prop: bool = True,
          swap_memory: bool = False, name: str | None = None) -> Any:
    """TF1's ``tf.foldl``: ``a = fn(a, row)`` over the rows of ``elems`` (a tensor or nested structure of
    tensors), first row first, from ``a = initializer`` (else the first row, and the rest after it; empty
    ``elems`` then raise InvalidArgumentError when run); gives the last ``a``, which keeps its structure,
    dtypes and shapes from row to row.  ``back_prop=False`` lets no gradient through; ``parallel_iterations``
    and ``swap_memory`` change nothing.

        >>> import static_api as tf
        >>> with tf.Graph().as_default():
        ...     float(tf.Session().run(tf.foldl(lambda a, x: a + x, tf.constant([1.0, 2.0, 3.0]))))
        6.0
    """
    return _accumulate("tf.foldl", fn, elems, initializer, parallel_iterations, back_prop, False, False, True,
                       name or "foldl")


def foldr(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: int = 10, back_prop: bool = True,
          swap_memory: bool = False, name: str | None = None) -> Any:
    """TF1's ``tf.foldr``: ``tf.foldl`` over the rows last first (from the last row when ``initializer`` is
    None)."""
    return _accumulate("tf.foldr", fn, elems, initializer, parallel_iterations, back_prop, True, False, True,
                       name or "foldr")


def scan(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: int = 10, back_prop: bool = True,
         swap_memory: bool = False, infer_shape: bool = True, reverse: bool = False, name: str | None = None) -> Any:
    """TF1's ``tf.scan``: ``tf.foldl``'s ``a`` after each row, stacked (row ``i`` of a result is ``a`` after row
    ``i``; with ``reverse``, the rows run last first).  Without ``initializer`` the first row (the last with
    ``reverse``) is the first ``a`` and the result's first (last) row.  The results have the structure of
    ``initializer`` (else of ``elems``).  ``back_prop=False`` lets no gradient through, ``infer_shape=False``
    leaves the results' dims past the first unknown in the graph; ``parallel_iterations`` and ``swap_memory``
    change nothing.

        >>> import static_api as tf
        >>> with tf.Graph().as_default():
        ...     tf.Session().run(tf.scan(lambda a, x: a + x, tf.constant([1.0, 2.0, 3.0]))).tolist()
        [1.0, 3.0, 6.0]
    """
    return _accumulate("tf.scan", fn, elems, initializer, parallel_iterations, back_prop, reverse, True, infer_shape,
                       name or "scan")
