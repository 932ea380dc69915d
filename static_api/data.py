"""``tf.data`` for TF1 input pipelines: a ``Dataset`` describes a pipeline over host arrays (slices of tensors, a
Python generator, datasets zipped or concatenated; then ``map``, ``filter``, ``shuffle``, ``repeat``,
``batch``, ``take``, ``skip``, ``prefetch``), and an iterator's
``get_next()`` is an op that, each time a step runs it, pulls the next element into the graph (raising
``tf.errors.OutOfRangeError`` at the end, as TF).  An initializable iterator's ``initializer`` starts the
pipeline from its source tensors' values at that run (placeholders fed then, as in TF); a one-shot iterator
starts at its first ``get_next``.  The pipeline state lives in the session, so each session iterates on its
own.  ``map`` functions are traced once into a sub-program of graph ops (``core.ops.control.Branch``) run
per element.  Shuffling draws from dualflow's own generator (seeded by ``seed`` and the graph seed), so its
orders are not TF's.
"""
from __future__ import annotations

import collections
from typing import Any, Callable, Iterator

import numpy

import core
from core import errors as _errors
from core import state as _state
from core.op import Op
from core.ops import control
from core.program import key
from static_api import ops
from static_api.control_flow import _flatten, _leaves_like, _recording_into
from static_api.dtypes import as_dtype
from static_api.errors import OutOfRangeError
from static_api.graph import ConstOp, PlaceholderOp, Tensor, TensorShape, get_default_graph

__all__ = ["Dataset", "Iterator", "make_initializable_iterator", "make_one_shot_iterator"]

Spec = collections.namedtuple("Spec", ["shape", "dtype"])


def _components(x: Any) -> Any:
    """An element's structure as tf.data reads it: tuples (namedtuples too) and dicts are structures, but a
    list is one tensor, as ``tf.convert_to_tensor`` makes it (its tensors packed): ``from_tensors([1, 2, 3])``
    is one int32 vector, not three scalars."""
    if isinstance(x, list):
        if any(isinstance(v, numpy.ndarray) for v in x):     # TF refuses to pack arrays given in a list
            raise ValueError(f"Expected values {x!r} to be a dense tensor, not a list of arrays (pass one array or "
                             "a tuple)")
        return ops.stack(x) if any(isinstance(v, Tensor) for v in x) else ops._t(x)
    if isinstance(x, tuple):
        parts = [_components(v) for v in x]
        return type(x)(*parts) if hasattr(x, "_fields") else tuple(parts)
    if isinstance(x, dict):
        return {k: _components(v) for k, v in x.items()}
    return x


class Dataset:
    """A pipeline: ``source`` (tensors whose first dim is sliced into elements), the transformations in order
    (``steps``), and the element's structure (``rebuild``) and component specs."""

    def __init__(self, source: list[Tensor], steps: tuple, specs: list[Spec], rebuild: Callable[[list], Any],
                 head: tuple = ("slices",)) -> None:
        self._source, self._steps, self._specs, self._rebuild = source, steps, specs, rebuild
        self._head = head       # where elements come from: slices of the sources, a generator, datasets joined

    # -- sources --
    @staticmethod
    def from_tensor_slices(tensors: Any) -> "Dataset":
        """Elements are the slices along the first dim of every component (all of one length)."""
        flat, rebuild, _ = _flatten(_components(tensors))
        source = [ops._t(t) for t in flat]
        for t in source:
            if t.ndim == 0:
                raise ValueError("Unbatching a tensor is only supported for rank >= 1")
        lengths = {t.shape[0] for t in source if t.shape[0] is not None}
        if len(lengths) > 1:
            a, b = sorted(lengths)[:2]
            raise ValueError(f"Dimensions {a} and {b} are not compatible")
        return Dataset(source, (), [Spec(tuple(t.shape[1:]), t.dtype) for t in source], rebuild)

    @staticmethod
    def from_tensors(tensors: Any) -> "Dataset":
        """One element: the tensors themselves."""
        flat, rebuild, _ = _flatten(_components(tensors))
        source = [core.expand_dims(ops._t(t), 0) for t in flat]
        return Dataset(source, (), [Spec(tuple(t.shape[1:]), t.dtype) for t in source], rebuild)

    @staticmethod
    def range(*args: int) -> "Dataset":
        """0, 1, ... (Python's range arguments), int64 scalars."""
        return Dataset.from_tensor_slices(ops.constant(numpy.arange(*args, dtype=numpy.int64)))

    @staticmethod
    def from_generator(generator: Callable, output_types: Any, output_shapes: Any = None, args: Any = None,
                       output_signature: Any = None) -> "Dataset":
        """The elements ``generator()`` yields (called anew for each pass), converted to ``output_types``
        and checked against ``output_shapes`` (None dims free; the rank must be given)."""
        if output_signature is not None or args is not None:
            raise NotImplementedError("Dataset.from_generator: output_signature and args are not implemented in "
                                      "dualflow (give output_types and output_shapes)")
        if output_shapes is None:
            raise NotImplementedError("Dataset.from_generator: elements of unknown rank are not implemented in "
                                      "dualflow; give output_shapes")
        types, rebuild, _ = _flatten(output_types)
        shapes = _leaves_like(output_types, output_shapes)
        specs = [Spec(tuple(None if d is None else int(d) for d in (sh.as_list() if hasattr(sh, "as_list") else sh)),
                      as_dtype(t)) for t, sh in zip(types, shapes)]
        return Dataset([], (), specs, rebuild, ("generator", generator, output_types, specs))

    @staticmethod
    def zip(datasets: Any) -> "Dataset":
        """Elements joined in ``datasets``' structure, as long as the shortest."""
        parts, rebuild, _ = _flatten(datasets)
        if not parts or not all(isinstance(d, Dataset) for d in parts):
            raise TypeError("Dataset.zip: datasets must be a (nested) structure of Datasets")
        sizes = [len(d._specs) for d in parts]

        def joined(values: list) -> Any:
            out, i = [], 0
            for d, n in zip(parts, sizes):
                out.append(d._rebuild(values[i:i + n]))
                i += n
            return rebuild(out)
        return Dataset([t for d in parts for t in d._source], (), [sp for d in parts for sp in d._specs], joined,
                       ("zip", parts))

    def concatenate(self, dataset: "Dataset") -> "Dataset":
        """This dataset's elements, then ``dataset``'s (of the same structure and dtypes)."""
        if [sp.dtype for sp in self._specs] != [sp.dtype for sp in dataset._specs] or len(self._specs) != len(
                dataset._specs) or any(len(a.shape) != len(b.shape) for a, b in zip(self._specs, dataset._specs)):
            raise TypeError("Datasets to concatenate must have compatible element types, ranks and structures")
        specs = [Spec(tuple(x if x == y else None for x, y in zip(a.shape, b.shape)), a.dtype)
                 for a, b in zip(self._specs, dataset._specs)]
        return Dataset(self._source + dataset._source, (), specs, self._rebuild, ("concatenate", [self, dataset]))

    # -- transformations --
    def _then(self, step: tuple, specs: list[Spec] | None = None, rebuild: Any = None) -> "Dataset":
        return Dataset(self._source, self._steps + (step,), self._specs if specs is None else specs,
                       self._rebuild if rebuild is None else rebuild, self._head)

    def batch(self, batch_size: int, drop_remainder: bool = False) -> "Dataset":
        """Consecutive elements stacked; the last, shorter batch kept unless ``drop_remainder``."""
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be > 0, got {batch_size}")
        first = int(batch_size) if drop_remainder else None
        return self._then(("batch", int(batch_size), bool(drop_remainder)),
                          [Spec((first,) + s.shape, s.dtype) for s in self._specs])

    def shuffle(self, buffer_size: int, seed: int | None = None, reshuffle_each_iteration: bool = True) -> "Dataset":
        """TF's shuffle buffer: ``buffer_size`` elements held, each output drawn at random among them and its
        place refilled from the input."""
        if int(buffer_size) <= 0:
            raise ValueError(f"buffer_size must be > 0, got {buffer_size}")
        g = get_default_graph()
        op_seed = seed if seed is not None else g.next_seed()
        return self._then(("shuffle", int(buffer_size), op_seed, bool(reshuffle_each_iteration)))

    def repeat(self, count: int | None = None) -> "Dataset":
        """The elements ``count`` times over (for ever with None or any negative count, as TF)."""
        return self._then(("repeat", None if count is None or int(count) < 0 else int(count)))

    def take(self, count: int) -> "Dataset":
        return self._then(("take", int(count)))

    def skip(self, count: int) -> "Dataset":
        """The elements after the first ``count``; a negative count skips them all, as TF."""
        return self._then(("skip", int(count)))

    def prefetch(self, buffer_size: Any) -> "Dataset":
        """Accepted: elements are made when asked for (nothing runs ahead)."""
        return self

    def cache(self, filename: str = "") -> "Dataset":
        """Accepted: elements are made from host arrays already in memory."""
        if filename:
            raise NotImplementedError("Dataset.cache: caching to a file is not implemented in dualflow")
        return self

    def _trace(self, fn: Callable, what: str) -> tuple:
        """``fn`` of an element (a tuple's components as arguments, as TF), traced once into graph ops:
        (its Branch over the element's stand-ins, their keys, the outside constants' values, its flat outputs,
        how to rebuild its result)."""
        g = get_default_graph()
        slots = [g._source(PlaceholderOp(s.shape, s.dtype), f"{what}_arg") for s in self._specs]
        element = self._rebuild(slots)
        args = element if isinstance(element, tuple) and not hasattr(element, "_fields") else (element,)
        with g.name_scope(what):
            result, nodes = control.recorder.record(lambda: fn(*args))
            # TF reads a list the function returns as a tuple (with a warning), its items the components
            flat, rebuild, _ = _flatten(tuple(result) if isinstance(result, list) else result)
            with _recording_into(g, nodes):
                outs = [ops._t(v) for v in flat]
        mine = {id(m) for m in nodes} | {id(s.node) for s in slots}
        captures = list({key(v): v for n in nodes for v in n.inputs if id(v.node) not in mine}.values())
        # Constants made outside the function are read as the values they hold; anything else would need the
        # session's values while the pipeline runs.
        if any(not isinstance(v.node.op, ConstOp) for v in captures):
            raise NotImplementedError(f"Dataset.{what}: a function reading tensors from outside it (other than its "
                                      "arguments and constants) is not implemented in dualflow")
        branch = control.Branch(outs, slots + captures, nodes)
        return branch, [key(s) for s in slots], {key(v): v.node.op.value for v in captures}, outs, rebuild

    def map(self, map_func: Callable, num_parallel_calls: Any = None) -> "Dataset":
        """``map_func`` of each element, run per element as graph ops traced once."""
        branch, slot_keys, constants, outs, rebuild = self._trace(map_func, "map")
        return self._then(("map", branch, slot_keys, constants), [Spec(tuple(o.shape), o.dtype) for o in outs],
                          rebuild)

    def filter(self, predicate: Callable) -> "Dataset":
        """The elements for which ``predicate`` (a boolean scalar of graph ops) holds."""
        branch, slot_keys, constants, outs, _ = self._trace(predicate, "filter")
        if len(outs) != 1 or outs[0].dtype != numpy.bool_ or len(outs[0].shape):
            raise ValueError("Dataset.filter: predicate must return a scalar boolean tensor")
        return self._then(("filter", branch, slot_keys, constants))

    # -- iterators --
    def make_one_shot_iterator(self) -> "Iterator":
        return Iterator(self, one_shot=True)

    def make_initializable_iterator(self, shared_name: str | None = None) -> "Iterator":
        return Iterator(self, one_shot=False)

    @property
    def output_types(self) -> Any:
        return self._rebuild([s.dtype for s in self._specs])

    @property
    def output_shapes(self) -> Any:
        return self._rebuild([TensorShape(s.shape) for s in self._specs])


def _run_traced(step: tuple, be: Any) -> Callable[[list], list]:
    """A traced function's per-element runner (``map`` and ``filter`` steps): host arrays in and out."""
    _, branch, slot_keys, constants = step
    program = branch.program(False)
    fixed = {k: be.asarray(v) for k, v in constants.items()}

    def run(element: list) -> list:
        from core.executor import Executor
        feeds = dict(fixed)
        feeds.update((k, be.asarray(v)) for k, v in zip(slot_keys, element))
        values = Executor(be, _state.current() or _state.State()).run(program, feeds)
        return [be.to_host(v) for v in values]
    return run


def _generated(head: tuple) -> Callable[[], Iterator[list]]:
    """A generator's elements as lists of arrays of the declared dtypes, their shapes checked."""
    _, generator, types, specs = head

    def items() -> Iterator[list]:
        for item in generator():
            parts = _leaves_like(types, item)
            out = []
            for v, sp in zip(parts, specs):
                a = numpy.asarray(v, dtype=sp.dtype)
                if a.ndim != len(sp.shape) or any(d is not None and d != n for d, n in zip(sp.shape, a.shape)):
                    raise _errors.InvalidArgumentError(None, None, f"`generator` yielded an element of shape "
                                                       f"{a.shape} where an element of shape {sp.shape} was expected.")
                out.append(a)
            yield out
    return items


def _stream(dataset: Dataset, arrays: list, be: Any) -> Callable[[], Iterator[list]]:
    """The pipeline over host ``arrays`` (the source tensors' values) as a function giving a fresh pass: one
    element (a list of arrays) at a time."""
    head = dataset._head
    if head[0] == "slices":
        def stream() -> Iterator[list]:
            n = len(arrays[0]) if arrays else 0
            if any(len(a) != n for a in arrays):
                raise _errors.InvalidArgumentError(None, None, "Dimensions of the components to slice must all be "
                                                   f"equal: {[len(a) for a in arrays]}")
            for i in range(n):
                yield [a[i] for a in arrays]
    elif head[0] == "generator":
        stream = _generated(head)
    else:       # zip or concatenate: each part over its own share of the sources
        parts, at, streams = head[1], 0, []
        for d in parts:
            streams.append(_stream(d, arrays[at:at + len(d._source)], be))
            at += len(d._source)
        if head[0] == "zip":
            def stream() -> Iterator[list]:
                for elements in zip(*(s() for s in streams)):
                    yield [a for e in elements for a in e]
        else:
            def stream() -> Iterator[list]:
                for s in streams:
                    yield from s()
    for step in dataset._steps:
        stream = _apply(stream, step, be)
    return stream


def _apply(stream: Callable[[], Iterator[list]], step: tuple, be: Any) -> Callable[[], Iterator[list]]:
    """``stream`` through one transformation."""
    kind = step[0]
    if kind == "batch":
        _, size, drop = step

        def batched() -> Iterator[list]:
            chunk: list = []
            for e in stream():
                chunk.append(e)
                if len(chunk) == size:
                    yield [numpy.stack(c) for c in zip(*chunk)]
                    chunk = []
            if chunk and not drop:
                yield [numpy.stack(c) for c in zip(*chunk)]
        return batched
    if kind == "shuffle":
        _, size, seed, reshuffle = step
        epochs = [0]

        def shuffled() -> Iterator[list]:
            rng = numpy.random.default_rng(None if seed is None else [seed, epochs[0] if reshuffle else 0])
            epochs[0] += 1
            buffer: list = []
            for e in stream():
                buffer.append(e)
                if len(buffer) == size:
                    yield buffer.pop(int(rng.integers(len(buffer))))
            while buffer:
                yield buffer.pop(int(rng.integers(len(buffer))))
        return shuffled
    if kind == "repeat":
        count = step[1]

        def repeated() -> Iterator[list]:
            done = 0
            while count is None or done < count:
                empty = True
                for e in stream():
                    empty = False
                    yield e
                done += 1
                if empty:
                    return
        return repeated
    if kind in ("take", "skip"):
        count = step[1]

        def cut() -> Iterator[list]:
            for i, e in enumerate(stream()):
                if kind == "take" and 0 <= count <= i:
                    return
                if kind == "take" or 0 <= count <= i:     # skip(-1) skips everything, as TF's
                    yield e
        return cut
    run = _run_traced(step, be)
    if kind == "filter":
        def kept() -> Iterator[list]:
            for e in stream():
                if bool(run(e)[0]):
                    yield e
        return kept

    def mapped() -> Iterator[list]:
        for e in stream():
            yield run(e)
    return mapped


def _elements(dataset: Dataset, arrays: list, be: Any) -> Iterator[list]:
    return _stream(dataset, arrays, be)()


class _Start(Op):
    """An iterator's initializer: (re)starts its pipeline in the session from the source tensors' values."""

    name = "MakeIterator"
    differentiable = False
    pure, effect = False, True

    def __init__(self, iterator: "Iterator") -> None:
        self.iterator = iterator

    def infer(self, *sources):
        return []

    def forward(self, be, *sources):
        _state.active().memo[self.iterator] = _elements(self.iterator.dataset, [be.to_host(s) for s in sources], be)
        return ()


class _Next(Op):
    """``get_next``: the next element, pulled from the session's pipeline; OutOfRangeError at the end."""

    name = "IteratorGetNext"
    differentiable = False
    pure, effect = False, True

    def __init__(self, iterator: "Iterator") -> None:
        self.iterator = iterator
        self.value_shaped = any(None in s.shape for s in iterator.dataset._specs)

    def infer(self, *sources):
        return [(s.shape, s.dtype) for s in self.iterator.dataset._specs]

    def forward(self, be, *sources):
        memo = _state.active().memo
        it = self.iterator
        if it not in memo:
            if not it.one_shot:
                raise _errors.FailedPreconditionError(None, None, "GetNext() failed because the iterator has not "
                                                          "been initialized. Ensure that you have run the initializer "
                                                          "operation for this iterator before getting the next "
                                                          "element.")
            memo[it] = _elements(it.dataset, [be.to_host(s) for s in sources], be)
        try:
            element = next(memo[it])
        except StopIteration:
            raise OutOfRangeError(None, None, "End of sequence") from None
        return tuple(be.asarray(numpy.asarray(v, dtype=s.dtype)) for v, s in zip(element, it.dataset._specs))


class Iterator:
    """TF1's iterator over a Dataset: ``get_next()`` and, for an initializable one, ``initializer``."""

    def __init__(self, dataset: Dataset, one_shot: bool) -> None:
        self.dataset, self.one_shot = dataset, one_shot
        self._initializer = None if one_shot else core.apply(_Start(self), *dataset._source).operation

    @property
    def initializer(self) -> Any:
        if self._initializer is None:
            raise ValueError("Iterator does not have an initializer (a one-shot iterator starts by itself).")
        return self._initializer

    def get_next(self, name: str | None = None) -> Any:
        # A one-shot iterator reads its sources when it starts; an initializable one was given them then.
        op = _Next(self)
        if self.one_shot and self.dataset._source:
            outs = core.apply(op, *self.dataset._source)
            outs = list(outs) if isinstance(outs, tuple) else [outs]
        else:
            outs = list(get_default_graph()._source(op, None).node.outputs)
        if name is not None:
            get_default_graph()._rename(outs[0].op, name)
        return self.dataset._rebuild(outs)

    @property
    def output_types(self) -> Any:
        return self.dataset.output_types

    @property
    def output_shapes(self) -> Any:
        return self.dataset.output_shapes


def make_one_shot_iterator(dataset: Dataset) -> Iterator:
    return dataset.make_one_shot_iterator()


def make_initializable_iterator(dataset: Dataset, shared_name: str | None = None) -> Iterator:
    return dataset.make_initializable_iterator(shared_name)


__getattr__ = _errors.missing_names("static_api.data")     # a missing public name says so
