"""``tf.math``: TF1.13+'s home of the elementwise and reduction ops (``tf.math.log``, ``tf.math.reduce_sum``),
the same functions as the top-level ``tf.*`` ones where TF1 has both."""
from __future__ import annotations

from core import errors as _errors
from static_api.nn import (in_top_k, l2_normalize, log_sigmoid, log_softmax, sigmoid, softmax, softplus, softsign, tanh,
                           top_k, zero_fraction)
from static_api.ops import (abs, acos, add, add_n, argmax, argmin, asin, atan, atan2, bincount, ceil, confusion_matrix,
                            cos, cosh, count_nonzero, cumprod, cumsum, div_no_nan, divide, equal, erf, exp, expm1,
                            floor, floordiv, floormod, greater, greater_equal, is_finite, is_inf, is_nan, less,
                            less_equal, log, log1p, logical_and, logical_or, logical_xor, maximum, minimum, multiply,
                            negative, not_equal, pow, reciprocal, reduce_all, reduce_any, reduce_euclidean_norm,
                            reduce_logsumexp, reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_std, reduce_sum,
                            reduce_variance, round, rsqrt, segment_max, segment_mean, segment_min, segment_prod,
                            segment_sum, sign, sin, sinh, sqrt, square, squared_difference, subtract, tan, truediv,
                            truncatediv, truncatemod, unsorted_segment_max, unsorted_segment_mean, unsorted_segment_min,
                            unsorted_segment_prod, unsorted_segment_sqrt_n, unsorted_segment_sum)

__all__ = ["abs", "accumulate_n", "acos", "add", "add_n", "argmax", "argmin", "asin", "atan", "atan2", "bincount",
           "ceil", "confusion_matrix", "cos", "cosh", "count_nonzero", "cumprod", "cumsum", "divide", "divide_no_nan",
           "equal", "erf", "exp", "expm1", "floor", "floordiv", "floormod", "greater", "greater_equal", "in_top_k",
           "is_finite", "is_inf", "is_nan", "l2_normalize", "less", "less_equal", "log", "log1p", "log_sigmoid",
           "log_softmax", "logical_and", "logical_or", "logical_xor", "maximum", "minimum", "mod", "multiply",
           "negative", "not_equal", "pow", "reciprocal", "reduce_all", "reduce_any", "reduce_euclidean_norm",
           "reduce_logsumexp", "reduce_max", "reduce_mean", "reduce_min", "reduce_prod", "reduce_std", "reduce_sum",
           "reduce_variance", "round", "rsqrt", "scalar_mul", "segment_max", "segment_mean", "segment_min",
           "segment_prod", "segment_sum", "sigmoid", "sign", "sin", "sinh", "softmax", "softplus", "softsign", "sqrt",
           "square", "squared_difference", "subtract", "tan", "tanh", "top_k", "truediv", "truncatediv", "truncatemod",
           "unsorted_segment_max", "unsorted_segment_mean", "unsorted_segment_min", "unsorted_segment_prod",
           "unsorted_segment_sqrt_n", "unsorted_segment_sum", "zero_fraction"]

mod = floormod
divide_no_nan = div_no_nan
accumulate_n = add_n


def scalar_mul(scalar, x, name=None):
    """``scalar * x`` (a number or a 0-d tensor times a tensor)."""
    return multiply(scalar, x, name=name)

__getattr__ = _errors.missing_names("static_api.math")     # a missing public name says so
