"""Run with ``mpiexec -n 2``: DDP on 2 ranks with global batch B against 1 process with batch B.

Each rank starts from a different random model (DDP must broadcast rank 0's), takes its half of every global
batch, and after 20 steps must hold the weights that one process reaches with the whole batch (rank 0's
initial model), for SGD with momentum and for Adam.  Also: buckets start during backward, and ``no_sync``
accumulation averages the summed gradient.
"""
import sys

import numpy

import eager_api as torch
import eager_api.distributed as dist
from eager_api import nn

B, STEPS, N = 16, 20, 64


def make_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 2 * 2, 10))


def make_opt(name: str, params):
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.1, momentum=0.9)
    return torch.optim.Adam(params, lr=0.01)


def train(model, opt, x, y, rows) -> None:
    loss_fn = nn.CrossEntropyLoss()
    for step in range(STEPS):
        batch = numpy.arange(step * B, step * B + B) % N
        mine = batch[rows]
        opt.zero_grad()
        loss_fn(model(torch.tensor(x[mine])), torch.tensor(y[mine])).backward()
        opt.step()


def main() -> None:
    dist.init_process_group("gloo")
    rank, size = dist.get_rank(), dist.get_world_size()
    assert size == 2, size
    data = numpy.random.default_rng(0)
    x = data.standard_normal((N, 1, 8, 8)).astype(numpy.float32)
    y = data.integers(0, 10, N)
    half = B // size
    rows = slice(rank * half, (rank + 1) * half)
    for name in ("sgd", "adam"):
        model = make_model(100 + rank)            # differs per rank until DDP broadcasts rank 0's
        ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.001)
        ref = make_model(100)                     # one process, from rank 0's initial weights
        train(ref, make_opt(name, ref.parameters()), x, y, slice(0, B))
        train(ddp, make_opt(name, ddp.parameters()), x, y, rows)
        worst = max(float(numpy.abs(a.detach().numpy() - b.detach().numpy()).max())
                    for a, b in zip(ref.parameters(), model.parameters()))
        print(f"rank {rank} {name}: max |ddp - single| = {worst:.2e}", flush=True)
        for (n, a), b in zip(ref.named_parameters(), model.parameters()):
            numpy.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-4, atol=1e-5,
                                          err_msg=f"{name}: {n}")

    # Buckets start during the pass: when the first layer's weight (whose gradient comes last) is ready,
    # the later layers' buckets are already in flight.
    model = make_model(1)
    seen = []
    model[0].weight.register_post_accumulate_grad_hook(lambda p: seen.append(len(ddp._reducer._handles)))
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.0001)
    assert len(ddp._reducer.buckets) > 2, ddp._reducer.buckets
    nn.CrossEntropyLoss()(ddp(torch.tensor(x[:4])), torch.tensor(y[:4])).backward()
    assert seen and seen[-1] >= 1, seen

    # no_sync: two local micro-batches accumulate, the synced one averages the sum over ranks.
    model = make_model(2)
    ddp = nn.parallel.DistributedDataParallel(model)
    loss_fn = nn.CrossEntropyLoss()
    with ddp.no_sync():
        loss_fn(ddp(torch.tensor(x[rank * 4:rank * 4 + 4])), torch.tensor(y[rank * 4:rank * 4 + 4])).backward()
    own = make_model(2)
    loss_fn(own(torch.tensor(x[rank * 4:rank * 4 + 4])), torch.tensor(y[rank * 4:rank * 4 + 4])).backward()
    for a, b in zip(own.parameters(), model.parameters()):       # inside no_sync: local gradients only
        numpy.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-5, atol=1e-7)
    loss_fn(ddp(torch.tensor(x[8 + rank * 4:12 + rank * 4])), torch.tensor(y[8 + rank * 4:12 + rank * 4])).backward()
    ref = make_model(2)
    for lo in (0, 4, 8, 12):
        loss_fn(ref(torch.tensor(x[lo:lo + 4])), torch.tensor(y[lo:lo + 4])).backward()
    for a, b in zip(ref.parameters(), model.parameters()):
        numpy.testing.assert_allclose(b.grad.numpy(), a.grad.numpy() / 2, rtol=1e-4, atol=1e-6)
    dist.destroy_process_group()
    print(f"PASS rank {rank}", flush=True)


if __name__ == "__main__":
    main()
    sys.exit(0)
