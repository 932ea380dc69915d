"""torch.optim.lr_scheduler.CyclicLR: rates and momenta against the formula written out by hand, and against
PyTorch 2.13 exactly under the ``reference`` marker."""
import math

import pytest

import eager_api


def _run(torch, make_opt, steps=13, **kw):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = make_opt(torch, [p])
    sched = torch.optim.lr_scheduler.CyclicLR(opt, **kw)
    out = []
    for _ in range(steps):
        g = opt.param_groups[0]
        out.append((sched.get_last_lr()[0], g["momentum"] if "momentum" in g else g["betas"][0]))
        opt.step()
        sched.step()
    return out


def _sgd(torch, ps):
    return torch.optim.SGD(ps, lr=0.5, momentum=0.9)


def _adam(torch, ps):
    return torch.optim.Adam(ps, lr=0.5)


CASES = [(_sgd, dict(base_lr=0.01, max_lr=0.1, step_size_up=3)),
         (_sgd, dict(base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=4, mode="triangular2")),
         (_adam, dict(base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range", gamma=0.9)),
         (_sgd, dict(base_lr=[0.01], max_lr=0.1, step_size_up=3, scale_fn=lambda x: 0.5, scale_mode="iterations",
                     cycle_momentum=False))]


def test_triangular_cycle_by_hand():
    got = _run(eager_api, _sgd, base_lr=0.01, max_lr=0.1, step_size_up=3)
    for step, (lr, momentum) in enumerate(got):
        x = step % 6
        height = x / 3 if x <= 3 else (6 - x) / 3          # up over 3 steps, down over 3
        assert lr == pytest.approx(0.01 + 0.09 * height, abs=1e-15)
        assert momentum == pytest.approx(0.9 - 0.1 * height, abs=1e-15)
    halved = _run(eager_api, _sgd, base_lr=0.0, max_lr=1.0, step_size_up=1, mode="triangular2")
    assert [round(lr, 12) for lr, _ in halved[:7]] == [0.0, 1.0, 0.0, 0.5, 0.0, 0.25, 0.0]
    with pytest.raises(ValueError, match="mode is invalid and scale_fn is None"):
        _run(eager_api, _sgd, base_lr=0.01, max_lr=0.1, mode="nope")
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        _run(eager_api, lambda t, ps: t.optim.Adagrad(ps, lr=0.1), base_lr=0.01, max_lr=0.1)
    assert math.isclose(_run(eager_api, _adam, 1, base_lr=0.01, max_lr=0.1)[0][1], 0.9)


@pytest.mark.reference
@pytest.mark.parametrize("case", range(len(CASES)))
def test_cyclic_lr_as_torch(case):
    torch = pytest.importorskip("torch")
    make, kw = CASES[case]
    assert _run(eager_api, make, **kw) == _run(torch, make, **kw)
