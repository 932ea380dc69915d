"""Parity with PyTorch 2.13 for the conventions in tests/test_torch_conventions.py: softmax's implicit dimension
and its warning, in-place dropout's identity and autograd rules, torch.tensor's dtype for NumPy scalars and
lists of them, and the types default_collate, default_convert and the DataLoader hand over."""
import collections
import warnings

import numpy as np
import pytest

import eager_api
from eager_api.utils import data as eager_data

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.reference

X = np.random.default_rng(4).standard_normal((2, 3, 4, 5)).astype(np.float32)


def _caught(fn):
    """fn()'s result and the (category, message, file) of each warning it gave."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = fn()
    return out, [(w.category, str(w.message), w.filename) for w in record]


@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_implicit_softmax_dim_values_and_warning_match_torch(name, ndim):
    a = X[(0,) * (4 - ndim)]
    got, got_warnings = _caught(lambda: getattr(eager_api.nn.functional, name)(eager_api.tensor(a)))
    want, want_warnings = _caught(lambda: getattr(torch.nn.functional, name)(torch.tensor(a)))
    assert got_warnings == want_warnings and got_warnings[0][2] == __file__
    assert got.shape == tuple(want.shape) and str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("module", ["Softmax", "LogSoftmax", "Softmin"])
def test_softmax_modules_without_dim_match_torch(module):
    a = X[0]
    got, got_warnings = _caught(lambda: getattr(eager_api.nn, module)()(eager_api.tensor(a)))
    want, want_warnings = _caught(lambda: getattr(torch.nn, module)()(torch.tensor(a)))
    # The same warning, pointing inside each library's module code.
    assert [w[:2] for w in got_warnings] == [w[:2] for w in want_warnings]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=2e-6, atol=1e-7)


def test_softmax_dtype_argument_matches_torch():
    got = eager_api.nn.functional.log_softmax(eager_api.tensor(X[0]), 1, dtype=eager_api.float64)
    want = torch.nn.functional.log_softmax(torch.tensor(X[0]), 1, dtype=torch.float64)
    assert want.dtype == torch.float64 and got.dtype == np.float64
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


_DROPOUTS = [("dropout", (4, 6, 5)), ("dropout1d", (4, 6, 5)), ("dropout1d", (6, 5)), ("dropout2d", (4, 6, 3, 5))]


def _inplace_dropout_story(lib, name, shape):
    """What in-place dropout does, in terms that do not depend on the random stream (seeded all the same: with
    six channels, all kept has odds 1/64, which made the story flaky)."""
    lib.manual_seed(1)
    fn = getattr(lib.nn.functional, name)
    story = {}
    leaf = lib.ones(*shape, requires_grad=True)
    try:
        fn(leaf, 0.5, True, True)
        story["leaf"] = None
    except RuntimeError as e:
        story["leaf"] = str(e)
    with lib.no_grad():
        story["no_grad_returns_input"] = fn(leaf, 0.5, True, True) is leaf
    story["no_grad_values"] = sorted(set(np.unique(leaf.detach().numpy()).tolist()))
    x = lib.ones(*shape, requires_grad=True)
    h = x * 2
    story["returns_input"] = fn(h, 0.5, True, True) is h
    h.sum().backward()
    story["grad_is_output"] = bool((x.grad.numpy() == h.detach().numpy()).all())
    ones = lib.ones(*shape)
    story["eval_and_p0_return_input"] = fn(ones, 0.5, False, True) is ones and fn(ones, 0.0, True, True) is ones
    story["p1_returns_input"] = fn(ones, 1.0, True, True) is ones
    story["p1_values"] = np.unique(ones.numpy()).tolist()
    base = lib.ones(3, *shape)
    fn(base[1], 0.5, True, True)
    story["view_writes_base"] = (sorted(set(np.unique(base.numpy()[1]).tolist())),
                                 bool((base.numpy()[[0, 2]] == 1).all()))
    return story


@pytest.mark.parametrize("name, shape", _DROPOUTS)
def test_inplace_dropout_matches_torch(name, shape):
    assert _inplace_dropout_story(eager_api, name, shape) == _inplace_dropout_story(torch, name, shape)


def test_dropout2d_on_3d_input_warns_and_drops_per_sample_and_channel_as_torch():
    def story(lib):
        y, caught = _caught(lambda: lib.nn.functional.dropout2d(lib.ones(8, 50, 7), 0.5, True))
        y = y.numpy()
        return [w[:2] for w in caught], bool((y == y[:, :, :1]).all()), all(len(np.unique(r)) == 2 for r in y[:, :, 0])
    assert story(eager_api) == story(torch)


_DATA = {
    "f64": np.float64(1.5), "f32": np.float32(1.5), "f16": np.float16(1.5), "i32": np.int32(3), "i8": np.int8(3),
    "u8": np.uint8(3), "i64": np.int64(3), "bool_": np.bool_(True),
    "[f64]": [np.float64(1.5)], "[f64,f64]": [np.float64(1.5), np.float64(2.5)], "[f32]": [np.float32(1.5)],
    "[f16]": [np.float16(1.5)], "[i32,i32]": [np.int32(3), np.int32(4)], "[u8]": [np.uint8(3)],
    "[bool_]": [np.bool_(True)], "[f64,1]": [np.float64(1.5), 1], "[1,f64]": [1, np.float64(1.5)],
    "[f32,1.0]": [np.float32(1.5), 1.0], "[1.0,f32]": [1.0, np.float32(1.5)], "[i32,1]": [np.int32(3), 1],
    "[i32,1.5]": [np.int32(3), 1.5], "[i32,f32]": [np.int32(3), np.float32(1)], "[i32,i64]": [np.int32(3), np.int64(1)],
    "[i8,u8]": [np.int8(3), np.uint8(1)], "[f16,f32]": [np.float16(3), np.float32(1)],
    "[True,bool_]": [True, np.bool_(True)], "[bool_,f32]": [np.bool_(True), np.float32(2)],
    "[[f64],[f64]]": [[np.float64(1)], [np.float64(2)]], "[f64,True]": [np.float64(1.5), True],
    "(f64,)": (np.float64(1.5),), "[f64,c128]": [np.float64(1), np.complex128(1j)], "[1j,f32]": [1j, np.float32(1)],
    "[1,2.5]": [1, 2.5], "[]": [], "[[],[]]": [[], []],
}


def _dtype_and_values(lib, data):
    t = lib.tensor(data)
    return str(t.dtype).replace("torch.", ""), t.tolist()


@pytest.mark.parametrize("key", list(_DATA))
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_tensor_dtype_of_numpy_scalars_matches_torch(key, default):
    got = want = None
    try:
        for lib in (eager_api, torch):
            lib.set_default_dtype(getattr(lib, default))
        got, want = _dtype_and_values(eager_api, _DATA[key]), _dtype_and_values(torch, _DATA[key])
    finally:
        for lib in (eager_api, torch):
            lib.set_default_dtype(lib.float32)
    assert got == want


Point = collections.namedtuple("Point", "x label")


def _plain(batch):
    """A batch as nested plain data: tensors as (dtype name, shape, values), containers as (type, items)."""
    if isinstance(batch, (eager_api.Tensor, torch.Tensor)):
        return str(batch.dtype).replace("torch.", ""), tuple(batch.shape), batch.tolist()
    if isinstance(batch, dict):
        return type(batch).__name__, {k: _plain(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch).__name__, [_plain(v) for v in batch]
    return batch


_BATCHES = {
    "tuple": lambda lib: [(1, 2.5), (3, 4.5)],
    "list": lambda lib: [[1, 2.5], [3, 4.5]],
    "namedtuple": lambda lib: [Point(1, "x"), Point(2, "y")],
    "dict": lambda lib: [{"a": 1, "s": "x"}, {"a": 2, "s": "y"}],
    "nested": lambda lib: [({"a": (1, np.float32(2))}, [np.array([1, 2], np.int32)]),
                           ({"a": (3, np.float32(4))}, [np.array([3, 4], np.int32)])],
    "str": lambda lib: ["a", "b"], "bytes": lambda lib: [b"a", b"b"],
    "float": lambda lib: [1.5, 2.5], "int": lambda lib: [1, 2], "bool": lambda lib: [True, False],
    "np_f32": lambda lib: [np.float32(1), np.float32(2)], "np_u8": lambda lib: [np.uint8(1), np.uint8(2)],
    "np_bool": lambda lib: [np.bool_(True), np.bool_(False)], "np_f64": lambda lib: [np.float64(1), np.float64(2)],
    "np_arr": lambda lib: [np.ones(2), np.zeros(2)],
    "np_arr0": lambda lib: [np.array(1, np.int32), np.array(2, np.int32)],
    "tensors": lambda lib: [lib.ones(2), lib.zeros(2)],
    "tensor_and_name": lambda lib: [(lib.ones(2), "img0.png"), (lib.zeros(2), "img1.png")],
    "ragged": lambda lib: [(1, 2), (1,)],
    "none": lambda lib: [None, None],
    "str_arrays": lambda lib: [np.array(["a"]), np.array(["b"])],
}


def _outcome(fn):
    try:
        return _plain(fn())
    except (RuntimeError, TypeError) as e:
        return type(e).__name__, str(e)


@pytest.mark.parametrize("key", list(_BATCHES))
def test_default_collate_matches_torch(key):
    from torch.utils.data import default_collate
    assert _outcome(lambda: eager_data.default_collate(_BATCHES[key](eager_api))) == \
        _outcome(lambda: default_collate(_BATCHES[key](torch)))


@pytest.mark.parametrize("key", ["tuple", "namedtuple", "dict", "nested", "np_f32", "np_arr", "tensor_and_name"])
def test_default_convert_matches_torch(key):
    from torch.utils.data import default_convert
    assert _outcome(lambda: eager_data.default_convert(_BATCHES[key](eager_api)[0])) == \
        _outcome(lambda: default_convert(_BATCHES[key](torch)[0]))


def _loader_batches(lib, module):
    class Images(module.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return lib.ones(2) * i, f"img{i}.png", float(i), {"label": i}

    tensors = module.TensorDataset(lib.ones(4, 2), lib.arange(4))
    return [_plain(list(module.DataLoader(Images(), batch_size=3))),
            _plain(list(module.DataLoader(tensors, batch_size=3))),
            _plain(list(module.DataLoader(tensors, batch_size=None)))]


def test_dataloader_batches_match_torch():
    assert _loader_batches(eager_api, eager_data) == _loader_batches(torch, torch.utils.data)
