"""tf.train.ExponentialMovingAverage against NumPy references of TF1's arithmetic (``shadow -= (shadow - value) *
rate`` with ``rate = 1 - decay`` in float32, cast to the variable's dtype), its shadow variables, names and
collections, ``variables_to_restore`` with Saver, and ``Variable.initialized_value``.  Parity with TensorFlow
itself is in test_reference_tf1_ema."""
import numpy as np
import pytest

import static_api as tf

RNG = np.random.default_rng(7)
W0 = RNG.standard_normal((2, 3)).astype(np.float32)
VALUES = [RNG.standard_normal((2, 3)).astype(np.float32) for _ in range(4)]


def _rate(decay, dtype):
    """TF's ``cast(1.0 - decay)``: the decay a float32, one minus it in float32, then the variable's dtype."""
    return np.dtype(dtype).type(np.float32(1.0) - np.float32(decay))


def _moved(avg, value, rate):
    return avg - (avg - value) * rate


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_variable_average_steps_as_tf1(dtype):
    """The shadow starts at the variable's initial value and moves once per run of the update, after the
    assignment it depends on."""
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(W0.astype(dtype), name="w")
        x = tf.placeholder(dtype, W0.shape)
        ema = tf.train.ExponentialMovingAverage(0.7)
        with tf.control_dependencies([w.assign(x)]):
            step = ema.apply([w])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            avg = W0.astype(dtype)
            np.testing.assert_array_equal(sess.run(ema.average(w)), avg)
            for v in VALUES:
                sess.run(step, {x: v.astype(dtype)})
                avg = _moved(avg, v.astype(dtype), _rate(0.7, dtype))
                got = sess.run(ema.average(w))
                assert got.dtype == dtype
                np.testing.assert_array_equal(got, avg)
            assert not np.array_equal(got, sess.run(w))     # it lags the variable


def test_num_updates_lowers_the_decay_early():
    """decay = min(decay, (1 + n) / (10 + n)) in float32, n read after the step that counts it: 6 / 15 at n = 5,
    then 0.5 from n = 10 on."""
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(W0, name="w")
        n = tf.Variable(0, name="n", trainable=False)
        x = tf.placeholder(tf.float32, W0.shape)
        ema = tf.train.ExponentialMovingAverage(0.5, num_updates=n)
        with tf.control_dependencies([w.assign(x), n.assign_add(5)]):
            step = ema.apply([w])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            avg, count = W0, 0
            for v in VALUES:
                sess.run(step, {x: v})
                count += 5
                f = np.float32(count)
                decay = min(np.float32(0.5), (np.float32(1.0) + f) / (np.float32(10.0) + f))
                avg = _moved(avg, v, _rate(decay, np.float32))
                np.testing.assert_array_equal(sess.run(ema.average(w)), avg)


@pytest.mark.parametrize("zero_debias", [False, True])
def test_tensor_average_starts_at_zero_and_debiases_as_tf1(zero_debias):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, W0.shape)
        h = tf.add(x, 1.0, name="h")
        ema = tf.train.ExponentialMovingAverage(0.9, zero_debias=zero_debias)
        step = ema.apply([h])
        assert ema.average(h).op.name == "h/ExponentialMovingAverage"
        assert tf.moving_average_variables() == []       # only Variables are listed, as TF1
        names = [v.op.name for v in tf.global_variables()]
        assert names == ["h/ExponentialMovingAverage"] + (
            ["h/ExponentialMovingAverage/biased", "h/ExponentialMovingAverage/local_step"] if zero_debias else [])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(ema.average(h)), np.zeros(W0.shape, np.float32))
            rate = _rate(0.9, np.float32)
            avg = biased = np.zeros(W0.shape, np.float32)
            for t, v in enumerate(VALUES, 1):
                sess.run(step, {x: v})
                value = v + np.float32(1.0)
                if zero_debias:
                    biased = _moved(biased, value, rate)
                    avg = biased / (np.float32(1) - (np.float32(1.0) - rate) ** np.float32(t))
                else:
                    avg = _moved(avg, value, rate)
                got = sess.run(ema.average(h))
                np.testing.assert_allclose(got, avg, rtol=2e-7, atol=0)
            if zero_debias:     # the biased average, pulled towards its zero start, is the smaller
                kept = sess.run(g.get_tensor_by_name("h/ExponentialMovingAverage/biased:0"))
                np.testing.assert_array_equal(kept, biased)
                assert (np.abs(kept) < np.abs(got)).all()


def _model(decay=0.9):
    x = tf.placeholder(tf.float32, (None, 2))
    w = tf.Variable(W0[:, :2].T.copy(), name="w")
    b = tf.Variable(np.zeros(2, np.float32), name="b")
    step = tf.train.get_or_create_global_step()
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - 1.0))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
    ema = tf.train.ExponentialMovingAverage(decay)
    return x, w, b, step, train, ema


def test_training_pattern_and_restoring_the_averages(tmp_path):
    """``with tf.control_dependencies([train_op]): train_op = ema.apply(tf.trainable_variables())`` averages the
    values each step left, and ``Saver(ema.variables_to_restore())`` loads the averages into the variables."""
    xs = [RNG.standard_normal((4, 2)).astype(np.float32) for _ in range(5)]
    g = tf.Graph()
    with g.as_default():
        x, w, b, step, train, ema = _model()
        with tf.control_dependencies([train]):
            train = ema.apply(tf.trainable_variables())
        assert train.name == "ExponentialMovingAverage" and ema.name == "ExponentialMovingAverage"
        shadows = [ema.average(w), ema.average(b)]
        assert [s.op.name for s in shadows] == ["w/ExponentialMovingAverage", "b/ExponentialMovingAverage"]
        assert [v.op.name for v in tf.trainable_variables()] == ["w", "b"]
        assert set(tf.global_variables()) >= set(shadows)
        assert tf.get_collection(tf.GraphKeys.MOVING_AVERAGE_VARIABLES) == [w, b]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            avgs = sess.run([w, b])
            for xv in xs:
                sess.run(train, {x: xv})
                trained = sess.run([w, b])
                avgs = [_moved(a, t, _rate(0.9, np.float32)) for a, t in zip(avgs, trained)]
                for s, a in zip(shadows, avgs):
                    np.testing.assert_array_equal(sess.run(s), a)
            path = tf.train.Saver().save(sess, str(tmp_path / "model"))

    g = tf.Graph()
    with g.as_default():          # an evaluation graph: no apply, the averages restored into the variables
        x, w, b, step, _, ema = _model()
        to_restore = ema.variables_to_restore()
        assert to_restore == {"w/ExponentialMovingAverage": w, "b/ExponentialMovingAverage": b,
                              "global_step": step}
        with tf.Session() as sess:
            tf.train.Saver(to_restore).restore(sess, path)
            got = sess.run([w, b, step])
    np.testing.assert_array_equal(got[0], avgs[0])
    np.testing.assert_array_equal(got[1], avgs[1])
    assert not np.array_equal(got[0], trained[0])        # the averages, not the trained values
    assert got[2] == len(xs)


def test_variables_to_restore_keeps_other_variables_and_explicit_lists():
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(1.0, name="w")
        c = tf.Variable(2.0, name="c", trainable=False)
        ema = tf.train.ExponentialMovingAverage(0.9, name="avg")
        assert ema.average_name(w) == "w/avg" and ema.average(w) is None
        ema.apply([c])                 # c is listed in MOVING_AVERAGE_VARIABLES, so restored from c/avg
        assert tf.moving_average_variables() == [c]
        assert ema.variables_to_restore() == {"w/avg": w, "c/avg": c}
        # only w averaged: c from its own name, and c's average, a global variable, from its own
        assert ema.variables_to_restore([w]) == {"w/avg": w, "c": c, "c/avg": ema.average(c)}
        # a second average of that name is made unique, and so is the name average_name gives
        other = tf.train.ExponentialMovingAverage(0.5, name="avg")
        assert other.average_name(c) == "c/avg_1"
        other.apply([c])
        assert other.average(c).op.name == "c/avg_1"


def test_shadow_variables_are_not_trainable_and_live_in_the_variable_scope():
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(W0, name="w")
        ema = tf.train.ExponentialMovingAverage(0.9)
        with tf.name_scope("ns"):          # name scopes name the update ops, not the shadows
            op = ema.apply([w])
        assert op.name == "ns/ExponentialMovingAverage"
        with tf.variable_scope("vs"):
            v = tf.Variable(1.0, name="v")
            ema.apply([v])
        assert ema.average(w).op.name == "w/ExponentialMovingAverage"
        assert ema.average(v).op.name == "vs/vs/v/ExponentialMovingAverage"     # TF1's doubled scope
        assert tf.trainable_variables() == [w, v]
        assert ema.average(w).trainable is False


def test_second_apply_reuses_the_shadow():
    """As TF 2's compat.v1 (TF 1.x raised ValueError): one shadow, moved by each op."""
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(4.0, name="w")
        ema = tf.train.ExponentialMovingAverage(0.5)
        first = ema.apply([w])
        shadow = ema.average(w)
        second = ema.apply([w])
        assert ema.average(w) is shadow and second.name == "ExponentialMovingAverage_1"
        assert len(tf.global_variables()) == 2
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(w.assign(0.0))
            sess.run(first)
            sess.run(second)
            assert sess.run(shadow) == 1.0          # 4 -> 2 -> 1


def test_decay_tensor_is_read_each_run():
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(0.0, name="w")
        d = tf.placeholder(tf.float32, ())
        ema = tf.train.ExponentialMovingAverage(d)
        step = ema.apply([w])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(w.assign(8.0))
            sess.run(step, {d: 0.75})
            sess.run(step, {d: 0.5})
            assert sess.run(ema.average(w)) == 5.0        # 0 -> 2 -> 5


def test_initialized_value():
    """The variable's value once initialized, else its initial value, in whatever order the initializers
    run; an average made after training starts at the trained value."""
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(tf.random_normal((3,), seed=1), name="w")
        double = tf.Variable(w.initialized_value() * 2.0, name="double")
        ema = tf.train.ExponentialMovingAverage(0.9)
        ema.apply([w])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            first = sess.run(w)
            np.testing.assert_array_equal(sess.run(double), first * 2)
            np.testing.assert_array_equal(sess.run(ema.average(w)), first)
            sess.run(w.assign([1.0, 2.0, 3.0]))
            np.testing.assert_array_equal(sess.run(w.initialized_value()), [1.0, 2.0, 3.0])
            sess.run(tf.variables_initializer([ema.average(w)]))
            np.testing.assert_array_equal(sess.run(ema.average(w)), [1.0, 2.0, 3.0])
        with tf.Session() as sess:          # nothing initialized: the initial value, drawn as w's would be
            np.testing.assert_array_equal(sess.run(w.initialized_value()), first)


def test_errors():
    g = tf.Graph()
    with g.as_default():
        ema = tf.train.ExponentialMovingAverage(0.9)
        with pytest.raises(TypeError, match=r"ExponentialMovingAverage.apply: The variables must be half, float, "
                                            r"or double: i:0 \(dtype int32\)"):
            ema.apply([tf.Variable(1, name="i")])
        with pytest.raises(TypeError, match="apply: argument 'var_list' expected a Variable or Tensor, got ndarray"):
            ema.apply([np.zeros(2, np.float32)])
        with pytest.raises(TypeError, match="average: argument 'var' expected a Variable or Tensor, got int"):
            ema.average(3)
        with pytest.raises(NotImplementedError, match=r"apply: a tensor of unknown shape \(p:0, shape \(\?, 2\)\)"):
            ema.apply([tf.placeholder(tf.float32, (None, 2), name="p")])
        with pytest.raises(ValueError, match="requested dtype float32 for Tensor with dtype float64"):
            tf.train.ExponentialMovingAverage(tf.constant(0.9, tf.float64)).apply([tf.Variable(1.0)])
