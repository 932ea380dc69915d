"""The flat update of eager ``optimizer.step()`` (``ApplyUpdates`` with ``flat`` and ``gather``): the parameters
of one dtype and step count are gathered into one buffer, updated by one call of the update primitive and
copied back into their own buffers; PyTorch's state entries live packed, one buffer per entry name.  The
reference is the per-parameter path (``DUALFLOW_FLAT_UPDATES=0``, one call per parameter), whose values
``tests/test_reference_torch.py`` checks against PyTorch.  No arithmetic is reordered, so the bits must agree.
Only Adam and AdamW take the flat path by default (``Optimizer._flat``); the tests switch it on for all."""
import numpy as np
import pytest

import eager_api as torch
import eager_api.nn as nn
import eager_api.optim as optim
from core.ops import state as state_ops
from tests.helpers import assert_same_bits

OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    "sgd_dampening_decay": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01),
    "sgd_nesterov_maximize": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.02,
                                                  maximize=True),
    "sgd_decay_maximize": lambda ps: optim.SGD(ps, lr=0.1, weight_decay=0.05, maximize=True),
    "adam": lambda ps: optim.Adam(ps, lr=0.01),
    "adam_amsgrad_decay_maximize": lambda ps: optim.Adam(ps, lr=0.01, betas=(0.8, 0.9), weight_decay=0.1,
                                                         amsgrad=True, maximize=True),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.01),
    "adamw_amsgrad": lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.1, amsgrad=True),
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=0.01),
    "rmsprop_centered": lambda ps: optim.RMSprop(ps, lr=0.01, centered=True),
    "rmsprop_momentum": lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.9),
    "rmsprop_all": lambda ps: optim.RMSprop(ps, lr=0.01, alpha=0.9, momentum=0.5, centered=True,
                                            weight_decay=0.1, maximize=True),
    "adagrad": lambda ps: optim.Adagrad(ps, lr=0.1),
    "adagrad_options": lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.05, initial_accumulator_value=0.3,
                                                weight_decay=0.01, maximize=True),
    "adadelta": lambda ps: optim.Adadelta(ps, lr=1.0),
    "adadelta_options": lambda ps: optim.Adadelta(ps, lr=0.5, rho=0.8, weight_decay=0.1, maximize=True),
}
NAMES = ("W", "b", "s", "T", "d")


class _Model:
    """Five parameters of different shapes: a matrix and a 3-d tensor read through a transpose and a permute
    (their gradients arrive as strided views), a vector, a scalar and a float64 vector (a second dtype: a
    second bucket); each step's loss depends on a new batch, so every step's gradients differ."""

    def __init__(self, make_opt, flat, monkeypatch, groups=None):
        monkeypatch.setenv("DUALFLOW_FLAT_UPDATES", "1" if flat else "0")
        monkeypatch.setattr(optim.Optimizer, "_flat", True)
        self.flat = flat
        rng = np.random.default_rng(0)
        self.p = {
            "W": nn.Parameter(torch.tensor(rng.normal(size=(4, 3)).astype(np.float32))),
            "b": nn.Parameter(torch.tensor(rng.normal(size=4).astype(np.float32))),
            "s": nn.Parameter(torch.tensor(np.float32(0.7))),
            "T": nn.Parameter(torch.tensor(rng.normal(size=(2, 3, 4)).astype(np.float32))),
            "d": nn.Parameter(torch.tensor(rng.normal(size=4))),
        }
        params = [self.p[n] for n in NAMES] if groups is None else [
            {**opts, "params": [self.p[n] for n in names]} for names, opts in groups]
        self.opt = make_opt(params)
        self.rng = np.random.default_rng(1)

    def backward(self):
        p = self.p
        x = torch.tensor(self.rng.normal(size=(5, 3)).astype(np.float32))
        tt = p["T"].permute(2, 0, 1).sum((1, 2))                                   # (4,)
        h = (x @ p["W"].t() + p["b"]) * p["s"] + p["d"].float() + tt
        (torch.tanh(h) ** 2).mean().backward()
        # Gradients set by hand may be strided (autograd's are contiguous): W's a transposed copy, T's every
        # other element of a larger array.
        p["W"].grad = p["W"].grad.t().contiguous().t()
        wide = torch.zeros(2, 3, 8)
        wide[:, :, ::2] = p["T"].grad
        p["T"].grad = wide[:, :, ::2]

    def step(self, skip=()):
        self.opt.zero_grad()
        self.backward()
        for n in skip:
            self.p[n].grad = None
        self.opt.step()
        return self.values()

    def values(self):
        return [self.p[n].detach().numpy().copy() for n in NAMES]

    def state(self):
        """Every state entry of every parameter, in a fixed order (step counts as numbers)."""
        out = []
        for n in NAMES:
            st = self.opt.state.get(self.p[n], {})
            out += [n, *sorted(st)] + [v if isinstance(v, (int, float)) else np.array(v)
                                      for _, v in sorted(st.items())]
        return out

    def packings(self):
        """The live packings of the optimizer's ``ApplyUpdates`` steps."""
        return list(self.opt._core_state.memo.values())


def _both(monkeypatch, make_opt, script, **kw):
    """Run ``script(model)`` (a list of value lists) on the flat and the per-parameter path."""
    got = script(_Model(make_opt, True, monkeypatch, **kw))
    want = script(_Model(make_opt, False, monkeypatch, **kw))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_same_bits(g, w)
    return got, want


def _steps(n):
    def script(m):
        return [m.step() for _ in range(n)] + [m.state()]
    return script


def _flat_entries(m):
    """How many distinct buffers hold the state entries (not counts) of the parameters."""
    bases = set()
    for p in m.p.values():
        for k, v in m.opt.state.get(p, {}).items():
            if k != "step":         # the count: a 0-d tensor of its own, as PyTorch's
                bases.add(id(v.base) if v.base is not None else id(v))
    return len(bases)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_flat_step_gives_the_per_parameter_bits(name, monkeypatch):
    got, _ = _both(monkeypatch, OPTIMIZERS[name], _steps(4))
    assert all(not np.array_equal(a, b) for a, b in zip(got[0], got[3]))        # every parameter trains


def test_flat_path_really_gathers_and_the_reference_really_does_not(monkeypatch):
    flat = _Model(OPTIMIZERS["adam"], True, monkeypatch)
    buffers = {n: p.array for n, p in flat.p.items()}
    held = flat.p["T"].detach().numpy()          # the user's reference to the parameter's storage
    view = flat.p["W"].detach()[1]
    flat.step()
    (packing,) = flat.packings()
    # float32 (W, b, s, T) and float64 (d): two buckets, nothing per parameter.
    assert sorted(len(f.keys) for _, f in packing.buckets) == [1, 4] and packing.rest == []
    # The parameters keep their own buffers, and the user's reference and view see the update.
    assert all(flat.p[n].array is buffers[n] for n in NAMES)
    assert np.array_equal(held, flat.p["T"].detach().numpy()) and held is flat.p["T"].array
    assert np.array_equal(view.numpy(), flat.p["W"].detach().numpy()[1])
    # The state entries live packed: exp_avg and exp_avg_sq, one buffer each per dtype.
    assert _flat_entries(flat) == 4
    assert flat.opt.state[flat.p["W"]]["step"] == 1
    per = _Model(OPTIMIZERS["adam"], False, monkeypatch)
    per.step()
    assert per.packings() == [] and _flat_entries(per) == 10
    # W's and T's gradients are strided, gathered as such.
    flat.opt.zero_grad()
    flat.backward()
    assert not flat.p["W"].grad.array.flags.c_contiguous and not flat.p["T"].grad.array.flags.c_contiguous


@pytest.mark.parametrize("name", ["sgd_momentum", "adam", "adagrad_options", "rmsprop_all"])
def test_param_groups_with_their_own_settings_and_a_scheduler(name, monkeypatch):
    groups = [(("W", "b"), {"lr": 0.05}), (("s", "d"), {"lr": 0.02, "weight_decay": 0.1}), (("T",), {})]

    def script(m):
        sched = optim.lr_scheduler.ExponentialLR(m.opt, gamma=0.5)
        out = []
        for _ in range(4):
            out.append(m.step())
            sched.step()
        assert m.opt.param_groups[0]["lr"] == 0.05 * 0.5 ** 4
        return out + [m.state()]
    _both(monkeypatch, OPTIMIZERS[name], script, groups=groups)


@pytest.mark.parametrize("name", ["sgd_momentum", "sgd_nesterov_maximize", "adam", "adamw_amsgrad", "adagrad_options",
                                  "adadelta", "rmsprop_centered"])
def test_a_parameter_without_a_gradient_falls_behind(name, monkeypatch):
    # b and the float64 d miss steps: their counts fall behind (another bias correction, SGD's first-step
    # buffer later), so they must not share a call with parameters at another count.
    def script(m):
        out = [m.step(skip="bd"), m.step(), m.step(skip="b"), m.step(), m.step()]
        if m.flat and "step" in m.opt.state[m.p["W"]]:
            counts = [m.opt.state[m.p[n]]["step"] for n in NAMES]
            assert counts == [5, 3, 5, 5, 4]
            (packing,) = m.packings()
            # W, s, T at 5 share a call; b (3) and d (float64) have their own.
            assert sorted(len(f.keys) for _, f in packing.buckets) == [1, 1, 3]
        return out + [m.state()]
    _both(monkeypatch, OPTIMIZERS[name], script)


@pytest.mark.parametrize("name", ["sgd_momentum", "adam", "rmsprop_momentum"])
def test_state_dict_round_trips_between_steps(name, monkeypatch):
    def script(m):
        out = [m.step(), m.step()]
        saved = m.opt.state_dict()
        out += [m.step(), m.state()]
        m.opt.load_state_dict(saved)        # back to the state of step 2 (the parameters move on)
        out += [m.state(), m.step(), m.step()]
        # A second optimizer picks up the first one's state, and the packing of its entries
        again = OPTIMIZERS[name](list(m.p.values()))
        again.load_state_dict(m.opt.state_dict())
        m.opt = again
        out += [m.step(), m.step(), m.state()]
        return out
    _both(monkeypatch, OPTIMIZERS[name], script)


def test_a_replaced_state_entry_or_count_is_packed_again(monkeypatch):
    def script(m):
        out = [m.step(), m.step()]
        st = m.opt.state
        st[m.p["W"]]["exp_avg"] = np.full((4, 3), 0.25, np.float32)
        st[m.p["b"]] = {k: (v if isinstance(v, int) else np.array(v)) for k, v in st[m.p["b"]].items()}
        st[m.p["s"]]["step"] = 10                   # s now counts alone
        out += [m.step(), m.state()]
        if m.flat:
            (packing,) = m.packings()
            assert sorted(len(f.keys) for _, f in packing.buckets) == [1, 1, 3]
            assert st[m.p["W"]]["exp_avg"].base is st[m.p["T"]]["exp_avg"].base is not None
        st[m.p["T"]]["exp_avg_sq"][...] = 0.5      # written in place: no repacking needed
        out += [m.step(), m.step(), m.state()]
        return out
    _both(monkeypatch, OPTIMIZERS["adam"], script)


@pytest.mark.parametrize("name", ["sgd_momentum", "adam"])
def test_new_data_and_held_references_between_steps(name, monkeypatch):
    def script(m):
        out = [m.step()]
        held = m.p["b"].detach().numpy()
        m.p["W"].data = torch.full((4, 3), 0.5)              # a new buffer of the same shape
        m.p["T"].data = torch.tensor(np.asarray(m.p["T"].detach().numpy(), order="F"))     # a strided one
        out += [m.step(), m.step()]
        assert np.array_equal(held, m.p["b"].detach().numpy()) and not np.array_equal(held, out[0][1])
        m.p["d"].data = torch.zeros(4, dtype=torch.float64)
        out += [m.step(), m.state()]
        return out
    _both(monkeypatch, OPTIMIZERS[name], script)


def test_parameters_sharing_memory_update_one_after_the_other(monkeypatch):
    # p.data = a view of q's data gives two parameters one memory: each update must read what the other wrote,
    # so neither is gathered.
    def script(m):
        out = [m.step()]
        m.p["W"].data = m.p["T"].data.reshape(4, 6)[:, 1:4]
        m.p["s"].data = m.p["b"].data[2]
        out += [m.step(), m.step(), m.state()]
        if m.flat:
            (packing,) = m.packings()
            assert packing.rest == [0, 1, 2, 3] and [f.keys for _, f in packing.buckets] == [[(0, 4)]]
        return out
    _both(monkeypatch, OPTIMIZERS["adam"], script)


@pytest.mark.parametrize("name", ["sgd_momentum", "adam"])
def test_a_parameter_listed_twice(name, monkeypatch):
    # PyTorch warns and updates it twice, counting twice; one state dict serves both.
    def script(m):
        m.opt = OPTIMIZERS[name]([m.p[n] for n in NAMES] + [m.p["b"]])
        out = [m.step(), m.step(), m.state()]
        if m.flat:
            (packing,) = m.packings()
            assert packing.rest == [1, 5]
        return out
    _both(monkeypatch, OPTIMIZERS[name], script)


def test_zero_grad_keeping_zeros_and_large_parameters_on_their_own(monkeypatch):
    # Parameters above GATHER_MAX_BYTES update per parameter beside the gathered ones; zero gradients kept by
    # zero_grad(set_to_none=False) still count as gradients.
    monkeypatch.setattr(state_ops, "GATHER_MAX_BYTES", 20)

    def script(m):
        out = [m.step(), m.step()]
        m.opt.zero_grad(set_to_none=False)
        m.opt.step()
        out += [m.values(), m.step(), m.state()]
        if m.flat:
            (packing,) = m.packings()
            # W (48 bytes), T (96) and d (32) alone; b (16) and s (4) share a call.
            assert sorted(packing.rest) == [0, 3, 4] and [len(f.keys) for _, f in packing.buckets] == [2]
        return out
    _both(monkeypatch, OPTIMIZERS["adam"], script)


def test_an_old_program_takes_its_packing_with_it(monkeypatch):
    # Each change of the parameters with gradients builds a new Program; the State must not keep the
    # packings of the ones dropped.
    m = _Model(OPTIMIZERS["adam"], True, monkeypatch)
    for i in range(6):
        m.step(skip="b" if i % 2 else "")
    assert len(m.packings()) == 1


def test_only_adam_takes_the_flat_path_by_default(monkeypatch):
    monkeypatch.delenv("DUALFLOW_FLAT_UPDATES", raising=False)
    flat = {}
    for name in ("sgd_momentum", "adam", "adamw", "rmsprop", "adagrad", "adadelta"):
        w = nn.Parameter(torch.ones(3))
        opt = OPTIMIZERS[name]([w])
        w.grad = torch.ones(3)
        opt.step()
        flat[name] = len(opt._core_state.memo) == 1
    assert flat == {"sgd_momentum": False, "adam": True, "adamw": True, "rmsprop": False, "adagrad": False,
                    "adadelta": False}


@pytest.mark.parametrize("kind", ["momentum", "adam"])
def test_the_eager_seed_cnn_trains_to_the_same_bits(kind, monkeypatch):
    from dualflow import models
    monkeypatch.setattr(optim.Optimizer, "_flat", True)
    rng = np.random.default_rng(0)
    batches = [(rng.random((8, 1, 28, 28), np.float32), rng.integers(0, 10, 8)) for _ in range(4)]
    out = {}
    for flat in (True, False):
        monkeypatch.setenv("DUALFLOW_FLAT_UPDATES", "1" if flat else "0")
        m = models.Eager(models.init_weights((28, 28), 10, 0), 0.1, (28, 28), optimizer=kind)
        losses = [m.loss_value(m.step(x, y)) for x, y in batches]
        out[flat] = [np.asarray(losses)] + [p.detach().numpy() for p in m.model.parameters()]
        packings = list(m.opt._core_state.memo.values())
        assert ([len(f.keys) for _, f in packings[0].buckets] == [6]) if flat else packings == []
    assert_same_bits(out[True], out[False])
