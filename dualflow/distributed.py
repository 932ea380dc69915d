"""Data-parallel runs of the main job: ``dualflow ... --nproc N`` or ``mpiexec -n N dualflow ...``.

``--nproc N`` starts ``mpiexec -n N`` (the one beside this Python, as the ``mpich`` wheel installs it, else the
one on PATH) on the same interpreter with the same arguments.  Inside the job every rank builds the same model
from the same seed; the static frontend averages gradients with ``static_api.distribute.DistributedOptimizer``
(an AllReduce node in its graph), the eager one with ``DistributedDataParallel``.  ``--batch-size`` stays the
global batch: each rank trains on its slice of every batch, so the loss curve is the one-process curve up to
float32 reassociation (the logged loss is the average of the ranks' losses, i.e. the global batch's loss).

Only rank 0 prints and writes; the others' stdout goes to /dev/null.  Throughput: a step's time is the
slowest rank's, images/s counts the global batch, and the scaling efficiency is strong scaling against a
one-process baseline measured in the same run: after each frontend's N-process run, rank 0 trains that
frontend alone with the whole batch for ``BASELINE_STEPS`` steps (the other ranks sleep meanwhile), and
efficiency = (N-process images/s) / (N x baseline images/s).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from typing import Any, Callable, Sequence

import numpy

from dualflow import models

BASELINE_STEPS = 30
# Environment variables with which launchers announce the job's size (MPICH/Intel MPI, Open MPI, Slurm).
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS")

# Table rows (label, JSON key, format) that a data-parallel run adds to the compare table.
ROWS = [("processes", "processes", "{:d}"), ("images/s per process", "images_per_s_per_process", "{:.0f}"),
        ("1-process images/s (baseline)", "baseline_images_per_s", "{:.0f}"),
        ("scaling efficiency", "scaling_efficiency", "{:.2f}")]
NOTE = (f"(data-parallel: images/s counts the global batch at the slowest rank's median step time; baseline: rank "
        f"0 alone, whole batch, {BASELINE_STEPS} steps or fewer; efficiency = images/s / (processes x baseline))")


def launched_size() -> int:
    """How many processes the surrounding MPI launcher started (1 outside one)."""
    for var in _SIZE_VARS:
        value = os.environ.get(var, "")
        if value.isdigit():
            return int(value)
    return 1


def mpiexec() -> str | None:
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside if os.path.exists(beside) else shutil.which("mpiexec")


def check(nproc: int, batch_size: int, peers: bool) -> None:
    """Refuse settings a data-parallel run cannot honour (ValueError, shown as ``dualflow: error:``)."""
    if nproc == 1:
        return
    if batch_size % nproc:
        raise ValueError(f"--batch-size {batch_size} does not split evenly over {nproc} processes (each trains on "
                         f"an equal slice of every batch); use a multiple of {nproc}")
    if peers:
        raise ValueError("--peers with more than one process is not supported: the PyTorch and TensorFlow columns "
                         "train in one process")


def launcher(nproc: int) -> str:
    """The ``mpiexec`` that ``--nproc`` runs, or a ValueError saying what is missing."""
    from core import comm
    reason = comm.mpi_unavailable_reason()
    exe = mpiexec()
    if reason or exe is None:
        raise ValueError(f"--nproc {nproc} needs MPI: {reason or 'no mpiexec beside Python or on PATH'} "
                         "(pip install 'dualflow[dist]' brings mpi4py and mpich)")
    return exe


def launch(exe: str, argv: Sequence[str], nproc: int, out: str) -> int:
    """Run this command under ``exe -n nproc`` (see ``launcher``); its exit status (130 after Ctrl-C).  The ranks
    get the same arguments (their ``--nproc`` matches the job's size, so they do not launch again) and the run
    folder the launcher resolved, appended last so that it wins."""
    proc = subprocess.Popen([exe, "-n", str(nproc), sys.executable, "-m", "dualflow", *argv, "--out", out])
    try:
        return proc.wait()
    except KeyboardInterrupt:           # mpiexec got the same Ctrl-C and passes it to the ranks
        proc.wait()
        return 130


def must_launch(nproc: int) -> bool:
    """Whether ``--nproc nproc`` asks this process to start the job (True) or it is one of the job's ranks."""
    size = launched_size()
    if size == 1:
        return nproc > 1
    if nproc not in (1, size):
        raise ValueError(f"--nproc {nproc}: this process is already one of an MPI job of {size} processes; drop "
                         "--nproc or match it")
    return False


class Job:
    """This process's place in a data-parallel run."""

    def __init__(self) -> None:
        import static_api.distribute as hvd
        hvd.init()
        from core import comm
        self.world = comm.world()
        self.rank, self.size = self.world.rank, self.world.size
        spec = os.environ.get("DUALFLOW_DEVICE", "").strip().lower()
        if self.world.kind == "nccl" and spec in ("", "auto", "cuda", "gpu"):
            # One GPU per process, the one NCCL drives (local rank modulo the GPUs), as Horovod's recipe sets it;
            # an explicit cuda:N is left as the user gave it.
            os.environ["DUALFLOW_DEVICE"] = f"cuda:{self.world.device_index}"
        if self.rank:       # only rank 0 prints (errors still reach stderr from every rank)
            sys.stdout = open(os.devnull, "w")

    @property
    def writes(self) -> bool:
        return self.rank == 0

    def model_class(self, frontend: str) -> type:
        return {"static": DataParallelStatic, "static-unoptimized": DataParallelStaticUnoptimized,
                "eager": DataParallelEager}[frontend]

    def shard(self, idx: numpy.ndarray) -> numpy.ndarray:
        """This rank's slice of a global batch."""
        n = len(idx) // self.size
        return idx[self.rank * n:(self.rank + 1) * n]

    def mean(self, value: float) -> float:
        """The average over the ranks of a host number (over MPI, whichever backend moves the gradients)."""
        return self.world.host_mean(float(value))

    def slowest(self, times: Sequence[float]) -> list[float]:
        """Each step's time on the slowest rank (the step is done when every rank is)."""
        every = self.world.mpi_comm.allgather(list(times))
        return [float(t) for t in numpy.max(numpy.array(every), axis=0)]

    def on_rank0(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` run by rank 0 alone, its result given to every rank; the others sleep meanwhile (an MPI
        barrier would spin and steal the CPU that rank 0 is measured on)."""
        result = fn() if self.rank == 0 else None
        req = self.world.mpi_comm.Ibarrier()
        while not req.Test():
            time.sleep(0.005)
        return self.world.mpi_comm.bcast(result, root=0)

    def figures(self, batch_size: int, median_step_s: float, baseline_median_s: float, baseline_steps: int) -> dict:
        img_s = batch_size / median_step_s
        base = batch_size / baseline_median_s
        return {"processes": self.size, "images_per_s_per_process": img_s / self.size,
                "baseline_images_per_s": base, "baseline_steps": baseline_steps, "speedup": img_s / base,
                "scaling_efficiency": img_s / (self.size * base)}

    def fail(self, status: int) -> None:
        """End every rank after an error that only some ranks may have met (the others could be waiting in a
        collective for this one)."""
        sys.stdout.flush()
        sys.stderr.flush()
        if self.size > 1:
            self.world.mpi_comm.Abort(status)


_job: list[Job] = []


def setup() -> Job | None:
    """Join the MPI job this process belongs to, if it is one of several; None otherwise."""
    if launched_size() < 2:
        return None
    if not _job:
        _job.append(Job())
    return _job[0]


class DataParallelStatic(models.Static):
    """The static seed CNN with Horovod's recipe: a DistributedOptimizer and rank 0's initial values."""

    def __init__(self, weights: dict, lr: float, in_hw: tuple[int, int]) -> None:
        import static_api.distribute as hvd
        super().__init__(weights, lr, in_hw)
        with self.graph.as_default():
            self.sess.run(hvd.broadcast_global_variables(0))

    def optimizer(self, lr: float, optimizer: str = "momentum") -> Any:
        import static_api.distribute as hvd
        return hvd.DistributedOptimizer(super().optimizer(lr, optimizer))


class DataParallelStaticUnoptimized(DataParallelStatic):
    """The data-parallel static seed CNN with graph optimization off (the compare job's third column)."""

    optimize = False


class DataParallelEager(models.Eager):
    """The eager seed CNN trained through DistributedDataParallel (which starts from rank 0's parameters)."""

    def __init__(self, weights: dict, lr: float, in_hw: tuple[int, int]) -> None:
        super().__init__(weights, lr, in_hw)
        from eager_api.nn.parallel import DistributedDataParallel
        self.train_model = DistributedDataParallel(self.model)
