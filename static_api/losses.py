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


def mean_squared_error(labels: Any, predictions: Tensor, weights: float = 1.0, scope: str | None = None) -> Tensor:
    return _mean(ops.square(ops._t(labels, like=predictions) - predictions), weights, scope)


def get_losses() -> list[Tensor]:
    return get_default_graph().get_collection(LOSSES)


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
