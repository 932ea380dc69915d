"""``tf.metrics``: TF1's streaming metrics.  Each returns ``(value, update_op)``: the update op adds a batch
into local variables (``tf.GraphKeys.LOCAL_VARIABLES`` and ``METRIC_VARIABLES``, zeroed by
``tf.local_variables_initializer()``, never saved), the value reads the running result; op for op as TF's
``metrics_impl`` (float32 counters, ``div_no_nan`` for the means)."""
from __future__ import annotations

from typing import Any, Callable

import numpy

import core
from core import errors as _errors
from static_api import ops
from static_api.graph import Tensor, get_default_graph, named
from static_api.variables import LOCAL_VARIABLES, METRIC_VARIABLES, Variable

__all__ = ["accuracy", "false_negatives", "false_positives", "mean", "mean_absolute_error", "mean_squared_error",
           "precision", "recall", "true_positives"]


def _counter(name: str) -> Variable:
    """A float32 scalar local variable starting at zero (TF's ``metric_variable``)."""
    return Variable(numpy.float32(0.0), trainable=False, name=name, collections=[LOCAL_VARIABLES, METRIC_VARIABLES])


def _squeezed(predictions: Tensor, labels: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """TF's ``_remove_squeezable_dimensions``: a trailing dim of size 1 that one side has beyond the other goes."""
    if labels is not None:
        if labels.ndim == predictions.ndim + 1 and labels.shape[-1] == 1:
            labels = ops.squeeze(labels, [-1])
        elif predictions.ndim == labels.ndim + 1 and predictions.shape[-1] == 1:
            predictions = ops.squeeze(predictions, [-1])
    return predictions, labels


def _weighted(values: Tensor, weights: Any) -> tuple[Tensor, Tensor | None]:
    """(values times their broadcast float32 weights, the weights' sum), or (values, None) without weights."""
    if weights is None:
        return values, None
    w = ops.cast(ops._t(weights), numpy.float32)
    w = core.mul(w, core.fill_like(values, 1.0, numpy.float32))       # broadcast to the values' shape
    return core.mul(values, w), ops.reduce_sum(w)


def _collect(metrics_collections: Any, value: Tensor, updates_collections: Any, update: Tensor) -> None:
    g = get_default_graph()
    for key in metrics_collections or ():
        g.add_to_collection(key, value)
    for key in updates_collections or ():
        g.add_to_collection(key, update)


def mean(values, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """The running (weighted) mean: total / count, 0 before any value."""
    g = get_default_graph()
    with g.name_scope(name or "mean"):
        values = ops.cast(ops._t(values), numpy.float32)
        total, count = _counter("total"), _counter("count")
        values, weight_sum = _weighted(values, weights)
        num = ops.cast(ops.size(values), numpy.float32) if weight_sum is None else weight_sum
        update_total = total.assign_add(ops.reduce_sum(values))
        with g.control_dependencies([values]):
            update_count = count.assign_add(num)
        zero = ops.constant(numpy.float32(0.0))
        value = ops.div_no_nan(total, ops.maximum(count, zero), name="value")
        update = ops.div_no_nan(update_total, ops.maximum(update_count, zero), name="update_op")
    _collect(metrics_collections, value, updates_collections, update)
    return value, update


def accuracy(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """The running fraction of predictions equal to their labels."""
    predictions, labels = _squeezed(ops._t(predictions), ops._t(labels))
    if predictions.dtype != labels.dtype:
        predictions = ops.cast(predictions, labels.dtype)
    is_correct = ops.cast(ops.equal(predictions, labels), numpy.float32)
    return mean(is_correct, weights, metrics_collections, updates_collections, name or "accuracy")


def mean_squared_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                       name=None):
    predictions, labels = _squeezed(ops._t(predictions), ops._t(labels))
    return mean(ops.squared_difference(predictions, labels), weights, metrics_collections, updates_collections,
                name or "mean_squared_error")


def mean_absolute_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                        name=None):
    predictions, labels = _squeezed(ops._t(predictions), ops._t(labels))
    return mean(ops.abs(ops.subtract(predictions, labels)), weights, metrics_collections, updates_collections,
                name or "mean_absolute_error")


def _count(condition: Any, weights: Any, metrics_collections: Any, updates_collections: Any, name: str) -> tuple:
    """The running (weighted) number of True entries of ``condition(labels, predictions)``."""
    g = get_default_graph()
    with g.name_scope(name):
        count = _counter("count")
        values, _ = _weighted(ops.cast(condition, numpy.float32), weights)
        value = ops.identity(count)
        update = count.assign_add(ops.reduce_sum(values))
    _collect(metrics_collections, value, updates_collections, update)
    return value, update


def _bools(labels: Any, predictions: Any) -> tuple[Tensor, Tensor]:
    predictions, labels = _squeezed(ops.cast(ops._t(predictions), numpy.bool_), ops.cast(ops._t(labels), numpy.bool_))
    return labels, predictions


def true_positives(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
    labels, predictions = _bools(labels, predictions)
    return _count(ops.logical_and(labels, predictions), weights, metrics_collections, updates_collections,
                  name or "true_positives")


def false_positives(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                    name=None):
    labels, predictions = _bools(labels, predictions)
    return _count(ops.logical_and(ops.logical_not(labels), predictions), weights, metrics_collections,
                  updates_collections, name or "false_positives")


def false_negatives(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                    name=None):
    labels, predictions = _bools(labels, predictions)
    return _count(ops.logical_and(labels, ops.logical_not(predictions)), weights, metrics_collections,
                  updates_collections, name or "false_negatives")


def _ratio(scope: str, hits: tuple, misses: tuple, metrics_collections: Any, updates_collections: Any) -> tuple:
    """hits / (hits + misses), 0 while both are 0: TF's precision and recall, for the value and the update,
    in the metric's ``scope`` (re-entered: it ends in "/")."""
    def ratio(h: Tensor, m: Tensor, label: str) -> Tensor:
        both = ops.add(h, m)
        return ops.where(ops.greater(both, ops.constant(numpy.float32(0.0))), ops.divide(h, both),
                         ops.constant(numpy.float32(0.0)), name=label)
    g = get_default_graph()
    with g.name_scope(scope):
        value, update = ratio(hits[0], misses[0], "value"), ratio(hits[1], misses[1], "update_op")
    _collect(metrics_collections, value, updates_collections, update)
    return value, update


def _ratio_of_counts(name: str, misses: Callable, labels: Any, predictions: Any, weights: Any,
                     metrics_collections: Any, updates_collections: Any) -> tuple:
    """Precision or recall: running true positives over themselves plus ``misses`` (false positives or false
    negatives), counted in a scope of their own as TF's."""
    g = get_default_graph()
    with g.name_scope(name) as scope:
        tp = true_positives(labels, predictions, weights)
        other = misses(labels, predictions, weights)
    return _ratio(scope, tp, other, metrics_collections, updates_collections)


def precision(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """The running true positives / (true positives + false positives), 0 before any positive prediction."""
    return _ratio_of_counts(name or "precision", false_positives, labels, predictions, weights, metrics_collections,
                            updates_collections)


def recall(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """The running true positives / (true positives + false negatives), 0 before any positive label."""
    return _ratio_of_counts(name or "recall", false_negatives, labels, predictions, weights, metrics_collections,
                            updates_collections)


__getattr__ = _errors.missing_names("static_api.metrics")     # a missing public name says so
