"""The static compiler on the CPU: one seed-CNN training step (Adam) per column, side by side in one process.

    python bench/compiler_bench.py [--data-dir DIR] [--batches 1,32,128] [--threads 1,2] [--out table.md]

Columns: dualflow static without optimization, static optimized (passes + memory plan), eager, TensorFlow
2.x in TF1 mode (``tf.compat.v1`` graph and Session) and PyTorch CPU, all from the same initial weights,
each step on the next real MNIST batch (cycling through a shuffled order: one fixed batch overfits and ends
up timing the CPU's denormal slow path).  Data: ``--data-dir``, else ``$DUALFLOW_DATA``, else
``../shared/data/mnist`` next to the checkout; without MNIST the run stops with the reason, unless
``--allow-digits`` (scikit-learn's bundled 8x8 digits: other shapes, so other numbers).

Each thread count runs in a fresh process (OpenBLAS and OpenMP read their thread counts at import), with
``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/``MKL_NUM_THREADS`` set and PyTorch and TensorFlow told the same.
Columns are interleaved round by round (a block of steps each, the first of a block, on caches the previous
framework filled, not timed), so machine noise hits them alike; the table gives the median step
time in ms, its ratio to TF1, for the static columns the Program's steps and allocations per step
(``backend.allocations``: results the memory plan could not place), the plan's arena next to the bytes the
same Program's values take run op by op, and for static and eager the peak NumPy memory a step takes above
what was live before it (tracemalloc: PyTorch and TensorFlow allocate outside its view).  Peers that are not installed are left out, with a note.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import subprocess
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
COLUMNS = ("static-unoptimized", "static", "eager", "tf1", "pytorch")
BLOCK = 8       # timed steps a column runs in a row
PEER_MODULES = {"tf1": "tensorflow", "pytorch": "torch"}


def _data_dir(arg: str | None) -> str | None:
    """--data-dir, else $DUALFLOW_DATA (either must exist), else the shared MNIST next to the checkout."""
    for given, origin in ((arg, "--data-dir"), (os.environ.get("DUALFLOW_DATA"), "DUALFLOW_DATA")):
        if given:
            if not os.path.isdir(given):
                raise SystemExit(f"compiler_bench: {origin} {given}: no such folder")
            return given
    shared = os.path.join(ROOT, "..", "shared", "data", "mnist")
    return shared if os.path.isdir(shared) else None


def _make(column: str, weights: dict, in_hw: tuple, threads: int):
    from dualflow import models
    lr = 1e-3
    if column == "static":
        return models.Static(weights, lr, in_hw, "adam")
    if column == "static-unoptimized":
        return models.StaticUnoptimized(weights, lr, in_hw, "adam")
    if column == "eager":
        return models.Eager(weights, lr, in_hw, "adam")
    if column == "tf1":
        return models.TF1Peer(weights, lr, in_hw, "adam", threads)
    import torch
    torch.set_num_threads(threads)
    return models.TorchPeer(weights, lr, in_hw, "adam")


def _stats(model, x, y) -> dict:
    """A warmed-up step's NumPy peak above what was live before it; for the static columns also the
    Program's steps, and for the optimized one allocations per step and the plan's bytes."""
    from core.program import key
    sess = getattr(model, "sess", None)
    planned = getattr(model, "optimize", False)
    if planned:
        sess._executor.audit = True     # count the unplanned results too
    model.step(x, y)
    model.step(x, y)
    be = sess._be if sess is not None else None
    before = be.allocations if be is not None else 0
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = tracemalloc.get_traced_memory()[0]
    model.step(x, y)
    peak = tracemalloc.get_traced_memory()[1] - start
    tracemalloc.stop()
    out = {"numpy_peak_mib": peak / 2**20}
    if sess is not None:
        out["program_steps"] = model.program_steps()
    if planned:
        program = model.training_program()
        plan = sess._executor.plan_of(program, {key(model.x): x, key(model.y): y})
        out.update(allocs_per_step=be.allocations - before, arena_mib=plan.arena_bytes / 2**20,
                   unplanned_peak_mib=plan.unplanned_peak_bytes / 2**20, unlowered=plan.unlowered(program))
    return out


def worker(args: argparse.Namespace) -> dict:
    """One thread count: every batch size, every column, interleaved; returns the measurements."""
    import numpy
    from core import datasets
    from dualflow import models
    data = datasets.load(args.data_dir)
    in_hw = data.images.shape[2:]
    weights = models.init_weights(in_hw, data.num_classes, 0)
    columns = [c for c in COLUMNS if c not in PEER_MODULES or importlib.util.find_spec(PEER_MODULES[c])]
    result = {"threads": args.threads, "data": data.name, "columns": columns, "batches": {}}
    rng = numpy.random.default_rng(0)
    for batch in args.batches:
        models_ = {c: _make(c, weights, in_hw, args.threads) for c in columns}
        order = rng.permutation(len(data.labels))
        cursor = [0]

        def next_batch():
            if cursor[0] + batch > len(order):
                cursor[0] = 0
            idx = order[cursor[0]:cursor[0] + batch]
            cursor[0] += batch
            return data.images[idx], data.labels[idx]

        times: dict = {c: [] for c in columns}
        for _ in range(args.warmup):
            x, y = next_batch()
            for c in columns:
                models_[c].loss_value(models_[c].step(x, y))
        steps = max(args.min_steps, int(args.budget_s / max(1, len(columns)) / (0.0005 * batch + 0.002)))
        # Rounds of BLOCK steps per column on the same batches: noise still hits the columns alike, and a
        # framework runs with its own data in cache, as it would alone.  The first step of each block runs
        # on caches another framework just filled (at batch 128 that cost dualflow's static step 7 ms of
        # 28, TF1's 3 of 24) and is left out.
        for _ in range(max(1, steps // BLOCK)):
            batches = [next_batch() for _ in range(BLOCK + 1)]
            for c in columns:
                for j, (x, y) in enumerate(batches):
                    t = time.perf_counter()
                    models_[c].loss_value(models_[c].step(x, y))    # the loss on the host: the step is done
                    if j:
                        times[c].append(time.perf_counter() - t)
        x, y = next_batch()
        stats = {c: _stats(models_[c], x, y) for c in ("static-unoptimized", "static", "eager")}
        result["batches"][batch] = {"median_ms": {c: float(numpy.median(times[c]) * 1e3) for c in columns},
                                    "min_ms": {c: float(numpy.min(times[c]) * 1e3) for c in columns},
                                    "steps": steps, "static": stats}
    return result


def table(results: list[dict]) -> str:
    cols = results[0]["columns"]
    lines = [f"# Seed-CNN training step (Adam) on the CPU, {datetime.date.today()}", "",
             f"data: {results[0]['data']}; median ms per step (ratio to TF1 where it ran); interleaved columns", ""]
    head = "| threads | batch | " + " | ".join(cols) + " | steps built -> run | allocs/step | arena / unplanned MiB " \
           "| NumPy step peak MiB (unopt / opt / eager) |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        for batch, b in r["batches"].items():
            med = b["median_ms"]
            tf1 = med.get("tf1")
            cells = [f"{med[c]:.2f}" + (f" ({med[c] / tf1:.2f}x)" if tf1 and c != "tf1" else "") for c in cols]
            so, su, ea = (b["static"].get(c, {}) for c in ("static", "static-unoptimized", "eager"))
            lines.append(f"| {r['threads']} | {batch} | " + " | ".join(cells) +
                         f" | {su.get('program_steps', '?')} -> {so.get('program_steps', '?')} | {so.get('allocs_per_step', '?')}"
                         f" | {so.get('arena_mib', 0):.2f} / {so.get('unplanned_peak_mib', 0):.2f}"
                         f" | {su.get('numpy_peak_mib', 0):.2f} / {so.get('numpy_peak_mib', 0):.2f}"
                         f" / {ea.get('numpy_peak_mib', 0):.2f} |")
    so = results[0]["batches"][next(iter(results[0]["batches"]))]["static"].get("static", {})
    lines += ["", "Ops without a writer under the plan (views and variable reads among them allocate nothing): "
              + ", ".join(so.get("unlowered", [])) + ".",
              "Missing peers: " + (", ".join(c for c in COLUMNS if c not in cols) or "none") + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--allow-digits", action="store_true", help="without MNIST, use the bundled 8x8 digits")
    p.add_argument("--batches", default="1,32,128")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--min-steps", type=int, default=10)
    p.add_argument("--budget-s", type=float, default=20.0, help="rough timed seconds per batch size")
    p.add_argument("--out", default=None, help="also write the markdown table here")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.batches = [int(b) for b in str(args.batches).split(",")]
    if args.worker:
        args.threads = int(args.threads)
        print(json.dumps(worker(args)))
        return 0
    data_dir = _data_dir(args.data_dir)
    if data_dir is None and not args.allow_digits:
        print("compiler_bench: skipped: no MNIST found (--data-dir, $DUALFLOW_DATA or ../shared/data/mnist); "
              "pass --allow-digits to time on the bundled 8x8 digits instead", file=sys.stderr)
        return 0
    results = []
    for n in [int(t) for t in args.threads.split(",")]:
        env = dict(os.environ, OMP_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n), MKL_NUM_THREADS=str(n),
                   PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), TF_CPP_MIN_LOG_LEVEL="2")
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--threads", str(n),
               "--batches", ",".join(map(str, args.batches)), "--warmup", str(args.warmup),
               "--min-steps", str(args.min_steps), "--budget-s", str(args.budget_s)]
        if data_dir:
            cmd += ["--data-dir", data_dir]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if out.returncode:
            print(out.stderr, file=sys.stderr)
            return out.returncode
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    text = table(results)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
