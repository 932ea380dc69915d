"""Parity with PyTorch 2.13 (CPU) for F.scaled_dot_product_attention and nn.MultiheadAttention: PyTorch's weights
copied across, then outputs, attention weights and the gradients of the inputs and every parameter compared.
PyTorch runs SDPA through its CPU flash kernel (blockwise, online softmax) and its matrix products through BLAS,
so the last bits differ: rtol 1e-5 on values, 1e-4 on gradients."""
import re

import numpy as np
import pytest

import eager_api

torch = pytest.importorskip("torch")
from tests.test_reference_torch_rnn import _copy_weights, _leaves  # noqa: E402  (the same copy across, once)

pytestmark = pytest.mark.reference

R = np.random.default_rng(7)
VALUES = dict(rtol=1e-5, atol=1e-6)
GRADS = dict(rtol=1e-4, atol=1e-5)


def _close_with_grads(run, arrays):
    """run(L, *leaves) in both libraries; values and the gradients of sum(out * c) for every leaf agree."""
    results = {}
    for L in (torch, eager_api):
        leaves = _leaves(L, arrays)
        out = run(L, *leaves)
        c = np.random.default_rng(0).normal(size=tuple(out.shape)).astype(np.float32)
        (out * L.tensor(c)).sum().backward()
        results[L] = (out.detach().numpy(), [t.grad.numpy() for t in leaves])
    (ta, tg), (ea, eg) = results[torch], results[eager_api]
    np.testing.assert_allclose(ea, ta, **VALUES)
    for e, t in zip(eg, tg):
        np.testing.assert_allclose(e, t, **GRADS)


def _f32(*shape):
    return R.normal(size=shape).astype(np.float32)


# ----- scaled_dot_product_attention -------------------------------------------------------------------------------
BOOL_MASK = R.random((4, 6)) > 0.3
BOOL_MASK[1] = False                        # a row with no key left: zeros in both, not NaN
FLOAT_MASK = _f32(2, 1, 4, 6)


@pytest.mark.parametrize("kw", [{}, dict(is_causal=True), dict(scale=0.3), dict(attn_mask=BOOL_MASK),
                                dict(attn_mask=FLOAT_MASK)], ids=["plain", "causal", "scale", "bool", "float"])
def test_sdpa_matches_torch(kw):
    q, k, v = _f32(2, 3, 4, 5), _f32(2, 3, 6, 5), _f32(2, 3, 6, 7)

    def run(L, q, k, v):
        args = {n: (L.tensor(a) if isinstance(a, np.ndarray) else a) for n, a in kw.items()}
        return L.nn.functional.scaled_dot_product_attention(q, k, v, **args)
    _close_with_grads(run, [q, k, v])


def test_sdpa_grouped_query_matches_torch():
    _close_with_grads(lambda L, q, k, v: L.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                      [_f32(2, 6, 4, 5), _f32(2, 3, 6, 5), _f32(2, 2, 6, 7)])


@pytest.mark.parametrize("kw", [dict(is_causal=True, attn_mask=np.ones((4, 6), bool)),
                                dict(attn_mask=np.ones((4, 6), np.int64)), dict(dropout_p=1.5)])
def test_sdpa_errors_as_torch(kw):
    messages = []
    for L in (torch, eager_api):
        q, k, v = L.zeros(2, 4, 5), L.zeros(2, 6, 5), L.zeros(2, 6, 5)
        args = {n: (L.tensor(a) if isinstance(a, np.ndarray) else a) for n, a in kw.items()}
        with pytest.raises(RuntimeError) as info:
            L.nn.functional.scaled_dot_product_attention(q, k, v, **args)
        messages.append(str(info.value))
    # the same sentence up to the dtype names (PyTorch's C++ names, ours NumPy's), our function named in front
    assert "scaled_dot_product_attention" in messages[1]
    assert messages[0].split("scaled_dot_product_attention: ")[-1].split(".dtype: ")[0] in messages[1]


# ----- MultiheadAttention -----------------------------------------------------------------------------------------
def _mha_pair(*args, **kw):
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(*args, **kw)
    with torch.no_grad():
        for p in ref.parameters():       # biases start at zero and bias_k/v small: give every weight a part
            p.copy_(torch.randn(p.shape) * 0.5)
    ours = eager_api.nn.MultiheadAttention(*args, **kw)
    _copy_weights(ref, ours)
    return {torch: ref, eager_api: ours}


def _mha_parity(layers, shapes, self_attention=False, masks=None, **call):
    """outputs, weights and the gradients of the inputs and every parameter, in both libraries."""
    arrays = [_f32(*s) for s in shapes]
    results = {}
    for L, layer in layers.items():
        leaves = _leaves(L, arrays)
        q, k, v = (leaves[0],) * 3 if self_attention else leaves
        kw = dict(call, **{n: L.tensor(m) for n, m in (masks or {}).items()})
        out, w = layer(q, k, v, **kw)
        c = np.random.default_rng(1).normal(size=tuple(out.shape)).astype(np.float32)
        loss = (out * L.tensor(c)).sum()
        if w is not None:
            cw = np.random.default_rng(2).normal(size=tuple(w.shape)).astype(np.float32)
            loss = loss + (w * L.tensor(cw)).sum()
        loss.backward()
        results[L] = (out.detach().numpy(), None if w is None else w.detach().numpy(),
                      [t.grad.numpy() for t in leaves] + [p.grad.numpy() for p in layer.parameters()])
    (to, tw, tg), (eo, ew, eg) = results[torch], results[eager_api]
    np.testing.assert_allclose(eo, to, **VALUES)
    assert (ew is None) == (tw is None)
    if tw is not None:
        np.testing.assert_allclose(ew, tw, **VALUES)
    assert len(eg) == len(tg)
    for e, t in zip(eg, tg):
        np.testing.assert_allclose(e, t, **GRADS)


L_, S_, N_, E_ = 4, 5, 3, 8
KPM = np.zeros((N_, S_), bool)
KPM[0, -2:] = True
KPM[2, 0] = True
CAUSAL = np.triu(np.ones((L_, L_), bool), 1)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("average", [True, False])
def test_mha_self_attention_matches_torch(need_weights, average):
    _mha_parity(_mha_pair(E_, 2), [(L_, N_, E_)], self_attention=True, need_weights=need_weights,
                average_attn_weights=average)


@pytest.mark.parametrize("masks", [dict(key_padding_mask=KPM), dict(attn_mask=R.random((L_, S_)) > 0.7),
                                   dict(attn_mask=_f32(L_, S_)), dict(attn_mask=_f32(N_ * 2, L_, S_)),
                                   dict(key_padding_mask=KPM, attn_mask=R.random((L_, S_)) > 0.8),
                                   dict(key_padding_mask=np.where(KPM, -1.5, 0.0).astype(np.float32))],
                         ids=["kpm", "bool2d", "float2d", "float3d", "kpm+bool", "float-kpm"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_masks_match_torch(masks, need_weights):
    _mha_parity(_mha_pair(E_, 2), [(L_, N_, E_), (S_, N_, E_), (S_, N_, E_)], masks=masks,
                need_weights=need_weights)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_causal_hint_matches_torch(need_weights):
    _mha_parity(_mha_pair(E_, 4), [(L_, N_, E_)], self_attention=True, masks=dict(attn_mask=CAUSAL),
                is_causal=True, need_weights=need_weights)


@pytest.mark.parametrize("kw", [dict(batch_first=True), dict(bias=False), dict(kdim=3, vdim=6),
                                dict(add_bias_kv=True), dict(add_zero_attn=True),
                                dict(add_bias_kv=True, add_zero_attn=True)],
                         ids=["batch_first", "no-bias", "kdim-vdim", "bias_kv", "zero_attn", "both"])
def test_mha_options_match_torch(kw):
    kd, vd = kw.get("kdim", E_), kw.get("vdim", E_)
    first = kw.get("batch_first", False)
    shapes = [(N_, L_, E_), (N_, S_, kd), (N_, S_, vd)] if first else [(L_, N_, E_), (S_, N_, kd), (S_, N_, vd)]
    _mha_parity(_mha_pair(E_, 2, **kw), shapes, masks=dict(key_padding_mask=KPM))


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_unbatched_matches_torch(need_weights):
    _mha_parity(_mha_pair(E_, 2), [(L_, E_), (S_, E_), (S_, E_)],
                masks=dict(key_padding_mask=KPM[0],
                           attn_mask=np.stack([np.eye(L_, S_, dtype=bool), np.eye(L_, S_, 1, dtype=bool)])),
                average_attn_weights=False, need_weights=need_weights)


def test_mha_mismatched_mask_types_warn_as_torch():
    for L in (torch, eager_api):
        x = L.zeros(L_, N_, E_)
        with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask is deprecated"):
            L.nn.MultiheadAttention(E_, 2)(x, x, x, key_padding_mask=L.tensor(KPM[:, :L_]),
                                           attn_mask=L.zeros(L_, L_))


def test_mha_parameters_and_init_as_torch():
    for kw in ({}, dict(kdim=3, vdim=5, bias=False), dict(add_bias_kv=True)):
        ref, ours = torch.nn.MultiheadAttention(E_, 2, **kw), eager_api.nn.MultiheadAttention(E_, 2, **kw)
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
               [(n, tuple(p.shape)) for n, p in ref.named_parameters()]
    ours = eager_api.nn.MultiheadAttention(E_, 2)
    bound = np.sqrt(6 / (E_ + 3 * E_))        # xavier_uniform_ over the packed (3E, E) weight
    w = ours.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert not ours.in_proj_bias.detach().numpy().any() and not ours.out_proj.bias.detach().numpy().any()
    assert ours.out_proj.weight.detach().numpy().any()


@pytest.mark.parametrize("case", ["3d-key", "4d-query", "kpm-dim", "attn-dim", "attn2d-shape", "attn3d-shape",
                                  "embed", "kv-shape", "kpm-shape", "causal-no-mask", "int-mask"])
def test_mha_errors_as_torch(case):
    def call(L):
        layer = L.nn.MultiheadAttention(E_, 2)
        x, y = L.zeros(L_, N_, E_), L.zeros(S_, N_, E_)
        args = {"3d-key": (x, L.zeros(S_, E_), y), "4d-query": (x[None], y, y),
                "embed": (L.zeros(L_, N_, 6), y, y), "kv-shape": (x, y, L.zeros(S_ + 1, N_, E_))}.get(case, (x, y, y))
        kw = {"kpm-dim": dict(key_padding_mask=L.zeros(S_, dtype=L.bool)),
              "attn-dim": dict(attn_mask=L.zeros(1, 1, L_, S_)),
              "attn2d-shape": dict(attn_mask=L.zeros(L_, S_ + 1)),
              "attn3d-shape": dict(attn_mask=L.zeros(N_, L_, S_)),
              "kpm-shape": dict(key_padding_mask=L.zeros(N_, S_ + 1, dtype=L.bool)),
              "causal-no-mask": dict(is_causal=True),
              "int-mask": dict(attn_mask=L.zeros(L_, S_, dtype=L.int64))}.get(case, {})
        return layer(*args, **kw)
    with pytest.raises(Exception) as ref:
        call(torch)
    with pytest.raises(type(ref.value)) as ours:
        call(eager_api)
    expected = re.sub(r"torch\.Size\(\[(.*?)\]\)", r"(\1)", str(ref.value)).split(". You may")[0]
    assert expected in str(ours.value) and "MultiheadAttention" in str(ours.value)


def test_mha_train_steps_match_torch():
    layers = _mha_pair(E_, 2)
    x, cw = _f32(L_, N_, E_), _f32(N_, L_, L_)
    outs = {}
    for L, layer in layers.items():
        opt = L.optim.SGD(layer.parameters(), lr=0.05)
        for _ in range(3):
            opt.zero_grad()
            t = L.tensor(x)
            out, w = layer(t, t, t)
            ((out ** 2).mean() + (w * L.tensor(cw)).sum()).backward()
            opt.step()
        outs[L] = [p.detach().numpy() for p in layer.parameters()]
    for e, t in zip(outs[eager_api], outs[torch]):
        np.testing.assert_allclose(e, t, **GRADS)


def test_mha_eval_fast_path_matches_torch():
    # PyTorch's fused kernel (eval, no grad, batch_first self-attention, even heads) against our one formula
    layers = _mha_pair(E_, 2, batch_first=True)
    x, kpm = _f32(N_, S_, E_), KPM
    outs = {}
    for L, layer in layers.items():
        layer.eval()
        with L.no_grad():
            t = L.tensor(x)
            outs[L] = [r.numpy() for r in layer(t, t, t, key_padding_mask=L.tensor(kpm))]
    for e, t in zip(outs[eager_api], outs[torch]):
        np.testing.assert_allclose(e, t, **VALUES)


def test_mha_dropout_in_training_only_as_torch():
    # the draws differ; both zero or scale the returned weights by 1/(1-p) in training, and drop nothing in eval
    for L, layer in _mha_pair(E_, 2, dropout=0.5).items():
        x = L.tensor(_f32(L_, N_, E_))
        with L.no_grad():
            layer.eval()
            ref = layer(x, x, x, average_attn_weights=False)[1].numpy()
            layer.train()
            dropped = layer(x, x, x, average_attn_weights=False)[1].numpy()
        zero = dropped == 0
        assert zero.any()
        np.testing.assert_allclose(dropped[~zero], 2 * ref[~zero], rtol=1e-6)
