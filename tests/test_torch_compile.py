"""torch.compile: PyTorch's wrapper and checks around the eager model (dualflow's eager frontend does not trace;
its static frontend compiles): the same values and gradients as the model itself, ``_orig_mod`` and its
``state_dict`` prefix, attributes through to the model, the decorator form, ``disable``, and the argument errors."""
import numpy as np
import pytest

import eager_api as torch


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Dropout(0.0), torch.nn.Linear(8, 3))


def test_a_compiled_model_trains_to_the_plain_models_bits():
    plain, inner = _model(), _model()
    compiled = torch.compile(inner)
    assert compiled._orig_mod is inner and type(compiled).__name__ == "OptimizedModule"
    rng = np.random.default_rng(1)
    opts = [torch.optim.Adam(m.parameters(), lr=0.01) for m in (plain, compiled)]
    for _ in range(3):
        x, y = torch.tensor(rng.normal(size=(5, 4)).astype(np.float32)), torch.tensor(rng.integers(0, 3, 5))
        for m, opt in zip((plain, compiled), opts):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(m(x), y).backward()
            opt.step()
    for (n, a), (k, b) in zip(plain.state_dict().items(), compiled.state_dict().items()):
        assert k == "_orig_mod." + n
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(plain.state_dict()["0.weight"].numpy(), _model().state_dict()["0.weight"].numpy())


def test_the_wrapper_reads_and_writes_through_and_switches_modes():
    m = torch.nn.Linear(3, 2)
    c = torch.compile(m)
    assert c.weight is m.weight and c.in_features == 3 and [n for n, _ in c.named_children()] == ["_orig_mod"]
    c.scale = 2.0
    assert m.scale == 2.0
    c.eval()
    assert not m.training and not c.training
    c.train()
    assert m.training and c.training
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "_orig_mod.weight"'):
        c.load_state_dict(m.state_dict())
    c.load_state_dict({"_orig_mod." + k: v * 0 for k, v in m.state_dict().items()})
    assert (m.weight.detach().numpy() == 0).all()


def test_functions_decorators_disable_and_errors():
    def double(x):
        return x * 2
    f = torch.compile(double)
    assert f.__name__ == "double" and f(torch.ones(2)).tolist() == [2, 2]
    g = torch.compile(mode="max-autotune")(double)
    assert g(torch.ones(1)).tolist() == [2]
    m = torch.nn.Linear(2, 2)
    assert torch.compile(m, disable=True) is m
    assert type(torch.compile(m, backend="eager", fullgraph=True, dynamic=False)).__name__ == "OptimizedModule"
    with pytest.raises(RuntimeError, match="Unrecognized mode=fast, should be one of: default, lite, "
                                           "reduce-overhead, max-autotune-no-cudagraphs, max-autotune"):
        torch.compile(m, mode="fast")
    with pytest.raises(RuntimeError, match="Invalid backend: 'nope'"):
        torch.compile(m, backend="nope")
    with pytest.raises(RuntimeError, match="Either mode or options can be specified"):
        torch.compile(m, mode="default", options={})
    with pytest.raises(AssertionError, match="A callable function is expected, but <class 'int'> is provided."):
        torch.compile(5)
