"""nn.Module's bookkeeping as PyTorch keeps it: what an assignment registers (a reassigned buffer stays a buffer,
a parameter takes only a Parameter or None and keeps its place), non-persistent buffers, dtype casts that leave
integer buffers alone, train()/eval() through each child's own train(), shared modules and tensors listed once,
and Dropout's ``inplace``. Hand values here; tests/test_reference_torch_modules.py runs the same scenarios in
PyTorch itself."""
import numpy as np
import pytest

import eager_api as torch
import eager_api.nn as nn
import eager_api.nn.functional as F


class EMA(nn.Module):
    """A running average kept by reassigning its buffer, the usual PyTorch idiom."""

    def __init__(self):
        super().__init__()
        self.register_buffer("ema", torch.zeros(2))

    def forward(self, x):
        self.ema = self.ema * 0.9 + x * 0.1
        return x


class WithTemp(nn.Module):
    """A persistent and a non-persistent buffer around a child."""

    def __init__(self):
        super().__init__()
        self.register_buffer("tmp", torch.zeros(2), persistent=False)
        self.register_buffer("pers", torch.ones(2))
        self.l = nn.Linear(1, 1)


class FrozenBN(nn.BatchNorm1d):
    """A BatchNorm that always stays in eval mode, whatever its parent is switched to."""

    def train(self, mode=True):
        return super().train(False)


def _names(pairs):
    return [n for n, _ in pairs]


# ----- 1. assignment rules ---------------------------------------------------------------------------------------
def test_reassigning_a_buffer_keeps_it_a_buffer_saved_and_cast():
    m = EMA()
    m(torch.ones(2))
    m(torch.ones(2))
    assert list(m.state_dict()) == ["ema"] and _names(m.named_buffers()) == ["ema"]
    np.testing.assert_allclose(m.state_dict()["ema"].numpy(), [0.19, 0.19], rtol=1e-6)   # 0.1, then 0.09 + 0.1
    m.double()
    assert m.ema.dtype == torch.float64 and "ema" not in m.__dict__
    m.ema = None                # None keeps the name registered, and state_dict skips it
    assert "ema" in m._buffers and list(m.state_dict()) == []


def test_a_parameter_takes_only_a_parameter_or_none_and_keeps_its_place():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter 'weight' "
                                        r"\(torch.nn.Parameter or None expected\)"):
        m.weight = m.weight.detach() * 2
    m.weight = nn.Parameter(torch.ones(2, 2))         # replaced in place: still first
    assert _names(m.named_parameters()) == ["weight", "bias"] and list(m.state_dict()) == ["weight", "bias"]
    assert m.weight.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    m.bias = None
    assert "bias" in m._parameters and m.bias is None
    assert _names(m.named_parameters()) == ["weight"] and list(m.state_dict()) == ["weight"]


def test_assignments_move_a_name_between_tables_as_pytorch_does():
    m = nn.Module()
    m.register_buffer("x", torch.zeros(1))
    m.x = nn.Linear(1, 1)                              # a Module over a buffer: now a child
    assert list(m._modules) == ["x"] and list(m._buffers) == []
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'x'"):
        m.x = 3
    m.x = None
    assert "x" in m._modules and list(m.modules()) == [m]
    m.x = nn.Parameter(torch.ones(1))                  # a Parameter over a child: now a parameter
    assert list(m._parameters) == ["x"] and list(m._modules) == []
    with pytest.raises(TypeError, match="cannot assign 'eager_api.nn.modules.Linear' as parameter 'x'"):
        m.x = nn.Linear(1, 1)                          # only a Parameter or None replaces a parameter
    m.register_buffer("b", torch.zeros(1))
    with pytest.raises(TypeError, match="cannot assign 'str' as buffer 'b'"):
        m.b = "text"
    m.plain = torch.ones(1)                            # a tensor under a new name is a plain attribute
    assert "plain" in m.__dict__ and list(m.state_dict()) == ["x", "b"]


def test_registration_checks_names_and_values():
    m = nn.Module()
    m.plain = 1
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", torch.zeros(1))
    with pytest.raises(KeyError) as info:
        m.register_buffer("a.b", torch.zeros(1))
    assert info.value.args == ('buffer name can\'t contain "."',)
    with pytest.raises(KeyError) as info:
        m.register_parameter("", None)
    assert info.value.args == ('parameter name can\'t be empty string ""',)
    with pytest.raises(TypeError, match="object to buffer 'c'"):
        m.register_buffer("c", [1.0])
    with pytest.raises(TypeError, match="object to parameter 'w'"):
        m.register_parameter("w", torch.ones(1))
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("child", 3)
    m.register_buffer("c", None)            # registered as None: kept as a name, not saved
    assert "c" in m._buffers and list(m.state_dict()) == []


def test_a_layer_without_bias_registers_bias_as_none():
    for m in (nn.Linear(2, 2, bias=False), nn.BatchNorm1d(2, affine=False)):
        assert m._parameters["bias"] is None and "bias" not in m.__dict__
    bn = nn.BatchNorm1d(2, track_running_stats=False)
    assert list(bn._buffers.items()) == [("running_mean", None), ("running_var", None),
                                         ("num_batches_tracked", None)]
    assert list(bn.state_dict()) == ["weight", "bias"]


# ----- 2. non-persistent buffers ---------------------------------------------------------------------------------
def test_non_persistent_buffers_are_moved_and_listed_but_not_saved():
    a, b = WithTemp(), WithTemp()
    assert list(a.state_dict()) == ["pers", "l.weight", "l.bias"]
    assert _names(a.named_buffers()) == ["tmp", "pers"]
    res = b.load_state_dict(a.state_dict())            # strict: tmp is neither expected nor missing
    assert res.missing_keys == [] and res.unexpected_keys == [] and str(res) == "<All keys matched successfully>"
    a.tmp = torch.full((2,), 3.0)                      # reassigned: still a non-persistent buffer
    assert list(a.state_dict()) == ["pers", "l.weight", "l.bias"]
    a.double()
    assert a.tmp.dtype == torch.float64 and a.tmp.tolist() == [3.0, 3.0]
    a.register_buffer("tmp", a.tmp)                    # registered again as persistent: saved
    assert list(a.state_dict()) == ["tmp", "pers", "l.weight", "l.bias"]
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "tmp"'):
        b.load_state_dict(a.state_dict())


# ----- 3. dtype casts leave integer buffers alone --------------------------------------------------------------
def test_module_dtype_casts_only_touch_floating_tensors():
    bn = nn.BatchNorm1d(2)
    bn.register_buffer("idx", torch.arange(3))
    assert [str(t.dtype) for t in bn.double().state_dict().values()] == \
        ["float64", "float64", "float64", "float64", "int64", "int64"]
    assert bn.half().running_mean.dtype == torch.float16 and bn.num_batches_tracked.dtype == torch.int64
    bn.float().to(torch.float64)
    assert bn.weight.dtype == torch.float64 and bn.idx.dtype == torch.int64 and bn.idx.tolist() == [0, 1, 2]
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point or complex dtypes"):
        bn.to(torch.int64)


def test_batchnorm_counts_batches_as_an_integer_after_double():
    bn = nn.BatchNorm1d(2, momentum=None).double()
    bn(torch.randn(3, 2, dtype=torch.float64))
    bn(torch.randn(3, 2, dtype=torch.float64))
    assert bn.num_batches_tracked.dtype == torch.int64 and bn.num_batches_tracked.item() == 2


# ----- 4. train()/eval() go through each child's train() ------------------------------------------------------
def test_train_honours_a_child_that_overrides_train():
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(FrozenBN(2)))
    assert m.train() is m
    assert [x.training for x in m.modules()] == [True, True, True, False]
    assert m.eval() is m and [x.training for x in m.modules()] == [False] * 4
    m[1].train()                        # a child alone: the parent keeps its flag
    assert [x.training for x in m.modules()] == [False, False, True, False]
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        m.train("yes")


# ----- 5. shared modules and tensors are listed once ------------------------------------------------------------
def test_a_shared_module_is_listed_once_but_saved_under_each_name():
    a = nn.Linear(1, 1)
    s = nn.Sequential(a, nn.ReLU(), a)
    assert _names(s.named_modules()) == ["", "0", "1"] and len(list(s.modules())) == 3
    assert _names(s.named_children()) == ["0", "1"]
    assert len(list(s.named_modules(remove_duplicate=False))) == 4
    calls = []
    s.apply(lambda mod: calls.append(type(mod).__name__))
    assert calls == ["Linear", "ReLU", "Sequential"]
    assert _names(s.named_parameters()) == ["0.weight", "0.bias"] and len(list(s.parameters())) == 2
    assert _names(s.named_parameters(remove_duplicate=False)) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(s.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert str(s.load_state_dict(s.state_dict())) == "<All keys matched successfully>"
    twice = nn.Sequential(a, a)
    assert len(list(twice.children())) == 1 and len(list(twice.modules())) == 2
    s.double()                          # the shared module is cast once, not twice
    assert a.weight.dtype == torch.float64


def test_a_tied_weight_is_listed_once_and_keeps_the_order_of_the_state_dict():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.weight = a.weight
    s = nn.Sequential(a, b)
    assert _names(s.named_parameters()) == ["0.weight", "0.bias", "1.bias"] and len(list(s.parameters())) == 3
    assert list(s.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_state_dict_prefix_keep_vars_and_sequential_slices():
    m = nn.Linear(1, 1)
    sd = m.state_dict(prefix="x.", keep_vars=True)
    assert list(sd) == ["x.weight", "x.bias"] and sd["x.weight"] is m.weight
    assert not m.state_dict()["weight"].requires_grad
    s = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 2))
    tail = s[1:]
    assert type(tail) is nn.Sequential and len(tail) == 2 and tail[1] is s[2]
    assert _names(tail.named_parameters()) == ["2.weight", "2.bias"]


# ----- 6. Dropout's inplace -------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer,fn", [(nn.Dropout, "dropout"), (nn.Dropout1d, "dropout1d"),
                                      (nn.Dropout2d, "dropout2d")])
def test_dropout_modules_pass_inplace_to_the_functional_form(layer, fn, monkeypatch):
    seen = []
    monkeypatch.setattr(F, fn, lambda x, p, training, inplace=False: seen.append((p, training, inplace)) or x)
    layer(0.3, inplace=True)(torch.ones(2, 3, 4))
    layer(0.3)(torch.ones(2, 3, 4))
    assert seen == [(0.3, True, True), (0.3, True, False)]


@pytest.mark.parametrize("layer,shape", [(nn.Dropout, (100,)), (nn.Dropout1d, (4, 50, 2)),
                                         (nn.Dropout2d, (4, 50, 2, 2))])
def test_inplace_dropout_writes_into_its_input(layer, shape):
    torch.manual_seed(0)
    x = torch.ones(*shape)
    y = layer(0.5, inplace=True)(x)
    assert set(np.unique(x.numpy())) == {0.0, 2.0}          # x itself holds the dropped and scaled values
    np.testing.assert_array_equal(x.numpy(), y.numpy())
