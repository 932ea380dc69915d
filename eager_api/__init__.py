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
from typing import IO, Any

import numpy

from core import errors as _errors
import backends as _backends
from backends import cuda_status as _cuda_status
from backends import threads as _threads
from core import checkpoint as _ckpt
from core import device as _device
from core.random import Generator, seed_everything
from core.op import is_grad_enabled
from eager_api import autograd
from eager_api.autograd import enable_grad, no_grad, set_grad_enabled
from eager_api.tensor import *  # noqa: F401,F403  (the torch namespace: dtypes, creation and math functions)
from eager_api.tensor import Size, Tensor, tensor

from eager_api import distributed, nn, optim, utils  # noqa: E402  (need Tensor defined first)
import eager_api.backends as backends  # noqa: E402  (the submodule, not the star-imported top-level package)
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


def _leaf(obj: Any) -> Any:
    if isinstance(obj, Tensor):
        return f"tensor:{obj.device}", obj._host()     # the device is kept for map_location
    if isinstance(obj, numpy.ndarray):
        return "array", obj
    if type(obj).__module__.startswith("cupy"):
        return "array", obj.get()
    return None


def save(obj: Any, f: str | os.PathLike | IO[bytes]) -> None:
    """Store a state dict (tensors, arrays, numbers, strings, nested containers) without pickle, to a path
    (replaced atomically) or an open binary file.  Anything else, arrays of Python objects included, is
    refused here with a TypeError, since no file that needs pickle is ever loaded back."""
    _ckpt.save_tree(f, obj, "eager", _leaf)


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


def load(f: str | os.PathLike | IO[bytes], map_location: Any = None, weights_only: bool = True) -> Any:
    """Load what ``save`` stored, from a path or an open binary file; never executes code from the file.
    ``map_location`` is a callable ``(storage, location)``, a dict ``{'cuda:0': 'cpu'}``, a device or str."""
    if not (map_location is None or callable(map_location) or isinstance(map_location, (dict, str, _device.Device))):
        raise TypeError(f"torch.load: map_location must be a callable, a dict, a str or a torch.device, got "
                        f"{type(map_location).__name__}")

    def build(tag: str, a: numpy.ndarray) -> Any:
        kind, _, saved = tag.partition(":")
        return _restore(a, saved or "cpu", map_location) if kind == "tensor" else a
    obj, _ = _ckpt.load_tree(f, build)
    return obj


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
