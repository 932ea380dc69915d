"""``tf.train``: TF1 optimizers (each step one ApplyUpdates primitive over the session's State) and Saver."""
from __future__ import annotations

import os
import re
from typing import Any, NamedTuple, Sequence

import numpy

import core
from core import errors as _errors
from core import checkpoint
from core.op import apply
from core.ops import optim as optim_ops
from core.ops.state import ApplyUpdates
from backends.switches import switched_off
from static_api import ops
from static_api import tf_logging as logging
from static_api.graph import Operation, Tensor, convert_to_tensor, get_default_graph, named
from static_api.ops import gradients
from static_api.variables import (MOVING_AVERAGE_VARIABLES, Variable, get_variable_scope, global_variables,
                                  moving_average_variables, trainable_variables)


class _ApplyGradients(ApplyUpdates):
    """Updates every variable from its gradient in one step (inputs: the gradients, then a learning-rate
    tensor when the rate is one); the arithmetic is the optimizer's ``_update``, or its update primitive run
    once over all variables of a dtype (``ApplyUpdates``' flat path, see ``_flat_update``)."""

    name = "ApplyGradients"

    def __init__(self, optimizer: "Optimizer", variables: Sequence[Variable], global_step: Variable | None,
                 sparse: dict[int, int] | None = None) -> None:
        rate = optimizer.learning_rate
        slots, shared = optimizer._state_variables(variables)
        op = optimizer._update_op
        super().__init__(optimizer._update, optimizer, [v.key for v in variables],
                         None if isinstance(rate, Tensor) else rate, None if global_step is None else global_step.key,
                         _flat_update(optimizer), slot_vars=slots,
                         shared=None if shared is None else [v.key for v in shared],
                         advance=None if shared is None else op.advance, extra=sparse)
        self.optimizer, self.variables, self.global_step = optimizer, list(variables), global_step
        # A Keras optimizer's rate is a variable that callbacks and user code assign between steps
        # (``LearningRateScheduler``, ``optimizer.learning_rate = x``): each step reads it on the device
        # (``_KerasState``).  TF1 builds the number into the graph when the train op is made.
        self._live = isinstance(optimizer, _KerasState) and not isinstance(rate, Tensor)

    @property
    def lr(self) -> Any:
        """The rate as TF1 and Keras hold it: a float32 tensor (TF1's converted number, Keras' variable), cast
        to each variable's dtype where it meets it (a float64 variable steps by float64(float32(rate)))."""
        rate = self.optimizer.learning_rate if self._live else self._lr
        return rate if rate is None or hasattr(rate, "dtype") else numpy.float32(rate)

    @lr.setter
    def lr(self, value: Any) -> None:
        self._lr = value

    def rate(self, be: Any) -> Any:
        return self.optimizer.rate_on(be) if self._live else self.lr

    def rate_like(self, lr: Any, w: Any) -> Any:
        """TF1 and Keras cast the float32 rate to each variable's dtype (float16 variables step in float16)."""
        if hasattr(lr, "dtype") and lr.dtype != w.dtype and w.dtype.kind == "f":
            return lr.astype(w.dtype)
        return lr

    def attrs(self) -> dict:
        return {"optimizer": type(self.optimizer).__name__, "variables": [v.op.name for v in self.variables]}

    def infer(self, *inputs):
        for g, v in zip(inputs, self.variables):
            if None not in g.shape and tuple(g.shape) != tuple(v.shape):
                raise ValueError(f"{self.name}: gradient shape {g.shape} does not match variable '{v.op.name}' "
                                 f"{v.shape}")
        for lr in inputs[len(self.variables) + self.n_extra:]:
            if len(lr.shape) or lr.dtype.kind != "f":
                raise ValueError(f"{self.name}: a learning rate tensor must be a float scalar, got shape "
                                 f"{tuple(lr.shape)} and dtype {lr.dtype}")
        return []


def _clip_values(g: Tensor, c: float) -> Tensor:
    """g clipped to [-c, c]; a sparse gradient slice by slice (it stays sparse, as Keras' ``ops.clip`` keeps
    an ``IndexedSlices``)."""
    parts = ops._slices(g)
    if parts is None:
        return ops.clip_by_value(g, -c, c)
    return ops._from_slices(parts, lambda v: ops.clip_by_value(v, -c, c))


class _KerasState:
    """Where a Keras optimizer keeps its state, mixed into the Keras optimizers' classes
    (``static_api.keras.optimizers``).  Its moments stay in the session: Keras 3's are not TF1 graph variables.
    Its learning rate is a float32 variable that callbacks and user code assign between steps: a 0-d float32
    array on each device a step ran on, written when ``learning_rate`` is assigned and read by the step there,
    so a step makes no host-side choice of its rate (a captured CUDA graph replays reading the current one)."""

    _tf1_variables = False

    @property
    def learning_rate(self) -> Any:
        return self._rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self._rate = value
        if not isinstance(value, Tensor):
            for a in self.__dict__.get("_rate_arrays", {}).values():
                a[...] = numpy.float32(value)

    clipnorm = clipvalue = global_clipnorm = None

    def apply_gradients(self, grads_and_vars: Sequence[tuple], global_step: Variable | None = None,
                        name: str | None = None) -> Any:
        """Keras clips the gradients before its update: each to norm ``clipnorm``, all together to
        ``global_clipnorm``, or each value to [-clipvalue, clipvalue] (in Keras 3's order of operations).  An
        embedding's sparse gradient (``ops._slices``) is clipped as Keras' TF backend clips an
        ``IndexedSlices``: its norm is its slices' (TF's ``clip_by_norm``, which keeps it sparse), the global
        norm counts its slices too but the scaled gradient is dense (``v * scale``), and each slice is clipped
        to the value apart (``ops.clip`` keeps it sparse)."""
        pairs = list(grads_and_vars)
        grads = [g for g, _ in pairs]
        if self.clipnorm:
            grads = [None if g is None else ops.clip_by_norm(g, self.clipnorm) for g in grads]
        elif self.global_clipnorm:
            present = [g for g in grads if g is not None]
            norm = ops.sqrt(ops.reduce_sum(ops.stack([ops._sum_of_squares(g) for g in present])))
            scale = self.global_clipnorm * ops.minimum(1.0 / norm, 1.0 / self.global_clipnorm)
            scale = scale + (norm - norm)       # NaN for a non-finite norm, as Keras
            grads = [None if g is None else g * scale for g in grads]
        elif self.clipvalue:
            grads = [None if g is None else _clip_values(g, self.clipvalue) for g in grads]
        return super().apply_gradients([(g, v) for g, (_, v) in zip(grads, pairs)], global_step, name)

    def rate_on(self, be: Any) -> Any:
        """The rate's array on ``be``'s device (made on first use)."""
        arrays = self.__dict__.setdefault("_rate_arrays", {})
        a = arrays.get(be)
        if a is None:
            a = arrays[be] = be.asarray(numpy.float32(self._rate))
        return a


class Optimizer:
    """A TF1 optimizer: its slots are variables (``w/Adam``, in ``global_variables()``, so ``Saver`` keeps them
    and ``global_variables_initializer`` sets them) named ``<variable>/<optimizer name>`` with ``_1``, ``_2``
    for further ones, found by ``get_slot(var, name)`` under TF1's slot names (``_SLOT_NAMES``: the update
    primitive's slot -> TF1's name, in the order TF1 makes them)."""

    _SLOT_NAMES: dict[str, str] = {}
    _tf1_variables = True       # False for Keras' optimizers (``_KerasState``)

    def __init__(self, use_locking: bool = False, name: str = "Optimizer") -> None:
        self._name = name
        self._slot_vars: dict[tuple, Variable] = {}         # (variable key, TF1 slot name) -> slot variable
        self._shared: dict[int, list[Variable]] = {}         # graph id -> optimizer-wide variables (Adam's powers)

    def _state_variables(self, variables: Sequence[Variable]) -> tuple[list[dict] | None, list[Variable] | None]:
        """The slot variables of ``variables`` (per variable: the primitive's slot name -> the slot variable's
        key), made on first use as TF1's ``_create_slots``, and the optimizer-wide variables its primitive
        steps with (None: it counts steps)."""
        if not self._tf1_variables:
            return None, None
        shared = self._shared_variables()
        op, g = self._update_op, get_default_graph()
        out = []
        # TF1's creation order (the suffixes _1, _2 follow it), which is not always the primitive's.
        order = [n for n in self._SLOT_NAMES if n in op.slot_names]
        order += [n for n in op.slot_names if n not in order]
        for v in variables:
            keys = {}
            for n in order:
                tf_name = self._SLOT_NAMES.get(n, n)
                var = self._slot_vars.get((v.key, tf_name))
                if var is None:
                    # named after the variable, wherever minimize is called; its zeros depend on no enclosing
                    # control_dependencies (TF1's init_scope), or initializing it would run the batch-norm
                    # updates of ``with tf.control_dependencies(update_ops): minimize(...)``
                    with g.name_scope_cleared(), g.control_dependencies(None):
                        var = Variable(core.fill_like(v.initial_value, op.slot_init(n)), trainable=False,
                                       name=f"{v.op.name}/{self._name}")
                    self._slot_vars[(v.key, tf_name)] = var
                keys[n] = var.key
            out.append(keys)
        return out, shared

    def _shared_variables(self) -> list[Variable] | None:
        return None

    def get_slot_names(self) -> list[str]:
        return sorted(self._SLOT_NAMES.get(n, n) for n in self._update_op.slot_names) if self._tf1_variables else []

    def get_slot(self, var: Variable, name: str) -> Variable | None:
        return self._slot_vars.get((var.key, name))

    def variables(self) -> list[Variable]:
        """The optimizer's own variables in this graph (its optimizer-wide ones, then the slots), as TF1's."""
        g = get_default_graph()
        own = [v for v in self._slot_vars.values() if v.graph is g]
        return self._shared.get(id(g), []) + own if self._tf1_variables else []

    def compute_gradients(self, loss: Tensor, var_list: Sequence[Variable] | None = None) -> list:
        var_list = list(var_list) if var_list is not None else trainable_variables()
        grads = gradients(loss, var_list)
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars: Sequence[tuple], global_step: Variable | None = None,
                        name: str | None = None) -> Any:
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            raise ValueError(f"No gradients provided for any variable: {[v.op.name for _, v in grads_and_vars]}")
        rate = [self.learning_rate] if isinstance(self.learning_rate, Tensor) else []
        sparse = {i: self._sparse_inputs(parts) for i, (g, _) in enumerate(pairs)
                  if self._sparse is not None and (parts := ops._slices(g)) is not None}
        node = apply(_ApplyGradients(self, [v for _, v in pairs], global_step, {i: len(x) for i, x in sparse.items()}),
                     *[g for g, _ in pairs], *[x for xs in sparse.values() for x in xs], *rate)
        return named(node.operation, name or self._name)

    # How the optimizer steps a variable whose gradient is sparse (``ops._slices``: an embedding lookup's, TF's
    # ``IndexedSlices``) where that differs from the dense sum.  TF1's sparse kernels (``_sparse_op``, their
    # arithmetic): "rows" steps only the rows looked up, each row's slices summed first (Momentum, RMSProp,
    # Adagrad, Adadelta); "every" steps every row (Adam); "slices" subtracts each slice apart, in order
    # (gradient descent's scatter).  Keras 3's TF backend steps every row, but its ``ops.square``
    # (``ops.abs``) of an ``IndexedSlices`` takes each slice apart: "squares" ("abs") hands the update each
    # row's slices' squares (absolute values) added up.  None: the dense gradient's numbers (Keras' SGD).
    _sparse: str | None = None
    _sparse_op: optim_ops._Update | None = None       # TF1's sparse kernel, where its arithmetic differs

    def _sparse_inputs(self, parts: list) -> list[Tensor]:
        """What the update of a variable with sparse gradient ``parts`` takes besides it (see ``_sparse``)."""
        if self._sparse in ("squares", "abs"):
            return [ops._from_slices(parts, ops.abs if self._sparse == "abs" else ops.square)]
        # TF1's: the slices and their rows, flat, the lookups' in the order TF concatenates them
        flat = [core.reshape(ops.cast(i, numpy.int64), (-1,)) for _, i, _ in parts]
        values = [core.reshape(v, (-1,) + tuple(p.shape[1:])) for v, _, p in parts]
        return [core.concat(x, 0) if len(x) > 1 else x[0] for x in (values, flat)]

    def minimize(self, loss: Tensor, global_step: Variable | None = None, var_list: Sequence[Variable] | None = None,
                 name: str | None = None) -> Any:
        return self.apply_gradients(self.compute_gradients(loss, var_list), global_step, name)

    # The in-place update primitive (core.ops.optim) each subclass builds from its arguments.
    _update_op: optim_ops._Update

    def _update(self, be: Any, w: Any, g: Any, slot: dict, t: Any, lr: Any, extra: Any = None) -> None:
        """Update variable buffer ``w`` in place from gradient ``g`` at step ``t`` (a 0-d integer array on the
        device, see ``State.tick``); ``slot`` holds its moments; ``extra`` is a sparse gradient's
        (``_sparse_inputs``)."""
        op = self._update_op
        slots = [_slot(slot, n, be, w, op.slot_init(n)) for n in op.slot_names]
        if extra is None:
            op.forward(be, w, g, *slots, lr, t)
        elif self._sparse in ("squares", "abs"):
            op.forward(be, w, g, *slots, lr, t, sq=extra[0])
        elif self._sparse == "slices":      # w[k] = w[k] - g_i * lr for each slice i, in order
            values, rows = extra
            be.index_add(w, (rows,), -(values * lr))
        else:
            # Each row's slices summed from zero in their order (TF's deduplication: unique, then an unsorted
            # segment sum), across the lookups too.
            values, rows = extra
            g = be.xp.zeros_like(w)
            be.index_add(g, (rows,), values)
            sparse_op = self._sparse_op or op
            if self._sparse == "every":
                sparse_op.forward(be, w, g, *slots, lr, t)
                return
            rows = be.xp.unique(rows)       # the rows looked up, stepped apart and written back
            sub = [a[rows] for a in (w, g, *slots)]
            sparse_op.forward(be, *sub, lr, t)
            for a, b in zip((w, *slots), (sub[0], *sub[2:])):
                a[rows] = b


def _flat_update(optimizer: Optimizer) -> optim_ops._Update | None:
    """The primitive a train op may run once over all variables: the optimizer's ``_update_op``, unless
    ``_update`` is not the plain per-variable call of it (a subclass of its own) or ``DUALFLOW_FLAT_UPDATES=0``
    in the environment asks for the per-variable path (same bits, one call per variable)."""
    if switched_off("DUALFLOW_FLAT_UPDATES"):
        return None
    return optimizer._update_op if getattr(optimizer._update, "__func__", None) is Optimizer._update else None


def _slot(slot: dict, name: str, be: Any, like: Any, fill: float) -> Any:
    """An optimizer slot, made on first use (``setdefault`` would allocate a discarded array every step)."""
    a = slot.get(name)
    if a is None:
        a = slot[name] = be.xp.full_like(like, fill)
    return a


class GradientDescentOptimizer(Optimizer):
    """w -= lr * g; a sparse gradient's slices are subtracted one by one (TF1's scatter)."""

    _sparse = "slices"

    def __init__(self, learning_rate: float, use_locking: bool = False, name: str = "GradientDescent") -> None:
        super().__init__(use_locking, name)
        self.learning_rate = learning_rate
        self._update_op = optim_ops.SGD(inplace=True)


class MomentumOptimizer(Optimizer):
    """accum = accum * momentum + g; w -= accum * lr (Nesterov: w -= g * lr + accum * momentum * lr), TF1's
    kernel; a sparse gradient steps only the rows looked up."""

    _sparse = "rows"

    _SLOT_NAMES = {"momentum": "momentum"}

    def __init__(self, learning_rate: float, momentum: float, use_locking: bool = False, name: str = "Momentum",
                 use_nesterov: bool = False) -> None:
        super().__init__(use_locking, name)
        self.learning_rate, self.momentum, self.use_nesterov = learning_rate, momentum, use_nesterov
        # TF1 makes the momentum a float32 tensor, cast to each variable's dtype.
        self._update_op = optim_ops.SGD(numpy.float32(momentum), nesterov=use_nesterov, tf1_kernel=True,
                                        inplace=True)
        self._sparse_op = optim_ops.SGD(numpy.float32(momentum), nesterov=use_nesterov, tf1_kernel=True,
                                        sparse_kernel=True, inplace=True)


class AdamOptimizer(Optimizer):
    """TF1 Adam: lr_t = lr*sqrt(1-b2^t)/(1-b1^t); w -= lr_t * m / (sqrt(v) + epsilon) (epsilon "hat"), with
    b1^t and b2^t kept as TF1 keeps them, in float32 variables ``beta1_power`` and ``beta2_power``
    (``core.ops.optim.AdamPowers``: TF1's arithmetic, bit for bit)."""

    _SLOT_NAMES = {"m": "m", "v": "v"}

    def __init__(self, learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, use_locking: bool = False, name: str = "Adam") -> None:
        super().__init__(use_locking, name)
        self.learning_rate, self.beta1, self.beta2, self.epsilon = learning_rate, beta1, beta2, epsilon
        self._update_op = optim_ops.AdamPowers(beta1, beta2, epsilon, inplace=True)
        self._sparse_op = optim_ops.AdamPowers(beta1, beta2, epsilon, sparse_kernel=True, inplace=True)

    _sparse = "every"

    def _shared_variables(self) -> list[Variable] | None:
        """TF1's beta powers, made once per graph in the current name scope (its ``_create_non_slot_variable``)."""
        g = get_default_graph()
        found = self._shared.get(id(g))
        if found is None:
            found = self._shared[id(g)] = [Variable(numpy.float32(b), trainable=False, name=f"beta{i}_power")
                                           for i, b in ((1, self.beta1), (2, self.beta2))]
        return found

    def _get_beta_accumulators(self) -> tuple[Variable | None, Variable | None]:
        """The default graph's beta powers (None before ``minimize`` made them there), as TF1's."""
        return tuple(self._shared.get(id(get_default_graph()), (None, None)))


class RMSPropOptimizer(Optimizer):
    """ms += (g^2 - ms)*(1-decay) (ms starts at 1); mom = momentum*mom + g*lr/sqrt(ms + eps); w -= mom, in that
    order, as TF1's kernel (the momentum buffer is kept at momentum 0 too, as TF1 keeps it).  Centered:
    mg += (g - mg)*(1-decay) and ms - mg^2 replaces ms under the root.  A sparse gradient steps only the rows
    looked up."""

    _sparse = "rows"

    _SLOT_NAMES = {"ms": "rms", "mg": "mg", "mom": "momentum"}

    def __init__(self, learning_rate: float, decay: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-10,
                 use_locking: bool = False, centered: bool = False, name: str = "RMSProp") -> None:
        super().__init__(use_locking, name)
        self.learning_rate, self.decay, self.momentum, self.epsilon = learning_rate, decay, momentum, epsilon
        self.centered = centered
        self._update_op = optim_ops.RMSprop(decay, epsilon, momentum, centered, eps_inside=True, lr_in_momentum=True,
                                            ms_init=1.0, momentum_slot=True, tf1_kernel=True, inplace=True)
        self._sparse_op = optim_ops.RMSprop(decay, epsilon, momentum, centered, eps_inside=True, lr_in_momentum=True,
                                            ms_init=1.0, momentum_slot=True, tf1_kernel=True, sparse_kernel=True,
                                            inplace=True)


class AdagradOptimizer(Optimizer):
    """accum += g^2; w -= lr * g / sqrt(accum) (no epsilon; accum starts at ``initial_accumulator_value``).  A
    sparse gradient steps only the rows looked up (the same numbers: the others' gradient is zero)."""

    _sparse = "rows"

    _SLOT_NAMES = {"acc": "accumulator"}

    def __init__(self, learning_rate: float, initial_accumulator_value: float = 0.1, use_locking: bool = False,
                 name: str = "Adagrad") -> None:
        if initial_accumulator_value <= 0.0:
            raise ValueError(f"initial_accumulator_value must be positive: {initial_accumulator_value}")
        super().__init__(use_locking, name)
        self.learning_rate, self.initial_accumulator_value = learning_rate, initial_accumulator_value
        self._update_op = optim_ops.Adagrad(0.0, initial_accumulator_value=initial_accumulator_value, inplace=True)


class AdadeltaOptimizer(Optimizer):
    """accum = rho*accum + (1-rho)*g^2; d = sqrt(accum_update + eps) / sqrt(accum + eps) * g;
    accum_update = rho*accum_update + (1-rho)*d^2; w -= lr * d.  A sparse gradient steps only the rows looked
    up (the others' moments do not decay)."""

    _sparse = "rows"

    _SLOT_NAMES = {"v": "accum", "u": "accum_update"}

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.95, epsilon: float = 1e-8,
                 use_locking: bool = False, name: str = "Adadelta") -> None:
        super().__init__(use_locking, name)
        self.learning_rate, self.rho, self.epsilon = learning_rate, rho, epsilon
        self._update_op = optim_ops.Adadelta(rho, epsilon, tf1_kernel=True, inplace=True)


def exponential_decay(learning_rate: float, global_step: Any, decay_steps: int, decay_rate: float,
                      staircase: bool = False, name: str | None = None) -> Tensor:
    """learning_rate * decay_rate ** (global_step / decay_steps), the exponent floored with ``staircase``;
    a tensor that optimizers take as their rate, evaluated each step before global_step moves."""
    p = ops.cast(global_step, numpy.float32) / float(decay_steps)
    if staircase:
        p = ops.floor(p)
    return named(ops.multiply(float(learning_rate), ops.pow(float(decay_rate), p)), name)


def _decay_step(global_step: Any, decay_steps: Any) -> tuple[Tensor, Tensor]:
    """(the step, decay_steps) as float32 tensors: TF's schedules cast both to the rate's dtype."""
    return ops.cast(global_step, numpy.float32), ops.cast(decay_steps, numpy.float32)


def polynomial_decay(learning_rate: float, global_step: Any, decay_steps: int, end_learning_rate: float = 0.0001,
                     power: float = 1.0, cycle: bool = False, name: str | None = None) -> Tensor:
    """(lr - end) * (1 - step / decay_steps) ** power + end, the step held at decay_steps (or, with ``cycle``,
    decay_steps stretched to the next multiple past the step), op for op as TF's PolynomialDecay."""
    lr = ops.constant(numpy.float32(learning_rate))
    step, steps = _decay_step(global_step, decay_steps)
    if cycle:
        multiplier = ops.where(ops.equal(step, 0.0), ops.constant(numpy.float32(1.0)),
                               ops.ceil(step / float(decay_steps)))
        steps = ops.multiply(steps, multiplier)
    else:
        step = ops.minimum(step, steps)
    p = ops.divide(step, steps)
    end = ops.constant(numpy.float32(end_learning_rate))
    return named(ops.add(ops.multiply(lr - end, ops.pow(1 - p, ops.constant(numpy.float32(power)))), end), name)


def natural_exp_decay(learning_rate: float, global_step: Any, decay_steps: int, decay_rate: float,
                      staircase: bool = False, name: str | None = None) -> Tensor:
    """learning_rate * exp(-decay_rate) ** (step / decay_steps): TF's exponential decay with the rate
    exp(-decay_rate) computed in float32."""
    rate = ops.exp(ops.negative(ops.constant(numpy.float32(decay_rate))))
    step, steps = _decay_step(global_step, decay_steps)
    p = step / steps
    if staircase:
        p = ops.floor(p)
    return named(ops.multiply(ops.constant(numpy.float32(learning_rate)), ops.pow(rate, p)), name)


def inverse_time_decay(learning_rate: float, global_step: Any, decay_steps: int, decay_rate: float,
                       staircase: bool = False, name: str | None = None) -> Tensor:
    """learning_rate / (1 + decay_rate * step / decay_steps), the quotient floored with ``staircase``."""
    step, steps = _decay_step(global_step, decay_steps)
    p = step / steps
    if staircase:
        p = ops.floor(p)
    denom = ops.add(ops.constant(numpy.float32(1.0)), ops.multiply(ops.constant(numpy.float32(decay_rate)), p))
    return named(ops.divide(ops.constant(numpy.float32(learning_rate)), denom), name)


def cosine_decay(learning_rate: float, global_step: Any, decay_steps: int, alpha: float = 0.0,
                 name: str | None = None) -> Tensor:
    """learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)) + alpha)."""
    step, steps = _decay_step(global_step, decay_steps)
    fraction = ops.minimum(step, steps) / steps
    cosine = 0.5 * (1.0 + ops.cos(ops.constant(numpy.float32(numpy.pi)) * fraction))
    decayed = (1 - alpha) * cosine + alpha
    return named(ops.multiply(ops.constant(numpy.float32(learning_rate)), decayed), name)


def piecewise_constant(x: Any, boundaries: Sequence[Any], values: Sequence[Any], name: str | None = None) -> Tensor:
    """values[0] while x <= boundaries[0], values[i] for boundaries[i-1] < x <= boundaries[i], values[-1] past
    the last boundary (one selection, no arithmetic on the values)."""
    if len(values) != len(boundaries) + 1:
        raise ValueError("The length of boundaries should be 1 less than the length of values")
    x = x if isinstance(x, Tensor) else ops.constant(x)
    bounds = [ops.cast(ops.constant(b), x.dtype) for b in boundaries]
    vals = [v if isinstance(v, Tensor) else ops.constant(v) for v in values]
    if len({v.dtype for v in vals}) != 1:
        raise ValueError(f"Values must have elements all with the same dtype ({[v.dtype.name for v in vals]}).")
    # TF's exclusive cases, with values[0] as the default where none holds (a NaN x)
    out = ops.where(ops.greater(x, bounds[-1]), vals[-1], vals[0])
    for low, high, v in zip(bounds[:-1], bounds[1:], vals[1:-1]):
        out = ops.where(ops.logical_and(ops.greater(x, low), ops.less_equal(x, high)), v, out)
    return named(ops.where(ops.less_equal(x, bounds[0]), vals[0], out), name)


def get_or_create_global_step() -> Variable:
    g = get_default_graph()
    found = [v for v in g.get_collection("variables") if v.op.name == "global_step"]
    return found[0] if found else Variable(numpy.int64(0), trainable=False, name="global_step")


class ExponentialMovingAverage:
    """TF1's ``tf.train.ExponentialMovingAverage``.  ``apply(var_list)`` makes, once per variable or tensor, a
    shadow variable ``<op name>/<name>`` (in the current variable scope, made unique; not trainable; a
    Variable's starts at its ``initialized_value()``, a Tensor's at zeros) and returns the op that moves each
    shadow as TF's ``assign_moving_average``: ``shadow -= (shadow - value) * (1 - decay)``, with the decay a
    float32 tensor (``min(decay, (1 + n) / (10 + n))`` with ``num_updates`` n), ``1 - decay`` taken in float32
    and then cast to the variable's dtype.  ``zero_debias`` averages a Tensor as TF does: a zero-started
    ``biased`` average divided by ``1 - (1 - rate) ** local_step``.  As TF 2's ``compat.v1`` (TF 1.x raised),
    applying to a variable again reuses its shadow.

        >>> import static_api as tf
        >>> with tf.Graph().as_default():
        ...     w = tf.Variable(1.0, name="w")
        ...     ema = tf.train.ExponentialMovingAverage(0.5)
        ...     step = ema.apply([w])
        ...     with tf.Session() as sess:
        ...         sess.run(tf.global_variables_initializer())
        ...         _ = sess.run(w.assign(3.0))
        ...         _ = sess.run(step)
        ...         ema.average(w).op.name, float(sess.run(ema.average(w)))
        ('w/ExponentialMovingAverage', 2.0)
    """

    def __init__(self, decay: Any, num_updates: Any = None, zero_debias: bool = False,
                 name: str = "ExponentialMovingAverage") -> None:
        self._decay, self._num_updates, self._zero_debias, self._name = decay, num_updates, zero_debias, name
        self._averages: dict[Tensor, Variable] = {}     # a variable or tensor -> its shadow
        self._debiased: set[Variable] = set()            # the shadows moved with zero_debias (of tensors only)

    @property
    def name(self) -> str:
        return self._name

    def apply(self, var_list: Sequence[Tensor] | None = None) -> Operation:
        """The op moving the averages of ``var_list`` (default: the trainable variables) one step, their
        shadows made where missing; the variables must be float16, float32 or float64."""
        var_list = list(var_list) if var_list is not None else trainable_variables()
        for var in var_list:
            _averageable("apply", "var_list", var)
            if var.dtype not in (numpy.float16, numpy.float32, numpy.float64):
                raise TypeError(f"ExponentialMovingAverage.apply: The variables must be half, float, or double: "
                                f"{var.name} (dtype {var.dtype.name})")
            if var not in self._averages:
                self._averages[var] = self._shadow(var)
        g = get_default_graph()
        with g.name_scope(self._name) as scope:
            decay = _read_now(convert_to_tensor(self._decay, numpy.float32, name="decay", graph=g))
            if self._num_updates is not None:
                n = ops.cast(_read_now(self._num_updates), numpy.float32, name="num_updates")
                decay = ops.minimum(decay, (1.0 + n) / (10.0 + n))
            updates = [_assign_moving_average(self._averages[v], v, decay, self._averages[v] in self._debiased)
                       for v in var_list]
            return ops.group(*updates, name=scope)

    def _shadow(self, var: Tensor) -> Variable:
        """TF's slot for ``var``: named ``<op name>/<ema name>`` inside the current variable scope (not the name
        scope), made unique; a Variable's is listed in ``MOVING_AVERAGE_VARIABLES``."""
        g = var.graph
        if isinstance(var, Variable):
            init = var.initialized_value()
        elif None in var.shape:
            raise NotImplementedError(f"ExponentialMovingAverage.apply: a tensor of unknown shape ({var.name}, "
                                      f"shape {var.shape}) is not supported in dualflow; give it a static shape")
        else:
            init = numpy.zeros(var.shape, var.dtype)
        with g.name_scope_cleared():
            average = Variable(init, trainable=False, name=_in_variable_scope(f"{var.op.name}/{self._name}"))
        if isinstance(var, Variable):
            g.add_to_collection(MOVING_AVERAGE_VARIABLES, var)
        elif self._zero_debias:
            self._debiased.add(average)
        return average

    def average(self, var: Tensor) -> Variable | None:
        """The shadow variable of ``var``, or None where ``apply`` has not averaged it."""
        _averageable("average", "var", var)
        return self._averages.get(var)

    def average_name(self, var: Tensor) -> str:
        """The name of ``var``'s shadow: its op's name once ``apply`` made it, else the name it would get
        (``<op name>/<ema name>``, suffixed where an op has it), which ``Saver`` restores ``var`` from."""
        _averageable("average_name", "var", var)
        if var in self._averages:
            return self._averages[var].op.name
        base = name = f"{var.op.name}/{self._name}"
        i = 0
        while _op_exists(var.graph, name):
            i += 1
            name = f"{base}_{i}"
        return name

    def variables_to_restore(self, moving_avg_variables: Sequence[Variable] | None = None) -> dict[str, Variable]:
        """TF1's map for ``Saver(ema.variables_to_restore())``: each of ``moving_avg_variables`` (default: the
        trainable and the ``MOVING_AVERAGE_VARIABLES`` variables) restored from its average's name, every other
        global variable from its own name unless an average's name took it."""
        if moving_avg_variables is None:
            moving_avg_variables = trainable_variables() + moving_average_variables()
        averaged = list(dict.fromkeys(moving_avg_variables))        # once each, in order
        name_map = {self.average_name(v): v for v in averaged}
        names = {v.name for v in averaged}
        for v in global_variables():
            if v.name not in names and v.op.name not in name_map:
                name_map[v.op.name] = v
        return name_map


def _averageable(fn: str, arg: str, var: Any) -> None:
    if not isinstance(var, Tensor):
        raise TypeError(f"ExponentialMovingAverage.{fn}: argument '{arg}' expected a Variable or Tensor, got "
                        f"{type(var).__name__}")


def _op_exists(g: Any, name: str) -> bool:
    try:
        g.get_operation_by_name(name)
    except KeyError:
        return False
    return True


def _in_variable_scope(name: str) -> str:
    """``name`` inside the current variable scope, where TF's ``get_variable`` puts slot variables."""
    scope = get_variable_scope().name
    return f"{scope}/{name}" if scope else name


def _read_now(x: Any) -> Any:
    """A variable read where it is used, after the control dependencies around (``with
    tf.control_dependencies([train_op])``: the values the train op left), as TF1 reads a ref variable; anything
    else as it is."""
    return x._read_now() if isinstance(x, Variable) else x


def _assign_moving_average(average: Variable, value: Tensor, decay: Tensor, zero_debias: bool) -> Tensor:
    """TF's ``assign_moving_average`` op for op: ``rate = cast(1 - decay)`` to the average's dtype, then
    ``average -= (average - value) * rate``; with ``zero_debias``, new ``biased`` and ``local_step`` variables
    next to the average (TF makes them at each call), ``biased -= (biased - value) * rate``,
    ``local_step += 1`` and ``average = biased / (1 - (1 - rate) ** local_step)``."""
    g = average.graph
    with g.name_scope("AssignMovingAvg") as scope:
        rate = ops.cast(1.0 - decay, average.dtype)
        value = _read_now(value)
        if not zero_debias:
            return average.assign_sub((_read_now(average) - value) * rate, name=scope)
        with g.name_scope_cleared():
            biased = Variable(numpy.zeros(average.shape, average.dtype), trainable=False,
                              name=_in_variable_scope(f"{average.op.name}/biased"))
            local_step = Variable(average.dtype.type(0), trainable=False,
                                  name=_in_variable_scope(f"{average.op.name}/local_step"))
        moved = biased.assign_sub((biased - value) * rate)
        factor = 1 - ops.pow(1.0 - rate, local_step.assign_add(1))
        return average.assign(moved / factor, name=scope)


class Saver:
    """Saves and restores variable values as non-executable ``.npz`` checkpoints; each save also rewrites
    the folder's ``checkpoint`` state file (TensorFlow's text format), atomically."""

    def __init__(self, var_list: Sequence[Variable] | dict | None = None, max_to_keep: int = 5) -> None:
        if isinstance(var_list, dict):
            self._vars = dict(var_list)
        else:
            self._vars = {v.op.name: v for v in (var_list if var_list is not None else global_variables())}
        self.max_to_keep = max_to_keep
        self.last_checkpoints: list[str] = []

    def save(self, sess: Any, save_path: str, global_step: Any = None, latest_filename: str | None = None,
             write_state: bool = True) -> str:
        if global_step is not None:
            step = int(sess.run(global_step)) if isinstance(global_step, Tensor) else int(global_step)
            save_path = f"{save_path}-{step}"
        arrays = {name: sess._be.to_host(sess.state.read(v.key)) for name, v in self._vars.items()}
        os.makedirs(os.path.dirname(os.path.abspath(save_path)), exist_ok=True)     # TF 2's Saver makes it too
        checkpoint.save(save_path + ".npz", arrays, {"frontend": "static", "layout": "tensorflow"})
        if save_path in self.last_checkpoints:
            self.last_checkpoints.remove(save_path)
        self.last_checkpoints.append(save_path)
        stale = []
        while self.max_to_keep and len(self.last_checkpoints) > self.max_to_keep:
            stale.append(self.last_checkpoints.pop(0))
        if write_state:
            d = os.path.dirname(os.path.abspath(save_path))
            lines = [f"model_checkpoint_path: {_quote(os.path.basename(save_path))}"] + [
                f"all_model_checkpoint_paths: {_quote(os.path.basename(p))}" for p in self.last_checkpoints]
            text = "\n".join(lines) + "\n"
            checkpoint.atomic_write(os.path.join(d, latest_filename or "checkpoint"),
                                    lambda f: f.write(text.encode("utf-8")))
        # Old files go only once the state file no longer names them (TensorFlow's order too).
        for old in stale:
            if os.path.exists(old + ".npz"):
                os.remove(old + ".npz")
        return save_path

    def restore(self, sess: Any, save_path: str) -> None:
        """Assign every variable from the checkpoint, or none: all entries are checked (present, same
        shape and dtype) before the first assignment."""
        from static_api.errors import InvalidArgumentError, NotFoundError
        path = save_path if save_path.endswith(".npz") else save_path + ".npz"
        if not os.path.exists(path):
            raise ValueError(f"The passed save_path is not a valid checkpoint: {save_path}")
        arrays, _ = checkpoint.load(path)
        mismatch = ("Restoring from checkpoint failed. This is most likely due to a mismatch between the current "
                    "graph and the graph from the checkpoint. Original error:\n\n")
        for name, v in self._vars.items():
            if name not in arrays:
                raise NotFoundError(None, None, "Restoring from checkpoint failed. This is most likely due to a "
                                    "Variable name or other graph key that is missing from the checkpoint. "
                                    f"Original error:\n\nKey {name} not found in checkpoint {save_path}")
            a = arrays[name]
            if a.dtype != v.dtype:
                raise InvalidArgumentError(None, None, f"{mismatch}tensor_name = {name}; expected dtype "
                                           f"{_tf_dtype(v.dtype)} does not equal original dtype {_tf_dtype(a.dtype)}")
            if tuple(a.shape) != tuple(v.shape):
                raise InvalidArgumentError(None, None, f"{mismatch}Assign requires shapes of both tensors to match. "
                                           f"lhs shape= {list(v.shape)} rhs shape= {list(a.shape)} ({name})")
        for name, v in self._vars.items():
            v.load(arrays[name], sess)


def _tf_dtype(dtype: numpy.dtype) -> str:
    """TensorFlow's name for a dtype in its error messages (float for float32, double for float64)."""
    return {"float32": "float", "float64": "double", "float16": "half"}.get(dtype.name, dtype.name)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_STATE_LINE = re.compile(r'\s*(model_checkpoint_path|all_model_checkpoint_paths)\s*:\s*"((?:[^"\\]|\\.)*)"\s*')


class CheckpointState(NamedTuple):
    """The folder's ``checkpoint`` state file: the newest checkpoint and every one kept, as paths."""

    model_checkpoint_path: str
    all_model_checkpoint_paths: list[str]


def get_checkpoint_state(checkpoint_dir: str, latest_filename: str | None = None) -> CheckpointState | None:
    """TF1's ``tf.train.get_checkpoint_state``: the state file's paths, those relative to the folder joined to it
    (the files themselves are not looked for); None when the folder or the file is missing or does not parse;
    ValueError when it names no newest checkpoint."""
    path = os.path.join(checkpoint_dir, latest_filename or "checkpoint")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    latest, kept = "", []
    for line in text.splitlines():
        m = _STATE_LINE.fullmatch(line)
        if m is None:
            if line.strip():
                logging.warning("%s: Checkpoint ignored", path)
                return None
            continue
        value = os.path.join(checkpoint_dir, re.sub(r"\\(.)", r"\1", m[2]))
        if m[1] == "model_checkpoint_path":
            latest = value
        else:
            kept.append(value)
    if not latest:
        raise ValueError(f"Invalid checkpoint state loaded from {checkpoint_dir}")
    return CheckpointState(latest, kept)


def latest_checkpoint(checkpoint_dir: str, latest_filename: str | None = None) -> str | None:
    """The newest checkpoint named in the folder's state file, as TensorFlow reads it: None when the
    folder, the state file or the checkpoint itself is missing, or when the file cannot be parsed;
    ValueError when it parses but names no checkpoint (e.g. an empty file)."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is None:
        return None
    path = state.model_checkpoint_path
    return path if os.path.exists(path + ".npz") else None


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so

# tf.train's monitored training API and session-run hooks; imported last, as those modules import this one.
from static_api.monitored_session import *  # noqa: E402,F401,F403
