"""Parity with PyTorch 2.13 for tests/test_torch_hooks.py: the same programs run in both libraries, comparing what
tensor hooks and module hooks see and hand back, the order they run in, the gradients they change, their errors and
warnings; grad_fn names and next_functions; cross_entropy's and nll_loss's target dtypes; parameter groups and the
optimizers' step tensors through state_dict round trips."""
import warnings

import numpy as np
import pytest

import eager_api
from tests.test_torch_hooks import post_accumulate_story

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.reference

R = np.random.default_rng(23)
X = R.normal(size=(4, 3)).astype(np.float32)
W1, B1 = R.normal(size=(5, 3)).astype(np.float32), R.normal(size=5).astype(np.float32)
W2, B2 = R.normal(size=(2, 5)).astype(np.float32), R.normal(size=2).astype(np.float32)


def _arrays(value):
    """Tensors inside nested tuples and lists as NumPy arrays (None and plain values kept)."""
    if isinstance(value, (tuple, list)):
        return type(value)(_arrays(v) for v in value)
    if hasattr(value, "detach"):
        return value.detach().numpy().copy()
    return value


def _assert_close(got, want, rtol=1e-5, atol=1e-6):
    if isinstance(want, (tuple, list)):
        assert type(got) is type(want) and len(got) == len(want), (got, want)
        for a, b in zip(got, want):
            _assert_close(a, b, rtol, atol)
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.shape == want.shape and got.dtype == want.dtype, (got, want)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    else:
        assert got == want


def _mlp(lib):
    seq = lib.nn.Sequential(lib.nn.Linear(3, 5), lib.nn.ReLU(), lib.nn.Linear(5, 2))
    with lib.no_grad():
        for p, a in zip(seq.parameters(), (W1, B1, W2, B2)):
            p.copy_(lib.tensor(a))
    return seq


def _caught(fn):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = fn()
    return out, [(w.category.__name__, str(w.message)) for w in record]


def _error(fn):
    try:
        fn()
    except Exception as e:      # noqa: BLE001  (the type and words are what is compared)
        return type(e).__name__, str(e)
    return None


# ----- tensor hooks ------------------------------------------------------------------------------------------------

def _tensor_hook_story(lib):
    story = []
    x = lib.tensor(X, requires_grad=True)
    x.register_hook(lambda g: story.append(("leaf", g)) or g * 2)
    h = x * x
    h.retain_grad()
    h.register_hook(lambda g: story.append(("h", g)) or g * lib.tensor(X))
    h.register_hook(lambda g: story.append(("h2", g)))
    y = (h.sin() * 3).sum() + (x * 5).sum()
    y.register_hook(lambda g: g * 0.5)
    y.backward(retain_graph=True)
    story += [("x.grad", x.grad), ("h.grad", h.grad)]
    story.append(("grad h", lib.autograd.grad(y, h, retain_graph=True)))
    story.append(("grad x", lib.autograd.grad(y, x)))
    # Registered before and after an in-place write.
    z = x * 2
    z.register_hook(lambda g: story.append(("before", g)))
    z.mul_(lib.tensor(X))
    z.register_hook(lambda g: story.append(("after", g)) or g + 1)
    x.grad = None
    z.sum().backward()
    story.append(("x.grad again", x.grad))
    return _arrays(story)


def test_tensor_hooks_match_torch():
    _assert_close(_tensor_hook_story(eager_api), _tensor_hook_story(torch))


def test_tensor_hooks_and_post_accumulate_hooks_match_torch():
    assert post_accumulate_story(eager_api) == post_accumulate_story(torch)


def _tensor_hook_errors(lib):
    out = [_error(lambda: lib.ones(2).register_hook(lambda g: g))]
    for hook in (lambda g: g.sum(), lambda g: g.double(), lambda g: 5, lambda g: g[:1]):
        x = lib.ones(3, requires_grad=True)
        h = x * 2
        h.register_hook(hook)
        out.append(_error(lambda: h.sum().backward()))
    return out


def test_tensor_hook_errors_match_torch():
    assert _tensor_hook_errors(eager_api) == _tensor_hook_errors(torch)


# ----- module hooks ------------------------------------------------------------------------------------------------

def _module_hook_story(lib, replace):
    seq = _mlp(lib)
    events = []
    for name, mod in seq.named_modules():
        mod.register_forward_pre_hook(lambda m, args, n=name: events.append(("pre", n, args)))
        mod.register_forward_hook(lambda m, args, out, n=name: events.append(("fwd", n, args, out)))
        mod.register_full_backward_pre_hook(lambda m, go, n=name: events.append(("bpre", n, go)))
        mod.register_full_backward_hook(lambda m, gi, go, n=name: events.append(("bwd", n, gi, go)))
    if replace:
        seq[0].register_full_backward_hook(lambda m, gi, go: (gi[0] * 3,))
        seq[2].register_full_backward_pre_hook(lambda m, go: (go[0] * lib.tensor([[1.0, -2.0]]),))
        seq[1].register_forward_hook(lambda m, args, out: out * 0.5)
        seq[0].register_forward_pre_hook(lambda m, args: args[0] + 1)
    x = lib.tensor(X, requires_grad=True)
    out = seq(x)
    (out * lib.tensor(X[:, :2])).sum().backward()
    return _arrays([events, out, x.grad] + [p.grad for p in seq.parameters()])


@pytest.mark.parametrize("replace", [False, True])
def test_module_hooks_see_and_change_what_torch_does(replace):
    _assert_close(_module_hook_story(eager_api, replace), _module_hook_story(torch, replace))


class _Mixed:
    """A module of (a, b, k, c=None) -> (a * k + c, b * 3, argmax) in either library."""

    @staticmethod
    def make(lib):
        class Mixed(lib.nn.Module):
            def forward(self, a, b, k, c=None):
                return a * k + (c if c is not None else 0), b * 3, a.argmax()
        return Mixed()


def _mixed_story(lib):
    seen = []
    mod = _Mixed.make(lib)
    mod.register_full_backward_pre_hook(lambda m, go: seen.append(("pre", go)))
    mod.register_full_backward_hook(lambda m, gi, go: seen.append(("hook", gi, go)))
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([4.0, 5.0], requires_grad=True)
    c = lib.tensor([1.0, 1.0], requires_grad=True)
    first, _, _ = mod(a, lib.tensor([4.0, 5.0]), 2, c=c)
    first.sum().backward()
    _, second, _ = mod(a, b, 3)
    second.sum().backward()
    return _arrays(seen + [a.grad, b.grad, c.grad])


def test_grad_input_and_grad_output_entries_match_torch():
    _assert_close(_mixed_story(eager_api), _mixed_story(torch))


def _no_input_grad_story(lib):
    lin = _mlp(lib)[0]
    seen = []
    lin.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))
    _, caught = _caught(lambda: lin(lib.tensor(X)).sum().backward())
    lin.register_full_backward_hook(lambda m, gi, go: (lib.ones(4, 3),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        error = _error(lambda: lin(lib.tensor(X)).sum().backward())
    return _arrays(seen), caught, error


def test_a_module_without_inputs_that_require_grad_matches_torch():
    (got, got_warnings, got_error), (want, want_warnings, want_error) = map(_no_input_grad_story, (eager_api, torch))
    _assert_close(got, want)
    assert got_warnings == want_warnings and got_error == want_error


def _module_hook_errors(lib):
    lin = _mlp(lib)[0]
    x = lib.tensor(X, requires_grad=True)
    out = []
    for kind, hook in [("hook", lambda m, gi, go: (gi[0], gi[0])), ("pre", lambda m, go: (go[0], go[0])),
                       ("hook", lambda m, gi, go: (lib.ones(3),)), ("hook", lambda m, gi, go: (gi[0].double(),)),
                       ("pre", lambda m, go: (lib.ones(5),)), ("hook", lambda m, gi, go: gi[0])]:
        register = lin.register_full_backward_hook if kind == "hook" else lin.register_full_backward_pre_hook
        with register(hook):
            out.append(_error(lambda: lin(x).sum().backward()))
    with lin.register_forward_pre_hook(lambda m, a, k: 5, with_kwargs=True):
        out.append(_error(lambda: lin(x)))
    return out


def test_module_hook_errors_match_torch():
    assert _module_hook_errors(eager_api) == _module_hook_errors(torch)


def _forward_hook_story(lib):
    lin = _mlp(lib)[0]
    seen = []
    lin.register_forward_hook(lambda m, args, out: seen.append("a"))
    lin.register_forward_hook(lambda m, args, kwargs, out: seen.append(("kw", kwargs)) or out * 2, with_kwargs=True)
    lin.register_forward_hook(lambda m, args, out: seen.append("first"), prepend=True)
    lin.register_forward_pre_hook(lambda m, args: seen.append("pre first"), prepend=True)
    lin.register_forward_pre_hook(lambda m, args, kwargs: seen.append(("pre kw", len(args))), with_kwargs=True)
    out = lin(lib.tensor(X))

    def broken(m, args, out):
        raise ValueError("boom")
    lin.register_forward_hook(lambda m, args, out: seen.append(("always", out)), always_call=True)
    lin.register_forward_hook(broken, always_call=True)
    error, caught = _caught(lambda: _error(lambda: lin(lib.ones(2, 2))))
    return _arrays([seen, out]), error[0], caught


def test_forward_hooks_match_torch():
    got, want = _forward_hook_story(eager_api), _forward_hook_story(torch)
    _assert_close(got[0], want[0])
    # PyTorch's linear raises its RuntimeError, dualflow's a ShapeError: both errors come through the hooks.
    assert got[1] in ("RuntimeError", "ShapeError") and want[1] == "RuntimeError"
    assert got[2] == want[2]


def _global_hook_story(lib):
    module_file = lib.nn.modules.module
    seq = _mlp(lib)
    seen = []
    handles = [module_file.register_module_forward_pre_hook(lambda m, a: seen.append(("pre", type(m).__name__))),
               module_file.register_module_forward_hook(lambda m, a, o: seen.append(("fwd", type(m).__name__))),
               module_file.register_module_full_backward_hook(
                   lambda m, gi, go: seen.append(("bwd", type(m).__name__)))]
    try:
        seq[2].register_forward_hook(lambda m, a, o: seen.append("own"))
        seq(lib.tensor(X, requires_grad=True)).sum().backward()
    finally:
        for h in handles:
            h.remove()
    seq(lib.tensor(X))
    return seen


def test_global_module_hooks_match_torch():
    assert _global_hook_story(eager_api) == _global_hook_story(torch)


# ----- grad_fn -----------------------------------------------------------------------------------------------------

_GRAD_FN_CASES = {
    "mul": lambda L, x, w, b: x * x, "add": lambda L, x, w, b: x + 1, "sub": lambda L, x, w, b: x - x,
    "rsub": lambda L, x, w, b: 1 - x, "div": lambda L, x, w, b: x / w[:4, :3], "neg": lambda L, x, w, b: -x,
    "pow": lambda L, x, w, b: x ** 2, "pow_t": lambda L, x, w, b: x.abs() ** x, "exp": lambda L, x, w, b: x.exp(),
    "log": lambda L, x, w, b: x.abs().log(), "sum": lambda L, x, w, b: x.sum(), "sum_dim": lambda L, x, w, b: x.sum(1),
    "mean": lambda L, x, w, b: x.mean(), "mean_dim": lambda L, x, w, b: x.mean(0), "max": lambda L, x, w, b: x.max(),
    "amax": lambda L, x, w, b: x.amax(1), "min": lambda L, x, w, b: x.min(),
    "linear": lambda L, x, w, b: L.nn.functional.linear(x, w, b),
    "linear_no_bias": lambda L, x, w, b: L.nn.functional.linear(x, w),
    "linear_3d": lambda L, x, w, b: L.nn.functional.linear(x.reshape(2, 2, 3), w, b),
    "mm": lambda L, x, w, b: x @ w.t(), "bmm": lambda L, x, w, b: L.bmm(x.reshape(2, 2, 3), x.reshape(2, 3, 2)),
    "view": lambda L, x, w, b: x.view(3, 4), "flatten": lambda L, x, w, b: x.reshape(2, 2, 3).flatten(1),
    "transpose": lambda L, x, w, b: x.reshape(2, 2, 3).transpose(0, 1),
    "permute": lambda L, x, w, b: x.reshape(2, 2, 3).permute(2, 0, 1), "slice": lambda L, x, w, b: x[:, 1:],
    "select": lambda L, x, w, b: x[0], "index": lambda L, x, w, b: x[L.tensor([2, 0])],
    "unsqueeze": lambda L, x, w, b: x.unsqueeze(1), "squeeze": lambda L, x, w, b: x[:, :1].squeeze(1),
    "expand": lambda L, x, w, b: b.expand(3, 5), "cat": lambda L, x, w, b: L.cat([x, x], 1),
    "relu": lambda L, x, w, b: L.nn.functional.relu(x), "sigmoid": lambda L, x, w, b: x.sigmoid(),
    "tanh": lambda L, x, w, b: x.tanh(), "silu": lambda L, x, w, b: L.nn.functional.silu(x),
    "elu": lambda L, x, w, b: L.nn.functional.elu(x), "softmax": lambda L, x, w, b: x.softmax(1),
    "log_softmax": lambda L, x, w, b: L.nn.functional.log_softmax(x, 1),
    "cross_entropy": lambda L, x, w, b: L.nn.functional.cross_entropy(x, L.tensor([0, 2, 1, 1])),
    "nll_loss": lambda L, x, w, b: L.nn.functional.nll_loss(x, L.tensor([0, 2, 1, 1])),
    "to": lambda L, x, w, b: x.double(), "clone": lambda L, x, w, b: x.clone(),
    "contiguous": lambda L, x, w, b: x.t().contiguous(), "where": lambda L, x, w, b: L.where(x > 0, x, x * 2),
    "gather": lambda L, x, w, b: x.gather(1, L.tensor([[0], [1], [2], [0]])),
    "pad": lambda L, x, w, b: L.nn.functional.pad(x, (1, 1)), "maximum": lambda L, x, w, b: L.maximum(x, x * 2),
    "log1p": lambda L, x, w, b: x.abs().log1p(), "sin": lambda L, x, w, b: x.sin(), "abs": lambda L, x, w, b: x.abs(),
    "conv2d": lambda L, x, w, b: L.nn.functional.conv2d(x.reshape(1, 1, 4, 3), w[:2, :1].reshape(2, 1, 1, 1), b[:2]),
    "max_pool2d": lambda L, x, w, b: L.nn.functional.max_pool2d(x.reshape(1, 1, 4, 3), 2),
    "avg_pool2d": lambda L, x, w, b: L.nn.functional.avg_pool2d(x.reshape(1, 1, 4, 3), 2),
    "copy_slices": lambda L, x, w, b: _written(x * 1),
}


def _written(t):
    t[0] = 5.0
    return t


def _grad_fn_names(lib):
    x = lib.tensor(X, requires_grad=True)
    w, b = lib.tensor(W1, requires_grad=True), lib.tensor(B1, requires_grad=True)
    names = {}
    for key, fn in _GRAD_FN_CASES.items():
        fn_obj = fn(lib, x, w, b).grad_fn
        names[key] = (type(fn_obj).__name__, fn_obj.name())
    return names


def test_grad_fn_names_match_torch():
    assert _grad_fn_names(eager_api) == _grad_fn_names(torch)


def _next_functions(lib):
    """The graph of mean(sum(relu(x * v + c), 1) ** 2) - b[0] walked through next_functions, as (name, [(input,
    index)], which leaf) trees.  (Linear's node is named AddmmBackward0 as PyTorch's, but leads through an
    MmBackward0 of its own.)"""
    x = lib.tensor(X, requires_grad=True)
    v, b = lib.tensor(X[::-1].copy(), requires_grad=True), lib.tensor(B1, requires_grad=True)
    out = (lib.nn.functional.relu(x * v + lib.tensor(X)).sum(1) ** 2).mean() - b[0]

    def walk(fn):
        if fn is None:
            return None
        leaf = getattr(fn, "variable", None)
        return (fn.name(), [(walk(f), i) for f, i in fn.next_functions],
                None if leaf is None else [leaf is t for t in (x, v, b)])
    return walk(out.grad_fn)


def test_next_functions_match_torch():
    assert _next_functions(eager_api) == _next_functions(torch)


# ----- losses, parameter groups, steps -----------------------------------------------------------------------------

_TARGET_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "bool", "float16", "float32", "float64"]


def _target_errors(lib, loss):
    fn = getattr(lib.nn.functional, loss)
    out = {}
    x = lib.tensor(X)
    for dtype in _TARGET_DTYPES:
        t = lib.tensor(np.array([0, 1, 2, 1])).to(getattr(lib, dtype))
        out[dtype] = _error(lambda: fn(x, t)) or round(fn(x, t).item(), 5)
        out[dtype + " per position"] = _error(lambda: fn(x.reshape(2, 3, 2), t.reshape(2, 2))) \
            or round(fn(x.reshape(2, 3, 2), t.reshape(2, 2)).item(), 5)
    out["int probabilities"] = _error(lambda: fn(x, lib.zeros(4, 3, dtype=lib.int64)))
    return out


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_target_dtypes_match_torch(loss):
    got, want = _target_errors(eager_api, loss), _target_errors(torch, loss)
    # nll_loss of a (4, 3) target: PyTorch's multi-target error, dualflow's ShapeError (both refuse).
    if loss == "nll_loss":
        assert got.pop("int probabilities")[0] == "ShapeError" and want.pop("int probabilities")[0] == "RuntimeError"
    assert got == want


def _group_errors(lib):
    w, b = lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(2))
    opt = lib.optim.Adam([w])
    out = [_error(lambda: lib.optim.SGD([{"params": [w]}, {"params": [w, b]}], lr=0.1)),
           _error(lambda: opt.add_param_group({"params": [b, w]})), len(opt.param_groups),
           _error(lambda: lib.optim.SGD([{"params": {w}}], lr=0.1)), _error(lambda: lib.optim.SGD(w, lr=0.1))]
    opt.add_param_group({"params": b, "lr": 0.5})
    out.append([len(g["params"]) for g in opt.param_groups])
    out.append(_caught(lambda: lib.optim.SGD([w, w], lr=0.1))[1])
    return out


def test_parameter_group_checks_match_torch():
    assert _group_errors(eager_api) == _group_errors(torch)


_STEPPED = ["Adam", "AdamW", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam", "Rprop", "Adadelta"]


def _step_story(lib, name, int_step):
    """Two steps, a state dict saved (with its step an int, as older versions saved it, when ``int_step``) and
    loaded into a new optimizer over new parameters, two more steps: the steps' types and values, the weights."""
    def grads(p, s):
        p.grad = lib.tensor((np.random.default_rng(s).normal(size=p.shape) * 0.1).astype(np.float32))

    p = lib.nn.Parameter(lib.tensor(X))
    opt = getattr(lib.optim, name)([p], lr=0.01)
    story = []
    for s in range(2):
        grads(p, s)
        opt.step()
    step = opt.state[p]["step"]
    story.append((type(step).__name__, str(step.dtype).replace("torch.", ""), tuple(step.shape), step.item()))
    saved = opt.state_dict()
    if int_step:
        saved["state"][0]["step"] = 2
    q = lib.nn.Parameter(lib.tensor(p.detach().numpy()))
    again = getattr(lib.optim, name)([q], lr=0.01)
    again.load_state_dict(saved)
    for s in range(2, 4):
        grads(q, s)
        again.step()
    step = again.state[q]["step"]
    story.append((type(step).__name__, str(step.dtype).replace("torch.", ""), tuple(step.shape), step.item()))
    return story, q.detach().numpy()


@pytest.mark.parametrize("int_step", [False, True])
@pytest.mark.parametrize("name", _STEPPED)
def test_steps_and_state_dict_round_trips_match_torch(name, int_step):
    (got, got_w), (want, want_w) = (_step_story(lib, name, int_step) for lib in (eager_api, torch))
    assert got == want
    np.testing.assert_allclose(got_w, want_w, rtol=1e-5, atol=1e-6)
