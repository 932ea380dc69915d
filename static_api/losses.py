"""``tf.losses`` (TF1): scalar losses, the mean over the batch, each also added to ``tf.GraphKeys.LOSSES``.

    >>> import static_api as tf
    >>> logits = tf.constant([[2.0, 0.0], [0.0, 2.0]])
    >>> loss = tf.losses.sparse_softmax_cross_entropy(labels=[0, 1], logits=logits)
    >>> with tf.Session() as sess:
    ...     round(float(sess.run(loss)), 4)
    0.1269
"""
from __future__ import annotations

from typing import Any

from core import errors as _errors
from static_api import nn, ops
from static_api.graph import Tensor, get_default_graph, named
from static_api.variables import REGULARIZATION_LOSSES

LOSSES = "losses"


def _mean(per_sample: Tensor, weights: Any, name: str | None) -> Tensor:
    if not isinstance(weights, (int, float)):
        raise NotImplementedError("tf.losses: only a scalar weight is supported (per-sample weights are not yet)")
    loss = named(ops.reduce_mean(per_sample) * float(weights), name)
    get_default_graph().add_to_collection(LOSSES, loss)
    return loss


def sparse_softmax_cross_entropy(labels: Any, logits: Tensor, weights: float = 1.0, scope: str | None = None
                                 ) -> Tensor:
    return _mean(nn.sparse_softmax_cross_entropy_with_logits(labels=ops._t(labels, dtype=ops.int64), logits=logits),
                 weights, scope)


def softmax_cross_entropy(onehot_labels: Any, logits: Tensor, weights: float = 1.0, label_smoothing: float = 0.0,
                          scope: str | None = None) -> Tensor:
    labels = ops._t(onehot_labels, like=logits)
    if label_smoothing:
        labels = labels * (1.0 - label_smoothing) + label_smoothing / int(logits.shape[-1])
    return _mean(nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits), weights, scope)


def _paired(name: str, labels: Any, predictions: Any) -> tuple[Tensor, Tensor]:
    """(labels, predictions) as tensors of one dtype, of compatible shapes: TF1 checks this instead of
    broadcasting (a (n, 1) label against (n, k) predictions is a bug)."""
    labels, predictions = ops._t(labels, like=predictions), ops._t(predictions)
    a, b = tuple(predictions.shape), tuple(labels.shape)
    if len(a) != len(b) or any(x != y and None not in (x, y) for x, y in zip(a, b)):
        raise ValueError(f"tf.losses.{name}: Shapes {a} and {b} are incompatible (predictions, labels)")
    return labels, predictions


def mean_squared_error(labels: Any, predictions: Tensor, weights: float = 1.0, scope: str | None = None) -> Tensor:
    labels, predictions = _paired("mean_squared_error", labels, predictions)
    return _mean(ops.square(labels - predictions), weights, scope)


def absolute_difference(labels: Any, predictions: Tensor, weights: float = 1.0, scope: str | None = None) -> Tensor:
    labels, predictions = _paired("absolute_difference", labels, predictions)
    return _mean(ops.abs(predictions - labels), weights, scope)


def huber_loss(labels: Any, predictions: Tensor, weights: float = 1.0, delta: float = 1.0,
               scope: str | None = None) -> Tensor:
    """0.5 x^2 within ``delta`` of the label, linear beyond, computed as TF1 does (for its bits)."""
    labels, predictions = _paired("huber_loss", labels, predictions)
    error = ops.abs(predictions - labels)
    quadratic = ops.minimum(error, delta)
    return _mean(0.5 * ops.square(quadratic) + delta * (error - quadratic), weights, scope)


def log_loss(labels: Any, predictions: Tensor, weights: float = 1.0, epsilon: float = 1e-7,
             scope: str | None = None) -> Tensor:
    labels, predictions = _paired("log_loss", labels, predictions)
    per = -labels * ops.log(predictions + epsilon) - (1.0 - labels) * ops.log(1.0 - predictions + epsilon)
    return _mean(per, weights, scope)


def sigmoid_cross_entropy(multi_class_labels: Any, logits: Tensor, weights: float = 1.0,
                          label_smoothing: float = 0.0, scope: str | None = None) -> Tensor:
    labels, logits = _paired("sigmoid_cross_entropy", multi_class_labels, logits)
    if label_smoothing:
        labels = labels * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return _mean(nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits), weights, scope)


def get_losses(scope: str | None = None) -> list[Tensor]:
    return get_default_graph().get_collection(LOSSES, scope)


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
