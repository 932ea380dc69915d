"""nn.Module's bookkeeping against PyTorch itself: each scenario runs once with ``eager_api`` and once with
``torch`` and the two summaries (state_dict keys, order and dtypes, named_parameters, modules() counts, training
flags, error types and messages) must be equal; state dicts move both ways between the two with strict loads.
The hand-valued twins of these checks are in tests/test_module_machinery.py."""
import numpy as np
import pytest

import eager_api

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.reference

LIBS = [eager_api, torch]


def _dtype(t):
    return str(t.dtype).replace("torch.", "")


def _summary(m):
    """What a checkpoint and an optimizer see of a module: state_dict keys in order with their dtypes, the
    parameter and buffer names, the module names."""
    return {"state": [(k, _dtype(v)) for k, v in m.state_dict().items()],
            "params": [n for n, _ in m.named_parameters()],
            "buffers": [(n, _dtype(b)) for n, b in m.named_buffers()],
            "modules": [n for n, _ in m.named_modules()]}


def _both(scenario):
    """The scenario's result in eager_api and in PyTorch."""
    return [scenario(lib) for lib in LIBS]


def _net(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 4)
            self.bn = nn.BatchNorm1d(4)
            self.register_buffer("nonp", lib.zeros(2), persistent=False)
            self.register_buffer("idx", lib.arange(3))
            self.w = nn.Parameter(lib.ones(2))
            self.seq = nn.Sequential(nn.Linear(4, 2), nn.ReLU(), nn.Dropout(0.5))

    return Net()


def _ema(lib):
    class EMA(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("ema", lib.zeros(2))

        def forward(self, x):
            self.ema = self.ema * 0.9 + x * 0.1
            return x

    return EMA()


def _error(fn):
    """The exception ``fn`` raises, as (type name, message), or None."""
    try:
        fn()
    except Exception as exc:            # noqa: BLE001  (compared between the two libraries)
        return type(exc).__name__, str(exc)
    return None


@pytest.mark.parametrize("cast", ["none", "double", "float", "half", "to_float64"])
def test_registration_order_and_dtype_casts_match(cast):
    def scenario(lib):
        m = _net(lib)
        if cast == "to_float64":
            m.to(lib.float64)
        elif cast != "none":
            getattr(m.double(), cast)()     # from float64, so that a cast of the integer buffers would show
        return _summary(m)
    ours, theirs = _both(scenario)
    assert ours == theirs
    assert ("idx", "int64") in ours["buffers"] and ("bn.num_batches_tracked", "int64") in ours["state"]


def test_module_to_an_integer_dtype_is_refused_alike():
    ours, theirs = _both(lambda lib: _error(lambda: lib.nn.Linear(1, 1).to(lib.int64)))
    assert ours == theirs and ours[0] == "TypeError"


def test_reassigned_buffer_stays_a_buffer():
    def scenario(lib):
        m = _ema(lib)
        m(lib.ones(2))
        m(lib.ones(2))
        before = _summary(m)
        m.double()
        return before, _summary(m), m.ema.tolist()
    ours, theirs = _both(scenario)
    assert ours[:2] == theirs[:2]
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)


def test_parameter_assignment_rules_match():
    def scenario(lib):
        m = lib.nn.Linear(2, 2)
        refused = _error(lambda: setattr(m, "weight", m.weight.detach() * 2))
        m.weight = lib.nn.Parameter(lib.ones(2, 2))
        replaced = _summary(m)
        m.bias = None
        return refused, replaced, _summary(m), "bias" in m._parameters, m.bias is None
    ours, theirs = _both(scenario)
    assert ours == theirs


def test_assignments_between_tables_match():
    def scenario(lib):
        nn = lib.nn
        m = nn.Module()
        m.register_buffer("x", lib.zeros(1))
        m.x = nn.Linear(1, 1)                       # a buffer replaced by a child
        after_module = _summary(m)
        m.x = nn.Parameter(lib.ones(1))             # a child replaced by a parameter
        after_param = _summary(m)
        refused = _error(lambda: setattr(m, "x", nn.Linear(1, 1)))
        m.register_buffer("b", lib.zeros(1))
        bad_buffer = _error(lambda: setattr(m, "b", "text"))
        m.plain = lib.ones(1)
        return after_module, after_param, refused[0], bad_buffer, _summary(m)
    ours, theirs = _both(scenario)
    assert ours == theirs


@pytest.mark.parametrize("call", [
    lambda lib, m: m.register_buffer("plain", lib.zeros(1)),
    lambda lib, m: m.register_buffer("a.b", lib.zeros(1)),
    lambda lib, m: m.register_parameter("", None),
    lambda lib, m: m.register_buffer("c", [1.0]),
    lambda lib, m: m.register_parameter("w", lib.ones(1)),
    lambda lib, m: m.add_module("child", 3),
    lambda lib, m: m.train("yes"),
])
def test_registration_errors_match(call):
    def scenario(lib):
        m = lib.nn.Module()
        m.plain = 1
        return _error(lambda: call(lib, m))
    ours, theirs = _both(scenario)
    assert ours == theirs and ours is not None


def test_layers_without_bias_or_running_stats_match():
    def scenario(lib):
        nn = lib.nn
        mods = [nn.Linear(2, 2, bias=False), nn.BatchNorm1d(2, affine=False),
                nn.BatchNorm1d(2, track_running_stats=False)]
        return [(list(m._parameters), list(m._buffers), _summary(m)) for m in mods]
    ours, theirs = _both(scenario)
    assert ours == theirs


def test_non_persistent_buffers_match_and_checkpoints_load_strictly_both_ways():
    ours, theirs = _net(eager_api), _net(torch)
    assert _summary(ours) == _summary(theirs)
    assert "nonp" not in theirs.state_dict() and "nonp" in dict(theirs.named_buffers())
    with torch.no_grad():
        for t in theirs.state_dict().values():
            if t.is_floating_point():
                t.uniform_(-1, 1)
    res = ours.load_state_dict({k: eager_api.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    assert str(res) == str(theirs.load_state_dict(theirs.state_dict())) == "<All keys matched successfully>"
    for (k, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert _dtype(a) == _dtype(b)
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    back = _net(torch)
    assert str(back.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})) == \
        "<All keys matched successfully>"


def test_train_and_eval_honour_overrides_alike():
    def scenario(lib):
        nn = lib.nn

        class FrozenBN(nn.BatchNorm1d):
            def train(self, mode=True):
                return super().train(False)

        m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(FrozenBN(2)))
        flags = [[x.training for x in m.train().modules()], [x.training for x in m.eval().modules()]]
        m[1].train()
        return flags + [[x.training for x in m.modules()]]
    ours, theirs = _both(scenario)
    assert ours == theirs


def test_shared_modules_and_tied_weights_match():
    def scenario(lib):
        nn = lib.nn
        a = nn.Linear(1, 1)
        s = nn.Sequential(a, nn.ReLU(), a)
        calls = []
        s.apply(lambda mod: calls.append(type(mod).__name__))
        twice = nn.Sequential(a, a)
        b, c = nn.Linear(2, 2), nn.Linear(2, 2)
        c.weight = b.weight
        tied = nn.Sequential(b, c)
        return (_summary(s), len(list(s.modules())), [n for n, _ in s.named_children()], calls,
                [n for n, _ in s.named_parameters(remove_duplicate=False)],
                len(list(s.named_modules(remove_duplicate=False))),
                len(list(twice.children())), len(list(twice.modules())),
                _summary(tied), len(list(tied.parameters())), str(s.load_state_dict(s.state_dict())))
    ours, theirs = _both(scenario)
    assert ours == theirs


def test_state_dict_arguments_and_sequential_slices_match():
    def scenario(lib):
        nn = lib.nn
        m = nn.Linear(1, 1)
        sd = m.state_dict(prefix="x.", keep_vars=True)
        s = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 2))
        tail = s[1:]
        return (list(sd), sd["x.weight"] is m.weight, m.state_dict()["weight"].requires_grad,
                type(tail).__name__, len(tail), _summary(tail))
    ours, theirs = _both(scenario)
    assert ours == theirs


def test_batchnorm_counts_batches_as_an_integer_after_double_alike():
    def scenario(lib):
        bn = lib.nn.BatchNorm1d(2, momentum=None).double()
        for _ in range(2):
            bn(lib.randn(3, 2, dtype=lib.float64))
        return _dtype(bn.num_batches_tracked), bn.num_batches_tracked.item()
    ours, theirs = _both(scenario)
    assert ours == theirs == ("int64", 2)


@pytest.mark.parametrize("name,shape", [("Dropout", (100,)), ("Dropout1d", (4, 50, 2)),
                                        ("Dropout2d", (4, 50, 2, 2))])
def test_inplace_dropout_modules_write_into_their_input_alike(name, shape):
    def scenario(lib):
        x = lib.ones(*shape)
        y = getattr(lib.nn, name)(0.5, inplace=True)(x)
        return sorted(set(x.reshape(-1).tolist())), bool((x == y).all())
    ours, theirs = _both(scenario)
    assert ours == theirs == ([0.0, 2.0], True)
