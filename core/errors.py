"""Error classes for bad input.

Each inherits from both the built-in class TensorFlow raises and the one PyTorch
raises for the same mistake, so code written for either catches it unchanged.
TensorFlow's run-time errors (``tf.errors.*``) come from ``backends.errors``, whose
kernels raise them while a Session runs.
"""
from backends.errors import FailedPreconditionError, IndexOutOfRange, InvalidArgumentError, OpError  # noqa: F401  (re-exported)


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit the op (TF: ValueError, PyTorch: RuntimeError)."""


class DTypeError(TypeError, RuntimeError):
    """A dtype the op does not accept (TF: TypeError, PyTorch: RuntimeError)."""


class DeviceError(RuntimeError, ValueError):
    """Inputs on different devices (PyTorch: RuntimeError)."""


class ArgumentError(ValueError, RuntimeError):
    """An op argument out of its range, e.g. stride 0 (TF: ValueError when the graph is built, PyTorch:
    RuntimeError)."""


class IndexShapeError(ShapeError, IndexError):
    """An index past the end of a dimension (PyTorch: IndexError, which also ends Python's iteration over a
    tensor; TF: ValueError when the graph is built)."""
