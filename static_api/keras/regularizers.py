"""``keras.regularizers``: penalties on weights (``kernel_regularizer=``, ``bias_regularizer=``) and on a layer's
output (``activity_regularizer=``), added to the training loss and listed in ``model.losses`` as Keras does."""
from __future__ import annotations

from typing import Any

from core import errors as _errors
from static_api import ops


class Regularizer:
    def __call__(self, x: Any) -> Any:
        return ops.constant(0.0)

    def get_config(self) -> dict:
        return {}


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x**2)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x: Any) -> Any:
        total = None
        if self.l1:
            total = ops.reduce_sum(ops.abs(x)) * self.l1
        if self.l2:
            term = ops.reduce_sum(ops.square(x)) * self.l2
            total = term if total is None else total + term
        return total if total is not None else ops.zeros((), x.dtype)

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self) -> dict:
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2


def get(spec: Any) -> Regularizer | None:
    """None, a Regularizer, a callable, or a name ('l1', 'l2', 'l1_l2') with Keras' default factors."""
    if spec is None or callable(spec):
        return spec
    if isinstance(spec, str):
        found = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}.get(spec.lower())
        if found is not None:
            return found()
    raise ValueError(f"Could not interpret regularizer identifier: {spec!r}")


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
