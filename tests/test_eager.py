"""The eager (PyTorch-style) frontend: autograd rules, modules, optimizers, data, checkpoints."""
import math

import numpy as np
import pytest

import eager_api as torch
import eager_api.nn as nn
import eager_api.nn.functional as F
import eager_api.optim as optim
from core.checkpoint import CheckpointError
from core.device import Device
from eager_api.utils.data import DataLoader, TensorDataset
from tests.helpers import load_example

# ----- module gradient checks (float64 central differences) --------------------------
def _check_module(module, x, eps=1e-6, tol=1e-5):
    module.double()
    x = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    c = None

    def loss_value():
        nonlocal c
        out = module(x)
        if c is None:
            c = torch.tensor(np.random.default_rng(0).normal(size=tuple(out.shape)), dtype=torch.float64)
        return (out * c).sum()

    loss = loss_value()
    module.zero_grad()
    loss.backward()
    targets = [("input", x)] + list(module.named_parameters())
    for name, t in targets:
        analytic = t.grad.numpy().copy()
        numeric = np.zeros_like(analytic)
        for j in range(t.numel()):
            old = t.array.flat[j]
            t.array.flat[j] = old + eps
            with torch.no_grad():
                hi = loss_value().item()
            t.array.flat[j] = old - eps
            with torch.no_grad():
                lo = loss_value().item()
            t.array.flat[j] = old
            numeric.flat[j] = (hi - lo) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=tol, err_msg=name)


R = np.random.default_rng(7)


@pytest.mark.parametrize("make,shape", [
    (lambda: nn.Linear(5, 3), (4, 5)),
    (lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 5, 6)),
    (lambda: nn.Conv2d(2, 2, (3, 2), padding="same", dilation=2), (1, 2, 5, 5)),
    (lambda: nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 2)), (2, 2, 4, 4)),
    (lambda: nn.AvgPool2d(3, 2, 1), (2, 2, 5, 5)),
    (lambda: nn.BatchNorm2d(3), (4, 3, 2, 2)),
    (lambda: nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3), nn.Sigmoid()), (3, 4)),
    (lambda: nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.LogSoftmax(dim=1)), (3, 4)),
    (lambda: nn.Softmax(dim=1), (3, 4)),
    (lambda: nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(0.2), nn.BatchNorm1d(6)), (5, 4)),
    (lambda: nn.BatchNorm1d(3), (4, 3, 5)),
    (lambda: nn.AdaptiveAvgPool2d((3, 2)), (2, 2, 7, 5)),
    (lambda: nn.Conv2d(4, 6, 3, padding=1, groups=2), (2, 4, 5, 4)),
    (lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1), (2, 2, 3, 4)),
])
def test_module_gradients(make, shape):
    x = R.permutation(np.prod(shape)).reshape(shape) / np.prod(shape) + 0.01
    _check_module(make(), x)


def test_losses_hand_computed():
    z = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    y = torch.tensor([1, 2])
    lse = [math.log(math.exp(1) + math.exp(2) + math.exp(0.5)), math.log(1 + math.exp(-1) + math.exp(3))]
    expected = ((lse[0] - 2.0) + (lse[1] - 3.0)) / 2
    assert nn.CrossEntropyLoss()(z, y).item() == pytest.approx(expected, rel=1e-6)
    assert nn.CrossEntropyLoss(reduction="sum")(z, y).item() == pytest.approx(2 * expected, rel=1e-6)
    # Smoothing 0.3 over 3 classes: target = 0.8 on the label, 0.1 elsewhere.
    logp0 = [1.0 - lse[0], 2.0 - lse[0], 0.5 - lse[0]]
    sm = -(0.1 * logp0[0] + 0.8 * logp0[1] + 0.1 * logp0[2])
    got = nn.CrossEntropyLoss(reduction="none", label_smoothing=0.3)(z, y)
    assert got.tolist()[0] == pytest.approx(sm, rel=1e-6)
    probs = torch.tensor([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    p_expected = ((lse[0] - 2.0) + 0.5 * (lse[1] - 0.0) + 0.5 * (lse[1] - 3.0)) / 2
    assert nn.CrossEntropyLoss()(z, probs).item() == pytest.approx(p_expected, rel=1e-6)
    ignored = nn.CrossEntropyLoss(ignore_index=2)(z, y)
    assert ignored.item() == pytest.approx(lse[0] - 2.0, rel=1e-6)
    assert nn.NLLLoss()(F.log_softmax(z, 1), y).item() == pytest.approx(expected, rel=1e-6)
    assert nn.MSELoss()(z, torch.zeros(2, 3)).item() == pytest.approx((1 + 4 + 0.25 + 0 + 1 + 9) / 6)


def test_binary_losses_leaky_relu_and_adaptive_pool_hand_computed():
    z = torch.tensor([[2.0, -1.0], [0.0, 3.0]])
    y = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    sp = lambda v: math.log1p(math.exp(v))      # softplus: -log(sigmoid(-v))
    per = [[sp(-2.0), sp(-1.0)], [sp(0.0), sp(-3.0)]]     # y=1: softplus(-z); y=0: softplus(z)
    assert F.binary_cross_entropy_with_logits(z, y).item() == pytest.approx(np.mean(per), rel=1e-6)
    pw = torch.tensor([3.0, 1.0])      # pos_weight scales the y=1 terms per column
    weighted = [[3 * per[0][0], per[0][1]], [3 * per[1][0], per[1][1]]]
    assert nn.BCEWithLogitsLoss(pos_weight=pw, reduction="sum")(z, y).item() == pytest.approx(np.sum(weighted),
                                                                                            rel=1e-6)
    p = torch.tensor([0.8, 0.1, 1.0])
    t = torch.tensor([1.0, 0.0, 0.0])
    assert nn.BCELoss(reduction="none")(p, t).tolist() == pytest.approx([-math.log(0.8), -math.log(0.9), 100.0])
    with pytest.raises(ValueError, match="target size"):
        F.binary_cross_entropy(p, t[:2])
    assert F.leaky_relu(torch.tensor([-2.0, 0.0, 3.0]), 0.1).tolist() == pytest.approx([-0.2, 0.0, 3.0])
    x = torch.tensor(np.arange(35, dtype=np.float32).reshape(1, 1, 7, 5))
    got = nn.AdaptiveAvgPool2d((3, 2))(x)[0, 0]
    a = np.arange(35.0).reshape(7, 5)
    # PyTorch's windows: rows [0,3), [2,5), [4,7); columns [0,3), [2,5)
    expected = [[a[r0:r1, c0:c1].mean() for c0, c1 in ((0, 3), (2, 5))] for r0, r1 in ((0, 3), (2, 5), (4, 7))]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected input of shape \(N, 3\) or \(N, 3, L\)"):
        nn.BatchNorm1d(3)(torch.zeros(2, 3, 4, 4))


def test_grad_clipping_embedding_dropout2d_and_module_dict():
    a, b = nn.Parameter(torch.zeros(2)), nn.Parameter(torch.zeros(1))
    a.grad, b.grad = torch.tensor([3.0, 0.0]), torch.tensor([4.0])
    norm = nn.utils.clip_grad_norm_([a, b], max_norm=2.5)
    assert norm.item() == pytest.approx(5.0)           # sqrt(9 + 16), then every gradient scaled by 2.5/5
    assert a.grad.tolist() == pytest.approx([1.5, 0.0], rel=1e-5) and b.grad.tolist() == pytest.approx([2.0], rel=1e-5)
    inf_norm = nn.utils.clip_grad_norm_([a, b], max_norm=10.0, norm_type=float("inf"))
    assert inf_norm.item() == pytest.approx(2.0, rel=1e-5)
    nn.utils.clip_grad_value_([a, b], 1.75)
    assert a.grad.tolist() == pytest.approx([1.5, 0.0], rel=1e-5) and b.grad.tolist() == [1.75]
    emb = nn.Embedding(4, 2, padding_idx=1)
    assert emb.weight[1].tolist() == [0.0, 0.0]
    idx = torch.tensor([[1, 3], [3, 0]])
    out = emb(idx)
    np.testing.assert_array_equal(out.detach().numpy(), emb.weight.detach().numpy()[[[1, 3], [3, 0]]])
    (out * torch.tensor([[[1.0, 2.0]]])).sum().backward()
    # rows 3 (twice) and 0 get the gradient; the padding row 1 gets none
    assert emb.weight.grad.tolist() == [[1.0, 2.0], [0.0, 0.0], [0.0, 0.0], [2.0, 4.0]]
    x = torch.ones(4, 16, 3, 3)
    y = nn.Dropout2d(0.5)(x).numpy()
    assert set(np.unique(y)) == {0.0, 2.0} and (y == y[:, :, :1, :1]).all()       # whole channels kept or not
    md = nn.ModuleDict({"enc": nn.Linear(2, 3), "dec": nn.Linear(3, 2)})
    assert list(md.keys()) == ["enc", "dec"] and "enc.weight" in md.state_dict() and len(list(md.parameters())) == 4


def test_ceil_mode_pooling_keeps_the_partial_windows():
    x = torch.tensor(np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5))
    # 2x2 windows, stride 2: rows/columns {0,1}, {2,3} and the partial {4}
    assert F.max_pool2d(x, 2, ceil_mode=True)[0, 0].tolist() == [[6, 8, 9], [16, 18, 19], [21, 23, 24]]
    assert F.avg_pool2d(x, 2, ceil_mode=True)[0, 0].tolist() == [[3, 5, 6.5], [13, 15, 16.5], [20.5, 22.5, 24]]
    assert F.max_pool2d(x, 2).shape == (1, 1, 2, 2)


def test_interpolate_nearest_and_bilinear_hand_computed():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert F.interpolate(x, scale_factor=2)[0, 0].tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4],
                                                                [3, 3, 4, 4]]
    row = torch.tensor([[[[0.0, 1.0]]]])
    # align_corners=False: output i reads source (i + 0.5) / 2 - 0.5, clamped to [0, 1]
    assert F.interpolate(row, size=(1, 4), mode="bilinear")[0, 0, 0].tolist() == [0.0, 0.25, 0.75, 1.0]
    assert nn.Upsample(size=(1, 3), mode="bilinear", align_corners=True)(row)[0, 0, 0].tolist() == [0.0, 0.5, 1.0]
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x)


def test_conv_transpose_shape_init_and_gradients():
    m = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)
    assert m(torch.zeros(2, 4, 5, 6)).shape == (2, 3, 10, 12)          # (H - 1) * 2 - 2 + 2 + 1 + 1
    bound = 1 / math.sqrt(3 * 3 * 3)                                   # fan-in: out channels x kernel
    w = m.weight.detach().numpy()
    assert w.shape == (4, 3, 3, 3) and np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(m.bias.detach().numpy()).max() <= bound
    with pytest.raises(ValueError, match="output padding must be smaller than either stride or dilation"):
        nn.ConvTranspose2d(4, 3, 3, stride=1, output_padding=1)(torch.zeros(1, 4, 3, 3))


def test_random_split_is_a_seeded_partition():
    from eager_api.utils.data import random_split
    ds = TensorDataset(torch.arange(10), torch.arange(10) * 2)
    torch.manual_seed(3)
    parts = random_split(ds, [0.7, 0.3])
    assert [len(p) for p in parts] == [7, 3]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    x, y = next(iter(DataLoader(parts[1], batch_size=3)))
    assert x.tolist() == parts[1].indices and y.tolist() == [2 * i for i in parts[1].indices]
    torch.manual_seed(3)
    assert random_split(ds, [7, 3])[0].indices == parts[0].indices
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(ds, [4, 4])


def test_class_weighted_cross_entropy_hand_computed():
    z = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([0, 1, -100])
    w = torch.tensor([3.0, 1.0])
    nll = [math.log(2.0), math.log(1 + math.exp(2.0))]          # -log p(y) of the two kept rows
    loss = F.cross_entropy(z, y, weight=w)
    assert loss.item() == pytest.approx((3 * nll[0] + 1 * nll[1]) / (3 + 1), rel=1e-6)
    assert nn.CrossEntropyLoss(weight=w, reduction="none")(z, y).tolist() == pytest.approx([3 * nll[0], nll[1], 0])
    with pytest.raises(ValueError, match=r"argument 'weight' expected shape \(2,\)"):
        F.cross_entropy(z, y, weight=torch.ones(3))


def test_sgd_momentum_nesterov_weight_decay_hand_computed():
    w = nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)
    w.grad = torch.tensor([0.5, 0.5])
    opt.step()
    g = np.array([0.5, 0.5]) + 0.01 * np.array([1.0, -2.0])
    buf = g
    w1 = np.array([1.0, -2.0]) - 0.1 * (g + 0.9 * buf)
    np.testing.assert_allclose(w.detach().numpy(), w1, rtol=1e-6)
    w.grad = torch.tensor([0.5, 0.5])
    opt.step()
    g2 = np.array([0.5, 0.5]) + 0.01 * w1
    buf2 = 0.9 * buf + g2
    np.testing.assert_allclose(w.detach().numpy(), w1 - 0.1 * (g2 + 0.9 * buf2), rtol=1e-6)


def test_sgd_dampening_and_maximize_hand_computed():
    w = nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = optim.SGD([w], lr=0.1, momentum=0.5, dampening=0.25, maximize=True)
    for g in ([0.4, -0.2], [1.0, 2.0]):
        w.grad = torch.tensor(g)
        opt.step()
    # maximize negates g; the first buffer is the gradient undamped, then buf = 0.5 buf + 0.75 g.
    buf1 = -np.array([0.4, -0.2])
    w1 = np.array([1.0, -2.0]) - 0.1 * buf1
    buf2 = 0.5 * buf1 + 0.75 * -np.array([1.0, 2.0])
    np.testing.assert_allclose(w.detach().numpy(), w1 - 0.1 * buf2, rtol=1e-6)
    np.testing.assert_allclose(opt.state[w]["momentum_buffer"], buf2, rtol=1e-6)


def test_lr_schedulers_hand_computed():
    from eager_api.optim.lr_scheduler import CosineAnnealingLR, MultiStepLR, ReduceLROnPlateau, StepLR
    opt = optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    step = StepLR(opt, step_size=2, gamma=0.5)
    seen = [opt.param_groups[0]["lr"]]
    for _ in range(4):
        step.step()
        seen.append(step.get_last_lr()[0])
    assert seen == [0.1, 0.1, 0.05, 0.05, 0.025] and opt.param_groups[0]["initial_lr"] == 0.1
    opt = optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    cos = CosineAnnealingLR(opt, T_max=4, eta_min=0.2)
    cos.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.2 + 0.8 * (1 + math.cos(math.pi / 4)) / 2)
    opt = optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    multi = MultiStepLR(opt, milestones=[3, 1], gamma=0.1)
    multi.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
    # Plateau: best 0.9 at epoch 2; three worse epochs exceed patience 2 (halve), one cooldown epoch, a
    # new best at epoch 7, then three more bad epochs halve again.
    opt = optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.2)
    plateau = ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1)
    seen = []
    for loss in [1.0, 0.9, 0.95, 0.92, 0.91, 0.93, 0.5, 0.6, 0.6, 0.6]:
        plateau.step(loss)
        seen.append(opt.param_groups[0]["lr"])
    assert seen == [0.2] * 4 + [0.1] * 5 + [0.05]
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        ReduceLROnPlateau(opt, factor=1.5)


def test_more_lr_schedulers_follow_their_closed_forms():
    from eager_api.optim import lr_scheduler as S

    def rates(make, n=30, lr=0.1):
        opt = optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr)
        sched = make(opt)
        out = [opt.param_groups[0]["lr"]]
        for _ in range(n):
            opt.step()
            sched.step()
            out.append(opt.param_groups[0]["lr"])
        return out
    got = rates(lambda o: S.ConstantLR(o, 0.25, 4))
    assert got[:4] == [0.025] * 4 and got[4:] == pytest.approx([0.1] * 27, rel=1e-15)
    got = rates(lambda o: S.PolynomialLR(o, 10, 2.0))
    assert got == pytest.approx([0.1 * (1 - min(e, 10) / 10) ** 2 for e in range(31)], rel=1e-12, abs=1e-18)
    got = rates(lambda o: S.MultiplicativeLR(o, lambda e: 0.9))
    assert got == pytest.approx([0.1 * 0.9 ** e for e in range(31)], rel=1e-13)
    got = rates(lambda o: S.CosineAnnealingWarmRestarts(o, 4, 2, 0.01))
    t_cur, t_i, want = 0, 4, []
    for _ in range(31):              # restarts after 4, then 8, then 16 epochs
        want.append(0.01 + 0.09 * (1 + math.cos(math.pi * t_cur / t_i)) / 2)
        t_cur += 1
        if t_cur == t_i:
            t_cur, t_i = 0, t_i * 2
    assert got == pytest.approx(want, rel=1e-13)
    got = rates(lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.2, total_iters=4), S.CosineAnnealingLR(o, 10)], [4]))
    warm = [0.1 * (0.2 + 0.8 * e / 4) for e in range(4)]
    assert got == pytest.approx(warm + [0.05 * (1 + math.cos(math.pi * e / 10)) for e in range(27)], rel=1e-12,
                                abs=1e-17)
    got = rates(lambda o: S.ChainedScheduler([S.ConstantLR(o, 0.5, 3), S.ExponentialLR(o, 0.9)]))
    assert got == pytest.approx([0.1 * 0.9 ** e * (0.5 if e < 3 else 1.0) for e in range(31)], rel=1e-13)
    for make in (lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, total_iters=3), S.ExponentialLR(o, 0.9)], [3]),
                 lambda o: S.ChainedScheduler([S.ConstantLR(o, 0.5, 2), S.ExponentialLR(o, 0.9)])):
        opt = optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
        sched = make(opt)
        for _ in range(4):
            opt.step()
            sched.step()
        saved = sched.state_dict()              # the parts' states, each its own dict
        assert all(isinstance(part, dict) for part in saved["_schedulers"])
        again = optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
        resumed = make(again)
        resumed.load_state_dict(saved)
        again.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
        for _ in range(3):
            for o, sc in ((opt, sched), (again, resumed)):
                o.step()
                sc.step()
        assert again.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    with pytest.raises(ValueError, match="number of schedulers provided to be one more than the number of milestone"):
        opt = optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
        S.SequentialLR(opt, [S.ConstantLR(opt), S.ExponentialLR(opt, 0.9)], [2, 4])


def test_adagrad_and_adadelta_hand_computed():
    w = nn.Parameter(torch.tensor([1.0]))
    opt = optim.Adagrad([w], lr=0.5, lr_decay=0.25)
    for g in (2.0, 1.0):
        w.grad = torch.tensor([g])
        opt.step()
    # step 1: sum 4, w -= 0.5 * 2 / 2; step 2: sum 5, lr 0.5 / 1.25, w -= 0.4 * 1 / sqrt(5)
    assert w.item() == pytest.approx(1.0 - 0.5 - 0.4 / math.sqrt(5), rel=1e-6)
    w = nn.Parameter(torch.tensor([1.0]))
    opt = optim.Adadelta([w], lr=1.0, rho=0.5, eps=1e-2)
    w.grad = torch.tensor([2.0])
    opt.step()
    v = 0.5 * 4.0                                    # v = (1 - rho) g^2
    d = math.sqrt(0 + 1e-2) / math.sqrt(v + 1e-2) * 2.0
    assert w.item() == pytest.approx(1.0 - d, rel=1e-6)
    assert opt.state[w]["acc_delta"].item() == pytest.approx(0.5 * d * d, rel=1e-6)


def test_adam_two_steps_hand_computed_and_adamw_decay():
    for cls, wd in ((optim.Adam, 0.1), (optim.AdamW, 0.1)):
        w = nn.Parameter(torch.tensor([1.0]))
        opt = cls([w], lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
        x, m, v = 1.0, 0.0, 0.0
        for step, g in enumerate([0.5, -0.2], start=1):
            w.grad = torch.tensor([g])
            opt.step()
            if cls is optim.AdamW:
                x *= 1 - 0.01 * wd
            else:
                g = g + wd * x
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            x -= 0.01 * (m / (1 - 0.9 ** step)) / (math.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
        assert w.item() == pytest.approx(x, rel=1e-6), cls.__name__


def test_rmsprop_hand_computed():
    w = nn.Parameter(torch.tensor([2.0]))
    opt = optim.RMSprop([w], lr=0.01, alpha=0.9)
    w.grad = torch.tensor([1.0])
    opt.step()
    assert w.item() == pytest.approx(2.0 - 0.01 * 1.0 / (math.sqrt(0.1) + 1e-8), rel=1e-6)


def test_optimizer_skips_params_without_grad_and_zero_grad_sets_none():
    a, b = nn.Parameter(torch.tensor([1.0])), nn.Parameter(torch.tensor([1.0]))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = torch.tensor([1.0])
    opt.step()
    assert b.item() == 1.0 and a.item() != 1.0 and b not in opt.state
    opt.zero_grad()
    assert a.grad is None
    a.grad = torch.tensor([3.0])
    opt.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0]


def test_optimizer_state_dict_round_trip():
    torch.manual_seed(0)
    m1 = nn.Linear(3, 2)
    opt1 = optim.Adam(m1.parameters(), lr=0.01)
    x = torch.randn(4, 3)
    m1(x).sum().backward()
    opt1.step()
    m2 = nn.Linear(3, 2)
    m2.load_state_dict(m1.state_dict())
    opt2 = optim.Adam(m2.parameters(), lr=0.5)
    opt2.load_state_dict(opt1.state_dict())
    assert opt2.param_groups[0]["lr"] == 0.01
    for m, o in ((m1, opt1), (m2, opt2)):
        o.zero_grad()
        m(x).sum().backward()
        o.step()
    np.testing.assert_allclose(m1.weight.detach().numpy(), m2.weight.detach().numpy(), rtol=1e-7)


def test_l2_regularisation_is_plain_loss_arithmetic():
    m = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[1.0, -3.0]]))
    l2 = sum((p * p).sum() for p in m.parameters())
    l1 = sum(p.abs().sum() for p in m.parameters())
    (0.5 * l2 + l1).backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), [[1.0 + 1.0, -3.0 - 1.0]])


# ----- PyTorch behaviours, one test each -------------------------------------------
def test_backward_twice_needs_retain_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp([1.0, 2.0]), rtol=1e-6)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_inplace_change_of_saved_tensor_is_detected():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y.exp()          # saves its output
    w = y * y            # saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*Mul.*version 1; expected version 0"):
        w.sum().backward()
    assert z.requires_grad


def test_inplace_on_non_leaf_keeps_gradient_right():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.add_(1).mul_(2)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])
    assert y.tolist() == [8.0, 14.0]


def test_inplace_on_leaf_requiring_grad_fails():
    x = torch.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with torch.no_grad():
        x.add_(1)
    assert x.item() == 2.0


def test_device_mismatch_names_both_devices():
    a = torch.ones(2)
    b = torch.Tensor._wrap(a.array, (2,), a.dtype, Device("cuda", 0))
    with pytest.raises(RuntimeError) as info:
        a + b
    assert "cuda:0" in str(info.value) and "cpu" in str(info.value) and "argument" in str(info.value)


def test_no_grad_decorator_and_grad_accumulates_on_leaves_only():
    x = torch.tensor([3.0], requires_grad=True)

    @torch.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    y = x * x
    y.retain_grad()
    (y * 2).sum().backward()
    (x * 1).sum().backward()
    assert x.grad.item() == 13.0 and y.grad.item() == 2.0 and y.grad_fn is not None and x.is_leaf


def test_each_grad_is_its_own_writable_array():
    # sum's gradient is one value spread over x, and add passes one array to both inputs: neither may leak
    # into .grad as a shared or read-only buffer.
    x = torch.ones(3, 4, requires_grad=True)
    z = torch.ones(12, requires_grad=True)
    seed = torch.full((12,), 2.0)
    (x.reshape(12) + z).backward(seed)
    x.grad.add_(1.0)
    assert x.grad.sum().item() == 36.0 and z.grad.sum().item() == 24.0 and seed.sum().item() == 24.0
    w = torch.ones(5, requires_grad=True)
    w.sum().backward()
    opt = optim.SGD([w], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert w.grad.tolist() == [0.0] * 5


def test_data_is_an_untracked_tensor_on_the_same_storage():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    d = x.data
    assert isinstance(d, torch.Tensor) and not d.requires_grad and d.grad_fn is None
    d.mul_(3.0)                       # not seen by autograd: no version error, and the saved x changed
    y.sum().backward()
    assert x.tolist() == [3.0, 6.0] and x.grad.tolist() == [6.0, 12.0]
    values, indices = torch.max(torch.tensor([[1.0, 5.0], [7.0, 2.0]]).data, 1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    w = nn.Parameter(torch.zeros(2))
    w.data = torch.ones(3)
    assert w.shape == (3,) and w.tolist() == [1.0, 1.0, 1.0] and w.requires_grad
    with pytest.raises(TypeError, match="data must be a Tensor"):
        w.data = np.zeros(3)


def test_backward_on_non_scalar_needs_gradient():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(torch.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 20.0]


def test_autograd_grad_and_type_promotion():
    x = torch.tensor([2.0], requires_grad=True)
    g, = torch.autograd.grad((x ** 3).sum(), x)
    assert g.item() == pytest.approx(12.0)
    i = torch.tensor([1, 2])
    assert (i * 1.5).dtype == torch.float32 and (i + i).dtype == torch.int64
    assert (i / 2).tolist() == [0.5, 1.0]


def test_indexing_and_shape_methods():
    t = torch.arange(24).reshape(2, 3, 4)
    assert t[1, :, 2].tolist() == [14, 18, 22]
    assert t.permute(2, 0, 1).shape == (4, 2, 3) and t.flatten(1).shape == (2, 12)
    assert t.view(-1, 4).size(0) == 6 and t.unsqueeze(0).dim() == 4
    v, idx = torch.tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1)
    assert v.tolist() == [5.0, 7.0] and idx.tolist() == [1, 0]
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    x[torch.tensor([1, 1, 0])].sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0], [2.0, 2.0]]


# ----- modules ---------------------------------------------------------------------
def test_default_initialisation_bounds():
    torch.manual_seed(0)
    lin = nn.Linear(100, 50)
    conv = nn.Conv2d(4, 8, 3)
    for layer, fan_in in ((lin, 100), (conv, 36)):
        bound = 1 / math.sqrt(fan_in)
        w = layer.weight.detach().numpy()
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
        assert np.abs(layer.bias.detach().numpy()).max() <= bound


def test_registration_and_state_dict_errors():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
            self.head = nn.Linear(2, 1)

        def forward(self, x):
            return self.head(self.body(x).mean((2, 3)))

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias", "head.weight", "head.bias"]
    assert "body.1.running_mean" in net.state_dict() and len(list(net.children())) == 2
    assert "(head): Linear(in_features=2, out_features=1, bias=True)" in repr(net)
    sd = net.state_dict()
    sd["extra"] = torch.zeros(1)
    del sd["head.bias"]
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    assert 'Missing key(s) in state_dict: "head.bias"' in str(info.value)
    assert 'Unexpected key(s) in state_dict: "extra"' in str(info.value)
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["head.bias"] and res.unexpected_keys == ["extra"]
    net.eval()
    assert not net.body[1].training


def test_batchnorm_running_statistics():
    bn = nn.BatchNorm2d(2, momentum=0.1)
    x = torch.tensor(np.random.default_rng(0).normal(2.0, 3.0, size=(4, 2, 3, 3)).astype(np.float32))
    bn(x)
    xs = x.numpy()
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * xs.mean((0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * xs.var((0, 2, 3), ddof=1), rtol=1e-5)
    bn.eval()
    expected = (xs - bn.running_mean.numpy()[None, :, None, None]) / np.sqrt(
        bn.running_var.numpy()[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(bn(x).detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_dropout_train_and_eval():
    torch.manual_seed(3)
    d = nn.Dropout(0.25)
    x = torch.ones(10000)
    y = d(x).numpy()
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02
    d.eval()
    assert d(x) is x


def test_seed_example_as_written_fails_like_pytorch_and_fixed_trains():
    ex = load_example("eager_seed_cnn")
    with pytest.raises(RuntimeError) as info:
        ex.train(fixed=False, steps=1)
    msg = str(info.value)
    assert "Linear" in msg and "mat1 and mat2 shapes cannot be multiplied (14336x7 and 1600x10)" in msg
    assert "(32, 64, 7, 7)" in msg
    losses = ex.train(fixed=True, steps=15)
    assert losses[-1] < 0.5 * losses[0]


# ----- data and checkpoints ------------------------------------------------------------
def test_dataloader_seeded_shuffle_and_drop_last():
    ds = TensorDataset(torch.arange(10), torch.arange(10) * 2)
    order = lambda seed: [b[0].tolist() for b in DataLoader(ds, 3, shuffle=True, generator=torch.Generator(seed))]
    a, b = order(1), order(1)
    assert a == b and sorted(sum(a, [])) == list(range(10)) and a != order(2)
    batches = list(DataLoader(ds, 4, drop_last=True))
    assert len(batches) == 2 and batches[1][1].tolist() == [8, 10, 12, 14]
    assert len(DataLoader(ds, 4)) == 3


def test_dataloader_samplers_and_unbatched_loading_as_pytorch():
    from eager_api.utils.data import BatchSampler, SequentialSampler
    ds = TensorDataset(torch.arange(5), torch.arange(5) * 10)
    samples = list(DataLoader(ds, batch_size=None))          # no auto-batching: rows, not batches of one
    assert [(int(a), int(b)) for a, b in samples] == [(i, 10 * i) for i in range(5)]
    assert samples[0][0].shape == () and len(DataLoader(ds, batch_size=None)) == 5
    loader = DataLoader(ds, batch_sampler=[[0, 2], [4, 1, 3]])
    assert [b[1].tolist() for b in loader] == [[0, 20], [40, 10, 30]] and len(loader) == 2
    assert list(BatchSampler(SequentialSampler(range(10)), 3, False)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert len(BatchSampler(SequentialSampler(range(10)), 3, True)) == 3
    assert [b[0].tolist() for b in DataLoader(ds, 2, sampler=[4, 3, 2, 1, 0])] == [[4, 3], [2, 1], [0]]


@pytest.mark.parametrize("kwargs, match", [
    (dict(sampler=[0, 1], shuffle=True), "sampler option is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=4), "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "batch_size=None option disables auto-batching"),
    (dict(num_workers=-1), "num_workers option should be non-negative"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    (dict(prefetch_factor=2), "prefetch_factor option could only be specified in multiprocessing"),
    (dict(timeout=-1), "timeout option should be non-negative"),
])
def test_dataloader_refuses_what_pytorch_refuses(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(TensorDataset(torch.arange(5)), **kwargs)


def test_optimizers_take_pytorchs_implementation_flags_and_refuse_a_differentiable_step():
    p = nn.Parameter(torch.ones(3))
    for cls, kw in ((optim.SGD, dict(foreach=False, fused=None)), (optim.Adam, dict(fused=True, capturable=False)),
                    (optim.AdamW, dict(foreach=True)), (optim.RMSprop, dict(capturable=False)),
                    (optim.Adagrad, dict(fused=None)), (optim.Adadelta, dict(foreach=None))):
        cls([p], **kw)
        with pytest.raises(NotImplementedError, match=f"optim.{cls.__name__}\\(differentiable=True\\)"):
            cls([p], differentiable=True)
    # Adam(decoupled_weight_decay=True) is AdamW, as in PyTorch
    def run(make):
        w = nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
        opt = make([w])
        for g in ([0.5, 0.1, -0.3], [0.2, -0.4, 0.1]):
            w.grad = torch.tensor(g)
            opt.step()
        return w.detach().numpy()
    a = run(lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.5, decoupled_weight_decay=True))
    assert a.tobytes() == run(lambda ps: optim.AdamW(ps, lr=0.1, weight_decay=0.5)).tobytes()
    assert not np.allclose(a, run(lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.5)))


def test_dataloader_rejects_an_unknown_argument():
    # It used to be swallowed: a misspelt or unsupported option changed nothing, silently.
    with pytest.raises(TypeError, match="batchsize"):
        DataLoader(TensorDataset(torch.arange(5)), batchsize=2)


def test_save_load_round_trip_and_rejects_bad_files(tmp_path):
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm2d(2))
    opt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    m[0](torch.randn(2, 3)).sum().backward()
    opt.step()
    path = tmp_path / "ck.npz"
    torch.save({"model": m.state_dict(), "opt": opt.state_dict(), "epoch": 3}, path)
    back = torch.load(path)
    assert back["epoch"] == 3
    np.testing.assert_array_equal(back["model"]["0.weight"].numpy(), m[0].weight.detach().numpy())
    assert back["opt"]["param_groups"][0]["momentum"] == 0.9
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros(2))
    with pytest.raises(CheckpointError, match="not a dualflow checkpoint"):
        torch.load(bad)
    trunc = tmp_path / "trunc.npz"
    trunc.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError):
        torch.load(trunc)
    pickled = tmp_path / "pickle.npz"
    with open(pickled, "wb") as f:
        np.save(f, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(CheckpointError):
        torch.load(pickled)


@pytest.mark.slow
def test_mnist_cnn_reaches_97_percent_in_3_epochs():
    from tests.helpers import mnist_split
    ex = load_example("eager_mnist")
    train, test = mnist_split()
    acc = ex.main(train, test, epochs=3, quiet=True)
    assert acc >= 0.97, acc


def test_tensor_constructor_and_clone_owns_its_memory():
    t = torch.Tensor([1.0, 2.0])
    assert t.grad is None and t.shape == (2,) and t.dtype == torch.float32
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = a.clone()
    with torch.no_grad():
        b.add_(10)
    assert a.tolist() == [1.0, 2.0] and b.tolist() == [11.0, 12.0]
    (a.clone() * 3).sum().backward()
    assert a.grad.tolist() == [3.0, 3.0]
    with pytest.raises(NotImplementedError, match="bool"):
        ~torch.tensor([1, 2])
    assert (~torch.tensor([True, False])).tolist() == [False, True]


def test_all_and_any_reduce_bools():
    x = torch.tensor([[1.0, 0.0, 2.0], [3.0, 4.0, 5.0]])
    assert not (x > 0).all().item() and (x >= 0).all().item() and (x > 4).any().item()
    assert (x > 0).all(dim=1).tolist() == [False, True]
    assert torch.any(x > 2, dim=0, keepdim=True).tolist() == [[True, True, True]]
    assert (x > 0).all().dtype == torch.bool
    assert [x.gt(2).tolist(), x.ge(2).tolist(), x.lt(1).tolist(), x.le(0).tolist(), x.ne(0).tolist()] == [
        [[False, False, False], [True, True, True]], [[False, False, True], [True, True, True]],
        [[False, True, False], [False, False, False]], [[False, True, False], [False, False, False]],
        [[True, False, True], [True, True, True]]]


def test_script_boilerplate_from_torch_namespace():
    # Lines most PyTorch training scripts start with: they must run (and say what they do here).
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.deterministic = True
    torch.backends.cuda.matmul.allow_tf32 = False
    assert not torch.backends.cudnn.is_available() and not torch.backends.mps.is_available()
    assert torch.cuda.device_count() >= 1 if torch.cuda.is_available() else torch.cuda.device_count() == 0
    torch.cuda.manual_seed_all(0)
    torch.cuda.empty_cache()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    assert torch.get_num_threads() == 1
    torch.set_num_threads(threads)
    assert "track_running_stats=True" in repr(nn.BatchNorm2d(3))


def test_batch_norm_with_momentum_none_keeps_the_cumulative_average_of_the_batch_statistics():
    """PyTorch's momentum=None: each batch weighs 1 / batches seen, so the running statistics are the plain
    means of the batch means and of the unbiased batch variances (it raised a TypeError)."""
    rng = np.random.default_rng(0)
    batches = [rng.normal(size=(6, 3)).astype(np.float32) * (i + 1) + i for i in range(4)]
    bn = nn.BatchNorm1d(3, momentum=None)
    for b in batches:
        bn(torch.tensor(b))
    assert int(bn.num_batches_tracked) == 4
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([b.mean(0) for b in batches], 0), rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), np.mean([b.var(0, ddof=1) for b in batches], 0), rtol=1e-6)
    bn.eval()
    x = batches[0]
    want = (x - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + 1e-5)
    np.testing.assert_allclose(bn(torch.tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-6)


def _value_and_grad(fn, *arrays):
    """fn's value and its gradient with respect to the first array (float64), from backward."""
    x = torch.tensor(arrays[0], requires_grad=True)
    out = fn(x, *[torch.tensor(a) for a in arrays[1:]])
    out.sum().backward()
    return out.detach().numpy(), x.grad.numpy()


def _numeric_grad(fn, *arrays, eps=1e-6):
    x = arrays[0].copy()
    g = np.zeros_like(x)
    for i in range(x.size):
        for sign in (1, -1):
            x.flat[i] += sign * eps
            g.flat[i] += sign * float(fn(torch.tensor(x), *[torch.tensor(a) for a in arrays[1:]]).sum()) / (2 * eps)
            x.flat[i] -= sign * eps
    return g


@pytest.mark.parametrize("name", ["smooth_l1", "smooth_l1_beta", "huber", "kl_div", "kl_div_log_target", "cosine",
                                  "normalize"])
def test_more_losses_and_similarities_by_hand_with_finite_difference_gradients(name):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 3)) * 1.5
    b = rng.normal(size=(4, 3))
    p = np.abs(b) / np.abs(b).sum(1, keepdims=True)
    p[0, 1] = 0.0                          # a zero target probability reads no log
    p[0] /= p[0].sum()
    logq = a - np.log(np.exp(a).sum(1, keepdims=True))
    d = np.abs(a - b)
    cases = {
        "smooth_l1": (lambda x, y: F.smooth_l1_loss(x, y), np.mean(np.where(d < 1, 0.5 * d * d, d - 0.5)), (a, b)),
        "smooth_l1_beta": (lambda x, y: F.smooth_l1_loss(x, y, beta=0.3),
                           np.mean(np.where(d < 0.3, 0.5 * d * d / 0.3, d - 0.15)), (a, b)),
        "huber": (lambda x, y: F.huber_loss(x, y, delta=0.5),
                  np.mean(np.where(d <= 0.5, 0.5 * d * d, 0.5 * (d - 0.25))), (a, b)),
        "kl_div": (lambda x, y: F.kl_div(F.log_softmax(x, 1), y, reduction="batchmean"),
                   np.sum(np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - logq), 0)) / 4, (a, p)),
        "kl_div_log_target": (lambda x, y: F.kl_div(F.log_softmax(x, 1), y, reduction="sum", log_target=True),
                              np.sum(np.exp(b) * (b - logq)), (a, b)),
        "cosine": (lambda x, y: F.cosine_similarity(x, y),
                   (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1), (a, b)),
        "normalize": (lambda x: F.normalize(x, dim=0), a / np.linalg.norm(a, axis=0), (a,)),
    }
    fn, want, arrays = cases[name]
    got, grad = _value_and_grad(fn, *arrays)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(grad, _numeric_grad(fn, *arrays), rtol=1e-6, atol=1e-8)


def test_cross_entropy_and_nll_over_positions_as_flattened_rows():
    """(N, C, d1, d2) logits against (N, d1, d2) targets: every position a row (weights, ignore_index and the
    weighted mean as for rows), 'none' in the targets' shape."""
    rng = np.random.default_rng(1)
    z = rng.normal(size=(2, 3, 4, 5))
    t = rng.integers(0, 3, size=(2, 4, 5))
    t[0, 0, :2] = -100
    w = np.array([1.0, 2.0, 0.5])
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    picked = np.take_along_axis(logp, np.where(t < 0, 0, t)[:, None], 1)[:, 0]
    keep = t >= 0
    row_w = np.where(keep, w[np.where(t < 0, 0, t)], 0.0)
    got = F.cross_entropy(torch.tensor(z), torch.tensor(t), weight=torch.tensor(w))
    np.testing.assert_allclose(float(got), -(picked * row_w).sum() / row_w.sum(), rtol=1e-12)
    none = F.cross_entropy(torch.tensor(z), torch.tensor(t), reduction="none")
    assert tuple(none.shape) == (2, 4, 5)
    np.testing.assert_allclose(none.numpy(), np.where(keep, -picked, 0.0), rtol=1e-12)
    np.testing.assert_allclose(float(F.nll_loss(torch.tensor(logp), torch.tensor(t), reduction="sum")),
                               -(picked * keep).sum(), rtol=1e-12)
    soft = np.exp(logp[:, ::-1].copy())
    np.testing.assert_allclose(float(F.cross_entropy(torch.tensor(z), torch.tensor(soft))),
                               -(soft * logp).sum(1).mean(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"expected target of shape \(2, 4, 5\)"):
        F.cross_entropy(torch.tensor(z), torch.tensor(t[:, :3]))


def test_regression_losses_broadcast_a_target_of_another_size_with_pytorchs_warning():
    out, target = torch.tensor([[1.0], [2.0]]), torch.tensor([1.0, 3.0])
    with pytest.warns(UserWarning, match="Using a target size .* that is different to the input size"):
        loss = F.mse_loss(out, target)
    assert float(loss) == pytest.approx(np.mean((np.array([[1.0], [2.0]]) - np.array([1.0, 3.0])) ** 2))


def test_one_cycle_lr_by_hand():
    """10 steps, pct_start 0.3: the rate climbs from 1/25 of max_lr to max_lr at step 2 (cosine), then falls to
    1/25/1e4 of it at step 9; SGD's momentum moves 0.95 -> 0.85 -> 0.95 against it."""
    from eager_api.optim.lr_scheduler import OneCycleLR
    p = torch.nn.Parameter(torch.zeros(1))
    opt = optim.SGD([p], lr=1.0, momentum=0.5)
    sched = OneCycleLR(opt, max_lr=0.5, total_steps=10)

    def cos(start, end, pct):
        return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)
    rates, moms = [opt.param_groups[0]["lr"]], [opt.param_groups[0]["momentum"]]
    for _ in range(9):
        sched.step()
        rates.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
    want = [cos(0.02, 0.5, s / 2) for s in range(3)] + [cos(0.5, 0.02 / 1e4, (s - 2) / 7) for s in range(3, 10)]
    np.testing.assert_allclose(rates, want, rtol=1e-12)
    assert rates[0] == pytest.approx(0.02) and rates[2] == pytest.approx(0.5) and rates[9] == pytest.approx(2e-6)
    assert moms[0] == pytest.approx(0.95) and moms[2] == pytest.approx(0.85) and moms[9] == pytest.approx(0.95)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        OneCycleLR(optim.Adagrad([p]), max_lr=0.1, total_steps=5)
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        OneCycleLR(opt, max_lr=0.1)
