"""Gathers and scatters by index tuples and by segment ids: ``tf.gather_nd``, ``tf.scatter_nd`` and the unsorted
segment sums, each the other's gradient.

Repeated indices accumulate in index order (``be.index_add``), as TF's CPU kernels add them one after the other
into zeros, so sums of duplicates round as there.  Out-of-range indices are errors (TF's CPU kernels raise
InvalidArgumentError); a backend that cannot look without stalling (``be.check_indices``) gives NaN where an
invalid index was read, never a plausible number.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy

from core.graph import Value
from backends.errors import IndexOutOfRange
from core.op import Op, apply


def _check_index_dtype(op: Op, indices: Value) -> None:
    if indices.dtype.kind not in "iu":
        raise op.dtype_error("indices", "an integer type", indices.dtype)


def _depth(op: Op, indices: Value, shape: Sequence[Any], target: str) -> int:
    """How many leading dims of ``shape`` one index tuple addresses (the last dim of ``indices``)."""
    if len(indices.shape) < 1 or indices.shape[-1] is None:
        raise op.shape_error("indices", "a known last dim (the length of each index tuple)", indices.shape)
    m = indices.shape[-1]
    if m > len(shape):
        raise op.shape_error("indices", f"index tuples of at most {len(shape)} values ({target} has "
                             f"{len(shape)} dims)", indices.shape)
    return m


def _tuple_index(op: Op, be: Any, indices: Any, shape: Sequence[int]) -> tuple[tuple, Any]:
    """(the index tuple for ``shape``'s leading dims, the no-sync backend's validity mask or None)."""
    xp = be.xp
    parts, valid = [], None
    for k in range(indices.shape[-1]):
        col = indices[..., k]
        ok = be.check_indices(col, shape[k], f"{op.name}: argument 'indices' (position {k} of each index)")
        if ok is not None:
            col = xp.where(ok, col, 0)
            valid = ok if valid is None else valid & ok
        parts.append(col)
    return tuple(parts), valid


def _trailing(mask: Any, ndim: int) -> Any:
    """A mask over the index tuples, shaped to broadcast against values with ``ndim`` more trailing dims."""
    return None if mask is None else mask.reshape(mask.shape + (1,) * ndim)


class GatherNd(Op):
    """out[i...] = params[indices[i..., 0], ..., indices[i..., m-1]] (TF's ``GatherNd``): the result has shape
    ``indices.shape[:-1] + params.shape[m:]``."""

    name = "GatherNd"
    arg_names = ("params", "indices")
    saves_inputs = (1,)         # the gradient reads the indices, and params' shape only

    def infer(self, params, indices):
        _check_index_dtype(self, indices)
        m = _depth(self, indices, params.shape, "params")
        return [(tuple(indices.shape[:-1]) + tuple(params.shape[m:]), params.dtype)]

    def forward(self, be, params, indices):
        m = indices.shape[-1]
        if m == 0:          # an empty tuple addresses all of params, once per index
            return be.xp.broadcast_to(params, indices.shape[:-1] + params.shape).copy()
        idx, valid = _tuple_index(self, be, indices, params.shape)
        return be.mark_invalid(params[idx], _trailing(valid, params.ndim - m))

    def vjp(self, node, grads, needs):
        params, indices = node.inputs
        return apply(GatherNdGrad(), grads[0], indices, params), None


class GatherNdGrad(Op):
    """zeros like ``params`` with ``grad`` added at each index tuple (repeated ones accumulate)."""

    name = "GatherNdGrad"
    arg_names = ("grad", "indices", "params")
    saves_inputs = (1,)

    def infer(self, g, indices, params):
        _check_index_dtype(self, indices)
        _depth(self, indices, params.shape, "params")
        return [(params.shape, g.dtype)]

    def forward(self, be, g, indices, params):
        return _scatter(self, be, g, indices, params.shape)

    def vjp(self, node, grads, needs):
        return apply(GatherNd(), grads[0], node.inputs[1]), None, None


def _scatter(op: Op, be: Any, updates: Any, indices: Any, shape: Sequence[int]) -> Any:
    out = be.xp.zeros(tuple(shape), dtype=updates.dtype)
    m = indices.shape[-1]
    if m == 0:          # every update lands on the whole output
        out += updates.reshape((-1,) + tuple(shape)).sum(axis=0)
        return out
    idx, valid = _tuple_index(op, be, indices, shape)
    be.index_add(out, idx, be.mark_invalid(updates, _trailing(valid, len(shape) - m)))
    return out


class ScatterNd(Op):
    """zeros of ``shape`` with ``updates[i...]`` added at ``indices[i...]`` (TF's ``ScatterNd``; repeated indices
    accumulate): ``updates`` has shape ``indices.shape[:-1] + shape[m:]``."""

    name = "ScatterNd"
    arg_names = ("indices", "updates")
    saves_inputs = (0,)

    def __init__(self, shape: Sequence[int]) -> None:
        self.shape = tuple(int(s) for s in shape)

    def infer(self, indices, updates):
        _check_index_dtype(self, indices)
        m = _depth(self, indices, self.shape, "the output")
        want = tuple(indices.shape[:-1]) + self.shape[m:]
        if len(updates.shape) != len(want) or any(None not in (a, b) and a != b for a, b in zip(updates.shape, want)):
            raise self.shape_error("updates", f"shape indices.shape[:-1] + shape[{m}:] = {want}", updates.shape)
        return [(self.shape, updates.dtype)]

    def forward(self, be, indices, updates):
        return _scatter(self, be, updates, indices, self.shape)

    def vjp(self, node, grads, needs):
        return None, apply(GatherNd(), grads[0], node.inputs[0])


class TensorScatter(Op):
    """``tensor`` with ``updates[i...]`` written at ``indices[i...]``: ``mode`` "update" assigns (TF's
    ``TensorScatterUpdate``; repeated indices: the last one wins, as TF's CPU kernel applies them in order),
    "add" and "sub" accumulate in index order (``TensorScatterAdd``/``Sub``).  What ``tf.scatter_update`` and
    friends assign back to a variable."""

    arg_names = ("tensor", "indices", "updates")
    saves_inputs = (1,)

    def __init__(self, mode: str) -> None:
        if mode not in ("update", "add", "sub"):
            raise ValueError(f"TensorScatter: mode must be 'update', 'add' or 'sub', got {mode!r}")
        self.mode = mode
        self.name = "TensorScatter" + mode.capitalize()

    def infer(self, tensor, indices, updates):
        _check_index_dtype(self, indices)
        m = _depth(self, indices, tensor.shape, "tensor")
        want = tuple(indices.shape[:-1]) + tuple(tensor.shape[m:])
        if len(updates.shape) != len(want) or any(None not in (a, b) and a != b for a, b in zip(updates.shape, want)):
            raise self.shape_error("updates", f"shape indices.shape[:-1] + tensor.shape[{m}:] = {want}",
                                   updates.shape)
        if updates.dtype != tensor.dtype:
            raise self.dtype_error("updates", f"tensor's dtype {tensor.dtype}", updates.dtype)
        return [(tensor.shape, tensor.dtype)]

    def forward(self, be, tensor, indices, updates):
        out = tensor.copy()
        m = indices.shape[-1]
        if m == 0:          # an empty tuple addresses all of tensor, once per update
            updates = updates.reshape((-1,) + tuple(tensor.shape))
            idx, valid = (), None
        else:
            idx, valid = _tuple_index(self, be, indices, tensor.shape)
            updates = be.mark_invalid(updates, _trailing(valid, tensor.ndim - m))
        if self.mode != "update":
            be.index_add(out, idx, updates if self.mode == "add" else -updates)   # x + (-u) is x - u exactly
        elif m == 0:
            if updates.shape[0]:
                out[...] = updates[-1]
        else:
            out[idx] = updates      # NumPy assigns in order: the last of repeated indices stays
        return out

    def vjp(self, node, grads, needs):
        from core.ops.elementwise import neg
        from core.ops.shape import fill_like
        _, indices, updates = node.inputs
        g = grads[0]
        dx = g
        if self.mode == "update":       # the overwritten entries got nothing through
            dx = apply(TensorScatter("update"), g, indices, fill_like(updates, 0.0))
        du = apply(GatherNd(), g, indices)
        return dx, None, neg(du) if self.mode == "sub" else du


class UnsortedSegmentSum(Op):
    """out[j] = the sum of data[i] over every i with segment_ids[i] == j, for j < ``num_segments`` (TF's
    ``UnsortedSegmentSum``): ``segment_ids``' shape is a prefix of ``data``'s, a negative id drops its row (as
    TF 2), an id of ``num_segments`` or more is an error.

    With ``num_segments`` None, TF's sorted ``SegmentSum``: ids non-negative and never decreasing, as many
    segments as the last id + 1 (so the result's length depends on the values)."""

    name = "UnsortedSegmentSum"
    arg_names = ("data", "segment_ids")
    saves_inputs = (1,)

    def __init__(self, num_segments: int | None) -> None:
        self.num_segments = None if num_segments is None else int(num_segments)
        if num_segments is None:
            self.name, self.value_shaped = "SegmentSum", True

    def _check(self, data: Value, ids: Value) -> int:
        _check_index_dtype(self, ids)
        k = len(ids.shape)
        if self.num_segments is None and k != 1:
            raise self.shape_error("segment_ids", "a vector", ids.shape)
        if k > len(data.shape) or any(None not in (a, b) and a != b for a, b in zip(ids.shape, data.shape)):
            raise self.shape_error("segment_ids", f"a prefix of data's shape {tuple(data.shape)}", ids.shape)
        return k

    def infer(self, data, ids):
        k = self._check(data, ids)
        return [((self.num_segments,) + tuple(data.shape[k:]), data.dtype)]

    def _sorted_count(self, be: Any, ids: Any) -> int:
        """TF's SegmentSum checks (a host read of the ids, as its CPU kernel makes)."""
        host = be.to_host(ids)
        if host.size and host.min() < 0:
            raise IndexOutOfRange(f"{self.name}: segment ids must be >= 0, got {int(host.min())}")
        if (host[1:] < host[:-1]).any():
            raise IndexOutOfRange(f"{self.name}: segment ids are not increasing")
        return int(host[-1]) + 1 if host.size else 0

    def forward(self, be, data, ids):
        n = self._sorted_count(be, ids) if self.num_segments is None else self.num_segments
        out = be.xp.zeros((n,) + data.shape[ids.ndim:], dtype=data.dtype)
        keep = ids >= 0
        ids, rows = ids[keep], data[keep]
        valid = be.check_indices(ids, n, f"{self.name}: argument 'segment_ids'")
        if valid is not None:
            ids, rows = be.xp.where(valid, ids, 0), be.mark_invalid(rows, _trailing(valid, rows.ndim - 1))
        be.index_add(out, ids, rows)
        return out

    def vjp(self, node, grads, needs):
        data, ids = node.inputs
        return apply(SegmentGather(), grads[0], ids), None


class SegmentReduce(UnsortedSegmentSum):
    """The max, min or product (``kind``) of each segment's rows, as ``UnsortedSegmentSum`` sums them: TF's
    ``UnsortedSegmentMax``/``Min``/``Prod`` (an empty segment is the dtype's lowest, highest value or 1) or, with
    ``num_segments`` None, its sorted ``SegmentMax``/``Min``/``Prod`` (an empty segment is 0, 0 or 1).  The
    gradients are TF's: a max or min is shared evenly by the rows equal to it; a product's by the others' product
    (zeros counted as TF counts them)."""

    def __init__(self, kind: str, num_segments: int | None) -> None:
        if kind not in ("max", "min", "prod"):
            raise ValueError(f"SegmentReduce: kind must be 'max', 'min' or 'prod', got {kind!r}")
        super().__init__(num_segments)
        self.kind = kind
        self.name = ("Segment" if num_segments is None else "UnsortedSegment") + kind.capitalize()

    def forward(self, be, data, ids):
        xp = be.xp
        n = self._sorted_count(be, ids) if self.num_segments is None else self.num_segments
        info = numpy.finfo(data.dtype) if data.dtype.kind == "f" else numpy.iinfo(data.dtype)
        empty = {"max": info.min, "min": info.max, "prod": 1}[self.kind]
        out = xp.full((n,) + data.shape[ids.ndim:], empty, dtype=data.dtype)
        keep = ids >= 0
        ids, rows = ids[keep], data[keep]
        valid = be.check_indices(ids, n, f"{self.name}: argument 'segment_ids'")
        if valid is not None:
            ids, rows = xp.where(valid, ids, 0), be.mark_invalid(rows, _trailing(valid, rows.ndim - 1))
        be.index_reduce(out, ids, rows, self.kind)
        if self.num_segments is None and self.kind != "prod":      # the sorted kernels give an empty segment 0
            filled = xp.bincount(ids.reshape(-1), minlength=n)[:n] > 0
            out = xp.where(_trailing(filled, out.ndim - 1), out, xp.zeros((), dtype=out.dtype))
        return out

    def vjp(self, node, grads, needs):
        from core.ops import elementwise as ew
        from core.ops.shape import expand_dims, fill_like
        data, ids = node.inputs
        g = grads[0]
        kept = ew.scalar_compare(ids, "GreaterEqual", 0)        # a negative id's row got nothing
        if len(data.shape) > len(ids.shape):
            kept = expand_dims(kept, list(range(len(ids.shape), len(data.shape))))
        if self.kind != "prod":
            chosen = ew.logical_and(ew.equal(data, apply(SegmentGather(), node.outputs[0], ids)), kept)
            count = apply(UnsortedSegmentSum(self.num_segments), ew.cast(chosen, g.dtype), ids)
            # an empty segment's count is 0 and none of its share is taken: 1 there keeps 0/0 out of the warnings
            share = apply(SegmentGather(), ew.div(g, ew.maximum(count, fill_like(count, 1.0))), ids)
            return ew.where(chosen, share, fill_like(share, 0.0)), None
        zero = ew.scalar_compare(data, "Equal", 0)
        zeros = apply(UnsortedSegmentSum(self.num_segments), ew.cast(zero, g.dtype), ids)
        g = ew.where(ew.scalar_compare(zeros, "Greater", 1), fill_like(g, 0.0), g)
        nonzero = ew.where(zero, fill_like(data, 1.0), data)
        nonzero_prod = apply(SegmentReduce("prod", self.num_segments), nonzero, ids)
        partial = ew.where(zero, apply(SegmentGather(), nonzero_prod, ids),
                           ew.div(apply(SegmentGather(), node.outputs[0], ids), nonzero))    # x / 0 is not taken
        return ew.mul(apply(SegmentGather(), g, ids), partial), None


class SegmentGather(Op):
    """out[i] = g[segment_ids[i]], zero where the id is negative (the rows a segment sum dropped): the gradient
    of ``UnsortedSegmentSum`` (TF's ``_GatherDropNegatives``)."""

    name = "SegmentGather"
    arg_names = ("grad", "segment_ids")
    saves_inputs = (1,)

    def infer(self, g, ids):
        _check_index_dtype(self, ids)
        return [(tuple(ids.shape) + tuple(g.shape[1:]), g.dtype)]

    def forward(self, be, g, ids):
        xp = be.xp
        keep = ids >= 0
        out = xp.take(g, xp.where(keep, ids, 0), axis=0)
        return xp.where(_trailing(keep, g.ndim - 1), out, xp.zeros((), dtype=g.dtype))

    def vjp(self, node, grads, needs):
        g, ids = node.inputs
        return apply(UnsortedSegmentSum(g.shape[0]), grads[0], ids), None      # None: sorted ids, as many


def gather_nd(params: Value, indices: Value) -> Value:
    return apply(GatherNd(), params, indices)


def scatter_nd(indices: Value, updates: Value, shape: Sequence[int]) -> Value:
    return apply(ScatterNd(shape), indices, updates)


def tensor_scatter(tensor: Value, indices: Value, updates: Value, mode: str = "update") -> Value:
    return apply(TensorScatter(mode), tensor, indices, updates)


def segment_reduce(data: Value, segment_ids: Value, kind: str, num_segments: int | None) -> Value:
    """Segment max/min/product by id; ``num_segments`` None: TF's sorted version (see ``SegmentReduce``)."""
    return apply(SegmentReduce(kind, num_segments), data, segment_ids)


def unsorted_segment_sum(data: Value, segment_ids: Value, num_segments: int | None) -> Value:
    """Sums by segment id; ``num_segments`` None: TF's sorted segment sum (see ``UnsortedSegmentSum``)."""
    return apply(UnsortedSegmentSum(num_segments), data, segment_ids)
