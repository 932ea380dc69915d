"""nn.UpsamplingNearest2d / UpsamplingBilinear2d, the deprecated F.upsample* functions and nn.Softmax2d:
against NumPy references here, and PyTorch 2.13 under the ``reference`` marker."""
import warnings

import numpy as np
import pytest

import eager_api

X = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype(np.float32)


def _bilinear_aligned(x, out_h, out_w):
    """Bilinear interpolation with the corners aligned, written out: source coordinate i * (in - 1) / (out - 1)."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, out_h, out_w), np.float64)
    for i in range(out_h):
        for j in range(out_w):
            y, z = i * (h - 1) / (out_h - 1), j * (w - 1) / (out_w - 1)
            y0, z0 = min(int(y), h - 2), min(int(z), w - 2)
            dy, dz = y - y0, z - z0
            out[:, :, i, j] = ((1 - dy) * (1 - dz) * x[:, :, y0, z0] + (1 - dy) * dz * x[:, :, y0, z0 + 1]
                               + dy * (1 - dz) * x[:, :, y0 + 1, z0] + dy * dz * x[:, :, y0 + 1, z0 + 1])
    return out


def test_upsampling_modules_and_softmax2d_by_hand():
    torch = eager_api
    x = torch.tensor(X)
    np.testing.assert_allclose(torch.nn.UpsamplingBilinear2d(size=(7, 9))(x).numpy(), _bilinear_aligned(X, 7, 9),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(torch.nn.UpsamplingNearest2d(scale_factor=2)(x).numpy(),
                                  X.repeat(2, axis=2).repeat(2, axis=3))
    e = np.exp(X - X.max(1, keepdims=True))
    np.testing.assert_allclose(torch.nn.Softmax2d()(x).numpy(), e / e.sum(1, keepdims=True), rtol=1e-6)
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D instead"):
        torch.nn.Softmax2d()(x[0, 0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = torch.nn.functional.upsample_bilinear(x, size=(7, 9))
    np.testing.assert_allclose(got.numpy(), _bilinear_aligned(X, 7, 9), rtol=1e-5, atol=1e-6)
    assert "nn.functional.upsample_bilinear` is deprecated" in str(caught[0].message)
    assert repr(torch.nn.UpsamplingBilinear2d(scale_factor=2)) == "UpsamplingBilinear2d(scale_factor=2.0, mode='bilinear')"


@pytest.mark.reference
def test_upsampling_as_torch():
    torch = pytest.importorskip("torch")

    def story(lib):
        x = lib.tensor(X)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outs = [lib.nn.UpsamplingBilinear2d(scale_factor=2)(x), lib.nn.UpsamplingNearest2d(scale_factor=3)(x),
                    lib.nn.Softmax2d()(x), lib.nn.Softmax2d()(x[0]),
                    lib.nn.functional.upsample_bilinear(x, scale_factor=2),
                    lib.nn.functional.upsample_nearest(x, size=(5, 6)),
                    lib.nn.functional.upsample(x, scale_factor=2, mode="bilinear")]
        return [o.numpy() for o in outs], [str(w.message) for w in caught]
    ours, theirs = story(eager_api), story(torch)
    for a, b in zip(ours[0], theirs[0]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert ours[1] == theirs[1]
