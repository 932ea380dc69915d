"""Seeded random generators that work on every backend.

A ``Generator`` keeps one backend generator per device, created from its seed
on first use, so the same seed gives the same stream on a given device.
"""
from __future__ import annotations

import random as _pyrandom
import sys
from typing import Any

import numpy

import backends


class Generator:
    """Explicit random state: ``Generator(seed).get(device)`` is a NumPy-style generator."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._per_device: dict[str, Any] = {}

    def manual_seed(self, seed: int) -> "Generator":
        self.seed = int(seed)
        self._per_device.clear()
        return self

    def get(self, device: Any) -> Any:
        key = str(device)
        gen = self._per_device.get(key)
        if gen is None:
            gen = self._per_device[key] = backends.get_backend(device).generator(self.seed)
        return gen


default_generator = Generator(None)


def seed_everything(seed: int) -> None:
    """One call for Python's ``random``, NumPy's and CuPy's global states and dualflow's default generator."""
    _pyrandom.seed(seed)
    numpy.random.seed(seed % 2**32)
    cupy = sys.modules.get("cupy")      # seeded only if already in use: seeding must not import the GPU stack
    if cupy is not None:
        cupy.random.seed(seed % 2**32)
    default_generator.manual_seed(seed)
