"""core's one way to run: Program (order, last uses), passes, Executor, State and the stateful primitives."""
import weakref

import numpy as np
import pytest

import backends
import core
import static_api as tf
from core import device, state
from core.errors import FailedPreconditionError, InvalidArgumentError
from core.executor import Executor, PlannedExecutor
from core.op import Op
from core.ops.state import ApplyUpdates, AssignVariable, ReadVariable
from core.passes.transpose import fold_transposes
from core.program import Program, key
from tests.helpers import Input as _Input
from tests.helpers import source as _source

F64 = np.dtype(np.float64)


class _Remember(Op):
    """exp(x), keeping only a weak reference to its output buffer."""

    name = "Remember"
    differentiable = False

    def __init__(self):
        self.refs = []

    def infer(self, x):
        return [(x.shape, x.dtype)]

    def forward(self, be, x):
        y = be.xp.exp(x)
        self.refs.append(weakref.ref(y))
        return y


class _Probe(Op):
    """Passes its input through and notes whether the buffer ``watch`` remembered is still alive."""

    name = "Probe"
    differentiable = False

    def __init__(self, watch):
        self.watch, self.alive = watch, []

    def infer(self, x):
        return [(x.shape, x.dtype)]

    def forward(self, be, x):
        self.alive.append(self.watch.refs[-1]() is not None)
        return x.copy()


def _be():
    return backends.get_backend(device.default())


def test_program_orders_steps_and_releases_each_intermediate_after_its_last_use():
    x = _source(_Input((2,)))
    a = core.exp(x)
    b = core.neg(a)
    c = core.add(b, x)
    p = Program.build([c], {key(x)})
    assert [s.op.name for s in p.steps] == ["Exp", "Neg", "Add"]   # the fed input's producer does not run
    assert [s.ins for s in p.steps] == [[key(x)], [key(a)], [key(b), key(x)]]
    # a dies at Neg (step 1), b at Add (step 2); the fed x and the fetched c are kept.
    assert dict(p.release) == {1: [key(a)], 2: [key(b)]}
    out, = Executor(_be()).run(p, {key(x): np.array([0.0, 1.0])})
    np.testing.assert_allclose(out, [-1.0 + 0.0, -np.e + 1.0])


def test_executor_drops_an_intermediate_buffer_after_its_last_reader():
    x = _source(_Input((3,)))
    rem = _Remember()
    a = core.apply(rem, x)
    b = core.neg(a)
    probe = _Probe(rem)
    c = core.apply(probe, b)
    ex = Executor(_be())
    feed = {key(x): np.zeros(3)}
    out, = ex.run(Program.build([c], {key(x)}), feed)
    assert probe.alive == [False]         # a was freed once Neg had read it
    np.testing.assert_array_equal(out, [-1.0, -1.0, -1.0])
    # Fetching a as well keeps it alive through the run.
    got_a, _ = ex.run(Program.build([a, c], {key(x)}), feed)
    assert probe.alive == [False, True]
    np.testing.assert_array_equal(got_a, [1.0, 1.0, 1.0])


class _Halves(Op):
    """Two outputs, no writer (so a planned run keeps them in locals): x / 2 and x - x / 2."""

    name = "Halves"
    differentiable = False

    def infer(self, x):
        return [(x.shape, x.dtype), (x.shape, x.dtype)]

    def forward(self, be, x):
        h = x / 2
        return h, x - h


class _FailIfNegative(Op):
    """x, or the InvalidArgumentError a kernel raises when some value is negative."""

    name = "FailIfNegative"
    differentiable = False

    def infer(self, x):
        return [(x.shape, x.dtype)]

    def forward(self, be, x):
        if (x < 0).any():
            raise InvalidArgumentError(None, None, "FailIfNegative: a negative value")
        return x.copy()


def test_planned_runs_are_one_generated_function_that_matches_the_loop_and_frees_as_it_goes():
    x = _source(_Input((3,)))
    rem = _Remember()
    a = core.apply(rem, x)
    b = core.neg(a)                              # planned: writes into the arena
    probe = _Probe(rem)
    c = core.apply(probe, b)
    lo, hi = core.apply(_Halves(), c)
    d = core.mul(lo, core.exp(hi))
    p = Program.build([d, x, hi], {key(x)})      # a fed value and a multi-output primitive's value fetched
    straight, loop = PlannedExecutor(_be()), PlannedExecutor(_be(), audit=True)   # audit runs the loop
    for i in range(4):                          # the first run plans; the others run planned
        feed = {key(x): np.array([0.5, -1.0, 2.0]) * (i + 1)}
        got, want = straight.run(p, feed), loop.run(p, feed)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
        # Hand values: c = -exp(x), d = c / 2 * exp(c / 2).
        c_hand = -np.exp(feed[key(x)])
        np.testing.assert_allclose(got[0], c_hand / 2 * np.exp(c_hand / 2), rtol=1e-15)
        np.testing.assert_array_equal(got[1], feed[key(x)])
        np.testing.assert_allclose(got[2], c_hand - c_hand / 2, rtol=1e-15)
    entry = next(iter(straight._plans.values()))
    assert entry.straight is not None and "for " not in entry.straight.source
    # exp(x) is dropped once Neg has read it, in the generated function as in the loop.
    assert probe.alive == [False] * 8


def test_views_of_planned_buffers_are_made_once_and_read_the_current_values():
    # reshape(neg(x)) and its transpose: views of a planned buffer, made once when the generated function is
    # built (no line of their own), and read at each run, so their values follow each run's feed.
    from core.ops import elementwise, shape
    x = _source(_Input((2, 3)))
    n = core.neg(x)
    r = shape.reshape(core.apply(elementwise.SumToLike(), n, n), (3, 2))     # a sum to its own shape: n
    t = shape.transpose(r, (1, 0))
    y = core.exp(t)
    p = Program.build([y, r], {key(x)})
    straight, loop = PlannedExecutor(_be()), PlannedExecutor(_be(), audit=True)
    for i in range(3):
        feed = {key(x): np.arange(6.0).reshape(2, 3) * (i + 1)}
        got, want = straight.run(p, feed), loop.run(p, feed)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
        np.testing.assert_array_equal(got[1], -feed[key(x)].reshape(3, 2))
        np.testing.assert_allclose(got[0], np.exp(-feed[key(x)].reshape(3, 2).T), rtol=1e-15)
    entry = next(iter(straight._plans.values()))
    assert "(be" not in entry.straight.source     # no step left that runs a primitive's forward


def test_planned_variable_reads_are_made_once_while_nothing_moves():
    # A variable read that no effect precedes is made once, when the generated function is built; it reads
    # each run's values (the buffer itself), and a variable whose storage moves is read anew.
    st = state.State()
    st.assign("w", np.array([1.0, 2.0]))
    x = _source(_Input((2,)))
    w = _source(ReadVariable("w", (2,), F64))
    p = Program.build([core.mul(w, x)], {key(x)})
    ex, loop = PlannedExecutor(_be(), st), PlannedExecutor(_be(), st, audit=True)
    feed = {key(x): np.array([10.0, 20.0])}
    for i in range(3):
        st.read("w")[...] = [i, i + 1.0]                   # written in place: the same buffer, new values
        got, = ex.run(p, feed)
        np.testing.assert_array_equal(got, [10.0 * i, 20.0 * (i + 1)])
        np.testing.assert_array_equal(got, loop.run(p, feed)[0])
    entry = next(iter(ex._plans.values()))
    first = entry.straight
    assert "(be)" not in first.source             # no read left in the function
    st.attach("w", np.array([5.0, 6.0]))        # storage of its own: the read made once is stale
    np.testing.assert_array_equal(ex.run(p, feed)[0], [50.0, 120.0])
    assert entry.straight is not first and entry.remade == 1
    np.testing.assert_array_equal(ex.run(p, feed)[0], [50.0, 120.0])
    assert entry.remade == 1                      # nothing moved since: the same function
    for i in range(3):                            # storage moving at every run: reads at each run instead
        st.attach("w", np.array([i, 1.0]))
        np.testing.assert_array_equal(ex.run(p, feed)[0], [10.0 * i, 20.0])
    assert entry.remade == 3 and "(be)" in entry.straight.source
    st.attach("w", np.array([7.0, 7.0]))
    np.testing.assert_array_equal(ex.run(p, feed)[0], [70.0, 140.0])
    # A read after an effect (which may move the variable) is made at each run.
    inc = core.apply(AssignVariable("w", (2,), F64, "add"), x)
    read = _source(ReadVariable("w", (2,), F64))
    read.node.control = (inc.node,)
    after = core.mul(read, x)
    q = Program.build([inc, after], {key(x)})
    for _ in range(2):
        ex.run(q, feed)
    entry = ex._plans[ex._signature(q, feed)]
    assert "(be)" in entry.straight.source


def test_planned_feeds_are_copied_into_their_buffers_in_any_layout():
    # The plan saw a C-contiguous feed; a later run's transposed view of the same shape is copied in too.
    x = _source(_Input((2, 3)))
    p = Program.build([core.exp(x)], {key(x)})
    ex = PlannedExecutor(_be())
    a = np.arange(6.0).reshape(2, 3)
    for _ in range(2):
        np.testing.assert_array_equal(ex.run(p, {key(x): a})[0], np.exp(a))
    t = np.arange(6.0).reshape(3, 2).T * 0.5       # not C-contiguous
    np.testing.assert_array_equal(ex.run(p, {key(x): t})[0], np.exp(t))
    np.testing.assert_array_equal(ex.run(p, {key(x): a})[0], np.exp(a))


def test_a_planned_run_that_fails_names_the_failing_node():
    x = _source(_Input((2,)))
    y = core.exp(x)
    f = core.apply(_FailIfNegative(), core.neg(y))
    z = core.add(f, x)
    p = Program.build([z], {key(x)})
    for ex in (PlannedExecutor(_be()), PlannedExecutor(_be(), audit=True)):
        out, = ex.run(p, {key(x): np.full(2, np.nan)})      # runs, and plans
        assert np.isnan(out).all()
        for _ in range(2):
            with pytest.raises(InvalidArgumentError) as info:
                ex.run(p, {key(x): np.zeros(2)})
            assert info.value.op is f.node
        assert ex.plan_of(p, {key(x): np.zeros(2)}) is not None      # the failures were planned runs


def test_fold_transposes_is_a_pass_that_leaves_its_input_program_alone():
    x = _source(_Input((2, 3)))
    t1 = core.transpose(x, (1, 0))
    t2 = core.transpose(t1, (1, 0))             # cancels t1
    y = core.transpose(core.transpose(core.exp(x), (1, 0)), (1, 0))
    p = Program.build([t2, y], {key(x)})
    folded = fold_transposes(p)
    assert [s.op.name for s in p.steps] == ["Transpose", "Transpose", "Exp", "Transpose", "Transpose"]
    assert [s.op.name for s in folded.steps] == ["Exp"]
    assert folded.resolve(key(t2)) == key(x) and folded.resolve(key(y)) == key(folded.steps[0].node.outputs[0])
    a = np.arange(6.0).reshape(2, 3)
    got_t2, got_y = Executor(_be()).run(folded, {key(x): a})
    np.testing.assert_array_equal(got_t2, a)
    np.testing.assert_allclose(got_y, np.exp(a))


def test_executor_runs_stateful_primitives_against_its_state_without_a_session():
    st = state.State()
    st.assign("w", np.array([1.0, 2.0]))
    assert st.version("w") == 1
    x = _source(_Input((2,)))
    w = _source(ReadVariable("w", (2,), F64))
    y = core.mul(w, x)
    inc = core.apply(AssignVariable("w", (2,), F64, "add"), x)
    ex = Executor(_be(), st)
    got_y, got_inc = ex.run(Program.build([y, inc], {key(x)}), {key(x): np.array([10.0, 20.0])})
    np.testing.assert_array_equal(got_y, [10.0, 40.0])
    np.testing.assert_array_equal(got_inc, [11.0, 22.0])
    np.testing.assert_array_equal(st.read("w"), [11.0, 22.0])
    assert st.version("w") == 2
    sub = core.apply(AssignVariable("w", (2,), F64, "sub"), x)
    ex.run(Program.build([sub.node], {key(x)}), {key(x): np.array([1.0, 2.0])})
    np.testing.assert_array_equal(st.read("w"), [10.0, 20.0])
    assert st.version("w") == 3


def test_apply_updates_calls_the_update_with_slots_step_count_and_rate():
    calls = []

    def sgd(be, w, g, slots, t, lr):
        calls.append((t.shape, int(t), lr))         # the count: a 0-d array on the device, advanced in place
        slots["n"] = slots.get("n", 0) + 1
        w -= lr * g

    st = state.State()
    st.assign("w", np.array([1.0, 1.0]))
    st.assign("step", np.array(0, np.int64))
    g = _source(_Input((2,)))
    owner = object()
    step = core.apply(ApplyUpdates(sgd, owner, ["w"], lr=0.5, counter="step"), g)
    p = Program.build([step], {key(g)})
    ex = Executor(_be(), st)
    ex.run(p, {key(g): np.array([2.0, 4.0])})
    ex.run(p, {key(g): np.array([2.0, 4.0])})
    np.testing.assert_array_equal(st.read("w"), [1.0 - 2 * 1.0, 1.0 - 2 * 2.0])
    assert calls == [((), 1, 0.5), ((), 2, 0.5)]
    assert st.slots(owner, "w") == {"n": 2} and st.slots(object(), "w") == {}
    assert int(st.read("step")) == 2
    assert st.version("w") == 3 and st.version("step") == 3


def test_state_errors():
    st = state.State()
    with pytest.raises(FailedPreconditionError, match="Attempting to use uninitialized value w"):
        st.read("w")
    with pytest.raises(FailedPreconditionError, match="uninitialized value w"):
        st.assign_add("w", np.ones(2))
    st.assign("w", np.zeros(2))
    with pytest.raises(InvalidArgumentError, match=r"wrong shape. Expected \[2\] got \[3\]"):
        st.assign("w", np.zeros(3))
    with pytest.raises(InvalidArgumentError, match=r"Cannot update variable with shape \[2\] using a Tensor with "
                                                   r"shape \[1\], shapes must be equal"):
        st.assign_sub("w", np.zeros(1))
    assert st.version("w") == 1             # refused writes change nothing
    with pytest.raises(RuntimeError, match="outside an Executor"):
        ReadVariable("w", (2,), F64).forward(_be())
    with pytest.raises(core.ShapeError, match="AssignVariable: argument 'value'"):
        core.apply(AssignVariable("w", (2,), F64), _source(_Input((3,))))


def test_executor_errors_name_the_failing_node_and_refuse_missing_feeds():
    x = _source(_Input((2,)))
    r = _source(ReadVariable("v", (2,), F64))
    y = core.add(r, x)
    p = Program.build([y], {key(x)})
    ex = Executor(_be())
    with pytest.raises(KeyError, match="1 fed value"):
        ex.run(p, {})
    with pytest.raises(FailedPreconditionError) as info:
        ex.run(p, {key(x): np.zeros(2)})
    assert info.value.op is r.node


def test_two_sessions_on_one_graph_keep_separate_state():
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="counter")
        inc = v.assign_add(1.0)
        s1, s2 = tf.Session(), tf.Session()
        s1.run(v.initializer)
        s1.run(inc)
        s1.run(inc)
        # As TF1 (ref variables): the failing node is the AssignAdd that read the uninitialized variable.
        with pytest.raises(tf.errors.FailedPreconditionError,
                           match=r"uninitialized value counter\n\t \[\[\{\{node AssignAdd\}\}\]\]") as info:
            s2.run(inc)
        assert info.value.op is inc.op
        s2.run(v.initializer)
        s2.run(inc)
        assert s1.run(v) == 3.0 and s2.run(v) == 2.0
        assert s1.state.version(v.key) == 3 and s2.state.version(v.key) == 2
        s1.close()
        assert "counter" not in s1.state and s2.run(v) == 2.0


def test_session_assign_of_the_wrong_shape_at_run_time_names_the_node():
    with tf.Graph().as_default():
        v = tf.Variable(np.zeros(2, np.float32), name="v")
        x = tf.placeholder(tf.float32, (None,))
        a = tf.assign(v, x, name="put")
        with tf.Session() as sess:
            sess.run(v.initializer)
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"wrong shape. Expected \[2\] got \[3\]\n\t "
                                                                     r"\[\[\{\{node put\}\}\]\]") as info:
                sess.run(a, {x: np.zeros(3)})
            assert info.value.op is a.op
            assert sess.state.version("v") == 1


def test_tf_optimizer_keeps_calling_update_with_the_same_arguments():
    seen = []

    class Recording(tf.train.GradientDescentOptimizer):
        def _update(self, be, w, g, slot, t, lr):
            seen.append((w.shape, g.tolist(), type(slot), int(t), lr))
            slot["calls"] = slot.get("calls", 0) + 1
            super()._update(be, w, g, slot, t, lr)

    with tf.Graph().as_default():
        w = tf.Variable(np.array([1.0, 2.0], np.float32), name="w")
        step = tf.train.get_or_create_global_step()
        opt = Recording(0.25)
        train = opt.minimize(tf.reduce_sum(w * w), global_step=step)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train)
            sess.run(train)
            # w - 0.25 * 2w = w/2 per step.
            np.testing.assert_allclose(sess.run(w), [0.25, 0.5])
            assert sess.run(step) == 2
            assert sess.state.slots(opt, "w") == {"calls": 2}
    assert seen == [((2,), [2.0, 4.0], dict, 1, 0.25), ((2,), [1.0, 2.0], dict, 2, 0.25)]


@pytest.mark.reference
def test_run_time_variable_errors_name_the_same_node_as_tensorflow():
    rtf = pytest.importorskip("tensorflow").compat.v1

    def errors(mod, ref_variable):
        with mod.Graph().as_default():
            # Uninitialized: TF1's ref variables, whose message dualflow gives; a wrong shape: as TF 2's
            # compat.v1 (resource variables) words it, the message dualflow kept.
            v = ref_variable(np.float32(1.0), name="counter")
            inc = v.assign_add(1.0)
            w = mod.Variable(np.zeros(2, np.float32), name="v")
            x = mod.placeholder(mod.float32, (None,))
            put = mod.assign(w, x, name="put")
            with mod.Session() as sess:
                out = []
                for fetch, feed in ((inc, None), (put, {x: np.zeros(3, np.float32)})):
                    if fetch is put:
                        sess.run(w.initializer)
                    with pytest.raises(mod.errors.OpError) as info:
                        sess.run(fetch, feed)
                    out.append((type(info.value).__name__, info.value.op.name,
                                info.value.message.splitlines()[-2:]))
                return out

    want = errors(rtf, lambda value, name: rtf.Variable(value, name=name, use_resource=False))
    assert errors(tf, tf.Variable) == want


def _recording_executor(monkeypatch):
    """Record every Program core's executors run (the plain one and the memory-planned one the CPU session
    uses, a subclass of it)."""
    ran = []
    for cls in (Executor, PlannedExecutor):
        real = cls.__dict__["run"]

        def run(self, program, feeds, real=real):
            if not ran or ran[-1] is not program:
                ran.append(program)
            return real(self, program, feeds)
        monkeypatch.setattr(cls, "run", run)
    return ran


def test_one_executor_runs_a_session_train_step_and_an_eager_optimizer_step(monkeypatch):
    import eager_api as torch
    ran = _recording_executor(monkeypatch)
    w0 = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
    x = np.array([[1.0, 2.0]], np.float32)
    # Static: loss = sum((x @ w)^2), one SGD-momentum step.
    with tf.Graph().as_default():
        w = tf.Variable(w0)
        loss = tf.reduce_sum(tf.square(tf.matmul(tf.constant(x), w)))
        train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            ran.clear()
            sess.run(train)
            static_w = sess.run(w)
    assert ran and "ApplyGradients" in [s.op.name for s in ran[0].steps]
    # Eager: the same step.
    p = torch.nn.Parameter(torch.tensor(w0))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    (torch.tensor(x) @ p).pow(2).sum().backward()
    ran.clear()
    opt.step()
    assert [[s.op.name for s in p.steps] for p in ran] == [["ApplyUpdates"]]
    # By hand: grad = 2 x^T (x w); first momentum step is w - lr * grad.
    want = w0 - 0.1 * (2 * x.T @ (x @ w0))
    np.testing.assert_allclose(static_w, want, rtol=1e-6)
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-6)


def test_eager_step_program_is_cached_and_the_rate_is_a_feed(monkeypatch):
    import eager_api as torch
    p = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([p], lr=0.5)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
    built = []
    real = type(opt)._program
    monkeypatch.setattr(type(opt), "_program", lambda self, groups: built.append(1) or real(self, groups))
    rates = []
    for _ in range(3):
        opt.zero_grad()
        before = p.detach().numpy().copy()
        p.sum().backward()         # gradient 1 everywhere: each step moves w by exactly lr
        opt.step()
        rates.append(float((before - p.detach().numpy())[0]))
        sched.step()
    assert rates == [0.5, 0.25, 0.125]
    assert len(built) == 1


def test_eager_step_counts_per_parameter_and_follows_replaced_storage():
    import eager_api as torch
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.Adam([a, b], lr=0.1)
    for i in range(3):
        opt.zero_grad()
        (a.sum() + (b.sum() if i == 0 else 0)).backward()
        opt.step()
    assert opt.state[a]["step"] == 3 and opt.state[b]["step"] == 1    # as PyTorch: b had a gradient once
    # Adam's first step moves each weight by lr (bias-corrected m / sqrt(v) = 1).
    np.testing.assert_allclose(b.detach().numpy(), [-0.1, -0.1], rtol=1e-5)
    old = a.detach().numpy().copy()
    old_storage = a.data
    a.data = torch.zeros(2)        # new storage: the next step must update it, not the old buffer
    opt.zero_grad()
    a.sum().backward()
    opt.step()
    np.testing.assert_array_equal(old_storage.numpy(), old)
    assert np.all(a.detach().numpy() < 0)
