"""Random graphs through the compiler: a program of elementwise, broadcasting, reduction, view and matmul ops,
with repeated subexpressions, constant subgraphs and fetched intermediates, gives the same values and
gradients bit for bit (signed zeros included; a NaN where a NaN, whatever its sign: NumPy's loops do
not keep a NaN's sign bit from one memory layout or aliasing to another) unoptimized, optimized, and optimized under the
memory plan, over several runs with new feeds.  The op-table test checks each op alone; this one checks
how the passes (CSE, folding, dead code, fusion, in-place buffer reuse, bound kernels) compose."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backends
import core
from core import device, passes
from core.executor import Executor, PlannedExecutor
from core.program import Program, key
from tests.helpers import Const, Input, source

UNARY = {"neg": core.neg, "exp": core.exp, "tanh": core.tanh, "relu": core.relu, "sigmoid": core.sigmoid,
         "abs": core.abs, "sqrt": core.sqrt, "log": core.log}
BINARY = {"add": core.add, "sub": core.sub, "mul": core.mul, "div": core.div, "maximum": core.maximum,
          "minimum": core.minimum}
KINDS = sorted(UNARY) + sorted(BINARY) + ["scale", "shift", "where", "sum", "mean", "max", "sum_keep", "transpose",
                                          "flatten", "expand", "matmul", "again", "const"]
SHAPES = ((3, 4), (4,), (3, 1))     # the fed inputs: a matrix, a row and a column that broadcast against it
STEP = st.tuples(st.sampled_from(KINDS), st.integers(0, 31), st.integers(0, 31), st.sampled_from([-1.5, 0.5, 2.0]))


def _broadcasts(a: core.Value, b: core.Value) -> bool:
    try:
        np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        return False
    return True


def build(prog: list, dtype) -> tuple[list, list, list]:
    """(the fed inputs, every value the program made in order, the sources of its constants).  Each step
    reads pool entries by position (modulo the pool's size); a step whose operands do not fit (shapes that
    do not broadcast, a reduction of a scalar) makes nothing."""
    ins = [source(Input(s, dtype)) for s in SHAPES]
    pool = list(ins)
    last = None     # the last op and its operands: "again" builds the very same expression once more (CSE)
    for kind, i, j, c in prog:
        x, y = pool[i % len(pool)], pool[j % len(pool)]
        call = None
        if kind in UNARY:
            call = (UNARY[kind], x)
        elif kind in BINARY and _broadcasts(x, y):
            call = (BINARY[kind], x, y)
        elif kind == "scale":
            call = (core.scalar, x, "mul", c)
        elif kind == "shift":
            call = (core.scalar, x, "add", c)
        elif kind == "where" and _broadcasts(x, y):
            call = (lambda a, b: core.where(core.greater(a, b), a, b), x, y)
        elif kind in ("sum", "mean", "max") and x.ndim:
            call = (getattr(core, kind), x, j % x.ndim)
        elif kind == "sum_keep" and x.ndim:
            call = (core.sum, x, j % x.ndim, True)
        elif kind == "transpose" and x.ndim >= 2:
            call = (core.transpose, x, tuple(reversed(range(x.ndim))))
        elif kind == "flatten":
            call = (core.reshape, x, (int(np.prod(x.shape)),))
        elif kind == "expand":
            call = (core.expand_dims, x, 0)
        elif kind == "matmul" and x.ndim == 2:
            call = (core.matmul, x, x, True)        # x^T x: (n, n)
        elif kind == "again" and last is not None:
            call = last
        elif kind == "const":       # a constant subgraph folding computes once
            k = source(Const(np.linspace(-1, 1, int(np.prod(x.shape))).reshape(x.shape).astype(dtype)))
            call = (lambda a: core.mul(core.tanh(core.scalar(k, "mul", c)), a), x)
        if call is not None:
            pool.append(call[0](*call[1:]))
            last = call
    return ins, pool[len(ins):]


def program(prog: list, fetch_bits: int, dtype) -> tuple[Program, list]:
    """The Program fetching some of the values made (by ``fetch_bits``), the last one, and the gradients of a
    weighted sum of all of them with respect to the inputs."""
    ins, made = build(prog, dtype)
    made = made or [core.identity(ins[0])]
    fetched = [v for n, v in enumerate(made) if fetch_bits >> n & 1] + [made[-1]]
    loss = None
    for n, v in enumerate(made):
        w = source(Const(np.cos(np.arange(int(np.prod(v.shape))) * 0.7 + n).reshape(v.shape).astype(dtype)))
        term = core.sum(core.mul(v, w))
        loss = term if loss is None else core.add(loss, term)
    grads = core.gradients([loss], ins, [source(Const(np.array(1.0, dtype)))])
    fetched += [g for g in grads if g is not None]
    return Program.build(fetched, {key(v) for v in ins}), ins


def feeds(ins: list, seed: int, dtype) -> dict:
    """New values for the inputs: normal ones, and in the row small integers (ties for max, where and
    maximum; zeros for relu, abs, sqrt, log and division)."""
    rng = np.random.default_rng(seed)
    out = {}
    for n, v in enumerate(ins):
        a = rng.normal(size=v.shape) if n != 1 else rng.integers(-2, 3, size=v.shape)
        out[key(v)] = a.astype(dtype)
    return out


def _arrays(results: list) -> list:
    # A 0-d result may come back as a NumPy scalar op by op and as a 0-d buffer planned: the Session hands out
    # both as the same scalar, so only dtype, shape and bits are compared.
    return [np.asarray(r) for r in results]


def _same(got: list, want: list) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        nan = np.isnan(w)
        np.testing.assert_array_equal(np.isnan(g), nan)
        bits = {4: np.uint32, 8: np.uint64}[w.dtype.itemsize]
        np.testing.assert_array_equal(g.view(bits)[~nan], w.view(bits)[~nan])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, min_size=1, max_size=10), st.integers(0, 2**10 - 1), st.sampled_from([np.float32, np.float64]),
       st.integers(0, 2**16))
def test_random_programs_run_the_same_bits_optimized_and_planned(prog, fetch_bits, dtype, seed):
    be = backends.get_backend(device.default())
    p, ins = program(prog, fetch_bits, dtype)
    opt = passes.optimize(p)
    planned = PlannedExecutor(be)
    with np.errstate(all="ignore"):
        for run in range(3):        # the first planned run records the shapes, the next ones run under the plan
            f = feeds(ins, seed + run, dtype)
            want = _arrays(Executor(be).run(p, f))
            _same(_arrays(Executor(be).run(opt, f)), want)
            _same(_arrays(planned.run(opt, f)), want)
    assert planned.plan_of(opt, f) is not None


# ----- convolutional graphs ----------------------------------------------------------------------------------
CNN_KINDS = ["conv", "conv_valid", "bias", "relu", "tanh", "scale", "max_pool", "avg_pool", "to_other_layout"]
CNN_STEP = st.tuples(st.sampled_from(CNN_KINDS), st.sampled_from([2, 3]))


def cnn_program(prog: list, fmt: str, dtype) -> tuple[Program, list]:
    """An image batch in layout ``fmt`` through convolutions, biases, activations, pooling and transposes to
    the other layout and back (what TF1 and Keras graphs hold around NCHW kernels), then a dense layer; the
    Program fetches the logits and the gradients of a weighted sum of them with respect to every input (the
    image, each convolution's weights and bias, the dense weights)."""
    x = source(Input((2, 3, 6, 6) if fmt == "NCHW" else (2, 6, 6, 3), dtype))
    ins, h = [x], x

    def hw(v, f):
        return tuple(v.shape[2:]) if f == "NCHW" else tuple(v.shape[1:3])

    def channels(v, f):
        return v.shape[1] if f == "NCHW" else v.shape[3]
    for kind, c in prog:
        if kind in ("conv", "conv_valid"):
            pad = 1 if kind == "conv" else 0
            if min(hw(h, fmt)) < 3 - 2 * pad:
                continue
            cin = channels(h, fmt)
            w = source(Input((c, cin, 3, 3) if fmt == "NCHW" else (3, 3, cin, c), dtype))
            ins.append(w)
            h = core.conv2d(h, w, 1, pad, data_format=fmt)
        elif kind == "bias":
            b = source(Input((channels(h, fmt),), dtype))
            ins.append(b)
            h = core.bias_add(h, b, 1 if fmt == "NCHW" else -1)
        elif kind == "relu":
            h = core.relu(h)
        elif kind == "tanh":
            h = core.tanh(h)
        elif kind == "scale":
            h = core.scalar(h, "mul", 0.5 * c)
        elif kind in ("max_pool", "avg_pool") and min(hw(h, fmt)) >= 2:
            h = core.max_pool2d(h, 2, 2, data_format=fmt)[0] if kind == "max_pool" else \
                core.avg_pool2d(h, 2, 2, data_format=fmt)
        elif kind == "to_other_layout":
            h = core.transpose(h, (0, 2, 3, 1) if fmt == "NCHW" else (0, 3, 1, 2))
            fmt = "NHWC" if fmt == "NCHW" else "NCHW"
    features = int(np.prod(h.shape[1:]))
    dense = source(Input((features, 3), dtype))
    ins.append(dense)
    logits = core.matmul(core.reshape(h, (2, features)), dense)
    w = source(Const(np.cos(np.arange(6) * 0.7).reshape(2, 3).astype(dtype)))
    loss = core.sum(core.mul(logits, w))
    grads = core.gradients([loss], ins, [source(Const(np.array(1.0, dtype)))])
    return Program.build([logits] + [g for g in grads if g is not None], {key(v) for v in ins}), ins


def _close(got: list, want: list, rtol: float) -> None:
    """Each array of ``got`` within ``rtol`` of ``want``'s norm (summing in another order, as a convolution in
    the other layout does, moves the last bits)."""
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        assert np.linalg.norm(g - w) <= rtol * np.linalg.norm(w), (np.linalg.norm(g - w), np.linalg.norm(w))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(CNN_STEP, min_size=1, max_size=8), st.sampled_from(["NCHW", "NHWC"]),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 2**16))
def test_random_conv_programs_agree_optimized_and_run_the_same_bits_planned(prog, fmt, dtype, seed):
    """Optimized against unoptimized within float rounding (the layout pass runs convolutions in the graph's
    layout, which sums in another order); planned against optimized op by op, bit for bit."""
    be = backends.get_backend(device.default())
    p, ins = cnn_program(prog, fmt, dtype)
    opt = passes.optimize(p)
    planned = PlannedExecutor(be)
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    for run in range(3):
        rng = np.random.default_rng(seed + run)
        f = {key(v): rng.normal(size=v.shape).astype(dtype) for v in ins}
        want = _arrays(Executor(be).run(p, f))
        got = _arrays(Executor(be).run(opt, f))
        _close(got, want, rtol)
        _same(_arrays(planned.run(opt, f)), got)
