"""Error classes for bad input.

Each inherits from both the built-in class TensorFlow raises and the one PyTorch
raises for the same mistake, so code written for either catches it unchanged.
TensorFlow's run-time errors (``tf.errors.*``) come from ``backends.errors``, whose
kernels raise them while a Session runs.
"""
from backends.errors import (FailedPreconditionError, IndexOutOfRange, InvalidArgumentError,  # noqa: F401
                             LinAlgError, OpError)      # (re-exported)


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


class MissingNameError(AttributeError, NotImplementedError):
    """A public name that PyTorch, TF or Keras have and dualflow does not: an ``AttributeError``, so ``hasattr``
    and ``getattr(..., default)`` keep working, that says so (and a ``NotImplementedError``)."""


def missing_names(module_name: str):
    """A module-level ``__getattr__`` for ``module_name``: a public name the module lacks raises
    ``MissingNameError`` pointing at docs/compat.md; a private or dunder name raises a plain
    ``AttributeError``, so ``from m import *``, pickling, copying and test collectors probe as usual.

        >>> __getattr__ = missing_names("static_api.nn")
        >>> try:
        ...     __getattr__("ctc_loss")
        ... except AttributeError as exc:
        ...     print(exc)
        module 'static_api.nn' has no attribute 'ctc_loss': ctc_loss is not implemented in dualflow (see docs/compat.md)
    """
    def __getattr__(name: str):
        if name.startswith("_"):
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}", name=name)
        raise MissingNameError(f"module {module_name!r} has no attribute {name!r}: {name} is not implemented in "
                               "dualflow (see docs/compat.md)", name=name)
    return __getattr__
