"""``torch.nn.init``: in-place initialisers drawing from dualflow's seeded default generator."""
from __future__ import annotations

import math
import warnings
from typing import Any

import backends
from core import random as core_random
from eager_api.autograd import no_grad
from eager_api.tensor import Tensor


def calculate_gain(nonlinearity: str, param: Any = None) -> float:
    if nonlinearity in ("linear", "conv1d", "conv2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _fans(t: Tensor) -> tuple[int, int]:
    if t.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = 1
    for s in t.shape[2:]:
        receptive *= s
    return t.shape[1] * receptive, t.shape[0] * receptive


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    with no_grad():
        return t.uniform_(a, b, generator=generator)


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    with no_grad():
        return t.normal_(mean, std, generator=generator)


def constant_(t: Tensor, val: float) -> Tensor:
    with no_grad():
        return t.fill_(val)


def zeros_(t: Tensor) -> Tensor:
    return constant_(t, 0.0)


def ones_(t: Tensor) -> Tensor:
    return constant_(t, 1.0)


def _fan(t: Tensor, mode: str) -> int:
    fan_in, fan_out = _fans(t)
    return fan_in if mode == "fan_in" else fan_out


def _empty_noop(t: Tensor) -> bool:
    """PyTorch's kaiming initialisers leave a zero-element tensor (e.g. a kernel_size=0 conv weight) alone."""
    if 0 in t.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)
        return True
    return False


def kaiming_uniform_(t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: Any = None) -> Tensor:
    if _empty_noop(t):
        return t
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(t, mode))
    return uniform_(t, -bound, bound, generator)


def kaiming_normal_(t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: Any = None) -> Tensor:
    if _empty_noop(t):
        return t
    return normal_(t, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(t, mode)), generator)


def xavier_uniform_(t: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    fan_in, fan_out = _fans(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound, generator)


def xavier_normal_(t: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def trunc_normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: Any = None) -> Tensor:
    """Normal(mean, std) values conditioned on [a, b], drawn by rejection: the distribution PyTorch's inverse-CDF
    method draws from (not its values; see docs/compat.md on random numbers)."""
    def cdf(v: float) -> float:
        return (1.0 + math.erf((v - mean) / std / math.sqrt(2.0))) / 2.0

    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of values "
                      "may be incorrect.", stacklevel=2)
    accept = cdf(b) - cdf(a)
    if not accept > 1e-4:
        raise NotImplementedError(f"trunc_normal_: [a, b] = [{a}, {b}] holds {accept:.2g} of Normal({mean}, {std}); "
                                  "dualflow draws by rejection and does not support intervals this far in the tail")
    with no_grad():
        gen = (generator or core_random.default_generator).get(t.device)
        out = gen.standard_normal(t.shape, dtype=t.dtype) * std + mean
        while True:
            bad = (out < a) | (out > b)
            n = int(bad.sum())
            if not n:
                break
            out[bad] = gen.standard_normal(n, dtype=t.dtype) * std + mean
        return t._fill_random(out)


def orthogonal_(t: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a normal one, signs fixed by R's diagonal, as
    PyTorch's: rows (or columns, whichever are fewer) orthonormal, times ``gain``; dims after the first are
    flattened."""
    if t.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if t.numel() == 0:
        return t
    rows = t.shape[0]
    cols = t.numel() // rows
    with no_grad():
        gen = (generator or core_random.default_generator).get(t.device)
        flat = gen.standard_normal((rows, cols), dtype=t.dtype)
        if rows < cols:
            flat = flat.T
        xp = backends.get_backend(t.device).xp
        q, r = xp.linalg.qr(flat)
        q = q * xp.sign(xp.diagonal(r))
        if rows < cols:
            q = q.T
        return t._fill_random((q * gain).astype(t.dtype, copy=False).reshape(t.shape))
