"""The static compiler: each pass on its own, the pipeline, fusion, and the semantics of optimized Programs
(same outputs and gradients as the unoptimized Program, bit for bit) over the op table and the models."""
import numpy as np
import pytest

import backends
import core
import static_api as tf
from core import device, passes
from core.executor import Executor, PlannedExecutor
from core.ops.nn import DropoutMask
from core.ops.state import AssignVariable, ReadVariable
from core.passes import cse, dce, fold, fuse
from core.program import Program, key
from core.random import Generator
from core.state import State
from tests.helpers import Const, Input, assert_same_bits, source
from tests.op_table import CASES


def _be():
    return backends.get_backend(device.default())


def _names(program):
    return [s.op.name for s in program.steps]


def _same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if w is None:
            assert g is None
            continue
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)     # bitwise (NaN where NaN)


# ----- dead code -----------------------------------------------------------------------------------------
def test_dce_drops_unread_pure_steps_and_keeps_effects_targets_and_fetches():
    x = source(Input((2,)))
    unread = core.exp(x)                                    # read by nobody: dropped
    kept = core.neg(core.exp(x))                            # fetched
    write = core.apply(AssignVariable("w", (2,), np.float64), core.tanh(x))     # an effect, nobody reads it
    mask = core.apply(DropoutMask(0.5, Generator(0)), x)    # draws random numbers: kept though unread
    p = Program(Program.build([kept, unread, write, mask], {key(x)}).steps, {key(x)}, [key(kept)])
    out = dce.eliminate_dead(p)
    assert _names(out) == ["Exp", "Neg", "Tanh", "AssignVariable", "DropoutMask"]
    assert len(p.steps) == 6        # the input Program is unchanged
    # A target node (run for its effect in TF1) is kept even when pure and unread.
    assert _names(dce.eliminate_dead(Program.build([unread.node], {key(x)}))) == ["Exp"]


# ----- CSE --------------------------------------------------------------------------------------------------
def test_cse_merges_equal_pure_steps_only():
    x = source(Input((3,)))
    a, b = core.scalar(x, "mul", 2.0), core.scalar(x, "mul", 2.0)      # equal: merged
    c = core.scalar(x, "mul", -0.0)                                     # other attribute: kept
    r1, r2 = source(ReadVariable("w", (3,), np.float64)), source(ReadVariable("w", (3,), np.float64))
    d1 = core.apply(DropoutMask(0.5, g := Generator(1)), x)
    d2 = core.apply(DropoutMask(0.5, g), x)                             # random: never merged
    outs = [core.add(a, r1), core.add(b, r2), c, d1, d2]
    p = Program.build(outs, {key(x)})
    out = cse.eliminate_common(p)
    assert _names(out).count("MulScalar") == 2
    assert _names(out).count("ReadVariable") == 2 and _names(out).count("DropoutMask") == 2
    # the two adds read the same product now, but read different variable reads: both stay
    assert _names(out).count("Add") == 2
    assert out.resolve(key(b)) == key(a)
    st = State()
    st.assign("w", np.ones(3))
    feed = {key(x): np.array([1.0, 2.0, 3.0])}
    _same(Executor(_be(), st).run(out, feed)[:3], Executor(_be(), st).run(p, feed)[:3])


def test_cse_then_dce_leave_one_copy_and_fetch_it_under_both_names():
    x = source(Input((2,)))
    a, b = core.exp(x), core.exp(x)
    p = passes.optimize(Program.build([a, b, core.add(a, b)], {key(x)}),
                        [cse.eliminate_common, dce.eliminate_dead])
    assert _names(p) == ["Exp", "Add"]
    got = Executor(_be()).run(p, {key(x): np.array([0.0, 1.0])})
    _same(got, [np.exp([0.0, 1.0])] * 2 + [2 * np.exp([0.0, 1.0])])


# ----- constant folding -------------------------------------------------------------------------------------
def test_fold_computes_constant_subgraphs_once_and_leaves_fed_and_failing_steps():
    x = source(Input((2,)))
    k = source(Const(np.array([1.0, 4.0])))
    s = core.sqrt(core.scalar(k, "mul", 4.0))       # constant: folded
    y = core.add(x, s)                              # reads a fed value: runs
    bad = core.log(source(Input((2,))))             # an unfed input: left to fail at run time
    p = Program.build([y], {key(x)})
    out = dce.eliminate_dead(fold.fold_constants(p))
    assert _names(out) == ["Folded", "Add"]
    _same(Executor(_be()).run(out, {key(x): np.zeros(2)}), [np.array([2.0, 4.0])])
    q = fold.fold_constants(Program.build([bad], set()))
    assert _names(q) == ["Input", "Log"]


# ----- fusion -----------------------------------------------------------------------------------------------
def test_elementwise_chain_fuses_into_one_step_described_as_data():
    x, b = source(Input((None, 4))), source(Input((4,)))
    h = core.tanh(core.add(core.scalar(x, "mul", 2.0), b))
    shared = core.exp(h)                            # read twice below: a chain ends here
    y = core.add(core.neg(shared), shared)
    p = Program.build([y], {key(x), key(b)})
    out = fuse.fuse_elementwise(p)
    assert _names(out) == ["Fused(MulScalar+Add+Tanh+Exp)", "Fused(Neg+Add)"]
    first = out.steps[0].op
    # Operand wiring: -1 is the running result, j >= 0 the fused step's input j (x, then b).
    assert first.wiring == ((0,), (-1, 1), (-1,), (-1,)) and out.steps[0].ins == [key(x), key(b)]
    assert out.steps[1].op.wiring == ((0,), (-1, 0))
    feed = {key(x): np.random.default_rng(0).normal(size=(3, 4)), key(b): np.arange(4.0)}
    _same(Executor(_be()).run(out, feed), Executor(_be()).run(p, feed))


def test_fused_chain_takes_the_broadcast_of_all_its_operands():
    x, w = source(Input((4,))), source(Input((3, 4)))
    y = core.mul(core.exp(x), w)        # exp of a (4,) vector, then widened by w
    p = Program.build([y], {key(x), key(w)})
    out = fuse.fuse_elementwise(p)
    assert len(out.steps) == 1
    feed = {key(x): np.arange(4.0), key(w): np.ones((3, 4)) * 3}
    _same(Executor(_be()).run(out, feed), Executor(_be()).run(p, feed))


@pytest.mark.parametrize("lead", ["broadcast", "transposed", "column"])
def test_fused_chain_lays_its_result_out_as_the_unfused_chain_and_sums_downstream_match(lead):
    """NumPy lays an elementwise result out by all its operands, and a reduction sums in memory order.  A
    chain led by a broadcast (zero-stride) operand used to take that operand's layout (column-major) where
    NumPy's result is row-major, and the sum after it came out a few bits off."""
    x, y = source(Input((64, 33), np.float32)), source(Input((64, 33), np.float32))
    z = source(Input({"broadcast": (33,), "transposed": (33, 64), "column": (64, 1)}[lead], np.float32))
    first = {"broadcast": lambda: core.broadcast_to(z, (64, 33)), "transposed": lambda: core.transpose(z, (1, 0)),
             "column": lambda: z}[lead]()
    chain = core.mul(core.add(first, x), core.exp(y))
    p = Program.build([chain, core.sum(chain, 0)], {key(x), key(y), key(z)})
    out = fuse.fuse_elementwise(p)
    assert "Fused(Add+Mul)" in _names(out)
    rng = np.random.default_rng(0)
    feed = {key(v): rng.normal(size=v.shape).astype(np.float32) for v in (x, y, z)}
    want = Executor(_be()).run(p, feed)
    got = Executor(_be()).run(out, feed)
    assert got[0].strides == want[0].strides
    assert_same_bits(got, want)
    planned = PlannedExecutor(_be())
    for _ in range(3):
        assert_same_bits(planned.run(out, feed), want)


def test_values_read_elsewhere_or_fetched_stay_unfused():
    x = source(Input((3,)))
    a = core.exp(x)
    b = core.neg(a)
    p = Program.build([b, a], {key(x)})
    assert _names(fuse.fuse_elementwise(p)) == ["Exp", "Neg"]


def test_epilogue_fuses_matmul_bias_and_activation():
    x, w, bias = source(Input((None, 5))), source(Input((5, 3))), source(Input((3,)))
    y = core.relu(core.add(core.matmul(x, w), bias))
    p = Program.build([y], {key(x), key(w), key(bias)})
    out = fuse.fuse_epilogues(p)
    assert _names(out) == ["Fused(MatMul+Add+Relu)"]
    rng = np.random.default_rng(1)
    feed = {key(x): rng.normal(size=(4, 5)), key(w): rng.normal(size=(5, 3)), key(bias): rng.normal(size=3)}
    want = Executor(_be()).run(p, feed)
    _same(Executor(_be()).run(out, feed), want)
    planned = PlannedExecutor(_be())
    for _ in range(3):      # planned, the product and its epilogue write into one arena buffer
        _same(planned.run(out, feed), want)
    assert planned.plan_of(out, feed).unlowered(out) == []
    # An operand that could widen the product (unknown rows against unknown rows) stops the epilogue.
    z = source(Input((None, 3)))
    q = Program.build([core.add(core.matmul(x, w), z)], {key(x), key(w), key(z)})
    assert _names(fuse.fuse_epilogues(q)) == ["MatMul", "Add"]


@pytest.mark.parametrize("reduction", ["sum", "mean", "max", "min"])
def test_epilogue_fuses_a_reduction_with_its_scaling_shift_and_activation(reduction):
    x, bias = source(Input((None, 4, 5))), source(Input((5,)))
    y = core.relu(core.add(core.scalar(getattr(core, reduction)(x, 1), "mul", 0.5), bias))
    total = core.scalar(getattr(core, reduction)(x), "add", 1.0)          # over every axis: a 0-d result
    p = Program.build([y, total], {key(x), key(bias)})
    out = fuse.fuse_epilogues(p)
    op = reduction.capitalize()
    assert _names(out) == [f"Fused({op}+MulScalar+Add+Relu)", f"Fused({op}+AddScalar)"]
    rng = np.random.default_rng(2)
    feed = {key(x): rng.normal(size=(3, 4, 5)).astype(np.float32), key(bias): rng.normal(size=5).astype(np.float32)}
    want = Executor(_be()).run(p, feed)
    assert want[0].shape == (3, 5) and want[1].shape == ()
    _same(Executor(_be()).run(out, feed), want)
    planned = PlannedExecutor(_be())
    for _ in range(3):
        _same(planned.run(out, feed), want)
    assert planned.plan_of(out, feed).unlowered(out) == []
    # An operand of the reduction's input shape would widen its result: no epilogue.
    q = Program.build([core.add(getattr(core, reduction)(x, 1, keepdims=True), x)], {key(x)})
    assert _names(fuse.fuse_epilogues(q)) == [op, "Add"]


def test_epilogue_hands_shape_readers_its_result_or_ends_before_an_early_one():
    from core.ops.elementwise import SumToLike
    x, w, b, z = (source(Input(s)) for s in ((None, 5), (5, 3), (3,), (None, 3)))
    fed = {key(x), key(w), key(b), key(z)}
    rng = np.random.default_rng(3)
    feed = {key(x): rng.normal(size=(4, 5)), key(w): rng.normal(size=(5, 3)), key(b): rng.normal(size=3),
            key(z): rng.normal(size=(4, 3))}
    for late in (True, False):
        m = core.matmul(x, w)
        r = core.relu(core.add(m, b))
        shaped = core.apply(SumToLike(), core.exp(z), m)       # reads the product's shape alone
        p = Program.build([r, shaped] if late else [shaped, r], fed)
        out = fuse.fuse_epilogues(p)
        if late:    # the reader comes after the chain: it reads the (same-shaped) result instead
            assert _names(out) == ["Fused(MatMul+Add+Relu)", "Exp", "SumToLike"]
            assert out.steps[2].ins[1] == key(r)
        else:       # it runs before the bias add: the product must exist then
            assert _names(out) == ["Exp", "MatMul", "SumToLike", "Add", "Relu"]
        _same(Executor(_be()).run(out, feed), Executor(_be()).run(p, feed))


def test_static_seed_cnn_runs_conv_bias_relu_as_one_step_per_layer():
    from dualflow import models
    m = models.Static(models.init_weights((28, 28), 10, 0), 0.1, (28, 28))
    m.step(np.zeros((2, 1, 28, 28), np.float32), np.zeros(2, np.int64))
    step = m.training_program()
    assert _names(step).count("Fused(Conv2D+BiasAdd+Relu)") == 2
    assert "BiasAdd" not in _names(step) and "Relu" not in _names(step)
    # The logits' matmul fuses with its bias too: its gradient reads the product's shape alone (SumToLike),
    # and is handed the logits, of the same shape.
    assert "Fused(MatMul+Add)" in _names(step)


def test_a_pass_is_one_line_in_the_pipeline():
    x = source(Input((2,)))
    p = Program.build([core.exp(x), core.exp(x)], {key(x)})
    assert len(passes.optimize(p, passes=()).steps) == 2
    assert len(passes.optimize(p).steps) == 1
    seen = []
    passes.optimize(p, passes=passes.PASSES + (lambda prog: seen.append(len(prog.steps)) or prog,))
    assert seen == [1]


# ----- semantics over the op table --------------------------------------------------------------------------
def _table_program(case):
    """The case's op on fed inputs, then an elementwise tail (for fusion to find chains), a loss with a
    constant, and the gradients of that loss: fetched outputs and gradients."""
    srcs = [source(Input(np.shape(a), np.asarray(a).dtype)) for a in case.inputs]
    outs = case.fn(*srcs)
    outs = list(outs) if isinstance(outs, tuple) else [outs]
    fetched = []
    loss = None
    for o in outs:
        if o.dtype.kind != "f":
            fetched.append(o)
            continue
        tail = core.tanh(core.scalar(core.add(core.mul(o, o), o), "mul", 0.5))
        fetched.append(tail)
        c = source(Const(np.random.default_rng(0).normal(size=tuple(tail.shape)).astype(o.dtype)))
        term = core.sum(core.mul(tail, core.scalar(c, "add", 1.0)))
        loss = term if loss is None else core.add(loss, term)
    wrt = [s for s in srcs if s.dtype.kind == "f"] if case.grad else []
    if loss is not None and wrt:
        grads = core.gradients([loss], wrt, [source(Const(np.array(1.0, dtype=loss.dtype)))])
        fetched += [g for g in grads if g is not None]
    return Program.build(fetched, {key(s) for s in srcs}), {key(s): np.asarray(a) for s, a in zip(srcs, case.inputs)}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_optimized_and_planned_programs_match_the_unoptimized_one_bitwise(case):
    p, feed = _table_program(case)
    want = Executor(_be()).run(p, feed)
    opt = passes.optimize(p)
    _same(Executor(_be()).run(opt, feed), want)
    planned = PlannedExecutor(_be())
    for _ in range(3):      # the first run records shapes; the next ones run planned
        _same(planned.run(opt, feed), want)
    assert planned.plan_of(opt, feed) is not None


# ----- semantics on the models ------------------------------------------------------------------------------
def _static_seed_cnn_run(monkeypatch, optimize):
    from dualflow import models
    monkeypatch.setenv("DUALFLOW_OPTIMIZE", optimize)
    m = models.Static(models.init_weights((28, 28), 10, 0), 0.05, (28, 28))
    rng = np.random.default_rng(0)
    losses = [m.step(rng.random((8, 1, 28, 28), np.float32), rng.integers(0, 10, 8)) for _ in range(4)]
    return losses, m.sess.run(list(m.graph.get_collection("variables")) or [m.loss], {m.x: np.ones((2, 1, 28, 28),
                                                                                            np.float32),
                                                                                      m.y: np.zeros(2, np.int64)})


def test_static_seed_cnn_trains_bit_for_bit_the_same_optimized_or_not(monkeypatch):
    off = _static_seed_cnn_run(monkeypatch, "0")
    on = _static_seed_cnn_run(monkeypatch, "1")
    _same(off[0], on[0])
    _same(off[1], on[1])


def test_keras_seed_cnn_fits_the_same_optimized_or_not(monkeypatch):
    """The layout pass runs the NHWC convolutions natively, which sums in another order than NCHW kernels
    between transposes: the same numbers to float32 reassociation (1e-6 of each tensor's norm)."""
    from tests.helpers import load_example
    ex = load_example("keras_seed_cnn")
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1), np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]
    weights = []
    for flag in ("0", "1"):
        monkeypatch.setenv("DUALFLOW_OPTIMIZE", flag)
        tf.reset_default_graph()
        tf.set_random_seed(0)
        model = ex.build()
        model.fit(x, y, epochs=1, batch_size=32, verbose=0)
        weights.append(model.get_weights() + [model.predict(x[:5], verbose=0)])
    assert len(weights[1]) == len(weights[0])
    for g, w in zip(weights[1], weights[0]):
        assert g.shape == w.shape and g.dtype == w.dtype
        assert np.linalg.norm(g - w) <= 1e-6 * np.linalg.norm(w), (np.linalg.norm(g - w), np.linalg.norm(w))


def test_aliases_stay_one_hop_through_several_passes():
    from core.passes.transpose import fold_transposes
    x = source(Input((2, 3)))
    a, b = core.exp(x), core.exp(x)                                  # merged by CSE
    c = core.transpose(core.transpose(b, (1, 0)), (1, 0))           # folded into b first
    p = Program.build([c, b, a], {key(x)})
    out = passes.optimize(p, [fold_transposes, cse.eliminate_common, dce.eliminate_dead])
    assert _names(out) == ["Exp"]
    kept = (id(out.steps[0].node), 0)         # whichever Exp ran first
    assert out.resolve(key(c)) == out.resolve(key(b)) == out.resolve(key(a)) == kept
    feed = {key(x): np.arange(6.0).reshape(2, 3)}
    _same(Executor(_be()).run(out, feed), [np.exp(feed[key(x)])] * 3)


@pytest.mark.parametrize("name", [p.__name__ for p in passes.PASSES])
def test_each_pass_leaves_its_input_program_and_the_graph_alone(name):
    from dualflow import models
    m = models.StaticUnoptimized(models.init_weights((8, 8), 10, 0), 0.1, (8, 8))
    m.step(np.zeros((2, 1, 8, 8), np.float32), np.zeros(2, np.int64))
    p = m.training_program()
    snapshot = [(s.node, s.op, list(s.ins)) for s in p.steps], dict(p.aliases), dict(p.release)
    graph = [(n.op, n.inputs, list(n.outputs)) for n in (s.node for s in p.steps)]
    dict((q.__name__, q) for q in passes.PASSES)[name](p)
    assert ([(s.node, s.op, list(s.ins)) for s in p.steps], dict(p.aliases), dict(p.release)) == snapshot
    assert [(n.op, n.inputs, list(n.outputs)) for n in (s.node for s in p.steps)] == graph


@pytest.mark.parametrize("name", [p.__name__ for p in passes.PASSES])
def test_each_pass_keeps_feeds_fetches_and_target_nodes(name):
    """A pass rewrites steps, never what the caller asked for: a target node run for its effect survives
    every pass, here in an NHWC graph that the layout pass does convert."""
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, (None, 6, 6, 2))
    w = tf.Variable(np.ones((3, 3, 2, 2), np.float32))
    y = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME")), 2, 2, "VALID")
    marker = core.exp(source(Input((2,))))          # pure, read by nobody: kept only as a target node
    p = Program.build([y, marker.node], {key(x), key(marker.node.inputs[0])})
    assert p.targets
    q = dict((f.__name__, f) for f in passes.PASSES)[name](p)
    assert q.targets == p.targets and q.fed == p.fed and q.fetches == p.fetches
    assert marker.node in {s.node for s in q.steps}
    full = passes.optimize(p)
    assert marker.node in {s.node for s in full.steps}
    assert "Transpose" not in _names(full)


# ----- mask before scatter ------------------------------------------------------------------------------------
def _pool_relu_grad_program(shape, kernel, stride, padding, fmt, also_fetch_scatter=False, other_mask=False):
    """ReluGrad(MaxPoolGrad(gy, argmax, x), x) on fed x and gy (the shape of the pool's output)."""
    from core.ops import nn
    from core.ops.elementwise import relu_grad
    x = source(Input(shape, np.float32))
    y, idx = core.max_pool2d(x, kernel, stride, padding, fmt)
    gy = source(Input(tuple(y.shape), np.float32))
    scattered = core.apply(nn.window_op(nn.MaxPoolGrad, kernel, stride, padding, fmt), gy, idx, x)
    masked = relu_grad(scattered, core.exp(x) if other_mask else x)
    fetched = [masked, y] + ([scattered] if also_fetch_scatter else [])
    return Program.build(fetched, {key(x), key(gy)}), x, gy


def _special(rng, shape):
    """Values that tell the orders of a mask and a scatter apart if anything does: signed zeros, ties,
    infinities and NaNs among ordinary numbers."""
    a = rng.normal(size=shape).astype(np.float32)
    picks = rng.random(shape)
    a[picks < 0.3] = 0.0
    a[(picks >= 0.3) & (picks < 0.4)] = -0.0
    a[(picks >= 0.4) & (picks < 0.43)] = np.inf
    a[(picks >= 0.43) & (picks < 0.46)] = -np.inf
    a[(picks >= 0.46) & (picks < 0.48)] = np.nan
    return a


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
@pytest.mark.parametrize("geometry", [((2, 2), (2, 2), 0, 8), ((2, 2), (2, 2), 0, 7), ((3, 3), (3, 3), 1, 7),
                                      ((2, 2), (3, 3), 0, 8), ((2, 1), (2, 2), 0, 5)],
                         ids=["tiles", "odd-size", "padded", "gaps", "2x1"])
@pytest.mark.parametrize("numba", ["1", "0"], ids=["numba", "numpy"])
def test_mask_before_scatter_is_bitwise_the_same_and_masks_at_the_pooled_size(fmt, geometry, numba, monkeypatch):
    # numba's scatter takes the mask in its loop; without it the mask goes into a work array first
    monkeypatch.setenv("DUALFLOW_NUMBA", numba)
    kernel, stride, padding, size = geometry
    shape = (2, 3, size, size + 1) if fmt == "NCHW" else (2, size, size + 1, 3)
    p, x, gy = _pool_relu_grad_program(shape, kernel, stride, padding, fmt)
    out = passes.optimize(p)
    names = _names(out)
    assert "ReluGrad" not in names and "MaxPoolGrad" not in names       # one step, masking first...
    masked = next(s for s in out.steps if s.op.name == "MaxPoolGradMasked")
    rng = np.random.default_rng(1)
    for trial in range(4):
        xs = _special(rng, shape)
        if trial == 0:
            xs = np.abs(xs)       # a ReLU's output: zeros and positives (and NaN)
        gys = _special(rng, tuple(gy.shape))
        feed = {key(x): xs, key(gy): gys}
        with np.errstate(invalid="ignore"):     # inf * 0 is NaN on both sides, on purpose
            want = Executor(_be()).run(p, feed)
            planned = PlannedExecutor(_be())
            gots = [Executor(_be()).run(out, feed)] + [planned.run(out, feed) for _ in range(3)]
        for got in gots:
            _same(got, want)
            assert (np.asarray(got[0]).view(np.uint32) == np.asarray(want[0]).view(np.uint32)).all()   # -0 stays -0
    # ...and on the pooled values (a quarter of the elements for 2x2): it reads gy and the pooled y.
    pool = next(s for s in out.steps if s.op.name == "MaxPool")
    assert masked.ins[0] == key(gy) and masked.ins[3] == (id(pool.node), 0)


def test_mask_before_scatter_leaves_overlapping_windows_and_shared_or_foreign_values_alone():
    shape = (1, 2, 7, 7)
    for kw in ({"also_fetch_scatter": True}, {"other_mask": True}):
        p, _, _ = _pool_relu_grad_program(shape, (2, 2), (2, 2), 0, "NCHW", **kw)
        names = _names(passes.optimize(p))
        assert names.index("MaxPoolGrad") < names.index("ReluGrad"), kw
    p, _, _ = _pool_relu_grad_program(shape, (3, 3), (2, 2), 0, "NCHW")       # a position in two windows
    names = _names(passes.optimize(p))
    assert names.index("MaxPoolGrad") < names.index("ReluGrad")


def test_static_seed_cnn_masks_its_relu_gradients_at_the_pooled_size():
    from dualflow import models
    m = models.Static(models.init_weights((28, 28), 10, 0), 0.1, (28, 28))
    m.step(np.zeros((2, 1, 28, 28), np.float32), np.zeros(2, np.int64))
    step = m.training_program()
    names = _names(step)
    assert names.count("MaxPoolGradMasked") == 2 and "ReluGrad" not in names and "MaxPoolGrad" not in names


def test_conv_bias_relu_epilogue_runs_the_paired_kernel_with_the_unfused_bits():
    x, w, b = source(Input((None, 3, 6, 7), np.float32)), source(Input((4, 3, 3, 3), np.float32)), \
        source(Input((4,), np.float32))
    y = core.relu(core.bias_add(core.conv2d(x, w, 1, 1), b, 1))
    p = Program.build([y], {key(x), key(w), key(b)})
    out = fuse.fuse_epilogues(p)
    assert _names(out) == ["Fused(Conv2D+BiasAdd+Relu)"] and out.steps[0].op._paired == {1}
    rng = np.random.default_rng(4)
    xs = rng.normal(size=(2, 3, 6, 7)).astype(np.float32)
    xs[0, 0, :2] = np.nan
    bs = np.array([0.0, -0.0, np.inf, -np.inf], np.float32)      # zeros that stay -0.0 before the ReLU
    feed = {key(x): xs, key(w): rng.normal(size=(4, 3, 3, 3)).astype(np.float32), key(b): bs}
    with np.errstate(invalid="ignore"):
        want = Executor(_be()).run(p, feed)
        gots = [Executor(_be()).run(out, feed)] + [PlannedExecutor(_be()).run(out, feed) for _ in range(2)]
    assert np.isnan(want[0]).any() and (want[0] == 0).any()
    for got in gots:
        assert (np.asarray(got[0]).view(np.uint32) == np.asarray(want[0]).view(np.uint32)).all()


def test_planned_select_relu_gradient_writes_pytorchs_rule():
    # The planned writer of the select (PyTorch) ReLU gradient gives the unplanned one's bits, NaN and
    # infinite gradients at off units included (0 there, where the TF rule gives NaN).
    from core.ops.elementwise import relu_grad
    g, y = source(Input((2, 5), np.float32)), source(Input((2, 5), np.float32))
    p = Program.build([relu_grad(g, y, select=True)], {key(g), key(y)})
    gs = np.array([[np.nan, np.inf, -1.0, 2.0, -0.0]] * 2, np.float32)
    ys = np.array([[0.0, -0.0, 3.0, np.nan, 1.0]] * 2, np.float32)
    feed = {key(g): gs, key(y): ys}
    want = Executor(_be()).run(p, feed)[0]
    np.testing.assert_array_equal(want, np.where(ys <= 0, np.float32(0), gs))
    planned = PlannedExecutor(_be())
    for _ in range(2):
        got = planned.run(p, feed)[0]
        assert np.asarray(got).tobytes() == np.asarray(want).tobytes()
    assert planned.plan_of(p, feed).unlowered(p) == []
