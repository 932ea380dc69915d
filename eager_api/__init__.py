"""PyTorch-style eager frontend: ``import eager_api as torch``.

    >>> import eager_api as torch
    >>> x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad.tolist()
    [2.0, 4.0, 6.0]
"""
from __future__ import annotations

import builtins
import os
from typing import Any

import numpy

from core import checkpoint as _ckpt
from core import device as _device
from core.random import Generator, seed_everything
from core.op import is_grad_enabled
from eager_api import autograd
from eager_api.autograd import enable_grad, no_grad, set_grad_enabled
from eager_api.tensor import *  # noqa: F401,F403  (the torch namespace: dtypes, creation and math functions)
from eager_api.tensor import Size, Tensor, tensor

from eager_api import nn, optim, utils  # noqa: E402  (need Tensor defined first)

bool = numpy.dtype("bool")  # noqa: A001  (torch.bool)


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
        from backends import cuda_status
        return cuda_status.unavailable_reason(0) is None

    @staticmethod
    def synchronize(dev: Any = None) -> None:
        import backends
        backends.get_backend(_device.parse(dev or "cuda")).synchronize()

    @staticmethod
    def manual_seed(seed: int) -> None:
        manual_seed(seed)


def _flatten(obj: Any, arrays: dict) -> Any:
    """Split a state dict into arrays and a JSON skeleton that points at them."""
    if isinstance(obj, Tensor):
        key = f"a{len(arrays)}"
        arrays[key] = obj._host()
        return {"__tensor__": key}
    if isinstance(obj, numpy.ndarray) or type(obj).__module__.startswith("cupy"):
        key = f"a{len(arrays)}"
        arrays[key] = numpy.asarray(obj) if isinstance(obj, numpy.ndarray) else obj.get()
        return {"__array__": key}
    if isinstance(obj, dict):
        return {"__dict__": [[_flatten(k, arrays), _flatten(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"__list__" if isinstance(obj, list) else "__tuple__": [_flatten(v, arrays) for v in obj]}
    if obj is None or isinstance(obj, (str, builtins.int, builtins.float)):
        return obj
    if isinstance(obj, numpy.generic):
        return obj.item()
    raise TypeError(f"save: cannot store an object of type {type(obj).__name__}; only tensors, arrays, numbers, "
                    "strings and dicts/lists/tuples of them")


def _unflatten(obj: Any, arrays: dict, map_location: Any) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensor(arrays[obj["__tensor__"]], dtype=arrays[obj["__tensor__"]].dtype, device=map_location)
        if "__array__" in obj:
            return arrays[obj["__array__"]]
        if "__dict__" in obj:
            return {_unflatten(k, arrays, map_location): _unflatten(v, arrays, map_location) for k, v in obj["__dict__"]}
        if "__list__" in obj:
            return [_unflatten(v, arrays, map_location) for v in obj["__list__"]]
        if "__tuple__" in obj:
            return tuple(_unflatten(v, arrays, map_location) for v in obj["__tuple__"])
        raise _ckpt.CheckpointError(f"malformed checkpoint structure: unexpected keys {sorted(obj)}")
    return obj


def save(obj: Any, f: str | os.PathLike) -> None:
    """Store a state dict (tensors, arrays, numbers, strings, nested containers) without pickle."""
    arrays: dict = {}
    skeleton = _flatten(obj, arrays)
    _ckpt.save(f, arrays, {"frontend": "eager", "object": skeleton})


def load(f: str | os.PathLike, map_location: Any = None, weights_only: bool = True) -> Any:
    """Load what ``save`` stored; never executes code from the file."""
    arrays, meta = _ckpt.load(f)
    if not isinstance(meta, dict) or "object" not in meta:
        raise _ckpt.CheckpointError(f"{os.fspath(f)!r} holds no eager object (was it written by static_api.Saver?)")
    try:
        return _unflatten(meta["object"], arrays, map_location)
    except KeyError as exc:
        raise _ckpt.CheckpointError(f"{os.fspath(f)!r} refers to a missing array {exc}") from None
