"""Errors a kernel raises while it runs: TensorFlow's ``OpError`` family, which ``core.errors`` and
``tf.errors`` re-export.  They live here, at the bottom layer, because the kernels that detect them do."""


class OpError(Exception):
    """TensorFlow's ``tf.errors.OpError``: a kernel failed while running."""

    def __init__(self, node_def=None, op=None, message: str = "") -> None:
        super().__init__(message)
        self.node_def, self.op, self.message = node_def, op, message


class InvalidArgumentError(OpError):
    """``tf.errors.InvalidArgumentError``."""


class FailedPreconditionError(OpError):
    """``tf.errors.FailedPreconditionError``: e.g. a variable read before it was given a value."""


class IndexOutOfRange(InvalidArgumentError, IndexError, RuntimeError):
    """An index outside its dimension (TF: InvalidArgumentError when the kernel runs; PyTorch: IndexError for
    targets and embeddings, RuntimeError for gather and one_hot)."""

    def __init__(self, message: str) -> None:
        super().__init__(None, None, message)


class ValueOutOfRange(InvalidArgumentError, RuntimeError):
    """A value outside the domain a kernel accepts (PyTorch: RuntimeError, e.g. a binary cross-entropy input
    outside [0, 1]; TF: InvalidArgumentError)."""

    def __init__(self, message: str) -> None:
        super().__init__(None, None, message)


class LinAlgError(InvalidArgumentError, RuntimeError):
    """A factorization that failed on its input: a zero pivot in an LU, a leading minor that is not
    positive-definite in a Cholesky (TF: InvalidArgumentError when the kernel runs; PyTorch:
    ``torch.linalg.LinAlgError``, a RuntimeError).  ``batch`` is the failing matrix's index in the flattened
    batch (None for a single matrix) and ``info`` LAPACK's: the order of that pivot or minor (from 1), so a
    frontend can word the error as its library does."""

    def __init__(self, message: str, batch: int | None, info: int) -> None:
        super().__init__(None, None, message)
        self.batch, self.info = batch, info
