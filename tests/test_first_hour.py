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
    assert tf.local_variables() == []


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
