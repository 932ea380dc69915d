"""The layout pass: a TF1/Keras graph's convolutions and pooling run as NHWC primitives with no transposes,
and the optimized Program gives the same values and gradients as the Program as built."""
import numpy as np
import pytest

import backends
import static_api as tf
from core.executor import Executor
from core.passes.layout import layout
from core.passes.transpose import fold_transposes
from core.program import Program, key
from tests.helpers import load_example


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    tf.set_random_seed(0)
    yield


def _programs(targets, feeds):
    """The Program as built, and after fold_transposes + layout."""
    built = Program.build(targets, {key(t) for t in feeds})
    return built, layout(fold_transposes(built))


def _run_both(targets, feeds):
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    built, optimized = _programs(targets, feeds)
    ex = Executor(backends.get_backend("cpu"), sess.state)
    arrays = {key(t): v for t, v in feeds.items()}
    return built, optimized, ex.run(built, arrays), ex.run(optimized, arrays)


def _names(program):
    return [s.op.name for s in program.steps]


def _same(a_list, b_list):
    for a, b in zip(a_list, b_list):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-6, atol=1e-6)


def test_keras_seed_cnn_has_no_transposes_and_the_same_loss_and_gradients():
    model = load_example("keras_seed_cnn").build()
    x = model.inputs[0]
    y = tf.placeholder(tf.float32, (None, 10))
    loss = tf.reduce_mean(tf.keras.losses.categorical_crossentropy(y, model.output))
    grads = tf.gradients(loss, model.trainable_weights)
    rng = np.random.default_rng(0)
    feeds = {x: rng.random((3, 28, 28, 1), dtype=np.float32), y: np.eye(10, dtype=np.float32)[[1, 4, 7]]}
    built, optimized, want, got = _run_both([loss] + grads, feeds)
    assert _names(built).count("Transpose") >= 15
    assert "Transpose" not in _names(optimized)
    nhwc = [s.op for s in optimized.steps if hasattr(s.op, "data_format")]
    assert len(nhwc) >= 8 and all(op.data_format == "NHWC" for op in nhwc)
    _same(want, got)


def test_raw_tf1_conv_pool_graph_runs_in_nhwc():
    # float64: the NHWC kernels sum in another order, and these sums cancel (float32 would differ at 1e-4).
    rng = np.random.default_rng(1)
    x = tf.placeholder(tf.float64, (None, 9, 8, 3))
    w1 = tf.Variable(rng.normal(size=(3, 3, 3, 4)))
    w2 = tf.Variable(rng.normal(size=(2, 2, 4, 5)))
    h = tf.nn.relu(tf.nn.conv2d(x, w1, strides=2, padding="SAME"))
    h = tf.nn.max_pool2d(h, 3, 1, "SAME")
    h = tf.nn.conv2d(h, w2, [1, 1, 1, 1], "VALID", dilations=2)
    h = tf.nn.avg_pool2d(h, 2, 1, "VALID")
    loss = tf.reduce_sum(h * h)
    grads = tf.gradients(loss, [x, w1, w2])
    built, optimized, want, got = _run_both([loss, h] + grads, {x: rng.normal(size=(2, 9, 8, 3))})
    assert "Transpose" in _names(built) and "Transpose" not in _names(optimized)
    _same(want, got)


def test_a_region_with_an_nchw_reader_stays_nchw():
    # The conv output is also read in NCHW (fetched as the primitive's own value): nothing changes.
    x = tf.placeholder(tf.float32, (2, 6, 6, 1))
    w = tf.Variable(np.ones((3, 3, 1, 2), np.float32))
    from core.ops.nn import Conv2D
    import core
    y = core.apply(Conv2D(1, "same"), core.transpose(x, (0, 3, 1, 2)), core.transpose(w, (3, 2, 0, 1)))
    z = core.transpose(y, (0, 2, 3, 1))
    built, optimized = _programs([y, z], {x: None})
    assert _names(optimized) == _names(fold_transposes(built))
    assert all(getattr(s.op, "data_format", "NCHW") == "NCHW" for s in optimized.steps)


def test_the_pass_leaves_its_input_program_and_the_graph_alone():
    x = tf.placeholder(tf.float32, (None, 6, 6, 2))
    w = tf.Variable(np.ones((3, 3, 2, 2), np.float32))
    y = tf.nn.max_pool2d(tf.nn.conv2d(x, w, 1, "SAME"), 2, 2, "VALID")
    built = fold_transposes(Program.build([y], {key(x)}))
    before = [(s.op, list(s.ins)) for s in built.steps]
    ops = [s.node.op for s in built.steps]
    optimized = layout(built)
    assert [(s.op, list(s.ins)) for s in built.steps] == before
    assert [s.node.op for s in built.steps] == ops and all(op.data_format == "NCHW" for op in ops
                                                          if hasattr(op, "data_format"))
    assert _names(optimized) == ["VariableV2", "Conv2D", "MaxPool"]
