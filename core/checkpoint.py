"""The checkpoint format both frontends use: a NumPy ``.npz`` of arrays plus JSON metadata.

Loading never runs code (no pickle) and never trusts a size it has not checked: every
entry's declared size is bounded (by the file's own sizes, a compression-ratio limit and
a cap, ``DUALFLOW_CHECKPOINT_MAX_BYTES``, 8 GiB by default) before anything is read, and
each array header must describe exactly the bytes that follow it.  Writes are atomic:
a reader sees the old file or the new one, never a half-written one.
"""
from __future__ import annotations

import collections
import contextlib
import errno
import json
import os
import re
import tempfile
import zipfile
from typing import IO, Any, Callable, Union

import numpy
from numpy.lib import format as npy

MAGIC = "dualflow-checkpoint-v1"
_META = "__dualflow_meta__"

# Limits for untrusted files.  numpy.savez stores entries uncompressed; a compressed entry may
# expand at most _MAX_RATIO times (entries under _RATIO_FLOOR are exempt: they cannot be bombs).
DEFAULT_MAX_BYTES = 8 << 30
_MAX_RATIO, _RATIO_FLOOR = 100, 1 << 20
_MAX_JSON_DEPTH = 200       # json and the decoder recurse once per level; Python's limit is ~1000

PathOrFile = Union[str, os.PathLike, IO[bytes]]


class CheckpointError(RuntimeError, ValueError):
    """The file is missing, truncated, oversized or not a dualflow checkpoint (PyTorch raises RuntimeError
    for an unreadable file, Keras ValueError)."""


def max_bytes() -> int:
    """The cap on a checkpoint's total uncompressed size: ``DUALFLOW_CHECKPOINT_MAX_BYTES`` or 8 GiB."""
    text = os.environ.get("DUALFLOW_CHECKPOINT_MAX_BYTES")
    if text is None:
        return DEFAULT_MAX_BYTES
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"DUALFLOW_CHECKPOINT_MAX_BYTES={text!r} is not a whole number of bytes") from None


def _name(f: PathOrFile) -> str:
    return repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else repr(getattr(f, "name", "<file object>"))


# ----- writing ----------------------------------------------------------------------------------
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()      # what open() would give a new file (mkstemp makes it 0600)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Publish what ``write(file)`` writes at ``path`` all at once: a unique temporary file in the same
    folder is written, flushed, synced and renamed over ``path``; it is removed if anything fails."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):       # say so about the file asked for, not about our temporary one
        raise FileNotFoundError(errno.ENOENT, f"No such file or directory (the folder {folder} does not exist)",
                                path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), _FILE_MODE)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    # The rename itself is durable only once the folder is synced (where the file system can sync folders).
    dfd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dfd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(dfd)


def save(f: PathOrFile, arrays: dict[str, numpy.ndarray], meta: Any = None) -> None:
    """Write host arrays under their names, and JSON-serialisable ``meta``, to a path (atomically) or an
    open binary file."""
    if _META in arrays:
        raise ValueError(f"checkpoint.save: array name {_META!r} is reserved")
    payload = {}
    for k, v in arrays.items():
        a = numpy.asarray(v)
        if a.dtype.hasobject:
            # numpy would pickle it, and loading refuses pickles: refuse now rather than write a dead file.
            raise TypeError(f"checkpoint.save: entry {k!r} is an array of Python objects (dtype {a.dtype}), "
                            "which cannot be stored without pickle; store numbers or strings")
        payload[k] = a
    header = json.dumps({"format": MAGIC, "meta": meta})
    payload[_META] = numpy.frombuffer(header.encode("utf-8"), dtype=numpy.uint8)
    if isinstance(f, (str, os.PathLike)):
        atomic_write(f, lambda out: numpy.savez(out, **payload))
    else:
        numpy.savez(f, **payload)


# ----- reading ----------------------------------------------------------------------------------
def _check_sizes(z: zipfile.ZipFile, where: str, cap: int) -> None:
    """Bound what each entry may expand to, from the zip directory alone, before reading any of it."""
    total = 0
    for info in z.infolist():
        entry = f"{where}, entry {info.filename!r}"
        if info.compress_type == zipfile.ZIP_STORED:
            if info.file_size != info.compress_size:
                raise CheckpointError(f"checkpoint {entry}: declares {info.file_size} bytes but stores "
                                      f"{info.compress_size}")
        elif info.file_size > max(_MAX_RATIO * info.compress_size, _RATIO_FLOOR):
            raise CheckpointError(f"checkpoint {entry}: {info.compress_size} compressed bytes declare "
                                  f"{info.file_size} uncompressed, more than {_MAX_RATIO} times as many "
                                  "(a decompression bomb?)")
        total += info.file_size
        if total > cap:
            raise CheckpointError(f"checkpoint {entry}: the entries so far expand to {total} bytes, over the "
                                  f"{cap}-byte limit (raise DUALFLOW_CHECKPOINT_MAX_BYTES to load it)")


def _read_array(z: zipfile.ZipFile, info: zipfile.ZipInfo, entry: str) -> numpy.ndarray:
    """One ``.npy`` entry, its header checked against the entry's size before the data is allocated."""
    with z.open(info) as fp:
        try:
            version = npy.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = npy.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, fortran, dtype = npy.read_array_header_2_0(fp)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except (ValueError, SyntaxError, RecursionError, EOFError) as exc:
            raise CheckpointError(f"checkpoint {entry}: bad array header: {exc}") from None
        if dtype.hasobject:
            raise CheckpointError(f"checkpoint {entry}: holds Python objects (dtype {dtype}), which would need "
                                  "pickle; refusing to load it")
        count = 1
        for d in shape:
            count *= d
        nbytes, stored = count * dtype.itemsize, info.file_size - fp.tell()
        if min(shape, default=0) < 0 or nbytes != stored:
            raise CheckpointError(f"checkpoint {entry}: the header declares shape {shape} of {dtype} "
                                  f"({nbytes} bytes) but the entry holds {stored} bytes of data")
        arr = numpy.empty(count, dtype)
        view = arr.view(numpy.uint8)
        done = 0
        while done < nbytes:
            n = fp.readinto(view[done:])
            if not n:
                raise CheckpointError(f"checkpoint {entry}: truncated data")
            done += n
    return arr.reshape(shape, order="F" if fortran else "C")


def _json_depth(text: str) -> int:
    """How deeply ``text``'s arrays and objects nest, brackets inside strings aside."""
    depth = deepest = 0
    for c in re.sub(r'"(?:[^"\\]|\\.)*"', "", text):
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def load(f: PathOrFile, cap: int | None = None) -> tuple[dict[str, numpy.ndarray], Any]:
    """Read ``(arrays, meta)`` from a path or an open binary file; never unpickles, and checks every size
    (total against ``cap``, default ``max_bytes()``) before reading."""
    where = _name(f)
    cap = max_bytes() if cap is None else cap
    try:
        # One open file for every read: a writer replacing the path meanwhile cannot mix two versions.
        with contextlib.ExitStack() as stack:
            fh = stack.enter_context(open(f, "rb")) if isinstance(f, (str, os.PathLike)) else f
            z = stack.enter_context(zipfile.ZipFile(fh))
            _check_sizes(z, where, cap)
            infos = {i.filename[:-4] if i.filename.endswith(".npy") else i.filename: i for i in z.infolist()}
            if _META not in infos:
                raise CheckpointError(f"{where} is not a dualflow checkpoint (no metadata entry)")
            text = _read_array(z, infos[_META], f"{where}, entry {_META!r}").tobytes().decode("utf-8")
            if _json_depth(text) > _MAX_JSON_DEPTH:
                raise CheckpointError(f"checkpoint {where}, entry {_META!r}: metadata nests deeper than "
                                      f"{_MAX_JSON_DEPTH} levels")
            header = json.loads(text)
            if not isinstance(header, dict) or header.get("format") != MAGIC:
                raise CheckpointError(f"{where} is not a dualflow checkpoint (format "
                                      f"{header.get('format') if isinstance(header, dict) else header!r})")
            arrays = {k: _read_array(z, i, f"{where}, entry {k!r}") for k, i in infos.items() if k != _META}
    except (CheckpointError, FileNotFoundError):
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read checkpoint {where}: {type(exc).__name__}: {exc}") from None
    return arrays, header.get("meta")


# ----- nested containers ("trees") of arrays: state dicts, optimizer states --------------------
Leaf = Callable[[Any], "tuple[str, numpy.ndarray] | None"]


def _encode(obj: Any, leaf: Leaf, arrays: dict, where: str = "object") -> Any:
    """The JSON skeleton of ``obj``, its arrays moved to ``arrays``; ``where`` names the part for errors."""
    found = leaf(obj)
    if found is not None:
        tag, arr = found
        if arr.dtype.hasobject:
            # numpy would pickle it, and loading refuses pickles: refuse now rather than write a dead file.
            raise TypeError(f"checkpoint: cannot store {where}: an array of Python objects (dtype {arr.dtype}) "
                            "needs pickle, which dualflow never loads; store numbers or strings")
        key = f"a{len(arrays)}"
        arrays[key] = arr
        return {"__leaf__": [tag, key]}
    if isinstance(obj, dict):       # an OrderedDict stays one (PyTorch's state dicts are)
        return {"__odict__" if isinstance(obj, collections.OrderedDict) else "__dict__": [[_encode(k, leaf, arrays, f"{where} key {k!r}"), _encode(v, leaf, arrays,
                                                                                    f"{where}[{k!r}]")]
                             for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"__list__" if isinstance(obj, list) else "__tuple__": [_encode(v, leaf, arrays, f"{where}[{i}]")
                                                                       for i, v in enumerate(obj)]}
    if obj is None or isinstance(obj, (str, int, float)):
        return obj
    if isinstance(obj, numpy.generic):
        return obj.item()
    raise TypeError(f"checkpoint: cannot store {where}, an object of type {type(obj).__name__}; only tensors, "
                    "arrays, numbers, strings and dicts/lists/tuples of them")


def _decode(obj: Any, arrays: dict, build: Callable[[str, numpy.ndarray], Any]) -> Any:
    if isinstance(obj, list):
        raise CheckpointError("malformed checkpoint structure: a bare list")
    if not isinstance(obj, dict):
        return obj
    if len(obj) != 1 or not isinstance(next(iter(obj.values())), list):
        raise CheckpointError(f"malformed checkpoint structure: unexpected node with keys {sorted(obj)}")
    (kind, body), = obj.items()
    if kind == "__leaf__" and len(body) == 2 and all(isinstance(s, str) for s in body):
        if body[1] not in arrays:
            raise CheckpointError(f"malformed checkpoint structure: refers to a missing array {body[1]!r}")
        return build(body[0], arrays[body[1]])
    if kind in ("__dict__", "__odict__") and all(isinstance(kv, list) and len(kv) == 2 for kv in body):
        out = {} if kind == "__dict__" else collections.OrderedDict()
        for k, v in body:
            k = _decode(k, arrays, build)
            try:
                hash(k)
            except TypeError:
                raise CheckpointError(f"malformed checkpoint structure: an unhashable dict key {k!r}") from None
            out[k] = _decode(v, arrays, build)
        return out
    if kind in ("__list__", "__tuple__"):
        items = [_decode(v, arrays, build) for v in body]
        return items if kind == "__list__" else tuple(items)
    raise CheckpointError(f"malformed checkpoint structure: unexpected node {kind!r}")


def _host_leaf(obj: Any) -> "tuple[str, numpy.ndarray] | None":
    return ("array", obj) if isinstance(obj, numpy.ndarray) else None


def save_tree(f: PathOrFile, obj: Any, frontend: str, leaf: Leaf = _host_leaf) -> None:
    """Store nested dicts/lists/tuples whose leaves ``leaf`` turns into (tag, host array)."""
    arrays: dict = {}
    skeleton = _encode(obj, leaf, arrays)
    save(f, arrays, {"frontend": frontend, "object": skeleton})


def load_tree(f: PathOrFile, build: Callable[[str, numpy.ndarray], Any] = lambda tag, a: a
              ) -> tuple[Any, str]:
    """Read back what ``save_tree`` stored, leaves rebuilt by ``build(tag, array)``; returns (tree, frontend)."""
    arrays, meta = load(f)
    if not isinstance(meta, dict) or "object" not in meta:
        raise CheckpointError(f"{_name(f)} holds no saved object (it may be a variables checkpoint)")
    try:
        return _decode(meta["object"], arrays, build), meta.get("frontend")
    except CheckpointError as exc:
        raise CheckpointError(f"checkpoint {_name(f)}: {exc}") from None
