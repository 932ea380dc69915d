"""``tf.layers`` (TF1): the layer classes (Keras' layers with TF1's defaults and collections) and the
functions that build one and apply it at once.

    >>> import static_api as tf
    >>> x = tf.placeholder(tf.float32, (None, 8, 8, 1))
    >>> h = tf.layers.conv2d(x, 4, 3, padding="same", activation=tf.nn.relu)
    >>> tuple(tf.layers.dense(tf.layers.flatten(h), 10).shape)
    (None, 10)

Batch normalization puts its moving-average updates in ``tf.GraphKeys.UPDATE_OPS``, which TF1 training
code runs through ``tf.control_dependencies``.
"""
from __future__ import annotations

from typing import Any

from core import errors as _errors
from static_api.graph import Tensor
from static_api.keras import layers as K
from static_api.variables import REGULARIZATION_LOSSES

UPDATE_OPS = "update_ops"


def _init(spec: Any, default: str) -> Any:
    return default if spec is None else spec


def _new(items: list, before: list) -> list:
    """The items of ``items`` not in ``before`` (by identity): what one call of a layer added."""
    seen = set(map(id, before))
    return [item for item in items if id(item) not in seen]


class _TF1Layer:
    """What ``tf.layers`` adds to the Keras layer of the same name: each call puts the penalties it made in
    ``GraphKeys.REGULARIZATION_LOSSES`` and the updates it made (batch norm's moving averages) in
    ``GraphKeys.UPDATE_OPS``, and ``training`` defaults to False (inference) instead of Keras' learning
    phase."""

    def __call__(self, inputs: Tensor, training: Any = False) -> Tensor:
        losses, updates = list(self.losses), list(self.updates)
        out = super().__call__(inputs, training=training)
        for penalty in _new(self.losses, losses):
            out.graph.add_to_collection(REGULARIZATION_LOSSES, penalty)
        for update in _new(self.updates, updates):
            out.graph.add_to_collection(UPDATE_OPS, update)
        return out

    def apply(self, inputs: Tensor, training: Any = False) -> Tensor:
        """TF1's spelling of a layer call."""
        return self(inputs, training=training)


def _supported(layer: str, trainable: bool = True, reuse: Any = None) -> None:
    """TF1 arguments dualflow does not implement, loud when set: a frozen layer's variables would still be in
    ``TRAINABLE_VARIABLES`` (an optimizer would train them), and ``reuse`` shares variables by scope name."""
    if not trainable:
        raise NotImplementedError(f"tf.layers.{layer}: trainable=False is not supported in dualflow")
    if reuse:
        raise NotImplementedError(f"tf.layers.{layer}: reuse={reuse!r} is not supported in dualflow (call one "
                                  "layer object on each input to share its variables)")


def _channels_last(layer: str, data_format: str) -> None:
    if data_format != "channels_last":
        raise NotImplementedError(f"tf.layers.{layer}: data_format={data_format!r} is not supported in dualflow, "
                                  "only 'channels_last'")


class Dense(_TF1Layer, K.Dense):
    """``tf.layers.Dense``: Keras' Dense with TF1's defaults (glorot-uniform kernel, zero bias)."""

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True, kernel_initializer: Any = None,
                 bias_initializer: Any = None, kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, trainable: bool = True,
                 name: str | None = None) -> None:
        _supported(type(self).__name__, trainable)
        super().__init__(units, activation, use_bias, _init(kernel_initializer, "glorot_uniform"),
                         _init(bias_initializer, "zeros"), kernel_regularizer, bias_regularizer,
                         activity_regularizer=activity_regularizer, name=name)


class Conv2D(_TF1Layer, K.Conv2D):
    """``tf.layers.Conv2D``: NHWC inputs, HWIO kernel."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 data_format: str = "channels_last", dilation_rate: Any = (1, 1), activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = None,
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 trainable: bool = True, name: str | None = None) -> None:
        _supported(type(self).__name__, trainable)
        super().__init__(filters, kernel_size, strides, padding, activation, use_bias, dilation_rate,
                         _init(kernel_initializer, "glorot_uniform"), _init(bias_initializer, "zeros"),
                         data_format, kernel_regularizer, bias_regularizer,
                         activity_regularizer=activity_regularizer, name=name)


class Conv1D(_TF1Layer, K.Conv1D):
    """``tf.layers.Conv1D``: (batch, steps, channels) inputs, kernel (width, in, filters)."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str = "channels_last", dilation_rate: Any = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = None,
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 trainable: bool = True, name: str | None = None) -> None:
        _supported(type(self).__name__, trainable)
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1, activation, use_bias,
                         _init(kernel_initializer, "glorot_uniform"), _init(bias_initializer, "zeros"),
                         kernel_regularizer, bias_regularizer, activity_regularizer=activity_regularizer, name=name)


class Conv2DTranspose(_TF1Layer, K.Conv2DTranspose):
    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 data_format: str = "channels_last", activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = None, bias_initializer: Any = None, kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, trainable: bool = True,
                 name: str | None = None) -> None:
        _supported(type(self).__name__, trainable)
        super().__init__(filters, kernel_size, strides, padding, None, data_format, (1, 1), activation, use_bias,
                         _init(kernel_initializer, "glorot_uniform"), _init(bias_initializer, "zeros"),
                         kernel_regularizer, bias_regularizer, activity_regularizer=activity_regularizer, name=name)


class _TF1Pooling(_TF1Layer):
    """TF1's pooling layers: ``strides`` has no default, and inputs are channels-last."""

    def __init__(self, pool_size: Any, strides: Any, padding: str = "valid", data_format: str = "channels_last",
                 name: str | None = None) -> None:
        _channels_last(type(self).__name__, data_format)
        super().__init__(pool_size, strides, padding, name=name)


class MaxPooling2D(_TF1Pooling, K.MaxPooling2D):
    pass


class AveragePooling2D(_TF1Pooling, K.AveragePooling2D):
    pass


class MaxPooling1D(_TF1Pooling, K.MaxPooling1D):
    pass


class AveragePooling1D(_TF1Pooling, K.AveragePooling1D):
    pass


class Flatten(_TF1Layer, K.Flatten):
    def __init__(self, data_format: str = "channels_last", name: str | None = None) -> None:
        _channels_last("Flatten", data_format)
        super().__init__(name=name)


class Dropout(_TF1Layer, K.Dropout):
    """``tf.layers.Dropout``: drops only where ``training`` (a bool or a bool tensor) is true; TF1's default
    call is inference."""

    def __init__(self, rate: float = 0.5, noise_shape: Any = None, seed: int | None = None,
                 name: str | None = None) -> None:
        if noise_shape is not None:
            raise NotImplementedError("tf.layers.Dropout: noise_shape is not supported in dualflow "
                                      "(tf.nn.dropout takes one)")
        super().__init__(rate, seed, name=name)


class BatchNormalization(_TF1Layer, K.BatchNormalization):
    """TF1's layer: fused where it can be (4D inputs over axis 1 or 3; ``fused=True`` insists, ``False``
    declines), and then, as TF1's fused kernel, the moving variance averages the unbiased batch variance and
    epsilon is at least 1.001e-5; the moving averages step as TF1's ``avg -= (avg - batch) * (1 - momentum)``
    and their assignments go to ``GraphKeys.UPDATE_OPS``."""

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, fused: bool | None = None, trainable: bool = True,
                 name: str | None = None) -> None:
        _supported(type(self).__name__, trainable)
        super().__init__(axis, momentum, epsilon, center, scale, name=name)
        self._tf1, self._tf1_fused = True, fused


def dense(inputs: Tensor, units: int, activation: Any = None, use_bias: bool = True, kernel_initializer: Any = None,
          bias_initializer: Any = None, kernel_regularizer: Any = None, bias_regularizer: Any = None,
          activity_regularizer: Any = None, trainable: bool = True, name: str | None = None, reuse: Any = None
          ) -> Tensor:
    _supported("dense", trainable, reuse)
    return Dense(units, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                 bias_regularizer, activity_regularizer, name=name)(inputs)


def conv2d(inputs: Tensor, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
           data_format: str = "channels_last", dilation_rate: Any = (1, 1), activation: Any = None,
           use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = None,
           kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
           trainable: bool = True, name: str | None = None, reuse: Any = None) -> Tensor:
    _supported("conv2d", trainable, reuse)
    return Conv2D(filters, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                  kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer, activity_regularizer,
                  name=name)(inputs)


def conv1d(inputs: Tensor, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
           data_format: str = "channels_last", dilation_rate: Any = 1, activation: Any = None,
           use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = None,
           kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
           trainable: bool = True, name: str | None = None, reuse: Any = None) -> Tensor:
    _supported("conv1d", trainable, reuse)
    return Conv1D(filters, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                  kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer, activity_regularizer,
                  name=name)(inputs)


def conv2d_transpose(inputs: Tensor, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                     data_format: str = "channels_last", activation: Any = None, use_bias: bool = True,
                     kernel_initializer: Any = None, bias_initializer: Any = None, kernel_regularizer: Any = None,
                     bias_regularizer: Any = None, activity_regularizer: Any = None, trainable: bool = True,
                     name: str | None = None, reuse: Any = None) -> Tensor:
    _supported("conv2d_transpose", trainable, reuse)
    return Conv2DTranspose(filters, kernel_size, strides, padding, data_format, activation, use_bias,
                           kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                           activity_regularizer, name=name)(inputs)


def _pooling(layer: type) -> Any:
    """The function form of a pooling layer class: build it and apply it at once."""
    def pool(inputs: Tensor, pool_size: Any, strides: Any, padding: str = "valid",
             data_format: str = "channels_last", name: str | None = None) -> Tensor:
        return layer(pool_size, strides, padding, data_format, name)(inputs)
    pool.__doc__ = f"``tf.layers.{layer.__name__}(pool_size, strides, ...)(inputs)``."
    return pool


max_pooling2d, average_pooling2d = _pooling(MaxPooling2D), _pooling(AveragePooling2D)
max_pooling1d, average_pooling1d = _pooling(MaxPooling1D), _pooling(AveragePooling1D)


def flatten(inputs: Tensor, name: str | None = None, data_format: str = "channels_last") -> Tensor:
    return Flatten(data_format, name)(inputs)


def dropout(inputs: Tensor, rate: float = 0.5, noise_shape: Any = None, seed: int | None = None,
            training: Any = False, name: str | None = None) -> Tensor:
    """Drops only where ``training`` (a bool or a bool tensor) is true, as TF1: the default is inference."""
    return Dropout(rate, noise_shape, seed, name)(inputs, training=training)


def batch_normalization(inputs: Tensor, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                        center: bool = True, scale: bool = True, training: Any = False, trainable: bool = True,
                        name: str | None = None, reuse: Any = None, fused: bool | None = None) -> Tensor:
    """``BatchNormalization(...)(inputs, training)``; the moving-average updates go to
    ``GraphKeys.UPDATE_OPS``, which TF1 training code runs through ``tf.control_dependencies``."""
    _supported("batch_normalization", trainable, reuse)
    return BatchNormalization(axis, momentum, epsilon, center, scale, fused, name=name)(inputs, training=training)


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
