"""The flat optimizer update (``core.ops.state.ApplyUpdates`` with ``flat``): the variables of one dtype and
their slots live in one buffer each, and one call of the update primitive updates them all.  The reference is
the per-variable path (``DUALFLOW_FLAT_UPDATES=0``): the same primitive, one call per variable, whose values
the optimizer tests check against TensorFlow and Keras.  No arithmetic is reordered, so the bits must agree."""
import numpy as np
import pytest

import backends
import static_api as tf
from core import device
from core.state import State
from tests.helpers import assert_same_bits

K = tf.keras.optimizers
OPTIMIZERS = {
    "sgd": lambda: tf.train.GradientDescentOptimizer(0.1),
    "momentum": lambda: tf.train.MomentumOptimizer(0.1, 0.9),
    "nesterov": lambda: tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True),
    "adam": lambda: tf.train.AdamOptimizer(0.01),
    "rmsprop": lambda: tf.train.RMSPropOptimizer(0.01),
    "rmsprop_centered": lambda: tf.train.RMSPropOptimizer(0.01, centered=True),
    "rmsprop_momentum": lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.9),
    "rmsprop_centered_momentum": lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.9, centered=True),
    "adagrad": lambda: tf.train.AdagradOptimizer(0.1),
    "adadelta": lambda: tf.train.AdadeltaOptimizer(1.0),
    "keras_adam": lambda: K.Adam(0.01),
    "keras_adam_amsgrad": lambda: K.Adam(0.01, amsgrad=True),
    "keras_adamw": lambda: K.AdamW(0.01),
    "keras_adamw_amsgrad": lambda: K.AdamW(0.01, amsgrad=True),
    "keras_sgd": lambda: K.SGD(0.1),
    "keras_sgd_momentum": lambda: K.SGD(0.1, momentum=0.9),
    "keras_sgd_nesterov": lambda: K.SGD(0.1, momentum=0.9, nesterov=True),
    "keras_rmsprop": lambda: K.RMSprop(0.01),
    "keras_rmsprop_centered_momentum": lambda: K.RMSprop(0.01, momentum=0.9, centered=True),
    "keras_adagrad": lambda: K.Adagrad(0.1),
    "keras_adadelta": lambda: K.Adadelta(1.0),
}
NAMES = ("W", "b", "s", "T", "d")


class _Model:
    """Five variables of different shapes: a matrix and a 3-d tensor read through transposes (their gradients
    arrive as strided views), a vector, a scalar and a float64 vector (a second dtype: a second flat
    buffer); each step's loss depends on a fed batch, so every step's gradients differ."""

    def __init__(self, make_opt, flat, monkeypatch, rate_tensor=False, n_opts=1):
        monkeypatch.setenv("DUALFLOW_FLAT_UPDATES", "1" if flat else "0")
        self.flat = flat
        rng = np.random.default_rng(0)
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.x = tf.placeholder(tf.float32, (None, 3))
            v = self.vars = {
                "W": tf.Variable(rng.normal(size=(4, 3)).astype(np.float32), name="W"),
                "b": tf.Variable(rng.normal(size=4).astype(np.float32), name="b"),
                "s": tf.Variable(np.float32(0.7), name="s"),
                "T": tf.Variable(rng.normal(size=(2, 3, 4)).astype(np.float32), name="T"),
                "d": tf.Variable(rng.normal(size=4), name="d"),
            }
            tt = tf.reduce_sum(tf.transpose(v["T"], (2, 0, 1)), axis=(1, 2))       # (4,)
            h = (tf.matmul(self.x, tf.transpose(v["W"])) + v["b"]) * v["s"] + tf.cast(v["d"], tf.float32) + tt
            self.loss = tf.reduce_mean(tf.square(tf.nn.tanh(h)))
            self.global_step = tf.train.get_or_create_global_step()
            self.opts = []
            if rate_tensor:
                rate = tf.train.exponential_decay(0.05, self.global_step, 2, 0.5)
                opt = make_opt()
                opt.learning_rate = rate
                self.opts.append(opt)
                self.train = [opt.minimize(self.loss, global_step=self.global_step)]
            elif n_opts == 1:
                self.opts.append(make_opt())
                self.train = [self.opts[0].minimize(self.loss, global_step=self.global_step)]
            else:
                self.train = []
                for make, names in make_opt:
                    self.opts.append(make())
                    self.train.append(self.opts[-1].minimize(self.loss, var_list=[v[n] for n in names]))
            self.sess = tf.Session()
            self.sess.run(tf.global_variables_initializer())
        self.rng = np.random.default_rng(1)

    def step(self, train=None):
        feed = {self.x: self.rng.normal(size=(5, 3)).astype(np.float32)}
        self.sess.run(self.train if train is None else train, feed)
        return self.values()

    def values(self):
        return self.sess.run([self.vars[n] for n in NAMES])

    def slots(self):
        """Every slot array of every optimizer, in a fixed order."""
        st = self.sess.state
        return [np.array(a) for opt in self.opts for n in NAMES for _, a in sorted(st.slots(opt, self.vars[n].key)
                                                                                     .items())]


def _both(monkeypatch, make_opt, script, **kw):
    """Run ``script(model)`` (a list of value lists) on the flat and the per-variable path, check that they
    give the same bits, and return the flat path's values."""
    got = script(_Model(make_opt, True, monkeypatch, **kw))
    want = script(_Model(make_opt, False, monkeypatch, **kw))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_same_bits(g, w)
    return got


def _steps(n):
    def script(m):
        return [m.step() for _ in range(n)] + [m.slots()]
    return script


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_flat_update_gives_the_per_variable_bits(name, monkeypatch):
    got = _both(monkeypatch, OPTIMIZERS[name], _steps(4))
    assert all(not np.array_equal(a, b) for a, b in zip(got[0], got[3]))        # every variable trains


def test_flat_path_really_packs_and_the_reference_really_does_not(monkeypatch):
    flat = _Model(OPTIMIZERS["adam"], True, monkeypatch)
    per = _Model(OPTIMIZERS["adam"], False, monkeypatch)
    seen = []
    op = flat.train[0].node.op
    run = op.forward

    def record(be, *inputs):
        seen.append([g.flags.c_contiguous for g in inputs[:len(op.keys)]])
        return run(be, *inputs)

    op.forward = record
    for m in (flat, per):
        m.step()
    st = flat.sess.state
    held = {n: st.flat_of(flat.vars[n].key) for n in NAMES}
    f32, f64 = held["W"], held["d"]
    # The float32 variables share one buffer, the float64 one has its own; their slots too.
    assert all(held[n] is f32 for n in "WbsT") and f64 is not None and f64 is not f32
    assert f32.w.size == 12 + 4 + 1 + 24 and f32.w.dtype == np.float32 and f64.w.dtype == np.float64
    assert np.shares_memory(st.read("T"), f32.w) and np.shares_memory(st.slots(flat.opts[0], "T")["m"],
                                                                       f32.slots["m"])
    assert all(per.sess.state.flat_of(per.vars[n].key) is None for n in NAMES)
    assert seen[0] == [False, True, True, False, True]      # W's and T's gradients are strided views


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_a_read_after_the_first_update_sees_its_result(name, monkeypatch):
    """``with tf.control_dependencies([train]): tf.identity(w)`` reads w after the update, as TF1's ref
    variables: on the first step too, when packing moves the variables to the flat buffer (the read's input was
    the old buffer, and gave the values from before the update)."""
    def script(m):
        after = []
        with m.graph.as_default(), tf.control_dependencies(m.train):
            reads = [tf.identity(m.vars[n]) for n in NAMES]
        for _ in range(2):
            after.append(m.sess.run(reads, {m.x: m.rng.normal(size=(5, 3)).astype(np.float32)}))
            after.append(m.values())
        return after
    got = _both(monkeypatch, OPTIMIZERS[name], script)
    assert all(np.array_equal(a, b) for a, b in zip(got[0], got[1]))        # the reads are the updated values
    assert not any(np.array_equal(a, b) for a, b in zip(got[0], got[2]))    # and a second step moves them


@pytest.mark.parametrize("name", ["momentum", "adam", "rmsprop_centered", "keras_adamw"])
def test_a_decaying_rate_tensor(name, monkeypatch):
    _both(monkeypatch, OPTIMIZERS[name], _steps(5), rate_tensor=True)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_assign_and_load_between_steps_write_into_the_packing(name, monkeypatch):
    def script(m):
        out = [m.step(), m.step()]
        st = m.sess.state
        before = st.flat_of("W")
        with m.graph.as_default():
            put = tf.assign(m.vars["W"], tf.ones((4, 3)) * 0.5)
        fetched = m.sess.run(put)
        m.vars["s"].load(-1.25, m.sess)
        out.append(m.values())
        assert st.flat_of("W") is before            # an assign copies into the packed buffer
        assert (fetched == 0.5).all()
        out += [m.step(), m.step(), m.slots()]
        assert (fetched == 0.5).all()               # a fetched value is the caller's copy
        return out
    got = _both(monkeypatch, OPTIMIZERS[name], script)
    assert (got[2][0] == 0.5).all() and got[2][2] == -1.25


def test_saver_restore_between_steps(monkeypatch, tmp_path):
    def script(m):
        with m.graph.as_default():
            saver = tf.train.Saver()
        out = [m.step(), m.step()]
        path = saver.save(m.sess, str(tmp_path / f"ckpt{id(m)}"))
        saved = m.values()
        out += [m.step(), m.step()]
        saver.restore(m.sess, path)
        restored = m.values()
        assert_same_bits(restored, saved)
        out += [restored, m.step(), m.step(), m.slots()]
        return out
    _both(monkeypatch, OPTIMIZERS["adam"], script)


def test_two_optimizers_on_overlapping_and_disjoint_variables(monkeypatch):
    # Adam and Momentum share b; SGD has d to itself.  Whichever packs b first keeps it; the other updates it
    # on the per-variable path, and nothing is packed again step after step.
    make = [(OPTIMIZERS["adam"], "WbsT"), (OPTIMIZERS["momentum"], "bT"), (OPTIMIZERS["sgd"], "d")]

    def script(m):
        be = backends.get_backend(device.default())
        st = m.sess.state
        out = [m.step(), m.step(m.train[0]), m.step(m.train[1:])]
        packings = [st.memo.get(t.node.op) for t in m.train]
        flats = [st.flat_of(m.vars[n].key) for n in NAMES]
        allocations = be.allocations
        out += [m.step() for _ in range(3)]
        assert [st.memo.get(t.node.op) for t in m.train] == packings
        assert [st.flat_of(m.vars[n].key) for n in NAMES] == flats
        if m.flat:
            # Adam ran first and packed W, b, s, T; Momentum updates b and T per variable; SGD packed d.
            assert flats[0] is flats[1] is flats[2] is flats[3] and flats[4] not in (None, flats[0])
            assert [len(p.buckets) for p in packings] == [1, 0, 1] and packings[1].rest == [0, 1]
            assert be.allocations == allocations
        else:
            assert flats == [None] * 5
        return out + [m.slots()]
    _both(monkeypatch, make, script, n_opts=3)


def test_a_train_op_takes_over_the_variables_of_one_that_stopped_running(monkeypatch):
    # Two training phases (or a train op built anew): Adam on W, b, s, T, then Momentum on b and T alone, then
    # Adam again.  Each phase's op finds the other's packing; after one step on the per-variable path (the
    # other op might still run in between) it packs them itself.
    make = [(OPTIMIZERS["adam"], "WbsT"), (OPTIMIZERS["momentum"], "bT")]

    def script(m):
        st = m.sess.state
        adam, momentum = m.train
        out = [m.step(adam) for _ in range(3)]
        first = st.flat_of("b")
        out.append(m.step(momentum))
        held = [st.flat_of(n) for n in "WbT"]
        out += [m.step(momentum) for _ in range(3)]
        taken = [st.flat_of(n) for n in "WbT"]
        out += [m.step(adam) for _ in range(3)]
        if m.flat:
            assert held == [first] * 3                              # still Adam's after Momentum's first step
            assert taken[0] is first and taken[1] is taken[2] not in (None, first)      # then Momentum's
            assert st.flat_of("W") is st.flat_of("b") is st.flat_of("T") not in (None, first, taken[1])
        return out + [m.slots()]
    _both(monkeypatch, make, script, n_opts=2)


def test_a_variable_moved_out_is_packed_again(monkeypatch):
    # ``attach`` (what eager parameters use) and a fresh slot dict replace a packed buffer: the next step
    # packs again, copying the current values in.
    def script(m):
        out = [m.step(), m.step()]
        st = m.sess.state
        first = st.flat_of("W")
        st.attach("b", np.full(4, 2.0, np.float32))
        st.attach_slots(m.opts[0], "W", {})
        out += [m.step(), m.step(), m.slots()]
        if m.flat:
            assert st.flat_of("W") not in (None, first) and st.flat_of("b") is st.flat_of("W")
            assert np.shares_memory(st.slots(m.opts[0], "W")["m"], st.flat_of("W").slots["m"])
        return out
    _both(monkeypatch, OPTIMIZERS["adam"], script)


@pytest.mark.parametrize("move", ["attach", "assign_new_dtype", "attach_slots"])
def test_steps_skip_their_checks_until_something_moves(move, monkeypatch):
    # Once a step found the packing whole, the next ones skip the checks (``ApplyUpdates._steady``) until the
    # State says something moved: each move alone must bring the checks, and so the repacking, back.
    from core.ops.state import _Packing
    checks = []
    holds = _Packing.holds
    monkeypatch.setattr(_Packing, "holds", lambda self, st: checks.append(1) or holds(self, st))

    def script(m):
        out = [m.step(), m.step(), m.step()]
        st = m.sess.state
        if m.flat:
            assert checks == []         # the first step packed and settled: nothing moved since
        if move == "attach":
            st.attach("b", np.full(4, 2.0, np.float32))
        elif move == "assign_new_dtype":     # a new buffer each time (the second back in float32)
            st.assign("s", np.float64(0.5))
            st.assign("s", np.float32(0.25))
        else:
            st.attach_slots(m.opts[0], "W", {})
        checks.clear()
        out += [m.step(), m.step(), m.slots()]
        if m.flat:
            assert len(checks) == 1     # the step after the move checked (and packed again), the next did not
            assert st.flat_of("W") is not None and st.flat_of("W") is st.flat_of("b")
        return out
    _both(monkeypatch, OPTIMIZERS["adam"], script)


def test_planned_steps_write_the_gradients_into_the_packing(monkeypatch):
    # The memory plan gives each gradient a writer makes in C order its part of the packing's gradient buffer
    # (``ApplyUpdates.gradient_buffers``): the update then gathers only the rest, with the same bits.
    from core.ops import state as ops_state
    found = []
    gather = ops_state._gather
    monkeypatch.setattr(ops_state, "_gather", lambda xp, grads, f: found.append(
        [g is v for g, v in zip(grads, f.grad_views)]) or gather(xp, grads, f))

    def script(m):
        out = [m.step() for _ in range(4)] + [m.slots()]
        if m.flat:
            (entry,) = [e for e in m.sess._executor._plans.values()
                        if any(type(s.op).__name__ == "_ApplyGradients" for s in e.program.steps)]
            assert entry.plan.outside and not set(entry.plan.outside) & set(entry.plan.slots)
            # The float32 bucket (W, b, s, T) and the float64 one (d).  The unplanned first run gathers
            # everything; the planned runs find b, s and d in place, not W and T (read through transposes,
            # their gradients are transposed views, made anew each run), so they gather into the float32
            # bucket only (the update's steady step knows the float64 one is in place).
            assert found[:2] == [[False] * 4, [False]]
            assert found[2:] == [[False, True, True, False]] * 3
        return out
    _both(monkeypatch, OPTIMIZERS["adam"], script)


def _steady_bound(m) -> bool:
    """Whether the training step's planned function runs the update's steady step bound once
    (``ApplyUpdates.steady_call``) rather than its ``forward``."""
    (entry,) = [e for e in m.sess._executor._plans.values()
                if any(type(s.op).__name__ == "_ApplyGradients" for s in e.program.steps)]
    names = {getattr(v, "__qualname__", "") for v in entry.straight.run.__globals__.values()}
    return "ApplyUpdates.steady_call.<locals>.run" in names


@pytest.mark.parametrize("name", ["adam", "keras_adam", "momentum"])
def test_planned_steps_bind_the_steady_update_and_follow_what_changes(name, monkeypatch):
    # From the first planned run on, the update runs as its steady step, bound once; what changes between steps
    # is followed: a Keras rate assigned, the global step counted, a variable moved (the step is bound again
    # after the move's repacking), the kernels' settings changed.  The bits stay the per-variable path's.
    def script(m):
        out = [m.step(), m.step(), m.step()]
        if m.flat:
            assert _steady_bound(m)
        if name.startswith("keras"):
            m.opts[0].learning_rate = 0.003
        out += [m.step(), [np.asarray(m.sess.run(m.global_step))]]
        m.sess.state.attach("b", np.full(4, 2.0, np.float32))
        out += [m.step()]
        if m.flat:
            assert not _steady_bound(m)     # the step after the move checked and packed again
        out += [m.step(), m.step()]
        if m.flat:
            assert _steady_bound(m)
        monkeypatch.setenv("DUALFLOW_NUMBA", "0")
        st = m.sess.state
        out += [m.step(), m.step(), m.slots(), [np.asarray(m.sess.run(m.global_step))],
                [np.asarray([st.version(m.vars[n].key) for n in NAMES])]]     # each step records its writes
        return out
    got = _both(monkeypatch, OPTIMIZERS[name], script)
    assert got[4][0] == 4 and got[-2][0] == 9           # one count a step
    assert not np.array_equal(got[2][1], got[3][1])     # the step after the rate change still trains b


def test_tf1_adam_binds_its_kernel_to_the_packing_and_follows_the_switch(monkeypatch):
    # A flat TF1 Adam update binds the compiled kernel to its packing's buffers once (``AdamPowers.bind``), runs
    # it at each step with only alpha worked out, and binds again when DUALFLOW_NUMBA changes: the bits stay the
    # per-variable path's throughout.
    pytest.importorskip("numba", reason="numba is not installed: its kernels cannot run")
    from backends import numba_kernels
    binds = []
    real = numba_kernels.adam_powers_call

    def call(*arrays):
        run = real(*arrays)
        if run is not None:
            binds.append(arrays[0].size)
        return run
    monkeypatch.setattr(numba_kernels, "adam_powers_call", call)

    def script(m):
        monkeypatch.setenv("DUALFLOW_NUMBA", "1")
        out = [m.step() for _ in range(3)]
        if m.flat:
            assert binds == [4 * 3 + 4 + 1 + 2 * 3 * 4, 4]     # each bucket once: float32 (W, b, s, T), float64 (d)
            flats = {id(m.sess.state.flat_of(n)): m.sess.state.flat_of(n) for n in NAMES}.values()
            assert all(f.bound is not None for f in flats)
        monkeypatch.setenv("DUALFLOW_NUMBA", "0")
        binds.clear()
        out += [m.step(), m.step()]
        assert binds == []                  # the NumPy path: the kernel is not bound
        monkeypatch.setenv("DUALFLOW_NUMBA", "1")
        out += [m.step(), m.slots()]
        if m.flat:
            assert len(binds) == 2          # bound again
        return out
    _both(monkeypatch, OPTIMIZERS["adam"], script)


def test_a_variable_listed_twice_stays_per_variable(monkeypatch):
    def script(m):
        with m.graph.as_default():
            opt = tf.train.MomentumOptimizer(0.1, 0.9)
            (gw, w), = opt.compute_gradients(m.loss, [m.vars["W"]])
            (gb, b), = opt.compute_gradients(m.loss, [m.vars["b"]])
            train = opt.apply_gradients([(gw, w), (gb, b), (gw * 0.5, w)])
            m.sess.run(tf.variables_initializer(opt.variables()))       # its slots, made after the model's init
        out = [m.step(train) for _ in range(3)]
        assert m.sess.state.flat_of("W") is None
        return out
    _both(monkeypatch, OPTIMIZERS["sgd"], script)


def test_a_subclass_with_its_own_update_keeps_the_per_variable_path(monkeypatch):
    calls = []

    class Counting(tf.train.GradientDescentOptimizer):
        def _update(self, be, w, g, slot, t, lr):
            calls.append(w.shape)
            super()._update(be, w, g, slot, t, lr)

    m = _Model(lambda: Counting(0.1), True, monkeypatch)
    m.step()
    assert sorted(calls) == sorted([(4, 3), (4,), (), (2, 3, 4), (4,)])
    assert all(m.sess.state.flat_of(m.vars[n].key) is None for n in NAMES)


def test_state_assign_copies_into_the_buffer_and_pack_keeps_values():
    be = backends.get_backend(device.default())
    st = State()
    a = st.assign("a", np.arange(6.0).reshape(2, 3))
    assert st.assign("a", np.ones((2, 3))) is a and (a == 1).all() and st.version("a") == 2
    st.assign("b", np.float64(3.0))
    st.slots("opt", "a")["m"] = np.full((2, 3), 7.0)
    f = st.pack(["a", "b"], "opt", {"m": 0.5, "v": 1.5}, be)
    assert f.w.tolist() == [1.0] * 6 + [3.0] and st.version("a") == 2
    assert f.slots["m"].tolist() == [7.0] * 6 + [0.5] and f.slots["v"].tolist() == [1.5] * 7
    assert st.read("b").shape == () and np.shares_memory(st.read("b"), f.w)
    assert f.holds(st) and st.flat_of("a") is f
    st.assign("b", np.float64(-1.0))                # a NumPy scalar is copied in too
    assert f.holds(st) and f.w[-1] == -1.0
    st.assign("a", np.ones((2, 3), np.float32))     # another dtype: a new buffer, out of the packing
    assert not f.holds(st) and st.flat_of("a") is None and st.flat_of("b") is f
    st.slots("opt", "b")["v"] = np.zeros(())
    st.assign("a", np.ones((2, 3)))
    st.attach("a", f.views[0])
    assert not f.holds(st)


@pytest.mark.parametrize("frontend,kind", [("Static", "momentum"), ("Static", "adam"), ("StaticUnoptimized", "adam")])
def test_the_static_seed_cnn_trains_to_the_same_bits(frontend, kind, monkeypatch):
    from dualflow import models
    rng = np.random.default_rng(0)
    batches = [(rng.random((8, 1, 28, 28), np.float32), rng.integers(0, 10, 8)) for _ in range(4)]
    weights = {}
    for flat in (True, False):
        monkeypatch.setenv("DUALFLOW_FLAT_UPDATES", "1" if flat else "0")
        m = getattr(models, frontend)(models.init_weights((28, 28), 10, 0), 0.1, (28, 28), optimizer=kind)
        losses = [m.step(x, y) for x, y in batches]
        with m.graph.as_default():
            variables, trained = tf.global_variables(), tf.trainable_variables()   # the slots too: TF1 lists them
        weights[flat] = [np.asarray(losses)] + m.sess.run(variables)
        held = {m.sess.state.flat_of(v.key) for v in trained}
        assert (len(held) == 1 and None not in held) if flat else held == {None}
    assert_same_bits(weights[True], weights[False])
