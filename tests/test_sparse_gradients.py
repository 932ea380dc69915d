"""Sparse gradients (an embedding lookup's, TF's ``IndexedSlices``) in the static frontend, against float64 NumPy
loops of what TF does with them: TF1's Momentum, RMSProp, Adagrad and Adadelta step only the rows looked up;
Keras 3's adaptive optimizers square a repeated row's slices apart; TF's norms count the slices.  A batch
that repeats a token, or leaves a row out, tells each apart from the dense sum."""
import numpy as np
import pytest

import backends
import static_api as tf
from core.ops import optim as O

R = np.random.default_rng(41)
E0 = R.normal(size=(7, 3))
# Repeated ids in every batch, and rows 5 and 6 looked up only in some (row 6 in the first batch only).
IDS = [np.array([0, 0, 1, 6]), np.array([2, 3, 2, 2]), np.array([1, 1, 5, 0]), np.array([4, 0, 0, 3])]
TARGETS = [R.normal(size=(4, 3)) for _ in IDS]


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _grads(E, ids, t):
    """d/dE of sum((E[ids] - t)^2): the slices (one per id) and their dense sum."""
    slices = 2 * (E[ids] - t)
    dense = np.zeros_like(E)
    np.add.at(dense, ids, slices)
    return slices, dense


def _tf1_run(make, dtype=np.float64, lookups=1, dense_use=False):
    """Train E on the batches with a TF1 optimizer; returns E after each step and the optimizer."""
    E = tf.Variable(E0.astype(dtype))
    i = tf.placeholder(tf.int32, [4])
    t = tf.placeholder(dtype, [4, 3])
    loss = tf.reduce_sum(tf.square(tf.nn.embedding_lookup(E, i) - t))
    if lookups == 2:        # the same rows looked up twice (through an identity): one sparse gradient in TF
        loss = loss + tf.reduce_sum(tf.square(tf.gather(tf.identity(E), i) - t))
    if dense_use:           # any dense use makes the gradient dense in TF
        loss = loss + 0.5 * tf.reduce_sum(E * E)
    opt = make()
    step = opt.minimize(loss)
    out = []
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        for ids, target in zip(IDS, TARGETS):
            s.run(step, {i: ids, t: target})
            out.append(s.run(E))
        slots = {n: s.run(opt.get_slot(E, n)) for n in opt.get_slot_names()}
    return out, slots


def _lazy(update, slots, lookups=1, dense_use=False):
    """A float64 loop of a TF1 sparse update: ``update(w, g, slots)`` on the rows looked up only, the row's
    slices summed first; with ``dense_use`` every row steps (the gradient is dense)."""
    E, out = E0.copy(), []
    for ids, target in zip(IDS, TARGETS):
        _, g = _grads(E, ids, target)
        g = g * lookups + (E if dense_use else 0)
        rows = np.arange(len(E)) if dense_use else np.unique(ids)
        sub = {k: v[rows] for k, v in slots.items()}
        E[rows] = update(E[rows], g[rows], sub)
        for k in slots:
            slots[k][rows] = sub[k]
        out.append(E.copy())
    return out, slots


def f32(x):
    """A hyperparameter as TF1 holds it: a float32 constant, cast to the variable's dtype."""
    return float(np.float32(x))


def _momentum(w, g, s, lr=f32(0.1), mu=f32(0.9)):
    s["momentum"][...] = s["momentum"] * mu + g
    return w - lr * s["momentum"]


def _rmsprop(w, g, s, lr=f32(0.05), rho=f32(0.9), mu=0.5, eps=f32(1e-10)):
    s["rms"][...] = s["rms"] * rho + g * g * (1 - rho)
    s["momentum"][...] = s["momentum"] * mu + lr * g / np.sqrt(s["rms"] + eps)
    return w - s["momentum"]


def _adadelta(w, g, s, lr=1.0, rho=f32(0.95), eps=f32(1e-8)):
    s["accum"][...] = s["accum"] * rho + g * g * (1 - rho)
    d = np.sqrt(s["accum_update"] + eps) / np.sqrt(s["accum"] + eps) * g
    s["accum_update"][...] = s["accum_update"] * rho + d * d * (1 - rho)
    return w - lr * d


LAZY = {
    "momentum": (lambda: tf.train.MomentumOptimizer(0.1, 0.9), _momentum, {"momentum": 0.0}),
    "rmsprop": (lambda: tf.train.RMSPropOptimizer(0.05, momentum=0.5), _rmsprop, {"rms": 1.0, "momentum": 0.0}),
    "adadelta": (lambda: tf.train.AdadeltaOptimizer(1.0), _adadelta, {"accum": 0.0, "accum_update": 0.0}),
}


@pytest.mark.parametrize("case", sorted(LAZY))
def test_tf1_lazy_optimizers_step_only_the_rows_looked_up(case):
    make, update, init = LAZY[case]
    ours, our_slots = _tf1_run(make)
    want, want_slots = _lazy(update, {k: np.full_like(E0, v) for k, v in init.items()})
    for a, b in zip(ours, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    for k in init:
        np.testing.assert_allclose(our_slots[k], want_slots[k], rtol=1e-12, atol=1e-14)
    # row 6 was looked up in the first batch only: it moved then and never again (a dense step would go on
    # moving it with its momentum, or decay its moments)
    assert not np.array_equal(ours[0][6], E0[6])
    assert all(np.array_equal(e[6], ours[0][6]) for e in ours[1:])
    dense, _ = _lazy(update, {k: np.full_like(E0, v) for k, v in init.items()}, dense_use=True)
    assert np.abs(dense[-1] - want[-1]).max() > 1e-3       # the dense rule really differs here


def test_a_variable_looked_up_twice_is_still_sparse_and_a_dense_use_makes_it_dense():
    make, update, init = LAZY["momentum"]
    ours, _ = _tf1_run(make, lookups=2)
    want, _ = _lazy(update, {"momentum": np.zeros_like(E0)}, lookups=2)
    np.testing.assert_allclose(ours[-1], want[-1], rtol=1e-12, atol=1e-14)
    tf.reset_default_graph()
    ours, _ = _tf1_run(make, dense_use=True)
    want, _ = _lazy(update, {"momentum": np.zeros_like(E0)}, dense_use=True)
    np.testing.assert_allclose(ours[-1], want[-1], rtol=1e-12, atol=1e-14)
    assert not np.array_equal(ours[-1][6], ours[0][6])      # row 6 keeps moving with its momentum


def test_tf1_adam_and_gradient_descent_step_every_row():
    """TF1's Adam (not lazy: its sparse step decays every row's moments) and plain descent give the dense
    gradient's numbers."""
    for make in (lambda: tf.train.AdamOptimizer(0.1), lambda: tf.train.GradientDescentOptimizer(0.1)):
        tf.reset_default_graph()
        sparse, _ = _tf1_run(make)
        tf.reset_default_graph()
        E = tf.Variable(E0)
        i = tf.placeholder(tf.int32, [4])
        t = tf.placeholder(tf.float64, [4, 3])
        # the same loss through a one-hot matmul: a dense gradient
        loss = tf.reduce_sum(tf.square(tf.matmul(tf.one_hot(i, 7, dtype=tf.float64), E) - t))
        step = make().minimize(loss)
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            for ids, target in zip(IDS, TARGETS):
                s.run(step, {i: ids, t: target})
            np.testing.assert_allclose(s.run(E), sparse[-1], rtol=1e-12, atol=1e-14)


def test_norms_of_a_sparse_gradient_count_its_slices():
    E = tf.Variable(E0)
    i = tf.placeholder(tf.int32, [4])
    w = tf.Variable(np.arange(3.0))
    loss = tf.reduce_sum(tf.square(tf.nn.embedding_lookup(E, i) - TARGETS[0])) + tf.reduce_sum(w * w)
    g_e, g_w = tf.gradients(loss, [E, w])
    clipped, norm = tf.clip_by_global_norm([g_e, g_w], 1.0)
    by_norm = tf.clip_by_norm(g_e, 1.0)
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        got = s.run([tf.global_norm([g_e, g_w]), norm, clipped[0], by_norm], {i: IDS[1]})
    slices, dense = _grads(E0, IDS[1], TARGETS[0])
    want = np.sqrt((slices ** 2).sum() + ((2 * np.arange(3.0)) ** 2).sum())
    dense_norm = np.sqrt((dense ** 2).sum() + ((2 * np.arange(3.0)) ** 2).sum())
    assert abs(want - dense_norm) > 0.1 * want          # ids 2, 2, 2 repeat: the two norms differ
    np.testing.assert_allclose(got[0], want, rtol=1e-14)
    np.testing.assert_allclose(got[1], want, rtol=1e-14)
    np.testing.assert_allclose(got[2], dense / want, rtol=1e-12)
    np.testing.assert_allclose(got[3], dense / np.sqrt((slices ** 2).sum()), rtol=1e-12)


def test_a_clipped_sparse_gradient_stays_sparse_for_a_lazy_optimizer():
    E = tf.Variable(E0)
    i = tf.placeholder(tf.int32, [4])
    t = tf.placeholder(tf.float64, [4, 3])
    loss = tf.reduce_sum(tf.square(tf.nn.embedding_lookup(E, i) - t))
    opt = tf.train.MomentumOptimizer(0.1, 0.9)
    grads, _ = tf.clip_by_global_norm([g for g, _ in opt.compute_gradients(loss, [E])], 0.5)
    step = opt.apply_gradients([(grads[0], E)])
    want, mom = E0.copy(), np.zeros_like(E0)
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        for ids, target in zip(IDS, TARGETS):
            s.run(step, {i: ids, t: target})
            slices, g = _grads(want, ids, target)
            g = g * 0.5 / max(np.sqrt((slices ** 2).sum()), 0.5)
            rows = np.unique(ids)
            mom[rows] = mom[rows] * f32(0.9) + g[rows]
            want[rows] -= f32(0.1) * mom[rows]
        np.testing.assert_allclose(s.run(E), want, rtol=1e-12, atol=1e-14)


def test_keras_adam_squares_a_repeated_rows_slices_apart():
    """Keras 3 on TensorFlow: every row's moments decay, and v takes the sum of the slices' squares."""
    keras = tf.keras
    model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(7, 3), keras.layers.Flatten()])
    model.set_weights([E0.astype(np.float32)])
    model.compile(keras.optimizers.Adam(0.1), "mse")
    for ids, target in zip(IDS, TARGETS):
        model.train_on_batch(ids[None], target.reshape(1, -1).astype(np.float32))
    E, m, v = E0.copy(), np.zeros_like(E0), np.zeros_like(E0)
    for step, (ids, target) in enumerate(zip(IDS, TARGETS), 1):
        slices, g = _grads(E, ids, target)
        slices, g = slices / 12, g / 12         # mse: the mean over the 12 outputs
        sq = np.zeros_like(E)
        np.add.at(sq, ids, slices ** 2)
        m += (g - m) * 0.1
        v += (sq - v) * 0.001
        E -= 0.1 * np.sqrt(1 - 0.999 ** step) / (1 - 0.9 ** step) * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(model.get_weights()[0], E, rtol=2e-5, atol=1e-6)
    assert not np.array_equal(model.get_weights()[0][6], E0[6].astype(np.float32))


# ----- the update primitives' ``sq`` ----------------------------------------------------------------------
SQUARING = {
    "keras_adam": (lambda: O.AdamPowers(0.9, 0.999, 1e-7, keras=True, inplace=True), "v",
                   lambda sq, s0: 0.001 * sq),
    "keras_rmsprop": (lambda: O.RMSprop(0.9, 1e-7, 0.0, False, eps_inside=True, lr_in_momentum=True, inplace=True),
                      "ms", lambda sq, s0: 0.1 * sq),
    "keras_adagrad": (lambda: O.Adagrad(1e-7, initial_accumulator_value=0.1, eps_inside=True, inplace=True), "acc",
                      lambda sq, s0: s0 + sq),
    "keras_adadelta": (lambda: O.Adadelta(0.95, 1e-7, keras=True, inplace=True), "v", lambda sq, s0: 0.05 * sq),
    "adamax": (lambda: O.Adamax(0.9, 0.999, 1e-7, inplace=True), "u", lambda sq, s0: sq),
    # Keras' Nadam casts b2 to float32 first
    "nadam": (lambda: O.Nadam(0.9, 0.999, 1e-7, inplace=True), "v", lambda sq, s0: (1 - f32(0.999)) * sq),
}


@pytest.mark.parametrize("case", sorted(SQUARING))
def test_update_primitives_take_the_square_they_are_given(case):
    """``sq`` stands for g^2 (|g| in Adamax): given g^2 itself the step keeps its bits; given another value,
    the second moment after one step from its start is that value's, as the formula says."""
    make, name, moment = SQUARING[case]
    be = backends.get_backend("cpu")
    g = R.normal(size=6)
    runs = []
    for sq in (None, np.abs(g) if case == "adamax" else g * g, 3 * g * g):
        op = make()
        w, slots = np.ones(6), list(op.init_slots(be, np.ones(6)))
        op.forward(be, w, g, *slots, np.float64(0.01), 1, sq=sq)
        runs.append((w, dict(zip(op.slot_names, slots))))
    if case == "keras_adadelta":        # its delta's square is formed as ratio^2 * g^2: within rounding
        np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-15)
    else:
        np.testing.assert_array_equal(runs[1][0], runs[0][0])
    s0 = make().slot_init(name)
    np.testing.assert_allclose(runs[2][1][name], moment(3 * g * g, s0), rtol=1e-14)
    assert np.abs(runs[2][0] - runs[0][0]).max() > 1e-7


def test_horovod_style_distributed_optimizer_reduces_sparse_gradients_dense_only_when_asked():
    """Horovod all-gathers an embedding's gradient and steps it sparse; dualflow reduces dense: it says so
    unless ``sparse_as_dense=True``, which then steps every row as a dense gradient (one process here)."""
    import static_api.distribute as hvd
    hvd.init()
    make, update, _ = LAZY["momentum"]
    with pytest.raises(NotImplementedError, match="sparse_as_dense=True"):
        _tf1_run(lambda: hvd.DistributedOptimizer(make()))
    tf.reset_default_graph()
    ours, _ = _tf1_run(lambda: hvd.DistributedOptimizer(make(), sparse_as_dense=True))
    want = E0.copy()
    mom = np.zeros_like(E0)
    for ids, target in zip(IDS, TARGETS):
        _, g = _grads(want, ids, target)
        mom = mom * f32(0.9) + g
        want = want - f32(0.1) * mom
    np.testing.assert_allclose(ours[-1], want, rtol=1e-12, atol=1e-14)
