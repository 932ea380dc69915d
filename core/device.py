"""Which device computes: ``DUALFLOW_DEVICE`` and a scoped override.

    >>> from core import device
    >>> with device.use("cpu"):
    ...     str(device.default())
    'cpu'

Valid values: unset or ``auto`` (the GPU when CuPy and a GPU are usable, else the
CPU), ``cpu``, ``cuda``/``gpu`` (GPU 0) and ``cuda:N``.  A GPU that was asked for
but is unusable raises; nothing falls back silently.
"""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator, Union

from backends import cuda_status

VALID = "'auto', 'cpu', 'cuda', 'gpu', 'cuda:N'"


class Device:
    """A compute device: ``Device('cpu')`` or ``Device('cuda', 0)``."""

    __slots__ = ("type", "index")

    def __init__(self, type: str, index: int | None = None) -> None:
        self.type = type
        self.index = index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device(type='{self.type}'" + ("" if self.index is None else f", index={self.index}") + ")"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = parse(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = Device("cpu")
DeviceLike = Union[Device, str, None]


def parse(spec: DeviceLike, *, source: str = "device") -> Device:
    """Turn a device spec into a usable Device, or raise saying why it is not usable."""
    if isinstance(spec, Device):
        return spec
    text = "auto" if spec is None else str(spec).strip().lower()
    if text in ("", "auto"):
        return Device("cuda", 0) if cuda_status.unavailable_reason(0) is None else CPU
    if text == "cpu":
        return CPU
    if text in ("cuda", "gpu"):
        index = 0
    elif text.startswith("cuda:") and text[5:].isdigit():
        index = int(text[5:])
    else:
        raise ValueError(f"{source}={spec!r} is not a valid device; valid values are {VALID}")
    reason = cuda_status.unavailable_reason(index)
    if reason:
        raise RuntimeError(f"{source}={spec!r} asks for a GPU, but it is not usable: {reason}")
    return Device("cuda", index)


_local = threading.local()


def default() -> Device:
    """The device new values go to: the innermost ``use`` block, else ``DUALFLOW_DEVICE``."""
    stack = getattr(_local, "stack", None)
    if stack:
        return stack[-1]
    env = os.environ.get("DUALFLOW_DEVICE")
    cached = getattr(_local, "env", None)
    if cached is None or cached[0] != env:
        cached = (env, parse(env, source="DUALFLOW_DEVICE"))
        _local.env = cached
    return cached[1]


@contextlib.contextmanager
def use(spec: DeviceLike) -> Iterator[Device]:
    """Make ``spec`` the default device inside a ``with`` block."""
    dev = parse(spec)
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(dev)
    try:
        yield dev
    finally:
        stack.pop()
