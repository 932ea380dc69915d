"""Per-layer CPU kernels against PyTorch CPU, interleaved in one process, at 1 and 2 threads.

    PYTHONPATH=. python bench/cpu_layers.py [--threads 1 2] [--reps 15] [--out table.md]

Each case alternates a dualflow call, the same call with the NumPy kernels instead of oneDNN and numba
(``DUALFLOW_ONEDNN=0 DUALFLOW_NUMBA=0``) and the PyTorch call ``--reps`` times and reports each one's median, so all see the
same machine state (other processes, frequency).  GFLOP/s is set against an sgemm (512^3) timed
in the same run at the same thread count: the ceiling a GEMM-based kernel can reach with this BLAS.

PyTorch's OpenMP threads spin for a while after each of its ops, taking the core a multi-threaded dualflow
call beside them needs (measured: a 2-thread conv 6.7 ms alone, 12.4 ms right after a PyTorch call).  So
the script sets ``OMP_WAIT_POLICY=PASSIVE`` before PyTorch loads (unless set): PyTorch's own times do not
change with it, and its threads then sleep between ops instead.

Cases: the seed CNN's conv layers (1->32 at 28x28, 32->64 at 14x14, 3x3 pad 1: forward, input and weight
gradients) and its max pool (2x2 on 32x28x28) at batch 32 and 128; DCGAN's ConvTranspose2d (64->32 channels,
16x16 -> 32x32, kernel 4 stride 2 pad 1) and BatchNorm2d (32 channels at 32x32) at batch 64.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Callable

import numpy as np

from backends import get_backend, onednn, threads

F32 = np.float32
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")     # read when PyTorch loads libgomp: see above


def _medians(calls: list[Callable], reps: int) -> list[float]:
    """Seconds: the median of each callable, called in turn (after two warm-up rounds; the first calls of a
    oneDNN primitive or a new workspace are not steady state)."""
    for _ in range(2):
        for c in calls:
            c()
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(reps):
        for c, ts in zip(calls, times):
            t = time.perf_counter()
            c()
            ts.append(time.perf_counter() - t)
    return [statistics.median(ts) for ts in times]


_SWITCHES = ("DUALFLOW_ONEDNN", "DUALFLOW_NUMBA")


def _numpy_kernels(fn: Callable) -> Callable:
    """``fn`` with the NumPy kernels instead of oneDNN and numba (``DUALFLOW_ONEDNN=0 DUALFLOW_NUMBA=0`` for
    the call)."""
    def call() -> None:
        old = {k: os.environ.get(k) for k in _SWITCHES}
        os.environ.update(dict.fromkeys(_SWITCHES, "0"))
        try:
            fn()
        finally:
            for k, v in old.items():
                if v is None:
                    del os.environ[k]
                else:
                    os.environ[k] = v
    return call


def _sgemm_gflops(reps: int) -> float:
    a = np.random.default_rng(0).random((512, 512), dtype=F32)
    out = np.empty_like(a)
    with threads.gemm_threads(float("inf")):
        t, = _medians([lambda: np.matmul(a, a, out=out)], reps)
    return 2 * 512 ** 3 / t / 1e9


def _cases(torch):
    """(name, flops, [(part, dualflow call, torch call)]) for every case."""
    be = get_backend("cpu")
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    out = []
    for b in (32, 128):
        for cin, cout, hw in ((1, 32, 28), (32, 64, 14)):
            x = rng.random((b, cin, hw, hw), dtype=F32)
            w = rng.random((cout, cin, 3, 3), dtype=F32) - 0.5
            gy = rng.random((b, cout, hw, hw), dtype=F32) - 0.5
            tx, tw, tg = map(torch.from_numpy, (x, w, gy))
            y, gx, gw = np.empty_like(gy), np.empty_like(x), np.empty_like(w)
            p = ((1, 1), (1, 1, 1, 1), (1, 1))
            out.append((f"conv {cin}->{cout} {hw}x{hw} b{b}", 3 * 2 * b * cout * hw * hw * cin * 9, [
                ("fwd", lambda x=x, w=w, y=y, p=p: be.conv2d(x, w, *p, out=y),
                 lambda tx=tx, tw=tw: F.conv2d(tx, tw, padding=1)),
                ("grad x", lambda gy=gy, w=w, gx=gx, p=p: be.conv2d_grad_input(gy, w, gx.shape, *p, out=gx),
                 lambda tx=tx, tw=tw, tg=tg: torch.nn.grad.conv2d_input(tx.shape, tw, tg, padding=1)),
                ("grad w", lambda x=x, gy=gy, gw=gw, p=p: be.conv2d_grad_weight(x, gy, gw.shape, *p, out=gw),
                 lambda tx=tx, tw=tw, tg=tg: torch.nn.grad.conv2d_weight(tx, tw.shape, tg, padding=1)),
            ]))
        x = rng.random((b, 32, 28, 28), dtype=F32)
        gy = rng.random((b, 32, 14, 14), dtype=F32)
        pooled = (np.empty(gy.shape, F32), np.empty(gy.shape, np.int32))
        idx = be.max_pool2d(x, (2, 2), (2, 2), (0, 0, 0, 0))[1]
        gx = np.empty_like(x)
        tx = torch.from_numpy(x).requires_grad_()
        tg = torch.from_numpy(gy)
        out.append((f"max_pool 2x2 32x28x28 b{b}", 0, [
            ("fwd+bwd", lambda x=x, gy=gy, idx=idx, gx=gx, pooled=pooled: (
                be.max_pool2d(x, (2, 2), (2, 2), (0, 0, 0, 0), out=pooled),
                be.max_pool2d_grad(gy, idx, x.shape, (2, 2), (2, 2), (0, 0, 0, 0), out=gx)),
             lambda tx=tx, tg=tg: torch.autograd.grad(F.max_pool2d(tx, 2), [tx], tg)),
        ]))
    # DCGAN generator block at batch 64.
    x = rng.random((64, 64, 16, 16), dtype=F32) - 0.5
    w = rng.random((64, 32, 4, 4), dtype=F32) - 0.5
    gy = rng.random((64, 32, 32, 32), dtype=F32) - 0.5
    tx, tw, tg = map(torch.from_numpy, (x, w, gy))
    y, gx, gw = np.empty_like(gy), np.empty_like(x), np.empty_like(w)
    p = ((2, 2), (1, 1, 1, 1), (1, 1))
    out.append(("conv_transpose 64->32 16->32 b64", 3 * 2 * 64 * 64 * 16 * 16 * 32 * 16, [
        ("fwd", lambda: be.conv2d_grad_input(x, w, y.shape, *p, out=y),
         lambda: F.conv_transpose2d(tx, tw, stride=2, padding=1)),
        ("grad x", lambda: be.conv2d(gy, w, *p, out=gx), lambda: F.conv2d(tg, tw, stride=2, padding=1)),
        ("grad w", lambda: be.conv2d_grad_weight(gy, x, w.shape, *p, out=gw),
         lambda: torch.nn.grad.conv2d_weight(tg, tw.shape, tx, stride=2, padding=1)),
    ]))
    xb = rng.random((64, 32, 32, 32), dtype=F32)
    gam, bet = np.ones((1, 32, 1, 1), F32), np.zeros((1, 32, 1, 1), F32)
    yb, dxb = np.empty_like(xb), np.empty_like(xb)
    stats = (np.empty_like(gam), np.empty_like(gam))        # (mean, var), then (dgamma, dbeta)
    _, mean, var = be.batch_norm_train(xb, gam, bet, (0, 2, 3), 1e-5)
    bn = torch.nn.BatchNorm2d(32)
    txb = torch.from_numpy(xb).requires_grad_()
    out.append(("batch_norm 32x32x32 b64", 0, [
        ("fwd+bwd", lambda: (be.batch_norm_train(xb, gam, bet, (0, 2, 3), 1e-5, out=(yb, *stats)),
                             be.batch_norm_train_grad(gy, xb, gam, mean, var, (0, 2, 3), 1e-5, out=(dxb, *stats))),
         lambda: torch.autograd.grad(bn(txb), [txb, bn.weight, bn.bias], tg)),
    ]))
    return out


def run(thread_counts: list[int], reps: int) -> str:
    import torch
    blas = ", ".join(f"{lib['internal_api']} {lib.get('architecture')}" for lib in threads.info()["blas"])
    lines = [f"# CPU layers vs PyTorch {torch.__version__} ({platform.processor() or platform.machine()}, "
             f"BLAS: {blas})",
             "", f"median ms over interleaved calls; dualflow: float32 convolutions through oneDNN "
             f"({'installed' if onednn.usable() else 'NOT installed: the NumPy kernels'}), NumPy: the same call "
             "with DUALFLOW_ONEDNN=0 DUALFLOW_NUMBA=0; ratio = dualflow / PyTorch; GFLOP/s of dualflow (sgemm: 512^3 in the same "
             "run)", "",
             "| threads | case | part | dualflow ms | NumPy ms | PyTorch ms | ratio | NumPy ratio | GFLOP/s | "
             "sgemm GFLOP/s |",
             "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    before = (threads.get_num_threads(), torch.get_num_threads())
    try:
        for n in thread_counts:
            threads.set_num_threads(n)
            torch.set_num_threads(n)
            sgemm = _sgemm_gflops(reps)
            for name, flops, parts in _cases(torch):
                total_d = total_n = total_t = 0.0
                for part, d, t in parts:
                    td, tn, tt = _medians([d, _numpy_kernels(d), t], reps)
                    total_d, total_n, total_t = total_d + td, total_n + tn, total_t + tt
                    if len(parts) > 1:
                        lines.append(f"| {n} | {name} | {part} | {td * 1e3:.2f} | {tn * 1e3:.2f} | {tt * 1e3:.2f} | "
                                     f"{td / tt:.2f} | {tn / tt:.2f} | | |")
                gf = f"{flops / total_d / 1e9:.0f}" if flops else ""
                lines.append(f"| {n} | {name} | **total** | {total_d * 1e3:.2f} | {total_n * 1e3:.2f} | "
                             f"{total_t * 1e3:.2f} | **{total_d / total_t:.2f}** | {total_n / total_t:.2f} | {gf} | "
                             f"{sgemm:.0f} |")
    finally:
        threads.set_num_threads(before[0])
        torch.set_num_threads(before[1])
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--out", default=None, help="also write the markdown table here")
    args = ap.parse_args()
    table = run(args.threads, args.reps)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table)


if __name__ == "__main__":
    main()
