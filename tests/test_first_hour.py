"""The first hour of a real program: TF1 scaffolding (flags, app.run, logging, gfile, config protos), common
TF1 ops, the torch Tensor protocol, and a few layers, each against hand-computed values; the
``reference``-marked tests replay the same calls in the real libraries."""
import io
import os
import subprocess
import sys
import textwrap
from contextlib import redirect_stderr

import numpy as np
import pytest

import static_api as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _run(*fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(list(fetches), feed)


# ----- flags and app.run ------------------------------------------------------------------
def _flag_values():
    fv = tf.flags.FlagValues()
    tf.flags.DEFINE_string("data_dir", "/tmp/data", "where", flag_values=fv)
    tf.flags.DEFINE_integer("steps", 10, "n", flag_values=fv)
    tf.flags.DEFINE_float("lr", "0.1", "a string default is parsed", flag_values=fv)
    tf.flags.DEFINE_boolean("fake", False, "f", flag_values=fv)
    return fv


def test_flags_parse_absl_forms():
    fv = _flag_values()
    rest = fv(["prog", "--steps=5", "--lr", "0.5", "--fake", "pos1", "-data_dir=x"])
    assert rest == ["prog", "pos1"]
    assert (fv.steps, fv.lr, fv.fake, fv.data_dir) == (5, 0.5, True, "x")
    assert type(fv.steps) is int and type(fv.lr) is float
    fv(["prog", "--nofake", "--fake=false"])
    assert fv.fake is False
    assert fv(["prog", "--", "--steps=4"]) == ["prog", "--steps=4"] and fv.steps == 5


def test_flags_errors():
    fv = _flag_values()
    with pytest.raises(tf.flags.UnrecognizedFlagError, match="Unknown command line flag 'nope'"):
        fv(["prog", "--nope=1"])
    with pytest.raises(tf.flags.IllegalFlagValueError, match="steps"):
        fv(["prog", "--steps=abc"])
    with pytest.raises(tf.flags.IllegalFlagValueError):
        fv(["prog", "--fake=maybe"])
    with pytest.raises(tf.flags.DuplicateFlagError, match="'steps' is defined twice"):
        tf.flags.DEFINE_integer("steps", 1, "again", flag_values=fv)
    assert fv(["prog", "--nope=1", "x"], known_only=True) == ["prog", "--nope=1", "x"]


def test_flags_parse_sys_argv_on_first_access(monkeypatch):
    fv = _flag_values()
    monkeypatch.setattr(sys, "argv", ["prog", "--steps=7"])
    assert fv.steps == 7 and fv.is_parsed()


_PROGRAM = """
import static_api as tf
flags = tf.app.flags
flags.DEFINE_integer("steps", 10, "n")
flags.DEFINE_boolean("fake", False, "f")
FLAGS = flags.FLAGS

def main(argv):
    tf.logging.set_verbosity(tf.logging.INFO)
    tf.logging.info("steps=%d fake=%s argv=%s", FLAGS.steps, FLAGS.fake, argv[1:])
    return 3

if __name__ == "__main__":
    tf.app.run()
"""


def test_app_run_calls_main_with_parsed_flags_and_exits_with_its_result(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(_PROGRAM)
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, str(script), "--steps=5", "--fake", "--other=1", "pos"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 3, out.stderr
    assert "INFO:tensorflow:steps=5 fake=True argv=['--other=1', 'pos']" in out.stderr


def test_logging_levels_and_verbosity():
    assert (tf.logging.DEBUG, tf.logging.INFO, tf.logging.WARN, tf.logging.ERROR, tf.logging.FATAL) == \
        (10, 20, 30, 40, 50)
    old = tf.logging.get_verbosity()
    try:
        tf.logging.set_verbosity(tf.logging.ERROR)
        assert tf.logging.get_verbosity() == 40
        tf.logging.warn("hidden")       # below the verbosity: must not raise, must not show
        tf.logging.set_verbosity(tf.logging.WARN)
        tf.logging.warning("shown")
    finally:
        tf.logging.set_verbosity(old)


# ----- gfile ------------------------------------------------------------------------------
def test_gfile_round_trip(tmp_path):
    d = str(tmp_path / "a" / "b")
    assert not tf.gfile.Exists(d)
    tf.gfile.MakeDirs(d)
    tf.gfile.MakeDirs(d)                    # already there: fine, as in TF
    assert tf.gfile.IsDirectory(d)
    with tf.gfile.GFile(os.path.join(d, "f.txt"), "w") as f:
        f.write("hello\n")
    with tf.gfile.Open(os.path.join(d, "f.txt")) as f:
        assert f.read() == "hello\n"
    assert tf.gfile.ListDirectory(d) == ["f.txt"]
    assert tf.gfile.Glob(os.path.join(d, "*.txt")) == [os.path.join(d, "f.txt")]
    tf.gfile.Remove(os.path.join(d, "f.txt"))
    assert tf.gfile.ListDirectory(d) == []
    tf.gfile.DeleteRecursively(str(tmp_path / "a"))
    assert not tf.gfile.Exists(str(tmp_path / "a"))
    with pytest.raises(tf.errors.NotFoundError):
        tf.gfile.DeleteRecursively(str(tmp_path / "a"))
    with pytest.raises(tf.errors.NotFoundError):
        tf.gfile.GFile(str(tmp_path / "missing"))


# ----- session options ----------------------------------------------------------------------
def test_config_protos_are_accepted():
    config = tf.ConfigProto(allow_soft_placement=True, log_device_placement=False,
                            gpu_options=tf.GPUOptions(allow_growth=True))
    config.gpu_options.per_process_gpu_memory_fraction = 0.4
    assert config.gpu_options.allow_growth and config.gpu_options.per_process_gpu_memory_fraction == 0.4
    with pytest.raises(ValueError, match='ConfigProto has no "bogus" field'):
        tf.ConfigProto(bogus=1)
    x = tf.placeholder(tf.float32, ())
    opts, meta = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), tf.RunMetadata()
    assert opts.trace_level == 3
    with tf.Session(config=config) as sess:
        assert sess.run(x * 2.0, {x: 1.5}, options=opts, run_metadata=meta) == 3.0


def test_file_writer_accepts_run_metadata(tmp_path):
    pytest.importorskip("tensorboardX")
    with tf.summary.FileWriter(str(tmp_path)) as w:
        w.add_run_metadata(tf.RunMetadata(), "step0", 0)


# ----- ops --------------------------------------------------------------------------------
def test_placeholder_int_shape_and_to_casts():
    p = tf.placeholder(tf.float32, shape=3)
    assert p.shape.as_list() == [3]
    i64, f32, i32 = tf.to_int64(p), tf.to_float(tf.to_int32(p)), tf.to_int32(p)
    assert (i64.dtype, f32.dtype, i32.dtype) == (tf.int64, tf.float32, tf.int32)
    assert i64.op.name == "ToInt64"
    out = _run(i64, f32, feed={p: [1.7, -2.5, 3.0]})
    assert out[0].tolist() == [1, -2, 3] and out[1].tolist() == [1.0, -2.0, 3.0]


X = np.array([[1., 3, 3, 2], [0, 5, 1, 1]], np.float32)


def test_in_top_k_counts_ties_as_in():
    x = tf.constant(X)
    a, b = _run(tf.nn.in_top_k(x, [2, 3], 1), tf.nn.in_top_k(x, tf.constant([1, 3], tf.int64), 2))
    assert a.tolist() == [True, False]      # 3 ties with the top value 3; 1 is not the top of [0 5 1 1]
    assert b.tolist() == [True, True]       # 1 ties with the 2nd largest


def test_top_k_values_and_indices():
    values, indices = tf.nn.top_k(tf.constant(X), 2)
    assert indices.dtype == tf.int32
    v, i = _run(values, indices)
    assert v.tolist() == [[3, 3], [5, 1]] and i.tolist() == [[1, 2], [1, 2]]


def test_embedding_lookup_and_its_gradient():
    params = tf.Variable(np.arange(12, dtype=np.float32).reshape(4, 3))
    rows = tf.nn.embedding_lookup(params, [[3, 0], [3, 3]])
    grad, = tf.gradients(tf.reduce_sum(rows), [params])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        r, g = sess.run([rows, grad])
    assert r.shape == (2, 2, 3) and r[0, 0].tolist() == [9, 10, 11] and r[0, 1].tolist() == [0, 1, 2]
    assert np.asarray(g).tolist() == [[1] * 3, [0] * 3, [0] * 3, [3] * 3]


def test_moments_and_batch_normalization():
    x = tf.constant(X)
    mean, var = tf.nn.moments(x, [0])
    m2, v2 = tf.nn.moments(x, [1], keep_dims=True)
    y = tf.nn.batch_normalization(x, 1.0, 4.0, 0.5, 2.0, 0.0)     # (x - 1) * 2 / 2 + 0.5
    out = _run(mean, var, m2, v2, y)
    assert out[0].tolist() == [0.5, 4, 2, 1.5] and out[1].tolist() == [0.25, 1, 1, 0.25]
    assert out[2].tolist() == [[2.25], [1.75]] and out[3].tolist() == [[0.6875], [3.6875]]
    np.testing.assert_allclose(out[4], X - 0.5)


def test_clip_by_global_norm():
    a, b = tf.constant([3.0, 4.0]), tf.constant([[12.0]])     # global norm 13
    (ca, none, cb), norm = tf.clip_by_global_norm([a, None, b], 6.5)
    assert none is None
    out = _run(ca, cb, norm)
    np.testing.assert_allclose(out[0], [1.5, 2.0])
    np.testing.assert_allclose(out[1], [[6.0]])
    assert out[2] == pytest.approx(13.0)
    (same,), _ = tf.clip_by_global_norm([a], 100.0)
    np.testing.assert_allclose(_run(same)[0], [3.0, 4.0])


def test_print_passes_through_and_prints_like_tf1():
    x = tf.constant(X)
    y = tf.Print(x, [x, tf.constant(7)], message="hi: ", summarize=2) * 2.0
    err = io.StringIO()
    with redirect_stderr(err):
        out, = _run(y)
    np.testing.assert_allclose(out, X * 2)
    assert err.getvalue() == "hi: [[1 3...]...][7]\n"
    assert tf.ops.summarize(np.array([1.5, 0.1, 2, 3], np.float32), 3) == "1.5 0.1 2..."


def test_print_first_n_and_gradient():
    v = tf.Variable([1.0, 2.0])
    y = tf.reduce_sum(tf.Print(v, [v], "v", first_n=1) * 3.0)
    g, = tf.gradients(y, [v])
    err = io.StringIO()
    with redirect_stderr(err), tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(y)
        sess.run(y)
        assert sess.run(g).tolist() == [3.0, 3.0]
    assert err.getvalue() == "v[1 2]\n"


def test_tf_print_is_an_op_run_for_its_effect():
    stream = io.StringIO()
    op = tf.print("loss:", tf.constant(2.5), output_stream=stream)
    assert op.type == "PrintV2"
    with tf.Session() as sess:
        assert sess.run(op) is None
    assert stream.getvalue() == "loss: 2.5\n"


def test_local_variables_initializer_runs():
    with tf.Session() as sess:
        sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
    assert tf.local_variables() == []      # none made: the initializer is an empty group


# ----- against real TensorFlow --------------------------------------------------------------
def _real_tf1():
    real = pytest.importorskip("tensorflow")
    return real.compat.v1


def _both(build):
    """Run ``build(module)`` in our graph and in a real TF1 graph; return both fetched results."""
    ours = _run(*build(tf))
    v1 = _real_tf1()
    g = v1.Graph()
    with g.as_default():
        fetches = build(v1)
        with v1.Session(graph=g) as sess:
            theirs = sess.run(list(fetches))
    return ours, theirs


@pytest.mark.reference
def test_ops_match_tensorflow():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 6)).astype(np.float32)
    x[0, :3] = 1.0                  # ties at the top-k boundary
    labels = np.array([0, 1, 2, 5, 4])

    def build(m):
        c = m.constant(x)
        mean, var = m.nn.moments(c, [0])
        clipped, norm = m.clip_by_global_norm([c, c * 2.0], 3.0)
        values, indices = m.nn.top_k(c, 3)
        return [m.nn.in_top_k(c, labels, 2), values, indices, mean, var,
                m.nn.batch_normalization(c, mean, var, 0.1, 1.5, 1e-3), clipped[1], norm,
                m.nn.embedding_lookup(c, [[4, 0], [2, 2]]), m.to_int32(c * 3.0)]

    ours, theirs = _both(build)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        assert np.asarray(a).dtype == np.asarray(b).dtype


@pytest.mark.reference
def test_flags_match_absl():
    v1 = _real_tf1()
    argv = ["prog", "--steps=5", "--lr", "0.5", "--nofake", "pos", "--unknown=2", "-data_dir=x"]
    results = []
    for fl in (tf.flags, v1.flags):
        fv = fl.FlagValues()
        fl.DEFINE_string("data_dir", "/tmp/data", "where", flag_values=fv)
        fl.DEFINE_integer("steps", 10, "n", flag_values=fv)
        fl.DEFINE_float("lr", 0.1, "lr", flag_values=fv)
        fl.DEFINE_boolean("fake", True, "f", flag_values=fv)
        rest = fv(argv, known_only=True)
        results.append((rest, fv.data_dir, fv.steps, fv.lr, fv.fake))
    assert results[0] == results[1]


# ----- the torch Tensor protocol -------------------------------------------------------------
import eager_api as torch  # noqa: E402


def test_index_iter_and_index_error():
    assert [10, 20, 30, 40][torch.tensor(3)] == 40
    assert list(range(5))[torch.tensor([1]):] == [1, 2, 3, 4]
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        [1, 2][torch.tensor(1.0)]
    with pytest.raises(IndexError):
        torch.zeros(3)[3]
    rows = [r.tolist() for r in torch.arange(4).reshape(2, 2)]
    assert rows == [[0, 1], [2, 3]]
    a, b = torch.tensor([5.0, 6.0])              # unpacking iterates dim 0
    assert (a.item(), b.item()) == (5.0, 6.0)
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(torch.tensor(1.0))


def test_type_names_and_legacy_constructors():
    x = torch.zeros(2, 3)
    assert x.type() == "torch.FloatTensor" and torch.zeros(1, dtype=torch.int64).type() == "torch.LongTensor"
    assert x.type(torch.LongTensor).dtype == torch.int64 and x.type("torch.IntTensor").dtype == torch.int32
    assert x.type(torch.float64).type() == "torch.DoubleTensor"
    assert torch.FloatTensor(2, 3).shape == (2, 3) and torch.FloatTensor(2, 3).dtype == torch.float32
    assert torch.LongTensor([1, 2]).tolist() == [1, 2] and torch.LongTensor([1, 2]).dtype == torch.int64
    assert isinstance(x, torch.FloatTensor) and not isinstance(x, torch.LongTensor)
    assert x.is_xpu is False


def test_new_factories_keep_dtype():
    x = torch.zeros(2, dtype=torch.float64)
    assert x.new_ones(3).tolist() == [1.0, 1.0, 1.0] and x.new_ones(3).dtype == torch.float64
    assert x.new_zeros((1, 2)).shape == (1, 2)
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0] and x.new_full((2,), 7).dtype == torch.float64
    t = x.new_tensor([1, 2])
    assert t.dtype == torch.float64 and t.tolist() == [1.0, 2.0]
    assert x.new_empty(4).shape == (4,)


def test_masked_fill_and_its_gradient():
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    mask = torch.tensor([True, False])           # broadcast over rows
    y = w.masked_fill(mask, -1.0)
    assert y.tolist() == [[-1.0, 2.0], [-1.0, 4.0]]
    y.sum().backward()
    assert w.grad.tolist() == [[0.0, 1.0], [0.0, 1.0]]
    z = torch.arange(3.0)
    assert z.masked_fill_(torch.tensor([True, False, True]), 5).tolist() == [5.0, 1.0, 5.0]
    with pytest.raises(RuntimeError, match="boolean"):
        z.masked_fill(torch.tensor([1, 0, 1]), 0.0)


def test_inplace_twins():
    x = torch.tensor([0.0, 1.0])
    assert x.clone().sigmoid_().tolist() == pytest.approx([0.5, 1 / (1 + np.exp(-1))])
    assert x.clone().exp_().tolist() == pytest.approx([1.0, np.e])
    assert x.clone().neg_().tolist() == [-0.0, -1.0]
    assert torch.tensor([4.0]).sqrt_().tolist() == [2.0] and torch.tensor([3.0]).pow_(2).tolist() == [9.0]
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1
    b.tanh_()
    b.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 1 - np.tanh([1.0, 2.0]) ** 2, rtol=1e-6)


def test_shape_changing_inplace_ops():
    x = torch.zeros(2, 3)
    assert x.t_() is x and x.shape == (3, 2)
    y = torch.zeros(1, 3, 1)
    assert y.squeeze_().shape == (3,)
    y = torch.zeros(1, 3, 1)
    assert y.squeeze_(2).shape == (1, 3) and y.unsqueeze_(0).shape == (1, 1, 3)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        torch.ones(2, requires_grad=True).unsqueeze_(0)
    # autograd: the grad flows through the new shape; a view taken before still derives from the old one
    a = torch.arange(3.0, requires_grad=True)
    b = a * 1
    v = b[1:]
    b.unsqueeze_(0)
    assert b.shape == (1, 3) and v.shape == (2,)
    b.mul_(2)
    assert v.tolist() == [2.0, 4.0]
    v.sum().backward()
    assert a.grad.tolist() == [0.0, 2.0, 2.0]
    # a write through a view of the new shape, then back to the old shape
    a = torch.arange(3.0, requires_grad=True)
    b = a * 1
    b.unsqueeze_(0)
    b[0, 1:].mul_(3)
    b.squeeze_()
    assert b.tolist() == [0.0, 3.0, 6.0]
    (b * torch.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert a.grad.tolist() == [1.0, 30.0, 300.0]
    # a view's shape change writes through to its base
    c = torch.arange(6.0).reshape(2, 3)
    w = c[0]
    w.unsqueeze_(0).mul_(10)
    assert c.tolist() == [[0.0, 10.0, 20.0], [3.0, 4.0, 5.0]]


def test_inference_mode_context_decorator_and_threads():
    import threading
    assert not torch.is_inference_mode_enabled()
    with torch.inference_mode():
        y = torch.ones(2, requires_grad=True) * 2
        assert not y.requires_grad and not torch.is_grad_enabled() and torch.is_inference_mode_enabled()
        seen = []
        t = threading.Thread(target=lambda: seen.append((torch.is_grad_enabled(), torch.is_inference_mode_enabled())))
        t.start()
        t.join()
        assert seen == [(True, False)]      # per thread, as in PyTorch
        with torch.inference_mode(False):
            assert not torch.is_inference_mode_enabled() and not torch.is_grad_enabled()
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()

    @torch.inference_mode()
    def f():
        return torch.is_grad_enabled()

    @torch.inference_mode
    def g():
        return torch.is_grad_enabled()

    assert f() is False and g() is False and torch.is_grad_enabled()


def test_accelerator_cudnn_module_and_data_parallel():
    import importlib
    cudnn = importlib.import_module("eager_api.backends.cudnn")
    assert cudnn is torch.backends.cudnn
    cudnn.benchmark = True
    assert torch.backends.cudnn.benchmark is True
    assert torch.accelerator.is_available() == torch.cuda.is_available()
    assert (torch.accelerator.current_accelerator() is None) == (not torch.cuda.is_available())
    torch.manual_seed(0)
    inner = torch.nn.Linear(2, 3)
    model = torch.nn.DataParallel(inner)
    assert torch.nn.parallel.DataParallel is torch.nn.DataParallel
    assert list(model.state_dict()) == ["module.weight", "module.bias"]
    x = torch.ones(4, 2)
    assert model(x).tolist() == inner(x).tolist() and model.module is inner


@pytest.mark.reference
def test_tensor_protocol_matches_torch():
    real = pytest.importorskip("torch")
    results = []
    for lib in (torch, real):
        x = lib.zeros(2, 3)
        a = lib.arange(3.0, requires_grad=True)
        b = a * 1
        v = b[1:]
        b.unsqueeze_(0)
        b.mul_(2)
        (v.sum() + b[0, 0] * 5).backward()
        m = lib.arange(4.0).reshape(2, 2).masked_fill(lib.tensor([False, True]), 9.0)
        results.append((x.type(), x.type(lib.LongTensor).type(), [7, 8, 9][lib.tensor(2)],
                        [r.tolist() for r in lib.arange(4).reshape(2, 2)], a.grad.tolist(), tuple(b.shape),
                        m.tolist(), x.new_full((2,), 3).tolist(), tuple(x.t_().shape),
                        lib.accelerator.current_accelerator() is None))
    assert results[0] == results[1]


# ----- layers -------------------------------------------------------------------------------
def _gelu_exact(x):
    import math
    return np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])


def test_gelu_exact_and_tanh_with_gradient():
    xs = np.array([-2.0, -0.5, 0.0, 1.5, 30.0])
    x = torch.tensor(xs, requires_grad=True)
    y = torch.nn.GELU()(x)
    np.testing.assert_allclose(y.detach().numpy(), _gelu_exact(xs), rtol=1e-12)
    y.sum().backward()
    import math
    pdf = np.exp(-xs ** 2 / 2) / math.sqrt(2 * math.pi)
    cdf = _gelu_exact(xs) / np.where(xs == 0, 1, xs)
    cdf[xs == 0] = 0.5
    np.testing.assert_allclose(x.grad.numpy(), cdf + xs * pdf, rtol=1e-10)
    t = torch.nn.GELU("tanh")(torch.tensor(xs))
    ref = 0.5 * xs * (1 + np.tanh(np.sqrt(2 / np.pi) * (xs + 0.044715 * xs ** 3)))
    np.testing.assert_allclose(t.numpy(), ref, rtol=1e-12)
    assert repr(torch.nn.GELU()) == "GELU(approximate='none')"


def test_inplace_activations_write_into_their_input():
    x = torch.tensor([-2.0, 0.5], requires_grad=True)
    y = x * 1
    assert torch.nn.LeakyReLU(0.1, inplace=True)(y) is y
    assert y.tolist() == pytest.approx([-0.2, 0.5])
    z = x * 1
    out = torch.nn.ELU(alpha=2.0, inplace=True)(z)
    assert out is z and z.tolist() == pytest.approx([2.0 * (np.exp(-2.0) - 1), 0.5])
    (y.sum() + z.sum()).backward()
    assert x.grad.tolist() == pytest.approx([0.1 + 2.0 * np.exp(-2.0), 2.0])
    w = torch.tensor([-1.0, 3.0])
    v = w[1:]
    torch.nn.ReLU(inplace=True)(w)
    assert w.tolist() == [0.0, 3.0] and v.tolist() == [3.0]
    assert repr(torch.nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    # ELU never overflows into NaN gradients on large inputs
    big = torch.tensor([1000.0], requires_grad=True)
    torch.nn.functional.elu(big).sum().backward()
    assert big.grad.tolist() == [1.0]


@pytest.mark.reference
def test_gelu_elu_match_torch():
    real = pytest.importorskip("torch")
    xs = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32) * 3
    outs = []
    for lib in (torch, real):
        x = lib.tensor(xs, requires_grad=True)
        y = lib.nn.GELU()(x) + lib.nn.GELU(approximate="tanh")(x) * 2 + lib.nn.ELU(0.7)(x) * 3
        y.sum().backward()
        outs.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-5, atol=1e-6)


# ----- Keras: regularizers, backend, layer names ------------------------------------------------
def _regularized_dense(keras):
    inp = keras.Input((3,))
    dense = keras.layers.Dense(2, kernel_regularizer=keras.regularizers.l2(0.1),
                               bias_regularizer=keras.regularizers.l1(0.5),
                               activity_regularizer=keras.regularizers.l1_l2(0.01, 0.02),
                               kernel_initializer="ones", bias_initializer="ones")
    return inp, keras.Model(inp, dense(inp))


def test_regularizers_in_model_losses_and_training_loss():
    inp, model = _regularized_dense(tf.keras)
    x = np.ones((4, 3), np.float32)
    # every output is 3 + 1 = 4: activity (0.01 * 32 + 0.02 * 128) / batch 4 = 0.72; kernel 0.1 * 6;
    # bias 0.5 * 2
    values = model._session().run(model.losses, {inp: x})
    np.testing.assert_allclose(values, [0.72, 0.6, 1.0], rtol=1e-6)
    model.compile("sgd", "mse")
    loss = model.evaluate(x, np.full((4, 2), 4.0, np.float32), verbose=0)
    assert np.ravel(loss)[0] == pytest.approx(0.72 + 0.6 + 1.0, rel=1e-6)      # data loss 0 + penalties
    conv = tf.keras.layers.Conv2D(1, 1, kernel_regularizer="l2", kernel_initializer="ones", use_bias=False)
    conv(tf.keras.Input((2, 2, 1)))
    with tf.Session() as sess:
        sess.run(conv.kernel.initializer)
        np.testing.assert_allclose(sess.run(conv.losses), [0.01])        # 'l2' means l2(0.01); kernel is 1


def test_keras_backend_and_snake_case_names():
    from static_api.keras import backend as K
    assert (K.image_data_format(), K.epsilon(), K.floatx(), K.backend()) == ("channels_last", 1e-7, "float32",
                                                                            "tensorflow")
    K.clear_session()
    x = tf.keras.Input((4,))
    names = [tf.keras.layers.ReLU(), tf.keras.layers.LeakyReLU(), tf.keras.layers.ReLU(), tf.keras.layers.Dense(2)]
    for layer in names:
        layer(x)
    assert [layer.name for layer in names] == ["re_lu", "leaky_re_lu", "re_lu_1", "dense"]


@pytest.mark.reference
def test_regularized_loss_and_names_match_keras():
    keras = pytest.importorskip("keras")
    x = np.ones((4, 3), np.float32)
    y = np.full((4, 2), 3.5, np.float32)
    results = []
    for k in (tf.keras, keras):
        _, model = _regularized_dense(k)
        model.compile("sgd", "mse")
        results.append(float(np.ravel(model.evaluate(x, y, verbose=0))[0]))
    assert results[0] == pytest.approx(results[1], rel=1e-5)
    assert keras.layers.ReLU().name.startswith("re_lu") and keras.layers.LeakyReLU().name.startswith("leaky_re_lu")


def _op_results(torch_mod, module_cls):
    """What ops on a parameter give, and what a Module registers when one is stored on it."""
    p = torch_mod.nn.Parameter(torch_mod.ones(2))

    class M(module_cls):
        def __init__(self):
            super().__init__()
            self.w = torch_mod.nn.Parameter(torch_mod.ones(2))
            self.doubled = self.w * 2          # a derived tensor: not a parameter
    m = M()
    return ([type(r).__name__ for r in (p * 2, p.sum(), p.view(2), p[0])],
            [name for name, _ in m.named_parameters()])


def test_ops_on_a_parameter_or_variable_give_plain_tensors():
    import eager_api as torch
    results, names = _op_results(torch, torch.nn.Module)
    assert results == ["Tensor"] * 4 and names == ["w"]
    w = tf.Variable([1.0, 2.0])
    for t in (w * 2.0, tf.reduce_sum(w), w[0]):
        assert type(t) is tf.Tensor and not isinstance(t, tf.Variable)
    assert tf.trainable_variables() == [w]


@pytest.mark.reference
def test_ops_on_a_parameter_give_what_torch_gives():
    import eager_api as torch
    real = pytest.importorskip("torch")
    assert _op_results(torch, torch.nn.Module) == _op_results(real, real.nn.Module)
