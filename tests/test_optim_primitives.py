"""The optimizer update primitives (core/ops/optim.py) and the three frontends built on them.

Plain tests compare a few steps with hand-written float64 NumPy loops of each published formula;
``reference`` tests replay the same steps in torch.optim, tf.compat.v1.train and Keras 3.
"""
import numpy as np
import pytest

import backends
import core
import eager_api as torch
import static_api as tf
from core.ops import optim as O

RNG = np.random.default_rng(0)
W0 = RNG.standard_normal(5)
GRADS = [RNG.standard_normal(5) for _ in range(4)]
# A changing rate (the rate is an input of every step).  Rates and settings below are exact in float32,
# as TF and Keras round them to float32 constants before casting to the variable's dtype.
LRS = [0.125, 0.0625, 0.25, 0.03125]


# ----- the formulas, written out in float64 -------------------------------------------------------
def np_sgd(lrs, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False, keras=False):
    w, buf = W0.copy(), None
    for lr, g in zip(lrs, GRADS):
        g = (-g if maximize else g) + weight_decay * w
        if not momentum:
            w = w - lr * g
        elif keras:                     # Keras: v = mu v - lr g; w += v (Nesterov: w += mu v - lr g)
            buf = (0.0 if buf is None else momentum * buf) - lr * g
            w = w + (momentum * buf - lr * g if nesterov else buf)
        else:                           # PyTorch / TF1: the first buffer is g itself
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            w = w - lr * (g + momentum * buf if nesterov else buf)
    return w


def np_adam(lrs, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False, amsgrad=False, maximize=False,
            eps_hat=False):
    w, m, v, vmax = W0.copy(), 0.0, 0.0, 0.0
    for t, (lr, g) in enumerate(zip(lrs, GRADS), 1):
        g = -g if maximize else g
        if decoupled:
            w = w * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        vv = vmax if amsgrad else v
        if eps_hat:                     # TF1 / Keras: bias correction on the rate, eps on sqrt(v)
            w = w - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(vv) + eps)
        else:                           # PyTorch: eps on sqrt(v_hat)
            w = w - lr * (m / (1 - b1 ** t)) / (np.sqrt(vv / (1 - b2 ** t)) + eps)
    return w


def np_rmsprop(lrs, rho, eps, momentum=0.0, centered=False, weight_decay=0.0, maximize=False, tf_form=False,
               ms0=0.0):
    w, ms, mg, mom = W0.copy(), np.full(5, ms0), 0.0, 0.0
    for lr, g in zip(lrs, GRADS):
        g = (-g if maximize else g) + weight_decay * w
        ms = rho * ms + (1 - rho) * g * g
        var = ms
        if centered:
            mg = rho * mg + (1 - rho) * g
            var = ms - mg * mg
        if tf_form:                     # TF1 / Keras: eps under the root, the rate inside the momentum
            mom = momentum * mom + lr * g / np.sqrt(var + eps)
            w = w - mom
        else:                           # PyTorch
            mom = momentum * mom + g / (np.sqrt(var) + eps)
            w = w - lr * mom
    return w


def np_adagrad(lrs, eps, lr_decay=0.0, init=0.0, weight_decay=0.0, maximize=False, eps_inside=False):
    w, acc = W0.copy(), np.full(5, init)
    for t, (lr, g) in enumerate(zip(lrs, GRADS), 1):
        g = (-g if maximize else g) + weight_decay * w
        acc = acc + g * g
        d = np.sqrt(acc + eps) if eps_inside else np.sqrt(acc) + eps
        w = w - lr / (1 + (t - 1) * lr_decay) * g / d
    return w


def np_adadelta(lrs, rho, eps, weight_decay=0.0, maximize=False):
    w, v, u = W0.copy(), 0.0, 0.0
    for lr, g in zip(lrs, GRADS):
        g = (-g if maximize else g) + weight_decay * w
        v = rho * v + (1 - rho) * g * g
        d = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * d * d
        w = w - lr * d
    return w


# (primitive, the same variant as a NumPy loop)
CASES = {
    "sgd": (O.SGD(), lambda: np_sgd(LRS)),
    "sgd_wd_max": (O.SGD(weight_decay=0.1, maximize=True), lambda: np_sgd(LRS, weight_decay=0.1, maximize=True)),
    "sgd_momentum_dampening": (O.SGD(0.9, dampening=0.3, weight_decay=0.01),
                               lambda: np_sgd(LRS, 0.9, 0.3, weight_decay=0.01)),
    "sgd_nesterov": (O.SGD(0.9, nesterov=True), lambda: np_sgd(LRS, 0.9, nesterov=True)),
    "sgd_nesterov_tf1": (O.SGD(0.875, nesterov=True, tf1_kernel=True), lambda: np_sgd(LRS, 0.875, nesterov=True)),
    "sgd_keras": (O.SGD(0.9, lr_in_buffer=True), lambda: np_sgd(LRS, 0.9, keras=True)),
    "sgd_keras_nesterov": (O.SGD(0.8, nesterov=True, lr_in_buffer=True),
                           lambda: np_sgd(LRS, 0.8, nesterov=True, keras=True)),
    "adam": (O.Adam(), lambda: np_adam(LRS)),
    "adam_l2_max": (O.Adam(0.8, 0.9, 1e-3, weight_decay=0.1, maximize=True),
                    lambda: np_adam(LRS, 0.8, 0.9, 1e-3, weight_decay=0.1, maximize=True)),
    "adamw_amsgrad": (O.Adam(0.8, 0.9, 1e-3, 0.1, decoupled=True, amsgrad=True),
                      lambda: np_adam(LRS, 0.8, 0.9, 1e-3, 0.1, decoupled=True, amsgrad=True)),
    "rmsprop": (O.RMSprop(0.9, 0.1), lambda: np_rmsprop(LRS, 0.9, 0.1)),
    "rmsprop_centered_momentum": (O.RMSprop(0.9, 0.1, 0.5, True, 0.1, True),
                                  lambda: np_rmsprop(LRS, 0.9, 0.1, 0.5, True, 0.1, True)),
    "rmsprop_tf1": (O.RMSprop(0.9, 0.1, 0.5, eps_inside=True, lr_in_momentum=True, ms_init=1.0),
                    lambda: np_rmsprop(LRS, 0.9, 0.1, 0.5, tf_form=True, ms0=1.0)),
    "rmsprop_tf1_centered": (O.RMSprop(0.9, 0.1, 0.5, True, eps_inside=True, lr_in_momentum=True, ms_init=1.0),
                             lambda: np_rmsprop(LRS, 0.9, 0.1, 0.5, True, tf_form=True, ms0=1.0)),
    "rmsprop_keras": (O.RMSprop(0.9, 0.1, eps_inside=True, lr_in_momentum=True),
                      lambda: np_rmsprop(LRS, 0.9, 0.1, tf_form=True)),
    "adagrad": (O.Adagrad(0.1, lr_decay=0.5, initial_accumulator_value=0.2, weight_decay=0.1, maximize=True),
                lambda: np_adagrad(LRS, 0.1, 0.5, 0.2, 0.1, True)),
    "adagrad_tf1": (O.Adagrad(0.0, initial_accumulator_value=0.1), lambda: np_adagrad(LRS, 0.0, init=0.1)),
    "adagrad_keras": (O.Adagrad(0.5, initial_accumulator_value=0.1, eps_inside=True),
                      lambda: np_adagrad(LRS, 0.5, init=0.1, eps_inside=True)),
    "adadelta": (O.Adadelta(0.9, 0.1, 0.1, True), lambda: np_adadelta(LRS, 0.9, 0.1, 0.1, True)),
    # TF1's and Keras' own orders of operations; TF1's round hyperparameters to float32 (exact ones here)
    "adadelta_tf1": (O.Adadelta(0.75, 0.125, tf1_kernel=True), lambda: np_adadelta(LRS, 0.75, 0.125)),
    "adadelta_keras": (O.Adadelta(0.9, 0.1, keras=True), lambda: np_adadelta(LRS, 0.9, 0.1)),
    "rmsprop_tf1_kernel": (O.RMSprop(0.75, 0.125, 0.5, True, eps_inside=True, lr_in_momentum=True, ms_init=1.0,
                                     momentum_slot=True, tf1_kernel=True),
                           lambda: np_rmsprop(LRS, 0.75, 0.125, 0.5, True, tf_form=True, ms0=1.0)),
    # Keras' betas and decay pass through float32 (exact ones here)
    "adam_keras": (O.AdamPowers(0.75, 0.875, 0.5, keras=True), lambda: np_adam(LRS, 0.75, 0.875, 0.5, eps_hat=True)),
    "adamw_keras_amsgrad": (O.AdamPowers(0.75, 0.875, 1e-3, keras=True, amsgrad=True, weight_decay=0.125),
                            lambda: np_adam(LRS, 0.75, 0.875, 1e-3, 0.125, decoupled=True, amsgrad=True,
                                            eps_hat=True)),
}


def _run_primitive(op, inplace):
    be = backends.backend_of(W0)
    w = W0.copy()
    slots = op.init_slots(be, w)
    for t, (lr, g) in enumerate(zip(LRS, GRADS), 1):
        before = [w.copy(), *[s.copy() for s in slots]]
        g_before = g.copy()
        out = op.forward(be, w, g, *slots, lr, t)
        np.testing.assert_array_equal(g, g_before)            # the gradient is never written
        if inplace:         # the results are the buffers passed in
            assert all(a is b for a, b in zip(out, (w, *slots)))
        else:               # pure: the inputs keep their values
            assert all(np.array_equal(a, b) for a, b in zip((w, *slots), before))
            assert not any(a is b for a, b in zip(out, (w, *slots)))
        w, *slots = out
    return w


def _with(op, inplace):
    """The same primitive with another ``inplace`` setting."""
    return type(op)(**{**op.attrs(), "inplace": inplace})


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("case", sorted(CASES))
def test_primitive_matches_the_formula(case, inplace):
    op, ref = CASES[case]
    np.testing.assert_allclose(_run_primitive(_with(op, inplace), inplace), ref(), rtol=1e-12, atol=1e-14)


def test_variants_really_differ():
    """The variant attributes change the result (so the formula tests above can tell them apart)."""
    assert not np.allclose(np_sgd(LRS, 0.9, keras=True), np_sgd(LRS, 0.9))
    assert not np.allclose(np_adam(LRS, 0.8, 0.9, 0.5, eps_hat=True), np_adam(LRS, 0.8, 0.9, 0.5))
    assert not np.allclose(np_rmsprop(LRS, 0.9, 0.1, tf_form=True, ms0=1.0), np_rmsprop(LRS, 0.9, 0.1, tf_form=True))
    assert not np.allclose(np_adagrad(LRS, 0.5, eps_inside=True), np_adagrad(LRS, 0.5))


# ----- float32 steps in scratch buffers, bit for bit the plain expressions ------------------------------------
def _plain_rmsprop(w, g, ms, mom, mg, lr, rho, eps, momentum, centered, eps_inside, lr_in_momentum):
    ms *= rho
    ms += (1 - rho) * (g * g)
    var = ms
    if centered:
        mg *= rho
        mg += (1 - rho) * g
        var = ms - mg * mg
    d = np.sqrt(var + eps) if eps_inside else np.sqrt(var) + eps
    if not momentum:
        w -= lr * g / d
        return
    mom *= momentum
    if lr_in_momentum:
        mom += lr * g / d
        w -= mom
    else:
        mom += g / d
        w -= lr * mom


def _plain_adagrad(w, g, acc, lr, eps, eps_inside):
    acc += g * g
    d = np.sqrt(acc + eps) if eps_inside else np.sqrt(acc) + eps
    w -= lr * g / d


def _plain_adadelta(w, g, v, u, lr, rho, eps, keras=False):
    v *= rho
    v += (1 - rho) * (g * g)
    delta = np.sqrt(u + eps) * g / np.sqrt(v + eps) if keras else np.sqrt(u + eps) / np.sqrt(v + eps) * g
    u *= rho
    u += (1 - rho) * (delta * delta)
    w -= lr * delta


def _plain_tf1_rmsprop(w, g, ms, mom, mg, lr, rho, eps, momentum):
    """TF1's kernel: increments, hyperparameters as float32 tensors."""
    lr, rho, eps, momentum = (np.float32(c) for c in (lr, rho, eps, momentum))
    ms += (g * g - ms) * (1 - rho)
    mg += (g - mg) * (1 - rho)
    mom[...] = mom * momentum + g * lr / np.sqrt(ms - mg * mg + eps)
    w -= mom


def _plain_tf1_nesterov(w, g, buf, lr, mu):
    """TF1's ApplyMomentum with use_nesterov: accum = accum * momentum + grad; var -= grad * lr + accum *
    momentum * lr."""
    buf *= mu
    buf += g
    w -= g * lr + buf * mu * lr


def _plain_keras_sgd(w, g, buf, lr, mu, nesterov):
    buf *= mu
    buf -= lr * g
    w += mu * buf - lr * g if nesterov else buf


SCRATCH_CASES = {
    **{f"keras-sgd-n{n}": (O.SGD(0.9, nesterov=n, lr_in_buffer=True, inplace=True),
                           lambda w, g, s, lr, n=n: _plain_keras_sgd(w, g, s[0], lr, 0.9, n)) for n in (False, True)},
    **{f"rmsprop-c{c}-m{m}-in{i}-lr{l}": (
        O.RMSprop(0.9, 1e-3, m, c, eps_inside=i, lr_in_momentum=l, inplace=True),
        lambda w, g, s, lr, c=c, m=m, i=i, l=l: _plain_rmsprop(w, g, s[0], s[1] if m else None, s[-1] if c else None,
                                                             lr, 0.9, 1e-3, m, c, i, l))
       for c in (False, True) for m in (0.0, 0.5) for i in (False, True) for l in (False, True) if m or not l},
    **{f"adagrad-in{i}": (O.Adagrad(1e-3, eps_inside=i, initial_accumulator_value=0.1, inplace=True),
                          lambda w, g, s, lr, i=i: _plain_adagrad(w, g, s[0], lr, 1e-3, i)) for i in (False, True)},
    "adadelta": (O.Adadelta(0.9, 1e-3, inplace=True), lambda w, g, s, lr: _plain_adadelta(w, g, *s, lr, 0.9, 1e-3)),
}

# Orders of operations of TF1's and Keras' own kernels (see test_reference_tf for the libraries themselves).
ORDER_CASES = {
    "adadelta-keras": (O.Adadelta(0.9, 1e-3, keras=True, inplace=True), O.Adadelta(0.9, 1e-3, inplace=True),
                       lambda w, g, s, lr: _plain_adadelta(w, g, *s, lr, 0.9, 1e-3, keras=True)),
    "sgd-nesterov-tf1-kernel": (O.SGD(0.9, nesterov=True, tf1_kernel=True, inplace=True),
                                O.SGD(0.9, nesterov=True, inplace=True),
                                lambda w, g, s, lr: _plain_tf1_nesterov(w, g, s[0], lr, 0.9)),
    "rmsprop-tf1-kernel": (O.RMSprop(0.9, 1e-3, 0.5, True, eps_inside=True, lr_in_momentum=True, tf1_kernel=True,
                                     inplace=True),
                           O.RMSprop(0.9, 1e-3, 0.5, True, eps_inside=True, lr_in_momentum=True, inplace=True),
                           lambda w, g, s, lr: _plain_tf1_rmsprop(w, g, s[0], s[1], s[2], lr, 0.9, 1e-3, 0.5)),
}


@pytest.mark.parametrize("case", sorted(ORDER_CASES))
def test_tf1_and_keras_orders_round_as_their_kernels(case):
    """Over a thousand wide-ranging float32 values: the variant gives its plain loop's bits, and the
    default order does not (so the check can tell the orders apart)."""
    op, default, plain = ORDER_CASES[case]
    rng = np.random.default_rng(5)
    w0 = rng.standard_normal(1000).astype(np.float32)
    grads = [(rng.standard_normal(1000) * 10.0 ** rng.integers(-3, 3, 1000)).astype(np.float32) for _ in range(6)]
    be = backends.backend_of(w0)
    results = []
    for update in (op, default, plain):
        w, slots = w0.copy(), [s + np.float32(0.5) for s in op.init_slots(be, w0)]
        for lr, g in zip([0.1, 0.3, 0.05, 0.2, 0.01, 0.1], grads):
            if update is plain:
                plain(w, g, slots, lr)
            else:
                update.forward(be, w, g, *slots, lr, 1)
        results.append(w)
    assert results[0].tobytes() == results[2].tobytes()
    assert results[1].tobytes() != results[2].tobytes()


@pytest.mark.parametrize("case", sorted(SCRATCH_CASES))
def test_float32_updates_in_scratch_buffers_round_as_the_plain_expressions(case):
    """RMSprop, Adagrad, Adadelta and Keras' SGD step in per-thread scratch buffers (a flat update over all variables
    would otherwise allocate and fault in temporaries of its size every step): the same operations in the
    same order, so the same bits as the NumPy expressions they replace."""
    op, plain = SCRATCH_CASES[case]
    be = backends.backend_of(W0)
    w = W0.astype(np.float32) * 3
    slots = [s.astype(np.float32) + 0.5 for s in op.init_slots(be, W0)]
    w2, slots2 = w.copy(), [s.copy() for s in slots]
    for lr, g in zip([0.1, 0.3, 0.05, 0.2], GRADS):       # Python floats: they stay float32
        g = g.astype(np.float32)
        op.forward(be, w, g, *slots, lr, 1)
        plain(w2, g, slots2, lr)
    assert w.tobytes() == w2.tobytes() and all(a.tobytes() == b.tobytes() for a, b in zip(slots, slots2))
    assert not np.array_equal(w, W0.astype(np.float32) * 3)


def test_exactness_is_remembered_per_dtype_and_scalar_type_not_per_value():
    # Whether an update may round in a scratch buffer of the weight's dtype: a Python scalar takes the
    # array's dtype, a float64 NumPy scalar or 0-d rate tensor does not (NumPy 2 promotion); the answer is
    # cached, so asking in alternation must keep them apart.
    f32, f64 = np.ones(3, np.float32), np.ones(3)
    for _ in range(2):
        assert O._exact(f32, 0.5, 1) is True
        assert O._exact(f32, np.float64(0.5)) is False
        assert O._exact(f32, np.array(0.5)) is False
        assert O._exact(f32, np.float32(0.5), 0.25) is True
        assert O._exact(f64, np.float32(0.5)) is True
        assert O._exact(f32.astype(np.float16), 0.5) is True


def test_slot_initial_values():
    be = backends.backend_of(W0)
    assert [s[0] for s in O.RMSprop(ms_init=1.0, momentum=0.5, centered=True).init_slots(be, W0)] == [1.0, 0.0, 0.0]
    assert O.Adagrad(initial_accumulator_value=0.1).init_slots(be, W0)[0][0] == 0.1
    assert O.SGD().slot_names == () and O.Adam(amsgrad=True).slot_names == ("m", "v", "vmax")


def test_apply_records_and_replays_with_fed_rate_and_step():
    """Through core.apply in a static graph: the rate and step are fed like any input."""
    tf.reset_default_graph()
    op = O.Adam(0.8, 0.9, 0.5)
    w, g, m, v = (tf.placeholder(tf.float64, [5]) for _ in range(4))
    lr, t = tf.placeholder(tf.float64, []), tf.placeholder(tf.float64, [])
    outs = core.apply(op, w, g, m, v, lr, t)
    wv, mv, vv = W0, np.zeros(5), np.zeros(5)
    with tf.Session() as sess:
        for step, (rate, grad) in enumerate(zip(LRS, GRADS), 1):
            wv, mv, vv = sess.run(outs, {w: wv, g: grad, m: mv, v: vv, lr: rate, t: float(step)})
    np.testing.assert_allclose(wv, np_adam(LRS, 0.8, 0.9, 0.5), rtol=1e-12)


def test_infer_checks_shapes_and_scalars():
    op = O.SGD(0.9)
    a, b = torch.zeros(3, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)
    with pytest.raises(ValueError, match="ApplySGD: argument 'momentum' expected shape"):
        core.apply(op, a, a, b, torch.tensor(0.1, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="ApplySGD: argument 'lr' expected a scalar"):
        core.apply(op, a, a, a, a, torch.tensor(1.0, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"ApplySGD: expected inputs \['w', 'g', 'momentum', 'lr', 'step'\]"):
        core.apply(op, a, a)


# ----- the frontends compute through the primitives ----------------------------------------------
# torch.optim class, arguments (the rate is set each step), the same steps as a NumPy loop
EAGER = {
    "sgd": ("SGD", dict(weight_decay=0.125, maximize=True), lambda: np_sgd(LRS, weight_decay=0.125, maximize=True)),
    "sgd_momentum": ("SGD", dict(momentum=0.875, dampening=0.25), lambda: np_sgd(LRS, 0.875, 0.25)),
    "sgd_nesterov": ("SGD", dict(momentum=0.875, nesterov=True, weight_decay=0.0078125),
                     lambda: np_sgd(LRS, 0.875, nesterov=True, weight_decay=0.0078125)),
    "adam": ("Adam", dict(betas=(0.75, 0.875), eps=2 ** -10, weight_decay=0.125),
             lambda: np_adam(LRS, 0.75, 0.875, 2 ** -10, 0.125)),
    "adam_amsgrad": ("Adam", dict(betas=(0.75, 0.875), eps=2 ** -10, amsgrad=True, maximize=True),
                     lambda: np_adam(LRS, 0.75, 0.875, 2 ** -10, amsgrad=True, maximize=True)),
    "adamw": ("AdamW", dict(betas=(0.75, 0.875), eps=2 ** -10, weight_decay=0.125),
              lambda: np_adam(LRS, 0.75, 0.875, 2 ** -10, 0.125, decoupled=True)),
    "rmsprop": ("RMSprop", dict(alpha=0.875, eps=0.125), lambda: np_rmsprop(LRS, 0.875, 0.125)),
    "rmsprop_all": ("RMSprop", dict(alpha=0.875, eps=0.125, weight_decay=0.125, momentum=0.5, centered=True,
                                    maximize=True),
                    lambda: np_rmsprop(LRS, 0.875, 0.125, 0.5, True, 0.125, True)),
    "adagrad": ("Adagrad", dict(lr_decay=0.5, initial_accumulator_value=0.25, eps=0.125),
                lambda: np_adagrad(LRS, 0.125, 0.5, 0.25)),
    "adadelta": ("Adadelta", dict(rho=0.875, eps=0.125, weight_decay=0.125),
                 lambda: np_adadelta(LRS, 0.875, 0.125, 0.125)),
}


def _eager_run(lib, case):
    name, kwargs, _ = EAGER[case]
    p = lib.nn.Parameter(lib.tensor(W0))
    opt = getattr(lib.optim, name)([p], lr=LRS[0], **kwargs)
    for lr, g in zip(LRS, GRADS):
        opt.param_groups[0]["lr"] = lr
        p.grad = lib.tensor(g)
        version = p._version
        opt.step()
        assert p._version > version      # PyTorch's AdamW bumps it twice
    return p.detach().numpy(), opt


@pytest.mark.parametrize("case", sorted(EAGER))
def test_eager_optimizers(case):
    w, _ = _eager_run(torch, case)
    np.testing.assert_allclose(w, EAGER[case][2](), rtol=1e-12, atol=1e-14)


def test_eager_state_keys_follow_pytorch():
    for case, keys in [("rmsprop_all", ["step", "square_avg", "momentum_buffer", "grad_avg"]),
                       ("adam_amsgrad", ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"]),
                       ("sgd_momentum", ["momentum_buffer"]), ("adadelta", ["step", "square_avg", "acc_delta"])]:
        _, opt = _eager_run(torch, case)
        assert list(opt.state_dict()["state"][0]) == keys
    assert _eager_run(torch, "sgd")[1].state_dict()["state"] == {}       # plain SGD keeps no state


def _static_run(lib, make):
    """Minimize sum(w * c) with c fed each step, so the gradient is c; the rate comes from a placeholder."""
    w = lib.Variable(W0, name="w")
    c = lib.placeholder(lib.float64, [5])
    rate = lib.placeholder(lib.float64, [])
    train_op = make(rate).minimize(lib.reduce_sum(w * c))
    with lib.Session() as sess:
        sess.run(lib.global_variables_initializer())
        for lr, g in zip(LRS, GRADS):
            sess.run(train_op, {c: g, rate: lr})
        return sess.run(w)


# tf.compat.v1.train / keras.optimizers class, arguments, the same steps as a NumPy loop
STATIC = {
    "tf1_sgd": ("GradientDescentOptimizer", {}, lambda: np_sgd(LRS)),
    "tf1_momentum": ("MomentumOptimizer", dict(momentum=0.875, use_nesterov=True),
                     lambda: np_sgd(LRS, 0.875, nesterov=True)),
    "tf1_adam": ("AdamOptimizer", dict(beta1=0.75, beta2=0.875, epsilon=0.5),
                 lambda: np_adam(LRS, 0.75, 0.875, 0.5, eps_hat=True)),
    "tf1_rmsprop": ("RMSPropOptimizer", dict(decay=0.875, momentum=0.5, epsilon=0.125),
                    lambda: np_rmsprop(LRS, 0.875, 0.125, 0.5, tf_form=True, ms0=1.0)),
    "tf1_rmsprop_centered": ("RMSPropOptimizer", dict(decay=0.875, momentum=0.5, epsilon=0.125, centered=True),
                             lambda: np_rmsprop(LRS, 0.875, 0.125, 0.5, True, tf_form=True, ms0=1.0)),
    "tf1_adagrad": ("AdagradOptimizer", dict(initial_accumulator_value=0.25), lambda: np_adagrad(LRS, 0.0, init=0.25)),
    "tf1_adadelta": ("AdadeltaOptimizer", dict(rho=0.875, epsilon=0.125), lambda: np_adadelta(LRS, 0.875, 0.125)),
    "keras_sgd": ("SGD", dict(momentum=0.875, nesterov=True), lambda: np_sgd(LRS, 0.875, nesterov=True, keras=True)),
    "keras_adam": ("Adam", dict(beta_1=0.75, beta_2=0.875, epsilon=0.5, amsgrad=True),
                   lambda: np_adam(LRS, 0.75, 0.875, 0.5, amsgrad=True, eps_hat=True)),
    "keras_adamw": ("AdamW", dict(weight_decay=0.125, beta_1=0.75, beta_2=0.875, epsilon=0.5),
                    lambda: np_adam(LRS, 0.75, 0.875, 0.5, 0.125, decoupled=True, eps_hat=True)),
    "keras_rmsprop": ("RMSprop", dict(rho=0.875, momentum=0.5, epsilon=0.125, centered=True),
                      lambda: np_rmsprop(LRS, 0.875, 0.125, 0.5, True, tf_form=True)),
    "keras_adagrad": ("Adagrad", dict(initial_accumulator_value=0.25, epsilon=0.5),
                      lambda: np_adagrad(LRS, 0.5, init=0.25, eps_inside=True)),
    "keras_adadelta": ("Adadelta", dict(rho=0.875, epsilon=0.125), lambda: np_adadelta(LRS, 0.875, 0.125)),
}


@pytest.mark.parametrize("case", sorted(STATIC))
def test_static_optimizers(case):
    name, kwargs, ref = STATIC[case]
    tf.reset_default_graph()
    cls = getattr(tf.keras.optimizers if case.startswith("keras") else tf.train, name)
    np.testing.assert_allclose(_static_run(tf, lambda r: cls(learning_rate=r, **kwargs)), ref(), rtol=1e-12,
                               atol=1e-14)


def test_tf1_adagrad_checks_the_initial_value():
    with pytest.raises(ValueError, match="initial_accumulator_value must be positive: 0.0"):
        tf.train.AdagradOptimizer(0.1, 0.0)


def test_keras_optimizer_names_round_trip():
    for name in ("adagrad", "adadelta", "adamw"):
        opt = tf.keras.optimizers.get(name)
        again = tf.keras.optimizers.deserialize(tf.keras.optimizers.serialize(opt))
        assert tf.keras.optimizers.serialize(again) == tf.keras.optimizers.serialize(opt)
    assert tf.keras.optimizers.serialize(tf.keras.optimizers.get("adadelta")) == {
        "name": "adadelta", "learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7}


# ----- the real libraries ----------------------------------------------------------------------
@pytest.mark.reference
@pytest.mark.parametrize("case", sorted(EAGER))
def test_eager_matches_torch_optim(case):
    real = pytest.importorskip("torch")
    ours, opt = _eager_run(torch, case)
    theirs, real_opt = _eager_run(real, case)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    keys = [{i: list(st) for i, st in o.state_dict()["state"].items()} for o in (opt, real_opt)]
    assert keys[0] == keys[1]


@pytest.mark.reference
@pytest.mark.parametrize("case", sorted(k for k in STATIC if k.startswith("tf1")))
def test_tf1_matches_tf_compat_v1_train(case):
    real = pytest.importorskip("tensorflow").compat.v1
    name, kwargs, _ = STATIC[case]
    tf.reset_default_graph()
    ours = _static_run(tf, lambda r: getattr(tf.train, name)(learning_rate=r, **kwargs))
    with real.Graph().as_default():
        theirs = _static_run(real, lambda r: getattr(real.train, name)(learning_rate=r, **kwargs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


@pytest.mark.reference
@pytest.mark.parametrize("case", sorted(k for k in STATIC if k.startswith("keras")))
def test_keras_matches_keras3(case):
    keras = pytest.importorskip("keras")
    name, kwargs, _ = STATIC[case]
    tf.reset_default_graph()
    ours = _static_run(tf, lambda r: getattr(tf.keras.optimizers, name)(learning_rate=r, **kwargs))
    opt = getattr(keras.optimizers, name)(learning_rate=LRS[0], **kwargs)
    w = keras.Variable(W0, dtype="float64")
    for lr, g in zip(LRS, GRADS):
        opt.learning_rate = lr
        opt.apply_gradients([(keras.ops.convert_to_tensor(g), w)])
    np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(w), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_adam_step_gives_the_numpy_expressions_bits(monkeypatch, dtype):
    """On the CPU the non-amsgrad Adam step runs as one compiled pass (backends/numba_kernels.py) where numba
    is installed: the same operations in the same order, so in float32 the same bits as the NumPy path (whose
    fused multiply-adds go through float64); in float64 NumPy has no fused multiply-add and rounds its products
    apart, so the two agree to a few ulps.  A NumPy scalar rate (NumPy would compute in float64) keeps the
    expressions."""
    pytest.importorskip("numba", reason="numba is not installed: its kernels cannot run")
    from backends import numba_kernels
    ran = []
    real = numba_kernels.adam
    monkeypatch.setattr(numba_kernels, "adam", lambda *a: ran.append(real(*a)) or ran[-1])
    op = O.Adam(0.9, 0.999, 1e-8, inplace=True)
    be = backends.backend_of(W0)
    rng = np.random.default_rng(5)
    w = (rng.standard_normal(257) * 3).astype(dtype)
    w[:4] = [0.0, -0.0, 1e-30, 1e30]
    grads = [(rng.standard_normal(257) * 10.0 ** rng.integers(-6, 4, 257)).astype(dtype) for _ in range(4)]
    for g in grads:
        g[:3] = [0.0, -0.0, 1e-38]
    states = []
    for numba_on in ("1", "0"):
        monkeypatch.setenv("DUALFLOW_NUMBA", numba_on)
        ww, slots = w.copy(), [s.astype(dtype) for s in op.init_slots(be, w)]
        for step, (lr, g) in enumerate(zip([1e-3, 0.3, 0.05, 2e-4], grads), 1):       # Python-float rates
            op.forward(be, ww, g, *slots, lr, step)
        states.append([ww] + slots)
    assert ran == [True] * 4 + [False] * 4         # compiled with numba on, declined with it off
    for a, b in zip(*states):
        if dtype == np.float32:
            assert a.tobytes() == b.tobytes()
        else:
            np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)
    assert not np.array_equal(states[0][0], w)
    ran.clear()
    op.forward(be, w, w.copy(), *[s.astype(dtype) for s in op.init_slots(be, w)], np.float64(0.1), 1)
    assert ran == []                                # a NumPy scalar rate: the compiled step is not asked


class _OnDevice(np.ndarray):
    """A 0-d array standing for a number that lives on a GPU: reading it on the host (``bool``, ``int``,
    ``float``, ``item``) fails, and arithmetic on it gives more of the same (NumPy would give plain scalars).
    An update that runs with such a step count decides nothing on the host, so a captured CUDA graph of it
    replays correctly while the count advances on the device."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [i.view(np.ndarray) if isinstance(i, _OnDevice) else i for i in inputs]
        outs = kwargs.get("out")
        if outs is not None:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, _OnDevice) else o for o in outs)
        res = getattr(ufunc, method)(*plain, **kwargs)
        if outs is not None:            # in place (``count += 1``): the same object, still on the device
            return outs[0] if len(outs) == 1 else outs
        return _wrap(res)

    def __array_function__(self, func, types, args, kwargs):
        plain = [a.view(np.ndarray) if isinstance(a, _OnDevice) else a for a in args]
        return _wrap(func(*plain, **kwargs))

    def _host_read(self, *a):
        raise AssertionError("a step-derived number was read back to the host")

    __bool__ = __int__ = __float__ = __index__ = item = tolist = _host_read


def _wrap(res):
    """A 0-d numeric result stays on the device; anything else (a dtype from ``result_type``) is what it is."""
    return np.asarray(res).view(_OnDevice) if isinstance(res, (np.ndarray, np.generic)) and res.ndim == 0 else res


DEVICE_STEP_CASES = {k: CASES[k][0] for k in ("sgd", "sgd_momentum_dampening", "sgd_nesterov", "adam", "adam_l2_max",
                                            "adamw_amsgrad", "adagrad",
                                            "rmsprop_tf1", "adadelta", "adam_keras", "adamw_keras_amsgrad")}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", sorted(DEVICE_STEP_CASES))
def test_a_device_step_count_gives_the_host_counts_bits_without_reading_it_back(monkeypatch, case, dtype):
    """A static Program passes its step count as a 0-d array on the device (``State.tick``).  Every number
    derived from it (bias corrections, the first step's choices) is then computed on the device, and rounds as
    the Python float it stands for: the same bits as the host count's path.  (The compiled CPU Adam kernel takes
    its numbers as arguments on the host, which on the CPU is the device: switched off here.)"""
    monkeypatch.setenv("DUALFLOW_NUMBA", "0")
    op = _with(DEVICE_STEP_CASES[case], True)
    be = backends.backend_of(W0)
    runs = []
    for on_device in (False, True):
        w = (W0 * 3).astype(dtype)
        slots = [s.astype(dtype) for s in op.init_slots(be, w)]
        count = np.zeros((), np.int64).view(_OnDevice)
        for t, (lr, g) in enumerate(zip(LRS, GRADS), 1):
            count += 1
            op.forward(be, w, g.astype(dtype), *slots, lr, count if on_device else t)
        runs.append([w, *slots])
    for a, b in zip(*runs):
        if case in ("adam", "adam_l2_max", "adamw_amsgrad") and dtype == np.float64:
            # PyTorch's sqrt(1 - b2^t) is Python's pow(x, 0.5) on the host, the correctly rounded square root
            # on the device: one unit in the last place apart now and then (see core.ops.optim._Update).
            np.testing.assert_allclose(a, b, rtol=1e-14)
        else:
            assert a.tobytes() == b.tobytes()
    assert not np.array_equal(runs[1][0], (W0 * 3).astype(dtype))


def test_the_device_step_guard_catches_a_host_read():
    count = np.zeros((), np.int64).view(_OnDevice)
    count += 1
    derived = 1 - 0.9 ** count
    assert isinstance(count, _OnDevice) and isinstance(derived, _OnDevice)
    with pytest.raises(AssertionError, match="read back to the host"):
        bool(count == 1)
    with pytest.raises(AssertionError, match="read back to the host"):
        float(derived)


def _keras_adam(w0, grads, lrs, b1, b2, eps, amsgrad, wd):
    """Keras 3's ``Adam.update_step`` (after ``_apply_weight_decay``) element by element in the dtype; the betas
    and the decay are cast to it from float32 tensors (``ops.cast`` of a Python float), the rate is float32."""
    dt = w0.dtype.type
    w, m, v, vhat = w0.copy(), np.zeros_like(w0), np.zeros_like(w0), np.zeros_like(w0)
    for t, (lr, g) in enumerate(zip(lrs, grads), 1):
        lr = dt(np.float32(lr))
        b1p, b2p = np.power(dt(np.float32(b1)), dt(t)), np.power(dt(np.float32(b2)), dt(t))
        alpha = lr * np.sqrt(dt(1) - b2p) / (dt(1) - b1p)
        for i in range(w.size):
            wi = w[i] - w[i] * dt(np.float32(wd)) * lr if wd else w[i]
            m[i] = m[i] + (g[i] - m[i]) * dt(1 - b1)
            v[i] = v[i] + (g[i] * g[i] - v[i]) * dt(1 - b2)
            vhat[i] = max(vhat[i], v[i])
            w[i] = wi - (m[i] * alpha) / (np.sqrt(vhat[i] if amsgrad else v[i]) + dt(eps))
    return w


@pytest.mark.parametrize("numba", ["1", "0"], ids=["compiled", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("amsgrad, wd", [(False, 0.0), (True, 0.0), (False, 0.004), (True, 0.1)])
def test_keras_adam_is_keras_update_step_bit_for_bit(monkeypatch, numba, dtype, amsgrad, wd):
    """Keras' Adam and AdamW (``AdamPowers(keras=True)``): pow(b1, t) in the dtype, Keras' own rounding of
    1 - b1 and eps (Python floats) and its float32 rate, the compiled kernel and the NumPy path alike."""
    monkeypatch.setenv("DUALFLOW_NUMBA", numba)
    rng = np.random.default_rng(4)
    w0 = rng.standard_normal(37).astype(dtype)
    grads = [(rng.standard_normal(37) * 10.0 ** rng.integers(-4, 3, 37)).astype(dtype) for _ in range(6)]
    lrs = [0.01, 0.003, 0.1, 0.01, 0.02, 0.001]
    op = O.AdamPowers(0.9, 0.999, 1e-7, keras=True, amsgrad=amsgrad, weight_decay=wd, inplace=True)
    be = backends.backend_of(w0)
    w, slots = w0.copy(), op.init_slots(be, w0)
    for t, (lr, g) in enumerate(zip(lrs, grads), 1):
        op.forward(be, w, g, *slots, lr, t)
    want = _keras_adam(w0, grads, lrs, 0.9, 0.999, 1e-7, amsgrad, wd)
    assert w.tobytes() == want.tobytes()
    assert not np.array_equal(w, w0)


def _exact_fma(x, a, c, dtype):
    """x * a + c rounded once to ``dtype``, from exact rationals (a cast to ``dtype`` first)."""
    from fractions import Fraction
    a = Fraction(float(dtype(a)))
    return np.array([float(Fraction(float(xi)) * a + Fraction(float(ci))) for xi, ci in zip(x, c)]).astype(dtype)


@pytest.mark.parametrize("numba", ["1", "0"], ids=["compiled", "float64 path"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fma_rounds_once(monkeypatch, numba, dtype):
    """``be.fma`` is x * alpha + c rounded once (against exact rationals), the compiled kernel in both dtypes
    and the float64 path in float32; the float64 path rounds float64 twice, so it is not asked for bits there.
    The inputs are chosen so that rounding the product first would be wrong for most of them."""
    monkeypatch.setenv("DUALFLOW_NUMBA", numba)
    rng = np.random.default_rng(6)
    x = (1 + rng.random(500)).astype(dtype)
    c = -(x.astype(np.float64) * float(dtype(0.1))).astype(dtype)      # cancellation: the product's low bits show
    be = backends.backend_of(x)
    out = np.empty_like(x)
    be.fma(x, 0.1, c, out)
    want = _exact_fma(x, 0.1, c, dtype)
    if numba == "1" or dtype == np.float32:
        assert out.tobytes() == want.tobytes()
    else:
        np.testing.assert_allclose(out, want, rtol=0, atol=1e-16)
    twice = (x * dtype(0.1) + c).astype(dtype)
    assert (twice != want).mean() > 0.3
    c2 = c.copy()
    be.fma(x, 0.1, c2, c2)                  # in place into c
    assert c2.tobytes() == out.tobytes()


def test_eager_sgd_rounds_as_pytorchs_fused_multiply_adds():
    """The PyTorch-rounding SGD step (``fma=True``): param + (-lr) * (buf * mu + g) with each add one
    fused multiply-add, against exact rationals; the plain step rounds differently for some elements."""
    rng = np.random.default_rng(8)
    w0 = rng.standard_normal(300).astype(np.float32)
    g1, g2 = (rng.standard_normal(300).astype(np.float32) for _ in range(2))
    be = backends.backend_of(w0)
    op = O.SGD(0.9, fma=True, inplace=True)
    w, (buf,) = w0.copy(), op.init_slots(be, w0)
    op.forward(be, w, g1, buf, 0.1, 1)
    op.forward(be, w, g2, buf, 0.1, 2)
    b = _exact_fma(g2, 1.0, g1 * np.float32(0.9), np.float32)          # step 2: buf * 0.9 + g2
    want = _exact_fma(b, -0.1, _exact_fma(g1, -0.1, w0, np.float32), np.float32)
    assert w.tobytes() == want.tobytes() and buf.tobytes() == b.tobytes()
    plain = O.SGD(0.9, inplace=True)
    w2, (buf2,) = w0.copy(), plain.init_slots(be, w0)
    plain.forward(be, w2, g1, buf2, 0.1, 1)
    plain.forward(be, w2, g2, buf2, 0.1, 2)
    assert not np.array_equal(w2, w)
