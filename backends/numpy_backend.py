"""The CPU backend: NumPy arrays, OpenBLAS GEMMs for conv, strided views for pooling."""
from __future__ import annotations

from typing import Any

import numpy

from backends.base import ArrayBackend


class NumpyBackend(ArrayBackend):
    name = "cpu"

    def __init__(self, device: Any) -> None:
        super().__init__(numpy, device)
