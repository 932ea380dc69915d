"""Backend dispatch: the one place that picks NumPy or CuPy for a device.

    >>> from backends import get_backend
    >>> get_backend("cpu").xp.__name__
    'numpy'
"""
from __future__ import annotations

from typing import Any

from backends import cuda_status
from backends.base import ArrayBackend

_cache: dict[str, ArrayBackend] = {}


def get_backend(device: Any) -> ArrayBackend:
    """The backend for a device (a ``core.device.Device`` or its string), created once."""
    key = str(device)
    be = _cache.get(key)
    if be is None:
        if key == "cpu":
            from backends.numpy_backend import NumpyBackend
            be = NumpyBackend(device)
        elif key.startswith("cuda:"):
            reason = cuda_status.unavailable_reason(int(key.split(":")[1]))
            if reason:
                raise RuntimeError(f"device {key} is not usable: {reason}")
            from backends.cupy_backend import CupyBackend
            be = CupyBackend(device, int(key.split(":")[1]))
        else:
            raise ValueError(f"get_backend: unknown device {key!r}; expected 'cpu' or 'cuda:N'")
        _cache[key] = be
    return be


def backend_of(array: Any) -> ArrayBackend:
    """The backend whose array module made ``array``."""
    if type(array).__module__.startswith("cupy"):
        return get_backend(f"cuda:{array.device.id}")
    return get_backend("cpu")


def memory_owner(array: Any) -> Any:
    """The object that owns ``array``'s memory: the end of its chain of ``base`` views (NumPy and CuPy alike)."""
    while getattr(array, "base", None) is not None:
        array = array.base
    return array
