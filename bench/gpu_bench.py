"""GPU benchmarks: our CUDA conv/pool kernels vs cuDNN (PyTorch), and training steps of both frontends vs
PyTorch eager, all in one run on one GPU (fp32, TF32 off).  Prints a table last; writes JSON.

    PYTHONPATH=. python3 bench/gpu_bench.py [--out DIR]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import time

import numpy as np


def _median_ms(fn, sync, warmup=5, iters=30):
    for _ in range(warmup):
        fn()
    sync()
    ts = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts) * 1e3)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.environ.get("OUT") or os.path.join(os.path.dirname(__file__), "results"))
    args = p.parse_args()
    os.environ["DUALFLOW_DEVICE"] = "cuda"
    import cupy as cp
    import torch

    import core
    from core import device
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = device.default()
    sync_ours = cp.cuda.Device(0).synchronize
    sync_torch = torch.cuda.synchronize
    rows = []

    def row(name, ours, peer, note=""):
        rows.append({"case": name, "dualflow_ms": ours, "peer_ms": peer, "ratio": ours / peer, "note": note})

    rng = np.random.default_rng(0)
    for batch in (128, 512):
        for cin, cout, hw in ((1, 32, 28), (32, 64, 14)):
            x = rng.normal(size=(batch, cin, hw, hw)).astype(np.float32)
            w = rng.normal(size=(cout, cin, 3, 3)).astype(np.float32) * 0.1
            xv, wv = core.value(x, requires_grad=True), core.value(w, requires_grad=True)
            g = core.value(np.ones((batch, cout, hw, hw), np.float32))

            def ours():
                y = core.conv2d(xv, wv, 1, 1)
                core.gradients([y], [xv, wv], [g])
            xt = torch.tensor(x, device="cuda", requires_grad=True)
            wt = torch.tensor(w, device="cuda", requires_grad=True)
            gt = torch.ones(batch, cout, hw, hw, device="cuda")

            def peer():
                y = torch.nn.functional.conv2d(xt, wt, padding=1)
                torch.autograd.grad(y, [xt, wt], gt)
            row(f"conv {cin}->{cout} {hw}x{hw} b{batch} fwd+bwd", _median_ms(ours, sync_ours),
                _median_ms(peer, sync_torch), "target <= 1.5")
        x = rng.normal(size=(batch, 32, 28, 28)).astype(np.float32)
        xv = core.value(x, requires_grad=True)
        g = core.value(np.ones((batch, 32, 14, 14), np.float32))

        def ours_pool():
            y, _ = core.max_pool2d(xv, 2)
            core.gradients([y], [xv], [g])
        xt = torch.tensor(x, device="cuda", requires_grad=True)
        gt = torch.ones(batch, 32, 14, 14, device="cuda")

        def peer_pool():
            y = torch.nn.functional.max_pool2d(xt, 2)
            torch.autograd.grad(y, [xt], gt)
        row(f"max_pool2d 32x28x28 b{batch} fwd+bwd", _median_ms(ours_pool, sync_ours), _median_ms(peer_pool, sync_torch),
            "target <= 1.0")

    # Training steps of the seed CNN (28x28 input) at batch 32, 128, 512.
    from dualflow import models
    images = rng.random((1024, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, 1024)
    for batch in (32, 128, 512):
        xb, yb = images[:batch], labels[:batch]
        weights = models.init_weights((28, 28), 10, 0)
        eager, static = models.Eager(weights, 0.01, (28, 28)), models.Static(weights, 0.01, (28, 28))
        t_eager = _median_ms(lambda: eager.loss_value(eager.step(xb, yb)), sync_ours, 5, 20)
        t_static = _median_ms(lambda: static.loss_value(static.step(xb, yb)), sync_ours, 5, 20)
        tm = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                 torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                 torch.nn.Flatten(), torch.nn.Linear(3136, 10)).cuda()
        opt = torch.optim.SGD(tm.parameters(), lr=0.01, momentum=0.9)
        xt, yt = torch.tensor(xb, device="cuda"), torch.tensor(yb, device="cuda")

        def torch_step():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(tm(xt), yt)
            loss.backward()
            opt.step()
            return loss.item()
        t_torch = _median_ms(torch_step, sync_torch, 5, 20)
        row(f"seed CNN eager step b{batch}", t_eager, t_torch, "target <= 1.0 (b128)")
        row(f"seed CNN static step b{batch}", t_static, t_torch, "target <= 1.0 (b128)")

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    commit = commit or os.environ.get("DUALFLOW_COMMIT", "unknown")
    meta = {"date": datetime.date.today().isoformat(), "gpu": cp.cuda.runtime.getDeviceProperties(0)["name"].decode(),
            "cupy": cp.__version__, "torch": torch.__version__, "cudnn": torch.backends.cudnn.version(),
            "commit": commit, "device": str(dev), "timing": "median wall time per call incl. sync, ms; peer = "
            "PyTorch + cuDNN, TF32 off; training steps include .item() on both sides"}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "gpu_bench.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    lines = [f"# GPU benchmark {meta['date']} on {meta['gpu']} (commit {commit}; CuPy {meta['cupy']}, "
             f"PyTorch {meta['torch']}, cuDNN {meta['cudnn']})", "",
             "| case | dualflow ms | PyTorch ms | ratio | target |", "| --- | ---: | ---: | ---: | --- |"]
    lines += [f"| {r['case']} | {r['dualflow_ms']:.3f} | {r['peer_ms']:.3f} | {r['ratio']:.2f} | {r['note']} |"
              for r in rows]
    table = "\n".join(lines)
    with open(os.path.join(args.out, "gpu_bench.md"), "w") as f:
        f.write(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
