"""Peak host memory of one eager seed-CNN training step (tracemalloc sees NumPy's buffers), CPU, batch 128.

    PYTHONPATH=. python bench/eager_memory.py

Prints the peak traced bytes above the state before the step (weights, batch and optimizer state exist
already: the second step is measured, so momentum buffers are allocated), median of 5 steps.
"""
import statistics
import tracemalloc

import numpy

from core import device


def main() -> None:
    try:
        from dualflow import models
    except ImportError:         # before the app moved out of core
        from core import seed_cnn as models
    rng = numpy.random.default_rng(0)
    with device.use("cpu"):
        model = models.Eager(models.init_weights((28, 28), 10, 0), 0.01, (28, 28))
        x = rng.random((128, 1, 28, 28), dtype=numpy.float32)
        y = rng.integers(0, 10, 128)
        model.step(x, y)
        peaks = []
        for _ in range(5):
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            model.step(x, y)
            peaks.append(tracemalloc.get_traced_memory()[1] - before)
            tracemalloc.stop()
    print(f"eager seed-CNN step, batch 128: peak {statistics.median(peaks) / 2**20:.1f} MiB above the start")


if __name__ == "__main__":
    main()
