"""Bad input raises before computing and names the op, the argument and both shapes/dtypes/devices."""
import numpy as np
import pytest

import core
from core.device import Device
from core.graph import Value


def v(shape, dtype=np.float32):
    return core.value(np.zeros(shape, dtype=dtype), dtype=dtype)


def test_conv_channel_mismatch():
    with pytest.raises(core.ShapeError) as info:
        core.conv2d(v((2, 3, 8, 8)), v((4, 5, 3, 3)))
    msg = str(info.value)
    assert "Conv2D" in msg and "'weight'" in msg and "(4, 5, 3, 3)" in msg and "(2, 3, 8, 8)" in msg


def test_conv_rank():
    with pytest.raises(core.ShapeError, match=r"Conv2D: argument 'input' expected a 4-D.*\(3, 8, 8\)"):
        core.conv2d(v((3, 8, 8)), v((4, 3, 3, 3)))


def test_kernel_larger_than_input():
    with pytest.raises(core.ShapeError, match="Conv2D.*kernel"):
        core.conv2d(v((1, 1, 2, 2)), v((1, 1, 3, 3)))


def test_matmul_mismatch_is_also_a_value_and_runtime_error():
    with pytest.raises(ValueError) as info:
        core.matmul(v((32, 1600)), v((3136, 10)))
    assert isinstance(info.value, RuntimeError)
    assert "(32, 1600)" in str(info.value) and "(3136, 10)" in str(info.value)


def test_broadcast_mismatch():
    with pytest.raises(core.ShapeError, match=r"Add: argument 'y' with shape \(4,\) cannot be broadcast.*\(2, 3\)"):
        core.add(v((2, 3)), v((4,)))


def test_bias_size_must_match_the_channel_axis():
    with pytest.raises(core.ShapeError, match=r"BiasAdd: argument 'bias' expected shape \(3,\).*\(2, 3, 4, 5\).*got "
                                              r"shape \(5,\)"):
        core.bias_add(v((2, 3, 4, 5)), v((5,)), 1)
    assert core.bias_add(v((2, 3, 4, 5)), v((5,)), -1).shape == (2, 3, 4, 5)


def test_dtype_mismatch_names_both():
    with pytest.raises(core.DTypeError, match="Mul: argument 'y' expected dtype float32.*got float64"):
        core.mul(v((2,)), v((2,), np.float64))


def test_integer_input_to_float_op():
    with pytest.raises(TypeError, match="Exp: argument 'x' expected dtype float32 or float64, got int64"):
        core.exp(v((2,), np.int64))


def test_device_mismatch_names_both_devices():
    a = v((2,))
    b = Value._wrap(a.data, (2,), np.float32, Device("cuda", 0))
    with pytest.raises(core.DeviceError) as info:
        core.add(a, b)
    assert "cuda:0" in str(info.value) and "cpu" in str(info.value) and "'y'" in str(info.value)


def test_reshape_size_mismatch():
    with pytest.raises(core.ShapeError, match=r"Reshape: cannot reshape a tensor of shape \(2, 3\)"):
        core.reshape(v((2, 3)), (4, 2))


def test_labels_shape_and_dtype():
    with pytest.raises(TypeError, match="labels"):
        core.softmax_cross_entropy(v((4, 3)), v((4, 3), np.float64))
    with pytest.raises(core.ShapeError, match="labels"):
        core.softmax_cross_entropy(v((4, 3)), v((5,), np.int64))


def test_label_out_of_range_is_an_index_error_not_a_zero_loss():
    labels = core.value(np.array([0, 3, 1, 2]), dtype=np.int64)
    with pytest.raises(IndexError, match=r"SparseSoftmaxCrossEntropyWithLogits: argument 'labels': 3 is out of "
                                         r"bounds \(expected values in \[0, 3\)\)"):
        core.softmax_cross_entropy(v((4, 3)), labels, reduction="mean")
    # The ignored label may lie outside the classes.
    ok = core.softmax_cross_entropy(v((4, 3)), core.value(np.array([0, -100, 1, 2])), ignore_index=-100)
    np.testing.assert_allclose(ok.data, [np.log(3), 0, np.log(3), np.log(3)], rtol=1e-6)


def test_axis_out_of_range():
    with pytest.raises(core.ShapeError, match="axis"):
        core.sum(v((2, 3)), 2)


def test_gather_and_topk_arguments():
    with pytest.raises(TypeError, match="GatherAlongAxis: argument 'indices' expected dtype an integer type"):
        core.take_along_axis(v((2, 3)), v((2, 3)), 1)
    with pytest.raises(core.ShapeError, match=r"ArgSort: argument 'k' expected 0 <= k <= 3"):
        core.argsort(v((2, 3)), 1, True, 4)
