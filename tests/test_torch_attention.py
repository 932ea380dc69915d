"""F.scaled_dot_product_attention and nn.MultiheadAttention: values against NumPy references written out here
(float64), gradients of the inputs and of every parameter against float64 central differences, PyTorch's parameter
names, arguments and errors."""
import numpy as np
import pytest

import eager_api as torch
from tests.helpers import eager_fd_check

R = np.random.default_rng(3)
F = torch.nn.functional


# ----- NumPy references ------------------------------------------------------------------------------------------
def np_softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_sdpa(q, k, v, mask=None, causal=False, scale=None):
    """The formula of PyTorch's docs; a boolean mask keeps its True positions; a row with none left is zeros."""
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    a = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        mask = np.tril(np.ones(a.shape[-2:], bool))
    if mask is not None and mask.dtype == bool:
        a = np.where(mask, a, -np.inf)
    elif mask is not None:
        a = a + mask
    dead = np.isneginf(a).all(axis=-1, keepdims=True)
    return np.where(dead, 0.0, np_softmax(np.where(dead, 0.0, a))) @ v


def np_mha(p, q, k, v, heads, kpm=None, attn_mask=None, bias_kv=False, zero_attn=False):
    """Multi-head attention on (L, N, E) inputs from a dict of float64 parameters; boolean masks are True where a
    key is left out.  Returns the output and the per-head weights (N, heads, L, S)."""
    E = q.shape[-1]
    if "in_proj_weight" in p:
        wq, wk, wv = np.split(p["in_proj_weight"], 3)
    else:
        wq, wk, wv = p["q_proj_weight"], p["k_proj_weight"], p["v_proj_weight"]
    bq, bk, bv = np.split(p["in_proj_bias"], 3) if "in_proj_bias" in p else (0, 0, 0)
    q, k, v = q @ wq.T + bq, k @ wk.T + bk, v @ wv.T + bv
    L, N, S, d = q.shape[0], q.shape[1], k.shape[0], E // heads
    add = np.zeros((N, heads, L, S))
    if attn_mask is not None:
        m = np.where(attn_mask, -np.inf, 0.0) if attn_mask.dtype == bool else attn_mask
        add = add + (m.reshape(N, heads, L, S) if m.ndim == 3 else m)
    if kpm is not None:
        add = add + (np.where(kpm, -np.inf, 0.0) if kpm.dtype == bool else kpm)[:, None, None, :]
    if bias_kv:
        k = np.concatenate([k, np.broadcast_to(p["bias_k"], (1, N, E))])
        v = np.concatenate([v, np.broadcast_to(p["bias_v"], (1, N, E))])
        add = np.concatenate([add, np.zeros((N, heads, L, 1))], axis=-1)
    split = lambda t: t.reshape(t.shape[0], N, heads, d).transpose(1, 2, 0, 3)     # noqa: E731  (N, h, T, d)
    qh, kh, vh = split(q), split(k), split(v)
    if zero_attn:
        kh = np.concatenate([kh, np.zeros((N, heads, 1, d))], axis=2)
        vh = np.concatenate([vh, np.zeros((N, heads, 1, d))], axis=2)
        add = np.concatenate([add, np.zeros((N, heads, L, 1))], axis=-1)
    w = np_softmax(qh @ kh.transpose(0, 1, 3, 2) / np.sqrt(d) + add)
    o = (w @ vh).transpose(2, 0, 1, 3).reshape(L, N, E)
    out = o @ p["out_proj.weight"].T + (p["out_proj.bias"] if "out_proj.bias" in p else 0)
    return out, w


def _params(layer):
    return {n: t.detach().numpy() for n, t in layer.named_parameters()}


def _layer(*args, **kw):
    """A float64 layer with every weight drawn at random (its biases start at zero)."""
    layer = torch.nn.MultiheadAttention(*args, dtype=torch.float64, **kw)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.tensor(R.normal(size=tuple(p.shape)) * 0.5))
    return layer


# ----- scaled_dot_product_attention ------------------------------------------------------------------------------
MASK = R.random((4, 6)) > 0.4
MASK[2] = False


@pytest.mark.parametrize("kw", [{}, dict(causal=True), dict(scale=0.25), dict(mask=MASK),
                                dict(mask=R.normal(size=(3, 1, 1, 6)))],
                         ids=["plain", "causal", "scale", "bool", "float"])
def test_sdpa_matches_numpy(kw):
    q, k, v = R.normal(size=(3, 2, 4, 5)), R.normal(size=(3, 2, 6, 5)), R.normal(size=(3, 2, 6, 3))
    args = dict(is_causal=kw.get("causal", False), scale=kw.get("scale"),
                attn_mask=torch.tensor(kw["mask"]) if "mask" in kw else None)
    out = F.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v), **args)
    np.testing.assert_allclose(out.detach().numpy(), np_sdpa(q, k, v, **kw), rtol=1e-12, atol=1e-12)
    if "mask" in kw and kw["mask"].dtype == bool:
        assert not out.detach().numpy()[:, :, 2].any()        # the row with no key left


@pytest.mark.parametrize("kw", [dict(attn_mask=MASK), dict(is_causal=True), dict(scale=0.7)])
def test_sdpa_gradients_match_central_differences(kw):
    args = {n: torch.tensor(a) if isinstance(a, np.ndarray) else a for n, a in kw.items()}
    eager_fd_check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **args),
                   [R.normal(size=(2, 4, 3)), R.normal(size=(2, 6, 3)), R.normal(size=(2, 6, 2))])


def test_sdpa_grouped_query_heads_share_key_and_value_heads():
    q, k, v = R.normal(size=(2, 6, 3, 4)), R.normal(size=(2, 3, 5, 4)), R.normal(size=(2, 2, 5, 3))
    out = F.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v), enable_gqa=True)
    # query head h reads key head h // 2 and value head h // 3
    np.testing.assert_allclose(out.numpy(), np_sdpa(q, k[:, [0, 0, 1, 1, 2, 2]], v[:, [0, 0, 0, 1, 1, 1]]),
                               rtol=1e-12, atol=1e-12)
    eager_fd_check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                   [R.normal(size=(4, 2, 3)), R.normal(size=(2, 3, 3)), R.normal(size=(1, 3, 2))])


def test_sdpa_dropout_keeps_or_scales_each_weight():
    # with the identity as value the output is the attention weights themselves, each kept at 1/(1-p) or zeroed
    q, k = torch.tensor(R.normal(size=(1, 6, 4))), torch.tensor(R.normal(size=(1, 6, 4)))
    eye = torch.tensor(np.eye(6)[None])
    w = F.scaled_dot_product_attention(q, k, eye).numpy()
    dropped = F.scaled_dot_product_attention(q, k, eye, dropout_p=0.5).numpy()
    zero = dropped == 0
    np.testing.assert_allclose(dropped[~zero], 2 * w[~zero], rtol=1e-12)
    assert zero.any() and not zero.all()


@pytest.mark.parametrize("kw, error, words", [
    (dict(is_causal=True, attn_mask=torch.ones(4, 6, dtype=torch.bool)), RuntimeError, "Explicit attn_mask"),
    (dict(attn_mask=torch.ones(4, 6, dtype=torch.int64)), RuntimeError, "attn_mask.dtype: int64"),
    (dict(dropout_p=-0.1), RuntimeError, "between 0 and 1, but got -0.1"),
    (dict(enable_gqa=True), RuntimeError, "got 4 query heads and 3 key heads")])
def test_sdpa_errors(kw, error, words):
    q, k = torch.zeros(1, 4, 4, 3), torch.zeros(1, 3 if "enable_gqa" in kw else 4, 6, 3)
    with pytest.raises(error, match="scaled_dot_product_attention") as info:
        F.scaled_dot_product_attention(q, k, k, **kw)
    assert words in str(info.value)


# ----- MultiheadAttention ----------------------------------------------------------------------------------------
L_, S_, N_, E_ = 3, 4, 2, 4
KPM = np.zeros((N_, S_), bool)
KPM[0, -1] = True


@pytest.mark.parametrize("kw, masks", [
    ({}, {}), ({}, dict(kpm=KPM)), ({}, dict(attn_mask=R.random((L_, S_)) > 0.8)),
    ({}, dict(attn_mask=R.normal(size=(N_ * 2, L_, S_)), kpm=np.where(KPM, -2.0, 0.0))),
    (dict(bias=False), dict(kpm=KPM)), (dict(kdim=3, vdim=5), {}), (dict(add_bias_kv=True), dict(kpm=KPM)),
    (dict(add_zero_attn=True), dict(kpm=KPM))],
    ids=["plain", "kpm", "bool", "float", "no-bias", "kdim-vdim", "bias_kv", "zero_attn"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_matches_numpy(kw, masks, need_weights):
    layer = _layer(E_, 2, **kw)
    q = R.normal(size=(L_, N_, E_))
    k, v = R.normal(size=(S_, N_, kw.get("kdim", E_))), R.normal(size=(S_, N_, kw.get("vdim", E_)))
    args = dict(key_padding_mask=masks.get("kpm"), attn_mask=masks.get("attn_mask"))
    out, w = layer(torch.tensor(q), torch.tensor(k), torch.tensor(v), need_weights=need_weights,
                   average_attn_weights=False, **{n: None if a is None else torch.tensor(a) for n, a in args.items()})
    ref_out, ref_w = np_mha(_params(layer), q, k, v, 2, masks.get("kpm"), masks.get("attn_mask"),
                            kw.get("add_bias_kv", False), kw.get("add_zero_attn", False))
    np.testing.assert_allclose(out.detach().numpy(), ref_out, rtol=1e-10, atol=1e-12)
    if need_weights:
        np.testing.assert_allclose(w.detach().numpy(), ref_w, rtol=1e-10, atol=1e-12)
    else:
        assert w is None


def test_mha_batch_first_unbatched_and_averaged_weights():
    layer = _layer(E_, 2)
    q, kv = R.normal(size=(L_, N_, E_)), R.normal(size=(S_, N_, E_))
    ref_out, ref_w = np_mha(_params(layer), q, kv, kv, 2, KPM)
    layer.batch_first = True
    out, w = layer(torch.tensor(q.transpose(1, 0, 2)), *[torch.tensor(kv.transpose(1, 0, 2))] * 2,
                   key_padding_mask=torch.tensor(KPM))
    np.testing.assert_allclose(out.detach().numpy(), ref_out.transpose(1, 0, 2), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.detach().numpy(), ref_w.mean(axis=1), rtol=1e-10, atol=1e-12)
    out, w = layer(torch.tensor(q[:, 1]), *[torch.tensor(kv[:, 1])] * 2, key_padding_mask=torch.tensor(KPM[1]))
    np.testing.assert_allclose(out.detach().numpy(), ref_out[:, 1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.detach().numpy(), ref_w[1].mean(axis=0), rtol=1e-10, atol=1e-12)


def test_mha_causal_hint_is_the_given_mask():
    layer = _layer(E_, 2)
    x = R.normal(size=(L_, N_, E_))
    causal = np.triu(np.ones((L_, L_), bool), 1)
    ref_out, _ = np_mha(_params(layer), x, x, x, 2, attn_mask=causal)
    t = torch.tensor(x)
    for need_weights in (True, False):
        out, _ = layer(t, t, t, attn_mask=torch.tensor(causal), is_causal=True, need_weights=need_weights)
        np.testing.assert_allclose(out.detach().numpy(), ref_out, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kw", [{}, dict(kdim=3, vdim=2), dict(add_bias_kv=True, add_zero_attn=True)])
def test_mha_gradients_match_central_differences(kw):
    layer = _layer(E_, 2, **kw)
    kpm = torch.tensor(KPM)
    shapes = [(L_, N_, E_), (S_, N_, kw.get("kdim", E_)), (S_, N_, kw.get("vdim", E_))]
    c_out, c_w = R.normal(size=(L_, N_, E_)), R.normal(size=(N_, 2, L_, S_ + 2 * bool(kw.get("add_bias_kv"))))

    def loss(q, k, v):
        out, w = layer(q, k, v, key_padding_mask=kpm, average_attn_weights=False)
        return (out * torch.tensor(c_out)).sum() + (w * torch.tensor(c_w)).sum()
    # the inputs' gradients through the helper, the parameters' by central differences on each weight in place
    eager_fd_check(loss, [R.normal(size=s) for s in shapes])
    inputs = [torch.tensor(R.normal(size=s)) for s in shapes]
    layer.zero_grad()
    loss(*inputs).backward()
    h = 1e-6
    for name, p in layer.named_parameters():
        fd = np.zeros(tuple(p.shape))
        for i in np.ndindex(fd.shape):
            diffs = []
            for step in (h, -2 * h, h):           # +h, then -h, then back to the start
                with torch.no_grad():
                    p[i] += step
                    diffs.append(loss(*inputs).item())
            fd[i] = (diffs[0] - diffs[1]) / (2 * h)
        np.testing.assert_allclose(p.grad.numpy(), fd, rtol=1e-5, atol=1e-8, err_msg=name)


def test_mha_dropout_only_in_training():
    layer = _layer(E_, 2, dropout=0.5)
    x = torch.tensor(R.normal(size=(L_, N_, E_)))
    ref_out, ref_w = np_mha(_params(layer), *[x.numpy()] * 3, 2)
    train_out, train_w = layer(x, x, x, average_attn_weights=False)
    assert not np.allclose(train_out.detach().numpy(), ref_out)
    # as PyTorch, the weights returned are those after the dropout: each zeroed or scaled by 1/(1-p)
    dropped = train_w.detach().numpy()
    zero = dropped == 0
    np.testing.assert_allclose(dropped[~zero], 2 * ref_w[~zero], rtol=1e-10)
    assert zero.any()
    layer.eval()
    np.testing.assert_allclose(layer(x, x, x)[0].detach().numpy(), ref_out, rtol=1e-10, atol=1e-12)


def test_mha_parameters_and_init():
    layer = torch.nn.MultiheadAttention(8, 2)
    assert [(n, tuple(p.shape)) for n, p in layer.named_parameters()] == [
        ("in_proj_weight", (24, 8)), ("in_proj_bias", (24,)), ("out_proj.weight", (8, 8)), ("out_proj.bias", (8,))]
    w = layer.in_proj_weight.detach().numpy()
    bound = np.sqrt(6 / (8 + 24))                 # xavier_uniform_ over the packed (3E, E) weight
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert not layer.in_proj_bias.detach().numpy().any() and not layer.out_proj.bias.detach().numpy().any()
    split = torch.nn.MultiheadAttention(8, 2, kdim=3, vdim=5, bias=False, add_bias_kv=True)
    assert [(n, tuple(p.shape)) for n, p in split.named_parameters()] == [
        ("q_proj_weight", (8, 8)), ("k_proj_weight", (8, 3)), ("v_proj_weight", (8, 5)), ("bias_k", (1, 1, 8)),
        ("bias_v", (1, 1, 8)), ("out_proj.weight", (8, 8))]
    assert split.in_proj_weight is None and split.in_proj_bias is None and split.out_proj.bias is None


@pytest.mark.parametrize("args, error, words", [
    ((0, 2), ValueError, "got embed_dim=0 and num_heads=2"),
    ((6, 4), AssertionError, "embed_dim must be divisible by num_heads, got embed_dim=6 and num_heads=4")])
def test_mha_constructor_errors(args, error, words):
    with pytest.raises(error) as info:
        torch.nn.MultiheadAttention(*args)
    assert words in str(info.value)


@pytest.mark.parametrize("case, error, words", [
    ("4d", AssertionError, "received 4-D query tensor"),
    ("2d-key", AssertionError, "expected `key` and `value` to be 3-D but found 2-D and 3-D"),
    ("embed", AssertionError, "expecting embedding dimension of 4, but got 2"),
    ("mask-shape", RuntimeError, "2D attn_mask is (3, 3), but should be (3, 4)"),
    ("kpm-shape", AssertionError, "key_padded_mask.shape[1] to be 4, but got 5"),
    ("int-mask", AssertionError, "only bool and floating types of key_padding_mask"),
    ("causal", RuntimeError, "Need attn_mask if specifying the is_causal hint")])
def test_mha_forward_errors(case, error, words):
    layer = torch.nn.MultiheadAttention(E_, 2)
    q, kv = torch.zeros(L_, N_, E_), torch.zeros(S_, N_, E_)
    args = {"4d": (q[None], kv, kv), "2d-key": (q, kv[:, 0], kv), "embed": (q[..., :2], kv, kv)}.get(case, (q, kv, kv))
    kw = {"mask-shape": dict(attn_mask=torch.zeros(L_, L_)),
          "kpm-shape": dict(key_padding_mask=torch.zeros(N_, S_ + 1, dtype=torch.bool)),
          "int-mask": dict(key_padding_mask=torch.zeros(N_, S_, dtype=torch.int64)),
          "causal": dict(is_causal=True)}.get(case, {})
    with pytest.raises(error, match="MultiheadAttention") as info:
        layer(*args, **kw)
    assert words in str(info.value)
