"""Run with ``mpiexec -n 2``: torch.distributed collectives against hand values, and shape mismatches."""
import numpy

import eager_api as torch
import eager_api.distributed as dist
from eager_api import nn


def expect_shape_error(fn, *names: str) -> None:
    try:
        fn()
    except ValueError as e:              # ShapeError: ValueError and RuntimeError
        assert isinstance(e, RuntimeError), type(e)
        for n in names:
            assert n in str(e), (n, str(e))
        return
    raise AssertionError("no error for a shape mismatch across ranks")


def main() -> None:
    assert not dist.is_initialized()
    dist.init_process_group(backend="mpi")
    assert dist.is_initialized() and dist.get_backend() == "mpi"
    rank = dist.get_rank()
    assert dist.get_world_size() == 2

    t = torch.tensor([1.0, 2.0]) * (rank + 1)             # rank 0: [1, 2], rank 1: [2, 4]
    assert dist.all_reduce(t) is None
    assert t.tolist() == [3.0, 6.0], t
    t = torch.tensor([1.0, 2.0]) * (rank + 1)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    assert t.tolist() == [1.5, 3.0], t
    t = torch.tensor([5, -1]) * (rank + 1)                 # int64: [5, -1] and [10, -2]
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    assert t.tolist() == [10, -1] and t.dtype == torch.int64, t
    t = torch.tensor([3.0]) + rank
    dist.all_reduce(t, op=dist.ReduceOp.PRODUCT)
    assert t.tolist() == [12.0], t
    t = torch.tensor([[3.0, 4.0]]) + rank
    work = dist.all_reduce(t, op=dist.ReduceOp.MIN, async_op=True)
    work.wait()
    assert t.tolist() == [[3.0, 4.0]] and work.is_completed(), t

    # in place on a leaf that requires grad, outside autograd (as c10d): the version moves on
    p = nn.Parameter(torch.ones(2) * (rank + 1))
    v = p._version
    dist.all_reduce(p)
    assert p.tolist() == [3.0, 3.0] and p.requires_grad and p.is_leaf and p._version > v

    t = torch.tensor([7.0, 8.0]) if rank == 1 else torch.zeros(2)
    dist.broadcast(t, src=1)
    assert t.tolist() == [7.0, 8.0], t

    out = [torch.zeros(3) for _ in range(2)]
    dist.all_gather(out, torch.arange(3.0) + 10 * rank)
    assert [o.tolist() for o in out] == [[0.0, 1.0, 2.0], [10.0, 11.0, 12.0]], out

    # views: a column of a matrix is reduced in place, the rest untouched
    m = torch.ones(2, 2) * (rank + 1)
    dist.all_reduce(m[:, 1])
    assert m.tolist() == [[rank + 1, 3.0], [rank + 1, 3.0]], m

    dist.barrier()

    # mismatches are named, on every rank, instead of hanging or reading garbage
    expect_shape_error(lambda: dist.all_reduce(torch.ones(2 + rank)), "all_reduce", "rank 0 has shape [2]",
                       "rank 1 has shape [3]")
    expect_shape_error(lambda: dist.broadcast(torch.ones(2, 1 + rank), 0), "rank 1 has shape [2, 2]")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4 + rank), nn.ReLU(), nn.Linear(4 + rank, 2))
    expect_shape_error(lambda: nn.parallel.DistributedDataParallel(model), "0.weight", "rank 0 has shape [4, 3]",
                       "rank 1 has shape [5, 3]")

    dist.destroy_process_group()
    assert not dist.is_initialized()
    try:
        dist.get_rank()
    except ValueError as e:
        assert "init_process_group" in str(e)
    else:
        raise AssertionError("get_rank after destroy_process_group did not raise")
    print(f"PASS rank {rank}", flush=True)


if __name__ == "__main__":
    main()
