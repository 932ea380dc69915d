"""Cross-entropy from logits (per-sample; frontends reduce) and one-hot encoding.

Class scores are on the last axis of 2-D logits (N, C).  ``smoothing`` mixes the
target with the uniform distribution, as PyTorch's ``label_smoothing`` does.
"""
from __future__ import annotations

import numpy

from core.graph import Value
from core.op import Op, apply
from core.ops import elementwise as ew
from core.ops import reduce as rd
from core.ops import shape as sh


class OneHot(Op):
    name = "OneHot"
    arg_names = ("indices",)
    differentiable = False

    def __init__(self, depth: int, dtype=numpy.float32, on: float = 1.0, off: float = 0.0) -> None:
        self.depth = int(depth)
        self.dtype = numpy.dtype(dtype)
        self.on = on
        self.off = off

    def infer(self, idx):
        if idx.dtype.kind not in "iu":
            raise self.dtype_error("indices", "int32 or int64", idx.dtype)
        return [(tuple(idx.shape) + (self.depth,), self.dtype)]

    def forward(self, be, idx):
        xp = be.xp
        hit = idx[..., None] == xp.arange(self.depth)
        return xp.where(hit, self.dtype.type(self.on), self.dtype.type(self.off))


class _CrossEntropy(Op):
    arg_names = ("logits", "labels")

    def __init__(self, smoothing: float = 0.0) -> None:
        if not 0.0 <= smoothing <= 1.0:
            raise ValueError(f"{self.name}: argument 'label_smoothing' expected in [0, 1], got {smoothing}")
        self.smoothing = float(smoothing)

    def _check_logits(self, z: Value) -> None:
        self.require_ndim("logits", z, 2, "(batch, classes)")
        self.require_float(z)

    def _target(self, labels: Value, logits: Value) -> Value:
        raise NotImplementedError

    def _row_weight(self, g: Value, labels: Value) -> Value:
        return g

    def vjp(self, node, grads, needs):
        z, labels = node.inputs
        g = sh.expand_dims(self._row_weight(grads[0], labels), 1)
        t = self._target(labels, z)
        gz = None
        if needs[0]:
            p = rd.softmax(z, -1)
            gz = ew.mul(ew.sub(ew.mul(p, rd.sum(t, -1, keepdims=True)), t), g)
        gl = None
        if needs[1] and labels.dtype.kind == "f":
            gl = ew.mul(ew.scalar(rd.log_softmax(z, -1), "mul", -(1.0 - self.smoothing)), g)
        return gz, gl


class SparseSoftmaxCrossEntropy(_CrossEntropy):
    """loss_i = -sum_j t_ij log softmax(z_i)_j with t the (smoothed) one-hot of labels_i."""

    name = "SparseSoftmaxCrossEntropyWithLogits"

    def __init__(self, smoothing: float = 0.0, ignore_index: int | None = None) -> None:
        super().__init__(smoothing)
        self.ignore_index = ignore_index

    def infer(self, z, labels):
        self._check_logits(z)
        if labels.dtype.kind not in "iu":
            raise self.dtype_error("labels", "int32 or int64 class indices", labels.dtype)
        if len(labels.shape) != 1 or (None not in (labels.shape[0], z.shape[0]) and labels.shape[0] != z.shape[0]):
            raise self.shape_error("labels", f"shape ({z.shape[0]},) to match logits {tuple(z.shape)}", labels.shape)
        return [((z.shape[0],), z.dtype)]

    def forward(self, be, z, labels):
        xp = be.xp
        if self.ignore_index is not None:
            keep = labels != self.ignore_index
            labels = xp.where(keep, labels, 0)
        zs = z - z.max(axis=1, keepdims=True)
        lse = xp.log(xp.exp(zs).sum(axis=1))
        picked = xp.take_along_axis(zs, labels[:, None].astype(xp.int64), axis=1)[:, 0]
        loss = lse - picked
        if self.smoothing:
            loss = (1 - self.smoothing) * loss + self.smoothing * (lse - zs.mean(axis=1))
        if self.ignore_index is not None:
            loss = xp.where(keep, loss, 0)
        return loss.astype(z.dtype, copy=False)

    def _row_weight(self, g, labels):
        # Ignored rows have a constant (zero) loss, so no gradient.
        if self.ignore_index is None:
            return g
        return ew.mul(g, ew.cast(ew.scalar_compare(labels, "NotEqual", self.ignore_index), g.dtype))

    def _target(self, labels, z):
        c = z.shape[1]
        return apply(OneHot(c, z.dtype, 1.0 - self.smoothing + self.smoothing / c, self.smoothing / c), labels)


class SoftmaxCrossEntropy(_CrossEntropy):
    """loss_i = -sum_j t_ij log softmax(z_i)_j for probability (or one-hot) targets t."""

    name = "SoftmaxCrossEntropyWithLogits"

    def infer(self, z, t):
        self._check_logits(z)
        self.require_same_dtype(z, t)
        if len(t.shape) != 2 or any(a != b and None not in (a, b) for a, b in zip(t.shape, z.shape)):
            raise self.shape_error("labels", f"the logits shape {tuple(z.shape)}", t.shape)
        return [((z.shape[0],), z.dtype)]

    def forward(self, be, z, t):
        xp = be.xp
        zs = z - z.max(axis=1, keepdims=True)
        logp = zs - xp.log(xp.exp(zs).sum(axis=1, keepdims=True))
        if self.smoothing:
            t = t * (1 - self.smoothing) + self.smoothing / z.shape[1]
        return -(t * logp).sum(axis=1)

    def _target(self, t, z):
        if not self.smoothing:
            return t
        return ew.scalar(ew.scalar(t, "mul", 1.0 - self.smoothing), "add", self.smoothing / z.shape[1])


def one_hot(indices: Value, depth: int, dtype=numpy.float32, on: float = 1.0, off: float = 0.0) -> Value:
    return apply(OneHot(depth, dtype, on, off), indices)


def softmax_cross_entropy(logits: Value, labels: Value, smoothing: float = 0.0,
                          ignore_index: int | None = None) -> Value:
    """Per-sample cross-entropy; integer ``labels`` are class indices, float ones are target distributions.

    Rows whose label equals ``ignore_index`` get loss 0 and no gradient."""
    if labels.dtype.kind in "iu":
        return apply(SparseSoftmaxCrossEntropy(smoothing, ignore_index), logits, labels)
    return apply(SoftmaxCrossEntropy(smoothing), logits, labels)
