"""The checkpoint format both frontends use: a NumPy ``.npz`` of arrays plus JSON metadata.

Loading uses ``allow_pickle=False``, so a checkpoint can never run code; a file
that is not a dualflow checkpoint is rejected with a clear error.
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy

MAGIC = "dualflow-checkpoint-v1"
_META = "__dualflow_meta__"


class CheckpointError(RuntimeError):
    """The file is missing, truncated, or not a dualflow checkpoint."""


def save(path: str | os.PathLike, arrays: dict[str, numpy.ndarray], meta: Any = None) -> None:
    """Write host arrays under their names, and JSON-serialisable ``meta``, to ``path``."""
    if _META in arrays:
        raise ValueError(f"checkpoint.save: array name {_META!r} is reserved")
    header = json.dumps({"format": MAGIC, "meta": meta})
    payload = {k: numpy.asarray(v) for k, v in arrays.items()}
    payload[_META] = numpy.frombuffer(header.encode("utf-8"), dtype=numpy.uint8)
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "wb") as f:
        numpy.savez(f, **payload)
    os.replace(tmp, path)


def load(path: str | os.PathLike) -> tuple[dict[str, numpy.ndarray], Any]:
    """Read ``(arrays, meta)`` back; never unpickles."""
    try:
        with numpy.load(path, allow_pickle=False) as z:
            if _META not in z.files:
                raise CheckpointError(f"{os.fspath(path)!r} is not a dualflow checkpoint (no metadata entry)")
            header = json.loads(bytes(z[_META]).decode("utf-8"))
            if not isinstance(header, dict) or header.get("format") != MAGIC:
                raise CheckpointError(f"{os.fspath(path)!r} is not a dualflow checkpoint (format "
                                      f"{header.get('format') if isinstance(header, dict) else header!r})")
            arrays = {k: z[k] for k in z.files if k != _META}
    except (CheckpointError, FileNotFoundError):
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read checkpoint {os.fspath(path)!r}: {type(exc).__name__}: {exc}") from None
    return arrays, header.get("meta")
