"""``tf.errors``: the error classes a Session raises, with TensorFlow's names."""


class OpError(Exception):
    def __init__(self, node_def=None, op=None, message: str = "") -> None:
        super().__init__(message)
        self.node_def, self.op, self.message = node_def, op, message


class InvalidArgumentError(OpError):
    pass


class FailedPreconditionError(OpError):
    pass


class NotFoundError(OpError):
    pass
