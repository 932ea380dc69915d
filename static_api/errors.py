"""``tf.errors``: the error classes a Session raises, with TensorFlow's names."""
from core.errors import InvalidArgumentError, OpError

__all__ = ["OpError", "InvalidArgumentError", "FailedPreconditionError", "NotFoundError", "AlreadyExistsError"]


class FailedPreconditionError(OpError):
    pass


class NotFoundError(OpError):
    pass


class AlreadyExistsError(OpError):
    pass
