"""Run with ``mpiexec -n 2``: rank 1 raises while rank 0 waits in a collective; the job must end."""
import eager_api as torch
import eager_api.distributed as dist

dist.init_process_group("gloo")
if dist.get_rank() == 1:
    raise ValueError("rank 1 fails on purpose")
dist.all_reduce(torch.ones(3))       # would wait forever for rank 1
dist.barrier()
print("rank 0 was never released", flush=True)
