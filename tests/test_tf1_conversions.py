"""TF1 functions given Python lists and NumPy arrays (converted to constants, as TF converts them), TF1's
``tf.div`` (Python 2's division), ``tf.mod``/``tf.rint``, and ArgMax/ArgMin passing over NaNs as TF's kernels do;
against hand values."""
import numpy as np
import pytest

import static_api as tf

A = np.array([-7, -6, 5, 7, 0, 3], np.int32)
B = np.array([2, -4, -3, 3, 5, -2], np.int32)
Z = [[1.0, -2.0, 0.5], [0.3, 0.2, -1.0]]


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _run(t):
    with tf.Session() as s:
        return s.run(t)


def test_div_floors_integers_and_divides_floats():
    np.testing.assert_array_equal(_run(tf.div(A, B)), [-4, 1, -2, 2, 0, -2])        # -7 / 2 = -3.5 -> -4
    assert _run(tf.div(A, B)).dtype == np.int32
    np.testing.assert_allclose(_run(tf.div(A.astype(np.float32), B.astype(np.float32))), A / B, rtol=1e-7)
    np.testing.assert_allclose(_run(tf.divide(A, B)), A / B)         # truediv: int32 / int32 is float64
    np.testing.assert_array_equal(_run(tf.mod(A, B)), [1, -2, -1, 1, 0, -1])        # the divisor's sign
    np.testing.assert_array_equal(_run(tf.rint(tf.constant([0.5, 1.5, -2.5, 2.6]))), [0.0, 2.0, -2.0, 3.0])
    with pytest.raises(TypeError, match="rint"):
        tf.rint(A)


def test_argmax_and_argmin_pass_over_nans():
    x = np.array([[1.0, np.nan, 2.0], [np.nan, np.nan, 0.0], [3.0, np.nan, 1.0]])
    np.testing.assert_array_equal(_run(tf.argmax(x, 1)), [2, 2, 0])
    np.testing.assert_array_equal(_run(tf.argmin(x, 1)), [0, 2, 2])
    np.testing.assert_array_equal(_run(tf.argmax(x, 0)), [2, 0, 0])      # an all-NaN column gives 0
    np.testing.assert_array_equal(_run(tf.argmax([[1, 3, 3]], 1)), [1])   # ties: the first


@pytest.mark.parametrize("fn,want", [
    (lambda z: tf.abs(z), np.abs(Z)), (lambda z: tf.exp(z), np.exp(Z)), (lambda z: tf.log(tf.abs(z)), np.log(np.abs(Z))),
    (lambda z: tf.sqrt(tf.abs(z)), np.sqrt(np.abs(Z))), (lambda z: tf.square(z), np.square(Z)),
    (lambda z: tf.negative(z), np.negative(Z)), (lambda z: tf.sigmoid(z), 1 / (1 + np.exp(-np.array(Z)))),
    (lambda z: tf.tanh(z), np.tanh(Z)), (lambda z: tf.nn.relu(z), np.maximum(Z, 0)),
    (lambda z: tf.transpose(z), np.transpose(Z)), (lambda z: tf.expand_dims(z, 0), np.array(Z)[None]),
    (lambda z: tf.squeeze([z]), np.array(Z)), (lambda z: tf.zeros_like(z), np.zeros((2, 3))),
    (lambda z: tf.ones_like(z), np.ones((2, 3))), (lambda z: tf.clip_by_value(z, -1.0, 0.6), np.clip(Z, -1, 0.6)),
    (lambda z: tf.nn.l2_loss(z), 0.5 * np.square(Z).sum()),
    (lambda z: tf.nn.softmax(z), np.exp(Z) / np.exp(Z).sum(1, keepdims=True)),
    (lambda z: tf.nn.log_softmax(z), np.log(np.exp(Z) / np.exp(Z).sum(1, keepdims=True))),
    (lambda z: tf.nn.dropout(z, keep_prob=1.0), np.array(Z)),
    (lambda z: tf.nn.softmax_cross_entropy_with_logits(labels=[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], logits=z),
     -np.log(np.exp(Z) / np.exp(Z).sum(1, keepdims=True))[[0, 1], [1, 0]]),
    (lambda z: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[1, 0], logits=z),
     -np.log(np.exp(Z) / np.exp(Z).sum(1, keepdims=True))[[0, 1], [1, 0]]),
    (lambda z: tf.nn.sigmoid_cross_entropy_with_logits(labels=[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], logits=z),
     np.maximum(Z, 0) - np.array(Z) * [[0, 1, 0], [1, 0, 0]] + np.log1p(np.exp(-np.abs(Z)))),
])
def test_lists_and_arrays_are_converted_as_tf_converts_them(fn, want):
    for z in (Z, np.array(Z, np.float32)):
        np.testing.assert_allclose(_run(fn(z)), want, rtol=1e-6, atol=1e-7)


def test_conv2d_takes_a_nested_list_input():
    image = np.arange(16.0).reshape(1, 4, 4, 1).tolist()
    out = _run(tf.nn.conv2d(image, np.ones((2, 2, 1, 1), np.float32), [1, 1, 1, 1], "VALID"))
    x = np.arange(16.0).reshape(4, 4)
    np.testing.assert_allclose(out[0, :, :, 0], x[:-1, :-1] + x[1:, :-1] + x[:-1, 1:] + x[1:, 1:])


def test_operands_convert_in_order_as_tf_converts_them():
    """The first operand's dtype decides (it truncated a float array to int32 when a Python int came second:
    tf.pow(x, 3) was 0); the second follows it, as TF casts a NumPy array; another dtype after an array is TF's
    TypeError."""
    x = np.full(2, 1.5, np.float32)
    np.testing.assert_array_equal(_run(tf.pow(x, 3)), [3.375, 3.375])
    assert _run(tf.pow(x, 3)).dtype == np.float32
    assert _run(tf.equal(x, 1)).tolist() == [False, False]
    # TF's own rule, first operand first: 3 makes it int32 and the array is cast (1.5 -> 1)
    np.testing.assert_array_equal(_run(tf.multiply(3, x)), [3, 3])
    with pytest.raises(TypeError, match="does not match"):
        tf.add(x, tf.constant([1, 2]))
    with pytest.raises(TypeError, match="Expected int32"):
        tf.add(2.5, tf.constant([1, 2]))
    np.testing.assert_array_equal(_run(tf.maximum(2, tf.constant([1.5, 2.5]))), [2.0, 2.5])


def test_one_hot_takes_its_dtype_and_axis_as_tf():
    assert _run(tf.one_hot([0, 2], 3)).dtype == np.float32
    got = _run(tf.one_hot([0, 2], 3, on_value=5))      # the on value's dtype, as tf.constant types 5
    assert got.dtype == np.int32 and got.tolist() == [[5, 0, 0], [0, 0, 5]]
    got = _run(tf.one_hot([0, 2], 3, on_value=True, off_value=False))
    assert got.dtype == np.bool_ and got.tolist() == [[True, False, False], [False, False, True]]
    assert _run(tf.one_hot([0, 2], 3, off_value=-1.0)).tolist() == [[1, -1, -1], [-1, -1, 1]]
    with pytest.raises(TypeError, match="on_value"):
        tf.one_hot([0], 2, on_value=1, off_value=0.5)
    idx = np.array([[0, 2], [1, 1]])
    want = np.eye(3)[idx]                               # (2, 2, 3): the new dim last
    np.testing.assert_array_equal(_run(tf.one_hot(idx, 3, axis=1)), want.transpose(0, 2, 1))
    np.testing.assert_array_equal(_run(tf.one_hot(idx, 3, axis=0)), want.transpose(2, 0, 1))


def test_matmul_adjoints_and_pools_of_arrays():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3) + 1
    np.testing.assert_allclose(_run(tf.matmul(a, b, adjoint_b=True)), a @ b.T)
    np.testing.assert_allclose(_run(tf.matmul(a, b, adjoint_a=True)), a.T @ b)
    image = np.arange(16.0, dtype=np.float32).reshape(1, 4, 4, 1)
    np.testing.assert_allclose(_run(tf.nn.max_pool(image, [1, 2, 2, 1], [1, 2, 2, 1], "VALID"))[0, :, :, 0],
                               [[5, 7], [13, 15]])
    np.testing.assert_allclose(_run(tf.nn.avg_pool(image, [1, 2, 2, 1], [1, 2, 2, 1], "VALID"))[0, :, :, 0],
                               [[2.5, 4.5], [10.5, 12.5]])


def _elements(ds, limit=20):
    it = ds.make_one_shot_iterator().get_next()
    out = []
    with tf.Session() as s:
        try:
            for _ in range(limit):
                out.append(s.run(it))
        except tf.errors.OutOfRangeError:
            pass
    return out


def test_tf_data_reads_a_list_as_one_tensor_and_counts_as_tf():
    """A list is a tensor to tf.data (tuples and dicts are structures): from_tensors([1, 2, 3]) was three scalars;
    a negative skip skips everything, a negative repeat repeats for ever."""
    got = _elements(tf.data.Dataset.from_tensors([1, 2, 3]))
    assert len(got) == 1 and got[0].tolist() == [1, 2, 3] and got[0].dtype == np.int32
    assert [float(v) for v in _elements(tf.data.Dataset.from_tensor_slices([1.0, 2.0]))] == [1.0, 2.0]
    assert _elements(tf.data.Dataset.from_tensor_slices({"a": [1, 2]})) == [{"a": 1}, {"a": 2}]
    assert [tuple(map(int, e)) for e in _elements(tf.data.Dataset.from_tensor_slices(([1, 2], [3, 4])))] == [
        (1, 3), (2, 4)]
    pairs = _elements(tf.data.Dataset.range(3).map(lambda x: [x, x + 1]))
    assert all(isinstance(p, tuple) for p in pairs) and [tuple(map(int, p)) for p in pairs] == [(0, 1), (1, 2), (2, 3)]
    assert _elements(tf.data.Dataset.range(3).skip(-1)) == []
    assert [int(v) for v in _elements(tf.data.Dataset.range(3).repeat(-2).take(7))] == [0, 1, 2, 0, 1, 2, 0]
    with pytest.raises(ValueError, match="dense tensor"):
        tf.data.Dataset.from_tensor_slices([np.array([1, 2]), np.array([3, 4])])


def test_constant_fills_its_shape_with_the_last_element_as_tf1():
    # TF1's tf.constant(value, shape=): the elements in order, the last repeated (not NumPy's broadcasting)
    np.testing.assert_array_equal(_run(tf.constant([1.0, 2.0], shape=[2, 2])), [[1.0, 2.0], [2.0, 2.0]])
    np.testing.assert_array_equal(_run(tf.constant([1, 2, 3], shape=[5])), [1, 2, 3, 3, 3])
    np.testing.assert_array_equal(_run(tf.constant(7, shape=[2, 3])), np.full((2, 3), 7))
    np.testing.assert_array_equal(_run(tf.constant([[1, 2], [3, 4]], shape=[4])), [1, 2, 3, 4])
    with pytest.raises(ValueError, match="Too many elements provided. Takes at most 2, but got 3"):
        tf.constant([1, 2, 3], shape=[2])


def test_size_of_an_unknown_shape_is_in_out_type():
    x = tf.placeholder(tf.float32, [None, 3])
    n32, n64 = tf.size(x), tf.size(x, out_type=tf.int64)
    assert n32.dtype == tf.int32 and n64.dtype == tf.int64
    with tf.Session() as s:
        got32, got64 = s.run([n32, n64], {x: np.zeros((4, 3), np.float32)})
    assert got32 == 12 and got32.dtype == np.int32 and got64.dtype == np.int64
