"""Run with ``mpiexec -n 2``: Keras ``fit`` with ``hvd.DistributedOptimizer`` and the broadcast callback on 2
ranks, each on its shard (batch B/2), against ``fit`` in one process with batch B: the same weights after 20
steps (SGD with momentum, and Adam) and, with MetricAverageCallback, the same logged loss on every rank.
"""
import sys

import numpy

import static_api as tf
import static_api.distribute.keras as hvd
from static_api import keras

B, STEPS = 16, 20


def model(seed: int, opt, distributed: bool):
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(seed)          # different initial weights per rank until the callback broadcasts
        m = keras.Sequential([
            keras.layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax")])
        m.compile(optimizer=hvd.DistributedOptimizer(opt()) if distributed else opt(),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def main() -> None:
    hvd.init()
    rank, size = hvd.rank(), hvd.size()
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((STEPS * B, 8, 8, 1)).astype(numpy.float32)
    y = rng.integers(0, 10, STEPS * B)
    # This rank's shard: its half of every global batch, in order.
    half = B // size
    mine = numpy.concatenate([numpy.arange(s * B + rank * half, s * B + (rank + 1) * half) for s in range(STEPS)])
    for name, opt in (("sgd", lambda: keras.optimizers.SGD(0.1, momentum=0.9)),
                      ("adam", lambda: keras.optimizers.Adam(0.01))):
        ref = model(100, opt, False)
        h_ref = ref.fit(x, y, batch_size=B, epochs=1, shuffle=False, verbose=0)
        dist = model(100 + rank, opt, True)
        h = dist.fit(x[mine], y[mine], batch_size=half, epochs=1, shuffle=False, verbose=0,
                     callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0),
                                hvd.callbacks.MetricAverageCallback()])
        worst = max(float(numpy.abs(a - b).max()) for a, b in zip(ref.get_weights(), dist.get_weights()))
        print(f"rank {rank} keras {name}: max |distributed - single| = {worst:.2e}", flush=True)
        for i, (a, b) in enumerate(zip(ref.get_weights(), dist.get_weights())):
            numpy.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5, err_msg=f"{name}: weight {i}")
        # Each rank's loss is over its shard; averaged, it is the loss over the global batches.
        numpy.testing.assert_allclose(h.history["loss"], h_ref.history["loss"], rtol=1e-5)
        numpy.testing.assert_allclose(h.history["accuracy"], h_ref.history["accuracy"], rtol=1e-6)
    print(f"PASS rank {rank}", flush=True)


if __name__ == "__main__":
    main()
    sys.exit(0)
