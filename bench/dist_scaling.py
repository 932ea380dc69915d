"""Data-parallel scaling on this machine's CPUs: images/s of the seed CNN at 1 and N processes (1 BLAS thread
each), and the time each step spends in gradient all-reduce.  Prints a markdown table and writes it to --out.

    PYTHONPATH=. python bench/dist_scaling.py [--nproc 2] [--batch 32] [--steps 40] [--rounds 3] [--out FILE]

Weak scaling, as Horovod reports it: every process keeps ``--batch`` images per step, so N processes train a
global batch of N x batch; efficiency = images/s at N / (N x images/s at 1).  The 1- and N-process runs
alternate ``--rounds`` times and the median round of each counts (the machine may be shared: the median
is robust to one disturbed round).  One process runs without MPI (the plain models); N processes run under ``mpiexec``
with the data-parallel models of ``dualflow.distributed`` (static: one fused AllReduce node per step; eager:
DDP's buckets).  All-reduce time per step: time inside ``Communicator.allreduce`` (start + wait; waiting for a
slower rank counts, as in a Horovod timeline), averaged over the ranks; "gradient all-reduce alone": a
standalone all-reduce of a buffer of the gradients' size, timed in the same processes.  Inputs are random
28x28 images (throughput does not depend on their values).  Numbers are not committed: the lead runs this on a
quiet machine.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _timed_allreduce(world) -> list:
    """Make ``world.allreduce`` add the seconds spent in it (start and wait) to the returned counter."""
    from core import comm
    spent = [0.0]
    plain = world.allreduce

    def allreduce(x, op="sum", async_op=False):
        t = time.perf_counter()
        handle = plain(x, op, async_op=True)
        spent[0] += time.perf_counter() - t

        def finish():
            t = time.perf_counter()
            out = handle.wait()
            spent[0] += time.perf_counter() - t
            return out
        h = comm.Handle(finish)
        return h if async_op else h.wait()
    world.allreduce = allreduce
    return spent


def worker(args: argparse.Namespace) -> None:
    """One process of a measurement: train each frontend for warm-up + ``steps`` steps; rank 0 writes JSON."""
    from dualflow import distributed, models
    job = distributed.setup()
    size = 1 if job is None else job.size
    spent = [0.0] if job is None else _timed_allreduce(job.world)
    hw = (args.hw, args.hw)
    weights = models.init_weights(hw, 10, 0)
    grad_floats = sum(int(w.size) for w in weights.values())
    rng = numpy.random.default_rng(1 + (0 if job is None else job.rank))
    x = rng.standard_normal((args.batch, 1) + hw).astype(numpy.float32)
    y = rng.integers(0, 10, args.batch)
    out = {"processes": size, "batch_per_process": args.batch, "hw": args.hw, "gradient_floats": grad_floats,
           "frontends": {}}
    for fe in ("static", "eager"):
        cls = models.FRONTENDS[fe] if job is None else job.model_class(fe)
        model = cls(weights, 0.01, hw)
        times = []
        for i in range(args.warmup + args.steps):
            if i == args.warmup:
                spent[0] = 0.0
            t = time.perf_counter()
            model.loss_value(model.step(x, y))
            times.append(time.perf_counter() - t)
        times = times[args.warmup:]
        if job is not None:
            times = job.slowest(times)
            reduce_s = job.mean(spent[0]) / args.steps
        else:
            reduce_s = 0.0
        med = float(numpy.median(times))
        out["frontends"][fe] = {"median_step_ms": med * 1e3, "images_per_s": size * args.batch / med,
                                "allreduce_ms_per_step": reduce_s * 1e3, "allreduce_share": reduce_s / med}
    if job is not None:       # the pure communication cost of one step's gradients
        buf = numpy.ones(grad_floats, numpy.float32)
        for _ in range(5):
            job.world.allreduce(buf, "avg")
        t = time.perf_counter()
        for _ in range(args.steps):
            job.world.allreduce(buf, "avg")
        out["gradient_allreduce_alone_ms"] = job.mean(time.perf_counter() - t) / args.steps * 1e3
    if job is None or job.writes:
        with open(args.json, "w") as f:
            json.dump(out, f)


def measure(nproc: int, args: argparse.Namespace) -> dict:
    env = dict(os.environ, **THREADS, DUALFLOW_DEVICE="cpu", DUALFLOW_DIST="mpi",
               PYTHONPATH=os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "result.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--json", path, "--batch", str(args.batch),
               "--steps", str(args.steps), "--warmup", str(args.warmup), "--hw", str(args.hw)]
        if nproc > 1:
            from dualflow import distributed
            cmd = [distributed.launcher(nproc), "-n", str(nproc)] + cmd
        subprocess.run(cmd, env=env, check=True, timeout=600)
        with open(path) as f:
            return json.load(f)


def table(one: dict, many: dict) -> str:
    n = many["processes"]
    lines = [f"Seed CNN, random {one['hw']}x{one['hw']} images, {one['batch_per_process']} images per process per "
             f"step, CPU, 1 BLAS thread per process; gradients: {one['gradient_floats']:,} float32 "
             f"({one['gradient_floats'] * 4 / 1024:.0f} KiB); gradient all-reduce alone over {n} processes: "
             f"{many['gradient_allreduce_alone_ms']:.3f} ms", "",
             "| frontend | processes | median step (ms) | images/s | images/s per process | scaling efficiency | "
             "all-reduce (ms/step) | all-reduce share |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for fe in ("static", "eager"):
        a, b = one["frontends"][fe], many["frontends"][fe]
        lines.append(f"| {fe} | 1 | {a['median_step_ms']:.2f} | {a['images_per_s']:.0f} | {a['images_per_s']:.0f} | "
                     "1 | - | - |")
        lines.append(f"| {fe} | {n} | {b['median_step_ms']:.2f} | {b['images_per_s']:.0f} | "
                     f"{b['images_per_s'] / n:.0f} | {b['images_per_s'] / (n * a['images_per_s']):.2f} | "
                     f"{b['allreduce_ms_per_step']:.3f} | {b['allreduce_share']:.1%} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nproc", type=int, default=2)
    p.add_argument("--batch", type=int, default=32, help="images per process per step (default: %(default)s)")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3, help="alternating 1- and N-process runs; the median counts")
    p.add_argument("--hw", type=int, default=28, help="image height and width (default: %(default)s)")
    p.add_argument("--out", default=None, help="markdown file (default: bench/results/<date>-cpu-dist.md, or $OUT)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--json", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    runs: dict = {1: [], args.nproc: []}
    for _ in range(args.rounds):
        for n in (1, args.nproc):
            runs[n].append(measure(n, args))

    def median(rs: list) -> dict:
        # Per frontend, the round with the median images/s (its all-reduce numbers with it); the standalone
        # all-reduce: the median over rounds.
        out = dict(rs[0], frontends={fe: sorted((r["frontends"][fe] for r in rs),
                                                key=lambda v: v["images_per_s"])[len(rs) // 2]
                                     for fe in rs[0]["frontends"]})
        if "gradient_allreduce_alone_ms" in rs[0]:
            out["gradient_allreduce_alone_ms"] = statistics.median(r["gradient_allreduce_alone_ms"] for r in rs)
        return out
    text = table(median(runs[1]), median(runs[args.nproc]))
    print(text)
    path = args.out or os.path.join(os.environ.get("OUT") or os.path.join(ROOT, "bench", "results"),
                                    f"{datetime.date.today()}-cpu-dist.md")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(f"# Data-parallel scaling (bench/dist_scaling.py, {args.rounds} rounds, median round of each)\n\n" + text)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
