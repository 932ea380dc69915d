"""Data-parallel training for the static frontend, with Horovod's names (``horovod.tensorflow``).

    >>> import static_api as tf
    >>> import static_api.distribute as hvd           # run under ``mpiexec -n 2``
    >>> hvd.init()                                     # doctest: +SKIP
    >>> opt = hvd.DistributedOptimizer(tf.train.MomentumOptimizer(0.01 * hvd.size(), 0.9))   # doctest: +SKIP
    >>> train_op = opt.minimize(loss)                  # gradients averaged by an AllReduce node  # doctest: +SKIP
    >>> sess.run(hvd.broadcast_global_variables(0))    # every rank starts from rank 0's values  # doctest: +SKIP

The processes come from ``mpiexec``/``srun``; the transport is ``core.comm`` (MPI on CPUs, NCCL on GPUs,
``DUALFLOW_DIST`` picks).  Each rank feeds its own shard of every batch.  ``DistributedOptimizer`` adds one
fused ``AllReduce`` node (``core.ops.comm``) between the gradients and ``apply_gradients``, so
``compute_gradients``, ``apply_gradients`` and ``minimize`` all train on the gradient averaged over ranks.
Keras: pass a ``DistributedOptimizer`` to ``model.compile`` and ``callbacks.BroadcastGlobalVariablesCallback(0)``
to ``fit`` (``static_api.distribute.keras`` holds the same names, as ``horovod.tensorflow.keras`` does).
A rank that raises ends the job; tensors whose shapes differ across ranks raise a ``ShapeError`` on every
rank that names them.
"""
from __future__ import annotations

from typing import Any, Sequence

from core import comm
from core.ops import comm as comm_ops
from static_api import ops, train
from static_api.distribute import callbacks
from static_api.distribute.callbacks import BroadcastGlobalVariablesCallback, MetricAverageCallback
from static_api.graph import Tensor, convert_to_tensor, named
from static_api.variables import Variable, global_variables

Average, Sum = "avg", "sum"         # hvd.Average / hvd.Sum: how gradients combine


def init(comm_arg: Any = None) -> None:
    """Join the job ``mpiexec`` started (a world of one without it); calling it again does nothing."""
    if comm_arg is not None:
        raise NotImplementedError("hvd.init(comm=...): sub-communicators are not supported; every process of the "
                                  "MPI job takes part")
    if not comm.is_initialized():
        comm.init()


def is_initialized() -> bool:
    return comm.is_initialized()


def shutdown() -> None:
    """Leave the job (``init`` may be called again afterwards)."""
    if comm.is_initialized():
        comm.finalize()


def _world() -> comm.Communicator:
    if not comm.is_initialized():
        raise ValueError("Horovod has not been initialized; use hvd.init() (static_api.distribute.init()).")
    return comm.world()


def rank() -> int:
    return _world().rank


def size() -> int:
    return _world().size


def local_rank() -> int:
    """This process's index among the processes on its node (pick the GPU with it)."""
    return _world().local_rank


def local_size() -> int:
    return _world().local_size


def _op(op: Any, average: Any) -> str:
    if average is not None:
        if op is not None:
            raise ValueError("The op parameter supersedes average; please provide only one of them.")
        return Average if average else Sum
    op = Average if op is None else op
    if op not in (Average, Sum):
        raise ValueError(f"op must be hvd.Average or hvd.Sum, got {op!r}")
    return op


def allreduce(tensor: Any, average: Any = None, name: str | None = None, op: Any = None, **_: Any) -> Tensor:
    """``tensor`` averaged (or summed, ``op=hvd.Sum``) over the ranks when the graph runs."""
    t = convert_to_tensor(tensor)
    return named(comm_ops.allreduce([t], _op(op, average), [t.op.name]), name)


def broadcast(tensor: Any, root_rank: int, name: str | None = None) -> Tensor:
    """Rank ``root_rank``'s value of ``tensor`` on every rank."""
    t = convert_to_tensor(tensor)
    return named(comm_ops.broadcast([t], root_rank, [t.op.name]), name)


def broadcast_variables(variables: Sequence[Variable], root_rank: int) -> Any:
    """An op that sets ``variables`` to rank ``root_rank``'s values (one fused broadcast, then assignments)."""
    variables = list(variables)
    if not variables:
        return ops.no_op(name="broadcast_variables")
    values = comm_ops.broadcast(variables, root_rank, [v.op.name for v in variables])
    values = values if isinstance(values, tuple) else (values,)
    return ops.group(*[v.assign(b) for v, b in zip(variables, values)], name="broadcast_variables")


def broadcast_global_variables(root_rank: int) -> Any:
    """An op that sets every global variable to rank ``root_rank``'s value; run it once after initializing."""
    return broadcast_variables(global_variables(), root_rank)


def allreduce_gradients(grads_and_vars: Sequence[tuple], op: str = Average) -> list:
    """The pairs with every gradient reduced over the ranks by one fused AllReduce node (None stays None)."""
    pairs = list(grads_and_vars)
    present = [i for i, (g, _) in enumerate(pairs) if g is not None]
    if not present:
        return pairs
    with pairs[present[0]][0].graph.name_scope("DistributedAllreduce"):
        reduced = comm_ops.allreduce([pairs[i][0] for i in present], op, [pairs[i][1].op.name for i in present])
    reduced = reduced if isinstance(reduced, tuple) else (reduced,)
    for i, g in zip(present, reduced):
        pairs[i] = (g, pairs[i][1])
    return pairs


class _Distributed:
    """Mixed in front of an optimizer's own class: its gradients are reduced over the ranks before they are
    applied.  Being an instance of the optimizer's class, it compiles into Keras models, serializes, and takes
    rate changes (``LearningRateScheduler``) as the optimizer itself does."""

    _hvd_op = Average
    _sparse_as_dense = False

    def compute_gradients(self, loss: Tensor, var_list: Sequence[Variable] | None = None, *args: Any,
                          **kwargs: Any) -> list:
        pairs = super().compute_gradients(loss, var_list, *args, **kwargs)
        # Horovod all-gathers a sparse gradient (an embedding's IndexedSlices) and the optimizer steps it as
        # sparse: only the rows looked up on any rank, or each slice squared apart (Keras).  Reduced dense here,
        # it would step as a dense gradient: different numbers, so that is Horovod's sparse_as_dense=True only.
        if not self._sparse_as_dense and self._sparse in ("rows", "squares", "abs"):
            for g, v in pairs:
                if g is not None and ops._slices(g) is not None:
                    raise NotImplementedError(
                        f"DistributedOptimizer: the gradient of '{v.op.name}' is sparse (an embedding lookup's), "
                        f"which Horovod all-gathers and {type(self).__name__} steps row by row; dualflow reduces "
                        "gradients dense only: pass sparse_as_dense=True (Horovod's dense all-reduce)")
        return allreduce_gradients(pairs, self._hvd_op)


_classes: dict[type, type] = {}


def DistributedOptimizer(optimizer: train.Optimizer, name: str | None = None, use_locking: bool = False,
                         device_dense: str = "", device_sparse: str = "", compression: Any = None,
                         sparse_as_dense: bool = False, backward_passes_per_step: int = 1, op: Any = Average,
                         **_: Any) -> train.Optimizer:
    """A copy of ``optimizer`` whose ``compute_gradients`` (and so ``minimize``) averages the gradients over
    the ranks (``op=hvd.Sum``: sums them) with an AllReduce node in the graph.  Works for ``tf.train`` and
    ``keras.optimizers`` objects alike; pass it to ``model.compile`` for Keras."""
    if not isinstance(optimizer, train.Optimizer):
        raise TypeError(f"DistributedOptimizer: argument 'optimizer' expected a tf.train or keras optimizer object, "
                        f"got {type(optimizer).__name__}")
    if isinstance(optimizer, _Distributed):
        raise ValueError("DistributedOptimizer: the optimizer is already distributed (wrapping it twice would "
                         "reduce its gradients twice)")
    if compression is not None:
        raise NotImplementedError("DistributedOptimizer(compression=...): gradient compression is not supported")
    if backward_passes_per_step != 1:
        raise NotImplementedError("DistributedOptimizer(backward_passes_per_step > 1): local gradient "
                                  "accumulation is not supported")
    base = type(optimizer)
    cls = _classes.get(base)
    if cls is None:
        cls = _classes[base] = type(f"Distributed{base.__name__}", (_Distributed, base), {})
    dist = cls.__new__(cls)
    dist.__dict__.update(optimizer.__dict__)
    dist._hvd_op = _op(op, None)
    dist._sparse_as_dense = bool(sparse_as_dense)
    if name is not None:
        dist._name = name
    return dist


__all__ = ["Average", "Sum", "init", "is_initialized", "shutdown", "rank", "size", "local_rank", "local_size",
           "allreduce", "broadcast", "broadcast_variables", "broadcast_global_variables", "allreduce_gradients",
           "DistributedOptimizer", "BroadcastGlobalVariablesCallback", "MetricAverageCallback", "callbacks"]
