"""float32 convolutions on the CPU through oneDNN, the kernel library PyTorch and TensorFlow run theirs on.

NumPy's im2col + sgemm path (``backends/numpy_kernels.py``) reaches about half of oneDNN's speed on the seed
CNN's 32->64 convolution (its GEMMs are OpenBLAS's, and on machines that pin OpenBLAS to its Haswell
kernels half of that again), so float32 convolutions run here when the library is installed: the
``onednn-cpu-gomp`` wheel (Linux x86-64; a dependency of dualflow there), called through its C API with
ctypes.  Everything else (float64, other platforms, ``DUALFLOW_ONEDNN=0``) keeps the NumPy path, which is
also the tests' reference.

A convolution is one oneDNN primitive per (pass, shapes, strides, padding, dilation, groups, layouts),
created once per thread (primitive creation generates code and takes milliseconds) and kept with its
memory objects and the reorders into and out of the layouts it chose; a call points the memory objects at
the arrays (``dnnl_memory_set_data_handle``) and executes.  Arrays are described by their strides, so NCHW
and NHWC images, OIHW and HWIO weights and groups are read and written where they are.
oneDNN sums in its own order: results agree with the NumPy path to float32 rounding, not bit for bit (as
PyTorch's CPU convolutions, which are oneDNN's, agree with anyone else's).

Threads: oneDNN runs OpenMP threads (GNU libgomp); each call sets their count from ``backends.threads``
(dualflow's one setting, one thread for a small convolution, as for a small GEMM).
"""
from __future__ import annotations

import collections
import ctypes
import functools
import os
import threading
import weakref
from typing import Any, Callable, Sequence

import numpy

from backends import threads
from backends.switches import switched_off

_P = ctypes.c_void_p
_Dims = ctypes.c_int64 * 12            # dnnl_dims_t (DNNL_MAX_NDIMS = 12)
# Values of oneDNN 3's C API (dnnl_types.h of onednn-devel-cpu-gomp 2023.2, oneDNN 3.2); a wrong one fails
# tests/test_onednn.py, which checks every pass against the NumPy kernels and that oneDNN ran it.
_F32, _CPU, _FWD_TRAINING, _CONV_DIRECT = 3, 1, 64, 1
_ARG_SRC, _ARG_DST, _ARG_WEIGHTS, _ARG_DIFF_SRC, _ARG_DIFF_DST, _ARG_DIFF_WEIGHTS = 1, 17, 33, 129, 145, 161
_LIBRARY = "libdnnl.so.3"
_DISTRIBUTION = "onednn-cpu-gomp"


class _Arg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_int), ("memory", _P)]


@functools.lru_cache(maxsize=1)
def _library() -> tuple[Any, Any] | None:
    """(libdnnl, libgomp's omp_set_num_threads) from the installed wheel, or None."""
    try:
        from importlib import metadata
        files = metadata.files(_DISTRIBUTION) or []
    except Exception:       # not installed (PackageNotFoundError), or no file list
        return None
    for f in files:
        if f.name == _LIBRARY:
            path = str(f.locate())
            break
    else:
        return None
    # OpenMP threads that spin while they wait collapse beside another busy process (a training step here
    # took 89 s for 24 s next to a test run: the same trap as OpenBLAS's, see backends/threads.py): unless
    # the user chose a policy, libgomp (read once, when libdnnl loads it) lets waiting threads sleep.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        lib = ctypes.CDLL(path)
        gomp = ctypes.CDLL("libgomp.so.1")      # the copy libdnnl loaded: the same handle
    except OSError:
        return None
    lib.dnnl_memory_desc_create_with_strides.argtypes = [ctypes.POINTER(_P), ctypes.c_int, _Dims, ctypes.c_int,
                                                         _Dims]
    lib.dnnl_memory_create.argtypes = [ctypes.POINTER(_P), _P, _P, _P]
    lib.dnnl_memory_set_data_handle.argtypes = [_P, _P]
    lib.dnnl_primitive_execute.argtypes = [_P, _P, ctypes.c_int, _P]
    lib.dnnl_stream_wait.argtypes = [_P]
    lib.dnnl_primitive_create.argtypes = [ctypes.POINTER(_P), _P]
    lib.dnnl_primitive_desc_destroy.argtypes = [_P]
    lib.dnnl_memory_desc_destroy.argtypes = [_P]
    lib.dnnl_primitive_destroy.argtypes = [_P]
    lib.dnnl_memory_destroy.argtypes = [_P]
    lib.dnnl_memory_desc_create_with_tag.argtypes = [ctypes.POINTER(_P), ctypes.c_int, _Dims, ctypes.c_int,
                                                     ctypes.c_int]
    lib.dnnl_primitive_desc_query_md.argtypes = [_P, ctypes.c_int, ctypes.c_int]
    lib.dnnl_primitive_desc_query_md.restype = _P
    lib.dnnl_memory_desc_equal.argtypes = [_P, _P]
    lib.dnnl_reorder_primitive_desc_create.argtypes = [ctypes.POINTER(_P), _P, _P, _P, _P, _P]
    desc = [ctypes.POINTER(_P), _P]
    geometry = [_Dims, _Dims, _Dims, _Dims]
    lib.dnnl_convolution_forward_primitive_desc_create.argtypes = (
        desc + [ctypes.c_int, ctypes.c_int, _P, _P, _P, _P] + geometry + [_P])
    lib.dnnl_convolution_backward_data_primitive_desc_create.argtypes = (
        desc + [ctypes.c_int, _P, _P, _P] + geometry + [_P, _P])
    lib.dnnl_convolution_backward_weights_primitive_desc_create.argtypes = (
        desc + [ctypes.c_int, _P, _P, _P, _P] + geometry + [_P, _P])
    gomp.omp_set_num_threads.argtypes = [ctypes.c_int]
    return lib, gomp.omp_set_num_threads


_inherited = [False]     # whether this process is a fork of one that had loaded the library


def _after_fork_in_child() -> None:
    # GNU OpenMP is not fork-safe: a forked child's first parallel region waits for its parent's threads,
    # which it does not have (a DataLoader worker running a convolution hung here).  Such a child keeps the
    # NumPy kernels; a process started afresh (spawn, mpiexec) loads its own.
    _inherited[0] = _library.cache_info().currsize > 0 and _library() is not None


os.register_at_fork(after_in_child=_after_fork_in_child)


def forked() -> bool:
    """Whether this process is a fork of one that had loaded the library (which keeps the NumPy kernels)."""
    return _inherited[0]


def usable() -> bool:
    """Whether float32 convolutions run through oneDNN here (installed, not switched off with
    ``DUALFLOW_ONEDNN=0``, and not inherited through a fork)."""
    if forked() or switched_off("DUALFLOW_ONEDNN"):
        return False
    return _library() is not None


def _check(status: int, what: str) -> None:
    if status != 0:
        raise RuntimeError(f"oneDNN: {what} failed with status {status}")


class _Thread:
    """A thread's engine, stream and primitives (oneDNN objects are not to be shared across threads here:
    a primitive's memory objects are re-pointed at each call's arrays)."""

    def __init__(self, lib: Any) -> None:
        self.engine, self.stream = _P(), _P()
        _check(lib.dnnl_engine_create(ctypes.byref(self.engine), _CPU, 0), "engine creation")
        _check(lib.dnnl_stream_create(ctypes.byref(self.stream), self.engine, 1), "stream creation")
        self.primitives: collections.OrderedDict = collections.OrderedDict()     # key -> _Entry or False


_local = threading.local()


def _thread(lib: Any) -> _Thread:
    t = getattr(_local, "dnnl", None)
    if t is None:
        t = _local.dnnl = _Thread(lib)
    return t


def _desc(lib: Any, shape: Sequence[int], strides: Sequence[int]) -> _P:
    md = _P()
    _check(lib.dnnl_memory_desc_create_with_strides(ctypes.byref(md), len(shape), _Dims(*shape), _F32,
                                                    _Dims(*strides)), "memory descriptor")
    return md


def _c_strides(shape: Sequence[int]) -> list[int]:
    """Element strides of a C-contiguous array of ``shape``.  Not the array's own: NumPy leaves any stride on
    an axis of size 1 (an (N, 1, H, W) image may say 4 bytes for C), and oneDNN, taking it at its word, falls
    back to a reference kernel (the seed CNN's first convolution took 341 ms for 2)."""
    out, n = [], 1
    for d in reversed(shape):
        out.append(n)
        n *= d
    return out[::-1]


def _image(a: numpy.ndarray, fmt: str) -> tuple[tuple, tuple]:
    """An image's logical (N, C, H, W) dims and element strides, in either layout (``a`` C-contiguous)."""
    s = _c_strides(a.shape)
    if fmt == "NCHW":
        return tuple(a.shape), tuple(s)
    n, h, w, c = a.shape
    return (n, c, h, w), (s[0], s[3], s[1], s[2])


def _weights(a: numpy.ndarray, fmt: str, groups: int) -> tuple[tuple, tuple]:
    """The weights' logical (O, I, KH, KW) dims and strides, or (G, O/G, I/G, KH, KW) with groups: OIHW
    weights (NCHW) are (G*Og, Ig, KH, KW), HWIO weights (NHWC) (KH, KW, Ig, G*Og) (``a`` C-contiguous)."""
    s = _c_strides(a.shape)
    if fmt == "NCHW":
        o, i, kh, kw = a.shape
        so, si, sh, sw = s
    else:
        kh, kw, i, o = a.shape
        sh, sw, si, so = s
    if groups == 1:
        return (o, i, kh, kw), (so, si, sh, sw)
    og = o // groups
    return (groups, og, i, kh, kw), (og * so, so, si, sh, sw)


def _dense(a: numpy.ndarray) -> numpy.ndarray:
    """``a``, C-contiguous (a copy of a strided, broadcast or reversed view: rare, and oneDNN reads each
    operand in one layout)."""
    return a if a.flags.c_contiguous else numpy.ascontiguousarray(a)


def convolution(kind: str, x: numpy.ndarray, w: numpy.ndarray, y: numpy.ndarray, stride: Sequence[int],
                pads: Sequence[int], dilation: Sequence[int], groups: int, fmt: str, flops: float) -> bool:
    """One convolution pass, in place in the pass's result: ``kind`` 'forward' (x, w -> y), 'backward_data'
    (y holds the output gradient; w -> x, the input gradient) or 'backward_weights' (x, y -> w, the weight
    gradient).  ``pads`` (top, bottom, left, right).  Returns False, having done nothing, where oneDNN has no
    implementation for these arguments (the caller then runs its own)."""
    lib, set_threads = _library()
    # The pass's result is the caller's C-contiguous buffer, written in place; its operands may be views.
    x, w, y = (a if kind == writes else _dense(a)
               for a, writes in ((x, "backward_data"), (w, "backward_weights"), (y, "forward")))
    n = _threads_for(flops)
    key = _key(kind, x, w, y, stride, pads, dilation, groups, fmt, n)
    t = _thread(lib)
    entry = t.primitives.get(key)
    # Set at every call, not when it changes: another library sharing libgomp (PyTorch, in the benchmarks'
    # process) may have set this thread's count since, and a convolution split over threads then ran each
    # half on two OpenMP threads (eager at batch 32 on 2 threads: 21 against 17 ms).  Set before a primitive
    # is made, too: oneDNN plans its work for the threads OpenMP offers then, and one made for two threads
    # but run on one took 3-5 times as long (the seed CNN's first layer at batch 1: ~90 against ~20 us).
    set_threads(n)
    if entry is None:
        entry = t.primitives[key] = _primitive(lib, t, kind, x, w, y, stride, pads, dilation, groups, fmt)
        while len(t.primitives) > MAX_PRIMITIVES:      # the oldest go, with the buffers of their reorders
            old = t.primitives.popitem(last=False)[1]
            if old:
                old.destroy(lib)
    else:
        t.primitives.move_to_end(key)
    if entry is False:
        return False
    # Re-point a memory object only at a new array: reading an array's address costs 3 us (``a.ctypes``),
    # a third of a batch-1 first layer, and a planned static step passes the same buffers every time.  An
    # array keeps its address for life, so the same live array (``bound``: weak references, which keep no
    # batch alive) is the same address.
    bound = entry.bound
    for i, a in enumerate((x, w, y)):
        if bound[i]() is not a:
            lib.dnnl_memory_set_data_handle(entry.mems[i], a.ctypes.data)
            bound[i] = weakref.ref(a)
    for prim, count, args in entry.steps:
        _check(lib.dnnl_primitive_execute(prim, t.stream, count, args), f"convolution {kind}")
    _check(lib.dnnl_stream_wait(t.stream), f"convolution {kind}")
    return True


def _threads_for(flops: float) -> int:
    """The OpenMP threads a pass of ``flops`` runs on: dualflow's count, or one for a small convolution."""
    return threads.get_num_threads() if flops >= threads.MIN_PARALLEL_FLOPS else 1


def _key(kind: str, x: numpy.ndarray, w: numpy.ndarray, y: numpy.ndarray, stride: Sequence[int],
         pads: Sequence[int], dilation: Sequence[int], groups: int, fmt: str, n_threads: int) -> tuple:
    """What a pass's primitive is made for (a thread's ``primitives`` key), the OpenMP threads among it."""
    return kind, x.shape, w.shape, y.shape, tuple(stride), tuple(pads), tuple(dilation), groups, fmt, n_threads


def bind(kind: str, x: numpy.ndarray, w: numpy.ndarray, y: numpy.ndarray, stride: Sequence[int],
         pads: Sequence[int], dilation: Sequence[int], groups: int, fmt: str, flops: float) -> Callable[[], bool]:
    """``convolution`` with these arguments as a function of no arguments, for a planned static step, which
    passes the same arrays at every run.  Once a run on this thread has made the pass's primitive and pointed
    it at these arrays, the next runs only execute its steps: on a batch-1 step the lookups around them (the
    key, the thread's cache, the arrays' handles) took ~8 us of a 15 us call, five times a step.  Anything
    else takes ``convolution``'s way: another thread, the entry evicted, its memory objects re-pointed by
    another caller's arrays, or a strided operand (copied at each call)."""
    args = (kind, x, w, y, stride, pads, dilation, groups, fmt, flops)
    if not (x.flags.c_contiguous and w.flags.c_contiguous and y.flags.c_contiguous):
        return functools.partial(convolution, *args)
    held: list = [None, None, 0]    # the thread, entry and thread count of the last run through ``convolution``
    lib, set_threads = _library()
    execute, wait = lib.dnnl_primitive_execute, lib.dnnl_stream_wait

    def run() -> bool:
        t, entry, n = getattr(_local, "dnnl", None), held[1], _threads_for(flops)
        if (t is None or t is not held[0] or n != held[2] or not entry.live or entry.bound[0]() is not x
                or entry.bound[1]() is not w or entry.bound[2]() is not y):
            done = convolution(*args)
            key = _key(kind, x, w, y, stride, pads, dilation, groups, fmt, n)
            held[:] = (_local.dnnl, _local.dnnl.primitives.get(key), n) if done else (None, None, 0)
            return done
        set_threads(n)
        stream = t.stream
        for prim, count, a in entry.steps:      # statuses tested inline: ~0.2 us a call less than ``_check``
            status = execute(prim, stream, count, a)
            if status:
                _check(status, f"convolution {kind}")
        status = wait(stream)
        if status:
            _check(status, f"convolution {kind}")
        return True
    return run


# Which primitive-descriptor query gives each operand's memory descriptor, per pass (x, w, y).
_QUERY = {"forward": (129, 131, 133), "backward_data": (130, 131, 134), "backward_weights": (129, 132, 134)}
_ARGS = {"forward": (_ARG_SRC, _ARG_WEIGHTS, _ARG_DST), "backward_data": (_ARG_DIFF_SRC, _ARG_WEIGHTS, _ARG_DIFF_DST),
         "backward_weights": (_ARG_SRC, _ARG_DIFF_WEIGHTS, _ARG_DIFF_DST)}
_OUTPUT = {"forward": 2, "backward_data": 0, "backward_weights": 1}
_ANY = 1        # dnnl_format_tag_any: the primitive chooses the layout


def _conv_desc(lib: Any, t: _Thread, kind: str, dx: _P, dw: _P, dy: _P, geometry: tuple) -> _P | None:
    """The pass's primitive descriptor for these operand descriptors (the backward ones with their forward
    hint), or None where oneDNN has no implementation."""
    fwd = _P()
    if lib.dnnl_convolution_forward_primitive_desc_create(ctypes.byref(fwd), t.engine, _FWD_TRAINING, _CONV_DIRECT,
                                                          dx, dw, None, dy, *geometry, None) != 0:
        return None
    if kind == "forward":
        return fwd
    pd = _P()
    if kind == "backward_data":
        status = lib.dnnl_convolution_backward_data_primitive_desc_create(
            ctypes.byref(pd), t.engine, _CONV_DIRECT, dx, dw, dy, *geometry, fwd, None)
    else:
        status = lib.dnnl_convolution_backward_weights_primitive_desc_create(
            ctypes.byref(pd), t.engine, _CONV_DIRECT, dx, dw, None, dy, *geometry, fwd, None)
    lib.dnnl_primitive_desc_destroy(fwd)
    return pd if status == 0 else None


# Primitives kept per thread: each holds generated code and, for its reorders, buffers of its operands' size.
MAX_PRIMITIVES = 64
_DEAD = weakref.ref(set())      # a reference to nothing: no array is bound yet


class _Entry:
    """A cached pass: ``mems`` the (x, w, y) memory objects on the caller's arrays, ``steps`` the
    (primitive, argument count, arguments) to run in order, ``owned`` every oneDNN object to free with it."""

    def __init__(self, mems: list, steps: list, owned: list) -> None:
        self.mems, self.steps, self.owned = mems, steps, owned
        self.bound: list = [_DEAD] * 3      # weak references to the arrays ``mems`` point at now
        self.live = True                    # until destroyed (a ``bind`` run may still hold it)

    def destroy(self, lib: Any) -> None:
        self.live = False
        for prim, _, _ in self.steps:
            lib.dnnl_primitive_destroy(prim)
        for m in self.owned:
            lib.dnnl_memory_destroy(m)


def _primitive(lib: Any, t: _Thread, kind: str, x: numpy.ndarray, w: numpy.ndarray, y: numpy.ndarray,
               stride: Sequence[int], pads: Sequence[int], dilation: Sequence[int], groups: int, fmt: str) -> Any:
    """The pass's ``_Entry``, or False if oneDNN has no implementation.

    The convolution runs in the layouts oneDNN chooses (blocked channels), with reorders of the operands in
    and of the result out, as PyTorch's CPU convolutions do: on plain layouts its kernels are slower (the seed
    CNN's 32->64 layer at batch 128, forward and both gradients: 25.5 ms plain NCHW and 22.1 plain NHWC,
    19.1 and 19.4 with the reorders; at batch 1 NHWC 298 against 179 us).  Except where an NCHW image has
    few channels per group (``_plain``): there the reorder of the wide side costs more than the kernel."""
    user = [(_image(x, fmt)), _weights(w, fmt, groups), _image(y, fmt)]
    user_mds = [_desc(lib, *d) for d in user]
    geometry = (_Dims(*stride), _Dims(*(d - 1 for d in dilation)), _Dims(pads[0], pads[2]), _Dims(pads[1], pads[3]))
    chosen_mds = [_any_desc(lib, d[0]) for d in user]
    first, then = (user_mds, chosen_mds) if _plain(kind, fmt, x.shape[1] // groups) else (chosen_mds, user_mds)
    pd = _conv_desc(lib, t, kind, *first, geometry)
    if pd is None:          # none in the preferred layouts: one in the others
        pd = _conv_desc(lib, t, kind, *then, geometry)
    for md in chosen_mds:
        lib.dnnl_memory_desc_destroy(md)
    if pd is None:
        for md in user_mds:
            lib.dnnl_memory_desc_destroy(md)
        return False
    mems, conv_mems, before, after, owned = [], [], [], [], []
    for i, (md, q) in enumerate(zip(user_mds, _QUERY[kind])):
        m = _memory(lib, t, md, None)
        mems.append(m)
        inner = lib.dnnl_primitive_desc_query_md(pd, q, 0)
        if lib.dnnl_memory_desc_equal(inner, md):
            conv_mems.append(m)
            continue
        own = _memory(lib, t, inner, _P(_ALLOCATE))      # the operand in the primitive's layout, kept
        conv_mems.append(own)
        owned.append(own)
        if i == _OUTPUT[kind]:
            after.append(_reorder(lib, t, inner, own, md, m))
        else:
            before.append(_reorder(lib, t, md, m, inner, own))
    prim = _P()
    _check(lib.dnnl_primitive_create(ctypes.byref(prim), pd), f"convolution {kind} primitive")
    lib.dnnl_primitive_desc_destroy(pd)
    for md in user_mds:
        lib.dnnl_memory_desc_destroy(md)        # the memory objects keep their own copies
    args = (_Arg * 3)(*[_Arg(n, m) for n, m in zip(_ARGS[kind], conv_mems)])
    return _Entry(mems, before + [(prim, 3, args)] + after, owned + mems)


def _plain(kind: str, fmt: str, in_channels: int) -> bool:
    """Whether this pass runs on the arrays' own layouts: where an NCHW image has few channels per group (a
    first layer), reordering the wide side (the output or its gradient, 32 times the input) costs more than
    the kernel gains.  The forward pass and the weight gradient with one input channel (AVX-512, batch 128,
    1->32 at 28x28: forward 0.9 against 1.2 + 2.1 ms to reorder; AVX2: weight gradient 5.1 against 14.1 ms,
    1.4 against 3.3 at batch 32), the input gradient with up to 4 (AVX-512: 1.1 against 7.3 ms, 4.5 against
    10.8 for 3->32 on 32x32).  oneDNN 3.2 has no plain NHWC kernel for these but the forward one, and its
    blocked forward is faster there.  A fixed rule, not a timing: which kernel runs decides the rounding, and
    a run must not depend on the machine's load.  Wider images keep the blocked layouts (faster in every
    case measured)."""
    if fmt != "NCHW":
        return False
    return in_channels <= (4 if kind == "backward_data" else 1)


_ALLOCATE = ctypes.c_void_p(-1).value       # DNNL_MEMORY_ALLOCATE: the library allocates the buffer


def _any_desc(lib: Any, dims: Sequence[int]) -> _P:
    md = _P()
    _check(lib.dnnl_memory_desc_create_with_tag(ctypes.byref(md), len(dims), _Dims(*dims), _F32, _ANY),
           "memory descriptor")
    return md


def _memory(lib: Any, t: _Thread, md: Any, handle: Any) -> _P:
    m = _P()
    _check(lib.dnnl_memory_create(ctypes.byref(m), md, t.engine, handle), "memory")
    return m


def _reorder(lib: Any, t: _Thread, src_md: Any, src: _P, dst_md: Any, dst: _P) -> tuple:
    """(reorder primitive, 2, its arguments) copying memory ``src`` into ``dst``'s layout."""
    pd, prim = _P(), _P()
    _check(lib.dnnl_reorder_primitive_desc_create(ctypes.byref(pd), src_md, t.engine, dst_md, t.engine, None),
           "reorder")
    _check(lib.dnnl_primitive_create(ctypes.byref(prim), pd), "reorder primitive")
    lib.dnnl_primitive_desc_destroy(pd)
    return prim, 2, (_Arg * 2)(_Arg(_ARG_SRC, src), _Arg(_ARG_DST, dst))
