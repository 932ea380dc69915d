"""CPU kernels over NumPy: convolution, pooling and batch norm with one large GEMM or a few passes each.

Layouts: ``data_format`` "NCHW" (OIHW weights, PyTorch) or "NHWC" (HWIO weights, TensorFlow); each pass runs
in the layout it is given, so a TF graph needs no transposes around its convolutions.

Where the time goes and why the kernels look as they do:

- Convolution is im2col + GEMM.  The column buffer is built in batch chunks of about ``CHUNK_BYTES`` (so it
  stays in cache between being written and read by the GEMM) into a workspace reused across calls.  Padding
  is never materialized: each kernel tap copies only its in-bounds rectangle, and the out-of-bounds part of
  the workspace stays zero from its creation (the workspace is keyed by the full geometry).  Small column
  buffers (batch 1) are filled in one strided copy of a zero-bordered image instead: there the NumPy calls,
  ~1 us each, cost more than the copying.  Each geometry (its taps and runs) is worked out once.
- The gradient of the input multiplies into columns and adds them back tap by tap, as strided slice-adds
  onto the unpadded image: no scatter, no padded image.  Where the output rows are as long as the input's
  (stride 1 'same', or a stride that divides the size, over the input's stride phases), a tap's window is
  one run of the flattened plane, so each tap is one long copy or add instead of one per row.
- Depthwise convolution (one input channel per group) has too little reduction for a GEMM: it accumulates
  tap by tap, ``y += w[tap] * x[tap window]``, with the product in a reused buffer.
- Pooling runs over the taps as strided views of output size (a running max with the winner's flat index,
  or a running sum): no gathered windows.
- Every kernel takes ``out=``: the result is written there (a planned buffer), and a call whose workspaces
  already exist allocates nothing else of the data's size.
- With more than one thread (``backends.threads``), batch chunks (max pooling: the batch; batch norm: the
  channels) are split over Python threads: NumPy and BLAS release the GIL.
"""
from __future__ import annotations

import collections
import concurrent.futures
import functools
import operator
import os
import threading
from typing import Any, Callable, Sequence

import numpy

from backends import numba_kernels, onednn, switches, threads
from backends.base import Pads, Pair, conv_out_size

# Columns per chunk: about a core's L2 plus some L3.  For the seed CNN's layers 1-4 MiB measured alike, 8 MiB
# slower (the columns spill), 256 KiB slower on one thread (NumPy call overhead per chunk).
CHUNK_BYTES = 2 << 20
_WORKSPACE_BYTES = 256 << 20       # all workspaces of one thread together; the oldest go first
# Column buffers of up to this many elements are filled from a zero-bordered copy of the image in one strided
# copy (two NumPy calls) rather than tap by tap (one or two calls a tap, ~1 us each): measured at batch 1,
# 7K elements (conv 1->32 on 28x28) 2 us against 9, 56K (conv 32->64 on 14x14) 17 us against 14.
SMALL_FILL = 32768


class Workspaces:
    """Scratch arrays reused across calls, one set per thread (kernels may run in several threads).

    ``get(key, shape, dtype, zero)`` returns the same array for the same key; ``zero`` arrays start zeroed
    and callers keep the parts they never write zero, so the key must fix which parts those are."""

    def __init__(self, limit: int = _WORKSPACE_BYTES) -> None:
        self.limit = limit
        self._local = threading.local()

    def _cache(self) -> collections.OrderedDict:
        c = getattr(self._local, "cache", None)
        if c is None:
            c = self._local.cache = collections.OrderedDict()
        return c

    def get(self, key: tuple, shape: Sequence[int], dtype: Any, zero: bool = False) -> numpy.ndarray:
        cache = self._cache()
        full = (key, tuple(shape), numpy.dtype(dtype).str, zero)
        a = cache.get(full)
        if a is None:
            a = numpy.zeros(shape, dtype) if zero else numpy.empty(shape, dtype)
            cache[full] = a
            total = sum(v.nbytes for v in cache.values())
            while total > self.limit and len(cache) > 1:
                total -= cache.popitem(last=False)[1].nbytes
        else:
            cache.move_to_end(full)
        return a

    def clear(self) -> None:
        self._cache().clear()


WORKSPACES = Workspaces()


def _result(out: numpy.ndarray | None, shape: Sequence[int], dtype: Any, what: str) -> numpy.ndarray:
    """``out`` checked against the result's shape and dtype, or a fresh array."""
    shape = tuple(map(int, shape))
    if out is None:
        return numpy.empty(shape, dtype)
    if out.shape != shape or out.dtype != numpy.dtype(dtype) or not out.flags.c_contiguous:
        raise ValueError(f"{what}: argument 'out' expected a C-contiguous {numpy.dtype(dtype)} array of shape "
                         f"{shape}, got {out.dtype} {out.shape} (contiguous: {out.flags.c_contiguous})")
    return out


def _tap_range(size: int, out: int, tap: int, s: int, d: int, lo: int) -> tuple[slice, slice] | None:
    """For one kernel tap along one axis: the output slice whose inputs are in bounds, and those inputs."""
    off = tap * d - lo               # input index of output 0
    o0 = max(0, -(off // s))         # the first output whose input index is >= 0
    o1 = min(out, (size - 1 - off) // s + 1) if size - 1 - off >= 0 else 0
    if o1 <= o0:
        return None
    start = off + o0 * s
    return slice(o0, o1), slice(start, start + (o1 - o0 - 1) * s + 1, s)


def _taps(hw: Sequence[int], ohw: Sequence[int], kernel: Pair, stride: Pair, pads: Pads, dilation: Pair):
    """(i, j, output rows, output cols, input rows, input cols) for every tap that reads the image."""
    for i in range(kernel[0]):
        rh = _tap_range(hw[0], ohw[0], i, stride[0], dilation[0], pads[0])
        if rh is None:
            continue
        for j in range(kernel[1]):
            rw = _tap_range(hw[1], ohw[1], j, stride[1], dilation[1], pads[2])
            if rw is not None:
                yield i, j, rh[0], rw[0], rh[1], rw[1]


def _geometry(x_shape: Sequence[int], w_shape: Sequence[int], stride: Pair, pads: Pads, dilation: Pair,
              groups: int, fmt: str) -> "_Geometry":
    """The ``_Geometry`` of these arguments, made once per distinct set (it and its tap lists never change):
    at batch 1 working the taps out again took about as long as a fill's copies."""
    return _cached_geometry(tuple(x_shape), tuple(w_shape), tuple(stride), tuple(pads), tuple(dilation), groups, fmt)


class _Geometry:
    """A convolution's shapes in one layout, and the views each pass needs (shared through ``_geometry``: only
    lazily cached views change after construction)."""

    def __init__(self, x_shape: Sequence[int], w_shape: Sequence[int], stride: Pair, pads: Pads, dilation: Pair,
                 groups: int, fmt: str) -> None:
        if fmt not in ("NCHW", "NHWC"):
            raise ValueError(f"conv2d: data_format expected 'NCHW' or 'NHWC', got {fmt!r}")
        self.fmt, self.groups = fmt, groups
        self.stride, self.pads, self.dilation = tuple(stride), tuple(pads), tuple(dilation)
        if fmt == "NCHW":
            self.n, self.c, h, w = x_shape
            self.o, self.cg, kh, kw = w_shape
        else:
            self.n, h, w, self.c = x_shape
            kh, kw, self.cg, self.o = w_shape
        self.hw, self.kernel = (h, w), (kh, kw)
        self.ohw = (conv_out_size(h, kh, stride[0], dilation[0], pads[0], pads[1]),
                    conv_out_size(w, kw, stride[1], dilation[1], pads[2], pads[3]))
        self.og = self.o // groups
        self.p = self.ohw[0] * self.ohw[1]
        self.k = self.cg * kh * kw        # reduction length of one group
        self._pad_view: tuple | None = None     # (padded image workspace, its view as columns): _fill_padded

    def y_shape(self) -> tuple:
        oh, ow = self.ohw
        return (self.n, self.o, oh, ow) if self.fmt == "NCHW" else (self.n, oh, ow, self.o)

    def x_shape(self) -> tuple:
        h, w = self.hw
        return (self.n, self.c, h, w) if self.fmt == "NCHW" else (self.n, h, w, self.c)

    def chunk(self, itemsize: int) -> int:
        return max(1, min(self.n, CHUNK_BYTES // max(1, self.groups * self.k * self.p * itemsize)))

    def key(self, tag: str) -> tuple:
        return (tag, self.fmt, self.c, self.hw, self.kernel, self.stride, self.pads, self.dilation, self.groups)

    # The column buffer: NCHW (nb, C, KH, KW, OH, OW), so a group's rows are (Cg, KH, KW) and the GEMM is
    # W (g, Og, K) @ cols (nb, g, K, P), per sample, written straight into the NCHW output.  NHWC
    # (nb, OH, OW, g, KH, KW, Cg): rows are output pixels, the GEMM is cols (nb*P, K) @ W (K, O) into NHWC.
    def cols_shape(self, nb: int) -> tuple:
        (kh, kw), (oh, ow) = self.kernel, self.ohw
        if self.fmt == "NCHW":
            return (nb, self.c, kh, kw, oh, ow)
        return (nb, oh, ow, self.groups, kh, kw, self.cg)

    @functools.cached_property
    def taps(self) -> tuple:
        """``_taps`` of this geometry."""
        return tuple(_taps(self.hw, self.ohw, self.kernel, self.stride, self.pads, self.dilation))

    @functools.cached_property
    def runs(self) -> tuple:
        """``_runs`` of this geometry."""
        return tuple(self._runs())

    def _runs(self):
        """NCHW with the output row as long as a row of the input's stride phase (stride 1: the input's own
        width): split the image into its stride phases (stride 1: the image itself), and a tap's window is one
        run of a flattened phase plane, shifted, except the columns that wrap into the next row, which are
        outside the image (zero).  One long copy or add per tap instead of one per row.
        Yields (i, j, phase, cols run, phase-plane run, output rows, wrapped columns or None)."""
        wq = self.hw[1] // self.stride[1]
        for i, j, oy, ox, iy, ix in self.taps:
            qy, ry = divmod(i * self.dilation[0] - self.pads[0], self.stride[0])
            qx, rx = divmod(j * self.dilation[1] - self.pads[2], self.stride[1])
            lo, hi = oy.start * wq + max(0, -qx), oy.stop * wq - max(0, qx)
            shift = qy * wq + qx
            wrap = slice(0, -qx) if qx < 0 else slice(wq - qx, wq) if qx > 0 else None
            yield i, j, (ry, rx), slice(lo, hi), slice(lo + shift, hi + shift), oy, wrap

    def _flat(self, image: numpy.ndarray) -> bool:
        (h, w), (s0, s1) = self.hw, self.stride
        return (self.fmt == "NCHW" and h % s0 == 0 and w % s1 == 0 and self.ohw[1] == w // s1
                and image.strides[2] == image.shape[3] * image.strides[3])

    def _phases(self, m: int, dtype: Any) -> numpy.ndarray:
        """A workspace for a chunk's stride phases: (m, C, s0, s1, H/s0 * W/s1)."""
        (h, w), (s0, s1) = self.hw, self.stride
        return WORKSPACES.get(self.key("phases"), (m, self.c, s0, s1, (h // s0) * (w // s1)), dtype)

    def _phase_views(self, image: numpy.ndarray, planes: numpy.ndarray):
        (h, w), (s0, s1) = self.hw, self.stride
        m, c = image.shape[:2]
        for ry in range(s0):
            for rx in range(s1):
                yield image[:, :, ry::s0, rx::s1], planes[:, :, ry, rx].reshape(m, c, h // s0, w // s1)

    def fill(self, cols: numpy.ndarray, x: numpy.ndarray) -> None:
        """Copy each tap's in-bounds window of ``x`` (a batch chunk) into the columns."""
        if cols.size <= SMALL_FILL and min(self.pads) >= 0:
            self._fill_padded(cols, x)
            return
        if self._flat(x):
            m, c = x.shape[:2]
            if self.stride == (1, 1):
                planes = x.reshape(m, c, 1, 1, -1)
            else:
                planes = self._phases(m, x.dtype)
                for src, dst in self._phase_views(x, planes):
                    dst[...] = src
            cf = cols.reshape(m, c, self.kernel[0], self.kernel[1], -1)
            for i, j, (ry, rx), run, src, oy, wrap in self.runs:
                cf[:, :, i, j, run] = planes[:, :, ry, rx, src]
                if wrap is not None:
                    cols[:, :, i, j, oy, wrap] = 0
            return
        if self.fmt == "NHWC":
            x = x.reshape(x.shape[:3] + (self.groups, self.cg))
        for i, j, oy, ox, iy, ix in self.taps:
            if self.fmt == "NCHW":
                cols[:, :, i, j, oy, ox] = x[:, :, iy, ix]
            else:
                cols[:, oy, ox, :, i, j, :] = x[:, iy, ix]

    def _fill_padded(self, cols: numpy.ndarray, x: numpy.ndarray) -> None:
        """``fill`` in two copies: ``x`` into the inside of a zero-bordered image (a workspace whose border is
        never written), then every tap's window at once, as one strided view of that image in the columns'
        order.  The view of a workspace is made once per workspace (per thread)."""
        m = x.shape[0]
        (h, w), (t, b, l, r) = self.hw, self.pads
        if self.fmt == "NCHW":
            padded = WORKSPACES.get(self.key("pad"), (m, self.c, h + t + b, w + l + r), x.dtype, zero=True)
            padded[:, :, t:t + h, l:l + w] = x
        else:
            padded = WORKSPACES.get(self.key("pad"), (m, h + t + b, w + l + r, self.c), x.dtype, zero=True)
            padded[:, t:t + h, l:l + w, :] = x
        cached = self._pad_view
        if cached is None or cached[0] is not padded:
            (s0, s1), (d0, d1) = self.stride, self.dilation
            if self.fmt == "NCHW":
                sn, sc, sh, sw = padded.strides
                strides = (sn, sc, d0 * sh, d1 * sw, s0 * sh, s1 * sw)
            else:
                sn, sh, sw, sc = padded.strides
                strides = (sn, s0 * sh, s1 * sw, self.cg * sc, d0 * sh, d1 * sw, sc)
            cached = self._pad_view = (padded, numpy.lib.stride_tricks.as_strided(
                padded, self.cols_shape(m), strides, writeable=False))
        numpy.copyto(cols, cached[1])

    def scatter(self, dx: numpy.ndarray, dcols: numpy.ndarray) -> None:
        """The adjoint of ``fill``: add each tap's columns onto its window of ``dx`` (zeroed by the caller);
        may zero parts of ``dcols`` that fall outside the image."""
        if self._flat(dx):
            m, c = dx.shape[:2]
            if self.stride == (1, 1):
                planes = dx.reshape(m, c, 1, 1, -1)
            else:
                planes = self._phases(m, dx.dtype)
                planes[...] = 0
            cf = dcols.reshape(m, c, self.kernel[0], self.kernel[1], -1)
            for i, j, (ry, rx), run, dst, oy, wrap in self.runs:
                if wrap is not None:
                    dcols[:, :, i, j, oy, wrap] = 0
                planes[:, :, ry, rx, dst] += cf[:, :, i, j, run]
            if self.stride != (1, 1):
                for img, plane in self._phase_views(dx, planes):
                    img[...] = plane
            return
        if self.fmt == "NHWC":
            dx = dx.reshape(dx.shape[:3] + (self.groups, self.cg))
        for i, j, oy, ox, iy, ix in self.taps:
            if self.fmt == "NCHW":
                dx[:, :, iy, ix] += dcols[:, :, i, j, oy, ox]
            else:
                dx[:, iy, ix] += dcols[:, oy, ox, :, i, j, :]

    def w_gemm(self, w: numpy.ndarray) -> numpy.ndarray:
        """The weight as the GEMM reads it: NCHW (g, Og, K); NHWC (g, K, Og) (a copy only when g > 1)."""
        if self.fmt == "NCHW":
            return w.reshape(self.groups, self.og, self.k)
        if self.groups == 1:
            return w.reshape(1, self.k, self.o)
        kh, kw = self.kernel
        ws = WORKSPACES.get(self.key("w") + (self.o,), (self.groups, self.k, self.og), w.dtype)
        ws.reshape(self.groups, kh, kw, self.cg, self.og)[...] = (
            w.reshape(kh, kw, self.cg, self.groups, self.og).transpose(3, 0, 1, 2, 4))
        return ws

    def flops(self) -> float:
        """The multiply-adds of one pass over the whole batch, counted twice (each pass has as many)."""
        return 2.0 * self.n * self.o * self.k * self.p

    def gemm_flops(self, nb: int) -> float:
        """The flops of one BLAS call of a pass: NCHW multiplies per sample and group, NHWC per chunk and group."""
        return 2.0 * self.og * self.k * self.p * (1 if self.fmt == "NCHW" else nb)

    def depthwise(self) -> bool:
        """One input channel per group: the per-tap path (a GEMM with K = KH*KW does not pay)."""
        return self.groups > 1 and self.cg == 1


_cached_geometry = functools.lru_cache(maxsize=256)(_Geometry)


def _w_taps(g: _Geometry, w: numpy.ndarray) -> numpy.ndarray:
    """A depthwise weight as (KH, KW, O), each tap a row that broadcasts over the output's channels."""
    if g.fmt == "NCHW":
        return w.reshape(g.o, g.kernel[0], g.kernel[1]).transpose(1, 2, 0)
    return w.reshape(g.kernel[0], g.kernel[1], g.o)


def _channels(a: numpy.ndarray, g: _Geometry, mult: int) -> numpy.ndarray:
    """An image with its channel axis split (C, mult) -> indexable by output channel c * mult + m, broadcast
    over m: a depthwise output channel o reads input channel o // mult."""
    if g.fmt == "NCHW":
        return a[:, :, None].repeat(mult, 2).reshape(a.shape[0], -1, *a.shape[2:]) if mult > 1 else a
    return a[..., None].repeat(mult, -1).reshape(*a.shape[:3], -1) if mult > 1 else a


def _bcast(wt: numpy.ndarray, fmt: str) -> numpy.ndarray:
    """A per-channel row shaped to broadcast against an image of the layout."""
    return wt[:, None, None] if fmt == "NCHW" else wt


# Batch chunks over threads.  NumPy's copies and BLAS release the GIL, so with more than one thread the chunks
# run on that many Python threads, each with single-threaded BLAS and its own workspaces: the column copies
# and strided adds run in parallel too (BLAS threads alone leave them serial), and no BLAS thread spins
# waiting for another (the collapse beside another busy process, see ``threads``).
PARALLEL_MIN_FLOPS = 2e7        # below, the thread hand-off (~50 us) costs more than it gains
_pool: list = [None, 0]         # the executor and its worker count


def _forget_pool() -> None:
    _pool[:] = [None, 0]


# A forked child has none of the parent's worker threads: it starts its own pool when it needs one.
os.register_at_fork(after_in_child=_forget_pool)


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    """The worker pool, sized by the thread setting (a call that uses fewer threads submits fewer tasks):
    rebuilt only when the setting changes, never per call."""
    workers = max(1, threads.get_num_threads() - 1)
    if _pool[1] != workers:
        if _pool[0] is not None:
            _pool[0].shutdown(wait=False)
        _pool[:] = [concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="dualflow-cpu"), workers]
    return _pool[0]


def _threads_for(parts: int, worth_it: bool) -> int:
    """How many threads to split ``parts`` pieces of work over (1 inside a worker: no nesting)."""
    if not worth_it or threading.current_thread().name.startswith("dualflow-cpu"):
        return 1
    return min(threads.get_num_threads(), parts)


def _on_threads(t: int, work: Any) -> None:
    """``work(slot)`` for slot 0..t-1, slot 0 on this thread, with single-threaded BLAS."""
    with threads.gemm_threads(0):
        futures = [_executor().submit(work, s) for s in range(1, t)]
        try:
            work(0)
        finally:
            for f in futures:
                f.result()


def _chunks(g: _Geometry, nb: int, body: Any) -> None:
    """``body(slot, n0, m, first)`` for every batch chunk; ``slot`` numbers the thread (chunks of one slot
    run in order, ``first`` marks a slot's first chunk)."""
    starts = list(range(0, g.n, nb))
    t = _threads_for(len(starts), 2.0 * g.o * g.k * g.p * g.n >= PARALLEL_MIN_FLOPS)
    if t < 2:
        with threads.gemm_threads(g.gemm_flops(nb)):
            for i, n0 in enumerate(starts):
                body(0, n0, min(nb, g.n - n0), i == 0)
        return
    runs = [starts[len(starts) * s // t:len(starts) * (s + 1) // t] for s in range(t)]

    def work(slot: int) -> None:
        for i, n0 in enumerate(runs[slot]):
            body(slot, n0, min(nb, g.n - n0), i == 0)
    _on_threads(t, work)


PARALLEL_MIN_ELEMENTS = 1 << 18     # pooling: below, the thread hand-off costs more than it gains


def split_work(n: int, elements: int, part: Any) -> None:
    """``part(lo, hi)`` over ``n`` independent pieces (the batch, the channels), split over threads when the
    arrays (``elements`` in all) are large enough."""
    t = _threads_for(n, elements >= PARALLEL_MIN_ELEMENTS)
    if t < 2:
        part(0, n)
    else:
        _on_threads(t, lambda s: part(n * s // t, n * (s + 1) // t))


# ----- convolution -----------------------------------------------------------------------------------------
def _onednn(g: "_Geometry", *arrays: numpy.ndarray) -> bool:
    """Whether this convolution runs through oneDNN (``backends/onednn.py``): float32 operands and result, no
    empty axis, the library installed and not switched off."""
    return (all(a.dtype == numpy.float32 for a in arrays) and g.n * g.o * g.k * g.p > 0 and onednn.usable())


def _onednn_pass(g: "_Geometry", kind: str, x: numpy.ndarray, w: numpy.ndarray, y: numpy.ndarray, stride: Pair,
                 pads: Pads, dilation: Pair, groups: int, fmt: str) -> bool:
    """One oneDNN pass (``onednn.convolution``'s arguments), with the batch split over dualflow's threads
    (``_batch_parts``): with oneDNN 3.2's own OpenMP threads the seed CNN's training step at batch 128 took as
    long on two threads as on one (26.9 against 25.5 ms on this 2-vCPU machine; its input-gradient pass alone
    6.4 against 5.2), split this way 21 against 26.  Returns False where oneDNN has no implementation."""
    t = _threads_for(g.n, g.flops() >= PARALLEL_MIN_FLOPS)
    if t < 2:
        return onednn.convolution(kind, x, w, y, stride, pads, dilation, groups, fmt, g.flops())
    return _batch_parts(g, t, kind, x, w, y, lambda xs, ws, ys: onednn.convolution(
        kind, xs, ws, ys, stride, pads, dilation, groups, fmt, 0.0))       # 0 flops: one OpenMP thread


def _batch_parts(g: "_Geometry", t: int, kind: str, x: numpy.ndarray, w: numpy.ndarray, y: numpy.ndarray,
                 call: Callable[..., bool]) -> bool:
    """A convolution pass split over ``t`` threads by the batch: ``call(x part, w, y part)`` on each thread
    (slot 0 on this one); the weight gradient's parts go to per-thread buffers, added in thread order.
    Returns whether every call did its part."""
    bounds = [g.n * s // t for s in range(t + 1)]
    weights = [w] * t if kind != "backward_weights" else [w] + [None] * (t - 1)
    done = [False] * t

    def work(slot: int) -> None:
        lo, hi = bounds[slot], bounds[slot + 1]
        if weights[slot] is None:
            weights[slot] = WORKSPACES.get(("weight-grad-part",), w.shape, w.dtype)
        done[slot] = call(x[lo:hi], weights[slot], y[lo:hi])
    if t < 2:
        work(0)
    else:
        _on_threads(t, work)
    if not all(done):
        return False
    for part in weights[1:] if kind == "backward_weights" else ():
        w += part
    return True


def _thin(g: "_Geometry", kind: str, *arrays: numpy.ndarray) -> bool:
    """Whether a pass oneDNN would compute runs in numba instead: where one input channel and one group leave
    oneDNN 3.2 slow (measured on the seed CNN's first layer, batch 1 to 128 on one thread).  Any NHWC weight
    gradient (``numba_kernels.conv_weight_grad``, the same bits); and in a ``thin_geometry`` (3x3, stride 1,
    "same" along W) the forward pass in either layout (``thin_conv``, the bits of oneDNN's NHWC kernel) and the
    NCHW weight gradient (``thin_conv_weight_grad``).  ``kind`` 'forward' or 'backward_weights'."""
    if not (g.groups == 1 and g.cg == 1 and _onednn(g, *arrays) and numba_kernels.usable(arrays[0].dtype)):
        return False
    return ((kind == "backward_weights" and g.fmt == "NHWC")
            or numba_kernels.thin_geometry(g.kernel, g.stride, g.pads, g.dilation))


def _thin_pass(g: "_Geometry", kind: str, x: numpy.ndarray, w: numpy.ndarray, y: numpy.ndarray, stride: Pair,
               pads: Pads, dilation: Pair) -> Callable[[], None]:
    """``_thin``'s pass as a function of no arguments, its batch split over threads as oneDNN's (``_batch_parts``);
    operands (x, w, y) in ``onednn.convolution``'s order, w the result of the weight gradient, y the forward's."""
    if kind == "forward":
        def kernel(xs: numpy.ndarray, ws: numpy.ndarray, ys: numpy.ndarray) -> None:
            numba_kernels.thin_conv(xs, ws, pads, dilation, g.fmt, ys)
    elif g.fmt == "NHWC":
        def kernel(xs: numpy.ndarray, ws: numpy.ndarray, ys: numpy.ndarray) -> None:
            numba_kernels.conv_weight_grad(xs, ys, stride, pads, dilation, ws)
    else:
        def kernel(xs: numpy.ndarray, ws: numpy.ndarray, ys: numpy.ndarray) -> None:
            numba_kernels.thin_conv_weight_grad(xs, ys, pads, dilation, ws)
    inputs = (x, w) if kind == "forward" else (x, y)
    t = _threads_for(g.n, g.flops() >= PARALLEL_MIN_FLOPS)
    if t < 2 and all(a.flags.c_contiguous for a in inputs):
        # One call on the arrays themselves: at batch 1 setting up the parts took ~2 us of a ~10 us pass.
        return functools.partial(kernel, x, w, y)
    result = 2 if kind == "forward" else 1

    def part(*operands: numpy.ndarray) -> bool:
        # Operands may be views: read as they are at each run (a copy only of a strided one).
        kernel(*(a if i == result else numpy.ascontiguousarray(a) for i, a in enumerate(operands)))
        return True
    return functools.partial(_batch_parts, g, t, kind, x, w, y, part)


def conv2d_call(x: numpy.ndarray, w: numpy.ndarray, stride: Pair, pads: Pads, dilation: Pair, groups: int = 1,
                data_format: str = "NCHW", out: numpy.ndarray | None = None) -> tuple[Callable[[], None], Any]:
    """Cross-correlation of ``x`` with ``w`` (OIHW for NCHW, HWIO for NHWC; in-channels per group), as (a
    function of no arguments that runs it, its result): see ``_run_now``."""
    g = _geometry(x.shape, w.shape, stride, pads, dilation, groups, data_format)
    y = _result(out, g.y_shape(), x.dtype, "conv2d")
    if _thin(g, "forward", x, w, y):
        return _thin_pass(g, "forward", x, w, y, stride, pads, dilation), y
    return _pass(g, "forward", (x, w, y), (stride, pads, dilation, groups, data_format),
                 functools.partial(_conv2d_numpy, g, x, w, y)), y


def _pass(g: "_Geometry", kind: str, operands: tuple, args: tuple,
          numpy_pass: Callable[[], Any]) -> Callable[[], None]:
    """A convolution pass as a function of no arguments: through oneDNN where it runs there (one call on this
    thread when the batch is not split over threads), else ``numpy_pass``.  ``operands`` (x, w, y) in
    ``onednn.convolution``'s order, ``args`` (stride, pads, dilation, groups, format)."""
    if not _onednn(g, *operands):
        return numpy_pass
    if _threads_for(g.n, g.flops() >= PARALLEL_MIN_FLOPS) < 2:
        call = onednn.bind(kind, *operands, *args, g.flops())
    else:
        call = functools.partial(_onednn_pass, g, kind, *operands, *args)

    def run() -> None:
        # A fork since (which cannot run the OpenMP threads it inherited) takes the NumPy path at its next run;
        # a switch flipped since (DUALFLOW_ONEDNN=0) is among the settings ``Prepared`` binds again on.
        if onednn.forked() or not call():
            numpy_pass()
    return run


def _conv2d_numpy(g: "_Geometry", x: numpy.ndarray, w: numpy.ndarray, y: numpy.ndarray) -> numpy.ndarray:
    if g.depthwise():
        return _depthwise(g, x, w, y)
    nb = g.chunk(x.itemsize)
    wg = g.w_gemm(w)

    def body(slot: int, n0: int, m: int, first: bool) -> None:
        c = WORKSPACES.get(g.key("cols"), g.cols_shape(nb), x.dtype, zero=True)[:m]
        g.fill(c, x[n0:n0 + m])
        if g.fmt == "NCHW":
            numpy.matmul(wg, c.reshape(m, g.groups, g.k, g.p), out=y[n0:n0 + m].reshape(m, g.groups, g.og, g.p))
        elif g.groups == 1:
            numpy.matmul(c.reshape(m * g.p, g.k), wg[0], out=y[n0:n0 + m].reshape(m * g.p, g.o))
        else:
            numpy.matmul(c.reshape(m * g.p, g.groups, g.k).transpose(1, 0, 2), wg,
                         out=y[n0:n0 + m].reshape(m * g.p, g.groups, g.og).transpose(1, 0, 2))
    _chunks(g, nb, body)
    return y


def _depthwise(g: _Geometry, x: numpy.ndarray, w: numpy.ndarray, y: numpy.ndarray) -> numpy.ndarray:
    mult = g.og
    wt = _w_taps(g, w)
    xs = _channels(x, g, mult)
    y[...] = 0
    tmp = WORKSPACES.get(g.key("dw") + (g.n, g.o), y.shape, y.dtype)
    sp = (slice(None), slice(None)) if g.fmt == "NCHW" else (slice(None),)
    for i, j, oy, ox, iy, ix in g.taps:
        yv, t = y[sp + (oy, ox)], tmp[sp + (oy, ox)]
        numpy.multiply(xs[sp + (iy, ix)], _bcast(wt[i, j], g.fmt), out=t)
        yv += t
    return y


def conv2d_grad_input_call(gy: numpy.ndarray, w: numpy.ndarray, x_shape: Sequence[int], stride: Pair, pads: Pads,
                           dilation: Pair, groups: int = 1, data_format: str = "NCHW",
                           out: numpy.ndarray | None = None) -> tuple[Callable[[], None], Any]:
    """dL/dx of conv2d (and the forward pass of a transposed convolution), as (run, result)."""
    g = _geometry(x_shape, w.shape, stride, pads, dilation, groups, data_format)
    if tuple(gy.shape) != g.y_shape():
        raise ValueError(f"conv2d_grad_input: argument 'grad' expected shape {g.y_shape()}, got {gy.shape}")
    dx = _result(out, g.x_shape(), gy.dtype, "conv2d_grad_input")
    return _pass(g, "backward_data", (dx, w, gy), (stride, pads, dilation, groups, data_format),
                 functools.partial(_conv2d_grad_input_numpy, g, gy, w, dx)), dx


def _conv2d_grad_input_numpy(g: "_Geometry", gy: numpy.ndarray, w: numpy.ndarray, dx: numpy.ndarray) -> numpy.ndarray:
    dx[...] = 0
    if g.depthwise():
        return _depthwise_grad_input(g, gy, w, dx)
    nb = g.chunk(gy.itemsize)
    wg = g.w_gemm(w)

    def body(slot: int, n0: int, m: int, first: bool) -> None:
        c = WORKSPACES.get(g.key("dcols"), g.cols_shape(nb), gy.dtype)[:m]
        if g.fmt == "NCHW":      # (g, K, Og) @ (m, g, Og, P) -> (m, g, K, P)
            numpy.matmul(wg.transpose(0, 2, 1), gy[n0:n0 + m].reshape(m, g.groups, g.og, g.p),
                         out=c.reshape(m, g.groups, g.k, g.p))
        elif g.groups == 1:
            numpy.matmul(gy[n0:n0 + m].reshape(m * g.p, g.o), wg[0].T, out=c.reshape(m * g.p, g.k))
        else:
            numpy.matmul(gy[n0:n0 + m].reshape(m * g.p, g.groups, g.og).transpose(1, 0, 2), wg.transpose(0, 2, 1),
                         out=c.reshape(m * g.p, g.groups, g.k).transpose(1, 0, 2))
        g.scatter(dx[n0:n0 + m], c)
    _chunks(g, nb, body)
    return dx


def _depthwise_grad_input(g: _Geometry, gy: numpy.ndarray, w: numpy.ndarray, dx: numpy.ndarray) -> numpy.ndarray:
    mult = g.og
    wt = _w_taps(g, w)
    tmp = WORKSPACES.get(g.key("dw") + (g.n, g.o), gy.shape, gy.dtype)
    sp = (slice(None), slice(None)) if g.fmt == "NCHW" else (slice(None),)
    for i, j, oy, ox, iy, ix in g.taps:
        t = tmp[sp + (oy, ox)]
        numpy.multiply(gy[sp + (oy, ox)], _bcast(wt[i, j], g.fmt), out=t)
        if mult == 1:
            dx[sp + (iy, ix)] += t
        elif g.fmt == "NCHW":     # output channels c*mult .. c*mult+mult-1 all read input channel c
            dx[sp + (iy, ix)] += t.reshape(t.shape[0], g.c, mult, *t.shape[2:]).sum(2)
        else:
            dx[sp + (iy, ix)] += t.reshape(*t.shape[:3], g.c, mult).sum(-1)
    return dx


def conv2d_grad_weight_call(x: numpy.ndarray, gy: numpy.ndarray, w_shape: Sequence[int], stride: Pair, pads: Pads,
                            dilation: Pair, groups: int = 1, data_format: str = "NCHW",
                            out: numpy.ndarray | None = None) -> tuple[Callable[[], None], Any]:
    """dL/dw of conv2d, as (run, result): per chunk one GEMM over the chunk's pixels, accumulated."""
    g = _geometry(x.shape, w_shape, stride, pads, dilation, groups, data_format)
    if tuple(gy.shape) != g.y_shape():
        raise ValueError(f"conv2d_grad_weight: argument 'grad' expected shape {g.y_shape()}, got {gy.shape}")
    dw = _result(out, w_shape, x.dtype, "conv2d_grad_weight")
    if _thin(g, "backward_weights", x, dw, gy):
        return _thin_pass(g, "backward_weights", x, dw, gy, stride, pads, dilation), dw
    return _pass(g, "backward_weights", (x, dw, gy), (stride, pads, dilation, groups, data_format),
                 functools.partial(_conv2d_grad_weight_numpy, g, x, gy, dw)), dw


def _conv2d_grad_weight_numpy(g: "_Geometry", x: numpy.ndarray, gy: numpy.ndarray, dw: numpy.ndarray) -> numpy.ndarray:
    if g.depthwise():
        return _depthwise_grad_weight(g, x, gy, dw)
    nb = g.chunk(x.itemsize)
    # The weight gradient accumulates in the GEMM's own layout (one accumulator per thread of chunks), then
    # lands in ``dw`` once.
    shape = (g.groups, g.og, g.k) if g.fmt == "NCHW" else (g.groups, g.k, g.og)
    direct = g.fmt == "NCHW" or g.groups == 1       # dw's memory is the accumulator's layout
    accs: dict = {}

    def body(slot: int, n0: int, m: int, first: bool) -> None:
        if first:
            accs[slot] = (dw.reshape(shape) if slot == 0 and direct
                          else WORKSPACES.get(g.key("dwacc") + (g.o,), shape, x.dtype))
        acc = accs[slot]
        c = WORKSPACES.get(g.key("cols"), g.cols_shape(nb), x.dtype, zero=True)[:m]
        g.fill(c, x[n0:n0 + m])
        if g.fmt == "NCHW":     # per sample (g, Og, P) @ (g, P, K), then summed over the chunk
            # A first chunk of one sample: its product is the sum (a one-term sum is a copy), straight in acc.
            alone = first and m == 1
            part = acc[None] if alone else WORKSPACES.get(g.key("dwpart"), (nb,) + shape, x.dtype)[:m]
            numpy.matmul(gy[n0:n0 + m].reshape(m, g.groups, g.og, g.p),
                         c.reshape(m, g.groups, g.k, g.p).transpose(0, 1, 3, 2), out=part)
            if not first:
                acc += numpy.sum(part, axis=0, out=WORKSPACES.get(g.key("dwsum"), shape, x.dtype))
            elif not alone:
                numpy.sum(part, axis=0, out=acc)
        else:                   # (g, K, m*P) @ (g, m*P, Og): the whole chunk's pixels as the reduction
            a = c.reshape(m * g.p, g.groups, g.k).transpose(1, 2, 0)
            b = gy[n0:n0 + m].reshape(m * g.p, g.groups, g.og).transpose(1, 0, 2)
            if first:
                numpy.matmul(a, b, out=acc)
            else:
                part = WORKSPACES.get(g.key("dwpart") + (g.o,), shape, x.dtype)
                acc += numpy.matmul(a, b, out=part)
    _chunks(g, nb, body)
    acc = accs[0]
    for slot in range(1, len(accs)):
        acc += accs[slot]
    if not direct:
        kh, kw = g.kernel
        dw.reshape(kh, kw, g.cg, g.groups, g.og)[...] = acc.reshape(g.groups, kh, kw, g.cg, g.og).transpose(
            1, 2, 3, 0, 4)
    return dw


def _depthwise_grad_weight(g: _Geometry, x: numpy.ndarray, gy: numpy.ndarray, dw: numpy.ndarray) -> numpy.ndarray:
    mult = g.og
    xs = _channels(x, g, mult)
    wt = numpy.zeros((g.kernel[0], g.kernel[1], g.o), dtype=x.dtype)
    tmp = WORKSPACES.get(g.key("dw") + (g.n, g.o), gy.shape, gy.dtype)
    sp = (slice(None), slice(None)) if g.fmt == "NCHW" else (slice(None),)
    axes = (0, 2, 3) if g.fmt == "NCHW" else (0, 1, 2)
    for i, j, oy, ox, iy, ix in g.taps:
        t = tmp[sp + (oy, ox)]
        numpy.multiply(gy[sp + (oy, ox)], xs[sp + (iy, ix)], out=t)
        wt[i, j] = t.sum(axis=axes)
    if g.fmt == "NCHW":
        dw.reshape(g.o, g.kernel[0], g.kernel[1])[...] = wt.transpose(2, 0, 1)
    else:
        dw.reshape(g.kernel[0], g.kernel[1], g.o)[...] = wt
    return dw


# ----- pooling ---------------------------------------------------------------------------------------------
def _pool_geometry(x_shape: Sequence[int], kernel: Pair, stride: Pair, pads: Pads, fmt: str) -> "_Pool":
    """The ``_Pool`` of these arguments, made once per distinct set, with its taps and planes."""
    return _cached_pool(tuple(x_shape), tuple(kernel), tuple(stride), tuple(pads), fmt)


class _Pool:
    """A pooling window's shapes in one layout (shared through ``_pool_geometry``: only lazily cached planes
    change after construction)."""

    def __init__(self, x_shape: Sequence[int], kernel: Pair, stride: Pair, pads: Pads, fmt: str) -> None:
        if fmt not in ("NCHW", "NHWC"):
            raise ValueError(f"pool2d: data_format expected 'NCHW' or 'NHWC', got {fmt!r}")
        self.fmt, self.kernel, self.stride, self.pads = fmt, tuple(kernel), tuple(stride), tuple(pads)
        self.x_shape = tuple(x_shape)
        self.hw = tuple(x_shape[2:]) if fmt == "NCHW" else tuple(x_shape[1:3])
        self.ohw = tuple(conv_out_size(self.hw[a], kernel[a], stride[a], 1, pads[2 * a], pads[2 * a + 1])
                         for a in range(2))
        self.y_shape = (self.x_shape[:2] + self.ohw) if fmt == "NCHW" else (x_shape[0],) + self.ohw + (x_shape[3],)
        self.lead = (slice(None),) * (2 if fmt == "NCHW" else 1)
        self._planes: dict = {}

    @functools.cached_property
    def taps(self) -> tuple:
        """(flat offset i*W + j, output region, input region) for each tap that reads the image."""
        return tuple((i * self.hw[1] + j, self.lead + (oy, ox), self.lead + (iy, ix))
                     for i, j, oy, ox, iy, ix in _taps(self.hw, self.ohw, self.kernel, self.stride, self.pads, (1, 1)))

    def plane(self, what: str, dtype: Any) -> numpy.ndarray:
        """A constant (OH, OW) plane shaped to broadcast against the output, made once (read-only): 'corner'
        (flat index of each window's unclipped top-left), 'start' (its first in-bounds tap relative to the
        corner), 'count' (in-bounds taps)."""
        dtype = numpy.dtype(dtype)
        a = self._planes.get((what, dtype.str))
        if a is not None:
            return a
        oy = numpy.arange(self.ohw[0]) * self.stride[0] - self.pads[0]
        ox = numpy.arange(self.ohw[1]) * self.stride[1] - self.pads[2]
        if what == "corner":
            a = oy[:, None] * self.hw[1] + ox[None, :]
        elif what == "start":
            a = (numpy.maximum(oy, 0) - oy)[:, None] * self.hw[1] + (numpy.maximum(ox, 0) - ox)[None, :]
        else:
            ch = numpy.minimum(oy + self.kernel[0], self.hw[0]) - numpy.maximum(oy, 0)
            cw = numpy.minimum(ox + self.kernel[1], self.hw[1]) - numpy.maximum(ox, 0)
            a = ch[:, None] * cw[None, :]
        a = a.astype(dtype)
        if self.fmt == "NHWC":
            a = a[:, :, None]
        a.flags.writeable = False
        self._planes[(what, dtype.str)] = a
        return a


_cached_pool = functools.lru_cache(maxsize=256)(_Pool)


def max_pool2d_call(x: numpy.ndarray, kernel: Pair, stride: Pair, pads: Pads, data_format: str = "NCHW",
                    out: tuple | None = None) -> tuple[Callable[[], None], tuple]:
    """Max over windows and, per output, the flat index (h*W + w) of the winner in its input plane, as (run,
    results).

    A running max over the taps, each a strided view of output size.  PyTorch's rule: the first maximum in
    scan order wins, and NaN beats everything; a window starts at its first in-bounds tap."""
    p = _pool_geometry(x.shape, kernel, stride, pads, data_format)
    y = _result(None if out is None else out[0], p.y_shape, x.dtype, "max_pool2d")
    idx = _result(None if out is None else out[1], p.y_shape, numpy.int32, "max_pool2d")
    if _compiled(x, y, idx):
        if _threads_for(x.shape[0], x.size >= PARALLEL_MIN_ELEMENTS) < 2:
            return numba_kernels.max_pool_call(x, p.kernel, p.stride, p.pads, p.fmt, y, idx), (y, idx)
        part = lambda lo, hi: numba_kernels.max_pool_call(x[lo:hi], p.kernel, p.stride, p.pads, p.fmt, y[lo:hi],
                                                          idx[lo:hi])()
    else:
        part = lambda lo, hi: _max_pool_part(p, x[lo:hi], y[lo:hi], idx[lo:hi])
    return functools.partial(split_work, x.shape[0], x.size, part), (y, idx)


def _compiled(*arrays: numpy.ndarray) -> bool:
    """Whether max pooling over these arrays runs numba's kernels (``backends/numba_kernels.py``): C-contiguous
    (they are viewed as planes), the first one's dtype float32 or float64, numba usable."""
    return all(a.flags.c_contiguous for a in arrays) and numba_kernels.usable(arrays[0].dtype)


def _max_pool_part(p: _Pool, x: numpy.ndarray, y: numpy.ndarray, idx: numpy.ndarray) -> None:
    key = ("maxpool", y.shape, x.dtype.str)
    if not any(p.pads) and p.kernel[0] * p.kernel[1] <= 127 and _max_pool_unpadded(p, x, y, idx, key):
        return
    better = WORKSPACES.get(key + ("b",), y.shape, bool)
    nan = WORKSPACES.get(key + ("n",), y.shape, bool)
    step = WORKSPACES.get(key + ("s",), y.shape, numpy.int32)
    if any(p.pads):
        y[...] = -numpy.inf
        idx[...] = p.plane("start", numpy.int32)
    first = not any(p.pads)
    for r, o, i in p.taps:
        v, yv, iv = x[i], y[o], idx[o]
        if first:       # no padding: the first tap covers every window
            yv[...] = v
            iv[...] = r
            first = False
            continue
        b, n, s = better[o], nan[o], step[o]
        numpy.greater(v, yv, out=b)
        numpy.not_equal(v, v, out=n)
        b |= n
        numpy.maximum(yv, v, out=yv)
        # Arithmetic select: masked copies branch on random masks and cost ~5x more on the CPU.
        numpy.subtract(numpy.int32(r), iv, out=s)
        s *= b
        iv += s
    idx += p.plane("corner", numpy.int32)


def _max_pool_unpadded(p: _Pool, x: numpy.ndarray, y: numpy.ndarray, idx: numpy.ndarray, key: tuple) -> bool:
    """Every window in bounds: the max first (a running maximum), then the winner: the first tap in scan order
    equal to the max, counted as the number of leading taps that are not (in int8: a running "none equal so
    far" mask, added up; the last tap needs no compare; 7 passes for 2x2 where a backward select takes 12),
    then mapped to its offset i*W + j.
    Returns False, having computed nothing useful, if a NaN reached the result (PyTorch's rule for NaN, the
    last NaN wins, is the general path's)."""
    taps = p.taps
    if len(taps) == 1:
        numpy.copyto(y, x[taps[0][2]])
    else:
        numpy.maximum(x[taps[0][2]], x[taps[1][2]], out=y)
    for _, _, i in taps[2:]:
        numpy.maximum(y, x[i], out=y)
    if numpy.isnan(numpy.sum(y)):      # a NaN, or +inf beside -inf: leave it to the general path
        return False
    tap = WORKSPACES.get(key + ("t8",), y.shape, numpy.int8)
    if len(taps) == 1:
        tap[...] = 0
    else:
        numpy.not_equal(x[taps[0][2]], y, out=tap)
    if len(taps) > 2:
        none = WORKSPACES.get(key + ("s8",), y.shape, numpy.int8)     # 1 where no tap so far equals the max
        ne = WORKSPACES.get(key + ("n8",), y.shape, numpy.int8)
        numpy.copyto(none, tap)
        for _, _, i in taps[1:-1]:
            numpy.not_equal(x[i], y, out=ne)
            numpy.bitwise_and(none, ne, out=none)
            numpy.add(tap, none, out=tap)
    # tap number i*kw + j -> offset i*W + j from the window's corner
    kw, w = p.kernel[1], numpy.int32(p.hw[1])
    if kw == 1:
        numpy.multiply(tap, w, out=idx)
    else:
        step = WORKSPACES.get(key + ("s8",), y.shape, numpy.int8)
        if kw & (kw - 1) == 0:       # a power of two: shift and mask, integer division is slow
            numpy.right_shift(tap, numpy.int8(kw.bit_length() - 1), out=step)
            numpy.multiply(step, w, out=idx)
            numpy.bitwise_and(tap, numpy.int8(kw - 1), out=step)
        else:
            numpy.floor_divide(tap, numpy.int8(kw), out=step)
            numpy.multiply(step, w, out=idx)
            numpy.remainder(tap, numpy.int8(kw), out=step)
        numpy.add(idx, step, out=idx)
    numpy.add(idx, p.plane("corner", numpy.int32), out=idx)
    return True


def max_pool2d_grad_call(gy: numpy.ndarray, idx: numpy.ndarray, x_shape: Sequence[int], kernel: Pair,
                         stride: Pair, pads: Pads, data_format: str = "NCHW",
                         out: numpy.ndarray | None = None) -> tuple[Callable[[], None], numpy.ndarray]:
    """Each output gradient added to its window's winner, as (run, result); tap by tap on NumPy's path (a
    compare and a strided add per tap)."""
    p = _pool_geometry(x_shape, kernel, stride, pads, data_format)
    dx = _result(out, x_shape, gy.dtype, "max_pool2d_grad")
    if _compiled(gy, idx, dx):
        disjoint = all(p.stride[a] >= p.kernel[a] for a in range(2))
        if _threads_for(dx.shape[0], dx.size >= PARALLEL_MIN_ELEMENTS) < 2:
            return numba_kernels.max_pool_grad_call(gy, idx, disjoint, p.fmt, dx), dx
        part = lambda lo, hi: numba_kernels.max_pool_grad_call(gy[lo:hi], idx[lo:hi], disjoint, p.fmt, dx[lo:hi])()
    else:
        part = lambda lo, hi: _max_pool_grad_part(p, gy[lo:hi], idx[lo:hi], dx[lo:hi])
    return functools.partial(split_work, dx.shape[0], dx.size, part), dx


def max_pool2d_grad_masked_call(gy: numpy.ndarray, idx: numpy.ndarray, y: numpy.ndarray, x_shape: Sequence[int],
                                kernel: Pair, stride: Pair, pads: Pads, data_format: str = "NCHW",
                                out: numpy.ndarray | None = None) -> tuple[Callable[[], None], numpy.ndarray]:
    """``max_pool2d_grad_call`` of ``gy * (y > 0)`` for disjoint windows, as (run, result): in numba the mask
    is taken in the scatter, one pass; else into a work array first, as the ReLU gradient's writer takes it."""
    p = _pool_geometry(x_shape, kernel, stride, pads, data_format)
    if any(s < k for s, k in zip(p.stride, p.kernel)):
        raise ValueError(f"max_pool2d_grad_masked: windows overlap (kernel {p.kernel}, stride {p.stride})")
    dx = _result(out, x_shape, gy.dtype, "max_pool2d_grad_masked")
    if _compiled(gy, idx, dx, y) and y.dtype == gy.dtype and y.shape == gy.shape:
        if _threads_for(dx.shape[0], dx.size >= PARALLEL_MIN_ELEMENTS) < 2:
            return numba_kernels.max_pool_grad_call(gy, idx, True, p.fmt, dx, mask=y), dx
        part = lambda lo, hi: numba_kernels.max_pool_grad_call(gy[lo:hi], idx[lo:hi], True, p.fmt, dx[lo:hi],
                                                               mask=y[lo:hi])()
        return functools.partial(split_work, dx.shape[0], dx.size, part), dx
    masked = WORKSPACES.get(("pool-grad-mask", gy.shape, gy.dtype.str), gy.shape, gy.dtype)
    scatter, _ = max_pool2d_grad_call(masked, idx, x_shape, kernel, stride, pads, data_format, dx)

    def run() -> None:
        numpy.greater(y, 0, out=masked)
        numpy.multiply(gy, masked, out=masked)
        scatter()
    return run, dx


def _run_now(call: Callable) -> Callable:
    """The kernel of a ``*_call`` function: every choice made and the kernel run at once, returning its result.
    A ``*_call`` function returns (a function of no arguments that runs the kernel, with the geometry, kernel,
    thread split and views worked out; the result), which ``Prepared`` runs again for a planned step."""
    def kernel(*args: Any, **kwargs: Any) -> Any:
        run, result = call(*args, **kwargs)
        run()
        return result
    kernel.__name__ = kernel.__qualname__ = call.__name__[:-len("_call")]
    kernel.__doc__ = call.__doc__
    return kernel


conv2d = _run_now(conv2d_call)
conv2d_grad_input = _run_now(conv2d_grad_input_call)
conv2d_grad_weight = _run_now(conv2d_grad_weight_call)
max_pool2d = _run_now(max_pool2d_call)
max_pool2d_grad = _run_now(max_pool2d_grad_call)
max_pool2d_grad_masked = _run_now(max_pool2d_grad_masked_call)


class Prepared:
    """A kernel bound to one step's arrays, for a planned static Program (``core.lowering.bind``), which
    passes the same buffers at every run: ``call(*arrays, out=out)`` returns a function of no arguments that
    runs the kernel (the first of a ``*_call`` function's pair, see ``_run_now``) with the geometry, the
    kernel, the thread split and the views worked out.  That function runs again for as long as the operands
    are the same arrays and neither the thread setting nor a kernel switch (``DUALFLOW_NUMBA``,
    ``DUALFLOW_ONEDNN``) has changed.  On a batch-1 training step the work around a 10 us pooling kernel took
    ~40 us a call."""

    def __init__(self, call: Callable) -> None:
        # ``call`` itself is public: a fused step binds its head with it (``core.passes.fuse.Fused.prepare``),
        # and the generated planned step binds every kernel on arrays it passes at each run once
        # (``core.straightline``).
        self.call, self._run, self._operands, self._settings = call, None, (), None

    def __call__(self, *arrays: numpy.ndarray, out: Any) -> None:
        # The operands last bound are held (the bound function holds views of them anyway), so the same
        # object is the same memory.
        operands = arrays + (out if isinstance(out, tuple) else (out,))
        now = settings()
        if (now != self._settings or len(operands) != len(self._operands)
                or not all(map(operator.is_, operands, self._operands))):
            self._run = self.call(*arrays, out=out)
            self._operands, self._settings = operands, now
        self._run()


def settings() -> tuple:
    """What a bound kernel's choices depend on besides its arrays, as the environment holds it: the thread count
    and the kernels' switches (``DUALFLOW_NUMBA``, ``DUALFLOW_ONEDNN``)."""
    return threads.get_num_threads(), switches.raw("DUALFLOW_NUMBA"), switches.raw("DUALFLOW_ONEDNN")


def _max_pool_grad_part(p: _Pool, gy: numpy.ndarray, idx: numpy.ndarray, dx: numpy.ndarray) -> None:
    key = ("maxpoolgrad", gy.shape, gy.dtype.str)
    rel = WORKSPACES.get(key + ("r",), gy.shape, numpy.int32)
    hit = WORKSPACES.get(key + ("h",), gy.shape, bool)
    tmp = WORKSPACES.get(key + ("t",), gy.shape, gy.dtype)
    numpy.subtract(idx, p.plane("corner", numpy.int32), out=rel)     # the winner's tap offset, i*W + j
    # Disjoint windows (stride >= kernel) write every input position at most once, so the taps assign, not
    # add (a winner gets g * 1 = g exactly, signed zeros included, which core.passes.poolgrad relies on); only
    # positions no window covers need zeros first.
    disjoint = all(p.stride[a] >= p.kernel[a] for a in range(2))
    tiles = (disjoint and p.stride == p.kernel and not any(p.pads)
             and all(p.ohw[a] * p.kernel[a] == p.hw[a] for a in range(2)))
    # The other positions of a window get 0, as PyTorch's and TF's scatter into zeros give: g * 0 is that (up
    # to its sign) only for a finite g, so a NaN or infinite gradient (or a sum that overflows: harmless) takes
    # the select, which costs a masked copy per tap.
    select = not numpy.isfinite(numpy.sum(gy))
    if not tiles or select:
        dx[...] = 0
    for r, o, i in p.taps:
        h = hit[o]
        numpy.equal(rel[o], r, out=h)
        if select:
            t = dx[i] if disjoint else tmp[o]
            if not disjoint:
                t[...] = 0
            numpy.copyto(t, gy[o], where=h)
            if not disjoint:
                dx[i] += t
        elif disjoint:
            numpy.multiply(gy[o], h, out=dx[i])
        else:
            t = tmp[o]
            numpy.multiply(gy[o], h, out=t)
            dx[i] += t


def _divisor(p: _Pool, count_include_pad: bool, dtype: Any) -> Any:
    if count_include_pad or not any(p.pads):
        return dtype.type(p.kernel[0] * p.kernel[1])
    return p.plane("count", dtype)


def avg_pool2d(x: numpy.ndarray, kernel: Pair, stride: Pair, pads: Pads, count_include_pad: bool,
               data_format: str = "NCHW", out: numpy.ndarray | None = None) -> numpy.ndarray:
    """A running sum over the taps, divided once."""
    p = _pool_geometry(x.shape, kernel, stride, pads, data_format)
    y = _result(out, p.y_shape, x.dtype, "avg_pool2d")
    first = not any(p.pads)
    if not first:
        y[...] = 0
    for _, o, i in p.taps:
        if first:
            y[...] = x[i]
            first = False
        else:
            y[o] += x[i]
    y /= _divisor(p, count_include_pad, x.dtype)
    return y


def avg_pool2d_grad(gy: numpy.ndarray, x_shape: Sequence[int], kernel: Pair, stride: Pair, pads: Pads,
                    count_include_pad: bool, data_format: str = "NCHW",
                    out: numpy.ndarray | None = None) -> numpy.ndarray:
    p = _pool_geometry(x_shape, kernel, stride, pads, data_format)
    dx = _result(out, x_shape, gy.dtype, "avg_pool2d_grad")
    g = WORKSPACES.get(("avgpoolgrad", p.y_shape, gy.dtype.str), p.y_shape, gy.dtype)
    numpy.divide(gy, _divisor(p, count_include_pad, gy.dtype), out=g)
    dx[...] = 0
    for _, o, i in p.taps:
        dx[i] += g[o]
    return dx
