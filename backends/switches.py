"""dualflow's off switches: environment variables that default to on (``DUALFLOW_OPTIMIZE``,
``DUALFLOW_FLAT_UPDATES``, ``DUALFLOW_ONEDNN``, ``DUALFLOW_NUMBA``), read where they act (in the lowest layer,
so that the backends, core and both frontends share it)."""
from __future__ import annotations

import functools
import os

_OFF = ("0", "false", "off")
# ``os.environ.get`` encodes the key and decodes the value on every read (2.3 us here); kernels read their
# switch on every call, a batch-1 training step some 15 times.  The mapping's own store (``_data``, which
# ``os.environ[...] = ...``, ``putenv`` through it and pytest's monkeypatch all update) read with the key
# encoded once costs 0.1 us.  Where a Python has no such store, the public read.
_data = getattr(os.environ, "_data", None)
_encodekey = getattr(os.environ, "encodekey", None)


@functools.lru_cache(maxsize=None)
def _key(variable: str) -> object:
    return _encodekey(variable)


@functools.lru_cache(maxsize=64)
def _is_off(raw: object) -> bool:
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return text.strip().lower() in _OFF


def switched_off(variable: str) -> bool:
    """Whether environment ``variable`` (a dualflow switch that defaults to on) says off: 0, false or off."""
    value = raw(variable)
    return value is not None and _is_off(value)


def raw(variable: str) -> object:
    """Environment ``variable`` as the environment holds it (None where unset), undecoded: what a caller that
    asks at every kernel call compares with what it saw before, deciding only when it changed."""
    if _data is None or _encodekey is None:
        return os.environ.get(variable)
    return _data.get(_key(variable))
