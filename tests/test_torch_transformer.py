"""nn.Transformer, its encoder and decoder stacks and layers: values against NumPy references written out here
(float64, on the attention tests' ``np_mha``), input gradients against float64 central differences, PyTorch's
parameter names and initialization, deep-copied stacks, the encoder's inference zeros at padded positions,
warnings and errors."""
import math
import warnings

import numpy as np
import pytest

import eager_api as torch
from tests.helpers import eager_fd_check
from tests.test_torch_attention import np_mha

R = np.random.default_rng(5)
E, H, FF, S, T, N = 8, 2, 16, 5, 4, 3
nn = torch.nn
ACTS = {"relu": lambda x: np.maximum(x, 0.0),
        "gelu": lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))}


def np_ln(x, p, name, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * p[name + ".weight"] + p[name + ".bias"]


def sub(p, prefix):
    return {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}


def np_ff(p, x, act):
    return ACTS[act](x @ p["linear1.weight"].T + p["linear1.bias"]) @ p["linear2.weight"].T + p["linear2.bias"]


def np_encoder_layer(p, x, act, norm_first, mask=None, kpm=None):
    """PyTorch's layer on (S, N, E): x + sa(norm1(x)), + ff(norm2(.)) with norm_first, else the norms after."""
    def sa(y):
        return np_mha(sub(p, "self_attn."), y, y, y, H, kpm=kpm, attn_mask=mask)[0]
    if norm_first:
        x = x + sa(np_ln(x, p, "norm1"))
        return x + np_ff(p, np_ln(x, p, "norm2"), act)
    x = np_ln(x + sa(x), p, "norm1")
    return np_ln(x + np_ff(p, x, act), p, "norm2")


def np_decoder_layer(p, x, mem, act, norm_first, tgt_mask=None, mem_kpm=None):
    def sa(y):
        return np_mha(sub(p, "self_attn."), y, y, y, H, attn_mask=tgt_mask)[0]

    def ca(y):
        return np_mha(sub(p, "multihead_attn."), y, mem, mem, H, kpm=mem_kpm)[0]
    if norm_first:
        x = x + sa(np_ln(x, p, "norm1"))
        x = x + ca(np_ln(x, p, "norm2"))
        return x + np_ff(p, np_ln(x, p, "norm3"), act)
    x = np_ln(x + sa(x), p, "norm1")
    x = np_ln(x + ca(x), p, "norm2")
    return np_ln(x + np_ff(p, x, act), p, "norm3")


def params(m):
    return {k: v.detach().numpy().astype(np.float64) for k, v in m.named_parameters()}


def _randomized(m):
    """Every parameter random (LayerNorm's ones and zeros and the zero biases would hide a swapped term)."""
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.tensor(R.normal(scale=0.5, size=tuple(p.shape))))
    return m


CAUSAL_S = np.triu(np.ones((S, S), bool), 1)
KPM = np.zeros((N, S), bool)
KPM[0, -2:] = KPM[2, -1] = True
FLOAT_MASK = R.normal(size=(S, S))
MASKS = {"none": {}, "bool": dict(mask=CAUSAL_S, kpm=KPM), "float": dict(mask=FLOAT_MASK)}


@pytest.mark.parametrize("masks", sorted(MASKS))
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("act", ["relu", "gelu"])
def test_encoder_layer_matches_numpy(act, norm_first, masks):
    layer = _randomized(nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, activation=act, norm_first=norm_first,
                                                   dtype=torch.float64))
    x = R.normal(size=(S, N, E))
    m = MASKS[masks]
    got = layer(torch.tensor(x), src_mask=None if "mask" not in m else torch.tensor(m["mask"]),
                src_key_padding_mask=None if "kpm" not in m else torch.tensor(m["kpm"]))
    want = np_encoder_layer(params(layer), x, act, norm_first, m.get("mask"), m.get("kpm"))
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_numpy_batch_first_too(norm_first):
    layer = _randomized(nn.TransformerDecoderLayer(E, H, FF, dropout=0.0, activation="gelu", norm_first=norm_first,
                                                   dtype=torch.float64))
    x, mem = R.normal(size=(T, N, E)), R.normal(size=(S, N, E))
    causal = np.triu(np.ones((T, T), bool), 1)
    got = layer(torch.tensor(x), torch.tensor(mem), tgt_mask=torch.tensor(causal),
                memory_key_padding_mask=torch.tensor(KPM))
    want = np_decoder_layer(params(layer), x, mem, "gelu", norm_first, causal, KPM)
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-10, atol=1e-12)
    first = nn.TransformerDecoderLayer(E, H, FF, dropout=0.0, activation="gelu", norm_first=norm_first,
                                       batch_first=True, dtype=torch.float64)
    first.load_state_dict(layer.state_dict())
    got_bf = first(torch.tensor(x.transpose(1, 0, 2)), torch.tensor(mem.transpose(1, 0, 2)),
                   tgt_mask=torch.tensor(causal), memory_key_padding_mask=torch.tensor(KPM))
    np.testing.assert_allclose(got_bf.detach().numpy().transpose(1, 0, 2), want, rtol=1e-10, atol=1e-12)


def test_transformer_is_its_stacks_and_final_norms():
    model = _randomized(nn.Transformer(E, H, 2, 2, FF, dropout=0.0, dtype=torch.float64))
    src, tgt = R.normal(size=(S, N, E)), R.normal(size=(T, N, E))
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
    got = model(torch.tensor(src), torch.tensor(tgt), tgt_mask=tgt_mask, src_key_padding_mask=torch.tensor(KPM),
                memory_key_padding_mask=torch.tensor(KPM))
    p = params(model)
    mem = src
    for i in range(2):
        mem = np_encoder_layer(sub(p, f"encoder.layers.{i}."), mem, "relu", False, kpm=KPM)
    mem = np_ln(mem, p, "encoder.norm")
    out = tgt
    for i in range(2):
        out = np_decoder_layer(sub(p, f"decoder.layers.{i}."), out, mem, "relu", False,
                               tgt_mask.numpy(), KPM)
    np.testing.assert_allclose(got.detach().numpy(), np_ln(out, p, "decoder.norm"), rtol=1e-10, atol=1e-12)


def test_gradients_match_central_differences():
    enc = _randomized(nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation="gelu", dtype=torch.float64))
    dec = _randomized(nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, norm_first=True, dtype=torch.float64))
    kpm = torch.tensor(np.array([[False, False, True], [False, False, False]]))
    eager_fd_check(lambda x: enc(x, src_key_padding_mask=kpm), [R.normal(size=(3, 2, 4))])
    eager_fd_check(lambda x, m: dec(x, m, tgt_mask=nn.Transformer.generate_square_subsequent_mask(
        2, dtype=torch.float64)), [R.normal(size=(2, 2, 4)), R.normal(size=(3, 2, 4))])


def test_parameter_names_init_and_independent_copies():
    layer = nn.TransformerEncoderLayer(E, H, FF)
    assert list(layer.state_dict()) == [
        "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
        "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight", "norm1.bias",
        "norm2.weight", "norm2.bias"]
    assert [type(m).__name__ for _, m in layer.named_children()] == [
        "MultiheadAttention", "Linear", "Dropout", "Linear", "LayerNorm", "LayerNorm", "Dropout", "Dropout"]
    assert layer.activation_relu_or_gelu == 1 and layer.dropout.p == 0.1 and layer.norm1.eps == 1e-5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stack = nn.TransformerEncoder(layer, 3)
    a, b = stack.layers[0].linear1.weight, stack.layers[1].linear1.weight
    assert a is not b and np.array_equal(a.detach().numpy(), b.detach().numpy())
    with torch.no_grad():
        a.add_(1.0)
    assert not np.array_equal(a.detach().numpy(), b.detach().numpy())
    model = nn.Transformer(E, H, 1, 1, FF)
    for name, p in model.named_parameters():
        v = p.detach().numpy()
        if v.ndim > 1:          # Xavier-uniform: within its bound, and spread over it
            bound = math.sqrt(6.0 / (v.shape[0] + v.shape[1]))
            assert np.abs(v).max() <= bound and np.abs(v).max() > 0.8 * bound, name
        elif "norm" in name and name.endswith(".weight"):
            assert (v == 1).all(), name
        elif "linear" in name:  # Linear's own bias init, uniform within 1/sqrt(fan_in)
            assert np.abs(v).max() <= 1 / math.sqrt(E if "linear1" in name else FF) and v.std() > 0, name
        else:                   # the attention biases and the norms' biases
            assert (v == 0).all(), name


@pytest.fixture
def padded_encoder():
    layer = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, batch_first=True)
    enc = _randomized(nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(E)))
    enc.eval()
    return enc


def test_encoder_inference_zeroes_padded_positions_as_pytorch_nested_path(padded_encoder):
    enc = padded_encoder
    x = torch.tensor(R.normal(size=(N, S, E)).astype(np.float32))
    kpm = torch.tensor(KPM)                     # left-aligned: each row's padding at its end
    with torch.no_grad():
        fast = enc(x, src_key_padding_mask=kpm).numpy()
    full = enc(x, src_key_padding_mask=kpm).detach().numpy()    # gradients wanted: the composed path
    bias = enc.norm.bias.detach().numpy()
    np.testing.assert_array_equal(fast[KPM], np.broadcast_to(bias, (KPM.sum(), E)))      # norm(0) = its bias
    np.testing.assert_array_equal(fast[~KPM], full[~KPM])
    assert not np.allclose(full[KPM], bias)
    other = KPM.copy()
    other[1, 0] = True                          # padding in front: not left-aligned, no nested path
    with torch.no_grad():
        kept = enc(x, src_key_padding_mask=torch.tensor(other)).numpy()
        both = enc(x, mask=torch.zeros(S, S), src_key_padding_mask=kpm).numpy()
    assert not np.allclose(kept[other], bias) and not np.allclose(both[KPM], bias)
    enc.train()
    with torch.no_grad():
        trained = enc(x, src_key_padding_mask=kpm).numpy()
    np.testing.assert_array_equal(trained, full)


def test_causal_mask_hint_and_values():
    m = nn.Transformer.generate_square_subsequent_mask(3)
    assert m.dtype == torch.float32
    np.testing.assert_array_equal(m.numpy(), [[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]])
    dec = _randomized(nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, FF, dropout=0.0), 2))
    x, mem = torch.tensor(R.normal(size=(T, N, E)).astype(np.float32)), torch.tensor(
        R.normal(size=(S, N, E)).astype(np.float32))
    mask = nn.Transformer.generate_square_subsequent_mask(T)
    detected = dec(x, mem, tgt_mask=mask).detach().numpy()          # recognized as causal
    told = dec(x, mem, tgt_mask=mask, tgt_is_causal=False).detach().numpy()
    np.testing.assert_allclose(detected, told, rtol=1e-5, atol=1e-6)
    free = dec(x, mem).detach().numpy()
    assert not np.allclose(free, told, rtol=1e-3)


def test_warnings_and_errors():
    with pytest.warns(UserWarning, match=r"enable_nested_tensor is True, but self.use_nested_tensor is False because "
                      r"encoder_layer.self_attn.batch_first was not True\(use batch_first"):
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF), 1)
    assert enc.use_nested_tensor is False and enc.enable_nested_tensor is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF), 1, enable_nested_tensor=False)
        nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF, batch_first=True), 1)
    with pytest.warns(UserWarning, match="norm_first was True"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF, batch_first=True, norm_first=True), 1)
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(E, H, FF, activation="tanh")
    layer = nn.TransformerEncoderLayer(E, H, FF)
    x = torch.randn(S, N, E)
    with pytest.raises(AssertionError, match="only bool and floating types of src_mask are supported"):
        layer(x, src_mask=torch.zeros(S, S, dtype=torch.int64))
    with pytest.warns(UserWarning, match="mismatched src_key_padding_mask and src_mask"):
        layer(x, src_mask=torch.zeros(S, S), src_key_padding_mask=torch.tensor(KPM))
    model = nn.Transformer(E, H, 1, 1, FF)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        model(torch.randn(S, N, E), torch.randn(T, N + 1, E))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to d_model"):
        model(torch.randn(S, N, E), torch.randn(T, N, E + 1))
