"""``tf.keras.losses``: loss objects and functions (per-sample values; models average them)."""
from __future__ import annotations

from typing import Any, Callable

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


mse = mean_squared_error
_BY_NAME = {"categorical_crossentropy": CategoricalCrossentropy, "sparse_categorical_crossentropy":
            SparseCategoricalCrossentropy, "binary_crossentropy": BinaryCrossentropy, "mse": MeanSquaredError,
            "mean_squared_error": MeanSquaredError}
_FUNCTIONS = {categorical_crossentropy: CategoricalCrossentropy, sparse_categorical_crossentropy:
              SparseCategoricalCrossentropy, binary_crossentropy: BinaryCrossentropy,
              mean_squared_error: MeanSquaredError}
_BUILT_IN = (CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy, MeanSquaredError)


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
    """The class, ``from_logits`` and label smoothing of a built-in loss (a saved model records how it was
    compiled)."""
    if type(loss) not in _BUILT_IN:
        raise NotImplementedError(f"cannot save a model compiled with the custom loss {loss.name!r}")
    config = {"class": type(loss).__name__, "from_logits": loss.from_logits}
    if isinstance(loss, _Smoothed):
        config["label_smoothing"] = loss.label_smoothing
    return config


def deserialize(config: dict) -> Loss:
    cls = {c.__name__: c for c in _BUILT_IN}[config["class"]]
    if issubclass(cls, _Smoothed):
        return cls(from_logits=config["from_logits"], label_smoothing=config.get("label_smoothing", 0.0))
    return cls(from_logits=config["from_logits"])


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
