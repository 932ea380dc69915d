"""How many threads the CPU's BLAS runs with: dualflow's one setting, honoured by every CPU kernel.

    >>> from backends import threads
    >>> threads.set_num_threads(1)
    >>> threads.get_num_threads()
    1

The count comes from ``set_num_threads`` (``torch.set_num_threads`` in eager_api calls it), else from the
environment (``DUALFLOW_NUM_THREADS``, ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, first
set wins), else the BLAS library's own default (the cores it may use).  The convolution kernels ask for
``gemm_threads(flops)`` around their GEMMs: a GEMM below ``MIN_PARALLEL_FLOPS`` runs on one BLAS thread.
That keeps small steps fast beside another multi-threaded numeric process: OpenBLAS's worker threads spin
waiting for each other, and when a core is taken the wait costs milliseconds per GEMM.
threadpoolctl does the setting (through the library's own ``openblas_set_num_threads``, ~1 us a call).
"""
from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterator

# On 2 idle cores a second BLAS thread speeds sgemm up 1.6-2x from ~4 MFLOP on.  Beside a busy process its
# spinning costs milliseconds a GEMM instead (the seed CNN's batch-1 eager step: 6 ms with two BLAS threads
# for its 7 MFLOP GEMMs, 1.3 ms with one, 1.2 ms idle).  So BLAS threads only from here on, where a GEMM
# takes ~0.5 ms and the risk is a fraction of it; the conv kernels split larger batches over Python threads.
MIN_PARALLEL_FLOPS = 64e6
_ENV = ("DUALFLOW_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_libs: list | None = None
_count: int | None = None
_current: int | None = None


def _blas() -> list:
    """The BLAS libraries' thread controls, found once (threadpoolctl inspects the loaded libraries)."""
    global _libs
    if _libs is None:
        import threadpoolctl
        _libs = list(threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers)
    return _libs


def _from_env() -> int | None:
    for name in _ENV:
        v = os.environ.get(name, "").strip()
        if v:
            try:
                n = int(v.split(",")[0])
            except ValueError:
                raise ValueError(f"{name}={v!r}: expected a positive number of threads") from None
            if n < 1:
                raise ValueError(f"{name}={v!r}: expected a positive number of threads")
            return n
    return None


def get_num_threads() -> int:
    """dualflow's BLAS thread count."""
    global _count
    if _count is None:
        env = _from_env()
        libs = _blas()
        _count = env if env is not None else max([lib.num_threads for lib in libs] or [os.cpu_count() or 1])
    return _count


def set_num_threads(n: int) -> None:
    """Use ``n`` BLAS threads from now on (for the GEMMs large enough to gain from them)."""
    global _count
    if not hasattr(n, "__index__") or int(n) < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    _count = int(n)
    _apply(_count)


def _apply(n: int) -> None:
    global _current
    if n != _current:
        for lib in _blas():
            lib.set_num_threads(n)
        _current = n


_UNCHANGED = contextlib.nullcontext()


def gemm_threads(flops: float) -> contextlib.AbstractContextManager:
    """Within the block, BLAS runs with dualflow's count, or one thread for GEMMs of fewer than
    ``MIN_PARALLEL_FLOPS`` each; afterwards with dualflow's count (what other NumPy code sees).  Where that
    changes nothing (one thread, or a large GEMM) the block is a no-op: a batch-1 step asks about ten times,
    and the generator-based manager cost ~3 us a time."""
    change = _change(flops)
    return _UNCHANGED if change is None else _threads_within(*change)


def within(flops: float, run: Callable[[], Any]) -> Callable[[], Any]:
    """``run`` as it runs inside ``gemm_threads(flops)``, decided now (for a kernel bound once and run again
    while dualflow's count stays what it is): ``run`` itself where the block would change nothing."""
    change = _change(flops)
    if change is None:
        return run

    def threaded() -> Any:
        with _threads_within(*change):
            return run()
    return threaded


def _change(flops: float) -> tuple[int, int] | None:
    """(the threads a GEMM of ``flops`` runs on, dualflow's count to restore after), or None where both are the
    count BLAS runs with now."""
    n = get_num_threads()
    want = 1 if flops < MIN_PARALLEL_FLOPS else n
    return None if want == n == _current else (want, n)


@contextlib.contextmanager
def _threads_within(want: int, after: int) -> Iterator[None]:
    _apply(want)
    try:
        yield
    finally:
        _apply(after)


def info() -> dict[str, Any]:
    """The setting and the libraries it controls (for bug reports and benchmarks)."""
    return {"num_threads": get_num_threads(), "min_parallel_flops": MIN_PARALLEL_FLOPS,
            "blas": [dict(lib.info()) for lib in _blas()]}
