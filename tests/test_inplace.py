"""In-place ops, views and per-thread grad mode behave as in PyTorch (hand values, NumPy and finite differences;
real PyTorch in the reference tests)."""
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eager_api as torch
import eager_api.nn.functional as F
from tests import inplace_programs as progs


def test_inplace_after_use_does_not_rewire_earlier_nodes():
    x = torch.ones(3, requires_grad=True)
    a = x * 1.0
    s = a.sum()
    a.mul_(3.0)
    s.backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]
    assert a.tolist() == [3.0, 3.0, 3.0]


def test_resnet_style_inplace_relu_keeps_the_skip_value():
    x = torch.tensor([-1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y + 1                       # reads y before the in-place relu
    F.relu(y, inplace=True)
    (z + y).sum().backward()
    # d/dx [(2x + 1) + relu(2x)] = 2 + 2 * (x > 0)
    assert x.grad.tolist() == [2.0, 4.0]
    assert y.tolist() == [0.0, 4.0]


def test_inplace_on_a_slice_writes_through_with_its_gradient():
    a = torch.ones(4, requires_grad=True)
    x = a * 1
    x[0:2].mul_(3)
    assert x.tolist() == [3.0, 3.0, 1.0, 1.0]
    (x * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert a.grad.tolist() == [3.0, 6.0, 3.0, 4.0]


@pytest.mark.parametrize("make_view, region", [
    (lambda y: y.t()[1], (slice(None), 1)),                     # transpose then select: column 1
    (lambda y: y.view(-1)[4:8], (1, slice(None))),              # view then slice: row 1
    (lambda y: y.narrow(1, 2, 2), (slice(None), slice(2, 4))),
    (lambda y: y.select(0, 2).unsqueeze(0).squeeze(0), (2, slice(None))),
    (lambda y: y.reshape(12)[::3], np.unravel_index([0, 3, 6, 9], (3, 4))),
    (lambda y: y.transpose(0, 1).unbind(0)[3], (slice(None), 3)),
])
def test_every_view_kind_shares_storage_and_gradient(make_view, region):
    base = torch.arange(12.0).reshape(3, 4).requires_grad_()
    y = base * 1
    v = make_view(y)
    v.mul_(10.0)
    expected = np.arange(12.0).reshape(3, 4)
    expected[region] *= 10
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    c = np.cos(np.arange(12.0)).reshape(3, 4)
    (y * torch.tensor(c)).sum().backward()
    factor = np.ones((3, 4))
    factor[region] = 10
    np.testing.assert_allclose(base.grad.numpy(), c * factor, rtol=1e-6)


def test_view_of_a_base_written_in_place_sees_the_new_gradient():
    b = torch.ones(4, requires_grad=True)
    y = b * 1
    v = y[1:3]                      # made before the write into its base
    y.mul_(2)
    assert v.tolist() == [2.0, 2.0]
    v.sum().backward()
    assert b.grad.tolist() == [0.0, 2.0, 2.0, 0.0]


def test_inplace_op_that_needs_its_old_value_keeps_it():
    b = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    z = torch.tensor([4.0, 5.0, 6.0], requires_grad=True)
    y = b * 1
    y.mul_(z)                       # z's gradient is the old y
    y.sum().backward()
    assert b.grad.tolist() == [4.0, 5.0, 6.0] and z.grad.tolist() == [1.0, 2.0, 3.0]
    x = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    y = x * 1
    y.clamp_(min=0.0)              # the mask comes from the old values
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0]


def test_saved_value_overwritten_through_a_view_is_detected():
    x = torch.ones(4, requires_grad=True)
    y = x * 2
    w = y * y                       # saves y
    y[1:3].add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        w.sum().backward()


def test_overwrites_cut_the_gradient_of_what_they_replace():
    b = torch.ones(3, requires_grad=True)
    y = b * 1
    y.fill_(0)
    y.sum().backward()
    assert b.grad.tolist() == [0.0, 0.0, 0.0] and y.grad_fn is not None
    b = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = b * 2
    y[y > 3.0] = 0.0
    assert y.tolist() == [2.0, 0.0, 0.0]
    (y * torch.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert b.grad.tolist() == [2.0, 0.0, 0.0]


def test_setitem_of_a_tensor_that_requires_grad():
    w = torch.tensor([5.0, 7.0], requires_grad=True)
    x = torch.zeros(4)
    x[1:3] = w * 2
    assert x.requires_grad and x.tolist() == [0.0, 10.0, 14.0, 0.0]
    (x * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert w.grad.tolist() == [4.0, 6.0]
    x = torch.zeros(2, 3)
    x[[0, 1], [2, 0]] = w
    assert x.tolist() == [[0.0, 0.0, 5.0], [7.0, 0.0, 0.0]]


def test_refusals_match_pytorch():
    w = torch.ones(4, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        w[0:2].mul_(2)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        torch.ones(1).expand(3).add_(1)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        torch.ones(2, 3).t().view(6)
    with pytest.raises(RuntimeError, match="can't be cast"):
        torch.ones(3, dtype=torch.int64).mul_(1.5)


def test_copies_are_not_views():
    x = torch.arange(6.0).reshape(2, 3)
    r = x.t().reshape(6)            # cannot be a view: a copy, as in PyTorch
    r.mul_(0)
    c = x.t().contiguous()
    c.mul_(0)
    d = x[[0, 1]]                   # advanced indexing copies
    d.mul_(0)
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    x.t()[0].fill_(-1)              # ... and a real view writes through
    assert x.tolist() == [[-1.0, 1.0, 2.0], [-1.0, 4.0, 5.0]]


def test_retain_grad_follows_the_tensor_through_an_inplace_op():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    y.mul_(2)
    (y * torch.tensor([1.0, 10.0])).sum().backward()
    assert y.grad.tolist() == [1.0, 10.0] and x.grad.tolist() == [6.0, 60.0]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(progs.programs(progs.SMOOTH), st.integers(0, 2**16))
def test_random_programs_match_numpy_values_and_finite_differences(prog, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=progs.SHAPE), rng.normal(size=progs.SHAPE)
    try:
        values, gx, gw = progs.run_torchlike(torch, x, w, prog, torch.float64)
    except RuntimeError as exc:     # PyTorch refuses when a saved value was overwritten (the reference test
        assert "modified by an inplace operation" in str(exc)      # checks that it does, on the same programs)
        return
    ref_values, _ = progs.run_numpy(x, w, prog)
    assert len(values) == len(ref_values)
    for ours, ref in zip(values, ref_values):
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    eps = 1e-6
    for leaf, grad, name in ((x, gx, "X"), (w, gw, "W")):
        fd = np.zeros_like(leaf)
        for k in np.ndindex(leaf.shape):
            hi, lo = leaf.copy(), leaf.copy()
            hi[k] += eps
            lo[k] -= eps
            args_hi = (hi, w) if name == "X" else (x, hi)
            args_lo = (lo, w) if name == "X" else (x, lo)
            fd[k] = (progs.run_numpy(*args_hi, prog)[1] - progs.run_numpy(*args_lo, prog)[1]) / (2 * eps)
        np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-6, err_msg=f"d loss / d {name}")


def test_grad_mode_is_per_thread():
    inside, done = threading.Event(), threading.Event()
    seen = []

    def other_thread():
        with torch.no_grad():
            inside.set()
            done.wait(10)

    t = threading.Thread(target=other_thread)
    t.start()
    assert inside.wait(10)
    try:
        x = torch.ones(2, requires_grad=True)
        y = (x * 3).sum()           # recorded here while the other thread is in no_grad
        seen.append(torch.is_grad_enabled())
        y.backward()
    finally:
        done.set()
        t.join(10)
    assert seen == [True] and x.grad.tolist() == [3.0, 3.0]
    results = []
    with torch.no_grad():           # and a new thread starts with grad on whatever this one does
        t = threading.Thread(target=lambda: results.append(torch.is_grad_enabled()))
        t.start()
        t.join(10)
    assert results == [True]


def test_default_dtype_is_process_wide_as_in_pytorch():
    results = []
    torch.set_default_dtype(torch.float64)
    try:
        t = threading.Thread(target=lambda: results.append(torch.tensor([1.0]).dtype))
        t.start()
        t.join(10)
    finally:
        torch.set_default_dtype(torch.float32)
    assert results == [torch.float64]


# ----- against PyTorch ---------------------------------------------------------------------------------------
@pytest.mark.reference
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(progs.programs(progs.SMOOTH + progs.KINKED), st.integers(0, 2**16))
def test_random_programs_match_pytorch(prog, seed):
    real = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=progs.SHAPE), rng.normal(size=progs.SHAPE)
    try:
        expected = progs.run_torchlike(real, x, w, prog, real.float64)
    except RuntimeError as exc:
        with pytest.raises(RuntimeError) as ours:
            progs.run_torchlike(torch, x, w, prog, torch.float64)
        assert ("inplace operation" in str(exc)) == ("inplace operation" in str(ours.value)), (exc, ours.value)
        return
    values, gx, gw = progs.run_torchlike(torch, x, w, prog, torch.float64)
    assert len(values) == len(expected[0])
    for ours, ref in zip(values, expected[0]):
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gx, expected[1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gw, expected[2], rtol=1e-10, atol=1e-12)


@pytest.mark.reference
def test_issue_examples_match_pytorch():
    real = pytest.importorskip("torch")

    def run(lib):
        x = lib.ones(3, requires_grad=True)
        a = x * 1.0
        s = a.sum()
        a.mul_(3.0)
        s.backward()
        y0 = lib.tensor([-1.0, 2.0, 0.5], requires_grad=True)
        y = y0 * 2
        z = y + 1
        lib.nn.functional.relu(y, inplace=True)
        (z + y).sum().backward()
        b = lib.ones(4, requires_grad=True)
        v = b * 1
        v[0:2].mul_(3)
        v.sum().backward()
        return [x.grad.tolist(), y0.grad.tolist(), v.tolist(), b.grad.tolist()]

    assert run(torch) == run(real)


def test_autograd_grad_with_respect_to_a_view_of_a_rewritten_base():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    v = y[1:]
    y.mul_(2)                       # v now stands for 2 * x[1:]
    (g,) = torch.autograd.grad((v * v).sum(), v)
    assert g.tolist() == [8.0, 12.0]


def test_dtype_strings_are_refused_as_pytorch_refuses_them():
    # NumPy reads "float" as float64 and TensorFlow as float32: PyTorch takes neither, nor do we.
    with pytest.raises(TypeError, match="must be torch.dtype, not str"):
        torch.tensor([1.0], dtype="float")
    with pytest.raises(TypeError, match="must be torch.dtype, not str"):
        torch.zeros(2, dtype="float32")
    with pytest.raises(TypeError, match="must be torch.dtype, not str"):
        torch.ones(2).to(dtype="double")
    with pytest.raises((RuntimeError, ValueError)):
        torch.ones(2).to("float")       # a string is a device in .to()
    with pytest.raises(TypeError, match="only floating-point types"):
        torch.set_default_dtype(torch.int64)
    assert torch.ones(2, dtype=float).dtype == torch.float64      # Python's float is float64, as in PyTorch
    assert torch.ones(2).to(int).dtype == torch.int64


def test_backward_frees_saved_values_as_it_goes():
    import weakref
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    doubled = x * 2
    unsaved = weakref.ref(doubled.data.numpy())
    loss = doubled.exp().sum()
    exp_node = loss.node.inputs[0].node
    saved = weakref.ref(exp_node.outputs[0].array)      # exp(2x): the Exp node's gradient reads its output
    assert saved() is not None and unsaved() is not None
    del doubled         # exp's gradient does not read its input: nothing holds 2x any more (PyTorch's rule)
    assert unsaved() is None
    np.testing.assert_allclose(saved(), np.exp([2.0, 4.0]), rtol=1e-6)
    loss.backward()
    assert saved() is None and x.tolist() == [1.0, 2.0]     # the leaf keeps its data
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([2.0, 4.0]), rtol=1e-6)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()
    y = x * 3
    z = (y * y).sum()
    z.backward(retain_graph=True)       # retain_graph keeps them
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([2.0, 4.0]) + 2 * 2 * 9 * np.array([1.0, 2.0]),
                               rtol=1e-6)


def test_indices_changed_after_use_do_not_change_the_gradient():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    idx = torch.tensor([0, 1])
    y = x.gather(0, idx)
    idx[0] = 2                      # gather saved idx: PyTorch's version error
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    idx = torch.tensor([0, 1])
    y = x[idx]
    idx[0] = 2                      # indexing keeps its own copy of idx (PyTorch raises here instead)
    (y * torch.tensor([1.0, 10.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 10.0, 0.0]


def test_backward_callbacks_belong_to_the_running_pass():
    from eager_api import autograd
    with pytest.raises(RuntimeError, match="no backward pass is running"):
        autograd._queue_callback(lambda: None)
    w = torch.ones(2, requires_grad=True)
    ran = []
    w.register_post_accumulate_grad_hook(lambda p: autograd._queue_callback(lambda: ran.append(p.grad.tolist())))
    (w * 3).sum().backward()
    assert ran == [[3.0, 3.0]]
    with pytest.raises(RuntimeError, match="no backward pass is running"):   # the pass's queue is gone after it
        autograd._queue_callback(lambda: None)


def test_augmented_assignment_writes_in_place_as_pytorch():
    """``x += y`` is ``x.add_(y)`` in PyTorch: another name for x and a view of it see the change, a leaf that
    requires grad refuses it, and autograd follows the write (it was ``x = x + y``)."""
    x = torch.zeros(3)
    alias = x
    x += 1
    x *= 3
    x -= 1
    x /= 4
    x **= 2
    assert x is alias and alias.tolist() == [0.25, 0.25, 0.25]
    base = torch.zeros(4)
    view = base[1:3]
    view += 2
    view *= 3
    assert base.tolist() == [0.0, 6.0, 6.0, 0.0]
    mask = torch.tensor([True, False, False])
    mask |= torch.tensor([False, False, True])
    both = mask.clone()
    both &= torch.tensor([True, True, False])
    assert mask.tolist() == [True, False, True] and both.tolist() == [True, False, False]
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        w += 1
    h = w * 2
    h += 1
    h *= w                  # h = (2w + 1) w: dh/dw = 4w + 1
    h.sum().backward()
    assert w.grad.tolist() == [5.0, 9.0]
    ints = torch.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        ints += 0.5


def test_the_tutorials_manual_sgd_step_trains_the_model():
    """PyTorch's "learning with examples" loop updates each parameter with ``p -= lr * p.grad`` under no_grad;
    the model must train as plain NumPy gradient descent on the same least squares does."""
    m = torch.nn.Linear(3, 1)
    w, b = np.array([[1.0, -1.0, 0.5]], np.float32), np.zeros(1, np.float32)
    with torch.no_grad():
        m.weight.copy_(torch.tensor(w))
        m.bias.copy_(torch.tensor(b))
    x = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    y = np.ones((4, 1), np.float32)
    for _ in range(3):
        loss = ((m(torch.tensor(x)) - torch.tensor(y)) ** 2).mean()
        m.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in m.parameters():
                p -= 0.1 * p.grad
        r = 2 * (x @ w.T + b - y) / len(x)          # d(mean squared error)/d(prediction)
        w, b = w - 0.1 * (r.T @ x), b - 0.1 * r.sum(0)
    np.testing.assert_allclose(m.weight.detach().numpy(), w, rtol=1e-5)
    np.testing.assert_allclose(m.bias.detach().numpy(), b, rtol=1e-5)
    assert m.weight.is_leaf and m.weight.requires_grad
