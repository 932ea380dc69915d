"""nn.RNN / LSTM / GRU and their cells: values against NumPy loops written out here (float64), gradients through
time against float64 central differences, PyTorch's parameter names, shapes, initialisation, arguments and
errors."""
import numpy as np
import pytest

import eager_api as torch
from tests.helpers import eager_fd_check

R = np.random.default_rng(11)


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


# ----- NumPy references: one step of each cell, the textbook formulas with gates in PyTorch's order ----------
def np_rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh, act="tanh"):
    a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    return np.tanh(a) if act == "tanh" else np.maximum(a, 0)


def np_lstm_cell(x, hc, w_ih, w_hh, b_ih, b_hh):
    h, c = hc
    i, f, g, o = np.split(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, 4, axis=-1)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c), c


def np_gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    ir, iz, in_ = np.split(x @ w_ih.T + b_ih, 3, axis=-1)
    hr, hz, hn = np.split(h @ w_hh.T + b_hh, 3, axis=-1)
    r, z = _sigmoid(ir + hr), _sigmoid(iz + hz)
    n = np.tanh(in_ + r * hn)
    return (1 - z) * n + z * h


NP_CELLS = {"tanh": np_rnn_cell, "relu": lambda *a: np_rnn_cell(*a, act="relu"), "LSTM": np_lstm_cell,
            "GRU": np_gru_cell}


def np_stack(kind, x, h0, c0, params, num_layers, bidirectional):
    """A multi-layer (bi)directional network over time-major x (T, B, I), as PyTorch documents it: the backward
    direction reads the sequence from the end, layer l+1 reads [forward, backward] outputs of layer l."""
    cell, dirs = NP_CELLS[kind], 2 if bidirectional else 1
    T = x.shape[0]
    hn, cn = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k, sfx = layer * dirs + d, f"_l{layer}" + ("_reverse" if d else "")
            w = [params[n + sfx] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            state = (h0[k], c0[k]) if kind == "LSTM" else h0[k]
            ys = [None] * T
            for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
                state = cell(x[t], state, *w)
                ys[t] = state[0] if kind == "LSTM" else state
            hn.append(state[0] if kind == "LSTM" else state)
            if kind == "LSTM":
                cn.append(state[1])
            outs.append(np.stack(ys))
        x = np.concatenate(outs, axis=-1)
    return x, np.stack(hn), (np.stack(cn) if kind == "LSTM" else None)


def _module(kind, *args, **kw):
    if kind in ("tanh", "relu"):
        return torch.nn.RNN(*args, nonlinearity=kind, **kw)
    return getattr(torch.nn, kind)(*args, **kw)


def _cell(kind, *args, **kw):
    if kind in ("tanh", "relu"):
        return torch.nn.RNNCell(*args, nonlinearity=kind, **kw)
    return getattr(torch.nn, kind + "Cell")(*args, **kw)


def _params(m):
    return {n: p.detach().numpy() for n, p in m.named_parameters()}


KINDS = ["tanh", "relu", "LSTM", "GRU"]


# ----- values -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_cell_matches_the_numpy_step(kind):
    cell = _cell(kind, 3, 4, dtype=torch.float64)
    p = _params(cell)
    w = [p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"]]
    x, h, c = R.normal(size=(5, 3)), R.normal(size=(5, 4)), R.normal(size=(5, 4))
    state = (h, c) if kind == "LSTM" else h
    got = cell(torch.tensor(x), tuple(map(torch.tensor, state)) if kind == "LSTM" else torch.tensor(h))
    want = NP_CELLS[kind](x, state, *w)
    for g, v in zip(got if kind == "LSTM" else [got], want if kind == "LSTM" else [want]):
        assert g.shape == (5, 4)
        np.testing.assert_allclose(g.detach().numpy(), v, rtol=1e-12, atol=1e-14)
    # no state given: zeros; an unbatched (1-D) input gives a 1-D state
    zero = np.zeros((1, 4))
    want0 = NP_CELLS[kind](x[:1], (zero, zero) if kind == "LSTM" else zero, *w)
    got0 = cell(torch.tensor(x[0]))
    for g, v in zip(got0 if kind == "LSTM" else [got0], want0 if kind == "LSTM" else [want0]):
        assert g.shape == (4,)
        np.testing.assert_allclose(g.detach().numpy(), v[0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
def test_cell_without_bias_has_no_bias_parameters(kind):
    cell = _cell(kind, 2, 3, bias=False, dtype=torch.float64)
    assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh"]
    assert cell.bias_ih is None and cell.bias_hh is None
    p, g = _params(cell), {"LSTM": 4, "GRU": 3}.get(kind, 1)
    x, h = R.normal(size=(2, 2)), R.normal(size=(2, 3))
    state = (h, h) if kind == "LSTM" else h
    want = NP_CELLS[kind](x, state, p["weight_ih"], p["weight_hh"], np.zeros(3 * g), np.zeros(3 * g))
    got = cell(torch.tensor(x), (torch.tensor(h), torch.tensor(h)) if kind == "LSTM" else torch.tensor(h))
    np.testing.assert_allclose((got[0] if kind == "LSTM" else got).detach().numpy(),
                               want[0] if kind == "LSTM" else want, rtol=1e-12)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_two_layer_bidirectional_stack_matches_the_numpy_loop(kind, batch_first):
    m = _module(kind, 3, 4, num_layers=2, bidirectional=True, batch_first=batch_first, dtype=torch.float64)
    T, B = 5, 2
    x = R.normal(size=(T, B, 3))
    h0, c0 = R.normal(size=(4, B, 4)), R.normal(size=(4, B, 4))
    out_w, hn_w, cn_w = np_stack(kind, x, h0, c0, _params(m), 2, True)
    xin = torch.tensor(x.transpose(1, 0, 2).copy() if batch_first else x)
    hx = (torch.tensor(h0), torch.tensor(c0)) if kind == "LSTM" else torch.tensor(h0)
    out, hn = m(xin, hx)
    out = out.detach().numpy()
    assert out.shape == ((B, T, 8) if batch_first else (T, B, 8))
    np.testing.assert_allclose(out.transpose(1, 0, 2) if batch_first else out, out_w, rtol=1e-12, atol=1e-14)
    if kind == "LSTM":
        hn, cn = hn
        np.testing.assert_allclose(cn.detach().numpy(), cn_w, rtol=1e-12, atol=1e-14)
    assert hn.shape == (4, B, 4)
    np.testing.assert_allclose(hn.detach().numpy(), hn_w, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input_is_a_batch_of_one_squeezed(kind):
    m = _module(kind, 3, 2, num_layers=2, dtype=torch.float64)
    x, h0 = R.normal(size=(4, 3)), R.normal(size=(2, 2))
    state = (torch.tensor(h0), torch.tensor(h0 * 0.5)) if kind == "LSTM" else torch.tensor(h0)
    out, hn = m(torch.tensor(x), state)
    state1 = tuple(s.unsqueeze(1) for s in state) if kind == "LSTM" else state.unsqueeze(1)
    out1, hn1 = m(torch.tensor(x[:, None]), state1)
    assert out.shape == (4, 2)
    np.testing.assert_array_equal(out.detach().numpy(), out1.detach().numpy()[:, 0])
    for a, b in zip(hn if kind == "LSTM" else [hn], hn1 if kind == "LSTM" else [hn1]):
        assert a.shape == (2, 2)
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy()[:, 0])


def test_zero_initial_state_is_the_default():
    m = torch.nn.LSTM(2, 3, dtype=torch.float64)
    x = torch.tensor(R.normal(size=(3, 2, 2)))
    out, (h, c) = m(x)
    z = torch.zeros(1, 2, 3, dtype=torch.float64)
    out2, (h2, c2) = m(x, (z, z))
    np.testing.assert_array_equal(out.detach().numpy(), out2.detach().numpy())
    np.testing.assert_array_equal(c.detach().numpy(), c2.detach().numpy())


def test_last_output_step_is_the_final_forward_state():
    m = torch.nn.GRU(2, 3, bidirectional=True)
    out, hn = m(torch.randn(4, 2, 2))
    np.testing.assert_array_equal(out[-1, :, :3].detach().numpy(), hn[0].detach().numpy())
    np.testing.assert_array_equal(out[0, :, 3:].detach().numpy(), hn[1].detach().numpy())


# ----- gradients through time -------------------------------------------------------------------------------
def _functional(m, names):
    """m's forward with its parameters replaced by the given tensors (as torch.func.functional_call)."""
    def run(x, h, *weights):
        for n, w in zip(names, weights):
            m._parameters[n] = w        # as torch.func does: setattr refuses a plain tensor for a parameter
        return m(x, h)
    return run


@pytest.mark.parametrize("kind", KINDS)
def test_cell_gradients_match_central_differences(kind):
    cell = _cell(kind, 3, 2, dtype=torch.float64)
    names, arrays = zip(*_params(cell).items())
    run = _functional(cell, names)
    x, h = R.normal(size=(2, 3)), R.normal(size=(2, 2))
    if kind == "relu":      # keep pre-activations away from the kink
        x, h = np.abs(x), np.abs(h)
    if kind == "LSTM":
        eager_fd_check(lambda x, h, c, *w: torch.cat(list(run(x, (h, c), *w)), 1),
                       [x, h, R.normal(size=(2, 2))] + [a.copy() for a in arrays])
    else:
        eager_fd_check(run, [x, h] + [a.copy() for a in arrays])


@pytest.mark.parametrize("kind", KINDS)
def test_two_layer_bidirectional_gradients_through_time_match_central_differences(kind):
    m = _module(kind, 2, 2, num_layers=2, bidirectional=True, dtype=torch.float64)
    names, arrays = zip(*_params(m).items())
    run = _functional(m, names)
    x, h0 = R.normal(size=(3, 1, 2)), R.normal(size=(4, 1, 2)) * 0.5
    if kind == "LSTM":
        def fn(x, h, c, *w):
            out, (hn, cn) = run(x, (h, c), *w)
            return torch.cat([out.flatten(), hn.flatten(), cn.flatten()])
        eager_fd_check(fn, [x, h0, R.normal(size=(4, 1, 2))] + [a.copy() for a in arrays])
    else:
        def fn(x, h, *w):
            out, hn = run(x, h, *w)
            return torch.cat([out.flatten(), hn.flatten()])
        eager_fd_check(fn, [x, h0] + [a.copy() for a in arrays])


def test_every_parameter_gets_a_gradient_and_sgd_lowers_the_loss():
    torch.manual_seed(0)
    m = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
    x, target = torch.randn(2, 5, 3), torch.randn(2, 5, 4)
    opt = torch.optim.SGD(m.parameters(), lr=0.5)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = ((m(x)[0] - target) ** 2).mean()
        loss.backward()
        losses.append(loss.item())
        assert all(p.grad is not None and np.abs(p.grad.numpy()).sum() > 0 for p in m.parameters())
        opt.step()
    assert losses[-1] < losses[0]


# ----- parameters ---------------------------------------------------------------------------------------------
def test_parameter_names_shapes_and_state_dict_order_are_pytorchs():
    m = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    want = []
    for layer, fan_in in ((0, 3), (1, 10)):
        for sfx in ("", "_reverse"):
            want += [(f"weight_ih_l{layer}{sfx}", (20, fan_in)), (f"weight_hh_l{layer}{sfx}", (20, 5)),
                     (f"bias_ih_l{layer}{sfx}", (20,)), (f"bias_hh_l{layer}{sfx}", (20,))]
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == want
    assert list(m.state_dict()) == [n for n, _ in want]
    assert [[tuple(p.shape) for p in ws] for ws in m.all_weights][1] == [(20, 3), (20, 5), (20,), (20,)]
    assert [tuple(p.shape) for p in torch.nn.GRU(3, 5, bias=False).parameters()] == [(15, 3), (15, 5)]
    assert [tuple(p.shape) for p in torch.nn.RNN(3, 5, 1, "relu").parameters()] == [(5, 3), (5, 5), (5,), (5,)]
    assert [n for n, _ in torch.nn.GRUCell(3, 5).named_parameters()] == ["weight_ih", "weight_hh", "bias_ih",
                                                                         "bias_hh"]


@pytest.mark.parametrize("make", [lambda: torch.nn.GRU(3, 16, num_layers=2), lambda: torch.nn.LSTMCell(3, 16)])
def test_every_parameter_is_uniform_within_one_over_sqrt_hidden_and_seeded(make):
    torch.manual_seed(3)
    a = [p.detach().numpy().copy() for p in make().parameters()]
    torch.manual_seed(3)
    b = [p.detach().numpy() for p in make().parameters()]
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
        assert np.abs(p).max() <= 0.25
    flat = np.concatenate([p.ravel() for p in a])
    # the whole interval is used, evenly: not a narrower or a normal draw
    assert flat.min() < -0.24 and flat.max() > 0.24 and abs(np.mean(np.abs(flat)) - 0.125) < 0.01


def test_load_state_dict_round_trip_and_assigned_weights_are_used():
    a, b = torch.nn.GRU(2, 3, num_layers=2), torch.nn.GRU(2, 3, num_layers=2)
    b.load_state_dict(a.state_dict())
    x = torch.randn(3, 1, 2)
    np.testing.assert_array_equal(a(x)[0].detach().numpy(), b(x)[0].detach().numpy())
    b.weight_hh_l1 = torch.nn.Parameter(torch.zeros(9, 3))
    assert not np.array_equal(a(x)[0].detach().numpy(), b(x)[0].detach().numpy())


def test_double_and_float64_modules_run_in_float64():
    m = torch.nn.RNN(2, 3).double()
    out, h = m(torch.randn(4, 1, 2, dtype=torch.float64))
    assert out.dtype == torch.float64 and h.dtype == torch.float64


def test_repr_and_flatten_parameters():
    assert repr(torch.nn.LSTM(3, 4, 2, batch_first=True, dropout=0.5)) == \
        "LSTM(3, 4, num_layers=2, batch_first=True, dropout=0.5)"
    assert repr(torch.nn.RNNCell(3, 4, bias=False, nonlinearity="relu")) == \
        "RNNCell(3, 4, bias=False, nonlinearity=relu)"
    m = torch.nn.GRU(2, 2)
    assert m.flatten_parameters() is None


# ----- dropout between layers ---------------------------------------------------------------------------------
def test_dropout_applies_between_layers_in_training_only():
    torch.manual_seed(1)
    m = torch.nn.GRU(3, 4, num_layers=2, dropout=1.0)
    x = torch.randn(5, 2, 3)
    plain = torch.nn.GRU(3, 4, num_layers=2)
    plain.load_state_dict(m.state_dict())
    m.eval()
    np.testing.assert_array_equal(m(x)[0].detach().numpy(), plain(x)[0].detach().numpy())
    m.train()
    # p=1 zeroes the first layer's output, so the second layer sees only zeros; the first layer's state is kept
    out, hn = m(x)
    top = torch.nn.GRU(4, 4)
    top.load_state_dict({n[:-1] + "0": p for n, p in m.state_dict().items() if n.endswith("l1")})
    np.testing.assert_allclose(out.detach().numpy(), top(torch.zeros(5, 2, 4))[0].detach().numpy(), rtol=1e-6)
    np.testing.assert_array_equal(hn[0].detach().numpy(), plain(x)[1][0].detach().numpy())


def test_dropout_half_zeroes_and_scales_the_second_layers_input():
    torch.manual_seed(2)
    m = torch.nn.RNN(3, 50, num_layers=2, dropout=0.5, dtype=torch.float64)
    x = torch.randn(1, 4, 3, dtype=torch.float64)
    out = m(x)[0].detach().numpy()[0]
    first = torch.nn.RNN(3, 50, dtype=torch.float64)
    first.load_state_dict({n: p for n, p in m.state_dict().items() if n.endswith("l0")})
    y = first(x)[0].detach().numpy()[0]
    p = _params(m)
    # the second layer's pre-activation, solved for its input: atanh(out) = d @ W_ih^T + b_ih + b_hh (h0 = 0)
    d = np.linalg.lstsq(p["weight_ih_l1"], (np.arctanh(out) - p["bias_ih_l1"] - p["bias_hh_l1"]).T,
                        rcond=None)[0].T
    kept = np.isclose(d, 2 * y, rtol=1e-6, atol=1e-9)
    dropped = np.abs(d) < 1e-9
    assert (kept | dropped).all() and 0.3 < dropped.mean() < 0.7


def test_dropout_with_one_layer_warns_as_pytorch():
    with pytest.warns(UserWarning, match=r"non-zero dropout expects num_layers greater than 1, but got "
                                         r"dropout=0.5 and num_layers=1"):
        torch.nn.LSTM(2, 3, dropout=0.5)


# ----- errors -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, exc, msg", [
    (lambda: torch.nn.GRU(3, 4, dropout=1.5), ValueError, r"dropout should be a number in range \[0, 1\]"),
    (lambda: torch.nn.GRU(3, 4, dropout=True), ValueError, r"dropout should be a number"),
    (lambda: torch.nn.GRU(3.0, 4), TypeError, "input_size should be of type int, got: float"),
    (lambda: torch.nn.GRU(3, 0), ValueError, "hidden_size must be greater than zero"),
    (lambda: torch.nn.GRU(3, 4, 0), ValueError, "num_layers must be greater than zero"),
    (lambda: torch.nn.GRU(3, 4, bias=1), TypeError, "bias should be of type bool, got: int"),
    (lambda: torch.nn.GRU(3, 4, proj_size=2), ValueError, "proj_size argument is only supported for LSTM"),
    (lambda: torch.nn.RNN(3, 4, nonlinearity="sigmoid"), ValueError, "Unknown nonlinearity 'sigmoid'"),
    (lambda: torch.nn.LSTM(3, 4, proj_size=4), ValueError, "proj_size has to be smaller than hidden_size"),
    (lambda: torch.nn.LSTM(3, 4, proj_size=-1), ValueError, "proj_size should be a positive integer or zero"),
    (lambda: torch.nn.LSTM(3, 4, proj_size=2), NotImplementedError, r"LSTM: proj_size=2 .* not supported"),
])
def test_constructor_errors(make, exc, msg):
    with pytest.raises(exc, match=msg):
        make()


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: torch.nn.GRU(3, 4)(torch.zeros(5, 2, 4)), RuntimeError,
     r"GRU: input.size\(-1\) must be equal to input_size. Expected 3, got 4"),
    (lambda: torch.nn.GRU(3, 4, 2)(torch.zeros(5, 2, 3), torch.zeros(2, 3, 4)), RuntimeError,
     r"GRU: Expected hidden size \(2, 2, 4\), got \[2, 3, 4\]"),
    (lambda: torch.nn.RNN(3, 4, batch_first=True)(torch.zeros(2, 5, 3), torch.zeros(1, 5, 4)), RuntimeError,
     r"RNN: Expected hidden size \(1, 2, 4\), got \[1, 5, 4\]"),
    (lambda: torch.nn.LSTM(3, 4)(torch.zeros(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 2, 5))),
     RuntimeError, r"LSTM: Expected hidden\[1\] size \(1, 2, 4\), got \[1, 2, 5\]"),
    (lambda: torch.nn.LSTM(3, 4)(torch.zeros(5, 2, 3), (torch.zeros(2, 4), torch.zeros(1, 2, 4))),
     RuntimeError, r"For batched 3-D input, hx and cx should also be 3-D but got \(2-D, 3-D\) tensors"),
    (lambda: torch.nn.LSTM(3, 4)(torch.zeros(5, 2, 3), (torch.zeros(1, 2, 4),) * 3), RuntimeError,
     "lstm expects two hidden states"),
    (lambda: torch.nn.GRU(3, 4)(torch.zeros(5, 3), torch.zeros(1, 1, 4)), RuntimeError,
     "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"),
    (lambda: torch.nn.RNN(3, 4)(torch.zeros(5)), ValueError, "RNN: Expected input to be 2D or 3D, got 1D tensor"),
    (lambda: torch.nn.LSTM(3, 4)(torch.zeros(1, 5, 2, 3)), ValueError, "LSTM: Expected input to be 2D or 3D, got 4D"),
    (lambda: torch.nn.GRU(3, 4)(torch.zeros(0, 2, 3)), RuntimeError, "Expected sequence length to be larger than 0"),
    (lambda: torch.nn.GRU(3, 4)(torch.zeros(5, 2, 3, dtype=torch.float64)), ValueError,
     r"RNN input dtype \(torch.float64\) does not match weight dtype \(torch.float32\)"),
    (lambda: torch.nn.GRU(3, 4)(torch.zeros(5, 2, 3), torch.zeros(1, 2, 4, dtype=torch.float64)), RuntimeError,
     "GRU: hidden state dtype float64 must match the weights' dtype float32"),
    (lambda: torch.nn.GRUCell(3, 4)(torch.zeros(2, 5)), RuntimeError,
     "GRUCell: input has inconsistent input_size: got 5 expected 3"),
    (lambda: torch.nn.GRUCell(3, 4)(torch.zeros(2, 3), torch.zeros(3, 4)), RuntimeError,
     "Input batch size 2 doesn't match hidden0 batch size 3"),
    (lambda: torch.nn.LSTMCell(3, 4)(torch.zeros(2, 3), (torch.zeros(2, 4), torch.zeros(2, 5))), RuntimeError,
     "LSTMCell: hidden1 has inconsistent hidden_size: got 5, expected 4"),
    (lambda: torch.nn.LSTMCell(3, 4)(torch.zeros(2, 3), (torch.zeros(2, 4),)), RuntimeError,
     "lstm_cell expects two hidden states"),
    (lambda: torch.nn.LSTMCell(3, 4)(torch.zeros(2, 3), (torch.zeros(2, 4), torch.zeros(1, 2, 4))), ValueError,
     r"LSTMCell: Expected hx\[1\] to be 1D or 2D, got 3D instead"),
    (lambda: torch.nn.RNNCell(3, 4)(torch.zeros(1, 2, 3)), ValueError, "RNNCell: Expected input to be 1D or 2D"),
    (lambda: torch.nn.RNNCell(3, 4, nonlinearity="gelu")(torch.zeros(2, 3)), RuntimeError,
     "Unknown nonlinearity: gelu"),
])
def test_forward_errors_name_the_module_and_both_sizes(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_packed_sequence_input_is_refused_with_a_message():
    class Packed:       # what torch.nn.utils.rnn.pack_padded_sequence returns carries batch_sizes
        data, batch_sizes = torch.zeros(4, 3), torch.tensor([2, 2])
    with pytest.raises(NotImplementedError, match="LSTM: PackedSequence input is not supported"):
        torch.nn.LSTM(3, 4)(Packed())
