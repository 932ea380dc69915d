"""``torch.nn.parallel``: ``DistributedDataParallel`` (one model replica per process, gradients averaged) and
``DataParallel`` (on one device, the wrapped module itself).

    >>> ddp = nn.parallel.DistributedDataParallel(model)     # doctest: +SKIP
    >>> loss_fn(ddp(x_shard), y_shard).backward()            # grads are now the average over ranks
    >>> opt.step()

At construction rank 0's parameters and buffers are broadcast, so every replica
starts equal.  During backward each parameter's gradient, once final, goes into a
bucket (``core.comm.Reducer``); a full bucket's all-reduce starts at once, while
the pass goes on, and the averaged values are written back into ``.grad`` when the
pass ends.  Inside ``no_sync()`` gradients only accumulate locally; the first
backward after it averages the accumulated sum, as PyTorch does.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

from core import comm
from core.op import is_grad_enabled
from eager_api import autograd, distributed
from eager_api.autograd import no_grad
from eager_api.nn.modules import Module
from eager_api.tensor import Tensor

_MB = 1024 * 1024
_FIRST_BUCKET_BYTES = 1 * _MB       # torch.distributed's _DEFAULT_FIRST_BUCKET_BYTES


class DistributedDataParallel(Module):
    """Data parallelism over the default process group (``init_process_group`` first)."""

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group: Any = None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False) -> None:
        super().__init__()
        if find_unused_parameters:
            raise NotImplementedError("DistributedDataParallel(find_unused_parameters=True) is not supported: "
                                      "every parameter must take part in the loss")
        world = distributed._world(process_group)
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        names = [n for n, _ in named]
        self._params = [p for _, p in named]
        world.check_shapes("DistributedDataParallel: the model's parameters", [p.array for p in self._params],
                           names)
        self._sync_from_rank0(world, [p for _, p in module.named_parameters()] + list(module.buffers()))
        cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * _MB)
        object.__setattr__(self, "_world", world)
        object.__setattr__(self, "_reducer", comm.Reducer(world, [p.array for p in self._params], names, cap,
                                                          min(cap, _FIRST_BUCKET_BYTES)))
        object.__setattr__(self, "_armed", False)
        for i, p in enumerate(self._params):
            p.register_post_accumulate_grad_hook(self._ready_hook(i))

    @staticmethod
    def _sync_from_rank0(world: comm.Communicator, tensors: list[Tensor]) -> None:
        if tensors:
            world.check_shapes("DistributedDataParallel: the model's parameters and buffers",
                               [t.array for t in tensors])
        for t in tensors:
            distributed._write(t, world.broadcast(t.array, 0))

    def _ready_hook(self, i: int) -> Any:
        def hook(p: Tensor) -> None:
            if not self._armed:       # a backward not through this wrapper's forward, or inside no_sync()
                return
            if not self._reducer_started:
                object.__setattr__(self, "_reducer_started", True)
                autograd._queue_callback(self._finish)
            self._reducer.ready(i, p.grad.array)
        return hook

    def _finish(self) -> None:
        object.__setattr__(self, "_armed", False)
        averaged = self._reducer.finish()
        for i, g in averaged.items():
            distributed._write(self._params[i].grad, g)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.broadcast_buffers and self.module.training:
            buffers = list(self.module.buffers())
            for b in buffers:
                distributed._write(b, self._world.broadcast(b.array, 0))
        armed = is_grad_enabled() and self.require_backward_grad_sync
        if armed:
            self._reducer.prepare()
        object.__setattr__(self, "_armed", armed)
        object.__setattr__(self, "_reducer_started", False)
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside only accumulate gradients locally; the next synced one averages the sum."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old


__all__ = ["DistributedDataParallel"]


class DataParallel(Module):
    """On one device (or none) PyTorch's DataParallel is the wrapped module: the same outputs, its parameters
    under ``module.`` in the state dict."""

    def __init__(self, module: Module, device_ids: Sequence[Any] | None = None, output_device: Any = None,
                 dim: int = 0) -> None:
        super().__init__()
        self.module = module
        self.device_ids, self.output_device, self.dim = device_ids, output_device, dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)
