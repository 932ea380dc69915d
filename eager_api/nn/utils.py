"""``torch.nn.utils``: gradient clipping, in place on ``.grad`` and outside autograd; parameters to one vector
and back.

    >>> import eager_api as torch
    >>> w = torch.nn.Parameter(torch.zeros(2))
    >>> w.grad = torch.tensor([3.0, 4.0])
    >>> round(torch.nn.utils.clip_grad_norm_([w], max_norm=1.0).item(), 4), [round(g, 4) for g in w.grad.tolist()]
    (5.0, [0.6, 0.8])
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import backends
from eager_api.tensor import Tensor


def _grads(parameters: Any) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: Any = None) -> Tensor:
    """Scale all gradients together so their joint ``norm_type`` norm is at most ``max_norm``; returns the norm
    before clipping.  The scale stays on the device (no host read), as PyTorch does."""
    grads = _grads(parameters)
    if not grads:
        return Tensor._wrap(backends.get_backend("cpu").xp.zeros(()), (), "float32", "cpu")
    be = backends.get_backend(grads[0].device)
    xp = be.xp
    arrays = [g.array for g in grads]
    if math.isinf(norm_type):
        total = xp.max(xp.stack([xp.abs(a).max() for a in arrays]))
    else:
        total = sum((xp.abs(a) ** norm_type).sum() for a in arrays) ** (1.0 / norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    scale = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g.array *= scale.astype(g.dtype)
        g._vc[0] += 1
    total = xp.asarray(total, dtype=grads[0].dtype)
    return Tensor._wrap(total, (), total.dtype, grads[0].device)


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float, foreach: Any = None) -> None:
    """Clamp every gradient element to [-clip_value, clip_value]."""
    for g in _grads(parameters):
        backends.get_backend(g.device).xp.clip(g.array, -clip_value, clip_value, out=g.array)
        g._vc[0] += 1


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and joined into one vector (differentiable, as PyTorch's ``cat`` of views)."""
    from eager_api.tensor import cat
    params = list(parameters)
    _same_device(params)
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Each parameter's ``.data`` set to its slice of ``vec`` (sharing ``vec``'s memory, as PyTorch's)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    _same_device(params)
    start = 0
    for p in params:
        n = p.numel()
        p.data = vec[start:start + n].view_as(p).data
        start += n


def _same_device(params: list) -> None:
    devices = {str(p.device) for p in params}
    if len(devices) > 1:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")
