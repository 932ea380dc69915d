"""``tf.keras.losses``: loss objects and functions (per-sample values; models average them)."""
from __future__ import annotations

import inspect
import warnings
from typing import Any, Callable

import numpy

from core import errors as _errors
from static_api import nn, ops
from static_api.graph import Tensor

_EPS = 1e-7
# Keras 3's reductions (keras/src/losses/loss.py) but "none": a vector loss would need its own training step.
_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight")




def _reduction(reduction: str | None) -> str:
    if reduction is None or reduction == "none":
        raise NotImplementedError("keras.losses: reduction='none' (unreduced per-sample losses) is not implemented "
                                  "in dualflow")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of {set(_REDUCTIONS) | {None, 'none'}}"
                         f". Received: reduction={reduction}")
    return reduction


class Loss:
    """Keras 3's ``Loss(name, reduction, dtype)``: ``per_sample`` gives each sample's loss, ``reduce`` the batch's."""
    sparse = False      # targets are class indices (int64, shape (batch,)) rather than shaped like y_pred
    from_logits = False     # the cross-entropies' argument (``_logits``)

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype: Any = None) -> None:
        if dtype is not None:
            raise NotImplementedError("keras.losses: a loss dtype (computing it in another precision than the "
                                      "model's output) is not implemented in dualflow")
        self.name = name or type(self).__name__
        self.reduction = _reduction(reduction)
        self.dtype = dtype

    def per_sample(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        raise NotImplementedError

    def reduce(self, per: Tensor, sample_weight: Tensor | None = None) -> Tensor:
        """Keras' reduce_weighted_values: the sum of weight * loss, divided (but for "sum") by the number of
        values, or by the sum of the weights for "mean_with_sample_weight"."""
        values = per
        if sample_weight is not None:
            values = per * ops.reshape(sample_weight, (-1,) + (1,) * (len(per.shape) - 1))
        if self.reduction == "sum":
            return ops.reduce_sum(values)
        if self.reduction == "mean_with_sample_weight" and sample_weight is not None:
            if len(per.shape) != 1:     # Keras divides by the weights' sum, yet by the count when fit has none
                raise NotImplementedError("keras.losses: reduction='mean_with_sample_weight' for a loss with more "
                                          "than one value per sample is not implemented in dualflow")
            return ops.reduce_sum(values) / ops.reduce_sum(sample_weight)
        return ops.reduce_mean(values)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        y_pred = ops.convert_to_tensor(y_pred)
        weight = None if sample_weight is None else ops.cast(ops.convert_to_tensor(sample_weight), y_pred.dtype)
        return self.reduce(self.per_sample(ops.convert_to_tensor(y_true), y_pred), weight)

    def _logits(self, y_pred: Tensor, op_type: str) -> Tensor | None:
        """The logits to take the cross-entropy from, or None to take it from probabilities, as Keras 3's
        TensorFlow backend (``_get_logits``) finds them: the input a Keras softmax or sigmoid activation remembered
        (``_keras_logits``), whichever the loss; else the input of an ``op_type`` op (Softmax for the categorical
        losses, Sigmoid for the binary one; a raw ``tf.nn.softmax`` too); either way whatever ``from_logits`` says
        (with a warning when it says True)."""
        logits = getattr(y_pred, "_keras_logits", None)
        if logits is None and y_pred.op.type == op_type:
            logits = y_pred.op.inputs[0]
        if logits is None:
            return y_pred if self.from_logits else None
        if self.from_logits:
            warnings.warn(f'"`{self.name}` received `from_logits=True`, but the `output` argument was produced by a '
                          f"{y_pred.op.type} activation and thus does not represent logits. Was this intended?",
                          UserWarning, stacklevel=3)
        return logits


class CategoricalCrossentropy(Loss):
    """Keras 3's signature; one-hot targets may be smoothed towards the uniform distribution over the classes."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str | None = "categorical_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(name, reduction, dtype)
        self.from_logits, self.label_smoothing, self.axis = from_logits, float(label_smoothing), int(axis)

    def per_sample(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + self.label_smoothing * (1.0 / int(y_pred.shape[-1]))
        logits = self._logits(y_pred, "Softmax")
        if logits is not None:
            return nn.softmax_cross_entropy_with_logits(labels=y_true, logits=logits, axis=self.axis)
        # Keras renormalises the outputs to sum to 1 along the axis before clipping (NaN for an all-zero row).
        y_pred = y_pred / ops.reduce_sum(y_pred, self.axis, keepdims=True)
        return ops.negative(ops.reduce_sum(y_true * ops.log(ops.clip_by_value(y_pred, _EPS, 1 - _EPS)), self.axis))


class SparseCategoricalCrossentropy(Loss):
    sparse = True

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = "sum_over_batch_size", axis: int = -1,
                 name: str | None = "sparse_categorical_crossentropy", dtype: Any = None) -> None:
        super().__init__(name, reduction, dtype)
        if ignore_class is not None:
            raise NotImplementedError("SparseCategoricalCrossentropy: ignore_class is not implemented in dualflow")
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, int(axis)

    def per_sample(self, y_true, y_pred):
        if self.axis not in (-1, len(y_pred.shape) - 1):      # as Keras' TensorFlow backend
            raise ValueError(f"Only axis=-1 is currently supported. Received: axis={self.axis}")
        logits = self._logits(y_pred, "Softmax")
        if logits is None:
            logits = ops.log(ops.clip_by_value(y_pred, _EPS, 1 - _EPS))
        return nn.sparse_softmax_cross_entropy_with_logits(labels=y_true, logits=logits)


class BinaryCrossentropy(Loss):
    """Mean over ``axis`` of the elementwise binary cross-entropy (probabilities, or logits); targets may be
    smoothed towards 0.5."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str | None = "binary_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(name, reduction, dtype)
        self.from_logits, self.label_smoothing, self.axis = from_logits, float(label_smoothing), int(axis)

    def per_sample(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + self.label_smoothing * 0.5
        logits = self._logits(y_pred, "Sigmoid")
        if logits is not None:
            return ops.reduce_mean(nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=logits), self.axis)
        p = ops.clip_by_value(y_pred, _EPS, 1 - _EPS)
        return ops.negative(ops.reduce_mean(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p), self.axis))


def _plain(name: str) -> Callable:
    """The constructor of a loss with only Keras' (reduction, name, dtype) arguments, named ``name`` by default."""
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = name,
                 dtype: Any = None) -> None:
        Loss.__init__(self, name, reduction, dtype)
    return __init__


class MeanSquaredError(Loss):
    __init__ = _plain("mean_squared_error")

    def per_sample(self, y_true, y_pred):
        return ops.reduce_mean(ops.square(y_pred - y_true), -1)


# Keras 3's regression and margin losses (keras/src/losses/losses.py), in its order of operations.
class MeanAbsoluteError(Loss):
    __init__ = _plain("mean_absolute_error")

    def per_sample(self, y_true, y_pred):
        return ops.reduce_mean(ops.abs(ops.cast(y_true, y_pred.dtype) - y_pred), -1)


class MeanAbsolutePercentageError(Loss):
    __init__ = _plain("mean_absolute_percentage_error")

    def per_sample(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        diff = ops.abs((y_true - y_pred) / ops.maximum(ops.abs(y_true), _EPS))
        return 100.0 * ops.reduce_mean(diff, -1)


class MeanSquaredLogarithmicError(Loss):
    __init__ = _plain("mean_squared_logarithmic_error")

    def per_sample(self, y_true, y_pred):
        first = ops.log(ops.maximum(y_pred, _EPS) + 1.0)
        second = ops.log(ops.maximum(ops.cast(y_true, y_pred.dtype), _EPS) + 1.0)
        return ops.reduce_mean(ops.square(first - second), -1)


class Huber(Loss):
    def __init__(self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size",
                 name: str | None = "huber_loss", dtype: Any = None) -> None:
        super().__init__(name, reduction, dtype)
        self.delta = float(delta)

    def per_sample(self, y_true, y_pred):
        error = y_pred - ops.cast(y_true, y_pred.dtype)
        abs_error = ops.abs(error)
        dt = numpy.dtype(y_pred.dtype.name).type
        half_delta_sq = float(dt(0.5) * (dt(self.delta) * dt(self.delta)))
        return ops.reduce_mean(ops.where(abs_error <= self.delta, 0.5 * ops.square(error),
                                         self.delta * abs_error - half_delta_sq), -1)


class LogCosh(Loss):
    __init__ = _plain("log_cosh")

    def per_sample(self, y_true, y_pred):
        x = y_pred - ops.cast(y_true, y_pred.dtype)
        log2 = float(numpy.log(numpy.dtype(y_pred.dtype.name).type(2.0)))
        return ops.reduce_mean(x + nn.softplus(x * -2.0) - log2, -1)


class KLDivergence(Loss):
    __init__ = _plain("kl_divergence")

    def per_sample(self, y_true, y_pred):
        y_true = ops.clip_by_value(ops.cast(y_true, y_pred.dtype), _EPS, 1.0)
        y_pred = ops.clip_by_value(y_pred, _EPS, 1.0)
        return ops.reduce_sum(y_true * ops.log(y_true / y_pred), -1)


class Poisson(Loss):
    __init__ = _plain("poisson")

    def per_sample(self, y_true, y_pred):
        return ops.reduce_mean(y_pred - ops.cast(y_true, y_pred.dtype) * ops.log(y_pred + _EPS), -1)


def _hinge_labels(y_true: Tensor) -> Tensor:
    """Keras' convert_binary_labels_to_hinge: labels that are all 0 or 1 become -1 or 1 (decided per batch)."""
    binary = ops.reduce_all(ops.logical_or(ops.equal(y_true, 0.0), ops.equal(y_true, 1.0)))
    return ops.where(binary, 2.0 * y_true - 1.0, y_true)


class Hinge(Loss):
    __init__ = _plain("hinge")

    def per_sample(self, y_true, y_pred):
        y_true = _hinge_labels(ops.cast(y_true, y_pred.dtype))
        return ops.reduce_mean(ops.maximum(1.0 - y_true * y_pred, 0.0), -1)


class SquaredHinge(Loss):
    __init__ = _plain("squared_hinge")

    def per_sample(self, y_true, y_pred):
        y_true = _hinge_labels(ops.cast(y_true, y_pred.dtype))
        return ops.reduce_mean(ops.square(ops.maximum(1.0 - y_true * y_pred, 0.0)), -1)


class CategoricalHinge(Loss):
    __init__ = _plain("categorical_hinge")

    def per_sample(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        pos = ops.reduce_sum(y_true * y_pred, -1)
        neg = ops.reduce_max((1.0 - y_true) * y_pred, -1)
        return ops.maximum(neg - pos + 1.0, 0.0)


class CosineSimilarity(Loss):
    def __init__(self, axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str | None = "cosine_similarity", dtype: Any = None) -> None:
        super().__init__(name, reduction, dtype)
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
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    return CategoricalCrossentropy(from_logits, label_smoothing, axis).per_sample(y_true, y_pred)


def sparse_categorical_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> Tensor:
    return SparseCategoricalCrossentropy(from_logits, ignore_class, axis=axis).per_sample(y_true, y_pred)


def binary_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    return BinaryCrossentropy(from_logits, label_smoothing, axis).per_sample(y_true, y_pred)


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
    return {"class": type(loss).__name__, **{arg: getattr(loss, arg) for arg in _arguments(type(loss))}}


def _arguments(cls: type) -> list[str]:
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


def deserialize(config: dict) -> Loss:
    cls = {c.__name__: c for c in _BUILT_IN}[config["class"]]
    args = {k: v for k, v in config.items() if k != "class"}
    # Files written before the losses took Keras 3's signatures record from_logits=False for every loss.
    if "from_logits" not in _arguments(cls) and args.get("from_logits") is False:
        del args["from_logits"]
    return cls(**args)


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
