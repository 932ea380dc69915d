"""``tf.contrib.layers``: TF1's weight regularizers and the Xavier initializer.

    >>> import static_api as tf
    >>> w = tf.constant([3.0, 4.0])
    >>> with tf.Session() as sess:
    ...     float(sess.run(tf.contrib.layers.l2_regularizer(0.1)(w)))     # 0.1 * (9 + 16) / 2
    1.25
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, Sequence

from core import errors as _errors
from static_api import nn, ops
from static_api.graph import Tensor, get_default_graph
from static_api.variables import REGULARIZATION_LOSSES, glorot_uniform_initializer


def _scale(scale: Any, who: str) -> float:
    if not isinstance(scale, numbers.Real) or isinstance(scale, bool):
        raise ValueError(f"{who}: scale cannot be an integer or a non-number: {scale!r}")
    if scale < 0.0:
        raise ValueError(f"Setting a scale less than 0 on a regularizer: {scale}")
    return float(scale)


def l1_regularizer(scale: float, scope: str | None = None) -> Callable[[Tensor], Tensor | None]:
    """weights -> scale * sum(|weights|); a scale of 0 gives None (no penalty), as TF1."""
    scale = _scale(scale, "l1_regularizer")
    if scale == 0.0:
        return lambda weights: None
    return lambda weights: ops.multiply(ops.reduce_sum(ops.abs(weights)), scale)


def l2_regularizer(scale: float, scope: str | None = None) -> Callable[[Tensor], Tensor | None]:
    """weights -> scale * sum(weights**2) / 2 (``tf.nn.l2_loss``, half of Keras' l2); 0 gives None."""
    scale = _scale(scale, "l2_regularizer")
    if scale == 0.0:
        return lambda weights: None
    return lambda weights: ops.multiply(nn.l2_loss(weights), scale)


def l1_l2_regularizer(scale_l1: float = 1.0, scale_l2: float = 1.0, scope: str | None = None
                      ) -> Callable[[Tensor], Tensor | None]:
    """The sum of ``l1_regularizer(scale_l1)`` and ``l2_regularizer(scale_l2)``."""
    parts = [l1_regularizer(scale_l1), l2_regularizer(scale_l2)]

    def penalty(weights: Tensor) -> Tensor | None:
        found = [p for p in (f(weights) for f in parts) if p is not None]
        return ops.add_n(found) if found else None
    return penalty


def apply_regularization(regularizer: Callable, weights_list: Sequence[Tensor] | None = None) -> Tensor:
    """The sum of ``regularizer(w)`` over ``weights_list``, also added to ``GraphKeys.REGULARIZATION_LOSSES``."""
    if weights_list is None:
        raise NotImplementedError("apply_regularization: give weights_list; TF1's default, the WEIGHTS collection "
                                  "of contrib layers, is not implemented in dualflow (see docs/compat.md)")
    if not weights_list:
        raise ValueError("No weights to regularize.")
    found = [p for p in (regularizer(w) for w in weights_list) if p is not None]
    total = ops.add_n(found) if found else ops.constant(0.0)
    get_default_graph().add_to_collection(REGULARIZATION_LOSSES, total)
    return total


def xavier_initializer(uniform: bool = True, seed: int | None = None, dtype: Any = None) -> glorot_uniform_initializer:
    """Glorot (Xavier) uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out))."""
    if not uniform:
        raise NotImplementedError("xavier_initializer(uniform=False) is not implemented in dualflow "
                                  "(see docs/compat.md)")
    return glorot_uniform_initializer(seed)


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
