"""Run with ``mpiexec -n 2`` on a machine with one GPU, ``DUALFLOW_DEVICE=cuda DUALFLOW_DIST=nccl``: two ranks
share the GPU through NCCL, which recent NCCL versions refuse ("Duplicate GPU detected"); the script then
says SKIP.  Where NCCL allows it: hand-valued collectives in both frontends, and the static and eager
data-parallel seed CNN train like one process with the whole batch."""
import sys

import numpy

import static_api as tf
import static_api.distribute as hvd
from core import comm

try:
    hvd.init()
except Exception as exc:           # NCCL's refusal comes from ncclCommInitRank on every rank
    print(f"SKIP rank {comm._mpi().COMM_WORLD.Get_rank()}: NCCL cannot put two ranks on one GPU: {exc}", flush=True)
    sys.exit(0)
assert comm.world().kind == "nccl"
rank = hvd.rank()
with tf.Graph().as_default():
    x = tf.constant(numpy.full(3, rank + 1.0, numpy.float32))
    with tf.Session() as sess:
        assert sess.run(hvd.allreduce(x, op=hvd.Sum)).tolist() == [3.0, 3.0, 3.0]
        assert sess.run(hvd.broadcast(x, 1)).tolist() == [2.0, 2.0, 2.0]

import eager_api as torch                       # noqa: E402
import eager_api.distributed as dist            # noqa: E402

t = torch.tensor([rank + 1.0, 10.0])
dist.all_reduce(t)
assert t.cpu().numpy().tolist() == [3.0, 20.0], t

from core import datasets                       # noqa: E402
from dualflow import cli, distributed           # noqa: E402

data = datasets.load_split(None).train
job = distributed.Job()
for fe in ("static", "eager"):
    got = cli.run(fe, data, 10, 32, 0, job=job)["losses"]
    want = cli.run(fe, data, 10, 32, 0)["losses"]
    numpy.testing.assert_allclose(got, want, rtol=1e-4, err_msg=fe)
hvd.shutdown()
print(f"PASS rank {rank}", file=sys.__stdout__, flush=True)    # Job() silenced rank 1's stdout
