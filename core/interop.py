"""Weight layouts across frontends: PyTorch's (NCHW activations, OIHW conv, (out, in) linear) and
TensorFlow's (NHWC, HWIO conv, (in, out) dense).

The one subtle case is the first dense layer after a Flatten: flattening NCHW orders features (c, h, w)
while NHWC orders them (h, w, c), so that kernel's rows are permuted, not only transposed.
"""
from __future__ import annotations

from typing import Sequence

import numpy

# A weight's layout: "conv" (a conv kernel), "depthwise" (a depthwise kernel: TF's (kH, kW, C, M), PyTorch's
# grouped (C * M, 1, kH, kW)), "dense" (a dense/linear kernel) or "plain" (bias, BN statistics).
Layout = tuple[str, "tuple[int, ...] | None"]      # (kind, flatten (H, W, C) for a dense after Flatten)


def to_tf(w: numpy.ndarray, layout: Layout) -> numpy.ndarray:
    """A PyTorch-layout weight in TensorFlow's layout."""
    kind, hwc = layout
    if kind == "conv":
        return numpy.ascontiguousarray(w.transpose(2, 3, 1, 0))
    if kind == "depthwise":     # (C * M, 1, kH, kW) -> (kH, kW, C, M); hwc holds (C, M)
        return numpy.ascontiguousarray(w[:, 0].transpose(1, 2, 0)).reshape(w.shape[2], w.shape[3], *hwc)
    if kind == "dense":
        if hwc is None:
            return numpy.ascontiguousarray(w.T)
        h, wd, c = hwc
        return numpy.ascontiguousarray(w.reshape(-1, c, h, wd).transpose(2, 3, 1, 0).reshape(h * wd * c, -1))
    return w


def to_torch(w: numpy.ndarray, layout: Layout) -> numpy.ndarray:
    """A TensorFlow-layout weight in PyTorch's layout (the inverse of ``to_tf``)."""
    kind, hwc = layout
    if kind == "conv":
        return numpy.ascontiguousarray(w.transpose(3, 2, 0, 1))
    if kind == "depthwise":     # (kH, kW, C, M) -> (C * M, 1, kH, kW)
        kh, kw, c, m = w.shape
        return numpy.ascontiguousarray(w.reshape(kh, kw, c * m).transpose(2, 0, 1))[:, None]
    if kind == "dense":
        if hwc is None:
            return numpy.ascontiguousarray(w.T)
        h, wd, c = hwc
        return numpy.ascontiguousarray(w.reshape(h, wd, c, -1).transpose(3, 2, 0, 1).reshape(-1, c * h * wd))
    return w


def convert(weights: Sequence[numpy.ndarray], layouts: Sequence[Layout], direction: str) -> list[numpy.ndarray]:
    """Convert a list of weights (``direction`` 'to_tf' or 'to_torch'), one layout each."""
    if len(weights) != len(layouts):
        raise ValueError(f"interop: {len(weights)} weights but {len(layouts)} layouts: the two models do not have "
                         "the same architecture")
    fn = {"to_tf": to_tf, "to_torch": to_torch}[direction]
    return [fn(numpy.asarray(w), lay) for w, lay in zip(weights, layouts)]
