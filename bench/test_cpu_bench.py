"""CPU benchmarks at the seed CNN's shapes (batch 128), with PyTorch CPU as the peer when installed.

    python -m pytest bench/ --benchmark-only --benchmark-columns=median,ops

Compare the ``dualflow`` and ``torch`` rows of one run for the ratio; GFLOP/s is in ``extra_info``.
"""
import numpy as np
import pytest

import core

B = 128
SHAPES = {"conv1_1to32_28": (1, 32, 28), "conv2_32to64_14": (32, 64, 14)}


def _conv_flops(cin, cout, hw):
    return 3 * 2 * B * cout * hw * hw * cin * 9      # forward + two gradients


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_dualflow_conv_fwd_bwd(benchmark, name):
    cin, cout, hw = SHAPES[name]
    rng = np.random.default_rng(0)
    x = core.value(rng.normal(size=(B, cin, hw, hw)).astype(np.float32), dev="cpu", requires_grad=True)
    w = core.value(rng.normal(size=(cout, cin, 3, 3)).astype(np.float32), dev="cpu", requires_grad=True)
    g = core.value(np.ones((B, cout, hw, hw), np.float32), dev="cpu")

    def step():
        y = core.conv2d(x, w, 1, 1)
        return core.gradients([y], [x, w], [g])
    benchmark(step)
    benchmark.extra_info["gflops"] = _conv_flops(cin, cout, hw) / benchmark.stats.stats.median / 1e9


def test_dualflow_max_pool_fwd_bwd(benchmark):
    x = core.value(np.random.default_rng(0).normal(size=(B, 32, 28, 28)).astype(np.float32), dev="cpu",
                   requires_grad=True)
    g = core.value(np.ones((B, 32, 14, 14), np.float32), dev="cpu")

    def step():
        y, _ = core.max_pool2d(x, 2)
        return core.gradients([y], [x], [g])
    benchmark(step)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_torch_conv_fwd_bwd(benchmark, name):
    torch = pytest.importorskip("torch")
    cin, cout, hw = SHAPES[name]
    x = torch.randn(B, cin, hw, hw, requires_grad=True)
    w = torch.randn(cout, cin, 3, 3, requires_grad=True)
    g = torch.ones(B, cout, hw, hw)
    benchmark(lambda: torch.autograd.grad(torch.nn.functional.conv2d(x, w, padding=1), [x, w], g))
    benchmark.extra_info["gflops"] = _conv_flops(cin, cout, hw) / benchmark.stats.stats.median / 1e9


def test_torch_max_pool_fwd_bwd(benchmark):
    torch = pytest.importorskip("torch")
    x = torch.randn(B, 32, 28, 28, requires_grad=True)
    g = torch.ones(B, 32, 14, 14)
    benchmark(lambda: torch.autograd.grad(torch.nn.functional.max_pool2d(x, 2), [x], g))


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
