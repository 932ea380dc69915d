"""Cross-entropy from logits (per row, or summed or averaged over the batch), NLL loss and one-hot encoding.

Class scores are on the last axis of 2-D logits (N, C).  ``smoothing`` mixes the
target with the uniform distribution, as PyTorch's ``label_smoothing`` does.
"""
from __future__ import annotations

from typing import Any

import numpy

from core.graph import Value
from core.op import Op, apply
from core.ops import elementwise as ew
from core.ops import reduce as rd
from core.ops import shape as sh


class OneHot(Op):
    """One-hot rows of class indices.  An index outside [0, depth) gives an all-``off`` row (TensorFlow's
    one_hot), or with ``check`` an IndexOutOfRange error (PyTorch's); a no-sync backend then gives a NaN row for
    float dtypes and an all-``off`` row for integer ones."""

    name = "OneHot"
    arg_names = ("indices",)
    differentiable = False

    def __init__(self, depth: int, dtype=numpy.float32, on: float = 1.0, off: float = 0.0,
                 check: bool = False) -> None:
        self.depth = int(depth)
        self.dtype = numpy.dtype(dtype)
        self.on = on
        self.off = off
        self.check = bool(check)

    def infer(self, idx):
        if idx.dtype.kind not in "iu":
            raise self.dtype_error("indices", "int32 or int64", idx.dtype)
        return [(tuple(idx.shape) + (self.depth,), self.dtype)]

    def forward(self, be, idx):
        xp = be.xp
        hit = idx[..., None] == xp.arange(self.depth)
        out = xp.where(hit, self.dtype.type(self.on), self.dtype.type(self.off))
        if not self.check:
            return out
        valid = be.check_indices(idx, self.depth, f"{self.name}: argument 'indices' (class values)")
        return be.mark_invalid(out, None if valid is None else valid[..., None])


REDUCTIONS = ("none", "sum", "mean")


class _CrossEntropy(Op):
    """Softmax cross-entropy from logits, per row or reduced over the batch.

    Two outputs, as TensorFlow's kernel: the loss, and ``backprop`` = d(loss)/d(logits) for a unit upstream
    gradient, computed in the same pass.  The backward pass is then one multiply; ``backprop``'s own
    derivative (second order) is built from primitives.
    """

    arg_names = ("logits", "labels")
    saves_outputs = True

    def __init__(self, smoothing: float = 0.0, reduction: str = "none") -> None:
        if not 0.0 <= smoothing <= 1.0:
            raise ValueError(f"{self.name}: argument 'label_smoothing' expected in [0, 1], got {smoothing}")
        if reduction not in REDUCTIONS:
            raise ValueError(f"{self.name}: argument 'reduction' expected one of {REDUCTIONS}, got {reduction!r}")
        self.smoothing = float(smoothing)
        self.reduction = reduction

    def _check_logits(self, z: Value) -> None:
        self.require_ndim("logits", z, 2, "(batch, classes)")
        self.require_float(z)

    def _specs(self, z: Value) -> list:
        return [((z.shape[0],) if self.reduction == "none" else (), z.dtype), (z.shape, z.dtype)]

    def _target(self, be: Any, z: Any, labels: Any) -> tuple[Any, Any]:
        """The smoothed target distribution (N, C) and the kept rows (N, 1), None when all are kept."""
        raise NotImplementedError

    def row_weight(self, be: Any, z: Any, labels: Any) -> Any:
        """(N, 1): how much each row counts in the reduced loss (0 for ignored rows, 1/count for 'mean')."""
        _, keep = self._target(be, z, labels)
        w = be.xp.ones((z.shape[0], 1), z.dtype) if keep is None else keep.astype(z.dtype)
        if self.reduction == "mean":
            total = w.sum()
            w /= be.xp.where(total == 0, total.dtype.type(1), total)    # no kept row: weights 0, as the gradient
        return w

    def forward(self, be, z, labels, out=None):
        t, keep = self._target(be, z, labels)
        return be.softmax_cross_entropy(z, t, keep, self.reduction, out=out)

    def vjp(self, node, grads, needs):
        z, labels = node.inputs
        g_loss, g_backprop = grads
        dense = needs[1] and labels.dtype.kind == "f"
        gz = gl = weight = None
        if g_loss is not None:
            g = g_loss if self.reduction != "none" else sh.expand_dims(g_loss, 1)
            gz = ew.mul(node.outputs[1], g) if needs[0] else None
            if dense:
                weight = apply(CrossEntropyRowWeight(self), z, labels)
                gl = ew.mul(ew.mul(rd.log_softmax(z, -1), weight), ew.scalar(g, "mul", -(1.0 - self.smoothing)))
        if g_backprop is not None:
            # backprop_i = w_i (p_i S_i - t_i) with S_i = sum_j t_ij, p = softmax(z), t the smoothed target.
            weight = weight if weight is not None else apply(CrossEntropyRowWeight(self), z, labels)
            p = rd.softmax(z, -1)
            dot = rd.sum(ew.mul(g_backprop, p), -1, keepdims=True)
            if needs[0]:
                s = weight
                if labels.dtype.kind == "f":
                    s = ew.mul(s, ew.scalar(ew.scalar(rd.sum(labels, -1, keepdims=True), "mul", 1.0 - self.smoothing),
                                            "add", self.smoothing))
                h = ew.mul(ew.mul(p, ew.sub(g_backprop, dot)), s)
                gz = h if gz is None else ew.add(gz, h)
            if dense:
                h = ew.mul(ew.sub(dot, g_backprop), ew.scalar(weight, "mul", 1.0 - self.smoothing))
                gl = h if gl is None else ew.add(gl, h)
        return gz, gl


class CrossEntropyRowWeight(Op):
    """Each row's weight in a cross-entropy's reduced loss; used only by its less common gradients."""

    name = "CrossEntropyRowWeight"
    arg_names = ("logits", "labels")
    differentiable = False

    def __init__(self, xent: _CrossEntropy) -> None:
        self.xent = xent

    def infer(self, z, labels):
        return [((z.shape[0], 1), z.dtype)]

    def forward(self, be, z, labels):
        return self.xent.row_weight(be, z, labels)


class SparseSoftmaxCrossEntropy(_CrossEntropy):
    """loss_i = -sum_j t_ij log softmax(z_i)_j with t the (smoothed) one-hot of labels_i."""

    name = "SparseSoftmaxCrossEntropyWithLogits"

    def __init__(self, smoothing: float = 0.0, ignore_index: int | None = None, reduction: str = "none") -> None:
        super().__init__(smoothing, reduction)
        self.ignore_index = ignore_index

    def infer(self, z, labels):
        self._check_logits(z)
        if labels.dtype.kind not in "iu":
            raise self.dtype_error("labels", "int32 or int64 class indices", labels.dtype)
        if len(labels.shape) != 1 or (None not in (labels.shape[0], z.shape[0]) and labels.shape[0] != z.shape[0]):
            raise self.shape_error("labels", f"shape ({z.shape[0]},) to match logits {tuple(z.shape)}", labels.shape)
        return self._specs(z)

    def _target(self, be, z, labels):
        return be.sparse_target(labels, z.shape[1], z.dtype, self.smoothing, self.ignore_index)

    def forward(self, be, z, labels, out=None):
        return be.sparse_softmax_cross_entropy(z, labels, self.smoothing, self.ignore_index, self.reduction, out=out)

    def _into(self, be: Any, z: Any, labels: Any, out: tuple) -> Any:
        """The loss and its gradient into ``out`` as a function of no arguments (``Op.prepared_writer``)."""
        return be.sparse_softmax_cross_entropy_call(z, labels, self.smoothing, self.ignore_index, self.reduction, out)

    def prepare(self, be: Any) -> Any:
        return self.prepared_writer(be, self._into) if hasattr(be, "sparse_softmax_cross_entropy_call") else None


class SoftmaxCrossEntropy(_CrossEntropy):
    """loss_i = -sum_j t_ij log softmax(z_i)_j for probability (or one-hot) targets t."""

    name = "SoftmaxCrossEntropyWithLogits"

    def infer(self, z, t):
        self._check_logits(z)
        self.require_same_dtype(z, t)
        if len(t.shape) != 2 or any(a != b and None not in (a, b) for a, b in zip(t.shape, z.shape)):
            raise self.shape_error("labels", f"the logits shape {tuple(z.shape)}", t.shape)
        return self._specs(z)

    def _target(self, be, z, t):
        if self.smoothing:
            t = t * z.dtype.type(1 - self.smoothing) + z.dtype.type(self.smoothing / z.shape[1])
        return t, None


class NLLLoss(Op):
    """loss_i = -w[y_i] x[i, y_i] for log-probabilities x (N, C), class indices y and optional class weights w,
    per row or reduced; rows labelled ``ignore_index`` count 0, and 'mean' divides by the kept rows' total
    weight, as PyTorch's nll_loss.  Only the labelled entry is read, so -inf elsewhere costs nothing.

    Two outputs, as the cross-entropies: the loss, and ``backprop`` = d(loss)/dx for a unit upstream gradient.
    The loss is linear in x, so ``backprop`` is constant and the gradient one multiply."""

    name = "NLLLoss"
    arg_names = ("input", "target", "weight")
    saves_inputs = False
    saves_outputs = True

    def __init__(self, ignore_index: int | None = None, reduction: str = "mean") -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(f"{self.name}: argument 'reduction' expected one of {REDUCTIONS}, got {reduction!r}")
        self.ignore_index = ignore_index
        self.reduction = reduction

    def infer(self, x, y, w=None):
        self.require_ndim("input", x, 2, "(batch, classes)")
        self.require_float(x)
        if y.dtype.kind not in "iu":
            raise self.dtype_error("target", "int32 or int64 class indices", y.dtype)
        if len(y.shape) != 1 or (None not in (y.shape[0], x.shape[0]) and y.shape[0] != x.shape[0]):
            raise self.shape_error("target", f"shape ({x.shape[0]},) to match input {tuple(x.shape)}", y.shape)
        if w is not None:
            if w.dtype != x.dtype:
                raise self.dtype_error("weight", f"{x.dtype} (same as 'input')", w.dtype)
            if len(w.shape) != 1 or (None not in (w.shape[0], x.shape[1]) and w.shape[0] != x.shape[1]):
                raise self.shape_error("weight", f"shape ({x.shape[1]},), one weight per class", w.shape)
        return [((x.shape[0],) if self.reduction == "none" else (), x.dtype), (x.shape, x.dtype)]

    def forward(self, be, x, y, w=None):
        xp = be.xp
        dt = x.dtype.type
        keep = None if self.ignore_index is None else y != self.ignore_index
        safe = y if keep is None else xp.where(keep, y, 0)
        valid = be.check_indices(safe, x.shape[1], f"{self.name}: argument 'target'")
        if valid is not None:
            safe = xp.where(valid, safe, 0)          # read a real entry; the row is marked NaN below
        rw = xp.ones(x.shape[0], x.dtype) if w is None else w[safe]
        picked = xp.take_along_axis(x, safe[:, None], axis=1)[:, 0]
        if keep is not None:
            rw = xp.where(keep, rw, dt(0))
            picked = xp.where(keep, picked, dt(0))   # an ignored row's entry may be -inf
        loss = -rw * picked
        backprop = xp.where(safe[:, None] == xp.arange(x.shape[1]), -rw[:, None], dt(0))
        if valid is not None:
            loss = be.mark_invalid(loss, valid)
            backprop = be.mark_invalid(backprop, valid[:, None])
        if self.reduction != "none":
            loss = loss.sum()
        if self.reduction == "mean":
            total = rw.sum()
            loss = loss / total                      # no kept row: NaN, as PyTorch
            backprop /= xp.where(total == 0, dt(1), total)      # ... but a zero gradient
        return xp.asarray(loss, dtype=x.dtype), backprop.astype(x.dtype, copy=False)

    def vjp(self, node, grads, needs):
        g = grads[0]
        gx = None
        if g is not None and needs[0]:
            gx = ew.mul(node.outputs[1], g if self.reduction != "none" else sh.expand_dims(g, 1))
        return (gx,) + (None,) * (len(node.inputs) - 1)


class BinaryCrossEntropy(Op):
    """PyTorch's binary cross-entropy of probabilities, elementwise: (y - 1) * max(log1p(-p), -100) - y *
    max(log(p), -100), as ATen's kernel (log1p: log(1 - p) loses p below 1e-4).  Its gradient is ATen's,
    g * (p - y) / max((1 - p) * p, 1e-12): finite where p is exactly 0 or 1 (a saturated sigmoid), where the
    clamped logs' own gradient is NaN.  Inputs outside [0, 1] raise on the CPU, as PyTorch does."""

    name = "BinaryCrossEntropy"
    arg_names = ("input", "target")

    def infer(self, p: Value, y: Value) -> list:
        self.require_float(p, y)
        self.require_same_dtype(p, y)
        if p.shape != y.shape and None not in p.shape + y.shape:
            raise self.shape_error("target", f"the input's shape {p.shape}", y.shape)
        return [(p.shape, p.dtype)]

    def forward(self, be, p, y):
        be.check_within(p, 0.0, 1.0, self.name)
        xp, floor = be.xp, p.dtype.type(-100)
        with numpy.errstate(divide="ignore", invalid="ignore"):      # log(0) = -inf is clamped
            return (y - 1) * xp.maximum(xp.log1p(-p), floor) - y * xp.maximum(xp.log(p), floor)

    def vjp(self, node, grads, needs):
        p, y = node.inputs
        g = grads[0]
        gp = gy = None
        if needs[0]:
            spread = ew.maximum(ew.mul(ew.scalar(p, "rsub", 1.0), p), sh.fill_like(p, 1e-12))
            gp = ew.div(ew.mul(g, ew.sub(p, y)), spread)
        if needs[1]:
            floor = sh.fill_like(p, -100.0)
            gy = ew.mul(g, ew.sub(ew.maximum(ew.log1p(ew.neg(p)), floor), ew.maximum(ew.log(p), floor)))
        return gp, gy


def binary_cross_entropy(p: Value, y: Value) -> Value:
    return apply(BinaryCrossEntropy(), p, y)


def nll_loss(logp: Value, labels: Value, weight: Value | None = None, ignore_index: int | None = None,
             reduction: str = "mean") -> Value:
    """PyTorch's nll_loss over log-probabilities (N, C); see NLLLoss."""
    op = NLLLoss(ignore_index, reduction)
    return (apply(op, logp, labels) if weight is None else apply(op, logp, labels, weight))[0]


def sigmoid_cross_entropy(logits: Value, labels: Value, pos_weight: Value | None = None) -> Value:
    """Elementwise -(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))), stable for any z:
    (1 - y) z + (1 + (pos_weight - 1) y) (log(1 + exp(-|z|)) + max(-z, 0)).  A composition of primitives.
    -|z| and max(-z, 0) are selections on z >= 0 (TF's formulation), not abs and relu: their kinks at z = 0
    cancel, and abs's and relu's zero subgradients there gave 1 - y instead of sigmoid(0) - y = 0.5 - y (a
    zero-initialized output layer's whole first step)."""
    upper = ew.scalar_compare(logits, "GreaterEqual", 0)
    neg_abs = ew.where(upper, ew.neg(logits), logits)
    softplus_neg = ew.add(ew.log(ew.scalar(ew.exp(neg_abs), "add", 1.0)),
                          ew.where(upper, sh.fill_like(logits, 0.0), ew.neg(logits)))
    if pos_weight is not None:
        softplus_neg = ew.mul(ew.scalar(ew.mul(ew.scalar(pos_weight, "add", -1.0), labels), "add", 1.0),
                              softplus_neg)
    return ew.add(ew.mul(ew.scalar(labels, "rsub", 1.0), logits), softplus_neg)


def one_hot(indices: Value, depth: int, dtype=numpy.float32, on: float = 1.0, off: float = 0.0,
            check: bool = False) -> Value:
    return apply(OneHot(depth, dtype, on, off, check), indices)


def softmax_cross_entropy(logits: Value, labels: Value, smoothing: float = 0.0, ignore_index: int | None = None,
                          reduction: str = "none") -> Value:
    """Cross-entropy per row ('none'), or its 'sum' or 'mean' over the batch; integer ``labels`` are class
    indices, float ones are target distributions.

    Rows whose label equals ``ignore_index`` get loss 0 and no gradient, and 'mean' averages over the
    other rows, as PyTorch's ``cross_entropy`` does."""
    if labels.dtype.kind in "iu":
        op = SparseSoftmaxCrossEntropy(smoothing, ignore_index, reduction)
    else:
        op = SoftmaxCrossEntropy(smoothing, reduction)
    return apply(op, logits, labels)[0]
