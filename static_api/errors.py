"""``tf.errors``: the error classes a Session raises, with TensorFlow's names."""
from core.errors import FailedPreconditionError, InvalidArgumentError, OpError

__all__ = ["OpError", "InvalidArgumentError", "FailedPreconditionError", "NotFoundError", "AlreadyExistsError"]


class NotFoundError(OpError):
    pass


class AlreadyExistsError(OpError):
    pass
