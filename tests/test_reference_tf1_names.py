"""Parity with TensorFlow 2.21's compat.v1 for tests/test_tf1_names.py: the same graph built in both, every
op name compared (scopes, operators, variables; constants that dualflow folds into scalar ops excepted, and
TF's "read" snapshots of reference variables, which dualflow does not make)."""
import pytest

import static_api as tf

real = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.reference
tf1 = real.compat.v1


def _build(lib, ref):
    """A graph using scopes, operators and variables; the names of the tensors it returns."""
    kw = {"use_resource": False} if ref else {}
    a = lib.constant(1.0, name="a")
    x = lib.placeholder(lib.float32, [2, 2], name="x")
    b = lib.placeholder(lib.bool, [2], name="b")
    out = []
    with lib.name_scope("s"):
        out += [a + 1.0, x * x]
    with lib.name_scope("s"):
        out += [x - a, 2.0 / x, x[0], x @ x, -x, abs(x)]
    with lib.name_scope("s/"):
        out += [x ** 2.0, 2.0 ** x, x < a, b & b, ~b, b ^ b]
    with lib.name_scope("outer"):
        with lib.name_scope("inner"):
            out += [lib.add(x, a), lib.divide(x, x), lib.square(x)]
        with lib.name_scope(None):
            out += [x // x, x % x]
        with lib.name_scope("inner"):
            out.append(lib.multiply(x, a, name="s"))
        # ops whose primitive already has TF's name keep it inside a scope (they became seg/SegmentSum_1)
        with lib.name_scope("seg"):
            out += [lib.math.segment_sum(a * x[0], [0, 0]), lib.size(x), lib.math.segment_sum(x[0], [0, 1])]
    v = lib.Variable(1.0, name="var", **kw)
    v2 = lib.Variable(lambda: lib.zeros([2]), name="var", **kw)
    with lib.variable_scope("vs", **kw):
        g = lib.get_variable("v", [2], initializer=lib.zeros_initializer())
        out += [g, g + 1.0]
    with lib.variable_scope("vs", reuse=True, **kw) as scope:
        out.append(lib.get_variable("v", [2]) + 1.0)
    with lib.variable_scope(scope, **kw):
        out.append(g * 2.0)
    out.append(lib.add(a, a, name="S"))
    names = [t.name for t in out]
    return names + [v.op.name, v.initializer.name, v.initial_value.op.name, v2.op.name, v2.initializer.name,
                    g.initializer.name]


def test_names_match_tf1():
    with tf1.Graph().as_default():
        want = _build(tf1, True)
    with tf.Graph().as_default():
        got = _build(tf, False)
    assert got == want
