"""The recurrent time loop unrolled against one Scan over the steps (static_api/rnn.py's MAX_UNROLLED), on the CPU.

    python bench/rnn_loop.py [--kind LSTM] [--steps 4,16,32,64,128] [--batch 32] [--units 64] [--reps 20]

For each number of steps, a Keras layer (``return_sequences``, 16 features) in two graphs: unrolled
(``unroll=True`` over the known steps) and a Scan (``Input((None, 16))``, fed the same steps); the loss is the sum
of the squared outputs.  Columns: the graph's build time (layer and ``tf.gradients``), its first run of forward
and backward (the plan is made then), and the best of ``--reps`` steady runs of the forward pass alone and of
forward and backward, the two graphs' runs interleaved so that machine noise hits them alike.  Set
``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS`` for steadier numbers.
"""
from __future__ import annotations

import argparse
import time
from typing import Callable

import numpy as np

import static_api as tf


def _graph(kind: str, steps: int, unrolled: bool, batch: int, units: int) -> tuple[float, float, Callable, Callable]:
    """Build time, first-run time, and the forward and forward-and-backward runs of one graph."""
    g = tf.Graph()
    with g.as_default():
        start = time.perf_counter()
        x = tf.placeholder(tf.float32, (None, steps if unrolled else None, 16))
        layer = getattr(tf.keras.layers, kind)(units, return_sequences=True, unroll=unrolled)
        y = layer(x)
        loss = tf.reduce_sum(y * y)
        grads = tf.gradients(loss, layer.weights + [x])
        build = time.perf_counter() - start
        sess = tf.Session(graph=g)
        sess.run(tf.variables_initializer(layer.weights))
        for w in layer.weights:         # small weights: no saturated gates
            w.load(np.full(tuple(w.shape), 0.01, np.float32), sess)
    feed = {x: np.random.default_rng(0).normal(size=(batch, steps, 16)).astype(np.float32)}
    start = time.perf_counter()
    sess.run(grads, feed)
    first = time.perf_counter() - start
    return build, first, lambda: sess.run(loss, feed), lambda: sess.run(grads, feed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", default="LSTM", choices=("SimpleRNN", "LSTM", "GRU"))
    parser.add_argument("--steps", default="4,16,32,64,128")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    print(f"{args.kind}, batch {args.batch}, {args.units} units; times in ms")
    print("| steps | loop | build | first run | forward | forward + backward |")
    print("|---:|---|---:|---:|---:|---:|")
    for steps in (int(s) for s in args.steps.split(",")):
        graphs = {name: _graph(args.kind, steps, name == "unrolled", args.batch, args.units)
                  for name in ("unrolled", "scan")}
        best = {name: [float("inf")] * 2 for name in graphs}
        for _ in range(args.reps):
            for name, (_, _, forward, both) in graphs.items():
                for j, run in enumerate((forward, both)):
                    start = time.perf_counter()
                    run()
                    best[name][j] = min(best[name][j], time.perf_counter() - start)
        for name, (build, first, _, _) in graphs.items():
            print(f"| {steps} | {name} | {build * 1e3:.0f} | {first * 1e3:.0f} | {best[name][0] * 1e3:.2f} | "
                  f"{best[name][1] * 1e3:.2f} |", flush=True)


if __name__ == "__main__":
    main()
