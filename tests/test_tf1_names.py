"""TF1's names: name scopes made unique (``s``, ``s_1``) and re-entered with a trailing "/", op names compared
without case, Python operators named as TF names them (``add``, ``truediv``, ``strided_slice``), a variable's
scope (``v/Assign``, ``v/initial_value``), and the operators TF1 has (``**`` from the left, ``abs``, ``&``,
``|``, ``^``, ``~`` of bools); against the names TF1 gives (tests/test_reference_tf1_names.py runs both)."""
import numpy as np
import pytest

import static_api as tf


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def test_name_scopes_are_made_unique_and_reentered_with_a_slash():
    a = tf.constant(1.0, name="a")
    with tf.name_scope("s") as s1:
        x = a + 1.0
    with tf.name_scope("s") as s2:
        y = a + 2.0
    with tf.name_scope("s/") as s3:
        z = a + 3.0
    with tf.name_scope("outer"):
        with tf.name_scope("inner"):
            w = a * 2.0
        with tf.name_scope(None) as root:
            r = a * 3.0
    assert (s1, s2, s3, root) == ("s/", "s_1/", "s/", "")
    assert [t.name for t in (x, y, z, w, r)] == ["s/add:0", "s_1/add:0", "s/add_1:0", "outer/inner/mul:0", "mul:0"]
    assert tf.add(a, a, name="S").op.name == "S_2"         # "s" and "s_1" are taken, whatever the case
    with tf.name_scope("seg"):      # a primitive already named as TF names the op keeps its name in a scope
        assert [tf.math.segment_sum(a * [1.0, 2.0], [0, 0]).op.name, tf.math.segment_sum(a * [1.0], [0]).op.name] \
            == ["seg/SegmentSum", "seg/SegmentSum_1"]
    with tf.name_scope(None, default_name="d") as d:
        pass
    assert d == "d/"
    with pytest.raises(ValueError, match="'a b' is not a valid scope name"):
        with tf.name_scope("a b"):
            pass


def test_operators_are_named_as_tf_names_them():
    x = tf.placeholder(tf.float32, [2, 2], name="x")
    y = tf.placeholder(tf.float32, [2, 2], name="y")
    b = tf.placeholder(tf.bool, [2], name="b")
    names = [t.op.name for t in (x + y, 1.0 + x, x - 1.0, x * y, x / y, 2.0 / x, x // y, x % y, x ** 2.0, -x,
                                 abs(x), x @ y, x[0], x < y, x >= 1.0, b & b, b | b, b ^ b, ~b, tf.add(x, y),
                                 tf.divide(x, y), tf.square(x))]
    assert names == ["add", "add_1", "sub", "mul", "truediv", "truediv_1", "floordiv", "mod", "pow", "Neg", "Abs",
                     "matmul", "strided_slice", "Less", "GreaterEqual", "and", "or", "xor", "LogicalNot", "Add_2",
                     "truediv_2", "Square"]


def test_new_operators_compute_what_tf_computes():
    f = tf.constant([1.5, -2.0])
    p, q = tf.constant([True, True, False, False]), tf.constant([True, False, True, False])
    with tf.Session() as s:
        got = s.run([2.0 ** f, abs(f), p & q, p | q, p ^ q, ~p, True & q, tf.logical_xor(p, q),
                     [[1.0, 2.0]] @ tf.constant([[3.0], [4.0]])])
    np.testing.assert_allclose(got[0], [2.0 ** 1.5, 0.25], rtol=1e-7)
    np.testing.assert_array_equal(got[1], [1.5, 2.0])
    assert [g.tolist() for g in got[2:8]] == [[True, False, False, False], [True, True, True, False],
                                              [False, True, True, False], [False, False, True, True],
                                              [True, False, True, False], [False, True, True, False]]
    assert got[8].tolist() == [[11.0]]
    with pytest.raises(TypeError, match="DataType float32 not in list of allowed values: int8"):
        f & f
    with pytest.raises(NotImplementedError, match="bitwise op of int32"):
        tf.constant([1, 2]) & 3


def test_variables_open_a_scope_of_their_name():
    v = tf.Variable(1.0, name="var")
    v2 = tf.Variable(lambda: tf.zeros([2]), name="var")
    with tf.variable_scope("vs"):
        g = tf.get_variable("v", [2], initializer=tf.zeros_initializer())
        u = g + 1.0
    with tf.variable_scope("vs", reuse=True) as scope:
        u2 = tf.get_variable("v", [2]) + 1.0
    with tf.variable_scope(scope):
        u3 = g * 2.0
    assert (v.op.name, v.initializer.name, v.initial_value.op.name) == ("var", "var/Assign", "var/initial_value")
    assert (v2.op.name, v2.initializer.name, v2.initial_value.op.name) == ("var_1", "var_1/Assign",
                                                                           "var_1/Initializer/zeros")
    assert (g.name, g.initializer.name, u.name, u2.name, u3.name) == ("vs/v:0", "vs/v/Assign", "vs/add:0",
                                                                      "vs_1/add:0", "vs_2/mul:0")
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        assert s.run(v) == 1.0 and s.run(u).tolist() == [1.0, 1.0]


def test_convert_to_tensor_takes_tf_arguments():
    assert tf.convert_to_tensor(3, tf.int64, "k").op.name == "k"
    assert tf.convert_to_tensor(1, preferred_dtype=tf.float32).dtype == tf.float32
    assert tf.convert_to_tensor(1.5, preferred_dtype=tf.int32).dtype == tf.float32      # a hint, not a cast
    assert tf.convert_to_tensor([1, 2], dtype_hint=tf.int64).dtype == tf.int64
