"""Parity with TensorFlow 2.21's compat.v1 for tests/test_tf1_indexing_ops.py: the same graph built in both,
values compared bit for bit (scatters of repeated indices included), the scatters' gradients, names and the
errors' types."""
import numpy as np
import pytest

import static_api as tf

real = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.reference
tf1 = real.compat.v1
R = np.random.default_rng(5)
X0 = R.standard_normal((5, 3)).astype(np.float32)
U = (R.standard_normal((4, 3)) * 1e3).astype(np.float32)
W = R.standard_normal((5, 3)).astype(np.float32)
IMG = np.arange(2 * 4 * 6 * 3).reshape(2, 4, 6, 3)


def _build(lib, ref):
    kw = {"use_resource": False} if ref else {}
    fetches = {}
    for mode in ("update", "add", "sub"):
        v = lib.Variable(X0, name=f"v_{mode}", **kw)
        fetches[f"scatter_{mode}"] = getattr(lib, f"scatter_{mode}")(v, [1, 3, 1, 0], U)
        fetches[f"tensor_{mode}"] = getattr(lib, f"tensor_scatter_nd_{mode}")(lib.constant(X0), [[1], [1], [4]], U[:3])
        x = lib.placeholder(lib.float32, [5, 3], name=f"x_{mode}")
        u = lib.placeholder(lib.float32, [3, 3], name=f"u_{mode}")
        y = getattr(lib, f"tensor_scatter_nd_{mode}")(x, [[1], [3], [1]], u)
        fetches[f"grads_{mode}"] = lib.gradients(lib.reduce_sum(y * y * W), [x, u])
    v = lib.Variable(np.zeros((2, 3), np.float32), name="nd", **kw)
    fetches["scatter_nd_add"] = lib.scatter_nd_add(v, [[0, 1], [1, 2], [0, 1]], [1.0, 2.0, 3.0])
    arr = lib.constant([1, 1, 4, 0, 2])
    fetches["bincount"] = [lib.bincount(arr), lib.bincount(arr, minlength=7), lib.bincount(arr, maxlength=3),
                           lib.bincount(arr, weights=[0.5, 1, 2, 3, 4.0]), lib.bincount(arr, dtype=lib.float32)]
    fetches["confusion"] = [lib.confusion_matrix([1, 2, 4, 2], [2, 2, 4, 2]),
                            lib.confusion_matrix([1, 2, 4], [2, 2, 4], num_classes=6, weights=[0.5, 1, 2],
                                                 dtype=lib.float32)]
    fetches["roll"] = [lib.roll([[1, 2, 3], [4, 5, 6]], shift=[1, -1, 2], axis=[0, 1, 1]), lib.roll(IMG, 3, 2)]
    fetches["meshgrid"] = lib.meshgrid([1, 2, 3], [4, 5], [7, 8, 9, 10]) + lib.meshgrid([1.0, 2.0], [3.0],
                                                                                       indexing="ij")
    s2d = lib.space_to_depth(IMG, 2)
    fetches["space_depth"] = [s2d, lib.depth_to_space(np.arange(48).reshape(1, 2, 2, 12), 2)]
    fetches["strided"] = [lib.strided_slice(IMG, [0, 1, 0], [2, -1, 6], [1, 1, 2], begin_mask=1, shrink_axis_mask=4),
                          lib.strided_slice(IMG, [1, 0, 0, 0], [2, 2, 0, 0], [1, -1, 1, 1], new_axis_mask=4,
                                            end_mask=2, ellipsis_mask=8),
                          lib.strided_slice(IMG, [-1], [0], [-1], end_mask=1)]
    names = [fetches[k].op.name for k in ("scatter_update", "scatter_add", "tensor_update", "tensor_add")]
    names += [t.op.name for t in fetches["confusion"] + fetches["strided"]] + [s2d.op.name]
    return fetches, names


def _values(lib, ref):
    with lib.Graph().as_default():
        fetches, names = _build(lib, ref)
        g = lib.get_default_graph()
        feed = {g.get_tensor_by_name(f"{p}_{m}:0"): (X0 if p == "x" else U[:3])
                for m in ("update", "add", "sub") for p in ("x", "u")}
        out = {}
        with lib.Session() as s:
            for k, t in fetches.items():
                s.run(lib.global_variables_initializer())
                out[k] = s.run(t, feed)
        return out, names


def test_values_gradients_and_names_match_tf():
    got, got_names = _values(tf, False)
    want, want_names = _values(tf1, True)
    assert got_names == want_names
    for k in want:
        for g, w in zip(got[k] if isinstance(got[k], list) else [got[k]],
                        want[k] if isinstance(want[k], list) else [want[k]]):
            assert np.asarray(g).dtype == np.asarray(w).dtype, k
            np.testing.assert_array_equal(g, w, err_msg=k)


@pytest.mark.parametrize("case", ["scatter_range", "bincount_negative", "labels_bound"])
def test_errors_when_run_are_tfs(case):
    def build(lib):
        if case == "scatter_range":
            return lib.tensor_scatter_nd_update(lib.zeros([4]), [[7]], [1.0])
        if case == "bincount_negative":
            return lib.bincount(lib.constant([-1, 2]))
        return lib.confusion_matrix(lib.placeholder_with_default([1, 5], [2]), [0, 0], num_classes=5)
    for lib in (tf, tf1):
        with lib.Graph().as_default():
            t = build(lib)
            with lib.Session() as s, pytest.raises(real.errors.InvalidArgumentError if lib is tf1
                                                   else tf.errors.InvalidArgumentError):
                s.run(t)


def test_rot90_transpose_and_initialization_checks_match_tf():
    def build(lib):
        v = lib.Variable(1.0, name="v", **({"use_resource": False} if lib is tf1 else {}))
        turned = [lib.image.rot90(IMG, k) for k in (1, 2, 3, 6)] + [lib.image.transpose(IMG[0])]
        return v, turned, lib.is_variable_initialized(v), lib.assert_variables_initialized([v])
    out = []
    for lib in (tf, tf1):
        with lib.Graph().as_default():
            v, turned, flag, check = build(lib)
            with lib.Session() as s:
                before = s.run(flag)
                with pytest.raises(real.errors.FailedPreconditionError if lib is tf1
                                   else tf.errors.FailedPreconditionError):
                    s.run(check)
                s.run(v.initializer)
                out.append((s.run(turned), bool(before), bool(s.run(flag)), np.asarray(s.run(check)).tolist()))
    for a, b in zip(out[0][0], out[1][0]):
        np.testing.assert_array_equal(a, b)
    assert out[0][1:] == out[1][1:]


def test_indexing_by_scalar_tensors_matches_tf():
    a = np.arange(2 * 3 * 8, dtype=np.float32).reshape(2, 3, 8)
    results = []
    for lib in (tf, tf1):
        with lib.Graph().as_default():
            x = lib.placeholder(lib.float32, [None, None, 8])
            i = lib.placeholder(lib.int32, [])
            outs = [x[:, 1:], x[..., 0], x[:, i], x[i], x[..., i], x[0, i, 1:3], x[None, :, i], x[:, -1]]
            grad = lib.gradients(lib.reduce_sum(x[:, i] * 2.0), [x])[0]
            with lib.Session() as s:
                values = s.run(outs + [grad], {x: a, i: -2})
            results.append(([o.shape.as_list() for o in outs], values))
    # static shapes as TF's where TF knows them (TF forgets every dim a tensor-begun slice makes: x[0, i, 1:3]
    # is (None,) there, (2,) here)
    for ours, theirs in zip(results[0][0], results[1][0]):
        assert len(ours) == len(theirs) and all(t is None or o == t for o, t in zip(ours, theirs)), (ours, theirs)
    for g, w in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("kind", ["max", "min", "prod"])
def test_segment_reductions_and_their_gradients_match_tf(kind):
    data = np.array([[1.0, 5.0], [3.0, 5.0], [3.0, -2.0], [0.0, 4.0], [2.0, 0.0], [7.0, 1.0]])   # ties and zeros
    w = R.normal(size=(5, 2))
    results = []
    for lib in (tf, tf1):
        with lib.Graph().as_default():
            x = lib.placeholder(lib.float64, [6, 2])
            s = getattr(lib.math, f"segment_{kind}")(x, [0, 0, 0, 2, 2, 3])
            u = getattr(lib.math, f"unsorted_segment_{kind}")(x, [1, 3, 1, -1, 1, 0], 5)
            finite = lib.where(lib.abs(u) < 1e300, u, lib.zeros_like(u))
            grads = [lib.gradients(lib.reduce_sum(s * w[:4]), x)[0], lib.gradients(lib.reduce_sum(finite * w), x)[0]]
            with lib.Session() as sess:
                results.append(sess.run([s, u] + grads, {x: data}) + [s.op.name, u.op.name])
    for g, want in zip(results[0][:4], results[1][:4]):
        np.testing.assert_array_equal(g, want)
    assert results[0][4:] == results[1][4:]
