"""Gradient checking against float64 central differences, like ``torch.autograd.gradcheck``.

    >>> import numpy, core
    >>> from core.gradcheck import gradcheck
    >>> gradcheck(core.tanh, [numpy.random.default_rng(0).normal(size=(3, 4))])
    True
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy

import backends
import core
from core import device
from core.autodiff import gradients
from core.graph import Value


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree."""


def _leaf(arr: numpy.ndarray, dev: Any, requires_grad: bool = False) -> Value:
    return core.value(arr, dtype=arr.dtype, dev=dev, requires_grad=requires_grad)


def gradcheck(fn: Callable[..., Value], inputs: Sequence[numpy.ndarray], *, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, dev: Any = None, seed: int = 0,
              wrt: Sequence[int] | None = None) -> bool:
    """Compare the VJP of ``fn`` with central differences of ``<fn(x), c>`` for a random c.

    ``inputs`` are host arrays; float ones are checked (in float64) unless ``wrt``
    names the indices to check.  Raises GradcheckError naming the input and the
    worst element; returns True when all agree.
    """
    dev = device.parse(dev) if dev is not None else device.default()
    be = backends.get_backend(dev)
    arrays = [numpy.asarray(a, dtype=numpy.float64) if numpy.asarray(a).dtype.kind == "f" else numpy.asarray(a)
              for a in inputs]
    wrt = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"] if wrt is None else list(wrt)
    leaves = [_leaf(a, dev, i in wrt) for i, a in enumerate(arrays)]
    out = fn(*leaves)
    y = out[0] if isinstance(out, tuple) else out
    c = numpy.random.default_rng(seed).normal(size=y.shape)
    analytic = gradients([y], [leaves[i] for i in wrt], [_leaf(c, dev)])

    def f(vals: list[numpy.ndarray]) -> float:
        o = fn(*[_leaf(v, dev) for v in vals])
        o = o[0] if isinstance(o, tuple) else o
        return float((be.to_host(o.array) * c).sum())

    for slot, i in enumerate(wrt):
        numeric = numpy.zeros_like(arrays[i])
        for j in range(arrays[i].size):
            vals = [a.copy() for a in arrays]
            vals[i].flat[j] += eps
            hi = f(vals)
            vals[i].flat[j] -= 2 * eps
            lo = f(vals)
            numeric.flat[j] = (hi - lo) / (2 * eps)
        got = numpy.zeros_like(numeric) if analytic[slot] is None else be.to_host(analytic[slot].array)
        if got.shape != numeric.shape:
            raise GradcheckError(f"gradient of input {i} has shape {got.shape}, expected {numeric.shape}")
        bad = numpy.abs(got - numeric) > atol + rtol * numpy.abs(numeric)
        if bad.any():
            j = int(numpy.argmax(numpy.abs(got - numeric) - rtol * numpy.abs(numeric)))
            raise GradcheckError(f"gradient of input {i} differs at flat index {j}: analytic {got.flat[j]:.8g}, "
                                 f"numerical {numeric.flat[j]:.8g} ({int(bad.sum())} of {bad.size} elements off)")
    return True
