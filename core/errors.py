"""Error classes for bad input.

Each inherits from both the built-in class TensorFlow raises and the one PyTorch
raises for the same mistake, so code written for either catches it unchanged.
"""


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit the op (TF: ValueError, PyTorch: RuntimeError)."""


class DTypeError(TypeError, RuntimeError):
    """A dtype the op does not accept (TF: TypeError, PyTorch: RuntimeError)."""


class DeviceError(RuntimeError, ValueError):
    """Inputs on different devices (PyTorch: RuntimeError)."""
