"""PyTorch's rules for reductions, sorting and a few elementwise ops where NumPy's differ (correction >= N,
empty dims, integer accumulation dtypes, NaN in sort/topk/sign, uint8 any/all), F.embedding's padding row,
circular padding with a negative pad, and torch.save/load keeping shared storage, object identity,
requires_grad, Parameters and OrderedDicts; against hand values."""
import collections
import io
import warnings

import numpy as np
import pytest

import eager_api as torch
from core import checkpoint as ckpt
from core.checkpoint import CheckpointError

F = torch.nn.functional
NAN = float("nan")


def test_var_and_std_with_correction_at_least_n_divide_by_zero():
    x = torch.tensor([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]])
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        v = x.var(dim=1, correction=3)
    assert "degrees of freedom is <= 0" in str(rec[0].message)
    assert np.isinf(v[0].item()) and np.isnan(v[1].item())        # 4.67 / 0 and 0 / 0
    assert np.isinf(x.std(dim=1, correction=4)[0].item())
    np.testing.assert_allclose(x.var(dim=1, correction=2).numpy(), [14 / 3, 0.0], rtol=1e-6)


def test_an_empty_dim_reduces_over_all_but_any_all_reduce_over_none():
    x = torch.tensor([[1.0, 2.0, 4.0], [3.0, 0.0, 1.0]])
    assert x.sum(dim=()).item() == 11.0 and x.sum(dim=[]).item() == 11.0
    assert x.mean(dim=()).item() == pytest.approx(11 / 6)
    assert x.amax(dim=()).item() == 4.0
    assert (x > 1).any(dim=()).tolist() == [[False, True, True], [True, False, False]]


def test_narrow_takes_a_negative_start():
    x = torch.arange(6).reshape(2, 3)
    assert x.narrow(1, -2, 2).tolist() == [[1, 2], [4, 5]]


def test_embedding_padding_row_is_returned_but_gets_no_gradient():
    w = torch.arange(12.0).reshape(4, 3).requires_grad_()
    out = F.embedding(torch.tensor([0, 3, 1, 3]), w, padding_idx=-1)
    assert out.tolist() == [[0.0, 1.0, 2.0], [9.0, 10.0, 11.0], [3.0, 4.0, 5.0], [9.0, 10.0, 11.0]]
    out.sum().backward()
    assert w.grad.tolist() == [[1.0] * 3, [1.0] * 3, [0.0] * 3, [0.0] * 3]
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        F.embedding(torch.tensor([0]), w, padding_idx=4)


def test_sort_and_topk_count_nan_as_the_largest():
    y = torch.tensor([1.0, NAN, 3.0, 2.0, NAN])
    assert y.argsort(descending=True).tolist() == [1, 4, 2, 3, 0]
    assert y.argsort().tolist() == [0, 3, 2, 1, 4]
    values, idx = y.topk(3)
    assert idx.tolist() == [1, 4, 2] and np.isnan(values[:2].numpy()).all() and values[2].item() == 3.0
    assert y.topk(2, largest=False).indices.tolist() == [0, 3]
    assert y.sort(descending=True).indices.tolist() == [1, 4, 2, 3, 0]


def test_integer_reductions_accumulate_in_int64_or_wrap_in_the_dtype_asked_for():
    i8 = torch.tensor([100, 100, 50], dtype=torch.int8)
    assert i8.sum().dtype == torch.int64 and i8.sum().item() == 250
    assert i8.sum(dtype=torch.int8).item() == 250 - 256
    assert i8.prod(dtype=torch.int16).item() == 500000 - 8 * 65536           # 500000 wrapped to int16
    assert i8.cumsum(0, dtype=torch.int8).tolist() == [100, -56, -6]
    assert i8.cumsum(0).tolist() == [100, 200, 250]
    assert i8.cumprod(0, dtype=torch.int8).tolist() == [100, 10000 % 256 - 256 * (10000 % 256 > 127),
                                                          (10000 % 256) * 50 % 256]
    u = torch.tensor([200, 100, 0], dtype=torch.uint8)
    assert u.sum().dtype == torch.int64 and u.sum().item() == 300 and u.prod().item() == 0
    assert u.any().dtype == torch.uint8 and u.any().item() == 1 and u.all().item() == 0
    assert u.reshape(3, 1).any(1).tolist() == [1, 1, 0]
    assert torch.tensor([1.0, NAN]).nansum(dtype=torch.float64).dtype == torch.float64


def test_median_of_integers_sign_of_nan_and_square_of_bools():
    m = torch.tensor([3, 1, 2, 5]).median()
    assert m.dtype == torch.int64 and m.item() == 2
    assert torch.tensor([1.0, NAN, -3.0, 0.0]).sign().tolist() == [1.0, 0.0, -1.0, 0.0]
    sq = torch.tensor([True, False]).square()
    assert sq.dtype == torch.int64 and sq.tolist() == [1, 0]


@pytest.mark.parametrize("pad, want", [((-1, 2), [1, 2, 3, 4, 1, 2]), ((2, -1), [2, 3, 0, 1, 2, 3]),
                                       ((-1, -1), [1, 2, 3])])
def test_circular_pad_wraps_within_what_a_negative_pad_leaves(pad, want):
    z = torch.arange(5.0).reshape(1, 1, 5)
    assert F.pad(z, pad, mode="circular").reshape(-1).tolist() == want


def _round_trip(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf)


def test_save_load_keeps_shared_storage_identity_and_grad_flags():
    a = torch.arange(6.0)
    p = torch.nn.Parameter(torch.ones(4))
    q = torch.ones(3, requires_grad=True)
    got = _round_trip({"a": a, "a2": a, "tail": a[2:], "t": a.reshape(2, 3).t(), "e": a.expand(2, 6),
                       "p": p, "p2": p, "q": q, "od": collections.OrderedDict([("z", 1), ("b", a)])})
    assert got["a"] is got["a2"] and got["p"] is got["p2"] and got["od"]["b"] is got["a"]
    got["a"][3] = 100.0          # one storage: every view sees the write, as PyTorch's loaded tensors
    assert got["tail"].tolist() == [2.0, 100.0, 4.0, 5.0]
    assert got["t"].tolist() == [[0.0, 100.0], [1.0, 4.0], [2.0, 5.0]]
    assert got["e"].tolist() == [[0.0, 1.0, 2.0, 100.0, 4.0, 5.0]] * 2
    assert isinstance(got["p"], torch.nn.Parameter) and got["p"].requires_grad
    assert got["q"].requires_grad and not isinstance(got["q"], torch.nn.Parameter)
    assert not got["a"].requires_grad
    assert isinstance(got["od"], collections.OrderedDict) and list(got["od"]) == ["z", "b"]
    assert type(_round_trip({"x": 1})) is dict
    sd = _round_trip(torch.nn.Linear(2, 2).state_dict())
    assert isinstance(sd, collections.OrderedDict) and list(sd) == ["weight", "bias"]
    assert not any(v.requires_grad for v in sd.values())


def _crafted(tmp_path, tags):
    """A checkpoint whose leaves carry the given (tag, array) pairs, as a bad or hostile file might."""
    it = iter(tags)
    path = tmp_path / "crafted.npz"
    ckpt.save_tree(path, [object() for _ in tags], "eager", lambda obj: next(it) if type(obj) is object else None)
    return path


def _tag(**info):
    import json
    base = {"device": "cpu", "chain": [], "requires_grad": False, "parameter": False, "base": 0}
    return "dualflow.tensor:" + json.dumps({**base, **info})


def test_load_checks_every_tensor_tag(tmp_path):
    ones = np.ones(4, np.float32)
    empty = np.zeros(0, np.float32)
    # a view chain naming an op that is not a view primitive
    with pytest.raises(CheckpointError, match="a view chain"):
        torch.load(_crafted(tmp_path, [(_tag(chain=[["Exp", []]]), ones)]))
    # a storage number that was never stored
    with pytest.raises(CheckpointError, match="storage 3 of 1"):
        torch.load(_crafted(tmp_path, [(_tag(), ones), (_tag(base=3), empty)]))
    # a reshape that does not fit its storage
    with pytest.raises(CheckpointError, match="does not fit its storage"):
        torch.load(_crafted(tmp_path, [(_tag(chain=[["Reshape", [3, 3]]]), ones)]))
    # a broadcast naming more than the size cap, then a reshape that would copy it
    huge = [["BroadcastTo", [2 ** 20, 2 ** 20, 4]], ["Reshape", [-1]]]
    with pytest.raises(CheckpointError, match="larger than the size cap"):
        torch.load(_crafted(tmp_path, [(_tag(chain=huge), ones)]))
    with pytest.raises(CheckpointError, match="a tensor tag"):
        torch.load(_crafted(tmp_path, [("dualflow.tensor:{not json", ones)]))


def test_files_of_the_older_format_still_load(tmp_path):
    path = _crafted(tmp_path, [("tensor:cpu", np.arange(3.0))])
    got = torch.load(path)
    assert isinstance(got[0], torch.Tensor) and got[0].tolist() == [0.0, 1.0, 2.0]


def test_save_into_a_missing_folder_raises_as_torch(tmp_path):
    with pytest.raises(RuntimeError, match=f"Parent directory {tmp_path / 'nope'} does not exist."):
        torch.save({"a": torch.ones(2)}, tmp_path / "nope" / "x.pt")
    with pytest.raises(FileNotFoundError, match="the folder .*nope does not exist"):
        ckpt.atomic_write(tmp_path / "nope" / "x.bin", lambda f: f.write(b"x"))
    assert not (tmp_path / "nope").exists()
