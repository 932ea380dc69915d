"""Weights cross frontends: layout conversion, eager checkpoint -> Keras model and back."""
import numpy as np
import pytest

import eager_api as torch
import eager_api.nn as nn
import static_api as tf
from core import interop
from eager_api.utils.interop import state_dict_from_keras
from tests.helpers import load_example
from tests.op_table import conv_ref, grouped_conv_ref

R = np.random.default_rng(11)


def test_conv_layout_round_trip_and_meaning():
    w = R.normal(size=(4, 3, 3, 2))                         # OIHW
    hwio = interop.to_tf(w, ("conv", None))
    assert hwio.shape == (3, 2, 3, 4)
    np.testing.assert_array_equal(interop.to_torch(hwio, ("conv", None)), w)
    x = R.normal(size=(2, 3, 6, 5))
    g = tf.Graph()
    with g.as_default():
        y = tf.nn.conv2d(tf.constant(x.transpose(0, 2, 3, 1)), tf.constant(hwio), 1, "VALID")
        with tf.Session() as sess:
            nhwc = sess.run(y)
    np.testing.assert_allclose(nhwc.transpose(0, 3, 1, 2), conv_ref(x, w, (1, 1), "valid", (1, 1)), rtol=1e-10)


def test_dense_after_flatten_reorders_features():
    c, h, w, out = 3, 2, 4, 5
    f = R.normal(size=(6, c, h, w))                        # an NCHW feature map
    wt = R.normal(size=(out, c * h * w))                   # PyTorch Linear weight on the NCHW flatten
    kernel = interop.to_tf(wt, ("dense", (h, w, c)))
    np.testing.assert_allclose(f.transpose(0, 2, 3, 1).reshape(6, -1) @ kernel, f.reshape(6, -1) @ wt.T)
    np.testing.assert_array_equal(interop.to_torch(kernel, ("dense", (h, w, c))), wt)
    np.testing.assert_array_equal(interop.to_tf(wt, ("dense", None)), wt.T)
    with pytest.raises(ValueError, match="same architecture"):
        interop.convert([wt], [], "to_tf")


def _eager_seed():
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 10), nn.Softmax(1))


def test_eager_checkpoint_loads_into_keras_and_back(tmp_path):
    tf.reset_default_graph()
    torch.manual_seed(3)
    x = R.random((5, 1, 28, 28)).astype(np.float32)
    eager = _eager_seed()
    torch.save(eager.state_dict(), tmp_path / "eager.npz")
    keras = load_example("keras_seed_cnn").build()
    keras.load_weights(str(tmp_path / "eager.npz"))
    p_eager = eager(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(keras.predict(x.transpose(0, 2, 3, 1)), p_eager, rtol=1e-4, atol=1e-6)
    keras.save_weights(str(tmp_path / "keras.npz"))
    fresh = _eager_seed()
    fresh.load_state_dict(state_dict_from_keras(tmp_path / "keras.npz", fresh))
    np.testing.assert_allclose(fresh(torch.tensor(x)).detach().numpy(), p_eager, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="checkpoint has 6 weights"):
        state_dict_from_keras(tmp_path / "keras.npz", nn.Linear(2, 2))


def test_depthwise_and_grouped_kernels_cross_frontends():
    """A Keras DepthwiseConv2D (kernel (kH, kW, C, M), output channel c * M + m) is PyTorch's Conv2d(C, C * M,
    groups=C); a grouped Conv2D's kernel converts as any conv kernel.  Same outputs from converted weights,
    both against the float64 reference convolution."""
    x = R.normal(size=(2, 3, 6, 5))                         # NCHW
    for make_keras, make_torch, pads in (
            (lambda: tf.keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", dtype="float64"),
             lambda: nn.Conv2d(3, 6, 3, padding=1, groups=3), "same"),
            (lambda: tf.keras.layers.Conv2D(6, (3, 2), groups=3, dtype="float64"),
             lambda: nn.Conv2d(3, 6, (3, 2), groups=3), "valid")):
        tf.reset_default_graph()
        conv = make_torch().double()
        ref = grouped_conv_ref(x, conv.weight.detach().numpy(), (1, 1), pads, (1, 1), 3)
        ref = ref + conv.bias.detach().numpy()[:, None, None]
        np.testing.assert_allclose(conv(torch.tensor(x)).detach().numpy(), ref, rtol=1e-10)
        inp = tf.keras.Input((6, 5, 3), dtype="float64")
        layer = make_keras()
        model = tf.keras.Model(inp, layer(inp))
        state = [conv.weight.detach().numpy(), conv.bias.detach().numpy()]
        model.set_weights(interop.convert(state, model.weight_layouts(), "to_tf"))
        got = model.predict(x.transpose(0, 2, 3, 1), verbose=0).transpose(0, 3, 1, 2)
        np.testing.assert_allclose(got, ref, rtol=1e-10)
        back = interop.convert(model.get_weights(), model.weight_layouts(), "to_torch")
        np.testing.assert_array_equal(back[0], state[0])
