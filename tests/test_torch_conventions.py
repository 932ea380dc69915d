"""PyTorch's conventions where dualflow used to differ silently: softmax's implicit dimension, in-place dropout,
the dtype of NumPy scalars in torch.tensor, and default_collate's output types.  Values written out here or
computed with NumPy; tests/test_reference_torch_conventions.py checks the same against PyTorch itself."""
import collections
import warnings

import numpy as np
import pytest

import eager_api as torch
from eager_api.utils.data import DataLoader, Dataset, TensorDataset, default_collate, default_convert

F = torch.nn.functional
X = np.random.default_rng(3).standard_normal((2, 3, 4, 5)).astype(np.float32)


def _implicit(name):
    return f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument."


def _np_softmax(a, dim):
    e = np.exp(a - a.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


# ndim -> the dim PyTorch picks when none is given: 0 for 0-, 1- and 3-D inputs, else 1 (never the last).
@pytest.mark.parametrize("ndim, dim", [(0, 0), (1, 0), (2, 1), (3, 0), (4, 1)])
def test_softmax_without_dim_picks_pytorchs_dim_and_warns(ndim, dim):
    a = X[(0,) * (4 - ndim)].astype(np.float64)
    x = torch.tensor(a)
    want = _np_softmax(a, dim)
    cases = [("softmax", F.softmax, want), ("log_softmax", F.log_softmax, np.log(want)),
             ("softmin", F.softmin, _np_softmax(-a, dim))]
    for name, fn, expected in cases:
        with pytest.warns(UserWarning, match=_implicit(name)) as record:
            got = fn(x)
        assert len(record) == 1 and record[0].filename == __file__      # points at the caller, as PyTorch's
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_softmax_modules_without_dim_follow_the_functional():
    x = torch.tensor(X[0])          # 3-D: dim 0, not the last dim the modules used before
    for module, name, want in [(torch.nn.Softmax(), "softmax", _np_softmax(X[0], 0)),
                               (torch.nn.LogSoftmax(), "log_softmax", np.log(_np_softmax(X[0], 0))),
                               (torch.nn.Softmin(), "softmin", _np_softmax(-X[0], 0))]:
        with pytest.warns(UserWarning, match=_implicit(name)):
            got = module(x)
        np.testing.assert_allclose(got.numpy(), want, rtol=2e-6, atol=1e-7)


def test_softmax_with_a_dim_is_silent_and_takes_a_dtype():
    x = torch.tensor(X[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.softmax(x, -1)
        z = F.log_softmax(x, 2, dtype=torch.float64)
        w = F.softmin(x, dim=1, dtype=torch.float64)
    np.testing.assert_allclose(y.numpy(), _np_softmax(X[0], 2), rtol=2e-6, atol=1e-7)
    assert z.dtype == torch.float64 and w.dtype == torch.float64
    a = X[0].astype(np.float64)
    np.testing.assert_allclose(z.numpy(), np.log(_np_softmax(a, 2)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), _np_softmax(-a, 1), rtol=1e-12, atol=1e-12)


def test_softmax_of_a_scalar_is_one_and_passes_the_gradient():
    x = torch.tensor(2.0, requires_grad=True)
    y = F.softmax(x, 0)
    assert y.shape == () and y.item() == 1.0 and F.log_softmax(x, -1).item() == 0.0
    y.backward()
    assert x.grad.item() == 0.0


_DROPOUTS = [  # (function, input shape, how many leading dims get their own keep/drop draw)
    (F.dropout, (4, 6, 5), 3),
    (F.dropout1d, (4, 6, 5), 2),
    (F.dropout1d, (6, 5), 1),
    (F.dropout2d, (4, 6, 3, 5), 2),
]


@pytest.mark.parametrize("fn, shape, drawn", _DROPOUTS)
def test_inplace_dropout_writes_the_same_draw_into_its_input(fn, shape, drawn):
    torch.manual_seed(11)
    want = fn(torch.ones(*shape), 0.5, True).numpy()
    torch.manual_seed(11)
    x = torch.ones(*shape)
    assert fn(x, 0.5, True, True) is x
    np.testing.assert_array_equal(x.numpy(), want)
    assert set(np.unique(want)) == {0.0, 2.0}
    np.testing.assert_array_equal(want, np.broadcast_to(want[(...,) + (slice(0, 1),) * (len(shape) - drawn)], shape))


@pytest.mark.parametrize("fn, shape, drawn", _DROPOUTS)
def test_inplace_dropout_follows_the_autograd_rules_of_inplace_ops(fn, shape, drawn):
    leaf = torch.ones(*shape, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place "
                                           "operation."):
        fn(leaf, 0.5, True, True)
    with torch.no_grad():
        assert fn(leaf, 0.5, True, True) is leaf
    assert set(np.unique(leaf.detach().numpy())) <= {0.0, 2.0}
    x = torch.ones(*shape, requires_grad=True)
    h = x * 2
    assert fn(h, 0.5, True, True) is h
    h.sum().backward()
    # d(sum)/dx = 2 * mask / (1 - p): 4 where kept, 0 where dropped, which is h itself.
    np.testing.assert_array_equal(x.grad.numpy(), h.detach().numpy())


def test_inplace_dropout_into_a_view_writes_the_base():
    base = torch.ones(3, 8)
    torch.manual_seed(5)
    F.dropout(base[1], 0.5, True, True)
    row = base.numpy()[1]
    assert set(np.unique(row)) == {0.0, 2.0} and (base.numpy()[[0, 2]] == 1.0).all()


@pytest.mark.parametrize("fn, shape, drawn", _DROPOUTS)
def test_inplace_dropout_off_or_certain_changes_nothing_or_zeroes(fn, shape, drawn):
    x = torch.ones(*shape)
    assert fn(x, 0.5, False, True) is x and fn(x, 0.0, True, True) is x
    assert (x.numpy() == 1.0).all()
    assert fn(x, 1.0, True, True) is x and (x.numpy() == 0.0).all()
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        fn(x, 1.5, True, True)


def test_dropout2d_reads_a_3d_input_as_n_c_l_with_pytorchs_warning():
    x = torch.ones(8, 50, 7)
    with pytest.warns(UserWarning, match=r"dropout2d: Received a 3D input to dropout2d and assuming that "
                                         r"channel-wise 1D dropout behavior is desired - input is interpreted as "
                                         r"shape \(N, C, L\)"):
        y = F.dropout2d(x, 0.5, True).numpy()
    assert (y == y[:, :, :1]).all()
    # One draw per (sample, channel): the channels of one sample differ (one draw per sample would not).
    assert all(len(np.unique(y[n, :, 0])) == 2 for n in range(8))


# data -> (dtype torch.tensor gives it, its values): NumPy scalars keep their dtype; lists promote their items'
# dtypes as tensors do (a Python int is int64, a float the default dtype, floats win over integers).
_TENSOR_DTYPES = [
    (np.float64(1.5), np.float64, 1.5),
    (np.float32(1.5), np.float32, 1.5),
    (np.float16(1.5), np.float16, 1.5),
    (np.int32(3), np.int32, 3),
    (np.uint8(3), np.uint8, 3),
    (np.int8(-3), np.int8, -3),
    (np.bool_(True), np.bool_, True),
    ([np.float64(1.5)], np.float64, [1.5]),
    ((np.float64(1.5), np.float64(2.5)), np.float64, [1.5, 2.5]),
    ([np.float16(1.5)], np.float16, [1.5]),
    ([np.int32(3), np.int32(4)], np.int32, [3, 4]),
    ([np.bool_(True), np.bool_(False)], np.bool_, [True, False]),
    ([[np.float64(1.0)], [np.float64(2.0)]], np.float64, [[1.0], [2.0]]),
    ([np.float64(1.5), 1], np.float64, [1.5, 1.0]),
    ([1, np.float64(1.5)], np.float64, [1.0, 1.5]),
    ([np.float32(1.5), 1.0], np.float32, [1.5, 1.0]),
    ([np.int32(3), 1], np.int64, [3, 1]),
    ([np.int32(3), 1.5], np.float32, [3.0, 1.5]),
    ([np.int32(3), np.float32(1.0)], np.float32, [3.0, 1.0]),
    ([np.int8(3), np.uint8(1)], np.int16, [3, 1]),
    ([np.float16(3), np.float32(1)], np.float32, [3.0, 1.0]),
    ([True, np.bool_(True)], np.bool_, [True, True]),
    ([np.bool_(True), np.float32(2)], np.float32, [1.0, 2.0]),
    ([np.float64(1.5), True], np.float64, [1.5, 1.0]),
    ([np.float64(1.0), np.complex64(1j)], np.complex128, [1.0, 1j]),
    ([1j, np.float32(1.0)], np.complex64, [1j, 1.0]),
    ([1.5, 2], np.float32, [1.5, 2.0]),
    ([1, True], np.int64, [1, 1]),
    ([], np.float32, []),
    ([[], []], np.float32, [[], []]),
]


@pytest.mark.parametrize("data, dtype, values", _TENSOR_DTYPES)
def test_tensor_of_numpy_scalars_keeps_pytorchs_dtype(data, dtype, values):
    t = torch.tensor(data)
    assert t.dtype == np.dtype(dtype) and t.tolist() == values


def test_tensor_dtype_of_items_follows_the_default_dtype_and_tensors():
    assert torch.tensor([torch.tensor(1, dtype=torch.int32)]).dtype == torch.int32
    assert torch.tensor([torch.tensor(1, dtype=torch.int32), 2]).dtype == torch.int64
    assert torch.as_tensor(np.float64(1.5)).dtype == torch.float64
    assert torch.tensor(np.float64(1.5), dtype=torch.float32).dtype == torch.float32
    assert torch.tensor(np.float64(1.5), requires_grad=True).requires_grad
    torch.set_default_dtype(torch.float64)
    try:
        assert torch.tensor([np.float32(1.5)]).dtype == torch.float32
        assert torch.tensor([np.float32(1.0), 1.0]).dtype == torch.float64   # the Python float is float64 now
        assert torch.tensor([1j]).dtype == np.complex128       # dualflow names no complex dtypes; NumPy does
    finally:
        torch.set_default_dtype(torch.float32)


Point = collections.namedtuple("Point", "x label")


def _collated(batch):
    """A batch as nested plain data: tensors as (dtype name, shape, values), containers as (type, items)."""
    if isinstance(batch, torch.Tensor):
        return str(batch.dtype), tuple(batch.shape), batch.tolist()
    if isinstance(batch, dict):
        return type(batch).__name__, {k: _collated(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch).__name__, [_collated(v) for v in batch]
    return batch


def test_default_collate_makes_pytorchs_types():
    assert _collated(default_collate([(1, 2.5), (3, 4.5)])) == \
        ("list", [("int64", (2,), [1, 3]), ("float64", (2,), [2.5, 4.5])])          # a tuple sample: a list
    assert _collated(default_collate([[1, 2.5], [3, 4.5]])) == \
        ("list", [("int64", (2,), [1, 3]), ("float64", (2,), [2.5, 4.5])])
    assert _collated(default_collate([Point(1, "a"), Point(2, "b")])) == \
        ("Point", [("int64", (2,), [1, 2]), ("tuple", ["a", "b"])])
    assert _collated(default_collate([{"y": 1, "name": "a"}, {"y": 2, "name": "b"}])) == \
        ("dict", {"y": ("int64", (2,), [1, 2]), "name": ("list", ["a", "b"])})
    assert default_collate(["a", "b"]) == ["a", "b"] and default_collate([b"a", b"b"]) == [b"a", b"b"]
    assert _collated(default_collate([True, False])) == ("bool", (2,), [True, False])
    assert _collated(default_collate([np.float32(1), np.float32(2)])) == ("float32", (2,), [1.0, 2.0])
    assert _collated(default_collate([np.uint8(1), np.uint8(2)])) == ("uint8", (2,), [1, 2])
    assert _collated(default_collate([np.array(1, np.int32), np.array(2, np.int32)])) == ("int32", (2,), [1, 2])
    assert _collated(default_collate([np.ones(2), np.zeros(2)])) == ("float64", (2, 2), [[1.0, 1.0], [0.0, 0.0]])
    nested = [({"a": (1, np.float32(2))}, [np.array([1, 2], np.int32)]),
              ({"a": (3, np.float32(4))}, [np.array([3, 4], np.int32)])]
    assert _collated(default_collate(nested)) == \
        ("list", [("dict", {"a": ("list", [("int64", (2,), [1, 3]), ("float32", (2,), [2.0, 4.0])])}),
                  ("list", [("int32", (2, 2), [[1, 2], [3, 4]])])])


def test_default_collate_refuses_what_pytorch_refuses():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors, numpy arrays, numbers, "
                                        "dicts or lists; found <class 'NoneType'>"):
        default_collate([None, None])
    with pytest.raises(TypeError, match="found <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_default_convert_turns_numpy_into_tensors_and_tuples_into_lists():
    assert _collated(default_convert((1, np.float32(2.5), np.ones(2, np.int32), "s"))) == \
        ("list", [1, ("float32", (), 2.5), ("int32", (2,), [1, 1]), "s"])
    assert _collated(default_convert(Point(np.int8(1), "a"))) == ("Point", [("int8", (), 1), "a"])
    assert _collated(default_convert({"k": np.zeros(1)})) == ("dict", {"k": ("float64", (1,), [0.0])})
    words = np.array(["a"])
    assert default_convert(words) is words


class _Images(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return torch.ones(2) * i, f"img{i}.png", float(i)


def test_dataloader_batches_are_lists_with_strings_as_strings():
    batch = next(iter(DataLoader(_Images(), batch_size=2)))
    assert _collated(batch) == ("list", [("float32", (2, 2), [[0.0, 0.0], [1.0, 1.0]]),
                                         ("tuple", ["img0.png", "img1.png"]), ("float64", (2,), [0.0, 1.0])])
    assert [name + ".txt" for name in batch[1]] == ["img0.png.txt", "img1.png.txt"]
    ds = TensorDataset(torch.ones(4, 2), torch.arange(4))
    assert _collated(next(iter(DataLoader(ds, batch_size=3)))) == \
        ("list", [("float32", (3, 2), [[1.0, 1.0]] * 3), ("int64", (3,), [0, 1, 2])])
    assert _collated(next(iter(DataLoader(ds, batch_size=None)))) == \
        ("list", [("float32", (2,), [1.0, 1.0]), ("int64", (), 0)])
