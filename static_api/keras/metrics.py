"""``tf.keras.metrics``: Keras 3's stateful metrics, with their state in graph variables.

A metric's state (``total`` and ``count``, or ``true_positives`` and ``false_positives``, ...) is a set of
float variables, as in Keras; ``update_state`` adds a batch's contribution with ``assign_add`` in the metric's
dtype (Keras' float32 accumulation) and ``result()`` divides them as Keras does (``divide_no_nan``).  In a
compiled model the variables live in the model's graph and session (reset at the start of each epoch, each
``evaluate`` and each ``*_on_batch`` call, as Keras resets them); used on its own, a metric keeps them in a
graph and session of its own.  (One metric object used both ways keeps one state in each place, where Keras
has one; ``result()`` reads the one updated last.)

    >>> from static_api import keras
    >>> m = keras.metrics.Mean()
    >>> m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
    >>> float(m.result())
    2.0
"""
from __future__ import annotations

from typing import Any, Callable

import numpy

from core import errors as _errors
from static_api import dtypes, nn, ops
from static_api.graph import Graph, Tensor, get_default_graph
from static_api.keras import backend as K
from static_api.keras import layers as L
from static_api.keras import losses
from static_api.session import Session
from static_api.variables import Variable


def _same_rank(x1: Tensor, x2: Tensor, expand_rank_1: bool = True) -> tuple[Tensor, Tensor]:
    """Keras' squeeze_or_expand_to_same_rank: when the ranks differ by one and the longer ends in 1, that axis
    is dropped (or, for a rank-1 partner, the partner gets one)."""
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, [-1])
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, [-1])
    return x1, x2


class Metric:
    """Base of the metrics: subclasses name their state variables (``_state``: name -> shape), add a batch to
    them (``_update``: the assign_add ops) and compute the value from them (``_result``).

    ``name`` defaults to the class name in snake case, made unique in the graph as Keras' ``auto_name`` does
    (``precision``, ``precision_1``, ...); ``dtype`` is the state's and the result's (Keras' floatx)."""

    _default_name: str | None = None      # the fixed default name; None: the unique snake-case class name
    _direction: str | None = None         # "up" or "down": how callbacks in mode 'auto' watch it (Keras 3's)

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        if name is None:
            name = self._default_name or L._unique_layer_name(get_default_graph(), type(self).__name__)
        self.name = name
        self.dtype = dtypes.keras_dtype(dtype or K.floatx())
        self._homes: dict[int, dict] = {}       # id(graph) -> its variables, reset op, session and built updates
        self._last: dict | None = None          # the home updated last: where result() reads

    # -- what a subclass defines --
    def _state(self) -> dict[str, tuple]:
        raise NotImplementedError

    def _update(self, state: dict[str, Variable], y_true: Tensor, y_pred: Tensor,
                sample_weight: Tensor | None) -> list[Tensor]:
        raise NotImplementedError

    def _result(self, state: dict[str, Tensor]) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype.name}

    # -- graph plumbing --
    def _home(self, graph: Graph, session: Callable[[], Session]) -> dict:
        """This metric's variables in ``graph`` (made on first use, under its name) and how to reach them."""
        home = self._homes.get(id(graph))
        if home is None:
            with graph.as_default():
                state = {k: Variable(numpy.zeros(shape, self.dtype), trainable=False, name=f"{self.name}/{k}")
                         for k, shape in self._state().items()}
                home = {"graph": graph, "state": state, "session": session, "built": {},
                        "reset": ops.group(*[v.initializer for v in state.values()]),
                        "result": self._result({k: v.read_value() for k, v in state.items()})}
            self._homes[id(graph)] = home
            session().run(home["reset"])       # the variables start at zero, as Keras' do
        return home

    def _attach(self, y_true: Tensor, y_pred: Tensor, session: Callable[[], Session],
                sample_weight: Tensor | None = None) -> Tensor:
        """The update of this metric by a model's batch (graph tensors), as the metric's value after it: one
        fetch updates and reads (the reads wait for the updates).  ``sample_weight`` for a weighted metric."""
        home = self._home(y_pred.graph, session)
        with home["graph"].as_default():
            updates = self._update(home["state"], y_true, y_pred, sample_weight)
            with home["graph"].control_dependencies(updates):
                return self._result({k: v.read_value() for k, v in home["state"].items()})

    def _reset_in(self, graph: Graph) -> None:
        """Zero the state in ``graph`` (a model's, before an epoch or an evaluation); result() reads there."""
        home = self._homes[id(graph)]
        home["session"]().run(home["reset"])
        self._last = home

    def _feed(self, *values: Any, sample_weight: Any = None) -> None:
        """Add a batch of NumPy values (or lists) to the state in the metric's own graph (``update_state``)."""
        home = self._last = self._home(self._own_graph(), self._own_session)
        arrays = [_tensor_like(a) for a in values] + ([] if sample_weight is None else [_tensor_like(sample_weight)])
        key = tuple((a.shape, a.dtype) for a in arrays)
        built = home["built"].get(key)
        if built is None:
            with home["graph"].as_default():
                feeds = [ops.placeholder(a.dtype, a.shape) for a in arrays]
                weight = feeds.pop() if sample_weight is not None else None
                update = ops.group(*self._update(home["state"], *feeds, weight))
            built = home["built"][key] = (feeds + ([] if weight is None else [weight]), update)
        feeds, update = built
        home["session"]().run(update, dict(zip(feeds, arrays)))

    # -- Keras' API --
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add a batch (NumPy arrays or lists; ``sample_weight`` broadcast to the samples as Keras does)."""
        self._feed(y_true, y_pred, sample_weight=sample_weight)

    def result(self) -> numpy.ndarray:
        """The value so far (0 before any update), as a NumPy scalar of the metric's dtype (an array for
        several thresholds): where the metric was last updated, its own graph or a compiled model's."""
        home = self._last or self._home(self._own_graph(), self._own_session)
        return home["session"]().run(home["result"])

    def reset_state(self) -> None:
        """Zero the state everywhere it lives."""
        for home in self._homes.values():
            home["session"]().run(home["reset"])

    def __call__(self, *args: Any, **kwargs: Any) -> numpy.ndarray:
        """``update_state`` then ``result``."""
        self.update_state(*args, **kwargs)
        return self.result()

    def _own_graph(self) -> Graph:
        if "_graph" not in self.__dict__:
            self._graph = Graph()
        return self._graph

    def _own_session(self) -> Session:
        if "_session" not in self.__dict__:
            self._session = Session(graph=self._own_graph())
        return self._session

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def _tensor_like(x: Any) -> numpy.ndarray:
    """A value as ``tf.convert_to_tensor`` types it: NumPy arrays keep their dtype, Python floats become
    float32 and Python ints int32."""
    if isinstance(x, (numpy.ndarray, numpy.generic)):
        return numpy.asarray(x)
    a = numpy.asarray(x)
    return a.astype({numpy.dtype(numpy.float64): numpy.float32,
                     numpy.dtype(numpy.int64): numpy.int32}.get(a.dtype, a.dtype))


def _mean_update(state: dict, values: Tensor, sample_weight: Tensor | None, dtype: numpy.dtype) -> list[Tensor]:
    """Keras' Mean.update_state (with reduce_to_samplewise_values): values beyond the weight's rank are averaged,
    the weights broadcast to the values and averaged to one per sample; total += sum(values * weights), count +=
    sum(weights) (or the number of samples)."""
    values = ops.cast(values, dtype)
    if sample_weight is not None:
        sample_weight = ops.cast(sample_weight, dtype)
        values, sample_weight = _same_rank(values, sample_weight)
        w_rank, v_rank = len(sample_weight.shape), len(values.shape)
        if v_rank > w_rank:
            values = ops.reduce_mean(values, list(range(w_rank, v_rank)))
        sample_weight = sample_weight * ops.ones_like(values)      # broadcast_to(values' shape), exactly
        values = values * sample_weight
        if w_rank > 1:
            sample_weight = ops.reduce_mean(sample_weight, list(range(1, w_rank)))
    if len(values.shape) > 1:
        values = ops.reduce_mean(values, list(range(1, len(values.shape))))
    count = ops.reduce_sum(ops.ones_like(values) if sample_weight is None else sample_weight)
    return [state["total"].assign_add(ops.reduce_sum(values)), state["count"].assign_add(count)]


class Mean(Metric):
    """The weighted mean of the values seen: total / count."""

    _default_name = "mean"

    def _state(self):
        return {"total": (), "count": ()}

    def _update(self, state, values, sample_weight=None):        # type: ignore[override]
        return _mean_update(state, values, sample_weight, self.dtype)

    def update_state(self, values: Any, sample_weight: Any = None) -> None:   # type: ignore[override]
        """Add ``values`` (weighted by ``sample_weight``) to the mean."""
        self._feed(values, sample_weight=sample_weight)

    def _result(self, state):
        return ops.div_no_nan(state["total"], state["count"])


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)``, one value per sample (Keras' MeanMetricWrapper; unnamed, it
    is ``mean_metric_wrapper``, made unique)."""

    _default_name = None

    def __init__(self, fn: Callable, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name, dtype=dtype)
        self._fn, self._fn_kwargs = fn, kwargs

    def _update(self, state, y_true, y_pred, sample_weight=None):   # type: ignore[override]
        return _mean_update(state, self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight, self.dtype)

    update_state = Metric.update_state      # (y_true, y_pred, sample_weight), not Mean's (values, sample_weight)


# Keras 3's accuracy functions (keras/src/metrics/accuracy_metrics.py), one value per sample in floatx.
def _floatx(x: Tensor) -> Tensor:
    return ops.cast(x, dtypes.keras_dtype(K.floatx()))


def accuracy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    y_true, y_pred = _same_rank(ops.cast(y_true, y_pred.dtype), y_pred)
    return _floatx(ops.equal(y_true, y_pred))


def binary_accuracy(y_true: Tensor, y_pred: Tensor, threshold: float = 0.5) -> Tensor:
    y_true, y_pred = _same_rank(y_true, y_pred)
    return _floatx(ops.equal(y_true, ops.cast(ops.greater(y_pred, threshold), y_true.dtype)))


def categorical_accuracy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    return _class_matches(ops.argmax(y_true, -1), y_pred, squeeze_any=True)


def sparse_categorical_accuracy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    matches = _class_matches(y_true, y_pred, squeeze_any=False)
    if len(matches.shape) > 1 and matches.shape[-1] == 1:
        matches = ops.squeeze(matches, [-1])
    return matches


def _class_matches(y_true: Tensor, y_pred: Tensor, squeeze_any: bool) -> Tensor:
    """Whether the argmax of ``y_pred`` is the class ``y_true`` (cast to y_pred's dtype, as Keras); a class
    axis of one on ``y_true`` is dropped first and the matches take its shape back."""
    y_true = ops.cast(y_true, y_pred.dtype)
    shape = None
    if len(y_true.shape) == len(y_pred.shape) and (squeeze_any or y_true.shape[-1] == 1):
        shape, y_true = y_true.shape, ops.squeeze(y_true, [-1])
    matches = _floatx(ops.equal(y_true, ops.cast(ops.argmax(y_pred, -1), y_true.dtype)))
    return matches if shape is None else ops.reshape(matches, [-1 if d is None else d for d in shape])


def _top_k(y_true: Tensor, y_pred: Tensor, k: int) -> Tensor:
    """Whether each class index of ``y_true`` is among the k largest of its row (ties at the boundary count,
    as TF's in_top_k); leading axes beyond the batch are flattened and restored, as Keras does."""
    shape = y_true.shape
    if len(y_pred.shape) > 2:
        y_pred = ops.reshape(y_pred, [-1, int(y_pred.shape[-1])])
    if len(shape) > 1:
        y_true = ops.reshape(y_true, [-1])
    matches = _floatx(nn.in_top_k(y_pred, ops.cast(y_true, ops.int32), k))
    return matches if len(shape) <= 1 else ops.reshape(matches, [-1 if d is None else d for d in shape])


def top_k_categorical_accuracy(y_true: Tensor, y_pred: Tensor, k: int = 5) -> Tensor:
    return _top_k(ops.argmax(ops.cast(y_true, y_pred.dtype), -1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true: Tensor, y_pred: Tensor, k: int = 5,
                                      from_sorted_ids: bool = False) -> Tensor:
    if from_sorted_ids:
        raise NotImplementedError("sparse_top_k_categorical_accuracy: from_sorted_ids=True is not implemented in "
                                  "dualflow")
    return _top_k(y_true, y_pred, k)


class Accuracy(MeanMetricWrapper):
    _direction = "up"

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(accuracy, name, dtype)


class BinaryAccuracy(MeanMetricWrapper):
    _direction = "up"

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5) -> None:
        if threshold is not None and (threshold <= 0 or threshold >= 1):
            raise ValueError(f"Invalid value for argument `threshold`. Expected a value in interval (0, 1). "
                             f"Received: threshold={threshold}")
        super().__init__(binary_accuracy, name, dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    _direction = "up"

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(categorical_accuracy, name, dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    _direction = "up"

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(sparse_categorical_accuracy, name, dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    _direction = "up"

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(top_k_categorical_accuracy, name, dtype, k=k)
        self.k = k

    def get_config(self):
        return {**super().get_config(), "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    _direction = "up"

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None,
                 from_sorted_ids: bool = False) -> None:
        super().__init__(sparse_top_k_categorical_accuracy, name, dtype, k=k, from_sorted_ids=from_sorted_ids)
        self.k, self.from_sorted_ids = k, from_sorted_ids

    def get_config(self):
        return {**super().get_config(), "k": self.k, **({"from_sorted_ids": True} if self.from_sorted_ids else {})}


def _regression(loss: Callable) -> Callable:
    """A loss function as Keras 3's regression metrics call it: y_true cast to y_pred's dtype and brought to its
    rank (``(n,)`` targets for ``(n, 1)`` predictions); integer predictions counted in floatx, as Keras' mean
    of an integer tensor is."""
    def fn(y_true: Tensor, y_pred: Tensor) -> Tensor:
        if y_pred.dtype.kind != "f":
            y_pred = _floatx(y_pred)
        y_true, y_pred = _same_rank(ops.cast(y_true, y_pred.dtype), y_pred)
        return loss(y_true, y_pred)
    fn.__name__ = loss.__name__
    return fn


class MeanSquaredError(MeanMetricWrapper):
    _direction = "down"

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(_regression(losses.mean_squared_error), name, dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    _direction = "down"

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(_regression(losses.mean_absolute_error), name, dtype)


class _Confusion(Metric):
    """Precision and Recall: per threshold, weighted counts of true positives and of the false positives
    (or negatives), as Keras' update_confusion_matrix_variables counts them (a label is positive when
    nonzero, a prediction when strictly above the threshold); the value is tp / (tp + other)."""

    _other = ""     # "false_positives" or "false_negatives"
    _direction = "up"

    def __init__(self, thresholds: Any = None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        if top_k is not None or class_id is not None:
            raise NotImplementedError(f"keras.metrics.{type(self).__name__}: top_k and class_id are not implemented "
                                      "in dualflow")
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        self.thresholds = [0.5] if thresholds is None else [float(t) for t in numpy.atleast_1d(thresholds)]
        for t in self.thresholds:
            if not 0 <= t <= 1:
                raise ValueError(f"Threshold values must be in [0, 1]. Received: {thresholds}")

    def _state(self):
        return {"true_positives": (len(self.thresholds),), self._other: (len(self.thresholds),)}

    def _update(self, state, y_true, y_pred, sample_weight=None):
        y_true, y_pred = ops.cast(y_true, self.dtype), ops.cast(y_pred, self.dtype)
        y_pred, y_true = _same_rank(y_pred, y_true)
        # One row per threshold, one column per prediction (Keras flattens the predictions).
        pred = ops.reshape(y_pred, [1, -1])
        label = ops.not_equal(ops.reshape(y_true, [1, -1]), 0.0)
        above = ops.greater(pred, ops.constant(numpy.array(self.thresholds, self.dtype)[:, None]))
        if sample_weight is not None:
            w = ops.cast(sample_weight, self.dtype)
            _, w = _same_rank(y_true, ops.expand_dims(w, -1), expand_rank_1=False)
            weight = ops.reshape(w * ops.ones_like(y_pred), [1, -1])     # broadcast to y_pred, exactly
        else:
            weight = None
        other = (ops.logical_and(ops.logical_not(label), above) if self._other == "false_positives"
                 else ops.logical_and(label, ops.logical_not(above)))
        counts = []
        for hit in (ops.logical_and(label, above), other):
            hit = ops.cast(hit, self.dtype)
            counts.append(ops.reduce_sum(hit if weight is None else hit * weight, 1))
        return [state["true_positives"].assign_add(counts[0]), state[self._other].assign_add(counts[1])]

    def _result(self, state):
        tp = state["true_positives"]
        value = ops.div_no_nan(tp, tp + state[self._other])
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_Confusion):
    """tp / (tp + fp) at each threshold (0.5 by default)."""
    _other = "false_positives"


class Recall(_Confusion):
    """tp / (tp + fn) at each threshold (0.5 by default)."""
    _other = "false_negatives"


class AUC(Metric):
    """The area under the ROC (or precision-recall) curve, from true/false positive and negative counts at
    ``num_thresholds`` thresholds evenly spread over [0, 1] (the ends moved out by epsilon), as Keras 3 counts
    them: each prediction (clipped to [0, 1]) falls in the bucket ceil(p * (n - 1)) - 1 (at least 0), and a
    threshold's counts are the sums over the buckets from its own up.  The area is Keras' Riemann sum
    (``summation_method`` 'interpolation', 'minoring' or 'majoring'; the PR curve with 'interpolation' is its
    interpolate_pr_auc).  Given ``thresholds``, ``multi_label`` and ``label_weights`` are not implemented."""

    _direction = "up"

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype: Any = None, thresholds: Any = None, multi_label: bool = False,
                 num_labels: int | None = None, label_weights: Any = None, from_logits: bool = False) -> None:
        if thresholds is not None or multi_label or label_weights is not None:
            raise NotImplementedError("keras.metrics.AUC: thresholds, multi_label and label_weights are not "
                                      "implemented in dualflow")
        if num_labels:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        if num_thresholds <= 1:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: "
                             f"num_thresholds={num_thresholds}")
        if curve.upper() not in ("ROC", "PR"):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC"]')
        if summation_method.lower() not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". Expected values are '
                             '["interpolation", "majoring", "minoring"]')
        super().__init__(name=name, dtype=dtype)
        self.num_thresholds, self.curve = int(num_thresholds), curve.upper()
        self.summation_method, self._from_logits = summation_method.lower(), from_logits
        eps = K.epsilon()
        self.thresholds = [0.0 - eps] + [(i + 1) * 1.0 / (num_thresholds - 1)
                                         for i in range(num_thresholds - 2)] + [1.0 + eps]

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "from_logits": self._from_logits}

    def _state(self):
        shape = (self.num_thresholds,)
        return {"true_positives": shape, "false_positives": shape, "true_negatives": shape, "false_negatives": shape}

    def _update(self, state, y_true, y_pred, sample_weight=None):
        n = self.num_thresholds
        y_true, y_pred = ops.cast(y_true, self.dtype), ops.cast(y_pred, self.dtype)
        if self._from_logits:
            y_pred = nn.sigmoid(y_pred)
        y_pred, y_true = _same_rank(y_pred, y_true)
        weights = 1.0
        if sample_weight is not None:
            _, w = _same_rank(y_true, ops.expand_dims(ops.cast(sample_weight, self.dtype), -1), expand_rank_1=False)
            weights = ops.reshape(w * ops.ones_like(y_pred), [-1])      # broadcast to y_pred, exactly
        y_pred = ops.reshape(ops.clip_by_value(y_pred, 0.0, 1.0), [-1])
        y_true = ops.reshape(ops.cast(ops.not_equal(y_true, 0.0), self.dtype), [-1])
        true_labels, false_labels = y_true * weights, (1.0 - y_true) * weights
        bucket = nn.relu(ops.ceil(y_pred * float(n - 1)) - 1.0)
        # Keras' segment sums over the buckets, as a one-hot sum; then each threshold counts its bucket and above
        buckets = ops.one_hot(ops.cast(bucket, ops.int32), n, dtype=self.dtype)
        tp = ops.cumsum(ops.reduce_sum(buckets * ops.expand_dims(true_labels, 1), 0), reverse=True)
        fp = ops.cumsum(ops.reduce_sum(buckets * ops.expand_dims(false_labels, 1), 0), reverse=True)
        return [state["true_positives"].assign_add(tp), state["false_positives"].assign_add(fp),
                state["true_negatives"].assign_add(ops.reduce_sum(false_labels) - fp),
                state["false_negatives"].assign_add(ops.reduce_sum(true_labels) - tp)]

    def _result(self, state):
        n = self.num_thresholds
        tp, fp, tn, fn = (state[k] for k in ("true_positives", "false_positives", "true_negatives",
                                             "false_negatives"))
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc(tp, fp, fn)
        recall = ops.div_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = ops.div_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, ops.div_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = ops.minimum(y[:n - 1], y[1:])
        else:
            heights = ops.maximum(y[:n - 1], y[1:])
        return ops.reduce_sum((x[:n - 1] - x[1:]) * heights)

    def _interpolate_pr_auc(self, tp: Tensor, fp: Tensor, fn: Tensor) -> Tensor:
        """Keras' interpolate_pr_auc: precision interpolated linearly in the predicted positives between
        thresholds (Davis & Goadrich), each interval's area in closed form."""
        n = self.num_thresholds
        dtp = tp[:n - 1] - tp[1:]
        p = tp + fp
        dp = p[:n - 1] - p[1:]
        slope = ops.div_no_nan(dtp, ops.maximum(dp, 0.0))
        intercept = tp[1:] - slope * p[1:]
        both = ops.logical_and(p[:n - 1] > 0.0, p[1:] > 0.0)
        ratio = ops.where(both, ops.div_no_nan(p[:n - 1], ops.maximum(p[1:], 0.0)), ops.ones_like(p[1:]))
        increment = ops.div_no_nan(slope * (dtp + intercept * ops.log(ratio)), ops.maximum(tp[1:] + fn[1:], 0.0))
        return ops.reduce_sum(increment)


# The losses Keras accepts as metrics by name (scored by the loss function of that name).
LOSS_METRICS = ("mae", "mean_absolute_error", "mse", "mean_squared_error", "mape", "mean_absolute_percentage_error",
                "msle", "mean_squared_logarithmic_error", "poisson", "hinge", "squared_hinge", "categorical_hinge",
                "kl_divergence")
_CLASSES = {c.__name__: c for c in (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
                                    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, Mean, MeanSquaredError,
                                    MeanAbsoluteError, Precision, Recall, AUC)}
# Keras 3's string identifiers: class names, their snake case and the short aliases, each a new metric object.
_BY_NAME = {**_CLASSES, "accuracy": Accuracy, "binary_accuracy": BinaryAccuracy,
            "categorical_accuracy": CategoricalAccuracy, "sparse_categorical_accuracy": SparseCategoricalAccuracy,
            "top_k_categorical_accuracy": TopKCategoricalAccuracy,
            "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy, "mean": Mean,
            "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError, "MSE": MeanSquaredError,
            "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
            "precision": Precision, "recall": Recall, "auc": AUC}


# Keras 3 metrics dualflow does not have: asking for one by name is a NotImplementedError, not Keras' ValueError
# for a name it does not know.
_MISSING = ("f1_score", "F1Score", "fbeta_score", "FBetaScore", "r2_score", "R2Score", "iou", "IoU",
            "mean_iou", "MeanIoU", "binary_iou", "BinaryIoU", "one_hot_iou", "OneHotIoU", "one_hot_mean_iou",
            "OneHotMeanIoU", "root_mean_squared_error", "RootMeanSquaredError", "cosine_similarity",
            "CosineSimilarity", "log_cosh_error", "LogCoshError", "sum", "Sum", "true_positives", "TruePositives",
            "false_positives", "FalsePositives", "true_negatives", "TrueNegatives", "false_negatives",
            "FalseNegatives", "precision_at_recall", "PrecisionAtRecall", "recall_at_precision", "RecallAtPrecision",
            "sensitivity_at_specificity", "SensitivityAtSpecificity", "specificity_at_sensitivity",
            "SpecificityAtSensitivity", "binary_crossentropy", "BinaryCrossentropy", "bce", "BCE",
            "categorical_crossentropy", "CategoricalCrossentropy", "sparse_categorical_crossentropy",
            "SparseCategoricalCrossentropy", "pearson_correlation", "PearsonCorrelation", "concordance_correlation",
            "ConcordanceCorrelation", "kld", "KLD", "MAPE", "MSLE", "MeanAbsolutePercentageError",
            "MeanSquaredLogarithmicError", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge", "KLDivergence")


def get(identifier: Any) -> Any:
    """Keras 3's ``metrics.get``: a metric object or a callable as given, a metric's name as a new metric
    object; the other losses Keras accepts as metrics as their loss functions."""
    if isinstance(identifier, Metric) or callable(identifier):
        return identifier
    if isinstance(identifier, str):
        if identifier in _BY_NAME:
            return _BY_NAME[identifier]()
        if identifier in LOSS_METRICS:
            return _regression(losses.get(identifier).per_sample)
        if identifier in _MISSING:
            raise NotImplementedError(f"keras.metrics: metric {identifier!r} is not implemented in dualflow (it has "
                                      f"{', '.join(sorted(set(_BY_NAME) | set(LOSS_METRICS)))})")
    raise ValueError(f"Could not interpret metric identifier: {identifier}")


def compiled(identifier: Any, y_pred: Tensor, sparse: bool) -> Metric:
    """The metric ``compile(metrics=[...])`` makes of ``identifier`` (Keras 3's ``get_metric``): 'accuracy'
    ('acc') is binary for one output column, else sparse or categorical as the targets are; a string names the
    metric as given, a function is wrapped in a Mean under its name."""
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        cls = BinaryAccuracy if y_pred.shape[-1] == 1 else SparseCategoricalAccuracy if sparse \
            else CategoricalAccuracy
        return cls(name=identifier)
    found = get(identifier)
    if isinstance(identifier, str):
        name = identifier
    else:       # Keras' get_object_name: a metric's name, a function's __name__
        name = found.name if isinstance(found, Metric) else getattr(found, "__name__", None)
    metric = found if isinstance(found, Metric) else MeanMetricWrapper(found, name=name)
    metric.name = name
    return metric


def serialize(identifier: Any, metric: Metric, y_pred: Tensor, sparse: bool) -> str:
    """What a saved model records of a compiled metric: its name, when that rebuilds it (a string, or a
    built-in metric object with that name's settings); other metric objects raise NotImplementedError."""
    if isinstance(identifier, str):
        return identifier
    name = metric.name
    if name.lower() in ("accuracy", "acc"):
        again = compiled(name, y_pred, sparse)
    else:       # named explicitly, so that no auto-name is taken
        again = _BY_NAME[name](name=name) if name in _BY_NAME else None
    if again is None or type(again) is not type(metric) or again.get_config() != metric.get_config():
        raise NotImplementedError(f"cannot save a model compiled with the metric {metric!r}: only metrics that "
                                  "their name rebuilds (a string, or a built-in metric object with that name's "
                                  "settings) are saved")
    return name


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
