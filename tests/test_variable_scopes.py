"""TF1 variable scopes: the scope object (``as scope``, ``get_variable_scope``, re-entering it, ``reuse_variables``),
the defaults a scope gives its variables (initializer, regularizer, dtype; inherited inside), ``default_name``'s
unique names and get_variable's zeros for integers.  Hand values here; the same program on TF 2.21 under the
``reference`` marker."""
import numpy as np
import pytest

import static_api as tf


def _program(t):
    out = {}
    with t.Graph().as_default():
        with t.variable_scope("model", initializer=t.constant_initializer(0.5),
                              regularizer=lambda w: t.reduce_sum(w)) as scope:
            a = t.get_variable("a", [2])
            with t.variable_scope("inner"):
                b = t.get_variable("b", [2], initializer=t.constant_initializer(2.0))
                c = t.get_variable("c", [3])
        with t.variable_scope(scope, reuse=True):
            again = t.get_variable("a")
        made = []
        for _ in range(2):
            with t.variable_scope(None, default_name="layer"):
                made.append(t.get_variable("w", [1]))
        count = t.get_variable("count", [], dtype=t.int64)
        with t.variable_scope("shared"):
            first = t.get_variable("v", [1])
            t.get_variable_scope().reuse_variables()
            second = t.get_variable("v", [1])
        with t.variable_scope("wide", dtype=t.float64):
            wide = t.get_variable("h", [1])
        out["scope"] = (type(scope).__name__, scope.name, t.get_variable_scope().name)
        out["names"] = [v.op.name for v in (a, b, c, again, *made, count, first, second, wide)]
        out["shared"] = (again is a, second is first)
        out["wide"] = np.dtype(wide.dtype.base_dtype.as_numpy_dtype if hasattr(wide.dtype, "base_dtype")
                               else wide.dtype).name
        with t.Session() as s:
            s.run(t.global_variables_initializer())
            out["values"] = [s.run(v).tolist() for v in (a, b, c, count)]
            out["penalties"] = [float(s.run(r)) for r in t.get_collection(t.GraphKeys.REGULARIZATION_LOSSES)]
    return out


def test_variable_scopes_give_names_sharing_and_defaults():
    got = _program(tf)
    assert got["scope"] == ("VariableScope", "model", "")
    assert got["names"] == ["model/a", "model/inner/b", "model/inner/c", "model/a", "layer/w", "layer_1/w", "count",
                            "shared/v", "shared/v", "wide/h"]
    assert got["shared"] == (True, True)
    assert got["wide"] == "float64"
    # the scope's initializer for a and c (b has its own), zeros for an integer variable
    assert got["values"] == [[0.5, 0.5], [2.0, 2.0], [0.5, 0.5, 0.5], 0]
    # the scope's regularizer (inherited by "inner") for each variable made in it: sum(a), sum(b), sum(c)
    assert got["penalties"] == [1.0, 4.0, 1.5]


def test_unsupported_scope_arguments_say_so():
    with pytest.raises(NotImplementedError, match="partitioner"):
        with tf.variable_scope("x", partitioner=lambda *a: 2):
            pass


@pytest.mark.reference
def test_variable_scopes_match_tf1():
    real = pytest.importorskip("tensorflow").compat.v1
    assert _program(tf) == _program(real)
