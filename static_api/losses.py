"""``tf.losses`` (TF1): scalar losses reduced as TF1 does (the weighted sum over the count of nonzero weights
by default), each also added to ``tf.GraphKeys.LOSSES``.

    >>> import static_api as tf
    >>> logits = tf.constant([[2.0, 0.0], [0.0, 2.0]])
    >>> loss = tf.losses.sparse_softmax_cross_entropy(labels=[0, 1], logits=logits)
    >>> with tf.Session() as sess:
    ...     round(float(sess.run(loss)), 4)
    0.1269
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

from core import errors as _errors
from static_api import nn, ops
from static_api.graph import Tensor, get_default_graph, named
from static_api.variables import REGULARIZATION_LOSSES

LOSSES = "losses"


class Reduction:
    """TF1's ``tf.losses.Reduction``: how ``compute_weighted_loss`` reduces the weighted losses."""

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls) -> tuple[str, ...]:
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE, cls.SUM_OVER_NONZERO_WEIGHTS,
                cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key: str) -> None:
        if key not in cls.all():
            raise ValueError(f"Invalid Reduction Key {key}. Key should be one of {cls.all()}.")


def _check_broadcastable(losses: Tensor, weights: Tensor) -> None:
    """TF's ``assert_broadcastable`` on static shapes: a scalar weight, or one of the losses' rank whose dims are
    1 or the losses' (a (n,) weight against (n, k) losses is refused, not broadcast along the wrong axis)."""
    w, v = tuple(weights.shape), tuple(losses.shape)
    if not w:
        return
    if len(w) != len(v) or any(a not in (1, b) and None not in (a, b) for a, b in zip(w, v)):
        raise ValueError(f"weights can not be broadcast to values. values.rank={len(v)}. weights.rank={len(w)}. "
                         f"values.shape={list(v)}. weights.shape={list(w)}.")


def add_loss(loss: Tensor, loss_collection: str | None = LOSSES) -> None:
    """``tf.losses.add_loss``: put ``loss`` in ``loss_collection`` (none when it is None or empty)."""
    if loss_collection:
        get_default_graph().add_to_collection(loss_collection, loss)


def _weighted(losses: Any, weights: Any, loss_collection: str | None, reduction: str) -> Tensor:
    """TF1's reduction, op for op, in the current name scope (the result is its ``value``): the losses and
    weights in float32, their product summed and divided (0 where the divisor is 0) by the number of nonzero
    weights broadcast over the losses (``SUM_BY_NONZERO_WEIGHTS``, the default; a nonzero Python float weight
    counts every element), the sum of the broadcast weights (``MEAN``) or the number of elements
    (``SUM_OVER_BATCH_SIZE``); ``SUM`` is the sum, ``NONE`` the weighted losses.  The result is cast back to
    the losses' dtype and added to ``loss_collection``."""
    Reduction.validate(reduction)
    losses = ops._t(losses)
    input_dtype = losses.dtype
    losses = ops.cast(losses, ops.float32)
    w = ops.cast(ops._t(weights), ops.float32)
    _check_broadcastable(losses, w)
    weighted = losses * w
    if reduction == Reduction.NONE:
        loss = weighted
    elif reduction == Reduction.SUM:
        loss = ops.reduce_sum(weighted)
    else:
        if reduction == Reduction.MEAN:
            count = ops.reduce_sum(ops.ones_like(losses) * w)
        elif reduction == Reduction.SUM_BY_NONZERO_WEIGHTS and not (isinstance(weights, float) and weights != 0.0):
            nonzero = ops.where(ops.equal(w, 0.0), ops.zeros_like(w), ops.ones_like(w))
            count = ops.reduce_sum(nonzero * ops.ones_like(losses))
        else:       # SUM_OVER_BATCH_SIZE, or a nonzero Python float weight: every element counts
            count = ops.cast(ops.size(losses), ops.float32)
        loss = ops.div_no_nan(ops.reduce_sum(weighted), count, name="value")
    loss = ops.cast(loss, input_dtype)
    add_loss(loss, loss_collection)
    return loss


@contextlib.contextmanager
def _scope(scope: str | None, default: str) -> Iterator[None]:
    """TF1's ``name_scope(scope, default)``: the loss's ops under ``scope`` (or the default), made unique."""
    g = get_default_graph()
    with g.name_scope(scope or default):
        yield


def compute_weighted_loss(losses: Any, weights: Any = 1.0, scope: str | None = None,
                          loss_collection: str | None = LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """``tf.losses.compute_weighted_loss``: ``losses`` weighted and reduced as every ``tf.losses`` function
    reduces its per-element losses (``weighted_loss/value`` by default)."""
    with _scope(scope, "weighted_loss"):
        return _weighted(losses, weights, loss_collection, reduction)


def sparse_softmax_cross_entropy(labels: Any, logits: Tensor, weights: Any = 1.0, scope: str | None = None,
                                 loss_collection: str | None = LOSSES,
                                 reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    with _scope(scope, "sparse_softmax_cross_entropy_loss"):
        return _weighted(
            nn.sparse_softmax_cross_entropy_with_logits(labels=ops._t(labels, dtype=ops.int64),
                                                        logits=ops._t(logits)),
            weights, loss_collection, reduction)


def softmax_cross_entropy(onehot_labels: Any, logits: Tensor, weights: Any = 1.0, label_smoothing: float = 0.0,
                          scope: str | None = None, loss_collection: str | None = LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    with _scope(scope, "softmax_cross_entropy_loss"):
        logits = ops._t(logits)
        labels = ops._t(onehot_labels, like=logits)
        if label_smoothing:
            labels = labels * (1.0 - label_smoothing) + label_smoothing / int(logits.shape[-1])
        return _weighted(nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits), weights,
                         loss_collection, reduction)


def _paired(name: str, labels: Any, predictions: Any, what: str = "predictions", float32: bool = True
            ) -> tuple[Tensor, Tensor]:
    """(labels, predictions) of compatible shapes, in float32 as TF1 casts them (or, for ``float32=False``,
    labels of the predictions' dtype): TF1 checks the shapes instead of broadcasting (a (n, 1) label against
    (n, k) predictions is a bug)."""
    for arg, value in (("labels", labels), (what, predictions)):
        if value is None:
            raise ValueError(f"tf.losses.{name}: Argument `{arg}` must not be None.")
    predictions = ops._t(predictions)
    if float32:
        predictions = ops.cast(predictions, ops.float32)
    labels = ops.cast(ops._t(labels, like=predictions), predictions.dtype)
    a, b = tuple(predictions.shape), tuple(labels.shape)
    if len(a) != len(b) or any(x != y and None not in (x, y) for x, y in zip(a, b)):
        raise ValueError(f"tf.losses.{name}: Shapes {a} and {b} are incompatible (predictions, labels)")
    return labels, predictions


def _elementwise(name: str, per: Any, labels: Any, predictions: Any, weights: Any, scope: str | None,
                 loss_collection: str | None, reduction: str) -> Tensor:
    """A loss of ``per(labels, predictions)`` per element, under its TF1 name scope, reduced as TF1 does."""
    with _scope(scope, name):
        labels, predictions = _paired(name, labels, predictions)
        return _weighted(per(labels, predictions), weights, loss_collection, reduction)


def mean_squared_error(labels: Any, predictions: Tensor, weights: Any = 1.0, scope: str | None = None,
                       loss_collection: str | None = LOSSES,
                       reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    return _elementwise("mean_squared_error", lambda y, p: ops.square(y - p), labels, predictions, weights, scope,
                        loss_collection, reduction)


def absolute_difference(labels: Any, predictions: Tensor, weights: Any = 1.0, scope: str | None = None,
                        loss_collection: str | None = LOSSES,
                        reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    return _elementwise("absolute_difference", lambda y, p: ops.abs(p - y), labels, predictions, weights, scope,
                        loss_collection, reduction)


def huber_loss(labels: Any, predictions: Tensor, weights: Any = 1.0, delta: float = 1.0, scope: str | None = None,
               loss_collection: str | None = LOSSES, reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """0.5 x^2 within ``delta`` of the label, linear beyond, computed as TF1 does (for its bits)."""
    def per(y: Tensor, p: Tensor) -> Tensor:
        error = ops.abs(p - y)
        quadratic = ops.minimum(error, delta)
        return 0.5 * ops.square(quadratic) + delta * (error - quadratic)
    return _elementwise("huber_loss", per, labels, predictions, weights, scope, loss_collection, reduction)


def log_loss(labels: Any, predictions: Tensor, weights: Any = 1.0, epsilon: float = 1e-7, scope: str | None = None,
             loss_collection: str | None = LOSSES, reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    def per(y: Tensor, p: Tensor) -> Tensor:
        return -y * ops.log(p + epsilon) - (1.0 - y) * ops.log(1.0 - p + epsilon)
    return _elementwise("log_loss", per, labels, predictions, weights, scope, loss_collection, reduction)


def hinge_loss(labels: Any, logits: Tensor, weights: Any = 1.0, scope: str | None = None,
               loss_collection: str | None = LOSSES, reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """``max(0, 1 - y * logits)`` with the {0, 1} labels mapped to y in {-1, 1}."""
    with _scope(scope, "hinge_loss"):
        labels, logits = _paired("hinge_loss", labels, logits, "logits")
        ones = ops.ones_like(labels)
        signs = 2 * labels - ones
        return _weighted(nn.relu(ones - signs * logits), weights, loss_collection, reduction)


def cosine_distance(labels: Any, predictions: Tensor, axis: int | None = None, weights: Any = 1.0,
                    scope: str | None = None, loss_collection: str | None = LOSSES,
                    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS, dim: int | None = None) -> Tensor:
    """``1 - sum(labels * predictions, axis)`` (kept as a dim of 1), for unit-normalized inputs; ``dim`` is
    TF1's deprecated name of ``axis``."""
    if dim is not None:
        if axis is not None:
            raise ValueError("tf.losses.cosine_distance: Cannot specify both 'axis' and 'dim'")
        axis = dim
    if axis is None:
        raise ValueError("tf.losses.cosine_distance: You must specify argument `axis`.")
    with _scope(scope, "cosine_distance_loss"):
        labels, predictions = _paired("cosine_distance", labels, predictions)
        losses = 1 - ops.reduce_sum(predictions * labels, axis=(axis,), keepdims=True)
        return _weighted(losses, weights, loss_collection, reduction)


def sigmoid_cross_entropy(multi_class_labels: Any, logits: Tensor, weights: Any = 1.0,
                          label_smoothing: float = 0.0, scope: str | None = None,
                          loss_collection: str | None = LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    with _scope(scope, "sigmoid_cross_entropy_loss"):
        # TF1 casts the labels to the logits' dtype here, not both to float32
        labels, logits = _paired("sigmoid_cross_entropy", multi_class_labels, logits, "logits", float32=False)
        if label_smoothing:
            labels = labels * (1.0 - label_smoothing) + 0.5 * label_smoothing
        return _weighted(nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits), weights,
                         loss_collection, reduction)


def get_losses(scope: str | None = None, loss_collection: str = LOSSES) -> list[Tensor]:
    """The losses in ``loss_collection`` (every ``tf.losses`` function and ``add_loss`` puts them there)."""
    return get_default_graph().get_collection(loss_collection, scope)


def get_regularization_losses(scope: str | None = None) -> list[Tensor]:
    """The penalties of ``get_variable(regularizer=...)`` and ``tf.layers``' ``*_regularizer`` arguments."""
    return get_default_graph().get_collection(REGULARIZATION_LOSSES, scope)


def get_regularization_loss(scope: str | None = None, name: str = "total_regularization_loss") -> Tensor:
    """The sum of ``get_regularization_losses()``; 0.0 when there are none, as TF1."""
    found = get_regularization_losses(scope)
    return named(ops.add_n(found) if found else ops.constant(0.0), name)


def get_total_loss(add_regularization_losses: bool = True, name: str = "total_loss", scope: str | None = None
                   ) -> Tensor:
    """The sum of ``get_losses()`` (and of the regularization losses); TF1 raises when there are none."""
    found = get_losses(scope) + (get_regularization_losses(scope) if add_regularization_losses else [])
    if not found:
        raise ValueError("No losses found.")
    return named(ops.add_n(found), name)


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
