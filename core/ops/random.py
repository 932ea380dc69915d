"""Random primitives drawn at run time: uniform, normal and truncated normal values, a shuffle along the first
axis and categorical sampling.

Both draw from a generator's counter-based stream (``Generator.philox_state``) as ``DropoutMask`` does: in a
static run from the Session's own copy of the stream (``State.philox``), so each run draws anew and a new
Session on a seeded graph replays the first draws, as TF1's stateful random ops do.  Neither has a gradient
(TF registers none: ``tf.gradients`` through them is None).
"""
from __future__ import annotations

from typing import Any

import numpy

from core import state as _state
from core.errors import InvalidArgumentError
from core.graph import Value
from core.op import Op, apply
from core.random import Generator


def _stream(generator: Generator, be: Any) -> Any:
    """The stream a run draws from: the Session's in a static run, the generator's own in eager."""
    st = _state.current()
    return generator.philox_state(be.device) if st is None else st.philox(generator, be.device)


class RandomShuffle(Op):
    """``x`` with its first axis in a uniformly random order (the order of float64 uniform keys); a scalar
    comes back unchanged, as TF's RandomShuffle."""

    name = "RandomShuffle"
    pure, effect = False, True      # each run draws from (and advances) the stream
    differentiable = False

    def __init__(self, generator: Generator) -> None:
        self.generator = generator

    def infer(self, x: Value) -> list:
        return [(x.shape, x.dtype)]

    def forward(self, be, x):
        if x.ndim == 0:
            return x.copy()
        keys = be.random_uniform((x.shape[0],), numpy.float64, _stream(self.generator, be))
        return x[be.xp.argsort(keys, kind="stable")]


class Multinomial(Op):
    """``num_samples`` class indices per row of 2-D ``logits``, as TF's CPU Multinomial kernel: a float64
    running sum of ``exp(logit - max)`` over the finite logits (the others weigh nothing) and, for each uniform
    ``u``, the first class whose sum exceeds ``u * total``; a row with no finite logit gives ``num_classes``."""

    name = "Multinomial"
    arg_names = ("logits",)
    pure, effect = False, True
    differentiable = False

    def __init__(self, num_samples: int, dtype: Any, generator: Generator) -> None:
        if num_samples < 0:
            raise ValueError(f"{self.name}: argument 'num_samples' expected a non-negative int, got {num_samples}")
        self.num_samples, self.dtype, self.generator = int(num_samples), numpy.dtype(dtype), generator

    def infer(self, logits: Value) -> list:
        self.require_float(logits)
        self.require_ndim("logits", logits, 2, "[batch_size, num_classes]")
        if logits.shape[1] == 0:
            raise self.shape_error("logits", "at least one class", logits.shape)
        return [((logits.shape[0], self.num_samples), self.dtype)]

    def forward(self, be, logits):
        xp = be.xp
        if logits.shape[1] == 0:        # unknown when the graph was built; TF's kernel raises this then
            raise InvalidArgumentError(None, None, f"{self.name}: num_classes should be positive, got 0")
        finite = xp.isfinite(logits)
        # the kernel's max starts from the dtype's lowest value, so a row without finite logits stays finite
        safe = xp.where(finite, logits, numpy.finfo(logits.dtype).min)
        top = safe.max(axis=1, keepdims=True)
        weights = xp.where(finite, xp.exp(safe.astype(numpy.float64) - top), 0.0)
        cdf = xp.cumsum(weights, axis=1)
        u = be.random_uniform((logits.shape[0], self.num_samples), numpy.float64, _stream(self.generator, be))
        target = u * cdf[:, -1:]
        out = xp.empty(u.shape, self.dtype)
        for row in range(out.shape[0]):     # the kernel's upper_bound: the first running sum above the target
            out[row] = xp.searchsorted(cdf[row], target[row], side="right")
        return out


class RandomStandard(Op):
    """Values of ``dtype`` and ``shape`` (a static tuple; or, with None, a 1-D integer tensor input read when it
    runs; or, with ``like``, the shape of the input tensor, which a memory plan can place),
    uniform in [0, 1), standard normal, or standard normal redrawn beyond two standard deviations
    (``kind``: "uniform", "normal", "truncated_normal"); normals by Box-Muller from float64 uniforms, then
    rounded to the dtype.  Each run draws anew (TF1's RandomUniform / RandomStandardNormal /
    TruncatedNormal, with dualflow's generator: other values than TF's for a seed)."""

    pure, effect = False, True
    differentiable = False
    arg_names = ("shape",)

    def __init__(self, kind: str, shape: Any, dtype: Any, generator: Generator, like: bool = False) -> None:
        if kind not in ("uniform", "normal", "truncated_normal"):
            raise ValueError(f"RandomStandard: kind must be uniform, normal or truncated_normal, got {kind!r}")
        self.kind, self.dtype, self.generator = kind, numpy.dtype(dtype), generator
        self.shape = None if shape is None else tuple(int(d) for d in shape)
        self.like = bool(like)
        self.name = {"uniform": "RandomUniform", "normal": "RandomStandardNormal",
                     "truncated_normal": "TruncatedNormal"}[kind]
        self.value_shaped = shape is None and not like         # the shape tensor's values decide the shape

    def infer(self, *shape):
        if self.dtype.kind != "f":
            raise self.dtype_error("dtype", "a float type", self.dtype)
        if self.shape is not None:
            return [(self.shape, self.dtype)]
        if self.like:
            return [(shape[0].shape, self.dtype)]
        if len(shape[0].shape) != 1 or shape[0].dtype.kind not in "iu":
            raise self.shape_error("shape", "a 1-D integer tensor", shape[0].shape)
        return [((None,) * (shape[0].shape[0] or 0), self.dtype)]

    def _normal(self, be: Any, shape: tuple, stream: Any) -> Any:
        xp = be.xp
        u = be.random_uniform((2,) + shape, numpy.float64, stream)
        return xp.sqrt(-2.0 * xp.log1p(-u[0])) * xp.cos(2.0 * numpy.pi * u[1])      # 1 - u in (0, 1]

    def forward(self, be, *shape):
        if self.shape is not None:
            size = self.shape
        else:
            size = shape[0].shape if self.like else tuple(int(d) for d in be.to_host(shape[0]))
        stream = _stream(self.generator, be)
        if self.kind == "uniform":
            return be.random_uniform(size, self.dtype, stream)
        out = self._normal(be, size, stream)
        if self.kind == "truncated_normal":
            xp = be.xp
            bad = xp.abs(out) > 2.0
            while bool(bad.any()):      # redraw those beyond two standard deviations (2.3% each round)
                out = xp.where(bad, self._normal(be, size, stream), out)
                bad = xp.abs(out) > 2.0
        return out.astype(self.dtype)


def random_shuffle(x: Value, generator: Generator) -> Value:
    return apply(RandomShuffle(generator), x)


def multinomial(logits: Value, num_samples: int, dtype: Any, generator: Generator) -> Value:
    return apply(Multinomial(num_samples, dtype, generator), logits)
