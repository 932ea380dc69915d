"""``tf.debugging``: the assertions and numeric checks under their TF1.13+ names."""
from __future__ import annotations

from core import errors as _errors
from static_api.ops import (Assert, assert_equal, assert_greater, assert_greater_equal, assert_less, assert_less_equal,
                            assert_negative, assert_non_negative, assert_non_positive, assert_none_equal,
                            assert_positive, check_numerics, verify_tensor_all_finite)

__all__ = ["Assert", "assert_all_finite", "assert_equal", "assert_greater", "assert_greater_equal", "assert_less",
           "assert_less_equal", "assert_negative", "assert_non_negative", "assert_non_positive", "assert_none_equal",
           "assert_positive", "check_numerics"]

assert_all_finite = verify_tensor_all_finite

__getattr__ = _errors.missing_names("static_api.debugging")     # a missing public name says so
