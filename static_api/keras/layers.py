"""``tf.keras.layers`` over the static graph: calling a layer on a symbolic tensor adds its ops.

Layers create their variables on first call (``build``), name themselves as Keras does (``conv2d``,
``conv2d_1``, ...) and run channels-last, as TensorFlow's defaults.
"""
from __future__ import annotations

import re
import warnings
from typing import Any, Sequence

import numpy

import core
from core import errors as _errors
from static_api import dtypes, functional_ops, nn, ops, rnn
from static_api.graph import Graph, Tensor, get_default_graph
from static_api.keras import backend as K
from static_api.keras import activations, losses, regularizers
from static_api.variables import (Variable, glorot_uniform_initializer, ones_initializer, orthogonal_initializer,
                                  random_normal, random_uniform_initializer, zeros_initializer)

# Graph collections holding the Keras state of a graph.
LAYER_NAMES, LEARNING_PHASE = "keras_layer_names", "keras_learning_phase"
CALL_TRAINING = "keras_call_training"     # the switches of layer calls given ``training=`` (see Layer.__call__)

# Keras' own activations (softmax and sigmoid remember their logits for the cross-entropies); Keras 3 saves
# swish as silu, the first name found here
_ACTIVATIONS = {None: None, "linear": None, **{name: getattr(activations, name) for name in (
    "relu", "sigmoid", "tanh", "softmax", "relu6", "elu", "selu", "softplus", "silu", "swish", "exponential", "gelu",
    "hard_sigmoid", "leaky_relu", "softsign", "mish", "hard_silu", "hard_swish", "log_softmax")}}


def _activation(name: Any) -> Any:
    if callable(name):
        return name
    if name not in _ACTIVATIONS:
        raise ValueError(f"Unknown activation: {name!r}; expected one of {sorted(k for k in _ACTIVATIONS if k)}")
    return _ACTIVATIONS[name]


def _activation_name(fn: Any) -> str | None:
    for name, f in _ACTIVATIONS.items():
        if f is fn:
            return name
    raise NotImplementedError(f"cannot save a custom activation {fn!r}: only {sorted(k for k in _ACTIVATIONS if k)}")


def _initializer(spec: Any) -> Any:
    # Keras' "uniform" is RandomUniform(-0.05, 0.05) (Embedding's default).
    table = {"glorot_uniform": glorot_uniform_initializer, "zeros": zeros_initializer, "ones": ones_initializer,
             "orthogonal": orthogonal_initializer,
             "uniform": lambda: random_uniform_initializer(-0.05, 0.05),
             "random_uniform": lambda: random_uniform_initializer(-0.05, 0.05)}
    if isinstance(spec, str):
        if spec not in table:
            raise ValueError(f"Unknown initializer: {spec!r}; expected one of {sorted(table)}")
        return table[spec]()
    return spec


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _single(v: Any) -> tuple[int]:
    return (v,) if isinstance(v, int) else tuple(v)


class LayerCall:
    """One call of a layer (Keras' node): the tensors it read and the tensor it made.  The output carries it
    as ``_keras_history``, so a model finds its layers from the calls, whatever the graph looks like."""

    __slots__ = ("layer", "inputs", "output")

    def __init__(self, layer: "Layer", inputs: list, output: Tensor) -> None:
        self.layer, self.inputs, self.output = layer, inputs, output
        output._keras_history = self


def learning_phase(graph: Graph) -> Tensor:
    """The graph's scalar bool 'training' switch: False unless fed (fit feeds True)."""
    found = graph.get_collection(LEARNING_PHASE)
    if found:
        return found[0]
    with graph.as_default():
        lp = ops.placeholder_with_default(numpy.array(False), (), name="keras_learning_phase")
    graph.add_to_collection(LEARNING_PHASE, lp)
    return lp


class Layer:
    """Base layer: ``build(input_shape)`` makes variables once, ``call(x, training)`` makes ops."""

    def __init__(self, name: str | None = None, input_shape: Sequence[int] | None = None, dtype: Any = None,
                 activity_regularizer: Any = None, trainable: bool = True, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unsupported argument(s) {sorted(kwargs)}")
        self.name = name
        self.trainable = trainable
        self._dtype = dtypes.keras_policy(K.floatx() if dtype is None else dtype)     # Keras 3: floatx by default
        self.input_shape_arg = tuple(input_shape) if input_shape is not None else None
        self.built = False
        self.weights: list[Variable] = []
        self._fixed: list[Variable] = []      # the weights made non-trainable (a batch norm's moving statistics)
        self.output: Tensor | None = None
        self.updates: list = []
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._activity_losses: list = []
        self._weight_regularizers: list = []      # (variable, regularizer)
        self._weight_losses: list = []

    @property
    def losses(self) -> list:
        """The layer's regularization penalties (scalar tensors): activity ones, then weight ones, as Keras."""
        return self._activity_losses + self._weight_losses

    @property
    def dtype(self) -> str:
        """The dtype of the layer's weights and of its computation (Keras' dtype policy, by name)."""
        return self._dtype.name

    compute_dtype = dtype

    @property
    def trainable(self) -> bool:
        """Whether training updates the layer's weights.  False freezes them all (and runs a
        BatchNormalization in inference mode); as in Keras, ``compile`` takes the setting, so a change after
        it counts from the next ``compile``."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)

    @property
    def trainable_weights(self) -> list[Variable]:
        return self._made_trainable(True) if self._trainable else []

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return self._made_trainable(False) if self._trainable else list(self.weights)

    def _made_trainable(self, trainable: bool) -> list[Variable]:
        """The weights made trainable (or not), in creation order."""
        fixed = set(map(id, self._fixed))
        return [w for w in self.weights if (id(w) not in fixed) == trainable]

    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer (initializers are left out: a saved model's
        weights are loaded over them)."""
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}

    def count_params(self) -> int:
        return int(sum(numpy.prod(w.shape) for w in self.weights))

    def get_weights(self) -> list[numpy.ndarray]:
        """The weights' current values (from the graph's Keras session, which every model holding this
        layer shares)."""
        return K.batch_get_value(self.weights)

    def set_weights(self, values: Sequence[Any]) -> None:
        K.set_weights(self.name, self.weights, values)

    def weight_layouts(self) -> list:
        """Each weight's layout for cross-frontend conversion (see ``core.interop``)."""
        return [("plain", None)] * len(self.weights)

    # keras.models.load_model sets this to a callable (name, shape) -> the saved value: a rebuilt layer takes
    # its weights from the file, shape-checked before anything is allocated, instead of initializing them.
    _weight_source: Any = None

    def _add_weight(self, suffix: str, shape: Sequence[int], init: Any, trainable: bool = True,
                    regularizer: Any = None) -> Variable:
        name, shape = f"{self.name}/{suffix}", tuple(shape)
        value = init(shape, self._dtype) if self._weight_source is None else self._weight_source(name, shape)
        v = Variable(value, name=name, trainable=trainable)
        self.weights.append(v)
        if not trainable:
            self._fixed.append(v)
        if regularizer is not None:
            self._weight_losses.append(regularizer(v))
        return v

    def build(self, input_shape: tuple) -> None:
        """Create variables for inputs of ``input_shape`` (first call only)."""

    def call(self, x: Tensor, training: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.call")

    takes_list = False      # merge layers take a list of tensors
    autocast = True         # float inputs are cast to the layer's dtype (Embedding takes indices as they are)
    # Keras' masking (from Embedding(mask_zero=True)): a layer that supports it hands the mask of its first
    # input on to its output (``compute_mask``); any other layer drops it with Keras' warning.
    supports_masking = False
    uses_mask = False       # call(x, training, mask=...) gets the input's mask (None without one)

    def compute_mask(self, x: Any, mask: Tensor | None) -> Tensor | None:
        """The mask of this layer's output, given its input's (``x._keras_mask``)."""
        return mask if self.supports_masking else None

    def __call__(self, x: Any, training: Any = None) -> Tensor:
        """Add the layer's ops; ``training`` (a bool or bool tensor) overrides the graph's learning phase."""
        xs = list(x) if self.takes_list and isinstance(x, (list, tuple)) else [x]
        if not all(isinstance(t, Tensor) for t in xs) or (self.takes_list and len(xs) < 2):
            raise TypeError(f"{self.name or type(self).__name__}: expected "
                            f"{'a list of two or more symbolic tensors' if self.takes_list else 'a symbolic tensor'}"
                            f" (from keras.Input or another layer), got {x!r}")
        graph = xs[0].graph
        if self.name is None:
            self.name = _unique_layer_name(graph, type(self).__name__)
        if not self.built:
            with graph.as_default():
                self.build([tuple(t.shape) for t in xs] if self.takes_list else tuple(x.shape))
            self.built = True
        mask = getattr(xs[0], "_keras_mask", None)
        if mask is not None and not self.supports_masking:
            warnings.warn(f"Layer '{self.name}' (of type {type(self).__name__}) was passed an input with a mask "
                          "attached to it. However, this layer does not support masking and will therefore destroy "
                          "the mask information. Downstream layers will not see the mask.", stacklevel=2)
        with graph.as_default():
            # Keras autocasts float inputs to the layer's compute dtype.
            cast = [ops.cast(t, self._dtype) if t.dtype.kind == "f" and self.autocast else t for t in xs]
            if training is None:
                phase = learning_phase(graph)
            else:
                # A Keras 3 model runs every layer in its own mode (training in fit, inference in evaluate and
                # predict) whatever the call said; the value given here holds where no model runs the graph.
                # Models feed these switches (``CALL_TRAINING``).
                phase = ops.placeholder_with_default(ops._t(training, dtype=numpy.bool_), (),
                                                     name=f"{self.name}/training")
                graph.add_to_collection(CALL_TRAINING, phase)
            if self.uses_mask:      # the layer computes with its input's mask (Keras' call(inputs, mask=...))
                out = self.call(cast if self.takes_list else cast[0], phase, mask=mask)
            else:
                out = self.call(cast if self.takes_list else cast[0], phase)
            if any(out is t for t in xs) or hasattr(out, "_keras_history"):
                out = ops.identity(out)     # each call makes its own tensor, as a Keras layer call does
            if self.activity_regularizer is not None:
                # Keras divides the output's penalty by the batch size (known only when the graph runs).
                per_sample = ops.reduce_sum(out, axis=list(range(1, len(out.shape)))) if len(out.shape) > 1 else out
                batch = ops.reduce_sum(ops.ones_like(per_sample))
                self._activity_losses.append(ops.divide(self.activity_regularizer(out), batch))
            out_mask = self.compute_mask(x, mask)
        if out_mask is not None:
            out._keras_mask = out_mask
        LayerCall(self, xs, out)
        self.input, self.output = x, out
        return out

    @property
    def output_shape(self) -> tuple:
        return tuple(self.output.shape)


def _unique_layer_name(graph: Graph, cls_name: str) -> str:
    # Keras' to_snake_case: ReLU -> re_lu, MaxPooling2D -> max_pooling2d, LeakyReLU -> leaky_re_lu.
    base = re.sub("([a-z])([A-Z])", r"\1_\2", re.sub("(.)([A-Z][a-z]+)", r"\1_\2", cls_name)).lower()
    n = graph.get_collection(LAYER_NAMES).count(base)
    graph.add_to_collection(LAYER_NAMES, base)
    return base if n == 0 else f"{base}_{n}"


class InputLayer(Layer):
    def __init__(self, placeholder: Tensor, name: str) -> None:
        super().__init__(name=name)
        self._dtype = placeholder.dtype
        self.output = placeholder
        self.built = True


def Input(shape: Sequence[int], batch_size: int | None = None, name: str | None = None,
          dtype: Any = None) -> Tensor:
    """A symbolic input of shape ``(batch_size, *shape)`` (a placeholder of the default graph), of
    ``backend.floatx()`` unless ``dtype`` says otherwise."""
    graph = get_default_graph()
    dtype = K.floatx() if dtype is None else dtype
    name = name or _unique_layer_name(graph, "InputLayer")    # Keras 3: input_layer, input_layer_1, ...
    ph = ops.placeholder(dtypes.keras_dtype(dtype), (batch_size,) + tuple(shape), name=name)
    LayerCall(InputLayer(ph, name), [], ph)
    return ph


def _channels_last(data_format: str | None, layer: str) -> None:
    if data_format not in (None, "channels_last"):
        raise NotImplementedError(f"{layer}: only data_format='channels_last' is supported in keras layers")


class Dense(Layer):
    supports_masking = True

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units, self.activation, self.use_bias = int(units), _activation(activation), use_bias
        self.kernel_initializer, self.bias_initializer = _initializer(kernel_initializer), _initializer(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "activation": _activation_name(self.activation),
                "use_bias": self.use_bias}

    def build(self, input_shape):
        if len(input_shape) < 2 or None in input_shape[1:]:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected an input of "
                             f"rank 2 or more with known non-batch dimensions, found shape {input_shape}")
        self.kernel = self._add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer,
                                       regularizer=self.kernel_regularizer)
        self.bias = self._add_weight("bias", (self.units,), self.bias_initializer,
                                     regularizer=self.bias_regularizer) if self.use_bias else None

    def weight_layouts(self):
        # A Dense right after Flatten of a feature map reads its features in (h, w, c) order.
        src = self.input.op.node.inputs[0] if self.input.op.type == "Reshape" else None
        hwc = tuple(src.shape[1:]) if src is not None and len(src.shape) == 4 else None
        return [("dense", hwc)] + [("plain", None)] * (len(self.weights) - 1)

    def call(self, x, training):
        if x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected axis -1 of "
                             f"input shape to have value {self.kernel.shape[0]}, but received input with shape "
                             f"{tuple(x.shape)}")
        if len(x.shape) > 2:        # Keras applies the kernel along the last axis of each position
            y = ops.reshape(ops.matmul(ops.reshape(x, (-1, x.shape[-1])), self.kernel),
                            (-1,) + tuple(x.shape[1:-1]) + (self.units,))
        else:
            y = ops.matmul(x, self.kernel)
        if self.bias is not None:
            y = nn.bias_add(y, self.bias)
        return self.activation(y) if self.activation else y


class Conv2D(Layer):
    rank, _axes = 2, "(batch, height, width, channels)"      # the spatial axes (Conv1D: 1, steps)

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 activation: Any = None, use_bias: bool = True, dilation_rate: Any = (1, 1),
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 data_format: str | None = None, kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 groups: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _channels_last(data_format, type(self).__name__)
        if filters % groups:
            raise ValueError(f"The number of filters must be evenly divisible by the number of groups. Received: "
                             f"groups={groups}, filters={filters}")
        self.groups = int(groups)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        each = _pair if self.rank == 2 else _single
        self.filters, self.kernel_size, self.strides = int(filters), each(kernel_size), each(strides)
        self.padding, self.dilation_rate = padding.upper(), each(dilation_rate)
        self.activation, self.use_bias = _activation(activation), use_bias
        self.kernel_initializer, self.bias_initializer = _initializer(kernel_initializer), _initializer(bias_initializer)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding.lower(),
                "activation": _activation_name(self.activation), "use_bias": self.use_bias,
                "dilation_rate": list(self.dilation_rate), "groups": self.groups}

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2 or input_shape[-1] is None:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected "
                             f"ndim={self.rank + 2} {self._axes}, found shape {input_shape}")
        if input_shape[-1] % self.groups:
            raise ValueError(f"The number of input channels must be evenly divisible by the number of groups. "
                             f"Received groups={self.groups}, but the input has {input_shape[-1]} channels "
                             f"(full input shape is {input_shape}).")
        self.kernel = self._add_weight("kernel", self.kernel_size + (input_shape[-1] // self.groups, self.filters),
                                       self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.bias = self._add_weight("bias", (self.filters,), self.bias_initializer,
                                     regularizer=self.bias_regularizer) if self.use_bias else None

    def weight_layouts(self):
        return [("conv", None)] + [("plain", None)] * (len(self.weights) - 1)

    def call(self, x, training):
        y = nn.conv2d(x, self.kernel, self.strides, self.padding, dilations=self.dilation_rate)
        if self.bias is not None:
            y = nn.bias_add(y, self.bias)
        return self.activation(y) if self.activation else y


class Conv2DTranspose(Conv2D):
    """Keras 3's transposed convolution: kernel (kH, kW, filters, in), each output size Keras'
    ``deconv_output_length`` (input * stride for 'same', + max(kernel - stride, 0) for 'valid', or from
    ``output_padding``), computed as ``tf.nn.conv2d_transpose`` to that size, as its TF backend does.  The
    kernel converts to PyTorch's ConvTranspose2d weight (in, out, kH, kW) as a Conv2D kernel does to Conv2d's."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = (1, 1),
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, activation, use_bias, dilation_rate,
                         kernel_initializer, bias_initializer, data_format, kernel_regularizer, bias_regularizer,
                         **kwargs)
        self.output_padding = None if output_padding is None else _pair(output_padding)
        if self.output_padding is not None and any(
                p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(f"Strides {self.strides} must be greater than output padding {self.output_padding}. "
                             f"Received output_padding={self.output_padding}")

    def get_config(self) -> dict:
        config = {k: v for k, v in super().get_config().items() if k != "groups"}
        return {**config, "output_padding": None if self.output_padding is None else list(self.output_padding)}

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected ndim=4 "
                             f"(batch, height, width, channels), found shape {input_shape}")
        self.kernel = self._add_weight("kernel", self.kernel_size + (self.filters, input_shape[-1]),
                                       self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.bias = self._add_weight("bias", (self.filters,), self.bias_initializer,
                                     regularizer=self.bias_regularizer) if self.use_bias else None

    def _length(self, size: int, axis: int) -> int:
        k = self.kernel_size[axis] + (self.kernel_size[axis] - 1) * (self.dilation_rate[axis] - 1)
        s = self.strides[axis]
        if self.output_padding is None:
            return size * s + (max(k - s, 0) if self.padding == "VALID" else 0)
        pad = k // 2 if self.padding == "SAME" else 0
        return (size - 1) * s + k - 2 * pad + self.output_padding[axis]

    def call(self, x, training):
        h, w = x.shape[1], x.shape[2]
        if h is None or w is None:
            raise NotImplementedError(f"{self.name}: inputs of unknown height or width are not implemented in "
                                      "dualflow")
        shape = [x.shape[0], self._length(h, 0), self._length(w, 1), self.filters]
        y = nn.conv2d_transpose(x, self.kernel, shape, self.strides, self.padding, dilations=self.dilation_rate)
        if self.bias is not None:
            y = nn.bias_add(y, self.bias)
        return self.activation(y) if self.activation else y


class DepthwiseConv2D(Conv2D):
    """Keras 3's depthwise convolution: ``depth_multiplier`` filters per input channel, the kernel (kH, kW, in,
    multiplier), output channel c * multiplier + m (tf.nn.depthwise_conv2d)."""

    def __init__(self, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid", depth_multiplier: int = 1,
                 data_format: str | None = None, dilation_rate: Any = (1, 1), activation: Any = None,
                 use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", depthwise_regularizer: Any = None, bias_regularizer: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(1, kernel_size, strides, padding, activation, use_bias, dilation_rate,
                         depthwise_initializer, bias_initializer, data_format, depthwise_regularizer,
                         bias_regularizer, **kwargs)
        self.depth_multiplier = int(depth_multiplier)

    def get_config(self) -> dict:
        config = {k: v for k, v in super().get_config().items() if k not in ("filters", "groups")}
        return {**config, "depth_multiplier": self.depth_multiplier}

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected ndim=4 "
                             f"(batch, height, width, channels), found shape {input_shape}")
        c = input_shape[-1]
        self.kernel = self._add_weight("kernel", self.kernel_size + (c, self.depth_multiplier),
                                       self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.bias = self._add_weight("bias", (c * self.depth_multiplier,), self.bias_initializer,
                                     regularizer=self.bias_regularizer) if self.use_bias else None

    def weight_layouts(self):
        return [("depthwise", tuple(self.kernel.shape[2:]))] + [("plain", None)] * (len(self.weights) - 1)

    def call(self, x, training):
        y = nn.depthwise_conv2d(x, self.kernel, self.strides, self.padding, dilations=self.dilation_rate)
        if self.bias is not None:
            y = nn.bias_add(y, self.bias)
        return self.activation(y) if self.activation else y


class SeparableConv2D(Conv2D):
    """Keras 3's separable convolution: a depthwise kernel (kH, kW, in, depth_multiplier), then a pointwise one
    (1, 1, in * depth_multiplier, filters), then the bias (tf.nn.separable_conv2d)."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = (1, 1), depth_multiplier: int = 1,
                 activation: Any = None, use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None, bias_regularizer: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, activation, use_bias, dilation_rate,
                         depthwise_initializer, bias_initializer, data_format, depthwise_regularizer,
                         bias_regularizer, **kwargs)
        self.depth_multiplier = int(depth_multiplier)
        self.pointwise_initializer = _initializer(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)

    def get_config(self) -> dict:
        config = {k: v for k, v in super().get_config().items() if k != "groups"}
        return {**config, "depth_multiplier": self.depth_multiplier}

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected ndim=4 "
                             f"(batch, height, width, channels), found shape {input_shape}")
        c = input_shape[-1]
        self.depthwise_kernel = self._add_weight("depthwise_kernel", self.kernel_size + (c, self.depth_multiplier),
                                                 self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.pointwise_kernel = self._add_weight("pointwise_kernel", (1, 1, c * self.depth_multiplier, self.filters),
                                                 self.pointwise_initializer, regularizer=self.pointwise_regularizer)
        self.bias = self._add_weight("bias", (self.filters,), self.bias_initializer,
                                     regularizer=self.bias_regularizer) if self.use_bias else None

    def weight_layouts(self):
        return ([("depthwise", tuple(self.depthwise_kernel.shape[2:])), ("conv", None)]
                + [("plain", None)] * (len(self.weights) - 2))

    def call(self, x, training):
        y = nn.separable_conv2d(x, self.depthwise_kernel, self.pointwise_kernel, self.strides, self.padding,
                                dilations=self.dilation_rate)
        if self.bias is not None:
            y = nn.bias_add(y, self.bias)
        return self.activation(y) if self.activation else y


class _Pooling2D(Layer):
    pool: Any = None    # the tf.nn pooling function

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_size = _pair(pool_size)
        self.strides = _pair(strides) if strides is not None else self.pool_size
        self.padding = padding.upper()

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding.lower()}

    def call(self, x, training):
        return self.pool(x, self.pool_size, self.strides, self.padding)


class MaxPooling2D(_Pooling2D):
    pool = staticmethod(nn.max_pool2d)


class AveragePooling2D(_Pooling2D):
    pool = staticmethod(nn.avg_pool2d)


MaxPool2D, AvgPool2D = MaxPooling2D, AveragePooling2D


class _GlobalPooling2D(Layer):
    reduce: Any = None      # the ops reduction over the spatial axes

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if (data_format or "channels_last") not in ("channels_last", "channels_first"):
            raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
        self.axes = (2, 3) if data_format == "channels_first" else (1, 2)
        self.keepdims = keepdims

    def get_config(self) -> dict:
        return {**super().get_config(), "keepdims": self.keepdims,
                "data_format": "channels_first" if self.axes == (2, 3) else "channels_last"}

    def call(self, x, training):
        if len(x.shape) != 4:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected ndim=4, "
                             f"found ndim={len(x.shape)}. Full shape received: {tuple(x.shape)}")
        return self.reduce(x, self.axes, keepdims=self.keepdims)


class GlobalAveragePooling2D(_GlobalPooling2D):
    reduce = staticmethod(ops.reduce_mean)


class GlobalMaxPooling2D(_GlobalPooling2D):
    reduce = staticmethod(ops.reduce_max)


GlobalAvgPool2D, GlobalMaxPool2D = GlobalAveragePooling2D, GlobalMaxPooling2D


class Flatten(Layer):
    def call(self, x, training):
        rest = x.shape[1:]
        if None in rest:
            raise ValueError(f"Flatten: the non-batch dimensions must be known, got shape {tuple(x.shape)}")
        return ops.reshape(x, (-1, int(numpy.prod(rest))))


class Activation(Layer):
    supports_masking = True

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = _activation(activation)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": _activation_name(self.activation)}

    def call(self, x, training):
        return self.activation(x) if self.activation else ops.identity(x)


class ReLU(Layer):
    """Keras 3's ReLU with ``max_value`` (``ReLU(6.0)`` is relu6), ``negative_slope`` and ``threshold``, in its
    order of operations (ReLU.static_call)."""

    supports_masking = True

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"max_value of a ReLU layer cannot be a negative value. Received: {max_value}")
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"negative_slope of a ReLU layer cannot be None or a negative value. "
                             f"Received: negative_slope={negative_slope}")
        if threshold is None or threshold < 0:
            raise ValueError(f"threshold of a ReLU layer cannot be None or a negative value. Received: "
                             f"threshold={threshold}")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)

    def get_config(self) -> dict:
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}

    def call(self, x, training):
        slope, top, threshold = self.negative_slope, self.max_value, self.threshold
        if slope and top is None and not threshold:
            return nn.leaky_relu(x, slope)
        negative = nn.relu(-x + threshold) if threshold else nn.relu(-x) if slope else None
        clip = top is not None
        if threshold:
            x = ops.where(ops.greater(x, threshold), x, ops.zeros_like(x))
        elif top == 6:
            x, clip = nn.relu6(x), False
        else:
            x = nn.relu(x)
        if clip:
            x = ops.clip_by_value(x, 0.0, top)
        return x - slope * negative if slope else x


class ELU(Layer):
    """Keras 3's ELU layer: tf.nn.elu, times alpha below zero for another alpha."""

    supports_masking = True

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}

    def call(self, x, training):
        res = nn.elu(x)
        return res if self.alpha == 1 else ops.where(ops.greater(x, 0.0), res, self.alpha * res)


class PReLU(Layer):
    """relu(x) - alpha * relu(-x) with a learned ``alpha`` per position (shared along ``shared_axes``), zeros
    at first, as Keras 3's."""

    supports_masking = True

    def __init__(self, alpha_initializer: Any = "zeros", alpha_regularizer: Any = None,
                 shared_axes: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha_initializer = _initializer(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.shared_axes = None if shared_axes is None else (
            [int(shared_axes)] if isinstance(shared_axes, int) else [int(a) for a in shared_axes])

    def get_config(self) -> dict:
        return {**super().get_config(), "shared_axes": self.shared_axes}

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for i in self.shared_axes or ():
            shape[i - 1] = 1
        if None in shape:
            raise ValueError(f"{self.name}: PReLU needs known sizes along its unshared axes, got {input_shape}")
        self.alpha = self._add_weight("alpha", shape, self.alpha_initializer, regularizer=self.alpha_regularizer)

    def call(self, x, training):
        return nn.relu(x) + ops.negative(self.alpha) * nn.relu(-x)


class Softmax(Layer):
    """softmax over ``axis`` (several axes: exp(x - logsumexp(x)), as Keras 3)."""

    def __init__(self, axis: Any = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else int(axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}

    def call(self, x, training):
        return activations.softmax(x, self.axis)


def _pairs(value: Any, what: str) -> tuple:
    """Keras' 2D padding/cropping spec: n, (h, w) or ((top, bottom), (left, right))."""
    if isinstance(value, int):
        return ((value, value), (value, value))
    value = tuple(value)
    if len(value) != 2:
        raise ValueError(f"`{what}` should have two elements. Received: {what}={value}")
    return tuple((v, v) if isinstance(v, int) else tuple(int(e) for e in v) for v in value)


class ZeroPadding2D(Layer):
    """Zeros around each image (channels last): ``padding`` is n, (h, w) or ((top, bottom), (left, right))."""

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _channels_last(data_format, type(self).__name__)
        self.padding = _pairs(padding, "padding")

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": self.padding}

    def call(self, x, training):
        return core.pad(x, ((0, 0),) + self.padding + ((0, 0),), 0.0)


class Cropping2D(Layer):
    """Rows and columns cut from each image's borders (channels last)."""

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _channels_last(data_format, type(self).__name__)
        self.cropping = _pairs(cropping, "cropping")

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": self.cropping}

    def call(self, x, training):
        (t, b), (l, r) = self.cropping
        h, w = x.shape[1], x.shape[2]
        if h is not None and w is not None and (t + b >= h or l + r >= w):
            raise ValueError(f"{self.name}: cropping {self.cropping} leaves nothing of a {h}x{w} input")
        return x[:, t:(None if b == 0 else -b), l:(None if r == 0 else -r), :]


class UpSampling2D(Layer):
    """Each pixel repeated ``size`` times along rows and columns (nearest neighbour, channels last)."""

    def __init__(self, size: Any = (2, 2), data_format: str | None = None, interpolation: str = "nearest",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _channels_last(data_format, type(self).__name__)
        if interpolation != "nearest":
            raise NotImplementedError(f"UpSampling2D: interpolation={interpolation!r} is not implemented in dualflow "
                                      "(only 'nearest'; see docs/compat.md)")
        self.size = (int(size), int(size)) if isinstance(size, int) else tuple(int(s) for s in size)
        self.interpolation = interpolation

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size, "interpolation": self.interpolation}

    def call(self, x, training):
        n, h, w, c = x.shape
        if None in (h, w, c):
            raise ValueError(f"{self.name}: UpSampling2D needs known height, width and channels, got {x.shape}")
        sh, sw = self.size
        # x * 1 repeats each value exactly (Keras repeats along both axes); the gradient sums the copies
        spread = core.reshape(x, (-1, h, 1, w, 1, c)) * ops.ones((1, 1, sh, 1, sw, 1), x.dtype)
        return core.reshape(spread, (-1, h * sh, w * sw, c))


class LeakyReLU(Layer):
    """x, or negative_slope * x below 0 (Keras 3's default slope, 0.3)."""

    supports_masking = True

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.negative_slope = float(negative_slope)

    def get_config(self) -> dict:
        return {**super().get_config(), "negative_slope": self.negative_slope}

    def call(self, x, training):
        return nn.leaky_relu(x, self.negative_slope)


class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": list(self.target_shape)}

    def call(self, x, training):
        rest = x.shape[1:]
        if None in rest:
            raise ValueError(f"{self.name}: the non-batch dimensions must be known, got shape {tuple(x.shape)}")
        known = int(numpy.prod([d for d in self.target_shape if d != -1]))
        size = int(numpy.prod(rest))
        fits = (known > 0 and size % known == 0) if -1 in self.target_shape else known == size
        if not fits:
            raise ValueError(f"{self.name}: total size of the new array must be unchanged, input_shape = "
                             f"{list(rest)}, output_shape = {list(self.target_shape)}")
        return ops.reshape(x, (-1,) + tuple(size // known if d == -1 else d for d in self.target_shape))


class Rescaling(Layer):
    """x * scale + offset (Keras' input preprocessing, e.g. scale=1/255)."""

    supports_masking = True

    def __init__(self, scale: float, offset: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale, self.offset = float(scale), float(offset)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}

    def call(self, x, training):
        return x * self.scale + self.offset


class _Merge(Layer):
    """Combines a list of tensors of one shape elementwise (Keras' Add, Multiply, ...)."""

    takes_list = True
    reduce: Any = None      # (a, b) -> tensor
    supports_masking = True

    def compute_mask(self, x, mask):
        if any(getattr(t, "_keras_mask", None) is not None for t in x):
            raise NotImplementedError(f"{self.name}: merging masked inputs (from Embedding(mask_zero=True)) is not "
                                      "implemented in dualflow (see docs/compat.md)")
        return None

    def build(self, input_shapes):
        first = input_shapes[0]
        for shape in input_shapes[1:]:
            if len(shape) != len(first) or any(a != b and None not in (a, b) for a, b in zip(shape, first)):
                raise ValueError(f"{self.name}: inputs must have the same shape, got {input_shapes}")

    def call(self, xs, training):
        out = xs[0]
        for t in xs[1:]:
            out = self.reduce(out, t)
        return out


class Add(_Merge):
    reduce = staticmethod(ops.add)


class Multiply(_Merge):
    reduce = staticmethod(ops.multiply)


class Maximum(_Merge):
    reduce = staticmethod(ops.maximum)


class Minimum(_Merge):
    reduce = staticmethod(ops.minimum)


class Subtract(_Merge):
    def build(self, input_shapes):
        if len(input_shapes) != 2:
            raise ValueError(f"{self.name}: a Subtract layer should be called on exactly 2 inputs")
        super().build(input_shapes)

    def call(self, xs, training):
        return ops.subtract(xs[0], xs[1])


class Average(_Merge):
    reduce = staticmethod(ops.add)

    def call(self, xs, training):
        return ops.multiply(super().call(xs, training), 1.0 / len(xs))


class Concatenate(_Merge):
    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = int(axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}

    def build(self, input_shapes):
        first = input_shapes[0]
        axis = self.axis % len(first)
        for shape in input_shapes[1:]:
            if len(shape) != len(first) or any(a != b and None not in (a, b) and i != axis
                                                for i, (a, b) in enumerate(zip(shape, first))):
                raise ValueError(f"{self.name}: a Concatenate layer requires inputs with matching shapes except "
                                 f"for the concatenation axis, got {input_shapes}")

    def call(self, xs, training):
        return ops.concat(xs, self.axis)


class Dropout(Layer):
    supports_masking = True

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate, self.seed = float(rate), seed

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}

    def call(self, x, training):
        if self.rate == 0:
            return ops.identity(x)
        return ops.where(training, nn.dropout(x, rate=self.rate, seed=self.seed), x)


class SpatialDropout2D(Dropout):
    """Drops whole channels: one draw per (sample, channel), shared by its height and width (Keras' noise shape
    (batch, 1, 1, channels))."""

    def call(self, x, training):
        if x.ndim != 4:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected ndim=4, "
                             f"found ndim={x.ndim}. Full shape received: {tuple(x.shape.as_list())}")
        if self.rate == 0:
            return ops.identity(x)
        noise = [x.shape[0], 1, 1, x.shape[3]]
        return ops.where(training, nn.dropout(x, rate=self.rate, noise_shape=noise, seed=self.seed), x)


class GaussianNoise(Layer):
    """In training, ``x`` plus normal noise of ``stddev`` drawn anew at each step (Keras 3's order:
    ``x + (n * stddev + 0)``); ``x`` itself otherwise."""

    supports_masking = True

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0 <= stddev <= 1:
            raise ValueError("Invalid value received for argument `stddev`. Expected a float value between 0 and 1. "
                             f"Received: stddev={stddev}")
        self.stddev, self.seed = stddev, seed

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}

    def call(self, x, training):
        if self.stddev == 0:
            return ops.identity(x)
        noise = random_normal(ops.shape(x), 0.0, self.stddev, x.dtype, self.seed)
        return ops.where(training, ops.add(x, noise), x)


class GaussianDropout(Layer):
    """In training, ``x`` times normal noise of mean 1 and standard deviation sqrt(rate / (1 - rate)), drawn
    anew at each step (Keras 3's); ``x`` itself otherwise."""

    supports_masking = True

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError("Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                             f"Received: rate={rate}")
        self.rate, self.seed = rate, seed

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}

    def call(self, x, training):
        if self.rate == 0:
            return ops.identity(x)
        stddev = (self.rate / (1.0 - self.rate)) ** 0.5
        noise = random_normal(ops.shape(x), 1.0, stddev, x.dtype, self.seed)
        return ops.where(training, ops.multiply(x, noise), x)


class LayerNormalization(Layer):
    """Normalises each sample over ``axis`` (the last by default) and scales and shifts there, as Keras 3 on TF:
    tf.nn.moments, then x * inv + (beta - mean * inv) with inv = gamma / sqrt(variance + epsilon)."""

    supports_masking = True

    def __init__(self, axis: Any = -1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 rms_scaling: bool = False, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if rms_scaling:
            raise NotImplementedError(f"{self.name}: LayerNormalization(rms_scaling=True) is not implemented in "
                                      "dualflow (see docs/compat.md)")
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else int(axis)
        self.epsilon, self.center, self.scale, self.rms_scaling = epsilon, center, scale, rms_scaling
        self.beta_initializer, self.gamma_initializer = _initializer(beta_initializer), _initializer(gamma_initializer)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "rms_scaling": self.rms_scaling}

    def _axes(self, nd: int) -> list:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -nd <= a < nd:
                raise ValueError(f"Axis {a} is out of bounds for input shape of rank {nd}. Received: axis={self.axis}")
        return sorted({a % nd for a in axes})

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        if None in shape:
            raise ValueError(f"{self.name}: the normalised axes {self.axis} must have known sizes, got {input_shape}")
        self.gamma = self._add_weight("gamma", shape, self.gamma_initializer) if self.scale else None
        self.beta = self._add_weight("beta", shape, self.beta_initializer) if self.center else None

    def call(self, x, training):
        nd = len(x.shape)
        axes = self._axes(nd)
        spread = [x.shape[i] if i in axes else 1 for i in range(nd)]
        mean, variance = nn.moments(x, axes, keepdims=True)

        def b(v):
            return None if v is None else ops.reshape(v, spread)
        return nn.batch_normalization(x, mean, variance, b(self.beta), b(self.gamma), self.epsilon)


class BatchNormalization(Layer):
    """Normalises over all axes but ``axis``; training updates moving averages (Keras momentum 0.99)."""

    supports_masking = True

    def compute_mask(self, x, mask):
        if mask is not None:        # Keras leaves masked positions out of the batch statistics
            raise NotImplementedError(f"{self.name}: batch normalization of a masked input (from "
                                      "Embedding(mask_zero=True)) is not implemented in dualflow (see docs/compat.md)")
        return None

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis, self.momentum, self.epsilon, self.center, self.scale = axis, momentum, epsilon, center, scale
        # Keras 3's layer, unless static_api.layers makes it TF1's tf.layers.batch_normalization, with its
        # ``fused`` argument (None: fused where it can be, 4D inputs normalised over axis 1 or 3).
        self._tf1, self._tf1_fused = False, None

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}

    def build(self, input_shape):
        c = input_shape[self.axis]
        if c is None:
            raise ValueError(f"{self.name}: the normalised axis {self.axis} must have a known size")
        self.gamma = self._add_weight("gamma", (c,), ones_initializer()) if self.scale else None
        self.beta = self._add_weight("beta", (c,), zeros_initializer()) if self.center else None
        self.moving_mean = self._add_weight("moving_mean", (c,), zeros_initializer(), trainable=False)
        self.moving_variance = self._add_weight("moving_variance", (c,), ones_initializer(), trainable=False)

    def call(self, x, training):
        if not self._tf1:
            # Keras: a frozen BatchNormalization (``trainable=False``) normalises with its moving statistics and
            # leaves them alone, even in training; ``fit`` feeds False here for the layers frozen at compile.
            # (TF1's tf.layers.batch_normalization keeps using the batch's: its trainable only keeps gamma and
            # beta out of the trainable variables.)
            self.training_switch = ops.placeholder_with_default(numpy.array(True), (), name=f"{self.name}/trainable")
            training = ops.logical_and(training, self.training_switch)
        nd = len(x.shape)
        axis = self.axis % nd
        bshape = [1] * nd
        bshape[axis] = -1

        def b(v, default):
            # without scale or center, a constant of the statistics' shape (one per channel)
            stats = [x.shape[i] if i == axis else 1 for i in range(nd)]
            return ops.reshape(v, bshape) if v is not None else ops.constant(default, x.dtype, shape=stats)
        gamma, beta = b(self.gamma, 1.0), b(self.beta, 0.0)
        axes = tuple(i for i in range(nd) if i != axis)
        fused = self._tf1 and self._tf1_fused is not False and nd == 4 and axis in (1, 3)
        if self._tf1 and self._tf1_fused and not fused:
            raise ValueError(f"{self.name}: fused batch norm only supports 4D inputs with axis == [1] or axis == [3]; "
                             f"got {nd}D inputs and axis {self.axis}")
        # TF1's fused kernel raises a smaller epsilon to cuDNN's minimum.
        eps = max(self.epsilon, 1.001e-5) if fused else self.epsilon
        y_train, mean, var = core.batch_norm_train(x, gamma, beta, axes, eps)
        y_eval = core.batch_norm_eval(x, gamma, beta, ops.reshape(self.moving_mean, bshape),
                                      ops.reshape(self.moving_variance, bshape), eps)
        m = self.momentum
        mean, var = ops.reshape(mean, (-1,)), ops.reshape(var, (-1,))
        if fused:           # TF1's fused kernel hands the moving average the unbiased (Bessel) variance
            n = core.size_ratio(x, var, x.dtype)
            var = var * (n / (n - 1.0))
        pairs = ((self.moving_mean, mean), (self.moving_variance, var))
        if self._tf1:       # TF1's assign_moving_average: avg -= (avg - batch) * (1 - m)
            moved = [avg - (avg - batch) * (1 - m) for avg, batch in pairs]
        else:               # Keras 3: avg * m + batch * (1 - m), the biased batch variance
            moved = [avg * m + batch * (1 - m) for avg, batch in pairs]
        # Moving averages move only in training (a fed learning phase, or tf.layers' training argument).
        self.updates = [avg.assign(ops.where(training, new, avg))
                        for avg, new in zip((self.moving_mean, self.moving_variance), moved)]
        return ops.where(training, y_train, y_eval)


class Embedding(Layer):
    """Rows of an ``(input_dim, output_dim)`` table picked by integer indices: ``(batch, ...)`` ->
    ``(batch, ..., output_dim)``.  Keras' defaults: a uniform [-0.05, 0.05) initializer; float inputs are
    truncated to int32 indices; ``mask_zero=True`` marks index 0 as padding (``compute_mask``), and the mask
    travels as in Keras through the layers that support it.

        >>> import static_api as tf
        >>> emb = tf.keras.layers.Embedding(100, 8)
        >>> tuple(emb(tf.keras.Input((5,), dtype="int32")).shape)
        (None, 5, 8)
    """

    autocast = False

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, embeddings_constraint: Any = None, mask_zero: bool = False,
                 weights: Any = None, input_length: int | None = None, **kwargs: Any) -> None:
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, (int, numpy.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"`{arg}` must be a positive integer. Received: {arg}={value!r} "
                                 f"(of type {type(value).__name__}).")
        if embeddings_constraint is not None:
            raise NotImplementedError("Embedding: embeddings_constraint is not implemented in dualflow "
                                      "(see docs/compat.md)")
        if input_length is not None:
            # Keras 3 deprecates it; Keras 2 used it as the input shape, which a Sequential here needs to build.
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", stacklevel=2)
            kwargs.setdefault("input_shape", (int(input_length),))
        super().__init__(**kwargs)
        self.input_dim, self.output_dim, self.mask_zero = int(input_dim), int(output_dim), bool(mask_zero)
        self.embeddings_initializer = _initializer(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self._initial_weights = weights

    def get_config(self) -> dict:
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "mask_zero": self.mask_zero}

    def build(self, input_shape):
        init = self.embeddings_initializer
        if self._initial_weights is not None:       # Keras' weights=[table] (or the bare table)
            table = self._initial_weights
            table = numpy.asarray(table[0] if isinstance(table, (list, tuple)) and len(table) == 1 else table)
            if table.shape != (self.input_dim, self.output_dim):
                raise ValueError(f"{self.name}: weights has shape {table.shape}, expected "
                                 f"{(self.input_dim, self.output_dim)}")
            init = lambda shape, dtype: table.astype(dtype)     # noqa: E731
        self.embeddings = self._add_weight("embeddings", (self.input_dim, self.output_dim), init,
                                           regularizer=self.embeddings_regularizer)

    def call(self, x, training):
        ids = x if x.dtype in (ops.int32, ops.int64) else ops.cast(x, ops.int32)
        return nn.embedding_lookup(self.embeddings, ids)

    def compute_mask(self, x, mask):
        return ops.not_equal(x, 0) if self.mask_zero else None


def _incompatible(layer: Layer, expected: str, shape: Sequence[Any]) -> ValueError:
    """Keras' InputSpec error for an input of the wrong rank."""
    return ValueError(f"Input 0 of layer \"{layer.name}\" is incompatible with the layer: expected {expected}, "
                      f"found ndim={len(shape)}. Full shape received: {tuple(shape)}")


class Identity(Layer):
    """Returns its input (a new tensor of the same values), mask included."""

    supports_masking = True

    def call(self, x, training):
        return ops.identity(x)


class Permute(Layer):
    """Reorders the non-batch axes: ``dims`` (counted from 1) name the input axis each output axis takes."""

    supports_masking = True

    def __init__(self, dims: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` "
                             f"must be consecutive and start from 1. Received dims={dims}")

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": list(self.dims)}

    def build(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise _incompatible(self, f"ndim={len(self.dims) + 1}", input_shape)

    def call(self, x, training):
        return ops.transpose(x, (0,) + self.dims)


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features): each sample repeated ``n`` times."""

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}.")
        if n <= 0:
            raise ValueError(f"Argument `n` should be a positive integer. Received: n={n}")
        self.n = n

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise _incompatible(self, "ndim=2", input_shape)

    def call(self, x, training):
        return ops.tile(ops.expand_dims(x, 1), [1, self.n, 1])


class ActivityRegularization(Layer):
    """Passes its input on and adds Keras' activity penalty l1 * sum|x| + l2 * sum x^2 (over the batch size) to
    the model's losses."""

    supports_masking = True

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        if "activity_regularizer" in kwargs:
            raise TypeError("ActivityRegularization: the penalty is given by l1 and l2, not activity_regularizer")
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = l1, l2

    def get_config(self) -> dict:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}

    def call(self, x, training):
        return ops.identity(x)


class Lambda(Layer):
    """Wraps ``function(x, **arguments)`` of graph tensors (a list of them for several inputs) as a layer.  A
    model holding one cannot be saved: the function is code, and a saved model here is data only.
    ``output_shape`` is accepted for Keras' signature: the graph gives the output's shape."""

    def __init__(self, function: Any, output_shape: Any = None, mask: Any = None, arguments: dict | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: `function` must be callable, got {function!r}")
        if mask is not None:
            raise NotImplementedError("Lambda: mask= is not implemented in dualflow")
        self.function, self.arguments = function, dict(arguments or {})

    def __call__(self, x: Any, training: Any = None) -> Tensor:
        # the function decides what it takes: a list of inputs reaches it as a list
        self.takes_list = isinstance(x, (list, tuple))
        return super().__call__(x, training)

    def get_config(self) -> dict:
        raise NotImplementedError(f"cannot save a model with the Lambda layer {self.name!r}: its function is Python "
                                  "code, and saved models here hold data only (build the model in code and save "
                                  "its weights with save_weights)")

    def call(self, x, training):
        out = self.function(list(x) if self.takes_list else x, **self.arguments)
        if not isinstance(out, Tensor):
            raise TypeError(f"Lambda layer {self.name!r}: the function must return a tensor, got {out!r}")
        return out


class Dot(_Merge):
    """The dot product of two inputs along ``axes`` per sample (Keras' batch_dot: one batched matmul after
    moving the axes), cosine proximity with ``normalize``.  Inputs of rank 2 or 3."""

    def __init__(self, axes: Any, normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"Invalid type for argument `axes`: it should be a list or an int. Received: "
                                f"axes={axes}")
            if len(axes) != 2:
                raise ValueError(f"Invalid format for argument `axes`: it should contain two elements. Received: "
                                 f"axes={axes}")
            if not isinstance(axes[0], int) or not isinstance(axes[1], int):
                raise ValueError(f"Invalid format for argument `axes`: list elements should be integers. Received: "
                                 f"axes={axes}")
        self.axes, self.normalize = axes, normalize

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes if isinstance(self.axes, int) else list(self.axes),
                "normalize": self.normalize}

    def _pair(self, shapes: Sequence[Sequence[Any]]) -> list[int]:
        axes = [self.axes] * 2 if isinstance(self.axes, int) else list(self.axes)
        return [a % len(s) for a, s in zip(axes, shapes)]

    def build(self, input_shapes):
        if len(input_shapes) != 2:
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. Received: "
                             f"input_shape={input_shapes}")
        if any(len(s) not in (2, 3) for s in input_shapes):
            raise NotImplementedError(f"{self.name}: Dot of inputs of rank other than 2 or 3 is not implemented in "
                                      f"dualflow (got shapes {input_shapes})")
        a0, a1 = self._pair(input_shapes)
        if 0 in (a0, a1):
            raise ValueError("Cannot perform batch_dot over axis 0. If your inputs are not batched, add a dummy "
                             "batch dimension to your inputs using keras.ops.expand_dims(x, 0)")
        s1, s2 = input_shapes
        if s1[a0] != s2[a1]:
            raise ValueError(f"Incompatible input shapes: axis values {s1[a0]} (at axis {a0}) != {s2[a1]} (at axis "
                             f"{a1}). Full input shapes: {s1}, {s2}")

    def call(self, xs, training):
        x, y = xs
        a0, a1 = self._pair([t.shape for t in xs])
        if self.normalize:
            x, y = losses.l2_normalize(x, a0), losses.l2_normalize(y, a1)
        # batch_dot: x as (batch, rows, depth), y as (batch, depth, cols), one batched matmul
        x_rank, y_rank = len(x.shape), len(y.shape)
        if x_rank == 2:
            x = ops.expand_dims(x, 1)
        elif a0 == 1:
            x = ops.transpose(x, (0, 2, 1))
        if y_rank == 2:
            y = ops.expand_dims(y, 2)
        elif a1 == 2:
            y = ops.transpose(y, (0, 2, 1))
        out = ops.matmul(x, y)
        if x_rank == 2:
            return ops.squeeze(out, [1])
        return ops.squeeze(out, [-1]) if y_rank == 2 else out


class _Pooling1D(Layer):
    """Pools along the steps of (batch, steps, channels) inputs: the 2-D pooling over a height of one, as TF
    pools a 1-D input."""

    pool: Any = None    # the tf.nn 2-D pooling function

    def __init__(self, pool_size: int = 2, strides: int | None = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _channels_last(data_format, type(self).__name__)
        self.pool_size = int(pool_size[0] if isinstance(pool_size, (list, tuple)) else pool_size)
        strides = self.pool_size if strides is None else strides
        self.strides = int(strides[0] if isinstance(strides, (list, tuple)) else strides)
        self.padding = padding.upper()
        if self.padding not in ("VALID", "SAME"):
            raise ValueError(f"{type(self).__name__}: padding must be 'valid' or 'same', got {padding!r}")

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding.lower()}

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise _incompatible(self, "ndim=3", input_shape)

    def call(self, x, training):
        y = self.pool(ops.expand_dims(x, 1), (1, self.pool_size), (1, self.strides), self.padding)
        return ops.squeeze(y, [1])


class MaxPooling1D(_Pooling1D):
    pool = staticmethod(nn.max_pool2d)


class AveragePooling1D(_Pooling1D):
    pool = staticmethod(nn.avg_pool2d)

    def __init__(self, pool_size: int, strides: int | None = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        # Keras 3 gives AveragePooling1D no default pool size (MaxPooling1D's is 2)
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


MaxPool1D, AvgPool1D = MaxPooling1D, AveragePooling1D


class _GlobalPooling1D(Layer):
    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if (data_format or "channels_last") not in ("channels_last", "channels_first"):
            raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
        self.axis = 2 if data_format == "channels_first" else 1
        self.keepdims = keepdims

    def get_config(self) -> dict:
        return {**super().get_config(), "keepdims": self.keepdims,
                "data_format": "channels_first" if self.axis == 2 else "channels_last"}

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise _incompatible(self, "ndim=3", input_shape)


class GlobalAveragePooling1D(_GlobalPooling1D):
    """The mean over the steps; with a mask (``Embedding(mask_zero=True)``), over the unmasked steps only, as
    Keras: the masked steps zeroed, the sum divided by the count of steps kept (NaN where none is)."""

    supports_masking = True
    uses_mask = True

    def compute_mask(self, x, mask):
        return None

    def call(self, x, training, mask=None):
        if mask is None:
            return ops.reduce_mean(x, self.axis, keepdims=self.keepdims)
        keep = ops.expand_dims(ops.cast(mask, ops.bool), 2 if self.axis == 1 else 1)
        kept = ops.where(keep, x, ops.zeros_like(x))
        count = ops.reduce_sum(ops.cast(keep, x.dtype), self.axis, keepdims=self.keepdims)
        return ops.reduce_sum(kept, self.axis, keepdims=self.keepdims) / count


class GlobalMaxPooling1D(_GlobalPooling1D):
    def call(self, x, training):
        return ops.reduce_max(x, self.axis, keepdims=self.keepdims)


GlobalAvgPool1D, GlobalMaxPool1D = GlobalAveragePooling1D, GlobalMaxPooling1D


class Conv1D(Conv2D):
    """A convolution along the steps of (batch, steps, channels): the 2-D convolution over a height of one, as
    TF runs a 1-D one; kernel (kernel_size, channels / groups, filters) as Keras'.  ``padding='causal'`` pads
    (kernel_size - 1) * dilation_rate steps on the left, then convolves without padding (Keras)."""

    rank, _axes = 1, "(batch, steps, channels)"

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, **kwargs: Any) -> None:
        if padding.lower() not in ("valid", "same", "causal"):
            raise ValueError(f"Conv1D: padding must be 'valid', 'same' or 'causal', got {padding!r}")
        super().__init__(filters, kernel_size, strides, padding, activation, use_bias, dilation_rate,
                         kernel_initializer, bias_initializer, data_format, kernel_regularizer, bias_regularizer,
                         groups, **kwargs)

    def weight_layouts(self):
        # core.interop has no 1-D kernel layout: Model.load_weights refuses an eager state dict here
        return [("conv1d", None)] + [("plain", None)] * (len(self.weights) - 1)

    def call(self, x, training):
        (width,), (stride,), (dilation,) = self.kernel_size, self.strides, self.dilation_rate
        padding = self.padding
        if padding == "CAUSAL":
            x = ops.pad(x, [[0, 0], [(width - 1) * dilation, 0], [0, 0]])
            padding = "VALID"
        y = nn.conv2d(ops.expand_dims(x, 1), ops.expand_dims(self.kernel, 0), (1, stride), padding,
                      dilations=(1, dilation))
        y = ops.squeeze(y, [1])
        if self.bias is not None:
            y = nn.bias_add(y, self.bias)
        return self.activation(y) if self.activation else y



# ----- recurrent layers ------------------------------------------------------------------------------------------
class _RNN(Layer):
    """Keras 3's recurrent layer over (batch, steps, features), unrolled over a few steps (``unroll=True``: any
    known number), a loop over more or an unknown number (``Input((None, features))``; see static_api/rnn.py);
    each step's arithmetic in Keras' order, so that values match Keras' to float32 rounding.  The output is the
    last step's (batch, units), or every step's with ``return_sequences``; ``return_state`` adds the final states
    (``[output, *states]``).  ``go_backwards`` reads the steps last to first (the sequence output stays in that
    order, as Keras').  A mask (``Embedding(mask_zero=True)``) freezes a row's states at its masked steps and
    repeats its last output there (zeros before the first); the sequence output keeps the mask.

        >>> import static_api as tf
        >>> y, h, c = tf.keras.layers.LSTM(4, return_state=True)(tf.keras.Input((6, 3)))
        >>> tuple(y.shape), tuple(c.shape)
        ((None, 4), (None, 4))
    """

    supports_masking = True
    uses_mask = True
    _width = 1          # the kernel's columns, in units (LSTM: 4 gates)
    _state_names = ("h",)
    _cell = "simple_rnn_cell"       # Keras 3 keeps the weights in a cell: lstm/lstm_cell/kernel

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True, *,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False, seed: Any = None, **kwargs: Any) -> None:
        cls = type(self).__name__
        if not isinstance(units, (int, numpy.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"{cls}: Received an invalid value for argument `units`, expected a positive integer, "
                             f"got {units!r}.")
        for arg, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if value:
                raise NotImplementedError(f"{cls}: {arg}={value!r} is not implemented in dualflow (expected 0.0)")
        if stateful:
            raise NotImplementedError(f"{cls}: stateful=True is not implemented in dualflow (expected False)")
        super().__init__(**kwargs)
        self.units, self.activation, self.use_bias = int(units), _activation(activation), bool(use_bias)
        self.kernel_initializer = _initializer(kernel_initializer)
        self.recurrent_initializer = _initializer(recurrent_initializer)
        self.bias_initializer = _initializer(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        # seed would draw dropout's masks, and dropout is refused above
        self.go_backwards, self.unroll = bool(go_backwards), bool(unroll)
        self._initial_state: list = []          # the initial states and mask given to __call__, for its call
        self._mask: Tensor | None = None
        self._final_states: list = []           # the last call's final states (return_state's outputs)
        self._read_initial_state = False

    def get_config(self) -> dict:
        if self._read_initial_state:
            # a saved model records each layer's one input: a rebuilt layer would silently start from zeros
            raise NotImplementedError(f"cannot save layer {self.name!r}: it was called with initial_state, which "
                                      "dualflow's model files do not record")
        return {**super().get_config(), "units": self.units, "activation": _activation_name(self.activation),
                "use_bias": self.use_bias, "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards, "unroll": self.unroll}

    def _bias_shape(self) -> tuple:
        return (self._width * self.units,)

    def _bias_initializer(self) -> Any:
        return self.bias_initializer

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise _incompatible(self, "ndim=3", input_shape)
        if input_shape[-1] is None:
            raise ValueError(f"{self.name}: the last dimension of the input (features) must be known, got shape "
                             f"{tuple(input_shape)}")
        width = self._width * self.units
        self.kernel = self._add_weight(f"{self._cell}/kernel", (input_shape[-1], width), self.kernel_initializer,
                                       regularizer=self.kernel_regularizer)
        self.recurrent_kernel = self._add_weight(f"{self._cell}/recurrent_kernel", (self.units, width),
                                                 self.recurrent_initializer, regularizer=self.recurrent_regularizer)
        self.bias = self._add_weight(f"{self._cell}/bias", self._bias_shape(), self._bias_initializer(),
                                     regularizer=self.bias_regularizer) if self.use_bias else None

    def __call__(self, x: Any, initial_state: Any = None, training: Any = None, mask: Any = None) -> Any:
        """As ``Layer.__call__``, with ``initial_state``: a tensor of shape (batch, units) per state (LSTM: h, c),
        and ``mask`` (batch, steps), which replaces the mask ``x`` carries."""
        states = [] if initial_state is None else (
            list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state])
        if states and len(states) != len(self._state_names):
            raise ValueError(f"{self.name or type(self).__name__}: initial_state must be {len(self._state_names)} "
                             f"tensor(s) ({', '.join(self._state_names)}) of shape (batch, {self.units}), got "
                             f"{len(states)}")
        self._initial_state = [ops.convert_to_tensor(s) for s in states]
        self._mask = None if mask is None else ops.convert_to_tensor(mask)
        try:
            out = super().__call__(x, training)
        finally:
            initial, self._initial_state, self._mask = self._initial_state, [], None
        call = out._keras_history
        call.inputs = call.inputs + initial      # a model finds the layers that made the initial states
        self._read_initial_state = self._read_initial_state or bool(initial)
        if not self.return_state:
            return out
        for s in self._final_states:
            LayerCall(self, call.inputs, s)
        return [out, *self._final_states]

    def compute_mask(self, x, mask):
        mask = mask if self._mask is None else self._mask
        return mask if self.return_sequences else None

    def call(self, x, training, mask=None):
        mask = mask if self._mask is None else self._mask
        states = []
        for s in self._initial_state:
            if tuple(s.shape[1:]) != (self.units,):
                raise ValueError(f"{self.name}: each initial state must have shape (batch, {self.units}), got "
                                 f"{tuple(s.shape)}")
            states.append(ops.cast(s, self._dtype) if s.dtype != self._dtype else s)
        states = states or [rnn.batch_zeros(x, self.units, self._dtype) for _ in self._state_names]
        if self.unroll and x.shape[1] is None:
            raise ValueError("Cannot unroll a RNN if the time dimension is undefined. \n- If using a Sequential "
                             "model, specify the time dimension by passing an `Input()` as your first layer.\n- If "
                             "using the functional API, specify the time dimension by passing a `shape` or "
                             "`batch_shape` argument to your `Input()`.")
        if not (self.unroll or rnn.unrolled(x.shape[1])):
            return self._scan(x, mask, states)
        xs = ops.unstack(x, axis=1)
        masks = None if mask is None else [ops.expand_dims(m, 1)
                                           for m in ops.unstack(ops.cast(mask, ops.bool), axis=1)]
        if self.go_backwards:
            xs = xs[::-1]
            masks = None if masks is None else masks[::-1]
        outputs, states = rnn.unroll(self._step, xs, states, masks, keep_output=True)
        self._final_states = [ops.identity(s) for s in states]     # tensors of their own, for their LayerCalls
        return ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1]

    def _scan(self, x: Tensor, mask: Tensor | None, states: list) -> Tensor:
        """``call`` as one loop over the time-major steps (Keras' while loop), the last output carried from step
        to step."""
        held = rnn.batch_zeros(x, self.units, self._dtype)
        keep = None if mask is None else ops.transpose(ops.cast(mask, ops.bool), [1, 0])
        outputs, last, states = rnn.scan(self.name, self._step, ops.transpose(x, [1, 0, 2]), states, mask=keep,
                                         held=held, sequences=self.return_sequences, reverse=self.go_backwards)
        self._final_states = [ops.identity(s) for s in states]
        if not self.return_sequences:
            return last
        outputs = ops.transpose(outputs, [1, 0, 2])
        # the loop puts each output at its input step; Keras stacks them in the order it ran the steps
        return ops.reverse(outputs, [1]) if self.go_backwards else outputs

    def _step(self, x: Tensor, states: list) -> tuple:
        raise NotImplementedError


class SimpleRNN(_RNN):
    """Keras 3's SimpleRNN: ``h = activation(x @ kernel + bias + h @ recurrent_kernel)``."""

    def _step(self, x, states):
        h = ops.matmul(x, self.kernel)
        if self.bias is not None:
            h = h + self.bias
        out = h + ops.matmul(states[0], self.recurrent_kernel)
        out = self.activation(out) if self.activation else out
        return out, [out]


class _GatedRNN(_RNN):
    """LSTM and GRU: gates through ``recurrent_activation``.  ``use_cudnn`` is accepted: cuDNN's kernel computes
    the same arithmetic, so the choice only changes speed in Keras."""

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, *, use_cudnn: Any = "auto", **kwargs: Any) -> None:
        super().__init__(units, activation, use_bias, **kwargs)
        self.recurrent_activation = _activation(recurrent_activation)

    def get_config(self) -> dict:
        return {**super().get_config(), "recurrent_activation": _activation_name(self.recurrent_activation)}


class LSTM(_GatedRNN):
    """Keras 3's LSTM: ``z = x @ kernel + h @ recurrent_kernel + bias`` split into gates i, f, c, o;
    ``c = f * c + i * tanh(z_c)``, ``h = o * tanh(c)`` (recurrent_activation on i, f, o).  ``unit_forget_bias``
    starts the forget gate's bias at one."""

    _width, _state_names, _cell = 4, ("h", "c"), "lstm_cell"

    def __init__(self, units: int, *args: Any, unit_forget_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(units, *args, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def get_config(self) -> dict:
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        n, init = self.units, self.bias_initializer
        return lambda shape, dtype: numpy.concatenate([init((n,), dtype), numpy.ones((n,), dtype),
                                                       init((2 * n,), dtype)]).astype(dtype)

    def _step(self, x, states):
        h, c = states
        z = ops.matmul(x, self.kernel) + ops.matmul(h, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=1)
        act, gate = self.activation or ops.identity, self.recurrent_activation or ops.identity
        c = gate(z_f) * c + gate(z_i) * act(z_c)
        h = gate(z_o) * act(c)
        return h, [h, c]


class GRU(_GatedRNN):
    """Keras 3's GRU, gates z, r, h.  ``reset_after=True`` (the default): the bias is (2, 3 * units), an input row
    and a recurrent one, and the reset gate scales ``h @ recurrent_kernel_h + b`` after the product;
    ``reset_after=False``: one bias row, the reset gate scales h before it.  ``h = z * h + (1 - z) * hh``."""

    _width, _cell = 3, "gru_cell"

    def __init__(self, units: int, *args: Any, reset_after: bool = True, **kwargs: Any) -> None:
        super().__init__(units, *args, **kwargs)
        self.reset_after = bool(reset_after)

    def get_config(self) -> dict:
        return {**super().get_config(), "reset_after": self.reset_after}

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _step(self, x, states):
        (h,), n = states, self.units
        input_bias, recurrent_bias = (self.bias[0], self.bias[1]) if self.reset_after and self.use_bias else (
            self.bias, None)
        matrix_x = ops.matmul(x, self.kernel)
        if input_bias is not None:
            matrix_x = matrix_x + input_bias
        x_z, x_r, x_h = ops.split(matrix_x, 3, axis=1)
        if self.reset_after:
            matrix_inner = ops.matmul(h, self.recurrent_kernel)
            if recurrent_bias is not None:
                matrix_inner = matrix_inner + recurrent_bias
        else:
            matrix_inner = ops.matmul(h, self.recurrent_kernel[:, :2 * n])
        act, gate = self.activation or ops.identity, self.recurrent_activation or ops.identity
        z = gate(x_z + matrix_inner[:, :n])
        r = gate(x_r + matrix_inner[:, n:2 * n])
        if self.reset_after:
            recurrent_h = r * matrix_inner[:, 2 * n:]
        else:
            recurrent_h = ops.matmul(r * h, self.recurrent_kernel[:, 2 * n:])
        hh = act(x_h + recurrent_h)
        h = z * h + (1 - z) * hh
        return h, [h]



# ----- wrappers --------------------------------------------------------------------------------------------------
def _build_inner(outer: Layer, inner: Layer, input_shape: tuple) -> None:
    """Build ``inner`` for ``input_shape`` with its weights named under ``outer``, as Keras 3's paths read
    (``bidirectional/forward_lstm/lstm_cell/kernel``); the inner layer keeps its own name."""
    own, inner.name = inner.name, f"{outer.name}/{inner.name}"
    try:
        inner.build(input_shape)
    finally:
        inner.name = own
    inner.built = True


class _Wrapper(Layer):
    """A layer holding others (``_inner``): their weights, penalties and ``trainable`` are the wrapper's (a model
    reads its layers' lists, not the layers inside them)."""

    _inner: tuple = ()

    @Layer.trainable.setter
    def trainable(self, value: bool) -> None:
        # Keras 3's setter reaches every sublayer (not the constructor argument: they are not tracked yet)
        self._trainable = bool(value)
        for inner in self._inner:
            inner.trainable = value

    def _made_trainable(self, trainable: bool) -> list[Variable]:
        # as each inner layer says now (one frozen on its own keeps its weights out, as in Keras)
        return [w for inner in self._inner
                for w in (inner.trainable_weights if trainable else inner.non_trainable_weights)]

    def _name_inner(self, inner: Layer, graph: Graph) -> None:
        if inner.name is None:      # Keras names a layer when it is made; dualflow when it is first called
            inner.name = _unique_layer_name(graph, type(inner).__name__)

    def _adopt_weights(self) -> None:
        self.weights = [w for inner in self._inner for w in inner.weights]
        self._weight_losses = [p for inner in self._inner for p in inner._weight_losses]

    def weight_layouts(self) -> list:
        return [layout for inner in self._inner for layout in inner.weight_layouts()]

    def get_config(self) -> dict:
        raise NotImplementedError(f"cannot save layer {self.name!r} ({type(self).__name__}): dualflow's model files "
                                  "hold flat layer configs, not a wrapped layer's (save the weights with "
                                  "save_weights and build the model in code)")


def _rnn_copy(layer: _RNN, name: str | None, go_backwards: bool) -> _RNN:
    """A new, unbuilt layer of ``layer``'s class and settings (Keras 3 rebuilds it from its config), named
    ``name`` and reading the steps backwards or not."""
    from static_api.keras import saving     # saving imports this module
    args = {arg: getattr(layer, arg) for arg in saving._parameters(type(layer))
            if arg not in ("name", "input_shape") and hasattr(layer, arg)}
    return type(layer)(**{**args, "name": name, "go_backwards": go_backwards})


class Bidirectional(_Wrapper):
    """Keras 3's bidirectional wrapper of a recurrent layer: a copy ``forward_<name>`` and a copy
    ``backward_<name>`` with ``go_backwards=True`` (or ``backward_layer``), both over the same input and mask (a
    wrapped layer that already reads backwards raises ValueError, as Keras).
    With ``return_sequences`` the backward output is flipped back into time order.  ``merge_mode``: ``concat``
    (features side by side), ``sum``, ``mul``, ``ave`` or None (``[forward, backward]``); ``return_state`` adds
    the forward states, then the backward ones.  ``initial_state`` is the forward states, then the backward ones.

        >>> import static_api as tf
        >>> y = tf.keras.layers.Bidirectional(tf.keras.layers.LSTM(4))(tf.keras.Input((6, 3)))
        >>> tuple(y.shape)
        (None, 8)
    """

    supports_masking = True
    uses_mask = True
    _MODES = ("sum", "mul", "ave", "concat", None)

    def __init__(self, layer: Any, merge_mode: str | None = "concat", weights: Any = None,
                 backward_layer: Any = None, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `Bidirectional` layer with a `keras.layers.Layer` instance. "
                             f"Received: {layer}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"`backward_layer` need to be a `keras.layers.Layer` instance. Received: "
                             f"{backward_layer}")
        if merge_mode not in self._MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be one of "
                             '{"sum", "mul", "ave", "concat", None}')
        for arg, value in (("layer", layer), ("backward_layer", backward_layer)):
            if value is not None and not isinstance(value, _RNN):
                # Keras fails rebuilding the copy: the layer takes no go_backwards
                raise TypeError(f"Bidirectional: `{arg}` must be a recurrent layer (SimpleRNN, LSTM, GRU), got "
                                f"{type(value).__name__}, which takes no `go_backwards`")
        if backward_layer is not None and backward_layer.built:
            raise NotImplementedError(f"Bidirectional: `backward_layer` {backward_layer.name!r} is already built; "
                                      "dualflow wraps an unbuilt one")
        super().__init__(**kwargs)
        # Keras 3 hands ``weights`` to the copies as ``initial_weights``, which nothing reads: they are ignored.
        self.layer, self.merge_mode = layer, merge_mode
        # Keras 3 copies the layer from its config (new weights) and reads the copy backwards; the names wait for
        # the first call, when dualflow names layers.  A given backward layer keeps its own name.
        self.forward_layer = _rnn_copy(layer, None, layer.go_backwards)
        self._name_backward = backward_layer is None
        self.backward_layer = _rnn_copy(layer, None, True) if backward_layer is None else backward_layer
        self._check_pair(self.forward_layer, self.backward_layer)
        self._inner = (self.forward_layer, self.backward_layer)
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state
        self._pending: tuple = ([], None)       # the initial states and mask given to __call__, for its call
        self._extras: list = []                 # the last call's outputs after the first (merge None, states)

    @staticmethod
    def _check_pair(forward: _RNN, backward: _RNN) -> None:
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(f"Forward layer and backward layer should have different `go_backwards` value. "
                             f"Received: forward_layer.go_backwards {forward.go_backwards}, "
                             f"backward_layer.go_backwards={backward.go_backwards}")
        for attr in ("return_sequences", "return_state"):
            f, b = getattr(forward, attr), getattr(backward, attr)
            if f != b:
                raise ValueError(f"Forward layer and backward layer are expected to have the same value for "
                                 f'attribute "{attr}", got "{f}" for forward layer and "{b}" for backward layer')

    def build(self, input_shape):
        graph = get_default_graph()
        self._name_inner(self.layer, graph)
        self.forward_layer.name = f"forward_{self.layer.name.removeprefix('forward_')}"
        if self._name_backward:
            self.backward_layer.name = f"backward_{self.layer.name.removeprefix('backward_')}"
        self._name_inner(self.backward_layer, graph)
        for inner in self._inner:
            _build_inner(self, inner, input_shape)
        self._adopt_weights()

    def __call__(self, x: Any, initial_state: Any = None, training: Any = None, mask: Any = None) -> Any:
        """As ``Layer.__call__``, with ``initial_state`` (the forward layer's states, then the backward one's) and
        ``mask`` (batch, steps), handed to both layers."""
        states = [] if initial_state is None else (
            list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state])
        need = 2 * len(self.layer._state_names)
        if states and len(states) != need:
            raise ValueError(f"{self.name or 'Bidirectional'}: initial_state must be {need} tensors (the forward "
                             f"layer's {', '.join(self.layer._state_names)}, then the backward one's), got "
                             f"{len(states)}")
        self._pending = ([ops.convert_to_tensor(s) for s in states],
                         None if mask is None else ops.convert_to_tensor(mask))
        try:
            out = super().__call__(x, training)
        finally:
            initial, self._pending = self._pending[0], ([], None)
        call = out._keras_history
        call.inputs = call.inputs + initial      # a model finds the layers that made the initial states
        if not self._extras:
            return out
        for t in self._extras:
            LayerCall(self, call.inputs, t)
        return [out, *self._extras]

    def compute_mask(self, x, mask):
        mask = mask if self._pending[1] is None else self._pending[1]
        return mask if self.return_sequences else None

    def call(self, x, training, mask=None):
        initial, given = self._pending
        mask = mask if given is None else given
        half = len(initial) // 2
        ys, states = [], []
        for inner, start in ((self.forward_layer, initial[:half]), (self.backward_layer, initial[half:])):
            known = len(inner._activity_losses)
            y = inner(x, initial_state=start or None, training=training, mask=mask)
            self._activity_losses += inner._activity_losses[known:]
            if self.return_state:
                y, *inner_states = y
                states += inner_states
            ys.append(y)
        y, y_rev = ys
        if self.return_sequences:
            y_rev = ops.reverse(y_rev, [1])
            if mask is not None:
                # Keras 3 sets the copies' zero_output_for_mask: their sequences are zero at masked steps (a
                # layer alone repeats its last output there)
                keep = ops.expand_dims(ops.cast(mask, ops.bool), -1)
                y, y_rev = (ops.where(keep, t, ops.zeros_like(t)) for t in (y, y_rev))
        merged = {"concat": lambda: ops.concat([y, y_rev], -1), "sum": lambda: y + y_rev,
                  "ave": lambda: (y + y_rev) / 2, "mul": lambda: y * y_rev, None: lambda: y}[self.merge_mode]()
        extras = ([y_rev] if self.merge_mode is None else []) + states
        # each output a tensor of its own, for its own LayerCall
        self._extras = [ops.identity(t) for t in extras]
        if self.merge_mode is None and self.return_sequences and mask is not None:
            self._extras[0]._keras_mask = mask
        return merged


class TimeDistributed(_Wrapper):
    """Keras 3's TimeDistributed: ``layer`` applied to each step ``x[:, t]`` of a (batch, steps, ...) input,
    one call per step (Keras 3's loop over a known number of steps; over more than ``rnn.MAX_UNROLLED`` or an
    unknown number, a loop that runs the call per step), the results stacked on axis 1; one set of
    weights for every step, named ``time_distributed/<layer>/...``.  A layer that takes a mask gets each step's
    slice of it; the output keeps the input's mask.

        >>> import static_api as tf
        >>> y = tf.keras.layers.TimeDistributed(tf.keras.layers.Dense(2))(tf.keras.Input((5, 3)))
        >>> tuple(y.shape)
        (None, 5, 2)
    """

    supports_masking = True
    uses_mask = True

    def __init__(self, layer: Any, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `TimeDistributed` layer with a `keras.layers.Layer` instance. "
                             f"Received: {layer}")
        if layer.takes_list:
            raise NotImplementedError(f"TimeDistributed: a layer of several inputs ({type(layer).__name__}) is not "
                                      "implemented in dualflow (expected a layer of one input)")
        super().__init__(**kwargs)
        self.layer = layer
        self._inner = (layer,)

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"`TimeDistributed` Layer should be passed an `input_shape` with at least 3 "
                             f"dimensions, received: {tuple(input_shape)}")
        self._name_inner(self.layer, get_default_graph())
        if not self.layer.built:
            _build_inner(self, self.layer, (input_shape[0], *input_shape[2:]))
        self._adopt_weights()

    def call(self, x, training, mask=None):
        known = len(self.layer.updates)
        if not rnn.unrolled(x.shape[1]):
            y, step, step_y = self._scan(x, training, mask)
        else:
            # one call per step, as Keras 3 for a known number of steps
            steps = ops.unstack(x, axis=1)
            masks = [None] * len(steps) if mask is None else ops.unstack(mask, axis=1)
            ys = [self._step(s, training, m) for s, m in zip(steps, masks)]
            y, step, step_y = ops.stack(ys, axis=1), steps[0], ys[0]
        if len(self.layer.updates) != known:
            # one update per step of the same statistics: Keras' order of them is not reproduced here
            raise NotImplementedError(f"{self.name}: wrapping {self.layer.name!r} ({type(self.layer).__name__}), "
                                      "which updates its state in training, is not implemented in dualflow")
        self.layer.input, self.layer.output = step, step_y      # what its weight_layouts reads
        return y

    def _step(self, x: Tensor, training: Any, mask: Tensor | None) -> Tensor:
        return self.layer.call(x, training, mask=mask) if self.layer.uses_mask else self.layer.call(x, training)

    def _scan(self, x: Tensor, training: Any, mask: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """The steps as one loop over them (Keras 3 maps the layer over an unknown number): the output, and the
        step's input and output inside the loop."""
        swap = [1, 0] + list(range(2, len(x.shape)))
        sliced = [ops.transpose(x, swap)]
        if mask is not None:
            sliced.append(ops.transpose(mask, [1, 0] + list(range(2, len(mask.shape)))))
        inside: list = []       # the step's input and output in the loop

        def body(_: list, rows: list) -> tuple[list, list]:
            inside[:] = [rows[0], self._step(rows[0], training, rows[1] if mask is not None else None)]
            return inside[1:], []
        y, = functional_ops._loop(self.name, [], sliced, body, False, True, lambda j, v: tuple(v.shape))
        return ops.transpose(y, swap), inside[0], inside[1]


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
