"""The checkpoint format both frontends use: a NumPy ``.npz`` of arrays plus JSON metadata.

Loading uses ``allow_pickle=False``, so a checkpoint can never run code; a file
that is not a dualflow checkpoint is rejected with a clear error.
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import Any, Callable

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


# ----- nested containers ("trees") of arrays: state dicts, optimizer states --------------------
Leaf = Callable[[Any], "tuple[str, numpy.ndarray] | None"]


def _encode(obj: Any, leaf: Leaf, arrays: dict) -> Any:
    found = leaf(obj)
    if found is not None:
        tag, arr = found
        key = f"a{len(arrays)}"
        arrays[key] = arr
        return {"__leaf__": [tag, key]}
    if isinstance(obj, dict):
        return {"__dict__": [[_encode(k, leaf, arrays), _encode(v, leaf, arrays)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"__list__" if isinstance(obj, list) else "__tuple__": [_encode(v, leaf, arrays) for v in obj]}
    if obj is None or isinstance(obj, (str, int, float)):
        return obj
    if isinstance(obj, numpy.generic):
        return obj.item()
    raise TypeError(f"checkpoint: cannot store an object of type {type(obj).__name__}; only arrays, numbers, "
                    "strings and dicts/lists/tuples of them")


def _decode(obj: Any, arrays: dict, build: Callable[[str, numpy.ndarray], Any]) -> Any:
    if not isinstance(obj, dict):
        return obj
    if "__leaf__" in obj:
        tag, key = obj["__leaf__"]
        return build(tag, arrays[key])
    if "__dict__" in obj:
        return {_decode(k, arrays, build): _decode(v, arrays, build) for k, v in obj["__dict__"]}
    if "__list__" in obj:
        return [_decode(v, arrays, build) for v in obj["__list__"]]
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays, build) for v in obj["__tuple__"])
    raise CheckpointError(f"malformed checkpoint structure: unexpected keys {sorted(obj)}")


def _host_leaf(obj: Any) -> "tuple[str, numpy.ndarray] | None":
    return ("array", obj) if isinstance(obj, numpy.ndarray) else None


def save_tree(path: str | os.PathLike, obj: Any, frontend: str, leaf: Leaf = _host_leaf) -> None:
    """Store nested dicts/lists/tuples whose leaves ``leaf`` turns into (tag, host array)."""
    arrays: dict = {}
    skeleton = _encode(obj, leaf, arrays)
    save(path, arrays, {"frontend": frontend, "object": skeleton})


def load_tree(path: str | os.PathLike, build: Callable[[str, numpy.ndarray], Any] = lambda tag, a: a
              ) -> tuple[Any, str]:
    """Read back what ``save_tree`` stored, leaves rebuilt by ``build(tag, array)``; returns (tree, frontend)."""
    arrays, meta = load(path)
    if not isinstance(meta, dict) or "object" not in meta:
        raise CheckpointError(f"{os.fspath(path)!r} holds no saved object (it may be a variables checkpoint)")
    try:
        return _decode(meta["object"], arrays, build), meta.get("frontend")
    except KeyError as exc:
        raise CheckpointError(f"{os.fspath(path)!r} refers to a missing array {exc}") from None
