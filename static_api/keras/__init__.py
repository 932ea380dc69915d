"""Keras-style models on the static graph: ``tf.keras.layers``, ``models``, ``optimizers``, ``callbacks``."""
import numpy

from core import errors as _errors
from static_api import dtypes
from static_api.keras import (activations, backend, callbacks, layers, losses, metrics, models, optimizers,
                               regularizers)
from static_api.keras.layers import Input
from static_api.keras.models import Model, Sequential


class utils:
    @staticmethod
    def to_categorical(y, num_classes=None, dtype=None):
        """One-hot rows, in ``backend.floatx()`` unless ``dtype`` says otherwise (Keras 3's default)."""
        y = numpy.asarray(y, dtype=numpy.int64).reshape(-1)
        n = int(y.max()) + 1 if num_classes is None else num_classes
        return numpy.eye(n, dtype=dtypes.keras_dtype(backend.floatx() if dtype is None else dtype))[y]


__all__ = ["activations", "backend", "callbacks", "layers", "regularizers", "losses", "metrics", "models", "optimizers",
           "Input",
           "Model", "Sequential", "utils"]


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
