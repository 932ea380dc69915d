"""``dualflow``: train the seed CNN, or compare the static and eager frontends side by side.

    dualflow compare                      # both frontends on the bundled digits, table + JSON + PNG
    dualflow train --frontend static --epochs 2 --data-dir ../shared/data/mnist

Frontends and peers are imported where they are used, so the CLI starts fast and the peers stay optional.
Every user mistake ends in ``dualflow: error: ...`` and exit status 2; Ctrl-C in status 130, with the run
folder's JSON marked ``"status": "interrupted"``.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from typing import Any

import numpy

from core import checkpoint, datasets, device
from core.progress import Progress as _Progress     # one copy, shared with Keras fit and the examples
from core.random import seed_everything
from dualflow import distributed, models

SPLIT_HELP = ("A folder with MNIST-style train and t10k files trains on train and holds out t10k; a folder with "
              "only one of them (e.g. the shared MNIST test set) trains on its first 80% and holds out the rest "
              "(t10k: 8,000 / 2,000); so do the bundled digits.")


class UsageError(Exception):
    """A mistake in the command line or its environment, reported as ``dualflow: error: ...`` (status 2)."""


def _batches(n: int, batch_size: int, steps: int, seed: int):
    rng = numpy.random.default_rng(seed)
    order = numpy.empty(0, dtype=numpy.int64)
    for _ in range(steps):
        if len(order) < batch_size:
            order = numpy.concatenate([order, rng.permutation(n)])
        yield order[:batch_size]
        order = order[batch_size:]


def _reset_peak_rss() -> bool:
    """Start a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mib() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def run(frontend: str, data: datasets.ImageDataset, steps: int, batch_size: int, seed: int, lr: float = 0.05,
        progress: bool = False, job: distributed.Job | None = None) -> dict:
    """Train ``frontend`` (a frontend or peer name) for ``steps`` steps from the seeded initial weights; with a
    ``job``, data-parallel: this rank trains on its slice of every batch (see ``dualflow.distributed``)."""
    seed_everything(seed)
    in_hw = data.images.shape[2:]
    weights = models.init_weights(in_hw, data.num_classes, seed)
    if frontend in models.PEERS:        # the peer's import is not part of its time to first step
        importlib.import_module(models.PEERS[frontend][1])
    peak_window = _reset_peak_rss()
    t0 = time.perf_counter()
    cls = models.FRONTENDS[frontend] if frontend in models.FRONTENDS else models.PEERS[frontend][0]
    if job is not None:
        cls = job.model_class(frontend)
    model = cls(weights, lr, in_hw)
    losses, times = [], []
    first = None
    bar = _Progress(frontend, steps, progress and (job is None or job.writes))
    try:
        for idx in _batches(len(data.labels), batch_size, steps, seed):
            if job is not None:
                idx = job.shard(idx)
            s = time.perf_counter()
            loss = model.step(data.images[idx], data.labels[idx])
            value = model.loss_value(loss)      # a fetch: the step is finished when the value is on the host
            dt = time.perf_counter() - s
            if first is None:
                first = time.perf_counter() - t0
            if job is not None:
                value = job.mean(value)         # the global batch's loss, outside the timed step
            losses.append(value)
            times.append(dt)
            bar.update(len(losses), value, batch_size / dt)
    finally:
        bar.close()
    if job is not None:
        times = job.slowest(times)
    return {"model": model, "losses": losses, "times": times, "first_step_s": first,
            "peak_rss_mib": _peak_rss_mib() if peak_window else None}


def train_losses(frontend: str, data: datasets.ImageDataset, steps: int, batch_size: int, seed: int) -> list:
    return run(frontend, data, steps, batch_size, seed)["losses"]


def _accuracy(model: Any, data: datasets.ImageDataset) -> float:
    hits = 0
    for i in range(0, len(data.labels), 500):
        hits += int((model.predict(data.images[i:i + 500]) == data.labels[i:i + 500]).sum())
    return hits / max(len(data.labels), 1)


def _gpu_peak() -> float | None:
    if device.default().type != "cuda":
        return None
    from backends import cuda_status
    pool = cuda_status.cupy_module().get_default_memory_pool()
    return pool.total_bytes() / 2**20


def _available_peers() -> tuple[list[str], list[str]]:
    import importlib.util
    found, missing = [], []
    for name, (_, module) in models.PEERS.items():
        (found if importlib.util.find_spec(module) else missing).append(name)
    return found, missing


def _versions(names: list[str]) -> dict:
    out = {"python": platform.python_version(), "numpy": numpy.__version__}
    for dist in ["dualflow"] + [{"pytorch": "torch", "tensorflow": "tensorflow"}.get(n, "") for n in names]:
        if dist:
            try:
                out[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                pass
    return out


def _commit() -> str | None:
    """The checkout's commit when dualflow runs from a git work tree (else None)."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        r = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return (r.stdout.strip() or None) if r.returncode == 0 else None


def _record(args: argparse.Namespace, split: datasets.Split | None) -> dict:
    """What a run folder's JSON says about the run, filled in as the run goes."""
    return {"status": "running", "command": args.command, "started": datetime.datetime.now().astimezone().isoformat(),
            "device": str(device.default()), "seed": args.seed, "lr": args.lr,
            "epochs": None if args.steps else args.epochs, "steps": args.steps,       # --steps overrides --epochs
            "batch_size": args.batch_size,
            "data_dir": args.data_dir or os.environ.get("DUALFLOW_DATA"),
            "train_source": split.train_source if split else None,
            "heldout_source": split.heldout_source if split else None,
            "versions": _versions(getattr(args, "names", [])), "commit": _commit(), "frontends": {},
            "saved": []}


def _write_json(path: str, record: dict) -> None:
    checkpoint.atomic_write(path, lambda f: f.write(json.dumps(record, indent=1).encode()))


def compare(args: argparse.Namespace, record: dict | None = None, split: datasets.Split | None = None) -> dict:
    """Train every column on the same batches; ``record`` (the run's JSON) is filled in as columns finish."""
    split = split or datasets.load_split(args.data_dir)
    train, held = split.train, split.heldout
    n_train = len(train.labels)
    steps = args.steps or max(1, args.epochs * n_train // args.batch_size)
    dev = device.default()
    names = ["static-unoptimized", "static", "eager"]
    if args.peers:
        found, missing = _available_peers()
        names += found
        for m in missing:
            print(f"peer {m}: not installed, skipped")
    args.names = names
    summary = record if record is not None else {}
    summary.update(_record(args, split))
    summary.update(dataset=train.name, steps=steps)
    job = distributed.setup()
    writes = job is None or job.writes
    if job is not None:
        summary.update(processes=job.size, dist_backend=job.world.kind)
    print(f"train: {split.train_source}; held-out: {split.heldout_source}; device {dev}; seed {args.seed}; "
          f"{steps} steps of batch {args.batch_size}" + (f" over {job.size} processes" if job else ""))
    if writes:
        os.makedirs(args.out, exist_ok=True)
    results = summary["frontends"]
    for fe in names:
        r = run(fe, train, steps, args.batch_size, args.seed, args.lr, progress=not args.quiet, job=job)
        times = _steady(r["times"])
        results[fe] = {
            "median_step_ms": float(numpy.median(times) * 1e3),
            "step_ms_quartiles": [float(q * 1e3) for q in numpy.percentile(times, [25, 75])],
            "images_per_s": float(args.batch_size / numpy.median(times)),
            "first_step_s": r["first_step_s"],
            "peak_rss_mib": r["peak_rss_mib"],
            "gpu_pool_mib": _gpu_peak(),
            "final_loss": r["losses"][-1],
            "heldout_accuracy": _accuracy(r["model"], held),
            "losses": r["losses"],
            "program_steps": r["model"].program_steps() if hasattr(r["model"], "program_steps") else None,
        }
        if job is not None:
            results[fe].update(_scaling(job, fe, train, steps, args, float(numpy.median(times))))
        if fe in ("static", "eager") and writes:      # the unoptimized column has the same graph and weights as static
            ckpt = os.path.join(args.out, f"{fe}-checkpoint.npz")
            r["model"].save(ckpt)
            dot = r["model"].to_dot(train.images[:args.batch_size], train.labels[:args.batch_size])
            _write_graph(dot, os.path.join(args.out, f"{fe}-graph"))
            summary["saved"] += [os.path.basename(ckpt), f"{fe}-graph.dot"]
    ref = numpy.array(results["static"]["losses"])
    for fe, res in results.items():
        diff = numpy.abs(numpy.array(res["losses"]) - ref)
        res["max_loss_diff_vs_static"] = float(diff.max())
        res["max_loss_rel_diff_vs_static"] = float((diff / numpy.maximum(numpy.abs(ref), 1e-12)).max())
    summary["max_loss_curve_diff"] = results["eager"]["max_loss_diff_vs_static"]
    summary["max_loss_curve_rel_diff"] = results["eager"]["max_loss_rel_diff_vs_static"]
    _print_table(summary)
    if not writes:
        return summary
    _plot(summary, os.path.join(args.out, "compare.png"))
    logged = _tensorboard(summary, os.path.join(args.out, "tensorboard"))
    summary["saved"] += ["compare.png"] + (["tensorboard/"] if logged else [])
    summary["status"] = "complete"
    _write_json(os.path.join(args.out, "compare.json"), summary)
    print(f"wrote {args.out}/: compare.json, compare.png, checkpoints, static-graph.dot, eager-graph.dot"
          + (", tensorboard/ (tensorboard --logdir " + os.path.join(args.out, "tensorboard") + ")" if logged else
             " (pip install tensorboardX for a TensorBoard log)"))
    return summary


def _steady(times: list) -> numpy.ndarray:
    """Step times without the first step (which builds plans and warms caches), unless it is the only one."""
    return numpy.array(times[1:] or times)


def _scaling(job: distributed.Job, fe: str, data: datasets.ImageDataset, steps: int, args: argparse.Namespace,
             median_s: float) -> dict:
    """A data-parallel column's throughput figures against the one-process baseline (``dualflow.distributed``)."""
    n = min(steps, distributed.BASELINE_STEPS)
    base = job.on_rank0(lambda: float(numpy.median(_steady(
        run(fe, data, n, args.batch_size, args.seed, args.lr)["times"]))))
    return job.figures(args.batch_size, median_s, base, n)


def _write_graph(dot: str, stem: str) -> None:
    from core.graphviz import render
    with open(stem + ".dot", "w") as f:
        f.write(dot)
    render(dot, stem + ".svg")


def _tensorboard(s: dict, logdir: str) -> bool:
    """Loss and step time per step, one run per frontend, when tensorboardX is installed."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        return False
    for fe, r in s["frontends"].items():
        with SummaryWriter(os.path.join(logdir, fe)) as w:
            for step, loss in enumerate(r["losses"]):
                w.add_scalar("train/loss", loss, step)
            w.add_scalar("heldout/accuracy", r["heldout_accuracy"], len(r["losses"]))
    return True


def _print_table(s: dict) -> None:
    rows = [("median time per step (ms)", "median_step_ms", "{:.2f}"), ("images/s", "images_per_s", "{:.0f}"),
            ("time to first step (s)", "first_step_s", "{:.3f}"),
            ("peak RSS while it ran (MiB)", "peak_rss_mib", "{:.0f}"),
            ("GPU memory pool (MiB)", "gpu_pool_mib", "{:.1f}"), ("final training loss", "final_loss", "{:.5f}"),
            ("held-out accuracy", "heldout_accuracy", "{:.4f}"),
            ("max |loss - static loss|", "max_loss_diff_vs_static", "{:.3g}"),
            ("steps in the training Program", "program_steps", "{:d}")]
    names = list(s["frontends"])
    w = max(12, *(len(n) + 2 for n in names))
    print(f"\ntrain: {s['train_source']}; held-out: {s['heldout_source']}; {s['device']}; batch {s['batch_size']}")
    print(f"{'':32}" + "".join(f"{n:>{w}}" for n in names))
    for label, key, fmt in rows:
        cells = [s["frontends"][fe].get(key) for fe in names]
        print(f"{label:32}" + "".join(f"{'n/a' if c is None else fmt.format(c):>{w}}" for c in cells))
    if "processes" in s:
        for label, key, fmt in distributed.ROWS:
            print(f"{label:32}" + "".join(f"{fmt.format(s['frontends'][fe][key]):>{w}}" for fe in names))
        print(distributed.NOTE)
    print("(static: the graph optimized, fused and memory-planned; static-unoptimized: run node by node as built)")
    print("(peak RSS: the process's resident peak while that column trained, earlier columns' memory included)")
    print(f"largest |loss difference| between the static and eager curves: {s['max_loss_curve_diff']:.3g} "
          f"(relative {s['max_loss_curve_rel_diff']:.3g})")


def _plot(s: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(s["frontends"])
    res = s["frontends"]
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4))
    styles = ("-", "--", ":", "-.", (0, (3, 1, 1, 1)), (0, (1, 3)))
    for fe, style in zip(names, styles):
        ax1.plot(res[fe]["losses"], linestyle=style, label=fe)
    ax1.set_xlabel("step")
    ax1.set_ylabel("training loss")
    ax1.set_title(f"loss per step ({s['device']})")
    ax1.legend()
    ref = numpy.array(res["static"]["losses"])
    for fe, style in zip([n for n in names if n != "static"], styles[1:]):
        ax2.plot(numpy.array(res[fe]["losses"]) - ref, linestyle=style, label=f"{fe} - static")
    ax2.axhline(0.0, color="grey", linewidth=0.5)
    ax2.set_xlabel("step")
    ax2.set_ylabel("loss difference")
    ax2.set_title("loss difference from the static curve")
    ax2.legend()
    med = [res[n]["median_step_ms"] for n in names]
    q = numpy.array([res[n]["step_ms_quartiles"] for n in names])
    bars = ax3.bar(names, med, yerr=[numpy.array(med) - q[:, 0], q[:, 1] - numpy.array(med)], capsize=4)
    ax3.bar_label(bars, labels=[f"{m:.2f} ms" for m in med], label_type="center", color="white")
    ax3.set_ylabel("ms per step (median; whiskers: quartiles)")
    ax3.set_title(f"step time, lower is better (batch {s['batch_size']}, {s['steps']} steps)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train_cmd(args: argparse.Namespace, record: dict | None = None, split: datasets.Split | None = None) -> dict:
    split = split or datasets.load_split(args.data_dir)
    train, held = split.train, split.heldout
    steps = args.steps or max(1, args.epochs * len(train.labels) // args.batch_size)
    summary = record if record is not None else {}
    summary.update(_record(args, split))
    summary.update(dataset=train.name, steps=steps, frontend=args.frontend)
    job = distributed.setup()
    print(f"training {args.model} with the {args.frontend} frontend ({device.default()}); train: "
          f"{split.train_source}; held-out: {split.heldout_source}; {steps} steps of batch {args.batch_size}"
          + (f" over {job.size} processes" if job else ""))
    if job is None or job.writes:
        os.makedirs(args.out, exist_ok=True)
    r = run(args.frontend, train, steps, args.batch_size, args.seed, args.lr, progress=not args.quiet, job=job)
    acc = _accuracy(r["model"], held)
    path = os.path.join(args.out, f"{args.frontend}-{args.model}.npz")
    median_s = float(numpy.median(_steady(r["times"])))
    summary.update(status="complete", final_loss=r["losses"][-1], heldout_accuracy=acc, losses=r["losses"],
                   median_step_ms=median_s * 1e3, images_per_s=args.batch_size / median_s,
                   saved=[os.path.basename(path)])
    if job is not None:
        summary.update(dist_backend=job.world.kind, **_scaling(job, args.frontend, train, steps, args, median_s))
        print(f"{job.size} processes: {summary['images_per_s']:.0f} images/s, "
              f"{summary['images_per_s_per_process']:.0f} per process; 1-process baseline "
              f"{summary['baseline_images_per_s']:.0f} images/s; scaling efficiency "
              f"{summary['scaling_efficiency']:.2f}\n{distributed.NOTE}")
        if not job.writes:
            return summary
    r["model"].save(path)
    _write_json(os.path.join(args.out, "train.json"), summary)
    print(f"final loss {r['losses'][-1]:.4f}, held-out accuracy {acc:.4f}; checkpoint {path}")
    return summary


RUN_FILES = ("compare.json", "train.json")


def _default_out() -> str:
    """A new folder under ./dualflow-runs/, unique even for runs started within the same second."""
    stem = os.path.join("dualflow-runs", datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    os.makedirs("dualflow-runs", exist_ok=True)
    for n in range(1000):
        path = stem if n == 0 else f"{stem}-{n}"
        try:
            os.mkdir(path)      # atomic: two runs cannot both create the same folder
            return path
        except FileExistsError:
            continue
    raise UsageError(f"could not create a new run folder next to {stem}")


def _check_out(out: str, force: bool) -> None:
    """Refuse an --out that cannot hold a run, or that holds one already (unless --force)."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out}: exists and is not a folder")
    if os.path.isdir(out):
        held = [f for f in RUN_FILES if os.path.exists(os.path.join(out, f))]
        if held and not force:
            raise UsageError(f"--out {out}: already holds a run ({', '.join(held)}); choose another folder or pass "
                             "--force to overwrite it")
        if not os.access(out, os.W_OK | os.X_OK):
            raise UsageError(f"--out {out}: the folder is not writable")
        return
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        what = "is a file, not a folder" if os.path.exists(parent) else "does not exist"
        raise UsageError(f"--out {out}: the parent folder {parent} {what}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: cannot create it, the parent folder {parent} is not writable")


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def _positive_float(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not x > 0 or x != x or x == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return x


def _version() -> str:
    try:
        return importlib.metadata.version("dualflow")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualflow", description="Train CNNs with dualflow's static and eager frontends "
                                "on one backend (device from DUALFLOW_DEVICE: cpu, cuda, cuda:N, auto).",
                                epilog=SPLIT_HELP)
    p.add_argument("--version", action="version", version=f"dualflow {_version()}")
    sub = p.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="folder with MNIST/Fashion-MNIST IDX files (default: $DUALFLOW_DATA, "
                        "else scikit-learn's bundled 8x8 digits)")
    common.add_argument("--model", default="seed-cnn", choices=["seed-cnn"], help="(default: %(default)s)")
    common.add_argument("--epochs", type=_positive_int, default=5, help="passes over the training data "
                        "(default: %(default)s)")
    common.add_argument("--steps", type=_positive_int, default=None, help="train for this many steps instead of "
                        "--epochs")
    common.add_argument("--batch-size", type=_positive_int, default=32, help="(default: %(default)s)")
    common.add_argument("--lr", type=_positive_float, default=0.05, help="SGD learning rate, momentum 0.9 "
                        "(default: %(default)s)")
    common.add_argument("--seed", type=int, default=0, help="initial weights and batch order (default: %(default)s)")
    common.add_argument("--out", default=None, help="output folder (default: a new folder under ./dualflow-runs/)")
    common.add_argument("--force", action="store_true", help="write into an --out that already holds a run")
    common.add_argument("--quiet", action="store_true", help="no progress output")
    common.add_argument("--nproc", type=_positive_int, default=1, help="data-parallel over this many processes: "
                        "starts mpiexec with the same arguments (the same as running under mpiexec -n N); "
                        "--batch-size stays the global batch (default: %(default)s)")
    t = sub.add_parser("train", parents=[common], epilog=SPLIT_HELP,
                       help="train and evaluate one frontend, save a checkpoint")
    t.add_argument("--frontend", choices=sorted(models.FRONTENDS), required=True)
    c = sub.add_parser("compare", parents=[common], epilog=SPLIT_HELP,
                       help="train with both frontends (static optimized and unoptimized, eager) from the same "
                       "weights and batches; print a side-by-side table, write JSON and a PNG")
    c.add_argument("--peers", action="store_true", help="add PyTorch and TensorFlow (when installed) as columns, "
                   "trained on the same data from the same weights")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    record: dict = {}
    job = None
    try:
        device.default()
        distributed.check(max(args.nproc, distributed.launched_size()), args.batch_size, getattr(args, "peers", False))
        if args.out is not None:
            _check_out(args.out, args.force)
        split = datasets.load_split(args.data_dir)      # bad data is reported before any folder is made
        if distributed.must_launch(args.nproc):
            exe = distributed.launcher(args.nproc)       # before a run folder is made
            return distributed.launch(exe, argv, args.nproc, args.out or _default_out())
        job = distributed.setup()
        if args.out is None:
            args.out = _default_out() if job is None else job.on_rank0(_default_out)
        (compare if args.command == "compare" else train_cmd)(args, record, split)
    except KeyboardInterrupt:
        if record and os.path.isdir(args.out) and (job is None or job.writes):
            record["status"] = "interrupted"
            _write_json(os.path.join(args.out, f"{args.command}.json"), record)
            done = ", ".join(record.get("frontends", {})) or "none"
            print(f"\ndualflow: interrupted; partial run in {args.out} (status: interrupted; finished: {done})",
                  file=sys.stderr)
        else:
            print("\ndualflow: interrupted", file=sys.stderr)
        return 130
    except (UsageError, datasets.DatasetError, ValueError, RuntimeError, NotImplementedError) as exc:
        print(f"dualflow: error: {exc}", file=sys.stderr)
        if job is not None:
            job.fail(2)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
