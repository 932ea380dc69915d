"""``tf.keras.optimizers.schedules``: learning rates as functions of the optimizer's step count.

A Keras optimizer given a schedule as its ``learning_rate`` computes the rate in the graph from its iteration
count at every step, as Keras 3 does: step k (counting from 0) trains with ``schedule(k)``.  Each schedule is
Keras 3's arithmetic in float32 graph ops (``keras/src/optimizers/schedules/learning_rate_schedule.py``).

    >>> from static_api import keras
    >>> lr = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> opt = keras.optimizers.SGD(learning_rate=lr)
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy

import core
from core import errors as _errors
from static_api import ops
from static_api.graph import Tensor


class LearningRateSchedule:
    """Base of the schedules: ``__call__(step)`` takes the iteration count (an int64 graph tensor) and gives the
    rate as a float graph tensor.  Subclass it with your own ``__call__`` as in Keras."""

    def __call__(self, step: Tensor) -> Tensor:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override "
                                  "`__call__(self, step)`.")

    def get_config(self) -> dict:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in "
                                  "order to be serializable.")

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        return cls(**config)


def _f32(x: Any) -> Tensor:
    """A Python number as Keras' schedules make it a tensor: ``ops.convert_to_tensor`` of a float is float32."""
    return ops.constant(numpy.float32(x))


def _times_fraction(t: Tensor, c: float, steps: Any) -> Tensor:
    """``c * (t / steps)`` as it runs in Keras' compiled train step: Grappler turns the division by a constant into
    a multiplication by its float32 reciprocal and folds the chain of constant multiplications, giving
    ``t * (c * (1 / steps))`` with the constants' product taken in float32 (a true ``c * (t / steps)`` is an ulp
    off at about a fifth of the steps)."""
    recip = numpy.float32(1.0) / numpy.float32(steps)
    return t * ops.constant(numpy.float32(c) * recip)


def _true_div(x: Tensor, y: Tensor) -> Tensor:
    """x / y as one division even where y is a constant (the graph frontend's ``/`` multiplies by a constant's
    reciprocal, as Grappler does outside a ``tf.cond``'s branches)."""
    return core.div(x, y)


def _check_decay_steps(decay_steps: Any) -> None:
    if decay_steps <= 0:
        raise ValueError(f"Argument `decay_steps` must be > 0. Received: decay_steps={decay_steps}")


class _StepDecay(LearningRateSchedule):
    """The arguments of ExponentialDecay and InverseTimeDecay: a rate decayed by ``decay_rate`` per
    ``decay_steps`` steps (in whole periods with ``staircase``)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False,
                 name: str | None = None) -> None:
        self.initial_learning_rate, self.decay_steps, self.decay_rate = initial_learning_rate, decay_steps, decay_rate
        self.staircase, self.name = staircase, name or type(self).__name__
        _check_decay_steps(decay_steps)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_StepDecay):
    """initial * decay_rate ** (step / decay_steps), the exponent floored with ``staircase``."""

    def __call__(self, step):
        p = ops.cast(step, ops.float32) / _f32(self.decay_steps)
        if self.staircase:
            p = ops.floor(p)
        return _f32(self.initial_learning_rate) * ops.pow(_f32(self.decay_rate), p)


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] up to and including boundaries[0], values[i] in (boundaries[i-1], boundaries[i]], values[-1]
    after the last boundary (Keras' sum of indicator * value)."""

    def __init__(self, boundaries: Sequence[Any], values: Sequence[Any], name: str = "PiecewiseConstant") -> None:
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"The length of boundaries should be 1 less than the length of values. Received: "
                             f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of length "
                             f"{len(values)}.")
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step):
        # Keras converts the values as tensors (floats to float32) and the boundaries to the step's dtype
        values = [ops.constant(numpy.asarray(v, numpy.float32 if isinstance(v, float) else None))
                  for v in self.values]
        bounds = [ops.cast(ops.constant(numpy.asarray(b)), step.dtype) for b in self.boundaries]
        dtype = values[0].dtype
        result = ops.cast(step <= bounds[0], dtype) * values[0]
        result = result + ops.cast(step > bounds[-1], dtype) * values[-1]
        for low, high, value in zip(bounds[:-1], bounds[1:], values[1:-1]):
            result = result + ops.cast(ops.logical_and(step > low, step <= high), dtype) * value
        return result

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class InverseTimeDecay(_StepDecay):
    """initial / (1 + decay_rate * step / decay_steps), the quotient floored with ``staircase``."""

    def __call__(self, step):
        t = ops.cast(step, ops.float32)
        if self.staircase:
            scaled = _f32(self.decay_rate) * ops.floor(t / _f32(self.decay_steps))
        else:
            scaled = _times_fraction(t, self.decay_rate, self.decay_steps)
        return _f32(self.initial_learning_rate) / (_f32(1.0) + scaled)


class PolynomialDecay(LearningRateSchedule):
    """(initial - end) * (1 - step / decay_steps) ** power + end, the step held at decay_steps; with ``cycle``
    decay_steps grows to the next multiple of itself above the step instead."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: str = "PolynomialDecay") -> None:
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power, self.cycle, self.name = end_learning_rate, power, cycle, name
        _check_decay_steps(decay_steps)

    def __call__(self, step):
        initial, end = _f32(self.initial_learning_rate), _f32(self.end_learning_rate)
        t = ops.cast(step, ops.float32)
        decay_steps = _f32(self.decay_steps)
        if self.cycle:
            multiplier = ops.where(ops.equal(t, 0.0), _f32(1.0), ops.ceil(t / _f32(self.decay_steps)))
            decay_steps = decay_steps * multiplier
        else:
            t = ops.minimum(t, decay_steps)
        p = t / decay_steps
        return (initial - end) * ops.pow(_f32(1.0) - p, _f32(self.power)) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class CosineDecay(LearningRateSchedule):
    """A linear warmup from ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps`` (when a target is
    given), then a cosine from the peak down to ``alpha`` times it over ``decay_steps``, held there after."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0, name: str = "CosineDecay",
                 warmup_target: float | None = None, warmup_steps: int = 0) -> None:
        self.initial_learning_rate, self.decay_steps, self.alpha, self.name = (initial_learning_rate, decay_steps,
                                                                                alpha, name)
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps
        _check_decay_steps(decay_steps)

    def _decay(self, t: Tensor, peak: Tensor, folded: bool) -> Tensor:
        if folded:
            angle = _times_fraction(t, math.pi, self.decay_steps)
        else:
            angle = _f32(math.pi) * _true_div(t, _f32(self.decay_steps))
        cosine = _f32(0.5) * (_f32(1.0) + ops.cos(angle))
        return peak * (_f32(1 - self.alpha) * cosine + _f32(self.alpha))

    def __call__(self, step):
        initial = _f32(self.initial_learning_rate)
        decay_steps = _f32(self.decay_steps)
        t = ops.cast(step, ops.float32)
        if self.warmup_target is None:
            return self._decay(ops.minimum(t, decay_steps), initial, folded=True)
        target, warmup_steps = _f32(self.warmup_target), _f32(self.warmup_steps)
        t = ops.minimum(t, decay_steps + warmup_steps)
        # Keras' ops.cond: both branches are pure, so computing both and picking one gives its value.  Grappler
        # leaves the branches' arithmetic as written (their divisions stay divisions).
        warmup = (target - initial) * _true_div(t, warmup_steps) + initial
        return ops.where(t < warmup_steps, warmup, self._decay(t - warmup_steps, target, folded=False))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


_BUILT_IN = {c.__name__: c for c in (ExponentialDecay, PiecewiseConstantDecay, InverseTimeDecay, PolynomialDecay,
                                      CosineDecay)}


def serialize(schedule: LearningRateSchedule) -> dict:
    """A built-in schedule's class and config (a saved model records its optimizer's rate)."""
    if type(schedule).__name__ not in _BUILT_IN or type(schedule) is not _BUILT_IN[type(schedule).__name__]:
        raise NotImplementedError(f"cannot save a model whose learning rate is the custom schedule "
                                  f"{type(schedule).__name__}")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: dict) -> LearningRateSchedule:
    return _BUILT_IN[config["class_name"]].from_config(config["config"])


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
