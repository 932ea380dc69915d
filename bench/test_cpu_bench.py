"""CPU benchmarks with PyTorch CPU as the peer when installed.

    python -m pytest bench/ --benchmark-only --benchmark-columns=median,ops -s

The per-layer table (``bench/cpu_layers.py``) prints its own ratios, measured interleaved; for the steps,
compare the ``dualflow`` and ``torch`` rows of one run.
"""
import os

import numpy as np
import pytest

# PyTorch's OpenMP threads otherwise spin between its ops and take the cores dualflow's threads need
# (bench/cpu_layers.py); read when PyTorch loads, so before any test here imports it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.mark.parametrize("threads", [1, 2])
def test_layers_vs_torch(benchmark, threads):
    """The per-layer table of ``bench/cpu_layers.py`` (interleaved with PyTorch, minimums), printed."""
    pytest.importorskip("torch")
    import cpu_layers       # bench/ is on sys.path: pytest puts a test file's folder there
    table = benchmark.pedantic(cpu_layers.run, args=([threads], 9), rounds=1, iterations=1)
    benchmark.extra_info["table"] = table
    print("\n" + table)


# A whole training step of the seed CNN at a small batch, where the time is mostly host-side dispatch
# (primitives, autograd, optimizer): the same Python runs in front of the GPU kernels.  lr = 0 keeps the
# weights, and so the per-step arithmetic, fixed: a model fitted to one batch drifts into denormal floats,
# which would time the CPU's slow path instead of the framework.
STEP_BATCH = 1


def _step_batch():
    rng = np.random.default_rng(0)
    return rng.random((STEP_BATCH, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, STEP_BATCH)


@pytest.mark.parametrize("frontend", ["eager", "static"])
def test_dualflow_seed_step(benchmark, frontend):
    from dualflow import models
    x, y = _step_batch()
    model = models.FRONTENDS[frontend](models.init_weights((28, 28), 10, 0), 0.0, (28, 28))
    benchmark(lambda: model.loss_value(model.step(x, y)))


def test_torch_seed_step(benchmark):
    pytest.importorskip("torch")
    from dualflow import models
    x, y = _step_batch()
    model = models.TorchPeer(models.init_weights((28, 28), 10, 0), 0.0, (28, 28))
    benchmark(lambda: model.loss_value(model.step(x, y)))
