"""Parity with PyTorch 2.13 (CPU) for nn.RNN / LSTM / GRU and their cells: PyTorch's weights copied across, then
outputs, final states and the gradients of the input, the initial states and every parameter compared.  The
formulas and the order of the additions are ATen's; BLAS's summation order (and oneDNN's, which runs PyTorch's
float32 LSTM) leave the last bits apart, hence rtol 1e-5 on values and 1e-4 on gradients."""
import warnings

import numpy as np
import pytest

import eager_api

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.reference

R = np.random.default_rng(5)
VALUES = dict(rtol=1e-5, atol=1e-6)
GRADS = dict(rtol=1e-4, atol=1e-5)


def _pair(L, kind, *args, cell=False, **kw):
    """The same layer in library L (torch or eager_api)."""
    if kind in ("tanh", "relu"):
        return (L.nn.RNNCell if cell else L.nn.RNN)(*args, nonlinearity=kind, **kw)
    return getattr(L.nn, kind + ("Cell" if cell else ""))(*args, **kw)


def _copy_weights(src, dst):
    assert list(src.state_dict()) == list(dst.state_dict())
    for (name, p), (_, q) in zip(src.named_parameters(), dst.named_parameters()):
        assert tuple(p.shape) == tuple(q.shape), name
        with eager_api.no_grad():
            q.copy_(eager_api.tensor(p.detach().numpy()))


def _leaves(L, arrays):
    return [L.tensor(a, requires_grad=True) for a in arrays]


def _flat(out):
    """A layer's result as a list of tensors (output, h_n[, c_n]) or (h[, c]) for a cell."""
    if isinstance(out, tuple):
        return [t for o in out for t in _flat(o)]
    return [out]


def _replay(L, m, x, states, weights):
    """Run m, back-propagate sum(result_i * weights_i): values, and the gradients of x, states and parameters."""
    xs, hs = _leaves(L, [x]), _leaves(L, states)
    hx = None if not hs else tuple(hs) if len(hs) == 2 else hs[0]
    results = _flat(m(xs[0], hx))
    loss = sum((r * L.tensor(w)).sum() for r, w in zip(results, weights))
    loss.backward()
    values = [r.detach().numpy() for r in results]
    grads = [t.grad.numpy() for t in xs + hs] + [p.grad.numpy() for p in m.parameters()]
    return values, grads


def _compare(kind, x, states, dtype=np.float32, cell=False, **kw):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = _pair(torch, kind, x.shape[-1], 4, cell=cell, dtype=getattr(torch, np.dtype(dtype).name), **kw)
        em = _pair(eager_api, kind, x.shape[-1], 4, cell=cell, dtype=getattr(eager_api, np.dtype(dtype).name), **kw)
    _copy_weights(tm, em)
    x, states = x.astype(dtype), [s.astype(dtype) for s in states]
    shapes = [tuple(r.shape) for r in _flat(tm(torch.tensor(x), None if not states else
                                               tuple(map(torch.tensor, states)) if len(states) == 2 else
                                               torch.tensor(states[0])))]
    weights = [R.normal(size=s).astype(dtype) for s in shapes]
    tv, tg = _replay(torch, tm, x, states, weights)
    ev, eg = _replay(eager_api, em, x, states, weights)
    assert [v.shape for v in ev] == [v.shape for v in tv]
    assert all(v.dtype == dtype for v in ev)
    for a, b in zip(ev, tv):
        np.testing.assert_allclose(a, b, **VALUES)
    assert len(eg) == len(tg)
    for a, b in zip(eg, tg):
        np.testing.assert_allclose(a, b, **GRADS)


KINDS = ["tanh", "relu", "LSTM", "GRU"]


def _states(kind, n, b, h=4):
    return [R.normal(size=(n, b, h) if b else (n, h)) for _ in range(2 if kind == "LSTM" else 1)]


@pytest.mark.parametrize("kind", KINDS)
def test_single_layer_matches_pytorch(kind):
    _compare(kind, R.normal(size=(6, 3, 5)), [])


@pytest.mark.parametrize("kind", KINDS)
def test_single_layer_with_initial_states_matches_pytorch(kind):
    _compare(kind, R.normal(size=(6, 3, 5)), _states(kind, 1, 3))


@pytest.mark.parametrize("kind", KINDS)
def test_two_layer_bidirectional_batch_first_matches_pytorch(kind):
    _compare(kind, R.normal(size=(3, 5, 2)), _states(kind, 4, 3), num_layers=2, bidirectional=True,
             batch_first=True)


@pytest.mark.parametrize("kind", KINDS)
def test_three_layers_without_bias_matches_pytorch(kind):
    _compare(kind, R.normal(size=(4, 2, 3)), _states(kind, 3, 2), num_layers=3, bias=False)


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_bidirectional_matches_pytorch(kind):
    _compare(kind, R.normal(size=(5, 3)), _states(kind, 2, 0), bidirectional=True)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_float64_two_layers_match_pytorch(kind):
    _compare(kind, R.normal(size=(4, 2, 3)), _states(kind, 2, 2), dtype=np.float64, num_layers=2)


def test_dropout_in_eval_mode_changes_nothing_as_pytorch():
    torch.manual_seed(0)
    tm, em = torch.nn.GRU(3, 4, 2, dropout=0.5).eval(), eager_api.nn.GRU(3, 4, 2, dropout=0.5).eval()
    _copy_weights(tm, em)
    x = R.normal(size=(4, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(em(eager_api.tensor(x))[0].detach().numpy(),
                               tm(torch.tensor(x))[0].detach().numpy(), **VALUES)


@pytest.mark.parametrize("kind", KINDS)
def test_cell_matches_pytorch(kind):
    _compare(kind, R.normal(size=(3, 5)), _states(kind, 3, 0), cell=True)
    _compare(kind, R.normal(size=(3, 5)), [], cell=True, bias=False)


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_cell_matches_pytorch(kind):
    _compare(kind, R.normal(size=(5,)), [R.normal(size=(4,)) for _ in range(2 if kind == "LSTM" else 1)], cell=True)


def test_a_few_sgd_steps_through_an_lstm_match_pytorch():
    torch.manual_seed(1)
    tm, em = torch.nn.LSTM(3, 4, 2, batch_first=True), eager_api.nn.LSTM(3, 4, 2, batch_first=True)
    _copy_weights(tm, em)
    x, y = R.normal(size=(2, 5, 3)).astype(np.float32), R.normal(size=(2, 5, 4)).astype(np.float32)
    for L, m in ((torch, tm), (eager_api, em)):
        opt = L.optim.SGD(m.parameters(), lr=0.5)
        for _ in range(3):
            opt.zero_grad()
            ((m(L.tensor(x))[0] - L.tensor(y)) ** 2).mean().backward()
            opt.step()
    for (name, p), q in zip(tm.named_parameters(), em.parameters()):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), err_msg=name, **GRADS)


@pytest.mark.parametrize("make", [
    lambda L: L.nn.LSTM(3, 5, num_layers=2, bidirectional=True),
    lambda L: L.nn.GRU(3, 5, bias=False, batch_first=True),
    lambda L: L.nn.RNN(3, 5, 3, "relu", True, False, 0.25),
    lambda L: L.nn.GRUCell(3, 5),
    lambda L: L.nn.LSTMCell(3, 5, bias=False),
    lambda L: L.nn.RNNCell(3, 5, nonlinearity="relu"),
])
def test_names_shapes_state_dict_and_repr_are_pytorchs(make):
    t, e = make(torch), make(eager_api)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert list(e.state_dict()) == list(t.state_dict())
    assert repr(e) == repr(t)
    e.load_state_dict({k: eager_api.tensor(v.numpy()) for k, v in t.state_dict().items()})


def _outcome(call):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    except Exception as err:     # noqa: BLE001  (the exception is the result under test)
        return err
    return None


@pytest.mark.parametrize("call, same_words", [
    (lambda L: L.nn.GRU(3, 4)(L.zeros(5, 2, 4)), True),
    (lambda L: L.nn.GRU(3, 4, 2)(L.zeros(5, 2, 3), L.zeros(2, 3, 4)), True),
    (lambda L: L.nn.RNN(3, 4, bidirectional=True)(L.zeros(5, 2, 3), L.zeros(1, 2, 4)), True),
    (lambda L: L.nn.LSTM(3, 4)(L.zeros(5, 2, 3), (L.zeros(1, 2, 4), L.zeros(1, 3, 4))), True),
    (lambda L: L.nn.LSTM(3, 4)(L.zeros(5, 2, 3), (L.zeros(1, 2, 4),) * 3), True),
    (lambda L: L.nn.LSTM(3, 4)(L.zeros(5, 3), (L.zeros(1, 1, 4), L.zeros(1, 4))), True),
    (lambda L: L.nn.GRU(3, 4)(L.zeros(5, 2, 3), L.zeros(2, 4)), True),
    (lambda L: L.nn.RNN(3, 4)(L.zeros(5)), True),
    (lambda L: L.nn.GRU(3, 4)(L.zeros(0, 2, 3)), True),
    (lambda L: L.nn.GRU(3, 4)(L.zeros(5, 2, 3, dtype=L.float64)), True),
    (lambda L: L.nn.GRU(3, 4)(L.zeros(5, 2, 3), L.zeros(1, 2, 4, dtype=L.float64)), False),
    (lambda L: L.nn.GRUCell(3, 4)(L.zeros(2, 5)), True),
    (lambda L: L.nn.GRUCell(3, 4)(L.zeros(3), L.zeros(2, 4)), True),
    (lambda L: L.nn.LSTMCell(3, 4)(L.zeros(2, 3), (L.zeros(2, 4), L.zeros(3, 4))), True),
    (lambda L: L.nn.LSTMCell(3, 4)(L.zeros(2, 3), (L.zeros(2, 4),)), True),
    (lambda L: L.nn.RNNCell(3, 4)(L.zeros(2, 3), L.zeros(1, 2, 4)), True),
    (lambda L: L.nn.RNNCell(3, 4, nonlinearity="foo")(L.zeros(2, 3)), True),
    (lambda L: L.nn.GRU(3, 4, dropout=2), True),
    (lambda L: L.nn.GRU(3, 4, proj_size=1), True),
    (lambda L: L.nn.RNN(3, 4, nonlinearity="sigmoid"), True),
    (lambda L: L.nn.LSTM(3, 4, proj_size=5), True),
    (lambda L: L.nn.LSTM(3, 0), True),
    (lambda L: L.nn.LSTM(3, 4, batch_first=None), True),
])
def test_errors_are_pytorchs(call, same_words):
    want, got = _outcome(lambda: call(torch)), _outcome(lambda: call(eager_api))
    assert want is not None and isinstance(got, type(want)), (want, got)
    if same_words:
        assert str(want).splitlines()[0] in str(got)


def test_unbatched_and_batched_shapes_are_pytorchs():
    for L in (torch, eager_api):
        out, (h, c) = L.nn.LSTM(3, 4, 2, bidirectional=True)(L.zeros(5, 3))
        assert (tuple(out.shape), tuple(h.shape), tuple(c.shape)) == ((5, 8), (4, 4), (4, 4))
        out, h = L.nn.GRU(3, 4, batch_first=True)(L.zeros(2, 5, 3))
        assert (tuple(out.shape), tuple(h.shape)) == ((2, 5, 4), (1, 2, 4))
        out, h = L.nn.RNN(3, 4, batch_first=True)(L.zeros(5, 3))
        assert (tuple(out.shape), tuple(h.shape)) == ((5, 4), (1, 4))


def test_one_layer_dropout_warning_is_pytorchs():
    with pytest.warns(UserWarning) as want:
        torch.nn.GRU(3, 4, dropout=0.2)
    with pytest.warns(UserWarning) as got:
        eager_api.nn.GRU(3, 4, dropout=0.2)
    assert str(got[0].message) == str(want[0].message)
