"""Whether CUDA is usable, and why not: the only module that imports CuPy to find out.

The import is lazy and its outcome memoized, so importing dualflow never touches
the GPU stack unless a CUDA device is asked for.
"""
from __future__ import annotations

import functools


@functools.lru_cache(maxsize=None)
def _probe() -> tuple[object, str | None, int]:
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install raising on import
        return None, f"CuPy is not installed or failed to import ({exc}); install dualflow[gpu]", 0
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return None, f"CuPy is installed but no CUDA driver/GPU answered ({exc})", 0
    if count == 0:
        return None, "CuPy is installed but no CUDA GPU is visible", 0
    return cupy, None, count


def cupy_module():
    """The cupy module; call only after ``unavailable_reason`` returned None."""
    return _probe()[0]


def device_count() -> int:
    """How many CUDA GPUs CuPy sees (0 without CuPy or a driver)."""
    return _probe()[2]


def unavailable_reason(index: int = 0) -> str | None:
    """None when GPU ``index`` is usable, else a sentence saying what is missing."""
    _, reason, count = _probe()
    if reason:
        return reason
    if not 0 <= index < count:
        return f"there is no GPU {index}: {count} visible (valid: cuda:0..cuda:{count - 1})"
    return None
