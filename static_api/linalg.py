"""``tf.linalg``: the matrix functions under their TF1.13+ names (``tf.linalg.band_part`` is
``tf.matrix_band_part``, ...)."""
from __future__ import annotations

from core import errors as _errors
from static_api.nn import l2_normalize
from static_api.ops import (einsum, eye, matmul, matrix_band_part, matrix_diag, matrix_diag_part, matrix_transpose,
                            norm, tensordot, trace)

__all__ = ["adjoint", "band_part", "diag", "diag_part", "einsum", "eye", "l2_normalize", "matmul",
           "matrix_transpose", "norm", "tensordot", "trace", "transpose"]

band_part, diag, diag_part = matrix_band_part, matrix_diag, matrix_diag_part
transpose = adjoint = matrix_transpose      # real tensors: the adjoint is the transpose

__getattr__ = _errors.missing_names("static_api.linalg")     # a missing public name says so
