"""``tf.Variable`` and initializers."""
from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator, Sequence

import numpy

import core
from core import state as _state
from core.op import Op
from core.ops import random as random_ops
from core.ops.shape import Shape
from static_api.dtypes import as_dtype
from static_api.graph import (AssignOp, Tensor, VariableOp, convert_to_tensor, get_default_graph, get_default_session,
                              named)
from static_api.ops import _t, group, no_op, stack

GLOBAL_VARIABLES, TRAINABLE_VARIABLES = "variables", "trainable_variables"
LOCAL_VARIABLES, METRIC_VARIABLES = "local_variables", "metric_variables"
REGULARIZATION_LOSSES = "regularization_losses"     # penalties that tf.losses.get_regularization_loss() adds up
MOVING_AVERAGE_VARIABLES = "moving_average_variables"   # the variables a tf.train.ExponentialMovingAverage averages


class _InitializedValue(Op):
    """TF1's ``cond(is_variable_initialized(v), v.read_value, lambda: v.initial_value)`` as one step: a copy of
    variable ``key``'s value where the running session holds one, else the input (the initial value, computed
    either way, as TF computes a tensor from outside a cond before its Switch)."""

    name = "InitializedValue"
    arg_names = ("initial_value",)
    differentiable = False
    pure = False        # reads the session's variables

    def __init__(self, key: str) -> None:
        self.key = key

    def infer(self, initial_value):
        return [(initial_value.shape, initial_value.dtype)]

    def forward(self, be, initial_value):
        st = _state.active()
        return st.read(self.key).copy() if self.key in st else initial_value


class _VariableCheck(Op):
    """Whether the running session holds variable ``key`` (``is_initialized``: a bool scalar), or its rank read
    from the value it holds (a missing one is TF's FailedPreconditionError): what TF1's
    ``is_variable_initialized`` and ``assert_variables_initialized`` run."""

    arg_names = ()
    differentiable = False
    pure = False        # reads the session's variables

    def __init__(self, key: str, ndim: int, is_initialized: bool) -> None:
        self.key, self.ndim, self.is_initialized = key, ndim, is_initialized
        self.name = "IsVariableInitialized" if is_initialized else "Rank"

    def infer(self):
        return [((), numpy.dtype(numpy.bool_ if self.is_initialized else numpy.int32))]

    def forward(self, be):
        st = _state.active()
        if self.is_initialized:
            return be.xp.asarray(self.key in st)
        return be.xp.asarray(st.read(self.key).ndim, dtype=numpy.int32)


class Variable(Tensor):
    """A graph value that persists across ``Session.run`` calls; it is the output of its VariableV2 op."""

    _op_result = Tensor     # ``w * 2`` is a plain Tensor, as in TF1 (not a second variable)

    def __new__(cls, initial_value: Any = None, trainable: bool = True, name: str | None = None,
                dtype: Any = None, collections: Sequence[str] | None = None) -> "Variable":
        g = get_default_graph()
        # As TF1's init_scope: a variable, its initial value and its initializer depend on no enclosing
        # control_dependencies (the optimizer's slots made inside ``with tf.control_dependencies(update_ops)``
        # would otherwise run the batch-norm updates, and need their inputs fed, to initialize or be read).
        # Named as TF1's: a scope "name" (made unique) holds the variable op "name", "name/initial_value"
        # (or "name/Initializer/..." from a callable) and the initializer "name/Assign".
        with g.control_dependencies(None), g.name_scope(name or "Variable", validate=False) as scope:
            if callable(initial_value) and not isinstance(initial_value, Tensor):
                with g.name_scope("Initializer"):
                    initial_value = initial_value()
            # As TF's convert_to_tensor: a Python value must fit the dtype, a tensor must already have it.
            init = convert_to_tensor(initial_value, dtype, name="initial_value", graph=g)
            if None in init.shape:
                raise ValueError(f"Variable: initial value must have a fully defined shape, got {init.shape}")
            read = VariableOp(init.shape, init.dtype)
            var = g._source(read, scope, cls)
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

    def _read_now(self) -> Tensor:
        """A read of the variable made here, under the enclosing control dependencies, as TF1 reads a ref
        variable where an op uses it: it runs after them and takes the buffer the session holds then (the
        variable's own op may have run earlier in the step)."""
        read = VariableOp(self.shape, self.dtype)
        read.key = self.key
        return self.graph._source(read, f"{self.op.name}/read")

    def initialized_value(self) -> Tensor:
        """TF1's: the variable's value when the session has initialized it, else its initial value, so that
        another variable may start from it whatever order ``global_variables_initializer`` runs them in (a
        slot, an average).  As TF's, it depends on no enclosing ``control_dependencies`` (``init_scope``)."""
        with self.graph.control_dependencies(None):
            return core.apply(_InitializedValue(self.key), self.initial_value)

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


def is_variable_initialized(variable: Variable) -> Tensor:
    """TF1's: a bool scalar, true once the session running it holds the variable's value."""
    if not isinstance(variable, Variable):
        raise TypeError(f"is_variable_initialized: argument 'variable' must be a Variable, got "
                        f"{type(variable).__name__}")
    return variable.graph._source(_VariableCheck(variable.key, variable.ndim, True), "IsVariableInitialized")


def assert_variables_initialized(var_list: Sequence[Variable] | None = None) -> Any:
    """TF1's: an op that reads each variable's rank (default: every global and local variable), so running it
    raises FailedPreconditionError, naming the variable, while one is not initialized; a no-op for none."""
    g = get_default_graph()
    var_list = (global_variables() + g.get_collection(LOCAL_VARIABLES)) if var_list is None else list(var_list)
    if not var_list:
        return no_op()
    ranks = [g._source(_VariableCheck(v.key, v.ndim, False), "Rank") for v in var_list]
    return ranks[0] if len(ranks) == 1 else stack(ranks)


def moving_average_variables() -> list:
    """The variables ``ExponentialMovingAverage.apply`` made averages of (``GraphKeys.MOVING_AVERAGE_VARIABLES``;
    a Tensor's average is not listed, as in TF1)."""
    return get_default_graph().get_collection(MOVING_AVERAGE_VARIABLES)


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
    """(fan_in, fan_out) as TF's ``_compute_fans``: a dense kernel (in, out); a convolution kernel (..., in, out)
    times its receptive field; a vector its length both ways; a scalar (1, 1)."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(numpy.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def _float_dtype(fn: str, dtype: Any) -> numpy.dtype:
    """TF1's ``_assert_float_dtype``: the variance-scaling family makes floating-point values only."""
    dtype = as_dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"{fn}: Argument `dtype` is expected to be floating point. Received: {dtype.name}.")
    return dtype


def _no_partition(fn: str, partition_info: Any) -> None:
    if partition_info is not None:
        raise NotImplementedError(f"{fn}: partition_info (partitioned variables) is not supported in dualflow")


class variance_scaling_initializer(Initializer):
    """TF1's VarianceScaling: values of variance ``scale / n``, n being fan_in, fan_out or their mean
    (``mode``; at least 1).  ``distribution`` "truncated_normal" (and TF1's deprecated alias "normal") draws
    a normal truncated at two standard deviations whose stddev is divided by 0.87962566103423978 (the std of
    a unit normal truncated there), so that the values' std is ``sqrt(scale / n)``; "untruncated_normal" a
    normal of that std; "uniform" U(-limit, limit) with ``limit = sqrt(3 * scale / n)``.

        >>> w = variance_scaling_initializer(2.0, "fan_in", "uniform", seed=0)((3, 3, 16, 32))
        >>> bool(abs(w).max() <= (3 * 2.0 / (3 * 3 * 16)) ** 0.5)
        True
    """

    _name = "variance_scaling_initializer"

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None, dtype: Any = numpy.float32) -> None:
        if scale <= 0.0:
            raise ValueError(f"{self._name}: Argument `scale` must be a positive float. Received: {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"{self._name}: Argument `mode` should be one of ('fan_in', 'fan_out', 'fan_avg'). "
                             f"Received: {mode}")
        distribution = distribution.lower()
        if distribution not in ("normal", "uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"{self._name}: Argument `distribution` should be one of ('normal', 'uniform', "
                             f"'truncated_normal', 'untruncated_normal'). Received: {distribution}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed
        self.dtype = _float_dtype(self._name, dtype)

    def __call__(self, shape: Sequence[int], dtype: Any = None, partition_info: Any = None) -> numpy.ndarray:
        _no_partition(self._name, partition_info)
        dtype = self.dtype if dtype is None else _float_dtype(self._name, dtype)
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution in ("normal", "truncated_normal"):
            return truncated_normal_initializer(0.0, math.sqrt(scale) / .87962566103423978, self.seed)(shape, dtype)
        if self.distribution == "untruncated_normal":
            return random_normal_initializer(0.0, math.sqrt(scale), self.seed)(shape, dtype)
        limit = math.sqrt(3.0 * scale)
        return random_uniform_initializer(-limit, limit, self.seed)(shape, dtype)


class glorot_uniform_initializer(variance_scaling_initializer):
    """U(-limit, limit) with ``limit = sqrt(6 / (fan_in + fan_out))``.  As TF1's GlorotUniform, the
    ``dtype`` argument is accepted but the default dtype stays float32."""

    _name = "glorot_uniform_initializer"

    def __init__(self, seed: int | None = None, dtype: Any = numpy.float32) -> None:
        super().__init__(1.0, "fan_avg", "uniform", seed)


class glorot_normal_initializer(variance_scaling_initializer):
    """A normal truncated at two standard deviations, of std ``sqrt(2 / (fan_in + fan_out))`` after the
    truncation (TF1's GlorotNormal; like GlorotUniform, its default dtype stays float32)."""

    _name = "glorot_normal_initializer"

    def __init__(self, seed: int | None = None, dtype: Any = numpy.float32) -> None:
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)


def lecun_normal(seed: int | None = None) -> variance_scaling_initializer:
    """``tf.initializers.lecun_normal``: truncated normal of std ``sqrt(1 / fan_in)``."""
    return variance_scaling_initializer(1.0, "fan_in", "truncated_normal", seed)


def lecun_uniform(seed: int | None = None) -> variance_scaling_initializer:
    """``tf.initializers.lecun_uniform``: U(-limit, limit), ``limit = sqrt(3 / fan_in)``."""
    return variance_scaling_initializer(1.0, "fan_in", "uniform", seed)


def he_normal(seed: int | None = None) -> variance_scaling_initializer:
    """``tf.initializers.he_normal``: truncated normal of std ``sqrt(2 / fan_in)``."""
    return variance_scaling_initializer(2.0, "fan_in", "truncated_normal", seed)


def he_uniform(seed: int | None = None) -> variance_scaling_initializer:
    """``tf.initializers.he_uniform``: U(-limit, limit), ``limit = sqrt(6 / fan_in)``."""
    return variance_scaling_initializer(2.0, "fan_in", "uniform", seed)


class orthogonal_initializer(Initializer):
    """TF1's Orthogonal: ``gain`` times the Q of a QR of a normal matrix, each column's sign set by R's
    diagonal (so Q is uniform over orthogonal matrices).  A shape (..., n) is a (prod(...), n) matrix:
    orthogonal columns, or rows when it is wider than tall.

        >>> q = orthogonal_initializer(seed=0)((4, 3))
        >>> bool(numpy.allclose(q.T @ q, numpy.eye(3), atol=1e-6))
        True
    """

    _name = "orthogonal_initializer"

    def __init__(self, gain: float = 1.0, seed: int | None = None, dtype: Any = numpy.float32) -> None:
        self.gain, self.seed, self.dtype = gain, seed, _float_dtype(self._name, dtype)

    def __call__(self, shape: Sequence[int], dtype: Any = None, partition_info: Any = None) -> numpy.ndarray:
        _no_partition(self._name, partition_info)
        dtype = self.dtype if dtype is None else _float_dtype(self._name, dtype)
        if len(shape) < 2:
            raise ValueError(f"{self._name}: The tensor to initialize, specified by argument `shape` must be at "
                             f"least two-dimensional. Received shape={list(shape)}")
        rows, cols = int(numpy.prod(shape[:-1])), int(shape[-1])
        a = _rng(self.seed).standard_normal((cols, rows) if rows < cols else (rows, cols))
        q, r = numpy.linalg.qr(a)       # the reduced factorization, as TF's qr(full_matrices=False)
        q = q * numpy.sign(numpy.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(dtype)


class identity_initializer(Initializer):
    """``tf.initializers.identity`` (TF1 has no top-level name for it): ``gain`` times the identity matrix,
    2-D shapes only (a non-square one has ones on its main diagonal)."""

    _name = "initializers.identity"

    def __init__(self, gain: float = 1.0, dtype: Any = numpy.float32) -> None:
        self.gain, self.dtype = gain, _float_dtype(self._name, dtype)

    def __call__(self, shape: Sequence[int], dtype: Any = None, partition_info: Any = None) -> numpy.ndarray:
        _no_partition(self._name, partition_info)
        if len(shape) != 2:
            raise ValueError(f"{self._name}: The tensor to initialize, specified by argument `shape` must be "
                             f"two-dimensional. Received shape={list(shape)}")
        dtype = self.dtype if dtype is None else as_dtype(dtype)
        return (self.gain * numpy.eye(*shape)).astype(dtype)


def _standard(kind: str, shape: Any, dtype: Any, seed: int | None, name: str) -> Tensor:
    """A run-time draw (``core.ops.random.RandomStandard``): each ``Session.run`` draws anew, as TF1's random
    ops (a constant drawn once would give every step the same noise)."""
    g = get_default_graph()
    dtype = as_dtype(dtype)
    if isinstance(shape, Tensor):
        if isinstance(shape.node.op, Shape):        # tf.shape(x): x's shape at run time, a plannable draw
            op = random_ops.RandomStandard(kind, None, dtype, _generator(g, seed), like=True)
            return core.apply(op, shape.node.inputs[0])
        op = random_ops.RandomStandard(kind, None, dtype, _generator(g, seed))
        return core.apply(op, core.cast(shape, numpy.int64))
    return g._source(random_ops.RandomStandard(kind, [int(d) for d in shape], dtype, _generator(g, seed)), name)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=numpy.float32, seed=None, name=None):
    """``tf.random_normal``: ``standard * stddev + mean``, as TF composes it, drawn anew at each run."""
    rnd = _standard("normal", shape, dtype, seed, "RandomStandardNormal")
    return named(core.add(core.mul(rnd, _t(stddev, like=rnd)), _t(mean, like=rnd)), name)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=numpy.float32, seed=None, name=None):
    """``tf.truncated_normal``: normals redrawn beyond two standard deviations, scaled and shifted, drawn anew
    at each run."""
    rnd = _standard("truncated_normal", shape, dtype, seed, "TruncatedNormal")
    return named(core.add(core.mul(rnd, _t(stddev, like=rnd)), _t(mean, like=rnd)), name)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=numpy.float32, seed=None, name=None):
    """``tf.random_uniform``: floats ``minval + u * (maxval - minval)`` (TF's order of operations), drawn anew
    at each run; integer dtypes raise NotImplementedError."""
    if as_dtype(dtype).kind != "f":
        raise NotImplementedError("tf.random_uniform: integer dtypes are not implemented in dualflow")
    rnd = _standard("uniform", shape, dtype, seed, "RandomUniform")
    lo, hi = _t(minval, like=rnd), _t(1.0 if maxval is None else maxval, like=rnd)
    return named(core.add(core.mul(rnd, core.sub(hi, lo)), lo), name)


def _generator(g: Any, seed: int | None) -> core.Generator:
    """The op's stream: its own seed, else one derived from the graph seed (fresh entropy without either)."""
    return core.Generator(seed if seed is not None else g.next_seed())


def random_shuffle(value: Any, seed: int | None = None, name: str | None = None) -> Tensor:
    """``tf.random_shuffle``: ``value`` with its first axis in a new random order at each ``Session.run``."""
    x = _t(value)
    return named(random_ops.random_shuffle(x, _generator(x.graph, seed)), name)


def _categorical(fn: str, logits: Any, num_samples: Any, dtype: Any, seed: int | None, name: str) -> Tensor:
    dtype = as_dtype(dtype) if dtype is not None else numpy.dtype(numpy.int64)
    if dtype not in (numpy.int32, numpy.int64):
        raise ValueError(f"{fn}: Argument `dtype` got invalid value {dtype.name}. Accepted dtypes are "
                         "(tf.int32, tf.int64).")
    if isinstance(num_samples, Tensor):
        raise NotImplementedError(f"{fn}: num_samples as a tensor is not supported in dualflow; pass an int")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, numpy.integer)):
        raise TypeError(f"{fn}: argument 'num_samples' expected an int, got {type(num_samples).__name__}")
    g = get_default_graph()
    with g.name_scope(name):
        x = _t(logits)
        if x.ndim != 2:
            raise ValueError(f"{fn}: argument 'logits' expected a 2-D tensor [batch_size, num_classes], got shape "
                             f"{tuple(x.shape)}")
        return random_ops.multinomial(x, int(num_samples), dtype, _generator(x.graph, seed))


def multinomial(logits: Any, num_samples: Any, seed: int | None = None, name: str | None = None,
                output_dtype: Any = None) -> Tensor:
    """``tf.multinomial``: ``num_samples`` class indices per row of 2-D ``logits`` (unnormalized log
    probabilities), int64 unless ``output_dtype`` is int32; drawn anew at each ``Session.run``."""
    return _categorical("multinomial", logits, num_samples, output_dtype, seed, name or "multinomial")


def categorical(logits: Any, num_samples: Any, dtype: Any = None, seed: int | None = None,
                name: str | None = None) -> Tensor:
    """``tf.random.categorical``: ``multinomial`` with the output type as ``dtype``."""
    return _categorical("categorical", logits, num_samples, dtype, seed, name or "categorical")


AUTO_REUSE = "AUTO_REUSE"
_VAR_STORE = "variable_store"       # the graph collection of get_variable's variables (shared by all threads)


class VariableScope:
    """TF1's variable scope object, what ``variable_scope`` yields and ``get_variable_scope`` returns: its
    ``name`` (the prefix of its variables), its ``reuse`` and the defaults its ``get_variable`` calls take
    (``initializer``, ``regularizer``, ``dtype``), which the scopes opened inside it inherit."""

    def __init__(self, name: str, reuse: Any = None, initializer: Any = None, regularizer: Any = None,
                 dtype: Any = numpy.float32, name_scope: str = "") -> None:
        self._name, self._reuse = name, reuse
        self._initializer, self._regularizer, self._dtype = initializer, regularizer, as_dtype(dtype)
        self.original_name_scope = name_scope

    name = property(lambda self: self._name)
    reuse = property(lambda self: self._reuse)
    initializer = property(lambda self: self._initializer)
    regularizer = property(lambda self: self._regularizer)
    dtype = property(lambda self: self._dtype)

    def reuse_variables(self) -> None:
        """From now on ``get_variable`` in this scope returns existing variables (TF1's only way back is a
        new scope)."""
        self._reuse = True

    def set_initializer(self, initializer: Any) -> None:
        self._initializer = initializer

    def set_regularizer(self, regularizer: Any) -> None:
        self._regularizer = regularizer

    def set_dtype(self, dtype: Any) -> None:
        self._dtype = as_dtype(dtype)

    def __repr__(self) -> str:
        return f"<VariableScope {self._name!r} reuse={self._reuse}>"


def _scope_stack(g: Any) -> list:
    """This thread's stack of open ``VariableScope``s in graph ``g``, the root scope (name "") first (TF1 keeps
    variable scopes per thread)."""
    stack = g.per_thread("variable_scope")
    if not stack:
        stack.append(VariableScope(""))
    return stack


def get_variable_scope() -> VariableScope:
    """The innermost open variable scope (the root one, name "", outside any)."""
    return _scope_stack(get_default_graph())[-1]


@contextlib.contextmanager
def variable_scope(name_or_scope: Any, default_name: str | None = None, values: Any = None, initializer: Any = None,
                   regularizer: Any = None, caching_device: Any = None, partitioner: Any = None,
                   custom_getter: Any = None, reuse: Any = None, dtype: Any = None, use_resource: Any = None,
                   constraint: Any = None, auxiliary_name_scope: bool = True) -> Iterator[VariableScope]:
    """TF1's variable scope: prefixes ``get_variable`` names, decides reuse (inherited by inner scopes:
    True, ``AUTO_REUSE`` or None = create), gives its variables a default ``initializer``, ``regularizer`` and
    ``dtype`` (inherited too), and opens a name scope of the same name for the ops inside.  A scope object
    re-enters that scope with its settings; ``default_name`` (with ``name_or_scope`` None) is made unique, as
    TF1 makes it (``dense``, ``dense_1``, ...)."""
    for arg, given in (("caching_device", caching_device), ("partitioner", partitioner),
                       ("custom_getter", custom_getter), ("constraint", constraint)):
        if given is not None:
            raise NotImplementedError(f"variable_scope: {arg}= is not supported")
    g = get_default_graph()
    stack = _scope_stack(g)
    parent = stack[-1]
    if isinstance(name_or_scope, VariableScope):
        base, path = name_or_scope, name_or_scope.name
        local = path.rsplit("/", 1)[-1]
    else:
        if name_or_scope:
            local = str(name_or_scope).rstrip("/")
        elif default_name:
            counts = g.per_thread("variable_scope_counts")
            prefix = f"{parent.name}/{default_name}" if parent.name else default_name
            n = counts.count(prefix)
            counts.append(prefix)
            local = default_name if n == 0 else f"{default_name}_{n}"
        else:
            raise ValueError("variable_scope: give name_or_scope or default_name")
        base = parent
        path = f"{parent.name}/{local}" if parent.name else local
    scope = VariableScope(path, reuse if reuse not in (None, False) else base.reuse,
                          base.initializer if initializer is None else initializer,
                          base.regularizer if regularizer is None else regularizer,
                          base.dtype if dtype is None else dtype)
    stack.append(scope)
    try:
        if auxiliary_name_scope:
            # a new name scope each time, a scope object's too (``vs_1`` the second time), as TF1's
            with g.name_scope(local) as ns:
                scope.original_name_scope = ns
                yield scope
        else:
            yield scope
    finally:
        stack.pop()


def get_variable(name: str, shape: Sequence[int] | None = None, dtype: Any = None, initializer: Any = None,
                 regularizer: Any = None, trainable: bool = True) -> Variable:
    """A variable named within the current variable scope: made once, then shared where the scope reuses.
    Without an ``initializer`` it takes the scope's, else Glorot uniform (zeros for integers and booleans, as
    TF1); without a ``regularizer`` the scope's; ``regularizer(variable)`` (when not None) goes to
    ``GraphKeys.REGULARIZATION_LOSSES`` when it is made."""
    g = get_default_graph()
    scope = _scope_stack(g)[-1]
    dtype = scope.dtype if dtype is None else as_dtype(dtype)
    full, reuse = (f"{scope.name}/{name}" if scope.name else name), scope.reuse
    store = {v.op.name: v for v in g.get_collection(_VAR_STORE)}
    if full in store:
        if reuse in (True, AUTO_REUSE):
            return store[full]
        raise ValueError(f"Variable {full} already exists, disallowed. Did you mean to set reuse=True or "
                         "reuse=tf.AUTO_REUSE in VarScope?")
    if reuse is True:
        raise ValueError(f"Variable {full} does not exist, or was not created with tf.get_variable(). Did you "
                         "mean to set reuse=tf.AUTO_REUSE in VarScope?")
    init = initializer if initializer is not None else scope.initializer
    if init is None:
        init = glorot_uniform_initializer() if dtype.kind == "f" else zeros_initializer()
    value = init(shape, dtype) if callable(init) else init     # may be an array
    with g.name_scope_cleared():        # variable names follow variable scopes, not name scopes
        var = Variable(value, trainable=trainable, name=full, dtype=dtype)
    g.add_to_collection(_VAR_STORE, var)
    regularizer = regularizer if regularizer is not None else scope.regularizer
    penalty = regularizer(var) if regularizer is not None else None
    if penalty is not None:
        g.add_to_collection(REGULARIZATION_LOSSES, penalty)
    return var


def set_random_seed(seed: int) -> None:
    get_default_graph().seed = int(seed)
