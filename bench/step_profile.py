"""Where a seed-CNN training step's time goes (Adam, one thread by default): per planned step of the static
session, per phase and per layer of the eager step, and optionally a cProfile of either.

    OMP_NUM_THREADS=1 PYTHONPATH=. python bench/step_profile.py [--data-dir DIR] [--batch 1] [--steps 500]
        [--cprofile static|eager]

Each planned step of the optimized static Program is timed by wrapping its writer (or, for a step the memory
plan leaves unplanned, its primitive's ``forward``) in the session's already-built plan, so the executor that
runs is the real one; the table gives the median microseconds of each step, their sum, and the median of the
whole ``Session.run``.  The eager step is timed per phase (zero_grad, forward by layer, loss, backward,
optimizer step).  Data: real MNIST batches (``--data-dir``, else ``$DUALFLOW_DATA``, else the shared MNIST next to
the checkout); the numbers are this machine's, to compare against each other, not a result to commit.
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import sys
import time
from typing import Any, Callable

import numpy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARM = 20       # steps run before any is timed (plans, caches, workspaces)


def _timed(fn: Callable, sink: list) -> Callable:
    def run(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            sink.append(time.perf_counter() - t)
    return run


class _TimedOp:
    """A primitive whose ``forward`` is timed; everything else is the primitive's own."""

    def __init__(self, op: Any, sink: list) -> None:
        self._op, self.forward = op, _timed(op.forward, sink)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._op, name)


def profile_static(model: Any, batches: list) -> None:
    from core import lowering
    for x, y in batches[:WARM]:         # the first runs build the plan
        model.step(x, y)
    program = model.training_program()
    entry = next(e for e in model.sess._executor._plans.values() if e.program is program)
    times: dict = collections.OrderedDict()
    steps = []
    for i, (ins, write, out, node, op, release) in enumerate(entry.steps):
        sink = times.setdefault((i, op.name, write is not None), [])
        if write is not None:
            write = _timed(write, sink)
        elif not lowering.view_like(op):   # a view the generated function makes once (kept so: not timed)
            op = _TimedOp(op, sink)
        steps.append((ins, write, out, node, op, release))
    entry.steps = steps
    entry.straight = None       # the generated step function is rebuilt from the timed steps
    total = []
    for x, y in batches[WARM:]:
        t = time.perf_counter()
        model.loss_value(model.step(x, y))
        total.append(time.perf_counter() - t)
    print("static (optimized, planned) per step, median us  [W: writes into the plan's buffer]")
    s = 0.0
    for (i, name, planned), v in times.items():
        if not v:
            print(f"  {i:3d} {name[:60]:60s}   made once")
            continue
        med = float(numpy.median(v)) * 1e6
        s += med
        print(f"  {i:3d} {name[:60]:60s} {'W' if planned else ' '} {med:8.1f}")
    print(f"  sum of step medians {s:.1f} us; Session.run median {numpy.median(total) * 1e6:.1f} us")


def profile_eager(model: Any, batches: list) -> None:
    t = model.torch
    phases: dict = collections.OrderedDict((k, []) for k in ("zero_grad", "input"))
    for n, _ in model.model.named_children():
        phases[n] = []
    for k in ("loss", "backward", "optimizer", "item"):
        phases[k] = []
    pc = time.perf_counter
    for j, (x, y) in enumerate(batches):
        mark = [pc()]

        def lap(key: str) -> None:
            now = pc()
            if j >= WARM:
                phases[key].append(now - mark[0])
            mark[0] = now
        model.opt.zero_grad()
        lap("zero_grad")
        h, target = t.tensor(x), t.tensor(y)
        lap("input")
        for n, mod in model.model.named_children():
            h = mod(h)
            lap(n)
        loss = model.loss_fn(h, target)
        lap("loss")
        loss.backward()
        lap("backward")
        model.opt.step()
        lap("optimizer")
        loss.item()
        lap("item")
    print("eager per phase, median us")
    for k, v in phases.items():
        print(f"  {k:12s} {numpy.median(v) * 1e6:8.1f}")
    print(f"  sum of phase medians {sum(numpy.median(v) for v in phases.values()) * 1e6:.1f} us")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--cprofile", choices=("static", "eager"), default=None,
                   help="instead of the tables, print a cProfile of that frontend's steps (sorted by own time)")
    args = p.parse_args(argv)
    from core import datasets
    from dualflow import models
    shared = os.path.join(ROOT, "..", "shared", "data", "mnist")
    data_dir = args.data_dir or os.environ.get("DUALFLOW_DATA") or shared
    if not os.path.isdir(data_dir):
        raise SystemExit(f"step_profile: {data_dir}: no such folder (give --data-dir with MNIST IDX files)")
    data = datasets.load(data_dir)
    in_hw = data.images.shape[2:]
    weights = models.init_weights(in_hw, data.num_classes, 0)
    order = numpy.random.default_rng(0).permutation(len(data.labels))
    # cycling, real batches: WARM warm-up steps, then --steps measured ones
    starts = [(i * args.batch) % (len(order) - args.batch) for i in range(WARM + args.steps)]
    batches = [(data.images[order[s:s + args.batch]], data.labels[order[s:s + args.batch]]) for s in starts]
    static = models.Static(weights, 1e-3, in_hw, "adam")
    eager = models.Eager(weights, 1e-3, in_hw, "adam")
    if args.cprofile:
        model = static if args.cprofile == "static" else eager
        for x, y in batches[:WARM]:
            model.loss_value(model.step(x, y))
        prof = cProfile.Profile()
        prof.enable()
        for x, y in batches[WARM:]:
            model.loss_value(model.step(x, y))
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(40)
        return 0
    profile_static(static, batches)
    profile_eager(eager, batches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
