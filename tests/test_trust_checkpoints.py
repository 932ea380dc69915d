"""Loading a checkpoint from an untrusted file never runs code, never exhausts memory, and saving never
publishes a broken file; restores are all-or-nothing where the brief asks, PyTorch's rule where it differs."""
import io
import json
import multiprocessing
import os
import struct
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import eager_api as torch
import static_api as tf
from core import checkpoint
from core.checkpoint import CheckpointError
from eager_api import nn
from static_api.errors import InvalidArgumentError, NotFoundError
from tests.conftest import gpu_reason


# ----- crafting files ------------------------------------------------------------------------------
def _npy(arr=None, *, shape=None, descr="<f4", data=None) -> bytes:
    """An .npy entry: a real array, or a header declaring ``shape`` followed by ``data`` bytes."""
    buf = io.BytesIO()
    if arr is not None:
        np.lib.format.write_array(buf, arr, allow_pickle=False)
        return buf.getvalue()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + data


def _meta(meta_text: str) -> bytes:
    return _npy(np.frombuffer(meta_text.encode(), np.uint8))


def _tree_meta(obj) -> str:
    return json.dumps({"format": checkpoint.MAGIC, "meta": {"frontend": "eager", "object": obj}})


def _zip(path, entries: dict, compress=zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        for name, data in entries.items():
            z.writestr(name + ".npy", data)


def _one_array_file(path, entry: bytes, compress=zipfile.ZIP_STORED) -> None:
    _zip(path, {"a0": entry, "__dualflow_meta__": _meta(_tree_meta({"__leaf__": ["array", "a0"]}))}, compress)


# ----- 1. keras.models.load_model: registry, config checks, sizes from the file -----------------------
def _saved_tree(tmp_path):
    """The tree Model.save writes for Input(3) -> Dense(2): edited below into crafted files."""
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2, name="d")])
    model.save(str(tmp_path / "good.keras"))
    tree, frontend = checkpoint.load_tree(tmp_path / "good.keras")
    assert frontend == "keras-model"
    return tree


def _crafted(tmp_path, tree, name="crafted.keras") -> str:
    path = str(tmp_path / name)
    checkpoint.save_tree(path, tree, "keras-model")
    return path


def test_load_model_builds_layers_from_the_file_weights(tmp_path):
    tree = _saved_tree(tmp_path)
    kernel = np.arange(6, dtype=np.float32).reshape(3, 2)
    tree["weights"] = [kernel, np.array([10.0, 20.0], np.float32)]
    model = tf.keras.models.load_model(_crafted(tmp_path, tree))
    # [1, 1, 1] @ kernel = [0+2+4, 1+3+5], plus the bias
    np.testing.assert_array_equal(model.predict(np.ones((1, 3), np.float32)), [[16.0, 29.0]])


def test_load_model_checks_declared_sizes_before_allocating(tmp_path):
    tree = _saved_tree(tmp_path)
    tree["inputs"][0]["shape"] = [4000]
    tree["layers"][0]["config"]["units"] = 4000       # a 64 MB kernel declared, 2 tiny weights stored
    path = _crafted(tmp_path, tree)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"weight 'd/kernel' of shape \(4000, 4000\).*\(3, 2\)"):
            tf.keras.models.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"{peak} bytes allocated before the sizes were checked"


def test_load_model_rejects_weight_counts_that_do_not_match(tmp_path):
    tree = _saved_tree(tmp_path)
    tree["weights"].append(np.zeros(1, np.float32))
    with pytest.raises(CheckpointError, match="holds 3 weights but the model's layers use 2"):
        tf.keras.models.load_model(_crafted(tmp_path, tree))
    tree["weights"] = tree["weights"][:1]
    with pytest.raises(CheckpointError, match="'d/bias'.*holds only 1 weights"):
        tf.keras.models.load_model(_crafted(tmp_path, tree))


@pytest.mark.parametrize("cls, config", [
    ("Variable", {"initial_value": [1.0], "name": "planted"}),    # any attribute of the layers module ran
    ("Input", {"shape": [3], "name": "planted"}),
    ("Layer", {"name": "planted"}),
    ("InputLayer", {"placeholder": None, "name": "planted"}),
    ("_Merge", {"name": "planted"}),
    ({"__list__": []}, {"name": "planted"}),
])
def test_load_model_accepts_only_registered_layer_classes(tmp_path, cls, config):
    tree = _saved_tree(tmp_path)
    tree["layers"][0].update({"class": cls, "config": config})
    path = _crafted(tmp_path, tree)
    tf.reset_default_graph()
    with pytest.raises(CheckpointError, match="Could not locate class"):
        tf.keras.models.load_model(path)
    assert not [op for op in tf.get_default_graph().get_operations() if "planted" in op.name]


@pytest.mark.parametrize("edit, match", [
    ({"units": "2"}, "'units' = '2' is not of type int"),
    ({"units": 2.5}, "'units' = 2.5 is not of type int"),
    ({"units": True}, "'units' = True is not of type int"),
    ({"use_bias": 1}, "'use_bias' = 1 is not of type bool"),
    ({"kernel_size": 3}, r"has no argument\(s\) \['kernel_size'\]"),
    ({"activation": {"__list__": [1]}}, None),      # a list is plain data, but not an activation name
    ({"name": ["d"]}, "'name' = \\['d'\\] is not of type"),
])
def test_load_model_checks_each_config_field(tmp_path, edit, match):
    tree = _saved_tree(tmp_path)
    tree["layers"][0]["config"].update(edit)
    with pytest.raises(CheckpointError, match=match):
        tf.keras.models.load_model(_crafted(tmp_path, tree))


def test_load_model_rejects_arrays_and_missing_arguments_in_configs(tmp_path):
    tree = _saved_tree(tmp_path)
    tree["layers"][0]["config"]["units"] = np.array(2)      # a leaf array where a number belongs
    with pytest.raises(CheckpointError, match="'units'"):
        tf.keras.models.load_model(_crafted(tmp_path, tree))
    del tree["layers"][0]["config"]["units"]
    with pytest.raises(CheckpointError, match=r"lacks required argument\(s\) \['units'\]"):
        tf.keras.models.load_model(_crafted(tmp_path, tree))


@pytest.mark.parametrize("edit, match", [
    (lambda t: t["layers"][0].update(inbound=[-1]), "inbound"),
    (lambda t: t["layers"][0].update(inbound=[5]), "inbound"),
    (lambda t: t.update(output=7), "output 7"),
    (lambda t: t["inputs"][0].update(dtype="object"), "input dtype 'object'"),
    (lambda t: t["inputs"][0].update(shape=[-3]), "input shape"),
    (lambda t: t.update(extra=1), "expected the entries"),
    (lambda t: t.update(weights=[np.array(["a", "b"])]), "not a numeric array"),
    (lambda t: t.update(compile={"optimizer": {"name": "os.system"}, "loss": {}, "metrics": []}), "compile"),
])
def test_load_model_checks_the_model_structure(tmp_path, edit, match):
    tree = _saved_tree(tmp_path)
    edit(tree)
    with pytest.raises(CheckpointError, match=match):
        tf.keras.models.load_model(_crafted(tmp_path, tree))


class Scale(tf.keras.layers.Layer):
    """A user layer: x * factor."""

    def __init__(self, factor: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.factor = factor

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}

    def call(self, x, training):
        return x * self.factor


def test_load_model_takes_user_classes_from_custom_objects(tmp_path):
    model = tf.keras.Sequential([tf.keras.Input((2,)), Scale(3.0)])
    path = str(tmp_path / "scale.keras")
    model.save(path)
    tf.reset_default_graph()
    with pytest.raises(CheckpointError, match="Could not locate class 'Scale'"):
        tf.keras.models.load_model(path)
    loaded = tf.keras.models.load_model(path, custom_objects={"Scale": Scale})
    np.testing.assert_array_equal(loaded.predict(np.array([[1.0, 2.0]], np.float32)), [[3.0, 6.0]])
    with pytest.raises(CheckpointError, match="not a keras Layer subclass"):
        tf.keras.models.load_model(path, custom_objects={"Scale": print})


# ----- 2. decompression and declared-size bombs ------------------------------------------------------
def test_deflate_bomb_is_refused_from_the_zip_directory(tmp_path):
    path = tmp_path / "bomb.pt"
    zeros = np.zeros(1 << 20, np.float32)                    # 4 MiB of zeros deflate to ~4 KiB
    _one_array_file(path, _npy(zeros), zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 64 << 10
    with pytest.raises(CheckpointError, match=r"bomb.pt'.*entry 'a0.npy'.*more than 100 times"):
        torch.load(path)


def test_header_declaring_a_huge_shape_is_refused_before_allocating(tmp_path):
    path = tmp_path / "shape.pt"
    _one_array_file(path, _npy(shape=(10 ** 12,), data=b"\0" * 8))
    with pytest.raises(CheckpointError, match=r"entry 'a0'.*shape \(1000000000000,\).*holds 8 bytes"):
        torch.load(path)
    _one_array_file(path, _npy(shape=(-2, -2), data=b"\0" * 16))        # negative sizes multiply to 16
    with pytest.raises(CheckpointError, match=r"shape \(-2, -2\)"):
        torch.load(path)


def test_zip_directory_that_lies_about_sizes_is_refused(tmp_path):
    path = tmp_path / "lie.pt"
    _one_array_file(path, _npy(np.arange(4, dtype=np.float32)), zipfile.ZIP_DEFLATED)
    raw = bytearray(path.read_bytes())
    at = raw.index(b"PK\x01\x02")                   # the first central-directory record (entry a0.npy)
    struct.pack_into("<I", raw, at + 24, 0xFFFFFF00)  # its uncompressed size: ~4 GiB
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="entry 'a0.npy'.*4294967040 uncompressed"):
        torch.load(path)
    _one_array_file(path, _npy(np.arange(4, dtype=np.float32)))
    raw = bytearray(path.read_bytes())
    struct.pack_into("<I", raw, raw.index(b"PK\x01\x02") + 24, 1 << 30)
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="declares 1073741824 bytes but stores"):
        torch.load(path)


def test_total_size_cap_is_configurable(tmp_path, monkeypatch):
    path = tmp_path / "big.pt"
    torch.save({"w": torch.zeros(1000)}, path)                      # 4000 bytes of data
    assert torch.load(path)["w"].shape == (1000,)
    monkeypatch.setenv("DUALFLOW_CHECKPOINT_MAX_BYTES", "2000")
    with pytest.raises(CheckpointError, match=r"entry 'a0.npy'.*over the 2000-byte limit.*MAX_BYTES"):
        torch.load(path)
    with pytest.raises(CheckpointError, match="2000-byte limit"):
        checkpoint.load(path)
    assert checkpoint.load(path, cap=10_000)[0]["a0"].shape == (1000,)
    monkeypatch.setenv("DUALFLOW_CHECKPOINT_MAX_BYTES", "lots")
    with pytest.raises(ValueError, match="'lots' is not a whole number"):
        torch.load(path)


def test_deeply_nested_metadata_is_refused(tmp_path):
    path = tmp_path / "deep.pt"
    deep = "[" * 100_000 + "]" * 100_000
    _zip(path, {"__dualflow_meta__": _meta(_tree_meta(None)[:-2] + deep + "}}")})
    with pytest.raises(CheckpointError, match="'__dualflow_meta__'.*nests deeper than 200"):
        torch.load(path)
    # Brackets inside strings do not count; ~100 real levels still load.
    nested = {"__list__": ["[[[[{{{{"]}
    for _ in range(49):
        nested = {"__list__": [nested]}
    _zip(path, {"__dualflow_meta__": _meta(_tree_meta(nested))})
    out = torch.load(path)
    for _ in range(50):
        out = out[0]
    assert out == "[[[[{{{{"


@pytest.mark.parametrize("skeleton, match", [
    ({"__dict__": [[{"__list__": []}, 1]]}, "unhashable dict key"),
    ({"__leaf__": ["array", "a9"]}, "missing array 'a9'"),
    ({"__leaf__": [1, 2]}, "unexpected node '__leaf__'"),
    ({"__list__": [1], "x": 2}, "unexpected node with keys"),
    ({"__dict__": [[1]]}, "unexpected node '__dict__'"),
    ([1, 2], "a bare list"),
])
def test_malformed_structure_is_a_checkpoint_error(tmp_path, skeleton, match):
    path = tmp_path / "odd.pt"
    _zip(path, {"__dualflow_meta__": _meta(_tree_meta(skeleton))})
    with pytest.raises(CheckpointError, match=match):
        torch.load(path)


def test_object_dtype_entry_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "obj.pt"
    _one_array_file(path, _npy(shape=(1,), descr="|O", data=b"\0" * 8))
    with pytest.raises(CheckpointError, match="entry 'a0'.*Python objects"):
        torch.load(path)


# ----- 3. atomic, concurrent-safe writes -------------------------------------------------------------
def test_atomic_write_leaves_no_temp_file_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "f.bin"
    checkpoint.atomic_write(path, lambda f: f.write(b"old"))

    def fail(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")
    with pytest.raises(OSError, match="No space"):
        checkpoint.atomic_write(path, fail)
    assert os.listdir(tmp_path) == ["f.bin"] and path.read_bytes() == b"old"
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _failing_fsync(fd):
    raise OSError(5, "Input/output error")


def test_failed_saves_publish_nothing(tmp_path, monkeypatch):
    torch.save({"w": torch.ones(2)}, tmp_path / "m.pt")
    tf.reset_default_graph()
    v = tf.Variable(np.ones(2, np.float32), name="v")
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = saver.save(sess, str(tmp_path / "model"), global_step=1)
        monkeypatch.setattr(os, "fsync", _failing_fsync)        # the disk fails from here on
        with pytest.raises(OSError, match="Input/output"):
            torch.save({"w": torch.zeros(2)}, tmp_path / "m.pt")
        with pytest.raises(OSError, match="Input/output"):
            saver.save(sess, str(tmp_path / "model"), global_step=2)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "m.pt", "model-1.npz"]
    assert torch.load(tmp_path / "m.pt")["w"].tolist() == [1.0, 1.0]
    assert tf.train.latest_checkpoint(str(tmp_path)) == first


def _writer(path: str, ident: int, deadline: float) -> None:
    for _ in range(1000):
        torch.save({"id": ident, "w": torch.full((2000,), float(ident))}, path)
        if time.monotonic() > deadline:
            break


def _reader(path: str, deadline: float, queue) -> None:
    loads, bad = 0, []
    while time.monotonic() < deadline:
        try:
            d = torch.load(path)
            if not (d["w"] == float(d["id"])).all():
                bad.append(f"mixed contents for writer {d['id']}")
            loads += 1
        except Exception as exc:    # any failure to load is what this test looks for
            bad.append(f"{type(exc).__name__}: {exc}")
    queue.put((loads, bad[:3]))


def test_concurrent_saves_of_one_path_never_publish_a_broken_file(tmp_path):
    ctx = multiprocessing.get_context("fork")
    path = str(tmp_path / "shared.pt")
    _writer(path, 0, 0.0)
    queue, deadline = ctx.Queue(), time.monotonic() + 2.0       # three writers and a reader, for 2 s
    writers = [ctx.Process(target=_writer, args=(path, i, deadline)) for i in (1, 2, 3)]
    reader = ctx.Process(target=_reader, args=(path, deadline, queue))
    for p in writers + [reader]:
        p.start()
    loads, bad = queue.get(timeout=9)
    for p in writers + [reader]:
        p.join(timeout=9)
    assert [p.exitcode for p in writers] == [0, 0, 0], "a writer failed"
    assert bad == [] and loads > 0
    assert os.listdir(tmp_path) == ["shared.pt"]        # no temp file left behind


def test_saver_state_file_uses_tensorflows_name_and_format(tmp_path):
    tf.reset_default_graph()
    tf.Variable(np.ones(2, np.float32), name="v")
    saver = tf.train.Saver(max_to_keep=2)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in (1, 2, 3):
            saver.save(sess, str(tmp_path / "model"), global_step=step)
    assert (tmp_path / "checkpoint").read_text() == ('model_checkpoint_path: "model-3"\n'
                                                     'all_model_checkpoint_paths: "model-2"\n'
                                                     'all_model_checkpoint_paths: "model-3"\n')
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model-3")


@pytest.mark.parametrize("text, expected", [
    ("", ValueError),                                               # e.g. a writer killed mid-write
    ("   \n", ValueError),
    ('model_checkpoint_path: "mod', None),                          # unparsable: ignored, as TF does
    ("garbage {{{", None),
    ('model_checkpoint_path: "model-9"\n', None),                  # names a checkpoint that is gone
    ('model_checkpoint_path: "model-1"\nall_model_checkpoint_paths: "model-1"\n', "model-1"),
])
def test_latest_checkpoint_with_a_damaged_state_file(tmp_path, text, expected):
    (tmp_path / "model-1.npz").write_bytes(b"")
    (tmp_path / "checkpoint").write_text(text)
    if expected is ValueError:
        with pytest.raises(ValueError, match=f"Invalid checkpoint state loaded from {tmp_path}"):
            tf.train.latest_checkpoint(str(tmp_path))
    else:
        want = None if expected is None else str(tmp_path / expected)
        assert tf.train.latest_checkpoint(str(tmp_path)) == want
    assert tf.train.latest_checkpoint(str(tmp_path / "nowhere")) is None


@pytest.mark.reference
def test_latest_checkpoint_damaged_state_matches_tensorflow(tmp_path):
    tf_ref = pytest.importorskip("tensorflow").compat.v1
    for text in ("", 'model_checkpoint_path: "mod', 'model_checkpoint_path: "model-9"\n'):
        (tmp_path / "checkpoint").write_text(text)
        results = []
        for fn in (tf_ref.train.latest_checkpoint, tf.train.latest_checkpoint):
            try:
                results.append(fn(str(tmp_path)))
            except ValueError as exc:
                results.append(("ValueError", str(exc)))
        assert results[0] == results[1], text


# ----- 4. torch.save / torch.load: refusals, map_location, file objects --------------------------------
@pytest.mark.parametrize("obj, match", [
    ({"x": np.array([1, "a"], dtype=object)}, r"object\['x'\]: an array of Python objects"),
    ({"m": [1, object()]}, r"object\['m'\]\[1\], an object of type object"),
    (np.zeros(2, dtype=[("a", "O")]), "an array of Python objects"),
])
def test_save_refuses_what_load_would_refuse(tmp_path, obj, match):
    with pytest.raises(TypeError, match=match):
        torch.save(obj, tmp_path / "x.pt")
    assert os.listdir(tmp_path) == []
    buf = io.BytesIO()
    with pytest.raises(TypeError, match=match):
        torch.save(obj, buf)
    assert buf.getvalue() == b""


def test_save_and_load_through_file_objects(tmp_path):
    obj = {"w": torch.tensor([[1.0, 2.0]]), "step": 7, "names": ("a", "b")}
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    back = torch.load(buf)
    assert back["w"].tolist() == [[1.0, 2.0]] and back["step"] == 7 and back["names"] == ("a", "b")
    with open(tmp_path / "f.pt", "wb") as f:
        torch.save(obj, f)
    with open(tmp_path / "f.pt", "rb") as f:
        assert torch.load(f)["w"].tolist() == [[1.0, 2.0]]


def _saved_on(location: str) -> io.BytesIO:
    """A checkpoint whose tensor was saved on ``location`` (made by hand: this machine may have no GPU)."""
    buf = io.BytesIO()
    checkpoint.save_tree(buf, {"w": np.array([1.0, 2.0], np.float32)}, "eager",
                         lambda o: (f"tensor:{location}", o) if isinstance(o, np.ndarray) else None)
    buf.seek(0)
    return buf


def test_map_location_forms():
    seen = []
    out = torch.load(_saved_on("cuda:0"), map_location=lambda storage, loc: seen.append(loc) or storage)
    assert seen == ["cuda:0"] and str(out["w"].device) == "cpu" and out["w"].tolist() == [1.0, 2.0]
    for where in ({"cuda:0": "cpu"}, "cpu", torch.device("cpu")):
        assert str(torch.load(_saved_on("cuda:0"), map_location=where)["w"].device) == "cpu"
    # A callable returning None, or a dict without the saved device, restores to the saved device.
    assert str(torch.load(_saved_on("cpu"), map_location=lambda s, loc: None)["w"].device) == "cpu"
    assert str(torch.load(_saved_on("cpu"), map_location={"cuda:1": "cuda:0"})["w"].device) == "cpu"
    with pytest.raises(TypeError, match="must be a callable, a dict, a str or a torch.device, got int"):
        torch.load(_saved_on("cpu"), map_location=3)
    with pytest.raises(TypeError, match="must return a tensor or None, got str"):
        torch.load(_saved_on("cpu"), map_location=lambda s, loc: "cpu")


@pytest.mark.skipif(gpu_reason() is None, reason="a usable GPU loads cuda:0 tensors")
def test_tensor_saved_on_an_unusable_gpu_needs_map_location():
    with pytest.raises(RuntimeError, match=r"saved on 'cuda:0'.*map_location=torch.device\('cpu'\)"):
        torch.load(_saved_on("cuda:0"))


def test_saved_device_is_recorded_and_restored():
    buf = io.BytesIO()
    torch.save([torch.ones(1)], buf)
    buf.seek(0)
    seen = []
    torch.load(buf, map_location=lambda s, loc: seen.append(loc))
    assert seen == ["cpu"]


@pytest.mark.reference
def test_map_location_callable_matches_pytorch():
    real = pytest.importorskip("torch")
    results = []
    for lib in (real, torch):
        buf, seen = io.BytesIO(), []
        lib.save({"a": lib.ones(2), "b": [lib.zeros(1)]}, buf)
        buf.seek(0)
        out = lib.load(buf, map_location=lambda storage, loc: seen.append(loc) or storage)
        results.append((seen, out["a"].tolist(), out["b"][0].tolist()))
    assert results[0] == results[1]


# ----- 5. all-or-nothing restores (and PyTorch's own rule for load_state_dict) -------------------------
def _two_variables(tmp_path, b_value):
    """A checkpoint of a=[1, 2] (float32) and b=b_value, then a fresh graph with a=b=5."""
    tf.reset_default_graph()
    tf.Variable(np.array([1.0, 2.0], np.float32), name="a")
    tf.Variable(b_value, name="b")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = tf.train.Saver().save(sess, str(tmp_path / "two"))
    tf.reset_default_graph()
    a = tf.Variable(np.full(2, 5.0, np.float32), name="a")
    b = tf.Variable(np.full(2, 5.0, np.float32), name="b")
    return path, a, b


@pytest.mark.parametrize("b_value, error, match", [
    (np.array([1.0, 2.0]), InvalidArgumentError, "tensor_name = b; expected dtype float does not equal "
                                                 "original dtype double"),
    (np.array([1.0, 2.0, 3.0], np.float32), InvalidArgumentError, r"lhs shape= \[2\] rhs shape= \[3\]"),
])
def test_saver_restore_checks_every_entry_before_assigning(tmp_path, b_value, error, match):
    path, a, b = _two_variables(tmp_path, b_value)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(error, match=match):
            tf.train.Saver().restore(sess, path)
        assert sess.run(a).tolist() == [5.0, 5.0] and sess.run(b).tolist() == [5.0, 5.0]


def test_saver_restore_missing_key_and_missing_file(tmp_path):
    path, a, b = _two_variables(tmp_path, np.array([1.0, 2.0], np.float32))
    c = tf.Variable(np.zeros(1, np.float32), name="c")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(NotFoundError, match="Key c not found in checkpoint"):
            tf.train.Saver().restore(sess, path)
        assert sess.run(a).tolist() == [5.0, 5.0]
        with pytest.raises(ValueError, match="The passed save_path is not a valid checkpoint: .*nothing"):
            tf.train.Saver().restore(sess, str(tmp_path / "nothing"))
        tf.train.Saver([a, b]).restore(sess, path)
        assert sess.run(a).tolist() == [1.0, 2.0] and sess.run(c).tolist() == [0.0]


@pytest.mark.reference
def test_saver_dtype_error_matches_tensorflow(tmp_path):
    tf_ref = pytest.importorskip("tensorflow").compat.v1
    with tf_ref.Graph().as_default():
        tf_ref.Variable(np.array([1.0, 2.0]), name="b")
        with tf_ref.Session() as sess:
            sess.run(tf_ref.global_variables_initializer())
            path = tf_ref.train.Saver().save(sess, str(tmp_path / "ref"))
    with tf_ref.Graph().as_default():
        tf_ref.Variable(np.zeros(2, np.float32), name="b")
        with tf_ref.Session() as sess:
            sess.run(tf_ref.global_variables_initializer())
            with pytest.raises(tf_ref.errors.InvalidArgumentError) as ref:
                tf_ref.train.Saver().restore(sess, path)
    ours, _, _ = _two_variables(tmp_path, np.array([1.0, 2.0]))
    with tf.Session() as sess:
        with pytest.raises(InvalidArgumentError) as mine:
            tf.train.Saver().restore(sess, ours)
    line = "tensor_name = b; expected dtype float does not equal original dtype double"
    assert line in str(ref.value) and line in str(mine.value)


def test_keras_load_weights_changes_nothing_when_the_file_does_not_fit(tmp_path):
    misfit = r"weight shape \(3, 2\) is not compatible with provided weight shape \(3, 1\)"     # Keras' words
    small = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(3), tf.keras.layers.Dense(1)])
    path = str(tmp_path / "w.npz")
    small.save_weights(path)
    tf.reset_default_graph()
    other = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(3), tf.keras.layers.Dense(2)])
    before = other.get_weights()
    with pytest.raises(ValueError, match=misfit):
        other.load_weights(path)
    assert all(np.array_equal(x, y) for x, y in zip(before, other.get_weights()))
    with pytest.raises(ValueError, match=misfit):
        other.set_weights([np.full((2, 3), 7, np.float32), np.zeros(3, np.float32), np.zeros((3, 1), np.float32),
                           np.zeros(2, np.float32)])
    assert all(np.array_equal(x, y) for x, y in zip(before, other.get_weights()))


def test_load_state_dict_copies_what_fits_and_lists_every_problem():
    # PyTorch's rule: matching entries are copied, then one RuntimeError names all the others.
    m = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    old_bias = m[0].bias.detach().numpy().copy()
    sd = {k: torch.full(tuple(v.shape), 7.0) for k, v in m.state_dict().items()}
    sd["0.bias"] = torch.zeros(5)
    del sd["1.bias"]
    sd["extra"] = torch.zeros(1)
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(sd)
    assert str(info.value) == (
        "Error(s) in loading state_dict for Sequential:\n"
        '\tMissing key(s) in state_dict: "1.bias". \n'
        '\tUnexpected key(s) in state_dict: "extra". \n'
        "\tsize mismatch for 0.bias: copying a param with shape [5] from checkpoint, the shape in current "
        "model is [3].")
    assert (m[0].weight.detach().numpy() == 7.0).all() and (m[1].weight.detach().numpy() == 7.0).all()
    np.testing.assert_array_equal(m[0].bias.detach().numpy(), old_bias)
    with pytest.raises(RuntimeError, match='"0.bias", expected torch.Tensor or Tensor-like object from checkpoint '
                                           "but received <class 'numpy.ndarray'>"):
        m.load_state_dict({**m.state_dict(), "0.bias": np.zeros(3)})


@pytest.mark.reference
def test_load_state_dict_partial_copy_matches_pytorch():
    real = pytest.importorskip("torch")
    loaded = []
    for lib in (real, torch):
        lib.manual_seed(0)
        m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Linear(3, 1))
        sd = {k: lib.full(tuple(v.shape), 7.0) for k, v in m.state_dict().items()}
        sd["0.bias"] = lib.zeros(5)
        with pytest.raises(RuntimeError, match="size mismatch for 0.bias"):
            m.load_state_dict(sd)
        loaded.append({k: bool((v == 7.0).all()) for k, v in m.state_dict().items()})
    assert loaded[0] == loaded[1]


def test_load_model_layers_that_do_not_fit_together_are_a_checkpoint_error(tmp_path):
    tree = _saved_tree(tmp_path)
    tree["inputs"][0]["shape"] = []                         # Dense wants an input of rank 2 or more
    with pytest.raises(CheckpointError, match="do not fit together.*rank 2 or more"):
        tf.keras.models.load_model(_crafted(tmp_path, tree))


@pytest.mark.parametrize("settings", [
    {"optimizer": 3, "loss": {}, "metrics": []},
    {"optimizer": {"name": "sgd"}, "loss": {"class": "MeanSquaredError", "from_logits": False}, "metrics": [1]},
    {"optimizer": {"name": "sgd", "learning_rate": [0.1]}, "loss": {}, "metrics": []},
    "adam",
])
def test_load_model_checks_compile_settings(tmp_path, settings):
    tree = _saved_tree(tmp_path)
    tree["compile"] = settings
    with pytest.raises(CheckpointError, match="compile"):
        tf.keras.models.load_model(_crafted(tmp_path, tree))
    tf.keras.models.load_model(_crafted(tmp_path, tree), compile=False)     # the model itself is fine
