"""Parity with PyTorch 2.13 (CPU) for nn.Transformer, TransformerEncoder/Decoder and their layers: PyTorch's
weights copied across (the same names in the same order), then outputs and the gradients of the inputs and every
parameter compared; in eval mode without gradients, where PyTorch runs its fused inference path (and a nested
tensor for a padded batch), the outputs; and the warnings and errors, word for word."""
import warnings

import numpy as np
import pytest

import eager_api

torch = pytest.importorskip("torch")
from tests.test_reference_torch_rnn import _copy_weights, _leaves  # noqa: E402  (the same copy across, once)

pytestmark = pytest.mark.reference

R = np.random.default_rng(11)
VALUES = dict(rtol=1e-5, atol=1e-5)
GRADS = dict(rtol=1e-4, atol=1e-4)
E, H, FF, S, T, N = 8, 2, 16, 5, 4, 3
KPM = np.zeros((N, S), bool)
KPM[0, -2:] = KPM[2, -1] = True


def _pair(make):
    """make(L) in both libraries, PyTorch's weights (randomized: LayerNorm's ones and zeros would hide a swapped
    term) copied into ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # the nested-tensor notice: compared in its own test
        ref, ours = make(torch), make(eager_api)
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.tensor(R.normal(scale=0.5, size=tuple(p.shape)).astype(np.float32)))
    _copy_weights(ref, ours)
    return ref, ours


def _same(ref, ours, arrays, run, train=True, grads=True):
    """run(L, module, *inputs) in both; values agree, and with ``grads`` the gradients of sum(out * c) for every
    input and parameter."""
    results = {}
    for L, m in ((torch, ref), (eager_api, ours)):
        m.train(train)
        if grads:
            leaves = _leaves(L, arrays)
            out = run(L, m, *leaves)
            c = np.random.default_rng(0).normal(size=tuple(out.shape)).astype(np.float32)
            (out * L.tensor(c)).sum().backward()
            results[L] = (out.detach().numpy(), [t.grad.numpy() for t in leaves] + [p.grad.numpy()
                                                                                     for p in m.parameters()])
        else:
            with L.no_grad():
                results[L] = (run(L, m, *[L.tensor(a) for a in arrays]).numpy(), [])
    (tv, tg), (ev, eg) = results[torch], results[eager_api]
    np.testing.assert_allclose(ev, tv, **VALUES)
    assert len(eg) == len(tg)
    for e, t in zip(eg, tg):
        np.testing.assert_allclose(e, t, **GRADS)
    return ev


def _x(*shape):
    return R.normal(size=shape).astype(np.float32)


@pytest.mark.parametrize("kw", [{}, dict(norm_first=True), dict(activation="gelu"), dict(batch_first=True),
                                dict(bias=False)], ids=["default", "norm_first", "gelu", "batch_first", "no_bias"])
@pytest.mark.parametrize("masks", ["none", "causal_and_padding", "float"])
def test_encoder_layer_matches_torch(kw, masks):
    ref, ours = _pair(lambda L: L.nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, **kw))
    shape = (N, S, E) if kw.get("batch_first") else (S, N, E)

    def run(L, m, x):
        if masks == "none":
            return m(x)
        if masks == "float":
            return m(x, src_mask=L.tensor(_FLOAT))
        return m(x, src_mask=L.nn.Transformer.generate_square_subsequent_mask(S).bool(),
                 src_key_padding_mask=L.tensor(KPM))
    _same(ref, ours, [_x(*shape)], run)


_FLOAT = _x(S, S)


@pytest.mark.parametrize("kw", [{}, dict(norm_first=True, activation="gelu", batch_first=True)])
def test_decoder_layer_matches_torch(kw):
    ref, ours = _pair(lambda L: L.nn.TransformerDecoderLayer(E, H, FF, dropout=0.0, **kw))
    bf = kw.get("batch_first")
    tgt, mem = (_x(N, T, E), _x(N, S, E)) if bf else (_x(T, N, E), _x(S, N, E))
    tgt_kpm = np.zeros((N, T), bool)
    tgt_kpm[1, -1] = True

    def run(L, m, x, memory):
        return m(x, memory, tgt_mask=L.nn.Transformer.generate_square_subsequent_mask(T),
                 tgt_key_padding_mask=L.tensor(tgt_kpm), memory_key_padding_mask=L.tensor(KPM), tgt_is_causal=True)
    _same(ref, ours, [tgt, mem], run)


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(batch_first):
    ref, ours = _pair(lambda L: L.nn.Transformer(E, H, 2, 2, FF, dropout=0.0, batch_first=batch_first))
    src, tgt = (_x(N, S, E), _x(N, T, E)) if batch_first else (_x(S, N, E), _x(T, N, E))

    def run(L, m, s, t):
        return m(s, t, tgt_mask=m.generate_square_subsequent_mask(T), src_key_padding_mask=L.tensor(KPM),
                 memory_key_padding_mask=L.tensor(KPM))
    _same(ref, ours, [src, tgt], run)


@pytest.mark.parametrize("case", ["left_aligned", "not_left_aligned", "with_mask", "no_padding"])
def test_encoder_inference_matches_torch_fast_path(case):
    # Eval mode, no gradients, batch_first: PyTorch's fused path, and for a left-aligned padding mask alone a
    # nested tensor whose padded positions come out 0 (then the final norm's bias).
    ref, ours = _pair(lambda L: L.nn.TransformerEncoder(
        L.nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, batch_first=True), 2, norm=L.nn.LayerNorm(E)))
    kpm = KPM.copy()
    if case == "not_left_aligned":
        kpm[1, 0] = True

    def run(L, m, x):
        if case == "no_padding":
            return m(x)
        mask = L.zeros(S, S) if case == "with_mask" else None
        return m(x, mask=mask, src_key_padding_mask=L.tensor(kpm))
    out = _same(ref, ours, [_x(N, S, E)], run, train=False, grads=False)
    bias = ours.norm.bias.detach().numpy()
    assert np.allclose(out[kpm], bias) == (case == "left_aligned")


def test_warnings_and_errors_match_torch():
    def caught(L, make):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            make(L)
        return [str(x.message) for x in w if issubclass(x.category, UserWarning)]
    for make in (lambda L: L.nn.TransformerEncoder(L.nn.TransformerEncoderLayer(E, H, FF), 1),
                 lambda L: L.nn.TransformerEncoder(L.nn.TransformerEncoderLayer(6, 3, 9, batch_first=True), 1),
                 lambda L: L.nn.TransformerEncoder(L.nn.TransformerEncoderLayer(E, H, FF, batch_first=True), 1),
                 lambda L: L.nn.TransformerEncoder(L.nn.TransformerEncoderLayer(E, H, FF, batch_first=True,
                                                                                activation=L.tanh), 1)):
        assert caught(eager_api, make) == caught(torch, make)

    def error(L, call):
        try:
            call(L)
        except Exception as exc:        # noqa: BLE001  (the type and the words are what is compared)
            return type(exc).__name__, str(exc)
        return None
    for call in (lambda L: L.nn.TransformerEncoderLayer(E, H, activation="tanh"),
                 lambda L: L.nn.Transformer(E, H, 1, 1, FF)(L.zeros(S, N, E), L.zeros(T, N + 1, E)),
                 lambda L: L.nn.Transformer(E, H, 1, 1, FF)(L.zeros(S, N, E), L.zeros(T, N, E + 2))):
        got, want = error(eager_api, call), error(torch, call)
        assert want is not None and got == want
    m = eager_api.nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(m.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_inference_matches_torch_fast_path(activation):
    # One layer in eval mode without gradients, batch_first: PyTorch's fused layer kernel (no nested tensor).
    ref, ours = _pair(lambda L: L.nn.TransformerEncoderLayer(E, H, FF, activation=activation, batch_first=True))
    _same(ref, ours, [_x(N, S, E)], lambda L, m, x: m(x, src_key_padding_mask=L.tensor(KPM)), train=False,
          grads=False)
