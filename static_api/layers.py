"""``tf.layers`` (TF1): functions that build a Keras layer and apply it at once.

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
from static_api.graph import Tensor, get_default_graph
from static_api.keras import layers as K
from static_api.variables import REGULARIZATION_LOSSES

UPDATE_OPS = "update_ops"


def _init(spec: Any, default: str) -> Any:
    return default if spec is None else spec


def _regularized(layer: K.Layer, inputs: Tensor) -> Tensor:
    """Apply ``layer``; its penalties go to ``GraphKeys.REGULARIZATION_LOSSES``, as TF1's tf.layers do."""
    out = layer(inputs)
    graph = get_default_graph()
    for penalty in layer.losses:
        graph.add_to_collection(REGULARIZATION_LOSSES, penalty)
    return out


def dense(inputs: Tensor, units: int, activation: Any = None, use_bias: bool = True, kernel_initializer: Any = None,
          bias_initializer: Any = None, kernel_regularizer: Any = None, bias_regularizer: Any = None,
          activity_regularizer: Any = None, name: str | None = None) -> Tensor:
    return _regularized(K.Dense(units, activation, use_bias, _init(kernel_initializer, "glorot_uniform"),
                                _init(bias_initializer, "zeros"), kernel_regularizer, bias_regularizer,
                                activity_regularizer=activity_regularizer, name=name), inputs)


def conv2d(inputs: Tensor, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
           data_format: str = "channels_last", dilation_rate: Any = (1, 1), activation: Any = None,
           use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = None,
           kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
           name: str | None = None) -> Tensor:
    return _regularized(K.Conv2D(filters, kernel_size, strides, padding, activation, use_bias, dilation_rate,
                                 _init(kernel_initializer, "glorot_uniform"), _init(bias_initializer, "zeros"),
                                 data_format, kernel_regularizer, bias_regularizer,
                                 activity_regularizer=activity_regularizer, name=name), inputs)


def conv2d_transpose(inputs: Tensor, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                     data_format: str = "channels_last", activation: Any = None, use_bias: bool = True,
                     kernel_initializer: Any = None, bias_initializer: Any = None, kernel_regularizer: Any = None,
                     bias_regularizer: Any = None, activity_regularizer: Any = None, name: str | None = None) -> Tensor:
    return _regularized(K.Conv2DTranspose(filters, kernel_size, strides, padding, None, data_format, (1, 1),
                                          activation, use_bias, _init(kernel_initializer, "glorot_uniform"),
                                          _init(bias_initializer, "zeros"), kernel_regularizer, bias_regularizer,
                                          activity_regularizer=activity_regularizer, name=name), inputs)


def max_pooling2d(inputs: Tensor, pool_size: Any, strides: Any, padding: str = "valid", name: str | None = None
                  ) -> Tensor:
    return K.MaxPooling2D(pool_size, strides, padding, name=name)(inputs)


def average_pooling2d(inputs: Tensor, pool_size: Any, strides: Any, padding: str = "valid",
                      name: str | None = None) -> Tensor:
    return K.AveragePooling2D(pool_size, strides, padding, name=name)(inputs)


def flatten(inputs: Tensor, name: str | None = None) -> Tensor:
    return K.Flatten(name=name)(inputs)


def dropout(inputs: Tensor, rate: float = 0.5, training: Any = False, seed: int | None = None,
            name: str | None = None) -> Tensor:
    """Drops only where ``training`` (a bool or a bool tensor) is true, as TF1: the default is inference."""
    return K.Dropout(rate, seed, name=name)(inputs, training=training)


def batch_normalization(inputs: Tensor, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                        center: bool = True, scale: bool = True, training: Any = False,
                        name: str | None = None, fused: bool | None = None) -> Tensor:
    """TF1's layer: fused where it can be (4D inputs over axis 1 or 3; ``fused=True`` insists, ``False``
    declines), and then, as TF1's fused kernel, the moving variance averages the unbiased batch variance and
    epsilon is at least 1.001e-5; the moving averages step as TF1's ``avg -= (avg - batch) * (1 - momentum)``."""
    layer = K.BatchNormalization(axis, momentum, epsilon, center, scale, name=name)
    layer._tf1, layer._tf1_fused = True, fused
    out = layer(inputs, training=training)
    graph = get_default_graph()
    for update in layer.updates:
        graph.add_to_collection(UPDATE_OPS, update)
    return out


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
