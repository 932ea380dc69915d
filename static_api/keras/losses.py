"""``tf.keras.losses``: loss objects and functions (per-sample values; models average them)."""
from __future__ import annotations

from typing import Any, Callable

import numpy

from core import errors as _errors
from static_api import nn, ops
from static_api.graph import Tensor

_EPS = 1e-7


def _logits_of(y_pred: Tensor, activation: str = "Softmax") -> Tensor | None:
    """The activation's input when ``y_pred`` is that activation's output: TF's Keras takes the loss from it
    for stability."""
    return y_pred.op.inputs[0] if y_pred.op.type == activation else None


class Loss:
    sparse = False      # targets are class indices (int64, shape (batch,)) rather than shaped like y_pred

    def __init__(self, from_logits: bool = False, name: str | None = None) -> None:
        self.from_logits = from_logits
        self.name = name or type(self).__name__

    def per_sample(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        raise NotImplementedError

    def __call__(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        return ops.reduce_mean(self.per_sample(y_true, y_pred))

    def _logits(self, y_pred: Tensor) -> Tensor | None:
        return y_pred if self.from_logits else _logits_of(y_pred)


class _Smoothed(Loss):
    """A cross-entropy whose one-hot targets may be smoothed (Keras' ``label_smoothing``): moved towards the
    uniform distribution over the classes, or towards 0.5 for binary targets."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, name: str | None = None) -> None:
        super().__init__(from_logits, name)
        self.label_smoothing = float(label_smoothing)

    def _smooth(self, y_true: Tensor, toward: float) -> Tensor:
        if not self.label_smoothing:
            return y_true
        return y_true * (1.0 - self.label_smoothing) + self.label_smoothing * toward


class CategoricalCrossentropy(_Smoothed):
    def per_sample(self, y_true, y_pred):
        y_true = self._smooth(ops.cast(y_true, y_pred.dtype), 1.0 / int(y_pred.shape[-1]))
        logits = self._logits(y_pred)
        if logits is not None:
            return nn.softmax_cross_entropy_with_logits(labels=y_true, logits=logits)
        return ops.negative(ops.reduce_sum(y_true * ops.log(ops.clip_by_value(y_pred, _EPS, 1 - _EPS)), 1))


class SparseCategoricalCrossentropy(Loss):
    sparse = True

    def per_sample(self, y_true, y_pred):
        logits = self._logits(y_pred)
        if logits is None:
            logits = ops.log(ops.clip_by_value(y_pred, _EPS, 1 - _EPS))
        return nn.sparse_softmax_cross_entropy_with_logits(labels=y_true, logits=logits)


class BinaryCrossentropy(_Smoothed):
    """Mean over the last axis of the elementwise binary cross-entropy (probabilities, or logits)."""

    def per_sample(self, y_true, y_pred):
        logits = y_pred if self.from_logits else _logits_of(y_pred, "Sigmoid")
        y_true = self._smooth(ops.cast(y_true, y_pred.dtype), 0.5)
        if logits is not None:
            return ops.reduce_mean(nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=logits), -1)
        p = ops.clip_by_value(y_pred, _EPS, 1 - _EPS)
        return ops.negative(ops.reduce_mean(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p), -1))


class MeanSquaredError(Loss):
    def per_sample(self, y_true, y_pred):
        return ops.reduce_mean(ops.square(y_pred - y_true), -1)


# Keras 3's regression and margin losses (keras/src/losses/losses.py), in its order of operations; like the
# built-ins above they take ``from_logits`` only so that one config shape saves them all.
class MeanAbsoluteError(Loss):
    def per_sample(self, y_true, y_pred):
        return ops.reduce_mean(ops.abs(ops.cast(y_true, y_pred.dtype) - y_pred), -1)


class MeanAbsolutePercentageError(Loss):
    def per_sample(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        diff = ops.abs((y_true - y_pred) / ops.maximum(ops.abs(y_true), _EPS))
        return 100.0 * ops.reduce_mean(diff, -1)


class MeanSquaredLogarithmicError(Loss):
    def per_sample(self, y_true, y_pred):
        first = ops.log(ops.maximum(y_pred, _EPS) + 1.0)
        second = ops.log(ops.maximum(ops.cast(y_true, y_pred.dtype), _EPS) + 1.0)
        return ops.reduce_mean(ops.square(first - second), -1)


class Huber(Loss):
    def __init__(self, delta: float = 1.0, name: str | None = None, from_logits: bool = False) -> None:
        super().__init__(from_logits, name)
        self.delta = float(delta)

    def per_sample(self, y_true, y_pred):
        error = y_pred - ops.cast(y_true, y_pred.dtype)
        abs_error = ops.abs(error)
        dt = numpy.dtype(y_pred.dtype.name).type
        half_delta_sq = float(dt(0.5) * (dt(self.delta) * dt(self.delta)))
        return ops.reduce_mean(ops.where(abs_error <= self.delta, 0.5 * ops.square(error),
                                         self.delta * abs_error - half_delta_sq), -1)


class LogCosh(Loss):
    def per_sample(self, y_true, y_pred):
        x = y_pred - ops.cast(y_true, y_pred.dtype)
        log2 = float(numpy.log(numpy.dtype(y_pred.dtype.name).type(2.0)))
        return ops.reduce_mean(x + nn.softplus(x * -2.0) - log2, -1)


class KLDivergence(Loss):
    def per_sample(self, y_true, y_pred):
        y_true = ops.clip_by_value(ops.cast(y_true, y_pred.dtype), _EPS, 1.0)
        y_pred = ops.clip_by_value(y_pred, _EPS, 1.0)
        return ops.reduce_sum(y_true * ops.log(y_true / y_pred), -1)


class Poisson(Loss):
    def per_sample(self, y_true, y_pred):
        return ops.reduce_mean(y_pred - ops.cast(y_true, y_pred.dtype) * ops.log(y_pred + _EPS), -1)


def _hinge_labels(y_true: Tensor) -> Tensor:
    """Keras' convert_binary_labels_to_hinge: labels that are all 0 or 1 become -1 or 1 (decided per batch)."""
    binary = ops.reduce_all(ops.logical_or(ops.equal(y_true, 0.0), ops.equal(y_true, 1.0)))
    return ops.where(binary, 2.0 * y_true - 1.0, y_true)


class Hinge(Loss):
    def per_sample(self, y_true, y_pred):
        y_true = _hinge_labels(ops.cast(y_true, y_pred.dtype))
        return ops.reduce_mean(ops.maximum(1.0 - y_true * y_pred, 0.0), -1)


class SquaredHinge(Loss):
    def per_sample(self, y_true, y_pred):
        y_true = _hinge_labels(ops.cast(y_true, y_pred.dtype))
        return ops.reduce_mean(ops.square(ops.maximum(1.0 - y_true * y_pred, 0.0)), -1)


class CategoricalHinge(Loss):
    def per_sample(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        pos = ops.reduce_sum(y_true * y_pred, -1)
        neg = ops.reduce_max((1.0 - y_true) * y_pred, -1)
        return ops.maximum(neg - pos + 1.0, 0.0)


class CosineSimilarity(Loss):
    def __init__(self, axis: int = -1, name: str | None = None, from_logits: bool = False) -> None:
        super().__init__(from_logits, name)
        self.axis = int(axis)

    def per_sample(self, y_true, y_pred):
        y_true = l2_normalize(ops.cast(y_true, y_pred.dtype), self.axis)
        return ops.negative(ops.reduce_sum(y_true * l2_normalize(y_pred, self.axis), self.axis))


def l2_normalize(x: Tensor, axis: int) -> Tensor:
    """Keras' ``ops.normalize`` (L2): x * min(rsqrt(sum(x^2)), 1 / epsilon) along ``axis``."""
    inv = ops.minimum(ops.rsqrt(ops.reduce_sum(ops.square(x), axis, keepdims=True)), 1.0 / _EPS)
    return x * inv


class _FunctionLoss(Loss):
    def __init__(self, fn: Callable) -> None:
        super().__init__(name=getattr(fn, "__name__", "loss"))
        self.fn = fn

    def per_sample(self, y_true, y_pred):
        return self.fn(y_true, y_pred)


def categorical_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False,
                             label_smoothing: float = 0.0) -> Tensor:
    return CategoricalCrossentropy(from_logits, label_smoothing).per_sample(y_true, y_pred)


def sparse_categorical_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False) -> Tensor:
    return SparseCategoricalCrossentropy(from_logits).per_sample(y_true, y_pred)


def binary_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False,
                        label_smoothing: float = 0.0) -> Tensor:
    return BinaryCrossentropy(from_logits, label_smoothing).per_sample(y_true, y_pred)


def mean_squared_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    return MeanSquaredError().per_sample(y_true, y_pred)


def _function(cls: type, name: str) -> Callable:
    def fn(y_true: Tensor, y_pred: Tensor) -> Tensor:
        return cls().per_sample(y_true, y_pred)
    fn.__name__ = fn.__qualname__ = name
    return fn


mean_absolute_error = _function(MeanAbsoluteError, "mean_absolute_error")
mean_absolute_percentage_error = _function(MeanAbsolutePercentageError, "mean_absolute_percentage_error")
mean_squared_logarithmic_error = _function(MeanSquaredLogarithmicError, "mean_squared_logarithmic_error")
log_cosh = _function(LogCosh, "log_cosh")
kl_divergence = _function(KLDivergence, "kl_divergence")
poisson = _function(Poisson, "poisson")
hinge = _function(Hinge, "hinge")
squared_hinge = _function(SquaredHinge, "squared_hinge")
categorical_hinge = _function(CategoricalHinge, "categorical_hinge")


def huber(y_true: Tensor, y_pred: Tensor, delta: float = 1.0) -> Tensor:
    return Huber(delta).per_sample(y_true, y_pred)


def cosine_similarity(y_true: Tensor, y_pred: Tensor, axis: int = -1) -> Tensor:
    return CosineSimilarity(axis).per_sample(y_true, y_pred)


mse, mae, mape, msle, kld = (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
                             mean_squared_logarithmic_error, kl_divergence)
_FUNCTIONS = {categorical_crossentropy: CategoricalCrossentropy, sparse_categorical_crossentropy:
              SparseCategoricalCrossentropy, binary_crossentropy: BinaryCrossentropy,
              mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
              mean_absolute_percentage_error: MeanAbsolutePercentageError,
              mean_squared_logarithmic_error: MeanSquaredLogarithmicError, huber: Huber, log_cosh: LogCosh,
              kl_divergence: KLDivergence, poisson: Poisson, hinge: Hinge, squared_hinge: SquaredHinge,
              categorical_hinge: CategoricalHinge, cosine_similarity: CosineSimilarity}
_BUILT_IN = tuple(_FUNCTIONS.values())
# Keras 3's string identifiers: the functions' names, the classes' names and its short aliases.
_BY_NAME = {**{f.__name__: c for f, c in _FUNCTIONS.items()}, **{c.__name__: c for c in _BUILT_IN},
            "mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
            "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
            "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError, "kld": KLDivergence,
            "KLD": KLDivergence}


def get(spec: Any) -> Loss:
    """A loss name, a Loss object, one of this module's functions, or any ``fn(y_true, y_pred)``."""
    if isinstance(spec, Loss):
        return spec
    if isinstance(spec, str):
        if spec not in _BY_NAME:
            raise ValueError(f"Unknown loss function: {spec!r}; expected one of {sorted(_BY_NAME)} or a callable")
        return _BY_NAME[spec]()
    if spec in _FUNCTIONS:
        return _FUNCTIONS[spec]()
    if callable(spec):
        return _FunctionLoss(spec)
    raise ValueError(f"Could not interpret loss identifier: {spec!r}")


def serialize(loss: Loss) -> dict:
    """The class and arguments of a built-in loss (a saved model records how it was compiled)."""
    if type(loss) not in _BUILT_IN:
        raise NotImplementedError(f"cannot save a model compiled with the custom loss {loss.name!r}")
    config = {"class": type(loss).__name__, "from_logits": loss.from_logits}
    for arg in ("label_smoothing", "delta", "axis"):
        if hasattr(loss, arg):
            config[arg] = getattr(loss, arg)
    return config


def deserialize(config: dict) -> Loss:
    cls = {c.__name__: c for c in _BUILT_IN}[config["class"]]
    return cls(**{k: v for k, v in config.items() if k != "class"})


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
