"""Parity with TensorFlow 2.21's compat.v1 for tf.train.ExponentialMovingAverage (tests/test_tf1_ema.py has the
NumPy references): the same graph built in both, run for several steps, gives the same averages bit for bit
(variables trained under ``control_dependencies([train_op])``, with and without ``num_updates``, in float16,
float32 and float64; a tensor with and without ``zero_debias``; a decay fed at run time), the same shadow
variable names and collections, the same ``variables_to_restore`` map, and the same errors."""
import numpy as np
import pytest

import static_api as tf

real = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.reference
tf1 = real.compat.v1
R = np.random.default_rng(21)
W0 = R.normal(size=(3, 4)).astype(np.float32)
B0 = R.normal(size=(3, 4))                              # float64
XS = [R.normal(size=(3, 4)).astype(np.float32) for _ in range(5)]


@pytest.fixture(autouse=True)
def _tf1_control_flow():
    """TF1's cond (Switch and Merge), as TF1 programs run it (``disable_v2_behavior`` sets it): TF 2's If reads a
    ref variable's captured value in the branch not taken, so initializing the average of one fails there."""
    was = tf1.control_flow_v2_enabled()
    tf1.disable_control_flow_v2()
    yield
    if was:
        tf1.enable_control_flow_v2()


def _var(lib, value, name, **kw):
    """A variable of ``lib``; TF's as TF1's ref variables (their reads happen where an op uses them)."""
    if lib is tf1:
        kw["use_resource"] = False
    return lib.Variable(value, name=name, **kw)


def _in_graph(lib, build, feeds):
    """``build(lib)`` -> (step op, fetches, facts, placeholder) in a fresh graph of ``lib``; runs the step once
    per feed (fed to the placeholder) and gives (the fetches' values after each step, the facts)."""
    with lib.Graph().as_default():
        step, fetches, facts, x = build(lib)
        with lib.Session() as sess:
            sess.run(lib.global_variables_initializer())
            out = []
            for feed in feeds:
                sess.run(step, {x: feed})
                out.append(sess.run(fetches))
            return out, facts


def _same(ours, theirs):
    for a, b in zip(ours, theirs):
        for u, v in zip(a, b):
            assert np.asarray(u).dtype == np.asarray(v).dtype
            np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("num_updates", [False, True])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_training_pattern_matches_tensorflow(dtype, num_updates):
    def build(lib):
        x = lib.placeholder(lib.float32, (3, 4))
        w = _var(lib, W0.astype(dtype), "w")
        b = _var(lib, B0, "b")
        # gradients x exactly, so that the variables train to TF's values and the averages alone are compared
        loss = lib.reduce_sum(w * lib.cast(x, dtype)) + lib.cast(lib.reduce_sum(b * lib.cast(x, lib.float64)),
                                                                   dtype)
        step = lib.train.get_or_create_global_step()
        train = lib.train.GradientDescentOptimizer(0.5).minimize(loss, global_step=step)
        ema = lib.train.ExponentialMovingAverage(0.9, num_updates=step if num_updates else None)
        with lib.control_dependencies([train]):
            train = ema.apply(lib.trainable_variables())
        names = sorted(v.op.name for v in lib.global_variables())
        facts = [names, [v.op.name for v in lib.moving_average_variables()], train.name, ema.name,
                 sorted((k, v.op.name) for k, v in ema.variables_to_restore().items())]
        return train, [w, b, ema.average(w), ema.average(b), step], facts, x
    ours, our_facts = _in_graph(tf, build, XS)
    theirs, their_facts = _in_graph(tf1, build, XS)
    assert our_facts == their_facts
    _same(ours, theirs)
    assert not np.array_equal(ours[-1][2], ours[-1][0])      # the average lags the trained variable


@pytest.mark.parametrize("zero_debias", [False, True])
def test_tensor_average_matches_tensorflow(zero_debias):
    def build(lib):
        x = lib.placeholder(lib.float32, (3, 4))
        w = _var(lib, W0, "w")
        h = lib.add(x * 2.0, w, name="h")
        ema = lib.train.ExponentialMovingAverage(0.8, zero_debias=zero_debias, name="avg")
        with lib.name_scope("outer"):
            op = ema.apply([h, w])
        facts = [sorted(v.op.name for v in lib.global_variables()), op.name,
                 [v.op.name for v in lib.moving_average_variables()], ema.average_name(h)]
        return op, [ema.average(h), ema.average(w)], facts, x
    ours, our_facts = _in_graph(tf, build, XS)
    theirs, their_facts = _in_graph(tf1, build, XS)
    assert our_facts == their_facts
    _same(ours, theirs)


def test_decay_fed_at_run_time_and_second_apply_match_tensorflow():
    """A decay placeholder, a second apply on the same variable (TF 2 reuses its shadow) and a second
    average of the same name (``w/ExponentialMovingAverage_1``), in a variable scope."""
    def build(lib):
        x = lib.placeholder(lib.float32, (3, 4))
        w = _var(lib, W0, "w")
        d = lib.placeholder_with_default(np.float32(0.75), ())
        ema, other = lib.train.ExponentialMovingAverage(d), lib.train.ExponentialMovingAverage(0.5)
        first = ema.apply([w])
        with lib.control_dependencies([first]):
            again = ema.apply([w])
        with lib.variable_scope("vs"):
            other.apply([w])
        train = lib.train.GradientDescentOptimizer(0.1).minimize(lib.reduce_sum(x * w))
        with lib.control_dependencies([train]):
            step = lib.group(again, other.apply([w]))
        facts = [sorted(v.op.name for v in lib.global_variables()), ema.average_name(w), other.average_name(w),
                 sorted((k, v.op.name) for k, v in other.variables_to_restore().items())]
        return step, [ema.average(w), other.average(w)], facts, x
    ours, our_facts = _in_graph(tf, build, XS)
    theirs, their_facts = _in_graph(tf1, build, XS)
    assert our_facts == their_facts
    _same(ours, theirs)


def test_initialized_value_matches_tensorflow():
    def build(lib):
        x = lib.placeholder(lib.float32, ())
        w = _var(lib, W0, "w")
        v = _var(lib, w.initialized_value() * 2.0, "v")
        return w.assign_add(x * np.ones(W0.shape, np.float32)), [w, v, w.initialized_value()], [], x
    ours, _ = _in_graph(tf, build, [1.5, -0.25])
    theirs, _ = _in_graph(tf1, build, [1.5, -0.25])
    _same(ours, theirs)


@pytest.mark.parametrize("bad", ["int", "float64_decay"])
def test_errors_match_tensorflow(bad):
    def build(lib):
        if bad == "int":
            lib.train.ExponentialMovingAverage(0.9).apply([_var(lib, np.int32(3), "i")])
        else:
            lib.train.ExponentialMovingAverage(lib.constant(0.9, lib.float64)).apply([_var(lib, W0, "w")])

    errors = []
    for lib in (tf, tf1):
        with lib.Graph().as_default(), pytest.raises((TypeError, ValueError)) as info:
            build(lib)
        errors.append((info.type, str(info.value)))
    assert errors[0][0] is errors[1][0]
    key = "half, float, or double: i:0" if bad == "int" else "requested dtype float32 for Tensor with dtype float64"
    assert key in errors[0][1] and key in errors[1][1]
