"""``torch.distributed`` for dualflow: the default process group over ``core.comm``.

    >>> import eager_api.distributed as dist           # run under ``mpiexec -n 2``
    >>> dist.init_process_group("gloo")                 # doctest: +SKIP
    >>> t = torch.tensor([float(dist.get_rank() + 1)])  # doctest: +SKIP
    >>> dist.all_reduce(t); t                            # doctest: +SKIP
    tensor([3.])

The processes come from the MPI environment (``mpiexec``/``srun``), not from
``MASTER_ADDR``/``init_method``: the ``gloo`` and ``mpi`` backends map to MPI,
``nccl`` to NCCL.  Collectives write into the given tensors in place, outside
autograd, as c10d's do.
"""
from __future__ import annotations

import enum
from typing import Any, Sequence

from core import comm
from eager_api.autograd import no_grad
from eager_api.tensor import Tensor

_BACKENDS = {"gloo": "mpi", "mpi": "mpi", "nccl": "nccl"}
_name: list[str] = []          # the backend name the group was made with, for get_backend()


class ReduceOp(enum.Enum):
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "prod"
    MIN = "min"
    MAX = "max"


class Backend:
    GLOO, MPI, NCCL = "gloo", "mpi", "nccl"


def is_available() -> bool:
    return True


def is_mpi_available() -> bool:
    return comm.mpi_unavailable_reason() is None


is_gloo_available = is_mpi_available


def is_nccl_available() -> bool:
    from backends import cuda_status
    return is_mpi_available() and cuda_status.unavailable_reason(0) is None


def is_initialized() -> bool:
    return comm.is_initialized()


def init_process_group(backend: str | None = None, init_method: str | None = None, timeout: Any = None,
                       world_size: int = -1, rank: int = -1, store: Any = None, group_name: str = "",
                       **_: Any) -> None:
    """Join the job ``mpiexec`` started; ``world_size``/``rank``, when given, must match what MPI says."""
    if comm.is_initialized():
        raise ValueError("trying to initialize the default process group twice!")
    if backend is not None and str(backend).lower() not in _BACKENDS:
        raise ValueError(f"Invalid backend: '{backend}'; dualflow supports {sorted(_BACKENDS)}")
    kind = None if backend is None else _BACKENDS[str(backend).lower()]
    world = comm.init(kind)
    for arg, value, actual in (("world_size", world_size, world.size), ("rank", rank, world.rank)):
        if value not in (-1, None) and value != actual:
            comm.finalize()
            raise ValueError(f"init_process_group: {arg}={value}, but the MPI environment gives {actual} "
                             "(dualflow takes the processes from mpiexec/srun)")
    _name[:] = [str(backend).lower() if backend is not None else {"mpi": "gloo", "nccl": "nccl"}[world.kind]]


def _world(group: Any = None) -> comm.Communicator:
    if group is not None:
        raise NotImplementedError("process groups other than the default one (group=None) are not supported")
    if not comm.is_initialized():
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return comm.world()


def get_rank(group: Any = None) -> int:
    return _world(group).rank


def get_world_size(group: Any = None) -> int:
    return _world(group).size


def get_backend(group: Any = None) -> str:
    _world(group)
    return _name[0]


def destroy_process_group(group: Any = None) -> None:
    _world(group)
    comm.finalize()
    _name.clear()


class Work:
    """What an ``async_op=True`` collective returns: ``wait()`` writes the result into the tensor(s)."""

    def __init__(self, handle: comm.Handle, store: Any) -> None:
        self._handle, self._store, self._done = handle, store, False

    def wait(self, timeout: Any = None) -> bool:
        if not self._done:
            self._store(self._handle.wait())
            self._done = True
        return True

    def is_completed(self) -> bool:
        return self._done


def _write(t: Tensor, array: Any) -> None:
    with no_grad():
        t.copy_(Tensor._wrap(array, t.shape, t.dtype, t.device))


def _run(handle: comm.Handle, store: Any, async_op: bool) -> Work | None:
    work = Work(handle, store)
    if async_op:
        return work
    work.wait()
    return None


def _check(fn: str, t: Any) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}(): argument 'tensor' must be a Tensor, not {type(t).__name__}")
    return t


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None, async_op: bool = False) -> Any:
    """Reduce ``tensor`` over all ranks, in place."""
    world, t = _world(group), _check("all_reduce", tensor)
    if not isinstance(op, ReduceOp):
        raise TypeError(f"all_reduce(): op must be a ReduceOp, got {op!r}")
    world.check_shapes("all_reduce", [t.array])
    return _run(world.allreduce(t.array, op.value, async_op=True), lambda r: _write(t, r), async_op)


def broadcast(tensor: Tensor, src: int, group: Any = None, async_op: bool = False) -> Any:
    """Rank ``src``'s ``tensor`` into ``tensor`` on every rank."""
    world, t = _world(group), _check("broadcast", tensor)
    world.check_shapes("broadcast", [t.array])
    return _run(world.broadcast(t.array, src, async_op=True), lambda r: _write(t, r), async_op)


def all_gather(tensor_list: Sequence[Tensor], tensor: Tensor, group: Any = None, async_op: bool = False) -> Any:
    """Every rank's ``tensor`` into ``tensor_list[rank]``, in place."""
    world, t = _world(group), _check("all_gather", tensor)
    if len(tensor_list) != world.size:
        raise RuntimeError(f"all_gather: invalid output tensor list (expected length {world.size}, got "
                           f"{len(tensor_list)})")
    for i, out in enumerate(tensor_list):
        if tuple(out.shape) != tuple(t.shape):
            raise RuntimeError(f"all_gather: invalid tensor size at index {i} (expected {tuple(t.shape)}, got "
                               f"{tuple(out.shape)})")
    world.check_shapes("all_gather", [t.array])

    def store(parts: list) -> None:
        for out, part in zip(tensor_list, parts):
            _write(out, part)
    return _run(world.allgather(t.array, async_op=True), store, async_op)


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> None:
    _world(group).barrier()
