"""``dualflow``: train the seed CNN, or compare the static and eager frontends side by side.

    dualflow compare                      # both frontends on the bundled digits, table + JSON + PNG
    dualflow train --frontend static --epochs 2 --data-dir ../shared/data/mnist

Frontends and peers are imported where they are used, so the CLI starts fast and the peers stay optional.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import sys
import time
from typing import Any

import numpy

from core import datasets, device
from core.random import seed_everything
from dualflow import models


def _batches(n: int, batch_size: int, steps: int, seed: int):
    rng = numpy.random.default_rng(seed)
    order = numpy.empty(0, dtype=numpy.int64)
    for _ in range(steps):
        if len(order) < batch_size:
            order = numpy.concatenate([order, rng.permutation(n)])
        yield order[:batch_size]
        order = order[batch_size:]


def run(frontend: str, data: datasets.ImageDataset, steps: int, batch_size: int, seed: int, lr: float = 0.05,
        progress: bool = False) -> dict:
    """Train ``frontend`` (a frontend or peer name) for ``steps`` steps from the seeded initial weights."""
    seed_everything(seed)
    in_hw = data.images.shape[2:]
    weights = models.init_weights(in_hw, data.num_classes, seed)
    t0 = time.perf_counter()
    cls = models.FRONTENDS[frontend] if frontend in models.FRONTENDS else models.PEERS[frontend][0]
    model = cls(weights, lr, in_hw)
    losses, times = [], []
    first = None
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=steps, desc=f"{frontend:>6}", unit="step", leave=True)
    for idx in _batches(len(data.labels), batch_size, steps, seed):
        s = time.perf_counter()
        loss = model.step(data.images[idx], data.labels[idx])
        value = model.loss_value(loss)      # a fetch: the step is finished when the value is on the host
        dt = time.perf_counter() - s
        if first is None:
            first = time.perf_counter() - t0
        losses.append(value)
        times.append(dt)
        if bar is not None:
            bar.update(1)
            if len(losses) % 10 == 1:     # batch accuracy every 10 steps, outside the timed step
                acc = float((model.predict(data.images[idx]) == data.labels[idx]).mean())
            bar.set_postfix(loss=f"{value:.4f}", acc=f"{acc:.3f}", img_s=f"{batch_size / dt:.0f}")
    if bar is not None:
        bar.close()
    return {"model": model, "losses": losses, "times": times, "first_step_s": first}


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


def _load_split(data_dir: str | None) -> tuple:
    """The dataset and an 80/20 train/held-out split (8,000/2,000 for the MNIST test set)."""
    data = datasets.load(data_dir)
    return (data,) + data.split(int(len(data.labels) * 0.8))


def _available_peers() -> tuple[list[str], list[str]]:
    import importlib.util
    found, missing = [], []
    for name, (_, module) in models.PEERS.items():
        (found if importlib.util.find_spec(module) else missing).append(name)
    return found, missing


def compare(args: argparse.Namespace) -> dict:
    data, train, held = _load_split(args.data_dir)
    n_train = len(train.labels)
    steps = args.steps or max(1, args.epochs * n_train // args.batch_size)
    dev = device.default()
    print(f"dataset: {data.name}; {n_train} train / {len(held.labels)} held-out; device {dev}; seed {args.seed}; "
          f"{steps} steps of batch {args.batch_size}")
    names = ["static", "eager"]
    if args.peers:
        found, missing = _available_peers()
        names += found
        for m in missing:
            print(f"peer {m}: not installed, skipped")
    os.makedirs(args.out, exist_ok=True)
    results = {}
    for fe in names:
        r = run(fe, train, steps, args.batch_size, args.seed, args.lr, progress=not args.quiet)
        times = numpy.array(r["times"][1:] or r["times"])
        results[fe] = {
            "median_step_ms": float(numpy.median(times) * 1e3),
            "images_per_s": float(args.batch_size / numpy.median(times)),
            "first_step_s": r["first_step_s"],
            "peak_host_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "gpu_pool_mib": _gpu_peak(),
            "final_loss": r["losses"][-1],
            "heldout_accuracy": _accuracy(r["model"], held),
            "losses": r["losses"],
        }
        if fe in models.FRONTENDS:
            r["model"].save(os.path.join(args.out, f"{fe}-checkpoint.npz"))
            dot = r["model"].to_dot(train.images[:args.batch_size], train.labels[:args.batch_size])
            _write_graph(dot, os.path.join(args.out, f"{fe}-graph"))
    a, b = numpy.array(results["static"]["losses"]), numpy.array(results["eager"]["losses"])
    summary = {"dataset": data.name, "device": str(dev), "seed": args.seed, "steps": steps,
               "batch_size": args.batch_size, "max_loss_curve_diff": float(numpy.max(numpy.abs(a - b))),
               "max_loss_curve_rel_diff": float(numpy.max(numpy.abs(a - b) / numpy.maximum(numpy.abs(b), 1e-12))),
               "frontends": results}
    _print_table(summary)
    with open(os.path.join(args.out, "compare.json"), "w") as f:
        json.dump(summary, f, indent=1)
    _plot(summary, os.path.join(args.out, "compare.png"))
    logged = _tensorboard(summary, os.path.join(args.out, "tensorboard"))
    print(f"wrote {args.out}/: compare.json, compare.png, checkpoints, static-graph.dot, eager-graph.dot"
          + (", tensorboard/ (tensorboard --logdir " + os.path.join(args.out, "tensorboard") + ")" if logged else
             " (pip install tensorboardX for a TensorBoard log)"))
    return summary


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
            ("peak host RSS, process (MiB)", "peak_host_rss_mib", "{:.0f}"),
            ("GPU memory pool (MiB)", "gpu_pool_mib", "{:.1f}"), ("final training loss", "final_loss", "{:.5f}"),
            ("held-out accuracy", "heldout_accuracy", "{:.4f}")]
    names = list(s["frontends"])
    print(f"\n{'':32}" + "".join(f"{n:>12}" for n in names))
    for label, key, fmt in rows:
        cells = [s["frontends"][fe][key] for fe in names]
        print(f"{label:32}" + "".join(f"{'n/a' if c is None else fmt.format(c):>12}" for c in cells))
    print(f"largest |loss difference| between the two curves: {s['max_loss_curve_diff']:.3g} "
          f"(relative {s['max_loss_curve_rel_diff']:.3g})")


def _plot(s: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for fe, style in zip(s["frontends"], ("-", "--", ":", "-.")):
        ax1.plot(s["frontends"][fe]["losses"], style, label=fe)
    ax1.set_xlabel("step")
    ax1.set_ylabel("training loss")
    ax1.set_title(f"loss per step ({s['device']})")
    ax1.legend()
    names = list(s["frontends"])
    ax2.bar(names, [s["frontends"][n]["median_step_ms"] for n in names])
    ax2.set_ylabel("median time per step (ms)")
    ax2.set_title(f"batch {s['batch_size']}, {s['steps']} steps")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train_cmd(args: argparse.Namespace) -> dict:
    data, train, held = _load_split(args.data_dir)
    steps = max(1, args.epochs * len(train.labels) // args.batch_size)
    print(f"training {args.model} with the {args.frontend} frontend on {data.name} ({device.default()})")
    r = run(args.frontend, train, steps, args.batch_size, args.seed, args.lr, progress=not args.quiet)
    acc = _accuracy(r["model"], held)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{args.frontend}-{args.model}.npz")
    r["model"].save(path)
    print(f"final loss {r['losses'][-1]:.4f}, held-out accuracy {acc:.4f}; checkpoint {path}")
    return {"final_loss": r["losses"][-1], "heldout_accuracy": acc}


def _default_out() -> str:
    return os.path.join("dualflow-runs", datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualflow", description="Train CNNs with dualflow's static and eager frontends "
                                "on one backend (device from DUALFLOW_DEVICE: cpu, cuda, cuda:N, auto).")
    sub = p.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="folder with MNIST/Fashion-MNIST IDX files (default: $DUALFLOW_DATA, "
                        "else scikit-learn's bundled 8x8 digits)")
    common.add_argument("--model", default="seed-cnn", choices=["seed-cnn"])
    common.add_argument("--epochs", type=int, default=5)
    common.add_argument("--batch-size", type=int, default=32)
    common.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (momentum 0.9)")
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--out", default=None, help="output folder (default: a new folder under ./dualflow-runs/)")
    common.add_argument("--quiet", action="store_true", help="no progress bars")
    t = sub.add_parser("train", parents=[common], help="train and evaluate one frontend, save a checkpoint")
    t.add_argument("--frontend", choices=sorted(models.FRONTENDS), required=True)
    c = sub.add_parser("compare", parents=[common], help="train with both frontends from the same weights and "
                       "batches; print a side-by-side table, write JSON and a PNG")
    c.add_argument("--steps", type=int, default=None, help="train for this many steps instead of --epochs")
    c.add_argument("--peers", action="store_true", help="add PyTorch and TensorFlow (when installed) as columns, "
                   "trained on the same data from the same weights")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.out is None:
        args.out = _default_out()
    try:
        device.default()
        if args.command == "compare":
            compare(args)
        else:
            train_cmd(args)
    except (datasets.DatasetError, ValueError, RuntimeError, NotImplementedError) as exc:
        print(f"dualflow: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
