"""``dualflow``: train the seed CNN, or compare the static and eager frontends side by side.

    dualflow compare                      # both frontends on the bundled digits, table + JSON + PNG
    dualflow train --frontend static --epochs 2 --data-dir ../shared/data/mnist

The frontends are imported inside the functions: ``core`` must not depend on them at import time.
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


def init_weights(in_hw: tuple[int, int], classes: int, seed: int) -> dict[str, numpy.ndarray]:
    """PyTorch-default initial weights (NCHW/OIHW layout) for the seed CNN, from one seed."""
    rng = numpy.random.default_rng(seed)
    flat = 64 * (in_hw[0] // 4) * (in_hw[1] // 4)

    def u(shape, fan_in):
        b = 1 / numpy.sqrt(fan_in)
        return rng.uniform(-b, b, size=shape).astype(numpy.float32)

    return {"conv1.weight": u((32, 1, 3, 3), 9), "conv1.bias": u((32,), 9),
            "conv2.weight": u((64, 32, 3, 3), 288), "conv2.bias": u((64,), 288),
            "fc.weight": u((classes, flat), flat), "fc.bias": u((classes,), flat)}


class _Eager:
    def __init__(self, weights: dict, lr: float) -> None:
        import eager_api as torch
        import eager_api.nn as nn
        self.torch = torch
        self.model = nn.Sequential()
        self.model.add_module("conv1", nn.Conv2d(1, 32, 3, padding=1))
        self.model.add_module("relu1", nn.ReLU())
        self.model.add_module("pool1", nn.MaxPool2d(2))
        self.model.add_module("conv2", nn.Conv2d(32, 64, 3, padding=1))
        self.model.add_module("relu2", nn.ReLU())
        self.model.add_module("pool2", nn.MaxPool2d(2))
        self.model.add_module("flatten", nn.Flatten())
        fc = weights["fc.weight"]
        self.model.add_module("fc", nn.Linear(fc.shape[1], fc.shape[0]))
        self.model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=0.9)
        self.loss_fn = nn.CrossEntropyLoss()

    def step(self, x: numpy.ndarray, y: numpy.ndarray) -> Any:
        t = self.torch
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(t.tensor(x)), t.tensor(y))
        loss.backward()
        self.opt.step()
        return loss

    def loss_value(self, loss: Any) -> float:
        return loss.item()

    def predict(self, x: numpy.ndarray) -> numpy.ndarray:
        with self.torch.no_grad():
            return self.model(self.torch.tensor(x)).argmax(1).cpu().numpy()

    def save(self, path: str) -> None:
        self.torch.save(self.model.state_dict(), path)


class _Static:
    def __init__(self, weights: dict, lr: float) -> None:
        import static_api as tf
        self.tf = tf
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.x = tf.placeholder(tf.float32, (None, 1, None, None), name="images")
            self.y = tf.placeholder(tf.int64, (None,), name="labels")
            v = {k: tf.Variable(a, name=k) for k, a in weights.items()}
            # NCHW with OIHW filters transposed to TF's HWIO: the same kernels as the eager model run.
            h = self.x
            for i in (1, 2):
                w = tf.transpose(v[f"conv{i}.weight"], (2, 3, 1, 0))
                h = tf.nn.bias_add(tf.nn.conv2d(h, w, 1, [[0, 0], [0, 0], [1, 1], [1, 1]], data_format="NCHW"),
                                   v[f"conv{i}.bias"], data_format="NCHW")
                h = tf.nn.max_pool2d(tf.nn.relu(h), 2, 2, "VALID", data_format="NCHW")
            h = tf.reshape(h, (-1, weights["fc.weight"].shape[1]))
            self.logits = tf.matmul(h, v["fc.weight"], transpose_b=True) + v["fc.bias"]
            self.loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=self.y,
                                                                                      logits=self.logits))
            opt = tf.train.MomentumOptimizer(lr, 0.9)
            self.train_op = opt.minimize(self.loss)
            self.pred = tf.argmax(self.logits, 1)
            self.saver = tf.train.Saver()
            self.sess = tf.Session()
            self.sess.run(tf.global_variables_initializer())

    def step(self, x: numpy.ndarray, y: numpy.ndarray) -> Any:
        return self.sess.run([self.loss, self.train_op], {self.x: x, self.y: y})[0]

    def loss_value(self, loss: Any) -> float:
        return float(loss)

    def predict(self, x: numpy.ndarray) -> numpy.ndarray:
        return self.sess.run(self.pred, {self.x: x})

    def save(self, path: str) -> None:
        self.saver.save(self.sess, path[:-4] if path.endswith(".npz") else path)


FRONTENDS = {"eager": _Eager, "static": _Static}


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
    """Train ``frontend`` for ``steps`` steps of SGD with momentum 0.9 from the seeded initial weights.

    PyTorch's and TF1's momentum updates are the same formula (their Adams are not), so the two
    frontends' loss curves may differ only by float32 rounding."""
    seed_everything(seed)
    weights = init_weights(data.images.shape[2:], data.num_classes, seed)
    t0 = time.perf_counter()
    model = FRONTENDS[frontend](weights, lr)
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
            bar.set_postfix(loss=f"{value:.4f}", img_s=f"{batch_size / dt:.0f}")
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


def compare(args: argparse.Namespace) -> dict:
    data, train, held = _load_split(args.data_dir)
    n_train = len(train.labels)
    steps = args.steps or max(1, args.epochs * n_train // args.batch_size)
    dev = device.default()
    print(f"dataset: {data.name}; {n_train} train / {len(held.labels)} held-out; device {dev}; seed {args.seed}; "
          f"{steps} steps of batch {args.batch_size}")
    results = {}
    for fe in ("static", "eager"):
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
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            r["model"].save(os.path.join(args.out, f"{fe}-checkpoint.npz"))
    a, b = numpy.array(results["static"]["losses"]), numpy.array(results["eager"]["losses"])
    summary = {"dataset": data.name, "device": str(dev), "seed": args.seed, "steps": steps,
               "batch_size": args.batch_size, "max_loss_curve_diff": float(numpy.max(numpy.abs(a - b))),
               "max_loss_curve_rel_diff": float(numpy.max(numpy.abs(a - b) / numpy.maximum(numpy.abs(b), 1e-12))),
               "frontends": results}
    _print_table(summary)
    if args.out:
        with open(os.path.join(args.out, "compare.json"), "w") as f:
            json.dump(summary, f, indent=1)
        _plot(summary, os.path.join(args.out, "compare.png"))
        print(f"wrote {os.path.join(args.out, 'compare.json')}, {os.path.join(args.out, 'compare.png')} and "
              "checkpoints")
    return summary


def _print_table(s: dict) -> None:
    rows = [("median time per step (ms)", "median_step_ms", "{:.2f}"), ("images/s", "images_per_s", "{:.0f}"),
            ("time to first step (s)", "first_step_s", "{:.3f}"),
            ("peak host RSS, process (MiB)", "peak_host_rss_mib", "{:.0f}"),
            ("GPU memory pool (MiB)", "gpu_pool_mib", "{:.1f}"), ("final training loss", "final_loss", "{:.5f}"),
            ("held-out accuracy", "heldout_accuracy", "{:.4f}")]
    print(f"\n{'':32}{'static':>12}{'eager':>12}")
    for label, key, fmt in rows:
        cells = [s["frontends"][fe][key] for fe in ("static", "eager")]
        print(f"{label:32}" + "".join(f"{'n/a' if c is None else fmt.format(c):>12}" for c in cells))
    print(f"largest |loss difference| between the two curves: {s['max_loss_curve_diff']:.3g} "
          f"(relative {s['max_loss_curve_rel_diff']:.3g})")


def _plot(s: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for fe, style in (("static", "-"), ("eager", "--")):
        ax1.plot(s["frontends"][fe]["losses"], style, label=fe)
    ax1.set_xlabel("step")
    ax1.set_ylabel("training loss")
    ax1.set_title(f"loss per step ({s['device']})")
    ax1.legend()
    names = ["static", "eager"]
    ax2.bar(names, [s["frontends"][n]["median_step_ms"] for n in names], color=["tab:blue", "tab:orange"])
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
    t.add_argument("--frontend", choices=sorted(FRONTENDS), required=True)
    c = sub.add_parser("compare", parents=[common], help="train with both frontends from the same weights and "
                       "batches; print a side-by-side table, write JSON and a PNG")
    c.add_argument("--steps", type=int, default=None, help="train for this many steps instead of --epochs")
    c.add_argument("--peers", action="store_true", help="add PyTorch/TensorFlow columns (not implemented yet)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.out is None:
        args.out = _default_out()
    try:
        device.default()
        if args.command == "compare":
            if args.peers:
                raise NotImplementedError("--peers (PyTorch/TensorFlow columns) is not implemented yet")
            compare(args)
        else:
            train_cmd(args)
    except (datasets.DatasetError, ValueError, RuntimeError, NotImplementedError) as exc:
        print(f"dualflow: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
