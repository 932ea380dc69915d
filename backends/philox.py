"""Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11), the same bits on every backend.

A draw is a pure function of a 64-bit seed (the key) and a 64-bit counter offset: block ``j`` of a draw is
Philox of counter ``offset + j`` under the key, four 32-bit words a block.  Both live on the device, in one
uint64 array ``state = [seed, offset]`` that the draw reads and advances there, so a step that draws (dropout)
makes no host-side decision and can be replayed or captured as a CUDA graph: the kernel reads the offset from
device memory, and restoring ``state`` replays the stream.

``block`` is written with operators only, so the one definition runs vectorized over NumPy or CuPy arrays and,
compiled by numba, per element (``backends/numba_kernels.py``).  Words are 32-bit values held in uint64, so a
32x32-bit product is exact and its high half one shift away.

Floats take the top bits of the words, exactly (every value is a multiple of a power of two that the dtype
holds): float16 and float32 one word each, ``(w >> 21) * 2**-11`` and ``(w >> 8) * 2**-24``; float64 two,
``((a >> 5) * 2**26 + (b >> 6)) * 2**-53``, so a block gives four or two values in [0, 1), and a draw of ``n``
values advances the offset by whole blocks.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy

M0, M1 = numpy.uint64(0xD2511F53), numpy.uint64(0xCD9E8D57)     # the round multipliers
W0, W1 = numpy.uint64(0x9E3779B9), numpy.uint64(0xBB67AE85)     # the key schedule's increments
LO, HI = numpy.uint64(0xFFFFFFFF), numpy.uint64(32)
ROUNDS = 10


def block(c0: Any, c1: Any, c2: Any, c3: Any, k0: Any, k1: Any) -> tuple:
    """Philox4x32-10 of the counter words (c0, c1, c2, c3) under the key words (k0, k1)."""
    for r in range(ROUNDS):
        if r:
            k0 = (k0 + W0) & LO
            k1 = (k1 + W1) & LO
        p0 = c0 * M0
        p1 = c2 * M1
        c0, c1, c2, c3 = (p1 >> HI) ^ c1 ^ k0, p1 & LO, (p0 >> HI) ^ c3 ^ k1, p0 & LO
    return c0, c1, c2, c3


def blocks(n: int, dtype: Any) -> int:
    """How many blocks ``n`` values of ``dtype`` take (four a block, two for float64)."""
    return -(-n // (2 if numpy.dtype(dtype).itemsize == 8 else 4))


def new_state(xp: Any, seed: int) -> Any:
    """A fresh ``[seed, offset=0]`` state array (any integer seed, taken modulo 2**64 as PyTorch does)."""
    return xp.asarray([seed % 2 ** 64, 0], dtype=numpy.uint64)


def check_state(state: Any) -> None:
    if getattr(state, "dtype", None) != numpy.uint64 or tuple(state.shape) != (2,):
        raise TypeError(f"random_uniform: argument 'state' expected a uint64 array [seed, offset] of shape (2,), "
                        f"got {getattr(state, 'dtype', type(state).__name__)} of shape "
                        f"{tuple(getattr(state, 'shape', ()))}")


def uniform(xp: Any, shape: Sequence[int], dtype: Any, state: Any) -> Any:
    """Uniform values in [0, 1) of ``shape`` and float ``dtype`` from ``state`` (advanced in place), with
    ``xp``'s array operations only: nothing is read back to the host."""
    check_state(state)
    dtype = numpy.dtype(dtype)
    n = math.prod(shape)
    nb = blocks(n, dtype)
    ctr = xp.arange(nb, dtype=numpy.uint64) + state[1]
    zero = numpy.uint64(0)
    w = block(ctr & LO, ctr >> HI, zero, zero, state[0] & LO, state[0] >> HI)
    state[1:] += numpy.uint64(nb)
    if dtype.itemsize == 8:
        a = xp.stack([w[0], w[2]], axis=1).reshape(-1)[:n]
        b = xp.stack([w[1], w[3]], axis=1).reshape(-1)[:n]
        u = ((a >> numpy.uint64(5)) * numpy.uint64(2 ** 26) + (b >> numpy.uint64(6))).astype(dtype)
        return (u * dtype.type(2.0 ** -53)).reshape(shape)
    bits, scale = (21, 2.0 ** -11) if dtype.itemsize == 2 else (8, 2.0 ** -24)
    words = xp.stack(w, axis=1).reshape(-1)[:n]
    return ((words >> numpy.uint64(bits)).astype(dtype) * dtype.type(scale)).reshape(shape)
