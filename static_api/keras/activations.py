"""``tf.keras.activations`` as Keras 3 on TensorFlow computes them, over ``static_api.nn``.

``softmax`` and ``sigmoid`` remember their input on their output (``_keras_logits``), as Keras 3's do: the
cross-entropies take the loss from those logits (see ``losses.Loss._logits``), while a raw ``tf.nn.softmax`` is
recognised only by its op type, as Keras' TensorFlow backend recognises it.
"""
from __future__ import annotations

from typing import Any, Callable

from core import errors as _errors
from static_api import nn, ops
from static_api.graph import Tensor


def _remember_logits(out: Tensor, x: Tensor) -> Tensor:
    out._keras_logits = x
    return out


def softmax(x: Any, axis: Any = -1) -> Tensor:
    """softmax over ``axis`` (several axes: exp(x - logsumexp(x)), as Keras 3)."""
    x = ops.convert_to_tensor(x)
    if isinstance(axis, (list, tuple)) and len(axis) > 1:
        out = ops.exp(x - ops.reduce_logsumexp(x, list(axis), keepdims=True))
    else:
        out = nn.softmax(x, axis[0] if isinstance(axis, (list, tuple)) else axis)
    return _remember_logits(out, x)


def sigmoid(x: Any) -> Tensor:
    x = ops.convert_to_tensor(x)
    return _remember_logits(nn.sigmoid(x), x)


def relu(x: Any, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0) -> Tensor:
    """Keras 3's relu, in its order of operations: x above ``threshold`` (else 0), clipped at ``max_value``,
    minus ``negative_slope`` * relu(threshold - x)."""
    x = ops.convert_to_tensor(x)
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return nn.relu(x)
    if negative_slope != 0.0:
        if max_value is None and threshold == 0.0:
            return nn.leaky_relu(x, negative_slope)
        negative_part = nn.relu(-x + threshold) if threshold != 0.0 else nn.relu(-x)
    clip_max = max_value is not None
    if threshold != 0.0:
        x = x * ops.cast(ops.greater(x, ops.cast(threshold, x.dtype)), x.dtype)
    elif max_value == 6:
        x, clip_max = nn.relu6(x), False
    else:
        x = nn.relu(x)
    if clip_max:
        x = ops.clip_by_value(x, ops.cast(0.0, x.dtype), ops.cast(max_value, x.dtype))
    if negative_slope != 0.0:
        x = x - negative_slope * negative_part
    return x


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    return nn.leaky_relu(ops.convert_to_tensor(x), negative_slope)


def relu6(x: Any) -> Tensor:
    return nn.relu6(x)


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """TF's elu, its negative side scaled by ``alpha`` (Keras 3's TF backend: where(x > 0, elu, alpha * elu))."""
    x = ops.convert_to_tensor(x)
    out = nn.elu(x)
    return out if alpha == 1.0 else ops.where(ops.greater(x, ops.cast(0.0, x.dtype)), out, alpha * out)


def selu(x: Any) -> Tensor:
    return nn.selu(x)


def softplus(x: Any) -> Tensor:
    return nn.softplus(x)


def softsign(x: Any) -> Tensor:
    return nn.softsign(x)


def silu(x: Any) -> Tensor:
    return nn.swish(x)


swish = silu        # Keras 3's alias (and it saves swish as silu)


def gelu(x: Any, approximate: bool = False) -> Tensor:
    return nn.gelu(x, approximate=approximate)


def tanh(x: Any) -> Tensor:
    return nn.tanh(x)


def exponential(x: Any) -> Tensor:
    return ops.exp(x)


def hard_sigmoid(x: Any) -> Tensor:
    return nn.hard_sigmoid(x)


def hard_silu(x: Any) -> Tensor:
    """x * hard_sigmoid(x), Keras 3's."""
    x = ops.convert_to_tensor(x)
    return x * nn.hard_sigmoid(x)


hard_swish = hard_silu


def mish(x: Any) -> Tensor:
    """x * tanh(softplus(x)), Keras 3's."""
    x = ops.convert_to_tensor(x)
    return x * nn.tanh(nn.softplus(x))


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    return nn.log_softmax(x, axis)


def linear(x: Any) -> Any:
    return x


_BY_NAME: dict[str, Callable] = {
    "softmax": softmax, "sigmoid": sigmoid, "relu": relu, "leaky_relu": leaky_relu, "relu6": relu6, "elu": elu,
    "selu": selu, "softplus": softplus, "softsign": softsign, "silu": silu, "swish": silu, "gelu": gelu,
    "tanh": tanh, "exponential": exponential, "hard_sigmoid": hard_sigmoid, "hard_silu": hard_silu,
    "hard_swish": hard_silu, "mish": mish, "log_softmax": log_softmax, "linear": linear}


def get(identifier: Any) -> Callable:
    """An activation by name (None is ``linear``), a config dict's, or a callable as it is (Keras' ``get``)."""
    if identifier is None:
        return linear
    if isinstance(identifier, (dict, str)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier}")


def serialize(activation: Callable) -> str:
    """The name Keras 3 saves a built-in activation under (``swish`` is saved as ``silu``)."""
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    raise ValueError(f"keras.activations.serialize: {activation!r} is not a built-in activation; only "
                     f"{sorted(_BY_NAME)}")


def deserialize(config: Any, custom_objects: dict | None = None) -> Callable:
    name = config.get("config", config.get("class_name")) if isinstance(config, dict) else config
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name not in _BY_NAME:
        raise ValueError(f"Unknown activation function '{name}'. Please ensure you are using a "
                         "`keras.utils.custom_object_scope` and that this object is included in the scope.")
    return _BY_NAME[name]


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
