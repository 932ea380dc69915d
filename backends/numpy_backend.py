"""The CPU backend: NumPy arrays; conv, pooling and batch norm as ``numpy_kernels`` (GEMMs over reused
column buffers, strided views for pooling)."""
from __future__ import annotations

from typing import Any

import numpy

from backends import numpy_kernels
from backends.base import ArrayBackend


class NumpyBackend(ArrayBackend):
    name = "cpu"

    conv2d = staticmethod(numpy_kernels.conv2d)
    conv2d_grad_input = staticmethod(numpy_kernels.conv2d_grad_input)
    conv2d_grad_weight = staticmethod(numpy_kernels.conv2d_grad_weight)
    max_pool2d = staticmethod(numpy_kernels.max_pool2d)
    max_pool2d_grad = staticmethod(numpy_kernels.max_pool2d_grad)
    max_pool2d_gather = staticmethod(numpy_kernels.max_pool2d_gather)
    avg_pool2d = staticmethod(numpy_kernels.avg_pool2d)
    avg_pool2d_grad = staticmethod(numpy_kernels.avg_pool2d_grad)

    def __init__(self, device: Any) -> None:
        super().__init__(numpy, device)

    def scratch(self, key: tuple, shape: Any, dtype: Any) -> Any:
        return numpy_kernels.WORKSPACES.get(key, shape, dtype)
