"""Shared test data: MNIST from ``$DUALFLOW_DATA`` (read once, when the tests start: conftest then unsets it so
that other tests see the bundled default), else the shared MNIST test set next to the repository, split as the
CLI splits it (the shared t10k: 8,000 / 2,000); graph sources for core-level tests."""
import importlib.util
import os

import numpy as np
import pytest

from core import datasets, device
from core.graph import Node, Value
from core.op import Op

SHARED_MNIST = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")
MNIST_DIR = os.environ.get("DUALFLOW_DATA") or SHARED_MNIST
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def load_example(name):
    """Import ``examples/<name>.py`` (examples are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def assert_same_bits(got, want):
    """Two lists of arrays agree bit for bit (dtype, shape and every bit, so -0.0 != 0.0 and NaNs compare);
    plain numbers and strings (step counts, state entry names) must be equal and of one type."""
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if isinstance(w, (int, float, str)):
            assert type(g) is type(w) and g == w
            continue
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape
        unsigned = {2: np.uint16, 4: np.uint32, 8: np.uint64}[w.dtype.itemsize]
        assert np.array_equal(g.view(unsigned), w.view(unsigned))


def run_in_threads(fn, args_list):
    """Run ``fn(*args)`` for each ``args`` on its own thread, all at once; re-raise the first exception a
    thread raised."""
    import threading
    errors = []

    def run(args):
        try:
            fn(*args)
        except BaseException as exc:        # noqa: BLE001  (re-raised in the calling thread)
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(a,)) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def mnist_dir():
    """The MNIST folder, or a skip that says where it was looked for and how to give one."""
    if not os.path.isdir(MNIST_DIR):
        pytest.skip(f"MNIST not found at {MNIST_DIR} (set DUALFLOW_DATA to a folder with MNIST IDX files)")
    return MNIST_DIR


def mnist_split():
    """(train, held-out) of ``mnist_dir()``, as ``dualflow compare`` splits that folder."""
    split = datasets.load_split(mnist_dir())
    return split.train, split.heldout


def read_scalars(folder):
    """{tag: [(step, value), ...]} of every TensorBoard event file in ``folder`` (TFRecord framing: length,
    its CRC, the Event protobuf, its CRC), scalars as tensorboardX writes them (``simple_value``) or as
    TF2 summaries do (a float tensor)."""
    import glob
    import struct

    from tensorboardX.proto import event_pb2

    found = {}
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        raw, pos = open(path, "rb").read(), 0
        while pos < len(raw):
            (n,) = struct.unpack("<Q", raw[pos:pos + 8])
            event = event_pb2.Event.FromString(raw[pos + 12:pos + 12 + n])
            pos += 16 + n
            for v in event.summary.value:
                if v.WhichOneof("value") == "simple_value":
                    value = v.simple_value
                elif v.HasField("tensor") and v.tensor.dtype == 1:      # DT_FLOAT scalar
                    value = (v.tensor.float_val[0] if v.tensor.float_val
                             else float(np.frombuffer(v.tensor.tensor_content, np.float32)[0]))
                else:
                    continue
                found.setdefault(v.tag, []).append((event.step, float(value)))
    return found


class Input(Op):
    """A source the caller feeds (core has no placeholder of its own)."""

    name = "Input"
    differentiable = False
    pure = False

    def __init__(self, shape, dtype=np.float64):
        self.shape, self.dtype = shape, np.dtype(dtype)

    def infer(self):
        return [(self.shape, self.dtype)]


class Const(Op):
    """A constant source (a pure op without inputs, as a graph constant)."""

    name = "Const"
    differentiable = False

    def __init__(self, array):
        self.array = np.asarray(array)

    def infer(self):
        return [(self.array.shape, self.array.dtype)]

    def forward(self, be):
        return self.array


def source(op):
    """The output of a new source node running ``op`` (or the node itself for an op without outputs)."""
    node = Node(op, ())
    node.outputs = [Value._wrap(None, s, d, device.default(), node, i) for i, (s, d) in enumerate(op.infer())]
    return node.outputs[0] if node.outputs else node


def seeded_dropout_pattern(lib, graph):
    """(whether two runs of one Session draw the same dropout mask, whether a new Session's first run repeats
    the first one's) for TF1-style ``lib`` (dualflow's or TensorFlow's compat.v1) on a graph seeded with 3."""
    with graph.as_default():
        lib.set_random_seed(3)
        d = lib.nn.dropout(lib.ones([16, 16]), rate=0.5)
    with lib.Session(graph=graph) as s:
        a, b = s.run(d), s.run(d)
    with lib.Session(graph=graph) as s:
        c = s.run(d)
    return np.array_equal(a, b), np.array_equal(a, c)


def assert_trains_as_keras(build, optimizer, loss, x, y, *, batch_size=8, jitter=0.0, rng=None, predict=0,
                           metrics=None, validation=False, rtol=1e-5, atol=1e-6):
    """Build one model in dualflow's Keras and in real Keras (``build(keras)``), start both from the first one's
    weights (plus ``jitter`` times normal noise from ``rng``), compile with ``optimizer(keras)``, ``loss`` and
    ``metrics``, fit two epochs unshuffled (``validation``: on the first 8 samples too), and compare the
    history's names, every logged value, the first ``predict`` rows' predictions and every weight."""
    import static_api as tf
    real = pytest.importorskip("tensorflow")
    tf.reset_default_graph()
    results, start = [], None
    for keras in (tf.keras, real.keras):
        model = build(keras)
        if start is None:
            start = [w + (rng.normal(size=w.shape).astype(np.float32) * jitter if jitter else 0)
                     for w in model.get_weights()]
        model.set_weights(start)
        model.compile(optimizer(keras), loss, metrics=metrics)
        history = model.fit(x, y, epochs=2, batch_size=batch_size, shuffle=False, verbose=0,
                            validation_data=(x[:8], y[:8]) if validation else None).history
        predictions = [model.predict(x[:predict], verbose=0)] if predict else []
        results.append((list(history), [np.array(v) for v in history.values()] + predictions + model.get_weights()))
    (names, ours), (want_names, theirs) = results
    assert names == want_names
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def central_differences(f, x, h=1e-6):
    """Central differences of scalar ``f`` at float64 ``x``."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        p, m = x.copy(), x.copy()
        p[i] += h
        m[i] -= h
        g[i] = (f(p) - f(m)) / (2 * h)
    return g


def eager_fd_check(fn, arrays, h=1e-6, rng=None):
    """Gradients of sum(fn(*tensors) * c) in the eager frontend against float64 central differences, every element
    of every input (``c`` random, so that each output element counts with its own weight)."""
    import eager_api as torch
    rng = rng if rng is not None else np.random.default_rng(0)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    c = rng.normal(size=tuple(out.shape))
    (out * torch.tensor(c)).sum().backward()
    for k, (t, a) in enumerate(zip(ts, arrays)):
        fd = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            plus, minus = list(arrays), list(arrays)
            plus[k], minus[k] = a.copy(), a.copy()
            plus[k][i] += h
            minus[k][i] -= h
            with torch.no_grad():
                diff = fn(*map(torch.tensor, plus)).numpy() - fn(*map(torch.tensor, minus)).numpy()
            fd[i] = (diff * c).sum() / (2 * h)
        np.testing.assert_allclose(t.grad.numpy(), fd, rtol=1e-5, atol=1e-8)
