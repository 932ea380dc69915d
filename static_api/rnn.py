"""TF1's recurrent cells (``tf.nn.rnn_cell``), ``tf.nn.dynamic_rnn`` and ``tf.nn.static_rnn``, and the time loop
they share with the Keras recurrent layers.

Over a few steps (``MAX_UNROLLED``) the loop is unrolled: each step's ops added to the graph by a Python loop,
a graph of plain ops that the planner and the passes schedule whole.  Over more steps, or a number known only
when the graph runs (inputs of shape (batch, None, depth)), the step's ops are recorded once and one ``Scan``
(``tf.scan``'s primitive) runs them per step, time-major, its gradient their reverse pass per step, last first,
as TF's while loop does (a gradient of that gradient raises NotImplementedError).  Both give the same bits.
Cells keep TF1's variable names (``rnn/basic_lstm_cell/kernel``), gate order and arithmetic; a cell's variables
made inside the loop are made outside it, as TF1's.

    >>> import static_api as tf
    >>> x = tf.placeholder(tf.float32, (None, 5, 3))
    >>> outputs, state = tf.nn.dynamic_rnn(tf.nn.rnn_cell.BasicLSTMCell(4), x, dtype=tf.float32)
    >>> tuple(outputs.shape), [v.op.name for v in tf.trainable_variables()]
    ((None, 5, 4), ['rnn/basic_lstm_cell/kernel', 'rnn/basic_lstm_cell/bias'])
    >>> tuple(tf.nn.dynamic_rnn(tf.nn.rnn_cell.GRUCell(2), tf.placeholder(tf.float32, (None, None, 3)),
    ...                         dtype=tf.float32)[0].shape)
    (None, None, 2)
"""
from __future__ import annotations

import collections
import contextlib
from typing import Any, Callable, Sequence

from core import errors as _errors
from static_api import functional_ops, nn, ops, variables
from static_api.control_flow import _check_carried, _flatten
from static_api.graph import Tensor

LSTMStateTuple = collections.namedtuple("LSTMStateTuple", ("c", "h"))
LSTMStateTuple.__doc__ = "An LSTM's state as TF1 keeps it: the memory ``c``, then the output ``h``."


# ----- the time loop ---------------------------------------------------------------------------------------------
def _map_state(fn: Callable, *states: Any) -> Any:
    """``fn`` applied leaf by leaf to states of one nesting (tensors in tuples, lists and LSTMStateTuples)."""
    first = states[0]
    if isinstance(first, (tuple, list)):
        parts = [_map_state(fn, *leaves) for leaves in zip(*states)]
        return type(first)(*parts) if hasattr(first, "_fields") else type(first)(parts)
    return fn(*states)


def batch_zeros(like: Tensor, size: int, dtype: Any) -> Tensor:
    """Zeros of shape (batch, size), the batch taken from ``like`` (batch, ...) at run time, so that an unknown
    batch size still gives a zero state."""
    column = ops.zeros_like(like[(slice(None),) + (slice(0, 1),) + (0,) * (len(like.shape) - 2)], dtype=dtype)
    return column + ops.zeros((1, size), dtype=dtype)


# The loop over at most this many steps is unrolled, over more (or an unknown number) it is a Scan.  Measured with
# bench/rnn_loop.py (LSTM of 64 units, batch 32, forward and backward, one thread of a 2-core CPU): unrolled steps
# run 20-30% faster than the Scan's, which runs a sub-program per step (2.7 against 3.9 ms over 4 steps, 14 against
# 18 over 32), an edge that fades with more steps (66 against 71 ms over 128, and some plans of 64 steps or more
# run slower: 60 against 34 ms), while building and first running the unrolled graph (its plan) grows faster than
# its steps: 0.5 s over 32 steps, 1.2 s over 64, 3 s over 128, 8 s over 256, against under 0.3 s for the Scan.
# Both give the same bits (tests/test_static_rnn_unknown_steps.py).
MAX_UNROLLED = 32


def unrolled(steps: int | None) -> bool:
    """Whether the loop over ``steps`` (None: known only when the graph runs) is unrolled, else a Scan."""
    return steps is not None and steps <= MAX_UNROLLED


def unroll(step: Callable[[Tensor, Any], tuple], inputs: Sequence[Tensor], state: Any,
           masks: Sequence[Tensor] | None = None, keep_output: bool = False) -> tuple[list[Tensor], Any]:
    """``step(x_t, state) -> (output, new_state)`` over ``inputs``, one graph step each; the outputs and the last
    state.  ``masks`` (a (batch, 1) bool per step) freezes the rows whose step is masked out: the state keeps its
    value and the output is zero (TF1's ``sequence_length``) or, with ``keep_output``, the last unmasked output
    (Keras' masking, zeros before the first one)."""
    outputs: list[Tensor] = []
    for t, x in enumerate(inputs):
        out, new_state = step(x, state)
        if masks is not None:
            held = outputs[-1] if keep_output and outputs else ops.zeros_like(out)
            out = ops.where(masks[t], out, held)
            new_state = _map_state(lambda new, old: ops.where(masks[t], new, old), new_state, state)
        outputs.append(out)
        state = new_state
    return outputs, state


def scan(caller: str, step: Callable[[Tensor, Any], tuple], inputs: Tensor, state: Any, mask: Tensor | None = None,
         lengths: Tensor | None = None, held: Tensor | None = None, sequences: bool = True,
         reverse: bool = False) -> tuple[Tensor | None, Tensor | None, Any]:
    """``unroll`` over the steps of the time-major ``inputs`` (steps, batch, ...), whose number may be unknown
    until the graph runs: one ``Scan`` runs ``step``'s ops once per step, the last step first with ``reverse``.
    A row is masked out at a step where ``mask`` (steps, batch) is false, or from its ``lengths`` (batch,) on
    (TF1's ``sequence_length``); there it keeps its state and outputs zeros or, given ``held`` (the (batch, units)
    output carried from step to step, from this first value), the last unmasked output (Keras' masking).  Gives
    the outputs stacked time-major, each at its input step (None without ``sequences``), the last output (None
    without ``held``) and the last state; ``caller`` names the layer in errors."""
    leaves, pack, _ = _flatten(state)
    # The loop carries the held output, then (with lengths) the step's index, as TF's while loop carries "time"
    # (no range of an unknown length to slice a mask from), then the state's leaves.
    carried = [held] if held is not None else []
    if lengths is not None:
        carried.append(ops.shape(inputs)[0] - 1 if reverse else ops.constant(0, ops.int32))
    first = len(carried)

    def body(values: list[Tensor], rows: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        old = values[first:]
        out, new_state = step(rows[0], pack(old))
        new = _flatten(new_state)[0]
        _check_carried(leaves, new, [tuple(v.shape) for v in leaves], f"{caller}: the cell",
                       f"{caller}: the cell's state must keep the initial state's shape.")
        if mask is not None or lengths is not None:
            keep = ops.expand_dims(rows[1] if mask is not None else ops.less(values[first - 1], lengths), 1)
            out = ops.where(keep, out, values[0] if held is not None else ops.zeros_like(out))
            new = [ops.where(keep, a, b) for a, b in zip(new, old)]
        nexts = [out] if held is not None else []
        if lengths is not None:
            nexts.append(values[first - 1] + (-1 if reverse else 1))
        return ([out] if sequences else []), nexts + new
    sliced = [inputs] + ([mask] if mask is not None else [])
    results = functional_ops._loop(caller, carried + leaves, sliced, body, reverse, True, lambda j, v: tuple(v.shape))
    stacked, results = (results[0], results[1:]) if sequences else (None, results)
    return stacked, results[0] if held is not None else None, pack(results[first:])


# ----- TF1 cells -------------------------------------------------------------------------------------------------
class RNNCell:
    """TF1's cell: ``cell(inputs, state) -> (output, new_state)``; the first call makes the variables under
    ``<current variable scope>/<name>`` (later calls reuse them)."""

    _base_name = "rnn_cell"

    def __init__(self, num_units: int, activation: Callable | None = None, reuse: Any = None,
                 name: str | None = None, dtype: Any = None) -> None:
        self._num_units = int(num_units)
        self._activation = nn.tanh if activation is None else activation
        self._reuse, self._name, self._dtype = reuse, name, dtype
        self._weights: tuple | None = None

    @property
    def state_size(self) -> Any:
        return self._num_units

    @property
    def output_size(self) -> int:
        return self._num_units

    @property
    def variables(self) -> list:
        return list(self._weights or ())

    @property
    def trainable_variables(self) -> list:
        return self.variables       # (TF1's cells make trainable variables only)

    weights = trainable_weights = trainable_variables

    def zero_state(self, batch_size: int, dtype: Any) -> Any:
        """The all-zero state for ``batch_size`` rows (a Python int)."""
        if isinstance(batch_size, Tensor):
            raise NotImplementedError(f"{type(self).__name__}.zero_state: batch_size must be a Python int in "
                                      f"dualflow, got the tensor {batch_size!r} (dynamic_rnn with dtype= makes the "
                                      "zero state of an unknown batch)")
        return _map_state(lambda size: ops.zeros((int(batch_size), size), dtype=dtype), self.state_size)

    def _zero_state_like(self, x: Tensor, dtype: Any) -> Any:
        return _map_state(lambda size: batch_zeros(x, size, dtype), self.state_size)

    def __call__(self, inputs: Tensor, state: Any, scope: Any = None) -> tuple[Tensor, Any]:
        if self._weights is None:
            depth = inputs.shape[-1]
            if depth is None:
                raise ValueError(f"{type(self).__name__}: the last dimension of the inputs must be known, got shape "
                                 f"{tuple(inputs.shape)}")
            with variables.variable_scope(scope or self._name or self._base_name, reuse=self._reuse):
                self._weights = self._build(int(depth), self._dtype or inputs.dtype)
        return self._step(inputs, state)

    def _kernel_and_bias(self, depth: int, width: int, dtype: Any, initializer: Any = None) -> tuple:
        # TF1's cells read concat([inputs, h]) through one kernel of (depth + num_units, width); zero bias.
        kernel = variables.get_variable("kernel", (depth + self._num_units, width), dtype=dtype,
                                        initializer=initializer)
        bias = variables.get_variable("bias", (width,), dtype=dtype, initializer=variables.zeros_initializer())
        return kernel, bias

    def _build(self, depth: int, dtype: Any) -> tuple:
        raise NotImplementedError

    def _step(self, inputs: Tensor, state: Any) -> tuple[Tensor, Any]:
        raise NotImplementedError


def _gates(inputs: Tensor, h: Tensor, kernel: Tensor, bias: Tensor) -> Tensor:
    """TF1's ``bias_add(matmul(concat([inputs, h], 1), kernel), bias)``."""
    return nn.bias_add(ops.matmul(ops.concat([inputs, h], 1), kernel), bias)


class BasicRNNCell(RNNCell):
    """``h = activation(W [x, h] + b)``."""

    _base_name = "basic_rnn_cell"

    def _build(self, depth, dtype):
        return self._kernel_and_bias(depth, self._num_units, dtype)

    def _step(self, inputs, state):
        out = self._activation(_gates(inputs, state, *self._weights))
        return out, out


class BasicLSTMCell(RNNCell):
    """TF1's LSTM without peepholes: gates i, j, f, o from one kernel; ``new_c = c * sigmoid(f + forget_bias) +
    sigmoid(i) * tanh(j)``, ``new_h = tanh(new_c) * sigmoid(o)``; the state an ``LSTMStateTuple(c, h)`` (or, with
    ``state_is_tuple=False``, the two side by side)."""

    _base_name = "basic_lstm_cell"

    def __init__(self, num_units: int, forget_bias: float = 1.0, state_is_tuple: bool = True,
                 activation: Callable | None = None, reuse: Any = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(num_units, activation, reuse, name, dtype)
        self._forget_bias, self._state_is_tuple = float(forget_bias), bool(state_is_tuple)

    @property
    def state_size(self):
        n = self._num_units
        return LSTMStateTuple(n, n) if self._state_is_tuple else 2 * n

    def _build(self, depth, dtype):
        return self._kernel_and_bias(depth, 4 * self._num_units, dtype)

    def _step(self, inputs, state):
        c, h = state if self._state_is_tuple else ops.split(state, 2, axis=1)
        i, j, f, o = ops.split(_gates(inputs, h, *self._weights), 4, axis=1)
        forget_bias = ops.constant(self._forget_bias, dtype=f.dtype)
        new_c = c * nn.sigmoid(f + forget_bias) + nn.sigmoid(i) * self._activation(j)
        new_h = self._activation(new_c) * nn.sigmoid(o)
        return new_h, LSTMStateTuple(new_c, new_h) if self._state_is_tuple else ops.concat([new_c, new_h], 1)


class LSTMCell(BasicLSTMCell):
    """TF1's ``LSTMCell`` without peepholes, projection or clipping (those raise): BasicLSTMCell's arithmetic with
    ``initializer`` for the kernel, its variables under ``lstm_cell``."""

    _base_name = "lstm_cell"

    def __init__(self, num_units: int, use_peepholes: bool = False, cell_clip: float | None = None,
                 initializer: Any = None, num_proj: int | None = None, proj_clip: float | None = None,
                 num_unit_shards: Any = None, num_proj_shards: Any = None, forget_bias: float = 1.0,
                 state_is_tuple: bool = True, activation: Callable | None = None, reuse: Any = None,
                 name: str | None = None, dtype: Any = None) -> None:
        for arg, value in (("use_peepholes", use_peepholes or None), ("cell_clip", cell_clip),
                           ("num_proj", num_proj), ("proj_clip", proj_clip), ("num_unit_shards", num_unit_shards),
                           ("num_proj_shards", num_proj_shards)):
            if value is not None:
                raise NotImplementedError(f"LSTMCell: {arg}={value!r} is not implemented in dualflow (expected "
                                          f"the default, {False if arg == 'use_peepholes' else None})")
        super().__init__(num_units, forget_bias, state_is_tuple, activation, reuse, name, dtype)
        self._initializer = initializer

    def _build(self, depth, dtype):
        return self._kernel_and_bias(depth, 4 * self._num_units, dtype, self._initializer)


class GRUCell(RNNCell):
    """TF1's GRU: ``r, u = sigmoid(W_g [x, h] + b_g)`` (gate bias 1.0 by default), ``c = tanh(W_c [x, r * h] +
    b_c)``, ``new_h = u * h + (1 - u) * c``; variables ``gru_cell/gates/*`` and ``gru_cell/candidate/*``."""

    _base_name = "gru_cell"

    def __init__(self, num_units: int, activation: Callable | None = None, reuse: Any = None,
                 kernel_initializer: Any = None, bias_initializer: Any = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(num_units, activation, reuse, name, dtype)
        self._kernel_initializer, self._bias_initializer = kernel_initializer, bias_initializer

    def _build(self, depth, dtype):
        n, made = self._num_units, []
        for part, width, bias in (("gates", 2 * n, variables.constant_initializer(1.0)),
                                  ("candidate", n, variables.zeros_initializer())):
            made.append(variables.get_variable(f"{part}/kernel", (depth + n, width), dtype=dtype,
                                               initializer=self._kernel_initializer))
            made.append(variables.get_variable(f"{part}/bias", (width,), dtype=dtype,
                                               initializer=self._bias_initializer or bias))
        return tuple(made)

    def _step(self, inputs, state):
        gate_kernel, gate_bias, candidate_kernel, candidate_bias = self._weights
        r, u = ops.split(nn.sigmoid(_gates(inputs, state, gate_kernel, gate_bias)), 2, axis=1)
        c = self._activation(_gates(inputs, r * state, candidate_kernel, candidate_bias))
        new_h = u * state + (1 - u) * c
        return new_h, new_h


class MultiRNNCell(RNNCell):
    """Cells stacked: each reads the output of the one below; the state a tuple of theirs.  Cell k's variables
    live under ``multi_rnn_cell/cell_<k>/``."""

    _base_name = "multi_rnn_cell"

    def __init__(self, cells: Sequence[RNNCell], state_is_tuple: bool = True) -> None:
        if not cells:
            raise ValueError("Must specify at least one cell for MultiRNNCell.")
        if not state_is_tuple:
            raise NotImplementedError("MultiRNNCell: state_is_tuple=False is not implemented in dualflow "
                                      "(expected True)")
        super().__init__(0)
        self._cells = list(cells)

    @property
    def state_size(self):
        return tuple(cell.state_size for cell in self._cells)

    @property
    def output_size(self):
        return self._cells[-1].output_size

    @property
    def variables(self):
        return [v for cell in self._cells for v in cell.variables]

    def __call__(self, inputs, state, scope=None):
        with variables.variable_scope(scope or self._base_name):
            new_states = []
            for k, (cell, cell_state) in enumerate(zip(self._cells, state)):
                with variables.variable_scope(f"cell_{k}"):
                    inputs, new_state = cell(inputs, cell_state)
                new_states.append(new_state)
        return inputs, tuple(new_states)


class DropoutWrapper(RNNCell):
    """TF1's dropout around a cell: its inputs, its output and its new state dropped (``keep_prob`` < 1, inverted
    scaling), a fresh draw at each step; of an LSTM's state only ``h`` is dropped, as TF1's default state filter.
    The draws are dualflow's, so single runs differ from TF's; ``keep_prob`` 1 leaves the cell as it is."""

    def __init__(self, cell: RNNCell, input_keep_prob: Any = 1.0, output_keep_prob: Any = 1.0,
                 state_keep_prob: Any = 1.0, variational_recurrent: bool = False, input_size: Any = None,
                 dtype: Any = None, seed: int | None = None, dropout_state_filter_visitor: Any = None) -> None:
        # input_size and dtype serve TF1's variational_recurrent only, which is refused here
        if variational_recurrent:
            raise NotImplementedError("DropoutWrapper: variational_recurrent=True is not implemented in dualflow "
                                      "(expected the default, False)")
        if dropout_state_filter_visitor is not None:
            raise NotImplementedError(f"DropoutWrapper: dropout_state_filter_visitor={dropout_state_filter_visitor!r}"
                                      " is not implemented in dualflow (expected the default, None: an LSTM's h only)")
        for arg, value in (("input_keep_prob", input_keep_prob), ("output_keep_prob", output_keep_prob),
                           ("state_keep_prob", state_keep_prob)):
            if not isinstance(value, Tensor) and not 0.0 < float(value) <= 1.0:
                raise ValueError(f"DropoutWrapper: Parameter {arg} must be between 0 and 1: {value}")
        super().__init__(0)
        self._cell, self._seed, self._draws = cell, seed, 0
        self._keep = {"input": input_keep_prob, "output": output_keep_prob, "state": state_keep_prob}

    @property
    def state_size(self):
        return self._cell.state_size

    @property
    def output_size(self):
        return self._cell.output_size

    @property
    def variables(self):
        return self._cell.variables

    def _drop(self, x: Tensor, what: str) -> Tensor:
        keep = self._keep[what]
        if not isinstance(keep, Tensor) and float(keep) == 1.0:
            return x
        # each unrolled step is an op of its own: a seed of its own, so that steps draw different masks
        self._draws += 1
        return nn.dropout(x, keep_prob=keep, seed=None if self._seed is None else self._seed + self._draws)

    def _drop_state(self, state: Any) -> Any:
        if isinstance(state, LSTMStateTuple):       # TF1's default filter: an LSTM's c is never dropped
            return LSTMStateTuple(state.c, self._drop(state.h, "state"))
        if isinstance(state, (tuple, list)):
            return type(state)(self._drop_state(s) for s in state)
        return self._drop(state, "state")

    def __call__(self, inputs, state, scope=None):
        output, new_state = self._cell(self._drop(inputs, "input"), state, scope)
        return self._drop(output, "output"), self._drop_state(new_state)


# ----- dynamic_rnn / static_rnn ----------------------------------------------------------------------------------
def _initial(fn: str, cell: RNNCell, like: Tensor, initial_state: Any, dtype: Any) -> Any:
    """``initial_state``, else the cell's zero state for the rows of ``like`` (batch, ...) in ``dtype``."""
    if initial_state is not None:
        return initial_state
    if dtype is None:
        raise ValueError(f"{fn}: If there is no initial_state, you must give a dtype.")
    return cell._zero_state_like(like, dtype)


def _lengths(sequence_length: Any) -> Tensor | None:
    return None if sequence_length is None else ops.cast(sequence_length, ops.int32)


def _run(fn: str, cell: RNNCell, inputs: list[Tensor], sequence_length: Any, initial_state: Any,
         dtype: Any) -> tuple[list[Tensor], Any]:
    """The cell unrolled over ``inputs``."""
    state = _initial(fn, cell, inputs[0], initial_state, dtype)
    masks, lengths = None, _lengths(sequence_length)
    if lengths is not None:
        # a row's steps past its length output zeros and carry its state through, as TF1's
        masks = [ops.expand_dims(ops.less(t, lengths), 1) for t in range(len(inputs))]
    return unroll(cell, inputs, state, masks)


def _in_scope(scope: Any, in_scope: bool) -> Any:
    """Variable scope ``scope`` (default "rnn"), or the current one with ``in_scope``."""
    return contextlib.nullcontext() if in_scope else variables.variable_scope(scope or "rnn")


def dynamic_rnn(cell: RNNCell, inputs: Tensor, sequence_length: Any = None, initial_state: Any = None,
                dtype: Any = None, parallel_iterations: Any = None, swap_memory: bool = False,
                time_major: bool = False, scope: Any = None) -> tuple[Tensor, Any]:
    """``cell`` over the steps of ``inputs`` (batch, time, depth) (``time_major``: (time, batch, depth)): the
    outputs of every step in the same layout, and the last state (each row's state at its
    ``sequence_length``).  Up to ``MAX_UNROLLED`` steps are unrolled, more or an unknown number run as a loop."""
    return _dynamic("dynamic_rnn", cell, inputs, sequence_length, initial_state, dtype, time_major, scope)


def _inputs(fn: str, inputs: Any) -> Tensor:
    x = ops.convert_to_tensor(inputs)
    if len(x.shape) < 3:
        raise ValueError(f"{fn}: inputs must be at least of rank 3 ((batch, time, depth) or time-major), "
                         f"got shape {tuple(x.shape)}")
    return x


def _dynamic(fn: str, cell: RNNCell, inputs: Any, sequence_length: Any, initial_state: Any, dtype: Any,
             time_major: bool, scope: Any, in_scope: bool = False, reverse: bool = False) -> tuple[Tensor, Any]:
    """dynamic_rnn; with ``reverse`` (a loop only) the steps run last to first, each row's from the end of its
    ``sequence_length``, the outputs at their steps."""
    x = _inputs(fn, inputs)
    axis = 0 if time_major else 1
    if unrolled(x.shape[axis]):
        with _in_scope(scope, in_scope):
            outputs, state = _run(fn, cell, ops.unstack(x, axis=axis), sequence_length, initial_state, dtype)
        return ops.stack(outputs, axis=axis), state
    # many steps, or a number known only when run: a loop over the time-major steps, as TF's dynamic_rnn runs
    swap = [1, 0] + list(range(2, len(x.shape)))
    steps = x if time_major else ops.transpose(x, swap)
    with _in_scope(scope, in_scope):
        state = _initial(fn, cell, steps[0], initial_state, dtype)
        outputs, _, state = scan(fn, cell, steps, state, lengths=_lengths(sequence_length), reverse=reverse)
    return (outputs if time_major else ops.transpose(outputs, swap)), state


def bidirectional_dynamic_rnn(cell_fw: RNNCell, cell_bw: RNNCell, inputs: Tensor, sequence_length: Any = None,
                              initial_state_fw: Any = None, initial_state_bw: Any = None, dtype: Any = None,
                              parallel_iterations: Any = None, swap_memory: bool = False, time_major: bool = False,
                              scope: Any = None) -> tuple[tuple, tuple]:
    """``cell_fw`` over the inputs and ``cell_bw`` over them reversed (each row within its ``sequence_length``),
    its outputs reversed back, in scopes ``bidirectional_rnn/fw`` and ``.../bw`` as TF1: ((outputs_fw,
    outputs_bw), (state_fw, state_bw)).  Over a number of steps known only when run, where ``reverse_sequence``
    is not implemented, ``cell_bw`` runs each row's steps last to first in place: the same steps in the same
    order, so the same values, but a step may then meet other rows' other steps, so that the weights' gradient
    sums per step in other groups than TF's (float32 rounding)."""
    fn = "bidirectional_dynamic_rnn"
    time_axis, batch_axis = (0, 1) if time_major else (1, 0)
    x = _inputs(fn, inputs)
    in_place = x.shape[time_axis] is None

    def reverse(t: Tensor) -> Tensor:
        if in_place:
            return t
        if sequence_length is None:
            return ops.reverse(t, [time_axis])
        return ops.reverse_sequence(t, sequence_length, seq_axis=time_axis, batch_axis=batch_axis)
    with variables.variable_scope(scope or "bidirectional_rnn"):
        with variables.variable_scope("fw"):
            out_fw, state_fw = _dynamic(fn, cell_fw, x, sequence_length, initial_state_fw, dtype, time_major, None,
                                        in_scope=True)
        with variables.variable_scope("bw"):
            out_bw, state_bw = _dynamic(fn, cell_bw, reverse(x), sequence_length, initial_state_bw, dtype,
                                        time_major, None, in_scope=True, reverse=in_place)
    return (out_fw, reverse(out_bw)), (state_fw, state_bw)


def static_rnn(cell: RNNCell, inputs: Sequence[Tensor], initial_state: Any = None, dtype: Any = None,
               sequence_length: Any = None, scope: Any = None) -> tuple[list[Tensor], Any]:
    """``cell`` over a list of (batch, depth) inputs: the list of outputs and the last state."""
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise TypeError(f"static_rnn: inputs must be a non-empty list of (batch, depth) tensors, got {inputs!r}")
    with variables.variable_scope(scope or "rnn"):
        return _run("static_rnn", cell, [ops.convert_to_tensor(x) for x in inputs], sequence_length, initial_state,
                    dtype)


__all__ = ["BasicLSTMCell", "BasicRNNCell", "DropoutWrapper", "GRUCell", "LSTMCell", "LSTMStateTuple", "MultiRNNCell",
           "RNNCell", "bidirectional_dynamic_rnn", "dynamic_rnn", "static_rnn"]

__getattr__ = _errors.missing_names(__name__)     # a missing public name (ResidualWrapper, ...) says so
