"""The op table on the CuPy backend against the NumPy backend, GPU gradient checks, and GPU training.

Run with ``pytest -m gpu``; every test skips with the reason when no GPU is usable.
"""

import numpy as np
import pytest

import core
from core import device
from core.gradcheck import gradcheck
from tests.op_table import CASES

pytestmark = pytest.mark.gpu


@pytest.fixture(autouse=True)
def _poison(monkeypatch):
    monkeypatch.setenv("DUALFLOW_POISON", "1")


def _run(case, dev, dtype):
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in case.inputs]
    with device.use(dev):
        out = case.fn(*[core.value(a, dtype=a.dtype) for a in arrays])
    out = out[0] if isinstance(out, tuple) else out
    import backends
    return backends.get_backend(out.device).to_host(out.data)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cupy_matches_numpy_float32(gpu, case):
    cpu = _run(case, "cpu", np.float32)
    got = _run(case, str(gpu), np.float32)
    assert got.shape == cpu.shape and got.dtype == cpu.dtype
    if got.dtype.kind == "f":
        assert not np.isnan(got).any(), "unwritten (poisoned) elements in the GPU result"
        np.testing.assert_allclose(got, cpu, rtol=1e-4, atol=1e-5)
    else:
        np.testing.assert_array_equal(got, cpu)


GPU_GRAD = [c for c in CASES if c.grad and any(k in c.name for k in ("conv2d", "pool", "xent", "matmul"))]


@pytest.mark.parametrize("case", GPU_GRAD, ids=[c.name for c in GPU_GRAD])
def test_custom_kernels_gradcheck_float64_on_gpu(gpu, case):
    assert gradcheck(case.fn, case.inputs, wrt=case.wrt, dev=gpu)


@pytest.mark.parametrize("shape,k,s,p,d", [((1, 3, 31, 29), 3, 2, 1, 1), ((3, 5, 17, 13), (5, 3), 1, "same", 2),
                                           ((2, 70, 9, 9), 1, 1, 0, 1), ((65, 2, 7, 7), 3, 2, "valid", 1)])
def test_conv_odd_shapes_match_cpu(gpu, shape, k, s, p, d):
    rng = np.random.default_rng(0)
    kk = (k, k) if isinstance(k, int) else k
    x = rng.normal(size=shape).astype(np.float32)
    w = rng.normal(size=(67, shape[1]) + kk).astype(np.float32)
    res = []
    for dev in ("cpu", str(gpu)):
        with device.use(dev):
            xv, wv = core.value(x, requires_grad=True), core.value(w, requires_grad=True)
            y = core.conv2d(xv, wv, s, p, d)
            g = core.value(np.ones(y.shape, np.float32))
            gx, gw = core.gradients([y], [xv, wv], [g])
            import backends
            be = backends.get_backend(y.device)
            res.append([be.to_host(t.data) for t in (y, gx, gw)])
    for a, b in zip(*res):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-3)


def test_label_out_of_range_gives_nan_on_gpu_without_a_host_check(gpu):
    with device.use(str(gpu)):
        z = core.value(np.zeros((3, 4), np.float32))
        loss = core.softmax_cross_entropy(z, core.value(np.array([0, 4, 1])))
        import backends
        got = backends.get_backend(loss.device).to_host(loss.data)
    assert np.isnan(got[1]) and np.allclose(got[[0, 2]], np.log(4))


def _seed_cnn_losses(frontend, dev, steps):
    """A learnable synthetic task: a bright 7x7 square at one of 10 places; the label is the place."""
    from core import datasets
    from dualflow import cli
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 512)
    images = rng.random((512, 1, 28, 28), dtype=np.float32) * 0.3
    for i, lab in enumerate(labels):
        r, c = divmod(int(lab), 5)
        images[i, 0, 3 + 12 * r:10 + 12 * r, 1 + 5 * c:8 + 5 * c] += 1.0
    data = datasets.ImageDataset("synthetic squares", images, labels, 10)
    with device.use(dev):
        return cli.train_losses(frontend, data, steps=steps, batch_size=64, seed=0)


@pytest.mark.parametrize("frontend", ["eager", "static"])
def test_seed_cnn_trains_200_steps_on_gpu(gpu, frontend):
    losses = _seed_cnn_losses(frontend, str(gpu), 200)
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])
    cpu = _seed_cnn_losses(frontend, "cpu", 20)
    np.testing.assert_allclose(losses[:20], cpu, rtol=2e-3)


@pytest.mark.parametrize("mode", ["tf1", "keras", "keras_amsgrad_decay", "torch"])
def test_fused_adam_steps_on_gpu_match_the_cpu(gpu, mode):
    """The CuPy Adam kernels (PyTorch's, and TF1's / Keras' ``AdamPowers``) with their step state on the
    device: the CPU's values to float32 rounding (the GPU may contract multiply-adds)."""
    import backends
    from core.ops import optim as O
    rng = np.random.default_rng(2)
    w0 = rng.standard_normal(1000).astype(np.float32)
    grads = [(rng.standard_normal(1000) * 10.0 ** rng.integers(-3, 2, 1000)).astype(np.float32) for _ in range(5)]
    make = {"tf1": lambda: O.AdamPowers(inplace=True),
            "keras": lambda: O.AdamPowers(keras=True, inplace=True),
            "keras_amsgrad_decay": lambda: O.AdamPowers(keras=True, amsgrad=True, weight_decay=0.01, inplace=True),
            "torch": lambda: O.Adam(inplace=True)}[mode]
    results = []
    for be in (backends.get_backend("cpu"), backends.get_backend(str(gpu))):
        op, xp = make(), be.xp
        w = be.asarray(w0.copy())
        slots = [be.asarray(s) for s in op.init_slots(backends.get_backend("cpu"), w0)]
        powers = tuple(xp.asarray(np.float32(b)) for b in (0.9, 0.999))
        count = xp.zeros((), np.int64)
        for g in grads:
            count += 1
            op.forward(be, w, be.asarray(g), *slots, 1e-3, powers if mode == "tf1" else count)
            if mode == "tf1":
                op.advance(be, powers)
        results.append(be.to_host(w))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-7)
    assert not np.allclose(results[0], w0)
