"""PyTorch-style eager frontend: ``import eager_api as torch``.

    >>> import eager_api as torch
    >>> x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad.tolist()
    [2.0, 4.0, 6.0]
"""
from __future__ import annotations

import builtins
import json
import math
import os
from typing import IO, Any

import numpy

from core import errors as _errors
import backends as _backends
from backends import cuda_status as _cuda_status
from backends import threads as _threads
from core import checkpoint as _ckpt
from core.inplace import view_root as _view_root
from core.op import apply as _core_apply
from core import device as _device
from core.random import Generator, seed_everything
from core.op import is_grad_enabled
from eager_api import autograd
from eager_api.autograd import enable_grad, no_grad, set_grad_enabled
from eager_api.tensor import *  # noqa: F401,F403  (the torch namespace: dtypes, creation and math functions)
from eager_api.tensor import Size, Tensor, tensor

from eager_api import distributed, linalg, nn, optim, utils  # noqa: E402  (need Tensor defined first)
from eager_api.linalg import (_cholesky_inverse as cholesky_inverse, _cholesky_solve as cholesky_solve,  # noqa: E402
                              _logdet as logdet, _torch_cholesky as cholesky, _torch_slogdet as slogdet,
                              _torch_qr as qr, _torch_svd as svd, _triangular_solve as triangular_solve, det,
                              inv as inverse, matrix_power)
import eager_api.backends as backends  # noqa: E402  (the submodule, not the star-imported top-level package)
from eager_api._dynamo import compile  # noqa: E402,A001  (torch.compile; needs nn)
from eager_api.autograd import inference_mode, is_inference_mode_enabled  # noqa: E402

bool = numpy.dtype("bool")  # noqa: A001  (torch.bool)

# torch-level twins of functional forms (torch.conv2d and friends, as ATen exposes them).
from eager_api.nn.functional import conv2d, cosine_similarity, pairwise_distance  # noqa: E402


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.dropout(input, p, train)``: ``F.dropout`` with its arguments required."""
    return nn.functional.dropout(input, p, train)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """``torch.max_pool2d``: ``F.max_pool2d`` without indices (an empty stride is the kernel size, as ATen's)."""
    return nn.functional.max_pool2d(input, kernel_size, stride if stride not in ((), []) else None, padding, dilation,
                                    ceil_mode)


def device(spec: Any) -> _device.Device:
    """``torch.device('cuda:0')``: checked against what is usable."""
    return _device.parse(spec)


def manual_seed(seed: int) -> Generator:
    """Seed Python, NumPy and dualflow's default generator on every device."""
    seed_everything(builtins.int(seed))
    from core.random import default_generator
    return default_generator


class cuda:
    """``torch.cuda`` queries."""

    @staticmethod
    def is_available() -> bool:
        return _cuda_status.unavailable_reason(0) is None

    @staticmethod
    def device_count() -> int:
        return _cuda_status.device_count()

    @staticmethod
    def current_device() -> int:
        dev = _device.default()
        if dev.type != "cuda":
            raise RuntimeError("No CUDA GPUs are available")
        return dev.index

    @staticmethod
    def synchronize(dev: Any = None) -> None:
        _backends.get_backend(_device.parse(dev or "cuda")).synchronize()

    @staticmethod
    def manual_seed(seed: int) -> None:
        manual_seed(seed)

    manual_seed_all = manual_seed

    @staticmethod
    def empty_cache() -> None:
        """Return CuPy's cached blocks to the driver (PyTorch's caching allocator does the same)."""
        if _cuda_status.unavailable_reason(0) is None:
            _cuda_status.cupy_module().get_default_memory_pool().free_all_blocks()




class accelerator:
    """``torch.accelerator``: the one accelerator dualflow knows is CUDA."""

    @staticmethod
    def is_available() -> bool:
        return cuda.is_available()

    @staticmethod
    def current_accelerator(check_available: bool = False) -> _device.Device | None:
        return device("cuda") if cuda.is_available() else None

    @staticmethod
    def device_count() -> int:
        return cuda.device_count() if cuda.is_available() else 0


def set_num_threads(n: int) -> None:
    """The CPU kernels' BLAS thread count (dualflow's one setting, ``backends.threads``)."""
    _threads.set_num_threads(n)


def get_num_threads() -> int:
    return _threads.get_num_threads()


# A tensor is stored under a tag "dualflow.tensor:{json}": its device, its storage (the n-th distinct base met
# in the file, whose array goes with its first tensor; later ones store an empty array), the chain of view
# primitives that makes it from that base, and whether it is a Parameter or requires grad.  Tensors that
# shared storage when saved share it when loaded, as PyTorch's.  Files that older versions wrote
# ("tensor:<device>" tags) load as before.
_TAG = "dualflow.tensor"
_VIEW_OPS = {"Reshape": "shape", "Transpose": "perm", "BroadcastTo": "shape", "ExpandDims": "axes",
             "Squeeze": "axes"}


def _index_json(index: Any) -> Any:
    """A basic index (ints, slices, None, Ellipsis) as JSON, or None for any other."""
    parts = []
    for p in index if isinstance(index, tuple) else (index,):
        if isinstance(p, (builtins.int, numpy.integer)) and not isinstance(p, builtins.bool):
            parts.append(builtins.int(p))
        elif isinstance(p, slice) and builtins.all(b is None or isinstance(b, (builtins.int, numpy.integer)) for b in
                                          (p.start, p.stop, p.step)):
            parts.append(["slice"] + [None if b is None else builtins.int(b) for b in (p.start, p.stop, p.step)])
        elif p is None or p is Ellipsis:
            parts.append("None" if p is None else "...")
        else:
            return None
    return parts


def _chain_json(chain: tuple) -> list | None:
    """The view primitives of ``chain`` as JSON, or None where one is not a plain view primitive."""
    out = []
    for op in chain:
        name = type(op).__name__
        if name in _VIEW_OPS:
            out.append([name, [builtins.int(a) for a in getattr(op, _VIEW_OPS[name])]])
        elif name == "GetItem" and op.is_view and _index_json(op.index) is not None:
            out.append([name, _index_json(op.index)])
        else:
            return None
    return out


def _chain_ops(chain: Any) -> list:
    """The ops of a stored chain, every part checked: only view primitives with whole-number arguments."""
    from core.ops import shape as _shape
    bad = _ckpt.CheckpointError(f"malformed checkpoint structure: a view chain {chain!r}")
    if not isinstance(chain, list):
        raise bad
    ops = []
    for entry in chain:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], list)):
            raise bad
        name, args = entry
        if name in _VIEW_OPS:
            if not builtins.all(type(a) is builtins.int for a in args):
                raise bad
            ops.append(getattr(_shape, name)(args))
        elif name == "GetItem":
            index = []
            for a in args:
                if type(a) is int:
                    index.append(a)
                elif a in ("None", "..."):
                    index.append(None if a == "None" else Ellipsis)
                elif (isinstance(a, list) and len(a) == 4 and a[0] == "slice"
                      and builtins.all(b is None or type(b) is builtins.int for b in a[1:])):
                    index.append(slice(*a[1:]))
                else:
                    raise bad
            ops.append(_shape.GetItem(tuple(index)))
        else:
            raise bad
    return ops


class _Saver:
    """The leaf function of one ``save``: tensors by storage."""

    def __init__(self) -> None:
        self.bases: dict = {}       # id(base) -> (its number, the base itself, kept alive while saving)
        self.objects: dict = {}     # id(tensor) -> (its number, the tensor): one object saved twice loads as one
        self.cpu = _backends.get_backend("cpu")
        self.hosts: dict = {}       # id(base) -> its host copy, made once however many views of it are saved

    def leaf(self, obj: Any) -> Any:
        if isinstance(obj, Tensor):
            return self.tensor(obj)
        if isinstance(obj, numpy.ndarray):
            return "array", obj
        if type(obj).__module__.startswith("cupy"):
            return "array", obj.get()
        return None

    def tensor(self, t: Tensor) -> tuple:
        number = self.objects.setdefault(id(t), (len(self.objects), t))[0]
        base, chain = _view_root(t) if t._view is not None else (t, ())
        steps = _chain_json(chain)
        host = t._host()
        if chain and (steps is None or not self._replays(base, chain, host)):
            base, steps = t, []         # stored on its own: a copy when loaded, as before
        info = {"device": str(t.device), "chain": steps, "requires_grad": builtins.bool(t.requires_grad),
                "parameter": isinstance(t, nn.Parameter), "object": number}
        known = self.bases.get(id(base))
        if known is not None:
            info["base"] = known[0]
            return f"{_TAG}:{json.dumps(info)}", numpy.zeros(0, host.dtype)
        info["base"] = len(self.bases)
        self.bases[id(base)] = (info["base"], base)
        return f"{_TAG}:{json.dumps(info)}", (host if base is t else self._base_host(base))

    def _base_host(self, base: Any) -> numpy.ndarray:
        if id(base) not in self.hosts:
            self.hosts[id(base)] = base._host()
        return self.hosts[id(base)]

    def _replays(self, base: Any, chain: tuple, host: numpy.ndarray) -> builtins.bool:
        """Whether the chain remakes the tensor's values from its base (else it is stored on its own)."""
        try:
            out = self._base_host(base)
            for op in chain:
                out = op.forward(self.cpu, out)
        except Exception:       # noqa: BLE001  (any failure only means: store it on its own)
            return False
        return out.shape == host.shape and numpy.array_equal(out, host, equal_nan=host.dtype.kind == "f")


def save(obj: Any, f: str | os.PathLike | IO[bytes]) -> None:
    """Store a state dict (tensors, arrays, numbers, strings, nested containers) without pickle, to a path
    (replaced atomically) or an open binary file.  Anything else, arrays of Python objects included, is
    refused here with a TypeError, since no file that needs pickle is ever loaded back.  As PyTorch's:
    tensors that share storage (``[x, x]``, ``[x, x[1:]]``) load sharing it, ``requires_grad`` and
    Parameters are kept, and an OrderedDict stays one."""
    if isinstance(f, (str, os.PathLike)):
        parent = os.path.dirname(os.path.abspath(os.fspath(f)))
        if not os.path.isdir(parent):
            raise RuntimeError(f"Parent directory {parent} does not exist.")        # PyTorch's words
    _ckpt.save_tree(f, obj, "eager", _Saver().leaf)


def _restore(host: numpy.ndarray, saved: str, map_location: Any) -> Tensor:
    """A loaded tensor placed as PyTorch places it: ``map_location(storage, saved)`` (None keeps the saved
    device), a dict renaming saved devices, one device for all, or (None) the device it was saved from."""
    if callable(map_location):
        out = map_location(tensor(host, dtype=host.dtype, device="cpu"), saved)
        if out is not None:
            if not isinstance(out, Tensor):
                raise TypeError(f"torch.load: map_location(storage, {saved!r}) must return a tensor or None, "
                                f"got {type(out).__name__}")
            return out
        target = saved
    elif isinstance(map_location, dict):
        target = map_location.get(saved, saved)
    else:
        target = saved if map_location is None else map_location
    try:
        dev = _device.parse(target)
    except RuntimeError as exc:
        raise RuntimeError(f"Attempting to deserialize a tensor saved on {saved!r} to {str(target)!r}, which is "
                           f"not usable here: {exc}. On a CPU-only machine, use torch.load with "
                           "map_location=torch.device('cpu') to map your storages to the CPU.") from None
    return tensor(host, dtype=host.dtype, device=dev)


class _Loader:
    """The leaf builder of one ``load``: storages by number, views replayed on them."""

    def __init__(self, map_location: Any) -> None:
        self.map_location = map_location
        self.bases: list = []
        self.objects: dict = {}     # the saved object's number -> the tensor loaded for it

    def build(self, tag: str, a: numpy.ndarray) -> Any:
        kind, _, rest = tag.partition(":")
        if kind == "tensor":
            return _restore(a, rest or "cpu", self.map_location)
        if kind != _TAG:
            return a
        try:
            info = json.loads(rest)
        except ValueError:
            info = None
        if not (isinstance(info, dict) and isinstance(info.get("device"), str)
                and type(info.get("base")) is builtins.int and isinstance(info.get("requires_grad"), builtins.bool)
                and isinstance(info.get("parameter"), builtins.bool)):
            raise _ckpt.CheckpointError(f"malformed checkpoint structure: a tensor tag {tag[:200]!r}")
        ops = _chain_ops(info.get("chain"))
        n, number = info["base"], info.get("object")
        if number is not None and type(number) is not builtins.int:
            raise _ckpt.CheckpointError(f"malformed checkpoint structure: a tensor tag {tag[:200]!r}")
        if number in self.objects:
            if not (n < len(self.bases) and a.size == 0):
                raise _ckpt.CheckpointError(f"malformed checkpoint structure: object {number} stored twice")
            return self.objects[number]
        if n == len(self.bases):        # a new storage: its array comes with this tensor
            self.bases.append(_restore(a, info["device"], self.map_location))
        elif not (0 <= n < len(self.bases) and a.size == 0):
            raise _ckpt.CheckpointError(f"malformed checkpoint structure: storage {n} of {len(self.bases)}")
        base = self.bases[n]
        if info["requires_grad"] and not base.requires_grad and base.dtype.kind == "f" and base.is_leaf:
            base.requires_grad_(True)
        out = base
        for op in ops:
            try:
                out = _core_apply(op, out)
            except (_errors.ShapeError, ValueError, IndexError, TypeError) as exc:
                raise _ckpt.CheckpointError(f"malformed checkpoint structure: a view that does not fit its "
                                            f"storage ({exc})") from None
            # A broadcast view (no copy) may name more elements than its storage holds, and a reshape after it
            # would copy them: cap each step as the file's size is capped, before the next one runs.
            if math.prod(out.shape) * out.dtype.itemsize > _ckpt.max_bytes():
                raise _ckpt.CheckpointError("malformed checkpoint structure: a view larger than the size cap")
        out = Tensor._of(out) if not isinstance(out, Tensor) else out
        if info["parameter"] and not ops:
            out = nn.Parameter(out, requires_grad=info["requires_grad"])
        if number is not None:
            self.objects[number] = out
        return out


def load(f: str | os.PathLike | IO[bytes], map_location: Any = None, weights_only: bool = True) -> Any:
    """Load what ``save`` stored, from a path or an open binary file; never executes code from the file.
    ``map_location`` is a callable ``(storage, location)``, a dict ``{'cuda:0': 'cpu'}``, a device or str."""
    if not (map_location is None or callable(map_location) or isinstance(map_location, (dict, str, _device.Device))):
        raise TypeError(f"torch.load: map_location must be a callable, a dict, a str or a torch.device, got "
                        f"{type(map_location).__name__}")
    obj, _ = _ckpt.load_tree(f, _Loader(map_location).build)
    return obj


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
