"""``tf.contrib`` (TF1): the few pieces TF1 tutorials use, in ``tf.contrib.layers``."""
from core import errors as _errors
from static_api.contrib import layers

__all__ = ["layers"]

__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
