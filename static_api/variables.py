"""``tf.Variable`` and initializers."""
from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator, Sequence

import numpy

import core
from static_api.dtypes import as_dtype
from static_api.graph import (AssignOp, Tensor, VariableOp, convert_to_tensor, get_default_graph, get_default_session,
                              named)
from static_api.ops import _t, group

GLOBAL_VARIABLES, TRAINABLE_VARIABLES = "variables", "trainable_variables"
LOCAL_VARIABLES, METRIC_VARIABLES = "local_variables", "metric_variables"
REGULARIZATION_LOSSES = "regularization_losses"     # penalties that tf.losses.get_regularization_loss() adds up


class Variable(Tensor):
    """A graph value that persists across ``Session.run`` calls; it is the output of its VariableV2 op."""

    _op_result = Tensor     # ``w * 2`` is a plain Tensor, as in TF1 (not a second variable)

    def __new__(cls, initial_value: Any = None, trainable: bool = True, name: str | None = None,
                dtype: Any = None, collections: Sequence[str] | None = None) -> "Variable":
        g = get_default_graph()
        # As TF1's init_scope: a variable, its initial value and its initializer depend on no enclosing
        # control_dependencies (the optimizer's slots made inside ``with tf.control_dependencies(update_ops)``
        # would otherwise run the batch-norm updates, and need their inputs fed, to initialize or be read).
        with g.control_dependencies(None):
            if callable(initial_value) and not isinstance(initial_value, Tensor):
                initial_value = initial_value()
            # As TF's convert_to_tensor: a Python value must fit the dtype, a tensor must already have it.
            init = convert_to_tensor(initial_value, dtype, graph=g)
            if None in init.shape:
                raise ValueError(f"Variable: initial value must have a fully defined shape, got {init.shape}")
            read = VariableOp(init.shape, init.dtype)
            var = g._source(read, name or "Variable", cls)
            read.key = var.op.name          # the session's State keys variables by name, as TF1 does
            var.trainable = trainable
            var.initializer = core.apply(AssignOp(var), init).op
        var.initial_value = init
        # TF1: the given collections (GLOBAL_VARIABLES by default), and TRAINABLE_VARIABLES for a trainable one.
        for key in list(collections if collections is not None else [GLOBAL_VARIABLES]) + (
                [TRAINABLE_VARIABLES] if trainable else []):
            g.add_to_collection(key, var)
        return var

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def assign(self, value: Any, name: str | None = None) -> Tensor:
        return named(core.apply(AssignOp(self, "assign"), _t(value, like=self)), name)

    def assign_add(self, delta: Any, name: str | None = None) -> Tensor:
        return named(core.apply(AssignOp(self, "add"), _t(delta, like=self)), name)

    def assign_sub(self, delta: Any, name: str | None = None) -> Tensor:
        return named(core.apply(AssignOp(self, "sub"), _t(delta, like=self)), name)

    @property
    def key(self) -> str:
        """The name a session's State holds this variable's value under."""
        return self.node.op.key

    def value(self) -> Tensor:
        return self

    def read_value(self) -> Tensor:
        return core.identity(self)

    def load(self, value: Any, session: Any = None) -> None:
        """Write ``value`` into the variable without adding an op; it is checked as a feed is (same shape, a
        compatible dtype): a wrong shape is a ValueError, as in TensorFlow."""
        session = session or get_default_session()
        if session is None:
            raise ValueError("Either session argument should be provided or default session should be established")
        session.state.assign(self.key, session._check_feed(self, value))

    def __repr__(self) -> str:
        return f"<tf.Variable '{self.op.name}:0' shape={self.shape} dtype={self.dtype.name}>"


def assign(ref: Variable, value: Any, validate_shape: Any = None, use_locking: Any = None,
           name: str | None = None) -> Tensor:
    """``tf.assign``: ``ref.assign(value)``; shapes must match (at build time, and when run)."""
    if validate_shape is False:
        raise NotImplementedError("tf.assign: validate_shape=False (changing a variable's shape) is not supported")
    return ref.assign(value, name=name)


def assign_add(ref: Variable, value: Any, use_locking: Any = None, name: str | None = None) -> Tensor:
    return ref.assign_add(value, name=name)


def assign_sub(ref: Variable, value: Any, use_locking: Any = None, name: str | None = None) -> Tensor:
    return ref.assign_sub(value, name=name)


def global_variables() -> list:
    return get_default_graph().get_collection(GLOBAL_VARIABLES)


def trainable_variables() -> list:
    return get_default_graph().get_collection(TRAINABLE_VARIABLES)


def variables_initializer(var_list: Sequence[Variable], name: str = "init") -> Any:
    return group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer() -> Any:
    return variables_initializer(global_variables())


def local_variables() -> list:
    """The variables made with ``collections=[tf.GraphKeys.LOCAL_VARIABLES]`` (tf.metrics' counters): neither
    global nor saved."""
    return get_default_graph().get_collection(LOCAL_VARIABLES)


def local_variables_initializer() -> Any:
    return variables_initializer(local_variables(), name="init")


initialize_all_variables = global_variables_initializer


# ----- initializers (draw once, at graph construction, from the graph seed) ---------------
class Initializer:
    def __call__(self, shape: Sequence[int], dtype: Any = numpy.float32) -> numpy.ndarray:
        raise NotImplementedError


def _rng(seed: int | None) -> numpy.random.Generator:
    return numpy.random.default_rng(seed if seed is not None else get_default_graph().next_seed())


class zeros_initializer(Initializer):
    def __init__(self, dtype: Any = numpy.float32) -> None:
        self.dtype = as_dtype(dtype)

    def __call__(self, shape, dtype=None):
        return numpy.zeros(shape, dtype=self.dtype if dtype is None else as_dtype(dtype))


class ones_initializer(zeros_initializer):
    def __call__(self, shape, dtype=None):
        return numpy.ones(shape, dtype=self.dtype if dtype is None else as_dtype(dtype))


class constant_initializer(Initializer):
    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def __call__(self, shape, dtype=numpy.float32):
        return numpy.full(shape, self.value, dtype=as_dtype(dtype))


class random_normal_initializer(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 1.0, seed: int | None = None) -> None:
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=numpy.float32):
        return _rng(self.seed).normal(self.mean, self.stddev, size=shape).astype(as_dtype(dtype))


class random_uniform_initializer(Initializer):
    """Uniform in [minval, maxval) (TF1's defaults: [0, 1))."""

    def __init__(self, minval: float = 0.0, maxval: float | None = None, seed: int | None = None) -> None:
        self.minval, self.maxval, self.seed = minval, 1.0 if maxval is None else maxval, seed

    def __call__(self, shape, dtype=numpy.float32):
        return _rng(self.seed).uniform(self.minval, self.maxval, size=shape).astype(as_dtype(dtype))


class truncated_normal_initializer(random_normal_initializer):
    """Normal values redrawn until within two standard deviations of the mean, as TF does."""

    def __call__(self, shape, dtype=numpy.float32):
        rng = _rng(self.seed)
        out = rng.standard_normal(size=shape)
        bad = numpy.abs(out) > 2
        while bad.any():
            out[bad] = rng.standard_normal(size=int(bad.sum()))
            bad = numpy.abs(out) > 2
        return (out * self.stddev + self.mean).astype(as_dtype(dtype))


def _fans(shape: Sequence[int]) -> tuple[int, int]:
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(numpy.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class glorot_uniform_initializer(Initializer):
    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def __call__(self, shape, dtype=numpy.float32):
        fan_in, fan_out = _fans(shape)
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return _rng(self.seed).uniform(-limit, limit, size=shape).astype(as_dtype(dtype))


def random_normal(shape, mean=0.0, stddev=1.0, dtype=numpy.float32, seed=None, name=None):
    return get_default_graph().constant(random_normal_initializer(mean, stddev, seed)(shape, dtype), name=name)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=numpy.float32, seed=None, name=None):
    return get_default_graph().constant(truncated_normal_initializer(mean, stddev, seed)(shape, dtype), name=name)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=numpy.float32, seed=None, name=None):
    return get_default_graph().constant(random_uniform_initializer(minval, maxval, seed)(shape, dtype), name=name)


AUTO_REUSE = "AUTO_REUSE"
_VAR_STORE = "variable_store"       # the graph collection of get_variable's variables (shared by all threads)


def _scope_stack(g: Any) -> list:
    """This thread's stack of (scope path, reuse) in graph ``g`` (TF1 keeps variable scopes per thread)."""
    return g.per_thread("variable_scope")


@contextlib.contextmanager
def variable_scope(name_or_scope: str, reuse: Any = None, default_name: str | None = None) -> Iterator[str]:
    """TF1's variable scope: prefixes ``get_variable`` names, decides reuse (inherited by inner scopes:
    True, ``AUTO_REUSE`` or None = create), and opens a name scope of the same name for the ops inside."""
    g = get_default_graph()
    stack = _scope_stack(g)
    name = name_or_scope or default_name
    if not name:
        raise ValueError("variable_scope: give name_or_scope or default_name")
    inherited = stack[-1][1] if stack else None
    path = f"{stack[-1][0]}/{name.rstrip('/')}" if stack else name.rstrip("/")
    stack.append((path, reuse if reuse not in (None, False) else inherited))
    try:
        with g.name_scope(name):
            yield path
    finally:
        stack.pop()


def get_variable(name: str, shape: Sequence[int] | None = None, dtype: Any = numpy.float32,
                 initializer: Any = None, regularizer: Any = None, trainable: bool = True) -> Variable:
    """A variable named within the current variable scope: made once, then shared where the scope reuses.
    ``regularizer(variable)`` (when not None) goes to ``GraphKeys.REGULARIZATION_LOSSES`` when it is made."""
    g = get_default_graph()
    dtype = as_dtype(dtype)
    stack = _scope_stack(g)
    full, reuse = (f"{stack[-1][0]}/{name}", stack[-1][1]) if stack else (name, None)
    store = {v.op.name: v for v in g.get_collection(_VAR_STORE)}
    if full in store:
        if reuse in (True, AUTO_REUSE):
            return store[full]
        raise ValueError(f"Variable {full} already exists, disallowed. Did you mean to set reuse=True or "
                         "reuse=tf.AUTO_REUSE in VarScope?")
    if reuse is True:
        raise ValueError(f"Variable {full} does not exist, or was not created with tf.get_variable(). Did you "
                         "mean to set reuse=tf.AUTO_REUSE in VarScope?")
    init = glorot_uniform_initializer() if initializer is None else initializer     # may be an array
    value = init(shape, dtype) if callable(init) else init
    with g.name_scope_cleared():        # variable names follow variable scopes, not name scopes
        var = Variable(value, trainable=trainable, name=full, dtype=dtype)
    g.add_to_collection(_VAR_STORE, var)
    penalty = regularizer(var) if regularizer is not None else None
    if penalty is not None:
        g.add_to_collection(REGULARIZATION_LOSSES, penalty)
    return var


def set_random_seed(seed: int) -> None:
    get_default_graph().seed = int(seed)
