"""Parity with PyTorch (CPU) on random inputs and identical weights; skipped when torch is not installed."""
import numpy as np
import pytest

import eager_api
import eager_api.nn as nn

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.reference


def _pair(make_ours, make_theirs, x):
    ours, theirs = make_ours(), make_theirs()
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            q.copy_(torch.tensor(p.detach().numpy()))
    xo = eager_api.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    (yo * yo).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=n)


@pytest.mark.parametrize("cfg", [dict(stride=1, padding=1), dict(stride=2, padding=0, dilation=2),
                                 dict(stride=1, padding="same")])
def test_conv2d_matches_torch(cfg):
    x = np.random.default_rng(0).normal(size=(2, 3, 9, 8)).astype(np.float32)
    _pair(lambda: nn.Conv2d(3, 5, 3, **cfg), lambda: torch.nn.Conv2d(3, 5, 3, **cfg), x)


@pytest.mark.parametrize("ours,theirs", [(lambda: nn.MaxPool2d(3, 2, 1), lambda: torch.nn.MaxPool2d(3, 2, 1)),
                                         (lambda: nn.AvgPool2d(3, 2, 1), lambda: torch.nn.AvgPool2d(3, 2, 1))])
def test_pooling_matches_torch(ours, theirs):
    x = np.random.default_rng(1).normal(size=(2, 3, 9, 8)).astype(np.float32)
    _pair(ours, theirs, x)


def test_cross_entropy_with_smoothing_matches_torch():
    z = np.random.default_rng(2).normal(size=(6, 4)).astype(np.float32)
    y = np.array([0, 3, 1, 1, 2, 0])
    zo, zt = eager_api.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
    lo = nn.CrossEntropyLoss(label_smoothing=0.2)(zo, eager_api.tensor(y))
    lt = torch.nn.CrossEntropyLoss(label_smoothing=0.2)(zt, torch.tensor(y))
    lo.backward()
    lt.backward()
    assert lo.item() == pytest.approx(lt.item(), rel=1e-5)
    np.testing.assert_allclose(zo.grad.numpy(), zt.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name,kw", [("Adam", dict(lr=0.01, weight_decay=0.1)), ("AdamW", dict(lr=0.01)),
                                     ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                     ("RMSprop", dict(lr=0.01, momentum=0.5)),
                                     ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.01,
                                                      initial_accumulator_value=0.1)),
                                     ("Adadelta", dict(lr=1.0, rho=0.8, weight_decay=0.01)),
                                     ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.3, maximize=True)),
                                     # how PyTorch runs the step, not what it computes; and Adam as AdamW
                                     ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True,
                                                   foreach=False, fused=None, capturable=False)),
                                     ("AdamW", dict(lr=0.01, foreach=True)),
                                     ("Adagrad", dict(lr=0.1, foreach=False, fused=None)),
                                     ("RMSprop", dict(lr=0.01, foreach=False, capturable=False)),
                                     ("Adadelta", dict(lr=1.0, foreach=False, capturable=False))])
def test_optimizer_steps_match_torch(name, kw):
    w0 = np.random.default_rng(3).normal(size=(5,)).astype(np.float32)
    po, pt = nn.Parameter(eager_api.tensor(w0)), torch.nn.Parameter(torch.tensor(w0))
    oo, ot = getattr(eager_api.optim, name)([po], **kw), getattr(torch.optim, name)([pt], **kw)
    for step in range(3):
        g = np.random.default_rng(10 + step).normal(size=(5,)).astype(np.float32)
        po.grad, pt.grad = eager_api.tensor(g), torch.tensor(g)
        oo.step()
        ot.step()
    np.testing.assert_allclose(po.detach().numpy(), pt.detach().numpy(), rtol=1e-5, atol=1e-6)


SCHEDULERS = {"StepLR": dict(step_size=3, gamma=0.37), "MultiStepLR": dict(milestones=[2, 5, 5, 17], gamma=0.3),
              "ExponentialLR": dict(gamma=0.93), "CosineAnnealingLR": dict(T_max=6, eta_min=0.01),
              "LambdaLR": dict(lr_lambda=lambda e: 1 / (1 + e)),
              "LinearLR": dict(start_factor=0.1, end_factor=0.7, total_iters=6),
              "ConstantLR": dict(factor=0.37, total_iters=7), "PolynomialLR": dict(total_iters=23, power=2.3),
              "MultiplicativeLR": dict(lr_lambda=lambda e: 0.97),
              "CosineAnnealingWarmRestarts": dict(T_0=7, T_mult=2, eta_min=1e-4)}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_lr_schedulers_match_torch(name):
    rates = []
    for lib in (eager_api, torch):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=0.2, momentum=0.9)
        sched = getattr(lib.optim.lr_scheduler, name)(opt, **SCHEDULERS[name])
        seen = []
        for _ in range(40):
            opt.step()
            sched.step()
            seen.append((sched.get_last_lr()[0], opt.param_groups[0]["lr"]))
        rates.append(seen)
    assert rates[0] == rates[1]         # bit for bit: the same chainable arithmetic (its products and ratios)


@pytest.mark.parametrize("kind", ["warmup_cosine", "three", "chained", "restarts_by_batch", "step_epoch"])
def test_composed_schedules_give_pytorchs_rates_bit_for_bit(kind):
    def build(lib, opt):
        S = lib.optim.lr_scheduler
        if kind == "warmup_cosine":
            return S.SequentialLR(opt, [S.LinearLR(opt, 0.1, total_iters=5), S.CosineAnnealingLR(opt, 30, 1e-3)], [5])
        if kind == "three":
            return S.SequentialLR(opt, [S.ConstantLR(opt, 0.5, 4), S.ExponentialLR(opt, 0.9), S.StepLR(opt, 5, 0.5)],
                                  [6, 20])
        if kind == "chained":
            return S.ChainedScheduler([S.ConstantLR(opt, 0.1, 4), S.ExponentialLR(opt, 0.9)])
        if kind == "step_epoch":
            return S.CosineAnnealingLR(opt, 9, 0.01)
        return S.CosineAnnealingWarmRestarts(opt, 3, 2)
    rates = []
    for lib in (eager_api, torch):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=0.1)
        sched = build(lib, opt)
        seen = []
        for epoch in range(30):
            opt.step()
            if kind == "restarts_by_batch":
                sched.step(epoch / 4)
            elif kind == "step_epoch" and epoch % 7 == 6:
                with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)`"):
                    sched.step(epoch + 3)       # a jump: the closed form
            else:
                sched.step()
            seen.append((sched.get_last_lr()[0], opt.param_groups[0]["lr"]))
        rates.append(seen)
    assert rates[0] == rates[1]


def test_reduce_lr_on_plateau_matches_torch():
    losses = [1.0, 0.9, 0.95, 0.92, 0.91, 0.93, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6]
    rates = []
    for lib in (eager_api, torch):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=0.2)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.03)
        seen = []
        for loss in losses:
            sched.step(loss)
            seen.append(opt.param_groups[0]["lr"])
        rates.append(seen)
    assert rates[0] == rates[1]


@pytest.mark.parametrize("ours,theirs,shape", [
    (lambda: nn.BatchNorm1d(4), lambda: torch.nn.BatchNorm1d(4), (6, 4)),
    (lambda: nn.BatchNorm1d(3), lambda: torch.nn.BatchNorm1d(3), (4, 3, 5)),
    (lambda: nn.LeakyReLU(0.3), lambda: torch.nn.LeakyReLU(0.3), (3, 5)),
    (lambda: nn.AdaptiveAvgPool2d((4, 3)), lambda: torch.nn.AdaptiveAvgPool2d((4, 3)), (2, 3, 9, 7)),
    (lambda: nn.AdaptiveAvgPool2d(1), lambda: torch.nn.AdaptiveAvgPool2d(1), (2, 3, 5, 5)),
    (lambda: nn.LayerNorm(5), lambda: torch.nn.LayerNorm(5), (3, 4, 5)),
    (lambda: nn.LayerNorm((4, 5), eps=1e-3), lambda: torch.nn.LayerNorm((4, 5), eps=1e-3), (3, 4, 5)),
    (lambda: nn.LayerNorm(5, bias=False), lambda: torch.nn.LayerNorm(5, bias=False), (6, 5)),
    (lambda: nn.GroupNorm(3, 6), lambda: torch.nn.GroupNorm(3, 6), (2, 6, 4, 3)),
    (lambda: nn.GroupNorm(1, 4, affine=False), lambda: torch.nn.GroupNorm(1, 4, affine=False), (3, 4, 5)),
    (lambda: nn.RMSNorm(5), lambda: torch.nn.RMSNorm(5), (3, 4, 5)),
    (lambda: nn.RMSNorm((4, 5), eps=1e-3, elementwise_affine=False),
     lambda: torch.nn.RMSNorm((4, 5), eps=1e-3, elementwise_affine=False), (3, 4, 5)),
])
def test_more_modules_match_torch(ours, theirs, shape):
    _pair(ours, theirs, np.random.default_rng(2).normal(size=shape).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
def test_rms_norm_matches_torch_kernel(dtype):
    # ATen's CPU kernel: float16 computed in float32 with float32's epsilon; values and gradients
    rng = np.random.default_rng(4)
    x, w = (rng.normal(size=(6, 16)) * 3).astype(dtype), rng.normal(size=16).astype(dtype)
    res = []
    for lib in (eager_api, torch):
        xt, wt = lib.tensor(x, requires_grad=dtype != np.float16), lib.tensor(w, requires_grad=dtype != np.float16)
        y = lib.nn.functional.rms_norm(xt, (16,), wt)
        out = [y.detach().numpy().astype(np.float64)]
        if dtype != np.float16:
            (y * lib.tensor(x)).sum().backward()
            out += [xt.grad.numpy(), wt.grad.numpy()]
        res.append(out)
    tol = dict(rtol=1e-3, atol=2e-3) if dtype == np.float16 else dict(rtol=1e-5, atol=1e-6)
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, **tol)


def test_batch_norm_cumulative_average_matches_torch():
    rng = np.random.default_rng(7)
    batches = [rng.normal(size=(5, 3)).astype(np.float32) * (i + 1) + i for i in range(4)]
    res = []
    for lib in (eager_api, torch):
        bn = lib.nn.BatchNorm1d(3, momentum=None)
        for b in batches:
            bn(lib.tensor(b))
        bn.eval()
        res.append([bn.running_mean.numpy().copy(), bn.running_var.numpy().copy(),
                    bn(lib.tensor(batches[0])).detach().numpy()])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kw", [dict(), dict(reduction="sum", pos_weight=[2.0, 0.5, 1.0]),
                                dict(reduction="none", weight=[1.0, 0.0, 3.0])])
def test_binary_cross_entropy_matches_torch(kw):
    rng = np.random.default_rng(3)
    z = rng.normal(size=(4, 3)).astype(np.float32) * 3
    y = (rng.random((4, 3)) > 0.5).astype(np.float32)
    res = []
    for lib in (eager_api, torch):
        args = {k: (lib.tensor(v) if isinstance(v, list) else v) for k, v in kw.items()}
        zt = lib.tensor(z, requires_grad=True)
        loss = lib.nn.functional.binary_cross_entropy_with_logits(zt, lib.tensor(y), **args)
        loss.sum().backward()
        prob = lib.tensor(1 / (1 + np.exp(-z)), requires_grad=True)
        plain = lib.nn.functional.binary_cross_entropy(prob, lib.tensor(y), weight=args.get("weight"),
                                                       reduction=kw.get("reduction", "mean"))
        plain.sum().backward()
        res.append([loss.detach().numpy(), zt.grad.numpy(), plain.detach().numpy(), prob.grad.numpy()])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_matches_torch(norm_type):
    rng = np.random.default_rng(4)
    grads = [rng.normal(size=s).astype(np.float32) for s in ((3, 4), (5,))]
    results = []
    for lib in (eager_api, torch):
        params = [lib.nn.Parameter(lib.zeros(*g.shape)) for g in grads]
        for p, g in zip(params, grads):
            p.grad = lib.tensor(g)
        norm = lib.nn.utils.clip_grad_norm_(params, max_norm=1.5, norm_type=norm_type)
        results.append([norm.item()] + [p.grad.numpy().copy() for p in params])
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    for a, b in zip(results[0][1:], results[1][1:]):
        np.testing.assert_allclose(a, b, rtol=1e-5)


@pytest.mark.parametrize("op", ["topk", "topk_smallest", "sort_desc", "gather"])
def test_sorting_and_gather_match_torch(op):
    x = np.random.default_rng(6).normal(size=(4, 6)).astype(np.float32)
    index = np.array([[0, 0, 5], [5, 1, 1], [2, 2, 3], [3, 4, 0]])
    fns = {"topk": lambda t, lib: t.topk(3, 1), "topk_smallest": lambda t, lib: t.topk(2, 0, largest=False),
           "sort_desc": lambda t, lib: t.sort(0, descending=True),
           "gather": lambda t, lib: (lib.gather(t, 1, lib.tensor(index)), None)}
    res = []
    for lib in (eager_api, torch):
        t = lib.tensor(x, requires_grad=True)
        values, indices = fns[op](t, lib)
        (values * values).sum().backward()
        res.append([values.detach().numpy(), t.grad.numpy()] + ([] if indices is None else [indices.numpy()]))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("kw", [dict(), dict(reduction="sum", label_smoothing=0.2), dict(reduction="none"),
                                dict(ignore_index=1, label_smoothing=0.1), dict(probs=True, label_smoothing=0.3)])
def test_class_weighted_losses_match_torch(kw):
    kw = dict(kw)
    probs = kw.pop("probs", False)
    rng = np.random.default_rng(8)
    z = rng.normal(size=(6, 4)).astype(np.float32)
    y = np.array([0, 1, 3, 1, 2, 3])
    t = rng.random((6, 4)).astype(np.float32)
    w = np.array([0.5, 2.0, 1.0, 3.0], np.float32)
    res = []
    for lib in (eager_api, torch):
        zt = lib.tensor(z, requires_grad=True)
        target = lib.tensor(t) if probs else lib.tensor(y)
        loss = lib.nn.CrossEntropyLoss(weight=lib.tensor(w), **kw)(zt, target)
        nll = lib.nn.functional.nll_loss(lib.nn.functional.log_softmax(zt, 1), lib.tensor(y), lib.tensor(w),
                                         reduction=kw.get("reduction", "mean"))
        (loss.sum() + nll.sum()).backward()
        res.append([loss.detach().numpy(), nll.detach().numpy(), zt.grad.numpy()])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_amsgrad_matches_torch_when_the_second_moment_falls(name):
    # beta2 = 0.5 and a shrinking gradient make v fall, so the running maximum differs from v.
    ws = []
    for lib in (eager_api, torch):
        p = lib.nn.Parameter(lib.tensor([1.0, -1.0]))
        opt = getattr(lib.optim, name)([p], lr=0.1, betas=(0.9, 0.5), amsgrad=True)
        for g in ([3.0, -2.0], [0.1, 0.1], [0.05, -0.2]):
            p.grad = lib.tensor(g)
            opt.step()
        ws.append(p.detach().numpy().copy())
    np.testing.assert_allclose(ws[0], ws[1], rtol=1e-6)
    plain = eager_api.nn.Parameter(eager_api.tensor([1.0, -1.0]))
    opt = getattr(eager_api.optim, name)([plain], lr=0.1, betas=(0.9, 0.5))
    for g in ([3.0, -2.0], [0.1, 0.1], [0.05, -0.2]):
        plain.grad = eager_api.tensor(g)
        opt.step()
    assert not np.allclose(plain.detach().numpy(), ws[0])        # the variant changed the result


@pytest.mark.parametrize("cfg", [dict(groups=2, stride=1, padding=1), dict(groups=4, stride=2, padding=0),
                                 dict(groups=4, padding="same", dilation=2)])
def test_grouped_and_depthwise_conv_match_torch(cfg):
    x = np.random.default_rng(9).normal(size=(2, 4, 9, 8)).astype(np.float32)
    _pair(lambda: nn.Conv2d(4, 8, 3, **cfg), lambda: torch.nn.Conv2d(4, 8, 3, **cfg), x)


@pytest.mark.parametrize("ours,theirs,shape", [
    (lambda: nn.MaxPool2d(2, 2, 1, ceil_mode=True), lambda: torch.nn.MaxPool2d(2, 2, 1, ceil_mode=True), (2, 3, 5, 5)),
    (lambda: nn.MaxPool2d(3, 2, ceil_mode=True), lambda: torch.nn.MaxPool2d(3, 2, ceil_mode=True), (2, 3, 8, 7)),
    (lambda: nn.AvgPool2d(3, 2, ceil_mode=True), lambda: torch.nn.AvgPool2d(3, 2, ceil_mode=True), (2, 3, 8, 7)),
    (lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
     lambda: torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 3, 6, 9)),
])
def test_ceil_mode_pooling_matches_torch(ours, theirs, shape):
    _pair(ours, theirs, np.random.default_rng(10).normal(size=shape).astype(np.float32))


@pytest.mark.parametrize("kw", [dict(scale_factor=2), dict(size=(7, 5)), dict(scale_factor=2, mode="bilinear"),
                                dict(size=(9, 4), mode="bilinear"), dict(size=(9, 4), mode="bilinear",
                                                                         align_corners=True),
                                dict(scale_factor=0.5, mode="bilinear")])
def test_interpolate_matches_torch(kw):
    x = np.random.default_rng(11).normal(size=(2, 3, 6, 5)).astype(np.float32)
    _pair(lambda: nn.Upsample(**kw), lambda: torch.nn.Upsample(**kw), x)


@pytest.mark.parametrize("cfg", [dict(stride=2, padding=1, output_padding=1), dict(stride=1, padding=0),
                                 dict(stride=(2, 1), padding=(0, 1), dilation=2, output_padding=(1, 0))])
def test_conv_transpose_matches_torch(cfg):
    x = np.random.default_rng(12).normal(size=(2, 4, 5, 6)).astype(np.float32)
    _pair(lambda: nn.ConvTranspose2d(4, 3, 3, **cfg), lambda: torch.nn.ConvTranspose2d(4, 3, 3, **cfg), x)


def test_max_pool_gradient_with_nan_and_inf_gradients_as_torch():
    """A NaN or infinite output gradient reaches its window's winner only; the rest of the window gets 0."""
    x = np.random.default_rng(4).normal(size=(2, 3, 6, 7)).astype(np.float32)
    gy = np.random.default_rng(5).normal(size=(2, 3, 3, 3)).astype(np.float32)
    gy.flat[[0, 4, 11]] = [np.nan, np.inf, -np.inf]
    grads = []
    for lib in (eager_api, torch):
        t = lib.tensor(x, requires_grad=True)
        lib.nn.functional.max_pool2d(t, 2).backward(lib.tensor(gy))
        grads.append(np.asarray(t.grad.numpy()))
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("kwargs", [dict(batch_size=None), dict(batch_sampler=[[0, 2], [4, 1, 3]]),
                                    dict(batch_size=2, sampler=[4, 3, 2, 1, 0]), dict(batch_size=2, drop_last=True),
                                    dict(sampler=[0, 1], shuffle=True), dict(batch_size=None, drop_last=True),
                                    dict(batch_sampler=[[0]], batch_size=3), dict(persistent_workers=True),
                                    dict(prefetch_factor=2), dict(num_workers=-1), dict(batchsize=2)])
def test_dataloader_batches_and_refusals_match_torch(kwargs):
    """The same batches (values and shapes) for each way of choosing them, and the same error type and
    message where PyTorch refuses the arguments."""
    from eager_api.utils import data
    x = np.arange(5, dtype=np.int64)

    def load(lib, module):
        dataset = module.TensorDataset(lib.tensor(x), lib.tensor(x * 10))
        try:
            return [[(t.numpy().tolist(), tuple(t.shape)) for t in batch]
                    for batch in module.DataLoader(dataset, **kwargs)]
        except (ValueError, TypeError) as e:
            return type(e), str(e).replace("DataLoader.__init__() ", "")

    assert load(eager_api, data) == load(torch, torch.utils.data)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.1, momentum=0.9, nesterov=True),
                                dict(lr=0.1, momentum=0.5, dampening=0.3, maximize=True, weight_decay=0.01)],
                         ids=["plain", "momentum", "nesterov", "dampening_maximize_decay"])
def test_sgd_matches_torch_bit_for_bit(kw, dtype):
    """20 steps of wide-ranging gradients: PyTorch's values bit for bit (its CPU step is fused multiply-adds)."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(1003).astype(dtype)
    grads = [(rng.standard_normal(1003) * 10.0 ** rng.integers(-4, 3, 1003)).astype(dtype) for _ in range(20)]
    po, pt = nn.Parameter(eager_api.tensor(w0)), torch.nn.Parameter(torch.tensor(w0))
    oo, ot = eager_api.optim.SGD([po], **kw), torch.optim.SGD([pt], **kw)
    for g in grads:
        po.grad, pt.grad = eager_api.tensor(g), torch.tensor(g)
        oo.step()
        ot.step()
    assert po.detach().numpy().tobytes() == pt.detach().numpy().tobytes()
    assert not np.array_equal(po.detach().numpy(), w0)


def test_augmented_assignment_matches_torch():
    results = []
    for lib in (eager_api, torch):
        x = lib.zeros(3)
        alias = x
        x += 1
        x *= 3
        x -= 0.5
        x /= 2
        base = lib.zeros(4)
        view = base[1:3]
        view += 2
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        h = w * 2
        h += 1
        h *= w
        h.sum().backward()
        m = lib.nn.Linear(3, 1)
        with lib.no_grad():
            m.weight.copy_(lib.tensor([[1.0, -1.0, 0.5]]))
            m.bias.fill_(0.0)
        data = lib.tensor(np.arange(12, dtype=np.float32).reshape(4, 3) / 10)
        for _ in range(3):
            loss = ((m(data) - 1) ** 2).mean()
            m.zero_grad()
            loss.backward()
            with lib.no_grad():
                for p in m.parameters():
                    p -= 0.1 * p.grad
        results.append([alias.numpy(), base.numpy(), w.grad.numpy(), h.detach().numpy(),
                        m.weight.detach().numpy(), m.bias.detach().numpy()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("name", ["smooth_l1", "huber", "kl_div", "cosine", "normalize", "ce_positions",
                                  "ce_positions_weighted", "nll_positions_none"])
def test_more_losses_match_torch(name):
    rng = np.random.default_rng(8)
    a = rng.normal(size=(2, 3, 4)).astype(np.float32) * 2
    b = rng.normal(size=(2, 3, 4)).astype(np.float32)
    t = rng.integers(0, 3, size=(2, 4))
    t[0, 0] = -100
    fns = {"smooth_l1": lambda F, x, lib: F.smooth_l1_loss(x, lib.tensor(b), beta=0.5),
           "huber": lambda F, x, lib: F.huber_loss(x, lib.tensor(b), delta=0.7),
           "kl_div": lambda F, x, lib: F.kl_div(F.log_softmax(x, 1), F.softmax(lib.tensor(b), 1),
                                                reduction="batchmean"),
           "cosine": lambda F, x, lib: F.cosine_similarity(x, lib.tensor(b)),
           "normalize": lambda F, x, lib: F.normalize(x, dim=2),
           "ce_positions": lambda F, x, lib: F.cross_entropy(x, lib.tensor(t), label_smoothing=0.1),
           "ce_positions_weighted": lambda F, x, lib: F.cross_entropy(x, lib.tensor(t),
                                                                      weight=lib.tensor([1.0, 2.0, 0.5])),
           "nll_positions_none": lambda F, x, lib: F.nll_loss(F.log_softmax(x, 1), lib.tensor(t), reduction="none")}
    res = []
    for lib in (eager_api, torch):
        x = lib.tensor(a, requires_grad=True)
        out = fns[name](lib.nn.functional, x, lib)
        (out * out).sum().backward()
        res.append([out.detach().numpy(), x.grad.numpy()])
    for ours, theirs in zip(*res):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw", [dict(), dict(three_phase=True, anneal_strategy="linear"),
                                dict(pct_start=0.5, div_factor=10.0, final_div_factor=100.0, cycle_momentum=False)])
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_one_cycle_lr_matches_torch(kw, optimizer):
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8, 1)).astype(np.float32)
    runs = []
    for lib in (eager_api, torch):
        model = lib.nn.Linear(3, 1)
        with lib.no_grad():
            model.weight.copy_(lib.tensor([[0.5, -0.2, 0.1]]))
            model.bias.fill_(0.0)
        extra = dict(momentum=0.9) if optimizer == "SGD" else {}
        opt = getattr(lib.optim, optimizer)([{"params": [model.weight]}, {"params": [model.bias]}], lr=0.1, **extra)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=[0.5, 0.2], total_steps=10, **kw)
        trace = []
        for _ in range(10):
            opt.zero_grad()
            ((model(lib.tensor(x)) - lib.tensor(y)) ** 2).mean().backward()
            opt.step()
            sched.step()
            group = opt.param_groups[0]
            trace.append((group["lr"], opt.param_groups[1]["lr"], group.get("momentum", group.get("betas", (0,))[0])))
        runs.append((trace, model.weight.detach().numpy().copy(), sched))
    np.testing.assert_allclose(np.array(runs[0][0]), np.array(runs[1][0]), rtol=1e-12)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-5)
    for ran in runs:        # one step past the end raises in both
        with pytest.raises(ValueError, match="Tried to step 11 times. The specified number of total steps is 10"):
            ran[2].step()


_ARITH = [lambda L, x, y: x / 3, lambda L, x, y: x / 0.1, lambda L, x, y: 7 / y, lambda L, x, y: x.div(255.0),
          lambda L, x, y: x.add(y, alpha=0.3), lambda L, x, y: x.sub(y, alpha=-1.7), lambda L, x, y: x.add(y, alpha=2),
          lambda L, x, y: x.add(y[:1], alpha=0.3), lambda L, x, y: x.double().add(y.double(), alpha=0.1),
          lambda L, x, y: L.where(x > 0, (x * 100).long(), 0.5), lambda L, x, y: (x * 100).int() * L.tensor(3),
          lambda L, x, y: (x * 10).long() >= 1.5, lambda L, x, y: (x * 10).long().clamp(min=0.5),
          lambda L, x, y: (x > 0) + 2, lambda L, x, y: x.to(L.float16) + L.tensor(1.5)]


@pytest.mark.parametrize("i", range(len(_ARITH)))
def test_scalar_arithmetic_and_promotion_give_pytorchs_bits_and_dtypes(i):
    """Division by a number, a number over a tensor, add/sub with alpha (fused multiply-adds) and type
    promotion with numbers and zero-dimensional tensors: the same dtype and the same bits, gradients too."""
    r = np.random.default_rng(i)
    x, y = r.standard_normal(5000).astype(np.float32), r.uniform(0.5, 2.0, 5000).astype(np.float32)
    fn = _ARITH[i]
    ours = fn(eager_api, eager_api.tensor(x), eager_api.tensor(y))
    theirs = fn(torch, torch.tensor(x), torch.tensor(y))
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert np.array_equal(ours.numpy(), theirs.numpy())
    if ours.dtype.kind == "f" and i < 9:
        xo, yo = eager_api.tensor(x, requires_grad=True), eager_api.tensor(y, requires_grad=True)
        xt, yt = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
        (fn(eager_api, xo, yo) ** 2).sum().backward()
        (fn(torch, xt, yt) ** 2).sum().backward()
        for a, b in ((xo, xt), (yo, yt)):
            assert (a.grad is None) == (b.grad is None)
            if b.grad is not None:
                np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=2e-6, atol=0)


def test_negative_slice_steps_raise_and_sign_has_a_zero_gradient_as_in_pytorch():
    for lib in (torch, eager_api):
        with pytest.raises(ValueError, match="step must be greater than zero"):
            lib.arange(5)[::-1]
    xs = [lib.tensor([-2., 0., 3.], requires_grad=True) for lib in (torch, eager_api)]
    for x in xs:
        (x.sign() * x).sum().backward()
    assert np.array_equal(xs[0].grad.numpy(), xs[1].grad.numpy())


@pytest.mark.parametrize("beta", [1.0, 0.3, 2.0])
def test_smooth_l1_loss_values_are_pytorchs_bits(beta):
    """0.5 * d * d / beta divides by beta as ATen does (a product with 0.5 / beta put 4% of the values a bit
    off for beta 0.3); the sum of the values is a reduction, compared per element instead."""
    rng = np.random.default_rng(12)
    x, y = rng.normal(size=20000).astype(np.float32), rng.normal(size=20000).astype(np.float32)
    got = [lib.nn.functional.smooth_l1_loss(lib.tensor(x), lib.tensor(y), reduction="none", beta=beta).numpy()
           for lib in (eager_api, torch)]
    assert np.array_equal(*got)


ACTIVATIONS = {"relu6": {}, "hardtanh": dict(min_val=-2.0, max_val=3.0), "hardsigmoid": {}, "hardswish": {},
               "silu": {}, "softplus": dict(beta=2.0, threshold=5.0), "mish": {}, "elu": dict(alpha=0.5),
               "selu": {}}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_match_torch_values_and_gradients(name):
    """Values within PyTorch's own rounding (its Sleef exp and log1p against NumPy's), including the bounds,
    zero, the far tails and NaN; gradients too, where a clamp's edge, an overflowing exp or NaN decides them."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(size=400) * 4, [0.0, -0.0, 3.0, -3.0, 6.0, -2.0, 2.5, 5.0, 20.0, 25.0, -20.0,
                                                   -1e-6, -100.0, 100.0, np.nan]]).astype(np.float32)
    g = rng.normal(size=x.shape).astype(np.float32)
    out = []
    for lib in (eager_api, torch):
        t = lib.tensor(x, requires_grad=True)
        y = getattr(lib.nn.functional, name)(t, **ACTIVATIONS[name])
        y.backward(lib.tensor(g))
        out.append((y.detach().numpy(), t.grad.numpy()))
    (yo, go), (yt, gt) = out
    if name == "hardswish":     # ATen's backward passes g at NaN (its last branch); ours is NaN there
        assert np.isnan(go[-1]) and gt[-1] == g[-1]
        go, gt = go[:-1], gt[:-1]
    np.testing.assert_allclose(yo, yt, rtol=3e-7, atol=1e-37, equal_nan=True)
    # The smooth ones' gradients cancel near their minimum (silu near -1.28, hardswish at -1.5): there the
    # absolute error is what both roundings leave.
    np.testing.assert_allclose(go, gt, rtol=2e-6, atol=2e-7 if name in ("hardswish", "mish", "silu") else 1e-37,
                               equal_nan=True)
    if name in ("relu6", "hardtanh"):       # piecewise linear: the same bits, bounds and NaN included
        np.testing.assert_array_equal(yo, yt)
        np.testing.assert_array_equal(go, gt)


def test_activation_modules_match_torch_names_and_inplace_use():
    for name, kw in [("ReLU6", {}), ("Hardtanh", dict(min_val=-2.0, max_val=2.0)), ("SiLU", {}), ("Mish", {}),
                     ("Hardswish", {}), ("Hardsigmoid", {}), ("SELU", {}), ("Softplus", dict(beta=2.0))]:
        assert repr(getattr(nn, name)(**kw)) == repr(getattr(torch.nn, name)(**kw))
    outs = []
    for lib in (eager_api, torch):
        x = lib.tensor([-1.0, 2.0, 7.0], requires_grad=True)
        y = x * 2
        lib.nn.functional.relu6(y, inplace=True)        # in place on a non-leaf: the graph follows
        y.sum().backward()
        outs.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


def test_rounding_functions_match_torch():
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 1.2345, -1.2355, 123.5, np.inf, np.nan], np.float32)
    for fn in (lambda l, t: l.round(t), lambda l, t: t.round(decimals=2), lambda l, t: l.round(t, decimals=-1),
               lambda l, t: l.floor(t), lambda l, t: l.ceil(t), lambda l, t: l.expm1(t), lambda l, t: l.log1p(t)):
        got = []
        for lib in (eager_api, torch):
            t = lib.tensor(x, requires_grad=True)
            y = fn(lib, t)
            y.sum().backward()
            got.append((y.detach().numpy(), t.grad.numpy()))
        # expm1 and log1p: ATen's Sleef and NumPy's differ in the last bit of some values
        np.testing.assert_allclose(got[0][0], got[1][0], rtol=3e-7, equal_nan=True)
        np.testing.assert_allclose(got[0][1], got[1][1], rtol=3e-7, equal_nan=True)


def test_binary_cross_entropy_matches_torch_at_saturation_and_small_probabilities():
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-8, 1e-4, 0.3, 0.9999, 1 - 6e-8], np.float32)
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.25, 1.0, 0.0], np.float32)
    w = np.linspace(0.5, 2.0, 9).astype(np.float32)
    got = []
    for lib in (eager_api, torch):
        t = lib.tensor(p, requires_grad=True)
        loss = lib.nn.BCELoss(weight=lib.tensor(w), reduction="sum")(t, lib.tensor(y))
        loss.backward()
        got.append((lib.nn.functional.binary_cross_entropy(lib.tensor(p), lib.tensor(y), reduction="none").numpy(),
                    t.grad.numpy()))
    np.testing.assert_allclose(got[0][0], got[1][0], rtol=3e-7)       # Sleef's log against NumPy's
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-6)


TENSOR_FUNCTIONS = {
    "remainder": lambda lib, x, y: x * 5 % (y + 3) + 2.5 % (y.detach() + 3) + (x.detach() // 0.1) * 0.01,
    "cumsum": lambda lib, x, y: x.cumsum(1) * y + lib.cumsum(x, dim=0),
    "flip": lambda lib, x, y: x.flip(1) * y + lib.flip(x, [0, 1]),
    "logsumexp": lambda lib, x, y: lib.logsumexp(x * 3, 1, keepdim=True) * y,
    "bands": lambda lib, x, y: x.tril(-1) * y + lib.triu(x, 1),
    "trig": lambda lib, x, y: lib.sin(x * 3) * y + x.cos() + lib.square(x),
    "pad_crop": lambda lib, x, y: lib.nn.functional.pad(x * y, (-1, 2, 1, -2), value=0.5),
    "var_correction": lambda lib, x, y: x.var(1, correction=0, keepdim=True) * y + x.std(correction=2),
    "index_select": lambda lib, x, y: (x.index_select(1, lib.tensor([4, 0, 4]))
                                       * y.index_select(1, lib.tensor([1, 2, 3]))),
    # each row's index a distinct choice of 3 of the 7 columns; scatter_add with repeats along dim 0
    "scatter": lambda lib, x, y: (x.scatter(1, lib.tensor(np.argsort(np.arange(35).reshape(5, 7) % 4, 1)[:, :3]),
                                            y[:, :3])
                                  + x.scatter(1, lib.tensor([[6], [0], [3], [3], [1]]), 2.5)
                                  + x.scatter_add(0, lib.tensor([[0, 1, 1, 4], [0, 0, 2, 4]]), (y * 3)[:2, :4])),
    "index_add": lambda lib, x, y: x.index_add(1, lib.tensor([6, 0, 2]), y[:, :3] * 2, alpha=0.5),
}


@pytest.mark.parametrize("name", sorted(TENSOR_FUNCTIONS))
def test_tensor_functions_match_torch(name):
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(2, 5, 7)).astype(np.float32)
    got = []
    for lib in (eager_api, torch):
        tx, ty = lib.tensor(x, requires_grad=True), lib.tensor(y, requires_grad=True)
        out = TENSOR_FUNCTIONS[name](lib, tx, ty)
        out.backward(lib.tensor(np.linspace(-1, 1, out.numel(), dtype=np.float32).reshape(tuple(out.shape))))
        got.append([out.detach().numpy(), tx.grad.numpy(), ty.grad.numpy()])
    for a, b in zip(*got):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6)


# name -> a function of the library (eager_api or torch) and a float32 tensor x of shape (3, 4)
_SHAPE_FUNCTIONS = {
    "repeat": lambda L, x: x.repeat(2, 1, 3), "tile": lambda L, x: L.tile(x, (2, 1, 2)),
    "roll": lambda L, x: x.roll((-1, 5), (0, 1)), "roll_flat": lambda L, x: L.roll(x, 3),
    "movedim": lambda L, x: L.movedim(x.reshape(3, 2, 2), (0, 1), (2, 0)), "swapaxes": lambda L, x: x.swapaxes(0, 1),
    "broadcast_to": lambda L, x: x[0].broadcast_to((2, 4)), "unflatten": lambda L, x: x.unflatten(1, (2, -1)),
    "fliplr": lambda L, x: L.fliplr(x), "flipud": lambda L, x: x.flipud(),
    "rot90": lambda L, x: L.rot90(x), "rot90_2": lambda L, x: x.rot90(2), "rot90_back": lambda L, x: x.rot90(-1, (1, 0)),
    "diag": lambda L, x: L.diag(x), "diag_up": lambda L, x: x.diag(1), "diag_down": lambda L, x: x.diag(-2),
    "diag_vector": lambda L, x: L.diag(x[0], -1), "diag_vector_up": lambda L, x: x[1].diag(2),
    "trunc": lambda L, x: (x * 3).trunc(), "frac": lambda L, x: (x * 3).frac(),
    "addcmul": lambda L, x: x.addcmul(x[0], x[:, :1], value=0.3), "addcmul_same": lambda L, x: L.addcmul(x, x, x),
    "addcdiv": lambda L, x: x.addcdiv(x[0], x[:, :1] + 3, value=-2.5),
    "outer": lambda L, x: L.outer(x[0], x[1, :3]),
    "fmod": lambda L, x: L.fmod(x * 5, x.flip(0) + 0.25), "fmod_number": lambda L, x: (x * 4).fmod(-1.5),
    "lerp": lambda L, x: L.lerp(x, x.flip(1), 0.3), "lerp_far": lambda L, x: x.lerp(x.flip(0), 0.8),
    "lerp_tensor": lambda L, x: L.lerp(x, x.flip(1), L.tensor([0.1, 0.5, 0.9, -0.2], dtype=x.dtype)),
    "prod": lambda L, x: (x + 1.5).prod(1), "prod_with_zeros": lambda L, x: L.prod(L.relu(x), 0, keepdim=True),
    "meshgrid_xy": lambda L, x: L.meshgrid(x[0], x[1, :3], x[2, :2], indexing="xy")[1],
}


def _value_and_grad(lib, fn, x, weights):
    """``fn(lib, t)`` of a tensor of ``x`` and the gradient of its sum weighted by ``weights(shape)``."""
    t = lib.tensor(x, requires_grad=True)
    y = fn(lib, t)
    (y * lib.tensor(weights(tuple(y.shape)))).sum().backward()
    return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("name", sorted(_SHAPE_FUNCTIONS))
def test_tiling_rolling_diagonals_and_fused_arithmetic_give_pytorchs_bits(name):
    x = np.random.default_rng(3).normal(size=(3, 4)).astype(np.float32)
    x[0, :2] = [-0.0, 0.0]
    weights = lambda shape: np.arange(1, np.prod(shape) + 1, dtype=np.float32).reshape(shape)     # noqa: E731
    (ours, our_grad), (theirs, their_grad) = (_value_and_grad(lib, _SHAPE_FUNCTIONS[name], x, weights)
                                              for lib in (eager_api, torch))
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert np.array_equal(ours, theirs) and np.array_equal(np.signbit(ours), np.signbit(theirs))
    # a gradient that sums several paths may round its own way where they cancel: 1e-6 of the largest
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-6, atol=1e-6 * np.abs(their_grad).max())


# name -> (a function of the library and a float32 (2, 8, 5, 6) tensor, whether PyTorch's bits are expected)
_LAYER_FUNCTIONS = {
    "reflect": (lambda L, x: L.nn.functional.pad(x, (1, 2, 3, 1), mode="reflect"), True),
    "replicate": (lambda L, x: L.nn.ReplicationPad2d((2, 0, 1, 3))(x), True),
    "circular": (lambda L, x: L.nn.functional.pad(x, (2, 1, 1, 3), mode="circular"), True),
    "reflect1d": (lambda L, x: L.nn.ReflectionPad1d(3)(x[0]), True),
    "zero_pad": (lambda L, x: L.nn.ZeroPad2d((1, 0, 2, 1))(x), True),
    "constant_pad": (lambda L, x: L.nn.ConstantPad2d(1, 3.5)(x), True),
    "pixel_shuffle": (lambda L, x: L.nn.PixelShuffle(2)(x), True),
    "pixel_unshuffle": (lambda L, x: L.nn.functional.pixel_unshuffle(x[:, :, :4], 2), True),
    "prelu": (lambda L, x: L.nn.functional.prelu(x, L.linspace(-1, 2, 8)), True),
    "softsign": (lambda L, x: L.nn.Softsign()(x), True),
    "threshold": (lambda L, x: L.nn.Threshold(0.1, 20.0)(x), True),
    "hardshrink": (lambda L, x: L.nn.Hardshrink(0.5)(x), True),
    "softshrink": (lambda L, x: L.nn.Softshrink(0.3)(x), True),
    "unflatten": (lambda L, x: L.nn.Unflatten(1, (2, 4))(x), True),
    # within a rounding of exp, log1p, tanh or of the statistics (Sleef's and NumPy's functions differ)
    "logsigmoid": (lambda L, x: L.nn.functional.logsigmoid(x * 30), False),
    "softmin": (lambda L, x: L.nn.Softmin(1)(x), False),
    "glu": (lambda L, x: L.nn.GLU(1)(x), False),
    "celu": (lambda L, x: L.nn.CELU(0.7)(x * 3), False),
    "tanhshrink": (lambda L, x: L.nn.Tanhshrink()(x), False),
    "instance_norm": (lambda L, x: L.nn.InstanceNorm2d(8, affine=True)(x), False),
}


@pytest.mark.parametrize("name", sorted(_LAYER_FUNCTIONS))
def test_padding_shuffling_and_small_layers_match_torch(name):
    x = np.random.default_rng(4).normal(size=(2, 8, 5, 6)).astype(np.float32)
    x[0, 0, 0, :3] = [0.0, -0.0, 0.5]
    fn, exact = _LAYER_FUNCTIONS[name]
    weights = lambda shape: np.random.default_rng(5).normal(size=shape).astype(np.float32)     # noqa: E731
    (ours, our_grad), (theirs, their_grad) = (_value_and_grad(lib, fn, x, weights) for lib in (eager_api, torch))
    assert ours.shape == theirs.shape
    if exact:
        assert np.array_equal(ours, theirs) and np.array_equal(np.signbit(ours), np.signbit(theirs))
    else:       # tanhshrink cancels x - tanh(x) near 0: an ulp of x, not of the result
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6 * np.abs(x).max())
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-5, atol=1e-6 * np.abs(their_grad).max())


@pytest.mark.parametrize("args", [(0, 1, 0.1), (-3, 5, 0.37), (1, 1000, 3.3), (10, 0, -0.3), (0, 70000, 0.77)])
@pytest.mark.parametrize("double", [False, True])
def test_arange_gives_pytorchs_bits(args, double):
    # past 32768 values ATen splits the range over its threads, and its vector blocks restart at each share
    mine, peer = eager_api.get_num_threads(), torch.get_num_threads()
    try:
        eager_api.set_num_threads(2)
        torch.set_num_threads(2)
        ours = eager_api.arange(*args, **({"dtype": eager_api.float64} if double else {})).numpy()
        theirs = torch.arange(*args, **({"dtype": torch.float64} if double else {})).numpy()
    finally:
        eager_api.set_num_threads(mine)
        torch.set_num_threads(peer)
    assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)


@pytest.mark.parametrize("args", [(-1, 2, 8), (0.1, 0.7, 33), (-5.5, 3.3, 1000), (2, -7, 9), (3, 3, 4)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_linspace_gives_pytorchs_bits(args, dtype):
    ours = eager_api.linspace(*args, dtype=getattr(eager_api, dtype)).numpy()
    theirs = torch.linspace(*args, dtype=getattr(torch, dtype)).numpy()
    assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)


def _optimizer_run(lib, name, kw, dtype, steps, keys):
    """One parameter of 300 values stepped by ``lib``'s optimizer ``name`` on gradients of changing scales:
    (the state's ``keys`` as arrays, the weights)."""
    w0 = np.random.default_rng(1).normal(size=(300,)).astype(dtype)
    p = lib.tensor(w0.copy(), requires_grad=True)
    opt = getattr(lib.optim, name)([p], **kw)
    for s in range(steps):
        g = (np.random.default_rng(100 + s).normal(size=w0.shape) * 10.0 ** (s % 4 - 2)).astype(dtype)
        opt.zero_grad()
        (p * lib.tensor(g)).sum().backward()
        opt.step()
    state = opt.state[p]
    return [np.asarray(state[k].numpy() if hasattr(state[k], "numpy") else state[k]) for k in keys], p.detach().numpy()


@pytest.mark.parametrize("kw", [dict(lr=1e-3), dict(lr=0.05, betas=(0.3, 0.9)), dict(lr=1e-2, weight_decay=0.1),
                                dict(lr=1e-2, weight_decay=0.1, decoupled=True), dict(lr=1e-3, amsgrad=True)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adam_moments_are_pytorchs_bits_and_the_weights_an_ulp_from_them(kw, dtype):
    """Adam rounds as ATen's CPU step (lerp and addcmul each one fused multiply-add): the moments come out bit
    for bit.  The weights differ by an ulp in a few percent of values, where ATen's sqrt (MKL's, not correctly
    rounded: 17% of float32 square roots an ulp off) and NumPy's differ."""
    kw = dict(kw)
    name = "AdamW" if kw.pop("decoupled", False) else "Adam"
    ((m, v), w), ((tm, tv), tw) = (_optimizer_run(lib, name, kw, dtype, 8, ("exp_avg", "exp_avg_sq"))
                                   for lib in (eager_api, torch))
    if not kw.get("weight_decay"):     # the gradients do not depend on the weights: the moments are exact
        assert np.array_equal(m, tm) and np.array_equal(v, tv)
    ulp = np.finfo(dtype).eps * np.abs(tw).max()
    np.testing.assert_allclose(w, tw, rtol=0, atol=4 * ulp)


@pytest.mark.parametrize("case", ["conv1d", "conv1d_same", "conv1d_groups", "max_pool1d", "avg_pool1d"])
def test_one_dimensional_layers_match_torch(case):
    make = {"conv1d": lambda L: L.nn.Conv1d(4, 6, 3, stride=2, padding=1),
            "conv1d_same": lambda L: L.nn.Conv1d(4, 3, 4, padding="same", dilation=2, bias=False),
            "conv1d_groups": lambda L: L.nn.Conv1d(4, 6, 3, groups=2),
            "max_pool1d": lambda L: L.nn.MaxPool1d(3, 2, 1, ceil_mode=True),
            "avg_pool1d": lambda L: L.nn.AvgPool1d(3, 2, padding=1, count_include_pad=False)}[case]
    _pair(lambda: make(eager_api), lambda: make(torch), np.random.default_rng(6).normal(size=(2, 4, 11)).astype(
        np.float32))


@pytest.mark.parametrize("name", ["tan", "asin", "acos", "atan", "sinh", "cosh", "log2", "log10", "exp2", "atan2"])
def test_trigonometric_and_logarithmic_functions_match_torch(name):
    """Within PyTorch's last bits (its vectorized functions are Sleef's and MKL's, NumPy's its own); the
    gradients are the same formulas."""
    x = np.random.default_rng(8).normal(size=(16, 9)).astype(np.float32)
    arr = {"asin": np.tanh(x) * 0.99, "acos": np.tanh(x) * 0.99, "log2": np.abs(x) + 0.1,
           "log10": np.abs(x) + 0.1}.get(name, x)
    results = []
    for lib in (eager_api, torch):
        t = lib.tensor(arr, requires_grad=True)
        y = lib.atan2(t, t.flip(0)) if name == "atan2" else getattr(lib, name)(t)
        (y * lib.tensor(np.linspace(-1, 1, arr.size, dtype=np.float32).reshape(arr.shape))).sum().backward()
        results.append((y.detach().numpy(), t.grad.numpy()))
    (ours, our_grad), (theirs, their_grad) = results
    np.testing.assert_allclose(ours, theirs, rtol=3e-7, atol=1e-37)
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-6, atol=1e-6 * np.abs(their_grad).max())


@pytest.mark.parametrize("case", ["all", "dim", "keepdim", "nan", "nanmedian", "nanmedian_all", "ties_grad"])
def test_median_matches_torch(case):
    x = np.random.default_rng(9).normal(size=(5, 8)).astype(np.float32)
    if case in ("nan", "nanmedian", "nanmedian_all"):
        x[1, 3] = x[1, 6] = x[2, 0] = np.nan
    if case == "ties_grad":
        x[0, :3] = x[2, 5] = np.median(x)
    fn = {"all": lambda L, t: L.median(t), "dim": lambda L, t: t.median(1), "keepdim": lambda L, t: L.median(t, 0, True),
          "nan": lambda L, t: t.median(1), "nanmedian": lambda L, t: t.nanmedian(1),
          "nanmedian_all": lambda L, t: L.nanmedian(t), "ties_grad": lambda L, t: L.median(t)}[case]
    results = []
    for lib in (eager_api, torch):
        t = lib.tensor(x, requires_grad=True)
        out = fn(lib, t)
        parts = list(out) if isinstance(out, tuple) else [out]
        parts[0].sum().backward() if case not in ("nan",) else None
        results.append([p.detach().numpy() for p in parts] + ([t.grad.numpy()] if t.grad is not None else []))
    for a, b in zip(*results):
        assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("name,kw,exact", [
    ("RMSprop", dict(lr=1e-2), ["square_avg"]), ("RMSprop", dict(lr=1e-2, centered=True, momentum=0.5),
                                                 ["square_avg", "grad_avg"]),
    ("RMSprop", dict(lr=1e-2, alpha=0.3), ["square_avg"]), ("Adagrad", dict(lr=0.1, lr_decay=0.01), ["sum"]),
    ("Adadelta", dict(lr=0.5, rho=0.3), ["square_avg"])])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rmsprop_adagrad_adadelta_accumulators_are_pytorchs_bits(name, kw, exact, dtype):
    """Their addcmul_ and lerp_ are fused multiply-adds in ATen, reproduced: the accumulators fed by the
    gradients alone come out bit for bit; what goes through a square root (ATen's is MKL's) within an ulp."""
    (ours, w), (theirs, tw) = (_optimizer_run(lib, name, kw, dtype, 10, exact) for lib in (eager_api, torch))
    for k, a, b in zip(exact, ours, theirs):
        assert np.array_equal(a, b), k
    np.testing.assert_allclose(w, tw, rtol=0, atol=64 * np.finfo(dtype).eps * np.abs(tw).max())


@pytest.mark.parametrize("eq", ["bij,bjk->bik", "bij,bjk,k->bi", "bij,bjk", "bij->j", "i,i->"])
def test_einsum_matches_torch(eq):
    r = np.random.default_rng(10)
    shapes = {"bij": (2, 3, 4), "bjk": (2, 4, 5), "k": (5,), "i": (5,)}
    ops = [r.normal(size=shapes[t]).astype(np.float32) for t in eq.split("->")[0].split(",")]
    results = []
    for lib in (eager_api, torch):
        ts = [lib.tensor(o, requires_grad=True) for o in ops]
        y = lib.einsum(eq, *ts)
        (y * lib.tensor(np.full(tuple(y.shape), 0.7, np.float32))).sum().backward()
        results.append([y.detach().numpy()] + [t.grad.numpy() for t in ts])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
