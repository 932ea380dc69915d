"""Hooks and the autograd graph as PyTorch shows them: Tensor.register_hook, nn.Module's forward and full backward
hooks, grad_fn names and next_functions; with them cross_entropy's target dtypes, parameter groups and the
optimizers' step tensors.  Values by hand, gradients that hooks change against float64 central differences of a
NumPy function with that gradient, errors as PyTorch words them."""
import warnings

import numpy as np
import pytest

import eager_api as torch
from eager_api.nn import functional as F
from tests.helpers import central_differences

R = np.random.default_rng(11)


# ----- Tensor.register_hook ---------------------------------------------------------------------------------------

def test_a_leaf_hook_sees_the_summed_gradient_once_and_its_result_accumulates():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    x.register_hook(lambda g: g * 10)
    ((x * 2).sum() + (x * 3).sum()).backward()
    assert seen == [[5.0, 5.0, 5.0]]
    assert x.grad.tolist() == [50.0, 50.0, 50.0]
    # A second backward runs the hooks again and adds into .grad.
    (x * x).sum().backward()
    assert seen[-1] == [2.0, 4.0, 6.0] and x.grad.tolist() == [70.0, 90.0, 110.0]


def test_a_computed_tensors_hook_changes_the_gradient_that_flows_on():
    a = R.normal(size=(3, 4))
    c = R.normal(size=(3, 4))
    w = R.normal(size=(3, 4))
    x = torch.tensor(a, requires_grad=True)
    h = x * x
    h.register_hook(lambda g: g * torch.tensor(c))
    (h * torch.tensor(w)).sum().backward()
    # Scaling the gradient at h by c is the gradient of sum(c * w * x^2).
    want = central_differences(lambda v: (c * w * v * v).sum(), a)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6, atol=1e-8)


def test_hooks_run_in_registration_order_and_retain_grad_sees_their_result():
    x = torch.tensor([1.0, 1.0], requires_grad=True)
    h = x * 3
    calls = []
    h.retain_grad()         # registered first, yet keeps the gradient after every hook, as PyTorch's
    h.register_hook(lambda g: calls.append(("first", g.tolist())) or g * 100)
    h.register_hook(lambda g: calls.append(("second", g.tolist())) or g + 1)
    (h * 2).sum().backward()
    assert calls == [("first", [2.0, 2.0]), ("second", [200.0, 200.0])]
    assert h.grad.tolist() == [201.0, 201.0] and x.grad.tolist() == [603.0, 603.0]


def test_handles_remove_hooks_directly_and_as_context_managers():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    handle = x.register_hook(lambda g: g * 7)
    with x.register_hook(lambda g: g * 3):
        (x * 1).sum().backward()
    assert x.grad.tolist() == [21.0, 21.0]
    x.grad = None
    (x * 1).sum().backward()
    assert x.grad.tolist() == [7.0, 7.0]
    handle.remove()
    handle.remove()     # a second remove does nothing
    x.grad = None
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    assert isinstance(handle, torch.utils.hooks.RemovableHandle)


def test_hooks_apply_in_autograd_grad_for_leaves_and_computed_tensors():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 10)
    (gx,) = torch.autograd.grad((x * 2).sum(), x)
    assert gx.tolist() == [20.0, 20.0] and x.grad is None
    h = x * 3
    h.register_hook(lambda g: g * 100)
    (gh,) = torch.autograd.grad((h * 2).sum(), h)
    assert gh.tolist() == [200.0, 200.0]


def test_a_hook_belongs_to_the_value_it_was_registered_on():
    # As PyTorch: registered before an in-place write, it sees the gradient w.r.t. the old value.
    x = torch.tensor([1.0, 1.0], requires_grad=True)
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(("before", g.tolist())))
    h.mul_(5)
    h.register_hook(lambda g: seen.append(("after", g.tolist())))
    h.sum().backward()
    assert seen == [("after", [1.0, 1.0]), ("before", [5.0, 5.0])]
    assert x.grad.tolist() == [10.0, 10.0]


def test_a_hook_on_the_output_changes_the_seed():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    s = (x * x).sum()
    s.register_hook(lambda g: g * 3)
    s.backward()
    assert x.grad.tolist() == [6.0, 12.0]


def test_tensor_hook_errors_are_pytorchs():
    with pytest.raises(RuntimeError, match="^cannot register a hook on a tensor that doesn't require gradient$"):
        torch.ones(2).register_hook(lambda g: g)
    x = torch.ones(3, requires_grad=True)

    def resized(g):
        return g.sum()
    for hook, kind, message in [
            (resized, RuntimeError, "hook 'resized' has changed the size of value"),
            (lambda g: g.double(), RuntimeError,
             "hook '<lambda>' has changed the type of value (was torch.FloatTensor got torch.DoubleTensor)"),
            (lambda g: 5, TypeError, "expected Variable, but hook returned 'int'")]:
        h = x * 2
        h.register_hook(hook)
        with pytest.raises(kind) as info:
            h.sum().backward()
        assert str(info.value) == message


def post_accumulate_story(lib):
    """Tensor hooks and a post-accumulate hook on one pass, in ``lib`` (this module's library or PyTorch): the
    order they ran in and the kept gradient of a computed tensor."""
    w = lib.tensor([1.0, 2.0], requires_grad=True)
    order = []
    w.register_hook(lambda g: order.append(("hook", g.tolist())) or g * 2)
    w.register_post_accumulate_grad_hook(lambda p: order.append(("accumulated", p.grad.tolist())))
    # A computed tensor that keeps its gradient: with a post-accumulate hook around, the pass hands each gradient
    # over as soon as it is final, and the kept one must still come after its hooks.
    h = w * 3
    h.retain_grad()
    h.register_hook(lambda g: g + 1)
    (h * 5).sum().backward()
    return order, h.grad.tolist()


def test_tensor_hooks_come_before_post_accumulate_hooks_and_during_the_pass():
    order, kept = post_accumulate_story(torch)
    assert order == [("hook", [18.0, 18.0]), ("accumulated", [36.0, 36.0])]
    assert kept == [6.0, 6.0]


# ----- grad_fn -----------------------------------------------------------------------------------------------------

def test_grad_fn_names_are_pytorchs():
    x = torch.tensor(R.normal(size=(2, 3)).astype(np.float32), requires_grad=True)
    w = torch.tensor(R.normal(size=(4, 3)).astype(np.float32), requires_grad=True)
    b = torch.tensor(R.normal(size=4).astype(np.float32), requires_grad=True)
    img = torch.ones(1, 3, 5, 5, requires_grad=True)
    conv_w, conv_b = torch.ones(2, 3, 3, 3, requires_grad=True), torch.ones(2, requires_grad=True)
    cases = {
        "MulBackward0": x * x, "AddBackward0": x + 1, "SubBackward0": x - x, "DivBackward0": x / 2,
        "SumBackward0": x.sum(), "SumBackward1": x.sum(1), "MeanBackward0": x.mean(), "MeanBackward1": x.mean(0),
        "MaxBackward1": x.max(), "AmaxBackward0": x.amax(1), "PowBackward0": x ** 2, "ExpBackward0": x.exp(),
        "AddmmBackward0": F.linear(x, w, b), "MmBackward0": x @ w.t(), "ViewBackward0": x.view(3, 2),
        "TransposeBackward0": x.transpose(0, 1), "PermuteBackward0": x.unsqueeze(0).permute(2, 0, 1),
        "SliceBackward0": x[:, 1:], "SelectBackward0": x[0], "IndexBackward0": x[torch.tensor([1, 0])],
        "UnsqueezeBackward0": x.unsqueeze(0), "CatBackward0": torch.cat([x, x]), "ReluBackward0": F.relu(x),
        "SigmoidBackward0": x.sigmoid(), "TanhBackward0": x.tanh(), "SoftmaxBackward0": x.softmax(1),
        "LogSoftmaxBackward0": F.log_softmax(x, 1), "NllLossBackward0": F.cross_entropy(x, torch.tensor([0, 2])),
        "ToCopyBackward0": x.double(), "CloneBackward0": x.clone(), "ExpandBackward0": b.expand(2, 4),
        "WhereBackward0": torch.where(x > 0, x, x * 2), "ConvolutionBackward0": F.conv2d(img, conv_w, conv_b),
        "MaxPool2DWithIndicesBackward0": F.max_pool2d(img, 2), "Log1PBackward0": x.abs().log1p(),
    }
    for name, t in cases.items():
        assert type(t.grad_fn).__name__ == name and t.grad_fn.name() == name
    # Outside the table: the primitive's name with PyTorch's suffix.
    assert type(x.sin().grad_fn).__name__ == "SinBackward0"
    assert repr(x * 2).endswith("grad_fn=<MulBackward0>)")


def test_grad_fn_objects_are_stable_and_link_to_their_inputs():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    m = a * torch.tensor([3.0, 4.0])
    s = m.sum()
    assert a.grad_fn is None and s.grad_fn is s.grad_fn
    (mul, index), = s.grad_fn.next_functions
    assert mul is m.grad_fn and index == 0
    (acc, acc_index), (none, none_index) = mul.next_functions
    assert type(acc).__name__ == "AccumulateGrad" and acc.name() == "torch::autograd::AccumulateGrad"
    assert acc.variable is a
    assert (acc_index, none, none_index) == (0, None, 0) and acc.next_functions == ()
    # The object is the node's, whichever tensor leads to it.
    values, _ = torch.tensor([[1.0, 5.0]], requires_grad=True).max(1)
    assert values.grad_fn is values.grad_fn
    y = torch.tensor([1.0, 2.0], requires_grad=True) * 1
    y[0] = 5.0
    assert type(y.grad_fn).__name__ == "CopySlices" and y.grad_fn.name() == "torch::autograd::CopySlices"


# ----- nn.Module forward hooks -------------------------------------------------------------------------------------

def _linear(in_f=3, out_f=2, dtype=np.float32):
    lin = torch.nn.Linear(in_f, out_f)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(np.arange(out_f * in_f).reshape(out_f, in_f).astype(dtype) / 10))
        lin.bias.copy_(torch.tensor(np.array([0.5, -0.5][:out_f], dtype)))
    return lin


def test_forward_pre_hooks_replace_the_arguments():
    lin = _linear()
    x = torch.ones(1, 3)
    with lin.register_forward_pre_hook(lambda m, args: args[0] * 0):     # a non-tuple is wrapped in one
        assert lin(x).tolist() == [[0.5, -0.5]]
    seen = []

    def with_kwargs(m, args, kwargs):
        seen.append((len(args), dict(kwargs)))
        return (args[0] * 2,), {}
    with lin.register_forward_pre_hook(with_kwargs, with_kwargs=True):
        np.testing.assert_allclose(lin(x).tolist(), [[0.5 + 2 * 0.3, -0.5 + 2 * 1.2]], rtol=1e-6)
    assert seen == [(1, {})]
    with lin.register_forward_pre_hook(lambda m, a, k: 5, with_kwargs=True):
        with pytest.raises(RuntimeError, match=r"^forward pre-hook must return None or a tuple of \(new_args, "
                                               r"new_kwargs\), but got 5\.$"):
            lin(x)
    np.testing.assert_allclose(lin(x).tolist(), [[0.8, 0.7]], rtol=1e-6)


def test_forward_hooks_run_in_order_prepend_first_and_may_replace_the_output():
    lin = _linear()
    order = []
    lin.register_forward_hook(lambda m, args, out: order.append("a"))
    lin.register_forward_hook(lambda m, args, out: order.append("b") or out * 10)
    lin.register_forward_hook(lambda m, args, out: order.append(("c", out.tolist())))
    lin.register_forward_hook(lambda m, args, out: order.append("first"), prepend=True)
    kw = lin.register_forward_hook(lambda m, args, kwargs, out: order.append(("kw", kwargs)), with_kwargs=True)
    out = lin(torch.ones(1, 3))
    assert order[:3] == ["first", "a", "b"] and order[4] == ("kw", {})
    np.testing.assert_allclose(order[3][1], [[8.0, 7.0]], rtol=1e-6)
    np.testing.assert_allclose(out.tolist(), [[8.0, 7.0]], rtol=1e-6)
    kw.remove()
    assert len(lin._forward_hooks) == 4 and not lin._forward_hooks_with_kwargs


def test_always_called_forward_hooks_run_when_forward_raises():
    lin = _linear()
    seen = []
    lin.register_forward_hook(lambda m, args, out: seen.append(("always", out)), always_call=True)
    lin.register_forward_hook(lambda m, args, out: seen.append("plain"))

    def broken(m, args, out):
        raise ValueError("boom")
    lin.register_forward_hook(broken, always_call=True)
    with pytest.warns(UserWarning, match="module forward hook with ``always_call=True`` raised an exception that "
                                         "was silenced as another error was raised in forward: boom"):
        with pytest.raises(Exception, match="mat1 and mat2 shapes cannot be multiplied"):
            lin(torch.ones(3, 4))
    assert seen == [("always", None)]


def test_hooks_run_for_every_module_of_a_sequential_in_pytorchs_order():
    torch.manual_seed(0)
    seq = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    events = []
    for name, mod in seq.named_modules():
        mod.register_forward_pre_hook(lambda m, a, n=name: events.append(("pre", n)))
        mod.register_forward_hook(lambda m, a, o, n=name: events.append(("fwd", n)))
        mod.register_full_backward_pre_hook(lambda m, go, n=name: events.append(("bpre", n)))
        mod.register_full_backward_hook(lambda m, gi, go, n=name: events.append(("bwd", n)))
    seq(torch.ones(1, 2, requires_grad=True)).sum().backward()
    assert events == [("pre", ""), ("pre", "0"), ("fwd", "0"), ("pre", "1"), ("fwd", "1"), ("pre", "2"),
                      ("fwd", "2"), ("fwd", ""), ("bpre", ""), ("bpre", "2"), ("bwd", "2"), ("bpre", "1"),
                      ("bwd", "1"), ("bpre", "0"), ("bwd", "0"), ("bwd", "")]


def test_global_hooks_run_before_each_modules_own():
    from eager_api.nn.modules import module as module_file     # PyTorch's torch.nn.modules.module
    lin = _linear()
    order = []
    lin.register_forward_hook(lambda m, a, o: order.append("own"))
    with module_file.register_module_forward_hook(lambda m, a, o: order.append(type(m).__name__)):
        with module_file.register_module_forward_pre_hook(lambda m, a: order.append("pre")):
            lin(torch.ones(1, 3))
    lin(torch.ones(1, 3))
    assert order == ["pre", "Linear", "own", "own"]
    with pytest.raises(NotImplementedError, match="register_module_full_backward_hook"):
        module_file.register_module_backward_hook(lambda m, gi, go: None)


def test_the_fast_path_comes_back_once_every_hook_is_removed():
    lin = _linear()
    assert not lin._may_have_hooks
    handle = lin.register_forward_hook(lambda m, a, o: o * 0)
    assert lin._may_have_hooks and lin(torch.ones(1, 3)).tolist() == [[0.0, 0.0]]
    handle.remove()
    np.testing.assert_allclose(lin(torch.ones(1, 3)).tolist(), [[0.8, 0.7]], rtol=1e-6)
    assert not lin._may_have_hooks


# ----- nn.Module full backward hooks -------------------------------------------------------------------------------

def test_full_backward_hook_sees_grad_input_and_grad_output_of_a_linear():
    lin = _linear()
    seen = []
    lin.register_full_backward_hook(lambda m, gi, go: seen.append((m, gi, go)))
    x = torch.ones(1, 3, requires_grad=True)
    out = lin(x)
    assert type(out.grad_fn).__name__ == "BackwardHookFunctionBackward"
    (out * torch.tensor([[2.0, 3.0]])).sum().backward()
    (m, gi, go), = seen
    assert m is lin and len(gi) == 1 and len(go) == 1
    assert go[0].tolist() == [[2.0, 3.0]]
    np.testing.assert_allclose(gi[0].numpy(), [[2.0, 3.0]] @ lin.weight.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), gi[0].numpy(), rtol=0)


class _Mixed(torch.nn.Module):
    def forward(self, a, b, k, c=None):
        return a * k + (c if c is not None else 0), b * 3


def test_grad_input_has_one_entry_per_positional_argument():
    seen = []
    mod = _Mixed()
    mod.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    c = torch.tensor([1.0, 1.0], requires_grad=True)
    first, _ = mod(a, torch.tensor([4.0, 5.0]), 2, c=c)
    first.sum().backward()
    (gi, go), = seen
    # a's gradient; zeros (as PyTorch materializes them) for the tensor that does not require grad; None for the
    # number.  The output no gradient reached is None.  A keyword argument is not in grad_input.
    assert gi[0].tolist() == [2.0, 2.0] and gi[1].tolist() == [0.0, 0.0] and gi[2] is None and len(gi) == 3
    assert go[0].tolist() == [1.0, 1.0] and go[1] is None
    assert c.grad.tolist() == [1.0, 1.0]


def test_a_full_backward_hook_replaces_the_gradient_through_the_module_only():
    a = R.normal(size=(2, 3))
    cw = R.normal(size=(2, 3))
    lin = _linear(dtype=np.float64).double()
    W = lin.weight.detach().numpy().copy()
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 2,))
    x = torch.tensor(a, requires_grad=True)
    ((lin(x) @ torch.ones(2, 3, dtype=torch.float64) + x) * torch.tensor(cw)).sum().backward()
    # The residual path keeps its gradient, the one through the module doubles: the gradient of
    # sum(cw * ((2 x W^T) 1 + x)).
    want = central_differences(lambda v: (cw * (2 * (v @ W.T) @ np.ones((2, 3)) + v)).sum(), a)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6, atol=1e-8)


def test_a_full_backward_pre_hook_replaces_grad_output_for_the_parameters_too():
    a = R.normal(size=(2, 3))
    cw = R.normal(size=(2, 2))
    lin = _linear(dtype=np.float64).double()
    W = lin.weight.detach().numpy().copy()
    lin.register_full_backward_pre_hook(lambda m, go: (go[0] * 3,))
    x = torch.tensor(a, requires_grad=True)
    (lin(x) * torch.tensor(cw)).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), central_differences(lambda v: 3 * (cw * (a @ v.T)).sum(), W),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(x.grad.numpy(), central_differences(lambda v: 3 * (cw * (v @ W.T)).sum(), a),
                               rtol=1e-6, atol=1e-8)


def test_without_an_input_that_requires_grad_the_hook_fires_with_grad_output():
    lin = _linear()
    seen = []
    lin.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go[0].tolist())))
    with pytest.warns(UserWarning, match="^Full backward hook is firing when gradients are computed with respect to "
                                         "module outputs since no inputs require gradients") as record:
        lin(torch.ones(1, 3)).sum().backward()
    assert seen == [((None,), [[1.0, 1.0]])] and record[0].filename == __file__
    assert lin.weight.grad.tolist() == [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    lin.register_full_backward_hook(lambda m, gi, go: (torch.ones(1, 3),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="^Backward hook for Modules where no input requires gradient should "
                                               "always return None or None for all gradients.$"):
            lin(torch.ones(1, 3)).sum().backward()


def test_full_backward_hook_errors_are_pytorchs():
    lin = _linear()
    x = torch.ones(1, 3, requires_grad=True)
    cases = [("hook", lambda m, gi, go: (gi[0], gi[0]), RuntimeError,
              "Backward hook returned an invalid number of grad_input, got 2, but expected 1"),
             ("pre", lambda m, go: (go[0], go[0]), RuntimeError,
              "Backward pre hook returned an invalid number of grad_output, got 2, but expected 1"),
             ("hook", lambda m, gi, go: (torch.ones(3),), RuntimeError, "hook 'hook' has changed the size of value"),
             ("hook", lambda m, gi, go: (gi[0].double(),), RuntimeError,
              "hook 'hook' has changed the type of value (was torch.FloatTensor got torch.DoubleTensor)"),
             ("pre", lambda m, go: (torch.ones(2),), RuntimeError, "hook 'hook' has changed the size of value")]
    for kind, hook, error, message in cases:
        register = lin.register_full_backward_hook if kind == "hook" else lin.register_full_backward_pre_hook
        with register(hook):
            with pytest.raises(error) as info:
                lin(x).sum().backward()
        assert str(info.value) == message
    with pytest.raises(NotImplementedError, match="use register_full_backward_hook"):
        lin.register_backward_hook(lambda m, gi, go: None)


def test_backward_hooks_fire_once_per_call_with_that_calls_gradients():
    lin = _linear()
    seen = []
    lin.register_full_backward_hook(lambda m, gi, go: seen.append(go[0].tolist()))
    x = torch.ones(1, 3, requires_grad=True)
    (lin(x).sum() + lin(x * 2).sum() * 3).backward()
    assert seen == [[[3.0, 3.0]], [[1.0, 1.0]]]     # the later call's first, as PyTorch's engine goes
    # Under no_grad nothing is wrapped and nothing fires.
    with torch.no_grad():
        out = lin(x)
    assert out.grad_fn is None and len(seen) == 2


# ----- cross_entropy and nll_loss target dtypes ---------------------------------------------------------------------

@pytest.mark.parametrize("dtype,name", [(torch.int32, "Int"), (torch.int16, "Short"), (torch.int8, "Char"),
                                        (torch.bool, "Bool"), (torch.float32, "Float"), (torch.float64, "Double")])
@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_class_targets_must_be_long_or_byte(loss, dtype, name):
    x = torch.zeros(3, 4)
    with pytest.raises(RuntimeError, match=f"^expected target dtype to be Long or Byte, but got {name}$"):
        loss(x, torch.tensor([0, 1, 1]).to(dtype))
    with pytest.raises(RuntimeError, match=f"^expected target dtype to be Long or Byte, but got {name}$"):
        loss(torch.zeros(3, 4, 2), torch.zeros(3, 2).to(dtype))      # per position too


def test_byte_targets_give_the_long_targets_loss():
    x = torch.tensor(R.normal(size=(3, 4)).astype(np.float32))
    for loss in (F.cross_entropy, F.nll_loss):
        assert loss(x, torch.tensor([3, 0, 1], dtype=torch.uint8)).item() == loss(x, torch.tensor([3, 0, 1])).item()
    x_np = x.numpy().astype(np.float64)
    logp = x_np - np.log(np.exp(x_np).sum(1, keepdims=True))
    np.testing.assert_allclose(F.cross_entropy(x, torch.tensor([3, 0, 1], dtype=torch.uint8)).item(),
                               -logp[[0, 1, 2], [3, 0, 1]].mean(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="^Expected floating point type for target with class probabilities, "
                                           "got Long$"):
        F.cross_entropy(x, torch.zeros(3, 4, dtype=torch.int64))


# ----- parameter groups and step counts ----------------------------------------------------------------------------

def test_a_parameter_in_two_groups_is_refused():
    lin = _linear()
    message = "^some parameters appear in more than one parameter group$"
    with pytest.raises(ValueError, match=message):
        torch.optim.SGD([{"params": [lin.weight]}, {"params": [lin.weight, lin.bias]}], lr=0.1)
    opt = torch.optim.Adam([lin.weight])
    with pytest.raises(ValueError, match=message):
        opt.add_param_group({"params": [lin.bias, lin.weight]})
    assert len(opt.param_groups) == 1
    opt.add_param_group({"params": lin.bias, "lr": 0.5})       # a single tensor is a group of one
    assert opt.param_groups[1]["params"][0] is lin.bias and opt.param_groups[1]["lr"] == 0.5
    with pytest.raises(TypeError, match="ordering of tensors in sets will change between runs"):
        torch.optim.SGD([{"params": {lin.weight}}], lr=0.1)
    with pytest.raises(TypeError, match="^params argument given to the optimizer should be an iterable of Tensors "
                                        "or dicts, but got torch.FloatTensor$"):
        torch.optim.SGD(lin.weight, lr=0.1)
    with pytest.warns(UserWarning, match="optimizer contains a parameter group with duplicate parameters"):
        torch.optim.SGD([lin.weight, lin.weight], lr=0.1)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam", "Rprop",
                                  "Adadelta"])
def test_the_step_is_a_float_tensor_counted_in_place(name):
    lin = _linear()
    opt = getattr(torch.optim, name)(lin.parameters())
    lin(torch.ones(1, 3)).sum().backward()
    opt.step()
    step = opt.state[lin.weight]["step"]
    assert isinstance(step, torch.Tensor) and step.dtype == torch.float32 and step.shape == () and step.item() == 1.0
    opt.step()
    assert opt.state[lin.weight]["step"] is step and step.item() == 2.0
    saved = opt.state_dict()["state"][0]["step"]
    opt.step()
    assert saved.item() == 2.0 and step.item() == 3.0      # state_dict's copy does not move on


def test_sgd_keeps_no_step():
    lin = _linear()
    opt = torch.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    lin(torch.ones(1, 3)).sum().backward()
    opt.step()
    assert set(opt.state[lin.weight]) == {"momentum_buffer"}


def test_the_step_is_float64_under_a_float64_default_dtype():
    torch.set_default_dtype(torch.float64)
    try:
        w = torch.nn.Parameter(torch.ones(2))
        opt = torch.optim.Adam([w])
        w.grad = torch.ones(2)
        opt.step()
        assert opt.state[w]["step"].dtype == torch.float64
    finally:
        torch.set_default_dtype(torch.float32)


def test_an_int_step_from_an_older_state_dict_loads_as_a_tensor_and_counts_on():
    w0 = np.array([1.0, -2.0], np.float32)
    g = np.array([0.5, 0.25], np.float32)

    def run(load):
        w = torch.nn.Parameter(torch.tensor(w0))
        opt = torch.optim.Adam([w], lr=0.1)
        if load is not None:
            opt.load_state_dict(load)
        w.grad = torch.tensor(g)
        opt.step()
        return w, opt
    _, first = run(None)
    saved = first.state_dict()
    old = {"state": {0: {**saved["state"][0], "step": 1}}, "param_groups": saved["param_groups"]}
    w, opt = run(old)
    step = opt.state[w]["step"]
    assert isinstance(step, torch.Tensor) and step.dtype == torch.float32 and step.item() == 2.0
    # The second step's bias correction uses t = 2: Adam by formula, from the saved moments.
    m = 0.9 * saved["state"][0]["exp_avg"] + 0.1 * g
    v = 0.999 * saved["state"][0]["exp_avg_sq"] + 0.001 * g * g
    want = w0 - 0.1 * (m / (1 - 0.9 ** 2)) / (np.sqrt(v / (1 - 0.999 ** 2)) + 1e-8)
    np.testing.assert_allclose(w.detach().numpy(), want, rtol=1e-6)
    # And a saved tensor step round-trips as one of its own.
    again = torch.optim.Adam([torch.nn.Parameter(torch.tensor(w0))])
    again.load_state_dict(opt.state_dict())
    loaded = next(iter(again.state.values()))["step"]
    assert loaded.item() == 2.0 and loaded is not step and isinstance(loaded, torch.Tensor)

