"""Seeded random generators that work on every backend.

A ``Generator`` keeps one backend generator per device, created from its seed
on first use, so the same seed gives the same stream on a given device.  Draws
inside a training step (dropout) come instead from its counter-based stream
(``philox_state``): the seed and a counter offset in a device array that the
draw reads and advances on the device, the same bits on every device, and
replayed by restoring the array.
"""
from __future__ import annotations

import random as _pyrandom
import secrets
import sys
from typing import Any

import numpy

import backends
import backends.philox


class Generator:
    """Explicit random state: ``Generator(seed).get(device)`` is a NumPy-style generator."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._per_device: dict[str, Any] = {}
        self._philox: dict[str, Any] = {}

    def manual_seed(self, seed: int) -> "Generator":
        self.seed = int(seed)
        self._per_device.clear()
        self._philox.clear()
        return self

    def philox_state(self, device: Any) -> Any:
        """The counter-based stream's state on ``device``, made on first use (``new_philox_state``) and kept
        here: eager draws advance it, as PyTorch's global generator.  (A static Program keeps one per
        Session in its ``State``, see ``State.philox``.)"""
        key = str(device)
        st = self._philox.get(key)
        if st is None:
            st = self._philox[key] = self.new_philox_state(device)
        return st

    def new_philox_state(self, device: Any) -> Any:
        """A counter-based stream's state at its start on ``device``: a uint64 array ``[seed, offset=0]``
        there, which ``Backend.random_uniform`` reads and advances in place (``backends/philox.py``).  A copy
        taken at some point and assigned back later replays the draws made in between.  Without a seed, the
        stream starts from fresh entropy."""
        seed = secrets.randbits(64) if self.seed is None else self.seed
        return backends.philox.new_state(backends.get_backend(device).xp, seed)

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
