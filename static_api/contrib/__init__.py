"""``tf.contrib`` (TF1): the few pieces TF1 tutorials use, in ``tf.contrib.layers`` and ``tf.contrib.rnn`` (the
cells of ``tf.nn.rnn_cell`` and ``static_rnn``)."""
from core import errors as _errors
from static_api.contrib import layers
from static_api.nn import rnn_cell as rnn

__all__ = ["layers", "rnn"]

__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
