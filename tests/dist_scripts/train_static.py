"""Run with ``mpiexec -n 2``: TF1 graphs with ``static_api.distribute`` (Horovod names) on 2 ranks with global
batch B against 1 process with batch B.

Each rank builds its variables from a different seed (``broadcast_global_variables(0)`` must make them rank
0's), feeds its half of every global batch, and after 20 steps must hold the weights one process reaches with
the whole batch: Momentum through ``minimize``, Adam through ``compute_gradients`` + ``apply_gradients``
with a global step.  Then: tensors whose shapes differ across ranks raise a ShapeError on both ranks that
names them, for variables (checked once) and for a placeholder-fed tensor (checked each run).
"""
import sys

import numpy

import static_api as tf
import static_api.distribute as hvd
from core.errors import ShapeError

B, STEPS, N = 16, 20, 64


def build(seed: int):
    """A small conv net in its own graph; returns (graph, x, y, loss, variables)."""
    rng = numpy.random.default_rng(seed)
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, 8, 8, 1), name="x")
        y = tf.placeholder(tf.int64, (None,), name="y")
        shapes = {"c1": (3, 3, 1, 4), "b1": (4,), "c2": (3, 3, 4, 8), "b2": (8,), "fc": (32, 10), "bf": (10,)}
        v = {k: tf.Variable((rng.standard_normal(s) * 0.3).astype(numpy.float32), name=k) for k, s in shapes.items()}
        h = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(x, v["c1"], 1, "SAME") + v["b1"]), 2, 2, "VALID")
        h = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(h, v["c2"], 1, "SAME") + v["b2"]), 2, 2, "VALID")
        logits = tf.matmul(tf.reshape(h, (-1, 32)), v["fc"]) + v["bf"]
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    return g, x, y, loss, list(v.values())


def train_op(name: str, loss, distributed: bool):
    if name == "momentum":
        opt = tf.train.MomentumOptimizer(0.1, 0.9)
        return (hvd.DistributedOptimizer(opt) if distributed else opt).minimize(loss)
    opt = tf.train.AdamOptimizer(0.01)
    opt = hvd.DistributedOptimizer(opt) if distributed else opt
    step = tf.train.get_or_create_global_step()
    return opt.apply_gradients(opt.compute_gradients(loss), global_step=step)


def train(name: str, seed: int, rows, distributed: bool, data) -> list:
    x_all, y_all = data
    g, x, y, loss, variables = build(seed)
    with g.as_default():
        op = train_op(name, loss, distributed)
        sync = hvd.broadcast_global_variables(0) if distributed else None
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())
        if sync is not None:
            sess.run(sync)
        for step in range(STEPS):
            batch = numpy.arange(step * B, step * B + B) % N
            mine = batch[rows]
            sess.run(op, {x: x_all[mine], y: y_all[mine]})
        return sess.run(variables)


def expect_shape_error(run, *needles: str) -> None:
    try:
        run()
    except ShapeError as exc:
        for n in needles:
            assert n in str(exc), (n, str(exc))
        return
    raise AssertionError(f"no ShapeError; expected one naming {needles}")


def main() -> None:
    hvd.init()
    hvd.init()                                   # a second call does nothing, as in Horovod
    rank, size = hvd.rank(), hvd.size()
    assert size == 2 and hvd.local_size() == 2 and hvd.local_rank() == rank, (size, hvd.local_rank())
    rng = numpy.random.default_rng(0)
    data = (rng.standard_normal((N, 8, 8, 1)).astype(numpy.float32), rng.integers(0, 10, N))
    half = B // size
    for name in ("momentum", "adam"):
        ref = train(name, 100, slice(0, B), False, data)
        mine = train(name, 100 + rank, slice(rank * half, (rank + 1) * half), True, data)
        worst = max(float(numpy.abs(a - b).max()) for a, b in zip(ref, mine))
        print(f"rank {rank} {name}: max |distributed - single| = {worst:.2e}", flush=True)
        for i, (a, b) in enumerate(zip(ref, mine)):
            numpy.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5, err_msg=f"{name}: variable {i}")

    # Shapes that differ across ranks are named on every rank (static shapes: checked at the first run).
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(numpy.ones(3 + rank, numpy.float32), name="odd")
        u = tf.Variable(numpy.ones(2, numpy.float32), name="even")
        op = hvd.DistributedOptimizer(tf.train.GradientDescentOptimizer(0.1)).minimize(
            tf.reduce_sum(w * w) + tf.reduce_sum(u))
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())
        expect_shape_error(lambda: sess.run(op), "odd", "rank 0 has shape [3]", "rank 1 has shape [4]")
        # Fed shapes are known only when the graph runs: checked at every run.
        p = tf.placeholder(tf.float32, (None, 2))
        total = hvd.allreduce(p, op=hvd.Sum)
        numpy.testing.assert_array_equal(sess.run(total, {p: numpy.full((1, 2), rank + 1.0)}), [[3.0, 3.0]])
        expect_shape_error(lambda: sess.run(total, {p: numpy.ones((1 + rank, 2), numpy.float32)}),
                           "rank 0 has shape [1, 2]", "rank 1 has shape [2, 2]")
        got = sess.run(hvd.broadcast(tf.constant(float(rank)), 1))
        assert got == 1.0, got
    hvd.shutdown()
    print(f"PASS rank {rank}", flush=True)


if __name__ == "__main__":
    main()
    sys.exit(0)
