"""TF1 optimizers keep their state in graph variables, as TF1 does: slots (``w/Adam``) and Adam's beta powers are
global variables, so ``Saver`` checkpoints them and training resumes where it stopped; Adam's arithmetic is
TF1's own (``core.ops.optim.AdamPowers``).  Parity with TensorFlow itself is in test_reference_tf."""
import numpy as np
import pytest

import backends
import static_api as tf
from backends.errors import FailedPreconditionError
from core.ops import optim as O

RNG = np.random.default_rng(3)
W0 = RNG.standard_normal((4, 3)).astype(np.float32)
B0 = RNG.standard_normal(3)                                  # float64: a second dtype
X = [RNG.standard_normal((5, 4)).astype(np.float32) for _ in range(6)]

OPTIMIZERS = {
    "adam": (lambda: tf.train.AdamOptimizer(0.01), ["beta1_power", "beta2_power", "w/Adam", "w/Adam_1", "b/Adam",
                                                    "b/Adam_1"], ["m", "v"]),
    "momentum": (lambda: tf.train.MomentumOptimizer(0.05, 0.9), ["w/Momentum", "b/Momentum"], ["momentum"]),
    "rmsprop": (lambda: tf.train.RMSPropOptimizer(0.01, centered=True),
                ["w/RMSProp", "w/RMSProp_1", "w/RMSProp_2", "b/RMSProp", "b/RMSProp_1", "b/RMSProp_2"],
                ["mg", "momentum", "rms"]),
    "adagrad": (lambda: tf.train.AdagradOptimizer(0.1), ["w/Adagrad", "b/Adagrad"], ["accumulator"]),
    "adadelta": (lambda: tf.train.AdadeltaOptimizer(1.0), ["w/Adadelta", "w/Adadelta_1", "b/Adadelta",
                                                          "b/Adadelta_1"], ["accum", "accum_update"]),
    "sgd": (lambda: tf.train.GradientDescentOptimizer(0.1), [], []),
}


def _model(make):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, 4))
        w = tf.Variable(W0, name="w")
        b = tf.Variable(B0, name="b")
        loss = tf.reduce_sum(tf.square(tf.nn.tanh(tf.matmul(x, w) + tf.cast(b, tf.float32))))
        opt = make()
        train = opt.minimize(loss)
    return g, x, w, b, opt, train


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_slots_are_global_variables_named_as_tf1_names_them(name):
    make, names, slot_names = OPTIMIZERS[name]
    g, x, w, b, opt, _ = _model(make)
    with g.as_default():
        assert [v.op.name for v in tf.global_variables()] == ["w", "b"] + names
        assert [v.op.name for v in tf.trainable_variables()] == ["w", "b"]
        assert [v.op.name for v in opt.variables()] == names
    assert opt.get_slot_names() == slot_names
    for s in slot_names:
        slot = opt.get_slot(w, s)
        assert slot.shape == w.shape and slot.dtype == w.dtype and opt.get_slot(b, s).dtype == np.float64
    if name == "rmsprop":       # TF1 makes rms, mg, momentum in that order
        assert [opt.get_slot(w, s).op.name for s in ("rms", "mg", "momentum")] == names[:3]
    assert opt.get_slot(w, "nonexistent") is None


def test_initial_slot_values_follow_tf1():
    g, x, w, b, opt, _ = _model(lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5))
    with tf.Session(graph=g) as s:
        s.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(s.run(opt.get_slot(w, "rms")), np.ones((4, 3), np.float32))
        np.testing.assert_array_equal(s.run(opt.get_slot(w, "momentum")), np.zeros((4, 3), np.float32))
    g, x, w, b, opt, _ = _model(lambda: tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.25))
    with tf.Session(graph=g) as s:
        s.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(s.run(opt.get_slot(b, "accumulator")), np.full(3, 0.25))
    g, x, w, b, opt, _ = _model(lambda: tf.train.AdamOptimizer(0.01, beta1=0.8, beta2=0.99))
    assert opt._get_beta_accumulators() == (None, None)         # not made in the default graph
    with g.as_default():
        b1p, b2p = opt._get_beta_accumulators()
    with tf.Session(graph=g) as s:
        s.run(tf.global_variables_initializer())
        assert s.run(b1p) == np.float32(0.8) and s.run(b2p) == np.float32(0.99) and s.run(b1p).dtype == np.float32


def test_slots_ignore_the_name_scope_and_a_second_optimizer_gets_new_names():
    """As TF1: the beta powers belong to the scope minimize is called in, the slots to their variable."""
    with tf.Graph().as_default():
        with tf.variable_scope("layer"):
            w = tf.get_variable("w", initializer=W0)
        loss = tf.reduce_sum(w * w)
        with tf.name_scope("train"):
            tf.train.AdamOptimizer(0.1).minimize(loss)
        tf.train.AdamOptimizer(0.1).minimize(loss)
        assert [v.op.name for v in tf.global_variables()] == [
            "layer/w", "train/beta1_power", "train/beta2_power", "layer/w/Adam", "layer/w/Adam_1",
            "beta1_power", "beta2_power", "layer/w/Adam_2", "layer/w/Adam_3"]


def test_an_optimizer_made_after_the_initializer_ran_fails_as_in_tf1():
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(W0, name="w")
        s = tf.Session()
        s.run(tf.global_variables_initializer())
        train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(tf.reduce_sum(w * w))
        with pytest.raises(FailedPreconditionError, match="uninitialized value w/Momentum"):
            s.run(train)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_training_resumes_from_a_checkpoint_as_if_never_stopped(name, tmp_path):
    """Three steps, save, a new graph and session restored, three more: the same bits as six steps in one go
    (the slots and Adam's beta powers are in the checkpoint; before, they restarted from zero)."""
    make = OPTIMIZERS[name][0]
    g, x, w, b, opt, train = _model(make)
    with tf.Session(graph=g) as s:
        s.run(tf.global_variables_initializer())
        for xb in X:
            s.run(train, {x: xb})
        straight = s.run([w, b])
    g, x, w, b, opt, train = _model(make)
    with g.as_default():
        saver = tf.train.Saver()
    with tf.Session(graph=g) as s:
        s.run(tf.global_variables_initializer())
        for xb in X[:3]:
            s.run(train, {x: xb})
        path = saver.save(s, str(tmp_path / "ckpt"))
    g, x, w, b, opt, train = _model(make)
    with g.as_default():
        saver = tf.train.Saver()
    with tf.Session(graph=g) as s:
        saver.restore(s, path)
        for xb in X[3:]:
            s.run(train, {x: xb})
        resumed = s.run([w, b])
    for a, c in zip(straight, resumed):
        assert a.tobytes() == c.tobytes()
    assert not np.array_equal(straight[0], W0)


def _tf1_adam(w, grads, lr, b1, b2, eps):
    """TF1's ApplyAdam written out per element with NumPy scalars of w's dtype (its kernel's order)."""
    dt = w.dtype.type
    c = lambda v: dt(np.float32(v))             # noqa: E731  TF1's hyperparameters are float32 tensors
    m, v, w = np.zeros_like(w), np.zeros_like(w), w.copy()
    b1p, b2p = np.float32(b1), np.float32(b2)
    for g in grads:
        alpha = c(lr) * np.sqrt(dt(1) - dt(b2p)) / (dt(1) - dt(b1p))
        for i in range(w.size):
            m.flat[i] = m.flat[i] + (g.flat[i] - m.flat[i]) * (dt(1) - c(b1))
            v.flat[i] = v.flat[i] + (g.flat[i] * g.flat[i] - v.flat[i]) * (dt(1) - c(b2))
            w.flat[i] = w.flat[i] - (m.flat[i] * alpha) / (np.sqrt(v.flat[i]) + c(eps))
        b1p, b2p = b1p * np.float32(b1), b2p * np.float32(b2)
    return w, m, v, (b1p, b2p)


@pytest.mark.parametrize("numba", ["1", "0"], ids=["compiled", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_powers_is_tf1s_kernel_bit_for_bit(monkeypatch, numba, dtype):
    monkeypatch.setenv("DUALFLOW_NUMBA", numba)
    rng = np.random.default_rng(9)
    w0 = rng.standard_normal(37).astype(dtype)
    grads = [(rng.standard_normal(37) * 10.0 ** rng.integers(-4, 3, 37)).astype(dtype) for _ in range(5)]
    op = O.AdamPowers(0.9, 0.999, 1e-8, inplace=True)
    be = backends.backend_of(w0)
    w, (m, v) = w0.copy(), op.init_slots(be, w0)
    powers = (np.array(0.9, np.float32), np.array(0.999, np.float32))
    for g in grads:
        op.forward(be, w, g, m, v, 1e-3, powers)
        op.advance(be, powers)
    want = _tf1_adam(w0, grads, 1e-3, 0.9, 0.999, 1e-8)
    for a, b in zip((w, m, v, *powers), (*want[:3], *want[3])):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    assert not np.array_equal(w, w0)


def test_adam_powers_reads_nothing_back_from_the_device(monkeypatch):
    """Its powers given as device numbers (the guard of test_optim_primitives): alpha is computed there."""
    from tests.test_optim_primitives import _OnDevice
    monkeypatch.setenv("DUALFLOW_NUMBA", "0")
    op = O.AdamPowers(inplace=True)
    w = W0.copy()
    m, v = op.init_slots(backends.backend_of(w), w)
    powers = tuple(np.array(p, np.float32).view(_OnDevice) for p in (0.9, 0.999))
    host = tuple(np.array(p, np.float32) for p in (0.9, 0.999))
    w2, m2, v2 = w.copy(), m.copy(), v.copy()
    for g in (W0 * 0.5, W0 - 1):
        op.forward(backends.backend_of(w), w, g, m, v, 0.01, powers)
        op.advance(None, powers)
        op.forward(backends.backend_of(w), w2, g, m2, v2, 0.01, host)
        op.advance(None, host)
    assert w.tobytes() == w2.tobytes() and isinstance(powers[0], _OnDevice)
    assert powers[0].view(np.ndarray) == np.float32(0.9) * np.float32(0.9) * np.float32(0.9)    # advanced twice



def test_keras_compile_initializes_a_tf1_optimizers_variables_once():
    """``model.compile(optimizer=tf.train.AdamOptimizer())`` trains (TF1's Keras initialized the optimizer's
    variables; they would otherwise be uninitialized), and compiling again keeps the moments and powers."""
    m = tf.keras.Sequential([tf.keras.layers.Dense(2, input_shape=(4,))])
    opt = tf.train.AdamOptimizer(0.01)
    m.compile(optimizer=opt, loss="mse")
    x, y = X[0], RNG.standard_normal((5, 2)).astype(np.float32)
    k, b = (a.astype(np.float64) for a in m.get_weights())
    m.fit(x, y, batch_size=5, epochs=1, verbose=0)
    with m.graph.as_default():
        b1p, _ = opt._get_beta_accumulators()
    slot = opt.get_slot(m.layers[0].kernel, "m")
    before = m._session().run([b1p, slot])
    assert before[0] == np.float32(0.9) * np.float32(0.9)       # advanced once from 0.9
    # After one step m = (1 - b1) g, with g the mean squared error's gradient at the initial kernel.
    g = 2.0 / y.size * x.T.astype(np.float64) @ (x @ k + b - y)
    np.testing.assert_allclose(before[1], 0.1 * g, rtol=1e-5, atol=1e-7)
    m.compile(optimizer=opt, loss="mse")
    after = m._session().run([b1p, slot])
    assert after[0] == before[0] and np.array_equal(after[1], before[1])
