"""``tf.errors``: the error classes a Session raises, with TensorFlow's names."""
from core.errors import FailedPreconditionError, InvalidArgumentError, OpError

__all__ = ["OpError", "InvalidArgumentError", "FailedPreconditionError", "NotFoundError", "AlreadyExistsError",
           "OutOfRangeError"]


class NotFoundError(OpError):
    pass


class AlreadyExistsError(OpError):
    pass


class OutOfRangeError(OpError):
    """An iterator has no element left (``get_next`` at the end of its dataset)."""
