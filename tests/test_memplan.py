"""The memory plan and the planned executor: offsets from lifetimes, in-place reuse, and a warmed-up step
that allocates nothing (the backend's counter and NumPy's own tracemalloc domain both say so)."""
import itertools
import re
import tracemalloc

import numpy as np
import pytest

import backends
import core
import static_api as tf
from core import device, passes
from core.executor import Executor, PlannedExecutor
from core.passes import memplan
from core.program import Program, key
from tests.helpers import Const, Input, load_example, run_in_threads, source


def _be():
    return backends.get_backend(device.default())


def _check_disjoint(plan):
    """Two planned values in use at the same step never share bytes, except a writer taking over the buffer
    of the input that dies at that very step."""
    items = list(plan.slots.items())
    for (ka, (oa, sa, da, _)), (kb, (ob, sb, db, _)) in itertools.combinations(items, 2):
        (a0, a1), (b0, b1) = plan.lifetimes[ka], plan.lifetimes[kb]
        na, nb = int(np.prod(sa)) * da.itemsize, int(np.prod(sb)) * db.itemsize
        if a0 <= b1 and b0 <= a1 and oa < ob + nb and ob < oa + na:
            assert (a1 == b0 or b1 == a0) and oa == ob, (ka, kb)


def test_plan_reuses_dead_buffers_and_writes_in_place_over_dying_inputs():
    x = source(Input((1000,)))
    a = core.exp(x)                 # x is fed: a gets a buffer of its own
    b = core.neg(a)                 # a dies here: b writes over it
    c = core.tanh(b)                # and c over b
    d = core.scalar(core.sum(c), "mul", 2.0)
    p = Program.build([d], {key(x)})
    feed = {key(x): np.linspace(-1, 1, 1000)}
    ex = PlannedExecutor(_be())
    want = Executor(_be()).run(p, feed)
    for _ in range(3):
        np.testing.assert_array_equal(ex.run(p, feed)[0], want[0])
    plan = ex.plan_of(p, feed)
    assert plan.inplace == 3 and plan.unlowered(p) == []
    assert plan.arena_bytes < 8000 + 2 * memplan.ALIGN      # one 8 kB buffer and a scalar
    assert plan.unplanned_peak_bytes >= 16000               # run op by op, two arrays live at once
    _check_disjoint(plan)


def test_plan_keeps_a_value_alive_while_a_view_of_it_is_read():
    x = source(Input((4, 6)))
    a = core.exp(x)
    v = core.reshape(a, (6, 4))     # a view of a's buffer (no writer): a lives as long as v is read
    b = core.neg(core.exp(x))       # made while v is still to be read: must not take a's buffer
    y = core.add(core.reshape(v, (4, 6)), b)
    p = Program.build([y], {key(x)})
    feed = {key(x): np.arange(24.0).reshape(4, 6) / 24}
    ex = PlannedExecutor(_be())
    for _ in range(3):
        np.testing.assert_array_equal(ex.run(p, feed)[0], np.exp(feed[key(x)]) - np.exp(feed[key(x)]))
    _check_disjoint(ex.plan_of(p, feed))


def test_a_step_with_several_outputs_writes_each_into_its_own_buffer():
    x = source(Input((2, 3, 6, 6)))
    labels = source(Input((6,), np.int64))
    y, idx = core.max_pool2d(core.exp(x), 2, 2, 0)      # idx read by nobody: its buffer lives one step
    logits = core.reshape(core.neg(y), (6, 9))
    loss = core.softmax_cross_entropy(logits, labels)   # and its saved softmax gradient, unread
    p = Program.build([loss, y], {key(x), key(labels)})
    rng = np.random.default_rng(0)
    feed = {key(x): rng.normal(size=(2, 3, 6, 6)), key(labels): rng.integers(0, 9, 6)}
    ex = PlannedExecutor(_be())
    want = Executor(_be()).run(p, feed)
    for _ in range(3):
        for got, w in zip(ex.run(p, feed), want):
            np.testing.assert_array_equal(got, w)
    plan = ex.plan_of(p, feed)
    assert plan.unlowered(p) == ["Reshape"]
    assert key(idx) in plan.slots and plan.lifetimes[key(idx)] == (1, 1)
    assert plan.slots[key(idx)][2] == np.int32
    _check_disjoint(plan)


def test_plans_are_per_feed_shape_and_fetched_values_survive_until_the_next_run():
    x = source(Input((None, 3)))
    y = core.exp(core.scalar(x, "mul", 2.0))
    p = passes.optimize(Program.build([y], {key(x)}))
    ex = PlannedExecutor(_be())
    for n in (2, 5, 2, 5, 2):
        got, = ex.run(p, {key(x): np.ones((n, 3))})
        np.testing.assert_array_equal(got, np.exp(np.full((n, 3), 2.0)))
    assert ex.plan_of(p, {key(x): np.ones((2, 3))}) is not ex.plan_of(p, {key(x): np.ones((5, 3))})


def _mlp(batch, seed=0, optimizer=None):
    """A two-layer MLP's loss and gradients (or, with ``optimizer``, its training step) in a TF1 graph, with
    every activation >= 256 kB."""
    rng = np.random.default_rng(seed)
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, (None, 256))
        t = tf.placeholder(tf.float64, (None, 64))
        w1, b1 = tf.Variable(rng.normal(size=(256, 128)) * 0.05), tf.Variable(np.zeros(128))
        w2, b2 = tf.Variable(rng.normal(size=(128, 64)) * 0.05), tf.Variable(np.zeros(64))
        y = tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2
        loss = tf.reduce_mean(tf.square(y - t))
        fetches = [loss] + (tf.gradients(loss, [w1, b1, w2, b2]) if optimizer is None else
                            [optimizer.minimize(loss)])
        sess = tf.Session(graph=g)
        sess.run(tf.global_variables_initializer())
    feed = {x: rng.normal(size=(batch, 256)), t: rng.normal(size=(batch, 64))}
    return sess, fetches, feed


def _step_cost(run):
    """(backend allocations, NumPy blocks left alive, peak bytes above the start) of one call of ``run``."""
    be = _be()
    tracemalloc.start()
    try:
        run()
        before = tracemalloc.take_snapshot()
        count = be.allocations
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        run()
        peak = tracemalloc.get_traced_memory()[1] - start
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    domain = [tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)]
    diff = after.filter_traces(domain).compare_to(before.filter_traces(domain), "traceback")
    return be.allocations - count, sum(d.count_diff for d in diff if d.count_diff > 0), peak


# NumPy's ufunc iterator takes a fixed buffer (np.getbufsize() elements per operand) for broadcast or strided
# operands on each call: independent of the data's size, it is not one of the step's arrays.
ITERATOR_BUFFERS = np.getbufsize() * 8 * 2 + 16 * 1024


@pytest.fixture
def one_thread():
    """One kernel thread: each thread of a split kernel takes its own iterator buffers, and the bound above
    must stay below the smallest array these tests would catch."""
    from backends import threads
    before = threads.get_num_threads()
    threads.set_num_threads(1)
    yield
    threads.set_num_threads(before)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("optimizer", [None, "sgd", "momentum", "adam"])
def test_a_warmed_up_planned_step_allocates_nothing(optimizer):
    make = {None: lambda: None, "sgd": lambda: tf.train.GradientDescentOptimizer(0.01),
            "momentum": lambda: tf.train.MomentumOptimizer(0.01, 0.9),
            "adam": lambda: tf.train.AdamOptimizer(1e-3)}[optimizer]
    peaks = []
    for batch in (512, 1024):
        sess, fetches, feed = _mlp(batch, optimizer=make())
        for _ in range(2):
            sess.run(fetches, feed)         # first run records shapes, second makes the plan's arena live
        # The session copies fetches out (one host copy per fetched value, the caller's), so measure the
        # executor itself.
        program = list(sess._plans.values())[-1]      # the step's (the initializer's came first)
        arrays = {key(t): np.asarray(v) for t, v in feed.items()}
        sess._executor.audit = True         # count every unplanned result that is new memory
        allocs, alive, peak = _step_cost(lambda: sess._executor.run(program, arrays))
        assert allocs == 0 and alive == 0
        assert peak < ITERATOR_BUFFERS
        peaks.append(peak)
        plan = sess._executor.plan_of(program, arrays)
        # No-op reductions and variable reads (and the update, which writes the variables in place).
        assert set(plan.unlowered(program)) <= {"SumToLike", "VariableV2", "ApplyGradients"}
        assert plan.arena_bytes <= plan.unplanned_peak_bytes
    assert abs(peaks[0] - peaks[1]) < 8 * 1024          # nothing grows with the batch


def test_the_same_probe_sees_the_unplanned_executor_allocate():
    sess, fetches, feed = _mlp(512)
    sess.run(fetches, feed)
    program = list(sess._plans.values())[-1]          # the step's (the initializer's came first)
    arrays = {key(t): np.asarray(v) for t, v in feed.items()}
    plain = Executor(_be(), sess.state)
    _, _, peak = _step_cost(lambda: plain.run(program, arrays))
    assert peak > 512 * 128 * 8         # at least one activation-sized array


def _seed_cnn(kind, batch):
    """A seed CNN's warmed-up training step: (executor, its own ``run``, the training Program, its feeds).
    ``kind``: the optimizer of ``models.Static``, or "keras" for examples/keras_seed_cnn.py (Adam, one-hot
    targets, a softmax output and an accuracy metric)."""
    from dualflow import models
    rng = np.random.default_rng(0)
    if kind == "keras":
        tf.reset_default_graph()
        tf.set_random_seed(0)
        model = load_example("keras_seed_cnn").build()
        x, y = rng.random((batch, 28, 28, 1), np.float32), np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
        sess = model._session()
        step = lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0)       # noqa: E731
    else:
        m = models.Static(models.init_weights((28, 28), 10, 0), 0.1, (28, 28), optimizer=kind)
        x, y = rng.random((batch, 1, 28, 28), np.float32), rng.integers(0, 10, batch)
        sess = m.sess
        step = lambda: m.step(x, y)                                                 # noqa: E731
    ex = sess._executor
    run, calls = ex.run, []
    ex.run = lambda program, arrays: calls.append((program, arrays)) or run(program, arrays)
    for _ in range(2):
        step()
    program, arrays = max(calls, key=lambda c: len(c[0].steps))
    return ex, run, program, arrays


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("kind", ["momentum", "adam", "keras"])
def test_a_warmed_up_seed_cnn_step_allocates_nothing(kind):
    peaks = []
    for batch in (8, 32):
        ex, run, program, arrays = _seed_cnn(kind, batch)
        ex.audit = True
        allocs, alive, peak = _step_cost(lambda: run(program, arrays))
        # Max pools write values and argmax, the loss its value and saved softmax, each into its own planned
        # buffer; no result and no work array of the data's size is new memory (the smallest here: 200 kB).
        assert allocs == 0 and alive == 0
        assert peak < ITERATOR_BUFFERS
        peaks.append(peak)
        plan = ex.plan_of(program, arrays)
        # Variable reads, views, no-op reductions, constants, and the updates that write variables in place:
        # the optimizer's, and the Keras accuracy metric's running total and count (AssignAdd).
        assert set(plan.unlowered(program)) <= {"VariableV2", "Reshape", "ExpandDims", "SumToLike", "ReshapeLike",
                                                "ApplyGradients", "AssignAdd", "Const", "Identity"}
        assert plan.arena_bytes <= plan.unplanned_peak_bytes
        _check_disjoint(plan)
    assert abs(peaks[0] - peaks[1]) < 8 * 1024          # nothing grows with the batch


def test_argmax_over_an_axis_writes_into_its_planned_buffer():
    from core.ops.reduce import ArgMax
    x = source(Input((4, 5, 3)))
    outs = [core.apply(ArgMax(axis, keepdims, fn), x) for axis in (0, -1, None) for keepdims in (False, True)
            for fn in ("argmax", "argmin")]
    p = Program.build(outs, {key(x)})
    feed = {key(x): np.random.default_rng(0).normal(size=(4, 5, 3))}
    want = Executor(_be()).run(p, feed)
    ex = PlannedExecutor(_be())
    for _ in range(3):
        for got, w in zip(ex.run(p, feed), want):
            assert got.shape == w.shape and got.dtype == w.dtype
            np.testing.assert_array_equal(got, w)
    assert ex.plan_of(p, feed).unlowered(p) == ["ArgMax", "ArgMin"]       # over all axes: forward's own path


@pytest.mark.usefixtures("one_thread")
def test_batch_norm_writes_its_data_and_statistics_into_planned_buffers():
    x, gamma, beta = source(Input((64, 16, 8, 8))), source(Input((1, 16, 1, 1))), source(Input((1, 16, 1, 1)))
    y, mean, var = core.batch_norm_train(x, gamma, beta, (0, 2, 3), 1e-5)
    loss = core.sum(core.mul(core.tanh(y), y))
    grads = core.gradients([loss], [x, gamma, beta], [source(Const(np.array(1.0)))])
    p = passes.optimize(Program.build([loss, mean, var] + grads, {key(x), key(gamma), key(beta)}))
    rng = np.random.default_rng(0)
    feed = {key(x): rng.normal(size=(64, 16, 8, 8)), key(gamma): rng.normal(size=(1, 16, 1, 1)),
            key(beta): rng.normal(size=(1, 16, 1, 1))}
    want = Executor(_be()).run(p, feed)
    ex = PlannedExecutor(_be(), audit=True)
    for _ in range(2):
        ex.run(p, feed)
    allocs, alive, peak = _step_cost(lambda: ex.run(p, feed))
    for got, w in zip(ex.run(p, feed), want):
        np.testing.assert_array_equal(got, w)
    assert ex.plan_of(p, feed).unlowered(p) == ["Const"]                 # the constant's own array
    assert allocs == 0 and alive == 0 and peak < ITERATOR_BUFFERS     # x is 512 kB


def test_dualflow_optimize_0_and_opt_level_l0_run_unoptimized(monkeypatch):
    x = tf.placeholder(tf.float64, (2,))
    y = tf.exp(x) * 2.0 + 1.0
    feed = {x: np.array([0.0, 1.0])}
    results = []
    for env, config in (("1", None), ("0", None), ("1", tf.ConfigProto(graph_options=tf.GraphOptions(
            optimizer_options=tf.OptimizerOptions(opt_level=tf.OptimizerOptions.L0))))):
        monkeypatch.setenv("DUALFLOW_OPTIMIZE", env)
        with tf.Session(config=config) as sess:
            results.append((sess.optimize, sess.run(y, feed), [s.op.name for s in next(iter(sess._plans.values())).steps]))
    (on, a, steps_on), (off, b, steps_off), (off2, c, steps_off2) = results
    assert on and not off and not off2
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert len(steps_on) < len(steps_off) and any(n.startswith("Fused(Exp+") for n in steps_on)
    assert len(steps_off) == len(steps_off2) > 1


def test_threads_sharing_a_session_do_not_share_buffers():
    x = tf.placeholder(tf.float64, (None, 256))
    y = tf.reduce_sum(tf.nn.relu(x * 2.0 + 1.0) * x, axis=1)
    sess = tf.Session()
    errors = []

    def work(seed):
        rng = np.random.default_rng(seed)
        for _ in range(40):
            a = rng.normal(size=(64, 256))
            got = sess.run(y, {x: a})
            if not np.array_equal(got, (np.maximum(a * 2.0 + 1.0, 0) * a).sum(axis=1)):
                errors.append(seed)
    run_in_threads(work, [(s,) for s in range(4)])
    assert errors == []


def test_kernel_scratch_is_one_buffer_per_tag_grown_to_the_largest_request():
    be = backends.get_backend("cpu")
    before = be.allocations
    a = be.scratch(("test",), (3, 4), np.float32)
    b = be.scratch(("test",), (2,), np.float32)        # smaller: a view of the same buffer, no allocation
    assert be.allocations == before + 1 and np.shares_memory(a, b) and b.shape == (2,)
    c = be.scratch(("test",), (5, 5), np.float32)      # larger: the buffer grows once
    d = be.scratch(("test",), (3, 4), np.float32)
    assert be.allocations == before + 2 and np.shares_memory(c, d) and not np.shares_memory(c, a)
    assert not np.shares_memory(be.scratch(("other",), (3, 4), np.float32), d)


def test_a_read_of_the_shape_alone_does_not_keep_a_buffer():
    from core.ops.elementwise import SumToLike
    x = source(Input((1000,)))
    a = core.exp(x)
    total = core.sum(a)                             # a's last data read
    t = core.tanh(core.neg(x))
    f = core.apply(SumToLike(), t, a)               # a's shape only
    p = Program.build([total, f], {key(x)})
    feed = {key(x): np.linspace(-1, 1, 1000)}
    ex = PlannedExecutor(_be())
    want = Executor(_be()).run(p, feed)
    for _ in range(3):
        got = ex.run(p, feed)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    plan = ex.plan_of(p, feed)
    assert plan.lifetimes[key(a)] == (0, 1)         # made by step 0, read by the sum at step 1
    _check_disjoint(plan)


def test_kernels_bound_to_a_steps_arrays_follow_new_feeds_threads_and_switches(monkeypatch):
    """Convolutions, pools and reductions in a planned step run bound to their arrays (``lowering.bind``: the
    geometry, views and thread split worked out once) and fed values are copied into buffers of the step's own.  Every
    run still equals the unplanned one bit for bit: fresh feeds, a feed refilled in place, a strided feed
    (copied in too), and runs after the thread setting or a kernel switch changed (which binds them again)."""
    from backends import numpy_kernels, threads
    x = source(Input((4, 3, 10, 10), np.float32))
    w1 = source(Input((8, 3, 3, 3), np.float32))
    h = core.relu(core.conv2d(x, w1, 1, 1))
    p_, _ = core.max_pool2d(h, 2, 2, 0)
    w2 = source(Input((5, 8, 3, 3), np.float32))
    b2 = source(Input((5,), np.float32))
    y = core.bias_add(core.conv2d(p_, w2, 1, 1), b2, 1)
    loss = core.mean(core.sum(core.mul(y, y), (1, 2, 3)))
    grads = core.gradients([loss], [x, w1, w2, b2], [source(Const(np.array(1.0, np.float32)))])
    prog = passes.optimize(Program.build([loss, *grads], {key(x), key(w1), key(w2), key(b2)}))
    rng = np.random.default_rng(3)
    weights = {key(w1): rng.normal(size=(8, 3, 3, 3)).astype(np.float32),
               key(w2): rng.normal(size=(5, 8, 3, 3)).astype(np.float32), key(b2): np.ones(5, np.float32)}
    planned = PlannedExecutor(_be())
    refill = rng.normal(size=(4, 3, 10, 10)).astype(np.float32)
    strided = rng.normal(size=(4, 10, 10, 3)).astype(np.float32).transpose(0, 3, 1, 2)
    feeds = [rng.normal(size=(4, 3, 10, 10)).astype(np.float32) for _ in range(3)] + [refill, refill, strided]
    before = threads.get_num_threads()
    try:
        for i, image in enumerate(feeds + feeds[:2]):
            if i == len(feeds):
                threads.set_num_threads(2)
            if i == 4:
                refill[...] = rng.normal(size=refill.shape)      # the same array, new contents
            feed = {key(x): image, **weights}
            want = Executor(_be()).run(prog, feed)
            got = planned.run(prog, feed)
            for a, b in zip(got, want):
                np.testing.assert_array_equal(a, b)
    finally:
        threads.set_num_threads(before)
    # A kernel switch flipped after binding: the planned step follows it as the unplanned one does.
    monkeypatch.setenv("DUALFLOW_NUMBA", "0")
    ran = []
    part = numpy_kernels._max_pool_part
    monkeypatch.setattr(numpy_kernels, "_max_pool_part", lambda *a: ran.append(1) or part(*a))
    feed = {key(x): feeds[0], **weights}
    want = Executor(_be()).run(prog, feed)
    ran.clear()
    got = planned.run(prog, feed)
    assert ran, "the planned max pool kept numba's kernel after DUALFLOW_NUMBA=0"
    for a, b in zip(got, want):
        np.testing.assert_array_equal(np.asarray(a).view(np.uint32), np.asarray(b).view(np.uint32))
    entry = next(iter(planned._plans.values()))
    bound = [write for _, write, *_ in entry.steps if isinstance(write, numpy_kernels.Prepared)]
    names = [op.name for _, write, _, _, op, _ in entry.steps if isinstance(write, numpy_kernels.Prepared)]
    assert {"MaxPool", "MaxPoolGradMasked", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MeanGrad",
            "BiasAddGrad"} <= set(names), names
    assert any(n.startswith("Fused(Conv2D+") for n in names), names      # a conv with its epilogue, bound whole
    assert len(bound) >= 5 and key(x) in entry.feeds


@pytest.mark.parametrize("numba", ["1", "0"])
def test_products_and_their_epilogues_run_bound_with_the_unplanned_bits(monkeypatch, numba):
    """A dense layer's product with its bias (fused), its input gradient (a transposed operand) and its
    weight gradient at batch 1 (an outer product): each planned step runs bound to its arrays, with the
    unplanned run's bits, for fresh feeds and after the thread setting changed."""
    from backends import numpy_kernels, threads
    monkeypatch.setenv("DUALFLOW_NUMBA", numba)
    x = source(Input((1, 40), np.float32))
    w = source(Input((40, 6), np.float32))
    b = source(Input((6,), np.float32))
    y = core.relu(core.bias_add(core.matmul(x, w), b, 1))
    loss = core.sum(core.mul(y, y))
    grads = core.gradients([loss], [x, w, b], [source(Const(np.array(1.0, np.float32)))])
    prog = passes.optimize(Program.build([loss, *grads], {key(x), key(w), key(b)}))
    rng = np.random.default_rng(5)
    fixed = {key(w): rng.normal(size=(40, 6)).astype(np.float32), key(b): rng.normal(size=6).astype(np.float32)}
    planned = PlannedExecutor(_be())
    before = threads.get_num_threads()
    try:
        for i in range(5):
            if i == 3:
                threads.set_num_threads(2)
            feed = {key(x): rng.normal(size=(1, 40)).astype(np.float32), **fixed}
            want, got = Executor(_be()).run(prog, feed), planned.run(prog, feed)
            for a, c in zip(got, want):
                np.testing.assert_array_equal(np.asarray(a).view(np.uint32), np.asarray(c).view(np.uint32))
    finally:
        threads.set_num_threads(before)
    entry = next(iter(planned._plans.values()))
    names = [op.name for _, write, _, _, op, _ in entry.steps if isinstance(write, numpy_kernels.Prepared)]
    assert names.count("MatMul") == 2 and any(n.startswith("Fused(MatMul+") for n in names), names


def test_scalar_comparisons_write_into_the_plan():
    """``x > c`` with a Python number (ReLU masks, div_no_nan's zero test) has a writer: a warmed-up step of
    it allocates nothing, and gives the unplanned values."""
    x = source(Input((50,)))
    y = core.where(core.scalar_compare(x, "Greater", 0.25), core.exp(x), core.neg(x))
    p = Program.build([core.sum(y)], {key(x)})
    feed = {key(x): np.linspace(-1, 1, 50)}
    ex = PlannedExecutor(_be(), audit=True)
    want = Executor(_be()).run(p, feed)
    ex.run(p, feed)
    before = ex.backend.allocations
    np.testing.assert_array_equal(ex.run(p, feed)[0], want[0])
    assert ex.backend.allocations == before
    assert ex.plan_of(p, feed).unlowered(p) == []


def test_the_generated_step_binds_its_kernels_once_and_again_when_the_settings_change(monkeypatch):
    # The planned step's function binds each kernel on its fixed arrays when it is built (Prepared.call); it
    # is built again only when the kernels' settings change (here a switch), and keeps the unplanned bits.
    from backends import numpy_kernels
    x = source(Input((2, 3, 8, 8), np.float32))
    y, _ = core.max_pool2d(core.relu(x), 2, 2, 0)
    p = Program.build([core.sum(y)], {key(x)})
    binds = []
    real = numpy_kernels.Prepared.__init__

    def init(self, call):
        real(self, lambda *a, out: binds.append(1) or call(*a, out=out))
    monkeypatch.setattr(numpy_kernels.Prepared, "__init__", init)
    ex = PlannedExecutor(_be())
    feed = {key(x): np.random.default_rng(0).normal(size=(2, 3, 8, 8)).astype(np.float32)}
    want = Executor(_be()).run(p, feed)[0]
    for _ in range(4):
        np.testing.assert_array_equal(ex.run(p, feed)[0], want)
    entry = next(iter(ex._plans.values()))
    first, bound = entry.straight, len(binds)
    calls = [line.strip() for line in first.source.splitlines()[1:-1]]
    assert bound >= 1 and sum(re.fullmatch(r"k\d+\(\)", c) is not None for c in calls) == bound   # bound once
    monkeypatch.setenv("DUALFLOW_NUMBA", "0")
    np.testing.assert_array_equal(ex.run(p, feed)[0], want)
    assert entry.straight is not first and len(binds) == 2 * bound
    np.testing.assert_array_equal(ex.run(p, feed)[0], want)
    assert len(binds) == 2 * bound and entry.remade == 0     # a settings change is no variable's move
