"""TensorFlow-1 style static frontend: ``import static_api as tf``.

    >>> import static_api as tf
    >>> g = tf.Graph()
    >>> with g.as_default():
    ...     x = tf.placeholder(tf.float32, shape=(None, 2), name="x")
    ...     y = tf.reduce_sum(x * 2.0)
    ...     with tf.Session() as sess:
    ...         float(sess.run(y, feed_dict={x: [[1.0, 2.0]]}))
    6.0
"""
import sys
from typing import Any

import numpy as _numpy

from core import errors as _errors
from static_api import (app, contrib, data, debugging, errors, flags, gfile, image, layers, linalg, losses, metrics,
                        nn, summary, train)
from static_api import tf_logging as logging
from static_api import tf_math as math
from static_api.control_flow import case, cond, while_loop
from static_api.functional_ops import foldl, foldr, map_fn, scan
from static_api.linalg import (cholesky, cholesky_solve, matrix_determinant, matrix_inverse, matrix_solve,
                              matrix_triangular_solve)
from static_api.config import ConfigProto, GPUOptions, GraphOptions, OptimizerOptions, RunMetadata, RunOptions
from static_api.graph import (Graph, Operation, Tensor, TensorShape, convert_to_tensor, get_default_graph,
                              get_default_session, reset_default_graph)
from static_api.ops import *  # noqa: F401,F403  (the tf namespace of op functions and dtypes)
from static_api.ops import _tuple as tuple  # noqa: E402,A001  (tf.tuple; the builtin is not used here)
from static_api.session import InteractiveSession, Session
from static_api.variables import (AUTO_REUSE, GLOBAL_VARIABLES, LOCAL_VARIABLES, METRIC_VARIABLES,
                                  REGULARIZATION_LOSSES, TRAINABLE_VARIABLES, Variable, assign, assign_add,
                                  assign_sub, constant_initializer, get_variable, global_variables,
                                  global_variables_initializer, glorot_uniform_initializer, initialize_all_variables,
                                  local_variables, local_variables_initializer, ones_initializer, random_normal,
                                  random_normal_initializer, random_uniform, random_uniform_initializer,
                                  set_random_seed, trainable_variables, truncated_normal,
                                  truncated_normal_initializer, variable_scope, variables_initializer,
                                  zeros_initializer)
from static_api.variables import (MOVING_AVERAGE_VARIABLES, VariableScope, assert_variables_initialized,
                                  get_variable_scope, glorot_normal_initializer, is_variable_initialized,
                                  moving_average_variables, multinomial, orthogonal_initializer, random_shuffle,
                                  variance_scaling_initializer)
from static_api import variables as _variables
from static_api import monitored_session as _monitored, session_run_hooks as _hooks
from static_api.graph import ConstOp as _ConstOp

sigmoid, tanh = nn.sigmoid, nn.tanh       # TF1 exports both at the top level too (tf.sigmoid, tf.tanh)
random_crop = image.random_crop           # and tf.random_crop
where = where_v1          # tf.where is TF1's Select (rows by a vector condition); tf.where_v2 broadcasts


class GraphKeys:
    GLOBAL_VARIABLES = GLOBAL_VARIABLES
    TRAINABLE_VARIABLES = TRAINABLE_VARIABLES
    LOCAL_VARIABLES = LOCAL_VARIABLES
    METRIC_VARIABLES = METRIC_VARIABLES
    UPDATE_OPS = layers.UPDATE_OPS
    LOSSES = losses.LOSSES
    REGULARIZATION_LOSSES = REGULARIZATION_LOSSES
    MOVING_AVERAGE_VARIABLES = MOVING_AVERAGE_VARIABLES
    # where tf.train.Scaffold and the session-run hooks find their pieces
    GLOBAL_STEP, SAVERS = _hooks.GLOBAL_STEP, _hooks.SAVERS
    INIT_OP, LOCAL_INIT_OP, READY_OP = _monitored.INIT_OP, _monitored.LOCAL_INIT_OP, _monitored.READY_OP
    READY_FOR_LOCAL_INIT_OP, SUMMARY_OP = _monitored.READY_FOR_LOCAL_INIT_OP, _monitored.SUMMARY_OP


def get_collection(key: str, scope: str | None = None) -> list:
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key: str) -> list:
    return get_default_graph().get_collection_ref(key)


def add_to_collection(name: str, value: Any) -> None:
    get_default_graph().add_to_collection(name, value)


def is_tensor(x: Any) -> bool:
    """``tf.is_tensor``: whether ``x`` is a graph tensor (variables included), not a NumPy or Python value."""
    return isinstance(x, Tensor)


def get_static_value(tensor: Any, partial: bool = False) -> Any:
    """``tf.get_static_value``: a constant's value (a copy), a non-tensor as it is, and None for a tensor known
    only when the graph runs (placeholders, variables, computed values: dualflow folds nothing here, so
    ``partial``, which lets TF return partly folded values, changes nothing)."""
    if not isinstance(tensor, Tensor):
        return tensor
    op = tensor.node.op
    return _numpy.array(op.value) if isinstance(op, _ConstOp) else None


def name_scope(name: str | None, default_name: str | None = None, values: Any = None):
    """TF1's ``tf.name_scope``: ``name`` (or ``default_name`` when it is None) made unique in the current
    scope, a name ending in "/" re-entered as it is, None with no default the root scope."""
    return get_default_graph().name_scope(default_name if name is None else name)


def control_dependencies(control_inputs):
    return get_default_graph().control_dependencies(control_inputs)


class initializers:
    zeros = zeros_initializer
    ones = ones_initializer
    random_normal = random_normal_initializer
    truncated_normal = truncated_normal_initializer
    random_uniform = random_uniform_initializer
    glorot_uniform = glorot_uniform_initializer
    constant = constant_initializer
    variance_scaling = variance_scaling_initializer
    glorot_normal = glorot_normal_initializer
    orthogonal = orthogonal_initializer
    identity = _variables.identity_initializer
    he_normal, he_uniform = _variables.he_normal, _variables.he_uniform
    lecun_normal, lecun_uniform = _variables.lecun_normal, _variables.lecun_uniform
    global_variables = global_variables_initializer
    local_variables = local_variables_initializer
    variables = variables_initializer


class random:
    normal = random_normal
    truncated_normal = truncated_normal
    uniform = random_uniform
    set_seed = set_random_seed
    set_random_seed = set_random_seed
    shuffle = random_shuffle
    multinomial = multinomial
    categorical = _variables.categorical


def disable_v2_behavior() -> None:
    """Accepted: graphs and sessions, TF1's behaviour, are the only mode here."""


disable_eager_execution = disable_v2_behavior


def executing_eagerly() -> bool:
    return False


class compat:
    """``tf.compat.v1.X`` is ``tf.X``: this package is the TF1 API (``import tensorflow.compat.v1 as tf`` programs
    run with ``tf = static_api``)."""

    v1: Any = None      # this module, set at the end of the file


_missing = _errors.missing_names(__name__)


def __getattr__(name: str):
    if name == "keras":     # imported on first use: static_api.keras imports this package
        import importlib
        return importlib.import_module("static_api.keras")
    return _missing(name)


compat.v1 = sys.modules[__name__]
