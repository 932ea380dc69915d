"""Parity with PyTorch 2.13 for tests/test_torch_reductions_and_save.py: the same calls on both, values and
dtypes compared (NaN where PyTorch has NaN)."""
import io
import warnings

import numpy as np
import pytest

import eager_api

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.reference
NAN = float("nan")

CASES = {
    "var_correction_3": lambda t: t.tensor([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]]).var(dim=1, correction=3),
    "std_correction_3": lambda t: t.tensor([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]]).std(dim=1, correction=3),
    "sum_empty_dim": lambda t: t.tensor([[1.0, 2.0], [3.0, 4.5]]).sum(dim=()),
    "mean_empty_list": lambda t: t.tensor([[1.0, 2.0], [3.0, 4.5]]).mean(dim=[]),
    "amax_empty_dim": lambda t: t.tensor([[1.0, 2.0], [3.0, 4.5]]).amax(dim=()),
    "any_empty_dim": lambda t: (t.tensor([[1.0, 2.0], [3.0, 0.0]]) > 1).any(dim=()),
    "narrow_negative": lambda t: t.arange(12).reshape(3, 4).narrow(1, -3, 2),
    "embedding_padding": lambda t: t.nn.functional.embedding(t.tensor([0, 2, 1, 2]), t.arange(12.0).reshape(4, 3),
                                                             padding_idx=2),
    "topk_nan": lambda t: t.tensor([1.0, NAN, 3.0, 2.0, NAN]).topk(3)[1],
    "topk_smallest_nan": lambda t: t.tensor([1.0, NAN, 3.0, 2.0, NAN]).topk(3, largest=False)[1],
    "sort_descending_nan": lambda t: t.tensor([[1.0, NAN, 3.0], [NAN, 2.0, NAN]]).sort(dim=1, descending=True)[1],
    "sum_int8": lambda t: t.tensor([100, 100, 50], dtype=t.int8).sum(),
    "sum_int8_in_int8": lambda t: t.tensor([100, 100, 50], dtype=t.int8).sum(dtype=t.int8),
    "prod_in_int16": lambda t: t.tensor([100, 100, 50], dtype=t.int8).prod(dtype=t.int16),
    "cumsum_in_int8": lambda t: t.tensor([100, 100, 50], dtype=t.int8).cumsum(0, dtype=t.int8),
    "cumprod_in_int8": lambda t: t.tensor([100, 100, 50], dtype=t.int8).cumprod(0, dtype=t.int8),
    "sum_uint8": lambda t: t.tensor([200, 100, 0], dtype=t.uint8).sum(),
    "any_uint8": lambda t: t.tensor([[200, 0], [0, 0]], dtype=t.uint8).any(1),
    "all_uint8": lambda t: t.tensor([200, 100, 0], dtype=t.uint8).all(),
    "median_int": lambda t: t.tensor([3, 1, 2, 5]).median(),
    "sign_nan": lambda t: t.tensor([1.0, NAN, -3.0, 0.0]).sign(),
    "square_bool": lambda t: t.tensor([True, False]).square(),
    "circular_pad_negative": lambda t: t.nn.functional.pad(t.arange(5.0).reshape(1, 1, 5), (-1, 2), mode="circular"),
    "circular_pad_negative_2": lambda t: t.nn.functional.pad(t.arange(5.0).reshape(1, 1, 5), (2, -1),
                                                             mode="circular"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got, want = CASES[name](eager_api), CASES[name](torch)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_save_load_shares_storage_as_torch():
    def round_trip(t):
        a = t.arange(6.0)
        p = t.nn.Parameter(t.ones(3))
        buf = io.BytesIO()
        t.save({"a": a, "a2": a, "tail": a[2:], "t": a.reshape(2, 3).t(), "p": p, "p2": p}, buf)
        buf.seek(0)
        got = t.load(buf)
        with t.no_grad():
            got["a"][3] = 100.0
        return ([got["tail"].tolist(), got["t"].tolist()], got["a"] is got["a2"], got["p"] is got["p2"],
                type(got["p"]).__name__, got["p"].requires_grad)
    assert round_trip(eager_api) == round_trip(torch)
